/* test-association.c: PostAssociation: explicit and implicit creation,
 * sharing by value, carriers and paths, frozen endpoints and configuration,
 * and forking a TCP carrier on its association.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <post.h>
#include <string.h>
#include <sys/stat.h>
#include <glib/gstdio.h>

#include "post-test-util.h"

#define WAIT_TIMEOUT_S 10

/* ---- helpers ------------------------------------------------------------- */

#define run_until(loop, flag, n) post_test_loop_until ((loop), (const guint *) (flag), (n), #flag, WAIT_TIMEOUT_S)

static gboolean
inet_address_equal (GSocketAddress *a,
                    GSocketAddress *b)
{
  if (!G_IS_INET_SOCKET_ADDRESS (a) || !G_IS_INET_SOCKET_ADDRESS (b))
    return FALSE;
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (a))
           == g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (b))
         && g_inet_address_equal (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (a)),
                                  g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (b)));
}

static gboolean
array_contains (GPtrArray *array,
                gpointer   item)
{
  return g_ptr_array_find (array, item, NULL);
}

/* The listener is plain TCP; security is on by default (a bare address
 * races only secure stacks), so name the stack. */
static PostRemote *
tcp_remote_for (GSocketAddress *address)
{
  GInetSocketAddress *inet = G_INET_SOCKET_ADDRESS (address);
  g_autofree char *ip = g_inet_address_to_string (g_inet_socket_address_get_address (inet));
  g_autofree char *uri = g_strdup_printf ("tcp://%s:%u", ip, g_inet_socket_address_get_port (inet));

  return post_remote_new_from_uri (uri, NULL);
}

/* ---- fixture: a TCP listener on loopback ------------------------------------ */

typedef struct {
  GMainLoop         *loop;
  PostCarrier       *listener;      /* (owned) */
  PostRemote        *remote;        /* (owned) the listener's address */
  GSocketAddress    *listen_address;  /* (owned) */
  GPtrArray         *accepted;      /* (owned) (element-type PostCarrier) */
  GPtrArray         *closing;       /* (owned) (element-type PostCarrier) carriers to clean up */

  guint              n_incoming;
  guint              n_established;
  guint              n_added;
  guint              n_removed;
  guint              n_paths_added;
  guint              n_last_stack_notify;
  guint              n_closed_async;
  guint              n_forked;
  guint              n_received;
  PostCarrier       *last_added;    /* (unowned) */
  PostCarrier       *last_removed;  /* (unowned) */
  PostCarrier       *forked;        /* (owned) (nullable) */
  GError            *fork_error;    /* (owned) (nullable) */
  PostMessage       *received;      /* (owned) (nullable) */
} Fixture;

static gboolean
on_incoming (PostCarrier *listener,
             PostCarrier *carrier,
             Fixture     *f)
{
  g_assert_true (POST_IS_CARRIER (carrier));
  g_assert_cmpint (post_carrier_get_state (carrier), ==, POST_CARRIER_STATE_ACTIVE);
  g_ptr_array_add (f->accepted, g_object_ref (carrier));
  f->n_incoming++;
  g_main_loop_quit (f->loop);
  return TRUE;
}

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PostLocal) local = post_local_new_from_uri ("tcp://127.0.0.1:0", &error);

  g_assert_no_error (error);
  f->loop = g_main_loop_new (NULL, FALSE);
  f->accepted = g_ptr_array_new_with_free_func (g_object_unref);
  f->closing = g_ptr_array_new_with_free_func (g_object_unref);
  f->listener = post_carrier_listen (local, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (f->listener);
  g_signal_connect (f->listener, "incoming", G_CALLBACK (on_incoming), f);
  f->listen_address = g_object_ref (post_carrier_get_local_address (f->listener));
  f->remote = tcp_remote_for (f->listen_address);
  /* A listener has no association. */
  g_assert_null (post_carrier_get_association (f->listener));
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  g_signal_handlers_disconnect_by_data (f->listener, f);
  for (guint i = 0; i < f->closing->len; i++)
    {
      g_signal_handlers_disconnect_by_data (f->closing->pdata[i], f);
      post_carrier_abort (f->closing->pdata[i]);
    }
  for (guint i = 0; i < f->accepted->len; i++)
    post_carrier_abort (f->accepted->pdata[i]);
  if (f->forked != NULL)
    post_carrier_abort (f->forked);
  post_carrier_close (f->listener);
  g_clear_object (&f->forked);
  g_clear_object (&f->received);
  g_clear_error (&f->fork_error);
  g_ptr_array_unref (f->closing);
  g_ptr_array_unref (f->accepted);
  g_clear_object (&f->listener);
  g_clear_object (&f->remote);
  g_clear_object (&f->listen_address);
  post_test_drain ();
  g_main_loop_unref (f->loop);
}

