/* post-dtls-transport.c: the dtls stack's transport, GnuTLS's push and pull
 * functions over the inner udp instance
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * One GnuTLS datagram is one udp message: GnuTLS sends each with
 * post_psi_send_message() on the inner instance and reads each with
 * post_psi_receive_message(), never blocking (the session is
 * GNUTLS_NONBLOCK).  While the instance sends a batch of messages
 * (post_dtls_transport_begin_batch()), the push function only collects
 * the datagrams, and post_dtls_transport_flush() hands them to the inner
 * instance at once (post_psi_send_messages(): sendmmsg() or GSO there).
 * See post-dtls-psi.c for the stack as a whole.
 */

#include "post-dtls-psi-private.h"

#include <errno.h>
#include <string.h>

static gboolean
is_soft_send_error (const GError *error)
{
  /* ICMP about earlier datagrams: for datagrams this is loss, which DTLS
   * retransmission (handshake) or the application (data) deals with. */
  return g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED)
         || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_HOST_UNREACHABLE)
         || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NETWORK_UNREACHABLE);
}

/* What a failed send of a datagram (@error) is for GnuTLS: -1 with errno
 * EAGAIN (a full queue), EMSGSIZE (over the path MTU: *@too_large) or
 * EIO (the error is kept in *@transport_error); a datagram lost to ICMP
 * counts as sent (0). */
