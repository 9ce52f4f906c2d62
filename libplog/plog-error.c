/* plog-error.c: the PLOG_ERROR domain
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "plog-error-private.h"

/**
 * plog_error_quark:
 *
 * The quark of the `PLOG_ERROR` domain.
 *
 * Returns: the error domain quark
 *
 * Since: 1.0
 */
G_DEFINE_QUARK (plog-error-quark, plog_error)

gboolean
plog_set_not_recording_error (GError     **error,
                              const char  *directory)
{
  g_autofree char *display = NULL;

  /* A logger made without a directory has none to name. */
  if (directory == NULL)
    {
      g_set_error_literal (error, PLOG_ERROR, PLOG_ERROR_NOT_RECORDING,
                           "The logger is not recording: it has no directory");
      return FALSE;
    }
  display = g_filename_display_name (directory);
  g_set_error (error, PLOG_ERROR, PLOG_ERROR_NOT_RECORDING,
               "The logger of “%s” is not recording", display);
  return FALSE;
}

gboolean
plog_set_closed_error (GError     **error,
                       const char  *directory)
{
  g_autofree char *display = NULL;

  if (directory == NULL)
    {
      g_set_error_literal (error, PLOG_ERROR, PLOG_ERROR_FAILED,
                           "The logger is closed");
      return FALSE;
    }
  display = g_filename_display_name (directory);
  g_set_error (error, PLOG_ERROR, PLOG_ERROR_FAILED,
               "The logger of “%s” is closed", display);
  return FALSE;
}
