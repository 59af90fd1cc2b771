/* test-tls.c: the `tls` stack: verification and its errors, resumption
 * through the association, pre-shared keys, 0-RTT, and interop with
 * gnutls-serv, gnutls-cli, openssl s_server and openssl s_client.
 *
 * Certificates are made at test time with certtool in a temporary
 * directory; peers are child processes on 127.0.0.1 ephemeral ports, always
 * killed.  Nothing here uses the network beyond the loopback.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <post.h>

#include "post-test-util.h"
#include "post-test-parts.h"
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <sys/wait.h>
#include <gnutls/gnutls.h>

#define WAIT_TIMEOUT_S 15

static char *dir;  /* the certificates */

/* ---- helpers ------------------------------------------------------------- */

/* Sends @text (idempotent if asked) on a new carrier of @association,
 * waits for the echo and returns the carrier's security flags. */
static PostSecurityFlags
echo_round (PostAssociation *association,
            const char      *text,
            gboolean         idempotent,
            guint            expect_messages)
{
  g_autoptr(PostCarrier) carrier = post_association_initiate (association);
  g_autoptr(PostMessage) message = post_message_new_from_string (text);
  PostTestClient c = { 0 };
  PostSecurityFlags flags;

  c.received = g_string_new (NULL);
  g_assert_true (post_message_set_idempotent (message, idempotent, NULL));
  g_assert_true (post_carrier_send (carrier, message, NULL));
  post_carrier_ready (carrier, post_test_client_message_cb, &c, NULL);
  post_carrier_establish_async (carrier, NULL, post_test_established_cb, &c);
  post_test_wait_count (&c.done, 1, "establishment", WAIT_TIMEOUT_S);
  g_assert_no_error (c.error);
  g_assert_cmpstr (post_carrier_get_stack_name (carrier), ==, "tls");
  post_test_wait_count (&c.n_received, 1, "the echo", WAIT_TIMEOUT_S);
  /* The ticket comes with the first records; give a late duplicate a chance. */
  post_test_spin (100);
  g_assert_cmpuint (c.n_received, ==, expect_messages);
  g_assert_cmpstr (c.received->str, ==, text);
  flags = post_carrier_get_security_flags (carrier);
  post_carrier_abort (carrier);
  g_string_free (c.received, TRUE);
  return flags;
}

static PostAssociation *
association_for (guint16            port,
                 PostConfiguration *config)
{
  g_autofree char *uri = g_strdup_printf ("tls://127.0.0.1:%u", port);
  g_autoptr(PostRemote) remote = post_remote_new_from_uri (uri, NULL);

  return post_association_new (NULL, remote, config);
}

/* ---- a post listener -------------------------------------------------------- */

static void
test_echo_and_resume (void)
{
  g_autoptr(PostLocal) local = post_test_server_local ("tls://127.0.0.1:0", dir, "server");
  g_autoptr(PostConfiguration) config = post_test_client_config (dir);
  g_autoptr(PostCarrier) listener = NULL;
  g_autoptr(PostAssociation) association = NULL;
  PostTestEcho echo = { 0 };
  PostSecurityFlags flags;

  listener = post_test_echo_listen (&echo, local, NULL, "tls");
  association = association_for (post_test_port_of (listener), config);

  flags = echo_round (association, "full handshake", FALSE, 1);
  g_assert_true (flags & POST_SECURITY_ENCRYPTED);
  g_assert_false (flags & POST_SECURITY_RESUMED);
  g_assert_cmpuint (post_association_get_session_ticket_count (association), >, 0);

  /* Resumption on a second carrier of the same association */
  flags = echo_round (association, "resumed", FALSE, 1);
  g_assert_true (flags & POST_SECURITY_RESUMED);
  g_assert_false (flags & POST_SECURITY_EARLY_DATA_SENT);

  /* 0-RTT: an idempotent message queued before establishment */
  flags = echo_round (association, "early hello", TRUE, 1);
  g_assert_true (flags & POST_SECURITY_RESUMED);
  g_assert_true (flags & POST_SECURITY_EARLY_DATA_SENT);
  g_assert_true (flags & POST_SECURITY_EARLY_DATA_ACCEPTED);

  post_test_echo_clear (&echo);
  post_carrier_abort (listener);
}

/* The server refuses early data: it is resent after the handshake and
 * delivered once. */
static void
test_early_data_rejected (void)
{
  g_autoptr(PostLocal) local = post_test_server_local ("tls://127.0.0.1:0", dir, "server");
  g_autoptr(PostConfiguration) config = post_test_client_config (dir);
  g_autoptr(PostConfiguration) server_config = post_configuration_new ();
  g_autoptr(PostCarrier) listener = NULL;
  g_autoptr(PostAssociation) association = NULL;
  PostTestEcho echo = { 0 };
  PostSecurityFlags flags;

  g_assert_true (post_configuration_set_option (server_config, "tls.server-early-data",
                                                g_variant_new_boolean (FALSE), NULL));
  listener = post_test_echo_listen (&echo, local, server_config, "tls");
  association = association_for (post_test_port_of (listener), config);
  echo_round (association, "first", FALSE, 1);
  flags = echo_round (association, "early but refused", TRUE, 1);
  g_assert_true (flags & POST_SECURITY_RESUMED);
  g_assert_true (flags & POST_SECURITY_EARLY_DATA_SENT);
  g_assert_false (flags & POST_SECURITY_EARLY_DATA_ACCEPTED);
  g_assert_cmpuint (echo.n_messages, ==, 2);

  post_test_echo_clear (&echo);
  post_carrier_abort (listener);
}

