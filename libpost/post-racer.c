/* post-racer.c: racing candidate paths (draft 4.5, RFC 8305)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "post-selection-private.h"

#include <string.h>

/*
 * The race
 * ========
 *
 * The candidates arrive ordered (stack × remote address × local, best
 * first, with the association's previous winner in front).  The racer
 * starts the first attempt at once and each following one when the
 * previous attempt has been running for the attempt delay (RFC 8305's
 * "Connection Attempt Delay", 250 ms by default, the configuration's
 * `attempt-delay`) or as soon as it failed, whichever comes first.
 * Candidates of equal rank (the carrier gives them one non-zero group:
 * the same stack and remote address over different local interfaces,
 * which neither policy nor history tells apart) start together, and the
 * next step waits until every one of them failed or the delay passed.
 *
 * Each attempt is bound to its candidate's local address, and to its
 * interface — a gathered local's, or the one the application's local
 * names (post_psi_set_interface() before connecting: every stack applies
 * it with post_psi_bind_to_interface(), SO_BINDTODEVICE).
 *
 * The first attempt whose PSI connects *and is usable* wins.  Usable
 * means: the PSI reports success (for tcp: the non-blocking connect
 * completed and SO_ERROR is 0), it is not closed, it knows its remote
 * address, it is bound to the local address asked for (when one was),
 * and that local address still exists on the host (path monitor) — an
 * attempt that connected over an address removed meanwhile counts as
 * failed.  Every other attempt is cancelled and its PSI closed — never
 * the winner's.  When every attempt failed, the error lists each
 * candidate and why.  With no candidates, the error says so at once.
 * Cancelling the race cancels every attempt.
 *
 * One Race per establishment; one refcounted Attempt per candidate, holding
 * its own GCancellable so losers can be stopped individually.
 */

typedef struct _Race Race;

typedef struct
{
  gint           ref_count;
  Race          *race;          /* (unowned) valid while !done */
  PostCandidate *candidate;     /* (unowned) owned by the race */
  PostPsi       *psi;           /* (owned) */
  GCancellable  *cancellable;   /* (owned) */
  gboolean       done;
  guint          step;          /* which start step began it */
} Attempt;

struct _Race
{
  GTask        *task;           /* (owned) */
  GPtrArray    *candidates;     /* (owned) (element-type PostCandidate) */
  GPtrArray    *attempts;       /* (owned) (element-type Attempt) running */
  GString      *failures;       /* (owned) */
  guint         next;
  guint         failed;
  guint         step;           /* start steps so far */
  guint         delay_ms;
  GSource      *delay_source;   /* (owned) (nullable) */
  GSource      *cancel_source;  /* (owned) (nullable) fires when the race is cancelled */
  PostConfiguration *configuration; /* (owned) */
  PostLocal    *local;          /* (owned) (nullable) */
  PostAssociation *association; /* (owned) (nullable) */
  GObject       *early_source;  /* (owned) (nullable) source of 0-RTT early data */
  PostEarlyDataFunc take_early_data;
  GBytes       *early_data;     /* (owned) (nullable) */
  gboolean      early_taken;
  gint          security_code;  /* a POST_ERROR_TLS_* code seen, or -1 */
  GMainContext *context;        /* (owned) */
  gboolean      finished;
};

PostCandidate *
_post_candidate_new (PostStack      *stack,
                     GSocketAddress *remote_address,
                     GSocketAddress *local_address)
{
  PostCandidate *candidate = g_new0 (PostCandidate, 1);

  candidate->stack = g_object_ref (stack);
  candidate->remote_address = g_object_ref (remote_address);
  candidate->local_address = local_address ? g_object_ref (local_address) : NULL;
  return candidate;
}

void
_post_candidate_free (PostCandidate *candidate)
{
  if (candidate == NULL)
    return;
  g_clear_object (&candidate->stack);
  g_clear_object (&candidate->remote_address);
  g_clear_object (&candidate->local_address);
  g_clear_object (&candidate->configuration);
  g_clear_object (&candidate->proxy);
  g_free (candidate->interface);
  g_strfreev (candidate->alpn);
  g_free (candidate->step);
  g_free (candidate);
}

