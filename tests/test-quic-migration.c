/* test-quic-migration.c: QUIC connection migration when the local link in
 * use goes down mid-transfer (issue 7 item 6), in network namespaces this
 * test creates and removes
 *
 * The process moves itself into a fresh network namespace (the client's)
 * at start.  Each test creates a second, empty namespace (the server's)
 * and two veth pairs between them, as tests/test-paths.c does (both with
 * tests/post-test-netns.c):
 *
 *   client ns                   server ns
 *   c0 10.1.0.1/24  ─────────── s0 10.1.0.2/24
 *   c1 10.2.0.1/24  ─────────── s1 10.2.0.2/24
 *                               lo 10.99.0.1/32 (the service)
 *   10.99.0.1 via 10.1.0.2 dev c0 metric 100, via 10.2.0.2 dev c1 metric 200
 *
 * The server is a child process in the server namespace
 * (quic-migration-peer, built next to this test): a quic listener on
 * 10.99.0.1 that echoes on every stream and logs what it accepts and its
 * carriers' path changes.  The client, in this process, transfers several
 * MiB over a quic carrier leaving by c0; c0 goes down mid-transfer; the
 * connection migrates to c1's address and everything arrives.
 *
 * Needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN), `ip` and certtool; otherwise
 * the test is skipped.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define _GNU_SOURCE
#include <post.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include "post-test-netns.h"
#include "post-test-util.h"

#define WAIT_TIMEOUT_S  15
#define CHUNK           (64 * 1024)
#define N_CHUNKS        96                /* 6 MiB each way */
#define LINK_DOWN_AT    (1024 * 1024)     /* echoed bytes before c0 goes down */

/* What a test case runs on, and how the first path goes away */
typedef struct {
  const char *uri;            /* the service */
  const char *first_local;    /* the client's address on c0 */
  const char *second_local;   /* on c1 */
  const char *peer_sees;      /* how the server logs the client's new address */
  const char *loss;           /* what happens to c0 mid-transfer */
  const char *undo;           /* (nullable) undoes it at the end */
  gboolean    unmonitored;    /* the path monitor does not see it: only
                               * the socket's errors tell the stack */
} Variant;

static const Variant v4_link_down = {
  "quic://10.99.0.1:4433", "10.1.0.1", "10.2.0.1", "path-changed 10.2.0.1:", "ip link set c0 down"
};
static const Variant v4_address_removed = {
  "quic://10.99.0.1:4433", "10.1.0.1", "10.2.0.1", "path-changed 10.2.0.1:", "ip addr del 10.1.0.1/24 dev c0"
};
static const Variant v6_link_down = {
  "quic://[fd99::1]:4433", "fd01::1", "fd02::1", "path-changed [fd02::1]:", "ip link set c0 down"
};
/* No address or interface event: c0's route goes and a rule makes every
 * packet from c0's address unreachable, so the socket fails (ENETUNREACH)
 * and the stack migrates by itself to the source the routing picks now. */
static const Variant v4_socket_error = {
  "quic://10.99.0.1:4433", "10.1.0.1", "10.2.0.1", "path-changed 10.2.0.1:",
  "sh -c 'ip route del 10.99.0.1/32 via 10.1.0.2 dev c0 && ip rule add from 10.1.0.1 unreachable'",
  "ip rule del from 10.1.0.1 unreachable", TRUE
};

/* ---- namespaces (post-test-netns.h) ------------------------------------- */

typedef struct {
  PostTestNetns ns;          /* the server namespace and the links to it */
  char       *certs;         /* certificate directory */
  char       *log;           /* the peer's log */
  GPid        peer;          /* the server process, 0 when none */
  int         peer_stdin;    /* its stdin: it exits at end of file */
  guint       peer_exited;
  int         peer_status;
} Net;

