/* post-sctp-psi.c: the `sctp` stack: SCTP (usrsctp) over UDP (RFC 6951)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The pieces, from the wire up:
 *
 * - An *endpoint* is one non-blocking UDP GSocket of the plugin, read from a
 *   GSource on the carrier's GMainContext.  A client has one per
 *   association (connected to the remote); a listener has one for all.
 *   A listener on 0.0.0.0 or :: learns where each datagram arrived
 *   (IP_PKTINFO, plugins/common/post-udp-pktinfo.c): a flow's packets
 *   leave from the address its remote last wrote to, and an accepted
 *   carrier's local address is that address.  A local that names an
 *   interface binds the endpoint's socket to it (post_psi_bind_to_interface()).
 * - A *flow* is one remote UDP (address, port) of an endpoint.  Its pointer
 *   is the AF_CONN address usrsctp knows the flow by: what arrives from that
 *   remote goes to usrsctp_conninput() with it, and usrsctp's output
 *   callback sends a packet for it with sendto() to that remote.  usrsctp
 *   itself keeps associations apart inside a flow (ports, verification
 *   tags).  A listener makes a flow for an unknown remote only for the time
 *   of one usrsctp_conninput(): unless that packet completed an association
 *   (a valid COOKIE ECHO), the flow is gone again, so INITs cost no state
 *   (SCTP's cookie, RFC 9260 5.1.3).
 * - An *association* is one one-to-one usrsctp socket, non-blocking, with an
 *   upcall: the upcall only schedules an idle on the association's context
 *   (usrsctp calls it from inside its own functions), which reads every
 *   message and notification and hands messages to the stream instances.
 * - A PostSctpPsi is one stream of an association: stream 0 is the carrier
 *   that connected or was accepted; a fork takes the next free stream
 *   number of its side (the initiator even ones, the acceptor odd ones) and
 *   the peer learns of it with its first message (a fork request there).
 *   A stream ends with a stream reset of our outgoing side (graceful), or a
 *   one-byte message of PPID POST_SCTP_PPID_ABORT before it (abort or
 *   refusal); the association ends (SHUTDOWN, or ABORT) with its last stream.
 *
 * usrsctp is global to the process: initialised once, on first use, with
 * usrsctp_init_nothreads() (no timer or receive thread, no UDP socket of
 * its own), and driven by GLib timers calling usrsctp_handle_timers():
 * one per endpoint, on its context (a closing association keeps its
 * endpoint), advancing one process-wide clock; after the last endpoint,
 * one more ticks TIMER_LINGER_MS, then none until the next endpoint.
 * usrsctp_finish() is never called: usrsctp 0.9.5 cannot be initialised
 * again after it (upstream issue #713, its iterator lock).  What usrsctp
 * 0.9.5 does start even so is one thread, "SCTP iterator", that sleeps on
 * a condition variable (upstream pull request #472 would remove it).  It
 * wakes when usrsctp's address work queue runs after flows' AF_CONN
 * addresses came and went; automatic ASCONF is off (below), so that work
 * sends nothing: a flow's address is not an interface address of ours to
 * announce to every peer.
 */
#include "post-sctp-psi.h"
#include "post-udp-pktinfo.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <usrsctp.h>

#define TIMER_INTERVAL_MS     10
#define TIMER_LINGER_MS       2000   /* ticks after the last endpoint went */
#define UDP_BATCH             64
#define UDP_BUFFER            65536
#define UDP_SOCKET_BUFFER     (2 * 1024 * 1024)   /* SO_RCVBUF, SO_SNDBUF */
#define RECV_BUFFER           65536
/* What arrives of a message is handed over from this size on, before its
 * end (usrsctp's partial delivery point; its default is half the receive
 * buffer). */
#define PARTIAL_DELIVERY_POINT RECV_BUFFER
#define ASSOC_BUFFER_LIMIT    (1024 * 1024)   /* received, not yet taken */
#define SEND_BUFFER           (1024 * 1024)
/* Messages with a lifetime kept after the hand-off, to fire `expired`
 * when PR-SCTP abandons one (see track_lifetime()). */
#define MAX_TRACKED           16384
/* How often an association with such messages reads what usrsctp's
 * timers told (see tracked_poll_cb()). */
#define TRACKED_POLL_MS       50
#define CLOSE_TIMEOUT_MS      5000
/* An association lost this long after the peer's last packet timed out
 * (the shortest retransmission timeout is 300 ms, configure_keep_alive()). */
#define LOST_SILENCE_US       (250 * G_TIME_SPAN_MILLISECOND)
#define DEFAULT_STREAMS       64
#define POST_SCTP_PPID_ABORT  0x706f7374u    /* "post": the sender aborted the stream */
#define POST_SCTP_PPID_DATA   0
/* The adaptation layer indication (RFC 5061) of a source's INIT: stream 0
 * is used one way, so the listener's carrier is a sink. */
#define POST_SCTP_ADAPTATION_ONE_WAY 0x706f7331u   /* "pos1" */

typedef struct _SctpEndpoint SctpEndpoint;
typedef struct _SctpFlow SctpFlow;
typedef struct _SctpAssoc SctpAssoc;

typedef enum {
  MODE_NONE,
  MODE_LISTENER,
  MODE_STREAM,
} PsiMode;

typedef enum {
  ASSOC_CONNECTING,
  ASSOC_UP,
  ASSOC_CLOSING,   /* we sent SHUTDOWN, waiting for the peer's answer */
  ASSOC_DEAD,
} AssocState;

struct _SctpEndpoint
{
  gint          ref;
  GMainContext *context;
  GSocket      *socket;
  int           fd;
  gboolean      connected;         /* a client's socket, connected to its remote */
  gboolean      pktinfo;           /* a wildcard listener's: datagrams tell where they arrived */
  guint16       port;              /* (network order) the UDP port it is bound to */
  GSource      *source;
  GSource      *timer;             /* usrsctp_handle_timers(), on this context */
  GHashTable   *flows;             /* GBytes (sockaddr) -> SctpFlow (weak) */
  guint64       serial;            /* tells endpoints apart in flow_conn_id() */
  PostSctpPsi  *listener;          /* (weak) (nullable) */
  SctpAssoc    *client;            /* (weak) (nullable) a client's association */
};

struct _SctpFlow
{
  gint                    ref;
  SctpEndpoint           *endpoint;  /* (owned) */
  GBytes                 *key;       /* (owned) the remote's sockaddr */
  void                   *conn_id;   /* the AF_CONN address (see flow_conn_id()) */
  struct sockaddr_storage sa;
  socklen_t               sa_len;
  GSocketAddress         *remote;    /* (owned) */
  struct sockaddr_storage local;     /* where the remote last wrote to (a wildcard */
  socklen_t               local_len; /* listener's); 0: the routing table picks */
  gint64                  last_rx;   /* monotonic µs of the remote's last packet */
};

struct _SctpAssoc
{
  gint          ref;
  struct socket *so;
  SctpFlow     *flow;              /* (owned) */
  GMainContext *context;
  GSource      *dispatch;          /* (owned) (nullable) idle, scheduled by the upcall */
  GSource      *close_timer;       /* (owned) (nullable) */
  GSource      *tracked_poll;      /* (owned) (nullable) while messages are tracked */
  GHashTable   *streams;           /* sid -> PostSctpPsi (weak) */
  AssocState    state;
  gboolean      initiator;
  gboolean      peer_shutdown;     /* the peer ended the association */
  guint16       next_sid;
  guint16       n_out, n_in;
  gsize         buffered;          /* bytes in the streams' inboxes */
  GTask        *connect_task;      /* (owned) (nullable) */
  gulong        cancel_id;
  GError       *error;             /* (owned) (nullable) why it ended */
  guint8       *buffer;
  PostSctpPsi  *announce;          /* (owned) (nullable) the listener that
                                      accepted it, until stream 0 is announced */
  gboolean      peer_one_way;      /* the peer said stream 0 is a source's */
  gboolean      received_any;      /* a message of the peer arrived */
  gint          send_blocked;      /* (atomic) a send found no room: G_IO_OUT
                                      waits for usrsctp's next upcall */
  GHashTable   *tracked;           /* snd_context -> Tracked: messages with a
                                      lifetime usrsctp holds */
  GQueue        tracked_order;     /* (element-type Tracked) oldest first */
  guint32       next_context;      /* the last snd_context given (0: none) */
  guint64       n_tracked;         /* messages tracked so far (Tracked.seq) */
  guint64       n_tracked_drained; /* n_tracked when a read last found nothing
                                      more: a notification read later was
                                      made after those sends */
  gboolean      in_notification;   /* a notification's first piece was read,
                                      the rest (its data) is skipped */
  PostSctpPsi  *open_stream;       /* (weak) (nullable) the stream in the middle of
                                      a message: without I-DATA (RFC 8260) usrsctp
                                      sends on no other until that one ends */
  gboolean      lock_waiters;      /* another stream found it so (G_IO_OUT when it ends) */
};

/* What arrived on a stream: a message, or a piece of one (partial
 * delivery), @end when it ends the message. */
typedef struct
{
  GBytes   *bytes;   /* (owned) */
  gboolean  end;
} Piece;

/* A message given to usrsctp with a PR-SCTP lifetime: kept until the peer
 * acknowledged everything (SCTP_SENDER_DRY_EVENT) or usrsctp abandoned it
 * (SCTP_SEND_FAILED_EVENT with its snd_context). */
typedef struct
{
  guint64      seq;                /* 1, 2, …: its place in tracked_order */
  guint32      context;
  guint16      sid;
  gint64       expiry;             /* monotonic µs: when its lifetime ends */
  PostMessage *message;            /* (owned) */
  GList       *link;               /* in tracked_order */
} Tracked;

struct _PostSctpPsi
{
  PostPsi       parent_instance;
  GMainContext *context;
  PsiMode       mode;
  gboolean      closed;
  GIOCondition  interest;
  GSource      *wake;

  /* listener */
  SctpEndpoint  *endpoint;          /* (owned) */
  struct socket *listen_so;
  gboolean       accepting;
  guint16        sctp_port;

  /* stream */
  SctpAssoc    *assoc;             /* (owned) */
  guint16       sid;
  gboolean      attached;          /* in assoc->streams */
  GQueue        inbox;             /* Piece */
  gsize         inbox_bytes;
  gboolean      eof;               /* the peer ended this stream */
  gboolean      rx_open;           /* the peer's message is arriving in pieces */
  gboolean      received_any;
  gboolean      sent_any;
  GError       *error;             /* (owned) (nullable) the stream's end */
  guint16       priority;
  gboolean      priority_set;
  /* sending a message in parts (explicit EOR) */
  gboolean      msg_open;          /* a message of ours is unfinished */
  gboolean      msg_started;       /* ... and usrsctp has some of it */
  gboolean      has_held;          /* its last byte so far is held back: */
  guint8        held;              /* usrsctp ends no message with an empty send */
};

G_DEFINE_FINAL_TYPE (PostSctpPsi, post_sctp_psi, POST_TYPE_PSI)

static void
piece_free (Piece *piece)
{
  g_bytes_unref (piece->bytes);
  g_free (piece);
}

static void assoc_schedule (SctpAssoc *assoc);
static void assoc_unref (SctpAssoc *assoc);
static void assoc_fail (SctpAssoc *assoc, GError *error);
static void stream_wake (PostSctpPsi *self);
static void listener_accept_all (PostSctpPsi *self);
static gboolean stream_locked_out (PostSctpPsi *self);

/* ---- the process-wide usrsctp -------------------------------------------- */

G_LOCK_DEFINE_STATIC (sctp_global);
static guint         global_users;        /* endpoints alive */
static gboolean      global_ready;        /* usrsctp_init_nothreads() done */
static GHashTable   *global_flows;        /* AF_CONN address -> the live SctpFlow */
static guint64       global_serial;       /* the last endpoint's serial */
static guint8        global_key[32];      /* keys flow_conn_id() */
static GSource      *global_timer;        /* the lingering one, after the last endpoint */
static gint64        global_timer_last;   /* how far usrsctp's clock went */
static gint64        global_idle_since;   /* when the last endpoint went */

/* usrsctp's output: a packet for the flow @addr.  Called from inside
 * usrsctp (conninput, sendv, handle_timers); never with our lock held. */
