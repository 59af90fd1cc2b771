/* post-carrier-fork.c: PostCarrier: forking, and forks without streams (fork control frames)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "post-carrier-private.h"

#define FORK_TOKENS_PER_CARRIER   32     /* pending forks of one carrier, either way */
#define FORK_TOKENS_PER_LISTENER  1024   /* tokens a listener holds for all its carriers */
#define FORK_HELD_PER_LISTENER    64     /* new transports waiting for their first frame */
#define FORK_TOKEN_LIFETIME_MS    30000  /* without a conn-timeout */

/* ---- forking without streams: control frames ------------------------------------------- */

/* A fork on a byte stream without streams is a new transport T.  Between two
 * libpost peers speaking libpost's framing, control frames on the carrier C
 * and on T make it a fork request of C at the peer (docs/framing.md,
 * "Forking with control frames"):
 *
 *   opener (initiated C)                   acceptor (C accepted by listener L)
 *   FORK-OFFER(token)   on C   ──►         token registered at L
 *                       on C   ◄──         FORK-READY(token)
 *   opens T, FORK(token) first on T ──►    L holds T, matches the token:
 *                                          C's incoming signal decides
 *                       on T   ◄──         FORK-ACCEPTED (or FORK-REFUSED, close)
 *
 *   The acceptor forks: it registers a token at L and sends
 *   FORK-INVITE(token) on C; the opener opens T, C's incoming signal
 *   decides there, and T's first frame is FORK(token) (accepted) or T is
 *   dropped and FORK-REFUSED(token) goes on C. */

enum
{
  FORK_CONTROL_OFFER    = 0x01,
  FORK_CONTROL_READY    = 0x02,
  FORK_CONTROL_INVITE   = 0x03,
  FORK_CONTROL_FORK     = 0x04,
  FORK_CONTROL_ACCEPTED = 0x05,
  FORK_CONTROL_REFUSED  = 0x06,
};

/* FORK-REFUSED's flags: not the application's answer but a limit, a
 * listener gone or a transport that could not be opened. */
#define FORK_REFUSED_UNABLE 0x01

struct _ForkToken
{
  guint8        token[FORK_TOKEN_SIZE];
  gboolean      invite;
  PostCarrier  *carrier;     /* (unowned) the accepted carrier; the entry goes with it */
  PostCarrier  *listener;    /* (unowned) owns the entry */
  GInetAddress *peer;        /* (owned) (nullable) the carrier's remote address */
  GTask        *task;        /* (owned) (nullable) invite: the carrier's fork_async */
  GSource      *timeout;     /* (owned) */
};

struct _ForkOut
{
  guint8        token[FORK_TOKEN_SIZE];
  gboolean      invite;      /* answering the peer's FORK-INVITE */
  gboolean      ready;       /* FORK-READY came: T is being opened */
  PostCarrier  *origin;      /* (unowned) the carrier forked; owns the entry */
  GTask        *task;        /* (owned) (nullable) offer: the fork_async */
  PostCarrier  *forked;      /* (owned) (nullable) T */
  GSource      *timeout;     /* (owned) (nullable) */
};

static guint
token_hash (gconstpointer key)
{
  guint32 h;

  memcpy (&h, key, sizeof h);   /* random bytes */
  return h;
}

static gboolean
token_equal (gconstpointer a,
             gconstpointer b)
{
  return memcmp (a, b, FORK_TOKEN_SIZE) == 0;
}

static gboolean
make_token (guint8 *token)
{
  gsize done = 0;

  while (done < FORK_TOKEN_SIZE)
    {
      gssize n = getrandom (token + done, FORK_TOKEN_SIZE - done, 0);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return FALSE;
      done += n;
    }
  return TRUE;
}

static guint
fork_lifetime_ms (PostCarrier *self)
{
  guint ms = post_configuration_get_conn_timeout (self->configuration);

  return ms > 0 ? ms : FORK_TOKEN_LIFETIME_MS;
}

static GSource *
fork_timeout_new (guint        ms,
                  GSourceFunc  func,
                  gpointer     data,
                  GMainContext *context)
{
  GSource *source = g_timeout_source_new (ms);

  g_source_set_callback (source, func, data, NULL);
  g_source_set_static_name (source, "[libpost] fork timeout");
  g_source_attach (source, context);
  return source;
}

void
_post_carrier_send_fork_control (PostCarrier  *self,
                                 guint8        type,
                                 guint8        flags,
                                 const guint8 *token)
{
  if (self->transient == NULL
      || !_post_transient_send_control (self->transient, type, flags, token,
                                        token != NULL ? FORK_TOKEN_SIZE : 0))
    g_debug ("Cannot send fork control frame %u: the carrier no longer sends", type);
}

static void
fail_protocol (PostCarrier *self,
               const char  *what)
{
  g_autoptr(GError) error = g_error_new (POST_ERROR, POST_ERROR_PROTOCOL,
                                         "The peer's data violates the framing: %s", what);

  if (self->transient != NULL && _post_transient_is_attached (self->transient))
    _post_transient_abort (self->transient, error);
}

/* ---- at the listener: tokens and held transports ---- */

void
_post_carrier_clear_source_free (GSource *source)
{
  g_source_destroy (source);
  g_source_unref (source);
}

static void
unref_when_closed_cb (PostCarrier  *carrier,
                      const GError *error,
                      gpointer      user_data)
{
  g_signal_handlers_disconnect_by_func (carrier, unref_when_closed_cb, user_data);
  g_object_unref (carrier);
}