/* Keeps @carrier for teardown; returns it. */
static PostCarrier *
track (Fixture     *f,
       PostCarrier *carrier)
{
  g_ptr_array_add (f->closing, g_object_ref (carrier));
  return carrier;
}

static void
established_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  Fixture *f = user_data;
  g_autoptr(GError) error = NULL;

  g_assert_true (post_carrier_establish_finish (POST_CARRIER (source), result, &error));
  g_assert_no_error (error);
  f->n_established++;
  g_main_loop_quit (f->loop);
}

static void
closed_async_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  Fixture *f = user_data;
  g_autoptr(GError) error = NULL;

  g_assert_true (post_carrier_close_finish (POST_CARRIER (source), result, &error));
  g_assert_no_error (error);
  f->n_closed_async++;
  g_main_loop_quit (f->loop);
}

static void
on_carrier_added (PostAssociation *association,
                  PostCarrier     *carrier,
                  Fixture         *f)
{
  f->n_added++;
  f->last_added = carrier;
}

static void
on_carrier_removed (PostAssociation *association,
                    PostCarrier     *carrier,
                    Fixture         *f)
{
  f->n_removed++;
  f->last_removed = carrier;
}

static void
on_path_added (PostAssociation *association,
               PostPath        *path,
               Fixture         *f)
{
  g_assert_true (POST_IS_PATH (path));
  f->n_paths_added++;
}

static void
on_last_stack_notify (GObject    *object,
                      GParamSpec *pspec,
                      Fixture    *f)
{
  f->n_last_stack_notify++;
}

static void
received_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  Fixture *f = user_data;
  g_autoptr(GError) error = NULL;
  PostMessage *message = post_carrier_receive_finish (POST_CARRIER (source), result, &error);

  g_assert_no_error (error);
  g_assert_nonnull (message);
  g_clear_object (&f->received);
  f->received = message;
  f->n_received++;
  g_main_loop_quit (f->loop);
}

static void
assert_received (Fixture    *f,
                 const char *text)
{
  GBytes *content;

  g_assert_nonnull (f->received);
  content = post_message_get_content (f->received);
  g_assert_cmpmem (g_bytes_get_data (content, NULL), g_bytes_get_size (content),
                   text, strlen (text));
}

/* ---- explicit association --------------------------------------------------- */

