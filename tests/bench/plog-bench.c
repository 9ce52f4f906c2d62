/* plog-bench.c: throughput, latency and memory figures of libplog
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Measures what the "Benchmark" section of issue 3 asks for, prints one
 * figure per line as `name: value unit`, and ends with the targets of the
 * issue marked PASS or FAIL. A missed target does not change the exit
 * status; only an error does.
 *
 * Every op is built as a program would build it (two GBytes and a
 * PlogOp), inside the timed loop. A dump rate runs from the first op's
 * construction to the last dump's return; the time plog_logger_stop()
 * then takes (the last writes, a sync, the running compaction) is shown
 * apart. SQLite's rates are timed the same way, without the close.
 *
 * The max-size phase runs in a child process (this program re-executed
 * with the hidden option `--phase=compact`) so that its peak RSS belongs
 * to that phase alone.
 */

#ifndef _GNU_SOURCE
# define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <gio/gunixmounts.h>

#ifdef HAVE_SQLITE
# include <sqlite3.h>
#endif

#include <plog.h>

#define KEY_SIZE 16
#define VALUE_SIZE 100
#define PLAIN_CHUNK_SIZE (64 * 1024)
#define FILE_HEADER_SIZE 16
#define MAIN_LOOP_EVERY 65536
#define ALWAYS_ROUNDS 4

#define DEFAULT_OPS 2000000
#define DEFAULT_ALWAYS_OPS 20000
#define DEFAULT_SQLITE_OPS 200000
#define DEFAULT_THREADS 8
#define DEFAULT_MAX_SIZE_MIB 64

#define SEED_MAIN G_GUINT64_CONSTANT (0x706c6f6762656e63)
#define SEED_THREAD G_GUINT64_CONSTANT (0x7468726561640000)

#define MB 1e6
#define MIB (1024.0 * 1024.0)
#define NAME_WIDTH 36
#define THREADS(n) ((n) == 1 ? "thread" : "threads")

/* The targets of issue 3. */
#define TARGET_DUMP_RATE 2500000.0
#define TARGET_PLAIN_PERCENT 75.0
#define TARGET_FDATASYNC_PERCENT 90.0
#define TARGET_GROUP_COMMIT 5.0
#define TARGET_REPLAY_CALLBACK 8000000.0
#define TARGET_REPLAY_SIGNAL 4000000.0
#define TARGET_COMPACT_DUMP_RATE 1500000.0
#define TARGET_P99_US 20.0
#define TARGET_MAX_US 5000.0
#define TARGET_LIVE_FACTOR 1.5
#define TARGET_PEAK_RSS_MIB 64.0
#define TARGET_VS_OFF 40.0
#define TARGET_VS_NORMAL 80.0
#define TARGET_VS_FULL_THREADS 5.0
#define SCALING_OPS (10 * (gint64) DEFAULT_OPS)

typedef struct
{
  gint64 ops;
  gint64 always_ops;
  gint64 sqlite_ops;
  gint threads;
  gint max_size_mib;
  char *dir;             /* (owned) (nullable) */
  gboolean keep;
  gboolean compare;
  char *phase;           /* (owned) (nullable) */
  char *phase_result;    /* (owned) (nullable) */
  const char *argv0;     /* (unowned) */
} Options;

/* The ops of every phase: put ops of 16-byte keys drawn uniformly over
 * n_keys distinct keys, with 100-byte values. */
typedef struct
{
  guint64 n_keys;
  gint64 base_timestamp;
  guint8 value_template[VALUE_SIZE];
} Workload;

typedef struct
{
  guint64 state;
} BenchRng;

/* Dump latencies in a log-linear histogram: exact below 128 ns, then 64
 * buckets per power of two (at most 1.6 % above the true value). A fixed
 * 30 KiB, unlike an array of one latency per op, so that it stays out of
 * the peak RSS it is measured beside. */
#define LAT_SUB_BITS 6
#define LAT_SUB (1 << LAT_SUB_BITS)
#define LAT_LINEAR (2 * LAT_SUB)
#define LAT_BUCKETS (LAT_LINEAR + (64 - LAT_SUB_BITS - 1) * LAT_SUB)

typedef struct
{
  guint64 counts[LAT_BUCKETS];
  guint64 n;
  guint64 max;
} LatencyHistogram;

typedef struct
{
  double rate;
  double rate_with_stop;
  gint64 stop_usec;
  guint64 ops;
  guint compactions;
  guint compactions_dumping;
  guint64 peak_bytes;
  guint64 final_bytes;
  guint final_files;
  guint64 distinct_keys;
  guint64 live_estimate;
  guint64 live_snapshot;     /* 0 when unknown */
  guint64 peak_rss;
  guint64 start_rss;
  double p50_us;
  double p99_us;
  double max_us;
} CompactResult;

/* A dump from one thread: @rate runs from the first op's construction to
 * the last dump's return, @rate_with_stop to plog_logger_stop()'s. */
typedef struct
{
  double rate;
  double rate_with_stop;
  gint64 stop_usec;
  guint64 grown;
  double mbps;
} DumpRun;

typedef struct
{
  DumpRun none;
  DumpRun periodic;
  double plain_mbps;
  double plain_synced_mbps;
  double always_rate;
  double always_threads_rate;
  double fdatasync_rate;
  double replay_callback_rate;
  double replay_signal_rate;
  CompactResult compact;
  gboolean compared;
  double sqlite_off_rate;
  double sqlite_normal_rate;
  double sqlite_full_rate;
  double sqlite_full_threads_rate;
  double sqlite_scan_rate;
} Results;

typedef enum
{
  UNIT_OPS,
  UNIT_PERCENT,
  UNIT_RATIO,
  UNIT_USEC,
  UNIT_MIB,
} Unit;

typedef struct
{
  char *label;        /* (owned) */
  Unit unit;
  double value;
  gboolean measured;
  gboolean pass;
} Target;

typedef struct
{
  const Options *opts;    /* (unowned) */
  char *dir;              /* (owned) */
  gboolean remove_dir;    /* we created @dir */
  GPtrArray *created;     /* (owned) (element-type filename): removed at the end */
  Workload workload;
  gsize record_size;
  Results results;
  GArray *targets;        /* (owned) (element-type Target) */
} Bench;

/* Stops the compiler from dropping the reads of the SQLite scan. */
static volatile guint64 bench_sink;

/* ---------------------------------------------------------------------- */
/* Helpers                                                                */
/* ---------------------------------------------------------------------- */

static void print_figure (const char *name,
                          const char *format,
                          ...) G_GNUC_PRINTF (2, 3);

static void
print_figure (const char *name,
              const char *format,
              ...)
{
  g_autofree char *value = NULL;
  va_list args;
  int pad;

  va_start (args, format);
  value = g_strdup_vprintf (format, args);
  va_end (args);
  pad = MAX (1, NAME_WIDTH - (int) strlen (name));
  g_print ("%s:%*s%s\n", name, pad, "", value);
}

static void
print_section (const char *title)
{
  g_print ("\n== %s ==\n", title);
}

static double
per_second (guint64 n,
            gint64  usec)
{
  return (double) n * G_USEC_PER_SEC / (double) MAX (usec, 1);
}

static void
set_io_error (GError     **error,
              int          saved_errno,
              const char  *what,
              const char  *path)
{
  g_autofree char *display = g_filename_display_name (path);

  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
               "%s “%s”: %s", what, display, g_strerror (saved_errno));
}

static gboolean
write_all (int          fd,
           const void  *data,
           gsize        length,
           const char  *path,
           GError     **error)
{
  const guint8 *p = data;

  while (length > 0)
    {
      gssize n = write (fd, p, length);

      if (n < 0)
        {
          int saved_errno = errno;

          if (saved_errno == EINTR)
            continue;
          set_io_error (error, saved_errno, "Failed to write", path);
          return FALSE;
        }
      p += n;
      length -= (gsize) n;
    }
  return TRUE;
}

static gboolean
sync_data (int          fd,
           const char  *path,
           GError     **error)
{
  while (fdatasync (fd) != 0)
    {
      int saved_errno = errno;

      if (saved_errno == EINTR)
        continue;
      set_io_error (error, saved_errno, "Failed to sync", path);
      return FALSE;
    }
  return TRUE;
}

/* Removes @path and, when it is a directory, everything below it. Only
 * ever called on paths this program created. */
static void
remove_tree (const char *path)
{
  GStatBuf st;

  if (g_lstat (path, &st) != 0)
    return;
  if (S_ISDIR (st.st_mode))
    {
      g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
      const char *name;

      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);

          remove_tree (child);
        }
      g_clear_pointer (&dir, g_dir_close);
      if (g_rmdir (path) != 0)
        g_printerr ("%s: Failed to remove “%s”: %s\n",
                    g_get_prgname (), path, g_strerror (errno));
    }
  else if (g_unlink (path) != 0)
    {
      g_printerr ("%s: Failed to remove “%s”: %s\n",
                  g_get_prgname (), path, g_strerror (errno));
    }
}

/* The bytes and the number of the regular files in @path. */
static gboolean
dir_usage (const char  *path,
           guint64     *bytes,
           guint       *n_files,
           GError     **error)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, error);
  const char *name;

  *bytes = 0;
  if (n_files != NULL)
    *n_files = 0;
  if (dir == NULL)
    return FALSE;
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);
      GStatBuf st;

      if (g_lstat (child, &st) != 0)
        {
          int saved_errno = errno;

          if (saved_errno == ENOENT)
            continue;
          set_io_error (error, saved_errno, "Failed to stat", child);
          return FALSE;
        }
      if (!S_ISREG (st.st_mode))
        continue;
      /* What the file takes on the disk: libplog reserves blocks past the
       * end of the log it writes. */
      *bytes += MAX ((guint64) st.st_size, (guint64) st.st_blocks * 512);
      if (n_files != NULL)
        (*n_files)++;
    }
  return TRUE;
}

/* The size of the newest (highest-numbered) snapshot in @path, or 0. */
static guint64
newest_snapshot_size (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  g_autofree char *newest = NULL;
  g_autofree char *newest_path = NULL;
  const char *name;
  GStatBuf st;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      if (!g_str_has_suffix (name, ".snap"))
        continue;
      if (newest == NULL || strcmp (name, newest) > 0)
        {
          g_free (newest);
          newest = g_strdup (name);
        }
    }
  if (newest == NULL)
    return 0;
  newest_path = g_build_filename (path, newest, NULL);
  if (g_lstat (newest_path, &st) != 0)
    return 0;
  return (guint64) st.st_size;
}