/* Closes @self gracefully, keeping it alive until it has closed (what it
 * queued, such as FORK-REFUSED, still goes out). */
static void
close_kept (PostCarrier *self)
{
  if (self->state != POST_CARRIER_STATE_CLOSED)
    {
      g_signal_connect (g_object_ref (self), "closed", G_CALLBACK (unref_when_closed_cb), NULL);
      post_carrier_close (self);
    }
}

static void
fork_token_free (ForkToken *t)
{
  g_clear_pointer (&t->timeout, _post_carrier_clear_source_free);
  g_clear_object (&t->peer);
  if (t->task != NULL)
    {
      g_task_set_task_data (t->task, NULL, NULL);
      g_clear_object (&t->task);
    }
  g_free (t);
}

static void release_held_without_tokens (PostCarrier *listener);

/* Removes @t from its listener; an invite's fork_async fails with @error. */
static void
fork_token_drop (ForkToken    *t,
                 const GError *error)
{
  PostCarrier *listener = t->listener;
  g_autoptr(GTask) task = t->task ? g_object_ref (t->task) : NULL;

  if (t->carrier != NULL && t->carrier->n_fork_tokens > 0)
    t->carrier->n_fork_tokens--;
  g_hash_table_remove (listener->fork_tokens, t->token);   /* frees t */
  if (task != NULL && error != NULL)
    g_task_return_error (task, g_error_copy (error));
  release_held_without_tokens (listener);
}

static gboolean
fork_token_timeout_cb (gpointer data)
{
  ForkToken *t = data;
  g_autoptr(GError) error =
    g_error_new (POST_ERROR, POST_ERROR_TIMED_OUT,
                 "The peer did not open the fork within %u ms", fork_lifetime_ms (t->listener));

  g_clear_pointer (&t->timeout, g_source_unref);
  fork_token_drop (t, error);
  return G_SOURCE_REMOVE;
}

static ForkToken *
register_token (PostCarrier   *listener,
                PostCarrier   *carrier,
                const guint8  *token,
                gboolean       invite,
                GError       **error)
{
  ForkToken *t;
  GSocketAddress *remote;

  if (listener->fork_tokens == NULL)
    listener->fork_tokens = g_hash_table_new_full (token_hash, token_equal, NULL,
                                                   (GDestroyNotify) fork_token_free);
  if (carrier->n_fork_tokens >= FORK_TOKENS_PER_CARRIER
      || g_hash_table_size (listener->fork_tokens) >= FORK_TOKENS_PER_LISTENER)
    {
      g_set_error (error, POST_ERROR, POST_ERROR_WOULD_BLOCK,
                   "Too many forks are pending (at most %u per carrier, %u per listener)",
                   FORK_TOKENS_PER_CARRIER, FORK_TOKENS_PER_LISTENER);
      return NULL;
    }
  if (g_hash_table_contains (listener->fork_tokens, token))
    {
      g_set_error_literal (error, POST_ERROR, POST_ERROR_PROTOCOL, "A fork token was used twice");
      return NULL;
    }
  t = g_new0 (ForkToken, 1);
  memcpy (t->token, token, FORK_TOKEN_SIZE);
  t->invite = invite;
  t->carrier = carrier;
  t->listener = listener;
  remote = post_psi_get_remote_address (post_transient_get_psi (carrier->transient));
  if (G_IS_INET_SOCKET_ADDRESS (remote))
    t->peer = g_object_ref (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (remote)));
  t->timeout = fork_timeout_new (fork_lifetime_ms (listener), fork_token_timeout_cb, t,
                                 listener->context);
  carrier->n_fork_tokens++;
  g_hash_table_insert (listener->fork_tokens, t->token, t);
  return t;
}

/* The tokens of @carrier go with it (its invites fail with @error). */
static void
drop_carrier_tokens (PostCarrier  *carrier,
                     const GError *error)
{
  PostCarrier *listener = _post_carrier_get_listener (carrier);
  GHashTableIter iter;
  ForkToken *t;
  g_autoptr(GPtrArray) mine = NULL;

  if (listener == NULL || listener->fork_tokens == NULL || carrier->n_fork_tokens == 0)
    return;
  mine = g_ptr_array_new ();
  g_hash_table_iter_init (&iter, listener->fork_tokens);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &t))
    if (t->carrier == carrier)
      g_ptr_array_add (mine, t);
  for (guint i = 0; i < mine->len; i++)
    fork_token_drop (mine->pdata[i], error);
}

static gboolean
tokens_for_peer (PostCarrier    *listener,
                 GSocketAddress *remote)
{
  GHashTableIter iter;
  ForkToken *t;

  if (listener->fork_tokens == NULL || !G_IS_INET_SOCKET_ADDRESS (remote))
    return FALSE;
  g_hash_table_iter_init (&iter, listener->fork_tokens);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &t))
    if (t->peer != NULL
        && g_inet_address_equal (t->peer, g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (remote))))
      return TRUE;
  return FALSE;
}

static void note_listener (PostCarrier *self, PostCarrier *child);
static gboolean held_timeout_cb (gpointer data);
static gboolean held_idle_cb (gpointer data);

static void
unhold (PostCarrier *child)
{
  PostCarrier *listener = _post_carrier_get_listener (child);

  if (!child->held)
    return;
  child->held = FALSE;
  g_clear_pointer (&child->held_timeout, _post_carrier_clear_source_free);
  g_clear_pointer (&child->held_idle, _post_carrier_clear_source_free);
  if (listener != NULL && listener->held_children != NULL)
    g_hash_table_remove (listener->held_children, child);   /* drops its reference */
}

