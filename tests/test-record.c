/* test-record.c: the private record, segment and state layers
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "plog-crc32c-private.h"
#include "plog-record-batch-private.h"
#include "plog-record-private.h"
#include "plog-state-private.h"
#include "plog-test-util.h"

static void
test_crc32c_vectors (void)
{
  /* RFC 3720, B.4 and the classic check value. */
  guint8 zeros[32] = { 0 };
  guint8 ones[32];

  memset (ones, 0xff, sizeof ones);
  g_assert_cmphex (plog_crc32c (0, "123456789", 9), ==, 0xe3069283);
  g_assert_cmphex (plog_crc32c (0, zeros, sizeof zeros), ==, 0x8a9136aa);
  g_assert_cmphex (plog_crc32c (0, ones, sizeof ones), ==, 0x62a8ab43);
  /* Continuing a CRC gives the CRC of the concatenation. */
  g_assert_cmphex (plog_crc32c (plog_crc32c (0, "12345", 5), "6789", 4), ==, 0xe3069283);
}

/* Bit by bit, straight from the polynomial. */
static guint32
crc32c_reference (const guint8 *data,
                  gsize         len)
{
  guint32 crc = 0xffffffff;

  for (gsize i = 0; i < len; i++)
    {
      crc ^= data[i];
      for (guint bit = 0; bit < 8; bit++)
        crc = (crc >> 1) ^ (0x82f63b78 & (0u - (crc & 1)));
    }
  return ~crc;
}

/* Every length up to a few words past a record's, at every alignment, and
 * split in two: each tail (8, 4, 2 and 1 bytes) of the instruction's
 * path, and the table's path, which only processors without the
 * instruction would take otherwise. */
static void
test_crc32c_lengths (void)
{
  guint8 data[208];
  g_autoptr(GRand) rand = g_rand_new_with_seed (3);

  for (gsize i = 0; i < sizeof data; i++)
    data[i] = g_rand_int (rand);
  for (gsize offset = 0; offset < 8; offset++)
    for (gsize len = 0; offset + len <= sizeof data; len++)
      {
        guint32 expected = crc32c_reference (data + offset, len);
        gsize split = len / 3;

        g_assert_cmphex (plog_crc32c (0, data + offset, len), ==, expected);
        g_assert_cmphex (plog_crc32c (plog_crc32c (0, data + offset, split),
                                      data + offset + split, len - split), ==, expected);
        g_assert_cmphex (plog_crc32c_portable (0, data + offset, len), ==, expected);
        g_assert_cmphex (plog_crc32c_portable (plog_crc32c_portable (0, data + offset, split),
                                               data + offset + split, len - split), ==, expected);
      }
}

static PlogOp *
make_op (guint i)
{
  g_autoptr(GBytes) key = g_bytes_new (&i, sizeof i);
  g_autoptr(GBytes) sub = plog_test_bytes ("sub");
  g_autoptr(GBytes) value = plog_test_bytes ("a value");
  g_autoptr(GHashTable) conf = g_hash_table_new (g_str_hash, g_str_equal);

  g_hash_table_insert (conf, (gpointer) "k", (gpointer) "v");
  g_hash_table_insert (conf, (gpointer) "é", (gpointer) "ü");
  switch (i % 6)
    {
    case 0: return plog_op_new_put (key, value, -(gint64) i);
    case 1: return plog_op_new_sub_put (key, sub, value, G_MAXINT64 - i);
    case 2: return plog_op_new_delete (key);
    case 3: return plog_op_new_sub_delete (key, sub);
    case 4: return plog_op_new_clear (i & 1 ? key : NULL, G_MININT64 + i);
    default: return plog_op_new_configure (i & 1 ? key : NULL, conf, 42);
    }
}

