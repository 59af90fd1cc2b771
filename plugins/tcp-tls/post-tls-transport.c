/* post-tls-transport.c: the tls stack's transport, GnuTLS's push and pull
 * functions over the inner tcp instance, and what a failed handshake says
 * about the peer
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * GnuTLS never blocks: what it sends waits in the instance's `out` buffer
 * until post_tls_transport_flush() hands it to the inner tcp instance, and
 * what it reads comes from post_psi_read() on that instance (EAGAIN when
 * there is nothing).  The first bytes the peer sent are kept to name a peer
 * that does not speak TLS.  See post-tls-psi.c for the stack as a whole.
 */

#include "post-tls-psi-private.h"
#include "post-gnutls-common.h"

#include <errno.h>
#include <string.h>

/* ---- transport ---------------------------------------------------------- */

ssize_t
post_tls_transport_push (gnutls_transport_ptr_t  ptr,
                         const void             *data,
                         size_t                  size)
{
  PostTlsPsi *self = ptr;

  /* Never blocks: post_tls_transport_flush() hands it to TCP after the GnuTLS call. */
  g_byte_array_append (self->out, data, size);
  self->cipher_total += size;
  return size;
}

ssize_t
post_tls_transport_pull (gnutls_transport_ptr_t  ptr,
                         void                   *data,
                         size_t                  size)
{
  PostTlsPsi *self = ptr;
  g_autoptr(GError) error = NULL;
  gssize n;

  if (self->tcp == NULL)
    {
      gnutls_transport_set_errno (self->session, EIO);
      return -1;
    }
  n = post_psi_read (self->tcp, data, size, &error);
  if (n > 0 && self->state == STATE_HANDSHAKING && self->first_in_len < sizeof self->first_in)
    {
      gsize keep = MIN ((gsize) n, sizeof self->first_in - self->first_in_len);

      memcpy (self->first_in + self->first_in_len, data, keep);
      self->first_in_len += keep;
    }
  if (n >= 0)
    return n;
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
    {
      gnutls_transport_set_errno (self->session, EAGAIN);
      return -1;
    }
  if (self->transport_error == NULL)
    self->transport_error = g_steal_pointer (&error);
  gnutls_transport_set_errno (self->session, ECONNRESET);
  return -1;
}

/* Hands buffered ciphertext to TCP.  FALSE on a transport error (kept in
 * transport_error). */
gboolean
post_tls_transport_flush (PostTlsPsi *self)
{
  while (self->out->len > 0 && self->tcp != NULL && self->transport_error == NULL)
    {
      GOutputVector vector = { self->out->data, self->out->len };
      g_autoptr(GError) error = NULL;
      gssize n = post_psi_write (self->tcp, &vector, 1, &error);

      if (n < 0)
        {
          if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
            return TRUE;
          self->transport_error = g_steal_pointer (&error);
          return FALSE;
        }
      g_byte_array_remove_range (self->out, 0, n);
    }
  if (self->out->len == 0 && self->shutdown_pending && self->tcp != NULL)
    {
      g_autoptr(GError) error = NULL;

      self->shutdown_pending = FALSE;
      if (!post_psi_shutdown_send (self->tcp, &error))
        g_debug ("Ending the TCP sending direction failed: %s", error->message);
    }
  return self->transport_error == NULL;
}

/* ---- errors ----------------------------------------------------------------- */

char *
post_tls_describe_peer (PostTlsPsi *self)
{
  g_autofree char *address = post_tcp_format_address (self->remote != NULL ? self->remote
                                                      : self->tcp != NULL ? post_psi_get_remote_address (self->tcp)
                                                      : post_psi_get_remote_address (POST_PSI (self)));

  GProxyAddress *proxy = post_psi_get_proxy (POST_PSI (self));

  /* Through a proxy the address is the proxy's: the peer is its destination */
  if (proxy != NULL)
    return g_strdup_printf ("%s (through the proxy at %s)", g_proxy_address_get_destination_hostname (proxy),
                            address);
  if (self->server_name != NULL && self->sni)
    return g_strdup_printf ("%s (%s)", self->server_name, address);
  return g_steal_pointer (&address);
}

static gboolean
tls_max_below_1_3 (PostTlsPsi *self)
{
  PostTlsVersion max = POST_TLS_VERSION_1_3;

  post_configuration_get_tls_versions (post_psi_get_configuration (POST_PSI (self)), NULL, &max);
  return max < POST_TLS_VERSION_1_3;
}

/* Whether @data starts as TLS does: a record of a known content type
 * (change_cipher_spec 20 to heartbeat 24) with major version 3. */
static gboolean
looks_like_tls (const guint8 *data,
                gsize         length)
{
  return data[0] >= 20 && data[0] <= 24 && (length < 2 || data[1] == 3);
}

GError *
post_tls_handshake_error (PostTlsPsi *self,
                          int         ret)
{
  g_autofree char *peer = post_tls_describe_peer (self);

  if (self->verify_error != NULL)
    return g_error_copy (self->verify_error);
  if (self->transport_error != NULL)
    {
      GError *cause = self->transport_error;
      int tcode = POST_ERROR_CONNECTION_RESET;

      if (cause->domain == POST_ERROR)
        tcode = cause->code;
      else if (g_error_matches (cause, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED))
        tcode = POST_ERROR_CONNECTION_REFUSED;
      return g_error_new (POST_ERROR, tcode, "TLS handshake with %s failed: %s", peer, cause->message);
    }

  if (self->first_in_len > 0 && !looks_like_tls (self->first_in, self->first_in_len))
    {
      g_autoptr(GString) shown = g_string_new (NULL);

      /* GnuTLS read a record header only: what else is there now */
      while (self->tcp != NULL && self->first_in_len < sizeof self->first_in)
        {
          gssize n = post_psi_read (self->tcp, self->first_in + self->first_in_len,
                                    sizeof self->first_in - self->first_in_len, NULL);

          if (n <= 0)
            break;
          self->first_in_len += n;
        }

      /* What came back, printable (a web server's "HTTP/1.1 400 ..."). */
      for (guint i = 0; i < self->first_in_len && self->first_in[i] != '\r' && self->first_in[i] != '\n'; i++)
        {
          if (g_ascii_isprint (self->first_in[i]))
            g_string_append_c (shown, self->first_in[i]);
          else
            g_string_append_printf (shown, "\\x%02x", self->first_in[i]);
        }
      return g_error_new (POST_ERROR, POST_ERROR_TLS_HANDSHAKE,
                          "TLS handshake with %s failed: the peer does not speak TLS; it sent ‘%s’",
                          peer, shown->str);
    }
  return post_gnutls_handshake_error (self->session, ret, "TLS", peer, self->offered_psk,
                                      tls_max_below_1_3 (self));
}
