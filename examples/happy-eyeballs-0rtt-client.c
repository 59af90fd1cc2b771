/* happy-eyeballs-0rtt-client.c: draft section 3.1.2, Happy Eyeballs and 0-RTT
 *
 * Initiates a tls carrier to HOST:PORT, sends "Hello!" marked idempotent,
 * prints the reply and closes: the draft's sayHelloQuickly().  Nothing in
 * it deals with addresses or handshakes: the library races the addresses
 * of HOST (Happy Eyeballs), and an idempotent message may leave as 0-RTT
 * early data whenever that is possible.
 *
 * It says hello twice, one carrier after the other.  The first does a
 * full TLS 1.3 handshake; the session ticket the server sends is kept in
 * the carriers' association (same local, remote and configuration), so the
 * second resumes the session and its idempotent message rides with the
 * ClientHello as early data (and in the SYN where TCP Fast Open works).
 * post_carrier_get_security_flags() tells what happened:
 *
 *   1: "Hello!" from 127.0.0.1:4433 in 2.9 ms: full handshake, early data: not sent
 *   2: "Hello!" from 127.0.0.1:4433 in 1.1 ms: resumed, early data: accepted
 *
 *   happy-eyeballs-0rtt-client HOST PORT CA-FILE [MESSAGE]
 *
 * CA-FILE holds the certificates that may sign the server's (PEM); "-"
 * trusts the system store instead.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <post.h>
#include <stdlib.h>

#define TIMEOUT_SECONDS 10
#define N_HELLOS        2

static GMainLoop *loop;
static PostCarrier *carrier;   /* the current one */
static PostRemote *remote;
static PostConfiguration *configuration;
static const char *text = "Hello!";
static guint n_replies;
static gint64 started;
static int status = EXIT_FAILURE;

static void say_hello_quickly (void);

static void
on_closed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_clear_object (&carrier);
  if (n_replies < N_HELLOS)
    say_hello_quickly ();    /* the next carrier of the same association */
  else
    {
      status = EXIT_SUCCESS;
      g_main_loop_quit (loop);
    }
}

/* The reply: print it with what the handshake did, then close. */
static gboolean
on_reply (PostCarrier *self, PostMessage *message, gpointer user_data)
{
  gsize size;
  const char *data = g_bytes_get_data (post_message_get_content (message), &size);
  PostSecurityFlags flags = post_carrier_get_security_flags (self);
  g_autofree char *from = g_socket_connectable_to_string (
      G_SOCKET_CONNECTABLE (post_carrier_get_remote_address (self)));
  const char *early = (flags & POST_SECURITY_EARLY_DATA_ACCEPTED) ? "accepted"
                      : (flags & POST_SECURITY_EARLY_DATA_SENT) ? "rejected (resent after the handshake)"
                      : "not sent";

  n_replies++;
  g_print ("%u: \"%.*s\" from %s in %.1f ms: %s, early data: %s\n", n_replies, (int) size, data, from,
           (g_get_monotonic_time () - started) / 1000.0,
           (flags & POST_SECURITY_RESUMED) ? "resumed" : "full handshake", early);
  post_carrier_close_async (self, NULL, on_closed, NULL);   /* graceful */
  return FALSE;   /* one reply is all we wait for */
}

static void
on_carrier_closed (PostCarrier *self, const GError *error, gpointer user_data)
{
  if (error == NULL)
    return;
  g_printerr ("happy-eyeballs-0rtt-client: %s\n", error->message);
  g_main_loop_quit (loop);
}

static void
say_hello_quickly (void)
{
  g_autoptr(PostMessage) hello = post_message_new_from_string (text);

  started = g_get_monotonic_time ();
  carrier = post_carrier_initiate (NULL, remote, configuration);   /* ESTABLISHING */
  /* Idempotent: the server may see it twice (a replayed ClientHello), so
   * it may go before the handshake completes. */
  post_message_set_idempotent (hello, TRUE, NULL);
  post_carrier_send (carrier, hello, NULL);    /* queued while ESTABLISHING */
  g_signal_connect (carrier, "closed", G_CALLBACK (on_carrier_closed), NULL);
  post_carrier_ready (carrier, on_reply, NULL, NULL);
}

static gboolean
on_timeout (gpointer user_data)
{
  g_printerr ("happy-eyeballs-0rtt-client: no reply within %d s\n", TIMEOUT_SECONDS);
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *uri = NULL;

  if (argc < 4)
    {
      g_printerr ("usage: happy-eyeballs-0rtt-client HOST PORT CA-FILE [MESSAGE]\n");
      return EXIT_FAILURE;
    }
  if (argc > 4)
    text = argv[4];

  /* Trust the given CA only (or the system store with "-"). */
  configuration = post_configuration_new ();
  if (g_strcmp0 (argv[3], "-") != 0 &&
      (!post_configuration_set_use_system_trust (configuration, FALSE, &error) ||
       !post_configuration_add_trust_anchor_file (configuration, argv[3], &error)))
    {
      g_printerr ("happy-eyeballs-0rtt-client: %s\n", error->message);
      return EXIT_FAILURE;
    }
  uri = g_strdup_printf ("tls://%s:%s", argv[1], argv[2]);
  remote = post_remote_new_from_uri (uri, &error);
  if (remote == NULL)
    {
      g_printerr ("happy-eyeballs-0rtt-client: %s\n", error->message);
      return EXIT_FAILURE;
    }

  loop = g_main_loop_new (NULL, FALSE);
  say_hello_quickly ();
  g_timeout_add_seconds (TIMEOUT_SECONDS, on_timeout, NULL);
  g_main_loop_run (loop);

  if (carrier != NULL)
    {
      g_signal_handlers_disconnect_by_func (carrier, on_carrier_closed, NULL);
      post_carrier_abort (carrier);
      g_clear_object (&carrier);
    }
  g_main_loop_unref (loop);
  g_object_unref (remote);
  g_object_unref (configuration);
  return status;
}
