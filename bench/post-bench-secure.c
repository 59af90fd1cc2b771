/* post-bench-secure.c: helpers shared by the tls (t) and quic (q) cases of
 * post-bench: certificates made with certtool, and the measurements both
 * cases make with their own stack against post-bench-util.c's listener
 * (given the bench's certificate): bulk and message rate on a libpost
 * carrier, two implementations in alternating rounds, and the time to
 * first response (full, resumed, 0-RTT).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "post-bench-secure.h"
#include "post-bench-json.h"

#include <stdlib.h>
#include <string.h>
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


gboolean
post_bench_certs_prepare (const char *prefix)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *certtool = g_find_program_in_path ("certtool");

  if (certtool == NULL)
    {
      g_print ("    skipped: certtool (Debian package gnutls-bin) is not installed\n");
      return FALSE;
    }
  if (!post_bench_certs_make (prefix, &error))
    {
      g_print ("    skipped: certtool could not make the certificates: %s\n", error->message);
      post_bench_certs_remove ();
      return FALSE;
    }
  return TRUE;
}

void
post_bench_print_notes (GPtrArray *notes)
{
  for (guint i = 0; i < notes->len; i++)
    g_print ("    note: %s\n", (const char *) notes->pdata[i]);
}

/* ---- a libpost listener (quic or tls) with the bench's certificate -------------------------- */

static GThread *
server_start (PostBenchServer *s, const char *stack, gboolean echo, gsize size)
{
  memset (s, 0, sizeof *s);
  s->stack = stack;
  s->echo = echo;
  s->size = size;
  /* udp (the dtls case's baseline) has no identity */
  s->cert = g_str_equal (stack, "udp") ? NULL : post_bench_cert_path ("server.pem");
  s->key = g_str_equal (stack, "udp") ? NULL : post_bench_cert_path ("server.key");
  return post_bench_server_start (s);
}

/* ---- bulk and message rate on a libpost carrier (quic or tls) ----------------------------- */

#define POST_BENCH_BATCH 16

/* The sender's rate: every message must arrive (a stream), or, @lossy (a
 * datagram stack), what arrived until nothing more came for 200 ms. */
static double
carrier_rate (const char *stack, gsize size, double seconds, GMainContext *context, gboolean lossy, char **note)
{
  PostBenchServer s;
  GThread *thread = server_start (&s, stack, FALSE, size);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(PostConfiguration) config = post_bench_client_configuration (stack, "none");
  g_autoptr(PostRemote) remote = NULL;
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(GBytes) payload = NULL;
  guint64 sent = 0;
  gint64 t0, end;
  double rate = -1;

  if (s.error != NULL)
    {
      *note = g_strdup_printf ("listen: %s", s.error);
      post_bench_server_stop (&s, thread);
      return -1;
    }
  remote = post_bench_server_remote (&s);
  carrier = post_carrier_initiate (NULL, remote, config);
  if (!post_bench_carrier_run (carrier, post_carrier_establish_async, post_carrier_establish_finish,
                               context, cancellable, &error))
    {
      *note = g_strdup_printf ("establish: %s", error->message);
      goto out;
    }

  {
    guint8 *data = g_malloc (size);

    memset (data, 'x', size);
    payload = g_bytes_new_take (data, size);
  }
  t0 = g_get_monotonic_time ();
  end = t0 + (gint64) (seconds * G_USEC_PER_SEC);
  if (!post_bench_send_until (carrier, payload, POST_BENCH_BATCH, end, context, cancellable, &sent, &error))
    *note = g_strdup_printf ("send: %s", error->message);
  /* Let the queue drain and the receiver count everything. */
  if (lossy)
    {
      gint64 deadline = g_get_monotonic_time () + POST_BENCH_IO_TIMEOUT_S * G_USEC_PER_SEC;
      gint last = -1;

      while (g_atomic_int_get (&s.messages) != last && g_get_monotonic_time () < deadline)
        {
          last = g_atomic_int_get (&s.messages);
          post_bench_wait_for_count (context, &s.messages, sent, 200 * 1000);
        }
    }
  else
    post_bench_wait_for_count (context, &s.messages, sent, POST_BENCH_IO_TIMEOUT_S * G_USEC_PER_SEC);
  if (*note == NULL && !lossy && (guint64) g_atomic_int_get (&s.messages) != sent)
    *note = g_strdup_printf ("sent %" G_GUINT64_FORMAT " but received %d", sent, g_atomic_int_get (&s.messages));
  else if (*note == NULL && g_atomic_int_get (&s.bad))
    *note = g_strdup ("the receiver saw messages of the wrong size");
  else if (*note == NULL && s.t_last > t0 && size == POST_BENCH_BULK_SIZE)
    rate = (double) sent * POST_BENCH_BULK_SIZE / 1e6 / ((s.t_last - t0) / 1e6);
  else if (*note == NULL && s.t_last > t0 && lossy)
    rate = (double) g_atomic_int_get (&s.messages) / ((s.t_last - t0) / 1e6);
  else if (*note == NULL && s.t_last > t0)
    rate = (double) sent / ((s.t_last - t0) / 1e6);

out:
  if (carrier != NULL)
    post_carrier_abort (carrier);
  post_bench_server_stop (&s, thread);
  post_bench_context_drain (context);
  return rate;
}

