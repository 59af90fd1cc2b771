/* post-transient-send.c: PostTransient: the send queue, writing and datagrams
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "post-transient-private.h"

/* ---- send queue ---------------------------------------------------------- */

SendLevel *
_post_transient_get_level (PostTransient *self,
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

gboolean
_post_transient_frame_item (PostTransient  *self,
                            SendItem       *item,
                            GError        **error)
{
  GByteArray *header = self->scratch_header;
  GByteArray *trailer = self->scratch_trailer;
  gsize length = item->payload ? g_bytes_get_size (item->payload) : 0;
  gboolean framed;

  item->header_len = 0;
  g_clear_pointer (&item->trailer, g_byte_array_unref);
  item->total = length;
  if (!self->byte_stream || self->framer == NULL)
    return TRUE;

  g_byte_array_set_size (header, 0);
  g_byte_array_set_size (trailer, 0);
  framed = post_framer_encode (self->framer, item->message, length, item->end_of_message,
                               header, trailer, error);
  _post_transient_take_framer_raw (self);
  if (!framed)
    return FALSE;
  if (header->len > sizeof item->header || _post_framer_transforms_payload (self->framer))
    {
      /* Unusually large header: keep it in front of the payload.  A framer
       * that rewrites the payload (masks it) gets a copy, never the
       * application's bytes. */
      g_autoptr(GByteArray) joined = g_byte_array_sized_new (header->len + length);

      g_byte_array_append (joined, header->data, header->len);
      if (length > 0)
        {
          g_byte_array_append (joined, g_bytes_get_data (item->payload, NULL), length);
          _post_framer_transform_payload (self->framer, joined->data + header->len, length);
        }
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

void
_post_transient_schedule_write (PostTransient *self);

static gboolean
write_idle_cb (gpointer data)
{
  PostTransient *self = data;

  g_clear_pointer (&self->write_idle, g_source_unref);
  g_object_ref (self);
  _post_transient_write_some (self);
  g_object_unref (self);
  return G_SOURCE_REMOVE;
}

void
_post_transient_schedule_write (PostTransient *self)
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

  level = _post_transient_get_level (self, 0);
  tail = g_queue_peek_tail (&level->items);
  if (tail == NULL || tail->coalesced == NULL || tail->coalesced->len + size + 16 > COALESCE_MAX)
    {
      tail = g_new0 (SendItem, 1);
      tail->seq = self->next_seq++;
      tail->coalesced = g_byte_array_sized_new (MIN (COALESCE_MAX, 4096));
      tail->spans = g_array_new (FALSE, FALSE, sizeof (CoalescedSpan));
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
  _post_transient_take_framer_raw (self);
  g_byte_array_append (tail->coalesced, header->data, header->len);
  {
    CoalescedSpan span = { tail->coalesced->len, size };

    g_array_append_val (tail->spans, span);
  }
  g_byte_array_append (tail->coalesced, g_bytes_get_data (content, NULL), size);
  if (size > 0 && _post_framer_transforms_payload (self->framer))
    _post_framer_transform_payload (self->framer, tail->coalesced->data + tail->coalesced->len - size,
                                    size);
  if (trailer->len > 0)
    g_byte_array_append (tail->coalesced, trailer->data, trailer->len);
  tail->total = tail->coalesced->len;
  self->queued_bytes += header->len + size + trailer->len;
  return TRUE;
}

/* Drops a message sent in parts: what was gathered of it, and its parts
 * still queued, which fail with @error; the parts queued later fail at once
 * (failed_partial) unless @ended (the part that failed was its last). */
void
_post_transient_drop_partial (PostTransient *self,
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
              _post_transient_fail_item (self, item, error);
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
  if (self->psi != NULL && !self->byte_stream && !self->psi_parts
      && (max = post_psi_get_max_message_size (self->psi)) > 0
      && self->enqueue_partial_size > max)
    {
      GError *too_large = partial_too_large (self, self->enqueue_partial_size, max);

      _post_transient_drop_partial (self, message, too_large, end_of_message);
      g_propagate_error (error, too_large);
      return FALSE;
    }
  if (end_of_message)
    g_clear_object (&self->enqueue_partial);
  return TRUE;
}

/* A message stack that does not deliver empty messages
 * (POST_STACK_CAP_EMPTY_MESSAGES): an empty one fails, it does not vanish. */
gboolean
_post_transient_refuse_empty (PostTransient  *self,
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

  if (self->psi != NULL && !_post_transient_refuse_empty (self, content, part, error))
    return FALSE;

  /* Anonymous small messages: copy into the coalescing buffer. */
  if (message == NULL && task == NULL && destination == NULL && end_of_message && !part
      && !self->stream_mode && try_coalesce (self, content))
    {
      _post_transient_schedule_write (self);
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
  if (!_post_transient_frame_item (self, item, error))
    {
      _post_transient_send_item_free (item);
      return FALSE;
    }

  g_queue_push_tail (&_post_transient_get_level (self, item->niceness)->items, item);
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
      _post_transient_update_interest (self);
    }

  if (message != NULL && post_message_get_immediate (message) && self->psi != NULL)
    _post_transient_write_some (self);
  else
    _post_transient_schedule_write (self);
  return TRUE;
}

gsize
_post_transient_get_queued_bytes (PostTransient *self)
{
  return self->queued_bytes;
}

guint64
_post_transient_lowest_unwritten_seq (PostTransient *self)
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
  lowest = _post_transient_lowest_unwritten_seq (self);
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

/* After items left the queue other than by being written. */
static void
queue_shrunk (PostTransient *self)
{
  check_flushes (self);
  _post_transient_check_overcommit (self);
  if (self->psi != NULL && self->closing)
    _post_transient_schedule_write (self);   /* _post_transient_write_some() goes on closing once it is empty */
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
              _post_transient_send_item_free (item);
            }
          else
            _post_transient_fail_item (self, item, error);
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

void
_post_transient_fail_item (PostTransient *self,
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
  _post_transient_send_item_free (item);
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
                  _post_transient_fail_item (self, item, error);
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
                  _post_transient_fail_item (self, item, error);
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
  g_queue_push_head (&_post_transient_get_level (self, item->niceness)->items, item);
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
void
_post_transient_check_sent (PostTransient *self)
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
      _post_transient_unsent_free (u);
      /* Successors of what is sent now may go. */
      moved = TRUE;
    }
  if (moved && !self->ended && _post_transient_lowest_unwritten_seq (self) != G_MAXUINT64)
    _post_transient_schedule_write (self);
  g_object_unref (self);
}

void
_post_transient_psi_sent_cb (PostPsi       *psi,
                             gpointer       user_data)
{
  PostTransient *self = user_data;

  _post_transient_check_sent (self);
}

/* A message stack abandoned a message it took (PR-SCTP's lifetime
 * passed before the peer acknowledged it): it is expired, after its sent. */
void
_post_transient_psi_message_expired_cb (PostPsi       *psi,
                                        PostMessage   *message,
                                        gpointer       user_data)
{
  PostTransient *self = user_data;

  if (self->carrier == NULL || post_message_is_expired (message))
    return;
  _post_carrier_emit_expired (self->carrier, message);
}

/* Written, not sent: the transport ended first. */
void
_post_transient_fail_unsent (PostTransient *self,
                             const GError  *error)
{
  Unsent *u;

  while ((u = g_queue_pop_head (&self->unsent)) != NULL)
    {
      if (u->message != NULL)
        _post_carrier_emit_send_error (self->carrier, u->message, error);
      if (u->task != NULL)
        g_task_return_error (u->task, g_error_copy (error));   /* unref'd with u */
      _post_transient_unsent_free (u);
    }
}

void
_post_transient_item_written (PostTransient *self,
                              SendItem      *item)
{
  PostMessage *message = item->message != NULL && item->end_of_message ? item->message : NULL;
  guint64 sent = self->byte_stream && self->psi != NULL ? post_psi_get_sent_offset (self->psi)
                                                        : POST_PSI_ACKED_UNKNOWN;

  self->queued_items -= MIN (self->queued_items, 1);

  if ((message != NULL || item->task != NULL) && sent != POST_PSI_ACKED_UNKNOWN
      && (sent < self->total_written || !g_queue_is_empty (&self->unsent)))
    {
      /* The stack holds it: sent once it leaves (_post_transient_check_sent()). */
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
  _post_transient_send_item_free (item);
}

gboolean
_post_transient_check_acked (PostTransient *self)
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
  again = _post_transient_check_acked (self);
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
              _post_transient_fail_item (self, item, error);
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
    _post_transient_schedule_write (self);
  _post_transient_check_overcommit (self);
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
  _post_source_clear (&self->expiry_timer);
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

void
_post_transient_fail_transport (PostTransient *self,
                                GError        *error)
{
  _post_transient_end (self, error, FALSE);
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

      _post_transient_fail_item (self, item, error);
      _post_transient_drop_partial (self, message, error, ended);
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
      _post_transient_send_item_free (item);
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

/* A PSI that takes messages in parts: @item's bytes (what is left of
 * them) go to it as they are, with the item's end-of-message flag.
 * Returns FALSE when writing stops: the PSI took less than all (the item
 * stays `current`, its message open there) or none. */
static gboolean
write_part (PostTransient *self,
            SendItem      *item)
{
  g_autoptr(GError) error = NULL;
  const guint8 *data = g_bytes_get_data (item->payload, NULL);
  gsize left = item->total - item->written;
  gssize n;

  n = post_psi_send_message_part (self->psi, data != NULL ? data + item->written : NULL, left,
                                  item->message, item->end_of_message, &error);
  if (n < 0)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        {
          if (item->written > 0)
            self->current = item;
          else
            push_back (self, item);
          self->want_write = TRUE;
          return FALSE;
        }
      /* Refused: the message fails alone (all of it, when it was sent in
       * parts: its later parts cannot go without this one). */
      if (item->part && item->message != NULL)
        {
          g_autoptr(PostMessage) message = g_object_ref (item->message);
          gboolean ended = item->end_of_message;

          _post_transient_fail_item (self, item, error);
          _post_transient_drop_partial (self, message, error, ended);
        }
      else
        _post_transient_fail_item (self, item, error);
      return TRUE;
    }
  n = MIN ((gsize) n, left);
  item->written += n;
  self->bytes_sent += n;
  self->total_written += n;
  self->queued_bytes -= MIN (self->queued_bytes, (gsize) n);
  if (item->written < item->total)
    {
      self->current = item;
      self->want_write = TRUE;
      return FALSE;
    }
  /* A part that does not end its message completes its send; the message
   * is sent with its last part. */
  _post_transient_item_written (self, item);
  return TRUE;
}

/* Hands @first and what else is queued (up to send_batch messages) to the
 * PSI in one call, so that a stack that can sends them in one system call;
 * each is sent (its event, in order), failed alone or put back.  Returns
 * FALSE when writing stops (the PSI would block, or the transient ended). */
static gboolean
write_batch (PostTransient *self,
             SendItem      *first)
{
  SendItem *items[SEND_BATCH_MAX];
  PostPsiOutMessage out[SEND_BATCH_MAX];
  guint limit = CLAMP (self->send_batch, 1, SEND_BATCH_MAX);
  guint n = 0, done = 0;

  items[n++] = first;
  while (n < limit)
    {
      SendItem *item = pick_next (self);

      if (item == NULL)
        break;
      if (self->psi_parts && item->destination == NULL)
        {
          push_back (self, item);
          break;
        }
      if (item->part && !gather_part (self, item))
        continue;
      items[n++] = item;
    }
  for (guint i = 0; i < n; i++)
    out[i] = (PostPsiOutMessage) { items[i]->payload, items[i]->message, items[i]->destination };

  while (done < n)
    {
      g_autoptr(GError) error = NULL;
      guint taken = 0;

      if (!self->ended && self->psi != NULL)
        taken = post_psi_send_messages (self->psi, out + done, n - done, &error);
      taken = MIN (taken, n - done);
      for (guint i = done; i < done + taken; i++)
        {
          self->bytes_sent += items[i]->total;
          self->total_written += items[i]->total;
          self->queued_bytes -= MIN (self->queued_bytes, items[i]->total);
          _post_transient_item_written (self, items[i]);
        }
      done += taken;
      if (done == n)
        break;
      if (self->ended || self->psi == NULL
          || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK) || error == NULL)
        {
          /* Back to the front of their queues, in their order. */
          for (guint i = n; i-- > done;)
            push_back (self, items[i]);
          self->want_write = !self->ended;
          return FALSE;
        }
      /* A message the stack refuses fails alone; the carrier goes on. */
      _post_transient_fail_item (self, items[done++], error);
    }
  return !self->ended;
}

static void
write_messages (PostTransient *self)
{
  for (;;)
    {
      SendItem *item = self->current ? g_steal_pointer (&self->current) : pick_next (self);

      if (item == NULL)
        {
          self->want_write = FALSE;
          return;
        }
      if (self->psi_parts && item->destination == NULL)
        {
          if (!write_part (self, item) || self->ended)
            return;
          continue;
        }
      if (item->part && !gather_part (self, item))
        continue;
      if (!write_batch (self, item))
        return;
    }
}

/* ---- datagrams ------------------------------------------------------------ */

gboolean
_post_transient_has_unsent_datagrams (PostTransient *self)
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
  _post_transient_send_item_free (item);
  return TRUE;
}

void
_post_transient_psi_datagram_event_cb (PostPsi           *psi,
                                       guint64            id,
                                       PostDatagramEvent  event,
                                       gpointer           user_data)
{
  PostTransient *self = user_data;
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
  if (self->closing && !self->ended && !_post_transient_has_unsent_datagrams (self))
    _post_transient_close (self);
  g_object_unref (self);
}

void
_post_transient_psi_datagram_received_cb (PostPsi       *psi,
                                          GBytes        *content,
                                          gpointer       user_data)
{
  PostTransient *self = user_data;
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
void
_post_transient_fail_datagrams (PostTransient *self,
                                const GError  *error)
{
  g_autoptr(GPtrArray) unsent = g_ptr_array_new_with_free_func (_post_transient_datagram_free);
  GHashTableIter iter;
  Datagram *d;

  g_hash_table_iter_init (&iter, self->datagrams);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &d))
    {
      g_hash_table_iter_steal (&iter);
      if (d->sent)
        _post_transient_datagram_free (d);
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
          _post_transient_fail_transport (self, g_steal_pointer (&error));
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
              _post_transient_item_written (self, it);
              if (self->ended)
                {
                  for (guint j = i + 1; j < n_items; j++)
                    _post_transient_send_item_free (batch[j]);
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
void
_post_transient_check_overcommit (PostTransient *self)
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

void
_post_transient_write_some (PostTransient *self)
{
  if (self->psi == NULL || self->ended)
    return;

  g_object_ref (self);
  _post_source_clear (&self->write_idle);
  if (self->byte_stream)
    write_stream (self);
  else
    write_messages (self);
  if (!self->ended)
    _post_transient_check_sent (self);
  if (!self->ended)
    {
      check_flushes (self);
      _post_transient_check_overcommit (self);
      if (self->closing && self->current == NULL && _post_transient_lowest_unwritten_seq (self) == G_MAXUINT64
          && !_post_transient_has_unsent_datagrams (self))
        _post_transient_close (self);
      _post_transient_update_interest (self);
    }
  g_object_unref (self);
}
