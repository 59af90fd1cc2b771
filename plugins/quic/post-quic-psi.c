/* post-quic-psi.c: PostQuicPsi, the Protocol Stack Instance of the `quic`
 * stack (QUIC v1, RFC 9000, with ngtcp2 and its GnuTLS crypto backend)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Draft Figure 9(b): several carriers multiplexed over one transport.  A
 * QUIC connection is a QuicConn, shared (refcounted) by the PostQuicPsi of
 * each of its bidirectional streams; the connection lives while any stream
 * instance needs it (and, after the last one closed gracefully, until what
 * it wrote is acknowledged, at most LINGER_MS).  A PostQuicPsi is in one of
 * these modes:
 *
 * CONNECTING (active open: connect_async)
 *   A new QuicConn on its own non-blocking UDP socket, connect()ed to the
 *   remote.  When the TLS 1.3 handshake inside QUIC completes, the instance
 *   opens the connection's first bidirectional stream and becomes a STREAM.
 *
 * STREAM
 *   One bidirectional stream: read/write are stream data, shutdown_send is
 *   the FIN.  Received data is buffered per stream and flow-control credit
 *   (MAX_STREAM_DATA, MAX_DATA) is only extended as the core reads it, so a
 *   slow reader closes the peer's window.  Written data is kept (in chunks
 *   that never move, as ngtcp2 refers to them until acknowledged) until the
 *   peer acknowledges it; at most TX_WINDOW bytes are outstanding per stream.
 *   The acknowledged prefix (acked_stream_data_offset) is get_acked_offset,
 *   which the core polls for the acked event (EVENT_ACKED).
 *   fork_async opens another stream of the same connection; a stream the
 *   peer opens is announced as a fork request on a stream instance of the
 *   connection (the first stream of a connection a listener accepted is
 *   announced as an accepted instance instead).  When the peer's limit on
 *   bidirectional streams is reached, a fork waits (ForkWaiter, in order)
 *   for its MAX_STREAMS (extend_max_local_streams_bidi), its cancellable,
 *   the close of its instance or the end of the connection.  A stream
 *   closed while it is being announced (nobody accepted the fork request,
 *   or the listener's incoming handler refused it) is reset with
 *   APP_ERROR_REFUSED, which the forking side reports as
 *   POST_ERROR_CONNECTION_REFUSED; other aborts use APP_ERROR_ABORT.
 *
 * LISTENER (passive open: listen)
 *   One UDP socket (QuicServer) for every connection it accepts, which are
 *   demultiplexed by destination connection id.  Each connection applies
 *   per-connection limits (streams, data) in its transport parameters;
 *   what a stream buffers is bounded by its flow-control window (credit is
 *   only extended as the core reads), the streams the peer opens by
 *   `quic.max-streams` (and MAX_UNI_STREAMS).  Before any state is kept
 *   for an Initial (server_admit): beyond `quic.max-connections` it gets a
 *   stateless CONNECTION_CLOSE (CONNECTION_REFUSED); without a valid token
 *   it gets a Retry when `quic.retry` is "always", or "when-busy" (the
 *   default) with `quic.retry-threshold` handshakes in progress; a valid
 *   Retry token is checked against the client's address and DCID and
 *   carried into the transport parameters (original_dcid, retry_scid), an
 *   invalid one gets INVALID_TOKEN.  An Initial whose payload does not
 *   decrypt drops the connection it would have made (NGTCP2_ERR_DROP_CONN),
 *   so garbage leaves nothing behind; other garbage never gets past
 *   ngtcp2_accept().
 *   Closing the listener stops accepting; accepted connections go on.
 *
 * 0-RTT (client): get_early_data_limit takes the association's newest
 * quic ticket (GnuTLS session data, the server's transport parameters and
 * a NEW_TOKEN token, see TICKET_MAGIC); with early data from the core the
 * first stream is opened before the handshake (on the remembered transport
 * parameters) and carries it in 0-RTT packets.  If the server refuses it,
 * ngtcp2 is told (ngtcp2_conn_early_data_rejected), the stream is opened
 * again and its data goes from offset 0, delivered once.  New tickets are
 * exported to the association after each batch of packets.  A listener
 * enables tickets, GnuTLS anti-replay and (unless `tls.server-early-data`
 * is false) early data, issues a NEW_TOKEN token after the handshake and
 * accepts a valid one in an Initial as address validation.
 *
 * Everything runs on the instance's GMainContext: a socket source, one
 * timer source re-armed from ngtcp2_conn_get_expiry(), and idle sources that
 * coalesce writes and deliver events to the core outside ngtcp2 callbacks.
 * No threads.
 *
 * Sources and sinks: an instance whose configuration's RFC 9622
 * `direction` is unidirectional-send (what makes the core give its carrier
 * the SOURCE role; the PSI interface says nothing of roles) opens a
 * unidirectional stream instead of a bidirectional one; it never has
 * input, and reads the end of its input once its own side is shut down.
 * A unidirectional stream the peer opens is announced like a
 * bidirectional one (accepted or fork request) by an instance whose
 * configuration is a copy with `direction` unidirectional-receive, from
 * which the core makes the carrier a SINK.  A source on a resumed
 * association sends its idempotent messages as 0-RTT data on its
 * unidirectional stream.
 *
 * Migration (RFC 9000 section 9): the core calls migrate on a client's
 * stream instance when the carrier's local address or interface goes
 * away; the connection moves to a new UDP socket bound to the new local
 * address (connected to the same remote) and
 * ngtcp2_conn_initiate_immediate_migration() switches to that path at once
 * (validating it meanwhile), with a spare connection id the server issued
 * (both ends allow ACTIVE_CID_LIMIT; the listener registers every id it
 * issues with its demultiplexer).  Every stream instance of the connection
 * gets the new addresses and interface and emits path-changed.  A client
 * whose socket reports EADDRNOTAVAIL, ENETUNREACH or ENETDOWN migrates by
 * itself to the source address the routing picks then (unless its
 * configuration has interface preferences, which only the core honours).
 * Packets go to the path ngtcp2 wrote them for (a GSO run never mixes
 * paths): a listener sends each to its path's remote
 * (probes to a migrating peer's new address), a client drops those for a
 * local address it left.  The listener demultiplexes by connection id
 * only, hands ngtcp2 each packet's real source address, and after reading
 * follows ngtcp2's current path: when the peer migrated, the connection's
 * remote and its stream instances' addresses change and they emit
 * path-changed.  A server never initiates migration.
 *
 * Datagrams (RFC 9221): both ends offer max_datagram_frame_size unless
 * `quic.datagrams` is false.  The core hands a message with reliable=FALSE
 * and a lifetime to send_datagram; it is queued on the connection
 * (dgram_tx, by niceness) with the sending stream's id in front (a QUIC
 * varint, as RFC 9297's quarter stream id), written in conn_write before
 * stream data of the same niceness, dropped (EXPIRED) once its deadline
 * passed, and remembered by dgram id (dgram_inflight) for ngtcp2's
 * ack_datagram / lost_datagram.  Events go to the core from the event
 * idle.  A received datagram goes to the instance of its stream; one that
 * overtook its (peer) stream's first bytes waits in dgram_early.
 *
 * Niceness across streams: the core tells each instance the niceness of
 * what it writes next (set_send_priority); conn_write serves streams in that
 * order, strictly: nicer streams wait while a more important one has data
 * or its carrier has more queued (conn_top_priority).
 */

#include "post-quic-psi.h"
#include "post-gnutls-trust.h"
#include "post-quic-udp.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>

#define SCID_LEN            18
#define RECV_BATCH          64
#define MAX_PACKET          1500
#define TX_WINDOW           (256 * 1024)     /* unacknowledged bytes per stream */
#define TX_CHUNK            (16 * 1024)
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
#define APP_ERROR_ABORT     1                /* our stream reset: the carrier was aborted */
#define APP_ERROR_REFUSED   2                /* our stream reset: the fork request was refused */
#define MAX_DATAGRAM_FRAME  65535            /* max_datagram_frame_size we accept */
#define DGRAM_OVERHEAD      48               /* short header, AEAD tag, frame header */
#define DGRAM_QUEUE_MAX     1024             /* datagrams queued per connection */
#define DGRAM_RX_MAX        1024             /* received, not yet handed to the core */
#define DGRAM_EARLY_MAX     64               /* received ahead of their stream's first bytes */
/* What the association keeps for a quic remote (one session ticket): this
 * magic, then three length-prefixed (uint32 BE) fields: the GnuTLS session
 * data, the server's transport parameters (encrypted-extensions encoding)
 * and the newest NEW_TOKEN token (maybe empty). */
#define TICKET_MAGIC        "PQT1"

static const char priority_string[] =
  "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:"
  "+CHACHA20-POLY1305:+AES-128-CCM:%DISABLE_TLS13_COMPAT_MODE";
/* With an external pre-shared key (TLS 1.3 psk_dhe_ke, or psk_ke) */
static const char priority_string_psk[] =
  "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:"
  "+CHACHA20-POLY1305:+AES-128-CCM:+ECDHE-PSK:+DHE-PSK:+PSK:%DISABLE_TLS13_COMPAT_MODE";

typedef struct _QuicServer QuicServer;
typedef struct _QuicConn QuicConn;
typedef struct _QuicStream QuicStream;

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
};

struct _QuicServer {
  gint                              ref_count;
  GMainContext                     *context;
  GSocket                          *socket;
  PostQuicUdp                       udp;      /* GSO/GRO on socket */
  GSource                          *source;
  GSocketAddress                   *local_address;
  struct sockaddr_storage           local;
  socklen_t                         local_len;
  PostStack                        *stack;
  PostConfiguration                *configuration;
  PostLocal                        *endpoint;
  gnutls_certificate_credentials_t  cred;     /* (nullable) without an identity (PSK only) */
  gnutls_psk_server_credentials_t   psk;      /* (nullable) the local has pre-shared keys */
  gboolean                          request_client_cert; /* the configuration names anchors */
  GHashTable                       *cids;     /* GBytes -> QuicConn* (unowned) */
  GHashTable                       *conns;    /* QuicConn* (owned) */
  PostQuicPsi                      *listener; /* (unowned) (nullable) */
  guint64                           max_streams;
  gnutls_datum_t                    ticket_key;
  gnutls_anti_replay_t              anti_replay;
  GHashTable                       *seen;     /* GBytes -> expiry: anti-replay */
  gboolean                          early_data; /* `tls.server-early-data` */
  guint8                            token_secret[TOKEN_SECRET_LEN];
  RetryMode                         retry;    /* `quic.retry` */
  guint64                           retry_threshold; /* `quic.retry-threshold` */
  guint64                           max_connections; /* `quic.max-connections` */
  gboolean                          new_tokens; /* `quic.new-token`: issue NEW_TOKEN tokens */
};

struct _QuicConn {
  gint                              ref_count;
  GMainContext                     *context;
  PostStack                        *stack;
  PostConfiguration                *configuration;
  QuicServer                       *server;   /* (owned) (nullable) server side */
  GSocket                          *socket;   /* client side */
  PostQuicUdp                       udp;      /* GSO/GRO on socket */
  guint8                           *txbuf;    /* POST_QUIC_UDP_BATCH_MAX: a run of packets for one GSO send */
  GSource                          *socket_source;
  GSocketAddress                   *local_address;
  GSocketAddress                   *remote_address;
  struct sockaddr_storage           local, remote;
  socklen_t                         local_len, remote_len;
  ngtcp2_conn                      *conn;
  ngtcp2_crypto_conn_ref            conn_ref;
  gnutls_session_t                  session;
  gnutls_certificate_credentials_t  cred;     /* client side (owned) */
  gnutls_psk_client_credentials_t   psk;      /* client side (owned) (nullable): the association's PSK */
  GSource                          *timer;
  GSource                          *write_idle;
  GSource                          *event_idle;
  GSource                          *linger;
  GHashTable                       *streams;  /* int64_t* -> QuicStream* (owned) */
  GPtrArray                        *cids;     /* GBytes registered with the server */
  PostQuicPsi                      *connecting; /* (unowned) client: awaiting the handshake */
  GQueue                            incoming; /* PostQuicPsi* (owned): streams the peer opened */
  guint                             n_psis;   /* live stream instances */
  gboolean                          had_stream;
  gboolean                          announced;
  gboolean                          handshake_done;
  gboolean                          closed;
  GError                           *error;
  GError                           *verify_error;
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
};

G_DEFINE_FINAL_TYPE (PostQuicPsi, post_quic_psi, POST_TYPE_PSI)

static void conn_write (QuicConn *qc);
static void conn_schedule_write (QuicConn *qc);
static void conn_schedule_events (QuicConn *qc);
static void conn_terminate (QuicConn *qc, GError *error, gboolean send_close);
static void update_ready (PostQuicPsi *self);
static QuicConn *conn_ref (QuicConn *qc);
static void conn_unref (QuicConn *qc);
static void conn_schedule_self_migration (QuicConn *qc);
static void conn_check_path (QuicConn *qc);

/* ---- helpers -------------------------------------------------------------- */

static ngtcp2_tstamp
timestamp (void)
{
  return (ngtcp2_tstamp) g_get_monotonic_time () * 1000;
}

static void
rand_bytes (guint8 *dest,
            gsize   len)
{
  if (gnutls_rnd (GNUTLS_RND_RANDOM, dest, len) != 0)
    for (gsize i = 0; i < len; i++)
      dest[i] = g_random_int_range (0, 256);
}

static void
clear_source (GSource **source)
{
  if (*source != NULL)
    {
      g_source_destroy (*source);
      g_clear_pointer (source, g_source_unref);
    }
}

static char *
format_address (GSocketAddress *address)
{
  if (G_IS_INET_SOCKET_ADDRESS (address))
    {
      GInetSocketAddress *inet = G_INET_SOCKET_ADDRESS (address);
      g_autofree char *ip = g_inet_address_to_string (g_inet_socket_address_get_address (inet));

      if (g_inet_address_get_family (g_inet_socket_address_get_address (inet)) == G_SOCKET_FAMILY_IPV6)
        return g_strdup_printf ("[%s]:%u", ip, g_inet_socket_address_get_port (inet));
      return g_strdup_printf ("%s:%u", ip, g_inet_socket_address_get_port (inet));
    }
  return g_strdup ("(unknown)");
}

static gboolean
to_native (GSocketAddress           *address,
           struct sockaddr_storage  *storage,
           socklen_t                *len,
           GError                  **error)
{
  gssize size = g_socket_address_get_native_size (address);

  if (size < 0 || (gsize) size > sizeof *storage
      || !g_socket_address_to_native (address, storage, size, error))
    {
      if (error != NULL && *error == NULL)
        g_set_error_literal (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT, "Unusable socket address");
      return FALSE;
    }
  *len = size;
  return TRUE;
}

static GError *
ngtcp2_error (int         rv,
              const char *what)
{
  return g_error_new (POST_ERROR, POST_ERROR_FAILED, "%s: %s", what, ngtcp2_strerror (rv));
}

/* A transport parameter limit from a `quic.*` option (uint32 or uint64). */
static guint64
option_uint (PostConfiguration *configuration,
             const char        *key,
             guint64            fallback)
{
  GVariant *value = configuration != NULL ? post_configuration_get_option (configuration, key) : NULL;

  if (value == NULL)
    return fallback;
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_UINT32))
    return g_variant_get_uint32 (value);
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_UINT64))
    return g_variant_get_uint64 (value);
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_INT32) && g_variant_get_int32 (value) >= 0)
    return g_variant_get_int32 (value);
  return fallback;
}

/* `quic.datagrams` (bool, default true): offer DATAGRAM frames (RFC 9221). */
static gboolean
option_datagrams (PostConfiguration *configuration)
{
  GVariant *value = configuration != NULL ? post_configuration_get_option (configuration, "quic.datagrams") : NULL;

  return value == NULL || !g_variant_is_of_type (value, G_VARIANT_TYPE_BOOLEAN)
         || g_variant_get_boolean (value);
}

/* QUIC variable-length integers (RFC 9000 16): the stream id in front of
 * each DATAGRAM frame's payload, as RFC 9297 puts its quarter stream id. */
static gsize
varint_len (guint64 value)
{
  return value < 64 ? 1 : value < 16384 ? 2 : value < 1073741824 ? 4 : 8;
}

static gsize
varint_encode (guint8  *out,
               guint64  value)
{
  gsize len = varint_len (value);
  static const guint8 prefix[] = { [1] = 0x00, [2] = 0x40, [4] = 0x80, [8] = 0xc0 };

  for (gsize i = 0; i < len; i++)
    out[i] = (value >> (8 * (len - 1 - i))) & 0xff;
  out[0] |= prefix[len];
  return len;
}

/* Returns the bytes used, 0 when @data is too short (truncated). */
static gsize
varint_decode (const guint8 *data,
               gsize         size,
               guint64      *value)
{
  gsize len;

  if (size == 0)
    return 0;
  len = (gsize) 1 << (data[0] >> 6);
  if (size < len)
    return 0;
  *value = data[0] & 0x3f;
  for (gsize i = 1; i < len; i++)
    *value = (*value << 8) | data[i];
  return len;
}

/* ---- session tickets in the association --------------------------------------- */

/* `tls.session-cache`: "memory" (the default), "disk" or "none", as on tls. */
static gboolean
session_cache_enabled (PostConfiguration *configuration)
{
  GVariant *mode = configuration != NULL ? post_configuration_get_option (configuration, "tls.session-cache") : NULL;

  return mode == NULL || !g_variant_is_of_type (mode, G_VARIANT_TYPE_STRING)
         || g_strcmp0 (g_variant_get_string (mode, NULL), "none") != 0;
}

static gboolean
zero_rtt_allowed (PostConfiguration *configuration)
{
  PostPreference preference = post_configuration_get_preference (configuration, POST_SELECTION_ZERO_RTT_MSG);

  return preference != POST_PREFERENCE_AVOID && preference != POST_PREFERENCE_PROHIBIT;
}

static void
pack_field (GByteArray   *out,
            const guint8 *data,
            gsize         len)
{
  guint32 be = GUINT32_TO_BE ((guint32) len);

  g_byte_array_append (out, (const guint8 *) &be, 4);
  if (len > 0)
    g_byte_array_append (out, data, len);
}

static GBytes *
ticket_pack (GBytes       *session_data,
             const guint8 *params,
             gsize         params_len,
             GBytes       *token)
{
  GByteArray *out = g_byte_array_new ();
  gsize len;
  const guint8 *data = g_bytes_get_data (session_data, &len);

  g_byte_array_append (out, (const guint8 *) TICKET_MAGIC, 4);
  pack_field (out, data, len);
  pack_field (out, params, params_len);
  data = token != NULL ? g_bytes_get_data (token, &len) : NULL;
  pack_field (out, data, token != NULL ? len : 0);
  return g_byte_array_free_to_bytes (out);
}

/* FALSE for what is not a quic ticket (another stack's, or damaged). */
static gboolean
ticket_unpack (GBytes  *blob,
               GBytes **session_data,
               GBytes **params,
               GBytes **token)
{
  gsize len, pos = 4;
  const guint8 *data = g_bytes_get_data (blob, &len);
  GBytes **fields[3] = { session_data, params, token };

  *session_data = *params = *token = NULL;
  if (len < 4 || memcmp (data, TICKET_MAGIC, 4) != 0)
    return FALSE;
  for (guint i = 0; i < 3; i++)
    {
      guint32 n;

      if (len - pos < 4)
        goto bad;
      memcpy (&n, data + pos, 4);
      n = GUINT32_FROM_BE (n);
      pos += 4;
      if (len - pos < n)
        goto bad;
      *fields[i] = n > 0 ? g_bytes_new_from_bytes (blob, pos, n) : NULL;
      pos += n;
    }
  if (*session_data != NULL)
    return TRUE;
bad:
  for (guint i = 0; i < 3; i++)
    g_clear_pointer (fields[i], g_bytes_unref);
  return FALSE;
}

/* ---- streams ---------------------------------------------------------------- */

static QuicStream *
stream_new (int64_t id)
{
  QuicStream *s = g_new0 (QuicStream, 1);

  s->id = id;
  g_queue_init (&s->tx);
  s->rx = g_byte_array_new ();
  return s;
}

