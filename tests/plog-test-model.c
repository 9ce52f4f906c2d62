/* plog-test-model.c: a reference model of the merge semantics
 *
 * Written from docs/design.md (the merge table) and docs/format.md (the
 * size of a record), not from the library's code: it shares none of the
 * library's private layers, so that the tests compare the library with
 * an independent statement of what it must do.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "plog-test-model.h"

#include <string.h>

/* {{{ Entries */

/* A value or a sub value. */
typedef struct
{
  GBytes  *value;               /* never NULL: empty when absent */
  gint64   timestamp;
  guint64  record_size;         /* of the op that set it */
} Entry;

/* The global configuration or that of a key. */
typedef struct
{
  GHashTable *configuration;    /* utf8 -> utf8, never empty */
  gint64      timestamp;
  guint64     record_size;      /* of the op that set it */
} Config;

struct _PlogTestModel
{
  Config     *global;           /* NULL: no global configuration */
  GHashTable *configs;          /* GBytes key -> Config */
  GHashTable *values;           /* GBytes key -> Entry */
  GHashTable *subs;             /* GBytes key -> GHashTable (GBytes sub key -> Entry) */
};

static gboolean
bytes_empty (GBytes *bytes)
{
  return bytes == NULL || g_bytes_get_size (bytes) == 0;
}

/* An empty or absent key, sub key or value is the empty GBytes. */
static GBytes *
bytes_norm (GBytes *bytes)
{
  if (bytes_empty (bytes))
    return g_bytes_new (NULL, 0);
  return g_bytes_ref (bytes);
}

/* Printable, and short enough for a message. */
static char *
bytes_describe (GBytes *bytes)
{
  GString *s = g_string_new ("\"");
  gsize len = 0;
  const guint8 *data = bytes != NULL ? g_bytes_get_data (bytes, &len) : NULL;

  for (gsize i = 0; i < len && i < 48; i++)
    {
      if (data[i] >= 0x20 && data[i] < 0x7f && data[i] != '"' && data[i] != '\\')
        g_string_append_c (s, data[i]);
      else
        g_string_append_printf (s, "\\x%02x", data[i]);
    }
  if (len > 48)
    g_string_append_printf (s, "...(%" G_GSIZE_FORMAT " bytes)", len);
  g_string_append_c (s, '"');
  return g_string_free (s, FALSE);
}

static Entry *
entry_new (GBytes  *value,
           gint64   timestamp,
           guint64  record_size)
{
  Entry *e = g_new0 (Entry, 1);

  e->value = bytes_norm (value);
  e->timestamp = timestamp;
  e->record_size = record_size;
  return e;
}

static Entry *
entry_copy (Entry *e)
{
  return entry_new (e->value, e->timestamp, e->record_size);
}

static void
entry_free (gpointer data)
{
  Entry *e = data;

  g_bytes_unref (e->value);
  g_free (e);
}

static GHashTable *
configuration_copy (GHashTable *configuration)
{
  GHashTable *copy = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  GHashTableIter iter;
  gpointer k, v;

  /* A NULL value is the empty string, as plog_op_new() takes it. */
  g_hash_table_iter_init (&iter, configuration);
  while (g_hash_table_iter_next (&iter, &k, &v))
    g_hash_table_insert (copy, g_strdup (k), g_strdup (v != NULL ? v : ""));
  return copy;
}

static gboolean
configuration_equal (GHashTable *a,
                     GHashTable *b)
{
  GHashTableIter iter;
  gpointer k, v;

  if (g_hash_table_size (a) != g_hash_table_size (b))
    return FALSE;
  g_hash_table_iter_init (&iter, a);
  while (g_hash_table_iter_next (&iter, &k, &v))
    {
      const char *other = g_hash_table_lookup (b, k);

      if (other == NULL || strcmp (other, v) != 0)
        return FALSE;
    }
  return TRUE;
}

static Config *
config_new (GHashTable *configuration,
            gint64      timestamp,
            guint64     record_size)
{
  Config *c = g_new0 (Config, 1);

  c->configuration = configuration_copy (configuration);
  c->timestamp = timestamp;
  c->record_size = record_size;
  return c;
}

static Config *
config_copy (Config *c)
{
  return config_new (c->configuration, c->timestamp, c->record_size);
}

static void
config_free (gpointer data)
{
  Config *c = data;

  if (c == NULL)
    return;
  g_hash_table_unref (c->configuration);
  g_free (c);
}

static GHashTable *
sub_table_new (void)
{
  return g_hash_table_new_full (g_bytes_hash, g_bytes_equal,
                                (GDestroyNotify) g_bytes_unref, entry_free);
}

/* }}} */

/* {{{ The model */

