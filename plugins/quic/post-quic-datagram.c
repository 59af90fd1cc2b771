/* post-quic-datagram.c: DATAGRAM frames (RFC 9221) of the `quic` stack:
 * the stream id varint in front of each payload, the per-connection queue
 * (by niceness) and its writing, the in-flight table for ngtcp2's
 * ack_datagram / lost_datagram, received datagrams and the events handed
 * to the core
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The design is described at the top of post-quic-psi.c (Datagrams).
 */

#include "post-quic-private.h"

/* ---- datagrams (RFC 9221) ------------------------------------------------------ */

/* `quic.datagrams` (bool, default true): offer DATAGRAM frames (RFC 9221). */
gboolean
quic_option_datagrams (PostConfiguration *configuration)
{
  GVariant *value = configuration != NULL ? post_configuration_get_option (configuration, "quic.datagrams") : NULL;

  return value == NULL || !g_variant_is_of_type (value, G_VARIANT_TYPE_BOOLEAN)
         || g_variant_get_boolean (value);
}

/* QUIC variable-length integers (RFC 9000 16): the stream id in front of
 * each DATAGRAM frame's payload, as RFC 9297 puts its quarter stream id. */
static gsize
varint_len (guint64 value)
{
  return value < 64 ? 1 : value < 16384 ? 2 : value < 1073741824 ? 4 : 8;
}

gsize
quic_varint_encode (guint8  *out,
                    guint64  value)
{
  gsize len = varint_len (value);
  static const guint8 prefix[] = { [1] = 0x00, [2] = 0x40, [4] = 0x80, [8] = 0xc0 };

  for (gsize i = 0; i < len; i++)
    out[i] = (value >> (8 * (len - 1 - i))) & 0xff;
  out[0] |= prefix[len];
  return len;
}

/* Returns the bytes used, 0 when @data is too short (truncated). */
static gsize
varint_decode (const guint8 *data,
               gsize         size,
               guint64      *value)
{
  gsize len;

  if (size == 0)
    return 0;
  len = (gsize) 1 << (data[0] >> 6);
  if (size < len)
    return 0;
  *value = data[0] & 0x3f;
  for (gsize i = 1; i < len; i++)
    *value = (*value << 8) | data[i];
  return len;
}

void
quic_dgram_free (QuicDgram *dg)
{
  g_clear_pointer (&dg->payload, g_bytes_unref);
  g_free (dg);
}

void
quic_conn_init_datagrams (QuicConn *qc)
{
  qc->datagrams = quic_option_datagrams (qc->configuration);
  g_queue_init (&qc->dgram_tx);
  g_queue_init (&qc->dgram_early);
  qc->dgram_inflight = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL,
                                              (GDestroyNotify) quic_dgram_free);
}

void
quic_conn_clear_datagrams (QuicConn *qc)
{
  g_queue_clear_full (&qc->dgram_tx, (GDestroyNotify) quic_dgram_free);
  g_queue_clear_full (&qc->dgram_early, (GDestroyNotify) quic_dgram_free);
  g_clear_pointer (&qc->dgram_inflight, g_hash_table_unref);
}

/* Queues @event for the carrier of @stream_id (from the event idle: never
 * from inside ngtcp2 or post_psi_send_datagram()). */
static void
dgram_report (QuicConn          *qc,
              QuicDgram         *dg,
              PostDatagramEvent  event)
{
  gint64 key = dg->stream_id;
  QuicStream *s = g_hash_table_lookup (qc->streams, &key);
  DgramEvent e = { dg->tag, event };

  if (s == NULL || s->psi == NULL || s->psi->dgram_events == NULL)
    return;   /* the carrier is gone: nobody to tell */
  g_array_append_val (s->psi->dgram_events, e);
  quic_conn_schedule_events (qc);
}

/* The next datagram to write, dropping (EXPIRED) those whose deadline passed. */
QuicDgram *
quic_conn_next_dgram (QuicConn *qc,
                      gint64   *now)
{
  QuicDgram *dg;

  while ((dg = g_queue_peek_head (&qc->dgram_tx)) != NULL)
    {
      if (dg->deadline < 0)
        return dg;
      if (*now == 0)
        *now = g_get_monotonic_time ();
      if (*now < dg->deadline)
        return dg;
      g_queue_pop_head (&qc->dgram_tx);
      dgram_report (qc, dg, POST_DATAGRAM_EXPIRED);
      quic_dgram_free (dg);
    }
  return NULL;
}

