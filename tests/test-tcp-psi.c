/* test-tcp-psi.c: the `tcp` stack's Protocol Stack Instance, driven directly
 * through the public PostPsi API (no carrier, no transient).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <post.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <unistd.h>

#define WAIT_TIMEOUT_S 10

typedef struct {
  PostConfiguration *configuration;  /* (owned) */
  PostStack         *stack;          /* (unowned): the registry's */
  PostPsi           *listener;       /* (owned) (nullable) */
  PostPsi           *client;         /* (owned) (nullable) */
  PostPsi           *server;         /* (owned) (nullable): accepted */
  GSocketAddress    *listen_address; /* (owned) (nullable) */

  guint              n_accepted;
  guint              n_ready_in;
  guint              n_ready_out;
  gboolean           connect_done;
  GError            *connect_error;  /* (owned) (nullable) */
} Fixture;

/* ---- helpers ------------------------------------------------------------- */

static gboolean
on_timeout (gpointer user_data)
{
  gboolean *timed_out = user_data;

  *timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

/* Iterates the thread-default context until *@flag is non-zero, failing
 * the test after WAIT_TIMEOUT_S seconds: nothing here can hang. */
static void
wait_until_ (const guint *flag,
             guint        at_least,
             const char  *what)
{
  gboolean timed_out = FALSE;
  GSource *timeout = g_timeout_source_new_seconds (WAIT_TIMEOUT_S);

  g_source_set_callback (timeout, on_timeout, &timed_out, NULL);
  g_source_attach (timeout, g_main_context_get_thread_default ());

  while (*flag < at_least && !timed_out)
    g_main_context_iteration (g_main_context_get_thread_default (), TRUE);

  g_source_destroy (timeout);
  g_source_unref (timeout);

  if (timed_out)
    g_error ("Timed out waiting for %s", what);
}
#define wait_until(flag) wait_until_ ((const guint *) (flag), 1, #flag)

static void
on_accepted (PostPsi  *listener,
             PostPsi  *accepted,
             gpointer  user_data)
{
  Fixture *f = user_data;

  g_assert_true (POST_IS_PSI (accepted));
  g_assert_true (post_psi_get_stack (accepted) == f->stack);
  f->n_accepted++;
  if (f->server == NULL)
    f->server = g_object_ref (accepted);
}

static void
on_ready (PostPsi      *psi,
          GIOCondition  condition,
          gpointer      user_data)
{
  Fixture *f = user_data;

  if (condition & G_IO_IN)
    f->n_ready_in++;
  if (condition & G_IO_OUT)
    f->n_ready_out++;
}

static void
on_connected (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  Fixture *f = user_data;

  if (!post_psi_connect_finish (POST_PSI (source), result, &f->connect_error))
    g_assert_nonnull (f->connect_error);
  f->connect_done = TRUE;
}

static GSocketAddress *
loopback_address (guint16 port)
{
  g_autoptr(GInetAddress) inet = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);

  return g_inet_socket_address_new (inet, port);
}

static PostPsi *
create_psi (Fixture *f)
{
  PostPsi *psi = post_stack_create_psi (f->stack, f->configuration);

  g_assert_nonnull (psi);
  g_assert_true (POST_IS_PSI (psi));
  return psi;
}

static void
start_listener (Fixture *f)
{
  g_autoptr(GSocketAddress) any_port = loopback_address (0);
  g_autoptr(GError) error = NULL;
  GSocketAddress *local;

  f->listener = create_psi (f);
  g_signal_connect (f->listener, "accepted", G_CALLBACK (on_accepted), f);
  g_assert_true (post_psi_listen (f->listener, any_port, &error));
  g_assert_no_error (error);

  local = post_psi_get_local_address (f->listener);
  g_assert_nonnull (local);
  g_assert_true (G_IS_INET_SOCKET_ADDRESS (local));
  g_assert_cmpuint (g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local)), !=, 0);
  f->listen_address = g_object_ref (local);
}

