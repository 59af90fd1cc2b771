/* post-bench-http3.c: the HTTP/3 case of post-bench, (h)
 *
 * One download of a large body (1 GiB; 32 MiB with --quick) over HTTP/3
 * on 127.0.0.1, MB/s (10^6 bytes of body) from the start of the connection
 * to the body's last byte:
 *   libpost:     a PostHttp3Session client (post_http3_session_request_partial_async,
 *                then post_http3_session_receive_partial_async until the
 *                end, counting the bytes) from a libpost HTTP/3 responder
 *                (post_http3_session_new_server, answering every request
 *                with the body from memory) in a second thread;
 *   ngtcp2 tools: Debian's gtlsclient (ngtcp2-client, nghttp3) downloading
 *                the same size from gtlsserver (ngtcp2-server) serving a
 *                file of that size, both with their default settings, the
 *                body discarded; the time is gtlsclient's whole run.
 * Both servers are started once; rounds alternate between the two (the
 * order rotates, post-bench-secure.c's series), the figure is the median
 * over the rounds and the libpost/ngtcp2-tools ratio is taken within each
 * round.  Without gtlsclient and gtlsserver the case is skipped.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <glib/gstdio.h>
#include <post.h>
#include <stdio.h>
#include <unistd.h>

#include "post-bench-http3.h"
#include "post-bench-secure.h"
#include "post-bench-util.h"

#define H_FULL_SIZE   ((gsize) 1 << 30)
#define H_QUICK_SIZE  ((gsize) 32 << 20)
#define H_TIMEOUT_S   120

typedef struct {
  GMainContext *context;     /* the measuring thread's */
  gsize         size;
  GBytes       *body;        /* (owned) the responder's */
  GPtrArray    *sessions;    /* (owned) the responder's, on its thread */
  PostBenchServer server;
  char         *htdocs;      /* (owned) gtlsserver's document root */
  char         *file;        /* (owned) the file in it */
  guint16       gtls_port;
  GSubprocess  *gtlsserver;  /* (owned) */
} Http3Bench;

/* ---- the libpost responder (its thread) --------------------------------------------- */

static void
h3_configure (PostConfiguration *configuration)
{
  post_configuration_set_alpn (configuration, (const char *[]) { "h3", NULL }, NULL);
  post_configuration_set_framing (configuration, POST_FRAMING_STREAM, NULL);
}

static void
h3_respond (PostHttp3Session *session, PostMessage *request, Http3Bench *b)
{
  g_autoptr(PostMessage) response = post_message_new (b->body);

  post_message_set_metadata (response, g_variant_new_parsed ("{'http-status': <@u 200>}"), NULL);
  post_http3_session_respond (session, request, response, NULL);
}

static void
h3_incoming (PostCarrier *carrier, gpointer user_data)
{
  Http3Bench *b = user_data;
  PostHttp3Session *session = post_http3_session_new_server (carrier, NULL);

  if (session == NULL)
    return;
  g_signal_connect (session, "request", G_CALLBACK (h3_respond), b);
  g_ptr_array_add (b->sessions, session);
}

static void
h3_stop (gpointer user_data)
{
  Http3Bench *b = user_data;

  g_ptr_array_set_size (b->sessions, 0);
}

/* ---- the libpost client ------------------------------------------------------------------ */

static PostCarrier *
h3_connect (Http3Bench *b, GCancellable *cancellable, GError **error)
{
  g_autoptr(PostConfiguration) config = post_bench_client_configuration ("quic", "none");
  g_autofree char *uri = g_strdup_printf ("quic://127.0.0.1:%u", b->server.port);
  g_autoptr(PostRemote) remote = post_remote_new_from_uri (uri, error);
  g_autoptr(PostCarrier) carrier = NULL;

  if (remote == NULL)
    return NULL;
  h3_configure (config);
  carrier = post_carrier_initiate (NULL, remote, config);
  if (!post_bench_carrier_run (carrier, post_carrier_establish_async, post_carrier_establish_finish,
                               b->context, cancellable, error))
    return NULL;
  return g_steal_pointer (&carrier);
}

