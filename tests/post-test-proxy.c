/* post-test-proxy.c: an HTTP CONNECT proxy written with GIO (post-test-proxy.h)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "post-test-proxy.h"

#include <string.h>

typedef struct
{
  PostTestHttpProxy *proxy;      /* (unowned) lives as long as the test */
  GSocketConnection *client;     /* (owned) */
  GDataInputStream  *in;         /* (owned) over client's input */
  GSocketConnection *target;     /* (owned) (nullable) */
  char              *authority;  /* (owned) (nullable) host:port asked for */
  gboolean           authorized;
  guint              splices;    /* running */
  char              *answer;     /* (owned) (nullable) being written */
} Tunnel;

static void
tunnel_free (Tunnel *tunnel)
{
  if (tunnel->target != NULL)
    g_io_stream_close (G_IO_STREAM (tunnel->target), NULL, NULL);
  g_io_stream_close (G_IO_STREAM (tunnel->client), NULL, NULL);
  g_clear_object (&tunnel->target);
  g_clear_object (&tunnel->in);
  g_clear_object (&tunnel->client);
  g_free (tunnel->authority);
  g_free (tunnel->answer);
  g_free (tunnel);
}

static void
spliced_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  Tunnel *tunnel = user_data;

  g_output_stream_splice_finish (G_OUTPUT_STREAM (source), result, NULL);
  /* Either side ending ends the tunnel: close both, then the other
   * splice ends too. */
  if (tunnel->target != NULL)
    g_io_stream_close (G_IO_STREAM (tunnel->target), NULL, NULL);
  g_io_stream_close (G_IO_STREAM (tunnel->client), NULL, NULL);
  if (--tunnel->splices == 0)
    tunnel_free (tunnel);
}

static void
answered_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  Tunnel *tunnel = user_data;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, NULL)
      || tunnel->target == NULL)
    {
      tunnel_free (tunnel);
      return;
    }
  tunnel->proxy->n_tunnels++;
  tunnel->splices = 2;
  /* From the client through the buffered stream (nothing it holds is lost) */
  g_output_stream_splice_async (g_io_stream_get_output_stream (G_IO_STREAM (tunnel->target)),
                                G_INPUT_STREAM (tunnel->in), G_OUTPUT_STREAM_SPLICE_NONE,
                                G_PRIORITY_DEFAULT, NULL, spliced_cb, tunnel);
  g_output_stream_splice_async (g_io_stream_get_output_stream (G_IO_STREAM (tunnel->client)),
                                g_io_stream_get_input_stream (G_IO_STREAM (tunnel->target)),
                                G_OUTPUT_STREAM_SPLICE_NONE, G_PRIORITY_DEFAULT, NULL,
                                spliced_cb, tunnel);
}

static void
answer (Tunnel     *tunnel,
        const char *status)
{
  g_free (tunnel->answer);
  tunnel->answer = g_strdup_printf ("HTTP/1.1 %s\r\n%s\r\n", status,
                                    g_str_has_prefix (status, "407")
                                    ? "Proxy-Authenticate: Basic realm=\"test\"\r\nContent-Length: 0\r\n" : "");
  g_output_stream_write_all_async (g_io_stream_get_output_stream (G_IO_STREAM (tunnel->client)),
                                   tunnel->answer, strlen (tunnel->answer), G_PRIORITY_DEFAULT, NULL,
                                   answered_cb, tunnel);
}

static void
target_connected_cb (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  Tunnel *tunnel = user_data;

  tunnel->target = g_socket_client_connect_to_host_finish (G_SOCKET_CLIENT (source), result, NULL);
  answer (tunnel, tunnel->target != NULL ? "200 Connection established" : "502 Bad Gateway");
}

static void read_header_line (Tunnel *tunnel);

