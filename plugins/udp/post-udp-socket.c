/* post-udp-socket.c: the udp stack's sockets: creating and binding them,
 * joining multicast groups, path MTU discovery and multicast send options,
 * and the configuration's options they read
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * See post-udp-psi.c for the stack as a whole.
 */

#include "post-udp-psi-private.h"
#include "post-udp-pktinfo.h"

#include <errno.h>
#include <string.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/socket.h>

static GVariant *
get_option (PostUdpPsi *self,
            const char *key)
{
  PostConfiguration *configuration = post_psi_get_configuration (POST_PSI (self));

  return configuration ? post_configuration_get_option (configuration, key) : NULL;
}

/* Reads a numeric option (uint32, int32, byte, uint64, int64); @fallback
 * when unset or of another type (which is logged). */
guint32
post_udp_get_uint_option (PostUdpPsi *self,
                          const char *key,
                          guint32     fallback)
{
  GVariant *value = get_option (self, key);

  if (value == NULL)
    return fallback;
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_UINT32))
    return g_variant_get_uint32 (value);
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_INT32) && g_variant_get_int32 (value) >= 0)
    return (guint32) g_variant_get_int32 (value);
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_BYTE))
    return g_variant_get_byte (value);
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_UINT64))
    return (guint32) MIN (g_variant_get_uint64 (value), G_MAXUINT32);
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_INT64) && g_variant_get_int64 (value) >= 0)
    return (guint32) MIN (g_variant_get_int64 (value), G_MAXUINT32);
  g_message ("Ignoring option %s of type %s (expected an unsigned number)",
             key, g_variant_get_type_string (value));
  return fallback;
}

gboolean
post_udp_get_bool_option (PostUdpPsi *self,
                          const char *key,
                          gboolean    fallback)
{
  GVariant *value = get_option (self, key);

  if (value == NULL)
    return fallback;
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_BOOLEAN))
    return g_variant_get_boolean (value);
  g_message ("Ignoring option %s of type %s (expected a boolean)",
             key, g_variant_get_type_string (value));
  return fallback;
}

static guint
get_multicast_interface (PostUdpPsi  *self,
                         GError     **error)
{
  GVariant *value = get_option (self, POST_UDP_OPTION_MULTICAST_INTERFACE);
  const char *name;
  guint index;

  if (value == NULL)
    return 0;
  if (!g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
    {
      g_set_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                   "Option %s must be a string (an interface name), not %s",
                   POST_UDP_OPTION_MULTICAST_INTERFACE, g_variant_get_type_string (value));
      return G_MAXUINT;
    }
  name = g_variant_get_string (value, NULL);
  index = if_nametoindex (name);
  if (index == 0)
    {
      g_set_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                   "Option %s names no interface: ‘%s’",
                   POST_UDP_OPTION_MULTICAST_INTERFACE, name);
      return G_MAXUINT;
    }
  return index;
}

GError *
post_udp_errno_error (int         errsv,
             const char *format,
             ...)
{
  va_list args;
  g_autofree char *what = NULL;

  va_start (args, format);
  what = g_strdup_vprintf (format, args);
  va_end (args);
  return g_error_new (G_IO_ERROR, g_io_error_from_errno (errsv), "%s: %s",
                      what, g_strerror (errsv));
}

gboolean
post_udp_is_multicast (GSocketAddress *address)
{
  return G_IS_INET_SOCKET_ADDRESS (address)
         && g_inet_address_get_is_multicast (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (address)));
}

gboolean
post_udp_is_v4_mapped (GSocketAddress *address)
{
  GInetAddress *inet;
  const guint8 *bytes;

  if (!G_IS_INET_SOCKET_ADDRESS (address))
    return FALSE;
  inet = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (address));
  if (g_inet_address_get_family (inet) != G_SOCKET_FAMILY_IPV6)
    return FALSE;
  bytes = g_inet_address_to_bytes (inet);
  return memcmp (bytes, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0;
}

GSocket *
post_udp_new_socket (GSocketFamily   family,
                     GError        **error)
{
  GSocket *socket = g_socket_new (family, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, error);

  if (socket != NULL)
    g_socket_set_blocking (socket, FALSE);
  return socket;
}

