/* post-paths: the host's interfaces, addresses and default routes as
 * libpost sees them (PostPathMonitor), and with --monitor their changes
 *
 * --json: the list is one JSON object on one line, and with --monitor
 * each change one object a line after it (JSON Lines; the schema is in
 * docs/man/post-paths.1).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <post.h>
#include "tool-json.h"
#include <glib-unix.h>
#include <stdio.h>
#include <stdlib.h>

static char *
flags_to_string (PostAddressFlags flags)
{
  GString *string = g_string_new (NULL);

  if (flags & POST_ADDRESS_FLAGS_TEMPORARY)
    g_string_append (string, " temporary");
  if (flags & POST_ADDRESS_FLAGS_DEPRECATED)
    g_string_append (string, " deprecated");
  if (flags & POST_ADDRESS_FLAGS_TENTATIVE)
    g_string_append (string, " tentative");
  if (flags & POST_ADDRESS_FLAGS_DAD_FAILED)
    g_string_append (string, " dadfailed");
  if (flags & POST_ADDRESS_FLAGS_PERMANENT)
    g_string_append (string, " permanent");
  return g_string_free (string, FALSE);
}

static gboolean opt_json;

/* GIO's GNetworkMonitor: the whole host's connectivity and metering, where
 * NetworkManager or the portal say (interfaces are libnl's) */
static const char *
connectivity_nick (GNetworkConnectivity connectivity)
{
  switch (connectivity)
    {
    case G_NETWORK_CONNECTIVITY_LOCAL: return "local";
    case G_NETWORK_CONNECTIVITY_LIMITED: return "limited";
    case G_NETWORK_CONNECTIVITY_PORTAL: return "portal";
    case G_NETWORK_CONNECTIVITY_FULL: return "full";
    default: return "unknown";
    }
}

static const char *
network_monitor_name (PostPathMonitor *monitor)
{
  GNetworkMonitor *network = post_path_monitor_get_network_monitor (monitor);

  return network != NULL ? G_OBJECT_TYPE_NAME (network) : NULL;
}

static void
json_network (ToolJson        *json,
              PostPathMonitor *monitor)
{
  tool_json_begin_object (json, "network");
  tool_json_string (json, "monitor", network_monitor_name (monitor));
  tool_json_string (json, "connectivity", connectivity_nick (post_path_monitor_get_connectivity (monitor)));
  tool_json_bool (json, "metered", post_path_monitor_get_network_metered (monitor));
  tool_json_end_object (json);
}

static char *
describe_network (PostPathMonitor *monitor)
{
  const char *name = network_monitor_name (monitor);

  return g_strdup_printf ("connectivity %s, %s (GNetworkMonitor: %s)",
                          connectivity_nick (post_path_monitor_get_connectivity (monitor)),
                          post_path_monitor_get_network_metered (monitor) ? "metered" : "not metered",
                          name != NULL ? name : "none that knows metering (NetworkManager, the portal)");
}

/* ---- --json ------------------------------------------------------------------ */

static const struct {
  PostAddressFlags flag;
  const char *name;
} address_flags[] = {
  { POST_ADDRESS_FLAGS_TEMPORARY, "temporary" },
  { POST_ADDRESS_FLAGS_DEPRECATED, "deprecated" },
  { POST_ADDRESS_FLAGS_TENTATIVE, "tentative" },
  { POST_ADDRESS_FLAGS_DAD_FAILED, "dadfailed" },
  { POST_ADDRESS_FLAGS_PERMANENT, "permanent" },
};

static void
json_interface (ToolJson *json, const char *key, const PostInterfaceInfo *info)
{
  tool_json_begin_object (json, key);
  tool_json_string (json, "name", info->name);
  tool_json_int (json, "index", info->index);
  tool_json_string (json, "kind", post_interface_kind_to_nick (info->kind));
  tool_json_string (json, "link_type", info->link_type);
  tool_json_bool (json, "up", info->up);
  tool_json_bool (json, "running", info->running);
  tool_json_int (json, "mtu", info->mtu);
  tool_json_bool (json, "metered", info->metered);
}

static void
json_address (ToolJson *json, const char *key, const PostAddressInfo *info)
{
  g_autofree char *address = g_inet_address_to_string (info->address);

  tool_json_begin_object (json, key);
  tool_json_string (json, "address", address);
  tool_json_string (json, "family", g_inet_address_get_family (info->address) == G_SOCKET_FAMILY_IPV6 ? "ipv6" : "ipv4");
  tool_json_int (json, "prefix_length", info->prefix_length);
  tool_json_string (json, "interface", info->interface);
  tool_json_begin_array (json, "flags");
  for (guint i = 0; i < G_N_ELEMENTS (address_flags); i++)
    if (info->flags & address_flags[i].flag)
      tool_json_string (json, NULL, address_flags[i].name);
  tool_json_end_array (json);
  tool_json_end_object (json);
}

