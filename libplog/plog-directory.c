/* plog-directory.c: the files of a logger directory
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "plog-directory-private.h"
#include "plog-error.h"

#define SEQ_DIGITS 20

struct _PlogDirectory
{
  gatomicrefcount  ref_count;
  char            *path;       /* (owned) */
  int              dir_fd;
  int              lock_fd;
  GMutex           files_lock;
  GMutex           changes_lock;
  GMutex           seq_lock;
  guint64          next_seq;   /* guarded by seq_lock */
};

/* Parses "<20 digits>.log" and "<20 digits>.snap". */
static gboolean
parse_name (const char      *name,
            PlogFileEntry   *entry)
{
  const char *suffix = name + SEQ_DIGITS;
  guint64 seq = 0;

  if (strlen (name) < SEQ_DIGITS + 4)
    return FALSE;
  for (guint i = 0; i < SEQ_DIGITS; i++)
    {
      if (!g_ascii_isdigit (name[i]))
        return FALSE;
      if (seq > (G_MAXUINT64 - 9) / 10)
        return FALSE;
      seq = seq * 10 + (name[i] - '0');
    }
  if (g_str_equal (suffix, ".log"))
    entry->kind = PLOG_SEGMENT_LOG;
  else if (g_str_equal (suffix, ".snap"))
    entry->kind = PLOG_SEGMENT_SNAPSHOT;
  else
    return FALSE;
  entry->seq = seq;
  return TRUE;
}

static int
compare_entries (gconstpointer a,
                 gconstpointer b)
{
  const PlogFileEntry *ea = a, *eb = b;

  if (ea->seq != eb->seq)
    return ea->seq < eb->seq ? -1 : 1;
  /* A snapshot and a log never share a number; order them anyway. */
  return (int) ea->kind - (int) eb->kind;
}

/* Every data file, sorted; with @tmp_names, the temporary ones too. */
static GArray *
list_files (PlogDirectory  *dir,
            GPtrArray      *tmp_names,
            GError        **error)
{
  g_autoptr(GArray) entries = g_array_new (FALSE, FALSE, sizeof (PlogFileEntry));
  g_autoptr(GDir) gdir = NULL;
  const char *name;
  GError *local_error = NULL;

  gdir = g_dir_open (dir->path, 0, &local_error);
  if (gdir == NULL)
    {
      g_autofree char *display = g_filename_display_name (dir->path);

      g_set_error (error, PLOG_ERROR, PLOG_ERROR_IO, "Failed to list “%s”: %s",
                   display, local_error->message);
      g_error_free (local_error);
      return NULL;
    }
  while ((name = g_dir_read_name (gdir)) != NULL)
    {
      PlogFileEntry entry;

      /* Every temporary file, ours or not: the directory is libplog's. */
      if (g_str_has_suffix (name, ".tmp"))
        {
          if (tmp_names != NULL)
            g_ptr_array_add (tmp_names, g_strdup (name));
          continue;
        }
      if (parse_name (name, &entry))
        g_array_append_val (entries, entry);
    }
  g_array_sort (entries, compare_entries);
  return g_steal_pointer (&entries);
}

/* Creates the directory @path (0700), and first any missing parent; each
 * new name is durable only once the directory holding it is synced, so
 * that is synced too (best effort: the files made in @path are synced
 * themselves, with @path). Returns 0, or the errno of the failure. */
static int
create_directory (const char *path)
{
  g_autofree char *parent = g_path_get_dirname (path);
  int fd;

  if (g_mkdir (path, 0700) != 0)
    {
      int saved_errno = errno;

      if (saved_errno == EEXIST)
        return 0;   /* made meanwhile, by someone else */
      if (saved_errno != ENOENT || g_str_equal (parent, path))
        return saved_errno;
      saved_errno = create_directory (parent);
      if (saved_errno != 0)
        return saved_errno;
      if (g_mkdir (path, 0700) != 0 && errno != EEXIST)
        return errno;
    }
  fd = open (parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0)
    {
      fsync (fd);
      close (fd);
    }
  return 0;
}

static gboolean
make_directory (const char  *path,
                GError     **error)
{
  struct stat st;
  int saved_errno;

  if (g_stat (path, &st) == 0)
    {
      if (!S_ISDIR (st.st_mode))
        {
          g_autofree char *display = g_filename_display_name (path);

          g_set_error (error, PLOG_ERROR, PLOG_ERROR_IO,
                       "Cannot use “%s” as a log directory: %s", display, g_strerror (ENOTDIR));
          return FALSE;
        }
      return TRUE;
    }
  saved_errno = create_directory (path);
  if (saved_errno != 0)
    return plog_set_io_error (error, saved_errno, "create directory", path);
  return TRUE;
}