static void
test_explicit (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PostLocal) local = post_local_new ();
  g_autoptr(PostConfiguration) config = post_configuration_new ();
  g_autoptr(PostAssociation) association = NULL;
  g_autoptr(PostAssociation) looked_up = NULL;
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(GPtrArray) carriers = NULL;
  g_autoptr(GPtrArray) paths = NULL;
  PostPath *path;

  g_assert_true (post_configuration_set_attempt_delay (config, 100, &error));
  g_assert_no_error (error);
  g_assert_false (post_local_is_frozen (local));
  g_assert_false (post_configuration_is_frozen (config));

  association = post_association_new (local, f->remote, config);
  g_assert_true (POST_IS_ASSOCIATION (association));
  g_assert_true (post_association_get_local (association) == local);
  g_assert_true (post_association_get_remote (association) == f->remote);
  g_assert_true (post_association_get_configuration (association) == config);
  g_assert_null (post_association_get_last_stack (association));

  /* Held: frozen. */
  g_assert_true (post_local_is_frozen (local));
  g_assert_true (post_configuration_is_frozen (config));
  g_assert_false (post_local_set_port (local, 4242, &error));
  g_assert_error (error, POST_ERROR, POST_ERROR_IMMUTABLE);
  g_clear_error (&error);
  g_assert_false (post_local_set_interface (local, "lo", &error));
  g_assert_error (error, POST_ERROR, POST_ERROR_IMMUTABLE);
  g_clear_error (&error);
  g_assert_false (post_configuration_set_attempt_delay (config, 5, &error));
  g_assert_error (error, POST_ERROR, POST_ERROR_IMMUTABLE);
  g_clear_error (&error);
  g_assert_false (post_configuration_set_conn_timeout (config, 5, &error));
  g_assert_error (error, POST_ERROR, POST_ERROR_IMMUTABLE);
  g_clear_error (&error);
  g_assert_cmpuint (post_configuration_get_attempt_delay (config), ==, 100);
  g_assert_cmpuint (post_local_get_port (local), ==, 0);

  /* Nothing yet. */
  carriers = post_association_get_carriers (association);
  g_assert_cmpuint (carriers->len, ==, 0);
  g_clear_pointer (&carriers, g_ptr_array_unref);
  paths = post_association_get_paths (association);
  g_assert_cmpuint (paths->len, ==, 0);
  g_clear_pointer (&paths, g_ptr_array_unref);

  g_signal_connect (association, "carrier-added", G_CALLBACK (on_carrier_added), f);
  g_signal_connect (association, "carrier-removed", G_CALLBACK (on_carrier_removed), f);
  g_signal_connect (association, "path-added", G_CALLBACK (on_path_added), f);
  g_signal_connect (association, "notify::last-stack", G_CALLBACK (on_last_stack_notify), f);

  /* The live association is found by value. */
  {
    g_autoptr(PostRemote) same_remote = tcp_remote_for (f->listen_address);
    g_autoptr(PostConfiguration) same_config = post_configuration_new ();

    g_assert_true (post_configuration_set_attempt_delay (same_config, 100, NULL));
    looked_up = post_association_lookup (local, same_remote, same_config);
    g_assert_true (looked_up == association);
    g_clear_object (&looked_up);
  }

  carrier = track (f, post_association_initiate (association));
  g_assert_true (POST_IS_CARRIER (carrier));
  g_assert_true (post_carrier_get_association (carrier) == association);
  g_assert_true (post_carrier_get_configuration (carrier) == config);
  g_assert_true (post_carrier_get_remote (carrier) == f->remote);
  g_assert_true (post_carrier_get_local (carrier) == local);
  g_assert_cmpint (post_carrier_get_role (carrier), ==, POST_CARRIER_ROLE_CARRIER);
  g_assert_cmpint (post_carrier_get_state (carrier), ==, POST_CARRIER_STATE_ESTABLISHING);
  g_assert_cmpuint (f->n_added, ==, 1);
  g_assert_true (f->last_added == carrier);
  {
    PostAssociation *prop = NULL;

    g_object_get (carrier, "association", &prop, NULL);
    g_assert_true (prop == association);
    g_object_unref (prop);
  }

  carriers = post_association_get_carriers (association);
  g_assert_cmpuint (carriers->len, ==, 1);
  g_assert_true (carriers->pdata[0] == carrier);
  g_clear_pointer (&carriers, g_ptr_array_unref);

  /* Establish over TCP loopback. */
  post_carrier_establish_async (carrier, NULL, established_cb, f);
  run_until (f->loop, &f->n_established, 1);
  g_assert_cmpint (post_carrier_get_state (carrier), ==, POST_CARRIER_STATE_ACTIVE);
  g_assert_cmpstr (post_carrier_get_stack_name (carrier), ==, "tcp");
  g_assert_cmpstr (post_association_get_last_stack (association), ==, "tcp");
  g_assert_cmpuint (f->n_last_stack_notify, ==, 1);
  {
    g_autofree char *last_stack = NULL;

    g_object_get (association, "last-stack", &last_stack, NULL);
    g_assert_cmpstr (last_stack, ==, "tcp");
  }

  /* The path the transient uses. */
  paths = post_association_get_paths (association);
  g_assert_cmpuint (paths->len, ==, 1);
  g_assert_cmpuint (f->n_paths_added, ==, 1);
  path = paths->pdata[0];
  g_assert_true (POST_IS_PATH (path));
  g_assert_cmpstr (post_path_get_stack_name (path), ==, "tcp");
  g_assert_nonnull (post_carrier_get_local_address (carrier));
  g_assert_nonnull (post_carrier_get_remote_address (carrier));
  g_assert_true (inet_address_equal (post_path_get_local_address (path),
                                     post_carrier_get_local_address (carrier)));
  g_assert_true (inet_address_equal (post_path_get_remote_address (path),
                                     post_carrier_get_remote_address (carrier)));
  g_assert_true (inet_address_equal (post_path_get_remote_address (path), f->listen_address));
  g_clear_pointer (&paths, g_ptr_array_unref);

  run_until (f->loop, &f->n_incoming, 1);

  /* Still listed while open. */
  carriers = post_association_get_carriers (association);
  g_assert_cmpuint (carriers->len, ==, 1);
  g_clear_pointer (&carriers, g_ptr_array_unref);

  /* Closed: dropped, and carrier-removed fired. */
  post_carrier_close_async (carrier, NULL, closed_async_cb, f);
  run_until (f->loop, &f->n_closed_async, 1);
  g_assert_cmpint (post_carrier_get_state (carrier), ==, POST_CARRIER_STATE_CLOSED);
  g_assert_cmpuint (f->n_removed, ==, 1);
  g_assert_true (f->last_removed == carrier);
  carriers = post_association_get_carriers (association);
  g_assert_cmpuint (carriers->len, ==, 0);
  g_clear_pointer (&carriers, g_ptr_array_unref);

  /* The association remembers what it learned; the carrier still points to it. */
  paths = post_association_get_paths (association);
  g_assert_cmpuint (paths->len, ==, 1);
  g_clear_pointer (&paths, g_ptr_array_unref);
  g_assert_cmpstr (post_association_get_last_stack (association), ==, "tcp");
  g_assert_true (post_carrier_get_association (carrier) == association);

  /* Unreffing the carrier does not emit carrier-removed again. */
  g_ptr_array_remove (f->closing, carrier);
  g_clear_object (&carrier);
  post_test_drain ();
  g_assert_cmpuint (f->n_removed, ==, 1);

  /* A second carrier on the same association. */
  carrier = track (f, post_association_initiate (association));
  g_assert_cmpuint (f->n_added, ==, 2);
  post_carrier_establish_async (carrier, NULL, established_cb, f);
  run_until (f->loop, &f->n_established, 2);
  g_assert_cmpstr (post_association_get_last_stack (association), ==, "tcp");
  g_assert_cmpuint (f->n_last_stack_notify, ==, 1);  /* unchanged: no notify */
  paths = post_association_get_paths (association);
  g_assert_cmpuint (paths->len, ==, 2);  /* a new local port: a new path */
  g_assert_cmpuint (f->n_paths_added, ==, 2);
  g_clear_pointer (&paths, g_ptr_array_unref);

  g_signal_handlers_disconnect_by_data (association, f);
}

