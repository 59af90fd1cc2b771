/* post-path-snapshot.c: what the path monitor knows of the host at one
 * moment (interfaces, addresses, routes), read from its libnl caches,
 * compared with the previous one, and queried for paths
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "post-path-monitor-private.h"

#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>

#include <netlink/netlink.h>
#include <netlink/cache.h>
#include <netlink/route/link.h>
#include <netlink/route/addr.h>
#include <netlink/route/route.h>

#define POST_IFF_LOWER_UP 0x10000   /* linux/if.h, which clashes with net/if.h */

/* ---- snapshots ------------------------------------------------------------ */

static void
route_free (PostPathRoute *route)
{
  g_free (route->info.interface);
  g_clear_object (&route->info.gateway);
  g_clear_object (&route->destination);
  g_free (route);
}

PostPathSnapshot *
_post_path_snapshot_new (void)
{
  PostPathSnapshot *snapshot = g_new0 (PostPathSnapshot, 1);

  snapshot->ref_count = 1;
  snapshot->interfaces = g_ptr_array_new_with_free_func ((GDestroyNotify) post_interface_info_free);
  snapshot->addresses = g_ptr_array_new_with_free_func ((GDestroyNotify) post_address_info_free);
  snapshot->routes = g_ptr_array_new_with_free_func ((GDestroyNotify) route_free);
  return snapshot;
}

PostPathSnapshot *
_post_path_snapshot_ref (PostPathSnapshot *snapshot)
{
  g_atomic_int_inc (&snapshot->ref_count);
  return snapshot;
}

void
_post_path_snapshot_unref (PostPathSnapshot *snapshot)
{
  if (snapshot == NULL || !g_atomic_int_dec_and_test (&snapshot->ref_count))
    return;
  g_ptr_array_unref (snapshot->interfaces);
  g_ptr_array_unref (snapshot->addresses);
  g_ptr_array_unref (snapshot->routes);
  g_free (snapshot);
}

const PostInterfaceInfo *
_post_path_snapshot_find_interface (PostPathSnapshot *snapshot,
                                    guint             index)
{
  for (guint i = 0; i < snapshot->interfaces->len; i++)
    {
      const PostInterfaceInfo *info = snapshot->interfaces->pdata[i];

      if (info->index == index)
        return info;
    }
  return NULL;
}

const PostInterfaceInfo *
_post_path_snapshot_find_interface_by_name (PostPathSnapshot *snapshot,
                                            const char       *name)
{
  for (guint i = 0; i < snapshot->interfaces->len; i++)
    {
      const PostInterfaceInfo *info = snapshot->interfaces->pdata[i];

      if (g_strcmp0 (info->name, name) == 0)
        return info;
    }
  return NULL;
}

static GInetAddress *
inet_from_nl (struct nl_addr *address)
{
  if (address == NULL)
    return NULL;
  if (nl_addr_get_family (address) == AF_INET && nl_addr_get_len (address) == 4)
    return g_inet_address_new_from_bytes (nl_addr_get_binary_addr (address), G_SOCKET_FAMILY_IPV4);
  if (nl_addr_get_family (address) == AF_INET6 && nl_addr_get_len (address) == 16)
    return g_inet_address_new_from_bytes (nl_addr_get_binary_addr (address), G_SOCKET_FAMILY_IPV6);
  return NULL;
}

static char *
read_sysfs (const char *interface,
            const char *attribute)
{
  g_autofree char *path = g_build_filename ("/sys/class/net", interface, attribute, NULL);
  char *contents = NULL;

  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return NULL;
  return g_strstrip (contents);
}

