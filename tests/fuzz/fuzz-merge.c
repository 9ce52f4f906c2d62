/* fuzz-merge.c: the merge semantics, against the reference model
 *
 * The input is a program: each byte chooses an action (dump an op of some
 * kind, compact, replay, reopen the logger, clear, stop and record
 * again), and the following bytes its
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
#include "plog-test-util.h"

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

typedef struct
{
  char *dir;
  gint64 max_size;
  PlogLogger *logger;
  PlogTestModel *model;
  /* Whether an automatic compaction may land between two replays, which
   * then rebuild the same state from other ops: past max-size, or after
   * a record that found many files. */
  gboolean may_compact;
} Program;

static void
open_logger (Program *p)
{
  g_autoptr(GError) error = NULL;

  p->logger = plog_logger_new (p->dir, &error);
  g_assert_no_error (error);
  plog_logger_set_sync_mode (p->logger, PLOG_SYNC_MODE_NONE);
  plog_logger_limit (p->logger, p->max_size);
}

static void
close_logger (Program *p)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (plog_logger_close (p->logger, &error));
  g_assert_no_error (error);
  g_clear_object (&p->logger);
}

static void
record (Program *p)
{
  g_autoptr(GError) error = NULL;

  /* A record that finds many files asks for a compaction. */
  if (plog_test_count_data_files (p->dir) > 16)
    p->may_compact = TRUE;
  g_assert_true (plog_logger_record (p->logger, &error));
  g_assert_no_error (error);
}

static void
compact (Program *p)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (fuzz_compact (p->logger, &error));
  g_assert_no_error (error);
}

static void
assert_state (Program    *p,
              const char *where)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PlogTestModel) got = NULL;
  g_autoptr(GPtrArray) ops = NULL;

  ops = fuzz_replay_every_way (p->logger, !p->may_compact, &error);
  g_assert_no_error (error);
  got = plog_test_model_new_from_ops (ops);
  plog_test_model_assert_equal (p->model, got, where);
}

/* After a compaction of a logger that is not recording, the directory
 * holds one snapshot and no log, and the snapshot the global
 * configuration, then those of keys, then the rest. */
static void
assert_one_snapshot (Program *p)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) ops = fuzz_replay_every_way (p->logger, TRUE, &error);
  gboolean past_configurations = FALSE;

  g_assert_no_error (error);
  g_assert_cmpuint (plog_test_count_files (p->dir, ".log"), ==, 0);
  g_assert_cmpuint (plog_test_count_files (p->dir, ".snap"), <=, 1);
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
  g_autoptr(GError) error = NULL;
  Input in = { data, size };
  Program p = { 0, };

  fuzz_init ();
  p.dir = fuzz_make_dir ();
  p.model = plog_test_model_new ();
  /* Small enough that automatic compactions run, in one input of two. */
  p.max_size = (take (&in) & 1) ? 512 : 0;
  p.may_compact = p.max_size > 0;

  open_logger (&p);
  record (&p);

  while (in.size > 0)
    {
      guint action = take (&in) % 12;

      if (action < 7)
        {
          g_autoptr(PlogOp) op = take_op (&in, action);

          g_assert_true (plog_logger_dump (p.logger, op, &error));
          g_assert_no_error (error);
          plog_test_model_apply (p.model, op);
        }
      else if (action == 7)
        compact (&p);
      else if (action == 8)
        assert_state (&p, "a replay while recording");
      else if (action == 9)
        {
          close_logger (&p);
          open_logger (&p);
          assert_state (&p, "a replay after reopening");
          record (&p);
        }
      else if (action == 10)
        {
          g_assert_true (plog_logger_clear (p.logger, &error));
          g_assert_no_error (error);
          plog_test_model_free (p.model);
          p.model = plog_test_model_new ();
        }
      else
        {
          g_assert_true (plog_logger_stop (p.logger, &error));
          g_assert_no_error (error);
          record (&p);
        }
    }

  g_assert_true (plog_logger_stop (p.logger, &error));
  g_assert_no_error (error);
  assert_state (&p, "a replay after stop");
  compact (&p);
  assert_state (&p, "a replay after the last compaction");
  assert_one_snapshot (&p);

  close_logger (&p);
  open_logger (&p);
  assert_state (&p, "a replay of the directory opened again");
  close_logger (&p);

  fuzz_remove_dir (p.dir);
  g_free (p.dir);
  plog_test_model_free (p.model);
  return 0;
}