double
post_bench_bulk_libpost (const char *stack, gsize size, double seconds, GMainContext *context, char **note)
{
  return carrier_rate (stack, size, seconds, context, FALSE, note);
}

double
post_bench_datagrams_libpost (const char *stack, gsize size, double seconds, GMainContext *context, char **note)
{
  return carrier_rate (stack, size, seconds, context, TRUE, note);
}

/* ---- two implementations in alternating rounds ------------------------------------------- */

void
post_bench_series_run (PostBenchSeries *series, const char *what, const char * const names[2],
                       double per_round, PostBenchRunFunc run, gpointer user_data, GPtrArray *notes)
{
  memset (series, 0, sizeof *series);
  for (guint round = 0; round < POST_BENCH_ROUNDS; round++)
    {
      double r[2] = { -1, -1 };

      /* The order rotates from round to round. */
      for (guint j = 0; j < 2; j++)
        {
          guint which = (round + j) % 2;
          char *note = NULL;

          r[which] = run (which, per_round, user_data, &note);
          if (note != NULL)
            g_ptr_array_add (notes, g_strdup_printf ("%s round %u, %s: %s", what, round + 1, names[which], note));
          g_free (note);
        }
      for (guint k = 0; k < 2; k++)
        if (r[k] > 0)
          series->values[k][series->n_values[k]++] = r[k];
      if (r[0] > 0 && r[1] > 0)
        series->ratios[series->n_ratios++] = r[0] / r[1];
    }
}

double
post_bench_series_print (PostBenchSeries *series, const char * const labels[2], const char *ratio_label,
                         int precision, const char *unit)
{
  double ratio = 0;

  for (guint k = 0; k < 2; k++)
    if (series->n_values[k] > 0)
      g_print ("        %-29s : %10.*f %s\n", labels[k], precision,
               post_bench_median (series->values[k], series->n_values[k]), unit);
    else
      g_print ("        %-29s :     failed\n", labels[k]);
  if (series->n_ratios > 0)
    {
      /* post_bench_median() sorts: the range is the first and the last. */
      ratio = post_bench_median (series->ratios, series->n_ratios);
      g_print ("        %-29s : %10.2f×  (rounds %.2f–%.2f, %u of %d)\n", ratio_label,
               ratio, series->ratios[0], series->ratios[series->n_ratios - 1], series->n_ratios,
               POST_BENCH_ROUNDS);
    }
  return ratio;
}

void
post_bench_series_json (PostBenchSeries *series, const char *id, const char *name, const char *unit,
                        const char *baseline_name, double seconds, gsize size, double target)
{
  ToolJson *json = post_bench_json_begin (id, name, unit);
  guint n0 = series->n_values[0], n1 = series->n_values[1], nr = series->n_ratios;
  double ratio = nr > 0 ? post_bench_median (series->ratios, nr) : 0;

  tool_json_double (json, "seconds", seconds, "%g");
  tool_json_int (json, "rounds", POST_BENCH_ROUNDS);
  tool_json_int (json, "message_size", size);
  post_bench_json_figures (json);
  post_bench_json_value (json, "libpost", n0 > 0, n0 > 0 ? post_bench_median (series->values[0], n0) : 0);
  post_bench_json_begin_baselines (json);
  post_bench_json_baseline (json, baseline_name, n1 > 0, n1 > 0 ? post_bench_median (series->values[1], n1) : 0,
                            ratio, nr > 0 ? series->ratios[0] : 0, nr > 0 ? series->ratios[nr - 1] : 0, nr);
  post_bench_json_end_baselines (json);
  if (target > 0)
    {
      g_autofree char *text = g_strdup_printf ("≥ %.2f× %s", target, baseline_name);

      post_bench_json_target (json, text, nr > 0, ratio >= target);
    }
  post_bench_json_end (json);
}