/* ---- implicit association: shared by value ----------------------------------- */

static void
test_implicit_sharing (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PostRemote) remote1 = tcp_remote_for (f->listen_address);
  g_autoptr(PostRemote) remote2 = tcp_remote_for (f->listen_address);
  g_autoptr(PostConfiguration) config1 = post_configuration_new ();
  g_autoptr(PostConfiguration) config2 = post_configuration_new ();
  g_autoptr(PostConfiguration) config3 = post_configuration_new ();
  g_autoptr(PostCarrier) c1 = NULL;
  g_autoptr(PostCarrier) c2 = NULL;
  g_autoptr(PostCarrier) c3 = NULL;
  g_autoptr(PostCarrier) c4 = NULL;
  g_autoptr(PostAssociation) looked_up = NULL;
  g_autoptr(GPtrArray) carriers = NULL;
  PostAssociation *shared;
  GWeakRef weak;

  g_assert_true (remote1 != remote2);
  g_assert_true (post_remote_equal (remote1, remote2));
  g_assert_true (post_configuration_set_conn_timeout (config1, 4000, &error));
  g_assert_true (post_configuration_set_conn_timeout (config2, 4000, &error));
  g_assert_true (post_configuration_set_conn_timeout (config3, 5000, &error));
  g_assert_no_error (error);
  g_assert_true (post_configuration_equal (config1, config2));
  g_assert_false (post_configuration_equal (config1, config3));

  c1 = post_carrier_initiate (NULL, remote1, config1);
  c2 = post_carrier_initiate (NULL, remote2, config2);
  shared = post_carrier_get_association (c1);
  g_assert_true (POST_IS_ASSOCIATION (shared));
  g_assert_true (post_carrier_get_association (c2) == shared);
  g_assert_true (post_association_get_remote (shared) == remote1);
  g_assert_null (post_association_get_local (shared));
  g_assert_true (post_configuration_equal (post_association_get_configuration (shared), config2));
  g_assert_true (post_configuration_is_frozen (post_association_get_configuration (shared)));

  /* Another configuration: another association. */
  c3 = post_carrier_initiate (NULL, remote2, config3);
  g_assert_true (post_carrier_get_association (c3) != shared);
  g_assert_true (POST_IS_ASSOCIATION (post_carrier_get_association (c3)));

  /* The default configuration differs from config1 too. */
  c4 = post_carrier_initiate (NULL, remote1, NULL);
  g_assert_true (post_carrier_get_association (c4) != shared);
  g_assert_true (post_carrier_get_association (c4) != post_carrier_get_association (c3));

  /* lookup returns the live one. */
  {
    g_autoptr(PostRemote) remote5 = tcp_remote_for (f->listen_address);
    g_autoptr(PostConfiguration) config5 = post_configuration_copy (config1);

    looked_up = post_association_lookup (NULL, remote5, config5);
    g_assert_true (looked_up == shared);
    g_clear_object (&looked_up);
    looked_up = post_association_lookup (NULL, remote5, NULL);
    g_assert_true (looked_up == post_carrier_get_association (c4));
    g_clear_object (&looked_up);
  }

  carriers = post_association_get_carriers (shared);
  g_assert_cmpuint (carriers->len, ==, 2);
  g_assert_true (array_contains (carriers, c1));
  g_assert_true (array_contains (carriers, c2));
  g_clear_pointer (&carriers, g_ptr_array_unref);

  g_signal_connect (shared, "carrier-removed", G_CALLBACK (on_carrier_removed), f);
  post_carrier_abort (c1);
  g_assert_cmpuint (f->n_removed, ==, 1);
  g_assert_true (f->last_removed == c1);
  carriers = post_association_get_carriers (shared);
  g_assert_cmpuint (carriers->len, ==, 1);
  g_assert_true (carriers->pdata[0] == c2);
  g_clear_pointer (&carriers, g_ptr_array_unref);
  post_carrier_abort (c2);
  g_assert_cmpuint (f->n_removed, ==, 2);
  carriers = post_association_get_carriers (shared);
  g_assert_cmpuint (carriers->len, ==, 0);
  g_clear_pointer (&carriers, g_ptr_array_unref);
  g_signal_handlers_disconnect_by_data (shared, f);

  /* Once nothing holds it the association goes away, and a lookup makes a
   * fresh one. */
  g_weak_ref_init (&weak, shared);
  post_carrier_abort (c3);
  post_carrier_abort (c4);
  g_clear_object (&c1);
  g_clear_object (&c2);
  g_clear_object (&c3);
  g_clear_object (&c4);
  post_test_drain ();
  {
    g_autoptr(PostAssociation) gone = g_weak_ref_get (&weak);

    g_assert_null (gone);
  }
  g_weak_ref_clear (&weak);
  looked_up = post_association_lookup (NULL, remote2, config2);
  g_assert_true (POST_IS_ASSOCIATION (looked_up));
  carriers = post_association_get_carriers (looked_up);
  g_assert_cmpuint (carriers->len, ==, 0);
  g_clear_pointer (&carriers, g_ptr_array_unref);
}

