/* post-scheme.c: the well-known application URI schemes (https, http, ...)
 * that a remote resolves recursively into candidate stacks (see
 * post-values-private.h and docs/architecture.md, "Remotes").
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "post-values-private.h"

static const char * const alpn_https_tls[] = { "h2", "http/1.1", NULL };
static const char * const alpn_h3[] = { "h3", NULL };
static const char * const alpn_http11[] = { "http/1.1", NULL };
static const char * const alpn_imap[] = { "imap", NULL };
static const char * const alpn_pop3[] = { "pop3", NULL };

static const PostSchemeCandidate https_candidates[] = {
  /* RFC 9110 over TLS (RFC 9113 h2, RFC 9112 http/1.1), raced with
   * HTTP/3 over QUIC (RFC 9114) on the same port */
  { "tls", alpn_https_tls },
  { "quic", alpn_h3 },
  { NULL, NULL },
};
static const PostSchemeCandidate http_candidates[] = {
  { "tcp", NULL },
  { NULL, NULL },
};
static const PostSchemeCandidate wss_candidates[] = {
  /* RFC 6455's opening handshake is HTTP/1.1 */
  { "tls", alpn_http11 },
  { NULL, NULL },
};
static const PostSchemeCandidate imaps_candidates[] = {
  /* RFC 8314 implicit TLS; the ALPN ids of the IANA registry */
  { "tls", alpn_imap },
  { NULL, NULL },
};
static const PostSchemeCandidate pop3s_candidates[] = {
  { "tls", alpn_pop3 },
  { NULL, NULL },
};

static const PostScheme schemes[] = {
  { "https", 443, https_candidates },
  { "http", 80, http_candidates },
  { "wss", 443, wss_candidates },
  { "ws", 80, http_candidates },
  { "imaps", 993, imaps_candidates },
  { "pop3s", 995, pop3s_candidates },
};

const PostScheme *
_post_scheme_lookup (const char *name)
{
  if (name == NULL)
    return NULL;
  for (guint i = 0; i < G_N_ELEMENTS (schemes); i++)
    if (g_ascii_strcasecmp (schemes[i].name, name) == 0)
      return &schemes[i];
  return NULL;
}

char *
_post_scheme_list (void)
{
  GString *list = g_string_new (NULL);

  for (guint i = 0; i < G_N_ELEMENTS (schemes); i++)
    g_string_append_printf (list, "%s%s", i > 0 ? ", " : "", schemes[i].name);
  return g_string_free (list, FALSE);
}