PlogTestModel *
plog_test_model_new (void)
{
  PlogTestModel *m = g_new0 (PlogTestModel, 1);

  m->configs = g_hash_table_new_full (g_bytes_hash, g_bytes_equal,
                                      (GDestroyNotify) g_bytes_unref, config_free);
  m->values = g_hash_table_new_full (g_bytes_hash, g_bytes_equal,
                                     (GDestroyNotify) g_bytes_unref, entry_free);
  m->subs = g_hash_table_new_full (g_bytes_hash, g_bytes_equal,
                                   (GDestroyNotify) g_bytes_unref,
                                   (GDestroyNotify) g_hash_table_unref);
  return m;
}

void
plog_test_model_free (PlogTestModel *m)
{
  if (m == NULL)
    return;
  config_free (m->global);
  g_hash_table_unref (m->configs);
  g_hash_table_unref (m->values);
  g_hash_table_unref (m->subs);
  g_free (m);
}

PlogTestModel *
plog_test_model_new_from_ops (GPtrArray *ops)
{
  PlogTestModel *m = plog_test_model_new ();

  for (guint i = 0; i < ops->len; i++)
    plog_test_model_apply (m, g_ptr_array_index (ops, i));
  return m;
}

/* The merge table of design.md, applied to the raw fields of an op, with
 * its precedence: a configuration, then put, then a sub key, then clear.
 * The fields that a kind does not use have no effect, but count in the
 * size of the record that a snapshot copies. */
void
plog_test_model_apply_fields (PlogTestModel *m,
                              GBytes        *key_in,
                              GBytes        *sub_in,
                              GBytes        *value,
                              gint64         timestamp,
                              gboolean       put,
                              gboolean       clear,
                              GHashTable    *configuration)
{
  g_autoptr(GBytes) key = bytes_norm (key_in);
  gboolean has_key = !bytes_empty (key_in);
  gboolean has_sub = !bytes_empty (sub_in);
  guint64 size = plog_test_model_record_size (key_in, sub_in, value, timestamp, configuration);

  if (configuration != NULL)
    {
      /* CONFIGURE: an empty configuration removes, of the key or the
       * global one when there is no key */
      if (!has_key)
        {
          g_clear_pointer (&m->global, config_free);
          if (g_hash_table_size (configuration) > 0)
            m->global = config_new (configuration, timestamp, size);
        }
      else if (g_hash_table_size (configuration) > 0)
        g_hash_table_replace (m->configs, g_bytes_ref (key), config_new (configuration, timestamp, size));
      else
        g_hash_table_remove (m->configs, key);
    }
  else if (put)
    {
      /* SUB_PUT, or PUT; an absent key is the empty key */
      if (has_sub)
        {
          GHashTable *subs = g_hash_table_lookup (m->subs, key);

          if (subs == NULL)
            {
              subs = sub_table_new ();
              g_hash_table_insert (m->subs, g_bytes_ref (key), subs);
            }
          g_hash_table_replace (subs, g_bytes_ref (sub_in), entry_new (value, timestamp, size));
        }
      else
        g_hash_table_replace (m->values, g_bytes_ref (key), entry_new (value, timestamp, size));
    }
  else if (has_sub)
    {
      /* SUB_DELETE: a sub tree left empty disappears */
      GHashTable *subs = g_hash_table_lookup (m->subs, key);

      if (subs != NULL)
        {
          g_hash_table_remove (subs, sub_in);
          if (g_hash_table_size (subs) == 0)
            g_hash_table_remove (m->subs, key);
        }
    }
  else if (clear)
    {
      /* CLEAR: of a key, its sub tree only; without a key, every value
       * and every sub tree. Configurations stay. */
      if (has_key)
        g_hash_table_remove (m->subs, key);
      else
        {
          g_hash_table_remove_all (m->values);
          g_hash_table_remove_all (m->subs);
        }
    }
  else
    {
      /* DELETE: the key's value only */
      g_hash_table_remove (m->values, key);
    }
}

void
plog_test_model_apply (PlogTestModel *m,
                       PlogOp        *op)
{
  plog_test_model_apply_fields (m,
                                plog_op_get_key (op),
                                plog_op_get_sub_key (op),
                                plog_op_get_value (op),
                                plog_op_get_timestamp (op),
                                plog_op_get_put (op),
                                plog_op_get_clear (op),
                                plog_op_get_configuration (op));
}

guint
plog_test_model_n_configs (PlogTestModel *m)
{
  return (m->global != NULL ? 1 : 0) + g_hash_table_size (m->configs);
}

guint
plog_test_model_n_live (PlogTestModel *m)
{
  GHashTableIter iter;
  gpointer subs;
  guint n = plog_test_model_n_configs (m) + g_hash_table_size (m->values);

  g_hash_table_iter_init (&iter, m->subs);
  while (g_hash_table_iter_next (&iter, NULL, &subs))
    n += g_hash_table_size (subs);
  return n;
}