static void
move_to_association (PostCarrier     *self,
                     PostAssociation *association)
{
  if (self->association == association)
    return;
  if (self->association != NULL)
    {
      _post_association_remove_carrier (self->association, self);
      g_clear_object (&self->association);
    }
  if (association != NULL)
    {
      self->association = g_object_ref (association);
      _post_association_add_carrier (association, self);
    }
}

/* An accepted transport offered by the listener's incoming signal, as
 * before control frames: an ordinary carrier. */
static void
announce_child (PostCarrier *listener,
                PostCarrier *child)
{
  gboolean accepted = FALSE;

  g_signal_emit (listener, _post_carrier_signals[CARRIER_SIGNAL_INCOMING], 0, child, &accepted);
  if (!accepted)
    {
      _post_carrier_refuse_child (listener, child);
      return;
    }
  /* Announced (its handlers are connected): what the peer sent already,
   * or its end, is read now rather than after one more poll. */
  if (child->transient != NULL && child->state == POST_CARRIER_STATE_ACTIVE)
    _post_transient_try_read (child->transient);
}

/* A held transport whose first frame was FORK(@token). */
static void
match_fork (PostCarrier  *listener,
            PostCarrier  *child,
            const guint8 *token)
{
  ForkToken *t = listener->fork_tokens ? g_hash_table_lookup (listener->fork_tokens, token) : NULL;
  PostCarrier *original;
  gboolean accepted = FALSE;

  if (t == NULL || t->carrier == NULL || t->carrier->state != POST_CARRIER_STATE_ACTIVE)
    {
      /* Nobody announced it here: not a fork of one of our carriers (and
       * no carrier is announced for it). */
      g_debug ("A new transport presented an unknown fork token; closing it");
      post_carrier_abort (child);
      return;
    }
  original = g_object_ref (t->carrier);
  move_to_association (child, original->association);
  if (t->invite)
    {
      /* Our own fork, which the peer accepted: the fork_async's result. */
      g_autoptr(GTask) task = g_steal_pointer (&t->task);

      g_task_set_task_data (task, NULL, NULL);
      fork_token_drop (t, NULL);
      g_task_return_pointer (task, g_object_ref (child), g_object_unref);
      if (child->transient != NULL && child->state == POST_CARRIER_STATE_ACTIVE)
        _post_transient_try_read (child->transient);
      g_object_unref (original);
      return;
    }
  fork_token_drop (t, NULL);
  /* The peer's fork request of @original, as a stream's would be. */
  g_signal_emit (original, _post_carrier_signals[CARRIER_SIGNAL_INCOMING], 0, child, &accepted);
  if (!accepted)
    {
      g_debug ("No handler accepted the fork request; refusing it");
      _post_carrier_send_fork_control (child, FORK_CONTROL_REFUSED, 0, token);
      close_kept (child);
    }
  else
    {
      /* (A control frame: it goes before whatever the handler sent.) */
      _post_carrier_send_fork_control (child, FORK_CONTROL_ACCEPTED, 0, NULL);
      if (child->transient != NULL && child->state == POST_CARRIER_STATE_ACTIVE)
        _post_transient_try_read (child->transient);
    }
  g_object_unref (original);
}

/* A held transport that ended while held closes now that it is decided
 * (what it received stays receivable). */
static void
finish_held_end (PostCarrier *child)
{
  g_autoptr(GError) error = NULL;

  if (!child->held_ended)
    return;
  child->held_ended = FALSE;
  error = g_steal_pointer (&child->held_end_error);
  if (child->state != POST_CARRIER_STATE_CLOSED)
    _post_carrier_set_closed (child, error);
}

/* Decides about a held transport once its first frame came (or it waited
 * long enough, or ended, or no fork can be coming any more). */
static void
process_held (PostCarrier *child,
              gboolean     force)
{
  PostCarrier *listener = _post_carrier_get_listener (child);
  g_autoptr(PostCarrier) keep = g_object_ref (child);
  gboolean seen;

  if (!child->held)
    return;
  if (listener == NULL || listener->state != POST_CARRIER_STATE_ACTIVE
      || child->state == POST_CARRIER_STATE_CLOSED)
    {
      unhold (child);
      post_carrier_abort (child);
      return;
    }
  if (child->held_fork)
    {
      guint8 token[FORK_TOKEN_SIZE];

      memcpy (token, child->held_token, FORK_TOKEN_SIZE);
      unhold (child);
      match_fork (listener, child, token);
      finish_held_end (child);
      return;
    }
  seen = _post_transient_has_seen_frame (child->transient);
  if (child->held_ended && !seen && tokens_for_peer (listener, post_carrier_get_remote_address (child)))
    {
      /* A fork's transport that ended before saying anything (its fork
       * was refused or cancelled): nothing to announce. */
      unhold (child);
      finish_held_end (child);
      return;
    }
  if (force || seen || child->held_ended
      || !tokens_for_peer (listener, post_carrier_get_remote_address (child)))
    {
      unhold (child);
      announce_child (listener, child);
      finish_held_end (child);
    }
}

static gboolean
held_idle_cb (gpointer data)
{
  PostCarrier *child = data;

  g_clear_pointer (&child->held_idle, g_source_unref);
  process_held (child, FALSE);
  return G_SOURCE_REMOVE;
}

static gboolean
held_timeout_cb (gpointer data)
{
  PostCarrier *child = data;

  g_clear_pointer (&child->held_timeout, g_source_unref);
  process_held (child, TRUE);
  return G_SOURCE_REMOVE;
}

