/* post-contract.c: the stack contract harness (see post-contract.h)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define _GNU_SOURCE
#include "post-contract.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

static PostContractStack contract;

const PostContractStack *
post_contract_stack (void)
{
  return &contract;
}

gboolean
post_contract_has (PostStackCapabilities caps)
{
  return (contract.caps & caps) == caps;
}

gboolean
post_contract_is_connected (void)
{
  return post_contract_has (POST_STACK_CAP_RELIABLE) || post_contract_has (POST_STACK_CAP_SECURE);
}

/* ---- certificates --------------------------------------------------------- */

/* Certificates are made in process with GnuTLS, so that post-stack-check
 * needs no certtool: an ECDSA P-256 CA, and a server (localhost,
 * 127.0.0.1) and a client certificate signed by it, valid for two days. */

#define CHECK_GNUTLS(call) G_STMT_START {                                   \
    int _r = (call);                                                        \
    if (_r < 0)                                                             \
      g_error ("%s: %s", #call, gnutls_strerror (_r));                      \
  } G_STMT_END

static void
write_pem (const char *dir,
           const char *name,
           gnutls_datum_t *pem,
           int mode)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autoptr(GError) error = NULL;

  g_assert_true (g_file_set_contents_full (path, (const char *) pem->data, pem->size,
                                           G_FILE_SET_CONTENTS_CONSISTENT, mode, &error));
  g_assert_no_error (error);
  gnutls_free (pem->data);
}

static void
make_cert (const char            *dir,
           const char            *name,
           const char            *cn,
           gboolean               is_ca,
           gboolean               server,
           gnutls_x509_crt_t      ca,
           gnutls_x509_privkey_t  ca_key,
           gnutls_x509_crt_t     *crt_out,
           gnutls_x509_privkey_t *key_out)
{
  static guint serial_counter = 1;
  gnutls_x509_privkey_t key;
  gnutls_x509_crt_t crt;
  gnutls_datum_t pem;
  guint8 serial[8] = { 0x01 };
  guint8 id[20];
  size_t id_size = sizeof id;
  time_t now = time (NULL);
  g_autofree char *key_name = g_strdup_printf ("%s.key", name);
  g_autofree char *pem_name = g_strdup_printf ("%s.pem", name);

  serial[7] = (guint8) serial_counter++;
  CHECK_GNUTLS (gnutls_x509_privkey_init (&key));
  CHECK_GNUTLS (gnutls_x509_privkey_generate (key, GNUTLS_PK_ECDSA,
                                              GNUTLS_CURVE_TO_BITS (GNUTLS_ECC_CURVE_SECP256R1), 0));
  CHECK_GNUTLS (gnutls_x509_crt_init (&crt));
  CHECK_GNUTLS (gnutls_x509_crt_set_version (crt, 3));
  CHECK_GNUTLS (gnutls_x509_crt_set_serial (crt, serial, sizeof serial));
  CHECK_GNUTLS (gnutls_x509_crt_set_activation_time (crt, now - 3600));
  CHECK_GNUTLS (gnutls_x509_crt_set_expiration_time (crt, now + 2 * 86400));
  CHECK_GNUTLS (gnutls_x509_crt_set_dn_by_oid (crt, GNUTLS_OID_X520_COMMON_NAME, 0, cn, strlen (cn)));
  CHECK_GNUTLS (gnutls_x509_crt_set_key (crt, key));
  CHECK_GNUTLS (gnutls_x509_crt_get_key_id (crt, 0, id, &id_size));
  CHECK_GNUTLS (gnutls_x509_crt_set_subject_key_id (crt, id, id_size));
  if (is_ca)
    {
      CHECK_GNUTLS (gnutls_x509_crt_set_basic_constraints (crt, 1, -1));
      CHECK_GNUTLS (gnutls_x509_crt_set_key_usage (crt, GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN));
    }
  else
    {
      CHECK_GNUTLS (gnutls_x509_crt_set_basic_constraints (crt, 0, -1));
      CHECK_GNUTLS (gnutls_x509_crt_set_key_usage (crt, GNUTLS_KEY_DIGITAL_SIGNATURE));
      CHECK_GNUTLS (gnutls_x509_crt_set_key_purpose_oid (crt, server ? GNUTLS_KP_TLS_WWW_SERVER
                                                                     : GNUTLS_KP_TLS_WWW_CLIENT, 0));
      if (server)
        {
          /* 127.0.0.1, 127.0.0.2 (post_contract_relay_new()), ::1, and the
           * server namespace's addresses of post-test-netns.h (the
           * contract's namespace cases), 10.77.0.2 (the silent peer's,
           * PostContractSilent) */
          const char *addresses[] = { "127.0.0.1", "127.0.0.2", "::1", "10.99.0.1", "10.1.0.2", "10.2.0.2",
                                      "fd99::1", "fd01::2", "fd02::2", "10.77.0.2" };

          CHECK_GNUTLS (gnutls_x509_crt_set_subject_alt_name (crt, GNUTLS_SAN_DNSNAME, "localhost",
                                                              strlen ("localhost"), GNUTLS_FSAN_APPEND));
          for (guint i = 0; i < G_N_ELEMENTS (addresses); i++)
            {
              g_autoptr(GInetAddress) address = g_inet_address_new_from_string (addresses[i]);

              CHECK_GNUTLS (gnutls_x509_crt_set_subject_alt_name (crt, GNUTLS_SAN_IPADDRESS,
                                                                  g_inet_address_to_bytes (address),
                                                                  g_inet_address_get_native_size (address),
                                                                  GNUTLS_FSAN_APPEND));
            }
        }
    }
  if (ca != NULL)
    {
      guint8 ca_id[64];
      size_t ca_id_size = sizeof ca_id;

      CHECK_GNUTLS (gnutls_x509_crt_get_subject_key_id (ca, ca_id, &ca_id_size, NULL));
      CHECK_GNUTLS (gnutls_x509_crt_set_authority_key_id (crt, ca_id, ca_id_size));
      CHECK_GNUTLS (gnutls_x509_crt_sign2 (crt, ca, ca_key, GNUTLS_DIG_SHA256, 0));
    }
  else
    CHECK_GNUTLS (gnutls_x509_crt_sign2 (crt, crt, key, GNUTLS_DIG_SHA256, 0));

  CHECK_GNUTLS (gnutls_x509_crt_export2 (crt, GNUTLS_X509_FMT_PEM, &pem));
  write_pem (dir, pem_name, &pem, 0644);
  CHECK_GNUTLS (gnutls_x509_privkey_export2 (key, GNUTLS_X509_FMT_PEM, &pem));
  write_pem (dir, key_name, &pem, 0600);

  if (crt_out != NULL)
    *crt_out = crt;
  else
    gnutls_x509_crt_deinit (crt);
  if (key_out != NULL)
    *key_out = key;
  else
    gnutls_x509_privkey_deinit (key);
}

