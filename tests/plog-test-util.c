/* plog-test-util.c: helpers shared by the tests
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "plog-test-util.h"

#include <glib/gstdio.h>
#include <string.h>

char *
plog_test_make_tmpdir (void)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp ("plog-test-XXXXXX", &error);

  g_assert_no_error (error);
  return dir;
}

void
plog_test_rm_rf (const char *path)
{
  g_autoptr(GDir) dir = NULL;
  const char *name;

  if (path == NULL)
    return;
  /* A sanity check: never remove anything outside the temporary directory. */
  g_assert_true (g_str_has_prefix (path, g_get_tmp_dir ()));

  if (!g_file_test (path, G_FILE_TEST_IS_DIR) || g_file_test (path, G_FILE_TEST_IS_SYMLINK))
    {
      g_unlink (path);
      return;
    }
  g_chmod (path, 0700);
  dir = g_dir_open (path, 0, NULL);
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);
      plog_test_rm_rf (child);
    }
  g_rmdir (path);
}

GBytes *
plog_test_bytes (const char *str)
{
  return g_bytes_new (str, strlen (str));
}

GBytes *
plog_test_filled_bytes (gsize n,
                        char  c)
{
  return g_bytes_new_take (memset (g_malloc (n), c, n), n);
}

void
plog_test_collect_op (PlogOp   *op,
                      gpointer  user_data)
{
  g_ptr_array_add (user_data, plog_op_ref (op));
}

void
plog_test_collect_replayed (PlogLogger *logger,
                            PlogOp     *op,
                            gpointer    user_data)
{
  g_ptr_array_add (user_data, plog_op_ref (op));
}

GPtrArray *
plog_test_replay_all (PlogLogger *logger,
                      GError    **error)
{
  g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func ((GDestroyNotify) plog_op_unref);

  if (!plog_logger_play (logger, plog_test_collect_op, ops, NULL, error))
    return NULL;
  return g_steal_pointer (&ops);
}

GPtrArray *
plog_test_replay (PlogLogger *logger)
{
  g_autoptr(GError) error = NULL;
  GPtrArray *ops = plog_test_replay_all (logger, &error);

  g_assert_no_error (error);
  g_assert_nonnull (ops);
  return ops;
}

int
plog_test_compare_strings (gconstpointer a,
                           gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

GPtrArray *
plog_test_list_files (const char *path,
                      const char *suffix)
{
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    if (suffix == NULL || g_str_has_suffix (name, suffix))
      g_ptr_array_add (names, g_build_filename (path, name, NULL));
  g_ptr_array_sort (names, plog_test_compare_strings);
  return g_steal_pointer (&names);
}

guint
plog_test_count_files (const char *dir,
                       const char *suffix)
{
  g_autoptr(GPtrArray) files = plog_test_list_files (dir, suffix);

  return files->len;
}

guint
plog_test_count_data_files (const char *dir)
{
  return plog_test_count_files (dir, ".log") + plog_test_count_files (dir, ".snap");
}

void
plog_test_drain_main_context (void)
{
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

gboolean
plog_test_tick_cb (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

void
plog_test_store_result_cb (GObject      *source,
                           GAsyncResult *result,
                           gpointer      user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}
