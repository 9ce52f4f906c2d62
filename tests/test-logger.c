/* test-logger.c: PlogLogger and PlogCursor through the public API
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <plog.h>

#include <errno.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plog-test-model.h"
#include "plog-test-util.h"

#define TIMEOUT_MS 10000
#define SUBPROCESS_TIMEOUT (30 * G_USEC_PER_SEC)

/* ------------------------------------------------------------------ */
/* Main-context helpers                                                */

#define ITERATE_UNTIL(expr, timeout_ms) PLOG_TEST_ITERATE_UNTIL (expr, timeout_ms)
#define drain_main_context plog_test_drain_main_context

/* ------------------------------------------------------------------ */
/* Op helpers                                                          */

static PlogOp *
op_put (const char *key,
        const char *value,
        gint64      timestamp)
{
  g_autoptr(GBytes) k = key ? plog_test_bytes (key) : NULL;
  g_autoptr(GBytes) v = value ? plog_test_bytes (value) : NULL;

  return plog_op_new_put (k, v, timestamp);
}

static PlogOp *
op_sub_put (const char *key,
            const char *sub_key,
            const char *value,
            gint64      timestamp)
{
  g_autoptr(GBytes) k = key ? plog_test_bytes (key) : NULL;
  g_autoptr(GBytes) s = sub_key ? plog_test_bytes (sub_key) : NULL;
  g_autoptr(GBytes) v = value ? plog_test_bytes (value) : NULL;

  return plog_op_new_sub_put (k, s, v, timestamp);
}

static PlogOp *
op_delete (const char *key)
{
  g_autoptr(GBytes) k = key ? plog_test_bytes (key) : NULL;

  return plog_op_new_delete (k);
}

static PlogOp *
op_sub_delete (const char *key,
               const char *sub_key)
{
  g_autoptr(GBytes) k = key ? plog_test_bytes (key) : NULL;
  g_autoptr(GBytes) s = sub_key ? plog_test_bytes (sub_key) : NULL;

  return plog_op_new_sub_delete (k, s);
}

static PlogOp *
op_clear (const char *key,
          gint64      timestamp)
{
  g_autoptr(GBytes) k = key ? plog_test_bytes (key) : NULL;

  return plog_op_new_clear (k, timestamp);
}

static PlogOp *
op_configure (const char *key,
              gint64      timestamp,
              ...) G_GNUC_NULL_TERMINATED;

static PlogOp *
op_configure (const char *key,
              gint64      timestamp,
              ...)
{
  g_autoptr(GBytes) k = key ? plog_test_bytes (key) : NULL;
  g_autoptr(GHashTable) config = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  const char *name;
  va_list args;

  va_start (args, timestamp);
  while ((name = va_arg (args, const char *)) != NULL)
    g_hash_table_insert (config, g_strdup (name), g_strdup (va_arg (args, const char *)));
  va_end (args);
  return plog_op_new_configure (k, config, timestamp);
}

static GPtrArray *
op_array_new (void)
{
  return g_ptr_array_new_with_free_func ((GDestroyNotify) plog_op_unref);
}

static void
assert_ops_equal (GPtrArray *got,
                  GPtrArray *expected)
{
  g_assert_nonnull (got);
  g_assert_nonnull (expected);
  for (guint i = 0; i < MIN (got->len, expected->len); i++)
    {
      PlogOp *a = g_ptr_array_index (got, i);
      PlogOp *b = g_ptr_array_index (expected, i);

      if (!plog_op_equal (a, b))
        {
          g_autofree char *sa = plog_op_to_string (a);
          g_autofree char *sb = plog_op_to_string (b);

          g_test_message ("op %u: got %s, expected %s", i, sa, sb);
          g_assert_true (plog_op_equal (a, b));
        }
    }
  g_assert_cmpuint (got->len, ==, expected->len);
}

static void
dump_all (PlogLogger *logger,
          GPtrArray  *ops)
{
  for (guint i = 0; i < ops->len; i++)
    {
      g_autoptr(GError) error = NULL;

      g_assert_true (plog_logger_dump (logger, g_ptr_array_index (ops, i), &error));
      g_assert_no_error (error);
    }
}

static void
dump_one (PlogLogger *logger,
          PlogOp     *op)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (plog_logger_dump (logger, op, &error));
  g_assert_no_error (error);
}

/* Dumps @op, appends it to @ops (if given) and drops the caller's ref. */
static void
dump_take (PlogLogger *logger,
           GPtrArray  *ops,
           PlogOp     *op)
{
  dump_one (logger, op);
  if (ops != NULL)
    g_ptr_array_add (ops, op);
  else
    plog_op_unref (op);
}

/* @logger replays exactly @expected. */
static void
assert_replays (PlogLogger *logger,
                GPtrArray  *expected)
{
  g_autoptr(GPtrArray) got = plog_test_replay (logger);

  assert_ops_equal (got, expected);
}

static GPtrArray *
read_cursor (PlogCursor *cursor)
{
  g_autoptr(GPtrArray) ops = op_array_new ();
  g_autoptr(GError) error = NULL;
  PlogOp *op;

  while ((op = plog_cursor_next (cursor, NULL, &error)) != NULL)
    g_ptr_array_add (ops, op);
  g_assert_no_error (error);
  /* The end is sticky. */
  g_assert_null (plog_cursor_next (cursor, NULL, &error));
  g_assert_no_error (error);
  return g_steal_pointer (&ops);
}

/* ------------------------------------------------------------------ */
/* A reference model of the merge semantics: plog-test-model.c         */

/* Replays @logger and checks that the state it rebuilds is @expected. */
static void
assert_replays_to (PlogLogger    *logger,
                   PlogTestModel *expected)
{
  g_autoptr(GPtrArray) ops = plog_test_replay (logger);
  g_autoptr(PlogTestModel) got = plog_test_model_new_from_ops (ops);

  plog_test_model_assert_equal (expected, got, "replay");
}

/* ------------------------------------------------------------------ */
/* Files                                                               */

static void
assert_private (const char *dir)
{
  g_autoptr(GPtrArray) files = plog_test_list_files (dir, NULL);
  GStatBuf st;

  g_assert_cmpint (g_stat (dir, &st), ==, 0);
  g_assert_true (S_ISDIR (st.st_mode));
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);

  for (guint i = 0; i < files->len; i++)
    {
      const char *path = g_ptr_array_index (files, i);

      g_assert_cmpint (g_lstat (path, &st), ==, 0);
      if (!S_ISREG (st.st_mode))
        continue;
      g_test_message ("%s: %o", path, (guint) (st.st_mode & 0777));
      g_assert_cmpint (st.st_mode & 0777, ==, 0600);
    }
}

/* ------------------------------------------------------------------ */
/* Fixture                                                             */

typedef struct
{
  char *tmp;            /* a private temporary directory */
  char *path;           /* tmp/db: the logger's directory, not created yet */
  PlogLogger *logger;
  GThread *main_thread;
  guint compacted;
  guint compacted_elsewhere;
  GPtrArray *replayed;  /* ops seen through ::replayed */
  guint replayed_elsewhere;
} Fixture;

static PlogLogger *
open_logger (const char *path)
{
  g_autoptr(GError) error = NULL;
  PlogLogger *logger = plog_logger_new (path, &error);

  g_assert_no_error (error);
  g_assert_true (PLOG_IS_LOGGER (logger));
  return logger;
}

/* Drops the last reference to *@logger and waits until it is finalized,
 * so that its lock is free again. */
static void
close_logger (PlogLogger **logger)
{
  PlogLogger *weak = *logger;

  if (weak == NULL)
    return;
  g_object_add_weak_pointer (G_OBJECT (weak), (gpointer *) &weak);
  g_clear_object (logger);
  ITERATE_UNTIL (weak == NULL, TIMEOUT_MS);
}

static void
on_compacted (PlogLogger *logger,
              Fixture    *f)
{
  if (g_thread_self () != f->main_thread)
    f->compacted_elsewhere++;
  f->compacted++;
}

static void
on_replayed (PlogLogger *logger,
             PlogOp     *op,
             Fixture    *f)
{
  g_assert_true (logger == f->logger);
  if (g_thread_self () != f->main_thread)
    f->replayed_elsewhere++;
  g_ptr_array_add (f->replayed, plog_op_ref (op));
}

static void
connect_signals (Fixture *f)
{
  g_signal_connect (f->logger, "compacted", G_CALLBACK (on_compacted), f);
  g_signal_connect (f->logger, "replayed", G_CALLBACK (on_replayed), f);
}

static void
fixture_reopen (Fixture *f)
{
  close_logger (&f->logger);
  f->logger = open_logger (f->path);
  connect_signals (f);
}

static void
record (PlogLogger *logger)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (plog_logger_record (logger, &error));
  g_assert_no_error (error);
  g_assert_true (plog_logger_get_recording (logger));
}

static void
stop (PlogLogger *logger)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (plog_logger_stop (logger, &error));
  g_assert_no_error (error);
  g_assert_false (plog_logger_get_recording (logger));
}

static void
setup (Fixture       *f,
       gconstpointer  data)
{
  f->tmp = plog_test_make_tmpdir ();
  f->path = g_build_filename (f->tmp, "db", NULL);
  f->main_thread = g_thread_self ();
  f->replayed = op_array_new ();
  if (GPOINTER_TO_INT (data))
    {
      f->logger = open_logger (f->path);
      connect_signals (f);
    }
}

static void
setup_closed (Fixture       *f,
              gconstpointer  data)
{
  setup (f, GINT_TO_POINTER (FALSE));
}

static void
teardown (Fixture       *f,
          gconstpointer  data)
{
  close_logger (&f->logger);
  drain_main_context ();
  g_assert_cmpuint (f->compacted_elsewhere, ==, 0);
  g_assert_cmpuint (f->replayed_elsewhere, ==, 0);
  g_clear_pointer (&f->replayed, g_ptr_array_unref);
  plog_test_rm_rf (f->tmp);
  g_clear_pointer (&f->tmp, g_free);
  g_clear_pointer (&f->path, g_free);
}

/* The directory shared by a test and its subprocess: named after the
 * parent's pid, which the child gets from getppid(). */
static char *
shared_dir (const char *name)
{
  int pid = g_test_subprocess () ? (int) getppid () : (int) getpid ();

  return g_strdup_printf ("%s/plog-test-%s-%d", g_get_tmp_dir (), name, pid);
}

/* Ops of every kind, with unusual field combinations and bytes. */
static GPtrArray *
every_kind_ops (void)
{
  static const guint8 binary[] = { 0x00, 0xff, 0x80, 0x00, 0x7f, 0xc0 };
  g_autoptr(GBytes) bin = g_bytes_new (binary, sizeof binary);
  g_autoptr(GBytes) k = plog_test_bytes ("key");
  g_autoptr(GBytes) s = plog_test_bytes ("sub");
  g_autoptr(GBytes) v = plog_test_bytes ("value");
  g_autoptr(GHashTable) big = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr(GHashTable) all = g_hash_table_new (g_str_hash, g_str_equal);
  GPtrArray *ops = op_array_new ();

  for (int i = 0; i < 30; i++)
    g_hash_table_insert (big, g_strdup_printf ("name-%02d", i), g_strdup_printf ("välue %d ✓", i));
  g_hash_table_insert (all, (char *) "x", (char *) "y");

  g_ptr_array_add (ops, op_put ("alpha", "1", 100));
  g_ptr_array_add (ops, op_put (NULL, "value of the empty key", 101));
  g_ptr_array_add (ops, plog_op_new_put (bin, bin, -5));
  g_ptr_array_add (ops, op_put ("zero-ts", "v", 0));
  g_ptr_array_add (ops, op_put ("max-ts", "v", G_MAXINT64));
  g_ptr_array_add (ops, op_put ("min-ts", "v", G_MININT64));
  g_ptr_array_add (ops, op_put ("no-value", NULL, 7));
  g_ptr_array_add (ops, op_sub_put ("alpha", "s1", "x", 102));
  g_ptr_array_add (ops, op_sub_put (NULL, "s-of-empty", "x", 103));
  g_ptr_array_add (ops, plog_op_new_sub_put (bin, bin, bin, 1));
  g_ptr_array_add (ops, op_delete ("alpha"));
  g_ptr_array_add (ops, op_delete (NULL));
  g_ptr_array_add (ops, op_sub_delete ("alpha", "s1"));
  g_ptr_array_add (ops, op_clear ("alpha", 104));
  g_ptr_array_add (ops, op_clear (NULL, 105));
  g_ptr_array_add (ops, op_configure ("alpha", 106, "a", "1", "b", "2", NULL));
  g_ptr_array_add (ops, op_configure (NULL, 107, "global", "yes", NULL));
  g_ptr_array_add (ops, op_configure ("alpha", 108, NULL));
  g_ptr_array_add (ops, op_configure ("clé", -1, "ключ", "значение", "", "", NULL));
  g_ptr_array_add (ops, plog_op_new_configure (k, big, 109));
  /* every field at once, and flags the kind does not need */
  g_ptr_array_add (ops, plog_op_new (k, s, v, 110, TRUE, TRUE, all));
  g_ptr_array_add (ops, plog_op_new (k, NULL, v, 111, FALSE, FALSE, NULL));
  g_ptr_array_add (ops, plog_op_new (k, s, v, G_MININT64 + 1, FALSE, TRUE, NULL));
  g_ptr_array_add (ops, plog_op_new (k, NULL, v, 112, TRUE, TRUE, NULL));
  g_ptr_array_add (ops, plog_op_new (NULL, NULL, NULL, 0, FALSE, FALSE, NULL));
  return ops;
}

/* ------------------------------------------------------------------ */
/* Construction, the lock, errors of plog_logger_new                   */

static void
test_new_creates_directory (Fixture       *f,
                            gconstpointer  data)
{
  g_autoptr(GPtrArray) ops = every_kind_ops ();
  g_autoptr(GError) error = NULL;
  GStatBuf st;

  g_assert_false (g_file_test (f->path, G_FILE_TEST_EXISTS));
  f->logger = open_logger (f->path);
  connect_signals (f);
  g_assert_true (g_file_test (f->path, G_FILE_TEST_IS_DIR));
  g_assert_cmpint (g_stat (f->path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);
  g_assert_cmpstr (plog_logger_get_directory (f->logger), ==, f->path);
  g_assert_false (plog_logger_get_recording (f->logger));

  /* Every file it creates (lock, log, snapshot) is private too. */
  record (f->logger);
  dump_all (f->logger, ops);
  g_assert_true (plog_logger_flush (f->logger, &error));
  g_assert_no_error (error);
  assert_private (f->path);
  g_assert_cmpuint (plog_test_count_files (f->path, ".log"), >=, 1);
  stop (f->logger);
  assert_private (f->path);
}

static void
test_new_existing_directory (Fixture       *f,
                             gconstpointer  data)
{
  /* plog_test_make_tmpdir made f->tmp already: an existing, empty dir */
  f->logger = open_logger (f->tmp);
  g_assert_cmpstr (plog_logger_get_directory (f->logger), ==, f->tmp);
  g_assert_true (G_IS_INITABLE (f->logger));
  g_assert_true (g_type_is_a (PLOG_TYPE_LOGGER, G_TYPE_OBJECT));
  close_logger (&f->logger);

  /* g_initable_new, as bindings construct it */
  {
    g_autoptr(GError) error = NULL;
    GObject *obj = g_initable_new (PLOG_TYPE_LOGGER, NULL, &error, "directory", f->tmp, NULL);

    g_assert_no_error (error);
    g_assert_true (PLOG_IS_LOGGER (obj));
    f->logger = PLOG_LOGGER (obj);
    g_assert_cmpstr (plog_logger_get_directory (f->logger), ==, f->tmp);
    close_logger (&f->logger);
  }
}

static void
assert_path_error (GError     *error,
                   const char *path)
{
  g_assert_nonnull (error);
  g_test_message ("error %s %d: %s", g_quark_to_string (error->domain), error->code, error->message);
  /* An OS failure (ENOTDIR, EEXIST): PLOG_ERROR_IO, naming the path. */
  g_assert_error (error, PLOG_ERROR, PLOG_ERROR_IO);
  g_assert_nonnull (strstr (error->message, path));
}

static void
test_new_not_a_directory (Fixture       *f,
                          gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) error2 = NULL;
  g_autofree char *below = g_build_filename (f->path, "below", NULL);
  PlogLogger *logger;

  g_assert_true (g_file_set_contents (f->path, "not a directory", -1, NULL));

  logger = plog_logger_new (f->path, &error);
  g_assert_null (logger);
  assert_path_error (error, f->path);

  /* A path below a regular file cannot be created either. */
  logger = plog_logger_new (below, &error2);
  g_assert_null (logger);
  assert_path_error (error2, f->path);

  /* The file is untouched. */
  {
    g_autofree char *contents = NULL;

    g_assert_true (g_file_get_contents (f->path, &contents, NULL, NULL));
    g_assert_cmpstr (contents, ==, "not a directory");
  }
}

/* A FIFO named like a log fails the replay, rather than hang it. */
static void
test_play_fifo (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *fifo = NULL;

  g_assert_cmpint (g_mkdir (f->path, 0700), ==, 0);
  fifo = g_build_filename (f->path, "00000000000000000001.log", NULL);
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);

  f->logger = open_logger (f->path);
  g_assert_false (plog_logger_play (f->logger, NULL, NULL, NULL, &error));
  assert_path_error (error, fifo);
  g_assert_nonnull (strstr (error->message, "not a regular file"));
}

static void
test_new_unwritable_directory (Fixture       *f,
                               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *inner = g_build_filename (f->path, "inner", NULL);
  PlogLogger *logger;

  if (geteuid () == 0)
    {
      g_test_skip ("root ignores directory permissions");
      return;
    }
  g_assert_cmpint (g_mkdir (f->path, 0500), ==, 0);

  logger = plog_logger_new (f->path, &error);
  g_assert_null (logger);
  g_assert_error (error, PLOG_ERROR, PLOG_ERROR_IO);
  g_assert_nonnull (strstr (error->message, f->path));
  g_clear_error (&error);

  logger = plog_logger_new (inner, &error);
  g_assert_null (logger);
  g_assert_error (error, PLOG_ERROR, PLOG_ERROR_IO);
  g_assert_nonnull (strstr (error->message, f->path));
  g_chmod (f->path, 0700);
}