/* Writes back what earlier phases left dirty, so that the next phase
 * does not compete with it. */
static void
settle (const char *path)
{
  int fd = g_open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);

  if (fd < 0)
    return;
  if (syncfs (fd) != 0)
    sync ();
  g_close (fd, NULL);
}

/* The peak RSS of this process's address space, in bytes: VmHWM, which a
 * re-executed child does not inherit from its parent (ru_maxrss does). */
static guint64
read_rss (const char *field)
{
  g_autofree char *status = NULL;
  const char *line;

  if (g_file_get_contents ("/proc/self/status", &status, NULL, NULL)
      && (line = strstr (status, field)) != NULL)
    return g_ascii_strtoull (line + strlen (field), NULL, 10) * 1024;

  if (g_str_equal (field, "VmHWM:"))
    {
      struct rusage usage;

      if (getrusage (RUSAGE_SELF, &usage) == 0)
        return (guint64) usage.ru_maxrss * 1024;
    }
  return 0;
}

static char *
describe_filesystem (const char *path)
{
  GUnixMountEntry *entry = g_unix_mount_for (path, NULL);
  char *description;

  if (entry == NULL)
    return g_strdup ("unknown");
  description = g_strdup_printf ("%s (%s on %s)",
                                 g_unix_mount_get_fs_type (entry),
                                 g_unix_mount_get_device_path (entry),
                                 g_unix_mount_get_mount_path (entry));
  g_unix_mount_free (entry);
  return description;
}

static gboolean
filesystem_is_tmpfs (const char *path)
{
  GUnixMountEntry *entry = g_unix_mount_for (path, NULL);
  gboolean is_tmpfs;

  if (entry == NULL)
    return FALSE;
  is_tmpfs = g_str_equal (g_unix_mount_get_fs_type (entry), "tmpfs")
             || g_str_equal (g_unix_mount_get_fs_type (entry), "ramfs");
  g_unix_mount_free (entry);
  return is_tmpfs;
}

/* ---------------------------------------------------------------------- */
/* The workload                                                           */
/* ---------------------------------------------------------------------- */

/* splitmix64 */
static inline guint64
rng_next (BenchRng *rng)
{
  guint64 z = (rng->state += G_GUINT64_CONSTANT (0x9e3779b97f4a7c15));

  z = (z ^ (z >> 30)) * G_GUINT64_CONSTANT (0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * G_GUINT64_CONSTANT (0x94d049bb133111eb);
  return z ^ (z >> 31);
}

/* A uniform draw below @n (n < 2^32), by multiply and shift. */
static inline guint64
rng_below (BenchRng *rng,
           guint64   n)
{
  return ((rng_next (rng) >> 32) * n) >> 32;
}

static void
workload_init (Workload *w,
               guint64   n_ops)
{
  w->n_keys = MAX (n_ops / 10, 1);
  w->base_timestamp = g_get_real_time ();
  for (guint i = 0; i < VALUE_SIZE; i++)
    w->value_template[i] = (guint8) ('a' + i % 26);
}

/* Fills @key ("k" and 15 decimal digits) and @value (the template with
 * the op's sequence number in front) of the next op; returns the key's
 * index. */
static inline guint64
workload_fill (const Workload *w,
               BenchRng       *rng,
               guint64         seq,
               guint8          key[KEY_SIZE],
               guint8          value[VALUE_SIZE])
{
  guint64 key_index = rng_below (rng, w->n_keys);
  guint64 n = key_index;

  key[0] = 'k';
  for (int i = KEY_SIZE - 1; i >= 1; i--)
    {
      key[i] = (guint8) ('0' + n % 10);
      n /= 10;
    }
  memcpy (value, w->value_template, VALUE_SIZE);
  memcpy (value, &seq, sizeof seq);
  return key_index;
}

/* Builds the next op: two GBytes and a PlogOp, as a program would. */
static inline PlogOp *
workload_next_op (const Workload *w,
                  BenchRng       *rng,
                  guint64         seq,
                  guint64        *key_index)
{
  guint8 key[KEY_SIZE];
  guint8 value[VALUE_SIZE];
  g_autoptr(GBytes) key_bytes = NULL;
  g_autoptr(GBytes) value_bytes = NULL;
  guint64 index;

  index = workload_fill (w, rng, seq, key, value);
  if (key_index != NULL)
    *key_index = index;
  key_bytes = g_bytes_new (key, KEY_SIZE);
  value_bytes = g_bytes_new (value, VALUE_SIZE);
  return plog_op_new_put (key_bytes, value_bytes, w->base_timestamp + (gint64) seq);
}

static gsize
varint_size (guint64 v)
{
  gsize n = 1;

  while (v >= 0x80)
    {
      v >>= 7;
      n++;
    }
  return n;
}

/* One record of the workload, from docs/format.md: length, CRC, flags,
 * key, value and timestamp. */
static gsize
workload_record_size (const Workload *w)
{
  gint64 ts = w->base_timestamp;
  guint64 zigzag = ((guint64) ts << 1) ^ (guint64) (ts >> 63);

  return 4 + 4 + 1
         + varint_size (KEY_SIZE) + KEY_SIZE
         + varint_size (VALUE_SIZE) + VALUE_SIZE
         + varint_size (zigzag);
}

static gboolean
dump_ops (PlogLogger      *logger,
          const Workload  *w,
          guint64          seed,
          guint64          first_seq,
          guint64          n_ops,
          GError         **error)
{
  BenchRng rng = { seed };

  for (guint64 i = 0; i < n_ops; i++)
    {
      g_autoptr(PlogOp) op = workload_next_op (w, &rng, first_seq + i, NULL);

      if (!plog_logger_dump (logger, op, error))
        return FALSE;
    }
  return TRUE;
}

/* ---------------------------------------------------------------------- */
/* Latency histogram                                                      */
/* ---------------------------------------------------------------------- */

static inline guint
latency_bucket (guint64 ns)
{
  guint msb, shift;

  if (ns < LAT_LINEAR)
    return (guint) ns;
  msb = 63 - (guint) __builtin_clzll (ns);
  shift = msb - LAT_SUB_BITS;
  return LAT_LINEAR + (shift - 1) * LAT_SUB + (guint) ((ns >> shift) - LAT_SUB);
}

/* The largest value that falls in @bucket. */
static guint64
latency_bucket_top (guint bucket)
{
  guint shift;
  guint64 m;

  if (bucket < LAT_LINEAR)
    return bucket;
  shift = (bucket - LAT_LINEAR) / LAT_SUB + 1;
  m = (bucket - LAT_LINEAR) % LAT_SUB + LAT_SUB;
  return ((m + 1) << shift) - 1;
}

static inline void
latency_add (LatencyHistogram *h,
             guint64           ns)
{
  h->counts[latency_bucket (ns)]++;
  h->n++;
  if (ns > h->max)
    h->max = ns;
}

static guint64
latency_percentile (const LatencyHistogram *h,
                    double                  p)
{
  guint64 rank, seen = 0;

  if (h->n == 0)
    return 0;
  rank = (guint64) (p * (double) h->n + 0.999999);
  rank = CLAMP (rank, 1, h->n);
  for (guint i = 0; i < LAT_BUCKETS; i++)
    {
      seen += h->counts[i];
      if (seen >= rank)
        return MIN (latency_bucket_top (i), h->max);
    }
  return h->max;
}

static inline guint64
timespec_diff_ns (const struct timespec *a,
                  const struct timespec *b)
{
  return (guint64) ((b->tv_sec - a->tv_sec) * G_GINT64_CONSTANT (1000000000)
                    + (b->tv_nsec - a->tv_nsec));
}

/* ---------------------------------------------------------------------- */
/* Threads released together                                              */
/* ---------------------------------------------------------------------- */

typedef struct
{
  GMutex mutex;
  GCond cond;
  guint n_ready;
  gboolean open;
  gboolean aborted;
} Gate;

typedef struct
{
  Gate *gate;                  /* (unowned) */
  const Workload *workload;    /* (unowned) */
  PlogLogger *logger;          /* (unowned) (nullable): libplog workers */
  const char *db_path;         /* (unowned) (nullable): SQLite workers */
  const char *synchronous;     /* (unowned) (nullable): SQLite workers */
  guint64 seed;
  guint64 first_seq;
  guint64 n_ops;
  gint64 done_usec;            /* when its last op returned */
  GError *error;               /* (owned) (nullable) */
} Worker;

/* Waits until the gate opens; FALSE when the run was called off. */
static gboolean
gate_arrive (Gate *gate)
{
  gboolean go;

  g_mutex_lock (&gate->mutex);
  gate->n_ready++;
  g_cond_broadcast (&gate->cond);
  while (!gate->open)
    g_cond_wait (&gate->cond, &gate->mutex);
  go = !gate->aborted;
  g_mutex_unlock (&gate->mutex);
  return go;
}

/* Opens @gate once @n_waiting threads wait at it; @start_usec is when. */
static void
gate_open (Gate     *gate,
           guint     n_waiting,
           gboolean  aborted,
           gint64   *start_usec)
{
  g_mutex_lock (&gate->mutex);
  while (gate->n_ready < n_waiting)
    g_cond_wait (&gate->cond, &gate->mutex);
  *start_usec = g_get_monotonic_time ();
  gate->open = TRUE;
  gate->aborted = aborted;
  g_cond_broadcast (&gate->cond);
  g_mutex_unlock (&gate->mutex);
}

/* Starts one thread per worker, lets them go at once when all are ready,
 * and joins them. @start_usec is when they were let go. */
static gboolean
run_workers (Worker       *workers,
             guint         n_workers,
             GThreadFunc   func,
             gint64       *start_usec,
             GError      **error)
{
  g_autoptr(GPtrArray) threads = g_ptr_array_new ();
  Gate gate;
  GError *spawn_error = NULL;

  g_mutex_init (&gate.mutex);
  g_cond_init (&gate.cond);
  gate.n_ready = 0;
  gate.open = FALSE;
  gate.aborted = FALSE;

  for (guint i = 0; i < n_workers; i++)
    {
      GThread *thread;

      workers[i].gate = &gate;
      thread = g_thread_try_new ("plog-bench", func, &workers[i], &spawn_error);
      if (thread == NULL)
        break;
      g_ptr_array_add (threads, thread);
    }

  gate_open (&gate, threads->len, spawn_error != NULL, start_usec);

  for (guint i = 0; i < threads->len; i++)
    g_thread_join (g_ptr_array_index (threads, i));

  g_mutex_clear (&gate.mutex);
  g_cond_clear (&gate.cond);

  if (spawn_error != NULL)
    {
      g_propagate_prefixed_error (error, spawn_error, "Failed to start a thread: ");
      return FALSE;
    }
  for (guint i = 0; i < n_workers; i++)
    {
      if (workers[i].error != NULL)
        {
          g_propagate_error (error, g_steal_pointer (&workers[i].error));
          return FALSE;
        }
    }
  return TRUE;
}

static void
workers_clear (Worker *workers,
               guint   n_workers)
{
  for (guint i = 0; i < n_workers; i++)
    g_clear_error (&workers[i].error);
}

/* Splits @n_ops over @n_workers, with disjoint sequence numbers and one
 * random stream per worker. */
static Worker *
workers_new (guint           n_workers,
             const Workload *w,
             guint64         n_ops)
{
  Worker *workers = g_new0 (Worker, n_workers);
  guint64 first = 0;

  for (guint i = 0; i < n_workers; i++)
    {
      guint64 share = n_ops / n_workers + (i < n_ops % n_workers ? 1 : 0);

      workers[i].workload = w;
      workers[i].seed = SEED_THREAD + i;
      workers[i].first_seq = first;
      workers[i].n_ops = share;
      first += share;
    }
  return workers;
}

static gpointer
dump_worker_run (gpointer data)
{
  Worker *worker = data;

  if (gate_arrive (worker->gate))
    dump_ops (worker->logger, worker->workload, worker->seed,
              worker->first_seq, worker->n_ops, &worker->error);
  return NULL;
}

/* ---------------------------------------------------------------------- */
/* Results and targets                                                    */
/* ---------------------------------------------------------------------- */

static void
target_clear (gpointer data)
{
  Target *target = data;

  g_clear_pointer (&target->label, g_free);
}

static void target_add (Bench      *bench,
                        Unit        unit,
                        gboolean    measured,
                        double      value,
                        gboolean    at_most,
                        double      threshold,
                        const char *format,
                        ...) G_GNUC_PRINTF (7, 8);

static void
target_add (Bench      *bench,
            Unit        unit,
            gboolean    measured,
            double      value,
            gboolean    at_most,
            double      threshold,
            const char *format,
            ...)
{
  Target target = { NULL, unit, value, measured, FALSE };
  va_list args;

  va_start (args, format);
  target.label = g_strdup_vprintf (format, args);
  va_end (args);
  target.pass = measured && (at_most ? value <= threshold : value >= threshold);
  g_array_append_val (bench->targets, target);
}

static char *
format_value (Unit   unit,
              double value)
{
  switch (unit)
    {
    case UNIT_OPS:
      return g_strdup_printf ("%.0f ops/s", value);
    case UNIT_PERCENT:
      return g_strdup_printf ("%.1f %%", value);
    case UNIT_RATIO:
      return g_strdup_printf ("%.1fx", value);
    case UNIT_USEC:
      return g_strdup_printf ("%.2f us", value);
    case UNIT_MIB:
      return g_strdup_printf ("%.1f MiB", value);
    default:
      g_assert_not_reached ();
    }
}

static double
ratio (double a,
       double b)
{
  return b > 0 ? a / b : 0;
}

/* ---------------------------------------------------------------------- */
/* The bench                                                              */
/* ---------------------------------------------------------------------- */

static void
bench_free (Bench *bench)
{
  if (bench->dir != NULL && bench->opts->keep)
    {
      g_print ("\nfiles kept in: %s\n", bench->dir);
    }
  else if (bench->dir != NULL)
    {
      for (guint i = bench->created->len; i > 0; i--)
        remove_tree (g_ptr_array_index (bench->created, i - 1));
      if (bench->remove_dir && g_rmdir (bench->dir) != 0)
        g_printerr ("%s: Failed to remove “%s”: %s\n",
                    g_get_prgname (), bench->dir, g_strerror (errno));
    }
  g_clear_pointer (&bench->created, g_ptr_array_unref);
  g_clear_pointer (&bench->targets, g_array_unref);
  g_clear_pointer (&bench->dir, g_free);
  g_free (bench);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Bench, bench_free)

static gboolean
dir_is_empty (const char  *path,
              gboolean    *empty,
              GError     **error)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, error);

  if (dir == NULL)
    return FALSE;
  *empty = g_dir_read_name (dir) == NULL;
  return TRUE;
}

