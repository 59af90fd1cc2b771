/* post-udp-batch.c: batched UDP I/O for the udp, dtls and quic stacks
 * (sendmmsg, recvmmsg, GSO and GRO)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Small datagrams cost a system call each, and at high rates the system
 * calls (and the kernel's path behind each) are about all the cost.  Linux
 * offers four ways to need fewer, all used here and all probed per socket,
 * with a fallback to one datagram per call where the kernel or the device
 * refuses them (reported at debug level only):
 *
 * - UDP generic segmentation offload (UDP_SEGMENT): a run of equal-sized
 *   datagrams (the last one maybe shorter) to one destination from one
 *   source in a single sendmsg(), segmented by the kernel or the device
 *   (a GSO send failing with EIO or EINVAL turns it off for that socket
 *   and resends the run datagram by datagram);
 * - sendmmsg(): datagrams of any sizes and destinations, each with its
 *   own source address (IP_PKTINFO), in one call;
 * - generic receive offload (UDP_GRO): the kernel hands back several
 *   datagrams of one flow in a single receive, with their size;
 * - recvmmsg(): several datagrams, each with its source and arrival
 *   address, in one call (post_udp_batch_receive()).
 *
 * QUIC sends one UDP datagram per packet (post_udp_batch_send(): a GSO run
 * from one buffer) and reads them one receive at a time
 * (post_udp_batch_recv()); the udp stack (and dtls over it) sends the
 * messages the core hands it at once with post_udp_batch_send_many() and
 * reads with a receive queue.
 *
 * A listener bound to a wildcard address learns where each datagram
 * arrived (IP_PKTINFO / IPV6_RECVPKTINFO, plugins/common/post-udp-pktinfo.c)
 * and its connections send from that address, so that a client that wrote
 * to any of the host's addresses hears from the one it wrote to.
 */

#define _GNU_SOURCE   /* sendmmsg(), recvmmsg() */
#include "post-udp-batch.h"
#include "post-udp-pktinfo.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <string.h>

#ifndef SOL_UDP
#define SOL_UDP 17
#endif

/* A receive slot holds the largest UDP datagram, or a GRO run. */
#define SLOT_SIZE      65536
#define CONTROL_SPACE  (CMSG_SPACE (sizeof (int)) + POST_UDP_PKTINFO_SPACE)
/* The most a GSO run carries: the largest IPv4 UDP payload. */
#define GSO_RUN_MAX    65507

/* Probes GSO and turns GRO on for @fd; @buffer_size (> 0) sets both socket
 * buffers (room for a few GSO runs in flight on a fast path; the kernel
 * caps them at net.core.{r,w}mem_max). */
void
post_udp_batch_setup (PostUdpBatch *udp,
                      int           fd,
                      int           buffer_size)
{
  int on = 1, segment = 0;
  socklen_t len = sizeof segment;

  memset (udp, 0, sizeof *udp);
  if (buffer_size > 0)
    {
      (void) setsockopt (fd, SOL_SOCKET, SO_RCVBUF, &buffer_size, sizeof buffer_size);
      (void) setsockopt (fd, SOL_SOCKET, SO_SNDBUF, &buffer_size, sizeof buffer_size);
    }
#ifdef UDP_SEGMENT
  udp->gso = getsockopt (fd, SOL_UDP, UDP_SEGMENT, &segment, &len) == 0;
#endif
#ifdef UDP_GRO
  udp->gro = setsockopt (fd, SOL_UDP, UDP_GRO, &on, sizeof on) == 0;
#endif
}

/* A listener on 0.0.0.0 or :: (@bound): its receives tell the arrival
 * address (post_udp_batch_recv()'s @local), which its sends then take as
 * their source. */