static int
conn_output (void    *addr,
             void    *buffer,
             size_t   length,
             uint8_t  tos,
             uint8_t  set_df)
{
  struct sockaddr_storage sa, local;
  socklen_t sa_len = 0, local_len = 0;
  gboolean connected = FALSE;
  int fd = -1;
  gssize n;
  SctpFlow *flow;

  G_LOCK (sctp_global);
  flow = global_flows != NULL ? g_hash_table_lookup (global_flows, addr) : NULL;

  if (flow != NULL)
    {
      fd = flow->endpoint->fd;
      connected = flow->endpoint->connected;
      memcpy (&sa, &flow->sa, flow->sa_len);
      sa_len = flow->sa_len;
      memcpy (&local, &flow->local, flow->local_len);
      local_len = flow->local_len;
    }
  G_UNLOCK (sctp_global);
  if (fd < 0)
    return 0;   /* the flow is gone: the association is on its way out */

  if (connected)
    n = send (fd, buffer, length, MSG_DONTWAIT | MSG_NOSIGNAL);
  else
    n = post_udp_pktinfo_sendto (fd, buffer, length, MSG_DONTWAIT | MSG_NOSIGNAL,
                                 (struct sockaddr *) &sa, sa_len,
                                 local_len > 0 ? (struct sockaddr *) &local : NULL, local_len);
  if (n < 0)
    g_debug ("sctp: sending a %" G_GSIZE_FORMAT "-byte packet failed: %s",
             (gsize) length, g_strerror (errno));
  /* A lost packet is SCTP's business: it retransmits. */
  return 0;
}

/* Advances usrsctp's clock to now.  Every endpoint ticks on its own
 * context (so that timers fire whichever contexts are iterated); the time
 * is the process's, so ticks that come together advance it once. */
static void
global_tick (void)
{
  gint64 now = g_get_monotonic_time ();
  guint32 elapsed;

  G_LOCK (sctp_global);
  elapsed = (guint32) ((now - global_timer_last) / 1000);
  if (elapsed > 0)
    global_timer_last += (gint64) elapsed * 1000;
  G_UNLOCK (sctp_global);
  if (elapsed > 0)
    usrsctp_handle_timers (elapsed);
}

static gboolean
endpoint_timer_cb (gpointer user_data)
{
  global_tick ();
  return G_SOURCE_CONTINUE;
}

/* After the last endpoint: tick a while more, for what usrsctp frees late. */
static gboolean
linger_timer_cb (gpointer user_data)
{
  gboolean stop = FALSE;

  global_tick ();
  G_LOCK (sctp_global);
  if (global_users > 0 || g_get_monotonic_time () - global_idle_since >= (gint64) TIMER_LINGER_MS * 1000)
    {
      g_clear_pointer (&global_timer, g_source_unref);
      stop = TRUE;
    }
  G_UNLOCK (sctp_global);
  return stop ? G_SOURCE_REMOVE : G_SOURCE_CONTINUE;
}

static GSource *
timer_source_new (GSourceFunc func)
{
  GSource *source = g_timeout_source_new (TIMER_INTERVAL_MS);

  g_source_set_callback (source, func, NULL, NULL);
  g_source_set_static_name (source, "[post] sctp timers");
  return source;
}

static void
sctp_debug_printf (const char *format, ...)
{
  /* usrsctp's debug output goes nowhere (its levels are off by default). */
}

static void
global_acquire (GMainContext *context)
{
  gboolean init = FALSE;

  G_LOCK (sctp_global);
  if (!global_ready)
    {
      global_ready = TRUE;
      init = TRUE;
      global_flows = g_hash_table_new (NULL, NULL);
      for (guint i = 0; i < G_N_ELEMENTS (global_key); i += 4)
        {
          guint32 r = g_random_int ();

          memcpy (global_key + i, &r, 4);
        }
    }
  if (global_users++ == 0 && global_timer == NULL)
    global_timer_last = g_get_monotonic_time ();
  G_UNLOCK (sctp_global);

  if (init)
    {
      /* Port 0: no UDP socket of usrsctp's own; AF_CONN only. */
      usrsctp_init_nothreads (0, conn_output, sctp_debug_printf);
      /* Answer a packet for a port nobody listens on with an ABORT, so
       * that a client learns at once that it was refused. */
      usrsctp_sysctl_set_sctp_blackhole (0);
      /* A flow's AF_CONN address is not an interface address coming and
       * going: no ASCONF to peers when one is registered or removed. */
      usrsctp_sysctl_set_sctp_auto_asconf (0);
      /* Streams reset (RFC 6525) and PR-SCTP (RFC 3758) are on by default;
       * say so rather than rely on it. */
      usrsctp_sysctl_set_sctp_enable_sack_immediately (1);
      usrsctp_sysctl_set_sctp_pr_enable (1);
      usrsctp_sysctl_set_sctp_reconfig_enable (1);
    }
}

static void
global_release (GMainContext *context)
{
  GSource *linger = NULL;

  G_LOCK (sctp_global);
  g_assert (global_users > 0);
  if (--global_users == 0 && global_timer == NULL)
    {
      global_idle_since = g_get_monotonic_time ();
      linger = global_timer = timer_source_new (linger_timer_cb);
    }
  G_UNLOCK (sctp_global);
  if (linger != NULL)
    g_source_attach (linger, context);
}

/* ---- helpers --------------------------------------------------------------- */

static GError *
errno_error (int         errsv,
             const char *what)
{
  int code;

  switch (errsv)
    {
    case ECONNREFUSED:
      code = POST_ERROR_CONNECTION_REFUSED;
      break;
    case ETIMEDOUT:
      code = POST_ERROR_TIMED_OUT;
      break;
    case ECONNRESET:
    case ECONNABORTED:
    case EPIPE:
    case ENOTCONN:
    case ESHUTDOWN:
      code = POST_ERROR_CONNECTION_RESET;
      break;
    case EMSGSIZE:
      code = POST_ERROR_MESSAGE_TOO_LARGE;
      break;
    case EINVAL:
      code = POST_ERROR_INVALID_ARGUMENT;
      break;
    default:
      return g_error_new (G_IO_ERROR, g_io_error_from_errno (errsv), "%s: %s", what, g_strerror (errsv));
    }
  return g_error_new (POST_ERROR, code, "%s: %s", what, g_strerror (errsv));
}

static guint32
get_uint_option (PostPsi    *psi,
                 const char *key,
                 guint32     fallback)
{
  PostConfiguration *configuration = post_psi_get_configuration (psi);
  GVariant *value = configuration ? post_configuration_get_option (configuration, key) : NULL;

  if (value == NULL)
    return fallback;
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_UINT32))
    return g_variant_get_uint32 (value);
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_INT32) && g_variant_get_int32 (value) >= 0)
    return (guint32) g_variant_get_int32 (value);
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_UINT16))
    return g_variant_get_uint16 (value);
  g_message ("Ignoring option %s of type %s (expected an unsigned number)",
             key, g_variant_get_type_string (value));
  return fallback;
}

static char *
format_address (GSocketAddress *address)
{
  if (G_IS_INET_SOCKET_ADDRESS (address))
    {
      g_autofree char *ip = g_inet_address_to_string (
        g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (address)));
      guint16 port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (address));

      return g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (address)) != NULL
             && strchr (ip, ':') ? g_strdup_printf ("[%s]:%u", ip, port)
                                 : g_strdup_printf ("%s:%u", ip, port);
    }
  return g_strdup ("(unknown)");
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

static void
notify_ready (PostSctpPsi  *self,
              GIOCondition  condition)
{
  g_object_ref (self);
  post_psi_notify_ready (POST_PSI (self), condition);
  g_object_unref (self);
}

/* ---- endpoints and flows ------------------------------------------------------ */

static SctpEndpoint *
endpoint_ref (SctpEndpoint *ep)
{
  g_atomic_int_inc (&ep->ref);
  return ep;
}

static void
endpoint_unref (SctpEndpoint *ep)
{
  if (!g_atomic_int_dec_and_test (&ep->ref))
    return;
  clear_source (&ep->source);
  clear_source (&ep->timer);
  g_hash_table_unref (ep->flows);
  if (ep->socket != NULL)
    g_socket_close (ep->socket, NULL);
  g_clear_object (&ep->socket);
  global_release (ep->context);
  g_main_context_unref (ep->context);
  g_free (ep);
}

static SctpFlow *
flow_ref (SctpFlow *flow)
{
  g_atomic_int_inc (&flow->ref);
  return flow;
}

static void
flow_unref (SctpFlow *flow)
{
  if (!g_atomic_int_dec_and_test (&flow->ref))
    return;
  if (g_hash_table_lookup (flow->endpoint->flows, flow->key) == flow)
    g_hash_table_remove (flow->endpoint->flows, flow->key);
  G_LOCK (sctp_global);
  if (g_hash_table_lookup (global_flows, flow->conn_id) == flow)
    g_hash_table_remove (global_flows, flow->conn_id);
  G_UNLOCK (sctp_global);
  usrsctp_deregister_address (flow->conn_id);
  g_bytes_unref (flow->key);
  g_clear_object (&flow->remote);
  endpoint_unref (flow->endpoint);
  g_free (flow);
}

/* The AF_CONN address of the remote @sa of @ep: not a pointer, but a value
 * that is the same each time the remote comes back.  usrsctp binds a
 * cookie to the address the INIT came in on, so the flow made for a COOKIE
 * ECHO must have the address of the (forgotten) flow that answered the
 * INIT.  A keyed hash (the key is random, per process), never NULL (the
 * wildcard). */
static void *
flow_conn_id (SctpEndpoint                  *ep,
              const struct sockaddr_storage *sa,
              socklen_t                      sa_len)
{
  g_autoptr(GHmac) hmac = g_hmac_new (G_CHECKSUM_SHA256, global_key, sizeof global_key);
  guint8 digest[32];
  gsize digest_len = sizeof digest;
  guintptr id;

  g_hmac_update (hmac, (const guchar *) &ep->serial, sizeof ep->serial);
  g_hmac_update (hmac, (const guchar *) sa, sa_len);
  g_hmac_get_digest (hmac, digest, &digest_len);
  memcpy (&id, digest, sizeof id);
  return (void *) (id | 1);
}

static SctpFlow *
flow_new (SctpEndpoint                  *ep,
          const struct sockaddr_storage *sa,
          socklen_t                      sa_len)
{
  void *conn_id = flow_conn_id (ep, sa, sa_len);
  SctpFlow *flow;

  G_LOCK (sctp_global);
  if (g_hash_table_contains (global_flows, conn_id))
    {
      /* Two remotes with one 64-bit hash: as good as never. */
      G_UNLOCK (sctp_global);
      g_debug ("sctp: flow address collision: dropping the remote's packet");
      return NULL;
    }
  G_UNLOCK (sctp_global);
  flow = g_new0 (SctpFlow, 1);
  flow->ref = 1;
  flow->conn_id = conn_id;
  flow->endpoint = endpoint_ref (ep);
  memcpy (&flow->sa, sa, sa_len);
  flow->sa_len = sa_len;
  flow->key = g_bytes_new (sa, sa_len);
  flow->remote = g_socket_address_new_from_native ((gpointer) sa, sa_len);
  g_hash_table_insert (ep->flows, flow->key, flow);
  G_LOCK (sctp_global);
  g_hash_table_insert (global_flows, flow->conn_id, flow);
  G_UNLOCK (sctp_global);
  usrsctp_register_address (flow->conn_id);
  return flow;
}

/* @flow's remote wrote to @local (@local_len 0: unknown) */
static void
flow_set_local (SctpFlow                      *flow,
                const struct sockaddr_storage *local,
                socklen_t                      local_len)
{
  if (local_len == 0)
    return;
  G_LOCK (sctp_global);   /* conn_output() reads it */
  memcpy (&flow->local, local, local_len);
  flow->local_len = local_len;
  G_UNLOCK (sctp_global);
}

static void
endpoint_datagram (SctpEndpoint                  *ep,
                   const guint8                  *data,
                   gsize                          size,
                   const struct sockaddr_storage *from,
                   socklen_t                      from_len,
                   const struct sockaddr_storage *local,
                   socklen_t                      local_len)
{
  g_autoptr(GBytes) key = g_bytes_new_static (from, from_len);
  SctpFlow *flow;

  /* The smallest SCTP packet is its 12-byte common header: anything
   * shorter is not SCTP (usrsctp would drop it too). */
  if (size < 12)
    {
      g_debug ("sctp: dropping a %" G_GSIZE_FORMAT "-byte datagram: not an SCTP packet", size);
      return;
    }
  flow = g_hash_table_lookup (ep->flows, key);
  if (flow != NULL)
    {
      flow_ref (flow);
      flow_set_local (flow, local, local_len);
      flow->last_rx = g_get_monotonic_time ();
      usrsctp_conninput (flow->conn_id, data, size, 0);
      flow_unref (flow);
      return;
    }
  if (ep->listener == NULL || !ep->listener->accepting)
    return;

  /* A remote we have no association with: a flow for the time of this
   * packet.  usrsctp answers an INIT with an INIT ACK holding a cookie and
   * keeps nothing; only a valid COOKIE ECHO makes an association, which
   * listener_accept_all() adopts with its flow. */
  flow = flow_new (ep, from, from_len);
  if (flow == NULL)
    return;
  flow_set_local (flow, local, local_len);
  flow->last_rx = g_get_monotonic_time ();
  usrsctp_conninput (flow->conn_id, data, size, 0);
  listener_accept_all (ep->listener);
  flow_unref (flow);
}

