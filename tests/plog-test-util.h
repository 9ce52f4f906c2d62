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
/* Every op the logger replays, in order, in a new array of PlogOp. */
GPtrArray *plog_test_replay_all    (PlogLogger *logger,
                                    GError    **error);
/* The data files (*.log, *.snap) of @dir, sorted by name. */
GPtrArray *plog_test_list_files    (const char *dir,
                                    const char *suffix);

G_END_DECLS
