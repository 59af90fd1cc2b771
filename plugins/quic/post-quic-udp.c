/* post-quic-udp.c: batched UDP I/O for the quic stack (GSO and GRO)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * QUIC sends and receives one UDP datagram per packet; at bulk rates the
 * system calls dominate.  Linux's UDP generic segmentation offload
 * (UDP_SEGMENT) sends a run of equal-sized packets to one destination in a
 * single sendmsg(), and generic receive offload (UDP_GRO) hands back
 * several datagrams of one flow in a single recvmsg().  Both are probed per
 * socket and fall back to one datagram per call where the kernel or the
 * device refuses them (a GSO send failing with EIO turns it off for that
 * socket and resends the run datagram by datagram).
 *
 * A listener bound to a wildcard address learns where each datagram
 * arrived (IP_PKTINFO / IPV6_RECVPKTINFO, plugins/common/post-udp-pktinfo.c)
 * and its connections send from that address, so that a client that wrote
 * to any of the host's addresses hears from the one it wrote to.
 */

#include "post-quic-udp.h"
#include "post-udp-pktinfo.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <string.h>

#ifndef SOL_UDP
#define SOL_UDP 17
#endif

/* Socket buffers: room for a few GSO runs in flight on a fast path; the
 * kernel caps them at net.core.{r,w}mem_max. */
#define SOCKET_BUFFER (4 * 1024 * 1024)

void
post_quic_udp_setup (PostQuicUdp *udp,
                     int          fd)
{
  int size = SOCKET_BUFFER, on = 1, segment = 0;
  socklen_t len = sizeof segment;

  memset (udp, 0, sizeof *udp);
  (void) setsockopt (fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  (void) setsockopt (fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
#ifdef UDP_SEGMENT
  udp->gso = getsockopt (fd, SOL_UDP, UDP_SEGMENT, &segment, &len) == 0;
#endif
#ifdef UDP_GRO
  udp->gro = setsockopt (fd, SOL_UDP, UDP_GRO, &on, sizeof on) == 0;
#endif
}

/* A listener on 0.0.0.0 or :: (@bound): its receives tell the arrival
 * address (post_quic_udp_recv()'s @local), which its sends then take as
 * their source. */
gboolean
post_quic_udp_listen_any (PostQuicUdp    *udp,
                          int             fd,
                          GSocketAddress *bound,
                          GError        **error)
{
  if (!post_udp_pktinfo_is_wildcard (bound))
    return TRUE;
  if (!post_udp_pktinfo_enable (fd, g_socket_address_get_family (bound), error))
    return FALSE;
  udp->pktinfo = TRUE;
  udp->port = g_htons (g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)));
  return TRUE;
}

static ssize_t
send_one (int                    fd,
          const struct sockaddr *destination,
          socklen_t              destination_len,
          const struct sockaddr *source,
          socklen_t              source_len,
          const guint8          *data,
          gsize                  len)
{
  ssize_t n;

  do
    n = post_udp_pktinfo_sendto (fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL,
                                 destination, destination_len, source, source_len);
  while (n < 0 && errno == EINTR);
  return n;
}

/*
 * post_quic_udp_send:
 * @destination: (nullable): %NULL on a connected socket
 * @source: (nullable): the local address to send from (a wildcard
 *   listener's arrival address), %NULL for the routing table's choice
 * @data: @len bytes: datagrams of @segment bytes each, the last one maybe
 *   shorter (@segment 0 or ≥ @len: a single datagram)
 * @error_out: the errno of a failure
 *
 * Sends without blocking.  Returns %FALSE with @error_out set when (some
 * of) it could not go out; QUIC's loss recovery resends what is lost.
 */
