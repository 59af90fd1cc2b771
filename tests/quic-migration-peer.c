/* quic-migration-peer.c: the server side of tests/test-quic-migration.c,
 * run as a child process inside the test's server network namespace.
 *
 *   quic-migration-peer CERT KEY LISTEN-URI LOG
 *
 * Listens on LISTEN-URI (quic://ADDRESS:PORT) with the identity CERT/KEY
 * and echoes every message on every carrier it accepts, streams the peer
 * forks included.  It appends one line per event to LOG (flushed at once):
 *
 *   listening                 the listener is up
 *   accepted REMOTE           a new connection's first stream (listener)
 *   forked REMOTE             a stream the peer forked on a connection
 *   path-changed REMOTE       an accepted carrier's path changed (the peer
 *                             migrated: REMOTE is its new address)
 *   closed                    an accepted carrier closed
 *
 * It runs until it is killed (SIGTERM) or stdin reaches its end.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <post.h>
#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>

static FILE *log_file;
static GPtrArray *carriers;

static void
log_line (const char     *what,
          GSocketAddress *address)
{
  g_autofree char *text = address != NULL
                          ? g_socket_connectable_to_string (G_SOCKET_CONNECTABLE (address))
                          : NULL;

  fprintf (log_file, "%s%s%s\n", what, text ? " " : "", text ? text : "");
  fflush (log_file);
}

static gboolean
echo_cb (PostCarrier *carrier,
         PostMessage *message,
         gpointer     user_data)
{
  g_autoptr(PostMessage) reply = post_message_new (post_message_get_content (message));

  post_carrier_send (carrier, reply, NULL);
  return TRUE;
}

static void
path_changed_cb (PostCarrier *carrier,
                 PostPath    *path,
                 gpointer     user_data)
{
  log_line ("path-changed", post_path_get_remote_address (path));
}

static void
closed_cb (PostCarrier  *carrier,
           const GError *error,
           gpointer      user_data)
{
  log_line ("closed", NULL);
}

static gboolean incoming_cb (PostCarrier *parent, PostCarrier *carrier, gpointer user_data);

static void
keep (PostCarrier *carrier,
      const char  *what)
{
  log_line (what, post_carrier_get_remote_address (carrier));
  g_ptr_array_add (carriers, g_object_ref (carrier));
  g_signal_connect (carrier, "path-changed", G_CALLBACK (path_changed_cb), NULL);
  g_signal_connect (carrier, "closed", G_CALLBACK (closed_cb), NULL);
  g_signal_connect (carrier, "incoming", G_CALLBACK (incoming_cb), GINT_TO_POINTER (TRUE));
  post_carrier_ready (carrier, echo_cb, NULL, NULL);
}

static gboolean
incoming_cb (PostCarrier *parent,
             PostCarrier *carrier,
             gpointer     user_data)
{
  keep (carrier, GPOINTER_TO_INT (user_data) ? "forked" : "accepted");
  return TRUE;
}

static gboolean
stdin_cb (GIOChannel   *channel,
          GIOCondition  condition,
          gpointer      user_data)
{
  char buf[256];
  gsize n = 0;
  GIOStatus status = g_io_channel_read_chars (channel, buf, sizeof buf, &n, NULL);

  if (status == G_IO_STATUS_EOF || status == G_IO_STATUS_ERROR || (condition & (G_IO_HUP | G_IO_ERR)))
    {
      g_main_loop_quit (user_data);
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

static gboolean
quit_cb (gpointer user_data)
{
  g_main_loop_quit (user_data);
  return G_SOURCE_REMOVE;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PostLocal) local = NULL;
  g_autoptr(PostCarrier) listener = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  g_autoptr(GIOChannel) in = NULL;

  if (argc != 5)
    {
      g_printerr ("usage: %s CERT KEY LISTEN-URI LOG\n", argv[0]);
      return 2;
    }
  log_file = fopen (argv[4], "a");
  if (log_file == NULL)
    {
      g_printerr ("%s: cannot open %s\n", argv[0], argv[4]);
      return 1;
    }
  loop = g_main_loop_new (NULL, FALSE);
  carriers = g_ptr_array_new_with_free_func (g_object_unref);
  local = post_local_new_from_uri (argv[3], &error);
  if (local == NULL || !post_local_set_identity_from_files (local, argv[1], argv[2], &error))
    goto failed;
  listener = post_carrier_listen (local, NULL, &error);
  if (listener == NULL)
    goto failed;
  g_signal_connect (listener, "incoming", G_CALLBACK (incoming_cb), GINT_TO_POINTER (FALSE));
  log_line ("listening", post_carrier_get_local_address (listener));

  in = g_io_channel_unix_new (0);
  g_io_channel_set_encoding (in, NULL, NULL);
  g_io_add_watch (in, G_IO_IN | G_IO_HUP | G_IO_ERR, stdin_cb, loop);
  g_unix_signal_add (SIGTERM, quit_cb, loop);
  g_main_loop_run (loop);

  for (guint i = 0; i < carriers->len; i++)
    post_carrier_abort (carriers->pdata[i]);
  post_carrier_abort (listener);
  g_ptr_array_unref (carriers);
  /* What the aborts scheduled runs before exit. */
  for (guint i = 0; i < 100 && g_main_context_iteration (NULL, FALSE); i++)
    ;
  fclose (log_file);
  return 0;

failed:
  g_printerr ("%s: %s\n", argv[0], error->message);
  fprintf (log_file, "error %s\n", error->message);
  fclose (log_file);
  g_ptr_array_unref (carriers);
  return 1;
}