static void
test_record_round_trip (void)
{
  for (guint i = 0; i < 60; i++)
    {
      g_autoptr(PlogOp) op = make_op (i);
      g_autoptr(PlogOp) decoded = NULL;
      gsize size = plog_record_size (op), record_size = 0;
      g_autofree guint8 *buf = g_malloc (size);
      PlogRecordView view;

      g_assert_cmpuint (plog_record_encode (op, buf), ==, size);
      g_assert_cmpint (plog_record_check (buf, size, &record_size, &view), ==, PLOG_RECORD_OK);
      g_assert_cmpuint (record_size, ==, size);
      decoded = plog_record_view_to_op (&view);
      g_assert_true (plog_op_equal (op, decoded));

      /* Every prefix is short, every flipped bit is bad. */
      for (gsize cut = 0; cut < size; cut++)
        g_assert_cmpint (plog_record_check (buf, cut, &record_size, NULL), ==, PLOG_RECORD_SHORT);
      for (gsize bit = 0; bit < size * 8; bit++)
        {
          PlogRecordStatus status;

          buf[bit / 8] ^= 1 << (bit % 8);
          status = plog_record_check (buf, size, &record_size, NULL);
          g_assert_cmpint (status, !=, PLOG_RECORD_OK);
          buf[bit / 8] ^= 1 << (bit % 8);
        }
    }
}

static void
test_record_zeros_are_bad (void)
{
  guint8 zeros[64] = { 0 };
  gsize record_size;

  g_assert_cmpint (plog_record_check (zeros, sizeof zeros, &record_size, NULL), ==, PLOG_RECORD_BAD);
}

/* A record batch keeps copies: the views point into them, not into the
 * buffer the records were read from, which is scribbled over after each
 * add. A record larger than the arena's room gets a block of its own;
 * is_full() says when a record would not fit, and a reset empties the
 * batch for reuse. */
static void
test_record_batch (void)
{
  g_autoptr(PlogRecordBatch) batch = plog_record_batch_new (8, 256);
  g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func ((GDestroyNotify) plog_op_unref);
  gsize used = 0;

  for (guint round = 0; round < 2; round++)
    {
      g_ptr_array_set_size (ops, 0);
      used = 0;
      for (guint i = 0; i < 8; i++)
        {
          /* The fourth op has a 1000-byte value: more than the arena. */
          g_autoptr(GBytes) key = g_bytes_new (&i, sizeof i);
          g_autofree guint8 *data = g_malloc (i == 3 ? 1000 : 10 + i);
          g_autoptr(GBytes) value = NULL;
          PlogOp *op;
          gsize size, record_size;
          g_autofree guint8 *buf = NULL;
          PlogRecordView view;
          gboolean fits;

          memset (data, 'a' + i + round, i == 3 ? 1000 : 10 + i);
          value = g_bytes_new (data, i == 3 ? 1000 : 10 + i);
          op = plog_op_new_put (key, value, i + 1);
          g_ptr_array_add (ops, op);
          size = plog_record_size (op);
          buf = g_malloc (size);
          plog_record_encode (op, buf);
          g_assert_cmpint (plog_record_check (buf, size, &record_size, &view), ==, PLOG_RECORD_OK);

          fits = used + size <= 256;
          g_assert_cmpint (plog_record_batch_is_full (batch, size), ==, !fits);
          plog_record_batch_add (batch, &view, buf, size);
          if (fits)
            used += size;
          g_assert_cmpuint (batch->used, ==, used);
          g_assert_cmpuint (batch->oversize != NULL ? batch->oversize->len : 0, ==, i >= 3 ? 1 : 0);
          /* The source goes away: the batch must not need it. */
          memset (buf, 0xff, size);
        }
      g_assert_cmpuint (batch->n, ==, 8);
      g_assert_true (plog_record_batch_is_full (batch, 1));
      for (guint i = 0; i < batch->n; i++)
        {
          g_autoptr(PlogOp) decoded = plog_record_view_to_op (&batch->views[i]);
          PlogRecordView check;
          gsize record_size;

          g_assert_true (plog_op_equal (decoded, ops->pdata[i]));
          g_assert_cmpint (plog_record_check (batch->records[i], batch->sizes[i], &record_size, &check),
                           ==, PLOG_RECORD_OK);
          g_assert_cmpuint (record_size, ==, batch->sizes[i]);
        }
      plog_record_batch_reset (batch);
      g_assert_cmpuint (batch->n, ==, 0);
      g_assert_cmpuint (batch->used, ==, 0);
      g_assert_cmpuint (batch->oversize->len, ==, 0);
    }
}

