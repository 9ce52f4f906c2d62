/* plog-error.c: the PLOG_ERROR domain
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "plog-error.h"

/**
 * plog_error_quark:
 *
 * The quark of the `PLOG_ERROR` domain.
 *
 * Returns: the error domain quark
 *
 * Since: 1.0
 */
G_DEFINE_QUARK (plog-error-quark, plog_error)
