/* http-get.c: GET a URL with PostHttpClient and write its body to stdout
 *
 *   http-get URL [CA-FILE]
 *
 * An https:// URL races tls (HTTP/1.1) against quic (HTTP/3) and speaks
 * whichever wins; an http:// URL is HTTP/1.1 over tcp.  The response's
 * head is its metadata (http-status, http-headers ...); its body is read
 * part by part as it arrives.  CA-FILE (PEM) is trusted instead of the
 * system's store.  Exits 1 with a message on a failure or a status other
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
stop (PostHttpClient *client, const char *problem)
{
  if (problem != NULL)
    g_printerr ("http-get: %s\n", problem);
  else
    status = EXIT_SUCCESS;
  post_http_client_close (client);
  g_main_loop_quit (loop);
}

/* Each part of the body, until its end */
static void
on_body (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PostHttpClient *client = POST_HTTP_CLIENT (source);
  PostMessage *response = user_data;
  g_autoptr(GError) error = NULL;
  gboolean end = FALSE;
  g_autoptr(GBytes) part = post_http_client_read_body_finish (client, result, &end, &error);

  if (part == NULL)
    stop (client, error->message);
  else
    {
      gsize size = 0;
      const void *data = g_bytes_get_data (part, &size);

      /* (the part that ends a body may be empty: no data pointer) */
      if (size > 0)
        fwrite (data, 1, size, stdout);
      if (end)
        stop (client, NULL);
      else
        post_http_client_read_body_async (client, response, NULL, on_body, response);
    }
}

/* The response's head: check the status, then read the body */
static void
on_response (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PostHttpClient *client = POST_HTTP_CLIENT (source);
  g_autoptr(GError) error = NULL;
  PostMessage *response = post_http_client_request_finish (client, result, &error);
  guint code = 0;

  if (response == NULL)
    {
      stop (client, error->message);
      return;
    }
  post_message_lookup_metadata (response, "http-status", "u", &code);
  g_printerr ("http-get: %u over %s\n", code, post_http_client_get_protocol (client));
  if (code < 200 || code > 299)
    {
      stop (client, "the server did not answer 2xx");
      g_object_unref (response);
      return;
    }
  /* The response lives as long as the reads (their user_data) */
  g_object_set_data_full (G_OBJECT (client), "http-get-response", response, g_object_unref);
  post_http_client_read_body_async (client, response, NULL, on_body, response);
}

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PostRemote) remote = NULL;
  g_autoptr(PostConfiguration) configuration = post_configuration_new ();
  g_autoptr(PostHttpClient) client = NULL;
  g_autoptr(PostMessage) request = post_message_new_from_data ("", 0);

  if (argc != 2 && argc != 3)
    {
      g_printerr ("usage: http-get URL [CA-FILE]\n");
      return EXIT_FAILURE;
    }
  remote = post_remote_new_from_uri (argv[1], &error);   /* https:// gives tls and quic, port 443 */
  if (remote == NULL
      || (argc == 3 && (!post_configuration_set_use_system_trust (configuration, FALSE, &error)
                        || !post_configuration_add_trust_anchor_file (configuration, argv[2], &error))))
    {
      g_printerr ("http-get: %s\n", error->message);
      return EXIT_FAILURE;
    }

  loop = g_main_loop_new (NULL, FALSE);
  /* A GET of the URL's path: the method, target and Host are the defaults */
  client = post_http_client_new (remote, configuration);
  post_http_client_request_async (client, request, NULL, on_response, NULL);
  g_main_loop_run (loop);
  g_main_loop_unref (loop);
  return status;
}