static Bench *
bench_new (const Options  *opts,
           GError        **error)
{
  g_autoptr(Bench) bench = g_new0 (Bench, 1);

  bench->opts = opts;
  bench->created = g_ptr_array_new_with_free_func (g_free);
  bench->targets = g_array_new (FALSE, TRUE, sizeof (Target));
  g_array_set_clear_func (bench->targets, target_clear);
  workload_init (&bench->workload, (guint64) opts->ops);
  bench->record_size = workload_record_size (&bench->workload);

  if (opts->dir == NULL)
    {
      bench->dir = g_dir_make_tmp ("plog-bench-XXXXXX", error);
      if (bench->dir == NULL)
        return NULL;
      bench->remove_dir = TRUE;
    }
  else if (g_file_test (opts->dir, G_FILE_TEST_EXISTS))
    {
      gboolean empty;

      bench->dir = g_strdup (opts->dir);
      if (!dir_is_empty (bench->dir, &empty, error))
        return NULL;
      if (!empty)
        {
          g_autofree char *display = g_filename_display_name (bench->dir);

          g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                       "Directory “%s” is not empty; give a new or empty directory",
                       display);
          return NULL;
        }
    }
  else
    {
      bench->dir = g_strdup (opts->dir);
      if (g_mkdir_with_parents (bench->dir, 0700) != 0)
        {
          set_io_error (error, errno, "Failed to create directory", bench->dir);
          return NULL;
        }
      bench->remove_dir = TRUE;
    }
  return g_steal_pointer (&bench);
}

/* A path in the bench directory, removed at the end unless --keep. */
static const char *
bench_path (Bench      *bench,
            const char *name)
{
  char *path = g_build_filename (bench->dir, name, NULL);

  g_ptr_array_add (bench->created, path);
  return path;
}

static void
print_header (Bench *bench)
{
  const Options *opts = bench->opts;
  g_autofree char *fs = describe_filesystem (bench->dir);

  g_print ("plog-bench: libplog %s, GLib %u.%u.%u\n", PLOG_VERSION_S,
           glib_major_version, glib_minor_version, glib_micro_version);
  print_figure ("ops", "%" G_GINT64_FORMAT, opts->ops);
  print_figure ("distinct keys", "%" G_GUINT64_FORMAT, bench->workload.n_keys);
  print_figure ("key size", "%d bytes", KEY_SIZE);
  print_figure ("value size", "%d bytes", VALUE_SIZE);
  print_figure ("record size", "%" G_GSIZE_FORMAT " bytes", bench->record_size);
  print_figure ("ALWAYS ops", "%" G_GINT64_FORMAT, opts->always_ops);
  if (opts->compare)
    print_figure ("SQLite OFF/NORMAL ops", "%" G_GINT64_FORMAT, opts->sqlite_ops);
  print_figure ("threads", "%d", opts->threads);
  print_figure ("max-size", "%d MiB", opts->max_size_mib);
  print_figure ("directory", "%s", bench->dir);
  print_figure ("filesystem", "%s", fs);
  print_figure ("cpus", "%u", g_get_num_processors ());
  print_figure ("units", "MB = 10^6 bytes, MiB = 2^20 bytes");
  if (filesystem_is_tmpfs (bench->dir))
    g_print ("note: the directory is on a RAM file system, where fdatasync costs "
             "nothing; give --dir on a disk for the ALWAYS figures\n");
}

/* One thread dumps @n_ops into a fresh logger in @dir. */
static gboolean
bench_dump (const char      *dir,
            PlogSyncMode     mode,
            const Workload  *w,
            guint64          n_ops,
            DumpRun         *run,
            GError         **error)
{
  g_autoptr(PlogLogger) logger = NULL;
  guint64 before, after;
  gint64 start, dumped, stopped;

  logger = plog_logger_new (dir, error);
  if (logger == NULL)
    return FALSE;
  plog_logger_limit (logger, 0);
  plog_logger_set_sync_mode (logger, mode);
  if (!dir_usage (dir, &before, NULL, error)
      || !plog_logger_record (logger, error))
    return FALSE;

  start = g_get_monotonic_time ();
  if (!dump_ops (logger, w, SEED_MAIN, 0, n_ops, error))
    return FALSE;
  dumped = g_get_monotonic_time ();
  if (!plog_logger_stop (logger, error))
    return FALSE;
  stopped = g_get_monotonic_time ();

  if (!dir_usage (dir, &after, NULL, error))
    return FALSE;
  run->rate = per_second (n_ops, dumped - start);
  run->rate_with_stop = per_second (n_ops, stopped - start);
  run->stop_usec = stopped - dumped;
  run->grown = after - before;
  run->mbps = run->rate * ((double) run->grown / n_ops) / MB;
  return TRUE;
}

static void
print_dump_run (const char    *mode,
                const DumpRun *run,
                guint64        n_ops,
                double         plain_mbps)
{
  g_autofree char *name = g_strdup_printf ("dump %s", mode);
  g_autofree char *name_stop = g_strdup_printf ("dump %s incl. stop", mode);
  g_autofree char *name_growth = g_strdup_printf ("dump %s log growth", mode);
  g_autofree char *name_mbps = g_strdup_printf ("dump %s throughput", mode);
  g_autofree char *name_plain = g_strdup_printf ("dump %s vs plain writes", mode);

  print_figure (name, "%.0f ops/s", run->rate);
  print_figure (name_stop, "%.0f ops/s (stop took %.1f ms)",
                run->rate_with_stop, run->stop_usec / 1000.0);
  print_figure (name_growth, "%" G_GUINT64_FORMAT " bytes (%.1f bytes/op)",
                run->grown, (double) run->grown / n_ops);
  print_figure (name_mbps, "%.1f MB/s", run->mbps);
  if (plain_mbps > 0)
    print_figure (name_plain, "%.1f %%", 100 * ratio (run->mbps, plain_mbps));
}