static char *
make_certs (void)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp ("post-stack-check-XXXXXX", &error);
  gnutls_x509_crt_t ca;
  gnutls_x509_privkey_t ca_key;

  g_assert_no_error (error);
  make_cert (dir, "ca", "post-stack-check CA", TRUE, FALSE, NULL, NULL, &ca, &ca_key);
  make_cert (dir, "server", "localhost", FALSE, TRUE, ca, ca_key, NULL, NULL);
  make_cert (dir, "client", "post-stack-check client", FALSE, FALSE, ca, ca_key, NULL, NULL);
  gnutls_x509_crt_deinit (ca);
  gnutls_x509_privkey_deinit (ca_key);
  return dir;
}

static void
remove_certs (const char *dir)
{
  static const char * const names[] = { "ca.pem", "ca.key", "server.pem", "server.key",
                                        "client.pem", "client.key" };

  if (dir == NULL)
    return;
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *path = g_build_filename (dir, names[i], NULL);

      g_unlink (path);
    }
  g_rmdir (dir);
}

/* ---- set-up ----------------------------------------------------------------- */

gboolean _post_contract_init (const char *name, GError **error);
void     _post_contract_shutdown (void);

gboolean
_post_contract_init (const char  *name,
                     GError     **error)
{
  g_autoptr(GPtrArray) stacks = post_registry_list_stacks (post_registry_get_default ());

  for (guint i = 0; i < stacks->len; i++)
    if (g_strcmp0 (post_stack_get_name (stacks->pdata[i]), name) == 0)
      contract.stack = g_object_ref (stacks->pdata[i]);
  if (contract.stack == NULL)
    {
      g_set_error (error, POST_ERROR, POST_ERROR_NO_STACK,
                   "no loaded plugin provides the stack ‘%s’ (POST_PLUGIN_PATH=%s)",
                   name, g_getenv ("POST_PLUGIN_PATH") ? g_getenv ("POST_PLUGIN_PATH") : "");
      return FALSE;
    }
  contract.name = post_stack_get_name (contract.stack);
  contract.declared = post_stack_get_capabilities (contract.stack);
  {
    g_autoptr(PostConfiguration) config = post_configuration_new ();

    contract.caps = post_stack_get_carrier_capabilities (contract.stack, config);
  }
  if (contract.caps & POST_STACK_CAP_SECURE)
    contract.certs = make_certs ();
  return TRUE;
}

void
_post_contract_shutdown (void)
{
  remove_certs (contract.certs);
  g_clear_pointer (&contract.certs, g_free);
  g_clear_object (&contract.stack);
}

void
post_contract_unsupported (const char *format,
                           ...)
{
  g_autofree char *text = NULL;
  va_list args;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  g_test_message ("unsupported: %s: %s", contract.name, text);
}

void
post_contract_add (const char *path,
                   GTestFunc   func)
{
  g_autofree char *full = g_strdup_printf ("/contract/%s/%s", contract.name, path);

  g_test_add_func (full, func);
}

/* ---- configurations, locals, carriers ------------------------------------- */

static PostConfiguration *
make_config (gboolean client)
{
  PostConfiguration *config = post_configuration_new ();
  const char *stacks[] = { contract.name, NULL };
  g_autoptr(GError) error = NULL;

  g_assert_true (post_configuration_set_stacks (config, stacks, &error));
  g_assert_no_error (error);
  if (!post_contract_has (POST_STACK_CAP_RELIABLE))
    g_assert_true (post_configuration_set_preference (config, POST_SELECTION_RELIABILITY,
                                                      POST_PREFERENCE_NO_PREFERENCE, NULL));
  if (!post_contract_has (POST_STACK_CAP_ORDERED))
    g_assert_true (post_configuration_set_preference (config, POST_SELECTION_PRESERVE_ORDER,
                                                      POST_PREFERENCE_NO_PREFERENCE, NULL));
  if (!post_contract_has (POST_STACK_CAP_CONGESTION_CONTROL))
    g_assert_true (post_configuration_set_preference (config, POST_SELECTION_CONGESTION_CONTROL,
                                                      POST_PREFERENCE_NO_PREFERENCE, NULL));
  if (contract.certs != NULL && client)
    {
      g_autofree char *ca = g_build_filename (contract.certs, "ca.pem", NULL);

      g_assert_true (post_configuration_set_use_system_trust (config, FALSE, &error));
      g_assert_true (post_configuration_add_trust_anchor_file (config, ca, &error));
      g_assert_no_error (error);
    }
  g_assert_true (post_configuration_set_attempt_delay (config, 50, &error));
  g_assert_true (post_configuration_set_conn_timeout (config, 5000, &error));
  g_assert_no_error (error);
  return config;
}

