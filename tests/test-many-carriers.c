/* test-many-carriers.c: many concurrent tcp carriers on one main context
 *
 * Past the first POST_FD_WATCH_DIRECT_MAX (64) sockets of a context, the
 * tcp stack watches its sockets through the context's one epoll source
 * (plugins/common/post-fd-watch.h); these tests hold 150 carriers on each
 * side of one listener, on one context — so most sockets of both sides are
 * in the epoll set — and check that every one of them still carries
 * messages both ways, sees its peer's close and its peer's abort, and that
 * carriers outlive the listener that accepted them (they hold one shared
 * link to it, not a weak pointer each).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <post.h>
#include <string.h>

#include "post-test-util.h"

#define N_CARRIERS 150
#define WAIT_S     30

typedef struct {
  PostConfiguration *config;     /* (owned) */
  PostCarrier       *listener;   /* (owned) (nullable) */
  GPtrArray         *accepted;   /* (owned) (element-type PostCarrier) */
  GPtrArray         *clients;    /* (owned) (element-type PostCarrier) */
  guint              n_accepted;
  guint              n_echoed;   /* replies that came back to their sender */
  guint              n_wrong;    /* replies that did not */
  guint              n_server_closed;
  guint              n_client_closed;
  guint              n_client_errors;
  guint              n_client_gone;        /* left ACTIVE */
  guint              n_client_gone_errors; /* with an error */
} Fixture;

static gboolean
echo_ready (PostCarrier *carrier, PostMessage *message, gpointer user_data)
{
  g_autoptr(PostMessage) reply = post_message_new (post_message_get_content (message));
  g_autoptr(GError) error = NULL;

  g_assert_true (post_carrier_send (carrier, reply, &error));
  g_assert_no_error (error);
  return TRUE;
}

static void
on_server_closed (PostCarrier *carrier, const GError *error, gpointer user_data)
{
  ((Fixture *) user_data)->n_server_closed++;
}

static gboolean
on_incoming (PostCarrier *listener, PostCarrier *carrier, gpointer user_data)
{
  Fixture *f = user_data;

  g_ptr_array_add (f->accepted, g_object_ref (carrier));
  g_signal_connect (carrier, "closed", G_CALLBACK (on_server_closed), f);
  post_carrier_ready (carrier, echo_ready, NULL, NULL);
  f->n_accepted++;
  return TRUE;
}

/* A client's reply: the text it sent (its index) must come back to it. */
static gboolean
on_reply (PostCarrier *carrier, PostMessage *message, gpointer user_data)
{
  Fixture *f = user_data;
  GBytes *content = post_message_get_content (message);
  g_autofree char *expected = g_strdup_printf ("carrier %u", GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (carrier), "index")));
  gsize size = 0;
  const char *data = g_bytes_get_data (content, &size);

  if (size == strlen (expected) && memcmp (data, expected, size) == 0)
    f->n_echoed++;
  else
    f->n_wrong++;
  return TRUE;
}

static void
on_client_closed (PostCarrier *carrier, const GError *error, gpointer user_data)
{
  Fixture *f = user_data;

  f->n_client_closed++;
  if (error != NULL)
    f->n_client_errors++;
}

/* A reset makes a client dormant (its association could establish it
 * again), not closed: counted once, when it leaves ACTIVE. */
