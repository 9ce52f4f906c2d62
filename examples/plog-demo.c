/* plog-demo.c: records, compacts, stops and replays a log, and says how
 * fast each step was
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <stdlib.h>
#include <string.h>

#include <glib/gstdio.h>
#include <plog.h>

static gint64 n_ops = 1000000;
static gint64 n_keys = 50000;
static gint64 max_size_mib = 8;
static char *directory = NULL;

static const GOptionEntry entries[] = {
  { "ops", 'n', 0, G_OPTION_ARG_INT64, &n_ops, "Ops to dump (default 1000000)", "N" },
  { "keys", 'k', 0, G_OPTION_ARG_INT64, &n_keys, "Distinct keys (default 50000)", "N" },
  { "max-size", 'm', 0, G_OPTION_ARG_INT64, &max_size_mib, "max-size in MiB (default 8)", "MIB" },
  { "dir", 'd', 0, G_OPTION_ARG_FILENAME, &directory, "Keep the log in DIR (default: a temporary directory, removed)", "DIR" },
  { NULL }
};

typedef struct
{
  guint       compactions;
  GHashTable *state;      /* key -> value, both GBytes */
  guint64     replayed;
} Demo;

static void
on_compacted (PlogLogger *logger,
              Demo       *demo)
{
  demo->compactions++;
}

static void
on_op (PlogOp   *op,
       gpointer  user_data)
{
  Demo *demo = user_data;
  GBytes *key = plog_op_get_key (op);

  demo->replayed++;
  if (plog_op_get_kind (op) == PLOG_OP_KIND_PUT)
    g_hash_table_replace (demo->state, g_bytes_ref (key), g_bytes_ref (plog_op_get_value (op)));
}

static gint64
directory_size (const char *path,
                guint      *n_files)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;
  gint64 total = 0;

  *n_files = 0;
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *file = g_build_filename (path, name, NULL);
      GStatBuf st;

      if (g_str_equal (name, "LOCK") || g_stat (file, &st) != 0)
        continue;
      total += st.st_size;
      (*n_files)++;
    }
  return total;
}

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *file = g_build_filename (path, name, NULL);
      g_unlink (file);
    }
  g_rmdir (path);
}

static int
fail (GError *error)
{
  g_printerr ("%s: %s\n", g_get_prgname (), error->message);
  g_error_free (error);
  return EXIT_FAILURE;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) context = g_option_context_new ("- record, compact and replay a log");
  g_autoptr(PlogLogger) logger = NULL;
  g_autoptr(GHashTable) expected = NULL;
  g_autofree char *dir = NULL;
  GError *error = NULL;
  Demo demo = { 0 };
  gint64 start, elapsed;
  gint64 bytes;
  guint n_files;
  gboolean temporary;
  GHashTableIter iter;
  gpointer k, v;
  guint mismatches = 0;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return fail (error);
  if (n_ops < 1 || n_keys < 1 || max_size_mib < 0)
    {
      g_printerr ("%s: --ops and --keys must be positive\n", g_get_prgname ());
      return EXIT_FAILURE;
    }

  temporary = directory == NULL;
  dir = temporary ? g_dir_make_tmp ("plog-demo-XXXXXX", &error) : g_strdup (directory);
  if (dir == NULL)
    return fail (error);

  g_print ("libplog %s demo in %s\n\n", PLOG_VERSION_S, dir);

  /* 1. Record and dump, with automatic compactions in the background. */
  logger = plog_logger_new (dir, &error);
  if (logger == NULL)
    return fail (error);
  plog_logger_limit (logger, max_size_mib * 1024 * 1024);
  g_signal_connect (logger, "compacted", G_CALLBACK (on_compacted), &demo);
  if (!plog_logger_record (logger, &error))
    return fail (error);

  expected = g_hash_table_new_full (g_bytes_hash, g_bytes_equal,
                                    (GDestroyNotify) g_bytes_unref, (GDestroyNotify) g_bytes_unref);
  start = g_get_monotonic_time ();
  for (gint64 i = 0; i < n_ops; i++)
    {
      char key[17], value[101];
      g_autoptr(GBytes) kb = NULL;
      g_autoptr(GBytes) vb = NULL;
      g_autoptr(PlogOp) op = NULL;

      g_snprintf (key, sizeof key, "key-%012" G_GINT64_FORMAT, (i * 7919) % n_keys);
      g_snprintf (value, sizeof value, "value %" G_GINT64_FORMAT " %-80s", i, "of the libplog demo");
      kb = g_bytes_new (key, 16);
      vb = g_bytes_new (value, 100);
      op = plog_op_new_put (kb, vb, g_get_real_time ());
      if (!plog_logger_dump (logger, op, &error))
        return fail (error);
      g_hash_table_replace (expected, g_bytes_ref (kb), g_bytes_ref (vb));
      if ((i & 0xffff) == 0)
        while (g_main_context_iteration (NULL, FALSE))
          ;
    }
  elapsed = g_get_monotonic_time () - start;
  g_print ("dumped   %" G_GINT64_FORMAT " puts over %" G_GINT64_FORMAT " keys in %.3f s: %.0f ops/s\n",
           n_ops, n_keys, elapsed / 1e6, n_ops / (elapsed / 1e6));

  start = g_get_monotonic_time ();
  if (!plog_logger_stop (logger, &error))
    return fail (error);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_print ("stopped  in %.3f s (every op written and synced, compactions finished)\n",
           (g_get_monotonic_time () - start) / 1e6);
  bytes = directory_size (dir, &n_files);
  g_print ("compacted %u times in the background (max-size %" G_GINT64_FORMAT " MiB)\n",
           demo.compactions, max_size_mib);
  g_print ("on disk  %.1f MiB in %u files, for %.1f MiB of dumped records\n\n",
           bytes / 1048576.0, n_files, n_ops * 135 / 1048576.0);
  g_clear_object (&logger);

  /* 2. Replay into a fresh state, as a program does at start. */
  logger = plog_logger_new (dir, &error);
  if (logger == NULL)
    return fail (error);
  demo.state = g_hash_table_new_full (g_bytes_hash, g_bytes_equal,
                                      (GDestroyNotify) g_bytes_unref, (GDestroyNotify) g_bytes_unref);
  start = g_get_monotonic_time ();
  if (!plog_logger_play (logger, on_op, &demo, NULL, &error))
    return fail (error);
  elapsed = g_get_monotonic_time () - start;
  g_print ("replayed %" G_GUINT64_FORMAT " ops in %.3f s: %.0f ops/s (into a GHashTable of the state)\n",
           demo.replayed, elapsed / 1e6, demo.replayed / (elapsed / 1e6));

  g_hash_table_iter_init (&iter, expected);
  while (g_hash_table_iter_next (&iter, &k, &v))
    {
      GBytes *got = g_hash_table_lookup (demo.state, k);

      if (got == NULL || !g_bytes_equal (got, v))
        mismatches++;
    }
  g_print ("rebuilt  %u keys; %u differ from what was dumped\n",
           g_hash_table_size (demo.state), mismatches + (guint) ABS ((gint64) g_hash_table_size (demo.state) - (gint64) g_hash_table_size (expected)));
  g_hash_table_unref (demo.state);
  g_clear_object (&logger);

  if (temporary)
    remove_tree (dir);
  g_free (directory);
  return mismatches == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
