/* post-test-util.c: helpers the tests share
 *
 * What several tests share; what one test's server or client does besides
 * (record, refuse, count more) stays in that test.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "post-test-util.h"

#include <gio/gio.h>
#include <errno.h>
#include <string.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <sys/prctl.h>

void
post_test_run (const char * const *argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) p = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDOUT_SILENCE
                                                | G_SUBPROCESS_FLAGS_STDERR_SILENCE, &error);

  g_assert_no_error (error);
  g_assert_true (g_subprocess_wait_check (p, NULL, &error));
  g_assert_no_error (error);
}

char *
post_test_certs_path (const char *dir,
                      const char *name)
{
  return g_build_filename (dir, name, NULL);
}

/* A key, and a certificate from @template signed by @ca (or self-signed). */
static void
make_cert (const char *dir,
           const char *name,
           const char *ca,
           const char *template)
{
  g_autofree char *key = g_strdup_printf ("%s/%s.key", dir, name);
  g_autofree char *cert = g_strdup_printf ("%s/%s.pem", dir, name);
  g_autofree char *tmpl = g_strdup_printf ("%s/%s.tmpl", dir, name);

  g_assert_true (g_file_set_contents (tmpl, template, -1, NULL));
  post_test_run ((const char *[]) { "certtool", "--generate-privkey", "--key-type=ecdsa",
                                    "--outfile", key, NULL });
  if (ca == NULL)
    post_test_run ((const char *[]) { "certtool", "--generate-self-signed", "--load-privkey", key,
                                      "--template", tmpl, "--outfile", cert, NULL });
  else
    {
      g_autofree char *ca_key = g_strdup_printf ("%s/%s.key", dir, ca);
      g_autofree char *ca_cert = g_strdup_printf ("%s/%s.pem", dir, ca);

      post_test_run ((const char *[]) { "certtool", "--generate-certificate", "--load-privkey", key,
                                        "--load-ca-privkey", ca_key, "--load-ca-certificate", ca_cert,
                                        "--template", tmpl, "--outfile", cert, NULL });
    }
}

char *
post_test_certs_make (const char *prefix)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *pattern = g_strdup_printf ("%s-XXXXXX", prefix);
  char *dir = g_dir_make_tmp (pattern, &error);

  g_assert_no_error (error);
  make_cert (dir, "ca", NULL, "cn = \"libpost test CA\"\nca\ncert_signing_key\nexpiration_days = 2\n");
  make_cert (dir, "server", "ca", "cn = \"localhost\"\ndns_name = \"localhost\"\nip_address = \"127.0.0.1\"\n"
             "tls_www_server\nsigning_key\nexpiration_days = 2\n");
  make_cert (dir, "wrongname", "ca", "cn = \"wrong.example\"\ndns_name = \"wrong.example\"\n"
             "tls_www_server\nsigning_key\nexpiration_days = 2\n");
  make_cert (dir, "expired", "ca", "cn = \"localhost\"\ndns_name = \"localhost\"\nip_address = \"127.0.0.1\"\n"
             "tls_www_server\nsigning_key\nactivation_date = \"2019-01-01 00:00:00 UTC\"\n"
             "expiration_date = \"2020-01-01 00:00:00 UTC\"\n");
  make_cert (dir, "client", "ca", "cn = \"libpost test client\"\ntls_www_client\nsigning_key\nexpiration_days = 2\n");
  make_cert (dir, "rogue", NULL, "cn = \"localhost\"\ndns_name = \"localhost\"\nip_address = \"127.0.0.1\"\n"
             "tls_www_server\nsigning_key\nexpiration_days = 2\n");
  return dir;
}

static void
remove_tree (const char *top)
{
  g_autoptr(GDir) d = g_dir_open (top, 0, NULL);
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *p = g_build_filename (top, name, NULL);

      if (g_file_test (p, G_FILE_TEST_IS_DIR) && !g_file_test (p, G_FILE_TEST_IS_SYMLINK))
        remove_tree (p);
      else
        g_unlink (p);
    }
  g_rmdir (top);
}

