/* contract-security.c: what a hostile peer or a careless set-up must not
 * get from a stack.
 *
 * - ticket-identity/...: a session ticket the association kept serves only
 *   an association with the same security identity.  Each case connects
 *   with a base association (which stores the tickets the stack gets),
 *   then with an association that differs in one input only: the
 *   pre-shared key's identity, its key, the trust anchors, the pinned
 *   keys, the client certificate, the server name, the ALPN ids.  That
 *   one holds no ticket and does not resume: it makes a full handshake,
 *   or fails with the error its own settings call for (a wrong key, a
 *   pin that matches nothing, an anchor that is missing).  The base
 *   association then still resumes, so the ticket was there to be misused.
 *   Stacks that keep no tickets are checked never to resume; cleartext
 *   stacks to report no security at all.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "post-contract.h"
#include "../post-test-parts.h"

#include <string.h>

#define KEY_A "0123456789abcdef0123456789abcdef"
#define KEY_B "fedcba9876543210fedcba9876543210"
#define KEY_WRONG "0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f"

/* An echo peer; with @psk_only, its local has the pre-shared keys
 * "client-a" and "client-b" and no certificate (so that a key that does
 * not match cannot be made up for by the certificate), otherwise the
 * server identity; with @alpn, the ALPN ids it accepts. */
static void
identity_peer_start_full (PostContractPeer   *peer,
                          gboolean            psk_only,
                          const char * const *alpn,
                          PostConfiguration  *server_config)
{
  g_autoptr(PostConfiguration) config = server_config != NULL ? g_object_ref (server_config)
                                                              : post_contract_server_config ();
  g_autoptr(PostLocal) local = NULL;
  g_autoptr(GError) error = NULL;

  if (psk_only)
    {
      g_autofree char *uri = g_strdup_printf ("%s://127.0.0.1:0", post_contract_stack ()->name);
      g_autoptr(GBytes) a = g_bytes_new_static (KEY_A, 32);
      g_autoptr(GBytes) b = g_bytes_new_static (KEY_B, 32);

      local = post_local_new_from_uri (uri, &error);
      g_assert_no_error (error);
      g_assert_true (post_local_add_pre_shared_key (local, "client-a", a, &error));
      g_assert_true (post_local_add_pre_shared_key (local, "client-b", b, &error));
    }
  else
    local = post_contract_server_local (NULL);
  if (alpn != NULL)
    g_assert_true (post_configuration_set_alpn (config, alpn, &error));
  g_assert_no_error (error);
  peer->echo = TRUE;
  post_contract_peer_start_on (peer, local, config);
}

static void
identity_peer_start (PostContractPeer   *peer,
                     gboolean            psk_only,
                     const char * const *alpn)
{
  identity_peer_start_full (peer, psk_only, alpn, NULL);
}

/* One side of a case: how its association is set up.  NULL members are
 * the defaults: 127.0.0.1, no local, post_contract_config(), no
 * pre-shared key. */
typedef struct
{
  const char        *host;
  PostLocal         *local;
  PostConfiguration *config;
  const char        *psk_identity;
  const char        *psk;
} Side;

static PostAssociation *
association_for (PostContractPeer *peer,
                 const Side       *side)
{
  g_autofree char *uri = g_strdup_printf ("%s://%s:%u", post_contract_stack ()->name,
                                          side->host != NULL ? side->host : "127.0.0.1",
                                          post_contract_port_of (peer->listener));
  g_autoptr(PostRemote) remote = post_remote_new_from_uri (uri, NULL);
  g_autoptr(PostConfiguration) config = side->config != NULL ? g_object_ref (side->config)
                                                             : post_contract_config ();
  PostAssociation *association = post_association_new (side->local, remote, config);

  if (side->psk != NULL)
    {
      g_autoptr(GBytes) key = g_bytes_new_static (side->psk, strlen (side->psk));
      g_autoptr(GError) error = NULL;

      g_assert_true (post_association_set_pre_shared_key (association, side->psk_identity, key, &error));
      g_assert_no_error (error);
    }
  return association;
}

/* A carrier of @association sends a message and waits for its echo;
 * returns its security flags.  With @expect_error (a POST_ERROR code),
 * establishment must fail with it instead, and the flags are NONE. */
