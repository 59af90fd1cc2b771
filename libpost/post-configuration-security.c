/* post-configuration-security.c: PostConfiguration: security (trust, pins, ALPN, TLS versions, cleartext, verification)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#define POST_CONFIGURATION_INTERNALS
#include "post-values-private.h"
#include "post-certificate-private.h"

/* ---- security ------------------------------------------------------------- */

static gboolean
get_bool_option (PostConfiguration *self,
                 const char        *key,
                 gboolean           fallback)
{
  GVariant *value = post_configuration_get_option (self, key);

  if (value == NULL || !g_variant_is_of_type (value, G_VARIANT_TYPE_BOOLEAN))
    return fallback;
  return g_variant_get_boolean (value);
}

/**
 * post_configuration_get_use_system_trust:
 * @self: a #PostConfiguration
 *
 * Gets whether the secure stacks verify peers against the system's trust
 * store (GnuTLS's system store) in addition to the anchors added; with
 * %FALSE only the added anchors are trusted.
 *
 * Returns: whether the system's trust store verifies peers (the default)
 */
gboolean
post_configuration_get_use_system_trust (PostConfiguration *self)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), TRUE);
  return get_bool_option (self, "tls.use-system-trust", TRUE);
}

/**
 * post_configuration_set_use_system_trust:
 * @self: a #PostConfiguration
 * @use: whether the system's trust store is used
 * @error: return location for an error
 *
 * With %FALSE only the anchors added with
 * post_configuration_add_trust_anchor() are trusted.
 *
 * Returns: %TRUE on success
 */
gboolean
post_configuration_set_use_system_trust (PostConfiguration  *self,
                                         gboolean            use,
                                         GError            **error)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), FALSE);
  return post_configuration_set_option (self, "tls.use-system-trust",
                                        use ? NULL : g_variant_new_boolean (FALSE), error);
}

/**
 * post_configuration_add_trust_anchor:
 * @self: a #PostConfiguration
 * @certificate: one or more certificates, PEM or one DER
 * @error: return location for an error
 *
 * Trusts @certificate as an anchor (draft 3.1.5 `SetTrustedCerts`), in
 * addition to the system's store unless that is turned off.
 *
 * Returns: %TRUE on success
 */
gboolean
post_configuration_add_trust_anchor (PostConfiguration  *self,
                                     GBytes             *certificate,
                                     GError            **error)
{
  GVariant *old;
  GVariantBuilder builder;

  g_return_val_if_fail (POST_IS_CONFIGURATION (self), FALSE);
  g_return_val_if_fail (certificate != NULL, FALSE);

  if (g_bytes_get_size (certificate) == 0)
    {
      g_set_error_literal (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                           "an empty trust anchor");
      return FALSE;
    }
  g_variant_builder_init (&builder, G_VARIANT_TYPE ("aay"));
  old = post_configuration_get_option (self, "tls.anchors");
  if (old != NULL && g_variant_is_of_type (old, G_VARIANT_TYPE ("aay")))
    for (gsize i = 0; i < g_variant_n_children (old); i++)
      {
        /* (a full reference: the builder takes one of its own) */
        g_autoptr(GVariant) child = g_variant_get_child_value (old, i);

        g_variant_builder_add_value (&builder, child);
      }
  g_variant_builder_add_value (&builder,
                               g_variant_new_from_bytes (G_VARIANT_TYPE_BYTESTRING, certificate, TRUE));
  return post_configuration_set_option (self, "tls.anchors", g_variant_builder_end (&builder), error);
}

/**
 * post_configuration_add_trust_anchor_file:
 * @self: a #PostConfiguration
 * @path: a file of PEM certificates (or one DER certificate)
 * @error: return location for an error
 *
 * Reads @path and calls post_configuration_add_trust_anchor().
 *
 * Returns: %TRUE on success
 */
