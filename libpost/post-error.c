/* post-error.c: the post-error GError domain
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "post-base-private.h"

/**
 * post_error_quark:
 *
 * Gets the quark of the libpost error domain, %POST_ERROR, in which every
 * libpost function reports its failures with a code of [error@Post.Error]
 * (cancellation is %G_IO_ERROR_CANCELLED, as in GIO). Bindings see it as
 * the domain of `Post.Error`.
 *
 * Returns: the error domain's quark
 */
G_DEFINE_QUARK (post-error-quark, post_error)
