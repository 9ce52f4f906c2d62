/* test-op.c: PlogOp, the op kinds and the enum GTypes
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <plog.h>
#include <string.h>

#include "plog-test-util.h"

/* Helpers */

static GHashTable *
make_config (const char *first_key,
             ...) G_GNUC_NULL_TERMINATED;

static GHashTable *
make_config (const char *first_key,
             ...)
{
  GHashTable *table = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  const char *key;
  va_list args;

  va_start (args, first_key);
  for (key = first_key; key != NULL; key = va_arg (args, const char *))
    {
      const char *value = va_arg (args, const char *);

      g_hash_table_insert (table, g_strdup (key), g_strdup (value));
    }
  va_end (args);
  return table;
}

static GHashTable *
make_empty_config (void)
{
  return g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
}

/* Asserts that @got holds exactly @expected (NUL-terminated), or is NULL
 * when @expected is NULL. */
static void
assert_bytes_str (GBytes     *got,
                  const char *expected)
{
  if (expected == NULL)
    {
      g_assert_null (got);
      return;
    }
  g_assert_nonnull (got);
  g_assert_cmpmem (g_bytes_get_data (got, NULL), g_bytes_get_size (got),
                   expected, strlen (expected));
}

static void
assert_data_str (const guint8 *data,
                 gsize         length,
                 const char   *expected)
{
  if (expected == NULL)
    {
      g_assert_cmpuint (length, ==, 0);
      return;
    }
  g_assert_nonnull (data);
  g_assert_cmpmem (data, length, expected, strlen (expected));
}

/* Checks every getter of @op against the given fields. */
static void
assert_op (PlogOp     *op,
           const char *key,
           const char *sub_key,
           const char *value,
           gint64      timestamp,
           gboolean    put,
           gboolean    clear,
           GHashTable *configuration,
           PlogOpKind  kind)
{
  const guint8 *data;
  gsize length = 12345;

  g_assert_nonnull (op);
  assert_bytes_str (plog_op_get_key (op), key);
  assert_bytes_str (plog_op_get_sub_key (op), sub_key);
  assert_bytes_str (plog_op_get_value (op), value);

  data = plog_op_get_key_data (op, &length);
  assert_data_str (data, length, key);
  length = 12345;
  data = plog_op_get_sub_key_data (op, &length);
  assert_data_str (data, length, sub_key);
  length = 12345;
  data = plog_op_get_value_data (op, &length);
  assert_data_str (data, length, value);

  g_assert_cmpint (plog_op_get_timestamp (op), ==, timestamp);
  g_assert_cmpint (!!plog_op_get_put (op), ==, !!put);
  g_assert_cmpint (!!plog_op_get_clear (op), ==, !!clear);

  if (configuration == NULL)
    g_assert_null (plog_op_get_configuration (op));
  else
    {
      GHashTable *got = plog_op_get_configuration (op);
      GHashTableIter iter;
      gpointer k, v;

      g_assert_nonnull (got);
      g_assert_cmpuint (g_hash_table_size (got), ==, g_hash_table_size (configuration));
      g_hash_table_iter_init (&iter, configuration);
      while (g_hash_table_iter_next (&iter, &k, &v))
        g_assert_cmpstr (g_hash_table_lookup (got, k), ==, v);
    }

  g_assert_cmpint (plog_op_get_kind (op), ==, kind);
}

/* The kind the notes derive from the fields. */
static PlogOpKind
expected_kind (gboolean has_sub_key,
               gboolean put,
               gboolean clear,
               gboolean has_configuration)
{
  if (has_configuration)
    return PLOG_OP_KIND_CONFIGURE;
  if (put)
    return has_sub_key ? PLOG_OP_KIND_SUB_PUT : PLOG_OP_KIND_PUT;
  if (has_sub_key)
    return PLOG_OP_KIND_SUB_DELETE;
  if (clear)
    return PLOG_OP_KIND_CLEAR;
  return PLOG_OP_KIND_DELETE;
}

/* Constructors */

static void
test_new_put (void)
{
  g_autoptr(GBytes) key = plog_test_bytes ("key");
  g_autoptr(GBytes) value = plog_test_bytes ("value");
  g_autoptr(PlogOp) op = plog_op_new_put (key, value, 1234);
  g_autoptr(PlogOp) no_key = plog_op_new_put (NULL, value, -7);

  assert_op (op, "key", NULL, "value", 1234, TRUE, FALSE, NULL, PLOG_OP_KIND_PUT);
  /* A put with no key sets the value of the empty key: still a put. */
  assert_op (no_key, NULL, NULL, "value", -7, TRUE, FALSE, NULL, PLOG_OP_KIND_PUT);
}

static void
test_new_sub_put (void)
{
  g_autoptr(GBytes) key = plog_test_bytes ("key");
  g_autoptr(GBytes) sub_key = plog_test_bytes ("sub");
  g_autoptr(GBytes) value = plog_test_bytes ("value");
  g_autoptr(PlogOp) op = plog_op_new_sub_put (key, sub_key, value, G_MAXINT64);

  assert_op (op, "key", "sub", "value", G_MAXINT64, TRUE, FALSE, NULL, PLOG_OP_KIND_SUB_PUT);
}

