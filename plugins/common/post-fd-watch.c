/* post-fd-watch.c: PostFdWatch (post-fd-watch.h)
 *
 * Per GMainContext, one Reactor: a GSource that polls an epoll descriptor
 * and counts the context's direct watches.  The contexts' reactors are in
 * a table (a mutex: contexts live in several threads); the context owns
 * its reactor's source, and each watch holds a reference to it, so a
 * reactor lives as long as its context or its last watch.  A reactor whose
 * source was destroyed (its context finalized) is replaced at the next
 * look-up.
 *
 * Epoll members: their epoll registration is brought up to date in the
 * reactor's prepare() (a "dirty" list), so that interest toggled back and
 * forth within an iteration costs nothing.  A member freed while the
 * reactor dispatches is removed from the epoll set at once but its memory
 * is kept until the dispatch ends (a "dead" list), so that a later event
 * of the same batch finds it marked.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "post-fd-watch.h"

#include <errno.h>
#include <sys/epoll.h>
#include <unistd.h>

#define TROUBLE (G_IO_HUP | G_IO_ERR | G_IO_NVAL)
#define BATCH   64

typedef struct {
  GSource       source;
  GMainContext *context;   /* (unowned) the table's key */
  int           epfd;      /* -1 until a watch is shared */
  gpointer      tag;       /* of epfd in the source */
  GPtrArray    *dirty;     /* (element-type PostFdWatch) (unowned) */
  GPtrArray    *dead;      /* (element-type PostFdWatch) (owned) freed at depth 0 */
  guint         depth;     /* dispatches under way */
  guint         n_direct;  /* the context's direct watches */
} Reactor;

typedef struct {
  GSource      source;
  GPollFD      pollfd;
  PostFdWatch *watch;   /* (unowned) it owns the source */
} DirectSource;

struct _PostFdWatch {
  Reactor         *reactor;    /* (owned) a reference to its source */
  int              fd;
  GIOCondition     events;
  gboolean         polled;     /* not suspended */
  PostFdWatchFunc  func;       /* NULL once freed */
  gpointer         user_data;
  DirectSource    *direct;     /* (owned) (nullable) a direct watch's source */
  /* an epoll member's */
  gboolean         registered;
  guint32          registered_events;
  gboolean         dirty;
};

static GMutex reactors_lock;
static GHashTable *reactors;   /* GMainContext → Reactor (unowned) */

/* ---- direct watches --------------------------------------------------------- */

static gboolean
direct_check (GSource *source)
{
  DirectSource *d = (DirectSource *) source;
  PostFdWatch *w = d->watch;

  return w->polled && (d->pollfd.revents & (w->events | TROUBLE)) != 0;
}

