/* multicast-receiver.c: the multicast receiver of draft section 3.1.4
 *
 *   multicast-receiver [GROUP-URI] [COUNT]
 *
 * A Sink on a Local holding a multicast group prints every message sent to
 * the group, forever (or until COUNT messages, for tests).  GROUP-URI
 * defaults to udp://239.255.0.1:5000; IPv6 groups work alike
 * (udp://[ff15::1]:5000), and the udp.multicast-source option restricts
 * the group to given sources (source-specific multicast).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <post.h>
#include <stdlib.h>

static guint remaining;

static gboolean
on_message (PostCarrier *sink,
            PostMessage *message,
            gpointer     user_data)
{
  gsize size;
  const char *data = g_bytes_get_data (post_message_get_content (message), &size);

  g_print ("%.*s\n", (int) size, data ? data : "");
  if (remaining > 0 && --remaining == 0)
    g_main_loop_quit (user_data);
  return TRUE;   /* keep receiving */
}

int
main (int argc, char **argv)
{
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(GError) error = NULL;
  const char *uri = argc > 1 ? argv[1] : "udp://239.255.0.1:5000";
  g_autoptr(PostLocal) local = post_local_new_from_uri (uri, &error);
  g_autoptr(PostConfiguration) configuration = post_configuration_new ();
  g_autoptr(PostCarrier) sink = NULL;

  remaining = argc > 2 ? (guint) strtoul (argv[2], NULL, 10) : 0;
  if (local == NULL)
    g_error ("%s", error->message);

  /* Datagrams are neither reliable nor ordered: say that is fine. */
  post_configuration_set_preference (configuration, POST_SELECTION_RELIABILITY,
                                     POST_PREFERENCE_NO_PREFERENCE, NULL);
  post_configuration_set_preference (configuration, POST_SELECTION_PRESERVE_ORDER,
                                     POST_PREFERENCE_NO_PREFERENCE, NULL);
  post_configuration_set_preference (configuration, POST_SELECTION_CONGESTION_CONTROL,
                                     POST_PREFERENCE_NO_PREFERENCE, NULL);

  /* sink = NewSink(local) */
  sink = post_carrier_new_sink (local, NULL, configuration, &error);
  if (sink == NULL)
    {
      g_printerr ("multicast-receiver: %s\n", error->message);
      return EXIT_FAILURE;
    }
  /* sink.Ready(func (msg) { print; return true }) */
  post_carrier_ready (sink, on_message, loop, NULL);
  g_main_loop_run (loop);
  post_carrier_close (sink);
  return EXIT_SUCCESS;
}
