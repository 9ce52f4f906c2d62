/* plog-op.c: one operation of the log
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "plog-op-private.h"

/**
 * PlogOp:
 *
 * One operation of a log: a key, a sub key, a value, a timestamp, the put
 * and clear flags, and a configuration, after the `Op` of the Go original.
 *
 * A `PlogOp` is immutable and reference counted, so it is cheap to pass to
 * another thread or keep from a [signal@Plog.Logger::replayed] handler. What
 * it does on replay is its [enum@Plog.OpKind]; the merge table of the
 * design notes gives the precedence of its fields.
 *
 * An empty key, sub key or value is the same as an absent one: the getters
 * return `NULL` for both. An op may copy the bytes it is given rather than
 * keep a reference, so a getter returns equal bytes, not necessarily the
 * same `GBytes`. An absent key is the empty key for puts and
 * deletes; for a clear or a configuration it means "global".
 *
 * Since: 1.0
 */

G_DEFINE_BOXED_TYPE (PlogOp, plog_op, plog_op_ref, plog_op_unref)

/* Fields of at most this many bytes in all are copied into a new op. */
#define INLINE_MAX 256

static GHashTable *
configuration_copy (GHashTable *configuration)
{
  GHashTable *copy;
  GHashTableIter iter;
  gpointer k, v;

  if (configuration == NULL)
    return NULL;
  copy = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_hash_table_iter_init (&iter, configuration);
  while (g_hash_table_iter_next (&iter, &k, &v))
    g_hash_table_insert (copy, g_strdup (k), g_strdup (v != NULL ? v : ""));
  return copy;
}

static gboolean
configuration_is_valid (GHashTable *configuration)
{
  GHashTableIter iter;
  gpointer k, v;

  if (configuration == NULL)
    return TRUE;
  g_hash_table_iter_init (&iter, configuration);
  while (g_hash_table_iter_next (&iter, &k, &v))
    if (k == NULL || !g_utf8_validate (k, -1, NULL) ||
        (v != NULL && !g_utf8_validate (v, -1, NULL)))
      return FALSE;
  return TRUE;
}

static GBytes *
bytes_or_null (GBytes *bytes)
{
  if (bytes == NULL || g_bytes_get_size (bytes) == 0)
    return NULL;
  return g_bytes_ref (bytes);
}

static void
take_field (GBytes        *bytes,
            GBytes       **field,
            const guint8 **data,
            gsize         *len)
{
  *field = bytes_or_null (bytes);
  *data = *field != NULL ? g_bytes_get_data (*field, len) : NULL;
  if (*field == NULL)
    *len = 0;
}

static GBytes *
field_bytes (PlogOp        *self,
             GBytes       **field,
             const guint8  *data,
             gsize          len)
{
  GBytes *bytes = g_atomic_pointer_get (field);

  if (bytes != NULL || data == NULL)
    return bytes;

  /* Made on first request, for an op decoded from a file. Two threads may
   * race here; the loser frees its copy. */
  bytes = g_bytes_new (data, len);
  if (!g_atomic_pointer_compare_and_exchange (field, NULL, bytes))
    {
      g_bytes_unref (bytes);
      bytes = g_atomic_pointer_get (field);
    }
  return bytes;
}