void
_post_carrier_schedule_held (PostCarrier *child)
{
  if (!child->held || child->held_idle != NULL)
    return;
  child->held_idle = g_idle_source_new ();
  g_source_set_priority (child->held_idle, G_PRIORITY_DEFAULT);
  g_source_set_callback (child->held_idle, held_idle_cb, child, NULL);
  g_source_set_static_name (child->held_idle, "[libpost] held transport");
  g_source_attach (child->held_idle, child->context);
}

/* A token went: held transports from addresses no fork can come from any
 * more are ordinary carriers after all. */
static void
release_held_without_tokens (PostCarrier *listener)
{
  GHashTableIter iter;
  PostCarrier *child;

  if (listener->held_children == NULL)
    return;
  g_hash_table_iter_init (&iter, listener->held_children);
  while (g_hash_table_iter_next (&iter, (gpointer *) &child, NULL))
    if (!tokens_for_peer (listener, post_carrier_get_remote_address (child)))
      _post_carrier_schedule_held (child);
}

/* The listener accepted @psi with libpost's framing: the transport may be
 * a fork of one of its carriers (its first frame then says FORK), or an
 * ordinary carrier.  What has arrived is read before deciding; a
 * transport from an address with a fork pending waits (bounded) for its
 * first frame. */
void
_post_carrier_accept_maybe_fork (PostCarrier *self,
                                 PostCarrier *child)
{
  note_listener (self, child);
  if (self->held_children == NULL)
    self->held_children = g_hash_table_new_full (NULL, NULL, g_object_unref, NULL);
  if (g_hash_table_size (self->held_children) >= FORK_HELD_PER_LISTENER)
    {
      announce_child (self, child);
      return;
    }
  child->held = TRUE;
  g_hash_table_add (self->held_children, g_object_ref (child));
  _post_transient_try_read (child->transient);
  if (!child->held)
    return;
  if (child->held_fork || child->held_ended
      || _post_transient_has_seen_frame (child->transient)
      || !tokens_for_peer (self, post_carrier_get_remote_address (child)))
    {
      process_held (child, FALSE);
      return;
    }
  g_debug ("A new transport from an address with a fork pending: waiting for its first frame");
  child->held_timeout = fork_timeout_new (fork_lifetime_ms (self), held_timeout_cb, child,
                                          child->context);
}

/* An ordinary carrier accepted by a listener, announced without waiting
 * (it can still fork, and the peer's forks of it arrive as fork requests). */
static void
note_listener (PostCarrier *self,
               PostCarrier *child)
{
  if (child->listener_link != NULL)
    return;
  /* One link for all the listener's carriers (see PostCarrierLink). */
  if (self->accepted_link == NULL)
    {
      self->accepted_link = g_rc_box_new0 (PostCarrierLink);
      self->accepted_link->listener = self;
    }
  child->listener_link = g_rc_box_acquire (self->accepted_link);
}

/* ---- at the opener ---- */

static void
fork_out_free (ForkOut *f)
{
  g_clear_pointer (&f->timeout, _post_carrier_clear_source_free);
  if (f->task != NULL)
    {
      g_task_set_task_data (f->task, NULL, NULL);
      g_clear_object (&f->task);
    }
  if (f->forked != NULL)
    {
      f->forked->fork_wait = NULL;
      g_clear_object (&f->forked);
    }
  g_free (f);
}

/* Ends @f: its fork_async returns @result or @error; with @error, T is aborted. */
static void
fork_out_finish (ForkOut      *f,
                 PostCarrier  *result,
                 const GError *error)
{
  g_autoptr(GTask) task = f->task ? g_object_ref (f->task) : NULL;
  g_autoptr(PostCarrier) forked = f->forked ? g_object_ref (f->forked) : NULL;

  PostCarrier *origin = f->origin;
  guint8 token[FORK_TOKEN_SIZE];
  gboolean withdraw = error != NULL && !f->invite;

  if (task != NULL)
    g_task_set_task_data (task, NULL, NULL);
  memcpy (token, f->token, FORK_TOKEN_SIZE);
  g_hash_table_remove (origin->forks_out, f->token);   /* frees f */
  /* An offer that ends unanswered: the peer forgets its token. */
  if (withdraw && origin->state == POST_CARRIER_STATE_ACTIVE)
    _post_carrier_send_fork_control (origin, FORK_CONTROL_REFUSED, FORK_REFUSED_UNABLE, token);
  if (forked != NULL)
    forked->fork_wait = NULL;
  if (error != NULL && forked != NULL)
    post_carrier_abort (forked);
  if (task != NULL)
    {
      if (error != NULL)
        g_task_return_error (task, g_error_copy (error));
      else
        g_task_return_pointer (task, g_object_ref (result), g_object_unref);
    }
}

static void
fail_forks_out (PostCarrier  *self,
                const GError *error)
{
  GHashTableIter iter;
  ForkOut *f;
  g_autoptr(GPtrArray) all = NULL;

  if (self->forks_out == NULL || g_hash_table_size (self->forks_out) == 0)
    return;
  all = g_ptr_array_new ();
  g_hash_table_iter_init (&iter, self->forks_out);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &f))
    g_ptr_array_add (all, f);
  for (guint i = 0; i < all->len; i++)
    fork_out_finish (all->pdata[i], NULL, error);
}

static gboolean
fork_out_timeout_cb (gpointer data)
{
  ForkOut *f = data;
  g_autoptr(GError) error =
    g_error_new (POST_ERROR, POST_ERROR_TIMED_OUT,
                 "The peer did not answer the fork within %u ms (conn-timeout)",
                 fork_lifetime_ms (f->origin));

  g_clear_pointer (&f->timeout, g_source_unref);
  fork_out_finish (f, NULL, error);
  return G_SOURCE_REMOVE;
}