static void
json_route (ToolJson *json, const PostRouteInfo *info)
{
  g_autofree char *gateway = info->gateway ? g_inet_address_to_string (info->gateway) : NULL;

  tool_json_begin_object (json, NULL);
  tool_json_string (json, "family", info->family == G_SOCKET_FAMILY_IPV6 ? "ipv6" : "ipv4");
  tool_json_string (json, "gateway", gateway);
  tool_json_string (json, "interface", info->interface);
  tool_json_int (json, "table", info->table);
  tool_json_int (json, "metric", info->metric);
  tool_json_end_object (json);
}

static void
json_print (ToolJson *json)
{
  g_autofree char *text = tool_json_free (json);

  g_print ("%s\n", text);
}

/* {"event":EVENT,"time":ISO 8601 UTC, ... */
static ToolJson *
json_event (const char *event)
{
  ToolJson *json = tool_json_new ();
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *time = g_date_time_format_iso8601 (now);

  tool_json_begin_object (json, NULL);
  tool_json_string (json, "event", event);
  tool_json_string (json, "time", time);
  return json;
}

static void
list_json (PostPathMonitor *monitor)
{
  g_autoptr(GPtrArray) interfaces = post_path_monitor_list_interfaces (monitor);
  g_autoptr(GPtrArray) routes = post_path_monitor_list_default_routes (monitor);
  ToolJson *json = tool_json_new ();

  tool_json_begin_object (json, NULL);
  tool_json_begin_array (json, "interfaces");
  for (guint i = 0; i < interfaces->len; i++)
    {
      const PostInterfaceInfo *info = interfaces->pdata[i];
      g_autoptr(GPtrArray) addresses = post_path_monitor_list_addresses (monitor, info->name);

      json_interface (json, NULL, info);
      tool_json_begin_array (json, "addresses");
      for (guint a = 0; a < addresses->len; a++)
        json_address (json, NULL, addresses->pdata[a]);
      tool_json_end_array (json);
      tool_json_end_object (json);
    }
  tool_json_end_array (json);
  tool_json_begin_array (json, "default_routes");
  for (guint i = 0; i < routes->len; i++)
    json_route (json, routes->pdata[i]);
  tool_json_end_array (json);
  json_network (json, monitor);
  tool_json_end_object (json);
  json_print (json);
}

/* ---- text ------------------------------------------------------------------- */

static char *
describe_interface (const PostInterfaceInfo *info)
{
  return g_strdup_printf ("%s (index %u): %s%s%s, %s, mtu %u%s", info->name, info->index,
                          post_interface_kind_to_nick (info->kind),
                          info->link_type ? "/" : "", info->link_type ? info->link_type : "",
                          info->running ? "up" : info->up ? "up, no carrier" : "down",
                          info->mtu, info->metered ? ", metered" : "");
}

static char *
describe_address (const PostAddressInfo *info)
{
  g_autofree char *address = g_inet_address_to_string (info->address);
  g_autofree char *flags = flags_to_string (info->flags);

  return g_strdup_printf ("%s/%u on %s%s", address, info->prefix_length,
                          info->interface ? info->interface : "?", flags);
}

static char *
describe_route (const PostRouteInfo *info)
{
  g_autofree char *gateway = info->gateway ? g_inet_address_to_string (info->gateway) : NULL;

  return g_strdup_printf ("%s default%s%s dev %s table %u metric %u",
                          info->family == G_SOCKET_FAMILY_IPV6 ? "ipv6" : "ipv4",
                          gateway ? " via " : "", gateway ? gateway : "",
                          info->interface ? info->interface : "?", info->table, info->metric);
}

static void
list_all (PostPathMonitor *monitor)
{
  g_autoptr(GPtrArray) interfaces = post_path_monitor_list_interfaces (monitor);
  g_autoptr(GPtrArray) routes = post_path_monitor_list_default_routes (monitor);

  g_print ("Interfaces:\n");
  for (guint i = 0; i < interfaces->len; i++)
    {
      const PostInterfaceInfo *info = interfaces->pdata[i];
      g_autoptr(GPtrArray) addresses = post_path_monitor_list_addresses (monitor, info->name);
      g_autofree char *text = describe_interface (info);

      g_print ("  %s\n", text);
      for (guint a = 0; a < addresses->len; a++)
        {
          const PostAddressInfo *address = addresses->pdata[a];
          g_autofree char *inet = g_inet_address_to_string (address->address);
          g_autofree char *flags = flags_to_string (address->flags);

          g_print ("      %s/%u%s\n", inet, address->prefix_length, flags);
        }
    }
  g_print ("Default routes:\n");
  if (routes->len == 0)
    g_print ("  (none)\n");
  for (guint i = 0; i < routes->len; i++)
    {
      g_autofree char *text = describe_route (routes->pdata[i]);

      g_print ("  %s\n", text);
    }
  {
    g_autofree char *text = describe_network (monitor);

    g_print ("Network:\n  %s\n", text);
  }
}

static void
stamp (void)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *text = g_date_time_format (now, "%H:%M:%S.%f");

  g_print ("[%.12s] ", text);
}

static void
on_interface (PostPathMonitor   *monitor,
              PostInterfaceInfo *info,
              gpointer           what)
{
  g_autofree char *text = NULL;

  if (opt_json)
    {
      g_autofree char *event = g_strconcat ("interface-", (const char *) what, NULL);
      ToolJson *json = json_event (event);

      json_interface (json, "interface", info);
      tool_json_end_object (json);
      tool_json_end_object (json);
      json_print (json);
      return;
    }
  text = describe_interface (info);
  stamp ();
  g_print ("interface %s: %s\n", (const char *) what, text);
}

