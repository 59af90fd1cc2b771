/* post-tls-psi.c: PostTlsPsi, the Protocol Stack Instance of the `tls` stack
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * TLS 1.3 (1.2 when the configuration allows it) over TCP, with GnuTLS
 * used directly so that the association owns what outlives a connection:
 * session tickets, the pre-shared key, and early data.
 *
 * Layering
 *   A PostTlsPsi owns an inner PostTcpPsi of the `tcp` stack, which does
 *   the sockets (options, Fast Open, addresses, SIOCOUTQ, TCP_INFO).  GnuTLS
 *   reads through post_psi_read() on it; what GnuTLS writes is appended to
 *   `out` (the push function never blocks) and flushed to the inner
 *   instance after every GnuTLS call.  So GnuTLS never sees EAGAIN on
 *   writes, a handshake never has to be resumed for output, and a burst of
 *   records leaves in one sendmsg().  Writes are refused (WOULD_BLOCK) while
 *   `out` holds more than OUT_HIGH_WATER bytes: the kernel's buffer is full.
 *
 * Active open
 *   get_early_data_limit (called by the core before connecting) prepares
 *   the client session: SNI and the name to verify from the association's
 *   remote, the configuration's trust, versions and ALPN, the
 *   association's pre-shared key, and the newest ticket it holds (each
 *   ticket is used once).  When that ticket allows early data and the
 *   configuration does not avoid 0-RTT, the core hands over its leading
 *   idempotent messages with set_early_data; they are sent with the
 *   ClientHello, and the inner TCP connection uses Fast Open so that all
 *   of it can ride in the SYN.  connect_async connects TCP, then drives
 *   the handshake; it completes only once the handshake did, so every
 *   failure is an establishment error naming its reason.  If the server
 *   rejected the early data, it is sent again at once as ordinary data:
 *   the peer sees each message once.  New tickets (a GnuTLS hook on
 *   NewSessionTicket) go into the association.
 *
 * Passive open
 *   listen makes the server state every accepted instance shares: the
 *   local's certificate and key, its pre-shared keys, a session ticket key,
 *   and GnuTLS anti-replay for early data.  Each TCP connection the inner
 *   listener accepts gets a server session; it is announced with
 *   post_psi_emit_accepted() only once its handshake completed (within
 *   HANDSHAKE_TIMEOUT_MS), with the early data it received waiting to be
 *   read first.
 *
 * Verification
 *   A GnuTLS verify function checks the chain against the system store (by
 *   default) and the configuration's anchors, the name, the validity
 *   period, and the pinned SubjectPublicKeyInfo digests; the application's
 *   verification callback, if any, has the last word.  The reason is kept
 *   so that the handshake error names it.  Secrets are never logged.
 */

#include "post-tls-psi-private.h"
#include "post-gnutls-trust.h"
#include "post-gnutls-common.h"

#include <errno.h>
#include <string.h>

#include <gnutls/x509.h>
#include <gnutls/abstract.h>

#define OUT_HIGH_WATER       (256 * 1024)
#define RECORD_SIZE          16384
#define HANDSHAKE_TIMEOUT_MS 10000
#define ANTI_REPLAY_MAX      65536  /* ClientHello digests kept by a listener */

G_DEFINE_FINAL_TYPE (PostTlsPsi, post_tls_psi, POST_TYPE_PSI)

static PostStack *tcp_stack;  /* (owned) set once at plugin init */

void
post_tls_psi_set_tcp_stack (PostStack *tcp)
{
  g_set_object (&tcp_stack, tcp);
}

static void handshake_step (PostTlsPsi *self);
static void update_tcp_interest (PostTlsPsi *self);

/* ---- server state ----------------------------------------------------------- */

static TlsServer *
tls_server_ref (TlsServer *server)
{
  g_atomic_int_inc (&server->ref_count);
  return server;
}

static void
tls_server_unref (TlsServer *server)
{
  if (!g_atomic_int_dec_and_test (&server->ref_count))
    return;
  g_clear_pointer (&server->cert, gnutls_certificate_free_credentials);
  g_clear_pointer (&server->psk, gnutls_psk_free_server_credentials);
  post_gnutls_server_tickets_clear (&server->tickets);
  g_clear_object (&server->local);
  g_free (server->priority);
  g_free (server);
}

static int
server_psk_cb (gnutls_session_t      session,
               const gnutls_datum_t *username,
               gnutls_datum_t       *key)
{
  TlsServer *server = gnutls_session_get_ptr (session) != NULL
                      ? ((PostTlsPsi *) gnutls_session_get_ptr (session))->server : NULL;

  return post_gnutls_server_psk_lookup (server != NULL ? server->local : NULL, username, key);
}

/* ---- configuration -> GnuTLS --------------------------------------------- */

static char *
build_priority (PostConfiguration *configuration,
                gboolean           psk)
{
  PostTlsVersion min = POST_TLS_VERSION_1_3, max = POST_TLS_VERSION_1_3;
  GString *priority = g_string_new ("NORMAL:-VERS-ALL");

  if (configuration != NULL)
    post_configuration_get_tls_versions (configuration, &min, &max);
  if (max >= POST_TLS_VERSION_1_3)
    g_string_append (priority, ":+VERS-TLS1.3");
  if (min <= POST_TLS_VERSION_1_2)
    g_string_append (priority, ":+VERS-TLS1.2");
  if (psk)
    g_string_append (priority, ":+ECDHE-PSK:+DHE-PSK:+PSK");
  return g_string_free (priority, FALSE);
}

/* ---- verification ----------------------------------------------------------- */

static int
verify_cb (gnutls_session_t session)
{
  PostTlsPsi *self = gnutls_session_get_ptr (session);
  g_autofree char *peer = post_tls_describe_peer (self);

  return post_gnutls_verify_peer (session, post_psi_get_configuration (POST_PSI (self)),
                                  self->server_name, self->server != NULL, peer,
                                  &self->peer_errors, &self->verify_error);
}

/* ---- session tickets ---------------------------------------------------------- */

static void
export_session (PostTlsPsi *self)
{
  PostAssociation *association = post_psi_get_association (POST_PSI (self));
  g_autoptr(GBytes) ticket = NULL;
  time_t expiry;

  if (association == NULL || self->session == NULL
      || !post_gnutls_session_cache_enabled (post_psi_get_configuration (POST_PSI (self))))
    return;
  ticket = post_gnutls_get_session_data (self->session);
  if (ticket == NULL)
    return;
  expiry = post_gnutls_session_data_expiry (ticket);
  post_association_add_session_ticket (association, ticket, expiry);
  g_debug ("Stored a session ticket in the association (valid %" G_GINT64_FORMAT " s)",
           (gint64) expiry - g_get_real_time () / G_USEC_PER_SEC);
}

