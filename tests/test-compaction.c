/* test-compaction.c: compaction against a reference model of the merge
 * semantics
 *
 * Every test dumps a random stream of ops into a logger with a small
 * max-size, so that many automatic compactions land, and applies the same
 * ops to the reference model of plog-test-model.c. Replaying the
 * directory into a fresh model must then rebuild exactly the model of
 * every op: values, sub values, configurations and their timestamps.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <plog.h>

#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>

#include "plog-test-model.h"
#include "plog-test-util.h"

#define WAIT_SECONDS 120

/* {{{ Random ops */

typedef struct
{
  GRand      *rand;
  guint       n_keys;
  guint       n_subs;
  const char *prefix;
  gboolean    global;    /* the empty key, global clears and configurations */
  gint64      clock;
  guint64     dumped_bytes;
} Gen;

static GBytes *
gen_key (Gen *g)
{
  guint i = g_rand_int_range (g->rand, 0, g->n_keys);
  g_autofree char *name = NULL;
  GByteArray *buf;

  if (i == 0 && g->global)
    return g_rand_boolean (g->rand) ? NULL : g_bytes_new (NULL, 0);
  name = g_strdup_printf ("%skey-%02u", g->prefix, i);
  buf = g_byte_array_new ();
  g_byte_array_append (buf, (const guint8 *) name, strlen (name));
  if (i % 7 == 3)
    {
      /* binary keys: a NUL and a high byte */
      static const guint8 tail[] = { 0x00, 0xff, 0x80 };

      g_byte_array_append (buf, tail, sizeof tail);
    }
  return g_byte_array_free_to_bytes (buf);
}

static GBytes *
gen_sub (Gen *g)
{
  guint i = g_rand_int_range (g->rand, 0, g->n_subs);

  return g_bytes_new_take (g_strdup_printf ("sub-%u", i), strlen ("sub-") + (i >= 10 ? 2 : 1));
}

static GBytes *
gen_value (Gen *g)
{
  guint r = g_rand_int_range (g->rand, 0, 100);
  gsize len;
  guint8 *data;

  if (r < 4)
    return r < 2 ? NULL : g_bytes_new (NULL, 0);
  len = r < 6 ? (gsize) g_rand_int_range (g->rand, 200, 700) : (gsize) g_rand_int_range (g->rand, 1, 48);
  data = g_malloc (len);
  for (gsize i = 0; i < len; i++)
    data[i] = (guint8) g_rand_int (g->rand);
  return g_bytes_new_take (data, len);
}

static gint64
gen_timestamp (Gen *g)
{
  switch (g_rand_int_range (g->rand, 0, 12))
    {
    case 0:
      return 0;
    case 1:
      return G_MININT64;
    case 2:
      return G_MAXINT64;
    case 3:
      return -(gint64) g_rand_int (g->rand);
    case 4:
      return (gint64) (((guint64) g_rand_int (g->rand) << 32) | g_rand_int (g->rand));
    default:
      g->clock += g_rand_int_range (g->rand, 1, 1000000);
      return g->clock;
    }
}

static GHashTable *
gen_configuration (Gen *g)
{
  GHashTable *c = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  guint n = g_rand_int_range (g->rand, 0, 4);

  for (guint i = 0; i < n; i++)
    g_hash_table_replace (c,
                          g_strdup_printf ("option-%u", g_rand_int_range (g->rand, 0, 6)),
                          g_strdup_printf ("välue-%u", g_rand_int (g->rand)));
  return c;
}

/* A random op, applied to @model as well; all kinds, through every
 * constructor. */
static PlogOp *
gen_op (Gen           *g,
        PlogTestModel *model)
{
  guint r = g_rand_int_range (g->rand, 0, 1000);
  g_autoptr(GBytes) key = NULL;
  g_autoptr(GBytes) sub = NULL;
  g_autoptr(GBytes) value = NULL;
  g_autoptr(GHashTable) configuration = NULL;
  gint64 timestamp = 0;
  gboolean put = FALSE, clear = FALSE;
  PlogOp *op;

  if (!g->global && r >= 840 && r < 842)
    r = 0;                      /* no global clears */
  if (!g->global && r >= 870 && r < 880)
    r = 860;                    /* no global configurations */

  if (r < 330)
    {
      key = gen_key (g);
      value = gen_value (g);
      timestamp = gen_timestamp (g);
      put = TRUE;
      op = plog_op_new_put (key, value, timestamp);
    }
  else if (r < 580)
    {
      key = gen_key (g);
      sub = gen_sub (g);
      value = gen_value (g);
      timestamp = gen_timestamp (g);
      put = TRUE;
      op = plog_op_new_sub_put (key, sub, value, timestamp);
    }
  else if (r < 680)
    {
      key = gen_key (g);
      op = plog_op_new_delete (key);
    }
  else if (r < 780)
    {
      key = gen_key (g);
      sub = gen_sub (g);
      op = plog_op_new_sub_delete (key, sub);
    }
  else if (r < 840)
    {
      key = gen_key (g);
      timestamp = gen_timestamp (g);
      clear = TRUE;
      op = plog_op_new_clear (key, timestamp);
    }
  else if (r < 842)
    {
      timestamp = gen_timestamp (g);
      clear = TRUE;
      op = plog_op_new_clear (NULL, timestamp);
    }
  else if (r < 870)
    {
      key = gen_key (g);
      configuration = gen_configuration (g);
      timestamp = gen_timestamp (g);
      op = plog_op_new_configure (key, configuration, timestamp);
    }
  else if (r < 880)
    {
      configuration = gen_configuration (g);
      timestamp = gen_timestamp (g);
      op = plog_op_new_configure (NULL, configuration, timestamp);
    }
  else
    {
      /* any combination of the fields, through plog_op_new () */
      guint bits = g_rand_int (g->rand);

      key = gen_key (g);
      if (bits & 1)
        sub = (bits & 2) ? gen_sub (g) : g_bytes_new (NULL, 0);
      if (bits & 4)
        value = gen_value (g);
      if (bits & 8)
        timestamp = gen_timestamp (g);
      put = (bits & 16) != 0;
      clear = (bits & 32) != 0;
      if ((bits & 0x3c0) == 0)
        configuration = gen_configuration (g);
      op = plog_op_new (key, sub, value, timestamp, put, clear, configuration);
    }

  plog_test_model_apply_fields (model, key, sub, value, timestamp, put, clear, configuration);
  g->dumped_bytes += plog_test_model_record_size (key, sub, value, timestamp, configuration);
  return op;
}