static void
on_client_state (PostCarrier *carrier, GParamSpec *pspec, gpointer user_data)
{
  Fixture *f = user_data;
  PostCarrierState state = post_carrier_get_state (carrier);

  if ((state == POST_CARRIER_STATE_DORMANT || state == POST_CARRIER_STATE_CLOSED)
      && g_object_get_data (G_OBJECT (carrier), "gone") == NULL)
    {
      g_object_set_data (G_OBJECT (carrier), "gone", GINT_TO_POINTER (1));
      f->n_client_gone++;
      if (post_carrier_get_error (carrier) != NULL)
        f->n_client_gone_errors++;
    }
}

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  g_autoptr(PostLocal) local = post_local_new_from_uri ("tcp://127.0.0.1:0", NULL);
  g_autoptr(GError) error = NULL;
  guint16 port;

  f->config = post_configuration_new ();
  g_assert_true (post_configuration_set_stacks (f->config, (const char *[]) { "tcp", NULL }, &error));
  g_assert_no_error (error);
  f->accepted = g_ptr_array_new_with_free_func (g_object_unref);
  f->clients = g_ptr_array_new_with_free_func (g_object_unref);
  f->listener = post_carrier_listen (local, f->config, &error);
  g_assert_no_error (error);
  g_signal_connect (f->listener, "incoming", G_CALLBACK (on_incoming), f);
  port = post_test_port_of (f->listener);

  /* N_CARRIERS clients, each sending its index once established. */
  for (guint i = 0; i < N_CARRIERS; i++)
    {
      PostCarrier *client = post_test_initiate ("tcp", port, f->config);
      g_autofree char *text = g_strdup_printf ("carrier %u", i);
      g_autoptr(PostMessage) message = post_message_new_from_string (text);

      g_object_set_data (G_OBJECT (client), "index", GUINT_TO_POINTER (i));
      g_signal_connect (client, "closed", G_CALLBACK (on_client_closed), f);
      g_signal_connect (client, "notify::state", G_CALLBACK (on_client_state), f);
      post_carrier_ready (client, on_reply, f, NULL);
      g_assert_true (post_carrier_send (client, message, &error));
      g_assert_no_error (error);
      g_ptr_array_add (f->clients, client);
    }
  post_test_wait_count (&f->n_accepted, N_CARRIERS, "every carrier accepted", WAIT_S);
  post_test_wait_count (&f->n_echoed, N_CARRIERS, "every echo back", WAIT_S);
  g_assert_cmpuint (f->n_wrong, ==, 0);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  for (guint i = 0; i < f->clients->len; i++)
    {
      g_signal_handlers_disconnect_by_data (f->clients->pdata[i], f);
      post_carrier_abort (f->clients->pdata[i]);
    }
  for (guint i = 0; i < f->accepted->len; i++)
    {
      g_signal_handlers_disconnect_by_data (f->accepted->pdata[i], f);
      post_carrier_abort (f->accepted->pdata[i]);
    }
  g_ptr_array_unref (f->clients);
  g_ptr_array_unref (f->accepted);
  if (f->listener != NULL)
    post_carrier_close (f->listener);
  g_clear_object (&f->listener);
  g_object_unref (f->config);
  post_test_spin (50);
}

/* Every carrier, on both sides, carries a second round of messages. */
static void
test_echo (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < f->clients->len; i++)
    {
      g_autofree char *text = g_strdup_printf ("carrier %u", i);
      g_autoptr(PostMessage) message = post_message_new_from_string (text);

      g_assert_true (post_carrier_send (f->clients->pdata[i], message, &error));
      g_assert_no_error (error);
    }
  post_test_wait_count (&f->n_echoed, 2 * N_CARRIERS, "the second echoes", WAIT_S);
  g_assert_cmpuint (f->n_wrong, ==, 0);
}

/* The clients close gracefully: every accepted carrier sees its peer's end. */
static void
test_peer_close (Fixture *f, gconstpointer data)
{
  for (guint i = 0; i < f->clients->len; i++)
    post_carrier_close (f->clients->pdata[i]);
  post_test_wait_count (&f->n_server_closed, N_CARRIERS, "the accepted carriers closed", WAIT_S);
  post_test_wait_count (&f->n_client_closed, N_CARRIERS, "the clients closed", WAIT_S);
  g_assert_cmpuint (f->n_client_errors, ==, 0);
}

/* The listener's side aborts: every client sees the reset, with an error
 * (and goes dormant). */
static void
test_peer_abort (Fixture *f, gconstpointer data)
{
  for (guint i = 0; i < f->accepted->len; i++)
    post_carrier_abort (f->accepted->pdata[i]);
  post_test_wait_count (&f->n_client_gone, N_CARRIERS, "the clients saw the reset", WAIT_S);
  g_assert_cmpuint (f->n_client_gone_errors, ==, N_CARRIERS);
}

/* The listener goes first; its carriers go on and close cleanly. */
static void
test_outlive_listener (Fixture *f, gconstpointer data)
{
  post_carrier_close (f->listener);
  g_clear_object (&f->listener);
  test_echo (f, data);
  test_peer_close (f, data);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, func) g_test_add ("/many-carriers/" path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("echo", test_echo);
  ADD ("peer-close", test_peer_close);
  ADD ("peer-abort", test_peer_abort);
  ADD ("outlive-listener", test_outlive_listener);
  return g_test_run ();
}