static void
test_new_delete (void)
{
  g_autoptr(GBytes) key = plog_test_bytes ("key");
  g_autoptr(PlogOp) op = plog_op_new_delete (key);
  g_autoptr(PlogOp) no_key = plog_op_new_delete (NULL);

  assert_op (op, "key", NULL, NULL, 0, FALSE, FALSE, NULL, PLOG_OP_KIND_DELETE);
  assert_op (no_key, NULL, NULL, NULL, 0, FALSE, FALSE, NULL, PLOG_OP_KIND_DELETE);
}

static void
test_new_sub_delete (void)
{
  g_autoptr(GBytes) key = plog_test_bytes ("key");
  g_autoptr(GBytes) sub_key = plog_test_bytes ("sub");
  g_autoptr(PlogOp) op = plog_op_new_sub_delete (key, sub_key);

  assert_op (op, "key", "sub", NULL, 0, FALSE, FALSE, NULL, PLOG_OP_KIND_SUB_DELETE);
}

static void
test_new_clear (void)
{
  g_autoptr(GBytes) key = plog_test_bytes ("key");
  g_autoptr(PlogOp) with_key = plog_op_new_clear (key, 99);
  g_autoptr(PlogOp) without_key = plog_op_new_clear (NULL, G_MININT64);

  assert_op (with_key, "key", NULL, NULL, 99, FALSE, TRUE, NULL, PLOG_OP_KIND_CLEAR);
  assert_op (without_key, NULL, NULL, NULL, G_MININT64, FALSE, TRUE, NULL, PLOG_OP_KIND_CLEAR);
}

static void
test_new_configure (void)
{
  g_autoptr(GBytes) key = plog_test_bytes ("key");
  g_autoptr(GHashTable) config = make_config ("a", "1", "b", "two", NULL);
  g_autoptr(GHashTable) empty = make_empty_config ();
  g_autoptr(PlogOp) with_key = plog_op_new_configure (key, config, 5);
  g_autoptr(PlogOp) without_key = plog_op_new_configure (NULL, config, 6);
  g_autoptr(PlogOp) empty_config = plog_op_new_configure (key, empty, 7);

  assert_op (with_key, "key", NULL, NULL, 5, FALSE, FALSE, config, PLOG_OP_KIND_CONFIGURE);
  assert_op (without_key, NULL, NULL, NULL, 6, FALSE, FALSE, config, PLOG_OP_KIND_CONFIGURE);
  /* An empty table is still a configuration (it removes one). */
  assert_op (empty_config, "key", NULL, NULL, 7, FALSE, FALSE, empty, PLOG_OP_KIND_CONFIGURE);
}

/* plog_op_new_with_pairs: the same op as plog_op_new() with the table
 * the pairs make; none for NULL, an empty one for an empty array, the
 * last value of a name given twice. An odd number of strings is a
 * programmer's error. */
static void
test_new_with_pairs (void)
{
  g_autoptr(GBytes) key = plog_test_bytes ("key");
  g_autoptr(GBytes) value = plog_test_bytes ("value");
  g_autoptr(GHashTable) config = make_config ("a", "1", "b", "", NULL);
  g_autoptr(GHashTable) empty = make_empty_config ();
  const char * const pairs[] = { "a", "0", "b", "", "a", "1", NULL };
  const char * const no_pairs[] = { NULL };
  const char * const odd[] = { "a", "1", "b", NULL };
  g_autoptr(PlogOp) with = plog_op_new_with_pairs (key, NULL, NULL, 5, FALSE, FALSE, pairs);
  g_autoptr(PlogOp) expected = plog_op_new_configure (key, config, 5);
  g_autoptr(PlogOp) with_empty = plog_op_new_with_pairs (NULL, NULL, NULL, 6, FALSE, FALSE, no_pairs);
  g_autoptr(PlogOp) without = plog_op_new_with_pairs (key, NULL, value, 7, TRUE, FALSE, NULL);

  assert_op (with, "key", NULL, NULL, 5, FALSE, FALSE, config, PLOG_OP_KIND_CONFIGURE);
  g_assert_true (plog_op_equal (with, expected));
  assert_op (with_empty, NULL, NULL, NULL, 6, FALSE, FALSE, empty, PLOG_OP_KIND_CONFIGURE);
  assert_op (without, "key", NULL, "value", 7, TRUE, FALSE, NULL, PLOG_OP_KIND_PUT);

  if (g_test_undefined ())
    {
      PlogOp *bad;

      g_test_expect_message ("Plog", G_LOG_LEVEL_CRITICAL, "*% 2 == 0*");
      bad = plog_op_new_with_pairs (key, NULL, NULL, 8, FALSE, FALSE, odd);
      g_test_assert_expected_messages ();
      g_assert_null (bad);
    }
}

/* plog_op_new with every combination of its fields: the getters return
 * what was given and the kind follows the precedence
 * configuration > put > sub key > clear > delete. */