PostConfiguration *
post_contract_config (void)
{
  return make_config (TRUE);
}

PostConfiguration *
post_contract_server_config (void)
{
  return make_config (FALSE);
}

PostLocal *
post_contract_server_local (const char *host_port)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *uri = g_strdup_printf ("%s://%s", contract.name,
                                          host_port != NULL ? host_port : "127.0.0.1:0");
  PostLocal *local = post_local_new_from_uri (uri, &error);

  g_assert_no_error (error);
  if (contract.certs != NULL)
    {
      g_autofree char *cert = g_build_filename (contract.certs, "server.pem", NULL);
      g_autofree char *key = g_build_filename (contract.certs, "server.key", NULL);

      g_assert_true (post_local_set_identity_from_files (local, cert, key, &error));
      g_assert_no_error (error);
    }
  return local;
}

PostCarrier *
post_contract_listen (PostConfiguration *config)
{
  return post_contract_listen_on (NULL, config);
}

PostCarrier *
post_contract_listen_on (PostLocal         *endpoint,
                         PostConfiguration *config)
{
  g_autoptr(PostConfiguration) own = config != NULL ? g_object_ref (config) : post_contract_server_config ();
  g_autoptr(PostLocal) local = endpoint != NULL ? g_object_ref (endpoint) : post_contract_server_local (NULL);
  g_autoptr(GError) error = NULL;
  PostCarrier *listener = post_carrier_listen (local, own, &error);

  g_assert_no_error (error);
  g_assert_nonnull (listener);
  g_assert_cmpstr (post_carrier_get_stack_name (listener), ==, contract.name);
  g_assert_cmpint (post_carrier_get_role (listener), ==, POST_CARRIER_ROLE_LISTENER);
  return listener;
}

guint16
post_contract_port_of (PostCarrier *carrier)
{
  GSocketAddress *address = post_carrier_get_local_address (carrier);

  g_assert_nonnull (address);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (address));
}

PostRemote *
post_contract_remote_at (const char *host,
                         guint16     port)
{
  gboolean v6 = strchr (host, ':') != NULL;
  g_autofree char *uri = g_strdup_printf ("%s://%s%s%s:%u", contract.name, v6 ? "[" : "", host,
                                          v6 ? "]" : "", port);
  g_autoptr(GError) error = NULL;
  PostRemote *remote = post_remote_new_from_uri (uri, &error);

  g_assert_no_error (error);
  return remote;
}

PostRemote *
post_contract_remote_of (PostCarrier *listener)
{
  return post_contract_remote_at ("127.0.0.1", post_contract_port_of (listener));
}

PostCarrier *
post_contract_initiate (PostCarrier       *listener,
                        PostConfiguration *config)
{
  g_autoptr(PostConfiguration) own = config != NULL ? g_object_ref (config) : post_contract_config ();
  g_autoptr(PostRemote) remote = post_contract_remote_of (listener);
  PostCarrier *carrier = post_carrier_initiate (NULL, remote, own);

  g_assert_nonnull (carrier);
  g_assert_cmpint (post_carrier_get_role (carrier), ==, POST_CARRIER_ROLE_CARRIER);
  return carrier;
}

/* ---- waiting ---------------------------------------------------------------- */

