/* post-enums.h: enumerations and flags of libpost
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(POST_INSIDE) && !defined(POST_COMPILATION)
# error "Only <post.h> can be included directly."
#endif

#include <glib.h>

G_BEGIN_DECLS

/**
 * PostCarrierRole:
 * @POST_CARRIER_ROLE_CARRIER: a fully fledged bidirectional carrier
 * @POST_CARRIER_ROLE_LISTENER: accepts carriers from remotes (passive open)
 * @POST_CARRIER_ROLE_SOURCE: can only send
 * @POST_CARRIER_ROLE_SINK: can only receive
 * @POST_CARRIER_ROLE_RESPONDER: receives from many remotes, each message with a [class@Post.Reply]
 *
 * The roles of draft section 2.1.
 */
typedef enum {
  POST_CARRIER_ROLE_CARRIER,
  POST_CARRIER_ROLE_LISTENER,
  POST_CARRIER_ROLE_SOURCE,
  POST_CARRIER_ROLE_SINK,
  POST_CARRIER_ROLE_RESPONDER,
} PostCarrierRole;

/**
 * PostCarrierState:
 * @POST_CARRIER_STATE_ESTABLISHING: no transport yet; sends are queued
 * @POST_CARRIER_STATE_ACTIVE: backed by a transient; messages flow
 * @POST_CARRIER_STATE_DORMANT: the transport was lost; the association keeps its state
 * @POST_CARRIER_STATE_CLOSING: a graceful close is draining queued messages
 * @POST_CARRIER_STATE_CLOSED: closed; every operation fails with %POST_ERROR_CLOSED
 *
 * The life cycle of a [class@Post.Carrier] (draft Figure 5).
 */
typedef enum {
  POST_CARRIER_STATE_ESTABLISHING,
  POST_CARRIER_STATE_ACTIVE,
  POST_CARRIER_STATE_DORMANT,
  POST_CARRIER_STATE_CLOSING,
  POST_CARRIER_STATE_CLOSED,
} PostCarrierState;

/**
 * PostPreference:
 * @POST_PREFERENCE_NO_PREFERENCE: no preference (the default)
 * @POST_PREFERENCE_REQUIRE: only stacks that provide the property are used
 * @POST_PREFERENCE_PREFER: stacks that provide the property rank higher
 * @POST_PREFERENCE_AVOID: stacks that provide the property rank lower
 * @POST_PREFERENCE_PROHIBIT: stacks that provide the property are not used
 *
 * The five levels of an RFC 9622 selection property.
 */
typedef enum {
  POST_PREFERENCE_NO_PREFERENCE,
  POST_PREFERENCE_REQUIRE,
  POST_PREFERENCE_PREFER,
  POST_PREFERENCE_AVOID,
  POST_PREFERENCE_PROHIBIT,
} PostPreference;