/* }}} */

/* {{{ Harness: a logger, its signals and explicit compactions */

typedef struct
{
  char       *dir;
  PlogLogger *logger;
  GThread    *main_thread;
  gint        compacted;        /* `compacted` signals */
  gint        wrong_thread;     /* of them, emitted on another thread */
  guint       explicit_started;
  guint       explicit_done;
  guint       pending;          /* explicit compactions not finished */
  gulong      handler;
} Harness;

#define ITERATE_UNTIL(cond) PLOG_TEST_ITERATE_UNTIL (cond, WAIT_SECONDS * 1000)
#define drain_main_context plog_test_drain_main_context

static void
compacted_cb (PlogLogger *logger,
              gpointer    user_data)
{
  Harness *h = user_data;

  /* emitted in the context the logger was created in, never on a worker;
   * counted here and checked at the end of the test, so that the other
   * checks run as well */
  if (g_thread_self () != h->main_thread)
    g_atomic_int_inc (&h->wrong_thread);
  g_atomic_int_inc (&h->compacted);
}

static void
harness_open (Harness      *h,
              gint64        max_size,
              PlogSyncMode  sync_mode)
{
  g_autoptr(GError) error = NULL;

  g_assert_null (h->logger);
  h->logger = plog_logger_new (h->dir, &error);
  g_assert_no_error (error);
  g_assert_nonnull (h->logger);
  plog_logger_limit (h->logger, max_size);
  g_assert_cmpint (plog_logger_get_max_size (h->logger), ==, max_size);
  plog_logger_set_sync_mode (h->logger, sync_mode);
  h->handler = g_signal_connect (h->logger, "compacted", G_CALLBACK (compacted_cb), h);
}

static void
harness_record (Harness *h)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (plog_logger_record (h->logger, &error));
  g_assert_no_error (error);
  g_assert_true (plog_logger_get_recording (h->logger));
}

static void
harness_stop (Harness *h)
{
  g_autoptr(GError) error = NULL;
  gboolean ok = plog_logger_stop (h->logger, &error);

  g_assert_no_error (error);
  g_assert_true (ok);
  g_assert_false (plog_logger_get_recording (h->logger));
}

/* Stops and frees the logger; a worker may hold a reference for a
 * moment, but not for long: the next logger on the directory needs the
 * lock. */
static void
harness_close (Harness *h)
{
  gpointer weak;

  ITERATE_UNTIL (h->pending == 0);
  harness_stop (h);
  drain_main_context ();
  g_signal_handler_disconnect (h->logger, h->handler);
  weak = h->logger;
  g_object_add_weak_pointer (G_OBJECT (h->logger), &weak);
  g_clear_object (&h->logger);
  for (guint i = 0; weak != NULL && i < WAIT_SECONDS * 1000; i++)
    {
      drain_main_context ();
      if (weak != NULL)
        g_usleep (1000);
    }
  g_assert_null (weak);
}

static void
harness_init (Harness *h)
{
  memset (h, 0, sizeof *h);
  h->dir = plog_test_make_tmpdir ();
  h->main_thread = g_thread_self ();
}

static void
harness_clear (Harness *h)
{
  if (h->logger != NULL)
    harness_close (h);
  if (g_atomic_int_get (&h->wrong_thread) > 0)
    g_test_message ("%d of %d `compacted` signals were emitted on a thread other than "
                    "the one whose main context created the logger",
                    g_atomic_int_get (&h->wrong_thread), g_atomic_int_get (&h->compacted));
  g_assert_cmpint (g_atomic_int_get (&h->wrong_thread), ==, 0);
  plog_test_rm_rf (h->dir);
  g_clear_pointer (&h->dir, g_free);
}

static void
compact_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  Harness *h = user_data;
  g_autoptr(GError) error = NULL;
  gboolean ok;

  g_assert_true (g_thread_self () == h->main_thread);
  ok = plog_logger_compact_finish (PLOG_LOGGER (source), result, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
  g_assert_cmpuint (h->pending, >, 0);
  h->pending--;
  h->explicit_done++;
}