static ForkOut *
fork_out_new (PostCarrier  *self,
              const guint8 *token,
              gboolean      invite,
              GTask        *task)
{
  ForkOut *f = g_new0 (ForkOut, 1);

  memcpy (f->token, token, FORK_TOKEN_SIZE);
  f->invite = invite;
  f->origin = self;
  f->task = task ? g_object_ref (task) : NULL;
  f->timeout = fork_timeout_new (fork_lifetime_ms (self), fork_out_timeout_cb, f, self->context);
  if (self->forks_out == NULL)
    self->forks_out = g_hash_table_new_full (token_hash, token_equal, NULL,
                                             (GDestroyNotify) fork_out_free);
  g_hash_table_insert (self->forks_out, f->token, f);
  if (task != NULL)
    g_task_set_task_data (task, f, NULL);
  return f;
}

static void
fork_transport_established_cb (GObject      *source,
                               GAsyncResult *result,
                               gpointer      user_data)
{
  PostCarrier *forked = POST_CARRIER (source);
  ForkOut *f = forked->fork_wait;
  g_autoptr(GError) error = NULL;
  gboolean ok = post_carrier_establish_finish (forked, result, &error);

  g_object_unref (user_data);   /* our reference on forked, from open_fork_transport() */
  if (f == NULL)
    return;   /* finished meanwhile (cancelled, timed out, origin closed) */
  if (!ok)
    {
      if (f->invite)
        _post_carrier_send_fork_control (f->origin, FORK_CONTROL_REFUSED, FORK_REFUSED_UNABLE, f->token);
      fork_out_finish (f, NULL, error);
      return;
    }
  if (f->invite)
    {
      PostCarrier *origin = f->origin;
      g_autoptr(PostCarrier) keep = g_object_ref (forked);
      guint8 token[FORK_TOKEN_SIZE];
      gboolean accepted = FALSE;

      /* The peer's fork request of origin: our incoming signal decides. */
      memcpy (token, f->token, FORK_TOKEN_SIZE);
      fork_out_finish (f, NULL, NULL);   /* no task; forked stays */
      g_signal_emit (origin, _post_carrier_signals[CARRIER_SIGNAL_INCOMING], 0, forked, &accepted);
      if (!accepted)
        {
          g_debug ("No handler accepted the fork request; refusing it");
          _post_carrier_send_fork_control (origin, FORK_CONTROL_REFUSED, 0, token);
          post_carrier_abort (forked);
          return;
        }
      _post_carrier_send_fork_control (forked, FORK_CONTROL_FORK, 0, token);
      if (forked->transient != NULL && forked->state == POST_CARRIER_STATE_ACTIVE)
        _post_transient_try_read (forked->transient);
    }
  /* An offer: the fork completes with FORK-ACCEPTED on T. */
}

static void
open_fork_transport (ForkOut *f)
{
  PostCarrier *forked = _post_carrier_initiate_on_association (f->origin->association);

  f->ready = TRUE;
  f->forked = forked;   /* owns it */
  forked->fork_wait = f;
  post_carrier_establish_async (forked, NULL, fork_transport_established_cb, g_object_ref (forked));
}

static void
fork_cancelled (GTask    *task,
                gpointer  user_data)
{
  ForkOut *f = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;

  if (f == NULL || f->task != task)
    return;
  error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, "The fork was cancelled");
  fork_out_finish (f, NULL, error);
}

static void
invite_cancelled (GTask    *task,
                  gpointer  user_data)
{
  ForkToken *t = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;

  if (t == NULL || t->task != task)
    return;
  error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, "The fork was cancelled");
  fork_token_drop (t, error);
}

/* Forks @self with control frames; returns FALSE (the task untouched) when
 * this carrier cannot. */
static gboolean
fork_with_control (PostCarrier *self,
                   GTask       *task)
{
  guint8 token[FORK_TOKEN_SIZE];
  g_autoptr(GError) error = NULL;

  if (self->transient == NULL || !_post_transient_speaks_control (self->transient))
    return FALSE;
  if (!make_token (token))
    {
      g_task_return_new_error (task, POST_ERROR, POST_ERROR_FAILED,
                               "The system gives no randomness for a fork token");
      return TRUE;
    }
  if (!self->passive && self->remote != NULL && self->association != NULL)
    {
      if (self->forks_out != NULL && g_hash_table_size (self->forks_out) >= FORK_TOKENS_PER_CARRIER)
        {
          g_task_return_new_error (task, POST_ERROR, POST_ERROR_WOULD_BLOCK,
                                   "Too many forks of this carrier are pending (at most %u)",
                                   FORK_TOKENS_PER_CARRIER);
          return TRUE;
        }
      fork_out_new (self, token, FALSE, task);
      _post_task_watch_cancel (task, fork_cancelled, NULL);
      _post_carrier_send_fork_control (self, FORK_CONTROL_OFFER, 0, token);
      return TRUE;
    }
  if (self->passive && _post_carrier_get_listener (self) != NULL)
    {
      ForkToken *t;

      if (_post_carrier_get_listener (self)->state != POST_CARRIER_STATE_ACTIVE)
        {
          g_task_return_new_error (task, POST_ERROR, POST_ERROR_NOT_SUPPORTED,
                                   "The listener that accepted this carrier is closed: "
                                   "the peer's transport for the fork could not arrive");
          return TRUE;
        }
      t = register_token (_post_carrier_get_listener (self), self, token, TRUE, &error);
      if (t == NULL)
        {
          g_task_return_error (task, g_steal_pointer (&error));
          return TRUE;
        }
      t->task = g_object_ref (task);
      g_task_set_task_data (task, t, NULL);
      _post_task_watch_cancel (task, invite_cancelled, NULL);
      _post_carrier_send_fork_control (self, FORK_CONTROL_INVITE, 0, token);
      return TRUE;
    }
  return FALSE;
}

