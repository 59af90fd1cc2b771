/* post-refused-peers-private.h: the remotes a listener refused, on stacks
 * that cannot tell them
 *
 * A listener of a connectionless stack without %POST_STACK_CAP_REFUSAL
 * (udp) cannot tell a remote it refused: the remote goes on sending, and
 * each of its datagrams would be a new carrier offered by the incoming
 * signal.  The listener keeps the remotes it refused here and drops what
 * comes from them instead.  The table is bounded: at most
 * POST_REFUSED_PEERS_MAX remotes (the one heard of least recently goes
 * first), each forgotten POST_REFUSED_PEER_AGE_US after its last datagram,
 * so that a remote that stopped sending (or a later application on the
 * same port) is offered again.
 *
 * Nothing here is installed or exported.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define POST_REFUSED_PEERS_MAX   1024
#define POST_REFUSED_PEER_AGE_US (30 * G_USEC_PER_SEC)

typedef struct _PostRefusedPeers PostRefusedPeers;

PostRefusedPeers *_post_refused_peers_new      (void);
void              _post_refused_peers_free     (PostRefusedPeers *self);
/* Remembers @remote as refused at @now (monotonic microseconds). */
void              _post_refused_peers_add      (PostRefusedPeers *self,
                                                GSocketAddress   *remote,
                                                gint64            now);
/* Whether @remote was refused and heard of within the age limit; if so,
 * its age starts again at @now (it is still sending). */
gboolean          _post_refused_peers_check    (PostRefusedPeers *self,
                                                GSocketAddress   *remote,
                                                gint64            now);
guint             _post_refused_peers_size     (PostRefusedPeers *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PostRefusedPeers, _post_refused_peers_free)

G_END_DECLS