static void
net_setup (Net          *net,
           gconstpointer data)
{
  if (!post_test_netns_available ())
    return;

  /* The service also has fd99::1, on the server's lo */
  post_test_netns_setup (&net->ns, "ip -6 addr add fd99::1/128 dev lo nodad");

  /* A server certificate for the service's address, signed by the test CA */
  net->certs = post_test_certs_make ("post-quic-migration");
  {
    g_autofree char *tmpl = g_build_filename (net->certs, "service.tmpl", NULL);
    g_autofree char *key = g_build_filename (net->certs, "service.key", NULL);
    g_autofree char *cert = g_build_filename (net->certs, "service.pem", NULL);
    g_autofree char *ca = g_build_filename (net->certs, "ca.pem", NULL);
    g_autofree char *ca_key = g_build_filename (net->certs, "ca.key", NULL);

    g_assert_true (g_file_set_contents (tmpl, "cn = \"10.99.0.1\"\nip_address = \"10.99.0.1\"\n"
                                        "ip_address = \"fd99::1\"\n"
                                        "tls_www_server\nsigning_key\nexpiration_days = 2\n", -1, NULL));
    post_test_run ((const char *[]) { "certtool", "--generate-privkey", "--key-type=ecdsa",
                                      "--outfile", key, NULL });
    post_test_run ((const char *[]) { "certtool", "--generate-certificate", "--load-privkey", key,
                                      "--load-ca-privkey", ca_key, "--load-ca-certificate", ca,
                                      "--template", tmpl, "--outfile", cert, NULL });
  }
  net->log = g_build_filename (net->certs, "peer.log", NULL);
  net->peer_stdin = -1;
}

static void
peer_exited_cb (GPid     pid,
                gint     status,
                gpointer user_data)
{
  Net *net = user_data;

  net->peer_status = status;
  net->peer_exited = 1;
  g_spawn_close_pid (pid);
}

/* Stops the server process: end of its stdin, then SIGTERM if needed. */
static void
stop_peer (Net *net)
{
  if (net->peer == 0)
    return;
  if (net->peer_stdin >= 0)
    close (net->peer_stdin);
  net->peer_stdin = -1;
  {
    gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

    while (!net->peer_exited && g_get_monotonic_time () < deadline)
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (5000);
  }
  if (!net->peer_exited)
    {
      kill (net->peer, SIGKILL);
      post_test_wait_count (&net->peer_exited, 1, "the server process to exit", WAIT_TIMEOUT_S);
    }
  net->peer = 0;
}

static void
net_teardown (Net          *net,
              gconstpointer data)
{
  if (!post_test_netns_available ())
    return;
  stop_peer (net);
  post_test_netns_teardown (&net->ns);
  post_test_certs_remove (net->certs);
  g_clear_pointer (&net->certs, g_free);
  g_clear_pointer (&net->log, g_free);
}

/* ---- the server process ------------------------------------------------------- */

static void
enter_server_namespace (gpointer user_data)
{
  Net *net = user_data;

  /* In the forked child, before exec */
  if (setns (net->ns.server_ns, CLONE_NEWNET) != 0)
    _exit (127);
}

static char *
read_log (Net *net)
{
  char *contents = NULL;

  if (!g_file_get_contents (net->log, &contents, NULL, NULL))
    return g_strdup ("");
  return contents;
}

static guint
count_lines (const char *log,
             const char *prefix)
{
  g_auto(GStrv) lines = g_strsplit (log, "\n", -1);
  guint n = 0;

  for (guint i = 0; lines[i] != NULL; i++)
    n += g_str_has_prefix (lines[i], prefix);
  return n;
}

static void
start_peer (Net        *net,
            const char *uri)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *helper = g_test_build_filename (G_TEST_BUILT, "quic-migration-peer", NULL);
  g_autofree char *cert = g_build_filename (net->certs, "service.pem", NULL);
  g_autofree char *key = g_build_filename (net->certs, "service.key", NULL);
  const char *argv[] = { helper, cert, key, uri, net->log, NULL };
  gint64 deadline;

  g_assert_true (g_spawn_async_with_pipes (NULL, (char **) argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD,
                                           enter_server_namespace, net, &net->peer,
                                           &net->peer_stdin, NULL, NULL, &error));
  g_assert_no_error (error);
  g_child_watch_add (net->peer, peer_exited_cb, net);

  /* Bounded wait for its listener */
  deadline = g_get_monotonic_time () + WAIT_TIMEOUT_S * G_USEC_PER_SEC;
  for (;;)
    {
      g_autofree char *log = read_log (net);

      if (count_lines (log, "listening") > 0)
        break;
      if (count_lines (log, "error") > 0 || net->peer_exited)
        g_error ("the quic server did not start: %s", log);
      if (g_get_monotonic_time () > deadline)
        g_error ("the quic server did not start within %d s", WAIT_TIMEOUT_S);
      g_main_context_iteration (NULL, FALSE);
      g_usleep (10000);
    }
}