static int
ticket_hook (gnutls_session_t            session,
             unsigned int                htype,
             unsigned                    when,
             unsigned int                incoming,
             const gnutls_datum_t       *msg)
{
  PostTlsPsi *self = gnutls_session_get_ptr (session);

  if (htype == GNUTLS_HANDSHAKE_NEW_SESSION_TICKET && self != NULL)
    export_session (self);
  return 0;
}

/* ---- client session ----------------------------------------------------------- */

static gboolean
setup_client_session (PostTlsPsi  *self,
                      GError     **error)
{
  PostConfiguration *configuration = post_psi_get_configuration (POST_PSI (self));
  PostAssociation *association = post_psi_get_association (POST_PSI (self));
  PostLocal *local = post_psi_get_local (POST_PSI (self));
  g_autofree char *priority = NULL;
  GBytes *psk = NULL;
  const char *psk_identity = NULL;
  const char *err_pos = NULL;
  int ret;

  if (self->session_ready)
    return TRUE;
  self->session_ready = TRUE;

  self->server_name = post_gnutls_server_name (association, &self->sni);
  if (association != NULL)
    psk = post_association_get_pre_shared_key (association, &psk_identity);

  if (!post_gnutls_check (gnutls_init (&self->session, GNUTLS_CLIENT | GNUTLS_NONBLOCK
                                       | GNUTLS_ENABLE_EARLY_DATA | GNUTLS_NO_SIGNAL),
                          "Cannot start a TLS session", error))
    return FALSE;
  gnutls_session_set_ptr (self->session, self);
  gnutls_transport_set_ptr (self->session, self);
  gnutls_transport_set_push_function (self->session, post_tls_transport_push);
  gnutls_transport_set_pull_function (self->session, post_tls_transport_pull);

  priority = build_priority (configuration, psk != NULL);
  ret = gnutls_priority_set_direct (self->session, priority, &err_pos);
  if (!post_gnutls_check (ret, "Cannot set the TLS priorities", error))
    return FALSE;

  if (!post_gnutls_set_client_credentials (self->session, configuration, local, psk, psk_identity,
                                           self->sni ? self->server_name : NULL, verify_cb,
                                           &self->cert, &self->psk, error))
    return FALSE;
  self->offered_psk = psk != NULL;
  if (!post_gnutls_apply_alpn (self->session, configuration, FALSE, error))
    return FALSE;
  gnutls_handshake_set_hook_function (self->session, GNUTLS_HANDSHAKE_NEW_SESSION_TICKET,
                                      GNUTLS_HOOK_POST, ticket_hook);

  /* Resumption: the association's newest ticket, used once. */
  if (association != NULL && post_gnutls_session_cache_enabled (configuration))
    self->ticket = post_association_take_session_ticket (association);
  if (self->ticket != NULL)
    {
      gsize size;
      const void *data = g_bytes_get_data (self->ticket, &size);

      ret = gnutls_session_set_data (self->session, data, size);
      if (ret < 0)
        {
          g_debug ("Ignoring an unusable session ticket: %s", gnutls_strerror (ret));
          g_clear_pointer (&self->ticket, g_bytes_unref);
        }
    }
  return TRUE;
}

static gsize
post_tls_psi_get_early_data_limit (PostPsi *psi)
{
  PostTlsPsi *self = POST_TLS_PSI (psi);
  g_autoptr(GError) error = NULL;

  if (self->state != STATE_IDLE || !post_gnutls_zero_rtt_allowed (post_psi_get_configuration (psi)))
    return 0;
  if (!setup_client_session (self, &error))
    {
      /* connect_async reports it. */
      return 0;
    }
  if (self->ticket == NULL || self->session == NULL)
    return 0;
  return MIN (gnutls_record_get_max_early_data_size (self->session), POST_TLS_MAX_EARLY_DATA);
}

static void
post_tls_psi_set_early_data (PostPsi *psi,
                             GBytes  *early_data)
{
  PostTlsPsi *self = POST_TLS_PSI (psi);

  g_clear_pointer (&self->early_data, g_bytes_unref);
  self->early_data = g_bytes_ref (early_data);
}

static PostSecurityFlags
post_tls_psi_get_security_flags (PostPsi *psi)
{
  return POST_TLS_PSI (psi)->flags;
}

static gboolean
post_tls_psi_get_peer_details (PostPsi               *psi,
                              GPtrArray            **chain,
                              GTlsCertificateFlags  *errors,
                              char                 **negotiated_protocol)
{
  PostTlsPsi *self = POST_TLS_PSI (psi);

  if (self->session == NULL || !(self->flags & POST_SECURITY_ENCRYPTED))
    return FALSE;
  *errors = self->peer_errors;
  return post_gnutls_peer_details (self->session, chain, negotiated_protocol);
}

/* ---- readiness ------------------------------------------------------------------ */

static void
notify_ready (PostTlsPsi   *self,
              GIOCondition  condition)
{
  condition &= self->interest;
  if (condition == 0)
    return;
  g_object_ref (self);
  post_psi_notify_ready (POST_PSI (self), condition);
  g_object_unref (self);
}

static gboolean
idle_ready_cb (gpointer user_data)
{
  PostTlsPsi *self = user_data;
  GIOCondition condition = self->idle_condition;

  g_clear_pointer (&self->idle_source, g_source_unref);
  self->idle_condition = 0;
  if (self->evicted_error != NULL && self->state == STATE_ESTABLISHED)
    {
      /* The core's next read sees the eviction's error. */
      g_object_ref (self);
      post_psi_notify_ready (POST_PSI (self), G_IO_IN);
      g_object_unref (self);
    }
  else if (self->state == STATE_ESTABLISHED)
    notify_ready (self, condition);
  return G_SOURCE_REMOVE;
}

static void
schedule_ready (PostTlsPsi   *self,
                GIOCondition  condition)
{
  self->idle_condition |= condition;
  if (self->idle_source != NULL)
    return;
  self->idle_source = g_idle_source_new ();
  g_source_set_priority (self->idle_source, G_PRIORITY_DEFAULT);
  g_source_set_callback (self->idle_source, idle_ready_cb, self, NULL);
  g_source_set_static_name (self->idle_source, "[post] tls ready");
  g_source_attach (self->idle_source, self->context);
}

static gboolean
has_buffered_input (PostTlsPsi *self)
{
  return (self->early_in != NULL && self->early_in_pos < self->early_in->len)
         || self->read_error != NULL
         || (self->session != NULL && gnutls_record_check_pending (self->session) > 0);
}

