/* plog-compactor.c: the thread that merges logs into snapshots
 *
 * One thread per logger, started on the first request, runs every
 * compaction, automatic or explicit, one at a time: it rotates the writer
 * to a fresh log (dumps go on into it), merges the raw records of the
 * closed logs below the new snapshot's number into a PlogState (a delta
 * over the newest snapshot), writes the new snapshot as a temporary file
 * in one pass over the newest one, syncs and renames it, syncs the
 * directory, and only then removes the files it covers. Requests that
 * arrive while one runs are served together by the next. The merge's
 * memory is kept for a second, for a compaction that follows at once.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include <glib/gstdio.h>

#include "plog-compactor-private.h"
#include "plog-cursor-private.h"
#include "plog-error-private.h"
#include "plog-record-batch-private.h"
#include "plog-sched-private.h"
#include "plog-state-private.h"

#define WRITE_BUFFER_SIZE (256 * 1024)
#define BATCH_BYTES       (256 * 1024)
#define WRITEBACK_CHUNK   (8 * 1024 * 1024)
#define WRITEBACK_ALIGN   (64 * 1024)   /* whole pages, whatever their size */
#define RETRY_USEC        G_TIME_SPAN_SECOND
#define SPARE_KEEP_USEC   G_TIME_SPAN_SECOND

struct _PlogCompactor
{
  PlogDirectory           *dir;          /* (owned) */
  PlogWriter              *writer;       /* (unowned): outlives us */
  PlogCompactorLandedFunc  landed;
  gpointer                 user_data;
  GDestroyNotify           destroy;

  GMutex                   lock;
  GCond                    cond;
  /* Guarded by @lock. */
  GThread                 *thread;       /* (owned) (nullable) */
  GPtrArray               *pending;      /* (owned) of GTask */
  gboolean                 running;
  gboolean                 quit;
  gint64                   retry_after;  /* no automatic run before */
  guint64                  rotated_to;   /* the log of the last rotation */
  int                      auto_requested;  /* (atomic) */

  /* Only the compactor thread touches it. */
  PlogState               *spare;        /* (owned) (nullable) the last
                                          * merge's memory, kept a while */
  gboolean                 spare_used;   /* it holds a merge: reset it */
  gint64                   spare_until;  /* when it goes, once reset */
};

typedef struct
{
  int          fd;
  const char  *path;
  guint8      *buf;
  gsize        len;
  gint64       offset;      /* the file's size so far */
  gint64       writeback;   /* where the writeback not started yet begins */
  GError     **error;
} SnapshotWriter;

static gboolean
snapshot_flush (SnapshotWriter *w,
                const guint8   *data,
                gsize           len)
{
  if (!plog_segment_write_all (w->fd, w->path, data, len, w->error))
    return FALSE;
  w->offset += len;
#ifdef HAVE_SYNC_FILE_RANGE
  /* Start the writeback as the file grows, so that the disk works while
   * the merge goes on, and the sync at the end waits only for the tail.
   * Whole pages only: a partial one would be dirtied again at once. */
  {
    gint64 end = w->offset & ~(gint64) (WRITEBACK_ALIGN - 1);

    if (end - w->writeback >= WRITEBACK_CHUNK)
      {
        sync_file_range (w->fd, w->writeback, end - w->writeback, SYNC_FILE_RANGE_WRITE);
        w->writeback = end;
      }
  }
#endif
  return TRUE;
}

static gboolean
snapshot_write_record (const guint8 *record,
                       gsize         record_size,
                       gpointer      user_data)
{
  SnapshotWriter *w = user_data;

  if (w->len + record_size > WRITE_BUFFER_SIZE)
    {
      if (!snapshot_flush (w, w->buf, w->len))
        return FALSE;
      w->len = 0;
    }
  if (record_size > WRITE_BUFFER_SIZE)
    return snapshot_flush (w, record, record_size);
  memcpy (w->buf + w->len, record, record_size);
  w->len += record_size;
  return TRUE;
}

