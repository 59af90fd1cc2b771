/* post-transient.c: PostTransient, the data engine of one carrier over one PSI
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "post-transient-private.h"

/**
 * PostTransient:
 *
 * The binding between a [class@Post.Carrier] and the protocol stack
 * instance that serves it (draft section 2.7), holding the ephemeral state
 * of the transport: what is queued to send, what was read and not yet
 * delivered, the framer's parsing state and the paths in use.
 *
 * Applications do not need transients; they are exposed through
 * post_carrier_get_transients() for logging and debugging.
 */

/*
 * How the engine works
 * ====================
 *
 * Sending.  post_carrier_send*() put a SendItem on a queue per niceness
 * (levels[], ascending).  On byte streams the item's framing header is made
 * when it is queued.  Small messages without events (post_carrier_send_bytes)
 * are copied, framed, into a shared "coalesced" buffer item so that a burst
 * of them costs one memcpy each and one write for many.  Writing happens:
 * at once for an immediate message; otherwise from an idle source (so a
 * burst queued in one main-loop iteration is coalesced), and whenever the
 * PSI reports G_IO_OUT after a short write.  A write gathers up to
 * MAX_VECTORS items into one vectored write.  pick_next() takes the most
 * important eligible item: an item whose lifetime passed is dropped
 * (expired), an item whose antecedents are not yet sent waits, and while a
 * partial message is open only its own parts may go (framing cannot
 * interleave).  An item partly written stays `current` until done.  When
 * an item is fully written its message is sent — unless the PSI keeps
 * written bytes before they leave (get_sent_offset: quic, tls with a full
 * socket), then it waits in `unsent` until the PSI's sent offset passes its
 * end (post_psi_notify_sent()); only stacks that declare EVENT_SENT emit
 * the event.  On stacks that report acknowledgements a sent message whose
 * acked event someone listens for then waits in `unacked` for the PSI's
 * acked offset to pass its end (polled by a timer while anything waits).
 * An immediate message ends its vectored write, and post_psi_push() tells
 * the stack to end its packet there.  On a message stack the parts of a
 * message sent in parts are gathered in `send_assembly` (bounded by the
 * PSI's largest message) and leave as one message with the last part.
 *
 * Receiving is a pull.  The carrier knows the demand (a pending receive,
 * complete or partial, or a ready function); pump_receive() alternates:
 * deliver what the assembly buffer allows for the demand, decode more input
 * into it, read more from the PSI.  It reads only while there is demand, or
 * while what is buffered stays under READ_AHEAD: an application that stops
 * receiving leaves bytes in the kernel, so the peer's TCP window closes.
 * A complete receive (or a ready function) gets a message whole or not at
 * all: once more than recv-msg-max-len of one message is assembled, the
 * receive fails with POST_ERROR_MESSAGE_TOO_LARGE (a ready function's
 * carrier emits receive-error) and the rest of the message is decoded and
 * discarded (`discarding`); partial receives get every byte.
 *
 * Datagrams.  On a byte stream whose stack offers per-message reliability,
 * a message with reliable=FALSE and a lifetime that fits in the PSI's
 * datagram size (post_psi_get_max_datagram_size()) leaves the send order,
 * when write_stream() reaches it, through post_psi_send_datagram() instead
 * of the byte stream: not framed, never retransmitted.  It waits in
 * `datagrams` (by id) for the PSI's datagram-event: SENT fires `sent` (and
 * completes a send task), ACKED `acked`, EXPIRED `expired`, LOST before SENT
 * a send error.  Everything else, unreliable or not, goes on the stream as
 * before.  A datagram the peer sent arrives with the PSI's
 * datagram-received signal and is delivered at once as one complete
 * message (sequence 0), in no order relative to the stream's messages.
 * Before each write the PSI is told the niceness of the message it is
 * about to get (post_psi_set_send_priority()), so that a multistreaming
 * stack serves its streams by niceness too.
 */

#define MAX_VECTORS       512
#define MAX_BATCH_BYTES   (1024 * 1024)
#define COALESCE_MAX      (64 * 1024)
#define COALESCE_LIMIT    1024           /* messages up to this size are copied */
#define READ_AHEAD        (64 * 1024)
#define READ_CHUNK        (64 * 1024)
#define ACK_POLL_MS       5
#define CLOSE_LINGER_MS   2000

typedef struct
{
  guint64         seq;          /* enqueue order */
  PostMessage    *message;      /* (owned) (nullable) */
  GTask          *task;         /* (owned) (nullable) */
  GBytes         *payload;      /* (owned) (nullable) */
  GByteArray     *coalesced;    /* (owned) (nullable) pre-framed anonymous messages */
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
  GByteArray        *assembly;       /* (owned) payload of the current message */
  PostMessage       *handle;         /* (owned) (nullable) handle of a message delivered in parts */
  GSocketAddress    *assembly_from;  /* (owned) (nullable) */
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
  gulong             ready_id;
  gulong             path_id;
  gulong             soft_error_id;
  gulong             sent_id;
  gulong             message_expired_id;

  guint64            bytes_sent;
  guint64            bytes_received;

  /* unreliable datagrams */
  GHashTable        *datagrams;      /* (owned) &Datagram.id -> Datagram */
  guint64            next_datagram_id;
  guint64            datagrams_dropped;
  gulong             datagram_event_id;
  gulong             datagram_received_id;
  guint              send_priority;  /* last given to post_psi_set_send_priority() */
  gboolean           send_priority_set;

  /* 0-RTT: idempotent items handed to the PSIs of an establishment race as
   * early data (_post_transient_take_early_data()); on attach they count as
   * written if the winner took them, else they go back to the queue. */
  GQueue             early;          /* (element-type SendItem) */
};

G_DEFINE_FINAL_TYPE (PostTransient, post_transient, G_TYPE_OBJECT)

static void write_some (PostTransient *self);
static void check_overcommit (PostTransient *self);
static void update_interest (PostTransient *self);
static void end_transient (PostTransient *self, const GError *error, gboolean peer_closed);

/* ------------------------------------------------------------------------ */

static void
send_item_free (SendItem *item)
{
  g_clear_object (&item->message);
  g_clear_object (&item->task);
  g_clear_pointer (&item->payload, g_bytes_unref);
  g_clear_pointer (&item->coalesced, g_byte_array_unref);
  g_clear_object (&item->destination);
  g_clear_pointer (&item->trailer, g_byte_array_unref);
  g_free (item);
}

static void
datagram_free (gpointer data)
{
  Datagram *d = data;

  g_clear_object (&d->message);
  g_clear_object (&d->task);
  g_free (d);
}

static void
send_level_free (gpointer data)
{
  SendLevel *level = data;

  g_queue_clear_full (&level->items, (GDestroyNotify) send_item_free);
  g_free (level);
}

static void
destroy_source (GSource **source)
{
  if (*source != NULL)
    {
      g_source_destroy (*source);
      g_clear_pointer (source, g_source_unref);
    }
}

/* The peer completed its first message (stream framing: sent a byte):
 * the stack's first-message timeout no longer applies. */
static void
first_message_done (PostTransient *self)
{
  destroy_source (&self->first_message_timer);
  if (self->psi != NULL && !post_psi_has_first_message (self->psi))
    _post_psi_set_first_message_received (self->psi);
}

static void
post_transient_dispose (GObject *object)
{
  PostTransient *self = POST_TRANSIENT (object);

  destroy_source (&self->write_idle);
  destroy_source (&self->resume_idle);
  destroy_source (&self->ack_timer);
  destroy_source (&self->expiry_timer);
  destroy_source (&self->linger_timer);
  destroy_source (&self->first_message_timer);
  destroy_source (&self->drain_timer);
  if (self->psi != NULL)
    {
      g_clear_signal_handler (&self->ready_id, self->psi);
      g_clear_signal_handler (&self->path_id, self->psi);
      g_clear_signal_handler (&self->soft_error_id, self->psi);
      g_clear_signal_handler (&self->datagram_event_id, self->psi);
      g_clear_signal_handler (&self->datagram_received_id, self->psi);
      g_clear_signal_handler (&self->sent_id, self->psi);
      g_clear_signal_handler (&self->message_expired_id, self->psi);
      post_psi_close (self->psi, TRUE);
    }

  G_OBJECT_CLASS (post_transient_parent_class)->dispose (object);
}

static void
unsent_free (Unsent *u)
{
  g_clear_object (&u->message);
  g_clear_object (&u->task);
  g_free (u);
}

static void
post_transient_finalize (GObject *object)
{
  PostTransient *self = POST_TRANSIENT (object);
  Unacked *u;
  GTask *task;

  g_clear_pointer (&self->levels, g_ptr_array_unref);
  g_clear_pointer (&self->datagrams, g_hash_table_unref);
  g_clear_pointer (&self->current, send_item_free);
  g_queue_clear_full (&self->early, (GDestroyNotify) send_item_free);
  g_queue_clear_full (&self->control, (GDestroyNotify) send_item_free);
  while ((u = g_queue_pop_head (&self->unacked)) != NULL)
    {
      g_object_unref (u->message);
      g_free (u);
    }
  while ((task = g_queue_pop_head (&self->flushes)) != NULL)
    g_object_unref (task);
  g_queue_clear_full (&self->unsent, (GDestroyNotify) unsent_free);
  g_clear_pointer (&self->inbuf, g_byte_array_unref);
  g_clear_pointer (&self->scratch_header, g_byte_array_unref);
  g_clear_pointer (&self->scratch_trailer, g_byte_array_unref);
  g_clear_pointer (&self->assembly, g_byte_array_unref);
  g_clear_object (&self->handle);
  g_clear_object (&self->assembly_from);
  g_clear_pointer (&self->send_assembly, g_byte_array_unref);
  g_clear_object (&self->enqueue_partial);
  g_clear_object (&self->failed_partial);
  g_clear_object (&self->psi);
  g_clear_object (&self->path);
  g_clear_object (&self->framer);
  g_clear_object (&self->configuration);
  g_clear_pointer (&self->context, g_main_context_unref);

  G_OBJECT_CLASS (post_transient_parent_class)->finalize (object);
}

static void
post_transient_class_init (PostTransientClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = post_transient_dispose;
  object_class->finalize = post_transient_finalize;
}

static void
post_transient_init (PostTransient *self)
{
  self->levels = g_ptr_array_new_with_free_func (send_level_free);
  self->datagrams = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, datagram_free);
  self->inbuf = g_byte_array_sized_new (READ_CHUNK);
  self->scratch_header = g_byte_array_sized_new (16);
  self->scratch_trailer = g_byte_array_sized_new (16);
  self->assembly = g_byte_array_new ();
  g_queue_init (&self->unacked);
  g_queue_init (&self->unsent);
  g_queue_init (&self->control);
  g_queue_init (&self->flushes);
  self->context = g_main_context_ref_thread_default ();
  self->next_message_seq = 1;
}

PostTransient *
_post_transient_new_pending (PostCarrier       *carrier,
                             PostConfiguration *configuration)
{
  PostTransient *self = g_object_new (POST_TYPE_TRANSIENT, NULL);

  self->carrier = carrier;
  self->configuration = g_object_ref (configuration);
  self->stream_mode = post_configuration_get_framing (configuration) == POST_FRAMING_STREAM;
  self->send_queue_limit = post_configuration_get_send_queue_limit (configuration);
  self->recv_max = post_configuration_get_recv_msg_max_len (configuration);
  /* Until attached we do not know the stack; frame as a byte stream would,
   * and re-frame on attach if it turns out to carry messages. */
  self->byte_stream = TRUE;
  return self;
}

gboolean
_post_transient_is_attached (PostTransient *self)
{
  return self->psi != NULL;
}

