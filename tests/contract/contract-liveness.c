/* contract-liveness.c: a peer that vanishes is noticed, never left ACTIVE
 * while what is sent to it is lost.
 *
 * - keep-alive-required: a stack with POST_STACK_CAP_KEEP_ALIVE serves a
 *   configuration that requires `keep-alive`; one without fails selection
 *   with POST_ERROR_NO_STACK, naming the property.
 * - silent-peer-idle / silent-peer-sending: with keep-alive-timeout 1 s, a
 *   peer that goes silent (PostContractSilent: no FIN, reset, alert or
 *   ICMP) is noticed within a bounded wait, idle or while sending: the
 *   initiated client goes DORMANT with POST_ERROR_TIMED_OUT.  A stack
 *   without POST_STACK_CAP_KEEP_ALIVE (udp: nothing can notice it; a
 *   connected stack that does not declare it) is the "reports
 *   unsupported" branch, whose refusal keep-alive-required checks.
 * - silent-client: the same seen from the peer's accepted carrier, which
 *   closes with POST_ERROR_TIMED_OUT (its own keep-alives, or the udp
 *   listener's udp.peer-idle-timeout).
 * - listener-expiry: a udp or dtls listener forgets a peer silent for
 *   udp.peer-idle-timeout; a dtls client learns of it (a fatal alert) and
 *   goes DORMANT, a udp client cannot and stays ACTIVE.  A reliable
 *   stack's listener expires nobody: idleness ends nothing there.
 *
 * Timeouts are short (1 s) and every wait is bounded; nothing asserts how
 * long detection took.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "post-contract.h"

#include <string.h>

#define KEEP_ALIVE_MS     1000
/* Detection takes about twice the keep-alive timeout, plus the stack's
 * retransmission timeouts: wait for far longer, never assert how long. */
#define NOTICE_WAIT_MS    20000

static PostConfiguration *
keep_alive_config (gboolean server)
{
  PostConfiguration *config = server ? post_contract_server_config () : post_contract_config ();
  g_autoptr(GError) error = NULL;

  g_assert_true (post_configuration_set_keep_alive_timeout (config, KEEP_ALIVE_MS, &error));
  g_assert_no_error (error);
  return config;
}

static void
test_keep_alive_required (void)
{
  g_autoptr(PostConfiguration) config = post_contract_config ();
  g_autoptr(PostConfiguration) server = post_contract_server_config ();
  PostContractPeer peer = { 0 };
  g_autoptr(PostCarrier) client = NULL;
  g_autoptr(GError) error = NULL;
  PostContractAsync a = { 0 };

  g_assert_true (post_configuration_set_preference (config, POST_SELECTION_KEEP_ALIVE,
                                                    POST_PREFERENCE_REQUIRE, NULL));
  g_assert_true (post_configuration_set_preference (server, POST_SELECTION_KEEP_ALIVE,
                                                    POST_PREFERENCE_REQUIRE, NULL));
  /* Required without a timeout: the documented default. */
  g_assert_cmpuint (post_configuration_get_effective_keep_alive_timeout (config), ==, 30000);

  if (post_contract_has (POST_STACK_CAP_KEEP_ALIVE))
    {
      post_contract_peer_start (&peer, server);
      client = post_contract_initiate (peer.listener, config);
      post_contract_establish (client, 5000);
      g_assert_true (post_carrier_get_capabilities (client) & POST_STACK_CAP_KEEP_ALIVE);
      post_carrier_abort (client);
      post_contract_peer_stop (&peer);
      return;
    }

  post_contract_unsupported ("no keep-alive: requiring it fails selection");
  /* A listener cannot start... */
  {
    g_autoptr(PostLocal) local = post_contract_server_local (NULL);
    g_autoptr(PostCarrier) listener = post_carrier_listen (local, server, &error);

    g_assert_null (listener);
    post_contract_assert_error (error, POST_ERROR_NO_STACK);
    g_assert_nonnull (strstr (error->message, "keep-alive"));
    g_clear_error (&error);
  }
  /* ... and an initiator's establishment fails, naming the property. */
  post_contract_peer_start (&peer, NULL);
  client = post_contract_initiate (peer.listener, config);
  post_carrier_establish_async (client, NULL, post_contract_async_cb, &a);
  post_contract_async_wait (&a, 5000, "establishment requiring keep-alive");
  g_assert_false (post_carrier_establish_finish (client, a.result, &error));
  post_contract_assert_error (error, POST_ERROR_NO_STACK);
  g_assert_nonnull (strstr (error->message, "keep-alive"));
  post_contract_async_clear (&a);
  g_assert_cmpuint (peer.n_incoming, ==, 0);
  post_contract_peer_stop (&peer);
}

