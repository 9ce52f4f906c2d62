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

/* "The logger of “@directory” is @state", or without a directory (a
 * logger made without one) "The logger is @state". */
static gboolean
set_logger_error (GError     **error,
                  PlogError    code,
                  const char  *directory,
                  const char  *state)
{
  g_autofree char *display = NULL;

  if (directory == NULL)
    {
      g_set_error (error, PLOG_ERROR, code, "The logger is %s", state);
      return FALSE;
    }
  display = g_filename_display_name (directory);
  g_set_error (error, PLOG_ERROR, code, "The logger of “%s” is %s", display, state);
  return FALSE;
}

gboolean
plog_set_not_recording_error (GError     **error,
                              const char  *directory)
{
  return set_logger_error (error, PLOG_ERROR_NOT_RECORDING, directory, "not recording");
}

gboolean
plog_set_closed_error (GError     **error,
                       const char  *directory)
{
  return set_logger_error (error, PLOG_ERROR_FAILED, directory, "closed");
}
