/* test-message.c: the PostMessage contract
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <post.h>
#include <string.h>

#include "post-test-util.h"

#define WAIT_TIMEOUT_S 10

/* ---- helpers ------------------------------------------------------------- */

#define run_until(loop, flag) post_test_loop_until ((loop), (const guint *) (flag), 1, #flag, WAIT_TIMEOUT_S)

typedef struct {
  guint total;
  guint content;
  guint lifetime;
  guint niceness;
  guint idempotent;
  guint immediate;
} NotifyCounts;

static void
on_notify (GObject    *object,
           GParamSpec *pspec,
           gpointer    user_data)
{
  NotifyCounts *counts = user_data;
  const char *name = g_param_spec_get_name (pspec);

  counts->total++;
  if (g_str_equal (name, "content"))
    counts->content++;
  else if (g_str_equal (name, "lifetime"))
    counts->lifetime++;
  else if (g_str_equal (name, "niceness"))
    counts->niceness++;
  else if (g_str_equal (name, "idempotent"))
    counts->idempotent++;
  else if (g_str_equal (name, "immediate"))
    counts->immediate++;
}

static void
assert_content (PostMessage *message,
                const char  *expected,
                gsize        expected_size)
{
  GBytes *content = post_message_get_content (message);
  gsize size = 0;
  const guint8 *data;

  g_assert_nonnull (content);
  data = g_bytes_get_data (content, &size);
  g_assert_cmpuint (size, ==, expected_size);
  g_assert_cmpuint (post_message_get_size (message), ==, expected_size);
  if (expected_size > 0)
    g_assert_cmpmem (data, size, expected, expected_size);
}

static void
assert_defaults (PostMessage *message)
{
  g_assert_cmpint (post_message_get_lifetime (message), ==, POST_MESSAGE_LIFETIME_INFINITE);
  g_assert_cmpint (post_message_get_lifetime (message), ==, 0);
  g_assert_cmpuint (post_message_get_niceness (message), ==, 0);
  g_assert_false (post_message_get_immediate (message));
  g_assert_false (post_message_get_idempotent (message));
  g_assert_true (post_message_is_complete (message));
  g_assert_true (post_message_is_outgoing (message));
  g_assert_false (post_message_is_sent (message));
  g_assert_false (post_message_is_acked (message));
  g_assert_false (post_message_is_expired (message));
  g_assert_cmpuint (post_message_get_sequence (message), ==, 0);
  g_assert_null (post_message_get_remote_address (message));
}

/* ---- constructors ---------------------------------------------------------- */

static void
test_constructors (void)
{
  g_autoptr(GBytes) bytes = g_bytes_new ("hello", 5);
  g_autoptr(PostMessage) from_bytes = post_message_new (bytes);
  g_autoptr(PostMessage) from_null = post_message_new (NULL);
  g_autoptr(PostMessage) from_data = NULL;
  g_autoptr(PostMessage) from_empty_data = post_message_new_from_data (NULL, 0);
  g_autoptr(PostMessage) from_string = post_message_new_from_string ("text\0hidden");
  g_autoptr(PostMessage) from_empty_string = post_message_new_from_string ("");
  guint8 raw[4] = { 0x00, 0xff, 0x00, 0x7f };

  g_assert_true (POST_IS_MESSAGE (from_bytes));
  /* The message keeps the very GBytes it was given. */
  g_assert_true (post_message_get_content (from_bytes) == bytes);
  assert_content (from_bytes, "hello", 5);
  assert_defaults (from_bytes);

  /* NULL content is the empty message, never a NULL content. */
  assert_content (from_null, NULL, 0);
  assert_defaults (from_null);

  from_data = post_message_new_from_data (raw, sizeof raw);
  raw[0] = 0x55;  /* a copy was taken */
  assert_content (from_data, "\x00\xff\x00\x7f", 4);
  assert_defaults (from_data);

  assert_content (from_empty_data, NULL, 0);

  /* The terminating NUL is not part of the message. */
  assert_content (from_string, "text", 4);
  assert_defaults (from_string);
  assert_content (from_empty_string, NULL, 0);
}

/* ---- properties ------------------------------------------------------------- */

