/* post-http-client.c: PostHttpClient, HTTP requests over whichever stack wins
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * One carrier to the remote, established on the first request.  Its
 * configuration is the application's in stream framing, with framing by
 * ALPN (_post_configuration_set_alpn_framing()): a transport that
 * negotiated `http/1.1`, or none (tcp), gets PostHttpFramer; one that
 * negotiated `h3` (quic) keeps stream framing, which PostHttp3Session
 * needs; and the ALPN ids an https:// remote implies are narrowed to those
 * (tls offers http/1.1 alone: there is no h2 here).  Once the race is won,
 * the negotiated ALPN chooses: h3 starts a PostHttp3Session on the carrier,
 * anything else speaks HTTP/1.1 on it, one exchange at a time.
 *
 * HTTP/1.1: request_async sends the request, then receives the response's
 * first part (partial receives: its metadata is the head); the part is
 * kept for the first read_body.  The next request is sent once that body
 * has been read to its end.  HTTP/3: the session answers requests
 * concurrently; request_async completes with a response's head
 * (post_http3_session_request_partial_async()) and read_body takes its
 * body part by part (post_http3_session_receive_partial_async()).
 */
#include "config.h"

#include "post-http-client.h"
#include "post-error.h"
#include "post-http-framer.h"
#include "post-http3-session.h"
#include "post-values-private.h"

#include <string.h>

/**
 * PostHttpClient:
 *
 * HTTP requests to one remote over whichever stack wins the race.
 *
 * An `https://` remote races `tls` with ALPN `http/1.1` against `quic`
 * with ALPN `h3` (an `http://` remote is `tcp`); once a carrier is
 * established, its negotiated ALPN decides between HTTP/1.1
 * ([class@Post.HttpFramer]) and HTTP/3 ([class@Post.Http3Session]), and the
 * application sees the same messages either way:
 *
 * ```c
 * g_autoptr(PostRemote) remote = post_remote_new_from_uri ("https://example.com/", &error);
 * g_autoptr(PostHttpClient) client = post_http_client_new (remote, NULL);
 * g_autoptr(PostMessage) request = post_message_new_from_data ("", 0);
 *
 * post_http_client_request_async (client, request, NULL, on_response, NULL);
 * // on_response: post_http_client_request_finish() gives the response:
 * // http-status, http-headers ... as metadata; then
 * // post_http_client_read_body_async() until end_of_body
 * ```
 *
 * A request is a [class@Post.Message] whose metadata may hold `http-method`
 * (default `GET`), `http-target` (default: the path and query of the
 * remote's URI, else `/`) and `http-headers` (`a(ss)`; a `Host` is added
 * from the remote when there is none); its content is the body.  The
 * response's metadata has `http-status` (`u`), `http-version` (`s`:
 * `HTTP/1.1` or `HTTP/3`), `http-headers` (`a(ss)`) and, over HTTP/1.1,
 * `http-reason` (docs/framing.md).  Its body is read with
 * [method@Post.HttpClient.read_body_async], in parts of at most
 * %POST_HTTP_CLIENT_READ_SIZE bytes, read from the network as they are
 * asked for (over HTTP/1.1 partial receives of the carrier, over HTTP/3
 * the session's partial receives, QUIC flow control holding the server
 * back meanwhile), so a body of any size is never held whole and
 * #PostConfiguration:recv-msg-max-len does not bound it.
 *
 * Over HTTP/1.1 requests are answered one after the other: a request
 * waits until the body of the previous response has been read to its end.
 * Over HTTP/3 they run at once (see [class@Post.Http3Session]).  The connection is not re-established: once
 * it failed or the server closed it, requests fail; make a new client.
 */

typedef enum {
  STATE_IDLE,
  STATE_ESTABLISHING,
  STATE_READY,
  STATE_FAILED,
  STATE_CLOSED,
} State;

struct _PostHttpClient
{
  GObject parent_instance;

