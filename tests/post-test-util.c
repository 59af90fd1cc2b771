/* post-test-util.c: helpers of the secure stacks' tests
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "post-test-util.h"

#include <gio/gio.h>
#include <glib/gstdio.h>

void
post_test_run (const char * const *argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) p = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDOUT_SILENCE
                                                | G_SUBPROCESS_FLAGS_STDERR_SILENCE, &error);

  g_assert_no_error (error);
  g_assert_true (g_subprocess_wait_check (p, NULL, &error));
  g_assert_no_error (error);
}

char *
post_test_certs_path (const char *dir,
                      const char *name)
{
  return g_build_filename (dir, name, NULL);
}

/* A key, and a certificate from @template signed by @ca (or self-signed). */
static void
make_cert (const char *dir,
           const char *name,
           const char *ca,
           const char *template)
{
  g_autofree char *key = g_strdup_printf ("%s/%s.key", dir, name);
  g_autofree char *cert = g_strdup_printf ("%s/%s.pem", dir, name);
  g_autofree char *tmpl = g_strdup_printf ("%s/%s.tmpl", dir, name);

  g_assert_true (g_file_set_contents (tmpl, template, -1, NULL));
  post_test_run ((const char *[]) { "certtool", "--generate-privkey", "--key-type=ecdsa",
                                    "--outfile", key, NULL });
  if (ca == NULL)
    post_test_run ((const char *[]) { "certtool", "--generate-self-signed", "--load-privkey", key,
                                      "--template", tmpl, "--outfile", cert, NULL });
  else
    {
      g_autofree char *ca_key = g_strdup_printf ("%s/%s.key", dir, ca);
      g_autofree char *ca_cert = g_strdup_printf ("%s/%s.pem", dir, ca);

      post_test_run ((const char *[]) { "certtool", "--generate-certificate", "--load-privkey", key,
                                        "--load-ca-privkey", ca_key, "--load-ca-certificate", ca_cert,
                                        "--template", tmpl, "--outfile", cert, NULL });
    }
}

char *
post_test_certs_make (const char *prefix)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *pattern = g_strdup_printf ("%s-XXXXXX", prefix);
  char *dir = g_dir_make_tmp (pattern, &error);

  g_assert_no_error (error);
  make_cert (dir, "ca", NULL, "cn = \"libpost test CA\"\nca\ncert_signing_key\nexpiration_days = 2\n");
  make_cert (dir, "server", "ca", "cn = \"localhost\"\ndns_name = \"localhost\"\nip_address = \"127.0.0.1\"\n"
             "tls_www_server\nsigning_key\nexpiration_days = 2\n");
  make_cert (dir, "wrongname", "ca", "cn = \"wrong.example\"\ndns_name = \"wrong.example\"\n"
             "tls_www_server\nsigning_key\nexpiration_days = 2\n");
  make_cert (dir, "expired", "ca", "cn = \"localhost\"\ndns_name = \"localhost\"\nip_address = \"127.0.0.1\"\n"
             "tls_www_server\nsigning_key\nactivation_date = \"2019-01-01 00:00:00 UTC\"\n"
             "expiration_date = \"2020-01-01 00:00:00 UTC\"\n");
  make_cert (dir, "client", "ca", "cn = \"libpost test client\"\ntls_www_client\nsigning_key\nexpiration_days = 2\n");
  make_cert (dir, "rogue", NULL, "cn = \"localhost\"\ndns_name = \"localhost\"\nip_address = \"127.0.0.1\"\n"
             "tls_www_server\nsigning_key\nexpiration_days = 2\n");
  return dir;
}

static void
remove_tree (const char *top)
{
  g_autoptr(GDir) d = g_dir_open (top, 0, NULL);
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *p = g_build_filename (top, name, NULL);

      if (g_file_test (p, G_FILE_TEST_IS_DIR) && !g_file_test (p, G_FILE_TEST_IS_SYMLINK))
        remove_tree (p);
      else
        g_unlink (p);
    }
  g_rmdir (top);
}

void
post_test_certs_remove (const char *dir)
{
  if (dir != NULL)
    remove_tree (dir);
}

static gboolean
flag_cb (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

void
post_test_wait_count (const guint *counter,
                      guint        n,
                      const char  *what,
                      guint        timeout_s)
{
  gboolean timed_out = FALSE;
  GSource *timeout = g_timeout_source_new_seconds (timeout_s);

  g_source_set_callback (timeout, flag_cb, &timed_out, NULL);
  g_source_attach (timeout, NULL);
  while (*counter < n && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  g_source_destroy (timeout);
  g_source_unref (timeout);
  if (timed_out)
    g_error ("timed out waiting for %s (%u of %u)", what, *counter, n);
}

void
post_test_spin (guint ms)
{
  gboolean done = FALSE;
  GSource *timeout = g_timeout_source_new (ms);

  g_source_set_callback (timeout, flag_cb, &done, NULL);
  g_source_attach (timeout, NULL);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
  g_source_unref (timeout);
}
