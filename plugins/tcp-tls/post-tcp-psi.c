/* post-tcp-psi.c: PostTcpPsi, the Protocol Stack Instance of the `tcp` stack
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * One PostTcpPsi owns one non-blocking TCP GSocket: either a connected
 * transport (active open with connect_async, or accepted by a listener) or
 * a listening socket.
 *
 * Everything runs on the GMainContext that was thread-default when the
 * instance was constructed (post_psi_get_context()); every GSource is
 * attached there and nothing blocks.
 *
 * Active open
 *   connect_async creates the socket, applies the configuration (TCP_NODELAY,
 *   keep-alives with TCP_KEEPIDLE/KEEPINTVL/KEEPCNT from keep-alive-timeout,
 *   TCP_USER_TIMEOUT), binds it when a local address is given
 *   and calls g_socket_connect().  TCP always answers EINPROGRESS, so the
 *   socket's source (see Readiness) polls for G_IO_OUT, with the
 *   cancellable as a child source so that cancelling wakes it, and the
 *   outcome is read from SO_ERROR.  A
 *   cancelled attempt (the racer cancels the losers) closes its socket and
 *   fails with G_IO_ERROR_CANCELLED; post_psi_close() on a connecting
 *   instance fails the attempt with POST_ERROR_CLOSED.
 *
 * Passive open
 *   listen binds with SO_REUSEADDR, listens with a backlog of 128 and
 *   accepts on G_IO_IN.  Each accepted socket becomes a new PostTcpPsi of
 *   the same stack and configuration, announced with
 *   post_psi_emit_accepted().  When the process runs out of descriptors
 *   (EMFILE, ENFILE) or memory, accepting pauses for 100 ms instead of
 *   spinning on a readable listening socket.
 *
 * Readiness
 *   A transport socket has one PostFdWatch (plugins/common/post-fd-watch.h)
 *   from the connect, or from the first interest of an accepted socket,
 *   until it is closed; it watches the descriptor for what set_interest
 *   asks (G_IO_OUT while connecting).  The first few sockets of a context
 *   are a source of their own each; past them a socket joins the context's
 *   one epoll source, so that a listener with 10,000 carriers does not
 *   visit 10,000 sources and poll 10,000 descriptors at every iteration.
 *   Changing the interest changes the events watched in place (a direct
 *   watch's GPollFD, which GLib reads at every iteration; an epoll member's
 *   registration at the next iteration), so no source is created or
 *   destroyed and the context is not woken up.  With no interest nothing is
 *   watched but G_IO_HUP and G_IO_ERR, which poll() and epoll report
 *   regardless: if they come then, the watch is suspended until there is
 *   interest again.  Readiness is level-triggered: it is reported while the
 *   interest stays, and the core clears the interest when it has no demand
 *   left.  G_IO_HUP and G_IO_ERR are reported as readiness of the direction
 *   that is watched, so that the core's next read or write sees the end of
 *   stream or the error.
 *
 * Acknowledgement
 *   The kernel's send queue (SIOCOUTQ) holds what was written but is not yet
 *   acknowledged by the peer, so bytes written minus SIOCOUTQ is the
 *   transport-level acknowledged offset.
 */

#ifndef _GNU_SOURCE
# define _GNU_SOURCE /* accept4 */
#endif

#include "post-tcp-psi.h"
#include "post-fd-watch.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <linux/sockios.h>
#include <linux/tcp.h>

/* At most this many vectors are handed to one sendmsg() (IOV_MAX on Linux). */
#define TCP_MAX_VECTORS 1024
/* How long accepting pauses when descriptors or memory run out. */
#define TCP_ACCEPT_PAUSE_MS 100
/* At most this many connections are accepted per dispatch, so that a flood
 * of connections cannot starve the rest of the main context; the listening
 * source is level-triggered and fires again at once. */
#define TCP_ACCEPT_BATCH 64
#define TCP_LISTEN_BACKLOG 128

struct _PostTcpPsi
{
  PostPsi        parent_instance;

  GMainContext  *context;              /* (owned) */
  GSocket       *socket;               /* (owned) (nullable) */

  /* Active open in progress */
  GTask         *connect_task;         /* (owned) (nullable) */
  GSource       *connect_cancel;       /* (owned) (nullable) the connect's cancellable, while connecting */
  GCancellable  *tunnel_cancel;        /* (owned) (nullable) while the proxy handshake runs */
  gulong         tunnel_forward_id;    /* the connect's cancellable cancels tunnel_cancel */
  gboolean       tunnelled;            /* the proxy (post_psi_get_proxy()) connected us through */

  /* Readiness of a transport socket: one source for its whole life */
  GIOCondition   interest;
  PostFdWatch   *io_watch;             /* (owned) (nullable) the transport socket's */

  /* Passive open */
  GSource       *accept_source;        /* (owned) (nullable) */
  GSource       *accept_pause_source;  /* (owned) (nullable) */
  gboolean       listening;
  gboolean       accept_trouble_logged;
  gboolean       admitted_above;       /* listener: tls counts what it accepts */
  PostTcpAdmission *admission;         /* (owned) (nullable) listener: tcp.max-carriers */

  /* Accepted */
  PostTcpAdmission *admitted;          /* (owned) (nullable) the listener's, until closed */
  GList          admission_link;       /* in admitted */
  gboolean       evicted;              /* by a full listener (tcp.max-carriers) */
  GError        *evicted_error;        /* (owned) (nullable) */
  GSource       *evicted_wake;         /* (owned) (nullable) tells the core */

  guint64        bytes_written;
  guint64        last_acked;           /* POST_PSI_ACKED_UNKNOWN until known */
  gboolean       closed;
  gboolean       fast_open;            /* TCP Fast Open on connect or listen */
  gboolean       initiated;            /* an active open */
  gboolean       heard;                /* a byte came from the peer */
};

G_DEFINE_FINAL_TYPE (PostTcpPsi, post_tcp_psi, POST_TYPE_PSI)

/* ---- helpers ------------------------------------------------------------- */

/**
 * post_tcp_format_address:
 * @address: (nullable): a socket address
 *
 * Formats @address as `ip:port`, or `[ip]:port` for IPv6.
 *
 * Returns: (transfer full): a newly allocated string
 */