void
_post_log_debug (const char    *file,
                 const char    *line,
                 const char    *func,
                 gconstpointer  carrier,
                 const char    *stack,
                 const char    *rule,
                 const char    *format,
                 ...)
{
  g_autofree char *message = NULL;
  char carrier_text[2 + 2 * sizeof (gpointer) + 1];
  GLogField fields[9];
  gsize n = 0;
  va_list args;

  if (g_log_writer_default_would_drop (G_LOG_LEVEL_DEBUG, G_LOG_DOMAIN))
    return;
  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  fields[n++] = (GLogField) { "GLIB_DOMAIN", G_LOG_DOMAIN, -1 };
  fields[n++] = (GLogField) { "PRIORITY", "7", -1 };   /* LOG_DEBUG */
  fields[n++] = (GLogField) { "MESSAGE", message, -1 };
  fields[n++] = (GLogField) { "CODE_FILE", file, -1 };
  fields[n++] = (GLogField) { "CODE_LINE", line, -1 };
  fields[n++] = (GLogField) { "CODE_FUNC", func, -1 };
  if (carrier != NULL)
    {
      g_snprintf (carrier_text, sizeof carrier_text, "%p", carrier);
      fields[n++] = (GLogField) { "POST_CARRIER", carrier_text, -1 };
    }
  if (stack != NULL)
    fields[n++] = (GLogField) { "POST_STACK", stack, -1 };
  if (rule != NULL)
    fields[n++] = (GLogField) { "POST_RULE", rule, -1 };
  g_log_structured_array (G_LOG_LEVEL_DEBUG, fields, n);
}

static char *describe_candidate (const PostCandidate *candidate);

char *
_post_candidate_describe (const PostCandidate *candidate)
{
  g_autofree char *what = describe_candidate (candidate);

  /* "quic to 192.0.2.1:443 (https://example.com:443 gives quic with ALPN h3)" */
  if (candidate->step != NULL)
    return g_strdup_printf ("%s (%s)", what, candidate->step);
  return g_steal_pointer (&what);
}

static char *
describe_candidate (const PostCandidate *candidate)
{
  g_autofree char *remote = NULL;

  if (candidate->proxy != NULL)
    {
      /* "tls to example.org:443 through socks5://127.0.0.1:1080" */
      g_autofree char *proxy = _post_proxy_describe (candidate->proxy);
      const char *host = g_proxy_address_get_destination_hostname (candidate->proxy);
      guint16 port = g_proxy_address_get_destination_port (candidate->proxy);

      if (strchr (host, ':') != NULL)
        remote = g_strdup_printf ("[%s]:%u through %s", host, port, proxy);
      else
        remote = g_strdup_printf ("%s:%u through %s", host, port, proxy);
    }
  else
    remote = _post_socket_address_to_string (candidate->remote_address);

  if (candidate->local_address != NULL)
    {
      g_autofree char *local = _post_socket_address_to_string (candidate->local_address);

      if (candidate->interface != NULL)
        return g_strdup_printf ("%s to %s from %s (%s)", post_stack_get_name (candidate->stack),
                                remote, local, candidate->interface);
      return g_strdup_printf ("%s to %s from %s", post_stack_get_name (candidate->stack),
                              remote, local);
    }
  return g_strdup_printf ("%s to %s", post_stack_get_name (candidate->stack), remote);
}

static Attempt *
attempt_ref (Attempt *attempt)
{
  g_atomic_int_inc (&attempt->ref_count);
  return attempt;
}

static void
attempt_unref (Attempt *attempt)
{
  if (!g_atomic_int_dec_and_test (&attempt->ref_count))
    return;
  g_clear_object (&attempt->psi);
  g_clear_object (&attempt->cancellable);
  g_free (attempt);
}

static void start_next_attempt (Race *race);

static gboolean
inet_equal (GSocketAddress *a,
            GSocketAddress *b)
{
  return a != NULL && b != NULL && G_IS_INET_SOCKET_ADDRESS (a) && G_IS_INET_SOCKET_ADDRESS (b)
         && g_inet_address_equal (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (a)),
                                  g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (b)));
}

