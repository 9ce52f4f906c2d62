/* plog-op-private.h: the layout of PlogOp, for the record layer
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "plog-op.h"

G_BEGIN_DECLS

struct _PlogOp
{
  gatomicrefcount  ref_count;
  gboolean         put;
  gboolean         clear;
  gint64           timestamp;
  /* The bytes, never empty: an empty field is NULL with length 0. They point
   * into the GBytes below or into @inline_data. */
  const guint8    *key_data;
  const guint8    *sub_key_data;
  const guint8    *value_data;
  gsize            key_len;
  gsize            sub_key_len;
  gsize            value_len;
  /* (owned) (nullable) (atomic): given at construction, or made on first
   * request from the data above. */
  GBytes          *key;
  GBytes          *sub_key;
  GBytes          *value;
  GHashTable      *configuration;   /* (owned) (nullable) utf8 -> utf8 */
  guint8           inline_data[];
};

/* A new op that holds copies of the given bytes in one allocation.
 * @configuration is taken (transfer full). */
PlogOp *_plog_op_new_inline (const guint8 *key,
                             gsize         key_len,
                             const guint8 *sub_key,
                             gsize         sub_key_len,
                             const guint8 *value,
                             gsize         value_len,
                             gint64        timestamp,
                             gboolean      put,
                             gboolean      clear,
                             GHashTable   *configuration);

G_END_DECLS
