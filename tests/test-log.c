/* test-log.c: structured logging — the debug messages of establishment,
 * the racer and the policy carry POST_CARRIER, POST_STACK and POST_RULE
 *
 * g_log_set_writer_func() can be set only once per process, hence this
 * program of its own: it records every structured message of the "Post"
 * domain and hands the rest (and every message above debug) on to the
 * default writer.  Real carriers over loopback tcp; the policy file is
 * written by the test into its own (isolated) directory.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <post.h>
#include <glib/gstdio.h>

#include <string.h>

/* (element-type GHashTable): field name → value, one per message */
static GPtrArray *records;

static GLogWriterOutput
record_writer (GLogLevelFlags   log_level,
               const GLogField *fields,
               gsize            n_fields,
               gpointer         user_data)
{
  GHashTable *record = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  for (gsize i = 0; i < n_fields; i++)
    g_hash_table_replace (record, g_strdup (fields[i].key),
                          fields[i].length < 0 ? g_strdup (fields[i].value)
                                               : g_strndup (fields[i].value, fields[i].length));
  if (g_strcmp0 (g_hash_table_lookup (record, "GLIB_DOMAIN"), "Post") == 0)
    g_ptr_array_add (records, record);
  else
    g_hash_table_unref (record);
  if ((log_level & G_LOG_LEVEL_DEBUG) != 0)
    return G_LOG_WRITER_HANDLED;
  return g_log_writer_default (log_level, fields, n_fields, user_data);
}

/* The first message recorded from @start on whose MESSAGE begins with
 * @prefix, or NULL */
static GHashTable *
find_record (guint       start,
             const char *prefix)
{
  for (guint i = start; i < records->len; i++)
    {
      GHashTable *record = records->pdata[i];
      const char *message = g_hash_table_lookup (record, "MESSAGE");

      if (message != NULL && g_str_has_prefix (message, prefix))
        return record;
    }
  return NULL;
}

typedef struct {
  gboolean done;
  gboolean ok;
  GError *error;
} Establish;

static void
established_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  Establish *establish = user_data;

  establish->ok = post_carrier_establish_finish (POST_CARRIER (source), result, &establish->error);
  establish->done = TRUE;
}

/* Establishes a carrier to @uri; sets @error if it fails */
static PostCarrier *
establish (const char  *uri,
           GError     **error)
{
  g_autoptr(PostRemote) remote = post_remote_new_from_uri (uri, NULL);
  PostCarrier *carrier = post_carrier_initiate (NULL, remote, NULL);
  Establish state = { FALSE, FALSE, NULL };

  post_carrier_establish_async (carrier, NULL, established_cb, &state);
  while (!state.done)
    g_main_context_iteration (NULL, TRUE);
  if (state.error != NULL)
    g_propagate_error (error, state.error);
  return carrier;
}

static gboolean
incoming_cb (PostCarrier *listener,
             PostCarrier *carrier,
             gpointer     user_data)
{
  g_ptr_array_add (user_data, g_object_ref (carrier));
  return TRUE;
}

