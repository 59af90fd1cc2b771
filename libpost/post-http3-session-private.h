/* post-http3-session-private.h: PostHttp3Session's insides, shared by
 * post-http3-session.c and post-http3-callbacks.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <nghttp3/nghttp3.h>

#include "post-http3-session.h"

G_BEGIN_DECLS

#define CLIENT_BIDI(n) ((gint64) (n) * 4)
#define CLIENT_UNI(n)  ((gint64) (n) * 4 + 2)
#define SERVER_UNI(n)  ((gint64) (n) * 4 + 3)
#define OUR_UNI(self, n) ((self)->server ? SERVER_UNI (n) : CLIENT_UNI (n))
#define READ_MAX       (64 * 1024)
#define BODY_HIGH      (256 * 1024)   /* partial: a stream is read while less is held */

typedef struct
{
  gint64            id;          /* the key of session->streams */
  PostHttp3Session *session;     /* (unowned) */
  PostCarrier      *carrier;     /* (owned) (nullable) */
  PostMessage      *out;         /* (owned) (nullable) the message we send on it */
  gboolean          fin_sent;
  gboolean          rx_end;      /* the peer's FIN was read */
  gboolean          fin_done;    /* our FIN's part was sent */
  gboolean          receiving;
  char             *pseudo[4];   /* server: the request's :method, :path, :authority, :scheme */
  GTask            *task;        /* (owned) (nullable) a request's */
  GBytes           *body;        /* (owned) (nullable) the request's content */
  guint             status;
  GPtrArray        *headers;     /* (owned) (nullable) GVariant (ss), floating refs sunk */
  GByteArray       *data;        /* (owned) (nullable) the body received, not yet handed out */
  gboolean          complete;
  gboolean          too_large;   /* a whole body passed recv-msg-max-len: the stream is cancelled */
  gboolean          partial;     /* post_http3_session_request_partial_async(): the body in parts */
  gboolean          body_end;    /* partial: nghttp3 saw the end of the body */
  PostMessage      *response;    /* (owned) (nullable) partial: the handle of the response */
  GTask            *body_task;   /* (owned) (nullable) partial: a pending receive_partial */
  gsize             body_max;    /* its max_length (0: all there is) */
} H3Stream;

struct _PostHttp3Session
{
  GObject       parent_instance;

  PostCarrier  *carrier;         /* (owned) */
  nghttp3_conn *conn;            /* (owned) */
  GHashTable   *streams;         /* gint64* id → (owned) H3Stream */
  GCancellable *cancellable;     /* (owned) the receive loops */
  GError       *error;           /* (owned) (nullable) the connection failed */
  guint         n_bidi;          /* bidirectional streams numbered so far (0: the carrier's) */
  guint         n_uni;           /* our unidirectional streams forked */
  guint         n_uni_ready;
  guint         n_peer_uni;
  gboolean      ready;           /* control and QPACK streams bound */
  gboolean      server;          /* post_http3_session_new_server() */
  guint         n_peer_bidi;     /* server: request streams received */
  GHashTable   *requests;        /* server: (owned) PostMessage → gint64* id of its stream */
  GQueue        waiting;         /* (owned) GTask: requests before ready */
  GHashTable   *responses;       /* partial responses: (unowned) PostMessage → (unowned) H3Stream */
  gsize         max_len;         /* the carrier's recv-msg-max-len: a whole body's limit */
  guint64       abort_code;      /* the HTTP/3 error code the carriers are aborted with (0: libpost's) */
  gboolean      writing;
  gboolean      reading;         /* inside nghttp3_conn_read_stream */
};

G_GNUC_INTERNAL
extern const nghttp3_data_reader _post_http3_body_reader;

G_GNUC_INTERNAL
void  _post_http3_callbacks_init       (nghttp3_callbacks *callbacks);
G_GNUC_INTERNAL
void  _post_http3_stream_deliver_body  (H3Stream          *st);
G_GNUC_INTERNAL
void  _post_http3_carrier_release      (PostCarrier       *carrier,
                                        gboolean           close);
G_GNUC_INTERNAL
void  _post_http3_session_emit_request (PostHttp3Session  *self,
                                        PostMessage       *request);

G_END_DECLS
