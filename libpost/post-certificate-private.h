/* post-certificate-private.h: peer certificates as GIO's GTlsCertificate
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>
#include "post-enums.h"

G_BEGIN_DECLS

/* A GTlsCertificate of GIO's default TLS backend for @chain (GBytes in
 * DER, leaf first), each certificate's issuer the next one.  Fails with
 * POST_ERROR_NOT_SUPPORTED when GIO has no TLS backend (glib-networking)
 * and POST_ERROR_INVALID_ARGUMENT when @chain is empty or not DER. */
GTlsCertificate      *_post_tls_certificate_new_from_chain (GPtrArray        *chain,
                                                            GError          **error);

/* GIO's flags for what libpost's verification found (for a stack that
 * only reports PostTrustErrors): a pin mismatch and "other" are
 * G_TLS_CERTIFICATE_GENERIC_ERROR, GIO having no flag for them. */
GTlsCertificateFlags  _post_trust_errors_to_tls_flags      (PostTrustErrors   errors);

G_END_DECLS
