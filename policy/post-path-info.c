/* post-path-info.c: PostPathInfo, and what libpost knows of paths today
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "post-values-private.h"

#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/*
 * The seam for the path monitor
 * =============================
 *
 * Ranking takes one PostPathInfo per candidate.  The netlink path monitor
 * (libpost/post-path-monitor.c) knows interface kinds, metering and MTUs as
 * they change and is the default engine's source; where netlink is not
 * available post_path_info_lookup() answers from a snapshot of the host's
 * interfaces, taken with getifaddrs() and /sys/class/net and kept for a
 * couple of seconds:
 *
 *  - the interface: the one holding the candidate's local address, or the
 *    one the kernel routes the remote address through (a connect() on a
 *    datagram socket sends nothing and tells the source address);
 *  - the kind: from /sys/class/net/IF/type and DEVTYPE in its uevent;
 *  - the MTU: /sys/class/net/IF/mtu;
 *  - metered: cellular links are guessed metered (as NetworkManager does);
 *    everything else is not;
 *  - PvD and temporary addresses: not known yet.
 */

G_DEFINE_BOXED_TYPE (PostPathInfo, post_path_info, post_path_info_copy, post_path_info_free)

/**
 * post_path_info_new:
 * @interface: (nullable): the interface name
 * @kind: its kind
 * @metered: whether it is metered
 * @mtu: its MTU, 0 if not known
 *
 * Creates path data for ranking by hand: a path monitor's
 * [callback@Post.PathInfoFunc], or a test, describes the interface a
 * candidate leaves by with it. Free it with post_path_info_free().
 *
 * Returns: (transfer full): new path data (no PvD, not temporary)
 */
PostPathInfo *
post_path_info_new (const char        *interface,
                    PostInterfaceKind  kind,
                    gboolean           metered,
                    guint              mtu)
{
  PostPathInfo *self = g_new0 (PostPathInfo, 1);

  self->interface = g_strdup (interface);
  self->kind = kind;
  self->metered = metered;
  self->mtu = mtu;
  return self;
}

/**
 * post_path_info_copy:
 * @self: path data
 *
 * Copies path data; free the copy with post_path_info_free().
 *
 * Returns: (transfer full): a copy of @self
 */
PostPathInfo *
post_path_info_copy (const PostPathInfo *self)
{
  PostPathInfo *copy;

  g_return_val_if_fail (self != NULL, NULL);

  copy = g_memdup2 (self, sizeof *self);
  copy->interface = g_strdup (self->interface);
  copy->pvd = g_strdup (self->pvd);
  return copy;
}

/**
 * post_path_info_free:
 * @self: (nullable): path data
 *
 * Frees @self.
 */
void
post_path_info_free (PostPathInfo *self)
{
  if (self == NULL)
    return;
  g_free (self->interface);
  g_free (self->pvd);
  g_free (self);
}

static const char * const kind_nicks[] = {
  [POST_INTERFACE_KIND_UNKNOWN] = "unknown",
  [POST_INTERFACE_KIND_LOOPBACK] = "loopback",
  [POST_INTERFACE_KIND_WIRED] = "wired",
  [POST_INTERFACE_KIND_WIFI] = "wifi",
  [POST_INTERFACE_KIND_CELLULAR] = "cellular",
  [POST_INTERFACE_KIND_VPN] = "vpn",
  [POST_INTERFACE_KIND_OTHER] = "other",
};

/**
 * post_interface_kind_to_nick:
 * @kind: an interface kind
 *
 * Gives the name of an interface kind, as policy files and `post-paths`
 * write it. The string is static.
 *
 * Returns: (nullable): `unknown`, `loopback`, `wired`, `wifi`,
 *   `cellular`, `vpn` or `other`; %NULL if out of range
 */
const char *
post_interface_kind_to_nick (PostInterfaceKind kind)
{
  if ((guint) kind >= G_N_ELEMENTS (kind_nicks))
    return NULL;
  return kind_nicks[kind];
}

/**
 * post_interface_kind_from_nick:
 * @nick: a kind's name, such as `wifi`
 * @kind: (out) (optional): where to store the kind
 *
 * Parses the name of an interface kind, as policy files
 * (`match-interface-kind`) and interface preference sets write it.
 *
 * Returns: %TRUE if @nick names a kind
 */