/* A connected attempt may still be unusable: see "The race" above. */
static gboolean
attempt_is_usable (Attempt  *attempt,
                   GError  **error)
{
  PostCandidate *candidate = attempt->candidate;
  GSocketAddress *asked = candidate->local_address;

  if (post_psi_is_closed (attempt->psi))
    {
      g_set_error_literal (error, POST_ERROR, POST_ERROR_ESTABLISHMENT,
                           "connected, but the instance closed at once");
      return FALSE;
    }
  if (post_psi_get_remote_address (attempt->psi) == NULL)
    {
      g_set_error_literal (error, POST_ERROR, POST_ERROR_ESTABLISHMENT,
                           "connected, but without a remote address");
      return FALSE;
    }
  if (asked != NULL && G_IS_INET_SOCKET_ADDRESS (asked)
      && !g_inet_address_get_is_any (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (asked)))
      && post_psi_get_local_address (attempt->psi) != NULL
      && !inet_equal (asked, post_psi_get_local_address (attempt->psi)))
    {
      g_set_error_literal (error, POST_ERROR, POST_ERROR_ESTABLISHMENT,
                           "connected, but not from the local address asked for");
      return FALSE;
    }
  if (candidate->gathered && candidate->interface != NULL)
    {
      g_autofree char *holder = _post_path_monitor_interface_of (post_path_monitor_get_default (), asked);

      if (g_strcmp0 (holder, candidate->interface) != 0)
        {
          g_set_error (error, POST_ERROR, POST_ERROR_ESTABLISHMENT,
                       "connected, but the local address left %s meanwhile", candidate->interface);
          return FALSE;
        }
    }
  return TRUE;
}

/* How many attempts begun in @step are still running */
static guint
attempt_step_running (Race  *race,
                      guint  step)
{
  guint running = 0;

  for (guint i = 0; i < race->attempts->len; i++)
    {
      Attempt *attempt = race->attempts->pdata[i];

      if (!attempt->done && attempt->step == step)
        running++;
    }
  return running;
}

static void
race_free (Race *race)
{
  if (race->delay_source != NULL)
    {
      g_source_destroy (race->delay_source);
      g_source_unref (race->delay_source);
    }
  if (race->cancel_source != NULL)
    {
      g_source_destroy (race->cancel_source);
      g_source_unref (race->cancel_source);
    }
  g_clear_pointer (&race->attempts, g_ptr_array_unref);
  g_clear_pointer (&race->candidates, g_ptr_array_unref);
  g_string_free (race->failures, TRUE);
  g_clear_object (&race->configuration);
  g_clear_object (&race->local);
  g_clear_object (&race->association);
  g_clear_object (&race->early_source);
  g_clear_pointer (&race->early_data, g_bytes_unref);
  g_clear_pointer (&race->context, g_main_context_unref);
  g_free (race);
}

static void
stop_losers (Race    *race,
             Attempt *winner)
{
  for (guint i = 0; i < race->attempts->len; i++)
    {
      Attempt *attempt = race->attempts->pdata[i];

      if (attempt == winner || attempt->done)
        continue;
      attempt->done = TRUE;
      attempt->race = NULL;
      g_cancellable_cancel (attempt->cancellable);
      post_psi_close (attempt->psi, TRUE);
    }
}

/* Ends the race; @psi is the winner or NULL with @error. */
static void
finish_race (Race    *race,
             PostPsi *psi,
             GError  *error)
{
  GTask *task = race->task;

  race->finished = TRUE;
  if (race->delay_source != NULL)
    {
      g_source_destroy (race->delay_source);
      g_clear_pointer (&race->delay_source, g_source_unref);
    }
  /* A cancellation after the end is no longer the race's business (and
   * the task may return from an idle, after this source is gone). */
  if (race->cancel_source != NULL)
    {
      g_source_destroy (race->cancel_source);
      g_clear_pointer (&race->cancel_source, g_source_unref);
    }
  race->task = NULL;
  if (psi != NULL)
    g_task_return_pointer (task, g_object_ref (psi), g_object_unref);
  else
    g_task_return_error (task, error);
  g_object_unref (task);  /* the race is freed with the task */
}