/* }}} */

/* {{{ Sizes (docs/format.md) */

/* An unsigned LEB128 varint, in its shortest form. */
static guint64
varint_size (guint64 v)
{
  guint64 n = 1;

  while (v >= 0x80)
    {
      v >>= 7;
      n++;
    }
  return n;
}

/* A key, sub key or value: absent when empty, else its varint length and
 * its bytes. */
static guint64
bytes_field_size (GBytes *bytes)
{
  gsize len = bytes != NULL ? g_bytes_get_size (bytes) : 0;

  return len == 0 ? 0 : varint_size (len) + len;
}

/* The timestamp: absent when 0, else the varint of its zigzag encoding. */
static guint64
timestamp_field_size (gint64 timestamp)
{
  guint64 zigzag = ((guint64) timestamp << 1) ^ (timestamp < 0 ? G_MAXUINT64 : 0);

  return timestamp == 0 ? 0 : varint_size (zigzag);
}

/* The configuration: absent when NULL, else a varint count and, for each
 * pair, the varint length and bytes of its key and of its value. */
static guint64
configuration_field_size (GHashTable *configuration)
{
  GHashTableIter iter;
  gpointer k, v;
  guint64 size;

  if (configuration == NULL)
    return 0;
  size = varint_size (g_hash_table_size (configuration));
  g_hash_table_iter_init (&iter, configuration);
  while (g_hash_table_iter_next (&iter, &k, &v))
    {
      gsize k_len = strlen (k);
      gsize v_len = v != NULL ? strlen (v) : 0;

      size += varint_size (k_len) + k_len + varint_size (v_len) + v_len;
    }
  return size;
}

guint64
plog_test_model_record_size (GBytes     *key,
                             GBytes     *sub_key,
                             GBytes     *value,
                             gint64      timestamp,
                             GHashTable *configuration)
{
  /* the length and the checksum, then the payload: the flags byte and
   * the fields that are present */
  return 4 + 4 + 1
         + bytes_field_size (key)
         + bytes_field_size (sub_key)
         + bytes_field_size (value)
         + timestamp_field_size (timestamp)
         + configuration_field_size (configuration);
}

guint64
plog_test_model_encoded_size (PlogTestModel *m)
{
  GHashTableIter iter, sub_iter;
  gpointer v, sv;
  guint64 size = m->global != NULL ? m->global->record_size : 0;

  g_hash_table_iter_init (&iter, m->configs);
  while (g_hash_table_iter_next (&iter, NULL, &v))
    size += ((Config *) v)->record_size;
  g_hash_table_iter_init (&iter, m->values);
  while (g_hash_table_iter_next (&iter, NULL, &v))
    size += ((Entry *) v)->record_size;
  g_hash_table_iter_init (&iter, m->subs);
  while (g_hash_table_iter_next (&iter, NULL, &v))
    {
      g_hash_table_iter_init (&sub_iter, v);
      while (g_hash_table_iter_next (&sub_iter, NULL, &sv))
        size += ((Entry *) sv)->record_size;
    }
  return size;
}

/* }}} */

/* {{{ Comparison */

static char *
config_describe (Config *c)
{
  GString *s;
  GHashTableIter iter;
  gpointer k, v;

  if (c == NULL)
    return g_strdup ("(none)");
  s = g_string_new ("{");
  g_hash_table_iter_init (&iter, c->configuration);
  while (g_hash_table_iter_next (&iter, &k, &v))
    g_string_append_printf (s, " %s=%s", (char *) k, (char *) v);
  g_string_append_printf (s, " } @%" G_GINT64_FORMAT, c->timestamp);
  return g_string_free (s, FALSE);
}

static char *
config_diff (const char *what,
             Config     *expected,
             Config     *got)
{
  g_autofree char *e = NULL;
  g_autofree char *g = NULL;

  if (expected == NULL && got == NULL)
    return NULL;
  if (expected != NULL && got != NULL
      && configuration_equal (expected->configuration, got->configuration)
      && expected->timestamp == got->timestamp)
    return NULL;
  e = config_describe (expected);
  g = config_describe (got);
  return g_strdup_printf ("configuration of %s: expected %s, got %s", what, e, g);
}

static char *
entry_diff (const char *what,
            Entry      *expected,
            Entry      *got)
{
  g_autofree char *e = NULL;
  g_autofree char *g = NULL;

  if (expected == NULL && got == NULL)
    return NULL;
  if (expected != NULL && got != NULL
      && g_bytes_equal (expected->value, got->value)
      && expected->timestamp == got->timestamp)
    return NULL;
  e = expected != NULL ? bytes_describe (expected->value) : g_strdup ("(absent)");
  g = got != NULL ? bytes_describe (got->value) : g_strdup ("(absent)");
  return g_strdup_printf ("%s: expected %s @%" G_GINT64_FORMAT ", got %s @%" G_GINT64_FORMAT,
                          what, e, expected != NULL ? expected->timestamp : 0,
                          g, got != NULL ? got->timestamp : 0);
}

