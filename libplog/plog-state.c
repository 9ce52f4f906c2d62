/* plog-state.c: the merge semantics over raw records
 *
 * Compaction must outpace a dumping thread, so it never builds a PlogOp,
 * and it merges only the logs: the state is a *delta* over the base
 * snapshot. For each entry the logs touched it keeps a copy of the raw
 * record that set it last, or a tombstone for a delete; a clear marks its
 * key's head (or the whole state) cleared. The new snapshot is then the
 * base's records that the delta does not shadow, streamed through as
 * they are, and the delta's live records. An entry is a value (key), a
 * sub value (key, sub key), a configuration (key) or the global
 * configuration; the sub values of a key are also linked in a list under
 * a head entry, for a clear of that key.
 *
 * The entries live in an open-addressing hash table with linear probing
 * whose slots hold the hash and the type beside the pointer, so that a
 * probe touches the entry only when the hashes match, and a pass over
 * one class of entries reads no other. A new record for a live entry is
 * copied over the old one in place: one lookup, and no allocation when it
 * is no larger. Records are applied and looked up in batches: the slots
 * and entries of a batch are prefetched first, so that the cache misses
 * of a large live set overlap instead of queueing. The memory is the live
 * set plus about 70 bytes an entry, whatever the history; a state can be
 * emptied and used again for the next merge.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "plog-pages-private.h"
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
  guint32  hash;
  guint32  key_len;
  guint32  sub_key_len;
  guint32  record_size;
  guint32  capacity;       /* bytes for the record after the keys */
  guint8   type;           /* EntryType */
  guint8   cleared;        /* heads: a clear of the key happened */
  Entry   *prev;           /* sub values: the list of the key's head */
  Entry   *next;           /* heads: the first sub value */
  guint8   keys[];         /* the key, the sub key, then the record, in
                            * one allocation: one cache miss, not two */
};

static inline guint8 *
entry_record (Entry *e)
{
  return e->keys + e->key_len + e->sub_key_len;
}

typedef struct
{
  guint32  hash;
  guint8   type;           /* the entry's, so that a pass over one class
                            * reads no other entry */
  Entry   *entry;          /* NULL: empty */
} Slot;

typedef struct
{
  gpointer block;
  gsize    size;
} Chunk;

struct _PlogState
{
  Slot  *slots;            /* (owned) */
  gsize  mask;             /* number of slots - 1 */
  gsize  n_entries;        /* heads included */
  gboolean cleared_all;    /* a clear without a key happened */
  GArray *chunks;          /* (owned) of Chunk: where entries live,
                            * kept by plog_state_reset() */
  guint  n_chunks_used;
  guint8 *arena;           /* the free end of the chunk in use */
  gsize  arena_left;
  GArray *large;           /* (owned) of Chunk: one large record's entry
                            * each */
};

/* What a record is looked up by. */
typedef struct
{
  EntryType     type;
  guint32       hash;
  const guint8 *key;
  gsize         key_len;
  const guint8 *sub_key;
  gsize         sub_key_len;
} Probe;

#define INITIAL_SLOTS 1024
#define ARENA_CHUNK_MIN (32 * 1024)
#define ARENA_CHUNK_MAX PLOG_PAGES_HUGE
#define FOREACH_AHEAD 16

static Slot *
slots_new (gsize n)
{
  return plog_pages_alloc0 (n * sizeof (Slot));
}

static void
slots_free (Slot  *slots,
            gsize  n)
{
  plog_pages_free (slots, n * sizeof (Slot));
}

static inline guint64
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

static void
probe_init (Probe        *probe,
            EntryType     type,
            const guint8 *key,
            gsize         key_len,
            const guint8 *sub_key,
            gsize         sub_key_len)
{
  guint64 h;

  probe->type = type;
  probe->key = key;
  probe->key_len = key_len;
  probe->sub_key = type == ENTRY_SUB_VALUE ? sub_key : NULL;
  probe->sub_key_len = type == ENTRY_SUB_VALUE ? sub_key_len : 0;
  h = hash_bytes (type + 1, key, key_len);
  if (type == ENTRY_SUB_VALUE)
    h = hash_bytes (h, sub_key, sub_key_len);
  h *= 0xff51afd7ed558ccdull;
  probe->hash = (guint32) (h ^ (h >> 32));
}

