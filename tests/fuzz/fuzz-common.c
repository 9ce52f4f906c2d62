/* fuzz-common.c: what the fuzz targets share
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "fuzz-common.h"
#include "plog-test-model.h"
#include "plog-test-util.h"

#include <errno.h>

#include <glib/gstdio.h>
#include <string.h>

static GLogWriterOutput
abort_on_warnings (GLogLevelFlags   log_level,
                   const GLogField *fields,
                   gsize            n_fields,
                   gpointer         user_data)
{
  GLogWriterOutput output = g_log_writer_default (log_level, fields, n_fields, user_data);

  if (log_level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING))
    abort ();
  return output;
}

void
fuzz_init (void)
{
  static gsize done = 0;

  if (g_once_init_enter (&done))
    {
      g_log_set_writer_func (abort_on_warnings, NULL, NULL);
      g_once_init_leave (&done, 1);
    }
}

char *
fuzz_make_dir (void)
{
  char *dir;

  /* Each input syncs files: on a tmpfs that costs nothing. */
  if (g_file_test ("/dev/shm", G_FILE_TEST_IS_DIR) &&
      g_access ("/dev/shm", W_OK) == 0)
    dir = g_strdup ("/dev/shm/plog-fuzz-XXXXXX");
  else
    dir = g_build_filename (g_get_tmp_dir (), "plog-fuzz-XXXXXX", NULL);
  if (g_mkdtemp_full (dir, 0700) == NULL)
    fuzz_fail ("Cannot create %s: %s", dir, g_strerror (errno));
  return dir;
}

void
fuzz_remove_dir (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  g_assert_true (strstr (dir, "plog-fuzz-") != NULL);
  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_assert_cmpint (g_unlink (path), ==, 0);
    }
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

static void
async_done_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

static GAsyncResult *
wait_for (GAsyncResult **result)
{
  while (*result == NULL)
    g_main_context_iteration (NULL, TRUE);
  return *result;
}

static GPtrArray *
new_op_array (void)
{
  return g_ptr_array_new_with_free_func ((GDestroyNotify) plog_op_unref);
}

void
fuzz_assert_same_replay (GPtrArray  *expected,
                         GError     *expected_error,
                         GPtrArray  *got,
                         GError     *got_error,
                         const char *where)
{
  if (expected_error == NULL)
    g_assert_no_error (got_error);
  else
    {
      g_assert_nonnull (got_error);
      g_assert_cmpstr (g_quark_to_string (got_error->domain), ==,
                       g_quark_to_string (expected_error->domain));
      g_assert_cmpint (got_error->code, ==, expected_error->code);
      g_assert_cmpstr (got_error->message, ==, expected_error->message);
    }
  if (got->len != expected->len)
    fuzz_fail ("%s: %u ops, expected %u", where, got->len, expected->len);
  for (guint i = 0; i < got->len; i++)
    if (!plog_op_equal (got->pdata[i], expected->pdata[i]))
      {
        g_autofree char *a = plog_op_to_string (got->pdata[i]);
        g_autofree char *b = plog_op_to_string (expected->pdata[i]);

        fuzz_fail ("%s: op %u is %s, expected %s", where, i, a, b);
      }
}

void
fuzz_assert_same_state (GPtrArray  *expected,
                        GPtrArray  *got,
                        const char *where)
{
  g_autoptr(PlogTestModel) expected_state = plog_test_model_new_from_ops (expected);
  g_autoptr(PlogTestModel) got_state = plog_test_model_new_from_ops (got);

  plog_test_model_assert_equal (expected_state, got_state, where);
}

/* While automatic compactions run, two replays give the same state, not
 * always the same ops. */
static void
assert_same (GPtrArray  *expected,
             GError     *expected_error,
             GPtrArray  *got,
             GError     *got_error,
             gboolean    same_ops,
             const char *where)
{
  if (same_ops)
    {
      fuzz_assert_same_replay (expected, expected_error, got, got_error, where);
      return;
    }
  g_assert_no_error (expected_error);
  g_assert_no_error (got_error);
  fuzz_assert_same_state (expected, got, where);
}

GPtrArray *
fuzz_replay_every_way (PlogLogger  *logger,
                       gboolean     same_ops,
                       GError     **error)
{
  g_autoptr(GPtrArray) by_cursor = new_op_array ();
  g_autoptr(GPtrArray) by_callback = new_op_array ();
  g_autoptr(GPtrArray) by_signal = new_op_array ();
  g_autoptr(GPtrArray) by_async = new_op_array ();
  g_autoptr(GError) cursor_error = NULL;
  g_autoptr(GError) callback_error = NULL;
  g_autoptr(GError) signal_error = NULL;
  g_autoptr(GError) async_error = NULL;
  g_autoptr(PlogCursor) cursor = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  gulong handler;
  gboolean ok;

  cursor = plog_logger_open_cursor (logger, &cursor_error);
  if (cursor != NULL)
    {
      PlogOp *op;

      while ((op = plog_cursor_next (cursor, NULL, &cursor_error)) != NULL)
        g_ptr_array_add (by_cursor, op);
    }
  if (cursor_error != NULL)
    {
      g_assert_error (cursor_error, PLOG_ERROR, PLOG_ERROR_CORRUPT);
      /* It names the file. */
      g_assert_nonnull (strstr (cursor_error->message,
                                plog_logger_get_directory (logger)));
    }

  ok = plog_logger_play (logger, plog_test_collect_op, by_callback, NULL, &callback_error);
  g_assert_cmpint (ok, ==, callback_error == NULL);
  assert_same (by_cursor, cursor_error, by_callback, callback_error,
               same_ops, "play (callback)");

  handler = g_signal_connect (logger, "replayed", G_CALLBACK (plog_test_collect_replayed), by_signal);
  ok = plog_logger_play (logger, NULL, NULL, NULL, &signal_error);
  g_assert_cmpint (ok, ==, signal_error == NULL);
  assert_same (by_cursor, cursor_error, by_signal, signal_error,
               same_ops, "play (signal)");
  g_signal_handler_disconnect (logger, handler);

  handler = g_signal_connect (logger, "replayed", G_CALLBACK (plog_test_collect_replayed), by_async);
  plog_logger_play_async (logger, NULL, async_done_cb, &result);
  ok = plog_logger_play_finish (logger, wait_for (&result), &async_error);
  g_assert_cmpint (ok, ==, async_error == NULL);
  assert_same (by_cursor, cursor_error, by_async, async_error,
               same_ops, "play_async");
  g_signal_handler_disconnect (logger, handler);

  if (cursor_error != NULL)
    g_propagate_error (error, g_steal_pointer (&cursor_error));
  return g_steal_pointer (&by_cursor);
}

gboolean
fuzz_compact (PlogLogger  *logger,
              GError     **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  plog_logger_compact_async (logger, NULL, async_done_cb, &result);
  return plog_logger_compact_finish (logger, wait_for (&result), error);
}