static void
tx_chunk_free (TxChunk *chunk)
{
  g_free (chunk->data);
  g_free (chunk);
}

static void
stream_free (QuicStream *s)
{
  if (s->psi != NULL)
    s->psi->stream = NULL;
  g_queue_clear_full (&s->tx, (GDestroyNotify) tx_chunk_free);
  g_byte_array_unref (s->rx);
  g_clear_error (&s->error);
  g_free (s);
}

static gboolean
stream_has_pending (QuicStream *s)
{
  return !s->closed && (s->tx_sent < s->tx_end || (s->fin_requested && !s->fin_sent));
}

static gsize
stream_append (QuicStream   *s,
               const guint8 *data,
               gsize         len)
{
  gsize done = 0;

  while (done < len)
    {
      TxChunk *last = g_queue_peek_tail (&s->tx);
      gsize n;

      if (last == NULL || last->len == last->cap)
        {
          last = g_new0 (TxChunk, 1);
          last->cap = TX_CHUNK;
          last->data = g_malloc (last->cap);
          last->start = s->tx_end;
          g_queue_push_tail (&s->tx, last);
        }
      n = MIN (len - done, last->cap - last->len);
      memcpy (last->data + last->len, data + done, n);
      last->len += n;
      s->tx_end += n;
      done += n;
    }
  return done;
}

/* Up to @max vectors of data written but not handed to ngtcp2 yet. */
static size_t
stream_unsent (QuicStream *s,
               ngtcp2_vec *vecs,
               size_t      max)
{
  size_t n = 0;

  for (GList *l = s->tx.head; l != NULL && n < max; l = l->next)
    {
      TxChunk *chunk = l->data;
      guint64 end = chunk->start + chunk->len;

      if (end <= s->tx_sent)
        continue;
      vecs[n].base = chunk->data + (s->tx_sent > chunk->start ? s->tx_sent - chunk->start : 0);
      vecs[n].len = end - MAX (s->tx_sent, chunk->start);
      n++;
    }
  return n;
}

static void
stream_acked (QuicStream *s,
              guint64     offset)
{
  TxChunk *chunk;

  if (offset > s->tx_acked)
    s->tx_acked = offset;
  while ((chunk = g_queue_peek_head (&s->tx)) != NULL
         && chunk->start + chunk->len <= s->tx_acked
         && chunk->len == chunk->cap)
    tx_chunk_free (g_queue_pop_head (&s->tx));
  /* A last, partly filled chunk that is entirely acknowledged is reset
   * rather than freed: appending continues where it stands. */
}

static QuicStream *
conn_add_stream (QuicConn *qc,
                 int64_t   id)
{
  QuicStream *s = stream_new (id);
  gint64 *key = g_new (gint64, 1);

  *key = id;
  g_hash_table_insert (qc->streams, key, s);
  ngtcp2_conn_set_stream_user_data (qc->conn, id, s);
  return s;
}

static void
conn_remove_stream (QuicConn   *qc,
                    QuicStream *s)
{
  gint64 key = s->id;

  if (!qc->closed && qc->conn != NULL)
    ngtcp2_conn_set_stream_user_data (qc->conn, s->id, NULL);
  g_hash_table_remove (qc->streams, &key);
}

/* ---- datagrams (RFC 9221) ------------------------------------------------------ */

static void
dgram_free (QuicDgram *dg)
{
  g_clear_pointer (&dg->payload, g_bytes_unref);
  g_free (dg);
}

static void
conn_init_datagrams (QuicConn *qc)
{
  qc->datagrams = option_datagrams (qc->configuration);
  g_queue_init (&qc->dgram_tx);
  g_queue_init (&qc->dgram_early);
  qc->dgram_inflight = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL,
                                              (GDestroyNotify) dgram_free);
}

static void
conn_clear_datagrams (QuicConn *qc)
{
  g_queue_clear_full (&qc->dgram_tx, (GDestroyNotify) dgram_free);
  g_queue_clear_full (&qc->dgram_early, (GDestroyNotify) dgram_free);
  g_clear_pointer (&qc->dgram_inflight, g_hash_table_unref);
}

/* Queues @event for the carrier of @stream_id (from the event idle: never
 * from inside ngtcp2 or post_psi_send_datagram()). */
static void
dgram_report (QuicConn          *qc,
              QuicDgram         *dg,
              PostDatagramEvent  event)
{
  gint64 key = dg->stream_id;
  QuicStream *s = g_hash_table_lookup (qc->streams, &key);
  DgramEvent e = { dg->tag, event };

  if (s == NULL || s->psi == NULL || s->psi->dgram_events == NULL)
    return;   /* the carrier is gone: nobody to tell */
  g_array_append_val (s->psi->dgram_events, e);
  conn_schedule_events (qc);
}

/* The next datagram to write, dropping (EXPIRED) those whose deadline passed. */
static QuicDgram *
conn_next_dgram (QuicConn *qc,
                 gint64   *now)
{
  QuicDgram *dg;

  while ((dg = g_queue_peek_head (&qc->dgram_tx)) != NULL)
    {
      if (dg->deadline < 0)
        return dg;
      if (*now == 0)
        *now = g_get_monotonic_time ();
      if (*now < dg->deadline)
        return dg;
      g_queue_pop_head (&qc->dgram_tx);
      dgram_report (qc, dg, POST_DATAGRAM_EXPIRED);
      dgram_free (dg);
    }
  return NULL;
}

/* The largest content one DATAGRAM frame can carry for @s now. */
static gsize
conn_max_dgram (QuicConn   *qc,
                QuicStream *s)
{
  const ngtcp2_transport_params *params;
  guint64 frame, path;

  if (!qc->datagrams || qc->closed || qc->conn == NULL || !qc->handshake_done || s == NULL)
    return 0;
  params = ngtcp2_conn_get_remote_transport_params (qc->conn);
  if (params == NULL || params->max_datagram_frame_size == 0)
    return 0;
  path = ngtcp2_conn_get_path_max_tx_udp_payload_size (qc->conn);
  if (path <= DGRAM_OVERHEAD)
    return 0;
  /* The frame: type, length, then our stream id and the content. */
  frame = MIN (params->max_datagram_frame_size, path - DGRAM_OVERHEAD);
  if (frame <= 3 + varint_len (s->id))
    return 0;
  return frame - 3 - varint_len (s->id);
}

static int
recv_datagram_cb (ngtcp2_conn   *conn,
                  uint32_t       flags,
                  const uint8_t *data,
                  size_t         datalen,
                  void          *user_data)
{
  QuicConn *qc = user_data;
  guint64 stream_id = 0;
  gsize used = varint_decode (data, datalen, &stream_id);
  gint64 key;
  QuicStream *s;

  if (used == 0)
    {
      qc->dgram_dropped++;
      g_debug ("QUIC: dropping a malformed datagram from %s (no stream id)", qc->peer);
      return 0;
    }
  key = (gint64) stream_id;
  s = g_hash_table_lookup (qc->streams, &key);
  if (s == NULL && !ngtcp2_conn_is_local_stream (conn, key))
    {
      /* A datagram may overtake the first bytes of the peer's new stream
       * (it went in front of them): kept, a few, until the stream opens. */
      QuicDgram *early = g_new0 (QuicDgram, 1);

      early->stream_id = key;
      early->payload = g_bytes_new (data + used, datalen - used);
      g_queue_push_tail (&qc->dgram_early, early);
      if (g_queue_get_length (&qc->dgram_early) > DGRAM_EARLY_MAX)
        {
          dgram_free (g_queue_pop_head (&qc->dgram_early));
          qc->dgram_dropped++;
          g_debug ("QUIC: dropping a datagram from %s for a stream that never opened (%"
                   G_GUINT64_FORMAT " dropped)", qc->peer, qc->dgram_dropped);
        }
      return 0;
    }
  if (s == NULL || s->psi == NULL || s->psi->dgram_rx == NULL
      || s->psi->dgram_rx->len >= DGRAM_RX_MAX)
    {
      qc->dgram_dropped++;
      g_debug ("QUIC: dropping a datagram from %s for stream %" G_GUINT64_FORMAT
               " (no carrier; %" G_GUINT64_FORMAT " dropped)", qc->peer, stream_id, qc->dgram_dropped);
      return 0;
    }
  g_ptr_array_add (s->psi->dgram_rx, g_bytes_new (data + used, datalen - used));
  conn_schedule_events (qc);
  return 0;
}

static int
ack_datagram_cb (ngtcp2_conn *conn,
                 uint64_t     dgram_id,
                 void        *user_data)
{
  QuicConn *qc = user_data;
  gint64 key = (gint64) dgram_id;
  QuicDgram *dg = g_hash_table_lookup (qc->dgram_inflight, &key);

  if (dg != NULL)
    {
      dgram_report (qc, dg, POST_DATAGRAM_ACKED);
      g_hash_table_remove (qc->dgram_inflight, &key);
    }
  return 0;
}

static int
lost_datagram_cb (ngtcp2_conn *conn,
                  uint64_t     dgram_id,
                  void        *user_data)
{
  QuicConn *qc = user_data;
  gint64 key = (gint64) dgram_id;
  QuicDgram *dg = g_hash_table_lookup (qc->dgram_inflight, &key);

  if (dg != NULL)
    {
      dgram_report (qc, dg, POST_DATAGRAM_LOST);
      g_hash_table_remove (qc->dgram_inflight, &key);
    }
  return 0;
}

/* Hands the instance's datagram events and received datagrams to the core. */
static void
psi_flush_datagrams (PostQuicPsi *self)
{
  g_autoptr(GArray) events = NULL;
  g_autoptr(GPtrArray) received = NULL;

  if (self->dgram_events == NULL || (self->dgram_events->len == 0 && self->dgram_rx->len == 0))
    return;
  events = g_steal_pointer (&self->dgram_events);
  self->dgram_events = g_array_new (FALSE, FALSE, sizeof (DgramEvent));
  received = g_steal_pointer (&self->dgram_rx);
  self->dgram_rx = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  for (guint i = 0; i < events->len && self->mode == MODE_STREAM; i++)
    {
      DgramEvent *e = &g_array_index (events, DgramEvent, i);

      post_psi_emit_datagram_event (POST_PSI (self), e->tag, e->event);
    }
  for (guint i = 0; i < received->len && self->mode == MODE_STREAM; i++)
    if (!post_psi_deliver_datagram (POST_PSI (self), received->pdata[i]) && self->qc != NULL)
      {
        self->qc->dgram_dropped++;
        g_debug ("QUIC: dropping a datagram from %s: its carrier is not accepted yet",
                 self->qc->peer);
      }
}

/* ---- the instance side ---------------------------------------------------------- */

/* A source: the core gives a carrier the SOURCE role from the RFC 9622
 * `direction` unidirectional-send, and the instance (which is told nothing
 * of roles) reads it from its configuration; its stream is then
 * unidirectional.  post_carrier_new_source() with a bidirectional
 * configuration still gets a bidirectional stream (the core only sends on
 * it). */
static gboolean
is_source (PostPsi *psi)
{
  return post_configuration_get_direction (post_psi_get_configuration (psi))
         == POST_DIRECTION_UNIDIRECTIONAL_SEND;
}

static void
attach_stream (PostQuicPsi *self,
               QuicConn    *qc,
               QuicStream  *s)
{
  if (self->qc == NULL)
    self->qc = conn_ref (qc);
  self->stream = s;
  s->psi = self;
  self->mode = MODE_STREAM;
  qc->had_stream = TRUE;
}

static PostQuicPsi *
new_stream_psi (QuicConn   *qc,
                QuicStream *s,
                PostLocal  *local)
{
  g_autoptr(PostConfiguration) receive_only = NULL;
  PostConfiguration *configuration = qc->configuration;
  PostQuicPsi *psi;

  if (s->recv_only)
    {
      /* The peer's unidirectional stream: the instance follows a copy of
       * the configuration whose `direction` is unidirectional-receive, which
       * is how the core learns that the carrier it accepts is a sink. */
      receive_only = post_configuration_copy (qc->configuration);
      post_configuration_set_direction (receive_only, POST_DIRECTION_UNIDIRECTIONAL_RECEIVE, NULL);
      configuration = receive_only;
    }
  psi = POST_QUIC_PSI (post_stack_create_psi (qc->stack, configuration));

  post_psi_set_context (POST_PSI (psi), local, NULL);
  post_psi_set_addresses (POST_PSI (psi), qc->local_address, qc->remote_address);
  qc->n_psis++;
  attach_stream (psi, qc, s);
  return psi;
}

static GIOCondition
ready_condition (PostQuicPsi *self)
{
  QuicStream *s = self->stream;
  GIOCondition cond = 0;

  if (self->mode != MODE_STREAM)
    return 0;
  if (s == NULL || s->error != NULL || self->qc->error != NULL)
    return G_IO_IN | G_IO_OUT;
  if (s->rx->len > s->rx_pos || s->rx_fin || s->closed
      || (s->send_only && s->fin_requested))
    cond |= G_IO_IN;
  if (!s->fin_requested && s->tx_end - s->tx_acked < TX_WINDOW
      && g_queue_get_length (&self->qc->dgram_tx) < DGRAM_QUEUE_MAX)
    cond |= G_IO_OUT;
  return cond;
}

static gboolean
ready_cb (gpointer user_data)
{
  PostQuicPsi *self = user_data;
  GIOCondition cond = ready_condition (self) & self->interest;

  if (cond == 0)
    {
      g_clear_pointer (&self->ready_source, g_source_unref);
      return G_SOURCE_REMOVE;
    }
  g_object_ref (self);
  post_psi_notify_ready (POST_PSI (self), cond);
  if (self->ready_source == NULL || g_source_is_destroyed (self->ready_source))
    {
      g_object_unref (self);
      return G_SOURCE_REMOVE;
    }
  g_object_unref (self);
  return G_SOURCE_CONTINUE;
}

/* Level-triggered readiness: an idle reports it while it holds. */
static void
update_ready (PostQuicPsi *self)
{
  if (self->ready_source != NULL || self->mode == MODE_CLOSED)
    return;
  if ((ready_condition (self) & self->interest) == 0)
    return;
  self->ready_source = g_idle_source_new ();
  g_source_set_callback (self->ready_source, ready_cb, self, NULL);
  g_source_set_static_name (self->ready_source, "[post] quic ready");
  g_source_attach (self->ready_source, self->context);
}

/* ---- ngtcp2 callbacks -------------------------------------------------------------- */

static ngtcp2_conn *
get_conn_cb (ngtcp2_crypto_conn_ref *ref)
{
  QuicConn *qc = ref->user_data;

  return qc->conn;
}

static void
rand_cb (uint8_t                *dest,
         size_t                  destlen,
         const ngtcp2_rand_ctx  *rand_ctx)
{
  rand_bytes (dest, destlen);
}

static void
server_register_cid (QuicConn      *qc,
                     const uint8_t *data,
                     size_t         len)
{
  GBytes *cid;

  if (qc->server == NULL)
    return;
  {
    char hex[2 * NGTCP2_MAX_CIDLEN + 1];

    for (gsize i = 0; i < len && i < NGTCP2_MAX_CIDLEN; i++)
      g_snprintf (hex + 2 * i, 3, "%02x", data[i]);
    hex[2 * MIN (len, NGTCP2_MAX_CIDLEN)] = '\0';
    g_debug ("QUIC: connection with %s: connection id %s", qc->peer, hex);
  }
  cid = g_bytes_new (data, len);
  g_hash_table_insert (qc->server->cids, g_bytes_ref (cid), qc);
  g_ptr_array_add (qc->cids, cid);
}

static int
get_new_connection_id_cb (ngtcp2_conn *conn,
                          ngtcp2_cid  *cid,
                          uint8_t     *token,
                          size_t       cidlen,
                          void        *user_data)
{
  QuicConn *qc = user_data;

  rand_bytes (cid->data, cidlen);
  cid->datalen = cidlen;
  rand_bytes (token, NGTCP2_STATELESS_RESET_TOKENLEN);
  server_register_cid (qc, cid->data, cid->datalen);
  return 0;
}

static int
remove_connection_id_cb (ngtcp2_conn      *conn,
                         const ngtcp2_cid *cid,
                         void             *user_data)
{
  QuicConn *qc = user_data;
  g_autoptr(GBytes) key = NULL;

  if (qc->server == NULL)
    return 0;
  key = g_bytes_new (cid->data, cid->datalen);
  if (g_hash_table_lookup (qc->server->cids, key) == qc)
    g_hash_table_remove (qc->server->cids, key);
  g_ptr_array_remove (qc->cids, key);   /* compares pointers: harmless miss */
  return 0;
}

/* The server rejected the 0-RTT data: ngtcp2 forgets the streams opened
 * early; the early stream is opened again and everything written on it
 * goes again from offset 0 (the peer never decrypted any of it). */
static int
early_data_rejected (QuicConn *qc)
{
  QuicStream *s = qc->early_stream;
  gint64 key = s->id;
  gint64 *new_key;
  int64_t stream_id;
  int rv = 0;

  qc->rejecting = TRUE;
  if (!ngtcp2_conn_get_early_data_rejected (qc->conn))
    rv = ngtcp2_conn_early_data_rejected (qc->conn);
  qc->rejecting = FALSE;
  if (rv != 0)
    return rv;
  {
    gpointer old_key = NULL;

    g_hash_table_steal_extended (qc->streams, &key, &old_key, NULL);
    g_free (old_key);
  }
  s->tx_sent = 0;
  s->tx_acked = 0;
  s->fin_sent = FALSE;
  s->closed = FALSE;
  rv = s->send_only ? ngtcp2_conn_open_uni_stream (qc->conn, &stream_id, NULL)
                    : ngtcp2_conn_open_bidi_stream (qc->conn, &stream_id, NULL);
  if (rv != 0)
    {
      s->closed = TRUE;
      if (s->error == NULL)
        s->error = g_error_new (POST_ERROR, POST_ERROR_CONNECTION_RESET,
                                "%s allows no stream on the QUIC connection", qc->peer);
      stream_id = s->id;
    }
  s->id = stream_id;
  new_key = g_new (gint64, 1);
  *new_key = stream_id;
  g_hash_table_insert (qc->streams, new_key, s);
  if (rv == 0)
    ngtcp2_conn_set_stream_user_data (qc->conn, stream_id, s);
  g_debug ("QUIC: %s rejected the 0-RTT data; resending it on stream %" G_GINT64_FORMAT,
           qc->peer, (gint64) stream_id);
  return 0;
}

static void server_issue_token (QuicConn *qc);

static int
handshake_completed_cb (ngtcp2_conn *conn,
                        void        *user_data)
{
  QuicConn *qc = user_data;
  unsigned int sflags = gnutls_session_get_flags (qc->session);

  qc->handshake_done = TRUE;
  qc->flags |= POST_SECURITY_ENCRYPTED;
  if (gnutls_session_is_resumed (qc->session))
    qc->flags |= POST_SECURITY_RESUMED;
  else if (gnutls_auth_get_type (qc->session) == GNUTLS_CRD_PSK)
    qc->flags |= POST_SECURITY_PSK;
  if (qc->server != NULL)
    {
      if (sflags & GNUTLS_SFLAGS_EARLY_DATA)
        qc->flags |= POST_SECURITY_EARLY_DATA_ACCEPTED;
      server_issue_token (qc);
    }
  else if (qc->early_stream != NULL)
    {
      qc->flags |= POST_SECURITY_EARLY_DATA_SENT;
      if (sflags & GNUTLS_SFLAGS_EARLY_DATA)
        qc->flags |= POST_SECURITY_EARLY_DATA_ACCEPTED;
      else if (early_data_rejected (qc) != 0)
        return NGTCP2_ERR_CALLBACK_FAILURE;
    }
  conn_schedule_events (qc);
  return 0;
}

static int
recv_new_token_cb (ngtcp2_conn      *conn,
                   const ngtcp2_vec *token,
                   void             *user_data)
{
  QuicConn *qc = user_data;

  g_clear_pointer (&qc->token, g_bytes_unref);
  qc->token = g_bytes_new (token->base, token->len);
  return 0;
}