static void
test_lock_same_process (Fixture       *f,
                        gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *slash = g_strconcat (f->path, "/", NULL);
  PlogLogger *second;
  g_autoptr(GPtrArray) ops = op_array_new ();

  f->logger = open_logger (f->path);

  second = plog_logger_new (f->path, &error);
  g_assert_null (second);
  g_assert_error (error, PLOG_ERROR, PLOG_ERROR_LOCKED);
  g_assert_nonnull (strstr (error->message, f->path));
  g_clear_error (&error);

  /* The same directory spelled differently is still the same directory. */
  second = plog_logger_new (slash, &error);
  g_assert_null (second);
  g_assert_error (error, PLOG_ERROR, PLOG_ERROR_LOCKED);
  g_clear_error (&error);

  /* The failed attempts did not disturb the holder. */
  record (f->logger);
  dump_take (f->logger, ops, op_put ("k", "v", 1));
  stop (f->logger);

  /* Once the holder is gone the directory is free. */
  close_logger (&f->logger);
  f->logger = open_logger (f->path);
  assert_replays (f->logger, ops);
}

/* A child process must get PLOG_ERROR_LOCKED while the parent holds the
 * directory, and the directory once the parent lets it go. */
static void
test_lock_other_process (void)
{
  g_autofree char *dir = shared_dir ("lock");
  g_autoptr(GError) error = NULL;
  PlogLogger *logger;

  if (g_test_subprocess ())
    {
      logger = plog_logger_new (dir, &error);
      if (logger == NULL)
        {
          g_assert_error (error, PLOG_ERROR, PLOG_ERROR_LOCKED);
          g_assert_nonnull (strstr (error->message, dir));
          g_print ("child: locked\n");
        }
      else
        {
          g_autoptr(PlogOp) op = op_put ("from-child", "v", 2);

          g_assert_no_error (error);
          record (logger);
          dump_one (logger, op);
          stop (logger);
          g_object_unref (logger);
          g_print ("child: acquired\n");
        }
      return;
    }

  plog_test_rm_rf (dir);
  logger = open_logger (dir);

  /* A failed attempt in this process must not drop the lock (as closing
   * any fd of the file would with POSIX record locks). */
  g_assert_null (plog_logger_new (dir, &error));
  g_assert_error (error, PLOG_ERROR, PLOG_ERROR_LOCKED);
  g_clear_error (&error);

  g_test_trap_subprocess (NULL, SUBPROCESS_TIMEOUT, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stdout ("*child: locked*");
  g_test_trap_assert_stdout_unmatched ("*child: acquired*");

  close_logger (&logger);

  g_test_trap_subprocess (NULL, SUBPROCESS_TIMEOUT, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stdout ("*child: acquired*");

  /* and the parent gets it back, with the child's op */
  logger = open_logger (dir);
  {
    g_autoptr(GPtrArray) got = plog_test_replay (logger);
    g_autoptr(GPtrArray) expected = op_array_new ();

    g_ptr_array_add (expected, op_put ("from-child", "v", 2));
    assert_ops_equal (got, expected);
  }
  close_logger (&logger);
  plog_test_rm_rf (dir);
}

/* ------------------------------------------------------------------ */
/* Properties                                                          */

static void
count_notify (GObject    *object,
              GParamSpec *pspec,
              guint      *count)
{
  (*count)++;
}

static void
test_property_directory (Fixture       *f,
                         gconstpointer  data)
{
  GParamSpec *pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (f->logger), "directory");
  g_autofree char *directory = NULL;

  g_assert_nonnull (pspec);
  g_assert_true (pspec->value_type == G_TYPE_STRING);
  g_assert_true (pspec->flags & G_PARAM_READABLE);
  g_assert_true (pspec->flags & G_PARAM_CONSTRUCT_ONLY);

  g_object_get (f->logger, "directory", &directory, NULL);
  g_assert_cmpstr (directory, ==, f->path);
  g_assert_cmpstr (plog_logger_get_directory (f->logger), ==, f->path);
}

static void
test_property_max_size (Fixture       *f,
                        gconstpointer  data)
{
  GParamSpec *pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (f->logger), "max-size");
  guint notified = 0;
  gint64 value = -1;

  g_assert_nonnull (pspec);
  g_assert_true (pspec->value_type == G_TYPE_INT64);
  g_assert_true ((pspec->flags & G_PARAM_READWRITE) == G_PARAM_READWRITE);
  g_assert_cmpint (plog_logger_get_max_size (f->logger), ==, 0);
  g_object_get (f->logger, "max-size", &value, NULL);
  g_assert_cmpint (value, ==, 0);

  g_signal_connect (f->logger, "notify::max-size", G_CALLBACK (count_notify), &notified);

  plog_logger_limit (f->logger, 4096);
  g_assert_cmpuint (notified, ==, 1);
  g_assert_cmpint (plog_logger_get_max_size (f->logger), ==, 4096);
  g_object_get (f->logger, "max-size", &value, NULL);
  g_assert_cmpint (value, ==, 4096);

  /* unchanged: no notify */
  plog_logger_limit (f->logger, 4096);
  g_assert_cmpuint (notified, ==, 1);

  g_object_set (f->logger, "max-size", (gint64) 1 << 40, NULL);
  g_assert_cmpuint (notified, ==, 2);
  g_assert_cmpint (plog_logger_get_max_size (f->logger), ==, (gint64) 1 << 40);
  g_object_set (f->logger, "max-size", (gint64) 1 << 40, NULL);
  g_assert_cmpuint (notified, ==, 2);

  /* while recording too */
  record (f->logger);
  plog_logger_limit (f->logger, 0);
  g_assert_cmpuint (notified, ==, 3);
  g_assert_cmpint (plog_logger_get_max_size (f->logger), ==, 0);
  stop (f->logger);
  g_assert_cmpuint (notified, ==, 3);
}

static void
test_property_recording (Fixture       *f,
                         gconstpointer  data)
{
  GParamSpec *pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (f->logger), "recording");
  guint notified = 0;
  gboolean value = TRUE;

  g_assert_nonnull (pspec);
  g_assert_true (pspec->value_type == G_TYPE_BOOLEAN);
  g_assert_true (pspec->flags & G_PARAM_READABLE);
  g_assert_false (pspec->flags & G_PARAM_WRITABLE);

  g_object_get (f->logger, "recording", &value, NULL);
  g_assert_false (value);
  g_signal_connect (f->logger, "notify::recording", G_CALLBACK (count_notify), &notified);

  record (f->logger);
  g_assert_cmpuint (notified, ==, 1);
  g_object_get (f->logger, "recording", &value, NULL);
  g_assert_true (value);

  record (f->logger);
  g_assert_cmpuint (notified, ==, 1);

  stop (f->logger);
  g_assert_cmpuint (notified, ==, 2);
  g_object_get (f->logger, "recording", &value, NULL);
  g_assert_false (value);

  stop (f->logger);
  g_assert_cmpuint (notified, ==, 2);

  record (f->logger);
  g_assert_cmpuint (notified, ==, 3);
}

static void
test_property_sync_mode (Fixture       *f,
                         gconstpointer  data)
{
  GParamSpec *pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (f->logger), "sync-mode");
  g_autoptr(GPtrArray) ops = op_array_new ();
  guint notified = 0;
  PlogSyncMode mode = PLOG_SYNC_MODE_NONE;

  g_assert_nonnull (pspec);
  g_assert_true (pspec->value_type == PLOG_TYPE_SYNC_MODE);
  g_assert_true ((pspec->flags & G_PARAM_READWRITE) == G_PARAM_READWRITE);
  g_assert_cmpint (G_PARAM_SPEC_ENUM (pspec)->default_value, ==, PLOG_SYNC_MODE_PERIODIC);

  g_assert_cmpint (plog_logger_get_sync_mode (f->logger), ==, PLOG_SYNC_MODE_PERIODIC);
  g_object_get (f->logger, "sync-mode", &mode, NULL);
  g_assert_cmpint (mode, ==, PLOG_SYNC_MODE_PERIODIC);

  g_signal_connect (f->logger, "notify::sync-mode", G_CALLBACK (count_notify), &notified);

  record (f->logger);
  dump_take (f->logger, ops, op_put ("a", "1", 1));

  /* changeable while recording */
  plog_logger_set_sync_mode (f->logger, PLOG_SYNC_MODE_ALWAYS);
  g_assert_cmpuint (notified, ==, 1);
  g_assert_cmpint (plog_logger_get_sync_mode (f->logger), ==, PLOG_SYNC_MODE_ALWAYS);
  dump_take (f->logger, ops, op_put ("b", "2", 2));

  plog_logger_set_sync_mode (f->logger, PLOG_SYNC_MODE_ALWAYS);
  g_assert_cmpuint (notified, ==, 1);

  g_object_set (f->logger, "sync-mode", PLOG_SYNC_MODE_NONE, NULL);
  g_assert_cmpuint (notified, ==, 2);
  g_assert_cmpint (plog_logger_get_sync_mode (f->logger), ==, PLOG_SYNC_MODE_NONE);
  g_object_get (f->logger, "sync-mode", &mode, NULL);
  g_assert_cmpint (mode, ==, PLOG_SYNC_MODE_NONE);
  dump_take (f->logger, ops, op_put ("c", "3", 3));

  g_object_set (f->logger, "sync-mode", PLOG_SYNC_MODE_NONE, NULL);
  g_assert_cmpuint (notified, ==, 2);

  plog_logger_set_sync_mode (f->logger, PLOG_SYNC_MODE_PERIODIC);
  g_assert_cmpuint (notified, ==, 3);
  dump_take (f->logger, ops, op_put ("d", "4", 4));
  stop (f->logger);

  fixture_reopen (f);
  assert_replays (f->logger, ops);
}

/* ------------------------------------------------------------------ */
/* record / dump / stop / flush                                        */

static void
test_record_twice (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(GPtrArray) ops = op_array_new ();
  guint n_logs;

  record (f->logger);
  dump_take (f->logger, ops, op_put ("a", "1", 1));
  n_logs = plog_test_count_files (f->path, ".log");
  g_assert_cmpuint (n_logs, >=, 1);

  /* already recording: a no-op, same log */
  record (f->logger);
  g_assert_cmpuint (plog_test_count_files (f->path, ".log"), ==, n_logs);
  dump_take (f->logger, ops, op_put ("b", "2", 2));
  stop (f->logger);

  fixture_reopen (f);
  assert_replays (f->logger, ops);
}

static void
test_record_after_stop (Fixture       *f,
                        gconstpointer  data)
{
  g_autoptr(GPtrArray) ops = op_array_new ();
  guint n_logs;

  record (f->logger);
  dump_take (f->logger, ops, op_put ("a", "1", 1));
  dump_take (f->logger, ops, op_sub_put ("a", "s", "x", 2));
  stop (f->logger);
  n_logs = plog_test_count_files (f->path, ".log");

  /* record always starts a fresh log */
  record (f->logger);
  g_assert_cmpuint (plog_test_count_files (f->path, ".log"), ==, n_logs + 1);
  dump_take (f->logger, ops, op_delete ("a"));
  dump_take (f->logger, ops, op_put ("b", "2", 3));
  stop (f->logger);

  assert_replays (f->logger, ops);

  /* and across a reopen, recording again in the new logger */
  fixture_reopen (f);
  record (f->logger);
  dump_take (f->logger, ops, op_put ("c", "3", 4));
  stop (f->logger);
  fixture_reopen (f);
  assert_replays (f->logger, ops);
}

static void
test_dump_not_recording (Fixture       *f,
                         gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PlogOp) op = op_put ("k", "v", 1);
  g_autoptr(PlogOp) op2 = op_put ("k2", "v2", 2);
  g_autoptr(GPtrArray) got = NULL;

  g_assert_false (plog_logger_dump (f->logger, op, &error));
  g_assert_error (error, PLOG_ERROR, PLOG_ERROR_NOT_RECORDING);
  g_clear_error (&error);

  record (f->logger);
  dump_one (f->logger, op);
  stop (f->logger);

  g_assert_false (plog_logger_dump (f->logger, op2, &error));
  g_assert_error (error, PLOG_ERROR, PLOG_ERROR_NOT_RECORDING);
  g_clear_error (&error);

  /* the refused op is not in the log */
  got = plog_test_replay (f->logger);
  g_assert_cmpuint (got->len, ==, 1);
  g_assert_true (plog_op_equal (g_ptr_array_index (got, 0), op));
}

static void
test_stop_not_recording (Fixture       *f,
                         gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (plog_logger_stop (f->logger, &error));
  g_assert_no_error (error);
  g_assert_false (plog_logger_get_recording (f->logger));

  record (f->logger);
  stop (f->logger);
  g_assert_true (plog_logger_stop (f->logger, &error));
  g_assert_no_error (error);
}

static void
test_flush (Fixture       *f,
            gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) ops = op_array_new ();

  /* not recording: a no-op */
  g_assert_true (plog_logger_flush (f->logger, &error));
  g_assert_no_error (error);

  record (f->logger);
  g_assert_true (plog_logger_flush (f->logger, &error));
  g_assert_no_error (error);
  for (int i = 0; i < 100; i++)
    {
      g_autofree char *key = g_strdup_printf ("key-%d", i);

      dump_take (f->logger, ops, op_put (key, "value", i));
      if (i % 10 == 0)
        {
          g_assert_true (plog_logger_flush (f->logger, &error));
          g_assert_no_error (error);
        }
    }
  g_assert_true (plog_logger_flush (f->logger, &error));
  g_assert_no_error (error);
  g_assert_true (plog_logger_get_recording (f->logger));
  stop (f->logger);
  g_assert_true (plog_logger_flush (f->logger, &error));
  g_assert_no_error (error);

  fixture_reopen (f);
  assert_replays (f->logger, ops);
}

static GPtrArray *
numbered_ops (const char *prefix,
              guint       n)
{
  GPtrArray *ops = op_array_new ();

  for (guint i = 0; i < n; i++)
    {
      g_autofree char *key = g_strdup_printf ("%s-%04u", prefix, i);
      g_autofree char *value = g_strdup_printf ("value %u of %s", i, prefix);

      g_ptr_array_add (ops, op_put (key, value, i));
    }
  return ops;
}

/* A process that ends without stop or unref right after @mode's
 * guarantee: what it flushed (NONE), saw acknowledged (ALWAYS) or left to
 * the background sync for a while (PERIODIC) replays. */
static void
run_exit_without_stop (const char   *name,
                       PlogSyncMode  mode,
                       gboolean      flush,
                       guint         sleep_ms)
{
  g_autofree char *dir = shared_dir (name);
  g_autoptr(GPtrArray) ops = numbered_ops (name, 50);

  if (g_test_subprocess ())
    {
      PlogLogger *logger = open_logger (dir);
      g_autoptr(GError) error = NULL;

      plog_logger_set_sync_mode (logger, mode);
      record (logger);
      dump_all (logger, ops);
      if (flush)
        {
          g_assert_true (plog_logger_flush (logger, &error));
          g_assert_no_error (error);
        }
      if (sleep_ms > 0)
        g_usleep (sleep_ms * 1000);
      /* no stop, no unref: the process just ends */
      _exit (0);
    }

  plog_test_rm_rf (dir);
  g_test_trap_subprocess (NULL, SUBPROCESS_TIMEOUT, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();

  {
    PlogLogger *logger = open_logger (dir);
    g_autoptr(GPtrArray) got = plog_test_replay (logger);

    assert_ops_equal (got, ops);
    close_logger (&logger);
  }
  plog_test_rm_rf (dir);
}

static void
test_flush_exit (void)
{
  run_exit_without_stop ("flush", PLOG_SYNC_MODE_NONE, TRUE, 0);
}

static void
test_always_exit (void)
{
  run_exit_without_stop ("always", PLOG_SYNC_MODE_ALWAYS, FALSE, 0);
}

static void
test_periodic_exit (void)
{
  run_exit_without_stop ("periodic", PLOG_SYNC_MODE_PERIODIC, FALSE, 2500);
}

/* ------------------------------------------------------------------ */
/* Round trips                                                         */

static void
test_round_trip (Fixture       *f,
                 gconstpointer  data)
{
  PlogSyncMode mode = GPOINTER_TO_INT (data);
  g_autoptr(GPtrArray) ops = every_kind_ops ();
  g_autoptr(GPtrArray) got = NULL;
  g_autoptr(GPtrArray) from_cursor = NULL;
  g_autoptr(PlogCursor) cursor = NULL;
  g_autoptr(GError) error = NULL;

  f->logger = open_logger (f->path);
  connect_signals (f);
  plog_logger_set_sync_mode (f->logger, mode);
  record (f->logger);
  dump_all (f->logger, ops);
  stop (f->logger);

  fixture_reopen (f);
  got = plog_test_replay (f->logger);
  assert_ops_equal (got, ops);
  for (guint i = 0; i < ops->len; i++)
    g_assert_cmpint (plog_op_get_kind (g_ptr_array_index (got, i)), ==,
                     plog_op_get_kind (g_ptr_array_index (ops, i)));

  cursor = plog_logger_open_cursor (f->logger, &error);
  g_assert_no_error (error);
  g_assert_true (PLOG_IS_CURSOR (cursor));
  from_cursor = read_cursor (cursor);
  assert_ops_equal (from_cursor, ops);
}

static void
test_round_trip_large_value (Fixture       *f,
                             gconstpointer  data)
{
  gsize size = 1024 * 1024 + 17;
  guint8 *buf = g_malloc (size);
  g_autoptr(GBytes) key = plog_test_bytes ("large");
  g_autoptr(GBytes) value = NULL;
  g_autoptr(GPtrArray) ops = op_array_new ();

  for (gsize i = 0; i < size; i++)
    buf[i] = (guint8) (i * 7 + (i >> 9));
  value = g_bytes_new_take (buf, size);

  record (f->logger);
  dump_take (f->logger, ops, op_put ("before", "1", 1));
  dump_take (f->logger, ops, plog_op_new_put (key, value, 2));
  dump_take (f->logger, ops, op_put ("after", "2", 3));
  stop (f->logger);
  fixture_reopen (f);
  assert_replays (f->logger, ops);
}

/* An op whose record would exceed PLOG_OP_MAX_SIZE is refused and loses
 * nothing; one just below it is taken. */
static void
test_dump_too_large (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(GBytes) key = plog_test_bytes ("big");
  g_autoptr(GBytes) huge = g_bytes_new_take (g_malloc0 (PLOG_OP_MAX_SIZE), PLOG_OP_MAX_SIZE);
  g_autoptr(GBytes) fits = g_bytes_new_from_bytes (huge, 0, PLOG_OP_MAX_SIZE - 1024);
  g_autoptr(PlogOp) too_large = plog_op_new_put (key, huge, 2);
  g_autoptr(GPtrArray) ops = op_array_new ();
  g_autoptr(GError) error = NULL;

  record (f->logger);
  dump_take (f->logger, ops, op_put ("before", "1", 1));

  g_assert_false (plog_logger_dump (f->logger, too_large, &error));
  g_assert_error (error, PLOG_ERROR, PLOG_ERROR_TOO_LARGE);
  /* The message names the directory. */
  g_assert_nonnull (strstr (error->message, f->path));
  g_clear_error (&error);
  g_assert_true (plog_logger_get_recording (f->logger));

  dump_take (f->logger, ops, op_put ("after", "2", 3));
  dump_take (f->logger, ops, plog_op_new_put (key, fits, 4));
  dump_take (f->logger, ops, op_put ("last", "3", 5));
  stop (f->logger);

  fixture_reopen (f);
  assert_replays (f->logger, ops);
}

static gpointer
dump_thread_func (gpointer data)
{
  Fixture *f = data;
  g_autoptr(GPtrArray) ops = numbered_ops ("thread", 200);

  dump_all (f->logger, ops);
  return NULL;
}

static void
test_dump_other_thread (Fixture       *f,
                        gconstpointer  data)
{
  g_autoptr(GPtrArray) ops = numbered_ops ("thread", 200);
  GThread *thread;

  record (f->logger);
  thread = g_thread_new ("dumper", dump_thread_func, f);
  g_thread_join (thread);
  stop (f->logger);

  fixture_reopen (f);
  assert_replays (f->logger, ops);
}

static void
test_unref_recording (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(GPtrArray) ops = numbered_ops ("unref", 300);

  plog_logger_set_sync_mode (f->logger, PLOG_SYNC_MODE_NONE);
  record (f->logger);
  dump_all (f->logger, ops);
  /* no stop: the last unref stops cleanly and frees the lock */
  fixture_reopen (f);
  assert_replays (f->logger, ops);
  record (f->logger);
  stop (f->logger);
}

/* A stop that fails for real (the file size limit, with SIGXFSZ ignored,
 * makes write() fail with EFBIG) reports PLOG_ERROR_IO naming the file,
 * and the logger is then freed without a crash. */
#define N_WRITTEN 50

static void
test_stop_failed_then_unref (gconstpointer data)
{
  gboolean use_close = GPOINTER_TO_INT (data);
  g_autofree char *dir = shared_dir (use_close ? "close-failed" : "stop-failed");
  g_autoptr(GPtrArray) ops = numbered_ops ("efbig-padding-padding-padding-padding-padding", 2000);

  if (g_test_subprocess ())
    {
      PlogLogger *logger;
      g_autoptr(GError) error = NULL;
      struct rlimit limit;
      gboolean dump_failed = FALSE;
      gboolean ok;

      /* A warning from the library about the failure is fine here; a
       * critical or a crash is not. */
      g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
      signal (SIGXFSZ, SIG_IGN);

      logger = open_logger (dir);
      plog_logger_set_sync_mode (logger, PLOG_SYNC_MODE_NONE);
      record (logger);

      /* these are written before the limit comes: they must survive */
      for (guint i = 0; i < N_WRITTEN; i++)
        dump_one (logger, g_ptr_array_index (ops, i));
      g_assert_true (plog_logger_flush (logger, &error));
      g_assert_no_error (error);

      g_assert_cmpint (getrlimit (RLIMIT_FSIZE, &limit), ==, 0);
      limit.rlim_cur = 16384;
      g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &limit), ==, 0);

      for (guint i = N_WRITTEN; i < ops->len && !dump_failed; i++)
        if (!plog_logger_dump (logger, g_ptr_array_index (ops, i), &error))
          {
            g_assert_error (error, PLOG_ERROR, PLOG_ERROR_IO);
            g_assert_nonnull (strstr (error->message, dir));
            g_clear_error (&error);
            dump_failed = TRUE;
          }

      ok = use_close ? plog_logger_close (logger, &error) : plog_logger_stop (logger, &error);
      if (!dump_failed)
        {
          /* everything was buffered: stop has to write it, and cannot */
          g_assert_false (ok);
          g_assert_error (error, PLOG_ERROR, PLOG_ERROR_IO);
          g_assert_nonnull (strstr (error->message, dir));
        }
      else if (!ok)
        g_assert_true (error->domain == PLOG_ERROR);
      g_clear_error (&error);
      if (use_close)
        {
          /* closed all the same: not recording, and the lock is free */
          PlogLogger *next;

          g_assert_false (plog_logger_get_recording (logger));
          next = plog_logger_new (dir, &error);
          g_assert_no_error (error);
          g_object_unref (next);
        }

      g_object_unref (logger);
      g_print ("child: freed\n");
      return;
    }

  plog_test_rm_rf (dir);
  g_test_trap_subprocess (NULL, SUBPROCESS_TIMEOUT, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stdout ("*child: freed*");

  /* The directory opens again and replays a prefix of what was dumped
   * (the tail that could not be written is a torn tail at worst). */
  {
    PlogLogger *logger = open_logger (dir);
    g_autoptr(GPtrArray) got = plog_test_replay (logger);

    g_test_message ("%u of %u ops replayed", got->len, ops->len);
    g_assert_cmpuint (got->len, >=, N_WRITTEN);
    g_assert_cmpuint (got->len, <, ops->len);
    for (guint i = 0; i < got->len; i++)
      g_assert_true (plog_op_equal (g_ptr_array_index (got, i), g_ptr_array_index (ops, i)));
    /* and it records again */
    record (logger);
    dump_one (logger, g_ptr_array_index (ops, 0));
    stop (logger);
    close_logger (&logger);
  }
  plog_test_rm_rf (dir);
}