static int
send_failed (GError   **error,
             GError   **transport_error,
             gboolean  *too_large,
             int       *errno_out)
{
  if (g_error_matches (*error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
    {
      *errno_out = EAGAIN;
      return -1;
    }
  if (is_soft_send_error (*error))
    {
      g_debug ("dtls: a datagram was lost: %s", (*error)->message);
      return 0;
    }
  if (g_error_matches (*error, POST_ERROR, POST_ERROR_MESSAGE_TOO_LARGE))
    {
      if (too_large != NULL)
        *too_large = TRUE;
      *errno_out = EMSGSIZE;
      return -1;
    }
  if (transport_error != NULL && *transport_error == NULL)
    *transport_error = g_steal_pointer (error);
  *errno_out = EIO;
  return -1;
}

static ssize_t
send_datagram (PostPsi          *udp,
               gnutls_session_t  session,
               GError          **transport_error,
               gboolean         *too_large,
               const void       *data,
               size_t            size)
{
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  int errsv;

  if (udp == NULL)
    {
      gnutls_transport_set_errno (session, EIO);
      return -1;
    }
  bytes = g_bytes_new (data, size);
  if (post_psi_send_message (udp, bytes, NULL, NULL, &error)
      || send_failed (&error, transport_error, too_large, &errsv) == 0)
    return size;
  gnutls_transport_set_errno (session, errsv);
  return -1;
}

ssize_t
post_dtls_transport_push (gnutls_transport_ptr_t  ptr,
                          const void             *data,
                          size_t                  size)
{
  PostDtlsPsi *self = ptr;

  if (self->out_batch != NULL)
    {
      g_ptr_array_add (self->out_batch, g_bytes_new (data, size));
      return size;
    }
  return send_datagram (self->udp, self->session, &self->transport_error, &self->too_large, data, size);
}

/* From now until post_dtls_transport_flush(), what GnuTLS sends is
 * collected, not sent. */
void
post_dtls_transport_begin_batch (PostDtlsPsi *self)
{
  g_assert (self->out_batch == NULL);
  self->out_batch = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
}

/* Sends what was collected since post_dtls_transport_begin_batch() in as
 * few system calls as the inner instance can, and stops collecting.
 * Returns how many datagrams, from the first, went (a datagram lost to
 * ICMP counts as gone); when fewer than all, @error tells why the next did
 * not: G_IO_ERROR_WOULD_BLOCK, POST_ERROR_MESSAGE_TOO_LARGE (too_large is
 * set), or the transport's failure (kept in transport_error, and a copy
 * in @error). */
guint
post_dtls_transport_flush (PostDtlsPsi  *self,
                           GError      **error)
{
  g_autoptr(GPtrArray) batch = g_steal_pointer (&self->out_batch);
  g_autofree PostPsiOutMessage *out = NULL;
  guint done = 0;

  if (batch == NULL || batch->len == 0)
    return 0;
  if (self->udp == NULL)
    {
      g_set_error_literal (error, POST_ERROR, POST_ERROR_CLOSED, "The DTLS transport is closed");
      return 0;
    }
  out = g_new0 (PostPsiOutMessage, batch->len);
  for (guint i = 0; i < batch->len; i++)
    out[i].content = batch->pdata[i];
  while (done < batch->len)
    {
      g_autoptr(GError) local_error = NULL;
      int errsv;

      done += post_psi_send_messages (self->udp, out + done, batch->len - done, &local_error);
      if (done == batch->len)
        break;
      if (send_failed (&local_error, &self->transport_error, &self->too_large, &errsv) == 0)
        {
          done++;   /* lost: as if sent */
          continue;
        }
      if (local_error != NULL)
        g_propagate_error (error, g_steal_pointer (&local_error));
      else
        g_propagate_error (error, g_error_copy (self->transport_error));
      break;
    }
  return done;
}

/* Takes the next datagram from the inner instance into pending_in.
 * TRUE when there is one; FALSE when none (or an error, kept in
 * transport_error). */
static gboolean
fetch_datagram (PostDtlsPsi *self)
{
  while (self->pending_in == NULL)
    {
      g_autoptr(GError) error = NULL;
      GBytes *datagram;

      if (self->udp == NULL || self->transport_error != NULL)
        return FALSE;
      datagram = post_psi_receive_message (self->udp, NULL, &error);
      if (datagram == NULL)
        {
          if (error != NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
            self->transport_error = g_steal_pointer (&error);
          return FALSE;
        }
      if (g_bytes_get_size (datagram) == 0)
        {
          g_debug ("dtls: dropping an empty datagram");
          g_bytes_unref (datagram);
          continue;
        }
      self->pending_in = datagram;
      self->last_rx = g_get_monotonic_time ();
    }
  return TRUE;
}

/* Whether the datagram @data holds a well-formed DTLS record of an epoch
 * after the first: one protected by the keys of this handshake (the
 * records before are in the clear).  Records are type (1 byte), version
 * (2), epoch (2), sequence number (6) and length (2), then the body. */
static gboolean
has_encrypted_record (const guint8 *data,
                      gsize         length)
{
  gsize pos = 0;

  while (length - pos >= 13)
    {
      guint epoch = (data[pos + 3] << 8) | data[pos + 4];
      gsize body = (data[pos + 11] << 8) | data[pos + 12];

      if (data[pos] < 20 || data[pos] > 25 || data[pos + 1] != 254 || body > length - pos - 13)
        return FALSE;
      if (epoch > 0)
        return TRUE;
      pos += 13 + body;
    }
  return FALSE;
}

/* Whether the transport failed (EIO for GnuTLS, which then gives the
 * session up).  On an established session a timeout (the listener expired
 * the peer, or our keep-alive gave up) leaves the socket usable, so GnuTLS
 * only hears EAGAIN and the session can still send its fatal alert on
 * close; receive_message() reports the timeout. */
gboolean
post_dtls_transport_broken (PostDtlsPsi *self)
{
  return self->transport_error != NULL
         && (self->state != STATE_ESTABLISHED
             || !g_error_matches (self->transport_error, POST_ERROR, POST_ERROR_TIMED_OUT));
}

ssize_t
post_dtls_transport_pull (gnutls_transport_ptr_t  ptr,
                          void                   *data,
                          size_t                  size)
{
  PostDtlsPsi *self = ptr;
  g_autoptr(GBytes) datagram = NULL;
  gsize length;
  const void *bytes;

  if (!fetch_datagram (self))
    {
      gnutls_transport_set_errno (self->session, post_dtls_transport_broken (self) ? EIO : EAGAIN);
      return -1;
    }
  datagram = g_steal_pointer (&self->pending_in);
  bytes = g_bytes_get_data (datagram, &length);
  /* GnuTLS reads whole datagrams; a longer one is cut (and then fails to
   * authenticate, so it is dropped like any bad record). */
  length = MIN (length, size);
  memcpy (data, bytes, length);
  if (self->state == STATE_HANDSHAKING && has_encrypted_record (bytes, length))
    self->encrypted_in++;
  return length;
}

/* Never waits: whether a datagram is there now. */
int
post_dtls_transport_pull_timeout (gnutls_transport_ptr_t ptr,
                                  unsigned int           ms)
{
  PostDtlsPsi *self = ptr;

  if (fetch_datagram (self))
    return 1;
  if (post_dtls_transport_broken (self))
    {
      gnutls_transport_set_errno (self->session, EIO);
      return -1;
    }
  return 0;
}
