/* post-transient-private.h: the transient engine, and what it needs of its owner
 *
 * Layer "transient" of docs/architecture.md: it may include only the headers of its
 * own layer and the layers below (tools/include-graph.py --check).
 * Nothing here is installed or exported.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "post-selection-private.h"
#define POST_INSIDE
#include "post-transient.h"
#undef POST_INSIDE

G_BEGIN_DECLS

/* The carrier that owns a transient, as a handle (post-carrier.h declares
 * the type; this layer does not include it) */
typedef struct _PostCarrier PostCarrier;

typedef enum {
  POST_DEMAND_NONE,
  POST_DEMAND_COMPLETE,
  POST_DEMAND_PARTIAL,
} PostDemand;


/* ---- What the transient needs of its owner ---------------------------------
 * The transient is one layer below the carrier: it declares here what it
 * asks of the carrier that owns it, and post-carrier*.c implement it (a
 * PostCarrier is only a handle to the transient: it never includes the
 * carrier's headers).
 *
 * The transient asks its carrier what receive demand there is, delivers to
 * it, and reports send events and its end. */
PostDemand      _post_carrier_peek_demand        (PostCarrier       *self,
                                                  gsize             *min_length,
                                                  gsize             *max_length);
gsize           _post_carrier_get_inbox_size     (PostCarrier       *self);
gboolean        _post_carrier_is_passive         (PostCarrier       *self);
void            _post_carrier_deliver_error      (PostCarrier       *self,
                                                  const GError      *error);
void            _post_carrier_deliver            (PostCarrier       *self,
                                                  PostMessage       *handle,
                                                  GBytes            *data,
                                                  gboolean           end_of_message);
void            _post_carrier_emit_sent          (PostCarrier       *self,
                                                  PostMessage       *message);
gboolean        _post_carrier_wants_acked        (PostCarrier       *self);
void            _post_carrier_emit_soft_error    (PostCarrier       *self,
                                                  const GError      *error);
void            _post_carrier_emit_acked         (PostCarrier       *self,
                                                  PostMessage       *message);
void            _post_carrier_emit_expired       (PostCarrier       *self,
                                                  PostMessage       *message);
void            _post_carrier_emit_send_error    (PostCarrier       *self,
                                                  PostMessage       *message,
                                                  const GError      *error);
/* The transient's PSI ended: @error is NULL for an orderly end (both
 * directions closed), else why it failed.  @peer_closed: the peer ended it. */
gboolean        _post_carrier_should_go_dormant  (PostCarrier       *self,
                                                  PostTransient     *transient,
                                                  const GError      *error);
void            _post_carrier_transient_ended    (PostCarrier       *self,
                                                  PostTransient     *transient,
                                                  const GError      *error,
                                                  gboolean           peer_closed);
PostPath       *_post_carrier_path_for_psi        (PostCarrier   *self,
                                                   PostPsi       *psi);
/* The peer forked the carrier on the transient's PSI (a new stream) */
void            _post_carrier_transient_fork_request (PostCarrier   *self,
                                                      PostPsi       *psi,
                                                      PostPsi       *forked);
void            _post_carrier_transient_path_changed (PostCarrier   *self,
                                                      PostTransient *transient);

void            _post_carrier_control_frame      (PostCarrier       *self,
                                                  PostTransient     *transient,
                                                  guint8             type,
                                                  guint8             flags,
                                                  GBytes            *body,
                                                  gboolean           first);
void            _post_carrier_first_message      (PostCarrier       *self,
                                                  PostTransient     *transient);

/* ---- The transient (post-transient.c) ------------------------------------- */
PostTransient  *_post_transient_new_pending      (PostCarrier       *carrier,
                                                  PostConfiguration *configuration);
void            _post_transient_attach           (PostTransient     *self,
                                                  PostPsi           *psi,
                                                  PostPath          *path);
gboolean        _post_transient_is_attached      (PostTransient     *self);
/* Moves every queued, not yet started send of @from to @self. */
void            _post_transient_take_queue       (PostTransient     *self,
                                                  PostTransient     *from);
gboolean        _post_transient_enqueue          (PostTransient     *self,
                                                  PostMessage       *message,
                                                  GBytes            *content,
                                                  gboolean           end_of_message,
                                                  gboolean           part,
                                                  GTask             *task,
                                                  GSocketAddress    *destination,
                                                  gboolean           check_limit,
                                                  GError           **error);
void            _post_transient_flush            (PostTransient     *self,
                                                  GTask             *task);
