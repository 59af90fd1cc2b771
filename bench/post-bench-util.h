/* post-bench-util.h: helpers shared by every case of post-bench
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <post.h>

G_BEGIN_DECLS

/* Every blocking call and wait of the bench gives up after this long. */
#define POST_BENCH_IO_TIMEOUT_S 10

/* ---- statistics ---- */

int                post_bench_compare_doubles      (gconstpointer  a,
                                                    gconstpointer  b);
double             post_bench_percentile           (const double  *sorted,
                                                    guint          n,
                                                    double         p);
/* Sorts @values. */
double             post_bench_median               (double        *values,
                                                    guint          n);

/* ---- the measuring thread's main context ---- */

gboolean           post_bench_tick                 (gpointer       user_data);
gboolean           post_bench_quit_loop            (gpointer       loop);
/* A new main context with a 100 ms ticker for the waits' deadlines. */
GMainContext      *post_bench_context_new          (void);
/* Dispatches what is pending on @context. */
void               post_bench_context_drain        (GMainContext  *context);

typedef struct {
  GAsyncResult *result;   /* (owned) (nullable) */
} PostBenchWaiter;

void               post_bench_waiter_cb            (GObject       *source,
                                                    GAsyncResult  *result,
                                                    gpointer       user_data);
/* Iterates @context until the operation completes; at the deadline it
 * cancels @cancellable. */
GAsyncResult      *post_bench_waiter_wait          (PostBenchWaiter *w,
                                                    GMainContext  *context,
                                                    GCancellable  *cancellable);
typedef void     (*PostBenchCarrierAsync)          (PostCarrier   *carrier,
                                                    GCancellable  *cancellable,
                                                    GAsyncReadyCallback callback,
                                                    gpointer       user_data);
typedef gboolean (*PostBenchCarrierFinish)         (PostCarrier   *carrier,
                                                    GAsyncResult  *result,
                                                    GError       **error);
/* Runs one asynchronous carrier operation (establish, flush, close: its
 * _async and _finish) to its end on @context, within
 * post_bench_waiter_wait()'s deadline. */
gboolean           post_bench_carrier_run          (PostCarrier   *carrier,
                                                    PostBenchCarrierAsync start,
                                                    PostBenchCarrierFinish finish,
                                                    GMainContext  *context,
                                                    GCancellable  *cancellable,
                                                    GError       **error);
/* Sends @payload on @carrier in batches of @batch messages until the
 * monotonic time @end, flushing (on @context) whenever the bounded queue is
 * full; *@sent counts what went.  FALSE with @error when a send or a flush
 * fails. */
gboolean           post_bench_send_until           (PostCarrier   *carrier,
                                                    GBytes        *payload,
                                                    guint          batch,
                                                    gint64         end,
                                                    GMainContext  *context,
                                                    GCancellable  *cancellable,
                                                    guint64       *sent,
                                                    GError       **error);
/* Iterates @context until the atomic *@counter reaches @target or
 * @timeout_us passes. */
void               post_bench_wait_for_count       (GMainContext  *context,
                                                    gint          *counter,
                                                    guint64        target,
                                                    gint64         timeout_us);

/* ---- a libpost listener in its own thread ---- */

/* Accepts carriers and counts (or echoes) what arrives on them, on its own
 * main context.  The caller fills the first fields (zero the rest). */
typedef struct {
  const char   *stack;            /* "tcp", "tls" or "quic" */
  gsize         size;             /* every message must have this size */
  gboolean      echo;             /* send every message back */
  gboolean      accept_only;      /* count connections, read nothing */
  char         *cert;             /* (owned) (nullable) the listener's identity */
  char         *key;              /* (owned) (nullable) */
  GMainContext *client_context;   /* (nullable) woken when a carrier closes */
  /* (nullable) hooks, run on the listener's thread: @configure adjusts its
   * configuration; @incoming takes an accepted carrier instead of the
   * counting; @stop releases what @incoming made, before the carriers go */
  void        (*configure)       (PostConfiguration *configuration);
  void        (*incoming)        (PostCarrier       *carrier,
                                  gpointer           user_data);
  void        (*stop)            (gpointer           user_data);
  gpointer      user_data;
  /* the listener's */
  GMainContext *context;          /* (owned) the receiver thread's */
  GMainLoop    *loop;             /* (owned) */
  GMutex        lock;
  GCond         cond;
  gboolean      started;
  guint16       port;
  char         *error;            /* (owned) (nullable) */
  GPtrArray    *carriers;         /* (owned) accepted carriers */
  gint          messages;         /* atomic */
  gint          accepted;         /* atomic */
  gint          bad;              /* atomic: a message of the wrong size, or an echo failed */
  gint64        t_last;           /* written before messages is incremented */
} PostBenchServer;

/* Returns once the listener listens (or s->error says why not). */
GThread           *post_bench_server_start         (PostBenchServer *s);
/* Ends the thread and frees what the server holds. */
void               post_bench_server_stop          (PostBenchServer *s,
                                                    GThread       *thread);
PostRemote        *post_bench_server_remote        (PostBenchServer *s);

/* ---- libpost's default framing, for the baselines ---- */

/* A 4-byte big-endian header: top bit "final chunk", low 31 bits the length. */
#define POST_BENCH_FINAL_BIT 0x80000000u

/* One whole message of @size 'x' bytes, header included (g_free it). */
guint8            *post_bench_make_frame           (gsize          size);

/* An incremental parser of the frames, as a receiver needs. */
typedef struct {
  guint8   header[4];
  guint    header_have;
  gsize    remaining;    /* payload bytes left in the current chunk */
  gsize    length;       /* payload bytes of the current message so far */
  gboolean final;
  gboolean in_payload;
  gsize    expected;     /* every message must have this size */
  guint64  messages;
  gboolean bad;
} PostBenchParser;

void               post_bench_parser_feed          (PostBenchParser *p,
                                                    const guint8  *data,
                                                    gsize          size);

G_END_DECLS