static gboolean
endpoint_readable_cb (GSocket      *socket,
                      GIOCondition  condition,
                      gpointer      user_data)
{
  SctpEndpoint *ep = endpoint_ref (user_data);
  g_autofree guint8 *buffer = g_malloc (UDP_BUFFER);

  for (guint i = 0; i < UDP_BATCH && ep->fd >= 0; i++)
    {
      struct sockaddr_storage from, local;
      socklen_t from_len = sizeof from, local_len = 0;
      gssize n;

      n = post_udp_pktinfo_recvfrom (ep->fd, buffer, UDP_BUFFER, MSG_DONTWAIT, ep->pktinfo, ep->port,
                                     &from, &from_len, &local, &local_len);
      if (n < 0)
        {
          int errsv = errno;

          if (errsv == EAGAIN || errsv == EWOULDBLOCK)
            break;
          if (errsv == EINTR)
            continue;
          if (errsv == ECONNREFUSED && ep->client != NULL && ep->client->state == ASSOC_CONNECTING)
            {
              /* ICMP port unreachable for our INIT: nobody listens there. */
              g_autofree char *where = format_address (ep->client->flow->remote);

              assoc_fail (ep->client,
                          g_error_new (POST_ERROR, POST_ERROR_CONNECTION_REFUSED,
                                       "SCTP over UDP to %s: connection refused (nothing listens on the UDP port)",
                                       where));
              break;
            }
          /* ICMP errors on an established association: SCTP retransmits,
           * and its own timers decide when the path is dead. */
          g_debug ("sctp: receiving failed: %s", g_strerror (errsv));
          continue;
        }
      if (ep->connected)
        {
          /* A connected socket only hears its remote; the flow is the
           * one the client made. */
          if (ep->client != NULL && ep->client->flow != NULL)
            {
              SctpFlow *flow = flow_ref (ep->client->flow);

              flow->last_rx = g_get_monotonic_time ();
              if ((gsize) n >= 12)
                usrsctp_conninput (flow->conn_id, buffer, n, 0);
              flow_unref (flow);
            }
          continue;
        }
      endpoint_datagram (ep, buffer, n, &from, from_len, &local, local_len);
    }
  endpoint_unref (ep);
  return G_SOURCE_CONTINUE;
}

/* SCTP sends a window's worth of packets in a burst: a UDP socket buffer
 * smaller than the association's window loses the end of a burst on a busy
 * receiver, and a loss costs a retransmission timeout (a second at least).
 * Ask for 2 MiB each way; the kernel caps it at net.core.rmem_max /
 * wmem_max unless the process may force it. */
static void
set_udp_buffers (GSocket *socket)
{
  static const struct { int force, plain; } options[] = {
    { SO_RCVBUFFORCE, SO_RCVBUF },
    { SO_SNDBUFFORCE, SO_SNDBUF },
  };

  for (guint i = 0; i < G_N_ELEMENTS (options); i++)
    if (!g_socket_set_option (socket, SOL_SOCKET, options[i].force, UDP_SOCKET_BUFFER, NULL))
      g_socket_set_option (socket, SOL_SOCKET, options[i].plain, UDP_SOCKET_BUFFER, NULL);
}

/* The UDP socket of @psi: a client's (@connect_to) or a listener's, bound
 * to @psi's interface (post_psi_bind_to_interface()) and to @bind_to. */
static SctpEndpoint *
endpoint_new (PostPsi         *psi,
              GMainContext    *context,
              GSocketFamily    family,
              GSocketAddress  *bind_to,
              GSocketAddress  *connect_to,
              GError         **error)
{
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketAddress) bound = NULL;
  gboolean pktinfo = FALSE;
  SctpEndpoint *ep;

  socket = g_socket_new (family, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, error);
  if (socket == NULL)
    return NULL;
  g_socket_set_blocking (socket, FALSE);
  set_udp_buffers (socket);
  if (!post_psi_bind_to_interface (psi, g_socket_get_fd (socket), connect_to == NULL, error))
    return NULL;
  if (bind_to != NULL && !g_socket_bind (socket, bind_to, FALSE, error))
    {
      g_autofree char *where = format_address (bind_to);

      g_prefix_error (error, "Could not bind to UDP %s: ", where);
      return NULL;
    }
  if (connect_to != NULL && !g_socket_connect (socket, connect_to, NULL, error))
    {
      g_autofree char *where = format_address (connect_to);

      g_prefix_error (error, "SCTP over UDP to %s failed: ", where);
      return NULL;
    }
  /* A wildcard listener answers from where each datagram arrived. */
  if (connect_to == NULL && post_udp_pktinfo_is_wildcard (bind_to))
    {
      if (!post_udp_pktinfo_enable (g_socket_get_fd (socket), family, error))
        return NULL;
      bound = g_socket_get_local_address (socket, error);
      if (bound == NULL)
        return NULL;
      pktinfo = TRUE;
    }

  global_acquire (context);
  ep = g_new0 (SctpEndpoint, 1);
  ep->ref = 1;
  G_LOCK (sctp_global);
  ep->serial = ++global_serial;
  G_UNLOCK (sctp_global);
  ep->context = g_main_context_ref (context);
  ep->socket = g_steal_pointer (&socket);
  ep->fd = g_socket_get_fd (ep->socket);
  ep->connected = connect_to != NULL;
  ep->pktinfo = pktinfo;
  if (bound != NULL)
    ep->port = g_htons (g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)));
  ep->flows = g_hash_table_new ((GHashFunc) g_bytes_hash, (GEqualFunc) g_bytes_equal);
  ep->source = g_socket_create_source (ep->socket, G_IO_IN, NULL);
  g_source_set_callback (ep->source, (GSourceFunc) (void (*) (void)) endpoint_readable_cb, ep, NULL);
  g_source_set_static_name (ep->source, "[post] sctp udp");
  g_source_attach (ep->source, context);
  ep->timer = timer_source_new (endpoint_timer_cb);
  g_source_attach (ep->timer, context);
  return ep;
}

/* ---- usrsctp sockets ---------------------------------------------------------- */

static void
upcall_cb (struct socket *so,
           void          *arg,
           int            flags)
{
  SctpAssoc *assoc = arg;

  /* Something changed (a SACK freed room, data arrived): a blocked
   * sender may try again. */
  if (assoc != NULL)
    g_atomic_int_set (&assoc->send_blocked, FALSE);
  assoc_schedule (assoc);
}

static gboolean
set_int_option (struct socket *so,
                int            level,
                int            name,
                int            value)
{
  if (usrsctp_setsockopt (so, level, name, &value, sizeof value) < 0)
    {
      g_debug ("sctp: setsockopt %d/%d failed: %s", level, name, g_strerror (errno));
      return FALSE;
    }
  return TRUE;
}

/* Keep-alives (keep-alive-timeout T, 0: usrsctp's defaults): SCTP's own
 * HEARTBEATs every T on an idle path, a retransmission timeout of at most
 * T/2 and two unanswered retransmissions or heartbeats before the
 * association is lost (SCTP_COMM_LOST), so that a vanished peer is
 * noticed in a few T instead of minutes. */
static void
configure_keep_alive (struct socket *so,
                      guint          keep_alive_ms)
{
  struct sctp_paddrparams paddr = { 0 };
  struct sctp_rtoinfo rto = { 0 };
  struct sctp_assocparams assoc = { 0 };

  if (keep_alive_ms == 0)
    return;
  paddr.spp_assoc_id = SCTP_FUTURE_ASSOC;
  paddr.spp_hbinterval = keep_alive_ms;
  paddr.spp_flags = SPP_HB_ENABLE;
  paddr.spp_pathmaxrxt = 2;
  if (usrsctp_setsockopt (so, IPPROTO_SCTP, SCTP_PEER_ADDR_PARAMS, &paddr, sizeof paddr) < 0)
    g_debug ("sctp: SCTP_PEER_ADDR_PARAMS failed: %s", g_strerror (errno));
  rto.srto_assoc_id = SCTP_FUTURE_ASSOC;
  rto.srto_max = MAX (300, keep_alive_ms / 2);
  rto.srto_min = MIN (1000, rto.srto_max);
  rto.srto_initial = MIN (3000, rto.srto_max);
  if (usrsctp_setsockopt (so, IPPROTO_SCTP, SCTP_RTOINFO, &rto, sizeof rto) < 0)
    g_debug ("sctp: SCTP_RTOINFO failed: %s", g_strerror (errno));
  assoc.sasoc_assoc_id = SCTP_FUTURE_ASSOC;
  assoc.sasoc_asocmaxrxt = 2;
  if (usrsctp_setsockopt (so, IPPROTO_SCTP, SCTP_ASSOCINFO, &assoc, sizeof assoc) < 0)
    g_debug ("sctp: SCTP_ASSOCINFO failed: %s", g_strerror (errno));
}

/* Options every association socket has (listeners pass them on). */
static void
configure_socket (struct socket *so,
                  guint16        streams,
                  PostPsi       *psi)
{
  static const uint16_t events[] = {
    SCTP_ASSOC_CHANGE, SCTP_SHUTDOWN_EVENT, SCTP_SEND_FAILED_EVENT,
    SCTP_STREAM_RESET_EVENT, SCTP_PARTIAL_DELIVERY_EVENT, SCTP_REMOTE_ERROR,
    SCTP_STREAM_CHANGE_EVENT, SCTP_ADAPTATION_INDICATION,
  };
  struct sctp_initmsg init = { 0 };
  struct sctp_assoc_value value = { 0 };
  struct linger linger = { 0 };

  usrsctp_set_non_blocking (so, 1);
  set_int_option (so, IPPROTO_SCTP, SCTP_RECVRCVINFO, 1);
  /* The core coalesces small messages itself (and immediate ones go at
   * once): no Nagle below it. */
  set_int_option (so, IPPROTO_SCTP, SCTP_NODELAY, 1);
  set_int_option (so, SOL_SOCKET, SO_SNDBUF, SEND_BUFFER);
  set_int_option (so, SOL_SOCKET, SO_RCVBUF, ASSOC_BUFFER_LIMIT);
  /* A message goes to usrsctp as the core gives it, in parts, SCTP_EOR on
   * its last (so no message is held whole, and a large one is taken as
   * room frees); what arrives of one is handed over in pieces. */
  set_int_option (so, IPPROTO_SCTP, SCTP_EXPLICIT_EOR, 1);
  set_int_option (so, IPPROTO_SCTP, SCTP_PARTIAL_DELIVERY_POINT, PARTIAL_DELIVERY_POINT);
  for (guint i = 0; i < G_N_ELEMENTS (events); i++)
    {
      struct sctp_event event = { .se_assoc_id = SCTP_FUTURE_ASSOC, .se_type = events[i], .se_on = 1 };

      if (usrsctp_setsockopt (so, IPPROTO_SCTP, SCTP_EVENT, &event, sizeof event) < 0)
        g_debug ("sctp: subscribing to event %u failed: %s", events[i], g_strerror (errno));
    }
  init.sinit_num_ostreams = streams;
  init.sinit_max_instreams = streams;
  init.sinit_max_attempts = 6;
  init.sinit_max_init_timeo = 4000;
  if (usrsctp_setsockopt (so, IPPROTO_SCTP, SCTP_INITMSG, &init, sizeof init) < 0)
    g_debug ("sctp: SCTP_INITMSG failed: %s", g_strerror (errno));
  value.assoc_id = SCTP_FUTURE_ASSOC;
  value.assoc_value = SCTP_ENABLE_RESET_STREAM_REQ;
  if (usrsctp_setsockopt (so, IPPROTO_SCTP, SCTP_ENABLE_STREAM_RESET, &value, sizeof value) < 0)
    g_debug ("sctp: SCTP_ENABLE_STREAM_RESET failed: %s", g_strerror (errno));
  value.assoc_value = SCTP_SS_PRIORITY;
  if (usrsctp_setsockopt (so, IPPROTO_SCTP, SCTP_PLUGGABLE_SS, &value, sizeof value) < 0)
    g_debug ("sctp: SCTP_PLUGGABLE_SS failed: %s", g_strerror (errno));
  /* No lingering: close() ends gracefully unless we ask for an ABORT. */
  usrsctp_setsockopt (so, SOL_SOCKET, SO_LINGER, &linger, sizeof linger);
  configure_keep_alive (so, post_configuration_get_effective_keep_alive_timeout (post_psi_get_configuration (psi)));
}

static guint16
streams_option (PostPsi *psi)
{
  return (guint16) CLAMP (get_uint_option (psi, POST_SCTP_OPTION_STREAMS, DEFAULT_STREAMS), 1, 65535);
}