PostStackCapabilities
_post_transient_get_capabilities (PostTransient *self)
{
  return self->caps;
}

/* ---- send queue ---------------------------------------------------------- */

static SendLevel *
get_level (PostTransient *self,
           guint          niceness)
{
  guint i;
  SendLevel *level;

  for (i = 0; i < self->levels->len; i++)
    {
      level = self->levels->pdata[i];
      if (level->niceness == niceness)
        return level;
      if (level->niceness > niceness)
        break;
    }
  level = g_new0 (SendLevel, 1);
  level->niceness = niceness;
  g_queue_init (&level->items);
  g_ptr_array_insert (self->levels, i, level);
  return level;
}

static gboolean
frame_item (PostTransient  *self,
            SendItem       *item,
            GError        **error)
{
  GByteArray *header = self->scratch_header;
  GByteArray *trailer = self->scratch_trailer;
  gsize length = item->payload ? g_bytes_get_size (item->payload) : 0;

  item->header_len = 0;
  g_clear_pointer (&item->trailer, g_byte_array_unref);
  item->total = length;
  if (!self->byte_stream || self->framer == NULL)
    return TRUE;

  g_byte_array_set_size (header, 0);
  g_byte_array_set_size (trailer, 0);
  if (!post_framer_encode (self->framer, item->message, length, item->end_of_message,
                           header, trailer, error))
    return FALSE;
  if (header->len > sizeof item->header)
    {
      /* Unusually large header: keep it in front of the payload. */
      g_autoptr(GByteArray) joined = g_byte_array_sized_new (header->len + length);

      g_byte_array_append (joined, header->data, header->len);
      if (length > 0)
        g_byte_array_append (joined, g_bytes_get_data (item->payload, NULL), length);
      g_bytes_unref (item->payload);
      item->payload = g_byte_array_free_to_bytes (g_steal_pointer (&joined));
    }
  else
    {
      memcpy (item->header, header->data, header->len);
      item->header_len = header->len;
    }
  if (trailer->len > 0)
    item->trailer = g_byte_array_new_take (g_memdup2 (trailer->data, trailer->len), trailer->len);
  item->total = item->header_len + g_bytes_get_size (item->payload)
                + (item->trailer ? item->trailer->len : 0);
  return TRUE;
}

static void
arm_expiry_timer (PostTransient *self,
                  gint64         deadline);

static void
schedule_write (PostTransient *self);

static gboolean
write_idle_cb (gpointer data)
{
  PostTransient *self = data;

  g_clear_pointer (&self->write_idle, g_source_unref);
  g_object_ref (self);
  write_some (self);
  g_object_unref (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_write (PostTransient *self)
{
  if (self->write_idle != NULL || self->psi == NULL || self->want_write)
    return;
  self->write_idle = g_idle_source_new ();
  g_source_set_priority (self->write_idle, G_PRIORITY_DEFAULT);
  g_source_set_callback (self->write_idle, write_idle_cb, self, NULL);
  g_source_set_static_name (self->write_idle, "[libpost] coalesced write");
  g_source_attach (self->write_idle, self->context);
}

static gboolean
try_coalesce (PostTransient *self,
              GBytes        *content)
{
  SendLevel *level;
  SendItem *tail;
  gsize size = g_bytes_get_size (content);
  GByteArray *header, *trailer;

  if (!self->byte_stream || self->framer == NULL || size > COALESCE_LIMIT)
    return FALSE;

  level = get_level (self, 0);
  tail = g_queue_peek_tail (&level->items);
  if (tail == NULL || tail->coalesced == NULL || tail->coalesced->len + size + 16 > COALESCE_MAX)
    {
      tail = g_new0 (SendItem, 1);
      tail->seq = self->next_seq++;
      tail->coalesced = g_byte_array_sized_new (MIN (COALESCE_MAX, 4096));
      tail->end_of_message = TRUE;
      g_queue_push_tail (&level->items, tail);
      self->queued_items++;
    }
  else
    tail->seq = self->next_seq++;

  header = self->scratch_header;
  trailer = self->scratch_trailer;
  g_byte_array_set_size (header, 0);
  g_byte_array_set_size (trailer, 0);
  if (!post_framer_encode (self->framer, NULL, size, TRUE, header, trailer, NULL))
    return FALSE;
  g_byte_array_append (tail->coalesced, header->data, header->len);
  g_byte_array_append (tail->coalesced, g_bytes_get_data (content, NULL), size);
  if (trailer->len > 0)
    g_byte_array_append (tail->coalesced, trailer->data, trailer->len);
  tail->total = tail->coalesced->len;
  self->queued_bytes += header->len + size + trailer->len;
  return TRUE;
}

static void fail_item (PostTransient *self, SendItem *item, const GError *error);

/* Drops a message sent in parts: what was gathered of it, and its parts
 * still queued, which fail with @error; the parts queued later fail at once
 * (failed_partial) unless @ended (the part that failed was its last). */
static void
drop_partial (PostTransient *self,
              PostMessage   *message,
              const GError  *error,
              gboolean       ended)
{
  g_autoptr(PostMessage) keep = g_object_ref (message);

  if (self->open_partial == message)
    {
      self->open_partial = NULL;
      g_clear_pointer (&self->send_assembly, g_byte_array_unref);
    }
  if (self->enqueue_partial == message)
    g_clear_object (&self->enqueue_partial);
  for (guint i = 0; i < self->levels->len; i++)
    {
      SendLevel *level = self->levels->pdata[i];

      for (GList *l = level->items.head; l != NULL;)
        {
          SendItem *item = l->data;
          GList *next = l->next;

          if (item->message == message)
            {
              ended = ended || item->end_of_message;
              g_queue_delete_link (&level->items, l);
              fail_item (self, item, error);
            }
          l = next;
        }
    }
  _post_carrier_emit_send_error (self->carrier, message, error);   /* once per message */
  if (ended)
    {
      if (self->failed_partial == message)
        g_clear_object (&self->failed_partial);
    }
  else
    g_set_object (&self->failed_partial, message);
}

static GError *
partial_too_large (PostTransient *self,
                   gsize          size,
                   gsize          max)
{
  return g_error_new (POST_ERROR, POST_ERROR_MESSAGE_TOO_LARGE,
                      "The message sent in parts has reached %" G_GSIZE_FORMAT " bytes; stack %s "
                      "sends a message as one datagram of at most %" G_GSIZE_FORMAT " bytes, so "
                      "the message was dropped",
                      size, post_stack_get_name (post_psi_get_stack (self->psi)), max);
}

/* Checks the next part of a message sent in parts as it is queued: parts of
 * a message that already failed fail too, and on a message stack the parts
 * together must fit in one datagram. */
static gboolean
check_partial (PostTransient  *self,
               PostMessage    *message,
               GBytes         *content,
               gboolean        end_of_message,
               GError        **error)
{
  gsize max;

  if (message == self->failed_partial)
    {
      g_set_error_literal (error, POST_ERROR, POST_ERROR_MESSAGE_TOO_LARGE,
                           "An earlier part of this message did not fit: the message was dropped");
      if (end_of_message)
        g_clear_object (&self->failed_partial);
      return FALSE;
    }
  if (self->enqueue_partial != message)
    {
      g_set_object (&self->enqueue_partial, message);
      self->enqueue_partial_size = 0;
    }
  self->enqueue_partial_size += g_bytes_get_size (content);
  if (self->psi != NULL && !self->byte_stream
      && (max = post_psi_get_max_message_size (self->psi)) > 0
      && self->enqueue_partial_size > max)
    {
      GError *too_large = partial_too_large (self, self->enqueue_partial_size, max);

      drop_partial (self, message, too_large, end_of_message);
      g_propagate_error (error, too_large);
      return FALSE;
    }
  if (end_of_message)
    g_clear_object (&self->enqueue_partial);
  return TRUE;
}

/* A message stack that does not deliver empty messages
 * (POST_STACK_CAP_EMPTY_MESSAGES): an empty one fails, it does not vanish. */
static gboolean
refuse_empty (PostTransient  *self,
              GBytes         *content,
              gboolean        part,
              GError        **error)
{
  if (self->byte_stream || part || (self->caps & POST_STACK_CAP_EMPTY_MESSAGES)
      || (content != NULL && g_bytes_get_size (content) > 0))
    return TRUE;
  g_set_error (error, POST_ERROR, POST_ERROR_NOT_SUPPORTED,
               "Stack %s cannot carry an empty message",
               post_stack_get_name (post_psi_get_stack (self->psi)));
  return FALSE;
}

/* What the send queue costs, as its limit counts it: the framed bytes not
 * yet written, and POST_MESSAGE_OVERHEAD for each item, so that a flood of
 * empty messages fills it too. */
static gsize
queue_cost (PostTransient *self)
{
  return self->queued_bytes + self->queued_items * POST_MESSAGE_OVERHEAD;
}

static gboolean
queue_full (PostTransient *self)
{
  return queue_cost (self) >= self->send_queue_limit;
}

gboolean
_post_transient_send_queue_full (PostTransient *self)
{
  return queue_full (self);
}

gboolean
_post_transient_enqueue (PostTransient   *self,
                         PostMessage     *message,
                         GBytes          *content,
                         gboolean         end_of_message,
                         gboolean         part,
                         GTask           *task,
                         GSocketAddress  *destination,
                         gboolean         check_limit,
                         GError         **error)
{
  SendItem *item;
  gboolean was_full;
  gsize max;

  if (self->ended || self->send_shut || (self->closing && self->psi != NULL))
    {
      g_set_error_literal (error, POST_ERROR, POST_ERROR_CLOSED,
                           "The carrier is closing: nothing more can be sent");
      return FALSE;
    }
  was_full = queue_full (self);
  if (check_limit && was_full)
    {
      g_set_error (error, POST_ERROR, POST_ERROR_WOULD_BLOCK,
                   "The send queue is full (%" G_GSIZE_FORMAT " bytes in %" G_GSIZE_FORMAT
                   " messages queued, limit %" G_GSIZE_FORMAT "); wait with "
                   "post_carrier_flush_async()",
                   self->queued_bytes, self->queued_items, self->send_queue_limit);
      return FALSE;
    }
  if (part && message != NULL && !check_partial (self, message, content, end_of_message, error))
    return FALSE;
  if (!part && self->psi != NULL && !self->byte_stream
      && (max = post_psi_get_max_message_size (self->psi)) > 0
      && g_bytes_get_size (content) > max)
    {
      g_set_error (error, POST_ERROR, POST_ERROR_MESSAGE_TOO_LARGE,
                   "The message has %" G_GSIZE_FORMAT " bytes; stack %s carries at most %"
                   G_GSIZE_FORMAT " in one message",
                   g_bytes_get_size (content),
                   post_stack_get_name (post_psi_get_stack (self->psi)), max);
      return FALSE;
    }

  if (self->psi != NULL && !refuse_empty (self, content, part, error))
    return FALSE;

  /* Anonymous small messages: copy into the coalescing buffer. */
  if (message == NULL && task == NULL && destination == NULL && end_of_message && !part
      && !self->stream_mode && try_coalesce (self, content))
    {
      schedule_write (self);
      return TRUE;
    }

  item = g_new0 (SendItem, 1);
  item->seq = self->next_seq++;
  item->message = message ? g_object_ref (message) : NULL;
  item->task = task ? g_object_ref (task) : NULL;
  item->payload = g_bytes_ref (content);
  item->destination = destination ? g_object_ref (destination) : NULL;
  item->end_of_message = end_of_message;
  item->part = part && message != NULL;
  item->niceness = message ? post_message_get_niceness (message) : 0;
  item->deadline = message ? _post_message_get_deadline (message) : 0;
  if (self->stream_mode && end_of_message)
    item->shutdown_after = TRUE;
  if (!frame_item (self, item, error))
    {
      send_item_free (item);
      return FALSE;
    }

  g_queue_push_tail (&get_level (self, item->niceness)->items, item);
  self->queued_bytes += item->total;
  self->queued_items++;
  if (item->deadline > 0)
    arm_expiry_timer (self, item->deadline);
  if (was_full && !self->overcommitted)
    {
      /* Sent past a full queue (send_async, send_partial_async, which do
       * not fail with WOULD_BLOCK): the carrier stops reading until the
       * queue drains below its limit, so a function that sends for what it
       * receives (an echo) is paced by its peer instead of growing the
       * queue without bound. */
      self->overcommitted = TRUE;
      update_interest (self);
    }

  if (message != NULL && post_message_get_immediate (message) && self->psi != NULL)
    write_some (self);
  else
    schedule_write (self);
  return TRUE;
}

gsize
_post_transient_get_queued_bytes (PostTransient *self)
{
  return self->queued_bytes;
}

static guint64
lowest_unwritten_seq (PostTransient *self)
{
  guint64 lowest = G_MAXUINT64;

  if (self->current != NULL)
    lowest = self->current->seq;
  for (GList *l = self->control.head; l != NULL; l = l->next)
    lowest = MIN (lowest, ((SendItem *) l->data)->seq);
  for (guint i = 0; i < self->levels->len; i++)
    {
      SendLevel *level = self->levels->pdata[i];

      for (GList *l = level->items.head; l != NULL; l = l->next)
        lowest = MIN (lowest, ((SendItem *) l->data)->seq);
    }
  return lowest;
}

static void
check_flushes (PostTransient *self)
{
  guint64 lowest;

  if (g_queue_is_empty (&self->flushes))
    return;
  lowest = lowest_unwritten_seq (self);
  for (GList *l = self->flushes.head; l != NULL;)
    {
      GList *next = l->next;
      GTask *task = l->data;
      guint64 target = GPOINTER_TO_SIZE (g_task_get_task_data (task));

      if (lowest >= target)
        {
          g_queue_delete_link (&self->flushes, l);
          g_task_return_boolean (task, TRUE);
          g_object_unref (task);
        }
      l = next;
    }
}

void
_post_transient_flush (PostTransient *self,
                       GTask         *task)
{
  g_task_set_task_data (task, GSIZE_TO_POINTER ((gsize) self->next_seq), NULL);
  g_queue_push_tail (&self->flushes, g_object_ref (task));
  check_flushes (self);
}

static void fail_item (PostTransient *self, SendItem *item, const GError *error);

/* After items left the queue other than by being written. */
static void
queue_shrunk (PostTransient *self)
{
  check_flushes (self);
  check_overcommit (self);
  if (self->psi != NULL && self->closing)
    schedule_write (self);   /* write_some() goes on closing once it is empty */
}

void
_post_transient_cancel_send (PostTransient *self,
                             GTask         *task)
{
  for (guint i = 0; i < self->levels->len; i++)
    {
      SendLevel *level = self->levels->pdata[i];

      for (GList *l = level->items.head; l != NULL; l = l->next)
        {
          SendItem *item = l->data;
          g_autoptr(GError) error = NULL;

          if (item->task != task)
            continue;
          /* Still queued, so nothing of it was written (a partly written
           * item is `current`, a datagram or early data was handed to the
           * PSI: those go on and complete normally). */
          if (item->written > 0)
            return;
          g_queue_delete_link (&level->items, l);
          error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                       "The send was cancelled before any of it was written");
          if (item->part)
            {
              /* One part of a message sent in parts: the message is not
               * lost (other parts may follow, this one again), so it gets
               * no send-error and stays open. */
              self->queued_bytes -= MIN (self->queued_bytes, item->total);
              self->queued_items -= MIN (self->queued_items, 1);
              if (item->message == self->enqueue_partial)
                self->enqueue_partial_size -= MIN (self->enqueue_partial_size,
                                                   g_bytes_get_size (item->payload));
              g_task_return_error (item->task, g_steal_pointer (&error));
              send_item_free (item);
            }
          else
            fail_item (self, item, error);
          queue_shrunk (self);
          return;
        }
    }
}

void
_post_transient_cancel_flush (PostTransient *self,
                              GTask         *task)
{
  GList *l = g_queue_find (&self->flushes, task);

  if (l == NULL)
    return;
  g_queue_delete_link (&self->flushes, l);
  g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED, "The flush was cancelled");
  g_object_unref (task);
}