/* @n_bytes written with write(2) in 64 KiB chunks into a new file, from
 * open to close; with @sync, fdatasync() before the close, so that the
 * bytes are on the disk. */
static gboolean
measure_plain_writes (const char  *path,
                      guint64      n_bytes,
                      gboolean     sync,
                      double      *mbps,
                      GError     **error)
{
  g_autofree guint8 *chunk = g_malloc (PLAIN_CHUNK_SIZE);
  guint64 left = n_bytes;
  gint64 start, end;
  int fd;

  for (gsize i = 0; i < PLAIN_CHUNK_SIZE; i++)
    chunk[i] = (guint8) ('a' + i % 26);

  start = g_get_monotonic_time ();
  fd = g_open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      set_io_error (error, errno, "Failed to create", path);
      return FALSE;
    }
  while (left > 0)
    {
      gsize n = (gsize) MIN (left, PLAIN_CHUNK_SIZE);

      if (!write_all (fd, chunk, n, path, error))
        {
          g_close (fd, NULL);
          return FALSE;
        }
      left -= n;
    }
  if (sync && !sync_data (fd, path, error))
    {
      g_close (fd, NULL);
      return FALSE;
    }
  if (!g_close (fd, error))
    return FALSE;
  end = g_get_monotonic_time ();

  g_unlink (path);
  *mbps = per_second (n_bytes, end - start) / MB;
  return TRUE;
}

/* Appends @n_records records to @fd, each followed by fdatasync(): the
 * disk's rate of durable appends. Adds the time taken to @usec. */
static gboolean
append_and_sync (int           fd,
                 const char   *path,
                 const guint8 *record,
                 gsize         record_size,
                 guint64       n_records,
                 gint64       *usec,
                 GError      **error)
{
  gint64 start = g_get_monotonic_time ();

  for (guint64 i = 0; i < n_records; i++)
    {
      if (!write_all (fd, record, record_size, path, error)
          || !sync_data (fd, path, error))
        return FALSE;
    }
  *usec += g_get_monotonic_time () - start;
  return TRUE;
}

static gboolean
phase_dump (Bench   *bench,
            GError **error)
{
  Results *r = &bench->results;
  guint64 n_ops = (guint64) bench->opts->ops;
  g_autofree char *title = NULL;

  title = g_strdup_printf ("dump, one thread, %" G_GUINT64_FORMAT " ops "
                           "(time to the last dump's return; stop shown apart)", n_ops);
  print_section (title);

  if (!bench_dump (bench_path (bench, "none"), PLOG_SYNC_MODE_NONE,
                   &bench->workload, n_ops, &r->none, error))
    return FALSE;
  print_dump_run ("NONE", &r->none, n_ops, 0);
  settle (bench->dir);

  if (!measure_plain_writes (bench_path (bench, "plain-writes.dat"), r->none.grown,
                             FALSE, &r->plain_mbps, error))
    return FALSE;
  print_figure ("plain 64 KiB writes", "%.1f MB/s (%" G_GUINT64_FORMAT " bytes, open to close)",
                r->plain_mbps, r->none.grown);
  print_figure ("dump NONE vs plain writes", "%.1f %%",
                100 * ratio (r->none.mbps, r->plain_mbps));
  settle (bench->dir);

  if (!bench_dump (bench_path (bench, "periodic"), PLOG_SYNC_MODE_PERIODIC,
                   &bench->workload, n_ops, &r->periodic, error))
    return FALSE;
  print_dump_run ("PERIODIC", &r->periodic, n_ops, r->plain_mbps);
  settle (bench->dir);

  /* The same bytes on the disk, not only in the page cache: PERIODIC's
   * stop syncs the log, the plain writes end with an fdatasync(). */
  if (!measure_plain_writes (bench_path (bench, "plain-writes.dat"), r->periodic.grown,
                             TRUE, &r->plain_synced_mbps, error))
    return FALSE;
  print_figure ("plain 64 KiB writes + fdatasync", "%.1f MB/s (open to close)",
                r->plain_synced_mbps);
  print_figure ("dump PERIODIC incl. stop vs plain writes + fdatasync", "%.1f %%",
                100 * ratio (r->periodic.rate_with_stop * r->periodic.grown / n_ops / MB,
                             r->plain_synced_mbps));
  settle (bench->dir);

  return TRUE;
}

/* A logger recording under ALWAYS with no max-size, in @dir. */
static PlogLogger *
open_always_logger (const char  *dir,
                    GError     **error)
{
  g_autoptr(PlogLogger) logger = plog_logger_new (dir, error);

  if (logger == NULL)
    return NULL;
  plog_logger_limit (logger, 0);
  plog_logger_set_sync_mode (logger, PLOG_SYNC_MODE_ALWAYS);
  if (!plog_logger_record (logger, error))
    return NULL;
  return g_steal_pointer (&logger);
}

