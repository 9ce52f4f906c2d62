/* plog-cursor.h: a pinned, pull-style replay
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

G_BEGIN_DECLS

#define PLOG_TYPE_CURSOR (plog_cursor_get_type ())

PLOG_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (PlogCursor, plog_cursor, PLOG, CURSOR, GObject)

PLOG_AVAILABLE_IN_ALL
PlogOp   *plog_cursor_next   (PlogCursor    *self,
                              GCancellable  *cancellable,
                              GError       **error);

G_END_DECLS
