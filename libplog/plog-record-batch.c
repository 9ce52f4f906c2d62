/* plog-record-batch.c: checked records, copied out of a reader
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "plog-record-batch-private.h"

PlogRecordBatch *
plog_record_batch_new (guint capacity,
                       gsize arena_size)
{
  PlogRecordBatch *batch = g_new0 (PlogRecordBatch, 1);

  batch->capacity = capacity;
  batch->views = g_new (PlogRecordView, capacity);
  batch->records = g_new (const guint8 *, capacity);
  batch->sizes = g_new (gsize, capacity);
  batch->arena_size = arena_size;
  batch->arena = g_malloc (arena_size);
  return batch;
}

void
plog_record_batch_free (PlogRecordBatch *batch)
{
  g_clear_pointer (&batch->oversize, g_ptr_array_unref);
  g_free (batch->arena);
  g_free (batch->sizes);
  g_free (batch->records);
  g_free (batch->views);
  g_free (batch);
}

gboolean
plog_record_batch_is_full (PlogRecordBatch *batch,
                           gsize            record_size)
{
  return batch->n == batch->capacity || batch->used + record_size > batch->arena_size;
}

gboolean
plog_record_batch_has_oversize (PlogRecordBatch *batch)
{
  return batch->oversize != NULL && batch->oversize->len > 0;
}

void
plog_record_batch_add (PlogRecordBatch      *batch,
                       const PlogRecordView *view,
                       const guint8         *record,
                       gsize                 record_size)
{
  guint8 *copy;

  g_assert (batch->n < batch->capacity);

  if (batch->used + record_size <= batch->arena_size)
    {
      copy = batch->arena + batch->used;
      batch->used += record_size;
    }
  else
    {
      if (batch->oversize == NULL)
        batch->oversize = g_ptr_array_new_with_free_func (g_free);
      copy = g_malloc (record_size);
      g_ptr_array_add (batch->oversize, copy);
    }
  memcpy (copy, record, record_size);
  batch->views[batch->n] = *view;
  plog_record_view_rebase (&batch->views[batch->n], record, copy);
  batch->records[batch->n] = copy;
  batch->sizes[batch->n] = record_size;
  batch->n++;
}

void
plog_record_batch_drop_oversize (PlogRecordBatch *batch)
{
  if (batch->oversize != NULL)
    g_ptr_array_set_size (batch->oversize, 0);
}

void
plog_record_batch_reset (PlogRecordBatch *batch)
{
  batch->n = 0;
  batch->used = 0;
  plog_record_batch_drop_oversize (batch);
}