static void
test_setters_and_notify (void)
{
  g_autoptr(PostMessage) message = post_message_new_from_string ("abc");
  g_autoptr(GBytes) other = g_bytes_new ("xyz!", 4);
  g_autoptr(GError) error = NULL;
  NotifyCounts counts = { 0, };

  g_signal_connect (message, "notify", G_CALLBACK (on_notify), &counts);

  /* content */
  g_assert_true (post_message_set_content (message, other, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (counts.content, ==, 1);
  g_assert_true (post_message_get_content (message) == other);
  assert_content (message, "xyz!", 4);
  g_assert_true (post_message_set_content (message, other, &error));  /* same: no notify */
  g_assert_no_error (error);
  g_assert_cmpuint (counts.content, ==, 1);

  /* lifetime */
  g_assert_true (post_message_set_lifetime (message, 1500000, &error));
  g_assert_no_error (error);
  g_assert_cmpint (post_message_get_lifetime (message), ==, 1500000);
  g_assert_cmpuint (counts.lifetime, ==, 1);
  g_assert_true (post_message_set_lifetime (message, 1500000, &error));
  g_assert_cmpuint (counts.lifetime, ==, 1);
  g_assert_true (post_message_set_lifetime (message, POST_MESSAGE_LIFETIME_INFINITE, &error));
  g_assert_no_error (error);
  g_assert_cmpint (post_message_get_lifetime (message), ==, 0);
  g_assert_cmpuint (counts.lifetime, ==, 2);

  /* niceness */
  g_assert_true (post_message_set_niceness (message, 7, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (post_message_get_niceness (message), ==, 7);
  g_assert_cmpuint (counts.niceness, ==, 1);
  g_assert_true (post_message_set_niceness (message, 7, &error));
  g_assert_cmpuint (counts.niceness, ==, 1);
  g_assert_true (post_message_set_niceness (message, G_MAXUINT, &error));
  g_assert_cmpuint (post_message_get_niceness (message), ==, G_MAXUINT);
  g_assert_cmpuint (counts.niceness, ==, 2);

  /* idempotent: any non-zero gboolean is TRUE */
  g_assert_true (post_message_set_idempotent (message, TRUE, &error));
  g_assert_no_error (error);
  g_assert_true (post_message_get_idempotent (message));
  g_assert_cmpuint (counts.idempotent, ==, 1);
  g_assert_true (post_message_set_idempotent (message, 42, &error));
  g_assert_true (post_message_get_idempotent (message) == TRUE);
  g_assert_cmpuint (counts.idempotent, ==, 1);
  g_assert_true (post_message_set_idempotent (message, FALSE, &error));
  g_assert_false (post_message_get_idempotent (message));
  g_assert_cmpuint (counts.idempotent, ==, 2);

  /* immediate */
  g_assert_true (post_message_set_immediate (message, TRUE, &error));
  g_assert_no_error (error);
  g_assert_true (post_message_get_immediate (message));
  g_assert_cmpuint (counts.immediate, ==, 1);
  g_assert_true (post_message_set_immediate (message, 2, &error));
  g_assert_true (post_message_get_immediate (message) == TRUE);
  g_assert_cmpuint (counts.immediate, ==, 1);
  g_assert_true (post_message_set_immediate (message, FALSE, &error));
  g_assert_cmpuint (counts.immediate, ==, 2);

  /* Nothing else was notified. */
  g_assert_cmpuint (counts.total, ==, 1 + 2 + 2 + 2 + 2);
}

static void
test_negative_lifetime (void)
{
  g_autoptr(PostMessage) message = post_message_new_from_string ("abc");
  g_autoptr(GError) error = NULL;
  NotifyCounts counts = { 0, };

  g_assert_true (post_message_set_lifetime (message, 1000, &error));
  g_signal_connect (message, "notify", G_CALLBACK (on_notify), &counts);

  g_assert_false (post_message_set_lifetime (message, -1, &error));
  g_assert_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "negative"));
  g_clear_error (&error);
  g_assert_false (post_message_set_lifetime (message, G_MININT64, &error));
  g_assert_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  /* Unchanged and not notified. */
  g_assert_cmpint (post_message_get_lifetime (message), ==, 1000);
  g_assert_cmpuint (counts.total, ==, 0);

  /* The property's own range refuses negatives as well. */
  {
    GParamSpec *pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (message), "lifetime");

    g_assert_nonnull (pspec);
    g_assert_cmpint (G_PARAM_SPEC_INT64 (pspec)->minimum, ==, 0);
    g_assert_cmpint (G_PARAM_SPEC_INT64 (pspec)->default_value, ==, 0);
  }
}

static void
test_gobject_properties (void)
{
  g_autoptr(PostMessage) message = post_message_new_from_string ("abc");
  g_autoptr(GBytes) other = g_bytes_new ("12345", 5);
  g_autoptr(GBytes) content = NULL;
  g_autoptr(GSocketAddress) remote_address = NULL;
  gint64 lifetime = -1;
  guint niceness = 99;
  gboolean idempotent = TRUE, immediate = TRUE, complete = FALSE;
  gboolean sent = TRUE, acked = TRUE, expired = TRUE;
  NotifyCounts counts = { 0, };

  /* Defaults through GObject. */
  g_object_get (message,
                "content", &content,
                "lifetime", &lifetime,
                "niceness", &niceness,
                "idempotent", &idempotent,
                "immediate", &immediate,
                "complete", &complete,
                "was-sent", &sent,
                "was-acked", &acked,
                "has-expired", &expired,
                "remote-address", &remote_address,
                NULL);
  g_assert_true (content == post_message_get_content (message));
  g_assert_cmpint (lifetime, ==, 0);
  g_assert_cmpuint (niceness, ==, 0);
  g_assert_false (idempotent);
  g_assert_false (immediate);
  g_assert_true (complete);
  g_assert_false (sent);
  g_assert_false (acked);
  g_assert_false (expired);
  g_assert_null (remote_address);
  g_clear_pointer (&content, g_bytes_unref);

  /* Read-only properties are read-only; the writable ones are explicit-notify. */
  {
    const char *read_only[] = { "complete", "was-sent", "was-acked", "has-expired", "remote-address" };
    const char *writable[] = { "content", "lifetime", "niceness", "idempotent", "immediate" };

    for (guint i = 0; i < G_N_ELEMENTS (read_only); i++)
      {
        GParamSpec *pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (message), read_only[i]);

        g_assert_nonnull (pspec);
        g_assert_true (pspec->flags & G_PARAM_READABLE);
        g_assert_false (pspec->flags & G_PARAM_WRITABLE);
      }
    for (guint i = 0; i < G_N_ELEMENTS (writable); i++)
      {
        GParamSpec *pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (message), writable[i]);

        g_assert_nonnull (pspec);
        g_assert_true (pspec->flags & G_PARAM_READWRITE);
        g_assert_true (pspec->flags & G_PARAM_EXPLICIT_NOTIFY);
      }
  }

  g_signal_connect (message, "notify", G_CALLBACK (on_notify), &counts);

  /* Set each through GObject: one notify each. */
  g_object_set (message,
                "content", other,
                "lifetime", (gint64) 250000,
                "niceness", 3u,
                "idempotent", TRUE,
                "immediate", TRUE,
                NULL);
  g_assert_cmpuint (counts.content, ==, 1);
  g_assert_cmpuint (counts.lifetime, ==, 1);
  g_assert_cmpuint (counts.niceness, ==, 1);
  g_assert_cmpuint (counts.idempotent, ==, 1);
  g_assert_cmpuint (counts.immediate, ==, 1);
  g_assert_cmpuint (counts.total, ==, 5);

  g_assert_true (post_message_get_content (message) == other);
  g_assert_cmpint (post_message_get_lifetime (message), ==, 250000);
  g_assert_cmpuint (post_message_get_niceness (message), ==, 3);
  g_assert_true (post_message_get_idempotent (message));
  g_assert_true (post_message_get_immediate (message));

  /* Same values again through GObject: no notify at all. */
  g_object_set (message,
                "content", other,
                "lifetime", (gint64) 250000,
                "niceness", 3u,
                "idempotent", TRUE,
                "immediate", TRUE,
                NULL);
  g_assert_cmpuint (counts.total, ==, 5);

  /* Getters and g_object_get agree. */
  g_object_get (message,
                "content", &content,
                "lifetime", &lifetime,
                "niceness", &niceness,
                "idempotent", &idempotent,
                "immediate", &immediate,
                NULL);
  g_assert_true (content == other);
  g_assert_cmpint (lifetime, ==, 250000);
  g_assert_cmpuint (niceness, ==, 3);
  g_assert_true (idempotent);
  g_assert_true (immediate);

  /* Back to the defaults: one notify each. */
  g_object_set (message,
                "lifetime", (gint64) 0,
                "niceness", 0u,
                "idempotent", FALSE,
                "immediate", FALSE,
                NULL);
  g_assert_cmpuint (counts.lifetime, ==, 2);
  g_assert_cmpuint (counts.niceness, ==, 2);
  g_assert_cmpuint (counts.idempotent, ==, 2);
  g_assert_cmpuint (counts.immediate, ==, 2);
  g_assert_cmpuint (counts.total, ==, 9);

  /* Setters notify the GObject way too (notify::name detail). */
  {
    NotifyCounts detailed = { 0, };

    g_signal_connect (message, "notify::niceness", G_CALLBACK (on_notify), &detailed);
    g_assert_true (post_message_set_niceness (message, 1, NULL));
    g_assert_true (post_message_set_lifetime (message, 5, NULL));
    g_assert_cmpuint (detailed.total, ==, 1);
    g_assert_cmpuint (detailed.niceness, ==, 1);
  }
}