static void
test_psk_only (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PostLocal) local = post_local_new_from_uri ("tls://127.0.0.1:0", NULL);
  g_autoptr(PostConfiguration) config = post_configuration_new ();
  g_autoptr(GBytes) key = g_bytes_new_static ("0123456789abcdef0123456789abcdef", 32);
  g_autoptr(PostCarrier) listener = NULL;
  g_autoptr(PostAssociation) association = NULL;
  PostTestEcho echo = { 0 };
  PostSecurityFlags flags;

  g_assert_true (post_local_add_pre_shared_key (local, "client-1", key, &error));
  g_assert_no_error (error);
  listener = post_test_echo_listen (&echo, local, NULL, "tls");

  /* No certificate anywhere, and no trust store. */
  g_assert_true (post_configuration_set_use_system_trust (config, FALSE, NULL));
  association = association_for (post_test_port_of (listener), config);
  g_assert_true (post_association_set_pre_shared_key (association, "client-1", key, &error));
  flags = echo_round (association, "psk", FALSE, 1);
  g_assert_true (flags & POST_SECURITY_ENCRYPTED);
  g_assert_true (flags & POST_SECURITY_PSK);

  post_test_echo_clear (&echo);
  post_carrier_abort (listener);
}

/* Establishment to @listener's port with @config fails with @code. */
static void
expect_failure (guint16            port,
                PostConfiguration *config,
                const char        *psk_identity,
                GBytes            *psk,
                int                code,
                const char        *what)
{
  g_autoptr(PostAssociation) association = association_for (port, config);
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(PostMessage) message = post_message_new_from_string ("never");
  PostTestClient c = { 0 };

  if (psk != NULL)
    g_assert_true (post_association_set_pre_shared_key (association, psk_identity, psk, NULL));
  carrier = post_association_initiate (association);
  post_carrier_send (carrier, message, NULL);
  post_carrier_establish_async (carrier, NULL, post_test_established_cb, &c);
  post_test_wait_count (&c.done, 1, what, WAIT_TIMEOUT_S);
  g_assert_nonnull (c.error);
  g_test_message ("%s: %s", what, c.error->message);
  g_assert_error (c.error, POST_ERROR, code);
  g_assert_cmpint (post_carrier_get_state (carrier), ==, POST_CARRIER_STATE_CLOSED);
  g_clear_error (&c.error);
}