static void
discard_credit (QuicConn *qc,
                int64_t   stream_id,
                gsize     len)
{
  ngtcp2_conn_extend_max_stream_offset (qc->conn, stream_id, len);
  ngtcp2_conn_extend_max_offset (qc->conn, len);
}

static int
stream_open_cb (ngtcp2_conn *conn,
                int64_t      stream_id,
                void        *user_data)
{
  QuicConn *qc = user_data;
  QuicStream *s;
  PostQuicPsi *psi;

  if (ngtcp2_conn_is_local_stream (conn, stream_id))
    return 0;
  s = conn_add_stream (qc, stream_id);
  if (!ngtcp2_is_bidi_stream (stream_id))
    {
      /* The peer's source: announced as a sink, nothing ever sent on it. */
      s->recv_only = TRUE;
      s->fin_requested = s->fin_sent = TRUE;
    }
  psi = new_stream_psi (qc, s, qc->server != NULL ? qc->server->endpoint : NULL);
  /* Datagrams that arrived before the stream's first bytes. */
  for (GList *l = qc->dgram_early.head; l != NULL;)
    {
      GList *next = l->next;
      QuicDgram *early = l->data;

      if (early->stream_id == stream_id)
        {
          g_ptr_array_add (psi->dgram_rx, g_steal_pointer (&early->payload));
          dgram_free (early);
          g_queue_delete_link (&qc->dgram_early, l);
        }
      l = next;
    }
  g_queue_push_tail (&qc->incoming, psi);
  conn_schedule_events (qc);
  return 0;
}

static int
recv_stream_data_cb (ngtcp2_conn   *conn,
                     uint32_t       flags,
                     int64_t        stream_id,
                     uint64_t       offset,
                     const uint8_t *data,
                     size_t         datalen,
                     void          *user_data,
                     void          *stream_user_data)
{
  QuicConn *qc = user_data;
  QuicStream *s = stream_user_data;

  if (s == NULL || s->psi == NULL)
    {
      /* Nobody reads it (a stream whose instance closed, e.g. the peer's
       * unidirectional stream that nobody accepted): consume it. */
      discard_credit (qc, stream_id, datalen);
      return 0;
    }
  g_byte_array_append (s->rx, data, datalen);
  if (flags & NGTCP2_STREAM_DATA_FLAG_FIN)
    s->rx_fin = TRUE;
  conn_schedule_events (qc);
  return 0;
}

static int
acked_stream_data_offset_cb (ngtcp2_conn *conn,
                             int64_t      stream_id,
                             uint64_t     offset,
                             uint64_t     datalen,
                             void        *user_data,
                             void        *stream_user_data)
{
  QuicConn *qc = user_data;
  QuicStream *s = stream_user_data;

  if (s == NULL)
    return 0;
  stream_acked (s, offset + datalen);
  conn_schedule_events (qc);
  return 0;
}

static int
stream_reset_cb (ngtcp2_conn *conn,
                 int64_t      stream_id,
                 uint64_t     final_size,
                 uint64_t     app_error_code,
                 void        *user_data,
                 void        *stream_user_data)
{
  QuicConn *qc = user_data;
  QuicStream *s = stream_user_data;

  if (s != NULL && s->error == NULL && !s->rx_fin && app_error_code == APP_ERROR_REFUSED
      && ngtcp2_conn_is_local_stream (conn, stream_id))
    s->error = g_error_new (POST_ERROR, POST_ERROR_CONNECTION_REFUSED,
                            "%s refused the QUIC stream %" G_GINT64_FORMAT " (it did not accept the fork request)",
                            qc->peer, (gint64) stream_id);
  else if (s != NULL && s->error == NULL && !s->rx_fin)
    s->error = g_error_new (POST_ERROR, POST_ERROR_CONNECTION_RESET,
                            "QUIC stream %" G_GINT64_FORMAT " reset by %s (error %" G_GUINT64_FORMAT ")",
                            (gint64) stream_id, qc->peer, (guint64) app_error_code);
  conn_schedule_events (qc);
  return 0;
}

static int
stream_close_cb (ngtcp2_conn *conn,
                 uint32_t     flags,
                 int64_t      stream_id,
                 uint64_t     app_error_code,
                 void        *user_data,
                 void        *stream_user_data)
{
  QuicConn *qc = user_data;
  QuicStream *s = stream_user_data;

  if (qc->rejecting)
    return 0;   /* early streams discarded: the early stream is reopened */
  if (!ngtcp2_conn_is_local_stream (conn, stream_id))
    {
      /* Give the peer its stream credit back (per-connection limits stay). */
      if (ngtcp2_is_bidi_stream (stream_id))
        ngtcp2_conn_extend_max_streams_bidi (conn, 1);
      else
        ngtcp2_conn_extend_max_streams_uni (conn, 1);
    }
  if (s == NULL)
    return 0;
  s->closed = TRUE;
  if (s->psi == NULL)
    conn_remove_stream (qc, s);
  else
    {
      /* Our unidirectional stream closes normally once its FIN is
       * acknowledged: there is no receiving side to end. */
      if (!s->rx_fin && s->error == NULL
          && !(s->send_only && s->fin_sent && s->tx_acked == s->tx_end))
        s->error = g_error_new (POST_ERROR, POST_ERROR_CONNECTION_RESET,
                                "QUIC stream %" G_GINT64_FORMAT " closed by %s",
                                (gint64) stream_id, qc->peer);
      conn_schedule_events (qc);
    }
  return 0;
}

static void conn_schedule_forks (QuicConn *qc);

static int
extend_max_cb (ngtcp2_conn *conn,
               uint64_t     max_streams,
               void        *user_data)
{
  conn_schedule_write (user_data);
  conn_schedule_forks (user_data);   /* MAX_STREAMS: forks waiting for credit */
  return 0;
}

static int
extend_max_stream_data_cb (ngtcp2_conn *conn,
                           int64_t      stream_id,
                           uint64_t     max_data,
                           void        *user_data,
                           void        *stream_user_data)
{
  conn_schedule_write (user_data);
  return 0;
}

/* Client: the server asked for address validation; ngtcp2 sends the
 * Initial (and 0-RTT packets) again with the token. */
static int
client_recv_retry_cb (ngtcp2_conn         *conn,
                      const ngtcp2_pkt_hd *hd,
                      void                *user_data)
{
  QuicConn *qc = user_data;

  g_debug ("QUIC: %s answered with a Retry: the Initial goes again with its token", qc->peer);
  return ngtcp2_crypto_recv_retry_cb (conn, hd, user_data);
}

static void
init_callbacks (ngtcp2_callbacks *callbacks,
                gboolean          server)
{
  memset (callbacks, 0, sizeof *callbacks);
  if (server)
    callbacks->recv_client_initial = ngtcp2_crypto_recv_client_initial_cb;
  else
    {
      callbacks->client_initial = ngtcp2_crypto_client_initial_cb;
      callbacks->recv_retry = client_recv_retry_cb;
    }
  callbacks->recv_crypto_data = ngtcp2_crypto_recv_crypto_data_cb;
  callbacks->encrypt = ngtcp2_crypto_encrypt_cb;
  callbacks->decrypt = ngtcp2_crypto_decrypt_cb;
  callbacks->hp_mask = ngtcp2_crypto_hp_mask_cb;
  callbacks->update_key = ngtcp2_crypto_update_key_cb;
  callbacks->delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb;
  callbacks->delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb;
  callbacks->get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb;
  callbacks->version_negotiation = ngtcp2_crypto_version_negotiation_cb;
  callbacks->rand = rand_cb;
  callbacks->get_new_connection_id = get_new_connection_id_cb;
  callbacks->remove_connection_id = remove_connection_id_cb;
  callbacks->handshake_completed = handshake_completed_cb;
  callbacks->stream_open = stream_open_cb;
  callbacks->recv_stream_data = recv_stream_data_cb;
  callbacks->acked_stream_data_offset = acked_stream_data_offset_cb;
  callbacks->stream_reset = stream_reset_cb;
  callbacks->stream_close = stream_close_cb;
  callbacks->extend_max_local_streams_bidi = extend_max_cb;
  callbacks->extend_max_stream_data = extend_max_stream_data_cb;
  callbacks->recv_datagram = recv_datagram_cb;
  callbacks->ack_datagram = ack_datagram_cb;
  callbacks->lost_datagram = lost_datagram_cb;
  if (!server)
    callbacks->recv_new_token = recv_new_token_cb;
}

static void
init_params (ngtcp2_transport_params *params,
             PostConfiguration       *configuration,
             guint64                  max_streams_bidi)
{
  ngtcp2_transport_params_default (params);
  params->initial_max_stream_data_bidi_local = option_uint (configuration, "quic.max-stream-data", STREAM_WINDOW);
  params->initial_max_stream_data_bidi_remote = params->initial_max_stream_data_bidi_local;
  params->initial_max_stream_data_uni = params->initial_max_stream_data_bidi_local;
  params->initial_max_data = option_uint (configuration, "quic.max-data", CONN_WINDOW);
  params->initial_max_streams_bidi = max_streams_bidi;
  params->initial_max_streams_uni = MAX_UNI_STREAMS;
  params->max_idle_timeout = option_uint (configuration, "quic.idle-timeout", IDLE_TIMEOUT_MS) * NGTCP2_MILLISECONDS;
  /* Spare connection ids, so that a client can migrate (RFC 9000 9.5:
   * a new path uses a connection id not used before). */
  params->active_connection_id_limit = ACTIVE_CID_LIMIT;
  /* RFC 9221: the peer may send DATAGRAM frames unless `quic.datagrams` is false. */
  params->max_datagram_frame_size = option_datagrams (configuration) ? MAX_DATAGRAM_FRAME : 0;
}

static void
init_settings (ngtcp2_settings   *settings,
               PostConfiguration *configuration)
{
  guint timeout = configuration != NULL ? post_configuration_get_conn_timeout (configuration) : 0;

  ngtcp2_settings_default (settings);
  settings->initial_ts = timestamp ();
  if (timeout > 0)
    settings->handshake_timeout = (ngtcp2_duration) timeout * NGTCP2_MILLISECONDS;
}

/* ---- TLS ------------------------------------------------------------------------------ */

static int
verify_cb (gnutls_session_t session)
{
  ngtcp2_crypto_conn_ref *ref = gnutls_session_get_ptr (session);
  QuicConn *qc = ref->user_data;

  return post_gnutls_verify_peer (session, qc->configuration, qc->server_name,
                                  qc->server != NULL, qc->peer, &qc->verify_error);
}

/* Client: a NewSessionTicket arrived; its session data is exported with
 * the transport parameters and the NEW_TOKEN token once that arrives too
 * (it follows the handshake), or after TICKET_WAIT_MS, or at the end of the
 * connection (conn_export_tickets). */
static int
ticket_hook (gnutls_session_t      session,
             unsigned int          htype,
             unsigned              when,
             unsigned int          incoming,
             const gnutls_datum_t *msg)
{
  ngtcp2_crypto_conn_ref *ref = gnutls_session_get_ptr (session);
  QuicConn *qc = ref->user_data;
  gnutls_datum_t data = { NULL, 0 };

  if (htype != GNUTLS_HANDSHAKE_NEW_SESSION_TICKET || qc->association == NULL)
    return 0;
  if (gnutls_session_get_data2 (session, &data) < 0 || data.size == 0)
    return 0;
  g_ptr_array_add (qc->new_tickets, g_bytes_new (data.data, data.size));
  gnutls_memset (data.data, 0, data.size);
  gnutls_free (data.data);
  return 0;
}

static void conn_export_tickets (QuicConn *qc, gboolean force);

static gboolean
ticket_timer_cb (gpointer user_data)
{
  QuicConn *qc = user_data;

  g_clear_pointer (&qc->ticket_timer, g_source_unref);
  conn_export_tickets (qc, TRUE);
  return G_SOURCE_REMOVE;
}

static void
conn_export_tickets (QuicConn *qc,
                     gboolean  force)
{
  const ngtcp2_transport_params *params;
  guint8 encoded[512];
  ngtcp2_ssize encoded_len = 0;

  if (qc->new_tickets == NULL || qc->new_tickets->len == 0 || qc->conn == NULL)
    return;
  if (!force && qc->token == NULL)
    {
      if (qc->ticket_timer == NULL)
        {
          qc->ticket_timer = g_timeout_source_new (TICKET_WAIT_MS);
          g_source_set_callback (qc->ticket_timer, ticket_timer_cb, qc, NULL);
          g_source_set_static_name (qc->ticket_timer, "[post] quic ticket export");
          g_source_attach (qc->ticket_timer, qc->context);
        }
      return;
    }
  clear_source (&qc->ticket_timer);
  params = ngtcp2_conn_get_remote_transport_params (qc->conn);
  if (params != NULL)
    encoded_len = ngtcp2_encode_transport_params (encoded, sizeof encoded,
                                                  NGTCP2_TRANSPORT_PARAMS_TYPE_ENCRYPTED_EXTENSIONS, params);
  if (encoded_len < 0)
    encoded_len = 0;
  for (guint i = 0; i < qc->new_tickets->len; i++)
    {
      GBytes *session_data = qc->new_tickets->pdata[i];
      gnutls_datum_t datum = { (unsigned char *) g_bytes_get_data (session_data, NULL),
                               g_bytes_get_size (session_data) };
      time_t expiry = gnutls_db_check_entry_expire_time (&datum);
      g_autoptr(GBytes) blob = ticket_pack (session_data, encoded, encoded_len, qc->token);

      if (expiry <= 0)
        expiry = g_get_real_time () / G_USEC_PER_SEC + 3600;
      post_association_add_session_ticket (qc->association, blob, expiry);
      g_debug ("QUIC: stored a session ticket from %s in the association (%s transport parameters%s)",
               qc->peer, encoded_len > 0 ? "with" : "without", qc->token != NULL ? ", a token" : "");
    }
  g_ptr_array_set_size (qc->new_tickets, 0);
}

/* A listener's PSK lookup: the identity among its local's keys. */
static int
server_psk_cb (gnutls_session_t      session,
               const gnutls_datum_t *username,
               gnutls_datum_t       *key)
{
  ngtcp2_crypto_conn_ref *ref = gnutls_session_get_ptr (session);
  QuicConn *qc = ref->user_data;

  return post_gnutls_server_psk_lookup (qc->server != NULL ? qc->server->endpoint : NULL, username, key);
}

static gboolean
gnutls_ok (int          ret,
           const char  *what,
           GError     **error)
{
  if (ret >= 0)
    return TRUE;
  g_set_error (error, POST_ERROR, POST_ERROR_TLS_HANDSHAKE, "%s: %s", what, gnutls_strerror (ret));
  return FALSE;
}

static gboolean
setup_session (QuicConn  *qc,
               gboolean   server,
               GError   **error)
{
  g_auto(GStrv) alpn = post_configuration_get_alpn (qc->configuration);
  gnutls_certificate_credentials_t cred = server ? qc->server->cred : qc->cred;

  unsigned int flags = (server ? GNUTLS_SERVER : GNUTLS_CLIENT) | GNUTLS_NO_END_OF_EARLY_DATA;

  /* `tls.server-early-data` false: tickets still announce early data (so
   * clients try), but a listener refuses it; it is resent after the
   * handshake. */
  if (server ? qc->server->early_data : qc->want_early)
    flags |= GNUTLS_ENABLE_EARLY_DATA;
  if (!gnutls_ok (gnutls_init (&qc->session, flags), "Cannot start a TLS session", error) ||
      !gnutls_ok (gnutls_priority_set_direct (qc->session,
                                              (server ? qc->server->psk != NULL : qc->psk != NULL)
                                              ? priority_string_psk : priority_string, NULL),
                  "Cannot set the TLS priorities", error))
    return FALSE;
  if ((server ? ngtcp2_crypto_gnutls_configure_server_session (qc->session)
              : ngtcp2_crypto_gnutls_configure_client_session (qc->session)) != 0)
    {
      g_set_error_literal (error, POST_ERROR, POST_ERROR_TLS_HANDSHAKE, "Cannot prepare TLS for QUIC");
      return FALSE;
    }
  qc->conn_ref.get_conn = get_conn_cb;
  qc->conn_ref.user_data = qc;
  gnutls_session_set_ptr (qc->session, &qc->conn_ref);
  if (cred != NULL
      && !gnutls_ok (gnutls_credentials_set (qc->session, GNUTLS_CRD_CERTIFICATE, cred),
                     "Cannot set the TLS credentials", error))
    return FALSE;
  if ((server ? (gpointer) qc->server->psk : (gpointer) qc->psk) != NULL
      && !gnutls_ok (gnutls_credentials_set (qc->session, GNUTLS_CRD_PSK,
                                             server ? (gpointer) qc->server->psk : (gpointer) qc->psk),
                     "Cannot set the pre-shared key", error))
    return FALSE;
  if (server && qc->server->request_client_cert)
    {
      /* As the tls stack: client certificates are asked for when the
       * listener's configuration names anchors to verify them with. */
      gnutls_certificate_server_set_request (qc->session, GNUTLS_CERT_REQUEST);
      gnutls_session_set_verify_function (qc->session, verify_cb);
    }
  if (!server)
    {
      gnutls_session_set_verify_function (qc->session, verify_cb);
      if (qc->server_name != NULL && qc->sni)
        gnutls_server_name_set (qc->session, GNUTLS_NAME_DNS, qc->server_name, strlen (qc->server_name));
      if (qc->association != NULL)
        gnutls_handshake_set_hook_function (qc->session, GNUTLS_HANDSHAKE_NEW_SESSION_TICKET,
                                            GNUTLS_HOOK_POST, ticket_hook);
    }
  else
    {
      /* Session tickets and 0-RTT (RFC 9001 4.6.1: QUIC announces a
       * max_early_data_size of 0xffffffff). */
      if (!gnutls_ok (gnutls_session_ticket_enable_server (qc->session, &qc->server->ticket_key),
                      "Cannot enable session tickets", error))
        return FALSE;
      gnutls_anti_replay_enable (qc->session, qc->server->anti_replay);
      gnutls_record_set_max_early_data_size (qc->session, 0xffffffffu);
    }
  if (alpn[0] != NULL)
    {
      if (!post_gnutls_apply_alpn (qc->session, qc->configuration, server, error))
        return FALSE;
    }
  else
    {
      gnutls_datum_t proto = { (unsigned char *) POST_QUIC_DEFAULT_ALPN, strlen (POST_QUIC_DEFAULT_ALPN) };

      if (!gnutls_ok (gnutls_alpn_set_protocols (qc->session, &proto, 1, 0), "Cannot set ALPN", error))
        return FALSE;
    }
  return TRUE;
}

/* ---- the connection --------------------------------------------------------------- */

static QuicConn *
conn_new (PostPsi *psi)
{
  QuicConn *qc = g_new0 (QuicConn, 1);

  qc->ref_count = 1;
  qc->context = g_main_context_ref (POST_QUIC_PSI (psi)->context);
  qc->stack = g_object_ref (post_psi_get_stack (psi));
  qc->configuration = g_object_ref (post_psi_get_configuration (psi));
  qc->streams = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, (GDestroyNotify) stream_free);
  qc->cids = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  qc->new_tickets = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_queue_init (&qc->incoming);
  conn_init_datagrams (qc);
  return qc;
}

static QuicConn *
conn_ref (QuicConn *qc)
{
  g_atomic_int_inc (&qc->ref_count);
  return qc;
}

static void server_unref (QuicServer *server);

static void
conn_unref (QuicConn *qc)
{
  if (!g_atomic_int_dec_and_test (&qc->ref_count))
    return;
  clear_source (&qc->timer);
  clear_source (&qc->write_idle);
  clear_source (&qc->event_idle);
  clear_source (&qc->linger);
  clear_source (&qc->socket_source);
  clear_source (&qc->ticket_timer);
  clear_source (&qc->migrate_idle);
  clear_source (&qc->fork_idle);
  g_queue_clear_full (&qc->incoming, g_object_unref);
  conn_clear_datagrams (qc);
  g_hash_table_unref (qc->streams);
  if (qc->conn != NULL)
    ngtcp2_conn_del (qc->conn);
  if (qc->session != NULL)
    gnutls_deinit (qc->session);
  if (qc->cred != NULL)
    gnutls_certificate_free_credentials (qc->cred);
  if (qc->psk != NULL)
    gnutls_psk_free_client_credentials (qc->psk);
  g_ptr_array_unref (qc->cids);
  g_ptr_array_unref (qc->new_tickets);
  g_clear_pointer (&qc->token, g_bytes_unref);
  g_clear_object (&qc->association);
  if (qc->socket != NULL)
    g_socket_close (qc->socket, NULL);
  g_clear_object (&qc->socket);
  g_clear_pointer (&qc->server, server_unref);
  g_clear_object (&qc->local_address);
  g_clear_object (&qc->remote_address);
  g_clear_object (&qc->stack);
  g_clear_object (&qc->configuration);
  g_clear_error (&qc->error);
  g_clear_error (&qc->verify_error);
  g_free (qc->server_name);
  g_free (qc->peer);
  g_free (qc->txbuf);
  g_main_context_unref (qc->context);
  g_free (qc);
}