/* A connected client/server pair over loopback. */
static void
connect_pair (Fixture *f)
{
  start_listener (f);

  f->client = create_psi (f);
  post_psi_connect_async (f->client, f->listen_address, NULL, NULL, on_connected, f);
  wait_until (&f->connect_done);
  g_assert_no_error (f->connect_error);
  wait_until (&f->n_accepted);
  g_assert_nonnull (f->server);

  g_signal_connect (f->server, "ready", G_CALLBACK (on_ready), f);
}

/* Reads exactly @size bytes from @psi, waiting for readiness as needed.
 * Returns FALSE if the stream ended first. */
static gboolean
read_exactly (Fixture *f,
              PostPsi *psi,
              guint8  *buffer,
              gsize    size)
{
  gsize got = 0;

  post_psi_set_interest (psi, G_IO_IN);
  while (got < size)
    {
      g_autoptr(GError) error = NULL;
      gssize n = post_psi_read (psi, buffer + got, size - got, &error);

      if (n > 0)
        {
          got += n;
          continue;
        }
      if (n == 0)
        break;
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
      f->n_ready_in = 0;
      wait_until (&f->n_ready_in);
    }
  post_psi_set_interest (psi, 0);
  return got == size;
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  PostRegistry *registry = post_registry_get_default ();

  f->stack = post_registry_lookup_stack (registry, "tcp");
  if (f->stack == NULL)
    {
      const GPtrArray *errors = post_registry_get_load_errors (registry);

      for (guint i = 0; errors != NULL && i < errors->len; i++)
        g_test_message ("load error: %s", ((GError *) g_ptr_array_index (errors, i))->message);
    }
  g_assert_nonnull (f->stack);
  f->configuration = post_configuration_new ();
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  PostPsi **psis[] = { &f->client, &f->server, &f->listener };

  for (guint i = 0; i < G_N_ELEMENTS (psis); i++)
    if (*psis[i] != NULL)
      {
        g_signal_handlers_disconnect_by_data (*psis[i], f);
        post_psi_close (*psis[i], TRUE);
        g_clear_object (psis[i]);
      }

  /* Let anything the instances scheduled run out. */
  while (g_main_context_iteration (g_main_context_get_thread_default (), FALSE))
    ;

  g_clear_object (&f->listen_address);
  g_clear_object (&f->configuration);
  g_clear_error (&f->connect_error);
}

/* ---- tests --------------------------------------------------------------- */

static void
test_stack (Fixture       *f,
            gconstpointer  data)
{
  PostStackCapabilities caps = post_stack_get_capabilities (f->stack);

  g_assert_cmpstr (post_stack_get_name (f->stack), ==, "tcp");
  g_assert_cmpstr (post_stack_get_plugin_name (f->stack), ==, "tcp-tls");
  g_assert_true (caps & POST_STACK_CAP_RELIABLE);
  g_assert_true (caps & POST_STACK_CAP_ORDERED);
  g_assert_true (caps & POST_STACK_CAP_BYTE_STREAM);
  g_assert_true (caps & POST_STACK_CAP_LISTEN);
  g_assert_true (caps & POST_STACK_CAP_HALF_CLOSE);
  g_assert_true (caps & POST_STACK_CAP_EVENT_ACKED);
  g_assert_false (caps & POST_STACK_CAP_MULTISTREAMING);
  g_assert_false (caps & POST_STACK_CAP_ZERO_RTT);
  g_assert_false (caps & POST_STACK_CAP_MSG_IDEMPOTENT);
  g_assert_false (caps & POST_STACK_CAP_SECURE);
  g_assert_cmpuint (post_stack_get_rank (f->stack), ==, POST_RANK_SECONDARY);
}