static void
update_tcp_interest (PostTlsPsi *self)
{
  GIOCondition condition = 0;

  if (self->tcp == NULL)
    return;
  switch (self->state)
    {
    case STATE_HANDSHAKING:
      condition = G_IO_IN;
      break;
    case STATE_ESTABLISHED:
      if (self->interest & G_IO_IN)
        condition |= G_IO_IN;
      break;
    default:
      return;
    }
  if (self->out->len > 0 || self->shutdown_pending)
    condition |= G_IO_OUT;
  post_psi_set_interest (self->tcp, condition);
}

static void
tcp_ready_cb (PostPsi      *tcp,
              GIOCondition  condition,
              PostTlsPsi   *self)
{
  GIOCondition notify = 0;

  g_object_ref (self);
  if (self->state == STATE_HANDSHAKING)
    handshake_step (self);
  else if (self->state == STATE_ESTABLISHED)
    {
      guint held = self->out->len;

      if (!post_tls_transport_flush (self))
        notify |= G_IO_IN | G_IO_OUT;  /* the next read or write sees the error */
      if (condition & (G_IO_IN | G_IO_HUP | G_IO_ERR))
        notify |= G_IO_IN;
      if (self->out->len < OUT_HIGH_WATER)
        notify |= G_IO_OUT;
      update_tcp_interest (self);
      notify_ready (self, notify);
      /* Records the TCP socket would not take before went now: their
       * messages are sent (get_sent_offset). */
      if (self->out->len < held && self->state == STATE_ESTABLISHED)
        post_psi_notify_sent (POST_PSI (self));
    }
  g_object_unref (self);
}

static void
post_tls_psi_set_interest (PostPsi      *psi,
                           GIOCondition  condition)
{
  PostTlsPsi *self = POST_TLS_PSI (psi);

  self->interest = condition & (G_IO_IN | G_IO_OUT);
  if (self->state != STATE_ESTABLISHED)
    return;
  if (self->evicted_error != NULL)
    {
      if (self->interest != 0)
        schedule_ready (self, self->interest);
      return;
    }
  update_tcp_interest (self);
  /* What GnuTLS (or early data) already holds is not seen by the socket. */
  if ((self->interest & G_IO_IN) && has_buffered_input (self))
    schedule_ready (self, G_IO_IN);
  if ((self->interest & G_IO_OUT) && self->out->len < OUT_HIGH_WATER)
    schedule_ready (self, G_IO_OUT);
}

/* ---- handshake ------------------------------------------------------------------ */

static void
clear_source (GSource **source)
{
  if (*source != NULL)
    {
      g_source_destroy (*source);
      g_clear_pointer (source, g_source_unref);
    }
}

/* Sends @size bytes of plaintext as records (into `out`). */
static gboolean
send_plain (PostTlsPsi    *self,
            const guint8  *data,
            gsize          size,
            GError       **error)
{
  while (size > 0)
    {
      ssize_t n = gnutls_record_send (self->session, data, MIN (size, RECORD_SIZE));

      if (n < 0)
        {
          if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
            continue;
          g_set_error (error, POST_ERROR, POST_ERROR_PROTOCOL, "TLS send failed: %s", gnutls_strerror (n));
          return FALSE;
        }
      data += n;
      size -= n;
      self->plain_total += n;
    }
  return TRUE;
}

static void
record_ack_mark (PostTlsPsi *self)
{
  AckMark *mark = g_new0 (AckMark, 1);

  mark->cipher_end = self->cipher_total;
  mark->plain_end = self->plain_total;
  g_queue_push_tail (&self->ack_marks, mark);
}

static void handshake_failed (PostTlsPsi *self, GError *error);

/* An accepted instance ended (or was evicted): its listener has room. */
static void
unadmit (PostTlsPsi *self)
{
  if (self->admitted != NULL)
    {
      post_tcp_admission_remove (self->admitted, &self->admission_link);
      g_clear_pointer (&self->admitted, post_tcp_admission_unref);
    }
}

/* A full listener evicts @member, which has not completed a first message
 * (see post_tcp_admission_admit()): still handshaking, it is dropped; once
 * announced, its connection is reset and its carrier fails with
 * POST_ERROR_CONNECTION_RESET at its next read. */
static void
tls_evict (PostPsi *member)
{
  PostTlsPsi *self = POST_TLS_PSI (member);
  GError *error = post_tcp_admission_evicted_error ("tls",
                                                    self->tcp != NULL ? post_psi_get_remote_address (self->tcp) : NULL,
                                                    post_tcp_admission_get_max (self->admitted));

  unadmit (self);
  if (self->state != STATE_ESTABLISHED)
    {
      if (self->tcp != NULL)
        {
          post_psi_set_interest (self->tcp, 0);
          post_psi_close (self->tcp, TRUE);  /* a reset, as for an announced one */
        }
      handshake_failed (self, error);
      return;
    }
  self->evicted_error = error;
  if (self->tcp != NULL)
    {
      post_psi_set_interest (self->tcp, 0);
      post_psi_close (self->tcp, TRUE);
    }
  schedule_ready (self, G_IO_IN);
}

static void
handshake_done (PostTlsPsi *self)
{
  g_autoptr(GError) error = NULL;

  clear_source (&self->timeout_source);
  self->flags |= POST_SECURITY_ENCRYPTED;
  if (gnutls_session_is_resumed (self->session))
    self->flags |= POST_SECURITY_RESUMED;
  if (gnutls_auth_get_type (self->session) == GNUTLS_CRD_PSK && !(self->flags & POST_SECURITY_RESUMED))
    self->flags |= POST_SECURITY_PSK;

  if (self->server != NULL)
    {
      PostTlsPsi *listener = self->listener;

      /* Early data the client sent: read it first. */
      if (gnutls_session_get_flags (self->session) & GNUTLS_SFLAGS_EARLY_DATA)
        {
          guint8 buffer[4096];
          ssize_t n;

          self->early_in = g_byte_array_new ();
          while ((n = gnutls_record_recv_early_data (self->session, buffer, sizeof buffer)) > 0)
            g_byte_array_append (self->early_in, buffer, n);
          self->flags |= POST_SECURITY_EARLY_DATA_ACCEPTED;
        }
      self->state = STATE_ESTABLISHED;
      post_psi_set_addresses (POST_PSI (self), post_psi_get_local_address (self->tcp),
                              post_psi_get_remote_address (self->tcp));
      update_tcp_interest (self);
      self->listener = NULL;
      if (listener != NULL && listener->handshaking != NULL)
        {
          g_object_ref (self);
          g_ptr_array_remove (listener->handshaking, self);
          if (listener->state == STATE_LISTENING)
            post_psi_emit_accepted (POST_PSI (listener), POST_PSI (self));
          else
            post_psi_close (POST_PSI (self), TRUE);
          g_object_unref (self);
        }
      return;
    }

  /* Client. */
  if (self->early_data != NULL)
    {
      if (self->early_sent)
        self->flags |= POST_SECURITY_EARLY_DATA_SENT;
      if (self->early_sent && (gnutls_session_get_flags (self->session) & GNUTLS_SFLAGS_EARLY_DATA))
        self->flags |= POST_SECURITY_EARLY_DATA_ACCEPTED;
      else
        {
          gsize size;
          const guint8 *data = g_bytes_get_data (self->early_data, &size);

          /* Rejected: the core counts these messages as sent, so send them
           * now, before anything else, exactly once. */
          g_debug ("The server rejected %" G_GSIZE_FORMAT " bytes of early data; resending them", size);
          if (!send_plain (self, data, size, &error))
            {
              handshake_failed (self, g_steal_pointer (&error));
              return;
            }
        }
      self->plain_total = g_bytes_get_size (self->early_data);
    }
  record_ack_mark (self);
  if (gnutls_protocol_get_version (self->session) != GNUTLS_TLS1_3)
    export_session (self);  /* TLS 1.2: the session is resumable at once */
  post_tls_transport_flush (self);

  self->state = STATE_ESTABLISHED;
  post_psi_set_addresses (POST_PSI (self), post_psi_get_local_address (self->tcp),
                          post_psi_get_remote_address (self->tcp) != NULL
                          ? post_psi_get_remote_address (self->tcp) : self->remote);
  update_tcp_interest (self);
  if (self->connect_task != NULL)
    {
      g_autoptr(GTask) task = g_steal_pointer (&self->connect_task);

      g_task_return_boolean (task, TRUE);
    }
}

