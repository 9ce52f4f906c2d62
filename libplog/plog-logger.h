/* plog-logger.h: PlogLogger, the operation log of one directory
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined (PLOG_INSIDE) && !defined (PLOG_COMPILATION)
# error "Only <plog.h> can be included directly."
#endif

#include <gio/gio.h>

#include "plog-version-macros.h"
#include "plog-op.h"
#include "plog-cursor.h"

G_BEGIN_DECLS

/**
 * PlogSyncMode:
 * @PLOG_SYNC_MODE_NONE: the operating system decides when ops reach the
 *   disk; a power cut may lose what it had not written
 * @PLOG_SYNC_MODE_PERIODIC: a background thread makes the log durable about
 *   once a second, whether or not the application runs a main loop; a power
 *   cut loses about the last second
 * @PLOG_SYNC_MODE_ALWAYS: [method@Plog.Logger.dump] returns only once its op
 *   is on disk; concurrent dumps share one `fdatasync()` (group commit)
 *
 * How [class@Plog.Logger] makes dumped ops durable.
 *
 * Since: 1.0
 */
typedef enum
{
  PLOG_SYNC_MODE_NONE,
  PLOG_SYNC_MODE_PERIODIC,
  PLOG_SYNC_MODE_ALWAYS,
} PlogSyncMode;

/**
 * PlogOperateFunc:
 * @op: (transfer none): the replayed op
 * @user_data: the data given to [method@Plog.Logger.play]
 *
 * Called by [method@Plog.Logger.play] for each replayed op, in order.
 * Take a reference with [method@Plog.Op.ref] to keep @op.
 *
 * Since: 1.0
 */
typedef void (*PlogOperateFunc) (PlogOp   *op,
                                 gpointer  user_data);

/**
 * PlogOperateFullFunc:
 * @op: (transfer full): the replayed op, owned by the callee
 * @user_data: the data given to [method@Plog.Logger.play_full]
 *
 * Called by [method@Plog.Logger.play_full] for each replayed op, in
 * order. Unlike [callback@Plog.OperateFunc], it owns @op and must release
 * it with [method@Plog.Op.unref].
 *
 * Since: 1.0
 */
typedef void (*PlogOperateFullFunc) (PlogOp   *op,
                                     gpointer  user_data);

#define PLOG_TYPE_LOGGER (plog_logger_get_type ())

PLOG_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (PlogLogger, plog_logger, PLOG, LOGGER, GObject)

PLOG_AVAILABLE_IN_ALL
PlogLogger   *plog_logger_new               (const char           *directory,
                                             GError              **error);
PLOG_AVAILABLE_IN_ALL
const char   *plog_logger_get_directory     (PlogLogger           *self);
PLOG_AVAILABLE_IN_ALL
void          plog_logger_limit             (PlogLogger           *self,
                                             gint64                max_size);
PLOG_AVAILABLE_IN_ALL
gint64        plog_logger_get_max_size      (PlogLogger           *self);
PLOG_AVAILABLE_IN_ALL
PlogSyncMode  plog_logger_get_sync_mode     (PlogLogger           *self);
PLOG_AVAILABLE_IN_ALL
void          plog_logger_set_sync_mode     (PlogLogger           *self,
                                             PlogSyncMode          sync_mode);
PLOG_AVAILABLE_IN_ALL
gboolean      plog_logger_record            (PlogLogger           *self,
                                             GError              **error);
PLOG_AVAILABLE_IN_ALL
gboolean      plog_logger_get_recording     (PlogLogger           *self);
PLOG_AVAILABLE_IN_ALL
gboolean      plog_logger_dump              (PlogLogger           *self,
                                             PlogOp               *op,
                                             GError              **error);
PLOG_AVAILABLE_IN_ALL
gboolean      plog_logger_flush             (PlogLogger           *self,
                                             GError              **error);
PLOG_AVAILABLE_IN_ALL
gboolean      plog_logger_stop              (PlogLogger           *self,
                                             GError              **error);
PLOG_AVAILABLE_IN_ALL
void          plog_logger_record_async      (PlogLogger           *self,
                                             GCancellable         *cancellable,
                                             GAsyncReadyCallback   callback,
                                             gpointer              user_data);
PLOG_AVAILABLE_IN_ALL
gboolean      plog_logger_record_finish     (PlogLogger           *self,
                                             GAsyncResult         *result,
                                             GError              **error);
PLOG_AVAILABLE_IN_ALL
void          plog_logger_stop_async        (PlogLogger           *self,
                                             GCancellable         *cancellable,
                                             GAsyncReadyCallback   callback,
                                             gpointer              user_data);
PLOG_AVAILABLE_IN_ALL
gboolean      plog_logger_stop_finish       (PlogLogger           *self,
                                             GAsyncResult         *result,
                                             GError              **error);
PLOG_AVAILABLE_IN_ALL
void          plog_logger_flush_async       (PlogLogger           *self,
                                             GCancellable         *cancellable,
                                             GAsyncReadyCallback   callback,
                                             gpointer              user_data);
PLOG_AVAILABLE_IN_ALL
gboolean      plog_logger_flush_finish      (PlogLogger           *self,
                                             GAsyncResult         *result,
                                             GError              **error);
PLOG_AVAILABLE_IN_ALL
void          plog_logger_clear_async       (PlogLogger           *self,
                                             GCancellable         *cancellable,
                                             GAsyncReadyCallback   callback,
                                             gpointer              user_data);
PLOG_AVAILABLE_IN_ALL
gboolean      plog_logger_clear_finish      (PlogLogger           *self,
                                             GAsyncResult         *result,
                                             GError              **error);
PLOG_AVAILABLE_IN_ALL
gboolean      plog_logger_close             (PlogLogger           *self,
                                             GError              **error);
PLOG_AVAILABLE_IN_ALL
gboolean      plog_logger_clear             (PlogLogger           *self,
                                             GError              **error);
PLOG_AVAILABLE_IN_ALL
gboolean      plog_logger_play              (PlogLogger           *self,
                                             PlogOperateFunc       operate,
                                             gpointer              user_data,
                                             GCancellable         *cancellable,
                                             GError              **error);
PLOG_AVAILABLE_IN_ALL
gboolean      plog_logger_play_full         (PlogLogger           *self,
                                             PlogOperateFullFunc   operate,
                                             gpointer              user_data,
                                             GCancellable         *cancellable,
                                             GError              **error);
PLOG_AVAILABLE_IN_ALL
void          plog_logger_play_async        (PlogLogger           *self,
                                             GCancellable         *cancellable,
                                             GAsyncReadyCallback   callback,
                                             gpointer              user_data);
PLOG_AVAILABLE_IN_ALL
gboolean      plog_logger_play_finish       (PlogLogger           *self,
                                             GAsyncResult         *result,
                                             GError              **error);
PLOG_AVAILABLE_IN_ALL
void          plog_logger_compact_async     (PlogLogger           *self,
                                             GCancellable         *cancellable,
                                             GAsyncReadyCallback   callback,
                                             gpointer              user_data);
PLOG_AVAILABLE_IN_ALL
gboolean      plog_logger_compact_finish    (PlogLogger           *self,
                                             GAsyncResult         *result,
                                             GError              **error);
PLOG_AVAILABLE_IN_ALL
PlogCursor   *plog_logger_open_cursor       (PlogLogger           *self,
                                             GError              **error);

G_END_DECLS