static double
run_libpost (Http3Bench *b, char **note)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(PostHttp3Session) session = NULL;
  g_autoptr(PostMessage) request = post_message_new (NULL);
  g_autoptr(PostMessage) response = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  PostBenchWaiter w = { NULL };
  gint64 t0 = g_get_monotonic_time ();
  gsize total = 0;
  gboolean end = FALSE;

  if ((carrier = h3_connect (b, cancellable, &error)) == NULL
      || (session = post_http3_session_new (carrier, &error)) == NULL)
    {
      *note = g_strdup_printf ("connect: %s", error->message);
      return -1;
    }
  post_http3_session_request_partial_async (session, request, cancellable, post_bench_waiter_cb, &w);
  result = post_bench_waiter_wait (&w, b->context, cancellable);
  w.result = NULL;   /* ours now */
  response = post_http3_session_request_partial_finish (session, result, &error);
  while (response != NULL && !end)
    {
      g_autoptr(GBytes) part = NULL;

      g_clear_object (&result);
      post_http3_session_receive_partial_async (session, response, 0, cancellable, post_bench_waiter_cb, &w);
      result = post_bench_waiter_wait (&w, b->context, cancellable);
      w.result = NULL;
      part = post_http3_session_receive_partial_finish (session, result, &end, &error);
      if (part == NULL)
        break;
      total += g_bytes_get_size (part);
    }
  post_http3_session_close (session);
  post_carrier_abort (carrier);
  if (error != NULL)
    {
      *note = g_strdup_printf ("download: %s", error->message);
      return -1;
    }
  if (total != b->size)
    {
      *note = g_strdup_printf ("received %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT " bytes", total, b->size);
      return -1;
    }
  return (double) total / (double) (g_get_monotonic_time () - t0);   /* bytes/µs = MB/s */
}

/* ---- the ngtcp2 tools --------------------------------------------------------------------- */

static gboolean
gtlsserver_start (Http3Bench *b, GError **error)
{
  g_autofree char *key = post_bench_cert_path ("server.key");
  g_autofree char *cert = post_bench_cert_path ("server.pem");
  g_autofree char *port_s = NULL;
  g_autoptr(GSocket) probe = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, 0, error);
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  FILE *f;

  /* a sparse file of the size: gtlsserver reads zeros from the page cache */
  b->htdocs = g_dir_make_tmp ("post-bench-http3-XXXXXX", error);
  if (b->htdocs == NULL)
    return FALSE;
  b->file = g_build_filename (b->htdocs, "body", NULL);
  f = fopen (b->file, "w");
  if (f == NULL || ftruncate (fileno (f), (off_t) b->size) != 0)
    {
      if (f != NULL)
        fclose (f);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot make %s", b->file);
      return FALSE;
    }
  fclose (f);
  /* a free UDP port: bound, read, released */
  if (probe == NULL || !g_socket_bind (probe, any, FALSE, error)
      || (bound = g_socket_get_local_address (probe, error)) == NULL)
    return FALSE;
  b->gtls_port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  g_socket_close (probe, NULL);
  port_s = g_strdup_printf ("%u", b->gtls_port);
  b->gtlsserver = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE, error,
                                    "gtlsserver", "-q", "-d", b->htdocs, "127.0.0.1", port_s, key, cert, NULL);
  if (b->gtlsserver == NULL)
    return FALSE;
  g_usleep (300 * 1000);   /* it binds and listens */
  return TRUE;
}

static void
gtlsserver_stop (Http3Bench *b)
{
  if (b->gtlsserver != NULL)
    {
      g_subprocess_force_exit (b->gtlsserver);
      g_subprocess_wait (b->gtlsserver, NULL, NULL);
      g_clear_object (&b->gtlsserver);
    }
  if (b->file != NULL)
    g_unlink (b->file);
  if (b->htdocs != NULL)
    g_rmdir (b->htdocs);
  g_clear_pointer (&b->file, g_free);
  g_clear_pointer (&b->htdocs, g_free);
}