static gboolean
flag_cb (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

typedef gboolean (*DoneFunc) (gconstpointer a, gconstpointer b);

static void
wait_until (DoneFunc      done,
            gconstpointer a,
            gconstpointer b,
            guint         timeout_ms,
            const char   *what)
{
  gboolean timed_out = FALSE;
  GSource *timeout = g_timeout_source_new (timeout_ms);

  g_source_set_callback (timeout, flag_cb, &timed_out, NULL);
  g_source_attach (timeout, NULL);
  while (!done (a, b) && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  g_source_destroy (timeout);
  g_source_unref (timeout);
  if (!done (a, b))
    g_error ("%s: timed out after %u ms waiting for %s", contract.name, timeout_ms, what);
}

static gboolean
flag_done (gconstpointer a, gconstpointer b)
{
  return *(const gboolean *) a;
}

static gboolean
count_done (gconstpointer a, gconstpointer b)
{
  return *(const guint *) a >= GPOINTER_TO_UINT (b);
}

static gboolean
state_done (gconstpointer a, gconstpointer b)
{
  return post_carrier_get_state ((PostCarrier *) a) == (PostCarrierState) GPOINTER_TO_INT (b);
}

void
post_contract_wait_flag (const gboolean *flag,
                         guint           timeout_ms,
                         const char     *what)
{
  wait_until (flag_done, flag, NULL, timeout_ms, what);
}

void
post_contract_wait_count (const guint *counter,
                          guint        n,
                          guint        timeout_ms,
                          const char  *what)
{
  wait_until (count_done, counter, GUINT_TO_POINTER (n), timeout_ms, what);
}

void
post_contract_wait_state (PostCarrier     *carrier,
                          PostCarrierState state,
                          guint            timeout_ms)
{
  g_autoptr(GEnumClass) klass = g_type_class_ref (POST_TYPE_CARRIER_STATE);
  g_autofree char *what = g_strdup_printf ("state %s (now %s)",
                                           g_enum_get_value (klass, state)->value_nick,
                                           g_enum_get_value (klass, post_carrier_get_state (carrier))->value_nick);

  wait_until (state_done, carrier, GINT_TO_POINTER (state), timeout_ms, what);
}

static gboolean
state_not_done (gconstpointer a, gconstpointer b)
{
  return !state_done (a, b);
}

void
post_contract_wait_state_not (PostCarrier     *carrier,
                              PostCarrierState state,
                              guint            timeout_ms)
{
  g_autoptr(GEnumClass) klass = g_type_class_ref (POST_TYPE_CARRIER_STATE);
  g_autofree char *what = g_strdup_printf ("a state other than %s", g_enum_get_value (klass, state)->value_nick);

  wait_until (state_not_done, carrier, GINT_TO_POINTER (state), timeout_ms, what);
}

void
post_contract_spin (guint ms)
{
  gboolean done = FALSE;
  GSource *timeout = g_timeout_source_new (ms);

  g_source_set_callback (timeout, flag_cb, &done, NULL);
  g_source_attach (timeout, NULL);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
  g_source_unref (timeout);
}

void
post_contract_async_cb (GObject      *source,
                        GAsyncResult *result,
                        gpointer      user_data)
{
  PostContractAsync *async = user_data;

  g_assert_false (async->done);
  async->result = g_object_ref (result);
  async->done = TRUE;
}

void
post_contract_async_wait (PostContractAsync *async,
                          guint              timeout_ms,
                          const char        *what)
{
  post_contract_wait_flag (&async->done, timeout_ms, what);
}

void
post_contract_async_clear (PostContractAsync *async)
{
  g_clear_object (&async->result);
  async->done = FALSE;
}

void
post_contract_establish (PostCarrier *carrier,
                         guint        timeout_ms)
{
  PostContractAsync a = { 0 };
  g_autoptr(GError) error = NULL;

  post_carrier_establish_async (carrier, NULL, post_contract_async_cb, &a);
  post_contract_async_wait (&a, timeout_ms, "establishment");
  if (!post_carrier_establish_finish (carrier, a.result, &error))
    g_error ("%s: establishment failed: %s", contract.name, error->message);
  post_contract_async_clear (&a);
  g_assert_cmpint (post_carrier_get_state (carrier), ==, POST_CARRIER_STATE_ACTIVE);
  g_assert_cmpstr (post_carrier_get_stack_name (carrier), ==, contract.name);
}

void
post_contract_respond_echo (PostCarrier *responder,
                            PostMessage *message,
                            PostReply   *reply,
                            gpointer     user_data)
{
  g_autoptr(PostMessage) answer = post_message_new (post_message_get_content (message));

  (*(guint *) user_data)++;
  g_assert_nonnull (post_reply_get_remote_address (reply));
  g_assert_true (post_reply_send (reply, answer, NULL));
}

/* ---- a peer ------------------------------------------------------------------ */

static gboolean
peer_message_cb (PostCarrier *carrier,
                 PostMessage *message,
                 gpointer     user_data)
{
  PostContractPeer *peer = user_data;
  GBytes *content = post_message_get_content (message);

  peer->n_received++;
  g_ptr_array_add (peer->messages, g_object_ref (message));
  g_string_append_len (peer->bytes, g_bytes_get_data (content, NULL), g_bytes_get_size (content));
  if (peer->echo)
    {
      g_autoptr(PostMessage) reply = post_message_new (content);

      post_carrier_send (carrier, reply, NULL);
    }
  return TRUE;
}

static void
peer_closed_cb (PostCarrier  *carrier,
                const GError *error,
                gpointer      user_data)
{
  PostContractPeer *peer = user_data;

  peer->n_closed++;
  if (error != NULL)
    peer->n_closed_error++;
}

static gboolean peer_adopt (PostContractPeer *peer, PostCarrier *carrier);

static gboolean
peer_fork_cb (PostCarrier *parent,
              PostCarrier *carrier,
              gpointer     user_data)
{
  PostContractPeer *peer = user_data;

  peer->n_forks++;
  if (peer->refuse_forks)
    return FALSE;
  return peer_adopt (peer, carrier);
}

static gboolean
peer_adopt (PostContractPeer *peer,
            PostCarrier      *carrier)
{
  g_ptr_array_add (peer->carriers, g_object_ref (carrier));
  g_signal_connect (carrier, "closed", G_CALLBACK (peer_closed_cb), peer);
  g_signal_connect (carrier, "incoming", G_CALLBACK (peer_fork_cb), peer);
  if (!peer->no_read)
    post_carrier_ready (carrier, peer_message_cb, peer, NULL);
  return TRUE;
}

void
post_contract_peer_read (PostContractPeer *peer)
{
  peer->no_read = FALSE;
  for (guint i = 0; i < peer->carriers->len; i++)
    post_carrier_ready (peer->carriers->pdata[i], peer_message_cb, peer, NULL);
}

/* ---- a remote that never answers ---------------------------------------------- */

PostRemote *
post_contract_blackhole_start (PostContractBlackhole *blackhole)
{
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(PostRemote) remote = NULL;
  g_autofree char *uri = NULL;
  guint16 port;

  blackhole->fillers = g_ptr_array_new_with_free_func (g_object_unref);
  blackhole->tcp = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                 G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  g_assert_true (g_socket_bind (blackhole->tcp, any, FALSE, &error));
  g_assert_no_error (error);
  /* A backlog of 0: one connection fills the accept queue (nobody
   * accepts), and the kernel drops the SYNs of the next ones. */
  g_socket_set_listen_backlog (blackhole->tcp, 0);
  g_assert_true (g_socket_listen (blackhole->tcp, &error));
  g_assert_no_error (error);
  bound = g_socket_get_local_address (blackhole->tcp, &error);
  g_assert_no_error (error);
  port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  {
    GSocket *filler = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                    G_SOCKET_PROTOCOL_TCP, &error);

    g_assert_no_error (error);
    /* On loopback the handshake completes within connect(). */
    g_assert_true (g_socket_connect (filler, bound, NULL, &error));
    g_assert_no_error (error);
    g_ptr_array_add (blackhole->fillers, filler);
  }
  blackhole->udp = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
                                 G_SOCKET_PROTOCOL_UDP, &error);
  g_assert_no_error (error);
  g_assert_true (g_socket_bind (blackhole->udp, bound, FALSE, &error));
  g_assert_no_error (error);

  uri = g_strdup_printf ("%s://127.0.0.1:%u", contract.name, port);
  remote = post_remote_new_from_uri (uri, &error);
  g_assert_no_error (error);
  return g_steal_pointer (&remote);
}