/* A carrier initiated the usual way joins an explicitly created association. */
static void
test_initiate_joins_explicit (Fixture       *f,
                              gconstpointer  data)
{
  g_autoptr(PostRemote) remote = tcp_remote_for (f->listen_address);
  g_autoptr(PostAssociation) association = post_association_new (NULL, f->remote, NULL);
  g_autoptr(PostCarrier) carrier = NULL;

  g_assert_nonnull (post_association_get_configuration (association));
  g_assert_true (post_configuration_is_frozen (post_association_get_configuration (association)));
  carrier = track (f, post_carrier_initiate (NULL, remote, NULL));
  g_assert_true (post_carrier_get_association (carrier) == association);
}

/* ---- forking ----------------------------------------------------------------- */

static void
forked_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  Fixture *f = user_data;

  g_clear_object (&f->forked);
  g_clear_error (&f->fork_error);
  f->forked = post_carrier_fork_finish (POST_CARRIER (source), result, &f->fork_error);
  f->n_forked++;
  g_main_loop_quit (f->loop);
}

static void
test_fork (Fixture       *f,
           gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PostCarrier) client = NULL;
  g_autoptr(GPtrArray) carriers = NULL;
  PostAssociation *association;
  PostCarrier *server;
  PostCarrier *server2;

  client = track (f, post_carrier_initiate (NULL, f->remote, NULL));
  association = post_carrier_get_association (client);
  g_signal_connect (association, "carrier-added", G_CALLBACK (on_carrier_added), f);

  /* Not active yet: cannot fork. */
  post_carrier_fork_async (client, NULL, forked_cb, f);
  run_until (f->loop, &f->n_forked, 1);
  g_assert_null (f->forked);
  g_assert_error (f->fork_error, POST_ERROR, POST_ERROR_NOT_SUPPORTED);

  post_carrier_establish_async (client, NULL, established_cb, f);
  run_until (f->loop, &f->n_established, 1);
  run_until (f->loop, &f->n_incoming, 1);
  server = f->accepted->pdata[0];
  /* The peer's forks arrive as fork requests of the server carrier
   * (libpost's framing on both sides), not at the listener. */
  g_signal_connect (server, "incoming", G_CALLBACK (on_incoming), f);

  /* Fork the initiated carrier: a new transport to the listener. */
  post_carrier_fork_async (client, NULL, forked_cb, f);
  run_until (f->loop, &f->n_forked, 2);
  g_assert_no_error (f->fork_error);
  g_assert_nonnull (f->forked);
  g_assert_true (f->forked != client);
  g_assert_cmpint (post_carrier_get_state (f->forked), ==, POST_CARRIER_STATE_ACTIVE);
  g_assert_cmpint (post_carrier_get_role (f->forked), ==, POST_CARRIER_ROLE_CARRIER);
  g_assert_true (post_carrier_get_association (f->forked) == association);
  g_assert_cmpstr (post_carrier_get_stack_name (f->forked), ==, "tcp");
  g_assert_cmpuint (f->n_added, ==, 1);
  g_assert_true (f->last_added == f->forked);
  g_assert_false (inet_address_equal (post_carrier_get_local_address (f->forked),
                                      post_carrier_get_local_address (client)));
  carriers = post_association_get_carriers (association);
  g_assert_cmpuint (carriers->len, ==, 2);
  g_assert_true (array_contains (carriers, client));
  g_assert_true (array_contains (carriers, f->forked));
  g_clear_pointer (&carriers, g_ptr_array_unref);

  /* The server carrier got the fork request and accepted it. */
  run_until (f->loop, &f->n_incoming, 2);
  server2 = f->accepted->pdata[1];
  g_assert_true (server2 != server);
  g_assert_true (inet_address_equal (post_carrier_get_remote_address (server2),
                                     post_carrier_get_local_address (f->forked)));

  /* Messages flow on the forked pair, both ways. */
  {
    g_autoptr(GBytes) ping = g_bytes_new_static ("ping", 4);

    g_assert_true (post_carrier_send_bytes (f->forked, ping, &error));
    g_assert_no_error (error);
  }
  post_carrier_receive_async (server2, NULL, received_cb, f);
  run_until (f->loop, &f->n_received, 1);
  assert_received (f, "ping");

  {
    g_autoptr(PostMessage) pong = post_message_new_from_string ("pong");

    g_assert_true (post_carrier_send (server2, pong, &error));
    g_assert_no_error (error);
  }
  post_carrier_receive_async (f->forked, NULL, received_cb, f);
  run_until (f->loop, &f->n_received, 2);
  assert_received (f, "pong");

  /* The original pair still works, independently. */
  {
    g_autoptr(PostMessage) hello = post_message_new_from_string ("original");

    g_assert_true (post_carrier_send (client, hello, &error));
    g_assert_no_error (error);
  }
  post_carrier_receive_async (server, NULL, received_cb, f);
  run_until (f->loop, &f->n_received, 3);
  assert_received (f, "original");

  /* The accepted side forks too: the client opens the transport, and
   * the client carrier receives the fork request. */
  g_signal_connect (client, "incoming", G_CALLBACK (on_incoming), f);
  post_carrier_fork_async (server, NULL, forked_cb, f);
  run_until (f->loop, &f->n_forked, 3);
  g_assert_no_error (f->fork_error);
  g_assert_nonnull (f->forked);
  run_until (f->loop, &f->n_incoming, 3);
  g_assert_true (post_carrier_get_association (f->forked) == post_carrier_get_association (server));
  g_assert_true (post_carrier_get_association (f->accepted->pdata[2]) == association);
  g_assert_true (inet_address_equal (post_carrier_get_local_address (f->accepted->pdata[2]),
                                     post_carrier_get_remote_address (f->forked)));

  g_signal_handlers_disconnect_by_data (association, f);
}