char *
post_tcp_format_address (GSocketAddress *address)
{
  GInetAddress *inet;
  g_autofree char *ip = NULL;
  guint16 port;

  if (address == NULL)
    return g_strdup ("(none)");
  if (!G_IS_INET_SOCKET_ADDRESS (address))
    return g_strdup_printf ("(%s)", G_OBJECT_TYPE_NAME (address));

  inet = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (address));
  port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (address));
  ip = g_inet_address_to_string (inet);

  if (g_inet_address_get_family (inet) == G_SOCKET_FAMILY_IPV6)
    {
      guint32 scope = g_inet_socket_address_get_scope_id (G_INET_SOCKET_ADDRESS (address));

      if (scope != 0)
        {
          char name[IF_NAMESIZE] = { 0 };

          if (if_indextoname (scope, name) != NULL)
            return g_strdup_printf ("[%s%%%s]:%u", ip, name, port);
          return g_strdup_printf ("[%s%%%u]:%u", ip, scope, port);
        }
      return g_strdup_printf ("[%s]:%u", ip, port);
    }

  return g_strdup_printf ("%s:%u", ip, port);
}

/* Maps a GIO error of a connected socket into the POST_ERROR domain where
 * libpost has a code for it.  Takes @error over.
 *
 * A reset of a connection we opened, before the peer sent a single byte,
 * is its listener's refusal: TCP's way to say no once the kernel accepted
 * the connection (libpost's listener resets a carrier nobody accepts,
 * post_psi_refuse()).  POST_ERROR_CONNECTION_REFUSED then, as for a reset
 * during the connect itself. */
static GError *
map_transfer_error (PostTcpPsi *self,
                    GError     *error)
{
  if (error->domain != G_IO_ERROR)
    return error;

  switch (error->code)
    {
    case G_IO_ERROR_CONNECTION_CLOSED: /* == G_IO_ERROR_BROKEN_PIPE: EPIPE, ECONNRESET */
      if (self->initiated && !self->heard)
        {
          g_autofree char *where = post_tcp_format_address (post_psi_get_remote_address (POST_PSI (self)));
          GError *refused = g_error_new (POST_ERROR, POST_ERROR_CONNECTION_REFUSED,
                                         "%s refused the TCP connection (a reset before it sent "
                                         "anything): %s", where, error->message);

          g_error_free (error);
          return refused;
        }
      G_GNUC_FALLTHROUGH;
    case G_IO_ERROR_NOT_CONNECTED:
      error->domain = POST_ERROR;
      error->code = POST_ERROR_CONNECTION_RESET;
      break;
    case G_IO_ERROR_TIMED_OUT:         /* TCP_USER_TIMEOUT, keep-alive failure */
      error->domain = POST_ERROR;
      error->code = POST_ERROR_TIMED_OUT;
      break;
    case G_IO_ERROR_CLOSED:
      error->domain = POST_ERROR;
      error->code = POST_ERROR_CLOSED;
      break;
    default:
      break;
    }

  return error;
}

/* Builds the error of a failed active open towards @remote from the GIO
 * error @cause (which is freed). */
static GError *
connect_error_new (GSocketAddress *remote,
                   GError         *cause)
{
  g_autofree char *where = post_tcp_format_address (remote);
  GQuark domain = cause->domain;
  int code = cause->code;
  GError *error;

  if (domain == G_IO_ERROR)
    {
      switch (code)
        {
        case G_IO_ERROR_CONNECTION_REFUSED:
        case G_IO_ERROR_CONNECTION_CLOSED:  /* ECONNRESET: the listener reset it at once */
          domain = POST_ERROR;
          code = POST_ERROR_CONNECTION_REFUSED;
          break;
        case G_IO_ERROR_TIMED_OUT:
          domain = POST_ERROR;
          code = POST_ERROR_TIMED_OUT;
          break;
        case G_IO_ERROR_CANCELLED:
          /* Keep cancellation as GIO reports it. */
          break;
        default:
          /* G_IO_ERROR_HOST_UNREACHABLE, G_IO_ERROR_NETWORK_UNREACHABLE...:
           * GIO's code is the precise one; the message names the address. */
          break;
        }
    }

  error = g_error_new (domain, code, "TCP connection to %s failed: %s",
                       where, cause->message);
  g_error_free (cause);
  return error;
}

static gboolean
is_closed_error (PostTcpPsi  *self,
                 GError     **error)
{
  if (self->evicted && self->evicted_error != NULL)
    {
      if (error != NULL)
        *error = g_error_copy (self->evicted_error);
      return TRUE;
    }
  if (self->closed || self->socket == NULL)
    {
      g_set_error_literal (error, POST_ERROR, POST_ERROR_CLOSED,
                           self->closed ? "The TCP instance is closed"
                                        : "The TCP instance is not connected");
      return TRUE;
    }
  return FALSE;
}

/* Records the socket's real addresses (and interface) on the instance.
 * @listener, when given, accepted the socket: a listener bound to a
 * specific address hands its interface down without another getifaddrs(). */
static void
update_addresses (PostTcpPsi     *self,
                  PostTcpPsi     *listener,
                  gboolean        connected,
                  GSocketAddress *known_remote)
{
  g_autoptr(GSocketAddress) local = NULL;
  g_autoptr(GSocketAddress) remote = NULL;
  g_autofree char *interface = NULL;

  /* Accepted by a listener bound to one address: that is the local
   * address (getsockname() would say the same). */
  if (listener != NULL)
    {
      GSocketAddress *bound = post_psi_get_local_address (POST_PSI (listener));

      if (bound != NULL && G_IS_INET_SOCKET_ADDRESS (bound)
          && !g_inet_address_get_is_any (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (bound))))
        local = g_object_ref (bound);
    }
  if (local == NULL)
    local = g_socket_get_local_address (self->socket, NULL);
  if (connected && known_remote != NULL)
    remote = g_object_ref (known_remote);
  else if (connected)
    remote = g_socket_get_remote_address (self->socket, NULL);

  post_psi_set_addresses (POST_PSI (self), local, remote);

  /* An interface the socket is bound to (post_psi_bind_to_interface())
   * is the one it uses. */
  if (post_psi_get_interface (POST_PSI (self)) != NULL)
    return;
  if (listener != NULL && post_psi_get_interface (POST_PSI (listener)) != NULL)
    interface = g_strdup (post_psi_get_interface (POST_PSI (listener)));
  else
    interface = post_tcp_find_interface (local);
  if (interface != NULL)
    post_psi_set_interface (POST_PSI (self), interface);
}

