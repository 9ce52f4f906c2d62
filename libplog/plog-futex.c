/* plog-futex.c: waiting for a word to change, without a lock
 *
 * A group commit wakes every dumper that one fdatasync() served. Woken
 * from a GCond, each of them must take the writer's mutex back before it
 * can return, one after the other; on two processors that queue costs
 * about as much as the sync itself. Waiting on a word instead lets each
 * check for itself, without the mutex, whether it was served. Linux has
 * futexes for exactly that; elsewhere one process-wide GMutex and GCond
 * stand in, which is correct, only slower.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#ifdef __linux__
# include <linux/futex.h>
# include <sys/syscall.h>
# include <unistd.h>
#endif

#include "plog-futex-private.h"

#ifdef __linux__

void
plog_futex_wait (gint *word,
                 gint  value)
{
  /* EAGAIN when *word changed already, EINTR on a signal: both are early
   * returns, which the caller handles. */
  syscall (SYS_futex, word, FUTEX_WAIT_PRIVATE, value, NULL, NULL, 0);
}

void
plog_futex_wake_all (gint *word)
{
  syscall (SYS_futex, word, FUTEX_WAKE_PRIVATE, G_MAXINT, NULL, NULL, 0);
}

#else /* !__linux__ */

static GMutex futex_lock;
static GCond futex_cond;

void
plog_futex_wait (gint *word,
                 gint  value)
{
  g_mutex_lock (&futex_lock);
  if (g_atomic_int_get (word) == value)
    g_cond_wait (&futex_cond, &futex_lock);
  g_mutex_unlock (&futex_lock);
}

void
plog_futex_wake_all (gint *word)
{
  g_mutex_lock (&futex_lock);
  g_cond_broadcast (&futex_cond);
  g_mutex_unlock (&futex_lock);
}

#endif