static PostSecurityFlags
echo_round (PostAssociation *association,
            int              expect_error)
{
  g_autoptr(PostCarrier) carrier = post_association_initiate (association);
  g_autoptr(PostMessage) message = post_message_new_from_string ("who are you?");
  g_autoptr(GError) error = NULL;
  PostContractWatch watch = { 0 };
  PostContractAsync a = { 0 };
  PostSecurityFlags flags = POST_SECURITY_NONE;

  post_contract_watch (&watch, carrier, TRUE);
  g_assert_true (post_carrier_send (carrier, message, NULL));
  post_carrier_establish_async (carrier, NULL, post_contract_async_cb, &a);
  post_contract_async_wait (&a, 10000, "establishment");
  if (expect_error != 0)
    {
      g_assert_false (post_carrier_establish_finish (carrier, a.result, &error));
      post_contract_assert_error (error, expect_error);
    }
  else
    {
      g_assert_true (post_carrier_establish_finish (carrier, a.result, &error));
      g_assert_no_error (error);
      post_contract_wait_count (&watch.n_received, 1, 5000, "the echo");
      g_assert_cmpstr (watch.bytes->str, ==, "who are you?");
      flags = post_carrier_get_security_flags (carrier);
    }
  post_contract_async_clear (&a);
  post_carrier_abort (carrier);
  post_contract_watch_clear (&watch);
  return flags;
}

/* Whether the stack keeps session tickets in the association: those that
 * send 0-RTT data do (early data needs a ticket). */
static gboolean
keeps_tickets (void)
{
  return post_contract_has (POST_STACK_CAP_SECURE | POST_STACK_CAP_ZERO_RTT);
}

/* Waits (bounded) for @association to hold a ticket. */
static void
wait_ticket (PostAssociation *association)
{
  for (guint i = 0; i < 250 && post_association_get_session_ticket_count (association) == 0; i++)
    post_contract_spin (20);
  if (post_association_get_session_ticket_count (association) == 0)
    g_error ("%s: no session ticket in the association after a full handshake",
             post_contract_stack ()->name);
}

/* The case's body: @base connects (full handshake) and gets a ticket;
 * @variant, which differs in one input, holds none and does not resume
 * (it fails with @variant_error if not 0); @base then resumes. */
static void
check_variant (PostAssociation *base,
               PostAssociation *variant,
               int              variant_error,
               const char      *what)
{
  PostSecurityFlags flags;

  if (!post_contract_has (POST_STACK_CAP_SECURE))
    {
      post_contract_unsupported ("not secure: no security flags, no tickets (%s not applicable)", what);
      g_assert_cmpuint (echo_round (base, 0), ==, POST_SECURITY_NONE);
      g_assert_cmpuint (echo_round (variant, 0), ==, POST_SECURITY_NONE);
      g_assert_cmpuint (post_association_get_session_ticket_count (base), ==, 0);
      return;
    }

  flags = echo_round (base, 0);
  g_assert_true (flags & POST_SECURITY_ENCRYPTED);
  g_assert_false (flags & POST_SECURITY_RESUMED);
  if (keeps_tickets ())
    wait_ticket (base);
  else
    post_contract_unsupported ("keeps no session tickets: checking that it never resumes");

  g_assert_cmpuint (post_association_get_session_ticket_count (variant), ==, 0);
  flags = echo_round (variant, variant_error);
  if (flags & POST_SECURITY_RESUMED)
    g_error ("%s: an association with another %s resumed the base association's session",
             post_contract_stack ()->name, what);

  flags = echo_round (base, 0);
  if (keeps_tickets ())
    g_assert_true (flags & POST_SECURITY_RESUMED);
  else
    g_assert_false (flags & POST_SECURITY_RESUMED);
}

/* Starts the peer (identity_peer_start() with @psk_only and @alpn), and
 * runs check_variant() with the associations of @base and @variant. */
static void
run_case (gboolean            psk_only,
          const char * const *alpn,
          const Side         *base,
          const Side         *variant,
          int                 variant_error,
          const char         *what)
{
  PostContractPeer peer = { 0 };
  g_autoptr(PostAssociation) base_association = NULL;
  g_autoptr(PostAssociation) variant_association = NULL;

  identity_peer_start (&peer, psk_only, alpn);
  base_association = association_for (&peer, base);
  variant_association = association_for (&peer, variant);
  check_variant (base_association, variant_association, variant_error, what);
  post_contract_peer_stop (&peer);
}

static PostLocal *
client_local (gboolean with_identity)
{
  g_autofree char *uri = g_strdup_printf ("%s://*:0", post_contract_stack ()->name);
  g_autoptr(GError) error = NULL;
  PostLocal *local = post_local_new_from_uri (uri, &error);

  g_assert_no_error (error);
  if (with_identity && post_contract_stack ()->certs != NULL)
    {
      g_autofree char *cert = g_build_filename (post_contract_stack ()->certs, "client.pem", NULL);
      g_autofree char *key = g_build_filename (post_contract_stack ()->certs, "client.key", NULL);

      g_assert_true (post_local_set_identity_from_files (local, cert, key, &error));
      g_assert_no_error (error);
    }
  return local;
}

