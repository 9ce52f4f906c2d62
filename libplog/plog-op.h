/* plog-op.h: one operation of the log
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined (PLOG_INSIDE) && !defined (PLOG_COMPILATION)
# error "Only <plog.h> can be included directly."
#endif

#include <glib-object.h>

#include "plog-version-macros.h"

G_BEGIN_DECLS

/**
 * PLOG_OP_MAX_SIZE:
 *
 * The largest encoded record, in bytes, that a log accepts: 64 MiB.
 * [method@Plog.Logger.dump] refuses a larger op with
 * [error@Plog.Error.TOO_LARGE].
 *
 * Since: 1.0
 */
#define PLOG_OP_MAX_SIZE (64 * 1024 * 1024)

/**
 * PlogOpKind:
 * @PLOG_OP_KIND_CONFIGURE: the op carries a configuration: it replaces the
 *   configuration of its key, or the global one when it has no key
 * @PLOG_OP_KIND_PUT: the op sets the value of its key
 * @PLOG_OP_KIND_SUB_PUT: the op sets the value of its key and sub key
 * @PLOG_OP_KIND_DELETE: the op removes the value of its key
 * @PLOG_OP_KIND_SUB_DELETE: the op removes the value of its key and sub key
 * @PLOG_OP_KIND_CLEAR: the op removes the sub tree of its key, or every
 *   value and sub tree when it has no key
 *
 * What an op does when it is replayed, derived from its fields with the
 * precedence of the merge table: a configuration first, then put, then a
 * sub key, then clear.
 *
 * Since: 1.0
 */
typedef enum
{
  PLOG_OP_KIND_CONFIGURE,
  PLOG_OP_KIND_PUT,
  PLOG_OP_KIND_SUB_PUT,
  PLOG_OP_KIND_DELETE,
  PLOG_OP_KIND_SUB_DELETE,
  PLOG_OP_KIND_CLEAR,
} PlogOpKind;

#define PLOG_TYPE_OP (plog_op_get_type ())

typedef struct _PlogOp PlogOp;

PLOG_AVAILABLE_IN_ALL
GType        plog_op_get_type              (void) G_GNUC_CONST;
PLOG_AVAILABLE_IN_ALL
PlogOp      *plog_op_new                   (GBytes      *key,
                                            GBytes      *sub_key,
                                            GBytes      *value,
                                            gint64       timestamp,
                                            gboolean     put,
                                            gboolean     clear,
                                            GHashTable  *configuration);
PLOG_AVAILABLE_IN_ALL
PlogOp      *plog_op_new_put               (GBytes      *key,
                                            GBytes      *value,
                                            gint64       timestamp);
PLOG_AVAILABLE_IN_ALL
PlogOp      *plog_op_new_sub_put           (GBytes      *key,
                                            GBytes      *sub_key,
                                            GBytes      *value,
                                            gint64       timestamp);
PLOG_AVAILABLE_IN_ALL
PlogOp      *plog_op_new_delete            (GBytes      *key);
PLOG_AVAILABLE_IN_ALL
PlogOp      *plog_op_new_sub_delete        (GBytes      *key,
                                            GBytes      *sub_key);
PLOG_AVAILABLE_IN_ALL
PlogOp      *plog_op_new_clear             (GBytes      *key,
                                            gint64       timestamp);
PLOG_AVAILABLE_IN_ALL
PlogOp      *plog_op_new_configure         (GBytes      *key,
                                            GHashTable  *configuration,
                                            gint64       timestamp);
PLOG_AVAILABLE_IN_ALL
PlogOp      *plog_op_new_with_pairs        (GBytes      *key,
                                            GBytes      *sub_key,
                                            GBytes      *value,
                                            gint64       timestamp,
                                            gboolean     put,
                                            gboolean     clear,
                                            const char * const *pairs);
PLOG_AVAILABLE_IN_ALL
PlogOp      *plog_op_ref                   (PlogOp      *self);
PLOG_AVAILABLE_IN_ALL
void         plog_op_unref                 (PlogOp      *self);
PLOG_AVAILABLE_IN_ALL
GBytes      *plog_op_get_key               (PlogOp      *self);
PLOG_AVAILABLE_IN_ALL
GBytes      *plog_op_get_sub_key           (PlogOp      *self);
PLOG_AVAILABLE_IN_ALL
GBytes      *plog_op_get_value             (PlogOp      *self);
PLOG_AVAILABLE_IN_ALL
const guint8 *plog_op_get_key_data         (PlogOp      *self,
                                            gsize       *length);
PLOG_AVAILABLE_IN_ALL
const guint8 *plog_op_get_sub_key_data     (PlogOp      *self,
                                            gsize       *length);
PLOG_AVAILABLE_IN_ALL
const guint8 *plog_op_get_value_data       (PlogOp      *self,
                                            gsize       *length);
PLOG_AVAILABLE_IN_ALL
gint64       plog_op_get_timestamp         (PlogOp      *self);
PLOG_AVAILABLE_IN_ALL
gboolean     plog_op_get_put               (PlogOp      *self);
PLOG_AVAILABLE_IN_ALL
gboolean     plog_op_get_clear             (PlogOp      *self);
PLOG_AVAILABLE_IN_ALL
GHashTable  *plog_op_get_configuration     (PlogOp      *self);
PLOG_AVAILABLE_IN_ALL
PlogOpKind   plog_op_get_kind              (PlogOp      *self);
PLOG_AVAILABLE_IN_ALL
gboolean     plog_op_equal                 (PlogOp      *a,
                                            PlogOp      *b);
PLOG_AVAILABLE_IN_ALL
char        *plog_op_to_string             (PlogOp      *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PlogOp, plog_op_unref)

G_END_DECLS