gboolean
post_configuration_add_trust_anchor_file (PostConfiguration  *self,
                                          const char         *path,
                                          GError            **error)
{
  g_autofree char *contents = NULL;
  g_autoptr(GBytes) bytes = NULL;
  gsize length;

  g_return_val_if_fail (POST_IS_CONFIGURATION (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  if (!_post_configuration_check_mutable (self, error))
    return FALSE;
  if (!g_file_get_contents (path, &contents, &length, error))
    return FALSE;
  bytes = g_bytes_new_take (g_steal_pointer (&contents), length);
  return post_configuration_add_trust_anchor (self, bytes, error);
}

/**
 * post_configuration_get_trust_anchors:
 * @self: a #PostConfiguration
 *
 * Gets the certificates added as trust anchors with
 * [method@Post.Configuration.add_trust_anchor] and
 * [method@Post.Configuration.add_trust_anchor_file], each as it was given
 * (PEM or DER). The caller owns the returned array.
 *
 * Returns: (transfer container) (element-type GBytes): the anchors added
 */
GPtrArray *
post_configuration_get_trust_anchors (PostConfiguration *self)
{
  GPtrArray *result = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  GVariant *value;

  g_return_val_if_fail (POST_IS_CONFIGURATION (self), result);

  value = post_configuration_get_option (self, "tls.anchors");
  if (value != NULL && g_variant_is_of_type (value, G_VARIANT_TYPE ("aay")))
    for (gsize i = 0; i < g_variant_n_children (value); i++)
      {
        g_autoptr(GVariant) child = g_variant_get_child_value (value, i);

        g_ptr_array_add (result, g_variant_get_data_as_bytes (child));
      }
  return result;
}

static char *
normalize_pin (const char *pin)
{
  gsize len = strlen (pin);

  if (g_str_has_prefix (pin, "sha256/"))
    pin += 7, len -= 7;
  if (len == 64)
    {
      for (gsize i = 0; i < 64; i++)
        if (!g_ascii_isxdigit (pin[i]))
          return NULL;
      return g_ascii_strdown (pin, -1);
    }
  if (len == 44)
    {
      g_autofree guchar *raw = NULL;
      gsize raw_len = 0;
      GString *hex;

      raw = g_base64_decode (pin, &raw_len);
      if (raw_len != 32)
        return NULL;
      hex = g_string_new (NULL);
      for (gsize i = 0; i < raw_len; i++)
        g_string_append_printf (hex, "%02x", raw[i]);
      return g_string_free (hex, FALSE);
    }
  return NULL;
}

/**
 * post_configuration_add_pinned_key:
 * @self: a #PostConfiguration
 * @spki_sha256: the SHA-256 of a SubjectPublicKeyInfo, in hex (64 digits)
 *   or base64 (44 characters, optionally after `sha256/`)
 * @error: return location for an error
 *
 * Pins a public key: once any pin is set, a peer is trusted only when its
 * chain contains a key with one of the pinned digests (in addition to the
 * chain and name verification).
 *
 * Returns: %TRUE on success
 */
gboolean
post_configuration_add_pinned_key (PostConfiguration  *self,
                                   const char         *spki_sha256,
                                   GError            **error)
{
  g_autofree char *pin = NULL;
  g_autoptr(GPtrArray) pins = g_ptr_array_new_with_free_func (g_free);
  g_auto(GStrv) old = NULL;

  g_return_val_if_fail (POST_IS_CONFIGURATION (self), FALSE);
  g_return_val_if_fail (spki_sha256 != NULL, FALSE);

  pin = normalize_pin (spki_sha256);
  if (pin == NULL)
    {
      g_set_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                   "‘%s’ is not a SHA-256 digest in hex or base64", spki_sha256);
      return FALSE;
    }
  old = post_configuration_get_pinned_keys (self);
  for (guint i = 0; old[i] != NULL; i++)
    {
      if (strcmp (old[i], pin) == 0)
        return _post_configuration_check_mutable (self, error);
      g_ptr_array_add (pins, g_strdup (old[i]));
    }
  g_ptr_array_add (pins, g_steal_pointer (&pin));
  return post_configuration_set_option (self, "tls.pins",
                                        g_variant_new_strv ((const char * const *) pins->pdata, pins->len),
                                        error);
}

static char **
get_strv_option (PostConfiguration *self,
                 const char        *key)
{
  GVariant *value = post_configuration_get_option (self, key);

  if (value == NULL || !g_variant_is_of_type (value, G_VARIANT_TYPE_STRING_ARRAY))
    return g_new0 (char *, 1);
  return g_variant_dup_strv (value, NULL);
}

/**
 * post_configuration_get_pinned_keys:
 * @self: a #PostConfiguration
 *
 * Gets the public keys pinned with
 * [method@Post.Configuration.add_pinned_key]: a secure stack accepts a
 * peer only if the SHA-256 digest of its certificate's
 * SubjectPublicKeyInfo is among them (when any is pinned). The caller owns
 * the returned array; free it with g_strfreev().
 *
 * Returns: (transfer full): the pinned SPKI digests, in lower-case hex
 */
char **
post_configuration_get_pinned_keys (PostConfiguration *self)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), NULL);
  return get_strv_option (self, "tls.pins");
}

