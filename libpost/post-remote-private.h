/* post-remote-private.h: values: the fields of a PostRemote, shared by
 * post-remote.c (construction, accessors) and post-remote-resolve.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "post-values-private.h"

G_BEGIN_DECLS

struct _PostRemote
{
  GObject parent_instance;

  PostRemoteLevel level;
  char *uri;                  /* (owned) (nullable): only at URI level */
  char *hostname;             /* (owned) (nullable) */
  guint16 port;
  char *stack;                /* (owned) (nullable): the stack hint */
  GSocketAddress *address;    /* (owned) (nullable): only at ADDRESS level */
  PostRemote *parent;         /* (owned) (nullable) */
  char *canonical;            /* (owned): stack, host-or-address, port */
  GSocketAddress *literal;    /* (owned) (nullable): at URI level, the address of an IP
                               * literal host (what resolution gives, without a lookup) */
  char *service;              /* (owned) (nullable): at NAME level, a DNS SRV service
                               * (RFC 2782) of the domain in hostname */
  char *service_protocol;     /* (owned) (nullable): its protocol, "tcp" or "udp" */
  GProxyAddress *proxy;       /* (owned) (nullable): from a GProxyAddress, the only
                               * way to the peer (post-proxy.c) */
  const PostScheme *scheme;   /* (nullable): at URI level, an application scheme
                               * (post-scheme.c) that resolves into stacks */
  char **alpn;                /* (owned) (nullable): the ALPN ids an application
                               * scheme gave this candidate, kept by its children */
};

/* A remote one level below @parent, keeping its port, stack hint and ALPN
 * ids, with @hostname or @address (transfer full) */
PostRemote *_post_remote_new_child (PostRemote     *parent,
                                    const char     *hostname,
                                    GSocketAddress *address);

G_END_DECLS
