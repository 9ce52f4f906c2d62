/* plog-record.c: one op <-> the bytes of one record
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "plog-crc32c-private.h"
#include "plog-op-private.h"
#include "plog-record-private.h"

static inline gsize
varint_size (guint64 v)
{
  gsize n = 1;

  while (v >= 0x80)
    {
      v >>= 7;
      n++;
    }
  return n;
}

static inline guint8 *
varint_put (guint8  *p,
            guint64  v)
{
  while (v >= 0x80)
    {
      *p++ = (guint8) (v | 0x80);
      v >>= 7;
    }
  *p++ = (guint8) v;
  return p;
}

/* Reads a varint of at most 10 bytes; FALSE when it runs past @end or
 * overflows 64 bits. */
static inline gboolean
varint_get (const guint8 **p,
            const guint8  *end,
            guint64       *out)
{
  guint64 v = 0;

  for (guint shift = 0; shift < 64; shift += 7)
    {
      guint8 b;

      if (*p >= end)
        return FALSE;
      b = *(*p)++;
      if (shift == 63 && b > 1)
        return FALSE;
      v |= (guint64) (b & 0x7f) << shift;
      if (!(b & 0x80))
        {
          *out = v;
          return TRUE;
        }
    }
  return FALSE;
}

static inline guint64
zigzag (gint64 v)
{
  return ((guint64) v << 1) ^ (guint64) (v >> 63);
}

static inline gint64
unzigzag (guint64 v)
{
  return (gint64) (v >> 1) ^ -(gint64) (v & 1);
}

static inline guint32
get_u32_le (const guint8 *p)
{
  guint32 v;

  memcpy (&v, p, 4);
  return GUINT32_FROM_LE (v);
}