static void
set_tcp_option (GSocket    *socket,
                int         option,
                const char *name,
                gint        value)
{
  g_autoptr(GError) error = NULL;

  if (!g_socket_set_option (socket, IPPROTO_TCP, option, value, &error))
    g_message ("Could not set %s: %s", name, error->message);
}

/* Keep-alives after @timeout_ms of idleness (0: none), not the kernel's
 * two hours: TCP_KEEPIDLE is the timeout in whole seconds, then three
 * probes (TCP_KEEPCNT) a third of it apart (TCP_KEEPINTVL).  A
 * TCP_USER_TIMEOUT of twice the timeout bounds the wait for a vanished
 * peer also while data is unacknowledged (keep-alives only go on an idle
 * connection); the option tcp.user-timeout, applied after, overrides it.
 * Either way the socket fails with ETIMEDOUT: POST_ERROR_TIMED_OUT. */
static void
apply_keep_alive (GSocket *socket,
                  guint    timeout_ms)
{
  gint idle_s, interval_s;

  if (timeout_ms == 0)
    return;
  idle_s = (gint) CLAMP ((timeout_ms + 999) / 1000, 1, 32767);
  interval_s = MAX (1, (idle_s + 2) / 3);
  g_socket_set_keepalive (socket, TRUE);
  set_tcp_option (socket, TCP_KEEPIDLE, "TCP_KEEPIDLE", idle_s);
  set_tcp_option (socket, TCP_KEEPINTVL, "TCP_KEEPINTVL", interval_s);
  set_tcp_option (socket, TCP_KEEPCNT, "TCP_KEEPCNT", 3);
  set_tcp_option (socket, TCP_USER_TIMEOUT, "TCP_USER_TIMEOUT", (gint) MIN ((guint64) timeout_ms * 2, G_MAXINT));
}

/* Applies the configuration to a transport socket (connecting or
 * accepted).  Failures to set an option are logged, not fatal. */
static void
apply_socket_options (PostTcpPsi *self,
                      GSocket    *socket)
{
  PostConfiguration *configuration = post_psi_get_configuration (POST_PSI (self));
  g_autoptr(GError) error = NULL;

  g_socket_set_blocking (socket, FALSE);

  /* The core coalesces non-immediate messages itself and then flushes;
   * immediate messages must leave at once, so Nagle stays off. */
  if (!g_socket_set_option (socket, IPPROTO_TCP, TCP_NODELAY, 1, &error))
    {
      g_debug ("Could not set TCP_NODELAY: %s", error->message);
      g_clear_error (&error);
    }

  if (configuration == NULL)
    return;

  apply_keep_alive (socket, post_configuration_get_effective_keep_alive_timeout (configuration));

  {
    GVariant *value;  /* (transfer none) */

    value = post_configuration_get_option (configuration, POST_TCP_OPTION_USER_TIMEOUT);
    if (value != NULL)
      {
        guint32 timeout_ms;

        if (g_variant_is_of_type (value, G_VARIANT_TYPE_UINT32))
          timeout_ms = g_variant_get_uint32 (value);
        else if (g_variant_is_of_type (value, G_VARIANT_TYPE_INT32) &&
                 g_variant_get_int32 (value) >= 0)
          timeout_ms = (guint32) g_variant_get_int32 (value);
        else
          {
            g_message ("Ignoring option %s of type %s (expected uint32 milliseconds)",
                       POST_TCP_OPTION_USER_TIMEOUT, g_variant_get_type_string (value));
            return;
          }

        if (timeout_ms > G_MAXINT)
          timeout_ms = G_MAXINT;
        if (!g_socket_set_option (socket, IPPROTO_TCP, TCP_USER_TIMEOUT,
                                  (gint) timeout_ms, &error))
          g_message ("Could not set TCP_USER_TIMEOUT: %s", error->message);
      }
  }
}

/* An unsigned option's value (any integer type within range, as the
 * declaration lets through), or @fallback. */
guint32
post_tcp_get_uint_option (PostConfiguration *configuration,
                          const char        *key,
                          guint32            fallback)
{
  GVariant *value = configuration != NULL ? post_configuration_get_option (configuration, key) : NULL;

  if (value == NULL)
    return fallback;
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_UINT32))
    return g_variant_get_uint32 (value);
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_INT32) && g_variant_get_int32 (value) >= 0)
    return (guint32) g_variant_get_int32 (value);
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_UINT64))
    return (guint32) MIN (g_variant_get_uint64 (value), G_MAXUINT32);
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_INT64) && g_variant_get_int64 (value) >= 0)
    return (guint32) MIN (g_variant_get_int64 (value), G_MAXUINT32);
  g_message ("Ignoring option %s of type %s (expected an unsigned number)",
             key, g_variant_get_type_string (value));
  return fallback;
}

gint64
post_tcp_first_message_deadline (PostConfiguration *configuration)
{
  guint32 timeout_ms = post_tcp_get_uint_option (configuration, POST_TCP_OPTION_FIRST_MESSAGE_TIMEOUT,
                                                 POST_TCP_DEFAULT_FIRST_MESSAGE_TIMEOUT_MS);

  return timeout_ms == 0 ? 0 : g_get_monotonic_time () + (gint64) timeout_ms * 1000;
}

/* ---- readiness ----------------------------------------------------------- */

static void
clear_source (GSource **source)
{
  if (*source != NULL)
    {
      g_source_destroy (*source);
      g_clear_pointer (source, g_source_unref);
    }
}

static void
clear_connect_cancel (PostTcpPsi *self)
{
  clear_source (&self->connect_cancel);
}

static void
clear_io_watch (PostTcpPsi *self)
{
  g_clear_pointer (&self->io_watch, post_fd_watch_free);
}

static void
clear_all_sources (PostTcpPsi *self)
{
  clear_connect_cancel (self);
  clear_io_watch (self);
  clear_source (&self->accept_source);
  clear_source (&self->accept_pause_source);
  clear_source (&self->evicted_wake);
}

static void connect_ready (PostTcpPsi *self);

#define TCP_IO_TROUBLE (G_IO_HUP | G_IO_ERR | G_IO_NVAL)

