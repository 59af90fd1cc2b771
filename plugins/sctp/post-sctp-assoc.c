/* post-sctp-assoc.c: the sctp stack's associations: the options of their
 * usrsctp sockets, their life (references, the streams attached to them)
 * and their end (graceful, aborted, or lost)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * See post-sctp-psi.c for the stack as a whole.
 */
#include "post-sctp-private.h"

/* ---- helpers --------------------------------------------------------------- */

GError *
sctp_errno_error (int         errsv,
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

guint32
sctp_get_uint_option (PostPsi    *psi,
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
  sctp_assoc_schedule (assoc);
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
void
sctp_configure_socket (struct socket *so,
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

guint16
sctp_streams_option (PostPsi *psi)
{
  return (guint16) CLAMP (sctp_get_uint_option (psi, POST_SCTP_OPTION_STREAMS, DEFAULT_STREAMS), 1, 65535);
}

/* ---- associations ------------------------------------------------------------- */

SctpAssoc *
sctp_assoc_ref (SctpAssoc *assoc)
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
assoc_free (SctpAssoc *assoc)
{
  sctp_clear_source (&assoc->dispatch);
  sctp_clear_source (&assoc->close_timer);
  sctp_clear_source (&assoc->tracked_poll);
  assoc_release_socket (assoc, TRUE);
  if (assoc->flow != NULL && assoc->flow->endpoint->client == assoc)
    assoc->flow->endpoint->client = NULL;
  g_clear_pointer (&assoc->flow, sctp_flow_unref);
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

void
sctp_assoc_unref (SctpAssoc *assoc)
{
  if (g_atomic_int_dec_and_test (&assoc->ref))
    assoc_free (assoc);
}

SctpAssoc *
sctp_assoc_new (GMainContext  *context,
                struct socket *so,
                SctpFlow      *flow,
                gboolean       initiator)
{
  SctpAssoc *assoc = g_new0 (SctpAssoc, 1);

  assoc->ref = 1;
  assoc->so = so;
  assoc->flow = sctp_flow_ref (flow);
  assoc->context = g_main_context_ref (context);
  assoc->streams = g_hash_table_new (NULL, NULL);
  assoc->tracked = g_hash_table_new_full (NULL, NULL, NULL, sctp_tracked_free);
  assoc->initiator = initiator;
  /* Stream 0 is the first carrier's; forks take the next of their side. */
  assoc->next_sid = initiator ? 2 : 1;
  assoc->buffer = g_malloc (RECV_BUFFER);
  usrsctp_set_upcall (so, upcall_cb, assoc);
  return assoc;
}

void
sctp_assoc_attach (SctpAssoc   *assoc,
                   PostSctpPsi *psi,
                   guint16      sid)
{
  psi->mode = MODE_STREAM;
  psi->assoc = sctp_assoc_ref (assoc);
  psi->sid = sid;
  psi->attached = TRUE;
  g_hash_table_insert (assoc->streams, GUINT_TO_POINTER (sid), psi);
}

void
sctp_assoc_detach (SctpAssoc   *assoc,
                   PostSctpPsi *psi)
{
  if (psi->attached && g_hash_table_lookup (assoc->streams, GUINT_TO_POINTER (psi->sid)) == psi)
    g_hash_table_remove (assoc->streams, GUINT_TO_POINTER (psi->sid));
  psi->attached = FALSE;
  assoc->buffered -= MIN (assoc->buffered, psi->inbox_bytes);
  psi->inbox_bytes = 0;
}

/* The streams of @assoc, referenced, in a snapshot (handlers may close any). */
GPtrArray *
sctp_assoc_streams (SctpAssoc *assoc)
{
  GPtrArray *streams = g_ptr_array_new_with_free_func (g_object_unref);
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, assoc->streams);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_ptr_array_add (streams, g_object_ref (value));
  return streams;
}

void
sctp_assoc_connect_done (SctpAssoc *assoc,
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
void
sctp_assoc_end (SctpAssoc *assoc,
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
      sctp_assoc_connect_done (assoc, error != NULL ? error
                                                    : g_error_new_literal (POST_ERROR, POST_ERROR_CONNECTION_RESET,
                                                                           "The SCTP association ended during its setup"));
      error = NULL;
    }
  g_clear_error (&error);
  streams = sctp_assoc_streams (assoc);
  for (guint i = 0; i < streams->len; i++)
    {
      PostSctpPsi *psi = streams->pdata[i];

      if (psi->error == NULL && assoc->error != NULL)
        psi->error = g_error_copy (assoc->error);
      psi->eof = TRUE;
      sctp_stream_wake (psi);
    }
}

void
sctp_assoc_fail (SctpAssoc *assoc,
                 GError    *error)
{
  sctp_assoc_ref (assoc);
  sctp_assoc_end (assoc, error);
  assoc_release_socket (assoc, TRUE);
  sctp_assoc_unref (assoc);
}

static gboolean
close_timeout_cb (gpointer user_data)
{
  SctpAssoc *assoc = user_data;

  g_clear_pointer (&assoc->close_timer, g_source_unref);
  g_debug ("sctp: the peer did not complete the shutdown in %u ms: aborting", CLOSE_TIMEOUT_MS);
  assoc->state = ASSOC_DEAD;
  assoc_release_socket (assoc, TRUE);
  sctp_assoc_unref (assoc);   /* the closing reference */
  return G_SOURCE_REMOVE;
}

/* The last stream closed: end the association, gracefully (SHUTDOWN: the
 * association lives on, holding its flow, until the peer's SHUTDOWN ACK)
 * or not (ABORT). */
void
sctp_assoc_close (SctpAssoc *assoc,
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
  sctp_assoc_ref (assoc);   /* the closing reference, dropped when it ends */
  assoc->close_timer = g_timeout_source_new (CLOSE_TIMEOUT_MS);
  g_source_set_callback (assoc->close_timer, close_timeout_cb, assoc, NULL);
  g_source_set_static_name (assoc->close_timer, "[post] sctp shutdown");
  g_source_attach (assoc->close_timer, assoc->context);
}

/* The graceful close completed (or the peer ended it meanwhile). */
void
sctp_assoc_closing_done (SctpAssoc *assoc)
{
  if (assoc->close_timer == NULL)
    return;
  sctp_clear_source (&assoc->close_timer);
  assoc->state = ASSOC_DEAD;
  assoc_release_socket (assoc, FALSE);
  sctp_assoc_unref (assoc);
}