/* ---- the client ------------------------------------------------------------------ */

typedef struct {
  Net      *net;
  const Variant *v;
  guint     established;
  GError   *error;
  guint     n_closed;
  guint     n_path_changed;
  guint     n_path_removed;
  char     *last_local;       /* local address of the last path-changed */
  gboolean  moved;            /* a path-changed came with the new local address */
  /* bulk transfer */
  guint64   received;
  guint     n_messages;
  gboolean  corrupt;
  gboolean  link_down;
  guint64   received_at_link_down;
  guint     all_received;
  guint     send_errors;
  /* small echoes */
  GString  *text;
  guint     n_text;
} Client;

static char *
host_of (GSocketAddress *address)
{
  if (address == NULL || !G_IS_INET_SOCKET_ADDRESS (address))
    return g_strdup ("(none)");
  return g_inet_address_to_string (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (address)));
}

static void
path_changed_cb (PostCarrier *carrier,
                 PostPath    *path,
                 gpointer     user_data)
{
  Client *c = user_data;

  c->n_path_changed++;
  g_free (c->last_local);
  c->last_local = host_of (post_path_get_local_address (path));
  if (g_str_equal (c->last_local, c->v->second_local))
    c->moved = TRUE;
  g_test_message ("path-changed: local %s", c->last_local);
}

static void
path_removed_cb (PostCarrier *carrier,
                 PostPath    *path,
                 gpointer     user_data)
{
  ((Client *) user_data)->n_path_removed++;
}

static void
closed_cb (PostCarrier  *carrier,
           const GError *error,
           gpointer      user_data)
{
  Client *c = user_data;

  c->n_closed++;
  g_test_message ("carrier closed: %s", error ? error->message : "(no error)");
}

static void
established_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  Client *c = user_data;

  post_carrier_establish_finish (POST_CARRIER (source), result, &c->error);
  c->established = 1;
}

static guint8
pattern (guint message,
         gsize offset)
{
  return (guint8) (message * 31 + offset * 7 + (offset >> 8));
}

static gboolean
bulk_message_cb (PostCarrier *carrier,
                 PostMessage *message,
                 gpointer     user_data)
{
  Client *c = user_data;
  gsize size;
  const guint8 *data = g_bytes_get_data (post_message_get_content (message), &size);

  if (size != CHUNK)
    c->corrupt = TRUE;
  for (gsize i = 0; i < size && !c->corrupt; i++)
    if (data[i] != pattern (c->n_messages, i))
      c->corrupt = TRUE;
  c->n_messages++;
  c->received += size;
  if (!c->link_down && c->received >= LINK_DOWN_AT)
    {
      /* Mid-transfer: the preferred link goes down under the connection */
      c->link_down = TRUE;
      c->received_at_link_down = c->received;
      post_test_netns_run ("%s", c->v->loss);
    }
  if (c->n_messages == N_CHUNKS)
    c->all_received = 1;
  return TRUE;
}

static void
bulk_sent_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  Client *c = user_data;
  g_autoptr(GError) error = NULL;

  if (!post_carrier_send_finish (POST_CARRIER (source), result, &error))
    {
      g_test_message ("a bulk message was not sent: %s", error->message);
      c->send_errors++;
    }
}

static gboolean
text_message_cb (PostCarrier *carrier,
                 PostMessage *message,
                 gpointer     user_data)
{
  Client *c = user_data;
  gsize size;
  const char *data = g_bytes_get_data (post_message_get_content (message), &size);

  g_string_append_len (c->text, data, size);
  c->n_text++;
  return TRUE;
}

static void
send_text (PostCarrier *carrier,
           Client      *c,
           const char  *text)
{
  g_autoptr(PostMessage) message = post_message_new_from_string (text);
  guint before = c->n_text;

  g_assert_true (post_carrier_send (carrier, message, NULL));
  post_test_wait_count (&c->n_text, before + 1, text, WAIT_TIMEOUT_S);
}

