/* post-refused-peers.c: the remotes a listener refused (see the header)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "post-refused-peers-private.h"

struct _PostRefusedPeers
{
  GHashTable *last_heard;   /* (owned) "address:port" → gint64 *, monotonic µs */
};

PostRefusedPeers *
_post_refused_peers_new (void)
{
  PostRefusedPeers *self = g_new0 (PostRefusedPeers, 1);

  self->last_heard = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return self;
}

void
_post_refused_peers_free (PostRefusedPeers *self)
{
  if (self == NULL)
    return;
  g_hash_table_unref (self->last_heard);
  g_free (self);
}

/* The key of @remote: its IP address (scope included) and port. */
static char *
key_of (GSocketAddress *remote)
{
  GInetSocketAddress *inet;
  g_autofree char *ip = NULL;

  if (!G_IS_INET_SOCKET_ADDRESS (remote))
    return NULL;
  inet = G_INET_SOCKET_ADDRESS (remote);
  ip = g_inet_address_to_string (g_inet_socket_address_get_address (inet));
  if (g_socket_address_get_family (remote) == G_SOCKET_FAMILY_IPV6)
    return g_strdup_printf ("[%s%%%u]:%u", ip, g_inet_socket_address_get_scope_id (inet),
                            g_inet_socket_address_get_port (inet));
  return g_strdup_printf ("%s:%u", ip, g_inet_socket_address_get_port (inet));
}

/* Forgets the remotes not heard of for the age limit; when the table is
 * still full, the one heard of least recently too. */
static void
make_room (PostRefusedPeers *self,
           gint64            now)
{
  GHashTableIter iter;
  gpointer key, value;
  const char *oldest = NULL;
  gint64 oldest_time = G_MAXINT64;

  g_hash_table_iter_init (&iter, self->last_heard);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (now - *(gint64 *) value >= POST_REFUSED_PEER_AGE_US)
      g_hash_table_iter_remove (&iter);
  if (g_hash_table_size (self->last_heard) < POST_REFUSED_PEERS_MAX)
    return;
  g_hash_table_iter_init (&iter, self->last_heard);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (*(gint64 *) value < oldest_time)
      {
        oldest = key;
        oldest_time = *(gint64 *) value;
      }
  if (oldest != NULL)
    g_hash_table_remove (self->last_heard, oldest);
}

void
_post_refused_peers_add (PostRefusedPeers *self,
                         GSocketAddress   *remote,
                         gint64            now)
{
  g_autofree char *key = key_of (remote);
  gint64 *when;

  if (key == NULL)
    return;
  if (!g_hash_table_contains (self->last_heard, key)
      && g_hash_table_size (self->last_heard) >= POST_REFUSED_PEERS_MAX)
    make_room (self, now);
  when = g_new (gint64, 1);
  *when = now;
  g_hash_table_replace (self->last_heard, g_steal_pointer (&key), when);
}

gboolean
_post_refused_peers_check (PostRefusedPeers *self,
                           GSocketAddress   *remote,
                           gint64            now)
{
  g_autofree char *key = key_of (remote);
  gint64 *when;

  if (key == NULL)
    return FALSE;
  when = g_hash_table_lookup (self->last_heard, key);
  if (when == NULL)
    return FALSE;
  if (now - *when >= POST_REFUSED_PEER_AGE_US)
    {
      g_hash_table_remove (self->last_heard, key);
      return FALSE;
    }
  *when = now;
  return TRUE;
}

guint
_post_refused_peers_size (PostRefusedPeers *self)
{
  return g_hash_table_size (self->last_heard);
}