static PostInterfaceKind
classify (const char *name,
          guint       index,
          guint       flags,
          guint       arp_type,
          const char *link_type)
{
  static const char * const tunnels[] = {
    "tun", "wireguard", "ipip", "gre", "gretap", "ip6gre", "ip6gretap", "sit",
    "ip6tnl", "vti", "vti6", "xfrm", "ipsec", "l2tp", "ppp", NULL
  };
  g_autofree char *sys_index = NULL;

  if ((flags & IFF_LOOPBACK) || arp_type == 772)
    return POST_INTERFACE_KIND_LOOPBACK;
  if (link_type != NULL && g_strv_contains (tunnels, link_type))
    return POST_INTERFACE_KIND_VPN;

  /* sysfs shows the namespace it was mounted in: trust it only for the
   * interface with this index. */
  sys_index = read_sysfs (name, "ifindex");
  if (sys_index != NULL && g_ascii_strtoull (sys_index, NULL, 10) == index)
    {
      g_autofree char *uevent = read_sysfs (name, "uevent");
      g_autofree char *wireless = g_build_filename ("/sys/class/net", name, "wireless", NULL);

      if (uevent != NULL)
        {
          if (strstr (uevent, "DEVTYPE=wlan") != NULL)
            return POST_INTERFACE_KIND_WIFI;
          if (strstr (uevent, "DEVTYPE=wwan") != NULL)
            return POST_INTERFACE_KIND_CELLULAR;
          if (strstr (uevent, "DEVTYPE=wireguard") != NULL)
            return POST_INTERFACE_KIND_VPN;
        }
      if (g_file_test (wireless, G_FILE_TEST_IS_DIR))
        return POST_INTERFACE_KIND_WIFI;
    }

  switch (arp_type)
    {
    case 1:     /* ARPHRD_ETHER */
      if (link_type != NULL)
        return POST_INTERFACE_KIND_OTHER;   /* veth, bridge, vlan, macvlan, dummy… */
      if (g_str_has_prefix (name, "veth") || g_str_has_prefix (name, "docker")
          || g_str_has_prefix (name, "virbr"))
        return POST_INTERFACE_KIND_OTHER;
      return POST_INTERFACE_KIND_WIRED;
    case 519:   /* ARPHRD_RAWIP: QMI/MBIM modems */
    case 530:   /* ARPHRD_RMNET */
      return POST_INTERFACE_KIND_CELLULAR;
    case 65534: /* ARPHRD_NONE: tun, WireGuard */
    case 768:   /* ARPHRD_TUNNEL */
    case 769:   /* ARPHRD_TUNNEL6 */
    case 776:   /* ARPHRD_SIT */
    case 778:   /* ARPHRD_IPGRE */
    case 823:   /* ARPHRD_IP6GRE */
    case 512:   /* ARPHRD_PPP */
      return POST_INTERFACE_KIND_VPN;
    default:
      return POST_INTERFACE_KIND_OTHER;
    }
}

static void
add_link (struct nl_object *object,
          gpointer          user_data)
{
  PostPathSnapshot *snapshot = user_data;
  struct rtnl_link *link = (struct rtnl_link *) object;
  PostInterfaceInfo *info;
  guint flags = rtnl_link_get_flags (link);

  /* The kernel also announces per-family link data (AF_INET6, AF_BRIDGE),
   * which libnl keeps as separate objects: only the AF_UNSPEC one is the link. */
  if (rtnl_link_get_name (link) == NULL || rtnl_link_get_family (link) != AF_UNSPEC)
    return;
  info = g_new0 (PostInterfaceInfo, 1);
  info->name = g_strdup (rtnl_link_get_name (link));
  info->index = rtnl_link_get_ifindex (link);
  info->arp_type = rtnl_link_get_arptype (link);
  info->link_type = g_strdup (rtnl_link_get_type (link));
  info->mtu = rtnl_link_get_mtu (link);
  info->up = (flags & IFF_UP) != 0;
  /* IFF_LOWER_UP (carrier) is immediate; IFF_RUNNING (operstate) may lag */
  info->running = (flags & IFF_UP) && (flags & (IFF_RUNNING | POST_IFF_LOWER_UP));
  info->kind = classify (info->name, info->index, flags, info->arp_type, info->link_type);
  info->metered = info->kind == POST_INTERFACE_KIND_CELLULAR;
  g_ptr_array_add (snapshot->interfaces, info);
}

