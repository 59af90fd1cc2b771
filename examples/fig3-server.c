/* fig3-server.c: the server of draft Figure 3
 *
 * Listens, accepts every carrier and echoes each message it receives.
 * The first line on stdout is "listening on ADDRESS:PORT".
 *
 *   fig3-server [HOST [PORT [SECONDS]]]   (default 127.0.0.1 7000, run forever;
 *                                          PORT 0 picks a free port)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <post.h>
#include <stdio.h>
#include <stdlib.h>

/* Echo every message on the carrier it came from. */
static gboolean
on_ready (PostCarrier *carrier, PostMessage *message, gpointer user_data)
{
  g_autoptr(PostMessage) echo = post_message_new (post_message_get_content (message));
  g_autoptr(GError) error = NULL;

  if (!post_carrier_send (carrier, echo, &error))
    g_printerr ("fig3-server: %s\n", error->message);
  return TRUE;
}

static void
on_closed (PostCarrier *carrier, const GError *error, gpointer user_data)
{
  g_object_unref (carrier);   /* the reference taken in on_incoming() */
}

static gboolean
on_incoming (PostCarrier *listener, PostCarrier *carrier, gpointer user_data)
{
  g_object_ref (carrier);
  g_signal_connect (carrier, "closed", G_CALLBACK (on_closed), NULL);
  post_carrier_ready (carrier, on_ready, NULL, NULL);
  return TRUE;   /* accept */
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
  g_autoptr(PostCarrier) listener = NULL;
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autofree char *address = NULL;

  if (local != NULL)
    listener = post_carrier_listen (local, NULL, &error);
  if (listener == NULL)
    {
      g_printerr ("fig3-server: %s\n", error->message);
      return EXIT_FAILURE;
    }
  g_signal_connect (listener, "incoming", G_CALLBACK (on_incoming), NULL);

  address = g_socket_connectable_to_string (
      G_SOCKET_CONNECTABLE (post_carrier_get_local_address (listener)));
  printf ("listening on %s\n", address);
  fflush (stdout);

  if (seconds > 0)
    g_timeout_add_seconds (seconds, on_timeout, loop);
  g_main_loop_run (loop);
  post_carrier_close (listener);
  return EXIT_SUCCESS;
}