/* What a new snapshot is made of: the base snapshot (if any) and the
 * delta of the logs since. */
typedef struct
{
  PlogState         *state;
  PlogSegmentReader *base;     /* (nullable) */
  PlogStateClass     next;     /* the first class of the delta not written */
} SnapshotSource;

/* Writes the delta's records of every class below @klass not written yet:
 * in a snapshot they come after the base's of the same class. */
static gboolean
snapshot_write_delta_below (SnapshotSource *source,
                            guint           klass,
                            SnapshotWriter *w)
{
  for (; source->next < klass; source->next++)
    {
      if (!plog_state_foreach (source->state, source->next, snapshot_write_record, w))
        return FALSE;
    }
  return TRUE;
}

/* The base's records of a batch that the delta leaves alive, with the
 * delta's records of each class before the base's of the next. */
static gboolean
snapshot_write_base_batch (SnapshotSource  *source,
                           PlogRecordBatch *batch,
                           SnapshotWriter  *w)
{
  gboolean shadowed[PLOG_STATE_BATCH];

  plog_state_shadows_batch (source->state, batch->views, batch->n, shadowed);
  for (guint i = 0; i < batch->n; i++)
    {
      if (!snapshot_write_delta_below (source, plog_state_class_of (&batch->views[i]), w) ||
          (!shadowed[i] && !snapshot_write_record (batch->records[i], batch->sizes[i], w)))
        return FALSE;
    }
  plog_record_batch_reset (batch);
  return TRUE;
}

/* The base's records come class by class, as in any snapshot; one pass
 * over it writes them with the delta's. */
static gboolean
snapshot_write_base (SnapshotSource  *source,
                     SnapshotWriter  *w,
                     GError         **error)
{
  g_autoptr(PlogSegmentReader) reader = NULL;
  g_autoptr(PlogRecordBatch) batch = NULL;
  PlogRecordView view;
  const guint8 *record;
  gsize record_size;
  GError *local_error = NULL;

  if (source->base == NULL)
    return TRUE;
  reader = plog_segment_reader_reopen (source->base, error);
  if (reader == NULL)
    return FALSE;
  batch = plog_record_batch_new (PLOG_STATE_BATCH, BATCH_BYTES);
  while (plog_segment_reader_next (reader, &view, &record, &record_size, &local_error))
    {
      if (plog_record_batch_is_full (batch, record_size) && !snapshot_write_base_batch (source, batch, w))
        return FALSE;
      if (record_size <= BATCH_BYTES)
        {
          plog_record_batch_add (batch, &view, record, record_size);
          continue;
        }
      if (!snapshot_write_delta_below (source, plog_state_class_of (&view), w) ||
          (!plog_state_shadows (source->state, &view) &&
           !snapshot_write_record (record, record_size, w)))
        return FALSE;
    }
  if (local_error != NULL)
    {
      g_propagate_error (error, local_error);
      return FALSE;
    }
  return snapshot_write_base_batch (source, batch, w);
}

/* The global configuration first, then those of keys, then values; each
 * the base's, then the delta's. */
static gboolean
snapshot_write (int          fd,
                const char  *path,
                gpointer     user_data,
                GError     **error)
{
  SnapshotSource *source = user_data;
  g_autofree guint8 *buf = NULL;
  SnapshotWriter w = { fd, path, NULL, 0, PLOG_SEGMENT_HEADER_SIZE, 0, error };

  if (source == NULL)
    return TRUE;
  buf = w.buf = g_malloc (WRITE_BUFFER_SIZE);
  source->next = PLOG_STATE_GLOBAL_CONFIGURATION;
  if (!snapshot_write_base (source, &w, error) ||
      !snapshot_write_delta_below (source, PLOG_STATE_VALUES + 1, &w))
    return FALSE;
  return snapshot_flush (&w, w.buf, w.len);
}

