/* post-policy-private.h: the policy engine's internals, shared with the
 * ranking in libpost/post-selection.c (the layer above)
 *
 * Nothing here is installed or exported.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "post-stacks-private.h"
#include "post-path-info.h"
#include "post-policy.h"
#include "post-policy-candidate.h"

G_BEGIN_DECLS

/* ---- rules (post-policy-rule.c) ------------------------------------------ */

typedef enum {
  POLICY_ACTION_PREFERENCE,     /* a PostSelectionProperty: `secure=prefer` */
  POLICY_ACTION_TEMPORARY,      /* use-temporary-local-address */
  POLICY_ACTION_SOFT_ERROR,     /* soft-error-notify */
  POLICY_ACTION_DIRECTION,      /* direction */
  POLICY_ACTION_KEEP_ALIVE_TIMEOUT, /* keep-alive-timeout (ms) */
  POLICY_ACTION_OPTION,         /* `tcp.user-timeout=30000` */
  POLICY_ACTION_STACK,          /* one entry of `stacks=NAME:LEVEL;…` */
  POLICY_ACTION_INTERFACE,      /* one entry of `interface=` */
  POLICY_ACTION_PVD,            /* one entry of `pvd=` */
  POLICY_ACTION_SCORE,          /* `score=N` */
} PolicyActionKind;

typedef struct _PolicyRule PolicyRule;

typedef struct {
  PolicyActionKind kind;
  char            *key;         /* as written: `secure`, `stacks`, `tcp.user-timeout` */
  guint            line;        /* of the key */
  gboolean         mandatory;
  guint            property;    /* PREFERENCE: the PostSelectionProperty */
  int              value;       /* a PostPreference, PostDirection, score or ms */
  char            *name;        /* set entries: the stack, interface or PvD */
  GVariant        *option;      /* OPTION */
  PolicyRule      *rule;        /* (unowned) the rule holding it */
} PolicyAction;

typedef struct {
  guint16 low, high;
} PolicyPortRange;

struct _PolicyRule
{
  char      *file;              /* the file's path */
  char      *name;              /* the group */
  guint      line;              /* of the [group] */
  char      *description;       /* (nullable) */
  char      *app_file_id;       /* (nullable): from an apps/ID.conf file */

  /* Matchers: NULL (or 0) matches anything */
  GStrv      hosts;             /* globs */
  GArray    *ports;             /* (element-type PolicyPortRange) */
  GStrv      services;          /* names: the URI scheme or the port's service */
  GArray    *service_ports;     /* (element-type PolicyPortRange) */
  GStrv      schemes;
  GStrv      apps;              /* globs */
  GStrv      interfaces;        /* globs */
  guint      kinds;             /* 1 << PostInterfaceKind */
  int        metered;           /* -1: any */
  guint      mtu_min, mtu_max;  /* inclusive; 0, G_MAXUINT: any */
  gboolean   has_mtu;

  GPtrArray *actions;           /* (element-type PolicyAction) */
  GPtrArray *raw;               /* (element-type utf8) `key=value` as written, for dump */
};

/* What one initiate (or listen) asks for */
typedef struct {
  const char      *app_id;      /* (nullable) */
  const char      *host;        /* (nullable): the remote's host name or literal */
  guint16          port;        /* 0: unknown */
  const char      *scheme;      /* (nullable): the URI scheme / stack hint */
  PostCarrierRole  role;
} PolicyQuery;

typedef struct {
  char  *file;
  guint  line;
  char  *group;                 /* (nullable) */
  char  *key;                   /* (nullable) */
  char  *message;
} PolicyProblem;

void          _post_policy_rule_free            (PolicyRule          *rule);
void          _post_policy_problem_free         (PolicyProblem       *problem);
char         *_post_policy_problem_to_string    (const PolicyProblem *problem);

/* Parses the rules of one loaded file; every problem is appended to
 * @problems, and a rule with a problem is not returned. */
GPtrArray    *_post_policy_parse_file           (const char          *path,
                                                 const char          *contents,
                                                 gsize                length,
                                                 const char          *app_file_id,
                                                 GPtrArray           *problems);

gboolean      _post_policy_rule_needs_path      (const PolicyRule    *rule);
/* Whether @rule applies to @query (and @path: NULL when the path is not
 * known yet, so a rule with path matchers does not apply). */
gboolean      _post_policy_rule_matches         (const PolicyRule    *rule,
                                                 const PolicyQuery   *query,
                                                 const PostPathInfo  *path);
/* `file:line` of an action or rule */
char         *_post_policy_action_origin        (const PolicyAction  *action);
/* The rule in keyfile syntax, with a comment naming its origin */
void          _post_policy_rule_dump            (const PolicyRule    *rule,
                                                 GString             *out);

/* ---- the engine's snapshot (post-policy.c) -------------------------------- */

typedef struct {
  gint        ref_count;
  GPtrArray  *rules;            /* (element-type PolicyRule) in application order */
  GPtrArray  *problems;         /* (element-type PolicyProblem) */
  GPtrArray  *files;            /* (element-type utf8) loaded, in order */
  GPtrArray  *masked;           /* (element-type utf8) skipped: masked by a higher scope */
  gboolean    needs_path;       /* some rule matches or acts on path data */
} PolicySnapshot;

PolicySnapshot *_post_policy_snapshot_ref       (PolicySnapshot      *snapshot);
void            _post_policy_snapshot_unref     (PolicySnapshot      *snapshot);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PolicySnapshot, _post_policy_snapshot_unref)

/* The current rules of @self (the default engine if NULL), loaded on
 * first use; never NULL. */
PolicySnapshot *_post_policy_get_snapshot       (PostPolicy          *self);
/* The application id queries use: the engine's, the default
 * GApplication's, or g_get_prgname(). */
const char     *_post_policy_get_app_id         (PostPolicy          *self);
/* The path data source of every policy that has none of its own; set by
 * the layer above (selection installs the path monitor). */
void            _post_policy_set_default_path_info_func (PostPathInfoFunc func,
                                                         gpointer         user_data);
/* Path data from the engine's function, the default source, or
 * post_path_info_lookup() */
PostPathInfo   *_post_policy_lookup_path        (PostPolicy          *self,
                                                 GSocketAddress      *local_address,
                                                 GSocketAddress      *remote_address);

/* ---- candidates (post-policy-candidate.c) ---------------------------------- */
PostPolicyCandidate *_post_policy_candidate_new (PostStack           *stack,
                                                 GSocketAddress      *remote_address,
                                                 GSocketAddress      *local_address,
                                                 PostPathInfo        *path,
                                                 PostConfiguration   *configuration,
                                                 int                  score,
                                                 gboolean             removed,
                                                 GPtrArray           *reasons);

G_END_DECLS
