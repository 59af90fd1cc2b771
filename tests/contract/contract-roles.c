/* contract-roles.c: what a listener, source, sink and responder may and
 * may not do (draft 2.1).
 *
 * - A listener only accepts: send, receive and fork fail with
 *   POST_ERROR_WRONG_ROLE.
 * - A source only sends; a sink only receives; neither forks.
 * - A responder receives from many remotes and answers each through a
 *   PostReply; it cannot send on its own, nor fork.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "post-contract.h"

static void
expect_send_fails (PostCarrier *carrier,
                   int          code)
{
  g_autoptr(PostMessage) m = post_message_new_from_string ("no");
  g_autoptr(GError) error = NULL;
  PostContractAsync a = { 0 };

  g_assert_false (post_carrier_send (carrier, m, &error));
  post_contract_assert_error (error, code);
  g_clear_error (&error);
  post_carrier_send_async (carrier, m, NULL, post_contract_async_cb, &a);
  post_contract_async_wait (&a, 2000, "send_async in the wrong role");
  g_assert_false (post_carrier_send_finish (carrier, a.result, &error));
  post_contract_assert_error (error, code);
  post_contract_async_clear (&a);
}

static void
expect_receive_fails (PostCarrier *carrier,
                      int          code)
{
  g_autoptr(GError) error = NULL;
  PostContractAsync a = { 0 };

  post_carrier_receive_async (carrier, NULL, post_contract_async_cb, &a);
  post_contract_async_wait (&a, 2000, "receive_async in the wrong role");
  g_assert_null (post_carrier_receive_finish (carrier, a.result, &error));
  post_contract_assert_error (error, code);
  post_contract_async_clear (&a);
}

static void
expect_fork_fails (PostCarrier *carrier)
{
  g_autoptr(GError) error = NULL;
  PostContractAsync a = { 0 };

  post_carrier_fork_async (carrier, NULL, post_contract_async_cb, &a);
  post_contract_async_wait (&a, 2000, "fork_async in the wrong role");
  g_assert_null (post_carrier_fork_finish (carrier, a.result, &error));
  post_contract_assert_error (error, POST_ERROR_WRONG_ROLE);
  post_contract_async_clear (&a);
}

static void
test_listener (void)
{
  g_autoptr(PostCarrier) listener = NULL;
  g_autoptr(GError) error = NULL;

  if (!post_contract_has (POST_STACK_CAP_LISTEN))
    {
      g_autoptr(PostConfiguration) config = post_contract_server_config ();
      g_autoptr(PostLocal) local = post_contract_server_local (NULL);

      g_assert_null (post_carrier_listen (local, config, &error));
      post_contract_assert_error (error, POST_ERROR_NOT_SUPPORTED);
      post_contract_unsupported ("cannot listen: %s", error->message);
      return;
    }
  listener = post_contract_listen (NULL);
  g_assert_cmpint (post_carrier_get_state (listener), ==, POST_CARRIER_STATE_ACTIVE);
  g_assert_cmpuint (post_contract_port_of (listener), !=, 0);
  expect_send_fails (listener, POST_ERROR_WRONG_ROLE);
  expect_receive_fails (listener, POST_ERROR_WRONG_ROLE);
  expect_fork_fails (listener);
  post_carrier_close (listener);
}

/* A source sends to a peer, which receives the messages on an accepted
 * carrier (connected stacks) or on its sink; the source cannot receive. */
static void
test_source (void)
{
  PostContractPeer peer = { 0 };
  g_autoptr(PostCarrier) source = NULL;
  g_autoptr(PostRemote) remote = NULL;
  g_autoptr(PostConfiguration) config = post_contract_config ();

  peer.echo = FALSE;
  post_contract_peer_start (&peer, NULL);
  remote = post_contract_remote_of (peer.listener);
  source = post_carrier_new_source (NULL, remote, config);
  g_assert_cmpint (post_carrier_get_role (source), ==, POST_CARRIER_ROLE_SOURCE);
  for (guint i = 0; i < 3; i++)
    {
      g_autoptr(PostMessage) m = post_message_new_from_string ("one-way");

      g_assert_true (post_carrier_send (source, m, NULL));
    }
  post_contract_establish (source, 5000);
  post_contract_wait_count (&peer.n_received, 3, 5000, "the source's messages");
  g_assert_cmpstr (peer.bytes->str, ==, "one-wayone-wayone-way");
  expect_receive_fails (source, POST_ERROR_WRONG_ROLE);
  expect_fork_fails (source);
  /* On a multistreaming stack a source uses a stream one way, and the peer
   * accepts a sink; elsewhere the transport is bidirectional and the peer
   * cannot tell a source from a carrier. */
  if (post_contract_has (POST_STACK_CAP_MULTISTREAMING))
    {
      g_assert_cmpint (post_carrier_get_role (peer.carriers->pdata[0]), ==, POST_CARRIER_ROLE_SINK);
      expect_send_fails (peer.carriers->pdata[0], POST_ERROR_WRONG_ROLE);
    }
  else
    g_assert_cmpint (post_carrier_get_role (peer.carriers->pdata[0]), ==, POST_CARRIER_ROLE_CARRIER);
  post_carrier_abort (source);
  post_contract_peer_stop (&peer);
}