void
post_udp_set_pmtu_discovery (PostUdpPsi *self)
{
  int value;

  if (self->family == G_SOCKET_FAMILY_IPV4)
    {
      value = self->allow_fragmentation ? IP_PMTUDISC_DONT : IP_PMTUDISC_DO;
      if (setsockopt (self->fd, IPPROTO_IP, IP_MTU_DISCOVER, &value, sizeof value) != 0)
        g_debug ("Could not set IP_MTU_DISCOVER: %s", g_strerror (errno));
    }
  else
    {
      value = self->allow_fragmentation ? IPV6_PMTUDISC_DONT : IPV6_PMTUDISC_DO;
      if (setsockopt (self->fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &value, sizeof value) != 0)
        g_debug ("Could not set IPV6_MTU_DISCOVER: %s", g_strerror (errno));
    }
}

/* A source to a group: TTL / hop limit, loop and interface. */
gboolean
post_udp_set_multicast_send_options (PostUdpPsi  *self,
                                     GError     **error)
{
  guint32 ttl = post_udp_get_uint_option (self, POST_UDP_OPTION_MULTICAST_TTL, 1);
  int loop = post_udp_get_bool_option (self, POST_UDP_OPTION_MULTICAST_LOOP, TRUE) ? 1 : 0;
  guint ifindex = get_multicast_interface (self, error);
  int value;

  if (ifindex == G_MAXUINT)
    return FALSE;
  if (ttl > 255)
    {
      g_set_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                   "Option %s must be at most 255, not %u", POST_UDP_OPTION_MULTICAST_TTL, ttl);
      return FALSE;
    }
  value = (int) ttl;
  if (self->family == G_SOCKET_FAMILY_IPV4)
    {
      if (setsockopt (self->fd, IPPROTO_IP, IP_MULTICAST_TTL, &value, sizeof value) != 0
          || setsockopt (self->fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof loop) != 0)
        {
          g_propagate_error (error, post_udp_errno_error (errno, "Could not set the multicast TTL or loop"));
          return FALSE;
        }
      if (ifindex != 0)
        {
          struct ip_mreqn mreq = { .imr_ifindex = (int) ifindex };

          if (setsockopt (self->fd, IPPROTO_IP, IP_MULTICAST_IF, &mreq, sizeof mreq) != 0)
            {
              g_propagate_error (error, post_udp_errno_error (errno, "Could not set the multicast interface"));
              return FALSE;
            }
        }
    }
  else
    {
      if (setsockopt (self->fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &value, sizeof value) != 0
          || setsockopt (self->fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &loop, sizeof loop) != 0)
        {
          g_propagate_error (error, post_udp_errno_error (errno, "Could not set the multicast hop limit or loop"));
          return FALSE;
        }
      if (ifindex != 0)
        {
          int index = (int) ifindex;

          if (setsockopt (self->fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &index, sizeof index) != 0)
            {
              g_propagate_error (error, post_udp_errno_error (errno, "Could not set the multicast interface"));
              return FALSE;
            }
        }
    }
  return TRUE;
}

/* Joins the group @local names, from any source or from each source of
 * udp.multicast-source (MCAST_JOIN_SOURCE_GROUP, RFC 3678). */