static void
test_connect_accept (Fixture       *f,
                     gconstpointer  data)
{
  GSocketAddress *client_local, *client_remote, *server_local, *server_remote;

  connect_pair (f);

  client_local = post_psi_get_local_address (f->client);
  client_remote = post_psi_get_remote_address (f->client);
  server_local = post_psi_get_local_address (f->server);
  server_remote = post_psi_get_remote_address (f->server);
  g_assert_nonnull (client_local);
  g_assert_nonnull (client_remote);
  g_assert_nonnull (server_local);
  g_assert_nonnull (server_remote);

  g_assert_cmpuint (g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (client_remote)), ==,
                    g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (f->listen_address)));
  g_assert_cmpuint (g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (server_remote)), ==,
                    g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (client_local)));
  g_assert_cmpuint (g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (server_local)), ==,
                    g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (f->listen_address)));

  /* Loopback is on "lo" (best effort: getifaddrs may be unavailable). */
  if (post_psi_get_interface (f->client) != NULL)
    g_assert_cmpstr (post_psi_get_interface (f->client), ==, "lo");

  g_assert_cmpuint (post_psi_get_max_message_size (f->client), ==, 0);
  g_assert_false (post_psi_can_fork (f->client));
}

static void
test_several_accepts (Fixture       *f,
                      gconstpointer  data)
{
  PostPsi *clients[5];

  start_listener (f);

  for (guint i = 0; i < G_N_ELEMENTS (clients); i++)
    {
      clients[i] = create_psi (f);
      post_psi_connect_async (clients[i], f->listen_address, NULL, NULL, NULL, NULL);
    }

  wait_until_ (&f->n_accepted, G_N_ELEMENTS (clients), "all accepted");
  g_assert_cmpuint (f->n_accepted, ==, G_N_ELEMENTS (clients));

  for (guint i = 0; i < G_N_ELEMENTS (clients); i++)
    {
      post_psi_close (clients[i], FALSE);
      g_object_unref (clients[i]);
    }
}

static void
test_write_read (Fixture       *f,
                 gconstpointer  data)
{
  static const char *parts[] = { "hello, ", "post ", "sockets", "!" };
  GOutputVector vectors[G_N_ELEMENTS (parts)];
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) expected = g_string_new (NULL);
  guint8 buffer[64] = { 0 };
  gssize n;
  guint64 acked;
  gint64 deadline;

  connect_pair (f);

  for (guint i = 0; i < G_N_ELEMENTS (parts); i++)
    {
      vectors[i].buffer = parts[i];
      vectors[i].size = strlen (parts[i]);
      g_string_append (expected, parts[i]);
    }

  n = post_psi_write (f->client, vectors, G_N_ELEMENTS (vectors), &error);
  g_assert_no_error (error);
  g_assert_cmpint (n, ==, (gssize) expected->len);

  g_assert_true (read_exactly (f, f->server, buffer, expected->len));
  g_assert_cmpmem (buffer, expected->len, expected->str, expected->len);

  /* The peer's kernel acknowledges quickly over loopback. */
  deadline = g_get_monotonic_time () + WAIT_TIMEOUT_S * G_USEC_PER_SEC;
  do
    {
      acked = post_psi_get_acked_offset (f->client);
      g_assert_true (acked == POST_PSI_ACKED_UNKNOWN || acked <= expected->len);
      if (acked == expected->len)
        break;
      g_usleep (1000);
    }
  while (g_get_monotonic_time () < deadline);
  g_assert_cmpuint (acked, ==, expected->len);

  /* And back. */
  n = post_psi_write (f->server, vectors, 1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (n, ==, (gssize) strlen (parts[0]));
  g_signal_connect (f->client, "ready", G_CALLBACK (on_ready), f);
  g_assert_true (read_exactly (f, f->client, buffer, n));
  g_assert_cmpmem (buffer, n, parts[0], strlen (parts[0]));

  /* Nothing more: would block. */
  n = post_psi_read (f->client, buffer, sizeof buffer, &error);
  g_assert_cmpint (n, ==, -1);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
}