static double
run_gtlsclient (Http3Bench *b, char **note)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) client = NULL;
  g_autofree char *port_s = g_strdup_printf ("%u", b->gtls_port);
  g_autofree char *uri = g_strdup_printf ("https://127.0.0.1:%u/body", b->gtls_port);
  g_autofree char *timeout = g_strdup_printf ("--timeout=%ds", H_TIMEOUT_S);
  gint64 t0 = g_get_monotonic_time ();

  client = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE, &error,
                             "gtlsclient", "-q", "--exit-on-all-streams-close", timeout,
                             "--no-quic-dump", "--no-http-dump", "127.0.0.1", port_s, uri, NULL);
  if (client == NULL || !g_subprocess_wait_check (client, NULL, &error))
    {
      *note = g_strdup_printf ("gtlsclient: %s", error->message);
      return -1;
    }
  return (double) b->size / (double) (g_get_monotonic_time () - t0);
}

static double
run_one (guint which, double seconds, gpointer user_data, char **note)
{
  return which == 0 ? run_libpost (user_data, note) : run_gtlsclient (user_data, note);
}

/* ---- the case ------------------------------------------------------------------------ */

double
post_bench_http3_run (gboolean quick)
{
  static const char * const names[2] = { "libpost", "ngtcp2 tools" };
  static const char * const labels[2] = { "libpost HTTP/3", "gtlsclient/gtlsserver" };
  g_autoptr(GMainContext) context = NULL;
  g_autoptr(GPtrArray) notes = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  g_autofree char *gtlsclient = g_find_program_in_path ("gtlsclient");
  g_autofree char *gtlsserver = g_find_program_in_path ("gtlsserver");
  g_autofree char *name = NULL;
  Http3Bench b = { 0 };
  PostBenchSeries series;
  GThread *thread;
  double ratio = 0;

  b.size = quick ? H_QUICK_SIZE : H_FULL_SIZE;
  g_print ("\n(h) HTTP/3 over 127.0.0.1: a %" G_GSIZE_FORMAT " MiB download, libpost client from a libpost "
           "responder against gtlsclient from gtlsserver\n", b.size >> 20);
  if (post_registry_lookup_stack (post_registry_get_default (), "quic") == NULL)
    {
      g_print ("    skipped: the quic plugin is not loaded\n");
      return 0;
    }
  if (gtlsclient == NULL || gtlsserver == NULL)
    {
      g_print ("    skipped: gtlsclient and gtlsserver (Debian's ngtcp2-client, ngtcp2-server) are not installed\n");
      return 0;
    }
  if (!post_bench_certs_prepare ("post-bench-http3"))
    return 0;
  if (!gtlsserver_start (&b, &error))
    {
      g_print ("    skipped: gtlsserver: %s\n", error->message);
      gtlsserver_stop (&b);
      post_bench_certs_remove ();
      return 0;
    }
  {
    guint8 *data = g_malloc0 (b.size);

    b.body = g_bytes_new_take (data, b.size);
  }
  b.sessions = g_ptr_array_new_with_free_func (g_object_unref);
  b.server.stack = "quic";
  b.server.cert = post_bench_cert_path ("server.pem");
  b.server.key = post_bench_cert_path ("server.key");
  b.server.configure = h3_configure;
  b.server.incoming = h3_incoming;
  b.server.stop = h3_stop;
  b.server.user_data = &b;
  thread = post_bench_server_start (&b.server);

  context = post_bench_context_new ();
  b.context = context;
  g_main_context_push_thread_default (context);
  if (b.server.error != NULL)
    g_ptr_array_add (notes, g_strdup_printf ("listen: %s", b.server.error));
  else
    {
      post_bench_series_run (&series, "download", names, 0, run_one, &b, notes);
      g_print ("    one %" G_GSIZE_FORMAT " MiB body per run, MB/s (median of %d alternating rounds)\n",
               b.size >> 20, POST_BENCH_ROUNDS);
      ratio = post_bench_series_print (&series, labels, "libpost/ngtcp2-tools ratio", 1, "MB/s");
      name = g_strdup_printf ("HTTP/3 download of %" G_GSIZE_FORMAT " MiB", b.size >> 20);
      post_bench_series_json (&series, "h-download", name, "MB/s", "gtlsclient from gtlsserver",
                              0, b.size, 1.0);
    }
  post_bench_context_drain (context);
  g_main_context_pop_thread_default (context);
  post_bench_server_stop (&b.server, thread);
  post_bench_print_notes (notes);
  g_ptr_array_unref (b.sessions);
  g_bytes_unref (b.body);
  gtlsserver_stop (&b);
  post_bench_certs_remove ();
  return ratio;
}
