/* post-path-monitor.c: PostPathMonitor, the host's links, addresses and
 * default routes from netlink (libnl-route)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "post-path-monitor-private.h"

#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/rtnetlink.h>

#include <glib-unix.h>
#include <netlink/netlink.h>
#include <netlink/cache.h>
#include <netlink/route/link.h>

/**
 * PostPathMonitor:
 *
 * What libpost knows of the host's network: its interfaces (with their
 * kind, MTU and state), their addresses (with the IPv6 flags temporary,
 * deprecated, tentative) and the default routes, kept current from netlink
 * notifications (no polling) and announced with signals.
 *
 * ## How it works
 *
 * One `nl_cache_mngr` holds three libnl caches, `route/link`,
 * `route/addr` and `route/route`; its socket is watched with
 * g_unix_fd_add() on the main context the monitor was created in.  Each
 * notification updates the caches (libnl's v2 change callback marks what
 * changed); the monitor then rebuilds an immutable snapshot and compares
 * it with the previous one: what appeared, vanished or changed becomes a
 * signal.  When the kernel dropped notifications (`ENOBUFS`, the socket
 * buffer overflowed) every cache is refilled and the same comparison
 * tells what changed meanwhile, so a resync emits exactly the differences.
 *
 * Queries (post_path_monitor_list_interfaces(), path lookups, gathering)
 * first read whatever notification is already queued on the socket
 * (without waiting), so they never answer from stale data even when the
 * monitor's main context has not run yet; their signals still go out from
 * that context.  Queries may come from any thread: the snapshot is
 * guarded by a lock, and no signal is emitted while it is held.
 *
 * ## Contexts
 *
 * post_path_monitor_get_default() lives on the global default main context
 * (g_main_context_default()), which must be iterated for its signals to be
 * emitted.  libpost's carriers do not depend on that: each carrier watches
 * the monitor through an internal subscription whose events are delivered
 * on the carrier's own main context.  post_path_monitor_new() creates a
 * monitor on the thread-default context of the caller.
 *
 * ## Interface kinds
 *
 * Loopback from the flags; `wifi` and `cellular` from the kernel's device
 * type (`DEVTYPE=wlan` / `wwan` in `/sys/class/net/IF/uevent`, read only
 * when that sysfs entry has the interface's index, since sysfs shows the
 * network namespace it was mounted in); tunnels (`tun`, `tap`, `wireguard`,
 * `ipip`, `gre`, `sit`, `vti`…) are `vpn`; raw-IP and rmnet links are
 * `cellular`; Ethernet is `wired` except virtual links (veth, bridges,
 * VLANs, macvlan…) which are `other`.  Cellular links are guessed metered,
 * as NetworkManager does.
 *
 * ## Metering and connectivity
 *
 * Whether the network costs the user is known to NetworkManager and the
 * flatpak portal, which GIO's #GNetworkMonitor reports: when the monitor's
 * [property@Post.PathMonitor:network-monitor] says
 * [property@Gio.NetworkMonitor:network-metered], the interface of the best
 * default route of each family counts as metered too (the policy's
 * `match-metered`), and [property@Post.PathMonitor:connectivity] follows
 * [property@Gio.NetworkMonitor:connectivity].  A change emits
 * [signal@Post.PathMonitor::interface-changed] for the interfaces whose
 * metering changed, which carriers over them take as a path change.
 * post_path_monitor_get_default() uses g_network_monitor_get_default()
 * where that knows metering: when NetworkManager runs (`/run/NetworkManager`
 * exists), in a flatpak sandbox (the portal) or when
 * `GIO_USE_NETWORK_MONITOR` names an implementation; not GIO's netlink
 * fallback, which never says metered.  Links, addresses and routes always
 * come from netlink.
 */

struct _PostPathMonitor
{
  GObject               parent_instance;

  GMutex                lock;
  GMainContext         *context;        /* (owned) */
  GSource              *source;         /* (owned) (nullable) */
  struct nl_cache_mngr *mngr;
  struct nl_sock       *sync_sock;
  struct nl_cache      *links;
  struct nl_cache      *addrs;
  struct nl_cache      *routes;
  PostPathSnapshot     *snapshot;       /* (owned) */
  gboolean              dirty;
  gboolean              refill_routes;
  GError               *init_error;     /* (owned) (nullable) */
  GPtrArray            *watches;        /* (element-type Watch) */
  guint                 next_watch_id;
  GNetworkMonitor      *network_monitor; /* (owned) (nullable) */
  gboolean              network_metered; /* its network-metered; under lock */
  GNetworkConnectivity  connectivity;   /* its connectivity */
};

G_DEFINE_FINAL_TYPE (PostPathMonitor, post_path_monitor, G_TYPE_OBJECT)