static ForkOut *
lookup_fork_out (PostCarrier  *self,
                 const guint8 *token)
{
  return self->forks_out != NULL ? g_hash_table_lookup (self->forks_out, token) : NULL;
}

static void
handle_offer (PostCarrier  *self,
              const guint8 *token)
{
  g_autoptr(GError) error = NULL;

  if (!self->passive || _post_carrier_get_listener (self) == NULL || _post_carrier_get_listener (self)->state != POST_CARRIER_STATE_ACTIVE
      || self->role != POST_CARRIER_ROLE_CARRIER)
    {
      _post_carrier_send_fork_control (self, FORK_CONTROL_REFUSED, FORK_REFUSED_UNABLE, token);
      return;
    }
  if (register_token (_post_carrier_get_listener (self), self, token, FALSE, &error) == NULL)
    {
      g_debug ("Refusing the peer's fork: %s", error->message);
      _post_carrier_send_fork_control (self, FORK_CONTROL_REFUSED, FORK_REFUSED_UNABLE, token);
      return;
    }
  _post_carrier_send_fork_control (self, FORK_CONTROL_READY, 0, token);
}

static void
handle_invite (PostCarrier  *self,
               const guint8 *token)
{
  if (self->passive || self->remote == NULL || self->association == NULL
      || self->role != POST_CARRIER_ROLE_CARRIER || lookup_fork_out (self, token) != NULL
      || (self->forks_out != NULL && g_hash_table_size (self->forks_out) >= FORK_TOKENS_PER_CARRIER))
    {
      _post_carrier_send_fork_control (self, FORK_CONTROL_REFUSED, FORK_REFUSED_UNABLE, token);
      return;
    }
  open_fork_transport (fork_out_new (self, token, TRUE, NULL));
}

static void
handle_refused (PostCarrier  *self,
                const guint8 *token,
                guint8        flags)
{
  g_autoptr(GError) error =
    g_error_new_literal (POST_ERROR, POST_ERROR_CONNECTION_REFUSED,
                         (flags & FORK_REFUSED_UNABLE)
                         ? "The peer could not take the fork (a limit, or no transport for it)"
                         : "The peer refused the fork request");
  ForkOut *f;

  /* On T: the answer to our offer. */
  if (self->fork_wait != NULL)
    {
      fork_out_finish (self->fork_wait, NULL, error);
      return;
    }
  if (token == NULL)
    return;
  /* On C: our offer could not be registered. */
  if ((f = lookup_fork_out (self, token)) != NULL)
    {
      fork_out_finish (f, NULL, error);
      return;
    }
  /* On C: the peer refused (or could not open) the fork we invited. */
  if (_post_carrier_get_listener (self) != NULL && _post_carrier_get_listener (self)->fork_tokens != NULL)
    {
      ForkToken *t = g_hash_table_lookup (_post_carrier_get_listener (self)->fork_tokens, token);

      /* (An offer's token: the peer withdrew it.) */
      if (t != NULL && t->carrier == self)
        fork_token_drop (t, t->invite ? error : NULL);
    }
}

void
_post_carrier_first_message (PostCarrier   *self,
                             PostTransient *transient)
{
  if (transient == self->transient && self->held)
    _post_carrier_schedule_held (self);
}

void
_post_carrier_control_frame (PostCarrier   *self,
                             PostTransient *transient,
                             guint8         type,
                             guint8         flags,
                             GBytes        *body,
                             gboolean       first)
{
  gsize size = g_bytes_get_size (body);
  const guint8 *token = size == FORK_TOKEN_SIZE ? g_bytes_get_data (body, NULL) : NULL;

  if (transient != self->transient || self->state == POST_CARRIER_STATE_CLOSED)
    return;
  if (type > FORK_CONTROL_REFUSED)
    {
      g_debug ("Skipping a control frame of unknown type %u (%" G_GSIZE_FORMAT " bytes)", type, size);
      return;
    }
  if ((type == FORK_CONTROL_ACCEPTED && size != 0) || (type != FORK_CONTROL_ACCEPTED && token == NULL))
    {
      fail_protocol (self, "a fork control frame of the wrong size");
      return;
    }
  g_object_ref (self);
  switch (type)
    {
    case FORK_CONTROL_OFFER:
      handle_offer (self, token);
      break;
    case FORK_CONTROL_READY:
      {
        ForkOut *f = lookup_fork_out (self, token);

        if (f != NULL && !f->ready && !f->invite)
          open_fork_transport (f);
        break;
      }
    case FORK_CONTROL_INVITE:
      handle_invite (self, token);
      break;
    case FORK_CONTROL_FORK:
      if (!first || !self->held)
        {
          fail_protocol (self, "FORK is only the first frame of a new transport at a listener");
          break;
        }
      self->held_fork = TRUE;
      memcpy (self->held_token, token, FORK_TOKEN_SIZE);
      _post_carrier_schedule_held (self);
      break;
    case FORK_CONTROL_ACCEPTED:
      if (self->fork_wait != NULL && !self->fork_wait->invite)
        fork_out_finish (self->fork_wait, self, NULL);
      break;
    case FORK_CONTROL_REFUSED:
    default:
      handle_refused (self, token, flags);
      break;
    }
  g_object_unref (self);
}