/* ---- associations ------------------------------------------------------------- */

static SctpAssoc *
assoc_ref (SctpAssoc *assoc)
{
  g_atomic_int_inc (&assoc->ref);
  return assoc;
}

static void
assoc_release_socket (SctpAssoc *assoc,
                      gboolean   abort)
{
  struct socket *so = g_steal_pointer (&assoc->so);

  if (so == NULL)
    return;
  usrsctp_set_upcall (so, NULL, NULL);
  if (abort)
    {
      struct linger linger = { .l_onoff = 1, .l_linger = 0 };

      usrsctp_setsockopt (so, SOL_SOCKET, SO_LINGER, &linger, sizeof linger);
    }
  usrsctp_close (so);
}

static void
tracked_free (gpointer data)
{
  Tracked *t = data;

  g_object_unref (t->message);
  g_free (t);
}

static void
tracked_remove (SctpAssoc *assoc,
                Tracked   *t)
{
  g_queue_delete_link (&assoc->tracked_order, t->link);
  g_hash_table_remove (assoc->tracked, GUINT_TO_POINTER (t->context));
}

static gboolean assoc_dispatch_cb (gpointer user_data);

/* Reads what waits in usrsctp now (not from an idle). */
static void
assoc_dispatch_now (SctpAssoc *assoc)
{
  GSource *pending;

  G_LOCK (sctp_global);
  pending = g_steal_pointer (&assoc->dispatch);
  G_UNLOCK (sctp_global);
  if (pending != NULL)
    {
      g_source_destroy (pending);
      g_source_unref (pending);
    }
  assoc_dispatch_cb (assoc);
}

/* While messages with a lifetime are tracked.  usrsctp 0.9.5 makes no
 * upcall for what its timers put in the socket (the SEND_FAILED of a
 * message abandoned at a retransmission timeout): read it from here.
 * Then ask whether everything sent was acknowledged or abandoned: turning
 * SCTP_SENDER_DRY_EVENT on makes usrsctp tell at once when nothing is
 * left (and nothing was sent between the two reads), which frees the
 * tracked messages that arrived. */
static gboolean
tracked_poll_cb (gpointer user_data)
{
  SctpAssoc *assoc = assoc_ref (user_data);
  gboolean more;

  assoc_dispatch_now (assoc);
  if (assoc->so != NULL && assoc->state == ASSOC_UP && !g_queue_is_empty (&assoc->tracked_order))
    {
      struct sctp_event event = { .se_assoc_id = SCTP_FUTURE_ASSOC, .se_type = SCTP_SENDER_DRY_EVENT, .se_on = 1 };

      if (usrsctp_setsockopt (assoc->so, IPPROTO_SCTP, SCTP_EVENT, &event, sizeof event) == 0)
        {
          assoc_dispatch_now (assoc);
          event.se_on = 0;
          if (assoc->so != NULL)
            usrsctp_setsockopt (assoc->so, IPPROTO_SCTP, SCTP_EVENT, &event, sizeof event);
        }
    }
  more = assoc->so != NULL && assoc->state != ASSOC_DEAD && !g_queue_is_empty (&assoc->tracked_order);
  if (!more)
    g_clear_pointer (&assoc->tracked_poll, g_source_unref);
  assoc_unref (assoc);
  return more ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

/* Keeps @message, which goes with a PR-SCTP lifetime of @lifetime µs, to
 * map usrsctp's SCTP_SEND_FAILED_EVENT back to it; returns the snd_context
 * to send it with.  At most MAX_TRACKED are kept: beyond, the oldest is
 * forgotten (it cannot fire `expired` any more). */
static guint32
track_lifetime (SctpAssoc   *assoc,
                guint16      sid,
                PostMessage *message,
                gint64       lifetime)
{
  Tracked *t = g_new0 (Tracked, 1);

  if (++assoc->next_context == 0)
    assoc->next_context = 1;
  while (g_hash_table_size (assoc->tracked) >= MAX_TRACKED
         || g_hash_table_contains (assoc->tracked, GUINT_TO_POINTER (assoc->next_context)))
    {
      Tracked *old = g_queue_peek_head (&assoc->tracked_order);

      if (old == NULL)
        break;
      tracked_remove (assoc, old);
    }
  t->seq = ++assoc->n_tracked;
  t->context = assoc->next_context;
  t->sid = sid;
  t->expiry = g_get_monotonic_time () + lifetime;
  t->message = g_object_ref (message);
  g_queue_push_tail (&assoc->tracked_order, t);
  t->link = assoc->tracked_order.tail;
  g_hash_table_insert (assoc->tracked, GUINT_TO_POINTER (t->context), t);
  if (assoc->tracked_poll == NULL)
    {
      assoc->tracked_poll = g_timeout_source_new (TRACKED_POLL_MS);
      g_source_set_callback (assoc->tracked_poll, tracked_poll_cb, assoc, NULL);
      g_source_set_static_name (assoc->tracked_poll, "[post] sctp lifetimes");
      g_source_attach (assoc->tracked_poll, assoc->context);
    }
  return t->context;
}

static void
assoc_free (SctpAssoc *assoc)
{
  clear_source (&assoc->dispatch);
  clear_source (&assoc->close_timer);
  clear_source (&assoc->tracked_poll);
  assoc_release_socket (assoc, TRUE);
  if (assoc->flow != NULL && assoc->flow->endpoint->client == assoc)
    assoc->flow->endpoint->client = NULL;
  g_clear_pointer (&assoc->flow, flow_unref);
  g_hash_table_unref (assoc->streams);
  g_hash_table_unref (assoc->tracked);   /* frees the Tracked of tracked_order */
  g_queue_clear (&assoc->tracked_order);
  g_clear_error (&assoc->error);
  g_clear_object (&assoc->connect_task);
  g_clear_object (&assoc->announce);
  g_free (assoc->buffer);
  g_main_context_unref (assoc->context);
  g_free (assoc);
}

static void
assoc_unref (SctpAssoc *assoc)
{
  if (g_atomic_int_dec_and_test (&assoc->ref))
    assoc_free (assoc);
}

static SctpAssoc *
assoc_new (GMainContext  *context,
           struct socket *so,
           SctpFlow      *flow,
           gboolean       initiator)
{
  SctpAssoc *assoc = g_new0 (SctpAssoc, 1);

  assoc->ref = 1;
  assoc->so = so;
  assoc->flow = flow_ref (flow);
  assoc->context = g_main_context_ref (context);
  assoc->streams = g_hash_table_new (NULL, NULL);
  assoc->tracked = g_hash_table_new_full (NULL, NULL, NULL, tracked_free);
  assoc->initiator = initiator;
  /* Stream 0 is the first carrier's; forks take the next of their side. */
  assoc->next_sid = initiator ? 2 : 1;
  assoc->buffer = g_malloc (RECV_BUFFER);
  usrsctp_set_upcall (so, upcall_cb, assoc);
  return assoc;
}

static void
assoc_attach (SctpAssoc   *assoc,
              PostSctpPsi *psi,
              guint16      sid)
{
  psi->mode = MODE_STREAM;
  psi->assoc = assoc_ref (assoc);
  psi->sid = sid;
  psi->attached = TRUE;
  g_hash_table_insert (assoc->streams, GUINT_TO_POINTER (sid), psi);
}

static void
assoc_detach (SctpAssoc   *assoc,
              PostSctpPsi *psi)
{
  if (psi->attached && g_hash_table_lookup (assoc->streams, GUINT_TO_POINTER (psi->sid)) == psi)
    g_hash_table_remove (assoc->streams, GUINT_TO_POINTER (psi->sid));
  psi->attached = FALSE;
  assoc->buffered -= MIN (assoc->buffered, psi->inbox_bytes);
  psi->inbox_bytes = 0;
}

/* The streams of @assoc, referenced, in a snapshot (handlers may close any). */
static GPtrArray *
assoc_streams (SctpAssoc *assoc)
{
  GPtrArray *streams = g_ptr_array_new_with_free_func (g_object_unref);
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, assoc->streams);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_ptr_array_add (streams, g_object_ref (value));
  return streams;
}

static gboolean
assoc_dispatch_cb (gpointer user_data);

static void
assoc_schedule (SctpAssoc *assoc)
{
  GSource *source;

  if (assoc == NULL)
    return;
  G_LOCK (sctp_global);
  if (assoc->dispatch != NULL)
    {
      G_UNLOCK (sctp_global);
      return;
    }
  source = assoc->dispatch = g_idle_source_new ();
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, assoc_dispatch_cb, assoc, NULL);
  g_source_set_static_name (source, "[post] sctp association");
  G_UNLOCK (sctp_global);
  g_source_attach (source, assoc->context);
}

static void
connect_done (SctpAssoc *assoc,
              GError    *error)
{
  g_autoptr(GTask) task = g_steal_pointer (&assoc->connect_task);

  if (task == NULL)
    {
      g_clear_error (&error);
      return;
    }
  if (assoc->cancel_id != 0)
    g_cancellable_disconnect (g_task_get_cancellable (task), assoc->cancel_id);
  assoc->cancel_id = 0;
  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

/* The association ended: every stream learns why (NULL: the peer closed). */
static void
assoc_end (SctpAssoc *assoc,
           GError    *error)
{
  g_autoptr(GPtrArray) streams = NULL;

  if (assoc->state == ASSOC_DEAD)
    {
      g_clear_error (&error);
      return;
    }
  assoc->state = ASSOC_DEAD;
  assoc->open_stream = NULL;   /* nothing is sent any more */
  if (assoc->error == NULL && error != NULL)
    assoc->error = g_error_copy (error);
  if (assoc->connect_task != NULL)
    {
      connect_done (assoc, error != NULL ? error
                                         : g_error_new_literal (POST_ERROR, POST_ERROR_CONNECTION_RESET,
                                                                "The SCTP association ended during its setup"));
      error = NULL;
    }
  g_clear_error (&error);
  streams = assoc_streams (assoc);
  for (guint i = 0; i < streams->len; i++)
    {
      PostSctpPsi *psi = streams->pdata[i];

      if (psi->error == NULL && assoc->error != NULL)
        psi->error = g_error_copy (assoc->error);
      psi->eof = TRUE;
      stream_wake (psi);
    }
}

static void
assoc_fail (SctpAssoc *assoc,
            GError    *error)
{
  assoc_ref (assoc);
  assoc_end (assoc, error);
  assoc_release_socket (assoc, TRUE);
  assoc_unref (assoc);
}

static gboolean
close_timeout_cb (gpointer user_data)
{
  SctpAssoc *assoc = user_data;

  g_clear_pointer (&assoc->close_timer, g_source_unref);
  g_debug ("sctp: the peer did not complete the shutdown in %u ms: aborting", CLOSE_TIMEOUT_MS);
  assoc->state = ASSOC_DEAD;
  assoc_release_socket (assoc, TRUE);
  assoc_unref (assoc);   /* the closing reference */
  return G_SOURCE_REMOVE;
}

/* The last stream closed: end the association, gracefully (SHUTDOWN: the
 * association lives on, holding its flow, until the peer's SHUTDOWN ACK)
 * or not (ABORT). */
static void
assoc_close (SctpAssoc *assoc,
             gboolean   abort)
{
  if (assoc->state == ASSOC_DEAD || assoc->peer_shutdown)
    {
      /* The peer ended it already (its SHUTDOWN, our SHUTDOWN ACK): close
       * the socket; an ABORT only if it ended on an error. */
      assoc->state = ASSOC_DEAD;
      assoc_release_socket (assoc, abort || assoc->error != NULL);
      return;
    }
  if (assoc->so == NULL || abort || assoc->state == ASSOC_CONNECTING)
    {
      assoc->state = ASSOC_DEAD;
      assoc_release_socket (assoc, TRUE);
      return;
    }
  if (assoc->state == ASSOC_CLOSING)
    return;
  assoc->state = ASSOC_CLOSING;
  if (usrsctp_shutdown (assoc->so, SHUT_WR) < 0)
    {
      g_debug ("sctp: shutdown failed (%s): aborting", g_strerror (errno));
      assoc->state = ASSOC_DEAD;
      assoc_release_socket (assoc, TRUE);
      return;
    }
  assoc_ref (assoc);   /* the closing reference, dropped when it ends */
  assoc->close_timer = g_timeout_source_new (CLOSE_TIMEOUT_MS);
  g_source_set_callback (assoc->close_timer, close_timeout_cb, assoc, NULL);
  g_source_set_static_name (assoc->close_timer, "[post] sctp shutdown");
  g_source_attach (assoc->close_timer, assoc->context);
}

/* The graceful close completed (or the peer ended it meanwhile). */
static void
assoc_closing_done (SctpAssoc *assoc)
{
  if (assoc->close_timer == NULL)
    return;
  clear_source (&assoc->close_timer);
  assoc->state = ASSOC_DEAD;
  assoc_release_socket (assoc, FALSE);
  assoc_unref (assoc);
}

static PostSctpPsi *
assoc_first_stream (SctpAssoc *assoc)
{
  GHashTableIter iter;
  gpointer key, value;
  PostSctpPsi *first = NULL;

  g_hash_table_iter_init (&iter, assoc->streams);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      PostSctpPsi *psi = value;

      if (!psi->closed && (first == NULL || psi->sid < first->sid))
        first = psi;
    }
  return first;
}

