/* post-endpoint.c: endpoint URIs and IP literals, shared by PostRemote and PostLocal
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "post-values-private.h"

#include <net/if.h>
#include <string.h>

/* The URI schemes libpost knows, each naming a stack family.  Whether a
 * plugin provides the stack is checked at selection time, not here. */
static const char * const known_schemes[] = {
  "tcp", "tls", "udp", "dtls", "sctp", "quic", NULL
};

/* ---- endpoint parsing (shared with PostLocal) ---------------------------- */

GInetAddress *
_post_inet_address_parse (const char  *literal,
                          guint32     *scope_id,
                          GError     **error)
{
  g_autoptr(GInetAddress) address = NULL;
  g_autofree char *bare = NULL;
  const char *percent;
  guint32 scope = 0;

  if (scope_id != NULL)
    *scope_id = 0;

  if (literal == NULL || *literal == '\0')
    return NULL;

  percent = strchr (literal, '%');
  if (percent == NULL)
    return g_inet_address_new_from_string (literal);

  bare = g_strndup (literal, percent - literal);
  address = g_inet_address_new_from_string (bare);
  if (address == NULL || g_inet_address_get_family (address) != G_SOCKET_FAMILY_IPV6)
    return NULL;

  percent++;
  if (*percent == '\0')
    {
      g_set_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                   "the IPv6 address ‘%s’ has an empty scope", literal);
      return NULL;
    }

  if (g_ascii_isdigit (*percent))
    {
      guint64 number;

      if (!g_ascii_string_to_unsigned (percent, 10, 0, G_MAXUINT32, &number, NULL))
        {
          g_set_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                       "the IPv6 address ‘%s’ has an invalid scope", literal);
          return NULL;
        }
      scope = (guint32) number;
    }
  else
    {
      scope = if_nametoindex (percent);
      if (scope == 0)
        {
          g_set_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                       "the scope of ‘%s’ names no network interface", literal);
          return NULL;
        }
    }

  if (scope_id != NULL)
    *scope_id = scope;

  return g_steal_pointer (&address);
}

gboolean
_post_endpoint_is_known_scheme (const char *scheme)
{
  return g_strv_contains (known_schemes, scheme);
}

/*
 * GUri percent-decodes the host, so it may now hold anything: a control
 * character (`evil%0aInjected` would forge a line in every log that names
 * the remote), a space, or a delimiter (`/ ; : @ % [ ]`) after which the
 * canonical form no longer parses back to the same remote.  A host is an
 * IP literal (IPv6 with an optional `%scope`), or a name of letters,
 * digits, `-`, `_` and `.`, and UTF-8 beyond ASCII (an internationalized
 * name).  NULL if @host is fine, or else why not.
 */
char *
_post_endpoint_check_host (const char *host)
{
  g_autofree char *shown = NULL;

  if (strchr (host, ':') != NULL)
    {
      /* Only an IPv6 literal holds ':', then an optional %scope of
       * interface-name characters */
      const char *percent = strchr (host, '%');
      g_autofree char *bare = g_strndup (host, percent != NULL ? (gsize) (percent - host) : strlen (host));
      g_autoptr(GInetAddress) address = g_inet_address_new_from_string (bare);

      if (address == NULL || g_inet_address_get_family (address) != G_SOCKET_FAMILY_IPV6)
        goto bad;
      for (const char *p = percent != NULL ? percent + 1 : ""; *p != '\0'; p++)
        if (!(g_ascii_isalnum (*p) || *p == '-' || *p == '_' || *p == '.'))
          goto bad;
      return NULL;
    }

  if (!g_utf8_validate (host, -1, NULL))
    {
      shown = g_strescape (host, NULL);
      return g_strdup_printf ("the host ‘%s’ is not UTF-8", shown);
    }

  for (const char *p = host; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (c < 0x80 ? !(g_ascii_isalnum (c) || c == '-' || c == '_' || c == '.')
                   : !g_unichar_isgraph (c))
        goto bad;
    }
  return NULL;

bad:
  shown = g_strescape (host, NULL);
  return g_strdup_printf ("the host ‘%s’ holds a character a host name cannot "
                          "(control characters, spaces and / ; : @ %% [ ] are not allowed)",
                          shown);
}