/* @self closes: its pending forks and tokens go. */
void
_post_carrier_fork_state_closed (PostCarrier  *self,
                                 const GError *error)
{
  g_autoptr(GError) closed = g_error_new (POST_ERROR, POST_ERROR_CLOSED,
                                          "The carrier closed before its fork was answered%s%s",
                                          error ? ": " : "", error ? error->message : "");

  if (self->fork_wait != NULL)
    {
      g_autoptr(GError) refused =
        g_error_new (POST_ERROR, POST_ERROR_CONNECTION_REFUSED,
                     "The peer closed the fork's transport before accepting it%s%s",
                     error ? ": " : "", error ? error->message : "");

      fork_out_finish (self->fork_wait, NULL, refused);
    }
  fail_forks_out (self, closed);
  drop_carrier_tokens (self, closed);
  if (self->held)
    _post_carrier_schedule_held (self);
  if (self->role == POST_CARRIER_ROLE_LISTENER)
    {
      /* A listener: its tokens and held transports go with it. */
      if (self->fork_tokens != NULL)
        {
          GHashTableIter iter;
          ForkToken *t;
          g_autoptr(GPtrArray) all = g_ptr_array_new ();

          g_hash_table_iter_init (&iter, self->fork_tokens);
          while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &t))
            g_ptr_array_add (all, t);
          for (guint i = 0; i < all->len; i++)
            fork_token_drop (all->pdata[i], closed);
        }
      if (self->held_children != NULL)
        {
          GHashTableIter iter;
          PostCarrier *child;
          g_autoptr(GPtrArray) all = g_ptr_array_new_with_free_func (g_object_unref);

          g_hash_table_iter_init (&iter, self->held_children);
          while (g_hash_table_iter_next (&iter, (gpointer *) &child, NULL))
            g_ptr_array_add (all, g_object_ref (child));
          for (guint i = 0; i < all->len; i++)
            {
              unhold (all->pdata[i]);
              post_carrier_abort (all->pdata[i]);
            }
        }
    }
}

const guint8 *
_post_carrier_fork_wait_token (PostCarrier *self)
{
  return self->fork_wait != NULL && !self->fork_wait->invite ? self->fork_wait->token : NULL;
}

/* ---- forking ------------------------------------------------------------------------- */

static void
fork_stream_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  PostCarrier *self = g_task_get_source_object (task);
  GError *error = NULL;
  g_autoptr(PostPsi) psi = post_psi_fork_finish (POST_PSI (source), result, &error);

  if (psi == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  g_task_return_pointer (task, _post_carrier_new_accepted (self, psi), g_object_unref);
}

static void
fork_established_cb (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;

  if (!post_carrier_establish_finish (POST_CARRIER (source), result, &error))
    {
      post_carrier_abort (POST_CARRIER (source));
      g_task_return_error (task, error);
      return;
    }
  g_task_return_pointer (task, g_object_ref (source), g_object_unref);
}

/* The task of a fork of @self, or NULL when it has already failed: @self
 * must be an ACTIVE, usable carrier of the role carrier. */
static GTask *
fork_begin (PostCarrier         *self,
            GCancellable        *cancellable,
            GAsyncReadyCallback  callback,
            gpointer             user_data,
            gpointer             source_tag)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  GError *error = NULL;

  g_task_set_source_tag (task, source_tag);
  if (_post_carrier_return_if_cancelled (task))
    return NULL;
  if (self->role != POST_CARRIER_ROLE_CARRIER)
    {
      g_task_return_new_error (task, POST_ERROR, POST_ERROR_WRONG_ROLE,
                               "A %s cannot be forked", _post_carrier_role_name (self->role));
      return NULL;
    }
  if (!_post_carrier_check_usable (self, TRUE, &error))
    {
      g_task_return_error (task, error);
      return NULL;
    }
  if (self->state != POST_CARRIER_STATE_ACTIVE)
    {
      g_task_return_new_error (task, POST_ERROR, POST_ERROR_NOT_SUPPORTED,
                               "Only an active carrier can be forked");
      return NULL;
    }
  return g_steal_pointer (&task);
}

/**
 * post_carrier_fork_async:
 * @self: an ACTIVE carrier
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called with the new carrier
 * @user_data: data for @callback
 *
 * Creates a new carrier to the same remote on the same association (draft
 * 2.1).  With %POST_STACK_CAP_FORK_REQUEST the peer receives it as a fork
 * request of this carrier, through this carrier's peer's
 * #PostCarrier::incoming signal, and either side can fork:
 *
 * - on a multistreaming stack (quic, sctp) it is a new stream of the same
 *   transport;
 * - on a byte stream without streams (tcp, tls) using libpost's framing
 *   (%POST_FRAMING_AUTO with #PostLengthPrefixFramer) it is a new transport
 *   of the same stack, announced with control frames (docs/framing.md,
 *   "Forking with control frames"): the call completes once the peer
 *   accepted the fork request.  When the accepting side of a carrier forks,
 *   it asks the initiating side to open the transport, and completes with
 *   the carrier of that transport once it arrived at the listener that
 *   accepted this carrier (which must still be open).
 *
 * The peer must accept the fork request: a peer that refuses it (no
 * #PostCarrier::incoming handler returns %TRUE) makes the fork fail with
 * %POST_ERROR_CONNECTION_REFUSED (on tcp and tls), or closes the new carrier
 * with it once its first data reached the peer (quic).  A peer that never
 * answers makes it fail with %POST_ERROR_TIMED_OUT after the
 * configuration's `conn-timeout`; at most 32 forks of one carrier may be
 * pending at once (more fail with %POST_ERROR_WOULD_BLOCK, or at the peer's
 * side with %POST_ERROR_CONNECTION_REFUSED).  On the quic stack a fork
 * beyond the peer's limit on streams waits until the peer allows another
 * one (or @cancellable is cancelled).
 *
 * Without %POST_STACK_CAP_FORK_REQUEST (stream framing or another framer on
 * tcp and tls, where the peer may not be libpost; udp and dtls) the fork is
 * a new transport that the peer's listener receives as an ordinary
 * carrier, and only the initiating side can fork: on an accepted carrier
 * the call fails with %POST_ERROR_NOT_SUPPORTED.  Sources, sinks,
 * responders and listeners cannot fork (draft 2.1): that fails with
 * %POST_ERROR_WRONG_ROLE.
 *
 * Cancelling @cancellable completes the call with %G_IO_ERROR_CANCELLED;
 * a fork being established is aborted, one that completed meanwhile is
 * dropped (the peer sees it end).
 */
