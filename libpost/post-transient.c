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
 * PSI's largest message) and leave as one message with the last part —
 * unless the PSI takes messages in parts (post_psi_can_send_parts():
 * sctp's explicit EOR, `psi_parts`): then every item goes to it as it
 * comes with its end-of-message flag (a whole message is one part), a
 * short take keeps the item `current`, and nothing is gathered; on the
 * receiving side such a PSI hands over a message in pieces, which the
 * assembly buffer takes as a byte stream's decoded frames.
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

G_DEFINE_FINAL_TYPE (PostTransient, post_transient, G_TYPE_OBJECT)

/* ------------------------------------------------------------------------ */

void
_post_transient_send_item_free (SendItem *item)
{
  g_clear_object (&item->message);
  g_clear_object (&item->task);
  g_clear_pointer (&item->payload, g_bytes_unref);
  g_clear_pointer (&item->coalesced, g_byte_array_unref);
  g_clear_pointer (&item->spans, g_array_unref);
  g_clear_object (&item->destination);
  g_clear_pointer (&item->trailer, g_byte_array_unref);
  g_free (item);
}

void
_post_transient_datagram_free (gpointer data)
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

  g_queue_clear_full (&level->items, (GDestroyNotify) _post_transient_send_item_free);
  g_free (level);
}

/* The peer completed its first message (stream framing: sent a byte):
 * the stack's first-message timeout no longer applies. */
void
_post_transient_first_message_done (PostTransient *self)
{
  _post_source_clear (&self->first_message_timer);
  if (self->psi != NULL && !post_psi_has_first_message (self->psi))
    _post_psi_set_first_message_received (self->psi);
}

static void
psi_fork_request_cb (PostPsi  *psi,
                     PostPsi  *forked,
                     gpointer  user_data)
{
  PostTransient *self = user_data;

  _post_carrier_transient_fork_request (self->carrier, psi, forked);
}

/* What the transient's PSI tells it (its handlers of the PSI's events) */
static const PostPsiCoreFuncs psi_funcs = {
  .fork_request = psi_fork_request_cb,
  .ready = _post_transient_psi_ready_cb,
  .sent = _post_transient_psi_sent_cb,
  .path_changed = _post_transient_psi_path_changed_cb,
  .soft_error = _post_transient_psi_soft_error_cb,
  .datagram_event = _post_transient_psi_datagram_event_cb,
  .datagram_received = _post_transient_psi_datagram_received_cb,
  .message_expired = _post_transient_psi_message_expired_cb,
};

static void
post_transient_dispose (GObject *object)
{
  PostTransient *self = POST_TRANSIENT (object);

  _post_source_clear (&self->write_idle);
  _post_source_clear (&self->resume_idle);
  _post_source_clear (&self->ack_timer);
  _post_source_clear (&self->expiry_timer);
  _post_source_clear (&self->linger_timer);
  _post_source_clear (&self->first_message_timer);
  _post_source_clear (&self->drain_timer);
  if (self->psi != NULL)
    {
      _post_psi_unset_core_funcs (self->psi, self);
      post_psi_close (self->psi, TRUE);
    }

  G_OBJECT_CLASS (post_transient_parent_class)->dispose (object);
}

