/* post-psi.c: PostPsi, the Protocol Stack Instance base class
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "post-stacks-private.h"
#include "post-certificate-private.h"

#include <errno.h>
#include <string.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>

/**
 * PostPsi:
 *
 * A Protocol Stack Instance (draft section 4.1): one instance of a protocol
 * stack — a TCP connection, a UDP socket, a QUIC stream — that a plugin
 * implements by subclassing this type.
 *
 * The core talks to an instance through the wrappers of its virtual
 * functions (post_psi_connect_async(), post_psi_read() and the others) and learns about
 * readiness, accepted transports and fork requests through the signals the
 * stack raises with post_psi_notify_ready(), post_psi_emit_accepted() and
 * post_psi_emit_fork_request().  An instance lives on the `GMainContext`
 * that was thread-default when it was created.
 */

typedef struct
{
  PostStack         *stack;           /* (owned) */
  PostConfiguration *configuration;   /* (owned) */
  GMainContext      *context;         /* (owned) */
  GSocketAddress    *local_address;   /* (owned) (nullable) */
  GSocketAddress    *remote_address;  /* (owned) (nullable) */
  char              *interface;       /* (owned) (nullable) */
  PostLocal         *local;           /* (owned) (nullable) */
  PostAssociation   *association;     /* (owned) (nullable) */
  GBytes            *early_data;      /* (owned) (nullable) handed over before connect */
  gint64             first_message_deadline;  /* accepted: monotonic µs, 0 for none */
  gboolean           first_message_received;  /* the core assembled the peer's first message */
  GProxyAddress     *proxy;           /* (owned) (nullable) the proxy to tunnel through */
  gboolean           closed;
  /* what get_peer_details gave, once the handshake was done */
  gboolean           peer_known;
  GPtrArray         *peer_chain;      /* (owned) (nullable) (element-type GBytes) */
  GTlsCertificate   *peer_certificate; /* (owned) (nullable) made from peer_chain on demand */
  GTlsCertificateFlags peer_errors;
  char              *negotiated_protocol; /* (owned) (nullable) */
  /* the core's handlers (_post_psi_set_core_funcs()), called directly
   * before the signals are emitted */
  const PostPsiCoreFuncs *core;
  gpointer           core_data;
} PostPsiPrivate;

G_DEFINE_ABSTRACT_TYPE_WITH_PRIVATE (PostPsi, post_psi, G_TYPE_OBJECT)

/* The core's handler of @event, if it set one */
#define CORE_FUNC(priv, event) ((priv)->core != NULL ? (priv)->core->event : NULL)

enum {
  PROP_0,
  PROP_STACK,
  PROP_CONFIGURATION,
  PROP_LOCAL_ADDRESS,
  PROP_REMOTE_ADDRESS,
  N_PROPS
};