static void
test_psk_identity (void)
{
  Side base = { .psk_identity = "client-a", .psk = KEY_A };
  Side variant = { .psk_identity = "client-b", .psk = KEY_B };

  run_case (TRUE, NULL, &base, &variant, 0, "pre-shared key identity");
}

static void
test_psk_key (void)
{
  Side base = { .psk_identity = "client-a", .psk = KEY_A };
  Side variant = { .psk_identity = "client-a", .psk = KEY_WRONG };

  run_case (TRUE, NULL, &base, &variant, POST_ERROR_TLS_PSK_MISMATCH, "pre-shared key");
}

/* The variant trusts another anchor (the client's certificate) instead
 * of the test CA. */
static void
test_trust_anchors (void)
{
  g_autoptr(PostConfiguration) other = post_contract_config ();
  g_autoptr(GError) error = NULL;
  Side base = { 0 };
  Side variant = { .config = other };

  if (post_contract_stack ()->certs != NULL)
    {
      g_autofree char *client = g_build_filename (post_contract_stack ()->certs, "client.pem", NULL);

      g_assert_true (post_configuration_set_option (other, "tls.anchors", NULL, &error));
      g_assert_true (post_configuration_add_trust_anchor_file (other, client, &error));
      g_assert_no_error (error);
    }
  run_case (FALSE, NULL, &base, &variant, POST_ERROR_TLS_UNKNOWN_AUTHORITY, "set of trust anchors");
}

static void
test_pinned_keys (void)
{
  g_autoptr(PostConfiguration) pinned = post_contract_config ();
  g_autoptr(GError) error = NULL;
  Side base = { 0 };
  Side variant = { .config = pinned };

  /* a pin that matches no key of the server's chain */
  g_assert_true (post_configuration_add_pinned_key (pinned, "sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", &error));
  g_assert_no_error (error);
  run_case (FALSE, NULL, &base, &variant, POST_ERROR_TLS_PIN_MISMATCH, "set of pinned keys");
}

static void
test_client_certificate (void)
{
  g_autoptr(PostLocal) anonymous = client_local (FALSE);
  g_autoptr(PostLocal) with_cert = client_local (TRUE);
  Side base = { .local = anonymous };
  Side variant = { .local = with_cert };

  run_case (FALSE, NULL, &base, &variant, 0, "client certificate");
}

static void
test_server_name (void)
{
  /* The server's certificate is valid for both names.  (A cleartext
   * stack has no name to check: there, localhost would only try ::1
   * first, where nothing listens, and a datagram stack cannot tell.) */
  Side base = { .host = "127.0.0.1" };
  Side variant = { .host = post_contract_has (POST_STACK_CAP_SECURE) ? "localhost" : "127.0.0.1" };

  run_case (FALSE, NULL, &base, &variant, 0, "server name");
}

static void
test_alpn (void)
{
  static const char * const both[] = { "post-a", "post-b", NULL };
  static const char * const a[] = { "post-a", NULL };
  static const char * const b[] = { "post-b", NULL };
  g_autoptr(PostConfiguration) config_a = post_contract_config ();
  g_autoptr(PostConfiguration) config_b = post_contract_config ();
  Side base = { .config = config_a };
  Side variant = { .config = config_b };

  g_assert_true (post_configuration_set_alpn (config_a, a, NULL));
  g_assert_true (post_configuration_set_alpn (config_b, b, NULL));
  run_case (FALSE, both, &base, &variant, 0, "ALPN");
}

/* ---- what the handshake tells (GIO's terms) ----------------------------------- */

/* On a secure stack the initiated carrier's peer certificate is the
 * server's, with no verification errors, and the ALPN protocol is the one
 * both sides named (the client offers one the server does not know first;
 * the server's preference decides); the accepted carrier saw no client
 * certificate and the same protocol.  On other stacks all three are
 * empty.  The properties are notified when the carrier becomes ACTIVE. */
static void
count_notify (GObject    *object,
              GParamSpec *pspec,
              gpointer    user_data)
{
  guint *n = user_data;

  (*n)++;
}