static gboolean
phase_always (Bench   *bench,
              GError **error)
{
  const Options *opts = bench->opts;
  Results *r = &bench->results;
  guint64 n_ops = (guint64) opts->always_ops;
  guint n_threads = (guint) opts->threads;
  g_autoptr(PlogLogger) logger = NULL;
  g_autoptr(PlogLogger) threads_logger = NULL;
  g_autofree char *title = NULL;
  g_autofree char *name = NULL;
  g_autofree guint8 *record = NULL;
  const char *probe_path;
  gint64 plog_usec = 0, probe_usec = 0, threads_usec = 0;
  gint64 start;
  int probe_fd;
  gboolean ok;

  title = g_strdup_printf ("durable dump (ALWAYS), %" G_GUINT64_FORMAT " ops", n_ops);
  print_section (title);

  /* libplog from one thread, the write+fdatasync loop and libplog from
   * @n_threads threads take turns, so that whatever else the disk does
   * in the meantime weighs on all three alike: its rate of syncs drifts
   * by a third from one minute to the next. */
  probe_path = bench_path (bench, "fdatasync-probe.dat");
  record = g_malloc (bench->record_size);
  memset (record, 'r', bench->record_size);
  probe_fd = g_open (probe_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (probe_fd < 0)
    {
      set_io_error (error, errno, "Failed to create", probe_path);
      return FALSE;
    }
  logger = open_always_logger (bench_path (bench, "always-1"), error);
  threads_logger = logger == NULL ? NULL : open_always_logger (bench_path (bench, "always-threads"), error);
  ok = threads_logger != NULL;
  for (guint round = 0; ok && round < ALWAYS_ROUNDS; round++)
    {
      guint64 first = n_ops * round / ALWAYS_ROUNDS;
      guint64 count = n_ops * (round + 1) / ALWAYS_ROUNDS - first;
      g_autofree Worker *workers = NULL;

      start = g_get_monotonic_time ();
      ok = dump_ops (logger, &bench->workload, SEED_MAIN + round, first, count, error);
      plog_usec += g_get_monotonic_time () - start;
      ok = ok && append_and_sync (probe_fd, probe_path, record, bench->record_size,
                                  count, &probe_usec, error);
      if (!ok)
        break;

      workers = workers_new (n_threads, &bench->workload, count);
      for (guint i = 0; i < n_threads; i++)
        {
          workers[i].logger = threads_logger;
          workers[i].seed += (guint64) round * n_threads;
          workers[i].first_seq += first;
        }
      ok = run_workers (workers, n_threads, dump_worker_run, &start, error);
      threads_usec += g_get_monotonic_time () - start;
      workers_clear (workers, n_threads);
    }
  if (!ok)
    {
      g_close (probe_fd, NULL);
      return FALSE;
    }
  if (!g_close (probe_fd, error) || !plog_logger_stop (logger, error)
      || !plog_logger_stop (threads_logger, error))
    return FALSE;
  g_unlink (probe_path);

  r->always_rate = per_second (n_ops, plog_usec);
  r->fdatasync_rate = per_second (n_ops, probe_usec);
  print_figure ("dump ALWAYS 1 thread", "%.0f ops/s", r->always_rate);
  print_figure ("write+fdatasync loop", "%.0f ops/s (%" G_GSIZE_FORMAT "-byte appends, "
                "taking turns with libplog in %d rounds)",
                r->fdatasync_rate, bench->record_size, ALWAYS_ROUNDS);
  print_figure ("dump ALWAYS 1 thread vs fdatasync", "%.1f %%",
                100 * ratio (r->always_rate, r->fdatasync_rate));

  r->always_threads_rate = per_second (n_ops, threads_usec);
  name = g_strdup_printf ("dump ALWAYS %u %s", n_threads, THREADS (n_threads));
  print_figure (name, "%.0f ops/s (taking turns with the two above)", r->always_threads_rate);
  g_free (name);
  name = g_strdup_printf ("dump ALWAYS %u %s vs 1 thread", n_threads, THREADS (n_threads));
  print_figure (name, "%.1fx", ratio (r->always_threads_rate, r->always_rate));
  settle (bench->dir);
  return TRUE;
}

static void
count_op (PlogOp   *op,
          gpointer  user_data)
{
  guint64 *n = user_data;

  (*n)++;
}

static void
on_replayed (PlogLogger *logger,
             PlogOp     *op,
             gpointer    user_data)
{
  guint64 *n = user_data;

  (*n)++;
}

static gboolean
check_replayed (const char  *how,
                guint64      n,
                guint64      expected,
                GError     **error)
{
  if (n == expected)
    return TRUE;
  g_set_error (error, PLOG_ERROR, PLOG_ERROR_FAILED,
               "Replay through %s delivered %" G_GUINT64_FORMAT " ops, expected %"
               G_GUINT64_FORMAT, how, n, expected);
  return FALSE;
}

/* The median of @n doubles (sorts them). */
static double
median (double *values,
        guint   n)
{
  for (guint i = 1; i < n; i++)
    for (guint j = i; j > 0 && values[j - 1] > values[j]; j--)
      {
        double t = values[j];

        values[j] = values[j - 1];
        values[j - 1] = t;
      }
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

/* One replay of the whole log, through the callback or the signal;
 * returns its rate in ops/s, or a negative rate with @error. */
static double
replay_once (PlogLogger  *logger,
             gboolean     by_signal,
             guint64      n_ops,
             GError     **error)
{
  guint64 n = 0;
  gint64 start, end;
  gulong handler = 0;
  gboolean ok;

  if (by_signal)
    handler = g_signal_connect (logger, "replayed", G_CALLBACK (on_replayed), &n);
  start = g_get_monotonic_time ();
  ok = plog_logger_play (logger, by_signal ? NULL : count_op, &n, NULL, error);
  end = g_get_monotonic_time ();
  if (by_signal)
    g_signal_handler_disconnect (logger, handler);
  if (!ok || !check_replayed (by_signal ? "the replayed signal" : "a callback", n, n_ops, error))
    return -1;
  return per_second (n, end - start);
}

/* Replays the NONE log (every op dumped, no compaction) once untimed, so
 * that it is read from the page cache (the figure is the decoding, not
 * the disk: the virtual machine may have dropped those pages during the
 * previous phases), then REPLAY_PASSES times through a callback and
 * through ::replayed, in turn; reports the medians. */
#define REPLAY_PASSES 3

static gboolean
phase_replay (Bench   *bench,
              GError **error)
{
  Results *r = &bench->results;
  guint64 n_ops = (guint64) bench->opts->ops;
  g_autofree char *dir = g_build_filename (bench->dir, "none", NULL);
  g_autoptr(PlogLogger) logger = NULL;
  g_autofree char *title = NULL;
  double rates[2][REPLAY_PASSES];

  title = g_strdup_printf ("replay of the NONE log, %" G_GUINT64_FORMAT " ops", n_ops);
  print_section (title);

  logger = plog_logger_new (dir, error);
  if (logger == NULL || replay_once (logger, FALSE, n_ops, error) < 0)
    return FALSE;
  for (guint pass = 0; pass < REPLAY_PASSES; pass++)
    for (guint by_signal = 0; by_signal < 2; by_signal++)
      if ((rates[by_signal][pass] = replay_once (logger, by_signal, n_ops, error)) < 0)
        return FALSE;

  r->replay_callback_rate = median (rates[0], REPLAY_PASSES);
  r->replay_signal_rate = median (rates[1], REPLAY_PASSES);
  print_figure ("replay callback", "%.0f ops/s (median of %d passes: %.0f to %.0f)",
                r->replay_callback_rate, REPLAY_PASSES, rates[0][0], rates[0][REPLAY_PASSES - 1]);
  print_figure ("replay signal", "%.0f ops/s (median of %d passes: %.0f to %.0f)",
                r->replay_signal_rate, REPLAY_PASSES, rates[1][0], rates[1][REPLAY_PASSES - 1]);

  /* What record_async() spares a main loop: record() reads and checks
   * every file first (here still in the page cache from the replays). */
  {
    guint64 record_bytes;
    gint64 start, record_usec;

    if (!dir_usage (dir, &record_bytes, NULL, error))
      return FALSE;
    start = g_get_monotonic_time ();
    if (!plog_logger_record (logger, error))
      return FALSE;
    record_usec = g_get_monotonic_time () - start;
    if (!plog_logger_stop (logger, error))
      return FALSE;
    print_figure ("record, checking every file", "%.1f ms for %.1f MiB (%.0f MiB/s)",
                  record_usec / 1000.0, (double) record_bytes / MIB,
                  per_second (record_bytes, record_usec) / MIB);
  }
  return TRUE;
}

/* ---------------------------------------------------------------------- */
/* The max-size phase, in a child process                                 */
/* ---------------------------------------------------------------------- */

static void
on_compacted (PlogLogger *logger,
              gpointer    user_data)
{
  guint *n = user_data;

  (*n)++;
}

static void
on_async_done (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

static void
drain_main_context (void)
{
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static gboolean
compact_result_save (const CompactResult  *c,
                     const char           *path,
                     GError              **error)
{
  g_autoptr(GKeyFile) file = g_key_file_new ();

  g_key_file_set_double (file, "compact", "rate", c->rate);
  g_key_file_set_double (file, "compact", "rate-with-stop", c->rate_with_stop);
  g_key_file_set_int64 (file, "compact", "stop-usec", c->stop_usec);
  g_key_file_set_uint64 (file, "compact", "compactions-dumping", c->compactions_dumping);
  g_key_file_set_uint64 (file, "compact", "peak-bytes", c->peak_bytes);
  g_key_file_set_uint64 (file, "compact", "ops", c->ops);
  g_key_file_set_uint64 (file, "compact", "compactions", c->compactions);
  g_key_file_set_uint64 (file, "compact", "final-bytes", c->final_bytes);
  g_key_file_set_uint64 (file, "compact", "final-files", c->final_files);
  g_key_file_set_uint64 (file, "compact", "distinct-keys", c->distinct_keys);
  g_key_file_set_uint64 (file, "compact", "live-estimate", c->live_estimate);
  g_key_file_set_uint64 (file, "compact", "live-snapshot", c->live_snapshot);
  g_key_file_set_uint64 (file, "compact", "peak-rss", c->peak_rss);
  g_key_file_set_uint64 (file, "compact", "start-rss", c->start_rss);
  g_key_file_set_double (file, "compact", "p50-us", c->p50_us);
  g_key_file_set_double (file, "compact", "p99-us", c->p99_us);
  g_key_file_set_double (file, "compact", "max-us", c->max_us);
  return g_key_file_save_to_file (file, path, error);
}

static gboolean
compact_result_load (CompactResult  *c,
                     const char     *path,
                     GError        **error)
{
  g_autoptr(GKeyFile) file = g_key_file_new ();
  GError *local_error = NULL;

  if (!g_key_file_load_from_file (file, path, G_KEY_FILE_NONE, error))
    return FALSE;

#define GET(field, type, key) \
  G_STMT_START { \
    if (local_error == NULL) \
      c->field = g_key_file_get_##type (file, "compact", key, &local_error); \
  } G_STMT_END

  GET (rate, double, "rate");
  GET (rate_with_stop, double, "rate-with-stop");
  GET (stop_usec, int64, "stop-usec");
  GET (compactions_dumping, uint64, "compactions-dumping");
  GET (peak_bytes, uint64, "peak-bytes");
  GET (ops, uint64, "ops");
  GET (compactions, uint64, "compactions");
  GET (final_bytes, uint64, "final-bytes");
  GET (final_files, uint64, "final-files");
  GET (distinct_keys, uint64, "distinct-keys");
  GET (live_estimate, uint64, "live-estimate");
  GET (live_snapshot, uint64, "live-snapshot");
  GET (peak_rss, uint64, "peak-rss");
  GET (start_rss, uint64, "start-rss");
  GET (p50_us, double, "p50-us");
  GET (p99_us, double, "p99-us");
  GET (max_us, double, "max-us");

#undef GET

  if (local_error != NULL)
    {
      g_propagate_prefixed_error (error, local_error, "Bad result file of the max-size phase: ");
      return FALSE;
    }
  return TRUE;
}

/* Runs in the child: dumps the workload with max-size set, timing each
 * dump, while automatic compactions run; then compacts explicitly to
 * measure the live set. */
static gboolean
run_compact_phase (const Options  *opts,
                   GError        **error)
{
  guint64 n_ops = (guint64) opts->ops;
  gint64 max_size = (gint64) opts->max_size_mib * 1024 * 1024;
  Workload w;
  CompactResult c = { 0, };
  g_autofree guint8 *seen = NULL;
  g_autofree LatencyHistogram *hist = NULL;
  g_autoptr(PlogLogger) logger = NULL;
  g_autoptr(GAsyncResult) compact_result = NULL;
  g_autofree char *title = NULL;
  BenchRng rng = { SEED_MAIN };
  guint n_compacted = 0;
  guint64 replayed = 0;
  guint64 bytes;
  gsize record_size;
  gint64 start, dumped, stopped;
  gboolean ok;

  workload_init (&w, n_ops);
  record_size = workload_record_size (&w);
  seen = g_new0 (guint8, (w.n_keys + 7) / 8);
  hist = g_new0 (LatencyHistogram, 1);
  c.ops = n_ops;
  c.start_rss = read_rss ("VmRSS:");

  title = g_strdup_printf ("dump with max-size %d MiB, PERIODIC, one thread, %"
                           G_GUINT64_FORMAT " ops (own process)",
                           opts->max_size_mib, n_ops);
  print_section (title);

  logger = plog_logger_new (opts->dir, error);
  if (logger == NULL)
    return FALSE;
  plog_logger_limit (logger, max_size);
  plog_logger_set_sync_mode (logger, PLOG_SYNC_MODE_PERIODIC);
  g_signal_connect (logger, "compacted", G_CALLBACK (on_compacted), &n_compacted);
  if (!plog_logger_record (logger, error))
    return FALSE;

  start = g_get_monotonic_time ();
  for (guint64 i = 0; i < n_ops; i++)
    {
      guint64 key_index;
      g_autoptr(PlogOp) op = workload_next_op (&w, &rng, i, &key_index);
      struct timespec t0, t1;

      clock_gettime (CLOCK_MONOTONIC, &t0);
      ok = plog_logger_dump (logger, op, error);
      clock_gettime (CLOCK_MONOTONIC, &t1);
      if (!ok)
        return FALSE;
      latency_add (hist, timespec_diff_ns (&t0, &t1));
      seen[key_index / 8] |= (guint8) (1u << (key_index % 8));
      if (i % MAIN_LOOP_EVERY == MAIN_LOOP_EVERY - 1)
        {
          /* What a main loop would do: take the ::compacted emissions;
           * and how much the directory holds right now. */
          drain_main_context ();
          if (!dir_usage (opts->dir, &bytes, NULL, error))
            return FALSE;
          c.peak_bytes = MAX (c.peak_bytes, bytes);
        }
    }
  dumped = g_get_monotonic_time ();
  drain_main_context ();
  c.compactions_dumping = n_compacted;
  if (!dir_usage (opts->dir, &bytes, NULL, error))
    return FALSE;
  c.peak_bytes = MAX (c.peak_bytes, bytes);
  if (!plog_logger_stop (logger, error))
    return FALSE;
  stopped = g_get_monotonic_time ();
  drain_main_context ();

  c.rate = per_second (n_ops, dumped - start);
  c.rate_with_stop = per_second (n_ops, stopped - start);
  c.stop_usec = stopped - dumped;
  c.compactions = n_compacted;
  c.p50_us = latency_percentile (hist, 0.50) / 1000.0;
  c.p99_us = latency_percentile (hist, 0.99) / 1000.0;
  c.max_us = hist->max / 1000.0;
  for (guint64 k = 0; k < w.n_keys; k++)
    if (seen[k / 8] & (1u << (k % 8)))
      c.distinct_keys++;
  c.live_estimate = FILE_HEADER_SIZE + c.distinct_keys * record_size;
  if (!dir_usage (opts->dir, &c.final_bytes, &c.final_files, error))
    return FALSE;

  /* The live set as libplog encodes it: one more compaction of
   * everything, then the size of the snapshot it wrote. */
  if (!plog_logger_record (logger, error))
    return FALSE;
  plog_logger_compact_async (logger, NULL, on_async_done, &compact_result);
  while (compact_result == NULL)
    g_main_context_iteration (NULL, TRUE);
  if (!plog_logger_compact_finish (logger, compact_result, error)
      || !plog_logger_stop (logger, error))
    return FALSE;
  drain_main_context ();
  c.live_snapshot = newest_snapshot_size (opts->dir);
  c.peak_rss = read_rss ("VmHWM:");

  if (!plog_logger_play (logger, count_op, &replayed, NULL, error))
    return FALSE;
  if (replayed != c.distinct_keys)
    {
      g_set_error (error, PLOG_ERROR, PLOG_ERROR_FAILED,
                   "Replay after the compaction delivered %" G_GUINT64_FORMAT
                   " ops, expected one per distinct key (%" G_GUINT64_FORMAT ")",
                   replayed, c.distinct_keys);
      return FALSE;
    }

  print_figure ("max-size dump", "%.0f ops/s", c.rate);
  print_figure ("max-size dump incl. stop", "%.0f ops/s (stop took %.1f ms, waiting for "
                "the running compaction)", c.rate_with_stop, c.stop_usec / 1000.0);
  print_figure ("max-size compactions", "%u (%u landed while dumping)",
                c.compactions, c.compactions_dumping);
  print_figure ("max-size dump latency p50", "%.2f us", c.p50_us);
  print_figure ("max-size dump latency p99", "%.2f us", c.p99_us);
  print_figure ("max-size dump latency max", "%.2f us", c.max_us);
  print_figure ("max-size peak bytes on disk", "%.1f MiB (sampled every %d ops)",
                c.peak_bytes / MIB, MAIN_LOOP_EVERY);
  print_figure ("max-size bytes on disk", "%.1f MiB (%" G_GUINT64_FORMAT " bytes, %u files, "
                "after stop)", c.final_bytes / MIB, c.final_bytes, c.final_files);
  print_figure ("max-size distinct keys written", "%" G_GUINT64_FORMAT, c.distinct_keys);
  if (c.live_snapshot > 0)
    print_figure ("max-size live set", "%.1f MiB (the .snap of an explicit compaction after stop)",
                  c.live_snapshot / MIB);
  else
    print_figure ("max-size live set", "unknown (no .snap after an explicit compaction)");
  print_figure ("max-size live set estimate", "%.1f MiB (distinct keys x %" G_GSIZE_FORMAT
                " bytes)", c.live_estimate / MIB, record_size);
  print_figure ("max-size replay after compaction", "%" G_GUINT64_FORMAT " ops", replayed);
  print_figure ("max-size RSS at start", "%.1f MiB", c.start_rss / MIB);
  print_figure ("max-size peak RSS", "%.1f MiB (VmHWM)", c.peak_rss / MIB);

  if (opts->phase_result != NULL)
    return compact_result_save (&c, opts->phase_result, error);
  return TRUE;
}

/* Re-executes this program with --phase=compact, so that the peak RSS
 * it reports is that phase's own. */
static gboolean
phase_compact (Bench   *bench,
               GError **error)
{
  const Options *opts = bench->opts;
  g_autofree char *self = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree char *ops = g_strdup_printf ("%" G_GINT64_FORMAT, opts->ops);
  g_autofree char *max_size = g_strdup_printf ("%d", opts->max_size_mib);
  const char *dir = bench_path (bench, "compact");
  const char *result = bench_path (bench, "compact-result.ini");
  const char *argv[] = {
    self != NULL ? self : opts->argv0,
    "--phase=compact",
    "--ops", ops,
    "--max-size", max_size,
    "--dir", dir,
    "--phase-result", result,
    NULL
  };
  int wait_status;

  fflush (stdout);
  fflush (stderr);
  if (!g_spawn_sync (NULL, (char **) argv, NULL,
                     G_SPAWN_CHILD_INHERITS_STDOUT | G_SPAWN_CHILD_INHERITS_STDERR
                     | (self != NULL ? 0 : G_SPAWN_SEARCH_PATH),
                     NULL, NULL, NULL, NULL, &wait_status, error))
    return FALSE;
  if (!g_spawn_check_wait_status (wait_status, error))
    {
      g_prefix_error (error, "The max-size phase failed: ");
      return FALSE;
    }
  if (!compact_result_load (&bench->results.compact, result, error))
    return FALSE;
  settle (bench->dir);
  return TRUE;
}

/* ---------------------------------------------------------------------- */
/* SQLite                                                                 */
/* ---------------------------------------------------------------------- */

#ifdef HAVE_SQLITE

G_DEFINE_AUTOPTR_CLEANUP_FUNC (sqlite3, sqlite3_close_v2)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (sqlite3_stmt, sqlite3_finalize)

#define BENCH_SQL_SCHEMA \
  "CREATE TABLE IF NOT EXISTS t (k BLOB PRIMARY KEY, v BLOB, ts INTEGER) WITHOUT ROWID"
#define BENCH_SQL_INSERT "INSERT OR REPLACE INTO t (k, v, ts) VALUES (?1, ?2, ?3)"
#define BENCH_SQL_SCAN "SELECT k, v, ts FROM t"
#define BENCH_MIN_SCAN_USEC (G_USEC_PER_SEC / 4)

static void
set_sqlite_error (GError     **error,
                  sqlite3     *db,
                  int          rc,
                  const char  *what)
{
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "SQLite: %s: %s",
               what, db != NULL ? sqlite3_errmsg (db) : sqlite3_errstr (rc));
}

/* Several writers retry at once: yield and try again, rather than
 * SQLite's sleeping default, whose back-off would set the figure. */
static int
sqlite_busy_yield (void *data,
                   int   n_calls)
{
  g_thread_yield ();
  return 1;
}

static sqlite3_stmt *
sqlite_prepare (sqlite3     *db,
                const char  *sql,
                GError     **error)
{
  sqlite3_stmt *stmt = NULL;
  int rc = sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL);

  if (rc != SQLITE_OK)
    {
      set_sqlite_error (error, db, rc, sql);
      return NULL;
    }
  return stmt;
}

static gboolean
sqlite_exec (sqlite3     *db,
             const char  *sql,
             GError     **error)
{
  char *message = NULL;
  int rc = sqlite3_exec (db, sql, NULL, NULL, &message);

  if (rc != SQLITE_OK)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "SQLite: %s: %s",
                   sql, message != NULL ? message : sqlite3_errstr (rc));
      sqlite3_free (message);
      return FALSE;
    }
  return TRUE;
}