static void
test_establishment (void)
{
  /* before anything creates the default policy engine */
  g_autofree char *dir = g_build_filename (g_get_user_data_dir (), "log-policy", NULL);
  g_autofree char *file = g_build_filename (dir, "10-block.conf", NULL);
  g_autoptr(PostLocal) local = post_local_new_from_uri ("tcp://127.0.0.1:0", NULL);
  g_autoptr(GPtrArray) accepted = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(PostCarrier) listener = NULL;
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *uri = NULL;
  g_autofree char *rule = NULL;
  g_autofree char *pointer = NULL;
  g_autofree char *origin = NULL;
  GHashTable *record;
  guint16 port;
  guint start;

  g_assert_no_errno (g_mkdir_with_parents (dir, 0700));
  g_setenv ("POST_POLICY_PATH", dir, TRUE);
  listener = post_carrier_listen (local, NULL, &error);
  g_assert_no_error (error);
  g_signal_connect (listener, "incoming", G_CALLBACK (incoming_cb), accepted);
  port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (post_carrier_get_local_address (listener)));
  uri = g_strdup_printf ("tcp://127.0.0.1:%u", port);

  /* An establishment that works: the attempt and the win name the
   * carrier and the stack */
  start = records->len;
  carrier = establish (uri, &error);
  g_assert_no_error (error);
  pointer = g_strdup_printf ("%p", (gpointer) carrier);
  record = find_record (start, "Starting attempt ");
  g_assert_nonnull (record);
  g_assert_cmpstr (g_hash_table_lookup (record, "POST_CARRIER"), ==, pointer);
  g_assert_cmpstr (g_hash_table_lookup (record, "POST_STACK"), ==, "tcp");
  g_assert_cmpstr (g_hash_table_lookup (record, "PRIORITY"), ==, "7");
  g_assert_nonnull (g_hash_table_lookup (record, "CODE_FILE"));
  g_assert_null (g_hash_table_lookup (record, "POST_RULE"));
  record = find_record (start, "Race won by tcp to 127.0.0.1:");
  g_assert_nonnull (record);
  g_assert_cmpstr (g_hash_table_lookup (record, "POST_CARRIER"), ==, pointer);
  g_assert_cmpstr (g_hash_table_lookup (record, "POST_STACK"), ==, "tcp");
  post_carrier_abort (carrier);
  g_clear_object (&carrier);
  g_clear_pointer (&pointer, g_free);

  /* One the policy blocks: the removal names the rule's file:line, the
   * failure the carrier */
  rule = g_strdup_printf ("[block]\nmatch-port=%u\nstacks=tcp:prohibit\n", port);
  g_file_set_contents (file, rule, -1, &error);
  g_assert_no_error (error);
  post_policy_reload (post_policy_get_default ());
  start = records->len;
  carrier = establish (uri, &error);
  g_assert_error (error, POST_ERROR, POST_ERROR_NO_CANDIDATES);
  pointer = g_strdup_printf ("%p", (gpointer) carrier);
  origin = g_strdup_printf ("%s:3", file);
  record = find_record (start, "policy: tcp to 127.0.0.1:");
  g_assert_nonnull (record);
  g_assert_nonnull (strstr (g_hash_table_lookup (record, "MESSAGE"), "rule ‘block’"));
  g_assert_cmpstr (g_hash_table_lookup (record, "POST_RULE"), ==, origin);
  g_assert_cmpstr (g_hash_table_lookup (record, "POST_STACK"), ==, "tcp");
  g_assert_cmpstr (g_hash_table_lookup (record, "POST_CARRIER"), ==, pointer);
  record = find_record (start, "Establishment of ");
  g_assert_nonnull (record);
  g_assert_cmpstr (g_hash_table_lookup (record, "POST_CARRIER"), ==, pointer);
  g_assert_null (find_record (start, "Starting attempt "));

  g_assert_no_errno (g_unlink (file));
  post_policy_reload (post_policy_get_default ());
  post_carrier_abort (listener);
}

/* Under ASan: full unwinding on malloc, so that tests/lsan.supp can match
 * GLib 2.74's leak in G_TEST_OPTION_ISOLATE_DIRS (g_set_user_dirs). */
const char *__asan_default_options (void);
const char *
__asan_default_options (void)
{
  return "fast_unwind_on_malloc=0";
}

int
main (int    argc,
      char **argv)
{
  int status;

  /* Debug messages are made only when they would be shown */
  g_setenv ("G_MESSAGES_DEBUG", "Post", TRUE);
  records = g_ptr_array_new_with_free_func ((GDestroyNotify) g_hash_table_unref);
  g_log_set_writer_func (record_writer, NULL, NULL);
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/log/establishment", test_establishment);

  status = g_test_run ();
  g_ptr_array_unref (records);
  return status;
}
