/* plog-replay.c: a cursor's records read ahead on a worker thread
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "plog-cursor-private.h"
#include "plog-op-private.h"
#include "plog-record-batch-private.h"
#include "plog-replay-private.h"
#include "plog-sched-private.h"

/* A worker reads the records and checks them (CRC and structure) into
 * batches while the consumer delivers the batches before them: play() in
 * its thread, play_async() in a main context. On two cores a replay
 * through the signal ran 1.6 times as fast as in one thread.
 *
 * Who makes the ops depends on which side has more to do. When the
 * consumer only calls a function for each op, the worker copies the
 * checked records into the batch, and the consumer makes each op just
 * before it delivers it and drops it just after: each op is then freed
 * by the thread that allocated it, into memory malloc() hands straight
 * back for the next one. When the worker also made the ops there, it did
 * four fifths of the work and the consumer waited for it. When the
 * consumer emits a signal for each op, the emission costs about as much
 * as reading, checking and making the op, so the worker makes the ops
 * (@ops_ahead of plog_replay_new(); also for a language binding's
 * callback, which costs as much): delivered batches come back to it, and it
 * drops one old op for each new one it makes, again into the memory
 * malloc() reuses at once (freeing a whole batch at once, or in another
 * thread, took a third of the worker's time in the allocator).
 *
 * The queue is bounded, so a slow consumer holds the worker back rather
 * than memory growing. Each side sleeps only at an end of the queue
 * (empty for the consumer, full for the worker) and is woken only once
 * the other side has gone half way: a wake-up is a system call, and in a
 * virtual machine an exit to the hypervisor, too dear for every batch.
 * Delivered batches go back to the worker, which fills them again. */

#define BATCH_SIZE  1024        /* ops, at most */
#define BATCH_BYTES (256 * 1024) /* of records, about: large ops make
                                  * short batches, so that a replay holds
                                  * a few MiB plus one op per batch */
#define MAX_QUEUED  16          /* batches read ahead */
#define HALF_QUEUED (MAX_QUEUED / 2)

typedef enum
{
  WORKER_NONE,                  /* not started: the first batch is read
                                 * by the consumer */
  WORKER_RUNNING,
  WORKER_INLINE,                /* one processor, or no thread could be
                                 * started: the consumer reads every
                                 * batch */
} WorkerState;

struct _PlogReplay
{
  gatomicrefcount  ref_count;
  PlogCursor      *cursor;          /* (owned); the worker's once started */
  GCancellable    *cancellable;     /* (owned) (nullable) */
  gulong           cancelled_id;    /* wakes the worker on cancel */
  GSource         *wakeup;          /* (owned) (nullable) */
  GThread         *thread;          /* (owned) (nullable) */
  WorkerState      state;           /* the consumer's */
  gboolean         ops_ahead;       /* the worker makes the ops */

  GMutex           lock;
  GCond            cond;
  GQueue           queued;          /* batches read, in order */
  GQueue           spent;           /* batches delivered, to fill again */
  gboolean         finished;        /* the last batch is queued */
  GError          *error;           /* (owned) (nullable) what ended it */
  gboolean         stopped;         /* the consumer gave up */
  gboolean         consumer_waits;
  gboolean         worker_waits;
};

struct _PlogReplayBatch
{
  GPtrArray       *ops;       /* (owned) (nullable) (element-type PlogOp) */
  PlogRecordBatch *records;   /* (owned) (nullable) */
};

static PlogReplayBatch *
batch_new (gboolean ops_ahead)
{
  PlogReplayBatch *batch = g_new0 (PlogReplayBatch, 1);

  if (ops_ahead)
    batch->ops = g_ptr_array_new_full (BATCH_SIZE, (GDestroyNotify) plog_op_unref);
  else
    batch->records = plog_record_batch_new (BATCH_SIZE, BATCH_BYTES);
  return batch;
}

static void
batch_free (PlogReplayBatch *batch)
{
  g_clear_pointer (&batch->ops, g_ptr_array_unref);
  g_clear_pointer (&batch->records, plog_record_batch_free);
  g_free (batch);
}

PlogReplay *
plog_replay_ref (PlogReplay *replay)
{
  g_atomic_ref_count_inc (&replay->ref_count);
  return replay;
}

void
plog_replay_unref (PlogReplay *replay)
{
  if (!g_atomic_ref_count_dec (&replay->ref_count))
    return;
  /* Waits for a cancel handler that runs now. */
  if (replay->cancelled_id != 0)
    g_cancellable_disconnect (replay->cancellable, replay->cancelled_id);
  /* Not joined: a worker that held the last reference is exiting. */
  g_clear_pointer (&replay->thread, g_thread_unref);
  g_queue_clear_full (&replay->queued, (GDestroyNotify) batch_free);
  g_queue_clear_full (&replay->spent, (GDestroyNotify) batch_free);
  g_clear_error (&replay->error);
  g_clear_object (&replay->cursor);
  g_clear_object (&replay->cancellable);
  g_clear_pointer (&replay->wakeup, g_source_unref);
  g_mutex_clear (&replay->lock);
  g_cond_clear (&replay->cond);
  g_free (replay);
}