void
post_carrier_fork_async (PostCarrier         *self,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  PostPsi *psi;

  g_return_if_fail (POST_IS_CARRIER (self));

  if ((task = fork_begin (self, cancellable, callback, user_data, post_carrier_fork_async)) == NULL)
    return;

  psi = post_transient_get_psi (self->transient);
  if (post_psi_can_fork (psi))
    {
      post_psi_fork_async (psi, cancellable, fork_stream_cb, g_steal_pointer (&task));
      return;
    }
  /* Both peers speak libpost's framing: a fork request of this carrier
   * at the peer, whichever side forks. */
  if (self->role == POST_CARRIER_ROLE_CARRIER && fork_with_control (self, task))
    return;
  if (!self->passive && self->remote != NULL && self->association != NULL
      && post_stack_has_capabilities (post_psi_get_stack (psi), POST_STACK_CAP_LISTEN))
    {
      /* Initiated by us: a new transport of the same stack to the same
       * remote, on the same association; the peer's listener accepts it. */
      g_autoptr(PostCarrier) forked = _post_carrier_initiate_on_association (self->association);

      post_carrier_establish_async (forked, cancellable, fork_established_cb, g_steal_pointer (&task));
      return;
    }
  g_task_return_new_error (task, POST_ERROR, POST_ERROR_NOT_SUPPORTED,
                           "Stack %s cannot fork this carrier: it has no streams, and only "
                           "the side that initiated a carrier can open another transport",
                           post_stack_get_name (post_psi_get_stack (psi)));
}

/**
 * post_carrier_fork_source_async:
 * @self: an ACTIVE carrier on a stack with unidirectional streams (quic)
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called with the new source
 * @user_data: data for @callback
 *
 * Forks @self into a %POST_CARRIER_ROLE_SOURCE on a new unidirectional
 * stream of the same transport (RFC 9622 Clone with `direction`
 * unidirectional-send): it only sends, and the peer gets it as a fork
 * request (or accepted carrier) with the role %POST_CARRIER_ROLE_SINK.
 * HTTP/3's control and QPACK streams are such streams
 * ([class@Post.Http3Session]).  Stacks without unidirectional streams fail with
 * %POST_ERROR_NOT_SUPPORTED; quic fails with %POST_ERROR_WOULD_BLOCK when
 * the peer's limit on unidirectional streams is reached.
 */
void
post_carrier_fork_source_async (PostCarrier         *self,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  PostPsi *psi;

  g_return_if_fail (POST_IS_CARRIER (self));

  if ((task = fork_begin (self, cancellable, callback, user_data, post_carrier_fork_source_async)) == NULL)
    return;
  psi = post_transient_get_psi (self->transient);
  if (!post_psi_can_fork_source (psi))
    {
      g_task_return_new_error (task, POST_ERROR, POST_ERROR_NOT_SUPPORTED,
                               "Stack %s has no unidirectional streams",
                               post_stack_get_name (post_psi_get_stack (psi)));
      return;
    }
  post_psi_fork_source_async (psi, cancellable, fork_stream_cb, g_steal_pointer (&task));
}

/**
 * post_carrier_fork_source_finish:
 * @self: a #PostCarrier
 * @result: the result passed to the callback
 * @error: return location for an error
 *
 * Finishes post_carrier_fork_source_async().
 *
 * Returns: (transfer full): the new source, or %NULL with @error set
 */
PostCarrier *
post_carrier_fork_source_finish (PostCarrier   *self,
                                 GAsyncResult  *result,
                                 GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * post_carrier_fork_finish:
 * @self: a #PostCarrier
 * @result: the result passed to the callback
 * @error: return location for an error
 *
 * Finishes post_carrier_fork_async(). The new carrier, owned by the
 * caller, goes to the same remote on the same association. Fails with
 * %POST_ERROR_CONNECTION_REFUSED when the peer refused the fork,
 * %POST_ERROR_TIMED_OUT when it never answered, %POST_ERROR_WOULD_BLOCK
 * when too many forks are pending, %POST_ERROR_WRONG_ROLE for a listener,
 * or %G_IO_ERROR_CANCELLED.
 *
 * Returns: (transfer full): the new carrier, or %NULL with @error set
 */
PostCarrier *
post_carrier_fork_finish (PostCarrier   *self,
                          GAsyncResult  *result,
                          GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
