/* post-quic-private.h: what the files of the quic plugin share: the
 * constants, the internal structs (QuicConn, QuicServer, QuicStream,
 * QuicDgram, and PostQuicPsi's instance struct, whose fields the connection
 * code reads) and the quic_ functions one file calls in another
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The design of the stack is described at the top of post-quic-psi.c.  The
 * module is built with gnu_symbol_visibility 'hidden', so none of these
 * symbols leaves it; G_GNUC_INTERNAL says so here as well.
 */
#pragma once

#include "post-quic-psi.h"
#include "post-gnutls-trust.h"
#include "post-gnutls-common.h"
#include "post-udp-batch.h"
#include "post-fd-watch.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

/* Socket buffers: room for a few GSO runs in flight on a fast path; the
 * kernel caps them at net.core.{r,w}mem_max. */
#define QUIC_SOCKET_BUFFER (4 * 1024 * 1024)

#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>

G_BEGIN_DECLS

#define SCID_LEN            18
#define RECV_BATCH          64
#define MAX_PACKET          1500
#define TX_WINDOW           (256 * 1024)     /* unacknowledged bytes per stream */
#define TX_CHUNK            (16 * 1024)
#define TX_CHUNK_MIN        1024   /* the first chunk of a write into an empty stream */
#define STREAM_WINDOW       (256 * 1024)     /* receive window per stream */
#define CONN_WINDOW         (1024 * 1024)    /* receive window per connection */
#define CLIENT_MAX_STREAMS  16               /* streams the server may open */
#define SERVER_MAX_STREAMS  100              /* default per-connection stream limit */
#define MAX_UNI_STREAMS     8                /* the peer's sources at once */
#define IDLE_TIMEOUT_MS     30000
#define LINGER_MS           2000
#define MAX_EARLY_DATA      (64 * 1024)      /* framed idempotent messages in 0-RTT */
#define ANTI_REPLAY_MAX     4096             /* ClientHello digests kept by a listener */
#define TOKEN_SECRET_LEN    32
#define TOKEN_LIFETIME      (24 * 3600 * NGTCP2_SECONDS)
#define TICKET_WAIT_MS      200              /* for a NEW_TOKEN to go with a ticket */
#define ACTIVE_CID_LIMIT    4                /* connection ids the peer may give us (migration) */
#define RETRY_THRESHOLD     16               /* `quic.retry` when-busy: handshakes before Retry */
#define RETRY_TOKEN_LIFETIME (10 * NGTCP2_SECONDS)
#define MAX_CONNECTIONS     1000             /* `quic.max-connections` default */
#define MAX_CONNECTIONS_PER_ADDRESS 100      /* `quic.max-connections-per-address` default */
#define APP_ERROR_ABORT     1                /* our stream reset: the carrier was aborted */
#define APP_ERROR_REFUSED   2                /* our stream reset: the fork request was refused;
                                                our CONNECTION_CLOSE: the listener refused the
                                                connection */
#define MAX_DATAGRAM_FRAME  65535            /* max_datagram_frame_size we accept */
#define DGRAM_OVERHEAD      48               /* short header, AEAD tag, frame header */
#define DGRAM_QUEUE_MAX     1024             /* datagrams queued per connection */
#define DGRAM_RX_MAX        1024             /* received, not yet handed to the core */
#define DGRAM_EARLY_MAX     64               /* received ahead of their stream's first bytes */

typedef struct _QuicServer QuicServer;
typedef struct _QuicConn QuicConn;
typedef struct _QuicStream QuicStream;
typedef struct _QuicTimer QuicTimer;
typedef void (*QuicTimerFunc) (gpointer data);

typedef enum {
  MODE_IDLE,
  MODE_CONNECTING,
  MODE_STREAM,
  MODE_LISTENER,
  MODE_CLOSED,
} Mode;

/* `quic.retry`: when a listener validates a client's address with a Retry
 * round trip before it keeps any state for the connection. */
typedef enum {
  RETRY_WHEN_BUSY,   /* once `quic.retry-threshold` handshakes are in progress */
  RETRY_NEVER,
  RETRY_ALWAYS,      /* every Initial without a valid token */
} RetryMode;

typedef struct {
  guint8 *data;
  guint64 start;   /* stream offset of data[0] */
  gsize   len;
  gsize   cap;
} TxChunk;

