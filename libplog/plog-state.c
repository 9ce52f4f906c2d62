/* plog-state.c: the merge semantics over raw records
 *
 * Compaction must outpace a dumping thread, so it never builds a PlogOp:
 * it keeps, for each live entry, a copy of the raw record that set it, in
 * one hash set. An entry is a value (key), a sub value (key, sub key), a
 * configuration (key) or the global configuration. Sub values of a key
 * are also linked in a list, for a clear of that key. The memory is the
 * live set plus about 60 bytes an entry, whatever the history.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "plog-state-private.h"

typedef enum
{
  ENTRY_GLOBAL_CONFIGURATION,
  ENTRY_CONFIGURATION,
  ENTRY_VALUE,
  ENTRY_SUB_VALUE,
  ENTRY_SUB_TREE,       /* the head of a key's list of sub values; no record */
} EntryType;

typedef struct _Entry Entry;

struct _Entry
{
  const guint8 *key;        /* into @record, or into @data for a head */
  const guint8 *sub_key;
  guint32       key_len;
  guint32       sub_key_len;
  guint32       hash;
  guint32       record_size;
  EntryType     type;
  Entry        *prev;       /* sub values: the list of the key's head */
  Entry        *next;       /* heads: the first sub value */
  guint8        data[];     /* the record, or the key of a head */
};

struct _PlogState
{
  GHashTable *entries;      /* (owned) a set of Entry */
};

static inline guint32
hash_bytes (guint64       h,
            const guint8 *p,
            gsize         len)
{
  const guint64 m = 0x9e3779b97f4a7c15ull;

  h ^= len * m;
  while (len >= 8)
    {
      guint64 v;

      memcpy (&v, p, 8);
      h = (h ^ v) * m;
      h ^= h >> 29;
      p += 8;
      len -= 8;
    }
  if (len > 0)
    {
      guint64 v = 0;

      memcpy (&v, p, len);
      h = (h ^ v) * m;
      h ^= h >> 29;
    }
  return h;
}

static guint32
entry_hash_of (EntryType     type,
               const guint8 *key,
               gsize         key_len,
               const guint8 *sub_key,
               gsize         sub_key_len)
{
  guint64 h = hash_bytes (type + 1, key, key_len);

  if (type == ENTRY_SUB_VALUE)
    h = hash_bytes (h, sub_key, sub_key_len);
  h *= 0xff51afd7ed558ccdull;
  return (guint32) (h ^ (h >> 32));
}

static guint
entry_hash (gconstpointer p)
{
  return ((const Entry *) p)->hash;
}

static gboolean
entry_equal (gconstpointer pa,
             gconstpointer pb)
{
  const Entry *a = pa, *b = pb;

  if (a->type != b->type)
    return FALSE;
  return a->hash == b->hash &&
         a->key_len == b->key_len &&
         a->sub_key_len == b->sub_key_len &&
         (a->key_len == 0 || memcmp (a->key, b->key, a->key_len) == 0) &&
         (a->sub_key_len == 0 || memcmp (a->sub_key, b->sub_key, a->sub_key_len) == 0);
}

static void
probe_init (Entry        *probe,
            EntryType     type,
            const guint8 *key,
            gsize         key_len,
            const guint8 *sub_key,
            gsize         sub_key_len)
{
  probe->type = type;
  probe->key = key;
  probe->key_len = key_len;
  probe->sub_key = type == ENTRY_SUB_VALUE ? sub_key : NULL;
  probe->sub_key_len = type == ENTRY_SUB_VALUE ? sub_key_len : 0;
  probe->hash = entry_hash_of (type, key, key_len, probe->sub_key, probe->sub_key_len);
}

PlogState *
plog_state_new (void)
{
  PlogState *state = g_new0 (PlogState, 1);

  state->entries = g_hash_table_new_full (entry_hash, entry_equal, g_free, NULL);
  return state;
}

void
plog_state_free (PlogState *state)
{
  if (state == NULL)
    return;
  g_hash_table_unref (state->entries);
  g_free (state);
}

guint
plog_state_get_size (PlogState *state)
{
  GHashTableIter iter;
  gpointer e;
  guint heads = 0;

  g_hash_table_iter_init (&iter, state->entries);
  while (g_hash_table_iter_next (&iter, &e, NULL))
    if (((Entry *) e)->type == ENTRY_SUB_TREE)
      heads++;
  return g_hash_table_size (state->entries) - heads;
}

static Entry *
entry_new_record (const Entry  *probe,
                  const guint8 *record,
                  gsize         record_size)
{
  Entry *e = g_malloc (sizeof (Entry) + record_size);

  *e = *probe;
  e->prev = e->next = NULL;
  e->record_size = record_size;
  memcpy (e->data, record, record_size);
  /* Point the key and sub key into our copy of the record. */
  if (probe->key_len > 0)
    e->key = e->data + (probe->key - record);
  if (probe->sub_key_len > 0)
    e->sub_key = e->data + (probe->sub_key - record);
  return e;
}