  PostRemote        *remote;          /* (owned) */
  PostConfiguration *configuration;   /* (owned) (nullable) the application's */
  PostCarrier       *carrier;         /* (owned) (nullable) */
  PostHttp3Session  *session;         /* (owned) (nullable) HTTP/3 */
  char              *protocol;        /* (owned) (nullable) "http/1.1" or "h3" */
  State              state;
  GError            *error;           /* (owned) (nullable) STATE_FAILED */
  GQueue             waiting;         /* (element-type GTask) requests not sent yet */

  /* HTTP/1.1: one exchange at a time */
  gboolean           exchanging;      /* a request sent, its response head not here yet */
  PostMessage       *response;        /* (owned) (nullable) whose body is being read */
  GBytes            *first_part;      /* (owned) (nullable) received with its head */
  gboolean           first_end;
};

G_DEFINE_FINAL_TYPE (PostHttpClient, post_http_client, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_REMOTE,
  PROP_CONFIGURATION,
  PROP_CARRIER,
  PROP_PROTOCOL,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* What read_body returns */
typedef struct {
  GBytes   *bytes;
  gboolean  end;
} BodyPart;

static void
body_part_free (BodyPart *part)
{
  g_bytes_unref (part->bytes);
  g_free (part);
}

static BodyPart *
body_part_new (GBytes   *bytes,
               gboolean  end)
{
  BodyPart *part = g_new (BodyPart, 1);

  part->bytes = bytes;
  part->end = end;
  return part;
}

static void dispatch (PostHttpClient *self);

/* ---- requests ---------------------------------------------------------------- */

/* "host", "[v6]" or "host:port" (the port unless it is the scheme's) */
static char *
authority_of (PostRemote *remote)
{
  const char *host = post_remote_get_hostname (remote);
  const char *uri = post_remote_get_uri (remote);
  guint16 port = post_remote_get_port (remote);
  gboolean v6 = host != NULL && strchr (host, ':') != NULL;
  gboolean usual = (port == 443 && uri != NULL && g_str_has_prefix (uri, "https:"))
                   || (port == 80 && uri != NULL && g_str_has_prefix (uri, "http:"));
  g_autofree char *name = g_strdup_printf ("%s%s%s", v6 ? "[" : "", host != NULL ? host : "localhost",
                                           v6 ? "]" : "");

  if (port == 0 || usual)
    return g_steal_pointer (&name);
  return g_strdup_printf ("%s:%u", name, port);
}

/* The path and query of the remote's URI, or "/" */
static char *
target_of (PostRemote *remote)
{
  const char *uri = post_remote_get_uri (remote);
  g_autoptr(GUri) parsed = uri != NULL ? g_uri_parse (uri, G_URI_FLAGS_ENCODED, NULL) : NULL;
  const char *path = parsed != NULL ? g_uri_get_path (parsed) : "";
  const char *query = parsed != NULL ? g_uri_get_query (parsed) : NULL;

  return g_strconcat (*path != '\0' ? path : "/", query != NULL ? "?" : "", query, NULL);
}

/* @request with its defaults filled in: a new message, the same content */
static PostMessage *
complete_request (PostHttpClient  *self,
                  PostMessage     *request,
                  GError         **error)
{
  g_autoptr(PostMessage) complete = post_message_new (post_message_get_content (request));
  g_autoptr(GVariant) headers = post_message_lookup_metadata_value (request, "http-headers",
                                                                     G_VARIANT_TYPE ("a(ss)"));
  GVariant *metadata = post_message_get_metadata (request);
  GVariantDict dict;
  GVariantBuilder fields;
  gboolean has_host = FALSE;

  g_variant_dict_init (&dict, metadata);
  if (!g_variant_dict_contains (&dict, "http-method"))
    g_variant_dict_insert (&dict, "http-method", "s", "GET");
  if (!g_variant_dict_contains (&dict, "http-target"))
    {
      g_autofree char *target = target_of (self->remote);

      g_variant_dict_insert (&dict, "http-target", "s", target);
    }
  g_variant_builder_init (&fields, G_VARIANT_TYPE ("a(ss)"));
  if (headers != NULL)
    {
      GVariantIter iter;
      const char *name, *value;

      g_variant_iter_init (&iter, headers);
      while (g_variant_iter_next (&iter, "(&s&s)", &name, &value))
        {
          has_host |= g_ascii_strcasecmp (name, "host") == 0;
          g_variant_builder_add (&fields, "(ss)", name, value);
        }
    }
  if (!has_host)
    {
      g_autofree char *authority = authority_of (self->remote);

      g_variant_builder_add (&fields, "(ss)", "Host", authority);
    }
  g_variant_dict_insert_value (&dict, "http-headers", g_variant_builder_end (&fields));
  if (!post_message_set_metadata (complete, g_variant_dict_end (&dict), error))
    return NULL;
  return g_steal_pointer (&complete);
}

static void
fail_waiting (PostHttpClient *self,
              const GError   *error)
{
  GTask *task;

  while ((task = g_queue_pop_head (&self->waiting)) != NULL)
    {
      g_task_return_error (task, g_error_copy (error));
      g_object_unref (task);
    }
}

static void
fail (PostHttpClient *self,
      const GError   *error)
{
  if (self->state != STATE_CLOSED)
    {
      self->state = STATE_FAILED;
      if (self->error == NULL)
        self->error = g_error_copy (error);
    }
  fail_waiting (self, error);
}

/* ---- HTTP/3 --------------------------------------------------------------------- */

static void
on_h3_response (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;
  PostMessage *response = post_http3_session_request_partial_finish (POST_HTTP3_SESSION (source), result,
                                                                     &error);

  if (response == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, response, g_object_unref);
}

static void
on_h3_body_part (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;
  gboolean end = FALSE;
  GBytes *part = post_http3_session_receive_partial_finish (POST_HTTP3_SESSION (source), result, &end, &error);

  if (part == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, body_part_new (part, end), (GDestroyNotify) body_part_free);
}

/* ---- HTTP/1.1 ------------------------------------------------------------------- */

static void
on_h1_sent (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(GError) error = NULL;

  /* The pending receive then fails too, and fails the exchange */
  if (!post_carrier_send_finish (POST_CARRIER (source), result, &error)
      && post_carrier_get_state (POST_CARRIER (source)) != POST_CARRIER_STATE_CLOSED)
    post_carrier_abort (POST_CARRIER (source));
}

static void
on_h1_head (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  PostHttpClient *self = g_task_get_source_object (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(PostMessage) message = NULL;
  gboolean end = FALSE;
  g_autoptr(GBytes) part = post_carrier_receive_partial_finish (POST_CARRIER (source), result,
                                                                &message, &end, &error);
  guint status = 0;

  if (part == NULL)
    {
      self->exchanging = FALSE;
      g_task_return_error (task, g_error_copy (error));
      fail (self, error);
      return;
    }
  post_message_lookup_metadata (message, "http-status", "u", &status);
  if (status < 200)
    {
      /* An interim response (100 Continue, 103): the final one follows */
      post_carrier_receive_partial_async (self->carrier, 1, POST_HTTP_CLIENT_READ_SIZE,
                                          g_task_get_cancellable (task), on_h1_head,
                                          g_steal_pointer (&task));
      return;
    }
  self->exchanging = FALSE;
  g_set_object (&self->response, message);
  g_clear_pointer (&self->first_part, g_bytes_unref);
  self->first_part = g_steal_pointer (&part);
  self->first_end = end;
  g_task_return_pointer (task, g_steal_pointer (&message), g_object_unref);
}

/* The current response's body has been read to its end: the next exchange */
static void
body_done (PostHttpClient *self)
{
  g_clear_object (&self->response);
  g_clear_pointer (&self->first_part, g_bytes_unref);
  dispatch (self);
}

static void
on_body_part (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  PostHttpClient *self = g_task_get_source_object (task);
  GError *error = NULL;
  gboolean end = FALSE;
  GBytes *part = post_carrier_receive_partial_finish (POST_CARRIER (source), result, NULL, &end, &error);

  if (part == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  g_task_return_pointer (task, body_part_new (part, end), (GDestroyNotify) body_part_free);
  if (end)
    body_done (self);
}

/* ---- dispatching ---------------------------------------------------------------- */

static void
dispatch (PostHttpClient *self)
{
  while (self->state == STATE_READY && !g_queue_is_empty (&self->waiting)
         && (self->session != NULL || (!self->exchanging && self->response == NULL)))
    {
      g_autoptr(GTask) task = g_queue_pop_head (&self->waiting);
      g_autoptr(GError) error = NULL;
      g_autoptr(PostMessage) request = NULL;
      GCancellable *cancellable = g_task_get_cancellable (task);

      if (g_task_return_error_if_cancelled (task))
        continue;
      request = complete_request (self, g_task_get_task_data (task), &error);
      if (request == NULL)
        {
          g_task_return_error (task, g_steal_pointer (&error));
          continue;
        }
      if (self->session != NULL)
        {
          post_http3_session_request_partial_async (self->session, request, cancellable, on_h3_response,
                                                    g_steal_pointer (&task));
          continue;
        }
      self->exchanging = TRUE;
      post_carrier_send_async (self->carrier, request, cancellable, on_h1_sent, NULL);
      post_carrier_receive_partial_async (self->carrier, 1, POST_HTTP_CLIENT_READ_SIZE, cancellable,
                                          on_h1_head, g_steal_pointer (&task));
    }
}

static void
on_established (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(PostHttpClient) self = user_data;
  g_autoptr(GError) error = NULL;
  const char *alpn;

  if (self->state != STATE_ESTABLISHING)
    return;    /* closed meanwhile */
  if (!post_carrier_establish_finish (POST_CARRIER (source), result, &error))
    {
      fail (self, error);
      return;
    }
  alpn = post_carrier_get_negotiated_protocol (self->carrier);
  if (g_strcmp0 (alpn, "h3") == 0)
    {
      self->session = post_http3_session_new (self->carrier, &error);
      if (self->session == NULL)
        {
          fail (self, error);
          return;
        }
    }
  else if (alpn != NULL && strcmp (alpn, "http/1.1") != 0)
    {
      g_set_error (&error, POST_ERROR, POST_ERROR_NOT_SUPPORTED,
                   "The server chose the ALPN protocol %s over %s; PostHttpClient speaks http/1.1 and h3",
                   alpn, post_carrier_get_stack_name (self->carrier));
      post_carrier_abort (self->carrier);
      fail (self, error);
      return;
    }
  self->protocol = g_strdup (self->session != NULL ? "h3" : "http/1.1");
  self->state = STATE_READY;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PROTOCOL]);
  dispatch (self);
}

/* The configuration of the carrier: the application's (or the default), in
 * stream framing, with HTTP/1.1 or HTTP/3 framing chosen by ALPN. */
static PostConfiguration *
carrier_configuration (PostHttpClient *self)
{
  g_autoptr(PostConfiguration) configuration = self->configuration != NULL
                                               ? post_configuration_copy (self->configuration)
                                               : post_configuration_new ();

  post_configuration_set_framing (configuration, POST_FRAMING_STREAM, NULL);
  _post_configuration_set_alpn_framing (configuration, "http/1.1", POST_TYPE_HTTP_FRAMER);
  _post_configuration_set_alpn_framing (configuration, "", POST_TYPE_HTTP_FRAMER);
  _post_configuration_set_alpn_framing (configuration, "h3", G_TYPE_NONE);
  post_configuration_freeze (configuration);
  return g_steal_pointer (&configuration);
}

static void
establish (PostHttpClient *self)
{
  g_autoptr(PostConfiguration) configuration = carrier_configuration (self);

  self->state = STATE_ESTABLISHING;
  self->carrier = post_carrier_initiate (NULL, self->remote, configuration);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CARRIER]);
  post_carrier_establish_async (self->carrier, NULL, on_established, g_object_ref (self));
}

