/* plog-version-macros.h: symbol visibility and availability
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined (PLOG_INSIDE) && !defined (PLOG_COMPILATION)
# error "Only <plog.h> can be included directly."
#endif

#include <glib.h>

#ifndef _PLOG_EXTERN
# define _PLOG_EXTERN __attribute__((visibility ("default"))) extern
#endif

#define PLOG_AVAILABLE_IN_ALL _PLOG_EXTERN
#define PLOG_AVAILABLE_IN_1_0 _PLOG_EXTERN
