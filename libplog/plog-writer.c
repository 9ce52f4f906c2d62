/* plog-writer.c: appending ops to the current log
 *
 * One mutex guards the writer. A dump encodes its record into a 256 KiB
 * buffer under it and returns: it never makes a system call. A full
 * buffer is queued, and the writer thread hands the queue to the kernel
 * in order, one write(2) per buffer, without the lock: a write(2) to a
 * file that is being synced can block for milliseconds, and a dump on a
 * GTK main loop must not. Only when 4 MiB wait for the kernel does a dump
 * wait too. Positions are counted in one byte stream across logs:
 * @appended bytes were dumped, @written handed to the kernel, @durable
 * are on disk.
 *
 * Under PLOG_SYNC_MODE_ALWAYS a dump waits until @durable passes its
 * record. The first waiter becomes the leader: it lets the group gather
 * for a few microseconds, writes what is queued, drops the lock and
 * fdatasync()s once for everyone who appended before it (group commit).
 * The others wait on a word without the lock, so that each dumper the
 * sync served returns at once instead of queueing for the lock.
 *
 * The syncer thread queues the current buffer every 200 ms, so that a
 * crash of the process loses at most that much in every mode, starts the
 * kernel's writeback of what it holds, and under PLOG_SYNC_MODE_PERIODIC
 * fdatasync()s about once a second. Neither thread needs the
 * application's main loop.
 *
 * Rotation never syncs under the lock: it syncs the bulk of the closed
 * log, swaps in the new log (created under a temporary name) once all
 * that was dumped is written, syncs the rest of the closed log, and only
 * then renames the new log into place.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>
#ifdef __linux__
# include <linux/magic.h>
# include <sys/vfs.h>
#endif

#include <glib/gstdio.h>

#include "plog-error-private.h"
#include "plog-futex-private.h"
#include "plog-record-private.h"
#include "plog-sched-private.h"
#include "plog-segment-private.h"
#include "plog-writer-private.h"

#define BUFFER_SIZE          (256 * 1024)
#define MAX_BUFFERS          16         /* 4 MiB of buffers at most */
#define TICK_USEC            (200 * G_TIME_SPAN_MILLISECOND)
#define SYNC_INTERVAL_USEC   (G_TIME_SPAN_SECOND)
#define GATHER_USEC          300
#define WRITEBACK_CHUNK      (1024 * 1024)
#define KICK_BATCH           4
#define RESERVE_MIN          (1024 * 1024)
#define RESERVE_MAX          (G_GINT64_CONSTANT (1024) * 1024 * 1024)

typedef struct
{
  gsize   len;
  gsize   capacity;
  guint8  data[];
} Buffer;

struct _PlogWriter
{
  PlogDirectory *dir;            /* (owned) */
  GMutex         lock;
  GCond          cond;           /* a state below changed */
  GCond          append_cond;    /* a dumper waits for durability */
  GCond          tick_cond;      /* wakes the syncer thread */
  GCond          drain_cond;     /* wakes the writer thread */

  /* Everything below is guarded by @lock. */
  gboolean       open;
  gboolean       broken;         /* a failed write could not be undone, or
                                  * a sync failed */
  gboolean       installed;      /* the current log has its name: the one
                                  * before it is durable */
  gboolean       dir_synced;     /* the current log's name is durable */
  PlogSyncMode   sync_mode;
  int            fd;
  char          *path;           /* (owned) (nullable) */
  guint64        seq;
  gint64         file_size;      /* bytes of the log in the kernel */
  gint64         writeback;      /* bytes of the log whose writeback started */
  gint64         max_size;       /* (atomic) the logger's max-size */
  gint64         last_size;      /* (atomic) what the last log reached */

  Buffer        *cur;            /* (owned) (nullable) being filled */
  GQueue         full;           /* (owned) of Buffer, waiting for write(2) */
  GPtrArray     *spare;          /* (owned) of Buffer, for reuse */
  guint          n_buffers;      /* BUFFER_SIZE buffers in use or spare */
  gboolean       io_active;      /* a thread writes the head of @full
                                  * without the lock */
  gboolean       drainer_idle;   /* the writer thread waits for work */
  GError        *io_error;       /* (owned) (nullable) the last write that
                                  * failed; dumps fail until one succeeds */
  GError        *broken_cause;   /* (owned) (nullable) what broke it */

  guint64        appended;
  guint64        written;
  guint64        durable;        /* also read without the lock */
  gboolean       syncing;        /* a leader syncs the current log without
                                  * the lock: it is not swapped or closed */
  gboolean       rotating;       /* a rotation is under way: one at a time,
                                  * and the writer is not closed meanwhile */
  gboolean       closing;        /* a close is under way: rotations wait,
                                  * dumps fail */
  gint           session;        /* (atomic) counts the closes that dropped
                                  * records: a dumper waiting for durability
                                  * across one fails */
  guint          cond_waiters;   /* threads in writer_wait() */
  guint          group;          /* ALWAYS dumps the next sync will serve */
  gboolean       gathering;      /* a leader waits on @append_cond */
  guint          last_group;     /* how many the recent syncs served */
  gint           state_gen;      /* (atomic) changes with every state
                                  * above; dumpers wait on it unlocked */
  gint           gen_waiters;    /* (atomic) threads waiting on @state_gen */