static void
batch_apply (PlogRecordBatch *batch,
             PlogState       *state)
{
  plog_state_apply_batch (state, batch->views, batch->records, batch->sizes, batch->n);
  plog_record_batch_reset (batch);
}

/* One compaction, with the changes lock held. */
static gboolean
compact_locked (PlogCompactor  *compactor,
                gboolean       *landed,
                GCancellable   *cancellable,
                GError        **error)
{
  g_autoptr(PlogCursor) cursor = NULL;
  PlogState *state;
  g_autoptr(PlogSegmentReader) base = NULL;
  SnapshotSource source = { NULL, NULL, PLOG_STATE_GLOBAL_CONFIGURATION };
  PlogRecordView view;
  const guint8 *record;
  gsize record_size;
  GError *local_error = NULL;
  gboolean rotated = FALSE;
  g_autoptr(PlogRecordBatch) batch = NULL;
  guint64 seq;
  gint64 start = g_get_monotonic_time (), rotated_at, merged_at;

  /* Rotate, so that every log below the new snapshot is closed. */
  seq = plog_directory_alloc_seq (compactor->dir, 2);
  if (!plog_writer_rotate (compactor->writer, seq + 1, &rotated, error))
    return FALSE;
  g_mutex_lock (&compactor->lock);
  compactor->rotated_to = seq + 1;
  g_cond_broadcast (&compactor->cond);
  g_mutex_unlock (&compactor->lock);
  rotated_at = g_get_monotonic_time ();

  /* A log that no writer appends to may end in a torn tail. */
  cursor = _plog_cursor_open (compactor->dir, NULL, seq, !rotated, error);
  if (cursor == NULL)
    return FALSE;
  source.base = base = _plog_cursor_take_base (cursor);
  if (_plog_cursor_get_n_files (cursor) == 0)
    return TRUE;   /* no log: nothing to merge */

  /* Only the logs are merged; the base is streamed through at the end. */
  /* The merge's memory stays with the compactor: the last merge's, if it
   * is still kept, is used again. */
  if (compactor->spare == NULL)
    compactor->spare = plog_state_new ();
  else if (compactor->spare_used)
    plog_state_reset (compactor->spare);
  compactor->spare_used = TRUE;
  source.state = state = compactor->spare;
  batch = plog_record_batch_new (PLOG_STATE_BATCH, BATCH_BYTES);
  while (_plog_cursor_next_record (cursor, &view, &record, &record_size, cancellable, &local_error))
    {
      if (plog_record_batch_is_full (batch, record_size))
        batch_apply (batch, state);
      if (record_size <= BATCH_BYTES)
        plog_record_batch_add (batch, &view, record, record_size);
      else
        plog_state_apply (state, &view, record, record_size);
    }
  batch_apply (batch, state);
  g_clear_pointer (&batch, plog_record_batch_free);
  if (local_error != NULL)
    {
      g_propagate_error (error, local_error);
      return FALSE;
    }
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;
  merged_at = g_get_monotonic_time ();

  if (!plog_directory_install_snapshot (compactor->dir, seq, snapshot_write, &source, error))
    return FALSE;
  *landed = TRUE;
  g_debug ("Snapshot %" G_GUINT64_FORMAT " from %s%u logs: "
           "rotation %.1f ms, merge %.1f ms, writing %.1f ms",
           seq, source.base != NULL ? "a snapshot and " : "", _plog_cursor_get_n_files (cursor),
           (rotated_at - start) / 1000.0, (merged_at - rotated_at) / 1000.0,
           (g_get_monotonic_time () - merged_at) / 1000.0);

  plog_directory_lock_files (compactor->dir);
  if (!plog_directory_remove_below (compactor->dir, seq, error))
    {
      plog_directory_unlock_files (compactor->dir);
      return FALSE;
    }
  plog_directory_unlock_files (compactor->dir);
  return TRUE;
}

typedef struct
{
  GTask  *task;   /* (owned) */
  GError *error;  /* (owned) (nullable) */
} TaskReturn;