/**
 * PostStackCapabilities:
 * @POST_STACK_CAP_NONE: nothing
 * @POST_STACK_CAP_RELIABLE: every byte is delivered or the carrier fails (`reliability`)
 * @POST_STACK_CAP_PRESERVE_MSG_BOUNDARIES: the stack keeps message boundaries on the
 *   wire by itself (`preserve-msg-boundaries`); byte streams get boundaries from a framer
 * @POST_STACK_CAP_ORDERED: delivery is in order (`preserve-order`)
 * @POST_STACK_CAP_PER_MSG_RELIABILITY: reliability can be chosen per message (`per-msg-reliability`)
 * @POST_STACK_CAP_MULTISTREAMING: several carriers share one PSI as streams (`multistreaming`); fork opens a stream
 * @POST_STACK_CAP_ZERO_RTT: idempotent messages can travel before the handshake completes (`zero-rtt-msg`)
 * @POST_STACK_CAP_MULTIPATH: one transient can use several paths (`multipath`)
 * @POST_STACK_CAP_CONGESTION_CONTROL: the stack is congestion controlled (`congestion-control`)
 * @POST_STACK_CAP_KEEP_ALIVE: the stack sends keep-alives after
 *   post_configuration_get_effective_keep_alive_timeout() of idleness and
 *   fails with %POST_ERROR_TIMED_OUT when the peer answers none (`keep-alive`)
 * @POST_STACK_CAP_SECURE: confidentiality and authentication of the peer
 * @POST_STACK_CAP_LISTEN: the stack can accept carriers (passive open)
 * @POST_STACK_CAP_FORK: carriers can be forked (with a new stream or a new transient)
 * @POST_STACK_CAP_HALF_CLOSE: one direction can end while the other goes on (stream mode)
 * @POST_STACK_CAP_MULTICAST: the stack can join and send to multicast groups
 * @POST_STACK_CAP_EVENT_SENT: the sent event reflects hand-off to the network
 * @POST_STACK_CAP_EVENT_ACKED: the acked event reflects the peer's transport acknowledgement
 * @POST_STACK_CAP_EVENT_EXPIRED: messages whose lifetime passes are dropped and the expired event fires
 * @POST_STACK_CAP_MSG_LIFETIME: message lifetimes are honoured
 * @POST_STACK_CAP_MSG_NICENESS: message niceness orders transmission
 * @POST_STACK_CAP_MSG_ANTECEDENTS: antecedents are sent before their successors
 * @POST_STACK_CAP_MSG_IMMEDIATE: immediate messages are sent at once, in their own packet when possible
 * @POST_STACK_CAP_MSG_IDEMPOTENT: idempotent messages may be replayed in 0-RTT data
 * @POST_STACK_CAP_BYTE_STREAM: the stack carries a byte stream; message boundaries come from a [class@Post.Framer]
 * @POST_STACK_CAP_SOFT_ERROR_NOTIFY: the stack reports errors that do not end the
 *   transport, such as ICMP errors for datagrams (`soft-error-notify`): the carrier's
 *   #PostCarrier::soft-error signal
 * @POST_STACK_CAP_MIGRATION: a connection can move to another local address
 *   and survive (connection migration, as QUIC's): when the carrier's local
 *   address or interface goes away, the carrier stays active on another
 *   one (post_psi_migrate()).  Not multipath: one path at a time
 * @POST_STACK_CAP_REFUSAL: the protocol tells an initiator that the peer
 *   refused it: a carrier that a listener refuses (no
 *   #PostCarrier::incoming handler accepts it) fails at the initiator with
 *   %POST_ERROR_CONNECTION_REFUSED — its establishment, or, when the
 *   protocol's handshake completed before the listener decided (tcp, tls,
 *   quic, sctp, dtls), the carrier then closes with that error instead of
 *   going dormant; the stack's refuse function (post_psi_refuse()) says it
 *   on the wire (a reset, an alert, an application close).  Without it
 *   (udp: the protocol has no way to say no) the initiator learns nothing
 *   and what it sends is lost; the listener drops the refused remote's
 *   datagrams instead of offering a new carrier for each
 * @POST_STACK_CAP_FORK_REQUEST: a fork arrives at a libpost peer as a fork
 *   request of the original carrier (its #PostCarrier::incoming signal, not
 *   a listener's), and either side can fork.  Multistreaming stacks declare
 *   it (a fork is a stream); libpost's core adds it to byte streams that can
 *   listen when they use its own framing (%POST_FRAMING_AUTO with
 *   #PostLengthPrefixFramer), whose control frames carry the request
 *   (docs/framing.md).  Without it (stream framing, another framer, message
 *   stacks such as udp and dtls) a fork is an ordinary carrier at the peer's
 *   listener, and only the initiating side can fork
 * @POST_STACK_CAP_EMPTY_MESSAGES: a message of zero bytes arrives as a
 *   message.  libpost's framing gives it to every byte stream; a message
 *   stack declares it when its protocol delivers an empty message (UDP
 *   does; DTLS does not: GnuTLS does not deliver an empty record).  Without
 *   it, sending an empty message fails with %POST_ERROR_NOT_SUPPORTED
 *   instead of vanishing
 * @POST_STACK_CAP_PARTIAL_MESSAGES: a message travels in parts: the parts
 *   of a message sent with post_carrier_send_partial_async() leave as they
 *   are given, and what arrives of a message before its end is delivered
 *   to partial receives, so neither side holds the message whole and its
 *   size has no limit.  libpost's framing gives it to every byte stream; a
 *   message stack declares it when its PSI takes messages in parts
 *   (post_psi_can_send_parts(): sctp, with explicit EOR).  Without it (udp,
 *   dtls) the core gathers the parts and the message leaves whole with its
 *   last part, within the stack's largest message
 *
 * What a stack provides, as the selector and the application see it.
 * [method@Post.Stack.get_capabilities] tells what the stack alone does;
 * [method@Post.Carrier.get_capabilities] adds what libpost's core provides
 * on top of it (framing, niceness ordering, lifetimes before transmission).
 */