static void
handshake_failed (PostTlsPsi *self,
                  GError     *error)
{
  clear_source (&self->timeout_source);
  unadmit (self);
  self->state = STATE_CLOSED;
  if (self->tcp != NULL)
    {
      post_psi_set_interest (self->tcp, 0);
      /* Not a reset: an alert may still be on its way to the peer. */
      post_psi_close (self->tcp, self->out->len > 0);
    }

  if (self->server != NULL)
    {
      PostTlsPsi *listener = self->listener;

      g_debug ("Dropping an incoming TLS connection: %s", error->message);
      g_error_free (error);
      self->listener = NULL;
      if (listener != NULL && listener->handshaking != NULL)
        g_ptr_array_remove (listener->handshaking, self);  /* may drop the last reference */
      return;
    }

  if (self->connect_task != NULL)
    {
      g_autoptr(GTask) task = g_steal_pointer (&self->connect_task);

      g_task_return_error (task, error);
    }
  else
    g_error_free (error);
}

static void
handshake_step (PostTlsPsi *self)
{
  int ret;

  g_object_ref (self);
  for (;;)
    {
      ret = gnutls_handshake (self->session);
      if (!post_tls_transport_flush (self) && ret != 0)
        ret = GNUTLS_E_PUSH_ERROR;
      if (ret == 0)
        {
          handshake_done (self);
          break;
        }
      if (ret == GNUTLS_E_AGAIN || ret == GNUTLS_E_INTERRUPTED)
        {
          if (self->transport_error != NULL)
            {
              handshake_failed (self, post_tls_handshake_error (self, ret));
              break;
            }
          update_tcp_interest (self);
          break;
        }
      if (!gnutls_error_is_fatal (ret))
        continue;  /* a warning alert */
      if (self->transport_error == NULL && ret != GNUTLS_E_FATAL_ALERT_RECEIVED)
        {
          /* Tell the peer why (protocol_version, bad_certificate...). */
          PostTlsVersion min = POST_TLS_VERSION_1_3;

          post_configuration_get_tls_versions (post_psi_get_configuration (POST_PSI (self)), &min, NULL);
          if (self->server != NULL && min == POST_TLS_VERSION_1_3
              && (ret == GNUTLS_E_NO_CIPHER_SUITES || ret == GNUTLS_E_UNKNOWN_CIPHER_SUITE))
            gnutls_alert_send (self->session, GNUTLS_AL_FATAL, GNUTLS_A_PROTOCOL_VERSION);
          else
            gnutls_alert_send_appropriate (self->session, ret);
          post_tls_transport_flush (self);
        }
      handshake_failed (self, post_tls_handshake_error (self, ret));
      break;
    }
  g_object_unref (self);
}

static void
start_handshake (PostTlsPsi *self)
{
  self->state = STATE_HANDSHAKING;
  self->tcp_ready_id = g_signal_connect (self->tcp, "ready", G_CALLBACK (tcp_ready_cb), self);
  handshake_step (self);
}

/* ---- active open ---------------------------------------------------------------- */

static void
tcp_connected_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(PostTlsPsi) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!post_psi_connect_finish (POST_PSI (source), result, &error))
    {
      if (self->connect_task != NULL)
        {
          g_autoptr(GTask) task = g_steal_pointer (&self->connect_task);

          self->state = STATE_CLOSED;
          g_task_return_error (task, g_steal_pointer (&error));
        }
      return;
    }
  if (self->state != STATE_CONNECTING || self->connect_task == NULL)
    return;  /* closed meanwhile */

  if (self->early_data != NULL)
    {
      gsize size;
      const void *data = g_bytes_get_data (self->early_data, &size);
      /* Buffered for the ClientHello flight (GnuTLS returns 0). */
      ssize_t ret = gnutls_record_send_early_data (self->session, data, size);

      if (ret < 0)
        g_debug ("Early data not offered: %s", gnutls_strerror (ret));
      else
        self->early_sent = TRUE;
      /* Either way the handshake's end sends it again if it was not taken. */
    }
  start_handshake (self);
}