static void
conn_send_run (QuicConn      *qc,
               const guint8  *data,
               gsize          len,
               gsize          segment)
{
  int err;
  gboolean sent;

  if (qc->server != NULL)
    sent = post_quic_udp_send (&qc->server->udp, g_socket_get_fd (qc->server->socket),
                               (struct sockaddr *) &qc->remote, qc->remote_len,
                               data, len, segment, &err);
  else
    sent = post_quic_udp_send (&qc->udp, g_socket_get_fd (qc->socket), NULL, 0,
                               data, len, segment, &err);
  if (!sent && err != EAGAIN && err != EWOULDBLOCK && err != ECONNREFUSED)
    g_debug ("QUIC: sending to %s failed: %s", qc->peer, g_strerror (err));
  if (!sent && qc->server == NULL && (err == EADDRNOTAVAIL || err == ENETUNREACH || err == ENETDOWN))
    conn_schedule_self_migration (qc);
  /* A datagram that could not go out is lost; QUIC's loss recovery resends. */
}

/* One packet. */
static void
conn_send (QuicConn      *qc,
           const guint8  *data,
           gsize          len)
{
  conn_send_run (qc, data, len, 0);
}

/* Whether the native address @a (of @a_len) is @b (of @b_len) */
static gboolean
native_equal (const struct sockaddr *a,
              socklen_t              a_len,
              const struct sockaddr *b,
              socklen_t              b_len)
{
  return a_len == b_len && a_len > 0 && memcmp (a, b, a_len) == 0;
}

/* Sends a run of packets ngtcp2 wrote for @path (ngtcp2_conn_writev_stream's
 * path storage; conn_write never puts packets of two paths in one run): a
 * server sends to that path's remote (after a peer's migration, path
 * validation probes go to the new address while the old one may still get
 * packets); a client sends on its socket, which is bound to the current
 * local address, and drops what ngtcp2 meant for a local address it has
 * left (connection migration). */
static void
conn_send_run_on_path (QuicConn           *qc,
                       const ngtcp2_path  *path,
                       const guint8       *data,
                       gsize               len,
                       gsize               segment)
{
  if (path->remote.addrlen == 0)
    {
      conn_send_run (qc, data, len, segment);
      return;
    }
  if (qc->server != NULL)
    {
      int err;

      if (!post_quic_udp_send (&qc->server->udp, g_socket_get_fd (qc->server->socket),
                               (const struct sockaddr *) path->remote.addr, path->remote.addrlen,
                               data, len, segment, &err)
          && err != EAGAIN && err != EWOULDBLOCK && err != ECONNREFUSED)
        g_debug ("QUIC: sending to %s failed: %s", qc->peer, g_strerror (err));
      return;
    }
  if (path->local.addrlen != 0
      && !native_equal ((const struct sockaddr *) path->local.addr, path->local.addrlen,
                        (const struct sockaddr *) &qc->local, qc->local_len))
    {
      g_debug ("QUIC: dropping packets to %s for a local address left by migration", qc->peer);
      return;
    }
  conn_send_run (qc, data, len, segment);
}

static void
conn_arm_timer (QuicConn *qc)
{
  ngtcp2_tstamp expiry;

  if (qc->timer == NULL || qc->closed)
    return;
  expiry = ngtcp2_conn_get_expiry (qc->conn);
  if (expiry == G_MAXUINT64)
    g_source_set_ready_time (qc->timer, -1);
  else
    g_source_set_ready_time (qc->timer, (gint64) ((expiry + 999) / 1000));
}

static GError *
conn_close_error (QuicConn *qc,
                  int       rv)
{
  ngtcp2_connection_close_error ccerr;

  if (qc->verify_error != NULL)
    return g_error_copy (qc->verify_error);
  if (rv == NGTCP2_ERR_DRAINING || rv == NGTCP2_ERR_CLOSING)
    {
      ngtcp2_conn_get_connection_close_error (qc->conn, &ccerr);
      if (ccerr.type == NGTCP2_CONNECTION_CLOSE_ERROR_CODE_TYPE_TRANSPORT
          && (ccerr.error_code & ~(guint64) 0xff) == NGTCP2_CRYPTO_ERROR)
        {
          int alert = (int) (ccerr.error_code & 0xff);

          /* The server found no key for our identity, or our binder did
           * not verify with its key. */
          if (qc->offered_psk && !qc->handshake_done
              && (alert == GNUTLS_A_UNKNOWN_PSK_IDENTITY || alert == GNUTLS_A_DECRYPT_ERROR
                  || alert == GNUTLS_A_ILLEGAL_PARAMETER))
            return g_error_new (POST_ERROR, POST_ERROR_TLS_PSK_MISMATCH,
                                "QUIC handshake with %s failed: the peer does not share our pre-shared key (TLS alert %s)",
                                qc->peer, gnutls_alert_get_name ((gnutls_alert_description_t) alert));
        }
      if (ccerr.type == NGTCP2_CONNECTION_CLOSE_ERROR_CODE_TYPE_TRANSPORT
          && (ccerr.error_code & ~(guint64) 0xff) == NGTCP2_CRYPTO_ERROR)
        return g_error_new (POST_ERROR, ccerr.error_code == (NGTCP2_CRYPTO_ERROR | GNUTLS_A_NO_APPLICATION_PROTOCOL)
                            ? POST_ERROR_TLS_HANDSHAKE : POST_ERROR_TLS_REJECTED,
                            "QUIC handshake with %s failed: the peer sent TLS alert %s",
                            qc->peer, gnutls_alert_get_name ((gnutls_alert_description_t) (ccerr.error_code & 0xff)));
      if (ccerr.error_code == 0)
        return g_error_new (POST_ERROR, POST_ERROR_CONNECTION_RESET,
                            "QUIC connection closed by %s", qc->peer);
      if (ccerr.type == NGTCP2_CONNECTION_CLOSE_ERROR_CODE_TYPE_TRANSPORT
          && ccerr.error_code == NGTCP2_CONNECTION_REFUSED)
        return g_error_new (POST_ERROR, POST_ERROR_CONNECTION_REFUSED,
                            "%s refused the QUIC connection%s%.*s", qc->peer, ccerr.reasonlen ? ": " : "",
                            (int) ccerr.reasonlen, ccerr.reason ? (const char *) ccerr.reason : "");
      return g_error_new (POST_ERROR, POST_ERROR_CONNECTION_RESET,
                          "QUIC connection closed by %s with error 0x%" G_GINT64_MODIFIER "x%s%.*s",
                          qc->peer, (guint64) ccerr.error_code, ccerr.reasonlen ? ": " : "",
                          (int) ccerr.reasonlen, ccerr.reason ? (const char *) ccerr.reason : "");
    }
  if (rv == NGTCP2_ERR_IDLE_CLOSE)
    return g_error_new (POST_ERROR, POST_ERROR_TIMED_OUT, "QUIC connection with %s idle for too long", qc->peer);
  if (rv == NGTCP2_ERR_HANDSHAKE_TIMEOUT)
    return g_error_new (POST_ERROR, POST_ERROR_TIMED_OUT, "QUIC handshake with %s timed out", qc->peer);
  if (rv == NGTCP2_ERR_CRYPTO)
    return g_error_new (POST_ERROR, POST_ERROR_TLS_HANDSHAKE, "QUIC handshake with %s failed (TLS alert %s)",
                        qc->peer, gnutls_alert_get_name ((gnutls_alert_description_t) ngtcp2_conn_get_tls_alert (qc->conn)));
  return g_error_new (POST_ERROR, POST_ERROR_PROTOCOL, "QUIC connection with %s failed: %s",
                      qc->peer, ngtcp2_strerror (rv));
}

/* Fails the connection after an ngtcp2 error @rv. */
static void
conn_fail (QuicConn *qc,
           int       rv)
{
  gboolean send_close = rv != NGTCP2_ERR_DRAINING && rv != NGTCP2_ERR_CLOSING
                        && rv != NGTCP2_ERR_IDLE_CLOSE && rv != NGTCP2_ERR_DROP_CONN;
  GError *error = conn_close_error (qc, rv);

  if (send_close && qc->conn != NULL)
    {
      ngtcp2_connection_close_error ccerr;
      guint8 buf[MAX_PACKET];
      ngtcp2_path_storage ps;
      ngtcp2_ssize n;

      ngtcp2_path_storage_zero (&ps);
      if (rv == NGTCP2_ERR_CRYPTO)
        ngtcp2_connection_close_error_set_transport_error_tls_alert (&ccerr, ngtcp2_conn_get_tls_alert (qc->conn), NULL, 0);
      else
        ngtcp2_connection_close_error_set_transport_error_liberr (&ccerr, rv, NULL, 0);
      n = ngtcp2_conn_write_connection_close (qc->conn, &ps.path, NULL, buf, sizeof buf, &ccerr, timestamp ());
      if (n > 0)
        conn_send (qc, buf, n);
    }
  conn_terminate (qc, error, FALSE);
}

/* Streams by the niceness of what their carriers write (lower first), then
 * in the order they were opened. */
static gint
compare_stream_priority (gconstpointer a,
                         gconstpointer b)
{
  const QuicStream *sa = *(QuicStream * const *) a;
  const QuicStream *sb = *(QuicStream * const *) b;

  if (sa->priority != sb->priority)
    return sa->priority < sb->priority ? -1 : 1;
  return sa->id < sb->id ? -1 : sa->id > sb->id;
}

/* Writes the head datagram into a packet (packing more when ngtcp2 lets
 * us).  Returns the packet length as ngtcp2_conn_writev_datagram(), or
 * NGTCP2_ERR_WRITE_MORE to go on filling the packet. */
static ngtcp2_ssize
conn_write_dgram (QuicConn        *qc,
                  QuicDgram       *dg,
                  ngtcp2_path     *path,
                  ngtcp2_pkt_info *pi,
                  guint8          *buf,
                  size_t           max)
{
  ngtcp2_vec vec;
  int accepted = 0;
  ngtcp2_ssize n;

  vec.base = (uint8_t *) g_bytes_get_data (dg->payload, &vec.len);
  n = ngtcp2_conn_writev_datagram (qc->conn, path, pi, buf, max, &accepted,
                                   NGTCP2_WRITE_DATAGRAM_FLAG_MORE, dg->dgram_id,
                                   &vec, 1, timestamp ());
  if (accepted)
    {
      g_queue_remove (&qc->dgram_tx, dg);
      g_clear_pointer (&dg->payload, g_bytes_unref);
      dgram_report (qc, dg, POST_DATAGRAM_SENT);
      g_hash_table_insert (qc->dgram_inflight, &dg->dgram_id, dg);
    }
  else if (n == NGTCP2_ERR_INVALID_ARGUMENT || n == NGTCP2_ERR_INVALID_STATE)
    {
      /* Larger than the peer takes, or not negotiated: it cannot go. */
      g_queue_remove (&qc->dgram_tx, dg);
      dgram_report (qc, dg, POST_DATAGRAM_LOST);
      dgram_free (dg);
      return NGTCP2_ERR_WRITE_MORE;
    }
  return n;
}

/*
 * The most important niceness that has something to send: a stream with
 * unsent data, or whose carrier has more queued in the core (it asked for
 * G_IO_OUT) and the flow-control credit to send it, or a queued datagram.
 * Streams and datagrams of nicer values wait for it (strict priority:
 * "messages of niceness n+1 yield to those of niceness n"), instead of
 * filling the gaps while the important carrier refills its stream.
 */
static guint
conn_top_priority (QuicConn *qc)
{
  GHashTableIter iter;
  QuicStream *s;
  QuicDgram *dg = g_queue_peek_head (&qc->dgram_tx);
  guint top = dg != NULL ? dg->priority : G_MAXUINT;

  g_hash_table_iter_init (&iter, qc->streams);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &s))
    {
      if (s->priority >= top || s->closed)
        continue;
      if (stream_has_pending (s)
          || (s->psi != NULL && (s->psi->interest & G_IO_OUT) && !s->fin_requested
              && s->error == NULL && !s->recv_only
              && ngtcp2_conn_get_max_stream_data_left (qc->conn, s->id) > 0))
        top = s->priority;
    }
  return top;
}

/* Packets are written into qc->txbuf one after another and go out as one
 * GSO run while they are of the same size (the first one's: only the last
 * may be shorter) and for the same path. */
static void
conn_write (QuicConn *qc)
{
  guint8 *buf;
  gsize run_len = 0, run_segment = 0;
  guint run_count = 0;
  ngtcp2_path_storage ps, run_ps;
  g_autoptr(GPtrArray) pending = g_ptr_array_new ();
  GHashTableIter iter;
  QuicStream *s;
  guint next = 0, top = G_MAXUINT;
  gboolean more = FALSE;   /* inside a packet ngtcp2 is filling (WRITE_MORE) */
  /* One for all the calls that fill a packet (ngtcp2 wants the same one
   * after NGTCP2_ERR_WRITE_MORE: it carries the packet's ECN marking). */
  ngtcp2_pkt_info pi = { 0 };
  gint64 now = 0;
  size_t max = ngtcp2_conn_get_path_max_tx_udp_payload_size (qc->conn);

  if (qc->closed || ngtcp2_conn_is_in_closing_period (qc->conn) || ngtcp2_conn_is_in_draining_period (qc->conn))
    return;
  if (max > MAX_PACKET)
    max = MAX_PACKET;
  if (qc->txbuf == NULL)
    qc->txbuf = g_malloc (POST_QUIC_UDP_BATCH_MAX);
  buf = qc->txbuf;
  ngtcp2_path_storage_zero (&ps);
  ngtcp2_path_storage_zero (&run_ps);
  g_hash_table_iter_init (&iter, qc->streams);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &s))
    {
      s->blocked = FALSE;
      if (stream_has_pending (s))
        g_ptr_array_add (pending, s);
    }
  g_ptr_array_sort (pending, compare_stream_priority);

  for (guint packets = 0; packets < 1024; )
    {
      ngtcp2_vec vecs[8];
      size_t nvecs = 0;
      int64_t stream_id = -1;
      uint32_t flags = NGTCP2_WRITE_STREAM_FLAG_MORE;
      ngtcp2_ssize ndatalen = -1, n;
      QuicDgram *dg;

      /* Expired datagrams go first; what is most important may change as
       * datagrams leave (not between the calls that fill one packet, where
       * ngtcp2 wants no other call). */
      dg = conn_next_dgram (qc, &now);
      if (!more)
        {
          guint t = conn_top_priority (qc);

          if (t != top)
            {
              top = t;
              next = 0;
            }
        }
      more = FALSE;
      s = NULL;
      while (next < pending->len)
        {
          QuicStream *candidate = pending->pdata[next];

          if (candidate->priority > top)
            {
              next = pending->len;   /* nicer streams wait (sorted: all the rest) */
              break;
            }
          if (!candidate->blocked && stream_has_pending (candidate))
            {
              s = candidate;
              break;
            }
          next++;
        }
      /* A datagram goes before the stream data of the same or a nicer
       * niceness. */
      if (dg != NULL && dg->priority <= top && (s == NULL || dg->priority <= s->priority))
        {
          /* Into the run as a stream packet would go (same size, same path). */
          n = conn_write_dgram (qc, dg, &ps.path, &pi, buf + run_len,
                                run_count > 0 ? run_segment : max);
          if (n == NGTCP2_ERR_WRITE_MORE)
            {
              more = TRUE;
              continue;
            }
          if (n < 0)
            {
              conn_fail (qc, n);
              return;
            }
          if (n == 0 && run_count > 0)
            {
              /* It does not fit in a packet of the run's size: the run
               * goes, and the datagram gets a whole packet. */
              conn_send_run_on_path (qc, &run_ps.path, buf, run_len, run_segment);
              run_len = run_count = 0;
              continue;
            }
          if (n == 0)
            break;   /* congestion limited */
        }
      else
        {
          if (s != NULL)
            {
              stream_id = s->id;
              nvecs = stream_unsent (s, vecs, G_N_ELEMENTS (vecs));
              if (s->fin_requested)
                {
                  gsize total = 0;

                  for (size_t i = 0; i < nvecs; i++)
                    total += vecs[i].len;
                  if (s->tx_sent + total == s->tx_end)
                    flags |= NGTCP2_WRITE_STREAM_FLAG_FIN;
                }
            }
          n = ngtcp2_conn_writev_stream (qc->conn, &ps.path, &pi, buf + run_len,
                                         run_count > 0 ? run_segment : max, &ndatalen, flags,
                                         stream_id, nvecs ? vecs : NULL, nvecs, timestamp ());
          if (s != NULL && ndatalen >= 0)
            {
              if (ndatalen > 0)
                s->tx_packets++;
              s->tx_sent += ndatalen;
              if ((flags & NGTCP2_WRITE_STREAM_FLAG_FIN) && s->tx_sent == s->tx_end)
                s->fin_sent = TRUE;
            }
          if (n < 0)
            {
              switch (n)
                {
                case NGTCP2_ERR_WRITE_MORE:
                  more = TRUE;
                  continue;
                case NGTCP2_ERR_STREAM_DATA_BLOCKED:
                case NGTCP2_ERR_STREAM_SHUT_WR:
                case NGTCP2_ERR_STREAM_NOT_FOUND:
                  if (s != NULL)
                    s->blocked = TRUE;
                  continue;
                default:
                  conn_fail (qc, n);
                  return;
                }
            }
          if (n == 0)
            break;
        }
      packets++;
      if (run_count > 0 && !ngtcp2_path_eq (&run_ps.path, &ps.path))
        {
          /* A packet for another path (migration, path validation): the
           * run so far goes, this packet starts the next one. */
          conn_send_run_on_path (qc, &run_ps.path, buf, run_len, run_segment);
          memmove (buf, buf + run_len, n);
          run_len = run_count = 0;
        }
      if (run_count == 0)
        {
          run_segment = n;
          ngtcp2_path_copy (&run_ps.path, &ps.path);
        }
      run_len += n;
      run_count++;
      /* A short packet ends the run; so does a full buffer. */
      if ((gsize) n < run_segment || run_count == POST_QUIC_UDP_SEGMENTS_MAX
          || run_len + run_segment > POST_QUIC_UDP_BATCH_MAX)
        {
          conn_send_run_on_path (qc, &run_ps.path, buf, run_len, run_segment);
          run_len = run_count = 0;
        }
    }
  if (run_count > 0)
    conn_send_run_on_path (qc, &run_ps.path, buf, run_len, run_segment);
  conn_arm_timer (qc);
}

static gboolean
write_idle_cb (gpointer user_data)
{
  QuicConn *qc = user_data;

  g_clear_pointer (&qc->write_idle, g_source_unref);
  conn_ref (qc);
  if (!qc->closed)
    conn_write (qc);
  conn_unref (qc);
  return G_SOURCE_REMOVE;
}

static void
conn_schedule_write (QuicConn *qc)
{
  if (qc->write_idle != NULL || qc->closed)
    return;
  qc->write_idle = g_idle_source_new ();
  g_source_set_callback (qc->write_idle, write_idle_cb, qc, NULL);
  g_source_set_static_name (qc->write_idle, "[post] quic write");
  g_source_attach (qc->write_idle, qc->context);
}

