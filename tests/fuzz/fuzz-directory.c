/* fuzz-directory.c: a directory of damaged files
 *
 * The input is up to four files, each a flags byte, a little-endian u32
 * length and that many bytes (or what is left), numbered 1, 2, … in
 * order. Flag 1 makes the file a snapshot (otherwise a log). Unless flag
 * 2 is set, the kind and number of a file's header (docs/format.md) are
 * made to match its name, so that inputs reach the records instead of
 * failing at the header. The target opens a logger on them, and checks
 * what the issue promises of damage:
 *
 * - every replay path gives the same ops and the same error, which can
 *   only be PLOG_ERROR_CORRUPT naming the file;
 * - `record` either succeeds, cutting only a torn tail, or fails with
 *   PLOG_ERROR_CORRUPT and changes nothing;
 * - after a dump and a stop, a replay gives what it gave before, then
 *   the new op (or the same error);
 * - a compaction of a directory that replays without error keeps its
 *   state exactly; one of a damaged directory changes nothing (it fails,
 *   or has no log to merge);
 * - the directory opens again and replays the same.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "fuzz-common.h"
#include "plog-test-model.h"

#include <glib/gstdio.h>
#include <string.h>

#define MAX_FILES 4

static void
write_files (const char          *dir,
             const unsigned char *data,
             size_t               size)
{
  for (guint seq = 1; seq <= MAX_FILES && size >= 5; seq++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *name = NULL;
      g_autofree char *path = NULL;
      gboolean snapshot = data[0] & 1;
      gboolean keep_header = data[0] & 2;
      size_t len = data[1] | data[2] << 8 | data[3] << 16 | (size_t) data[4] << 24;
      g_autofree guint8 *contents = NULL;

      data += 5;
      size -= 5;
      len = MIN (len, size);
      contents = g_memdup2 (data, len);
      if (!keep_header && len >= 16)
        {
          guint64 le = GUINT64_TO_LE (seq);

          contents[5] = snapshot ? 'S' : 'L';
          memcpy (contents + 8, &le, sizeof le);
        }
      name = g_strdup_printf ("%020u.%s", seq, snapshot ? "snap" : "log");
      path = g_build_filename (dir, name, NULL);
      g_file_set_contents_full (path, (const char *) contents, len,
                                G_FILE_SET_CONTENTS_NONE, 0600, &error);
      g_assert_no_error (error);
      data += len;
      size -= len;
    }
}

/* Every file of @dir and its contents, to tell that nothing changed. */
static GHashTable *
read_dir (const char *dir)
{
  g_autoptr(GHashTable) files = g_hash_table_new_full (g_str_hash, g_str_equal,
                                                       g_free, (GDestroyNotify) g_bytes_unref);
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  g_assert_nonnull (d);
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_autoptr(GError) error = NULL;
      char *contents;
      gsize len;

      g_file_get_contents (path, &contents, &len, &error);
      g_assert_no_error (error);
      g_hash_table_insert (files, g_strdup (name), g_bytes_new_take (contents, len));
    }
  return g_steal_pointer (&files);
}

static void
assert_same_dir (GHashTable *before,
                 GHashTable *after,
                 const char *where)
{
  GHashTableIter iter;
  gpointer name, contents;

  g_hash_table_iter_init (&iter, before);
  while (g_hash_table_iter_next (&iter, &name, &contents))
    {
      GBytes *now = g_hash_table_lookup (after, name);

      if (now == NULL || !g_bytes_equal (now, contents))
        fuzz_fail ("%s: %s %s", where, (char *) name, now == NULL ? "is gone" : "changed");
    }
  g_assert_cmpuint (g_hash_table_size (after), ==, g_hash_table_size (before));
}