/* The transport socket's readiness (see "Readiness" above). */
static void
tcp_io_ready (PostFdWatch  *watch,
              GIOCondition  revents,
              gpointer      user_data)
{
  PostTcpPsi *self = user_data;

  /* The core may close the instance or drop its last reference while it
   * handles readiness; keep self alive until this returns. */
  g_object_ref (self);
  if (self->connect_task != NULL)
    {
      /* Writable, or in trouble. */
      connect_ready (self);
    }
  else if ((self->interest & (G_IO_IN | G_IO_OUT)) == 0)
    {
      /* Trouble nobody asked about: stop polling until there is interest
       * (see "Readiness"). */
      if (revents & TCP_IO_TROUBLE)
        post_fd_watch_suspend (watch);
    }
  else
    {
      /* G_IO_HUP / G_IO_ERR: the next read or write sees the end of
       * stream or the error. */
      if ((self->interest & G_IO_IN) && (revents & (G_IO_IN | TCP_IO_TROUBLE)))
        post_psi_notify_ready (POST_PSI (self), G_IO_IN);
      /* Only if still watched: the interest may have changed meanwhile. */
      if (self->io_watch == watch && (self->interest & G_IO_OUT)
          && (revents & (G_IO_OUT | TCP_IO_TROUBLE)))
        post_psi_notify_ready (POST_PSI (self), G_IO_OUT);
    }
  g_object_unref (self);
}

/* Polls for @events (none: only trouble), from a watch made when first
 * needed; past the first few sockets of a context it is one of the
 * context's epoll set (post-fd-watch.h), so that an iteration does not
 * visit every socket. */
static void
ensure_io_watch (PostTcpPsi   *self,
                 GIOCondition  events)
{
  if (self->io_watch != NULL)
    post_fd_watch_set_events (self->io_watch, events);
  else
    self->io_watch = post_fd_watch_new (self->context, g_socket_get_fd (self->socket), events,
                                        "[post] tcp socket", tcp_io_ready, self);
}

static GSource *
add_socket_source (PostTcpPsi        *self,
                   GIOCondition       condition,
                   GCancellable      *cancellable,
                   GSocketSourceFunc  func)
{
  GSource *source = g_socket_create_source (self->socket, condition, cancellable);

  g_source_set_callback (source, (GSourceFunc) (void (*) (void)) func, self, NULL);
  g_source_set_static_name (source, "[post] tcp socket");
  /* GLib blocks a non-recursive source while dispatching it, which removes
   * and re-adds its descriptor and wakes the context up twice; the handlers
   * are safe to re-enter. */
  g_source_set_can_recurse (source, TRUE);
  g_source_attach (source, self->context);
  return source;
}

static void schedule_evicted_wake (PostTcpPsi *self);

static void
post_tcp_psi_set_interest (PostPsi      *psi,
                           GIOCondition  condition)
{
  PostTcpPsi *self = POST_TCP_PSI (psi);

  self->interest = condition & (G_IO_IN | G_IO_OUT);

  if (self->evicted)
    {
      if (self->interest != 0)
        schedule_evicted_wake (self);
      return;
    }
  if (self->closed || self->socket == NULL || self->listening ||
      self->connect_task != NULL)
    return;

  if (self->io_watch != NULL || self->interest != 0)
    ensure_io_watch (self, self->interest);
}

/* ---- the socket ---------------------------------------------------------- */

/* Makes @socket, a connected TCP socket, the transport of @self. */
static void
post_tcp_psi_adopt_socket (PostTcpPsi     *self,
                           PostTcpPsi     *listener,
                           GSocket        *socket,
                           GSocketAddress *remote)
{
  g_return_if_fail (self->socket == NULL);

  self->socket = g_object_ref (socket);
  apply_socket_options (self, socket);
  update_addresses (self, listener, TRUE, remote);
  self->last_acked = 0;

  /* Interest expressed before the socket existed takes effect now. */
  if (self->interest != 0)
    post_tcp_psi_set_interest (POST_PSI (self), self->interest);
}

/* ---- active open --------------------------------------------------------- */

static void connect_complete (PostTcpPsi *self, GError *error);

static void
forward_cancel (GCancellable *cancellable,
                GCancellable *tunnel_cancel)
{
  g_cancellable_cancel (tunnel_cancel);
}

static void
stop_tunnel (PostTcpPsi *self)
{
  if (self->tunnel_cancel == NULL)
    return;
  g_cancellable_cancel (self->tunnel_cancel);
  g_clear_object (&self->tunnel_cancel);
}

/* The proxy's answer (post_psi_proxy_handshake_async()). */
static void
tunnel_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  PostTcpPsi *self = POST_TCP_PSI (source);
  GTask *task = user_data;   /* (owned) the connect's */
  GError *error = NULL;
  gboolean ok = post_psi_proxy_handshake_finish (POST_PSI (self), result, &error);

  if (g_task_get_cancellable (task) != NULL)
    g_cancellable_disconnect (g_task_get_cancellable (task), self->tunnel_forward_id);
  self->tunnel_forward_id = 0;
  if (self->connect_task != task)
    {
      /* Closed meanwhile: close() failed the connect already. */
      g_clear_error (&error);
      g_object_unref (task);
      return;
    }
  g_clear_object (&self->tunnel_cancel);
  self->tunnelled = ok;
  if (!ok && g_cancellable_is_cancelled (g_task_get_cancellable (task)))
    {
      g_clear_error (&error);
      g_cancellable_set_error_if_cancelled (g_task_get_cancellable (task), &error);
    }
  connect_complete (self, error);
  g_object_unref (task);
}

/* Connected to the proxy: have it connect us through (see post-proxy.c).
 * The socket's own source stops meanwhile; the handshake polls a
 * duplicate of the descriptor. */
static void
start_tunnel (PostTcpPsi *self)
{
  GCancellable *cancellable = g_task_get_cancellable (self->connect_task);

  clear_connect_cancel (self);
  clear_io_watch (self);
  self->tunnel_cancel = g_cancellable_new ();
  if (cancellable != NULL)
    self->tunnel_forward_id = g_cancellable_connect (cancellable, G_CALLBACK (forward_cancel),
                                                     self->tunnel_cancel, NULL);
  post_psi_proxy_handshake_async (POST_PSI (self), self->socket, self->tunnel_cancel,
                                  tunnel_cb, g_object_ref (self->connect_task));
}

