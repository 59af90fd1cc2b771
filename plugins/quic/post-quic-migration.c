/* post-quic-migration.c: connection migration (RFC 9000 section 9) for
 * the `quic` stack: a client's move to a new local address, and following
 * the path ngtcp2 validated (the peer's migration, on a listener)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The design is described at the top of post-quic-psi.c (Migration).
 */

#include "post-quic-private.h"

/* ---- connection migration (RFC 9000 section 9) ------------------------------------- */

/* Tells every stream instance of @qc its addresses (and @interface, when
 * @set_interface) and emits path-changed on each, outside ngtcp2's
 * callbacks. */
static void
conn_notify_path (QuicConn   *qc,
                  gboolean    set_interface,
                  const char *interface)
{
  g_autoptr(GPtrArray) psis = g_ptr_array_new_with_free_func (g_object_unref);
  g_autofree char *name = g_strdup (interface);
  GHashTableIter iter;
  QuicStream *s;

  g_hash_table_iter_init (&iter, qc->streams);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &s))
    {
      /* Loss is measured per path: count again from here. */
      s->tx_packets_base = s->tx_packets;
      s->lost_base = ngtcp2_conn_get_stream_loss_count (qc->conn, s->id);
      if (s->psi != NULL && s->psi->mode == MODE_STREAM)
        g_ptr_array_add (psis, g_object_ref (s->psi));
    }
  for (guint i = 0; i < psis->len; i++)
    {
      post_psi_set_addresses (psis->pdata[i], qc->local_address, qc->remote_address);
      if (set_interface)
        post_psi_set_interface (psis->pdata[i], name);
    }
  for (guint i = 0; i < psis->len; i++)
    if (!post_psi_is_closed (psis->pdata[i]))
      post_psi_emit_path_changed (psis->pdata[i]);
}

/* After packets were read: the peer may have migrated (server side:
 * ngtcp2 moved the connection to the address its packets now come from,
 * and validates it).  The connection's remote, and its instances'
 * addresses, follow ngtcp2's current path. */
void
quic_conn_check_path (QuicConn *qc)
{
  const ngtcp2_path *path;
  g_autoptr(GSocketAddress) remote = NULL;
  g_autofree char *text = NULL;

  if (qc->conn == NULL || qc->server == NULL || !qc->handshake_done)
    return;
  path = ngtcp2_conn_get_path (qc->conn);
  if (path->remote.addrlen == 0 || path->remote.addrlen > sizeof qc->remote
      || quic_native_equal ((const struct sockaddr *) path->remote.addr, path->remote.addrlen,
                            (const struct sockaddr *) &qc->remote, qc->remote_len))
    return;
  remote = g_socket_address_new_from_native (path->remote.addr, path->remote.addrlen);
  if (remote == NULL)
    return;
  memcpy (&qc->remote, path->remote.addr, path->remote.addrlen);
  qc->remote_len = path->remote.addrlen;
  g_set_object (&qc->remote_address, remote);
  text = quic_format_address (remote);
  g_debug ("QUIC: the peer %s migrated to %s", qc->peer, text);
  quic_conn_ref (qc);
  conn_notify_path (qc, FALSE, NULL);
  quic_conn_unref (qc);
}

/* Client: moves @qc to a new UDP socket bound to @new_local (NULL: the
 * source address the kernel's routing picks now), connected to the same
 * remote, with ngtcp2_conn_initiate_immediate_migration(): the old local
 * address is gone or going, so the connection does not wait for the new
 * path's validation (which ngtcp2 still performs) before using it.  The
 * server must have given us a spare connection id (ACTIVE_CID_LIMIT). */