PlogOp *
_plog_op_new_inline (const guint8 *key,
                     gsize         key_len,
                     const guint8 *sub_key,
                     gsize         sub_key_len,
                     const guint8 *value,
                     gsize         value_len,
                     gint64        timestamp,
                     gboolean      put,
                     gboolean      clear,
                     GHashTable   *configuration)
{
  PlogOp *self = g_malloc (sizeof (PlogOp) + key_len + sub_key_len + value_len);
  guint8 *p = self->inline_data;

  g_atomic_ref_count_init (&self->ref_count);
  self->put = !!put;
  self->clear = !!clear;
  self->timestamp = timestamp;
  self->key = self->sub_key = self->value = NULL;
  self->configuration = configuration;

#define COPY_FIELD(name)                        \
  self->name##_len = name##_len;                \
  self->name##_data = NULL;                     \
  if (name##_len > 0)                           \
    {                                           \
      memcpy (p, name, name##_len);             \
      self->name##_data = p;                    \
      p += name##_len;                          \
    }
  COPY_FIELD (key)
  COPY_FIELD (sub_key)
  COPY_FIELD (value)
#undef COPY_FIELD

  return self;
}

/**
 * plog_op_new:
 * @key: (nullable): the key
 * @sub_key: (nullable): the sub key
 * @value: (nullable): the value
 * @timestamp: a timestamp, kept as it is; libplog gives it no meaning
 * @put: whether the op sets a value
 * @clear: whether the op clears a sub tree (when it does not put)
 * @configuration: (nullable) (element-type utf8 utf8): a configuration,
 *   copied; its keys and values must be UTF-8
 *
 * Creates an op from all its fields, as the Go original's `Op` literal.
 * The other constructors are shorthands for the common kinds. From a
 * language binding, [ctor@Plog.Op.new_with_pairs] takes the
 * configuration without the leak of turning a dictionary into a
 * `GHashTable`.
 *
 * Returns: (transfer full): a new `PlogOp`
 *
 * Since: 1.0
 */
PlogOp *
plog_op_new (GBytes     *key,
             GBytes     *sub_key,
             GBytes     *value,
             gint64      timestamp,
             gboolean    put,
             gboolean    clear,
             GHashTable *configuration)
{
  gsize key_len = key != NULL ? g_bytes_get_size (key) : 0;
  gsize sub_key_len = sub_key != NULL ? g_bytes_get_size (sub_key) : 0;
  gsize value_len = value != NULL ? g_bytes_get_size (value) : 0;
  PlogOp *self;

  g_return_val_if_fail (configuration_is_valid (configuration), NULL);

  /* Small fields are copied into the op: cheaper than a reference on
   * each GBytes, taken now and dropped with the op, atomically both. */
  if (key_len + sub_key_len + value_len <= INLINE_MAX)
    return _plog_op_new_inline (key != NULL ? g_bytes_get_data (key, NULL) : NULL, key_len,
                                sub_key != NULL ? g_bytes_get_data (sub_key, NULL) : NULL,
                                sub_key_len,
                                value != NULL ? g_bytes_get_data (value, NULL) : NULL, value_len,
                                timestamp, put, clear, configuration_copy (configuration));

  self = g_new0 (PlogOp, 1);
  g_atomic_ref_count_init (&self->ref_count);
  take_field (key, &self->key, &self->key_data, &self->key_len);
  take_field (sub_key, &self->sub_key, &self->sub_key_data, &self->sub_key_len);
  take_field (value, &self->value, &self->value_data, &self->value_len);
  self->timestamp = timestamp;
  self->put = !!put;
  self->clear = !!clear;
  self->configuration = configuration_copy (configuration);
  return self;
}

/**
 * plog_op_new_put:
 * @key: (nullable): the key
 * @value: (nullable): the value
 * @timestamp: a timestamp
 *
 * Creates an op that sets the value of @key.
 *
 * Returns: (transfer full): a new `PlogOp` of kind [enum@Plog.OpKind.PUT]
 *
 * Since: 1.0
 */
PlogOp *
plog_op_new_put (GBytes *key,
                 GBytes *value,
                 gint64  timestamp)
{
  return plog_op_new (key, NULL, value, timestamp, TRUE, FALSE, NULL);
}

/**
 * plog_op_new_sub_put:
 * @key: (nullable): the key
 * @sub_key: the sub key
 * @value: (nullable): the value
 * @timestamp: a timestamp
 *
 * Creates an op that sets the value of @sub_key under @key.
 *
 * Returns: (transfer full): a new `PlogOp`
 *
 * Since: 1.0
 */
PlogOp *
plog_op_new_sub_put (GBytes *key,
                     GBytes *sub_key,
                     GBytes *value,
                     gint64  timestamp)
{
  return plog_op_new (key, sub_key, value, timestamp, TRUE, FALSE, NULL);
}

/**
 * plog_op_new_delete:
 * @key: (nullable): the key
 *
 * Creates an op that removes the value of @key.
 *
 * Returns: (transfer full): a new `PlogOp` of kind [enum@Plog.OpKind.DELETE]
 *
 * Since: 1.0
 */
PlogOp *
plog_op_new_delete (GBytes *key)
{
  return plog_op_new (key, NULL, NULL, 0, FALSE, FALSE, NULL);
}

/**
 * plog_op_new_sub_delete:
 * @key: (nullable): the key
 * @sub_key: the sub key
 *
 * Creates an op that removes the value of @sub_key under @key; a sub tree
 * left empty disappears.
 *
 * Returns: (transfer full): a new `PlogOp`
 *
 * Since: 1.0
 */
PlogOp *
plog_op_new_sub_delete (GBytes *key,
                        GBytes *sub_key)
{
  return plog_op_new (key, sub_key, NULL, 0, FALSE, FALSE, NULL);
}

/**
 * plog_op_new_clear:
 * @key: (nullable): the key whose sub tree to remove, or `NULL` for all
 * @timestamp: a timestamp
 *
 * Creates an op that removes the sub tree of @key (every sub key under it;
 * the key's own value stays), or, without a key, every value and every sub
 * tree. Configurations stay.
 *
 * Returns: (transfer full): a new `PlogOp` of kind [enum@Plog.OpKind.CLEAR]
 *
 * Since: 1.0
 */
PlogOp *
plog_op_new_clear (GBytes *key,
                   gint64  timestamp)
{
  return plog_op_new (key, NULL, NULL, timestamp, FALSE, TRUE, NULL);
}

/**
 * plog_op_new_configure:
 * @key: (nullable): the key whose configuration to replace, or `NULL` for
 *   the global configuration
 * @configuration: (element-type utf8 utf8): the configuration, copied; an
 *   empty table removes the configuration
 * @timestamp: a timestamp
 *
 * Creates an op that replaces a configuration. From a language binding,
 * see [ctor@Plog.Op.new_with_pairs].
 *
 * Returns: (transfer full): a new `PlogOp` of kind
 *   [enum@Plog.OpKind.CONFIGURE]
 *
 * Since: 1.0
 */
PlogOp *
plog_op_new_configure (GBytes     *key,
                       GHashTable *configuration,
                       gint64      timestamp)
{
  g_return_val_if_fail (configuration != NULL, NULL);

  return plog_op_new (key, NULL, NULL, timestamp, FALSE, FALSE, configuration);
}

/**
 * plog_op_new_with_pairs:
 * @key: (nullable): the key
 * @sub_key: (nullable): the sub key
 * @value: (nullable): the value
 * @timestamp: a timestamp
 * @put: whether the op sets a value
 * @clear: whether the op clears
 * @pairs: (nullable) (array zero-terminated=1): the configuration as names
 *   and values in turn (a name, its value, the next name, and so on),
 *   copied; `NULL` for none
 *
 * Creates an op as [ctor@Plog.Op.new] does, with the configuration given
 * as an array of strings instead of a `GHashTable`. An empty array is an
 * empty configuration, which removes the one it replaces. A name given
 * twice keeps its last value. @pairs must hold an even number of valid
 * UTF-8 strings.
 *
 * This is for language bindings: PyGObject 3.42 and GJS 1.74 leak on
 * every call that turns a dictionary into a `GHashTable` (PyGObject keeps
 * a reference to each string), and not when they turn a list into an
 * array of strings. The Python overrides build every op with a
 * configuration through this function; in JavaScript, pass
 * `['name', 'value', …]`.
 *
 * Returns: (transfer full): a new `PlogOp`
 *
 * Since: 1.0
 */
PlogOp *
plog_op_new_with_pairs (GBytes             *key,
                        GBytes             *sub_key,
                        GBytes             *value,
                        gint64              timestamp,
                        gboolean            put,
                        gboolean            clear,
                        const char * const *pairs)
{
  g_autoptr(GHashTable) configuration = NULL;

  if (pairs != NULL)
    {
      g_return_val_if_fail (g_strv_length ((char **) pairs) % 2 == 0, NULL);

      /* The strings stay in @pairs: plog_op_new() copies them. */
      configuration = g_hash_table_new (g_str_hash, g_str_equal);
      for (gsize i = 0; pairs[i] != NULL; i += 2)
        g_hash_table_insert (configuration, (gpointer) pairs[i], (gpointer) pairs[i + 1]);
    }
  return plog_op_new (key, sub_key, value, timestamp, put, clear, configuration);
}

/**
 * plog_op_ref:
 * @self: a `PlogOp`
 *
 * Takes a reference. May be called from any thread.
 *
 * Returns: (transfer full): @self
 *
 * Since: 1.0
 */
PlogOp *
plog_op_ref (PlogOp *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

/**
 * plog_op_unref:
 * @self: (transfer full): a `PlogOp`
 *
 * Drops a reference, freeing @self with the last one. May be called from
 * any thread.
 *
 * Since: 1.0
 */
void
plog_op_unref (PlogOp *self)
{
  g_return_if_fail (self != NULL);

  /* The last reference needs no atomic decrement: no other thread can
   * hold or take one. A replay frees every op it makes this way. */
  if (!g_atomic_ref_count_compare (&self->ref_count, 1) &&
      !g_atomic_ref_count_dec (&self->ref_count))
    return;
  g_clear_pointer (&self->key, g_bytes_unref);
  g_clear_pointer (&self->sub_key, g_bytes_unref);
  g_clear_pointer (&self->value, g_bytes_unref);
  g_clear_pointer (&self->configuration, g_hash_table_unref);
  g_free (self);
}

/**
 * plog_op_get_key:
 * @self: a `PlogOp`
 *
 * The key, or `NULL` when it is absent or empty.
 *
 * Returns: (transfer none) (nullable): the key
 *
 * Since: 1.0
 */
GBytes *
plog_op_get_key (PlogOp *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return field_bytes (self, &self->key, self->key_data, self->key_len);
}

/**
 * plog_op_get_sub_key:
 * @self: a `PlogOp`
 *
 * The sub key, or `NULL` when it is absent or empty.
 *
 * Returns: (transfer none) (nullable): the sub key
 *
 * Since: 1.0
 */
GBytes *
plog_op_get_sub_key (PlogOp *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return field_bytes (self, &self->sub_key, self->sub_key_data, self->sub_key_len);
}

/**
 * plog_op_get_value:
 * @self: a `PlogOp`
 *
 * The value, or `NULL` when it is absent or empty.
 *
 * Returns: (transfer none) (nullable): the value
 *
 * Since: 1.0
 */
GBytes *
plog_op_get_value (PlogOp *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return field_bytes (self, &self->value, self->value_data, self->value_len);
}

/**
 * plog_op_get_key_data:
 * @self: a `PlogOp`
 * @length: (out): the length of the key
 *
 * The bytes of the key without making a `GBytes`: a byte array in
 * languages that have one.
 *
 * Returns: (transfer none) (array length=length) (nullable): the key, valid
 *   as long as @self
 *
 * Since: 1.0
 */
const guint8 *
plog_op_get_key_data (PlogOp *self,
                      gsize  *length)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (length != NULL, NULL);

  *length = self->key_len;
  return self->key_data;
}

/**
 * plog_op_get_sub_key_data:
 * @self: a `PlogOp`
 * @length: (out): the length of the sub key
 *
 * The bytes of the sub key without making a `GBytes`.
 *
 * Returns: (transfer none) (array length=length) (nullable): the sub key,
 *   valid as long as @self
 *
 * Since: 1.0
 */
const guint8 *
plog_op_get_sub_key_data (PlogOp *self,
                          gsize  *length)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (length != NULL, NULL);

  *length = self->sub_key_len;
  return self->sub_key_data;
}

/**
 * plog_op_get_value_data:
 * @self: a `PlogOp`
 * @length: (out): the length of the value
 *
 * The bytes of the value without making a `GBytes`.
 *
 * Returns: (transfer none) (array length=length) (nullable): the value,
 *   valid as long as @self
 *
 * Since: 1.0
 */
const guint8 *
plog_op_get_value_data (PlogOp *self,
                        gsize  *length)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (length != NULL, NULL);

  *length = self->value_len;
  return self->value_data;
}

