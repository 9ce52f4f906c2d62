/* plog-cursor-private.h: how the logger and compaction open cursors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "plog-cursor.h"
#include "plog-directory-private.h"
#include "plog-writer-private.h"

G_BEGIN_DECLS

/* Pins the replay set below @below (every file when G_MAXUINT64): opens
 * its files and, with an open @writer, bounds the current log at what
 * was dumped so far. With @newest_torn, a damaged tail of the last log
 * is a torn tail. */
PlogCursor *_plog_cursor_open        (PlogDirectory    *dir,
                                      PlogWriter       *writer,
                                      guint64           below,
                                      gboolean          newest_torn,
                                      GError          **error);
/* The next raw record, valid until the next call. */
gboolean    _plog_cursor_next_record (PlogCursor       *self,
                                      PlogRecordView   *view,
                                      const guint8    **record,
                                      gsize            *record_size,
                                      GCancellable     *cancellable,
                                      GError          **error);
/* plog_cursor_next() without the checks of a public entry point: the
 * next op, or NULL at the end or with @error. @cancellable is checked
 * between files only. */
PlogOp     *_plog_cursor_next_op     (PlogCursor       *self,
                                      GCancellable     *cancellable,
                                      GError          **error);
/* When the replay set starts with a snapshot, takes it out of the cursor
 * (which then reads only the logs) and returns it: the base a
 * compaction streams through. */
PlogSegmentReader *_plog_cursor_take_base (PlogCursor *self);
/* How many files the cursor pinned. */
guint       _plog_cursor_get_n_files (PlogCursor       *self);
/* After the end: the last file (NULL when there is none), where its good
 * records end, and whether a torn tail follows them. */
gboolean    _plog_cursor_get_torn    (PlogCursor       *self,
                                      gint64           *end,
                                      const char      **path);

G_END_DECLS