gboolean
post_interface_kind_from_nick (const char        *nick,
                               PostInterfaceKind *kind)
{
  g_return_val_if_fail (nick != NULL, FALSE);

  for (guint i = 0; i < G_N_ELEMENTS (kind_nicks); i++)
    if (g_ascii_strcasecmp (nick, kind_nicks[i]) == 0)
      {
        if (kind != NULL)
          *kind = (PostInterfaceKind) i;
        return TRUE;
      }
  return FALSE;
}

/* ---- the host's interfaces, cached --------------------------------------- */

typedef struct {
  char              *name;
  GInetAddress      *address;   /* (owned) */
  PostInterfaceKind  kind;
  guint              mtu;
} HostAddress;

#define CACHE_LIFETIME_US (2 * G_USEC_PER_SEC)

static GMutex cache_lock;
static GPtrArray *cache;        /* (element-type HostAddress) */
static gint64 cache_time;

static void
host_address_free (HostAddress *entry)
{
  g_free (entry->name);
  g_clear_object (&entry->address);
  g_free (entry);
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
interface_kind (const char   *name,
                unsigned int  flags)
{
  g_autofree char *type = NULL;
  g_autofree char *uevent = NULL;
  g_autofree char *wireless = NULL;
  guint64 arphrd;

  if (flags & IFF_LOOPBACK)
    return POST_INTERFACE_KIND_LOOPBACK;

  uevent = read_sysfs (name, "uevent");
  if (uevent != NULL)
    {
      if (strstr (uevent, "DEVTYPE=wlan") != NULL)
        return POST_INTERFACE_KIND_WIFI;
      if (strstr (uevent, "DEVTYPE=wwan") != NULL)
        return POST_INTERFACE_KIND_CELLULAR;
      if (strstr (uevent, "DEVTYPE=wireguard") != NULL)
        return POST_INTERFACE_KIND_VPN;
      if (strstr (uevent, "DEVTYPE=bridge") != NULL || strstr (uevent, "DEVTYPE=vlan") != NULL)
        return POST_INTERFACE_KIND_OTHER;
    }
  wireless = g_build_filename ("/sys/class/net", name, "wireless", NULL);
  if (g_file_test (wireless, G_FILE_TEST_IS_DIR))
    return POST_INTERFACE_KIND_WIFI;

  type = read_sysfs (name, "type");
  if (type == NULL)
    return POST_INTERFACE_KIND_UNKNOWN;
  arphrd = g_ascii_strtoull (type, NULL, 10);
  switch (arphrd)
    {
    case 1:     /* ARPHRD_ETHER */
      if (g_str_has_prefix (name, "veth") || g_str_has_prefix (name, "docker")
          || g_str_has_prefix (name, "virbr"))
        return POST_INTERFACE_KIND_OTHER;
      return POST_INTERFACE_KIND_WIRED;
    case 772:   /* ARPHRD_LOOPBACK */
      return POST_INTERFACE_KIND_LOOPBACK;
    case 519:   /* ARPHRD_RAWIP: QMI/MBIM modems */
    case 530:   /* ARPHRD_RMNET... */
      return POST_INTERFACE_KIND_CELLULAR;
    case 65534: /* ARPHRD_NONE: tun, WireGuard */
    case 768:   /* ARPHRD_TUNNEL */
    case 769:   /* ARPHRD_TUNNEL6 */
    case 776:   /* ARPHRD_SIT */
    case 778:   /* ARPHRD_IPGRE */
    case 823:   /* ARPHRD_IP6GRE */
      return POST_INTERFACE_KIND_VPN;
    default:
      return POST_INTERFACE_KIND_OTHER;
    }
}

/* The cache, refreshed when stale; call with cache_lock held */
static void
ensure_cache (void)
{
  struct ifaddrs *addresses = NULL;
  g_autoptr(GHashTable) kinds = NULL;
  gint64 now = g_get_monotonic_time ();

  if (cache != NULL && now - cache_time < CACHE_LIFETIME_US)
    return;

  g_clear_pointer (&cache, g_ptr_array_unref);
  cache = g_ptr_array_new_with_free_func ((GDestroyNotify) host_address_free);
  cache_time = now;
  if (getifaddrs (&addresses) != 0)
    return;

  kinds = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (struct ifaddrs *ifa = addresses; ifa != NULL; ifa = ifa->ifa_next)
    {
      g_autoptr(GSocketAddress) socket_address = NULL;
      HostAddress *entry;
      gpointer kind;

      if (ifa->ifa_addr == NULL || ifa->ifa_name == NULL
          || (ifa->ifa_addr->sa_family != AF_INET && ifa->ifa_addr->sa_family != AF_INET6))
        continue;
      socket_address = g_socket_address_new_from_native (ifa->ifa_addr,
                                                         ifa->ifa_addr->sa_family == AF_INET
                                                         ? sizeof (struct sockaddr_in)
                                                         : sizeof (struct sockaddr_in6));
      if (socket_address == NULL || !G_IS_INET_SOCKET_ADDRESS (socket_address))
        continue;

      entry = g_new0 (HostAddress, 1);
      entry->name = g_strdup (ifa->ifa_name);
      entry->address = g_object_ref (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (socket_address)));
      if (!g_hash_table_lookup_extended (kinds, ifa->ifa_name, NULL, &kind))
        {
          kind = GINT_TO_POINTER (interface_kind (ifa->ifa_name, ifa->ifa_flags));
          g_hash_table_insert (kinds, g_strdup (ifa->ifa_name), kind);
        }
      entry->kind = GPOINTER_TO_INT (kind);
      {
        g_autofree char *mtu = read_sysfs (ifa->ifa_name, "mtu");

        entry->mtu = mtu != NULL ? (guint) g_ascii_strtoull (mtu, NULL, 10) : 0;
      }
      g_ptr_array_add (cache, entry);
    }
  freeifaddrs (addresses);
}

