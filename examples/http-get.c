/* http-get.c: GET a URL with PostHttpFramer and write its body to stdout
 *
 *   http-get http://HOST:PORT/PATH
 *
 * The carrier's framer makes each HTTP/1.1 response a message: its head is
 * the message's metadata (http-status, http-headers ...), its body the
 * content, received in parts as it arrives so that a body of any size is
 * never held whole.  Exits 1 with a message on a failure or a status other
 * than 2xx.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <post.h>
#include <stdio.h>
#include <stdlib.h>

static GMainLoop *loop;
static int status = EXIT_FAILURE;

static void
on_closed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_main_loop_quit (loop);
}

static void
stop (PostCarrier *carrier, const char *problem)
{
  if (problem != NULL)
    g_printerr ("http-get: %s\n", problem);
  else
    status = EXIT_SUCCESS;
  post_carrier_close_async (carrier, NULL, on_closed, NULL);
}

/* Each part of the response: the first one carries its head. */
static void
on_part (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PostCarrier *carrier = POST_CARRIER (source);
  g_autoptr(GError) error = NULL;
  g_autoptr(PostMessage) response = NULL;
  gboolean end = FALSE;
  g_autoptr(GBytes) part = post_carrier_receive_partial_finish (carrier, result, &response, &end, &error);
  guint code = 0;

  if (part == NULL)
    {
      stop (carrier, error->message);
      return;
    }
  post_message_lookup_metadata (response, "http-status", "u", &code);
  if (code < 200 || code > 299)
    {
      g_autofree char *problem = g_strdup_printf ("the server answered %u", code);

      if (code >= 200)
        {
          stop (carrier, problem);
          return;
        }
      /* 1xx: an interim response without a body; the final one follows */
    }
  else
    fwrite (g_bytes_get_data (part, NULL), 1, g_bytes_get_size (part), stdout);
  if (end && code >= 200)
    stop (carrier, NULL);
  else
    post_carrier_receive_partial_async (carrier, 1, 65536, NULL, on_part, NULL);
}

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GUri) uri = NULL;
  g_autoptr(PostRemote) remote = NULL;
  g_autoptr(PostConfiguration) configuration = post_configuration_new ();
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(PostMessage) request = post_message_new_from_data ("", 0);
  g_autofree char *host = NULL;
  g_autofree char *target = NULL;

  if (argc != 2)
    {
      g_printerr ("usage: http-get http://HOST:PORT/PATH\n");
      return EXIT_FAILURE;
    }
  uri = g_uri_parse (argv[1], G_URI_FLAGS_ENCODED, &error);
  if (uri != NULL)
    remote = post_remote_new_from_uri (argv[1], &error);   /* http:// gives tcp, port 80 */
  if (remote == NULL
      || !post_configuration_set_framer_type (configuration, POST_TYPE_HTTP_FRAMER, &error))
    {
      g_printerr ("http-get: %s\n", error->message);
      return EXIT_FAILURE;
    }

  /* The request: its head is metadata, its content the (empty) body */
  host = g_uri_get_port (uri) > 0 ? g_strdup_printf ("%s:%d", g_uri_get_host (uri), g_uri_get_port (uri))
                                  : g_strdup (g_uri_get_host (uri));
  target = g_strconcat (*g_uri_get_path (uri) != '\0' ? g_uri_get_path (uri) : "/",
                        g_uri_get_query (uri) != NULL ? "?" : "", g_uri_get_query (uri), NULL);
  post_message_set_metadata (request,
                             g_variant_new_parsed ("{'http-method': <'GET'>, 'http-target': <%s>,"
                                                   " 'http-headers': <[('Host', %s)]>}", target, host),
                             NULL);

  loop = g_main_loop_new (NULL, FALSE);
  carrier = post_carrier_initiate (NULL, remote, configuration);
  /* Queued until the carrier is established; then the response's parts */
  post_carrier_send (carrier, request, NULL);
  post_carrier_receive_partial_async (carrier, 1, 65536, NULL, on_part, NULL);
  g_main_loop_run (loop);
  g_main_loop_unref (loop);
  return status;
}