/* ---- time to first response ------------------------------------------------------ */

static const char *hs_names[POST_BENCH_N_HS] = {
  "full handshake",
  "resumed (ticket)",
  "0-RTT (early data)",
};

typedef struct {
  gint64  replied_at;
  GError *error;   /* (owned) (nullable) */
} Reply;

static gboolean
on_reply (PostCarrier *carrier, PostMessage *message, gpointer user_data)
{
  ((Reply *) user_data)->replied_at = g_get_monotonic_time ();
  return FALSE;
}

static void
on_reply_closed (PostCarrier *carrier, const GError *error, gpointer user_data)
{
  Reply *r = user_data;

  if (error != NULL && r->error == NULL)
    r->error = g_error_copy (error);
}

/* One connection: ms from initiate to the reply, or a negative value with
 * *note set; *flags gets the carrier's security flags. */
static double
first_response (PostRemote *remote, PostConfiguration *config, gboolean idempotent,
                GMainContext *context, PostSecurityFlags *flags, char **note)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(PostMessage) request = NULL;
  g_autoptr(GError) error = NULL;
  guint8 payload[POST_BENCH_REQUEST_SIZE];
  gint64 t0, deadline;
  Reply r = { 0 };
  double ms = -1;

  memset (payload, 'q', sizeof payload);
  t0 = g_get_monotonic_time ();
  deadline = t0 + POST_BENCH_IO_TIMEOUT_S * G_USEC_PER_SEC;
  carrier = post_carrier_initiate (NULL, remote, config);
  request = post_message_new_from_data (payload, sizeof payload);
  post_message_set_immediate (request, TRUE, NULL);
  if (idempotent)
    post_message_set_idempotent (request, TRUE, NULL);
  g_signal_connect (carrier, "closed", G_CALLBACK (on_reply_closed), &r);
  post_carrier_ready (carrier, on_reply, &r, NULL);
  if (!post_carrier_send (carrier, request, &error))
    {
      *note = g_strdup_printf ("send: %s", error->message);
      goto out;
    }
  while (r.replied_at == 0 && r.error == NULL && g_get_monotonic_time () < deadline)
    g_main_context_iteration (context, TRUE);
  if (r.replied_at == 0)
    {
      *note = r.error != NULL ? g_strdup (r.error->message)
                              : g_strdup_printf ("no reply within %d s", POST_BENCH_IO_TIMEOUT_S);
      goto out;
    }
  ms = (r.replied_at - t0) / 1000.0;
  *flags = post_carrier_get_security_flags (carrier);

  /* A graceful close, not timed: the next connection starts clean. */
  post_bench_carrier_run (carrier, post_carrier_close_async, post_carrier_close_finish,
                          context, cancellable, NULL);

out:
  g_signal_handlers_disconnect_by_func (carrier, on_reply_closed, &r);
  if (post_carrier_get_state (carrier) != POST_CARRIER_STATE_CLOSED)
    post_carrier_abort (carrier);
  g_clear_error (&r.error);
  return ms;
}

