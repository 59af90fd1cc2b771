/* fuzz-common.h: what every libFuzzer target of fuzz/ shares
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <post.h>

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);
int LLVMFuzzerInitialize (int *argc, char ***argv);

/* A finding, whatever the build: abort() so that libFuzzer saves the input */
#define FUZZ_ASSERT(cond) G_STMT_START {                                       \
    if (G_UNLIKELY (!(cond)))                                                  \
      {                                                                        \
        g_printerr ("%s:%d: fuzz invariant failed: %s\n", __FILE__, __LINE__, #cond); \
        abort ();                                                              \
      }                                                                        \
  } G_STMT_END

/* Criticals (a g_return_if_fail() reached with fuzzed input) and errors are
 * findings; warnings, messages and debug lines are expected for bad input
 * and only slow the run down. */
static GLogWriterOutput
fuzz_log_writer (GLogLevelFlags   level,
                 const GLogField *fields,
                 gsize            n_fields,
                 gpointer         user_data)
{
  if (level & (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_ERROR))
    {
      g_log_writer_standard_streams (level, fields, n_fields, user_data);
      abort ();
    }
  if (g_getenv ("FUZZ_VERBOSE") != NULL)
    return g_log_writer_standard_streams (level, fields, n_fields, user_data);
  return G_LOG_WRITER_HANDLED;
}

static inline void
fuzz_init_logging (void)
{
  g_log_set_writer_func (fuzz_log_writer, NULL, NULL);
}

/* A small deterministic generator, for chunk sizes drawn from the input */
static inline guint32
fuzz_next (guint32 *state)
{
  *state = *state * 1103515245u + 12345u;
  return *state >> 8;
}

/* The initialization of a target that needs nothing but the log writer */
#define FUZZ_DEFINE_DEFAULT_INITIALIZE()                                       \
  int                                                                          \
  LLVMFuzzerInitialize (int    *argc,                                          \
                        char ***argv)                                          \
  {                                                                            \
    fuzz_init_logging ();                                                      \
    return 0;                                                                  \
  }

/* Feeds @pending, empty: PostFramer decoding of @framer until it needs
 * more; returns FALSE once the framer failed.  *in_message tracks whether
 * a message is open. */
typedef gboolean (*FuzzDrainFunc) (PostFramer *framer,
                                   GByteArray *pending,
                                   gboolean    end_of_stream,
                                   gboolean   *in_message);

/* Feeds @size bytes at @data to @framer as a carrier reads them, in chunks
 * of 1 to 64 bytes that @state draws, each drained with @drain, then the
 * end of the stream; a clean end must leave no message open and nothing
 * unread. */
static inline void
fuzz_feed_framer (PostFramer    *framer,
                  const guint8  *data,
                  gsize          size,
                  guint32        state,
                  FuzzDrainFunc  drain)
{
  GByteArray *pending = g_byte_array_new ();
  gboolean in_message = FALSE;
  gsize offset = 0;

  while (offset < size)
    {
      gsize want = 1 + fuzz_next (&state) % 64;   /* MIN() evaluates twice */
      gsize n = MIN (size - offset, want);

      g_byte_array_append (pending, data + offset, n);
      offset += n;
      if (!drain (framer, pending, FALSE, &in_message))
        {
          g_byte_array_unref (pending);
          return;
        }
    }
  if (drain (framer, pending, TRUE, &in_message))
    {
      FUZZ_ASSERT (!in_message);
      FUZZ_ASSERT (pending->len == 0);
    }
  g_byte_array_unref (pending);
}

/* A target whose first input byte holds its flags and seeds the chunking:
 * @run (data, size, flags, state) decodes in the chunks @state chooses (0:
 * whole) and returns its transcript; the chunked and the whole transcripts
 * must be equal. */
typedef GString *(*FuzzChunkedRun) (const guint8 *data, gsize size, guint8 flags, guint32 state);

static inline int
fuzz_chunked_equals_whole (const uint8_t  *data,
                           size_t          size,
                           FuzzChunkedRun  run)
{
  GString *chunked, *whole;

  if (size < 1)
    return 0;
  chunked = run (data + 1, size - 1, data[0], data[0] | 0x100);
  whole = run (data + 1, size - 1, data[0], 0);
  FUZZ_ASSERT (g_string_equal (chunked, whole));
  g_string_free (chunked, TRUE);
  g_string_free (whole, TRUE);
  return 0;
}