static void
header_line_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  Tunnel *tunnel = user_data;
  g_autofree char *line = g_data_input_stream_read_line_finish (G_DATA_INPUT_STREAM (source),
                                                                result, NULL, NULL);

  if (line == NULL)
    {
      tunnel_free (tunnel);
      return;
    }
  g_strchomp (line);
  if (tunnel->authority == NULL)
    {
      char **words = g_strsplit (line, " ", 3);

      if (g_strv_length (words) == 3 && g_str_equal (words[0], "CONNECT"))
        tunnel->authority = g_strdup (words[1]);
      g_strfreev (words);
      if (tunnel->authority == NULL)
        {
          answer (tunnel, "400 Bad Request");
          return;
        }
      tunnel->proxy->n_requests++;
      g_string_append_printf (tunnel->proxy->targets, "%s;", tunnel->authority);
    }
  else if (*line == '\0')
    {
      /* the end of the request's headers */
      if (tunnel->proxy->stall)
        {
          /* never answers: the tunnel waits until the client gives up */
          g_ptr_array_add (tunnel->proxy->stalled, tunnel);
          return;
        }
      if (tunnel->proxy->credentials != NULL && !tunnel->authorized)
        {
          tunnel->proxy->n_refused++;
          answer (tunnel, "407 Proxy Authentication Required");
          return;
        }
      {
        g_autoptr(GSocketClient) client = g_socket_client_new ();

        /* (the proxy itself connects directly) */
        g_autofree char *authority = g_strdup (tunnel->authority);
        char *colon = strrchr (authority, ':');

        g_socket_client_set_enable_proxy (client, FALSE);
        if (tunnel->proxy->alias != NULL && colon != NULL
            && strncmp (authority, tunnel->proxy->alias, colon - authority) == 0
            && strlen (tunnel->proxy->alias) == (gsize) (colon - authority))
          {
            g_autofree char *rest = g_strdup (colon);

            g_free (authority);
            authority = g_strconcat ("127.0.0.1", rest, NULL);
          }
        g_socket_client_connect_to_host_async (client, authority, 0, NULL,
                                               target_connected_cb, tunnel);
      }
      return;
    }
  else if (g_ascii_strncasecmp (line, "Proxy-Authorization: Basic ", 27) == 0
           && tunnel->proxy->credentials != NULL)
    {
      g_autofree char *expected = g_base64_encode ((const guchar *) tunnel->proxy->credentials,
                                                   strlen (tunnel->proxy->credentials));

      tunnel->authorized = g_str_equal (line + 27, expected);
    }
  read_header_line (tunnel);
}

static void
read_header_line (Tunnel *tunnel)
{
  g_data_input_stream_read_line_async (tunnel->in, G_PRIORITY_DEFAULT, NULL, header_line_cb, tunnel);
}

static gboolean
proxy_incoming_cb (GSocketService    *service,
                   GSocketConnection *connection,
                   GObject           *source,
                   gpointer           user_data)
{
  Tunnel *tunnel = g_new0 (Tunnel, 1);

  tunnel->proxy = user_data;
  tunnel->client = g_object_ref (connection);
  tunnel->in = g_data_input_stream_new (g_io_stream_get_input_stream (G_IO_STREAM (connection)));
  g_data_input_stream_set_newline_type (tunnel->in, G_DATA_STREAM_NEWLINE_TYPE_CR_LF);
  g_filter_input_stream_set_close_base_stream (G_FILTER_INPUT_STREAM (tunnel->in), FALSE);
  read_header_line (tunnel);
  return TRUE;
}

void
post_test_http_proxy_start (PostTestHttpProxy  *proxy,
                  const char *credentials)
{
  g_autoptr(GError) error = NULL;

  memset (proxy, 0, sizeof *proxy);
  proxy->credentials = g_strdup (credentials);
  proxy->targets = g_string_new (NULL);
  proxy->stalled = g_ptr_array_new_with_free_func ((GDestroyNotify) tunnel_free);
  proxy->service = g_socket_service_new ();
  proxy->port = g_socket_listener_add_any_inet_port (G_SOCKET_LISTENER (proxy->service), NULL, &error);
  g_assert_no_error (error);
  g_signal_connect (proxy->service, "incoming", G_CALLBACK (proxy_incoming_cb), proxy);
  g_socket_service_start (proxy->service);
}

void
post_test_http_proxy_stop (PostTestHttpProxy *proxy)
{
  g_socket_service_stop (proxy->service);
  g_socket_listener_close (G_SOCKET_LISTENER (proxy->service));
  g_clear_object (&proxy->service);
  g_clear_pointer (&proxy->credentials, g_free);
  g_clear_pointer (&proxy->alias, g_free);
  g_clear_pointer (&proxy->stalled, g_ptr_array_unref);
  g_string_free (proxy->targets, TRUE);
  /* (tunnels still open end with their carriers) */
}
