/* fig2-client.c: the client of draft Figure 2
 *
 * Initiates a carrier, sends "Hello!", prints the reply and closes.
 *
 *   fig2-client [HOST [PORT]]        (default 127.0.0.1 7000)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <post.h>
#include <stdlib.h>

#define TIMEOUT_SECONDS 10

static GMainLoop *loop;
static int status = EXIT_FAILURE;

static void
on_closed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_main_loop_quit (loop);
}

/* Called for each message that comes back: print it and stop receiving. */
static gboolean
on_ready (PostCarrier *carrier, PostMessage *message, gpointer user_data)
{
  GBytes *content = post_message_get_content (message);
  gsize size;
  const char *data = g_bytes_get_data (content, &size);

  g_print ("%.*s\n", (int) size, data);
  status = EXIT_SUCCESS;
  post_carrier_close_async (carrier, NULL, on_closed, NULL);
  return FALSE;
}

static void
on_carrier_closed (PostCarrier *carrier, const GError *error, gpointer user_data)
{
  if (error != NULL)
    g_printerr ("fig2-client: %s\n", error->message);
  g_main_loop_quit (loop);
}

static void
on_established (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GError) error = NULL;

  if (!post_carrier_establish_finish (POST_CARRIER (source), result, &error))
    {
      g_printerr ("fig2-client: %s\n", error->message);
      g_main_loop_quit (loop);
    }
}

static gboolean
on_timeout (gpointer user_data)
{
  g_printerr ("fig2-client: timed out\n");
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

int
main (int argc, char **argv)
{
  const char *host = argc > 1 ? argv[1] : "127.0.0.1";
  const char *port = argc > 2 ? argv[2] : "7000";
  g_autofree char *uri = g_strdup_printf ("tcp://%s:%s", host, port);
  g_autoptr(GError) error = NULL;
  g_autoptr(PostRemote) remote = post_remote_new_from_uri (uri, &error);
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(GBytes) hello = g_bytes_new_static ("Hello!", 6);

  if (remote == NULL)
    {
      g_printerr ("fig2-client: %s\n", error->message);
      return EXIT_FAILURE;
    }

  loop = g_main_loop_new (NULL, FALSE);
  carrier = post_carrier_initiate (NULL, remote, NULL);   /* ESTABLISHING */
  g_signal_connect (carrier, "closed", G_CALLBACK (on_carrier_closed), NULL);
  post_carrier_establish_async (carrier, NULL, on_established, NULL);
  if (!post_carrier_send_bytes (carrier, hello, &error))    /* queued */
    {
      g_printerr ("fig2-client: %s\n", error->message);
      return EXIT_FAILURE;
    }
  post_carrier_ready (carrier, on_ready, NULL, NULL);
  g_timeout_add_seconds (TIMEOUT_SECONDS, on_timeout, NULL);

  g_main_loop_run (loop);
  g_main_loop_unref (loop);
  return status;
}