static gboolean
return_task_cb (gpointer data)
{
  TaskReturn *ret = data;

  if (ret->error != NULL)
    g_task_return_error (ret->task, g_steal_pointer (&ret->error));
  else
    g_task_return_boolean (ret->task, TRUE);
  return G_SOURCE_REMOVE;
}

static void
task_return_free (gpointer data)
{
  TaskReturn *ret = data;

  g_clear_error (&ret->error);
  g_object_unref (ret->task);
  g_free (ret);
}

/* Returns @task, taking our reference, from a source in the task's own
 * context. There GTask runs the callback at once, and our reference goes
 * at the end of the same dispatch: so the last reference to the logger
 * is never dropped on this thread, and once the callback has run nothing
 * holds the logger any more, and its directory may be opened again at
 * once. (Returning from this thread and dropping the reference from an
 * idle of our own left a window between the two in which the callback
 * could run first.) */
static void
return_task (GTask  *task,
             GError *error)
{
  g_autoptr(GSource) source = g_idle_source_new ();
  TaskReturn *ret = g_new0 (TaskReturn, 1);

  ret->task = task;
  ret->error = error != NULL ? g_error_copy (error) : NULL;
  g_source_set_static_name (source, "[plog] compaction done");
  g_source_set_priority (source, g_task_get_priority (task));
  g_source_set_callback (source, return_task_cb, ret, task_return_free);
  g_source_attach (source, g_task_get_context (task));
}

static gpointer
compactor_thread (gpointer data)
{
  PlogCompactor *compactor = data;

  /* A merge is CPU-bound background work: it must not preempt a thread
   * that wakes to dump on a main loop, yet keep its share of the CPU,
   * which it needs to keep up with a dumping thread. */
  plog_sched_set_class (PLOG_SCHED_BATCH);

  g_mutex_lock (&compactor->lock);
  for (;;)
    {
      g_autoptr(GPtrArray) tasks = NULL;
      g_autoptr(GError) error = NULL;
      GCancellable *cancellable = NULL;
      gboolean automatic;
      gboolean landed = FALSE;
      gboolean ok;
      gint64 deadline;

      automatic = g_atomic_int_get (&compactor->auto_requested) &&
                  g_get_monotonic_time () >= compactor->retry_after;
      if (compactor->quit)
        break;
      if (!automatic && compactor->pending->len == 0)
        {
          compactor->running = FALSE;
          g_cond_broadcast (&compactor->cond);
          /* Keep the merge's memory for a compaction that follows soon,
           * emptied now rather than in its way; give it back once none
           * has come for a while. Neither under the lock: a large merge
           * takes milliseconds to empty or unmap, and dumps take the
           * lock to request a compaction. */
          if (compactor->spare_used)
            {
              g_mutex_unlock (&compactor->lock);
              plog_state_reset (compactor->spare);
              g_mutex_lock (&compactor->lock);
              compactor->spare_used = FALSE;
              compactor->spare_until = g_get_monotonic_time () + SPARE_KEEP_USEC;
              continue;
            }
          if (compactor->spare != NULL && g_get_monotonic_time () >= compactor->spare_until)
            {
              PlogState *spare = g_steal_pointer (&compactor->spare);

              g_mutex_unlock (&compactor->lock);
              plog_state_free (spare);
              g_mutex_lock (&compactor->lock);
              continue;
            }
          deadline = G_MAXINT64;
          if (g_atomic_int_get (&compactor->auto_requested))
            deadline = compactor->retry_after;
          if (compactor->spare != NULL)
            deadline = MIN (deadline, compactor->spare_until);
          if (deadline == G_MAXINT64)
            g_cond_wait (&compactor->cond, &compactor->lock);
          else
            g_cond_wait_until (&compactor->cond, &compactor->lock, deadline);
          continue;
        }

      compactor->running = TRUE;
      tasks = g_steal_pointer (&compactor->pending);
      compactor->pending = g_ptr_array_new ();
      g_atomic_int_set (&compactor->auto_requested, FALSE);
      g_mutex_unlock (&compactor->lock);

      /* A lone explicit request may be cancelled mid-merge; a shared
       * merge runs to the end for the others. */
      if (tasks->len == 1 && !automatic)
        cancellable = g_task_get_cancellable (tasks->pdata[0]);

      plog_directory_lock_changes (compactor->dir);
      ok = compact_locked (compactor, &landed, cancellable, &error);
      plog_directory_unlock_changes (compactor->dir);

      /* A snapshot that landed counts even when tidying up failed. */
      if (landed)
        compactor->landed (compactor->user_data);
      if (!ok)
        {
          g_debug ("Compaction failed: %s", error->message);
          /* Perhaps for want of room: the blocks reserved for the
           * current log go back before anyone tries again. */
          if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
            plog_writer_release_reserved (compactor->writer);
        }

      for (guint i = 0; i < tasks->len; i++)
        return_task (tasks->pdata[i], error);

      g_mutex_lock (&compactor->lock);
      if (!ok && automatic)
        compactor->retry_after = g_get_monotonic_time () + RETRY_USEC;
    }
  compactor->running = FALSE;
  g_cond_broadcast (&compactor->cond);
  g_mutex_unlock (&compactor->lock);
  g_clear_pointer (&compactor->spare, plog_state_free);
  return NULL;
}

