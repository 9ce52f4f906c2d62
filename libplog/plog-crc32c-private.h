/* plog-crc32c-private.h: CRC-32C (Castagnoli)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The CRC-32C of @len bytes at @data, continuing from @crc (0 to start).
 * Uses the SSE 4.2 instruction where the processor has it. */
guint32 plog_crc32c (guint32       crc,
                     const void   *data,
                     gsize         len);
/* The same without the instruction, whatever the processor: for tests. */
guint32 plog_crc32c_portable (guint32       crc,
                              const void   *data,
                              gsize         len);

G_END_DECLS
