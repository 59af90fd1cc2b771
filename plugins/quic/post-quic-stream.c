/* post-quic-stream.c: QuicStream, one stream of a QUIC connection: the
 * written data kept until acknowledged (TxChunk) and the received data
 * the core has not read yet
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The design is described at the top of post-quic-psi.c (STREAM).
 */

#include "post-quic-private.h"

/* ---- streams ---------------------------------------------------------------- */

static QuicStream *
stream_new (int64_t id)
{
  QuicStream *s = g_new0 (QuicStream, 1);

  s->id = id;
  g_queue_init (&s->tx);
  s->rx = g_byte_array_new ();
  return s;
}

static void
tx_chunk_free (TxChunk *chunk)
{
  g_free (chunk->data);
  g_free (chunk);
}

void
quic_stream_free (QuicStream *s)
{
  if (s->psi != NULL)
    s->psi->stream = NULL;
  g_queue_clear_full (&s->tx, (GDestroyNotify) tx_chunk_free);
  g_clear_pointer (&s->tx_pushes, g_array_unref);
  g_byte_array_unref (s->rx);
  g_clear_error (&s->error);
  g_free (s);
}

gboolean
quic_stream_has_pending (QuicStream *s)
{
  return !s->closed && (s->tx_sent < s->tx_end || (s->fin_requested && !s->fin_sent));
}

gsize
quic_stream_append (QuicStream   *s,
                    const guint8 *data,
                    gsize         len)
{
  gsize done = 0;

  while (done < len)
    {
      TxChunk *last = g_queue_peek_tail (&s->tx);
      gsize n;

      if (last == NULL || last->len == last->cap)
        {
          /* A write into an empty queue (a request, a reply) gets a
           * chunk of its size; a stream in flow gets full ones. */
          gsize cap = last == NULL && len - done < TX_CHUNK ? MAX (TX_CHUNK_MIN, (len - done + 1023) & ~(gsize) 1023)
                                                            : TX_CHUNK;

          last = g_new0 (TxChunk, 1);
          last->cap = cap;
          last->data = g_malloc (last->cap);
          last->start = s->tx_end;
          g_queue_push_tail (&s->tx, last);
        }
      n = MIN (len - done, last->cap - last->len);
      memcpy (last->data + last->len, data + done, n);
      last->len += n;
      s->tx_end += n;
      done += n;
    }
  return done;
}

/* Up to @max vectors of data written but not handed to ngtcp2 yet. */
size_t
quic_stream_unsent (QuicStream *s,
                    ngtcp2_vec *vecs,
                    size_t      max)
{
  size_t n = 0;

  for (GList *l = s->tx.head; l != NULL && n < max; l = l->next)
    {
      TxChunk *chunk = l->data;
      guint64 end = chunk->start + chunk->len;

      if (end <= s->tx_sent)
        continue;
      vecs[n].base = chunk->data + (s->tx_sent > chunk->start ? s->tx_sent - chunk->start : 0);
      vecs[n].len = end - MAX (s->tx_sent, chunk->start);
      n++;
    }
  return n;
}

/* What was written so far ends a packet (an immediate message). */
void
quic_stream_push (QuicStream *s)
{
  if (s->tx_end <= s->tx_sent)
    return;
  if (s->tx_pushes == NULL)
    s->tx_pushes = g_array_new (FALSE, FALSE, sizeof (guint64));
  if (s->tx_pushes->len > 0 && g_array_index (s->tx_pushes, guint64, s->tx_pushes->len - 1) >= s->tx_end)
    return;
  g_array_append_val (s->tx_pushes, s->tx_end);
}

/* As quic_stream_unsent(), but only up to the next pushed offset, if any:
 * then *@pushed is TRUE and the packet must end after these bytes. */
size_t
quic_stream_unsent_to_push (QuicStream *s,
                            ngtcp2_vec *vecs,
                            size_t      max,
                            gboolean   *pushed)
{
  size_t n = quic_stream_unsent (s, vecs, max);
  guint64 limit, total = 0;

  *pushed = FALSE;
  if (s->tx_pushes == NULL || s->tx_pushes->len == 0)
    return n;
  limit = g_array_index (s->tx_pushes, guint64, 0) - s->tx_sent;
  for (size_t i = 0; i < n; i++)
    {
      if (total + vecs[i].len >= limit)
        {
          vecs[i].len = limit - total;
          *pushed = TRUE;
          return i + 1;
        }
      total += vecs[i].len;
    }
  return n;
}

/* @n more bytes were put in packets: the pushes they passed are done. */
void
quic_stream_sent (QuicStream *s,
                  gsize       n)
{
  guint i = 0;

  s->tx_sent += n;
  while (s->tx_pushes != NULL && i < s->tx_pushes->len
         && g_array_index (s->tx_pushes, guint64, i) <= s->tx_sent)
    i++;
  if (i > 0)
    g_array_remove_range (s->tx_pushes, 0, i);
}

void
quic_stream_acked (QuicStream *s,
                   guint64     offset)
{
  TxChunk *chunk;

  if (offset > s->tx_acked)
    s->tx_acked = offset;
  /* A last, partly filled chunk goes too once all of it is acknowledged:
   * an idle stream holds no chunk (it held 16 KiB for good). */
  while ((chunk = g_queue_peek_head (&s->tx)) != NULL
         && chunk->start + chunk->len <= s->tx_acked
         && (chunk->len == chunk->cap || chunk->start + chunk->len == s->tx_end))
    tx_chunk_free (g_queue_pop_head (&s->tx));
}

QuicStream *
quic_conn_add_stream (QuicConn *qc,
                      int64_t   id)
{
  QuicStream *s = stream_new (id);
  gint64 *key = g_new (gint64, 1);

  *key = id;
  g_hash_table_insert (qc->streams, key, s);
  ngtcp2_conn_set_stream_user_data (qc->conn, id, s);
  return s;
}

void
quic_conn_remove_stream (QuicConn   *qc,
                         QuicStream *s)
{
  gint64 key = s->id;

  if (!qc->closed && qc->conn != NULL)
    ngtcp2_conn_set_stream_user_data (qc->conn, s->id, NULL);
  g_hash_table_remove (qc->streams, &key);
}