static void
attempt_connected_cb (GObject      *source,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  Attempt *attempt = user_data;
  Race *race = attempt->race;
  g_autoptr(GError) error = NULL;
  guint attempt_step = attempt->step;
  gboolean ok;

  ok = post_psi_connect_finish (POST_PSI (source), result, &error);
  if (attempt->done || race == NULL || race->finished)
    {
      /* A loser that finished after the race: close it. */
      if (ok)
        post_psi_close (POST_PSI (source), TRUE);
      attempt_unref (attempt);
      return;
    }
  attempt->done = TRUE;

  if (ok && !attempt_is_usable (attempt, &error))
    {
      post_psi_close (attempt->psi, TRUE);
      ok = FALSE;
    }
  if (ok)
    {
      if (!g_log_writer_default_would_drop (G_LOG_LEVEL_DEBUG, G_LOG_DOMAIN))
        {
          g_autofree char *what = _post_candidate_describe (attempt->candidate);

          _post_debug (attempt->candidate->carrier, post_stack_get_name (attempt->candidate->stack), NULL,
                       "Race won by %s", what);
        }
      stop_losers (race, attempt);
      g_object_set_data_full (G_OBJECT (race->task), "post-winner",
                              attempt->candidate, NULL);
      finish_race (race, attempt->psi, NULL);
      attempt_unref (attempt);
      return;
    }

  {
    g_autofree char *what = _post_candidate_describe (attempt->candidate);

    _post_debug (attempt->candidate->carrier, post_stack_get_name (attempt->candidate->stack), NULL,
                 "Attempt failed: %s: %s", what, error->message);
    g_string_append_printf (race->failures, "\n  %s: %s", what, error->message);
  }
  race->failed++;
  attempt_unref (attempt);
  /* A security failure says more than the refusals of other addresses. */
  if (error->domain == POST_ERROR && error->code >= POST_ERROR_TLS_UNKNOWN_AUTHORITY
      && error->code <= POST_ERROR_TLS_HANDSHAKE)
    race->security_code = error->code;

  if (race->failed == race->candidates->len)
    {
      GError *all = g_error_new (POST_ERROR,
                                 race->candidates->len == 1 && error->domain == POST_ERROR
                                 ? error->code
                                 : race->security_code >= 0 ? race->security_code
                                 : POST_ERROR_ESTABLISHMENT,
                                 "Could not establish a carrier; %u attempt%s failed:%s",
                                 race->candidates->len,
                                 race->candidates->len == 1 ? "" : "s",
                                 race->failures->str);
      finish_race (race, NULL, all);
      return;
    }
  /* RFC 8305: a failed attempt starts the next one at once — once every
   * attempt of its step (equal-rank candidates) failed. */
  if (attempt_step_running (race, attempt_step) == 0)
    start_next_attempt (race);
}

static gboolean
delay_elapsed_cb (gpointer user_data)
{
  Race *race = user_data;

  g_clear_pointer (&race->delay_source, g_source_unref);
  start_next_attempt (race);
  return G_SOURCE_REMOVE;
}

static void start_attempt (Race *race);

static void
start_next_attempt (Race *race)
{
  GTask *task;
  guint group;

  if (race->delay_source != NULL)
    {
      g_source_destroy (race->delay_source);
      g_clear_pointer (&race->delay_source, g_source_unref);
    }
  if (race->finished || race->next >= race->candidates->len)
    return;

  /* One step: the next candidate and every following one of its group */
  race->step++;
  group = ((PostCandidate *) race->candidates->pdata[race->next])->group;
  task = g_object_ref (race->task);   /* the race lives as long as its task */
  do
    start_attempt (race);
  while (!race->finished && group != 0 && race->next < race->candidates->len
         && ((PostCandidate *) race->candidates->pdata[race->next])->group == group);

  if (!race->finished && race->next < race->candidates->len && race->delay_source == NULL)
    {
      race->delay_source = g_timeout_source_new (race->delay_ms);
      g_source_set_callback (race->delay_source, delay_elapsed_cb, race, NULL);
      g_source_set_static_name (race->delay_source, "[libpost] attempt delay");
      g_source_attach (race->delay_source, race->context);
    }
  g_object_unref (task);
}