static gboolean
take_lock (PlogDirectory  *dir,
           GError        **error)
{
  g_autofree char *lock_path = g_build_filename (dir->path, "LOCK", NULL);

  dir->lock_fd = open (lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (dir->lock_fd < 0)
    return plog_set_io_error (error, errno, "open", lock_path);
  while (flock (dir->lock_fd, LOCK_EX | LOCK_NB) != 0)
    {
      int saved_errno = errno;
      g_autofree char *display = NULL;

      if (saved_errno == EINTR)
        continue;
      if (saved_errno != EWOULDBLOCK)
        return plog_set_io_error (error, saved_errno, "lock", lock_path);
      display = g_filename_display_name (dir->path);
      g_set_error (error, PLOG_ERROR, PLOG_ERROR_LOCKED,
                   "Log directory “%s” is in use by another logger", display);
      return FALSE;
    }
  return TRUE;
}

/* Removes temporary leftovers, and the files that the newest snapshot
 * covers (a crash between installing a snapshot and tidying up). */
static gboolean
tidy (PlogDirectory  *dir,
      GError        **error)
{
  g_autoptr(GPtrArray) tmp_names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GArray) entries = list_files (dir, tmp_names, error);
  guint64 newest_snapshot = 0;

  if (entries == NULL)
    return FALSE;
  for (guint i = 0; i < tmp_names->len; i++)
    {
      const char *name = tmp_names->pdata[i];
      g_autofree char *path = g_build_filename (dir->path, name, NULL);
      g_autofree char *data_name = NULL;
      PlogFileEntry entry;
      struct stat st;
      int saved_errno;

      if (g_unlink (path) == 0 || errno == ENOENT)
        continue;
      saved_errno = errno;
      data_name = g_strndup (name, strlen (name) - strlen (".tmp"));
      /* A directory with such a name is not libplog's, and stays; unless
       * it takes the name of a temporary file libplog would create. */
      if (lstat (path, &st) == 0 && S_ISDIR (st.st_mode) && !parse_name (data_name, &entry))
        continue;
      return plog_set_io_error (error, saved_errno, "remove", path);
    }
  for (guint i = 0; i < entries->len; i++)
    {
      PlogFileEntry *e = &g_array_index (entries, PlogFileEntry, i);

      if (e->kind == PLOG_SEGMENT_SNAPSHOT)
        newest_snapshot = e->seq;
    }
  if (entries->len > 0)
    dir->next_seq = g_array_index (entries, PlogFileEntry, entries->len - 1).seq + 1;
  if (newest_snapshot > 0 && !plog_directory_remove_below (dir, newest_snapshot, error))
    return FALSE;
  if (tmp_names->len > 0 && !plog_directory_sync (dir, error))
    return FALSE;
  return TRUE;
}

PlogDirectory *
plog_directory_open (const char  *path,
                     GError     **error)
{
  g_autoptr(PlogDirectory) dir = g_new0 (PlogDirectory, 1);

  g_atomic_ref_count_init (&dir->ref_count);
  g_mutex_init (&dir->files_lock);
  g_mutex_init (&dir->changes_lock);
  g_mutex_init (&dir->seq_lock);
  dir->path = g_strdup (path);
  dir->dir_fd = -1;
  dir->lock_fd = -1;
  dir->next_seq = 1;

  if (!make_directory (path, error))
    return NULL;
  dir->dir_fd = open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir->dir_fd < 0)
    {
      plog_set_io_error (error, errno, "open directory", path);
      return NULL;
    }
  if (!take_lock (dir, error) || !tidy (dir, error))
    return NULL;
  return g_steal_pointer (&dir);
}

PlogDirectory *
plog_directory_ref (PlogDirectory *dir)
{
  g_atomic_ref_count_inc (&dir->ref_count);
  return dir;
}

void
plog_directory_unref (PlogDirectory *dir)
{
  if (!g_atomic_ref_count_dec (&dir->ref_count))
    return;
  if (dir->lock_fd >= 0)
    close (dir->lock_fd);   /* releases the flock */
  if (dir->dir_fd >= 0)
    close (dir->dir_fd);
  g_mutex_clear (&dir->files_lock);
  g_mutex_clear (&dir->changes_lock);
  g_mutex_clear (&dir->seq_lock);
  g_free (dir->path);
  g_free (dir);
}

const char *
plog_directory_get_path (PlogDirectory *dir)
{
  return dir->path;
}

char *
plog_directory_file_path (PlogDirectory   *dir,
                          guint64          seq,
                          PlogSegmentKind  kind)
{
  char name[SEQ_DIGITS + 16];

  g_snprintf (name, sizeof name, "%020" G_GUINT64_FORMAT "%s", seq,
              kind == PLOG_SEGMENT_LOG ? ".log" : ".snap");
  return g_build_filename (dir->path, name, NULL);
}

guint64
plog_directory_alloc_seq (PlogDirectory *dir,
                          guint          n)
{
  guint64 seq;

  g_mutex_lock (&dir->seq_lock);
  seq = dir->next_seq;
  dir->next_seq += n;
  g_mutex_unlock (&dir->seq_lock);
  return seq;
}

