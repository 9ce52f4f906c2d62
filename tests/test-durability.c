/* test-durability.c: torn tails, damaged files, crashes, full disks and
 * unwritable directories, reached for real
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* unshare () needs _GNU_SOURCE, which the build defines. */

#include <plog.h>

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/vfs.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/magic.h>

#include "plog-test-util.h"

#define WAIT_SECONDS 120
#define HEADER_SIZE 16
#define END_SIZE 16
#define NOBODY 65534

/* {{{ Helpers */

#define ITERATE_UNTIL(cond) PLOG_TEST_ITERATE_UNTIL (cond, WAIT_SECONDS * 1000)
#define drain_main_context plog_test_drain_main_context

/* Frees @logger and waits until it is finalized (a worker may hold a
 * reference for a moment), so that its lock is released. */
static void
free_logger (PlogLogger *logger)
{
  gpointer weak = logger;

  g_object_add_weak_pointer (G_OBJECT (logger), &weak);
  g_object_unref (logger);
  for (guint i = 0; weak != NULL && i < WAIT_SECONDS * 1000; i++)
    {
      drain_main_context ();
      if (weak != NULL)
        g_usleep (1000);
    }
  g_assert_null (weak);
}

static PlogLogger *
open_logger (const char   *dir,
             PlogSyncMode  mode)
{
  g_autoptr(GError) error = NULL;
  PlogLogger *logger = plog_logger_new (dir, &error);

  g_assert_no_error (error);
  g_assert_nonnull (logger);
  plog_logger_set_sync_mode (logger, mode);
  return logger;
}

static void
record_ok (PlogLogger *logger)
{
  g_autoptr(GError) error = NULL;
  gboolean ok = plog_logger_record (logger, &error);

  g_assert_no_error (error);
  g_assert_true (ok);
  g_assert_true (plog_logger_get_recording (logger));
}

static void
dump_ok (PlogLogger *logger,
         PlogOp     *op)
{
  g_autoptr(GError) error = NULL;
  gboolean ok = plog_logger_dump (logger, op, &error);

  g_assert_no_error (error);
  g_assert_true (ok);
}

static void
flush_ok (PlogLogger *logger)
{
  g_autoptr(GError) error = NULL;
  gboolean ok = plog_logger_flush (logger, &error);

  g_assert_no_error (error);
  g_assert_true (ok);
}

static void
stop_ok (PlogLogger *logger)
{
  g_autoptr(GError) error = NULL;
  gboolean ok = plog_logger_stop (logger, &error);

  g_assert_no_error (error);
  g_assert_true (ok);
  g_assert_false (plog_logger_get_recording (logger));
}

static void
compact_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  GError **error = user_data;
  gboolean ok = plog_logger_compact_finish (PLOG_LOGGER (source), result, error);

  /* TRUE, or FALSE with an error */
  g_assert_true (ok == (*error == NULL));
  g_object_set_data (source, "test-compact-done", GINT_TO_POINTER (1));
}

/* Runs an explicit compaction to its end; returns its error. */
static GError *
compact (PlogLogger *logger)
{
  GError *error = NULL;

  g_object_set_data (G_OBJECT (logger), "test-compact-done", NULL);
  plog_logger_compact_async (logger, NULL, compact_cb, &error);
  ITERATE_UNTIL (g_object_get_data (G_OBJECT (logger), "test-compact-done") != NULL);
  return error;
}

static void
compact_ok (PlogLogger *logger)
{
  g_autoptr(GError) error = compact (logger);

  g_assert_no_error (error);
}

static char *
describe_op (PlogOp *op)
{
  return op != NULL ? plog_op_to_string (op) : g_strdup ("(none)");
}

static void
assert_op_equal (PlogOp *expected,
                 PlogOp *got,
                 guint   index)
{
  if (expected == NULL || got == NULL || !plog_op_equal (expected, got))
    {
      g_autofree char *e = describe_op (expected);
      g_autofree char *g = describe_op (got);

      g_test_message ("op %u: expected %s, got %s", index, e, g);
      g_assert_not_reached ();
    }
}

/* @got must be the first @n ops of @expected, then the ops of @more. */
static void
assert_ops (GPtrArray *got,
            GPtrArray *expected,
            guint      n,
            GPtrArray *more)
{
  guint n_more = more != NULL ? more->len : 0;

  if (got->len != n + n_more)
    g_test_message ("%u ops replayed, expected %u", got->len, n + n_more);
  for (guint i = 0; i < MIN (got->len, n + n_more); i++)
    assert_op_equal (i < n ? g_ptr_array_index (expected, i) : g_ptr_array_index (more, i - n),
                     g_ptr_array_index (got, i), i);
  g_assert_cmpuint (got->len, ==, n + n_more);
}

static goffset
file_size (const char *path)
{
  GStatBuf st;

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  return st.st_size;
}

static void
write_file (const char   *path,
            const guint8 *data,
            gsize         len)
{
  g_autoptr(GError) error = NULL;

  g_file_set_contents_full (path, (const char *) data, len, G_FILE_SET_CONTENTS_NONE, 0600, &error);
  g_assert_no_error (error);
}

static GBytes *
read_file (const char *path)
{
  g_autoptr(GError) error = NULL;
  char *data = NULL;
  gsize len = 0;

  g_file_get_contents (path, &data, &len, &error);
  g_assert_no_error (error);
  return g_bytes_new_take (data, len);
}

static void
truncate_file (const char *path,
               goffset     size)
{
  g_assert_cmpint (truncate (path, size), ==, 0);
}

static void
append_file (const char   *path,
             const guint8 *data,
             gsize         len)
{
  int fd = open (path, O_WRONLY | O_APPEND);

  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (write (fd, data, len), ==, (gssize) len);
  g_assert_true (g_close (fd, NULL));
}

static void
overwrite_file (const char   *path,
                goffset       offset,
                const guint8 *data,
                gsize         len)
{
  int fd = open (path, O_WRONLY);

  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (pwrite (fd, data, len, offset), ==, (gssize) len);
  g_assert_true (g_close (fd, NULL));
}

static guint8
read_byte (const char *path,
           goffset     offset)
{
  int fd = open (path, O_RDONLY);
  guint8 b = 0;

  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (pread (fd, &b, 1, offset), ==, 1);
  g_assert_true (g_close (fd, NULL));
  return b;
}

static void
xor_byte (const char *path,
          goffset     offset,
          guint8      mask)
{
  guint8 b = read_byte (path, offset) ^ mask;

  overwrite_file (path, offset, &b, 1);
}

/* A fresh temporary directory with copies of the data files of @src. */
static char *
copy_dir (const char *src)
{
  char *dst = plog_test_make_tmpdir ();
  g_autoptr(GPtrArray) files = plog_test_list_files (src, NULL);

  for (guint i = 0; i < files->len; i++)
    {
      const char *path = g_ptr_array_index (files, i);
      g_autofree char *name = g_path_get_basename (path);
      g_autofree char *copy = NULL;
      g_autoptr(GBytes) data = NULL;

      if (strcmp (name, "LOCK") == 0 || !g_file_test (path, G_FILE_TEST_IS_REGULAR))
        continue;
      copy = g_build_filename (dst, name, NULL);
      data = read_file (path);
      write_file (copy, g_bytes_get_data (data, NULL), g_bytes_get_size (data));
    }
  return dst;
}

/* Every file of @dir but LOCK, name -> contents. */
static GHashTable *
dir_contents (const char *dir)
{
  GHashTable *contents = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                (GDestroyNotify) g_bytes_unref);
  g_autoptr(GPtrArray) files = plog_test_list_files (dir, NULL);

  for (guint i = 0; i < files->len; i++)
    {
      const char *path = g_ptr_array_index (files, i);
      char *name = g_path_get_basename (path);

      if (strcmp (name, "LOCK") == 0)
        {
          g_free (name);
          continue;
        }
      g_hash_table_insert (contents, name, read_file (path));
    }
  return contents;
}

static void
assert_dir_unchanged (GHashTable *before,
                      const char *dir)
{
  g_autoptr(GHashTable) after = dir_contents (dir);
  GHashTableIter iter;
  gpointer name, data;

  g_hash_table_iter_init (&iter, before);
  while (g_hash_table_iter_next (&iter, &name, &data))
    {
      GBytes *now = g_hash_table_lookup (after, name);

      if (now == NULL)
        g_test_message ("%s was removed", (char *) name);
      else if (!g_bytes_equal (now, data))
        g_test_message ("%s changed: %" G_GSIZE_FORMAT " bytes, now %" G_GSIZE_FORMAT,
                        (char *) name, g_bytes_get_size (data), g_bytes_get_size (now));
      g_assert_nonnull (now);
      g_assert_true (g_bytes_equal (now, data));
    }
  g_hash_table_iter_init (&iter, after);
  while (g_hash_table_iter_next (&iter, &name, NULL))
    {
      if (!g_hash_table_contains (before, name))
        g_test_message ("%s was created", (char *) name);
      g_assert_true (g_hash_table_contains (before, name));
    }
}

static char *
newest_file (const char *dir,
             const char *suffix)
{
  g_autoptr(GPtrArray) files = plog_test_list_files (dir, suffix);

  g_assert_cmpuint (files->len, >, 0);
  return g_strdup (g_ptr_array_index (files, files->len - 1));
}

/* Whether @message holds @n as a whole decimal number. */
static gboolean
message_has_number (const char *message,
                    gint64      n)
{
  g_autofree char *digits = g_strdup_printf ("%" G_GINT64_FORMAT, n);
  gsize len = strlen (digits);
  const char *p = message;

  while ((p = strstr (p, digits)) != NULL)
    {
      gboolean before = p > message && g_ascii_isdigit (p[-1]);
      gboolean after = g_ascii_isdigit (p[len]);

      if (!before && !after)
        return TRUE;
      p++;
    }
  return FALSE;
}

/* PLOG_ERROR_CORRUPT naming the file @path and, when @offset >= 0, the
 * byte offset of the bad record. */
static void
assert_corrupt (const GError *error,
                const char   *path,
                gint64        offset)
{
  g_autofree char *name = g_path_get_basename (path);

  if (error != NULL)
    g_test_message ("error: %s", error->message);
  g_assert_error (error, PLOG_ERROR, PLOG_ERROR_CORRUPT);
  if (strstr (error->message, name) == NULL)
    g_test_message ("the message does not name %s", name);
  g_assert_nonnull (strstr (error->message, name));
  if (offset >= 0 && !message_has_number (error->message, offset))
    g_test_message ("the message does not name the offset %" G_GINT64_FORMAT, offset);
  g_assert_true (offset < 0 || message_has_number (error->message, offset));
}

/* A replay that must fail; returns the ops delivered before the error. */
static GPtrArray *
replay_fails (PlogLogger  *logger,
              GError     **error)
{
  GPtrArray *ops = g_ptr_array_new_with_free_func ((GDestroyNotify) plog_op_unref);
  gboolean ok = plog_logger_play (logger, plog_test_collect_op, ops, NULL, error);

  g_assert_false (ok);
  g_assert_nonnull (*error);
  return ops;
}