void
post_test_certs_remove (const char *dir)
{
  if (dir != NULL)
    remove_tree (dir);
}

static gboolean
flag_cb (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Iterates until *@counter reaches @n, or *@flag (nullable) is TRUE;
 * whether the @timeout_s seconds ran out first. */
static gboolean
iterate_until (const guint    *counter,
               guint           n,
               const gboolean *flag,
               guint           timeout_s)
{
  gboolean timed_out = FALSE;
  GSource *timeout = g_timeout_source_new_seconds (timeout_s);

  g_source_set_callback (timeout, flag_cb, &timed_out, NULL);
  g_source_attach (timeout, NULL);
  while ((flag != NULL ? !*flag : *counter < n) && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  g_source_destroy (timeout);
  g_source_unref (timeout);
  return timed_out;
}

void
post_test_wait_count (const guint *counter,
                      guint        n,
                      const char  *what,
                      guint        timeout_s)
{
  if (iterate_until (counter, n, NULL, timeout_s))
    g_error ("timed out waiting for %s (%u of %u)", what, *counter, n);
}

void
post_test_wait_flag (const gboolean *flag,
                     const char     *what,
                     guint           timeout_s)
{
  if (iterate_until (NULL, 0, flag, timeout_s))
    g_error ("timed out after %u s waiting for %s", timeout_s, what);
}

typedef struct {
  const char *what;
  guint       timeout_s;
} LoopTimeout;

static gboolean
loop_timeout_cb (gpointer user_data)
{
  LoopTimeout *t = user_data;

  g_error ("timed out after %u s waiting for %s", t->timeout_s, t->what);
  return G_SOURCE_REMOVE;
}

void
post_test_loop_until (GMainLoop   *loop,
                      const guint *counter,
                      guint        n,
                      const char  *what,
                      guint        timeout_s)
{
  LoopTimeout t = { what, timeout_s };
  guint id = g_timeout_add_seconds (timeout_s, loop_timeout_cb, &t);

  while (*counter < n)
    g_main_loop_run (loop);
  g_source_remove (id);
}

static gboolean
watchdog_cb (gpointer user_data)
{
  g_error ("timed out waiting for %s", (const char *) user_data);
  return G_SOURCE_REMOVE;
}

guint
post_test_watchdog (guint       timeout_s,
                    const char *what)
{
  return g_timeout_add_seconds (timeout_s, watchdog_cb, (gpointer) what);
}

void
post_test_drain (void)
{
  for (guint i = 0; i < 100 && g_main_context_iteration (NULL, FALSE); i++)
    ;
}

void
post_test_spin (guint ms)
{
  gboolean done = FALSE;
  GSource *timeout = g_timeout_source_new (ms);

  g_source_set_callback (timeout, flag_cb, &done, NULL);
  g_source_attach (timeout, NULL);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
  g_source_unref (timeout);
}

/* ---- configurations and locals ------------------------------------------ */

void
post_test_trust_test_ca (PostConfiguration *config,
                         const char        *certs)
{
  g_autofree char *ca = post_test_certs_path (certs, "ca.pem");
  g_autoptr(GError) error = NULL;

  g_assert_true (post_configuration_set_use_system_trust (config, FALSE, &error));
  g_assert_true (post_configuration_add_trust_anchor_file (config, ca, &error));
  g_assert_no_error (error);
}

PostConfiguration *
post_test_client_config (const char *certs)
{
  PostConfiguration *config = post_configuration_new ();
  g_autoptr(GError) error = NULL;

  post_test_trust_test_ca (config, certs);
  g_assert_true (post_configuration_set_attempt_delay (config, 50, &error));
  g_assert_no_error (error);
  return config;
}

PostLocal *
post_test_server_local (const char *uri,
                        const char *certs,
                        const char *name)
{
  g_autoptr(GError) error = NULL;
  PostLocal *local = post_local_new_from_uri (uri, &error);
  g_autofree char *c = g_strdup_printf ("%s/%s.pem", certs, name);
  g_autofree char *k = g_strdup_printf ("%s/%s.key", certs, name);

  g_assert_no_error (error);
  g_assert_true (post_local_set_identity_from_files (local, c, k, &error));
  g_assert_no_error (error);
  return local;
}

PostCarrier *
post_test_initiate (const char        *scheme,
                    guint16            port,
                    PostConfiguration *config)
{
  g_autofree char *uri = g_strdup_printf ("%s://127.0.0.1:%u", scheme, port);
  g_autoptr(PostRemote) remote = post_remote_new_from_uri (uri, NULL);

  return post_carrier_initiate (NULL, remote, config);
}

guint16
post_test_port_of (PostCarrier *listener)
{
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (post_carrier_get_local_address (listener)));
}

guint16
post_test_free_port (GSocketType type)
{
  g_autoptr(GSocket) s = g_socket_new (G_SOCKET_FAMILY_IPV4, type,
                                       type == G_SOCKET_TYPE_STREAM ? G_SOCKET_PROTOCOL_TCP
                                                                    : G_SOCKET_PROTOCOL_UDP, NULL);
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) a = g_inet_socket_address_new (lo, 0);
  g_autoptr(GSocketAddress) bound = NULL;

  g_assert_true (g_socket_bind (s, a, TRUE, NULL));
  bound = g_socket_get_local_address (s, NULL);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

gboolean
post_test_have_stack (const char *name)
{
  g_autoptr(GPtrArray) stacks = post_registry_list_stacks (post_registry_get_default ());

  for (guint i = 0; i < stacks->len; i++)
    if (g_strcmp0 (post_stack_get_name (stacks->pdata[i]), name) == 0)
      return TRUE;
  return FALSE;
}

/* ---- peer processes ------------------------------------------------------ */

static void
die_with_parent (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

GSubprocess *
post_test_spawn (const char * const *argv,
                 GSubprocessFlags    flags)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (flags);
  GSubprocess *p;

  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  p = g_subprocess_launcher_spawnv (launcher, argv, &error);
  g_assert_no_error (error);
  return p;
}

/* Whether something on 127.0.0.1:@port accepts (stream) or holds the
 * port (datagram). */
static gboolean
port_taken (GSocketType type,
            guint16     port)
{
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) a = g_inet_socket_address_new (lo, port);
  g_autoptr(GSocket) s = g_socket_new (G_SOCKET_FAMILY_IPV4, type,
                                       type == G_SOCKET_TYPE_STREAM ? G_SOCKET_PROTOCOL_TCP
                                                                    : G_SOCKET_PROTOCOL_UDP, NULL);
  g_autoptr(GError) error = NULL;

  g_assert_nonnull (s);
  if (type == G_SOCKET_TYPE_STREAM)
    return g_socket_connect (s, a, NULL, NULL);
  return !g_socket_bind (s, a, FALSE, &error)
         && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE);
}