static void
harness_compact_start (Harness *h)
{
  h->pending++;
  h->explicit_started++;
  plog_logger_compact_async (h->logger, NULL, compact_cb, h);
}

static void
harness_compact (Harness *h)
{
  guint done = h->explicit_done;

  harness_compact_start (h);
  ITERATE_UNTIL (h->explicit_done > done && h->pending == 0);
}

static void
replay_cb (PlogOp   *op,
           gpointer  user_data)
{
  gpointer *data = user_data;

  plog_test_model_apply (data[0], op);
  g_ptr_array_add (data[1], plog_op_ref (op));
}

/* Replays the logger into a fresh model; @ops_out gets the ops. */
static PlogTestModel *
replay_model (PlogLogger  *logger,
              GPtrArray  **ops_out)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func ((GDestroyNotify) plog_op_unref);
  PlogTestModel *model = plog_test_model_new ();
  gpointer data[2] = { model, ops };
  gboolean ok = plog_logger_play (logger, replay_cb, data, NULL, &error);

  g_assert_no_error (error);
  g_assert_true (ok);
  if (ops_out != NULL)
    *ops_out = g_steal_pointer (&ops);
  return model;
}

static void
assert_replay_equal (PlogLogger    *logger,
                     PlogTestModel *expected,
                     const char    *where)
{
  g_autoptr(PlogTestModel) got = replay_model (logger, NULL);

  plog_test_model_assert_equal (expected, got, where);
}

/* What a replay of a fully compacted directory looks like: one op per
 * live entry, the configurations first, the same state. */
static void
assert_compacted_replay (PlogLogger    *logger,
                         PlogTestModel *expected,
                         const char    *where)
{
  g_autoptr(GPtrArray) ops = NULL;
  g_autoptr(PlogTestModel) got = replay_model (logger, &ops);
  guint n_configs = plog_test_model_n_configs (expected);

  plog_test_model_assert_equal (expected, got, where);
  if (ops->len != plog_test_model_n_live (expected))
    g_test_message ("%s: %u ops replayed after a compaction, %u live entries",
                    where, ops->len, plog_test_model_n_live (expected));
  g_assert_cmpuint (ops->len, ==, plog_test_model_n_live (expected));
  for (guint i = 0; i < ops->len; i++)
    {
      PlogOpKind kind = plog_op_get_kind (g_ptr_array_index (ops, i));

      if ((i < n_configs) != (kind == PLOG_OP_KIND_CONFIGURE))
        {
          g_autofree char *str = plog_op_to_string (g_ptr_array_index (ops, i));

          g_test_message ("%s: op %u of %u is %s, but the %u configurations come first",
                          where, i, ops->len, str, n_configs);
        }
      g_assert_cmpint (i < n_configs, ==, kind == PLOG_OP_KIND_CONFIGURE);
    }
}

static void
dir_usage (const char *dir,
           guint      *n_files,
           guint64    *size)
{
  g_autoptr(GPtrArray) files = plog_test_list_files (dir, NULL);

  *n_files = 0;
  *size = 0;
  for (guint i = 0; i < files->len; i++)
    {
      const char *path = g_ptr_array_index (files, i);
      GStatBuf st;

      if (g_str_has_suffix (path, G_DIR_SEPARATOR_S "LOCK"))
        continue;
      if (g_stat (path, &st) != 0)
        continue;               /* removed meanwhile by a compaction */
      *n_files += 1;
      *size += st.st_size;
    }
}

static void
assert_fully_compacted_layout (const char *dir)
{
  g_autoptr(GPtrArray) snaps = plog_test_list_files (dir, ".snap");
  g_autoptr(GPtrArray) logs = plog_test_list_files (dir, ".log");
  g_autoptr(GPtrArray) tmps = plog_test_list_files (dir, ".tmp");

  g_assert_cmpuint (tmps->len, ==, 0);
  g_assert_cmpuint (snaps->len, ==, 1);
  /* a stopped logger's explicit compaction covers every log */
  for (guint i = 0; i < logs->len; i++)
    {
      g_autofree char *log = g_path_get_basename (g_ptr_array_index (logs, i));
      g_autofree char *snap = g_path_get_basename (g_ptr_array_index (snaps, 0));

      g_test_message ("left after the compaction of a stopped logger: %s (snapshot %s)", log, snap);
      g_assert_cmpint (strcmp (log, snap), >, 0);
    }
}

/* }}} */

/* {{{ Tests */

static const guint32 seeds[] = { 1, 7, 42, 4242, 99991 };

