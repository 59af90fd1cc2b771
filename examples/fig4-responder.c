/* fig4-responder.c: the responder of draft Figure 4
 *
 * A responder receives messages from any remote and answers each through
 * its PostReply; this one echoes.  The first line on stdout is
 * "listening on ADDRESS:PORT".
 *
 *   fig4-responder [HOST [PORT [SECONDS]]]  (default 127.0.0.1 7000, run forever;
 *                                            PORT 0 picks a free port)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <post.h>
#include <stdio.h>
#include <stdlib.h>

static void
echo (PostCarrier *responder, PostMessage *message, PostReply *reply, gpointer user_data)
{
  g_autoptr(PostMessage) answer = post_message_new (post_message_get_content (message));
  g_autoptr(GError) error = NULL;

  if (!post_reply_send (reply, answer, &error))
    g_printerr ("fig4-responder: %s\n", error->message);
}

static gboolean
on_timeout (gpointer loop)
{
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

int
main (int argc, char **argv)
{
  const char *host = argc > 1 ? argv[1] : "127.0.0.1";
  const char *port = argc > 2 ? argv[2] : "7000";
  guint seconds = argc > 3 ? (guint) atoi (argv[3]) : 0;
  g_autofree char *uri = g_strdup_printf ("tcp://%s:%s", host, port);
  g_autoptr(GError) error = NULL;
  g_autoptr(PostLocal) local = post_local_new_from_uri (uri, &error);
  g_autoptr(PostCarrier) responder = NULL;
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autofree char *address = NULL;

  if (local != NULL)
    responder = post_carrier_respond (local, NULL, echo, NULL, NULL, &error);
  if (responder == NULL)
    {
      g_printerr ("fig4-responder: %s\n", error->message);
      return EXIT_FAILURE;
    }

  address = g_socket_connectable_to_string (
      G_SOCKET_CONNECTABLE (post_carrier_get_local_address (responder)));
  printf ("listening on %s\n", address);
  fflush (stdout);

  if (seconds > 0)
    g_timeout_add_seconds (seconds, on_timeout, loop);
  g_main_loop_run (loop);
  post_carrier_close (responder);
  return EXIT_SUCCESS;
}