static void
test_new_combinations (void)
{
  g_autoptr(GBytes) key = plog_test_bytes ("the-key");
  g_autoptr(GBytes) sub_key = plog_test_bytes ("the-sub");
  g_autoptr(GBytes) value = plog_test_bytes ("the-value");
  g_autoptr(GHashTable) config = make_config ("x", "y", "name", "value", NULL);
  g_autoptr(GHashTable) empty = make_empty_config ();
  guint n = 0;

  for (guint mask = 0; mask < 32; mask++)
    for (guint c = 0; c < 3; c++)
      {
        gboolean has_key = (mask & 1) != 0;
        gboolean has_sub = (mask & 2) != 0;
        gboolean has_value = (mask & 4) != 0;
        gboolean put = (mask & 8) != 0;
        gboolean clear = (mask & 16) != 0;
        GHashTable *configuration = c == 0 ? NULL : c == 1 ? empty : config;
        gint64 timestamp = ((gint64) mask - 16) * 1000003 * (c + 1);
        g_autoptr(PlogOp) op = NULL;

        g_test_message ("key %d sub %d value %d put %d clear %d config %u",
                        has_key, has_sub, has_value, put, clear, c);
        op = plog_op_new (has_key ? key : NULL, has_sub ? sub_key : NULL,
                          has_value ? value : NULL, timestamp, put, clear,
                          configuration);
        assert_op (op,
                   has_key ? "the-key" : NULL,
                   has_sub ? "the-sub" : NULL,
                   has_value ? "the-value" : NULL,
                   timestamp, put, clear, configuration,
                   expected_kind (has_sub, put, clear, configuration != NULL));
        n++;
      }
  g_assert_cmpuint (n, ==, 96);
}

/* The specific precedence cases, spelled out. */
static void
test_kind_precedence (void)
{
  g_autoptr(GBytes) key = plog_test_bytes ("k");
  g_autoptr(GBytes) sub_key = plog_test_bytes ("s");
  g_autoptr(GBytes) value = plog_test_bytes ("v");
  g_autoptr(GHashTable) config = make_config ("a", "b", NULL);
  struct {
    gboolean sub, value, put, clear, config;
    PlogOpKind kind;
  } cases[] = {
    /* a configuration wins over everything */
    { TRUE, TRUE, TRUE, TRUE, TRUE, PLOG_OP_KIND_CONFIGURE },
    { FALSE, FALSE, FALSE, FALSE, TRUE, PLOG_OP_KIND_CONFIGURE },
    /* then put, over a sub key and clear */
    { TRUE, TRUE, TRUE, TRUE, FALSE, PLOG_OP_KIND_SUB_PUT },
    { FALSE, TRUE, TRUE, TRUE, FALSE, PLOG_OP_KIND_PUT },
    /* a put without a value is still a put */
    { FALSE, FALSE, TRUE, FALSE, FALSE, PLOG_OP_KIND_PUT },
    /* then a sub key, over clear */
    { TRUE, FALSE, FALSE, TRUE, FALSE, PLOG_OP_KIND_SUB_DELETE },
    { TRUE, TRUE, FALSE, FALSE, FALSE, PLOG_OP_KIND_SUB_DELETE },
    /* then clear */
    { FALSE, TRUE, FALSE, TRUE, FALSE, PLOG_OP_KIND_CLEAR },
    /* else delete, whatever the value */
    { FALSE, TRUE, FALSE, FALSE, FALSE, PLOG_OP_KIND_DELETE },
    { FALSE, FALSE, FALSE, FALSE, FALSE, PLOG_OP_KIND_DELETE },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(PlogOp) op = plog_op_new (key,
                                          cases[i].sub ? sub_key : NULL,
                                          cases[i].value ? value : NULL,
                                          0, cases[i].put, cases[i].clear,
                                          cases[i].config ? config : NULL);

      g_test_message ("case %" G_GSIZE_FORMAT, i);
      g_assert_cmpint (plog_op_get_kind (op), ==, cases[i].kind);
    }
}

/* An empty GBytes is the same as NULL for the key, the sub key and the
 * value: the getters return NULL and the kind follows. */
static void
test_empty_is_null (void)
{
  g_autoptr(GBytes) empty = g_bytes_new (NULL, 0);
  g_autoptr(GBytes) empty2 = g_bytes_new_static ("", 0);
  g_autoptr(GBytes) value = plog_test_bytes ("v");
  g_autoptr(PlogOp) put = plog_op_new_put (empty, empty2, 1);
  g_autoptr(PlogOp) put_null = plog_op_new_put (NULL, NULL, 1);
  g_autoptr(PlogOp) sub_put = plog_op_new_sub_put (empty, empty, value, 2);
  g_autoptr(PlogOp) sub_put_null = plog_op_new_sub_put (NULL, NULL, value, 2);
  g_autoptr(PlogOp) sub_delete = plog_op_new_sub_delete (empty, empty);
  g_autoptr(PlogOp) clear = plog_op_new_clear (empty, 3);
  g_autoptr(PlogOp) generic = plog_op_new (empty, empty, empty, 4, FALSE, FALSE, NULL);

  assert_op (put, NULL, NULL, NULL, 1, TRUE, FALSE, NULL, PLOG_OP_KIND_PUT);
  g_assert_true (plog_op_equal (put, put_null));
  g_assert_true (plog_op_equal (put_null, put));

  /* An empty sub key is no sub key: a plain put. */
  assert_op (sub_put, NULL, NULL, "v", 2, TRUE, FALSE, NULL, PLOG_OP_KIND_PUT);
  g_assert_true (plog_op_equal (sub_put, sub_put_null));

  /* An empty sub key on a delete: a plain delete. */
  assert_op (sub_delete, NULL, NULL, NULL, 0, FALSE, FALSE, NULL, PLOG_OP_KIND_DELETE);

  /* A clear with an empty key is the clear of everything. */
  assert_op (clear, NULL, NULL, NULL, 3, FALSE, TRUE, NULL, PLOG_OP_KIND_CLEAR);

  assert_op (generic, NULL, NULL, NULL, 4, FALSE, FALSE, NULL, PLOG_OP_KIND_DELETE);
}

