/* post-dtls-psi-private.h: what the files of PostDtlsPsi share
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * post-dtls-psi.c is the instance (handshake, open, data, life cycle);
 * post-dtls-transport.c is GnuTLS's transport over the inner udp instance.
 * Nothing here leaves the udp plugin.
 */
#pragma once

#include "post-dtls-psi.h"

#include <gnutls/gnutls.h>
#include <gnutls/dtls.h>

#include "post-gnutls-trust.h"

G_BEGIN_DECLS

typedef enum {
  STATE_IDLE,
  STATE_HANDSHAKING,
  STATE_ESTABLISHED,
  STATE_LISTENING,
  STATE_CLOSED,
} State;

/* What a listener and the sessions it accepts share. */
typedef struct {
  gint                              ref_count;
  gnutls_certificate_credentials_t  cert;      /* (nullable) */
  gnutls_psk_server_credentials_t   psk;       /* (nullable) */
  gnutls_datum_t                    cookie_key;
  PostLocal                        *local;     /* (owned) */
  char                             *priority;
  gboolean                          request_client_cert;
} DtlsServer;

struct _PostDtlsPsi
{
  PostPsi           parent_instance;

  GMainContext     *context;          /* (owned) */
  PostPsi          *udp;              /* (owned) (nullable) the inner udp instance */
  gulong            udp_ready_id;
  gulong            udp_accepted_id;
  State             state;
  gboolean          refused;          /* the access_denied alert is sent: nothing more */

  gnutls_session_t  session;          /* (owned) (nullable) */
  PostGnutlsCredentials *cert;             /* (owned) (nullable) client side, shared */
  gnutls_psk_client_credentials_t  psk;     /* (owned) (nullable) client side */
  DtlsServer       *server;           /* (owned) (nullable) listener and accepted */
  PostDtlsPsi      *listener;         /* (unowned) while an accepted one handshakes */
  GPtrArray        *handshaking;      /* (owned) (nullable) listener: not yet announced */

  char             *server_name;      /* (owned) (nullable) SNI / name verified */
  gboolean          sni;              /* server_name is a DNS name (not an IP literal) */
  gboolean          offered_psk;
  guint             encrypted_in;     /* datagrams with protected records during the handshake */
  guint             discarded;        /* records GnuTLS dropped during the handshake ... */
  guint             discarded_encrypted;  /* ... when encrypted_in was this ... */
  gint64            first_discard;    /* ... the first one of those when (monotonic µs) */
  GError           *verify_error;     /* (owned) (nullable) why we refused the peer */
  GTlsCertificateFlags peer_errors;   /* what verifying the peer found (GIO's terms) */
  GError           *transport_error;  /* (owned) (nullable) */
  gboolean          too_large;        /* the last push was refused as too large */
  PostSecurityFlags flags;

  GTask            *connect_task;     /* (owned) (nullable) */
  GSocketAddress   *remote;           /* (owned) (nullable) target of the active open */
  GSource          *timer_source;     /* (owned) (nullable) retransmission */
  GSource          *idle_source;      /* (owned) (nullable) */
  GIOCondition      idle_condition;
  GIOCondition      interest;         /* what the core wants */

  GBytes           *pending_in;       /* (owned) (nullable) a datagram GnuTLS has not read */
  GPtrArray        *out_batch;        /* (owned) (nullable) (element-type GBytes) datagrams
                                         GnuTLS sent during post_dtls_psi_send_messages() */

  /* keep-alive: RFC 6520 heartbeats after keep_alive_ms without a datagram */
  guint             keep_alive_ms;    /* 0: none */
  gint64            last_rx;          /* monotonic µs of the peer's last datagram */
  gint64            last_ping;        /* monotonic µs of our last heartbeat request */
  GSource          *keep_alive_source; /* (owned) (nullable) */
  gsize             mtu;              /* what gnutls_dtls_set_mtu() was given */
  guint64           dropped;          /* invalid records dropped */
};

/* ---- transport (post-dtls-transport.c) ----------------------------------- */
/* GnuTLS's push function: sends one datagram on the inner instance.  A
 * datagram lost to ICMP counts as sent; a full queue is EAGAIN; a datagram
 * over the path MTU sets too_large and is EMSGSIZE; other errors are kept
 * in transport_error (EIO). */
ssize_t  post_dtls_transport_push         (gnutls_transport_ptr_t  ptr,
                                           const void             *data,
                                           size_t                  size);
/* GnuTLS's pull function: hands over the next datagram of the inner
 * instance (cut to @size), counting those with protected records while
 * handshaking (encrypted_in); EAGAIN when there is none. */
ssize_t  post_dtls_transport_pull         (gnutls_transport_ptr_t  ptr,
                                           void                   *data,
                                           size_t                  size);
/* GnuTLS's pull timeout function; never waits: 1 when a datagram is there */
int      post_dtls_transport_pull_timeout (gnutls_transport_ptr_t  ptr,
                                           unsigned int            ms);
/* Collects what GnuTLS sends until post_dtls_transport_flush() sends it
 * at once; the flush returns how many datagrams went, from the first
 * (@error: why the next did not) */
void     post_dtls_transport_begin_batch  (PostDtlsPsi            *self);
guint    post_dtls_transport_flush        (PostDtlsPsi            *self,
                                           GError                **error);
/* Whether the transport failed, for GnuTLS (EIO) and for the caller */
gboolean post_dtls_transport_broken       (PostDtlsPsi            *self);

G_END_DECLS
