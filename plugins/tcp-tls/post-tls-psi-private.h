/* post-tls-psi-private.h: what the files of PostTlsPsi share
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * post-tls-psi.c is the instance (handshake, open, data, life cycle);
 * post-tls-transport.c is GnuTLS's transport over the inner tcp instance
 * and the handshake's errors.  Nothing here leaves the tcp-tls plugin.
 */
#pragma once

#include "post-tls-psi.h"
#include "post-gnutls-common.h"

#include <gnutls/gnutls.h>

G_BEGIN_DECLS

typedef enum {
  STATE_IDLE,
  STATE_CONNECTING,     /* TCP */
  STATE_HANDSHAKING,
  STATE_ESTABLISHED,
  STATE_LISTENING,
  STATE_CLOSED,
} State;

/* What a listener and the instances it accepts share. */
typedef struct {
  gint                              ref_count;
  gnutls_certificate_credentials_t  cert;      /* (nullable) */
  gnutls_psk_server_credentials_t   psk;       /* (nullable) */
  PostGnutlsServerTickets           tickets;   /* ticket key, anti-replay */
  PostLocal                        *local;     /* (owned) */
  char                             *priority;
} TlsServer;

typedef struct {
  guint64 cipher_end;
  guint64 plain_end;
} AckMark;

struct _PostTlsPsi
{
  PostPsi           parent_instance;

  GMainContext     *context;          /* (owned) */
  PostPsi          *tcp;              /* (owned) (nullable) the inner TCP instance */
  gulong            tcp_ready_id;
  gulong            tcp_accepted_id;
  State             state;

  gnutls_session_t  session;          /* (owned) (nullable) */
  PostGnutlsCredentials *cert;             /* (owned) (nullable) client side, shared */
  gnutls_psk_client_credentials_t  psk;     /* (owned) (nullable) client side */
  TlsServer        *server;           /* (owned) (nullable) listener and accepted */
  PostTlsPsi       *listener;         /* (unowned) while an accepted one handshakes */
  GPtrArray        *handshaking;      /* (owned) (nullable) listener: accepted, not yet announced */
  PostTcpAdmission *admission;        /* (owned) (nullable) listener: tcp.max-carriers */
  PostTcpAdmission *admitted;         /* (owned) (nullable) accepted: the listener's, until closed */
  GList             admission_link;   /* in admitted */
  GError           *evicted_error;    /* (owned) (nullable) evicted by a full listener */

  char             *server_name;      /* (owned) (nullable) SNI / name verified */
  gboolean          sni;              /* server_name is a DNS name (not an IP literal) */
  gboolean          offered_psk;
  guint8            first_in[40];     /* the peer's first bytes (handshake), to name a non-TLS peer */
  guint             first_in_len;
  GBytes           *ticket;           /* (owned) (nullable) taken from the association */
  GBytes           *early_data;       /* (owned) (nullable) */
  GError           *verify_error;     /* (owned) (nullable) why we refused the peer */
  GTlsCertificateFlags peer_errors;   /* what verifying the peer found (GIO's terms) */
  GError           *transport_error;  /* (owned) (nullable) */
  GError           *read_error;       /* (owned) (nullable) met after records a read returned */
  PostSecurityFlags flags;
  gboolean          session_ready;
  gboolean          early_sent;       /* early_data went with the ClientHello */

  GTask            *connect_task;     /* (owned) (nullable) */
  GSocketAddress   *remote;           /* (owned) (nullable) target of the active open */
  GSource          *timeout_source;   /* (owned) (nullable) */
  GSource          *idle_source;      /* (owned) (nullable) */
  GIOCondition      idle_condition;

  GByteArray       *out;              /* (owned) ciphertext not yet taken by TCP */
  GByteArray       *early_in;         /* (owned) (nullable) server: early data to read first */
  gsize             early_in_pos;
  GIOCondition      interest;         /* what the core wants */
  gboolean          shutdown_pending;
  gboolean          bye_sent;         /* close_notify is queued or gone */

  guint64           cipher_total;
  guint64           plain_total;
  guint64           plain_acked;
  guint64           plain_sent;       /* plaintext whose records TCP took */
  GQueue            ack_marks;        /* (element-type AckMark) */
};

/* ---- transport (post-tls-transport.c) ------------------------------------ */
/* GnuTLS's push function: queues the ciphertext in `out`, never blocking */
ssize_t  post_tls_transport_push  (gnutls_transport_ptr_t  ptr,
                                   const void             *data,
                                   size_t                  size);
/* GnuTLS's pull function: post_psi_read() on the inner instance; EAGAIN
 * when it has nothing, EIO (the error kept in transport_error) when it
 * failed */
ssize_t  post_tls_transport_pull  (gnutls_transport_ptr_t  ptr,
                                   void                   *data,
                                   size_t                  size);
/* Hands `out` to the inner instance as far as it takes it, then the
 * pending end of the sending direction; FALSE once the transport failed */
gboolean post_tls_transport_flush (PostTlsPsi             *self);
/* The peer for messages: the name verified and its address, or the proxy's
 * destination */
char    *post_tls_describe_peer   (PostTlsPsi             *self);
/* The error of a handshake that failed with GnuTLS's @ret: the verification's
 * or the transport's error first, a peer that does not speak TLS, else what
 * GnuTLS says */
GError  *post_tls_handshake_error (PostTlsPsi             *self,
                                   int                     ret);

G_END_DECLS