/* ---- antecedents --------------------------------------------------------------- */

static void
test_antecedents (void)
{
  g_autoptr(PostMessage) a = post_message_new_from_string ("a");
  g_autoptr(PostMessage) b = post_message_new_from_string ("b");
  g_autoptr(PostMessage) c = post_message_new_from_string ("c");
  g_autoptr(PostMessage) d = post_message_new_from_string ("d");
  g_autoptr(GPtrArray) list = NULL;
  g_autoptr(GPtrArray) again = NULL;
  g_autoptr(GError) error = NULL;

  /* None by default: an empty array, not NULL. */
  list = post_message_get_antecedents (a);
  g_assert_nonnull (list);
  g_assert_cmpuint (list->len, ==, 0);
  g_clear_pointer (&list, g_ptr_array_unref);

  /* c depends on b and a; b depends on a. */
  g_assert_true (post_message_add_antecedent (b, a, &error));
  g_assert_no_error (error);
  g_assert_true (post_message_add_antecedent (c, b, &error));
  g_assert_no_error (error);
  g_assert_true (post_message_add_antecedent (c, a, &error));
  g_assert_no_error (error);

  list = post_message_get_antecedents (c);
  g_assert_cmpuint (list->len, ==, 2);
  g_assert_true (list->pdata[0] == b);
  g_assert_true (list->pdata[1] == a);

  /* A container copy: changing it changes nothing in the message, and the
   * elements are referenced (dropping the array must not free them). */
  g_ptr_array_remove_index (list, 0);
  g_ptr_array_add (list, g_object_ref (d));
  again = post_message_get_antecedents (c);
  g_assert_true (again != list);
  g_assert_cmpuint (again->len, ==, 2);
  g_assert_true (again->pdata[0] == b);
  g_assert_true (again->pdata[1] == a);
  g_clear_pointer (&list, g_ptr_array_unref);
  g_clear_pointer (&again, g_ptr_array_unref);
  g_assert_true (POST_IS_MESSAGE (b));
  g_assert_true (POST_IS_MESSAGE (a));

  /* Cycles are refused: directly, transitively, and with oneself. */
  g_assert_false (post_message_add_antecedent (a, b, &error));
  g_assert_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "cycle"));
  g_clear_error (&error);
  g_assert_false (post_message_add_antecedent (a, c, &error));
  g_assert_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (post_message_add_antecedent (d, d, &error));
  g_assert_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  /* The refused additions left nothing behind. */
  list = post_message_get_antecedents (a);
  g_assert_cmpuint (list->len, ==, 0);
  g_clear_pointer (&list, g_ptr_array_unref);
  list = post_message_get_antecedents (d);
  g_assert_cmpuint (list->len, ==, 0);
  g_clear_pointer (&list, g_ptr_array_unref);

  /* Not a cycle: a diamond (d after b and c, both after a). */
  g_assert_true (post_message_add_antecedent (d, b, &error));
  g_assert_true (post_message_add_antecedent (d, c, &error));
  g_assert_no_error (error);

  /* The message keeps its antecedents alive. */
  {
    PostMessage *e = post_message_new_from_string ("e");
    GWeakRef weak;
    g_autoptr(PostMessage) strong = NULL;

    g_weak_ref_init (&weak, e);
    g_assert_true (post_message_add_antecedent (a, e, &error));
    g_object_unref (e);
    strong = g_weak_ref_get (&weak);
    g_assert_nonnull (strong);
    g_weak_ref_clear (&weak);
  }
}

