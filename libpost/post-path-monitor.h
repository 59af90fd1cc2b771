/* post-path-monitor.h: PostPathMonitor, the host's links, addresses and
 * default routes from netlink
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(POST_INSIDE) && !defined(POST_COMPILATION)
# error "Only <post.h> can be included directly."
#endif

#include <gio/gio.h>
#include "post-version.h"
#include "post-enums.h"
#include "post-path-info.h"

G_BEGIN_DECLS

/**
 * PostInterfaceInfo:
 * @name: the interface name, such as `eth0`
 * @index: the kernel's interface index
 * @kind: what kind of link it is
 * @link_type: (nullable): the kernel's link type (`veth`, `wireguard`,
 *   `tun`…), %NULL for plain devices
 * @arp_type: the ARPHRD_* hardware type
 * @mtu: the MTU in bytes
 * @up: administratively up (IFF_UP)
 * @running: up and with carrier (IFF_RUNNING / IFF_LOWER_UP)
 * @metered: whether traffic on it is likely to cost the user: cellular
 *   links are (a guess), and the interface of the best default route when
 *   [property@Post.PathMonitor:network-metered] says so
 *
 * One network interface as the path monitor sees it.
 */
typedef struct {
  char              *name;
  guint              index;
  PostInterfaceKind  kind;
  char              *link_type;
  guint              arp_type;
  guint              mtu;
  gboolean           up;
  gboolean           running;
  gboolean           metered;
} PostInterfaceInfo;

/**
 * PostAddressInfo:
 * @address: the address
 * @prefix_length: its prefix length
 * @interface_index: the index of the interface that holds it
 * @interface: (nullable): that interface's name
 * @flags: temporary, deprecated, tentative…
 *
 * One address of an interface.
 */
typedef struct {
  GInetAddress      *address;
  guint              prefix_length;
  guint              interface_index;
  char              *interface;
  PostAddressFlags   flags;
} PostAddressInfo;

/**
 * PostRouteInfo:
 * @family: %G_SOCKET_FAMILY_IPV4 or %G_SOCKET_FAMILY_IPV6
 * @interface_index: the index of the interface it leaves by (0 if none)
 * @interface: (nullable): that interface's name
 * @gateway: (nullable): the next hop, %NULL for a direct route
 * @table: the routing table (254 is `main`)
 * @metric: the route's metric (priority); lower wins
 *
 * One default route.
 */
typedef struct {
  GSocketFamily      family;
  guint              interface_index;
  char              *interface;
  GInetAddress      *gateway;
  guint              table;
  guint              metric;
} PostRouteInfo;

#define POST_TYPE_INTERFACE_INFO (post_interface_info_get_type ())
#define POST_TYPE_ADDRESS_INFO (post_address_info_get_type ())
#define POST_TYPE_ROUTE_INFO (post_route_info_get_type ())

POST_AVAILABLE_IN_ALL
GType              post_interface_info_get_type  (void) G_GNUC_CONST;
POST_AVAILABLE_IN_ALL
PostInterfaceInfo *post_interface_info_copy      (const PostInterfaceInfo *self);
POST_AVAILABLE_IN_ALL
void               post_interface_info_free      (PostInterfaceInfo       *self);
POST_AVAILABLE_IN_ALL
GType              post_address_info_get_type    (void) G_GNUC_CONST;
POST_AVAILABLE_IN_ALL
PostAddressInfo   *post_address_info_copy        (const PostAddressInfo   *self);
POST_AVAILABLE_IN_ALL
void               post_address_info_free        (PostAddressInfo         *self);
POST_AVAILABLE_IN_ALL
GType              post_route_info_get_type      (void) G_GNUC_CONST;
POST_AVAILABLE_IN_ALL
PostRouteInfo     *post_route_info_copy          (const PostRouteInfo     *self);
POST_AVAILABLE_IN_ALL
void               post_route_info_free          (PostRouteInfo           *self);

#define POST_TYPE_PATH_MONITOR (post_path_monitor_get_type ())
POST_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (PostPathMonitor, post_path_monitor, POST, PATH_MONITOR, GObject)

POST_AVAILABLE_IN_ALL
PostPathMonitor   *post_path_monitor_get_default        (void);
POST_AVAILABLE_IN_ALL
PostPathMonitor   *post_path_monitor_new                (GError          **error);
POST_AVAILABLE_IN_ALL
GMainContext      *post_path_monitor_get_context        (PostPathMonitor  *self);
POST_AVAILABLE_IN_ALL
gboolean           post_path_monitor_is_available       (PostPathMonitor  *self);
POST_AVAILABLE_IN_ALL
GNetworkMonitor   *post_path_monitor_get_network_monitor (PostPathMonitor *self);
POST_AVAILABLE_IN_ALL
void               post_path_monitor_set_network_monitor (PostPathMonitor *self,
                                                          GNetworkMonitor *network_monitor);
POST_AVAILABLE_IN_ALL
gboolean           post_path_monitor_get_network_metered (PostPathMonitor *self);
POST_AVAILABLE_IN_ALL
GNetworkConnectivity post_path_monitor_get_connectivity (PostPathMonitor  *self);
POST_AVAILABLE_IN_ALL
GPtrArray         *post_path_monitor_list_interfaces    (PostPathMonitor  *self);
POST_AVAILABLE_IN_ALL
PostInterfaceInfo *post_path_monitor_get_interface      (PostPathMonitor  *self,
                                                         const char       *name);
POST_AVAILABLE_IN_ALL
GPtrArray         *post_path_monitor_list_addresses     (PostPathMonitor  *self,
                                                         const char       *interface);
POST_AVAILABLE_IN_ALL
GPtrArray         *post_path_monitor_list_default_routes (PostPathMonitor *self);
POST_AVAILABLE_IN_ALL
PostPathInfo      *post_path_monitor_lookup_path        (PostPathMonitor  *self,
                                                         GSocketAddress   *local_address,
                                                         GSocketAddress   *remote_address);
POST_AVAILABLE_IN_ALL
GPtrArray         *post_path_monitor_gather_locals      (PostPathMonitor  *self,
                                                         GSocketAddress   *remote_address,
                                                         PostPreference    use_temporary);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PostInterfaceInfo, post_interface_info_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PostAddressInfo, post_address_info_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PostRouteInfo, post_route_info_free)

G_END_DECLS