static void
complete_connect (QuicConn *qc)
{
  PostQuicPsi *self = qc->connecting;
  g_autoptr(GTask) task = NULL;
  int64_t stream_id;
  int rv;

  qc->connecting = NULL;
  task = g_steal_pointer (&self->connect_task);
  if (self->cancel_id != 0)
    g_cancellable_disconnect (self->cancellable, self->cancel_id);
  self->cancel_id = 0;
  g_clear_object (&self->cancellable);
  if (self->stream != NULL)
    {
      /* The stream opened for 0-RTT (reopened if the server refused it). */
      attach_stream (self, qc, self->stream);
    }
  else
    {
      QuicStream *s;
      gboolean source = is_source (POST_PSI (self));

      if (source)
        rv = ngtcp2_conn_open_uni_stream (qc->conn, &stream_id, NULL);
      else
        rv = ngtcp2_conn_open_bidi_stream (qc->conn, &stream_id, NULL);
      if (rv != 0)
        {
          g_task_return_new_error (task, POST_ERROR, POST_ERROR_CONNECTION_REFUSED,
                                   "%s allows no stream on the QUIC connection", qc->peer);
          return;
        }
      s = conn_add_stream (qc, stream_id);
      s->send_only = source;
      if (self->early_data != NULL)
        {
          /* Early data that could not go in 0-RTT goes first now. */
          gsize len;
          const guint8 *data = g_bytes_get_data (self->early_data, &len);

          stream_append (s, data, len);
          g_clear_pointer (&self->early_data, g_bytes_unref);
          conn_schedule_write (qc);
        }
      attach_stream (self, qc, s);
    }
  post_psi_set_addresses (POST_PSI (self), qc->local_address, qc->remote_address);
  g_task_return_boolean (task, TRUE);
  update_ready (self);
}

static PostQuicPsi *
conn_primary (QuicConn    *qc,
              PostQuicPsi *except)
{
  GHashTableIter iter;
  QuicStream *s;
  PostQuicPsi *best = NULL;

  g_hash_table_iter_init (&iter, qc->streams);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &s))
    if (s->psi != NULL && s->psi != except && s->psi->mode == MODE_STREAM
        && !g_queue_find (&qc->incoming, s->psi)
        && (best == NULL || s->id < best->stream->id))
      best = s->psi;
  return best;
}

static void
fail_connect (PostQuicPsi *self,
              GError      *error)
{
  g_autoptr(GTask) task = g_steal_pointer (&self->connect_task);

  if (self->cancel_id != 0)
    g_cancellable_disconnect (self->cancellable, self->cancel_id);
  self->cancel_id = 0;
  g_clear_object (&self->cancellable);
  if (task != NULL)
    g_task_return_error (task, error);
  else
    g_error_free (error);
}

static gboolean
event_idle_cb (gpointer user_data)
{
  QuicConn *qc = user_data;
  PostQuicPsi *psi;
  g_autoptr(GPtrArray) psis = g_ptr_array_new_with_free_func (g_object_unref);
  GHashTableIter iter;
  QuicStream *s;

  g_clear_pointer (&qc->event_idle, g_source_unref);
  conn_ref (qc);

  if (qc->connecting != NULL)
    {
      PostQuicPsi *self = qc->connecting;

      if (self->cancellable != NULL && g_cancellable_is_cancelled (self->cancellable))
        {
          qc->connecting = NULL;
          fail_connect (self, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, "Operation was cancelled"));
          conn_terminate (qc, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, "Operation was cancelled"), TRUE);
        }
      else if (qc->closed)
        {
          qc->connecting = NULL;
          fail_connect (self, g_error_copy (qc->error));
        }
      else if (qc->handshake_done)
        complete_connect (qc);
    }

  /* A listener announces streams once the handshake is done (0-RTT data
   * waits in them until then). */
  while ((qc->server == NULL || qc->handshake_done || qc->closed)
         && (psi = g_queue_pop_head (&qc->incoming)) != NULL)
    {
      if (qc->closed)
        post_psi_close (POST_PSI (psi), TRUE);
      else if (qc->server != NULL && !qc->announced)
        {
          /* The first stream of an accepted connection is the accepted
           * instance; later ones are fork requests. */
          qc->announced = TRUE;
          qc->announcing = psi;
          if (qc->server->listener != NULL)
            post_psi_emit_accepted (POST_PSI (qc->server->listener), POST_PSI (psi));
          else
            post_psi_close (POST_PSI (psi), TRUE);
        }
      else
        {
          PostQuicPsi *target = conn_primary (qc, psi);

          if (target != NULL)
            {
              g_object_ref (target);
              qc->announcing = psi;
              post_psi_emit_fork_request (POST_PSI (target), POST_PSI (psi));
              g_object_unref (target);
            }
          else
            post_psi_close (POST_PSI (psi), TRUE);
        }
      qc->announcing = NULL;
      g_object_unref (psi);
    }

  g_hash_table_iter_init (&iter, qc->streams);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &s))
    if (s->psi != NULL)
      g_ptr_array_add (psis, g_object_ref (s->psi));
  for (guint i = 0; i < psis->len; i++)
    {
      /* Datagrams for a stream not announced yet (a listener waits for the
       * handshake) wait with it. */
      if (!g_queue_find (&qc->incoming, psis->pdata[i]))
        psi_flush_datagrams (psis->pdata[i]);
      update_ready (psis->pdata[i]);
    }
  conn_unref (qc);
  return G_SOURCE_REMOVE;
}

static void
conn_schedule_events (QuicConn *qc)
{
  if (qc->event_idle != NULL)
    return;
  qc->event_idle = g_idle_source_new ();
  g_source_set_callback (qc->event_idle, event_idle_cb, qc, NULL);
  g_source_set_static_name (qc->event_idle, "[post] quic events");
  g_source_attach (qc->event_idle, qc->context);
}

/* Ends the connection: CONNECTION_CLOSE (NO_ERROR) when @send_close, every
 * source stopped, every stream instance told (@error, or end of stream
 * where the peer had finished). */
static void
conn_terminate (QuicConn *qc,
                GError   *error,
                gboolean  send_close)
{
  if (qc->closed)
    {
      g_clear_error (&error);
      return;
    }
  conn_ref (qc);
  conn_export_tickets (qc, TRUE);
  clear_source (&qc->ticket_timer);
  if (send_close && qc->conn != NULL && !ngtcp2_conn_is_in_closing_period (qc->conn)
      && !ngtcp2_conn_is_in_draining_period (qc->conn))
    {
      ngtcp2_connection_close_error ccerr;
      guint8 buf[MAX_PACKET];
      ngtcp2_path_storage ps;
      ngtcp2_ssize n;

      ngtcp2_path_storage_zero (&ps);
      ngtcp2_connection_close_error_default (&ccerr);
      n = ngtcp2_conn_write_connection_close (qc->conn, &ps.path, NULL, buf, sizeof buf, &ccerr, timestamp ());
      if (n > 0)
        conn_send (qc, buf, n);
    }
  qc->closed = TRUE;
  if (error == NULL)
    error = g_error_new (POST_ERROR, POST_ERROR_CLOSED, "The QUIC connection with %s is closed", qc->peer);
  qc->error = error;
  clear_source (&qc->timer);
  clear_source (&qc->write_idle);
  clear_source (&qc->linger);
  clear_source (&qc->socket_source);
  clear_source (&qc->migrate_idle);
  if (qc->server != NULL)
    {
      for (guint i = 0; i < qc->cids->len; i++)
        if (g_hash_table_lookup (qc->server->cids, qc->cids->pdata[i]) == qc)
          g_hash_table_remove (qc->server->cids, qc->cids->pdata[i]);
      g_hash_table_remove (qc->server->conns, qc);   /* drops the server's reference */
    }
  conn_schedule_events (qc);
  conn_schedule_forks (qc);   /* forks waiting for credit fail */
  conn_unref (qc);
}

static gboolean
linger_cb (gpointer user_data)
{
  QuicConn *qc = user_data;

  g_clear_pointer (&qc->linger, g_source_unref);
  conn_terminate (qc, NULL, TRUE);
  return G_SOURCE_REMOVE;
}

static gboolean
conn_all_acked (QuicConn *qc)
{
  GHashTableIter iter;
  QuicStream *s;

  g_hash_table_iter_init (&iter, qc->streams);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &s))
    if (!s->closed && (s->tx_acked < s->tx_end || (s->fin_requested && !s->fin_sent)))
      return FALSE;
  return TRUE;
}

/* The last stream instance is gone: close now, or once what was written
 * is acknowledged (at most LINGER_MS). */
static void
conn_check_idle (QuicConn *qc,
                 gboolean  abort)
{
  if (qc->closed || qc->n_psis > 0 || qc->connecting != NULL)
    return;
  if (qc->server != NULL && !qc->had_stream && !abort)
    return;   /* accepted, no stream yet: the listener keeps it */
  if (abort || conn_all_acked (qc))
    {
      conn_terminate (qc, NULL, TRUE);
      return;
    }
  if (qc->linger == NULL)
    {
      qc->linger = g_timeout_source_new (LINGER_MS);
      g_source_set_callback (qc->linger, linger_cb, qc, NULL);
      g_source_set_static_name (qc->linger, "[post] quic linger");
      g_source_attach (qc->linger, qc->context);
    }
}

static void
conn_read_packet (QuicConn              *qc,
                  const guint8          *data,
                  gsize                  len,
                  const struct sockaddr *from,
                  socklen_t              from_len)
{
  ngtcp2_path path;
  ngtcp2_pkt_info pi = { 0 };
  int rv;

  if (qc->closed)
    return;
  path.local.addr = (ngtcp2_sockaddr *) &qc->local;
  path.local.addrlen = qc->local_len;
  path.remote.addr = (ngtcp2_sockaddr *) from;
  path.remote.addrlen = from_len;
  path.user_data = NULL;
  rv = ngtcp2_conn_read_pkt (qc->conn, &path, &pi, data, len, timestamp ());
  if (rv != 0)
    {
      conn_fail (qc, rv);
      return;
    }
}

static gboolean
timer_dispatch (GSource     *source,
                GSourceFunc  callback,
                gpointer     user_data)
{
  g_source_set_ready_time (source, -1);
  return callback (user_data);
}

static GSourceFuncs timer_funcs = { NULL, NULL, timer_dispatch, NULL, NULL, NULL };

static gboolean
timer_cb (gpointer user_data)
{
  QuicConn *qc = user_data;
  int rv;

  conn_ref (qc);
  rv = ngtcp2_conn_handle_expiry (qc->conn, timestamp ());
  if (rv != 0)
    conn_fail (qc, rv);
  else
    conn_write (qc);
  if (qc->linger != NULL && conn_all_acked (qc))
    conn_terminate (qc, NULL, TRUE);
  conn_unref (qc);
  return G_SOURCE_CONTINUE;
}

static void
conn_start_timer (QuicConn *qc)
{
  qc->timer = g_source_new (&timer_funcs, sizeof (GSource));
  g_source_set_callback (qc->timer, timer_cb, qc, NULL);
  g_source_set_static_name (qc->timer, "[post] quic timer");
  g_source_attach (qc->timer, qc->context);
}

/* After packets were read: write what they call for, and deliver. */
static void
conn_after_read (QuicConn *qc)
{
  conn_export_tickets (qc, FALSE);
  if (qc->closed)
    return;
  conn_check_path (qc);
  if (qc->closed)
    return;
  conn_write (qc);
  if (qc->linger != NULL && conn_all_acked (qc))
    conn_terminate (qc, NULL, TRUE);
}

static gboolean
client_socket_cb (GSocket      *socket,
                  GIOCondition  condition,
                  gpointer      user_data)
{
  QuicConn *qc = user_data;
  guint8 buf[65536];
  int fd = g_socket_get_fd (socket);

  conn_ref (qc);
  for (guint i = 0; i < RECV_BATCH && !qc->closed; i++)
    {
      struct sockaddr_storage from;
      socklen_t from_len = sizeof from;
      gsize segment;
      gssize n = post_quic_udp_recv (&qc->udp, fd, buf, sizeof buf, &from, &from_len, &segment);

      if (n < 0)
        {
          if (errno == ECONNREFUSED && !qc->handshake_done)
            conn_terminate (qc, g_error_new (POST_ERROR, POST_ERROR_CONNECTION_REFUSED,
                                             "%s refused the QUIC connection (port unreachable)", qc->peer),
                            FALSE);
          else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNREFUSED)
            g_debug ("QUIC: receiving from %s failed: %s", qc->peer, g_strerror (errno));
          if (errno == EADDRNOTAVAIL || errno == ENETUNREACH || errno == ENETDOWN)
            conn_schedule_self_migration (qc);
          break;
        }
      /* With GRO, one receive may hold several datagrams of @segment bytes. */
      for (gssize off = 0; off < n && !qc->closed; off += segment)
        conn_read_packet (qc, buf + off, MIN ((gsize) (n - off), segment),
                          (struct sockaddr *) &from, from_len);
    }
  conn_after_read (qc);
  conn_unref (qc);
  return G_SOURCE_CONTINUE;
}

/* ---- the listener's socket ------------------------------------------------------- */

static QuicServer *
server_ref (QuicServer *server)
{
  g_atomic_int_inc (&server->ref_count);
  return server;
}

static void
server_unref (QuicServer *server)
{
  if (!g_atomic_int_dec_and_test (&server->ref_count))
    return;
  clear_source (&server->source);
  g_hash_table_unref (server->cids);
  g_hash_table_unref (server->conns);
  if (server->socket != NULL)
    g_socket_close (server->socket, NULL);
  g_clear_object (&server->socket);
  g_clear_object (&server->local_address);
  g_clear_object (&server->stack);
  g_clear_object (&server->configuration);
  g_clear_object (&server->endpoint);
  if (server->cred != NULL)
    gnutls_certificate_free_credentials (server->cred);
  if (server->psk != NULL)
    gnutls_psk_free_server_credentials (server->psk);
  if (server->ticket_key.data != NULL)
    {
      gnutls_memset (server->ticket_key.data, 0, server->ticket_key.size);
      gnutls_free (server->ticket_key.data);
    }
  if (server->anti_replay != NULL)
    gnutls_anti_replay_deinit (server->anti_replay);
  g_clear_pointer (&server->seen, g_hash_table_unref);
  g_main_context_unref (server->context);
  g_free (server);
}

/* GnuTLS anti-replay keeps ClientHello digests through this function (as
 * on tls): a replayed 0-RTT ClientHello has its early data refused. */
static int
anti_replay_add (void                 *ptr,
                 time_t                expiry,
                 const gnutls_datum_t *key,
                 const gnutls_datum_t *data)
{
  QuicServer *server = ptr;
  g_autoptr(GBytes) k = g_bytes_new (key->data, key->size);
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  gpointer old = g_hash_table_lookup (server->seen, k);

  if (old != NULL && GPOINTER_TO_SIZE (old) > (gsize) now)
    return GNUTLS_E_DB_ENTRY_EXISTS;
  if (g_hash_table_size (server->seen) >= ANTI_REPLAY_MAX)
    {
      GHashTableIter iter;
      gpointer value;

      g_hash_table_iter_init (&iter, server->seen);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        if (GPOINTER_TO_SIZE (value) <= (gsize) now)
          g_hash_table_iter_remove (&iter);
      if (g_hash_table_size (server->seen) >= ANTI_REPLAY_MAX)
        return GNUTLS_E_DB_ENTRY_EXISTS;   /* refuse early data rather than grow */
    }
  g_hash_table_replace (server->seen, g_steal_pointer (&k), GSIZE_TO_POINTER ((gsize) expiry));
  return 0;
}

/* Server, handshake done: a NEW_TOKEN token for the client's address, so
 * that its next connection's Initial proves the address (RFC 9000 8.1.3). */
static void
server_issue_token (QuicConn *qc)
{
  guint8 token[NGTCP2_CRYPTO_MAX_REGULAR_TOKENLEN];
  ngtcp2_ssize len;

  if (qc->token_sent || !qc->server->new_tokens)
    return;
  qc->token_sent = TRUE;
  len = ngtcp2_crypto_generate_regular_token (token, qc->server->token_secret, TOKEN_SECRET_LEN,
                                              (ngtcp2_sockaddr *) &qc->remote, qc->remote_len,
                                              timestamp ());
  if (len > 0)
    ngtcp2_conn_submit_new_token (qc->conn, token, len);
}

/* A packet a listener sends without connection state (Retry, or a
 * CONNECTION_CLOSE refusing an Initial). */
static void
server_send_stateless (QuicServer            *server,
                       const guint8          *data,
                       gsize                  len,
                       const struct sockaddr *to,
                       socklen_t              to_len)
{
  if (sendto (g_socket_get_fd (server->socket), data, len, MSG_DONTWAIT, to, to_len) < 0)
    g_debug ("QUIC: cannot send a stateless packet: %s", g_strerror (errno));
}

/* Counts the listener's connections, and those of them still in their
 * handshake. */
static guint
server_count_handshakes (QuicServer *server)
{
  GHashTableIter iter;
  QuicConn *c;
  guint n = 0;

  g_hash_table_iter_init (&iter, server->conns);
  while (g_hash_table_iter_next (&iter, (gpointer *) &c, NULL))
    if (!c->handshake_done && !c->closed)
      n++;
  return n;
}

/* Refuses an Initial without keeping state: CONNECTION_CLOSE in an Initial
 * packet protected with the keys derived from the client's DCID. */
static void
server_refuse (QuicServer            *server,
               const ngtcp2_pkt_hd   *hd,
               guint64                error_code,
               const char            *reason,
               const struct sockaddr *from,
               socklen_t              from_len)
{
  guint8 buf[MAX_PACKET];
  ngtcp2_ssize n = ngtcp2_crypto_write_connection_close (buf, sizeof buf, hd->version, &hd->scid, &hd->dcid,
                                                         error_code, (const guint8 *) reason, strlen (reason));

  if (n > 0)
    server_send_stateless (server, buf, n, from, from_len);
}

/* Address validation and admission of a new connection's Initial, before a
 * listener keeps any state for it (RFC 9000 8.1).  Returns FALSE when the
 * Initial was answered (Retry, or refused) or dropped; TRUE to accept it,
 * with *retried set (and *odcid the client's first DCID) when it carries a
 * valid Retry token. */
static gboolean
server_admit (QuicServer            *server,
              const ngtcp2_pkt_hd   *hd,
              const struct sockaddr *from,
              socklen_t              from_len,
              ngtcp2_cid            *odcid,
              gboolean              *retried)
{
  g_autoptr(GSocketAddress) address = g_socket_address_new_from_native ((gpointer) from, from_len);
  g_autofree char *peer = format_address (address);
  gboolean validated = FALSE;
  guint n_conns = g_hash_table_size (server->conns);

  *retried = FALSE;
  if (hd->type != NGTCP2_PKT_INITIAL)
    return FALSE;
  if (n_conns >= server->max_connections)
    {
      g_debug ("QUIC: refusing a connection from %s: the listener has %u connections (quic.max-connections)",
               peer, n_conns);
      server_refuse (server, hd, NGTCP2_CONNECTION_REFUSED, "too many connections", from, from_len);
      return FALSE;
    }
  if (hd->token.len > 0 && hd->token.base[0] == NGTCP2_CRYPTO_TOKEN_MAGIC_RETRY)
    {
      if (ngtcp2_crypto_verify_retry_token (odcid, hd->token.base, hd->token.len,
                                            server->token_secret, TOKEN_SECRET_LEN, hd->version,
                                            from, from_len, &hd->dcid, RETRY_TOKEN_LIFETIME,
                                            timestamp ()) != 0)
        {
          /* A forged, stale or misdirected Retry token (RFC 9000 8.1.2). */
          g_debug ("QUIC: refusing the Initial from %s: invalid Retry token", peer);
          server_refuse (server, hd, NGTCP2_INVALID_TOKEN, "invalid token", from, from_len);
          return FALSE;
        }
      g_debug ("QUIC: the Initial from %s carries a valid Retry token", peer);
      *retried = TRUE;
      return TRUE;
    }
  if (hd->token.len > 0 && hd->token.base[0] == NGTCP2_CRYPTO_TOKEN_MAGIC_REGULAR
      && ngtcp2_crypto_verify_regular_token (hd->token.base, hd->token.len,
                                             server->token_secret, TOKEN_SECRET_LEN,
                                             from, from_len, TOKEN_LIFETIME, timestamp ()) == 0)
    validated = TRUE;
  if (!validated
      && (server->retry == RETRY_ALWAYS
          || (server->retry == RETRY_WHEN_BUSY && server_count_handshakes (server) >= server->retry_threshold)))
    {
      guint8 token[NGTCP2_CRYPTO_MAX_RETRY_TOKENLEN];
      guint8 buf[MAX_PACKET];
      ngtcp2_cid retry_scid;
      ngtcp2_ssize token_len, n;

      retry_scid.datalen = SCID_LEN;
      rand_bytes (retry_scid.data, retry_scid.datalen);
      token_len = ngtcp2_crypto_generate_retry_token (token, server->token_secret, TOKEN_SECRET_LEN, hd->version,
                                                      from, from_len, &retry_scid, &hd->dcid, timestamp ());
      if (token_len < 0)
        return FALSE;
      n = ngtcp2_crypto_write_retry (buf, sizeof buf, hd->version, &hd->scid, &retry_scid, &hd->dcid,
                                     token, token_len);
      if (n < 0)
        return FALSE;
      server_send_stateless (server, buf, n, from, from_len);
      g_debug ("QUIC: sent a Retry to %s (quic.retry %s)", peer,
               server->retry == RETRY_ALWAYS ? "always" : "when-busy");
      return FALSE;
    }
  return TRUE;
}