/**
 * plog_op_get_timestamp:
 * @self: a `PlogOp`
 *
 * The timestamp given at construction.
 *
 * Returns: the timestamp
 *
 * Since: 1.0
 */
gint64
plog_op_get_timestamp (PlogOp *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->timestamp;
}

/**
 * plog_op_get_put:
 * @self: a `PlogOp`
 *
 * Whether the op sets a value.
 *
 * Returns: the put flag
 *
 * Since: 1.0
 */
gboolean
plog_op_get_put (PlogOp *self)
{
  g_return_val_if_fail (self != NULL, FALSE);

  return self->put;
}

/**
 * plog_op_get_clear:
 * @self: a `PlogOp`
 *
 * Whether the op clears a sub tree.
 *
 * Returns: the clear flag
 *
 * Since: 1.0
 */
gboolean
plog_op_get_clear (PlogOp *self)
{
  g_return_val_if_fail (self != NULL, FALSE);

  return self->clear;
}

/**
 * plog_op_get_configuration:
 * @self: a `PlogOp`
 *
 * The configuration, or `NULL` when the op has none. Do not modify it.
 *
 * Returns: (transfer none) (nullable) (element-type utf8 utf8): the
 *   configuration
 *
 * Since: 1.0
 */
GHashTable *
plog_op_get_configuration (PlogOp *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->configuration;
}