/* Binary bytes, NULs included, are kept as they are. */
static void
test_binary (void)
{
  static const guint8 key_data[] = { 0x00, 0xff, 0x10, 0x00, 0x80 };
  static const guint8 value_data[] = { 0xc3, 0x28, 0x00 };
  g_autoptr(GBytes) key = g_bytes_new (key_data, sizeof key_data);
  g_autoptr(GBytes) value = g_bytes_new (value_data, sizeof value_data);
  g_autoptr(PlogOp) op = plog_op_new_put (key, value, 0);
  const guint8 *data;
  gsize length = 0;

  g_assert_true (g_bytes_equal (plog_op_get_key (op), key));
  g_assert_true (g_bytes_equal (plog_op_get_value (op), value));
  data = plog_op_get_key_data (op, &length);
  g_assert_cmpmem (data, length, key_data, sizeof key_data);
  data = plog_op_get_value_data (op, &length);
  g_assert_cmpmem (data, length, value_data, sizeof value_data);
}

/* The op keeps what it needs: the caller's GBytes and table may go away
 * or change afterwards. */
static void
test_configuration_copied (void)
{
  g_autoptr(GBytes) key = plog_test_bytes ("k");
  GHashTable *config = make_config ("a", "1", "b", "2", NULL);
  g_autoptr(GHashTable) expected = make_config ("a", "1", "b", "2", NULL);
  g_autoptr(PlogOp) op = plog_op_new_configure (key, config, 10);
  g_autoptr(PlogOp) generic = plog_op_new (NULL, NULL, NULL, 11, FALSE, FALSE, config);
  GHashTable *got;

  g_assert_true (plog_op_get_configuration (op) != config);

  g_hash_table_insert (config, g_strdup ("c"), g_strdup ("3"));
  g_hash_table_replace (config, g_strdup ("a"), g_strdup ("changed"));
  g_hash_table_remove (config, "b");

  assert_op (op, "k", NULL, NULL, 10, FALSE, FALSE, expected, PLOG_OP_KIND_CONFIGURE);
  assert_op (generic, NULL, NULL, NULL, 11, FALSE, FALSE, expected, PLOG_OP_KIND_CONFIGURE);

  /* The caller's table and its strings are freed: the op's copy lives on. */
  g_hash_table_unref (config);
  got = plog_op_get_configuration (op);
  g_assert_cmpuint (g_hash_table_size (got), ==, 2);
  g_assert_cmpstr (g_hash_table_lookup (got, "a"), ==, "1");
  g_assert_cmpstr (g_hash_table_lookup (got, "b"), ==, "2");
  assert_op (generic, NULL, NULL, NULL, 11, FALSE, FALSE, expected, PLOG_OP_KIND_CONFIGURE);
}

static void
test_bytes_kept (void)
{
  GBytes *key = plog_test_bytes ("key");
  GBytes *sub_key = plog_test_bytes ("sub");
  GBytes *value = plog_test_bytes ("value");
  g_autoptr(PlogOp) op = plog_op_new_sub_put (key, sub_key, value, 1);

  g_bytes_unref (key);
  g_bytes_unref (sub_key);
  g_bytes_unref (value);
  assert_op (op, "key", "sub", "value", 1, TRUE, FALSE, NULL, PLOG_OP_KIND_SUB_PUT);
}

static void
assert_same_bytes (GBytes *got,
                   GBytes *expected)
{
  g_assert_nonnull (got);
  g_assert_true (g_bytes_equal (got, expected));
}

/* Small fields are copied into the op, larger ones kept by reference:
 * either way the getters return equal bytes, the same GBytes each time,
 * and empty fields stay absent. 256 bytes in all is the limit. */
static void
test_bytes_sizes (void)
{
  const gsize value_sizes[] = { 1, 239, 240, 241, 4096, 1 << 20 };
  g_autoptr(GBytes) key = plog_test_filled_bytes (10, 'k');
  g_autoptr(GBytes) sub_key = plog_test_filled_bytes (6, 's');
  g_autoptr(GBytes) empty = g_bytes_new (NULL, 0);

  for (gsize i = 0; i < G_N_ELEMENTS (value_sizes); i++)
    {
      g_autoptr(GBytes) value = plog_test_filled_bytes (value_sizes[i], 'v');
      g_autoptr(PlogOp) op = plog_op_new_sub_put (key, sub_key, value, 7);
      g_autoptr(PlogOp) same = plog_op_new (key, sub_key, value, 7, TRUE, FALSE, NULL);
      g_autoptr(PlogOp) no_sub = plog_op_new_sub_put (key, empty, value, 7);
      GBytes *got;

      assert_same_bytes (plog_op_get_key (op), key);
      assert_same_bytes (plog_op_get_sub_key (op), sub_key);
      got = plog_op_get_value (op);
      assert_same_bytes (got, value);
      g_assert_true (plog_op_get_value (op) == got);
      g_assert_true (plog_op_get_key (op) == plog_op_get_key (op));
      g_assert_true (plog_op_equal (op, same));
      g_assert_cmpint (plog_op_get_kind (op), ==, PLOG_OP_KIND_SUB_PUT);

      g_assert_null (plog_op_get_sub_key (no_sub));
      g_assert_cmpint (plog_op_get_kind (no_sub), ==, PLOG_OP_KIND_PUT);
      assert_same_bytes (plog_op_get_value (no_sub), value);
      g_assert_false (plog_op_equal (op, no_sub));
    }
}