static void
post_tls_psi_connect_async (PostPsi             *psi,
                            GSocketAddress      *remote,
                            GSocketAddress      *local,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  PostTlsPsi *self = POST_TLS_PSI (psi);
  g_autoptr(GTask) task = NULL;
  g_autoptr(GError) error = NULL;

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, post_tls_psi_connect_async);
  g_task_set_name (task, "[post] tls connect");

  if (g_task_return_error_if_cancelled (task))
    return;
  if (self->state != STATE_IDLE)
    {
      g_task_return_new_error (task, POST_ERROR, self->state == STATE_CLOSED ? POST_ERROR_CLOSED : POST_ERROR_PENDING,
                               "The TLS instance is closed or already in use");
      return;
    }
  if (tcp_stack == NULL)
    {
      g_task_return_new_error (task, POST_ERROR, POST_ERROR_NOT_SUPPORTED, "The tcp stack is missing");
      return;
    }
  if (!setup_client_session (self, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (self->session == NULL)
    {
      g_task_return_new_error (task, POST_ERROR, POST_ERROR_FAILED, "The TLS session could not be set up");
      return;
    }

  self->remote = g_object_ref (remote);
  self->tcp = post_stack_create_psi (tcp_stack, post_psi_get_configuration (psi));
  /* Through a proxy: the inner instance tunnels, TLS runs end to end
   * inside and verifies the remote's name (the association's), never the
   * proxy's. */
  post_psi_set_proxy (self->tcp, post_psi_get_proxy (psi));
  /* Fast Open when there is early data to carry in the SYN (RFC 7413);
   * only resumed connections have any, so the server is known to us. */
  if (self->early_data != NULL && POST_IS_TCP_PSI (self->tcp))
    {
      post_tcp_psi_set_fast_open (POST_TCP_PSI (self->tcp), TRUE);
      self->flags |= POST_SECURITY_FAST_OPEN;
    }
  self->state = STATE_CONNECTING;
  self->connect_task = g_steal_pointer (&task);
  post_psi_set_interface (self->tcp, post_psi_get_interface (psi));   /* the tcp instance binds to it */
  post_psi_connect_async (self->tcp, remote, local, cancellable, tcp_connected_cb, g_object_ref (self));
}

static gboolean
post_tls_psi_connect_finish (PostPsi       *psi,
                             GAsyncResult  *result,
                             GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, psi), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* ---- passive open --------------------------------------------------------------- */

static gboolean
handshake_timeout_cb (gpointer user_data)
{
  PostTlsPsi *self = user_data;

  g_clear_pointer (&self->timeout_source, g_source_unref);
  handshake_failed (self, g_error_new (POST_ERROR, POST_ERROR_TIMED_OUT,
                                       "TLS handshake not completed within %d ms, or within the "
                                       "first-message timeout (option %s)", HANDSHAKE_TIMEOUT_MS,
                                       POST_TCP_OPTION_FIRST_MESSAGE_TIMEOUT));
  return G_SOURCE_REMOVE;
}

static gboolean
setup_server_session (PostTlsPsi  *self,
                      GError     **error)
{
  TlsServer *server = self->server;
  PostConfiguration *configuration = post_psi_get_configuration (POST_PSI (self));
  const char *err_pos = NULL;
  GVariant *early = post_configuration_get_option (configuration, "tls.server-early-data");
  unsigned int flags = GNUTLS_SERVER | GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL;

  /* `tls.server-early-data` false: tickets still announce early data (so
   * clients try), but it is refused and resent after the handshake. */
  if (early == NULL || !g_variant_is_of_type (early, G_VARIANT_TYPE_BOOLEAN)
      || g_variant_get_boolean (early))
    flags |= GNUTLS_ENABLE_EARLY_DATA;
  if (!post_gnutls_check (gnutls_init (&self->session, flags), "Cannot start a TLS session", error))
    return FALSE;
  gnutls_session_set_ptr (self->session, self);
  gnutls_transport_set_ptr (self->session, self);
  gnutls_transport_set_push_function (self->session, post_tls_transport_push);
  gnutls_transport_set_pull_function (self->session, post_tls_transport_pull);
  if (!post_gnutls_check (gnutls_priority_set_direct (self->session, server->priority, &err_pos),
                          "Cannot set the TLS priorities", error))
    return FALSE;
  if (server->cert != NULL)
    gnutls_credentials_set (self->session, GNUTLS_CRD_CERTIFICATE, server->cert);
  if (server->psk != NULL)
    gnutls_credentials_set (self->session, GNUTLS_CRD_PSK, server->psk);
  if (!post_gnutls_server_tickets_enable (&server->tickets, self->session, POST_ERROR_INVALID_ARGUMENT, error))
    return FALSE;
  gnutls_record_set_max_early_data_size (self->session, POST_TLS_MAX_EARLY_DATA);
  /* Client certificates are asked for (not required) when the
   * configuration names anchors to verify them with. */
  {
    g_autoptr(GPtrArray) anchors = post_configuration_get_trust_anchors (configuration);

    if (anchors->len > 0 && server->cert != NULL)
      {
        gnutls_certificate_server_set_request (self->session, GNUTLS_CERT_REQUEST);
        gnutls_session_set_verify_function (self->session, verify_cb);
      }
  }
  return post_gnutls_apply_alpn (self->session, configuration, TRUE, error);
}

static void
tcp_accepted_cb (PostPsi    *tcp_listener,
                 PostPsi    *accepted,
                 PostTlsPsi *self)
{
  g_autoptr(PostTlsPsi) child = NULL;
  g_autoptr(GError) error = NULL;

  if (self->state != STATE_LISTENING)
    {
      post_psi_close (accepted, TRUE);
      return;
    }
  /* tcp.max-carriers counts handshaking instances too */
  if (self->admission != NULL
      && !post_tcp_admission_admit (self->admission, post_psi_get_remote_address (accepted)))
    {
      post_psi_close (accepted, TRUE);  /* reset */
      return;
    }
  child = POST_TLS_PSI (post_stack_create_psi (post_psi_get_stack (POST_PSI (self)),
                                               post_psi_get_configuration (POST_PSI (self))));
  post_psi_set_context (POST_PSI (child), post_psi_get_local (POST_PSI (self)), NULL);
  child->tcp = g_object_ref (accepted);
  /* tcp.first-message-timeout runs from the TCP accept: the handshake
   * counts within it, then the core waits for the first message. */
  post_psi_set_first_message_deadline (POST_PSI (child), post_psi_get_first_message_deadline (accepted));
  child->server = tls_server_ref (self->server);
  child->listener = self;
  if (!setup_server_session (child, &error))
    {
      g_message ("Dropping an incoming TLS connection: %s", error->message);
      post_psi_close (accepted, TRUE);
      return;
    }
  g_ptr_array_add (self->handshaking, g_object_ref (child));
  if (self->admission != NULL)
    {
      child->admitted = post_tcp_admission_ref (self->admission);
      post_tcp_admission_add (self->admission, POST_PSI (child), &child->admission_link);
    }
  {
    gint64 deadline = post_psi_get_first_message_deadline (accepted);
    guint timeout_ms = HANDSHAKE_TIMEOUT_MS;

    if (deadline > 0)
      timeout_ms = (guint) CLAMP ((deadline - g_get_monotonic_time () + 999) / 1000, 0, HANDSHAKE_TIMEOUT_MS);
    child->timeout_source = g_timeout_source_new (timeout_ms);
  }
  g_source_set_callback (child->timeout_source, handshake_timeout_cb, child, NULL);
  g_source_set_static_name (child->timeout_source, "[post] tls handshake timeout");
  g_source_attach (child->timeout_source, child->context);
  start_handshake (child);
}

static gboolean
post_tls_psi_listen (PostPsi         *psi,
                     GSocketAddress  *local,
                     GError         **error)
{
  PostTlsPsi *self = POST_TLS_PSI (psi);
  PostConfiguration *configuration = post_psi_get_configuration (psi);
  PostLocal *endpoint = post_psi_get_local (psi);
  TlsServer *server;
  gboolean has_psk;

  if (self->state != STATE_IDLE)
    {
      g_set_error_literal (error, POST_ERROR, self->state == STATE_CLOSED ? POST_ERROR_CLOSED : POST_ERROR_PENDING,
                           "The TLS instance is closed or already in use");
      return FALSE;
    }
  if (tcp_stack == NULL)
    {
      g_set_error_literal (error, POST_ERROR, POST_ERROR_NOT_SUPPORTED, "The tcp stack is missing");
      return FALSE;
    }
  if (!post_gnutls_check_listener_local (endpoint, "tls", &has_psk, error))
    return FALSE;

  server = g_new0 (TlsServer, 1);
  server->ref_count = 1;
  server->local = g_object_ref (endpoint);
  server->priority = build_priority (configuration, has_psk);
  self->server = server;
  if (!post_gnutls_make_server_credentials (configuration, endpoint, has_psk, server_psk_cb,
                                            &server->cert, &server->psk, error) ||
      !post_gnutls_server_tickets_init (&server->tickets, ANTI_REPLAY_MAX, POST_ERROR_INVALID_ARGUMENT, error))
    return FALSE;

  self->tcp = post_stack_create_psi (tcp_stack, configuration);
  if (POST_IS_TCP_PSI (self->tcp))
    {
      post_tcp_psi_set_fast_open (POST_TCP_PSI (self->tcp), post_gnutls_zero_rtt_allowed (configuration));
      post_tcp_psi_set_admitted_above (POST_TCP_PSI (self->tcp));
    }
  post_psi_set_interface (self->tcp, post_psi_get_interface (psi));   /* the tcp instance binds to it */
  if (!post_psi_listen (self->tcp, local, error))
    return FALSE;
  self->handshaking = g_ptr_array_new_with_free_func (g_object_unref);
  self->tcp_accepted_id = g_signal_connect (self->tcp, "accepted", G_CALLBACK (tcp_accepted_cb), self);
  self->state = STATE_LISTENING;
  post_psi_set_addresses (psi, post_psi_get_local_address (self->tcp), NULL);
  if (post_psi_get_interface (self->tcp) != NULL)
    post_psi_set_interface (psi, post_psi_get_interface (self->tcp));
  self->admission = post_tcp_admission_new (psi, tls_evict);
  return TRUE;
}

/* ---- data -------------------------------------------------------------------- */

static gboolean
check_established (PostTlsPsi  *self,
                   GError     **error)
{
  if (self->evicted_error != NULL)
    {
      if (error != NULL)
        *error = g_error_copy (self->evicted_error);
      return FALSE;
    }
  if (self->state == STATE_ESTABLISHED)
    return TRUE;
  g_set_error_literal (error, POST_ERROR, POST_ERROR_CLOSED,
                       self->state == STATE_CLOSED ? "The TLS instance is closed"
                                                   : "The TLS instance is not established");
  return FALSE;
}

static GError *
take_transport_error (PostTlsPsi *self)
{
  GError *error = g_error_copy (self->transport_error);

  if (error->domain == G_IO_ERROR)
    {
      error->domain = POST_ERROR;
      error->code = POST_ERROR_CONNECTION_RESET;
    }
  return error;
}

/* One gnutls_record_recv(): at most one record's plaintext. */
static gssize
recv_record (PostTlsPsi  *self,
             guint8      *buffer,
             gsize        size,
             GError     **error)
{
  ssize_t n = gnutls_record_recv (self->session, buffer, size);

  post_tls_transport_flush (self);  /* post-handshake messages may answer */
  if (n >= 0)
    return n;
  switch (n)
    {
    case GNUTLS_E_AGAIN:
    case GNUTLS_E_INTERRUPTED:
    case GNUTLS_E_REHANDSHAKE:
    case GNUTLS_E_GOT_APPLICATION_DATA:
      if (self->transport_error != NULL)
        {
          g_propagate_error (error, take_transport_error (self));
          return -1;
        }
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK, "No TLS data yet");
      return -1;
    case GNUTLS_E_PREMATURE_TERMINATION:
      /* The peer's TCP FIN came without close_notify: anyone on the path
       * can forge a FIN, so the end is not authenticated and what was
       * sent may have been cut short, in the middle of a message or
       * between two.  Never a clean end (RFC 8446 6.1). */
      if (self->transport_error == NULL)
        {
          g_autofree char *peer = post_tls_describe_peer (self);

          g_set_error (error, POST_ERROR, POST_ERROR_TRUNCATED,
                       "%s ended the TLS connection without close_notify: "
                       "what it sent may have been cut short", peer);
          return -1;
        }
      G_GNUC_FALLTHROUGH;
    case GNUTLS_E_FATAL_ALERT_RECEIVED:
      /* In TLS 1.3 a server checks the client's certificate after the
       * client's handshake is done: its refusal comes here, and says why
       * as a handshake failure would (bad_certificate: TLS_REJECTED), as
       * does a listener that refused the carrier (access_denied:
       * CONNECTION_REFUSED, post_tls_psi_refuse()), also when our write
       * met the reset that followed it. */
      if (self->transport_error == NULL
          || (n == GNUTLS_E_FATAL_ALERT_RECEIVED && gnutls_alert_get (self->session) == GNUTLS_A_ACCESS_DENIED))
        {
          g_autofree char *peer = post_tls_describe_peer (self);

          g_propagate_error (error, post_gnutls_handshake_error (self->session, n, "TLS", peer,
                                                                 self->offered_psk, FALSE));
          return -1;
        }
      G_GNUC_FALLTHROUGH;
    default:
      if (self->transport_error != NULL)
        g_propagate_error (error, take_transport_error (self));
      else
        g_set_error (error, POST_ERROR, POST_ERROR_PROTOCOL, "TLS receive failed: %s", gnutls_strerror (n));
      return -1;
    }
}