enum {
  SIGNAL_INTERFACE_ADDED,
  SIGNAL_INTERFACE_REMOVED,
  SIGNAL_INTERFACE_CHANGED,
  SIGNAL_ADDRESS_ADDED,
  SIGNAL_ADDRESS_REMOVED,
  SIGNAL_DEFAULT_ROUTE_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

enum {
  PROP_0,
  PROP_NETWORK_MONITOR,
  PROP_NETWORK_METERED,
  PROP_CONNECTIVITY,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* ---- boxed types ---------------------------------------------------------- */

/**
 * post_interface_info_copy:
 * @self: an interface
 *
 * Copies interface data, such as one handed to a
 * [signal@Post.PathMonitor::interface-added] handler, to keep beyond the
 * handler.
 *
 * Returns: (transfer full): a copy of @self; free it with
 *   post_interface_info_free()
 */
PostInterfaceInfo *
post_interface_info_copy (const PostInterfaceInfo *self)
{
  PostInterfaceInfo *copy;

  g_return_val_if_fail (self != NULL, NULL);
  copy = g_memdup2 (self, sizeof *self);
  copy->name = g_strdup (self->name);
  copy->link_type = g_strdup (self->link_type);
  return copy;
}

/**
 * post_interface_info_free:
 * @self: (nullable): an interface
 *
 * Frees interface data that the caller owns, such as a copy or what
 * post_path_monitor_get_interface() returned; %NULL is ignored.
 */
void
post_interface_info_free (PostInterfaceInfo *self)
{
  if (self == NULL)
    return;
  g_free (self->name);
  g_free (self->link_type);
  g_free (self);
}

/**
 * post_address_info_copy:
 * @self: an address
 *
 * Copies address data, such as one handed to a
 * [signal@Post.PathMonitor::address-added] handler, to keep beyond the
 * handler; the copy holds a reference to the #GInetAddress.
 *
 * Returns: (transfer full): a copy of @self; free it with
 *   post_address_info_free()
 */
PostAddressInfo *
post_address_info_copy (const PostAddressInfo *self)
{
  PostAddressInfo *copy;

  g_return_val_if_fail (self != NULL, NULL);
  copy = g_memdup2 (self, sizeof *self);
  copy->address = self->address ? g_object_ref (self->address) : NULL;
  copy->interface = g_strdup (self->interface);
  return copy;
}

/**
 * post_address_info_free:
 * @self: (nullable): an address
 *
 * Frees address data that the caller owns; %NULL is ignored.
 */
void
post_address_info_free (PostAddressInfo *self)
{
  if (self == NULL)
    return;
  g_clear_object (&self->address);
  g_free (self->interface);
  g_free (self);
}

/**
 * post_route_info_copy:
 * @self: a route
 *
 * Copies route data, such as an element of
 * post_path_monitor_list_default_routes(), to keep beyond the array.
 *
 * Returns: (transfer full): a copy of @self; free it with
 *   post_route_info_free()
 */
PostRouteInfo *
post_route_info_copy (const PostRouteInfo *self)
{
  PostRouteInfo *copy;

  g_return_val_if_fail (self != NULL, NULL);
  copy = g_new0 (PostRouteInfo, 1);
  *copy = *self;
  copy->interface = g_strdup (self->interface);
  copy->gateway = self->gateway ? g_object_ref (self->gateway) : NULL;
  return copy;
}

/**
 * post_route_info_free:
 * @self: (nullable): a route
 *
 * Frees route data that the caller owns; %NULL is ignored.
 */
void
post_route_info_free (PostRouteInfo *self)
{
  if (self == NULL)
    return;
  g_free (self->interface);
  g_clear_object (&self->gateway);
  g_free (self);
}

G_DEFINE_BOXED_TYPE (PostInterfaceInfo, post_interface_info, post_interface_info_copy, post_interface_info_free)
G_DEFINE_BOXED_TYPE (PostAddressInfo, post_address_info, post_address_info_copy, post_address_info_free)
G_DEFINE_BOXED_TYPE (PostRouteInfo, post_route_info, post_route_info_copy, post_route_info_free)

/* Watches: internal subscriptions, delivered on their own contexts */
typedef struct {
  gint               ref_count;
  guint              id;
  gint               removed;     /* atomic */
  PostPathEventFunc  func;
  gpointer           data;
  GMainContext      *context;     /* (owned) */
} Watch;

static Watch *
watch_ref (Watch *watch)
{
  g_atomic_int_inc (&watch->ref_count);
  return watch;
}

static void
watch_unref (Watch *watch)
{
  if (!g_atomic_int_dec_and_test (&watch->ref_count))
    return;
  g_main_context_unref (watch->context);
  g_free (watch);
}

typedef struct {
  PostPathMonitor *monitor;       /* (owned) */
  Watch           *watch;         /* (owned) (nullable) NULL: emit the signals */
  GPtrArray       *events;        /* (owned) (element-type PostPathEvent) */
} Delivery;

static void
delivery_free (Delivery *delivery)
{
  g_object_unref (delivery->monitor);
  if (delivery->watch != NULL)
    watch_unref (delivery->watch);
  g_ptr_array_unref (delivery->events);
  g_free (delivery);
}

static gboolean
deliver_cb (gpointer user_data)
{
  Delivery *delivery = user_data;

  for (guint i = 0; i < delivery->events->len; i++)
    {
      PostPathEvent *event = delivery->events->pdata[i];

      if (delivery->watch != NULL)
        {
          if (g_atomic_int_get (&delivery->watch->removed))
            break;
          delivery->watch->func (delivery->monitor, event, delivery->watch->data);
          continue;
        }
      switch (event->type)
        {
        case POST_PATH_EVENT_INTERFACE_ADDED:
          g_signal_emit (delivery->monitor, signals[SIGNAL_INTERFACE_ADDED], 0, event->interface);
          break;
        case POST_PATH_EVENT_INTERFACE_REMOVED:
          g_signal_emit (delivery->monitor, signals[SIGNAL_INTERFACE_REMOVED], 0, event->interface);
          break;
        case POST_PATH_EVENT_INTERFACE_CHANGED:
          g_signal_emit (delivery->monitor, signals[SIGNAL_INTERFACE_CHANGED], 0, event->interface);
          break;
        case POST_PATH_EVENT_ADDRESS_ADDED:
          g_signal_emit (delivery->monitor, signals[SIGNAL_ADDRESS_ADDED], 0, event->address);
          break;
        case POST_PATH_EVENT_ADDRESS_REMOVED:
          g_signal_emit (delivery->monitor, signals[SIGNAL_ADDRESS_REMOVED], 0, event->address);
          break;
        case POST_PATH_EVENT_DEFAULT_ROUTE_CHANGED:
        default:
          g_signal_emit (delivery->monitor, signals[SIGNAL_DEFAULT_ROUTE_CHANGED], 0, event->family);
          break;
        }
    }
  return G_SOURCE_REMOVE;
}

static void
schedule_delivery (PostPathMonitor *self,
                   Watch           *watch,
                   GPtrArray       *events)
{
  Delivery *delivery = g_new0 (Delivery, 1);
  GSource *source = g_idle_source_new ();

  delivery->monitor = g_object_ref (self);
  delivery->watch = watch ? watch_ref (watch) : NULL;
  delivery->events = g_ptr_array_ref (events);
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, deliver_cb, delivery, (GDestroyNotify) delivery_free);
  g_source_set_static_name (source, "[libpost] path event");
  g_source_attach (source, watch ? watch->context : self->context);
  g_source_unref (source);
}

/* Called without the lock: hands @events to the signal emission and to
 * every watch, each on its own context, never re-entrantly. */
static void
dispatch_events (PostPathMonitor *self,
                 GPtrArray       *events)
{
  g_autoptr(GPtrArray) watches = NULL;

  if (events == NULL || events->len == 0)
    return;
  g_mutex_lock (&self->lock);
  watches = g_ptr_array_new_with_free_func ((GDestroyNotify) watch_unref);
  for (guint i = 0; i < self->watches->len; i++)
    g_ptr_array_add (watches, watch_ref (self->watches->pdata[i]));
  g_mutex_unlock (&self->lock);

  for (guint i = 0; i < watches->len; i++)
    schedule_delivery (self, watches->pdata[i], events);
  schedule_delivery (self, NULL, events);
}

/* ---- netlink -------------------------------------------------------------- */

static void
change_cb (struct nl_cache  *cache,
           struct nl_object *old_object,
           struct nl_object *new_object,
           uint64_t          diff,
           int               action,
           void             *user_data)
{
  PostPathMonitor *self = user_data;

  /* Only what changed matters here: the snapshot comparison names it. */
  self->dirty = TRUE;
  /* The kernel flushes the IPv4 routes of a link that goes down, or of a
   * removed address, without telling: read the routes again then. */
  if (cache == self->links && new_object != NULL
      && !(rtnl_link_get_flags ((struct rtnl_link *) new_object) & IFF_UP))
    self->refill_routes = TRUE;
  if ((cache == self->links || cache == self->addrs) && action == NL_ACT_DEL)
    self->refill_routes = TRUE;
}

/* The snapshot of the caches, with the network's metering; with the lock
 * held */
static PostPathSnapshot *
build_snapshot_locked (PostPathMonitor *self)
{
  PostPathSnapshot *snapshot = _post_path_snapshot_build (self->links, self->addrs, self->routes);

  if (self->network_metered)
    _post_path_snapshot_mark_metered (snapshot);
  return snapshot;
}

/* Reads what netlink has queued; with the lock held.  Returns the events
 * (NULL if nothing changed). */
static GPtrArray *
process_locked (PostPathMonitor *self,
                gboolean         known_readable)
{
  g_autoptr(PostPathSnapshot) old = NULL;
  GPtrArray *events;
  int err;

  if (self->mngr == NULL)
    return NULL;
  if (!known_readable)
    {
      struct pollfd pfd = { nl_cache_mngr_get_fd (self->mngr), POLLIN, 0 };

      if (poll (&pfd, 1, 0) <= 0 || !(pfd.revents & POLLIN))
        return NULL;
    }

  err = nl_cache_mngr_data_ready (self->mngr);
  if (err == -NLE_NOMEM || err == -NLE_DUMP_INTR)
    {
      /* ENOBUFS: notifications were lost; read everything again. */
      g_debug ("path monitor: %s, resynchronising", nl_geterror (err));
      nl_cache_refill (self->sync_sock, self->links);
      nl_cache_refill (self->sync_sock, self->addrs);
      nl_cache_refill (self->sync_sock, self->routes);
      self->dirty = TRUE;
    }
  else if (err < 0)
    g_debug ("path monitor: %s", nl_geterror (err));

  if (!self->dirty)
    return NULL;
  self->dirty = FALSE;
  if (self->refill_routes)
    {
      self->refill_routes = FALSE;
      nl_cache_refill (self->sync_sock, self->routes);
    }
  old = self->snapshot;
  self->snapshot = build_snapshot_locked (self);
  events = g_ptr_array_new_with_free_func ((GDestroyNotify) _post_path_event_free);
  _post_path_snapshot_diff (old, self->snapshot, events);
  return events;
}

static gboolean
netlink_ready_cb (gint         fd,
                  GIOCondition condition,
                  gpointer     user_data)
{
  PostPathMonitor *self = user_data;
  g_autoptr(GPtrArray) events = NULL;

  g_mutex_lock (&self->lock);
  events = process_locked (self, TRUE);
  g_mutex_unlock (&self->lock);
  dispatch_events (self, events);
  return G_SOURCE_CONTINUE;
}

/* The current snapshot, after reading any queued notification */
static PostPathSnapshot *
get_snapshot (PostPathMonitor *self)
{
  g_autoptr(GPtrArray) events = NULL;
  PostPathSnapshot *snapshot;

  g_mutex_lock (&self->lock);
  events = process_locked (self, FALSE);
  snapshot = _post_path_snapshot_ref (self->snapshot);
  g_mutex_unlock (&self->lock);
  dispatch_events (self, events);
  return snapshot;
}

static gboolean
start_netlink (PostPathMonitor *self,
               GError         **error)
{
  int err;

  int size = 4 * 1024 * 1024;

  if ((err = nl_cache_mngr_alloc (NULL, NETLINK_ROUTE, 0, &self->mngr)) < 0)
    goto failed;
  /* A larger buffer makes ENOBUFS (and resyncs) rare on busy hosts */
  if (setsockopt (nl_cache_mngr_get_fd (self->mngr), SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0)
    (void) setsockopt (nl_cache_mngr_get_fd (self->mngr), SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  self->sync_sock = nl_socket_alloc ();
  if (self->sync_sock == NULL)
    {
      err = -NLE_NOMEM;
      goto failed;
    }
  if ((err = nl_connect (self->sync_sock, NETLINK_ROUTE)) < 0)
    goto failed;
  if ((err = rtnl_link_alloc_cache (NULL, AF_UNSPEC, &self->links)) < 0)
    goto failed;
  if ((err = nl_cache_mngr_add_cache_v2 (self->mngr, self->links, change_cb, self)) < 0)
    {
      nl_cache_free (g_steal_pointer (&self->links));
      goto failed;
    }
  if ((err = nl_cache_alloc_name ("route/addr", &self->addrs)) < 0)
    goto failed;
  if ((err = nl_cache_mngr_add_cache_v2 (self->mngr, self->addrs, change_cb, self)) < 0)
    {
      nl_cache_free (g_steal_pointer (&self->addrs));
      goto failed;
    }
  if ((err = nl_cache_alloc_name ("route/route", &self->routes)) < 0)
    goto failed;
  if ((err = nl_cache_mngr_add_cache_v2 (self->mngr, self->routes, change_cb, self)) < 0)
    {
      nl_cache_free (g_steal_pointer (&self->routes));
      goto failed;
    }

  _post_path_snapshot_unref (self->snapshot);
  self->snapshot = build_snapshot_locked (self);
  self->dirty = FALSE;
  self->source = g_unix_fd_source_new (nl_cache_mngr_get_fd (self->mngr), G_IO_IN);
  g_source_set_callback (self->source, (GSourceFunc) (void (*)(void)) netlink_ready_cb, self, NULL);
  g_source_set_static_name (self->source, "[libpost] netlink");
  g_source_attach (self->source, self->context);
  return TRUE;

failed:
  g_set_error (error, POST_ERROR, POST_ERROR_NOT_SUPPORTED,
               "Cannot watch the network over netlink: %s", nl_geterror (err));
  return FALSE;
}

static void
stop_netlink (PostPathMonitor *self)
{
  if (self->source != NULL)
    {
      g_source_destroy (self->source);
      g_clear_pointer (&self->source, g_source_unref);
    }
  /* The manager frees the caches it was given. */
  if (self->mngr != NULL)
    {
      nl_cache_mngr_free (self->mngr);
      self->mngr = NULL;
      self->links = self->addrs = self->routes = NULL;
    }
  g_clear_pointer (&self->links, nl_cache_free);
  g_clear_pointer (&self->addrs, nl_cache_free);
  g_clear_pointer (&self->routes, nl_cache_free);
  g_clear_pointer (&self->sync_sock, nl_socket_free);
}

/* ---- GNetworkMonitor: metering and connectivity ------------------------------ */

/* Takes the network monitor's metering and connectivity: a change of
 * metering rebuilds the snapshot, whose comparison emits interface-changed
 * for the default route's interface. */
static void
update_from_network_monitor (PostPathMonitor *self)
{
  gboolean metered = self->network_monitor != NULL
                     && g_network_monitor_get_network_metered (self->network_monitor);
  GNetworkConnectivity connectivity = self->network_monitor != NULL
                                      ? g_network_monitor_get_connectivity (self->network_monitor)
                                      : G_NETWORK_CONNECTIVITY_FULL;
  g_autoptr(GPtrArray) events = NULL;
  gboolean metered_changed, connectivity_changed;

  g_mutex_lock (&self->lock);
  metered_changed = metered != self->network_metered;
  connectivity_changed = connectivity != self->connectivity;
  self->network_metered = metered;
  self->connectivity = connectivity;
  if (metered_changed && self->mngr != NULL)
    {
      g_autoptr(PostPathSnapshot) old = self->snapshot;

      self->snapshot = build_snapshot_locked (self);
      events = g_ptr_array_new_with_free_func ((GDestroyNotify) _post_path_event_free);
      _post_path_snapshot_diff (old, self->snapshot, events);
    }
  g_mutex_unlock (&self->lock);

  if (metered_changed || connectivity_changed)
    g_debug ("path monitor: the network is %smetered, connectivity %d", metered ? "" : "not ",
             (int) connectivity);
  dispatch_events (self, events);
  if (metered_changed)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_NETWORK_METERED]);
  if (connectivity_changed)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CONNECTIVITY]);
}