  GThread       *drainer;        /* (owned) (nullable) */
  GThread       *syncer;         /* (owned) (nullable) */
  gboolean       quit;
};

/* GCond wakes with a system call even when nobody waits; a dump under
 * ALWAYS would pay two per op. Count the waiters instead. */
static void
writer_wait (PlogWriter *writer)
{
  writer->cond_waiters++;
  g_cond_wait (&writer->cond, &writer->lock);
  writer->cond_waiters--;
}

/* Wakes the threads in writer_wait() only. */
static void
writer_wake_cond (PlogWriter *writer)
{
  if (writer->cond_waiters > 0)
    g_cond_broadcast (&writer->cond);
}

/* Wakes every waiter: those in writer_wait() and the dumpers waiting
 * for durability without the lock (wait_unlocked()). */
static void
writer_wake (PlogWriter *writer)
{
  writer_wake_cond (writer);
  g_atomic_int_inc (&writer->state_gen);
  if (g_atomic_int_get (&writer->gen_waiters) > 0)
    plog_futex_wake_all (&writer->state_gen);
}

/* Waits for the next writer_wake() without the lock. Returns TRUE with
 * the lock released when @target became durable in @session meanwhile,
 * FALSE with the lock held again otherwise. Called with the lock held. */
static gboolean
wait_unlocked (PlogWriter *writer,
               guint64     target,
               gint        session)
{
  gint gen = g_atomic_int_get (&writer->state_gen);

  g_atomic_int_inc (&writer->gen_waiters);
  g_mutex_unlock (&writer->lock);
  plog_futex_wait (&writer->state_gen, gen);
  g_atomic_int_add (&writer->gen_waiters, -1);

  /* A close bumps @session before it sets @durable. */
  if (__atomic_load_n (&writer->durable, __ATOMIC_ACQUIRE) >= target &&
      g_atomic_int_get (&writer->session) == session)
    return TRUE;
  g_mutex_lock (&writer->lock);
  return FALSE;
}

/* @durable is read without the lock by wait_unlocked(). */
static void
set_durable_locked (PlogWriter *writer,
                    guint64     durable)
{
  __atomic_store_n (&writer->durable, durable, __ATOMIC_RELEASE);
}

static gboolean
not_recording (PlogWriter  *writer,
               GError     **error)
{
  return plog_set_not_recording_error (error, plog_directory_get_path (writer->dir));
}

/* After a failed fdatasync() the kernel may have dropped the pages it
 * could not write, and a second fdatasync() would succeed without them:
 * the log can no longer promise durability, so the writer refuses more. */
static gboolean
broken_error (PlogWriter  *writer,
              GError     **error)
{
  g_autofree char *display = g_filename_display_name (writer->path);

  g_set_error (error, PLOG_ERROR, PLOG_ERROR_IO,
               "Log file “%s” failed to be written, synced or named earlier (%s), so the "
               "ops dumped since its last sync may be lost; stop the logger and record again",
               display,
               writer->broken_cause != NULL ? writer->broken_cause->message : "unknown error");
  return FALSE;
}

/* Marks the writer broken by @cause (nullable): dumps fail from now on,
 * saying why. */
static void
break_locked (PlogWriter   *writer,
              const GError *cause)
{
  writer->broken = TRUE;
  if (writer->broken_cause == NULL && cause != NULL)
    writer->broken_cause = g_error_copy (cause);
}

static Buffer *
buffer_new (gsize capacity)
{
  Buffer *b = g_malloc (sizeof (Buffer) + capacity);

  b->len = 0;
  b->capacity = capacity;
  return b;
}

static void
buffer_release_locked (PlogWriter *writer,
                       Buffer     *b)
{
  if (b->capacity == BUFFER_SIZE)
    {
      b->len = 0;
      g_ptr_array_add (writer->spare, b);
    }
  else
    g_free (b);
}

/* Queues the current buffer. Returns whether the writer thread waits for
 * work and KICK_BATCH buffers are queued, so that it must be woken
 * (kick_drainer()) unless the caller writes the buffers itself. Waking
 * it costs a system call, and on a virtual machine an exit to the
 * hypervisor: it writes a few buffers a wake-up, and the syncer's tick
 * wakes it for fewer. */
static gboolean
seal_locked (PlogWriter *writer)
{
  if (writer->cur == NULL || writer->cur->len == 0)
    return FALSE;
  g_queue_push_tail (&writer->full, g_steal_pointer (&writer->cur));
  return writer->drainer_idle && g_queue_get_length (&writer->full) >= KICK_BATCH;
}

/* Wakes the writer thread. A dump calls it after releasing the lock when
 * it can, so that the woken thread does not find the lock taken and
 * sleep again. */
static void
kick_drainer (PlogWriter *writer)
{
  g_cond_signal (&writer->drain_cond);
}

/* Wakes the writer thread if it waits while buffers are queued. */
static void
kick_idle_drainer_locked (PlogWriter *writer)
{
  if (writer->drainer_idle && !g_queue_is_empty (&writer->full))
    kick_drainer (writer);
}