/**
 * plog_op_get_kind:
 * @self: a `PlogOp`
 *
 * What the op does on replay, from its fields: a configuration first, then
 * put (with or without a sub key), then a sub key (a sub delete), then
 * clear, else a delete.
 *
 * Returns: the kind of @self
 *
 * Since: 1.0
 */
PlogOpKind
plog_op_get_kind (PlogOp *self)
{
  g_return_val_if_fail (self != NULL, PLOG_OP_KIND_DELETE);

  if (self->configuration != NULL)
    return PLOG_OP_KIND_CONFIGURE;
  if (self->put)
    return self->sub_key_len > 0 ? PLOG_OP_KIND_SUB_PUT : PLOG_OP_KIND_PUT;
  if (self->sub_key_len > 0)
    return PLOG_OP_KIND_SUB_DELETE;
  if (self->clear)
    return PLOG_OP_KIND_CLEAR;
  return PLOG_OP_KIND_DELETE;
}

static gboolean
data_equal (const guint8 *a,
            gsize         a_len,
            const guint8 *b,
            gsize         b_len)
{
  return a_len == b_len && (a_len == 0 || memcmp (a, b, a_len) == 0);
}

static gboolean
configuration_equal (GHashTable *a,
                     GHashTable *b)
{
  GHashTableIter iter;
  gpointer k, v;

  if (a == NULL || b == NULL)
    return a == b;
  if (g_hash_table_size (a) != g_hash_table_size (b))
    return FALSE;
  g_hash_table_iter_init (&iter, a);
  while (g_hash_table_iter_next (&iter, &k, &v))
    {
      const char *other;

      if (!g_hash_table_lookup_extended (b, k, NULL, (gpointer *) &other) ||
          g_strcmp0 (v, other) != 0)
        return FALSE;
    }
  return TRUE;
}