typedef enum /*< flags >*/ {
  POST_STACK_CAP_NONE                    = 0,
  POST_STACK_CAP_RELIABLE                = 1 << 0,
  POST_STACK_CAP_PRESERVE_MSG_BOUNDARIES = 1 << 1,
  POST_STACK_CAP_ORDERED                 = 1 << 2,
  POST_STACK_CAP_PER_MSG_RELIABILITY     = 1 << 3,
  POST_STACK_CAP_MULTISTREAMING          = 1 << 4,
  POST_STACK_CAP_ZERO_RTT                = 1 << 5,
  POST_STACK_CAP_MULTIPATH               = 1 << 6,
  POST_STACK_CAP_CONGESTION_CONTROL      = 1 << 7,
  POST_STACK_CAP_KEEP_ALIVE              = 1 << 8,
  POST_STACK_CAP_SECURE                  = 1 << 9,
  POST_STACK_CAP_LISTEN                  = 1 << 10,
  POST_STACK_CAP_FORK                    = 1 << 11,
  POST_STACK_CAP_HALF_CLOSE              = 1 << 12,
  POST_STACK_CAP_MULTICAST               = 1 << 13,
  POST_STACK_CAP_EVENT_SENT              = 1 << 14,
  POST_STACK_CAP_EVENT_ACKED             = 1 << 15,
  POST_STACK_CAP_EVENT_EXPIRED           = 1 << 16,
  POST_STACK_CAP_MSG_LIFETIME            = 1 << 17,
  POST_STACK_CAP_MSG_NICENESS            = 1 << 18,
  POST_STACK_CAP_MSG_ANTECEDENTS         = 1 << 19,
  POST_STACK_CAP_MSG_IMMEDIATE           = 1 << 20,
  POST_STACK_CAP_MSG_IDEMPOTENT          = 1 << 21,
  POST_STACK_CAP_BYTE_STREAM             = 1 << 22,
  POST_STACK_CAP_SOFT_ERROR_NOTIFY       = 1 << 23,
  POST_STACK_CAP_MIGRATION               = 1 << 24,
  POST_STACK_CAP_REFUSAL                 = 1 << 25,
  POST_STACK_CAP_FORK_REQUEST            = 1 << 26,
  POST_STACK_CAP_PARTIAL_MESSAGES        = 1 << 27,
  POST_STACK_CAP_EMPTY_MESSAGES          = 1 << 30,
} PostStackCapabilities;

/**
 * PostSelectionProperty:
 * @POST_SELECTION_RELIABILITY: `reliability`
 * @POST_SELECTION_PRESERVE_MSG_BOUNDARIES: `preserve-msg-boundaries`
 * @POST_SELECTION_PER_MSG_RELIABILITY: `per-msg-reliability`
 * @POST_SELECTION_PRESERVE_ORDER: `preserve-order`
 * @POST_SELECTION_ZERO_RTT_MSG: `zero-rtt-msg`
 * @POST_SELECTION_MULTISTREAMING: `multistreaming`
 * @POST_SELECTION_CONGESTION_CONTROL: `congestion-control`
 * @POST_SELECTION_KEEP_ALIVE: `keep-alive`
 * @POST_SELECTION_MULTIPATH: `multipath`
 * @POST_SELECTION_SECURE: `secure` (libpost's name: confidentiality and peer authentication)
 * @POST_SELECTION_FORK: `fork` (libpost's name: carriers can be forked)
 * @POST_SELECTION_LAST: the number of selection properties
 *
 * The selection properties of RFC 9622 that map to a stack capability.
 * Each has a [enum@Post.Preference] in a [class@Post.Configuration];
 * [func@Post.SelectionProperty.to_nick] gives its kebab-case name.
 */