/* A connection in WAL mode with @synchronous, the table created. */
static sqlite3 *
sqlite_open (const char  *path,
             const char  *synchronous,
             GError     **error)
{
  g_autoptr(sqlite3) db = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autofree char *pragma = NULL;
  const char *mode;
  int rc;

  rc = sqlite3_open_v2 (path, &db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL);
  if (rc != SQLITE_OK)
    {
      set_sqlite_error (error, db, rc, path);
      return NULL;
    }
  sqlite3_busy_handler (db, sqlite_busy_yield, NULL);

  stmt = sqlite_prepare (db, "PRAGMA journal_mode=WAL", error);
  if (stmt == NULL)
    return NULL;
  rc = sqlite3_step (stmt);
  if (rc != SQLITE_ROW)
    {
      set_sqlite_error (error, db, rc, "PRAGMA journal_mode=WAL");
      return NULL;
    }
  mode = (const char *) sqlite3_column_text (stmt, 0);
  if (mode == NULL || g_ascii_strcasecmp (mode, "wal") != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   "SQLite: “%s” refused WAL mode (it is in %s mode)",
                   path, mode != NULL ? mode : "unknown");
      return NULL;
    }
  g_clear_pointer (&stmt, sqlite3_finalize);

  pragma = g_strdup_printf ("PRAGMA synchronous=%s", synchronous);
  if (!sqlite_exec (db, pragma, error)
      || !sqlite_exec (db, BENCH_SQL_SCHEMA, error))
    return NULL;
  return g_steal_pointer (&db);
}

static gboolean
sqlite_close (sqlite3  *db,
              GError  **error)
{
  int rc = sqlite3_close_v2 (db);

  if (rc != SQLITE_OK)
    {
      set_sqlite_error (error, NULL, rc, "close");
      return FALSE;
    }
  return TRUE;
}

/* @n_ops upserts, one transaction each (autocommit), the key and value
 * built as for libplog. */
static gboolean
sqlite_insert_ops (sqlite3         *db,
                   sqlite3_stmt    *stmt,
                   const Workload  *w,
                   guint64          seed,
                   guint64          first_seq,
                   guint64          n_ops,
                   GError         **error)
{
  BenchRng rng = { seed };

  for (guint64 i = 0; i < n_ops; i++)
    {
      guint8 key[KEY_SIZE];
      guint8 value[VALUE_SIZE];
      guint64 seq = first_seq + i;
      int rc;

      workload_fill (w, &rng, seq, key, value);
      sqlite3_bind_blob (stmt, 1, key, KEY_SIZE, SQLITE_STATIC);
      sqlite3_bind_blob (stmt, 2, value, VALUE_SIZE, SQLITE_STATIC);
      sqlite3_bind_int64 (stmt, 3, w->base_timestamp + (gint64) seq);
      while ((rc = sqlite3_step (stmt)) != SQLITE_DONE)
        {
          sqlite3_reset (stmt);
          if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
            {
              g_thread_yield ();
              continue;
            }
          set_sqlite_error (error, db, rc, BENCH_SQL_INSERT);
          return FALSE;
        }
      sqlite3_reset (stmt);
    }
  return TRUE;
}