enum {
  SIGNAL_READY,
  SIGNAL_ACCEPTED,
  SIGNAL_FORK_REQUEST,
  SIGNAL_PATH_CHANGED,
  SIGNAL_SOFT_ERROR,
  SIGNAL_DATAGRAM_EVENT,
  SIGNAL_DATAGRAM_RECEIVED,
  SIGNAL_SENT,
  SIGNAL_MESSAGE_EXPIRED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static void
post_psi_dispose (GObject *object)
{
  PostPsi *self = POST_PSI (object);
  PostPsiPrivate *priv = post_psi_get_instance_private (self);

  if (!priv->closed)
    post_psi_close (self, FALSE);

  G_OBJECT_CLASS (post_psi_parent_class)->dispose (object);
}

static void
post_psi_finalize (GObject *object)
{
  PostPsiPrivate *priv = post_psi_get_instance_private (POST_PSI (object));

  g_clear_object (&priv->stack);
  g_clear_object (&priv->configuration);
  g_clear_pointer (&priv->context, g_main_context_unref);
  g_clear_object (&priv->local_address);
  g_clear_object (&priv->remote_address);
  g_clear_pointer (&priv->interface, g_free);
  g_clear_object (&priv->proxy);
  g_clear_object (&priv->local);
  g_clear_object (&priv->association);
  g_clear_pointer (&priv->early_data, g_bytes_unref);
  g_clear_pointer (&priv->peer_chain, g_ptr_array_unref);
  g_clear_object (&priv->peer_certificate);
  g_clear_pointer (&priv->negotiated_protocol, g_free);

  G_OBJECT_CLASS (post_psi_parent_class)->finalize (object);
}

static void
post_psi_get_property (GObject    *object,
                       guint       prop_id,
                       GValue     *value,
                       GParamSpec *pspec)
{
  PostPsiPrivate *priv = post_psi_get_instance_private (POST_PSI (object));

  switch (prop_id)
    {
    case PROP_STACK:
      g_value_set_object (value, priv->stack);
      break;
    case PROP_CONFIGURATION:
      g_value_set_object (value, priv->configuration);
      break;
    case PROP_LOCAL_ADDRESS:
      g_value_set_object (value, priv->local_address);
      break;
    case PROP_REMOTE_ADDRESS:
      g_value_set_object (value, priv->remote_address);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
post_psi_set_property (GObject      *object,
                       guint         prop_id,
                       const GValue *value,
                       GParamSpec   *pspec)
{
  PostPsiPrivate *priv = post_psi_get_instance_private (POST_PSI (object));

  switch (prop_id)
    {
    case PROP_STACK:
      priv->stack = g_value_dup_object (value);
      break;
    case PROP_CONFIGURATION:
      priv->configuration = g_value_dup_object (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
post_psi_constructed (GObject *object)
{
  PostPsiPrivate *priv = post_psi_get_instance_private (POST_PSI (object));

  G_OBJECT_CLASS (post_psi_parent_class)->constructed (object);

  if (priv->configuration == NULL)
    priv->configuration = _post_configuration_dup_default ();
  post_configuration_freeze (priv->configuration);
}

/* The default: stacks cannot move a transport to another local address. */
static gboolean
post_psi_real_migrate (PostPsi         *self,
                       GSocketAddress  *new_local,
                       GError         **error)
{
  PostStack *stack = post_psi_get_stack (self);

  g_set_error (error, POST_ERROR, POST_ERROR_NOT_SUPPORTED,
               "Stack %s cannot migrate a connection to another local address",
               stack ? post_stack_get_name (stack) : G_OBJECT_TYPE_NAME (self));
  return FALSE;
}

static void
post_psi_class_init (PostPsiClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = post_psi_dispose;
  object_class->finalize = post_psi_finalize;
  object_class->get_property = post_psi_get_property;
  object_class->set_property = post_psi_set_property;
  object_class->constructed = post_psi_constructed;
  klass->migrate = post_psi_real_migrate;

  /**
   * PostPsi:stack:
   *
   * The stack this is an instance of.
   */
  properties[PROP_STACK] =
    g_param_spec_object ("stack", NULL, NULL,
                         POST_TYPE_STACK,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  /**
   * PostPsi:configuration:
   *
   * The (frozen) configuration the instance follows.
   */
  properties[PROP_CONFIGURATION] =
    g_param_spec_object ("configuration", NULL, NULL,
                         POST_TYPE_CONFIGURATION,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  /**
   * PostPsi:local-address:
   *
   * The local transport address, once known.
   */
  properties[PROP_LOCAL_ADDRESS] =
    g_param_spec_object ("local-address", NULL, NULL,
                         G_TYPE_SOCKET_ADDRESS,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * PostPsi:remote-address:
   *
   * The remote transport address, once known.
   */
  properties[PROP_REMOTE_ADDRESS] =
    g_param_spec_object ("remote-address", NULL, NULL,
                         G_TYPE_SOCKET_ADDRESS,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * PostPsi::ready:
   * @self: the instance
   * @condition: `G_IO_IN` and/or `G_IO_OUT`
   *
   * The instance can be read from or written to without blocking.
   */
  signals[SIGNAL_READY] =
    g_signal_new ("ready", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_IO_CONDITION);
  /**
   * PostPsi::accepted:
   * @self: the listening instance
   * @accepted: the instance of a new transport
   *
   * A listening instance accepted a transport from a remote.
   */
  signals[SIGNAL_ACCEPTED] =
    g_signal_new ("accepted", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, POST_TYPE_PSI);
  /**
   * PostPsi::fork-request:
   * @self: the instance
   * @forked: the instance of the new stream
   *
   * The peer forked the carrier on this instance (a new stream).
   */
  signals[SIGNAL_FORK_REQUEST] =
    g_signal_new ("fork-request", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, POST_TYPE_PSI);
  /**
   * PostPsi::path-changed:
   * @self: the instance
   *
   * The instance's path (addresses, interface or measurements) changed.
   */
  signals[SIGNAL_PATH_CHANGED] =
    g_signal_new ("path-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 0);
  /**
   * PostPsi::soft-error:
   * @self: the instance
   * @error: what the network reported
   *
   * The network reported an error that does not end the transport, such
   * as an ICMP port unreachable for an earlier datagram (RFC 9622
   * `SoftError`).  Stacks that raise it declare
   * %POST_STACK_CAP_SOFT_ERROR_NOTIFY.
   */
  signals[SIGNAL_SOFT_ERROR] =
    g_signal_new ("soft-error", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_ERROR);
  /**
   * PostPsi::datagram-event:
   * @self: the instance
   * @id: the id the core gave post_psi_send_datagram()
   * @event: what became of the datagram
   *
   * A datagram handed to the instance with post_psi_send_datagram() was
   * sent, acknowledged, lost or expired (see [enum@Post.DatagramEvent]).
   */
  signals[SIGNAL_DATAGRAM_EVENT] =
    g_signal_new ("datagram-event", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_UINT64, POST_TYPE_DATAGRAM_EVENT);
  /**
   * PostPsi::datagram-received:
   * @self: the instance
   * @content: the datagram's content
   *
   * The peer sent an unreliable datagram for this instance's stream; the
   * core delivers it as one complete message.
   */
  signals[SIGNAL_DATAGRAM_RECEIVED] =
    g_signal_new ("datagram-received", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_BYTES);

  /**
   * PostPsi::sent:
   * @self: the instance
   *
   * The stack handed more of the bytes written to the network
   * ([vfunc@Post.Psi.get_sent_offset] grew); emitted with
   * post_psi_notify_sent().
   */
  signals[SIGNAL_SENT] =
    g_signal_new ("sent", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 0);

  /**
   * PostPsi::message-expired:
   * @self: the instance
   * @message: a message given to post_psi_send_message() earlier
   *
   * Message stacks with partial reliability: the stack abandoned @message
   * after it took it, because its lifetime passed before the peer
   * acknowledged it (PR-SCTP's timed reliability); emitted with
   * post_psi_emit_message_expired().
   */
  signals[SIGNAL_MESSAGE_EXPIRED] =
    g_signal_new ("message-expired", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, POST_TYPE_MESSAGE);
}

static void
post_psi_init (PostPsi *self)
{
  PostPsiPrivate *priv = post_psi_get_instance_private (self);

  priv->context = g_main_context_ref_thread_default ();
}

/**
 * post_psi_get_stack:
 * @self: a #PostPsi
 *
 * Gets the stack that made this instance with post_stack_create_psi(); it
 * belongs to the instance.
 *
 * Returns: (transfer none): the stack this is an instance of
 */
PostStack *
post_psi_get_stack (PostPsi *self)
{
  PostPsiPrivate *priv = post_psi_get_instance_private (self);

  g_return_val_if_fail (POST_IS_PSI (self), NULL);
  return priv->stack;
}

/**
 * post_psi_get_configuration:
 * @self: a #PostPsi
 *
 * Gets the configuration the instance was made with; it is frozen and
 * belongs to the instance. Stacks read their protocol options from it
 * (post_configuration_get_option()).
 *
 * Returns: (transfer none): the frozen configuration the instance follows
 */
PostConfiguration *
post_psi_get_configuration (PostPsi *self)
{
  PostPsiPrivate *priv = post_psi_get_instance_private (self);

  g_return_val_if_fail (POST_IS_PSI (self), NULL);
  return priv->configuration;
}

/**
 * post_psi_get_context:
 * @self: a #PostPsi
 *
 * Gets the main context the instance runs on, the thread-default context
 * of its creation. A stack attaches all its sources (sockets, timers) to
 * it and never blocks it.
 *
 * Returns: (transfer none): the main context the instance runs on; stacks
 *   attach their sources here
 */
GMainContext *
post_psi_get_context (PostPsi *self)
{
  PostPsiPrivate *priv = post_psi_get_instance_private (self);

  g_return_val_if_fail (POST_IS_PSI (self), NULL);
  return priv->context;
}

/**
 * post_psi_get_local_address:
 * @self: a #PostPsi
 *
 * Gets the local address of the transport, as the stack recorded it with
 * post_psi_set_addresses() once bound or connected. It belongs to the
 * instance.
 *
 * Returns: (transfer none) (nullable): the local address, once known
 */
GSocketAddress *
post_psi_get_local_address (PostPsi *self)
{
  PostPsiPrivate *priv = post_psi_get_instance_private (self);

  g_return_val_if_fail (POST_IS_PSI (self), NULL);
  return priv->local_address;
}

/**
 * post_psi_get_remote_address:
 * @self: a #PostPsi
 *
 * Gets the remote address of the transport, as the stack recorded it with
 * post_psi_set_addresses() once connected. It belongs to the instance.
 *
 * Returns: (transfer none) (nullable): the remote address, once known
 */
GSocketAddress *
post_psi_get_remote_address (PostPsi *self)
{
  PostPsiPrivate *priv = post_psi_get_instance_private (self);

  g_return_val_if_fail (POST_IS_PSI (self), NULL);
  return priv->remote_address;
}

/**
 * post_psi_get_interface:
 * @self: a #PostPsi
 *
 * Gets the name of the local network interface the transport uses, as the
 * stack recorded it; the string belongs to the instance.
 *
 * Returns: (nullable): the name of the local interface, when the stack knows it
 */
const char *
post_psi_get_interface (PostPsi *self)
{
  PostPsiPrivate *priv = post_psi_get_instance_private (self);

  g_return_val_if_fail (POST_IS_PSI (self), NULL);
  return priv->interface;
}

/**
 * post_psi_is_closed:
 * @self: a #PostPsi
 *
 * Tells whether post_psi_close() was called; the operations of a closed
 * instance fail with %POST_ERROR_CLOSED.
 *
 * Returns: whether post_psi_close() was called
 */
gboolean
post_psi_is_closed (PostPsi *self)
{
  PostPsiPrivate *priv = post_psi_get_instance_private (self);

  g_return_val_if_fail (POST_IS_PSI (self), TRUE);
  return priv->closed;
}

/**
 * post_psi_close:
 * @self: a #PostPsi
 * @abort: reset the transport instead of closing it gracefully
 *
 * Releases the transport.  Calling it again does nothing.
 */
void
post_psi_close (PostPsi  *self,
                gboolean  abort)
{
  PostPsiPrivate *priv = post_psi_get_instance_private (self);
  PostPsiClass *klass;

  g_return_if_fail (POST_IS_PSI (self));

  if (priv->closed)
    return;
  priv->closed = TRUE;
  klass = POST_PSI_GET_CLASS (self);
  if (klass->close != NULL)
    klass->close (self, abort);
}

/**
 * post_psi_refuse:
 * @self: a #PostPsi that a listener accepted
 *
 * Refuses the carrier the instance was offered for: nobody accepted it
 * (no #PostCarrier::incoming handler returned %TRUE).  The stack says so
 * on the wire in the way its protocol has for it, so that the initiator
 * fails with %POST_ERROR_CONNECTION_REFUSED ([vfunc@Post.Psi.refuse]:
 * a TLS alert, a QUIC application close), then releases the transport as
 * post_psi_close() does.  A stack without a refuse function resets the
 * transport (post_psi_close() with @abort), which is a refusal for TCP and
 * SCTP.  Stacks whose protocol cannot tell the initiator (udp) do not
 * declare %POST_STACK_CAP_REFUSAL.  Calling it on a closed instance does
 * nothing.
 */
void
post_psi_refuse (PostPsi *self)
{
  PostPsiPrivate *priv = post_psi_get_instance_private (self);
  PostPsiClass *klass;

  g_return_if_fail (POST_IS_PSI (self));

  if (priv->closed)
    return;
  klass = POST_PSI_GET_CLASS (self);
  if (klass->refuse == NULL)
    {
      post_psi_close (self, TRUE);
      return;
    }
  priv->closed = TRUE;
  klass->refuse (self);
}

/**
 * post_psi_notify_sent:
 * @self: a #PostPsi
 *
 * For stacks with [vfunc@Post.Psi.get_sent_offset]: tells the core that
 * more of what was written left for the network.  Call it from the main
 * loop, not from inside a vfunc the core called.
 */
void
post_psi_notify_sent (PostPsi *self)
{
  PostPsiPrivate *priv;

  g_return_if_fail (POST_IS_PSI (self));

  priv = post_psi_get_instance_private (self);
  g_object_ref (self);
  if (CORE_FUNC (priv, sent) != NULL)
    priv->core->sent (self, priv->core_data);
  g_signal_emit (self, signals[SIGNAL_SENT], 0);
  g_object_unref (self);
}

/**
 * post_psi_set_addresses:
 * @self: a #PostPsi
 * @local_address: (nullable): the local address
 * @remote_address: (nullable): the remote address
 *
 * For stacks: records the transport's addresses.
 */
void
post_psi_set_addresses (PostPsi        *self,
                        GSocketAddress *local_address,
                        GSocketAddress *remote_address)
{
  PostPsiPrivate *priv = post_psi_get_instance_private (self);

  g_return_if_fail (POST_IS_PSI (self));

  if (g_set_object (&priv->local_address, local_address))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOCAL_ADDRESS]);
  if (g_set_object (&priv->remote_address, remote_address))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_REMOTE_ADDRESS]);
}

/**
 * post_psi_set_interface:
 * @self: a #PostPsi
 * @interface: (nullable): the local interface's name
 *
 * For stacks: records the local interface.
 */
void
post_psi_set_interface (PostPsi    *self,
                        const char *interface)
{
  PostPsiPrivate *priv = post_psi_get_instance_private (self);

  g_return_if_fail (POST_IS_PSI (self));

  g_free (priv->interface);
  priv->interface = g_strdup (interface);
}

/**
 * post_psi_set_proxy:
 * @self: a #PostPsi
 * @proxy: (nullable): the proxy to go through, with the destination to ask
 *   it for
 *
 * Called by the core before connect_async, for stacks that declare
 * #PostStack:proxy-support: the instance connects to the address of
 * @proxy (which the core passes as the remote address) and tunnels
 * through it to the proxy's destination with
 * post_psi_proxy_handshake_async() before it reports being connected.  A
 * stack that runs over another (TLS over TCP) hands @proxy on to the inner
 * instance, and authenticates the destination, never the proxy.
 */
void
post_psi_set_proxy (PostPsi       *self,
                    GProxyAddress *proxy)
{
  PostPsiPrivate *priv = post_psi_get_instance_private (self);

  g_return_if_fail (POST_IS_PSI (self));
  g_return_if_fail (proxy == NULL || G_IS_PROXY_ADDRESS (proxy));

  g_set_object (&priv->proxy, proxy);
}

/**
 * post_psi_get_proxy:
 * @self: a #PostPsi
 *
 * Gives the proxy the instance goes through (post_psi_set_proxy()).
 *
 * Returns: (transfer none) (nullable): the proxy, or %NULL when the
 *   instance connects directly
 */
GProxyAddress *
post_psi_get_proxy (PostPsi *self)
{
  PostPsiPrivate *priv = post_psi_get_instance_private (self);

  g_return_val_if_fail (POST_IS_PSI (self), NULL);
  return priv->proxy;
}

/**
 * post_psi_check_interface:
 * @interface: (nullable): an interface name, as a #PostLocal names it
 * @error: return location for an error
 *
 * Checks that an interface of that name exists on the host.  The core
 * calls it before it initiates or listens with a local that names an
 * interface; post_psi_bind_to_interface() checks again.
 *
 * Returns: its index, or 0 with %POST_ERROR_INVALID_ARGUMENT (naming the
 *   interface) when there is none; 0 without an error for a %NULL @interface
 */
guint
post_psi_check_interface (const char  *interface,
                          GError     **error)
{
  guint index;

  if (interface == NULL)
    return 0;
  index = if_nametoindex (interface);
  if (index == 0)
    g_set_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                 "The local names the interface “%s”, and this host has no interface of that name",
                 interface);
  return index;
}

/**
 * post_psi_bind_to_interface:
 * @self: a #PostPsi
 * @fd: the instance's socket (an IP socket, before it is bound or connected)
 * @listening: whether the socket will listen (or serve remotes unconnected)
 *   rather than initiate
 * @error: return location for an error
 *
 * For stacks: binds @fd to the interface the core set with
 * post_psi_set_interface() before connect_async, listen or
 * listen_unconnected — the interface a #PostLocal names, or the one of a
 * gathered local.  Does nothing when no interface is set.
 *
 * It uses `SO_BINDTODEVICE`: the socket then sends and receives only
 * through that interface.  Where the kernel does not permit it (Linux
 * before 5.7 without `CAP_NET_RAW`), an initiating socket falls back to
 * `IP_UNICAST_IF` / `IPV6_UNICAST_IF`, which makes its unicast datagrams
 * leave through the interface; a listening one fails, since nothing else
 * restricts what it accepts.
 *
 * Returns: %TRUE on success; %FALSE with %POST_ERROR_INVALID_ARGUMENT when
 *   the host has no interface of that name, or a %G_IO_ERROR naming the
 *   interface when the socket cannot be bound to it
 */
gboolean
post_psi_bind_to_interface (PostPsi   *self,
                            int        fd,
                            gboolean   listening,
                            GError   **error)
{
  PostPsiPrivate *priv = post_psi_get_instance_private (self);
  const char *interface;
  guint index;
  int errsv;
  int domain = 0;
  socklen_t len = sizeof domain;

  g_return_val_if_fail (POST_IS_PSI (self), FALSE);
  g_return_val_if_fail (fd >= 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  interface = priv->interface;
  if (interface == NULL)
    return TRUE;
  index = post_psi_check_interface (interface, error);
  if (index == 0)
    return FALSE;
#ifdef SO_BINDTODEVICE
  if (setsockopt (fd, SOL_SOCKET, SO_BINDTODEVICE, interface, strlen (interface) + 1) == 0)
    return TRUE;
  errsv = errno;
#else
  errsv = ENOPROTOOPT;
#endif
  if (!listening && (errsv == EPERM || errsv == ENOPROTOOPT)
      && getsockopt (fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == 0)
    {
      int rv = -1;

#if defined(IP_UNICAST_IF) && defined(IPV6_UNICAST_IF)
      if (domain == AF_INET)
        {
          /* (IPv4 takes the index in network byte order) */
          guint32 value = g_htonl (index);

          rv = setsockopt (fd, IPPROTO_IP, IP_UNICAST_IF, &value, sizeof value);
        }
      else if (domain == AF_INET6)
        {
          int value = (int) index;

          rv = setsockopt (fd, IPPROTO_IPV6, IPV6_UNICAST_IF, &value, sizeof value);
        }
#endif
      if (rv == 0)
        {
          g_debug ("Cannot bind a socket to %s (%s): its unicast traffic leaves by it (IP_UNICAST_IF)",
                   interface, g_strerror (errsv));
          return TRUE;
        }
    }
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv),
               "Cannot bind the socket to the interface %s (SO_BINDTODEVICE): %s",
               interface, g_strerror (errsv));
  return FALSE;
}

/**
 * post_psi_notify_ready:
 * @self: a #PostPsi
 * @condition: what became possible
 *
 * For stacks: reports readiness the core asked for with post_psi_set_interest().
 */
void
post_psi_notify_ready (PostPsi      *self,
                       GIOCondition  condition)
{
  PostPsiPrivate *priv;

  g_return_if_fail (POST_IS_PSI (self));

  priv = post_psi_get_instance_private (self);
  g_object_ref (self);
  /* The core's handler is a direct call: this runs for every read and
   * write readiness (see PostPsiCoreFuncs). */
  if (CORE_FUNC (priv, ready) != NULL)
    priv->core->ready (self, condition, priv->core_data);
  g_signal_emit (self, signals[SIGNAL_READY], 0, condition);
  g_object_unref (self);
}

void
_post_psi_set_core_funcs (PostPsi                *self,
                          const PostPsiCoreFuncs *funcs,
                          gpointer                user_data)
{
  PostPsiPrivate *priv = post_psi_get_instance_private (self);

  priv->core = funcs;
  priv->core_data = user_data;
}

void
_post_psi_unset_core_funcs (PostPsi  *self,
                            gpointer  user_data)
{
  PostPsiPrivate *priv = post_psi_get_instance_private (self);

  if (priv->core_data == user_data)
    {
      priv->core = NULL;
      priv->core_data = NULL;
    }
}

/**
 * post_psi_emit_accepted:
 * @self: a listening #PostPsi
 * @accepted: the instance of the accepted transport
 *
 * For stacks: announces a transport accepted by a listening instance.
 */
void
post_psi_emit_accepted (PostPsi *self,
                        PostPsi *accepted)
{
  g_return_if_fail (POST_IS_PSI (self));
  g_return_if_fail (POST_IS_PSI (accepted));

  g_object_ref (self);
  g_signal_emit (self, signals[SIGNAL_ACCEPTED], 0, accepted);
  g_object_unref (self);
}

/**
 * post_psi_emit_fork_request:
 * @self: a #PostPsi
 * @forked: the instance of the stream the peer opened
 *
 * For stacks: announces a stream the peer opened (a fork request).
 */
void
post_psi_emit_fork_request (PostPsi *self,
                            PostPsi *forked)
{
  PostPsiPrivate *priv;

  g_return_if_fail (POST_IS_PSI (self));
  g_return_if_fail (POST_IS_PSI (forked));

  priv = post_psi_get_instance_private (self);
  g_object_ref (self);
  if (CORE_FUNC (priv, fork_request) != NULL)
    priv->core->fork_request (self, forked, priv->core_data);
  g_signal_emit (self, signals[SIGNAL_FORK_REQUEST], 0, forked);
  g_object_unref (self);
}

/**
 * post_psi_emit_path_changed:
 * @self: a #PostPsi
 *
 * For stacks: the path's addresses, interface or measurements changed.
 */
void
post_psi_emit_path_changed (PostPsi *self)
{
  PostPsiPrivate *priv;

  g_return_if_fail (POST_IS_PSI (self));

  priv = post_psi_get_instance_private (self);
  g_object_ref (self);
  if (CORE_FUNC (priv, path_changed) != NULL)
    priv->core->path_changed (self, priv->core_data);
  g_signal_emit (self, signals[SIGNAL_PATH_CHANGED], 0);
  g_object_unref (self);
}

/**
 * post_psi_set_context:
 * @self: a #PostPsi
 * @local: (nullable): the local endpoint the instance serves (its identity)
 * @association: (nullable): the association of an active open
 *
 * Tells the instance whom it works for, before post_psi_connect_async() or
 * post_psi_listen(): secure stacks find there the identity to present
 * (post_local_get_identity_pem()), the server name, the pre-shared key and
 * the session tickets of the association (draft 2.3).  The core calls it;
 * a listening stack calls it on the instances it accepts.
 */
void
post_psi_set_context (PostPsi         *self,
                      PostLocal       *local,
                      PostAssociation *association)
{
  PostPsiPrivate *priv;

  g_return_if_fail (POST_IS_PSI (self));
  g_return_if_fail (local == NULL || POST_IS_LOCAL (local));
  /* (an association is a layer above: only its being an object is checked) */
  g_return_if_fail (association == NULL || G_IS_OBJECT (association));

  priv = post_psi_get_instance_private (self);
  g_set_object (&priv->local, local);
  g_set_object (&priv->association, association);
}

/**
 * post_psi_get_local:
 * @self: a #PostPsi
 *
 * Gets the local endpoint given to post_psi_set_context(), whose identity
 * (certificate and key) a secure stack presents. It belongs to the
 * instance.
 *
 * Returns: (transfer none) (nullable): the local endpoint set with
 *   post_psi_set_context()
 */
PostLocal *
post_psi_get_local (PostPsi *self)
{
  g_return_val_if_fail (POST_IS_PSI (self), NULL);
  return ((PostPsiPrivate *) post_psi_get_instance_private (self))->local;
}

/**
 * post_psi_get_association:
 * @self: a #PostPsi
 *
 * Gets the association given to post_psi_set_context(), where secure
 * stacks find the server name, the pre-shared key and the session tickets
 * of an active open. It belongs to the instance.
 *
 * Returns: (transfer none) (nullable): the association set with
 *   post_psi_set_context()
 */
PostAssociation *
post_psi_get_association (PostPsi *self)
{
  g_return_val_if_fail (POST_IS_PSI (self), NULL);
  return ((PostPsiPrivate *) post_psi_get_instance_private (self))->association;
}

/**
 * post_psi_get_security_flags:
 * @self: a #PostPsi
 *
 * Tells how the instance is secured: encrypted, whether the session was
 * resumed or a pre-shared key used, whether early data was sent and
 * accepted. The core reports it as post_carrier_get_security_flags().
 *
 * Returns: how the instance is secured; %POST_SECURITY_NONE for cleartext stacks
 */
PostSecurityFlags
post_psi_get_security_flags (PostPsi *self)
{
  PostPsiClass *klass;

  g_return_val_if_fail (POST_IS_PSI (self), POST_SECURITY_NONE);
  klass = POST_PSI_GET_CLASS (self);
  return klass->get_security_flags ? klass->get_security_flags (self) : POST_SECURITY_NONE;
}

/* The peer's details, asked of the stack until its handshake is done,
 * then kept: they do not change on an established instance. */
static PostPsiPrivate *
ensure_peer_details (PostPsi *self)
{
  PostPsiPrivate *priv = post_psi_get_instance_private (self);
  PostPsiClass *klass = POST_PSI_GET_CLASS (self);
  GPtrArray *chain = NULL;
  GTlsCertificateFlags errors = 0;
  char *protocol = NULL;

  if (priv->peer_known || klass->get_peer_details == NULL)
    return priv;
  if (!klass->get_peer_details (self, &chain, &errors, &protocol))
    return priv;
  priv->peer_known = TRUE;
  priv->peer_chain = chain;
  priv->peer_errors = errors;
  priv->negotiated_protocol = protocol;
  return priv;
}

/**
 * post_psi_get_peer_certificate:
 * @self: a #PostPsi
 *
 * Gets the certificate the peer presented in the handshake, as
 * [method@Gio.TlsConnection.get_peer_certificate] does, its
 * [property@Gio.TlsCertificate:issuer] chain linked.  It is made by GIO's
 * TLS backend (glib-networking); without one, %NULL.  The core reports it
 * as [method@Post.Carrier.get_peer_certificate].
 *
 * Returns: (transfer none) (nullable): the peer's certificate; %NULL
 *   before the handshake, on cleartext stacks and when the peer presented
 *   none (a pre-shared key, a client without a certificate)
 */
GTlsCertificate *
post_psi_get_peer_certificate (PostPsi *self)
{
  PostPsiPrivate *priv;

  g_return_val_if_fail (POST_IS_PSI (self), NULL);
  priv = ensure_peer_details (self);
  if (priv->peer_certificate == NULL && priv->peer_chain != NULL && priv->peer_chain->len > 0)
    {
      g_autoptr(GError) error = NULL;

      priv->peer_certificate = _post_tls_certificate_new_from_chain (priv->peer_chain, &error);
      if (priv->peer_certificate == NULL)
        g_debug ("The peer's certificate cannot be shown: %s", error->message);
    }
  return priv->peer_certificate;
}

/**
 * post_psi_get_peer_certificate_errors:
 * @self: a #PostPsi
 *
 * Gets what the verification of the peer's certificate found, as
 * [method@Gio.TlsConnection.get_peer_certificate_errors] does: nonzero
 * only when the application's verification callback accepted the peer
 * anyway.
 *
 * Returns: the errors; 0 before the handshake, on cleartext stacks, and
 *   when the certificate was not verified here (a resumed session, a
 *   listener that asks for no client certificate)
 */
GTlsCertificateFlags
post_psi_get_peer_certificate_errors (PostPsi *self)
{
  g_return_val_if_fail (POST_IS_PSI (self), 0);
  return ensure_peer_details (self)->peer_errors;
}

/**
 * post_psi_get_negotiated_protocol:
 * @self: a #PostPsi
 *
 * Gets the application protocol that ALPN negotiated in the handshake,
 * as [method@Gio.TlsConnection.get_negotiated_protocol] does.
 *
 * Returns: (nullable): the protocol id; %NULL before the handshake, on
 *   cleartext stacks and when ALPN agreed on none
 */
const char *
post_psi_get_negotiated_protocol (PostPsi *self)
{
  g_return_val_if_fail (POST_IS_PSI (self), NULL);
  return ensure_peer_details (self)->negotiated_protocol;
}

/**
 * post_psi_set_first_message_deadline:
 * @self: an accepted instance, before post_psi_emit_accepted()
 * @deadline: a g_get_monotonic_time() instant, or 0 for none
 *
 * For stacks: bounds the time the peer of an accepted instance may take to
 * complete its first message. If the carrier of @self has assembled no
 * complete message from the peer at @deadline (in stream framing: no
 * byte), it closes with %POST_ERROR_TIMED_OUT, and a silent peer no longer
 * holds a descriptor. The core keeps the time (from when it takes @self;
 * a deadline already past closes the carrier at once); a stack sets the
 * deadline from its option, such as `tcp.first-message-timeout` (in the
 * spirit of nginx's client_header_timeout), counted from when it accepted
 * the transport, so that a handshake before post_psi_emit_accepted() counts
 * too. A carrier that only sends (%POST_DIRECTION_UNIDIRECTIONAL_SEND)
 * waits for nothing and is not bounded.
 */
void
post_psi_set_first_message_deadline (PostPsi *self,
                                     gint64   deadline)
{
  PostPsiPrivate *priv;

  g_return_if_fail (POST_IS_PSI (self));

  priv = post_psi_get_instance_private (self);
  priv->first_message_deadline = MAX (deadline, 0);
}

/**
 * post_psi_get_first_message_deadline:
 * @self: an instance
 *
 * Gets the deadline by which the peer of an accepted instance must
 * complete its first message, as the stack set it with
 * post_psi_set_first_message_deadline(); the core closes the carrier with
 * %POST_ERROR_TIMED_OUT when it passes.
 *
 * Returns: what post_psi_set_first_message_deadline() set: a monotonic
 *   instant, or 0
 */
gint64
post_psi_get_first_message_deadline (PostPsi *self)
{
  PostPsiPrivate *priv;

  g_return_val_if_fail (POST_IS_PSI (self), 0);

  priv = post_psi_get_instance_private (self);
  return priv->first_message_deadline;
}

/**
 * post_psi_has_first_message:
 * @self: an instance
 *
 * Whether the core has assembled a complete message from the peer of @self
 * (in stream framing: a byte, or the end of the stream). A listener that
 * is full uses it to choose whom to evict: a peer that has not spoken yet
 * (such as the oldest of them) rather than one that has.
 *
 * Returns: %TRUE once the peer completed its first message
 */
gboolean
post_psi_has_first_message (PostPsi *self)
{
  PostPsiPrivate *priv;

  g_return_val_if_fail (POST_IS_PSI (self), FALSE);

  priv = post_psi_get_instance_private (self);
  return priv->first_message_received;
}

void
_post_psi_set_first_message_received (PostPsi *self)
{
  PostPsiPrivate *priv = post_psi_get_instance_private (self);

  priv->first_message_received = TRUE;
}

/**
 * post_psi_get_early_data_limit:
 * @self: a #PostPsi
 *
 * Before an active open: how many bytes of idempotent messages the
 * instance could send as 0-RTT early data.
 *
 * Returns: the limit in bytes, 0 when early data is not possible
 */
gsize
post_psi_get_early_data_limit (PostPsi *self)
{
  PostPsiClass *klass;

  g_return_val_if_fail (POST_IS_PSI (self), 0);
  klass = POST_PSI_GET_CLASS (self);
  if (klass->get_early_data_limit == NULL || klass->set_early_data == NULL)
    return 0;
  return klass->get_early_data_limit (self);
}

/**
 * post_psi_set_early_data:
 * @self: a #PostPsi
 * @early_data: framed idempotent messages, at most
 *   post_psi_get_early_data_limit() bytes
 *
 * Hands @early_data to the instance before post_psi_connect_async(): it
 * sends them as 0-RTT data, or right after the handshake if the peer
 * rejects early data, so that they are delivered exactly once.
 */
void
post_psi_set_early_data (PostPsi *self,
                         GBytes  *early_data)
{
  PostPsiPrivate *priv;
  PostPsiClass *klass;

  g_return_if_fail (POST_IS_PSI (self));
  g_return_if_fail (early_data != NULL);

  priv = post_psi_get_instance_private (self);
  klass = POST_PSI_GET_CLASS (self);
  g_return_if_fail (klass->set_early_data != NULL);
  g_clear_pointer (&priv->early_data, g_bytes_unref);
  priv->early_data = g_bytes_ref (early_data);
  klass->set_early_data (self, early_data);
}

/**
 * post_psi_get_early_data:
 * @self: a #PostPsi
 *
 * Gets the framed idempotent messages handed over with
 * post_psi_set_early_data(), which a secure stack sends as 0-RTT data. The
 * bytes belong to the instance.
 *
 * Returns: (transfer none) (nullable): the early data handed to the
 *   instance with post_psi_set_early_data()
 */
GBytes *
post_psi_get_early_data (PostPsi *self)
{
  g_return_val_if_fail (POST_IS_PSI (self), NULL);
  return ((PostPsiPrivate *) post_psi_get_instance_private (self))->early_data;
}

/**
 * post_psi_emit_soft_error:
 * @self: a #PostPsi
 * @error: what the network reported
 *
 * For stacks: reports an error that does not end the transport (an ICMP
 * error about an earlier datagram, say).
 */
void
post_psi_emit_soft_error (PostPsi      *self,
                          const GError *error)
{
  PostPsiPrivate *priv;

  g_return_if_fail (POST_IS_PSI (self));
  g_return_if_fail (error != NULL);

  priv = post_psi_get_instance_private (self);
  g_object_ref (self);
  if (CORE_FUNC (priv, soft_error) != NULL)
    priv->core->soft_error (self, error, priv->core_data);
  g_signal_emit (self, signals[SIGNAL_SOFT_ERROR], 0, error);
  g_object_unref (self);
}

/**
 * post_psi_emit_datagram_event:
 * @self: a #PostPsi
 * @id: the id given to post_psi_send_datagram()
 * @event: what became of the datagram
 *
 * For stacks: reports the fate of a datagram, from the main loop (not
 * from inside post_psi_send_datagram()).
 */
void
post_psi_emit_datagram_event (PostPsi           *self,
                              guint64            id,
                              PostDatagramEvent  event)
{
  PostPsiPrivate *priv;

  g_return_if_fail (POST_IS_PSI (self));

  priv = post_psi_get_instance_private (self);
  g_object_ref (self);
  if (CORE_FUNC (priv, datagram_event) != NULL)
    priv->core->datagram_event (self, id, event, priv->core_data);
  g_signal_emit (self, signals[SIGNAL_DATAGRAM_EVENT], 0, id, event);
  g_object_unref (self);
}

/**
 * post_psi_emit_message_expired:
 * @self: a #PostPsi
 * @message: a message the instance took in post_psi_send_message()
 *
 * For message stacks: reports that the stack abandoned @message after it
 * took it, its lifetime having passed before the peer acknowledged it (a
 * stack that keeps messages after the hand-off and drops them when their
 * lifetime passes, such as PR-SCTP).  The core fires the message's
 * `expired` event (after its `sent`: the message left, and did not
 * arrive).  Called from the main loop, not from inside
 * post_psi_send_message(); a message that already expired is ignored.
 */
void
post_psi_emit_message_expired (PostPsi     *self,
                               PostMessage *message)
{
  PostPsiPrivate *priv;

  g_return_if_fail (POST_IS_PSI (self));
  g_return_if_fail (POST_IS_MESSAGE (message));

  priv = post_psi_get_instance_private (self);
  g_object_ref (self);
  if (CORE_FUNC (priv, message_expired) != NULL)
    priv->core->message_expired (self, message, priv->core_data);
  g_signal_emit (self, signals[SIGNAL_MESSAGE_EXPIRED], 0, message);
  g_object_unref (self);
}

/**
 * post_psi_deliver_datagram:
 * @self: a #PostPsi
 * @content: a datagram the peer sent for this instance
 *
 * For stacks: hands a received unreliable datagram to the core, which
 * delivers it on the instance's carrier as one complete message (not
 * through the framer, and in no order relative to the stream's messages).
 *
 * Returns: %TRUE if the core took it; %FALSE when nobody serves the
 *   instance yet (a stream not yet accepted), the stack then drops it
 */
gboolean
post_psi_deliver_datagram (PostPsi *self,
                           GBytes  *content)
{
  PostPsiPrivate *priv;

  g_return_val_if_fail (POST_IS_PSI (self), FALSE);
  g_return_val_if_fail (content != NULL, FALSE);

  priv = post_psi_get_instance_private (self);
  if (post_psi_is_closed (self)
      || (CORE_FUNC (priv, datagram_received) == NULL
          && !g_signal_has_handler_pending (self, signals[SIGNAL_DATAGRAM_RECEIVED], 0, FALSE)))
    return FALSE;
  g_object_ref (self);
  if (CORE_FUNC (priv, datagram_received) != NULL)
    priv->core->datagram_received (self, content, priv->core_data);
  g_signal_emit (self, signals[SIGNAL_DATAGRAM_RECEIVED], 0, content);
  g_object_unref (self);
  return TRUE;
}

/*
 * _post_path_new_for_psi:
 * @psi: a connected or listening PSI
 *
 * Creates the path of @psi: its addresses, its interface and the name of
 * its stack; then lets the stack fill in what it measures.
 *
 * Returns: (transfer full): a new path
 */
PostPath *
_post_path_new_for_psi (PostPsi *psi)
{
  PostStack *stack;

  g_return_val_if_fail (POST_IS_PSI (psi), NULL);

  stack = post_psi_get_stack (psi);
  return _post_path_new_full (post_psi_get_local_address (psi),
                              post_psi_get_remote_address (psi),
                              post_psi_get_interface (psi),
                              stack != NULL ? post_stack_get_name (stack) : NULL);
}
