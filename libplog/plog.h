/* plog.h: the only header applications include
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#define PLOG_INSIDE
# include "plog-version.h"
# include "plog-version-macros.h"
# include "plog-enum-types.h"
# include "plog-error.h"
# include "plog-op.h"
# include "plog-cursor.h"
# include "plog-logger.h"
#undef PLOG_INSIDE