/* Roles that cannot fork: post_carrier_fork_async() documents
 * POST_ERROR_NOT_SUPPORTED for sources, sinks, responders and listeners. */
static void
test_fork_unsupported_roles (Fixture       *f,
                             gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PostCarrier) source = track (f, post_carrier_new_source (NULL, f->remote, NULL));
  g_autoptr(PostCarrier) sink = NULL;
  struct { PostCarrier *carrier; const char *what; } cases[3];

  sink = post_carrier_new_sink (NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  track (f, sink);
  cases[0].carrier = source;    cases[0].what = "source";
  cases[1].carrier = sink;      cases[1].what = "sink";
  cases[2].carrier = f->listener; cases[2].what = "listener";

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      guint before = f->n_forked;

      post_carrier_fork_async (cases[i].carrier, NULL, forked_cb, f);
      run_until (f->loop, &f->n_forked, before + 1);
      g_assert_null (f->forked);
      g_assert_nonnull (f->fork_error);
      g_assert_true (f->fork_error->domain == POST_ERROR);
      g_test_message ("%s fork: %s", cases[i].what, f->fork_error->message);
      g_assert_error (f->fork_error, POST_ERROR, POST_ERROR_WRONG_ROLE);
    }
}

/* ---- session tickets and the security identity ------------------------------- */