/* Walks the entries of @a and looks them up in @b; @a_is_expected says
 * which side is which in the message. */
static char *
diff_one_way (PlogTestModel *a,
              PlogTestModel *b,
              gboolean       a_is_expected)
{
  GHashTableIter iter, sub_iter;
  gpointer k, v, sk, sv;

#define DIFF(fn, what, x, y) \
  (a_is_expected ? fn (what, x, y) : fn (what, y, x))

  {
    char *d = DIFF (config_diff, "the global configuration", a->global, b->global);

    if (d != NULL)
      return d;
  }
  g_hash_table_iter_init (&iter, a->configs);
  while (g_hash_table_iter_next (&iter, &k, &v))
    {
      g_autofree char *key = bytes_describe (k);
      g_autofree char *what = g_strdup_printf ("key %s", key);
      char *d = DIFF (config_diff, what, (Config *) v, (Config *) g_hash_table_lookup (b->configs, k));

      if (d != NULL)
        return d;
    }
  g_hash_table_iter_init (&iter, a->values);
  while (g_hash_table_iter_next (&iter, &k, &v))
    {
      g_autofree char *key = bytes_describe (k);
      g_autofree char *what = g_strdup_printf ("value of key %s", key);
      char *d = DIFF (entry_diff, what, (Entry *) v, (Entry *) g_hash_table_lookup (b->values, k));

      if (d != NULL)
        return d;
    }
  g_hash_table_iter_init (&iter, a->subs);
  while (g_hash_table_iter_next (&iter, &k, &v))
    {
      GHashTable *other = g_hash_table_lookup (b->subs, k);

      g_hash_table_iter_init (&sub_iter, v);
      while (g_hash_table_iter_next (&sub_iter, &sk, &sv))
        {
          g_autofree char *key = bytes_describe (k);
          g_autofree char *sub = bytes_describe (sk);
          g_autofree char *what = g_strdup_printf ("value of key %s sub key %s", key, sub);
          Entry *o = other != NULL ? g_hash_table_lookup (other, sk) : NULL;
          char *d = DIFF (entry_diff, what, (Entry *) sv, o);

          if (d != NULL)
            return d;
        }
    }
#undef DIFF
  return NULL;
}

char *
plog_test_model_diff (PlogTestModel *expected,
                      PlogTestModel *got)
{
  char *d = diff_one_way (expected, got, TRUE);

  if (d == NULL)
    d = diff_one_way (got, expected, FALSE);
  return d;
}

void
plog_test_model_assert_equal (PlogTestModel *expected,
                              PlogTestModel *got,
                              const char    *where)
{
  g_autofree char *diff = plog_test_model_diff (expected, got);

  if (diff != NULL)
    g_test_message ("%s: the replayed state differs from the model: %s", where, diff);
  g_assert_cmpstr (diff, ==, NULL);
}

/* }}} */

/* {{{ Union */

void
plog_test_model_merge (PlogTestModel *dst,
                       PlogTestModel *src)
{
  GHashTableIter iter, sub_iter;
  gpointer k, v, sk, sv;

  if (src->global != NULL)
    {
      g_assert_null (dst->global);
      dst->global = config_copy (src->global);
    }
  g_hash_table_iter_init (&iter, src->configs);
  while (g_hash_table_iter_next (&iter, &k, &v))
    {
      g_assert_false (g_hash_table_contains (dst->configs, k));
      g_hash_table_insert (dst->configs, g_bytes_ref (k), config_copy (v));
    }
  g_hash_table_iter_init (&iter, src->values);
  while (g_hash_table_iter_next (&iter, &k, &v))
    {
      g_assert_false (g_hash_table_contains (dst->values, k));
      g_hash_table_insert (dst->values, g_bytes_ref (k), entry_copy (v));
    }
  g_hash_table_iter_init (&iter, src->subs);
  while (g_hash_table_iter_next (&iter, &k, &v))
    {
      GHashTable *subs = sub_table_new ();

      g_assert_false (g_hash_table_contains (dst->subs, k));
      g_hash_table_iter_init (&sub_iter, v);
      while (g_hash_table_iter_next (&sub_iter, &sk, &sv))
        g_hash_table_insert (subs, g_bytes_ref (sk), entry_copy (sv));
      g_hash_table_insert (dst->subs, g_bytes_ref (k), subs);
    }
}

/* }}} */