/* The same through play_async(), with ::replayed. */
static GPtrArray *
replay_async_fails (PlogLogger  *logger,
                    GError     **error)
{
  GPtrArray *ops = g_ptr_array_new_with_free_func ((GDestroyNotify) plog_op_unref);
  g_autoptr(GAsyncResult) result = NULL;
  gulong handler = g_signal_connect (logger, "replayed", G_CALLBACK (plog_test_collect_replayed), ops);

  plog_logger_play_async (logger, NULL, plog_test_store_result_cb, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_signal_handler_disconnect (logger, handler);
  g_assert_false (plog_logger_play_finish (logger, result, error));
  g_assert_nonnull (*error);
  return ops;
}

/* The seq of a file named <20 digits>.<suffix> */
static guint64
file_seq (const char *path)
{
  g_autofree char *name = g_path_get_basename (path);

  return g_ascii_strtoull (name, NULL, 10);
}

/* The start offsets of the records of a whole file; a snapshot's end
 * record (length 0, the last 16 bytes) is not one of them. */
static GArray *
record_starts (const char *path)
{
  g_autoptr(GBytes) data = read_file (path);
  gsize len = 0;
  const guint8 *p = g_bytes_get_data (data, &len);
  GArray *starts = g_array_new (FALSE, FALSE, sizeof (goffset));
  gsize pos = HEADER_SIZE;

  if (g_str_has_suffix (path, ".snap"))
    {
      g_assert_cmpuint (len, >=, HEADER_SIZE + END_SIZE);
      len -= END_SIZE;
      g_assert_cmpuint (p[len] | p[len + 1] | p[len + 2] | p[len + 3], ==, 0);
    }
  while (pos + 8 <= len)
    {
      guint32 payload = p[pos] | (p[pos + 1] << 8) | (p[pos + 2] << 16) | ((guint32) p[pos + 3] << 24);
      goffset start = pos;

      g_assert_cmpuint (payload, >, 0);
      g_array_append_val (starts, start);
      pos += 8 + (gsize) payload;
    }
  g_assert_cmpuint (pos, ==, len);
  return starts;
}

/* The op numbered @n, of a value of @value_size bytes; a sub put now
 * and then. Keys are distinct, so that each op is a live entry. */
static PlogOp *
numbered_op_sized (guint32 n,
                   gsize   value_size)
{
  g_autofree char *key = g_strdup_printf ("op-%08u", n);
  g_autoptr(GBytes) key_bytes = g_bytes_new (key, strlen (key));
  g_autoptr(GBytes) value = NULL;
  guint8 *data = g_malloc (value_size);

  for (gsize i = 0; i < value_size; i++)
    data[i] = (guint8) (n * 31 + i * 7);
  value = g_bytes_new_take (data, value_size);
  if (n % 5 == 4)
    {
      g_autofree char *sub = g_strdup_printf ("sub-%u", n % 3);
      g_autoptr(GBytes) sub_bytes = g_bytes_new (sub, strlen (sub));

      return plog_op_new_sub_put (key_bytes, sub_bytes, value, (gint64) n * 1000 - 5000);
    }
  return plog_op_new_put (key_bytes, value, (gint64) n * 1000 - 5000);
}

static PlogOp *
numbered_op (guint32 n)
{
  return numbered_op_sized (n, 1 + (n * 37) % 160);
}

/* The number of a numbered op of @value_size bytes (or the usual sizes
 * for 0), or -1 when it is not one of them. */
static gint64
op_number_sized (PlogOp *op,
                 gsize   value_size)
{
  gsize len = 0;
  const guint8 *key = plog_op_get_key_data (op, &len);
  g_autofree char *str = NULL;
  g_autoptr(PlogOp) expected = NULL;
  guint64 n;

  if (key == NULL || len != 11 || memcmp (key, "op-", 3) != 0)
    return -1;
  str = g_strndup ((const char *) key + 3, 8);
  if (!g_ascii_string_to_unsigned (str, 10, 0, G_MAXUINT32, &n, NULL))
    return -1;
  expected = value_size > 0 ? numbered_op_sized ((guint32) n, value_size) : numbered_op ((guint32) n);
  return plog_op_equal (op, expected) ? (gint64) n : -1;
}

static gint64
op_number (PlogOp *op)
{
  return op_number_sized (op, 0);
}

/* }}} */

/* {{{ Torn tails and damage in the newest log */

typedef struct
{
  char      *dir;
  GPtrArray *ops;              /* every op dumped, in order */
  char      *newest;           /* basename of the newest log */
  guint      first_in_newest;  /* index in ops of its first op */
  GArray    *starts;           /* offsets of its records */
  goffset    old_size;         /* its size before the last op */
  goffset    new_size;         /* and after */
} Layout;

/* Two logs: 8 ops in the first, 12 in the newest; each op flushed, so
 * that the sizes tell where each record lies. */
static void
layout_init (Layout *l)
{
  PlogLogger *logger;
  g_autofree char *newest = NULL;

  memset (l, 0, sizeof *l);
  l->dir = plog_test_make_tmpdir ();
  l->ops = g_ptr_array_new_with_free_func ((GDestroyNotify) plog_op_unref);
  l->starts = g_array_new (FALSE, FALSE, sizeof (goffset));

  logger = open_logger (l->dir, PLOG_SYNC_MODE_NONE);
  record_ok (logger);
  for (guint32 i = 0; i < 8; i++)
    {
      PlogOp *op = numbered_op (i);

      dump_ok (logger, op);
      flush_ok (logger);
      g_ptr_array_add (l->ops, op);
    }
  stop_ok (logger);
  record_ok (logger);
  newest = newest_file (l->dir, ".log");
  l->newest = g_path_get_basename (newest);
  l->first_in_newest = l->ops->len;
  for (guint32 i = 8; i < 20; i++)
    {
      /* the last one is the largest, with every field of a put */
      PlogOp *op = i < 19 ? numbered_op (i) : numbered_op_sized (i, 150);
      goffset start = file_size (newest);

      g_array_append_val (l->starts, start);
      dump_ok (logger, op);
      flush_ok (logger);
      g_ptr_array_add (l->ops, op);
    }
  l->old_size = g_array_index (l->starts, goffset, l->starts->len - 1);
  l->new_size = file_size (newest);
  stop_ok (logger);
  free_logger (logger);

  /* nothing newer, and nothing written after the last record */
  {
    g_autofree char *check = newest_file (l->dir, ".log");

    g_assert_cmpstr (check, ==, newest);
    g_assert_cmpint (file_size (newest), ==, l->new_size);
  }
  g_assert_cmpint (l->new_size - l->old_size, >, 150);
}

static void
layout_clear (Layout *l)
{
  plog_test_rm_rf (l->dir);
  g_free (l->dir);
  g_free (l->newest);
  g_ptr_array_unref (l->ops);
  g_array_unref (l->starts);
}

static GPtrArray *
more_ops (guint32 first,
          guint   n)
{
  GPtrArray *ops = g_ptr_array_new_with_free_func ((GDestroyNotify) plog_op_unref);

  for (guint i = 0; i < n; i++)
    g_ptr_array_add (ops, numbered_op (first + i));
  return ops;
}

/* Dumps the numbered ops @first to @end, @end excluded. */
static void
dump_numbered (PlogLogger *logger,
               guint32     first,
               guint32     end)
{
  for (guint32 i = first; i < end; i++)
    {
      g_autoptr(PlogOp) op = numbered_op (i);

      dump_ok (logger, op);
    }
}

/* The copy @dir has a tail to cut in its newest log: replay ends quietly
 * after @n_good ops; `record` cuts the newest log back to @good_size;
 * later dumps replay after the good ops. */
static void
check_quiet_tail (Layout     *l,
                  const char *dir,
                  guint       n_good,
                  goffset     good_size,
                  gboolean    play_first)
{
  g_autofree char *newest = g_build_filename (dir, l->newest, NULL);
  g_autoptr(GPtrArray) more = more_ops (1000, 2);
  PlogLogger *logger = open_logger (dir, PLOG_SYNC_MODE_NONE);

  if (play_first)
    {
      g_autoptr(GPtrArray) got = plog_test_replay (logger);

      assert_ops (got, l->ops, n_good, NULL);
    }
  record_ok (logger);
  g_assert_cmpint (file_size (newest), ==, good_size);
  for (guint i = 0; i < more->len; i++)
    dump_ok (logger, g_ptr_array_index (more, i));
  flush_ok (logger);
  {
    /* while recording */
    g_autoptr(GPtrArray) got = plog_test_replay (logger);

    assert_ops (got, l->ops, n_good, more);
  }
  stop_ok (logger);
  free_logger (logger);

  logger = open_logger (dir, PLOG_SYNC_MODE_NONE);
  {
    g_autoptr(GPtrArray) got = plog_test_replay (logger);

    assert_ops (got, l->ops, n_good, more);
  }
  free_logger (logger);
}

static void
test_torn_tail_every_offset (void)
{
  Layout l;
  guint n;

  layout_init (&l);
  n = l.ops->len;
  g_test_message ("last record of %s: bytes %" G_GOFFSET_FORMAT " to %" G_GOFFSET_FORMAT,
                  l.newest, l.old_size, l.new_size);
  for (goffset cut = l.old_size; cut < l.new_size; cut++)
    {
      g_autofree char *copy = copy_dir (l.dir);
      g_autofree char *newest = g_build_filename (copy, l.newest, NULL);

      truncate_file (newest, cut);
      /* now and then, `record` with no replay before it */
      check_quiet_tail (&l, copy, n - 1, l.old_size, cut % 5 != 3);
      plog_test_rm_rf (copy);
    }
  layout_clear (&l);
}

/* A newest log cut inside its header: a crash right after it was created */
/* A replay on another thread that searches a long zeroed tail of the
 * newest log for a good record while record() cuts that tail: the search
 * never reads the bytes cut (through its mapping, that would kill the
 * process with SIGBUS), and the replay ends quietly with every op. */
typedef struct
{
  PlogCursor *cursor;
  guint n_ops;
  GError *error;
} CutReplay;

static gpointer
cut_replay_thread (gpointer data)
{
  CutReplay *r = data;
  PlogOp *op;

  while ((op = plog_cursor_next (r->cursor, NULL, &r->error)) != NULL)
    {
      r->n_ops++;
      plog_op_unref (op);
    }
  return NULL;
}

static void
test_torn_tail_cut_during_replay (void)
{
  g_autofree char *dir = plog_test_make_tmpdir ();
  g_autofree guint8 *zeros = g_malloc0 (1024 * 1024);
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);
  guint n_ops = 0;

  for (guint round = 0; round < 8; round++)
    {
      PlogLogger *logger = open_logger (dir, PLOG_SYNC_MODE_NONE);
      g_autofree char *newest = NULL;
      CutReplay r = { NULL, 0, NULL };
      g_autoptr(GError) error = NULL;
      GThread *thread;

      record_ok (logger);
      for (guint i = 0; i < 100; i++, n_ops++)
        {
          g_autoptr(PlogOp) op = numbered_op (n_ops);

          dump_ok (logger, op);
        }
      stop_ok (logger);

      /* What a power cut can leave after the last record: zeros. */
      newest = newest_file (dir, ".log");
      for (guint i = 0; i < 32; i++)
        append_file (newest, zeros, 1024 * 1024);

      r.cursor = plog_logger_open_cursor (logger, &error);
      g_assert_no_error (error);
      thread = g_thread_new ("replay", cut_replay_thread, &r);
      /* The cut comes at some point of the replay's search. */
      g_usleep (g_rand_int_range (rand, 0, 40000));
      record_ok (logger);
      g_thread_join (thread);

      g_assert_no_error (r.error);
      g_assert_cmpuint (r.n_ops, ==, n_ops);
      g_assert_cmpint (file_size (newest), <, 1024 * 1024);
      g_clear_object (&r.cursor);
      stop_ok (logger);
      free_logger (logger);
    }
  plog_test_rm_rf (dir);
}

static void
test_torn_header (void)
{
  Layout l;

  layout_init (&l);
  for (goffset cut = 0; cut <= HEADER_SIZE; cut++)
    {
      g_autofree char *copy = copy_dir (l.dir);
      g_autofree char *newest = g_build_filename (copy, l.newest, NULL);
      g_autoptr(GPtrArray) more = more_ops (1000, 2);
      PlogLogger *logger;

      truncate_file (newest, cut);
      logger = open_logger (copy, PLOG_SYNC_MODE_NONE);
      {
        g_autoptr(GPtrArray) got = plog_test_replay (logger);

        assert_ops (got, l.ops, l.first_in_newest, NULL);
      }
      record_ok (logger);
      for (guint i = 0; i < more->len; i++)
        dump_ok (logger, g_ptr_array_index (more, i));
      stop_ok (logger);
      {
        g_autoptr(GPtrArray) got = plog_test_replay (logger);

        assert_ops (got, l.ops, l.first_in_newest, more);
      }
      free_logger (logger);
      plog_test_rm_rf (copy);
    }
  layout_clear (&l);
}

typedef enum
{
  TAIL_ZEROS,
  TAIL_RANDOM,
  TAIL_BAD_CRC,
  TAIL_HUGE_LENGTH,
  TAIL_ZERO_LENGTH,
  TAIL_PARTIAL_COPY,
  TAIL_FLIPPED_LAST,
  TAIL_TORN_THEN_ZEROS,
} TailKind;

static void
test_bad_tail (gconstpointer data)
{
  TailKind kind = GPOINTER_TO_INT (data);
  g_autoptr(GRand) rand = g_rand_new_with_seed (271828 + kind);
  g_autofree char *copy = NULL;
  g_autofree char *newest = NULL;
  guint8 tail[4096];
  gsize tail_len = 0;
  guint n_good;
  goffset good_size;
  Layout l;

  layout_init (&l);
  copy = copy_dir (l.dir);
  newest = g_build_filename (copy, l.newest, NULL);
  n_good = l.ops->len;
  good_size = l.new_size;
  memset (tail, 0, sizeof tail);

  switch (kind)
    {
    case TAIL_ZEROS:
      tail_len = 4096;
      break;
    case TAIL_RANDOM:
      tail_len = 1000;
      for (gsize i = 0; i < tail_len; i++)
        tail[i] = (guint8) g_rand_int (rand);
      break;
    case TAIL_BAD_CRC:
      /* a well-framed record of 50 bytes whose CRC is wrong */
      tail_len = 58;
      tail[0] = 50;
      for (gsize i = 4; i < tail_len; i++)
        tail[i] = (guint8) g_rand_int (rand);
      break;
    case TAIL_HUGE_LENGTH:
      tail_len = 64;
      tail[0] = 0x00;
      tail[1] = 0xff;
      tail[2] = 0xff;
      tail[3] = 0xff;
      for (gsize i = 4; i < tail_len; i++)
        tail[i] = (guint8) g_rand_int (rand);
      break;
    case TAIL_ZERO_LENGTH:
      /* a length of zero and then garbage */
      tail_len = 40;
      for (gsize i = 4; i < tail_len; i++)
        tail[i] = (guint8) g_rand_int (rand);
      break;
    case TAIL_PARTIAL_COPY:
      {
        /* the start of a copy of the last record: a torn rewrite */
        int fd = open (newest, O_RDONLY);

        g_assert_cmpint (fd, >=, 0);
        tail_len = 40;
        g_assert_cmpint (pread (fd, tail, tail_len, l.old_size), ==, (gssize) tail_len);
        g_close (fd, NULL);
      }
      break;
    case TAIL_FLIPPED_LAST:
      /* a bit flipped in the last record, which no good record follows */
      xor_byte (newest, l.old_size + 8 + 5, 0x10);
      n_good = l.ops->len - 1;
      good_size = l.old_size;
      break;
    case TAIL_TORN_THEN_ZEROS:
      truncate_file (newest, l.old_size + 23);
      tail_len = 4096;
      n_good = l.ops->len - 1;
      good_size = l.old_size;
      break;
    default:
      g_assert_not_reached ();
    }
  if (tail_len > 0)
    append_file (newest, tail, tail_len);

  check_quiet_tail (&l, copy, n_good, good_size, TRUE);
  plog_test_rm_rf (copy);
  layout_clear (&l);
}