static void
client_clear (Client *c)
{
  g_clear_error (&c->error);
  g_clear_pointer (&c->last_local, g_free);
  if (c->text != NULL)
    g_string_free (c->text, TRUE);
  c->text = NULL;
}

/* The first link goes down (or its address goes away) while a quic
 * carrier transfers 6 MiB each way: the connection migrates to the second
 * link's address, the same carrier stays active (the server accepted one
 * connection only), its path-changed tells the new local address,
 * everything arrives byte-exact, and a stream forked on the same
 * connection before goes on working too. */
static void
test_migrates (Net          *net,
               gconstpointer data)
{
  const Variant *v = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(PostConfiguration) config = NULL;
  g_autoptr(PostRemote) remote = NULL;
  g_autoptr(PostCarrier) carrier = NULL;
  g_autofree char *local = NULL;
  g_autofree char *log = NULL;
  Client c = { 0 }, f = { 0 };
  PostTestFork r = { 0 };

  g_autoptr(GPtrArray) transients = NULL;
  g_autoptr(GPtrArray) paths = NULL;

  if (post_test_netns_skip ())
    return;
  start_peer (net, v->uri);

  config = post_configuration_new ();
  post_test_trust_test_ca (config, net->certs);
  remote = post_remote_new_from_uri (v->uri, &error);
  g_assert_no_error (error);

  c.net = net;
  c.v = v;
  f.net = net;
  f.v = v;
  f.text = g_string_new (NULL);
  carrier = post_carrier_initiate (NULL, remote, config);
  g_signal_connect (carrier, "path-changed", G_CALLBACK (path_changed_cb), &c);
  g_signal_connect (carrier, "path-removed", G_CALLBACK (path_removed_cb), &c);
  g_signal_connect (carrier, "closed", G_CALLBACK (closed_cb), &c);
  post_carrier_establish_async (carrier, NULL, established_cb, &c);
  post_test_wait_count (&c.established, 1, "establishment", WAIT_TIMEOUT_S);
  g_assert_no_error (c.error);
  g_assert_cmpstr (post_carrier_get_stack_name (carrier), ==, "quic");
  g_assert_true (post_carrier_get_capabilities (carrier) & POST_STACK_CAP_MIGRATION);
  local = host_of (post_carrier_get_local_address (carrier));
  g_assert_cmpstr (local, ==, v->first_local);   /* c0: the better route */
  g_clear_pointer (&local, g_free);

  /* A second stream of the same connection */
  post_carrier_fork_async (carrier, NULL, post_test_forked_cb, &r);
  post_test_wait_count (&r.done, 1, "the fork", WAIT_TIMEOUT_S);
  g_assert_no_error (r.error);
  g_signal_connect (r.carrier, "path-changed", G_CALLBACK (path_changed_cb), &f);
  g_signal_connect (r.carrier, "closed", G_CALLBACK (closed_cb), &f);
  post_carrier_ready (r.carrier, text_message_cb, &f, NULL);
  send_text (r.carrier, &f, "before;");

  /* The bulk transfer; c0 goes down after the first MiB came back */
  post_carrier_ready (carrier, bulk_message_cb, &c, NULL);
  for (guint i = 0; i < N_CHUNKS; i++)
    {
      g_autofree guint8 *chunk = g_malloc (CHUNK);
      g_autoptr(PostMessage) message = NULL;

      for (gsize j = 0; j < CHUNK; j++)
        chunk[j] = pattern (i, j);
      message = post_message_new_from_data (chunk, CHUNK);
      post_carrier_send_async (carrier, message, NULL, bulk_sent_cb, &c);
    }
  post_test_wait_count (&c.all_received, 1, "the whole transfer", WAIT_TIMEOUT_S);
  g_test_message ("'%s' after %" G_GUINT64_FORMAT " of %u bytes came back",
                  v->loss, c.received_at_link_down, N_CHUNKS * CHUNK);

  /* Byte-exact, on the same carrier, which never closed */
  g_assert_true (c.link_down);
  g_assert_cmpuint (c.received_at_link_down, <, (guint64) N_CHUNKS * CHUNK);
  g_assert_false (c.corrupt);
  g_assert_cmpuint (c.send_errors, ==, 0);
  g_assert_cmpuint (c.received, ==, (guint64) N_CHUNKS * CHUNK);
  g_assert_cmpuint (c.n_closed, ==, 0);
  g_assert_cmpint (post_carrier_get_state (carrier), ==, POST_CARRIER_STATE_ACTIVE);

  /* The path events: c0's path went away (when the monitor could tell),
   * the new one is c1's */
  g_assert_cmpuint (c.n_path_removed, ==, v->unmonitored ? 0 : 1);
  g_assert_true (c.moved);
  local = host_of (post_carrier_get_local_address (carrier));
  g_assert_cmpstr (local, ==, v->second_local);
  g_clear_pointer (&local, g_free);

  /* The transient's path is the new one, with the connection's measurements */
  transients = post_carrier_get_transients (carrier);
  g_assert_cmpuint (transients->len, ==, 1);
  paths = post_transient_get_paths (transients->pdata[0]);
  g_assert_cmpuint (paths->len, ==, 1);
  local = host_of (post_path_get_local_address (paths->pdata[0]));
  g_assert_cmpstr (local, ==, v->second_local);
  g_clear_pointer (&local, g_free);
  /* The stack alone cannot tell the interface it moved to */
  g_assert_cmpstr (post_path_get_interface (paths->pdata[0]), ==, v->unmonitored ? NULL : "c1");
  g_assert_cmpuint (post_path_get_latency (paths->pdata[0]), >, 0);
  g_assert_cmpuint (post_path_get_data_rate (paths->pdata[0]), >, 0);
  g_test_message ("new path: latency %" G_GUINT64_FORMAT " us, rate %" G_GUINT64_FORMAT " bit/s, loss %.4f",
                  (guint64) post_path_get_latency (paths->pdata[0]),
                  (guint64) post_path_get_data_rate (paths->pdata[0]),
                  post_path_get_loss (paths->pdata[0]));

  /* The forked stream moved with its connection and still works */
  g_assert_true (f.moved);
  g_assert_cmpuint (f.n_closed, ==, 0);
  local = host_of (post_carrier_get_local_address (r.carrier));
  g_assert_cmpstr (local, ==, v->second_local);
  send_text (r.carrier, &f, "after");
  g_assert_cmpstr (f.text->str, ==, "before;after");

  /* The server: one connection (no re-establishment), one forked stream,
   * and its carriers saw the peer's new address */
  log = read_log (net);
  g_test_message ("server log:\n%s", log);
  g_assert_cmpuint (count_lines (log, "accepted "), ==, 1);
  g_assert_cmpuint (count_lines (log, "forked "), ==, 1);
  g_assert_cmpuint (count_lines (log, v->peer_sees), >=, 1);
  g_assert_cmpuint (count_lines (log, "closed"), ==, 0);

  post_carrier_abort (r.carrier);
  post_carrier_abort (carrier);
  post_test_spin (20);
  g_clear_object (&r.carrier);
  if (v->undo != NULL)
    post_test_netns_run ("%s", v->undo);
  stop_peer (net);
  g_assert_true (g_spawn_check_wait_status (net->peer_status, &error));
  g_assert_no_error (error);
  client_clear (&c);
  client_clear (&f);
}