static void
on_address (PostPathMonitor *monitor,
            PostAddressInfo *info,
            gpointer         what)
{
  g_autofree char *text = NULL;

  if (opt_json)
    {
      g_autofree char *event = g_strconcat ("address-", (const char *) what, NULL);
      ToolJson *json = json_event (event);

      json_address (json, "address", info);
      tool_json_end_object (json);
      json_print (json);
      return;
    }
  text = describe_address (info);
  stamp ();
  g_print ("address %s: %s\n", (const char *) what, text);
}

static void
on_default_route (PostPathMonitor *monitor,
                  int              family,
                  gpointer         user_data)
{
  g_autoptr(GPtrArray) routes = post_path_monitor_list_default_routes (monitor);
  gboolean any = FALSE;

  if (opt_json)
    {
      ToolJson *json = json_event ("default-route-changed");

      tool_json_string (json, "family", family == G_SOCKET_FAMILY_IPV6 ? "ipv6" : "ipv4");
      tool_json_begin_array (json, "default_routes");
      for (guint i = 0; i < routes->len; i++)
        if ((int) ((const PostRouteInfo *) routes->pdata[i])->family == family)
          json_route (json, routes->pdata[i]);
      tool_json_end_array (json);
      tool_json_end_object (json);
      json_print (json);
      return;
    }
  stamp ();
  g_print ("default route changed (%s):", family == G_SOCKET_FAMILY_IPV6 ? "ipv6" : "ipv4");
  for (guint i = 0; i < routes->len; i++)
    {
      const PostRouteInfo *route = routes->pdata[i];
      g_autofree char *text = NULL;

      if ((int) route->family != family)
        continue;
      text = describe_route (route);
      g_print ("%s %s", any ? ";" : "", text);
      any = TRUE;
    }
  g_print ("%s\n", any ? "" : " none");
}

static void
on_network (PostPathMonitor *monitor,
            GParamSpec      *pspec,
            gpointer         user_data)
{
  g_autofree char *text = NULL;

  if (opt_json)
    {
      ToolJson *json = json_event ("network-changed");

      json_network (json, monitor);
      tool_json_end_object (json);
      json_print (json);
      return;
    }
  text = describe_network (monitor);
  stamp ();
  g_print ("network changed: %s\n", text);
}

static gboolean
on_signal (gpointer loop)
{
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

int
main (int   argc,
      char *argv[])
{
  gboolean monitor_changes = FALSE;
  gboolean version = FALSE;
  const GOptionEntry entries[] = {
    { "monitor", 'm', 0, G_OPTION_ARG_NONE, &monitor_changes, "Print changes as they happen (Ctrl-C ends)", NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &opt_json, "Print JSON: the list as one object on a line, with --monitor then each change as one (see post-paths(1))", NULL },
    { "version", 0, 0, G_OPTION_ARG_NONE, &version, "Print the version", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  PostPathMonitor *monitor;

  setvbuf (stdout, NULL, _IOLBF, 0);
  g_option_context_set_summary (context,
                                "Lists the interfaces, their kind, addresses, MTU and the default\n"
                                "routes as libpost sees them (netlink), the connectivity and metering\n"
                                "GIO's GNetworkMonitor reports, and with --monitor prints every change.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("post-paths: %s\n", error->message);
      return 2;
    }
  if (version)
    {
      g_print ("post-paths %s\n", POST_VERSION_S);
      return 0;
    }

  monitor = post_path_monitor_get_default ();
  if (!post_path_monitor_is_available (monitor))
    {
      g_printerr ("post-paths: netlink is not available; libpost falls back to getifaddrs()\n");
      return 1;
    }
  if (opt_json)
    list_json (monitor);
  else
    list_all (monitor);
  if (!monitor_changes)
    return 0;

  loop = g_main_loop_new (NULL, FALSE);
  g_signal_connect (monitor, "interface-added", G_CALLBACK (on_interface), "added");
  g_signal_connect (monitor, "interface-removed", G_CALLBACK (on_interface), "removed");
  g_signal_connect (monitor, "interface-changed", G_CALLBACK (on_interface), "changed");
  g_signal_connect (monitor, "address-added", G_CALLBACK (on_address), "added");
  g_signal_connect (monitor, "address-removed", G_CALLBACK (on_address), "removed");
  g_signal_connect (monitor, "default-route-changed", G_CALLBACK (on_default_route), NULL);
  g_signal_connect (monitor, "notify::connectivity", G_CALLBACK (on_network), NULL);
  g_signal_connect (monitor, "notify::network-metered", G_CALLBACK (on_network), NULL);
  g_unix_signal_add (SIGINT, on_signal, loop);
  g_unix_signal_add (SIGTERM, on_signal, loop);
  if (!opt_json)
    g_print ("Monitoring (Ctrl-C ends)\n");
  g_main_loop_run (loop);
  return 0;
}