int
LLVMFuzzerTestOneInput (const unsigned char *data,
                        size_t               size)
{
  g_autofree char *dir = fuzz_make_dir ();
  g_autoptr(PlogLogger) logger = NULL;
  g_autoptr(GPtrArray) before = NULL;
  g_autoptr(GPtrArray) after = NULL;
  g_autoptr(GPtrArray) compacted = NULL;
  g_autoptr(GPtrArray) reopened = NULL;
  g_autoptr(GError) before_error = NULL;
  g_autoptr(GError) after_error = NULL;
  g_autoptr(GError) compacted_error = NULL;
  g_autoptr(GError) reopened_error = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) files = NULL;
  g_autoptr(PlogOp) op = NULL;
  gboolean recorded, compacted_ok;

  fuzz_init ();
  write_files (dir, data, size);

  logger = plog_logger_new (dir, &error);
  g_assert_no_error (error);
  plog_logger_set_sync_mode (logger, PLOG_SYNC_MODE_NONE);

  before = fuzz_replay_every_way (logger, TRUE, &before_error);

  /* record: cuts a torn tail away, or refuses damage and changes
   * nothing. */
  files = read_dir (dir);
  recorded = plog_logger_record (logger, &error);
  if (before_error == NULL)
    g_assert_no_error (error);
  if (!recorded)
    {
      g_autoptr(GHashTable) now = NULL;

      g_assert_error (error, PLOG_ERROR, PLOG_ERROR_CORRUPT);
      g_assert_nonnull (strstr (error->message, plog_logger_get_directory (logger)));
      g_clear_error (&error);
      now = read_dir (dir);
      assert_same_dir (files, now, "a failed record");
      g_assert_false (plog_logger_get_recording (logger));
    }
  else
    {
      op = plog_op_new_put (g_bytes_new_static ("fuzz", 4),
                            g_bytes_new_static ("value", 5), 42);
      g_assert_true (plog_logger_dump (logger, op, &error));
      g_assert_no_error (error);
      g_assert_true (plog_logger_stop (logger, &error));
      g_assert_no_error (error);
      if (before_error == NULL)
        g_ptr_array_add (before, plog_op_ref (op));
    }

  after = fuzz_replay_every_way (logger, TRUE, &after_error);
  fuzz_assert_same_replay (before, before_error, after, after_error,
                           "the replay after record and stop");

  /* A compaction keeps the state of a sound directory, and changes
   * nothing in a damaged one. */
  g_hash_table_unref (files);
  files = read_dir (dir);
  compacted_ok = fuzz_compact (logger, &error);
  if (after_error == NULL)
    {
      g_assert_no_error (error);
      g_assert_true (compacted_ok);
      compacted = fuzz_replay_every_way (logger, TRUE, &compacted_error);
      g_assert_no_error (compacted_error);
      fuzz_assert_same_state (after, compacted, "the replay after a compaction");
    }
  else
    {
      g_autoptr(GHashTable) now = NULL;

      /* It fails; or, with no log to merge, it has nothing to do and
       * succeeds without reading the snapshot. */
      if (!compacted_ok)
        g_assert_error (error, PLOG_ERROR, PLOG_ERROR_CORRUPT);
      g_clear_error (&error);
      now = read_dir (dir);
      assert_same_dir (files, now, "a compaction of a damaged directory");
      compacted = g_ptr_array_ref (after);
      compacted_error = g_error_copy (after_error);
    }

  /* The directory opens again, and replays the same. */
  g_assert_true (plog_logger_close (logger, &error));
  g_assert_no_error (error);
  g_clear_object (&logger);
  logger = plog_logger_new (dir, &error);
  g_assert_no_error (error);
  reopened = fuzz_replay_every_way (logger, TRUE, &reopened_error);
  fuzz_assert_same_replay (compacted, compacted_error, reopened, reopened_error,
                           "the replay after reopening");
  g_assert_true (plog_logger_close (logger, &error));
  g_assert_no_error (error);
  g_clear_object (&logger);

  fuzz_remove_dir (dir);
  return 0;
}