static void
test_peer_details (void)
{
  static const char * const server_alpn[] = { "post-b", "post-a", NULL };
  static const char * const client_alpn[] = { "post-unknown", "post-a", "post-b", NULL };
  PostContractPeer peer = { 0 };
  g_autoptr(PostConfiguration) config = post_contract_config ();
  g_autoptr(PostCarrier) carrier = NULL;
  PostCarrier *accepted;
  guint n_cert = 0, n_errors = 0, n_protocol = 0;
  g_autoptr(GTlsCertificate) certificate = NULL;
  GTlsCertificate *seen;
  g_autoptr(PostMessage) hello = post_message_new_from_string ("hello");

  identity_peer_start (&peer, FALSE, server_alpn);
  g_assert_true (post_configuration_set_alpn (config, client_alpn, NULL));
  carrier = post_contract_initiate (peer.listener, config);
  g_signal_connect (carrier, "notify::peer-certificate", G_CALLBACK (count_notify), &n_cert);
  g_signal_connect (carrier, "notify::peer-certificate-errors", G_CALLBACK (count_notify), &n_errors);
  g_signal_connect (carrier, "notify::negotiated-protocol", G_CALLBACK (count_notify), &n_protocol);
  /* A message, for the stacks whose peer sees a carrier only then. */
  g_assert_true (post_carrier_send (carrier, hello, NULL));
  post_contract_establish (carrier, 5000);
  post_contract_wait_count (&peer.n_received, 1, 5000, "the client's hello");
  accepted = peer.carriers->pdata[0];

  if (!post_contract_has (POST_STACK_CAP_SECURE))
    {
      post_contract_unsupported ("not secure: no peer certificate, no ALPN");
      g_assert_null (post_carrier_get_peer_certificate (carrier));
      g_assert_cmpuint (post_carrier_get_peer_certificate_errors (carrier), ==, 0);
      g_assert_null (post_carrier_get_negotiated_protocol (carrier));
      g_assert_null (post_carrier_get_peer_certificate (accepted));
      g_assert_null (post_carrier_get_negotiated_protocol (accepted));
      post_carrier_abort (carrier);
      post_contract_peer_stop (&peer);
      return;
    }

  g_assert_cmpuint (n_cert, >=, 1);
  g_assert_cmpuint (n_errors, >=, 1);
  g_assert_cmpuint (n_protocol, >=, 1);
  {
    g_autofree char *path = g_build_filename (post_contract_stack ()->certs, "server.pem", NULL);
    g_autoptr(GError) error = NULL;

    certificate = g_tls_certificate_new_from_file (path, &error);
    g_assert_no_error (error);
  }
  seen = post_carrier_get_peer_certificate (carrier);
  g_assert_nonnull (seen);
  g_assert_true (G_IS_TLS_CERTIFICATE (seen));
  if (!g_tls_certificate_is_same (seen, certificate))
    g_error ("%s: the peer certificate is not the server's", post_contract_stack ()->name);
  g_assert_cmpuint (post_carrier_get_peer_certificate_errors (carrier), ==, 0);
  g_assert_cmpstr (post_carrier_get_negotiated_protocol (carrier), ==, "post-b");
  {
    g_autofree char *protocol = NULL;
    g_autoptr(GTlsCertificate) property = NULL;

    g_object_get (carrier, "negotiated-protocol", &protocol, "peer-certificate", &property, NULL);
    g_assert_cmpstr (protocol, ==, "post-b");
    g_assert_true (property == seen);
  }
  /* The server's side: no client certificate was asked for. */
  g_assert_null (post_carrier_get_peer_certificate (accepted));
  g_assert_cmpstr (post_carrier_get_negotiated_protocol (accepted), ==, "post-b");
  /* A listener has no peer. */
  g_assert_null (post_carrier_get_peer_certificate (peer.listener));
  g_assert_null (post_carrier_get_negotiated_protocol (peer.listener));
  post_carrier_abort (carrier);
  post_contract_peer_stop (&peer);
}

/* ---- errors that must not pass for time-outs -------------------------------- */

/* A connection timeout much longer than the wait for the failure: a
 * failure that comes only at the timeout fails the case. */
#define LONG_CONN_TIMEOUT_MS 60000
#define PROMPT_MS            5000

static PostConfiguration *
long_timeout_config (void)
{
  PostConfiguration *config = post_contract_config ();

  g_assert_true (post_configuration_set_conn_timeout (config, LONG_CONN_TIMEOUT_MS, NULL));
  return config;
}

/* Establishes a carrier of @association and returns the error it fails
 * with within @wait_ms, or NULL when it became ACTIVE.  With @late, an
 * error that closes the carrier within @wait_ms of its establishment
 * counts too (a TLS 1.3 client has finished its handshake when the server
 * checks the client's certificate). */