/**
 * plog_op_equal:
 * @a: a `PlogOp`
 * @b: another `PlogOp`
 *
 * Whether two ops have equal fields: the same bytes, timestamp, flags and
 * configuration entries.
 *
 * Returns: `TRUE` when @a and @b are equal
 *
 * Since: 1.0
 */
gboolean
plog_op_equal (PlogOp *a,
               PlogOp *b)
{
  g_return_val_if_fail (a != NULL, FALSE);
  g_return_val_if_fail (b != NULL, FALSE);

  return a->put == b->put &&
         a->clear == b->clear &&
         a->timestamp == b->timestamp &&
         data_equal (a->key_data, a->key_len, b->key_data, b->key_len) &&
         data_equal (a->sub_key_data, a->sub_key_len, b->sub_key_data, b->sub_key_len) &&
         data_equal (a->value_data, a->value_len, b->value_data, b->value_len) &&
         configuration_equal (a->configuration, b->configuration);
}

static void
append_data (GString      *str,
             const char   *name,
             const guint8 *data,
             gsize         len)
{
  if (data == NULL)
    return;
  g_string_append_printf (str, " %s=\"", name);
  for (gsize i = 0; i < len && i < 64; i++)
    {
      if (data[i] >= 0x20 && data[i] < 0x7f && data[i] != '"' && data[i] != '\\')
        g_string_append_c (str, data[i]);
      else
        g_string_append_printf (str, "\\x%02x", data[i]);
    }
  if (len > 64)
    g_string_append_printf (str, "…(%" G_GSIZE_FORMAT " bytes)", len);
  g_string_append_c (str, '"');
}