/* The only other local is on a prohibited interface: no migration, and
 * path.on-loss applies as for any stack (here: the carrier goes DORMANT). */
static void
test_prohibited_interface (Net          *net,
                           gconstpointer data)
{
  const Variant *v = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(PostConfiguration) config = NULL;
  g_autoptr(PostRemote) remote = NULL;
  g_autoptr(PostCarrier) carrier = NULL;
  g_autofree char *local = NULL;
  g_autofree char *log = NULL;
  Client c = { 0 };
  gint64 deadline;

  if (post_test_netns_skip ())
    return;
  start_peer (net, v->uri);

  config = post_configuration_new ();
  post_test_trust_test_ca (config, net->certs);
  g_assert_true (post_configuration_set_interface_preference (config, "c1", POST_PREFERENCE_PROHIBIT, &error));
  g_assert_true (post_configuration_set_option (config, "path.on-loss", g_variant_new_string ("dormant"), &error));
  g_assert_no_error (error);
  remote = post_remote_new_from_uri (v->uri, &error);
  g_assert_no_error (error);

  c.net = net;
  c.v = v;
  c.text = g_string_new (NULL);
  carrier = post_carrier_initiate (NULL, remote, config);
  g_signal_connect (carrier, "path-changed", G_CALLBACK (path_changed_cb), &c);
  g_signal_connect (carrier, "path-removed", G_CALLBACK (path_removed_cb), &c);
  post_carrier_establish_async (carrier, NULL, established_cb, &c);
  post_test_wait_count (&c.established, 1, "establishment", WAIT_TIMEOUT_S);
  g_assert_no_error (c.error);
  local = host_of (post_carrier_get_local_address (carrier));
  g_assert_cmpstr (local, ==, v->first_local);
  post_carrier_ready (carrier, text_message_cb, &c, NULL);
  send_text (carrier, &c, "hello");

  post_test_netns_run ("%s", v->loss);
  deadline = g_get_monotonic_time () + WAIT_TIMEOUT_S * G_USEC_PER_SEC;
  while (post_carrier_get_state (carrier) == POST_CARRIER_STATE_ACTIVE && g_get_monotonic_time () < deadline)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (1000);
  g_assert_cmpint (post_carrier_get_state (carrier), ==, POST_CARRIER_STATE_DORMANT);
  g_assert_cmpuint (c.n_path_removed, ==, 1);
  g_assert_false (c.moved);

  log = read_log (net);
  g_assert_cmpuint (count_lines (log, v->peer_sees), ==, 0);
  post_carrier_abort (carrier);
  post_test_spin (20);
  stop_peer (net);
  client_clear (&c);
}