static void
server_accept (QuicServer            *server,
               const guint8          *data,
               gsize                  len,
               const struct sockaddr *from,
               socklen_t              from_len)
{
  ngtcp2_pkt_hd hd;
  ngtcp2_callbacks callbacks;
  ngtcp2_settings settings;
  ngtcp2_transport_params params;
  ngtcp2_cid scid;
  ngtcp2_path path;
  ngtcp2_cid odcid;
  gboolean retried;
  QuicConn *qc;
  g_autoptr(GError) error = NULL;
  g_autofree char *remote = NULL;
  int rv;

  if (server->listener == NULL || ngtcp2_accept (&hd, data, len) != 0)
    return;   /* not an Initial packet: garbage or a stale connection */
  if (!server_admit (server, &hd, from, from_len, &odcid, &retried))
    return;

  qc = g_new0 (QuicConn, 1);
  qc->ref_count = 1;
  qc->context = g_main_context_ref (server->context);
  qc->stack = g_object_ref (server->stack);
  qc->configuration = g_object_ref (server->configuration);
  qc->streams = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, (GDestroyNotify) stream_free);
  qc->cids = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  qc->new_tickets = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_queue_init (&qc->incoming);
  conn_init_datagrams (qc);
  qc->server = server_ref (server);
  memcpy (&qc->local, &server->local, server->local_len);
  qc->local_len = server->local_len;
  memcpy (&qc->remote, from, from_len);
  qc->remote_len = from_len;
  qc->local_address = g_object_ref (server->local_address);
  qc->remote_address = g_socket_address_new_from_native ((gpointer) from, from_len);
  qc->peer = format_address (qc->remote_address);

  scid.datalen = SCID_LEN;
  rand_bytes (scid.data, scid.datalen);
  init_callbacks (&callbacks, TRUE);
  init_settings (&settings, server->configuration);
  init_params (&params, server->configuration, server->max_streams);
  params.original_dcid = hd.dcid;
  if (hd.token.len > 0 && hd.token.base[0] == NGTCP2_CRYPTO_TOKEN_MAGIC_REGULAR
      && ngtcp2_crypto_verify_regular_token (hd.token.base, hd.token.len,
                                             server->token_secret, TOKEN_SECRET_LEN,
                                             from, from_len, TOKEN_LIFETIME, timestamp ()) == 0)
    {
      /* The address is validated: no anti-amplification limit. */
      settings.token = hd.token;
      qc->validated = TRUE;
      g_debug ("QUIC: the Initial from %s carries a valid NEW_TOKEN token", qc->peer);
    }
  if (retried)
    {
      /* After a Retry (RFC 9000 7.3): the client's first DCID, and the
       * Retry's SCID that it now uses as DCID. */
      params.original_dcid = odcid;
      params.retry_scid = hd.dcid;
      params.retry_scid_present = 1;
      settings.token = hd.token;
      qc->validated = TRUE;
    }
  path.local.addr = (ngtcp2_sockaddr *) &qc->local;
  path.local.addrlen = qc->local_len;
  path.remote.addr = (ngtcp2_sockaddr *) &qc->remote;
  path.remote.addrlen = qc->remote_len;
  path.user_data = NULL;

  rv = ngtcp2_conn_server_new (&qc->conn, &hd.scid, &scid, &path, hd.version,
                               &callbacks, &settings, &params, NULL, qc);
  if (rv != 0)
    error = ngtcp2_error (rv, "Cannot create a QUIC connection");
  else if (setup_session (qc, TRUE, &error))
    ngtcp2_conn_set_tls_native_handle (qc->conn, qc->session);
  if (error != NULL)
    {
      g_message ("Dropping an incoming QUIC connection from %s: %s", qc->peer, error->message);
      qc->closed = TRUE;
      conn_unref (qc);
      return;
    }
  g_hash_table_add (server->conns, qc);   /* owns it */
  server_register_cid (qc, scid.data, scid.datalen);
  server_register_cid (qc, hd.dcid.data, hd.dcid.datalen);
  conn_start_timer (qc);
  conn_ref (qc);
  conn_read_packet (qc, data, len, from, from_len);
  /* An Initial that does not decrypt ends the connection it would have
   * made (NGTCP2_ERR_DROP_CONN): nothing stays for garbage. */
  g_debug ("QUIC: %s the Initial from %s; the listener has %u connections",
           qc->closed ? "dropped" : "accepted", qc->peer, g_hash_table_size (server->conns));
  conn_unref (qc);
}

/* One datagram at the listener: to its connection by destination
 * connection id, or a new connection. */
static void
server_dispatch (QuicServer            *server,
                 const guint8          *data,
                 gsize                  len,
                 const struct sockaddr *from,
                 socklen_t              from_len,
                 GPtrArray             *touched)
{
  ngtcp2_version_cid vc;
  g_autoptr(GBytes) dcid = NULL;
  QuicConn *qc;

  if (ngtcp2_pkt_decode_version_cid (&vc, data, len, SCID_LEN) != 0)
    return;   /* garbage, or a version we do not speak */
  dcid = g_bytes_new (vc.dcid, vc.dcidlen);
  qc = g_hash_table_lookup (server->cids, dcid);
  if (qc != NULL)
    {
      if (!g_ptr_array_find (touched, qc, NULL))
        g_ptr_array_add (touched, conn_ref (qc));
      conn_read_packet (qc, data, len, from, from_len);
      return;
    }
  server_accept (server, data, len, from, from_len);
  qc = g_hash_table_lookup (server->cids, dcid);
  if (qc != NULL && !g_ptr_array_find (touched, qc, NULL))
    g_ptr_array_add (touched, conn_ref (qc));
}

static gboolean
server_socket_cb (GSocket      *socket,
                  GIOCondition  condition,
                  gpointer      user_data)
{
  QuicServer *server = user_data;
  guint8 buf[65536];
  int fd = g_socket_get_fd (socket);
  g_autoptr(GPtrArray) touched = g_ptr_array_new_with_free_func ((GDestroyNotify) conn_unref);

  server_ref (server);
  for (guint i = 0; i < RECV_BATCH; i++)
    {
      struct sockaddr_storage from;
      socklen_t from_len = sizeof from;
      gsize segment;
      gssize n = post_quic_udp_recv (&server->udp, fd, buf, sizeof buf, &from, &from_len, &segment);

      if (n < 0)
        break;
      /* With GRO, one receive may hold several datagrams of @segment bytes. */
      for (gssize off = 0; off < n; off += segment)
        server_dispatch (server, buf + off, MIN ((gsize) (n - off), segment),
                         (struct sockaddr *) &from, from_len, touched);
    }
  for (guint i = 0; i < touched->len; i++)
    conn_after_read (touched->pdata[i]);
  g_ptr_array_set_size (touched, 0);
  server_unref (server);
  return G_SOURCE_CONTINUE;
}

/* ---- PostPsi: establishment ---------------------------------------------------------- */

/* The listener options of the quic stack that only a listener reads:
 * `quic.retry` ("never", "always" or "when-busy"), `quic.retry-threshold`,
 * `quic.max-connections` (unsigned integers) and `quic.new-token` (a
 * boolean).  A value of the wrong type or out of range fails listen. */
static gboolean
server_option_uint (PostConfiguration  *configuration,
                    const char         *name,
                    guint64             fallback,
                    guint64             min,
                    guint64            *out,
                    GError            **error)
{
  GVariant *value = post_configuration_get_option (configuration, name);
  gint64 v;

  *out = fallback;
  if (value == NULL)
    return TRUE;
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_UINT32))
    v = g_variant_get_uint32 (value);
  else if (g_variant_is_of_type (value, G_VARIANT_TYPE_UINT64))
    v = (gint64) MIN (g_variant_get_uint64 (value), (guint64) G_MAXINT64);
  else if (g_variant_is_of_type (value, G_VARIANT_TYPE_INT32))
    v = g_variant_get_int32 (value);
  else if (g_variant_is_of_type (value, G_VARIANT_TYPE_INT64))
    v = g_variant_get_int64 (value);
  else
    {
      g_set_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                   "The option %s must be an unsigned integer, not of type %s",
                   name, g_variant_get_type_string (value));
      return FALSE;
    }
  if (v < (gint64) min)
    {
      g_set_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                   "The option %s must be at least %" G_GUINT64_FORMAT ", not %" G_GINT64_FORMAT,
                   name, min, v);
      return FALSE;
    }
  *out = (guint64) v;
  return TRUE;
}

static gboolean
server_read_options (QuicServer         *server,
                     PostConfiguration  *configuration,
                     GError            **error)
{
  GVariant *retry = post_configuration_get_option (configuration, "quic.retry");
  GVariant *new_token = post_configuration_get_option (configuration, "quic.new-token");

  server->retry = RETRY_WHEN_BUSY;
  if (retry != NULL)
    {
      const char *mode = g_variant_is_of_type (retry, G_VARIANT_TYPE_STRING) ? g_variant_get_string (retry, NULL) : NULL;

      if (g_strcmp0 (mode, "never") == 0)
        server->retry = RETRY_NEVER;
      else if (g_strcmp0 (mode, "always") == 0)
        server->retry = RETRY_ALWAYS;
      else if (g_strcmp0 (mode, "when-busy") != 0)
        {
          g_autofree char *shown = g_variant_print (retry, TRUE);

          g_set_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                       "The option quic.retry must be \"never\", \"always\" or \"when-busy\", not %s", shown);
          return FALSE;
        }
    }
  server->new_tokens = TRUE;
  if (new_token != NULL)
    {
      if (!g_variant_is_of_type (new_token, G_VARIANT_TYPE_BOOLEAN))
        {
          g_set_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                       "The option quic.new-token must be a boolean, not of type %s",
                       g_variant_get_type_string (new_token));
          return FALSE;
        }
      server->new_tokens = g_variant_get_boolean (new_token);
    }
  return server_option_uint (configuration, "quic.retry-threshold", RETRY_THRESHOLD, 0,
                             &server->retry_threshold, error)
         && server_option_uint (configuration, "quic.max-connections", MAX_CONNECTIONS, 1,
                                &server->max_connections, error);
}

static gboolean
connect_cancelled_idle_cb (gpointer user_data)
{
  PostQuicPsi *self = user_data;

  if (self->qc != NULL && self->qc->connecting == self)
    conn_schedule_events (self->qc);
  return G_SOURCE_REMOVE;
}

static void
connect_cancelled_cb (GCancellable *cancellable,
                      PostQuicPsi  *self)
{
  /* May run on another thread: only schedule; the event idle checks. */
  GSource *idle = g_idle_source_new ();

  g_source_set_callback (idle, connect_cancelled_idle_cb, g_object_ref (self), g_object_unref);
  g_source_set_static_name (idle, "[post] quic connect cancelled");
  g_source_attach (idle, self->context);
  g_source_unref (idle);
}

/* Client: takes the association's newest ticket (each is used once). */
static void
prepare_resumption (PostQuicPsi *self)
{
  PostAssociation *association = post_psi_get_association (POST_PSI (self));
  g_autoptr(GBytes) blob = NULL;

  if (self->resumption_prepared)
    return;
  self->resumption_prepared = TRUE;
  if (association == NULL || !session_cache_enabled (post_psi_get_configuration (POST_PSI (self))))
    return;
  blob = post_association_take_session_ticket (association);
  if (blob != NULL && !ticket_unpack (blob, &self->ticket, &self->ticket_params, &self->ticket_token))
    g_debug ("QUIC: ignoring a session ticket that is not a quic one");
}

static gboolean
decode_ticket_params (PostQuicPsi             *self,
                      ngtcp2_transport_params *params)
{
  gsize len;
  const guint8 *data;

  if (self->ticket_params == NULL)
    return FALSE;
  data = g_bytes_get_data (self->ticket_params, &len);
  return ngtcp2_decode_transport_params (params, NGTCP2_TRANSPORT_PARAMS_TYPE_ENCRYPTED_EXTENSIONS,
                                         data, len) == 0;
}

static gsize
post_quic_psi_get_early_data_limit (PostPsi *psi)
{
  PostQuicPsi *self = POST_QUIC_PSI (psi);
  ngtcp2_transport_params params;
  guint64 limit;

  if (self->mode != MODE_IDLE || !zero_rtt_allowed (post_psi_get_configuration (psi)))
    return 0;
  prepare_resumption (self);
  if (self->ticket == NULL || !decode_ticket_params (self, &params))
    return 0;
  /* A source's early data goes on a unidirectional stream. */
  if (is_source (psi))
    {
      if (params.initial_max_streams_uni == 0)
        return 0;
      limit = MIN (params.initial_max_stream_data_uni, params.initial_max_data);
    }
  else
    {
      if (params.initial_max_streams_bidi == 0)
        return 0;
      limit = MIN (params.initial_max_stream_data_bidi_remote, params.initial_max_data);
    }
  return MIN (limit, MIN (MAX_EARLY_DATA, TX_WINDOW));
}

static void
post_quic_psi_set_early_data (PostPsi *psi,
                              GBytes  *early_data)
{
  PostQuicPsi *self = POST_QUIC_PSI (psi);

  g_clear_pointer (&self->early_data, g_bytes_unref);
  self->early_data = g_bytes_ref (early_data);
}

/* Client, after the session is set up: resume with the ticket, and put
 * the early data on a stream opened before the handshake (0-RTT). */
static void
start_resumption (PostQuicPsi *self,
                  QuicConn    *qc)
{
  ngtcp2_transport_params params;
  int64_t stream_id;
  QuicStream *s;
  gsize len;
  const guint8 *data;
  gboolean source;
  int ret;

  if (self->ticket == NULL)
    return;
  data = g_bytes_get_data (self->ticket, &len);
  ret = gnutls_session_set_data (qc->session, data, len);
  if (ret < 0)
    {
      g_debug ("QUIC: ignoring an unusable session ticket: %s", gnutls_strerror (ret));
      return;
    }
  if (self->early_data == NULL || !decode_ticket_params (self, &params))
    return;
  ngtcp2_conn_set_early_remote_transport_params (qc->conn, &params);
  source = is_source (POST_PSI (self));
  if ((source ? ngtcp2_conn_open_uni_stream (qc->conn, &stream_id, NULL)
              : ngtcp2_conn_open_bidi_stream (qc->conn, &stream_id, NULL)) != 0)
    return;
  s = conn_add_stream (qc, stream_id);
  s->send_only = source;
  s->psi = self;
  self->stream = s;
  data = g_bytes_get_data (self->early_data, &len);
  stream_append (s, data, len);
  qc->early_stream = s;
  g_clear_pointer (&self->early_data, g_bytes_unref);   /* on the stream now */
}

static void
post_quic_psi_connect_async (PostPsi             *psi,
                             GSocketAddress      *remote,
                             GSocketAddress      *local,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  PostQuicPsi *self = POST_QUIC_PSI (psi);
  g_autoptr(GTask) task = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) socket = NULL;
  PostAssociation *association = post_psi_get_association (psi);
  QuicConn *qc;
  ngtcp2_callbacks callbacks;
  ngtcp2_settings settings;
  ngtcp2_transport_params params;
  ngtcp2_cid dcid, scid;
  ngtcp2_path path;
  int rv;

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, post_quic_psi_connect_async);
  g_task_set_name (task, "[post] quic connect");

  if (g_task_return_error_if_cancelled (task))
    return;
  if (self->mode != MODE_IDLE)
    {
      g_task_return_new_error (task, POST_ERROR, self->mode == MODE_CLOSED ? POST_ERROR_CLOSED : POST_ERROR_PENDING,
                               "The QUIC instance is closed or already in use");
      return;
    }
  if (!G_IS_INET_SOCKET_ADDRESS (remote))
    {
      g_task_return_new_error (task, POST_ERROR, POST_ERROR_INVALID_ARGUMENT, "QUIC needs an IP address");
      return;
    }

  qc = conn_new (psi);
  self->qc = qc;
  qc->n_psis = 1;
  if (association != NULL && session_cache_enabled (qc->configuration))
    qc->association = g_object_ref (association);
  prepare_resumption (self);
  qc->want_early = self->early_data != NULL && self->ticket != NULL && self->ticket_params != NULL;
  qc->remote_address = g_object_ref (remote);
  qc->peer = format_address (remote);
  if (association != NULL)
    {
      const char *host = post_remote_get_hostname (post_association_get_remote (association));

      if (host != NULL)
        {
          g_autoptr(GInetAddress) literal = g_inet_address_new_from_string (host);

          qc->server_name = g_strdup (host);
          qc->sni = literal == NULL;
          if (qc->sni)
            {
              g_autofree char *address = format_address (remote);

              g_free (qc->peer);
              qc->peer = g_strdup_printf ("%s (%s)", host, address);
            }
        }
    }

  socket = g_socket_new (g_socket_address_get_family (remote), G_SOCKET_TYPE_DATAGRAM,
                         G_SOCKET_PROTOCOL_UDP, &error);
  if (socket == NULL)
    goto failed;
  g_socket_set_blocking (socket, FALSE);
  post_quic_udp_setup (&qc->udp, g_socket_get_fd (socket));
  if (local != NULL && !g_socket_bind (socket, local, FALSE, &error))
    goto failed;
  if (!g_socket_connect (socket, remote, NULL, &error))
    goto failed;
  qc->local_address = g_socket_get_local_address (socket, &error);
  if (qc->local_address == NULL
      || !to_native (qc->local_address, &qc->local, &qc->local_len, &error)
      || !to_native (remote, &qc->remote, &qc->remote_len, &error))
    goto failed;
  qc->socket = g_steal_pointer (&socket);

  qc->cred = post_gnutls_make_certificate_credentials (post_psi_get_configuration (psi),
                                                       post_psi_get_local (psi), FALSE, &error);
  if (qc->cred == NULL)
    goto failed;
  if (association != NULL)
    {
      const char *psk_identity = NULL;
      GBytes *psk = post_association_get_pre_shared_key (association, &psk_identity);

      if (psk != NULL)
        {
          gnutls_datum_t key;
          gsize size;

          key.data = (unsigned char *) g_bytes_get_data (psk, &size);
          key.size = size;
          if (!gnutls_ok (gnutls_psk_allocate_client_credentials (&qc->psk), "Cannot allocate PSK credentials", &error) ||
              !gnutls_ok (gnutls_psk_set_client_credentials (qc->psk, psk_identity, &key, GNUTLS_PSK_KEY_RAW),
                          "Cannot use the pre-shared key", &error))
            goto failed;
          qc->offered_psk = TRUE;
        }
    }

  dcid.datalen = NGTCP2_MIN_INITIAL_DCIDLEN + 10;
  rand_bytes (dcid.data, dcid.datalen);
  scid.datalen = SCID_LEN;
  rand_bytes (scid.data, scid.datalen);
  init_callbacks (&callbacks, FALSE);
  init_settings (&settings, qc->configuration);
  init_params (&params, qc->configuration, CLIENT_MAX_STREAMS);
  if (self->ticket_token != NULL)
    {
      /* The server's NEW_TOKEN: our address is validated at once. */
      settings.token.base = (uint8_t *) g_bytes_get_data (self->ticket_token, &settings.token.len);
    }
  path.local.addr = (ngtcp2_sockaddr *) &qc->local;
  path.local.addrlen = qc->local_len;
  path.remote.addr = (ngtcp2_sockaddr *) &qc->remote;
  path.remote.addrlen = qc->remote_len;
  path.user_data = NULL;
  rv = ngtcp2_conn_client_new (&qc->conn, &dcid, &scid, &path, NGTCP2_PROTO_VER_V1,
                               &callbacks, &settings, &params, NULL, qc);
  if (rv != 0)
    {
      error = ngtcp2_error (rv, "Cannot create a QUIC connection");
      goto failed;
    }
  if (!setup_session (qc, FALSE, &error))
    goto failed;
  ngtcp2_conn_set_tls_native_handle (qc->conn, qc->session);
  start_resumption (self, qc);

  qc->socket_source = g_socket_create_source (qc->socket, G_IO_IN, NULL);
  g_source_set_callback (qc->socket_source, (GSourceFunc) (void (*) (void)) client_socket_cb, qc, NULL);
  g_source_set_static_name (qc->socket_source, "[post] quic socket");
  g_source_attach (qc->socket_source, self->context);
  conn_start_timer (qc);

  self->mode = MODE_CONNECTING;
  self->connect_task = g_steal_pointer (&task);
  qc->connecting = self;
  if (cancellable != NULL)
    {
      self->cancellable = g_object_ref (cancellable);
      self->cancel_id = g_cancellable_connect (cancellable, G_CALLBACK (connect_cancelled_cb), self, NULL);
    }
  post_psi_set_addresses (psi, qc->local_address, remote);
  conn_write (qc);
  return;

