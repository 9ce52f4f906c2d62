/* plog-cursor.c: a pinned, pull-style replay
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>

#include "plog-cursor-private.h"
#include "plog-error.h"

/**
 * PlogCursor:
 *
 * A replay read one op at a time, from [method@Plog.Logger.open_cursor].
 *
 * A cursor pins the replay set of the moment it was opened: it keeps the
 * files open, so a compaction or a clear that runs meanwhile changes
 * nothing it returns, and ops dumped after it was opened are not part of
 * it. [method@Plog.Logger.play] and [method@Plog.Logger.play_async] are
 * built on it.
 *
 * A cursor may be used from any one thread at a time.
 *
 * Since: 1.0
 */

struct _PlogCursor
{
  GObject    parent_instance;
  GPtrArray *readers;   /* (owned) (element-type PlogSegmentReader) */
  guint      index;
  gboolean   done;
};

G_DEFINE_FINAL_TYPE (PlogCursor, plog_cursor, G_TYPE_OBJECT)

static void
plog_cursor_finalize (GObject *object)
{
  PlogCursor *self = PLOG_CURSOR (object);

  g_clear_pointer (&self->readers, g_ptr_array_unref);
  G_OBJECT_CLASS (plog_cursor_parent_class)->finalize (object);
}

static void
plog_cursor_class_init (PlogCursorClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = plog_cursor_finalize;
}

static void
plog_cursor_init (PlogCursor *self)
{
  self->readers = g_ptr_array_new_with_free_func ((GDestroyNotify) plog_segment_reader_free);
}

PlogCursor *
_plog_cursor_open (PlogDirectory  *dir,
                   PlogWriter     *writer,
                   guint64         below,
                   gboolean        newest_torn,
                   GError        **error)
{
  g_autoptr(PlogCursor) self = g_object_new (PLOG_TYPE_CURSOR, NULL);
  g_autoptr(GArray) set = NULL;
  gboolean is_open = FALSE;
  guint64 current_seq = 0;
  gint64 current_size = -1;

  plog_directory_lock_files (dir);
  if (writer != NULL && !plog_writer_pin (writer, &is_open, &current_seq, &current_size, error))
    {
      plog_directory_unlock_files (dir);
      return NULL;
    }
  if (is_open)
    below = MIN (below, current_seq + 1);
  set = plog_directory_replay_set (dir, below, error);
  if (set == NULL)
    {
      plog_directory_unlock_files (dir);
      return NULL;
    }
  for (guint i = 0; i < set->len; i++)
    {
      PlogFileEntry *e = &g_array_index (set, PlogFileEntry, i);
      g_autofree char *path = plog_directory_file_path (dir, e->seq, e->kind);
      gboolean last = i + 1 == set->len;
      gint64 limit = is_open && e->seq == current_seq ? current_size : -1;
      int fd;

      fd = plog_segment_open (path, O_RDONLY, error);
      if (fd < 0)
        {
          plog_directory_unlock_files (dir);
          return NULL;
        }
      g_ptr_array_add (self->readers,
                       plog_segment_reader_new (fd, path, e->kind, e->seq, limit,
                                                last && newest_torn && e->kind == PLOG_SEGMENT_LOG));
    }
  plog_directory_unlock_files (dir);
  return g_steal_pointer (&self);
}

gboolean
_plog_cursor_next_record (PlogCursor      *self,
                          PlogRecordView  *view,
                          const guint8   **record,
                          gsize           *record_size,
                          GCancellable    *cancellable,
                          GError         **error)
{
  while (!self->done && self->index < self->readers->len)
    {
      GError *local_error = NULL;

      if (plog_segment_reader_next (self->readers->pdata[self->index], view,
                                    record, record_size, &local_error))
        return TRUE;
      if (local_error != NULL)
        {
          self->done = TRUE;
          g_propagate_error (error, local_error);
          return FALSE;
        }
      if (self->index + 1 == self->readers->len)
        break;
      self->index++;
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        {
          self->done = TRUE;
          return FALSE;
        }
    }
  self->done = TRUE;
  return FALSE;
}

PlogSegmentReader *
_plog_cursor_take_base (PlogCursor *self)
{
  PlogSegmentReader *base;

  if (self->index != 0 || self->readers->len == 0 ||
      plog_segment_reader_get_kind (self->readers->pdata[0]) != PLOG_SEGMENT_SNAPSHOT)
    return NULL;
  base = g_ptr_array_steal_index (self->readers, 0);
  return base;
}

guint
_plog_cursor_get_n_files (PlogCursor *self)
{
  return self->readers->len;
}

gboolean
_plog_cursor_get_torn (PlogCursor  *self,
                       gint64      *end,
                       const char **path)
{
  PlogSegmentReader *last;

  *path = NULL;
  if (self->readers->len == 0)
    return FALSE;
  last = self->readers->pdata[self->readers->len - 1];
  *end = plog_segment_reader_get_end (last);
  *path = plog_segment_reader_get_path (last);
  return plog_segment_reader_get_torn (last);
}

/**
 * plog_cursor_next:
 * @self: a `PlogCursor`
 * @cancellable: (nullable): a `GCancellable`
 * @error: return location for an error
 *
 * Reads the next op of the replay. At the end it returns `NULL` without
 * setting @error; on damage it returns `NULL` with
 * [error@Plog.Error.CORRUPT], naming the file and the byte offset, after
 * every op before the damage was returned. It may also fail with
 * [error@Plog.Error.IO] when a file cannot be read, or with
 * `G_IO_ERROR_CANCELLED`. In every case the cursor is then finished and
 * returns `NULL` from then on.
 *
 * This does blocking I/O: call it from a worker thread when the replay is
 * large and a main loop must stay responsive.
 *
 * Returns: (transfer full) (nullable): the next op, or `NULL`
 *
 * Since: 1.0
 */
PlogOp *
plog_cursor_next (PlogCursor    *self,
                  GCancellable  *cancellable,
                  GError       **error)
{
  g_return_val_if_fail (PLOG_IS_CURSOR (self), NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    {
      self->done = TRUE;
      return NULL;
    }
  return _plog_cursor_next_op (self, cancellable, error);
}

PlogOp *
_plog_cursor_next_op (PlogCursor    *self,
                      GCancellable  *cancellable,
                      GError       **error)
{
  PlogRecordView view;
  const guint8 *record;
  gsize record_size;

  if (!_plog_cursor_next_record (self, &view, &record, &record_size, cancellable, error))
    return NULL;
  return plog_record_view_to_op (&view);
}
