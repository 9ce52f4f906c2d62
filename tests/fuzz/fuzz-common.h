/* fuzz-common.h: what the fuzz targets share
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <plog.h>

G_BEGIN_DECLS

int        LLVMFuzzerTestOneInput      (const unsigned char *data,
                                        size_t               size);

/* A fresh directory for one input, on a tmpfs when there is one. */
char      *fuzz_make_dir               (void);
/* Removes what fuzz_make_dir() made. */
void       fuzz_remove_dir             (const char *dir);

/* Every op a replay gives, through each of the library's paths: a
 * cursor, play() with a callback, play() with a `replayed` handler, and
 * play_async(). Asserts that the four agree, op for op and in their
 * error, and returns the ops with the error. */
GPtrArray *fuzz_replay_every_way       (PlogLogger  *logger,
                                        GError     **error);

/* Runs compact_async() to its end. */
gboolean   fuzz_compact                (PlogLogger  *logger,
                                        GError     **error);

/* Asserts that two replays gave the same ops and the same error. */
void       fuzz_assert_same_replay     (GPtrArray   *expected,
                                        GError      *expected_error,
                                        GPtrArray   *got,
                                        GError      *got_error,
                                        const char  *where);

G_END_DECLS