/* A message on a stream nobody has: the peer forked. */
static PostSctpPsi *
assoc_new_peer_stream (SctpAssoc *assoc,
                       guint16    sid)
{
  PostSctpPsi *parent = assoc_first_stream (assoc);
  g_autoptr(PostPsi) child = NULL;

  /* Our own side's numbers are ours to give; the peer's are new streams. */
  if (parent == NULL || (sid % 2) == (assoc->initiator ? 0 : 1) || sid == 0)
    return NULL;
  child = post_stack_create_psi (post_psi_get_stack (POST_PSI (parent)),
                                 post_psi_get_configuration (POST_PSI (parent)));
  if (child == NULL || !POST_IS_SCTP_PSI (child))
    return NULL;
  assoc_attach (assoc, POST_SCTP_PSI (child), sid);
  post_psi_set_addresses (child, post_psi_get_local_address (POST_PSI (parent)),
                          post_psi_get_remote_address (POST_PSI (parent)));
  post_psi_set_interface (child, post_psi_get_interface (POST_PSI (parent)));
  return POST_SCTP_PSI (g_steal_pointer (&child));
}

/* Returns TRUE when @data ended a message that arrived in pieces: if the
 * association was aborted meanwhile, usrsctp marks it ended even so, and
 * says so in the notification that follows it (see handle_notification()). */
static gboolean
stream_push (PostSctpPsi *psi,
             SctpAssoc   *assoc,
             const guint8 *data,
             gsize         size,
             guint32       ppid,
             gboolean      eor)
{
  Piece *piece;
  gboolean was_open = psi->rx_open;

  if (psi->eof || psi->closed)
    return FALSE;
  if (ppid == POST_SCTP_PPID_ABORT)
    {
      /* The peer aborted (or refused) the stream: an incoming fork refused
       * before we ever heard back is a refusal. */
      if (!eor)
        return FALSE;
      psi->eof = TRUE;
      if (psi->error == NULL)
        psi->error = psi->received_any || !psi->sent_any
                     ? g_error_new (POST_ERROR, POST_ERROR_CONNECTION_RESET,
                                    "The peer aborted SCTP stream %u", psi->sid)
                     : g_error_new (POST_ERROR, POST_ERROR_CONNECTION_REFUSED,
                                    "The peer refused SCTP stream %u (a fork)", psi->sid);
      return FALSE;
    }
  /* Each piece as it came (a whole message, or a piece of one when it is
   * larger than the read buffer or usrsctp's partial delivery point). */
  psi->received_any = TRUE;
  assoc->buffered += size;
  psi->inbox_bytes += size;
  piece = g_new (Piece, 1);
  piece->bytes = g_bytes_new (data, size);
  piece->end = eor;
  g_queue_push_tail (&psi->inbox, piece);
  psi->rx_open = !eor;
  return eor && was_open;
}

static void
handle_notification (SctpAssoc                     *assoc,
                     const union sctp_notification *n,
                     gsize                          size,
                     GPtrArray                     *expired)
{
  g_autofree char *where = format_address (assoc->flow->remote);

  if (size < sizeof n->sn_header)
    return;
  switch (n->sn_header.sn_type)
    {
    case SCTP_ASSOC_CHANGE:
      if (size < sizeof n->sn_assoc_change)
        return;
      switch (n->sn_assoc_change.sac_state)
        {
        case SCTP_COMM_UP:
          assoc->n_out = n->sn_assoc_change.sac_outbound_streams;
          assoc->n_in = n->sn_assoc_change.sac_inbound_streams;
          if (assoc->state == ASSOC_CONNECTING)
            {
              assoc->state = ASSOC_UP;
              connect_done (assoc, NULL);
            }
          break;
        case SCTP_COMM_LOST:
          if (assoc->state == ASSOC_CLOSING)
            assoc_closing_done (assoc);
          /* As the tcp stack does: an association we opened that the peer
           * aborts before sending a single message was refused (what a
           * listener whose application accepts nobody does). */
          if (assoc->state == ASSOC_CONNECTING || (assoc->initiator && !assoc->received_any))
            assoc_end (assoc, g_error_new (POST_ERROR, POST_ERROR_CONNECTION_REFUSED,
                                           "The SCTP association with %s was refused (the peer aborted it "
                                           "before sending anything)", where));
          /* Nothing from the peer for a while: retransmissions or
           * heartbeats went unanswered (an ABORT would have just arrived). */
          else if (g_get_monotonic_time () - assoc->flow->last_rx >= LOST_SILENCE_US)
            assoc_end (assoc, g_error_new (POST_ERROR, POST_ERROR_TIMED_OUT,
                                           "The SCTP association with %s was lost: the peer stopped "
                                           "answering (%" G_GINT64_FORMAT " ms without a packet)", where,
                                           (g_get_monotonic_time () - assoc->flow->last_rx) / 1000));
          else
            assoc_end (assoc, g_error_new (POST_ERROR, POST_ERROR_CONNECTION_RESET,
                                           "The SCTP association with %s was aborted by the peer", where));
          break;
        case SCTP_CANT_STR_ASSOC:
          assoc_end (assoc, g_error_new (POST_ERROR, POST_ERROR_CONNECTION_REFUSED,
                                         "SCTP over UDP to %s: no association (the peer refused it "
                                         "or did not answer)", where));
          break;
        case SCTP_SHUTDOWN_COMP:
          assoc_closing_done (assoc);
          assoc_end (assoc, NULL);
          break;
        case SCTP_RESTART:
          g_debug ("sctp: the peer %s restarted the association", where);
          break;
        }
      break;
    case SCTP_PARTIAL_DELIVERY_EVENT:
      /* The association ended in the middle of a message the peer's stack
       * was handing over in pieces: usrsctp ended it even so (MSG_EOR) and
       * tells us right after.  It is not a message: the stream fails. */
      if (size >= 16 && n->sn_pdapi_event.pdapi_indication == SCTP_PARTIAL_DELIVERY_ABORTED)
        {
          guint16 sid;
          PostSctpPsi *psi;
          Piece *tail;

          /* usrsctp 0.9.5 writes a 20-byte event whose stream and sequence
           * number are 16 bits each (its usrsctp.h says 32): the stream is
           * the 16 bits at offset 12 either way. */
          memcpy (&sid, (const guint8 *) n + 12, sizeof sid);
          psi = g_hash_table_lookup (assoc->streams, GUINT_TO_POINTER (sid));

          if (psi == NULL || psi->closed)
            break;
          if ((tail = g_queue_peek_tail (&psi->inbox)) != NULL)
            tail->end = FALSE;
          psi->rx_open = FALSE;
          psi->eof = TRUE;
          if (psi->error == NULL)
            psi->error = g_error_new (POST_ERROR, POST_ERROR_CONNECTION_RESET,
                                      "The SCTP association with %s ended in the middle of a "
                                      "message on stream %u", where, sid);
          stream_wake (psi);
        }
      break;
    case SCTP_SHUTDOWN_EVENT:
      /* The peer ends the association: every stream's input ends. */
      assoc->peer_shutdown = TRUE;
      {
        g_autoptr(GPtrArray) streams = assoc_streams (assoc);

        for (guint i = 0; i < streams->len; i++)
          {
            ((PostSctpPsi *) streams->pdata[i])->eof = TRUE;
            stream_wake (streams->pdata[i]);
          }
      }
      break;
    case SCTP_STREAM_RESET_EVENT:
      if (size >= sizeof n->sn_strreset_event
          && (n->sn_strreset_event.strreset_flags & SCTP_STREAM_RESET_INCOMING_SSN)
          && !(n->sn_strreset_event.strreset_flags & (SCTP_STREAM_RESET_DENIED | SCTP_STREAM_RESET_FAILED)))
        {
          gsize count = (size - sizeof n->sn_strreset_event) / sizeof (uint16_t);

          /* The peer ended its side of these streams: their input ends. */
          for (gsize i = 0; i < count; i++)
            {
              PostSctpPsi *psi = g_hash_table_lookup (assoc->streams,
                                                      GUINT_TO_POINTER (n->sn_strreset_event.strreset_stream_list[i]));

              if (psi != NULL)
                {
                  psi->eof = TRUE;
                  stream_wake (psi);
                }
            }
        }
      break;
    case SCTP_SEND_FAILED_EVENT:
      /* A message PR-SCTP abandoned (its lifetime passed), or one the
       * association could not deliver before it ended.  A tracked message
       * whose lifetime has passed is expired: it left (its `sent` fired at
       * the hand-off) and will not arrive. */
      if (size < sizeof n->sn_send_failed_event)
        return;
      g_debug ("sctp: a message on stream %u to %s was abandoned (%s)",
               n->sn_send_failed_event.ssfe_info.snd_sid, where,
               (n->sn_send_failed_event.ssfe_flags & SCTP_DATA_SENT) ? "sent, not acknowledged in time"
                                                                     : "never sent");
      {
        guint32 context = n->sn_send_failed_event.ssfe_info.snd_context;
        Tracked *t = context != 0 ? g_hash_table_lookup (assoc->tracked, GUINT_TO_POINTER (context)) : NULL;

        if (t != NULL)
          {
            PostSctpPsi *psi = g_hash_table_lookup (assoc->streams, GUINT_TO_POINTER (t->sid));

            if (psi != NULL && !psi->closed && g_get_monotonic_time () >= t->expiry)
              {
                g_ptr_array_add (expired, g_object_ref (psi));
                g_ptr_array_add (expired, g_object_ref (t->message));
              }
            tracked_remove (assoc, t);
          }
      }
      break;
    case SCTP_SENDER_DRY_EVENT:
      /* Nothing was left to send or to acknowledge when usrsctp made this
       * notification (tracked_poll_cb() asks for it): what was sent before
       * either arrived or was abandoned (its SEND_FAILED came first, in
       * order).  It was made after the last read that found nothing: the
       * messages tracked before that read are done. */
      {
        Tracked *t;

        while ((t = g_queue_peek_head (&assoc->tracked_order)) != NULL
               && t->seq <= assoc->n_tracked_drained)
          tracked_remove (assoc, t);
      }
      break;
    case SCTP_REMOTE_ERROR:
      g_debug ("sctp: the peer %s reported an error", where);
      break;
    case SCTP_ADAPTATION_INDICATION:
      if (size >= sizeof n->sn_adaptation_event
          && n->sn_adaptation_event.sai_adaptation_ind == POST_SCTP_ADAPTATION_ONE_WAY)
        assoc->peer_one_way = TRUE;
      break;
    default:
      break;
    }
}

/* An accepted association's stream 0 becomes a carrier once what came
 * with the COOKIE ECHO is read: its notifications say whether the peer is
 * a source (then the carrier is a sink). */
static void
assoc_announce (SctpAssoc *assoc)
{
  g_autoptr(PostSctpPsi) listener = g_steal_pointer (&assoc->announce);
  g_autoptr(PostConfiguration) receive_only = NULL;
  PostConfiguration *configuration = post_psi_get_configuration (POST_PSI (listener));
  g_autoptr(PostPsi) child = NULL;

  /* The reference listener_accept_all() left goes with the announcement
   * (the dispatch holds one meanwhile). */
  assoc_unref (assoc);
  if (listener->closed || !listener->accepting)
    {
      assoc_fail (assoc, g_error_new_literal (POST_ERROR, POST_ERROR_CLOSED, "The listener closed"));
      return;
    }
  if (assoc->peer_one_way)
    {
      receive_only = post_configuration_copy (configuration);
      post_configuration_set_direction (receive_only, POST_DIRECTION_UNIDIRECTIONAL_RECEIVE, NULL);
      configuration = receive_only;
    }
  child = post_stack_create_psi (post_psi_get_stack (POST_PSI (listener)), configuration);
  if (child == NULL || !POST_IS_SCTP_PSI (child))
    {
      assoc_fail (assoc, g_error_new_literal (POST_ERROR, POST_ERROR_CLOSED, "No SCTP instance"));
      return;
    }
  assoc_attach (assoc, POST_SCTP_PSI (child), 0);
  if (assoc->flow->local_len > 0)
    {
      /* A wildcard listener's: the address the remote wrote to */
      g_autoptr(GSocketAddress) arrival = g_socket_address_new_from_native (&assoc->flow->local,
                                                                            assoc->flow->local_len);

      post_psi_set_addresses (child, arrival, assoc->flow->remote);
    }
  else
    post_psi_set_addresses (child, post_psi_get_local_address (POST_PSI (listener)), assoc->flow->remote);
  post_psi_set_interface (child, post_psi_get_interface (POST_PSI (listener)));
  post_psi_emit_accepted (POST_PSI (listener), child);
}