/* Writes the oldest queued buffer without the lock. A failed write is
 * cut away again, so that the log never holds a partial record followed
 * by a good one, and the buffer stays queued for the next try. Called
 * and returns with the lock held, and @full not empty. */
static gboolean
write_head_locked (PlogWriter  *writer,
                   GError     **error)
{
  Buffer *b = g_queue_peek_head (&writer->full);
  g_autofree char *path = g_strdup (writer->path);
  GError *local_error = NULL;
  gint64 size = writer->file_size;
  int fd = writer->fd;
  gboolean ok, cut;

  writer->io_active = TRUE;
  g_mutex_unlock (&writer->lock);
  ok = plog_segment_write_all (fd, path, b->data, b->len, &local_error);
  cut = ok || plog_segment_truncate (fd, path, size, NULL);
  g_mutex_lock (&writer->lock);
  writer->io_active = FALSE;

  if (!ok)
    {
      if (!cut)
        break_locked (writer, local_error);
      g_clear_error (&writer->io_error);
      writer->io_error = g_error_copy (local_error);
      g_propagate_error (error, local_error);
      writer_wake (writer);
      return FALSE;
    }

  g_queue_pop_head (&writer->full);
  writer->file_size += b->len;
  writer->written += b->len;
  buffer_release_locked (writer, b);
  g_clear_error (&writer->io_error);
  /* Nothing that a dumper waits for without the lock has changed. */
  writer_wake_cond (writer);
  /* The writer thread may have been woken for a buffer while this thread
   * wrote, and gone back to sleep. */
  kick_idle_drainer_locked (writer);
  return TRUE;
}

/* Hands everything appended up to @target to the kernel, writing from
 * this thread when the writer thread is not at it already. */
static gboolean
drain_to_locked (PlogWriter  *writer,
                 guint64      target,
                 GError     **error)
{
  while (writer->written < target)
    {
      if (writer->broken)
        return broken_error (writer, error);
      if (writer->io_active)
        {
          writer_wait (writer);
          continue;
        }
      /* A group-commit leader writes the buffer itself: waking the writer
       * thread for it would only add a context switch to every sync. */
      if (g_queue_is_empty (&writer->full))
        seal_locked (writer);
      /* A close that dropped what it could not write ended the stream. */
      if (!writer->open || g_queue_is_empty (&writer->full))
        return not_recording (writer, error);
      if (!write_head_locked (writer, error))
        return FALSE;
    }
  return TRUE;
}

/* Waits until @target bytes are durable, syncing as the leader when no
 * one else does; a leader writes what is appended up to @write_to
 * (G_MAXUINT64: all of it) before it syncs. Called with the lock held,
 * and returns with it held,
 * except when @released is given, for a dump: a dump that another
 * leader's sync served then returns TRUE at once without it, and sets
 * @released; and a dump whose session a close ended meanwhile fails,
 * since that close dropped what it could not write or sync. */
static gboolean
wait_durable_locked (PlogWriter  *writer,
                     guint64      target,
                     guint64      write_to,
                     gboolean    *released,
                     GError     **error)
{
  gint session = writer->session;

  while (writer->durable < target)
    {
      gboolean ok;
      guint64 goal;
      guint group;
      gboolean need_dir;
      int fd;
      g_autofree char *path = NULL;
      g_autoptr(GError) local_error = NULL;

      if (writer->broken)
        return broken_error (writer, error);
      if (!writer->open)
        return not_recording (writer, error);
      /* A leader waits for a rotation to name the new log: before that,
       * the closed log may not be durable yet. */
      if (writer->syncing || !writer->installed)
        {
          if (released == NULL)
            writer_wait (writer);
          else if (wait_unlocked (writer, target, session))
            {
              *released = TRUE;
              return TRUE;
            }
          continue;
        }

      writer->syncing = TRUE;
      /* Gather: wait briefly until as many dumps as in the largest recent
       * group have appended, so that one fdatasync() covers them all. (As
       * many as in the last group would settle on however many made it
       * back in time.) */
      if (writer->last_group > 1)
        {
          gint64 deadline = g_get_monotonic_time () + GATHER_USEC;

          writer->gathering = TRUE;
          while (writer->group < writer->last_group &&
                 g_cond_wait_until (&writer->append_cond, &writer->lock, deadline))
            ;
          writer->gathering = FALSE;
        }
      if (!drain_to_locked (writer, MIN (write_to, writer->appended), error))
        {
          writer->syncing = FALSE;
          writer_wake (writer);
          return FALSE;
        }
      goal = writer->written;
      group = writer->group;
      writer->group = 0;
      fd = writer->fd;
      path = g_strdup (writer->path);
      need_dir = !writer->dir_synced;

      g_mutex_unlock (&writer->lock);
      ok = plog_segment_sync (fd, path, &local_error) &&
           (!need_dir || plog_directory_sync (writer->dir, &local_error));
      g_mutex_lock (&writer->lock);

      writer->syncing = FALSE;
      if (ok)
        {
          set_durable_locked (writer, MAX (writer->durable, goal));
          /* The largest recent group, decaying by one a sync. */
          writer->last_group = MAX (MAX (group, 1), writer->last_group - 1);
          writer->dir_synced = TRUE;
        }
      else
        {
          break_locked (writer, local_error);
          g_propagate_error (error, g_steal_pointer (&local_error));
        }
      writer_wake (writer);
      if (!ok)
        return FALSE;
    }
  if (released != NULL && writer->session != session)
    return not_recording (writer, error);
  return TRUE;
}