static void
test_errors (void)
{
  struct { const char *cert; int code; const char *what; } cases[] = {
    { "rogue", POST_ERROR_TLS_UNKNOWN_AUTHORITY, "unknown authority" },
    { "wrongname", POST_ERROR_TLS_NAME_MISMATCH, "name mismatch" },
    { "expired", POST_ERROR_TLS_EXPIRED, "expired" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(PostLocal) local = post_test_server_local ("tls://127.0.0.1:0", dir, cases[i].cert);
      g_autoptr(PostConfiguration) config = post_test_client_config (dir);
      g_autoptr(PostCarrier) listener = NULL;
      PostTestEcho echo = { 0 };

      listener = post_test_echo_listen (&echo, local, NULL, "tls");
      expect_failure (post_test_port_of (listener), config, NULL, NULL, cases[i].code, cases[i].what);
      g_assert_cmpuint (echo.n_accepted, ==, 0);
      post_test_echo_clear (&echo);
      post_carrier_abort (listener);
    }

  /* A pin that matches nothing */
  {
    g_autoptr(PostLocal) local = post_test_server_local ("tls://127.0.0.1:0", dir, "server");
    g_autoptr(PostConfiguration) config = post_test_client_config (dir);
    g_autoptr(PostCarrier) listener = NULL;
    PostTestEcho echo = { 0 };

    g_assert_true (post_configuration_add_pinned_key (config, "sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", NULL));
    listener = post_test_echo_listen (&echo, local, NULL, "tls");
    expect_failure (post_test_port_of (listener), config, NULL, NULL, POST_ERROR_TLS_PIN_MISMATCH, "pin mismatch");
    post_test_echo_clear (&echo);
    post_carrier_abort (listener);
  }

  /* Protocol version: the server allows only TLS 1.3 (the default), the
   * client only 1.2 */
  {
    g_autoptr(PostLocal) local = post_test_server_local ("tls://127.0.0.1:0", dir, "server");
    g_autoptr(PostConfiguration) config = post_test_client_config (dir);
    g_autoptr(PostCarrier) listener = NULL;
    PostTestEcho echo = { 0 };

    g_assert_true (post_configuration_set_tls_versions (config, POST_TLS_VERSION_1_2, POST_TLS_VERSION_1_2, NULL));
    listener = post_test_echo_listen (&echo, local, NULL, "tls");
    expect_failure (post_test_port_of (listener), config, NULL, NULL, POST_ERROR_TLS_PROTOCOL_VERSION, "protocol version");
    post_test_echo_clear (&echo);
    post_carrier_abort (listener);
  }

  /* PSK mismatch: same identity, another key */
  {
    g_autoptr(PostLocal) local = post_local_new_from_uri ("tls://127.0.0.1:0", NULL);
    g_autoptr(PostConfiguration) config = post_configuration_new ();
    g_autoptr(GBytes) key = g_bytes_new_static ("0123456789abcdef0123456789abcdef", 32);
    g_autoptr(GBytes) other = g_bytes_new_static ("fedcba9876543210fedcba9876543210", 32);
    g_autoptr(PostCarrier) listener = NULL;
    PostTestEcho echo = { 0 };

    g_assert_true (post_local_add_pre_shared_key (local, "client-1", key, NULL));
    g_assert_true (post_configuration_set_use_system_trust (config, FALSE, NULL));
    listener = post_test_echo_listen (&echo, local, NULL, "tls");
    expect_failure (post_test_port_of (listener), config, "client-1", other, POST_ERROR_TLS_PSK_MISMATCH, "psk mismatch");
    post_test_echo_clear (&echo);
    post_carrier_abort (listener);
  }
}

/* Client credentials are shared by the carriers of the same trust
 * (plugins/common/post-gnutls-trust.c): a configuration with other
 * anchors, or none, must never be served the credentials made for another,
 * whichever came first, and sharing must not end verification. */
static void
test_shared_trust (void)
{
  g_autoptr(PostLocal) server_local = post_test_server_local ("tls://127.0.0.1:0", dir, "server");
  g_autoptr(PostLocal) rogue_local = post_test_server_local ("tls://127.0.0.1:0", dir, "rogue");
  g_autoptr(PostCarrier) server = NULL, rogue = NULL;
  g_autoptr(PostConfiguration) ca = post_test_client_config (dir);
  g_autoptr(PostConfiguration) ca_again = post_test_client_config (dir);
  g_autoptr(PostConfiguration) both = post_test_client_config (dir);
  g_autoptr(PostConfiguration) none = post_configuration_new ();
  g_autoptr(PostAssociation) a = NULL;
  g_autofree char *rogue_pem = post_test_certs_path (dir, "rogue.pem");
  g_autoptr(GError) error = NULL;
  PostTestEcho server_echo = { 0 }, rogue_echo = { 0 };

  server = post_test_echo_listen (&server_echo, server_local, NULL, "tls");
  rogue = post_test_echo_listen (&rogue_echo, rogue_local, NULL, "tls");
  g_assert_true (post_configuration_add_trust_anchor_file (both, rogue_pem, &error));
  g_assert_no_error (error);
  g_assert_true (post_configuration_set_use_system_trust (none, FALSE, NULL));

  /* The test CA's credentials first, twice (the second shares them). */
  a = association_for (post_test_port_of (server), ca);
  echo_round (a, "ca", FALSE, 1);
  g_clear_object (&a);
  a = association_for (post_test_port_of (server), ca_again);
  echo_round (a, "ca again", FALSE, 1);
  g_clear_object (&a);
  expect_failure (post_test_port_of (rogue), ca_again, NULL, NULL, POST_ERROR_TLS_UNKNOWN_AUTHORITY,
                  "rogue with the test CA only");

  /* One more anchor: other credentials, which trust the rogue too... */
  a = association_for (post_test_port_of (rogue), both);
  echo_round (a, "rogue trusted", FALSE, 1);
  g_clear_object (&a);
  /* ...and are not the test CA's: those still refuse the rogue. */
  expect_failure (post_test_port_of (rogue), ca, NULL, NULL, POST_ERROR_TLS_UNKNOWN_AUTHORITY,
                  "rogue after a configuration that trusts it");

  /* No anchors and no system store: nothing is trusted. */
  expect_failure (post_test_port_of (server), none, NULL, NULL, POST_ERROR_TLS_UNKNOWN_AUTHORITY,
                  "no trust after shared credentials");

  /* A copy of a used (frozen) configuration that adds the rogue: new trust. */
  {
    g_autoptr(PostConfiguration) copy = post_configuration_copy (ca);

    expect_failure (post_test_port_of (rogue), copy, NULL, NULL, POST_ERROR_TLS_UNKNOWN_AUTHORITY,
                    "the copy before its new anchor");
    g_clear_object (&copy);
    copy = post_configuration_copy (ca);
    g_assert_true (post_configuration_add_trust_anchor_file (copy, rogue_pem, &error));
    g_assert_no_error (error);
    a = association_for (post_test_port_of (rogue), copy);
    echo_round (a, "the copy trusts the rogue", FALSE, 1);
    g_clear_object (&a);
  }

  post_test_echo_clear (&server_echo);
  post_test_echo_clear (&rogue_echo);
  post_carrier_abort (server);
  post_carrier_abort (rogue);
}

/* Verification callback: the application accepts what libpost refuses. */
static gboolean
accept_all (GPtrArray       *chain,
            const char      *server_name,
            PostTrustErrors  errors,
            gpointer         user_data)
{
  PostTrustErrors *seen = user_data;

  *seen = errors;
  g_assert_cmpuint (chain->len, >, 0);
  return TRUE;
}

static void
test_verify_callback (void)
{
  g_autoptr(PostLocal) local = post_test_server_local ("tls://127.0.0.1:0", dir, "rogue");
  g_autoptr(PostConfiguration) config = post_test_client_config (dir);
  g_autoptr(PostCarrier) listener = NULL;
  g_autoptr(PostAssociation) association = NULL;
  PostTrustErrors seen = POST_TRUST_OK;
  PostTestEcho echo = { 0 };

  g_assert_true (post_configuration_set_verify_func (config, accept_all, &seen, NULL, NULL));
  listener = post_test_echo_listen (&echo, local, NULL, "tls");
  association = association_for (post_test_port_of (listener), config);
  echo_round (association, "trusted by the app", FALSE, 1);
  g_assert_true (seen & POST_TRUST_UNKNOWN_AUTHORITY);
  post_test_echo_clear (&echo);
  post_carrier_abort (listener);
}

/* The GIO-shaped callback: a GTlsCertificate with GTlsCertificateFlags,
 * as GTlsConnection::accept-certificate gets them. */
typedef struct
{
  gboolean              answer;
  guint                 calls;
  GTlsCertificateFlags  errors;
  GTlsCertificate      *certificate;  /* (owned) (nullable) */
} AcceptSeen;

static gboolean
accept_certificate (GTlsCertificate      *peer_cert,
                    GTlsCertificateFlags  errors,
                    const char           *server_name,
                    gpointer              user_data)
{
  AcceptSeen *seen = user_data;

  g_assert_true (G_IS_TLS_CERTIFICATE (peer_cert));
  seen->calls++;
  seen->errors = errors;
  g_set_object (&seen->certificate, peer_cert);
  return seen->answer;
}

static GTlsCertificate *
certificate_of (const char *name)
{
  g_autofree char *file = g_strdup_printf ("%s.pem", name);
  g_autofree char *path = post_test_certs_path (dir, file);
  g_autoptr(GError) error = NULL;
  GTlsCertificate *certificate = g_tls_certificate_new_from_file (path, &error);

  g_assert_no_error (error);
  return certificate;
}

static void
test_accept_certificate (void)
{
  g_autoptr(GTlsCertificate) rogue = certificate_of ("rogue");
  g_autoptr(GTlsCertificate) server = certificate_of ("server");

  /* An untrusted server, accepted by the application: the callback and
   * the carrier show the same certificate and errors. */
  {
    g_autoptr(PostLocal) local = post_test_server_local ("tls://127.0.0.1:0", dir, "rogue");
    g_autoptr(PostConfiguration) config = post_test_client_config (dir);
    g_autoptr(PostCarrier) listener = NULL;
    g_autoptr(PostAssociation) association = NULL;
    g_autoptr(PostCarrier) carrier = NULL;
    g_autoptr(PostMessage) message = post_message_new_from_string ("accepted by the app");
    PostTestClient c = { 0 };
    AcceptSeen seen = { .answer = TRUE };
    PostTestEcho echo = { 0 };

    g_assert_true (post_configuration_set_accept_certificate_func (config, accept_certificate, &seen, NULL, NULL));
    g_assert_true (post_configuration_has_verify_func (config));
    listener = post_test_echo_listen (&echo, local, NULL, "tls");
    association = association_for (post_test_port_of (listener), config);
    carrier = post_association_initiate (association);
    g_assert_null (post_carrier_get_peer_certificate (carrier));
    g_assert_true (post_carrier_send (carrier, message, NULL));
    post_carrier_establish_async (carrier, NULL, post_test_established_cb, &c);
    post_test_wait_count (&c.done, 1, "establishment", WAIT_TIMEOUT_S);
    g_assert_no_error (c.error);
    g_assert_cmpuint (seen.calls, ==, 1);
    g_assert_true (seen.errors & G_TLS_CERTIFICATE_UNKNOWN_CA);
    g_assert_true (g_tls_certificate_is_same (seen.certificate, rogue));
    g_assert_true (g_tls_certificate_is_same (post_carrier_get_peer_certificate (carrier), rogue));
    g_assert_cmpuint (post_carrier_get_peer_certificate_errors (carrier), ==, seen.errors);
    g_assert_null (post_carrier_get_negotiated_protocol (carrier));
    post_carrier_abort (carrier);
    g_clear_object (&seen.certificate);
    post_test_echo_clear (&echo);
    post_carrier_abort (listener);
  }

  /* A trusted server that the application refuses: no errors seen, and
   * the establishment fails with TLS_REJECTED. */
  {
    g_autoptr(PostLocal) local = post_test_server_local ("tls://127.0.0.1:0", dir, "server");
    g_autoptr(PostConfiguration) config = post_test_client_config (dir);
    g_autoptr(PostCarrier) listener = NULL;
    AcceptSeen seen = { .answer = FALSE };
    PostTestEcho echo = { 0 };

    g_assert_true (post_configuration_set_accept_certificate_func (config, accept_certificate, &seen, NULL, NULL));
    listener = post_test_echo_listen (&echo, local, NULL, "tls");
    expect_failure (post_test_port_of (listener), config, NULL, NULL, POST_ERROR_TLS_REJECTED, "refused by the app");
    g_assert_cmpuint (seen.calls, ==, 1);
    g_assert_cmpuint (seen.errors, ==, 0);
    g_assert_true (g_tls_certificate_is_same (seen.certificate, server));
    g_clear_object (&seen.certificate);
    post_test_echo_clear (&echo);
    post_carrier_abort (listener);
  }

  /* Without a callback, an untrusted server still fails: verification
   * stays on. */
  {
    g_autoptr(PostLocal) local = post_test_server_local ("tls://127.0.0.1:0", dir, "rogue");
    g_autoptr(PostConfiguration) config = post_test_client_config (dir);
    g_autoptr(PostCarrier) listener = NULL;
    AcceptSeen seen = { .answer = TRUE };
    PostTestEcho echo = { 0 };

    /* set_verify_func() replaces the GIO-shaped callback, and removing it
     * leaves none. */
    g_assert_true (post_configuration_set_accept_certificate_func (config, accept_certificate, &seen, NULL, NULL));
    g_assert_true (post_configuration_set_verify_func (config, NULL, NULL, NULL, NULL));
    g_assert_false (post_configuration_has_verify_func (config));
    listener = post_test_echo_listen (&echo, local, NULL, "tls");
    expect_failure (post_test_port_of (listener), config, NULL, NULL, POST_ERROR_TLS_UNKNOWN_AUTHORITY, "untrusted");
    g_assert_cmpuint (seen.calls, ==, 0);
    post_test_echo_clear (&echo);
    post_carrier_abort (listener);
  }
}

/* Without a GIO TLS backend the GIO-shaped callback cannot be asked: the
 * peer is refused (never accepted unseen), and the carriers of a
 * configuration without it show no certificate but work. */
static void
test_accept_certificate_no_backend (void)
{
  if (!g_test_subprocess ())
    {
      g_test_trap_subprocess (NULL, 60 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_DEFAULT);
      g_test_trap_assert_passed ();
      return;
    }

  g_setenv ("GIO_USE_TLS", "dummy", TRUE);
  g_assert_false (g_tls_backend_supports_tls (g_tls_backend_get_default ()));
  {
    g_autoptr(PostLocal) local = post_test_server_local ("tls://127.0.0.1:0", dir, "server");
    g_autoptr(PostConfiguration) config = post_test_client_config (dir);
    g_autoptr(PostConfiguration) plain = post_test_client_config (dir);
    g_autoptr(PostCarrier) listener = NULL;
    g_autoptr(PostAssociation) association = NULL;
    AcceptSeen seen = { .answer = TRUE };
    PostTestEcho echo = { 0 };
    PostSecurityFlags flags;

    g_assert_true (post_configuration_set_accept_certificate_func (config, accept_certificate, &seen, NULL, NULL));
    listener = post_test_echo_listen (&echo, local, NULL, "tls");
    expect_failure (post_test_port_of (listener), config, NULL, NULL, POST_ERROR_TLS_REJECTED, "no backend");
    g_assert_cmpuint (seen.calls, ==, 0);
    association = association_for (post_test_port_of (listener), plain);
    flags = echo_round (association, "no backend", FALSE, 1);
    g_assert_true (flags & POST_SECURITY_ENCRYPTED);
    post_test_echo_clear (&echo);
    post_carrier_abort (listener);
  }
}

/* No cleartext fallback: a bare address picks tls only. */
static void
test_no_cleartext_fallback (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PostLocal) local = post_local_new_from_uri ("tcp://127.0.0.1:0", NULL);
  g_autoptr(PostCarrier) listener = post_carrier_listen (local, NULL, &error);
  g_autofree char *uri = NULL;
  g_autoptr(PostRemote) remote = NULL;
  g_autoptr(PostConfiguration) config = post_test_client_config (dir);
  g_autoptr(PostCarrier) carrier = NULL;
  PostTestClient c = { 0 };

  g_assert_no_error (error);
  uri = g_strdup_printf ("127.0.0.1:%u", post_test_port_of (listener));
  remote = post_remote_new_from_uri (uri, NULL);
  g_assert_true (post_configuration_set_conn_timeout (config, 3000, NULL));
  carrier = post_carrier_initiate (NULL, remote, config);
  post_carrier_establish_async (carrier, NULL, post_test_established_cb, &c);
  post_test_wait_count (&c.done, 1, "no fallback", WAIT_TIMEOUT_S);
  g_assert_nonnull (c.error);
  g_test_message ("plain tcp peer: %s", c.error->message);
  g_assert_cmpstr (post_carrier_get_stack_name (carrier), !=, "tcp");
  g_clear_error (&c.error);
  post_carrier_abort (listener);
}