static void
fail_item (PostTransient *self,
           SendItem      *item,
           const GError  *error)
{
  self->queued_bytes -= MIN (self->queued_bytes, item->total - item->written);
  self->queued_items -= MIN (self->queued_items, 1);
  if (item->message != NULL)
    {
      if (g_error_matches (error, POST_ERROR, POST_ERROR_EXPIRED))
        _post_carrier_emit_expired (self->carrier, item->message);
      else
        _post_carrier_emit_send_error (self->carrier, item->message, error);
    }
  if (item->task != NULL)
    g_task_return_error (item->task, g_error_copy (error));   /* unref'd with the item */
  if (item->part && item->message != NULL)
    {
      if (item->message == self->open_partial)
        {
          self->open_partial = NULL;
          g_clear_pointer (&self->send_assembly, g_byte_array_unref);
        }
      /* The rest of a message in parts cannot go without this part. */
      if (!item->end_of_message)
        g_set_object (&self->failed_partial, item->message);
      else if (item->message == self->failed_partial)
        g_clear_object (&self->failed_partial);
    }
  send_item_free (item);
}

/* Takes the next item to write off its queue, dropping expired ones. */
static SendItem *
pick_next (PostTransient *self)
{
  gint64 now = 0;

  /* Control frames go first, between two messages (never inside one sent
   * in parts). */
  if (self->open_partial == NULL && !g_queue_is_empty (&self->control))
    return g_queue_pop_head (&self->control);
  for (guint i = 0; i < self->levels->len; i++)
    {
      SendLevel *level = self->levels->pdata[i];
      GList *l = level->items.head;

      while (l != NULL)
        {
          SendItem *item = l->data;
          GList *next = l->next;
          gboolean failed = FALSE;

          if (self->open_partial != NULL && item->message != self->open_partial)
            {
              l = next;
              continue;
            }
          /* A message whose first part has left is not cut short: its
           * later parts go even when its lifetime has passed meanwhile. */
          if (item->deadline > 0 && item->written == 0 && item->message != self->open_partial)
            {
              if (now == 0)
                now = g_get_monotonic_time ();
              if (now >= item->deadline)
                {
                  g_autoptr(GError) error =
                    g_error_new_literal (POST_ERROR, POST_ERROR_EXPIRED,
                                         "The message's lifetime passed before it was sent");
                  g_queue_delete_link (&level->items, l);
                  fail_item (self, item, error);
                  l = next;
                  continue;
                }
            }
          if (item->message != NULL && !_post_message_antecedents_sent (item->message, &failed))
            {
              if (failed)
                {
                  g_autoptr(GError) error =
                    g_error_new_literal (POST_ERROR, POST_ERROR_EXPIRED,
                                         "An antecedent of the message expired or failed");
                  g_queue_delete_link (&level->items, l);
                  fail_item (self, item, error);
                }
              l = next;
              continue;
            }
          g_queue_delete_link (&level->items, l);
          /* Parts of a message sent in parts cannot be interleaved with
           * other messages: from its first part written to its last, only
           * its own parts are picked. */
          if (item->part)
            self->open_partial = item->end_of_message ? NULL : item->message;
          return item;
        }
    }
  return NULL;
}

static void
push_back (PostTransient *self,
           SendItem      *item)
{
  if (item->control)
    {
      g_queue_push_head (&self->control, item);
      return;
    }
  g_queue_push_head (&get_level (self, item->niceness)->items, item);
  /* Un-picking the last part of a message sent in parts re-opens it. */
  if (item->part && item->end_of_message && self->open_partial == NULL)
    self->open_partial = item->message;
}

static gboolean
ack_timer_cb (gpointer data);

/* @message (nullable) is in the network up to stream offset @end: its sent
 * event, then acked tracking; @task (nullable) completes. */
static void
message_sent (PostTransient *self,
              PostMessage   *message,
              GTask         *task,
              guint64        end)
{
  if (message != NULL)
    {
      g_autoptr(PostMessage) keep = g_object_ref (message);

      /* A stack that does not declare the event never emits it. */
      if (self->caps & POST_STACK_CAP_EVENT_SENT)
        _post_carrier_emit_sent (self->carrier, message);
      else
        _post_message_set_sent_quietly (message);
      if ((self->caps & POST_STACK_CAP_EVENT_ACKED) && self->byte_stream
          && (_post_message_wants_acked (message) || _post_carrier_wants_acked (self->carrier)))
        {
          Unacked *u = g_new0 (Unacked, 1);

          u->message = g_object_ref (message);
          u->end = end;
          g_queue_push_tail (&self->unacked, u);
          if (self->ack_timer == NULL)
            {
              self->ack_timer = g_timeout_source_new (ACK_POLL_MS);
              g_source_set_callback (self->ack_timer, ack_timer_cb, self, NULL);
              g_source_set_static_name (self->ack_timer, "[libpost] ack poll");
              g_source_attach (self->ack_timer, self->context);
            }
        }
      /* Nobody listens for acked: it is not tracked (and never claimed
       * before the peer has the data). */
    }
  if (task != NULL)
    g_task_return_boolean (task, TRUE);
}

/* What the PSI has put on the network (get_sent_offset) is sent. */
static void
check_sent (PostTransient *self)
{
  guint64 sent;
  Unsent *u;
  gboolean moved = FALSE;

  if (g_queue_is_empty (&self->unsent) || self->psi == NULL)
    return;
  sent = post_psi_get_sent_offset (self->psi);
  if (sent == POST_PSI_ACKED_UNKNOWN)
    return;
  g_object_ref (self);
  while (!self->ended && (u = g_queue_peek_head (&self->unsent)) != NULL && u->end <= sent)
    {
      g_queue_pop_head (&self->unsent);
      message_sent (self, u->message, u->task, u->end);
      unsent_free (u);
      /* Successors of what is sent now may go. */
      moved = TRUE;
    }
  if (moved && !self->ended && lowest_unwritten_seq (self) != G_MAXUINT64)
    schedule_write (self);
  g_object_unref (self);
}

static void
psi_sent_cb (PostPsi       *psi,
             PostTransient *self)
{
  check_sent (self);
}

/* A message stack abandoned a message it took (PR-SCTP's lifetime
 * passed before the peer acknowledged it): it is expired, after its sent. */
static void
psi_message_expired_cb (PostPsi       *psi,
                        PostMessage   *message,
                        PostTransient *self)
{
  if (self->carrier == NULL || post_message_is_expired (message))
    return;
  _post_carrier_emit_expired (self->carrier, message);
}

/* Written, not sent: the transport ended first. */
static void
fail_unsent (PostTransient *self,
             const GError  *error)
{
  Unsent *u;

  while ((u = g_queue_pop_head (&self->unsent)) != NULL)
    {
      if (u->message != NULL)
        _post_carrier_emit_send_error (self->carrier, u->message, error);
      if (u->task != NULL)
        g_task_return_error (u->task, g_error_copy (error));   /* unref'd with u */
      unsent_free (u);
    }
}