/* A datagram (RFC 9221) of a stream's carrier: queued, then in flight. */
typedef struct {
  guint64  dgram_id;   /* ours, given to ngtcp2 */
  guint64  tag;        /* the core's id */
  int64_t  stream_id;
  GBytes  *payload;    /* (nullable once written) the stream id (varint), then the content */
  gint64   deadline;   /* monotonic, or -1 */
  guint    priority;
} QuicDgram;

typedef struct {
  guint64           tag;
  PostDatagramEvent event;
} DgramEvent;

struct _QuicStream {
  int64_t      id;
  PostQuicPsi *psi;            /* (unowned) (nullable) cleared when it closes */
  GQueue       tx;             /* TxChunk*: written, not yet acknowledged */
  guint64      tx_end, tx_sent, tx_acked;
  gboolean     fin_requested, fin_sent;
  gboolean     blocked;        /* scratch: flow controlled in this write pass */
  GByteArray  *rx;
  gsize        rx_pos;
  gboolean     rx_fin;
  gboolean     closed;         /* ngtcp2 closed it */
  gboolean     send_only;      /* our unidirectional stream (a source) */
  gboolean     recv_only;      /* the peer's unidirectional stream (a sink) */
  guint        priority;       /* niceness of what the core writes (lower first) */
  GError      *error;          /* reset by the peer */
  guint64      tx_packets;     /* packets that carried its data (loss rate) */
  guint64      tx_packets_base, lost_base; /* at the last migration */
  gboolean     sent_notify;    /* tx_sent grew: post_psi_notify_sent() from the events idle */
  GArray      *tx_pushes;      /* (element-type guint64) (nullable) stream offsets
                                  that end a packet (post_psi_push(): immediate
                                  messages), ascending, all above tx_sent */
};

struct _QuicServer {
  gint                              ref_count;
  GMainContext                     *context;
  GSocket                          *socket;
  PostUdpBatch                       udp;      /* GSO/GRO on socket */
  GSource                          *source;
  GSocketAddress                   *local_address;
  struct sockaddr_storage           local;
  socklen_t                         local_len;
  /* While a datagram is dispatched: the address it arrived at (a wildcard
   * listener, udp.pktinfo), else the bound one; the source of stateless
   * answers and of a new connection's packets */
  struct sockaddr_storage           arrival;
  socklen_t                         arrival_len;
  PostStack                        *stack;
  PostConfiguration                *configuration;
  PostLocal                        *endpoint;
  gnutls_certificate_credentials_t  cred;     /* (nullable) without an identity (PSK only) */
  gnutls_psk_server_credentials_t   psk;      /* (nullable) the local has pre-shared keys */
  gboolean                          request_client_cert; /* the configuration names anchors */
  GHashTable                       *cids;     /* GBytes -> QuicConn* (unowned) */
  GHashTable                       *conns;    /* QuicConn* (owned) */
  GHashTable                       *per_address; /* GBytes (a source address, IPv6 by /64) -> its connections */
  PostQuicPsi                      *listener; /* (unowned) (nullable) */
  guint64                           max_streams;
  PostGnutlsServerTickets           tickets;  /* ticket key, anti-replay */
  gboolean                          early_data; /* `tls.server-early-data` */
  guint8                            token_secret[TOKEN_SECRET_LEN];
  RetryMode                         retry;    /* `quic.retry` */
  guint64                           retry_threshold; /* `quic.retry-threshold` */
  guint64                           max_connections; /* `quic.max-connections` */
  guint64                           max_per_address; /* `quic.max-connections-per-address` */
  gboolean                          new_tokens; /* `quic.new-token`: issue NEW_TOKEN tokens */
};

