/* plog-pages.c: large zeroed blocks on huge pages
 *
 * A merge fills hundreds of megabytes of fresh memory, at random for its
 * hash table. On 4 KiB pages it takes a page fault for every 4 KiB of it
 * (dear under virtualisation) and misses the TLB on nearly every probe.
 * A block of a huge page or more is therefore mapped on its own, aligned
 * to 2 MiB so that transparent huge pages can back it, and advised so;
 * the kernel hands it out zeroed, and it goes back to the kernel at once
 * when freed. (malloc() would align it only by wasting up to 2 MiB of its
 * heap, and might keep it after free().) Smaller blocks come from
 * g_malloc0().
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <sys/mman.h>

#include "plog-pages-private.h"

gpointer
plog_pages_alloc0 (gsize size)
{
  gsize map_size;
  guint8 *map, *block;
  gsize head, tail;

  if (size < PLOG_PAGES_HUGE)
    return g_malloc0 (size);

  size = (size + PLOG_PAGES_HUGE - 1) & ~(gsize) (PLOG_PAGES_HUGE - 1);
  map_size = size + PLOG_PAGES_HUGE;
  map = mmap (NULL, map_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (map == MAP_FAILED)
    g_error ("%s: failed to map %" G_GSIZE_FORMAT " bytes", G_STRLOC, map_size);

  /* Keep the aligned middle. */
  block = (guint8 *) (((guintptr) map + PLOG_PAGES_HUGE - 1) & ~(guintptr) (PLOG_PAGES_HUGE - 1));
  head = block - map;
  tail = map_size - head - size;
  if (head > 0)
    munmap (map, head);
  if (tail > 0)
    munmap (block + size, tail);
#ifdef MADV_HUGEPAGE
  madvise (block, size, MADV_HUGEPAGE);
#endif
  return block;
}

void
plog_pages_free (gpointer block,
                 gsize    size)
{
  if (block == NULL)
    return;
  if (size < PLOG_PAGES_HUGE)
    {
      g_free (block);
      return;
    }
  size = (size + PLOG_PAGES_HUGE - 1) & ~(gsize) (PLOG_PAGES_HUGE - 1);
  munmap (block, size);
}