void
post_contract_blackhole_stop (PostContractBlackhole *blackhole)
{
  g_clear_pointer (&blackhole->fillers, g_ptr_array_unref);
  g_clear_object (&blackhole->tcp);
  g_clear_object (&blackhole->udp);
}

/* ---- filling a send queue ------------------------------------------------------ */

void
post_contract_fill_until_blocked (PostCarrier *carrier,
                                  gsize        size,
                                  guint        seed,
                                  guint        quiet_ms,
                                  guint        max_messages,
                                  guint       *n_sent)
{
  guint start = *n_sent;

  for (;;)
    {
      g_autoptr(GBytes) chunk = post_contract_pattern (size, seed + *n_sent);
      g_autoptr(GError) error = NULL;

      if (*n_sent - start > max_messages)
        g_error ("%s: the sender was not slowed down: %u messages of %" G_GSIZE_FORMAT
                 " bytes queued to a peer that does not read", contract.name,
                 *n_sent - start, size);
      if (post_carrier_send_bytes (carrier, chunk, &error))
        {
          (*n_sent)++;
          continue;
        }
      post_contract_assert_error (error, POST_ERROR_WOULD_BLOCK);
      {
        PostContractAsync flushed = { 0 };
        GCancellable *cancellable = g_cancellable_new ();
        gboolean quiet = FALSE;
        GSource *timeout = g_timeout_source_new (quiet_ms);

        post_carrier_flush_async (carrier, cancellable, post_contract_async_cb, &flushed);
        g_source_set_callback (timeout, flag_cb, &quiet, NULL);
        g_source_attach (timeout, NULL);
        while (!flushed.done && !quiet)
          g_main_context_iteration (NULL, TRUE);
        g_source_destroy (timeout);
        g_source_unref (timeout);
        if (!flushed.done)
          {
            /* Stuck: the peer takes nothing more.  The flush's wait ends. */
            g_cancellable_cancel (cancellable);
            post_contract_async_wait (&flushed, 5000, "a cancelled flush");
            post_contract_async_clear (&flushed);
            g_object_unref (cancellable);
            return;
          }
        post_contract_async_clear (&flushed);
        g_object_unref (cancellable);
      }
    }
}

static gboolean
peer_incoming_cb (PostCarrier *listener,
                  PostCarrier *carrier,
                  gpointer     user_data)
{
  PostContractPeer *peer = user_data;

  peer->n_incoming++;
  if (peer->refuse)
    return FALSE;
  return peer_adopt (peer, carrier);
}

void
post_contract_peer_start (PostContractPeer  *peer,
                          PostConfiguration *config)
{
  post_contract_peer_start_on (peer, NULL, config);
}

void
post_contract_peer_start_on (PostContractPeer  *peer,
                             PostLocal         *local,
                             PostConfiguration *config)
{
  peer->listener = post_contract_listen_on (local, config);
  peer->carriers = g_ptr_array_new_with_free_func (g_object_unref);
  peer->messages = g_ptr_array_new_with_free_func (g_object_unref);
  peer->bytes = g_string_new (NULL);
  g_signal_connect (peer->listener, "incoming", G_CALLBACK (peer_incoming_cb), peer);
}

void
post_contract_peer_stop (PostContractPeer *peer)
{
  for (guint i = 0; peer->carriers != NULL && i < peer->carriers->len; i++)
    {
      g_signal_handlers_disconnect_by_data (peer->carriers->pdata[i], peer);
      post_carrier_abort (peer->carriers->pdata[i]);
    }
  if (peer->listener != NULL)
    {
      g_signal_handlers_disconnect_by_data (peer->listener, peer);
      post_carrier_abort (peer->listener);
    }
  g_clear_object (&peer->listener);
  g_clear_pointer (&peer->carriers, g_ptr_array_unref);
  g_clear_pointer (&peer->messages, g_ptr_array_unref);
  if (peer->bytes != NULL)
    g_string_free (peer->bytes, TRUE);
  peer->bytes = NULL;
}

/* ---- a connected pair ------------------------------------------------------------ */

static void
pair_finish_open (PostContractPair *pair)
{
  g_autoptr(PostMessage) hello = post_message_new_from_string ("hello");
  g_autoptr(GError) error = NULL;

  post_contract_watch (&pair->watch, pair->client, TRUE);
  /* Queued while ESTABLISHING, delivered once ACTIVE. */
  g_assert_true (post_carrier_send (pair->client, hello, &error));
  g_assert_no_error (error);
  post_contract_establish (pair->client, 5000);
  post_contract_wait_count (&pair->watch.n_received, 1, 5000, "the echo of hello");
  g_assert_cmpstr (pair->watch.bytes->str, ==, "hello");
  g_assert_cmpuint (pair->peer.carriers->len, ==, 1);
}

void
post_contract_pair_open (PostContractPair  *pair,
                         PostConfiguration *client_config,
                         PostConfiguration *server_config)
{
  pair->peer.echo = TRUE;
  post_contract_peer_start (&pair->peer, server_config);
  pair->client = post_contract_initiate (pair->peer.listener, client_config);
  pair_finish_open (pair);
}

