/* post-sctp-send.c: the sctp stack's send path: a message to usrsctp in
 * parts (explicit EOR), one stream's message at a time on an association,
 * and the messages with a PR-SCTP lifetime kept to fire `expired`
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * See post-sctp-psi.c for the stack as a whole.
 */
#include "post-sctp-private.h"

/* ---- messages with a lifetime ---------------------------------------------- */

void
sctp_tracked_free (gpointer data)
{
  Tracked *t = data;

  g_object_unref (t->message);
  g_free (t);
}

void
sctp_tracked_remove (SctpAssoc *assoc,
                     Tracked   *t)
{
  g_queue_delete_link (&assoc->tracked_order, t->link);
  g_hash_table_remove (assoc->tracked, GUINT_TO_POINTER (t->context));
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
  SctpAssoc *assoc = sctp_assoc_ref (user_data);
  gboolean more;

  sctp_assoc_dispatch_now (assoc);
  if (assoc->so != NULL && assoc->state == ASSOC_UP && !g_queue_is_empty (&assoc->tracked_order))
    {
      struct sctp_event event = { .se_assoc_id = SCTP_FUTURE_ASSOC, .se_type = SCTP_SENDER_DRY_EVENT, .se_on = 1 };

      if (usrsctp_setsockopt (assoc->so, IPPROTO_SCTP, SCTP_EVENT, &event, sizeof event) == 0)
        {
          sctp_assoc_dispatch_now (assoc);
          event.se_on = 0;
          if (assoc->so != NULL)
            usrsctp_setsockopt (assoc->so, IPPROTO_SCTP, SCTP_EVENT, &event, sizeof event);
        }
    }
  more = assoc->so != NULL && assoc->state != ASSOC_DEAD && !g_queue_is_empty (&assoc->tracked_order);
  if (!more)
    g_clear_pointer (&assoc->tracked_poll, g_source_unref);
  sctp_assoc_unref (assoc);
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
      sctp_tracked_remove (assoc, old);
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

/* ---- sending ------------------------------------------------------------------ */

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
            sctp_tracked_remove (self->assoc, t);
        }

      if (errsv == EAGAIN || errsv == EWOULDBLOCK)
        {
          g_atomic_int_set (&self->assoc->send_blocked, TRUE);
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK, "The SCTP send buffer is full");
          return -1;
        }
      *error = sctp_errno_error (errsv, "Sending on the SCTP association failed");
      if (self->msg_started)
        {
          /* Part of the message is in usrsctp and the rest cannot follow:
           * it must not arrive as a message (nor anything sent next as its
           * end), so the association goes. */
          sctp_assoc_fail (self->assoc, g_error_copy (*error));
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
void
sctp_stream_message_done (PostSctpPsi *self)
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
          sctp_assoc_schedule (self->assoc);   /* G_IO_OUT for the ones that waited */
        }
    }
}

/* Whether another stream of the association is in the middle of a message
 * (usrsctp refuses, with EINVAL, to send on any other until it ends). */
gboolean
sctp_stream_locked_out (PostSctpPsi *self)
{
  return self->assoc != NULL && self->assoc->open_stream != NULL && self->assoc->open_stream != self;
}

/* Every message goes through here, a whole one as one part: its bytes to
 * usrsctp as they come (explicit EOR), SCTP_EOR with the last.  usrsctp
 * cannot end a message with an empty send, so the last byte of a part that
 * does not end its message is held back and goes with the next part. */
gssize
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

  if (!sctp_stream_check_usable (self, error))
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
  if (sctp_stream_locked_out (self))
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
      sctp_stream_message_done (self);
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
            sctp_stream_message_done (self);   /* nothing of it anywhere yet */
          return -1;
        }
      if ((gsize) n < give)
        return n;
    }
  if (end_of_message)
    sctp_stream_message_done (self);
  else
    {
      self->held = data[size - 1];
      self->has_held = TRUE;
    }
  return size;
}
