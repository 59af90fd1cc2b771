/* post-stacks-private.h: internals of stacks, plugins, the registry and PSIs
 *
 * Layer "stacks" of docs/architecture.md: it may include only the headers of its
 * own layer and the layers below (tools/include-graph.py --check).
 * Nothing here is installed or exported.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "post-values-private.h"
#define POST_INSIDE
#include "post-stack.h"
#include "post-psi.h"
#include "post-plugin.h"
#include "post-registry.h"
#undef POST_INSIDE

G_BEGIN_DECLS

/* ---- PostStack ---------------------------------------------------------- */
/* Set by the registry: the plugin that provided the stack, and the rank
 * after the POST_STACK_RANK override. */
void            _post_stack_set_plugin_name       (PostStack         *self,
                                                   const char        *plugin_name);
void            _post_stack_set_rank              (PostStack         *self,
                                                   guint              rank);

/* ---- Plugin loading helpers (post-plugin.c) ------------------------------ */
/* FALSE in setuid/setgid programs: the environment is then ignored. */
gboolean        _post_plugin_environment_is_trusted (void);
/* @configured (POST_PLUGIN_DIR, POST_DATA_DIR, ...) moved to where libpost
 * is installed, if it was relocated from the prefix it was configured for;
 * else a copy of @configured. */
char           *_post_get_install_dir             (const char        *configured);
/* The directories to scan, in order: POST_PLUGIN_PATH, then
 * POST_PLUGIN_SYSTEM_PATH if set (empty: none) or POST_PLUGIN_DIR (moved
 * with the prefix, _post_get_install_dir()). */
char          **_post_plugin_get_search_path      (void);
/* The POST_STACK_RANK=name:rank,... override for @stack_name, if any. */
gboolean        _post_plugin_get_rank_override    (const char        *stack_name,
                                                   guint             *rank);
/* Checks, by reading (never mapping) it, that @filename is an ELF shared
 * object for this machine whose headers and segments lie within the file,
 * so that dlopen() cannot fault on a truncated file. */
gboolean        _post_plugin_validate_elf         (const char        *filename,
                                                   GError           **error);
/* Opens @filename and returns its ABI-checked descriptor (nothing in the
 * plugin is called); POST_ERROR_PLUGIN naming the file on failure. */
const PostPluginDescriptor *_post_plugin_open     (const char        *filename,
                                                   GModule          **module,
                                                   GError           **error);

/* ---- PostPath from a PSI (post-psi.c) ------------------------------------ */
/* The core assembled the peer's first complete message (post-psi.c) */
void            _post_psi_set_first_message_received (PostPsi       *self);
/* The core's own handlers of a PSI's events (its transient's): each is
 * called directly by the post_psi_notify_*() / post_psi_emit_*() that
 * raises the event, before the signal is emitted for other handlers (a
 * stack layered on this one, say).  A signal connection costs more than
 * the rest of a transient's set-up, and an emission as much as the rest of
 * a hop's bookkeeping; each member may be %NULL. */
typedef struct
{
  void (*ready)             (PostPsi           *psi,
                             GIOCondition       condition,
                             gpointer           user_data);
  void (*sent)              (PostPsi           *psi,
                             gpointer           user_data);
  void (*path_changed)      (PostPsi           *psi,
                             gpointer           user_data);
  void (*soft_error)        (PostPsi           *psi,
                             const GError      *error,
                             gpointer           user_data);
  void (*datagram_event)    (PostPsi           *psi,
                             guint64            id,
                             PostDatagramEvent  event,
                             gpointer           user_data);
  void (*datagram_received) (PostPsi           *psi,
                             GBytes            *content,
                             gpointer           user_data);
  void (*message_expired)   (PostPsi           *psi,
                             PostMessage       *message,
                             gpointer           user_data);
  void (*fork_request)      (PostPsi           *psi,
                             PostPsi           *forked,
                             gpointer           user_data);
} PostPsiCoreFuncs;

/* One set per instance: replaces what was set.  _post_psi_unset_core_funcs()
 * removes them if they are still @user_data's. */
void            _post_psi_set_core_funcs          (PostPsi                *self,
                                                   const PostPsiCoreFuncs *funcs,
                                                   gpointer                user_data);
void            _post_psi_unset_core_funcs        (PostPsi                *self,
                                                   gpointer                user_data);
PostPath       *_post_path_new_for_psi            (PostPsi           *psi);

G_END_DECLS