/* Fills @buffer with as many records as TCP has (GnuTLS gives one per
 * call): until it would block, the peer's end, or @buffer is full.  So a
 * read in full flow fills the core's buffer (which then reads in place),
 * and one that comes back short means the socket is drained.  An error
 * after some records is kept for the next read (announced at once). */
static gssize
post_tls_psi_read (PostPsi  *psi,
                   guint8   *buffer,
                   gsize     size,
                   GError  **error)
{
  PostTlsPsi *self = POST_TLS_PSI (psi);
  gsize total = 0;

  if (!check_established (self, error))
    return -1;
  if (self->read_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&self->read_error));
      return -1;
    }
  if (self->early_in != NULL)
    {
      if (self->early_in_pos < self->early_in->len)
        {
          gsize take = MIN (size, self->early_in->len - self->early_in_pos);

          memcpy (buffer, self->early_in->data + self->early_in_pos, take);
          self->early_in_pos += take;
          return take;
        }
      g_clear_pointer (&self->early_in, g_byte_array_unref);
    }

  while (total < size)
    {
      GError *local_error = NULL;
      gssize n = recv_record (self, buffer + total, size - total, total == 0 ? error : &local_error);

      if (n > 0)
        {
          total += n;
          continue;
        }
      if (total == 0)
        return n;
      /* After the end GnuTLS keeps returning 0 (read_eof). */
      if (n < 0 && !g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        {
          self->read_error = g_steal_pointer (&local_error);
          schedule_ready (self, G_IO_IN);
        }
      g_clear_error (&local_error);
      break;
    }
  return total;
}