static inline gboolean
entry_matches (const Entry *e,
               const Probe *probe)
{
  return e->type == probe->type &&
         e->key_len == probe->key_len &&
         e->sub_key_len == probe->sub_key_len &&
         (probe->key_len == 0 || memcmp (e->keys, probe->key, probe->key_len) == 0) &&
         (probe->sub_key_len == 0 ||
          memcmp (e->keys + e->key_len, probe->sub_key, probe->sub_key_len) == 0);
}

/* The slot of the entry @probe names, or of the empty slot where it
 * would go. */
static inline gsize
find_slot (PlogState   *state,
           const Probe *probe)
{
  gsize i = probe->hash & state->mask;

  for (;;)
    {
      Slot *slot = &state->slots[i];

      if (slot->entry == NULL ||
          (slot->hash == probe->hash && entry_matches (slot->entry, probe)))
        return i;
      i = (i + 1) & state->mask;
    }
}

static void
grow (PlogState *state)
{
  Slot *old = state->slots;
  gsize old_size = state->mask + 1;

  state->mask = old_size * 2 - 1;
  state->slots = slots_new (old_size * 2);
  for (gsize i = 0; i < old_size; i++)
    {
      gsize j;

      if (old[i].entry == NULL)
        continue;
      j = old[i].hash & state->mask;
      while (state->slots[j].entry != NULL)
        j = (j + 1) & state->mask;
      state->slots[j] = old[i];
    }
  slots_free (old, old_size);
}

/* Linear probing without tombstones: shift the followers back. */
static void
remove_slot (PlogState *state,
             gsize      i)
{
  gsize j = i;

  state->n_entries--;
  for (;;)
    {
      gsize k;

      j = (j + 1) & state->mask;
      if (state->slots[j].entry == NULL)
        break;
      k = state->slots[j].hash & state->mask;
      /* Move j's entry into the hole at i unless its home k lies
       * cyclically in (i, j]. */
      if ((i <= j) ? (i < k && k <= j) : (i < k || k <= j))
        continue;
      state->slots[i] = state->slots[j];
      i = j;
    }
  state->slots[i].entry = NULL;
}

/* Entries live for one compaction: they are carved from large chunks,
 * freed (or kept for the next compaction) together, so that the merge
 * spends no time in malloc() and free() for each of hundreds of thousands
 * of entries. A dropped or moved entry leaves its bytes behind until
 * then. The chunks double up to a huge page each. */
static void
chunk_clear (gpointer data)
{
  Chunk *chunk = data;

  plog_pages_free (chunk->block, chunk->size);
}

static gpointer
state_alloc (PlogState *state,
             gsize      size)
{
  gpointer p;

  size = (size + 7) & ~(gsize) 7;
  if (size > ARENA_CHUNK_MIN / 2)
    {
      Chunk large = { plog_pages_alloc0 (size), size };

      g_array_append_val (state->large, large);
      return large.block;
    }
  if (size > state->arena_left)
    {
      Chunk *chunk;

      if (state->n_chunks_used == state->chunks->len)
        {
          gsize chunk_size = ARENA_CHUNK_MIN << MIN (state->chunks->len, 6);
          Chunk new_chunk;

          new_chunk.size = MIN (chunk_size, ARENA_CHUNK_MAX);
          new_chunk.block = plog_pages_alloc0 (new_chunk.size);
          g_array_append_val (state->chunks, new_chunk);
        }
      chunk = &g_array_index (state->chunks, Chunk, state->n_chunks_used++);
      state->arena = chunk->block;
      state->arena_left = chunk->size;
    }
  p = state->arena;
  state->arena += size;
  state->arena_left -= size;
  return p;
}

static Entry *
entry_new (PlogState   *state,
           const Probe *probe,
           gsize        capacity)
{
  Entry *e = state_alloc (state, sizeof (Entry) + probe->key_len + probe->sub_key_len + capacity);

  e->hash = probe->hash;
  e->key_len = probe->key_len;
  e->sub_key_len = probe->sub_key_len;
  e->record_size = 0;
  e->capacity = capacity;
  e->type = probe->type;
  e->cleared = FALSE;
  e->prev = e->next = NULL;
  if (probe->key_len > 0)
    memcpy (e->keys, probe->key, probe->key_len);
  if (probe->sub_key_len > 0)
    memcpy (e->keys + probe->key_len, probe->sub_key, probe->sub_key_len);
  return e;
}