void
post_test_wait_listening (GSubprocess *peer,
                          GSocketType  type,
                          guint16      port,
                          const char  *log_path,
                          guint        timeout_s)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_s * G_USEC_PER_SEC;
  g_autofree char *log = NULL;

  while (!port_taken (type, port))
    {
      if ((peer != NULL && g_subprocess_get_identifier (peer) == NULL)
          || g_get_monotonic_time () >= deadline)
        {
          if (log_path != NULL)
            g_file_get_contents (log_path, &log, NULL, NULL);
          g_error ("%s did not listen on port %u: %s",
                   peer != NULL && g_subprocess_get_identifier (peer) == NULL ? "the peer exited and" : "nothing",
                   port, log != NULL ? log : "(no log)");
        }
      post_test_spin (20);
    }
}

void
post_test_kill (GSubprocess *peer)
{
  g_subprocess_force_exit (peer);
  g_subprocess_wait (peer, NULL, NULL);
}

void
post_test_communicated_cb (GObject      *source,
                           GAsyncResult *result,
                           gpointer      user_data)
{
  PostTestCommunicate *cr = user_data;

  if (g_subprocess_communicate_utf8_finish (G_SUBPROCESS (source), result, &cr->out, &cr->err, &cr->error)
      && g_subprocess_get_if_exited (G_SUBPROCESS (source)))
    cr->status = g_subprocess_get_exit_status (G_SUBPROCESS (source));
  else
    cr->status = -1;
  cr->done = 1;
}

