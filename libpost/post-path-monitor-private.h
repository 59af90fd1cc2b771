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

G_END_DECLS
