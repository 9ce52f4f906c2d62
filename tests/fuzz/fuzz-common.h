/* fuzz-common.h: what the fuzz targets share
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <stdlib.h>

#include <plog.h>

G_BEGIN_DECLS

/* Reports a broken promise and aborts, which a fuzzing engine catches as
 * a crash and saves the input of (g_error() traps, which it does not). */
#define fuzz_fail(...)                                                         \
  G_STMT_START {                                                               \
    g_printerr (__VA_ARGS__);                                                  \
    g_printerr ("\n");                                                         \
    abort ();                                                                  \
  } G_STMT_END

int        LLVMFuzzerTestOneInput      (const unsigned char *data,
                                        size_t               size);

/* Makes every GLib warning and critical (a g_return_if_fail() of the
 * library, say) abort, so that it fails the input. Call it first in
 * each input; it acts once. */
void       fuzz_init                   (void);

/* A fresh directory for one input, on a tmpfs when there is one. */
char      *fuzz_make_dir               (void);
/* Removes what fuzz_make_dir() made. */
void       fuzz_remove_dir             (const char *dir);

/* Every op a replay gives, through each of the library's paths: a
 * cursor, play() with a callback, play() with a `replayed` handler, and
 * play_async(). Asserts that the four agree, op for op and in their
 * error (or, without @same_ops, while automatic compactions may land
 * between them, in the state they rebuild), and returns the cursor's ops
 * with its error. */
GPtrArray *fuzz_replay_every_way       (PlogLogger  *logger,
                                        gboolean     same_ops,
                                        GError     **error);

/* Runs compact_async() to its end. */
gboolean   fuzz_compact                (PlogLogger  *logger,
                                        GError     **error);

/* Asserts that two lists of ops rebuild the same state. */
void       fuzz_assert_same_state      (GPtrArray   *expected,
                                        GPtrArray   *got,
                                        const char  *where);

/* Asserts that two replays gave the same ops and the same error. */
void       fuzz_assert_same_replay     (GPtrArray   *expected,
                                        GError      *expected_error,
                                        GPtrArray   *got,
                                        GError      *got_error,
                                        const char  *where);

G_END_DECLS
