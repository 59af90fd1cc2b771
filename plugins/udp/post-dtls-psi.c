/* post-dtls-psi.c: PostDtlsPsi, the Protocol Stack Instance of the `dtls` stack
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * DTLS 1.2 (GnuTLS 3.7 has no DTLS 1.3) over the udp stack, with GnuTLS
 * used directly and the same trust settings as the tls stack
 * (plugins/common/post-gnutls-trust.c).  One message is one DTLS record
 * in one datagram: boundaries are kept, and the largest message is what
 * one record carries given the path MTU (gnutls_dtls_get_data_mtu()).
 *
 * Layering
 *   A PostDtlsPsi owns an inner PostUdpPsi of the `udp` stack, which does
 *   the sockets, the path MTU and a listener's demultiplexing.  GnuTLS
 *   sends each datagram with post_psi_send_message() on it (the push
 *   function) and reads each one with post_psi_receive_message() (the
 *   pull functions, which never block: the session is GNUTLS_NONBLOCK).
 *
 * Handshake
 *   Driven by the inner instance's readiness and, for retransmission on
 *   loss, by a timer on the instance's GMainContext armed with
 *   gnutls_dtls_get_timeout() after every step: no thread, no blocking.
 *   A handshake not done within HANDSHAKE_TIMEOUT_MS fails with
 *   POST_ERROR_TIMED_OUT.  Verification failures name their reason as in
 *   tls (POST_ERROR_TLS_UNKNOWN_AUTHORITY, _NAME_MISMATCH, ...); protected
 *   handshake records that keep failing to decrypt (a wrong pre-shared
 *   key: DTLS drops them silently) end it with bad_record_mac
 *   (keys_disagree()).
 *
 * Active open
 *   connect_async connects the inner udp instance (which sends nothing),
 *   then runs the client handshake: SNI and the name verified from the
 *   association's remote, the configuration's trust, ALPN, and the
 *   association's pre-shared key.  It completes once the handshake did.
 *
 * Passive open
 *   One UDP socket (an inner udp listener); each remote (address, port)
 *   is an inner udp peer.  The first datagram of a new remote must be a
 *   ClientHello with a valid cookie (gnutls_dtls_cookie_verify): without
 *   one the listener answers a HelloVerifyRequest and forgets the remote
 *   at once, so a spoofed source costs no state.  A remote that proved
 *   its address gets a server session; it is announced with
 *   post_psi_emit_accepted() only once its handshake completed.
 *
 * Keep-alive
 *   RFC 6520 heartbeats (see keep_alive_cb()): after keep-alive-timeout T
 *   without a datagram from the peer, a request every T/3; after 2T the
 *   session fails with POST_ERROR_TIMED_OUT.  Every session answers the
 *   peer's requests.
 *
 * Abort
 *   An abort of an established session sends a fatal user_canceled alert
 *   (as TCP sends a reset), also when a listener expires the peer
 *   (udp.peer-idle-timeout), so that the peer's carrier fails at once.
 *
 * Bad input
 *   A datagram that is no valid record of the session (garbage, a
 *   truncated or forged record, a replay) is dropped and logged at debug
 *   level; the carrier goes on.  A fatal alert from the peer closes it;
 *   close_notify ends it cleanly.
 */

#include "post-dtls-psi-private.h"
#include "post-gnutls-trust.h"
#include "post-gnutls-common.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#define HANDSHAKE_TIMEOUT_MS   20000
#define RETRANS_TIMEOUT_MS     1000
/* Before the handshake tells the record overhead: room for a DTLS 1.2
 * header (13), an explicit nonce (8), a tag or MAC and padding (48). */
#define RECORD_OVERHEAD_GUESS  69

G_DEFINE_FINAL_TYPE (PostDtlsPsi, post_dtls_psi, POST_TYPE_PSI)

static PostStack *udp_stack;  /* (owned) set once at plugin init */

void
post_dtls_psi_set_udp_stack (PostStack *udp)
{
  g_set_object (&udp_stack, udp);
}

static void handshake_step (PostDtlsPsi *self);
static void update_udp_interest (PostDtlsPsi *self);
static void start_keep_alive (PostDtlsPsi *self);

/* ---- helpers ------------------------------------------------------------------ */

static void
clear_source (GSource **source)
{
  if (*source != NULL)
    {
      g_source_destroy (*source);
      g_clear_pointer (source, g_source_unref);
    }
}

static char *
describe_peer (PostDtlsPsi *self)
{
  GSocketAddress *address = self->remote;
  g_autofree char *text = NULL;

  if (address == NULL && self->udp != NULL)
    address = post_psi_get_remote_address (self->udp);
  if (address == NULL)
    address = post_psi_get_remote_address (POST_PSI (self));
  text = post_udp_format_address (address);
  if (self->server_name != NULL && self->sni)
    return g_strdup_printf ("%s (%s)", self->server_name, text);
  return g_steal_pointer (&text);
}

/* DTLS 1.2 only.  A configuration that insists on TLS 1.3 (tls.min-version
 * set to 1.3) cannot be met. */
static char *
build_priority (PostConfiguration  *configuration,
                gboolean            psk,
                gboolean            certificates,
                GError            **error)
{
  GVariant *min = configuration ? post_configuration_get_option (configuration, "tls.min-version") : NULL;
  GString *priority;

  if (min != NULL && g_variant_is_of_type (min, G_VARIANT_TYPE_BYTE)
      && g_variant_get_byte (min) > POST_TLS_VERSION_1_2)
    {
      g_set_error_literal (error, POST_ERROR, POST_ERROR_TLS_PROTOCOL_VERSION,
                           "DTLS 1.3 is not available (GnuTLS has DTLS 1.2 only), and the "
                           "configuration's minimum TLS version is 1.3");
      return NULL;
    }
  priority = g_string_new ("NORMAL:-VERS-ALL:+VERS-DTLS1.2");
  /* A server with pre-shared keys only must not pick a certificate key
   * exchange (GnuTLS would, and then fail for want of a certificate). */
  if (!certificates)
    g_string_append (priority, ":-KX-ALL");
  if (psk)
    g_string_append (priority, ":+ECDHE-PSK:+PSK");
  return g_string_free (priority, FALSE);
}

/* ---- server state ----------------------------------------------------------- */

static DtlsServer *
dtls_server_ref (DtlsServer *server)
{
  g_atomic_int_inc (&server->ref_count);
  return server;
}

