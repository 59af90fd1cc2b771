/* post-tcp-interfaces.c: which interface holds a local address, from
 * getifaddrs() kept for a second process-wide, for the tcp stack's paths
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "post-tcp-psi.h"

#include <ifaddrs.h>
#include <netinet/in.h>
#include <sys/socket.h>

/* g_inet_address_to_string(), without inet_ntop()'s printf for IPv4: the
 * interface cache's key, looked up for every connection. */
static char *
address_key (GInetAddress *address)
{
  const guint8 *bytes;
  char text[16], *p = text;

  if (g_inet_address_get_family (address) != G_SOCKET_FAMILY_IPV4)
    return g_inet_address_to_string (address);
  bytes = g_inet_address_to_bytes (address);
  for (guint i = 0; i < 4; i++)
    {
      guint b = bytes[i];

      if (i > 0)
        *p++ = '.';
      if (b >= 100)
        *p++ = '0' + b / 100;
      if (b >= 10)
        *p++ = '0' + b / 10 % 10;
      *p++ = '0' + b % 10;
    }
  return g_strndup (text, p - text);
}

/* getifaddrs() dumps every link and address over netlink: far too slow to
 * do for each connection.  Its answer (address -> interface name) is kept
 * for a second, process-wide. */
#define INTERFACE_CACHE_TTL_US G_USEC_PER_SEC

G_LOCK_DEFINE_STATIC (interface_cache);
static GHashTable *interface_cache;   /* (element-type utf8 utf8) address -> name */
static gint64      interface_cache_time;

static GHashTable *
read_interfaces (void)
{
  struct ifaddrs *ifaddrs = NULL, *ifa;
  GHashTable *table = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  if (getifaddrs (&ifaddrs) != 0)
    return table;

  for (ifa = ifaddrs; ifa != NULL; ifa = ifa->ifa_next)
    {
      g_autoptr(GSocketAddress) candidate = NULL;
      gsize len;

      if (ifa->ifa_addr == NULL || ifa->ifa_name == NULL)
        continue;
      if (ifa->ifa_addr->sa_family == AF_INET)
        len = sizeof (struct sockaddr_in);
      else if (ifa->ifa_addr->sa_family == AF_INET6)
        len = sizeof (struct sockaddr_in6);
      else
        continue;

      candidate = g_socket_address_new_from_native (ifa->ifa_addr, len);
      if (candidate != NULL && G_IS_INET_SOCKET_ADDRESS (candidate))
        {
          char *key = address_key (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (candidate)));

          if (!g_hash_table_contains (table, key))
            g_hash_table_insert (table, key, g_strdup (ifa->ifa_name));
          else
            g_free (key);
        }
    }

  freeifaddrs (ifaddrs);
  return table;
}

/* The name of the interface that carries @address, or NULL. */
char *
post_tcp_find_interface (GSocketAddress *address)
{
  g_autofree char *key = NULL;
  GInetAddress *inet;
  gint64 now = g_get_monotonic_time ();
  char *name;

  if (address == NULL || !G_IS_INET_SOCKET_ADDRESS (address))
    return NULL;
  inet = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (address));
  if (g_inet_address_get_is_any (inet))
    return NULL;
  key = address_key (inet);

  G_LOCK (interface_cache);
  if (interface_cache == NULL || now - interface_cache_time > INTERFACE_CACHE_TTL_US
      || !g_hash_table_contains (interface_cache, key))
    {
      g_clear_pointer (&interface_cache, g_hash_table_unref);
      interface_cache = read_interfaces ();
      interface_cache_time = now;
    }
  name = g_strdup (g_hash_table_lookup (interface_cache, key));
  G_UNLOCK (interface_cache);
  return name;
}