/* Each message depending on the two before it is a common pattern; the cycle
 * check must not walk every path of that graph (there are Fibonacci-many). */
static void
test_antecedents_many_paths (void)
{
  g_autoptr(GPtrArray) messages = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GError) error = NULL;
  gint64 start = g_get_monotonic_time ();

  for (guint i = 0; i < 80; i++)
    {
      PostMessage *message = post_message_new_from_string ("m");

      if (i >= 1)
        g_assert_true (post_message_add_antecedent (message, messages->pdata[i - 1], &error));
      if (i >= 2)
        g_assert_true (post_message_add_antecedent (message, messages->pdata[i - 2], &error));
      g_assert_no_error (error);
      g_ptr_array_add (messages, message);
    }

  /* A cycle through the whole graph is still found. */
  g_assert_false (post_message_add_antecedent (messages->pdata[0], messages->pdata[79], &error));
  g_assert_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  /* Linear, not exponential: well under a second even under sanitizers. */
  g_assert_cmpint (g_get_monotonic_time () - start, <, 5 * G_USEC_PER_SEC);
}

/* ---- immutability once queued ------------------------------------------------- */

typedef struct {
  GMainLoop *loop;
  gboolean   message_failed;
  gboolean   carrier_closed;
  guint      n_message_send_error;
  guint      n_carrier_send_error;
  guint      n_closed;
  GError    *message_error;   /* (owned) */
  GError    *closed_error;    /* (owned) */
} QueueData;