typedef enum
{
  DAMAGE_PAYLOAD,
  DAMAGE_CRC,
  DAMAGE_LENGTH_LOW,
  DAMAGE_LENGTH_HUGE,
  DAMAGE_LENGTH_PAST_END,
  DAMAGE_ZEROED,
  DAMAGE_GARBAGE,
} DamageKind;

static void
damage_record (const char *path,
               goffset     start,
               goffset     end,
               DamageKind  kind)
{
  switch (kind)
    {
    case DAMAGE_PAYLOAD:
      xor_byte (path, start + 8 + (end - start - 8) / 2, 0x04);
      break;
    case DAMAGE_CRC:
      xor_byte (path, start + 5, 0x01);
      break;
    case DAMAGE_LENGTH_LOW:
      xor_byte (path, start, 0x02);
      break;
    case DAMAGE_LENGTH_HUGE:
      xor_byte (path, start + 3, 0x80);
      break;
    case DAMAGE_LENGTH_PAST_END:
      /* about a MiB more: the record seems to run past the end */
      xor_byte (path, start + 2, 0x10);
      break;
    case DAMAGE_ZEROED:
      {
        guint8 zeros[1024] = { 0 };

        g_assert_cmpint (end - start, <=, (goffset) sizeof zeros);
        overwrite_file (path, start, zeros, end - start);
      }
      break;
    case DAMAGE_GARBAGE:
      {
        g_autoptr(GRand) rand = g_rand_new_with_seed (start);
        guint8 garbage[1024];

        g_assert_cmpint (end - start, <=, (goffset) sizeof garbage);
        for (gsize i = 0; i < sizeof garbage; i++)
          garbage[i] = (guint8) g_rand_int (rand);
        overwrite_file (path, start, garbage, end - start);
      }
      break;
    default:
      g_assert_not_reached ();
    }
}

/* Damage in the middle of the newest log, good records after it: that is
 * corruption, not a torn tail. Play fails after the ops before it;
 * record fails and changes nothing. */
static void
test_damage_then_good_record (gconstpointer data)
{
  DamageKind kind = GPOINTER_TO_INT (data);
  g_autofree char *copy = NULL;
  g_autofree char *newest = NULL;
  g_autoptr(GHashTable) before = NULL;
  guint m = 5;                  /* the damaged record of the newest log */
  goffset start, end;
  PlogLogger *logger;
  Layout l;

  layout_init (&l);
  copy = copy_dir (l.dir);
  newest = g_build_filename (copy, l.newest, NULL);
  start = g_array_index (l.starts, goffset, m);
  end = g_array_index (l.starts, goffset, m + 1);
  damage_record (newest, start, end, kind);
  before = dir_contents (copy);

  logger = open_logger (copy, PLOG_SYNC_MODE_NONE);
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) got = replay_fails (logger, &error);

    assert_corrupt (error, newest, start);
    assert_ops (got, l.ops, l.first_in_newest + m, NULL);
  }
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(PlogCursor) cursor = plog_logger_open_cursor (logger, &error);
    guint n = 0;

    g_assert_no_error (error);
    for (;;)
      {
        g_autoptr(PlogOp) op = plog_cursor_next (cursor, NULL, &error);

        if (op == NULL)
          break;
        assert_op_equal (g_ptr_array_index (l.ops, n), op, n);
        n++;
      }
    assert_corrupt (error, newest, start);
    g_assert_cmpuint (n, ==, l.first_in_newest + m);
  }
  {
    g_autoptr(GError) error = NULL;

    g_assert_false (plog_logger_record (logger, &error));
    assert_corrupt (error, newest, start);
    g_assert_false (plog_logger_get_recording (logger));
  }
  assert_dir_unchanged (before, copy);
  free_logger (logger);
  assert_dir_unchanged (before, copy);

  plog_test_rm_rf (copy);
  layout_clear (&l);
}

/* }}} */

/* {{{ Damage in snapshots and in older logs */

typedef enum
{
  SNAP_MIDDLE_RECORD,
  SNAP_LAST_RECORD,
  SNAP_TRUNCATED,
  SNAP_HEADER,
} SnapDamage;

static void
test_damaged_snapshot (gconstpointer data)
{
  SnapDamage kind = GPOINTER_TO_INT (data);
  g_autofree char *dir = plog_test_make_tmpdir ();
  g_autofree char *snap = NULL;
  g_autoptr(GArray) starts = NULL;
  g_autoptr(GHashTable) before = NULL;
  PlogLogger *logger;
  gint64 offset = -1;
  guint n_before = 0;

  logger = open_logger (dir, PLOG_SYNC_MODE_NONE);
  record_ok (logger);
  {
    g_autoptr(GHashTable) c = g_hash_table_new (g_str_hash, g_str_equal);
    g_autoptr(PlogOp) op = NULL;

    g_hash_table_insert (c, (gpointer) "name", (gpointer) "value");
    op = plog_op_new_configure (NULL, c, 42);
    dump_ok (logger, op);
  }
  dump_numbered (logger, 0, 40);
  compact_ok (logger);
  dump_numbered (logger, 40, 45);
  stop_ok (logger);
  free_logger (logger);

  snap = newest_file (dir, ".snap");
  starts = record_starts (snap);
  g_assert_cmpuint (starts->len, ==, 41);
  {
    /* a log with ops follows the snapshot, so a compaction must read it */
    g_autofree char *log = newest_file (dir, ".log");

    g_assert_cmpuint (file_seq (log), >, file_seq (snap));
  }

  switch (kind)
    {
    case SNAP_MIDDLE_RECORD:
      n_before = starts->len / 2;
      offset = g_array_index (starts, goffset, n_before);
      xor_byte (snap, offset + 8 + 3, 0x01);
      break;
    case SNAP_LAST_RECORD:
      n_before = starts->len - 1;
      offset = g_array_index (starts, goffset, n_before);
      xor_byte (snap, offset + 8 + 3, 0x20);
      break;
    case SNAP_TRUNCATED:
      n_before = starts->len - 1;
      offset = g_array_index (starts, goffset, n_before);
      truncate_file (snap, offset + 11);
      break;
    case SNAP_HEADER:
      xor_byte (snap, 1, 0x40);
      break;
    default:
      g_assert_not_reached ();
    }
  before = dir_contents (dir);

  logger = open_logger (dir, PLOG_SYNC_MODE_NONE);
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) got = replay_fails (logger, &error);

    assert_corrupt (error, snap, offset);
    g_assert_cmpuint (got->len, ==, n_before);
  }
  assert_dir_unchanged (before, dir);
  {
    /* a compaction that meets the damage fails and deletes nothing */
    g_autoptr(GError) error = compact (logger);

    assert_corrupt (error, snap, offset);
  }
  assert_dir_unchanged (before, dir);
  free_logger (logger);
  assert_dir_unchanged (before, dir);
  plog_test_rm_rf (dir);
}

/* A snapshot of @n numbered ops in @dir (values of @value_size bytes,
 * or the usual sizes for 0), with no log after it; returns its path. */
static char *
make_snapshot_sized (const char *dir,
                     guint32     n,
                     gsize       value_size)
{
  PlogLogger *logger = open_logger (dir, PLOG_SYNC_MODE_NONE);
  g_autoptr(GPtrArray) logs = NULL;
  char *snap;

  record_ok (logger);
  for (guint32 i = 0; i < n; i++)
    {
      g_autoptr(PlogOp) op = value_size > 0 ? numbered_op_sized (i, value_size) : numbered_op (i);

      dump_ok (logger, op);
    }
  stop_ok (logger);
  compact_ok (logger);
  free_logger (logger);

  logs = plog_test_list_files (dir, ".log");
  g_assert_cmpuint (logs->len, ==, 0);
  snap = newest_file (dir, ".snap");
  g_assert_cmpuint (record_starts (snap)->len, ==, n);
  return snap;
}

static char *
make_snapshot (const char *dir,
               guint32     n)
{
  return make_snapshot_sized (dir, n, 0);
}

/* Replays @dir, which must fail with PLOG_ERROR_CORRUPT in @snap at
 * @offset after delivering @n_before distinct numbered ops. */
static void
assert_snapshot_corrupt_sized (const char *dir,
                               const char *snap,
                               gint64      offset,
                               guint       n_before,
                               gsize       value_size)
{
  PlogLogger *logger = open_logger (dir, PLOG_SYNC_MODE_NONE);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) got = replay_fails (logger, &error);
  g_autoptr(GHashTable) seen = g_hash_table_new (NULL, NULL);

  assert_corrupt (error, snap, offset);
  g_assert_cmpuint (got->len, ==, n_before);
  for (guint i = 0; i < got->len; i++)
    {
      gint64 n = op_number_sized (g_ptr_array_index (got, i), value_size);

      g_assert_cmpint (n, >=, 0);
      g_assert_true (g_hash_table_add (seen, GSIZE_TO_POINTER (n)));
    }
  free_logger (logger);
}

static void
assert_snapshot_corrupt (const char *dir,
                         const char *snap,
                         gint64      offset,
                         guint       n_before)
{
  assert_snapshot_corrupt_sized (dir, snap, offset, n_before, 0);
}

/* A snapshot cut short anywhere, even between two records, is corrupt:
 * it never replays as a smaller state. */