PlogCompactor *
plog_compactor_new (PlogDirectory           *dir,
                    PlogWriter              *writer,
                    PlogCompactorLandedFunc  landed,
                    gpointer                 user_data,
                    GDestroyNotify           destroy)
{
  PlogCompactor *compactor = g_new0 (PlogCompactor, 1);

  compactor->dir = plog_directory_ref (dir);
  compactor->writer = writer;
  compactor->landed = landed;
  compactor->user_data = user_data;
  compactor->destroy = destroy;
  g_mutex_init (&compactor->lock);
  g_cond_init (&compactor->cond);
  compactor->pending = g_ptr_array_new ();
  return compactor;
}

/* A request that comes, or is left, once the logger is closed; takes
 * a reference to @task. */
static void
fail_closed (PlogCompactor *compactor,
             GTask         *task)
{
  g_autoptr(GError) error = NULL;

  plog_set_closed_error (&error, plog_directory_get_path (compactor->dir));
  return_task (task, error);
}

void
plog_compactor_shutdown (PlogCompactor *compactor)
{
  g_autoptr(GPtrArray) pending = NULL;
  GThread *thread;

  g_mutex_lock (&compactor->lock);
  compactor->quit = TRUE;
  g_cond_broadcast (&compactor->cond);
  thread = g_steal_pointer (&compactor->thread);
  g_mutex_unlock (&compactor->lock);
  if (thread != NULL)
    g_thread_join (thread);

  /* Only a close (plog_logger_close() or g_object_run_dispose()) can
   * leave requests behind: each holds the logger. */
  g_mutex_lock (&compactor->lock);
  pending = g_steal_pointer (&compactor->pending);
  compactor->pending = g_ptr_array_new ();
  g_mutex_unlock (&compactor->lock);
  for (guint i = 0; i < pending->len; i++)
    fail_closed (compactor, pending->pdata[i]);
}

void
plog_compactor_free (PlogCompactor *compactor)
{
  if (compactor == NULL)
    return;
  plog_compactor_shutdown (compactor);
  g_ptr_array_unref (compactor->pending);
  if (compactor->destroy != NULL)
    compactor->destroy (compactor->user_data);
  g_mutex_clear (&compactor->lock);
  g_cond_clear (&compactor->cond);
  plog_directory_unref (compactor->dir);
  g_free (compactor);
}

/* With the lock held. */
static void
wake_locked (PlogCompactor *compactor)
{
  if (compactor->thread == NULL)
    compactor->thread = g_thread_new ("plog-compactor", compactor_thread, compactor);
  compactor->running = TRUE;
  g_cond_broadcast (&compactor->cond);
}

