/* test-refused-peers.c: the table of remotes a listener refused
 * (libpost/post-refused-peers-private.h), with the times given to it: its
 * age limit and its bound.  Nothing here waits for a clock.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "post-refused-peers-private.h"

static GSocketAddress *
address (const char *ip,
         guint16     port)
{
  return g_inet_socket_address_new_from_string (ip, port);
}

/* A refused remote is known until it was not heard of for the age limit;
 * each datagram (check) starts its age again.  Another port, another
 * address, another family: other remotes. */
static void
test_age (void)
{
  g_autoptr(PostRefusedPeers) table = _post_refused_peers_new ();
  g_autoptr(GSocketAddress) a = address ("127.0.0.1", 4000);
  g_autoptr(GSocketAddress) same = address ("127.0.0.1", 4000);
  g_autoptr(GSocketAddress) other_port = address ("127.0.0.1", 4001);
  g_autoptr(GSocketAddress) v6 = address ("::1", 4000);
  gint64 t = 1000000;

  g_assert_false (_post_refused_peers_check (table, a, t));
  _post_refused_peers_add (table, a, t);
  g_assert_true (_post_refused_peers_check (table, same, t + 1));
  g_assert_false (_post_refused_peers_check (table, other_port, t + 1));
  g_assert_false (_post_refused_peers_check (table, v6, t + 1));

  /* Heard of just before the limit: still refused, and its age restarts. */
  t += POST_REFUSED_PEER_AGE_US - 1;
  g_assert_true (_post_refused_peers_check (table, a, t));
  t += POST_REFUSED_PEER_AGE_US - 1;
  g_assert_true (_post_refused_peers_check (table, a, t));
  /* Silent for the whole limit: forgotten, offered again. */
  t += POST_REFUSED_PEER_AGE_US;
  g_assert_false (_post_refused_peers_check (table, a, t));
  g_assert_cmpuint (_post_refused_peers_size (table), ==, 0);

  /* IPv6 remotes are kept too. */
  _post_refused_peers_add (table, v6, t);
  g_assert_true (_post_refused_peers_check (table, v6, t + 1));
  g_assert_false (_post_refused_peers_check (table, a, t + 1));
}

/* Never more than POST_REFUSED_PEERS_MAX remotes: one more forgets the
 * expired ones, else the one heard of least recently. */
static void
test_bound (void)
{
  g_autoptr(PostRefusedPeers) table = _post_refused_peers_new ();
  gint64 t = 1000000;

  for (guint i = 0; i < POST_REFUSED_PEERS_MAX; i++)
    {
      g_autoptr(GSocketAddress) r = address ("10.0.0.1", 1000 + i);

      _post_refused_peers_add (table, r, t + i);
    }
  g_assert_cmpuint (_post_refused_peers_size (table), ==, POST_REFUSED_PEERS_MAX);
  {
    /* The first one is heard of again: now the second is the oldest. */
    g_autoptr(GSocketAddress) first = address ("10.0.0.1", 1000);
    g_autoptr(GSocketAddress) second = address ("10.0.0.1", 1001);
    g_autoptr(GSocketAddress) last = address ("10.0.0.1", 1000 + POST_REFUSED_PEERS_MAX - 1);
    g_autoptr(GSocketAddress) more = address ("10.0.0.2", 9);
    gint64 now = t + POST_REFUSED_PEERS_MAX;

    g_assert_true (_post_refused_peers_check (table, first, now));
    _post_refused_peers_add (table, more, now + 1);
    g_assert_cmpuint (_post_refused_peers_size (table), ==, POST_REFUSED_PEERS_MAX);
    g_assert_true (_post_refused_peers_check (table, more, now + 2));
    g_assert_true (_post_refused_peers_check (table, first, now + 2));
    g_assert_false (_post_refused_peers_check (table, second, now + 2));
    g_assert_true (_post_refused_peers_check (table, last, now + 2));

    /* Once the rest expired, one more takes their room at once. */
    now += 2 + POST_REFUSED_PEER_AGE_US;
    {
      g_autoptr(GSocketAddress) late = address ("10.0.0.3", 9);

      _post_refused_peers_add (table, late, now);
      g_assert_true (_post_refused_peers_check (table, late, now + 1));
    }
    g_assert_cmpuint (_post_refused_peers_size (table), ==, 1);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/refused-peers/age", test_age);
  g_test_add_func ("/refused-peers/bound", test_bound);
  return g_test_run ();
}