static void
test_snapshot_every_cut (void)
{
  g_autofree char *dir = plog_test_make_tmpdir ();
  g_autofree char *snap = make_snapshot (dir, 12);
  g_autoptr(GArray) starts = record_starts (snap);
  g_autoptr(GBytes) whole = read_file (snap);
  gsize len = 0;
  const guint8 *data = g_bytes_get_data (whole, &len);

  for (gsize cut = 0; cut < len; cut++)
    {
      guint n_before = 0;
      gint64 offset;

      /* the records that lie wholly before the cut */
      while (n_before < starts->len &&
             (n_before + 1 < starts->len
              ? g_array_index (starts, goffset, n_before + 1)
              : (goffset) (len - END_SIZE)) <= (goffset) cut)
        n_before++;
      if (cut < HEADER_SIZE)
        offset = 0;
      else if (n_before < starts->len)
        offset = g_array_index (starts, goffset, n_before);
      else
        offset = len - END_SIZE;

      write_file (snap, data, len);
      truncate_file (snap, cut);
      assert_snapshot_corrupt (dir, snap, offset, n_before);
    }

  /* and whole, it replays every op */
  write_file (snap, data, len);
  {
    PlogLogger *logger = open_logger (dir, PLOG_SYNC_MODE_NONE);
    g_autoptr(GPtrArray) got = g_ptr_array_new_with_free_func ((GDestroyNotify) plog_op_unref);
    g_autoptr(GError) error = NULL;

    g_assert_true (plog_logger_play (logger, plog_test_collect_op, got, NULL, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (got->len, ==, starts->len);
    free_logger (logger);
  }
  plog_test_rm_rf (dir);
}

/* A snapshot larger than a read chunk: its end record is read after
 * the buffer has been refilled and moved. */
static void
test_snapshot_large (void)
{
  g_autofree char *dir = plog_test_make_tmpdir ();
  g_autofree char *snap = make_snapshot_sized (dir, 40, 50 * 1024);
  g_autoptr(GArray) starts = record_starts (snap);
  g_autoptr(GBytes) whole = read_file (snap);
  gsize len = 0;
  const guint8 *data = g_bytes_get_data (whole, &len);

  g_assert_cmpuint (len, >, 1024 * 1024 + 512 * 1024);
  {
    PlogLogger *logger = open_logger (dir, PLOG_SYNC_MODE_NONE);
    g_autoptr(GPtrArray) got = plog_test_replay (logger);

    g_assert_cmpuint (got->len, ==, 40);
    free_logger (logger);
  }
  /* cut at each record boundary, and in the last record and the end
   * record */
  for (guint i = 0; i < starts->len; i++)
    {
      write_file (snap, data, len);
      truncate_file (snap, g_array_index (starts, goffset, i));
      assert_snapshot_corrupt_sized (dir, snap, g_array_index (starts, goffset, i), i, 50 * 1024);
    }
  for (gsize cut = len - END_SIZE - 40; cut < len; cut++)
    {
      write_file (snap, data, len);
      truncate_file (snap, cut);
      assert_snapshot_corrupt_sized (dir, snap,
                                     cut < len - END_SIZE ? g_array_index (starts, goffset, starts->len - 1)
                                                          : (goffset) (len - END_SIZE),
                                     cut < len - END_SIZE ? starts->len - 1 : starts->len,
                                     50 * 1024);
    }
  plog_test_rm_rf (dir);
}

typedef enum
{
  END_BAD_OFFSET,
  END_BAD_CRC,
  END_DATA_AFTER,
  END_SNAPSHOT_APPENDED,
} EndDamage;

/* A damaged end record, or bytes after it, is corruption too; nothing is
 * changed or removed for it. */
static void
test_snapshot_end (gconstpointer user_data)
{
  EndDamage kind = GPOINTER_TO_INT (user_data);
  g_autofree char *dir = plog_test_make_tmpdir ();
  g_autofree char *snap = make_snapshot (dir, 9);
  goffset len = file_size (snap);
  g_autoptr(GHashTable) before = NULL;
  gint64 offset = len - END_SIZE;
  PlogLogger *logger;

  /* a log after the snapshot, so that a compaction reads it */
  logger = open_logger (dir, PLOG_SYNC_MODE_NONE);
  record_ok (logger);
  dump_numbered (logger, 9, 12);
  stop_ok (logger);
  free_logger (logger);

  switch (kind)
    {
    case END_BAD_OFFSET:
      xor_byte (snap, len - 8, 0x01);
      break;
    case END_BAD_CRC:
      xor_byte (snap, len - 12, 0x80);
      break;
    case END_DATA_AFTER:
      append_file (snap, (const guint8 *) "\0", 1);
      offset = len;
      break;
    case END_SNAPSHOT_APPENDED:
      {
        /* two snapshots glued together: the first end record is not
         * the last bytes */
        g_autoptr(GBytes) data = read_file (snap);

        append_file (snap, (const guint8 *) g_bytes_get_data (data, NULL) + HEADER_SIZE,
                     len - HEADER_SIZE);
        offset = len;
      }
      break;
    default:
      g_assert_not_reached ();
    }
  before = dir_contents (dir);

  assert_snapshot_corrupt (dir, snap, offset, 9);
  logger = open_logger (dir, PLOG_SYNC_MODE_NONE);
  {
    g_autoptr(GError) error = NULL;

    g_assert_false (plog_logger_record (logger, &error));
    assert_corrupt (error, snap, offset);
    g_clear_error (&error);
    error = compact (logger);
    assert_corrupt (error, snap, offset);
  }
  free_logger (logger);
  assert_dir_unchanged (before, dir);
  plog_test_rm_rf (dir);
}

/* Files of format version 1 (snapshots without an end record) are still
 * read; a version the library does not know is refused, even in the
 * newest log, where it is never taken for a torn tail. */
static void
test_format_versions (void)
{
  g_autofree char *dir = plog_test_make_tmpdir ();
  g_autofree char *snap = make_snapshot (dir, 7);
  g_autofree char *log = NULL;
  guint64 log_seq;

  {
    PlogLogger *logger = open_logger (dir, PLOG_SYNC_MODE_NONE);

    record_ok (logger);
    dump_numbered (logger, 7, 10);
    stop_ok (logger);
    free_logger (logger);
  }
  log = newest_file (dir, ".log");
  log_seq = file_seq (log);
  g_assert_cmpuint (read_byte (snap, 4), ==, 2);
  g_assert_cmpuint (read_byte (log, 4), ==, 2);

  /* version 1: no end record */
  truncate_file (snap, file_size (snap) - END_SIZE);
  xor_byte (snap, 4, 2 ^ 1);
  xor_byte (log, 4, 2 ^ 1);
  {
    PlogLogger *logger = open_logger (dir, PLOG_SYNC_MODE_NONE);
    g_autoptr(GPtrArray) got = g_ptr_array_new_with_free_func ((GDestroyNotify) plog_op_unref);
    g_autoptr(GError) error = NULL;

    g_assert_true (plog_logger_play (logger, plog_test_collect_op, got, NULL, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (got->len, ==, 10);
    for (guint i = 0; i < got->len; i++)
      g_assert_cmpint (op_number (g_ptr_array_index (got, i)), >=, 0);
    /* and the next compaction writes the current version */
    compact_ok (logger);
    free_logger (logger);
  }
  g_free (snap);
  snap = newest_file (dir, ".snap");
  g_assert_cmpuint (file_seq (snap), >, log_seq);
  g_assert_cmpuint (read_byte (snap, 4), ==, 2);
  g_assert_cmpuint (record_starts (snap)->len, ==, 10);

  /* an unknown version in the newest log */
  {
    PlogLogger *logger = open_logger (dir, PLOG_SYNC_MODE_NONE);

    record_ok (logger);
    dump_numbered (logger, 10, 12);
    stop_ok (logger);
    free_logger (logger);
  }
  g_free (log);
  log = newest_file (dir, ".log");
  xor_byte (log, 4, 2 ^ 3);
  {
    PlogLogger *logger = open_logger (dir, PLOG_SYNC_MODE_NONE);
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) got = replay_fails (logger, &error);

    assert_corrupt (error, log, 4);
    g_assert_nonnull (strstr (error->message, "version 3"));
    g_assert_cmpuint (got->len, ==, 10);
    g_clear_error (&error);
    g_assert_false (plog_logger_record (logger, &error));
    assert_corrupt (error, log, 4);
    free_logger (logger);
  }
  plog_test_rm_rf (dir);
}

typedef enum
{
  OLD_LOG_MIDDLE_RECORD,
  OLD_LOG_LAST_RECORD,
  OLD_LOG_TRUNCATED,
  OLD_LOG_ZERO_TAIL,
  OLD_LOG_LENGTH_PAST_END,
  OLD_LOG_MIDDLE_OF_MANY,
} OldLogDamage;

/* Damage in a log that is not the newest is never a torn tail. */
static void
test_damaged_old_log (gconstpointer data)
{
  OldLogDamage kind = GPOINTER_TO_INT (data);
  g_autofree char *dir = plog_test_make_tmpdir ();
  g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func ((GDestroyNotify) plog_op_unref);
  g_autoptr(GPtrArray) logs = NULL;
  g_autoptr(GArray) starts = NULL;
  g_autoptr(GHashTable) before = NULL;
  const char *old_log;
  PlogLogger *logger;
  gint64 offset = -1;
  guint n_before = 0;
  guint32 n_old;

  /* Many ops: the damage lies several batches of a replay in, past
   * where a replay goes on in a worker thread. */
  n_old = kind == OLD_LOG_MIDDLE_OF_MANY ? 5000 : 20;
  logger = open_logger (dir, PLOG_SYNC_MODE_NONE);
  for (guint32 round = 0; round < 2; round++)
    {
      record_ok (logger);
      for (guint32 i = 0; i < (round == 0 ? n_old : 5); i++)
        {
          PlogOp *op = numbered_op (ops->len);

          dump_ok (logger, op);
          g_ptr_array_add (ops, op);
        }
      stop_ok (logger);
    }
  free_logger (logger);

  logs = plog_test_list_files (dir, ".log");
  g_assert_cmpuint (logs->len, ==, 2);
  old_log = g_ptr_array_index (logs, 0);
  starts = record_starts (old_log);
  g_assert_cmpuint (starts->len, ==, n_old);

  switch (kind)
    {
    case OLD_LOG_MIDDLE_RECORD:
      n_before = 10;
      offset = g_array_index (starts, goffset, n_before);
      xor_byte (old_log, offset + 9, 0x08);
      break;
    case OLD_LOG_MIDDLE_OF_MANY:
      n_before = 3500;
      offset = g_array_index (starts, goffset, n_before);
      xor_byte (old_log, offset + 9, 0x08);
      break;
    case OLD_LOG_LAST_RECORD:
      n_before = 19;
      offset = g_array_index (starts, goffset, n_before);
      xor_byte (old_log, offset + 9, 0x08);
      break;
    case OLD_LOG_TRUNCATED:
      n_before = 19;
      offset = g_array_index (starts, goffset, n_before);
      truncate_file (old_log, offset + 10);
      break;
    case OLD_LOG_ZERO_TAIL:
      {
        guint8 zeros[4096] = { 0 };

        n_before = 20;
        offset = file_size (old_log);
        append_file (old_log, zeros, sizeof zeros);
      }
      break;
    case OLD_LOG_LENGTH_PAST_END:
      n_before = 19;
      offset = g_array_index (starts, goffset, n_before);
      xor_byte (old_log, offset + 2, 0x10);
      break;
    default:
      g_assert_not_reached ();
    }
  before = dir_contents (dir);

  logger = open_logger (dir, PLOG_SYNC_MODE_NONE);
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) got = replay_fails (logger, &error);

    assert_corrupt (error, old_log, offset);
    assert_ops (got, ops, n_before, NULL);
  }
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) got = replay_async_fails (logger, &error);

    assert_corrupt (error, old_log, offset);
    assert_ops (got, ops, n_before, NULL);
  }
#ifdef __linux__
  if (kind == OLD_LOG_MIDDLE_OF_MANY)
    {
      /* On one processor, play() reads every batch in its own thread. */
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) got = NULL;
      cpu_set_t saved, one;

      g_assert_cmpint (sched_getaffinity (0, sizeof saved, &saved), ==, 0);
      CPU_ZERO (&one);
      for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
        if (CPU_ISSET (cpu, &saved))
          {
            CPU_SET (cpu, &one);
            break;
          }
      g_assert_cmpint (sched_setaffinity (0, sizeof one, &one), ==, 0);
      got = replay_fails (logger, &error);
      g_assert_cmpint (sched_setaffinity (0, sizeof saved, &saved), ==, 0);
      assert_corrupt (error, old_log, offset);
      assert_ops (got, ops, n_before, NULL);
    }
#endif
  assert_dir_unchanged (before, dir);
  {
    g_autoptr(GError) error = compact (logger);

    assert_corrupt (error, old_log, offset);
  }
  assert_dir_unchanged (before, dir);
  free_logger (logger);
  assert_dir_unchanged (before, dir);
  plog_test_rm_rf (dir);
}

/* }}} */

/* {{{ SIGKILL while dumping with PLOG_SYNC_MODE_ALWAYS */

#define SIGKILL_CHILD_ARG "--plog-test-sigkill-child"

static gboolean
write_all (int           fd,
           const guint8 *data,
           gsize         len)
{
  while (len > 0)
    {
      gssize n = write (fd, data, len);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return FALSE;
      data += n;
      len -= n;
    }
  return TRUE;
}

#define SIGKILL_THREADS 4

/* A dumping thread of the child, and the numbers it dumps: @first,
 * @first + @step, and so on. */
typedef struct
{
  PlogLogger *logger;
  guint32     first;
  guint32     step;
} SigkillDumper;

/* Writes @message to stdout, for the parent: 4 bytes, little-endian, in
 * one write(2), which a pipe keeps whole even when several threads
 * write. */
static gboolean
tell (guint32 message)
{
  guint8 bytes[4] = { message & 0xff, (message >> 8) & 0xff,
                      (message >> 16) & 0xff, (message >> 24) & 0xff };

  return write_all (STDOUT_FILENO, bytes, sizeof bytes);
}

/* Dumps its numbered ops in order, telling the number of each once its
 * dump has returned. Ends the child on a failure. */
static gpointer
sigkill_child_thread (gpointer data)
{
  SigkillDumper d = *(SigkillDumper *) data;

  g_free (data);
  for (guint32 n = d.first; n < 10000000; n += d.step)
    {
      g_autoptr(PlogOp) op = numbered_op (n);
      g_autoptr(GError) error = NULL;

      if (!plog_logger_dump (d.logger, op, &error))
        {
          g_printerr ("child: op %u: %s\n", n, error->message);
          _exit (4);
        }
      if (!tell (n))
        _exit (5);
    }
  _exit (6);
}

/* The child: records in @dir and dumps numbered ops with ALWAYS from
 * @n_threads threads (with several, group commits serve several dumps
 * with one sync), while its main thread runs the main context, where
 * the logger emits `compacted`. */
static int
sigkill_child (const char *dir,
               const char *max_size,
               guint       n_threads)
{
  g_autoptr(GError) error = NULL;
  PlogLogger *logger = plog_logger_new (dir, &error);

  if (logger == NULL)
    {
      g_printerr ("child: %s\n", error->message);
      return 2;
    }
  plog_logger_limit (logger, g_ascii_strtoll (max_size, NULL, 10));
  plog_logger_set_sync_mode (logger, PLOG_SYNC_MODE_ALWAYS);
  if (!plog_logger_record (logger, &error))
    {
      g_printerr ("child: %s\n", error->message);
      return 3;
    }
  for (guint i = 0; i < n_threads; i++)
    {
      SigkillDumper *d = g_new (SigkillDumper, 1);

      *d = (SigkillDumper) { logger, i, n_threads };
      g_thread_unref (g_thread_new ("dumper", sigkill_child_thread, d));
    }
  for (;;)
    g_main_context_iteration (NULL, TRUE);
}

static gboolean
read_acks (int      fd,
           GArray  *acks,
           guint    until,
           GString *pending)
{
  while (acks->len < until)
    {
      guint8 buf[4096];
      gssize n = read (fd, buf, sizeof buf);

      if (n < 0 && errno == EINTR)
        continue;
      g_assert_cmpint (n, >=, 0);
      if (n == 0)
        return FALSE;
      g_string_append_len (pending, (const char *) buf, n);
      while (pending->len >= 4)
        {
          const guint8 *p = (const guint8 *) pending->str;
          guint32 ack = p[0] | (p[1] << 8) | (p[2] << 16) | ((guint32) p[3] << 24);

          g_array_append_val (acks, ack);
          g_string_erase (pending, 0, 4);
        }
    }
  return TRUE;
}

/* Every replayed op is a numbered op; the numbers form the prefix
 * 0..k (in order when @ordered), with k at least @last_ack. */