static void
connect_complete (PostTcpPsi *self,
                  GError     *error)
{
  g_autoptr(GTask) task = NULL;

  if (error == NULL && !self->tunnelled && post_psi_get_proxy (POST_PSI (self)) != NULL)
    {
      start_tunnel (self);
      return;
    }
  task = g_steal_pointer (&self->connect_task);
  clear_connect_cancel (self);

  if (error != NULL)
    {
      clear_io_watch (self);
      if (self->socket != NULL)
        g_socket_close (self->socket, NULL);
      g_clear_object (&self->socket);
      g_task_return_error (task, error);
      return;
    }

  /* The socket's remote address is the one connected to (GSocket keeps it;
   * asking the socket would read SO_ERROR once more). */
  update_addresses (self, NULL, TRUE, g_task_get_task_data (task));
  self->last_acked = 0;
  /* The source stays for the data: poll for the interest, now. */
  if (self->io_watch != NULL || self->interest != 0)
    post_tcp_psi_set_interest (POST_PSI (self), self->interest);
  g_task_return_boolean (task, TRUE);
}

/* The connect's cancellable fired: as if the socket were ready. */
static gboolean
on_connect_cancelled (GCancellable *cancellable,
                      gpointer      user_data)
{
  PostTcpPsi *self = g_object_ref (user_data);

  if (self->connect_task != NULL)
    connect_ready (self);
  g_object_unref (self);
  return G_SOURCE_CONTINUE;
}

/* The connect's outcome (or its cancellation), from the socket's watch. */
static void
connect_ready (PostTcpPsi *self)
{
  GSocketAddress *remote = g_task_get_task_data (self->connect_task);
  GCancellable *cancellable = g_task_get_cancellable (self->connect_task);
  GError *error = NULL;

  /* The task holds a reference on self until it returns. */
  if (g_cancellable_set_error_if_cancelled (cancellable, &error))
    {
      connect_complete (self, error);
      return;
    }

  if (!g_socket_check_connect_result (self->socket, &error))
    error = connect_error_new (remote, error);

  connect_complete (self, error);
}

static void
post_tcp_psi_connect_async (PostPsi             *psi,
                            GSocketAddress      *remote,
                            GSocketAddress      *local,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  PostTcpPsi *self = POST_TCP_PSI (psi);
  g_autoptr(GTask) task = NULL;
  g_autoptr(GSocket) socket = NULL;
  GError *error = NULL;

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, post_tcp_psi_connect_async);
  g_task_set_name (task, "[post] tcp connect");
  g_task_set_task_data (task, g_object_ref (remote), g_object_unref);

  if (g_task_return_error_if_cancelled (task))
    return;

  if (self->closed)
    {
      g_task_return_new_error (task, POST_ERROR, POST_ERROR_CLOSED,
                               "The TCP instance is closed");
      return;
    }
  if (self->socket != NULL || self->connect_task != NULL)
    {
      g_task_return_new_error (task, POST_ERROR, POST_ERROR_PENDING,
                               "The TCP instance is already connected or connecting");
      return;
    }
  if (!G_IS_INET_SOCKET_ADDRESS (remote))
    {
      g_task_return_new_error (task, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                               "TCP needs an IP address and port, not a %s",
                               G_OBJECT_TYPE_NAME (remote));
      return;
    }

  socket = g_socket_new (g_socket_address_get_family (remote),
                         G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  if (socket == NULL)
    {
      g_task_return_error (task, connect_error_new (remote, error));
      return;
    }

  apply_socket_options (self, socket);
  /* What would ride in the SYN would reach the proxy, not the remote. */
  if (post_psi_get_proxy (psi) != NULL)
    self->fast_open = FALSE;
  if (self->fast_open)
    {
      /* connect() then returns at once and the first write goes in the SYN;
       * without a cookie the kernel falls back to a plain handshake. */
      if (!g_socket_set_option (socket, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, 1, &error))
        {
          g_debug ("TCP Fast Open is not available: %s", error->message);
          g_clear_error (&error);
          self->fast_open = FALSE;
        }
    }

  /* The interface of a gathered local, or the one the local names. */
  if (!post_psi_bind_to_interface (psi, g_socket_get_fd (socket), FALSE, &error))
    {
      g_socket_close (socket, NULL);
      g_task_return_error (task, error);
      return;
    }

  if (local != NULL && !g_socket_bind (socket, local, FALSE, &error))
    {
      g_autofree char *where = post_tcp_format_address (local);

      g_prefix_error (&error, "Could not bind to %s: ", where);
      g_socket_close (socket, NULL);
      g_task_return_error (task, error);
      return;
    }

  self->socket = g_object_ref (socket);
  self->connect_task = g_object_ref (task);
  self->initiated = TRUE;

  if (g_socket_connect (socket, remote, NULL, &error))
    {
      /* Immediate success; g_task_return defers to the next iteration. */
      connect_complete (self, NULL);
      return;
    }

  if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_PENDING))
    {
      connect_complete (self, connect_error_new (remote, error));
      return;
    }
  g_clear_error (&error);

  /* The socket's watch waits for G_IO_OUT; the cancellable's source
   * reads the outcome as well when the attempt is cancelled. */
  ensure_io_watch (self, G_IO_OUT);
  if (cancellable != NULL)
    {
      self->connect_cancel = g_cancellable_source_new (cancellable);
      g_source_set_callback (self->connect_cancel, G_SOURCE_FUNC (on_connect_cancelled), self, NULL);
      g_source_set_static_name (self->connect_cancel, "[post] tcp connect cancelled");
      g_source_attach (self->connect_cancel, self->context);
    }
}

static gboolean
post_tcp_psi_connect_finish (PostPsi       *psi,
                             GAsyncResult  *result,
                             GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, psi), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == post_tcp_psi_connect_async, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* ---- passive open -------------------------------------------------------- */

static gboolean on_accept_ready (GSocket *socket, GIOCondition condition, gpointer user_data);

static void
arm_accept_source (PostTcpPsi *self)
{
  if (self->accept_source == NULL && !self->closed && self->socket != NULL)
    self->accept_source = add_socket_source (self, G_IO_IN, NULL, on_accept_ready);
}

static gboolean
on_accept_pause_over (gpointer user_data)
{
  PostTcpPsi *self = POST_TCP_PSI (user_data);

  g_clear_pointer (&self->accept_pause_source, g_source_unref);
  arm_accept_source (self);
  return G_SOURCE_REMOVE;
}