void
post_test_communicate (const char * const  *argv,
                       GSubprocessFlags     flags,
                       PostTestCommunicate *cr,
                       guint                timeout_s)
{
  g_autoptr(GSubprocess) p = NULL;

  if ((flags & (G_SUBPROCESS_FLAGS_STDERR_SILENCE | G_SUBPROCESS_FLAGS_STDERR_MERGE)) == 0)
    flags |= G_SUBPROCESS_FLAGS_STDERR_PIPE;
  post_test_communicate_clear (cr);
  p = post_test_spawn (argv, flags | G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_subprocess_communicate_utf8_async (p, NULL, NULL, post_test_communicated_cb, cr);
  post_test_wait_count (&cr->done, 1, argv[0], timeout_s);
}

void
post_test_communicate_clear (PostTestCommunicate *cr)
{
  g_clear_pointer (&cr->out, g_free);
  g_clear_pointer (&cr->err, g_free);
  g_clear_error (&cr->error);
  cr->status = 0;
  cr->done = 0;
}

GBytes *
post_test_random_bytes (gsize   size,
                        guint32 seed)
{
  guint8 *data = g_malloc (MAX (size, 1));
  guint32 state = seed;

  for (gsize i = 0; i < size; i++)
    {
      state = state * 1103515245u + 12345u;
      data[i] = state >> 24;
    }
  return g_bytes_new_take (data, size);
}

/* ---- nginx ----------------------------------------------------------------- */

gboolean
post_test_nginx_available (void)
{
  g_autofree char *path = g_find_program_in_path ("nginx");

  if (path != NULL)
    return TRUE;
  if (!g_file_test ("/usr/sbin/nginx", G_FILE_TEST_IS_EXECUTABLE))
    return FALSE;
  g_setenv ("PATH", "/usr/sbin:/usr/bin:/bin", TRUE);
  return TRUE;
}

void
post_test_nginx_init (PostTestNginx *nginx,
                      const char    *prefix)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *pattern = g_strdup_printf ("%s-XXXXXX", prefix);
  g_autofree char *tmp = NULL;

  memset (nginx, 0, sizeof *nginx);
  nginx->dir = g_dir_make_tmp (pattern, &error);
  g_assert_no_error (error);
  nginx->www = g_build_filename (nginx->dir, "www", NULL);
  g_assert_cmpint (g_mkdir (nginx->www, 0700), ==, 0);
  tmp = g_build_filename (nginx->dir, "tmp", NULL);
  g_assert_cmpint (g_mkdir (tmp, 0700), ==, 0);
}

void
post_test_nginx_add_file (PostTestNginx *nginx,
                          const char    *name,
                          GBytes        *content)
{
  g_autofree char *path = g_build_filename (nginx->www, name, NULL);
  gsize size;
  const char *data = g_bytes_get_data (content, &size);

  g_assert_true (g_file_set_contents (path, data != NULL ? data : "", (gssize) size, NULL));
}

