/* post-bench-secure.c: helpers shared by the tls (t) and quic (q) cases of
 * post-bench: certificates made with certtool, statistics, and waiting on
 * the measuring thread's main context.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "post-bench-secure.h"

#include <stdlib.h>
#include <glib/gstdio.h>

static char *cert_dir;   /* (owned) (nullable) */

char *
post_bench_cert_path (const char *name)
{
  return g_build_filename (cert_dir, name, NULL);
}

/* ---- certificates ------------------------------------------------------------ */

static gboolean
run_certtool (const char * const *argv, GError **error)
{
  int wait_status = 0;

  if (!g_spawn_sync (NULL, (char **) argv, NULL,
                     G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                     NULL, NULL, NULL, NULL, &wait_status, error))
    return FALSE;
  return g_spawn_check_wait_status (wait_status, error);
}

/* A key, and a certificate from @template signed by @ca (or self-signed). */
static gboolean
make_cert (const char *name, const char *ca, const char *template, GError **error)
{
  g_autofree char *key = g_strdup_printf ("%s/%s.key", cert_dir, name);
  g_autofree char *cert = g_strdup_printf ("%s/%s.pem", cert_dir, name);
  g_autofree char *tmpl = g_strdup_printf ("%s/%s.tmpl", cert_dir, name);
  g_autofree char *ca_key = ca ? g_strdup_printf ("%s/%s.key", cert_dir, ca) : NULL;
  g_autofree char *ca_cert = ca ? g_strdup_printf ("%s/%s.pem", cert_dir, ca) : NULL;

  if (!g_file_set_contents (tmpl, template, -1, error) ||
      !run_certtool ((const char *[]) { "certtool", "--generate-privkey", "--key-type=ecdsa",
                                        "--outfile", key, NULL }, error))
    return FALSE;
  if (ca == NULL)
    return run_certtool ((const char *[]) { "certtool", "--generate-self-signed", "--load-privkey", key,
                                            "--template", tmpl, "--outfile", cert, NULL }, error);
  return run_certtool ((const char *[]) { "certtool", "--generate-certificate", "--load-privkey", key,
                                          "--load-ca-privkey", ca_key, "--load-ca-certificate", ca_cert,
                                          "--template", tmpl, "--outfile", cert, NULL }, error);
}

void
post_bench_certs_remove (void)
{
  g_autoptr(GDir) dir = NULL;
  const char *name;

  if (cert_dir == NULL)
    return;
  dir = g_dir_open (cert_dir, 0, NULL);
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = post_bench_cert_path (name);

      g_unlink (path);
    }
  g_rmdir (cert_dir);
  g_clear_pointer (&cert_dir, g_free);
}

gboolean
post_bench_certs_make (const char *prefix,
                       GError    **error)
{
  g_autofree char *pattern = g_strdup_printf ("%s-XXXXXX", prefix);

  cert_dir = g_dir_make_tmp (pattern, error);
  if (cert_dir == NULL)
    return FALSE;
  atexit (post_bench_certs_remove);   /* in case the process ends early */
  return make_cert ("ca", NULL, "cn = \"post-bench CA\"\nca\ncert_signing_key\nexpiration_days = 1\n", error) &&
         make_cert ("server", "ca", "cn = \"localhost\"\ndns_name = \"localhost\"\n"
                    "ip_address = \"127.0.0.1\"\ntls_www_server\nsigning_key\nexpiration_days = 1\n", error);
}

/* ---- statistics --------------------------------------------------------------- */

int
post_bench_compare_doubles (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

/* The @p-th post_bench_percentile (0..100) of @n sorted values, nearest rank. */
double
post_bench_percentile (const double *sorted, guint n, double p)
{
  guint rank = (guint) (p / 100.0 * (n - 1) + 0.5);

  return n == 0 ? 0 : sorted[MIN (rank, n - 1)];
}

double
post_bench_median (double *values, guint n)
{
  qsort (values, n, sizeof (double), post_bench_compare_doubles);
  if (n == 0)
    return 0;
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

/* ---- the measuring thread's main context ----------------------------------------- */

gboolean
post_bench_tick (gpointer user_data)
{
  return G_SOURCE_CONTINUE;
}

void
post_bench_waiter_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  ((PostBenchWaiter *) user_data)->result = g_object_ref (result);
}

/* Iterates @context until the operation completes; at the deadline it
 * cancels @cancellable (a 100 ms ticker on @context notices it). */
GAsyncResult *
post_bench_waiter_wait (PostBenchWaiter *w, GMainContext *context, GCancellable *cancellable)
{
  gint64 deadline = g_get_monotonic_time () + POST_BENCH_IO_TIMEOUT_S * G_USEC_PER_SEC;

  while (w->result == NULL)
    {
      g_main_context_iteration (context, TRUE);
      if (w->result == NULL && g_get_monotonic_time () >= deadline)
        g_cancellable_cancel (cancellable);
    }
  return w->result;
}

/* Iterates @context until the atomic *@counter reaches @target or the
 * deadline passes; a 1 ms ticker notices the other thread's increments. */
void
post_bench_wait_for_count (GMainContext *context, gint *counter, guint64 target)
{
  gint64 deadline = g_get_monotonic_time () + POST_BENCH_IO_TIMEOUT_S * G_USEC_PER_SEC;
  GSource *ticker = g_timeout_source_new (1);

  g_source_set_callback (ticker, post_bench_tick, NULL, NULL);
  g_source_attach (ticker, context);
  while ((guint64) g_atomic_int_get (counter) < target && g_get_monotonic_time () < deadline)
    g_main_context_iteration (context, TRUE);
  g_source_destroy (ticker);
  g_source_unref (ticker);
}

gboolean
post_bench_quit_loop (gpointer loop)
{
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

PostConfiguration *
post_bench_client_configuration (const char *stack, const char *session_cache)
{
  PostConfiguration *config = post_configuration_new ();
  g_autofree char *ca = post_bench_cert_path ("ca.pem");

  post_configuration_set_stacks (config, (const char *[]) { stack, NULL }, NULL);
  post_configuration_set_use_system_trust (config, FALSE, NULL);
  post_configuration_add_trust_anchor_file (config, ca, NULL);
  post_configuration_set_option (config, "tls.session-cache", g_variant_new_string (session_cache), NULL);
  return config;
}