/* ---- interop ------------------------------------------------------------------- */

static void
wait_port (guint16 port)
{
  for (guint i = 0; i < 200; i++)
    {
      g_autoptr(GSocket) s = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL);
      g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
      g_autoptr(GSocketAddress) a = g_inet_socket_address_new (lo, port);

      if (g_socket_connect (s, a, NULL, NULL))
        return;
      g_usleep (25000);
    }
  g_error ("peer did not listen on %u", port);
}

static PostSecurityFlags
handshake_round (PostAssociation *association)
{
  g_autoptr(PostCarrier) carrier = post_association_initiate (association);
  g_autoptr(PostMessage) message = post_message_new_from_string ("hello\n");
  PostSecurityFlags flags;
  PostTestClient c = { 0 };

  c.received = g_string_new (NULL);
  post_carrier_send (carrier, message, NULL);
  post_carrier_ready (carrier, post_test_client_message_cb, &c, NULL);
  post_carrier_establish_async (carrier, NULL, post_test_established_cb, &c);
  post_test_wait_count (&c.done, 1, "handshake", WAIT_TIMEOUT_S);
  g_assert_no_error (c.error);
  post_test_spin (300);  /* the tickets */
  flags = post_carrier_get_security_flags (carrier);
  post_carrier_abort (carrier);
  g_string_free (c.received, TRUE);
  return flags;
}

