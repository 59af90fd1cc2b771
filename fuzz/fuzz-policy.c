/* fuzz-policy.c: the keyfile policy parser, together with ranking
 *
 * Each input is one policy file; it is loaded (reload), checked (the
 * problems listed), dumped, and the candidates of three initiates ranked
 * against the stacks of the build tree over fake paths, as
 * `post-policy check` and `explain` do.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "fuzz-common.h"

#include <glib/gstdio.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static PostPolicy *policy;
static char *policy_file;
static PostRemote *remotes[3];
static GPtrArray *addresses[3];

/* The wifi, cellular and wired paths of test-policy */
static PostPathInfo *
fake_path (GSocketAddress *local_address,
           GSocketAddress *remote_address,
           gpointer        user_data)
{
  g_autofree char *text = g_inet_address_to_string (
    g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (remote_address)));

  if (g_str_has_prefix (text, "192.0.2."))
    return post_path_info_new ("wlan0", POST_INTERFACE_KIND_WIFI, FALSE, 1500);
  if (g_str_has_prefix (text, "198.51.100."))
    return post_path_info_new ("wwan0", POST_INTERFACE_KIND_CELLULAR, TRUE, 1280);
  return post_path_info_new ("eth0", POST_INTERFACE_KIND_WIRED, FALSE, 9000);
}

static void
remove_policy_dir (void)
{
  g_autofree char *dir = g_path_get_dirname (policy_file);

  g_unlink (policy_file);
  g_rmdir (dir);
}

/* Rewrites the policy file in place: written over, then cut to @size.
 * Not fopen ("wb"): ext4 (auto_da_alloc) flushes a file truncated to zero
 * and rewritten to the disk when it is closed, which cost more than the
 * rest of an execution together. */
static void
write_policy (const uint8_t *data,
              size_t         size)
{
  int fd = open (policy_file, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  size_t done = 0;

  FUZZ_ASSERT (fd >= 0);
  while (done < size)
    {
      ssize_t n = pwrite (fd, data + done, size - done, (off_t) done);

      FUZZ_ASSERT (n > 0);
      done += (size_t) n;
    }
  FUZZ_ASSERT (ftruncate (fd, (off_t) size) == 0);
  FUZZ_ASSERT (close (fd) == 0);
}

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  static const char * const uris[] = { "tcp://www.example:80", "quic://mail.corp.example:25", "db.example:443" };
  static const char * const ips[] = { "192.0.2.1", "198.51.100.1", "203.0.113.1", "2001:db8::1" };
  g_autofree char *dir = g_dir_make_tmp ("post-fuzz-policy-XXXXXX", NULL);
  const char *dirs[] = { dir, NULL };

  fuzz_init_logging ();
  FUZZ_ASSERT (dir != NULL);
  policy_file = g_build_filename (dir, "10-fuzz.conf", NULL);
  atexit (remove_policy_dir);

  /* The stacks first, so that option values are checked against them */
  post_registry_get_default ();
  policy = post_policy_new (dirs);
  post_policy_set_monitored (policy, FALSE);
  post_policy_set_path_info_func (policy, fake_path, NULL, NULL);
  post_policy_set_application_id (policy, "org.example.Fuzz");

  for (guint i = 0; i < G_N_ELEMENTS (uris); i++)
    {
      remotes[i] = post_remote_new_from_uri (uris[i], NULL);
      addresses[i] = g_ptr_array_new_with_free_func (g_object_unref);
      for (guint j = 0; j < G_N_ELEMENTS (ips); j++)
        g_ptr_array_add (addresses[i], g_inet_socket_address_new_from_string (ips[j],
                                                                              post_remote_get_port (remotes[i])));
    }
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_auto(GStrv) problems = NULL;
  g_autofree char *dump = NULL;

  write_policy (data, size);

  post_policy_reload (policy);
  problems = post_policy_list_problems (policy);
  for (guint i = 0; problems[i] != NULL; i++)
    FUZZ_ASSERT (g_utf8_validate (problems[i], -1, NULL));
  dump = post_policy_dump (policy);
  FUZZ_ASSERT (dump != NULL);

  /* Ranking costs most of the run; it is only worth it with a rule */
  if (post_policy_get_n_rules (policy) == 0)
    return 0;
  for (guint i = 0; i < G_N_ELEMENTS (remotes); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) ranked = post_policy_rank (policy, NULL, remotes[i], addresses[i], NULL,
                                                      i == 2 ? POST_CARRIER_ROLE_LISTENER
                                                             : POST_CARRIER_ROLE_CARRIER,
                                                      &error);

      if (ranked == NULL)
        {
          FUZZ_ASSERT (error != NULL && error->domain == POST_ERROR);
          continue;
        }
      for (guint j = 1; j < ranked->len; j++)
        {
          PostPolicyCandidate *a = ranked->pdata[j - 1], *b = ranked->pdata[j];

          /* Removed candidates come after the others */
          FUZZ_ASSERT (!post_policy_candidate_is_removed (a) || post_policy_candidate_is_removed (b));
        }
    }
  return 0;
}