static void
pause_accepting (PostTcpPsi *self,
                 int         errsv)
{
  if (!self->accept_trouble_logged)
    {
      g_autofree char *where = post_tcp_format_address (post_psi_get_local_address (POST_PSI (self)));

      g_message ("TCP listener on %s cannot accept (%s); pausing %d ms",
                 where, g_strerror (errsv), TCP_ACCEPT_PAUSE_MS);
      self->accept_trouble_logged = TRUE;
    }

  clear_source (&self->accept_source);
  if (self->accept_pause_source == NULL)
    {
      self->accept_pause_source = g_timeout_source_new (TCP_ACCEPT_PAUSE_MS);
      g_source_set_callback (self->accept_pause_source, on_accept_pause_over, self, NULL);
      g_source_set_static_name (self->accept_pause_source, "[post] tcp accept pause");
      g_source_attach (self->accept_pause_source, self->context);
    }
}

static gboolean
evicted_wake_cb (gpointer user_data)
{
  PostTcpPsi *self = POST_TCP_PSI (user_data);

  g_clear_pointer (&self->evicted_wake, g_source_unref);
  /* The core's next read sees the eviction's error. */
  g_object_ref (self);
  post_psi_notify_ready (POST_PSI (self), G_IO_IN);
  g_object_unref (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_evicted_wake (PostTcpPsi *self)
{
  if (self->evicted_wake != NULL)
    return;
  self->evicted_wake = g_idle_source_new ();
  g_source_set_priority (self->evicted_wake, G_PRIORITY_DEFAULT);
  g_source_set_callback (self->evicted_wake, evicted_wake_cb, self, NULL);
  g_source_set_static_name (self->evicted_wake, "[post] tcp evicted");
  g_source_attach (self->evicted_wake, self->context);
}

static void post_tcp_psi_close (PostPsi *psi, gboolean abort);

/* A full listener evicts @member (see post_tcp_admission_admit()): its
 * connection is reset at once, which frees the descriptor; its carrier
 * fails with POST_ERROR_CONNECTION_RESET at its next read. */
static void
tcp_evict (PostPsi *member)
{
  PostTcpPsi *self = POST_TCP_PSI (member);

  self->evicted_error = post_tcp_admission_evicted_error ("tcp", post_psi_get_remote_address (member),
                                                          post_tcp_admission_get_max (self->admitted));
  post_tcp_psi_close (member, TRUE);
  self->evicted = TRUE;
  schedule_evicted_wake (self);
}

/* Accepted only to be reset (RST, no descriptor kept), so that the
 * listening socket does not stay readable. */
static void
refuse_accepted (int fd)
{
  struct linger linger = { 1, 0 };

  (void) setsockopt (fd, SOL_SOCKET, SO_LINGER, &linger, sizeof linger);
  close (fd);
}

static void
handle_accepted (PostTcpPsi      *self,
                 int              fd,
                 struct sockaddr *peer,
                 socklen_t        peer_len)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(PostPsi) child = NULL;
  g_autoptr(GSocketAddress) remote = NULL;

  /* The peer's address as accept() gave it (what getpeername() says) */
  if (peer_len > 0 && peer_len <= sizeof (struct sockaddr_storage))
    remote = g_socket_address_new_from_native (peer, peer_len);
  if (self->admission != NULL && !post_tcp_admission_admit (self->admission, remote))
    {
      refuse_accepted (fd);
      return;
    }

  socket = g_socket_new_from_fd (fd, &error);
  if (socket == NULL)
    {
      g_message ("Dropping an accepted TCP connection: %s", error->message);
      close (fd);
      return;
    }

  child = post_stack_create_psi (post_psi_get_stack (POST_PSI (self)),
                                 post_psi_get_configuration (POST_PSI (self)));
  if (child == NULL || !POST_IS_TCP_PSI (child))
    {
      g_message ("Dropping an accepted TCP connection: the stack did not create a TCP instance");
      g_socket_close (socket, NULL);
      return;
    }

  post_tcp_psi_adopt_socket (POST_TCP_PSI (child), self, socket, remote);
  if (self->admission != NULL)
    {
      PostTcpPsi *accepted = POST_TCP_PSI (child);

      accepted->admitted = post_tcp_admission_ref (self->admission);
      post_tcp_admission_add (self->admission, child, &accepted->admission_link);
    }
  /* tcp.first-message-timeout, from now (tls copies it: its handshake
   * counts within it) */
  post_psi_set_first_message_deadline (child, post_tcp_first_message_deadline (post_psi_get_configuration (child)));
  post_psi_emit_accepted (POST_PSI (self), child);
}

static gboolean
on_accept_ready (GSocket      *socket,
                 GIOCondition  condition,
                 gpointer      user_data)
{
  PostTcpPsi *self = POST_TCP_PSI (user_data);
  gboolean keep = G_SOURCE_CONTINUE;
  guint i;

  g_object_ref (self);

  for (i = 0; i < TCP_ACCEPT_BATCH; i++)
    {
      struct sockaddr_storage peer;
      socklen_t peer_len = sizeof peer;
      int fd;

      if (self->closed || self->socket == NULL)
        break;

      fd = accept4 (g_socket_get_fd (self->socket), (struct sockaddr *) &peer, &peer_len,
                    SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (fd < 0)
        {
          int errsv = errno;

          if (errsv == EAGAIN || errsv == EWOULDBLOCK)
            break;

          switch (errsv)
            {
            case EINTR:
            /* The connection failed before it was accepted; Linux also
             * passes pending network errors up through accept(). */
            case ECONNABORTED:
            case EPROTO:
            case ENETDOWN:
            case ENOPROTOOPT:
            case EHOSTDOWN:
            case ENONET:
            case EHOSTUNREACH:
            case EOPNOTSUPP:
            case ENETUNREACH:
            case EPERM: /* firewall */
              continue;
            default:
              /* EMFILE, ENFILE, ENOBUFS, ENOMEM and anything unexpected:
               * the listening socket stays readable, so do not spin. */
              pause_accepting (self, errsv);
              keep = G_SOURCE_REMOVE;
              goto out;
            }
        }

      self->accept_trouble_logged = FALSE;
      handle_accepted (self, fd, (struct sockaddr *) &peer, peer_len);
    }

out:
  g_object_unref (self);
  return keep;
}

static gboolean
post_tcp_psi_listen (PostPsi         *psi,
                     GSocketAddress  *local,
                     GError         **error)
{
  PostTcpPsi *self = POST_TCP_PSI (psi);
  g_autoptr(GSocket) socket = NULL;
  g_autofree char *where = NULL;

  if (self->closed)
    {
      g_set_error_literal (error, POST_ERROR, POST_ERROR_CLOSED, "The TCP instance is closed");
      return FALSE;
    }
  if (self->socket != NULL || self->connect_task != NULL)
    {
      g_set_error_literal (error, POST_ERROR, POST_ERROR_PENDING,
                           "The TCP instance is already in use");
      return FALSE;
    }
  if (local == NULL || !G_IS_INET_SOCKET_ADDRESS (local))
    {
      g_set_error_literal (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                           "A TCP listener needs a local IP address and port");
      return FALSE;
    }

  where = post_tcp_format_address (local);

  socket = g_socket_new (g_socket_address_get_family (local),
                         G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, error);
  if (socket == NULL)
    return FALSE;
  g_socket_set_blocking (socket, FALSE);
  g_socket_set_listen_backlog (socket, TCP_LISTEN_BACKLOG);
  if (!post_psi_bind_to_interface (psi, g_socket_get_fd (socket), TRUE, error))
    {
      g_prefix_error (error, "Could not listen on %s: ", where);
      g_socket_close (socket, NULL);
      return FALSE;
    }

  /* allow_reuse sets SO_REUSEADDR on stream sockets, as GSocketListener does. */
  if (!g_socket_bind (socket, local, TRUE, error) ||
      !g_socket_listen (socket, error))
    {
      g_prefix_error (error, "Could not listen on %s: ", where);
      g_socket_close (socket, NULL);
      return FALSE;
    }

  if (self->fast_open)
    {
      g_autoptr(GError) tfo_error = NULL;

      /* Accept data in SYNs, if net.ipv4.tcp_fastopen has the server bit. */
      if (!g_socket_set_option (socket, IPPROTO_TCP, TCP_FASTOPEN, TCP_LISTEN_BACKLOG, &tfo_error))
        g_debug ("TCP Fast Open is not available on %s: %s", where, tfo_error->message);
    }

  self->socket = g_steal_pointer (&socket);
  self->listening = TRUE;
  update_addresses (self, NULL, FALSE, NULL);
  if (!self->admitted_above)
    self->admission = post_tcp_admission_new (psi, tcp_evict);
  arm_accept_source (self);
  return TRUE;
}

/* ---- data ---------------------------------------------------------------- */

static gssize
post_tcp_psi_read (PostPsi  *psi,
                   guint8   *buffer,
                   gsize     size,
                   GError  **error)
{
  PostTcpPsi *self = POST_TCP_PSI (psi);
  GError *local_error = NULL;
  gssize n;

  if (is_closed_error (self, error))
    return -1;

  n = g_socket_receive_with_blocking (self->socket, (char *) buffer, size,
                                      FALSE, NULL, &local_error);
  if (n < 0)
    g_propagate_error (error, map_transfer_error (self, local_error));
  else if (n > 0)
    self->heard = TRUE;
  return n;
}

static gssize
post_tcp_psi_write (PostPsi              *psi,
                    const GOutputVector  *vectors,
                    gsize                 n_vectors,
                    GError              **error)
{
  PostTcpPsi *self = POST_TCP_PSI (psi);
  GError *local_error = NULL;
  gssize n;

  if (is_closed_error (self, error))
    return -1;

  if (n_vectors > TCP_MAX_VECTORS)
    n_vectors = TCP_MAX_VECTORS;

  /* GSocket passes MSG_NOSIGNAL itself; the socket is non-blocking. */
  n = g_socket_send_message (self->socket, NULL,
                             (GOutputVector *) vectors, (gint) n_vectors,
                             NULL, 0, G_SOCKET_MSG_NONE, NULL, &local_error);
  if (n < 0)
    {
      g_propagate_error (error, map_transfer_error (self, local_error));
      return -1;
    }

  self->bytes_written += (guint64) n;
  return n;
}

static gboolean
post_tcp_psi_shutdown_send (PostPsi  *psi,
                            GError  **error)
{
  PostTcpPsi *self = POST_TCP_PSI (psi);
  GError *local_error = NULL;

  if (is_closed_error (self, error))
    return FALSE;

  if (!g_socket_shutdown (self->socket, FALSE, TRUE, &local_error))
    {
      g_propagate_error (error, map_transfer_error (self, local_error));
      return FALSE;
    }
  return TRUE;
}

static guint64
post_tcp_psi_get_acked_offset (PostPsi *psi)
{
  PostTcpPsi *self = POST_TCP_PSI (psi);
  int queued = 0;

  /* After close, the last value measured stays true (a lower bound). */
  if (self->closed || self->socket == NULL || self->listening)
    return self->last_acked;

  if (ioctl (g_socket_get_fd (self->socket), SIOCOUTQ, &queued) != 0 ||
      queued < 0 || (guint64) queued > self->bytes_written)
    return POST_PSI_ACKED_UNKNOWN;

  self->last_acked = self->bytes_written - (guint64) queued;
  return self->last_acked;
}

/* ---- path ---------------------------------------------------------------- */

#define TCP_INFO_HAS(len, field) \
  ((len) >= G_STRUCT_OFFSET (struct tcp_info, field) + sizeof (((struct tcp_info *) NULL)->field))

/*
 * Fills @path from TCP_INFO:
 * - latency: the draft's latency is one-way, TCP measures the round trip,
 *   so this is the smoothed RTT halved (µs);
 * - mtu: the sender MSS, the largest payload of one segment;
 * - loss: retransmitted segments over segments sent, over the lifetime of
 *   the connection;
 * - data rate: the kernel's most recent delivery rate estimate (bit/s).
 */
static void
post_tcp_psi_update_path (PostPsi  *psi,
                          PostPath *path)
{
  PostTcpPsi *self = POST_TCP_PSI (psi);
  struct tcp_info info;
  socklen_t len = sizeof info;

  /* post_psi_update_path() has filled in the interface already. */
  if (self->closed || self->socket == NULL || self->listening)
    return;

  memset (&info, 0, sizeof info);
  if (getsockopt (g_socket_get_fd (self->socket), IPPROTO_TCP, TCP_INFO, &info, &len) != 0)
    return;

  if (TCP_INFO_HAS (len, tcpi_rtt) && info.tcpi_rtt > 0)
    post_path_set_latency (path, MAX (1, info.tcpi_rtt / 2));
  if (TCP_INFO_HAS (len, tcpi_snd_mss) && info.tcpi_snd_mss > 0)
    post_path_set_mtu (path, info.tcpi_snd_mss);
  if (TCP_INFO_HAS (len, tcpi_segs_out) && TCP_INFO_HAS (len, tcpi_total_retrans))
    post_path_set_loss (path, (double) info.tcpi_total_retrans / (double) MAX (1u, info.tcpi_segs_out));
  if (TCP_INFO_HAS (len, tcpi_delivery_rate) && info.tcpi_delivery_rate > 0)
    post_path_set_data_rate (path, info.tcpi_delivery_rate * 8);
}

static gsize
post_tcp_psi_get_max_message_size (PostPsi *psi)
{
  /* A byte stream: framing carries messages of any size. */
  return 0;
}

/* ---- life cycle ---------------------------------------------------------- */

static gboolean
connect_fail_closed (gpointer user_data)
{
  GTask *task = G_TASK (user_data);

  g_task_return_new_error (task, POST_ERROR, POST_ERROR_CLOSED,
                           "The TCP instance was closed while connecting");
  return G_SOURCE_REMOVE;
}

/* An accepted instance closed: its listener has room for another. */
static void
unadmit (PostTcpPsi *self)
{
  if (self->admitted != NULL)
    {
      post_tcp_admission_remove (self->admitted, &self->admission_link);
      g_clear_pointer (&self->admitted, post_tcp_admission_unref);
    }
}

static void
post_tcp_psi_close (PostPsi  *psi,
                    gboolean  abort)
{
  PostTcpPsi *self = POST_TCP_PSI (psi);

  if (self->closed)
    return;

  /* Measure what was acknowledged while the socket is still there. */
  if (self->socket != NULL && !self->listening && self->connect_task == NULL
      && self->bytes_written > self->last_acked)
    post_tcp_psi_get_acked_offset (psi);

  self->closed = TRUE;
  self->interest = 0;
  clear_all_sources (self);
  unadmit (self);
  stop_tunnel (self);

  if (self->connect_task != NULL)
    {
      GTask *task = g_steal_pointer (&self->connect_task);
      GSource *idle;

      /* Fail the attempt from an idle, so that the caller of close() is not
       * re-entered through the connect callback. */
      if (self->socket != NULL)
        g_socket_close (self->socket, NULL);
      g_clear_object (&self->socket);

      idle = g_idle_source_new ();
      g_source_set_priority (idle, G_PRIORITY_DEFAULT);
      g_source_set_callback (idle, connect_fail_closed, task, g_object_unref);
      g_source_set_static_name (idle, "[post] tcp connect closed");
      g_source_attach (idle, self->context);
      g_source_unref (idle);
      return;
    }

  if (self->socket != NULL)
    {
      if (abort && !self->listening)
        {
          struct linger linger = { 1, 0 };

          /* A zero linger time makes close() send a RST. */
          if (setsockopt (g_socket_get_fd (self->socket), SOL_SOCKET, SO_LINGER,
                          &linger, sizeof linger) != 0)
            g_debug ("Could not set SO_LINGER: %s", g_strerror (errno));
        }
      g_socket_close (self->socket, NULL);
      g_clear_object (&self->socket);
    }
}

static void
post_tcp_psi_dispose (GObject *object)
{
  PostTcpPsi *self = POST_TCP_PSI (object);

  clear_all_sources (self);
  unadmit (self);
  g_clear_pointer (&self->admission, post_tcp_admission_unref);
  /* A pending connect holds a reference on self, so there is none here. */
  g_warn_if_fail (self->connect_task == NULL);

  if (self->socket != NULL)
    {
      g_socket_close (self->socket, NULL);
      g_clear_object (&self->socket);
    }
  self->closed = TRUE;

  G_OBJECT_CLASS (post_tcp_psi_parent_class)->dispose (object);
}

static void
post_tcp_psi_finalize (GObject *object)
{
  PostTcpPsi *self = POST_TCP_PSI (object);

  g_clear_pointer (&self->context, g_main_context_unref);
  g_clear_error (&self->evicted_error);

  G_OBJECT_CLASS (post_tcp_psi_parent_class)->finalize (object);
}

static void
post_tcp_psi_constructed (GObject *object)
{
  PostTcpPsi *self = POST_TCP_PSI (object);
  GMainContext *context;

  G_OBJECT_CLASS (post_tcp_psi_parent_class)->constructed (object);

  context = post_psi_get_context (POST_PSI (self));
  self->context = context != NULL ? g_main_context_ref (context)
                                  : g_main_context_ref_thread_default ();
}

static void
post_tcp_psi_class_init (PostTcpPsiClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  PostPsiClass *psi_class = POST_PSI_CLASS (klass);

  object_class->constructed = post_tcp_psi_constructed;
  object_class->dispose = post_tcp_psi_dispose;
  object_class->finalize = post_tcp_psi_finalize;

  psi_class->connect_async = post_tcp_psi_connect_async;
  psi_class->connect_finish = post_tcp_psi_connect_finish;
  psi_class->listen = post_tcp_psi_listen;
  psi_class->read = post_tcp_psi_read;
  psi_class->write = post_tcp_psi_write;
  psi_class->set_interest = post_tcp_psi_set_interest;
  psi_class->shutdown_send = post_tcp_psi_shutdown_send;
  psi_class->close = post_tcp_psi_close;
  psi_class->get_acked_offset = post_tcp_psi_get_acked_offset;
  psi_class->update_path = post_tcp_psi_update_path;
  psi_class->get_max_message_size = post_tcp_psi_get_max_message_size;
  /* No fork: TCP has no streams; the core forks by opening a new transient. */
}

static void
post_tcp_psi_init (PostTcpPsi *self)
{
  self->last_acked = POST_PSI_ACKED_UNKNOWN;
}

void
post_tcp_psi_set_fast_open (PostTcpPsi *self,
                            gboolean    enable)
{
  g_return_if_fail (POST_IS_TCP_PSI (self));
  self->fast_open = !!enable;
}

void
post_tcp_psi_set_admitted_above (PostTcpPsi *self)
{
  g_return_if_fail (POST_IS_TCP_PSI (self));
  self->admitted_above = TRUE;
}

gboolean
post_tcp_psi_get_fast_open (PostTcpPsi *self)
{
  g_return_val_if_fail (POST_IS_TCP_PSI (self), FALSE);
  return self->fast_open;
}
