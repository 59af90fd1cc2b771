/* post-udp-pktinfo.c: the address each datagram arrived at on a UDP socket
 * bound to a wildcard address, and replies that leave from it
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A UDP socket bound to 0.0.0.0 or :: receives what arrives at every
 * address of the host; what it sends leaves from the source address the
 * routing table picks, which need not be the one the peer wrote to — and
 * a peer that wrote to another address drops the answer (a connected UDP
 * socket, a QUIC client matching its path, a DTLS client).  The listeners
 * of the udp, dtls and quic stacks therefore ask for each datagram's
 * destination address (IP_PKTINFO, IPV6_RECVPKTINFO: the kernel adds it
 * as a control message to every recvmsg()) and give it back as the source
 * of their replies (IP_PKTINFO / IPV6_PKTINFO in sendmsg()).  On an IPv6
 * socket, IPv4 datagrams carry their address v4-mapped, and a v4-mapped
 * IPV6_PKTINFO sets the source of an IPv4 reply.
 */

#define _GNU_SOURCE   /* struct in6_pktinfo */
#include "post-udp-pktinfo.h"

#include <errno.h>
#include <string.h>

G_STATIC_ASSERT (sizeof (struct in6_pktinfo) == 20);
G_STATIC_ASSERT (sizeof (struct in_pktinfo) <= 20);

/* Whether @local (the address a socket is bound to) is 0.0.0.0 or ::,
 * where replies need the arrival address. */
gboolean
post_udp_pktinfo_is_wildcard (GSocketAddress *local)
{
  return local != NULL && G_IS_INET_SOCKET_ADDRESS (local)
         && g_inet_address_get_is_any (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (local)));
}

/* Asks the kernel for the destination address of every datagram @fd (of
 * @family) receives. */
gboolean
post_udp_pktinfo_enable (int             fd,
                         GSocketFamily   family,
                         GError        **error)
{
  int on = 1;
  int rv;

  if (family == G_SOCKET_FAMILY_IPV6)
    rv = setsockopt (fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof on);
  else
    rv = setsockopt (fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof on);
  if (rv != 0)
    {
      int errsv = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv),
                   "Cannot learn the arrival address of datagrams (%s): %s",
                   family == G_SOCKET_FAMILY_IPV6 ? "IPV6_RECVPKTINFO" : "IP_PKTINFO",
                   g_strerror (errsv));
      return FALSE;
    }
  return TRUE;
}

/* Reads the arrival address from the control messages of @msg (received
 * on a socket post_udp_pktinfo_enable() set up) into @local, with @port
 * (network byte order: the socket's).  For IPv4 it is the address the
 * kernel would answer from (ipi_spec_dst: the datagram's destination, or
 * the interface's address for a broadcast or a group); an IPv6 datagram to
 * a group has none.  Returns FALSE when there is none. */
gboolean
post_udp_pktinfo_parse (struct msghdr           *msg,
                        guint16                  port,
                        struct sockaddr_storage *local,
                        socklen_t               *local_len)
{
  for (struct cmsghdr *cmsg = CMSG_FIRSTHDR (msg); cmsg != NULL; cmsg = CMSG_NXTHDR (msg, cmsg))
    {
      if (cmsg->cmsg_level == IPPROTO_IP && cmsg->cmsg_type == IP_PKTINFO
          && cmsg->cmsg_len >= CMSG_LEN (sizeof (struct in_pktinfo)))
        {
          struct in_pktinfo info;
          struct sockaddr_in *in = (struct sockaddr_in *) local;

          memcpy (&info, CMSG_DATA (cmsg), sizeof info);
          memset (local, 0, sizeof *local);
          in->sin_family = AF_INET;
          in->sin_port = port;
          in->sin_addr = info.ipi_spec_dst;
          *local_len = sizeof *in;
          return TRUE;
        }
      if (cmsg->cmsg_level == IPPROTO_IPV6 && cmsg->cmsg_type == IPV6_PKTINFO
          && cmsg->cmsg_len >= CMSG_LEN (sizeof (struct in6_pktinfo)))
        {
          struct in6_pktinfo info;
          struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) local;

          memcpy (&info, CMSG_DATA (cmsg), sizeof info);
          if (IN6_IS_ADDR_MULTICAST (&info.ipi6_addr))
            return FALSE;
          memset (local, 0, sizeof *local);
          in6->sin6_family = AF_INET6;
          in6->sin6_port = port;
          in6->sin6_addr = info.ipi6_addr;
          /* A link-local address means something only with its link. */
          if (IN6_IS_ADDR_LINKLOCAL (&info.ipi6_addr))
            in6->sin6_scope_id = info.ipi6_ifindex;
          *local_len = sizeof *in6;
          return TRUE;
        }
    }
  return FALSE;
}