static void
test_equivalence (gconstpointer data)
{
  guint seed_index = GPOINTER_TO_UINT (data);
  guint32 seed = seeds[seed_index];
  g_autoptr(GRand) rand = g_rand_new_with_seed (seed);
  g_autoptr(PlogTestModel) model = plog_test_model_new ();
  gint64 max_size = 2048 * (1 + seed_index % 3);
  PlogSyncMode mode = seed_index % 2 ? PLOG_SYNC_MODE_NONE : PLOG_SYNC_MODE_PERIODIC;
  Gen gen = { rand, 50, 5, "", TRUE, 1700000000000000, 0 };
  guint n_ops = 6000, n_plays = 0, n_restarts = 0, n_reopens = 0;
  guint window = 200, n_auto = 0, landed_before = 0;
  gboolean clean = TRUE;
  Harness h;

  g_test_message ("seed %u, max-size %" G_GINT64_FORMAT, seed, max_size);
  harness_init (&h);
  harness_open (&h, max_size, mode);
  harness_record (&h);

  for (guint i = 0; i < n_ops; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(PlogOp) op = gen_op (&gen, model);
      guint r;

      g_assert_true (plog_logger_dump (h.logger, op, &error));
      g_assert_no_error (error);

      if (i % 16 == 0)
        drain_main_context ();

      r = g_rand_int_range (rand, 0, 10000);
      if (r < 65 && g_test_verbose ())
        g_test_message ("op %u: event %u", i, r);
      if (r < 10)
        harness_compact_start (&h);     /* not waited for */
      else if (r < 15)
        {
          /* everything dumped before an explicit compaction is in its
           * snapshot: the replay is one op per live entry */
          harness_compact (&h);
          ITERATE_UNTIL (h.pending == 0);
          assert_compacted_replay (h.logger, model, "after an explicit compaction while recording");
        }
      else if (r < 45)
        {
          /* a replay while recording has every op dumped before it */
          assert_replay_equal (h.logger, model, "replay while recording");
          n_plays++;
        }
      else if (r < 55)
        {
          harness_stop (&h);
          if (g_rand_boolean (rand))
            assert_replay_equal (h.logger, model, "replay of a stopped logger");
          harness_record (&h);
          n_restarts++;
        }
      else if (r < 65)
        {
          harness_close (&h);
          harness_open (&h, max_size, mode);
          assert_replay_equal (h.logger, model, "replay of a reopened logger");
          harness_record (&h);
          n_reopens++;
        }
      if (r < 15 || (r >= 45 && r < 65))
        clean = FALSE;

      if (i % window == window - 1)
        {
          /* A window of ops, several times max-size, with no explicit
           * compaction, stop or reopen in it: an automatic compaction
           * lands in it, or runs and lands soon. */
          if (clean)
            {
              ITERATE_UNTIL ((guint) g_atomic_int_get (&h.compacted) > landed_before);
              n_auto++;
            }
          /* the next window starts with no explicit compaction running */
          ITERATE_UNTIL (h.pending == 0);
          drain_main_context ();
          clean = TRUE;
          landed_before = g_atomic_int_get (&h.compacted);
        }
    }

  ITERATE_UNTIL (h.pending == 0);
  assert_replay_equal (h.logger, model, "final replay while recording");
  harness_stop (&h);
  assert_replay_equal (h.logger, model, "final replay of the stopped logger");

  harness_close (&h);
  harness_open (&h, max_size, mode);
  assert_replay_equal (h.logger, model, "final replay of a reopened logger");

  /* an explicit compaction of a stopped logger: a snapshot only,
   * configurations first, timestamps kept */
  harness_compact (&h);
  assert_fully_compacted_layout (h.dir);
  assert_compacted_replay (h.logger, model, "after compacting the stopped logger");

  g_test_message ("seed %u: %u ops (about %" G_GUINT64_FORMAT " bytes), %u compactions landed "
                  "(%u explicit requests, %u windows with an automatic one), %u plays, %u restarts, "
                  "%u reopens, %u live entries",
                  seed, n_ops, gen.dumped_bytes, (guint) g_atomic_int_get (&h.compacted),
                  h.explicit_done, n_auto, n_plays, n_restarts, n_reopens,
                  plog_test_model_n_live (model));
  /* many automatic compactions, not only the explicit ones */
  g_assert_cmpuint (n_auto, >=, 8);

  harness_close (&h);
  harness_open (&h, max_size, mode);
  assert_compacted_replay (h.logger, model, "a reopened, fully compacted logger");
  harness_clear (&h);
}

/* A snapshot holds the configurations first, then one op per live entry,
 * with their timestamps. */
