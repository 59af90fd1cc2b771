/* post-selection-score-private.h: selection and racing: the policy applied
 * to one query and the score of one candidate (post-selection-score.c), for
 * the ranking of post-selection.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "post-selection-private.h"

G_BEGIN_DECLS

/* What the matching rules make of the application's configuration */
typedef struct {
  PostConfiguration *configuration;   /* (owned): effective, or the application's */
  gboolean changed;                    /* configuration differs from the application's */
  GHashTable *origins;                 /* (owned) "secure", "interface:wifi"… → PolicyAction */
  GHashTable *stack_levels;            /* (owned) stack name → PolicyAction (STACK) */
  GPtrArray *scores;                   /* (owned) (element-type PolicyAction) */
  GPtrArray *notes;                    /* (owned) (element-type utf8) */
} PostSelectionApplied;

typedef struct {
  int score;
  gboolean removed;
  GPtrArray *reasons;      /* (owned) removals first ("lacks …"), then terms */
  GPtrArray *removals;     /* (owned) the removal texts, for errors */
  const PolicyAction *blame;  /* (nullable): of the first removal by a rule */
} PostSelectionVerdict;

void     _post_selection_applied_clear     (PostSelectionApplied *applied);
void     _post_selection_verdict_clear     (PostSelectionVerdict *verdict);
gboolean _post_selection_role_needs_listen (PostCarrierRole       role);

/* Fills @applied (cleared with _post_selection_applied_clear()) with what
 * the rules of @snapshot matching @query (and @path, when not NULL) make of
 * the application's configuration @app */
void     _post_selection_apply_policy      (PolicySnapshot       *snapshot,
                                            const PolicyQuery    *query,
                                            const PostPathInfo   *path,
                                            PostConfiguration    *app,
                                            PostSelectionApplied *applied);

/* Scores @stack (over @path when @path_known) under @applied into @verdict
 * (cleared with _post_selection_verdict_clear()) */
void     _post_selection_score_candidate   (PostSelectionVerdict *verdict,
                                            PostSelectionApplied *applied,
                                            PostStack            *stack,
                                            PostCarrierRole       role,
                                            const PolicyQuery    *query,
                                            gboolean              path_known,
                                            const PostPathInfo   *path);

G_END_DECLS