void
post_test_nginx_start (PostTestNginx *nginx,
                       const char    *certs)
{
  g_autofree char *conf_path = g_build_filename (nginx->dir, "nginx.conf", NULL);
  g_autofree char *log = g_build_filename (nginx->dir, "error.log", NULL);
  g_autofree char *tls = NULL;
  g_autofree char *conf = NULL;
  const char *d = nginx->dir;

  g_assert_null (nginx->process);
  nginx->port = post_test_free_port (G_SOCKET_TYPE_STREAM);
  if (certs != NULL)
    {
      const char *name = nginx->identity != NULL ? nginx->identity : "server";

      tls = g_strdup_printf ("    ssl_certificate %s/%s.pem;\n    ssl_certificate_key %s/%s.key;\n"
                             "    ssl_protocols TLSv1.2 TLSv1.3;\n", certs, name, certs, name);
    }
  conf = g_strdup_printf (
    "daemon off;\nmaster_process off;\nworker_processes 1;\n"
    "error_log %s/error.log;\npid %s/nginx.pid;\n"
    "events { worker_connections 64; }\n"
    "http {\n"
    "  access_log off;\n"
    "  client_body_temp_path %s/tmp; proxy_temp_path %s/tmp; fastcgi_temp_path %s/tmp;\n"
    "  uwsgi_temp_path %s/tmp; scgi_temp_path %s/tmp;\n"
    "  default_type application/octet-stream;\n"
    "  gzip off;\n"
    "  server {\n"
    "    listen 127.0.0.1:%u%s;\n"
    "%s"
    "    root %s;\n"
    /* sub_filter drops the Content-Length: these responses are chunked */
    "    location /chunked/ { alias %s/; sub_filter_types *; sub_filter '@@libpost-never@@' 'x';"
    " sub_filter_once off; }\n"
    "  }\n"
    "}\n", d, d, d, d, d, d, d, nginx->port, certs != NULL ? " ssl" : "", tls != NULL ? tls : "",
    nginx->www, nginx->www);
  g_assert_true (g_file_set_contents (conf_path, conf, -1, NULL));
  nginx->process = post_test_spawn ((const char *[]) { "nginx", "-p", d, "-c", conf_path, "-e", log, NULL },
                                    G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  post_test_wait_listening (nginx->process, G_SOCKET_TYPE_STREAM, nginx->port, log, 10);
}

void
post_test_nginx_clear (PostTestNginx *nginx)
{
  if (nginx->process != NULL)
    {
      g_subprocess_send_signal (nginx->process, SIGTERM);
      g_assert_true (g_subprocess_wait (nginx->process, NULL, NULL));
      g_clear_object (&nginx->process);
    }
  post_test_certs_remove (nginx->dir);
  g_clear_pointer (&nginx->dir, g_free);
  g_clear_pointer (&nginx->www, g_free);
}

/* ---- HTTP messages ----------------------------------------------------------- */

PostConfiguration *
post_test_http_config (const char *stack,
                       const char *certs)
{
  g_autoptr(PostConfiguration) config = post_configuration_new ();
  g_autoptr(GError) error = NULL;

  g_assert_true (post_configuration_set_framer_type (config, POST_TYPE_HTTP_FRAMER, &error));
  g_assert_true (post_configuration_set_stacks (config, (const char *[]) { stack, NULL }, &error));
  if (g_strcmp0 (stack, "tls") == 0)
    g_assert_true (post_configuration_set_alpn (config, (const char *[]) { "http/1.1", NULL }, &error));
  if (certs != NULL)
    post_test_trust_test_ca (config, certs);
  g_assert_no_error (error);
  return g_steal_pointer (&config);
}

char *
post_test_http_header (PostMessage *message,
                       const char  *name)
{
  g_autoptr(GVariant) headers = post_message_lookup_metadata_value (message, "http-headers",
                                                                    G_VARIANT_TYPE ("a(ss)"));
  GVariantIter iter;
  const char *n, *v;

  g_assert_nonnull (headers);
  g_variant_iter_init (&iter, headers);
  while (g_variant_iter_next (&iter, "(&s&s)", &n, &v))
    if (g_ascii_strcasecmp (n, name) == 0)
      return g_strdup (v);
  return NULL;
}

/* ---- an echo server -------------------------------------------------------- */

static gboolean
echo_message_cb (PostCarrier *carrier,
                 PostMessage *message,
                 gpointer     user_data)
{
  PostTestEcho *echo = user_data;
  g_autoptr(PostMessage) reply = post_message_new (post_message_get_content (message));

  echo->n_messages++;
  post_carrier_send (carrier, reply, NULL);
  return TRUE;
}

static gboolean echo_incoming_cb (PostCarrier *listener, PostCarrier *carrier, gpointer user_data);

/* A stream the peer forks arrives as an incoming carrier of the accepted one. */
static gboolean
echo_fork_cb (PostCarrier *parent,
              PostCarrier *carrier,
              gpointer     user_data)
{
  PostTestEcho *echo = user_data;

  if (echo->refuse_forks)
    {
      echo->n_forks_refused++;
      return FALSE;
    }
  return echo_incoming_cb (parent, carrier, user_data);
}

static gboolean
echo_incoming_cb (PostCarrier *listener,
                  PostCarrier *carrier,
                  gpointer     user_data)
{
  PostTestEcho *echo = user_data;

  echo->n_accepted++;
  g_ptr_array_add (echo->children, g_object_ref (carrier));
  post_carrier_ready (carrier, echo_message_cb, echo, NULL);
  g_signal_connect (carrier, "incoming", G_CALLBACK (echo_fork_cb), echo);
  return TRUE;
}

PostCarrier *
post_test_echo_listen (PostTestEcho      *echo,
                       PostLocal         *local,
                       PostConfiguration *config,
                       const char        *stack)
{
  g_autoptr(GError) error = NULL;
  PostCarrier *listener = post_carrier_listen (local, config, &error);

  g_assert_no_error (error);
  g_assert_nonnull (listener);
  g_assert_cmpstr (post_carrier_get_stack_name (listener), ==, stack);
  echo->children = g_ptr_array_new_with_free_func (g_object_unref);
  g_signal_connect (listener, "incoming", G_CALLBACK (echo_incoming_cb), echo);
  return listener;
}

void
post_test_echo_clear (PostTestEcho *echo)
{
  for (guint i = 0; echo->children && i < echo->children->len; i++)
    post_carrier_abort (echo->children->pdata[i]);
  g_clear_pointer (&echo->children, g_ptr_array_unref);
}

/* ---- a client ------------------------------------------------------------------ */

void
post_test_client_init (PostTestClient *c)
{
  memset (c, 0, sizeof *c);
  c->received = g_string_new (NULL);
}

void
post_test_client_clear (PostTestClient *c)
{
  if (c->received != NULL)
    g_string_free (c->received, TRUE);
  c->received = NULL;
  g_clear_error (&c->error);
  g_clear_error (&c->close_error);
}

void
post_test_established_cb (GObject      *source,
                          GAsyncResult *result,
                          gpointer      user_data)
{
  PostTestClient *c = user_data;

  post_carrier_establish_finish (POST_CARRIER (source), result, &c->error);
  c->done = 1;
}

gboolean
post_test_client_message_cb (PostCarrier *carrier,
                             PostMessage *message,
                             gpointer     user_data)
{
  PostTestClient *c = user_data;
  gsize size;
  const char *data = g_bytes_get_data (post_message_get_content (message), &size);

  g_string_append_len (c->received, data, size);
  c->n_received++;
  return TRUE;
}

void
post_test_client_closed_cb (PostCarrier  *carrier,
                            const GError *error,
                            gpointer      user_data)
{
  PostTestClient *c = user_data;

  if (error != NULL && c->close_error == NULL)
    c->close_error = g_error_copy (error);
  c->n_closed++;
}

void
post_test_send_and_wait (PostCarrier    *carrier,
                         PostTestClient *c,
                         const char     *text,
                         guint           timeout_s)
{
  g_autoptr(PostMessage) message = post_message_new_from_string (text);
  g_autofree char *what = g_strdup_printf ("the echo of a %zu-byte message", strlen (text));

  g_assert_true (post_carrier_send (carrier, message, NULL));
  post_test_wait_count (&c->n_received, c->n_received + 1, what, timeout_s);
}

void
post_test_forked_cb (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  PostTestFork *r = user_data;

  r->carrier = post_carrier_fork_finish (POST_CARRIER (source), result, &r->error);
  r->done = 1;
}