static void
dtls_server_unref (DtlsServer *server)
{
  if (!g_atomic_int_dec_and_test (&server->ref_count))
    return;
  g_clear_pointer (&server->cert, gnutls_certificate_free_credentials);
  g_clear_pointer (&server->psk, gnutls_psk_free_server_credentials);
  post_gnutls_wipe_datum (&server->cookie_key);
  g_clear_object (&server->local);
  g_free (server->priority);
  g_free (server);
}

static int
server_psk_cb (gnutls_session_t      session,
               const gnutls_datum_t *username,
               gnutls_datum_t       *key)
{
  PostDtlsPsi *self = gnutls_session_get_ptr (session);

  return post_gnutls_server_psk_lookup (self != NULL && self->server != NULL ? self->server->local : NULL,
                                        username, key);
}

/* ---- errors ---------------------------------------------------------------- */

static GError *
take_transport_error (PostDtlsPsi *self)
{
  GError *error = g_error_copy (self->transport_error);

  if (error->domain == G_IO_ERROR)
    {
      error->domain = POST_ERROR;
      error->code = POST_ERROR_CONNECTION_RESET;
    }
  return error;
}

static GError *
handshake_error (PostDtlsPsi *self,
                 int          ret)
{
  g_autofree char *peer = describe_peer (self);

  if (self->verify_error != NULL)
    return g_error_copy (self->verify_error);
  if (self->transport_error != NULL)
    {
      GError *cause = self->transport_error;
      int tcode = POST_ERROR_CONNECTION_RESET;

      if (cause->domain == POST_ERROR)
        tcode = cause->code;
      return g_error_new (POST_ERROR, tcode, "DTLS handshake with %s failed: %s", peer, cause->message);
    }

  if (ret == GNUTLS_E_TIMEDOUT)
    return g_error_new (POST_ERROR, POST_ERROR_TIMED_OUT,
                        "DTLS handshake with %s failed: no answer within %d ms", peer,
                        HANDSHAKE_TIMEOUT_MS);
  return post_gnutls_handshake_error (self->session, ret, "DTLS", peer, self->offered_psk,
                                      FALSE);
}

static int
verify_cb (gnutls_session_t session)
{
  PostDtlsPsi *self = gnutls_session_get_ptr (session);
  g_autofree char *peer = describe_peer (self);

  return post_gnutls_verify_peer (session, post_psi_get_configuration (POST_PSI (self)),
                                  self->server_name, self->server != NULL, peer,
                                  &self->peer_errors, &self->verify_error);
}

/* ---- sizes ------------------------------------------------------------------ */

/* Tells GnuTLS the datagram size of the path (the inner instance's largest
 * message), when it changed. */
static void
update_mtu (PostDtlsPsi *self)
{
  gsize mtu;

  if (self->udp == NULL || self->session == NULL)
    return;
  mtu = post_psi_get_max_message_size (self->udp);
  if (mtu == 0 || mtu > G_MAXUINT16)
    mtu = POST_UDP_MAX_PAYLOAD_IPV4;
  if (mtu != self->mtu)
    {
      self->mtu = mtu;
      gnutls_dtls_set_mtu (self->session, (unsigned int) mtu);
    }
}

static gsize
post_dtls_psi_get_max_message_size (PostPsi *psi)
{
  PostDtlsPsi *self = POST_DTLS_PSI (psi);
  gsize max;

  if (self->udp == NULL || self->session == NULL)
    return POST_DTLS_MAX_RECORD_PLAINTEXT;
  update_mtu (self);
  if (self->state == STATE_ESTABLISHED)
    max = gnutls_dtls_get_data_mtu (self->session);
  else
    max = self->mtu > RECORD_OVERHEAD_GUESS ? self->mtu - RECORD_OVERHEAD_GUESS : 0;
  return MAX (1, MIN (max, POST_DTLS_MAX_RECORD_PLAINTEXT));
}

/* ---- readiness ---------------------------------------------------------------- */

static void
notify_ready (PostDtlsPsi  *self,
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
  PostDtlsPsi *self = user_data;
  GIOCondition condition = self->idle_condition;

  g_clear_pointer (&self->idle_source, g_source_unref);
  self->idle_condition = 0;
  if (self->state == STATE_ESTABLISHED)
    notify_ready (self, condition);
  return G_SOURCE_REMOVE;
}

static void
schedule_ready (PostDtlsPsi  *self,
                GIOCondition  condition)
{
  self->idle_condition |= condition;
  if (self->idle_source != NULL)
    return;
  self->idle_source = g_idle_source_new ();
  g_source_set_priority (self->idle_source, G_PRIORITY_DEFAULT);
  g_source_set_callback (self->idle_source, idle_ready_cb, self, NULL);
  g_source_set_static_name (self->idle_source, "[post] dtls ready");
  g_source_attach (self->idle_source, self->context);
}

static gboolean
has_buffered_input (PostDtlsPsi *self)
{
  return self->pending_in != NULL || self->transport_error != NULL
         || (self->session != NULL && gnutls_record_check_pending (self->session) > 0);
}

static void
update_udp_interest (PostDtlsPsi *self)
{
  GIOCondition condition = 0;

  if (self->udp == NULL)
    return;
  switch (self->state)
    {
    case STATE_HANDSHAKING:
      condition = G_IO_IN;
      break;
    case STATE_ESTABLISHED:
      condition = self->interest;
      break;
    default:
      return;
    }
  post_psi_set_interest (self->udp, condition);
}

static void
udp_ready_cb (PostPsi      *udp,
              GIOCondition  condition,
              PostDtlsPsi  *self)
{
  g_object_ref (self);
  if (self->state == STATE_HANDSHAKING)
    {
      if (condition & (G_IO_IN | G_IO_HUP | G_IO_ERR))
        handshake_step (self);
    }
  else if (self->state == STATE_ESTABLISHED)
    {
      GIOCondition notify = 0;

      if (condition & (G_IO_IN | G_IO_HUP | G_IO_ERR))
        notify |= G_IO_IN;
      if (condition & G_IO_OUT)
        notify |= G_IO_OUT;
      notify_ready (self, notify);
    }
  g_object_unref (self);
}

static void
post_dtls_psi_set_interest (PostPsi      *psi,
                            GIOCondition  condition)
{
  PostDtlsPsi *self = POST_DTLS_PSI (psi);

  self->interest = condition & (G_IO_IN | G_IO_OUT);
  if (self->state != STATE_ESTABLISHED)
    return;
  update_udp_interest (self);
  /* What GnuTLS (or pending_in) already holds is not seen by the socket. */
  if ((self->interest & G_IO_IN) && has_buffered_input (self))
    schedule_ready (self, G_IO_IN);
}