#define GETTER_THREADS 8

typedef struct
{
  PlogOp *op;
  gint *start;
  GBytes *got[3];
} GetterThread;

static gpointer
getter_thread (gpointer data)
{
  GetterThread *t = data;

  while (!g_atomic_int_get (t->start))
    ;
  t->got[0] = plog_op_get_key (t->op);
  t->got[1] = plog_op_get_sub_key (t->op);
  t->got[2] = plog_op_get_value (t->op);
  return NULL;
}

/* The GBytes of a copied field is made on first request; threads that
 * ask at once all get the same one. */
static void
test_bytes_threads (void)
{
  g_autoptr(GBytes) key = plog_test_bytes ("key");
  g_autoptr(GBytes) sub_key = plog_test_bytes ("sub");
  g_autoptr(GBytes) value = plog_test_bytes ("value");

  for (guint round = 0; round < 50; round++)
    {
      g_autoptr(PlogOp) op = plog_op_new_sub_put (key, sub_key, value, round);
      GetterThread threads[GETTER_THREADS];
      GThread *handles[GETTER_THREADS];
      gint start = 0;

      for (guint i = 0; i < GETTER_THREADS; i++)
        {
          threads[i] = (GetterThread) { op, &start, { NULL, } };
          handles[i] = g_thread_new ("getter", getter_thread, &threads[i]);
        }
      g_atomic_int_set (&start, 1);
      for (guint i = 0; i < GETTER_THREADS; i++)
        g_thread_join (handles[i]);
      for (guint i = 0; i < GETTER_THREADS; i++)
        {
          g_assert_true (threads[i].got[0] == plog_op_get_key (op));
          g_assert_true (threads[i].got[1] == plog_op_get_sub_key (op));
          g_assert_true (threads[i].got[2] == plog_op_get_value (op));
        }
      assert_same_bytes (plog_op_get_key (op), key);
      assert_same_bytes (plog_op_get_sub_key (op), sub_key);
      assert_same_bytes (plog_op_get_value (op), value);
    }
}

/* plog_op_equal */

static void
test_equal (void)
{
  g_autoptr(GBytes) key = plog_test_bytes ("k");
  g_autoptr(GBytes) key2 = plog_test_bytes ("k2");
  g_autoptr(GBytes) sub_key = plog_test_bytes ("s");
  g_autoptr(GBytes) sub_key2 = plog_test_bytes ("s2");
  g_autoptr(GBytes) value = plog_test_bytes ("v");
  g_autoptr(GBytes) value2 = plog_test_bytes ("v2");
  g_autoptr(GBytes) key_copy = plog_test_bytes ("k");
  g_autoptr(GHashTable) config = make_config ("a", "1", "b", "2", NULL);
  g_autoptr(GHashTable) config_value = make_config ("a", "1", "b", "3", NULL);
  g_autoptr(GHashTable) config_more = make_config ("a", "1", "b", "2", "c", "3", NULL);
  g_autoptr(GHashTable) config_less = make_config ("a", "1", NULL);
  g_autoptr(GHashTable) config_key = make_config ("a", "1", "c", "2", NULL);
  g_autoptr(GHashTable) config_empty = make_empty_config ();
  g_autoptr(PlogOp) base = plog_op_new (key, sub_key, value, 42, TRUE, FALSE, config);
  g_autoptr(PlogOp) same = plog_op_new (key_copy, sub_key, value, 42, TRUE, FALSE, config);
  PlogOp *different[] = {
    plog_op_new (key2, sub_key, value, 42, TRUE, FALSE, config),
    plog_op_new (NULL, sub_key, value, 42, TRUE, FALSE, config),
    plog_op_new (key, sub_key2, value, 42, TRUE, FALSE, config),
    plog_op_new (key, NULL, value, 42, TRUE, FALSE, config),
    plog_op_new (key, sub_key, value2, 42, TRUE, FALSE, config),
    plog_op_new (key, sub_key, NULL, 42, TRUE, FALSE, config),
    plog_op_new (key, sub_key, value, 43, TRUE, FALSE, config),
    plog_op_new (key, sub_key, value, -42, TRUE, FALSE, config),
    plog_op_new (key, sub_key, value, 42, FALSE, FALSE, config),
    plog_op_new (key, sub_key, value, 42, TRUE, TRUE, config),
    plog_op_new (key, sub_key, value, 42, TRUE, FALSE, NULL),
    plog_op_new (key, sub_key, value, 42, TRUE, FALSE, config_empty),
    plog_op_new (key, sub_key, value, 42, TRUE, FALSE, config_value),
    plog_op_new (key, sub_key, value, 42, TRUE, FALSE, config_more),
    plog_op_new (key, sub_key, value, 42, TRUE, FALSE, config_less),
    plog_op_new (key, sub_key, value, 42, TRUE, FALSE, config_key),
  };

  g_assert_true (plog_op_equal (base, base));
  g_assert_true (plog_op_equal (base, same));
  g_assert_true (plog_op_equal (same, base));

  for (gsize i = 0; i < G_N_ELEMENTS (different); i++)
    {
      g_test_message ("variant %" G_GSIZE_FORMAT, i);
      g_assert_false (plog_op_equal (base, different[i]));
      g_assert_false (plog_op_equal (different[i], base));
      g_assert_true (plog_op_equal (different[i], different[i]));
    }
  for (gsize i = 0; i < G_N_ELEMENTS (different); i++)
    plog_op_unref (different[i]);
}