gsize           _post_transient_get_queued_bytes (PostTransient     *self);
gboolean        _post_transient_send_queue_full  (PostTransient     *self);
/* inbox + message being assembled + undecoded input */
gsize           _post_transient_get_receive_bytes (PostTransient    *self);
/* A send or flush task whose cancellable was cancelled: returns
 * G_IO_ERROR_CANCELLED if nothing of it was written yet (a send) or it is
 * still waiting (a flush); otherwise it goes on and completes normally. */
void            _post_transient_cancel_send      (PostTransient     *self,
                                                  GTask             *task);
void            _post_transient_cancel_flush     (PostTransient     *self,
                                                  GTask             *task);
void            _post_transient_pump_receive     (PostTransient     *self);
/* Reads once without waiting for the PSI to say it is readable (a freshly
 * accepted transport often has data, or its peer's end, waiting). */
void            _post_transient_try_read         (PostTransient     *self);
/* Graceful: drain the queue, end the sending direction, wait (bounded) for
 * the peer's end, then close. */
void            _post_transient_close            (PostTransient     *self);
void            _post_transient_abort            (PostTransient     *self,
                                                  const GError      *error);
void            _post_transient_fail_queue       (PostTransient     *self,
                                                  const GError      *error);
PostStackCapabilities _post_transient_get_capabilities (PostTransient *self);
/* Control frames of libpost's framing (forks on stacks without streams) */
gboolean        _post_transient_speaks_control   (PostTransient     *self);
gboolean        _post_transient_has_seen_frame   (PostTransient     *self);
gboolean        _post_transient_send_unframed    (PostTransient     *self,
                                                  GBytes            *bytes);
void            _post_transient_take_framer_raw  (PostTransient     *self);
gboolean        _post_transient_send_control     (PostTransient     *self,
                                                  guint8             type,
                                                  guint8             flags,
                                                  const guint8      *body,
                                                  gsize              body_length);
/* 0-RTT: the idempotent messages at the head of the queue, framed, up to
 * @limit bytes (NULL if none); they count as sent once a PSI that took them
 * is attached, else _post_transient_return_early_data() requeues them. */
GBytes         *_post_transient_take_early_data  (PostTransient     *self,
                                                  gsize              limit);
void            _post_transient_return_early_data (PostTransient    *self);

/* ---- PostTransient internals (post-transient*.c) ---------------------------
 * A transient is implemented by post-transient.c (the object, attaching,
 * 0-RTT early data, control frames, ending, accessors),
 * post-transient-send.c (the send queue, writing, datagrams) and
 * post-transient-receive.c (reading, decoding, delivering, readiness).
 * What they share is here; the carrier uses only the functions above. */
#define MAX_VECTORS       512
#define MAX_BATCH_BYTES   (1024 * 1024)
#define COALESCE_MAX      (64 * 1024)
#define COALESCE_LIMIT    1024           /* messages up to this size are copied */
#define SEND_BATCH_MAX    64             /* messages per post_psi_send_messages() */
#define READ_AHEAD        (64 * 1024)
#define READ_CHUNK        (64 * 1024)
#define ACK_POLL_MS       5
#define CLOSE_LINGER_MS   2000

typedef struct
{
  guint32 offset;               /* of the payload in the coalesced buffer */
  guint32 length;               /* its size (at most COALESCE_LIMIT) */
} CoalescedSpan;

typedef struct
{
  guint64         seq;          /* enqueue order */
  PostMessage    *message;      /* (owned) (nullable) */
  GTask          *task;         /* (owned) (nullable) */
  GBytes         *payload;      /* (owned) (nullable) */
  GByteArray     *coalesced;    /* (owned) (nullable) pre-framed anonymous messages */
  GArray         *spans;        /* (owned) (nullable) (element-type CoalescedSpan):
                                 * where each message's payload lies in coalesced,
                                 * so that it can be framed again by another
                                 * framer instance without decoding */
  GSocketAddress *destination;  /* (owned) (nullable) message stacks */
  guint8          header[16];
  guint           header_len;
  GByteArray     *trailer;      /* (owned) (nullable) */
  gsize           written;
  gsize           total;
  guint           niceness;
  gint64          deadline;
  guint           end_of_message : 1;
  guint           shutdown_after : 1;
  guint           part : 1;           /* one part of a message sent in parts */
  guint           no_datagram : 1;    /* the PSI refused it as a datagram */
  guint           control : 1;        /* a control frame of libpost's framing */
} SendItem;

typedef struct
{
  guint  niceness;
  GQueue items;
} SendLevel;

