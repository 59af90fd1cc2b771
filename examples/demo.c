/* demo.c: the README's demo
 *
 * In one process: a Figure 3 echo server listening on 127.0.0.1 (an
 * ephemeral port) and a Figure 2 client that sends "Hello!" to it and
 * checks the echo.  Prints each step; exits 0 only if the echo matched.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <post.h>
#include <stdlib.h>
#include <string.h>

#define HELLO "Hello!"

static GMainLoop *loop;
static gboolean matched;

static char *
address_string (GSocketAddress *address)
{
  if (address == NULL)
    return g_strdup ("(unknown)");
  return g_socket_connectable_to_string (G_SOCKET_CONNECTABLE (address));
}

static void
fail (const char *what, const GError *error)
{
  g_printerr ("demo: %s: %s\n", what, error ? error->message : "failed");
  g_main_loop_quit (loop);
}

/* ---- the server (Figure 3) ---------------------------------------------- */

static gboolean
server_on_ready (PostCarrier *carrier, PostMessage *message, gpointer user_data)
{
  g_autoptr(PostMessage) echo = post_message_new (post_message_get_content (message));
  g_autoptr(GError) error = NULL;

  g_print ("server: received %" G_GSIZE_FORMAT " bytes, echoing them\n",
           post_message_get_size (message));
  if (!post_carrier_send (carrier, echo, &error))
    fail ("server: send", error);
  return TRUE;
}

static void
server_on_closed (PostCarrier *carrier, const GError *error, gpointer user_data)
{
  g_print ("server: carrier closed%s%s\n", error ? ": " : " by the peer",
           error ? error->message : "");
  g_object_unref (carrier);
}

static gboolean
server_on_incoming (PostCarrier *listener, PostCarrier *carrier, gpointer user_data)
{
  g_autofree char *from = address_string (post_carrier_get_remote_address (carrier));

  g_print ("server: accepted a carrier from %s\n", from);
  g_object_ref (carrier);
  g_signal_connect (carrier, "closed", G_CALLBACK (server_on_closed), NULL);
  post_carrier_ready (carrier, server_on_ready, NULL, NULL);
  return TRUE;
}

/* ---- the client (Figure 2) ---------------------------------------------- */

static gboolean
quit_soon (gpointer user_data)
{
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

static void
client_on_closed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GError) error = NULL;

  if (!post_carrier_close_finish (POST_CARRIER (source), result, &error))
    fail ("close", error);
  else
    g_print ("client: closed\n");
  /* Give the server a moment to see the close, then stop. */
  g_timeout_add (100, quit_soon, NULL);
}

static gboolean
client_on_ready (PostCarrier *carrier, PostMessage *message, gpointer user_data)
{
  gsize size;
  const char *data = g_bytes_get_data (post_message_get_content (message), &size);

  g_print ("client: received echo \"%.*s\"\n", (int) size, data);
  matched = size == strlen (HELLO) && memcmp (data, HELLO, size) == 0;
  post_carrier_close_async (carrier, NULL, client_on_closed, NULL);
  return FALSE;
}

static void
client_on_sent (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GError) error = NULL;

  if (post_carrier_send_finish (POST_CARRIER (source), result, &error))
    g_print ("client: sent \"%s\"\n", HELLO);
  else
    fail ("send", error);
}

static void
client_on_established (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PostCarrier *carrier = POST_CARRIER (source);
  g_autoptr(GError) error = NULL;
  g_autofree char *from = NULL;
  g_autofree char *to = NULL;

  if (!post_carrier_establish_finish (carrier, result, &error))
    {
      fail ("establish", error);
      return;
    }
  from = address_string (post_carrier_get_local_address (carrier));
  to = address_string (post_carrier_get_remote_address (carrier));
  g_print ("client: carrier established via stack %s from %s to %s in %.1f ms\n",
           post_carrier_get_stack_name (carrier), from, to,
           post_carrier_get_establishment_time (carrier) / 1000.0);
}

static gboolean
on_timeout (gpointer user_data)
{
  g_printerr ("demo: timed out\n");
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PostLocal) local = NULL;
  g_autoptr(PostCarrier) listener = NULL;
  g_autoptr(PostRemote) remote = NULL;
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(PostMessage) hello = post_message_new_from_string (HELLO);
  g_autofree char *address = NULL;
  g_autofree char *uri = NULL;

  loop = g_main_loop_new (NULL, FALSE);

  local = post_local_new_from_uri ("tcp://127.0.0.1:0", &error);
  if (local != NULL)
    listener = post_carrier_listen (local, NULL, &error);
  if (listener == NULL)
    {
      g_printerr ("demo: listen: %s\n", error->message);
      return EXIT_FAILURE;
    }
  g_signal_connect (listener, "incoming", G_CALLBACK (server_on_incoming), NULL);
  address = address_string (post_carrier_get_local_address (listener));
  g_print ("server: listening on %s (stack %s)\n", address,
           post_carrier_get_stack_name (listener));

  uri = g_strdup_printf ("tcp://%s", address);
  remote = post_remote_new_from_uri (uri, &error);
  if (remote == NULL)
    {
      g_printerr ("demo: %s: %s\n", uri, error->message);
      return EXIT_FAILURE;
    }
  g_print ("client: initiating a carrier to %s\n", uri);
  carrier = post_carrier_initiate (NULL, remote, NULL);
  post_carrier_establish_async (carrier, NULL, client_on_established, NULL);
  post_carrier_send_async (carrier, hello, NULL, client_on_sent, NULL);
  post_carrier_ready (carrier, client_on_ready, NULL, NULL);

  g_timeout_add_seconds (10, on_timeout, NULL);
  g_main_loop_run (loop);

  post_carrier_close (listener);
  g_main_loop_unref (loop);
  g_print ("%s\n", matched ? "demo: OK, the echo matched" : "demo: FAILED");
  return matched ? EXIT_SUCCESS : EXIT_FAILURE;
}