/**
 * post_configuration_set_alpn:
 * @self: a #PostConfiguration
 * @protocols: (nullable) (array zero-terminated=1): ALPN protocol ids, most
 *   preferred first, or %NULL for none
 * @error: return location for an error
 *
 * Sets the ALPN protocol identifiers (RFC 7301, such as `h2` or `h3`) that
 * the secure stacks offer as a client, or accept as a listener (in the
 * listener's order of preference). %NULL or an empty array offers none.
 * Each identifier has 1 to 255 bytes.
 *
 * Fails with %POST_ERROR_INVALID_ARGUMENT for an empty or too long
 * identifier, or %POST_ERROR_IMMUTABLE when @self is frozen.
 *
 * Returns: %TRUE on success
 */
gboolean
post_configuration_set_alpn (PostConfiguration   *self,
                             const char * const  *protocols,
                             GError             **error)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), FALSE);

  if (protocols != NULL)
    for (guint i = 0; protocols[i] != NULL; i++)
      if (*protocols[i] == '\0' || strlen (protocols[i]) > 255)
        {
          g_set_error_literal (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                               "an ALPN protocol id has 1 to 255 bytes");
          return FALSE;
        }
  return post_configuration_set_option (self, "tls.alpn",
                                        protocols && protocols[0] ? g_variant_new_strv (protocols, -1) : NULL,
                                        error);
}

/**
 * post_configuration_get_alpn:
 * @self: a #PostConfiguration
 *
 * Gets the ALPN protocol identifiers that the secure stacks offer (a
 * client) or accept (a listener) during the handshake, most preferred
 * first, as set with [method@Post.Configuration.set_alpn]. The caller owns
 * the returned array; free it with g_strfreev().
 *
 * Returns: (transfer full): the ALPN protocol ids (empty for none)
 */
char **
post_configuration_get_alpn (PostConfiguration *self)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), NULL);
  return get_strv_option (self, "tls.alpn");
}

/**
 * post_configuration_set_tls_versions:
 * @self: a #PostConfiguration
 * @min: the oldest version allowed
 * @max: the newest version allowed
 * @error: return location for an error
 *
 * By default only TLS 1.3 is allowed.
 *
 * Returns: %TRUE on success
 */
gboolean
post_configuration_set_tls_versions (PostConfiguration  *self,
                                     PostTlsVersion      min,
                                     PostTlsVersion      max,
                                     GError            **error)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), FALSE);

  if ((min != POST_TLS_VERSION_1_2 && min != POST_TLS_VERSION_1_3) ||
      (max != POST_TLS_VERSION_1_2 && max != POST_TLS_VERSION_1_3) || min > max)
    {
      g_set_error_literal (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                           "TLS versions must be 1.2 or 1.3, the minimum not above the maximum");
      return FALSE;
    }
  if (!post_configuration_set_option (self, "tls.min-version",
                                      min == POST_TLS_VERSION_1_3 ? NULL : g_variant_new_byte (min), error))
    return FALSE;
  return post_configuration_set_option (self, "tls.max-version",
                                        max == POST_TLS_VERSION_1_3 ? NULL : g_variant_new_byte (max), error);
}

/**
 * post_configuration_get_tls_versions:
 * @self: a #PostConfiguration
 * @min: (out) (optional): the oldest version allowed
 * @max: (out) (optional): the newest version allowed
 *
 * Gets the range of TLS versions the secure stacks negotiate, as set with
 * [method@Post.Configuration.set_tls_versions]; both are
 * %POST_TLS_VERSION_1_3 unless set.
 */
