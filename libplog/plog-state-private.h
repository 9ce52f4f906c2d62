/* plog-state-private.h: the merge semantics over raw records
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>

#include "plog-record-private.h"

G_BEGIN_DECLS

typedef struct _PlogState PlogState;

PlogState *plog_state_new         (void);
void       plog_state_free        (PlogState            *state);
/* Empties @state for the next merge, keeping the memory the last merge
 * used: the chunks it carved entries from, and its table unless that is
 * four times larger than the last merge needed. */
void       plog_state_reset       (PlogState            *state);
/* Applies one record, as replaying its op would. @record is the whole
 * record (header included) that @view was parsed from; it is copied when
 * it becomes a live entry. */
void       plog_state_apply       (PlogState            *state,
                                   const PlogRecordView *view,
                                   const guint8         *record,
                                   gsize                 record_size);
/* Applies @n (at most PLOG_STATE_BATCH) records in order, as many calls
 * of plog_state_apply() would, but overlapping their cache misses. */
#define PLOG_STATE_BATCH 128
void       plog_state_apply_batch (PlogState            *state,
                                   const PlogRecordView *views,
                                   const guint8 * const *records,
                                   const gsize          *record_sizes,
                                   guint                 n);
/* The number of live entries of the delta. */
guint      plog_state_get_size    (PlogState            *state);
/* The order of a snapshot: the global configuration, the configurations
 * of keys, then values and sub values. */
typedef enum
{
  PLOG_STATE_GLOBAL_CONFIGURATION,
  PLOG_STATE_CONFIGURATIONS,
  PLOG_STATE_VALUES,
} PlogStateClass;

PlogStateClass plog_state_class_of (const PlogRecordView *view);
/* Calls @func for the record of each live entry of the delta of class
 * @klass. Stops at the first FALSE. */
typedef gboolean (*PlogStateForeachFunc) (const guint8 *record,
                                          gsize         record_size,
                                          gpointer      user_data);
gboolean   plog_state_foreach     (PlogState            *state,
                                   PlogStateClass        klass,
                                   PlogStateForeachFunc  func,
                                   gpointer              user_data);
/* Whether a record of the base snapshot is superseded by the delta: its
 * entry was set, deleted or cleared since. */
gboolean   plog_state_shadows     (PlogState            *state,
                                   const PlogRecordView *view);
/* plog_state_shadows() for @n (at most PLOG_STATE_BATCH) records at
 * once, overlapping their cache misses; the answers go to @shadowed. */
void       plog_state_shadows_batch (PlogState            *state,
                                     const PlogRecordView *views,
                                     guint                 n,
                                     gboolean             *shadowed);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PlogState, plog_state_free)

G_END_DECLS