/* Adds a new entry at the empty slot @i that find_slot() gave. */
static Entry *
insert_at (PlogState   *state,
           gsize        i,
           const Probe *probe,
           gsize        capacity)
{
  Entry *e = entry_new (state, probe, capacity);

  state->slots[i].hash = probe->hash;
  state->slots[i].type = probe->type;
  state->slots[i].entry = e;
  state->n_entries++;
  if (state->n_entries * 5 >= (state->mask + 1) * 4)
    grow (state);
  return e;
}

PlogState *
plog_state_new (void)
{
  PlogState *state = g_new0 (PlogState, 1);

  state->slots = slots_new (INITIAL_SLOTS);
  state->mask = INITIAL_SLOTS - 1;
  state->chunks = g_array_new (FALSE, FALSE, sizeof (Chunk));
  g_array_set_clear_func (state->chunks, chunk_clear);
  state->large = g_array_new (FALSE, FALSE, sizeof (Chunk));
  g_array_set_clear_func (state->large, chunk_clear);
  return state;
}

void
plog_state_free (PlogState *state)
{
  if (state == NULL)
    return;
  g_array_unref (state->chunks);
  g_array_unref (state->large);
  slots_free (state->slots, state->mask + 1);
  g_free (state);
}

void
plog_state_reset (PlogState *state)
{
  gsize n_slots = INITIAL_SLOTS;

  g_array_set_size (state->large, 0);
  /* Keep what the last merge used, not what the largest one did. */
  g_array_set_size (state->chunks, state->n_chunks_used);
  state->n_chunks_used = 0;
  state->arena = NULL;
  state->arena_left = 0;
  while (state->n_entries * 5 >= n_slots * 4)
    n_slots *= 2;
  /* A table four times larger than the last merge needed goes; a smaller
   * surplus stays, so that a merge a little larger does not grow it. */
  if (n_slots * 4 <= state->mask + 1)
    {
      slots_free (state->slots, state->mask + 1);
      state->slots = slots_new (n_slots);
      state->mask = n_slots - 1;
    }
  else
    memset (state->slots, 0, (state->mask + 1) * sizeof (Slot));
  state->n_entries = 0;
  state->cleared_all = FALSE;
}

guint
plog_state_get_size (PlogState *state)
{
  guint n = 0;

  for (gsize i = 0; i <= state->mask; i++)
    {
      Entry *e = state->slots[i].entry;

      if (e != NULL && state->slots[i].type != ENTRY_SUB_TREE && e->record_size > 0)
        n++;
    }
  return n;
}

static Entry *
head_lookup (PlogState    *state,
             const guint8 *key,
             gsize         key_len,
             gboolean      create)
{
  Probe probe;
  gsize i;

  probe_init (&probe, ENTRY_SUB_TREE, key, key_len, NULL, 0);
  i = find_slot (state, &probe);
  if (state->slots[i].entry != NULL)
    return state->slots[i].entry;
  return create ? insert_at (state, i, &probe, 0) : NULL;
}

/* Links a new sub value into its key's list. */
static void
sub_link (PlogState *state,
          Entry     *e)
{
  Entry *head = head_lookup (state, e->keys, e->key_len, TRUE);

  e->prev = NULL;
  e->next = head->next;
  if (head->next != NULL)
    head->next->prev = e;
  head->next = e;
}

/* A delete leaves a tombstone, an entry without a record: it shadows the
 * entry of the base snapshot, and writes nothing. */
static void
entry_kill (PlogState   *state,
            const Probe *probe)
{
  gsize i = find_slot (state, probe);
  Entry *e = state->slots[i].entry;

  if (e == NULL)
    {
      e = insert_at (state, i, probe, 0);
      if (e->type == ENTRY_SUB_VALUE)
        sub_link (state, e);
    }
  e->record_size = 0;
}

/* Copies @record into the entry at slot @i, moving the entry when the
 * record does not fit: its slot and its neighbours in a sub tree follow. */
static void
entry_set_record (PlogState    *state,
                  gsize         i,
                  const guint8 *record,
                  gsize         record_size)
{
  Entry *e = state->slots[i].entry;

  if (e->capacity < record_size)
    {
      Entry *old = e;

      e = state_alloc (state, sizeof (Entry) + old->key_len + old->sub_key_len + record_size);
      memcpy (e, old, sizeof (Entry) + old->key_len + old->sub_key_len);
      e->capacity = record_size;
      if (e != old)
        {
          state->slots[i].entry = e;
          if (e->type == ENTRY_SUB_VALUE)
            {
              if (e->prev != NULL)
                e->prev->next = e;
              else
                head_lookup (state, e->keys, e->key_len, FALSE)->next = e;
              if (e->next != NULL)
                e->next->prev = e;
            }
        }
    }
  memcpy (entry_record (e), record, record_size);
  e->record_size = record_size;
}

