/* post-error.c: the post-error GError domain
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "post-base-private.h"

G_DEFINE_QUARK (post-error-quark, post_error)