/* A message handed to the PSI as a datagram, until its fate is known. */
typedef struct
{
  guint64      id;
  PostMessage *message;  /* (owned) */
  GTask       *task;     /* (owned) (nullable) */
  gboolean     sent;
} Datagram;

typedef struct
{
  PostMessage *message;  /* (owned) */
  guint64      end;      /* stream offset of the message's last byte */
} Unacked;

/* Written to a PSI that keeps it before it goes out (get_sent_offset):
 * the sent event and the send's completion wait for the bytes to leave. */
typedef struct
{
  PostMessage *message;  /* (owned) (nullable): NULL for a part that does not end it */
  GTask       *task;     /* (owned) (nullable) */
  guint64      end;
} Unsent;

struct _PostTransient
{
  GObject            parent_instance;

  PostCarrier       *carrier;        /* (unowned) the carrier owns us */
  PostPsi           *psi;            /* (owned) (nullable) until attached */
  PostPath          *path;           /* (owned) (nullable) */
  PostConfiguration *configuration;  /* (owned) */
  PostFramer        *framer;         /* (owned) (nullable): byte streams in AUTO framing */
  GMainContext      *context;        /* (owned) */
  PostStackCapabilities caps;
  gboolean           byte_stream;
  gboolean           psi_parts;      /* a message stack whose PSI takes messages in parts */
  guint              send_batch;     /* messages per post_psi_send_messages(): 1 unless
                                        the PSI sends several at once */
  gboolean           stream_mode;
  gsize              send_queue_limit;
  gsize              recv_max;

  /* sending */
  GPtrArray         *levels;         /* (owned) (element-type SendLevel) ascending niceness */
  GQueue             control;        /* (element-type SendItem) control frames: before any
                                        message, never inside one */
  gboolean           control_frames; /* the framer is libpost's own (PostLengthPrefixFramer) */
  gboolean           frame_seen;     /* a frame (message or control) was decoded */
  SendItem          *current;        /* (owned) (nullable) partly written */
  PostMessage       *open_partial;   /* (unowned) a message sent in parts, not ended */
  /* Message stacks: a message sent in parts leaves as one datagram.  Its
   * parts are gathered here as they are picked, up to the PSI's largest
   * message (post_psi_get_max_message_size()), which bounds what is held. */
  GByteArray        *send_assembly;  /* (owned) (nullable) parts of open_partial so far */
  PostMessage       *enqueue_partial;   /* (owned) (nullable) the message being queued in parts */
  gsize              enqueue_partial_size;  /* ... its bytes queued so far */
  PostMessage       *failed_partial; /* (owned) (nullable) a message in parts that failed
                                        (too large); its later parts fail at once */
  gsize              queued_bytes;
  gsize              queued_items;   /* SendItems queued, current and early */
  gboolean           overcommitted;  /* sent past a full queue: reading stops */
  GSource           *resume_idle;    /* (owned) (nullable) reading resumes */
  guint64            next_seq;
  guint64            next_message_seq;
  guint64            total_written;
  GQueue             unacked;        /* (element-type Unacked) */
  GQueue             unsent;         /* (element-type Unsent) */
  GQueue             flushes;        /* (element-type GTask) task data: target seq */
  GSource           *write_idle;     /* (owned) (nullable) */
  GSource           *ack_timer;      /* (owned) (nullable) */
  GSource           *expiry_timer;   /* (owned) (nullable) */
  gint64             expiry_deadline;
  gboolean           want_write;
  gboolean           send_shut;      /* our FIN was sent */

  /* receiving */
  GByteArray        *scratch_header;  /* (owned) reused by frame_item() */
  GByteArray        *scratch_trailer; /* (owned) */
  GByteArray        *inbuf;          /* (owned) raw input */
  gsize              inbuf_start;
  gboolean           inbuf_big;      /* inbuf was grown to read READ_CHUNK in place */
  gboolean           streaming;      /* the last read filled READ_CHUNK */
  GByteArray        *assembly;       /* (owned) payload of the current message */
  PostMessage       *handle;         /* (owned) (nullable) handle of a message delivered in parts */
  PostMessage       *spare_message;  /* (owned) (nullable) a received message kept for reuse */
  GSocketAddress    *assembly_from;  /* (owned) (nullable) */
  GVariant          *assembly_metadata; /* (owned) (nullable): a{sv} the framer decoded for it */
  guint64            recv_seq;
  gboolean           assembly_started;
  gboolean           assembly_end;
  gboolean           discarding;     /* dropping the rest of a message too large for
                                        a complete receive */
  gboolean           input_eof;      /* the PSI reported the end of input */
  gboolean           input_done;     /* ... and all of it was decoded */
  gboolean           want_read;
  gboolean           readable;       /* the PSI said IN and no read came back short since */