static void
test_snapshot_shape (void)
{
  g_autoptr(PlogTestModel) model = plog_test_model_new ();
  g_autoptr(GPtrArray) ops = NULL;
  g_autoptr(PlogTestModel) replayed = NULL;
  Harness h;
  GHashTable *c;
  struct {
    const char *key, *sub, *value;
    gint64 ts;
  } puts[] = {
    { "alpha", NULL, "1", 10 },
    { "alpha", "x", "2", -20 },
    { "beta", NULL, "3", G_MAXINT64 },
    { "beta", "y", "4", G_MININT64 },
    { "gamma", NULL, "5", 0 },
    { "", NULL, "empty key", 77 },
    { "", "s", "empty key, sub key", 78 },
  };

  harness_init (&h);
  harness_open (&h, 0, PLOG_SYNC_MODE_NONE);
  harness_record (&h);

  for (guint round = 0; round < 2; round++)
    for (guint i = 0; i < G_N_ELEMENTS (puts); i++)
      {
        g_autoptr(GBytes) key = plog_test_bytes (puts[i].key);
        g_autoptr(GBytes) sub = puts[i].sub != NULL ? plog_test_bytes (puts[i].sub) : NULL;
        g_autoptr(GBytes) value = plog_test_bytes (puts[i].value);
        g_autoptr(PlogOp) op = plog_op_new (key, sub, value, puts[i].ts ^ round, TRUE, FALSE, NULL);

        plog_test_model_apply (model, op);
        g_assert_true (plog_logger_dump (h.logger, op, NULL));
      }

  /* configurations, dumped last, of keys, of the global one and one removed */
  for (guint i = 0; i < 4; i++)
    {
      g_autoptr(GBytes) key = i == 0 ? NULL : g_bytes_new_take (g_strdup_printf ("conf-%u", i), 6);
      g_autoptr(PlogOp) op = NULL;

      c = g_hash_table_new (g_str_hash, g_str_equal);
      g_hash_table_insert (c, (gpointer) "colour", (gpointer) (i % 2 ? "red" : "blue"));
      g_hash_table_insert (c, (gpointer) "size", (gpointer) "10");
      op = plog_op_new_configure (key, c, 1000 + i);
      g_hash_table_unref (c);
      plog_test_model_apply (model, op);
      g_assert_true (plog_logger_dump (h.logger, op, NULL));
    }
  {
    g_autoptr(GBytes) key = plog_test_bytes ("conf-3");
    g_autoptr(PlogOp) op = NULL;

    c = g_hash_table_new (g_str_hash, g_str_equal);
    op = plog_op_new_configure (key, c, 2000);
    g_hash_table_unref (c);
    plog_test_model_apply (model, op);
    g_assert_true (plog_logger_dump (h.logger, op, NULL));
  }
  {
    /* dead entries leave nothing in a snapshot */
    g_autoptr(GBytes) key = plog_test_bytes ("gamma");
    g_autoptr(GBytes) alpha = plog_test_bytes ("alpha");
    g_autoptr(PlogOp) del = plog_op_new_delete (key);
    g_autoptr(PlogOp) clear = plog_op_new_clear (alpha, 5);

    plog_test_model_apply (model, del);
    plog_test_model_apply (model, clear);
    g_assert_true (plog_logger_dump (h.logger, del, NULL));
    g_assert_true (plog_logger_dump (h.logger, clear, NULL));
  }
  g_assert_cmpuint (plog_test_model_n_configs (model), ==, 3);
  g_assert_cmpuint (plog_test_model_n_live (model), ==, 3 + 5);

  harness_stop (&h);
  harness_compact (&h);
  assert_fully_compacted_layout (h.dir);

  replayed = replay_model (h.logger, &ops);
  plog_test_model_assert_equal (model, replayed, "snapshot");
  assert_compacted_replay (h.logger, model, "snapshot");
  for (guint i = 0; i < ops->len; i++)
    {
      g_autofree char *s = plog_op_to_string (g_ptr_array_index (ops, i));

      g_test_message ("snapshot op %u: %s", i, s);
    }
  harness_clear (&h);
}

static void
sample_dir (const char *dir,
            guint      *max_files,
            guint64    *max_size)
{
  guint n;
  guint64 size;

  dir_usage (dir, &n, &size);
  *max_files = MAX (*max_files, n);
  *max_size = MAX (*max_size, size);
}

/* A long stream with a small max-size, dumped flat out from one thread
 * for a few seconds: the directory stays bounded by max-size plus the
 * live set, not by the history. A compaction has fixed costs (syncs of
 * the closed log, the snapshot and the directory, slowed by the dumper's
 * own writeback) during which the dumper goes on, so the bound allows
 * what the measured dump rate writes in half a second; the history is
 * four times that. */
static void
test_bounded (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (31337);
  g_autoptr(PlogTestModel) model = plog_test_model_new ();
  Gen gen = { rand, 20, 5, "", FALSE, 0, 0 };
  const gint64 max_size = 16384;
  const gint64 duration = (g_test_slow () ? 6 : 2) * G_USEC_PER_SEC;
  guint n_ops = 0;
  guint max_files = 0, n_files;
  guint64 max_bytes = 0, live_max = 0, final_bytes;
  guint64 bound, rate, dumped_at_peak = 0;
  gint64 start, elapsed;
  Harness h;

  harness_init (&h);
  harness_open (&h, max_size, PLOG_SYNC_MODE_NONE);
  harness_record (&h);

  start = g_get_monotonic_time ();
  for (;; n_ops++)
    {
      g_autoptr(PlogOp) op = gen_op (&gen, model);
      g_autoptr(GError) error = NULL;

      g_assert_true (plog_logger_dump (h.logger, op, &error));
      g_assert_no_error (error);
      if (n_ops % 500 == 499)
        {
          guint64 before = max_bytes;

          drain_main_context ();
          sample_dir (h.dir, &max_files, &max_bytes);
          if (max_bytes > before)
            dumped_at_peak = gen.dumped_bytes;
          live_max = MAX (live_max, plog_test_model_encoded_size (model));
          if (g_get_monotonic_time () - start >= duration)
            break;
        }
    }
  elapsed = MAX (g_get_monotonic_time () - start, 1);
  rate = gen.dumped_bytes * G_USEC_PER_SEC / elapsed;
  harness_stop (&h);
  drain_main_context ();
  assert_replay_equal (h.logger, model, "after a long stream");

  harness_compact (&h);
  dir_usage (h.dir, &n_files, &final_bytes);
  bound = 4 * max_size + 2 * live_max + rate / 2 + 1024 * 1024;
  g_test_message ("%u ops, about %" G_GUINT64_FORMAT " bytes dumped in %.3f s (%" G_GUINT64_FORMAT
                  " bytes/s), %u compactions; peak %u files, %" G_GUINT64_FORMAT " bytes on disk "
                  "(when %" G_GUINT64_FORMAT " bytes had been dumped); bound %" G_GUINT64_FORMAT
                  "; live set about %" G_GUINT64_FORMAT " bytes; at the end %u files, %"
                  G_GUINT64_FORMAT " bytes",
                  n_ops, gen.dumped_bytes, elapsed / 1e6, rate,
                  (guint) g_atomic_int_get (&h.compacted), max_files, max_bytes, dumped_at_peak,
                  bound, live_max, n_files, final_bytes);

  /* fully compacted: the live set only, between a header and an end
   * record of 16 bytes each */
  g_assert_cmpuint (n_files, ==, 1);
  g_assert_cmpuint (final_bytes, <=, 16 + plog_test_model_encoded_size (model) + 16);

  /* while the stream ran: a few logs and snapshots, nothing that grows
   * with the history */
  g_assert_cmpuint (g_atomic_int_get (&h.compacted), >=, 3);
  g_assert_cmpuint (max_files, <=, 16);
  g_assert_cmpuint (max_bytes, <=, bound);

  assert_compacted_replay (h.logger, model, "after a long stream, compacted");
  harness_clear (&h);
}

