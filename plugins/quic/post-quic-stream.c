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
          last = g_new0 (TxChunk, 1);
          last->cap = TX_CHUNK;
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

void
quic_stream_acked (QuicStream *s,
                   guint64     offset)
{
  TxChunk *chunk;

  if (offset > s->tx_acked)
    s->tx_acked = offset;
  while ((chunk = g_queue_peek_head (&s->tx)) != NULL
         && chunk->start + chunk->len <= s->tx_acked
         && chunk->len == chunk->cap)
    tx_chunk_free (g_queue_pop_head (&s->tx));
  /* A last, partly filled chunk that is entirely acknowledged is reset
   * rather than freed: appending continues where it stands. */
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
