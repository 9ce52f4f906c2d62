/* plog-replay.c: a cursor's ops decoded ahead, on a worker thread
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "plog-cursor-private.h"
#include "plog-record-batch-private.h"
#include "plog-replay-private.h"
#include "plog-sched-private.h"

/* A worker reads the records and checks them (CRC and structure) into
 * batches while the consumer turns the batches before them into ops and
 * delivers them: play() in its thread, play_async() in a main context.
 * On two cores a replay through the signal ran 1.6 times as fast as in
 * one thread.
 *
 * The worker copies the checked records out of the reader into the
 * batch; the consumer makes each op from its record just before it
 * delivers it, and drops it just after. So each op is allocated and
 * freed by the same thread, into memory malloc() hands straight back for
 * the next one, and the work is shared about evenly: when the worker also
 * made the ops, it did four fifths of the work and the consumer waited.
 *
 * The queue is bounded, so a slow consumer holds the worker back rather
 * than memory growing. Each side sleeps only at an end of the queue
 * (empty for the consumer, full for the worker) and is woken only once
 * the other side has gone half way: a wake-up is a system call, and in a
 * virtual machine an exit to the hypervisor, too dear for every batch.
 * Delivered batches go back to the worker, which fills them again. */

#define BATCH_SIZE  1024        /* records, at most */
#define BATCH_BYTES (256 * 1024) /* of records: large ops make short
                                  * batches, so that a replay holds a few
                                  * MiB whatever their size */
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

  GMutex           lock;
  GCond            cond;
  GQueue           queued;          /* batches read, in order */
  GQueue           spent;           /* batches delivered, to drop */
  gboolean         finished;        /* the last batch is queued */
  GError          *error;           /* (owned) (nullable) what ended it */
  gboolean         stopped;         /* the consumer gave up */
  gboolean         consumer_waits;
  gboolean         worker_waits;
};

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
  g_queue_clear_full (&replay->queued, (GDestroyNotify) plog_record_batch_free);
  g_queue_clear_full (&replay->spent, (GDestroyNotify) plog_record_batch_free);
  g_clear_error (&replay->error);
  g_clear_object (&replay->cursor);
  g_clear_object (&replay->cancellable);
  g_clear_pointer (&replay->wakeup, g_source_unref);
  g_mutex_clear (&replay->lock);
  g_cond_clear (&replay->cond);
  g_free (replay);
}

/* Whether @batch takes no more records: a record that did not fit in its
 * arena ends it too. */
static gboolean
batch_done (PlogRecordBatch *batch)
{
  return batch->n == batch->capacity || batch->used == batch->arena_size ||
         (batch->oversize != NULL && batch->oversize->len > 0);
}

/* Reads up to a batch of records into @spent (taken), or into a new batch.
 * Sets @more unless the cursor is at its end or failed, or the replay was
 * cancelled: a consumer that waits for a batch sees that at once. */
static PlogRecordBatch *
read_batch (PlogReplay       *replay,
            PlogRecordBatch  *spent,
            gboolean         *more,
            GError          **error)
{
  PlogRecordBatch *batch = spent;
  PlogRecordView view;
  const guint8 *record;
  gsize record_size;
  gboolean got = FALSE;

  if (batch != NULL)
    plog_record_batch_reset (batch);
  else
    batch = plog_record_batch_new (BATCH_SIZE, BATCH_BYTES);
  while (!batch_done (batch))
    {
      if (g_cancellable_set_error_if_cancelled (replay->cancellable, error))
        {
          got = FALSE;
          break;
        }
      got = _plog_cursor_next_record (replay->cursor, &view, &record, &record_size,
                                      replay->cancellable, error);
      if (!got)
        break;
      plog_record_batch_add (batch, &view, record, record_size);
    }
  *more = got;
  return batch;
}

/* Queues @batch (taken), and with !@more the end and @error (taken). */
static void
push (PlogReplay      *replay,
      PlogRecordBatch *batch,
      gboolean         more,
      GError          *error)
{
  g_mutex_lock (&replay->lock);
  if (batch->n > 0 && !replay->stopped)
    g_queue_push_tail (&replay->queued, g_steal_pointer (&batch));
  if (!more)
    {
      replay->finished = TRUE;
      replay->error = g_steal_pointer (&error);
    }
  if (replay->consumer_waits && (!more || replay->queued.length >= HALF_QUEUED))
    g_cond_signal (&replay->cond);
  g_mutex_unlock (&replay->lock);
  g_clear_pointer (&batch, plog_record_batch_free);
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
      PlogRecordBatch *spent, *batch;
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
          g_clear_pointer (&spent, plog_record_batch_free);
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
                 GSource      *wakeup)
{
  PlogReplay *replay = g_new0 (PlogReplay, 1);

  g_atomic_ref_count_init (&replay->ref_count);
  replay->cursor = g_object_ref (cursor);
  replay->cancellable = cancellable != NULL ? g_object_ref (cancellable) : NULL;
  replay->wakeup = wakeup != NULL ? g_source_ref (wakeup) : NULL;
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

PlogRecordBatch *
plog_replay_next (PlogReplay  *replay,
                  gboolean     wait,
                  gboolean    *finished,
                  GError     **error)
{
  PlogRecordBatch *batch;

  *finished = FALSE;

  /* Without a worker yet, the first batch is read here, and a worker
   * starts only when there is more; without a worker at all, every
   * batch. It is queued as the worker would, and taken below. */
  if (replay->state != WORKER_RUNNING)
    {
      PlogRecordBatch *spent = NULL;
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
                   PlogRecordBatch *batch)
{
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
