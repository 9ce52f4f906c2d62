/* plog-pages-private.h: large zeroed blocks on huge pages
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define PLOG_PAGES_HUGE (2 * 1024 * 1024)

/* @size bytes of zeroed memory; a block of PLOG_PAGES_HUGE bytes or more
 * is aligned to huge pages and asks the kernel for them. Aborts when out
 * of memory, as g_malloc() does. */
gpointer plog_pages_alloc0 (gsize    size);
/* Frees a block of plog_pages_alloc0(), given the same @size. */
void     plog_pages_free   (gpointer block,
                            gsize    size);

G_END_DECLS