  /* closing */
  gboolean           closing;
  gboolean           ended;
  GSource           *linger_timer;   /* (owned) (nullable) */
  GSource           *first_message_timer;  /* (owned) (nullable) an accepted
                                              peer's first-message deadline */
  GSource           *drain_timer;    /* (owned) (nullable) waits for post_psi_is_send_complete() */
  gboolean           drain_peer_closed;

  guint64            bytes_sent;
  guint64            bytes_received;

  /* unreliable datagrams */
  GHashTable        *datagrams;      /* (owned) &Datagram.id -> Datagram */
  guint64            next_datagram_id;
  guint64            datagrams_dropped;
  guint              send_priority;  /* last given to post_psi_set_send_priority() */
  gboolean           send_priority_set;

  /* 0-RTT: idempotent items handed to the PSIs of an establishment race as
   * early data (_post_transient_take_early_data()); on attach they count as
   * written if the winner took them, else they go back to the queue. */
  GQueue             early;          /* (element-type SendItem) */
};

/* ---- what post-transient.c's files share ---- */
/* post-transient.c */
void            _post_transient_datagram_free (gpointer data);
void            _post_transient_end (PostTransient *self,
                                     const GError  *error,
                                     gboolean       peer_closed);
void            _post_transient_first_message_done (PostTransient *self);
gboolean        _post_transient_linger_timeout_cb (gpointer data);
void            _post_transient_send_item_free (SendItem *item);
void            _post_transient_unsent_free (Unsent *u);
/* post-transient-send.c */
gboolean        _post_transient_check_acked (PostTransient *self);
void            _post_transient_check_overcommit (PostTransient *self);
void            _post_transient_check_sent (PostTransient *self);
void            _post_transient_drop_partial (PostTransient *self,
                                              PostMessage   *message,
                                              const GError  *error,
                                              gboolean       ended);
void            _post_transient_fail_datagrams (PostTransient *self,
                                                const GError  *error);
void            _post_transient_fail_item (PostTransient *self,
                                           SendItem      *item,
                                           const GError  *error);
void            _post_transient_fail_transport (PostTransient *self,
                                                GError        *error);
void            _post_transient_fail_unsent (PostTransient *self,
                                             const GError  *error);
gboolean        _post_transient_frame_item (PostTransient *self,
                                            SendItem      *item,
                                            GError       **error);
SendLevel      *_post_transient_get_level (PostTransient *self,
                                           guint          niceness);
gboolean        _post_transient_has_unsent_datagrams (PostTransient *self);
void            _post_transient_item_written (PostTransient *self,
                                              SendItem      *item);
guint64         _post_transient_lowest_unwritten_seq (PostTransient *self);
void            _post_transient_psi_datagram_event_cb (PostPsi          *psi,
                                                       guint64           id,
                                                       PostDatagramEvent event,
                                                       gpointer          user_data);
void            _post_transient_psi_datagram_received_cb (PostPsi       *psi,
                                                          GBytes        *content,
                                                          gpointer       user_data);
void            _post_transient_psi_message_expired_cb (PostPsi       *psi,
                                                        PostMessage   *message,
                                                        gpointer       user_data);
void            _post_transient_psi_sent_cb (PostPsi       *psi,
                                             gpointer       user_data);
gboolean        _post_transient_refuse_empty (PostTransient *self,
                                              GBytes        *content,
                                              gboolean       part,
                                              GError       **error);
void            _post_transient_schedule_write (PostTransient *self);
void            _post_transient_write_some (PostTransient *self);
/* post-transient-receive.c */
void            _post_transient_end_when_drained (PostTransient *self,
                                                  gboolean       peer_closed);
void            _post_transient_psi_path_changed_cb (PostPsi       *psi,
                                                     gpointer       user_data);
void            _post_transient_psi_ready_cb (PostPsi       *psi,
                                              GIOCondition   condition,
                                              gpointer       user_data);
void            _post_transient_psi_soft_error_cb (PostPsi       *psi,
                                                   const GError  *error,
                                                   gpointer       user_data);
void            _post_transient_reframe_queue (PostTransient *self);
void            _post_transient_start_linger (PostTransient *self);
void            _post_transient_update_interest (PostTransient *self);

G_END_DECLS
