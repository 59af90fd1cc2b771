/* fuzz-listener.c: a datagram stack's listener fed hostile datagrams
 *
 * Built once per stack (FUZZ_SCHEME "dtls" or "quic").  The stacks read
 * their datagrams from a socket, and no entry point takes a packet
 * without one, so this target is honest about it: a real listener on
 * 127.0.0.1, with a certificate, receives each input as one UDP datagram
 * from a socket of the fuzzer, and the main context runs until the
 * listener has handled it.  Whatever the listener answers is read and
 * dropped.  Carriers it accepts are aborted at once.  State carries over
 * from one input to the next (a listener's peers, its connection table),
 * as it would under attack; a finding may need its predecessors to
 * reproduce, which libFuzzer's -runs over the saved crash input tells.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "fuzz-common.h"
#include "post-test-util.h"

#include <string.h>

#ifndef FUZZ_SCHEME
# error "FUZZ_SCHEME must name the stack"
#endif

static char *certs;
static PostCarrier *listener;
static GSocket *client;
static GSocketAddress *listener_address;

static void
incoming_cb (PostCarrier *carrier,
             PostCarrier *child,
             gpointer     user_data)
{
  post_carrier_abort (child);
}

static void
remove_certs (void)
{
  if (listener != NULL)
    post_carrier_abort (listener);
  post_test_certs_remove (certs);
}

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PostLocal) local = NULL;
  g_autoptr(PostConfiguration) config = post_configuration_new ();
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (loopback, 0);

  fuzz_init_logging ();
  certs = post_test_certs_make ("post-fuzz-" FUZZ_SCHEME);
  atexit (remove_certs);

  local = post_test_server_local (FUZZ_SCHEME "://127.0.0.1:0", certs, "server");
  listener = post_carrier_listen (local, config, &error);
  if (listener == NULL)
    {
      g_printerr ("fuzz-" FUZZ_SCHEME ": cannot listen: %s (is POST_PLUGIN_PATH set?)\n", error->message);
      abort ();
    }
  FUZZ_ASSERT (g_strcmp0 (post_carrier_get_stack_name (listener), FUZZ_SCHEME) == 0);
  g_signal_connect (listener, "incoming", G_CALLBACK (incoming_cb), NULL);
  listener_address = g_object_ref (post_carrier_get_local_address (listener));

  client = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, &error);
  FUZZ_ASSERT (client != NULL);
  g_socket_set_blocking (client, FALSE);
  FUZZ_ASSERT (g_socket_bind (client, any, FALSE, &error));
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GError) error = NULL;
  guint8 answer[65536];

  if (size == 0 || size > 65507)
    return 0;
  if (g_socket_send_to (client, listener_address, (const char *) data, size, NULL, &error) < 0)
    return 0;   /* the kernel's buffer is full: let the listener catch up next time */

  /* Loopback delivers at once: the listener's socket is readable now.  Run
   * what is ready (the read, and whatever it scheduled without a delay). */
  for (guint i = 0; i < 64 && g_main_context_iteration (NULL, FALSE); i++)
    ;
  while (g_socket_receive (client, (char *) answer, sizeof answer, NULL, NULL) > 0)
    ;
  return 0;
}
