/* plog-writer-private.h: appending ops to the current log
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "plog-directory-private.h"
#include "plog-logger.h"

G_BEGIN_DECLS

/* A dumper that finds the current log this many times over max-size
 * waits for a compaction to rotate it (see plog_logger_dump()). */
#define PLOG_STALL_FACTOR 4

typedef struct _PlogWriter PlogWriter;

/* A closed writer: appends fail with PLOG_ERROR_NOT_RECORDING. */
PlogWriter *plog_writer_new            (PlogDirectory  *dir,
                                        PlogSyncMode    sync_mode);
/* The writer must be closed. */
void        plog_writer_free           (PlogWriter     *writer);
/* Starts appending to a new log @seq, made durable with its directory
 * entry. */
gboolean    plog_writer_open           (PlogWriter     *writer,
                                        guint64         seq,
                                        GError        **error);
gboolean    plog_writer_is_open        (PlogWriter     *writer);
/* The logger's max-size (0: none), and the size the newest log reached
 * (0: unknown): they tell how many disk blocks a new log reserves. Any
 * thread. */
void        plog_writer_set_max_size   (PlogWriter     *writer,
                                        gint64          max_size);
void        plog_writer_set_last_size  (PlogWriter     *writer,
                                        gint64          size);
void        plog_writer_set_sync_mode  (PlogWriter     *writer,
                                        PlogSyncMode    sync_mode);
/* Appends the record of @op; returns with it durable under ALWAYS. Sets
 * @log_seq to the log it went to and @log_size to that log's size after
 * it. Any thread. */
gboolean    plog_writer_append         (PlogWriter     *writer,
                                        PlogOp         *op,
                                        guint64        *log_seq,
                                        gint64         *log_size,
                                        GError        **error);
/* Makes every appended record durable. A closed writer has nothing to do. */
gboolean    plog_writer_flush          (PlogWriter     *writer,
                                        GError        **error);
/* Switches to a new log @seq; the closed one is durable first. Sets
 * @rotated to FALSE (and succeeds) when the writer is closed. */
gboolean    plog_writer_rotate         (PlogWriter     *writer,
                                        guint64         seq,
                                        gboolean       *rotated,
                                        GError        **error);
/* Hands every appended record to the kernel and tells the current log
 * and its size; @open is FALSE (and nothing else set) when closed. */
gboolean    plog_writer_pin            (PlogWriter     *writer,
                                        gboolean       *open,
                                        guint64        *seq,
                                        gint64         *size,
                                        GError        **error);
/* Gives back the disk blocks reserved past the end of the current log,
 * which then grows as the kernel allocates it: for a compaction that may
 * have found the disk full. */
void        plog_writer_release_reserved (PlogWriter   *writer);
/* Writes and syncs what is left, then closes the log. With @force, it
 * closes even when that fails, dropping what could not be written. */
gboolean    plog_writer_close          (PlogWriter     *writer,
                                        gboolean        force,
                                        GError        **error);

G_END_DECLS
