/* contract-framing.c: framers on byte-stream stacks (docs/framing.md)
 *
 * framing/random-chunking: every framer libpost ships (the length-prefix
 * framer), a stack of two, a framer that carries metadata (the tests'
 * TestTagFramer) and that framer stacked on the length-prefix framer,
 * each receiving its framed bytes as a sender in stream mode wrote them:
 * in pieces of random size (the first ones a byte each), each written on
 * its own before the next is given, so that the receiver reads the frames
 * cut anywhere.  Messages, their parts and their metadata must come out
 * exactly as they went in.  A message stack keeps its own boundaries:
 * framers do not apply, which the case checks (and reports).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "post-contract.h"
#include "post-test-framers.h"

#include <string.h>

#define FRAMING_SEED    0xf4a3e5u
#define ONE_BYTE_PIECES 48
#define MAX_PIECE       1500

/* A configuration of @base (transfer full) with the framers @types. */
static PostConfiguration *
with_framers (PostConfiguration *base,
              const GType       *types)
{
  g_assert_true (post_configuration_set_framer_type (base, types[0], NULL));
  for (guint i = 1; types[i] != G_TYPE_INVALID; i++)
    g_assert_true (post_configuration_add_framer_type (base, types[i], NULL));
  return base;
}

static void
send_piece (PostCarrier  *client,
            PostMessage  *stream,
            const guint8 *data,
            gsize         size,
            gboolean      last)
{
  g_autoptr(GBytes) piece = g_bytes_new (data, size);
  g_autoptr(GError) error = NULL;
  PostContractAsync a = { 0 };

  post_carrier_send_partial_async (client, stream, piece, last, NULL, post_contract_async_cb, &a);
  post_contract_async_wait (&a, 5000, "a piece of the framed bytes");
  g_assert_true (post_carrier_send_partial_finish (client, a.result, &error));
  g_assert_no_error (error);
  post_contract_async_clear (&a);
}

static void
check_chunked_over_stack (const GType *types,
                          gboolean     tagged,
                          GRand       *rand)
{
  PostContractPeer peer = { .echo = FALSE };
  g_autoptr(PostConfiguration) sender = post_contract_config ();
  g_autoptr(PostConfiguration) framing = with_framers (post_contract_config (), types);
  g_autoptr(PostFramer) encoder = post_configuration_create_framer (framing);
  g_autoptr(GPtrArray) messages = post_test_framers_messages (rand, 10, 2500, tagged);
  g_autoptr(GByteArray) wire = post_test_framers_encode (encoder, messages, TRUE);
  g_autoptr(PostConfiguration) server = with_framers (post_contract_server_config (), types);
  g_autoptr(PostMessage) stream = post_message_new (NULL);
  g_autoptr(PostCarrier) client = NULL;
  gsize offset = 0;
  guint n_pieces = 0;
  guint n_framers = 0;

  while (types[n_framers] != G_TYPE_INVALID)
    n_framers++;
  post_contract_peer_start (&peer, server);
  /* The sender writes the framed bytes as they are (stream mode). */
  g_assert_true (post_configuration_set_framing (sender, POST_FRAMING_STREAM, NULL));
  client = post_contract_initiate (peer.listener, sender);
  post_contract_establish (client, 5000);

  while (offset < wire->len)
    {
      gsize piece = n_pieces < ONE_BYTE_PIECES ? 1 : (gsize) g_rand_int_range (rand, 1, MAX_PIECE + 1);

      piece = MIN (piece, wire->len - offset);
      send_piece (client, stream, wire->data + offset, piece, offset + piece == wire->len);
      offset += piece;
      n_pieces++;
    }
  post_contract_wait_count (&peer.n_received, messages->len, 10000, "the deframed messages");
  post_contract_spin (50);
  g_assert_cmpuint (peer.n_received, ==, messages->len);
  for (guint i = 0; i < messages->len; i++)
    {
      PostMessage *got = peer.messages->pdata[i];

      g_assert_true (post_message_is_complete (got));
      post_test_framers_assert_same (messages->pdata[i], post_message_get_content (got),
                                     post_message_get_metadata (got));
    }
  g_test_message ("%s: %u framers, %u messages in %u bytes written in %u pieces",
                  post_contract_stack ()->name, n_framers, messages->len,
                  wire->len, n_pieces);

  post_carrier_abort (client);
  post_contract_peer_stop (&peer);
}

/* On a message stack the framers are not used: each message arrives as
 * it was sent, with no metadata. */
static void
check_message_stack (void)
{
  PostContractPeer peer = { .echo = FALSE };
  GType types[] = { POST_TYPE_LENGTH_PREFIX_FRAMER, TEST_TYPE_TAG_FRAMER, G_TYPE_INVALID };
  g_autoptr(PostConfiguration) server = with_framers (post_contract_server_config (), types);
  g_autoptr(PostConfiguration) config = with_framers (post_contract_config (), types);
  g_autoptr(PostCarrier) client = NULL;
  static const char *texts[] = { "first", "second", "third" };
  g_autoptr(GError) error = NULL;

  post_contract_peer_start (&peer, server);
  client = post_contract_initiate (peer.listener, config);
  for (guint i = 0; i < G_N_ELEMENTS (texts); i++)
    {
      g_autoptr(PostMessage) message = post_message_new_from_string (texts[i]);

      g_assert_true (post_message_set_metadata (message, g_variant_new_parsed ("{'n': <%u>}", i),
                                                &error));
      g_assert_true (post_carrier_send (client, message, &error));
      g_assert_no_error (error);
    }
  post_contract_wait_count (&peer.n_received, G_N_ELEMENTS (texts), 5000, "the messages");
  for (guint i = 0; i < G_N_ELEMENTS (texts); i++)
    {
      GBytes *content = post_message_get_content (peer.messages->pdata[i]);

      g_assert_cmpmem (g_bytes_get_data (content, NULL), g_bytes_get_size (content),
                       texts[i], strlen (texts[i]));
      g_assert_null (post_message_get_metadata (peer.messages->pdata[i]));
    }
  post_carrier_abort (client);
  post_contract_peer_stop (&peer);
}

static void
test_random_chunking (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (FRAMING_SEED);
  GType lp = POST_TYPE_LENGTH_PREFIX_FRAMER, tag = TEST_TYPE_TAG_FRAMER;
  const GType stacks[][3] = {
    { lp, G_TYPE_INVALID },
    { lp, lp, G_TYPE_INVALID },
    { tag, G_TYPE_INVALID },
    { lp, tag, G_TYPE_INVALID },
  };

  if (!post_contract_has (POST_STACK_CAP_BYTE_STREAM))
    {
      check_message_stack ();
      post_contract_unsupported ("no POST_STACK_CAP_BYTE_STREAM: messages keep the stack's own "
                                 "boundaries and framers do not apply; checked that with a "
                                 "stack of framers configured each message arrives as sent, "
                                 "without metadata");
      return;
    }
  /* The sender writes in stream mode, which needs a half close; every
   * byte stream has one (docs/plugins.md). */
  g_assert_true (post_contract_has (POST_STACK_CAP_HALF_CLOSE));
  for (guint i = 0; i < G_N_ELEMENTS (stacks); i++)
    check_chunked_over_stack (stacks[i], stacks[i][0] == tag || stacks[i][1] == tag, rand);
}

void
post_contract_add_framing_cases (void)
{
  post_contract_add ("framing/random-chunking", test_random_chunking);
}
