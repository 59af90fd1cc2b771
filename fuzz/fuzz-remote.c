/* fuzz-remote.c: the URI parsers of PostRemote and PostLocal
 *
 * Whatever parses must have a canonical form that holds no control
 * character and parses back to an equal remote; whatever does not must
 * fail with POST_ERROR_INVALID_ARGUMENT.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "fuzz-common.h"

#include <string.h>

FUZZ_DEFINE_DEFAULT_INITIALIZE ()

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autofree char *uri = g_strndup ((const char *) data, size);
  g_autoptr(GError) error = NULL;
  g_autoptr(PostRemote) remote = NULL;
  g_autoptr(PostLocal) local = NULL;

  remote = post_remote_new_from_uri (uri, &error);
  if (remote == NULL)
    {
      FUZZ_ASSERT (g_error_matches (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT));
      g_clear_error (&error);
    }
  else
    {
      g_autofree char *canonical = post_remote_to_string (remote);
      g_autoptr(PostRemote) again = NULL;
      g_autofree char *canonical_again = NULL;

      FUZZ_ASSERT (error == NULL);
      for (const char *p = canonical; *p != '\0'; p++)
        FUZZ_ASSERT ((guchar) *p >= 0x20 && *p != 0x7f && *p != ' ');
      again = post_remote_new_from_uri (canonical, &error);
      FUZZ_ASSERT (again != NULL);
      canonical_again = post_remote_to_string (again);
      FUZZ_ASSERT (strcmp (canonical, canonical_again) == 0);
      FUZZ_ASSERT (post_remote_equal (remote, again));
      FUZZ_ASSERT (post_remote_get_port (remote) != 0);
    }

  local = post_local_new_from_uri (uri, &error);
  if (local == NULL)
    FUZZ_ASSERT (g_error_matches (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT));
  return 0;
}