static void
item_written (PostTransient *self,
              SendItem      *item)
{
  PostMessage *message = item->message != NULL && item->end_of_message ? item->message : NULL;
  guint64 sent = self->byte_stream && self->psi != NULL ? post_psi_get_sent_offset (self->psi)
                                                        : POST_PSI_ACKED_UNKNOWN;

  self->queued_items -= MIN (self->queued_items, 1);

  if ((message != NULL || item->task != NULL) && sent != POST_PSI_ACKED_UNKNOWN
      && (sent < self->total_written || !g_queue_is_empty (&self->unsent)))
    {
      /* The stack holds it: sent once it leaves (check_sent()). */
      Unsent *u = g_new0 (Unsent, 1);

      u->message = message != NULL ? g_object_ref (message) : NULL;
      u->task = g_steal_pointer (&item->task);
      u->end = self->total_written;
      g_queue_push_tail (&self->unsent, u);
    }
  else
    message_sent (self, message, item->task, self->total_written);
  if (item->shutdown_after && self->psi != NULL && !self->send_shut)
    {
      g_autoptr(GError) error = NULL;

      self->send_shut = TRUE;
      if (!post_psi_shutdown_send (self->psi, &error))
        g_debug ("Ending the sending direction failed: %s", error->message);
    }
  send_item_free (item);
}

static gboolean
check_acked (PostTransient *self)
{
  guint64 acked;
  Unacked *u;

  if (self->psi == NULL)
    return FALSE;
  acked = post_psi_get_acked_offset (self->psi);
  if (acked == POST_PSI_ACKED_UNKNOWN)
    return FALSE;
  while ((u = g_queue_peek_head (&self->unacked)) != NULL && u->end <= acked)
    {
      g_queue_pop_head (&self->unacked);
      _post_carrier_emit_acked (self->carrier, u->message);
      g_object_unref (u->message);
      g_free (u);
    }
  return !g_queue_is_empty (&self->unacked);
}

static gboolean
ack_timer_cb (gpointer data)
{
  PostTransient *self = data;
  gboolean again;

  g_object_ref (self);
  again = check_acked (self);
  if (!again)
    g_clear_pointer (&self->ack_timer, g_source_unref);
  g_object_unref (self);
  return again ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

static void
expire_overdue (PostTransient *self)
{
  gint64 now = g_get_monotonic_time ();
  gint64 next = 0;
  gboolean dropped = FALSE;

  for (guint i = 0; i < self->levels->len; i++)
    {
      SendLevel *level = self->levels->pdata[i];

      for (GList *l = level->items.head; l != NULL;)
        {
          SendItem *item = l->data;
          GList *next_link = l->next;

          if (item->deadline > 0 && item->deadline <= now && item->message != self->open_partial)
            {
              g_autoptr(GError) error =
                g_error_new_literal (POST_ERROR, POST_ERROR_EXPIRED,
                                     "The message's lifetime passed before it was sent");
              g_queue_delete_link (&level->items, l);
              fail_item (self, item, error);
              dropped = TRUE;
            }
          else if (item->deadline > 0 && (next == 0 || item->deadline < next))
            next = item->deadline;
          l = next_link;
        }
    }
  if (next > 0)
    arm_expiry_timer (self, next);
  check_flushes (self);
  /* Successors of what expired fail now, not at the next write. */
  if (dropped)
    schedule_write (self);
  check_overcommit (self);
}

static gboolean
expiry_timer_cb (gpointer data)
{
  PostTransient *self = data;

  g_clear_pointer (&self->expiry_timer, g_source_unref);
  self->expiry_deadline = 0;
  g_object_ref (self);
  expire_overdue (self);
  g_object_unref (self);
  return G_SOURCE_REMOVE;
}

static void
arm_expiry_timer (PostTransient *self,
                  gint64         deadline)
{
  if (self->expiry_timer != NULL && self->expiry_deadline <= deadline)
    return;
  destroy_source (&self->expiry_timer);
  self->expiry_deadline = deadline;
  self->expiry_timer = g_timeout_source_new (0);
  g_source_set_ready_time (self->expiry_timer, deadline);
  g_source_set_callback (self->expiry_timer, expiry_timer_cb, self, NULL);
  g_source_set_static_name (self->expiry_timer, "[libpost] message lifetimes");
  g_source_attach (self->expiry_timer, self->context);
}

static void
add_vector (GOutputVector *vectors,
            guint         *n,
            const void    *data,
            gsize          size,
            gsize         *skip)
{
  if (*skip >= size)
    {
      *skip -= size;
      return;
    }
  vectors[*n].buffer = (const guint8 *) data + *skip;
  vectors[*n].size = size - *skip;
  (*n)++;
  *skip = 0;
}

static guint
item_vectors (SendItem      *item,
              GOutputVector *vectors)
{
  guint n = 0;
  gsize skip = item->written;

  if (item->coalesced != NULL)
    {
      add_vector (vectors, &n, item->coalesced->data, item->coalesced->len, &skip);
      return n;
    }
  if (item->header_len > 0)
    add_vector (vectors, &n, item->header, item->header_len, &skip);
  if (item->payload != NULL && g_bytes_get_size (item->payload) > 0)
    add_vector (vectors, &n, g_bytes_get_data (item->payload, NULL),
                g_bytes_get_size (item->payload), &skip);
  if (item->trailer != NULL)
    add_vector (vectors, &n, item->trailer->data, item->trailer->len, &skip);
  return n;
}

static void
fail_transport (PostTransient *self,
                GError        *error)
{
  end_transient (self, error, FALSE);
  g_error_free (error);
}

/* Message stacks: a part of a message sent in parts joins what was
 * gathered of it.  Returns TRUE when @item is the last part, now carrying
 * the whole message; otherwise the part was taken (its send task completes:
 * it is in the message's datagram) or failed, and @item is gone. */
static gboolean
gather_part (PostTransient *self,
             SendItem      *item)
{
  gsize max = post_psi_get_max_message_size (self->psi);
  gsize have = self->send_assembly != NULL ? self->send_assembly->len : 0;
  gsize size = g_bytes_get_size (item->payload);

  if (max > 0 && have + size > max)
    {
      g_autoptr(GError) error = partial_too_large (self, have + size, max);
      g_autoptr(PostMessage) message = g_object_ref (item->message);
      gboolean ended = item->end_of_message;

      fail_item (self, item, error);
      drop_partial (self, message, error, ended);
      return FALSE;
    }
  if (!item->end_of_message)
    {
      if (self->send_assembly == NULL)
        self->send_assembly = g_byte_array_sized_new (MAX (size * 2, 256));
      g_byte_array_append (self->send_assembly, g_bytes_get_data (item->payload, NULL), size);
      self->queued_bytes -= MIN (self->queued_bytes, item->total);
      self->queued_items -= MIN (self->queued_items, 1);
      if (item->task != NULL)
        g_task_return_boolean (item->task, TRUE);   /* unref'd with the item */
      send_item_free (item);
      return FALSE;
    }
  if (have > 0)
    {
      g_byte_array_append (self->send_assembly, g_bytes_get_data (item->payload, NULL), size);
      g_bytes_unref (item->payload);
      item->payload = g_byte_array_free_to_bytes (g_steal_pointer (&self->send_assembly));
      item->total = have + size;
      self->queued_bytes += have;
    }
  g_clear_pointer (&self->send_assembly, g_byte_array_unref);
  return TRUE;
}

static void
write_messages (PostTransient *self)
{
  for (;;)
    {
      g_autoptr(GError) error = NULL;
      SendItem *item = self->current ? g_steal_pointer (&self->current) : pick_next (self);

      if (item == NULL)
        {
          self->want_write = FALSE;
          return;
        }
      if (item->part && !gather_part (self, item))
        continue;
      if (!post_psi_send_message (self->psi, item->payload, item->message,
                                  item->destination, &error))
        {
          if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
            {
              push_back (self, item);
              self->want_write = TRUE;
              return;
            }
          /* A message the stack refuses fails alone; the carrier goes on. */
          fail_item (self, item, error);
          continue;
        }
      self->bytes_sent += item->total;
      self->total_written += item->total;
      self->queued_bytes -= MIN (self->queued_bytes, item->total);
      item_written (self, item);
    }
}

/* ---- datagrams ------------------------------------------------------------ */

static gboolean
has_unsent_datagrams (PostTransient *self)
{
  GHashTableIter iter;
  Datagram *d;

  g_hash_table_iter_init (&iter, self->datagrams);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &d))
    if (!d->sent)
      return TRUE;
  return FALSE;
}

/* Whether @item goes as an unreliable datagram rather than on the stream. */
static gboolean
datagram_eligible (PostTransient *self,
                   SendItem      *item)
{
  gsize max;

  if (item->message == NULL || item->no_datagram || post_message_get_reliable (item->message)
      || item->deadline <= 0 || !item->end_of_message || item->part || item->written > 0
      || item->destination != NULL || item->coalesced != NULL || item->payload == NULL
      || !(self->caps & POST_STACK_CAP_PER_MSG_RELIABILITY))
    return FALSE;
  max = post_psi_get_max_datagram_size (self->psi);
  return max > 0 && g_bytes_get_size (item->payload) <= max;
}

static void
update_send_priority (PostTransient *self,
                      guint          niceness)
{
  if (self->send_priority_set && self->send_priority == niceness)
    return;
  self->send_priority = niceness;
  self->send_priority_set = TRUE;
  post_psi_set_send_priority (self->psi, niceness);
}

/* Hands @item to the PSI as a datagram.  Returns FALSE when the PSI's queue
 * is full (the item is back in its queue, to go on G_IO_OUT). */
