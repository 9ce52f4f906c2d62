/* plog-error-private.h: the errors that several layers set alike
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "plog-error.h"

G_BEGIN_DECLS

/* Set PLOG_ERROR_NOT_RECORDING, or PLOG_ERROR_FAILED for a closed
 * logger, naming the logger's @directory (nullable: a logger made
 * without one); return FALSE. */
gboolean plog_set_not_recording_error (GError     **error,
                                       const char  *directory);
gboolean plog_set_closed_error        (GError     **error,
                                       const char  *directory);

G_END_DECLS