static gssize
post_tls_psi_write (PostPsi              *psi,
                    const GOutputVector  *vectors,
                    gsize                 n_vectors,
                    GError              **error)
{
  PostTlsPsi *self = POST_TLS_PSI (psi);
  guint8 staging[RECORD_SIZE];
  gsize staged = 0, taken = 0;

  if (!check_established (self, error))
    return -1;
  if (!post_tls_transport_flush (self))
    {
      g_propagate_error (error, take_transport_error (self));
      return -1;
    }
  if (self->out->len >= OUT_HIGH_WATER)
    {
      update_tcp_interest (self);
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK, "The TCP send buffer is full");
      return -1;
    }

  /* Gather small vectors into full records; large ones go straight. */
  for (gsize i = 0; i < n_vectors && self->out->len < OUT_HIGH_WATER; i++)
    {
      const guint8 *data = vectors[i].buffer;
      gsize left = vectors[i].size;

      while (left > 0 && self->out->len < OUT_HIGH_WATER)
        {
          if (staged == 0 && left >= RECORD_SIZE)
            {
              if (!send_plain (self, data, RECORD_SIZE, error))
                return -1;
              data += RECORD_SIZE;
              left -= RECORD_SIZE;
              taken += RECORD_SIZE;
              continue;
            }
          {
            gsize chunk = MIN (left, RECORD_SIZE - staged);

            memcpy (staging + staged, data, chunk);
            staged += chunk;
            data += chunk;
            left -= chunk;
            taken += chunk;
            if (staged == RECORD_SIZE)
              {
                if (!send_plain (self, staging, staged, error))
                  return -1;
                staged = 0;
              }
          }
        }
      if (left > 0)
        break;
    }
  if (staged > 0 && !send_plain (self, staging, staged, error))
    return -1;
  record_ack_mark (self);
  post_tls_transport_flush (self);
  update_tcp_interest (self);
  return taken;
}

static gboolean
post_tls_psi_shutdown_send (PostPsi  *psi,
                            GError  **error)
{
  PostTlsPsi *self = POST_TLS_PSI (psi);
  int ret;

  if (!check_established (self, error))
    return FALSE;
  ret = gnutls_bye (self->session, GNUTLS_SHUT_WR);  /* close_notify, into `out` */
  self->bye_sent = TRUE;
  if (ret < 0 && ret != GNUTLS_E_AGAIN)
    g_debug ("TLS close_notify failed: %s", gnutls_strerror (ret));
  self->shutdown_pending = TRUE;
  if (!post_tls_transport_flush (self))
    {
      g_propagate_error (error, take_transport_error (self));
      return FALSE;
    }
  update_tcp_interest (self);
  return TRUE;
}

static guint64
post_tls_psi_get_acked_offset (PostPsi *psi)
{
  PostTlsPsi *self = POST_TLS_PSI (psi);
  guint64 acked;
  AckMark *mark;

  if (self->tcp == NULL || self->state == STATE_LISTENING)
    return POST_PSI_ACKED_UNKNOWN;
  acked = post_psi_get_acked_offset (self->tcp);
  if (acked == POST_PSI_ACKED_UNKNOWN)
    return POST_PSI_ACKED_UNKNOWN;
  /* TCP acknowledges ciphertext; a write's plaintext is acknowledged once
   * the records it made are. */
  while ((mark = g_queue_peek_head (&self->ack_marks)) != NULL && mark->cipher_end <= acked)
    {
      self->plain_acked = mark->plain_end;
      g_free (g_queue_pop_head (&self->ack_marks));
    }
  return self->plain_acked;
}

/* What TCP took (EVENT_SENT): the plaintext of the records no longer held
 * in `out` because the socket was full. */
static guint64
post_tls_psi_get_sent_offset (PostPsi *psi)
{
  PostTlsPsi *self = POST_TLS_PSI (psi);
  guint64 flushed;

  if (self->tcp == NULL || self->state != STATE_ESTABLISHED)
    return POST_PSI_ACKED_UNKNOWN;
  flushed = self->cipher_total - MIN (self->cipher_total, self->out->len);
  for (GList *l = self->ack_marks.head; l != NULL; l = l->next)
    {
      AckMark *mark = l->data;

      if (mark->cipher_end > flushed)
        break;
      self->plain_sent = MAX (self->plain_sent, mark->plain_end);
    }
  return MAX (self->plain_sent, self->plain_acked);
}

static void
post_tls_psi_update_path (PostPsi  *psi,
                          PostPath *path)
{
  PostTlsPsi *self = POST_TLS_PSI (psi);

  if (self->tcp != NULL)
    post_psi_update_path (self->tcp, path);
}

static gsize
post_tls_psi_get_max_message_size (PostPsi *psi)
{
  return 0;
}

/* ---- life cycle -------------------------------------------------------------- */

static gboolean
connect_fail_closed (gpointer user_data)
{
  g_task_return_new_error (G_TASK (user_data), POST_ERROR, POST_ERROR_CLOSED,
                           "The TLS instance was closed while connecting");
  return G_SOURCE_REMOVE;
}