static void
test_equal_kinds (void)
{
  g_autoptr(GBytes) key = plog_test_bytes ("k");
  g_autoptr(GBytes) sub_key = plog_test_bytes ("s");
  g_autoptr(GBytes) value = plog_test_bytes ("v");
  g_autoptr(GHashTable) config = make_config ("a", "1", NULL);
  PlogOp *ops[] = {
    plog_op_new_put (key, value, 0),
    plog_op_new_sub_put (key, sub_key, value, 0),
    plog_op_new_delete (key),
    plog_op_new_sub_delete (key, sub_key),
    plog_op_new_clear (key, 0),
    plog_op_new_clear (NULL, 0),
    plog_op_new_configure (key, config, 0),
    plog_op_new_configure (NULL, config, 0),
  };

  /* Every op of a different kind or key differs from every other one. */
  for (gsize i = 0; i < G_N_ELEMENTS (ops); i++)
    for (gsize j = 0; j < G_N_ELEMENTS (ops); j++)
      g_assert_cmpint (!!plog_op_equal (ops[i], ops[j]), ==, i == j);

  /* The convenience constructors equal plog_op_new with the same fields. */
  {
    g_autoptr(PlogOp) put = plog_op_new (key, NULL, value, 0, TRUE, FALSE, NULL);
    g_autoptr(PlogOp) sub_put = plog_op_new (key, sub_key, value, 0, TRUE, FALSE, NULL);
    g_autoptr(PlogOp) del = plog_op_new (key, NULL, NULL, 0, FALSE, FALSE, NULL);
    g_autoptr(PlogOp) sub_del = plog_op_new (key, sub_key, NULL, 0, FALSE, FALSE, NULL);
    g_autoptr(PlogOp) clear = plog_op_new (key, NULL, NULL, 0, FALSE, TRUE, NULL);
    g_autoptr(PlogOp) configure = plog_op_new (key, NULL, NULL, 0, FALSE, FALSE, config);

    g_assert_true (plog_op_equal (put, ops[0]));
    g_assert_true (plog_op_equal (sub_put, ops[1]));
    g_assert_true (plog_op_equal (del, ops[2]));
    g_assert_true (plog_op_equal (sub_del, ops[3]));
    g_assert_true (plog_op_equal (clear, ops[4]));
    g_assert_true (plog_op_equal (configure, ops[6]));
  }

  for (gsize i = 0; i < G_N_ELEMENTS (ops); i++)
    plog_op_unref (ops[i]);
}

/* Configurations compare by content, whatever their insertion order or
 * their tables' hash functions. */
static void
test_equal_configuration_order (void)
{
  g_autoptr(GHashTable) forward = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr(GHashTable) backward = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GPtrArray) keep = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(PlogOp) a = NULL;
  g_autoptr(PlogOp) b = NULL;
  g_autoptr(PlogOp) c = NULL;

  for (int i = 0; i < 50; i++)
    g_hash_table_insert (forward, g_strdup_printf ("key-%d", i), g_strdup_printf ("value-%d", i));
  for (int i = 49; i >= 0; i--)
    {
      char *k = g_strdup_printf ("key-%d", i);
      char *v = g_strdup_printf ("value-%d", i);

      g_ptr_array_add (keep, k);
      g_ptr_array_add (keep, v);
      g_hash_table_insert (backward, k, v);
    }

  a = plog_op_new_configure (NULL, forward, 1);
  b = plog_op_new_configure (NULL, backward, 1);
  g_assert_true (plog_op_equal (a, b));
  g_assert_true (plog_op_equal (b, a));

  g_hash_table_insert (backward, (char *) "key-7", (char *) "other");
  c = plog_op_new_configure (NULL, backward, 1);
  g_assert_false (plog_op_equal (a, c));
  g_assert_false (plog_op_equal (c, a));
}

/* plog_op_to_string */

static void
assert_to_string (PlogOp     *op,
                  const char *kind_word,
                  const char *key)
{
  g_autofree char *str = plog_op_to_string (op);
  g_autofree char *lower = NULL;

  g_assert_nonnull (str);
  g_test_message ("to_string: %s", str);
  g_assert_cmpuint (strlen (str), >, 0);
  g_assert_true (g_utf8_validate (str, -1, NULL));
  lower = g_ascii_strdown (str, -1);
  g_assert_true (strstr (lower, kind_word) != NULL || (key != NULL && strstr (str, key) != NULL));
}