/* ---- the stack alone, on the loopback (no root needed) ------------------------ */

typedef struct {
  GPtrArray *accepted;        /* (owned) the server's carriers */
  guint      n_path_changed;
  char      *last_remote;     /* the remote of the server's last path-changed */
} Server;

static void
server_path_changed_cb (PostCarrier *carrier,
                        PostPath    *path,
                        gpointer     user_data)
{
  Server *server = user_data;

  g_free (server->last_remote);
  server->last_remote = host_of (post_path_get_remote_address (path));
  server->n_path_changed++;
}

static gboolean
server_echo_cb (PostCarrier *carrier,
                PostMessage *message,
                gpointer     user_data)
{
  g_autoptr(PostMessage) reply = post_message_new (post_message_get_content (message));

  post_carrier_send (carrier, reply, NULL);
  return TRUE;
}

static gboolean
server_incoming_cb (PostCarrier *listener,
                    PostCarrier *carrier,
                    gpointer     user_data)
{
  Server *server = user_data;

  g_ptr_array_add (server->accepted, g_object_ref (carrier));
  g_signal_connect (carrier, "path-changed", G_CALLBACK (server_path_changed_cb), server);
  post_carrier_ready (carrier, server_echo_cb, server, NULL);
  return TRUE;
}

static PostPsi *
psi_of (PostCarrier *carrier)
{
  g_autoptr(GPtrArray) transients = post_carrier_get_transients (carrier);

  g_assert_cmpuint (transients->len, ==, 1);
  return post_transient_get_psi (transients->pdata[0]);
}

/* post_psi_migrate() on a client's quic stream: the connection moves to a
 * new socket on 127.0.0.2, the carrier's path-changed tells it, messages
 * still flow both ways, and the server's carrier sees its peer's new
 * address.  A server's instance cannot migrate. */