/* A sink bound to a local only receives; a source reaches it. */
static void
test_sink (void)
{
  g_autoptr(PostConfiguration) server_config = post_contract_server_config ();
  g_autoptr(PostConfiguration) config = post_contract_config ();
  g_autoptr(PostLocal) local = post_contract_server_local (NULL);
  g_autoptr(PostCarrier) sink = NULL;
  g_autoptr(PostCarrier) source = NULL;
  g_autoptr(PostRemote) remote = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *uri = NULL;
  PostContractWatch watch = { 0 };

  sink = post_carrier_new_sink (local, NULL, server_config, &error);
  g_assert_no_error (error);
  g_assert_nonnull (sink);
  g_assert_cmpint (post_carrier_get_role (sink), ==, POST_CARRIER_ROLE_SINK);
  post_contract_watch (&watch, sink, TRUE);
  expect_send_fails (sink, POST_ERROR_WRONG_ROLE);
  expect_fork_fails (sink);

  uri = g_strdup_printf ("%s://127.0.0.1:%u", post_contract_stack ()->name, post_contract_port_of (sink));
  remote = post_remote_new_from_uri (uri, &error);
  g_assert_no_error (error);
  source = post_carrier_new_source (NULL, remote, config);
  for (guint i = 0; i < 3; i++)
    {
      g_autoptr(PostMessage) m = post_message_new_from_string ("to-sink");

      g_assert_true (post_carrier_send (source, m, NULL));
    }
  post_contract_wait_count (&watch.n_received, 3, 5000, "messages at the sink");
  g_assert_cmpstr (watch.bytes->str, ==, "to-sinkto-sinkto-sink");
  post_carrier_abort (source);
  post_carrier_abort (sink);
  post_contract_watch_clear (&watch);
}

/* A responder answers each of several clients through its PostReply. */
static void
test_responder (void)
{
  g_autoptr(PostConfiguration) config = post_contract_server_config ();
  g_autoptr(PostLocal) local = post_contract_server_local (NULL);
  g_autoptr(PostCarrier) responder = NULL;
  g_autoptr(GError) error = NULL;
  PostContractWatch w1 = { 0 }, w2 = { 0 };
  guint n_answered = 0;
  g_autoptr(PostCarrier) c1 = NULL;
  g_autoptr(PostCarrier) c2 = NULL;
  g_autoptr(PostMessage) m1 = post_message_new_from_string ("first");
  g_autoptr(PostMessage) m2 = post_message_new_from_string ("second");

  responder = post_carrier_respond (local, config, post_contract_respond_echo, &n_answered, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (post_carrier_get_role (responder), ==, POST_CARRIER_ROLE_RESPONDER);
  expect_send_fails (responder, POST_ERROR_WRONG_ROLE);
  expect_fork_fails (responder);

  c1 = post_contract_initiate (responder, NULL);
  c2 = post_contract_initiate (responder, NULL);
  post_contract_watch (&w1, c1, TRUE);
  post_contract_watch (&w2, c2, TRUE);
  g_assert_true (post_carrier_send (c1, m1, NULL));
  g_assert_true (post_carrier_send (c2, m2, NULL));
  post_contract_wait_count (&w1.n_received, 1, 5000, "the first client's answer");
  post_contract_wait_count (&w2.n_received, 1, 5000, "the second client's answer");
  g_assert_cmpstr (w1.bytes->str, ==, "first");
  g_assert_cmpstr (w2.bytes->str, ==, "second");
  g_assert_cmpuint (n_answered, ==, 2);
  post_carrier_abort (c1);
  post_carrier_abort (c2);
  post_carrier_abort (responder);
  post_contract_watch_clear (&w1);
  post_contract_watch_clear (&w2);
}

void
post_contract_add_roles_cases (void)
{
  post_contract_add ("roles/listener", test_listener);
  post_contract_add ("roles/source", test_source);
  post_contract_add ("roles/sink", test_sink);
  post_contract_add ("roles/responder", test_responder);
}
