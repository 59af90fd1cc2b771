/* post-error.h: the post-error GError domain
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(POST_INSIDE) && !defined(POST_COMPILATION)
# error "Only <post.h> can be included directly."
#endif

#include <glib.h>
#include "post-version.h"

G_BEGIN_DECLS

/**
 * POST_ERROR:
 *
 * The error domain of libpost; codes are in [error@Post.Error].
 * Cancellation is reported with `G_IO_ERROR_CANCELLED` as in GIO.
 */
#define POST_ERROR (post_error_quark ())

/**
 * PostError:
 * @POST_ERROR_FAILED: a failure with no more specific code
 * @POST_ERROR_INVALID_ARGUMENT: a malformed argument, such as a bad URI
 * @POST_ERROR_CLOSED: the carrier, listener or association is closed
 * @POST_ERROR_IMMUTABLE: the object is held by an association and can no longer change
 * @POST_ERROR_NOT_SUPPORTED: the operation or property is not supported by the chosen stack or role
 * @POST_ERROR_NO_STACK: no loaded stack satisfies the configuration's requirements
 * @POST_ERROR_PLUGIN: a plugin could not be loaded
 * @POST_ERROR_RESOLVE: a remote could not be resolved
 * @POST_ERROR_NO_CANDIDATES: establishment had nothing to try
 * @POST_ERROR_ESTABLISHMENT: every establishment attempt failed; the message lists each one
 * @POST_ERROR_CONNECTION_REFUSED: the remote refused the connection
 * @POST_ERROR_TIMED_OUT: an operation timed out
 * @POST_ERROR_CONNECTION_RESET: the peer aborted the connection
 * @POST_ERROR_PROTOCOL: the peer sent data that violates the protocol or framing
 * @POST_ERROR_TRUNCATED: the peer closed in the middle of a message
 * @POST_ERROR_MESSAGE_TOO_LARGE: a message is larger than the stack or configuration allows
 * @POST_ERROR_WOULD_BLOCK: the bounded send queue is full; wait with post_carrier_flush_async()
 * @POST_ERROR_WRONG_ROLE: the operation is not available for this carrier's role (send on a sink, receive on a source)
 * @POST_ERROR_EXPIRED: a message's lifetime passed before it could be sent
 * @POST_ERROR_PENDING: another operation of the same kind is already pending
 * @POST_ERROR_TLS_UNKNOWN_AUTHORITY: the peer's certificate chain does not lead to a trusted anchor
 * @POST_ERROR_TLS_NAME_MISMATCH: the peer's certificate is not valid for the name connected to
 * @POST_ERROR_TLS_EXPIRED: the peer's certificate expired or is not yet valid
 * @POST_ERROR_TLS_PIN_MISMATCH: no public key in the peer's chain matches a pinned key
 * @POST_ERROR_TLS_PSK_MISMATCH: the peer does not know the pre-shared key (identity or key differ)
 * @POST_ERROR_TLS_PROTOCOL_VERSION: the peers have no TLS version in common
 * @POST_ERROR_TLS_REJECTED: the application's verification callback, or the
 *   peer, rejected the handshake (a bad or missing certificate, a failed alert)
 * @POST_ERROR_TLS_HANDSHAKE: the TLS handshake failed for another reason; the message says which
 *
 * Error codes in the %POST_ERROR domain.
 */
typedef enum {
  POST_ERROR_FAILED,
  POST_ERROR_INVALID_ARGUMENT,
  POST_ERROR_CLOSED,
  POST_ERROR_IMMUTABLE,
  POST_ERROR_NOT_SUPPORTED,
  POST_ERROR_NO_STACK,
  POST_ERROR_PLUGIN,
  POST_ERROR_RESOLVE,
  POST_ERROR_NO_CANDIDATES,
  POST_ERROR_ESTABLISHMENT,
  POST_ERROR_CONNECTION_REFUSED,
  POST_ERROR_TIMED_OUT,
  POST_ERROR_CONNECTION_RESET,
  POST_ERROR_PROTOCOL,
  POST_ERROR_TRUNCATED,
  POST_ERROR_MESSAGE_TOO_LARGE,
  POST_ERROR_WOULD_BLOCK,
  POST_ERROR_WRONG_ROLE,
  POST_ERROR_EXPIRED,
  POST_ERROR_PENDING,
  POST_ERROR_TLS_UNKNOWN_AUTHORITY,
  POST_ERROR_TLS_NAME_MISMATCH,
  POST_ERROR_TLS_EXPIRED,
  POST_ERROR_TLS_PIN_MISMATCH,
  POST_ERROR_TLS_PSK_MISMATCH,
  POST_ERROR_TLS_PROTOCOL_VERSION,
  POST_ERROR_TLS_REJECTED,
  POST_ERROR_TLS_HANDSHAKE,
} PostError;

POST_AVAILABLE_IN_ALL
GQuark post_error_quark (void);

G_END_DECLS
