/* post-tcp-admission.c: PostTcpAdmission, the tcp.max-carriers limit that
 * a tcp or tls listener and the carriers it accepted share
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "post-tcp-psi.h"

#include <sys/resource.h>

/* tcp.max-carriers' default: three quarters of the descriptors the process
 * may open, leaving the rest to its outgoing carriers, files and other
 * listeners (768 of the usual 1024). */
static guint
default_max_carriers (void)
{
  struct rlimit limit;

  if (getrlimit (RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY)
    return 768;
  return (guint) MAX (MIN (limit.rlim_cur / 4 * 3, G_MAXUINT32), 1);
}

/* ---- admission: tcp.max-carriers ------------------------------------------ */

struct _PostTcpAdmission
{
  gint              ref_count;
  char             *stack;      /* "tcp" or "tls", for messages */
  char             *where;      /* the listener's address, for messages */
  PostTcpEvictFunc  evict;
  guint             max;        /* 0: no limit */
  GQueue            members;    /* (element-type PostPsi) (unowned) oldest first */
  guint64           n_evicted;
  guint64           n_refused;
};

PostTcpAdmission *
post_tcp_admission_new (PostPsi          *listener,
                        PostTcpEvictFunc  evict)
{
  PostTcpAdmission *self = g_new0 (PostTcpAdmission, 1);
  PostConfiguration *configuration = post_psi_get_configuration (listener);

  self->ref_count = 1;
  self->stack = g_strdup (post_stack_get_name (post_psi_get_stack (listener)));
  self->where = post_tcp_format_address (post_psi_get_local_address (listener));
  self->evict = evict;
  if (configuration != NULL && post_configuration_get_option (configuration, POST_TCP_OPTION_MAX_CARRIERS) != NULL)
    self->max = post_tcp_get_uint_option (configuration, POST_TCP_OPTION_MAX_CARRIERS, 0);
  else
    self->max = default_max_carriers ();
  g_queue_init (&self->members);
  return self;
}

PostTcpAdmission *
post_tcp_admission_ref (PostTcpAdmission *self)
{
  self->ref_count++;
  return self;
}

void
post_tcp_admission_unref (PostTcpAdmission *self)
{
  if (self == NULL || --self->ref_count > 0)
    return;
  /* Members hold a reference: none is left. */
  g_warn_if_fail (self->members.length == 0);
  g_free (self->stack);
  g_free (self->where);
  g_free (self);
}

guint
post_tcp_admission_get_max (PostTcpAdmission *self)
{
  return self->max;
}

GError *
post_tcp_admission_evicted_error (const char     *stack,
                                  GSocketAddress *remote,
                                  guint           max)
{
  g_autofree char *who = post_tcp_format_address (remote);

  return g_error_new (POST_ERROR, POST_ERROR_CONNECTION_RESET,
                      "The %s peer %s had not completed a first message when its listener was full "
                      "(option %s, %u carriers) and another connected: it was evicted, the oldest "
                      "such peer", stack, who, POST_TCP_OPTION_MAX_CARRIERS, max);
}

/* Makes room for a new connection to a full listener: evicts the oldest
 * member that has not completed a first message. FALSE when every member
 * spoke: the new connection is to be refused. */
gboolean
post_tcp_admission_admit (PostTcpAdmission *self,
                          GSocketAddress   *remote)
{
  PostPsi *victim = NULL;
  guint before;

  if (self->max == 0 || self->members.length < self->max)
    return TRUE;
  for (GList *l = self->members.head; l != NULL && victim == NULL; l = l->next)
    if (!post_psi_has_first_message (l->data))
      victim = l->data;
  if (victim == NULL)
    {
      g_autofree char *who = post_tcp_format_address (remote);

      if (self->n_refused++ % 1000 == 0)
        g_message ("%s listener on %s has %u carriers (option %s), each of whose peers has spoken: "
                   "refusing the connection of %s (%" G_GUINT64_FORMAT " refused so far)",
                   self->stack, self->where, self->max, POST_TCP_OPTION_MAX_CARRIERS, who,
                   self->n_refused);
      return FALSE;
    }
  if (self->n_evicted++ % 1000 == 0)
    {
      g_autofree char *who = post_tcp_format_address (post_psi_get_remote_address (victim));

      g_message ("%s listener on %s has %u carriers (option %s): evicting the oldest peer that has "
                 "not completed a first message (%s) for a new connection (%" G_GUINT64_FORMAT
                 " evicted so far)", self->stack, self->where, self->max,
                 POST_TCP_OPTION_MAX_CARRIERS, who, self->n_evicted);
    }
  before = self->members.length;
  g_object_ref (victim);
  post_tcp_admission_ref (self);
  self->evict (victim);
  g_warn_if_fail (self->members.length < before);
  g_object_unref (victim);
  post_tcp_admission_unref (self);
  return self->members.length < self->max;
}

void
post_tcp_admission_add (PostTcpAdmission *self,
                        PostPsi          *member,
                        GList            *link)
{
  link->data = member;
  g_queue_push_tail_link (&self->members, link);
}

void
post_tcp_admission_remove (PostTcpAdmission *self,
                           GList            *link)
{
  g_queue_unlink (&self->members, link);
  link->data = NULL;
}