static gboolean
count_record (const guint8 *record,
              gsize         record_size,
              gpointer      user_data)
{
  PlogRecordView view;
  gsize size;
  GPtrArray *ops = user_data;

  g_assert_cmpint (plog_record_check (record, record_size, &size, &view), ==, PLOG_RECORD_OK);
  g_ptr_array_add (ops, plog_record_view_to_op (&view));
  return TRUE;
}

static void
apply_op (PlogState *state,
          PlogOp    *op)
{
  gsize size = plog_record_size (op), record_size;
  g_autofree guint8 *buf = g_malloc (size);
  PlogRecordView view;

  plog_record_encode (op, buf);
  g_assert_cmpint (plog_record_check (buf, size, &record_size, &view), ==, PLOG_RECORD_OK);
  plog_state_apply (state, &view, buf, size);
}

static void
test_state_semantics (void)
{
  g_autoptr(PlogState) state = plog_state_new ();
  g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func ((GDestroyNotify) plog_op_unref);
  g_autoptr(GBytes) a = plog_test_bytes ("a");
  g_autoptr(GBytes) b = plog_test_bytes ("b");
  g_autoptr(GBytes) x = plog_test_bytes ("x");
  g_autoptr(GBytes) y = plog_test_bytes ("y");
  g_autoptr(GBytes) v = plog_test_bytes ("v");
  g_autoptr(GHashTable) conf = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GHashTable) empty = g_hash_table_new (g_str_hash, g_str_equal);
  PlogOp *op;

  g_hash_table_insert (conf, (gpointer) "c", (gpointer) "d");
#define APPLY(expr) (op = (expr), apply_op (state, op), plog_op_unref (op))
  APPLY (plog_op_new_put (a, v, 1));
  APPLY (plog_op_new_sub_put (a, x, v, 2));
  APPLY (plog_op_new_sub_put (a, y, v, 3));
  APPLY (plog_op_new_sub_put (b, x, v, 4));
  APPLY (plog_op_new_configure (NULL, conf, 5));
  APPLY (plog_op_new_configure (a, conf, 6));
  g_assert_cmpuint (plog_state_get_size (state), ==, 6);

  /* A clear of a key takes its sub tree, not its value. */
  APPLY (plog_op_new_clear (a, 7));
  g_assert_cmpuint (plog_state_get_size (state), ==, 4);
  /* A sub delete of the last sub value takes the sub tree. */
  APPLY (plog_op_new_sub_delete (b, x));
  g_assert_cmpuint (plog_state_get_size (state), ==, 3);
  /* An empty configuration removes it. */
  APPLY (plog_op_new_configure (a, empty, 8));
  g_assert_cmpuint (plog_state_get_size (state), ==, 2);
  APPLY (plog_op_new_sub_put (b, y, v, 9));
  /* A global clear keeps configurations. */
  APPLY (plog_op_new_clear (NULL, 10));
  g_assert_cmpuint (plog_state_get_size (state), ==, 1);
  APPLY (plog_op_new_put (b, v, 11));
  APPLY (plog_op_new_delete (a));
#undef APPLY

  /* The global configuration, those of keys, then values. */
  plog_state_foreach (state, PLOG_STATE_GLOBAL_CONFIGURATION, count_record, ops);
  plog_state_foreach (state, PLOG_STATE_CONFIGURATIONS, count_record, ops);
  plog_state_foreach (state, PLOG_STATE_VALUES, count_record, ops);
  g_assert_cmpuint (ops->len, ==, 2);
  g_assert_cmpint (plog_op_get_kind (ops->pdata[0]), ==, PLOG_OP_KIND_CONFIGURE);
  g_assert_null (plog_op_get_key (ops->pdata[0]));
  g_assert_cmpint (plog_op_get_timestamp (ops->pdata[0]), ==, 5);
  g_assert_cmpint (plog_op_get_kind (ops->pdata[1]), ==, PLOG_OP_KIND_PUT);
  g_assert_cmpint (plog_op_get_timestamp (ops->pdata[1]), ==, 11);
}