typedef enum {
  POST_SELECTION_RELIABILITY,
  POST_SELECTION_PRESERVE_MSG_BOUNDARIES,
  POST_SELECTION_PER_MSG_RELIABILITY,
  POST_SELECTION_PRESERVE_ORDER,
  POST_SELECTION_ZERO_RTT_MSG,
  POST_SELECTION_MULTISTREAMING,
  POST_SELECTION_CONGESTION_CONTROL,
  POST_SELECTION_KEEP_ALIVE,
  POST_SELECTION_MULTIPATH,
  POST_SELECTION_SECURE,
  POST_SELECTION_FORK,
  POST_SELECTION_LAST /*< skip >*/
} PostSelectionProperty;

/**
 * PostFramingMode:
 * @POST_FRAMING_AUTO: on byte-stream stacks, use the configuration's framer
 *   (by default [class@Post.LengthPrefixFramer]); message stacks keep their own boundaries
 * @POST_FRAMING_STREAM: stream mode: each direction is one message, completed
 *   when the sender ends it (a FIN on TCP); draft section 2.2
 *
 * How messages map onto a byte-stream stack.
 */
typedef enum {
  POST_FRAMING_AUTO,
  POST_FRAMING_STREAM,
} PostFramingMode;

/**
 * PostFramerDirection:
 * @POST_FRAMER_DIRECTION_INPUT: decoding: the bytes the peer sends
 * @POST_FRAMER_DIRECTION_OUTPUT: encoding: the messages the application sends
 * @POST_FRAMER_DIRECTION_BOTH: both directions
 *
 * The directions of a carrier in which a [class@Post.Framer] is replaced
 * by another or starts pass-through ([method@Post.Framer.replace]).
 */
typedef enum /*< flags >*/ {
  POST_FRAMER_DIRECTION_INPUT  = 1 << 0,
  POST_FRAMER_DIRECTION_OUTPUT = 1 << 1,
  POST_FRAMER_DIRECTION_BOTH   = POST_FRAMER_DIRECTION_INPUT | POST_FRAMER_DIRECTION_OUTPUT,
} PostFramerDirection;

/**
 * PostWebSocketRole:
 * @POST_WEBSOCKET_ROLE_AUTO: the client if this end opened the carrier's
 *   transport, the server if it accepted it
 * @POST_WEBSOCKET_ROLE_CLIENT: the client: sends the opening handshake and
 *   masks its frames
 * @POST_WEBSOCKET_ROLE_SERVER: the server: answers the opening handshake,
 *   expects masked frames and sends them unmasked
 *
 * The side a [class@Post.WebSocketFramer] speaks (RFC 6455).
 */
typedef enum {
  POST_WEBSOCKET_ROLE_AUTO,
  POST_WEBSOCKET_ROLE_CLIENT,
  POST_WEBSOCKET_ROLE_SERVER,
} PostWebSocketRole;

/**
 * PostRemoteLevel:
 * @POST_REMOTE_LEVEL_URI: an unparsed identifier such as `tls://example.com:443`
 * @POST_REMOTE_LEVEL_NAME: a host name with a port (and perhaps a stack)
 * @POST_REMOTE_LEVEL_ADDRESS: a network address and port: fully resolved
 *
 * How far a [class@Post.Remote] is resolved (draft Figure 8).
 */
typedef enum {
  POST_REMOTE_LEVEL_URI,
  POST_REMOTE_LEVEL_NAME,
  POST_REMOTE_LEVEL_ADDRESS,
} PostRemoteLevel;

/**
 * PostRank:
 * @POST_RANK_NONE: never chosen unless named explicitly
 * @POST_RANK_MARGINAL: chosen when nothing better fits
 * @POST_RANK_SECONDARY: a good second choice
 * @POST_RANK_PRIMARY: the preferred stack for what it provides
 *
 * Ranks break ties between stacks that satisfy a configuration equally, as
 * in GStreamer. `POST_STACK_RANK=name:rank,...` in the environment overrides them.
 */
typedef enum {
  POST_RANK_NONE      = 0,
  POST_RANK_MARGINAL  = 64,
  POST_RANK_SECONDARY = 128,
  POST_RANK_PRIMARY   = 256,
} PostRank;

