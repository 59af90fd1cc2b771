/* post-policy-candidate.h: PostPolicyCandidate, one ranked candidate
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(POST_INSIDE) && !defined(POST_COMPILATION)
# error "Only <post.h> can be included directly."
#endif

#include <gio/gio.h>
#include "post-version.h"
#include "post-path-info.h"

G_BEGIN_DECLS

typedef struct _PostStack PostStack;
typedef struct _PostConfiguration PostConfiguration;

#define POST_TYPE_POLICY_CANDIDATE (post_policy_candidate_get_type ())
POST_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (PostPolicyCandidate, post_policy_candidate, POST, POLICY_CANDIDATE, GObject)

POST_AVAILABLE_IN_ALL
PostStack          *post_policy_candidate_get_stack          (PostPolicyCandidate *self);
POST_AVAILABLE_IN_ALL
GSocketAddress     *post_policy_candidate_get_remote_address (PostPolicyCandidate *self);
POST_AVAILABLE_IN_ALL
GSocketAddress     *post_policy_candidate_get_local_address  (PostPolicyCandidate *self);
POST_AVAILABLE_IN_ALL
const PostPathInfo *post_policy_candidate_get_path_info      (PostPolicyCandidate *self);
POST_AVAILABLE_IN_ALL
PostConfiguration  *post_policy_candidate_get_configuration  (PostPolicyCandidate *self);
POST_AVAILABLE_IN_ALL
int                 post_policy_candidate_get_score          (PostPolicyCandidate *self);
POST_AVAILABLE_IN_ALL
gboolean            post_policy_candidate_is_removed         (PostPolicyCandidate *self);
POST_AVAILABLE_IN_ALL
const char * const *post_policy_candidate_get_reasons        (PostPolicyCandidate *self);
POST_AVAILABLE_IN_ALL
char               *post_policy_candidate_to_string          (PostPolicyCandidate *self);

G_END_DECLS
