/* post-sctp-private.h: what the files of the sctp plugin share: the
 * constants, the internal structs (SctpEndpoint, SctpFlow, SctpAssoc,
 * Piece, Tracked, and PostSctpPsi's instance struct) and the sctp_
 * functions one file calls in another
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The design of the stack is described at the top of post-sctp-psi.c.  The
 * module is built with gnu_symbol_visibility 'hidden', so none of these
 * symbols leaves it; G_GNUC_INTERNAL says so here as well.
 */
#pragma once

#include "post-sctp-psi.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <usrsctp.h>

G_BEGIN_DECLS

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

/* Guards what usrsctp's callbacks read from inside usrsctp: the flows
 * (conn_output()) and an association's dispatch idle (its upcall). */
G_LOCK_EXTERN (sctp_global);

/* post-sctp-udp.c: the process-wide usrsctp, endpoints and flows */
G_GNUC_INTERNAL
char *sctp_format_address (GSocketAddress *address);
G_GNUC_INTERNAL
void sctp_clear_source (GSource **source);
/* The UDP socket of @psi: a client's (@connect_to) or a listener's */
G_GNUC_INTERNAL
SctpEndpoint *sctp_endpoint_new (PostPsi *psi, GMainContext *context, GSocketFamily family,
                                 GSocketAddress *bind_to, GSocketAddress *connect_to, GError **error);
G_GNUC_INTERNAL
void sctp_endpoint_unref (SctpEndpoint *ep);
/* The flow of the remote @sa on @ep, registered with usrsctp; NULL on an
 * AF_CONN address collision */
G_GNUC_INTERNAL
SctpFlow *sctp_flow_new (SctpEndpoint *ep, const struct sockaddr_storage *sa, socklen_t sa_len);
G_GNUC_INTERNAL
SctpFlow *sctp_flow_ref (SctpFlow *flow);
G_GNUC_INTERNAL
void sctp_flow_unref (SctpFlow *flow);
/* The live flow whose AF_CONN address is @conn_id, or NULL */
G_GNUC_INTERNAL
SctpFlow *sctp_flow_lookup (void *conn_id);

/* post-sctp-assoc.c: socket options, associations */
/* A POST_ERROR (or G_IO_ERROR) from @errsv: "what: strerror" */
G_GNUC_INTERNAL
GError *sctp_errno_error (int errsv, const char *what);
G_GNUC_INTERNAL
guint32 sctp_get_uint_option (PostPsi *psi, const char *key, guint32 fallback);
/* Options every association socket has (listeners pass them on) */
G_GNUC_INTERNAL
void sctp_configure_socket (struct socket *so, guint16 streams, PostPsi *psi);
/* Option sctp.streams, within 1 … 65535 */
G_GNUC_INTERNAL
guint16 sctp_streams_option (PostPsi *psi);
G_GNUC_INTERNAL
SctpAssoc *sctp_assoc_new (GMainContext *context, struct socket *so, SctpFlow *flow,
                           gboolean initiator);
G_GNUC_INTERNAL
SctpAssoc *sctp_assoc_ref (SctpAssoc *assoc);
G_GNUC_INTERNAL
void sctp_assoc_unref (SctpAssoc *assoc);
/* @psi becomes stream @sid of @assoc */
G_GNUC_INTERNAL
void sctp_assoc_attach (SctpAssoc *assoc, PostSctpPsi *psi, guint16 sid);
G_GNUC_INTERNAL
void sctp_assoc_detach (SctpAssoc *assoc, PostSctpPsi *psi);
/* The streams of @assoc, referenced, in a snapshot */
G_GNUC_INTERNAL
GPtrArray *sctp_assoc_streams (SctpAssoc *assoc);
/* Completes the connect task, if any, with @error (taken) or success */
G_GNUC_INTERNAL
void sctp_assoc_connect_done (SctpAssoc *assoc, GError *error);
/* The association ended: every stream learns why (@error taken; NULL: the
 * peer closed) */
G_GNUC_INTERNAL
void sctp_assoc_end (SctpAssoc *assoc, GError *error);
/* Ends it with @error (taken) and aborts its socket */
G_GNUC_INTERNAL
void sctp_assoc_fail (SctpAssoc *assoc, GError *error);
/* The last stream closed: SHUTDOWN, or ABORT when @abort */
G_GNUC_INTERNAL
void sctp_assoc_close (SctpAssoc *assoc, gboolean abort);
/* The graceful close completed (or the peer ended it meanwhile) */
G_GNUC_INTERNAL
void sctp_assoc_closing_done (SctpAssoc *assoc);

/* post-sctp-receive.c: the dispatch, the inbox */
G_GNUC_INTERNAL
void sctp_piece_free (Piece *piece);
/* Schedules the dispatch idle on the association's context (any thread) */
G_GNUC_INTERNAL
void sctp_assoc_schedule (SctpAssoc *assoc);
/* Reads what waits in usrsctp now (not from an idle) */
G_GNUC_INTERNAL
void sctp_assoc_dispatch_now (SctpAssoc *assoc);
/* Something to read (or the end): tell the core from the main loop */
G_GNUC_INTERNAL
void sctp_stream_wake (PostSctpPsi *self);
G_GNUC_INTERNAL
GBytes *post_sctp_psi_receive_message_part (PostPsi *psi, GSocketAddress **source,
                                            gboolean *end_of_message, GError **error);

/* post-sctp-send.c: messages in parts, PR-SCTP lifetimes */
G_GNUC_INTERNAL
void sctp_tracked_free (gpointer data);
G_GNUC_INTERNAL
void sctp_tracked_remove (SctpAssoc *assoc, Tracked *t);
/* The stream's message ended (or was given up): the association's other
 * streams may send again */
G_GNUC_INTERNAL
void sctp_stream_message_done (PostSctpPsi *self);
/* Whether another stream of the association is in the middle of a message */
G_GNUC_INTERNAL
gboolean sctp_stream_locked_out (PostSctpPsi *self);
G_GNUC_INTERNAL
gssize post_sctp_psi_send_message_part (PostPsi *psi, const guint8 *data, gsize size,
                                        PostMessage *message, gboolean end_of_message,
                                        GError **error);

/* post-sctp-psi.c: the instance */
/* A connected stream whose association has not ended; else @error */
G_GNUC_INTERNAL
gboolean sctp_stream_check_usable (PostSctpPsi *self, GError **error);
/* Takes every association usrsctp completed on the listener */
G_GNUC_INTERNAL
void sctp_listener_accept_all (PostSctpPsi *self);

G_END_DECLS