guint
plog_replay_batch_get_length (PlogReplayBatch *batch)
{
  return batch->ops != NULL ? batch->ops->len : batch->records->n;
}

PlogOp *
plog_replay_batch_get_op (PlogReplayBatch  *batch,
                          guint             index,
                          PlogOp          **made)
{
  *made = NULL;
  if (batch->ops != NULL)
    return batch->ops->pdata[index];
  return *made = plog_record_view_to_op (&batch->records->views[index]);
}

/* Whether @batch takes no more: a record that did not fit in its arena
 * ends it too. */
static gboolean
batch_done (PlogReplayBatch *batch,
            gsize            op_bytes)
{
  PlogRecordBatch *records = batch->records;

  if (batch->ops != NULL)
    return batch->ops->len == BATCH_SIZE || op_bytes >= BATCH_BYTES;
  return records->n == records->capacity || records->used == records->arena_size ||
         plog_record_batch_has_oversize (records);
}

/* Reads up to a batch into @spent (taken), or into a new batch; with ops
 * ahead, drops the ops of @spent meanwhile. Sets @more unless the cursor
 * is at its end or failed, or the replay was cancelled: a consumer that
 * waits for a batch sees that at once. */
static PlogReplayBatch *
read_batch (PlogReplay       *replay,
            PlogReplayBatch  *spent,
            gboolean         *more,
            GError          **error)
{
  PlogReplayBatch *batch = spent;
  g_autoptr(GPtrArray) old_ops = NULL;
  gsize op_bytes = 0;
  gboolean got = FALSE;

  if (batch == NULL)
    batch = batch_new (replay->ops_ahead);
  else if (batch->ops != NULL)
    {
      old_ops = g_steal_pointer (&batch->ops);
      batch->ops = g_ptr_array_new_full (BATCH_SIZE, (GDestroyNotify) plog_op_unref);
    }
  else
    plog_record_batch_reset (batch->records);

  while (!batch_done (batch, op_bytes))
    {
      PlogRecordView view;
      const guint8 *record;
      gsize record_size;

      if (old_ops != NULL && old_ops->len > 0)
        plog_op_unref (g_ptr_array_steal_index_fast (old_ops, old_ops->len - 1));
      if (g_cancellable_set_error_if_cancelled (replay->cancellable, error))
        {
          got = FALSE;
          break;
        }
      got = _plog_cursor_next_record (replay->cursor, &view, &record, &record_size,
                                      replay->cancellable, error);
      if (!got)
        break;
      if (batch->ops != NULL)
        {
          g_ptr_array_add (batch->ops, plog_record_view_to_op (&view));
          op_bytes += record_size;
        }
      else
        plog_record_batch_add (batch->records, &view, record, record_size);
    }
  *more = got;
  return batch;
}

/* Queues @batch (taken), and with !@more the end and @error (taken). */
static void
push (PlogReplay      *replay,
      PlogReplayBatch *batch,
      gboolean         more,
      GError          *error)
{
  g_mutex_lock (&replay->lock);
  if (plog_replay_batch_get_length (batch) > 0 && !replay->stopped)
    g_queue_push_tail (&replay->queued, g_steal_pointer (&batch));
  if (!more)
    {
      replay->finished = TRUE;
      replay->error = g_steal_pointer (&error);
    }
  if (replay->consumer_waits && (!more || replay->queued.length >= HALF_QUEUED))
    g_cond_signal (&replay->cond);
  g_mutex_unlock (&replay->lock);
  g_clear_pointer (&batch, batch_free);
  g_clear_error (&error);
  if (replay->wakeup != NULL)
    g_source_set_ready_time (replay->wakeup, 0);
}

static gpointer
worker_thread (gpointer data)
{
  PlogReplay *replay = data;
  gboolean more = TRUE;

  while (more)
    {
      PlogReplayBatch *spent, *batch;
      GError *error = NULL;

      g_mutex_lock (&replay->lock);
      while (replay->queued.length >= MAX_QUEUED && !replay->stopped &&
             !g_cancellable_is_cancelled (replay->cancellable))
        {
          replay->worker_waits = TRUE;
          g_cond_wait (&replay->cond, &replay->lock);
        }
      replay->worker_waits = FALSE;
      spent = g_queue_pop_head (&replay->spent);
      more = !replay->stopped;
      g_mutex_unlock (&replay->lock);

      if (!more)
        {
          g_clear_pointer (&spent, batch_free);
          break;
        }
      batch = read_batch (replay, spent, &more, &error);
      push (replay, batch, more, error);
    }
  plog_replay_unref (replay);
  return NULL;
}