static char *cache_dir;  /* XDG_CACHE_HOME of the process */

static void
set_psk (PostAssociation *association,
         const char      *identity,
         const char      *key)
{
  g_autoptr(GBytes) bytes = key != NULL ? g_bytes_new_static (key, strlen (key)) : NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (post_association_set_pre_shared_key (association, identity, bytes, &error));
  g_assert_no_error (error);
}

/* A ticket serves the security identity it was stored under: another key or
 * identity on the same association (or none) does not see it, the first
 * one does again. */
static void
test_ticket_identity (void)
{
  g_autoptr(PostRemote) remote = post_remote_new_from_uri ("tls://127.0.0.1:4433", NULL);
  g_autoptr(PostAssociation) association = post_association_new (NULL, remote, NULL);
  g_autoptr(GBytes) ticket = g_bytes_new_static ("opaque ticket", 13);
  gint64 expiry = g_get_real_time () / G_USEC_PER_SEC + 600;

  set_psk (association, "client-a", "0123456789abcdef0123456789abcdef");
  post_association_add_session_ticket (association, ticket, expiry);
  g_assert_cmpuint (post_association_get_session_ticket_count (association), ==, 1);
  set_psk (association, "client-a", "fedcba9876543210fedcba9876543210");
  g_assert_cmpuint (post_association_get_session_ticket_count (association), ==, 0);
  g_assert_null (post_association_take_session_ticket (association));
  set_psk (association, "client-b", "0123456789abcdef0123456789abcdef");
  g_assert_cmpuint (post_association_get_session_ticket_count (association), ==, 0);
  set_psk (association, NULL, NULL);
  g_assert_cmpuint (post_association_get_session_ticket_count (association), ==, 0);
  set_psk (association, "client-a", "0123456789abcdef0123456789abcdef");
  g_assert_cmpuint (post_association_get_session_ticket_count (association), ==, 1);
  post_association_forget_session_tickets (association);
  g_assert_cmpuint (post_association_get_session_ticket_count (association), ==, 0);
}