static void
post_tls_psi_close (PostPsi  *psi,
                    gboolean  abort)
{
  PostTlsPsi *self = POST_TLS_PSI (psi);
  gboolean was_connecting = self->state == STATE_CONNECTING || self->state == STATE_HANDSHAKING;
  gboolean was_established = self->state == STATE_ESTABLISHED;

  if (self->state == STATE_CLOSED && self->tcp == NULL)
    return;
  self->state = STATE_CLOSED;
  self->interest = 0;
  clear_source (&self->timeout_source);
  clear_source (&self->idle_source);
  unadmit (self);

  if (self->handshaking != NULL)
    {
      g_autoptr(GPtrArray) pending = g_steal_pointer (&self->handshaking);

      for (guint i = 0; i < pending->len; i++)
        {
          PostTlsPsi *child = pending->pdata[i];

          child->listener = NULL;
          post_psi_close (POST_PSI (child), TRUE);
        }
    }
  if (self->tcp != NULL)
    {
      if (self->tcp_ready_id != 0)
        g_clear_signal_handler (&self->tcp_ready_id, self->tcp);
      if (self->tcp_accepted_id != 0)
        g_clear_signal_handler (&self->tcp_accepted_id, self->tcp);
      /* A graceful close always says so with close_notify (the peer
       * takes a bare FIN for a truncation). */
      if (!abort && was_established && !self->bye_sent && self->transport_error == NULL
          && self->evicted_error == NULL)
        {
          gnutls_bye (self->session, GNUTLS_SHUT_WR);
          self->bye_sent = TRUE;
        }
      if (!abort && self->out->len > 0)
        post_tls_transport_flush (self);  /* a last try at the close_notify and what is left */
      post_psi_close (self->tcp, abort || was_connecting);
      g_clear_object (&self->tcp);
    }
  if (self->connect_task != NULL)
    {
      GSource *idle = g_idle_source_new ();

      g_source_set_callback (idle, connect_fail_closed, g_steal_pointer (&self->connect_task), g_object_unref);
      g_source_set_static_name (idle, "[post] tls connect closed");
      g_source_attach (idle, self->context);
      g_source_unref (idle);
    }
}

/* A carrier nobody accepted (post_psi_refuse()): a fatal access_denied
 * alert (RFC 8446 6.2: "when access control was applied, the sender decided
 * not to proceed"), then a graceful close of the TCP connection, so that
 * the alert is read before the end.  The server announces an instance only
 * once its handshake completed, which with TLS 1.3 is after the client's:
 * the client's carrier, ACTIVE for that moment, then closes with
 * POST_ERROR_CONNECTION_REFUSED (post_tls_psi_read()). */
static void
post_tls_psi_refuse (PostPsi *psi)
{
  PostTlsPsi *self = POST_TLS_PSI (psi);

  if (self->state == STATE_ESTABLISHED && self->session != NULL && self->transport_error == NULL)
    {
      gnutls_alert_send (self->session, GNUTLS_AL_FATAL, GNUTLS_A_ACCESS_DENIED);
      self->bye_sent = TRUE;   /* no close_notify after a fatal alert */
      post_tls_transport_flush (self);
      post_tls_psi_close (psi, FALSE);
      return;
    }
  post_tls_psi_close (psi, TRUE);
}

static void
post_tls_psi_dispose (GObject *object)
{
  PostTlsPsi *self = POST_TLS_PSI (object);

  clear_source (&self->timeout_source);
  clear_source (&self->idle_source);
  unadmit (self);
  g_clear_pointer (&self->admission, post_tcp_admission_unref);
  if (self->tcp != NULL)
    {
      if (self->tcp_ready_id != 0)
        g_clear_signal_handler (&self->tcp_ready_id, self->tcp);
      if (self->tcp_accepted_id != 0)
        g_clear_signal_handler (&self->tcp_accepted_id, self->tcp);
    }
  G_OBJECT_CLASS (post_tls_psi_parent_class)->dispose (object);
}

static void
post_tls_psi_finalize (GObject *object)
{
  PostTlsPsi *self = POST_TLS_PSI (object);

  g_clear_object (&self->tcp);
  g_clear_pointer (&self->handshaking, g_ptr_array_unref);
  if (self->session != NULL)
    gnutls_deinit (self->session);
  g_clear_pointer (&self->cert, post_gnutls_credentials_unref);   /* after the session that used them */
  g_clear_pointer (&self->psk, gnutls_psk_free_client_credentials);
  g_clear_pointer (&self->server, tls_server_unref);
  g_clear_pointer (&self->server_name, g_free);
  g_clear_pointer (&self->ticket, g_bytes_unref);
  g_clear_pointer (&self->early_data, g_bytes_unref);
  g_clear_error (&self->verify_error);
  g_clear_error (&self->transport_error);
  g_clear_error (&self->evicted_error);
  g_clear_object (&self->remote);
  g_clear_pointer (&self->out, g_byte_array_unref);
  g_clear_error (&self->read_error);
  g_clear_pointer (&self->early_in, g_byte_array_unref);
  g_queue_clear_full (&self->ack_marks, g_free);
  g_clear_pointer (&self->context, g_main_context_unref);

  G_OBJECT_CLASS (post_tls_psi_parent_class)->finalize (object);
}

static void
post_tls_psi_constructed (GObject *object)
{
  PostTlsPsi *self = POST_TLS_PSI (object);
  GMainContext *context;

  G_OBJECT_CLASS (post_tls_psi_parent_class)->constructed (object);

  context = post_psi_get_context (POST_PSI (self));
  self->context = context != NULL ? g_main_context_ref (context)
                                  : g_main_context_ref_thread_default ();
}

static void
post_tls_psi_class_init (PostTlsPsiClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  PostPsiClass *psi_class = POST_PSI_CLASS (klass);

  object_class->constructed = post_tls_psi_constructed;
  object_class->dispose = post_tls_psi_dispose;
  object_class->finalize = post_tls_psi_finalize;

  psi_class->connect_async = post_tls_psi_connect_async;
  psi_class->connect_finish = post_tls_psi_connect_finish;
  psi_class->listen = post_tls_psi_listen;
  psi_class->read = post_tls_psi_read;
  psi_class->write = post_tls_psi_write;
  psi_class->set_interest = post_tls_psi_set_interest;
  psi_class->shutdown_send = post_tls_psi_shutdown_send;
  psi_class->close = post_tls_psi_close;
  psi_class->refuse = post_tls_psi_refuse;
  psi_class->get_acked_offset = post_tls_psi_get_acked_offset;
  psi_class->get_sent_offset = post_tls_psi_get_sent_offset;
  psi_class->update_path = post_tls_psi_update_path;
  psi_class->get_max_message_size = post_tls_psi_get_max_message_size;
  psi_class->get_early_data_limit = post_tls_psi_get_early_data_limit;
  psi_class->set_early_data = post_tls_psi_set_early_data;
  psi_class->get_security_flags = post_tls_psi_get_security_flags;
  psi_class->get_peer_details = post_tls_psi_get_peer_details;
}

static void
post_tls_psi_init (PostTlsPsi *self)
{
  self->out = g_byte_array_new ();
  g_queue_init (&self->ack_marks);
}