static void
on_message_send_error (PostMessage  *message,
                       const GError *error,
                       QueueData    *data)
{
  data->n_message_send_error++;
  g_assert_nonnull (error);
  g_clear_error (&data->message_error);
  data->message_error = g_error_copy (error);
  data->message_failed = TRUE;
  g_main_loop_quit (data->loop);
}

static void
on_carrier_send_error (PostCarrier  *carrier,
                       PostMessage  *message,
                       const GError *error,
                       QueueData    *data)
{
  g_assert_true (POST_IS_MESSAGE (message));
  g_assert_nonnull (error);
  data->n_carrier_send_error++;
}

static void
on_closed (PostCarrier  *carrier,
           const GError *error,
           QueueData    *data)
{
  data->n_closed++;
  g_clear_error (&data->closed_error);
  if (error != NULL)
    data->closed_error = g_error_copy (error);
  data->carrier_closed = TRUE;
  g_main_loop_quit (data->loop);
}

static void
assert_immutable (gboolean ok,
                  GError **error)
{
  g_assert_false (ok);
  g_assert_error (*error, POST_ERROR, POST_ERROR_IMMUTABLE);
  g_clear_error (error);
}

static void
test_immutable_once_queued (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PostRemote) remote = post_remote_new_from_uri ("tcp://127.0.0.1:1", &error);
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(PostMessage) message = post_message_new_from_string ("queued");
  g_autoptr(PostMessage) other = post_message_new_from_string ("other");
  g_autoptr(GBytes) bytes = g_bytes_new ("new", 3);
  g_autoptr(GPtrArray) antecedents = NULL;
  QueueData data = { 0, };
  NotifyCounts counts = { 0, };

  g_assert_no_error (error);
  data.loop = g_main_loop_new (NULL, FALSE);

  g_assert_true (post_message_set_niceness (message, 2, &error));
  g_assert_true (post_message_set_lifetime (message, 30 * G_USEC_PER_SEC, &error));
  g_assert_true (post_message_add_antecedent (message, other, &error));
  g_assert_no_error (error);

  carrier = post_carrier_initiate (NULL, remote, NULL);
  g_assert_nonnull (carrier);
  g_assert_cmpint (post_carrier_get_state (carrier), ==, POST_CARRIER_STATE_ESTABLISHING);
  g_signal_connect (message, "send-error", G_CALLBACK (on_message_send_error), &data);
  g_signal_connect (carrier, "send-error", G_CALLBACK (on_carrier_send_error), &data);
  g_signal_connect (carrier, "closed", G_CALLBACK (on_closed), &data);

  /* Queued while establishing, after its antecedent (a message whose
   * antecedent was never queued fails at once). */
  g_assert_true (post_carrier_send (carrier, other, &error));
  g_assert_true (post_carrier_send (carrier, message, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (post_message_get_sequence (message), >=, 1);
  g_assert_false (post_message_is_sent (message));
  g_assert_true (post_message_is_outgoing (message));

  g_signal_connect (message, "notify", G_CALLBACK (on_notify), &counts);

  /* Every setter fails now, even with the current value. */
  assert_immutable (post_message_set_content (message, bytes, &error), &error);
  assert_immutable (post_message_set_content (message, post_message_get_content (message), &error), &error);
  assert_immutable (post_message_set_lifetime (message, 1, &error), &error);
  assert_immutable (post_message_set_lifetime (message, 30 * G_USEC_PER_SEC, &error), &error);
  assert_immutable (post_message_set_lifetime (message, -1, &error), &error);
  assert_immutable (post_message_set_niceness (message, 0, &error), &error);
  assert_immutable (post_message_set_niceness (message, 2, &error), &error);
  assert_immutable (post_message_set_idempotent (message, TRUE, &error), &error);
  assert_immutable (post_message_set_immediate (message, TRUE, &error), &error);
  assert_immutable (post_message_set_metadata (message, NULL, &error), &error);
  /* (a floating value passed to a failing setter is sunk, not leaked) */
  assert_immutable (post_message_set_metadata (message, g_variant_new_parsed ("@a{sv} {}"), &error),
                    &error);
  {
    g_autoptr(PostMessage) third = post_message_new_from_string ("third");

    assert_immutable (post_message_add_antecedent (message, third, &error), &error);
  }

  /* Through GObject the failure is a warning and nothing changes. */
  g_test_expect_message ("Post", G_LOG_LEVEL_WARNING, "*queued*");
  g_object_set (message, "niceness", 9u, NULL);
  g_test_assert_expected_messages ();

  /* Nothing changed and nothing was notified. */
  assert_content (message, "queued", 6);
  g_assert_cmpint (post_message_get_lifetime (message), ==, 30 * G_USEC_PER_SEC);
  g_assert_cmpuint (post_message_get_niceness (message), ==, 2);
  g_assert_false (post_message_get_idempotent (message));
  g_assert_false (post_message_get_immediate (message));
  g_assert_null (post_message_get_metadata (message));
  antecedents = post_message_get_antecedents (message);
  g_assert_cmpuint (antecedents->len, ==, 1);
  g_assert_true (antecedents->pdata[0] == other);
  g_assert_cmpuint (counts.total, ==, 0);

  /* Sending it again: already pending. */
  g_assert_false (post_carrier_send (carrier, message, &error));
  g_assert_error (error, POST_ERROR, POST_ERROR_PENDING);
  g_clear_error (&error);

  /* Establishment fails (port 1 refuses): the message fails, the carrier closes. */
  run_until (data.loop, &data.message_failed);
  run_until (data.loop, &data.carrier_closed);

  g_assert_cmpuint (data.n_message_send_error, ==, 1);
  g_assert_cmpuint (data.n_carrier_send_error, ==, 2);   /* other and message */
  g_assert_cmpuint (data.n_closed, ==, 1);
  g_assert_nonnull (data.message_error);
  g_assert_nonnull (data.closed_error);
  g_assert_true (data.closed_error->domain == POST_ERROR);
  g_assert_true (data.closed_error->code == POST_ERROR_CONNECTION_REFUSED
                 || data.closed_error->code == POST_ERROR_ESTABLISHMENT);
  g_assert_cmpint (post_carrier_get_state (carrier), ==, POST_CARRIER_STATE_CLOSED);
  g_assert_nonnull (post_carrier_get_error (carrier));
  g_assert_false (post_message_is_sent (message));

  /* Still immutable after failing; and the closed carrier refuses new work. */
  assert_immutable (post_message_set_niceness (message, 5, &error), &error);
  g_assert_false (post_carrier_send (carrier, other, &error));
  g_assert_error (error, POST_ERROR, POST_ERROR_CLOSED);
  g_clear_error (&error);

  g_signal_handlers_disconnect_by_data (message, &data);
  g_signal_handlers_disconnect_by_data (carrier, &data);
  g_signal_handlers_disconnect_by_data (message, &counts);
  g_clear_object (&carrier);
  post_test_drain ();
  g_clear_error (&data.message_error);
  g_clear_error (&data.closed_error);
  g_main_loop_unref (data.loop);
}

/* A message that was not queued yet can be sent; one carrier's queue does
 * not make another, unrelated message immutable. */
static void
test_unqueued_stays_mutable (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PostRemote) remote = post_remote_new_from_uri ("tcp://127.0.0.1:1", &error);
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(PostMessage) queued = post_message_new_from_string ("queued");
  g_autoptr(PostMessage) free_one = post_message_new_from_string ("free");
  QueueData data = { 0, };

  g_assert_no_error (error);
  data.loop = g_main_loop_new (NULL, FALSE);
  carrier = post_carrier_initiate (NULL, remote, NULL);
  g_signal_connect (carrier, "closed", G_CALLBACK (on_closed), &data);
  g_assert_true (post_carrier_send (carrier, queued, &error));
  g_assert_no_error (error);
  g_assert_true (post_message_set_niceness (free_one, 4, &error));
  g_assert_no_error (error);

  /* A queued message can be an antecedent of a later one. */
  g_assert_true (post_message_add_antecedent (free_one, queued, &error));
  g_assert_no_error (error);

  run_until (data.loop, &data.carrier_closed);
  g_assert_nonnull (data.closed_error);

  g_signal_handlers_disconnect_by_data (carrier, &data);
  g_clear_object (&carrier);
  post_test_drain ();
  g_clear_error (&data.closed_error);
  g_main_loop_unref (data.loop);
}