static void
add_address (struct nl_object *object,
             gpointer          user_data)
{
  PostPathSnapshot *snapshot = user_data;
  struct rtnl_addr *addr = (struct rtnl_addr *) object;
  GInetAddress *address = inet_from_nl (rtnl_addr_get_local (addr));
  PostAddressInfo *info;
  guint flags = rtnl_addr_get_flags (addr);

  if (address == NULL)
    return;
  info = g_new0 (PostAddressInfo, 1);
  info->address = address;
  info->prefix_length = rtnl_addr_get_prefixlen (addr);
  info->interface_index = rtnl_addr_get_ifindex (addr);
  if (flags & IFA_F_TEMPORARY)
    info->flags |= POST_ADDRESS_FLAGS_TEMPORARY;
  if (flags & IFA_F_DEPRECATED)
    info->flags |= POST_ADDRESS_FLAGS_DEPRECATED;
  if (flags & IFA_F_TENTATIVE)
    info->flags |= POST_ADDRESS_FLAGS_TENTATIVE;
  if (flags & IFA_F_DADFAILED)
    info->flags |= POST_ADDRESS_FLAGS_DAD_FAILED;
  if (flags & IFA_F_PERMANENT)
    info->flags |= POST_ADDRESS_FLAGS_PERMANENT;
  g_ptr_array_add (snapshot->addresses, info);
}

static void
add_route (struct nl_object *object,
           gpointer          user_data)
{
  PostPathSnapshot *snapshot = user_data;
  struct rtnl_route *nl_route = (struct rtnl_route *) object;
  struct nl_addr *dst = rtnl_route_get_dst (nl_route);
  int family = rtnl_route_get_family (nl_route);
  guint table = rtnl_route_get_table (nl_route);
  guint type = rtnl_route_get_type (nl_route);
  int n_hops = rtnl_route_get_nnexthops (nl_route);

  if (family != AF_INET && family != AF_INET6)
    return;
  if (table == RT_TABLE_LOCAL)
    return;
  if (type != RTN_UNICAST && type != RTN_BLACKHOLE && type != RTN_UNREACHABLE
      && type != RTN_PROHIBIT)
    return;

  for (int i = 0; i < MAX (n_hops, 1); i++)
    {
      struct rtnl_nexthop *hop = n_hops > 0 ? rtnl_route_nexthop_n (nl_route, i) : NULL;
      PostPathRoute *route = g_new0 (PostPathRoute, 1);

      route->info.family = family == AF_INET ? G_SOCKET_FAMILY_IPV4 : G_SOCKET_FAMILY_IPV6;
      route->info.table = table;
      route->info.metric = rtnl_route_get_priority (nl_route);
      route->type = type;
      route->prefix_length = dst ? nl_addr_get_prefixlen (dst) : 0;
      if (route->prefix_length > 0)
        route->destination = inet_from_nl (dst);
      if (hop != NULL)
        {
          route->info.interface_index = rtnl_route_nh_get_ifindex (hop);
          route->info.gateway = inet_from_nl (rtnl_route_nh_get_gateway (hop));
        }
      g_ptr_array_add (snapshot->routes, route);
    }
}

PostPathSnapshot *
_post_path_snapshot_build (struct nl_cache *links,
                           struct nl_cache *addrs,
                           struct nl_cache *routes)
{
  PostPathSnapshot *snapshot = _post_path_snapshot_new ();

  nl_cache_foreach (links, add_link, snapshot);
  nl_cache_foreach (addrs, add_address, snapshot);
  nl_cache_foreach (routes, add_route, snapshot);
  for (guint i = 0; i < snapshot->addresses->len; i++)
    {
      PostAddressInfo *info = snapshot->addresses->pdata[i];
      const PostInterfaceInfo *link = _post_path_snapshot_find_interface (snapshot, info->interface_index);

      info->interface = link ? g_strdup (link->name) : NULL;
    }
  for (guint i = 0; i < snapshot->routes->len; i++)
    {
      PostPathRoute *route = snapshot->routes->pdata[i];
      const PostInterfaceInfo *link = _post_path_snapshot_find_interface (snapshot, route->info.interface_index);

      route->info.interface = link ? g_strdup (link->name) : NULL;
    }
  return snapshot;
}