static gboolean
assoc_dispatch_cb (gpointer user_data)
{
  SctpAssoc *assoc = assoc_ref (user_data);
  g_autoptr(GHashTable) woken = g_hash_table_new_full (NULL, NULL, g_object_unref, NULL);
  g_autoptr(GPtrArray) expired = g_ptr_array_new_with_free_func (g_object_unref);
  int events;

  G_LOCK (sctp_global);
  g_clear_pointer (&assoc->dispatch, g_source_unref);
  G_UNLOCK (sctp_global);

  if (assoc->connect_task != NULL
      && g_cancellable_is_cancelled (g_task_get_cancellable (assoc->connect_task)))
    assoc_fail (assoc, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                            "The SCTP association setup was cancelled"));

  for (gboolean read_on = FALSE;
       assoc->so != NULL && (assoc->buffered < ASSOC_BUFFER_LIMIT || read_on);)
    {
      struct sctp_rcvinfo info = { 0 };
      socklen_t info_len = sizeof info;
      unsigned int info_type = 0;
      struct sockaddr_storage from;
      socklen_t from_len = sizeof from;
      int flags = 0;
      gssize n;
      PostSctpPsi *psi;

      read_on = FALSE;
      n = usrsctp_recvv (assoc->so, assoc->buffer, RECV_BUFFER, (struct sockaddr *) &from, &from_len,
                         &info, &info_len, &info_type, &flags);
      if (n < 0)
        {
          int errsv = errno;

          if (errsv == EAGAIN || errsv == EWOULDBLOCK)
            {
              assoc->n_tracked_drained = assoc->n_tracked;
              break;
            }
          if (errsv == ENOTCONN && assoc->state == ASSOC_CONNECTING)
            break;
          if (assoc->state == ASSOC_CLOSING)
            assoc_closing_done (assoc);
          else
            {
              g_autofree char *where = format_address (assoc->flow->remote);
              g_autofree char *what = g_strdup_printf ("SCTP association with %s", where);

              assoc_end (assoc, errno_error (errsv, what));
            }
          break;
        }
      if (n == 0)
        {
          /* The peer's SHUTDOWN: nothing more will arrive. */
          if (assoc->state == ASSOC_CLOSING)
            assoc_closing_done (assoc);
          else
            assoc_end (assoc, NULL);
          break;
        }
      if (flags & MSG_NOTIFICATION)
        {
          /* A notification larger than the buffer (a SEND_FAILED carries
           * the message's data) comes in pieces: the first has it all. */
          if (!assoc->in_notification)
            handle_notification (assoc, (const union sctp_notification *) assoc->buffer, n, expired);
          assoc->in_notification = !(flags & MSG_EOR);
          continue;
        }
      if (info_type != SCTP_RECVV_RCVINFO)
        info.rcv_sid = 0;
      assoc->received_any = TRUE;
      if (assoc->announce != NULL)
        assoc_announce (assoc);
      psi = g_hash_table_lookup (assoc->streams, GUINT_TO_POINTER (info.rcv_sid));
      if (psi == NULL && assoc->state == ASSOC_UP)
        {
          PostSctpPsi *parent = assoc_first_stream (assoc);
          PostSctpPsi *child = assoc_new_peer_stream (assoc, info.rcv_sid);

          if (child == NULL)
            {
              g_debug ("sctp: dropping a message on stream %u that nobody opened", info.rcv_sid);
              continue;
            }
          stream_push (child, assoc, assoc->buffer, n, g_ntohl (info.rcv_ppid), (flags & MSG_EOR) != 0);
          /* The peer forked: the core asks the application (it takes a
           * reference when it accepts). */
          g_object_ref (parent);
          post_psi_emit_fork_request (POST_PSI (parent), POST_PSI (child));
          g_object_unref (parent);
          if (!child->closed)
            g_hash_table_add (woken, child);   /* our reference */
          else
            g_object_unref (child);
          continue;
        }
      if (psi == NULL)
        continue;
      /* The end of a message that came in pieces: what follows may say it
       * was cut short, so it is read now, whatever is buffered. */
      read_on = stream_push (psi, assoc, assoc->buffer, n, g_ntohl (info.rcv_ppid), (flags & MSG_EOR) != 0);
      if (!g_hash_table_contains (woken, psi))
        g_hash_table_add (woken, g_object_ref (psi));
    }

  if (assoc->announce != NULL && assoc->state == ASSOC_UP)
    assoc_announce (assoc);
  events = assoc->so != NULL ? usrsctp_get_events (assoc->so) : SCTP_EVENT_ERROR;
  for (guint i = 0; i + 1 < expired->len; i += 2)
    if (!POST_SCTP_PSI (expired->pdata[i])->closed)
      post_psi_emit_message_expired (expired->pdata[i], expired->pdata[i + 1]);
  {
    GHashTableIter iter;
    gpointer key;
    g_autoptr(GPtrArray) streams = assoc_streams (assoc);

    g_hash_table_iter_init (&iter, woken);
    while (g_hash_table_iter_next (&iter, &key, NULL))
      stream_wake (key);
    if ((events & SCTP_EVENT_ERROR)
        || ((events & SCTP_EVENT_WRITE) && !g_atomic_int_get (&assoc->send_blocked)))
      for (guint i = 0; i < streams->len; i++)
        {
          PostSctpPsi *psi = streams->pdata[i];

          if (!psi->closed && (psi->interest & G_IO_OUT) && !stream_locked_out (psi))
            notify_ready (psi, G_IO_OUT);
        }
  }
  assoc_unref (assoc);
  return G_SOURCE_REMOVE;
}

/* ---- streams -------------------------------------------------------------------- */

static gboolean
stream_wake_cb (gpointer user_data)
{
  PostSctpPsi *self = POST_SCTP_PSI (user_data);

  g_clear_pointer (&self->wake, g_source_unref);
  if (!self->closed && (self->interest & G_IO_IN)
      && (!g_queue_is_empty (&self->inbox) || self->eof || self->error != NULL))
    notify_ready (self, G_IO_IN);
  return G_SOURCE_REMOVE;
}

/* Something to read (or the end): tell the core from the main loop. */
static void
stream_wake (PostSctpPsi *self)
{
  if (self->wake != NULL || self->closed || !(self->interest & G_IO_IN))
    return;
  self->wake = g_idle_source_new ();
  g_source_set_priority (self->wake, G_PRIORITY_DEFAULT);
  g_source_set_callback (self->wake, stream_wake_cb, self, NULL);
  g_source_set_static_name (self->wake, "[post] sctp stream wake");
  g_source_attach (self->wake, self->context);
}

static void
post_sctp_psi_set_interest (PostPsi      *psi,
                            GIOCondition  condition)
{
  PostSctpPsi *self = POST_SCTP_PSI (psi);

  self->interest = condition & (G_IO_IN | G_IO_OUT);
  if (self->closed || self->mode != MODE_STREAM)
    return;
  if (self->interest & G_IO_IN)
    stream_wake (self);
  /* Level-triggered, but a message needs room for all of it: after a send
   * that found none, wait for usrsctp's upcall (a SACK) instead of waking
   * the core for a send that would fail again. */
  if ((self->interest & G_IO_OUT) && self->assoc->so != NULL && !stream_locked_out (self)
      && (self->assoc->state != ASSOC_UP
          || ((usrsctp_get_events (self->assoc->so) & (SCTP_EVENT_WRITE | SCTP_EVENT_ERROR))
              && !g_atomic_int_get (&self->assoc->send_blocked))))
    assoc_schedule (self->assoc);
  else if ((self->interest & G_IO_OUT) && self->assoc->so == NULL)
    assoc_schedule (self->assoc);
}

static gboolean
stream_check_usable (PostSctpPsi  *self,
                     GError      **error)
{
  if (self->mode != MODE_STREAM)
    {
      g_set_error_literal (error, POST_ERROR, POST_ERROR_NOT_SUPPORTED,
                           "This SCTP instance carries no messages (not connected)");
      return FALSE;
    }
  if (self->assoc->state == ASSOC_DEAD || self->assoc->so == NULL)
    {
      if (self->assoc->error != NULL)
        g_propagate_error (error, g_error_copy (self->assoc->error));
      else
        g_set_error_literal (error, POST_ERROR, POST_ERROR_CONNECTION_RESET,
                             "The SCTP association has ended");
      return FALSE;
    }
  return TRUE;
}

/* One usrsctp_sendv() of bytes of the stream's current message, SCTP_EOR
 * when @eor (the message ends when all of them are taken).  The message's
 * properties go with its first bytes: usrsctp appends later ones to it.
 * Returns what usrsctp took, or -1. */
static gssize
stream_sendv (PostSctpPsi   *self,
              const guint8  *data,
              gsize          size,
              PostMessage   *message,
              gboolean       eor,
              GError       **error)
{
  struct sctp_sendv_spa spa = { 0 };
  PostConfiguration *configuration = post_psi_get_configuration (POST_PSI (self));
  gssize n;
  gboolean tracked_context = FALSE;

  /* usrsctp 0.9.5 fails a non-blocking send larger than the send buffer
   * with EMSGSIZE when it finds no room, explicit EOR or not: at most that
   * much per call, and no EOR unless the call has the message's end. */
  if (size > SEND_BUFFER)
    {
      size = SEND_BUFFER;
      eor = FALSE;
    }
  spa.sendv_flags = SCTP_SEND_SNDINFO_VALID;
  spa.sendv_sndinfo.snd_sid = self->sid;
  spa.sendv_sndinfo.snd_ppid = g_htonl (POST_SCTP_PPID_DATA);
  spa.sendv_sndinfo.snd_flags = eor ? SCTP_EOR : 0;
  if (configuration != NULL
      && post_configuration_get_preference (configuration, POST_SELECTION_PRESERVE_ORDER) != POST_PREFERENCE_REQUIRE
      && post_configuration_get_preference (configuration, POST_SELECTION_PRESERVE_ORDER) != POST_PREFERENCE_PREFER)
    spa.sendv_sndinfo.snd_flags |= SCTP_UNORDERED;
  if (message != NULL)
    {
      gint64 lifetime = post_message_get_lifetime (message);

      if (post_message_get_immediate (message))
        spa.sendv_sndinfo.snd_flags |= SCTP_SACK_IMMEDIATELY;
      if (!post_message_get_reliable (message))
        {
          /* PR-SCTP (RFC 3758): an unreliable message is abandoned when
           * its lifetime passes, or after its first transmission. */
          spa.sendv_flags |= SCTP_SEND_PRINFO_VALID;
          if (lifetime != POST_MESSAGE_LIFETIME_INFINITE && lifetime > 0)
            {
              spa.sendv_prinfo.pr_policy = SCTP_PR_SCTP_TTL;
              /* Whole milliseconds, rounded up: usrsctp abandons it no
               * sooner than its lifetime (which `expired` checks). */
              spa.sendv_prinfo.pr_value = (uint32_t) MAX (1, MIN ((lifetime + 999) / 1000, G_MAXUINT32));
              tracked_context = !self->msg_started;
            }
          else
            {
              spa.sendv_prinfo.pr_policy = SCTP_PR_SCTP_RTX;
              spa.sendv_prinfo.pr_value = 0;
            }
        }
      if (!self->msg_started
          && (!self->priority_set || self->priority != MIN (post_message_get_niceness (message), G_MAXUINT16)))
        {
          struct sctp_stream_value value = { 0 };

          /* The stream scheduler serves lower values first: niceness. */
          self->priority = MIN (post_message_get_niceness (message), G_MAXUINT16);
          self->priority_set = TRUE;
          value.assoc_id = SCTP_FUTURE_ASSOC;
          value.stream_id = self->sid;
          value.stream_value = self->priority;
          if (usrsctp_setsockopt (self->assoc->so, IPPROTO_SCTP, SCTP_SS_VALUE, &value, sizeof value) < 0)
            g_debug ("sctp: setting the priority of stream %u failed: %s", self->sid, g_strerror (errno));
        }
    }

  if (tracked_context)
    spa.sendv_sndinfo.snd_context = track_lifetime (self->assoc, self->sid, message,
                                                    post_message_get_lifetime (message));
  n = usrsctp_sendv (self->assoc->so, data, size, NULL, 0, &spa, sizeof spa, SCTP_SENDV_SPA, 0);
  if (n <= 0)
    {
      int errsv = n < 0 ? errno : EAGAIN;

      if (tracked_context)
        {
          Tracked *t = g_hash_table_lookup (self->assoc->tracked,
                                            GUINT_TO_POINTER (spa.sendv_sndinfo.snd_context));

          if (t != NULL)
            tracked_remove (self->assoc, t);
        }

      if (errsv == EAGAIN || errsv == EWOULDBLOCK)
        {
          g_atomic_int_set (&self->assoc->send_blocked, TRUE);
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK, "The SCTP send buffer is full");
          return -1;
        }
      *error = errno_error (errsv, "Sending on the SCTP association failed");
      if (self->msg_started)
        {
          /* Part of the message is in usrsctp and the rest cannot follow:
           * it must not arrive as a message (nor anything sent next as its
           * end), so the association goes. */
          assoc_fail (self->assoc, g_error_copy (*error));
        }
      return -1;
    }
  self->sent_any = TRUE;
  self->msg_started = TRUE;
  if ((gsize) n < size)
    g_atomic_int_set (&self->assoc->send_blocked, TRUE);   /* the rest after a SACK */
  return n;
}