/* A pair across the namespaces of a peer that can go silent. */
typedef struct
{
  PostContractSilent silent;
  PostContractPair   pair;
} Vanishing;

static gboolean
vanishing_open (Vanishing         *v,
                PostConfiguration *client_config,
                PostConfiguration *server_config)
{
  return post_contract_silent_pair_open (&v->silent, &v->pair, client_config, server_config);
}

static void
vanishing_close (Vanishing *v)
{
  post_contract_pair_close (&v->pair);
  post_contract_silent_stop (&v->silent);
}

/* Without keep-alives nothing can tell silence from a quiet peer: the
 * stack must not claim keep-alives or a connection it cannot watch. */
static gboolean
check_cannot_notice (void)
{
  if (post_contract_has (POST_STACK_CAP_KEEP_ALIVE))
    return FALSE;
  if (post_contract_is_connected ())
    post_contract_unsupported ("no keep-alive declared: a silent peer is left to the transport's own "
                               "timeouts (keep-alive-required checks that requiring it fails)");
  else
    post_contract_unsupported ("no keep-alive: a silent peer cannot be noticed by the client; "
                               "only a listener's idle expiry ends an accepted carrier (silent-client)");
  return TRUE;
}

static void
silent_peer (gboolean sending)
{
  g_autoptr(PostConfiguration) config = keep_alive_config (FALSE);
  Vanishing v = { 0 };

  if (check_cannot_notice ())
    return;
  g_assert_cmpuint (post_configuration_get_effective_keep_alive_timeout (config), ==, KEEP_ALIVE_MS);
  if (!vanishing_open (&v, config, NULL))
    return;
  post_contract_silence (&v.silent);
  if (sending)
    for (guint i = 0; i < 3; i++)
      {
        g_autoptr(PostMessage) m = post_message_new_from_string ("into the void");

        g_assert_true (post_carrier_send (v.pair.client, m, NULL));
        post_contract_spin (100);
      }
  post_contract_wait_state_not (v.pair.client, POST_CARRIER_STATE_ACTIVE, NOTICE_WAIT_MS);
  /* An initiated carrier can try again later: DORMANT, with the reason. */
  g_assert_cmpint (post_carrier_get_state (v.pair.client), ==, POST_CARRIER_STATE_DORMANT);
  post_contract_assert_error (post_carrier_get_error (v.pair.client), POST_ERROR_TIMED_OUT);
  g_assert_cmpuint (v.pair.watch.n_closed, ==, 0);
  vanishing_close (&v);
}

static void
test_silent_peer_idle (void)
{
  silent_peer (FALSE);
}

static void
test_silent_peer_sending (void)
{
  silent_peer (TRUE);
}

/* The peer's side: its accepted carrier closes with TIMED_OUT when the
 * client vanishes, through its own keep-alives or the udp listener's
 * idle expiry. */