static GError *
establish_error (PostAssociation *association,
                 guint            wait_ms,
                 gboolean         late)
{
  g_autoptr(PostCarrier) carrier = post_association_initiate (association);
  PostContractWatch watch = { 0 };
  PostContractAsync a = { 0 };
  GError *error = NULL;

  post_contract_watch (&watch, carrier, TRUE);
  post_carrier_establish_async (carrier, NULL, post_contract_async_cb, &a);
  post_contract_async_wait (&a, wait_ms, "the establishment's outcome");
  if (!post_carrier_establish_finish (carrier, a.result, &error))
    g_test_message ("%s: %s", post_contract_stack ()->name, error->message);
  else if (late)
    {
      /* The carrier closes, or goes dormant (an initiated carrier whose
       * transport failed): either way it says why. */
      g_test_message ("%s: established; waiting for the peer's verdict", post_contract_stack ()->name);
      for (guint i = 0; i < wait_ms / 20 && post_carrier_get_state (carrier) == POST_CARRIER_STATE_ACTIVE; i++)
        post_contract_spin (20);
      if (post_carrier_get_state (carrier) == POST_CARRIER_STATE_ACTIVE)
        g_error ("%s: the carrier is still active %u ms after the peer refused it",
                 post_contract_stack ()->name, wait_ms);
      if (post_carrier_get_error (carrier) != NULL)
        {
          error = g_error_copy (post_carrier_get_error (carrier));
          g_test_message ("%s: then: %s", post_contract_stack ()->name, error->message);
        }
    }
  post_contract_async_clear (&a);
  post_carrier_abort (carrier);
  post_contract_watch_clear (&watch);
  return error;
}

/* A client whose @side fails against a peer (identity_peer_start() with
 * @psk_only and @server_config) fails promptly with @code, not at the
 * connection timeout; a cleartext stack connects. */
static void
expect_prompt_error (gboolean           psk_only,
                     PostConfiguration *server_config,
                     const Side        *side,
                     gboolean           late,
                     int                code)
{
  PostContractPeer peer = { 0 };
  g_autoptr(PostAssociation) association = NULL;
  g_autoptr(GError) error = NULL;

  identity_peer_start_full (&peer, psk_only, NULL, server_config);
  association = association_for (&peer, side);
  error = establish_error (association, PROMPT_MS, late && post_contract_has (POST_STACK_CAP_SECURE));
  if (!post_contract_has (POST_STACK_CAP_SECURE))
    {
      post_contract_unsupported ("not secure: nothing to fail");
      g_assert_no_error (error);
    }
  else
    post_contract_assert_error (error, code);
  g_assert_cmpuint (peer.n_received, ==, 0);
  post_contract_peer_stop (&peer);
}

static void
test_error_untrusted_server (void)
{
  g_autoptr(PostConfiguration) config = long_timeout_config ();
  Side side = { .config = config };

  if (post_contract_stack ()->certs != NULL)
    {
      g_autofree char *client = g_build_filename (post_contract_stack ()->certs, "client.pem", NULL);

      g_assert_true (post_configuration_set_option (config, "tls.anchors", NULL, NULL));
      g_assert_true (post_configuration_add_trust_anchor_file (config, client, NULL));
    }
  expect_prompt_error (FALSE, NULL, &side, FALSE, POST_ERROR_TLS_UNKNOWN_AUTHORITY);
}

/* A server with ALPN refuses a client that offers none of its protocols
 * (RFC 7301 3.2, RFC 9001 8.1: the no_application_protocol alert) instead
 * of completing a handshake that negotiated nothing; the client is told
 * promptly, not at its connection timeout. */
static void
test_error_no_common_alpn (void)
{
  static const char * const server_alpn[] = { "post-a", NULL };
  static const char * const client_alpn[] = { "post-b", "post-c", NULL };
  PostContractPeer peer = { 0 };
  g_autoptr(PostConfiguration) config = long_timeout_config ();
  Side side = { .config = config };
  g_autoptr(PostAssociation) association = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (post_configuration_set_alpn (config, client_alpn, NULL));
  identity_peer_start_full (&peer, FALSE, server_alpn, NULL);
  association = association_for (&peer, &side);
  error = establish_error (association, PROMPT_MS, FALSE);
  if (!post_contract_has (POST_STACK_CAP_SECURE))
    {
      post_contract_unsupported ("not secure: no ALPN to negotiate");
      g_assert_no_error (error);
    }
  else
    post_contract_assert_error (error, POST_ERROR_TLS_HANDSHAKE);
  post_contract_peer_stop (&peer);
}

static void
test_error_psk_mismatch (void)
{
  g_autoptr(PostConfiguration) config = long_timeout_config ();
  Side side = { .config = config, .psk_identity = "client-a", .psk = KEY_WRONG };

  expect_prompt_error (TRUE, NULL, &side, FALSE, POST_ERROR_TLS_PSK_MISMATCH);
}

static void
test_error_unknown_psk_identity (void)
{
  g_autoptr(PostConfiguration) config = long_timeout_config ();
  Side side = { .config = config, .psk_identity = "client-z", .psk = KEY_A };

  expect_prompt_error (TRUE, NULL, &side, FALSE, POST_ERROR_TLS_PSK_MISMATCH);
}