static void
test_to_string (void)
{
  static const guint8 binary[] = { 0xff, 0x00, 0xfe, 0x0a, 0x22 };
  g_autoptr(GBytes) key = plog_test_bytes ("some-key");
  g_autoptr(GBytes) sub_key = plog_test_bytes ("some-sub");
  g_autoptr(GBytes) value = plog_test_bytes ("some-value");
  g_autoptr(GBytes) binary_key = g_bytes_new (binary, sizeof binary);
  g_autoptr(GHashTable) config = make_config ("a", "1", NULL);
  g_autoptr(PlogOp) put = plog_op_new_put (key, value, 1);
  g_autoptr(PlogOp) sub_put = plog_op_new_sub_put (key, sub_key, value, 1);
  g_autoptr(PlogOp) del = plog_op_new_delete (key);
  g_autoptr(PlogOp) sub_del = plog_op_new_sub_delete (key, sub_key);
  g_autoptr(PlogOp) clear = plog_op_new_clear (key, 1);
  g_autoptr(PlogOp) clear_all = plog_op_new_clear (NULL, 1);
  g_autoptr(PlogOp) configure = plog_op_new_configure (key, config, 1);
  g_autoptr(PlogOp) configure_global = plog_op_new_configure (NULL, config, 1);
  g_autoptr(PlogOp) binary_put = plog_op_new_put (binary_key, binary_key, 1);

  assert_to_string (put, "put", "some-key");
  assert_to_string (sub_put, "put", "some-key");
  assert_to_string (del, "delete", "some-key");
  assert_to_string (sub_del, "delete", "some-key");
  assert_to_string (clear, "clear", "some-key");
  assert_to_string (clear_all, "clear", NULL);
  assert_to_string (configure, "config", "some-key");
  assert_to_string (configure_global, "config", NULL);
  /* Bytes that are not UTF-8 still give a valid UTF-8 string. */
  assert_to_string (binary_put, "put", NULL);

  /* one line, whatever the configuration holds; flags show */
  {
    g_autoptr(GHashTable) odd = make_config ("line\nbreak", "tab\there \"quoted\" é", NULL);
    g_autoptr(PlogOp) op = plog_op_new_configure (key, odd, 1);
    g_autoptr(PlogOp) sub_del_clear = plog_op_new (key, sub_key, NULL, 0, FALSE, TRUE, NULL);
    g_autofree char *str = plog_op_to_string (op);
    g_autofree char *plain = plog_op_to_string (sub_del);
    g_autofree char *with_clear = plog_op_to_string (sub_del_clear);

    g_test_message ("to_string: %s", str);
    g_assert_null (strchr (str, '\n'));
    g_assert_null (strchr (str, '\t'));
    g_assert_nonnull (strstr (str, "\"line\\x0abreak\"=\"tab\\x09here \\\"quoted\\\" é\""));
    g_assert_cmpstr (plain, !=, with_clear);
    g_assert_nonnull (strstr (with_clear, " clear"));
  }
}

/* ref / unref and the boxed type */

static void
test_ref_unref (void)
{
  g_autoptr(GBytes) key = plog_test_bytes ("k");
  PlogOp *op = plog_op_new_delete (key);
  PlogOp *ref = plog_op_ref (op);

  g_assert_true (ref == op);
  plog_op_unref (op);
  /* still alive through the second reference */
  assert_op (ref, "k", NULL, NULL, 0, FALSE, FALSE, NULL, PLOG_OP_KIND_DELETE);
  plog_op_unref (ref);

  /* g_autoptr */
  {
    g_autoptr(PlogOp) auto_op = plog_op_new_clear (NULL, 0);
    g_assert_nonnull (auto_op);
  }
}

static void
test_boxed (void)
{
  g_autoptr(GBytes) key = plog_test_bytes ("k");
  g_autoptr(GBytes) value = plog_test_bytes ("v");
  g_autoptr(PlogOp) op = plog_op_new_put (key, value, 3);
  PlogOp *copy;
  GValue gvalue = G_VALUE_INIT;

  g_assert_true (G_TYPE_IS_BOXED (PLOG_TYPE_OP));
  g_assert_true (g_type_is_a (PLOG_TYPE_OP, G_TYPE_BOXED));
  g_assert_cmpstr (g_type_name (PLOG_TYPE_OP), ==, "PlogOp");
  g_assert_true (plog_op_get_type () == PLOG_TYPE_OP);

  copy = g_boxed_copy (PLOG_TYPE_OP, op);
  g_assert_nonnull (copy);
  g_assert_true (plog_op_equal (copy, op));
  g_boxed_free (PLOG_TYPE_OP, copy);
  /* the original is untouched by freeing the copy */
  assert_op (op, "k", NULL, "v", 3, TRUE, FALSE, NULL, PLOG_OP_KIND_PUT);

  g_value_init (&gvalue, PLOG_TYPE_OP);
  g_value_set_boxed (&gvalue, op);
  g_assert_true (plog_op_equal (g_value_get_boxed (&gvalue), op));
  g_value_unset (&gvalue);
  assert_op (op, "k", NULL, "v", 3, TRUE, FALSE, NULL, PLOG_OP_KIND_PUT);
}

/* The enum GTypes */

static void
assert_enum (GType              type,
             const char        *name,
             const char * const *nicks,
             guint              n_nicks)
{
  g_autoptr(GEnumClass) klass = NULL;

  g_assert_true (G_TYPE_IS_ENUM (type));
  g_assert_cmpstr (g_type_name (type), ==, name);
  klass = g_type_class_ref (type);
  g_assert_cmpuint (klass->n_values, ==, n_nicks);
  for (guint i = 0; i < n_nicks; i++)
    {
      GEnumValue *value = g_enum_get_value (klass, (int) i);

      g_assert_nonnull (value);
      g_assert_cmpstr (value->value_nick, ==, nicks[i]);
      g_assert_true (g_enum_get_value_by_nick (klass, nicks[i]) == value);
    }
}

