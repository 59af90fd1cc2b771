/* post-fd-watch.h: PostFdWatch, readiness of a descriptor on a GMainContext
 * at a cost that does not grow with the number of descriptors
 *
 * GLib's main loop visits every source and polls every descriptor at each
 * iteration: with one source per socket, a listener holding 10,000
 * carriers spends each iteration — each message — on 10,000 sources and a
 * poll() of 10,000 descriptors.  A PostFdWatch watches one descriptor: the
 * first POST_FD_WATCH_DIRECT_MAX watches of a context are a source of their
 * own each (GLib polls them directly, no extra system call), and the ones
 * beyond join the context's one epoll source, whose epoll descriptor is the
 * only one GLib polls for them and which dispatches only the descriptors
 * that are ready.  The per-iteration cost is then bounded whatever the
 * number of watches.
 *
 * Readiness is level-triggered, as poll()'s: the callback runs at each
 * iteration while the descriptor is ready for what is asked.  G_IO_HUP and
 * G_IO_ERR are reported whatever is asked (events 0 included), until
 * post_fd_watch_suspend(); the next post_fd_watch_set_events() with events
 * watches again.  Every call is made on the context's thread; the watch
 * may be freed from its own callback.  The epoll set changes at the next
 * iteration (set_events in a burst costs one epoll_ctl(), or none when it
 * ends where it began).
 *
 * Compiled into each plugin that uses it (plugins/meson.build), as the
 * core exports no private symbols.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Watches of one context that get a source of their own (see above). */
#define POST_FD_WATCH_DIRECT_MAX 64

typedef struct _PostFdWatch PostFdWatch;

/* @revents: what is ready (G_IO_IN, G_IO_OUT, G_IO_HUP, G_IO_ERR). */
typedef void (*PostFdWatchFunc) (PostFdWatch  *watch,
                                 GIOCondition  revents,
                                 gpointer      user_data);

/* Watches @fd for @events on @context (NULL: the global default); @name
 * names a direct watch's source. */
PostFdWatch  *post_fd_watch_new        (GMainContext    *context,
                                        int              fd,
                                        GIOCondition     events,
                                        const char      *name,
                                        PostFdWatchFunc  func,
                                        gpointer         user_data);
/* Stops watching at once (before the descriptor is closed) and frees. */
void          post_fd_watch_free       (PostFdWatch     *watch);
/* What to watch for; resumes a suspended watch when @events is not 0. */
void          post_fd_watch_set_events (PostFdWatch     *watch,
                                        GIOCondition     events);
/* Stops watching, G_IO_HUP and G_IO_ERR included, until set_events. */
void          post_fd_watch_suspend    (PostFdWatch     *watch);
/* Whether the watch is in the context's epoll set (TRUE) or a source of
 * its own. */
gboolean      post_fd_watch_is_shared  (PostFdWatch     *watch);

G_END_DECLS
