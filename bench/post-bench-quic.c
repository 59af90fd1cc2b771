/* post-bench-quic.c: the quic case of post-bench, (q)
 *
 * Three measurements over 127.0.0.1, in one run:
 *
 * (i) Bulk: 64 KiB messages one way for a fixed time, MB/s (10^6 bytes of
 *     payload) from the first send to the receipt of the last message,
 *     with the receiver in a second thread:
 *       quic:  a libpost `quic` carrier (one bidirectional stream of a QUIC
 *              connection, ngtcp2 + GnuTLS) to a libpost `quic` listener;
 *       tls:   a libpost `tls` carrier (TLS 1.3 over TCP) to a libpost `tls`
 *              listener, written the same way.
 *     Both use post_carrier_send_bytes, flushing when the bounded queue is
 *     full, on the measuring thread's main context; the accepted carrier
 *     counts messages on its own main context.  Rounds alternate between
 *     the two (the order rotates); the figure is the median over the
 *     rounds, and the quic/tls ratio is taken within each round.
 *
 * (ii) Message rate: the same, with 64-byte messages (msg/s from the first
 *     send to the receipt of the last message), rounds alternating between
 *     quic and tls in the same way, the quic/tls ratio taken within each
 *     round.  It measures the per-message cost (framing, one stream write
 *     per batch, ngtcp2 packetization, one sendto() per packet) rather
 *     than the bytes.
 *
 * (iii) Time to first response over quic: from post_carrier_initiate() to
 *     the arrival of the reply, for a client that sends one 64-byte request
 *     which a libpost quic echo listener (in another thread) sends back:
 *       full:     no session cache (`tls.session-cache` "none");
 *       resumed:  the association's newest session ticket; the request is
 *                 not idempotent, so it waits for the handshake's end;
 *       0-RTT:    the same, the request marked idempotent: it goes in 0-RTT
 *                 packets with the Initial.
 *     The kinds are interleaved connection by connection, and each
 *     connection's security flags are checked: connections that were not
 *     what their kind says (not resumed, early data not accepted) are
 *     counted and printed next to the figure.
 *
 * The certificates are made with certtool in a temporary directory, as in
 * post-bench-tls.c.  Every wait has a deadline (POST_BENCH_IO_TIMEOUT_S).
 * The bulk run, the alternation of rounds and the first-response timing
 * are post-bench-secure.c's, shared with the tls case (the listener thread
 * and the sending loop are post-bench-util.c's); this file only says what
 * the quic case measures and prints.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <post.h>
#include "post-bench-quic.h"
#include "post-bench-secure.h"

#define Q_SMALL_SIZE   64

/* ---- (i), (ii): a libpost carrier, quic or tls ------------------------------------------ */

static const char * const stacks[2] = { "quic", "tls" };

typedef struct {
  GMainContext *context;
  gsize         size;
} Bulk;

static double
run_bulk (guint which, double seconds, gpointer user_data, char **note)
{
  Bulk *b = user_data;

  return post_bench_bulk_libpost (stacks[which], b->size, seconds, b->context, note);
}

/* ---- the case ------------------------------------------------------------------------ */

double
post_bench_quic_run (double seconds)
{
  static const char * const labels[2] = { "libpost quic carrier", "libpost tls  carrier" };
  g_autoptr(GMainContext) context = NULL;
  PostBenchSeries bulk, messages;
  PostBenchFirstResponse first;
  double per_round = seconds / POST_BENCH_ROUNDS;
  g_autoptr(GPtrArray) notes = g_ptr_array_new_with_free_func (g_free);
  guint n_connections = (guint) CLAMP (seconds * 50, 20, 500);
  double ratio;
  PostRegistry *registry = post_registry_get_default ();

  g_print ("\n(q) quic over 127.0.0.1: bulk and 64-byte message rate against the libpost tls carrier, and time to first response\n");
  if (post_registry_lookup_stack (registry, "quic") == NULL)
    {
      g_print ("    skipped: the quic plugin is not loaded\n");
      return 0;
    }
  if (!post_bench_certs_prepare ("post-bench-quic"))
    return 0;

  context = post_bench_context_new ();
  g_main_context_push_thread_default (context);
  post_bench_series_run (&bulk, "bulk", stacks, per_round, run_bulk,
                         &(Bulk) { context, POST_BENCH_BULK_SIZE }, notes);
  post_bench_series_run (&messages, "message rate", stacks, per_round, run_bulk,
                         &(Bulk) { context, Q_SMALL_SIZE }, notes);
  post_bench_first_response_run (&first, "quic", n_connections, context, notes);
  post_bench_context_drain (context);
  g_main_context_pop_thread_default (context);

  /* The table */
  g_print ("    (i) bulk, %d KiB messages one way, MB/s (median of %d alternating rounds of %.2f s)\n",
           POST_BENCH_BULK_SIZE / 1024, POST_BENCH_ROUNDS, per_round);
  ratio = post_bench_series_print (&bulk, labels, "quic/tls ratio", 1, "MB/s");
  post_bench_series_json (&bulk, "q-bulk", "quic bulk, 64 KiB messages one way", "MB/s",
                          "libpost tls carrier", seconds, POST_BENCH_BULK_SIZE, 1.0);
  g_print ("    (ii) %d-byte messages one way, msg/s (median of %d alternating rounds of %.2f s)\n",
           Q_SMALL_SIZE, POST_BENCH_ROUNDS, per_round);
  post_bench_series_print (&messages, labels, "quic/tls ratio", 0, "msg/s");
  post_bench_series_json (&messages, "q-messages", "quic, 64 B messages one way", "msg/s",
                          "libpost tls carrier", seconds, Q_SMALL_SIZE, 0);
  post_bench_first_response_print (&first, "(iii) quic time to first response", "q-first-response");
  post_bench_print_notes (notes);
  post_bench_certs_remove ();
  return ratio;
}
