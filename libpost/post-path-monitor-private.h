/* post-path-monitor-private.h: the path monitor's internal subscription
 *
 * Layer "path monitor" of docs/architecture.md: it may include only the headers of its
 * own layer and the layers below (tools/include-graph.py --check).
 * Nothing here is installed or exported.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "post-values-private.h"
#define POST_INSIDE
#include "post-path-monitor.h"
#undef POST_INSIDE

G_BEGIN_DECLS

/* ---- Path monitor (post-path-monitor.c) ------------------------------------ */
typedef enum {
  POST_PATH_EVENT_INTERFACE_ADDED,
  POST_PATH_EVENT_INTERFACE_REMOVED,
  POST_PATH_EVENT_INTERFACE_CHANGED,
  POST_PATH_EVENT_ADDRESS_ADDED,
  POST_PATH_EVENT_ADDRESS_REMOVED,
  POST_PATH_EVENT_DEFAULT_ROUTE_CHANGED,
} PostPathEventType;

typedef struct {
  PostPathEventType  type;
  PostInterfaceInfo *interface;   /* interface events */
  PostAddressInfo   *address;     /* address events */
  GSocketFamily      family;      /* default route events */
} PostPathEvent;

typedef void  (*PostPathEventFunc)               (PostPathMonitor   *monitor,
                                                  const PostPathEvent *event,
                                                  gpointer           user_data);
/* Calls @func for every event, from idle sources on the thread-default
 * main context of the caller (never re-entrantly); stop with unwatch,
 * from that context. */
guint           _post_path_monitor_watch         (PostPathMonitor   *self,
                                                  PostPathEventFunc  func,
                                                  gpointer           data);
void            _post_path_monitor_unwatch       (PostPathMonitor   *self,
                                                  guint              id);
char           *_post_path_monitor_interface_of  (PostPathMonitor   *self,
                                                  GSocketAddress    *address);
guint           _post_path_monitor_count_routes  (PostPathMonitor   *self,
                                                  GSocketAddress    *remote_address);

/* ---- Snapshots (post-path-snapshot.c), for post-path-monitor.c ----------- */
/* What the monitor knows of the host at one moment, immutable once built
 * and shared by reference between threads. */
typedef struct {
  PostRouteInfo  info;
  GInetAddress  *destination;   /* (owned) (nullable) NULL for default routes */
  guint          prefix_length;
  guint          type;          /* RTN_* */
} PostPathRoute;

typedef struct {
  gint       ref_count;
  GPtrArray *interfaces;        /* (element-type PostInterfaceInfo) */
  GPtrArray *addresses;         /* (element-type PostAddressInfo) */
  GPtrArray *routes;            /* (element-type PostPathRoute) */
} PostPathSnapshot;

struct nl_cache;

/* An empty snapshot */
PostPathSnapshot        *_post_path_snapshot_new     (void);
PostPathSnapshot        *_post_path_snapshot_ref     (PostPathSnapshot *snapshot);
void                     _post_path_snapshot_unref   (PostPathSnapshot *snapshot);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PostPathSnapshot, _post_path_snapshot_unref)
/* From libnl's route/link, route/addr and route/route caches: interfaces
 * (classified by kind), their addresses and the unicast, blackhole,
 * unreachable and prohibit routes outside the local table. */
PostPathSnapshot        *_post_path_snapshot_build   (struct nl_cache  *links,
                                                      struct nl_cache  *addrs,
                                                      struct nl_cache  *routes);
/* Marks metered the interface of the best default route of each family
 * (GNetworkMonitor:network-metered said so); before @snapshot is shared. */
void                     _post_path_snapshot_mark_metered (PostPathSnapshot *snapshot);
/* Appends to @events (element-type PostPathEvent, freed with
 * _post_path_event_free()) what differs from @old to @new: removed
 * addresses, removed and changed interfaces, added interfaces, added
 * addresses, then changed default routes per family. */
void                     _post_path_snapshot_diff    (PostPathSnapshot *old,
                                                      PostPathSnapshot *new,
                                                      GPtrArray        *events);
void                     _post_path_event_free       (PostPathEvent    *event);
const PostInterfaceInfo *_post_path_snapshot_find_interface (PostPathSnapshot *snapshot,
                                                             guint             index);
const PostInterfaceInfo *_post_path_snapshot_find_interface_by_name (PostPathSnapshot *snapshot,
                                                                     const char       *name);
const PostInterfaceInfo *_post_path_snapshot_loopback (PostPathSnapshot *snapshot);
/* The address record of the host's own @address, or NULL */
const PostAddressInfo   *_post_path_snapshot_find_local (PostPathSnapshot *snapshot,
                                                         GInetAddress     *address);
/* The best route to @address leaving by @index (0: any interface): the
 * longest prefix, then the lowest metric.  Ignores policy routing. */
const PostPathRoute     *_post_path_snapshot_route_to (PostPathSnapshot *snapshot,
                                                       GInetAddress     *address,
                                                       guint             index);

G_END_DECLS