gboolean
post_contract_silent_pair_open (PostContractSilent *silent,
                                PostContractPair   *pair,
                                PostConfiguration  *client_config,
                                PostConfiguration  *server_config)
{
  pair->peer.echo = TRUE;
  if (!post_contract_silent_start (silent, &pair->peer, server_config))
    return FALSE;
  pair->client = post_contract_silent_initiate (silent, &pair->peer, client_config);
  pair_finish_open (pair);
  return TRUE;
}

void
post_contract_pair_close (PostContractPair *pair)
{
  if (pair->client != NULL)
    {
      g_signal_handlers_disconnect_by_data (pair->client, &pair->watch);
      post_carrier_abort (pair->client);
    }
  g_clear_object (&pair->client);
  post_contract_watch_clear (&pair->watch);
  post_contract_peer_stop (&pair->peer);
}

/* ---- watching a carrier ------------------------------------------------------- */

static gboolean
watch_message_cb (PostCarrier *carrier,
                  PostMessage *message,
                  gpointer     user_data)
{
  PostContractWatch *watch = user_data;
  GBytes *content = post_message_get_content (message);

  watch->n_received++;
  g_ptr_array_add (watch->messages, g_object_ref (message));
  g_string_append_len (watch->bytes, g_bytes_get_data (content, NULL), g_bytes_get_size (content));
  return TRUE;
}

static void
watch_closed_cb (PostCarrier  *carrier,
                 const GError *error,
                 gpointer      user_data)
{
  PostContractWatch *watch = user_data;

  watch->n_closed++;
  if (error != NULL && watch->close_error == NULL)
    watch->close_error = g_error_copy (error);
}

static void
watch_event_cb (PostCarrier *carrier,
                PostMessage *message,
                gpointer     user_data)
{
  (*(guint *) user_data)++;
}

static void
watch_send_error_cb (PostCarrier  *carrier,
                     PostMessage  *message,
                     const GError *error,
                     gpointer      user_data)
{
  (*(guint *) user_data)++;
}

static gboolean
watch_incoming_cb (PostCarrier *carrier,
                   PostCarrier *fork,
                   gpointer     user_data)
{
  PostContractWatch *watch = user_data;

  watch->n_incoming++;
  if (watch->refuse_forks)
    return FALSE;
  g_ptr_array_add (watch->forks, g_object_ref (fork));
  return TRUE;
}

void
post_contract_watch (PostContractWatch *watch,
                     PostCarrier       *carrier,
                     gboolean           ready)
{
  if (watch->messages == NULL)
    {
      watch->messages = g_ptr_array_new_with_free_func (g_object_unref);
      watch->bytes = g_string_new (NULL);
      watch->forks = g_ptr_array_new_with_free_func (g_object_unref);
    }
  g_signal_connect (carrier, "closed", G_CALLBACK (watch_closed_cb), watch);
  g_signal_connect (carrier, "sent", G_CALLBACK (watch_event_cb), &watch->n_sent);
  g_signal_connect (carrier, "acked", G_CALLBACK (watch_event_cb), &watch->n_acked);
  g_signal_connect (carrier, "expired", G_CALLBACK (watch_event_cb), &watch->n_expired);
  g_signal_connect (carrier, "send-error", G_CALLBACK (watch_send_error_cb), &watch->n_send_error);
  g_signal_connect (carrier, "incoming", G_CALLBACK (watch_incoming_cb), watch);
  if (ready)
    post_carrier_ready (carrier, watch_message_cb, watch, NULL);
}

void
post_contract_unwatch (PostContractWatch *watch,
                       PostCarrier       *carrier)
{
  gpointer data[] = { watch, &watch->n_sent, &watch->n_acked, &watch->n_expired,
                      &watch->n_send_error };

  for (guint i = 0; i < G_N_ELEMENTS (data); i++)
    g_signal_handlers_disconnect_by_data (carrier, data[i]);
  post_carrier_ready (carrier, NULL, NULL, NULL);
}

void
post_contract_watch_clear (PostContractWatch *watch)
{
  for (guint i = 0; watch->forks != NULL && i < watch->forks->len; i++)
    post_carrier_abort (watch->forks->pdata[i]);
  g_clear_pointer (&watch->messages, g_ptr_array_unref);
  g_clear_pointer (&watch->forks, g_ptr_array_unref);
  if (watch->bytes != NULL)
    g_string_free (watch->bytes, TRUE);
  watch->bytes = NULL;
  g_clear_error (&watch->close_error);
}

GBytes *
post_contract_pattern (gsize size,
                       guint seed)
{
  guint8 *data = g_malloc (size ? size : 1);
  guint32 x = seed * 2654435761u + 1;

  for (gsize i = 0; i < size; i++)
    {
      x ^= x << 13;
      x ^= x >> 17;
      x ^= x << 5;
      data[i] = (guint8) x;
    }
  return g_bytes_new_take (data, size);
}

/* ---- a UDP relay ------------------------------------------------------------- */

gboolean
post_contract_listener_is_udp (PostCarrier *listener)
{
  g_autoptr(GSocket) probe = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
                                           G_SOCKET_PROTOCOL_UDP, NULL);
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (lo, post_contract_port_of (listener));
  g_autoptr(GError) error = NULL;

  g_assert_nonnull (probe);
  if (g_socket_bind (probe, address, FALSE, &error))
    return FALSE;
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE);
  return TRUE;
}

