/* plog-replay-private.h: a cursor's records read ahead on a worker thread
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gio/gio.h>

#include "plog-cursor.h"

G_BEGIN_DECLS

typedef struct _PlogReplay      PlogReplay;
/* A batch of ops read ahead: the worker's ops, or the checked records the
 * consumer makes them from. */
typedef struct _PlogReplayBatch PlogReplayBatch;

/* Reads the records of @cursor, which it takes over, in checked batches.
 * With @ops_ahead the worker also makes the ops, for a consumer whose
 * delivery of an op costs about as much as making it or more (a signal
 * emission, a language binding's callback). With @wakeup, a consumer in
 * a main context: the source is made ready each time a batch is queued,
 * from plog_replay_start() on. Without, the consumer waits in
 * plog_replay_next(), and the first batch is read there, so that a short
 * replay needs no thread. */
PlogReplay      *plog_replay_new              (PlogCursor       *cursor,
                                               GCancellable     *cancellable,
                                               GSource          *wakeup,
                                               gboolean          ops_ahead);
/* With @wakeup, once the source is attached: starts the worker. */
void             plog_replay_start            (PlogReplay       *replay);
PlogReplay      *plog_replay_ref              (PlogReplay       *replay);
void             plog_replay_unref            (PlogReplay       *replay);
/* The next batch, in order, or NULL: at the end (*@finished set, and
 * @error when the cursor failed), or without @wait when none is ready.
 * Hand each batch back with plog_replay_spent() once its ops are
 * delivered. */
PlogReplayBatch *plog_replay_next             (PlogReplay       *replay,
                                               gboolean          wait,
                                               gboolean         *finished,
                                               GError          **error);
/* Gives back a batch from plog_replay_next(), for the worker to fill
 * again (and drop its ops meanwhile). A record that had a block of its
 * own is freed at once. */
void             plog_replay_spent            (PlogReplay       *replay,
                                               PlogReplayBatch  *batch);
/* The consumer gives up: the worker stops after its current batch. With
 * @join, waits for it to have stopped. */
void             plog_replay_stop             (PlogReplay       *replay,
                                               gboolean          join);

guint            plog_replay_batch_get_length (PlogReplayBatch  *batch);
/* The op at @index (transfer none). @made: (out) (transfer full)
 * (nullable): the op when it was made here from its record, for the
 * caller to drop once it is delivered; NULL when the worker made it. */
PlogOp          *plog_replay_batch_get_op     (PlogReplayBatch  *batch,
                                               guint             index,
                                               PlogOp          **made);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PlogReplay, plog_replay_unref)

G_END_DECLS