static gboolean
direct_dispatch (GSource *source, GSourceFunc callback, gpointer user_data)
{
  DirectSource *d = (DirectSource *) source;
  PostFdWatch *w = d->watch;
  GIOCondition revents = d->pollfd.revents & (w->events | TROUBLE);

  d->pollfd.revents = 0;
  w->func (w, revents, w->user_data);   /* may free w */
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs direct_funcs = { NULL, direct_check, direct_dispatch, NULL, NULL, NULL };

/* ---- the reactor ---------------------------------------------------------------- */

static guint32
to_epoll (GIOCondition events)
{
  return ((events & G_IO_IN) ? EPOLLIN : 0) | ((events & G_IO_OUT) ? EPOLLOUT : 0)
         | ((events & G_IO_PRI) ? EPOLLPRI : 0);
}

static GIOCondition
from_epoll (guint32 events)
{
  return ((events & EPOLLIN) ? G_IO_IN : 0) | ((events & EPOLLOUT) ? G_IO_OUT : 0)
         | ((events & EPOLLPRI) ? G_IO_PRI : 0) | ((events & EPOLLHUP) ? G_IO_HUP : 0)
         | ((events & EPOLLERR) ? G_IO_ERR : 0);
}

static void
watch_release (PostFdWatch *w)
{
  g_source_unref ((GSource *) w->reactor);
  g_free (w);
}

/* Brings @w's epoll registration up to date. */
static void
member_apply (Reactor *r, PostFdWatch *w)
{
  struct epoll_event ev = { .events = to_epoll (w->events), .data.ptr = w };

  w->dirty = FALSE;
  if (!w->polled)
    {
      if (w->registered)
        epoll_ctl (r->epfd, EPOLL_CTL_DEL, w->fd, NULL);
      w->registered = FALSE;
      return;
    }
  if (w->registered && w->registered_events == ev.events)
    return;
  if (epoll_ctl (r->epfd, w->registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, w->fd, &ev) == 0)
    {
      w->registered = TRUE;
      w->registered_events = ev.events;
    }
  else
    g_warning ("epoll_ctl on descriptor %d: %s", w->fd, g_strerror (errno));
}

static void
reactor_flush_dead (Reactor *r)
{
  if (r->depth == 0 && r->dead->len > 0)
    g_ptr_array_set_size (r->dead, 0);   /* frees them */
}

static gboolean
reactor_prepare (GSource *source, gint *timeout)
{
  Reactor *r = (Reactor *) source;

  for (guint i = 0; i < r->dirty->len; i++)
    {
      PostFdWatch *w = r->dirty->pdata[i];

      if (w->func != NULL)
        member_apply (r, w);
    }
  g_ptr_array_set_size (r->dirty, 0);
  reactor_flush_dead (r);
  *timeout = -1;
  return FALSE;
}

static gboolean
reactor_check (GSource *source)
{
  Reactor *r = (Reactor *) source;

  return r->tag != NULL && (g_source_query_unix_fd (source, r->tag) & G_IO_IN) != 0;
}

static gboolean
reactor_dispatch (GSource *source, GSourceFunc callback, gpointer user_data)
{
  Reactor *r = (Reactor *) source;
  struct epoll_event events[BATCH];
  int n;

  do
    n = epoll_wait (r->epfd, events, BATCH, 0);
  while (n < 0 && errno == EINTR);
  r->depth++;
  for (int i = 0; i < n; i++)
    {
      PostFdWatch *w = events[i].data.ptr;
      GIOCondition revents;

      if (w->func == NULL || !w->polled)
        continue;   /* freed or suspended during this batch */
      revents = from_epoll (events[i].events) & (w->events | TROUBLE);
      if (revents != 0)
        w->func (w, revents, w->user_data);
    }
  r->depth--;
  reactor_flush_dead (r);
  return G_SOURCE_CONTINUE;
}

static void
reactor_finalize (GSource *source)
{
  Reactor *r = (Reactor *) source;

  g_mutex_lock (&reactors_lock);
  if (reactors != NULL && g_hash_table_lookup (reactors, r->context) == r)
    g_hash_table_remove (reactors, r->context);
  g_mutex_unlock (&reactors_lock);
  if (r->epfd >= 0)
    close (r->epfd);
  g_ptr_array_unref (r->dirty);
  g_ptr_array_unref (r->dead);
}

static GSourceFuncs reactor_funcs = { reactor_prepare, reactor_check, reactor_dispatch, reactor_finalize, NULL, NULL };

static void
dead_free (gpointer data)
{
  watch_release (data);
}

/* The reactor of @context, a new reference. */
static Reactor *
reactor_get (GMainContext *context)
{
  Reactor *r;

  g_mutex_lock (&reactors_lock);
  if (reactors == NULL)
    reactors = g_hash_table_new (NULL, NULL);
  r = g_hash_table_lookup (reactors, context);
  if (r != NULL && !g_source_is_destroyed ((GSource *) r))
    {
      g_source_ref ((GSource *) r);
      g_mutex_unlock (&reactors_lock);
      return r;
    }
  r = (Reactor *) g_source_new (&reactor_funcs, sizeof (Reactor));
  r->context = context;
  r->epfd = -1;
  r->dirty = g_ptr_array_new ();
  r->dead = g_ptr_array_new_with_free_func (dead_free);
  g_source_set_static_name ((GSource *) r, "[post] fd watches (epoll)");
  /* Callbacks may iterate the context (as direct sources allow). */
  g_source_set_can_recurse ((GSource *) r, TRUE);
  g_hash_table_replace (reactors, context, r);
  g_source_attach ((GSource *) r, context);   /* the context's reference */
  g_source_ref ((GSource *) r);                /* the caller's */
  g_mutex_unlock (&reactors_lock);
  return r;
}

static gboolean
reactor_ensure_epoll (Reactor *r)
{
  if (r->epfd >= 0)
    return TRUE;
  r->epfd = epoll_create1 (EPOLL_CLOEXEC);
  if (r->epfd < 0)
    return FALSE;
  r->tag = g_source_add_unix_fd ((GSource *) r, r->epfd, G_IO_IN);
  return TRUE;
}

static void
member_mark_dirty (PostFdWatch *w)
{
  if (!w->dirty)
    {
      w->dirty = TRUE;
      g_ptr_array_add (w->reactor->dirty, w);
    }
}

/* ---- the API ----------------------------------------------------------------------- */

PostFdWatch *
post_fd_watch_new (GMainContext *context, int fd, GIOCondition events, const char *name,
                   PostFdWatchFunc func, gpointer user_data)
{
  PostFdWatch *w = g_new0 (PostFdWatch, 1);

  if (context == NULL)
    context = g_main_context_default ();
  w->reactor = reactor_get (context);
  w->fd = fd;
  w->events = events;
  w->polled = TRUE;
  w->func = func;
  w->user_data = user_data;
  if (w->reactor->n_direct < POST_FD_WATCH_DIRECT_MAX || !reactor_ensure_epoll (w->reactor))
    {
      GSource *source = g_source_new (&direct_funcs, sizeof (DirectSource));

      w->direct = (DirectSource *) source;
      w->direct->watch = w;
      w->direct->pollfd.fd = fd;
      w->direct->pollfd.events = events;
      g_source_set_static_name (source, name);
      /* GLib blocks a non-recursive source while dispatching it, which
       * removes and re-adds its descriptor and wakes the context up twice;
       * the callbacks are safe to re-enter. */
      g_source_set_can_recurse (source, TRUE);
      g_source_add_poll (source, &w->direct->pollfd);
      g_source_attach (source, context);
      w->reactor->n_direct++;
      return w;
    }
  member_mark_dirty (w);
  return w;
}

void
post_fd_watch_free (PostFdWatch *w)
{
  Reactor *r;

  if (w == NULL)
    return;
  r = w->reactor;
  w->func = NULL;
  if (w->direct != NULL)
    {
      g_source_destroy ((GSource *) w->direct);
      g_source_unref ((GSource *) w->direct);
      r->n_direct--;
      watch_release (w);
      return;
    }
  if (w->registered)
    epoll_ctl (r->epfd, EPOLL_CTL_DEL, w->fd, NULL);
  w->registered = FALSE;
  if (w->dirty)
    g_ptr_array_remove_fast (r->dirty, w);
  w->dirty = FALSE;
  if (r->depth > 0)
    g_ptr_array_add (r->dead, w);   /* freed when the batch is over */
  else
    watch_release (w);
}

void
post_fd_watch_set_events (PostFdWatch *w, GIOCondition events)
{
  gboolean resume = events != 0 && !w->polled;

  w->events = events;
  if (w->direct != NULL)
    {
      w->direct->pollfd.events = events;
      if (resume)
        g_source_add_poll ((GSource *) w->direct, &w->direct->pollfd);
    }
  else
    member_mark_dirty (w);
  if (resume)
    w->polled = TRUE;
}

void
post_fd_watch_suspend (PostFdWatch *w)
{
  if (!w->polled)
    return;
  w->polled = FALSE;
  if (w->direct != NULL)
    g_source_remove_poll ((GSource *) w->direct, &w->direct->pollfd);
  else
    member_mark_dirty (w);
}

gboolean
post_fd_watch_is_shared (PostFdWatch *w)
{
  return w->direct == NULL;
}