void
plog_compactor_request (PlogCompactor *compactor,
                        GTask         *task)
{
  gboolean quit;

  g_mutex_lock (&compactor->lock);
  quit = compactor->quit;
  if (!quit)
    {
      g_ptr_array_add (compactor->pending, g_object_ref (task));
      wake_locked (compactor);
    }
  g_mutex_unlock (&compactor->lock);
  if (quit)
    fail_closed (compactor, g_object_ref (task));
}

void
plog_compactor_request_auto (PlogCompactor *compactor)
{
  if (g_atomic_int_get (&compactor->auto_requested))
    return;
  g_mutex_lock (&compactor->lock);
  if (!g_atomic_int_get (&compactor->auto_requested) && !compactor->quit)
    {
      g_atomic_int_set (&compactor->auto_requested, TRUE);
      wake_locked (compactor);
    }
  g_mutex_unlock (&compactor->lock);
}

void
plog_compactor_throttle (PlogCompactor *compactor,
                         guint64        log_seq)
{
  /* Not merely until the next change of state: the log is swapped before
   * the rotation returns, and a dumper woken by anything else would
   * append to the log it waits on. */
  g_mutex_lock (&compactor->lock);
  while (compactor->running && !compactor->quit && compactor->rotated_to <= log_seq)
    g_cond_wait (&compactor->cond, &compactor->lock);
  g_mutex_unlock (&compactor->lock);
}

void
plog_compactor_wait_idle (PlogCompactor *compactor)
{
  g_mutex_lock (&compactor->lock);
  /* A pending automatic compaction that waits for a retry is dropped;
   * one that is due counts as running. */
  if (g_get_monotonic_time () < compactor->retry_after)
    g_atomic_int_set (&compactor->auto_requested, FALSE);
  while (compactor->running ||
         (g_atomic_int_get (&compactor->auto_requested) && compactor->thread != NULL))
    {
      g_cond_broadcast (&compactor->cond);
      g_cond_wait (&compactor->cond, &compactor->lock);
    }
  g_mutex_unlock (&compactor->lock);
}

gboolean
plog_compactor_clear (PlogCompactor  *compactor,
                      gboolean       *stopped,
                      GError        **error)
{
  PlogDirectory *dir = compactor->dir;
  g_autofree char *snapshot_path = NULL;
  gboolean rotated = FALSE;
  guint64 seq;

  *stopped = FALSE;
  plog_directory_lock_changes (dir);

  /* An empty snapshot above every file makes the clear durable at once;
   * a crash after it replays an empty state, before it the old one. */
  seq = plog_directory_alloc_seq (dir, 2);
  if (!plog_directory_install_snapshot (dir, seq, snapshot_write, NULL, error))
    {
      plog_directory_unlock_changes (dir);
      return FALSE;
    }
  snapshot_path = plog_directory_file_path (dir, seq, PLOG_SEGMENT_SNAPSHOT);
  if (!plog_writer_rotate (compactor->writer, seq + 1, &rotated, error))
    {
      /* The writer still appends below the snapshot: take it back. When
       * even that fails, stop the writer rather than let it append ops
       * that the snapshot hides. */
      if (g_unlink (snapshot_path) != 0 || !plog_directory_sync (dir, NULL))
        {
          plog_writer_close (compactor->writer, TRUE, NULL);
          *stopped = TRUE;
        }
      plog_directory_unlock_changes (dir);
      return FALSE;
    }

  /* The clear has taken effect; the rest is tidying, which the next open
   * finishes if it fails here. */
  plog_directory_lock_files (dir);
  /* The removals are durable before the snapshot that covers them goes. */
  if (plog_directory_remove_below (dir, seq, NULL) &&
      plog_directory_sync (dir, NULL) &&
      g_unlink (snapshot_path) == 0)
    plog_directory_sync (dir, NULL);
  plog_directory_unlock_files (dir);
  plog_directory_unlock_changes (dir);
  return TRUE;
}