/* ---- handshake ------------------------------------------------------------------ */

static gboolean
retransmit_cb (gpointer user_data)
{
  PostDtlsPsi *self = user_data;

  g_clear_pointer (&self->timer_source, g_source_unref);
  if (self->state == STATE_HANDSHAKING)
    handshake_step (self);
  return G_SOURCE_REMOVE;
}

static void
arm_retransmission (PostDtlsPsi *self)
{
  unsigned int ms = gnutls_dtls_get_timeout (self->session);

  clear_source (&self->timer_source);
  self->timer_source = g_timeout_source_new (MAX (ms, 1));
  g_source_set_callback (self->timer_source, retransmit_cb, self, NULL);
  g_source_set_static_name (self->timer_source, "[post] dtls retransmission");
  g_source_attach (self->timer_source, self->context);
}

static void
handshake_done (PostDtlsPsi *self)
{
  clear_source (&self->timer_source);
  self->flags |= POST_SECURITY_ENCRYPTED;
  if (gnutls_session_is_resumed (self->session))
    self->flags |= POST_SECURITY_RESUMED;
  if (gnutls_auth_get_type (self->session) == GNUTLS_CRD_PSK)
    self->flags |= POST_SECURITY_PSK;
  self->state = STATE_ESTABLISHED;
  update_mtu (self);
  start_keep_alive (self);
  {
    g_autofree char *peer = describe_peer (self);

    g_debug ("dtls: handshake with %s done; %u bytes per message", peer,
             gnutls_dtls_get_data_mtu (self->session));
  }

  if (self->server != NULL)
    {
      PostDtlsPsi *listener = self->listener;

      post_psi_set_addresses (POST_PSI (self), post_psi_get_local_address (self->udp),
                              post_psi_get_remote_address (self->udp));
      update_udp_interest (self);
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

  post_psi_set_addresses (POST_PSI (self), post_psi_get_local_address (self->udp),
                          post_psi_get_remote_address (self->udp) != NULL
                          ? post_psi_get_remote_address (self->udp) : self->remote);
  update_udp_interest (self);
  if (self->connect_task != NULL)
    {
      g_autoptr(GTask) task = g_steal_pointer (&self->connect_task);

      g_task_return_boolean (task, TRUE);
    }
}

/* ---- keep-alive ------------------------------------------------------------------ */

/* Liveness (keep-alive-timeout T, post_configuration_get_effective_keep_alive_timeout()):
 * once T passed without a datagram from the peer, a heartbeat request
 * (RFC 6520) goes every T/3; any datagram of the peer, its heartbeat
 * response included, counts as life.  At 2T without one the session has
 * failed: POST_ERROR_TIMED_OUT, reported through the next receive, so the
 * carrier goes DORMANT (initiated) or CLOSED instead of staying ACTIVE
 * while what it sends is lost.  Both ends always answer heartbeats; a peer
 * that does not allow us to send them gets no keep-alives (logged). */
static void arm_keep_alive (PostDtlsPsi *self, gint64 delay_us);

static gboolean
keep_alive_cb (gpointer user_data)
{
  PostDtlsPsi *self = user_data;
  gint64 now = g_get_monotonic_time ();
  gint64 period = (gint64) self->keep_alive_ms * 1000;
  gint64 idle = now - self->last_rx;

  g_clear_pointer (&self->keep_alive_source, g_source_unref);
  if (self->state != STATE_ESTABLISHED || self->transport_error != NULL)
    return G_SOURCE_REMOVE;
  if (idle >= 2 * period)
    {
      g_autofree char *peer = describe_peer (self);

      self->transport_error = g_error_new (POST_ERROR, POST_ERROR_TIMED_OUT,
                                           "The DTLS peer %s sent nothing for %u ms and answered no "
                                           "heartbeat (keep-alive-timeout %u ms)",
                                           peer, (guint) (idle / 1000), self->keep_alive_ms);
      schedule_ready (self, G_IO_IN);
      return G_SOURCE_REMOVE;
    }
  if (idle < period)
    {
      arm_keep_alive (self, period - idle);
      return G_SOURCE_REMOVE;
    }
  if (now - self->last_ping >= period / 3)
    {
      /* 32 bytes: 16 of random payload (what GnuTLS keeps) and its padding. */
      int ret = gnutls_heartbeat_ping (self->session, 32, 0, 0);

      self->last_ping = now;
      if (ret < 0 && ret != GNUTLS_E_AGAIN && ret != GNUTLS_E_INTERRUPTED)
        g_debug ("dtls: heartbeat request failed: %s", gnutls_strerror (ret));
    }
  arm_keep_alive (self, MIN (period / 3, 2 * period - idle));
  return G_SOURCE_REMOVE;
}

static void
arm_keep_alive (PostDtlsPsi *self,
                gint64       delay_us)
{
  clear_source (&self->keep_alive_source);
  self->keep_alive_source = g_timeout_source_new ((guint) MAX (1, (delay_us + 999) / 1000));
  g_source_set_callback (self->keep_alive_source, keep_alive_cb, self, NULL);
  g_source_set_static_name (self->keep_alive_source, "[post] dtls keep-alive");
  g_source_attach (self->keep_alive_source, self->context);
}

static void
start_keep_alive (PostDtlsPsi *self)
{
  self->keep_alive_ms = post_configuration_get_effective_keep_alive_timeout (post_psi_get_configuration (POST_PSI (self)));
  if (self->keep_alive_ms == 0)
    return;
  if (!gnutls_heartbeat_allowed (self->session, GNUTLS_HB_LOCAL_ALLOWED_TO_SEND))
    {
      g_autofree char *peer = describe_peer (self);

      g_debug ("dtls: %s accepts no heartbeats: no keep-alives on this session", peer);
      self->keep_alive_ms = 0;
      return;
    }
  self->last_rx = g_get_monotonic_time ();
  arm_keep_alive (self, (gint64) self->keep_alive_ms * 1000);
}

static void
handshake_failed (PostDtlsPsi *self,
                  GError      *error)
{
  clear_source (&self->timer_source);
  self->state = STATE_CLOSED;
  if (self->udp != NULL)
    {
      post_psi_set_interest (self->udp, 0);
      post_psi_close (self->udp, TRUE);
    }

  if (self->server != NULL)
    {
      PostDtlsPsi *listener = self->listener;

      g_debug ("Dropping an incoming DTLS session: %s", error->message);
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

/* Whether the peer's handshake records keep failing to authenticate: a
 * DTLS stack drops a record that does not decrypt (RFC 6347 4.1.2.7)
 * rather than failing, so a peer with another key (a wrong pre-shared
 * key) would only show as a time-out.  What counts is a drop while a
 * well-formed protected record (epoch 1) came: a cleartext datagram that
 * is not DTLS, from a stray or confused sender, is only dropped.  A
 * record dropped once can be a duplicated datagram; dropped again after
 * the peer had time to retransmit its flight (half a retransmission
 * period later), the keys differ.  (A forged datagram could do the same,
 * as a forged clear alert already can: the handshake is not
 * authenticated before it ends.) */
static gboolean
keys_disagree (PostDtlsPsi *self)
{
  guint discarded = gnutls_record_get_discarded (self->session);
  gint64 now = g_get_monotonic_time ();
  gboolean counts = discarded > self->discarded && self->encrypted_in > self->discarded_encrypted;

  self->discarded = discarded;
  self->discarded_encrypted = self->encrypted_in;
  if (!counts)
    return FALSE;
  g_debug ("dtls handshake: a protected record from the peer did not authenticate");
  if (self->first_discard == 0)
    {
      self->first_discard = now;
      return FALSE;
    }
  return now - self->first_discard >= RETRANS_TIMEOUT_MS * 1000 / 2;
}

static void
handshake_step (PostDtlsPsi *self)
{
  int ret;

  g_object_ref (self);
  for (;;)
    {
      ret = gnutls_handshake (self->session);
      if (ret == 0)
        {
          handshake_done (self);
          break;
        }
      if (ret == GNUTLS_E_AGAIN || ret == GNUTLS_E_INTERRUPTED)
        {
          if (self->transport_error != NULL)
            {
              handshake_failed (self, handshake_error (self, ret));
              break;
            }
          if (keys_disagree (self))
            {
              /* Tell the peer (our epoch is still the clear one, so it
               * can read the alert), then fail at once. */
              gnutls_alert_send (self->session, GNUTLS_AL_FATAL, GNUTLS_A_BAD_RECORD_MAC);
              handshake_failed (self, handshake_error (self, GNUTLS_E_DECRYPTION_FAILED));
              break;
            }
          arm_retransmission (self);
          update_udp_interest (self);
          break;
        }
      if (!gnutls_error_is_fatal (ret))
        {
          g_debug ("dtls handshake: %s (ignored)", gnutls_strerror (ret));
          continue;  /* a warning alert, a dropped record */
        }
      if (self->transport_error == NULL && ret != GNUTLS_E_FATAL_ALERT_RECEIVED
          && ret != GNUTLS_E_TIMEDOUT)
        gnutls_alert_send_appropriate (self->session, ret);  /* tell the peer why */
      handshake_failed (self, handshake_error (self, ret));
      break;
    }
  g_object_unref (self);
}

static void
start_handshake (PostDtlsPsi *self)
{
  self->state = STATE_HANDSHAKING;
  self->udp_ready_id = g_signal_connect (self->udp, "ready", G_CALLBACK (udp_ready_cb), self);
  update_udp_interest (self);
  handshake_step (self);
}

static gboolean
init_session (PostDtlsPsi  *self,
              unsigned int  flags,
              const char   *priority,
              GError      **error)
{
  const char *err_pos = NULL;

  if (!post_gnutls_check (gnutls_init (&self->session, flags | GNUTLS_DATAGRAM | GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL),
                          "Cannot start a DTLS session", error))
    return FALSE;
  gnutls_session_set_ptr (self->session, self);
  gnutls_transport_set_ptr (self->session, self);
  gnutls_transport_set_push_function (self->session, post_dtls_transport_push);
  gnutls_transport_set_pull_function (self->session, post_dtls_transport_pull);
  gnutls_transport_set_pull_timeout_function (self->session, post_dtls_transport_pull_timeout);
  gnutls_dtls_set_timeouts (self->session, RETRANS_TIMEOUT_MS, HANDSHAKE_TIMEOUT_MS);
  /* RFC 6520: we answer the peer's heartbeats, and send ours when
   * keep-alives are asked for (start_keep_alive()). */
  gnutls_heartbeat_enable (self->session, GNUTLS_HB_PEER_ALLOWED_TO_SEND | GNUTLS_HB_LOCAL_ALLOWED_TO_SEND);
  update_mtu (self);
  return post_gnutls_check (gnutls_priority_set_direct (self->session, priority, &err_pos),
                            "Cannot set the DTLS priorities", error);
}

/* ---- active open ---------------------------------------------------------------- */

static gboolean
setup_client_session (PostDtlsPsi  *self,
                      GError      **error)
{
  PostConfiguration *configuration = post_psi_get_configuration (POST_PSI (self));
  PostAssociation *association = post_psi_get_association (POST_PSI (self));
  PostLocal *local = post_psi_get_local (POST_PSI (self));
  g_autofree char *priority = NULL;
  GBytes *psk = NULL;
  const char *psk_identity = NULL;

  self->server_name = post_gnutls_server_name (association, &self->sni);
  if (association != NULL)
    psk = post_association_get_pre_shared_key (association, &psk_identity);

  priority = build_priority (configuration, psk != NULL, TRUE, error);
  if (priority == NULL || !init_session (self, GNUTLS_CLIENT, priority, error))
    return FALSE;

  if (!post_gnutls_set_client_credentials (self->session, configuration, local, psk, psk_identity,
                                           self->sni ? self->server_name : NULL, verify_cb,
                                           &self->cert, &self->psk, error))
    return FALSE;
  self->offered_psk = psk != NULL;
  return post_gnutls_apply_alpn (self->session, configuration, FALSE, error);
}

static void
udp_connected_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(PostDtlsPsi) self = user_data;
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
  if (self->state != STATE_IDLE || self->connect_task == NULL)
    return;  /* closed meanwhile */

  post_psi_set_addresses (POST_PSI (self), post_psi_get_local_address (self->udp), self->remote);
  if (!setup_client_session (self, &error))
    {
      g_autoptr(GTask) task = g_steal_pointer (&self->connect_task);

      self->state = STATE_CLOSED;
      post_psi_close (self->udp, TRUE);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  start_handshake (self);
}

static void
post_dtls_psi_connect_async (PostPsi             *psi,
                             GSocketAddress      *remote,
                             GSocketAddress      *local,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  PostDtlsPsi *self = POST_DTLS_PSI (psi);
  g_autoptr(GTask) task = NULL;

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, post_dtls_psi_connect_async);
  g_task_set_name (task, "[post] dtls connect");

  if (g_task_return_error_if_cancelled (task))
    return;
  if (self->state != STATE_IDLE || self->udp != NULL)
    {
      g_task_return_new_error (task, POST_ERROR, self->state == STATE_CLOSED ? POST_ERROR_CLOSED : POST_ERROR_PENDING,
                               "The DTLS instance is closed or already in use");
      return;
    }
  if (udp_stack == NULL)
    {
      g_task_return_new_error (task, POST_ERROR, POST_ERROR_NOT_SUPPORTED, "The udp stack is missing");
      return;
    }
  self->remote = g_object_ref (remote);
  self->udp = post_stack_create_psi (udp_stack, post_psi_get_configuration (psi));
  post_psi_set_interface (self->udp, post_psi_get_interface (psi));   /* the udp instance binds to it */
  self->connect_task = g_steal_pointer (&task);
  post_psi_connect_async (self->udp, remote, local, cancellable, udp_connected_cb, g_object_ref (self));
}

static gboolean
post_dtls_psi_connect_finish (PostPsi       *psi,
                              GAsyncResult  *result,
                              GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, psi), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* ---- passive open ---------------------------------------------------------------- */

static ssize_t
cookie_push_cb (gnutls_transport_ptr_t  ptr,
                const void             *data,
                size_t                  size)
{
  g_autoptr(GBytes) bytes = g_bytes_new (data, size);
  g_autoptr(GError) error = NULL;

  if (!post_psi_send_message (POST_PSI (ptr), bytes, NULL, NULL, &error))
    g_debug ("dtls: the HelloVerifyRequest was not sent: %s", error->message);
  return size;
}

static gboolean
looks_like_client_hello (const guint8 *data,
                         gsize         size)
{
  /* DTLS record header (13 bytes): type 22 (handshake), version 0xfe..;
   * then the handshake header, type 1 (client_hello). */
  return size >= 25 && data[0] == 22 && data[1] == 0xfe && data[13] == 1;
}

static gboolean
setup_server_session (PostDtlsPsi          *self,
                      gnutls_dtls_prestate_st *prestate,
                      GError              **error)
{
  DtlsServer *server = self->server;
  PostConfiguration *configuration = post_psi_get_configuration (POST_PSI (self));

  if (!init_session (self, GNUTLS_SERVER, server->priority, error))
    return FALSE;
  gnutls_dtls_prestate_set (self->session, prestate);
  if (server->cert != NULL)
    gnutls_credentials_set (self->session, GNUTLS_CRD_CERTIFICATE, server->cert);
  if (server->psk != NULL)
    gnutls_credentials_set (self->session, GNUTLS_CRD_PSK, server->psk);
  /* Client certificates are asked for (not required) when the
   * configuration names anchors to verify them with. */
  if (server->request_client_cert)
    {
      gnutls_certificate_server_set_request (self->session, GNUTLS_CERT_REQUEST);
      gnutls_session_set_verify_function (self->session, verify_cb);
    }
  return post_gnutls_apply_alpn (self->session, configuration, TRUE, error);
}

static void
udp_accepted_cb (PostPsi     *udp_listener,
                 PostPsi     *accepted,
                 PostDtlsPsi *self)
{
  g_autoptr(PostDtlsPsi) child = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) datagram = NULL;
  g_autofree char *where = post_udp_format_address (post_psi_get_remote_address (accepted));
  struct sockaddr_storage sa;
  gnutls_dtls_prestate_st prestate;
  const guint8 *data;
  gsize size, sa_len;
  int ret;

  if (self->state != STATE_LISTENING)
    {
      post_psi_close (accepted, TRUE);
      return;
    }
  /* The first datagram of a new remote waits in the udp peer. */
  datagram = post_psi_receive_message (accepted, NULL, NULL);
  if (datagram == NULL
      || !g_socket_address_to_native (post_psi_get_remote_address (accepted), &sa, sizeof sa, NULL))
    {
      post_psi_close (accepted, TRUE);
      return;
    }
  sa_len = g_socket_address_get_native_size (post_psi_get_remote_address (accepted));
  data = g_bytes_get_data (datagram, &size);

  /* Stateless cookie exchange (RFC 6347 4.2.1): only a remote that
   * answered our cookie gets a session. */
  memset (&prestate, 0, sizeof prestate);
  ret = gnutls_dtls_cookie_verify (&self->server->cookie_key, &sa, sa_len,
                                   (void *) data, size, &prestate);
  if (ret < 0)
    {
      if (looks_like_client_hello (data, size))
        {
          gnutls_dtls_cookie_send (&self->server->cookie_key, &sa, sa_len, &prestate,
                                   accepted, cookie_push_cb);
          g_debug ("dtls listener: sent a cookie to %s", where);
        }
      else
        g_debug ("dtls listener: dropping a %" G_GSIZE_FORMAT "-byte datagram from %s: "
                 "not a DTLS ClientHello (%s)", size, where, gnutls_strerror (ret));
      post_psi_close (accepted, TRUE);
      return;
    }

  child = POST_DTLS_PSI (post_stack_create_psi (post_psi_get_stack (POST_PSI (self)),
                                                post_psi_get_configuration (POST_PSI (self))));
  post_psi_set_context (POST_PSI (child), post_psi_get_local (POST_PSI (self)), NULL);
  child->udp = g_object_ref (accepted);
  child->server = dtls_server_ref (self->server);
  child->listener = self;
  child->pending_in = g_steal_pointer (&datagram);  /* the ClientHello, read first */
  post_psi_set_addresses (POST_PSI (child), post_psi_get_local_address (accepted),
                          post_psi_get_remote_address (accepted));
  post_psi_set_interface (POST_PSI (child), post_psi_get_interface (accepted));
  if (!setup_server_session (child, &prestate, &error))
    {
      g_message ("Dropping an incoming DTLS session from %s: %s", where, error->message);
      child->listener = NULL;
      post_psi_close (POST_PSI (child), TRUE);
      return;
    }
  g_ptr_array_add (self->handshaking, g_object_ref (child));
  start_handshake (child);
}

static gboolean
post_dtls_psi_listen (PostPsi         *psi,
                      GSocketAddress  *local,
                      GError         **error)
{
  PostDtlsPsi *self = POST_DTLS_PSI (psi);
  PostConfiguration *configuration = post_psi_get_configuration (psi);
  PostLocal *endpoint = post_psi_get_local (psi);
  DtlsServer *server;
  gboolean has_psk;

  if (self->state != STATE_IDLE || self->udp != NULL)
    {
      g_set_error_literal (error, POST_ERROR, self->state == STATE_CLOSED ? POST_ERROR_CLOSED : POST_ERROR_PENDING,
                           "The DTLS instance is closed or already in use");
      return FALSE;
    }
  if (udp_stack == NULL)
    {
      g_set_error_literal (error, POST_ERROR, POST_ERROR_NOT_SUPPORTED, "The udp stack is missing");
      return FALSE;
    }
  if (!post_gnutls_check_listener_local (endpoint, "dtls", &has_psk, error))
    return FALSE;

  server = g_new0 (DtlsServer, 1);
  server->ref_count = 1;
  server->local = g_object_ref (endpoint);
  self->server = server;
  server->priority = build_priority (configuration, has_psk,
                                     post_local_get_identity_pem (endpoint, NULL, NULL), error);
  if (server->priority == NULL)
    return FALSE;
  if (!post_gnutls_make_server_credentials (configuration, endpoint, has_psk, server_psk_cb,
                                            &server->cert, &server->psk, error))
    return FALSE;
  /* Client certificates are asked for when there are anchors to verify
   * them with. */
  {
    g_autoptr(GPtrArray) anchors = post_configuration_get_trust_anchors (configuration);

    server->request_client_cert = server->cert != NULL && anchors->len > 0;
  }
  if (!post_gnutls_check (gnutls_key_generate (&server->cookie_key, GNUTLS_COOKIE_KEY_SIZE),
                          "Cannot make a cookie key", error))
    return FALSE;

  self->udp = post_stack_create_psi (udp_stack, configuration);
  post_psi_set_interface (self->udp, post_psi_get_interface (psi));   /* the udp instance binds to it */
  if (!post_psi_listen (self->udp, local, error))
    {
      g_prefix_error (error, "dtls: ");
      return FALSE;
    }
  self->handshaking = g_ptr_array_new_with_free_func (g_object_unref);
  self->udp_accepted_id = g_signal_connect (self->udp, "accepted", G_CALLBACK (udp_accepted_cb), self);
  self->state = STATE_LISTENING;
  post_psi_set_addresses (psi, post_psi_get_local_address (self->udp), NULL);
  return TRUE;
}

/* ---- data ---------------------------------------------------------------------- */

static gboolean
check_established (PostDtlsPsi  *self,
                   GError      **error)
{
  if (self->state == STATE_ESTABLISHED)
    return TRUE;
  if (self->state == STATE_LISTENING)
    g_set_error_literal (error, POST_ERROR, POST_ERROR_NOT_SUPPORTED,
                         "A DTLS listener hands messages to its accepted instances");
  else
    g_set_error_literal (error, POST_ERROR, POST_ERROR_CLOSED,
                         self->state == STATE_CLOSED ? "The DTLS instance is closed"
                                                     : "The DTLS instance is not established");
  return FALSE;
}

static void
set_too_large (PostDtlsPsi  *self,
               gsize         size,
               GError      **error)
{
  self->mtu = 0;  /* re-read the path MTU */
  g_set_error (error, POST_ERROR, POST_ERROR_MESSAGE_TOO_LARGE,
               "The message has %" G_GSIZE_FORMAT " bytes; one DTLS record on this path carries at most %"
               G_GSIZE_FORMAT, size, post_dtls_psi_get_max_message_size (POST_PSI (self)));
}

/* Seals @content into one record, which the push function collects (the
 * batch is open).  FALSE with @error when it cannot go. */
static gboolean
seal_message (PostDtlsPsi  *self,
              GBytes       *content,
              GError      **error)
{
  gsize size, max;
  const void *data = g_bytes_get_data (content, &size);
  ssize_t ret;

  if (self->transport_error != NULL)
    {
      g_propagate_error (error, take_transport_error (self));
      return FALSE;
    }
  max = post_dtls_psi_get_max_message_size (POST_PSI (self));
  if (size > max)
    {
      g_set_error (error, POST_ERROR, POST_ERROR_MESSAGE_TOO_LARGE,
                   "The message has %" G_GSIZE_FORMAT " bytes; one DTLS record on this path carries at most %"
                   G_GSIZE_FORMAT, size, max);
      return FALSE;
    }
  if (size == 0)
    {
      /* GnuTLS skips empty records on receipt: it would vanish. */
      g_set_error_literal (error, POST_ERROR, POST_ERROR_NOT_SUPPORTED,
                           "DTLS cannot carry an empty message: an empty record is not delivered");
      return FALSE;
    }
  ret = gnutls_record_send (self->session, data, size);
  if (ret >= 0)
    return TRUE;
  if (ret == GNUTLS_E_AGAIN || ret == GNUTLS_E_INTERRUPTED)
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK, "The socket buffer is full");
  else if (ret == GNUTLS_E_LARGE_PACKET)
    set_too_large (self, size, error);
  else
    g_set_error (error, POST_ERROR, POST_ERROR_PROTOCOL, "DTLS send failed: %s", gnutls_strerror (ret));
  return FALSE;
}