struct _QuicConn {
  gint                              ref_count;
  GMainContext                     *context;
  PostStack                        *stack;
  PostConfiguration                *configuration;
  QuicServer                       *server;   /* (owned) (nullable) server side */
  GSocket                          *socket;   /* client side */
  PostUdpBatch                       udp;      /* GSO/GRO on socket */
  PostFdWatch                      *socket_watch;   /* (owned) (nullable) a client's socket */
  GSocketAddress                   *local_address;
  GSocketAddress                   *remote_address;
  struct sockaddr_storage           local, remote;
  socklen_t                         local_len, remote_len;
  ngtcp2_conn                      *conn;
  ngtcp2_crypto_conn_ref            conn_ref;
  gnutls_session_t                  session;
  PostGnutlsCredentials            *cred;     /* client side (owned) shared, see post-gnutls-trust.c */
  gnutls_psk_client_credentials_t   psk;      /* client side (owned) (nullable): the association's PSK */
  QuicTimer                        *timer;   /* (owned) (nullable) ngtcp2's expiry */
  GSource                          *write_idle;
  GSource                          *event_idle;
  GSource                          *linger;
  GHashTable                       *streams;  /* int64_t* -> QuicStream* (owned) */
  GPtrArray                        *cids;     /* GBytes registered with the server */
  GBytes                           *address_key; /* (nullable) server side: counted in per_address */
  PostQuicPsi                      *connecting; /* (unowned) client: awaiting the handshake */
  GQueue                            incoming; /* PostQuicPsi* (owned): streams the peer opened */
  guint                             n_psis;   /* live stream instances */
  gboolean                          had_stream;
  gboolean                          announced;
  gboolean                          handshake_done;
  gboolean                          heard;    /* a packet from the peer was read */
  gboolean                          closed;
  gboolean                          peer_closed;  /* the peer closed the connection without an error */
  gboolean                          close_abort;  /* we close it with close_code */
  guint64                           close_code;   /* the aborted instance's abort-code */
  gboolean                          close_refused; /* ... with APP_ERROR_REFUSED: the listener
                                                      refused the connection (post_psi_refuse()) */
  gboolean                          announcing_accepted; /* announcing is the accepted instance */
  GError                           *error;
  GError                           *verify_error;
  GTlsCertificateFlags              peer_errors;   /* what verifying the peer found (GIO's terms) */
  char                             *server_name;
  gboolean                          sni;
  char                             *peer;     /* for messages */
  PostAssociation                  *association; /* (owned) (nullable) client: tickets go there */
  GPtrArray                        *new_tickets; /* GBytes: session data not exported yet */
  GBytes                           *token;    /* (nullable) newest NEW_TOKEN from the server */
  GSource                          *ticket_timer; /* exports tickets when no token comes */
  QuicStream                       *early_stream; /* client: the stream that carried 0-RTT data */
  gboolean                          rejecting; /* inside ngtcp2_conn_early_data_rejected() */
  gboolean                          want_early; /* client: has early data and a ticket for it */
  gboolean                          token_sent; /* server: NEW_TOKEN submitted */
  gboolean                          validated; /* server: the Initial carried a valid token */
  gboolean                          offered_psk; /* client: the association's PSK was offered */
  GQueue                            fork_waiters; /* ForkWaiter*: forks awaiting stream credit */
  GSource                          *fork_idle;
  PostQuicPsi                      *announcing; /* (unowned) being announced to the core */
  PostSecurityFlags                 flags;
  GSource                          *migrate_idle; /* client: migrating after a socket error */
  gboolean                          datagrams; /* we offer DATAGRAM frames (`quic.datagrams`) */
  GQueue                            dgram_tx;  /* QuicDgram*: queued, by priority */
  GHashTable                       *dgram_inflight; /* &dgram_id -> QuicDgram*: written */
  guint64                           next_dgram_id;
  guint64                           dgram_dropped; /* received for no carrier, or malformed */
  GQueue                            dgram_early; /* QuicDgram* (payload: the content): for a
                                                  * peer's stream not seen yet */
};

struct _PostQuicPsi
{
  PostPsi       parent_instance;

  GMainContext *context;
  Mode          mode;
  QuicConn     *qc;           /* (owned) CONNECTING, STREAM */
  QuicStream   *stream;       /* (unowned) owned by qc->streams */
  QuicServer   *server;       /* (owned) LISTENER */
  GIOCondition  interest;
  GSource      *ready_source;
  GTask        *connect_task;
  gulong        cancel_id;
  GCancellable *cancellable;
  gboolean      resumption_prepared;
  GBytes       *ticket;       /* (nullable) client: session data taken from the association */
  GBytes       *ticket_params; /* (nullable) its server transport parameters */
  GBytes       *ticket_token; /* (nullable) its NEW_TOKEN token */
  GBytes       *early_data;   /* (nullable) framed idempotent messages: ours to deliver */
  GArray       *dgram_events; /* DgramEvent: for the core, from the event idle */
  GPtrArray    *dgram_rx;     /* GBytes: the peer's datagrams for the core */
  guint64       abort_code;   /* PostQuicPsi:abort-code */
};

