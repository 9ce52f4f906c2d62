/* plog-test-model.h: a reference model of the merge semantics
 *
 * The state that replaying a stream of ops rebuilds, after the merge
 * table of docs/design.md, kept in GHashTables: the global
 * configuration, the configurations of keys, the values and the sub
 * values, each with the timestamp of the op that set it. The tests apply
 * the ops they dump to a model, replay the logger into another one, and
 * compare the two.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <plog.h>

G_BEGIN_DECLS

typedef struct _PlogTestModel PlogTestModel;

/* An empty state. */
PlogTestModel *plog_test_model_new          (void);
void           plog_test_model_free         (PlogTestModel *model);
/* The state that replaying @ops (an array of PlogOp), in order, rebuilds. */
PlogTestModel *plog_test_model_new_from_ops (GPtrArray     *ops);

/* Applies @op, as a replay does. */
void           plog_test_model_apply        (PlogTestModel *model,
                                             PlogOp        *op);
/* Applies the op that these fields make, taken as they are given to
 * plog_op_new(), without building the op: an empty key, sub key or value
 * is the same as an absent one. */
void           plog_test_model_apply_fields (PlogTestModel *model,
                                             GBytes        *key,
                                             GBytes        *sub_key,
                                             GBytes        *value,
                                             gint64         timestamp,
                                             gboolean       put,
                                             gboolean       clear,
                                             GHashTable    *configuration);

/* The configurations: the global one and those of keys. */
guint          plog_test_model_n_configs    (PlogTestModel *model);
/* The live entries: configurations, values and sub values. A snapshot
 * holds one record for each. */
guint          plog_test_model_n_live       (PlogTestModel *model);
/* The size in bytes of the records of the live entries, that is of a
 * snapshot without its header: each is the record of the op that set the
 * entry, every field of it, framing included (docs/format.md). */
guint64        plog_test_model_encoded_size (PlogTestModel *model);
/* The size in bytes of the record, framing included, of the op that
 * these fields make (docs/format.md); the flags take no room of their
 * own. */
guint64        plog_test_model_record_size  (GBytes        *key,
                                             GBytes        *sub_key,
                                             GBytes        *value,
                                             gint64         timestamp,
                                             GHashTable    *configuration);

/* The first difference between two states (an entry, its value, its
 * configuration or its timestamp), as a sentence for a test message, or
 * NULL when they are the same. */
char          *plog_test_model_diff         (PlogTestModel *expected,
                                             PlogTestModel *got);
/* Asserts that @got is @expected; otherwise logs the first difference,
 * prefixed with @where, before failing. */
void           plog_test_model_assert_equal (PlogTestModel *expected,
                                             PlogTestModel *got,
                                             const char    *where);
/* Copies every entry of @src into @dst. The two must be disjoint (as the
 * models of threads that dump under keys of their own are): the result
 * is their union, and an entry in both fails an assertion. */
void           plog_test_model_merge        (PlogTestModel *dst,
                                             PlogTestModel *src);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PlogTestModel, plog_test_model_free)

G_END_DECLS
