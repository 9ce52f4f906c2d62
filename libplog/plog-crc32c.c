/* plog-crc32c.c: CRC-32C (Castagnoli)
 *
 * Every record carries a CRC-32C. zlib's crc32() costs about 125 ns for a
 * 128-byte record on the reference machine, a third of the time budget of a
 * dump, and Debian ships no CRC-32C library; the SSE 4.2 instruction does
 * the same record in about 11 ns. This file is the small portable table
 * version plus that instruction, chosen once at run time.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "plog-crc32c-private.h"

#if defined(__x86_64__) && defined(__GNUC__)
# include <nmmintrin.h>
# define PLOG_HAVE_SSE42_CRC 1
#endif

#define CRC32C_POLY 0x82F63B78u

static guint32 crc_table[8][256];

static void
crc_table_fill (void)
{
  for (guint i = 0; i < 256; i++)
    {
      guint32 crc = i;

      for (guint j = 0; j < 8; j++)
        crc = (crc >> 1) ^ (CRC32C_POLY & (0u - (crc & 1)));
      crc_table[0][i] = crc;
    }
  for (guint i = 0; i < 256; i++)
    for (guint t = 1; t < 8; t++)
      crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^ crc_table[0][crc_table[t - 1][i] & 0xff];
}

static void
crc_table_init (void)
{
  static gsize once = 0;

  if (g_once_init_enter (&once))
    {
      crc_table_fill ();
      g_once_init_leave (&once, 1);
    }
}

/* Slicing-by-8, for processors without the instruction. */
static guint32
crc32c_sw (guint32     crc,
           const void *data,
           gsize       len)
{
  const guint8 *p = data;

  crc = ~crc;
  while (len >= 8)
    {
      guint64 v;

      memcpy (&v, p, 8);
      v = GUINT64_FROM_LE (v) ^ crc;
      crc = crc_table[7][v & 0xff] ^ crc_table[6][(v >> 8) & 0xff] ^
            crc_table[5][(v >> 16) & 0xff] ^ crc_table[4][(v >> 24) & 0xff] ^
            crc_table[3][(v >> 32) & 0xff] ^ crc_table[2][(v >> 40) & 0xff] ^
            crc_table[1][(v >> 48) & 0xff] ^ crc_table[0][v >> 56];
      p += 8;
      len -= 8;
    }
  while (len--)
    crc = (crc >> 8) ^ crc_table[0][(crc ^ *p++) & 0xff];
  return ~crc;
}

#ifdef PLOG_HAVE_SSE42_CRC
__attribute__((target ("sse4.2")))
static guint32
crc32c_hw (guint32     crc,
           const void *data,
           gsize       len)
{
  const guint8 *p = data;
  guint64 c = ~crc;

  while (len >= 8)
    {
      guint64 v;

      memcpy (&v, p, 8);
      c = _mm_crc32_u64 (c, v);
      p += 8;
      len -= 8;
    }
  crc = (guint32) c;
  if (len >= 4)
    {
      guint32 v;

      memcpy (&v, p, 4);
      crc = _mm_crc32_u32 (crc, v);
      p += 4;
      len -= 4;
    }
  if (len >= 2)
    {
      guint16 v;

      memcpy (&v, p, 2);
      crc = _mm_crc32_u16 (crc, v);
      p += 2;
      len -= 2;
    }
  if (len > 0)
    crc = _mm_crc32_u8 (crc, *p);
  return ~crc;
}
#endif

typedef guint32 (*CrcFunc) (guint32, const void *, gsize);

static CrcFunc
crc32c_choose (void)
{
#ifdef PLOG_HAVE_SSE42_CRC
  __builtin_cpu_init ();
  if (__builtin_cpu_supports ("sse4.2"))
    return crc32c_hw;
#endif
  crc_table_init ();
  return crc32c_sw;
}

guint32
plog_crc32c (guint32     crc,
             const void *data,
             gsize       len)
{
  static CrcFunc func = NULL;
  CrcFunc f = g_atomic_pointer_get (&func);

  if G_UNLIKELY (f == NULL)
    {
      static gsize once = 0;

      if (g_once_init_enter (&once))
        {
          g_atomic_pointer_set (&func, crc32c_choose ());
          g_once_init_leave (&once, 1);
        }
      f = g_atomic_pointer_get (&func);
    }
  return f (crc, data, len);
}

guint32
plog_crc32c_portable (guint32     crc,
                      const void *data,
                      gsize       len)
{
  crc_table_init ();
  return crc32c_sw (crc, data, len);
}