static void
network_monitor_notify_cb (GObject    *network_monitor,
                           GParamSpec *pspec,
                           gpointer    user_data)
{
  update_from_network_monitor (user_data);
}

/* ---- GObject -------------------------------------------------------------- */

static void
post_path_monitor_dispose (GObject *object)
{
  PostPathMonitor *self = POST_PATH_MONITOR (object);

  if (self->network_monitor != NULL)
    g_signal_handlers_disconnect_by_data (self->network_monitor, self);
  g_clear_object (&self->network_monitor);
  G_OBJECT_CLASS (post_path_monitor_parent_class)->dispose (object);
}

static void
post_path_monitor_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  PostPathMonitor *self = POST_PATH_MONITOR (object);

  switch (prop_id)
    {
    case PROP_NETWORK_MONITOR:
      g_value_set_object (value, self->network_monitor);
      break;
    case PROP_NETWORK_METERED:
      g_value_set_boolean (value, post_path_monitor_get_network_metered (self));
      break;
    case PROP_CONNECTIVITY:
      g_value_set_enum (value, post_path_monitor_get_connectivity (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
post_path_monitor_set_property (GObject      *object,
                                guint         prop_id,
                                const GValue *value,
                                GParamSpec   *pspec)
{
  PostPathMonitor *self = POST_PATH_MONITOR (object);

  switch (prop_id)
    {
    case PROP_NETWORK_MONITOR:
      post_path_monitor_set_network_monitor (self, g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
post_path_monitor_finalize (GObject *object)
{
  PostPathMonitor *self = POST_PATH_MONITOR (object);

  stop_netlink (self);
  _post_path_snapshot_unref (self->snapshot);
  g_clear_error (&self->init_error);
  g_ptr_array_unref (self->watches);
  g_main_context_unref (self->context);
  g_mutex_clear (&self->lock);
  G_OBJECT_CLASS (post_path_monitor_parent_class)->finalize (object);
}

static void
post_path_monitor_class_init (PostPathMonitorClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = post_path_monitor_finalize;
  object_class->dispose = post_path_monitor_dispose;
  object_class->get_property = post_path_monitor_get_property;
  object_class->set_property = post_path_monitor_set_property;

  /**
   * PostPathMonitor:network-monitor: (getter get_network_monitor) (setter set_network_monitor)
   *
   * The #GNetworkMonitor whose metering and connectivity the monitor
   * follows (NetworkManager's or the portal's through GIO), or %NULL for
   * none: then only cellular links count as metered.  The default monitor
   * uses g_network_monitor_get_default() where NetworkManager or the portal
   * provide it.
   */
  properties[PROP_NETWORK_MONITOR] =
    g_param_spec_object ("network-monitor", NULL, NULL, G_TYPE_NETWORK_MONITOR,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * PostPathMonitor:network-metered: (getter get_network_metered)
   *
   * Whether [property@Post.PathMonitor:network-monitor] says the network
   * is metered; the interface of the best default route of each family is
   * then metered in the monitor's interface and path data.
   */
  properties[PROP_NETWORK_METERED] =
    g_param_spec_boolean ("network-metered", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * PostPathMonitor:connectivity: (getter get_connectivity)
   *
   * The host's connectivity as [property@Post.PathMonitor:network-monitor]
   * reports it (local only, limited, behind a captive portal or full);
   * %G_NETWORK_CONNECTIVITY_FULL without a network monitor.
   */
  properties[PROP_CONNECTIVITY] =
    g_param_spec_enum ("connectivity", NULL, NULL, G_TYPE_NETWORK_CONNECTIVITY,
                       G_NETWORK_CONNECTIVITY_FULL,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * PostPathMonitor::interface-added:
   * @self: the monitor
   * @interface: the new interface
   *
   * Emitted on the monitor's main context when an interface appears.
   */
  signals[SIGNAL_INTERFACE_ADDED] =
    g_signal_new ("interface-added", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, POST_TYPE_INTERFACE_INFO);
  /**
   * PostPathMonitor::interface-removed:
   * @self: the monitor
   * @interface: the interface as it was
   *
   * Emitted on the monitor's main context when an interface goes away.
   */
  signals[SIGNAL_INTERFACE_REMOVED] =
    g_signal_new ("interface-removed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, POST_TYPE_INTERFACE_INFO);
  /**
   * PostPathMonitor::interface-changed:
   * @self: the monitor
   * @interface: the interface now (its name, MTU, up or running state,
   *   kind or metering changed)
   *
   * Emitted on the monitor's main context when an interface's name, MTU,
   * state (up, running), kind or metering changes (see
   * [property@Post.PathMonitor:network-metered]).
   */
  signals[SIGNAL_INTERFACE_CHANGED] =
    g_signal_new ("interface-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, POST_TYPE_INTERFACE_INFO);
  /**
   * PostPathMonitor::address-added:
   * @self: the monitor
   * @address: the new address
   *
   * Emitted on the monitor's main context when an address is added to an
   * interface.
   */
  signals[SIGNAL_ADDRESS_ADDED] =
    g_signal_new ("address-added", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, POST_TYPE_ADDRESS_INFO);
  /**
   * PostPathMonitor::address-removed:
   * @self: the monitor
   * @address: the address that went away
   *
   * Emitted on the monitor's main context when an address goes away.
   */
  signals[SIGNAL_ADDRESS_REMOVED] =
    g_signal_new ("address-removed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, POST_TYPE_ADDRESS_INFO);
  /**
   * PostPathMonitor::default-route-changed:
   * @self: the monitor
   * @family: the address family whose default routes changed
   *   (#GSocketFamily)
   *
   * Emitted on the monitor's main context when the default routes of
   * @family change (a route added, removed, or its gateway, interface or
   * metric changed); post_path_monitor_list_default_routes() gives the new
   * ones.
   */
  signals[SIGNAL_DEFAULT_ROUTE_CHANGED] =
    g_signal_new ("default-route-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_INT);
}

static void
post_path_monitor_init (PostPathMonitor *self)
{
  g_mutex_init (&self->lock);
  self->snapshot = _post_path_snapshot_new ();
  self->watches = g_ptr_array_new_with_free_func ((GDestroyNotify) watch_unref);
  self->connectivity = G_NETWORK_CONNECTIVITY_FULL;
}

static PostPathMonitor *
monitor_new_on_context (GMainContext *context)
{
  PostPathMonitor *self = g_object_new (POST_TYPE_PATH_MONITOR, NULL);

  self->context = g_main_context_ref (context);
  if (!start_netlink (self, &self->init_error))
    {
      g_debug ("%s", self->init_error->message);
      stop_netlink (self);
    }
  return self;
}

/* Whether GIO's default network monitor would be NetworkManager's or the
 * portal's (or one GIO_USE_NETWORK_MONITOR names), which know metering.
 * Otherwise it is GIO's netlink fallback: it never says metered, and would
 * only be a second netlink socket (warning when the kernel drops its
 * notifications). */
static gboolean
network_monitor_knows_metering (void)
{
  const char *use = g_getenv ("GIO_USE_NETWORK_MONITOR");

  if (use != NULL && *use != '\0')
    return TRUE;
  return g_file_test ("/.flatpak-info", G_FILE_TEST_EXISTS)
         || g_file_test ("/run/NetworkManager", G_FILE_TEST_IS_DIR);
}

/**
 * post_path_monitor_new:
 * @error: return location for an error
 *
 * Creates a path monitor whose signals are emitted on the thread-default
 * main context of the caller.  Most programs want
 * post_path_monitor_get_default() instead.
 *
 * Returns: (transfer full) (nullable): a new monitor, or %NULL if netlink
 *   is not available (%POST_ERROR_NOT_SUPPORTED)
 */
PostPathMonitor *
post_path_monitor_new (GError **error)
{
  g_autoptr(GMainContext) context = g_main_context_ref_thread_default ();
  g_autoptr(PostPathMonitor) self = monitor_new_on_context (context);

  if (self->init_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&self->init_error));
      return NULL;
    }
  return g_steal_pointer (&self);
}

/**
 * post_path_monitor_get_default:
 *
 * The process's path monitor, created on first use.  It lives on the
 * global default main context (g_main_context_default()): its signals are
 * emitted there.  When netlink works, it is the source of path data for
 * every [class@Post.Policy] that has none of its own
 * (post_policy_set_path_info_func()): establishment's ranking installs it.
 *
 * When netlink is not available (post_path_monitor_is_available() returns
 * %FALSE) the monitor knows nothing and emits nothing; libpost then falls
 * back to post_path_info_lookup().  When it is, the monitor follows the
 * metering and connectivity of g_network_monitor_get_default()
 * ([property@Post.PathMonitor:network-monitor]) where NetworkManager or
 * the portal provide them (see [class@Post.PathMonitor]).
 *
 * Returns: (transfer none): the default monitor
 */
PostPathMonitor *
post_path_monitor_get_default (void)
{
  static PostPathMonitor *monitor;

  if (g_once_init_enter (&monitor))
    {
      PostPathMonitor *created = monitor_new_on_context (g_main_context_default ());

      /* (GIO's default monitor, if made now, then notifies on the same context) */
      if (created->mngr != NULL && network_monitor_knows_metering ())
        {
          g_main_context_push_thread_default (created->context);
          post_path_monitor_set_network_monitor (created, g_network_monitor_get_default ());
          g_main_context_pop_thread_default (created->context);
        }
      g_once_init_leave (&monitor, created);
    }
  return monitor;
}

/**
 * post_path_monitor_get_network_monitor: (get-property network-monitor)
 * @self: a monitor
 *
 * Gets the #GNetworkMonitor whose metering and connectivity @self follows.
 *
 * Returns: (transfer none) (nullable): the network monitor, or %NULL
 */
GNetworkMonitor *
post_path_monitor_get_network_monitor (PostPathMonitor *self)
{
  g_return_val_if_fail (POST_IS_PATH_MONITOR (self), NULL);
  return self->network_monitor;
}

/**
 * post_path_monitor_set_network_monitor: (set-property network-monitor)
 * @self: a monitor
 * @network_monitor: (nullable): a network monitor, or %NULL for none
 *
 * Makes @self follow the metering and connectivity of @network_monitor
 * (any #GNetworkMonitor implementation: GIO's default one, or one a test
 * or an application provides), as its notify signals change them.  With
 * %NULL only cellular links count as metered.
 */
void
post_path_monitor_set_network_monitor (PostPathMonitor *self,
                                       GNetworkMonitor *network_monitor)
{
  g_return_if_fail (POST_IS_PATH_MONITOR (self));
  g_return_if_fail (network_monitor == NULL || G_IS_NETWORK_MONITOR (network_monitor));

  if (self->network_monitor == network_monitor)
    return;
  if (self->network_monitor != NULL)
    g_signal_handlers_disconnect_by_data (self->network_monitor, self);
  g_set_object (&self->network_monitor, network_monitor);
  if (network_monitor != NULL)
    {
      g_signal_connect (network_monitor, "notify::network-metered",
                        G_CALLBACK (network_monitor_notify_cb), self);
      g_signal_connect (network_monitor, "notify::connectivity",
                        G_CALLBACK (network_monitor_notify_cb), self);
    }
  update_from_network_monitor (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_NETWORK_MONITOR]);
}

/**
 * post_path_monitor_get_network_metered: (get-property network-metered)
 * @self: a monitor
 *
 * Tells whether [property@Post.PathMonitor:network-monitor] says the
 * network is metered; the default route's interface then counts as
 * metered.
 *
 * Returns: whether the network is metered; %FALSE without a network
 *   monitor
 */
gboolean
post_path_monitor_get_network_metered (PostPathMonitor *self)
{
  gboolean metered;

  g_return_val_if_fail (POST_IS_PATH_MONITOR (self), FALSE);
  g_mutex_lock (&self->lock);
  metered = self->network_metered;
  g_mutex_unlock (&self->lock);
  return metered;
}

/**
 * post_path_monitor_get_connectivity: (get-property connectivity)
 * @self: a monitor
 *
 * Gets the host's connectivity as
 * [property@Post.PathMonitor:network-monitor] reports it.
 *
 * Returns: the connectivity; %G_NETWORK_CONNECTIVITY_FULL without a
 *   network monitor
 */
GNetworkConnectivity
post_path_monitor_get_connectivity (PostPathMonitor *self)
{
  GNetworkConnectivity connectivity;

  g_return_val_if_fail (POST_IS_PATH_MONITOR (self), G_NETWORK_CONNECTIVITY_FULL);
  g_mutex_lock (&self->lock);
  connectivity = self->connectivity;
  g_mutex_unlock (&self->lock);
  return connectivity;
}

/**
 * post_path_monitor_get_context:
 * @self: a monitor
 *
 * Gets the main context on which the monitor watches netlink and emits its
 * signals: the global default context for post_path_monitor_get_default(),
 * the caller's thread-default context for post_path_monitor_new(). It
 * belongs to @self.
 *
 * Returns: (transfer none): the main context its signals are emitted on
 */
GMainContext *
post_path_monitor_get_context (PostPathMonitor *self)
{
  g_return_val_if_fail (POST_IS_PATH_MONITOR (self), NULL);
  return self->context;
}

/**
 * post_path_monitor_is_available:
 * @self: a monitor
 *
 * Tells whether the monitor reads netlink. Without netlink (in some
 * containers) it knows nothing and emits nothing, and libpost falls back
 * to post_path_info_lookup() (getifaddrs() and /sys/class/net).
 *
 * Returns: whether the monitor reads netlink (else it knows nothing)
 */
gboolean
post_path_monitor_is_available (PostPathMonitor *self)
{
  g_return_val_if_fail (POST_IS_PATH_MONITOR (self), FALSE);
  return self->mngr != NULL;
}

/**
 * post_path_monitor_list_interfaces:
 * @self: a monitor
 *
 * Lists the interfaces in the monitor's current view, with their kind, MTU
 * and state. The caller owns the array and the copies in it.
 *
 * Returns: (transfer container) (element-type PostInterfaceInfo): every
 *   interface, by index
 */
GPtrArray *
post_path_monitor_list_interfaces (PostPathMonitor *self)
{
  g_autoptr(PostPathSnapshot) snapshot = NULL;
  GPtrArray *result;

  g_return_val_if_fail (POST_IS_PATH_MONITOR (self), NULL);
  snapshot = get_snapshot (self);
  result = g_ptr_array_new_with_free_func ((GDestroyNotify) post_interface_info_free);
  for (guint i = 0; i < snapshot->interfaces->len; i++)
    g_ptr_array_add (result, post_interface_info_copy (snapshot->interfaces->pdata[i]));
  return result;
}

/**
 * post_path_monitor_get_interface:
 * @self: a monitor
 * @name: an interface name
 *
 * Looks up one interface by name in the monitor's current view; the caller
 * owns the copy (free it with post_interface_info_free()).
 *
 * Returns: (transfer full) (nullable): the interface called @name
 */
PostInterfaceInfo *
post_path_monitor_get_interface (PostPathMonitor *self,
                                 const char      *name)
{
  g_autoptr(PostPathSnapshot) snapshot = NULL;
  const PostInterfaceInfo *info;

  g_return_val_if_fail (POST_IS_PATH_MONITOR (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);
  snapshot = get_snapshot (self);
  info = _post_path_snapshot_find_interface_by_name (snapshot, name);
  return info ? post_interface_info_copy (info) : NULL;
}

/**
 * post_path_monitor_list_addresses:
 * @self: a monitor
 * @interface: (nullable): an interface name, %NULL for every interface
 *
 * Lists the addresses of one interface, or of every interface, in the
 * monitor's current view, with their IPv6 flags. The caller owns the array
 * and the copies in it.
 *
 * Returns: (transfer container) (element-type PostAddressInfo): the addresses
 */
GPtrArray *
post_path_monitor_list_addresses (PostPathMonitor *self,
                                  const char      *interface)
{
  g_autoptr(PostPathSnapshot) snapshot = NULL;
  GPtrArray *result;

  g_return_val_if_fail (POST_IS_PATH_MONITOR (self), NULL);
  snapshot = get_snapshot (self);
  result = g_ptr_array_new_with_free_func ((GDestroyNotify) post_address_info_free);
  for (guint i = 0; i < snapshot->addresses->len; i++)
    {
      PostAddressInfo *info = snapshot->addresses->pdata[i];

      if (interface == NULL || g_strcmp0 (info->interface, interface) == 0)
        g_ptr_array_add (result, post_address_info_copy (info));
    }
  return result;
}

/**
 * post_path_monitor_list_default_routes:
 * @self: a monitor
 *
 * Lists the unicast default routes of both families in the monitor's
 * current view (as `post-paths` prints them). The caller owns the array
 * and the copies in it.
 *
 * Returns: (transfer container) (element-type PostRouteInfo): the unicast
 *   default routes of every table, lowest metric first
 */
GPtrArray *
post_path_monitor_list_default_routes (PostPathMonitor *self)
{
  g_autoptr(PostPathSnapshot) snapshot = NULL;
  GPtrArray *result;

  g_return_val_if_fail (POST_IS_PATH_MONITOR (self), NULL);
  snapshot = get_snapshot (self);
  result = g_ptr_array_new_with_free_func ((GDestroyNotify) post_route_info_free);
  for (guint i = 0; i < snapshot->routes->len; i++)
    {
      PostPathRoute *route = snapshot->routes->pdata[i];

      if (route->prefix_length == 0 && route->type == RTN_UNICAST)
        g_ptr_array_add (result, post_route_info_copy (&route->info));
    }
  for (guint i = 1; i < result->len; i++)
    for (guint j = i; j > 0 && ((PostRouteInfo *) result->pdata[j - 1])->metric
                                > ((PostRouteInfo *) result->pdata[j])->metric; j--)
      {
        gpointer tmp = result->pdata[j];

        result->pdata[j] = result->pdata[j - 1];
        result->pdata[j - 1] = tmp;
      }
  return result;
}

/* ---- paths ---------------------------------------------------------------- */

static GInetAddress *
inet_of (GSocketAddress *address,
         guint32        *scope_id)
{
  if (address == NULL || !G_IS_INET_SOCKET_ADDRESS (address))
    return NULL;
  if (scope_id != NULL)
    *scope_id = g_socket_address_get_family (address) == G_SOCKET_FAMILY_IPV6
                ? g_inet_socket_address_get_scope_id (G_INET_SOCKET_ADDRESS (address)) : 0;
  return g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (address));
}

/**
 * post_path_monitor_lookup_path:
 * @self: a monitor
 * @local_address: (nullable): the path's local address, if bound
 * @remote_address: (nullable): its remote address
 *
 * The path data ranking uses: the interface holding @local_address (when
 * it is bound to a specific address), else the one the routing table
 * sends @remote_address through (longest prefix, lowest metric; the
 * loopback interface for the host's own addresses), with its kind, MTU and
 * metering, and whether the local address is temporary.
 *
 * Returns: (transfer full) (nullable): the path data, %NULL if unknown
 */
PostPathInfo *
post_path_monitor_lookup_path (PostPathMonitor *self,
                               GSocketAddress  *local_address,
                               GSocketAddress  *remote_address)
{
  g_autoptr(PostPathSnapshot) snapshot = NULL;
  const PostInterfaceInfo *interface = NULL;
  const PostAddressInfo *local_info = NULL;
  GInetAddress *local = inet_of (local_address, NULL);
  guint32 scope_id = 0;
  GInetAddress *remote = inet_of (remote_address, &scope_id);
  PostPathInfo *info;

  g_return_val_if_fail (POST_IS_PATH_MONITOR (self), NULL);

  if (self->mngr == NULL)
    return post_path_info_lookup (local_address, remote_address);
  snapshot = get_snapshot (self);

  if (local != NULL && !g_inet_address_get_is_any (local))
    {
      local_info = _post_path_snapshot_find_local (snapshot, local);
      if (local_info != NULL)
        interface = _post_path_snapshot_find_interface (snapshot, local_info->interface_index);
    }
  if (interface == NULL && remote != NULL)
    {
      if (g_inet_address_get_is_loopback (remote) || _post_path_snapshot_find_local (snapshot, remote) != NULL)
        interface = _post_path_snapshot_loopback (snapshot);
      else if (scope_id != 0 && g_inet_address_get_is_link_local (remote))
        interface = _post_path_snapshot_find_interface (snapshot, scope_id);
      else
        {
          const PostPathRoute *route = _post_path_snapshot_route_to (snapshot, remote, 0);

          if (route != NULL && route->type == RTN_UNICAST)
            interface = _post_path_snapshot_find_interface (snapshot, route->info.interface_index);
        }
    }
  if (interface == NULL)
    return NULL;

  info = post_path_info_new (interface->name, interface->kind, interface->metered, interface->mtu);
  info->temporary = local_info != NULL && (local_info->flags & POST_ADDRESS_FLAGS_TEMPORARY);
  return info;
}

static gboolean
address_usable (const PostAddressInfo *info,
                GInetAddress          *remote,
                guint32                scope_id)
{
  GInetAddress *address = info->address;

  if (g_inet_address_get_family (address) != g_inet_address_get_family (remote))
    return FALSE;
  if (info->flags & (POST_ADDRESS_FLAGS_TENTATIVE | POST_ADDRESS_FLAGS_DAD_FAILED))
    return FALSE;
  if (g_inet_address_get_is_loopback (address) || g_inet_address_get_is_multicast (address))
    return FALSE;
  if (g_inet_address_get_is_link_local (address) != g_inet_address_get_is_link_local (remote))
    return FALSE;
  if (g_inet_address_get_is_link_local (remote) && scope_id != 0 && info->interface_index != scope_id)
    return FALSE;
  return TRUE;
}

/* Lower is better: non-deprecated first, then the temporary preference */
static int
address_preference (const PostAddressInfo *info,
                    PostPreference         use_temporary)
{
  gboolean temporary = (info->flags & POST_ADDRESS_FLAGS_TEMPORARY) != 0;
  int score = (info->flags & POST_ADDRESS_FLAGS_DEPRECATED) ? 4 : 0;

  switch (use_temporary)
    {
    case POST_PREFERENCE_REQUIRE:
      return temporary ? score : -1;
    case POST_PREFERENCE_PROHIBIT:
      return temporary ? -1 : score;
    case POST_PREFERENCE_AVOID:
      return score + (temporary ? 1 : 0);
    case POST_PREFERENCE_PREFER:
    case POST_PREFERENCE_NO_PREFERENCE:
    default:
      return score + (temporary ? 0 : 1);
    }
}

typedef struct {
  GSocketAddress *address;
  guint           metric;
  guint           index;
} Gathered;

static int
compare_gathered (gconstpointer a,
                  gconstpointer b)
{
  const Gathered *ga = a, *gb = b;

  if (ga->metric != gb->metric)
    return ga->metric < gb->metric ? -1 : 1;
  return ga->index < gb->index ? -1 : ga->index > gb->index;
}

/**
 * post_path_monitor_gather_locals:
 * @self: a monitor
 * @remote_address: the remote address to reach
 * @use_temporary: the RFC 9622 `use-temporary-local-address` preference
 *   (no preference counts as prefer, RFC 9622's default for connections)
 *
 * Gathers local candidates (draft 4.5): for each interface that is up,
 * has carrier, is no loopback and has a route towards @remote_address,
 * one local address of @remote_address's family (port 0): no tentative
 * or failed address, link-local only towards a link-local remote (on its
 * scope's interface), non-deprecated before deprecated, and temporary
 * addresses as @use_temporary says (require: only them; prohibit: never).
 * Interfaces come best route first (lowest metric).
 *
 * A loopback remote, or one of the host's own addresses, gathers nothing:
 * such connections never leave the host.
 *
 * Returns: (transfer container) (element-type GSocketAddress): the locals
 */
GPtrArray *
post_path_monitor_gather_locals (PostPathMonitor *self,
                                 GSocketAddress  *remote_address,
                                 PostPreference   use_temporary)
{
  g_autoptr(PostPathSnapshot) snapshot = NULL;
  g_autoptr(GArray) gathered = g_array_new (FALSE, TRUE, sizeof (Gathered));
  GPtrArray *result = g_ptr_array_new_with_free_func (g_object_unref);
  guint32 scope_id = 0;
  GInetAddress *remote = inet_of (remote_address, &scope_id);

  g_return_val_if_fail (POST_IS_PATH_MONITOR (self), result);

  if (remote == NULL || self->mngr == NULL || g_inet_address_get_is_loopback (remote))
    return result;
  snapshot = get_snapshot (self);
  if (_post_path_snapshot_find_local (snapshot, remote) != NULL)
    return result;

  for (guint i = 0; i < snapshot->interfaces->len; i++)
    {
      const PostInterfaceInfo *interface = snapshot->interfaces->pdata[i];
      const PostAddressInfo *best = NULL;
      const PostPathRoute *route = NULL;
      int best_score = G_MAXINT;

      if (!interface->running || interface->kind == POST_INTERFACE_KIND_LOOPBACK)
        continue;
      if (g_inet_address_get_is_link_local (remote))
        {
          if (scope_id != 0 && interface->index != scope_id)
            continue;
        }
      else
        {
          route = _post_path_snapshot_route_to (snapshot, remote, interface->index);
          if (route == NULL || route->type != RTN_UNICAST)
            continue;
        }
      for (guint a = 0; a < snapshot->addresses->len; a++)
        {
          const PostAddressInfo *info = snapshot->addresses->pdata[a];
          int score;

          if (info->interface_index != interface->index || !address_usable (info, remote, scope_id))
            continue;
          score = address_preference (info, use_temporary);
          if (score >= 0 && score < best_score)
            {
              best = info;
              best_score = score;
            }
        }
      if (best != NULL)
        {
          Gathered entry = {
            g_object_new (G_TYPE_INET_SOCKET_ADDRESS, "address", best->address, "port", 0,
                          "scope-id", g_inet_address_get_is_link_local (best->address)
                                      ? interface->index : 0, NULL),
            route != NULL ? route->info.metric : 0,
            interface->index
          };

          g_array_append_val (gathered, entry);
        }
    }
  g_array_sort (gathered, compare_gathered);
  for (guint i = 0; i < gathered->len; i++)
    g_ptr_array_add (result, g_array_index (gathered, Gathered, i).address);
  return result;
}

/* ---- internal watches ----------------------------------------------------- */

guint
_post_path_monitor_watch (PostPathMonitor   *self,
                          PostPathEventFunc  func,
                          gpointer           data)
{
  Watch *watch = g_new0 (Watch, 1);
  guint id;

  watch->ref_count = 1;
  watch->func = func;
  watch->data = data;
  watch->context = g_main_context_ref_thread_default ();
  g_mutex_lock (&self->lock);
  id = watch->id = ++self->next_watch_id;
  g_ptr_array_add (self->watches, watch);
  g_mutex_unlock (&self->lock);
  return id;
}

void
_post_path_monitor_unwatch (PostPathMonitor *self,
                            guint            id)
{
  g_mutex_lock (&self->lock);
  for (guint i = 0; i < self->watches->len; i++)
    {
      Watch *watch = self->watches->pdata[i];

      if (watch->id == id)
        {
          g_atomic_int_set (&watch->removed, 1);
          g_ptr_array_remove_index (self->watches, i);
          break;
        }
    }
  g_mutex_unlock (&self->lock);
}

/* The name of the interface holding @address, or NULL */
char *
_post_path_monitor_interface_of (PostPathMonitor *self,
                                 GSocketAddress  *address)
{
  g_autoptr(PostPathSnapshot) snapshot = NULL;
  GInetAddress *inet = inet_of (address, NULL);
  const PostAddressInfo *info;

  if (inet == NULL || self->mngr == NULL)
    return NULL;
  snapshot = get_snapshot (self);
  info = _post_path_snapshot_find_local (snapshot, inet);
  return info ? g_strdup (info->interface) : NULL;
}

/* How many running, non-loopback interfaces route towards @remote */
guint
_post_path_monitor_count_routes (PostPathMonitor *self,
                                 GSocketAddress  *remote_address)
{
  g_autoptr(PostPathSnapshot) snapshot = NULL;
  GInetAddress *remote = inet_of (remote_address, NULL);
  guint count = 0;

  if (remote == NULL || self->mngr == NULL)
    return 0;
  snapshot = get_snapshot (self);
  for (guint i = 0; i < snapshot->interfaces->len; i++)
    {
      const PostInterfaceInfo *interface = snapshot->interfaces->pdata[i];
      const PostPathRoute *route;

      if (!interface->running || interface->kind == POST_INTERFACE_KIND_LOOPBACK)
        continue;
      route = _post_path_snapshot_route_to (snapshot, remote, interface->index);
      if (route != NULL && route->type == RTN_UNICAST)
        count++;
    }
  return count;
}