/* ------------------------------------------------------------------ */
/* play                                                                */

static void
test_play_empty (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(GPtrArray) got = plog_test_replay (f->logger);

  g_assert_cmpuint (got->len, ==, 0);
  g_assert_cmpuint (f->replayed->len, ==, 0);

  record (f->logger);
  g_clear_pointer (&got, g_ptr_array_unref);
  got = plog_test_replay (f->logger);
  g_assert_cmpuint (got->len, ==, 0);
  stop (f->logger);
}

static void
test_play_while_recording (Fixture       *f,
                           gconstpointer  data)
{
  g_autoptr(GPtrArray) ops = op_array_new ();

  plog_logger_set_sync_mode (f->logger, PLOG_SYNC_MODE_NONE);
  record (f->logger);
  dump_take (f->logger, ops, op_put ("a", "1", 1));
  dump_take (f->logger, ops, op_sub_put ("a", "s", "2", 2));
  dump_take (f->logger, ops, op_configure (NULL, 3, "c", "d", NULL));
  assert_replays (f->logger, ops);
  g_assert_true (plog_logger_get_recording (f->logger));

  dump_take (f->logger, ops, op_delete ("a"));
  dump_take (f->logger, ops, op_clear (NULL, 4));
  assert_replays (f->logger, ops);

  /* and it still records after playing */
  dump_take (f->logger, ops, op_put ("b", "5", 5));
  stop (f->logger);
  fixture_reopen (f);
  assert_replays (f->logger, ops);
}

typedef struct
{
  PlogLogger *logger;
  GPtrArray *ops;
} SwappedData;

/* Connected with g_signal_connect_swapped(): the user data comes first. */
static void
on_replayed_swapped (SwappedData *data,
                     PlogOp      *op,
                     PlogLogger  *logger)
{
  g_assert_true (logger == data->logger);
  g_ptr_array_add (data->ops, plog_op_ref (op));
}

/* Connected after the others: it sees the op they saw, still alive. */
static void
on_replayed_after (PlogLogger *logger,
                   PlogOp     *op,
                   Fixture    *f)
{
  g_assert_true (logger == f->logger);
  g_assert_cmpuint (f->replayed->len, >, 0);
  g_assert_true (g_ptr_array_index (f->replayed, f->replayed->len - 1) == op);
}