static void
check_numbered_prefix (GPtrArray *ops,
                       gint64     last_ack,
                       gboolean   ordered)
{
  g_autofree guint8 *seen = g_malloc0 (ops->len + 1);

  for (guint i = 0; i < ops->len; i++)
    {
      gint64 n = op_number (g_ptr_array_index (ops, i));

      if (n < 0 || n >= ops->len || seen[n] || (ordered && n != i))
        {
          g_autofree char *str = plog_op_to_string (g_ptr_array_index (ops, i));

          g_test_message ("replayed op %u of %u is %s (number %" G_GINT64_FORMAT ")",
                          i, ops->len, str, n);
        }
      g_assert_cmpint (n, >=, 0);
      g_assert_cmpint (n, <, ops->len);
      g_assert_false (seen[n]);
      if (ordered)
        g_assert_cmpint (n, ==, i);
      seen[n] = 1;
    }
  if ((gint64) ops->len < last_ack + 1)
    g_test_message ("%u ops replayed, but op %" G_GINT64_FORMAT " was acknowledged",
                    ops->len, last_ack);
  g_assert_cmpint ((gint64) ops->len, >=, last_ack + 1);
}

/* Every replayed op is a numbered op, each at most once; of every
 * thread's ops (their numbers modulo SIGKILL_THREADS) those replayed
 * form a prefix of what it dumped, and every op in @acks is replayed. */
static void
check_threaded_replay (GPtrArray *ops,
                       GArray    *acks)
{
  g_autoptr(GHashTable) seen = g_hash_table_new (NULL, NULL);
  guint32 per_thread[SIGKILL_THREADS] = { 0 };

  for (guint i = 0; i < ops->len; i++)
    {
      gint64 n = op_number (g_ptr_array_index (ops, i));

      g_assert_cmpint (n, >=, 0);
      g_assert_false (g_hash_table_contains (seen, GUINT_TO_POINTER ((guint) n + 1)));
      g_hash_table_add (seen, GUINT_TO_POINTER ((guint) n + 1));
      per_thread[n % SIGKILL_THREADS]++;
    }
  for (guint t = 0; t < SIGKILL_THREADS; t++)
    for (guint32 i = 0; i < per_thread[t]; i++)
      g_assert_true (g_hash_table_contains (seen, GUINT_TO_POINTER (t + i * SIGKILL_THREADS + 1)));
  for (guint i = 0; i < acks->len; i++)
    {
      guint32 ack = g_array_index (acks, guint32, i);

      if (!g_hash_table_contains (seen, GUINT_TO_POINTER (ack + 1)))
        g_test_message ("op %u was acknowledged but is not replayed", ack);
      g_assert_true (g_hash_table_contains (seen, GUINT_TO_POINTER (ack + 1)));
    }
}

static void
test_sigkill (gconstpointer data)
{
  guint n_threads = GPOINTER_TO_UINT (data);
  g_autofree char *threads_arg = g_strdup_printf ("%u", n_threads);
  g_autoptr(GError) error = NULL;
  g_autofree char *exe = g_file_read_link ("/proc/self/exe", &error);

  g_assert_no_error (error);
  for (guint round = 0; round < 4; round++)
    {
      g_autofree char *dir = plog_test_make_tmpdir ();
      gboolean compacting = round % 2 == 1;
      const char *argv[] = { exe, SIGKILL_CHILD_ARG, dir, compacting ? "8192" : "0",
                             threads_arg, NULL };
      g_autoptr(GArray) acks = g_array_new (FALSE, FALSE, sizeof (guint32));
      g_autoptr(GString) pending = g_string_new (NULL);
      g_autoptr(GPtrArray) got = NULL;
      guint target = g_test_rand_int_range (150, 450);
      PlogLogger *logger;
      GPid pid;
      int out_fd = -1, status = 0;
      gint64 last_ack;

      g_spawn_async_with_pipes (NULL, (char **) argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD,
                                NULL, NULL, &pid, NULL, &out_fd, NULL, &error);
      g_assert_no_error (error);

      if (!read_acks (out_fd, acks, target, pending))
        {
          waitpid (pid, &status, 0);
          g_test_message ("the child ended after %u acknowledgements, status %d", acks->len, status);
          g_assert_not_reached ();
        }
      g_usleep (g_test_rand_int_range (0, 3000));
      g_assert_cmpint (kill (pid, SIGKILL), ==, 0);
      read_acks (out_fd, acks, G_MAXUINT, pending);
      g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
      g_assert_true (WIFSIGNALED (status));
      g_assert_cmpint (WTERMSIG (status), ==, SIGKILL);
      g_spawn_close_pid (pid);
      g_close (out_fd, NULL);

      logger = open_logger (dir, PLOG_SYNC_MODE_ALWAYS);
      got = plog_test_replay (logger);
      g_test_message ("round %u (%s): %u acknowledged, %u replayed", round,
                      compacting ? "compacting" : "one log", acks->len, got->len);
      if (n_threads > 1)
        check_threaded_replay (got, acks);
      else
        {
          for (guint i = 0; i < acks->len; i++)
            g_assert_cmpuint (g_array_index (acks, guint32, i), ==, i);
          last_ack = (gint64) acks->len - 1;
          check_numbered_prefix (got, last_ack, !compacting);

          /* and it goes on from there */
          record_ok (logger);
          dump_numbered (logger, got->len, got->len + 3);
          stop_ok (logger);
          {
            g_autoptr(GPtrArray) all = plog_test_replay (logger);

            check_numbered_prefix (all, got->len + 2, !compacting);
            g_assert_cmpuint (all->len, ==, got->len + 3);
          }
        }
      free_logger (logger);
      plog_test_rm_rf (dir);
    }
}

/* A crash in the middle of a clear: the child dumps rounds of numbered
 * ops (round r's ops are numbered r * CLEAR_ROUND_SPAN + i) with ALWAYS,
 * and clears between rounds, telling each acknowledged dump and the
 * start and end of each clear. */
#define CLEAR_CHILD_ARG   "--plog-test-clear-child"
#define CLEAR_ROUND_SPAN  10000
#define CLEAR_STARTED     0x80000000u
#define CLEAR_DONE        0xc0000000u
#define CLEAR_MASK        0xc0000000u
#define CLEAR_ROUNDS      200

static int
clear_child (const char *dir)
{
  g_autoptr(GError) error = NULL;
  PlogLogger *logger = plog_logger_new (dir, &error);

  if (logger == NULL)
    {
      g_printerr ("child: %s\n", error->message);
      return 2;
    }
  plog_logger_set_sync_mode (logger, PLOG_SYNC_MODE_ALWAYS);
  if (!plog_logger_record (logger, &error))
    {
      g_printerr ("child: %s\n", error->message);
      return 3;
    }
  /* a bounded number of rounds: a parent that missed its message
   * fails instead of waiting for ever */
  for (guint32 round = 0; round < CLEAR_ROUNDS; round++)
    {
      guint n_ops = 1 + (round * 7) % 23;

      for (guint i = 0; i < n_ops; i++)
        {
          g_autoptr(PlogOp) op = numbered_op (round * CLEAR_ROUND_SPAN + i);

          if (!plog_logger_dump (logger, op, &error))
            {
              g_printerr ("child: %s\n", error->message);
              return 4;
            }
          if (!tell (round * CLEAR_ROUND_SPAN + i))
            return 5;
        }
      if (!tell (CLEAR_STARTED | round))
        return 5;
      if (!plog_logger_clear (logger, &error))
        {
          g_printerr ("child: %s\n", error->message);
          return 4;
        }
      if (!tell (CLEAR_DONE | round))
        return 5;
    }
  /* wait to be killed: a parent slow to see its message must still find
   * this child alive */
  g_usleep ((gulong) WAIT_SECONDS * G_USEC_PER_SEC);
  return 6;
}

/* The child is killed just after it starts a clear, at a random moment
 * of it. The directory then replays either the state before the clear
 * (every acknowledged op of the round it clears) or the state after it
 * (empty, or the next round's ops), never a mix of rounds, and only a
 * prefix of what each round dumped. */
static void
test_sigkill_clear (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *exe = g_file_read_link ("/proc/self/exe", &error);

  g_assert_no_error (error);
  for (guint kill_round = 0; kill_round < 12; kill_round++)
    {
      g_autofree char *dir = plog_test_make_tmpdir ();
      const char *argv[] = { exe, CLEAR_CHILD_ARG, dir, NULL };
      g_autoptr(GArray) messages = g_array_new (FALSE, FALSE, sizeof (guint32));
      g_autoptr(GString) pending = g_string_new (NULL);
      g_autoptr(GPtrArray) got = NULL;
      g_autoptr(GHashTable) acked = g_hash_table_new (NULL, NULL);  /* round -> count */
      guint32 target = (guint32) g_test_rand_int_range (0, 6);
      gint64 last_started = -1;
      gboolean last_done = FALSE;
      gint64 round = -1;
      guint n_round = 0;
      PlogLogger *logger;
      GPid pid;
      int out_fd = -1, status = 0;

      g_spawn_async_with_pipes (NULL, (char **) argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD,
                                NULL, NULL, &pid, NULL, &out_fd, NULL, &error);
      g_assert_no_error (error);

      /* until the clear of round @target starts; one read may bring
       * several messages, and the one awaited need not be the last */
      for (guint seen = 0, found = FALSE; !found;)
        {
          if (!read_acks (out_fd, messages, messages->len + 1, pending))
            {
              waitpid (pid, &status, 0);
              g_test_message ("the child ended, status %d", status);
              g_assert_not_reached ();
            }
          for (; seen < messages->len; seen++)
            found |= g_array_index (messages, guint32, seen) == (CLEAR_STARTED | target);
        }
      g_usleep (g_test_rand_int_range (0, 2000));
      g_assert_cmpint (kill (pid, SIGKILL), ==, 0);
      read_acks (out_fd, messages, G_MAXUINT, pending);
      g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
      g_assert_true (WIFSIGNALED (status));
      g_spawn_close_pid (pid);
      g_close (out_fd, NULL);

      for (guint i = 0; i < messages->len; i++)
        {
          guint32 m = g_array_index (messages, guint32, i);

          if ((m & CLEAR_MASK) == CLEAR_STARTED)
            {
              last_started = m & ~CLEAR_MASK;
              last_done = FALSE;
            }
          else if ((m & CLEAR_MASK) == CLEAR_DONE)
            {
              g_assert_cmpint (m & ~CLEAR_MASK, ==, last_started);
              last_done = TRUE;
            }
          else
            {
              gpointer r = GUINT_TO_POINTER (m / CLEAR_ROUND_SPAN);

              g_assert_cmpuint (m % CLEAR_ROUND_SPAN, ==,
                                GPOINTER_TO_UINT (g_hash_table_lookup (acked, r)));
              g_hash_table_insert (acked, r, GUINT_TO_POINTER (m % CLEAR_ROUND_SPAN + 1));
            }
        }
      g_assert_cmpint (last_started, >=, target);

      logger = open_logger (dir, PLOG_SYNC_MODE_ALWAYS);
      got = plog_test_replay (logger);
      for (guint i = 0; i < got->len; i++)
        {
          gint64 n = op_number (g_ptr_array_index (got, i));

          g_assert_cmpint (n, >=, 0);
          if (round < 0)
            round = n / CLEAR_ROUND_SPAN;
          /* one round only, and a prefix of it */
          g_assert_cmpint (n / CLEAR_ROUND_SPAN, ==, round);
          g_assert_cmpint (n % CLEAR_ROUND_SPAN, ==, n_round);
          n_round++;
        }
      g_test_message ("kill %u: clear of round %" G_GINT64_FORMAT " %s, replayed %u ops of round %"
                      G_GINT64_FORMAT, kill_round, last_started,
                      last_done ? "done" : "under way", n_round, round);
      if (last_done)
        {
          /* after the clear: the next round's ops, if any */
          if (got->len > 0)
            g_assert_cmpint (round, ==, last_started + 1);
          g_assert_cmpuint (n_round, >=,
                            GPOINTER_TO_UINT (g_hash_table_lookup (acked,
                                                                   GUINT_TO_POINTER (last_started + 1))));
        }
      else if (got->len > 0)
        {
          /* before it: all that the round acknowledged */
          g_assert_cmpint (round, ==, last_started);
          g_assert_cmpuint (n_round, >=,
                            GPOINTER_TO_UINT (g_hash_table_lookup (acked,
                                                                   GUINT_TO_POINTER (last_started))));
        }

      free_logger (logger);
      plog_test_rm_rf (dir);
    }
}

/* }}} */

/* {{{ A full disk */

/* Dumps ops of 600 bytes (a flush every 16) until a dump or a flush
 * fails; @acked gets every op whose dump returned TRUE, @failed the op
 * whose dump failed, if it was a dump. */
static GError *
dump_until_failure (PlogLogger  *logger,
                    GPtrArray   *acked,
                    PlogOp     **failed)
{
  GError *error = NULL;

  for (guint32 i = 0; i < 20000; i++)
    {
      g_autoptr(PlogOp) op = numbered_op_sized (i, 600);

      if (!plog_logger_dump (logger, op, &error))
        {
          *failed = g_steal_pointer (&op);
          break;
        }
      g_ptr_array_add (acked, g_steal_pointer (&op));
      if (i % 16 == 15 && !plog_logger_flush (logger, &error))
        break;
    }
  g_assert_nonnull (error);
  return error;
}

/* Once the disk has room again: flush and stop succeed, and the log
 * holds every acknowledged op, in order (perhaps the op whose dump
 * failed after them), then the ops dumped after. */