static PlogRecordView
view_of (PlogOp  *op,
         guint8 **buf)
{
  gsize size = plog_record_size (op), record_size;
  PlogRecordView view;

  *buf = g_malloc (size);
  plog_record_encode (op, *buf);
  g_assert_cmpint (plog_record_check (*buf, size, &record_size, &view), ==, PLOG_RECORD_OK);
  return view;
}

/* The delta shadows the base snapshot's records that it set, deleted or
 * cleared, and only those. */
static void
test_state_shadows (void)
{
  g_autoptr(PlogState) delta = plog_state_new ();
  g_autoptr(GBytes) a = plog_test_bytes ("a");
  g_autoptr(GBytes) b = plog_test_bytes ("b");
  g_autoptr(GBytes) c = plog_test_bytes ("c");
  g_autoptr(GBytes) x = plog_test_bytes ("x");
  g_autoptr(GBytes) v = plog_test_bytes ("v");
  g_autoptr(GHashTable) conf = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(PlogOp) base_a = plog_op_new_put (a, v, 1);
  g_autoptr(PlogOp) base_b = plog_op_new_put (b, v, 1);
  g_autoptr(PlogOp) base_ax = plog_op_new_sub_put (a, x, v, 1);
  g_autoptr(PlogOp) base_cx = plog_op_new_sub_put (c, x, v, 1);
  g_autoptr(PlogOp) base_conf = NULL;
  PlogOp *op;
  g_autofree guint8 *b1 = NULL, *b2 = NULL, *b3 = NULL, *b4 = NULL, *b5 = NULL;
  PlogRecordView va, vb, vax, vcx, vconf;

  g_hash_table_insert (conf, (gpointer) "k", (gpointer) "v");
  base_conf = plog_op_new_configure (b, conf, 1);
  va = view_of (base_a, &b1);
  vb = view_of (base_b, &b2);
  vax = view_of (base_ax, &b3);
  vcx = view_of (base_cx, &b4);
  vconf = view_of (base_conf, &b5);

  g_assert_false (plog_state_shadows (delta, &va));
  op = plog_op_new_delete (a);
  apply_op (delta, op);
  plog_op_unref (op);
  g_assert_true (plog_state_shadows (delta, &va));
  g_assert_false (plog_state_shadows (delta, &vb));
  g_assert_false (plog_state_shadows (delta, &vax));
  /* A clear of a key shadows its sub values, not its value. */
  op = plog_op_new_clear (c, 2);
  apply_op (delta, op);
  plog_op_unref (op);
  g_assert_true (plog_state_shadows (delta, &vcx));
  g_assert_false (plog_state_shadows (delta, &vconf));
  /* A global clear shadows every value, no configuration; a tombstone
   * writes nothing. */
  op = plog_op_new_clear (NULL, 3);
  apply_op (delta, op);
  plog_op_unref (op);
  g_assert_true (plog_state_shadows (delta, &vb));
  g_assert_true (plog_state_shadows (delta, &vax));
  g_assert_false (plog_state_shadows (delta, &vconf));
  g_assert_cmpuint (plog_state_get_size (delta), ==, 0);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/crc32c/vectors", test_crc32c_vectors);
  g_test_add_func ("/crc32c/lengths", test_crc32c_lengths);
  g_test_add_func ("/record/round-trip", test_record_round_trip);
  g_test_add_func ("/record/zeros", test_record_zeros_are_bad);
  g_test_add_func ("/record/batch", test_record_batch);
  g_test_add_func ("/state/semantics", test_state_semantics);
  g_test_add_func ("/state/shadows", test_state_shadows);

  return g_test_run ();
}
