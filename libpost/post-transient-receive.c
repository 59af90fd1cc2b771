/* post-transient-receive.c: PostTransient: reading, decoding and delivering received messages
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "post-transient-private.h"

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
  _post_message_release_received (&self->spare_message, g_steal_pointer (&self->handle));
  g_clear_object (&self->assembly_from);
  g_clear_pointer (&self->assembly_metadata, g_variant_unref);
}

static PostMessage *
ensure_handle (PostTransient *self,
               GBytes        *data,
               gboolean       complete)
{
  if (self->handle == NULL)
    self->handle = _post_message_new_received_reusing (&self->spare_message, data, complete,
                                                       self->recv_seq, self->assembly_from);
  else
    _post_message_set_received_part (self->handle, data, complete);
  /* What the framer decoded so far (trailer fields may come later) */
  if (self->assembly_metadata != NULL)
    _post_message_set_received_metadata (self->handle, self->assembly_metadata);
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
  PostMessage *handle;

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
  /* What the application did not keep is reused for the next message. */
  _post_message_release_received (&self->spare_message, handle);
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
          _post_transient_first_message_done (self);
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
          _post_transient_first_message_done (self);
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
              _post_transient_fail_transport (self, wrapped);
            }
          else
            _post_transient_fail_transport (self, g_steal_pointer (&error));
          return FALSE;
        }
      _post_transient_take_framer_raw (self);
      if (chunk.consumed == 0 && chunk.payload_length == 0 && !chunk.message_start
          && !chunk.message_end && chunk.metadata == NULL)
        {
          if (self->input_eof && size == 0)
            self->input_done = TRUE;
          return FALSE;
        }
      if (chunk.metadata != NULL)
        {
          /* For the message open or the next one (a framer that decodes
           * metadata ahead of its message start); entries decoded later in
           * a message are added to it. */
          GVariant *merged = _post_framer_merge_metadata (self->assembly_metadata, chunk.metadata);

          g_clear_pointer (&self->assembly_metadata, g_variant_unref);
          g_clear_pointer (&chunk.metadata, g_variant_unref);
          self->assembly_metadata = merged;
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
        g_byte_array_append (self->assembly,
                             chunk.payload_data != NULL ? chunk.payload_data
                                                        : data + chunk.payload_offset,
                             chunk.payload_length);
      if (chunk.message_end)
        {
          self->assembly_end = TRUE;
          _post_transient_first_message_done (self);
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
/* The thread's buffer for reads into no pending input (read_some()), or
 * NULL while it is in use (a stack reading through another transient of
 * the thread within its read) */
typedef struct {
  guint8 data[READ_CHUNK];
  gboolean busy;
} ReadScratch;

static GPrivate read_scratch_key = G_PRIVATE_INIT (g_free);

static guint8 *
take_read_scratch (void)
{
  ReadScratch *scratch = g_private_get (&read_scratch_key);

  if (scratch == NULL)
    {
      scratch = g_new (ReadScratch, 1);
      scratch->busy = FALSE;
      g_private_set (&read_scratch_key, scratch);
    }
  if (scratch->busy)
    return NULL;
  scratch->busy = TRUE;
  return scratch->data;
}

static void
release_read_scratch (guint8 *data)
{
  ReadScratch *scratch = g_private_get (&read_scratch_key);

  g_assert (scratch != NULL && scratch->data == data);
  scratch->busy = FALSE;
}

static int
read_some (PostTransient *self)
{
  g_autoptr(GError) error = NULL;

  if (self->psi_parts)
    {
      g_autoptr(GSocketAddress) from = NULL;
      gboolean end = FALSE;
      g_autoptr(GBytes) part = post_psi_receive_message_part (self->psi, &from, &end, &error);
      gsize size;

      if (part == NULL)
        {
          if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
            {
              self->readable = FALSE;
              return 0;
            }
          if (error == NULL && self->assembly_started && !self->assembly_end)
            error = g_error_new_literal (POST_ERROR, POST_ERROR_TRUNCATED,
                                         "The peer's input ended in the middle of a message");
          if (error == NULL)
            {
              self->input_eof = TRUE;
              self->input_done = TRUE;
              return 1;
            }
          /* What arrived of an unfinished message is never delivered as
           * a message: the transport fails. */
          _post_transient_fail_transport (self, g_steal_pointer (&error));
          return -1;
        }
      size = g_bytes_get_size (part);
      self->bytes_received += size;
      if (!self->assembly_started)
        {
          self->recv_seq++;
          self->assembly_started = TRUE;
          g_set_object (&self->assembly_from, from);
        }
      if (self->discarding)
        {
          /* The rest of a message too large for a complete receive. */
          if (end)
            {
              self->discarding = FALSE;
              reset_assembly (self);
            }
          return 1;
        }
      g_byte_array_append (self->assembly, g_bytes_get_data (part, NULL), size);
      if (end)
        {
          self->assembly_end = TRUE;
          _post_transient_first_message_done (self);
        }
      return 1;
    }
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
          _post_transient_fail_transport (self, g_steal_pointer (&error));
          return -1;
        }
      self->bytes_received += g_bytes_get_size (message);
      self->recv_seq++;
      self->assembly_started = TRUE;
      self->assembly_end = TRUE;
      _post_transient_first_message_done (self);
      g_byte_array_append (self->assembly, g_bytes_get_data (message, NULL),
                           g_bytes_get_size (message));
      g_set_object (&self->assembly_from, from);
      return 1;
    }
  else
    {
      gsize used;
      gssize n;
      guint8 *scratch = NULL;

      if (self->inbuf_start > 0 && (self->inbuf_start == self->inbuf->len
                                    || self->inbuf_start > self->inbuf->len / 2))
        {
          g_byte_array_remove_range (self->inbuf, 0, self->inbuf_start);
          self->inbuf_start = 0;
        }
      used = self->inbuf->len;
      /* Nothing pending and no stream in full flow (an idle carrier, a
       * request, a ping-pong): read into the thread's scratch buffer and
       * keep only what arrived, so that a carrier does not hold READ_CHUNK
       * of heap for good once it has read (GByteArray never shrinks) —
       * 64 KiB per idle carrier at 10,000 carriers.  In full flow, or with
       * a partial frame pending, read in place, without a copy. */
      if (used == 0 && !self->streaming)
        scratch = take_read_scratch ();
      if (scratch != NULL)
        {
          if (self->inbuf_big)
            {
              g_byte_array_unref (self->inbuf);
              self->inbuf = g_byte_array_new ();
              self->inbuf_big = FALSE;
            }
          n = post_psi_read (self->psi, scratch, READ_CHUNK, &error);
          if (n > 0)
            g_byte_array_append (self->inbuf, scratch, n);
          release_read_scratch (scratch);
        }
      else
        {
          g_byte_array_set_size (self->inbuf, used + READ_CHUNK);
          self->inbuf_big = TRUE;
          n = post_psi_read (self->psi, self->inbuf->data + used, READ_CHUNK, &error);
          g_byte_array_set_size (self->inbuf, used + MAX (n, 0));
        }
      self->streaming = n == READ_CHUNK;
      if (n < 0)
        {
          if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
            {
              self->readable = FALSE;
              return 0;
            }
          _post_transient_fail_transport (self, g_steal_pointer (&error));
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

void
_post_transient_start_linger (PostTransient *self)
{
  if (self->linger_timer != NULL)
    return;
  self->linger_timer = g_timeout_source_new (CLOSE_LINGER_MS);
  g_source_set_callback (self->linger_timer, _post_transient_linger_timeout_cb, self, NULL);
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
  _post_transient_end (self, NULL, self->drain_peer_closed);
  return G_SOURCE_REMOVE;
}

/* Both directions are over.  A stack that keeps what was written in user
 * space (QUIC) may still have it unacknowledged: the transient ends (and
 * the carrier reports closed, after which an application may well exit)
 * only once it has reached the peer, or CLOSE_LINGER_MS passed. */
void
_post_transient_end_when_drained (PostTransient *self,
                                  gboolean       peer_closed)
{
  if (self->ended || self->drain_timer != NULL)
    return;
  if (!self->send_shut || self->psi == NULL || post_psi_is_send_complete (self->psi))
    {
      _post_transient_end (self, NULL, peer_closed);
      return;
    }
  self->drain_peer_closed = peer_closed;
  self->drain_timer = g_timeout_source_new (ACK_POLL_MS);
  g_source_set_callback (self->drain_timer, drain_timer_cb, self, NULL);
  g_source_set_static_name (self->drain_timer, "[libpost] close drain");
  g_source_attach (self->drain_timer, self->context);
  _post_transient_start_linger (self);
}

static void
input_finished (PostTransient *self)
{
  /* The peer ended its direction and everything it sent was decoded. */
  if (self->ended)
    return;
  if (self->closing || self->send_shut || !self->stream_mode)
    _post_transient_end_when_drained (self, !self->closing);
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
    _post_transient_update_interest (self);
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

void
_post_transient_update_interest (PostTransient *self)
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

void
_post_transient_psi_ready_cb (PostPsi       *psi,
                              GIOCondition   condition,
                              gpointer       user_data)
{
  PostTransient *self = user_data;

  g_object_ref (self);
  if (condition & G_IO_OUT)
    {
      self->want_write = FALSE;
      _post_transient_write_some (self);
    }
  if ((condition & (G_IO_IN | G_IO_HUP | G_IO_ERR)) && !self->ended)
    {
      self->readable = TRUE;
      _post_transient_pump_receive (self);
    }
  g_object_unref (self);
}

void
_post_transient_psi_soft_error_cb (PostPsi       *psi,
                                   const GError  *error,
                                   gpointer       user_data)
{
  PostTransient *self = user_data;

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

void
_post_transient_psi_path_changed_cb (PostPsi       *psi,
                                     gpointer       user_data)
{
  PostTransient *self = user_data;

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

void
_post_transient_reframe_queue (PostTransient *self)
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
              /* Split the coalesced buffer back into its messages, from
               * where their payloads lie: it was framed by the previous
               * transient's framer instance, which may be any framer (or
               * a stack of them), so it is not decoded here. */
              g_queue_delete_link (&level->items, l);
              for (guint s = 0; s < item->spans->len; s++)
                {
                  const CoalescedSpan *span = &g_array_index (item->spans, CoalescedSpan, s);
                  g_autoptr(GBytes) content = g_bytes_new (item->coalesced->data + span->offset,
                                                           span->length);
                  SendItem *one;

                  if (!_post_transient_refuse_empty (self, content, FALSE, NULL))
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
                  _post_transient_frame_item (self, one, NULL);
                  self->queued_bytes += one->total;
                  self->queued_items++;
                  if (next != NULL)
                    g_queue_insert_before (&level->items, next, one);
                  else
                    g_queue_push_tail (&level->items, one);
                }
              self->queued_items -= MIN (self->queued_items, 1);
              _post_transient_send_item_free (item);
            }
          else if (!_post_transient_refuse_empty (self, item->payload, item->part, &error)
                   || !_post_transient_frame_item (self, item, &error))
            {
              g_queue_delete_link (&level->items, l);
              self->queued_bytes += item->total;   /* _post_transient_fail_item() takes it off */
              _post_transient_fail_item (self, item, error);
            }
          else
            self->queued_bytes += item->total;
          l = next;
        }
    }
}