void
post_bench_first_response_run (PostBenchFirstResponse *fr, const char *stack, guint n_connections,
                               GMainContext *context, GPtrArray *notes)
{
  PostBenchServer s;
  GThread *thread = server_start (&s, stack, TRUE, POST_BENCH_REQUEST_SIZE);
  g_autoptr(PostConfiguration) full = post_bench_client_configuration (stack, "none");
  g_autoptr(PostConfiguration) resumable = post_bench_client_configuration (stack, "memory");
  g_autoptr(PostRemote) remote = NULL;
  PostSecurityFlags flags = 0;
  char *note = NULL;

  /* Frozen now, as the first carrier would: freezing makes the canonical
   * text once per configuration (≈ 1.5 M instructions with an anchor,
   * printed as GVariant text), which is no part of a carrier's set-up. */
  post_configuration_freeze (full);
  post_configuration_freeze (resumable);
  memset (fr, 0, sizeof *fr);
  fr->n_connections = n_connections;
  for (int k = 0; k < POST_BENCH_N_HS; k++)
    fr->times[k] = g_array_new (FALSE, FALSE, sizeof (double));
  if (s.error != NULL)
    note = g_strdup_printf ("listen: %s", s.error);
  else
    {
      remote = post_bench_server_remote (&s);
      /* A first connection for the association's first ticket. */
      first_response (remote, resumable, FALSE, context, &flags, &note);
    }
  /* The kinds interleaved connection by connection. */
  for (guint i = 0; i < n_connections && note == NULL; i++)
    for (guint j = 0; j < POST_BENCH_N_HS && note == NULL; j++)
      {
        PostBenchHsKind kind = (i + j) % POST_BENCH_N_HS;
        double ms;

        flags = 0;
        ms = first_response (remote, kind == POST_BENCH_HS_FULL ? full : resumable,
                             kind == POST_BENCH_HS_ZERO_RTT, context, &flags, &note);
        if (ms < 0)
          break;
        g_array_append_val (fr->times[kind], ms);
        if ((kind == POST_BENCH_HS_FULL && (flags & POST_SECURITY_RESUMED)) ||
            (kind == POST_BENCH_HS_RESUMED &&
             (!(flags & POST_SECURITY_RESUMED) || (flags & POST_SECURITY_EARLY_DATA_SENT))) ||
            (kind == POST_BENCH_HS_ZERO_RTT && !(flags & POST_SECURITY_EARLY_DATA_ACCEPTED)))
          fr->unexpected[kind]++;
      }
  if (note != NULL)
    g_ptr_array_add (notes, g_strdup_printf ("first response: %s", note));
  g_free (note);
  post_bench_server_stop (&s, thread);
}

void
post_bench_first_response_print (PostBenchFirstResponse *fr, const char *title, const char *id)
{
  static const char *keys[POST_BENCH_N_HS] = { "full", "resumed", "zero_rtt" };
  g_autofree char *name = g_strdup_printf ("%s (initiate → %d-byte echo back)", title, POST_BENCH_REQUEST_SIZE);
  ToolJson *json = post_bench_json_begin (id, name, "ms");

  tool_json_int (json, "connections", fr->n_connections);
  tool_json_int (json, "request_size", POST_BENCH_REQUEST_SIZE);
  post_bench_json_figures (json);
  tool_json_begin_object (json, "kinds");
  g_print ("    %s (initiate → %d-byte echo back), ms, over %u connections each\n",
           title, POST_BENCH_REQUEST_SIZE, fr->n_connections);
  g_print ("        %-29s : %10s %10s %10s\n", "", "median", "p10", "p90");
  for (int k = 0; k < POST_BENCH_N_HS; k++)
    {
      GArray *t = fr->times[k];
      const double *sorted;

      g_array_sort (t, post_bench_compare_doubles);
      sorted = (const double *) (gpointer) t->data;
      tool_json_begin_object (json, keys[k]);
      tool_json_int (json, "n", t->len);
      post_bench_json_value (json, "median", t->len > 0, post_bench_median ((double *) sorted, t->len));
      post_bench_json_value (json, "p10", t->len > 0, post_bench_percentile (sorted, t->len, 10));
      post_bench_json_value (json, "p90", t->len > 0, post_bench_percentile (sorted, t->len, 90));
      tool_json_int (json, "unexpected", fr->unexpected[k]);
      tool_json_end_object (json);
      if (t->len == 0)
        g_print ("        %-29s :     failed\n", hs_names[k]);
      else
        g_print ("        %-29s : %10.3f %10.3f %10.3f%s\n", hs_names[k],
                 t->len % 2 ? sorted[t->len / 2] : (sorted[t->len / 2 - 1] + sorted[t->len / 2]) / 2,
                 post_bench_percentile (sorted, t->len, 10), post_bench_percentile (sorted, t->len, 90),
                 t->len < fr->n_connections ? "  (incomplete)" : "");
      if (fr->unexpected[k] > 0)
        g_print ("        %-29s   %u of %u connections were not what the kind says\n", "",
                 fr->unexpected[k], t->len);
      g_clear_pointer (&fr->times[k], g_array_unref);
    }
  tool_json_end_object (json);
  post_bench_json_end (json);
}