/* The size of the largest log in @dir. */
static gint64
largest_log (const char *dir)
{
  g_autoptr(GPtrArray) logs = plog_test_list_files (dir, ".log");
  gint64 largest = 0;

  for (guint i = 0; i < logs->len; i++)
    {
      GStatBuf st;

      /* A compaction may remove it meanwhile. */
      if (g_stat (logs->pdata[i], &st) == 0)
        largest = MAX (largest, (gint64) st.st_size);
    }
  return largest;
}

static PlogOp *
outrun_op (const char *prefix,
           guint       n)
{
  g_autofree char *key = g_strdup_printf ("%s-%05u", prefix, n);
  g_autoptr(GBytes) key_bytes = plog_test_bytes (key);
  g_autoptr(GBytes) value_bytes = plog_test_filled_bytes (512, 'a' + n % 26);

  return plog_op_new_put (key_bytes, value_bytes, n);
}

/* Opens @h recording with NONE, and dumps @n_live puts of 512-byte
 * values under keys of their own. */
static void
harness_record_live (Harness *h,
                     guint    n_live)
{
  g_autoptr(GError) error = NULL;

  harness_init (h);
  harness_open (h, 0, PLOG_SYNC_MODE_NONE);
  harness_record (h);
  for (guint i = 0; i < n_live; i++)
    {
      g_autoptr(PlogOp) op = outrun_op ("live", i);

      g_assert_true (plog_logger_dump (h->logger, op, &error));
      g_assert_no_error (error);
    }
}

/* A dumper that outruns compaction by far (a live set of 8 MiB that
 * every compaction rewrites, against a max-size of 32 KiB) waits for it
 * once the current log is four times max-size: no log grows past that by
 * more than the op that passed it, however long the stream lasts, and
 * nothing is lost. */
static void
test_outrun (void)
{
  const gint64 max_size = 32768;
  const guint n_live = 16384, n_hot = 100;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) ops = NULL;
  gint64 largest = 0, deadline, largest_record = 0;
  Harness h;
  guint n;

  harness_record_live (&h, n_live);
  /* The live set goes into a snapshot; the stream starts a fresh log. */
  harness_compact (&h);

  plog_logger_limit (h.logger, max_size);
  /* A second of dumps, and at least enough (each record is about 530
   * bytes) to pass max-size many times over, on a slow machine too. */
  deadline = g_get_monotonic_time () + G_USEC_PER_SEC;
  for (n = 0;
       n < 200000 && (g_get_monotonic_time () < deadline || (guint64) n * 530 <= 16 * max_size);
       n++)
    {
      g_autoptr(PlogOp) op = outrun_op ("hot", n % n_hot);

      largest_record = MAX (largest_record,
                            (gint64) plog_test_model_record_size (plog_op_get_key (op), NULL,
                                                                  plog_op_get_value (op),
                                                                  plog_op_get_timestamp (op),
                                                                  NULL));
      g_assert_true (plog_logger_dump (h.logger, op, &error));
      g_assert_no_error (error);
      if (n % 32 == 0)
        largest = MAX (largest, largest_log (h.dir));
    }
  g_test_message ("%u ops dumped; the largest log seen: %" G_GINT64_FORMAT " bytes", n, largest);
  /* Four times max-size, and the op that passed it: a dump waits once the
   * log's size divided by four is over max-size. */
  g_assert_cmpint (largest, <=, 4 * max_size + 3 + largest_record);

  harness_stop (&h);
  drain_main_context ();
  /* The last log may hold older puts of the hot keys, under max-size:
   * a snapshot holds one op per live entry. */
  harness_compact (&h);
  ops = plog_test_replay (h.logger);
  g_assert_cmpuint (ops->len, ==, n_live + MIN (n, n_hot));
  harness_clear (&h);
}

/* A figure of /proc/self/status in bytes ("VmRSS", "VmHWM"); -1 where
 * /proc does not tell. */