/* The stream's message ended (or was given up): the association's other
 * streams may send again. */
static void
stream_message_done (PostSctpPsi *self)
{
  self->msg_open = FALSE;
  self->msg_started = FALSE;
  self->has_held = FALSE;
  if (self->assoc != NULL && self->assoc->open_stream == self)
    {
      self->assoc->open_stream = NULL;
      if (self->assoc->lock_waiters)
        {
          self->assoc->lock_waiters = FALSE;
          assoc_schedule (self->assoc);   /* G_IO_OUT for the ones that waited */
        }
    }
}

/* Whether another stream of the association is in the middle of a message
 * (usrsctp refuses, with EINVAL, to send on any other until it ends). */
static gboolean
stream_locked_out (PostSctpPsi *self)
{
  return self->assoc != NULL && self->assoc->open_stream != NULL && self->assoc->open_stream != self;
}

/* Every message goes through here, a whole one as one part: its bytes to
 * usrsctp as they come (explicit EOR), SCTP_EOR with the last.  usrsctp
 * cannot end a message with an empty send, so the last byte of a part that
 * does not end its message is held back and goes with the next part. */
static gssize
post_sctp_psi_send_message_part (PostPsi       *psi,
                                 const guint8  *data,
                                 gsize          size,
                                 PostMessage   *message,
                                 gboolean       end_of_message,
                                 GError       **error)
{
  PostSctpPsi *self = POST_SCTP_PSI (psi);
  gsize give;
  gssize n;

  if (!stream_check_usable (self, error))
    return -1;
  if (self->assoc->state != ASSOC_UP)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK, "The association is not up");
      return -1;
    }
  if (self->sid >= self->assoc->n_out)
    {
      g_set_error (error, POST_ERROR, POST_ERROR_NOT_SUPPORTED,
                   "SCTP stream %u is beyond the %u outbound streams the association has",
                   self->sid, self->assoc->n_out);
      return -1;
    }
  if (stream_locked_out (self))
    {
      self->assoc->lock_waiters = TRUE;
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK,
                   "SCTP stream %u is in the middle of a message", self->assoc->open_stream->sid);
      return -1;
    }
  if (size == 0 && !end_of_message)
    return 0;
  if (size == 0 && !self->has_held)
    {
      g_set_error_literal (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                           "SCTP carries no empty messages (a user message has at least one byte)");
      return -1;
    }
  if (size == 0)
    {
      /* An empty last part: the byte held back ends the message. */
      if (stream_sendv (self, &self->held, 1, message, TRUE, error) < 0)
        return -1;
      stream_message_done (self);
      return 0;
    }
  if (self->has_held)
    {
      if (stream_sendv (self, &self->held, 1, message, FALSE, error) < 0)
        return -1;
      self->has_held = FALSE;
    }
  self->msg_open = TRUE;
  self->assoc->open_stream = self;
  give = end_of_message ? size : size - 1;
  if (give > 0)
    {
      n = stream_sendv (self, data, give, message, end_of_message, error);
      if (n < 0)
        {
          if (!self->msg_started)
            stream_message_done (self);   /* nothing of it anywhere yet */
          return -1;
        }
      if ((gsize) n < give)
        return n;
    }
  if (end_of_message)
    stream_message_done (self);
  else
    {
      self->held = data[size - 1];
      self->has_held = TRUE;
    }
  return size;
}

static GBytes *
post_sctp_psi_receive_message_part (PostPsi         *psi,
                                    GSocketAddress **source,
                                    gboolean        *end_of_message,
                                    GError         **error)
{
  PostSctpPsi *self = POST_SCTP_PSI (psi);
  Piece *piece;

  if (self->mode != MODE_STREAM)
    {
      g_set_error_literal (error, POST_ERROR, POST_ERROR_NOT_SUPPORTED,
                           "This SCTP instance carries no messages");
      return NULL;
    }
  piece = g_queue_pop_head (&self->inbox);
  if (piece != NULL)
    {
      SctpAssoc *assoc = self->assoc;
      gboolean was_full = assoc->buffered >= ASSOC_BUFFER_LIMIT;
      GBytes *bytes = g_steal_pointer (&piece->bytes);
      gsize size = g_bytes_get_size (bytes);

      *end_of_message = piece->end;
      g_free (piece);
      assoc->buffered -= MIN (assoc->buffered, size);
      self->inbox_bytes -= MIN (self->inbox_bytes, size);
      if (was_full && assoc->buffered < ASSOC_BUFFER_LIMIT)
        assoc_schedule (assoc);   /* read what waits in usrsctp */
      if (source != NULL)
        *source = g_object_ref (post_psi_get_remote_address (psi));
      return bytes;
    }
  /* An association that ended in the middle of the peer's message: the
   * core fails the carrier, never delivering what came of it. */
  if (self->error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&self->error));
      return NULL;
    }
  if (self->eof)
    return NULL;   /* the end of the peer's stream */
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK, "No SCTP message waits");
  return NULL;
}

static gsize
post_sctp_psi_get_max_message_size (PostPsi *psi)
{
  return 0;   /* none: a message goes to usrsctp in parts as room frees */
}

/* Ends our side of stream @sid (RFC 6525), after what is queued on it. */
static void
stream_reset (PostSctpPsi *self,
              gboolean     abort)
{
  SctpAssoc *assoc = self->assoc;
  guint8 storage[sizeof (struct sctp_reset_streams) + sizeof (uint16_t)];
  struct sctp_reset_streams *reset = (struct sctp_reset_streams *) storage;

  if (assoc->so == NULL || assoc->state != ASSOC_UP || self->sid >= assoc->n_out)
    return;
  if (abort)
    {
      struct sctp_sndinfo info = { .snd_sid = self->sid, .snd_flags = SCTP_EOR,
                                   .snd_ppid = g_htonl (POST_SCTP_PPID_ABORT) };
      const guint8 marker = 0;

      if (usrsctp_sendv (assoc->so, &marker, 1, NULL, 0, &info, sizeof info, SCTP_SENDV_SNDINFO, 0) < 0)
        g_debug ("sctp: sending the abort of stream %u failed: %s", self->sid, g_strerror (errno));
    }
  if (!self->sent_any && !abort)
    {
      /* The peer never heard of this stream: nothing to end there. */
      return;
    }
  memset (storage, 0, sizeof storage);
  reset->srs_assoc_id = SCTP_FUTURE_ASSOC;
  reset->srs_flags = SCTP_STREAM_RESET_OUTGOING;
  reset->srs_number_streams = 1;
  reset->srs_stream_list[0] = self->sid;
  if (usrsctp_setsockopt (assoc->so, IPPROTO_SCTP, SCTP_RESET_STREAMS, reset, sizeof storage) < 0)
    g_debug ("sctp: resetting stream %u failed: %s", self->sid, g_strerror (errno));
}

static void
post_sctp_psi_close (PostPsi  *psi,
                     gboolean  abort)
{
  PostSctpPsi *self = POST_SCTP_PSI (psi);

  self->closed = TRUE;
  clear_source (&self->wake);

  if (self->mode == MODE_LISTENER)
    {
      self->accepting = FALSE;
      if (self->endpoint != NULL)
        self->endpoint->listener = NULL;
      if (self->listen_so != NULL)
        {
          usrsctp_set_upcall (self->listen_so, NULL, NULL);
          usrsctp_close (g_steal_pointer (&self->listen_so));
        }
      g_clear_pointer (&self->endpoint, endpoint_unref);
      return;
    }
  if (self->mode == MODE_STREAM && self->assoc != NULL)
    {
      SctpAssoc *assoc = self->assoc;
      gboolean was_full = assoc->buffered >= ASSOC_BUFFER_LIMIT;
      /* A message of ours left unfinished must not arrive as one: SCTP
       * cannot end one stream's message early (no I-DATA), so the whole
       * association is aborted and the peer's carriers fail. */
      gboolean unfinished = self->msg_open;

      assoc_detach (assoc, self);
      stream_message_done (self);
      g_queue_clear_full (&self->inbox, (GDestroyNotify) piece_free);
      if (was_full && assoc->buffered < ASSOC_BUFFER_LIMIT)
        assoc_schedule (assoc);
      if (g_hash_table_size (assoc->streams) == 0)
        {
          if (assoc->connect_task != NULL)
            connect_done (assoc, g_error_new_literal (POST_ERROR, POST_ERROR_CLOSED,
                                                      "The SCTP instance was closed"));
          assoc_close (assoc, abort || unfinished);
        }
      else if (unfinished)
        assoc_fail (assoc, g_error_new (POST_ERROR, POST_ERROR_CONNECTION_RESET,
                                        "SCTP stream %u closed in the middle of a message: "
                                        "the association was aborted (SCTP cannot end one "
                                        "stream's message unfinished)", self->sid));
      else
        stream_reset (self, abort);
      g_clear_pointer (&self->assoc, assoc_unref);
    }
}

/* ---- active open ------------------------------------------------------------------ */

static void
connect_cancelled_cb (GCancellable *cancellable,
                      gpointer      user_data)
{
  /* Runs in the thread that cancels; finish from the association's context. */
  assoc_schedule (user_data);
}

static void
post_sctp_psi_connect_async (PostPsi             *psi,
                             GSocketAddress      *remote,
                             GSocketAddress      *local,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  PostSctpPsi *self = POST_SCTP_PSI (psi);
  g_autoptr(GTask) task = NULL;
  g_autoptr(GSocketAddress) bound = NULL;
  g_autofree char *where = NULL;
  struct sockaddr_storage sa;
  struct sockaddr_conn sconn = { 0 };
  SctpEndpoint *ep;
  SctpFlow *flow;
  SctpAssoc *assoc;
  struct socket *so;
  GError *error = NULL;
  guint16 port;

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, post_sctp_psi_connect_async);
  g_task_set_name (task, "[post] sctp connect");
  if (g_task_return_error_if_cancelled (task))
    return;
  if (self->closed || self->mode != MODE_NONE)
    {
      g_task_return_new_error (task, POST_ERROR, self->closed ? POST_ERROR_CLOSED : POST_ERROR_PENDING,
                               self->closed ? "The SCTP instance is closed"
                                            : "The SCTP instance is already in use");
      return;
    }
  if (!G_IS_INET_SOCKET_ADDRESS (remote))
    {
      g_task_return_new_error (task, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                               "SCTP over UDP needs an IP address and port, not a %s",
                               G_OBJECT_TYPE_NAME (remote));
      return;
    }
  where = format_address (remote);
  ep = endpoint_new (psi, self->context, g_socket_address_get_family (remote), local, remote, &error);
  if (ep == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  if (!g_socket_address_to_native (remote, &sa, sizeof sa, &error))
    {
      endpoint_unref (ep);
      g_task_return_error (task, error);
      return;
    }
  flow = flow_new (ep, &sa, g_socket_address_get_native_size (remote));
  endpoint_unref (ep);   /* the flow holds it */
  if (flow == NULL)
    {
      g_task_return_new_error (task, POST_ERROR, POST_ERROR_CONNECTION_REFUSED,
                               "SCTP over UDP to %s: no AF_CONN address for the flow", where);
      return;
    }

  so = usrsctp_socket (AF_CONN, SOCK_STREAM, IPPROTO_SCTP, NULL, NULL, 0, NULL);
  if (so == NULL)
    {
      int errsv = errno;

      flow_unref (flow);
      g_task_return_error (task, errno_error (errsv, "Could not create an SCTP socket"));
      return;
    }
  configure_socket (so, streams_option (psi), psi);
  if (post_configuration_get_direction (post_psi_get_configuration (psi)) == POST_DIRECTION_UNIDIRECTIONAL_SEND)
    {
      /* A source: the listener's carrier will be a sink. */
      struct sctp_setadaptation adaptation = { .ssb_adaptation_ind = POST_SCTP_ADAPTATION_ONE_WAY };

      if (usrsctp_setsockopt (so, IPPROTO_SCTP, SCTP_ADAPTATION_LAYER, &adaptation, sizeof adaptation) < 0)
        g_debug ("sctp: SCTP_ADAPTATION_LAYER failed: %s", g_strerror (errno));
    }
  sconn.sconn_family = AF_CONN;
  sconn.sconn_port = 0;
  sconn.sconn_addr = flow->conn_id;
  if (usrsctp_bind (so, (struct sockaddr *) &sconn, sizeof sconn) < 0)
    {
      int errsv = errno;

      usrsctp_close (so);
      flow_unref (flow);
      g_task_return_error (task, errno_error (errsv, "Could not bind the SCTP socket"));
      return;
    }
  assoc = assoc_new (self->context, so, flow, TRUE);
  flow_unref (flow);
  ep->client = assoc;
  assoc->state = ASSOC_CONNECTING;
  assoc_attach (assoc, self, 0);
  assoc_unref (assoc);   /* the stream holds it */

  port = (guint16) get_uint_option (psi, POST_SCTP_OPTION_PORT,
                                    g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (remote)));
  sconn.sconn_port = g_htons (port);
  bound = g_socket_get_local_address (ep->socket, NULL);
  post_psi_set_addresses (psi, bound, remote);

  assoc->connect_task = g_object_ref (task);
  if (cancellable != NULL)
    assoc->cancel_id = g_cancellable_connect (cancellable, G_CALLBACK (connect_cancelled_cb), assoc, NULL);
  if (usrsctp_connect (so, (struct sockaddr *) &sconn, sizeof sconn) < 0 && errno != EINPROGRESS)
    {
      int errsv = errno;
      g_autofree char *what = g_strdup_printf ("SCTP over UDP to %s", where);

      assoc_fail (assoc, errno_error (errsv, what));
    }
}