static void
test_silent_client (void)
{
  g_autoptr(PostConfiguration) server = keep_alive_config (TRUE);
  Vanishing v = { 0 };
  PostCarrier *accepted;

  if (!post_contract_has (POST_STACK_CAP_KEEP_ALIVE) && post_contract_is_connected ())
    {
      post_contract_unsupported ("no keep-alive declared: a vanished client is left to the transport's "
                                 "own timeouts");
      return;
    }
  if (!post_contract_has (POST_STACK_CAP_KEEP_ALIVE))
    {
      post_contract_unsupported ("no keep-alive: the listener's udp.peer-idle-timeout ends the carrier");
      g_assert_true (post_configuration_set_option (server, "udp.peer-idle-timeout",
                                                    g_variant_new_uint32 (2 * KEEP_ALIVE_MS), NULL));
    }
  if (!vanishing_open (&v, NULL, server))
    return;
  accepted = v.pair.peer.carriers->pdata[0];
  post_contract_silence (&v.silent);
  post_contract_wait_state_not (accepted, POST_CARRIER_STATE_ACTIVE, NOTICE_WAIT_MS);
  post_contract_wait_count (&v.pair.peer.n_closed, 1, 2000, "the accepted carrier's closed signal");
  g_assert_cmpint (post_carrier_get_state (accepted), ==, POST_CARRIER_STATE_CLOSED);
  g_assert_cmpuint (v.pair.peer.n_closed_error, ==, 1);
  post_contract_assert_error (post_carrier_get_error (accepted), POST_ERROR_TIMED_OUT);
  vanishing_close (&v);
}

/* A listener's idle expiry (udp.peer-idle-timeout, udp and dtls). */
static void
test_listener_expiry (void)
{
  g_autoptr(PostConfiguration) server = post_contract_server_config ();
  g_autoptr(PostMessage) again = post_message_new_from_string ("again");
  PostContractPair pair = { 0 };
  PostContractPeer *peer = &pair.peer;
  PostCarrier *client;

  g_assert_true (post_configuration_set_option (server, "udp.peer-idle-timeout",
                                                g_variant_new_uint32 (300), NULL));
  post_contract_pair_open (&pair, NULL, server);
  client = pair.client;

  if (post_contract_has (POST_STACK_CAP_RELIABLE))
    {
      /* No idle expiry on a reliable stack's listener (only keep-alives
       * end a silent connection): idleness alone ends nothing. */
      post_contract_unsupported ("reliable: a listener does not expire idle carriers; keep-alives do");
      post_contract_spin (800);
      g_assert_cmpuint (peer->n_closed, ==, 0);
      g_assert_cmpint (post_carrier_get_state (client), ==, POST_CARRIER_STATE_ACTIVE);
      g_assert_cmpint (post_carrier_get_state (peer->carriers->pdata[0]), ==, POST_CARRIER_STATE_ACTIVE);
    }
  else
    {
      post_contract_wait_count (&peer->n_closed, 1, 5000, "the listener's idle expiry");
      post_contract_assert_error (post_carrier_get_error (peer->carriers->pdata[0]), POST_ERROR_TIMED_OUT);
      if (post_contract_is_connected ())
        {
          /* dtls: the expired session ends with a fatal alert, so the
           * client does not send into a session nobody holds. */
          post_contract_wait_state (client, POST_CARRIER_STATE_DORMANT, 5000);
          post_contract_assert_error (post_carrier_get_error (client), POST_ERROR_CONNECTION_RESET);
          post_contract_establish (client, 5000);
        }
      else
        {
          /* udp: nothing can tell the client; it stays ACTIVE. */
          post_contract_unsupported ("connectionless: the client cannot learn of the expiry");
          post_contract_spin (200);
          g_assert_cmpint (post_carrier_get_state (client), ==, POST_CARRIER_STATE_ACTIVE);
        }
      /* Either way its next message reaches the listener as a new carrier. */
      g_assert_true (post_carrier_send (client, again, NULL));
      post_contract_wait_count (&pair.watch.n_received, 2, 5000, "the echo of a message after the expiry");
      g_assert_cmpuint (peer->n_incoming, ==, 2);
    }
  g_assert_cmpuint (pair.watch.n_closed, ==, 0);
  post_contract_pair_close (&pair);
}

void
post_contract_add_liveness_cases (void)
{
  post_contract_add ("liveness/keep-alive-required", test_keep_alive_required);
  post_contract_add ("liveness/silent-peer-idle", test_silent_peer_idle);
  post_contract_add ("liveness/silent-peer-sending", test_silent_peer_sending);
  post_contract_add ("liveness/silent-client", test_silent_client);
  post_contract_add ("liveness/listener-expiry", test_listener_expiry);
}