static gint64
vm_status (const char *name)
{
  g_autofree char *status = NULL;
  g_autofree char *field = g_strdup_printf ("\n%s:", name);
  const char *line;

  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL))
    return -1;
  line = strstr (status, field);
  if (line == NULL)
    return -1;
  return g_ascii_strtoll (line + strlen (field), NULL, 10) * 1024;
}

/* The compactor keeps a merge's memory for the next compaction, and gives
 * it back once none has come for a second. What it gives back is counted
 * from the peak, which the merge set whenever the memory went: under
 * AddressSanitizer free() keeps much of what it is given, but the table
 * and the larger chunks are unmapped. */
static void
test_memory_returned (void)
{
  const guint n_live = 65536;   /* a merge of about 40 MB */
  gint64 before, peak, now, deadline;
  Harness h;

  if (vm_status ("VmRSS") < 0 || vm_status ("VmHWM") < 0)
    {
      g_test_skip ("No VmRSS or VmHWM in /proc/self/status");
      return;
    }
  harness_record_live (&h, n_live);

  before = vm_status ("VmRSS");
  harness_compact (&h);
  peak = vm_status ("VmHWM");
  g_test_message ("RSS %" G_GINT64_FORMAT " kB before the compaction, peak %" G_GINT64_FORMAT
                  " kB", before / 1024, peak / 1024);
  g_assert_cmpint (peak - before, >, 24 * 1024 * 1024);

  deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while ((now = vm_status ("VmRSS")) > peak - 24 * 1024 * 1024 &&
         g_get_monotonic_time () < deadline)
    g_usleep (50 * G_TIME_SPAN_MILLISECOND);
  g_test_message ("RSS %" G_GINT64_FORMAT " kB once idle", now / 1024);
  g_assert_cmpint (now, <=, peak - 24 * 1024 * 1024);

  harness_stop (&h);
  harness_clear (&h);
}

static void
assert_ops_equal (PlogOp     *expected,
                  PlogOp     *got,
                  guint       index)
{
  if (!plog_op_equal (expected, got))
    {
      g_autofree char *e = plog_op_to_string (expected);
      g_autofree char *g = got != NULL ? plog_op_to_string (got) : g_strdup ("(end)");

      g_test_message ("op %u: expected %s, got %s", index, e, g);
      g_assert_not_reached ();
    }
}

/* A cursor pins the replay set it was opened on: compactions, clears and
 * later dumps change nothing it returns. */
static void
test_cursor_pinned (gconstpointer data)
{
  gboolean recording = GPOINTER_TO_INT (data);
  g_autoptr(GRand) rand = g_rand_new_with_seed (5150);
  g_autoptr(PlogTestModel) model = plog_test_model_new ();
  g_autoptr(GPtrArray) before = NULL;
  g_autoptr(GPtrArray) logs_before = NULL;
  g_autoptr(PlogCursor) cursor = NULL;
  g_autoptr(GError) error = NULL;
  Gen gen = { rand, 30, 4, "", TRUE, 0, 0 };
  guint read = 0;
  Harness h;

  harness_init (&h);
  harness_open (&h, 0, PLOG_SYNC_MODE_NONE);
  harness_record (&h);
  for (guint round = 0; round < 3; round++)
    {
      for (guint i = 0; i < 300; i++)
        {
          g_autoptr(PlogOp) op = gen_op (&gen, model);

          g_assert_true (plog_logger_dump (h.logger, op, NULL));
        }
      if (round == 0)
        harness_compact (&h);   /* a snapshot and logs after it */
      else
        {
          harness_stop (&h);
          harness_record (&h);
        }
    }
  if (!recording)
    harness_stop (&h);

  before = plog_test_replay (h.logger);
  logs_before = plog_test_list_files (h.dir, NULL);
  cursor = plog_logger_open_cursor (h.logger, &error);
  g_assert_no_error (error);
  g_assert_nonnull (cursor);

  for (; read < 10; read++)
    {
      g_autoptr(PlogOp) op = plog_cursor_next (cursor, NULL, &error);

      g_assert_no_error (error);
      assert_ops_equal (g_ptr_array_index (before, read), op, read);
    }

  /* compact everything the cursor pins, dump more, compact again, clear */
  harness_compact (&h);
  if (!recording)
    harness_record (&h);
  for (guint i = 0; i < 200; i++)
    {
      g_autoptr(PlogOp) op = gen_op (&gen, model);

      g_assert_true (plog_logger_dump (h.logger, op, NULL));
    }
  harness_compact (&h);
  {
    g_autoptr(PlogOp) op = plog_op_new_put (NULL, NULL, 1);

    g_assert_true (plog_logger_clear (h.logger, &error));
    g_assert_no_error (error);
    g_assert_true (plog_logger_dump (h.logger, op, NULL));
  }
  /* the pinned files are gone from the directory */
  for (guint i = 0; i < logs_before->len; i++)
    {
      const char *path = g_ptr_array_index (logs_before, i);

      if (!g_str_has_suffix (path, G_DIR_SEPARATOR_S "LOCK"))
        g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
    }

  for (;; read++)
    {
      g_autoptr(PlogOp) op = plog_cursor_next (cursor, NULL, &error);

      g_assert_no_error (error);
      if (op == NULL)
        break;
      g_assert_cmpuint (read, <, before->len);
      assert_ops_equal (g_ptr_array_index (before, read), op, read);
    }
  g_assert_cmpuint (read, ==, before->len);
  g_assert_null (plog_cursor_next (cursor, NULL, &error));
  g_assert_no_error (error);

  g_clear_object (&cursor);
  harness_clear (&h);
}