/* The listener trusts only its own certificate as an anchor, so it asks
 * for a client certificate and rejects the client's (issued by the test
 * CA). */
static void
test_error_client_rejected (void)
{
  g_autoptr(PostConfiguration) config = long_timeout_config ();
  g_autoptr(PostConfiguration) server_config = post_contract_server_config ();
  g_autoptr(PostLocal) with_cert = client_local (TRUE);
  Side side = { .config = config, .local = with_cert };

  if (post_contract_stack ()->certs != NULL)
    {
      g_autofree char *server = g_build_filename (post_contract_stack ()->certs, "server.pem", NULL);

      g_assert_true (post_configuration_set_use_system_trust (server_config, FALSE, NULL));
      g_assert_true (post_configuration_add_trust_anchor_file (server_config, server, NULL));
    }
  expect_prompt_error (FALSE, server_config, &side, TRUE, POST_ERROR_TLS_REJECTED);
}

/* A server that does not speak the stack's protocol, on one port number
 * for TCP and UDP both (whichever the stack uses): with @answer, it
 * answers whatever comes with it (and then ends a TCP connection); without,
 * it never answers (and never accepts: the kernel completes TCP's
 * handshake).  It counts what it answered on each. */
typedef struct
{
  GSocket    *tcp;          /* (owned) listening */
  GSocket    *udp;          /* (owned) bound */
  GPtrArray  *accepted;     /* (owned) (element-type GSocket) */
  GPtrArray  *sources;      /* (owned) (element-type GSource) */
  const char *answer;
  guint16     port;
  guint       n_tcp, n_udp;
} RawPeer;

static void raw_watch (RawPeer *raw, GSocket *socket, GSocketSourceFunc func);

static gboolean
raw_conn_cb (GSocket      *socket,
             GIOCondition  condition,
             gpointer      user_data)
{
  RawPeer *raw = user_data;
  char buffer[4096];
  gssize n = g_socket_receive (socket, buffer, sizeof buffer, NULL, NULL);

  if (n > 0)
    {
      g_socket_send (socket, raw->answer, strlen (raw->answer), NULL, NULL);
      raw->n_tcp++;
    }
  g_socket_shutdown (socket, FALSE, TRUE, NULL);
  return G_SOURCE_REMOVE;
}

static gboolean
raw_accept_cb (GSocket      *socket,
               GIOCondition  condition,
               gpointer      user_data)
{
  RawPeer *raw = user_data;
  GSocket *conn = g_socket_accept (socket, NULL, NULL);

  if (conn != NULL)
    {
      g_socket_set_blocking (conn, FALSE);
      g_ptr_array_add (raw->accepted, conn);
      raw_watch (raw, conn, raw_conn_cb);
    }
  return G_SOURCE_CONTINUE;
}

static gboolean
raw_datagram_cb (GSocket      *socket,
                 GIOCondition  condition,
                 gpointer      user_data)
{
  RawPeer *raw = user_data;
  char buffer[4096];
  g_autoptr(GSocketAddress) from = NULL;

  if (g_socket_receive_from (socket, &from, buffer, sizeof buffer, NULL, NULL) > 0)
    {
      g_socket_send_to (socket, from, raw->answer, strlen (raw->answer), NULL, NULL);
      raw->n_udp++;
    }
  return G_SOURCE_CONTINUE;
}

static void
raw_watch (RawPeer           *raw,
           GSocket           *socket,
           GSocketSourceFunc  func)
{
  GSource *source = g_socket_create_source (socket, G_IO_IN, NULL);

  g_source_set_callback (source, (GSourceFunc) (GCallback) func, raw, NULL);
  g_source_attach (source, NULL);
  g_ptr_array_add (raw->sources, source);
}

static GSocket *
raw_socket (GSocketType   type,
            guint16       port,
            GError      **error)
{
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, port);
  g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, type, G_SOCKET_PROTOCOL_DEFAULT, error);

  if (socket == NULL || !g_socket_bind (socket, address, FALSE, error))
    return NULL;
  g_socket_set_blocking (socket, FALSE);
  return g_steal_pointer (&socket);
}

static void
raw_peer_start (RawPeer    *raw,
                const char *answer)
{
  g_autoptr(GError) error = NULL;

  raw->answer = answer;
  raw->accepted = g_ptr_array_new_with_free_func (g_object_unref);
  raw->sources = g_ptr_array_new ();
  /* a TCP port whose number is free for UDP too (a few tries) */
  for (guint i = 0; i < 20 && raw->udp == NULL; i++)
    {
      g_autoptr(GSocketAddress) bound = NULL;

      g_clear_object (&raw->tcp);
      raw->tcp = raw_socket (G_SOCKET_TYPE_STREAM, 0, &error);
      g_assert_no_error (error);
      bound = g_socket_get_local_address (raw->tcp, &error);
      g_assert_no_error (error);
      raw->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
      raw->udp = raw_socket (G_SOCKET_TYPE_DATAGRAM, raw->port, NULL);
    }
  g_assert_nonnull (raw->udp);
  g_assert_true (g_socket_listen (raw->tcp, &error));
  g_assert_no_error (error);
  if (answer != NULL)
    {
      raw_watch (raw, raw->tcp, raw_accept_cb);
      raw_watch (raw, raw->udp, raw_datagram_cb);
    }
}

