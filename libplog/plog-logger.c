/* plog-logger.c: PlogLogger, the operation log of one directory
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "plog-compactor-private.h"
#include "plog-cursor-private.h"
#include "plog-directory-private.h"
#include "plog-enum-types.h"
#include "plog-error-private.h"
#include "plog-logger.h"
#include "plog-replay-private.h"
#include "plog-writer-private.h"

/* More files than this in the replay set at record() start a compaction. */
#define MAX_REPLAY_FILES 16

/**
 * PlogLogger:
 *
 * Appends [struct@Plog.Op]s to the logs of a directory, merges them into
 * snapshots in the background, and replays them.
 *
 * Create a logger with [ctor@Plog.Logger.new], or with `g_object_new()`
 * followed by `g_initable_init()` (in JavaScript, `new Plog.Logger({directory})`
 * then `init(null)`). A logger whose initialization did not run
 * initializes itself at its first call that needs the directory, and
 * that call fails with the error of the initialization if it fails; a
 * logger whose initialization failed gives that error again at such
 * calls. [method@Plog.Logger.dump] never initializes: such a logger is
 * not recording. `g_initable_init()` with a cancellable that is already
 * cancelled fails with `G_IO_ERROR_CANCELLED` and leaves the logger
 * uninitialized; once begun, the initialization is quick and runs to
 * its end.
 *
 * A program creates one logger for its directory at start, replays it
 * with [method@Plog.Logger.play] (or [method@Plog.Logger.play_async], or a
 * [class@Plog.Cursor]) to rebuild its state, then calls
 * [method@Plog.Logger.record] and [method@Plog.Logger.dump]s each op.
 * When the current log grows past [property@Plog.Logger:max-size], a
 * worker thread merges the newest snapshot and the logs before the
 * current one into a new snapshot while dumps go on into a fresh log.
 *
 * Every method may be called from any thread, at any time, as long as
 * the caller holds a reference to the logger. [method@Plog.Logger.record],
 * [method@Plog.Logger.stop], [method@Plog.Logger.clear],
 * [method@Plog.Logger.close] and the asynchronous forms of the first
 * three and of [method@Plog.Logger.flush] take turns, in the order they
 * were called: one called while another runs, on another thread or in
 * the worker of an asynchronous form, waits for it. [method@Plog.Logger.record]
 * and [method@Plog.Logger.stop] may take long (the first reads and
 * checks every file, the second waits for a running compaction), so a
 * program with a main loop calls [method@Plog.Logger.record_async] and
 * [method@Plog.Logger.stop_async] instead, and
 * [method@Plog.Logger.play_async] to replay.
 *
 * The calls take turns, but the callbacks of asynchronous ones come as
 * their workers finish (or, for one cancelled before its turn, without
 * waiting for it), so those of two calls in a row may come in either
 * order, and so may their notifications of
 * [property@Plog.Logger:recording]: a handler reads the property rather
 * than counting on the order.
 *
 * Signals are emitted only in a main context you own:
 * [signal@Plog.Logger::replayed] in the thread that calls
 * [method@Plog.Logger.play] or in the thread-default context of
 * [method@Plog.Logger.play_async], [signal@Plog.Logger::compacted] in the
 * thread-default context of the thread that created the logger, and the
 * notification of [property@Plog.Logger:recording] in the thread that
 * calls the method that changed it, or, for an asynchronous form, in the
 * thread-default context of its caller, before its callback.
 *
 * How durable a dumped op is depends on [property@Plog.Logger:sync-mode].
 * In every mode a background thread hands buffered ops to the kernel at
 * least every 200 ms, so a crash of the process loses at most that much
 * (nothing under [enum@Plog.SyncMode.ALWAYS]).
 *
 * The logger holds its directory's lock until it is closed, with
 * [method@Plog.Logger.close] (in Python, also at the end of a `with`
 * block), or disposed, when its last reference goes. Both stop a
 * recording logger as [method@Plog.Logger.stop] does, but drop what
 * cannot be written; [method@Plog.Logger.close] says what each call does
 * on a closed logger.
 *
 * Since: 1.0
 */

struct _PlogLogger
{
  GObject        parent_instance;

  char          *directory;      /* (owned): as constructed, never changed */
  char          *path;           /* (owned) (nullable) (atomic): absolute, from init */
  GMainContext  *main_context;   /* (owned): thread-default at construction */
  PlogDirectory *dir;            /* (owned) (nullable): NULL until init */
  PlogWriter    *writer;         /* (owned) (nullable) */
  PlogCompactor *compactor;      /* (owned) (nullable) */
  gint64         max_size;       /* (atomic) */
  gint           sync_mode;      /* (atomic): a PlogSyncMode */
  GError        *init_error;     /* (owned) (nullable) */
  GMutex         init_lock;      /* initialization against itself */
  /* record, stop, clear, close and the asynchronous forms take turns,
   * in the order they were called (see turn_begin()). */
  GMutex         turn_lock;
  GCond          turn_cond;
  guint64        next_ticket;    /* under turn_lock */
  guint64        serving;        /* under turn_lock: whose turn it is */
  GQueue         waiting_tasks;  /* under turn_lock: (element-type GTask) (owned)
                                  * the asynchronous calls whose turn has
                                  * not come, by ticket */
  /* Not bit fields: each is written under a different lock, or none. */
  gboolean       init_done;      /* under init_lock */
  gboolean       recording;      /* (atomic) */
  gint           closed;         /* (atomic): by close() or dispose */
};

static void plog_logger_initable_iface_init (GInitableIface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (PlogLogger, plog_logger, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_INITABLE,
                                                      plog_logger_initable_iface_init))

enum {
  PROP_0,
  PROP_DIRECTORY,
  PROP_MAX_SIZE,
  PROP_RECORDING,
  PROP_SYNC_MODE,
  N_PROPS
};

enum {
  REPLAYED,
  COMPACTED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

/* What the compactor thread knows of the logger: a weak reference, so
 * that a context nobody iterates never keeps the logger alive, and the
 * last reference is never dropped on that thread. An atomic box: the
 * compactor thread takes references for its sources while the context's
 * thread drops those of the sources it ran. */
typedef struct
{
  GWeakRef      logger;
  GMainContext *main_context;
  gint          n_landed;       /* (atomic): landed, not yet emitted */
} LandedData;

static void
landed_data_clear (gpointer data)
{
  LandedData *landed = data;

  g_weak_ref_clear (&landed->logger);
  g_main_context_unref (landed->main_context);
}

static void
landed_data_release (gpointer data)
{
  g_atomic_rc_box_release_full (data, landed_data_clear);
}

static gboolean
emit_compacted_cb (gpointer data)
{
  LandedData *landed = data;
  g_autoptr(PlogLogger) self = g_weak_ref_get (&landed->logger);
  gint n = g_atomic_int_exchange (&landed->n_landed, 0);

  for (gint i = 0; self != NULL && i < n; i++)
    g_signal_emit (self, signals[COMPACTED], 0);
  return G_SOURCE_REMOVE;
}

/* On the compactor thread: hand ::compacted over to the context the
 * logger was created in. */
static void
compaction_landed (gpointer user_data)
{
  LandedData *landed = user_data;
  g_autoptr(GSource) source = NULL;

  /* One emission source at a time, however many compactions land before
   * it runs: a program that never iterates the context must not pile
   * sources up in it. */
  if (g_atomic_int_add (&landed->n_landed, 1) > 0)
    return;

  /* Not g_main_context_invoke(): it would run the handler on this thread
   * when the context happens to be free. */
  source = g_idle_source_new ();
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_static_name (source, "[plog] compacted");
  g_source_set_callback (source, emit_compacted_cb, g_atomic_rc_box_acquire (landed), landed_data_release);
  g_source_attach (source, landed->main_context);
}

static gboolean
plog_logger_initable_init (GInitable     *initable,
                           GCancellable  *cancellable,
                           GError       **error)
{
  PlogLogger *self = PLOG_LOGGER (initable);
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->init_lock);
  g_autoptr(PlogDirectory) dir = NULL;
  g_autofree char *cwd = NULL;
  LandedData *landed;

  if (g_atomic_int_get (&self->closed))
    return plog_set_closed_error (error, plog_logger_get_directory (self));
  /* As GInitable asks: later calls return the result of the first. */
  if (self->init_done)
    {
      if (self->init_error != NULL)
        {
          g_propagate_error (error, g_error_copy (self->init_error));
          return FALSE;
        }
      return TRUE;
    }
  /* Opening the directory is quick, and not cancelled once begun; a
   * cancelled call leaves the logger as it was, for another call. */
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;

