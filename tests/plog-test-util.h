/* plog-test-util.h: helpers shared by the tests
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <plog.h>

G_BEGIN_DECLS

/* A fresh private directory under the test's temporary directory. */
char      *plog_test_make_tmpdir   (void);
/* Removes @path and everything below it; refuses paths outside the
 * temporary directory. */
void       plog_test_rm_rf         (const char *path);
/* GBytes of a NUL-terminated string (without the NUL). */
GBytes    *plog_test_bytes         (const char *str);
/* @n bytes, each @c. */
GBytes    *plog_test_filled_bytes  (gsize       n,
                                    char        c);
/* A PlogOperateFunc, and a `replayed` handler, that add a reference to
 * each op to @user_data, a GPtrArray of PlogOp. */
void       plog_test_collect_op       (PlogOp     *op,
                                       gpointer    user_data);
void       plog_test_collect_replayed (PlogLogger *logger,
                                       PlogOp     *op,
                                       gpointer    user_data);
/* Every op the logger replays, in order, in a new array of PlogOp. */
GPtrArray *plog_test_replay_all    (PlogLogger *logger,
                                    GError    **error);
/* plog_test_replay_all(), asserting that it succeeds. */
GPtrArray *plog_test_replay        (PlogLogger *logger);
/* The data files (*.log, *.snap) of @dir, sorted by name. */
GPtrArray *plog_test_list_files    (const char *dir,
                                    const char *suffix);
/* How many files of @dir end in @suffix. */
guint      plog_test_count_files   (const char *dir,
                                    const char *suffix);
/* How many logs and snapshots @dir holds. */
guint      plog_test_count_data_files (const char *dir);
/* For g_ptr_array_sort() of strings. */
int        plog_test_compare_strings (gconstpointer a,
                                      gconstpointer b);

/* A GAsyncReadyCallback that stores a reference to its result in
 * *@user_data, a GAsyncResult pointer. */
void       plog_test_store_result_cb (GObject      *source,
                                      GAsyncResult *result,
                                      gpointer      user_data);

/* Runs every pending source of the default main context. */
void       plog_test_drain_main_context (void);
gboolean   plog_test_tick_cb       (gpointer    data);

/* Iterates the default main context until @expr holds, for at most
 * @timeout_ms, then asserts @expr; a 10 ms tick wakes the loop for
 * conditions that other threads change. */
#define PLOG_TEST_ITERATE_UNTIL(expr, timeout_ms)                              \
  G_STMT_START {                                                               \
    gint64 iu_deadline = g_get_monotonic_time () + (gint64) (timeout_ms) * 1000; \
    guint iu_tick = g_timeout_add (10, plog_test_tick_cb, NULL);               \
    while (!(expr) && g_get_monotonic_time () < iu_deadline)                   \
      g_main_context_iteration (NULL, TRUE);                                   \
    g_source_remove (iu_tick);                                                 \
    g_assert_true (expr);                                                      \
  } G_STMT_END

G_END_DECLS