/* The writer thread: hands queued buffers to the kernel, in order. After
 * a failure it tries again at the next tick; dumps report the failure
 * meanwhile. */
static gpointer
drainer_thread (gpointer data)
{
  PlogWriter *writer = data;

  g_mutex_lock (&writer->lock);
  while (!writer->quit)
    {
      gboolean idle = !writer->open || writer->broken || writer->io_active ||
                      g_queue_is_empty (&writer->full);

      /* Idle, or a write just failed: wait for work, or for the next try. */
      if (idle || !write_head_locked (writer, NULL))
        {
          writer->drainer_idle = TRUE;
          g_cond_wait_until (&writer->drain_cond, &writer->lock,
                             g_get_monotonic_time () + TICK_USEC);
          writer->drainer_idle = FALSE;
        }
    }
  g_mutex_unlock (&writer->lock);
  return NULL;
}

/* Starts the writeback of what the kernel holds of the log, without
 * waiting for it, so that dirty pages never pile up: the sync of a
 * rotation then finds little to do, and writes to the page cache are
 * not throttled. Called and returns with the lock held. */
static void
start_writeback_locked (PlogWriter *writer)
{
#ifdef HAVE_SYNC_FILE_RANGE
  gint64 from = writer->writeback;
  gint64 to = writer->file_size;
  guint64 seq = writer->seq;
  int fd = writer->fd;

  /* Under ALWAYS every dump syncs: nothing piles up, and a leader would
   * wait for this. */
  if (to - from < WRITEBACK_CHUNK || writer->syncing || writer->broken ||
      writer->sync_mode == PLOG_SYNC_MODE_ALWAYS)
    return;
  /* The fd stays open while @syncing is set. */
  writer->syncing = TRUE;
  g_mutex_unlock (&writer->lock);
  sync_file_range (fd, from, to - from, SYNC_FILE_RANGE_WRITE);
  g_mutex_lock (&writer->lock);
  writer->syncing = FALSE;
  if (writer->seq == seq)
    writer->writeback = MAX (writer->writeback, to);
  writer_wake (writer);
#endif
}

/* The syncer thread: every tick, queues the current buffer and starts
 * writeback; under PERIODIC, syncs about once a second. */
static gpointer
syncer_thread (gpointer data)
{
  PlogWriter *writer = data;
  gint64 last_sync = g_get_monotonic_time ();

  /* Its writeback takes milliseconds of CPU at a time, which a woken
   * dumper must not wait for. */
  plog_sched_set_class (PLOG_SCHED_YIELD);

  g_mutex_lock (&writer->lock);
  while (!writer->quit)
    {
      gint64 now;

      g_cond_wait_until (&writer->tick_cond, &writer->lock,
                         g_get_monotonic_time () + TICK_USEC);
      if (writer->quit || !writer->open || writer->closing)
        continue;

      /* What was dumped reaches the kernel within a tick, however few
       * buffers wait. */
      seal_locked (writer);
      kick_idle_drainer_locked (writer);
      start_writeback_locked (writer);

      now = g_get_monotonic_time ();
      if (writer->sync_mode == PLOG_SYNC_MODE_PERIODIC &&
          now - last_sync >= SYNC_INTERVAL_USEC)
        {
          guint64 queued = writer->appended - (writer->cur != NULL ? writer->cur->len : 0);

          last_sync = now;
          /* The writer thread writes what is queued, and this thread
           * syncs only that much: it yields the CPU, and dumps waiting
           * for a free buffer must not wait for it. */
          while (writer->open && !writer->closing && !writer->quit && !writer->broken &&
                 writer->io_error == NULL && writer->written < queued)
            {
              if (writer->drainer_idle && !writer->io_active)
                kick_drainer (writer);
              writer_wait (writer);
            }
          /* Errors are reported by the next dump, flush or stop. */
          if (writer->open && !writer->closing && writer->durable < queued)
            wait_durable_locked (writer, queued, queued, NULL, NULL);
        }
    }
  g_mutex_unlock (&writer->lock);
  return NULL;
}

PlogWriter *
plog_writer_new (PlogDirectory *dir,
                 PlogSyncMode   sync_mode)
{
  PlogWriter *writer = g_new0 (PlogWriter, 1);

  writer->dir = plog_directory_ref (dir);
  g_mutex_init (&writer->lock);
  g_cond_init (&writer->cond);
  g_cond_init (&writer->append_cond);
  g_cond_init (&writer->tick_cond);
  g_cond_init (&writer->drain_cond);
  g_queue_init (&writer->full);
  writer->spare = g_ptr_array_new_with_free_func (g_free);
  writer->sync_mode = sync_mode;
  writer->fd = -1;
  writer->last_group = 1;
  return writer;
}

