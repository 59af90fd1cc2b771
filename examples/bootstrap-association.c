/* bootstrap-association.c: draft section 3.1.5, Association bootstrapping
 *
 * Sets up the long-term state of an Association before any carrier
 * exists, then derives a carrier from it and says hello.  Two ways, as in
 * the draft:
 *
 *   bootstrap-association HOST PORT ca CA-FILE
 *       parameters that trust the certificates of CA-FILE (PEM) and
 *       nothing else; the server proves its identity with a certificate;
 *   bootstrap-association HOST PORT psk IDENTITY HEXKEY
 *       an association holding a key agreed out of band (at least 16
 *       bytes, in hex), known to the server as IDENTITY: no certificate
 *       anywhere.
 *
 * It prints the reply, then how the peer was authenticated, closes and
 * exits 0; on any failure, or after 10 s, it prints the error and exits 1.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <post.h>
#include <stdlib.h>

#define TIMEOUT_SECONDS 10

static GMainLoop *loop;
static int status = EXIT_FAILURE;

/* createParameters(): security parameters with a set of trusted certificates */
static PostConfiguration *
create_parameters (const char *trusted_certs, GError **error)
{
  g_autoptr(PostConfiguration) parameters = post_configuration_new ();

  if (trusted_certs != NULL &&
      (!post_configuration_set_use_system_trust (parameters, FALSE, error) ||
       !post_configuration_add_trust_anchor_file (parameters, trusted_certs, error)))
    return NULL;
  return g_steal_pointer (&parameters);
}

/* createAssociation(): an association between a local and a remote */
static PostAssociation *
create_association (PostLocal *local, PostRemote *remote, PostConfiguration *parameters)
{
  return post_association_new (local, remote, parameters);
}

/* createAssociationWithPSK(): the same, with a pre-shared key */
static PostAssociation *
create_association_with_psk (PostLocal *local, PostRemote *remote, PostConfiguration *parameters,
                             const char *identity, GBytes *pre_shared_key, GError **error)
{
  g_autoptr(PostAssociation) association = post_association_new (local, remote, parameters);

  if (!post_association_set_pre_shared_key (association, identity, pre_shared_key, error))
    return NULL;
  return g_steal_pointer (&association);
}

static void
on_closed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_main_loop_quit (loop);
}

static gboolean
on_reply (PostCarrier *carrier, PostMessage *message, gpointer user_data)
{
  gsize size;
  const char *data = g_bytes_get_data (post_message_get_content (message), &size);
  PostSecurityFlags flags = post_carrier_get_security_flags (carrier);

  g_print ("%.*s\n", (int) size, data);
  g_print ("authenticated by %s%s\n",
           (flags & POST_SECURITY_PSK) ? "the pre-shared key"
           : (flags & POST_SECURITY_RESUMED) ? "a resumed session" : "the server's certificate",
           (flags & POST_SECURITY_EARLY_DATA_ACCEPTED) ? ", hello sent as early data" : "");
  status = EXIT_SUCCESS;
  post_carrier_close_async (carrier, NULL, on_closed, NULL);
  return FALSE;
}

static void
on_carrier_closed (PostCarrier *carrier, const GError *error, gpointer user_data)
{
  if (error == NULL)
    return;
  g_printerr ("bootstrap-association: %s\n", error->message);
  g_main_loop_quit (loop);
}

/* sayHelloWithAssociation(): a carrier from the association, and a message
 * that may be sent early (as 0-RTT data) if the association allows it. */
static PostCarrier *
say_hello_with_association (PostAssociation *association)
{
  PostCarrier *carrier = post_association_initiate (association);
  g_autoptr(PostMessage) hello = post_message_new_from_string ("Hello!");

  post_message_set_idempotent (hello, TRUE, NULL);
  post_carrier_send (carrier, hello, NULL);
  g_signal_connect (carrier, "closed", G_CALLBACK (on_carrier_closed), NULL);
  post_carrier_ready (carrier, on_reply, NULL, NULL);
  return carrier;
}

/* HEXKEY -> bytes, NULL if it is not hex. */
static GBytes *
parse_hex (const char *hex)
{
  g_autoptr(GByteArray) key = g_byte_array_new ();

  for (; hex[0] != '\0'; hex += 2)
    {
      int hi = g_ascii_xdigit_value (hex[0]), lo = hex[1] ? g_ascii_xdigit_value (hex[1]) : -1;

      if (hi < 0 || lo < 0)
        return NULL;
      g_byte_array_append (key, (guint8[]) { (guint8) (hi << 4 | lo) }, 1);
    }
  return g_byte_array_free_to_bytes (g_steal_pointer (&key));
}

static gboolean
on_timeout (gpointer user_data)
{
  g_printerr ("bootstrap-association: no reply within %d s\n", TIMEOUT_SECONDS);
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PostRemote) remote = NULL;
  g_autoptr(PostConfiguration) parameters = NULL;
  g_autoptr(PostAssociation) association = NULL;
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(GBytes) key = NULL;
  g_autofree char *uri = NULL;
  gboolean psk = argc == 6 && g_str_equal (argv[3], "psk");

  if (!psk && !(argc == 5 && g_str_equal (argv[3], "ca")))
    {
      g_printerr ("usage: bootstrap-association HOST PORT ca CA-FILE\n"
                  "       bootstrap-association HOST PORT psk IDENTITY HEXKEY\n");
      return EXIT_FAILURE;
    }
  uri = g_strdup_printf ("tls://%s:%s", argv[1], argv[2]);
  remote = post_remote_new_from_uri (uri, &error);
  if (remote != NULL)
    parameters = create_parameters (psk ? NULL : argv[4], &error);
  if (parameters != NULL && !psk)
    association = create_association (NULL, remote, parameters);
  else if (parameters != NULL)
    {
      key = parse_hex (argv[5]);
      if (key == NULL)
        g_set_error (&error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "the key is not in hex");
      else
        association = create_association_with_psk (NULL, remote, parameters, argv[4], key, &error);
    }
  if (association == NULL)
    {
      g_printerr ("bootstrap-association: %s\n", error->message);
      return EXIT_FAILURE;
    }

  loop = g_main_loop_new (NULL, FALSE);
  carrier = say_hello_with_association (association);
  g_timeout_add_seconds (TIMEOUT_SECONDS, on_timeout, NULL);
  g_main_loop_run (loop);

  g_signal_handlers_disconnect_by_func (carrier, on_carrier_closed, NULL);
  if (post_carrier_get_state (carrier) != POST_CARRIER_STATE_CLOSED)
    post_carrier_abort (carrier);
  g_main_loop_unref (loop);
  return status;
}
