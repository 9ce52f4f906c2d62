/* plog-error.h: the PLOG_ERROR domain
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined (PLOG_INSIDE) && !defined (PLOG_COMPILATION)
# error "Only <plog.h> can be included directly."
#endif

#include <glib.h>

#include "plog-version-macros.h"

G_BEGIN_DECLS

/**
 * PLOG_ERROR:
 *
 * The error domain of libplog. Errors in this domain are from the
 * [error@Plog.Error] enumeration.
 *
 * Since: 1.0
 */
#define PLOG_ERROR (plog_error_quark ())

/**
 * PlogError:
 * @PLOG_ERROR_FAILED: an unexpected failure that no other code describes
 * @PLOG_ERROR_NOT_RECORDING: the logger is not recording, so it cannot
 *   take ops
 * @PLOG_ERROR_LOCKED: another logger, in this process or another, holds
 *   the directory
 * @PLOG_ERROR_CORRUPT: a file of the directory is damaged; the message
 *   names the file and the byte offset of the damage
 * @PLOG_ERROR_INVALID: an argument is not of the expected form, for
 *   example an empty directory path
 * @PLOG_ERROR_TOO_LARGE: an op whose record would exceed
 *   [const@Plog.OP_MAX_SIZE]
 * @PLOG_ERROR_IO: an operating-system call failed: a full disk, a directory
 *   that cannot be created or written, a file that cannot be read; the
 *   message names the file and carries the system's message
 *
 * Error codes of the `PLOG_ERROR` domain.
 *
 * Since: 1.0
 */
typedef enum
{
  PLOG_ERROR_FAILED,
  PLOG_ERROR_NOT_RECORDING,
  PLOG_ERROR_LOCKED,
  PLOG_ERROR_CORRUPT,
  PLOG_ERROR_INVALID,
  PLOG_ERROR_TOO_LARGE,
  PLOG_ERROR_IO,
} PlogError;

PLOG_AVAILABLE_IN_ALL
GQuark plog_error_quark (void);

G_END_DECLS