static void
entry_replace (PlogState    *state,
               const Probe  *probe,
               const guint8 *record,
               gsize         record_size)
{
  gsize i = find_slot (state, probe);
  Entry *e = state->slots[i].entry;

  /* The same entry, and so the same place in a sub tree: in place. */
  if (e != NULL)
    {
      entry_set_record (state, i, record, record_size);
      return;
    }
  e = insert_at (state, i, probe, record_size);
  memcpy (entry_record (e), record, record_size);
  e->record_size = record_size;
  if (e->type == ENTRY_SUB_VALUE)
    sub_link (state, e);
}

/* Drops the key's sub values, and marks the key cleared: the sub values
 * of the base snapshot are shadowed too. */
static void
clear_key (PlogState    *state,
           const guint8 *key,
           gsize         key_len)
{
  Entry *head = head_lookup (state, key, key_len, TRUE);
  Entry *e = head->next;

  while (e != NULL)
    {
      Entry *next = e->next;
      Probe probe;

      probe_init (&probe, ENTRY_SUB_VALUE, e->keys, e->key_len, e->keys + e->key_len, e->sub_key_len);
      remove_slot (state, find_slot (state, &probe));
      e = next;
    }
  head->next = NULL;
  head->cleared = TRUE;
}

/* A clear without a key: only configurations stay. */
static void
clear_all (PlogState *state)
{
  Slot *old = state->slots;
  gsize old_size = state->mask + 1;

  state->slots = slots_new (old_size);
  state->n_entries = 0;
  state->cleared_all = TRUE;
  for (gsize i = 0; i < old_size; i++)
    {
      Entry *e = old[i].entry;
      gsize j;

      if (e == NULL)
        continue;
      if (e->type != ENTRY_GLOBAL_CONFIGURATION && e->type != ENTRY_CONFIGURATION)
        continue;
      j = old[i].hash & state->mask;
      while (state->slots[j].entry != NULL)
        j = (j + 1) & state->mask;
      state->slots[j] = old[i];
      state->n_entries++;
    }
  slots_free (old, old_size);
}

/* What a record does, and to which entry. Returns FALSE for a clear. */
static gboolean
record_probe (const PlogRecordView *view,
              Probe                *probe)
{
  EntryType type;

  if (view->flags & PLOG_RECORD_FLAG_CONFIGURATION)
    type = view->key_len > 0 ? ENTRY_CONFIGURATION : ENTRY_GLOBAL_CONFIGURATION;
  else if (view->sub_key_len > 0)
    type = ENTRY_SUB_VALUE;
  else if (!(view->flags & PLOG_RECORD_FLAG_PUT) && (view->flags & PLOG_RECORD_FLAG_CLEAR))
    return FALSE;
  else
    type = ENTRY_VALUE;
  probe_init (probe, type, view->key, view->key_len, view->sub_key, view->sub_key_len);
  return TRUE;
}

/* The probes of a batch of records (@valid is FALSE for a clear), and
 * prefetches: the slots first, then the entries they point to, whole
 * when they are to be @written. Hints only: the records are then taken
 * in order as one by one. */
static void
probe_batch (PlogState            *state,
             const PlogRecordView *views,
             guint                 n,
             Probe                *probes,
             gboolean             *valid,
             gboolean              written)
{
  for (guint i = 0; i < n; i++)
    {
      valid[i] = record_probe (&views[i], &probes[i]);
      if (valid[i])
        __builtin_prefetch (&state->slots[probes[i].hash & state->mask]);
    }
  for (guint i = 0; i < n; i++)
    {
      Entry *e;

      if (!valid[i])
        continue;
      e = state->slots[probes[i].hash & state->mask].entry;
      if (e == NULL)
        continue;
      /* The header and keys; and the record that is overwritten. */
      __builtin_prefetch (e);
      if (written)
        {
          __builtin_prefetch ((guint8 *) e + 64, 1);
          __builtin_prefetch ((guint8 *) e + 128, 1);
        }
    }
}

