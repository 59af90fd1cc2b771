/* post.h: the libpost umbrella header
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#define POST_INSIDE
# include "post-version.h"
# include "post-enums.h"
# include "post-enum-types.h"
# include "post-error.h"
# include "post-message.h"
# include "post-path.h"
# include "post-path-monitor.h"
# include "post-local.h"
# include "post-remote.h"
# include "post-configuration.h"
# include "post-reply.h"
# include "post-carrier.h"
# include "post-carrier-stream.h"
# include "post-association.h"
# include "post-framer.h"
# include "post-length-prefix-framer.h"
# include "post-http3-session.h"
# include "post-http-client.h"
# include "post-http-framer.h"
# include "post-websocket-framer.h"
# include "post-stack.h"
# include "post-psi.h"
# include "post-transient.h"
# include "post-plugin.h"
# include "post-registry.h"
# include "post-path-info.h"
# include "post-policy.h"
# include "post-policy-candidate.h"
#undef POST_INSIDE