void
_post_transient_unsent_free (Unsent *u)
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
  g_clear_pointer (&self->current, _post_transient_send_item_free);
  g_queue_clear_full (&self->early, (GDestroyNotify) _post_transient_send_item_free);
  g_queue_clear_full (&self->control, (GDestroyNotify) _post_transient_send_item_free);
  while ((u = g_queue_pop_head (&self->unacked)) != NULL)
    {
      g_object_unref (u->message);
      g_free (u);
    }
  while ((task = g_queue_pop_head (&self->flushes)) != NULL)
    g_object_unref (task);
  g_queue_clear_full (&self->unsent, (GDestroyNotify) _post_transient_unsent_free);
  g_clear_pointer (&self->inbuf, g_byte_array_unref);
  g_clear_pointer (&self->scratch_header, g_byte_array_unref);
  g_clear_pointer (&self->scratch_trailer, g_byte_array_unref);
  g_clear_pointer (&self->assembly, g_byte_array_unref);
  g_clear_object (&self->handle);
  g_clear_object (&self->spare_message);
  g_clear_object (&self->assembly_from);
  g_clear_pointer (&self->assembly_metadata, g_variant_unref);
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
  self->datagrams = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, _post_transient_datagram_free);
  self->inbuf = g_byte_array_new ();
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

  if (self->psi != NULL || self->stream_mode || limit == 0
      || self->current != NULL || !g_queue_is_empty (&self->early))
    return NULL;

  framer = post_configuration_create_framer (self->configuration);
  if (framer == NULL)
    return NULL;
  out = g_byte_array_new ();
  for (guint i = 0; i < self->levels->len; i++)
    {
      SendLevel *level = self->levels->pdata[i];
      SendItem *item;

      while ((item = g_queue_peek_head (&level->items)) != NULL)
        {
          guint start = out->len;
          gsize size;

          /* (a coalesced item has no payload of its own: not eligible) */
          if (!early_eligible (item, now))
            goto done;
          size = g_bytes_get_size (item->payload);
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
      g_queue_push_head (&_post_transient_get_level (self, item->niceness)->items, item);
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
  _post_transient_fail_transport (self, g_error_new (POST_ERROR, POST_ERROR_TIMED_OUT,
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

  g_return_if_fail (self->psi == NULL);

  self->psi = g_object_ref (psi);
  g_set_object (&self->path, path);
  /* Framing chosen by the negotiated ALPN (PostHttpClient: HTTP/1.1 on
   * tls and tcp, stream framing for HTTP/3 on quic) */
  {
    g_autoptr(PostConfiguration) by_alpn =
      _post_configuration_for_alpn (self->configuration, post_psi_get_negotiated_protocol (psi));

    if (by_alpn != NULL)
      {
        g_set_object (&self->configuration, by_alpn);
        self->stream_mode = post_configuration_get_framing (by_alpn) == POST_FRAMING_STREAM;
      }
  }
  self->caps = _post_selection_effective_capabilities (stack, self->configuration);
  self->byte_stream = post_stack_has_capabilities (stack, POST_STACK_CAP_BYTE_STREAM);
  g_clear_object (&self->framer);
  /* The length-prefix framer alone, or the stack of the configuration's
   * framers (post-framer-stack.c), which acts on their replacements. */
  if (self->byte_stream && !self->stream_mode)
    self->framer = post_configuration_create_framer (self->configuration);
  /* libpost's own framing has control frames (forks without streams);
   * stream mode and other framers are what a foreign peer may speak. */
  self->control_frames = self->framer != NULL && POST_IS_LENGTH_PREFIX_FRAMER (self->framer);
  /* A framer that speaks first (a WebSocket client's handshake) does so
   * now, before the messages queued while establishing. */
  if (self->framer != NULL && !self->control_frames)
    {
      _post_framer_start (self->framer, !_post_carrier_is_passive (self->carrier));
      _post_transient_take_framer_raw (self);
    }
  if (!self->byte_stream)
    self->stream_mode = FALSE;
  self->psi_parts = !self->byte_stream && post_psi_can_send_parts (psi);
  self->send_batch = !self->byte_stream && POST_PSI_GET_CLASS (psi)->send_messages != NULL
                     ? SEND_BATCH_MAX : 1;
  /* Early data the winner took is its to deliver (0-RTT, or resent right
   * after the handshake): those messages are sent. */
  if (!g_queue_is_empty (&self->early) && post_psi_get_early_data (psi) == NULL)
    _post_transient_return_early_data (self);
  _post_transient_reframe_queue (self);
  {
    SendItem *item;

    g_object_ref (self);
    while (!self->ended && (item = g_queue_pop_head (&self->early)) != NULL)
      {
        self->bytes_sent += item->total;
        self->total_written += item->total;
        item->written = item->total;
        _post_transient_item_written (self, item);
      }
    g_object_unref (self);
  }

  _post_psi_set_core_funcs (psi, &psi_funcs, self);
  /* An accepted peer has until the stack's deadline to complete a first
   * message (post_psi_set_first_message_deadline()), unless this end only
   * sends and so waits for nothing. */
  if (post_psi_get_first_message_deadline (psi) > 0 && !post_psi_has_first_message (psi)
      && (post_psi_get_configuration (psi) == NULL
          || post_configuration_get_direction (post_psi_get_configuration (psi))
             != POST_DIRECTION_UNIDIRECTIONAL_SEND))
    {
      gint64 left = post_psi_get_first_message_deadline (psi) - g_get_monotonic_time ();

      _post_source_clear (&self->first_message_timer);
      self->first_message_timer = g_timeout_source_new ((guint) CLAMP ((left + 999) / 1000, 0, G_MAXUINT));
      g_source_set_callback (self->first_message_timer, first_message_timeout_cb, self, NULL);
      g_source_set_static_name (self->first_message_timer, "[libpost] first-message timeout");
      g_source_attach (self->first_message_timer, self->context);
    }
  /* The path's measurements are read when asked for (get_paths) and when
   * the transient ends, not on every establishment. */

  /* Queued messages go out from the main loop, after the carrier's
   * establishment callbacks (nothing to do, no idle, when none are). */
  if (self->current != NULL || _post_transient_lowest_unwritten_seq (self) != G_MAXUINT64
      || !g_queue_is_empty (&self->flushes))
    _post_transient_schedule_write (self);
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

      _post_transient_drop_partial (from, from->open_partial, error, FALSE);
    }
  /* Control frames belong to their transport: they do not move. */
  {
    SendItem *item;

    while ((item = g_queue_pop_head (&from->control)) != NULL)
      {
        from->queued_bytes -= MIN (from->queued_bytes, item->total);
        from->queued_items -= MIN (from->queued_items, 1);
        _post_transient_send_item_free (item);
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
          g_queue_push_tail (&_post_transient_get_level (self, item->niceness)->items, item);
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

/* Queues @bytes as they are, between messages, before the application's
 * messages (as control frames go): a control frame, what a framer sends
 * on its own (post_framer_send_raw()). */
gboolean
_post_transient_send_unframed (PostTransient *self,
                               GBytes        *bytes)
{
  SendItem *item;

  if (self->ended || self->send_shut)
    return FALSE;
  item = g_new0 (SendItem, 1);
  item->seq = self->next_seq++;
  item->control = TRUE;
  item->end_of_message = TRUE;
  item->payload = g_bytes_ref (bytes);
  item->total = g_bytes_get_size (bytes);
  g_queue_push_tail (&self->control, item);
  self->queued_bytes += item->total;
  self->queued_items++;
  _post_transient_schedule_write (self);
  return TRUE;
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
  g_autoptr(GBytes) bytes = NULL;

  if (!_post_transient_speaks_control (self))
    return FALSE;
  frame = g_byte_array_sized_new (POST_LENGTH_PREFIX_CONTROL_HEADER + body_length);
  _post_length_prefix_encode_control (frame, type, flags, body, body_length);
  bytes = g_byte_array_free_to_bytes (g_steal_pointer (&frame));
  return _post_transient_send_unframed (self, bytes);
}

/* Queues what the framer asked to write as it is (post_framer_send_raw()):
 * like a control frame, before the messages and between two of them. */
void
_post_transient_take_framer_raw (PostTransient *self)
{
  g_autoptr(GBytes) raw = NULL;

  if (self->framer == NULL || self->control_frames
      || (raw = _post_framer_take_raw (self->framer)) == NULL)
    return;
  _post_transient_send_unframed (self, raw);
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
    _post_transient_fail_item (self, g_steal_pointer (&self->current), error);
  _post_transient_fail_datagrams (self, error);
  _post_transient_fail_unsent (self, error);
  _post_transient_return_early_data (self);
  while ((item = g_queue_pop_head (&self->control)) != NULL)
    _post_transient_fail_item (self, item, error);
  for (guint i = 0; i < self->levels->len; i++)
    {
      SendLevel *level = self->levels->pdata[i];

      while ((item = g_queue_pop_head (&level->items)) != NULL)
        _post_transient_fail_item (self, item, error);
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

void
_post_transient_end (PostTransient *self,
                     const GError  *error,
                     gboolean       peer_closed)
{
  g_autoptr(GError) closed_error = NULL;

  if (self->ended)
    return;
  self->ended = TRUE;

  g_object_ref (self);
  _post_source_clear (&self->write_idle);
  _post_source_clear (&self->expiry_timer);
  _post_source_clear (&self->linger_timer);
  _post_source_clear (&self->first_message_timer);
  _post_source_clear (&self->drain_timer);
  if (self->psi != NULL)
    {
      if (self->path != NULL)
        post_psi_update_path (self->psi, self->path);
      _post_transient_check_sent (self);
      if (!g_queue_is_empty (&self->unacked))
        _post_transient_check_acked (self);
      _post_source_clear (&self->ack_timer);
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
        _post_transient_fail_item (self, g_steal_pointer (&self->current), error);
      _post_transient_fail_datagrams (self, error ? error : closed_error);
      _post_transient_fail_unsent (self, error ? error : closed_error);
    }
  else
    _post_transient_fail_queue (self, error ? error : closed_error);

  /* What was fully received stays receivable: the carrier keeps its inbox. */
  _post_carrier_transient_ended (self->carrier, self, error, peer_closed);
  g_object_unref (self);
}

gboolean
_post_transient_linger_timeout_cb (gpointer data)
{
  PostTransient *self = data;

  g_clear_pointer (&self->linger_timer, g_source_unref);
  _post_transient_end (self, NULL, FALSE);
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
      _post_transient_end (self, NULL, FALSE);
      return;
    }
  /* Drain first: _post_transient_write_some() calls us again when the queue is empty. */
  if (self->current != NULL || _post_transient_lowest_unwritten_seq (self) != G_MAXUINT64)
    {
      _post_transient_write_some (self);
      return;
    }
  /* ... and the datagram events, once the stack told each one's fate. */
  if (_post_transient_has_unsent_datagrams (self))
    return;
  if (!self->send_shut)
    {
      g_autoptr(GError) error = NULL;

      self->send_shut = TRUE;
      if (self->byte_stream && !post_psi_shutdown_send (self->psi, &error))
        {
          _post_transient_end (self, NULL, FALSE);
          return;
        }
      if (!self->byte_stream)
        {
          /* Message stacks have no orderly end to wait for. */
          _post_transient_end (self, NULL, FALSE);
          return;
        }
    }
  if (self->input_done || self->input_eof)
    {
      _post_transient_end_when_drained (self, FALSE);
      return;
    }
  /* Wait, bounded, for the peer to end its direction, so that unread data
   * does not turn the close into a reset. */
  _post_transient_start_linger (self);
  _post_transient_pump_receive (self);
}

void
_post_transient_abort (PostTransient *self,
                       const GError  *error)
{
  g_autoptr(GError) aborted = NULL;

  if (error == NULL)
    error = aborted = g_error_new_literal (POST_ERROR, POST_ERROR_CLOSED, "The carrier was aborted");
  _post_transient_end (self, error, FALSE);
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