static gboolean
relay_forward (PostContractRelay *relay,
               gboolean           from_client)
{
  guint8 buffer[65536];
  g_autoptr(GSocketAddress) from = NULL;
  g_autoptr(GError) error = NULL;
  GSocket *in = from_client ? relay->front : relay->back;
  gssize n = g_socket_receive_from (in, &from, (char *) buffer, sizeof buffer, NULL, &error);
  gsize size;

  if (n < 0)
    return G_SOURCE_CONTINUE;   /* EAGAIN, or an ICMP error from a closed peer */
  size = n;
  if (from_client)
    {
      if (relay->client == NULL)
        relay->client = g_object_ref (from);
      if (relay->drop_to_server)
        {
          relay->n_dropped_to_server++;
          return G_SOURCE_CONTINUE;
        }
      g_array_append_val (relay->to_server, size);
      g_socket_send_to (relay->back, relay->server, (char *) buffer, n, NULL, NULL);
    }
  else
    {
      if (relay->client == NULL || relay->drop_to_client)
        {
          relay->n_dropped_to_client++;
          return G_SOURCE_CONTINUE;
        }
      g_array_append_val (relay->to_client, size);
      g_socket_send_to (relay->front, relay->client, (char *) buffer, n, NULL, NULL);
    }
  return G_SOURCE_CONTINUE;
}

static gboolean
relay_front_cb (GSocket *socket, GIOCondition condition, gpointer user_data)
{
  return relay_forward (user_data, TRUE);
}

static gboolean
relay_back_cb (GSocket *socket, GIOCondition condition, gpointer user_data)
{
  return relay_forward (user_data, FALSE);
}

static GSocket *
relay_socket (const char *address,
              guint16     port)
{
  g_autoptr(GInetAddress) lo = g_inet_address_new_from_string (address);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (lo, port);
  g_autoptr(GError) error = NULL;
  GSocket *socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
                                  G_SOCKET_PROTOCOL_UDP, &error);

  g_assert_no_error (error);
  g_socket_set_blocking (socket, FALSE);
  g_assert_true (g_socket_bind (socket, any, FALSE, &error));
  g_assert_no_error (error);
  return socket;
}

PostContractRelay *
post_contract_relay_new (PostCarrier *listener)
{
  PostContractRelay *relay = g_new0 (PostContractRelay, 1);
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);

  g_assert_true (post_contract_listener_is_udp (listener));
  /* The same port number as the listener's, on 127.0.0.2 (which the test
   * certificate names too): a stack that carries the port inside its
   * packets as well (SCTP over UDP: the SCTP port is the UDP port by
   * default) finds it unchanged. */
  relay->front = relay_socket ("127.0.0.2", post_contract_port_of (listener));
  relay->back = relay_socket ("127.0.0.1", 0);
  relay->server = g_inet_socket_address_new (lo, post_contract_port_of (listener));
  relay->to_server = g_array_new (FALSE, FALSE, sizeof (gsize));
  relay->to_client = g_array_new (FALSE, FALSE, sizeof (gsize));
  relay->front_source = g_socket_create_source (relay->front, G_IO_IN, NULL);
  g_source_set_callback (relay->front_source, G_SOURCE_FUNC (relay_front_cb), relay, NULL);
  g_source_attach (relay->front_source, NULL);
  relay->back_source = g_socket_create_source (relay->back, G_IO_IN, NULL);
  g_source_set_callback (relay->back_source, G_SOURCE_FUNC (relay_back_cb), relay, NULL);
  g_source_attach (relay->back_source, NULL);
  return relay;
}

PostRemote *
post_contract_relay_remote (PostContractRelay *relay)
{
  g_autoptr(GSocketAddress) local = g_socket_get_local_address (relay->front, NULL);
  g_autofree char *uri = g_strdup_printf ("%s://127.0.0.2:%u", contract.name,
                                          g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local)));
  g_autoptr(GError) error = NULL;
  PostRemote *remote = post_remote_new_from_uri (uri, &error);

  g_assert_no_error (error);
  return remote;
}

guint
post_contract_relay_count_to_server (PostContractRelay *relay,
                                     guint              from,
                                     gsize              min_size)
{
  guint n = 0;

  for (guint i = from; i < relay->to_server->len; i++)
    if (g_array_index (relay->to_server, gsize, i) >= min_size)
      n++;
  return n;
}

void
post_contract_relay_free (PostContractRelay *relay)
{
  g_source_destroy (relay->front_source);
  g_source_unref (relay->front_source);
  g_source_destroy (relay->back_source);
  g_source_unref (relay->back_source);
  g_object_unref (relay->front);
  g_object_unref (relay->back);
  g_object_unref (relay->server);
  g_clear_object (&relay->client);
  g_array_unref (relay->to_server);
  g_array_unref (relay->to_client);
  g_free (relay);
}

void
post_contract_assert_error_impl (const GError *error,
                                 int           code,
                                 const char   *where,
                                 const char   *code_name)
{
  if (error != NULL && error->domain == POST_ERROR && error->code == code)
    return;
  g_error ("%s: %s: expected %s, got %s", where, contract.name, code_name,
           error == NULL ? "no error"
           : g_strdup_printf ("%s %d: %s", g_quark_to_string (error->domain), error->code, error->message));
}

/* ---- a peer that vanishes without a word --------------------------------------- */

#define SILENT_CLIENT_IP  "10.77.0.1"
#define SILENT_PEER_IP    "10.77.0.2"   /* also in the server certificate */
#define SILENT_CLIENT_MAC "02:00:00:77:00:01"
#define SILENT_PEER_MAC   "02:00:00:77:00:02"
#define SILENT_NOWHERE    "02:00:00:77:00:99"

static gboolean
silent_run (const char *format,
            ...) G_GNUC_PRINTF (1, 2);