/* The disk cache: its directory, its secret and its ticket files are the
 * user's only, and no file name or content holds the key. */
static void
test_ticket_disk_cache (void)
{
  static const char key[] = "0123456789abcdef0123456789abcdef";
  g_autoptr(PostRemote) remote = post_remote_new_from_uri ("tls://127.0.0.1:4434", NULL);
  g_autoptr(PostConfiguration) config = post_configuration_new ();
  g_autoptr(PostAssociation) association = NULL;
  g_autoptr(GBytes) ticket = g_bytes_new_static ("opaque ticket", 13);
  g_autofree char *dir = g_build_filename (cache_dir, "libpost", "sessions", NULL);
  g_autoptr(GDir) listing = NULL;
  const char *name;
  guint n_files = 0;
  struct stat st;

  g_assert_true (post_configuration_set_option (config, "tls.session-cache", g_variant_new_string ("disk"), NULL));
  association = post_association_new (NULL, remote, config);
  set_psk (association, "client-a", key);
  post_association_add_session_ticket (association, ticket, g_get_real_time () / G_USEC_PER_SEC + 600);
  g_assert_cmpuint (post_association_get_session_ticket_count (association), ==, 1);

  g_assert_cmpint (g_stat (dir, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);
  listing = g_dir_open (dir, 0, NULL);
  g_assert_nonnull (listing);
  while ((name = g_dir_read_name (listing)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_autofree char *contents = NULL;
      gsize length;

      n_files++;
      g_assert_cmpint (g_stat (path, &st), ==, 0);
      g_assert_cmpint (st.st_mode & 0777, ==, 0600);
      g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
      g_assert_null (g_strstr_len (contents, length, key));
      g_assert_null (strstr (name, "client-a"));
    }
  g_assert_cmpuint (n_files, ==, 2);  /* the secret and one ticket file */
  post_association_forget_session_tickets (association);
}

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR))
        remove_tree (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  /* The session cache goes to a private directory (removed at the end). */
  cache_dir = g_dir_make_tmp ("test-association-XXXXXX", NULL);
  g_assert_nonnull (cache_dir);
  g_setenv ("XDG_CACHE_HOME", cache_dir, TRUE);
  g_assert_cmpstr (g_get_user_cache_dir (), ==, cache_dir);

  g_test_add ("/association/explicit", Fixture, NULL,
              fixture_setup, test_explicit, fixture_teardown);
  g_test_add ("/association/implicit-sharing", Fixture, NULL,
              fixture_setup, test_implicit_sharing, fixture_teardown);
  g_test_add ("/association/initiate-joins-explicit", Fixture, NULL,
              fixture_setup, test_initiate_joins_explicit, fixture_teardown);
  g_test_add ("/association/fork", Fixture, NULL,
              fixture_setup, test_fork, fixture_teardown);
  g_test_add ("/association/fork-unsupported-roles", Fixture, NULL,
              fixture_setup, test_fork_unsupported_roles, fixture_teardown);
  g_test_add_func ("/association/ticket-identity", test_ticket_identity);
  g_test_add_func ("/association/ticket-disk-cache", test_ticket_disk_cache);

  ret = g_test_run ();
  remove_tree (cache_dir);
  g_free (cache_dir);
  return ret;
}