static gboolean
send_datagram_item (PostTransient *self,
                    SendItem      *item)
{
  g_autoptr(GError) error = NULL;
  Datagram *d;
  guint64 id = ++self->next_datagram_id;

  if (!post_psi_send_datagram (self->psi, item->payload, item->deadline, id, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        {
          push_back (self, item);
          return FALSE;
        }
      /* Refused (the path shrank, say): it goes on the stream, reliably. */
      g_debug ("Sending a message as a datagram failed, it goes on the stream: %s",
               error->message);
      item->no_datagram = TRUE;
      push_back (self, item);
      return TRUE;
    }
  self->queued_bytes -= MIN (self->queued_bytes, item->total);
  self->queued_items -= MIN (self->queued_items, 1);
  self->bytes_sent += g_bytes_get_size (item->payload);
  d = g_new0 (Datagram, 1);
  d->id = id;
  d->message = g_steal_pointer (&item->message);
  d->task = g_steal_pointer (&item->task);
  g_hash_table_insert (self->datagrams, &d->id, d);
  send_item_free (item);
  return TRUE;
}

static void
psi_datagram_event_cb (PostPsi           *psi,
                       guint64            id,
                       PostDatagramEvent  event,
                       PostTransient     *self)
{
  Datagram *d = g_hash_table_lookup (self->datagrams, &id);
  g_autoptr(PostMessage) message = NULL;
  g_autoptr(GTask) task = NULL;
  gboolean was_sent;

  if (d == NULL)
    return;
  g_object_ref (self);
  message = g_object_ref (d->message);
  task = g_steal_pointer (&d->task);
  was_sent = d->sent;
  switch (event)
    {
    case POST_DATAGRAM_SENT:
      d->sent = TRUE;
      /* Kept for the acked event only when someone listens for it. */
      if (!(self->caps & POST_STACK_CAP_EVENT_ACKED)
          || !(_post_message_wants_acked (message) || _post_carrier_wants_acked (self->carrier)))
        g_hash_table_remove (self->datagrams, &id);
      if (!was_sent)
        {
          _post_carrier_emit_sent (self->carrier, message);
          if (task != NULL)
            g_task_return_boolean (task, TRUE);
        }
      break;
    case POST_DATAGRAM_ACKED:
      g_hash_table_remove (self->datagrams, &id);
      if (!was_sent)
        {
          _post_carrier_emit_sent (self->carrier, message);
          if (task != NULL)
            g_task_return_boolean (task, TRUE);
        }
      _post_carrier_emit_acked (self->carrier, message);
      break;
    case POST_DATAGRAM_EXPIRED:
    case POST_DATAGRAM_LOST:
    default:
      g_hash_table_remove (self->datagrams, &id);
      if (!was_sent)
        {
          g_autoptr(GError) error = NULL;

          if (event == POST_DATAGRAM_EXPIRED)
            {
              error = g_error_new_literal (POST_ERROR, POST_ERROR_EXPIRED,
                                           "The message's lifetime passed before it was sent");
              _post_carrier_emit_expired (self->carrier, message);
            }
          else
            {
              error = g_error_new_literal (POST_ERROR, POST_ERROR_FAILED,
                                           "The stack could not send the message as a datagram");
              _post_carrier_emit_send_error (self->carrier, message, error);
            }
          if (task != NULL)
            g_task_return_error (task, g_error_copy (error));
        }
      /* Lost after it was sent: unreliable, nothing more to report. */
      break;
    }
  if (self->closing && !self->ended && !has_unsent_datagrams (self))
    _post_transient_close (self);
  g_object_unref (self);
}

static void
psi_datagram_received_cb (PostPsi       *psi,
                          GBytes        *content,
                          PostTransient *self)
{
  g_autoptr(PostMessage) handle = NULL;
  gsize min_len, max_len;

  if (self->ended)
    return;
  self->bytes_received += g_bytes_get_size (content);
  /* Whole or not at all, as on the stream (drop_too_large()): a partial
   * receive takes it whole too (a datagram is not split). */
  if (g_bytes_get_size (content) > self->recv_max
      && _post_carrier_peek_demand (self->carrier, &min_len, &max_len) != POST_DEMAND_PARTIAL)
    {
      g_autoptr(GError) error =
        g_error_new (POST_ERROR, POST_ERROR_MESSAGE_TOO_LARGE,
                     "A datagram of more than recv-msg-max-len (%" G_GSIZE_FORMAT " bytes) "
                     "arrived and was dropped", self->recv_max);

      g_object_ref (self);
      _post_carrier_deliver_error (self->carrier, error);
      g_object_unref (self);
      return;
    }
  if ((self->overcommitted && !self->closing)
      || (_post_carrier_peek_demand (self->carrier, &min_len, &max_len) == POST_DEMAND_NONE
          && _post_carrier_get_inbox_size (self->carrier) >= READ_AHEAD))
    {
      /* An unreliable datagram nobody has room for: dropped and counted,
       * as a full socket buffer drops it, rather than held. */
      if (self->datagrams_dropped++ == 0)
        g_debug ("The receiver does not keep up: dropping unreliable datagrams");
      return;
    }
  handle = _post_message_new_received (content, TRUE, 0, NULL);
  g_object_ref (self);
  _post_carrier_deliver (self->carrier, handle, content, TRUE);
  g_object_unref (self);
}

/* The transient ends: datagrams not sent yet fail, the others are forgotten. */
static void
fail_datagrams (PostTransient *self,
                const GError  *error)
{
  g_autoptr(GPtrArray) unsent = g_ptr_array_new_with_free_func (datagram_free);
  GHashTableIter iter;
  Datagram *d;

  g_hash_table_iter_init (&iter, self->datagrams);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &d))
    {
      g_hash_table_iter_steal (&iter);
      if (d->sent)
        datagram_free (d);
      else
        g_ptr_array_add (unsent, d);
    }
  for (guint i = 0; i < unsent->len; i++)
    {
      d = unsent->pdata[i];
      _post_carrier_emit_send_error (self->carrier, d->message, error);
      if (d->task != NULL)
        g_task_return_error (d->task, g_error_copy (error));   /* unref'd with d */
    }
}

static gboolean
item_is_immediate (SendItem *item)
{
  return item->message != NULL && post_message_get_immediate (item->message);
}

static void
write_stream (PostTransient *self)
{
  GOutputVector vectors[MAX_VECTORS];
  SendItem *batch[MAX_VECTORS];

  for (;;)
    {
      g_autoptr(GError) error = NULL;
      guint n_vectors = 0, n_items = 0;
      gsize batch_bytes = 0;
      gssize written;
      SendItem *item;

      item = self->current ? g_steal_pointer (&self->current) : pick_next (self);
      while (item != NULL)
        {
          if (datagram_eligible (self, item))
            {
              /* Datagrams leave in the send order, outside the stream:
               * what is batched for the stream goes first. */
              if (n_items > 0)
                {
                  push_back (self, item);
                  break;
                }
              update_send_priority (self, item->niceness);
              if (!send_datagram_item (self, item))
                {
                  self->want_write = TRUE;
                  return;
                }
              if (self->ended)
                return;
              item = pick_next (self);
              continue;
            }
          if (n_items == 0)
            update_send_priority (self, item->niceness);
          batch[n_items++] = item;
          n_vectors += item_vectors (item, vectors + n_vectors);
          batch_bytes += item->total - item->written;
          /* An immediate message ends its write: nothing after it shares
           * its packet (post_psi_push() once it is written). */
          if (item->shutdown_after || item_is_immediate (item) || n_vectors + 3 > MAX_VECTORS
              || n_items == MAX_VECTORS || batch_bytes >= MAX_BATCH_BYTES)
            break;
          item = pick_next (self);
        }
      if (n_items == 0)
        {
          self->want_write = FALSE;
          return;
        }

      if (n_vectors == 0)
        written = 0;  /* only empty items (an empty stream-mode end) */
      else
        written = post_psi_write (self->psi, vectors, n_vectors, &error);
      if (written < 0)
        {
          for (guint i = n_items; i > 1; i--)
            push_back (self, batch[i - 1]);
          self->current = batch[0];
          if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
            {
              self->want_write = TRUE;
              return;
            }
          fail_transport (self, g_steal_pointer (&error));
          return;
        }

      self->bytes_sent += written;
      self->queued_bytes -= MIN (self->queued_bytes, (gsize) written);
      for (guint i = 0; i < n_items; i++)
        {
          SendItem *it = batch[i];
          gsize left = it->total - it->written;

          if ((gsize) written >= left)
            {
              written -= left;
              it->written = it->total;
              self->total_written += left;
              if (item_is_immediate (it))
                post_psi_push (self->psi);
              item_written (self, it);
              if (self->ended)
                {
                  for (guint j = i + 1; j < n_items; j++)
                    send_item_free (batch[j]);
                  return;
                }
            }
          else
            {
              /* A short write: the kernel's buffer is full. */
              it->written += written;
              self->total_written += written;
              for (guint j = n_items; j > i + 1; j--)
                push_back (self, batch[j - 1]);
              self->current = it;
              self->want_write = TRUE;
              return;
            }
        }
    }
}

static gboolean
resume_idle_cb (gpointer data)
{
  PostTransient *self = data;

  g_clear_pointer (&self->resume_idle, g_source_unref);
  _post_transient_pump_receive (self);
  return G_SOURCE_REMOVE;
}

/* Reading stopped because the queue was overcommitted resumes once it
 * drained below its limit (from the main loop: this runs inside writes and
 * cancellations, which may themselves run inside a delivery). */
static void
check_overcommit (PostTransient *self)
{
  if (!self->overcommitted || queue_full (self))
    return;
  self->overcommitted = FALSE;
  if (self->psi == NULL || self->ended || self->resume_idle != NULL)
    return;
  self->resume_idle = g_idle_source_new ();
  g_source_set_priority (self->resume_idle, G_PRIORITY_DEFAULT);
  g_source_set_callback (self->resume_idle, resume_idle_cb, self, NULL);
  g_source_set_static_name (self->resume_idle, "[libpost] resume reading");
  g_source_attach (self->resume_idle, self->context);
}

static void
write_some (PostTransient *self)
{
  if (self->psi == NULL || self->ended)
    return;

  g_object_ref (self);
  destroy_source (&self->write_idle);
  if (self->byte_stream)
    write_stream (self);
  else
    write_messages (self);
  if (!self->ended)
    check_sent (self);
  if (!self->ended)
    {
      check_flushes (self);
      check_overcommit (self);
      if (self->closing && self->current == NULL && lowest_unwritten_seq (self) == G_MAXUINT64
          && !has_unsent_datagrams (self))
        _post_transient_close (self);
      update_interest (self);
    }
  g_object_unref (self);
}

/* ---- receiving ------------------------------------------------------------ */

static gboolean
has_pending_message_bytes (PostTransient *self)
{
  return self->assembly->len > 0 || self->assembly_end;
}

static void
reset_assembly (PostTransient *self)
{
  g_byte_array_set_size (self->assembly, 0);
  self->assembly_started = FALSE;
  self->assembly_end = FALSE;
  g_clear_object (&self->handle);
  g_clear_object (&self->assembly_from);
}

static PostMessage *
ensure_handle (PostTransient *self,
               GBytes        *data,
               gboolean       complete)
{
  if (self->handle == NULL)
    self->handle = _post_message_new_received (data, complete, self->recv_seq,
                                               self->assembly_from);
  else
    _post_message_set_received_part (self->handle, data, complete);
  return self->handle;
}

/* The message being assembled is larger than recv-msg-max-len and a
 * complete receive wants it: it is dropped (the rest of it discarded as it
 * is decoded) and the receive fails. */
static void
drop_too_large (PostTransient *self)
{
  g_autoptr(GError) error =
    g_error_new (POST_ERROR, POST_ERROR_MESSAGE_TOO_LARGE,
                 "A message of more than recv-msg-max-len (%" G_GSIZE_FORMAT " bytes) "
                 "arrived and was dropped; receive it in parts with "
                 "post_carrier_receive_partial_async()", self->recv_max);
  gboolean ended = self->assembly_end;

  reset_assembly (self);
  if (!ended)
    {
      /* Still started: decode_some() drops what follows up to its end. */
      self->assembly_started = TRUE;
      self->discarding = TRUE;
    }
  g_object_ref (self);
  _post_carrier_deliver_error (self->carrier, error);
  g_object_unref (self);
}

/* Hands out what the demand allows; returns whether something was delivered. */
static gboolean
try_deliver (PostTransient *self)
{
  PostDemand demand;
  gsize min_len = 0, max_len = 0;
  gsize take;
  gboolean end;
  g_autoptr(GBytes) data = NULL;
  g_autoptr(PostMessage) handle = NULL;

  if (!has_pending_message_bytes (self))
    return FALSE;
  /* Sending past a full queue stops delivery too, not only reading: what
   * is buffered would otherwise feed the same sends. */
  if (self->overcommitted && !self->closing)
    return FALSE;

  demand = _post_carrier_peek_demand (self->carrier, &min_len, &max_len);
  switch (demand)
    {
    case POST_DEMAND_NONE:
      /* Keep a small inbox of complete messages for latency.  One too large
       * for a complete receive waits for a receive that decides. */
      if (!self->assembly_end || _post_carrier_get_inbox_size (self->carrier) >= READ_AHEAD
          || (self->handle == NULL && self->assembly->len > self->recv_max))
        return FALSE;
      take = self->assembly->len;
      break;
    case POST_DEMAND_COMPLETE:
      /* Whole or not at all (draft 2.2, recv-msg-max-len). */
      if (self->assembly->len > self->recv_max)
        {
          drop_too_large (self);
          return TRUE;
        }
      if (!self->assembly_end)
        return FALSE;
      take = self->assembly->len;
      break;
    case POST_DEMAND_PARTIAL:
    default:
      if (!self->assembly_end && self->assembly->len < MAX (min_len, 1))
        return FALSE;
      take = max_len > 0 ? MIN (self->assembly->len, max_len) : self->assembly->len;
      break;
    }

  end = self->assembly_end && take == self->assembly->len;
  if (take == self->assembly->len)
    {
      data = g_byte_array_free_to_bytes (g_steal_pointer (&self->assembly));
      self->assembly = g_byte_array_new ();
    }
  else
    {
      data = g_bytes_new (self->assembly->data, take);
      g_byte_array_remove_range (self->assembly, 0, take);
    }
  if (demand == POST_DEMAND_NONE && self->handle != NULL)
    /* Into the carrier's inbox: the handle is updated when the part is
     * handed out, not before. */
    handle = g_object_ref (self->handle);
  else
    handle = g_object_ref (ensure_handle (self, data, end));
  if (end)
    reset_assembly (self);
  _post_carrier_deliver (self->carrier, handle, data, end);
  return TRUE;
}