/* Configuration text: UTF-8 as it is, control characters, quotes and
 * backslashes escaped, so that the description stays on one line. */
static void
append_text (GString    *str,
             const char *text)
{
  g_string_append_c (str, '"');
  for (const char *p = text; *p != '\0'; p++)
    {
      guchar c = (guchar) *p;

      if (c == '"' || c == '\\')
        g_string_append_printf (str, "\\%c", c);
      else if (c < 0x20 || c == 0x7f)
        g_string_append_printf (str, "\\x%02x", c);
      else
        g_string_append_c (str, c);
    }
  g_string_append_c (str, '"');
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return g_strcmp0 (*(const char * const *) a, *(const char * const *) b);
}

/**
 * plog_op_to_string:
 * @self: a `PlogOp`
 *
 * A one-line description of the op for logs and debugging, such as
 * `put key="a" value="b" timestamp=3`. The form may change between
 * releases; do not parse it.
 *
 * Returns: (transfer full): a new string
 *
 * Since: 1.0
 */
char *
plog_op_to_string (PlogOp *self)
{
  static const char * const kind_names[] = {
    "configure", "put", "sub-put", "delete", "sub-delete", "clear",
  };
  PlogOpKind kind;
  GString *str;

  g_return_val_if_fail (self != NULL, NULL);

  kind = plog_op_get_kind (self);
  str = g_string_new (kind_names[kind]);
  append_data (str, "key", self->key_data, self->key_len);
  append_data (str, "sub_key", self->sub_key_data, self->sub_key_len);
  append_data (str, "value", self->value_data, self->value_len);
  g_string_append_printf (str, " timestamp=%" G_GINT64_FORMAT, self->timestamp);
  /* The flags that the kind does not already tell. */
  if (self->put && kind == PLOG_OP_KIND_CONFIGURE)
    g_string_append (str, " put");
  if (self->clear && kind != PLOG_OP_KIND_CLEAR)
    g_string_append (str, " clear");
  if (self->configuration != NULL)
    {
      g_autofree gpointer *keys = g_hash_table_get_keys_as_array (self->configuration, NULL);
      guint n = g_hash_table_size (self->configuration);

      qsort (keys, n, sizeof (gpointer), compare_strings);
      g_string_append (str, " {");
      for (guint i = 0; i < n; i++)
        {
          if (i > 0)
            g_string_append (str, ", ");
          append_text (str, keys[i]);
          g_string_append_c (str, '=');
          append_text (str, g_hash_table_lookup (self->configuration, keys[i]));
        }
      g_string_append_c (str, '}');
    }
  return g_string_free (str, FALSE);
}