GArray *
plog_directory_replay_set (PlogDirectory  *dir,
                           guint64         below,
                           GError        **error)
{
  g_autoptr(GArray) entries = list_files (dir, NULL, error);
  GArray *set;
  guint start = 0;

  if (entries == NULL)
    return NULL;
  for (guint i = 0; i < entries->len; i++)
    {
      PlogFileEntry *e = &g_array_index (entries, PlogFileEntry, i);

      if (e->seq >= below)
        {
          g_array_set_size (entries, i);
          break;
        }
      if (e->kind == PLOG_SEGMENT_SNAPSHOT)
        start = i;
    }
  set = g_array_new (FALSE, FALSE, sizeof (PlogFileEntry));
  for (guint i = start; i < entries->len; i++)
    {
      PlogFileEntry *e = &g_array_index (entries, PlogFileEntry, i);

      if (i == start || e->kind == PLOG_SEGMENT_LOG)
        g_array_append_val (set, *e);
    }
  return set;
}

gboolean
plog_directory_sync (PlogDirectory  *dir,
                     GError        **error)
{
  while (fsync (dir->dir_fd) != 0)
    {
      if (errno == EINTR)
        continue;
      return plog_set_io_error (error, errno, "sync directory", dir->path);
    }
  return TRUE;
}

gboolean
plog_directory_install_snapshot (PlogDirectory         *dir,
                                 guint64                seq,
                                 PlogSnapshotWriteFunc  write_func,
                                 gpointer               user_data,
                                 GError               **error)
{
  g_autofree char *path = plog_directory_file_path (dir, seq, PLOG_SEGMENT_SNAPSHOT);
  g_autofree char *tmp_path = g_strconcat (path, ".tmp", NULL);
  int fd;

  fd = plog_segment_create (tmp_path, PLOG_SEGMENT_SNAPSHOT, seq, error);
  if (fd < 0)
    return FALSE;
  if (!write_func (fd, tmp_path, user_data, error) ||
      !plog_segment_write_end (fd, tmp_path, error) ||
      !plog_segment_sync (fd, tmp_path, error))
    {
      close (fd);
      g_unlink (tmp_path);
      return FALSE;
    }
  if (!plog_segment_close (fd, tmp_path, error))
    {
      g_unlink (tmp_path);
      return FALSE;
    }
  if (g_rename (tmp_path, path) != 0)
    {
      plog_set_io_error (error, errno, "rename", tmp_path);
      g_unlink (tmp_path);
      return FALSE;
    }
  return plog_directory_sync (dir, error);
}

gboolean
plog_directory_remove_below (PlogDirectory  *dir,
                             guint64         seq,
                             GError        **error)
{
  g_autoptr(GArray) entries = list_files (dir, NULL, error);
  if (entries == NULL)
    return FALSE;
  for (guint i = 0; i < entries->len; i++)
    {
      PlogFileEntry *e = &g_array_index (entries, PlogFileEntry, i);
      g_autofree char *path = NULL;

      if (e->seq >= seq)
        break;
      path = plog_directory_file_path (dir, e->seq, e->kind);
      if (g_unlink (path) != 0 && errno != ENOENT)
        return plog_set_io_error (error, errno, "remove", path);
    }
  /* No sync: a removed file that comes back after a crash is still
   * covered, and removed at the next open. */
  return TRUE;
}

void
plog_directory_release_lock (PlogDirectory *dir)
{
  int fd = g_atomic_int_exchange (&dir->lock_fd, -1);

  if (fd >= 0)
    close (fd);   /* releases the flock */
}

void
plog_directory_release_reserved (PlogDirectory *dir)
{
  g_autoptr(GArray) entries = list_files (dir, NULL, NULL);

  for (guint i = 0; entries != NULL && i < entries->len; i++)
    {
      PlogFileEntry *e = &g_array_index (entries, PlogFileEntry, i);
      g_autofree char *path = NULL;
      struct stat st;
      int fd;

      if (e->kind != PLOG_SEGMENT_LOG)
        continue;
      path = plog_directory_file_path (dir, e->seq, e->kind);
      /* A log holds reserved blocks when it holds more than its size. */
      if (stat (path, &st) != 0 || !plog_segment_has_reserved (&st))
        continue;
      fd = plog_segment_open (path, O_WRONLY, NULL);
      if (fd < 0)
        continue;
      plog_segment_release (fd);
      close (fd);
    }
}

void
plog_directory_lock_files (PlogDirectory *dir)
{
  g_mutex_lock (&dir->files_lock);
}

void
plog_directory_unlock_files (PlogDirectory *dir)
{
  g_mutex_unlock (&dir->files_lock);
}

void
plog_directory_lock_changes (PlogDirectory *dir)
{
  g_mutex_lock (&dir->changes_lock);
}

void
plog_directory_unlock_changes (PlogDirectory *dir)
{
  g_mutex_unlock (&dir->changes_lock);
}