gboolean
post_quic_udp_send (PostQuicUdp           *udp,
                    int                    fd,
                    const struct sockaddr *destination,
                    socklen_t              destination_len,
                    const struct sockaddr *source,
                    socklen_t              source_len,
                    const guint8          *data,
                    gsize                  len,
                    gsize                  segment,
                    int                   *error_out)
{
  ssize_t n;

  *error_out = 0;
#ifdef UDP_SEGMENT
  if (udp->gso && segment > 0 && segment < len)
    {
      union {
        char buf[CMSG_SPACE (sizeof (guint16)) + POST_UDP_PKTINFO_SPACE];
        struct cmsghdr align;
      } control;
      struct iovec iov = { (void *) data, len };
      struct msghdr msg = { 0 };
      struct cmsghdr *cmsg;
      guint16 size = (guint16) segment;

      memset (&control, 0, sizeof control);
      msg.msg_name = (void *) destination;
      msg.msg_namelen = destination != NULL ? destination_len : 0;
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = control.buf;
      msg.msg_controllen = CMSG_SPACE (sizeof size);
      cmsg = CMSG_FIRSTHDR (&msg);
      cmsg->cmsg_level = SOL_UDP;
      cmsg->cmsg_type = UDP_SEGMENT;
      cmsg->cmsg_len = CMSG_LEN (sizeof size);
      memcpy (CMSG_DATA (cmsg), &size, sizeof size);
      post_udp_pktinfo_put (&msg, sizeof control.buf, source, source_len);
      do
        n = sendmsg (fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
      while (n < 0 && errno == EINTR);
      if (n >= 0)
        return TRUE;
      if (errno != EIO && errno != EINVAL && errno != ENOPROTOOPT && errno != EOPNOTSUPP)
        {
          *error_out = errno;
          return FALSE;
        }
      /* The route's device cannot segment: datagram by datagram from now on. */
      g_debug ("QUIC: UDP GSO refused (%s), sending datagram by datagram", g_strerror (errno));
      udp->gso = FALSE;
    }
#endif
  if (segment == 0 || segment > len)
    segment = len;
  for (gsize off = 0; off < len; off += segment)
    {
      n = send_one (fd, destination, destination_len, source, source_len,
                    data + off, MIN (segment, len - off));
      if (n < 0)
        {
          *error_out = errno;
          return FALSE;
        }
    }
  return TRUE;
}

/*
 * post_quic_udp_recv:
 * @local: (out): where the datagrams arrived, on a wildcard listener
 *   (post_quic_udp_listen_any())
 * @local_len: (out): its length; 0 when unknown (the socket's address)
 * @segment: (out): the size of each datagram in @buffer (the last one maybe
 *   shorter), the whole length when it holds one
 *
 * Receives without blocking.  Returns the bytes received, or -1 with errno.
 */
gssize
post_quic_udp_recv (PostQuicUdp             *udp,
                    int                      fd,
                    guint8                  *buffer,
                    gsize                    size,
                    struct sockaddr_storage *from,
                    socklen_t               *from_len,
                    struct sockaddr_storage *local,
                    socklen_t               *local_len,
                    gsize                   *segment)
{
  union {
    char buf[CMSG_SPACE (sizeof (int)) + POST_UDP_PKTINFO_SPACE];
    struct cmsghdr align;
  } control;
  struct iovec iov = { buffer, size };
  struct msghdr msg = { 0 };
  struct cmsghdr *cmsg;
  ssize_t n;

  msg.msg_name = from;
  msg.msg_namelen = sizeof *from;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = udp->gro || udp->pktinfo ? control.buf : NULL;
  msg.msg_controllen = udp->gro || udp->pktinfo ? sizeof control.buf : 0;
  do
    n = recvmsg (fd, &msg, MSG_DONTWAIT);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return -1;
  *from_len = msg.msg_namelen;
  *segment = n;
  *local_len = 0;
  if (udp->pktinfo && !post_udp_pktinfo_parse (&msg, udp->port, local, local_len))
    *local_len = 0;
#ifdef UDP_GRO
  for (cmsg = CMSG_FIRSTHDR (&msg); cmsg != NULL; cmsg = CMSG_NXTHDR (&msg, cmsg))
    if (cmsg->cmsg_level == SOL_UDP && cmsg->cmsg_type == UDP_GRO)
      {
        int gso_size;

        memcpy (&gso_size, CMSG_DATA (cmsg), sizeof gso_size);
        if (gso_size > 0 && gso_size < n)
          *segment = gso_size;
      }
#else
  (void) cmsg;
#endif
  return n;
}