static void
drop_buffers_locked (PlogWriter *writer)
{
  Buffer *b;

  g_clear_pointer (&writer->cur, g_free);
  while ((b = g_queue_pop_head (&writer->full)) != NULL)
    g_free (b);
  g_ptr_array_set_size (writer->spare, 0);
  writer->n_buffers = 0;
}

void
plog_writer_free (PlogWriter *writer)
{
  if (writer == NULL)
    return;
  g_assert (!writer->open && writer->drainer == NULL && writer->syncer == NULL);
  drop_buffers_locked (writer);
  g_ptr_array_unref (writer->spare);
  g_clear_error (&writer->io_error);
  g_clear_error (&writer->broken_cause);
  g_mutex_clear (&writer->lock);
  g_cond_clear (&writer->cond);
  g_cond_clear (&writer->append_cond);
  g_cond_clear (&writer->tick_cond);
  g_cond_clear (&writer->drain_cond);
  g_free (writer->path);
  plog_directory_unref (writer->dir);
  g_free (writer);
}

/* fdatasync()s a log outside the lock; a failure breaks the writer. */
static gboolean
sync_or_break (PlogWriter  *writer,
               int          fd,
               const char  *path,
               GError     **error)
{
  GError *local_error = NULL;

  if (plog_segment_sync (fd, path, &local_error))
    return TRUE;
  g_mutex_lock (&writer->lock);
  break_locked (writer, local_error);
  g_mutex_unlock (&writer->lock);
  g_propagate_error (error, local_error);
  return FALSE;
}

/* Reserves the disk blocks of a new log @fd, past its end, before it
 * takes its first dump: as many as a log may fill before dumps wait for a
 * compaction (four times max-size), or without a max-size as many as the
 * last log took, within 1 MiB and 1 GiB; and never more than a quarter of
 * the free space, so that a reservation cannot starve the next snapshot.
 *
 * Otherwise the kernel allocates the log's blocks as it writes it back,
 * with the inode's block map locked; the allocator may wait there for a
 * bitmap to be read from a busy disk, and a write(2) to the log waits
 * behind it. On ext4 that blocked the writer thread for up to 35 ms,
 * long enough for dumps to fill every buffer and wait. Reserving more as
 * the log grows, from the writer or the syncer thread, has the same flaw:
 * fallocate() holds the inode while it waits for the same bitmaps (the
 * syncer doing it made the slowest dumps three times slower). So the
 * reservation is made once, where no dump waits for it, and a log that
 * outgrows it is left to the kernel. */
static void
reserve_new_log (PlogWriter *writer,
                 int         fd,
                 const char *path)
{
  gint64 max_size = __atomic_load_n (&writer->max_size, __ATOMIC_RELAXED);
  gint64 want = __atomic_load_n (&writer->last_size, __ATOMIC_RELAXED);
  struct statvfs st;
  int err;

#ifdef __linux__
  struct statfs fs;

  /* On tmpfs reserved blocks are memory, and nothing allocates blocks as
   * the log is written back. */
  if (fstatfs (fd, &fs) == 0 && fs.f_type == TMPFS_MAGIC)
    return;
#endif
  if (max_size > 0)
    want = max_size < RESERVE_MAX / PLOG_STALL_FACTOR ? max_size * PLOG_STALL_FACTOR : RESERVE_MAX;
  want = CLAMP (want, RESERVE_MIN, RESERVE_MAX);
  if (fstatvfs (fd, &st) == 0)
    want = MIN (want, (gint64) (st.f_bavail / 4) * (gint64) st.f_frsize);
  if (want <= PLOG_SEGMENT_HEADER_SIZE)
    return;
  err = plog_segment_reserve (fd, PLOG_SEGMENT_HEADER_SIZE, 0, want);
  if (err != 0 && err != ENOTSUP)
    g_debug ("Could not reserve %" G_GINT64_FORMAT " bytes for “%s”: %s",
             want, path, g_strerror (err));
}

/* Creates the log @seq under a temporary name, with its header;
 * install_log() gives it its name. A crash before that leaves only a
 * temporary file, removed at open: never an empty log above a closed
 * one that is not durable yet. */
static int
create_log (PlogWriter  *writer,
            guint64      seq,
            char       **tmp_path_out,
            GError     **error)
{
  g_autofree char *path = plog_directory_file_path (writer->dir, seq, PLOG_SEGMENT_LOG);
  g_autofree char *tmp_path = g_strconcat (path, ".tmp", NULL);
  int fd = plog_segment_create (tmp_path, PLOG_SEGMENT_LOG, seq, error);

  if (fd < 0)
    return -1;
  reserve_new_log (writer, fd, tmp_path);
  /* The header needs no sync of its own: a log whose header is torn by a
   * crash holds no record, and is the newest, so it counts as torn. */
  *tmp_path_out = g_steal_pointer (&tmp_path);
  return fd;
}

/* Renames a log made by create_log() into place; returns its name. */
static char *
install_log (const char  *tmp_path,
             GError     **error)
{
  g_autofree char *path = g_strndup (tmp_path, strlen (tmp_path) - strlen (".tmp"));

  if (g_rename (tmp_path, path) != 0)
    {
      plog_set_io_error (error, errno, "rename", tmp_path);
      return NULL;
    }
  return g_steal_pointer (&path);
}