/* Starts the worker, or falls back to reading in the consumer. */
static void
start_worker (PlogReplay *replay)
{
  g_autoptr(GError) error = NULL;

  plog_replay_ref (replay);
  replay->thread = g_thread_try_new ("plog-replay", worker_thread, replay, &error);
  if (replay->thread != NULL)
    {
      replay->state = WORKER_RUNNING;
      return;
    }
  g_debug ("Replaying in one thread: %s", error->message);
  plog_replay_unref (replay);
  replay->state = WORKER_INLINE;
}

/* In the thread that cancels: a worker waiting for room goes on, to find
 * the replay cancelled and end it, even when its consumer, in a main
 * context nobody runs, never takes another batch. */
static void
cancelled_cb (GCancellable *cancellable,
              gpointer      data)
{
  PlogReplay *replay = data;

  g_mutex_lock (&replay->lock);
  if (replay->worker_waits)
    g_cond_signal (&replay->cond);
  g_mutex_unlock (&replay->lock);
}

PlogReplay *
plog_replay_new (PlogCursor   *cursor,
                 GCancellable *cancellable,
                 GSource      *wakeup,
                 gboolean      ops_ahead)
{
  PlogReplay *replay = g_new0 (PlogReplay, 1);

  g_atomic_ref_count_init (&replay->ref_count);
  replay->cursor = g_object_ref (cursor);
  replay->cancellable = cancellable != NULL ? g_object_ref (cancellable) : NULL;
  replay->wakeup = wakeup != NULL ? g_source_ref (wakeup) : NULL;
  replay->ops_ahead = ops_ahead;
  g_mutex_init (&replay->lock);
  g_cond_init (&replay->cond);
  g_queue_init (&replay->queued);
  g_queue_init (&replay->spent);
  if (cancellable != NULL)
    replay->cancelled_id = g_cancellable_connect (cancellable, G_CALLBACK (cancelled_cb),
                                                  replay, NULL);
  return replay;
}

void
plog_replay_start (PlogReplay *replay)
{
  g_return_if_fail (replay->wakeup != NULL && replay->state == WORKER_NONE);

  /* The first batch is not read in a main context. Without a thread,
   * the consumer reads each batch as it dispatches. */
  start_worker (replay);
  if (replay->state == WORKER_INLINE)
    g_source_set_ready_time (replay->wakeup, 0);
}

PlogReplayBatch *
plog_replay_next (PlogReplay  *replay,
                  gboolean     wait,
                  gboolean    *finished,
                  GError     **error)
{
  PlogReplayBatch *batch;

  *finished = FALSE;

  /* Without a worker yet, the first batch is read here, and a worker
   * starts only when there is more; without a worker at all, every
   * batch. It is queued as the worker would, and taken below. */
  if (replay->state != WORKER_RUNNING)
    {
      PlogReplayBatch *spent = NULL;
      gboolean ended;

      g_mutex_lock (&replay->lock);
      ended = replay->finished;
      if (!ended)
        spent = g_queue_pop_head (&replay->spent);
      g_mutex_unlock (&replay->lock);

      if (!ended)
        {
          GError *local_error = NULL;
          gboolean more;

          batch = read_batch (replay, spent, &more, &local_error);
          /* Queued before a worker starts, which reads what follows. */
          push (replay, batch, more, local_error);
          /* On one processor a second thread would only take turns. */
          if (more && replay->state == WORKER_NONE)
            {
              if (plog_sched_n_cpus () > 1)
                start_worker (replay);
              else
                replay->state = WORKER_INLINE;
            }
        }
    }

  g_mutex_lock (&replay->lock);
  while (wait && replay->queued.length == 0 && !replay->finished)
    {
      replay->consumer_waits = TRUE;
      g_cond_wait (&replay->cond, &replay->lock);
    }
  replay->consumer_waits = FALSE;
  batch = g_queue_pop_head (&replay->queued);
  if (batch == NULL && replay->finished)
    {
      *finished = TRUE;
      if (replay->error != NULL)
        g_propagate_error (error, g_steal_pointer (&replay->error));
    }
  if (replay->worker_waits && replay->queued.length <= HALF_QUEUED)
    g_cond_signal (&replay->cond);
  g_mutex_unlock (&replay->lock);
  return batch;
}

void
plog_replay_spent (PlogReplay      *replay,
                   PlogReplayBatch *batch)
{
  /* A record too large for the arena goes now, not when the worker gets
   * round to this batch: the spent batches would otherwise hold up to 16
   * of them. */
  if (batch->records != NULL)
    plog_record_batch_drop_oversize (batch->records);
  g_mutex_lock (&replay->lock);
  g_queue_push_tail (&replay->spent, batch);
  g_mutex_unlock (&replay->lock);
}

void
plog_replay_stop (PlogReplay *replay,
                  gboolean    join)
{
  g_mutex_lock (&replay->lock);
  replay->stopped = TRUE;
  g_cond_signal (&replay->cond);
  g_mutex_unlock (&replay->lock);
  if (join && replay->thread != NULL)
    g_thread_join (g_steal_pointer (&replay->thread));
}