gboolean
_post_endpoint_parse_uri (const char  *uri,
                          gboolean     for_local,
                          char       **stack,
                          char       **host,
                          guint16     *port,
                          GError     **error)
{
  g_autoptr(GUri) parsed = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *scheme = NULL;
  g_autofree char *with_scheme = NULL;
  const char *parsed_host;
  const char *path;
  int parsed_port;
  const PostScheme *app_scheme = NULL;

  g_return_val_if_fail (uri != NULL, FALSE);

  if (*uri == '\0')
    {
      g_set_error_literal (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                           "the URI is empty");
      return FALSE;
    }

  /* `host:port` without a scheme looks like `scheme:path` to GUri, so
   * only `://` makes a scheme; a bare endpoint borrows a dummy one. */
  if (strstr (uri, "://") != NULL)
    {
      parsed = g_uri_parse (uri, G_URI_FLAGS_PARSE_RELAXED, &local_error);
      if (parsed != NULL)
        scheme = g_ascii_strdown (g_uri_get_scheme (parsed), -1);
    }
  else
    {
      with_scheme = g_strconcat ("none://", uri, NULL);
      parsed = g_uri_parse (with_scheme, G_URI_FLAGS_PARSE_RELAXED, &local_error);
    }

  if (parsed == NULL)
    {
      g_set_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                   "invalid URI ‘%s’: %s", uri, local_error->message);
      return FALSE;
    }

  if (scheme != NULL && !_post_endpoint_is_known_scheme (scheme))
    {
      g_autofree char *known = g_strjoinv (", ", (char **) known_schemes);
      g_autofree char *applications = _post_scheme_list ();

      app_scheme = _post_scheme_lookup (scheme);
      if (app_scheme != NULL && for_local)
        {
          g_set_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                       "invalid URI ‘%s’: ‘%s’ names an application protocol; a local needs "
                       "a stack's scheme (%s)", uri, scheme, known);
          return FALSE;
        }
      if (app_scheme == NULL)
        {
          g_set_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                       "invalid URI ‘%s’: unknown scheme ‘%s’ (known: %s; and for remotes %s)",
                       uri, scheme, known, applications);
          return FALSE;
        }
      g_clear_pointer (&scheme, g_free);
    }

  if (g_uri_get_userinfo (parsed) != NULL)
    {
      g_set_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                   "invalid URI ‘%s’: user information is not allowed", uri);
      return FALSE;
    }

  path = g_uri_get_path (parsed);
  if (app_scheme == NULL &&
      ((path != NULL && *path != '\0' && strcmp (path, "/") != 0) ||
       g_uri_get_query (parsed) != NULL ||
       g_uri_get_fragment (parsed) != NULL))
    {
      g_set_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                   "invalid URI ‘%s’: only scheme, host and port are allowed "
                   "(found a path, query or fragment)", uri);
      return FALSE;
    }

  parsed_host = g_uri_get_host (parsed);
  if (parsed_host != NULL && for_local &&
      (*parsed_host == '\0' || strcmp (parsed_host, "*") == 0))
    parsed_host = NULL;
  else if (parsed_host == NULL || *parsed_host == '\0')
    {
      g_set_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                   "invalid URI ‘%s’: the host is empty", uri);
      return FALSE;
    }

  if (parsed_host != NULL)
    {
      g_autofree char *problem = _post_endpoint_check_host (parsed_host);

      if (problem != NULL)
        {
          g_set_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                       "invalid URI ‘%s’: %s", uri, problem);
          return FALSE;
        }
    }

  parsed_port = g_uri_get_port (parsed);
  if (parsed_port == -1 && for_local)
    parsed_port = 0;
  else if (parsed_port == -1 && app_scheme != NULL)
    parsed_port = app_scheme->port;
  else if (parsed_port == -1)
    {
      g_set_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                   "invalid URI ‘%s’: the port is missing", uri);
      return FALSE;
    }
  else if (parsed_port == 0 && !for_local)
    {
      g_set_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                   "invalid URI ‘%s’: port 0 is not a valid remote port", uri);
      return FALSE;
    }
  else if (parsed_port < 0 || parsed_port > G_MAXUINT16)
    {
      g_set_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                   "invalid URI ‘%s’: port %d is out of range", uri, parsed_port);
      return FALSE;
    }

  if (stack != NULL)
    *stack = g_steal_pointer (&scheme);
  if (host != NULL)
    *host = g_strdup (parsed_host);
  if (port != NULL)
    *port = (guint16) parsed_port;

  return TRUE;
}

/* ---- text forms --------------------------------------------------------- */

char *
_post_inet_address_to_string (GInetAddress *address)
{
  const guint8 *bytes;
  char text[16], *p = text;

  if (g_inet_address_get_family (address) != G_SOCKET_FAMILY_IPV4)
    return g_inet_address_to_string (address);
  /* The same text as inet_ntop(): dotted decimal, no leading zeros */
  bytes = g_inet_address_to_bytes (address);
  for (guint i = 0; i < 4; i++)
    {
      guint b = bytes[i];

      if (i > 0)
        *p++ = '.';
      if (b >= 100)
        *p++ = '0' + b / 100;
      if (b >= 10)
        *p++ = '0' + b / 10 % 10;
      *p++ = '0' + b % 10;
    }
  return g_strndup (text, p - text);
}

char *
_post_inet_socket_address_to_string (GInetSocketAddress *address,
                                     gboolean            with_port)
{
  GInetAddress *inet = g_inet_socket_address_get_address (address);
  g_autofree char *text = _post_inet_address_to_string (inet);
  GString *string = g_string_new (NULL);
  gboolean v6 = g_inet_address_get_family (inet) == G_SOCKET_FAMILY_IPV6;
  guint32 scope = v6 ? g_inet_socket_address_get_scope_id (address) : 0;

  if (v6 && with_port)
    g_string_append_c (string, '[');
  g_string_append (string, text);
  if (v6 && scope != 0)
    {
      char name[IF_NAMESIZE];

      if (if_indextoname (scope, name) != NULL)
        g_string_append_printf (string, "%%%s", name);
      else
        g_string_append_printf (string, "%%%u", scope);
    }
  if (v6 && with_port)
    g_string_append_c (string, ']');
  if (with_port)
    g_string_append_printf (string, ":%u", g_inet_socket_address_get_port (address));

  return g_string_free (string, FALSE);
}