gboolean
plog_writer_open (PlogWriter  *writer,
                  guint64      seq,
                  GError     **error)
{
  g_autofree char *tmp_path = NULL;
  g_autofree char *path = NULL;
  int fd;

  fd = create_log (writer, seq, &tmp_path, error);
  if (fd < 0)
    return FALSE;
  path = install_log (tmp_path, error);
  if (path == NULL || !plog_directory_sync (writer->dir, error))
    {
      close (fd);
      g_unlink (path != NULL ? path : tmp_path);
      return FALSE;
    }

  g_mutex_lock (&writer->lock);
  g_assert (!writer->open);
  /* A closed writer takes no record: a new session starts empty. */
  g_assert (writer->cur == NULL && g_queue_is_empty (&writer->full));
  writer->open = TRUE;
  writer->broken = FALSE;
  g_clear_error (&writer->broken_cause);
  writer->installed = TRUE;
  writer->dir_synced = TRUE;
  writer->fd = fd;
  g_free (writer->path);
  writer->path = g_steal_pointer (&path);
  writer->seq = seq;
  writer->file_size = PLOG_SEGMENT_HEADER_SIZE;
  writer->writeback = 0;
  g_clear_error (&writer->io_error);
  writer->appended = writer->written;
  set_durable_locked (writer, writer->written);
  writer->quit = FALSE;
  g_mutex_unlock (&writer->lock);

  writer->drainer = g_thread_new ("plog-writer", drainer_thread, writer);
  writer->syncer = g_thread_new ("plog-syncer", syncer_thread, writer);
  return TRUE;
}

gboolean
plog_writer_is_open (PlogWriter *writer)
{
  gboolean open;

  g_mutex_lock (&writer->lock);
  open = writer->open;
  g_mutex_unlock (&writer->lock);
  return open;
}

void
plog_writer_set_max_size (PlogWriter *writer,
                          gint64      max_size)
{
  __atomic_store_n (&writer->max_size, max_size, __ATOMIC_RELAXED);
}

void
plog_writer_set_last_size (PlogWriter *writer,
                           gint64      size)
{
  __atomic_store_n (&writer->last_size, size, __ATOMIC_RELAXED);
}

void
plog_writer_set_sync_mode (PlogWriter   *writer,
                           PlogSyncMode  sync_mode)
{
  g_mutex_lock (&writer->lock);
  writer->sync_mode = sync_mode;
  g_mutex_unlock (&writer->lock);
}

/* A buffer with room for @size bytes, waiting for the writer thread when
 * every buffer is queued. NULL with @error when the writer does not take
 * dumps: it is not recording, or closing, or writes fail. Each wake-up
 * starts over: another dumper may have installed a buffer while this one
 * waited without the lock (replacing it would drop the records in it),
 * and a close that began meanwhile writes only what was appended before
 * it. */
static Buffer *
room_locked (PlogWriter  *writer,
             gsize        size,
             gboolean    *kick,
             GError     **error)
{
  for (;;)
    {
      if (!writer->open || writer->closing)
        return (not_recording (writer, error), NULL);
      /* While the kernel refuses writes (a full disk), dumps fail, and
       * what was dumped before stays queued for when it takes them
       * again. */
      if (writer->broken)
        return (broken_error (writer, error), NULL);
      if (writer->io_error != NULL)
        {
          g_propagate_error (error, g_error_copy (writer->io_error));
          return NULL;
        }
      if (size > BUFFER_SIZE)
        {
          /* A large record gets a buffer of its own. */
          *kick |= seal_locked (writer);
          if (writer->cur != NULL)
            buffer_release_locked (writer, g_steal_pointer (&writer->cur));
          writer->cur = buffer_new (size);
          return writer->cur;
        }
      if (writer->cur != NULL && writer->cur->len + size <= writer->cur->capacity)
        return writer->cur;
      *kick |= seal_locked (writer);
      if (writer->spare->len > 0)
        {
          writer->cur = g_ptr_array_steal_index_fast (writer->spare, writer->spare->len - 1);
          return writer->cur;
        }
      if (writer->n_buffers < MAX_BUFFERS)
        {
          writer->cur = buffer_new (BUFFER_SIZE);
          writer->n_buffers++;
          return writer->cur;
        }
      /* Every buffer is queued: the writer thread must be at it before
       * this thread sleeps. */
      if (*kick || (writer->drainer_idle && !writer->io_active))
        kick_drainer (writer);
      *kick = FALSE;
      writer_wait (writer);
    }
}

/* The writer lock is held for a few hundred nanoseconds at a time. A
 * dumper that finds it taken spins for a few microseconds before it
 * sleeps on it: going to sleep and being woken again costs a system call
 * on each side, and on a virtual machine an exit to wake the sleeper. */
static inline void
lock_spinning (GMutex *lock)
{
  for (guint i = 0; i < 64; i++)
    {
      if (g_mutex_trylock (lock))
        return;
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause ();
#endif
    }
  g_mutex_lock (lock);
}