/* Decodes buffered input into the assembly buffer; returns whether it made progress. */
static gboolean
decode_some (PostTransient *self)
{
  const guint8 *data = self->inbuf->data + self->inbuf_start;
  gsize size = self->inbuf->len - self->inbuf_start;

  if (self->assembly_end || self->input_done)
    return FALSE;

  if (self->framer == NULL)
    {
      /* Stream mode: the whole direction is one message. */
      if (size > 0)
        {
          if (!self->assembly_started)
            {
              self->assembly_started = TRUE;
              self->recv_seq++;
            }
          if (!self->discarding)
            g_byte_array_append (self->assembly, data, size);
          self->inbuf_start += size;
          first_message_done (self);
          return TRUE;
        }
      if (self->input_eof && self->discarding)
        {
          /* The direction was the message dropped as too large. */
          self->discarding = FALSE;
          self->input_done = TRUE;
          reset_assembly (self);
          return TRUE;
        }
      if (self->input_eof)
        {
          self->input_done = TRUE;
          if (!self->assembly_started)
            self->recv_seq++;
          self->assembly_started = TRUE;
          self->assembly_end = TRUE;
          first_message_done (self);
          return TRUE;
        }
      return FALSE;
    }
  else
    {
      g_autoptr(GError) error = NULL;
      PostFrameChunk chunk;

      if (!post_framer_decode (self->framer, data, size, self->input_eof, &chunk, &error))
        {
          if (!g_error_matches (error, POST_ERROR, POST_ERROR_TRUNCATED)
              && !g_error_matches (error, POST_ERROR, POST_ERROR_PROTOCOL))
            {
              GError *wrapped = g_error_new (POST_ERROR, POST_ERROR_PROTOCOL,
                                             "The peer's data violates the framing: %s",
                                             error->message);
              fail_transport (self, wrapped);
            }
          else
            fail_transport (self, g_steal_pointer (&error));
          return FALSE;
        }
      if (chunk.consumed == 0 && chunk.payload_length == 0)
        {
          if (self->input_eof && size == 0)
            self->input_done = TRUE;
          return FALSE;
        }
      if (self->control_frames)
        {
          g_autoptr(GBytes) body = NULL;
          guint8 type, flags;

          if (_post_length_prefix_framer_take_control (self->framer, &type, &flags, &body))
            {
              gboolean first = !self->frame_seen;

              /* Never a message: the carrier acts on it (it may end us). */
              self->frame_seen = TRUE;
              self->inbuf_start += chunk.consumed;
              _post_carrier_control_frame (self->carrier, self, type, flags, body, first);
              return TRUE;
            }
          if (chunk.message_start && !self->frame_seen)
            {
              self->frame_seen = TRUE;
              _post_carrier_first_message (self->carrier, self);
            }
        }
      if (self->discarding)
        {
          self->inbuf_start += chunk.consumed;
          if (chunk.message_end)
            {
              self->discarding = FALSE;
              reset_assembly (self);
            }
          return TRUE;
        }
      if (chunk.message_start)
        {
          self->assembly_started = TRUE;
          self->recv_seq++;
        }
      if (chunk.payload_length > 0)
        g_byte_array_append (self->assembly, data + chunk.payload_offset, chunk.payload_length);
      if (chunk.message_end)
        {
          self->assembly_end = TRUE;
          first_message_done (self);
        }
      self->inbuf_start += chunk.consumed;
      return TRUE;
    }
}

gsize
_post_transient_get_receive_bytes (PostTransient *self)
{
  return _post_carrier_get_inbox_size (self->carrier) + self->assembly->len
         + (self->inbuf->len - self->inbuf_start);
}

static gboolean
should_read (PostTransient *self)
{
  PostDemand demand;
  gsize min_len, max_len;

  if (self->psi == NULL || self->input_eof || self->ended || self->assembly_end)
    return FALSE;
  if (self->closing)
    return TRUE;  /* draining until the peer's end */
  if (self->overcommitted)
    return FALSE;  /* until the send queue drains below its limit */
  demand = _post_carrier_peek_demand (self->carrier, &min_len, &max_len);
  if (demand != POST_DEMAND_NONE)
    return TRUE;
  return _post_transient_get_receive_bytes (self) < READ_AHEAD;
}

/* Returns 1 on progress, 2 on progress after which the PSI is (very likely)
 * drained, 0 when it would block, -1 when the transient ended. */
static int
read_some (PostTransient *self)
{
  g_autoptr(GError) error = NULL;

  if (!self->byte_stream)
    {
      g_autoptr(GSocketAddress) from = NULL;
      g_autoptr(GBytes) message = post_psi_receive_message (self->psi, &from, &error);

      if (message == NULL)
        {
          if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
            {
              self->readable = FALSE;
              return 0;
            }
          if (error == NULL)
            {
              self->input_eof = TRUE;
              self->input_done = TRUE;
              return 1;
            }
          fail_transport (self, g_steal_pointer (&error));
          return -1;
        }
      self->bytes_received += g_bytes_get_size (message);
      self->recv_seq++;
      self->assembly_started = TRUE;
      self->assembly_end = TRUE;
      first_message_done (self);
      g_byte_array_append (self->assembly, g_bytes_get_data (message, NULL),
                           g_bytes_get_size (message));
      g_set_object (&self->assembly_from, from);
      return 1;
    }
  else
    {
      gsize used;
      gssize n;

      if (self->inbuf_start > 0 && (self->inbuf_start == self->inbuf->len
                                    || self->inbuf_start > self->inbuf->len / 2))
        {
          g_byte_array_remove_range (self->inbuf, 0, self->inbuf_start);
          self->inbuf_start = 0;
        }
      used = self->inbuf->len;
      g_byte_array_set_size (self->inbuf, used + READ_CHUNK);
      n = post_psi_read (self->psi, self->inbuf->data + used, READ_CHUNK, &error);
      g_byte_array_set_size (self->inbuf, used + MAX (n, 0));
      if (n < 0)
        {
          if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
            {
              self->readable = FALSE;
              return 0;
            }
          fail_transport (self, g_steal_pointer (&error));
          return -1;
        }
      if (n == 0)
        self->input_eof = TRUE;
      self->bytes_received += n;
      /* A short read emptied the socket: wait for readiness rather than
       * asking again (and getting EAGAIN). */
      if (n > 0 && (gsize) n < READ_CHUNK)
        {
          self->readable = FALSE;
          return 2;
        }
      return 1;
    }
}

static gboolean linger_timeout_cb (gpointer data);

static void
start_linger (PostTransient *self)
{
  if (self->linger_timer != NULL)
    return;
  self->linger_timer = g_timeout_source_new (CLOSE_LINGER_MS);
  g_source_set_callback (self->linger_timer, linger_timeout_cb, self, NULL);
  g_source_set_static_name (self->linger_timer, "[libpost] close linger");
  g_source_attach (self->linger_timer, self->context);
}

static gboolean
drain_timer_cb (gpointer data)
{
  PostTransient *self = data;

  if (!post_psi_is_send_complete (self->psi))
    return G_SOURCE_CONTINUE;
  g_clear_pointer (&self->drain_timer, g_source_unref);
  end_transient (self, NULL, self->drain_peer_closed);
  return G_SOURCE_REMOVE;
}

/* Both directions are over.  A stack that keeps what was written in user
 * space (QUIC) may still have it unacknowledged: the transient ends (and
 * the carrier reports closed, after which an application may well exit)
 * only once it has reached the peer, or CLOSE_LINGER_MS passed. */
static void
end_when_drained (PostTransient *self,
                  gboolean       peer_closed)
{
  if (self->ended || self->drain_timer != NULL)
    return;
  if (!self->send_shut || self->psi == NULL || post_psi_is_send_complete (self->psi))
    {
      end_transient (self, NULL, peer_closed);
      return;
    }
  self->drain_peer_closed = peer_closed;
  self->drain_timer = g_timeout_source_new (ACK_POLL_MS);
  g_source_set_callback (self->drain_timer, drain_timer_cb, self, NULL);
  g_source_set_static_name (self->drain_timer, "[libpost] close drain");
  g_source_attach (self->drain_timer, self->context);
  start_linger (self);
}

static void
input_finished (PostTransient *self)
{
  /* The peer ended its direction and everything it sent was decoded. */
  if (self->ended)
    return;
  if (self->closing || self->send_shut || !self->stream_mode)
    end_when_drained (self, !self->closing);
}

void
_post_transient_pump_receive (PostTransient *self)
{
  if (self->psi == NULL || self->ended)
    return;

  g_object_ref (self);
  for (gboolean drained = FALSE;;)
    {
      int r;

      if (try_deliver (self))
        {
          if (self->ended)
            break;
          continue;
        }
      if (self->ended)
        break;
      if (decode_some (self))
        {
          if (self->ended)
            break;
          continue;
        }
      if (self->ended)
        break;
      if (self->input_done || (self->input_eof && !self->byte_stream))
        {
          if (!has_pending_message_bytes (self))
            {
              input_finished (self);
              break;
            }
        }
      /* Read only when the PSI said it is readable: otherwise the armed
       * interest (below) makes the main loop tell us, and an empty read
       * is saved. */
      if (drained || !self->readable || !should_read (self))
        break;
      r = read_some (self);
      if (r <= 0)
        break;
      drained = r == 2;
    }
  if (!self->ended)
    update_interest (self);
  g_object_unref (self);
}

void
_post_transient_try_read (PostTransient *self)
{
  if (self->psi == NULL || self->ended || self->readable)
    return;
  self->readable = TRUE;
  _post_transient_pump_receive (self);
}

static void
update_interest (PostTransient *self)
{
  GIOCondition cond = 0;

  if (self->psi == NULL || self->ended)
    return;
  if (should_read (self))
    cond |= G_IO_IN;
  if (self->want_write)
    cond |= G_IO_OUT;
  post_psi_set_interest (self->psi, cond);
}

static void
psi_ready_cb (PostPsi       *psi,
              GIOCondition   condition,
              PostTransient *self)
{
  g_object_ref (self);
  if (condition & G_IO_OUT)
    {
      self->want_write = FALSE;
      write_some (self);
    }
  if ((condition & (G_IO_IN | G_IO_HUP | G_IO_ERR)) && !self->ended)
    {
      self->readable = TRUE;
      _post_transient_pump_receive (self);
    }
  g_object_unref (self);
}

static void
psi_soft_error_cb (PostPsi       *psi,
                   const GError  *error,
                   PostTransient *self)
{
  _post_carrier_emit_soft_error (self->carrier, error);
}

