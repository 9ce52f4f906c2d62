/* plog-segment-private.h: one file: header, appends, sequential reads
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <sys/stat.h>

#include <gio/gio.h>

#include "plog-record-private.h"

G_BEGIN_DECLS

#define PLOG_SEGMENT_HEADER_SIZE 16
/* The version that writers write; readers also accept version 1, whose
 * snapshots have no end record. */
#define PLOG_SEGMENT_VERSION     2
/* A snapshot ends with an end record: u32 0 (where a record has its
 * length), u32 CRC-32C of the next 8 bytes, u64 LE offset of the end
 * record itself. A snapshot cut short anywhere lacks it. */
#define PLOG_SEGMENT_END_SIZE    16

typedef enum
{
  PLOG_SEGMENT_LOG      = 'L',
  PLOG_SEGMENT_SNAPSHOT = 'S',
} PlogSegmentKind;

void      plog_segment_header_encode (guint8           *buf,
                                      PlogSegmentKind   kind,
                                      guint64           seq);

/* Sets PLOG_ERROR_IO: "Failed to @what “@path”: <the system's message>".
 * Returns FALSE. */
gboolean  plog_set_io_error          (GError          **error,
                                      int               saved_errno,
                                      const char       *what,
                                      const char       *path);

/* Thin wrappers of the system calls that set PLOG_ERROR_IO naming @path. */
int       plog_segment_open          (const char       *path,
                                      int               flags,
                                      GError          **error);
gboolean  plog_segment_write_all     (int               fd,
                                      const char       *path,
                                      const void       *data,
                                      gsize             len,
                                      GError          **error);
gboolean  plog_segment_sync          (int               fd,
                                      const char       *path,
                                      GError          **error);
gboolean  plog_segment_truncate      (int               fd,
                                      const char       *path,
                                      gint64            size,
                                      GError          **error);
gboolean  plog_segment_close         (int               fd,
                                      const char       *path,
                                      GError          **error);
/* Reserves the disk blocks of [@offset, @offset + @len) of a file whose
 * size is @size, without changing that size, so that writing there later
 * allocates no block. Best effort: returns 0, or the errno of a failure,
 * after which no block beyond @size stays reserved. ENOTSUP: the file
 * system cannot. */
int       plog_segment_reserve       (int               fd,
                                      gint64            size,
                                      gint64            offset,
                                      gint64            len);
/* Whether a file holds more disk blocks than its size needs: blocks
 * reserved past its end (or, rarely, the file system's own metadata). */
gboolean  plog_segment_has_reserved  (const struct stat *st);
/* Gives back the blocks reserved beyond the end of a file. Best effort. */
void      plog_segment_release       (int               fd);
/* Appends the end record to a snapshot open for appending. */
gboolean  plog_segment_write_end     (int               fd,
                                      const char       *path,
                                      GError          **error);
/* Creates @path (which must not exist) with a header; returns its fd,
 * open for appending, or -1. */
int       plog_segment_create        (const char       *path,
                                      PlogSegmentKind   kind,
                                      guint64           seq,
                                      GError          **error);

typedef struct _PlogSegmentReader PlogSegmentReader;

/* Reads the records of an open file (@fd is taken) from its start up to
 * @limit bytes (-1: to its end). With @newest, damage with no good record
 * after it is a torn tail: the reader ends there without an error. */
PlogSegmentReader *plog_segment_reader_new       (int                  fd,
                                                  const char          *path,
                                                  PlogSegmentKind      kind,
                                                  guint64              seq,
                                                  gint64               limit,
                                                  gboolean             newest);
void               plog_segment_reader_free      (PlogSegmentReader   *reader);
/* The next record: TRUE with @view (and @record, @record_size: the raw
 * bytes, valid until the next call); FALSE at the end, or with @error. */
gboolean           plog_segment_reader_next      (PlogSegmentReader   *reader,
                                                  PlogRecordView      *view,
                                                  const guint8       **record,
                                                  gsize               *record_size,
                                                  GError             **error);
/* After the end: where the good records end, and whether a torn tail
 * follows them. */
gint64             plog_segment_reader_get_end   (PlogSegmentReader   *reader);
gboolean           plog_segment_reader_get_torn  (PlogSegmentReader   *reader);
const char        *plog_segment_reader_get_path  (PlogSegmentReader   *reader);
PlogSegmentKind    plog_segment_reader_get_kind  (PlogSegmentReader   *reader);
/* A new reader of the same file from its start, on its own descriptor. */
PlogSegmentReader *plog_segment_reader_reopen    (PlogSegmentReader   *reader,
                                                  GError             **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PlogSegmentReader, plog_segment_reader_free)

G_END_DECLS