static void
test_psi_migrate_loopback (void)
{
  g_autofree char *certs = post_test_certs_make ("post-quic-migrate-lo");
  g_autofree char *uri = NULL;
  g_autofree char *local = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(PostLocal) listen_local = NULL;
  g_autoptr(PostCarrier) listener = NULL;
  g_autoptr(PostConfiguration) config = NULL;
  g_autoptr(PostRemote) remote = NULL;
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(GInetAddress) other = g_inet_address_new_from_string ("127.0.0.2");
  g_autoptr(GSocketAddress) new_local = g_inet_socket_address_new (other, 0);
  Server server = { g_ptr_array_new_with_free_func (g_object_unref), 0, NULL };
  Client c = { 0 };

  listen_local = post_test_server_local ("quic://127.0.0.1:0", certs, "server");
  listener = post_carrier_listen (listen_local, NULL, &error);
  g_assert_no_error (error);
  g_signal_connect (listener, "incoming", G_CALLBACK (server_incoming_cb), &server);

  config = post_configuration_new ();
  post_test_trust_test_ca (config, certs);
  uri = g_strdup_printf ("quic://127.0.0.1:%u", post_test_port_of (listener));
  remote = post_remote_new_from_uri (uri, &error);
  g_assert_no_error (error);
  c.v = &v4_link_down;
  c.text = g_string_new (NULL);
  carrier = post_carrier_initiate (NULL, remote, config);
  g_signal_connect (carrier, "path-changed", G_CALLBACK (path_changed_cb), &c);
  g_signal_connect (carrier, "closed", G_CALLBACK (closed_cb), &c);
  post_carrier_establish_async (carrier, NULL, established_cb, &c);
  post_test_wait_count (&c.established, 1, "establishment", WAIT_TIMEOUT_S);
  g_assert_no_error (c.error);
  post_carrier_ready (carrier, text_message_cb, &c, NULL);
  send_text (carrier, &c, "one;");
  local = host_of (post_carrier_get_local_address (carrier));
  g_assert_cmpstr (local, ==, "127.0.0.1");
  g_clear_pointer (&local, g_free);
  g_assert_cmpuint (server.accepted->len, ==, 1);

  /* The server's side cannot initiate migration (RFC 9000 section 9) */
  g_assert_false (post_psi_migrate (psi_of (server.accepted->pdata[0]), new_local, &error));
  g_assert_error (error, POST_ERROR, POST_ERROR_NOT_SUPPORTED);
  g_clear_error (&error);

  g_assert_true (post_psi_migrate (psi_of (carrier), new_local, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (c.n_path_changed, >=, 1);
  g_assert_cmpstr (c.last_local, ==, "127.0.0.2");
  local = host_of (post_carrier_get_local_address (carrier));
  g_assert_cmpstr (local, ==, "127.0.0.2");

  send_text (carrier, &c, "two");
  g_assert_cmpstr (c.text->str, ==, "one;two");
  post_test_wait_count (&server.n_path_changed, 1, "the server's path-changed", WAIT_TIMEOUT_S);
  g_assert_cmpstr (server.last_remote, ==, "127.0.0.2");
  g_assert_cmpuint (server.accepted->len, ==, 1);
  g_assert_cmpuint (c.n_closed, ==, 0);
  g_assert_cmpint (post_carrier_get_state (carrier), ==, POST_CARRIER_STATE_ACTIVE);

  post_carrier_abort (carrier);
  for (guint i = 0; i < server.accepted->len; i++)
    post_carrier_abort (server.accepted->pdata[i]);
  post_carrier_abort (listener);
  post_test_spin (20);
  g_ptr_array_unref (server.accepted);
  g_free (server.last_remote);
  client_clear (&c);
  post_test_certs_remove (certs);
}

/* ---- main ------------------------------------------------------------------------- */

int
main (int   argc,
      char *argv[])
{
  /* Before anything else runs: the whole process leaves the host's network */
  post_test_netns_init ();
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/quic-migration/psi-migrate-loopback", test_psi_migrate_loopback);
  g_test_add ("/quic-migration/link-down", Net, &v4_link_down, net_setup, test_migrates, net_teardown);
  g_test_add ("/quic-migration/address-removed", Net, &v4_address_removed, net_setup, test_migrates, net_teardown);
  g_test_add ("/quic-migration/ipv6-link-down", Net, &v6_link_down, net_setup, test_migrates, net_teardown);
  g_test_add ("/quic-migration/socket-error", Net, &v4_socket_error, net_setup, test_migrates, net_teardown);
  g_test_add ("/quic-migration/prohibited-interface", Net, &v4_link_down, net_setup,
              test_prohibited_interface, net_teardown);
  g_test_add ("/quic-migration/prohibited-interface-address-removed", Net, &v4_address_removed, net_setup,
              test_prohibited_interface, net_teardown);
  return g_test_run ();
}