/* Whether @path still has @psi's addresses and interface */
static gboolean
path_matches_psi (PostPath *path,
                  PostPsi  *psi)
{
  GSocketAddress *addresses[2][2] = {
    { post_path_get_local_address (path), post_psi_get_local_address (psi) },
    { post_path_get_remote_address (path), post_psi_get_remote_address (psi) },
  };

  for (guint i = 0; i < 2; i++)
    {
      GSocketAddress *a = addresses[i][0], *b = addresses[i][1];

      if (a == NULL || b == NULL)
        {
          if (a != b)
            return FALSE;
          continue;
        }
      if (G_IS_INET_SOCKET_ADDRESS (a) && G_IS_INET_SOCKET_ADDRESS (b))
        {
          if (!g_inet_address_equal (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (a)),
                                     g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (b)))
              || g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (a))
                 != g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (b)))
            return FALSE;
        }
      else if (a != b)
        return FALSE;
    }
  return g_strcmp0 (post_path_get_interface (path), post_psi_get_interface (psi)) == 0;
}

static void
psi_path_changed_cb (PostPsi       *psi,
                     PostTransient *self)
{
  /* The instance moved (connection migration, or the peer migrated): the
   * transient now uses the path of its new addresses. */
  if (self->path != NULL && !path_matches_psi (self->path, psi))
    {
      g_autoptr(PostPath) path = _post_carrier_path_for_psi (self->carrier, psi);

      g_set_object (&self->path, path);
    }
  if (self->path != NULL)
    post_psi_update_path (psi, self->path);
  _post_carrier_transient_path_changed (self->carrier, self);
}

static void
reframe_queue (PostTransient *self)
{
  /* Items queued before the stack was known were framed for a byte stream
   * with the default framer; frame them for the real stack now. */
  for (guint i = 0; i < self->levels->len; i++)
    {
      SendLevel *level = self->levels->pdata[i];

      for (GList *l = level->items.head; l != NULL;)
        {
          SendItem *item = l->data;
          GList *next = l->next;
          g_autoptr(GError) error = NULL;

          self->queued_bytes -= MIN (self->queued_bytes, item->total);
          if (item->coalesced != NULL)
            {
              /* Split the coalesced buffer back into messages. */
              g_autoptr(PostFramer) decoder = post_length_prefix_framer_new ();
              gsize off = 0;

              g_queue_delete_link (&level->items, l);
              while (off < item->coalesced->len)
                {
                  PostFrameChunk chunk;
                  g_autoptr(GBytes) content = NULL;

                  if (!post_framer_decode (decoder, item->coalesced->data + off,
                                           item->coalesced->len - off, TRUE, &chunk, NULL)
                      || chunk.consumed == 0)
                    break;
                  content = g_bytes_new (item->coalesced->data + off + chunk.payload_offset,
                                         chunk.payload_length);
                  off += chunk.consumed;
                  {
                    SendItem *one;

                    if (!refuse_empty (self, content, FALSE, NULL))
                      {
                        /* Anonymous (post_carrier_send_bytes): no one to tell. */
                        g_debug ("Dropping an empty message queued for stack %s, which "
                                 "cannot carry it", post_transient_get_stack_name (self));
                        continue;
                      }
                    one = g_new0 (SendItem, 1);
                    one->seq = item->seq;
                    one->payload = g_steal_pointer (&content);
                    one->end_of_message = TRUE;
                    frame_item (self, one, NULL);
                    self->queued_bytes += one->total;
                    self->queued_items++;
                    if (next != NULL)
                      g_queue_insert_before (&level->items, next, one);
                    else
                      g_queue_push_tail (&level->items, one);
                  }
                }
              self->queued_items -= MIN (self->queued_items, 1);
              send_item_free (item);
            }
          else if (!refuse_empty (self, item->payload, item->part, &error)
                   || !frame_item (self, item, &error))
            {
              g_queue_delete_link (&level->items, l);
              self->queued_bytes += item->total;   /* fail_item() takes it off */
              fail_item (self, item, error);
            }
          else
            self->queued_bytes += item->total;
          l = next;
        }
    }
}

/* ---- 0-RTT early data ------------------------------------------------------ */

/* Whether @item may travel before the handshake completes: a whole message
 * marked idempotent (draft 3.1.2), with no destination, no unsent
 * antecedent and a lifetime left. */
static gboolean
early_eligible (SendItem *item,
                gint64    now)
{
  gboolean failed = FALSE;

  return item->message != NULL && post_message_get_idempotent (item->message)
         && item->end_of_message && !item->part && item->written == 0
         && item->destination == NULL && item->coalesced == NULL
         && (item->deadline == 0 || item->deadline > now)
         && _post_message_antecedents_sent (item->message, &failed) && !failed;
}

/*
 * Takes the idempotent messages at the head of the send order, framed for a
 * byte stream, up to @limit bytes; stops at the first message that is not
 * idempotent, so that order is kept and nothing else leaves before the
 * handshake.  Returns NULL when there are none.  The items wait in
 * self->early until _post_transient_attach() or
 * _post_transient_return_early_data().
 */
GBytes *
_post_transient_take_early_data (PostTransient *self,
                                 gsize          limit)
{
  g_autoptr(PostFramer) framer = NULL;
  g_autoptr(GByteArray) out = NULL;
  gint64 now = g_get_monotonic_time ();
  GType type;

  if (self->psi != NULL || self->stream_mode || limit == 0
      || self->current != NULL || !g_queue_is_empty (&self->early))
    return NULL;

  type = post_configuration_get_framer_type (self->configuration);
  framer = g_object_new (type ? type : POST_TYPE_LENGTH_PREFIX_FRAMER, NULL);
  out = g_byte_array_new ();
  for (guint i = 0; i < self->levels->len; i++)
    {
      SendLevel *level = self->levels->pdata[i];
      SendItem *item;

      while ((item = g_queue_peek_head (&level->items)) != NULL)
        {
          gsize size = g_bytes_get_size (item->payload);
          guint start = out->len;

          if (!early_eligible (item, now))
            goto done;
          g_byte_array_set_size (self->scratch_header, 0);
          g_byte_array_set_size (self->scratch_trailer, 0);
          if (!post_framer_encode (framer, item->message, size, TRUE,
                                   self->scratch_header, self->scratch_trailer, NULL)
              || start + self->scratch_header->len + size + self->scratch_trailer->len > limit)
            goto done;
          g_byte_array_append (out, self->scratch_header->data, self->scratch_header->len);
          g_byte_array_append (out, g_bytes_get_data (item->payload, NULL), size);
          g_byte_array_append (out, self->scratch_trailer->data, self->scratch_trailer->len);
          g_queue_pop_head (&level->items);
          self->queued_bytes -= MIN (self->queued_bytes, item->total);
          item->total = out->len - start;
          g_queue_push_tail (&self->early, item);
        }
    }
done:
  if (out->len == 0)
    return NULL;
  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}

/* Puts the items taken as early data back at the head of the queue. */
void
_post_transient_return_early_data (PostTransient *self)
{
  SendItem *item;

  while ((item = g_queue_pop_tail (&self->early)) != NULL)
    {
      item->total = g_bytes_get_size (item->payload);
      item->header_len = 0;
      g_queue_push_head (&get_level (self, item->niceness)->items, item);
      self->queued_bytes += item->total;
    }
}

static gboolean
first_message_timeout_cb (gpointer data)
{
  PostTransient *self = data;
  g_autofree char *remote = NULL;
  GSocketAddress *address = self->psi != NULL ? post_psi_get_remote_address (self->psi) : NULL;

  g_clear_pointer (&self->first_message_timer, g_source_unref);
  if (address != NULL && G_IS_INET_SOCKET_ADDRESS (address))
    {
      g_autofree char *ip = g_inet_address_to_string (
        g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (address)));

      remote = g_strdup_printf (" %s port %u", ip,
                                g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (address)));
    }
  g_debug ("Closing the accepted carrier of%s: no first message by its deadline",
           remote ? remote : " a peer");
  g_object_ref (self);
  fail_transport (self, g_error_new (POST_ERROR, POST_ERROR_TIMED_OUT,
                                     "The peer%s did not complete a first message in the time "
                                     "the %s stack allows after accepting it (its first-message timeout)",
                                     remote ? remote : "",
                                     post_stack_get_name (post_psi_get_stack (self->psi))));
  g_object_unref (self);
  return G_SOURCE_REMOVE;
}

void
_post_transient_attach (PostTransient *self,
                        PostPsi       *psi,
                        PostPath      *path)
{
  PostStack *stack = post_psi_get_stack (psi);
  GType framer_type;

  g_return_if_fail (self->psi == NULL);

  self->psi = g_object_ref (psi);
  g_set_object (&self->path, path);
  self->caps = _post_selection_effective_capabilities (stack, self->configuration);
  self->byte_stream = post_stack_has_capabilities (stack, POST_STACK_CAP_BYTE_STREAM);
  g_clear_object (&self->framer);
  framer_type = post_configuration_get_framer_type (self->configuration);
  if (self->byte_stream && !self->stream_mode)
    self->framer = g_object_new (framer_type ? framer_type : POST_TYPE_LENGTH_PREFIX_FRAMER, NULL);
  /* libpost's own framing has control frames (forks without streams);
   * stream mode and other framers are what a foreign peer may speak. */
  self->control_frames = self->framer != NULL && POST_IS_LENGTH_PREFIX_FRAMER (self->framer);
  if (!self->byte_stream)
    self->stream_mode = FALSE;
  /* Early data the winner took is its to deliver (0-RTT, or resent right
   * after the handshake): those messages are sent. */
  if (!g_queue_is_empty (&self->early) && post_psi_get_early_data (psi) == NULL)
    _post_transient_return_early_data (self);
  reframe_queue (self);
  {
    SendItem *item;

    g_object_ref (self);
    while (!self->ended && (item = g_queue_pop_head (&self->early)) != NULL)
      {
        self->bytes_sent += item->total;
        self->total_written += item->total;
        item->written = item->total;
        item_written (self, item);
      }
    g_object_unref (self);
  }

  self->ready_id = g_signal_connect (psi, "ready", G_CALLBACK (psi_ready_cb), self);
  self->path_id = g_signal_connect (psi, "path-changed", G_CALLBACK (psi_path_changed_cb), self);
  self->soft_error_id = g_signal_connect (psi, "soft-error", G_CALLBACK (psi_soft_error_cb), self);
  self->datagram_event_id = g_signal_connect (psi, "datagram-event",
                                              G_CALLBACK (psi_datagram_event_cb), self);
  self->datagram_received_id = g_signal_connect (psi, "datagram-received",
                                                 G_CALLBACK (psi_datagram_received_cb), self);
  self->sent_id = g_signal_connect (psi, "sent", G_CALLBACK (psi_sent_cb), self);
  self->message_expired_id = g_signal_connect (psi, "message-expired",
                                               G_CALLBACK (psi_message_expired_cb), self);
  /* An accepted peer has until the stack's deadline to complete a first
   * message (post_psi_set_first_message_deadline()), unless this end only
   * sends and so waits for nothing. */
  if (post_psi_get_first_message_deadline (psi) > 0 && !post_psi_has_first_message (psi)
      && (post_psi_get_configuration (psi) == NULL
          || post_configuration_get_direction (post_psi_get_configuration (psi))
             != POST_DIRECTION_UNIDIRECTIONAL_SEND))
    {
      gint64 left = post_psi_get_first_message_deadline (psi) - g_get_monotonic_time ();

      destroy_source (&self->first_message_timer);
      self->first_message_timer = g_timeout_source_new ((guint) CLAMP ((left + 999) / 1000, 0, G_MAXUINT));
      g_source_set_callback (self->first_message_timer, first_message_timeout_cb, self, NULL);
      g_source_set_static_name (self->first_message_timer, "[libpost] first-message timeout");
      g_source_attach (self->first_message_timer, self->context);
    }
  /* The path's measurements are read when asked for (get_paths) and when
   * the transient ends, not on every establishment. */

  /* Queued messages go out from the main loop, after the carrier's
   * establishment callbacks (nothing to do, no idle, when none are). */
  if (self->current != NULL || lowest_unwritten_seq (self) != G_MAXUINT64
      || !g_queue_is_empty (&self->flushes))
    schedule_write (self);
  _post_transient_pump_receive (self);
}