static gboolean
post_sctp_psi_connect_finish (PostPsi       *psi,
                              GAsyncResult  *result,
                              GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, psi), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* ---- passive open --------------------------------------------------------------------- */

static void
listener_upcall_cb (struct socket *so,
                    void          *arg,
                    int            flags);

static gboolean
listener_dispatch_cb (gpointer user_data)
{
  PostSctpPsi *self = POST_SCTP_PSI (user_data);

  g_clear_pointer (&self->wake, g_source_unref);
  listener_accept_all (self);
  return G_SOURCE_REMOVE;
}

static void
listener_upcall_cb (struct socket *so,
                    void          *arg,
                    int            flags)
{
  PostSctpPsi *self = arg;

  if (self->wake != NULL || self->closed)
    return;
  self->wake = g_idle_source_new ();
  g_source_set_callback (self->wake, listener_dispatch_cb, self, NULL);
  g_source_set_static_name (self->wake, "[post] sctp accept");
  g_source_attach (self->wake, self->context);
}

/* Takes every association usrsctp completed on the listener. */
static void
listener_accept_all (PostSctpPsi *self)
{
  g_object_ref (self);
  while (!self->closed && self->listen_so != NULL)
    {
      struct sockaddr_conn from = { 0 };
      socklen_t from_len = sizeof from;
      struct socket *so;
      SctpFlow *flow = NULL;
      SctpAssoc *assoc;

      so = usrsctp_accept (self->listen_so, (struct sockaddr *) &from, &from_len);
      if (so == NULL)
        break;
      G_LOCK (sctp_global);
      if (from.sconn_family == AF_CONN)
        flow = g_hash_table_lookup (global_flows, from.sconn_addr);
      G_UNLOCK (sctp_global);
      if (flow == NULL || flow->endpoint != self->endpoint)
        {
          g_debug ("sctp: an association on an unknown flow: aborting it");
          usrsctp_close (so);
          continue;
        }
      configure_socket (so, streams_option (POST_PSI (self)), POST_PSI (self));
      assoc = assoc_new (self->context, so, flow, FALSE);
      assoc->state = ASSOC_UP;
      {
        struct sctp_status status = { 0 };
        socklen_t len = sizeof status;

        if (usrsctp_getsockopt (so, IPPROTO_SCTP, SCTP_STATUS, &status, &len) == 0)
          {
            assoc->n_out = status.sstat_outstrms;
            assoc->n_in = status.sstat_instrms;
          }
      }
      /* Stream 0 is announced once the first read pass saw what came
       * with the association (assoc_announce()). */
      assoc->announce = g_object_ref (self);
      assoc_schedule (assoc);
    }
  g_object_unref (self);
}

static gboolean
post_sctp_psi_listen (PostPsi         *psi,
                      GSocketAddress  *local,
                      GError         **error)
{
  PostSctpPsi *self = POST_SCTP_PSI (psi);
  g_autoptr(GSocketAddress) bound = NULL;
  struct sockaddr_conn sconn = { 0 };
  struct socket *so;

  if (self->closed || self->mode != MODE_NONE)
    {
      g_set_error_literal (error, POST_ERROR, self->closed ? POST_ERROR_CLOSED : POST_ERROR_PENDING,
                           self->closed ? "The SCTP instance is closed" : "The SCTP instance is already in use");
      return FALSE;
    }
  if (!G_IS_INET_SOCKET_ADDRESS (local))
    {
      g_set_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                   "SCTP over UDP listens on an IP address and port, not a %s",
                   local ? G_OBJECT_TYPE_NAME (local) : "(null)");
      return FALSE;
    }
  self->endpoint = endpoint_new (psi, self->context, g_socket_address_get_family (local), local, NULL, error);
  if (self->endpoint == NULL)
    return FALSE;
  bound = g_socket_get_local_address (self->endpoint->socket, error);
  if (bound == NULL)
    return FALSE;
  self->sctp_port = (guint16) get_uint_option (psi, POST_SCTP_OPTION_PORT,
                                               g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)));

  so = usrsctp_socket (AF_CONN, SOCK_STREAM, IPPROTO_SCTP, NULL, NULL, 0, NULL);
  if (so == NULL)
    {
      *error = errno_error (errno, "Could not create an SCTP socket");
      return FALSE;
    }
  configure_socket (so, streams_option (psi), psi);
  /* No AF_CONN address: the wildcard, every flow of the endpoint. */
  sconn.sconn_family = AF_CONN;
  sconn.sconn_port = g_htons (self->sctp_port);
  sconn.sconn_addr = NULL;
  if (usrsctp_bind (so, (struct sockaddr *) &sconn, sizeof sconn) < 0 || usrsctp_listen (so, 128) < 0)
    {
      int errsv = errno;
      g_autofree char *what = g_strdup_printf ("Could not listen on SCTP port %u", self->sctp_port);

      usrsctp_close (so);
      *error = errno_error (errsv, what);
      return FALSE;
    }
  self->listen_so = so;
  self->mode = MODE_LISTENER;
  self->accepting = TRUE;
  self->endpoint->listener = self;
  usrsctp_set_upcall (so, listener_upcall_cb, self);
  post_psi_set_addresses (psi, bound, NULL);
  return TRUE;
}

/* ---- forks ------------------------------------------------------------------------------ */

static void
post_sctp_psi_fork_async (PostPsi             *psi,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  PostSctpPsi *self = POST_SCTP_PSI (psi);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autoptr(PostPsi) child = NULL;
  GError *error = NULL;
  SctpAssoc *assoc;
  guint16 sid;

  g_task_set_source_tag (task, post_sctp_psi_fork_async);
  if (g_task_return_error_if_cancelled (task))
    return;
  if (!stream_check_usable (self, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  assoc = self->assoc;
  if (assoc->state != ASSOC_UP || assoc->peer_shutdown)
    {
      g_task_return_new_error (task, POST_ERROR, POST_ERROR_CLOSED,
                               "The SCTP association is closing: no new stream");
      return;
    }
  /* The next number of our side that nobody uses. */
  for (sid = assoc->next_sid; sid < assoc->n_out; sid += 2)
    if (!g_hash_table_contains (assoc->streams, GUINT_TO_POINTER (sid)))
      break;
  if (sid >= assoc->n_out)
    {
      g_task_return_new_error (task, POST_ERROR, POST_ERROR_NOT_SUPPORTED,
                               "The SCTP association has no stream left for a fork (%u outbound "
                               "streams; option sctp.streams asks for more)", assoc->n_out);
      return;
    }
  assoc->next_sid = sid + 2;
  child = post_stack_create_psi (post_psi_get_stack (psi), post_psi_get_configuration (psi));
  if (child == NULL || !POST_IS_SCTP_PSI (child))
    {
      g_task_return_new_error (task, POST_ERROR, POST_ERROR_NOT_SUPPORTED, "No SCTP instance for the fork");
      return;
    }
  assoc_attach (assoc, POST_SCTP_PSI (child), sid);
  post_psi_set_addresses (child, post_psi_get_local_address (psi), post_psi_get_remote_address (psi));
  post_psi_set_interface (child, post_psi_get_interface (psi));
  /* The peer learns of the stream with its first message. */
  g_task_return_pointer (task, g_steal_pointer (&child), g_object_unref);
}

static PostPsi *
post_sctp_psi_fork_finish (PostPsi       *psi,
                           GAsyncResult  *result,
                           GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, psi), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ---- paths ---------------------------------------------------------------------------------- */

static void
post_sctp_psi_update_path (PostPsi  *psi,
                           PostPath *path)
{
  PostSctpPsi *self = POST_SCTP_PSI (psi);
  struct sctp_status status = { 0 };
  socklen_t len = sizeof status;

  if (self->mode != MODE_STREAM || self->assoc->so == NULL)
    return;
  if (usrsctp_getsockopt (self->assoc->so, IPPROTO_SCTP, SCTP_STATUS, &status, &len) < 0)
    return;
  /* srtt is in milliseconds; PostPath's latency is one way, in µs. */
  if (status.sstat_primary.spinfo_srtt > 0)
    post_path_set_latency (path, (gint64) status.sstat_primary.spinfo_srtt * 1000 / 2);
  if (status.sstat_primary.spinfo_mtu > 0)
    post_path_set_mtu (path, status.sstat_primary.spinfo_mtu);
  /* What the congestion window lets through per round trip. */
  if (status.sstat_primary.spinfo_cwnd > 0)
    post_path_set_data_rate (path, (guint64) status.sstat_primary.spinfo_cwnd * 8 * 1000
                                   / MAX (status.sstat_primary.spinfo_srtt, 1));
}

/* ---- GObject ---------------------------------------------------------------------------------- */

static void
post_sctp_psi_dispose (GObject *object)
{
  PostSctpPsi *self = POST_SCTP_PSI (object);

  if (!post_psi_is_closed (POST_PSI (self)))
    post_psi_close (POST_PSI (self), TRUE);
  G_OBJECT_CLASS (post_sctp_psi_parent_class)->dispose (object);
}

static void
post_sctp_psi_finalize (GObject *object)
{
  PostSctpPsi *self = POST_SCTP_PSI (object);

  clear_source (&self->wake);
  g_queue_clear_full (&self->inbox, (GDestroyNotify) piece_free);
  g_clear_error (&self->error);
  g_clear_pointer (&self->assoc, assoc_unref);
  g_clear_pointer (&self->endpoint, endpoint_unref);
  g_clear_pointer (&self->context, g_main_context_unref);
  G_OBJECT_CLASS (post_sctp_psi_parent_class)->finalize (object);
}

static void
post_sctp_psi_constructed (GObject *object)
{
  PostSctpPsi *self = POST_SCTP_PSI (object);

  G_OBJECT_CLASS (post_sctp_psi_parent_class)->constructed (object);
  if (self->context == NULL)
    self->context = g_main_context_ref (post_psi_get_context (POST_PSI (self)));
}

static void
post_sctp_psi_class_init (PostSctpPsiClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  PostPsiClass *psi_class = POST_PSI_CLASS (klass);

  object_class->constructed = post_sctp_psi_constructed;
  object_class->dispose = post_sctp_psi_dispose;
  object_class->finalize = post_sctp_psi_finalize;

  psi_class->connect_async = post_sctp_psi_connect_async;
  psi_class->connect_finish = post_sctp_psi_connect_finish;
  psi_class->listen = post_sctp_psi_listen;
  psi_class->send_message_part = post_sctp_psi_send_message_part;
  psi_class->receive_message_part = post_sctp_psi_receive_message_part;
  psi_class->set_interest = post_sctp_psi_set_interest;
  psi_class->close = post_sctp_psi_close;
  psi_class->fork_async = post_sctp_psi_fork_async;
  psi_class->fork_finish = post_sctp_psi_fork_finish;
  psi_class->update_path = post_sctp_psi_update_path;
  psi_class->get_max_message_size = post_sctp_psi_get_max_message_size;
}

static void
post_sctp_psi_init (PostSctpPsi *self)
{
  g_queue_init (&self->inbox);
}