/* @probe is record_probe()'s, NULL for a clear. */
static void
apply (PlogState            *state,
       const PlogRecordView *view,
       const Probe          *probe,
       const guint8         *record,
       gsize                 record_size)
{
  if (probe == NULL)
    {
      if (view->key_len > 0)
        clear_key (state, view->key, view->key_len);
      else
        clear_all (state);
    }
  else if (view->flags & PLOG_RECORD_FLAG_CONFIGURATION)
    {
      if (view->n_configuration > 0)
        entry_replace (state, probe, record, record_size);
      else
        entry_kill (state, probe);
    }
  else if (view->flags & PLOG_RECORD_FLAG_PUT)
    entry_replace (state, probe, record, record_size);
  else
    entry_kill (state, probe);
}

void
plog_state_apply (PlogState            *state,
                  const PlogRecordView *view,
                  const guint8         *record,
                  gsize                 record_size)
{
  Probe probe;

  apply (state, view, record_probe (view, &probe) ? &probe : NULL, record, record_size);
}

void
plog_state_apply_batch (PlogState            *state,
                        const PlogRecordView *views,
                        const guint8 * const *records,
                        const gsize          *record_sizes,
                        guint                 n)
{
  Probe probes[PLOG_STATE_BATCH];
  gboolean valid[PLOG_STATE_BATCH];

  g_assert (n <= PLOG_STATE_BATCH);

  probe_batch (state, views, n, probes, valid, TRUE);
  for (guint i = 0; i < n; i++)
    apply (state, &views[i], valid[i] ? &probes[i] : NULL, records[i], record_sizes[i]);
}

PlogStateClass
plog_state_class_of (const PlogRecordView *view)
{
  if (view->flags & PLOG_RECORD_FLAG_CONFIGURATION)
    return view->key_len > 0 ? PLOG_STATE_CONFIGURATIONS : PLOG_STATE_GLOBAL_CONFIGURATION;
  return PLOG_STATE_VALUES;
}

static inline gboolean
slot_is_of_class (const Slot     *slot,
                  PlogStateClass  klass)
{
  switch (slot->type)
    {
    case ENTRY_GLOBAL_CONFIGURATION:
      return klass == PLOG_STATE_GLOBAL_CONFIGURATION;
    case ENTRY_CONFIGURATION:
      return klass == PLOG_STATE_CONFIGURATIONS;
    case ENTRY_VALUE:
    case ENTRY_SUB_VALUE:
      return klass == PLOG_STATE_VALUES;
    default:
      return FALSE;
    }
}

gboolean
plog_state_foreach (PlogState            *state,
                    PlogStateClass        klass,
                    PlogStateForeachFunc  func,
                    gpointer              user_data)
{
  for (gsize i = 0; i <= state->mask; i++)
    {
      const Slot *slot = &state->slots[i];
      const Slot *ahead = &state->slots[(i + FOREACH_AHEAD) & state->mask];
      Entry *e = slot->entry;

      /* The slots are read in order, the entries they point to are all
       * over the heap: fetch a few slots ahead. */
      if (ahead->entry != NULL && slot_is_of_class (ahead, klass))
        {
          __builtin_prefetch (ahead->entry);
          __builtin_prefetch ((guint8 *) ahead->entry + 64);
          __builtin_prefetch ((guint8 *) ahead->entry + 128);
        }
      if (e == NULL || !slot_is_of_class (slot, klass) || e->record_size == 0)
        continue;
      if (!func (entry_record (e), e->record_size, user_data))
        return FALSE;
    }
  return TRUE;
}

static gboolean
shadows (PlogState            *state,
         const PlogRecordView *view,
         const Probe          *probe)
{
  if (probe->type == ENTRY_VALUE || probe->type == ENTRY_SUB_VALUE)
    {
      if (state->cleared_all)
        return TRUE;
      if (probe->type == ENTRY_SUB_VALUE)
        {
          Entry *head = head_lookup (state, view->key, view->key_len, FALSE);

          if (head != NULL && head->cleared)
            return TRUE;
        }
    }
  return state->slots[find_slot (state, probe)].entry != NULL;
}

gboolean
plog_state_shadows (PlogState            *state,
                    const PlogRecordView *view)
{
  Probe probe;

  return record_probe (view, &probe) && shadows (state, view, &probe);
}

void
plog_state_shadows_batch (PlogState            *state,
                          const PlogRecordView *views,
                          guint                 n,
                          gboolean             *shadowed)
{
  Probe probes[PLOG_STATE_BATCH];
  gboolean valid[PLOG_STATE_BATCH];

  g_assert (n <= PLOG_STATE_BATCH);

  probe_batch (state, views, n, probes, valid, FALSE);
  for (guint i = 0; i < n; i++)
    shadowed[i] = valid[i] && shadows (state, &views[i], &probes[i]);
}