/* ---- reliable (RFC 9622 msgReliable) ------------------------------------------ */

static void
count_notify (GObject    *object,
              GParamSpec *pspec,
              gpointer    user_data)
{
  (*(guint *) user_data)++;
}

static void
test_reliable (void)
{
  g_autoptr(PostMessage) message = post_message_new_from_string ("maybe");
  g_autoptr(GError) error = NULL;
  gboolean reliable = FALSE;
  guint notified = 0;

  /* Reliable by default, as RFC 9622 says. */
  g_assert_true (post_message_get_reliable (message));
  g_object_get (message, "reliable", &reliable, NULL);
  g_assert_true (reliable);

  g_signal_connect (message, "notify::reliable", G_CALLBACK (count_notify), &notified);
  g_assert_true (post_message_set_reliable (message, FALSE, &error));
  g_assert_no_error (error);
  g_assert_false (post_message_get_reliable (message));
  g_assert_cmpuint (notified, ==, 1);
  g_assert_true (post_message_set_reliable (message, FALSE, &error));
  g_assert_cmpuint (notified, ==, 1);   /* unchanged: no notification */
  g_object_set (message, "reliable", TRUE, NULL);
  g_assert_true (post_message_get_reliable (message));
  g_assert_cmpuint (notified, ==, 2);
}