/* Adds to @msg a control message that makes the datagram leave from the
 * address of @local (nullable: then nothing is added, nor for a wildcard).
 * @msg's control buffer has @room bytes, of which msg_controllen are used;
 * at least POST_UDP_PKTINFO_SPACE must be free. */
void
post_udp_pktinfo_put (struct msghdr         *msg,
                      gsize                  room,
                      const struct sockaddr *local,
                      socklen_t              local_len)
{
  struct cmsghdr *cmsg;

  if (local == NULL || room < msg->msg_controllen + POST_UDP_PKTINFO_SPACE)
    return;
  cmsg = (struct cmsghdr *) ((char *) msg->msg_control + msg->msg_controllen);
  if (local->sa_family == AF_INET && local_len >= sizeof (struct sockaddr_in))
    {
      const struct sockaddr_in *in = (const struct sockaddr_in *) local;
      struct in_pktinfo info = { 0 };

      if (in->sin_addr.s_addr == htonl (INADDR_ANY))
        return;
      info.ipi_spec_dst = in->sin_addr;
      memset (cmsg, 0, CMSG_SPACE (sizeof info));
      cmsg->cmsg_level = IPPROTO_IP;
      cmsg->cmsg_type = IP_PKTINFO;
      cmsg->cmsg_len = CMSG_LEN (sizeof info);
      memcpy (CMSG_DATA (cmsg), &info, sizeof info);
      msg->msg_controllen += CMSG_SPACE (sizeof info);
    }
  else if (local->sa_family == AF_INET6 && local_len >= sizeof (struct sockaddr_in6))
    {
      const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) local;
      struct in6_pktinfo info = { 0 };

      if (IN6_IS_ADDR_UNSPECIFIED (&in6->sin6_addr))
        return;
      info.ipi6_addr = in6->sin6_addr;
      info.ipi6_ifindex = IN6_IS_ADDR_LINKLOCAL (&in6->sin6_addr) ? in6->sin6_scope_id : 0;
      memset (cmsg, 0, CMSG_SPACE (sizeof info));
      cmsg->cmsg_level = IPPROTO_IPV6;
      cmsg->cmsg_type = IPV6_PKTINFO;
      cmsg->cmsg_len = CMSG_LEN (sizeof info);
      memcpy (CMSG_DATA (cmsg), &info, sizeof info);
      msg->msg_controllen += CMSG_SPACE (sizeof info);
    }
}

/* sendto() from the address of @local (nullable: the routing table picks
 * the source, as for a wildcard @local); @to may be NULL on a connected
 * socket.  Returns the bytes sent, or -1 with errno. */
gssize
post_udp_pktinfo_sendto (int                    fd,
                         const void            *data,
                         gsize                  len,
                         int                    flags,
                         const struct sockaddr *to,
                         socklen_t              to_len,
                         const struct sockaddr *local,
                         socklen_t              local_len)
{
  union {
    char buf[POST_UDP_PKTINFO_SPACE];
    struct cmsghdr align;
  } control;
  struct iovec iov = { (void *) data, len };
  struct msghdr msg = { 0 };

  msg.msg_name = (void *) to;
  msg.msg_namelen = to != NULL ? to_len : 0;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.buf;
  post_udp_pktinfo_put (&msg, sizeof control.buf, local, local_len);
  if (msg.msg_controllen == 0)
    msg.msg_control = NULL;
  return sendmsg (fd, &msg, flags);
}

/* recvfrom() that also gives, when @pktinfo (the socket was set up with
 * post_udp_pktinfo_enable()), the address the datagram arrived at, with
 * @port (network byte order); *@local_len is 0 when unknown.  @from and
 * @from_len may be NULL (a connected socket).  Returns what recvmsg()
 * returns, with errno. */
gssize
post_udp_pktinfo_recvfrom (int                      fd,
                           void                    *buffer,
                           gsize                    size,
                           int                      flags,
                           gboolean                 pktinfo,
                           guint16                  port,
                           struct sockaddr_storage *from,
                           socklen_t               *from_len,
                           struct sockaddr_storage *local,
                           socklen_t               *local_len)
{
  union {
    char buf[POST_UDP_PKTINFO_SPACE];
    struct cmsghdr align;
  } control;
  struct iovec iov = { buffer, size };
  struct msghdr msg = { 0 };
  gssize n;

  msg.msg_name = from;
  msg.msg_namelen = from != NULL ? sizeof *from : 0;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = pktinfo ? control.buf : NULL;
  msg.msg_controllen = pktinfo ? sizeof control.buf : 0;
  *local_len = 0;
  n = recvmsg (fd, &msg, flags);
  if (n < 0)
    return n;
  if (from_len != NULL)
    *from_len = msg.msg_namelen;
  if (pktinfo && !post_udp_pktinfo_parse (&msg, port, local, local_len))
    *local_len = 0;
  return n;
}