void
post_configuration_get_tls_versions (PostConfiguration *self,
                                     PostTlsVersion    *min,
                                     PostTlsVersion    *max)
{
  GVariant *value;

  g_return_if_fail (POST_IS_CONFIGURATION (self));

  if (min != NULL)
    {
      value = post_configuration_get_option (self, "tls.min-version");
      *min = value && g_variant_is_of_type (value, G_VARIANT_TYPE_BYTE)
             ? (PostTlsVersion) g_variant_get_byte (value) : POST_TLS_VERSION_1_3;
    }
  if (max != NULL)
    {
      value = post_configuration_get_option (self, "tls.max-version");
      *max = value && g_variant_is_of_type (value, G_VARIANT_TYPE_BYTE)
             ? (PostTlsVersion) g_variant_get_byte (value) : POST_TLS_VERSION_1_3;
    }
}

/**
 * post_configuration_get_allow_cleartext:
 * @self: a #PostConfiguration
 *
 * Gets whether cleartext stacks may be chosen implicitly. By default
 * (%FALSE), when a secure stack is loaded and neither the URI's scheme nor
 * [method@Post.Configuration.set_stacks] names a cleartext stack, only
 * secure stacks are raced, so that a failed handshake never falls back to
 * cleartext; [method@Post.Configuration.set_allow_cleartext] lifts that
 * rule.
 *
 * Returns: whether a carrier may use a stack without security when no
 *   stack is named explicitly (%FALSE by default)
 */
gboolean
post_configuration_get_allow_cleartext (PostConfiguration *self)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), FALSE);
  return get_bool_option (self, "tls.allow-cleartext", FALSE);
}

/**
 * post_configuration_set_allow_cleartext:
 * @self: a #PostConfiguration
 * @allow: whether cleartext stacks may be chosen implicitly
 * @error: return location for an error
 *
 * Security is on by default: when a secure stack is loaded and neither
 * the URI's scheme nor post_configuration_set_stacks() names a cleartext
 * stack such as `tcp`, only secure stacks are raced, so a failed
 * handshake never falls back to cleartext.  %TRUE lifts that rule.
 *
 * Returns: %TRUE on success
 */
gboolean
post_configuration_set_allow_cleartext (PostConfiguration  *self,
                                        gboolean            allow,
                                        GError            **error)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), FALSE);
  return post_configuration_set_option (self, "tls.allow-cleartext",
                                        allow ? g_variant_new_boolean (TRUE) : NULL, error);
}

/**
 * post_configuration_set_verify_func:
 * @self: a #PostConfiguration
 * @func: (nullable) (scope notified): decides whether a peer is trusted, or
 *   %NULL to remove it
 * @user_data: (closure): data for @func
 * @destroy: (nullable): frees @user_data
 * @error: return location for an error
 *
 * Lets the application decide trust itself: @func gets the peer's chain
 * and what libpost's verification found, and its answer is final.
 *
 * A configuration has one verification callback: this one or the
 * GIO-shaped one of [method@Post.Configuration.set_accept_certificate_func],
 * which gets the chain as a [class@Gio.TlsCertificate] with
 * [flags@Gio.TlsCertificateFlags]; setting either replaces the other.
 * Without a callback a peer is trusted only when the verification found
 * nothing wrong.
 *
 * Returns: %TRUE on success
 */
gboolean
post_configuration_set_verify_func (PostConfiguration  *self,
                                    PostVerifyFunc      func,
                                    gpointer            user_data,
                                    GDestroyNotify      destroy,
                                    GError            **error)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), FALSE);

  if (!_post_configuration_check_mutable (self, error))
    {
      if (destroy != NULL)
        destroy (user_data);
      return FALSE;
    }
  g_clear_pointer (&self->verify, _post_configuration_verify_closure_unref);
  if (func != NULL)
    {
      self->verify = g_new0 (VerifyClosure, 1);
      self->verify->ref_count = 1;
      self->verify->func = func;
      self->verify->user_data = user_data;
      self->verify->destroy = destroy;
    }
  return TRUE;
}

/**
 * post_configuration_has_verify_func:
 * @self: a #PostConfiguration
 *
 * Tells whether a verification callback was set with
 * [method@Post.Configuration.set_verify_func] or
 * [method@Post.Configuration.set_accept_certificate_func]; the secure stacks then hand
 * it each peer's certificate chain with what libpost's own verification
 * found, and its answer decides whether the peer is trusted.
 *
 * Returns: whether a verification callback is set
 */
gboolean
post_configuration_has_verify_func (PostConfiguration *self)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), FALSE);
  return self->verify != NULL;
}

