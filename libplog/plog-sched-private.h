/* plog-sched-private.h: how libplog's own threads yield to the program's,
 * and on how many processors they may run
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  /* CPU-bound work that must keep its share of the CPU, but that never
   * preempts a thread that wakes up: the compactor's merge. */
  PLOG_SCHED_BATCH,
  /* Short bursts that may wait: the syncer's writeback and syncs. */
  PLOG_SCHED_YIELD,
} PlogSchedClass;

/* Puts the calling thread in @sched_class, where the system allows it;
 * does nothing elsewhere. */
void plog_sched_set_class (PlogSchedClass sched_class);

/* How many processors the calling thread may run on. */
guint plog_sched_n_cpus   (void);

G_END_DECLS