/* ---- typed metadata ------------------------------------------------------ */

typedef struct {
  guint n_notify;
} MetadataNotify;

static void
on_metadata_notify (GObject    *object,
                    GParamSpec *pspec,
                    gpointer    user_data)
{
  MetadataNotify *counts = user_data;

  g_assert_cmpstr (g_param_spec_get_name (pspec), ==, "metadata");
  counts->n_notify++;
}

static void
test_metadata (void)
{
  g_autoptr(PostMessage) message = post_message_new_from_string ("GET /");
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) value = NULL;
  g_autoptr(GVariant) headers = NULL;
  g_autoptr(GVariantIter) iter = NULL;
  g_autofree char *method = NULL;
  const char *name, *field;
  MetadataNotify counts = { 0, };
  GVariant *metadata;
  guint status = 0;
  guint n = 0;

  /* None by default. */
  g_assert_null (post_message_get_metadata (message));
  g_assert_false (post_message_lookup_metadata (message, "http-method", "s", &method));
  g_assert_null (method);
  g_assert_null (post_message_lookup_metadata_value (message, "http-method", NULL));

  g_signal_connect (message, "notify::metadata", G_CALLBACK (on_metadata_notify), &counts);

  /* A floating value is sunk: the message holds the only reference. */
  g_assert_true (post_message_set_metadata (message,
                   g_variant_new_parsed ("{'http-method': <'GET'>, 'http-status': <@u 200>, "
                                         "'http-headers': <[('Host', 'example.org'), "
                                         "('Accept', '*/*')]>}"),
                   &error));
  g_assert_no_error (error);
  g_assert_cmpuint (counts.n_notify, ==, 1);
  metadata = post_message_get_metadata (message);
  g_assert_nonnull (metadata);
  g_assert_false (g_variant_is_floating (metadata));
  g_assert_true (g_variant_is_of_type (metadata, G_VARIANT_TYPE_VARDICT));
  g_assert_cmpuint (g_variant_n_children (metadata), ==, 3);

  /* Looked up by format, as g_variant_lookup() does. */
  g_assert_true (post_message_lookup_metadata (message, "http-method", "s", &method));
  g_assert_cmpstr (method, ==, "GET");
  g_assert_true (post_message_lookup_metadata (message, "http-status", "u", &status));
  g_assert_cmpuint (status, ==, 200);
  g_assert_true (post_message_lookup_metadata (message, "http-headers", "a(ss)", &iter));
  while (g_variant_iter_next (iter, "(&s&s)", &name, &field))
    {
      g_assert_cmpstr (name, ==, n == 0 ? "Host" : "Accept");
      g_assert_cmpstr (field, ==, n == 0 ? "example.org" : "*/*");
      n++;
    }
  g_assert_cmpuint (n, ==, 2);
  /* A missing key or another type unpacks nothing. */
  status = 7;
  g_assert_false (post_message_lookup_metadata (message, "http-method", "u", &status));
  g_assert_false (post_message_lookup_metadata (message, "http-reason", "s", &name));
  g_assert_cmpuint (status, ==, 7);

  /* By value, with or without an expected type. */
  value = post_message_lookup_metadata_value (message, "http-status", G_VARIANT_TYPE_UINT32);
  g_assert_nonnull (value);
  g_assert_cmpuint (g_variant_get_uint32 (value), ==, 200);
  g_clear_pointer (&value, g_variant_unref);
  g_assert_null (post_message_lookup_metadata_value (message, "http-status", G_VARIANT_TYPE_STRING));
  headers = post_message_lookup_metadata_value (message, "http-headers", NULL);
  g_assert_nonnull (headers);
  g_assert_cmpstr (g_variant_get_type_string (headers), ==, "a(ss)");

  /* The same value again: no notification; another one: one. */
  {
    g_autoptr(GVariant) same = g_variant_ref (metadata);

    g_assert_true (post_message_set_metadata (message, same, &error));
    g_assert_true (post_message_get_metadata (message) == same);
  }
  g_assert_cmpuint (counts.n_notify, ==, 1);
  {
    g_autoptr(GVariant) owned =
      g_variant_ref_sink (g_variant_new_parsed ("{'http-method': <'HEAD'>}"));

    /* A value the caller owns stays the caller's too. */
    g_assert_true (post_message_set_metadata (message, owned, &error));
    g_assert_true (post_message_get_metadata (message) == owned);
    g_assert_cmpuint (counts.n_notify, ==, 2);
  }
  g_clear_pointer (&method, g_free);
  g_assert_true (post_message_lookup_metadata (message, "http-method", "s", &method));
  g_assert_cmpstr (method, ==, "HEAD");

  /* NULL clears it. */
  g_assert_true (post_message_set_metadata (message, NULL, &error));
  g_assert_null (post_message_get_metadata (message));
  g_assert_cmpuint (counts.n_notify, ==, 3);
  g_assert_true (post_message_set_metadata (message, NULL, &error));
  g_assert_cmpuint (counts.n_notify, ==, 3);
  g_assert_no_error (error);
}