  if (self->directory == NULL || self->directory[0] == '\0')
    {
      g_set_error_literal (&self->init_error, PLOG_ERROR, PLOG_ERROR_INVALID,
                           "A logger needs a directory");
      goto failed;
    }
  /* Fixed now: the logger must not follow a later chdir() of the
   * process into another directory. Not g_get_current_dir(), which
   * gives "/" when the current directory is gone. */
  if (!g_path_is_absolute (self->directory))
    {
      cwd = getcwd (NULL, 0);
      if (cwd == NULL)
        {
          plog_set_io_error (&self->init_error, errno,
                             "find the current directory for", self->directory);
          goto failed;
        }
    }
  /* Absolute, and tidied alike however it was spelled ("/a/b/../c//" is
   * "/a/c"), in the property and in errors. */
  g_atomic_pointer_set (&self->path, g_canonicalize_filename (self->directory, cwd));
  dir = plog_directory_open (self->path, &self->init_error);
  if (dir == NULL)
    goto failed;
  self->writer = plog_writer_new (dir, g_atomic_int_get (&self->sync_mode));
  plog_writer_set_max_size (self->writer, plog_logger_get_max_size (self));
  landed = g_atomic_rc_box_new0 (LandedData);
  g_weak_ref_init (&landed->logger, self);
  landed->main_context = g_main_context_ref (self->main_context);
  self->compactor = plog_compactor_new (dir, self->writer, compaction_landed,
                                        landed, landed_data_release);
  self->init_done = TRUE;
  /* Last: a logger with a directory is ready (see logger_ready()). */
  g_atomic_pointer_set (&self->dir, g_steal_pointer (&dir));
  return TRUE;

failed:
  self->init_done = TRUE;
  g_propagate_error (error, g_error_copy (self->init_error));
  return FALSE;
}

static void
plog_logger_initable_iface_init (GInitableIface *iface)
{
  iface->init = plog_logger_initable_init;
}

/* What record, stop, clear and flush do in their turn, without the
 * notification of :recording, which their caller emits in its own
 * context; @changed says whether the call changed :recording. */
typedef gboolean (*LifecycleFunc) (PlogLogger  *self,
                                   gboolean    *changed,
                                   GError     **error);

/* An asynchronous call (see lifecycle_async()). */
typedef struct
{
  PlogLogger    *logger;        /* (unowned): the caller's task holds it */
  LifecycleFunc  func;
  guint64        ticket;
  gboolean       changed;       /* set on the worker, read after it returned */
  gboolean       queued;        /* under turn_lock: in waiting_tasks, or started */
  gboolean       started;       /* under turn_lock: its turn came */
  gboolean       given_up;      /* under turn_lock: cancelled before that */
  gulong         cancelled_id;  /* its handler of the cancellable's ::cancelled */
} LifecycleData;

static void lifecycle_thread (GTask        *task,
                              gpointer      source_object,
                              gpointer      task_data,
                              GCancellable *cancellable);

/* Turns. record, stop, clear and close, and the asynchronous forms of
 * record, stop, clear and flush, run one at a time, in the order they
 * were called: each takes a ticket when it is called (an asynchronous
 * form in its caller's thread, not when its worker runs) and runs when
 * its number comes up. A plain mutex would let a stop() called after a
 * record_async() run before the record's worker took the mutex.
 *
 * A synchronous call waits for its turn in its own thread. An
 * asynchronous one waits in waiting_tasks, and goes to GLib's thread
 * pool only once its turn has come: a pool thread never waits for a
 * turn, so that a long stop never holds the pool's threads from the
 * program's other tasks, and the pool's order does not matter. */

/* Under turn_lock: starts the asynchronous call whose turn it is, if it
 * is one. */
static void
turn_start_task_locked (PlogLogger *self)
{
  GTask *inner;

  while ((inner = g_queue_peek_head (&self->waiting_tasks)) != NULL)
    {
      LifecycleData *data = g_task_get_task_data (inner);

      if (data->ticket != self->serving)
        return;
      g_queue_pop_head (&self->waiting_tasks);
      if (data->given_up)
        {
          /* Cancelled while it waited, and completed then: its turn
           * passes at once. */
          self->serving++;
          g_cond_broadcast (&self->turn_cond);
          g_object_unref (inner);
          continue;
        }
      data->started = TRUE;
      g_task_run_in_thread (inner, lifecycle_thread);
      g_object_unref (inner);
      return;
    }
}

/* The caller's turn, once it has come: for the synchronous calls. */
static void
turn_begin (PlogLogger *self)
{
  guint64 ticket;

  g_mutex_lock (&self->turn_lock);
  ticket = self->next_ticket++;
  while (self->serving != ticket)
    g_cond_wait (&self->turn_cond, &self->turn_lock);
  g_mutex_unlock (&self->turn_lock);
}

/* Queues the inner task of an asynchronous call, which starts when its
 * turn comes. Returns whether it was given up before it was queued (see
 * lifecycle_cancelled()). */
static gboolean
turn_queue_task (PlogLogger *self,
                 GTask      *inner)
{
  LifecycleData *data = g_task_get_task_data (inner);
  gboolean given_up;

  g_mutex_lock (&self->turn_lock);
  data->ticket = self->next_ticket++;
  data->queued = TRUE;
  given_up = data->given_up;
  g_queue_push_tail (&self->waiting_tasks, g_object_ref (inner));
  turn_start_task_locked (self);
  g_mutex_unlock (&self->turn_lock);
  return given_up;
}

/* Passes the turn on. */
static void
turn_end (PlogLogger *self)
{
  g_mutex_lock (&self->turn_lock);
  self->serving++;
  turn_start_task_locked (self);
  g_cond_broadcast (&self->turn_cond);
  g_mutex_unlock (&self->turn_lock);
}

/* A synchronous call: @func in the caller's turn, then the notification
 * of :recording in the caller's thread. */
static gboolean
call_in_turn (PlogLogger     *self,
              LifecycleFunc   func,
              GError        **error)
{
  gboolean changed;
  gboolean ok;

  turn_begin (self);
  ok = func (self, &changed, error);
  turn_end (self);
  if (changed)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RECORDING]);
  return ok;
}

/* Closes the logger, once: first the compactor's thread, after the
 * compaction it runs, so that no dump that races with this starts
 * another; then the writer, dropping what cannot be written; then the
 * lock. The structures stay until finalize, so that a racing dump fails
 * in the closed writer, and later calls fail with an error (see
 * logger_ready()). Returns whether the ops dumped were all written. */
static gboolean
close_logger (PlogLogger  *self,
              gboolean    *stopped,
              GError     **error)
{
  gboolean ok = TRUE;

  *stopped = FALSE;
  turn_begin (self);
  /* Against an initialization on another thread: after this, it either
   * has finished, and is undone here, or will not run. */
  g_mutex_lock (&self->init_lock);
  if (g_atomic_int_get (&self->closed))
    {
      g_mutex_unlock (&self->init_lock);
      turn_end (self);
      return TRUE;
    }
  g_atomic_int_set (&self->closed, TRUE);
  g_mutex_unlock (&self->init_lock);

  if (self->compactor != NULL)
    plog_compactor_shutdown (self->compactor);
  if (self->dir != NULL)
    {
      plog_directory_lock_changes (self->dir);
      if (plog_writer_is_open (self->writer))
        ok = plog_writer_close (self->writer, TRUE, error);
      *stopped = g_atomic_int_get (&self->recording);
      g_atomic_int_set (&self->recording, FALSE);
      plog_directory_unlock_changes (self->dir);
      plog_directory_release_lock (self->dir);
    }
  turn_end (self);
  return ok;
}

static void
plog_logger_dispose (GObject *object)
{
  PlogLogger *self = PLOG_LOGGER (object);

  g_autoptr(GError) error = NULL;
  gboolean stopped;

  if (!close_logger (self, &stopped, &error))
    g_debug ("Stopping the logger of “%s” failed: %s",
             plog_logger_get_directory (self), error->message);

  G_OBJECT_CLASS (plog_logger_parent_class)->dispose (object);
}

/* Whether @self is ready for a call, which it is once initialized. A
 * logger made with g_object_new() and never initialized (as JavaScript's
 * `new Plog.Logger({directory})` leaves it) initializes itself now; one
 * whose initialization failed gives that error again; a closed one (see
 * close_logger()) holds nothing any more. */
static gboolean
logger_ready (PlogLogger  *self,
              GError     **error)
{
  if (G_LIKELY (g_atomic_pointer_get (&self->dir) != NULL && !g_atomic_int_get (&self->closed)))
    return TRUE;
  /* Initializes a logger that was not, fails as its initialization
   * failed, or as a closed logger does. */
  return g_initable_init (G_INITABLE (self), NULL, error);
}