/**
 * post_http_client_request_async:
 * @self: a #PostHttpClient
 * @request: the request: its metadata the head (`http-method`,
 *   `http-target`, `http-headers`), its content the body
 * @cancellable: (nullable): a #GCancellable
 * @callback: called once the response's head has arrived
 * @user_data: data for @callback
 *
 * Sends @request, establishing the carrier first if this is the first
 * request (the race of the remote's candidates; the negotiated ALPN then
 * chooses HTTP/1.1 or HTTP/3).  Missing `http-method`, `http-target` and
 * `Host` are filled in from the remote (the class description says how);
 * @request itself is not changed.
 */
void
post_http_client_request_async (PostHttpClient      *self,
                                PostMessage         *request,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (POST_IS_HTTP_CLIENT (self));
  g_return_if_fail (POST_IS_MESSAGE (request));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, post_http_client_request_async);
  g_task_set_task_data (task, g_object_ref (request), g_object_unref);
  if (self->state == STATE_FAILED)
    {
      g_task_return_error (task, g_error_copy (self->error));
      return;
    }
  if (self->state == STATE_CLOSED)
    {
      g_task_return_new_error (task, POST_ERROR, POST_ERROR_CLOSED, "The HTTP client is closed");
      return;
    }
  g_queue_push_tail (&self->waiting, g_steal_pointer (&task));
  if (self->state == STATE_IDLE)
    establish (self);
  else
    dispatch (self);
}