static void
test_metadata_wrong_type (void)
{
  g_autoptr(PostMessage) message = post_message_new_from_string ("x");
  g_autoptr(GVariant) not_a_dict = g_variant_ref_sink (g_variant_new_string ("GET"));
  g_autoptr(GVariant) wrong_dict = g_variant_ref_sink (g_variant_new_parsed ("{'a': 'b'}"));
  g_autoptr(GError) error = NULL;

  g_assert_true (post_message_set_metadata (message, g_variant_new_parsed ("{'k': <1>}"), &error));

  /* Anything but a{sv} is a programming error, and changes nothing. */
  g_test_expect_message ("Post", G_LOG_LEVEL_CRITICAL, "*G_VARIANT_TYPE_VARDICT*");
  g_assert_false (post_message_set_metadata (message, not_a_dict, &error));
  g_test_assert_expected_messages ();
  g_test_expect_message ("Post", G_LOG_LEVEL_CRITICAL, "*G_VARIANT_TYPE_VARDICT*");
  g_assert_false (post_message_set_metadata (message, wrong_dict, &error));   /* a{ss} */
  g_test_assert_expected_messages ();
  g_assert_no_error (error);
  g_assert_nonnull (post_message_get_metadata (message));
  {
    g_autoptr(GVariant) k = post_message_lookup_metadata_value (message, "k", NULL);

    g_assert_nonnull (k);
  }
}

static void
test_metadata_property (void)
{
  g_autoptr(PostMessage) message = NULL;
  g_autoptr(GVariant) read = NULL;
  g_autoptr(GVariant) set = g_variant_ref_sink (g_variant_new_parsed ("{'http-target': <'/index.html'>}"));
  GParamSpec *pspec = g_object_class_find_property (g_type_class_peek (POST_TYPE_MESSAGE), "metadata");

  g_assert_nonnull (pspec);
  g_assert_true (G_IS_PARAM_SPEC_VARIANT (pspec));
  g_assert_true (g_variant_type_equal (G_PARAM_SPEC_VARIANT (pspec)->type, G_VARIANT_TYPE_VARDICT));
  g_assert_true ((pspec->flags & G_PARAM_READWRITE) == G_PARAM_READWRITE);

  message = g_object_new (POST_TYPE_MESSAGE, "metadata", set, NULL);
  g_object_get (message, "metadata", &read, NULL);
  g_assert_nonnull (read);
  g_assert_true (g_variant_equal (read, set));
  g_object_set (message, "metadata", NULL, NULL);
  g_assert_null (post_message_get_metadata (message));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/message/constructors", test_constructors);
  g_test_add_func ("/message/setters-notify", test_setters_and_notify);
  g_test_add_func ("/message/negative-lifetime", test_negative_lifetime);
  g_test_add_func ("/message/gobject-properties", test_gobject_properties);
  g_test_add_func ("/message/antecedents", test_antecedents);
  g_test_add_func ("/message/antecedents-many-paths", test_antecedents_many_paths);
  g_test_add_func ("/message/immutable-once-queued", test_immutable_once_queued);
  g_test_add_func ("/message/unqueued-stays-mutable", test_unqueued_stays_mutable);
  g_test_add_func ("/message/reliable", test_reliable);
  g_test_add_func ("/message/metadata", test_metadata);
  g_test_add_func ("/message/metadata-wrong-type", test_metadata_wrong_type);
  g_test_add_func ("/message/metadata-property", test_metadata_property);

  return g_test_run ();
}
