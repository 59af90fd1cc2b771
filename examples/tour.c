/* tour.c: the client of the README's tour (draft Figure 2)
 *
 * Initiates a carrier to URI, sends "Hello!" and prints the reply.  Every
 * way it can go wrong ends the run with a message on stderr and exit 1:
 * a bad URI, an establishment that fails (nothing listens: refused) or
 * takes more than 5 s (a peer that does not answer), a carrier that fails
 * or closes without a reply, and no reply within 10 s.
 *
 *   tour [URI]        (default tcp://127.0.0.1:7000)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <post.h>
#include <stdlib.h>

#define CONNECT_TIMEOUT_MS 5000
#define REPLY_TIMEOUT_S 10

static int status = EXIT_FAILURE;
static guint timeout_id;

static gboolean
on_reply (PostCarrier *carrier, PostMessage *message, gpointer loop)
{
  gsize size;
  const char *data = g_bytes_get_data (post_message_get_content (message), &size);

  g_print ("%.*s\n", (int) size, data);
  status = EXIT_SUCCESS;
  post_carrier_close (carrier);               /* graceful: drains the queue */
  g_main_loop_quit (loop);
  return FALSE;                               /* no more messages */
}

/* A failed establishment closes the carrier with its error, as does a
 * failure later; without an error the peer closed before replying. */
static void
on_closed (PostCarrier *carrier, const GError *error, gpointer loop)
{
  if (status != EXIT_SUCCESS)
    g_printerr ("tour: %s\n", error != NULL ? error->message : "the peer closed without a reply");
  g_main_loop_quit (loop);
}

static gboolean
on_timeout (gpointer loop)
{
  g_printerr ("tour: no reply within %d s\n", REPLY_TIMEOUT_S);
  timeout_id = 0;
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

int
main (int argc, char **argv)
{
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(GError) error = NULL;
  g_autoptr(PostRemote) remote = post_remote_new_from_uri (argc > 1 ? argv[1] : "tcp://127.0.0.1:7000", &error);
  g_autoptr(PostConfiguration) configuration = post_configuration_new ();
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(PostMessage) hello = post_message_new_from_string ("Hello!");

  if (remote == NULL)
    {
      g_printerr ("tour: %s\n", error->message);
      return EXIT_FAILURE;
    }
  post_configuration_set_conn_timeout (configuration, CONNECT_TIMEOUT_MS, NULL);
  carrier = post_carrier_initiate (NULL, remote, configuration);   /* ESTABLISHING */
  g_signal_connect (carrier, "closed", G_CALLBACK (on_closed), loop);
  post_carrier_send (carrier, hello, NULL);                         /* queued until ACTIVE */
  post_carrier_ready (carrier, on_reply, loop, NULL);
  timeout_id = g_timeout_add_seconds (REPLY_TIMEOUT_S, on_timeout, loop);
  g_main_loop_run (loop);
  g_clear_handle_id (&timeout_id, g_source_remove);
  g_signal_handlers_disconnect_by_func (carrier, on_closed, loop);
  return status;
}
