/* plog-futex-private.h: waiting for a word to change, without a lock
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Blocks while *@word equals @value. May return early: callers check
 * what they wait for again. */
void plog_futex_wait     (gint       *word,
                          gint        value);

/* Wakes every thread blocked on @word; call it after changing *@word. */
void plog_futex_wake_all (gint       *word);

G_END_DECLS
