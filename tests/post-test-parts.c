/* post-test-parts.c: see post-test-parts.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "post-test-parts.h"

#include <string.h>

static void receive_next (PostCarrier *carrier, PostTestParts *parts);

static void
part_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  PostTestParts *parts = user_data;
  g_autoptr(GBytes) part = NULL;
  gboolean end = FALSE;

  part = post_carrier_receive_partial_finish (POST_CARRIER (source), result, NULL, &end, &parts->error);
  if (part == NULL)
    {
      parts->done = 1;
      return;
    }
  g_string_append_len (parts->received, g_bytes_get_data (part, NULL), g_bytes_get_size (part));
  parts->n_parts++;
  parts->complete |= end;
  if (end && parts->stop_at_end)
    {
      parts->done = 1;
      return;
    }
  receive_next (POST_CARRIER (source), parts);
}

static void
receive_next (PostCarrier   *carrier,
              PostTestParts *parts)
{
  post_carrier_receive_partial_async (carrier, 1, 0, NULL, part_cb, parts);
}

void
post_test_parts_start (PostTestParts *parts,
                       PostCarrier   *carrier,
                       gboolean       stop_at_end)
{
  memset (parts, 0, sizeof *parts);
  parts->received = g_string_new (NULL);
  parts->stop_at_end = stop_at_end;
  receive_next (carrier, parts);
}

void
post_test_parts_clear (PostTestParts *parts)
{
  if (parts->received != NULL)
    g_string_free (parts->received, TRUE);
  parts->received = NULL;
  g_clear_error (&parts->error);
}