static void
plog_logger_finalize (GObject *object)
{
  PlogLogger *self = PLOG_LOGGER (object);

  g_clear_pointer (&self->compactor, plog_compactor_free);
  g_clear_pointer (&self->writer, plog_writer_free);
  g_clear_pointer (&self->dir, plog_directory_unref);
  g_clear_pointer (&self->directory, g_free);
  g_clear_pointer (&self->path, g_free);
  g_clear_pointer (&self->main_context, g_main_context_unref);
  g_clear_error (&self->init_error);
  g_mutex_clear (&self->init_lock);
  /* Each waiting call's task holds the logger. */
  g_assert (g_queue_is_empty (&self->waiting_tasks));
  g_mutex_clear (&self->turn_lock);
  g_cond_clear (&self->turn_cond);

  G_OBJECT_CLASS (plog_logger_parent_class)->finalize (object);
}

static void
plog_logger_get_property (GObject    *object,
                          guint       prop_id,
                          GValue     *value,
                          GParamSpec *pspec)
{
  PlogLogger *self = PLOG_LOGGER (object);

  switch (prop_id)
    {
    case PROP_DIRECTORY:
      g_value_set_string (value, plog_logger_get_directory (self));
      break;

    case PROP_MAX_SIZE:
      g_value_set_int64 (value, plog_logger_get_max_size (self));
      break;

    case PROP_RECORDING:
      g_value_set_boolean (value, g_atomic_int_get (&self->recording));
      break;

    case PROP_SYNC_MODE:
      g_value_set_enum (value, g_atomic_int_get (&self->sync_mode));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
plog_logger_set_property (GObject      *object,
                          guint         prop_id,
                          const GValue *value,
                          GParamSpec   *pspec)
{
  PlogLogger *self = PLOG_LOGGER (object);

  switch (prop_id)
    {
    case PROP_DIRECTORY:
      self->directory = g_value_dup_string (value);
      break;

    case PROP_MAX_SIZE:
      plog_logger_limit (self, g_value_get_int64 (value));
      break;

    case PROP_SYNC_MODE:
      plog_logger_set_sync_mode (self, g_value_get_enum (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

/* The va_list marshaller of ::replayed, which only C handlers use. It
 * passes the op as it is, where g_cclosure_marshal_VOID__BOXEDv() would
 * copy it: every emitter holds a reference across the emission, and the
 * copy, a type-system lookup under a lock and two atomic operations,
 * cost about a quarter of a replay through the signal. Closures of
 * language bindings use the GValue marshaller, which still copies. */
static void
replayed_marshal_v (GClosure *closure,
                    GValue   *return_value G_GNUC_UNUSED,
                    gpointer  instance,
                    va_list   args,
                    gpointer  marshal_data,
                    int       n_params G_GNUC_UNUSED,
                    GType    *param_types G_GNUC_UNUSED)
{
  typedef void (*ReplayedFunc) (gpointer data1,
                                PlogOp  *op,
                                gpointer data2);
  GCClosure *cc = (GCClosure *) closure;
  ReplayedFunc callback;
  gpointer data1, data2;
  PlogOp *op;
  va_list args_copy;

  G_VA_COPY (args_copy, args);
  op = va_arg (args_copy, PlogOp *);
  va_end (args_copy);

  if (G_CCLOSURE_SWAP_DATA (closure))
    {
      data1 = closure->data;
      data2 = instance;
    }
  else
    {
      data1 = instance;
      data2 = closure->data;
    }
  callback = (ReplayedFunc) (marshal_data != NULL ? marshal_data : cc->callback);
  callback (data1, op, data2);
}

static void
plog_logger_class_init (PlogLoggerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = plog_logger_dispose;
  object_class->finalize = plog_logger_finalize;
  object_class->get_property = plog_logger_get_property;
  object_class->set_property = plog_logger_set_property;

  /**
   * PlogLogger:directory: (getter get_directory) (type filename)
   *
   * The directory of the logger's files. It is created (0700) when it
   * does not exist.
   *
   * A relative path is taken from the current directory when the logger
   * is initialized (by [ctor@Plog.Logger.new], `g_initable_init()`, or
   * the first call that needs the directory), and the property holds the
   * absolute path from then on: a later `chdir()` of the process does not
   * move the logger. It is made absolute as `GFile` does, with
   * `g_canonicalize_filename()`, which takes `.` and `..` by name, before
   * any symbolic link is followed; an absolute path is tidied the same
   * way (`/a/b/../c//` becomes `/a/c`).
   *
   * Since: 1.0
   */
  properties[PROP_DIRECTORY] =
    g_param_spec_string ("directory", NULL, NULL,
                         NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY |
                         G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * PlogLogger:max-size: (getter get_max_size) (setter limit)
   *
   * The size in bytes past which the current log is merged into a new
   * snapshot in the background, or 0 for no limit. At four times this
   * size, while a compaction runs, dumps wait for it (see
   * [method@Plog.Logger.dump]).
   *
   * Since: 1.0
   */
  properties[PROP_MAX_SIZE] =
    g_param_spec_int64 ("max-size", NULL, NULL,
                        0, G_MAXINT64, 0,
                        G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * PlogLogger:recording: (getter get_recording)
   *
   * Whether the logger is recording: between [method@Plog.Logger.record]
   * and [method@Plog.Logger.stop].
   *
   * Since: 1.0
   */
  properties[PROP_RECORDING] =
    g_param_spec_boolean ("recording", NULL, NULL,
                          FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * PlogLogger:sync-mode: (getter get_sync_mode) (setter set_sync_mode)
   *
   * How dumped ops are made durable. It may change while recording.
   *
   * Since: 1.0
   */
  properties[PROP_SYNC_MODE] =
    g_param_spec_enum ("sync-mode", NULL, NULL,
                       PLOG_TYPE_SYNC_MODE, PLOG_SYNC_MODE_PERIODIC,
                       G_PARAM_READWRITE | G_PARAM_CONSTRUCT |
                       G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * PlogLogger::replayed:
   * @self: a `PlogLogger`
   * @op: the replayed op
   *
   * Emitted for each op of a replay, in order: by [method@Plog.Logger.play]
   * in the calling thread, and by [method@Plog.Logger.play_async] in the
   * thread-default main context of its caller. A handler may keep @op with
   * [method@Plog.Op.ref].
   *
   * Since: 1.0
   */
  signals[REPLAYED] =
    g_signal_new ("replayed",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0,
                  NULL, NULL,
                  g_cclosure_marshal_VOID__BOXED,
                  G_TYPE_NONE, 1, PLOG_TYPE_OP);
  g_signal_set_va_marshaller (signals[REPLAYED],
                              G_TYPE_FROM_CLASS (klass),
                              replayed_marshal_v);

  /**
   * PlogLogger::compacted:
   * @self: a `PlogLogger`
   *
   * Emitted each time a compaction, automatic or from
   * [method@Plog.Logger.compact_async], has landed a new snapshot: it is
   * in place and synced, and the files it replaces are removed (or, when
   * removing them failed, left for the next compaction or open to remove;
   * a replay never reads them). A compaction with no log to merge lands
   * nothing. It is emitted in the thread-default main context of the
   * thread that created the logger, when that context runs.
   *
   * Since: 1.0
   */
  signals[COMPACTED] =
    g_signal_new ("compacted",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0,
                  NULL, NULL,
                  g_cclosure_marshal_VOID__VOID,
                  G_TYPE_NONE, 0);
}

static void
plog_logger_init (PlogLogger *self)
{
  self->main_context = g_main_context_ref_thread_default ();
  g_atomic_int_set (&self->sync_mode, PLOG_SYNC_MODE_PERIODIC);
  g_mutex_init (&self->init_lock);
  g_mutex_init (&self->turn_lock);
  g_cond_init (&self->turn_cond);
  g_queue_init (&self->waiting_tasks);
}

/**
 * plog_logger_new:
 * @directory: (type filename): the directory of the logger's files
 * @error: return location for an error
 *
 * Opens the logger of @directory, creating the directory (0700) when it
 * does not exist, and takes an exclusive lock on it for the logger's
 * life. Temporary files left by a crash are removed.
 *
 * A second logger on the same directory, in this process or another,
 * fails with [error@Plog.Error.LOCKED]. A path that names something else
 * than a directory, or a directory that cannot be created or opened,
 * fails with [error@Plog.Error.IO].
 *
 * Returns: (transfer full): a new `PlogLogger`, or `NULL` with @error set
 *
 * Since: 1.0
 */
PlogLogger *
plog_logger_new (const char  *directory,
                 GError     **error)
{
  g_return_val_if_fail (directory != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return g_initable_new (PLOG_TYPE_LOGGER, NULL, error, "directory", directory, NULL);
}

/**
 * plog_logger_get_directory: (get-property directory)
 * @self: a `PlogLogger`
 *
 * The directory of the logger's files: once the logger is initialized,
 * the absolute path, tidied (see [property@Plog.Logger:directory]);
 * before, as given.
 *
 * Returns: (nullable) (type filename): the directory, or `NULL` for a
 *   logger made without one
 *
 * Since: 1.0
 */
const char *
plog_logger_get_directory (PlogLogger *self)
{
  const char *path;

  g_return_val_if_fail (PLOG_IS_LOGGER (self), NULL);

  path = g_atomic_pointer_get (&self->path);
  return path != NULL ? path : self->directory;
}

/**
 * plog_logger_limit: (set-property max-size)
 * @self: a `PlogLogger`
 * @max_size: the size in bytes, or 0 for no limit
 *
 * Sets the size past which the current log is merged into a new snapshot
 * in the background: the Go original's `Limit`. It takes effect at the
 * next dump.
 *
 * Since: 1.0
 */
void
plog_logger_limit (PlogLogger *self,
                   gint64      max_size)
{
  g_return_if_fail (PLOG_IS_LOGGER (self));
  g_return_if_fail (max_size >= 0);

  if (plog_logger_get_max_size (self) == max_size)
    return;
  /* Against an initialization that creates the writer meanwhile. */
  g_mutex_lock (&self->init_lock);
  __atomic_store_n (&self->max_size, max_size, __ATOMIC_RELAXED);
  if (self->writer != NULL)
    plog_writer_set_max_size (self->writer, max_size);
  g_mutex_unlock (&self->init_lock);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAX_SIZE]);
}

/**
 * plog_logger_get_max_size: (get-property max-size)
 * @self: a `PlogLogger`
 *
 * The size past which the current log is compacted, or 0 for no limit.
 *
 * Returns: the size in bytes
 *
 * Since: 1.0
 */
gint64
plog_logger_get_max_size (PlogLogger *self)
{
  g_return_val_if_fail (PLOG_IS_LOGGER (self), 0);

  return __atomic_load_n (&self->max_size, __ATOMIC_RELAXED);
}

/**
 * plog_logger_get_sync_mode: (get-property sync-mode)
 * @self: a `PlogLogger`
 *
 * How dumped ops are made durable.
 *
 * Returns: the sync mode
 *
 * Since: 1.0
 */
PlogSyncMode
plog_logger_get_sync_mode (PlogLogger *self)
{
  g_return_val_if_fail (PLOG_IS_LOGGER (self), PLOG_SYNC_MODE_PERIODIC);

  return g_atomic_int_get (&self->sync_mode);
}

/**
 * plog_logger_set_sync_mode: (set-property sync-mode)
 * @self: a `PlogLogger`
 * @sync_mode: the new mode
 *
 * Sets how dumped ops are made durable; it may change while recording and
 * applies to the next dump.
 *
 * Since: 1.0
 */
void
plog_logger_set_sync_mode (PlogLogger   *self,
                           PlogSyncMode  sync_mode)
{
  g_return_if_fail (PLOG_IS_LOGGER (self));
  g_return_if_fail (sync_mode <= PLOG_SYNC_MODE_ALWAYS);

  if ((PlogSyncMode) g_atomic_int_get (&self->sync_mode) == sync_mode)
    return;
  /* Against an initialization that creates the writer meanwhile. */
  g_mutex_lock (&self->init_lock);
  g_atomic_int_set (&self->sync_mode, sync_mode);
  if (self->writer != NULL)
    plog_writer_set_sync_mode (self->writer, sync_mode);
  g_mutex_unlock (&self->init_lock);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SYNC_MODE]);
}

/* Cuts a torn tail off the newest log, so that the next log does not make
 * it damage in the middle. Damage followed by a good record fails with
 * PLOG_ERROR_CORRUPT and changes nothing. */
static gboolean
repair_torn_tail (PlogLogger  *self,
                  guint       *n_files,
                  gint64      *newest_log_size,
                  GError     **error)
{
  g_autoptr(PlogCursor) cursor = NULL;
  PlogRecordView view;
  const guint8 *record;
  gsize record_size;
  GError *local_error = NULL;
  const char *path;
  gint64 end;
  int fd;
  gboolean ok, torn;

  cursor = _plog_cursor_open (self->dir, NULL, G_MAXUINT64, TRUE, error);
  if (cursor == NULL)
    return FALSE;
  *n_files = _plog_cursor_get_n_files (cursor);
  while (_plog_cursor_next_record (cursor, &view, &record, &record_size, NULL, &local_error))
    ;
  if (local_error != NULL)
    {
      g_propagate_error (error, local_error);
      return FALSE;
    }
  torn = _plog_cursor_get_torn (cursor, &end, &path);
  if (path == NULL || !g_str_has_suffix (path, ".log"))
    return TRUE;
  *newest_log_size = end;

  /* The newest log may hold what a crash left unsynced, even when it
   * reads back whole: it is synced before a newer log exists, so that it
   * can never end torn behind one. */
  fd = plog_segment_open (path, O_WRONLY, error);
  if (fd < 0)
    return FALSE;
  ok = TRUE;
  if (torn)
    {
      g_debug ("Cutting the torn tail of “%s” at byte %" G_GINT64_FORMAT, path, end);
      ok = plog_segment_truncate (fd, path, end, error);
    }
  if (ok && torn && end < PLOG_SEGMENT_HEADER_SIZE)
    {
      /* Even the header was torn: the log had no record. */
      g_autofree char *name = g_path_get_basename (path);
      guint8 header[PLOG_SEGMENT_HEADER_SIZE];

      plog_segment_header_encode (header, PLOG_SEGMENT_LOG, g_ascii_strtoull (name, NULL, 10));
      ok = plog_segment_truncate (fd, path, 0, error) &&
           plog_segment_write_all (fd, path, header, sizeof header, error);
    }
  ok = ok && plog_segment_sync (fd, path, error);
  if (!ok)
    {
      close (fd);
      return FALSE;
    }
  return plog_segment_close (fd, path, error);
}

/* plog_logger_record(), a LifecycleFunc. */
static gboolean
record_internal (PlogLogger  *self,
                 gboolean    *started,
                 GError     **error)
{
  guint n_files = 0;
  gint64 newest_log_size = 0;
  gboolean ok;

  *started = FALSE;
  if (!logger_ready (self, error))
    return FALSE;
  if (g_atomic_int_get (&self->recording))
    return TRUE;

  plog_directory_lock_changes (self->dir);
  if (g_atomic_int_get (&self->closed))
    {
      plog_directory_unlock_changes (self->dir);
      return plog_set_closed_error (error, plog_logger_get_directory (self));
    }
  ok = repair_torn_tail (self, &n_files, &newest_log_size, error);
  /* A crash while recording leaves the blocks reserved for logs. A new
   * log reserves as many as the last one took. */
  if (ok)
    plog_directory_release_reserved (self->dir);
  if (ok && newest_log_size > 0)
    plog_writer_set_last_size (self->writer, newest_log_size);
  ok = ok && plog_writer_open (self->writer, plog_directory_alloc_seq (self->dir, 1), error);
  if (ok)
    g_atomic_int_set (&self->recording, TRUE);
  plog_directory_unlock_changes (self->dir);
  if (!ok)
    return FALSE;

  /* Every record starts a log: without a max-size, logs of many runs
   * would pile up, and each replay opens them all. */
  if (n_files > MAX_REPLAY_FILES)
    plog_compactor_request_auto (self->compactor);

  *started = TRUE;
  return TRUE;
}

/**
 * plog_logger_record:
 * @self: a `PlogLogger`
 * @error: return location for an error
 *
 * Starts recording into a fresh log. Does nothing when already recording.
 *
 * A torn record at the end of the newest log, left by a crash, is cut
 * away first. Damage followed by a good record is not a torn tail: then
 * this fails with [error@Plog.Error.CORRUPT] and changes nothing.
 *
 * To tell a torn tail from damage, it reads and checks every file of the
 * replay set (a second or so per gigabyte on a typical disk, less when
 * the files were just replayed and are still cached). A program with a
 * main loop calls [method@Plog.Logger.record_async] instead.
 *
 * Returns: `TRUE` on success
 *
 * Since: 1.0
 */
gboolean
plog_logger_record (PlogLogger  *self,
                    GError     **error)
{
  g_return_val_if_fail (PLOG_IS_LOGGER (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return call_in_turn (self, record_internal, error);
}

/**
 * plog_logger_get_recording: (get-property recording)
 * @self: a `PlogLogger`
 *
 * Whether the logger is recording.
 *
 * Returns: `TRUE` between [method@Plog.Logger.record] and
 *   [method@Plog.Logger.stop]
 *
 * Since: 1.0
 */
gboolean
plog_logger_get_recording (PlogLogger *self)
{
  g_return_val_if_fail (PLOG_IS_LOGGER (self), FALSE);

  return g_atomic_int_get (&self->recording);
}

/**
 * plog_logger_dump:
 * @self: a `PlogLogger`
 * @op: the op to append
 * @error: return location for an error
 *
 * Appends @op to the current log. Under [enum@Plog.SyncMode.ALWAYS] it
 * returns once @op is on disk; in the other modes it never waits for a
 * sync, and waits for the writer thread only when 4 MiB of dumps are
 * queued for it (the disk takes them slower than they come). When the log
 * passes [property@Plog.Logger:max-size], a compaction starts in the
 * background.
 *
 * A dumper that outruns compaction for long (the log reaches four times
 * [property@Plog.Logger:max-size] while a compaction still runs) waits
 * here until a compaction has rotated that log away, or none runs any
 * more, so that the directory stays bounded by max-size and the live
 * set however long the stream lasts; a program that dumps at a rate its
 * disk and processor can merge never waits.
 *
 * When the disk refuses a write (it is full, say), the records not yet
 * written stay queued and are written once it takes them again. So under
 * [enum@Plog.SyncMode.ALWAYS] an op whose dump failed with
 * [error@Plog.Error.IO] may still reach the log: it is not known to be
 * absent. In the other modes a dump returns before its op is written,
 * so it succeeds until the writer's failure comes to light.
 *
 * May be called from any thread, even while another one closes the
 * logger (the dumping thread holding a reference of its own): a dump
 * that comes after the writer closed fails as when not recording.
 *
 * Returns: `TRUE` on success; `FALSE` with [error@Plog.Error.NOT_RECORDING]
 *   when not recording (a logger not yet initialized, or closed, is
 *   not), [error@Plog.Error.TOO_LARGE] for an op whose record
 *   exceeds [const@Plog.OP_MAX_SIZE], or [error@Plog.Error.IO]: for a
 *   full disk, every op dumped before is kept and written once the disk
 *   takes writes again; after a failed sync, which the dump that ran it
 *   reports with the system's error, every later dump fails saying that
 *   the ops dumped since the last sync may be lost, until the logger is
 *   stopped and records again
 *
 * Since: 1.0
 */
gboolean
plog_logger_dump (PlogLogger  *self,
                  PlogOp      *op,
                  GError     **error)
{
  gint64 log_size, max_size;
  guint64 log_seq;

  g_return_val_if_fail (PLOG_IS_LOGGER (self), FALSE);
  g_return_val_if_fail (op != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  /* A logger that was not initialized is not recording (a closed one
   * fails in its closed writer). */
  if (G_UNLIKELY (g_atomic_pointer_get (&self->dir) == NULL))
    return plog_set_not_recording_error (error, plog_logger_get_directory (self));

  if (!plog_writer_append (self->writer, op, &log_seq, &log_size, error))
    return FALSE;
  max_size = __atomic_load_n (&self->max_size, __ATOMIC_RELAXED);
  if (max_size > 0 && log_size > max_size)
    {
      plog_compactor_request_auto (self->compactor);
      /* Backpressure: a dumper that outruns compaction waits for it once
       * the current log is PLOG_STALL_FACTOR times over the limit, so
       * that the directory stays bounded by max-size and the live set,
       * not by how long the dumping lasts. */
      if (log_size / PLOG_STALL_FACTOR > max_size)
        plog_compactor_throttle (self->compactor, log_seq);
    }
  return TRUE;
}

/**
 * plog_logger_flush:
 * @self: a `PlogLogger`
 * @error: return location for an error
 *
 * Makes every op dumped so far durable, whatever the sync mode. Does
 * nothing when not recording.
 *
 * Returns: `TRUE` on success
 *
 * Since: 1.0
 */
gboolean
plog_logger_flush (PlogLogger  *self,
                   GError     **error)
{
  g_return_val_if_fail (PLOG_IS_LOGGER (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  /* A logger that is not initialized, or closed, is not recording. */
  if (g_atomic_pointer_get (&self->dir) == NULL || g_atomic_int_get (&self->closed))
    return TRUE;

  return plog_writer_flush (self->writer, error);
}

/* plog_logger_stop(), a LifecycleFunc. A failed stop may have stopped
 * recording too. */
static gboolean
stop_internal (PlogLogger  *self,
               gboolean    *stopped,
               GError     **error)
{
  gboolean ok;

  *stopped = FALSE;
  /* A no-op when not recording, as a logger not initialized, or closed, is not. */
  if (!g_atomic_int_get (&self->recording))
    return TRUE;
  ok = plog_writer_close (self->writer, FALSE, error);
  /* A log that can still take the ops keeps recording, so that a later
   * stop may succeed; a log that cannot (a failed sync) is closed all the
   * same, and the error says what may be lost. */
  if (plog_writer_is_open (self->writer))
    return FALSE;
  plog_compactor_wait_idle (self->compactor);

  g_atomic_int_set (&self->recording, FALSE);
  *stopped = TRUE;
  return ok;
}

/**
 * plog_logger_stop:
 * @self: a `PlogLogger`
 * @error: return location for an error
 *
 * Stops recording. Returns once every dumped op is written (and durable,
 * in every mode but [enum@Plog.SyncMode.NONE]) and any compaction has
 * finished. Does nothing when not recording.
 *
 * When the ops cannot be written (a full disk, say), it fails and the
 * logger goes on recording, so that a later stop may succeed; a logger
 * freed then drops what it could not write. When the log failed to sync
 * earlier, the kernel may have dropped what it could not write: then it
 * fails with [error@Plog.Error.IO] but the logger is stopped.
 *
 * Waiting for a compaction may take seconds with a large live set: a
 * program with a main loop calls [method@Plog.Logger.stop_async] instead.
 *
 * Returns: `TRUE` on success
 *
 * Since: 1.0
 */
gboolean
plog_logger_stop (PlogLogger  *self,
                  GError     **error)
{
  g_return_val_if_fail (PLOG_IS_LOGGER (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return call_in_turn (self, stop_internal, error);
}

/* plog_logger_clear(), a LifecycleFunc: it stops recording when it can
 * neither start a fresh log nor take its empty snapshot back. */
static gboolean
clear_internal (PlogLogger  *self,
                gboolean    *stopped,
                GError     **error)
{
  gboolean ok;

  *stopped = FALSE;
  if (!logger_ready (self, error))
    return FALSE;
  ok = plog_compactor_clear (self->compactor, stopped, error);
  *stopped = *stopped && g_atomic_int_get (&self->recording);
  if (*stopped)
    g_atomic_int_set (&self->recording, FALSE);
  return ok;
}

/* plog_logger_flush(), a LifecycleFunc for flush_async(). */
static gboolean
flush_internal (PlogLogger  *self,
                gboolean    *changed,
                GError     **error)
{
  *changed = FALSE;
  return plog_logger_flush (self, error);
}

/* The asynchronous forms of record, stop, clear and flush. The call takes
 * its ticket when it is made, and runs in an inner task on a thread of
 * GLib's pool once its turn has come; the inner task's callback, in the
 * caller's context, notifies :recording when the call changed it, then
 * completes the caller's task, so that the caller's callback sees the
 * notification first, and never runs on the worker. The inner task has
 * no source object: only the caller's task holds the logger, and drops
 * it in the caller's context, so that the last reference never goes on
 * a worker thread (where its disposal would close the directory late,
 * or wait for a compaction). */

static void
lifecycle_thread (GTask        *task,
                  gpointer      source_object,
                  gpointer      task_data,
                  GCancellable *cancellable)
{
  LifecycleData *data = task_data;
  PlogLogger *self = data->logger;
  GError *error = NULL;
  gboolean ok;

  /* Its turn has come (see turn_queue_task()). Cancelled before it
   * came, it changes nothing; once begun, it runs to its end. */
  ok = !g_cancellable_set_error_if_cancelled (cancellable, &error) &&
       data->func (self, &data->changed, &error);
  /* The turn passes before the caller hears of the result, so that its
   * callback may make a synchronous call. */
  turn_end (self);
  if (ok)
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

/* In the caller's context: completes a call that was cancelled while it
 * waited for its turn. From an idle, not from the ::cancelled handler,
 * whose caller may be in that context: lifecycle_done() disconnects the
 * handler, which must not happen inside it. */
static gboolean
lifecycle_give_up_cb (gpointer user_data)
{
  GTask *inner = user_data;

  if (!g_task_return_error_if_cancelled (inner))
    g_task_return_new_error (inner, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                             "Operation was cancelled");
  return G_SOURCE_REMOVE;
}

static void
lifecycle_give_up (GTask *inner)
{
  g_autoptr(GSource) source = g_idle_source_new ();

  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_static_name (source, "[plog] cancelled while waiting");
  g_source_set_callback (source, lifecycle_give_up_cb, g_object_ref (inner), g_object_unref);
  g_source_attach (source, g_task_get_context (inner));
}

/* ::cancelled of a call's cancellable, in any thread: a call whose turn
 * has not come completes without waiting for it, with
 * G_IO_ERROR_CANCELLED, and its turn passes when it comes
 * (turn_start_task_locked()). One whose turn came checks the cancellable
 * itself (lifecycle_thread()). A call not queued yet is completed by
 * lifecycle_async() once it is, after it stored the handler's id, which
 * lifecycle_done() needs to disconnect it. */
static void
lifecycle_cancelled (GCancellable *cancellable,
                     gpointer      user_data)
{
  GTask *inner = user_data;
  LifecycleData *data = g_task_get_task_data (inner);
  PlogLogger *self = data->logger;
  gboolean complete;

  g_mutex_lock (&self->turn_lock);
  complete = !data->started && !data->given_up && data->queued;
  if (!data->started)
    data->given_up = TRUE;
  g_mutex_unlock (&self->turn_lock);

  if (complete)
    lifecycle_give_up (inner);
}

static void
lifecycle_done (GObject      *source_object,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  LifecycleData *data = g_task_get_task_data (G_TASK (result));
  GError *error = NULL;

  /* Waits for a handler running in another thread; after this none
   * runs, so the logger, which the caller's task holds until it
   * completes below, outlives every use of it there. */
  if (data->cancelled_id != 0)
    g_cancellable_disconnect (g_task_get_cancellable (G_TASK (result)), data->cancelled_id);
  if (data->changed)
    g_object_notify_by_pspec (G_OBJECT (data->logger), properties[PROP_RECORDING]);
  if (g_task_propagate_boolean (G_TASK (result), &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
lifecycle_async (PlogLogger          *self,
                 LifecycleFunc        func,
                 gpointer             source_tag,
                 GCancellable        *cancellable,
                 GAsyncReadyCallback  callback,
                 gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GTask) inner = NULL;
  LifecycleData *data;

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, source_tag);
  /* A call that ran reports what it did, even when the cancellable was
   * cancelled meanwhile. */
  g_task_set_check_cancellable (task, FALSE);

  data = g_new0 (LifecycleData, 1);
  data->logger = self;
  data->func = func;
  inner = g_task_new (NULL, cancellable, lifecycle_done, g_object_ref (task));
  g_task_set_source_tag (inner, source_tag);
  g_task_set_check_cancellable (inner, FALSE);
  g_task_set_task_data (inner, data, g_free);
  /* The handler runs at once when the cancellable is cancelled already;
   * until the task is queued, it only marks it given up. */
  if (cancellable != NULL)
    data->cancelled_id = g_cancellable_connect (cancellable, G_CALLBACK (lifecycle_cancelled),
                                                g_object_ref (inner), g_object_unref);
  /* Not return-on-cancel (the default): a task whose turn came must run,
   * or the turns would stop at its number. */
  if (turn_queue_task (self, inner))
    lifecycle_give_up (inner);
}

/**
 * plog_logger_record_async:
 * @self: a `PlogLogger`
 * @cancellable: (nullable): a `GCancellable`
 * @callback: (scope async): called when the logger records, or failed to
 * @user_data: data for @callback
 *
 * Starts recording as [method@Plog.Logger.record] does, on a worker
 * thread, so that reading and checking the files does not block the
 * caller's main loop. [property@Plog.Logger:recording] is notified in
 * the thread-default main context of the caller, before @callback runs
 * there.
 *
 * Until the worker has opened the new log, [method@Plog.Logger.dump]
 * fails with [error@Plog.Error.NOT_RECORDING], as before any record;
 * from then on dumps are taken, and
 * [method@Plog.Logger.get_recording] returns `TRUE`, even before the
 * notification and @callback come. It takes its turn among
 * [method@Plog.Logger.record], [method@Plog.Logger.stop],
 * [method@Plog.Logger.clear], [method@Plog.Logger.close] and their
 * asynchronous forms when it is called: a stop called after it, even
 * before its worker began, stops what it started.
 *
 * A call whose @cancellable is cancelled before its turn comes changes
 * nothing, and fails with `G_IO_ERROR_CANCELLED` without waiting for its
 * turn; once begun, the call runs to its end and reports what it did.
 *
 * Since: 1.0
 */
void
plog_logger_record_async (PlogLogger          *self,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  g_return_if_fail (PLOG_IS_LOGGER (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  lifecycle_async (self, record_internal, plog_logger_record_async,
                   cancellable, callback, user_data);
}

/**
 * plog_logger_record_finish:
 * @self: a `PlogLogger`
 * @result: the `GAsyncResult`
 * @error: return location for an error
 *
 * Finishes [method@Plog.Logger.record_async].
 *
 * Returns: `TRUE` when the logger records; `FALSE` with @error set, to
 *   the errors of [method@Plog.Logger.record] or `G_IO_ERROR_CANCELLED`
 *
 * Since: 1.0
 */
gboolean
plog_logger_record_finish (PlogLogger    *self,
                           GAsyncResult  *result,
                           GError       **error)
{
  g_return_val_if_fail (PLOG_IS_LOGGER (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_async_result_is_tagged (result, plog_logger_record_async), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * plog_logger_stop_async:
 * @self: a `PlogLogger`
 * @cancellable: (nullable): a `GCancellable`
 * @callback: (scope async): called when the logger stopped, or failed to
 * @user_data: data for @callback
 *
 * Stops recording as [method@Plog.Logger.stop] does, on a worker thread,
 * so that writing and syncing the last ops, and waiting for a running
 * compaction, do not block the caller's main loop.
 * [property@Plog.Logger:recording] is notified in the thread-default
 * main context of the caller, before @callback runs there.
 *
 * Dumps go on being taken until the log closes; a dump that comes after
 * fails with [error@Plog.Error.NOT_RECORDING]. It takes its turn among
 * [method@Plog.Logger.record], [method@Plog.Logger.stop],
 * [method@Plog.Logger.clear], [method@Plog.Logger.close] and their
 * asynchronous forms when it is called: it stops what a record called
 * before it started, and a record called after it starts again.
 *
 * A GTK application that stops its logger at its end holds itself
 * (`g_application_hold()`) until @callback runs, then drops the logger,
 * whose disposal is quick once it is stopped.
 *
 * A call whose @cancellable is cancelled before its turn comes changes
 * nothing, and fails with `G_IO_ERROR_CANCELLED` without waiting for its
 * turn; once begun, the call runs to its end and reports what it did.
 *
 * Since: 1.0
 */
void
plog_logger_stop_async (PlogLogger          *self,
                        GCancellable        *cancellable,
                        GAsyncReadyCallback  callback,
                        gpointer             user_data)
{
  g_return_if_fail (PLOG_IS_LOGGER (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  lifecycle_async (self, stop_internal, plog_logger_stop_async,
                   cancellable, callback, user_data);
}

/**
 * plog_logger_stop_finish:
 * @self: a `PlogLogger`
 * @result: the `GAsyncResult`
 * @error: return location for an error
 *
 * Finishes [method@Plog.Logger.stop_async].
 *
 * Returns: `TRUE` on success; `FALSE` with @error set, to the errors of
 *   [method@Plog.Logger.stop] or `G_IO_ERROR_CANCELLED`
 *
 * Since: 1.0
 */
gboolean
plog_logger_stop_finish (PlogLogger    *self,
                         GAsyncResult  *result,
                         GError       **error)
{
  g_return_val_if_fail (PLOG_IS_LOGGER (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_async_result_is_tagged (result, plog_logger_stop_async), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * plog_logger_flush_async:
 * @self: a `PlogLogger`
 * @cancellable: (nullable): a `GCancellable`
 * @callback: (scope async): called when the ops are durable, or failed to be
 * @user_data: data for @callback
 *
 * Makes every op dumped before the call durable, as
 * [method@Plog.Logger.flush] does, on a worker thread, so that the sync
 * does not block the caller's main loop. Unlike
 * [method@Plog.Logger.flush], it takes its turn among the calls of
 * [method@Plog.Logger.record_async] and its kin, so that it runs after
 * a record or stop called before it (a stop makes every op durable
 * itself).
 *
 * A call whose @cancellable is cancelled before its turn comes fails
 * with `G_IO_ERROR_CANCELLED` without waiting for its turn; once begun,
 * the call runs to its end and reports what it did.
 *
 * Since: 1.0
 */
void
plog_logger_flush_async (PlogLogger          *self,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  g_return_if_fail (PLOG_IS_LOGGER (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  lifecycle_async (self, flush_internal, plog_logger_flush_async,
                   cancellable, callback, user_data);
}

/**
 * plog_logger_flush_finish:
 * @self: a `PlogLogger`
 * @result: the `GAsyncResult`
 * @error: return location for an error
 *
 * Finishes [method@Plog.Logger.flush_async].
 *
 * Returns: `TRUE` on success; `FALSE` with @error set, to the errors of
 *   [method@Plog.Logger.flush] or `G_IO_ERROR_CANCELLED`
 *
 * Since: 1.0
 */
gboolean
plog_logger_flush_finish (PlogLogger    *self,
                          GAsyncResult  *result,
                          GError       **error)
{
  g_return_val_if_fail (PLOG_IS_LOGGER (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_async_result_is_tagged (result, plog_logger_flush_async), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * plog_logger_clear_async:
 * @self: a `PlogLogger`
 * @cancellable: (nullable): a `GCancellable`
 * @callback: (scope async): called when the logger is cleared, or failed to be
 * @user_data: data for @callback
 *
 * Clears the logger as [method@Plog.Logger.clear] does, on a worker
 * thread: a clear syncs the directory several times, and waits for a
 * running compaction. When the clear stops the logger,
 * [property@Plog.Logger:recording] is notified in the thread-default
 * main context of the caller, before @callback runs there. It takes its
 * turn among [method@Plog.Logger.record], [method@Plog.Logger.stop],
 * [method@Plog.Logger.clear], [method@Plog.Logger.close] and their
 * asynchronous forms when it is called.
 *
 * A call whose @cancellable is cancelled before its turn comes changes
 * nothing, and fails with `G_IO_ERROR_CANCELLED` without waiting for its
 * turn; once begun, the call runs to its end and reports what it did.
 *
 * Since: 1.0
 */
void
plog_logger_clear_async (PlogLogger          *self,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  g_return_if_fail (PLOG_IS_LOGGER (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  lifecycle_async (self, clear_internal, plog_logger_clear_async,
                   cancellable, callback, user_data);
}

/**
 * plog_logger_clear_finish:
 * @self: a `PlogLogger`
 * @result: the `GAsyncResult`
 * @error: return location for an error
 *
 * Finishes [method@Plog.Logger.clear_async].
 *
 * Returns: `TRUE` on success; `FALSE` with @error set, to the errors of
 *   [method@Plog.Logger.clear] or `G_IO_ERROR_CANCELLED`
 *
 * Since: 1.0
 */
gboolean
plog_logger_clear_finish (PlogLogger    *self,
                          GAsyncResult  *result,
                          GError       **error)
{
  g_return_val_if_fail (PLOG_IS_LOGGER (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_async_result_is_tagged (result, plog_logger_clear_async), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * plog_logger_close:
 * @self: a `PlogLogger`
 * @error: return location for an error
 *
 * Stops the logger, as [method@Plog.Logger.stop] does, and releases its
 * directory: the lock goes at once, and another logger may open the
 * directory, in this process or another. The logger is closed even when
 * stopping fails (a full disk, say): the ops that could not be written
 * are dropped, and the error is returned.
 *
 * Unlike a stop, it does not wait for compactions to come: a running
 * compaction finishes first, but a queued
 * [method@Plog.Logger.compact_async] fails with
 * [error@Plog.Error.FAILED], and a pending automatic one is dropped.
 *
 * A closed logger is not recording. [method@Plog.Logger.dump] fails on
 * it with [error@Plog.Error.NOT_RECORDING], [method@Plog.Logger.stop],
 * [method@Plog.Logger.flush] and this function do nothing, and
 * [method@Plog.Logger.record], [method@Plog.Logger.play],
 * [method@Plog.Logger.play_async], [method@Plog.Logger.open_cursor],
 * [method@Plog.Logger.clear] and [method@Plog.Logger.compact_async]
 * fail with [error@Plog.Error.FAILED]. Its properties still read and
 * change, and take effect nowhere.
 *
 * Disposing a logger closes it too; call this to release the directory
 * at a known point without waiting for the last reference to go (in
 * Python and JavaScript, for the garbage collector).
 *
 * Returns: `TRUE` on success; `FALSE` with [error@Plog.Error.IO] when
 *   the ops dumped could not all be written
 *
 * Since: 1.0
 */
gboolean
plog_logger_close (PlogLogger  *self,
                   GError     **error)
{
  gboolean stopped;
  gboolean ok;

  g_return_val_if_fail (PLOG_IS_LOGGER (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  ok = close_logger (self, &stopped, error);
  if (stopped)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RECORDING]);
  return ok;
}

/**
 * plog_logger_clear:
 * @self: a `PlogLogger`
 * @error: return location for an error
 *
 * Removes every snapshot and log. A recording logger goes on recording
 * into a fresh log. A crash in the middle replays either the old state or
 * an empty one, never a mix. Ops that other threads dump while it runs
 * may or may not be cleared.
 *
 * When it fails, nothing is cleared, with one exception: when a recording
 * logger can start no fresh log and cannot take its empty snapshot back
 * either, the clear stands and the logger stops recording
 * ([property@Plog.Logger:recording] turns `FALSE`; ops not yet written
 * are dropped with the rest).
 *
 * Returns: `TRUE` on success; `FALSE` with @error set
 *
 * Since: 1.0
 */
gboolean
plog_logger_clear (PlogLogger  *self,
                   GError     **error)
{
  g_return_val_if_fail (PLOG_IS_LOGGER (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return call_in_turn (self, clear_internal, error);
}

/**
 * plog_logger_open_cursor:
 * @self: a `PlogLogger`
 * @error: return location for an error
 *
 * Pins the current replay set (the newest snapshot and every later log,
 * up to the last op dumped so far) and returns a cursor that reads it op
 * by op with [method@Plog.Cursor.next]. The cursor keeps the files open,
 * so a compaction or a clear that runs meanwhile changes nothing it
 * returns.
 *
 * Returns: (transfer full): a new `PlogCursor`, or `NULL` with @error set
 *
 * Since: 1.0
 */
PlogCursor *
plog_logger_open_cursor (PlogLogger  *self,
                         GError     **error)
{
  g_return_val_if_fail (PLOG_IS_LOGGER (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);
  if (!logger_ready (self, error))
    return NULL;

  return _plog_cursor_open (self->dir, self->writer, G_MAXUINT64, TRUE, error);
}

static gboolean
play_internal (PlogLogger           *self,
               PlogOperateFunc       operate,
               PlogOperateFullFunc   operate_full,
               gpointer              user_data,
               GCancellable         *cancellable,
               GError              **error)
{
  g_autoptr(PlogCursor) cursor = NULL;
  g_autoptr(PlogReplay) replay = NULL;
  GError *local_error = NULL;
  gboolean finished = FALSE;
  gboolean cancelled = FALSE;

  cursor = plog_logger_open_cursor (self, error);
  if (cursor == NULL)
    return FALSE;
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;

  /* Batches are read ahead on a worker thread once there is more than
   * one, which also makes the ops when delivering one costs as much (the
   * signal has handlers, or a language binding's callback takes it); the
   * cancellable is checked before each op. */
  replay = plog_replay_new (cursor, cancellable, NULL,
                            operate_full != NULL ||
                            g_signal_has_handler_pending (self, signals[REPLAYED], 0, FALSE));
  while (!finished && !cancelled)
    {
      PlogReplayBatch *batch = plog_replay_next (replay, TRUE, &finished, &local_error);
      guint len;

      if (batch == NULL)
        continue;
      len = plog_replay_batch_get_length (batch);
      for (guint i = 0; i < len; i++)
        {
          g_autoptr(PlogOp) made = NULL;
          PlogOp *op;

          /* Also before the first op of a batch: a cancel may have come
           * while this thread waited for it. */
          cancelled = cancellable != NULL && g_cancellable_is_cancelled (cancellable);
          if (cancelled)
            break;
          op = plog_replay_batch_get_op (batch, i, &made);
          if (operate != NULL)
            operate (op, user_data);
          else if (operate_full != NULL)
            operate_full (plog_op_ref (op), user_data);
          g_signal_emit (self, signals[REPLAYED], 0, op);
        }
      plog_replay_spent (replay, batch);
    }
  plog_replay_stop (replay, TRUE);

  if (local_error != NULL)
    {
      g_propagate_error (error, local_error);
      return FALSE;
    }
  return !g_cancellable_set_error_if_cancelled (cancellable, error);
}

/**
 * plog_logger_play:
 * @self: a `PlogLogger`
 * @operate: (nullable) (scope call) (closure user_data): called for each op
 * @user_data: data for @operate
 * @cancellable: (nullable): a `GCancellable`
 * @error: return location for an error
 *
 * Replays the newest snapshot and every later log, in order: for each op
 * it calls @operate, when given, then emits [signal@Plog.Logger::replayed]
 * in the calling thread. It may run while recording: it replays every op
 * dumped before the call.
 *
 * Past the first thousand ops or so, a worker thread reads and checks
 * the files ahead of the calling thread; @operate and the signal still
 * run only in the calling thread. Cancellation is checked before each op.
 *
 * A torn record at the end of the newest log, left by a crash, ends the
 * replay quietly.
 *
 * Returns: `TRUE` on success; `FALSE` with @error set, for example to
 *   [error@Plog.Error.CORRUPT] naming the file and offset, after the ops
 *   before the damage were delivered
 *
 * Since: 1.0
 */
gboolean
plog_logger_play (PlogLogger       *self,
                  PlogOperateFunc   operate,
                  gpointer          user_data,
                  GCancellable     *cancellable,
                  GError          **error)
{
  g_return_val_if_fail (PLOG_IS_LOGGER (self), FALSE);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  if (!logger_ready (self, error))
    return FALSE;

  return play_internal (self, operate, NULL, user_data, cancellable, error);
}

/**
 * plog_logger_play_full: (rename-to plog_logger_play)
 * @self: a `PlogLogger`
 * @operate: (nullable) (scope call) (closure user_data): called for each op,
 *   which it owns
 * @user_data: data for @operate
 * @cancellable: (nullable): a `GCancellable`
 * @error: return location for an error
 *
 * Replays like [method@Plog.Logger.play], but hands @operate a reference
 * to each op that it must release. Language bindings use this as `play`,
 * so that an op kept from the callback stays valid after it returns.
 *
 * Returns: `TRUE` on success; `FALSE` with @error set
 *
 * Since: 1.0
 */
gboolean
plog_logger_play_full (PlogLogger           *self,
                       PlogOperateFullFunc   operate,
                       gpointer              user_data,
                       GCancellable         *cancellable,
                       GError              **error)
{
  g_return_val_if_fail (PLOG_IS_LOGGER (self), FALSE);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  if (!logger_ready (self, error))
    return FALSE;

  return play_internal (self, NULL, operate, user_data, cancellable, error);
}

/* play_async: the batches a PlogReplay reads ahead on its worker are
 * delivered in the caller's context, one per dispatch of a source, so
 * that the rest of the main loop runs between them. The task returns
 * after the last signal. */

typedef struct
{
  PlogReplay *replay;   /* (owned) */
  GSource    *source;   /* (owned) */
} PlayData;

static void
play_data_free (gpointer data)
{
  PlayData *play = data;

  /* A worker still at it stops. */
  plog_replay_stop (play->replay, FALSE);
  plog_replay_unref (play->replay);
  g_source_destroy (play->source);
  g_source_unref (play->source);
  g_free (play);
}

static gboolean
play_dispatch (gpointer data)
{
  GTask *task = data;
  PlayData *play = g_task_get_task_data (task);
  PlogLogger *self = g_task_get_source_object (task);
  GError *error = NULL;
  gboolean finished;
  PlogReplayBatch *batch;

  /* Cancelled: not one more op. */
  if (g_task_return_error_if_cancelled (task))
    {
      plog_replay_stop (play->replay, FALSE);
      return G_SOURCE_REMOVE;
    }

  batch = plog_replay_next (play->replay, FALSE, &finished, &error);
  if (batch == NULL && !finished)
    {
      /* Sleep until the worker queues more, unless it just did. */
      g_source_set_ready_time (play->source, -1);
      batch = plog_replay_next (play->replay, FALSE, &finished, &error);
      if (batch == NULL && !finished)
        return G_SOURCE_CONTINUE;
      g_source_set_ready_time (play->source, 0);
    }

  if (batch != NULL)
    {
      gboolean cancelled = FALSE;
      guint len = plog_replay_batch_get_length (batch);

      for (guint i = 0; i < len && !cancelled; i++)
        {
          g_autoptr(PlogOp) made = NULL;
          PlogOp *op = plog_replay_batch_get_op (batch, i, &made);

          g_signal_emit (self, signals[REPLAYED], 0, op);
          cancelled = g_task_return_error_if_cancelled (task);
        }
      plog_replay_spent (play->replay, batch);
      if (!cancelled)
        return G_SOURCE_CONTINUE;
      /* The worker stops now, not when the result goes. */
      plog_replay_stop (play->replay, FALSE);
      return G_SOURCE_REMOVE;
    }

  if (error != NULL)
    g_task_return_error (task, error);
  else if (!g_task_return_error_if_cancelled (task))
    g_task_return_boolean (task, TRUE);
  return G_SOURCE_REMOVE;
}

/* A source that is ready when its ready time says so, and dispatches to
 * its callback. */
static gboolean
play_source_dispatch (GSource     *source,
                      GSourceFunc  callback,
                      gpointer     user_data)
{
  return callback (user_data);
}

static GSourceFuncs play_source_funcs = {
  .dispatch = play_source_dispatch,
};

/**
 * plog_logger_play_async:
 * @self: a `PlogLogger`
 * @cancellable: (nullable): a `GCancellable`
 * @callback: (scope async): called when the replay is done
 * @user_data: data for @callback
 *
 * Replays like [method@Plog.Logger.play] without blocking the caller's
 * main loop: files are read and decoded on a worker thread, and
 * [signal@Plog.Logger::replayed] is emitted for each op, in order, in the
 * thread-default main context of the caller, never on the worker. The
 * signals are emitted at `G_PRIORITY_DEFAULT_IDLE`, at most a batch of
 * ops (1024) in each iteration of that context, so that the rest of the
 * main loop keeps running: its events, and GTK's paints, go first. A
 * main loop that never runs out of work at a higher priority delivers
 * nothing. @callback runs after the last signal.
 *
 * The replay set is pinned before this returns, so that it holds every op
 * dumped before the call: on a recording logger that writes the dumps
 * still queued (at most 4 MiB), and during a rotation it may wait for the
 * sync of the last ops of the closed log.
 *
 * Since: 1.0
 */
void
plog_logger_play_async (PlogLogger          *self,
                        GCancellable        *cancellable,
                        GAsyncReadyCallback  callback,
                        gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(PlogCursor) cursor = NULL;
  PlayData *play;

  g_return_if_fail (PLOG_IS_LOGGER (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, plog_logger_play_async);

  /* Pin the replay set now, so that it holds what was dumped before. */
  cursor = plog_logger_open_cursor (self, &error);
  if (cursor == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  play = g_new0 (PlayData, 1);
  play->source = g_source_new (&play_source_funcs, sizeof (GSource));
  g_source_set_static_name (play->source, "[plog] play_async");
  /* Idle priority: a long replay must not hold back the events and the
   * paints of the application (GTK paints at G_PRIORITY_HIGH_IDLE + 20),
   * which a source that is ready again after each batch would do at the
   * default priority. */
  g_source_set_priority (play->source, G_PRIORITY_DEFAULT_IDLE);
  g_source_set_callback (play->source, play_dispatch, g_object_ref (task), g_object_unref);
  g_source_set_ready_time (play->source, -1);
  play->replay = plog_replay_new (cursor, cancellable, play->source, TRUE);
  g_task_set_task_data (task, play, play_data_free);
  /* Attached before the worker may make it ready. */
  g_source_attach (play->source, g_task_get_context (task));
  plog_replay_start (play->replay);
}

/**
 * plog_logger_play_finish:
 * @self: a `PlogLogger`
 * @result: the `GAsyncResult`
 * @error: return location for an error
 *
 * Finishes [method@Plog.Logger.play_async].
 *
 * Returns: `TRUE` on success; `FALSE` with @error set, for example to
 *   [error@Plog.Error.CORRUPT] or `G_IO_ERROR_CANCELLED`
 *
 * Since: 1.0
 */
gboolean
plog_logger_play_finish (PlogLogger    *self,
                         GAsyncResult  *result,
                         GError       **error)
{
  g_return_val_if_fail (PLOG_IS_LOGGER (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_async_result_is_tagged (result, plog_logger_play_async), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * plog_logger_compact_async:
 * @self: a `PlogLogger`
 * @cancellable: (nullable): a `GCancellable`
 * @callback: (scope async): called when the compaction has landed
 * @user_data: data for @callback
 *
 * Merges the newest snapshot and every log into a new snapshot on a worker
 * thread, then removes the files it replaces. A recording logger first
 * rotates to a fresh log, so that everything dumped before the call is
 * compacted, and dumps go on meanwhile. Automatic compactions take the
 * same path; requests that arrive while one runs are served together by
 * the next. [signal@Plog.Logger::compacted] is emitted when it lands.
 *
 * Since: 1.0
 */
void
plog_logger_compact_async (PlogLogger          *self,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GError) error = NULL;

  g_return_if_fail (PLOG_IS_LOGGER (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, plog_logger_compact_async);
  g_task_set_return_on_cancel (task, FALSE);
  if (!logger_ready (self, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  plog_compactor_request (self->compactor, task);
}

/**
 * plog_logger_compact_finish:
 * @self: a `PlogLogger`
 * @result: the `GAsyncResult`
 * @error: return location for an error
 *
 * Finishes [method@Plog.Logger.compact_async].
 *
 * Returns: `TRUE` when the compaction landed, or had nothing to merge
 *   (no log after the newest snapshot); `FALSE` with @error set, also
 *   when the new snapshot landed but removing a file it replaces failed
 *
 * Since: 1.0
 */
gboolean
plog_logger_compact_finish (PlogLogger    *self,
                            GAsyncResult  *result,
                            GError       **error)
{
  g_return_val_if_fail (PLOG_IS_LOGGER (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_async_result_is_tagged (result, plog_logger_compact_async), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}