static void
start_attempt (Race *race)
{
  Attempt *attempt;

  attempt = g_new0 (Attempt, 1);
  attempt->step = race->step;
  attempt->ref_count = 1;
  attempt->race = race;
  attempt->candidate = race->candidates->pdata[race->next++];
  /* Losers are stopped through their own cancellable.  A lone candidate
   * has no rival: it is only ever stopped when the race is cancelled, so
   * the race's cancellable serves. */
  if (race->candidates->len == 1 && g_task_get_cancellable (race->task) != NULL)
    attempt->cancellable = g_object_ref (g_task_get_cancellable (race->task));
  else
    attempt->cancellable = g_cancellable_new ();
  attempt->psi = post_stack_create_psi (attempt->candidate->stack,
                                        attempt->candidate->configuration != NULL
                                        ? attempt->candidate->configuration : race->configuration);
  /* (before anything asks the instance what it can send early) */
  if (attempt->candidate->proxy != NULL)
    post_psi_set_proxy (attempt->psi, attempt->candidate->proxy);
  g_ptr_array_add (race->attempts, attempt);
  if (race->local != NULL || race->association != NULL)
    post_psi_set_context (attempt->psi, race->local, race->association);
  if (race->early_source != NULL)
    {
      gsize limit = post_psi_get_early_data_limit (attempt->psi);

      /* 0-RTT (draft 3.1.2): the idempotent messages at the head of the
       * queue are taken once per race and offered to every attempt that
       * can carry them; the winner delivers them. */
      if (limit > 0 && !race->early_taken)
        {
          race->early_taken = TRUE;
          race->early_data = race->take_early_data (race->early_source, limit);
        }
      if (limit > 0 && race->early_data != NULL && g_bytes_get_size (race->early_data) <= limit)
        post_psi_set_early_data (attempt->psi, race->early_data);
    }

  /* (the description is made only when the message is logged) */
  if (!g_log_writer_default_would_drop (G_LOG_LEVEL_DEBUG, G_LOG_DOMAIN))
    {
      g_autofree char *what = _post_candidate_describe (attempt->candidate);

      _post_debug (attempt->candidate->carrier, post_stack_get_name (attempt->candidate->stack), NULL,
                   "Starting attempt %u: %s", race->next, what);
    }

  /* Bind to the interface too (post_psi_bind_to_interface() in the stack) */
  if (attempt->candidate->interface != NULL)
    post_psi_set_interface (attempt->psi, attempt->candidate->interface);

  post_psi_connect_async (attempt->psi, attempt->candidate->remote_address,
                          attempt->candidate->local_address, attempt->cancellable,
                          attempt_connected_cb, attempt_ref (attempt));
}

/* A GCancellableSourceFunc: the cancellable comes first. */
static gboolean
race_cancel_idle_cb (GCancellable *cancellable,
                     gpointer      user_data)
{
  Race *race = user_data;

  if (!race->finished)
    {
      stop_losers (race, NULL);
      finish_race (race, NULL, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                                    "Establishment was cancelled"));
    }
  return G_SOURCE_REMOVE;
}

void
_post_racer_run_async (GPtrArray           *candidates,
                       PostConfiguration   *configuration,
                       guint                attempt_delay_ms,
                       GCancellable        *cancellable,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data)
{
  _post_racer_run_with_context_async (candidates, configuration, NULL, NULL, NULL, NULL,
                                      attempt_delay_ms, cancellable, callback, user_data);
}

void
_post_racer_run_with_context_async (GPtrArray           *candidates,
                                    PostConfiguration   *configuration,
                                    PostLocal           *local,
                                    PostAssociation     *association,
                                    GObject             *early_source,
                                    PostEarlyDataFunc    take_early_data,
                                    guint                attempt_delay_ms,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  Race *race;
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);

  g_task_set_source_tag (task, _post_racer_run_async);

  if (candidates->len == 0)
    {
      g_task_return_new_error (task, POST_ERROR, POST_ERROR_NO_CANDIDATES,
                               "Nothing to try: no candidate path (no usable stack, local "
                               "or remote address)");
      g_object_unref (task);
      return;
    }

  race = g_new0 (Race, 1);
  race->task = task;
  race->candidates = g_ptr_array_ref (candidates);
  race->attempts = g_ptr_array_new_with_free_func ((GDestroyNotify) attempt_unref);
  race->failures = g_string_new (NULL);
  race->delay_ms = attempt_delay_ms;
  race->configuration = g_object_ref (configuration);
  race->local = local ? g_object_ref (local) : NULL;
  race->association = association ? g_object_ref (association) : NULL;
  race->early_source = early_source ? g_object_ref (early_source) : NULL;
  race->take_early_data = take_early_data;
  race->security_code = -1;
  race->context = g_main_context_ref_thread_default ();
  g_task_set_task_data (task, race, (GDestroyNotify) race_free);
  if (cancellable != NULL)
    {
      /* The race keeps its reference: the source may be destroyed (its
       * callback returns G_SOURCE_REMOVE) long before the race ends. */
      race->cancel_source = g_cancellable_source_new (cancellable);
      g_source_set_callback (race->cancel_source,
                             (GSourceFunc) (void (*) (void)) race_cancel_idle_cb, race, NULL);
      g_source_set_static_name (race->cancel_source, "[libpost] race cancelled");
      g_source_attach (race->cancel_source, race->context);
    }
  start_next_attempt (race);
}

PostPsi *
_post_racer_run_finish (GAsyncResult   *result,
                        PostCandidate **winner,
                        GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);

  if (winner != NULL)
    *winner = g_object_get_data (G_OBJECT (result), "post-winner");
  return g_task_propagate_pointer (G_TASK (result), error);
}