/**
 * PostDirection:
 * @POST_DIRECTION_BIDIRECTIONAL: messages go both ways (the default)
 * @POST_DIRECTION_UNIDIRECTIONAL_SEND: the local end only sends
 * @POST_DIRECTION_UNIDIRECTIONAL_RECEIVE: the local end only receives
 *
 * The RFC 9622 `direction` connection property of a
 * [class@Post.Configuration].
 */
typedef enum {
  POST_DIRECTION_BIDIRECTIONAL,
  POST_DIRECTION_UNIDIRECTIONAL_SEND,
  POST_DIRECTION_UNIDIRECTIONAL_RECEIVE,
} PostDirection;

/**
 * PostInterfaceKind:
 * @POST_INTERFACE_KIND_UNKNOWN: not known (no interface data)
 * @POST_INTERFACE_KIND_LOOPBACK: the loopback interface
 * @POST_INTERFACE_KIND_WIRED: Ethernet and other wired links
 * @POST_INTERFACE_KIND_WIFI: IEEE 802.11 wireless LAN
 * @POST_INTERFACE_KIND_CELLULAR: a mobile broadband (WWAN) modem
 * @POST_INTERFACE_KIND_VPN: a tunnel (tun, WireGuard, IP-in-IP…)
 * @POST_INTERFACE_KIND_OTHER: anything else (bridges, virtual links…)
 *
 * What kind of link a path leaves by, as the policy engine sees it
 * ([struct@Post.PathInfo]); the nicks (`wifi`, `cellular`…) name kinds in
 * policy files and in the `interface` preference set.
 */
typedef enum {
  POST_INTERFACE_KIND_UNKNOWN,
  POST_INTERFACE_KIND_LOOPBACK,
  POST_INTERFACE_KIND_WIRED,
  POST_INTERFACE_KIND_WIFI,
  POST_INTERFACE_KIND_CELLULAR,
  POST_INTERFACE_KIND_VPN,
  POST_INTERFACE_KIND_OTHER,
} PostInterfaceKind;

/**
 * PostAddressFlags:
 * @POST_ADDRESS_FLAGS_NONE: nothing special
 * @POST_ADDRESS_FLAGS_TEMPORARY: an IPv6 temporary (privacy, RFC 8981) address
 * @POST_ADDRESS_FLAGS_DEPRECATED: its preferred lifetime is over: kept for
 *   existing connections, not used for new ones when another is available
 * @POST_ADDRESS_FLAGS_TENTATIVE: duplicate address detection is still running
 * @POST_ADDRESS_FLAGS_DAD_FAILED: duplicate address detection failed
 * @POST_ADDRESS_FLAGS_PERMANENT: configured statically (not by autoconfiguration)
 *
 * What the kernel says of one address of an interface
 * ([struct@Post.AddressInfo]).
 */
typedef enum /*< flags >*/ {
  POST_ADDRESS_FLAGS_NONE       = 0,
  POST_ADDRESS_FLAGS_TEMPORARY  = 1 << 0,
  POST_ADDRESS_FLAGS_DEPRECATED = 1 << 1,
  POST_ADDRESS_FLAGS_TENTATIVE  = 1 << 2,
  POST_ADDRESS_FLAGS_DAD_FAILED = 1 << 3,
  POST_ADDRESS_FLAGS_PERMANENT  = 1 << 4,
} PostAddressFlags;

/**
 * PostTlsVersion:
 * @POST_TLS_VERSION_1_2: TLS 1.2 (RFC 5246)
 * @POST_TLS_VERSION_1_3: TLS 1.3 (RFC 8446), the default minimum and maximum
 *
 * TLS protocol versions a [class@Post.Configuration] allows.
 */
typedef enum {
  POST_TLS_VERSION_1_2 = 12,
  POST_TLS_VERSION_1_3 = 13,
} PostTlsVersion;