static void
raw_peer_stop (RawPeer *raw)
{
  for (guint i = 0; i < raw->sources->len; i++)
    {
      g_source_destroy (raw->sources->pdata[i]);
      g_source_unref (raw->sources->pdata[i]);
    }
  g_ptr_array_unref (raw->sources);
  g_ptr_array_unref (raw->accepted);
  g_socket_close (raw->tcp, NULL);
  g_socket_close (raw->udp, NULL);
  g_object_unref (raw->tcp);
  g_object_unref (raw->udp);
}

static PostAssociation *
raw_association (RawPeer           *raw,
                 PostConfiguration *config)
{
  g_autofree char *uri = g_strdup_printf ("%s://127.0.0.1:%u", post_contract_stack ()->name, raw->port);
  g_autoptr(PostRemote) remote = post_remote_new_from_uri (uri, NULL);

  return post_association_new (NULL, remote, config);
}

/* A secure client whose server answers something else fails: at once,
 * naming what came, over TCP.  A datagram protocol cannot tell garbage
 * from a forgery (DTLS and QUIC drop what does not parse, RFC 6347
 * 4.1.2.7, RFC 9000 12.2): there the attempt goes on until its
 * connection timeout (no-answer checks how that ends). */
static void
test_error_not_the_protocol (void)
{
  RawPeer raw = { 0 };
  g_autoptr(PostConfiguration) config = long_timeout_config ();
  g_autoptr(PostAssociation) association = NULL;
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(GError) error = NULL;
  PostContractAsync a = { 0 };

  raw_peer_start (&raw, "HTTP/1.0 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
  association = raw_association (&raw, config);
  carrier = post_association_initiate (association);
  post_carrier_establish_async (carrier, NULL, post_contract_async_cb, &a);
  for (guint i = 0; i < PROMPT_MS / 20 && !a.done; i++)
    post_contract_spin (20);
  if (a.done && !post_carrier_establish_finish (carrier, a.result, &error))
    g_test_message ("%s: %s", post_contract_stack ()->name, error->message);
  g_test_message ("answered %u over TCP, %u over UDP", raw.n_tcp, raw.n_udp);
  if (!post_contract_has (POST_STACK_CAP_SECURE))
    {
      /* A cleartext stack does not read the peer before it is
       * established (tcp, udp), or its transport's handshake does not
       * reach a TCP or UDP socket (sctp): no security to report either way. */
      post_contract_unsupported ("not secure: nothing in the peer's answer to check");
      if (a.done && error == NULL)
        g_assert_cmpuint (post_carrier_get_security_flags (carrier), ==, POST_SECURITY_NONE);
    }
  else if (raw.n_udp > 0)
    {
      post_contract_unsupported ("a datagram protocol drops what does not parse: the attempt waits for its timeout");
      g_assert_false (a.done);
    }
  else
    {
      g_assert_true (a.done);
      g_assert_cmpuint (raw.n_tcp, >, 0);
      post_contract_assert_error (error, POST_ERROR_TLS_HANDSHAKE);
      /* the message tells what came back */
      if (strstr (error->message, "HTTP/1.0 400 Bad Request") == NULL)
        g_error ("%s: the error does not show what the server sent: %s", post_contract_stack ()->name, error->message);
    }
  post_carrier_abort (carrier);
  if (!a.done)
    post_contract_async_wait (&a, PROMPT_MS, "the aborted establishment");
  post_contract_async_clear (&a);
  raw_peer_stop (&raw);
}

/* A server that never answers: a secure stack (or any with a handshake)
 * reports its connection timeout, saying that no answer came. */
static void
test_error_no_answer (void)
{
  RawPeer raw = { 0 };
  g_autoptr(PostConfiguration) config = post_contract_config ();
  g_autoptr(PostAssociation) association = NULL;
  g_autoptr(GError) error = NULL;

  raw_peer_start (&raw, NULL);
  g_assert_true (post_configuration_set_conn_timeout (config, 1000, NULL));
  association = raw_association (&raw, config);
  error = establish_error (association, PROMPT_MS, FALSE);
  if (!post_contract_has (POST_STACK_CAP_SECURE) && error == NULL)
    post_contract_unsupported ("not secure, and established without an answer");
  else
    {
      post_contract_assert_error (error, POST_ERROR_TIMED_OUT);
      if (strstr (error->message, "no answer") == NULL)
        g_error ("%s: the time-out does not say that no answer came: %s", post_contract_stack ()->name, error->message);
    }
  raw_peer_stop (&raw);
}

/* ---- truncation -------------------------------------------------------------- */

/* The peer sends the first part of a message, then its transport ends
 * (its carrier and listener abort: a TCP reset, a QUIC connection
 * close): the receiver gets the part, and then an error, never the
 * message's end.  A stack that keeps message boundaries itself, with no
 * byte stream, sends a message's parts as one message once it is complete:
 * there a message cut before its end never arrives at all. */
static void
test_truncated_by_abort (void)
{
  PostContractPeer peer = { 0 };
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(PostMessage) hello = post_message_new_from_string ("hello");
  g_autoptr(PostMessage) cut = post_message_new (NULL);
  g_autoptr(GBytes) half = g_bytes_new_static ("the first half", 14);
  PostCarrier *accepted;
  PostContractAsync a = { 0 };
  PostTestParts parts = { 0 };

  peer.echo = FALSE;
  post_contract_peer_start (&peer, NULL);
  carrier = post_contract_initiate (peer.listener, NULL);
  g_assert_true (post_carrier_send (carrier, hello, NULL));
  post_contract_establish (carrier, 5000);
  post_contract_wait_count (&peer.n_received, 1, 5000, "the client's hello");
  accepted = peer.carriers->pdata[peer.carriers->len - 1];

  post_test_parts_start (&parts, carrier, FALSE);
  post_carrier_send_partial_async (accepted, cut, half, FALSE, NULL, post_contract_async_cb, &a);
  post_contract_async_wait (&a, 5000, "the first part's send");
  g_assert_true (post_carrier_send_partial_finish (accepted, a.result, NULL));
  post_contract_async_clear (&a);
  if (post_contract_has (POST_STACK_CAP_BYTE_STREAM))
    {
      for (guint i = 0; i < 250 && parts.received->len < 14 && !parts.done; i++)
        post_contract_spin (20);
      g_assert_cmpstr (parts.received->str, ==, "the first half");
    }
  post_contract_peer_stop (&peer);  /* aborts the accepted carrier and the listener */

  if (post_contract_has (POST_STACK_CAP_BYTE_STREAM))
    {
      post_contract_wait_count (&parts.done, 1, 10000, "the end of receiving");
      g_assert_nonnull (parts.error);
      g_test_message ("%s: receiving ended: %s (code %d)", post_contract_stack ()->name,
                      parts.error->message, parts.error->code);
      g_assert_false (parts.complete);
      g_assert_true (parts.error->domain == POST_ERROR);
      g_assert_cmpint (parts.error->code, !=, POST_ERROR_CLOSED);
    }
  else
    {
      post_contract_unsupported ("no byte stream: a message goes whole once complete, nothing to cut inside it");
      post_contract_spin (200);
      g_assert_cmpuint (parts.n_parts, ==, 0);
    }
  post_carrier_abort (carrier);
  if (!parts.done)
    post_contract_wait_count (&parts.done, 1, 5000, "the receive to end after the abort");
  post_test_parts_clear (&parts);
}

void
post_contract_add_security_cases (void)
{
  post_contract_add ("security/ticket-identity/psk-identity", test_psk_identity);
  post_contract_add ("security/ticket-identity/psk-key", test_psk_key);
  post_contract_add ("security/ticket-identity/trust-anchors", test_trust_anchors);
  post_contract_add ("security/ticket-identity/pinned-keys", test_pinned_keys);
  post_contract_add ("security/ticket-identity/client-certificate", test_client_certificate);
  post_contract_add ("security/ticket-identity/server-name", test_server_name);
  post_contract_add ("security/ticket-identity/alpn", test_alpn);
  post_contract_add ("security/peer-details", test_peer_details);
  post_contract_add ("security/errors/untrusted-server", test_error_untrusted_server);
  post_contract_add ("security/errors/no-common-alpn", test_error_no_common_alpn);
  post_contract_add ("security/errors/psk-mismatch", test_error_psk_mismatch);
  post_contract_add ("security/errors/unknown-psk-identity", test_error_unknown_psk_identity);
  post_contract_add ("security/errors/client-rejected", test_error_client_rejected);
  post_contract_add ("security/errors/not-the-protocol", test_error_not_the_protocol);
  post_contract_add ("security/errors/no-answer", test_error_no_answer);
  post_contract_add ("security/truncation/abort-mid-message", test_truncated_by_abort);
}