gboolean
plog_writer_append (PlogWriter  *writer,
                    PlogOp      *op,
                    guint64     *log_seq,
                    gint64      *log_size,
                    GError     **error)
{
  gsize size = plog_record_size (op);
  gboolean ok = TRUE;
  gboolean kick = FALSE;
  Buffer *b;

  if (size > PLOG_OP_MAX_SIZE)
    {
      g_autofree char *display = g_filename_display_name (plog_directory_get_path (writer->dir));

      g_set_error (error, PLOG_ERROR, PLOG_ERROR_TOO_LARGE,
                   "An op cannot be dumped to “%s”: its record would take %" G_GSIZE_FORMAT
                   " bytes, of at most %d",
                   display, size, PLOG_OP_MAX_SIZE);
      return FALSE;
    }

  lock_spinning (&writer->lock);
  if ((b = room_locked (writer, size, &kick, error)) == NULL)
    ok = FALSE;
  else
    {
      plog_record_encode (op, b->data + b->len);
      b->len += size;
      writer->appended += size;
      *log_seq = writer->seq;
      *log_size = writer->file_size + (writer->appended - writer->written);
      if (size > BUFFER_SIZE)
        kick |= seal_locked (writer);
      if (writer->sync_mode == PLOG_SYNC_MODE_ALWAYS)
        {
          gboolean released = FALSE;

          if (kick)
            kick_drainer (writer);
          kick = FALSE;
          /* Wake the gathering leader once, when the group is complete. */
          if (++writer->group == writer->last_group && writer->gathering)
            g_cond_signal (&writer->append_cond);
          ok = wait_durable_locked (writer, writer->appended, G_MAXUINT64, &released, error);
          if (released)
            return TRUE;
        }
    }
  g_mutex_unlock (&writer->lock);
  if (kick)
    kick_drainer (writer);
  return ok;
}

gboolean
plog_writer_flush (PlogWriter  *writer,
                   GError     **error)
{
  gboolean ok = TRUE;

  g_mutex_lock (&writer->lock);
  if (writer->open)
    ok = wait_durable_locked (writer, writer->appended, G_MAXUINT64, NULL, error);
  g_mutex_unlock (&writer->lock);
  return ok;
}

gboolean
plog_writer_pin (PlogWriter  *writer,
                 gboolean    *open,
                 guint64     *seq,
                 gint64      *size,
                 GError     **error)
{
  gboolean ok = TRUE;

  g_mutex_lock (&writer->lock);
  *open = writer->open;
  if (writer->open)
    {
      /* The current log must be found by its name. */
      while (!writer->installed && !writer->broken)
        writer_wait (writer);
      ok = drain_to_locked (writer, writer->appended, error);
      *seq = writer->seq;
      *size = writer->file_size;
    }
  g_mutex_unlock (&writer->lock);
  return ok;
}

