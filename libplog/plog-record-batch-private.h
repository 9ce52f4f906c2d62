/* plog-record-batch-private.h: checked records, copied out of a reader
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "plog-record-private.h"

G_BEGIN_DECLS

/* Up to @capacity records and their parsed views, copied out of a reader
 * (a segment reader or a cursor, whose record lives only until its next
 * call) into one arena, or into a block of its own for a record that
 * does not fit there: what the compactor merges in batches, and what a
 * replay's worker hands to the thread that delivers the ops. */
typedef struct
{
  PlogRecordView  *views;      /* (owned) pointing into @records */
  const guint8   **records;    /* (owned) of pointers into @arena or
                                * @oversize */
  gsize           *sizes;      /* (owned) */
  guint            n;
  guint            capacity;
  guint8          *arena;      /* (owned) the copies of the records */
  gsize            used;       /* bytes of @arena taken */
  gsize            arena_size;
  GPtrArray       *oversize;   /* (owned) (nullable) (element-type guint8*)
                                * copies of records that did not fit in
                                * the arena */
} PlogRecordBatch;

PlogRecordBatch *plog_record_batch_new            (guint                 capacity,
                                                   gsize                 arena_size);
void             plog_record_batch_free           (PlogRecordBatch      *batch);
/* Whether adding a record of @record_size would overflow the batch or
 * its arena. */
gboolean         plog_record_batch_is_full        (PlogRecordBatch      *batch,
                                                   gsize                 record_size);
/* Whether a record had to go to a block of its own: the arena had no
 * room left for it. */
gboolean         plog_record_batch_has_oversize   (PlogRecordBatch      *batch);
/* Copies a record in; the batch must hold fewer than @capacity records.
 * A record larger than the arena's room is copied into a block of its
 * own, freed on reset or by plog_record_batch_drop_oversize(). */
void             plog_record_batch_add            (PlogRecordBatch      *batch,
                                                   const PlogRecordView *view,
                                                   const guint8         *record,
                                                   gsize                 record_size);
/* Frees the blocks of plog_record_batch_add() early, once the batch's
 * records are no longer read: their views then dangle until a reset. */
void             plog_record_batch_drop_oversize  (PlogRecordBatch      *batch);
void             plog_record_batch_reset          (PlogRecordBatch      *batch);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PlogRecordBatch, plog_record_batch_free)

G_END_DECLS