static void
test_play_signal (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(GPtrArray) ops = every_kind_ops ();
  g_autoptr(GPtrArray) via_callback = op_array_new ();
  g_autoptr(GPtrArray) via_swapped = op_array_new ();
  g_autoptr(GPtrArray) via_after = op_array_new ();
  SwappedData swapped = { f->logger, via_swapped };
  g_autoptr(GError) error = NULL;
  gulong swapped_id, after_id;

  record (f->logger);
  dump_all (f->logger, ops);
  stop (f->logger);

  /* with an operate func: both it and the signal see every op, in order */
  g_assert_true (plog_logger_play (f->logger, plog_test_collect_op, via_callback, NULL, &error));
  g_assert_no_error (error);
  assert_ops_equal (via_callback, ops);
  assert_ops_equal (f->replayed, ops);

  /* without one: the signal alone */
  g_ptr_array_set_size (f->replayed, 0);
  g_assert_true (plog_logger_play (f->logger, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  assert_ops_equal (f->replayed, ops);

  /* handlers connected swapped and after get their arguments in place,
   * and the ops they keep stay valid after the replay */
  g_ptr_array_set_size (f->replayed, 0);
  swapped_id = g_signal_connect_swapped (f->logger, "replayed",
                                         G_CALLBACK (on_replayed_swapped), &swapped);
  after_id = g_signal_connect_after (f->logger, "replayed", G_CALLBACK (on_replayed_after), f);
  g_assert_true (plog_logger_play (f->logger, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  g_signal_handler_disconnect (f->logger, swapped_id);
  g_signal_handler_disconnect (f->logger, after_id);
  assert_ops_equal (f->replayed, ops);
  assert_ops_equal (via_swapped, ops);

  /* The same, each handler alone: GLib calls a lone handler through the
   * signal's own va_list marshaller, several through GValues. */
  g_signal_handlers_block_by_func (f->logger, on_replayed, f);
  g_ptr_array_set_size (via_swapped, 0);
  swapped_id = g_signal_connect_swapped (f->logger, "replayed",
                                         G_CALLBACK (on_replayed_swapped), &swapped);
  g_assert_true (plog_logger_play (f->logger, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  g_signal_handler_disconnect (f->logger, swapped_id);
  assert_ops_equal (via_swapped, ops);

  after_id = g_signal_connect_after (f->logger, "replayed",
                                     G_CALLBACK (plog_test_collect_replayed), via_after);
  g_assert_true (plog_logger_play (f->logger, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  g_signal_handler_disconnect (f->logger, after_id);
  g_signal_handlers_unblock_by_func (f->logger, on_replayed, f);
  assert_ops_equal (via_after, ops);
}

typedef struct
{
  GCancellable *cancellable;
  guint count;
  guint cancel_at;
} CancelData;

static void
count_and_cancel (PlogOp   *op,
                  gpointer  user_data)
{
  CancelData *data = user_data;

  if (++data->count == data->cancel_at)
    g_cancellable_cancel (data->cancellable);
}

static void
test_play_cancelled (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(GPtrArray) ops = numbered_ops ("cancel", 20000);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  CancelData cancel = { cancellable, 0, 0 };

  record (f->logger);
  dump_all (f->logger, ops);
  stop (f->logger);

  /* already cancelled */
  g_cancellable_cancel (cancellable);
  g_assert_false (plog_logger_play (f->logger, count_and_cancel, &cancel, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  g_assert_cmpuint (cancel.count, ==, 0);

  /* cancelled during the play, at the first op, and several batches in
   * (read ahead by a worker thread by then): checked after each op */
  for (guint at = 1; at <= 5001; at += 5000)
    {
      g_cancellable_reset (cancellable);
      cancel.count = 0;
      cancel.cancel_at = at;
      g_assert_false (plog_logger_play (f->logger, count_and_cancel, &cancel, cancellable, &error));
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
      g_clear_error (&error);
      g_assert_cmpuint (cancel.count, ==, at);
    }

  /* the logger is fine afterwards */
  assert_replays (f->logger, ops);
}

/* ------------------------------------------------------------------ */
/* play_async                                                          */

typedef struct
{
  PlogLogger *logger;
  GMainContext *context;     /* where the play must deliver */
  GThread *thread;
  GCancellable *cancellable;
  guint cancel_at;
  GPtrArray *ops;
  guint wrong_context;
  guint after_callback;
  guint n_at_callback;
  gboolean done;
  gboolean ok;
  GError *error;
} AsyncPlay;

static void
async_play_on_replayed (PlogLogger *logger,
                        PlogOp     *op,
                        AsyncPlay  *p)
{
  if (g_thread_self () != p->thread || !g_main_context_is_owner (p->context))
    p->wrong_context++;
  if (p->done)
    p->after_callback++;
  g_ptr_array_add (p->ops, plog_op_ref (op));
  if (p->cancellable != NULL && p->ops->len == p->cancel_at)
    g_cancellable_cancel (p->cancellable);
}

static void
async_play_done (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  AsyncPlay *p = user_data;

  g_assert_true (source == G_OBJECT (p->logger));
  if (g_thread_self () != p->thread || !g_main_context_is_owner (p->context))
    p->wrong_context++;
  p->n_at_callback = p->ops->len;
  p->ok = plog_logger_play_finish (p->logger, result, &p->error);
  p->done = TRUE;
}

static void
async_play_clear (AsyncPlay *p)
{
  g_clear_pointer (&p->ops, g_ptr_array_unref);
  g_clear_error (&p->error);
}

static gboolean
async_timeout_cb (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

static gpointer
async_play_thread (gpointer data)
{
  AsyncPlay *p = data;
  gboolean timed_out = FALSE;
  GSource *timeout;

  p->thread = g_thread_self ();
  p->context = g_main_context_new ();
  g_main_context_push_thread_default (p->context);

  timeout = g_timeout_source_new (TIMEOUT_MS);
  g_source_set_callback (timeout, async_timeout_cb, &timed_out, NULL);
  g_source_attach (timeout, p->context);

  plog_logger_play_async (p->logger, p->cancellable, async_play_done, p);
  while (!p->done && !timed_out)
    g_main_context_iteration (p->context, TRUE);
  /* give a late signal the chance to show up */
  while (g_main_context_iteration (p->context, FALSE))
    ;

  g_source_destroy (timeout);
  g_source_unref (timeout);
  g_main_context_pop_thread_default (p->context);
  g_main_context_unref (p->context);
  p->context = NULL;
  return NULL;
}

/* play_async in the main thread, whose thread-default context is the
 * global default one, delivers exactly @expected there, callback last. */
static void
assert_play_async_default_context (PlogLogger *logger,
                                   GPtrArray  *expected)
{
  AsyncPlay p = { 0, };
  gulong id;

  p.logger = logger;
  p.ops = op_array_new ();
  p.thread = g_thread_self ();
  p.context = g_main_context_default ();
  id = g_signal_connect (logger, "replayed", G_CALLBACK (async_play_on_replayed), &p);
  plog_logger_play_async (logger, NULL, async_play_done, &p);
  ITERATE_UNTIL (p.done, TIMEOUT_MS);
  drain_main_context ();
  g_signal_handler_disconnect (logger, id);

  g_assert_no_error (p.error);
  g_assert_true (p.ok);
  g_assert_cmpuint (p.wrong_context, ==, 0);
  g_assert_cmpuint (p.after_callback, ==, 0);
  g_assert_cmpuint (p.n_at_callback, ==, expected->len);
  assert_ops_equal (p.ops, expected);
  async_play_clear (&p);
}

static void
collect_full_cb (PlogOp   *op,
                 gpointer  user_data)
{
  g_ptr_array_add (user_data, op);
}

/* Ops of every size, from one byte to values larger than the batches a
 * replay reads ahead in, come back whole and in order through each way
 * of replaying: a callback, a callback that owns its ops, the signal of
 * play_async(), and a cursor. */
static void
test_play_mixed_sizes (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (20261202);
  g_autoptr(GPtrArray) ops = op_array_new ();
  g_autoptr(GPtrArray) owned = op_array_new ();
  g_autoptr(GPtrArray) from_cursor = NULL;
  g_autoptr(PlogCursor) cursor = NULL;
  g_autoptr(GError) error = NULL;

  plog_logger_set_sync_mode (f->logger, PLOG_SYNC_MODE_NONE);
  record (f->logger);
  for (guint i = 0; i < 1500; i++)
    {
      g_autofree char *key = g_strdup_printf ("key-%04u", i);

      if (i % 40 == 3)
        {
          gsize size = g_rand_int_range (rand, 64 * 1024, 700 * 1024);
          guint8 *buf = g_malloc (size);
          g_autoptr(GBytes) k = plog_test_bytes (key);
          g_autoptr(GBytes) v = NULL;

          for (gsize j = 0; j < size; j++)
            buf[j] = (guint8) (i + j * 31);
          v = g_bytes_new_take (buf, size);
          dump_take (f->logger, ops, plog_op_new_put (k, v, i + 1));
        }
      else if (i % 97 == 5)
        dump_take (f->logger, ops, op_configure (key, i + 1, "size", "mixed", NULL));
      else
        {
          g_autofree char *value = g_strnfill (g_rand_int_range (rand, 1, 300), 'a' + i % 26);

          dump_take (f->logger, ops, op_put (key, value, i + 1));
        }
    }
  stop (f->logger);
  fixture_reopen (f);

  /* With a handler of ::replayed, the replay's worker makes the ops;
   * without, the thread that delivers them does. */
  assert_replays (f->logger, ops);
  g_signal_handlers_disconnect_by_func (f->logger, on_replayed, f);
  assert_replays (f->logger, ops);

  g_assert_true (plog_logger_play_full (f->logger, collect_full_cb, owned, NULL, &error));
  g_assert_no_error (error);
  assert_ops_equal (owned, ops);

  cursor = plog_logger_open_cursor (f->logger, &error);
  g_assert_no_error (error);
  from_cursor = read_cursor (cursor);
  assert_ops_equal (from_cursor, ops);

  assert_play_async_default_context (f->logger, ops);
}

/* play_async from a thread with its own thread-default context: the
 * signals and the callback arrive there, in order, callback last. */
static void
test_play_async_thread_context (Fixture       *f,
                                gconstpointer  data)
{
  g_autoptr(GPtrArray) ops = numbered_ops ("async", 5000);
  AsyncPlay p = { 0, };
  gulong id;
  GThread *thread;

  record (f->logger);
  dump_all (f->logger, ops);
  stop (f->logger);

  /* Only this test's handler: the fixture's one checks for the main thread. */
  g_signal_handlers_disconnect_by_func (f->logger, on_replayed, f);
  p.logger = f->logger;
  p.ops = op_array_new ();
  id = g_signal_connect (f->logger, "replayed", G_CALLBACK (async_play_on_replayed), &p);

  /* The main context is not iterated meanwhile: nothing may depend on it. */
  thread = g_thread_new ("async-play", async_play_thread, &p);
  g_thread_join (thread);
  /* Anything wrongly queued in the logger's own (main) context shows up
   * now, as a signal in the wrong thread. */
  drain_main_context ();
  g_signal_handler_disconnect (f->logger, id);

  g_assert_true (p.done);
  g_assert_no_error (p.error);
  g_assert_true (p.ok);
  g_assert_cmpuint (p.wrong_context, ==, 0);
  g_assert_cmpuint (p.after_callback, ==, 0);
  g_assert_cmpuint (p.n_at_callback, ==, ops->len);
  assert_ops_equal (p.ops, ops);
  async_play_clear (&p);
}

/* play_async in the main thread, whose thread-default context is the
 * global default one. */
static void
test_play_async_default_context (Fixture       *f,
                                 gconstpointer  data)
{
  g_autoptr(GPtrArray) ops = every_kind_ops ();

  plog_logger_set_sync_mode (f->logger, PLOG_SYNC_MODE_NONE);
  record (f->logger);
  dump_all (f->logger, ops);

  /* while recording: every op dumped before the call */
  assert_play_async_default_context (f->logger, ops);
  stop (f->logger);
}

static void
test_play_async_cancelled (Fixture       *f,
                           gconstpointer  data)
{
  g_autoptr(GPtrArray) ops = numbered_ops ("cancel", 20000);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  AsyncPlay p = { 0, };
  gulong id;

  record (f->logger);
  dump_all (f->logger, ops);
  stop (f->logger);

  p.logger = f->logger;
  p.thread = g_thread_self ();
  p.context = g_main_context_default ();
  id = g_signal_connect (f->logger, "replayed", G_CALLBACK (async_play_on_replayed), &p);

  /* already cancelled */
  p.ops = op_array_new ();
  g_cancellable_cancel (cancellable);
  plog_logger_play_async (f->logger, cancellable, async_play_done, &p);
  ITERATE_UNTIL (p.done, TIMEOUT_MS);
  g_assert_false (p.ok);
  g_assert_error (p.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpuint (p.ops->len, ==, 0);
  async_play_clear (&p);

  /* cancelled from the first signal */
  g_cancellable_reset (cancellable);
  p.ops = op_array_new ();
  p.done = FALSE;
  p.cancellable = cancellable;
  p.cancel_at = 1;
  plog_logger_play_async (f->logger, cancellable, async_play_done, &p);
  ITERATE_UNTIL (p.done, TIMEOUT_MS);
  drain_main_context ();
  g_assert_false (p.ok);
  g_assert_error (p.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  /* Checked after each op: none after the one that cancelled. */
  g_assert_cmpuint (p.ops->len, ==, 1);
  g_assert_cmpuint (p.after_callback, ==, 0);
  g_assert_cmpuint (p.wrong_context, ==, 0);
  async_play_clear (&p);

  g_signal_handler_disconnect (f->logger, id);
}

/* How many threads of this process are named @name (-1 where that
 * cannot be told). */
static int
count_threads_named (const char *name)
{
#ifdef __linux__
  g_autoptr(GDir) dir = g_dir_open ("/proc/self/task", 0, NULL);
  const char *tid;
  int n = 0;

  if (dir == NULL)
    return -1;
  while ((tid = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename ("/proc/self/task", tid, "comm", NULL);
      g_autofree char *comm = NULL;

      if (g_file_get_contents (path, &comm, NULL, NULL) && g_strcmp0 (g_strchomp (comm), name) == 0)
        n++;
    }
  return n;
#else
  return -1;
#endif
}

/* A play_async cancelled while its context does not run: its worker,
 * waiting with a full queue, ends at once, not at the next dispatch. */
static void
test_play_async_cancel_idle_context (Fixture       *f,
                                     gconstpointer  data)
{
  g_autoptr(GPtrArray) ops = numbered_ops ("idle", 60000);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GMainContext) context = g_main_context_new ();
  AsyncPlay p = { 0, };
  gint64 deadline;
  gulong id;

  if (count_threads_named ("plog-replay") < 0)
    {
      g_test_skip ("threads cannot be counted here");
      return;
    }
  record (f->logger);
  dump_all (f->logger, ops);
  stop (f->logger);

  g_main_context_push_thread_default (context);
  p.logger = f->logger;
  p.thread = g_thread_self ();
  p.context = context;
  p.ops = op_array_new ();
  id = g_signal_connect (f->logger, "replayed", G_CALLBACK (async_play_on_replayed), &p);
  plog_logger_play_async (f->logger, cancellable, async_play_done, &p);

  /* The worker fills its queue, then waits: nobody takes a batch. */
  deadline = g_get_monotonic_time () + TIMEOUT_MS * G_TIME_SPAN_MILLISECOND;
  while (count_threads_named ("plog-replay") == 0 && g_get_monotonic_time () < deadline)
    g_usleep (1000);
  g_usleep (100 * 1000);
  g_assert_cmpint (count_threads_named ("plog-replay"), ==, 1);

  g_cancellable_cancel (cancellable);
  deadline = g_get_monotonic_time () + TIMEOUT_MS * G_TIME_SPAN_MILLISECOND;
  while (count_threads_named ("plog-replay") > 0 && g_get_monotonic_time () < deadline)
    g_usleep (1000);
  g_assert_cmpint (count_threads_named ("plog-replay"), ==, 0);

  while (!p.done)
    g_main_context_iteration (context, TRUE);
  g_assert_false (p.ok);
  g_assert_error (p.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpuint (p.ops->len, ==, 0);
  g_assert_cmpuint (p.wrong_context, ==, 0);
  g_signal_handler_disconnect (f->logger, id);
  async_play_clear (&p);
  g_main_context_pop_thread_default (context);
}

/* ------------------------------------------------------------------ */
/* Compaction                                                          */

/* What a compact_async() or play_async() callback got. */
typedef struct
{
  gboolean done;
  gboolean ok;
  GError *error;
} AsyncResult;

static void
compact_done (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  AsyncResult *r = user_data;

  r->ok = plog_logger_compact_finish (PLOG_LOGGER (source), result, &r->error);
  r->done = TRUE;
}

static void
play_done (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  AsyncResult *r = user_data;

  r->ok = plog_logger_play_finish (PLOG_LOGGER (source), result, &r->error);
  r->done = TRUE;
}

/* play_async() delivers at idle priority, one batch per dispatch: work
 * that GTK queues at its redraw priority (G_PRIORITY_HIGH_IDLE + 20, a
 * frame's paint) runs before the next batch, not after the replay. The
 * handler is slow, so that the worker keeps batches queued: at the
 * default priority the replay's source would then always be ready, and
 * the paints would wait for the end. */
#define PAINT_PRIORITY (G_PRIORITY_HIGH_IDLE + 20)

typedef struct
{
  guint  delivered;
  guint  queued_at;        /* ops delivered when a paint was queued */
  guint  paints;
  guint  max_delay;        /* ops delivered between queueing and painting */
  guint  pending;          /* a paint is queued */
} Paints;

static gboolean
paint_cb (gpointer data)
{
  Paints *p = data;

  p->max_delay = MAX (p->max_delay, p->delivered - p->queued_at);
  p->paints++;
  p->pending = FALSE;
  return G_SOURCE_REMOVE;
}

static void
paint_on_replayed (PlogLogger *logger,
                   PlogOp     *op,
                   Paints     *p)
{
  gint64 until = g_get_monotonic_time () + 2;

  /* A slow consumer: a couple of microseconds an op. */
  while (g_get_monotonic_time () < until)
    ;
  p->delivered++;
  if (p->delivered % 500 == 0 && !p->pending)
    {
      g_autoptr(GSource) idle = g_idle_source_new ();

      g_source_set_priority (idle, PAINT_PRIORITY);
      g_source_set_callback (idle, paint_cb, p, NULL);
      g_source_attach (idle, NULL);
      p->queued_at = p->delivered;
      p->pending = TRUE;
    }
}

static void
test_play_async_lets_paints_run (Fixture       *f,
                                 gconstpointer  data)
{
  g_autoptr(GPtrArray) ops = numbered_ops ("paint", 20000);
  Paints p = { 0, };
  AsyncResult r = { 0, };
  gulong id;

  plog_logger_set_sync_mode (f->logger, PLOG_SYNC_MODE_NONE);
  record (f->logger);
  dump_all (f->logger, ops);
  stop (f->logger);

  id = g_signal_connect (f->logger, "replayed", G_CALLBACK (paint_on_replayed), &p);
  plog_logger_play_async (f->logger, NULL, play_done, &r);
  ITERATE_UNTIL (r.done, TIMEOUT_MS);
  g_signal_handler_disconnect (f->logger, id);

  g_assert_no_error (r.error);
  g_assert_true (r.ok);
  drain_main_context ();
  g_assert_cmpuint (p.delivered, ==, ops->len);
  g_assert_false (p.pending);
  /* A paint queued in a batch runs when that batch is delivered: about
   * one for each batch of 1024 ops. */
  g_assert_cmpuint (p.paints, >=, ops->len / 1024 / 2);
  g_assert_cmpuint (p.max_delay, <, 1024);
}

static void
compact (Fixture *f)
{
  AsyncResult r = { 0, };
  guint before = f->compacted;

  plog_logger_compact_async (f->logger, NULL, compact_done, &r);
  ITERATE_UNTIL (r.done, TIMEOUT_MS);
  g_assert_no_error (r.error);
  g_assert_true (r.ok);
  /* ::compacted fires in the creation context */
  ITERATE_UNTIL (f->compacted > before, TIMEOUT_MS);
}

static gboolean
busy_cb (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

/* Once compact_async() has called back, the operation has let go of the
 * logger, even in a main loop that is never idle: the directory can be
 * opened again at once. Repeated, since the callback and the release
 * once came from two sources, and the callback could run first. */
#define RELEASE_ROUNDS 50

static void
test_compact_releases_logger (Fixture       *f,
                              gconstpointer  data)
{
  g_autoptr(GSource) busy = g_idle_source_new ();

  /* Work at the default priority always ready: idle sources starve. */
  g_source_set_priority (busy, G_PRIORITY_DEFAULT);
  g_source_set_callback (busy, busy_cb, NULL, NULL);
  g_source_attach (busy, NULL);

  for (guint round = 0; round < RELEASE_ROUNDS; round++)
    {
      AsyncResult r = { 0, };
      g_autoptr(GError) error = NULL;

      record (f->logger);
      dump_take (f->logger, NULL, op_put ("key", "value", round));

      plog_logger_compact_async (f->logger, NULL, compact_done, &r);
      ITERATE_UNTIL (r.done, TIMEOUT_MS);
      g_assert_no_error (r.error);
      g_assert_cmpuint (g_atomic_int_get (&G_OBJECT (f->logger)->ref_count), ==, 1);

      stop (f->logger);
      g_clear_object (&f->logger);
      f->logger = plog_logger_new (f->path, &error);
      g_assert_no_error (error);
      connect_signals (f);
    }
  g_source_destroy (busy);
}

/* A mix of every kind over a few keys, with overwrites. */
static void
dump_mix (PlogLogger *logger,
          GPtrArray  *ops,
          GRand      *rand,
          guint       n,
          guint       n_keys,
          gint64     *timestamp)
{
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *key = g_strdup_printf ("key-%02u", g_rand_int_range (rand, 0, n_keys));
      g_autofree char *sub = g_strdup_printf ("sub-%u", g_rand_int_range (rand, 0, 4));
      g_autofree char *value = g_strdup_printf ("value-%08x-%" G_GINT64_FORMAT,
                                                g_rand_int (rand), *timestamp);
      g_autofree char *config_key = g_strdup_printf ("cfg-%u", g_rand_int_range (rand, 0, 3));
      guint pick = g_rand_int_range (rand, 0, 100);
      PlogOp *op;

      (*timestamp)++;
      if (pick < 45)
        op = op_put (key, value, *timestamp);
      else if (pick < 75)
        op = op_sub_put (key, sub, value, *timestamp);
      else if (pick < 83)
        op = op_delete (key);
      else if (pick < 91)
        op = op_sub_delete (key, sub);
      else if (pick < 95)
        op = op_clear (key, *timestamp);
      else if (pick < 97)
        op = op_configure (config_key, *timestamp, "k", value, NULL);
      else if (pick < 98)
        op = op_configure (config_key, *timestamp, NULL);
      else if (pick < 99)
        op = op_configure (NULL, *timestamp, "global", value, NULL);
      else
        op = op_clear (NULL, *timestamp);
      dump_take (logger, ops, op);
    }
}

/* Replaying a logger whose only file is a snapshot: one op per live
 * entry, the global configuration first, then those of keys, then the
 * rest. */
static guint
op_class (PlogOp *op)
{
  if (plog_op_get_kind (op) != PLOG_OP_KIND_CONFIGURE)
    return 2;
  return plog_op_get_key (op) != NULL ? 1 : 0;
}

static void
assert_snapshot_order (PlogLogger *logger,
                       guint       n_entries)
{
  g_autoptr(GPtrArray) got = plog_test_replay (logger);

  g_assert_cmpuint (got->len, ==, n_entries);
  for (guint i = 1; i < got->len; i++)
    g_assert_cmpuint (op_class (got->pdata[i - 1]), <=, op_class (got->pdata[i]));
}

static void
test_compact_explicit (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(GPtrArray) ops = op_array_new ();
  g_autoptr(GRand) rand = g_rand_new_with_seed (1);
  g_autoptr(PlogTestModel) expected = NULL;
  gint64 timestamp = 0;

  record (f->logger);
  dump_mix (f->logger, ops, rand, 2000, 30, &timestamp);
  /* make sure there is a global configuration to keep through a clear */
  dump_take (f->logger, ops, op_configure (NULL, ++timestamp, "global", "kept", NULL));
  dump_take (f->logger, ops, op_put ("after-config", "v", ++timestamp));
  compact (f);
  g_assert_cmpuint (plog_test_count_files (f->path, ".snap"), ==, 1);
  assert_private (f->path);

  expected = plog_test_model_new_from_ops (ops);
  assert_snapshot_order (f->logger, plog_test_model_n_live (expected));
  assert_replays_to (f->logger, expected);

  /* A second compaction merges the first snapshot's values with new
   * configurations (and no clear): the new ones still come first. */
  dump_take (f->logger, ops, op_put ("second", "v", ++timestamp));
  dump_take (f->logger, ops, op_configure ("late-config", ++timestamp, "k", "v", NULL));
  dump_take (f->logger, ops, op_configure (NULL, ++timestamp, "global", "late", NULL));
  g_clear_pointer (&expected, plog_test_model_free);
  expected = plog_test_model_new_from_ops (ops);
  compact (f);
  assert_snapshot_order (f->logger, plog_test_model_n_live (expected));
  assert_replays_to (f->logger, expected);

  /* dumps go on after the compaction; another compaction covers them */
  dump_mix (f->logger, ops, rand, 500, 30, &timestamp);
  g_clear_pointer (&expected, plog_test_model_free);
  expected = plog_test_model_new_from_ops (ops);
  assert_replays_to (f->logger, expected);
  compact (f);
  assert_snapshot_order (f->logger, plog_test_model_n_live (expected));
  assert_replays_to (f->logger, expected);
  g_assert_cmpuint (plog_test_count_files (f->path, ".snap"), ==, 1);

  dump_mix (f->logger, ops, rand, 300, 30, &timestamp);
  stop (f->logger);
  g_clear_pointer (&expected, plog_test_model_free);
  expected = plog_test_model_new_from_ops (ops);
  fixture_reopen (f);
  assert_replays_to (f->logger, expected);
}

/* Many compactions, each over the last one's snapshot: records larger
 * than the merge's batches and write buffer, every class, clears of a
 * key and of everything, a snapshot of configurations only, and a pause
 * long enough for the compactor to drop the merge's memory it keeps. */
static void
test_compact_mixed (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(GPtrArray) ops = op_array_new ();
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);
  gint64 timestamp = 0;
  gsize big_len = 300 * 1024;
  g_autofree char *big = g_malloc (big_len + 1);

  memset (big, 'x', big_len);
  big[big_len] = 0;
  record (f->logger);
  for (guint round = 0; round < 14; round++)
    {
      g_autoptr(PlogTestModel) expected = NULL;
      guint n = g_rand_int_range (rand, 0, 3000);

      if (round == 3)
        {
          /* only configurations in the snapshot */
          dump_take (f->logger, ops, op_clear (NULL, ++timestamp));
          dump_take (f->logger, ops, op_configure ("cfg-big", ++timestamp, "k", big, NULL));
          dump_take (f->logger, ops, op_configure (NULL, ++timestamp, "global", "g", NULL));
          n = 0;
        }
      for (guint i = 0; i < n; i++)
        {
          g_autofree char *key = g_strdup_printf ("key-%03u", g_rand_int_range (rand, 0, 400));
          g_autofree char *sub = g_strdup_printf ("sub-%u", g_rand_int_range (rand, 0, 5));
          g_autofree char *value = NULL;
          g_autofree char *config_key = g_strdup_printf ("cfg-%u", g_rand_int_range (rand, 0, 20));
          guint pick = g_rand_int_range (rand, 0, 1000);
          guint size_pick = g_rand_int_range (rand, 0, 100);

          if (size_pick == 0)
            value = g_strdup_printf ("%s-%" G_GINT64_FORMAT, big, timestamp);
          else if (size_pick < 3)
            value = g_strdup_printf ("%.*s-%" G_GINT64_FORMAT, 20000, big, timestamp);
          else
            value = g_strdup_printf ("v-%08x-%" G_GINT64_FORMAT, g_rand_int (rand), timestamp);
          timestamp++;
          if (pick < 450)
            dump_take (f->logger, ops, op_put (key, value, timestamp));
          else if (pick < 750)
            dump_take (f->logger, ops, op_sub_put (key, sub, value, timestamp));
          else if (pick < 820)
            dump_take (f->logger, ops, op_delete (key));
          else if (pick < 890)
            dump_take (f->logger, ops, op_sub_delete (key, sub));
          else if (pick < 920)
            dump_take (f->logger, ops, op_clear (key, timestamp));
          else if (pick < 970)
            dump_take (f->logger, ops, op_configure (config_key, timestamp, "k", value, NULL));
          else if (pick < 985)
            dump_take (f->logger, ops, op_configure (config_key, timestamp, NULL));
          else if (pick < 998)
            dump_take (f->logger, ops, op_configure (NULL, timestamp, "global", value, NULL));
          else
            dump_take (f->logger, ops, op_clear (NULL, timestamp));
        }
      expected = plog_test_model_new_from_ops (ops);
      compact (f);
      assert_snapshot_order (f->logger, plog_test_model_n_live (expected));
      assert_replays_to (f->logger, expected);
      if (round == 6)
        g_usleep (1500 * G_TIME_SPAN_MILLISECOND);   /* the kept memory goes */
    }
}

/* Merges large enough for a table and chunks of huge-page blocks, kept
 * from one compaction to the next and reused, a much smaller one between
 * them (the kept table shrinks), and a clear of everything. */
static void
test_compact_large_merges (Fixture       *f,
                           gconstpointer  data)
{
  g_autoptr(GPtrArray) ops = op_array_new ();
  g_autoptr(GRand) rand = g_rand_new_with_seed (11);
  gint64 timestamp = 0;

  record (f->logger);
  for (guint round = 0; round < 5; round++)
    {
      g_autoptr(PlogTestModel) expected = NULL;
      guint n = round == 2 ? 1000 : 120000;

      for (guint i = 0; i < n; i++)
        {
          g_autofree char *key = g_strdup_printf ("key-%06u", g_rand_int_range (rand, 0, 150000));
          g_autofree char *value = g_strdup_printf ("v-%08x-%" G_GINT64_FORMAT, g_rand_int (rand), timestamp);

          timestamp++;
          if (i % 7 == 0)
            dump_take (f->logger, ops, op_sub_put (key, "s", value, timestamp));
          else if (i % 101 == 0)
            dump_take (f->logger, ops, op_configure (key, timestamp, "k", value, NULL));
          else
            dump_take (f->logger, ops, op_put (key, value, timestamp));
        }
      if (round == 3)
        dump_take (f->logger, ops, op_clear (NULL, ++timestamp));
      expected = plog_test_model_new_from_ops (ops);
      compact (f);
      assert_snapshot_order (f->logger, plog_test_model_n_live (expected));
      assert_replays_to (f->logger, expected);
    }
}

/* ::compacted is emitted in the context the logger was created in, even
 * when that context is idle (nobody iterates it) at the moment the
 * compaction lands: it waits there, it does not run on the worker. */
static void
test_compact_signal_context (Fixture       *f,
                             gconstpointer  data)
{
  g_autoptr(GPtrArray) ops = numbered_ops ("context", 100);
  AsyncResult r = { 0, };

  record (f->logger);
  dump_all (f->logger, ops);

  plog_logger_compact_async (f->logger, NULL, compact_done, &r);
  /* busy elsewhere, as an application may be: the compaction lands */
  g_usleep (300 * 1000);
  g_assert_cmpuint (f->compacted, ==, 0);
  g_assert_false (r.done);

  ITERATE_UNTIL (r.done, TIMEOUT_MS);
  g_assert_no_error (r.error);
  g_assert_true (r.ok);
  ITERATE_UNTIL (f->compacted >= 1, TIMEOUT_MS);
  g_assert_cmpuint (f->compacted_elsewhere, ==, 0);
  stop (f->logger);
}

/* A small max-size and many dumps: automatic compactions, a bounded
 * directory, and the state kept. */
static void
test_compact_automatic (Fixture       *f,
                        gconstpointer  data)
{
  g_autoptr(GPtrArray) ops = op_array_new ();
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);
  g_autoptr(PlogTestModel) expected = NULL;
  gint64 timestamp = 0;

  plog_logger_limit (f->logger, 4096);
  record (f->logger);

  /* Rounds: push the log past max-size, then wait for the compaction. */
  for (guint round = 0; round < 8; round++)
    {
      guint target = f->compacted + 1;
      guint files;

      dump_mix (f->logger, ops, rand, 150, 20, &timestamp);
      ITERATE_UNTIL (f->compacted >= target, TIMEOUT_MS);
      files = plog_test_count_data_files (f->path);
      g_test_message ("round %u: %u compactions, %u files", round, f->compacted, files);
      g_assert_cmpuint (files, <=, 6);
    }
  g_assert_cmpuint (f->compacted, >=, 8);

  /* A sustained stream, without waiting. */
  for (guint i = 0; i < 30; i++)
    {
      dump_mix (f->logger, ops, rand, 100, 20, &timestamp);
      drain_main_context ();
    }
  stop (f->logger);
  drain_main_context ();
  g_test_message ("%u compactions, %u files at the end", f->compacted, plog_test_count_data_files (f->path));
  /* The stream passed max-size, so an automatic compaction ran, and stop
   * returns only once it has finished: it must have landed. */
  g_assert_cmpuint (f->compacted, >=, 9);

  /* ::compacted comes in the context the logger was created in (here the
   * global default one, owned by the main thread), never on a worker. */
  g_assert_cmpuint (f->compacted_elsewhere, ==, 0);

  expected = plog_test_model_new_from_ops (ops);
  assert_replays_to (f->logger, expected);
  fixture_reopen (f);
  assert_replays_to (f->logger, expected);
  assert_private (f->path);
}

typedef struct
{
  PlogLogger *logger;
  guint index;
  guint n_ops;
  gsize value_size;  /* of the puts, at least 5 */
  gint *start;
  gint *finished;
} DumpThread;

/* Op @i of @thread: a put of a value of @value_size bytes (its number,
 * then padding), or with @last the thread's sub put of that number. */
static PlogOp *
thread_op (guint    thread,
           guint    i,
           gboolean last,
           gsize    value_size)
{
  g_autofree char *key = g_strdup_printf ("t%u/%05u", thread, i);
  g_autofree char *owner = g_strdup_printf ("t%u", thread);
  g_autofree char *value = g_strdup_printf ("%05u", i);

  if (last)
    return op_sub_put (owner, "last", value, i);
  if (value_size > strlen (value))
    {
      g_autofree char *padded = g_malloc (value_size + 1);

      memset (padded, 'a' + (thread + i) % 26, value_size);
      memcpy (padded, value, strlen (value));
      padded[value_size] = '\0';
      return op_put (key, padded, i);
    }
  return op_put (key, value, i);
}

static gpointer
dump_thread (gpointer data)
{
  DumpThread *t = data;

  while (!g_atomic_int_get (t->start))
    g_thread_yield ();
  for (guint i = 0; i < t->n_ops; i++)
    {
      g_autoptr(PlogOp) op = thread_op (t->index, i, FALSE, t->value_size);
      g_autoptr(PlogOp) last = thread_op (t->index, i, TRUE, t->value_size);

      dump_one (t->logger, op);
      dump_one (t->logger, last);
    }
  g_atomic_int_inc (t->finished);
  return NULL;
}

static void
run_dump_threads (Fixture  *f,
                  guint     n_ops,
                  gsize     value_size,
                  gboolean  with_compaction)
{
  DumpThread threads[4];
  GThread *handles[4];
  gint start = 0;
  gint finished = 0;
  guint compactions = 0;

  for (guint t = 0; t < 4; t++)
    {
      threads[t] = (DumpThread) { f->logger, t, n_ops, value_size, &start, &finished };
      handles[t] = g_thread_new ("dumper", dump_thread, &threads[t]);
    }
  g_atomic_int_set (&start, 1);

  if (with_compaction)
    {
      do
        {
          compact (f);
          compactions++;
        }
      while (g_atomic_int_get (&finished) < 4);
      g_test_message ("%u compactions while dumping", compactions);
    }
  for (guint t = 0; t < 4; t++)
    g_thread_join (handles[t]);
}

/* Four threads dump @n_ops puts of @value_size bytes and as many sub
 * puts each, at once: every op lands, each thread's in order. */
static void
check_threads_dump (Fixture *f,
                    guint    n_ops,
                    gsize    value_size)
{
  g_autoptr(GPtrArray) got = NULL;
  guint next[4] = { 0, };

  plog_logger_set_sync_mode (f->logger, PLOG_SYNC_MODE_NONE);
  record (f->logger);
  run_dump_threads (f, n_ops, value_size, FALSE);
  stop (f->logger);

  fixture_reopen (f);
  got = plog_test_replay (f->logger);
  g_assert_cmpuint (got->len, ==, 4 * 2 * n_ops);
  for (guint i = 0; i < got->len; i++)
    {
      PlogOp *op = g_ptr_array_index (got, i);
      gsize len;
      const char *key = (const char *) plog_op_get_key_data (op, &len);
      g_autofree char *k = g_strndup (key, len);
      guint thread = k[1] - '0';
      gboolean last = plog_op_get_kind (op) != PLOG_OP_KIND_PUT;
      g_autoptr(PlogOp) expected = NULL;

      g_assert_cmpuint (thread, <, 4);
      g_assert_cmpuint (next[thread], <, n_ops);
      expected = thread_op (thread, next[thread], last, value_size);
      g_assert_true (plog_op_equal (op, expected));
      if (last)
        next[thread]++;
    }
  for (guint t = 0; t < 4; t++)
    g_assert_cmpuint (next[t], ==, n_ops);
}

static void
test_threads_dump (Fixture       *f,
                   gconstpointer  data)
{
  check_threads_dump (f, 2000, 0);
}

/* Dumpers that outrun the writer thread (64 MB of 8 KiB values) fill
 * every buffer and wait for one, several at a time: whichever gets a
 * buffer first must not lose it to the next. */
static void
test_threads_outrun_writer (Fixture       *f,
                            gconstpointer  data)
{
  check_threads_dump (f, 2000, 8192);
}

#define STOP_THREADS 16

typedef struct
{
  PlogLogger *logger;
  guint index;
  gsize value_size;
  gint *start;
  guint acknowledged;   /* dumps that returned TRUE, numbered from 0 */
  gboolean failed;      /* the next one failed with NOT_RECORDING */
} StopDumper;

/* Dumps numbered puts (keys "sN/I") until a dump fails. */
static gpointer
stop_dumper (gpointer data)
{
  StopDumper *d = data;
  g_autofree char *value = g_malloc (d->value_size + 1);

  memset (value, 'v', d->value_size);
  value[d->value_size] = '\0';
  while (!g_atomic_int_get (d->start))
    g_thread_yield ();
  for (guint i = 0;; i++)
    {
      g_autofree char *key = g_strdup_printf ("s%u/%u", d->index, i);
      g_autoptr(PlogOp) op = op_put (key, value, i);
      g_autoptr(GError) error = NULL;

      if (!plog_logger_dump (d->logger, op, &error))
        {
          g_assert_error (error, PLOG_ERROR, PLOG_ERROR_NOT_RECORDING);
          d->failed = TRUE;
          return NULL;
        }
      d->acknowledged = i + 1;
    }
}

/* Threads dump until a stop from the main thread ends the recording.
 * Once stop() has returned TRUE, what replays is exactly what the dumps
 * acknowledged: every dump that returned TRUE (its op was written, and
 * with ALWAYS synced) and no dump that failed. */
static void
check_stop_while_dumping (Fixture      *f,
                          PlogSyncMode  mode,
                          gsize         value_size)
{
  StopDumper dumpers[STOP_THREADS];
  GThread *threads[STOP_THREADS];
  g_autoptr(GPtrArray) got = NULL;
  guint replayed[STOP_THREADS] = { 0, };
  guint total = 0;
  gint start = 0;

  plog_logger_set_sync_mode (f->logger, mode);
  record (f->logger);
  for (guint t = 0; t < STOP_THREADS; t++)
    {
      dumpers[t] = (StopDumper) { f->logger, t, value_size, &start, 0, FALSE };
      threads[t] = g_thread_new ("dumper", stop_dumper, &dumpers[t]);
    }
  g_atomic_int_set (&start, 1);
  g_usleep (50 * G_TIME_SPAN_MILLISECOND);
  stop (f->logger);
  for (guint t = 0; t < STOP_THREADS; t++)
    {
      g_thread_join (threads[t]);
      g_assert_true (dumpers[t].failed);
    }

  fixture_reopen (f);
  got = plog_test_replay (f->logger);
  for (guint i = 0; i < got->len; i++)
    {
      gsize len;
      const char *key = (const char *) plog_op_get_key_data (g_ptr_array_index (got, i), &len);
      g_autofree char *k = g_strndup (key, len);
      guint t, n;

      g_assert_cmpint (sscanf (k, "s%u/%u", &t, &n), ==, 2);
      g_assert_cmpuint (t, <, STOP_THREADS);
      /* in order, each thread's ops */
      g_assert_cmpuint (n, ==, replayed[t]);
      replayed[t]++;
    }
  for (guint t = 0; t < STOP_THREADS; t++)
    total += dumpers[t].acknowledged;
  /* The dumps ran before the stop, not only against it. */
  g_assert_cmpuint (total, >, 0);
  for (guint t = 0; t < STOP_THREADS; t++)
    {
      if (replayed[t] != dumpers[t].acknowledged)
        g_test_message ("thread %u: %u dumps acknowledged, %u replayed",
                        t, dumpers[t].acknowledged, replayed[t]);
      g_assert_cmpuint (replayed[t], ==, dumpers[t].acknowledged);
    }
}

/* Dumps that wait for a buffer while the stop drains them. */
static void
test_threads_stop_none (Fixture       *f,
                        gconstpointer  data)
{
  check_stop_while_dumping (f, PLOG_SYNC_MODE_NONE, 8192);
}

/* Dumps that wait for a sync that the stop makes. */
static void
test_threads_stop_always (Fixture       *f,
                          gconstpointer  data)
{
  check_stop_while_dumping (f, PLOG_SYNC_MODE_ALWAYS, 32);
}

/* Four threads dump while compactions run: every op is in the state, and
 * each thread's last op is its last one (its order held). */
static void
test_threads_compaction (Fixture       *f,
                         gconstpointer  data)
{
  const guint n_ops = 3000;
  g_autoptr(PlogTestModel) expected = plog_test_model_new ();

  plog_logger_set_sync_mode (f->logger, PLOG_SYNC_MODE_NONE);
  record (f->logger);
  run_dump_threads (f, n_ops, 0, TRUE);
  stop (f->logger);
  drain_main_context ();

  for (guint t = 0; t < 4; t++)
    for (guint i = 0; i < n_ops; i++)
      {
        g_autoptr(PlogOp) op = thread_op (t, i, FALSE, 0);
        g_autoptr(PlogOp) last = thread_op (t, i, TRUE, 0);

        plog_test_model_apply (expected, op);
        plog_test_model_apply (expected, last);
      }
  assert_replays_to (f->logger, expected);
  fixture_reopen (f);
  assert_replays_to (f->logger, expected);
}

/* ------------------------------------------------------------------ */
/* clear                                                               */

static void
test_clear_recording (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(GPtrArray) before = op_array_new ();
  g_autoptr(GPtrArray) after = op_array_new ();
  g_autoptr(GRand) rand = g_rand_new_with_seed (3);
  g_autoptr(GError) error = NULL;
  gint64 timestamp = 0;
  guint notified = 0;

  record (f->logger);
  dump_mix (f->logger, before, rand, 300, 10, &timestamp);
  compact (f);
  dump_mix (f->logger, before, rand, 100, 10, &timestamp);

  g_signal_connect (f->logger, "notify::recording", G_CALLBACK (count_notify), &notified);
  g_assert_true (plog_logger_clear (f->logger, &error));
  g_assert_no_error (error);
  g_assert_true (plog_logger_get_recording (f->logger));
  g_assert_cmpuint (notified, ==, 0);
  g_assert_cmpuint (plog_test_count_data_files (f->path), <=, 2);

  {
    g_autoptr(GPtrArray) got = plog_test_replay (f->logger);

    g_assert_cmpuint (got->len, ==, 0);
  }

  /* it goes on recording into a fresh log */
  dump_take (f->logger, after, op_put ("new", "1", 1));
  dump_take (f->logger, after, op_sub_put ("new", "s", "2", 2));
  assert_replays (f->logger, after);
  stop (f->logger);
  fixture_reopen (f);
  assert_replays (f->logger, after);
}

static void
test_clear_not_recording (Fixture       *f,
                          gconstpointer  data)
{
  g_autoptr(GPtrArray) ops = numbered_ops ("clear", 50);
  g_autoptr(GPtrArray) after = op_array_new ();
  g_autoptr(GError) error = NULL;

  record (f->logger);
  dump_all (f->logger, ops);
  stop (f->logger);

  g_assert_true (plog_logger_clear (f->logger, &error));
  g_assert_no_error (error);
  g_assert_false (plog_logger_get_recording (f->logger));
  {
    g_autoptr(GPtrArray) got = plog_test_replay (f->logger);

    g_assert_cmpuint (got->len, ==, 0);
  }

  /* a clear of nothing is fine too */
  g_assert_true (plog_logger_clear (f->logger, &error));
  g_assert_no_error (error);

  fixture_reopen (f);
  {
    g_autoptr(GPtrArray) got = plog_test_replay (f->logger);

    g_assert_cmpuint (got->len, ==, 0);
  }

  record (f->logger);
  dump_take (f->logger, after, op_put ("x", "y", 9));
  stop (f->logger);
  fixture_reopen (f);
  assert_replays (f->logger, after);
}

/* ------------------------------------------------------------------ */
/* Cursors                                                             */

static void
test_cursor_basic (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(GPtrArray) ops = every_kind_ops ();
  g_autoptr(GError) error = NULL;
  g_autoptr(PlogCursor) empty = NULL;
  g_autoptr(PlogCursor) cursor = NULL;
  g_autoptr(PlogCursor) while_recording = NULL;
  g_autoptr(GPtrArray) got = NULL;

  /* on an empty directory: the end at once */
  empty = plog_logger_open_cursor (f->logger, &error);
  g_assert_no_error (error);
  g_assert_nonnull (empty);
  got = read_cursor (empty);
  g_assert_cmpuint (got->len, ==, 0);
  g_clear_pointer (&got, g_ptr_array_unref);

  /* while recording: every op dumped before it was opened */
  plog_logger_set_sync_mode (f->logger, PLOG_SYNC_MODE_NONE);
  record (f->logger);
  dump_all (f->logger, ops);
  while_recording = plog_logger_open_cursor (f->logger, &error);
  g_assert_no_error (error);
  got = read_cursor (while_recording);
  assert_ops_equal (got, ops);
  g_clear_pointer (&got, g_ptr_array_unref);
  stop (f->logger);

  cursor = plog_logger_open_cursor (f->logger, &error);
  g_assert_no_error (error);
  got = read_cursor (cursor);
  assert_ops_equal (got, ops);

  /* a cursor reads no signal */
  g_assert_cmpuint (f->replayed->len, ==, 0);
}

static void
test_cursor_cancelled (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(GPtrArray) ops = numbered_ops ("c", 10);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(PlogCursor) cursor = NULL;

  record (f->logger);
  dump_all (f->logger, ops);
  stop (f->logger);

  cursor = plog_logger_open_cursor (f->logger, &error);
  g_assert_no_error (error);
  g_cancellable_cancel (cancellable);
  g_assert_null (plog_cursor_next (cursor, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

/* A cursor pins its replay set: a compaction that lands while it is open
 * changes nothing it returns. */
static void
test_cursor_pinned_compaction (Fixture       *f,
                               gconstpointer  data)
{
  g_autoptr(GPtrArray) ops = op_array_new ();
  g_autoptr(GPtrArray) got = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (5);
  g_autoptr(PlogCursor) cursor = NULL;
  g_autoptr(PlogCursor) partly = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(PlogTestModel) expected = NULL;
  gint64 timestamp = 0;
  PlogOp *first;

  record (f->logger);
  dump_mix (f->logger, ops, rand, 400, 10, &timestamp);

  cursor = plog_logger_open_cursor (f->logger, &error);
  g_assert_no_error (error);
  /* one that has started reading already */
  partly = plog_logger_open_cursor (f->logger, &error);
  g_assert_no_error (error);
  first = plog_cursor_next (partly, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (plog_op_equal (first, g_ptr_array_index (ops, 0)));
  plog_op_unref (first);

  compact (f);
  {
    g_autoptr(GPtrArray) later = op_array_new ();

    dump_mix (f->logger, later, rand, 50, 10, &timestamp);
    compact (f);
    g_ptr_array_extend_and_steal (ops, g_steal_pointer (&later));
  }

  got = read_cursor (cursor);
  g_assert_cmpuint (got->len, ==, 400);
  for (guint i = 0; i < 400; i++)
    g_assert_true (plog_op_equal (g_ptr_array_index (got, i), g_ptr_array_index (ops, i)));
  g_clear_pointer (&got, g_ptr_array_unref);

  got = read_cursor (partly);
  g_assert_cmpuint (got->len, ==, 399);
  for (guint i = 0; i < 399; i++)
    g_assert_true (plog_op_equal (g_ptr_array_index (got, i), g_ptr_array_index (ops, i + 1)));

  /* a fresh cursor sees the compacted state */
  expected = plog_test_model_new_from_ops (ops);
  g_clear_object (&cursor);
  cursor = plog_logger_open_cursor (f->logger, &error);
  g_assert_no_error (error);
  {
    g_autoptr(GPtrArray) now = read_cursor (cursor);
    g_autoptr(PlogTestModel) state = plog_test_model_new_from_ops (now);

    plog_test_model_assert_equal (expected, state, "a fresh cursor");
  }
  stop (f->logger);
}

/* ... and so does a clear. */
static void
test_cursor_pinned_clear (Fixture       *f,
                          gconstpointer  data)
{
  g_autoptr(GPtrArray) ops = numbered_ops ("pinned", 300);
  g_autoptr(GPtrArray) after = op_array_new ();
  g_autoptr(PlogCursor) cursor = NULL;
  g_autoptr(GError) error = NULL;

  record (f->logger);
  dump_all (f->logger, ops);
  cursor = plog_logger_open_cursor (f->logger, &error);
  g_assert_no_error (error);

  g_assert_true (plog_logger_clear (f->logger, &error));
  g_assert_no_error (error);
  dump_take (f->logger, after, op_put ("after", "clear", 1));

  {
    g_autoptr(GPtrArray) got = read_cursor (cursor);

    assert_ops_equal (got, ops);
  }
  assert_replays (f->logger, after);
  stop (f->logger);
}

/* ------------------------------------------------------------------ */
/* Programmer errors                                                   */

static void
test_null_self (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(PlogOp) op = op_put ("k", "v", 1);

  if (!g_test_undefined ())
    {
      g_test_skip ("tests undefined behaviour");
      return;
    }

#define EXPECT_CRITICAL(pattern, call)                                         \
  G_STMT_START {                                                               \
    g_test_expect_message ("Plog", G_LOG_LEVEL_CRITICAL, pattern);             \
    call;                                                                      \
    g_test_assert_expected_messages ();                                        \
  } G_STMT_END

  EXPECT_CRITICAL ("*PLOG_IS_LOGGER*", g_assert_null (plog_logger_get_directory (NULL)));
  EXPECT_CRITICAL ("*PLOG_IS_LOGGER*", g_assert_false (plog_logger_record (NULL, NULL)));
  EXPECT_CRITICAL ("*PLOG_IS_LOGGER*", g_assert_false (plog_logger_get_recording (NULL)));
  EXPECT_CRITICAL ("*PLOG_IS_LOGGER*", g_assert_false (plog_logger_dump (NULL, op, NULL)));
  EXPECT_CRITICAL ("*PLOG_IS_LOGGER*", g_assert_false (plog_logger_flush (NULL, NULL)));
  EXPECT_CRITICAL ("*PLOG_IS_LOGGER*", g_assert_false (plog_logger_stop (NULL, NULL)));
  EXPECT_CRITICAL ("*PLOG_IS_LOGGER*", g_assert_false (plog_logger_clear (NULL, NULL)));
  EXPECT_CRITICAL ("*PLOG_IS_LOGGER*", g_assert_false (plog_logger_play (NULL, NULL, NULL, NULL, NULL)));
  EXPECT_CRITICAL ("*PLOG_IS_LOGGER*", g_assert_null (plog_logger_open_cursor (NULL, NULL)));
  EXPECT_CRITICAL ("*PLOG_IS_LOGGER*", plog_logger_limit (NULL, 10));
  EXPECT_CRITICAL ("*PLOG_IS_LOGGER*", (void) plog_logger_get_max_size (NULL));
  EXPECT_CRITICAL ("*PLOG_IS_LOGGER*", (void) plog_logger_get_sync_mode (NULL));
  EXPECT_CRITICAL ("*PLOG_IS_LOGGER*", plog_logger_set_sync_mode (NULL, PLOG_SYNC_MODE_NONE));
  EXPECT_CRITICAL ("*PLOG_IS_CURSOR*", g_assert_null (plog_cursor_next (NULL, NULL, NULL)));

  /* a negative size is a programmer error (style.md, Errors) */
  plog_logger_limit (f->logger, 100000);
  EXPECT_CRITICAL ("*max_size*", plog_logger_limit (f->logger, -1));
  g_assert_cmpint (plog_logger_get_max_size (f->logger), ==, 100000);

  record (f->logger);
  EXPECT_CRITICAL ("*op != NULL*", g_assert_false (plog_logger_dump (f->logger, NULL, NULL)));
  stop (f->logger);

#undef EXPECT_CRITICAL
}

static gpointer
record_in_thread (gpointer data)
{
  g_autoptr(GError) error = NULL;

  /* initializes the logger, unless it was closed first */
  if (!plog_logger_record (data, &error))
    g_assert_error (error, PLOG_ERROR, PLOG_ERROR_FAILED);
  return NULL;
}

/* close() stops and releases the directory at once; the logger stays
 * safe to call. Closing races with a lazy initialization leave no lock
 * behind. */
static void
test_close (Fixture       *f,
            gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PlogOp) op = op_put ("k", "v", 1);
  guint notified = 0;

  record (f->logger);
  dump_one (f->logger, op);
  g_signal_connect (f->logger, "notify::recording", G_CALLBACK (count_notify), &notified);
  g_assert_true (plog_logger_close (f->logger, &error));
  g_assert_no_error (error);
  g_assert_false (plog_logger_get_recording (f->logger));
  g_assert_cmpuint (notified, ==, 1);
  g_assert_true (plog_logger_close (f->logger, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (notified, ==, 1);
  g_assert_false (plog_logger_dump (f->logger, op, &error));
  g_assert_error (error, PLOG_ERROR, PLOG_ERROR_NOT_RECORDING);
  g_clear_error (&error);
  g_assert_false (plog_logger_record (f->logger, &error));
  g_assert_error (error, PLOG_ERROR, PLOG_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, f->path));
  g_clear_error (&error);
  {
    g_autoptr(PlogLogger) next = open_logger (f->path);
    g_autoptr(GPtrArray) expected = op_array_new ();

    g_ptr_array_add (expected, plog_op_ref (op));
    assert_replays (next, expected);
  }

  for (guint i = 0; i < 40; i++)
    {
      PlogLogger *logger = g_object_new (PLOG_TYPE_LOGGER, "directory", f->path, NULL);
      GThread *thread = g_thread_new ("record", record_in_thread, logger);

      g_usleep (i * 25);
      g_assert_true (plog_logger_close (logger, NULL));
      g_thread_join (thread);
      g_assert_false (plog_logger_get_recording (logger));
      {
        /* the lock is free while the closed logger lives on */
        g_autoptr(PlogLogger) next = open_logger (f->path);
      }
      close_logger (&logger);
    }
}

typedef struct
{
  PlogLogger *logger;
  guint id;
  gboolean until_ok;  /* dump until one succeeds, instead of one fails */
  guint n_ok;         /* dumps that returned TRUE: ops 0 .. n_ok - 1 */
  GError *error;      /* of the first that did not */
} RacingDumper;

static gpointer
racing_dumper (gpointer data)
{
  RacingDumper *d = data;

  for (;;)
    {
      g_autofree char *key = g_strdup_printf ("t%u-%06u", d->id, d->n_ok);
      g_autoptr(PlogOp) op = op_put (key, "v", d->n_ok);

      if (!plog_logger_dump (d->logger, op, &d->error))
        {
          if (!d->until_ok)
            return NULL;
          g_assert_error (d->error, PLOG_ERROR, PLOG_ERROR_NOT_RECORDING);
          g_clear_error (&d->error);
          continue;
        }
      d->n_ok++;
      if (d->until_ok)
        return NULL;
    }
}

/* Dumps from other threads while the logger is disposed fail cleanly
 * once it is; every dump that succeeded before is kept. */
static void
test_dispose_racing_dumps (Fixture       *f,
                           gconstpointer  data)
{
  RacingDumper dumpers[2] = { { 0, }, };
  GThread *threads[G_N_ELEMENTS (dumpers)];
  guint total = 0;

  plog_logger_limit (f->logger, 64 * 1024);
  record (f->logger);
  for (guint i = 0; i < G_N_ELEMENTS (dumpers); i++)
    {
      dumpers[i].logger = f->logger;
      dumpers[i].id = i;
      threads[i] = g_thread_new ("dumper", racing_dumper, &dumpers[i]);
    }
  g_usleep (20 * 1000);
  g_object_run_dispose (G_OBJECT (f->logger));
  for (guint i = 0; i < G_N_ELEMENTS (dumpers); i++)
    {
      g_thread_join (threads[i]);
      g_test_message ("dumper %u: %u dumps, then %s", i, dumpers[i].n_ok,
                      dumpers[i].error->message);
      g_assert_error (dumpers[i].error, PLOG_ERROR, PLOG_ERROR_NOT_RECORDING);
      g_clear_error (&dumpers[i].error);
      total += dumpers[i].n_ok;
    }

  {
    g_autoptr(PlogLogger) next = open_logger (f->path);
    g_autoptr(GPtrArray) got = plog_test_replay (next);
    g_autoptr(GHashTable) keys = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

    for (guint i = 0; i < got->len; i++)
      {
        gsize len = 0;
        const guint8 *key = plog_op_get_key_data (got->pdata[i], &len);

        g_hash_table_add (keys, g_strndup ((const char *) key, len));
      }
    for (guint i = 0; i < G_N_ELEMENTS (dumpers); i++)
      for (guint n = 0; n < dumpers[i].n_ok; n++)
        {
          g_autofree char *key = g_strdup_printf ("t%u-%06u", i, n);

          g_assert_true (g_hash_table_contains (keys, key));
        }
    g_assert_cmpuint (g_hash_table_size (keys), >=, total);
  }
}

typedef struct
{
  guint n;
  GSource *source;      /* the source of the first emission */
  guint n_other_source; /* emissions from another one */
} CompactedCount;

static void
count_compacted (PlogLogger     *logger,
                 CompactedCount *count)
{
  if (count->n++ == 0)
    count->source = g_main_current_source ();
  else if (g_main_current_source () != count->source)
    count->n_other_source++;
}

/* Compactions that land while the logger's context is not iterated are
 * each emitted once it is (they share one pending source). */
static void
test_compacted_idle_context (Fixture       *f,
                             gconstpointer  data)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(PlogLogger) logger = NULL;
  CompactedCount n_compacted = { 0, };

  g_main_context_push_thread_default (context);
  logger = open_logger (f->path);
  g_main_context_pop_thread_default (context);
  g_signal_connect (logger, "compacted", G_CALLBACK (count_compacted), &n_compacted);
  record (logger);
  for (guint i = 0; i < 5; i++)
    {
      g_autoptr(PlogOp) op = op_put ("k", "v", i);
      AsyncResult r = { 0, };

      dump_one (logger, op);
      plog_logger_compact_async (logger, NULL, compact_done, &r);
      ITERATE_UNTIL (r.done, TIMEOUT_MS);
      g_assert_no_error (r.error);
    }
  g_assert_cmpuint (n_compacted.n, ==, 0);
  g_assert_true (g_main_context_iteration (context, FALSE));
  g_assert_cmpuint (n_compacted.n, ==, 5);
  g_assert_cmpuint (n_compacted.n_other_source, ==, 0);
  g_assert_false (g_main_context_pending (context));
  stop (logger);
}

/* A logger made with g_object_new() and never initialized, as
 * `new Plog.Logger({directory})` leaves it in JavaScript, initializes
 * itself at its first call; one whose initialization failed gives that
 * error again. */
static void
test_lazy_init (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PlogOp) op = op_put ("k", "v", 1);
  g_autofree char *file = g_build_filename (f->tmp, "a-file", NULL);
  PlogLogger *logger;

  logger = g_object_new (PLOG_TYPE_LOGGER, "directory", f->path, NULL);
  g_assert_false (plog_logger_get_recording (logger));
  g_assert_true (plog_logger_stop (logger, &error));
  g_assert_no_error (error);
  g_assert_false (g_file_test (f->path, G_FILE_TEST_EXISTS));
  /* not recording, and a dump does not initialize it */
  g_assert_false (plog_logger_dump (logger, op, &error));
  g_assert_error (error, PLOG_ERROR, PLOG_ERROR_NOT_RECORDING);
  g_clear_error (&error);
  g_assert_false (g_file_test (f->path, G_FILE_TEST_EXISTS));
  /* record does */
  record (logger);
  g_assert_true (g_file_test (f->path, G_FILE_TEST_IS_DIR));
  dump_one (logger, op);
  stop (logger);
  /* it holds the lock like any other */
  g_assert_null (plog_logger_new (f->path, &error));
  g_assert_error (error, PLOG_ERROR, PLOG_ERROR_LOCKED);
  g_clear_error (&error);
  close_logger (&logger);

  logger = g_object_new (PLOG_TYPE_LOGGER, "directory", f->path, NULL);
  /* a cancelled initialization leaves the logger as it was */
  {
    g_autoptr(GCancellable) cancellable = g_cancellable_new ();

    g_cancellable_cancel (cancellable);
    g_assert_false (g_initable_init (G_INITABLE (logger), cancellable, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
    g_clear_error (&error);
    /* the directory is not locked */
    {
      PlogLogger *second = plog_logger_new (f->path, &error);

      g_assert_no_error (error);
      close_logger (&second);
    }
  }
  {
    g_autoptr(GPtrArray) got = plog_test_replay (logger);

    g_assert_cmpuint (got->len, ==, 1);
  }
  close_logger (&logger);

  /* an initialization that fails, at the first call and then again */
  g_assert_true (g_file_set_contents (file, "", 0, NULL));
  logger = g_object_new (PLOG_TYPE_LOGGER, "directory", file, NULL);
  g_assert_false (plog_logger_record (logger, &error));
  assert_path_error (error, file);
  g_clear_error (&error);
  g_assert_false (g_initable_init (G_INITABLE (logger), NULL, &error));
  assert_path_error (error, file);
  g_clear_error (&error);
  g_assert_null (plog_logger_open_cursor (logger, &error));
  assert_path_error (error, file);
  g_clear_error (&error);
  g_assert_false (plog_logger_dump (logger, op, &error));
  g_assert_error (error, PLOG_ERROR, PLOG_ERROR_NOT_RECORDING);
  g_clear_error (&error);
  g_assert_true (plog_logger_stop (logger, &error));
  g_assert_no_error (error);
  close_logger (&logger);

  /* dumps from another thread while a relative logger initializes
   * itself: not recording until it records, then kept */
  {
    g_autofree char *cwd = g_get_current_dir ();
    g_autofree char *sub = g_build_filename (f->tmp, "racing", NULL);
    RacingDumper dumper = { 0, };
    GThread *thread;

    g_assert_cmpint (g_chdir (f->tmp), ==, 0);
    logger = g_object_new (PLOG_TYPE_LOGGER, "directory", "racing", NULL);
    g_assert_cmpint (g_chdir (cwd), ==, 0);
    dumper.logger = logger;
    dumper.until_ok = TRUE;
    thread = g_thread_new ("dumper", racing_dumper, &dumper);
    g_assert_cmpint (g_chdir (f->tmp), ==, 0);
    record (logger);
    g_assert_cmpint (g_chdir (cwd), ==, 0);
    g_thread_join (thread);
    g_assert_no_error (dumper.error);
    g_assert_cmpuint (dumper.n_ok, ==, 1);
    g_assert_cmpstr (plog_logger_get_directory (logger), ==, sub);
    stop (logger);
    close_logger (&logger);
  }

  /* no directory at all: every call fails or does nothing, none
   * crashes, before and after close */
  for (guint closed = 0; closed < 2; closed++)
    {
      /* a closed logger refuses what needs the directory */
      int refused = closed ? PLOG_ERROR_FAILED : PLOG_ERROR_INVALID;

      logger = g_object_new (PLOG_TYPE_LOGGER, NULL);
      if (closed)
        {
          g_assert_true (plog_logger_close (logger, &error));
          g_assert_no_error (error);
        }
      g_assert_null (plog_logger_get_directory (logger));
      g_assert_false (plog_logger_record (logger, &error));
      g_assert_error (error, PLOG_ERROR, refused);
      g_clear_error (&error);
      g_assert_false (plog_logger_dump (logger, op, &error));
      g_assert_error (error, PLOG_ERROR, PLOG_ERROR_NOT_RECORDING);
      g_assert_nonnull (strstr (error->message, "not recording"));
      g_clear_error (&error);
      g_assert_false (plog_logger_play (logger, NULL, NULL, NULL, &error));
      g_assert_error (error, PLOG_ERROR, refused);
      g_clear_error (&error);
      g_assert_null (plog_logger_open_cursor (logger, &error));
      g_assert_error (error, PLOG_ERROR, refused);
      g_clear_error (&error);
      g_assert_false (plog_logger_clear (logger, &error));
      g_assert_error (error, PLOG_ERROR, refused);
      g_clear_error (&error);
      g_assert_true (plog_logger_flush (logger, &error));
      g_assert_no_error (error);
      g_assert_true (plog_logger_stop (logger, &error));
      g_assert_no_error (error);
      close_logger (&logger);
    }
}

/* ------------------------------------------------------------------ */
/* Relative paths and disposal                                         */

/* A logger opened with a relative path stays in its directory when the
 * process changes directory: it neither writes into another one nor
 * loses its lock. */
static void
test_relative_directory (Fixture       *f,
                         gconstpointer  data)
{
  g_autofree char *cwd = g_get_current_dir ();
  g_autofree char *other = g_build_filename (f->tmp, "elsewhere", NULL);
  g_autofree char *other_db = g_build_filename (other, "db", NULL);
  g_autoptr(PlogLogger) logger = NULL;
  g_autoptr(PlogLogger) second = NULL;
  g_autoptr(GPtrArray) ops = op_array_new ();
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (g_mkdir (other, 0700), ==, 0);
  g_assert_cmpint (g_chdir (f->tmp), ==, 0);
  logger = open_logger ("db");
  g_assert_cmpstr (plog_logger_get_directory (logger), ==, f->path);
  record (logger);
  g_ptr_array_add (ops, op_put ("a", "1", 1));
  dump_one (logger, ops->pdata[0]);

  g_assert_cmpint (g_chdir (other), ==, 0);
  g_ptr_array_add (ops, op_put ("b", "2", 2));
  dump_one (logger, ops->pdata[1]);
  stop (logger);
  record (logger);
  g_ptr_array_add (ops, op_put ("c", "3", 3));
  dump_one (logger, ops->pdata[2]);
  assert_replays (logger, ops);
  g_assert_false (g_file_test (other_db, G_FILE_TEST_EXISTS));

  /* still locked; and a logger of the new "db" is another one */
  second = plog_logger_new (f->path, &error);
  g_assert_error (error, PLOG_ERROR, PLOG_ERROR_LOCKED);
  g_assert_null (second);
  g_clear_error (&error);
  second = open_logger ("db");
  g_assert_cmpstr (plog_logger_get_directory (second), ==, other_db);
  {
    g_autoptr(GPtrArray) none = op_array_new ();

    assert_replays (second, none);
  }

  /* an absolute path is tidied too: the lock names one directory one
   * way, however it was spelled */
  {
    g_autofree char *untidy = g_strconcat (other, "/../elsewhere//db/", NULL);
    g_autofree char *display = g_filename_display_name (other_db);
    g_autoptr(PlogLogger) third = plog_logger_new (untidy, &error);

    g_assert_error (error, PLOG_ERROR, PLOG_ERROR_LOCKED);
    g_assert_nonnull (strstr (error->message, display));
    g_assert_null (third);
    g_clear_error (&error);
    g_clear_object (&second);
    third = open_logger (untidy);
    g_assert_cmpstr (plog_logger_get_directory (third), ==, other_db);
  }

  g_assert_cmpint (g_chdir (cwd), ==, 0);
  stop (logger);
}

/* g_object_run_dispose() closes a logger: it stops, the lock goes, and
 * later calls fail cleanly instead of crashing. */
static void
test_run_dispose (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(GPtrArray) ops = every_kind_ops ();
  g_autoptr(GError) error = NULL;
  g_autoptr(PlogOp) op = op_put ("late", "op", 7);
  AsyncResult in_flight = { 0, }, after = { 0, };
  AsyncResult play = { 0, };
  guint notified = 0;

  record (f->logger);
  dump_all (f->logger, ops);
  plog_logger_compact_async (f->logger, NULL, compact_done, &in_flight);
  g_signal_connect (f->logger, "notify::recording", G_CALLBACK (count_notify), &notified);

  g_object_run_dispose (G_OBJECT (f->logger));
  g_assert_false (plog_logger_get_recording (f->logger));
  g_assert_cmpstr (plog_logger_get_directory (f->logger), ==, f->path);
  /* the compaction it had asked for ends either way */
  ITERATE_UNTIL (in_flight.done, TIMEOUT_MS);
  g_assert_true (in_flight.ok || g_error_matches (in_flight.error, PLOG_ERROR, PLOG_ERROR_FAILED));
  g_clear_error (&in_flight.error);

  g_assert_false (plog_logger_dump (f->logger, op, &error));
  g_assert_error (error, PLOG_ERROR, PLOG_ERROR_NOT_RECORDING);
  g_clear_error (&error);
  g_assert_true (plog_logger_flush (f->logger, &error));
  g_assert_no_error (error);
  g_assert_true (plog_logger_stop (f->logger, &error));
  g_assert_no_error (error);
  g_assert_false (plog_logger_record (f->logger, &error));
  g_assert_error (error, PLOG_ERROR, PLOG_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, f->path));
  g_clear_error (&error);
  g_assert_false (plog_logger_play (f->logger, NULL, NULL, NULL, &error));
  g_assert_error (error, PLOG_ERROR, PLOG_ERROR_FAILED);
  g_clear_error (&error);
  g_assert_null (plog_logger_open_cursor (f->logger, &error));
  g_assert_error (error, PLOG_ERROR, PLOG_ERROR_FAILED);
  g_clear_error (&error);
  g_assert_false (plog_logger_clear (f->logger, &error));
  g_assert_error (error, PLOG_ERROR, PLOG_ERROR_FAILED);
  g_clear_error (&error);
  plog_logger_compact_async (f->logger, NULL, compact_done, &after);
  plog_logger_play_async (f->logger, NULL, play_done, &play);
  ITERATE_UNTIL (after.done && play.done, TIMEOUT_MS);
  g_assert_false (after.ok);
  g_assert_error (after.error, PLOG_ERROR, PLOG_ERROR_FAILED);
  g_clear_error (&after.error);
  g_assert_false (play.ok);
  g_assert_error (play.error, PLOG_ERROR, PLOG_ERROR_FAILED);
  g_clear_error (&play.error);
  plog_logger_limit (f->logger, 4096);
  plog_logger_set_sync_mode (f->logger, PLOG_SYNC_MODE_ALWAYS);
  g_assert_false (g_initable_init (G_INITABLE (f->logger), NULL, &error));
  g_assert_error (error, PLOG_ERROR, PLOG_ERROR_FAILED);
  g_clear_error (&error);
  /* a second dispose, as the last unref does, is harmless */
  g_object_run_dispose (G_OBJECT (f->logger));
  g_assert_cmpuint (notified, ==, 0);

  /* the lock is free while the disposed object lives on, and every
   * op dumped before is there */
  {
    g_autoptr(PlogLogger) next = open_logger (f->path);
    g_autoptr(PlogTestModel) model = plog_test_model_new_from_ops (ops);

    assert_replays_to (next, model);
  }
}

/* ------------------------------------------------------------------ */
/* record_async, stop_async, flush_async                               */

typedef struct
{
  PlogLogger *logger;
  GThread *thread;              /* where the notifications must arrive */
  guint notified;
  guint notified_elsewhere;
  guint notified_at_callback;
  gboolean recording_at_callback;
  gboolean done;
  gboolean ok;
  GError *error;
} Lifecycle;

static void
lifecycle_on_notify (GObject    *object,
                     GParamSpec *pspec,
                     Lifecycle  *lc)
{
  if (g_thread_self () != lc->thread)
    lc->notified_elsewhere++;
  lc->notified++;
}

static void
lifecycle_reset (Lifecycle *lc)
{
  lc->done = FALSE;
  lc->ok = FALSE;
  g_clear_error (&lc->error);
}

/* Starts the asynchronous call named by @call: r(ecord), s(top), c(lear)
 * or f(lush). */
static void
lifecycle_start (PlogLogger          *logger,
                 char                 call,
                 GCancellable        *cancellable,
                 GAsyncReadyCallback  callback,
                 gpointer             user_data)
{
  switch (call)
    {
    case 'r':
      plog_logger_record_async (logger, cancellable, callback, user_data);
      break;
    case 's':
      plog_logger_stop_async (logger, cancellable, callback, user_data);
      break;
    case 'c':
      plog_logger_clear_async (logger, cancellable, callback, user_data);
      break;
    case 'f':
      plog_logger_flush_async (logger, cancellable, callback, user_data);
      break;
    default:
      g_assert_not_reached ();
    }
}

/* The _finish of whichever asynchronous call @result is of. */
static gboolean
lifecycle_finish (PlogLogger    *logger,
                  GAsyncResult  *result,
                  GError       **error)
{
  if (g_async_result_is_tagged (result, plog_logger_record_async))
    return plog_logger_record_finish (logger, result, error);
  if (g_async_result_is_tagged (result, plog_logger_stop_async))
    return plog_logger_stop_finish (logger, result, error);
  if (g_async_result_is_tagged (result, plog_logger_clear_async))
    return plog_logger_clear_finish (logger, result, error);
  if (g_async_result_is_tagged (result, plog_logger_flush_async))
    return plog_logger_flush_finish (logger, result, error);
  g_assert_not_reached ();
}

static void
lifecycle_done_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  Lifecycle *lc = user_data;
  PlogLogger *logger = PLOG_LOGGER (source);

  g_assert_true (logger == lc->logger);
  g_assert_false (lc->done);
  if (g_thread_self () != lc->thread)
    lc->notified_elsewhere++;
  lc->notified_at_callback = lc->notified;
  lc->recording_at_callback = plog_logger_get_recording (logger);

  lc->ok = lifecycle_finish (logger, result, &lc->error);
  lc->done = TRUE;
}

/* Iterates @context until the call completes. */
static void
lifecycle_wait (Lifecycle    *lc,
                GMainContext *context)
{
  gint64 deadline = g_get_monotonic_time () + TIMEOUT_MS * 1000;

  while (!lc->done && g_get_monotonic_time () < deadline)
    g_main_context_iteration (context, TRUE);
  g_assert_true (lc->done);
}

/* record_async and stop_async from the main thread: the notification
 * comes in the caller's context, before the callback, and the ops
 * dumped in between replay. */
static void
test_record_async_main_loop (Fixture       *f,
                             gconstpointer  data)
{
  g_autoptr(GPtrArray) ops = numbered_ops ("record-async", 500);
  g_autoptr(GError) error = NULL;
  Lifecycle lc = { f->logger, g_thread_self (), 0, };
  gulong id;

  id = g_signal_connect (f->logger, "notify::recording", G_CALLBACK (lifecycle_on_notify), &lc);

  plog_logger_record_async (f->logger, NULL, lifecycle_done_cb, &lc);
  lifecycle_wait (&lc, NULL);
  g_assert_no_error (lc.error);
  g_assert_true (lc.ok);
  g_assert_cmpuint (lc.notified_at_callback, ==, 1);
  g_assert_true (lc.recording_at_callback);
  g_assert_true (plog_logger_get_recording (f->logger));
  dump_all (f->logger, ops);

  /* already recording: done, no notification */
  lifecycle_reset (&lc);
  plog_logger_record_async (f->logger, NULL, lifecycle_done_cb, &lc);
  lifecycle_wait (&lc, NULL);
  g_assert_no_error (lc.error);
  g_assert_true (lc.ok);
  g_assert_cmpuint (lc.notified, ==, 1);

  lifecycle_reset (&lc);
  plog_logger_flush_async (f->logger, NULL, lifecycle_done_cb, &lc);
  lifecycle_wait (&lc, NULL);
  g_assert_no_error (lc.error);
  g_assert_true (lc.ok);

  lifecycle_reset (&lc);
  plog_logger_stop_async (f->logger, NULL, lifecycle_done_cb, &lc);
  lifecycle_wait (&lc, NULL);
  g_assert_no_error (lc.error);
  g_assert_true (lc.ok);
  g_assert_cmpuint (lc.notified_at_callback, ==, 2);
  g_assert_false (lc.recording_at_callback);
  g_assert_false (plog_logger_dump (f->logger, g_ptr_array_index (ops, 0), &error));
  g_assert_error (error, PLOG_ERROR, PLOG_ERROR_NOT_RECORDING);
  g_clear_error (&error);

  /* not recording: done, no notification */
  lifecycle_reset (&lc);
  plog_logger_stop_async (f->logger, NULL, lifecycle_done_cb, &lc);
  lifecycle_wait (&lc, NULL);
  g_assert_true (lc.ok);
  lifecycle_reset (&lc);
  plog_logger_flush_async (f->logger, NULL, lifecycle_done_cb, &lc);
  lifecycle_wait (&lc, NULL);
  g_assert_true (lc.ok);
  g_assert_cmpuint (lc.notified, ==, 2);

  g_signal_handler_disconnect (f->logger, id);
  g_assert_cmpuint (lc.notified_elsewhere, ==, 0);
  g_clear_error (&lc.error);

  fixture_reopen (f);
  assert_replays (f->logger, ops);
}

static gpointer
lifecycle_thread_func (gpointer data)
{
  Lifecycle *lc = data;
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(PlogOp) op = op_put ("thread", "context", 1);
  g_autoptr(GError) error = NULL;

  g_main_context_push_thread_default (context);
  lc->thread = g_thread_self ();

  plog_logger_record_async (lc->logger, NULL, lifecycle_done_cb, lc);
  lifecycle_wait (lc, context);
  g_assert_true (lc->ok);
  g_assert_cmpuint (lc->notified_at_callback, ==, 1);
  g_assert_true (plog_logger_dump (lc->logger, op, &error));
  g_assert_no_error (error);

  lifecycle_reset (lc);
  plog_logger_stop_async (lc->logger, NULL, lifecycle_done_cb, lc);
  lifecycle_wait (lc, context);
  g_assert_true (lc->ok);
  g_assert_cmpuint (lc->notified_at_callback, ==, 2);

  g_main_context_pop_thread_default (context);
  return NULL;
}

/* From a thread with a context of its own: everything arrives there,
 * nothing in the logger's (main) context, which is not iterated. */
static void
test_record_async_thread_context (Fixture       *f,
                                  gconstpointer  data)
{
  Lifecycle lc = { f->logger, NULL, 0, };
  g_autoptr(GPtrArray) got = NULL;
  gulong id;

  id = g_signal_connect (f->logger, "notify::recording", G_CALLBACK (lifecycle_on_notify), &lc);
  g_thread_join (g_thread_new ("lifecycle", lifecycle_thread_func, &lc));
  drain_main_context ();
  g_signal_handler_disconnect (f->logger, id);

  g_assert_cmpuint (lc.notified, ==, 2);
  g_assert_cmpuint (lc.notified_elsewhere, ==, 0);
  g_assert_false (plog_logger_get_recording (f->logger));
  got = plog_test_replay (f->logger);
  g_assert_cmpuint (got->len, ==, 1);
}

/* Cancelled before the worker began: G_IO_ERROR_CANCELLED, and nothing
 * changed. */
static void
test_record_async_cancelled (Fixture       *f,
                             gconstpointer  data)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  Lifecycle lc = { f->logger, g_thread_self (), 0, };
  guint n_logs = plog_test_count_files (f->path, ".log");
  gulong id;

  id = g_signal_connect (f->logger, "notify::recording", G_CALLBACK (lifecycle_on_notify), &lc);
  g_cancellable_cancel (cancellable);

  plog_logger_record_async (f->logger, cancellable, lifecycle_done_cb, &lc);
  lifecycle_wait (&lc, NULL);
  g_assert_error (lc.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_false (lc.ok);
  g_assert_false (plog_logger_get_recording (f->logger));
  g_assert_cmpuint (plog_test_count_files (f->path, ".log"), ==, n_logs);

  record (f->logger);
  lifecycle_reset (&lc);
  plog_logger_stop_async (f->logger, cancellable, lifecycle_done_cb, &lc);
  lifecycle_wait (&lc, NULL);
  g_assert_error (lc.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_true (plog_logger_get_recording (f->logger));

  lifecycle_reset (&lc);
  plog_logger_flush_async (f->logger, cancellable, lifecycle_done_cb, &lc);
  lifecycle_wait (&lc, NULL);
  g_assert_error (lc.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

  g_signal_handler_disconnect (f->logger, id);
  /* the synchronous record's notification only */
  g_assert_cmpuint (lc.notified, ==, 1);
  g_clear_error (&lc.error);
  stop (f->logger);
}

/* The errors of the asynchronous forms: those of the synchronous calls
 * on a closed logger (record and clear fail, stop and flush do nothing),
 * and programmer errors: no logger, or a result of another call. */
static void
test_lifecycle_errors (Fixture       *f,
                       gconstpointer  data)
{
  Lifecycle lc = { f->logger, g_thread_self (), 0, };
  g_autoptr(GError) error = NULL;

  g_assert_true (plog_logger_close (f->logger, &error));
  g_assert_no_error (error);
  for (const char *call = "rcsf"; *call != '\0'; call++)
    {
      lifecycle_reset (&lc);
      lifecycle_start (f->logger, *call, NULL, lifecycle_done_cb, &lc);
      lifecycle_wait (&lc, NULL);
      if (*call == 'r' || *call == 'c')
        {
          g_assert_error (lc.error, PLOG_ERROR, PLOG_ERROR_FAILED);
          g_assert_nonnull (strstr (lc.error->message, f->path));
          g_assert_false (lc.ok);
        }
      else
        {
          g_assert_no_error (lc.error);
          g_assert_true (lc.ok);
        }
    }
  lifecycle_reset (&lc);
  g_clear_error (&lc.error);

  if (g_test_undefined ())
    {
      g_autoptr(GAsyncResult) result = NULL;

      for (const char *call = "rscf"; *call != '\0'; call++)
        {
          g_test_expect_message ("Plog", G_LOG_LEVEL_CRITICAL, "*PLOG_IS_LOGGER*");
          lifecycle_start (NULL, *call, NULL, NULL, NULL);
          g_test_assert_expected_messages ();
        }

      /* a flush's result given to the other _finish functions */
      plog_logger_flush_async (f->logger, NULL, plog_test_store_result_cb, &result);
      ITERATE_UNTIL (result != NULL, TIMEOUT_MS);
      g_test_expect_message ("Plog", G_LOG_LEVEL_CRITICAL, "*is_tagged*");
      g_assert_false (plog_logger_record_finish (f->logger, result, NULL));
      g_test_assert_expected_messages ();
      g_test_expect_message ("Plog", G_LOG_LEVEL_CRITICAL, "*is_tagged*");
      g_assert_false (plog_logger_stop_finish (f->logger, result, NULL));
      g_test_assert_expected_messages ();
      g_test_expect_message ("Plog", G_LOG_LEVEL_CRITICAL, "*is_tagged*");
      g_assert_false (plog_logger_clear_finish (f->logger, result, NULL));
      g_test_assert_expected_messages ();
      g_assert_true (plog_logger_flush_finish (f->logger, result, NULL));
    }
}

/* stop_async returns to the main loop while a compaction still runs, and
 * completes once it landed; the main loop keeps running meanwhile. */
static void
test_stop_async_compaction (Fixture       *f,
                            gconstpointer  data)
{
  g_autoptr(GPtrArray) ops = numbered_ops ("stop-async", 20000);
  Lifecycle lc = { f->logger, g_thread_self (), 0, };
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);

  plog_logger_set_sync_mode (f->logger, PLOG_SYNC_MODE_NONE);
  record (f->logger);
  dump_all (f->logger, ops);
  plog_logger_compact_async (f->logger, NULL, NULL, NULL);
  plog_logger_stop_async (f->logger, NULL, lifecycle_done_cb, &lc);
  /* the call returned before the stop */
  g_assert_false (lc.done);

  lifecycle_wait (&lc, NULL);
  g_assert_no_error (lc.error);
  g_assert_true (lc.ok);
  g_assert_false (lc.recording_at_callback);
  /* the compaction landed, and removed what it replaced, before the stop
   * completed: one snapshot, and at most the log that took the dumps
   * after the compaction's rotation */
  g_assert_cmpuint (plog_test_count_files (f->path, ".snap"), ==, 1);
  g_assert_cmpuint (plog_test_count_files (f->path, ".log"), <=, 1);
  ITERATE_UNTIL (f->compacted >= 1, TIMEOUT_MS);

  fixture_reopen (f);
  {
    g_autoptr(PlogTestModel) expected = plog_test_model_new_from_ops (ops);

    assert_replays_to (f->logger, expected);
  }
}

/* Calls take their turn when they are made: a stop() made right after a
 * record_async() stops what the record starts, even when the record's
 * worker has not begun; and asynchronous calls run in the order they
 * were made: after random runs of them, none awaited, the logger is
 * recording exactly when the last record came after the last stop. */
static void
order_done_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  guint *pending = user_data;
  g_autoptr(GError) error = NULL;
  gboolean ok = lifecycle_finish (PLOG_LOGGER (source), result, &error);

  g_assert_no_error (error);
  g_assert_true (ok);
  (*pending)--;
}

/* One asynchronous call of test_lifecycle_order(). */
typedef struct
{
  char call;                    /* r, s, c or f */
  gboolean done;
  gboolean ran;                 /* or was cancelled */
  guint *pending;
} OrderCall;

static void
order_call_done_cb (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  OrderCall *c = user_data;
  g_autoptr(GError) error = NULL;
  gboolean ok = lifecycle_finish (PLOG_LOGGER (source), result, &error);

  if (!ok)
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_false (c->done);
  c->done = TRUE;
  c->ran = ok;
  (*c->pending)--;
}

static gpointer
cancel_thread (gpointer data)
{
  g_cancellable_cancel (data);
  return NULL;
}

static void
test_lifecycle_order (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (11);
  guint pending = 0;
  guint n_cancelled = 0;

  for (guint round = 0; round < 100; round++)
    {
      OrderCall calls[8];
      g_autoptr(GCancellable) cancellable = g_cancellable_new ();
      GThread *canceller = NULL;
      gboolean expected = FALSE;
      char ran[G_N_ELEMENTS (calls) + 1] = { 0 };
      guint n_ran = 0;

      /* a synchronous stop right after */
      pending = 1;
      plog_logger_record_async (f->logger, NULL, order_done_cb, &pending);
      stop (f->logger);
      ITERATE_UNTIL (pending == 0, TIMEOUT_MS);
      g_assert_false (plog_logger_get_recording (f->logger));

      /* Asynchronous calls, none awaited; a few of them with a
       * cancellable cancelled halfway, which then either ran, or will
       * not. */
      for (guint i = 0; i < G_N_ELEMENTS (calls); i++)
        {
          OrderCall *c = &calls[i];
          GCancellable *maybe = g_rand_int_range (rand, 0, 4) == 0 ? cancellable : NULL;

          c->call = "rscf"[g_rand_int_range (rand, 0, 4)];
          c->done = c->ran = FALSE;
          c->pending = &pending;
          pending++;
          lifecycle_start (f->logger, c->call, maybe, order_call_done_cb, c);
          /* in this thread, or from another one at any moment */
          if (i == G_N_ELEMENTS (calls) / 2)
            {
              if (round % 2 == 0)
                g_cancellable_cancel (cancellable);
              else
                canceller = g_thread_new ("cancel", cancel_thread, cancellable);
            }
        }
      ITERATE_UNTIL (pending == 0, TIMEOUT_MS);
      if (canceller != NULL)
        g_thread_join (canceller);

      /* The logger records exactly when, of the calls that ran, the last
       * record came after the last stop. */
      for (guint i = 0; i < G_N_ELEMENTS (calls); i++)
        if (!calls[i].ran)
          n_cancelled++;
        else
          {
            ran[n_ran++] = calls[i].call;
            if (calls[i].call == 'r')
              expected = TRUE;
            else if (calls[i].call == 's')
              expected = FALSE;
          }
      if (plog_logger_get_recording (f->logger) != expected)
        g_test_message ("calls that ran: %s", ran);
      g_assert_cmpint (plog_logger_get_recording (f->logger), ==, expected);
      stop (f->logger);
    }
  g_test_message ("%u calls cancelled before their turn", n_cancelled);
}

/* An asynchronous call waits for its turn outside GLib's thread pool, so
 * that a stop waiting for a compaction does not hold the pool's threads
 * from the program's other tasks; a call cancelled while it waits fails
 * with G_IO_ERROR_CANCELLED at once, and changes nothing. */
static void
other_task_thread (GTask        *task,
                   gpointer      source_object,
                   gpointer      task_data,
                   GCancellable *cancellable)
{
  g_task_return_boolean (task, TRUE);
}

static void
other_task_done (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  gboolean *done = user_data;

  *done = TRUE;
}

static void
test_lifecycle_waits_outside_pool (Fixture       *f,
                                   gconstpointer  data)
{
  g_autoptr(GPtrArray) ops = numbered_ops ("pool", 100000);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GTask) other = NULL;
  Lifecycle stopping = { f->logger, g_thread_self (), 0, };
  Lifecycle recording = { f->logger, g_thread_self (), 0, };
  gboolean other_done = FALSE;
  guint pending = 0;

  plog_logger_set_sync_mode (f->logger, PLOG_SYNC_MODE_NONE);
  record (f->logger);
  dump_all (f->logger, ops);
  /* The stop waits for this compaction. */
  plog_logger_compact_async (f->logger, NULL, NULL, NULL);
  plog_logger_stop_async (f->logger, NULL, lifecycle_done_cb, &stopping);
  for (guint i = 0; i < 30; i++, pending++)
    plog_logger_flush_async (f->logger, NULL, order_done_cb, &pending);
  plog_logger_record_async (f->logger, cancellable, lifecycle_done_cb, &recording);
  g_cancellable_cancel (cancellable);

  other = g_task_new (NULL, NULL, other_task_done, &other_done);
  g_task_run_in_thread (other, other_task_thread);
  ITERATE_UNTIL (other_done && recording.done, TIMEOUT_MS);
  /* Stopping takes far longer than a thread takes to start, or a
   * cancelled call to complete. */
  g_assert_false (stopping.done);
  g_assert_error (recording.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

  ITERATE_UNTIL (stopping.done && recording.done && pending == 0, TIMEOUT_MS);
  g_assert_no_error (stopping.error);
  g_assert_true (stopping.ok);
  g_assert_error (recording.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_false (plog_logger_get_recording (f->logger));
  g_clear_error (&recording.error);
}

/* clear_async while recording: the logger goes on recording into a fresh
 * log, and what was dumped before is gone. */
static void
test_clear_async (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(GPtrArray) before = numbered_ops ("before", 100);
  g_autoptr(GPtrArray) after = numbered_ops ("after", 10);
  Lifecycle lc = { f->logger, g_thread_self (), 0, };

  record (f->logger);
  dump_all (f->logger, before);
  plog_logger_clear_async (f->logger, NULL, lifecycle_done_cb, &lc);
  lifecycle_wait (&lc, NULL);
  g_assert_no_error (lc.error);
  g_assert_true (lc.ok);
  g_assert_true (plog_logger_get_recording (f->logger));
  dump_all (f->logger, after);
  stop (f->logger);
  assert_replays (f->logger, after);
}

/* A callback that drops the last reference to the logger: the logger
 * goes in the caller's context, before the callback's source is done,
 * so that its directory is free as soon as the callback returned. */
static void
drop_logger_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  gboolean *done = user_data;
  g_autoptr(GError) error = NULL;

  g_assert_true (plog_logger_stop_finish (PLOG_LOGGER (source), result, &error));
  g_assert_no_error (error);
  g_object_unref (source);
  *done = TRUE;
}

static void
test_stop_async_last_reference (Fixture       *f,
                                gconstpointer  data)
{
  for (guint i = 0; i < 200; i++)
    {
      PlogLogger *logger = open_logger (f->path);
      g_autoptr(GError) error = NULL;
      gpointer weak = logger;
      gboolean done = FALSE;

      g_object_add_weak_pointer (G_OBJECT (logger), &weak);
      plog_logger_set_sync_mode (logger, PLOG_SYNC_MODE_NONE);
      record (logger);
      plog_logger_stop_async (logger, NULL, drop_logger_cb, &done);
      ITERATE_UNTIL (done, TIMEOUT_MS);
      g_assert_null (weak);
    }
}

/* record, stop, clear and play from four threads at once, and the
 * asynchronous forms from a fifth, while a sixth dumps: they take turns,
 * no call fails, and the directory replays. */
typedef struct
{
  PlogLogger *logger;
  gint stop_dumping;
  guint n_dumped;
  guint n_not_recording;
} Turns;

static gpointer
turns_record_stop (gpointer data)
{
  Turns *t = data;

  for (guint i = 0; i < 40; i++)
    {
      g_autoptr(GError) error = NULL;

      g_assert_true (plog_logger_record (t->logger, &error));
      g_assert_no_error (error);
      g_assert_true (plog_logger_stop (t->logger, &error));
      g_assert_no_error (error);
    }
  return NULL;
}

static gpointer
turns_record (gpointer data)
{
  Turns *t = data;

  for (guint i = 0; i < 40; i++)
    {
      g_autoptr(GError) error = NULL;

      g_assert_true (plog_logger_record (t->logger, &error));
      g_assert_no_error (error);
    }
  return NULL;
}

static gpointer
turns_clear (gpointer data)
{
  Turns *t = data;

  for (guint i = 0; i < 20; i++)
    {
      g_autoptr(GError) error = NULL;

      g_assert_true (plog_logger_clear (t->logger, &error));
      g_assert_no_error (error);
    }
  return NULL;
}

static gpointer
turns_play (gpointer data)
{
  Turns *t = data;

  for (guint i = 0; i < 20; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(PlogCursor) cursor = plog_logger_open_cursor (t->logger, &error);
      PlogOp *op;

      g_assert_no_error (error);
      while ((op = plog_cursor_next (cursor, NULL, &error)) != NULL)
        plog_op_unref (op);
      g_assert_no_error (error);
    }
  return NULL;
}

/* The asynchronous forms, from a thread with a context of its own. */
static gpointer
turns_async (gpointer data)
{
  Turns *t = data;
  g_autoptr(GMainContext) context = g_main_context_new ();
  Lifecycle lc = { t->logger, g_thread_self (), 0, };

  g_main_context_push_thread_default (context);
  for (guint i = 0; i < 20; i++)
    {
      lifecycle_reset (&lc);
      lifecycle_start (t->logger, "rfcs"[i % 4], NULL, lifecycle_done_cb, &lc);
      lifecycle_wait (&lc, context);
      g_assert_no_error (lc.error);
      g_assert_true (lc.ok);
    }
  g_main_context_pop_thread_default (context);
  return NULL;
}

static gpointer
turns_dump (gpointer data)
{
  Turns *t = data;

  for (guint i = 0; !g_atomic_int_get (&t->stop_dumping); i++)
    {
      g_autofree char *key = g_strdup_printf ("turn-%u", i % 1000);
      g_autoptr(PlogOp) op = op_put (key, "value", i);
      g_autoptr(GError) error = NULL;

      if (plog_logger_dump (t->logger, op, &error))
        t->n_dumped++;
      else
        {
          g_assert_error (error, PLOG_ERROR, PLOG_ERROR_NOT_RECORDING);
          t->n_not_recording++;
        }
    }
  return NULL;
}

static void
test_threads_lifecycle (Fixture       *f,
                        gconstpointer  data)
{
  Turns t = { f->logger, 0, };
  GThread *threads[5];
  GThread *dumper;
  guint n_logs;

  plog_logger_set_sync_mode (f->logger, PLOG_SYNC_MODE_NONE);
  plog_logger_limit (f->logger, 64 * 1024);
  dumper = g_thread_new ("dump", turns_dump, &t);
  threads[0] = g_thread_new ("record-stop", turns_record_stop, &t);
  threads[1] = g_thread_new ("record", turns_record, &t);
  threads[2] = g_thread_new ("clear", turns_clear, &t);
  threads[3] = g_thread_new ("play", turns_play, &t);
  threads[4] = g_thread_new ("async", turns_async, &t);
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    g_thread_join (threads[i]);
  g_atomic_int_set (&t.stop_dumping, TRUE);
  g_thread_join (dumper);
  g_test_message ("%u dumps taken, %u refused while not recording",
                  t.n_dumped, t.n_not_recording);

  /* One record() that finds the logger recording starts nothing more. */
  record (f->logger);
  n_logs = plog_test_count_files (f->path, ".log");
  record (f->logger);
  g_assert_cmpuint (plog_test_count_files (f->path, ".log"), ==, n_logs);
  stop (f->logger);
  drain_main_context ();

  fixture_reopen (f);
  g_ptr_array_unref (plog_test_replay (f->logger));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func, open) \
  g_test_add (path, Fixture, GINT_TO_POINTER (open), setup, func, teardown)

  ADD ("/logger/new/creates-directory", test_new_creates_directory, FALSE);
  ADD ("/logger/new/existing-directory", test_new_existing_directory, FALSE);
  ADD ("/logger/new/not-a-directory", test_new_not_a_directory, FALSE);
  ADD ("/logger/new/unwritable-directory", test_new_unwritable_directory, FALSE);
  ADD ("/logger/play/fifo", test_play_fifo, FALSE);
  ADD ("/logger/lock/same-process", test_lock_same_process, FALSE);
  ADD ("/logger/new/relative-directory", test_relative_directory, FALSE);
  ADD ("/logger/new/lazy-init", test_lazy_init, FALSE);
  ADD ("/logger/dispose/run-dispose", test_run_dispose, TRUE);
  ADD ("/logger/dispose/racing-dumps", test_dispose_racing_dumps, TRUE);
  ADD ("/logger/close", test_close, TRUE);
  ADD ("/logger/compacted/idle-context", test_compacted_idle_context, FALSE);
  g_test_add_func ("/logger/lock/other-process", test_lock_other_process);

  ADD ("/logger/property/directory", test_property_directory, TRUE);
  ADD ("/logger/property/max-size", test_property_max_size, TRUE);
  ADD ("/logger/property/recording", test_property_recording, TRUE);
  ADD ("/logger/property/sync-mode", test_property_sync_mode, TRUE);

  ADD ("/logger/record/twice", test_record_twice, TRUE);
  ADD ("/logger/record/after-stop", test_record_after_stop, TRUE);
  ADD ("/logger/dump/not-recording", test_dump_not_recording, TRUE);
  ADD ("/logger/dump/other-thread", test_dump_other_thread, TRUE);
  ADD ("/logger/dump/too-large", test_dump_too_large, TRUE);
  ADD ("/logger/dump/large-value", test_round_trip_large_value, TRUE);
  ADD ("/logger/stop/not-recording", test_stop_not_recording, TRUE);
  ADD ("/logger/stop/unref-recording", test_unref_recording, TRUE);
  g_test_add_data_func ("/logger/stop/failed-then-unref", GINT_TO_POINTER (FALSE),
                        test_stop_failed_then_unref);
  g_test_add_data_func ("/logger/close/failed", GINT_TO_POINTER (TRUE),
                        test_stop_failed_then_unref);
  ADD ("/logger/flush", test_flush, TRUE);
  g_test_add_func ("/logger/flush/exit", test_flush_exit);
  g_test_add_func ("/logger/sync-mode/always-exit", test_always_exit);
  g_test_add_func ("/logger/sync-mode/periodic-exit", test_periodic_exit);

  g_test_add ("/logger/round-trip/none", Fixture, GINT_TO_POINTER (PLOG_SYNC_MODE_NONE),
              setup_closed, test_round_trip, teardown);
  g_test_add ("/logger/round-trip/periodic", Fixture, GINT_TO_POINTER (PLOG_SYNC_MODE_PERIODIC),
              setup_closed, test_round_trip, teardown);
  g_test_add ("/logger/round-trip/always", Fixture, GINT_TO_POINTER (PLOG_SYNC_MODE_ALWAYS),
              setup_closed, test_round_trip, teardown);

  ADD ("/logger/play/empty", test_play_empty, TRUE);
  ADD ("/logger/play/while-recording", test_play_while_recording, TRUE);
  ADD ("/logger/play/signal", test_play_signal, TRUE);
  ADD ("/logger/play/cancelled", test_play_cancelled, TRUE);
  ADD ("/logger/play/mixed-sizes", test_play_mixed_sizes, TRUE);
  ADD ("/logger/play-async/thread-context", test_play_async_thread_context, TRUE);
  ADD ("/logger/play-async/default-context", test_play_async_default_context, TRUE);
  ADD ("/logger/play-async/cancelled", test_play_async_cancelled, TRUE);
  ADD ("/logger/play-async/lets-paints-run", test_play_async_lets_paints_run, TRUE);
  ADD ("/logger/play-async/cancel-idle-context", test_play_async_cancel_idle_context, TRUE);

  ADD ("/logger/record-async/main-loop", test_record_async_main_loop, TRUE);
  ADD ("/logger/record-async/thread-context", test_record_async_thread_context, TRUE);
  ADD ("/logger/record-async/cancelled", test_record_async_cancelled, TRUE);
  ADD ("/logger/stop-async/compaction", test_stop_async_compaction, TRUE);
  ADD ("/logger/stop-async/last-reference", test_stop_async_last_reference, FALSE);
  ADD ("/logger/clear-async", test_clear_async, TRUE);
  ADD ("/logger/lifecycle/errors", test_lifecycle_errors, TRUE);
  ADD ("/logger/lifecycle/order", test_lifecycle_order, TRUE);
  ADD ("/logger/lifecycle/waits-outside-pool", test_lifecycle_waits_outside_pool, TRUE);
  ADD ("/logger/threads/lifecycle", test_threads_lifecycle, TRUE);

  ADD ("/logger/compact/explicit", test_compact_explicit, TRUE);
  ADD ("/logger/compact/mixed", test_compact_mixed, TRUE);
  ADD ("/logger/compact/large-merges", test_compact_large_merges, TRUE);
  ADD ("/logger/compact/signal-context", test_compact_signal_context, TRUE);
  ADD ("/logger/compact/releases-logger", test_compact_releases_logger, TRUE);
  ADD ("/logger/compact/automatic", test_compact_automatic, TRUE);
  ADD ("/logger/threads/dump", test_threads_dump, TRUE);
  ADD ("/logger/threads/outrun-writer", test_threads_outrun_writer, TRUE);
  ADD ("/logger/threads/stop-none", test_threads_stop_none, TRUE);
  ADD ("/logger/threads/stop-always", test_threads_stop_always, TRUE);
  ADD ("/logger/threads/compaction", test_threads_compaction, TRUE);

  ADD ("/logger/clear/recording", test_clear_recording, TRUE);
  ADD ("/logger/clear/not-recording", test_clear_not_recording, TRUE);

  ADD ("/logger/cursor/basic", test_cursor_basic, TRUE);
  ADD ("/logger/cursor/cancelled", test_cursor_cancelled, TRUE);
  ADD ("/logger/cursor/pinned-compaction", test_cursor_pinned_compaction, TRUE);
  ADD ("/logger/cursor/pinned-clear", test_cursor_pinned_clear, TRUE);

  ADD ("/logger/null-self", test_null_self, TRUE);

#undef ADD

  return g_test_run ();
}