/* Seals each message into its record, then sends the records in one go
 * on the inner udp instance (post_dtls_transport_flush(): sendmmsg() or
 * GSO there).  A message is taken when its record went. */
static guint
post_dtls_psi_send_messages (PostPsi                  *psi,
                             const PostPsiOutMessage  *messages,
                             guint                     n_messages,
                             GError                  **error)
{
  PostDtlsPsi *self = POST_DTLS_PSI (psi);
  g_autofree guint *ends = NULL;
  g_autoptr(GError) seal_error = NULL;
  g_autoptr(GError) send_error = NULL;
  guint sealed = 0, sent, taken = 0;

  if (!check_established (self, error))
    return 0;
  ends = g_new (guint, n_messages);
  post_dtls_transport_begin_batch (self);
  for (; sealed < n_messages; sealed++)
    {
      if (!seal_message (self, messages[sealed].content, &seal_error))
        break;
      ends[sealed] = self->out_batch->len;   /* its record(s) end there */
    }
  self->too_large = FALSE;
  sent = post_dtls_transport_flush (self, &send_error);
  while (taken < sealed && ends[taken] <= sent)
    taken++;
  if (taken == sealed)
    {
      if (seal_error != NULL)
        g_propagate_error (error, g_steal_pointer (&seal_error));
      return taken;
    }
  /* The record of message @taken did not go. */
  if (g_error_matches (send_error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
    g_propagate_error (error, g_steal_pointer (&send_error));
  else if (self->too_large)
    set_too_large (self, g_bytes_get_size (messages[taken].content), error);
  else if (self->transport_error != NULL)
    g_propagate_error (error, take_transport_error (self));
  else
    g_propagate_error (error, g_steal_pointer (&send_error));
  return taken;
}

static gboolean
post_dtls_psi_send_message (PostPsi         *psi,
                            GBytes          *content,
                            PostMessage     *message,
                            GSocketAddress  *destination,
                            GError         **error)
{
  PostPsiOutMessage one = { content, message, destination };

  return post_dtls_psi_send_messages (psi, &one, 1, error) == 1;
}

static gboolean
is_bad_record (int ret)
{
  /* What GnuTLS reports for a datagram that is no valid record of this
   * session: garbage, a truncated or forged record, a stray handshake
   * message.  For datagrams that is noise, not the peer's end. */
  switch (ret)
    {
    case GNUTLS_E_DECRYPTION_FAILED:
    case GNUTLS_E_UNEXPECTED_PACKET_LENGTH:
    case GNUTLS_E_UNEXPECTED_PACKET:
    case GNUTLS_E_UNSUPPORTED_VERSION_PACKET:
    case GNUTLS_E_RECORD_OVERFLOW:
    case GNUTLS_E_UNEXPECTED_HANDSHAKE_PACKET:
    case GNUTLS_E_ERROR_IN_FINISHED_PACKET:
    case GNUTLS_E_UNKNOWN_CIPHER_TYPE:
    case GNUTLS_E_TOO_MANY_EMPTY_PACKETS:
    case GNUTLS_E_REHANDSHAKE:
      return TRUE;
    default:
      return FALSE;
    }
}

static GBytes *
post_dtls_psi_receive_message (PostPsi         *psi,
                               GSocketAddress **source,
                               GError         **error)
{
  PostDtlsPsi *self = POST_DTLS_PSI (psi);
  guint8 buffer[POST_DTLS_MAX_RECORD_PLAINTEXT + 2048];

  if (!check_established (self, error))
    return NULL;

  for (;;)
    {
      ssize_t n = gnutls_record_recv (self->session, buffer, sizeof buffer);

      if (n > 0)
        {
          if (source != NULL)
            *source = g_object_ref (post_psi_get_remote_address (psi));
          return g_bytes_new (buffer, n);
        }
      if (n == 0)
        return NULL;  /* close_notify: the peer's end */
      if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
        {
          if (self->transport_error != NULL)
            {
              g_propagate_error (error, take_transport_error (self));
              return NULL;
            }
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK, "No DTLS record");
          return NULL;
        }
      if (self->transport_error != NULL)
        {
          g_propagate_error (error, take_transport_error (self));
          return NULL;
        }
      if (n == GNUTLS_E_HEARTBEAT_PING_RECEIVED)
        {
          int ret = gnutls_heartbeat_pong (self->session, 0);

          if (ret < 0 && ret != GNUTLS_E_AGAIN)
            g_debug ("dtls: heartbeat response failed: %s", gnutls_strerror (ret));
          continue;
        }
      if (n == GNUTLS_E_HEARTBEAT_PONG_RECEIVED)
        continue;   /* life; last_rx is already up to date */
      if (n == GNUTLS_E_REHANDSHAKE)
        gnutls_alert_send (self->session, GNUTLS_AL_WARNING, GNUTLS_A_NO_RENEGOTIATION);
      if (is_bad_record (n) || !gnutls_error_is_fatal (n))
        {
          if (self->dropped++ < 16)
            g_debug ("dtls: dropped an invalid record: %s", gnutls_strerror (n));
          continue;
        }
      if (n == GNUTLS_E_FATAL_ALERT_RECEIVED
          && gnutls_alert_get (self->session) == GNUTLS_A_ACCESS_DENIED)
        {
          g_autofree char *peer = describe_peer (self);

          /* Its listener refused the carrier (post_dtls_psi_refuse()). */
          g_set_error (error, POST_ERROR, POST_ERROR_CONNECTION_REFUSED,
                       "The DTLS peer %s refused the session (alert ‘%s’)",
                       peer, gnutls_alert_get_name (GNUTLS_A_ACCESS_DENIED));
          return NULL;
        }
      if (n == GNUTLS_E_FATAL_ALERT_RECEIVED)
        {
          g_autofree char *peer = describe_peer (self);

          g_set_error (error, POST_ERROR, POST_ERROR_CONNECTION_RESET,
                       "The DTLS peer %s ended the session with the alert ‘%s’",
                       peer, gnutls_alert_get_name (gnutls_alert_get (self->session)));
          return NULL;
        }
      if (n == GNUTLS_E_PREMATURE_TERMINATION)
        return NULL;
      g_set_error (error, POST_ERROR, POST_ERROR_PROTOCOL, "DTLS receive failed: %s", gnutls_strerror (n));
      return NULL;
    }
}

static void
post_dtls_psi_update_path (PostPsi  *psi,
                           PostPath *path)
{
  PostDtlsPsi *self = POST_DTLS_PSI (psi);

  if (self->udp != NULL)
    post_psi_update_path (self->udp, path);
}

static PostSecurityFlags
post_dtls_psi_get_security_flags (PostPsi *psi)
{
  return POST_DTLS_PSI (psi)->flags;
}

static gboolean
post_dtls_psi_get_peer_details (PostPsi               *psi,
                              GPtrArray            **chain,
                              GTlsCertificateFlags  *errors,
                              char                 **negotiated_protocol)
{
  PostDtlsPsi *self = POST_DTLS_PSI (psi);

  if (self->session == NULL || !(self->flags & POST_SECURITY_ENCRYPTED))
    return FALSE;
  *errors = self->peer_errors;
  return post_gnutls_peer_details (self->session, chain, negotiated_protocol);
}

/* ---- life cycle ------------------------------------------------------------------ */

static gboolean
connect_fail_closed (gpointer user_data)
{
  g_task_return_new_error (G_TASK (user_data), POST_ERROR, POST_ERROR_CLOSED,
                           "The DTLS instance was closed while connecting");
  return G_SOURCE_REMOVE;
}

static void post_dtls_psi_close (PostPsi *psi, gboolean abort);

/* A carrier nobody accepted (post_psi_refuse()): a fatal access_denied
 * alert instead of the user_canceled of an abort, so that the client's
 * carrier closes with POST_ERROR_CONNECTION_REFUSED rather than going
 * dormant.  A session is announced once its handshake completed, so the
 * client is ACTIVE when it hears it; an alert is a datagram, and one that
 * is lost leaves the client to its keep-alives. */
static void
post_dtls_psi_refuse (PostPsi *psi)
{
  PostDtlsPsi *self = POST_DTLS_PSI (psi);

  if (self->state == STATE_ESTABLISHED && self->session != NULL && !post_dtls_transport_broken (self))
    {
      gnutls_alert_send (self->session, GNUTLS_AL_FATAL, GNUTLS_A_ACCESS_DENIED);
      self->refused = TRUE;
    }
  post_dtls_psi_close (psi, TRUE);
}

static void
post_dtls_psi_close (PostPsi  *psi,
                     gboolean  abort)
{
  PostDtlsPsi *self = POST_DTLS_PSI (psi);
  State was = self->state;
  gboolean broken = post_dtls_transport_broken (self);

  if (self->state == STATE_CLOSED && self->udp == NULL)
    return;
  self->state = STATE_CLOSED;
  self->interest = 0;
  clear_source (&self->timer_source);
  clear_source (&self->idle_source);
  clear_source (&self->keep_alive_source);

  if (self->handshaking != NULL)
    {
      g_autoptr(GPtrArray) pending = g_steal_pointer (&self->handshaking);

      for (guint i = 0; i < pending->len; i++)
        {
          PostDtlsPsi *child = pending->pdata[i];

          child->listener = NULL;
          post_psi_close (POST_PSI (child), TRUE);
        }
    }
  if (self->udp != NULL)
    {
      if (self->udp_ready_id != 0)
        g_clear_signal_handler (&self->udp_ready_id, self->udp);
      if (self->udp_accepted_id != 0)
        g_clear_signal_handler (&self->udp_accepted_id, self->udp);
      /* close_notify: the peer's carrier ends rather than idles.  An abort
       * is a fatal alert, as a reset is for TCP: the peer's carrier fails
       * with POST_ERROR_CONNECTION_RESET instead of waiting for datagrams
       * that never come (its initiator goes DORMANT). */
      if (was == STATE_ESTABLISHED && self->session != NULL && !broken && !self->refused)
        {
          /* Also when the listener expired the peer (udp.peer-idle-timeout):
           * its client learns that the session is gone. */
          if (abort)
            gnutls_alert_send (self->session, GNUTLS_AL_FATAL, GNUTLS_A_USER_CANCELED);
          else if (self->transport_error == NULL)
            gnutls_bye (self->session, GNUTLS_SHUT_WR);
        }
      post_psi_close (self->udp, abort);
      g_clear_object (&self->udp);
    }
  if (self->connect_task != NULL)
    {
      GSource *idle = g_idle_source_new ();

      g_source_set_callback (idle, connect_fail_closed, g_steal_pointer (&self->connect_task), g_object_unref);
      g_source_set_static_name (idle, "[post] dtls connect closed");
      g_source_attach (idle, self->context);
      g_source_unref (idle);
    }
}

static void
post_dtls_psi_dispose (GObject *object)
{
  PostDtlsPsi *self = POST_DTLS_PSI (object);

  clear_source (&self->timer_source);
  clear_source (&self->idle_source);
  clear_source (&self->keep_alive_source);
  if (self->udp != NULL)
    {
      if (self->udp_ready_id != 0)
        g_clear_signal_handler (&self->udp_ready_id, self->udp);
      if (self->udp_accepted_id != 0)
        g_clear_signal_handler (&self->udp_accepted_id, self->udp);
    }
  G_OBJECT_CLASS (post_dtls_psi_parent_class)->dispose (object);
}

static void
post_dtls_psi_finalize (GObject *object)
{
  PostDtlsPsi *self = POST_DTLS_PSI (object);

  g_clear_object (&self->udp);
  g_clear_pointer (&self->handshaking, g_ptr_array_unref);
  if (self->session != NULL)
    gnutls_deinit (self->session);
  g_clear_pointer (&self->cert, post_gnutls_credentials_unref);   /* after the session that used them */
  g_clear_pointer (&self->psk, gnutls_psk_free_client_credentials);
  g_clear_pointer (&self->server, dtls_server_unref);
  g_clear_pointer (&self->server_name, g_free);
  g_clear_pointer (&self->pending_in, g_bytes_unref);
  g_clear_error (&self->verify_error);
  g_clear_error (&self->transport_error);
  g_clear_object (&self->remote);
  g_clear_pointer (&self->context, g_main_context_unref);

  G_OBJECT_CLASS (post_dtls_psi_parent_class)->finalize (object);
}

static void
post_dtls_psi_constructed (GObject *object)
{
  PostDtlsPsi *self = POST_DTLS_PSI (object);
  GMainContext *context;

  G_OBJECT_CLASS (post_dtls_psi_parent_class)->constructed (object);

  context = post_psi_get_context (POST_PSI (self));
  self->context = context != NULL ? g_main_context_ref (context)
                                  : g_main_context_ref_thread_default ();
}

static void
post_dtls_psi_class_init (PostDtlsPsiClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  PostPsiClass *psi_class = POST_PSI_CLASS (klass);

  object_class->constructed = post_dtls_psi_constructed;
  object_class->dispose = post_dtls_psi_dispose;
  object_class->finalize = post_dtls_psi_finalize;

  psi_class->connect_async = post_dtls_psi_connect_async;
  psi_class->connect_finish = post_dtls_psi_connect_finish;
  psi_class->listen = post_dtls_psi_listen;
  psi_class->send_message = post_dtls_psi_send_message;
  psi_class->send_messages = post_dtls_psi_send_messages;
  psi_class->receive_message = post_dtls_psi_receive_message;
  psi_class->set_interest = post_dtls_psi_set_interest;
  psi_class->close = post_dtls_psi_close;
  psi_class->refuse = post_dtls_psi_refuse;
  psi_class->update_path = post_dtls_psi_update_path;
  psi_class->get_max_message_size = post_dtls_psi_get_max_message_size;
  psi_class->get_security_flags = post_dtls_psi_get_security_flags;
  psi_class->get_peer_details = post_dtls_psi_get_peer_details;
  /* No read/write (not a byte stream), no shutdown_send (DTLS has no half
   * close), no acked offset, no fork, no unconnected mode (a session has
   * one peer), no early data. */
}

static void
post_dtls_psi_init (PostDtlsPsi *self)
{
}