/* One thread, @n_ops transactions; as for libplog, the time runs from the
 * first op to the last op's return (closing, and so the final checkpoint,
 * is left out). */
static gboolean
sqlite_bench_writes (const char      *path,
                     const char      *synchronous,
                     const Workload  *w,
                     guint64          n_ops,
                     double          *rate,
                     GError         **error)
{
  g_autoptr(sqlite3) db = sqlite_open (path, synchronous, error);
  g_autoptr(sqlite3_stmt) stmt = NULL;
  gint64 start, end;

  if (db == NULL)
    return FALSE;
  stmt = sqlite_prepare (db, BENCH_SQL_INSERT, error);
  if (stmt == NULL)
    return FALSE;

  start = g_get_monotonic_time ();
  if (!sqlite_insert_ops (db, stmt, w, SEED_MAIN, 0, n_ops, error))
    return FALSE;
  end = g_get_monotonic_time ();
  g_clear_pointer (&stmt, sqlite3_finalize);
  if (!sqlite_close (g_steal_pointer (&db), error))
    return FALSE;

  *rate = per_second (n_ops, end - start);
  return TRUE;
}

static gpointer
sqlite_worker_run (gpointer data)
{
  Worker *worker = data;
  g_autoptr(sqlite3) db = sqlite_open (worker->db_path, worker->synchronous, &worker->error);
  g_autoptr(sqlite3_stmt) stmt = NULL;

  if (db != NULL)
    stmt = sqlite_prepare (db, BENCH_SQL_INSERT, &worker->error);
  if (!gate_arrive (worker->gate) || stmt == NULL)
    return NULL;
  if (!sqlite_insert_ops (db, stmt, worker->workload, worker->seed,
                          worker->first_seq, worker->n_ops, &worker->error))
    return NULL;
  worker->done_usec = g_get_monotonic_time ();
  g_clear_pointer (&stmt, sqlite3_finalize);
  sqlite_close (g_steal_pointer (&db), &worker->error);
  return NULL;
}

/* @n_threads threads, each with its own connection, share @n_ops. */
static gboolean
sqlite_bench_threads (const char      *path,
                      const char      *synchronous,
                      const Workload  *w,
                      guint            n_threads,
                      guint64          n_ops,
                      double          *rate,
                      GError         **error)
{
  g_autoptr(sqlite3) db = sqlite_open (path, synchronous, error);
  g_autofree Worker *workers = NULL;
  gint64 start, end;
  gboolean ok;

  /* Creates the database, in WAL mode, before the threads race. */
  if (db == NULL || !sqlite_close (g_steal_pointer (&db), error))
    return FALSE;

  workers = workers_new (n_threads, w, n_ops);
  for (guint i = 0; i < n_threads; i++)
    {
      workers[i].db_path = path;
      workers[i].synchronous = synchronous;
    }
  ok = run_workers (workers, n_threads, sqlite_worker_run, &start, error);
  workers_clear (workers, n_threads);
  if (!ok)
    return FALSE;
  end = start;
  for (guint i = 0; i < n_threads; i++)
    end = MAX (end, workers[i].done_usec);

  *rate = per_second (n_ops, end - start);
  return TRUE;
}

/* Full table scans, reading every column of every row, repeated for at
 * least a quarter of a second. */
static gboolean
sqlite_bench_scan (const char  *path,
                   double      *rate,
                   guint64     *n_rows,
                   guint       *n_passes,
                   GError     **error)
{
  g_autoptr(sqlite3) db = sqlite_open (path, "NORMAL", error);
  guint64 total = 0;
  guint64 sum = 0;
  gint64 start, elapsed;

  if (db == NULL)
    return FALSE;
  *n_passes = 0;
  start = g_get_monotonic_time ();
  do
    {
      g_autoptr(sqlite3_stmt) stmt = sqlite_prepare (db, BENCH_SQL_SCAN, error);
      guint64 rows = 0;
      int rc;

      if (stmt == NULL)
        return FALSE;
      while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
        {
          const guint8 *k = sqlite3_column_blob (stmt, 0);
          int k_len = sqlite3_column_bytes (stmt, 0);
          const guint8 *v = sqlite3_column_blob (stmt, 1);
          int v_len = sqlite3_column_bytes (stmt, 1);
          gint64 ts = sqlite3_column_int64 (stmt, 2);

          sum += (guint64) (k_len + v_len + ts) + (k != NULL ? k[0] : 0) + (v != NULL ? v[0] : 0);
          rows++;
        }
      if (rc != SQLITE_DONE)
        {
          set_sqlite_error (error, db, rc, BENCH_SQL_SCAN);
          return FALSE;
        }
      total += rows;
      *n_rows = rows;
      (*n_passes)++;
      elapsed = g_get_monotonic_time () - start;
    }
  while (elapsed < BENCH_MIN_SCAN_USEC);

  bench_sink = sum;
  *rate = per_second (total, elapsed);
  return TRUE;
}

static void
print_pair (const char *name,
            double      plog_rate,
            guint64     plog_ops,
            double      sqlite_rate,
            guint64     sqlite_ops)
{
  print_figure (name, "libplog %.0f ops/s  sqlite %.0f ops/s  ratio %.1fx"
                "  (%" G_GUINT64_FORMAT " and %" G_GUINT64_FORMAT " ops)",
                plog_rate, sqlite_rate, ratio (plog_rate, sqlite_rate),
                plog_ops, sqlite_ops);
}

static gboolean
phase_compare (Bench   *bench,
               GError **error)
{
  const Options *opts = bench->opts;
  Results *r = &bench->results;
  const Workload *w = &bench->workload;
  guint64 n_ops = (guint64) opts->ops;
  guint64 sqlite_ops = (guint64) opts->sqlite_ops;
  guint64 always_ops = (guint64) opts->always_ops;
  guint n_threads = (guint) opts->threads;
  const char *sqlite_dir;
  const char *off_db;
  g_autofree char *title = NULL;
  g_autofree char *name = NULL;
  guint64 scan_rows = 0;
  guint scan_passes = 0;

  sqlite_dir = bench_path (bench, "sqlite");
  if (g_mkdir (sqlite_dir, 0700) != 0)
    {
      set_io_error (error, errno, "Failed to create directory", sqlite_dir);
      return FALSE;
    }

  title = g_strdup_printf ("libplog against SQLite %s (WAL, one transaction per op, "
                           "INSERT OR REPLACE into a WITHOUT ROWID table)",
                           sqlite3_libversion ());
  print_section (title);

  off_db = bench_path (bench, "sqlite/off.db");
  if (!sqlite_bench_writes (off_db, "OFF", w, sqlite_ops, &r->sqlite_off_rate, error))
    return FALSE;
  print_figure ("sqlite OFF", "%.0f ops/s (%" G_GUINT64_FORMAT " ops)",
                r->sqlite_off_rate, sqlite_ops);
  settle (bench->dir);

  if (!sqlite_bench_writes (bench_path (bench, "sqlite/normal.db"), "NORMAL", w, sqlite_ops,
                            &r->sqlite_normal_rate, error))
    return FALSE;
  print_figure ("sqlite NORMAL", "%.0f ops/s (%" G_GUINT64_FORMAT " ops)",
                r->sqlite_normal_rate, sqlite_ops);
  settle (bench->dir);

  if (!sqlite_bench_writes (bench_path (bench, "sqlite/full.db"), "FULL", w, always_ops,
                            &r->sqlite_full_rate, error))
    return FALSE;
  print_figure ("sqlite FULL 1 thread", "%.0f ops/s (%" G_GUINT64_FORMAT " ops)",
                r->sqlite_full_rate, always_ops);
  settle (bench->dir);

  if (!sqlite_bench_threads (bench_path (bench, "sqlite/full-threads.db"), "FULL", w,
                             n_threads, always_ops, &r->sqlite_full_threads_rate, error))
    return FALSE;
  name = g_strdup_printf ("sqlite FULL %u %s", n_threads, THREADS (n_threads));
  print_figure (name, "%.0f ops/s (%" G_GUINT64_FORMAT " ops)",
                r->sqlite_full_threads_rate, always_ops);
  g_clear_pointer (&name, g_free);
  settle (bench->dir);

  if (!sqlite_bench_scan (off_db, &r->sqlite_scan_rate, &scan_rows, &scan_passes, error))
    return FALSE;
  print_figure ("sqlite scan", "%.0f rows/s (%" G_GUINT64_FORMAT " rows, %u passes)",
                r->sqlite_scan_rate, scan_rows, scan_passes);

  print_pair ("compare NONE vs OFF", r->none.rate, n_ops, r->sqlite_off_rate, sqlite_ops);
  print_pair ("compare PERIODIC vs NORMAL", r->periodic.rate, n_ops,
              r->sqlite_normal_rate, sqlite_ops);
  print_pair ("compare ALWAYS vs FULL, 1 thread", r->always_rate, always_ops,
              r->sqlite_full_rate, always_ops);
  name = g_strdup_printf ("compare ALWAYS vs FULL, %u %s", n_threads, THREADS (n_threads));
  print_pair (name, r->always_threads_rate, always_ops,
              r->sqlite_full_threads_rate, always_ops);
  print_pair ("compare replay vs scan", r->replay_callback_rate, n_ops,
              r->sqlite_scan_rate, scan_rows * scan_passes);

  r->compared = TRUE;
  return TRUE;
}

#endif /* HAVE_SQLITE */

/* ---------------------------------------------------------------------- */
/* Targets                                                                */
/* ---------------------------------------------------------------------- */