static void
check_recovery (PlogLogger *logger,
                const char *dir,
                GPtrArray  *acked,
                PlogOp     *failed)
{
  g_autoptr(GPtrArray) after = g_ptr_array_new_with_free_func ((GDestroyNotify) plog_op_unref);
  g_autoptr(GPtrArray) expected = g_ptr_array_new ();

  flush_ok (logger);
  if (!plog_logger_get_recording (logger))
    {
      g_test_message ("the logger stopped recording at the error");
      record_ok (logger);
    }
  for (guint32 i = 0; i < 3; i++)
    {
      PlogOp *op = numbered_op_sized (100000 + i, 100);

      dump_ok (logger, op);
      g_ptr_array_add (after, op);
    }
  stop_ok (logger);

  for (int pass = 0; pass < 2; pass++)
    {
      g_autoptr(GPtrArray) got = plog_test_replay (logger);
      gboolean kept = failed != NULL && got->len == acked->len + 1 + after->len
                      && plog_op_equal (g_ptr_array_index (got, acked->len), failed);

      g_ptr_array_set_size (expected, 0);
      for (guint i = 0; i < acked->len; i++)
        g_ptr_array_add (expected, g_ptr_array_index (acked, i));
      if (kept)
        {
          /* it reached the log after all: allowed, it was dumped */
          g_test_message ("the op whose dump failed was kept");
          g_ptr_array_add (expected, failed);
        }
      assert_ops (got, expected, expected->len, after);
      if (pass == 0)
        {
          /* the same from a fresh logger */
          free_logger (logger);
          logger = open_logger (dir, PLOG_SYNC_MODE_NONE);
        }
    }
  free_logger (logger);
}

static void
full_disk_rlimit_child (PlogSyncMode mode)
{
  g_autofree char *dir = plog_test_make_tmpdir ();
  g_autofree char *log = NULL;
  g_autofree char *log_name = NULL;
  g_autoptr(GPtrArray) acked = g_ptr_array_new_with_free_func ((GDestroyNotify) plog_op_unref);
  g_autoptr(PlogOp) failed = NULL;
  g_autoptr(GError) error = NULL;
  struct rlimit limit, small;
  PlogLogger *logger;

  g_assert_cmpint (getrlimit (RLIMIT_FSIZE, &limit), ==, 0);
  signal (SIGXFSZ, SIG_IGN);

  logger = open_logger (dir, mode);
  record_ok (logger);
  log = newest_file (dir, ".log");
  log_name = g_path_get_basename (log);

  small = limit;
  small.rlim_cur = 256 * 1024;
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &small), ==, 0);

  error = dump_until_failure (logger, acked, &failed);
  g_test_message ("after %u ops: %s", acked->len, error->message);
  g_assert_error (error, PLOG_ERROR, PLOG_ERROR_IO);
  g_assert_nonnull (strstr (error->message, log_name));
  g_assert_cmpint (file_size (log), <=, 256 * 1024);
  g_assert_cmpuint (acked->len, >, 100);

  limit.rlim_cur = limit.rlim_max;
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &limit), ==, 0);
  check_recovery (logger, dir, acked, failed);
  plog_test_rm_rf (dir);
}

