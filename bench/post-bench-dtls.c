/* post-bench-dtls.c: the dtls case of post-bench, (e)
 *
 * 64-byte datagrams one way over 127.0.0.1 for a fixed time: a libpost
 * `dtls` carrier (DTLS 1.2 over udp, GnuTLS; its records go out through
 * the inner udp instance in batches, sendmmsg or GSO, and come in with
 * recvmmsg) against a libpost `udp` carrier in the same run, both
 * post_carrier_send_bytes() flushing when the bounded queue is full, to a
 * listener whose accepted carrier counts them on its own main context
 * (post-bench-util.c's listener thread).  Datagrams that are lost are not
 * waited for: the figure is what arrived per second, from the first send
 * to the last arrival.  Rounds alternate (the order rotates) and the
 * dtls/udp ratio is taken within each round (median and range).  What it
 * measures is the per-datagram cost of DTLS: one record sealed and opened
 * per datagram, against none.  The certificates are made with certtool as
 * in the tls case.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <post.h>
#include "post-bench-dtls.h"
#include "post-bench-secure.h"

#define DTLS_SIZE 64

static const char * const stacks[2] = { "dtls", "udp" };

static double
run_datagrams (guint which, double seconds, gpointer user_data, char **note)
{
  return post_bench_datagrams_libpost (stacks[which], DTLS_SIZE, seconds, user_data, note);
}

double
post_bench_dtls_run (double seconds)
{
  static const char * const labels[2] = { "libpost dtls carrier", "libpost udp  carrier" };
  g_autoptr(GMainContext) context = NULL;
  g_autoptr(GPtrArray) notes = g_ptr_array_new_with_free_func (g_free);
  PostBenchSeries series;
  double per_round = seconds / POST_BENCH_ROUNDS;
  double ratio;
  PostRegistry *registry = post_registry_get_default ();

  g_print ("\n(e) dtls over 127.0.0.1: %d-byte datagrams one way against the libpost udp carrier\n", DTLS_SIZE);
  if (post_registry_lookup_stack (registry, "dtls") == NULL)
    {
      g_print ("    skipped: the dtls stack is not loaded\n");
      return 0;
    }
  if (!post_bench_certs_prepare ("post-bench-dtls"))
    return 0;

  context = post_bench_context_new ();
  g_main_context_push_thread_default (context);
  post_bench_series_run (&series, "datagrams", stacks, per_round, run_datagrams, context, notes);
  post_bench_context_drain (context);
  g_main_context_pop_thread_default (context);

  g_print ("    datagrams received per second (median of %d alternating rounds of %.2f s)\n",
           POST_BENCH_ROUNDS, per_round);
  ratio = post_bench_series_print (&series, labels, "dtls/udp ratio", 0, "datagrams/s");
  post_bench_series_json (&series, "e-dtls", "dtls, 64 B datagrams one way, received", "datagrams/s",
                          "libpost udp carrier", seconds, DTLS_SIZE, 0);
  post_bench_print_notes (notes);
  post_bench_certs_remove ();
  return ratio;
}