static void
print_targets (Bench *bench)
{
  const Options *opts = bench->opts;
  const Results *r = &bench->results;
  const CompactResult *c = &r->compact;
  double live = c->live_snapshot > 0 ? c->live_snapshot : c->live_estimate;
  double disk_bound = opts->max_size_mib * MIB + TARGET_LIVE_FACTOR * live;
  guint n_measured = 0, n_passed = 0;

  target_add (bench, UNIT_OPS, TRUE, r->none.rate, FALSE, TARGET_DUMP_RATE,
              "dump NONE >= %.0f ops/s", TARGET_DUMP_RATE);
  target_add (bench, UNIT_OPS, TRUE, r->periodic.rate, FALSE, TARGET_DUMP_RATE,
              "dump PERIODIC >= %.0f ops/s", TARGET_DUMP_RATE);
  target_add (bench, UNIT_PERCENT, TRUE, 100 * ratio (r->none.mbps, r->plain_mbps),
              FALSE, TARGET_PLAIN_PERCENT,
              "dump NONE MB/s >= %.0f %% of plain 64 KiB writes", TARGET_PLAIN_PERCENT);
  target_add (bench, UNIT_PERCENT, TRUE, 100 * ratio (r->periodic.mbps, r->plain_mbps),
              FALSE, TARGET_PLAIN_PERCENT,
              "dump PERIODIC MB/s >= %.0f %% of plain 64 KiB writes", TARGET_PLAIN_PERCENT);
  target_add (bench, UNIT_USEC, TRUE, c->p99_us, TRUE, TARGET_P99_US,
              "dump latency p99 while compacting <= %.0f us", TARGET_P99_US);
  target_add (bench, UNIT_USEC, TRUE, c->max_us, TRUE, TARGET_MAX_US,
              "dump latency max while compacting <= %.0f us", TARGET_MAX_US);
  target_add (bench, UNIT_PERCENT, TRUE, 100 * ratio (r->always_rate, r->fdatasync_rate),
              FALSE, TARGET_FDATASYNC_PERCENT,
              "dump ALWAYS 1 thread >= %.0f %% of write+fdatasync", TARGET_FDATASYNC_PERCENT);
  target_add (bench, UNIT_RATIO, TRUE, ratio (r->always_threads_rate, r->always_rate),
              FALSE, TARGET_GROUP_COMMIT,
              "dump ALWAYS %d %s >= %.1fx 1 thread",
              opts->threads, THREADS (opts->threads), TARGET_GROUP_COMMIT);
  target_add (bench, UNIT_OPS, TRUE, r->replay_callback_rate, FALSE, TARGET_REPLAY_CALLBACK,
              "replay callback >= %.0f ops/s", TARGET_REPLAY_CALLBACK);
  target_add (bench, UNIT_OPS, TRUE, r->replay_signal_rate, FALSE, TARGET_REPLAY_SIGNAL,
              "replay signal >= %.0f ops/s", TARGET_REPLAY_SIGNAL);
  target_add (bench, UNIT_OPS, TRUE, c->rate, FALSE, TARGET_COMPACT_DUMP_RATE,
              "max-size dump >= %.0f ops/s", TARGET_COMPACT_DUMP_RATE);
  target_add (bench, UNIT_MIB, TRUE, c->final_bytes / MIB, TRUE, disk_bound / MIB,
              "max-size bytes on disk <= %d MiB + %.1fx live set (%.1f MiB)",
              opts->max_size_mib, TARGET_LIVE_FACTOR, disk_bound / MIB);
  target_add (bench, UNIT_MIB, TRUE, c->peak_rss / MIB, TRUE, TARGET_PEAK_RSS_MIB,
              "max-size peak RSS <= %.0f MiB", TARGET_PEAK_RSS_MIB);
  target_add (bench, UNIT_OPS, opts->ops >= SCALING_OPS, c->rate, FALSE,
              TARGET_COMPACT_DUMP_RATE,
              "scaling: max-size dump at >= %" G_GINT64_FORMAT " ops >= %.0f ops/s",
              SCALING_OPS, TARGET_COMPACT_DUMP_RATE);
  target_add (bench, UNIT_RATIO, r->compared, ratio (r->none.rate, r->sqlite_off_rate),
              FALSE, TARGET_VS_OFF,
              "compare NONE >= %.0fx SQLite OFF", TARGET_VS_OFF);
  target_add (bench, UNIT_RATIO, r->compared, ratio (r->periodic.rate, r->sqlite_normal_rate),
              FALSE, TARGET_VS_NORMAL,
              "compare PERIODIC >= %.0fx SQLite NORMAL", TARGET_VS_NORMAL);
  target_add (bench, UNIT_RATIO, r->compared,
              ratio (r->always_threads_rate, r->sqlite_full_threads_rate),
              FALSE, TARGET_VS_FULL_THREADS,
              "compare ALWAYS %d %s >= %.0fx SQLite FULL %d %s",
              opts->threads, THREADS (opts->threads), TARGET_VS_FULL_THREADS,
              opts->threads, THREADS (opts->threads));

  print_section ("targets (issue 3)");
  for (guint i = 0; i < bench->targets->len; i++)
    {
      const Target *target = &g_array_index (bench->targets, Target, i);
      g_autofree char *value = NULL;

      if (!target->measured)
        {
          g_print ("target %s: not measured in this run\n", target->label);
          continue;
        }
      value = format_value (target->unit, target->value);
      g_print ("target %s: %s %s\n", target->label, value, target->pass ? "PASS" : "FAIL");
      n_measured++;
      if (target->pass)
        n_passed++;
    }
  print_figure ("targets passed", "%u of %u measured", n_passed, n_measured);
}

/* ---------------------------------------------------------------------- */
/* main                                                                   */
/* ---------------------------------------------------------------------- */

static gboolean
run_all (const Options  *opts,
         GError        **error)
{
  g_autoptr(Bench) bench = bench_new (opts, error);

  if (bench == NULL)
    return FALSE;
  print_header (bench);
  if (!phase_dump (bench, error)
      || !phase_always (bench, error)
      || !phase_replay (bench, error)
      || !phase_compact (bench, error))
    return FALSE;
#ifdef HAVE_SQLITE
  if (opts->compare && !phase_compare (bench, error))
    return FALSE;
#endif
  print_targets (bench);
  return TRUE;
}

static gboolean
options_check (const Options  *opts,
               GError        **error)
{
  const char *bad = NULL;

  if (opts->ops < 10 || opts->ops > G_GINT64_CONSTANT (10000000000))
    bad = "--ops must be between 10 and 10000000000";
  else if (opts->always_ops < 1)
    bad = "--always-ops must be at least 1";
  else if (opts->sqlite_ops < 1)
    bad = "--sqlite-ops must be at least 1";
  else if (opts->threads < 2 || opts->threads > 1024)
    bad = "--threads must be between 2 and 1024";
  else if (opts->max_size_mib < 1 || opts->max_size_mib > 1024 * 1024)
    bad = "--max-size must be between 1 and 1048576 (MiB)";
  else if (opts->phase != NULL && !g_str_equal (opts->phase, "compact"))
    bad = "--phase must be “compact”";
  else if (opts->phase != NULL && opts->dir == NULL)
    bad = "--phase needs --dir";
#ifndef HAVE_SQLITE
  else if (opts->compare)
    bad = "--compare is not available: plog-bench was built without SQLite";
#endif

  if (bad != NULL)
    {
      g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, bad);
      return FALSE;
    }
  return TRUE;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  Options opts = {
    .ops = DEFAULT_OPS,
    .always_ops = DEFAULT_ALWAYS_OPS,
    .sqlite_ops = DEFAULT_SQLITE_OPS,
    .threads = DEFAULT_THREADS,
    .max_size_mib = DEFAULT_MAX_SIZE_MIB,
  };
  const GOptionEntry entries[] = {
    { "ops", 'n', 0, G_OPTION_ARG_INT64, &opts.ops,
      "Put ops per dump and replay run, over N/10 distinct keys (default 2000000)", "N" },
    { "always-ops", 0, 0, G_OPTION_ARG_INT64, &opts.always_ops,
      "Ops of the ALWAYS, fdatasync and SQLite FULL runs (default 20000)", "N" },
    { "sqlite-ops", 0, 0, G_OPTION_ARG_INT64, &opts.sqlite_ops,
      "Ops of the SQLite OFF and NORMAL runs (default 200000)", "N" },
    { "threads", 0, 0, G_OPTION_ARG_INT, &opts.threads,
      "Threads of the group-commit runs (default 8)", "N" },
    { "max-size", 0, 0, G_OPTION_ARG_INT, &opts.max_size_mib,
      "max-size of the compaction run, in MiB (default 64)", "MIB" },
    { "dir", 'd', 0, G_OPTION_ARG_FILENAME, &opts.dir,
      "Put the files in PATH, a new or empty directory (default: a new temporary one)", "PATH" },
    { "keep", 'k', 0, G_OPTION_ARG_NONE, &opts.keep,
      "Keep the files at the end", NULL },
    { "compare", 'c', 0, G_OPTION_ARG_NONE, &opts.compare,
      "Also run the same workload through SQLite in WAL mode", NULL },
    { "phase", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, &opts.phase,
      "Run one phase only (internal)", "NAME" },
    { "phase-result", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_FILENAME, &opts.phase_result,
      "Where the phase writes its figures (internal)", "FILE" },
    G_OPTION_ENTRY_NULL
  };
  gboolean ok;

  opts.argv0 = argv[0];
  setlocale (LC_ALL, "");
  setlocale (LC_NUMERIC, "C");

  context = g_option_context_new (NULL);
  g_option_context_set_summary (context,
    "Measures libplog on the workload of its issue 3: put ops of 16-byte keys over\n"
    "N/10 distinct keys with 100-byte values, dumped with each sync mode and from\n"
    "several threads, replayed through a callback and through the signal, and\n"
    "dumped with max-size while compactions run; with --compare, the same through\n"
    "SQLite in WAL mode. Ends with the issue's targets marked PASS or FAIL; the\n"
    "exit status is non-zero only on an error.");
  g_option_context_add_main_entries (context, entries, NULL);

  ok = g_option_context_parse (context, &argc, &argv, &error)
       && options_check (&opts, &error);
  if (ok)
    {
      if (opts.phase != NULL)
        ok = run_compact_phase (&opts, &error);
      else
        ok = run_all (&opts, &error);
    }

  g_clear_pointer (&opts.dir, g_free);
  g_clear_pointer (&opts.phase, g_free);
  g_clear_pointer (&opts.phase_result, g_free);

  if (!ok)
    {
      g_printerr ("%s: %s\n", g_get_prgname (), error->message);
      return EXIT_FAILURE;
    }
  return EXIT_SUCCESS;
}