/* The largest content one DATAGRAM frame can carry for @s now. */
gsize
quic_conn_max_dgram (QuicConn   *qc,
                     QuicStream *s)
{
  const ngtcp2_transport_params *params;
  guint64 frame, path;

  if (!qc->datagrams || qc->closed || qc->conn == NULL || !qc->handshake_done || s == NULL)
    return 0;
  params = ngtcp2_conn_get_remote_transport_params (qc->conn);
  if (params == NULL || params->max_datagram_frame_size == 0)
    return 0;
  path = ngtcp2_conn_get_path_max_tx_udp_payload_size (qc->conn);
  if (path <= DGRAM_OVERHEAD)
    return 0;
  /* The frame: type, length, then our stream id and the content. */
  frame = MIN (params->max_datagram_frame_size, path - DGRAM_OVERHEAD);
  if (frame <= 3 + varint_len (s->id))
    return 0;
  return frame - 3 - varint_len (s->id);
}

int
quic_recv_datagram_cb (ngtcp2_conn   *conn,
                       uint32_t       flags,
                       const uint8_t *data,
                       size_t         datalen,
                       void          *user_data)
{
  QuicConn *qc = user_data;
  guint64 stream_id = 0;
  gsize used = varint_decode (data, datalen, &stream_id);
  gint64 key;
  QuicStream *s;

  if (used == 0)
    {
      qc->dgram_dropped++;
      g_debug ("QUIC: dropping a malformed datagram from %s (no stream id)", qc->peer);
      return 0;
    }
  key = (gint64) stream_id;
  s = g_hash_table_lookup (qc->streams, &key);
  if (s == NULL && !ngtcp2_conn_is_local_stream (conn, key))
    {
      /* A datagram may overtake the first bytes of the peer's new stream
       * (it went in front of them): kept, a few, until the stream opens. */
      QuicDgram *early = g_new0 (QuicDgram, 1);

      early->stream_id = key;
      early->payload = g_bytes_new (data + used, datalen - used);
      g_queue_push_tail (&qc->dgram_early, early);
      if (g_queue_get_length (&qc->dgram_early) > DGRAM_EARLY_MAX)
        {
          quic_dgram_free (g_queue_pop_head (&qc->dgram_early));
          qc->dgram_dropped++;
          g_debug ("QUIC: dropping a datagram from %s for a stream that never opened (%"
                   G_GUINT64_FORMAT " dropped)", qc->peer, qc->dgram_dropped);
        }
      return 0;
    }
  if (s == NULL || s->psi == NULL || s->psi->dgram_rx == NULL
      || s->psi->dgram_rx->len >= DGRAM_RX_MAX)
    {
      qc->dgram_dropped++;
      g_debug ("QUIC: dropping a datagram from %s for stream %" G_GUINT64_FORMAT
               " (no carrier; %" G_GUINT64_FORMAT " dropped)", qc->peer, stream_id, qc->dgram_dropped);
      return 0;
    }
  g_ptr_array_add (s->psi->dgram_rx, g_bytes_new (data + used, datalen - used));
  quic_conn_schedule_events (qc);
  return 0;
}

/* ngtcp2 acknowledged or declared lost a datagram in flight: its carrier
 * is told (@event) and it is forgotten (a datagram is never sent again).
 * ack_datagram and lost_datagram differ only in the event. */
static void
dgram_settle (QuicConn          *qc,
              uint64_t           dgram_id,
              PostDatagramEvent  event)
{
  gint64 key = (gint64) dgram_id;
  QuicDgram *dg = g_hash_table_lookup (qc->dgram_inflight, &key);

  if (dg != NULL)
    {
      dgram_report (qc, dg, event);
      g_hash_table_remove (qc->dgram_inflight, &key);
    }
}

int
quic_ack_datagram_cb (ngtcp2_conn *conn,
                      uint64_t     dgram_id,
                      void        *user_data)
{
  dgram_settle (user_data, dgram_id, POST_DATAGRAM_ACKED);
  return 0;
}

int
quic_lost_datagram_cb (ngtcp2_conn *conn,
                       uint64_t     dgram_id,
                       void        *user_data)
{
  dgram_settle (user_data, dgram_id, POST_DATAGRAM_LOST);
  return 0;
}