static gboolean
join_group (PostUdpPsi      *self,
            GSocketAddress  *local,
            GError         **error)
{
  GInetAddress *group = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (local));
  GVariant *sources = get_option (self, POST_UDP_OPTION_MULTICAST_SOURCE);
  g_autofree const char **source_list = NULL;
  g_autofree char *group_text = g_inet_address_to_string (group);
  int level = self->family == G_SOCKET_FAMILY_IPV4 ? IPPROTO_IP : IPPROTO_IPV6;
  struct group_source_req req;
  guint ifindex = get_multicast_interface (self, error);

  if (ifindex == G_MAXUINT)
    return FALSE;
  if (ifindex == 0 && self->family == G_SOCKET_FAMILY_IPV6)
    ifindex = g_inet_socket_address_get_scope_id (G_INET_SOCKET_ADDRESS (local));

  memset (&req, 0, sizeof req);
  req.gsr_interface = ifindex;
  if (!g_socket_address_to_native (local, &req.gsr_group, sizeof req.gsr_group, error))
    return FALSE;

  if (sources != NULL)
    {
      if (g_variant_is_of_type (sources, G_VARIANT_TYPE_STRING))
        {
          source_list = g_new0 (const char *, 2);
          source_list[0] = g_variant_get_string (sources, NULL);
        }
      else if (g_variant_is_of_type (sources, G_VARIANT_TYPE_STRING_ARRAY))
        source_list = g_variant_get_strv (sources, NULL);
      else
        {
          g_set_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                       "Option %s must be a string or an array of strings, not %s",
                       POST_UDP_OPTION_MULTICAST_SOURCE, g_variant_get_type_string (sources));
          return FALSE;
        }
    }

  /* Linux delivers every group joined on the host to a socket bound to the
   * port unless told not to. */
  {
    int off = 0;

    if (self->family == G_SOCKET_FAMILY_IPV4)
      (void) setsockopt (self->fd, IPPROTO_IP, IP_MULTICAST_ALL, &off, sizeof off);
#ifdef IPV6_MULTICAST_ALL
    else
      (void) setsockopt (self->fd, IPPROTO_IPV6, IPV6_MULTICAST_ALL, &off, sizeof off);
#endif
  }

  if (source_list == NULL || source_list[0] == NULL)
    {
      struct group_req any;

      memset (&any, 0, sizeof any);
      any.gr_interface = req.gsr_interface;
      memcpy (&any.gr_group, &req.gsr_group, sizeof any.gr_group);
      if (setsockopt (self->fd, level, MCAST_JOIN_GROUP, &any, sizeof any) != 0)
        {
          g_propagate_error (error, post_udp_errno_error (errno, "Could not join multicast group %s", group_text));
          return FALSE;
        }
      return TRUE;
    }

  for (guint i = 0; source_list[i] != NULL; i++)
    {
      g_autoptr(GInetAddress) source = g_inet_address_new_from_string (source_list[i]);
      g_autoptr(GSocketAddress) source_address = NULL;

      if (source == NULL || g_inet_address_get_family (source) != self->family)
        {
          g_set_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                       "Option %s: ‘%s’ is no IP%s address (the group %s is)",
                       POST_UDP_OPTION_MULTICAST_SOURCE, source_list[i],
                       self->family == G_SOCKET_FAMILY_IPV4 ? "v4" : "v6", group_text);
          return FALSE;
        }
      source_address = g_inet_socket_address_new (source, 0);
      memset (&req.gsr_source, 0, sizeof req.gsr_source);
      if (!g_socket_address_to_native (source_address, &req.gsr_source, sizeof req.gsr_source, error))
        return FALSE;
      if (setsockopt (self->fd, level, MCAST_JOIN_SOURCE_GROUP, &req, sizeof req) != 0)
        {
          g_propagate_error (error, post_udp_errno_error (errno, "Could not join multicast group %s from source %s",
                                                 group_text, source_list[i]));
          return FALSE;
        }
    }
  return TRUE;
}

/* Binds the socket of a LISTENER or UNCONNECTED instance to @local,
 * joining @local's group when it is one. */
gboolean
post_udp_open_bound (PostUdpPsi      *self,
                     GSocketAddress  *local,
                     UdpMode          mode,
                     GError         **error)
{
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketAddress) bound = NULL;
  g_autofree char *where = NULL;
  gboolean multicast;

  if (self->closed)
    {
      g_set_error_literal (error, POST_ERROR, POST_ERROR_CLOSED, "The UDP instance is closed");
      return FALSE;
    }
  if (self->mode != UDP_MODE_NONE)
    {
      g_set_error_literal (error, POST_ERROR, POST_ERROR_PENDING, "The UDP instance is already in use");
      return FALSE;
    }
  if (local == NULL || !G_IS_INET_SOCKET_ADDRESS (local))
    {
      g_set_error_literal (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                           "A UDP listener needs a local IP address and port");
      return FALSE;
    }

  where = post_udp_format_address (local);
  multicast = post_udp_is_multicast (local);
  self->family = g_socket_address_get_family (local);
  socket = post_udp_new_socket (self->family, error);
  if (socket == NULL)
    return FALSE;
  self->socket = g_object_ref (socket);
  self->fd = g_socket_get_fd (socket);

  if (!post_psi_bind_to_interface (POST_PSI (self), self->fd, TRUE, error))
    {
      g_prefix_error (error, "Could not listen on udp %s: ", where);
      goto fail;
    }
  /* Several receivers may share a group's port; a unicast port is ours. */
  if (!g_socket_bind (socket, local, multicast, error))
    {
      g_prefix_error (error, "Could not listen on udp %s: ", where);
      goto fail;
    }
  if (multicast && !join_group (self, local, error))
    goto fail;
  /* A wildcard address answers from the address each datagram came to. */
  post_udp_batch_setup (&self->batch, self->fd, 0);
  bound = g_socket_get_local_address (socket, NULL);
  if (!post_udp_batch_listen_any (&self->batch, self->fd, bound ? bound : local, error))
    {
      g_prefix_error (error, "Could not listen on udp %s: ", where);
      goto fail;
    }

  self->mode = mode;
  post_psi_set_addresses (POST_PSI (self), bound ? bound : local, NULL);
  return TRUE;

fail:
  g_socket_close (socket, NULL);
  g_clear_object (&self->socket);
  self->fd = -1;
  return FALSE;
}