/* post-quic-conn.c: helpers */
G_GNUC_INTERNAL
ngtcp2_tstamp quic_timestamp (void);
G_GNUC_INTERNAL
void quic_rand_bytes (guint8 *dest, gsize len);
G_GNUC_INTERNAL
void quic_clear_source (GSource **source);
G_GNUC_INTERNAL
char *quic_format_address (GSocketAddress *address);
G_GNUC_INTERNAL
gboolean quic_to_native (GSocketAddress *address, struct sockaddr_storage *storage, socklen_t *len,
                         GError **error);
G_GNUC_INTERNAL
GError *quic_ngtcp2_error (int rv, const char *what);
G_GNUC_INTERNAL
guint64 quic_option_uint (PostConfiguration *configuration, const char *key, guint64 fallback);

/* post-quic-callbacks.c: the ngtcp2 callbacks, parameters and settings */
G_GNUC_INTERNAL
ngtcp2_conn *quic_get_conn_cb (ngtcp2_crypto_conn_ref *ref);
G_GNUC_INTERNAL
void quic_init_callbacks (ngtcp2_callbacks *callbacks, gboolean server);
G_GNUC_INTERNAL
void quic_init_params (ngtcp2_transport_params *params, PostConfiguration *configuration,
                       guint64 max_streams_bidi);
G_GNUC_INTERNAL
void quic_init_settings (ngtcp2_settings *settings, PostConfiguration *configuration);

/* post-quic-conn.c: the connection */
G_GNUC_INTERNAL
QuicConn *quic_conn_new (PostPsi *psi);
G_GNUC_INTERNAL
QuicConn *quic_conn_ref (QuicConn *qc);
G_GNUC_INTERNAL
void quic_conn_unref (QuicConn *qc);
G_GNUC_INTERNAL
gboolean quic_native_equal (const struct sockaddr *a, socklen_t a_len, const struct sockaddr *b,
                            socklen_t b_len);
G_GNUC_INTERNAL
void quic_conn_write (QuicConn *qc);
G_GNUC_INTERNAL
void quic_conn_schedule_write (QuicConn *qc);
G_GNUC_INTERNAL
void quic_conn_schedule_events (QuicConn *qc);
G_GNUC_INTERNAL
void quic_conn_terminate (QuicConn *qc, GError *error, gboolean send_close);
G_GNUC_INTERNAL
void quic_conn_check_idle (QuicConn *qc, gboolean abort);
G_GNUC_INTERNAL
void quic_conn_read_packet (QuicConn *qc, const guint8 *data, gsize len,
                            const struct sockaddr *from, socklen_t from_len);
G_GNUC_INTERNAL
void quic_conn_start_timer (QuicConn *qc);

/* ---- timers (post-quic-timer.c): one GSource per main context ---------------------- */
QuicTimer *quic_timer_new  (GMainContext  *context,
                            QuicTimerFunc  func,
                            gpointer       data);
/* Fires at monotonic time @ready (µs); -1 disarms. */
void       quic_timer_set  (QuicTimer     *t,
                            gint64         ready);
void       quic_timer_free (QuicTimer     *t);
G_GNUC_INTERNAL
void quic_conn_after_read (QuicConn *qc);
G_GNUC_INTERNAL
void quic_conn_watch_socket (QuicConn *qc);

/* post-quic-stream.c: a stream's buffers */
G_GNUC_INTERNAL
void quic_stream_free (QuicStream *s);
G_GNUC_INTERNAL
gboolean quic_stream_has_pending (QuicStream *s);
G_GNUC_INTERNAL
gsize quic_stream_append (QuicStream *s, const guint8 *data, gsize len);
G_GNUC_INTERNAL
size_t quic_stream_unsent (QuicStream *s, ngtcp2_vec *vecs, size_t max);
void quic_stream_push (QuicStream *s);
size_t quic_stream_unsent_to_push (QuicStream *s, ngtcp2_vec *vecs, size_t max, gboolean *pushed);
void quic_stream_sent (QuicStream *s, gsize n);
G_GNUC_INTERNAL
void quic_stream_acked (QuicStream *s, guint64 offset);
G_GNUC_INTERNAL
QuicStream *quic_conn_add_stream (QuicConn *qc, int64_t id);
G_GNUC_INTERNAL
void quic_conn_remove_stream (QuicConn *qc, QuicStream *s);

