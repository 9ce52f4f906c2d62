/* plog-sched.c: how libplog's own threads yield to the program's
 *
 * A dump on a program's main loop must never wait long for a CPU. On a
 * machine with as many busy threads as processors, the program's dumping
 * thread, libplog's writer thread (which must keep up with it), the
 * compactor and the syncer compete; these classes decide who yields.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#ifdef __linux__
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include "plog-sched-private.h"

/* How far the syncer's nice value is raised. Measured on a 2-core
 * machine with a thread dumping flat out while compactions ran: at the
 * default priority, the syncer's writeback (it walks and submits the
 * log's dirty pages, for milliseconds of CPU) kept a woken dumper off its
 * CPU for up to 10 ms; raised by 10, the slowest dump of 24 runs took
 * 5 ms, against 10 ms at 0 and 7 ms at 19, where its syncs lagged. */
#define YIELD_NICE 10

void
plog_sched_set_class (PlogSchedClass sched_class)
{
#ifdef __linux__
  struct sched_param param = { 0 };

  switch (sched_class)
    {
    case PLOG_SCHED_BATCH:
      pthread_setschedparam (pthread_self (), SCHED_BATCH, &param);
      break;

    case PLOG_SCHED_YIELD:
      {
        /* On Linux the nice value belongs to the thread, not the
         * process. Raised from the thread's own, which may be raised
         * already: setting it would lower it there. */
        id_t tid = (id_t) syscall (SYS_gettid);
        int nice;

        errno = 0;
        nice = getpriority (PRIO_PROCESS, tid);
        if (errno == 0)
          setpriority (PRIO_PROCESS, tid, MIN (nice + YIELD_NICE, 19));
      }
      break;

    default:
      g_assert_not_reached ();
    }
#endif
}

guint
plog_sched_n_cpus (void)
{
#ifdef __linux__
  cpu_set_t set;

  /* The processors this thread may run on, as taskset or a cpuset
   * allows, not every processor of the machine. */
  if (sched_getaffinity (0, sizeof set, &set) == 0 && CPU_COUNT (&set) > 0)
    return (guint) CPU_COUNT (&set);
#endif
  return g_get_num_processors ();
}
