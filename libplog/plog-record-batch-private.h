/* plog-record-batch-private.h: parsed records, copied out of a reader
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "plog-record-private.h"

G_BEGIN_DECLS

/* Up to @capacity records and their views, copied out of a segment
 * reader (whose record lives only until its next call) into one arena:
 * what the compactor merges in batches and what a replay's worker hands
 * to the thread that delivers the ops. */
typedef struct
{
  PlogRecordView  *views;
  const guint8   **records;
  gsize           *sizes;
  guint            n;
  guint            capacity;
  guint8          *arena;      /* (owned) the copies of the records */
  gsize            used;
  gsize            arena_size;
  GPtrArray       *oversize;   /* (owned) (nullable) copies of records
                                * that did not fit in the arena */
} PlogRecordBatch;

PlogRecordBatch *plog_record_batch_new     (guint                 capacity,
                                            gsize                 arena_size);
void             plog_record_batch_free    (PlogRecordBatch      *batch);
/* Whether adding a record of @record_size would overflow the batch or
 * its arena. */
gboolean         plog_record_batch_is_full (PlogRecordBatch      *batch,
                                            gsize                 record_size);
/* Copies a record in; the batch must have room for one more record. A
 * record larger than the arena's room is copied into a block of its own,
 * kept in @oversize: freed on reset, or by its owner once it is done with
 * the records (a replay frees them as soon as the batch is delivered). */
void             plog_record_batch_add     (PlogRecordBatch      *batch,
                                            const PlogRecordView *view,
                                            const guint8         *record,
                                            gsize                 record_size);
void             plog_record_batch_reset   (PlogRecordBatch      *batch);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PlogRecordBatch, plog_record_batch_free)

G_END_DECLS