/**
 * post_configuration_call_verify_func:
 * @self: a #PostConfiguration
 * @chain: (element-type GBytes): the peer's chain in DER, leaf first
 * @server_name: (nullable): the name verified against
 * @errors: what the stack's own verification found
 *
 * For secure stacks: asks the application's callback, if any.
 *
 * Returns: the callback's answer, or whether @errors is %POST_TRUST_OK
 *   when there is no callback
 */
gboolean
post_configuration_call_verify_func (PostConfiguration *self,
                                     GPtrArray         *chain,
                                     const char        *server_name,
                                     PostTrustErrors    errors)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), FALSE);

  if (self->verify == NULL)
    return errors == POST_TRUST_OK;
  return post_configuration_verify_peer (self, chain, server_name, errors,
                                         _post_trust_errors_to_tls_flags (errors), NULL);
}

/**
 * post_configuration_set_accept_certificate_func:
 * @self: a #PostConfiguration
 * @func: (nullable) (scope notified): decides whether a peer is trusted, or
 *   %NULL to remove it
 * @user_data: (closure): data for @func
 * @destroy: (nullable): frees @user_data
 * @error: return location for an error
 *
 * Lets the application decide trust itself as GIO's
 * [signal@Gio.TlsConnection::accept-certificate] does: @func gets the
 * peer's certificate as a [class@Gio.TlsCertificate] (its issuer chain
 * linked) and what the stack's verification found as
 * [flags@Gio.TlsCertificateFlags], and its answer is final.  Without a
 * callback a peer is trusted only when verification found nothing wrong:
 * verification stays on.
 *
 * This replaces a callback set with
 * [method@Post.Configuration.set_verify_func] (a configuration has one),
 * which gets the same decision with the chain in DER and
 * [flags@Post.TrustErrors].  The certificate is made by GIO's TLS backend
 * (glib-networking); without one the peer is rejected with
 * %POST_ERROR_TLS_REJECTED rather than accepted unseen.
 *
 * Returns: %TRUE on success
 */
gboolean
post_configuration_set_accept_certificate_func (PostConfiguration          *self,
                                                PostAcceptCertificateFunc   func,
                                                gpointer                    user_data,
                                                GDestroyNotify              destroy,
                                                GError                    **error)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), FALSE);

  if (!_post_configuration_check_mutable (self, error))
    {
      if (destroy != NULL)
        destroy (user_data);
      return FALSE;
    }
  g_clear_pointer (&self->verify, _post_configuration_verify_closure_unref);
  if (func != NULL)
    {
      self->verify = g_new0 (VerifyClosure, 1);
      self->verify->ref_count = 1;
      self->verify->accept = func;
      self->verify->user_data = user_data;
      self->verify->destroy = destroy;
    }
  return TRUE;
}

/**
 * post_configuration_verify_peer:
 * @self: a #PostConfiguration
 * @chain: (element-type GBytes): the peer's chain in DER, leaf first
 * @server_name: (nullable): the name verified against
 * @errors: what the stack's own verification found
 * @tls_errors: the same in GIO's terms
 * @error: return location for why the callback could not be asked
 *
 * For secure stacks: asks the application's callback, if any, whichever
 * of [method@Post.Configuration.set_verify_func] and
 * [method@Post.Configuration.set_accept_certificate_func] set it.
 *
 * Returns: the callback's answer, or whether @errors is %POST_TRUST_OK
 *   when there is no callback; %FALSE with @error set when the callback
 *   could not be asked (no GIO TLS backend to make its
 *   [class@Gio.TlsCertificate], an unreadable chain)
 */
gboolean
post_configuration_verify_peer (PostConfiguration     *self,
                                GPtrArray             *chain,
                                const char            *server_name,
                                PostTrustErrors        errors,
                                GTlsCertificateFlags   tls_errors,
                                GError               **error)
{
  g_autoptr(GTlsCertificate) certificate = NULL;

  g_return_val_if_fail (POST_IS_CONFIGURATION (self), FALSE);
  g_return_val_if_fail (chain != NULL, FALSE);

  if (self->verify == NULL)
    return errors == POST_TRUST_OK;
  if (self->verify->func != NULL)
    return self->verify->func (chain, server_name, errors, self->verify->user_data);
  certificate = _post_tls_certificate_new_from_chain (chain, error);
  if (certificate == NULL)
    return FALSE;
  return self->verify->accept (certificate, tls_errors, server_name, self->verify->user_data);
}