static void
test_enum_types (void)
{
  static const char * const kinds[] = {
    "configure", "put", "sub-put", "delete", "sub-delete", "clear",
  };
  static const char * const modes[] = { "none", "periodic", "always" };
  static const char * const errors[] = {
    "failed", "not-recording", "locked", "corrupt", "invalid", "too-large", "io",
  };

  g_assert_cmpint (PLOG_OP_KIND_CONFIGURE, ==, 0);
  g_assert_cmpint (PLOG_OP_KIND_CLEAR, ==, 5);
  assert_enum (PLOG_TYPE_OP_KIND, "PlogOpKind", kinds, G_N_ELEMENTS (kinds));
  assert_enum (PLOG_TYPE_SYNC_MODE, "PlogSyncMode", modes, G_N_ELEMENTS (modes));
  assert_enum (PLOG_TYPE_ERROR, "PlogError", errors, G_N_ELEMENTS (errors));
}

static void
test_error_quark (void)
{
  GQuark quark = plog_error_quark ();
  g_autoptr(GError) error = NULL;

  g_assert_cmpuint (quark, !=, 0);
  g_assert_cmpuint (PLOG_ERROR, ==, quark);
  g_assert_nonnull (g_quark_to_string (quark));
  error = g_error_new (PLOG_ERROR, PLOG_ERROR_TOO_LARGE, "x");
  g_assert_error (error, PLOG_ERROR, PLOG_ERROR_TOO_LARGE);
}

static void
test_max_size (void)
{
  g_assert_cmpint (PLOG_OP_MAX_SIZE, ==, 64 * 1024 * 1024);
}

/* Programmer errors: NULL self gets a CRITICAL and a neutral return. */
static void
test_null_self (void)
{
  gsize length = 0;

  if (!g_test_undefined ())
    {
      g_test_skip ("tests undefined behaviour");
      return;
    }

#define EXPECT_CRITICAL(call)                                                  \
  G_STMT_START {                                                               \
    g_test_expect_message ("Plog", G_LOG_LEVEL_CRITICAL, "*self*");            \
    call;                                                                      \
    g_test_assert_expected_messages ();                                        \
  } G_STMT_END

  EXPECT_CRITICAL (g_assert_null (plog_op_ref (NULL)));
  EXPECT_CRITICAL (g_assert_null (plog_op_get_key (NULL)));
  EXPECT_CRITICAL (g_assert_null (plog_op_get_sub_key (NULL)));
  EXPECT_CRITICAL (g_assert_null (plog_op_get_value (NULL)));
  EXPECT_CRITICAL (g_assert_null (plog_op_get_key_data (NULL, &length)));
  EXPECT_CRITICAL (g_assert_null (plog_op_get_sub_key_data (NULL, &length)));
  EXPECT_CRITICAL (g_assert_null (plog_op_get_value_data (NULL, &length)));
  EXPECT_CRITICAL (g_assert_cmpint (plog_op_get_timestamp (NULL), ==, 0));
  EXPECT_CRITICAL (g_assert_false (plog_op_get_put (NULL)));
  EXPECT_CRITICAL (g_assert_false (plog_op_get_clear (NULL)));
  EXPECT_CRITICAL (g_assert_null (plog_op_get_configuration (NULL)));
  EXPECT_CRITICAL ((void) plog_op_get_kind (NULL));
  EXPECT_CRITICAL (g_assert_null (plog_op_to_string (NULL)));

#undef EXPECT_CRITICAL
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/op/new/put", test_new_put);
  g_test_add_func ("/op/new/sub-put", test_new_sub_put);
  g_test_add_func ("/op/new/delete", test_new_delete);
  g_test_add_func ("/op/new/sub-delete", test_new_sub_delete);
  g_test_add_func ("/op/new/clear", test_new_clear);
  g_test_add_func ("/op/new/configure", test_new_configure);
  g_test_add_func ("/op/new/with-pairs", test_new_with_pairs);
  g_test_add_func ("/op/new/combinations", test_new_combinations);
  g_test_add_func ("/op/new/binary", test_binary);
  g_test_add_func ("/op/new/bytes-kept", test_bytes_kept);
  g_test_add_func ("/op/new/bytes-sizes", test_bytes_sizes);
  g_test_add_func ("/op/new/bytes-threads", test_bytes_threads);
  g_test_add_func ("/op/kind/precedence", test_kind_precedence);
  g_test_add_func ("/op/empty-is-null", test_empty_is_null);
  g_test_add_func ("/op/configuration/copied", test_configuration_copied);
  g_test_add_func ("/op/equal/fields", test_equal);
  g_test_add_func ("/op/equal/kinds", test_equal_kinds);
  g_test_add_func ("/op/equal/configuration-order", test_equal_configuration_order);
  g_test_add_func ("/op/to-string", test_to_string);
  g_test_add_func ("/op/ref-unref", test_ref_unref);
  g_test_add_func ("/op/boxed", test_boxed);
  g_test_add_func ("/op/enum-types", test_enum_types);
  g_test_add_func ("/op/error-quark", test_error_quark);
  g_test_add_func ("/op/max-size", test_max_size);
  g_test_add_func ("/op/null-self", test_null_self);

  return g_test_run ();
}