failed:
  self->mode = MODE_CLOSED;
  qc->closed = TRUE;
  g_clear_pointer (&self->qc, conn_unref);
  g_task_return_error (task, g_steal_pointer (&error));
}

static gboolean
post_quic_psi_connect_finish (PostPsi       *psi,
                              GAsyncResult  *result,
                              GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, psi), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

static gboolean
post_quic_psi_listen (PostPsi         *psi,
                      GSocketAddress  *local,
                      GError         **error)
{
  PostQuicPsi *self = POST_QUIC_PSI (psi);
  PostConfiguration *configuration = post_psi_get_configuration (psi);
  QuicServer *server;
  g_autoptr(GSocket) socket = NULL;
  GError *local_error = NULL;
  gboolean has_psk;

  if (self->mode != MODE_IDLE)
    {
      g_set_error_literal (error, POST_ERROR, self->mode == MODE_CLOSED ? POST_ERROR_CLOSED : POST_ERROR_PENDING,
                           "The QUIC instance is closed or already in use");
      return FALSE;
    }
  if (!G_IS_INET_SOCKET_ADDRESS (local))
    {
      g_set_error_literal (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT, "QUIC needs an IP address");
      return FALSE;
    }

  server = g_new0 (QuicServer, 1);
  server->ref_count = 1;
  server->context = g_main_context_ref (self->context);
  server->cids = g_hash_table_new_full (g_bytes_hash, g_bytes_equal, (GDestroyNotify) g_bytes_unref, NULL);
  server->conns = g_hash_table_new_full (NULL, NULL, (GDestroyNotify) conn_unref, NULL);
  server->stack = g_object_ref (post_psi_get_stack (psi));
  server->configuration = g_object_ref (configuration);
  server->endpoint = post_psi_get_local (psi) ? g_object_ref (post_psi_get_local (psi)) : NULL;
  server->max_streams = option_uint (configuration, "quic.max-streams", SERVER_MAX_STREAMS);
  server->seen = g_hash_table_new_full (g_bytes_hash, g_bytes_equal, (GDestroyNotify) g_bytes_unref, NULL);
  {
    GVariant *early = post_configuration_get_option (configuration, "tls.server-early-data");

    server->early_data = early == NULL || !g_variant_is_of_type (early, G_VARIANT_TYPE_BOOLEAN)
                         || g_variant_get_boolean (early);
  }
  rand_bytes (server->token_secret, sizeof server->token_secret);
  self->server = server;
  if (!server_read_options (server, configuration, error))
    return FALSE;
  if (!gnutls_ok (gnutls_session_ticket_key_generate (&server->ticket_key), "Cannot make a ticket key", error) ||
      !gnutls_ok (gnutls_anti_replay_init (&server->anti_replay), "Cannot set up anti-replay", error))
    return FALSE;
  gnutls_anti_replay_set_add_function (server->anti_replay, anti_replay_add);
  gnutls_anti_replay_set_ptr (server->anti_replay, server);

  has_psk = server->endpoint != NULL && post_local_lookup_pre_shared_key (server->endpoint, NULL) != NULL;
  server->cred = post_gnutls_make_certificate_credentials (configuration, post_psi_get_local (psi), !has_psk, &local_error);
  if (server->cred == NULL && (local_error != NULL || !has_psk))
    {
      if (local_error == NULL)
        local_error = g_error_new_literal (POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                                           "A QUIC listener needs an identity (a certificate and its key, "
                                           "post_local_set_identity_from_pem()) or pre-shared keys "
                                           "(post_local_add_pre_shared_key()) in its local");
      g_propagate_error (error, local_error);
      return FALSE;
    }
  if (has_psk)
    {
      if (!gnutls_ok (gnutls_psk_allocate_server_credentials (&server->psk), "Cannot allocate PSK credentials", error))
        return FALSE;
      gnutls_psk_set_server_credentials_function2 (server->psk, server_psk_cb);
    }
  {
    g_autoptr(GPtrArray) anchors = post_configuration_get_trust_anchors (configuration);

    server->request_client_cert = anchors->len > 0 && server->cred != NULL
                                  && post_local_get_identity_pem (server->endpoint, NULL, NULL);
  }

  socket = g_socket_new (g_socket_address_get_family (local), G_SOCKET_TYPE_DATAGRAM,
                         G_SOCKET_PROTOCOL_UDP, error);
  if (socket == NULL)
    return FALSE;
  g_socket_set_blocking (socket, FALSE);
  post_quic_udp_setup (&server->udp, g_socket_get_fd (socket));
  if (!g_socket_bind (socket, local, FALSE, error))
    return FALSE;
  server->local_address = g_socket_get_local_address (socket, error);
  if (server->local_address == NULL
      || !to_native (server->local_address, &server->local, &server->local_len, error))
    return FALSE;
  server->socket = g_steal_pointer (&socket);
  server->source = g_socket_create_source (server->socket, G_IO_IN, NULL);
  g_source_set_callback (server->source, (GSourceFunc) (void (*) (void)) server_socket_cb, server, NULL);
  g_source_set_static_name (server->source, "[post] quic listener");
  g_source_attach (server->source, self->context);
  server->listener = self;
  self->mode = MODE_LISTENER;
  post_psi_set_addresses (psi, server->local_address, NULL);
  return TRUE;
}

/* ---- PostPsi: streams ---------------------------------------------------------------- */

static gboolean
check_stream (PostQuicPsi  *self,
              GError      **error)
{
  if (self->mode == MODE_STREAM)
    return TRUE;
  g_set_error_literal (error, POST_ERROR, self->mode == MODE_CLOSED ? POST_ERROR_CLOSED : POST_ERROR_CONNECTION_RESET,
                       "The QUIC instance has no stream");
  return FALSE;
}

static gssize
post_quic_psi_read (PostPsi  *psi,
                    guint8   *buffer,
                    gsize     size,
                    GError  **error)
{
  PostQuicPsi *self = POST_QUIC_PSI (psi);
  QuicStream *s = self->stream;
  QuicConn *qc = self->qc;
  gsize avail, n;

  if (!check_stream (self, error))
    return -1;
  if (s == NULL)
    {
      g_set_error (error, POST_ERROR, POST_ERROR_CONNECTION_RESET, "The QUIC stream with %s is gone", qc->peer);
      return -1;
    }
  avail = s->rx->len - s->rx_pos;
  if (avail > 0)
    {
      n = MIN (avail, size);
      memcpy (buffer, s->rx->data + s->rx_pos, n);
      s->rx_pos += n;
      if (s->rx_pos == s->rx->len)
        {
          g_byte_array_set_size (s->rx, 0);
          s->rx_pos = 0;
        }
      else if (s->rx_pos >= 65536)
        {
          g_byte_array_remove_range (s->rx, 0, s->rx_pos);
          s->rx_pos = 0;
        }
      if (!qc->closed)
        {
          /* Back-pressure: credit only for what the core took. */
          if (!s->closed)
            ngtcp2_conn_extend_max_stream_offset (qc->conn, s->id, n);
          ngtcp2_conn_extend_max_offset (qc->conn, n);
          conn_schedule_write (qc);
        }
      return n;
    }
  if (s->send_only && s->error != NULL)
    {
      g_propagate_error (error, g_error_copy (s->error));
      return -1;
    }
  /* A unidirectional stream of ours has no input: it ends with our side. */
  if (s->rx_fin || (s->send_only && (s->fin_requested || s->closed)))
    return 0;
  if (s->error != NULL)
    {
      g_propagate_error (error, g_error_copy (s->error));
      return -1;
    }
  if (qc->error != NULL)
    {
      g_propagate_error (error, g_error_copy (qc->error));
      return -1;
    }
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK, "No stream data");
  return -1;
}

static gssize
post_quic_psi_write (PostPsi              *psi,
                     const GOutputVector  *vectors,
                     gsize                 n_vectors,
                     GError              **error)
{
  PostQuicPsi *self = POST_QUIC_PSI (psi);
  QuicStream *s = self->stream;
  QuicConn *qc = self->qc;
  gsize room, done = 0;

  if (!check_stream (self, error))
    return -1;
  if (qc->error != NULL)
    {
      g_propagate_error (error, g_error_copy (qc->error));
      return -1;
    }
  if (s == NULL || s->error != NULL || s->closed)
    {
      if (s != NULL && s->error != NULL)
        g_propagate_error (error, g_error_copy (s->error));
      else
        g_set_error (error, POST_ERROR, POST_ERROR_CONNECTION_RESET, "The QUIC stream with %s is closed", qc->peer);
      return -1;
    }
  if (s->fin_requested)
    {
      g_set_error_literal (error, POST_ERROR, POST_ERROR_CLOSED, "The sending side of the QUIC stream is shut down");
      return -1;
    }
  room = TX_WINDOW - MIN (TX_WINDOW, s->tx_end - s->tx_acked);
  for (gsize i = 0; i < n_vectors && room > 0; i++)
    {
      gsize n = MIN (room, vectors[i].size);

      stream_append (s, vectors[i].buffer, n);
      done += n;
      room -= n;
    }
  if (done == 0)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK, "The QUIC stream's window is full");
      return -1;
    }
  conn_schedule_write (qc);
  return done;
}

static void
post_quic_psi_set_interest (PostPsi      *psi,
                            GIOCondition  condition)
{
  PostQuicPsi *self = POST_QUIC_PSI (psi);

  if ((self->interest & G_IO_OUT) && !(condition & G_IO_OUT) && self->qc != NULL
      && self->mode == MODE_STREAM)
    conn_schedule_write (self->qc);   /* nicer streams may have waited for it */
  self->interest = condition;
  if (condition == 0)
    clear_source (&self->ready_source);
  else
    update_ready (self);
}

static gboolean
post_quic_psi_shutdown_send (PostPsi  *psi,
                             GError  **error)
{
  PostQuicPsi *self = POST_QUIC_PSI (psi);

  if (!check_stream (self, error))
    return FALSE;
  if (self->stream != NULL && !self->stream->fin_requested)
    {
      self->stream->fin_requested = TRUE;
      conn_schedule_write (self->qc);
    }
  return TRUE;
}

static void
fork_return (GTask       *task,
             PostQuicPsi *forked)
{
  g_task_return_pointer (task, forked, g_object_unref);
}

/* A fork waiting for stream credit: the peer's limit on bidirectional
 * streams (its initial_max_streams_bidi, raised by MAX_STREAMS as its
 * streams close) is reached.  Forks wait in order, until the peer grants a
 * stream, their cancellable is cancelled, their instance closes or the
 * connection ends. */
typedef struct {
  GTask        *task;          /* (owned) source object: the forking instance */
  GCancellable *cancellable;   /* (owned) (nullable) */
  gulong        cancel_id;
} ForkWaiter;

static void
fork_waiter_finish (ForkWaiter *w,
                    PostQuicPsi *forked,
                    GError      *error)
{
  if (w->cancel_id != 0)
    g_cancellable_disconnect (w->cancellable, w->cancel_id);
  if (forked != NULL)
    fork_return (w->task, forked);
  else
    g_task_return_error (w->task, error);
  g_clear_object (&w->cancellable);
  g_object_unref (w->task);
  g_free (w);
}

static void
conn_service_forks (QuicConn *qc)
{
  GList *l = qc->fork_waiters.head;
  gboolean blocked = FALSE;

  while (l != NULL)
    {
      GList *next = l->next;
      ForkWaiter *w = l->data;
      PostQuicPsi *self = g_task_get_source_object (w->task);
      PostQuicPsi *forked = NULL;
      GError *error = NULL;
      int64_t stream_id;
      int rv;

      if (g_cancellable_set_error_if_cancelled (w->cancellable, &error))
        ;
      else if (qc->closed)
        error = g_error_copy (qc->error);
      else if (self->mode != MODE_STREAM || self->qc != qc)
        error = g_error_new_literal (POST_ERROR, POST_ERROR_CLOSED, "The carrier was closed while its fork waited");
      else if (blocked)
        {
          l = next;
          continue;
        }
      else if ((rv = ngtcp2_conn_open_bidi_stream (qc->conn, &stream_id, NULL)) == NGTCP2_ERR_STREAM_ID_BLOCKED)
        {
          blocked = TRUE;
          l = next;
          continue;
        }
      else if (rv != 0)
        error = ngtcp2_error (rv, "Cannot open a QUIC stream");
      else
        {
          g_debug ("QUIC: %s granted a stream: the waiting fork opens stream %" G_GINT64_FORMAT,
                   qc->peer, (gint64) stream_id);
          forked = new_stream_psi (qc, conn_add_stream (qc, stream_id), post_psi_get_local (POST_PSI (self)));
          post_psi_set_context (POST_PSI (forked), post_psi_get_local (POST_PSI (self)),
                                post_psi_get_association (POST_PSI (self)));
        }
      g_queue_delete_link (&qc->fork_waiters, l);
      fork_waiter_finish (w, forked, error);
      l = next;
    }
}

static gboolean
fork_idle_cb (gpointer user_data)
{
  QuicConn *qc = user_data;

  g_clear_pointer (&qc->fork_idle, g_source_unref);
  conn_ref (qc);
  conn_service_forks (qc);
  conn_unref (qc);
  return G_SOURCE_REMOVE;
}

static void
conn_schedule_forks (QuicConn *qc)
{
  if (qc->fork_idle != NULL || qc->fork_waiters.length == 0)
    return;
  qc->fork_idle = g_idle_source_new ();
  g_source_set_callback (qc->fork_idle, fork_idle_cb, qc, NULL);
  g_source_set_static_name (qc->fork_idle, "[post] quic forks");
  g_source_attach (qc->fork_idle, qc->context);
}

static void
fork_cancelled_cb (GCancellable *cancellable,
                   gpointer      user_data)
{
  conn_schedule_forks (user_data);
}

static void
fork_wait (PostQuicPsi *self,
           GTask       *task)
{
  ForkWaiter *w;

  if (g_task_return_error_if_cancelled (task))
    {
      g_object_unref (task);
      return;
    }
  w = g_new0 (ForkWaiter, 1);
  w->task = task;
  w->cancellable = g_task_get_cancellable (task) ? g_object_ref (g_task_get_cancellable (task)) : NULL;
  g_queue_push_tail (&self->qc->fork_waiters, w);
  if (w->cancellable != NULL)
    w->cancel_id = g_cancellable_connect (w->cancellable, G_CALLBACK (fork_cancelled_cb), self->qc, NULL);
  g_debug ("QUIC: %s allows no more streams for now: the fork waits for its MAX_STREAMS", self->qc->peer);
}

/* The instance @self closed (or its connection ended): its waiting forks
 * fail now. */
static void
fork_fail_waiters (QuicConn    *qc,
                   PostQuicPsi *self)
{
  GList *l = qc->fork_waiters.head;

  while (l != NULL)
    {
      GList *next = l->next;
      ForkWaiter *w = l->data;

      if (self == NULL || g_task_get_source_object (w->task) == self)
        {
          g_queue_delete_link (&qc->fork_waiters, l);
          fork_waiter_finish (w, NULL,
                              qc->closed && qc->error != NULL
                              ? g_error_copy (qc->error)
                              : g_error_new_literal (POST_ERROR, POST_ERROR_CLOSED,
                                                     "The carrier was closed while its fork waited"));
        }
      l = next;
    }
}

static void
post_quic_psi_fork_async (PostPsi             *psi,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  PostQuicPsi *self = POST_QUIC_PSI (psi);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  QuicConn *qc = self->qc;
  PostQuicPsi *forked;
  int64_t stream_id;
  int rv;

  g_task_set_source_tag (task, post_quic_psi_fork_async);
  if (self->mode != MODE_STREAM || qc == NULL || qc->closed)
    {
      g_task_return_new_error (task, POST_ERROR, POST_ERROR_CLOSED, "The QUIC connection is not established");
      return;
    }
  rv = ngtcp2_conn_open_bidi_stream (qc->conn, &stream_id, NULL);
  if (rv == NGTCP2_ERR_STREAM_ID_BLOCKED)
    {
      /* The peer's stream limit: wait for its MAX_STREAMS credit. */
      fork_wait (self, g_steal_pointer (&task));
      return;
    }
  if (rv != 0)
    {
      g_task_return_error (task, ngtcp2_error (rv, "Cannot open a QUIC stream"));
      return;
    }
  forked = new_stream_psi (qc, conn_add_stream (qc, stream_id), post_psi_get_local (psi));
  post_psi_set_context (POST_PSI (forked), post_psi_get_local (psi), post_psi_get_association (psi));
  fork_return (task, forked);
}

static PostPsi *
post_quic_psi_fork_finish (PostPsi       *psi,
                           GAsyncResult  *result,
                           GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, psi), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

static guint64
post_quic_psi_get_acked_offset (PostPsi *psi)
{
  PostQuicPsi *self = POST_QUIC_PSI (psi);

  QuicStream *s = self->stream;

  /* ngtcp2 reports the contiguous acknowledged prefix of the stream
   * (acked_stream_data_offset); the stream's offsets are the bytes written
   * by post_psi_write() after the early data the core counted as written
   * too, so they line up with the core's total written.  Never more than
   * was written. */
  if (s == NULL)
    return POST_PSI_ACKED_UNKNOWN;
  return MIN (s->tx_acked, s->tx_end);
}

/* Our side of the stream is over when ngtcp2 closed it (both directions
 * ended, everything acknowledged) or, for a source, when what it wrote
 * and its FIN are acknowledged; a failed stream has nothing left either. */
static gboolean
post_quic_psi_is_send_complete (PostPsi *psi)
{
  PostQuicPsi *self = POST_QUIC_PSI (psi);
  QuicStream *s = self->stream;

  if (self->mode != MODE_STREAM || s == NULL || self->qc->closed)
    return TRUE;
  return s->closed || s->error != NULL || s->recv_only;
}

static void
post_quic_psi_update_path (PostPsi  *psi,
                           PostPath *path)
{
  PostQuicPsi *self = POST_QUIC_PSI (psi);
  ngtcp2_conn_stat stat;

  if (self->qc == NULL || self->qc->conn == NULL || self->qc->closed)
    return;
  ngtcp2_conn_get_conn_stat (self->qc->conn, &stat);
  if (stat.smoothed_rtt > 0)
    {
      post_path_set_latency (path, stat.smoothed_rtt / 2000);
      post_path_set_data_rate (path, (guint64) ((double) stat.cwnd * 8 * NGTCP2_SECONDS / stat.smoothed_rtt));
    }
  post_path_set_mtu (path, ngtcp2_conn_get_path_max_tx_udp_payload_size (self->qc->conn));
  /* Loss: of the packets that carried this stream's data on the current
   * path (since the last migration), those ngtcp2 declared lost. */
  if (self->stream != NULL && self->stream->tx_packets > self->stream->tx_packets_base)
    {
      QuicStream *st = self->stream;
      guint64 lost = ngtcp2_conn_get_stream_loss_count (self->qc->conn, st->id);

      lost = lost > st->lost_base ? lost - st->lost_base : 0;
      post_path_set_loss (path, (double) lost / (double) (st->tx_packets - st->tx_packets_base));
    }
}