static void
test_large_write (Fixture       *f,
                  gconstpointer  data)
{
  const gsize total = 8 * 1024 * 1024;
  g_autofree guint8 *out = g_malloc (total);
  g_autofree guint8 *in = g_malloc0 (total);
  gsize written = 0, got = 0;

  for (gsize i = 0; i < total; i++)
    out[i] = (guint8) (i * 7 + (i >> 13));

  connect_pair (f);
  g_signal_connect (f->client, "ready", G_CALLBACK (on_ready), f);
  post_psi_set_interest (f->server, G_IO_IN);

  /* Interleave writing (until the kernel pushes back) and reading, driven
   * by readiness only. */
  while (got < total)
    {
      while (written < total)
        {
          g_autoptr(GError) error = NULL;
          GOutputVector v = { out + written, MIN (total - written, 100000) };
          gssize n = post_psi_write (f->client, &v, 1, &error);

          if (n < 0)
            {
              g_assert_error (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
              post_psi_set_interest (f->client, G_IO_OUT);
              break;
            }
          written += n;
        }
      if (written == total)
        post_psi_set_interest (f->client, 0);

      while (got < total)
        {
          g_autoptr(GError) error = NULL;
          gssize n = post_psi_read (f->server, in + got, total - got, &error);

          if (n < 0)
            {
              g_assert_error (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
              break;
            }
          g_assert_cmpint (n, >, 0);
          got += n;
        }

      if (got < total)
        {
          f->n_ready_in = f->n_ready_out = 0;
          wait_until_ (written < total ? &f->n_ready_out : &f->n_ready_in, 1, "readiness");
          /* Whichever fired, loop over both directions again. */
        }
    }

  g_assert_cmpuint (written, ==, total);
  g_assert_true (memcmp (in, out, total) == 0);
}

static void
test_many_vectors (Fixture       *f,
                   gconstpointer  data)
{
  const gsize n_vectors = 3000; /* more than IOV_MAX */
  g_autofree GOutputVector *vectors = g_new0 (GOutputVector, n_vectors);
  g_autofree guint8 *in = g_malloc0 (n_vectors);
  guint8 bytes[256];
  gsize written = 0;

  for (guint i = 0; i < G_N_ELEMENTS (bytes); i++)
    bytes[i] = i;
  for (gsize i = 0; i < n_vectors; i++)
    {
      vectors[i].buffer = &bytes[i % 256];
      vectors[i].size = 1;
    }

  connect_pair (f);

  /* Each call takes at most IOV_MAX vectors; the rest is written by the next. */
  while (written < n_vectors)
    {
      g_autoptr(GError) error = NULL;
      gssize n = post_psi_write (f->client, vectors + written, n_vectors - written, &error);

      g_assert_no_error (error);
      g_assert_cmpint (n, >, 0);
      g_assert_cmpint (n, <=, 1024);
      written += n;
    }

  g_assert_true (read_exactly (f, f->server, in, n_vectors));
  for (gsize i = 0; i < n_vectors; i++)
    g_assert_cmpuint (in[i], ==, i % 256);
}

static void
test_shutdown_send (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  GOutputVector v = { "last words", 10 };
  guint8 buffer[32];
  gssize n;

  connect_pair (f);

  n = post_psi_write (f->client, &v, 1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (n, ==, 10);
  g_assert_true (post_psi_shutdown_send (f->client, &error));
  g_assert_no_error (error);

  g_assert_true (read_exactly (f, f->server, buffer, 10));
  g_assert_cmpmem (buffer, 10, "last words", 10);
  /* Then the end of the stream: 0, immediately or after readiness. */
  g_assert_false (read_exactly (f, f->server, buffer, 1));
  n = post_psi_read (f->server, buffer, sizeof buffer, &error);
  g_assert_no_error (error);
  g_assert_cmpint (n, ==, 0);

  /* Half-close: the other direction still works. */
  n = post_psi_write (f->server, &v, 1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (n, ==, 10);
  g_signal_connect (f->client, "ready", G_CALLBACK (on_ready), f);
  g_assert_true (read_exactly (f, f->client, buffer, 10));
  g_assert_cmpmem (buffer, 10, "last words", 10);
}

static void
test_abort (Fixture       *f,
            gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  guint8 buffer[8];
  gssize n;

  connect_pair (f);

  post_psi_close (f->client, TRUE);
  g_assert_true (post_psi_is_closed (f->client));
  /* Idempotent. */
  post_psi_close (f->client, TRUE);
  post_psi_close (f->client, FALSE);

  /* The peer sees a reset, after readiness (HUP/ERR delivered as G_IO_IN). */
  post_psi_set_interest (f->server, G_IO_IN);
  for (;;)
    {
      n = post_psi_read (f->server, buffer, sizeof buffer, &error);
      if (n >= 0 || !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        break;
      g_clear_error (&error);
      f->n_ready_in = 0;
      wait_until (&f->n_ready_in);
    }
  g_assert_cmpint (n, ==, -1);
  g_assert_error (error, POST_ERROR, POST_ERROR_CONNECTION_RESET);
  g_clear_error (&error);

  /* Reading from the closed instance fails cleanly. */
  n = post_psi_read (f->client, buffer, sizeof buffer, &error);
  g_assert_cmpint (n, ==, -1);
  g_assert_nonnull (error);
}

static void
test_update_path (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(PostPath) path = NULL;
  g_autoptr(GError) error = NULL;
  GOutputVector v = { "ping", 4 };
  guint8 buffer[4];

  connect_pair (f);

  /* Exchange some data so that the RTT is measured. */
  g_assert_cmpint (post_psi_write (f->client, &v, 1, &error), ==, 4);
  g_assert_true (read_exactly (f, f->server, buffer, 4));
  g_assert_cmpint (post_psi_write (f->server, &v, 1, &error), ==, 4);
  g_signal_connect (f->client, "ready", G_CALLBACK (on_ready), f);
  g_assert_true (read_exactly (f, f->client, buffer, 4));
  g_assert_no_error (error);

  path = post_path_new (post_psi_get_local_address (f->client),
                        post_psi_get_remote_address (f->client));
  post_psi_update_path (f->client, path);

  g_assert_cmpuint (post_path_get_latency (path), >, 0);
  g_assert_cmpuint (post_path_get_latency (path), <, G_USEC_PER_SEC);
  g_assert_cmpuint (post_path_get_mtu (path), >, 0);
  g_assert_cmpfloat (post_path_get_loss (path), >=, 0.0);
  g_assert_cmpfloat (post_path_get_loss (path), <=, 1.0);
}

static void
test_options (Fixture       *f,
              gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  GOutputVector v = { "x", 1 };
  guint8 buffer[1];

  g_assert_true (post_configuration_set_preference (f->configuration, POST_SELECTION_KEEP_ALIVE,
                                                    POST_PREFERENCE_REQUIRE, &error));
  g_assert_no_error (error);
  g_assert_true (post_configuration_set_option (f->configuration, "tcp.user-timeout",
                                                g_variant_new_uint32 (5000), &error));
  g_assert_no_error (error);

  connect_pair (f);

  g_assert_cmpint (post_psi_write (f->client, &v, 1, &error), ==, 1);
  g_assert_no_error (error);
  g_assert_true (read_exactly (f, f->server, buffer, 1));
}

static void
test_refused (Fixture       *f,
              gconstpointer  data)
{
  g_autoptr(GSocket) reserved = NULL;
  g_autoptr(GSocketAddress) any_port = loopback_address (0);
  g_autoptr(GSocketAddress) target = NULL;
  g_autoptr(GError) error = NULL;

  /* A port that is bound but not listening refuses connections. */
  reserved = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  g_assert_true (g_socket_bind (reserved, any_port, FALSE, &error));
  g_assert_no_error (error);
  target = g_socket_get_local_address (reserved, &error);
  g_assert_no_error (error);

  f->client = create_psi (f);
  post_psi_connect_async (f->client, target, NULL, NULL, on_connected, f);
  wait_until (&f->connect_done);
  g_test_message ("refused: %s", f->connect_error->message);
  g_assert_error (f->connect_error, POST_ERROR, POST_ERROR_CONNECTION_REFUSED);
  g_assert_nonnull (strstr (f->connect_error->message, "127.0.0.1:"));
}

static void
test_cancel (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();

  start_listener (f);

  /* Cancelled while pending. */
  f->client = create_psi (f);
  post_psi_connect_async (f->client, f->listen_address, NULL, cancellable, on_connected, f);
  g_cancellable_cancel (cancellable);
  wait_until (&f->connect_done);
  g_assert_error (f->connect_error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  post_psi_close (f->client, TRUE);
  g_clear_object (&f->client);
  g_clear_error (&f->connect_error);

  /* Cancelled before it starts. */
  f->connect_done = FALSE;
  f->client = create_psi (f);
  post_psi_connect_async (f->client, f->listen_address, NULL, cancellable, on_connected, f);
  wait_until (&f->connect_done);
  g_assert_error (f->connect_error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  post_psi_close (f->client, TRUE);
  g_clear_object (&f->client);
  g_clear_error (&f->connect_error);

  /* Closed while connecting: the attempt fails, nothing leaks. */
  f->connect_done = FALSE;
  f->client = create_psi (f);
  post_psi_connect_async (f->client, f->listen_address, NULL, NULL, on_connected, f);
  post_psi_close (f->client, TRUE);
  wait_until (&f->connect_done);
  g_assert_nonnull (f->connect_error);
}

static gboolean
on_deadline (gpointer user_data)
{
  gboolean *passed = user_data;

  *passed = TRUE;
  return G_SOURCE_REMOVE;
}

/* Out of descriptors, the listener pauses accepting instead of spinning on
 * its readable socket, and resumes once descriptors are free again. */
static void
test_accept_emfile (Fixture       *f,
                    gconstpointer  data)
{
  struct rlimit old_limit, low_limit;
  g_autoptr(GArray) fds = g_array_new (FALSE, FALSE, sizeof (int));
  gboolean passed = FALSE;
  guint iterations = 0;
  int fd;

  /* Set by meson test --setup valgrind (tests/meson.build) */
  if (g_getenv ("POST_TEST_UNDER_VALGRIND") != NULL)
    {
      g_test_skip ("valgrind virtualizes RLIMIT_NOFILE (its own descriptors lie beyond the "
                   "client's limit), so descriptor exhaustion cannot be staged under it");
      return;
    }

  start_listener (f);
  f->client = create_psi (f);
  /* The client's socket exists once this returns; the kernel completes the
   * handshake without accept(). */
  post_psi_connect_async (f->client, f->listen_address, NULL, NULL, on_connected, f);

  g_assert_cmpint (getrlimit (RLIMIT_NOFILE, &old_limit), ==, 0);
  low_limit = old_limit;
  low_limit.rlim_cur = MIN (old_limit.rlim_cur, 512);
  g_assert_cmpint (setrlimit (RLIMIT_NOFILE, &low_limit), ==, 0);
  while ((fd = dup (STDIN_FILENO)) >= 0)
    g_array_append_val (fds, fd);

  g_timeout_add (350, on_deadline, &passed);
  while (!passed)
    {
      g_main_context_iteration (NULL, TRUE);
      iterations++;
    }

  for (guint i = 0; i < fds->len; i++)
    close (g_array_index (fds, int, i));
  g_assert_cmpint (setrlimit (RLIMIT_NOFILE, &old_limit), ==, 0);

  g_assert_true (f->connect_done);
  g_assert_no_error (f->connect_error);
  g_assert_cmpuint (f->n_accepted, ==, 0);
  /* ~100 ms pauses: a handful of wake-ups, not a busy loop. */
  g_assert_cmpuint (iterations, <, 50);

  wait_until (&f->n_accepted);
  g_assert_nonnull (f->server);
}

static void
test_ipv6 (Fixture       *f,
           gconstpointer  data)
{
  g_autoptr(GInetAddress) loopback6 = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV6);
  g_autoptr(GSocketAddress) any_port = g_inet_socket_address_new (loopback6, 0);
  g_autoptr(GSocketAddress) refused = NULL;
  g_autoptr(GError) error = NULL;
  GOutputVector v = { "v6", 2 };
  guint8 buffer[2];

  f->listener = create_psi (f);
  g_signal_connect (f->listener, "accepted", G_CALLBACK (on_accepted), f);
  if (!post_psi_listen (f->listener, any_port, &error))
    {
      g_test_skip_printf ("No IPv6 loopback: %s", error->message);
      return;
    }
  f->listen_address = g_object_ref (post_psi_get_local_address (f->listener));

  f->client = create_psi (f);
  post_psi_connect_async (f->client, f->listen_address, NULL, NULL, on_connected, f);
  wait_until (&f->connect_done);
  g_assert_no_error (f->connect_error);
  wait_until (&f->n_accepted);
  g_signal_connect (f->server, "ready", G_CALLBACK (on_ready), f);

  g_assert_cmpint (post_psi_write (f->client, &v, 1, &error), ==, 2);
  g_assert_no_error (error);
  g_assert_true (read_exactly (f, f->server, buffer, 2));
  g_assert_cmpmem (buffer, 2, "v6", 2);

  /* Errors name the address in brackets. */
  post_psi_close (f->listener, FALSE);
  g_clear_object (&f->listener);
  refused = g_object_ref (f->listen_address);
  post_psi_close (f->client, TRUE);
  g_clear_object (&f->client);
  f->connect_done = FALSE;
  g_clear_error (&f->connect_error);
  f->client = create_psi (f);
  post_psi_connect_async (f->client, refused, NULL, NULL, on_connected, f);
  wait_until (&f->connect_done);
  g_assert_error (f->connect_error, POST_ERROR, POST_ERROR_CONNECTION_REFUSED);
  g_assert_nonnull (strstr (f->connect_error->message, "[::1]:"));
}

static void
test_bind_local (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(GSocketAddress) local = loopback_address (0);
  GSocketAddress *bound;

  start_listener (f);
  f->client = create_psi (f);
  post_psi_connect_async (f->client, f->listen_address, local, NULL, on_connected, f);
  wait_until (&f->connect_done);
  g_assert_no_error (f->connect_error);

  bound = post_psi_get_local_address (f->client);
  g_assert_nonnull (bound);
  g_assert_cmpuint (g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)), !=, 0);
  g_assert_true (g_inet_address_get_is_loopback (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (bound))));
}

static void
test_listen_errors (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(PostPsi) second = NULL;
  g_autoptr(GError) error = NULL;

  start_listener (f);

  /* The same port twice. */
  second = create_psi (f);
  g_assert_false (post_psi_listen (second, f->listen_address, &error));
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "127.0.0.1:"));
  post_psi_close (second, FALSE);
}

/* tcp cannot move a connection to another local address: the default
 * migrate says so, and the connection is unharmed. */
static void
test_migrate_not_supported (Fixture       *f,
                            gconstpointer  data)
{
  g_autoptr(GSocketAddress) other = loopback_address (0);
  g_autoptr(GError) error = NULL;

  connect_pair (f);
  g_assert_false (post_stack_has_capabilities (f->stack, POST_STACK_CAP_MIGRATION));
  g_assert_false (post_psi_migrate (f->client, other, &error));
  g_assert_error (error, POST_ERROR, POST_ERROR_NOT_SUPPORTED);
  g_assert_false (post_psi_is_closed (f->client));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add ("/tcp-psi/" path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)

  ADD ("stack", test_stack);
  ADD ("connect-accept", test_connect_accept);
  ADD ("several-accepts", test_several_accepts);
  ADD ("write-read", test_write_read);
  ADD ("large-write", test_large_write);
  ADD ("many-vectors", test_many_vectors);
  ADD ("shutdown-send", test_shutdown_send);
  ADD ("abort", test_abort);
  ADD ("update-path", test_update_path);
  ADD ("options", test_options);
  ADD ("refused", test_refused);
  ADD ("cancel", test_cancel);
  ADD ("listen-errors", test_listen_errors);
  ADD ("accept-emfile", test_accept_emfile);
  ADD ("ipv6", test_ipv6);
  ADD ("bind-local", test_bind_local);
  ADD ("migrate-not-supported", test_migrate_not_supported);

#undef ADD

  return g_test_run ();
}