static void
test_gnutls_serv (void)
{
  guint16 port = post_test_free_port (G_SOCKET_TYPE_STREAM);
  g_autofree char *p = g_strdup_printf ("%u", port);
  g_autofree char *cert = post_test_certs_path (dir, "server.pem");
  g_autofree char *key = post_test_certs_path (dir, "server.key");
  g_autoptr(GSubprocess) peer = NULL;
  g_autoptr(PostConfiguration) config = post_test_client_config (dir);
  g_autoptr(PostAssociation) association = NULL;
  PostSecurityFlags flags;

  peer = post_test_spawn ((const char *[]) { "gnutls-serv", "--echo", "--earlydata", "-p", p, "--x509certfile", cert,
                                   "--x509keyfile", key, "--priority", "NORMAL:-VERS-ALL:+VERS-TLS1.3", NULL },
                G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  wait_port (port);
  association = association_for (port, config);
  /* gnutls-serv echoes C strings, which the framing's NUL bytes cut: check
   * the handshakes, the ticket and the resumption, not the echo. */
  flags = handshake_round (association);
  g_assert_true (flags & POST_SECURITY_ENCRYPTED);
  g_assert_cmpuint (post_association_get_session_ticket_count (association), >, 0);
  flags = handshake_round (association);
  g_assert_true (flags & POST_SECURITY_RESUMED);
  post_test_kill (peer);
}

/* gnutls-serv with ALPN and a chain (its certificate then the CA): the
 * peer certificate is the server's, its issuer the CA, and the protocol
 * the one the server knows. */
static void
test_gnutls_serv_details (void)
{
  static const char * const alpn[] = { "h2", "http/1.1", NULL };
  guint16 port = post_test_free_port (G_SOCKET_TYPE_STREAM);
  g_autofree char *p = g_strdup_printf ("%u", port);
  g_autofree char *cert = post_test_certs_path (dir, "server.pem");
  g_autofree char *ca = post_test_certs_path (dir, "ca.pem");
  g_autofree char *chain = post_test_certs_path (dir, "server-chain.pem");
  g_autofree char *key = post_test_certs_path (dir, "server.key");
  g_autofree char *cert_pem = NULL, *ca_pem = NULL, *both = NULL;
  g_autoptr(GTlsCertificate) server = certificate_of ("server");
  g_autoptr(GTlsCertificate) authority = certificate_of ("ca");
  g_autoptr(GSubprocess) peer = NULL;
  g_autoptr(PostConfiguration) config = post_test_client_config (dir);
  g_autoptr(PostAssociation) association = NULL;
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(PostMessage) message = post_message_new_from_string ("hello\n");
  GTlsCertificate *seen;
  PostTestClient c = { 0 };

  g_assert_true (g_file_get_contents (cert, &cert_pem, NULL, NULL));
  g_assert_true (g_file_get_contents (ca, &ca_pem, NULL, NULL));
  both = g_strconcat (cert_pem, ca_pem, NULL);
  g_assert_true (g_file_set_contents (chain, both, -1, NULL));
  peer = post_test_spawn ((const char *[]) { "gnutls-serv", "--echo", "-p", p, "--x509certfile", chain,
                                   "--x509keyfile", key, "--alpn", "http/1.1", "--alpn-fatal", NULL },
                G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  wait_port (port);
  g_assert_true (post_configuration_set_alpn (config, alpn, NULL));
  association = association_for (port, config);
  carrier = post_association_initiate (association);
  post_carrier_send (carrier, message, NULL);
  post_carrier_establish_async (carrier, NULL, post_test_established_cb, &c);
  post_test_wait_count (&c.done, 1, "handshake", WAIT_TIMEOUT_S);
  g_assert_no_error (c.error);
  g_assert_cmpstr (post_carrier_get_negotiated_protocol (carrier), ==, "http/1.1");
  seen = post_carrier_get_peer_certificate (carrier);
  g_assert_nonnull (seen);
  g_assert_true (g_tls_certificate_is_same (seen, server));
  g_assert_nonnull (g_tls_certificate_get_issuer (seen));
  g_assert_true (g_tls_certificate_is_same (g_tls_certificate_get_issuer (seen), authority));
  g_assert_null (g_tls_certificate_get_issuer (g_tls_certificate_get_issuer (seen)));
  g_assert_cmpuint (post_carrier_get_peer_certificate_errors (carrier), ==, 0);
  post_carrier_abort (carrier);
  post_test_kill (peer);
}

/* openssl s_server with ALPN: its choice, not the client's first. */
static void
test_openssl_s_server_alpn (void)
{
  static const char * const alpn[] = { "http/1.1", "h2", NULL };
  guint16 port = post_test_free_port (G_SOCKET_TYPE_STREAM);
  g_autofree char *p = g_strdup_printf ("%u", port);
  g_autofree char *cert = post_test_certs_path (dir, "server.pem");
  g_autofree char *key = post_test_certs_path (dir, "server.key");
  g_autoptr(GTlsCertificate) server = certificate_of ("server");
  g_autoptr(GSubprocess) peer = NULL;
  g_autoptr(PostConfiguration) config = post_test_client_config (dir);
  g_autoptr(PostAssociation) association = NULL;
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(PostMessage) message = post_message_new_from_string ("hello");
  PostTestClient c = { 0 };

  peer = post_test_spawn ((const char *[]) { "openssl", "s_server", "-accept", p, "-cert", cert, "-key", key,
                                   "-alpn", "h2", NULL },
                G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE | G_SUBPROCESS_FLAGS_STDIN_PIPE);
  wait_port (port);
  g_assert_true (post_configuration_set_alpn (config, alpn, NULL));
  association = association_for (port, config);
  carrier = post_association_initiate (association);
  post_carrier_send (carrier, message, NULL);
  post_carrier_establish_async (carrier, NULL, post_test_established_cb, &c);
  post_test_wait_count (&c.done, 1, "s_server handshake", WAIT_TIMEOUT_S);
  g_assert_no_error (c.error);
  g_assert_cmpstr (post_carrier_get_negotiated_protocol (carrier), ==, "h2");
  g_assert_true (g_tls_certificate_is_same (post_carrier_get_peer_certificate (carrier), server));
  post_carrier_abort (carrier);
  post_test_kill (peer);
}

static void
test_openssl_s_server (void)
{
  guint16 port = post_test_free_port (G_SOCKET_TYPE_STREAM);
  g_autofree char *p = g_strdup_printf ("%u", port);
  g_autofree char *cert = post_test_certs_path (dir, "server.pem");
  g_autofree char *key = post_test_certs_path (dir, "server.key");
  g_autoptr(GSubprocess) peer = NULL;
  g_autoptr(PostConfiguration) config = post_test_client_config (dir);
  g_autoptr(PostAssociation) association = NULL;
  GInputStream *out;

  /* s_server has no echo mode: it prints what arrives, which we read. */
  peer = post_test_spawn ((const char *[]) { "openssl", "s_server", "-accept", p, "-cert", cert, "-key", key,
                                   "-tls1_3", NULL },
                G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_SILENCE | G_SUBPROCESS_FLAGS_STDIN_PIPE);
  wait_port (port);
  association = association_for (port, config);
  out = g_subprocess_get_stdout_pipe (peer);
  for (guint round = 0; round < 2; round++)
    {
      g_autoptr(PostCarrier) carrier = post_association_initiate (association);
      g_autoptr(PostMessage) message = post_message_new_from_string (round == 0 ? "MARKER-ONE" : "MARKER-TWO");
      g_autoptr(GString) seen = g_string_new (NULL);
      PostTestClient c = { 0 };

      post_carrier_send (carrier, message, NULL);
      post_carrier_establish_async (carrier, NULL, post_test_established_cb, &c);
      post_test_wait_count (&c.done, 1, "s_server handshake", WAIT_TIMEOUT_S);
      g_assert_no_error (c.error);
      /* A ticket arrives after the handshake; let the carrier read it. */
      post_carrier_ready (carrier, post_test_client_message_cb, &c, NULL);
      for (guint tries = 0; strstr (seen->str, round == 0 ? "MARKER-ONE" : "MARKER-TWO") == NULL; tries++)
        {
          char buffer[256];
          gssize n;

          if (tries > 500)
            g_error ("openssl s_server did not print the message: %s", seen->str);
          post_test_spin (20);
          n = g_pollable_input_stream_read_nonblocking (G_POLLABLE_INPUT_STREAM (out), buffer, sizeof buffer, NULL, NULL);
          for (gssize i = 0; i < n; i++)
            g_string_append_c (seen, buffer[i] != '\0' ? buffer[i] : '.');
        }
      post_test_spin (100);
      if (round == 1)
        g_assert_true (post_carrier_get_security_flags (carrier) & POST_SECURITY_RESUMED);
      post_carrier_close (carrier);
      post_test_spin (50);
    }
  post_test_kill (peer);
}

static guint interop_messages;

/* A client process against a post tls listener: it sends one framed
 * message, the listener must receive it. */
static void
client_against_listener (const char * const *argv_template,
                         guint16             port)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GSubprocess) peer = NULL;
  static const guint8 framed[] = { 0x80, 0, 0, 5, 'i', 'n', 't', 'e', 'r' };
  g_autoptr(GError) error = NULL;
  gsize written;

  for (guint i = 0; argv_template[i] != NULL; i++)
    g_ptr_array_add (argv, strcmp (argv_template[i], "PORT") == 0 ? g_strdup_printf ("%u", port)
                                : strcmp (argv_template[i], "HOSTPORT") == 0 ? g_strdup_printf ("127.0.0.1:%u", port)
                                : strcmp (argv_template[i], "CA") == 0 ? post_test_certs_path (dir, "ca.pem")
                                : g_strdup (argv_template[i]));
  g_ptr_array_add (argv, NULL);
  peer = post_test_spawn ((const char * const *) argv->pdata,
                G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_assert_true (g_output_stream_write_all (g_subprocess_get_stdin_pipe (peer), framed, sizeof framed,
                                            &written, NULL, &error));
  g_output_stream_flush (g_subprocess_get_stdin_pipe (peer), NULL, NULL);
  post_test_wait_count (&interop_messages, 1, "message from the TLS client process", WAIT_TIMEOUT_S);
  post_test_kill (peer);
}

static gboolean
interop_message_cb (PostCarrier *carrier,
                    PostMessage *message,
                    gpointer     user_data)
{
  gsize size;
  const char *data = g_bytes_get_data (post_message_get_content (message), &size);

  g_assert_cmpmem (data, size, "inter", 5);
  interop_messages++;
  return TRUE;
}

static gboolean
interop_incoming_cb (PostCarrier *listener,
                     PostCarrier *carrier,
                     gpointer     user_data)
{
  g_ptr_array_add (user_data, g_object_ref (carrier));
  post_carrier_ready (carrier, interop_message_cb, NULL, NULL);
  return TRUE;
}

static void
test_clients_against_listener (void)
{
  g_autoptr(PostLocal) local = post_test_server_local ("tls://127.0.0.1:0", dir, "server");
  g_autoptr(GError) error = NULL;
  g_autoptr(PostCarrier) listener = post_carrier_listen (local, NULL, &error);
  g_autoptr(GPtrArray) children = g_ptr_array_new_with_free_func (g_object_unref);
  const char *gnutls_cli[] = { "gnutls-cli", "--x509cafile", "CA", "--verify-hostname", "localhost",
                               "-p", "PORT", "127.0.0.1", NULL };
  const char *s_client[] = { "openssl", "s_client", "-connect", "HOSTPORT", "-CAfile", "CA",
                             "-verify_hostname", "localhost", "-verify_return_error", "-quiet", "-tls1_3", NULL };

  g_assert_no_error (error);
  g_signal_connect (listener, "incoming", G_CALLBACK (interop_incoming_cb), children);
  interop_messages = 0;
  client_against_listener (gnutls_cli, post_test_port_of (listener));
  interop_messages = 0;
  client_against_listener (s_client, post_test_port_of (listener));
  for (guint i = 0; i < children->len; i++)
    post_carrier_abort (children->pdata[i]);
  post_carrier_abort (listener);
}

/* ---- the disk cache ---------------------------------------------------------- */

static void
test_disk_cache (void)
{
  g_autoptr(PostLocal) local = post_test_server_local ("tls://127.0.0.1:0", dir, "server");
  g_autoptr(PostConfiguration) config = post_test_client_config (dir);
  g_autoptr(PostCarrier) listener = NULL;
  g_autoptr(PostAssociation) association = NULL;
  g_autofree char *cache = g_build_filename (g_get_user_cache_dir (), "libpost", "sessions", NULL);
  g_autoptr(GDir) d = NULL;
  const char *name;
  GStatBuf st;
  PostTestEcho echo = { 0 };

  g_assert_true (post_configuration_set_option (config, "tls.session-cache", g_variant_new_string ("disk"), NULL));
  listener = post_test_echo_listen (&echo, local, NULL, "tls");
  association = association_for (post_test_port_of (listener), config);
  echo_round (association, "cache me", FALSE, 1);
  g_assert_cmpint (g_stat (cache, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);
  d = g_dir_open (cache, 0, NULL);
  g_assert_nonnull (d);
  name = g_dir_read_name (d);
  g_assert_nonnull (name);
  {
    g_autofree char *file = g_build_filename (cache, name, NULL);

    g_assert_cmpint (g_stat (file, &st), ==, 0);
    g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  }
  post_test_echo_clear (&echo);
  post_carrier_abort (listener);
}

/* ---- truncation: a FIN without close_notify ------------------------------------ */

/* A TLS server in a child process (plain GnuTLS, blocking: the child runs
 * nothing else) that accepts one connection on @fd, completes the
 * handshake, sends @payload and then ends its direction with a TCP FIN,
 * with close_notify first only if @notify: without, it is what an
 * attacker who forges a FIN, or a peer cut off, looks like.  It then
 * reads until the client is gone.  Returns the child's pid. */
static pid_t
truncating_server (int          fd,
                   const char  *payload,
                   gsize        length,
                   gboolean     notify)
{
  pid_t pid = fork ();

  g_assert_cmpint (pid, >=, 0);
  if (pid == 0)
    {
      g_autofree char *cert = post_test_certs_path (dir, "server.pem");
      g_autofree char *key = post_test_certs_path (dir, "server.key");
      gnutls_certificate_credentials_t cred;
      gnutls_session_t session;
      char buffer[256];
      int conn;

      alarm (30);  /* never outlive a test that went wrong */
      conn = accept (fd, NULL, NULL);
      if (conn < 0
          || gnutls_certificate_allocate_credentials (&cred) < 0
          || gnutls_certificate_set_x509_key_file (cred, cert, key, GNUTLS_X509_FMT_PEM) < 0
          || gnutls_init (&session, GNUTLS_SERVER) < 0
          || gnutls_set_default_priority (session) < 0
          || gnutls_credentials_set (session, GNUTLS_CRD_CERTIFICATE, cred) < 0)
        _exit (2);
      gnutls_session_ticket_enable_server (session, NULL);
      gnutls_transport_set_int (session, conn);
      if (gnutls_handshake (session) < 0)
        _exit (3);
      if (length > 0 && gnutls_record_send (session, payload, length) != (ssize_t) length)
        _exit (4);
      if (notify)
        gnutls_bye (session, GNUTLS_SHUT_WR);
      shutdown (conn, SHUT_WR);
      while (gnutls_record_recv (session, buffer, sizeof buffer) > 0)
        ;
      _exit (0);
    }
  return pid;
}

static int
listening_socket (guint16 *port)
{
  struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  socklen_t len = sizeof sin;
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (bind (fd, (struct sockaddr *) &sin, sizeof sin), ==, 0);
  g_assert_cmpint (listen (fd, 1), ==, 0);
  g_assert_cmpint (getsockname (fd, (struct sockaddr *) &sin, &len), ==, 0);
  *port = ntohs (sin.sin_port);
  return fd;
}

/* Connects to a truncating_server() that sends @payload (and close_notify
 * if @notify) with @framing, receives in parts until receiving fails, and
 * returns what came in @r. */
static void
receive_from_truncating_server (PostFramingMode  framing,
                                const char      *payload,
                                gsize            length,
                                gboolean         notify,
                                PostTestParts   *r)
{
  g_autoptr(PostConfiguration) config = post_test_client_config (dir);
  g_autoptr(PostCarrier) carrier = NULL;
  PostTestClient c = { 0 };
  guint16 port;
  int fd = listening_socket (&port);
  pid_t pid = truncating_server (fd, payload, length, notify);
  int status;

  close (fd);
  g_assert_true (post_configuration_set_framing (config, framing, NULL));
  carrier = post_test_initiate ("tls", port, config);
  post_carrier_establish_async (carrier, NULL, post_test_established_cb, &c);
  post_test_wait_count (&c.done, 1, "establishment", WAIT_TIMEOUT_S);
  g_assert_no_error (c.error);
  /* in stream mode the peer's direction is one message; ours stays open */
  post_test_parts_start (r, carrier, framing == POST_FRAMING_STREAM);
  post_test_wait_count (&r->done, 1, "the end of receiving", WAIT_TIMEOUT_S);
  if (r->error != NULL)
    g_test_message ("receiving ended: %s", r->error->message);
  post_carrier_abort (carrier);
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  /* Under meson test --setup valgrind the forked peer is checked too, and
   * what it never frees before _exit() makes valgrind end it with the
   * setup's --error-exitcode=99: the peer is test code, not libpost */
  g_assert_true (WIFEXITED (status)
                 && (WEXITSTATUS (status) == 0
                     || (WEXITSTATUS (status) == 99 && g_getenv ("POST_TEST_UNDER_VALGRIND") != NULL)));
}

/* Stream mode: the direction is one message.  A FIN after close_notify
 * ends it complete; a FIN without close_notify ends it with
 * POST_ERROR_TRUNCATED, never complete: the data may have been cut. */
static void
test_truncation_stream (void)
{
  static const char data[] = "the first half of a transfer";
  PostTestParts r = { 0 };

  receive_from_truncating_server (POST_FRAMING_STREAM, data, strlen (data), TRUE, &r);
  g_assert_cmpstr (r.received->str, ==, data);
  g_assert_true (r.complete);
  post_test_parts_clear (&r);

  receive_from_truncating_server (POST_FRAMING_STREAM, data, strlen (data), FALSE, &r);
  g_assert_cmpstr (r.received->str, ==, data);  /* what came is handed out ... */
  g_assert_false (r.complete);                  /* ... but never as complete */
  g_assert_error (r.error, POST_ERROR, POST_ERROR_TRUNCATED);
  post_test_parts_clear (&r);
}

/* Message framing (length prefix, docs/framing.md): a FIN without
 * close_notify inside a frame is POST_ERROR_TRUNCATED; between frames the
 * messages before it are complete, and the end is POST_ERROR_TRUNCATED
 * too (whether messages after them were cut cannot be known), where
 * close_notify makes it a normal close. */
static void
test_truncation_messages (void)
{
  static const char inside[] = "\x80\x00\x00\x10" "only 5";          /* 16 announced */
  static const char between[] = "\x80\x00\x00\x05" "whole";
  PostTestParts r = { 0 };

  receive_from_truncating_server (POST_FRAMING_AUTO, inside, sizeof inside - 1, FALSE, &r);
  g_assert_false (r.complete);
  g_assert_error (r.error, POST_ERROR, POST_ERROR_TRUNCATED);
  post_test_parts_clear (&r);

  receive_from_truncating_server (POST_FRAMING_AUTO, between, sizeof between - 1, FALSE, &r);
  g_assert_cmpstr (r.received->str, ==, "whole");
  g_assert_true (r.complete);
  g_assert_error (r.error, POST_ERROR, POST_ERROR_TRUNCATED);
  post_test_parts_clear (&r);

  receive_from_truncating_server (POST_FRAMING_AUTO, between, sizeof between - 1, TRUE, &r);
  g_assert_cmpstr (r.received->str, ==, "whole");
  g_assert_true (r.complete);
  g_assert_error (r.error, POST_ERROR, POST_ERROR_CLOSED);
  post_test_parts_clear (&r);
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  dir = post_test_certs_make ("post-tls");
  /* The session cache goes to a private directory (removed at the end). */
  {
    g_autofree char *cache = post_test_certs_path (dir, "cache");

    g_setenv ("XDG_CACHE_HOME", cache, TRUE);
    g_assert_cmpstr (g_get_user_cache_dir (), ==, cache);
  }

  g_test_add_func ("/tls/echo-resume-0rtt", test_echo_and_resume);
  g_test_add_func ("/tls/early-data-rejected", test_early_data_rejected);
  g_test_add_func ("/tls/psk-only", test_psk_only);
  g_test_add_func ("/tls/errors", test_errors);
  g_test_add_func ("/tls/shared-trust", test_shared_trust);
  g_test_add_func ("/tls/verify-callback", test_verify_callback);
  g_test_add_func ("/tls/accept-certificate", test_accept_certificate);
  g_test_add_func ("/tls/accept-certificate/no-backend", test_accept_certificate_no_backend);
  g_test_add_func ("/tls/no-cleartext-fallback", test_no_cleartext_fallback);
  g_test_add_func ("/tls/disk-cache", test_disk_cache);
  g_test_add_func ("/tls/truncation/stream", test_truncation_stream);
  g_test_add_func ("/tls/truncation/messages", test_truncation_messages);
  g_test_add_func ("/tls/interop/gnutls-serv", test_gnutls_serv);
  g_test_add_func ("/tls/interop/openssl-s-server", test_openssl_s_server);
  g_test_add_func ("/tls/interop/gnutls-serv-details", test_gnutls_serv_details);
  g_test_add_func ("/tls/interop/openssl-s-server-alpn", test_openssl_s_server_alpn);
  g_test_add_func ("/tls/interop/clients", test_clients_against_listener);

  ret = g_test_run ();
  post_test_certs_remove (dir);
  g_clear_pointer (&dir, g_free);
  return ret;
}