static void
test_full_disk_rlimit (gconstpointer data)
{
  if (g_test_subprocess ())
    {
      full_disk_rlimit_child (GPOINTER_TO_INT (data));
      return;
    }
  g_test_trap_subprocess (NULL, 120 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

static char *
pid_path (const char *what)
{
  g_autofree char *name = g_strdup_printf ("plog-test-%s-%d", what,
                                           (int) (g_test_subprocess () ? getppid () : getpid ()));

  return g_build_filename (g_get_tmp_dir (), name, NULL);
}

static void
skip_marker (const char *mount_point,
             const char *why)
{
  g_autofree char *marker = g_build_filename (mount_point, "SKIP", NULL);

  write_file (marker, (const guint8 *) why, strlen (why));
}

static void
full_disk_tmpfs_child (const char *mount_point)
{
  g_autofree char *dir = g_build_filename (mount_point, "log", NULL);
  g_autofree char *filler = g_build_filename (mount_point, "filler", NULL);
  g_autofree char *log = NULL;
  g_autofree char *log_name = NULL;
  g_autofree guint8 *zeros = g_malloc0 (256 * 1024);
  g_autoptr(GPtrArray) acked = g_ptr_array_new_with_free_func ((GDestroyNotify) plog_op_unref);
  g_autoptr(PlogOp) failed = NULL;
  g_autoptr(GError) error = NULL;
  PlogLogger *logger;

  if (unshare (CLONE_NEWNS) != 0)
    {
      skip_marker (mount_point, "unshare (CLONE_NEWNS) failed");
      return;
    }
  if (mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0
      || mount ("tmpfs", mount_point, "tmpfs", 0, "size=1m,mode=0700") != 0)
    {
      skip_marker (mount_point, g_strerror (errno));
      return;
    }

  write_file (filler, zeros, 256 * 1024);
  logger = open_logger (dir, PLOG_SYNC_MODE_NONE);
  record_ok (logger);
  log = newest_file (dir, ".log");
  log_name = g_path_get_basename (log);

  error = dump_until_failure (logger, acked, &failed);
  g_test_message ("after %u ops: %s", acked->len, error->message);
  g_assert_error (error, PLOG_ERROR, PLOG_ERROR_IO);
  g_assert_nonnull (strstr (error->message, log_name));
  g_assert_cmpuint (acked->len, >, 100);

  /* room again */
  g_assert_cmpint (g_unlink (filler), ==, 0);
  check_recovery (logger, dir, acked, failed);
  umount2 (mount_point, MNT_DETACH);
}

static void
test_full_disk_tmpfs (void)
{
  g_autofree char *mount_point = pid_path ("tmpfs");
  g_autofree char *marker = NULL;
  g_autofree char *why = NULL;

  if (g_test_subprocess ())
    {
      full_disk_tmpfs_child (mount_point);
      return;
    }
  if (geteuid () != 0)
    {
      g_test_skip ("mounting a tmpfs needs root");
      return;
    }
  plog_test_rm_rf (mount_point);
  g_assert_cmpint (g_mkdir (mount_point, 0700), ==, 0);
  g_test_trap_subprocess (NULL, 120 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
  marker = g_build_filename (mount_point, "SKIP", NULL);
  if (g_file_get_contents (marker, &why, NULL, NULL))
    {
      g_autofree char *msg = g_strdup_printf ("cannot mount a tmpfs here: %s", why);

      g_test_skip (msg);
    }
  plog_test_rm_rf (mount_point);
}

/* }}} */

/* {{{ What a crash of the process loses without a flush */

#define WINDOW_CHILD_ARG "--plog-test-window-child"
/* About three and a half of the writer's 256 KiB buffers of numbered
 * ops: fewer than it waits for before it wakes its thread. */
#define WINDOW_OPS 9000

/* The child: dumps WINDOW_OPS numbered ops under @mode, tells the parent,
 * and waits to be killed, without a flush or a stop. */
static int
window_child (const char *dir,
              const char *mode)
{
  g_autoptr(GError) error = NULL;
  PlogLogger *logger = plog_logger_new (dir, &error);

  if (logger != NULL)
    plog_logger_set_sync_mode (logger, (PlogSyncMode) g_ascii_strtoll (mode, NULL, 10));
  if (logger == NULL || !plog_logger_record (logger, &error))
    {
      g_printerr ("child: %s\n", error->message);
      return 2;
    }
  dump_numbered (logger, 0, WINDOW_OPS);
  if (!tell (WINDOW_OPS))
    return 3;
  for (;;)
    g_usleep (G_USEC_PER_SEC);
}

/* A process killed about a second after its last dump loses none of its
 * ops, in any mode: libplog hands what was dumped to the kernel every
 * 200 ms, however little it is. */
static void
test_crash_window (gconstpointer data)
{
  g_autofree char *mode = g_strdup_printf ("%d", GPOINTER_TO_INT (data));
  g_autoptr(GError) error = NULL;
  g_autofree char *exe = g_file_read_link ("/proc/self/exe", &error);
  g_autofree char *dir = plog_test_make_tmpdir ();
  const char *argv[] = { exe, WINDOW_CHILD_ARG, dir, mode, NULL };
  g_autoptr(GPtrArray) expected = more_ops (0, WINDOW_OPS);
  g_autoptr(GPtrArray) got = NULL;
  guint8 ack[4];
  PlogLogger *logger;
  GPid pid;
  int out_fd = -1, status = 0;
  gsize have = 0;

  g_assert_no_error (error);
  g_spawn_async_with_pipes (NULL, (char **) argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD,
                            NULL, NULL, &pid, NULL, &out_fd, NULL, &error);
  g_assert_no_error (error);
  while (have < sizeof ack)
    {
      gssize n = read (out_fd, ack + have, sizeof ack - have);

      if (n < 0 && errno == EINTR)
        continue;
      g_assert_cmpint (n, >, 0);
      have += n;
    }
  g_usleep (G_USEC_PER_SEC);
  g_assert_cmpint (kill (pid, SIGKILL), ==, 0);
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_assert_true (WIFSIGNALED (status));
  g_spawn_close_pid (pid);
  g_close (out_fd, NULL);

  logger = open_logger (dir, PLOG_SYNC_MODE_NONE);
  got = plog_test_replay (logger);
  assert_ops (got, expected, expected->len, NULL);
  free_logger (logger);
  plog_test_rm_rf (dir);
}

/* }}} */

/* {{{ Reserved blocks */

/* Less than this past a log's end counts as nothing reserved: some file
 * systems allocate in units larger than a block. */
#define RESERVED_SLACK (256 * 1024)

/* Whether libplog reserves blocks past a log's end in @dir: the file
 * system takes a reservation and counts it (tmpfs, where libplog does not
 * reserve, is left out). */
static gboolean
can_reserve (const char *dir)
{
#if defined(FALLOC_FL_KEEP_SIZE) && defined(TMPFS_MAGIC)
  g_autofree char *path = g_build_filename (dir, "probe", NULL);
  int fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  struct statfs fs;
  struct stat st;
  gboolean ok;

  g_assert_cmpint (fd, >=, 0);
  ok = fstatfs (fd, &fs) == 0 && fs.f_type != TMPFS_MAGIC &&
       fallocate (fd, FALLOC_FL_KEEP_SIZE, 0, 1024 * 1024) == 0 &&
       fstat (fd, &st) == 0 && st.st_blocks * 512 >= 1024 * 1024;
  close (fd);
  g_assert_cmpint (g_unlink (path), ==, 0);
  return ok;
#else
  return FALSE;
#endif
}

/* The bytes of disk that @path holds past its end. */
static gint64
reserved_bytes (const char *path)
{
  struct stat st;
  gint64 used;

  g_assert_cmpint (stat (path, &st), ==, 0);
  used = (gint64) st.st_size + st.st_blksize - 1;
  used -= used % st.st_blksize;
  return MAX (0, (gint64) st.st_blocks * 512 - used);
}

/* What a reservation of @want bytes in @dir comes to: libplog takes at
 * most a quarter of the free space. */
static gint64
reservation_of (const char *dir,
                gint64      want)
{
  struct statvfs st;

  g_assert_cmpint (statvfs (dir, &st), ==, 0);
  return MIN (want, (gint64) (st.f_bavail / 4) * (gint64) st.f_frsize);
}

/* Records, dumps @n numbered ops from @first, flushes, and returns how
 * many bytes the new log holds past its end; then stops, and checks that
 * the stop gave them back. */
static gint64
reserved_while_recording (PlogLogger *logger,
                          const char *dir,
                          guint32     first,
                          guint32     n)
{
  g_autofree char *log = NULL;
  gint64 reserved;

  record_ok (logger);
  log = newest_file (dir, ".log");
  dump_numbered (logger, first, first + n);
  flush_ok (logger);
  reserved = reserved_bytes (log);
  g_test_message ("%s: %" G_GINT64_FORMAT " bytes reserved while recording", log, reserved);
  stop_ok (logger);
  g_assert_cmpint (reserved_bytes (log), <, RESERVED_SLACK);
  return reserved;
}

/* The log being written has disk blocks reserved past its end, so that
 * the kernel allocates none while it writes the log back: four times
 * max-size, or without one as much as the last log took, 1 MiB at
 * least. A stop gives them back, and the logs replay as they were
 * dumped. */
static void
test_reserve_stop (void)
{
  g_autofree char *dir = plog_test_make_tmpdir ();
  g_autoptr(GPtrArray) dumped = more_ops (0, 30100);
  g_autoptr(GPtrArray) got = NULL;
  PlogLogger *logger;
  gint64 expected;

  if (!can_reserve (dir))
    {
      g_test_skip ("the file system reserves no blocks past a file's end");
      plog_test_rm_rf (dir);
      return;
    }
  logger = open_logger (dir, PLOG_SYNC_MODE_PERIODIC);

  /* Nothing to go by: 1 MiB. */
  expected = reservation_of (dir, 1024 * 1024);
  g_assert_cmpint (reserved_while_recording (logger, dir, 0, 100), >=, expected - 64 * 1024);
  /* A log of about 3 MiB (30,000 ops of about 105 bytes) outgrows it... */
  reserved_while_recording (logger, dir, 100, 30000);
  /* ...and the next one reserves as much. */
  expected = reservation_of (dir, 5 * 512 * 1024);
  g_assert_cmpint (reserved_while_recording (logger, dir, 30100, 0), >=, expected);
  /* With a max-size of 2 MiB, 8 MiB. */
  plog_logger_limit (logger, 2 * 1024 * 1024);
  expected = reservation_of (dir, 8 * 1024 * 1024);
  g_assert_cmpint (reserved_while_recording (logger, dir, 30100, 0), >=, expected - 64 * 1024);

  got = plog_test_replay (logger);
  assert_ops (got, dumped, dumped->len, NULL);
  free_logger (logger);
  plog_test_rm_rf (dir);
}

/* A process that ends without stopping leaves the blocks reserved; the
 * next record gives them back, and changes no op. */
static void
test_reserve_crash (void)
{
  g_autofree char *dir = pid_path ("reserve");
  g_autofree char *log = NULL;
  g_autoptr(GPtrArray) dumped = more_ops (0, 100);
  g_autoptr(GPtrArray) got = NULL;
  PlogLogger *logger;

  if (g_test_subprocess ())
    {
      logger = open_logger (dir, PLOG_SYNC_MODE_NONE);
      record_ok (logger);
      dump_numbered (logger, 0, 100);
      flush_ok (logger);
      /* Ends like a crash: no stop, no cleanup. */
      _exit (0);
    }

  plog_test_rm_rf (dir);
  g_assert_cmpint (g_mkdir (dir, 0700), ==, 0);
  if (!can_reserve (dir))
    {
      g_test_skip ("the file system reserves no blocks past a file's end");
      plog_test_rm_rf (dir);
      return;
    }
  g_test_trap_subprocess (NULL, 120 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
  log = newest_file (dir, ".log");
  g_assert_cmpint (reserved_bytes (log), >=, reservation_of (dir, 1024 * 1024) - 64 * 1024);

  logger = open_logger (dir, PLOG_SYNC_MODE_NONE);
  record_ok (logger);
  g_assert_cmpint (reserved_bytes (log), <, RESERVED_SLACK);
  got = plog_test_replay (logger);
  assert_ops (got, dumped, dumped->len, NULL);
  stop_ok (logger);
  free_logger (logger);
  plog_test_rm_rf (dir);
}

/* A reservation never reaches past the file size limit: some file
 * systems check it even for blocks past a file's end, and raise SIGXFSZ,
 * which this process does not ignore. */
static void
test_reserve_rlimit (void)
{
  g_autoptr(GPtrArray) dumped = more_ops (0, 100);

  if (g_test_subprocess ())
    {
      g_autofree char *dir = plog_test_make_tmpdir ();
      g_autoptr(GPtrArray) got = NULL;
      struct rlimit small;
      PlogLogger *logger;

      g_assert_cmpint (getrlimit (RLIMIT_FSIZE, &small), ==, 0);
      small.rlim_cur = 512 * 1024;
      g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &small), ==, 0);
      logger = open_logger (dir, PLOG_SYNC_MODE_NONE);
      record_ok (logger);
      dump_numbered (logger, 0, 100);
      stop_ok (logger);
      got = plog_test_replay (logger);
      assert_ops (got, dumped, dumped->len, NULL);
      free_logger (logger);
      plog_test_rm_rf (dir);
      return;
    }
  g_test_trap_subprocess (NULL, 120 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

/* }}} */

/* {{{ Unwritable directories */

static void
assert_io_naming (const GError *error,
                  const char   *path)
{
  if (error != NULL)
    g_test_message ("error: %s", error->message);
  g_assert_error (error, PLOG_ERROR, PLOG_ERROR_IO);
  g_assert_nonnull (strstr (error->message, path));
}

static void
unwritable_child (const char *base)
{
  g_autofree char *ro = g_build_filename (base, "ro", NULL);
  g_autofree char *ro_sub = g_build_filename (ro, "sub", NULL);
  g_autofree char *mine = g_build_filename (base, "mine", NULL);
  PlogLogger *logger;

  if (geteuid () == 0)
    {
      g_assert_cmpint (setgroups (0, NULL), ==, 0);
      g_assert_cmpint (setgid (NOBODY), ==, 0);
      g_assert_cmpint (setuid (NOBODY), ==, 0);
      g_assert_cmpint (geteuid (), ==, NOBODY);
    }

  {
    /* an existing directory that cannot be written */
    g_autoptr(GError) error = NULL;

    logger = plog_logger_new (ro, &error);
    g_assert_null (logger);
    assert_io_naming (error, ro);
  }
  {
    /* a directory that cannot be created */
    g_autoptr(GError) error = NULL;

    logger = plog_logger_new (ro_sub, &error);
    g_assert_null (logger);
    assert_io_naming (error, ro_sub);
    g_assert_false (g_file_test (ro_sub, G_FILE_TEST_EXISTS));
  }
  {
    /* a directory that becomes unwritable: record cannot create a log */
    g_autoptr(GError) error = NULL;
    g_autoptr(PlogOp) op = numbered_op (1);
    g_autoptr(GPtrArray) got = NULL;

    logger = open_logger (mine, PLOG_SYNC_MODE_ALWAYS);
    g_assert_cmpint (g_chmod (mine, 0500), ==, 0);
    g_assert_false (plog_logger_record (logger, &error));
    assert_io_naming (error, mine);
    g_assert_false (plog_logger_get_recording (logger));
    g_clear_error (&error);
    g_assert_false (plog_logger_dump (logger, op, &error));
    g_assert_error (error, PLOG_ERROR, PLOG_ERROR_NOT_RECORDING);

    g_assert_cmpint (g_chmod (mine, 0700), ==, 0);
    record_ok (logger);
    dump_ok (logger, op);
    stop_ok (logger);
    got = plog_test_replay (logger);
    g_assert_cmpuint (got->len, ==, 1);
    free_logger (logger);
  }
}

static void
test_unwritable (void)
{
  g_autofree char *base = pid_path ("unwritable");
  g_autofree char *ro = g_build_filename (base, "ro", NULL);
  g_autofree char *mine = g_build_filename (base, "mine", NULL);

  if (g_test_subprocess ())
    {
      unwritable_child (base);
      return;
    }
  /* the tree: base 0755 and ro 0555 (owned by root when we are root, so
   * that 'nobody' can traverse and read but not write), mine 0700 owned
   * by the user the child runs as */
  plog_test_rm_rf (base);
  g_assert_cmpint (g_mkdir (base, 0755), ==, 0);
  g_assert_cmpint (g_chmod (base, 0755), ==, 0);
  g_assert_cmpint (g_mkdir (ro, 0555), ==, 0);
  g_assert_cmpint (g_chmod (ro, geteuid () == 0 ? 0555 : 0500), ==, 0);
  g_assert_cmpint (g_mkdir (mine, 0700), ==, 0);
  if (geteuid () == 0)
    g_assert_cmpint (chown (mine, NOBODY, NOBODY), ==, 0);

  g_test_trap_subprocess (NULL, 60 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
  plog_test_rm_rf (base);
}

/* }}} */

/* {{{ Modes, a failed stop, leftovers */

static void
assert_mode (const char *path,
             guint       mode)
{
  GStatBuf st;

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  if ((st.st_mode & 07777) != mode)
    g_test_message ("%s: mode %04o, expected %04o", path, st.st_mode & 07777, mode);
  g_assert_cmpuint (st.st_mode & 07777, ==, mode);
}

static void
assert_private_files (const char *dir)
{
  g_autoptr(GPtrArray) files = plog_test_list_files (dir, NULL);

  assert_mode (dir, 0700);
  g_assert_cmpuint (files->len, >=, 2);
  for (guint i = 0; i < files->len; i++)
    assert_mode (g_ptr_array_index (files, i), 0600);
}

static void
test_modes (void)
{
  if (g_test_subprocess ())
    {
      g_autofree char *base = plog_test_make_tmpdir ();
      g_autofree char *dir = g_build_filename (base, "new", NULL);
      PlogLogger *logger;

      /* no help from the umask */
      umask (0);
      logger = open_logger (dir, PLOG_SYNC_MODE_PERIODIC);
      assert_mode (dir, 0700);
      record_ok (logger);
      dump_numbered (logger, 0, 50);
      compact_ok (logger);
      dump_numbered (logger, 50, 60);
      flush_ok (logger);
      assert_private_files (dir);
      {
        g_autoptr(GPtrArray) snaps = plog_test_list_files (dir, ".snap");

        g_assert_cmpuint (snaps->len, ==, 1);
      }
      stop_ok (logger);
      assert_private_files (dir);
      g_assert_true (plog_logger_clear (logger, NULL));
      record_ok (logger);
      stop_ok (logger);
      assert_private_files (dir);
      free_logger (logger);

      /* missing parents too */
      {
        g_autofree char *a = g_build_filename (base, "a", NULL);
        g_autofree char *b = g_build_filename (a, "b", NULL);
        g_autofree char *c = g_build_filename (b, "c", NULL);

        logger = open_logger (c, PLOG_SYNC_MODE_PERIODIC);
        assert_mode (a, 0700);
        assert_mode (b, 0700);
        assert_mode (c, 0700);
        free_logger (logger);
      }
      plog_test_rm_rf (base);
      return;
    }
  g_test_trap_subprocess (NULL, 60 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

static void
failed_stop_child (PlogSyncMode mode)
{
  g_autofree char *dir = plog_test_make_tmpdir ();
  g_autofree char *log = NULL;
  g_autoptr(GPtrArray) dumped = g_ptr_array_new_with_free_func ((GDestroyNotify) plog_op_unref);
  g_autoptr(GError) error = NULL;
  struct rlimit limit, small;
  gboolean dump_failed = FALSE;
  PlogLogger *logger;

  g_assert_cmpint (getrlimit (RLIMIT_FSIZE, &limit), ==, 0);
  signal (SIGXFSZ, SIG_IGN);

  logger = open_logger (dir, mode);
  record_ok (logger);
  flush_ok (logger);
  log = newest_file (dir, ".log");

  /* room for a record or two, not for 40 */
  small = limit;
  small.rlim_cur = file_size (log) + 64;
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &small), ==, 0);
  for (guint32 i = 0; i < 40; i++)
    {
      PlogOp *op = numbered_op_sized (i, 20);

      if (!plog_logger_dump (logger, op, &error))
        {
          g_test_message ("dump %u failed: %s", i, error->message);
          g_assert_error (error, PLOG_ERROR, PLOG_ERROR_IO);
          g_clear_error (&error);
          plog_op_unref (op);
          dump_failed = TRUE;
          break;
        }
      g_ptr_array_add (dumped, op);
    }

  if (plog_logger_stop (logger, &error))
    {
      g_test_message ("stop succeeded");
      g_assert_true (dump_failed);
    }
  else
    {
      g_test_message ("stop failed: %s", error->message);
      g_assert_error (error, PLOG_ERROR, PLOG_ERROR_IO);
    }
  /* freed after a failed stop: tidies up, releases the lock */
  free_logger (logger);

  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &limit), ==, 0);
  logger = open_logger (dir, PLOG_SYNC_MODE_NONE);
  {
    g_autoptr(GPtrArray) got = plog_test_replay (logger);

    g_assert_cmpuint (got->len, <=, dumped->len);
    assert_ops (got, dumped, got->len, NULL);
  }
  record_ok (logger);
  {
    g_autoptr(PlogOp) op = numbered_op (1000);
    g_autoptr(GPtrArray) got = NULL;

    dump_ok (logger, op);
    stop_ok (logger);
    got = plog_test_replay (logger);
    g_assert_cmpuint (got->len, >=, 1);
    assert_op_equal (op, g_ptr_array_index (got, got->len - 1), got->len - 1);
  }
  free_logger (logger);
  plog_test_rm_rf (dir);
}

static void
test_failed_stop (gconstpointer data)
{
  if (g_test_subprocess ())
    {
      failed_stop_child (GPOINTER_TO_INT (data));
      return;
    }
  g_test_trap_subprocess (NULL, 60 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

/* The ops as strings, sorted: the state, whatever the order of a
 * snapshot's entries. */
static GPtrArray *
sorted_strings (GPtrArray *ops)
{
  GPtrArray *strings = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < ops->len; i++)
    g_ptr_array_add (strings, plog_op_to_string (g_ptr_array_index (ops, i)));
  g_ptr_array_sort (strings, plog_test_compare_strings);
  return strings;
}

static void
assert_same_state (GPtrArray *expected,
                   GPtrArray *got)
{
  g_autoptr(GPtrArray) e = sorted_strings (expected);
  g_autoptr(GPtrArray) g = sorted_strings (got);

  g_assert_cmpuint (e->len, ==, g->len);
  for (guint i = 0; i < e->len; i++)
    g_assert_cmpstr (g_ptr_array_index (e, i), ==, g_ptr_array_index (g, i));
}

/* Temporary leftovers go at open; files a newer snapshot covers (a crash
 * between its rename and the removals) change nothing and are tidied; a
 * .snap.tmp of a crash mid-compaction is never replayed. */
static void
test_leftovers (void)
{
  g_autofree char *dir = plog_test_make_tmpdir ();
  g_autofree char *other = plog_test_make_tmpdir ();
  g_autofree char *snap = NULL;
  g_autofree char *stray_snap_tmp = NULL;
  g_autofree char *stray_log_tmp = NULL;
  g_autofree char *stray_tmp = NULL;
  g_autofree char *tmp_dir = NULL;
  g_autoptr(GHashTable) covered = NULL;
  g_autoptr(GPtrArray) expected = NULL;
  g_autoptr(GBytes) other_snap = NULL;
  GHashTableIter iter;
  gpointer name, contents;
  PlogLogger *logger;
  guint64 seq;

  /* a snapshot of other ops, from another directory */
  logger = open_logger (other, PLOG_SYNC_MODE_NONE);
  record_ok (logger);
  dump_numbered (logger, 500, 520);
  stop_ok (logger);
  compact_ok (logger);
  free_logger (logger);
  {
    g_autofree char *path = newest_file (other, ".snap");

    other_snap = read_file (path);
  }

  logger = open_logger (dir, PLOG_SYNC_MODE_NONE);
  record_ok (logger);
  dump_numbered (logger, 0, 30);
  compact_ok (logger);
  for (guint32 i = 30; i < 40; i++)
    {
      g_autoptr(PlogOp) op = numbered_op (i);
      g_autoptr(PlogOp) del = numbered_op (i - 30);

      dump_ok (logger, op);
      if (i % 3 == 0)
        {
          g_autoptr(PlogOp) d = plog_op_new_delete (plog_op_get_key (del));

          dump_ok (logger, d);
        }
    }
  stop_ok (logger);
  /* what a crash between the rename and the removals leaves: the files
   * the next snapshot covers */
  covered = dir_contents (dir);
  compact_ok (logger);
  expected = plog_test_replay (logger);
  free_logger (logger);

  snap = newest_file (dir, ".snap");
  seq = file_seq (snap);
  g_hash_table_iter_init (&iter, covered);
  while (g_hash_table_iter_next (&iter, &name, &contents))
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);

      g_assert_cmpuint (file_seq (path), <, seq);
      write_file (path, g_bytes_get_data (contents, NULL), g_bytes_get_size (contents));
    }
  {
    /* a complete snapshot, newer than every file, left as .snap.tmp */
    g_autofree char *name_tmp = g_strdup_printf ("%020" G_GUINT64_FORMAT ".snap.tmp", seq + 1);
    gsize len = 0;
    const guint8 *src = g_bytes_get_data (other_snap, &len);
    g_autofree guint8 *data = g_memdup2 (src, len);

    for (guint i = 0; i < 8; i++)
      data[8 + i] = (guint8) ((seq + 1) >> (8 * i));
    stray_snap_tmp = g_build_filename (dir, name_tmp, NULL);
    write_file (stray_snap_tmp, data, len);
  }
  {
    g_autofree char *name_tmp = g_strdup_printf ("%020" G_GUINT64_FORMAT ".log.tmp", seq + 2);

    stray_log_tmp = g_build_filename (dir, name_tmp, NULL);
    write_file (stray_log_tmp, (const guint8 *) "PLOG\1L", 6);
    stray_tmp = g_build_filename (dir, "something.tmp", NULL);
    write_file (stray_tmp, (const guint8 *) "junk", 4);
    /* a directory with such a name is not a leftover of libplog's */
    tmp_dir = g_build_filename (dir, "folder.tmp", NULL);
    g_assert_cmpint (g_mkdir (tmp_dir, 0700), ==, 0);
  }

  logger = open_logger (dir, PLOG_SYNC_MODE_NONE);
  g_assert_false (g_file_test (stray_snap_tmp, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (stray_log_tmp, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (stray_tmp, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (tmp_dir, G_FILE_TEST_IS_DIR));
  free_logger (logger);
  {
    /* but one named like libplog's own temporary file is refused */
    g_autofree char *tmp_name = g_strdup_printf ("%020" G_GUINT64_FORMAT ".log.tmp", seq + 5);
    g_autofree char *blocking = g_build_filename (dir, tmp_name, NULL);
    g_autoptr(GError) error = NULL;
    PlogLogger *refused;

    g_assert_cmpint (g_mkdir (blocking, 0700), ==, 0);
    refused = plog_logger_new (dir, &error);
    g_assert_null (refused);
    g_assert_error (error, PLOG_ERROR, PLOG_ERROR_IO);
    g_assert_nonnull (strstr (error->message, tmp_name));
    g_assert_cmpint (g_rmdir (blocking), ==, 0);
  }
  logger = open_logger (dir, PLOG_SYNC_MODE_NONE);
  g_assert_true (g_file_test (snap, G_FILE_TEST_EXISTS));
  {
    g_autoptr(GPtrArray) got = plog_test_replay (logger);

    assert_ops (got, expected, expected->len, NULL);
  }
  {
    gboolean tidied_at_open = TRUE;

    g_hash_table_iter_init (&iter, covered);
    while (g_hash_table_iter_next (&iter, &name, NULL))
      {
        g_autofree char *path = g_build_filename (dir, name, NULL);

        tidied_at_open = tidied_at_open && !g_file_test (path, G_FILE_TEST_EXISTS);
      }
    g_test_message ("covered files %s at open", tidied_at_open ? "removed" : "kept");
  }
  record_ok (logger);
  stop_ok (logger);
  compact_ok (logger);
  g_hash_table_iter_init (&iter, covered);
  while (g_hash_table_iter_next (&iter, &name, NULL))
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);

      if (g_file_test (path, G_FILE_TEST_EXISTS))
        g_test_message ("%s is still there", (char *) name);
      g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
    }
  {
    g_autoptr(GPtrArray) got = plog_test_replay (logger);

    assert_same_state (expected, got);
  }
  free_logger (logger);
  plog_test_rm_rf (dir);
  plog_test_rm_rf (other);
}

/* }}} */

int
main (int   argc,
      char *argv[])
{
  if (argc == 5 && strcmp (argv[1], SIGKILL_CHILD_ARG) == 0)
    return sigkill_child (argv[2], argv[3], (guint) g_ascii_strtoull (argv[4], NULL, 10));
  if (argc == 3 && strcmp (argv[1], CLEAR_CHILD_ARG) == 0)
    return clear_child (argv[2]);
  if (argc == 4 && strcmp (argv[1], WINDOW_CHILD_ARG) == 0)
    return window_child (argv[2], argv[3]);

  /* No G_TEST_OPTION_ISOLATE_DIRS: these tests use no XDG directory, and
   * GLib 2.74 leaks the strings g_set_user_dirs () sets for every test,
   * which LeakSanitizer reports in the sanitized CI run. */
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/durability/torn-tail/every-offset", test_torn_tail_every_offset);
  g_test_add_func ("/durability/torn-tail/header", test_torn_header);
  g_test_add_func ("/durability/torn-tail/cut-during-replay", test_torn_tail_cut_during_replay);
  g_test_add_data_func ("/durability/bad-tail/zeros", GINT_TO_POINTER (TAIL_ZEROS), test_bad_tail);
  g_test_add_data_func ("/durability/bad-tail/random", GINT_TO_POINTER (TAIL_RANDOM), test_bad_tail);
  g_test_add_data_func ("/durability/bad-tail/bad-crc", GINT_TO_POINTER (TAIL_BAD_CRC), test_bad_tail);
  g_test_add_data_func ("/durability/bad-tail/huge-length", GINT_TO_POINTER (TAIL_HUGE_LENGTH), test_bad_tail);
  g_test_add_data_func ("/durability/bad-tail/zero-length", GINT_TO_POINTER (TAIL_ZERO_LENGTH), test_bad_tail);
  g_test_add_data_func ("/durability/bad-tail/partial-copy", GINT_TO_POINTER (TAIL_PARTIAL_COPY), test_bad_tail);
  g_test_add_data_func ("/durability/bad-tail/flipped-last", GINT_TO_POINTER (TAIL_FLIPPED_LAST), test_bad_tail);
  g_test_add_data_func ("/durability/bad-tail/torn-then-zeros", GINT_TO_POINTER (TAIL_TORN_THEN_ZEROS), test_bad_tail);
  g_test_add_data_func ("/durability/damage/payload", GINT_TO_POINTER (DAMAGE_PAYLOAD), test_damage_then_good_record);
  g_test_add_data_func ("/durability/damage/crc", GINT_TO_POINTER (DAMAGE_CRC), test_damage_then_good_record);
  g_test_add_data_func ("/durability/damage/length-low", GINT_TO_POINTER (DAMAGE_LENGTH_LOW), test_damage_then_good_record);
  g_test_add_data_func ("/durability/damage/length-huge", GINT_TO_POINTER (DAMAGE_LENGTH_HUGE), test_damage_then_good_record);
  g_test_add_data_func ("/durability/damage/length-past-end", GINT_TO_POINTER (DAMAGE_LENGTH_PAST_END), test_damage_then_good_record);
  g_test_add_data_func ("/durability/damage/zeroed", GINT_TO_POINTER (DAMAGE_ZEROED), test_damage_then_good_record);
  g_test_add_data_func ("/durability/damage/garbage", GINT_TO_POINTER (DAMAGE_GARBAGE), test_damage_then_good_record);
  g_test_add_data_func ("/durability/snapshot/middle-record", GINT_TO_POINTER (SNAP_MIDDLE_RECORD), test_damaged_snapshot);
  g_test_add_data_func ("/durability/snapshot/last-record", GINT_TO_POINTER (SNAP_LAST_RECORD), test_damaged_snapshot);
  g_test_add_data_func ("/durability/snapshot/truncated", GINT_TO_POINTER (SNAP_TRUNCATED), test_damaged_snapshot);
  g_test_add_data_func ("/durability/snapshot/header", GINT_TO_POINTER (SNAP_HEADER), test_damaged_snapshot);
  g_test_add_func ("/durability/snapshot/every-cut", test_snapshot_every_cut);
  g_test_add_func ("/durability/snapshot/large", test_snapshot_large);
  g_test_add_data_func ("/durability/snapshot/end/bad-offset", GINT_TO_POINTER (END_BAD_OFFSET), test_snapshot_end);
  g_test_add_data_func ("/durability/snapshot/end/bad-crc", GINT_TO_POINTER (END_BAD_CRC), test_snapshot_end);
  g_test_add_data_func ("/durability/snapshot/end/data-after", GINT_TO_POINTER (END_DATA_AFTER), test_snapshot_end);
  g_test_add_data_func ("/durability/snapshot/end/glued", GINT_TO_POINTER (END_SNAPSHOT_APPENDED), test_snapshot_end);
  g_test_add_func ("/durability/format/versions", test_format_versions);
  g_test_add_data_func ("/durability/old-log/middle-record", GINT_TO_POINTER (OLD_LOG_MIDDLE_RECORD), test_damaged_old_log);
  g_test_add_data_func ("/durability/old-log/last-record", GINT_TO_POINTER (OLD_LOG_LAST_RECORD), test_damaged_old_log);
  g_test_add_data_func ("/durability/old-log/truncated", GINT_TO_POINTER (OLD_LOG_TRUNCATED), test_damaged_old_log);
  g_test_add_data_func ("/durability/old-log/zero-tail", GINT_TO_POINTER (OLD_LOG_ZERO_TAIL), test_damaged_old_log);
  g_test_add_data_func ("/durability/old-log/length-past-end", GINT_TO_POINTER (OLD_LOG_LENGTH_PAST_END), test_damaged_old_log);
  g_test_add_data_func ("/durability/old-log/middle-of-many", GINT_TO_POINTER (OLD_LOG_MIDDLE_OF_MANY), test_damaged_old_log);
  g_test_add_data_func ("/durability/sigkill", GUINT_TO_POINTER (1), test_sigkill);
  g_test_add_data_func ("/durability/sigkill/threads", GUINT_TO_POINTER (SIGKILL_THREADS), test_sigkill);
  g_test_add_func ("/durability/sigkill/clear", test_sigkill_clear);
  g_test_add_data_func ("/durability/full-disk/rlimit/none", GINT_TO_POINTER (PLOG_SYNC_MODE_NONE), test_full_disk_rlimit);
  g_test_add_data_func ("/durability/full-disk/rlimit/periodic", GINT_TO_POINTER (PLOG_SYNC_MODE_PERIODIC), test_full_disk_rlimit);
  g_test_add_data_func ("/durability/full-disk/rlimit/always", GINT_TO_POINTER (PLOG_SYNC_MODE_ALWAYS), test_full_disk_rlimit);
  g_test_add_func ("/durability/full-disk/tmpfs", test_full_disk_tmpfs);
  g_test_add_data_func ("/durability/crash-window/none", GINT_TO_POINTER (PLOG_SYNC_MODE_NONE), test_crash_window);
  g_test_add_data_func ("/durability/crash-window/periodic", GINT_TO_POINTER (PLOG_SYNC_MODE_PERIODIC), test_crash_window);
  g_test_add_func ("/durability/reserve/stop", test_reserve_stop);
  g_test_add_func ("/durability/reserve/crash", test_reserve_crash);
  g_test_add_func ("/durability/reserve/rlimit", test_reserve_rlimit);
  g_test_add_func ("/durability/unwritable", test_unwritable);
  g_test_add_func ("/durability/modes", test_modes);
  g_test_add_data_func ("/durability/failed-stop/none", GINT_TO_POINTER (PLOG_SYNC_MODE_NONE), test_failed_stop);
  g_test_add_data_func ("/durability/failed-stop/periodic", GINT_TO_POINTER (PLOG_SYNC_MODE_PERIODIC), test_failed_stop);
  g_test_add_func ("/durability/leftovers", test_leftovers);

  return g_test_run ();
}