void
_post_transient_take_queue (PostTransient *self,
                            PostTransient *from)
{
  /* Only what has not started moves: a partly written message is lost with
   * its transport (and reported as failed by the old transient), and so are
   * the parts still queued of a message sent in parts whose first parts
   * left on it (the peer would get the rest without its start). */
  if (from->open_partial != NULL)
    {
      g_autoptr(GError) error =
        g_error_new_literal (POST_ERROR, POST_ERROR_CONNECTION_RESET,
                             "The transport was lost in the middle of a message sent in parts");

      drop_partial (from, from->open_partial, error, FALSE);
    }
  /* Control frames belong to their transport: they do not move. */
  {
    SendItem *item;

    while ((item = g_queue_pop_head (&from->control)) != NULL)
      {
        from->queued_bytes -= MIN (from->queued_bytes, item->total);
        from->queued_items -= MIN (from->queued_items, 1);
        send_item_free (item);
      }
  }
  for (guint i = 0; i < from->levels->len; i++)
    {
      SendLevel *level = from->levels->pdata[i];
      SendItem *item;

      while ((item = g_queue_pop_head (&level->items)) != NULL)
        {
          from->queued_bytes -= MIN (from->queued_bytes, item->total);
          from->queued_items -= MIN (from->queued_items, 1);
          item->seq = self->next_seq++;
          g_queue_push_tail (&get_level (self, item->niceness)->items, item);
          self->queued_bytes += item->total;
          self->queued_items++;
        }
    }
  while (!g_queue_is_empty (&from->flushes))
    {
      GTask *task = g_queue_pop_head (&from->flushes);

      _post_transient_flush (self, task);
      g_object_unref (task);
    }
}

/* ---- control frames ---------------------------------------------------------- */

gboolean
_post_transient_speaks_control (PostTransient *self)
{
  return self->psi != NULL && self->control_frames;
}

gboolean
_post_transient_has_seen_frame (PostTransient *self)
{
  return self->frame_seen;
}

/* Queues a control frame of libpost's framing: it goes before the messages
 * queued (and is never put inside a message sent in parts).  FALSE when the
 * transient does not speak libpost's framing or can no longer send. */
gboolean
_post_transient_send_control (PostTransient *self,
                              guint8         type,
                              guint8         flags,
                              const guint8  *body,
                              gsize          body_length)
{
  g_autoptr(GByteArray) frame = NULL;
  SendItem *item;

  if (!_post_transient_speaks_control (self) || self->ended || self->send_shut)
    return FALSE;
  frame = g_byte_array_sized_new (POST_LENGTH_PREFIX_CONTROL_HEADER + body_length);
  _post_length_prefix_encode_control (frame, type, flags, body, body_length);
  item = g_new0 (SendItem, 1);
  item->seq = self->next_seq++;
  item->control = TRUE;
  item->end_of_message = TRUE;
  item->payload = g_byte_array_free_to_bytes (g_steal_pointer (&frame));
  item->total = g_bytes_get_size (item->payload);
  g_queue_push_tail (&self->control, item);
  self->queued_bytes += item->total;
  self->queued_items++;
  schedule_write (self);
  return TRUE;
}

/* ---- ending --------------------------------------------------------------- */

void
_post_transient_fail_queue (PostTransient *self,
                            const GError  *error)
{
  SendItem *item;
  GTask *task;
  Unacked *u;

  if (self->current != NULL)
    fail_item (self, g_steal_pointer (&self->current), error);
  fail_datagrams (self, error);
  fail_unsent (self, error);
  _post_transient_return_early_data (self);
  while ((item = g_queue_pop_head (&self->control)) != NULL)
    fail_item (self, item, error);
  for (guint i = 0; i < self->levels->len; i++)
    {
      SendLevel *level = self->levels->pdata[i];

      while ((item = g_queue_pop_head (&level->items)) != NULL)
        fail_item (self, item, error);
    }
  while ((u = g_queue_pop_head (&self->unacked)) != NULL)
    {
      g_object_unref (u->message);
      g_free (u);
    }
  while ((task = g_queue_pop_head (&self->flushes)) != NULL)
    {
      g_task_return_error (task, g_error_copy (error));
      g_object_unref (task);
    }
  self->queued_bytes = 0;
  self->queued_items = 0;
  self->overcommitted = FALSE;
  self->open_partial = NULL;
}

static void
end_transient (PostTransient *self,
               const GError  *error,
               gboolean       peer_closed)
{
  g_autoptr(GError) closed_error = NULL;

  if (self->ended)
    return;
  self->ended = TRUE;

  g_object_ref (self);
  destroy_source (&self->write_idle);
  destroy_source (&self->expiry_timer);
  destroy_source (&self->linger_timer);
  destroy_source (&self->first_message_timer);
  destroy_source (&self->drain_timer);
  if (self->psi != NULL)
    {
      if (self->path != NULL)
        post_psi_update_path (self->psi, self->path);
      check_sent (self);
      if (!g_queue_is_empty (&self->unacked))
        check_acked (self);
      destroy_source (&self->ack_timer);
      post_psi_set_interest (self->psi, 0);
      post_psi_close (self->psi, error != NULL);
    }

  if (error == NULL)
    closed_error = g_error_new_literal (POST_ERROR, POST_ERROR_CLOSED,
                                        peer_closed ? "The peer closed the carrier"
                                                    : "The carrier is closed");
  if (_post_carrier_should_go_dormant (self->carrier, self, error))
    {
      /* Only the message in flight is lost; the carrier moves the rest of
       * the queue to its next transient. */
      if (self->current != NULL)
        fail_item (self, g_steal_pointer (&self->current), error);
      fail_datagrams (self, error ? error : closed_error);
      fail_unsent (self, error ? error : closed_error);
    }
  else
    _post_transient_fail_queue (self, error ? error : closed_error);

  /* What was fully received stays receivable: the carrier keeps its inbox. */
  _post_carrier_transient_ended (self->carrier, self, error, peer_closed);
  g_object_unref (self);
}

static gboolean
linger_timeout_cb (gpointer data)
{
  PostTransient *self = data;

  g_clear_pointer (&self->linger_timer, g_source_unref);
  end_transient (self, NULL, FALSE);
  return G_SOURCE_REMOVE;
}

void
_post_transient_close (PostTransient *self)
{
  if (self->ended)
    return;
  self->closing = TRUE;
  if (self->psi == NULL)
    {
      end_transient (self, NULL, FALSE);
      return;
    }
  /* Drain first: write_some() calls us again when the queue is empty. */
  if (self->current != NULL || lowest_unwritten_seq (self) != G_MAXUINT64)
    {
      write_some (self);
      return;
    }
  /* ... and the datagram events, once the stack told each one's fate. */
  if (has_unsent_datagrams (self))
    return;
  if (!self->send_shut)
    {
      g_autoptr(GError) error = NULL;

      self->send_shut = TRUE;
      if (self->byte_stream && !post_psi_shutdown_send (self->psi, &error))
        {
          end_transient (self, NULL, FALSE);
          return;
        }
      if (!self->byte_stream)
        {
          /* Message stacks have no orderly end to wait for. */
          end_transient (self, NULL, FALSE);
          return;
        }
    }
  if (self->input_done || self->input_eof)
    {
      end_when_drained (self, FALSE);
      return;
    }
  /* Wait, bounded, for the peer to end its direction, so that unread data
   * does not turn the close into a reset. */
  start_linger (self);
  _post_transient_pump_receive (self);
}

void
_post_transient_abort (PostTransient *self,
                       const GError  *error)
{
  g_autoptr(GError) aborted = NULL;

  if (error == NULL)
    error = aborted = g_error_new_literal (POST_ERROR, POST_ERROR_CLOSED, "The carrier was aborted");
  end_transient (self, error, FALSE);
}

/* ---- public accessors ----------------------------------------------------- */

/**
 * post_transient_get_psi:
 * @self: a #PostTransient
 *
 * Gets the protocol stack instance that carries the transient's transport
 * once it is established; it belongs to @self. For plugins and
 * diagnostics: applications use the carrier.
 *
 * Returns: (transfer none) (nullable): the stack instance, %NULL before
 *   establishment
 */
PostPsi *
post_transient_get_psi (PostTransient *self)
{
  g_return_val_if_fail (POST_IS_TRANSIENT (self), NULL);
  return self->psi;
}

/**
 * post_transient_get_stack_name:
 * @self: a #PostTransient
 *
 * Gets the name of the stack of the transient's transport once it is
 * established; the string belongs to @self.
 *
 * Returns: (nullable): the name of the stack, %NULL before establishment
 */
const char *
post_transient_get_stack_name (PostTransient *self)
{
  g_return_val_if_fail (POST_IS_TRANSIENT (self), NULL);
  return self->psi ? post_stack_get_name (post_psi_get_stack (self->psi)) : NULL;
}

/**
 * post_transient_get_paths:
 * @self: a #PostTransient
 *
 * The paths the transient uses (draft Figure 6), with the stack's latest
 * measurements.
 *
 * Returns: (transfer container) (element-type PostPath): the paths
 */
GPtrArray *
post_transient_get_paths (PostTransient *self)
{
  GPtrArray *paths;

  g_return_val_if_fail (POST_IS_TRANSIENT (self), NULL);

  paths = g_ptr_array_new_with_free_func (g_object_unref);
  if (self->path != NULL)
    {
      if (self->psi != NULL && !self->ended)
        post_psi_update_path (self->psi, self->path);
      g_ptr_array_add (paths, g_object_ref (self->path));
    }
  return paths;
}

/**
 * post_transient_get_bytes_sent:
 * @self: a #PostTransient
 *
 * Counts the bytes the transient handed to its stack instance, framing
 * included: what crossed the transport for its carriers.
 *
 * Returns: how many bytes (framing included) were handed to the stack
 */
guint64
post_transient_get_bytes_sent (PostTransient *self)
{
  g_return_val_if_fail (POST_IS_TRANSIENT (self), 0);
  return self->bytes_sent;
}

/**
 * post_transient_get_datagrams_dropped:
 * @self: a #PostTransient
 *
 * Unreliable datagrams (the stack's datagram-received, such as QUIC
 * DATAGRAM frames) that arrived while the carrier had no room for them:
 * no receive demand and a full inbox, or a send queue overcommitted (see
 * docs/framing.md, "Back-pressure").  They are dropped rather than held.
 *
 * Returns: how many were dropped
 */
guint64
post_transient_get_datagrams_dropped (PostTransient *self)
{
  g_return_val_if_fail (POST_IS_TRANSIENT (self), 0);
  return self->datagrams_dropped;
}

/**
 * post_transient_get_bytes_received:
 * @self: a #PostTransient
 *
 * Counts the bytes the transient read from its stack instance, framing
 * included: what crossed the transport for its carriers.
 *
 * Returns: how many bytes (framing included) were read from the stack
 */
guint64
post_transient_get_bytes_received (PostTransient *self)
{
  g_return_val_if_fail (POST_IS_TRANSIENT (self), 0);
  return self->bytes_received;
}