gboolean
quic_conn_migrate (QuicConn        *qc,
                   GSocketAddress  *new_local,
                   gboolean         set_interface,
                   const char      *interface,
                   GError         **error)
{
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketAddress) bound = NULL;
  g_autofree char *text = NULL;
  struct sockaddr_storage local;
  socklen_t local_len;
  ngtcp2_path path;
  int rv;

  if (qc->server != NULL)
    {
      g_set_error (error, POST_ERROR, POST_ERROR_NOT_SUPPORTED,
                   "Only the client of a QUIC connection can migrate it (RFC 9000 section 9)");
      return FALSE;
    }
  if (qc->closed || qc->conn == NULL)
    {
      g_set_error (error, POST_ERROR, POST_ERROR_CLOSED, "The QUIC connection with %s is closed", qc->peer);
      return FALSE;
    }
  if (!qc->handshake_done)
    {
      g_set_error (error, POST_ERROR, POST_ERROR_PENDING,
                   "The QUIC connection with %s cannot migrate before its handshake completes", qc->peer);
      return FALSE;
    }
  socket = g_socket_new (g_socket_address_get_family (qc->remote_address), G_SOCKET_TYPE_DATAGRAM,
                         G_SOCKET_PROTOCOL_UDP, error);
  if (socket == NULL)
    return FALSE;
  g_socket_set_blocking (socket, FALSE);
  if (new_local != NULL && !g_socket_bind (socket, new_local, FALSE, error))
    return FALSE;
  if (!g_socket_connect (socket, qc->remote_address, NULL, error))
    return FALSE;
  bound = g_socket_get_local_address (socket, error);
  if (bound == NULL || !quic_to_native (bound, &local, &local_len, error))
    return FALSE;
  text = quic_format_address (bound);
  if (G_IS_INET_SOCKET_ADDRESS (bound) && G_IS_INET_SOCKET_ADDRESS (qc->local_address)
      && g_inet_address_equal (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (bound)),
                               g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (qc->local_address))))
    {
      if (new_local != NULL)
        return TRUE;   /* already there (another stream of the connection moved it) */
      g_set_error (error, POST_ERROR, POST_ERROR_FAILED, "No other local address reaches %s", qc->peer);
      return FALSE;
    }

  path.local.addr = (ngtcp2_sockaddr *) &local;
  path.local.addrlen = local_len;
  path.remote.addr = (ngtcp2_sockaddr *) &qc->remote;
  path.remote.addrlen = qc->remote_len;
  path.user_data = NULL;
  rv = ngtcp2_conn_initiate_immediate_migration (qc->conn, &path, quic_timestamp ());
  if (rv != 0)
    {
      GError *e = quic_ngtcp2_error (rv, "Cannot migrate the QUIC connection");

      g_prefix_error (&e, "%s to %s: ", qc->peer, text);
      g_propagate_error (error, e);
      return FALSE;
    }
  g_debug ("QUIC: the connection with %s migrates to %s", qc->peer, text);

  /* The new socket replaces the old one. */
  g_clear_pointer (&qc->socket_watch, post_fd_watch_free);
  g_socket_close (qc->socket, NULL);
  g_clear_object (&qc->socket);
  qc->socket = g_steal_pointer (&socket);
  post_udp_batch_setup (&qc->udp, g_socket_get_fd (qc->socket), QUIC_SOCKET_BUFFER);
  memcpy (&qc->local, &local, local_len);
  qc->local_len = local_len;
  g_set_object (&qc->local_address, bound);
  quic_conn_watch_socket (qc);

  quic_conn_ref (qc);
  conn_notify_path (qc, set_interface, interface);
  quic_conn_schedule_write (qc);
  quic_conn_unref (qc);
  return TRUE;
}

static gboolean
self_migration_cb (gpointer user_data)
{
  QuicConn *qc = user_data;
  g_autoptr(GError) error = NULL;

  quic_clear_source (&qc->migrate_idle);
  quic_conn_ref (qc);
  if (!quic_conn_migrate (qc, NULL, TRUE, NULL, &error))
    g_debug ("QUIC: no migration after a socket error: %s", error->message);
  quic_conn_unref (qc);
  return G_SOURCE_REMOVE;
}

/* A client's socket reported that its local address or network is gone:
 * try (from the main loop, outside ngtcp2) the source address the routing
 * picks now.  The path monitor usually migrates the carrier first.  Not
 * when the configuration has interface preferences: the routing's choice
 * could be an avoided or prohibited interface, and the core, which honours
 * them, decides then. */
void
quic_conn_schedule_self_migration (QuicConn *qc)
{
  g_auto(GStrv) preferences = NULL;

  if (qc->server != NULL || qc->closed || !qc->handshake_done || qc->migrate_idle != NULL)
    return;
  preferences = post_configuration_list_interface_preferences (qc->configuration);
  if (preferences[0] != NULL)
    return;
  qc->migrate_idle = g_idle_source_new ();
  g_source_set_callback (qc->migrate_idle, self_migration_cb, qc, NULL);
  g_source_set_static_name (qc->migrate_idle, "[post] quic migration");
  g_source_attach (qc->migrate_idle, qc->context);
}