/* post-quic-datagram.c: DATAGRAM frames */
G_GNUC_INTERNAL
gboolean quic_option_datagrams (PostConfiguration *configuration);
G_GNUC_INTERNAL
gsize quic_varint_encode (guint8 *out, guint64 value);
G_GNUC_INTERNAL
gboolean quic_conn_queue_datagram (QuicConn *qc, QuicStream *s, GBytes *content, gsize max,
                                   gint64 deadline, guint64 id, GError **error);
G_GNUC_INTERNAL
void quic_dgram_free (QuicDgram *dg);
G_GNUC_INTERNAL
void quic_conn_init_datagrams (QuicConn *qc);
G_GNUC_INTERNAL
void quic_conn_clear_datagrams (QuicConn *qc);
G_GNUC_INTERNAL
QuicDgram *quic_conn_next_dgram (QuicConn *qc, gint64 *now);
G_GNUC_INTERNAL
gsize quic_conn_max_dgram (QuicConn *qc, QuicStream *s);
G_GNUC_INTERNAL
int quic_recv_datagram_cb (ngtcp2_conn *conn, uint32_t flags, const uint8_t *data, size_t datalen,
                           void *user_data);
G_GNUC_INTERNAL
int quic_ack_datagram_cb (ngtcp2_conn *conn, uint64_t dgram_id, void *user_data);
G_GNUC_INTERNAL
int quic_lost_datagram_cb (ngtcp2_conn *conn, uint64_t dgram_id, void *user_data);
G_GNUC_INTERNAL
void quic_psi_flush_datagrams (PostQuicPsi *self);
G_GNUC_INTERNAL
ngtcp2_ssize quic_conn_write_dgram (QuicConn *qc, QuicDgram *dg, ngtcp2_path *path,
                                    ngtcp2_pkt_info *pi, guint8 *buf, size_t max);

/* post-quic-tls.c: the TLS session, tickets in the association */
G_GNUC_INTERNAL
gboolean quic_ticket_unpack (GBytes *blob, GBytes **session_data, GBytes **params, GBytes **token);
G_GNUC_INTERNAL
void quic_conn_export_tickets (QuicConn *qc, gboolean force);
G_GNUC_INTERNAL
int quic_server_psk_cb (gnutls_session_t session, const gnutls_datum_t *username,
                        gnutls_datum_t *key);
G_GNUC_INTERNAL
gboolean quic_setup_session (QuicConn *qc, gboolean server, GError **error);

/* post-quic-server.c: the listener */
G_GNUC_INTERNAL
void quic_server_register_cid (QuicConn *qc, const uint8_t *data, size_t len);
G_GNUC_INTERNAL
void quic_server_unref (QuicServer *server);
/* A server-side connection leaves server->conns: its address has room. */
void quic_server_forget_address (QuicConn *qc);
G_GNUC_INTERNAL
void quic_server_issue_token (QuicConn *qc);
G_GNUC_INTERNAL
gboolean quic_server_socket_cb (GSocket *socket, GIOCondition condition, gpointer user_data);
G_GNUC_INTERNAL
gboolean quic_server_read_options (QuicServer *server, PostConfiguration *configuration,
                                   GError **error);

/* post-quic-migration.c: connection migration */
G_GNUC_INTERNAL
void quic_conn_check_path (QuicConn *qc);
G_GNUC_INTERNAL
gboolean quic_conn_migrate (QuicConn *qc, GSocketAddress *new_local, gboolean set_interface,
                            const char *interface, GError **error);
G_GNUC_INTERNAL
void quic_conn_schedule_self_migration (QuicConn *qc);

/* post-quic-psi.c: the stream instances (and their forks) */
G_GNUC_INTERNAL
gboolean quic_is_source (PostPsi *psi);
G_GNUC_INTERNAL
void quic_attach_stream (PostQuicPsi *self, QuicConn *qc, QuicStream *s);
G_GNUC_INTERNAL
PostQuicPsi *quic_new_stream_psi (QuicConn *qc, QuicStream *s, PostLocal *local);
G_GNUC_INTERNAL
void quic_update_ready (PostQuicPsi *self);
G_GNUC_INTERNAL
void quic_conn_schedule_forks (QuicConn *qc);

G_END_DECLS