void
_post_path_snapshot_mark_metered (PostPathSnapshot *snapshot)
{
  static const GSocketFamily families[] = { G_SOCKET_FAMILY_IPV4, G_SOCKET_FAMILY_IPV6 };

  for (guint f = 0; f < G_N_ELEMENTS (families); f++)
    {
      const PostPathRoute *best = NULL;

      for (guint i = 0; i < snapshot->routes->len; i++)
        {
          const PostPathRoute *route = snapshot->routes->pdata[i];

          if (route->info.family == families[f] && route->prefix_length == 0
              && route->type == RTN_UNICAST && route->info.interface_index != 0
              && (best == NULL || route->info.metric < best->info.metric))
            best = route;
        }
      for (guint i = 0; best != NULL && i < snapshot->interfaces->len; i++)
        {
          PostInterfaceInfo *info = snapshot->interfaces->pdata[i];

          if (info->index == best->info.interface_index)
            info->metered = TRUE;
        }
    }
}

/* ---- events --------------------------------------------------------------- */

void
_post_path_event_free (PostPathEvent *event)
{
  post_interface_info_free (event->interface);
  post_address_info_free (event->address);
  g_free (event);
}

static void
push_event (GPtrArray               *events,
            PostPathEventType        type,
            const PostInterfaceInfo *interface,
            const PostAddressInfo   *address,
            GSocketFamily            family)
{
  PostPathEvent *event = g_new0 (PostPathEvent, 1);

  event->type = type;
  event->interface = interface ? post_interface_info_copy (interface) : NULL;
  event->address = address ? post_address_info_copy (address) : NULL;
  event->family = family;
  g_ptr_array_add (events, event);
}

static gboolean
interface_differs (const PostInterfaceInfo *a,
                   const PostInterfaceInfo *b)
{
  return g_strcmp0 (a->name, b->name) != 0 || a->mtu != b->mtu || a->up != b->up
         || a->running != b->running || a->kind != b->kind || a->metered != b->metered;
}

static const PostAddressInfo *
find_address (PostPathSnapshot      *snapshot,
              const PostAddressInfo *wanted)
{
  for (guint i = 0; i < snapshot->addresses->len; i++)
    {
      const PostAddressInfo *info = snapshot->addresses->pdata[i];

      if (info->interface_index == wanted->interface_index
          && g_inet_address_equal (info->address, wanted->address))
        return info;
    }
  return NULL;
}

/* The default routes of @family, as one comparable string */
static char *
default_routes_key (PostPathSnapshot *snapshot,
                    GSocketFamily     family)
{
  GString *key = g_string_new (NULL);

  for (guint i = 0; i < snapshot->routes->len; i++)
    {
      PostPathRoute *route = snapshot->routes->pdata[i];
      g_autofree char *gateway = NULL;

      if (route->info.family != family || route->prefix_length != 0 || route->type != RTN_UNICAST)
        continue;
      gateway = route->info.gateway ? g_inet_address_to_string (route->info.gateway) : NULL;
      g_string_append_printf (key, "%u/%s/%u/%u;", route->info.interface_index,
                              gateway ? gateway : "-", route->info.table, route->info.metric);
    }
  return g_string_free (key, FALSE);
}

