/* fuzz-merge.c: the merge semantics, against the reference model
 *
 * The input is a program: each byte chooses an action (dump an op of some
 * kind, compact, reopen the logger), and the following bytes its
 * operands, drawn from a few keys, sub keys, values and configurations so
 * that ops meet. Every op dumped goes to the reference model of the tests
 * as well, and at the end a replay (before and after a last compaction,
 * and after reopening) must rebuild exactly the model's state. A last
 * compaction of a logger that is not recording leaves one snapshot, which
 * must hold its configurations first, the global one before those of
 * keys.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "fuzz-common.h"
#include "plog-test-model.h"

#include <string.h>

typedef struct
{
  const unsigned char *data;
  size_t size;
} Input;

static guint
take (Input *in)
{
  guint c;

  if (in->size == 0)
    return 0;
  c = in->data[0];
  in->data++;
  in->size--;
  return c;
}

/* NULL, an empty name or one of three. */
static GBytes *
take_name (Input      *in,
           const char *prefix)
{
  guint c = take (in) % 5;

  if (c == 0)
    return NULL;
  if (c == 1)
    return g_bytes_new (NULL, 0);
  return g_bytes_new_take (g_strdup_printf ("%s%u", prefix, c - 2), strlen (prefix) + 1);
}

static GBytes *
take_value (Input *in)
{
  guint len = take (in) % 6;
  guint8 buf[5];

  if (len == 5)
    return NULL;
  for (guint i = 0; i < len; i++)
    buf[i] = take (in);
  return g_bytes_new (buf, len);
}

static GHashTable *
take_configuration (Input *in)
{
  static const char * const names[] = { "a", "b", "c" };
  static const char * const values[] = { "x", "", "z" };
  GHashTable *configuration = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  guint bits = take (in);

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    if (bits & (1u << i))
      g_hash_table_insert (configuration, g_strdup (names[i]),
                           g_strdup (values[(bits >> (3 + i)) % 3]));
  return configuration;
}

static PlogOp *
take_op (Input *in,
         guint  kind)
{
  g_autoptr(GBytes) key = take_name (in, "k");
  gint64 timestamp = (gint64) take (in) - 128;

  switch (kind)
    {
    case 0:
      {
        g_autoptr(GBytes) value = take_value (in);
        return plog_op_new_put (key, value, timestamp);
      }
    case 1:
      {
        g_autoptr(GBytes) sub_key = take_name (in, "s");
        g_autoptr(GBytes) value = take_value (in);
        return plog_op_new_sub_put (key, sub_key, value, timestamp);
      }
    case 2:
      return plog_op_new_delete (key);
    case 3:
      {
        g_autoptr(GBytes) sub_key = take_name (in, "s");
        return plog_op_new_sub_delete (key, sub_key);
      }
    case 4:
      return plog_op_new_clear (key, timestamp);
    case 5:
      {
        g_autoptr(GHashTable) configuration = take_configuration (in);
        return plog_op_new_configure (key, configuration, timestamp);
      }
    default:
      {
        /* Any combination of fields, as plog_op_new() takes them. */
        guint flags = take (in);
        g_autoptr(GBytes) sub_key = take_name (in, "s");
        g_autoptr(GBytes) value = take_value (in);
        g_autoptr(GHashTable) configuration = (flags & 4) ? take_configuration (in) : NULL;

        return plog_op_new (key, sub_key, value, timestamp, flags & 1, flags & 2,
                            configuration);
      }
    }
}

static PlogLogger *
open_logger (const char *dir,
             gint64      max_size)
{
  g_autoptr(GError) error = NULL;
  PlogLogger *logger = plog_logger_new (dir, &error);

  g_assert_no_error (error);
  plog_logger_set_sync_mode (logger, PLOG_SYNC_MODE_NONE);
  plog_logger_limit (logger, max_size);
  return logger;
}

static void
close_logger (PlogLogger **logger)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (plog_logger_close (*logger, &error));
  g_assert_no_error (error);
  g_clear_object (logger);
}

static void
assert_state (PlogTestModel *expected,
              PlogLogger    *logger,
              const char    *where)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PlogTestModel) got = NULL;
  g_autoptr(GPtrArray) ops = NULL;

  /* Automatic compactions may land between two replays: past max-size,
   * and at a record that finds many files. */
  ops = fuzz_replay_every_way (logger, FALSE, &error);
  g_assert_no_error (error);
  got = plog_test_model_new_from_ops (ops);
  plog_test_model_assert_equal (expected, got, where);
}

/* After a compaction of a logger that is not recording, the replay is one
 * snapshot: the global configuration, then those of keys, then the rest. */
static void
assert_snapshot_order (PlogLogger *logger)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) ops = fuzz_replay_every_way (logger, TRUE, &error);
  gboolean past_configurations = FALSE;

  g_assert_no_error (error);
  for (guint i = 0; i < ops->len; i++)
    {
      PlogOp *op = ops->pdata[i];

      if (plog_op_get_kind (op) != PLOG_OP_KIND_CONFIGURE)
        past_configurations = TRUE;
      else
        {
          g_assert_false (past_configurations);
          if (plog_op_get_key (op) == NULL)
            g_assert_cmpuint (i, ==, 0);
        }
    }
}

int
LLVMFuzzerTestOneInput (const unsigned char *data,
                        size_t               size)
{
  g_autofree char *dir = fuzz_make_dir ();
  g_autoptr(PlogTestModel) model = plog_test_model_new ();
  g_autoptr(PlogLogger) logger = NULL;
  g_autoptr(GError) error = NULL;
  Input in = { data, size };
  /* Small enough that automatic compactions run, in one input of two. */
  gint64 max_size = (take (&in) & 1) ? 512 : 0;

  logger = open_logger (dir, max_size);
  g_assert_true (plog_logger_record (logger, &error));
  g_assert_no_error (error);

  while (in.size > 0)
    {
      guint action = take (&in) % 10;

      if (action < 7)
        {
          g_autoptr(PlogOp) op = take_op (&in, action);

          g_assert_true (plog_logger_dump (logger, op, &error));
          g_assert_no_error (error);
          plog_test_model_apply (model, op);
        }
      else if (action == 7)
        {
          g_assert_true (fuzz_compact (logger, &error));
          g_assert_no_error (error);
        }
      else if (action == 8)
        {
          assert_state (model, logger, "a replay while recording");
        }
      else
        {
          close_logger (&logger);
          logger = open_logger (dir, max_size);
          assert_state (model, logger, "a replay after reopening");
          g_assert_true (plog_logger_record (logger, &error));
          g_assert_no_error (error);
        }
    }

  g_assert_true (plog_logger_stop (logger, &error));
  g_assert_no_error (error);
  assert_state (model, logger, "a replay after stop");
  g_assert_true (fuzz_compact (logger, &error));
  g_assert_no_error (error);
  assert_state (model, logger, "a replay after the last compaction");
  assert_snapshot_order (logger);

  close_logger (&logger);
  logger = open_logger (dir, max_size);
  assert_state (model, logger, "a replay of the directory opened again");
  close_logger (&logger);

  fuzz_remove_dir (dir);
  return 0;
}