/* The local address the kernel would use towards @remote, or NULL */
static GInetAddress *
route_source (GSocketAddress *remote)
{
  struct sockaddr_storage native;
  struct sockaddr_storage local;
  socklen_t local_length = sizeof local;
  g_autoptr(GSocketAddress) source = NULL;
  gssize length = g_socket_address_get_native_size (remote);
  int fd;

  if (length <= 0 || length > (gssize) sizeof native
      || !g_socket_address_to_native (remote, &native, sizeof native, NULL))
    return NULL;

  fd = socket (native.ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return NULL;
  /* A datagram connect() only picks the route and the source address */
  if (connect (fd, (struct sockaddr *) &native, length) != 0
      || getsockname (fd, (struct sockaddr *) &local, &local_length) != 0)
    {
      close (fd);
      return NULL;
    }
  close (fd);

  source = g_socket_address_new_from_native (&local, local_length);
  if (source == NULL || !G_IS_INET_SOCKET_ADDRESS (source))
    return NULL;
  return g_object_ref (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (source)));
}

/**
 * post_path_info_lookup:
 * @local_address: (nullable): the local address of the path, if bound
 * @remote_address: (nullable): its remote address
 *
 * What libpost knows of the path from @local_address to @remote_address
 * without a path monitor: the interface holding the local address (or,
 * when it is not bound, the one the kernel routes @remote_address
 * through), its kind and MTU; cellular links count as metered.
 *
 * Returns: (transfer full) (nullable): the path data, or %NULL if no
 *   interface was found
 */
PostPathInfo *
post_path_info_lookup (GSocketAddress *local_address,
                       GSocketAddress *remote_address)
{
  g_autoptr(GInetAddress) source = NULL;
  PostPathInfo *info = NULL;

  g_return_val_if_fail (local_address == NULL || G_IS_SOCKET_ADDRESS (local_address), NULL);
  g_return_val_if_fail (remote_address == NULL || G_IS_SOCKET_ADDRESS (remote_address), NULL);

  if (local_address != NULL && G_IS_INET_SOCKET_ADDRESS (local_address))
    {
      GInetAddress *address = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (local_address));

      if (!g_inet_address_get_is_any (address))
        source = g_object_ref (address);
    }
  if (source == NULL && remote_address != NULL && G_IS_INET_SOCKET_ADDRESS (remote_address))
    source = route_source (remote_address);
  if (source == NULL)
    return NULL;

  g_mutex_lock (&cache_lock);
  ensure_cache ();
  for (guint i = 0; i < cache->len; i++)
    {
      HostAddress *entry = cache->pdata[i];

      if (g_inet_address_equal (entry->address, source))
        {
          info = post_path_info_new (entry->name, entry->kind,
                                     entry->kind == POST_INTERFACE_KIND_CELLULAR, entry->mtu);
          break;
        }
    }
  g_mutex_unlock (&cache_lock);

  return info;
}