/**
 * post_http_client_request_finish:
 * @self: a #PostHttpClient
 * @result: the #GAsyncResult
 * @error: return location for an error
 *
 * The response to a request: its metadata has `http-status`,
 * `http-version`, `http-headers` (and over HTTP/1.1 `http-reason`); read
 * its body with [method@Post.HttpClient.read_body_async].  An interim
 * response (1xx) is skipped.  A status of 4xx or 5xx is a response like
 * any other, not an error.
 *
 * Returns: (transfer full): the response, or %NULL with @error set
 */
PostMessage *
post_http_client_request_finish (PostHttpClient  *self,
                                 GAsyncResult    *result,
                                 GError         **error)
{
  g_return_val_if_fail (POST_IS_HTTP_CLIENT (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == post_http_client_request_async, NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ---- bodies ---------------------------------------------------------------------- */

/**
 * post_http_client_read_body_async:
 * @self: a #PostHttpClient
 * @response: a response [method@Post.HttpClient.request_finish] returned
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the next part of the body
 * @user_data: data for @callback
 *
 * Reads the next part of @response's body, at most
 * %POST_HTTP_CLIENT_READ_SIZE bytes; the part that ends it says so.  Over
 * HTTP/1.1 the part is received from the network now (partial receives of
 * the carrier), and the next request is sent once the body has ended;
 * a read after the end, or of an earlier response, fails with
 * %POST_ERROR_INVALID_ARGUMENT.  Over HTTP/3 the part is the session's
 * partial receive of that response's stream (bodies of concurrent
 * requests are read independently); a stream the server reset fails with
 * %POST_ERROR_CONNECTION_RESET.
 */
void
post_http_client_read_body_async (PostHttpClient      *self,
                                  PostMessage         *response,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (POST_IS_HTTP_CLIENT (self));
  g_return_if_fail (POST_IS_MESSAGE (response));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, post_http_client_read_body_async);
  if (self->session != NULL)
    {
      /* HTTP/3: the session's partial receive; the stream is read as the
       * application takes the parts (QUIC flow control holds the server) */
      post_http3_session_receive_partial_async (self->session, response, POST_HTTP_CLIENT_READ_SIZE,
                                                cancellable, on_h3_body_part, g_steal_pointer (&task));
      return;
    }
  if (response != self->response)
    {
      g_task_return_new_error (task, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                               "This response's body has been read to its end (or it is not "
                               "this client's)");
      return;
    }
  if (self->first_part != NULL)
    {
      gboolean end = self->first_end;

      g_task_return_pointer (task, body_part_new (g_steal_pointer (&self->first_part), end),
                             (GDestroyNotify) body_part_free);
      if (end)
        body_done (self);
      return;
    }
  post_carrier_receive_partial_async (self->carrier, 1, POST_HTTP_CLIENT_READ_SIZE, cancellable,
                                      on_body_part, g_steal_pointer (&task));
}

/**
 * post_http_client_read_body_finish:
 * @self: a #PostHttpClient
 * @result: the #GAsyncResult
 * @end_of_body: (out) (optional): whether this part ends the body
 * @error: return location for an error
 *
 * The next part of a body: empty only when it ends the body (a body of no
 * bytes is one empty part with @end_of_body).
 *
 * Returns: (transfer full): the bytes, or %NULL with @error set
 */
GBytes *
post_http_client_read_body_finish (PostHttpClient  *self,
                                   GAsyncResult    *result,
                                   gboolean        *end_of_body,
                                   GError         **error)
{
  BodyPart *part;
  GBytes *bytes;

  g_return_val_if_fail (POST_IS_HTTP_CLIENT (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == post_http_client_read_body_async, NULL);

  part = g_task_propagate_pointer (G_TASK (result), error);
  if (part == NULL)
    return NULL;
  if (end_of_body != NULL)
    *end_of_body = part->end;
  bytes = g_steal_pointer (&part->bytes);
  g_free (part);
  return bytes;
}

/* ---- the rest ------------------------------------------------------------------- */

/**
 * post_http_client_close:
 * @self: a #PostHttpClient
 *
 * Closes the connection gracefully; requests not sent yet fail with
 * %POST_ERROR_CLOSED, and so does every later one.
 */
void
post_http_client_close (PostHttpClient *self)
{
  g_autoptr(GError) error = NULL;

  g_return_if_fail (POST_IS_HTTP_CLIENT (self));

  if (self->state == STATE_CLOSED)
    return;
  self->state = STATE_CLOSED;
  error = g_error_new_literal (POST_ERROR, POST_ERROR_CLOSED, "The HTTP client is closed");
  fail_waiting (self, error);
  if (self->session != NULL)
    post_http3_session_close (self->session);
  else if (self->carrier != NULL)
    post_carrier_close (self->carrier);
}

/**
 * post_http_client_new:
 * @remote: the server, such as `post_remote_new_from_uri ("https://example.com/", …)`
 * @configuration: (nullable): the application's configuration (trust,
 *   stacks, timeouts ...), or %NULL for the default; its framing is the
 *   client's
 *
 * A client for @remote; nothing is connected before the first request.
 *
 * Returns: (transfer full): the client
 */
PostHttpClient *
post_http_client_new (PostRemote        *remote,
                      PostConfiguration *configuration)
{
  g_return_val_if_fail (POST_IS_REMOTE (remote), NULL);
  g_return_val_if_fail (configuration == NULL || POST_IS_CONFIGURATION (configuration), NULL);

  return g_object_new (POST_TYPE_HTTP_CLIENT, "remote", remote, "configuration", configuration, NULL);
}

/**
 * post_http_client_get_remote:
 * @self: a #PostHttpClient
 *
 * The server the client was made for.
 *
 * Returns: (transfer none): the server
 */
PostRemote *
post_http_client_get_remote (PostHttpClient *self)
{
  g_return_val_if_fail (POST_IS_HTTP_CLIENT (self), NULL);
  return self->remote;
}

/**
 * post_http_client_get_carrier:
 * @self: a #PostHttpClient
 *
 * The carrier to the server, once the first request made one: its stack
 * (post_carrier_get_stack_name()) and negotiated ALPN tell which candidate
 * won.
 *
 * Returns: (transfer none) (nullable): the carrier
 */
PostCarrier *
post_http_client_get_carrier (PostHttpClient *self)
{
  g_return_val_if_fail (POST_IS_HTTP_CLIENT (self), NULL);
  return self->carrier;
}

/**
 * post_http_client_get_protocol:
 * @self: a #PostHttpClient
 *
 * The HTTP the client speaks: `http/1.1` or `h3` (the ALPN ids), once the
 * carrier is established.
 *
 * Returns: (nullable): the protocol, or %NULL before
 */
const char *
post_http_client_get_protocol (PostHttpClient *self)
{
  g_return_val_if_fail (POST_IS_HTTP_CLIENT (self), NULL);
  return self->protocol;
}

static void
post_http_client_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  PostHttpClient *self = POST_HTTP_CLIENT (object);

  switch (prop_id)
    {
    case PROP_REMOTE:
      g_value_set_object (value, self->remote);
      break;
    case PROP_CONFIGURATION:
      g_value_set_object (value, self->configuration);
      break;
    case PROP_CARRIER:
      g_value_set_object (value, self->carrier);
      break;
    case PROP_PROTOCOL:
      g_value_set_string (value, self->protocol);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
post_http_client_set_property (GObject      *object,
                               guint         prop_id,
                               const GValue *value,
                               GParamSpec   *pspec)
{
  PostHttpClient *self = POST_HTTP_CLIENT (object);

  switch (prop_id)
    {
    case PROP_REMOTE:
      self->remote = g_value_dup_object (value);
      break;
    case PROP_CONFIGURATION:
      self->configuration = g_value_dup_object (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
post_http_client_dispose (GObject *object)
{
  PostHttpClient *self = POST_HTTP_CLIENT (object);

  post_http_client_close (self);
  g_clear_object (&self->session);
  g_clear_object (&self->carrier);
  g_clear_object (&self->response);
  g_clear_pointer (&self->first_part, g_bytes_unref);
  G_OBJECT_CLASS (post_http_client_parent_class)->dispose (object);
}

static void
post_http_client_finalize (GObject *object)
{
  PostHttpClient *self = POST_HTTP_CLIENT (object);

  g_clear_object (&self->remote);
  g_clear_object (&self->configuration);
  g_clear_pointer (&self->protocol, g_free);
  g_clear_error (&self->error);
  G_OBJECT_CLASS (post_http_client_parent_class)->finalize (object);
}

static void
post_http_client_class_init (PostHttpClientClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = post_http_client_get_property;
  object_class->set_property = post_http_client_set_property;
  object_class->dispose = post_http_client_dispose;
  object_class->finalize = post_http_client_finalize;

  /**
   * PostHttpClient:remote: (getter get_remote)
   *
   * The server.
   */
  properties[PROP_REMOTE] =
    g_param_spec_object ("remote", NULL, NULL, POST_TYPE_REMOTE,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  /**
   * PostHttpClient:configuration:
   *
   * The application's configuration, or %NULL for the default.  The
   * carrier's is a copy of it in stream framing with the framing chosen
   * by the negotiated ALPN.
   */
  properties[PROP_CONFIGURATION] =
    g_param_spec_object ("configuration", NULL, NULL, POST_TYPE_CONFIGURATION,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  /**
   * PostHttpClient:carrier: (getter get_carrier)
   *
   * The carrier to the server, once the first request made one.
   */
  properties[PROP_CARRIER] =
    g_param_spec_object ("carrier", NULL, NULL, POST_TYPE_CARRIER,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  /**
   * PostHttpClient:protocol: (getter get_protocol)
   *
   * `http/1.1` or `h3` once the carrier is established.
   */
  properties[PROP_PROTOCOL] =
    g_param_spec_string ("protocol", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
post_http_client_init (PostHttpClient *self)
{
  g_queue_init (&self->waiting);
}