static inline void
put_u32_le (guint8  *p,
            guint32  v)
{
  v = GUINT32_TO_LE (v);
  memcpy (p, &v, 4);
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

/* The configuration's keys, sorted, so that the encoding is canonical. */
static const char **
configuration_sorted_keys (GHashTable *configuration,
                           guint      *n)
{
  const char **keys = (const char **) g_hash_table_get_keys_as_array (configuration, n);

  qsort (keys, *n, sizeof (char *), compare_strings);
  return keys;
}

static gsize
payload_size (PlogOp *op)
{
  gsize size = 1;

  if (op->key_len > 0)
    size += varint_size (op->key_len) + op->key_len;
  if (op->sub_key_len > 0)
    size += varint_size (op->sub_key_len) + op->sub_key_len;
  if (op->value_len > 0)
    size += varint_size (op->value_len) + op->value_len;
  if (op->timestamp != 0)
    size += varint_size (zigzag (op->timestamp));
  if (op->configuration != NULL)
    {
      GHashTableIter iter;
      gpointer k, v;

      size += varint_size (g_hash_table_size (op->configuration));
      g_hash_table_iter_init (&iter, op->configuration);
      while (g_hash_table_iter_next (&iter, &k, &v))
        {
          gsize kl = strlen (k), vl = strlen (v);

          size += varint_size (kl) + kl + varint_size (vl) + vl;
        }
    }
  return size;
}

gsize
plog_record_size (PlogOp *op)
{
  return PLOG_RECORD_HEADER_SIZE + payload_size (op);
}

gsize
plog_record_encode (PlogOp *op,
                    guint8 *buf)
{
  guint8 *payload = buf + PLOG_RECORD_HEADER_SIZE;
  guint8 *p = payload + 1;
  guint8 flags = 0;
  gsize len;

  if (op->put)
    flags |= PLOG_RECORD_FLAG_PUT;
  if (op->clear)
    flags |= PLOG_RECORD_FLAG_CLEAR;

#define PUT_FIELD(name, flag)                   \
  if (op->name##_len > 0)                       \
    {                                           \
      flags |= flag;                            \
      p = varint_put (p, op->name##_len);       \
      memcpy (p, op->name##_data, op->name##_len); \
      p += op->name##_len;                      \
    }
  PUT_FIELD (key, PLOG_RECORD_FLAG_KEY)
  PUT_FIELD (sub_key, PLOG_RECORD_FLAG_SUB_KEY)
  PUT_FIELD (value, PLOG_RECORD_FLAG_VALUE)
#undef PUT_FIELD

  if (op->timestamp != 0)
    {
      flags |= PLOG_RECORD_FLAG_TIMESTAMP;
      p = varint_put (p, zigzag (op->timestamp));
    }
  if (op->configuration != NULL)
    {
      guint n;
      g_autofree const char **keys = configuration_sorted_keys (op->configuration, &n);

      flags |= PLOG_RECORD_FLAG_CONFIGURATION;
      p = varint_put (p, n);
      for (guint i = 0; i < n; i++)
        {
          const char *v = g_hash_table_lookup (op->configuration, keys[i]);
          gsize kl = strlen (keys[i]), vl = strlen (v);

          p = varint_put (p, kl);
          memcpy (p, keys[i], kl);
          p += kl;
          p = varint_put (p, vl);
          memcpy (p, v, vl);
          p += vl;
        }
    }
  payload[0] = flags;

  len = p - payload;
  put_u32_le (buf, (guint32) len);
  put_u32_le (buf + 4, plog_crc32c (0, payload, len));
  return PLOG_RECORD_HEADER_SIZE + len;
}

static inline gboolean
get_field (const guint8  **p,
           const guint8   *end,
           const guint8  **data,
           gsize          *len)
{
  guint64 n;

  if (!varint_get (p, end, &n) || n == 0 || n > (guint64) (end - *p))
    return FALSE;
  *data = *p;
  *len = n;
  *p += n;
  return TRUE;
}

/* Checks the configuration pairs: UTF-8 text without NUL bytes. */
static gboolean
parse_configuration (const guint8 **p,
                     const guint8  *end,
                     PlogRecordView *view)
{
  guint64 n;
  const guint8 *start;

  if (!varint_get (p, end, &n) || n > (guint64) (end - *p) / 2)
    return FALSE;
  start = *p;
  for (guint64 i = 0; i < n * 2; i++)
    {
      guint64 len;

      if (!varint_get (p, end, &len) || len > (guint64) (end - *p))
        return FALSE;
      if (memchr (*p, 0, len) != NULL || !g_utf8_validate ((const char *) *p, len, NULL))
        return FALSE;
      *p += len;
    }
  view->configuration = start;
  view->configuration_len = *p - start;
  view->n_configuration = (guint32) n;
  return TRUE;
}

gboolean
plog_record_parse_payload (const guint8   *payload,
                           gsize           len,
                           PlogRecordView *view)
{
  const guint8 *p = payload, *end = payload + len;
  guint8 flags;

  if (len < 1)
    return FALSE;
  flags = *p++;
  if (flags & ~PLOG_RECORD_FLAGS_KNOWN)
    return FALSE;

  /* Field by field: a memset() of the view compiles to a "rep stos",
   * whose start-up cost was a third of this function's time in a
   * replay. */
  view->flags = flags;
  view->key = view->sub_key = view->value = view->configuration = NULL;
  view->key_len = view->sub_key_len = view->value_len = view->configuration_len = 0;
  view->timestamp = 0;
  view->n_configuration = 0;
  if ((flags & PLOG_RECORD_FLAG_KEY) && !get_field (&p, end, &view->key, &view->key_len))
    return FALSE;
  if ((flags & PLOG_RECORD_FLAG_SUB_KEY) && !get_field (&p, end, &view->sub_key, &view->sub_key_len))
    return FALSE;
  if ((flags & PLOG_RECORD_FLAG_VALUE) && !get_field (&p, end, &view->value, &view->value_len))
    return FALSE;
  if (flags & PLOG_RECORD_FLAG_TIMESTAMP)
    {
      guint64 ts;

      if (!varint_get (&p, end, &ts))
        return FALSE;
      view->timestamp = unzigzag (ts);
    }
  if ((flags & PLOG_RECORD_FLAG_CONFIGURATION) && !parse_configuration (&p, end, view))
    return FALSE;
  return p == end;
}

PlogRecordStatus
plog_record_check (const guint8   *buf,
                   gsize           avail,
                   gsize          *record_size,
                   PlogRecordView *view)
{
  guint32 len;
  PlogRecordView local_view;

  if (avail < PLOG_RECORD_HEADER_SIZE)
    {
      *record_size = PLOG_RECORD_HEADER_SIZE;
      return PLOG_RECORD_SHORT;
    }
  len = get_u32_le (buf);
  if (len < 1 || len > PLOG_RECORD_MAX_PAYLOAD)
    return PLOG_RECORD_BAD;
  *record_size = PLOG_RECORD_HEADER_SIZE + (gsize) len;
  if (avail < *record_size)
    return PLOG_RECORD_SHORT;
  /* The structure first: it rejects garbage at once, which keeps the search
   * for a good record after damage cheap. */
  if (!plog_record_parse_payload (buf + PLOG_RECORD_HEADER_SIZE, len,
                                  view != NULL ? view : &local_view))
    return PLOG_RECORD_BAD;
  if (plog_crc32c (0, buf + PLOG_RECORD_HEADER_SIZE, len) != get_u32_le (buf + 4))
    return PLOG_RECORD_BAD;
  return PLOG_RECORD_OK;
}

static GHashTable *
view_configuration (const PlogRecordView *view)
{
  GHashTable *configuration = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  const guint8 *p = view->configuration, *end = p + view->configuration_len;

  for (guint32 i = 0; i < view->n_configuration; i++)
    {
      guint64 kl = 0, vl = 0;
      char *k, *v;

      /* Checked by plog_record_parse_payload(). */
      varint_get (&p, end, &kl);
      k = g_strndup ((const char *) p, kl);
      p += kl;
      varint_get (&p, end, &vl);
      v = g_strndup ((const char *) p, vl);
      p += vl;
      g_hash_table_replace (configuration, k, v);
    }
  return configuration;
}

PlogOp *
plog_record_view_to_op (const PlogRecordView *view)
{
  return _plog_op_new_inline (view->key, view->key_len,
                              view->sub_key, view->sub_key_len,
                              view->value, view->value_len,
                              view->timestamp,
                              (view->flags & PLOG_RECORD_FLAG_PUT) != 0,
                              (view->flags & PLOG_RECORD_FLAG_CLEAR) != 0,
                              (view->flags & PLOG_RECORD_FLAG_CONFIGURATION) ? view_configuration (view) : NULL);
}

void
plog_record_view_rebase (PlogRecordView *view,
                         const guint8   *from,
                         const guint8   *to)
{
#define REBASE(field) if (view->field != NULL) view->field = to + (view->field - from)
  REBASE (key);
  REBASE (sub_key);
  REBASE (value);
  REBASE (configuration);
#undef REBASE
}