/* Hands the instance's datagram events and received datagrams to the core. */
void
quic_psi_flush_datagrams (PostQuicPsi *self)
{
  g_autoptr(GArray) events = NULL;
  g_autoptr(GPtrArray) received = NULL;

  if (self->dgram_events == NULL || (self->dgram_events->len == 0 && self->dgram_rx->len == 0))
    return;
  events = g_steal_pointer (&self->dgram_events);
  self->dgram_events = g_array_new (FALSE, FALSE, sizeof (DgramEvent));
  received = g_steal_pointer (&self->dgram_rx);
  self->dgram_rx = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  for (guint i = 0; i < events->len && self->mode == MODE_STREAM; i++)
    {
      DgramEvent *e = &g_array_index (events, DgramEvent, i);

      post_psi_emit_datagram_event (POST_PSI (self), e->tag, e->event);
    }
  for (guint i = 0; i < received->len && self->mode == MODE_STREAM; i++)
    if (!post_psi_deliver_datagram (POST_PSI (self), received->pdata[i]) && self->qc != NULL)
      {
        self->qc->dgram_dropped++;
        g_debug ("QUIC: dropping a datagram from %s: its carrier is not accepted yet",
                 self->qc->peer);
      }
}

/* ---- writing (from quic_conn_write) ------------------------------------------------ */

/* Writes the head datagram into a packet (packing more when ngtcp2 lets
 * us).  Returns the packet length as ngtcp2_conn_writev_datagram(), or
 * NGTCP2_ERR_WRITE_MORE to go on filling the packet. */
ngtcp2_ssize
quic_conn_write_dgram (QuicConn        *qc,
                       QuicDgram       *dg,
                       ngtcp2_path     *path,
                       ngtcp2_pkt_info *pi,
                       guint8          *buf,
                       size_t           max)
{
  ngtcp2_vec vec;
  int accepted = 0;
  ngtcp2_ssize n;

  vec.base = (uint8_t *) g_bytes_get_data (dg->payload, &vec.len);
  n = ngtcp2_conn_writev_datagram (qc->conn, path, pi, buf, max, &accepted,
                                   NGTCP2_WRITE_DATAGRAM_FLAG_MORE, dg->dgram_id,
                                   &vec, 1, quic_timestamp ());
  if (accepted)
    {
      g_queue_remove (&qc->dgram_tx, dg);
      g_clear_pointer (&dg->payload, g_bytes_unref);
      dgram_report (qc, dg, POST_DATAGRAM_SENT);
      g_hash_table_insert (qc->dgram_inflight, &dg->dgram_id, dg);
    }
  else if (n == NGTCP2_ERR_INVALID_ARGUMENT || n == NGTCP2_ERR_INVALID_STATE)
    {
      /* Larger than the peer takes, or not negotiated: it cannot go. */
      g_queue_remove (&qc->dgram_tx, dg);
      dgram_report (qc, dg, POST_DATAGRAM_LOST);
      quic_dgram_free (dg);
      return NGTCP2_ERR_WRITE_MORE;
    }
  return n;
}

/* Queues @content as a DATAGRAM frame of stream @s (post_quic_psi_send_datagram,
 * which checked that the connection has them: @max is the largest). */
gboolean
quic_conn_queue_datagram (QuicConn    *qc,
                          QuicStream  *s,
                          GBytes      *content,
                          gsize        max,
                          gint64       deadline,
                          guint64      id,
                          GError     **error)
{
  QuicDgram *dg;
  GList *l;
  gsize size = g_bytes_get_size (content);
  guint8 *payload;
  gsize prefix;

  if (size > max)
    {
      g_set_error (error, POST_ERROR, POST_ERROR_MESSAGE_TOO_LARGE,
                   "The datagram has %" G_GSIZE_FORMAT " bytes; the QUIC connection with %s carries at most %"
                   G_GSIZE_FORMAT, size, qc->peer, max);
      return FALSE;
    }
  if (g_queue_get_length (&qc->dgram_tx) >= DGRAM_QUEUE_MAX)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK, "The QUIC connection's datagram queue is full");
      return FALSE;
    }

  dg = g_new0 (QuicDgram, 1);
  dg->dgram_id = qc->next_dgram_id++;
  dg->tag = id;
  dg->stream_id = s->id;
  dg->deadline = deadline > 0 ? deadline : -1;
  dg->priority = s->priority;
  payload = g_malloc (8 + size);
  prefix = quic_varint_encode (payload, (guint64) s->id);
  if (size > 0)
    memcpy (payload + prefix, g_bytes_get_data (content, NULL), size);
  dg->payload = g_bytes_new_take (payload, prefix + size);
  /* In niceness order, after those of the same niceness. */
  for (l = qc->dgram_tx.tail; l != NULL; l = l->prev)
    if (((QuicDgram *) l->data)->priority <= dg->priority)
      break;
  if (l != NULL)
    g_queue_insert_after (&qc->dgram_tx, l, dg);
  else
    g_queue_push_head (&qc->dgram_tx, dg);
  quic_conn_schedule_write (qc);
  return TRUE;
}