static gsize
post_quic_psi_get_max_message_size (PostPsi *psi)
{
  return 0;
}

static gsize
post_quic_psi_get_max_datagram_size (PostPsi *psi)
{
  PostQuicPsi *self = POST_QUIC_PSI (psi);

  if (self->mode != MODE_STREAM || self->qc == NULL || self->stream == NULL
      || self->stream->recv_only)
    return 0;
  return conn_max_dgram (self->qc, self->stream);
}

static gboolean
post_quic_psi_send_datagram (PostPsi  *psi,
                             GBytes   *content,
                             gint64    deadline,
                             guint64   id,
                             GError  **error)
{
  PostQuicPsi *self = POST_QUIC_PSI (psi);
  QuicConn *qc = self->qc;
  QuicStream *s = self->stream;
  QuicDgram *dg;
  GList *l;
  gsize max, size = g_bytes_get_size (content);
  guint8 *payload;
  gsize prefix;

  if (!check_stream (self, error))
    return FALSE;
  if (qc->error != NULL)
    {
      g_propagate_error (error, g_error_copy (qc->error));
      return FALSE;
    }
  max = post_quic_psi_get_max_datagram_size (psi);
  if (max == 0)
    {
      g_set_error (error, POST_ERROR, POST_ERROR_NOT_SUPPORTED,
                   "The QUIC connection with %s has no DATAGRAM frames (RFC 9221)%s", qc->peer,
                   qc->datagrams ? "" : ": quic.datagrams is false");
      return FALSE;
    }
  if (size > max)
    {
      g_set_error (error, POST_ERROR, POST_ERROR_MESSAGE_TOO_LARGE,
                   "The datagram has %" G_GSIZE_FORMAT " bytes; the QUIC connection with %s carries at most %"
                   G_GSIZE_FORMAT, size, qc->peer, max);
      return FALSE;
    }
  if (g_queue_get_length (&qc->dgram_tx) >= DGRAM_QUEUE_MAX)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK, "The QUIC connection's datagram queue is full");
      return FALSE;
    }

  dg = g_new0 (QuicDgram, 1);
  dg->dgram_id = qc->next_dgram_id++;
  dg->tag = id;
  dg->stream_id = s->id;
  dg->deadline = deadline > 0 ? deadline : -1;
  dg->priority = s->priority;
  payload = g_malloc (8 + size);
  prefix = varint_encode (payload, (guint64) s->id);
  if (size > 0)
    memcpy (payload + prefix, g_bytes_get_data (content, NULL), size);
  dg->payload = g_bytes_new_take (payload, prefix + size);
  /* In niceness order, after those of the same niceness. */
  for (l = qc->dgram_tx.tail; l != NULL; l = l->prev)
    if (((QuicDgram *) l->data)->priority <= dg->priority)
      break;
  if (l != NULL)
    g_queue_insert_after (&qc->dgram_tx, l, dg);
  else
    g_queue_push_head (&qc->dgram_tx, dg);
  conn_schedule_write (qc);
  return TRUE;
}

static void
post_quic_psi_set_send_priority (PostPsi *psi,
                                 guint    priority)
{
  PostQuicPsi *self = POST_QUIC_PSI (psi);

  if (self->stream != NULL)
    self->stream->priority = priority;
}

static PostSecurityFlags
post_quic_psi_get_security_flags (PostPsi *psi)
{
  PostQuicPsi *self = POST_QUIC_PSI (psi);

  if (self->qc != NULL && self->qc->handshake_done)
    return self->qc->flags | POST_SECURITY_ENCRYPTED;
  return POST_SECURITY_NONE;
}

static gboolean
connect_closed_cb (gpointer user_data)
{
  GTask *task = user_data;

  g_task_return_new_error (task, POST_ERROR, POST_ERROR_CLOSED, "The QUIC instance was closed while connecting");
  return G_SOURCE_REMOVE;
}

static void
post_quic_psi_close (PostPsi  *psi,
                     gboolean  abort)
{
  PostQuicPsi *self = POST_QUIC_PSI (psi);
  QuicConn *qc = self->qc;
  Mode mode = self->mode;

  self->mode = MODE_CLOSED;
  clear_source (&self->ready_source);
  /* Datagram events and datagrams nobody will take now. */
  g_clear_pointer (&self->dgram_events, g_array_unref);
  g_clear_pointer (&self->dgram_rx, g_ptr_array_unref);
  if (self->cancel_id != 0)
    g_cancellable_disconnect (self->cancellable, self->cancel_id);
  self->cancel_id = 0;
  g_clear_object (&self->cancellable);

  if (mode == MODE_LISTENER)
    {
      QuicServer *server = self->server;
      g_autoptr(GPtrArray) idle = g_ptr_array_new_with_free_func ((GDestroyNotify) conn_unref);
      GHashTableIter iter;
      QuicConn *c;

      server->listener = NULL;
      /* Connections without a stream instance end with the listener;
       * accepted carriers go on. */
      g_hash_table_iter_init (&iter, server->conns);
      while (g_hash_table_iter_next (&iter, (gpointer *) &c, NULL))
        if (c->n_psis == 0)
          g_ptr_array_add (idle, conn_ref (c));
      for (guint i = 0; i < idle->len; i++)
        conn_terminate (idle->pdata[i], NULL, TRUE);
      g_clear_pointer (&self->server, server_unref);
      return;
    }
  if (qc == NULL)
    return;

  if (mode == MODE_CONNECTING && self->connect_task != NULL)
    {
      GSource *idle = g_idle_source_new ();

      g_source_set_callback (idle, connect_closed_cb, g_steal_pointer (&self->connect_task), g_object_unref);
      g_source_set_static_name (idle, "[post] quic connect closed");
      g_source_attach (idle, self->context);
      g_source_unref (idle);
      qc->connecting = NULL;
    }

  if (self->stream != NULL)
    {
      QuicStream *s = self->stream;

      s->psi = NULL;
      self->stream = NULL;
      if (s->closed || qc->closed)
        conn_remove_stream (qc, s);
      else if (s->recv_only)
        {
          /* The peer's unidirectional stream (a sink closed, or a fork
           * request nobody accepted): no STOP_SENDING, the rest is read and
           * discarded (recv_stream_data_cb), so that a peer whose one-way
           * streams are critical (HTTP/3 control and QPACK streams) keeps
           * its connection. */
          if (s->rx->len > s->rx_pos)
            {
              ngtcp2_conn_extend_max_stream_offset (qc->conn, s->id, s->rx->len - s->rx_pos);
              ngtcp2_conn_extend_max_offset (qc->conn, s->rx->len - s->rx_pos);
            }
        }
      else if (abort)
        {
          /* Closed while it is announced: nobody accepted the peer's new
           * stream, the fork request is refused (APP_ERROR_REFUSED). */
          guint64 code = qc->announcing == self ? APP_ERROR_REFUSED : APP_ERROR_ABORT;

          if (s->send_only)
            ngtcp2_conn_shutdown_stream_write (qc->conn, s->id, code);
          else
            ngtcp2_conn_shutdown_stream (qc->conn, s->id, code);
        }
      else
        {
          if (!s->fin_requested)
            s->fin_requested = TRUE;
          if (!s->send_only)
            ngtcp2_conn_shutdown_stream_read (qc->conn, s->id, 0);
          /* What was received and not read is given back as credit. */
          if (s->rx->len > s->rx_pos)
            ngtcp2_conn_extend_max_offset (qc->conn, s->rx->len - s->rx_pos);
        }
      conn_schedule_write (qc);
    }
  fork_fail_waiters (qc, self);
  if (qc->n_psis > 0)
    qc->n_psis--;
  conn_check_idle (qc, abort);
  g_clear_pointer (&self->qc, conn_unref);
}

/* ---- connection migration (RFC 9000 section 9) ------------------------------------- */

/* Tells every stream instance of @qc its addresses (and @interface, when
 * @set_interface) and emits path-changed on each, outside ngtcp2's
 * callbacks. */
static void
conn_notify_path (QuicConn   *qc,
                  gboolean    set_interface,
                  const char *interface)
{
  g_autoptr(GPtrArray) psis = g_ptr_array_new_with_free_func (g_object_unref);
  g_autofree char *name = g_strdup (interface);
  GHashTableIter iter;
  QuicStream *s;

  g_hash_table_iter_init (&iter, qc->streams);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &s))
    {
      /* Loss is measured per path: count again from here. */
      s->tx_packets_base = s->tx_packets;
      s->lost_base = ngtcp2_conn_get_stream_loss_count (qc->conn, s->id);
      if (s->psi != NULL && s->psi->mode == MODE_STREAM)
        g_ptr_array_add (psis, g_object_ref (s->psi));
    }
  for (guint i = 0; i < psis->len; i++)
    {
      post_psi_set_addresses (psis->pdata[i], qc->local_address, qc->remote_address);
      if (set_interface)
        post_psi_set_interface (psis->pdata[i], name);
    }
  for (guint i = 0; i < psis->len; i++)
    if (!post_psi_is_closed (psis->pdata[i]))
      post_psi_emit_path_changed (psis->pdata[i]);
}

/* After packets were read: the peer may have migrated (server side:
 * ngtcp2 moved the connection to the address its packets now come from,
 * and validates it).  The connection's remote, and its instances'
 * addresses, follow ngtcp2's current path. */
static void
conn_check_path (QuicConn *qc)
{
  const ngtcp2_path *path;
  g_autoptr(GSocketAddress) remote = NULL;
  g_autofree char *text = NULL;

  if (qc->conn == NULL || qc->server == NULL || !qc->handshake_done)
    return;
  path = ngtcp2_conn_get_path (qc->conn);
  if (path->remote.addrlen == 0 || path->remote.addrlen > sizeof qc->remote
      || native_equal ((const struct sockaddr *) path->remote.addr, path->remote.addrlen,
                       (const struct sockaddr *) &qc->remote, qc->remote_len))
    return;
  remote = g_socket_address_new_from_native (path->remote.addr, path->remote.addrlen);
  if (remote == NULL)
    return;
  memcpy (&qc->remote, path->remote.addr, path->remote.addrlen);
  qc->remote_len = path->remote.addrlen;
  g_set_object (&qc->remote_address, remote);
  text = format_address (remote);
  g_debug ("QUIC: the peer %s migrated to %s", qc->peer, text);
  conn_ref (qc);
  conn_notify_path (qc, FALSE, NULL);
  conn_unref (qc);
}

/* Client: moves @qc to a new UDP socket bound to @new_local (NULL: the
 * source address the kernel's routing picks now), connected to the same
 * remote, with ngtcp2_conn_initiate_immediate_migration(): the old local
 * address is gone or going, so the connection does not wait for the new
 * path's validation (which ngtcp2 still performs) before using it.  The
 * server must have given us a spare connection id (ACTIVE_CID_LIMIT). */
static gboolean
conn_migrate (QuicConn        *qc,
              GSocketAddress  *new_local,
              gboolean         set_interface,
              const char      *interface,
              GError         **error)
{
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketAddress) bound = NULL;
  g_autofree char *text = NULL;
  struct sockaddr_storage local;
  socklen_t local_len;
  ngtcp2_path path;
  int rv;

  if (qc->server != NULL)
    {
      g_set_error (error, POST_ERROR, POST_ERROR_NOT_SUPPORTED,
                   "Only the client of a QUIC connection can migrate it (RFC 9000 section 9)");
      return FALSE;
    }
  if (qc->closed || qc->conn == NULL)
    {
      g_set_error (error, POST_ERROR, POST_ERROR_CLOSED, "The QUIC connection with %s is closed", qc->peer);
      return FALSE;
    }
  if (!qc->handshake_done)
    {
      g_set_error (error, POST_ERROR, POST_ERROR_PENDING,
                   "The QUIC connection with %s cannot migrate before its handshake completes", qc->peer);
      return FALSE;
    }
  socket = g_socket_new (g_socket_address_get_family (qc->remote_address), G_SOCKET_TYPE_DATAGRAM,
                         G_SOCKET_PROTOCOL_UDP, error);
  if (socket == NULL)
    return FALSE;
  g_socket_set_blocking (socket, FALSE);
  if (new_local != NULL && !g_socket_bind (socket, new_local, FALSE, error))
    return FALSE;
  if (!g_socket_connect (socket, qc->remote_address, NULL, error))
    return FALSE;
  bound = g_socket_get_local_address (socket, error);
  if (bound == NULL || !to_native (bound, &local, &local_len, error))
    return FALSE;
  text = format_address (bound);
  if (G_IS_INET_SOCKET_ADDRESS (bound) && G_IS_INET_SOCKET_ADDRESS (qc->local_address)
      && g_inet_address_equal (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (bound)),
                               g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (qc->local_address))))
    {
      if (new_local != NULL)
        return TRUE;   /* already there (another stream of the connection moved it) */
      g_set_error (error, POST_ERROR, POST_ERROR_FAILED, "No other local address reaches %s", qc->peer);
      return FALSE;
    }

  path.local.addr = (ngtcp2_sockaddr *) &local;
  path.local.addrlen = local_len;
  path.remote.addr = (ngtcp2_sockaddr *) &qc->remote;
  path.remote.addrlen = qc->remote_len;
  path.user_data = NULL;
  rv = ngtcp2_conn_initiate_immediate_migration (qc->conn, &path, timestamp ());
  if (rv != 0)
    {
      GError *e = ngtcp2_error (rv, "Cannot migrate the QUIC connection");

      g_prefix_error (&e, "%s to %s: ", qc->peer, text);
      g_propagate_error (error, e);
      return FALSE;
    }
  g_debug ("QUIC: the connection with %s migrates to %s", qc->peer, text);

  /* The new socket replaces the old one. */
  clear_source (&qc->socket_source);
  g_socket_close (qc->socket, NULL);
  g_clear_object (&qc->socket);
  qc->socket = g_steal_pointer (&socket);
  post_quic_udp_setup (&qc->udp, g_socket_get_fd (qc->socket));
  memcpy (&qc->local, &local, local_len);
  qc->local_len = local_len;
  g_set_object (&qc->local_address, bound);
  qc->socket_source = g_socket_create_source (qc->socket, G_IO_IN, NULL);
  g_source_set_callback (qc->socket_source, (GSourceFunc) (void (*) (void)) client_socket_cb, qc, NULL);
  g_source_set_static_name (qc->socket_source, "[post] quic socket");
  g_source_attach (qc->socket_source, qc->context);

  conn_ref (qc);
  conn_notify_path (qc, set_interface, interface);
  conn_schedule_write (qc);
  conn_unref (qc);
  return TRUE;
}

static gboolean
self_migration_cb (gpointer user_data)
{
  QuicConn *qc = user_data;
  g_autoptr(GError) error = NULL;

  clear_source (&qc->migrate_idle);
  conn_ref (qc);
  if (!conn_migrate (qc, NULL, TRUE, NULL, &error))
    g_debug ("QUIC: no migration after a socket error: %s", error->message);
  conn_unref (qc);
  return G_SOURCE_REMOVE;
}

/* A client's socket reported that its local address or network is gone:
 * try (from the main loop, outside ngtcp2) the source address the routing
 * picks now.  The path monitor usually migrates the carrier first.  Not
 * when the configuration has interface preferences: the routing's choice
 * could be an avoided or prohibited interface, and the core, which honours
 * them, decides then. */
static void
conn_schedule_self_migration (QuicConn *qc)
{
  g_auto(GStrv) preferences = NULL;

  if (qc->server != NULL || qc->closed || !qc->handshake_done || qc->migrate_idle != NULL)
    return;
  preferences = post_configuration_list_interface_preferences (qc->configuration);
  if (preferences[0] != NULL)
    return;
  qc->migrate_idle = g_idle_source_new ();
  g_source_set_callback (qc->migrate_idle, self_migration_cb, qc, NULL);
  g_source_set_static_name (qc->migrate_idle, "[post] quic migration");
  g_source_attach (qc->migrate_idle, qc->context);
}

static gboolean
post_quic_psi_migrate (PostPsi         *psi,
                       GSocketAddress  *new_local,
                       GError         **error)
{
  PostQuicPsi *self = POST_QUIC_PSI (psi);

  if (self->mode != MODE_STREAM || self->qc == NULL)
    {
      g_set_error (error, POST_ERROR, POST_ERROR_NOT_SUPPORTED,
                   "Only an established QUIC stream can migrate its connection");
      return FALSE;
    }
  /* The core set this instance's interface to @new_local's: the other
   * streams of the connection get it too. */
  return conn_migrate (self->qc, new_local, TRUE, post_psi_get_interface (psi), error);
}

/* ---- GObject ------------------------------------------------------------------------ */

static void
post_quic_psi_finalize (GObject *object)
{
  PostQuicPsi *self = POST_QUIC_PSI (object);

  clear_source (&self->ready_source);
  g_clear_object (&self->connect_task);
  g_clear_pointer (&self->qc, conn_unref);
  g_clear_pointer (&self->server, server_unref);
  g_clear_pointer (&self->ticket, g_bytes_unref);
  g_clear_pointer (&self->ticket_params, g_bytes_unref);
  g_clear_pointer (&self->ticket_token, g_bytes_unref);
  g_clear_pointer (&self->early_data, g_bytes_unref);
  g_clear_pointer (&self->dgram_events, g_array_unref);
  g_clear_pointer (&self->dgram_rx, g_ptr_array_unref);
  g_clear_pointer (&self->context, g_main_context_unref);
  G_OBJECT_CLASS (post_quic_psi_parent_class)->finalize (object);
}

static void
post_quic_psi_constructed (GObject *object)
{
  PostQuicPsi *self = POST_QUIC_PSI (object);

  G_OBJECT_CLASS (post_quic_psi_parent_class)->constructed (object);
  self->context = g_main_context_ref (post_psi_get_context (POST_PSI (self)));
}

static void
post_quic_psi_class_init (PostQuicPsiClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  PostPsiClass *psi_class = POST_PSI_CLASS (klass);

  object_class->constructed = post_quic_psi_constructed;
  object_class->finalize = post_quic_psi_finalize;

  psi_class->connect_async = post_quic_psi_connect_async;
  psi_class->connect_finish = post_quic_psi_connect_finish;
  psi_class->listen = post_quic_psi_listen;
  psi_class->read = post_quic_psi_read;
  psi_class->write = post_quic_psi_write;
  psi_class->set_interest = post_quic_psi_set_interest;
  psi_class->shutdown_send = post_quic_psi_shutdown_send;
  psi_class->close = post_quic_psi_close;
  psi_class->fork_async = post_quic_psi_fork_async;
  psi_class->fork_finish = post_quic_psi_fork_finish;
  psi_class->get_acked_offset = post_quic_psi_get_acked_offset;
  psi_class->is_send_complete = post_quic_psi_is_send_complete;
  psi_class->update_path = post_quic_psi_update_path;
  psi_class->get_max_message_size = post_quic_psi_get_max_message_size;
  psi_class->get_security_flags = post_quic_psi_get_security_flags;
  psi_class->get_early_data_limit = post_quic_psi_get_early_data_limit;
  psi_class->set_early_data = post_quic_psi_set_early_data;
  psi_class->migrate = post_quic_psi_migrate;
  psi_class->get_max_datagram_size = post_quic_psi_get_max_datagram_size;
  psi_class->send_datagram = post_quic_psi_send_datagram;
  psi_class->set_send_priority = post_quic_psi_set_send_priority;
}

static void
post_quic_psi_init (PostQuicPsi *self)
{
  self->mode = MODE_IDLE;
  self->dgram_events = g_array_new (FALSE, FALSE, sizeof (DgramEvent));
  self->dgram_rx = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
}