/* Runs an `ip` command line; FALSE (logged) if it fails. */
static gboolean
silent_run (const char *format,
            ...)
{
  g_autofree char *command = NULL;
  g_auto(GStrv) argv = NULL;
  g_autofree char *err = NULL;
  g_autoptr(GError) error = NULL;
  int status = 0;
  va_list args;

  va_start (args, format);
  command = g_strdup_vprintf (format, args);
  va_end (args);
  if (!g_shell_parse_argv (command, NULL, &argv, &error)
      || !g_spawn_sync (NULL, argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL,
                        NULL, NULL, NULL, &err, &status, &error)
      || !g_spawn_check_wait_status (status, &error))
    {
      g_test_message ("%s: %s %s", command, error->message, err != NULL ? g_strstrip (err) : "");
      return FALSE;
    }
  return TRUE;
}

static void
silent_enter (const char *name)
{
  g_autofree char *path = g_strdup_printf ("/run/netns/%s", name);
  int fd = open (path, O_RDONLY | O_CLOEXEC);

  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (setns (fd, CLONE_NEWNET), ==, 0);
  close (fd);
}

/* Deletes the namespaces a crashed run of post-stack-check left behind. */
static void
silent_sweep (void)
{
  g_autoptr(GDir) dir = g_dir_open ("/run/netns", 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      int pid = 0;

      if (sscanf (name, "post-contract-%d-", &pid) == 1 && pid > 0 && pid != getpid ()
          && kill (pid, 0) < 0 && errno == ESRCH)
        silent_run ("ip netns del %s", name);
    }
}

gboolean
post_contract_silent_start (PostContractSilent *silent,
                            PostContractPeer   *peer,
                            PostConfiguration  *server_config)
{
  static guint counter;
  const char *c, *p;

  memset (silent, 0, sizeof *silent);
  silent->home_ns = -1;
  if (geteuid () != 0)
    {
      g_test_skip ("a silent peer needs network namespaces: run post-stack-check as root");
      return FALSE;
    }
  /* The path monitor watches the namespace the process started in, as
   * every other case sees it. */
  post_path_monitor_get_default ();
  silent_sweep ();
  silent->home_ns = open ("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  g_assert_cmpint (silent->home_ns, >=, 0);
  silent->client_ns = g_strdup_printf ("post-contract-%d-%u-c", (int) getpid (), counter);
  silent->peer_ns = g_strdup_printf ("post-contract-%d-%u-p", (int) getpid (), counter++);
  c = silent->client_ns;
  p = silent->peer_ns;
  if (!silent_run ("ip netns add %s", c) || !silent_run ("ip netns add %s", p)
      || !silent_run ("ip -n %s link add c0 address %s type veth peer name s0 address %s netns %s",
                      c, SILENT_CLIENT_MAC, SILENT_PEER_MAC, p)
      || !silent_run ("ip -n %s addr add " SILENT_CLIENT_IP "/24 dev c0", c)
      || !silent_run ("ip -n %s addr add " SILENT_PEER_IP "/24 dev s0", p)
      || !silent_run ("ip -n %s link set lo up", c) || !silent_run ("ip -n %s link set lo up", p)
      || !silent_run ("ip -n %s link set c0 up", c) || !silent_run ("ip -n %s link set s0 up", p)
      /* Permanent neighbours: no ARP, so that silence stays silence (no
       * failed resolution, no ICMP host unreachable). */
      || !silent_run ("ip -n %s neigh replace " SILENT_PEER_IP " lladdr %s dev c0 nud permanent",
                      c, SILENT_PEER_MAC)
      || !silent_run ("ip -n %s neigh replace " SILENT_CLIENT_IP " lladdr %s dev s0 nud permanent",
                      p, SILENT_CLIENT_MAC))
    {
      post_contract_silent_stop (silent);
      g_test_skip ("could not make the network namespaces of a silent peer (see the messages)");
      return FALSE;
    }
  silent_enter (p);
  {
    g_autoptr(PostLocal) local = post_contract_server_local (SILENT_PEER_IP ":0");

    post_contract_peer_start_on (peer, local, server_config);
  }
  silent_enter (c);
  return TRUE;
}

PostCarrier *
post_contract_silent_initiate (PostContractSilent *silent,
                               PostContractPeer   *peer,
                               PostConfiguration  *config)
{
  g_autoptr(PostConfiguration) own = config != NULL ? g_object_ref (config) : post_contract_config ();
  g_autoptr(PostRemote) remote = post_contract_remote_at (SILENT_PEER_IP, post_contract_port_of (peer->listener));
  PostCarrier *carrier = post_carrier_initiate (NULL, remote, own);

  g_assert_nonnull (carrier);
  return carrier;
}

void
post_contract_silence (PostContractSilent *silent)
{
  /* Each side's frames now go to a hardware address nobody has: the
   * other end's veth drops them.  Links, addresses and routes stay. */
  g_assert_true (silent_run ("ip -n %s neigh replace " SILENT_PEER_IP " lladdr " SILENT_NOWHERE
                             " dev c0 nud permanent", silent->client_ns));
  g_assert_true (silent_run ("ip -n %s neigh replace " SILENT_CLIENT_IP " lladdr " SILENT_NOWHERE
                             " dev s0 nud permanent", silent->peer_ns));
  silent->silenced = TRUE;
}

void
post_contract_silent_stop (PostContractSilent *silent)
{
  if (silent->home_ns >= 0)
    {
      g_assert_cmpint (setns (silent->home_ns, CLONE_NEWNET), ==, 0);
      close (silent->home_ns);
      silent->home_ns = -1;
    }
  /* Deleting the peer's namespace deletes the veth pair. */
  if (silent->peer_ns != NULL)
    silent_run ("ip netns del %s", silent->peer_ns);
  if (silent->client_ns != NULL)
    silent_run ("ip netns del %s", silent->client_ns);
  g_clear_pointer (&silent->peer_ns, g_free);
  g_clear_pointer (&silent->client_ns, g_free);
}