gboolean
plog_writer_rotate (PlogWriter  *writer,
                    guint64      seq,
                    gboolean    *rotated,
                    GError     **error)
{
  g_autofree char *new_tmp_path = NULL;
  g_autofree char *new_path = NULL;
  g_autofree char *old_path = NULL;
  g_autoptr(GError) local_error = NULL;
  int new_fd, old_fd = -1;
  gboolean ok;

  *rotated = FALSE;
  g_mutex_lock (&writer->lock);
  /* A close under way ends first: a compaction that finds the writer
   * closed merges the last log too, which must be complete by then. */
  while (writer->rotating || writer->closing)
    writer_wait (writer);
  if (!writer->open)
    {
      g_mutex_unlock (&writer->lock);
      return TRUE;
    }
  writer->rotating = TRUE;
  /* The new log reserves as much as this one took so far. */
  __atomic_store_n (&writer->last_size,
                    writer->file_size + (gint64) (writer->appended - writer->written),
                    __ATOMIC_RELAXED);
  g_mutex_unlock (&writer->lock);

  new_fd = create_log (writer, seq, &new_tmp_path, error);
  if (new_fd < 0)
    {
      g_mutex_lock (&writer->lock);
      writer->rotating = FALSE;
      writer_wake (writer);
      g_mutex_unlock (&writer->lock);
      return FALSE;
    }

  /* The bulk of the closed log reaches the disk first, without the lock,
   * so that the new log stays unnamed only briefly. */
  g_mutex_lock (&writer->lock);
  ok = drain_to_locked (writer, writer->appended, error);
  old_fd = writer->fd;
  old_path = g_strdup (writer->path);
  g_mutex_unlock (&writer->lock);
  ok = ok && sync_or_break (writer, old_fd, old_path, error);

  /* The swap, once all that was dumped is in the kernel: the lock is
   * dropped for every write(2), and taken back for the swap alone. Dumps
   * go on at once into the new log, under its temporary name. */
  g_mutex_lock (&writer->lock);
  while (ok && (writer->syncing || writer->io_active || writer->written < writer->appended))
    {
      if (writer->syncing || writer->io_active)
        writer_wait (writer);
      else
        ok = drain_to_locked (writer, writer->appended, error);
    }
  if (ok)
    {
      writer->fd = new_fd;
      g_free (writer->path);
      writer->path = g_strdup (new_tmp_path);
      writer->seq = seq;
      writer->file_size = PLOG_SEGMENT_HEADER_SIZE;
      writer->writeback = 0;
      writer->installed = FALSE;
      writer->dir_synced = FALSE;
    }
  else
    {
      writer->rotating = FALSE;
      writer_wake (writer);
    }
  g_mutex_unlock (&writer->lock);
  if (!ok)
    {
      close (new_fd);
      g_unlink (new_tmp_path);
      return FALSE;
    }
  *rotated = TRUE;

  /* What was dumped into the closed log meanwhile reaches the disk, still
   * without the lock; only then does the new log get its name, so that a
   * log that may end torn never has a newer one. Until then nothing in the
   * new log counts as durable (see wait_durable_locked()). When this
   * fails, the new log never gets a name: the writer is broken. */
  ok = sync_or_break (writer, old_fd, old_path, &local_error) &&
       (new_path = install_log (new_tmp_path, &local_error)) != NULL;

  g_mutex_lock (&writer->lock);
  if (ok)
    {
      g_free (writer->path);
      writer->path = g_strdup (new_path);
      writer->installed = TRUE;
    }
  else
    break_locked (writer, local_error);
  writer->rotating = FALSE;
  writer_wake (writer);
  g_mutex_unlock (&writer->lock);

  if (ok && plog_directory_sync (writer->dir, NULL))
    {
      g_mutex_lock (&writer->lock);
      if (writer->seq == seq)
        writer->dir_synced = TRUE;
      g_mutex_unlock (&writer->lock);
    }
  /* The closed log takes no more writes: its reserved blocks go back. */
  plog_segment_release (old_fd);
  if (!ok)
    {
      close (old_fd);
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  return plog_segment_close (old_fd, old_path, error);
}

/* Gives back the blocks reserved past the current log's end. Freeing
 * them can wait for the disk, so not with the lock held, but with every
 * other use of the log kept out, as while a sync runs: the fd stays open
 * and nobody appends to it, so truncating it to its size cuts nothing.
 * Called and returns with the lock held, and @io_active and @syncing
 * clear. */
static void
release_reserved_locked (PlogWriter *writer)
{
  int fd = writer->fd;

  writer->io_active = TRUE;
  writer->syncing = TRUE;
  g_mutex_unlock (&writer->lock);
  plog_segment_release (fd);
  g_mutex_lock (&writer->lock);
  writer->io_active = FALSE;
  writer->syncing = FALSE;
  writer_wake (writer);
  /* The writer thread found nothing to do meanwhile. */
  kick_drainer (writer);
}

void
plog_writer_release_reserved (PlogWriter *writer)
{
  g_mutex_lock (&writer->lock);
  while (writer->open && (writer->io_active || writer->syncing))
    writer_wait (writer);
  if (writer->open)
    release_reserved_locked (writer);
  g_mutex_unlock (&writer->lock);
}

gboolean
plog_writer_close (PlogWriter  *writer,
                   gboolean     force,
                   GError     **error)
{
  gboolean ok = TRUE;
  GThread *drainer = NULL, *syncer = NULL;

  g_mutex_lock (&writer->lock);
  while (writer->rotating)
    writer_wait (writer);
  if (writer->open)
    {
      /* The lock is dropped while syncing: keep rotations out. */
      writer->closing = TRUE;
      /* A broken log is closed all the same: nothing can be saved. */
      ok = wait_durable_locked (writer, writer->appended, G_MAXUINT64, NULL, error);
      if (ok || force || writer->broken)
        {
          GError **close_error = ok ? error : NULL;
          /* Dumps fail from now on, so after a successful sync every
           * record is durable, and the dumps still waiting for it
           * succeed. After a failure they all fail, a new session tells
           * them, even one whose record an earlier sync made durable:
           * which records a failed sync kept is not known. */
          gboolean dropping = !ok;

          while (writer->io_active || writer->syncing)
            writer_wait (writer);
          release_reserved_locked (writer);
          ok = plog_segment_close (writer->fd, writer->path, close_error) && ok;
          __atomic_store_n (&writer->last_size, writer->file_size, __ATOMIC_RELAXED);
          writer->open = FALSE;
          writer->fd = -1;
          /* After a failure, what could not be written is dropped. */
          drop_buffers_locked (writer);
          g_clear_error (&writer->io_error);
          writer->appended = writer->written;
          if (dropping)
            g_atomic_int_inc (&writer->session);
          set_durable_locked (writer, writer->written);
        }
      writer->closing = FALSE;
      writer_wake (writer);
    }
  if (!writer->open)
    {
      drainer = g_steal_pointer (&writer->drainer);
      syncer = g_steal_pointer (&writer->syncer);
      writer->quit = drainer != NULL || syncer != NULL;
      g_cond_signal (&writer->tick_cond);
      g_cond_signal (&writer->drain_cond);
    }
  g_mutex_unlock (&writer->lock);

  if (drainer != NULL)
    g_thread_join (drainer);
  if (syncer != NULL)
    g_thread_join (syncer);
  return ok;
}