gboolean
post_udp_batch_listen_any (PostUdpBatch   *udp,
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
 * post_udp_batch_send:
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
#ifdef UDP_SEGMENT
/* One sendmsg() of @iov (@iovlen pieces, @len bytes in all) as datagrams
 * of @segment bytes, the last one maybe shorter (UDP_SEGMENT).  Returns
 * TRUE when it went; otherwise FALSE with errno, and GSO turned off for the
 * socket when that is why (*@refused: send datagram by datagram). */
static gboolean
gso_sendmsg (PostUdpBatch          *udp,
             int                    fd,
             struct iovec          *iov,
             gsize                  iovlen,
             const struct sockaddr *destination,
             socklen_t              destination_len,
             const struct sockaddr *source,
             socklen_t              source_len,
             gsize                  segment,
             gboolean              *refused)
{
  union {
    char buf[CMSG_SPACE (sizeof (guint16)) + POST_UDP_PKTINFO_SPACE];
    struct cmsghdr align;
  } control;
  struct msghdr msg = { 0 };
  struct cmsghdr *cmsg;
  guint16 size = (guint16) segment;
  ssize_t n;
  int errsv;

  *refused = FALSE;
  memset (&control, 0, sizeof control);
  msg.msg_name = (void *) destination;
  msg.msg_namelen = destination != NULL ? destination_len : 0;
  msg.msg_iov = iov;
  msg.msg_iovlen = iovlen;
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
  errsv = errno;
  if (errsv == EIO || errsv == EINVAL || errsv == ENOPROTOOPT || errsv == EOPNOTSUPP)
    {
      /* The route's device cannot segment: datagram by datagram from now on. */
      g_debug ("UDP GSO refused (%s), sending datagram by datagram", g_strerror (errsv));
      udp->gso = FALSE;
      *refused = TRUE;
    }
  errno = errsv;
  return FALSE;
}
#endif

gboolean
post_udp_batch_send (PostUdpBatch          *udp,
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
      struct iovec iov = { (void *) data, len };
      gboolean refused;

      if (gso_sendmsg (udp, fd, &iov, 1, destination, destination_len, source, source_len,
                       segment, &refused))
        return TRUE;
      if (!refused)
        {
          *error_out = errno;
          return FALSE;
        }
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

static gboolean
same_address (const struct sockaddr *a,
              socklen_t              a_len,
              const struct sockaddr *b,
              socklen_t              b_len)
{
  if (a == NULL || b == NULL)
    return a == b;
  return a_len == b_len && (a == b || memcmp (a, b, a_len) == 0);
}

/* How many of @d, from the first, are a GSO run: more than one datagram,
 * to one destination from one source, all of the first one's size (at
 * most @max_segment) but the last, which may be shorter. */
static guint
gso_run (PostUdpBatch          *udp,
         const PostUdpDatagram *d,
         guint                  n,
         gsize                  max_segment)
{
  gsize segment = d[0].len, total = d[0].len;
  guint run = 1;

  if (!udp->gso || n < 2 || segment == 0 || segment > max_segment)
    return 0;
  while (run < n && run < POST_UDP_BATCH_SEGMENTS_MAX
         && d[run].len > 0 && d[run].len <= segment && total + d[run].len <= GSO_RUN_MAX
         && same_address (d[run].to, d[run].to_len, d[0].to, d[0].to_len)
         && same_address (d[run].from, d[run].from_len, d[0].from, d[0].from_len))
    {
      total += d[run].len;
      if (d[run++].len < segment)
        break;
    }
  return run > 1 ? run : 0;
}

/* sendmmsg() of up to POST_UDP_BATCH_MMSG_MAX of @d (one sendmsg() where
 * it is missing).  Returns how many went (at least 1), or -1 with errno. */
static int
send_mmsg (PostUdpBatch          *udp,
           int                    fd,
           const PostUdpDatagram *d,
           guint                  n)
{
  struct mmsghdr msgs[POST_UDP_BATCH_MMSG_MAX];
  struct iovec iov[POST_UDP_BATCH_MMSG_MAX];
  union {
    char buf[POST_UDP_PKTINFO_SPACE];
    struct cmsghdr align;
  } control[POST_UDP_BATCH_MMSG_MAX];
  int sent;

  n = MIN (n, POST_UDP_BATCH_MMSG_MAX);
  if (n == 1 || udp->no_mmsg)
    return send_one (fd, d[0].to, d[0].to_len, d[0].from, d[0].from_len, d[0].data, d[0].len) < 0 ? -1 : 1;
  memset (msgs, 0, n * sizeof msgs[0]);
  for (guint i = 0; i < n; i++)
    {
      struct msghdr *msg = &msgs[i].msg_hdr;

      iov[i].iov_base = (void *) d[i].data;
      iov[i].iov_len = d[i].len;
      msg->msg_name = (void *) d[i].to;
      msg->msg_namelen = d[i].to != NULL ? d[i].to_len : 0;
      msg->msg_iov = &iov[i];
      msg->msg_iovlen = 1;
      msg->msg_control = control[i].buf;
      post_udp_pktinfo_put (msg, sizeof control[i].buf, d[i].from, d[i].from_len);
      if (msg->msg_controllen == 0)
        msg->msg_control = NULL;
    }
  do
    sent = sendmmsg (fd, msgs, n, MSG_DONTWAIT | MSG_NOSIGNAL);
  while (sent < 0 && errno == EINTR);
  if (sent < 0 && errno == ENOSYS)
    {
      g_debug ("sendmmsg() is missing: sending datagram by datagram");
      udp->no_mmsg = TRUE;
      return send_mmsg (udp, fd, d, 1);
    }
  return sent;
}

/*
 * post_udp_batch_send_many:
 * @datagrams: (array length=n_datagrams): what to send, in order
 * @max_segment: the largest datagram that may go in a GSO run (one the
 *   path carries unfragmented); 0: no GSO
 * @error_out: the errno of the first datagram not sent
 *
 * Sends without blocking, in as few system calls as the socket allows: GSO
 * runs where @datagrams are equal-sized to one destination, sendmmsg()
 * otherwise.  Returns how many of @datagrams, from the first, went out;
 * fewer than @n_datagrams with @error_out set (EAGAIN: the socket buffer is
 * full).
 */
guint
post_udp_batch_send_many (PostUdpBatch          *udp,
                          int                    fd,
                          const PostUdpDatagram *datagrams,
                          guint                  n_datagrams,
                          gsize                  max_segment,
                          int                   *error_out)
{
  guint done = 0;

  *error_out = 0;
  while (done < n_datagrams)
    {
      const PostUdpDatagram *d = datagrams + done;
      guint left = n_datagrams - done;
      int sent;

#ifdef UDP_SEGMENT
      guint run = gso_run (udp, d, left, max_segment);

      if (run > 1)
        {
          struct iovec iov[POST_UDP_BATCH_SEGMENTS_MAX];
          gboolean refused;

          for (guint i = 0; i < run; i++)
            iov[i] = (struct iovec) { (void *) d[i].data, d[i].len };
          if (gso_sendmsg (udp, fd, iov, run, d[0].to, d[0].to_len, d[0].from, d[0].from_len,
                           d[0].len, &refused))
            {
              done += run;
              continue;
            }
          if (!refused)
            {
              *error_out = errno;
              return done;
            }
        }
#else
      (void) max_segment;
#endif
      sent = send_mmsg (udp, fd, d, left);
      if (sent < 0)
        {
          *error_out = errno;
          return done;
        }
      /* Fewer than asked: the next call tells why the next one did not go. */
      done += (guint) sent;
    }
  return n_datagrams;
}

/* What the control messages of a received @msg (@n bytes) tell: the
 * arrival address (on a pktinfo socket; *@local_len 0 when unknown) and
 * the size of each datagram of a GRO run (@n when it is one datagram). */
static gsize
parse_control (PostUdpBatch            *udp,
               struct msghdr           *msg,
               gsize                    n,
               struct sockaddr_storage *local,
               socklen_t               *local_len)
{
  gsize segment = n;

  *local_len = 0;
  if (udp->pktinfo && !post_udp_pktinfo_parse (msg, udp->port, local, local_len))
    *local_len = 0;
#ifdef UDP_GRO
  if (udp->gro)
    for (struct cmsghdr *cmsg = CMSG_FIRSTHDR (msg); cmsg != NULL; cmsg = CMSG_NXTHDR (msg, cmsg))
      if (cmsg->cmsg_level == SOL_UDP && cmsg->cmsg_type == UDP_GRO)
        {
          int gso_size;

          memcpy (&gso_size, CMSG_DATA (cmsg), sizeof gso_size);
          if (gso_size > 0 && (gsize) gso_size < n)
            segment = gso_size;
        }
#endif
  return segment;
}

/*
 * post_udp_batch_recv:
 * @local: (out): where the datagrams arrived, on a wildcard listener
 *   (post_udp_batch_listen_any())
 * @local_len: (out): its length; 0 when unknown (the socket's address)
 * @segment: (out): the size of each datagram in @buffer (the last one maybe
 *   shorter), the whole length when it holds one
 *
 * Receives without blocking.  Returns the bytes received, or -1 with errno.
 */
gssize
post_udp_batch_recv (PostUdpBatch            *udp,
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
    char buf[CONTROL_SPACE];
    struct cmsghdr align;
  } control;
  struct iovec iov = { buffer, size };
  struct msghdr msg = { 0 };
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
  *segment = parse_control (udp, &msg, n, local, local_len);
  return n;
}

/* ---- the receive queue --------------------------------------------------- */

struct _PostUdpReceiveQueue
{
  guint8                  *arena;     /* slots × SLOT_SIZE */
  guint                    slots;     /* allocated */
  gboolean                 grow;      /* the last receive filled them all */
  guint                    filled;    /* by the last receive */
  guint                    next;      /* the slot handed out next */
  gsize                    offset;    /* in it: the next datagram of a GRO run */
  struct mmsghdr           msgs[POST_UDP_BATCH_MMSG_MAX];
  struct iovec             iov[POST_UDP_BATCH_MMSG_MAX];
  struct sockaddr_storage  from[POST_UDP_BATCH_MMSG_MAX];
  union {
    char            buf[CONTROL_SPACE];
    struct cmsghdr  align;
  }                        control[POST_UDP_BATCH_MMSG_MAX];
  gsize                    segment[POST_UDP_BATCH_MMSG_MAX];
  struct sockaddr_storage  local[POST_UDP_BATCH_MMSG_MAX];
  socklen_t                local_len[POST_UDP_BATCH_MMSG_MAX];
};

PostUdpReceiveQueue *
post_udp_receive_queue_new (void)
{
  return g_new0 (PostUdpReceiveQueue, 1);
}

void
post_udp_receive_queue_free (PostUdpReceiveQueue *queue)
{
  if (queue == NULL)
    return;
  g_free (queue->arena);
  g_free (queue);
}

/* Whether datagrams are waiting in @queue (received, not handed out). */
gboolean
post_udp_receive_queue_pending (PostUdpReceiveQueue *queue)
{
  return queue != NULL && queue->next < queue->filled;
}

/* Fills @queue with what the socket holds, in one recvmmsg().  Returns
 * FALSE with errno when nothing came. */
static gboolean
fill (PostUdpBatch        *udp,
      PostUdpReceiveQueue *queue,
      int                  fd,
      gboolean             connected)
{
  gboolean control = udp->gro || udp->pktinfo;
  int n;

  /* One slot to start with (a carrier that receives little holds 64 KiB);
   * all of them once a receive filled what there was. */
  if (queue->arena == NULL || queue->grow)
    {
      queue->slots = queue->arena == NULL ? 1 : POST_UDP_BATCH_MMSG_MAX;
      g_free (queue->arena);
      queue->arena = g_malloc ((gsize) queue->slots * SLOT_SIZE);
      queue->grow = FALSE;
    }
  queue->filled = queue->next = 0;
  queue->offset = 0;
  for (guint i = 0; i < queue->slots; i++)
    {
      struct msghdr *msg = &queue->msgs[i].msg_hdr;

      queue->iov[i].iov_base = queue->arena + (gsize) i * SLOT_SIZE;
      queue->iov[i].iov_len = SLOT_SIZE;
      msg->msg_name = connected ? NULL : &queue->from[i];
      msg->msg_namelen = connected ? 0 : sizeof queue->from[i];
      msg->msg_iov = &queue->iov[i];
      msg->msg_iovlen = 1;
      msg->msg_control = control ? queue->control[i].buf : NULL;
      msg->msg_controllen = control ? sizeof queue->control[i].buf : 0;
      msg->msg_flags = 0;
      queue->msgs[i].msg_len = 0;
    }
  do
    {
      if (queue->slots == 1 || udp->no_mmsg)
        {
          ssize_t r = recvmsg (fd, &queue->msgs[0].msg_hdr, MSG_DONTWAIT);

          if (r >= 0)
            queue->msgs[0].msg_len = (unsigned int) r;
          n = r < 0 ? -1 : 1;
        }
      else
        {
          n = recvmmsg (fd, queue->msgs, queue->slots, MSG_DONTWAIT, NULL);
          if (n < 0 && errno == ENOSYS)
            {
              g_debug ("recvmmsg() is missing: receiving datagram by datagram");
              udp->no_mmsg = TRUE;
              queue->slots = 1;
              errno = EINTR;   /* try again, one at a time */
            }
        }
    }
  while (n < 0 && errno == EINTR);
  if (n <= 0)
    {
      if (n == 0)
        errno = EAGAIN;
      return FALSE;
    }
  queue->filled = (guint) n;
  queue->grow = queue->filled == queue->slots && queue->slots < POST_UDP_BATCH_MMSG_MAX
                && !udp->no_mmsg;
  for (guint i = 0; i < queue->filled; i++)
    queue->segment[i] = parse_control (udp, &queue->msgs[i].msg_hdr, queue->msgs[i].msg_len,
                                       &queue->local[i], &queue->local_len[i]);
  return TRUE;
}

/*
 * post_udp_batch_receive:
 * @queue: what earlier receives brought and were not handed out
 * @connected: the socket is connected: no source addresses
 * @out: (out): the next datagram; its bytes and addresses stay valid
 *   until the next call
 *
 * The next datagram, from @queue or, when it is empty, from the socket (as
 * many as there are, up to POST_UDP_BATCH_MMSG_MAX, in one recvmmsg();
 * a GRO run is handed out datagram by datagram).  Never blocks.  Returns
 * FALSE with errno (EAGAIN: none) when there is none.
 */
gboolean
post_udp_batch_receive (PostUdpBatch        *udp,
                        PostUdpReceiveQueue *queue,
                        int                  fd,
                        gboolean             connected,
                        PostUdpReceived     *out)
{
  for (;;)
    {
      struct mmsghdr *m;
      guint i;
      gsize len, segment;

      if (queue->next >= queue->filled && !fill (udp, queue, fd, connected))
        return FALSE;
      i = queue->next;
      m = &queue->msgs[i];
      len = m->msg_len;
      segment = MIN (queue->segment[i], len - queue->offset);
      if (m->msg_hdr.msg_flags & MSG_TRUNC)
        {
          /* Cannot be (a slot holds any datagram): dropped. */
          queue->next++;
          queue->offset = 0;
          continue;
        }
      out->data = queue->arena + (gsize) i * SLOT_SIZE + queue->offset;
      out->len = segment;
      out->from = connected ? NULL : &queue->from[i];
      out->from_len = connected ? 0 : m->msg_hdr.msg_namelen;
      out->local_len = queue->local_len[i];
      if (out->local_len > 0)
        memcpy (&out->local, &queue->local[i], out->local_len);
      queue->offset += segment;
      if (segment == 0 || queue->offset >= len)
        {
          queue->next++;
          queue->offset = 0;
        }
      return TRUE;
    }
}
