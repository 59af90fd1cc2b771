/* post-test-parts.h: receiving a carrier's messages part by part until
 * receiving fails, for the tests that check how a message ends (complete,
 * or cut short with an error): test-tls and the contract suite.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <post.h>

G_BEGIN_DECLS

typedef struct
{
  GString  *received;    /* (owned) every part, concatenated */
  guint     n_parts;
  gboolean  complete;    /* a part came with end of message */
  GError   *error;       /* (owned) (nullable) how receiving ended */
  guint     done;        /* receiving ended (or stopped at the end) */
  gboolean  stop_at_end; /* stop at the first end of message */
} PostTestParts;

/* Starts receiving @carrier's parts (post_carrier_receive_partial_async(),
 * one after the other) into @parts; with @stop_at_end, it stops after a
 * part that ends a message, otherwise only when receiving fails.  Wait for
 * @parts->done. */
void post_test_parts_start (PostTestParts *parts,
                            PostCarrier   *carrier,
                            gboolean       stop_at_end);
void post_test_parts_clear (PostTestParts *parts);

G_END_DECLS