void
_post_path_snapshot_diff (PostPathSnapshot *old,
                          PostPathSnapshot *new,
                          GPtrArray        *events)
{
  static const GSocketFamily families[] = { G_SOCKET_FAMILY_IPV4, G_SOCKET_FAMILY_IPV6 };

  for (guint i = 0; i < old->addresses->len; i++)
    if (find_address (new, old->addresses->pdata[i]) == NULL)
      push_event (events, POST_PATH_EVENT_ADDRESS_REMOVED, NULL, old->addresses->pdata[i], 0);
  for (guint i = 0; i < old->interfaces->len; i++)
    {
      const PostInterfaceInfo *was = old->interfaces->pdata[i];
      const PostInterfaceInfo *now = _post_path_snapshot_find_interface (new, was->index);

      if (now == NULL)
        push_event (events, POST_PATH_EVENT_INTERFACE_REMOVED, was, NULL, 0);
      else if (interface_differs (was, now))
        push_event (events, POST_PATH_EVENT_INTERFACE_CHANGED, now, NULL, 0);
    }
  for (guint i = 0; i < new->interfaces->len; i++)
    {
      const PostInterfaceInfo *now = new->interfaces->pdata[i];

      if (_post_path_snapshot_find_interface (old, now->index) == NULL)
        push_event (events, POST_PATH_EVENT_INTERFACE_ADDED, now, NULL, 0);
    }
  for (guint i = 0; i < new->addresses->len; i++)
    if (find_address (old, new->addresses->pdata[i]) == NULL)
      push_event (events, POST_PATH_EVENT_ADDRESS_ADDED, NULL, new->addresses->pdata[i], 0);
  for (guint f = 0; f < G_N_ELEMENTS (families); f++)
    {
      g_autofree char *was = default_routes_key (old, families[f]);
      g_autofree char *now = default_routes_key (new, families[f]);

      if (strcmp (was, now) != 0)
        push_event (events, POST_PATH_EVENT_DEFAULT_ROUTE_CHANGED, NULL, NULL, families[f]);
    }
}

/* ---- paths ---------------------------------------------------------------- */

static gboolean
prefix_contains (GInetAddress *prefix,
                 guint         length,
                 GInetAddress *address)
{
  const guint8 *a, *b;
  gsize size;

  if (prefix == NULL || length == 0)
    return TRUE;
  if (g_inet_address_get_family (prefix) != g_inet_address_get_family (address))
    return FALSE;
  size = g_inet_address_get_native_size (address);
  a = g_inet_address_to_bytes (prefix);
  b = g_inet_address_to_bytes (address);
  for (guint bit = 0; bit < length && bit < size * 8; bit += 8)
    {
      guint bits = MIN (8u, length - bit);
      guint8 mask = (guint8) (0xff << (8 - bits));

      if ((a[bit / 8] & mask) != (b[bit / 8] & mask))
        return FALSE;
    }
  return TRUE;
}

const PostAddressInfo *
_post_path_snapshot_find_local (PostPathSnapshot *snapshot,
                                GInetAddress     *address)
{
  for (guint i = 0; i < snapshot->addresses->len; i++)
    {
      const PostAddressInfo *info = snapshot->addresses->pdata[i];

      if (g_inet_address_equal (info->address, address))
        return info;
    }
  return NULL;
}

/* The best route to @address leaving by @index (0: any interface): the
 * longest prefix, then the lowest metric.  Ignores policy routing. */
const PostPathRoute *
_post_path_snapshot_route_to (PostPathSnapshot *snapshot,
                              GInetAddress     *address,
                              guint             index)
{
  const PostPathRoute *best = NULL;

  for (guint i = 0; i < snapshot->routes->len; i++)
    {
      const PostPathRoute *route = snapshot->routes->pdata[i];

      if (route->info.family != g_inet_address_get_family (address)
          || (index != 0 && route->info.interface_index != index)
          || !prefix_contains (route->destination, route->prefix_length, address))
        continue;
      if (best == NULL || route->prefix_length > best->prefix_length
          || (route->prefix_length == best->prefix_length && route->info.metric < best->info.metric))
        best = route;
    }
  return best;
}

const PostInterfaceInfo *
_post_path_snapshot_loopback (PostPathSnapshot *snapshot)
{
  for (guint i = 0; i < snapshot->interfaces->len; i++)
    {
      const PostInterfaceInfo *info = snapshot->interfaces->pdata[i];

      if (info->kind == POST_INTERFACE_KIND_LOOPBACK)
        return info;
    }
  return NULL;
}