static Entry *
head_lookup (PlogState    *state,
             const guint8 *key,
             gsize         key_len,
             gboolean      create)
{
  Entry probe;
  Entry *head;

  probe_init (&probe, ENTRY_SUB_TREE, key, key_len, NULL, 0);
  head = g_hash_table_lookup (state->entries, &probe);
  if (head != NULL || !create)
    return head;
  head = g_malloc (sizeof (Entry) + key_len);
  head->type = ENTRY_SUB_TREE;
  head->key_len = key_len;
  head->sub_key = NULL;
  head->sub_key_len = 0;
  head->hash = probe.hash;
  head->record_size = 0;
  head->prev = head->next = NULL;
  if (key_len > 0)
    memcpy (head->data, key, key_len);
  head->key = head->data;
  g_hash_table_add (state->entries, head);
  return head;
}

/* Unlinks a sub value from its key's list; the head goes with the last. */
static void
sub_unlink (PlogState *state,
            Entry     *e)
{
  Entry *head = head_lookup (state, e->key, e->key_len, FALSE);

  g_assert (head != NULL);
  if (e->prev != NULL)
    e->prev->next = e->next;
  else
    head->next = e->next;
  if (e->next != NULL)
    e->next->prev = e->prev;
  if (head->next == NULL)
    g_hash_table_remove (state->entries, head);
}

static void
entry_remove (PlogState *state,
              Entry     *probe)
{
  Entry *old = g_hash_table_lookup (state->entries, probe);

  if (old == NULL)
    return;
  if (old->type == ENTRY_SUB_VALUE)
    sub_unlink (state, old);
  g_hash_table_remove (state->entries, old);
}

static void
entry_replace (PlogState    *state,
               Entry        *probe,
               const guint8 *record,
               gsize         record_size)
{
  Entry *e = entry_new_record (probe, record, record_size);

  entry_remove (state, probe);
  g_hash_table_add (state->entries, e);
  if (e->type == ENTRY_SUB_VALUE)
    {
      Entry *head = head_lookup (state, e->key, e->key_len, TRUE);

      e->prev = NULL;
      e->next = head->next;
      if (head->next != NULL)
        head->next->prev = e;
      head->next = e;
    }
}

static void
clear_key (PlogState    *state,
           const guint8 *key,
           gsize         key_len)
{
  Entry *head = head_lookup (state, key, key_len, FALSE);
  Entry *e;

  if (head == NULL)
    return;
  e = head->next;
  g_hash_table_steal (state->entries, head);
  while (e != NULL)
    {
      Entry *next = e->next;

      g_hash_table_remove (state->entries, e);
      e = next;
    }
  g_free (head);
}

static gboolean
is_value_entry (gpointer key,
                gpointer value,
                gpointer user_data)
{
  EntryType type = ((Entry *) key)->type;

  return type == ENTRY_VALUE || type == ENTRY_SUB_VALUE || type == ENTRY_SUB_TREE;
}

void
plog_state_apply (PlogState            *state,
                  const PlogRecordView *view,
                  const guint8         *record,
                  gsize                 record_size)
{
  Entry probe;

  if (view->flags & PLOG_RECORD_FLAG_CONFIGURATION)
    {
      probe_init (&probe, view->key_len > 0 ? ENTRY_CONFIGURATION : ENTRY_GLOBAL_CONFIGURATION,
                  view->key, view->key_len, NULL, 0);
      if (view->n_configuration > 0)
        entry_replace (state, &probe, record, record_size);
      else
        entry_remove (state, &probe);
    }
  else if (view->flags & PLOG_RECORD_FLAG_PUT)
    {
      probe_init (&probe, view->sub_key_len > 0 ? ENTRY_SUB_VALUE : ENTRY_VALUE,
                  view->key, view->key_len, view->sub_key, view->sub_key_len);
      entry_replace (state, &probe, record, record_size);
    }
  else if (view->sub_key_len > 0)
    {
      probe_init (&probe, ENTRY_SUB_VALUE, view->key, view->key_len, view->sub_key, view->sub_key_len);
      entry_remove (state, &probe);
    }
  else if (view->flags & PLOG_RECORD_FLAG_CLEAR)
    {
      if (view->key_len > 0)
        clear_key (state, view->key, view->key_len);
      else
        g_hash_table_foreach_remove (state->entries, is_value_entry, NULL);
    }
  else
    {
      probe_init (&probe, ENTRY_VALUE, view->key, view->key_len, NULL, 0);
      entry_remove (state, &probe);
    }
}

gboolean
plog_state_foreach (PlogState            *state,
                    PlogStateForeachFunc  func,
                    gpointer              user_data)
{
  static const EntryType passes[][2] = {
    { ENTRY_GLOBAL_CONFIGURATION, ENTRY_GLOBAL_CONFIGURATION },
    { ENTRY_CONFIGURATION, ENTRY_CONFIGURATION },
    { ENTRY_VALUE, ENTRY_SUB_VALUE },
  };

  for (guint pass = 0; pass < G_N_ELEMENTS (passes); pass++)
    {
      GHashTableIter iter;
      gpointer p;

      g_hash_table_iter_init (&iter, state->entries);
      while (g_hash_table_iter_next (&iter, &p, NULL))
        {
          Entry *e = p;

          if (e->type != passes[pass][0] && e->type != passes[pass][1])
            continue;
          if (!func (e->data, e->record_size, user_data))
            return FALSE;
        }
    }
  return TRUE;
}