typedef struct
{
  PlogLogger    *logger;
  guint          index;
  guint          n_ops;
  PlogTestModel *model;
  gint          *running;
  gint          *enough;         /* set once enough explicit compactions ran */
} ThreadData;

static gpointer
dump_thread (gpointer user_data)
{
  ThreadData *td = user_data;
  g_autofree char *prefix = g_strdup_printf ("thread-%u/", td->index);
  g_autoptr(GRand) rand = g_rand_new_with_seed (1000 + td->index);
  Gen gen = { rand, 25, 5, prefix, FALSE, 0, 0 };

  /* at least n_ops, and on until the main thread has run a few explicit
   * compactions meanwhile */
  for (guint i = 0; i < td->n_ops || (!g_atomic_int_get (td->enough) && i < 50 * td->n_ops); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(PlogOp) op = gen_op (&gen, td->model);

      if (!plog_logger_dump (td->logger, op, &error))
        g_error ("thread %u, op %u: %s", td->index, i, error != NULL ? error->message : "no error");
      if (i % 64 == 63)
        g_usleep (1000);
    }
  g_atomic_int_dec_and_test (td->running);
  return NULL;
}

/* Four threads dump while automatic and explicit compactions run; every
 * thread's last writes are in the replayed state. */
static void
test_threads (void)
{
  ThreadData td[4];
  GThread *threads[4];
  g_autoptr(PlogTestModel) merged = plog_test_model_new ();
  gint running = G_N_ELEMENTS (td);
  gint enough = FALSE;
  guint explicit_rounds = 0;
  Harness h;

  harness_init (&h);
  harness_open (&h, 8192, PLOG_SYNC_MODE_PERIODIC);
  harness_record (&h);

  for (guint i = 0; i < G_N_ELEMENTS (td); i++)
    {
      td[i].logger = h.logger;
      td[i].index = i;
      td[i].n_ops = 16000;
      td[i].model = plog_test_model_new ();
      td[i].running = &running;
      td[i].enough = &enough;
      threads[i] = g_thread_new ("dumper", dump_thread, &td[i]);
    }

  while (g_atomic_int_get (&running) > 0)
    {
      harness_compact (&h);
      explicit_rounds++;
      if (explicit_rounds >= 3)
        g_atomic_int_set (&enough, TRUE);
      drain_main_context ();
    }
  for (guint i = 0; i < G_N_ELEMENTS (td); i++)
    {
      g_thread_join (threads[i]);
      plog_test_model_merge (merged, td[i].model);
      plog_test_model_free (td[i].model);
    }
  ITERATE_UNTIL (h.pending == 0);
  assert_replay_equal (h.logger, merged, "after four threads, while recording");
  harness_stop (&h);
  drain_main_context ();
  g_test_message ("%u compactions landed, %u explicit; %u live entries",
                  (guint) g_atomic_int_get (&h.compacted), explicit_rounds,
                  plog_test_model_n_live (merged));
  g_assert_cmpuint (explicit_rounds, >=, 3);
  g_assert_cmpuint ((guint) g_atomic_int_get (&h.compacted), >=, explicit_rounds);
  assert_replay_equal (h.logger, merged, "after four threads");

  harness_close (&h);
  harness_open (&h, 8192, PLOG_SYNC_MODE_PERIODIC);
  harness_compact (&h);
  assert_compacted_replay (h.logger, merged, "after four threads, reopened and compacted");
  harness_clear (&h);
}

/* }}} */

int
main (int   argc,
      char *argv[])
{
  /* No G_TEST_OPTION_ISOLATE_DIRS: these tests use no XDG directory, and
   * GLib 2.74 leaks the strings g_set_user_dirs () sets for every test,
   * which LeakSanitizer reports in the sanitized CI run. */
  g_test_init (&argc, &argv, NULL);

  /* every test in a suite of its own, so that they run in this order:
   * the long stream last */
  g_test_add_func ("/compaction/snapshot/shape", test_snapshot_shape);
  for (guint i = 0; i < G_N_ELEMENTS (seeds); i++)
    {
      g_autofree char *path = g_strdup_printf ("/compaction/equivalence/seed-%u", seeds[i]);

      g_test_add_data_func (path, GUINT_TO_POINTER (i), test_equivalence);
    }
  g_test_add_data_func ("/compaction/cursor-pinned/recording", GINT_TO_POINTER (TRUE), test_cursor_pinned);
  g_test_add_data_func ("/compaction/cursor-pinned/stopped", GINT_TO_POINTER (FALSE), test_cursor_pinned);
  g_test_add_func ("/compaction/threads/four", test_threads);
  g_test_add_func ("/compaction/bounded/long-stream", test_bounded);
  g_test_add_func ("/compaction/bounded/outrun", test_outrun);
  g_test_add_func ("/compaction/memory/returned", test_memory_returned);

  return g_test_run ();
}
