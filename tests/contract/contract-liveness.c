/* contract-liveness.c: a vanished peer is noticed (placeholder while written)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "post-contract.h"

void
post_contract_add_liveness_cases (void)
{
}
