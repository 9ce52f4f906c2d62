/* plog-compactor-private.h: the thread that merges logs into snapshots
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gio/gio.h>

#include "plog-directory-private.h"
#include "plog-writer-private.h"

G_BEGIN_DECLS

typedef struct _PlogCompactor PlogCompactor;

/* Called on the compactor thread each time a snapshot lands. */
typedef void (*PlogCompactorLandedFunc) (gpointer user_data);

PlogCompactor *plog_compactor_new          (PlogDirectory            *dir,
                                            PlogWriter               *writer,
                                            PlogCompactorLandedFunc   landed,
                                            gpointer                  user_data,
                                            GDestroyNotify            destroy);
/* Stops the thread, after the compaction it runs, and fails the
 * requests left; later requests fail at once. For the logger's dispose. */
void           plog_compactor_shutdown     (PlogCompactor            *compactor);
/* Shuts down, if that was not done, and frees. */
void           plog_compactor_free         (PlogCompactor            *compactor);
/* Queues a compaction that returns @task (a boolean GTask) when done;
 * it rotates first, so everything dumped before the call is merged. */
void           plog_compactor_request      (PlogCompactor            *compactor,
                                            GTask                    *task);
/* Queues an automatic compaction unless one is pending. Cheap: it is
 * called by every dump while the current log is over its limit. */
void           plog_compactor_request_auto (PlogCompactor            *compactor);
/* Backpressure for a dumper that outruns compaction: returns once a
 * compaction has rotated the log @log_seq away, or once none runs. */
void           plog_compactor_throttle     (PlogCompactor            *compactor,
                                            guint64                   log_seq);
/* Returns once no compaction runs or waits. */
void           plog_compactor_wait_idle    (PlogCompactor            *compactor);
/* Removes every snapshot and log, atomically: an empty snapshot lands
 * above every file first; an open writer goes on in a fresh log. Sets
 * @stopped when a failure had to close the writer. */
gboolean       plog_compactor_clear        (PlogCompactor            *compactor,
                                            gboolean                 *stopped,
                                            GError                  **error);

G_END_DECLS