/**
 * PostTrustErrors:
 * @POST_TRUST_OK: libpost's own verification passed
 * @POST_TRUST_UNKNOWN_AUTHORITY: the chain does not lead to a trusted anchor
 * @POST_TRUST_NAME_MISMATCH: the certificate does not match the server name
 * @POST_TRUST_EXPIRED: a certificate expired or is not yet valid
 * @POST_TRUST_PIN_MISMATCH: pins are configured and none matches the chain
 * @POST_TRUST_OTHER: another problem (revoked, insecure algorithm, malformed)
 *
 * What libpost's verification found wrong with a peer's certificate chain,
 * as handed to a [callback@Post.VerifyFunc].
 */
typedef enum /*< flags >*/ {
  POST_TRUST_OK                = 0,
  POST_TRUST_UNKNOWN_AUTHORITY = 1 << 0,
  POST_TRUST_NAME_MISMATCH     = 1 << 1,
  POST_TRUST_EXPIRED           = 1 << 2,
  POST_TRUST_PIN_MISMATCH      = 1 << 3,
  POST_TRUST_OTHER             = 1 << 4,
} PostTrustErrors;

/**
 * PostSecurityFlags:
 * @POST_SECURITY_NONE: no security protocol (a cleartext stack)
 * @POST_SECURITY_ENCRYPTED: the transport is encrypted and the peer authenticated
 * @POST_SECURITY_RESUMED: the session was resumed from a ticket the association kept
 * @POST_SECURITY_EARLY_DATA_SENT: idempotent messages were offered as 0-RTT early data
 * @POST_SECURITY_EARLY_DATA_ACCEPTED: the peer accepted the early data (else it was resent)
 * @POST_SECURITY_PSK: the handshake was authenticated by an external pre-shared key
 * @POST_SECURITY_FAST_OPEN: TCP Fast Open was attempted for the handshake
 *
 * How a carrier's current transport is secured, from
 * [method@Post.Carrier.get_security_flags].
 */
typedef enum /*< flags >*/ {
  POST_SECURITY_NONE                = 0,
  POST_SECURITY_ENCRYPTED           = 1 << 0,
  POST_SECURITY_RESUMED             = 1 << 1,
  POST_SECURITY_EARLY_DATA_SENT     = 1 << 2,
  POST_SECURITY_EARLY_DATA_ACCEPTED = 1 << 3,
  POST_SECURITY_PSK                 = 1 << 4,
  POST_SECURITY_FAST_OPEN           = 1 << 5,
} PostSecurityFlags;

/**
 * PostHttpRole:
 * @POST_HTTP_ROLE_AUTO: decided by the framer's first call: encoding a
 *   request (a message with `http-method`) makes it a client, decoding
 *   input first or encoding a response makes it a server (HTTP/1.1
 *   clients always speak first)
 * @POST_HTTP_ROLE_CLIENT: sends requests, receives responses
 * @POST_HTTP_ROLE_SERVER: receives requests, sends responses
 *
 * Which side of HTTP/1.1 a [class@Post.HttpFramer] speaks.
 */
typedef enum {
  POST_HTTP_ROLE_AUTO,
  POST_HTTP_ROLE_CLIENT,
  POST_HTTP_ROLE_SERVER,
} PostHttpRole;

/**
 * PostDatagramEvent:
 * @POST_DATAGRAM_SENT: the stack put the datagram in a packet
 * @POST_DATAGRAM_ACKED: the peer acknowledged the packet that carried it
 *   (after %POST_DATAGRAM_SENT)
 * @POST_DATAGRAM_LOST: the packet that carried it was declared lost, or the
 *   stack could not send it at all; a datagram is never retransmitted
 * @POST_DATAGRAM_EXPIRED: its deadline passed before it could be sent
 *
 * What a stack reports about a datagram handed to it with
 * post_psi_send_datagram(), with post_psi_emit_datagram_event().  Each
 * datagram gets exactly one of %POST_DATAGRAM_SENT, %POST_DATAGRAM_EXPIRED
 * or %POST_DATAGRAM_LOST first; after %POST_DATAGRAM_SENT, at most one of
 * %POST_DATAGRAM_ACKED or %POST_DATAGRAM_LOST may follow.
 */
typedef enum {
  POST_DATAGRAM_SENT,
  POST_DATAGRAM_ACKED,
  POST_DATAGRAM_LOST,
  POST_DATAGRAM_EXPIRED,
} PostDatagramEvent;

G_END_DECLS
