/* driver.c: runs a fuzz target over files, without a fuzzing engine
 *
 * Each argument is a file or a directory of files; each file is one
 * input. The test suite runs every target this way over its corpus, so
 * that the targets build and pass on every machine; a build with
 * -Dfuzzing=true links libFuzzer instead, which explores from the same
 * corpus.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "fuzz-common.h"
#include "plog-test-util.h"

static guint n_inputs;

static void
run_file (const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  gsize len = 0;

  if (!g_file_get_contents (path, &contents, &len, &error))
    g_error ("%s", error->message);
  LLVMFuzzerTestOneInput ((const unsigned char *) contents, len);
  n_inputs++;
}

static void
run_path (const char *path)
{
  g_autoptr(GPtrArray) names = NULL;
  g_autoptr(GDir) dir = NULL;
  const char *name;

  if (!g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      run_file (path);
      return;
    }
  dir = g_dir_open (path, 0, NULL);
  g_assert_nonnull (dir);
  names = g_ptr_array_new_with_free_func (g_free);
  while ((name = g_dir_read_name (dir)) != NULL)
    g_ptr_array_add (names, g_build_filename (path, name, NULL));
  g_ptr_array_sort (names, plog_test_compare_strings);
  for (guint i = 0; i < names->len; i++)
    run_path (names->pdata[i]);
}

int
main (int    argc,
      char **argv)
{
  if (argc < 2)
    {
      g_printerr ("Usage: %s FILE-OR-DIRECTORY…\n", argv[0]);
      return 2;
    }
  for (int i = 1; i < argc; i++)
    run_path (argv[i]);
  g_print ("%u inputs passed\n", n_inputs);
  return n_inputs > 0 ? 0 : 1;
}
