/* plog-directory-private.h: the files of a logger directory
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gio/gio.h>

#include "plog-segment-private.h"

G_BEGIN_DECLS

typedef struct
{
  guint64          seq;
  PlogSegmentKind  kind;
} PlogFileEntry;

typedef struct _PlogDirectory PlogDirectory;

/* Creates @path if needed (0700), takes its LOCK, removes temporary
 * leftovers and files covered by the newest snapshot. */
PlogDirectory *plog_directory_open            (const char      *path,
                                               GError         **error);
PlogDirectory *plog_directory_ref             (PlogDirectory   *dir);
void           plog_directory_unref           (PlogDirectory   *dir);
const char    *plog_directory_get_path        (PlogDirectory   *dir);
char          *plog_directory_file_path       (PlogDirectory   *dir,
                                               guint64          seq,
                                               PlogSegmentKind  kind);
/* Reserves @n consecutive sequence numbers; returns the first. */
guint64        plog_directory_alloc_seq       (PlogDirectory   *dir,
                                               guint            n);
/* The replay set: the newest snapshot with a sequence number below
 * @below, then every log above it and below @below, in order. */
GArray        *plog_directory_replay_set      (PlogDirectory   *dir,
                                               guint64          below,
                                               GError         **error);
/* fsync()s the directory, so that created, renamed and removed names
 * are durable. */
gboolean       plog_directory_sync            (PlogDirectory   *dir,
                                               GError         **error);
/* Writes @data as the snapshot @seq: a temporary file, synced, renamed
 * into place, and the directory synced. */
typedef gboolean (*PlogSnapshotWriteFunc) (int          fd,
                                           const char  *path,
                                           gpointer     user_data,
                                           GError     **error);
gboolean       plog_directory_install_snapshot (PlogDirectory         *dir,
                                                guint64                seq,
                                                PlogSnapshotWriteFunc  write_func,
                                                gpointer               user_data,
                                                GError               **error);
/* Removes the logs and snapshots below @seq. */
gboolean       plog_directory_remove_below    (PlogDirectory   *dir,
                                               guint64          seq,
                                               GError         **error);
/* Gives back the disk blocks that logs hold past their end: those a
 * crash left reserved. Best effort; called with no log being written. */
void           plog_directory_release_reserved (PlogDirectory  *dir);
/* Lets another logger open the directory, before the last reference
 * goes: for a disposed logger. */
void           plog_directory_release_lock    (PlogDirectory   *dir);
/* Held while listing and opening a replay set, and while removing
 * files, so that a cursor never opens a removed file. */
void           plog_directory_lock_files      (PlogDirectory   *dir);
void           plog_directory_unlock_files    (PlogDirectory   *dir);
/* Held by whoever changes which files make up the replay set (a
 * compaction, a clear, the repair of a torn tail), one at a time. Taken
 * before the files lock. */
void           plog_directory_lock_changes    (PlogDirectory   *dir);
void           plog_directory_unlock_changes  (PlogDirectory   *dir);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PlogDirectory, plog_directory_unref)

G_END_DECLS
