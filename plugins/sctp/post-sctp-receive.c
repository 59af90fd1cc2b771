/* post-sctp-receive.c: the sctp stack's receive path: the dispatch that
 * reads an association's messages and notifications from usrsctp, hands
 * messages to its streams (a stream nobody has is the peer's fork),
 * announces an accepted association, and wakes the core
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * See post-sctp-psi.c for the stack as a whole.
 */
#include "post-sctp-private.h"

void
sctp_piece_free (Piece *piece)
{
  g_bytes_unref (piece->bytes);
  g_free (piece);
}

static void
notify_ready (PostSctpPsi  *self,
              GIOCondition  condition)
{
  g_object_ref (self);
  post_psi_notify_ready (POST_PSI (self), condition);
  g_object_unref (self);
}

/* ---- the dispatch ----------------------------------------------------------- */

static gboolean assoc_dispatch_cb (gpointer user_data);

void
sctp_assoc_schedule (SctpAssoc *assoc)
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

/* Reads what waits in usrsctp now (not from an idle). */
void
sctp_assoc_dispatch_now (SctpAssoc *assoc)
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
  sctp_assoc_attach (assoc, POST_SCTP_PSI (child), sid);
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
  g_autofree char *where = sctp_format_address (assoc->flow->remote);

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
              sctp_assoc_connect_done (assoc, NULL);
            }
          break;
        case SCTP_COMM_LOST:
          if (assoc->state == ASSOC_CLOSING)
            sctp_assoc_closing_done (assoc);
          /* As the tcp stack does: an association we opened that the peer
           * aborts before sending a single message was refused (what a
           * listener whose application accepts nobody does). */
          if (assoc->state == ASSOC_CONNECTING || (assoc->initiator && !assoc->received_any))
            sctp_assoc_end (assoc, g_error_new (POST_ERROR, POST_ERROR_CONNECTION_REFUSED,
                                                "The SCTP association with %s was refused (the peer aborted it "
                                                "before sending anything)", where));
          /* Nothing from the peer for a while: retransmissions or
           * heartbeats went unanswered (an ABORT would have just arrived). */
          else if (g_get_monotonic_time () - assoc->flow->last_rx >= LOST_SILENCE_US)
            sctp_assoc_end (assoc, g_error_new (POST_ERROR, POST_ERROR_TIMED_OUT,
                                                "The SCTP association with %s was lost: the peer stopped "
                                                "answering (%" G_GINT64_FORMAT " ms without a packet)", where,
                                                (g_get_monotonic_time () - assoc->flow->last_rx) / 1000));
          else
            sctp_assoc_end (assoc, g_error_new (POST_ERROR, POST_ERROR_CONNECTION_RESET,
                                                "The SCTP association with %s was aborted by the peer", where));
          break;
        case SCTP_CANT_STR_ASSOC:
          sctp_assoc_end (assoc, g_error_new (POST_ERROR, POST_ERROR_CONNECTION_REFUSED,
                                              "SCTP over UDP to %s: no association (the peer refused it "
                                              "or did not answer)", where));
          break;
        case SCTP_SHUTDOWN_COMP:
          sctp_assoc_closing_done (assoc);
          sctp_assoc_end (assoc, NULL);
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
          sctp_stream_wake (psi);
        }
      break;
    case SCTP_SHUTDOWN_EVENT:
      /* The peer ends the association: every stream's input ends. */
      assoc->peer_shutdown = TRUE;
      {
        g_autoptr(GPtrArray) streams = sctp_assoc_streams (assoc);

        for (guint i = 0; i < streams->len; i++)
          {
            ((PostSctpPsi *) streams->pdata[i])->eof = TRUE;
            sctp_stream_wake (streams->pdata[i]);
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
                  sctp_stream_wake (psi);
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
            sctp_tracked_remove (assoc, t);
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
          sctp_tracked_remove (assoc, t);
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

  /* The reference sctp_listener_accept_all() left goes with the announcement
   * (the dispatch holds one meanwhile). */
  sctp_assoc_unref (assoc);
  if (listener->closed || !listener->accepting)
    {
      sctp_assoc_fail (assoc, g_error_new_literal (POST_ERROR, POST_ERROR_CLOSED, "The listener closed"));
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
      sctp_assoc_fail (assoc, g_error_new_literal (POST_ERROR, POST_ERROR_CLOSED, "No SCTP instance"));
      return;
    }
  sctp_assoc_attach (assoc, POST_SCTP_PSI (child), 0);
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
  SctpAssoc *assoc = sctp_assoc_ref (user_data);
  g_autoptr(GHashTable) woken = g_hash_table_new_full (NULL, NULL, g_object_unref, NULL);
  g_autoptr(GPtrArray) expired = g_ptr_array_new_with_free_func (g_object_unref);
  int events;

  G_LOCK (sctp_global);
  g_clear_pointer (&assoc->dispatch, g_source_unref);
  G_UNLOCK (sctp_global);

  if (assoc->connect_task != NULL
      && g_cancellable_is_cancelled (g_task_get_cancellable (assoc->connect_task)))
    sctp_assoc_fail (assoc, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
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
            sctp_assoc_closing_done (assoc);
          else
            {
              g_autofree char *where = sctp_format_address (assoc->flow->remote);
              g_autofree char *what = g_strdup_printf ("SCTP association with %s", where);

              sctp_assoc_end (assoc, sctp_errno_error (errsv, what));
            }
          break;
        }
      if (n == 0)
        {
          /* The peer's SHUTDOWN: nothing more will arrive. */
          if (assoc->state == ASSOC_CLOSING)
            sctp_assoc_closing_done (assoc);
          else
            sctp_assoc_end (assoc, NULL);
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
    g_autoptr(GPtrArray) streams = sctp_assoc_streams (assoc);

    g_hash_table_iter_init (&iter, woken);
    while (g_hash_table_iter_next (&iter, &key, NULL))
      sctp_stream_wake (key);
    if ((events & SCTP_EVENT_ERROR)
        || ((events & SCTP_EVENT_WRITE) && !g_atomic_int_get (&assoc->send_blocked)))
      for (guint i = 0; i < streams->len; i++)
        {
          PostSctpPsi *psi = streams->pdata[i];

          if (!psi->closed && (psi->interest & G_IO_OUT) && !sctp_stream_locked_out (psi))
            notify_ready (psi, G_IO_OUT);
        }
  }
  sctp_assoc_unref (assoc);
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
void
sctp_stream_wake (PostSctpPsi *self)
{
  if (self->wake != NULL || self->closed || !(self->interest & G_IO_IN))
    return;
  self->wake = g_idle_source_new ();
  g_source_set_priority (self->wake, G_PRIORITY_DEFAULT);
  g_source_set_callback (self->wake, stream_wake_cb, self, NULL);
  g_source_set_static_name (self->wake, "[post] sctp stream wake");
  g_source_attach (self->wake, self->context);
}

GBytes *
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
        sctp_assoc_schedule (assoc);   /* read what waits in usrsctp */
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
