/* plog-segment.c: one file: header, appends, sequential reads
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plog-crc32c-private.h"
#include "plog-error.h"
#include "plog-segment-private.h"

#define READ_CHUNK (1024 * 1024)

/* A file's data is cut short only while no reader has it mapped: a
 * mapping touched past the end of its file raises SIGBUS. Readers map
 * only to search for a good record after damage, and data is cut only
 * by plog_segment_truncate(): record()'s torn-tail repair, and the
 * writer taking back a failed write (never below what a cursor pinned).
 * So neither is ever contended for long, and one lock per process
 * will do. */
static GRWLock map_lock;

static const guint8 segment_magic[4] = { 'P', 'L', 'O', 'G' };

gboolean
plog_set_io_error (GError    **error,
                   int         saved_errno,
                   const char *what,
                   const char *path)
{
  g_autofree char *display = g_filename_display_name (path);

  g_set_error (error, PLOG_ERROR, PLOG_ERROR_IO, "Failed to %s “%s”: %s",
               what, display, g_strerror (saved_errno));
  return FALSE;
}

void
plog_segment_header_encode (guint8          *buf,
                            PlogSegmentKind  kind,
                            guint64          seq)
{
  guint64 le = GUINT64_TO_LE (seq);

  memcpy (buf, segment_magic, 4);
  buf[4] = PLOG_SEGMENT_VERSION;
  buf[5] = (guint8) kind;
  buf[6] = buf[7] = 0;
  memcpy (buf + 8, &le, 8);
}

/* Whether @buf is the header of a file of @kind numbered @seq, in
 * version 1 or the current one. */
static gboolean
header_is_valid (const guint8    *buf,
                 PlogSegmentKind  kind,
                 guint64          seq)
{
  guint8 expected[PLOG_SEGMENT_HEADER_SIZE];

  plog_segment_header_encode (expected, kind, seq);
  if (buf[4] == 1)
    expected[4] = 1;
  return memcmp (buf, expected, PLOG_SEGMENT_HEADER_SIZE) == 0;
}

static void
end_record_encode (guint8 *buf,
                   gint64  offset)
{
  guint64 le = GUINT64_TO_LE ((guint64) offset);
  guint32 crc;

  memset (buf, 0, 4);
  memcpy (buf + 8, &le, 8);
  crc = GUINT32_TO_LE (plog_crc32c (0, buf + 8, 8));
  memcpy (buf + 4, &crc, 4);
}

gboolean
plog_segment_write_end (int          fd,
                        const char  *path,
                        GError     **error)
{
  guint8 end[PLOG_SEGMENT_END_SIZE];
  struct stat st;

  if (fstat (fd, &st) != 0)
    return plog_set_io_error (error, errno, "stat", path);
  end_record_encode (end, st.st_size);
  return plog_segment_write_all (fd, path, end, sizeof end, error);
}

int
plog_segment_open (const char  *path,
                   int          flags,
                   GError     **error)
{
  struct stat st;
  int fd;

  /* Without blocking, and only a regular file: a FIFO that someone named
   * like a log must fail, not hang the open or the first read. */
  do
    fd = open (path, flags | O_CLOEXEC | O_NONBLOCK, 0600);
  while (fd < 0 && errno == EINTR);
  /* A lease (an NFS delegation, say) refuses a non-blocking open: wait
   * for it to be broken, as a plain open does. */
  while (fd < 0 && (errno == EAGAIN || errno == EINTR))
    fd = open (path, flags | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      plog_set_io_error (error, errno, "open", path);
      return -1;
    }
  if (fstat (fd, &st) != 0 || fcntl (fd, F_SETFL, fcntl (fd, F_GETFL) & ~O_NONBLOCK) != 0)
    {
      int saved_errno = errno;

      close (fd);
      plog_set_io_error (error, saved_errno, "open", path);
      return -1;
    }
  if (!S_ISREG (st.st_mode))
    {
      g_autofree char *display = g_filename_display_name (path);

      close (fd);
      g_set_error (error, PLOG_ERROR, PLOG_ERROR_IO,
                   "Failed to open “%s”: not a regular file", display);
      return -1;
    }
  return fd;
}

gboolean
plog_segment_write_all (int          fd,
                        const char  *path,
                        const void  *data,
                        gsize        len,
                        GError     **error)
{
  const guint8 *p = data;

  while (len > 0)
    {
      gssize n = write (fd, p, len);

      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          return plog_set_io_error (error, errno, "write", path);
        }
      p += n;
      len -= n;
    }
  return TRUE;
}

gboolean
plog_segment_sync (int          fd,
                   const char  *path,
                   GError     **error)
{
#ifdef HAVE_FDATASYNC
  while (fdatasync (fd) != 0)
#else
  while (fsync (fd) != 0)
#endif
    {
      int saved_errno = errno;

      if (saved_errno == EINTR)
        continue;
      return plog_set_io_error (error, saved_errno, "sync", path);
    }
  return TRUE;
}

gboolean
plog_segment_truncate (int          fd,
                       const char  *path,
                       gint64       size,
                       GError     **error)
{
  g_rw_lock_writer_lock (&map_lock);
  while (ftruncate (fd, size) != 0)
    {
      int saved_errno = errno;

      if (saved_errno == EINTR)
        continue;
      g_rw_lock_writer_unlock (&map_lock);
      return plog_set_io_error (error, saved_errno, "truncate", path);
    }
  g_rw_lock_writer_unlock (&map_lock);
  return TRUE;
}

gboolean
plog_segment_close (int          fd,
                    const char  *path,
                    GError     **error)
{
  /* close() must not be retried on EINTR on Linux: the fd is gone. */
  if (close (fd) != 0 && errno != EINTR)
    return plog_set_io_error (error, errno, "close", path);
  return TRUE;
}

int
plog_segment_reserve (int    fd,
                      gint64 size,
                      gint64 offset,
                      gint64 len)
{
#ifdef HAVE_FALLOCATE
  struct rlimit limit;
  int saved_errno;

  /* Some file systems (tmpfs) check RLIMIT_FSIZE even for blocks past
   * the end, and raise SIGXFSZ: reserve no further than a write may go. */
  if (getrlimit (RLIMIT_FSIZE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY &&
      (guint64) (offset + len) > (guint64) limit.rlim_cur)
    len = (gint64) limit.rlim_cur - offset;
  if (len <= 0)
    return EFBIG;
  while (fallocate (fd, FALLOC_FL_KEEP_SIZE, offset, len) != 0)
    {
      saved_errno = errno;
      if (saved_errno == EINTR)
        continue;
      if (saved_errno == EOPNOTSUPP || saved_errno == ENOSYS)
        return ENOTSUP;
      /* A failure (a disk that is nearly full) may leave part of the range
       * reserved: give it back, or it would take what a snapshot needs. */
      while (ftruncate (fd, size) != 0 && errno == EINTR)
        ;
      return saved_errno;
    }
  return 0;
#else
  return ENOTSUP;
#endif
}

gboolean
plog_segment_has_reserved (const struct stat *st)
{
  gint64 block = st->st_blksize > 0 ? st->st_blksize : 4096;
  gint64 used = (st->st_size + block - 1) / block * block;

  return (gint64) st->st_blocks * 512 > used;
}

void
plog_segment_release (int fd)
{
  struct stat st;

  /* Truncating to the size frees the blocks reserved beyond it (on ext4,
   * XFS and btrfs; POSIX leaves it open), and changes no byte. Only
   * when there are such blocks, since it also dirties the inode. */
  if (fstat (fd, &st) != 0 || !plog_segment_has_reserved (&st))
    return;
  while (ftruncate (fd, st.st_size) != 0 && errno == EINTR)
    ;
}

int
plog_segment_create (const char       *path,
                     PlogSegmentKind   kind,
                     guint64           seq,
                     GError          **error)
{
  guint8 header[PLOG_SEGMENT_HEADER_SIZE];
  int fd = plog_segment_open (path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND, error);

  if (fd < 0)
    return -1;
  plog_segment_header_encode (header, kind, seq);
  if (!plog_segment_write_all (fd, path, header, sizeof header, error))
    {
      close (fd);
      unlink (path);
      return -1;
    }
  return fd;
}

struct _PlogSegmentReader
{
  int              fd;
  char            *path;
  PlogSegmentKind  kind;
  guint64          seq;
  gint64           limit;       /* bytes of the file to read */
  gboolean         newest;

  guint8          *buf;
  gsize            buf_size;
  gsize            buf_start;   /* first unread byte in buf */
  gsize            buf_end;     /* end of the data in buf */
  gint64           buf_offset;  /* file offset of buf[0] */
  gint64           read_offset; /* file offset of the next read */

  gboolean         header_done;
  gboolean         needs_end;   /* a snapshot of version 2 or later */
  gboolean         done;
  gboolean         torn;
  gint64           end;         /* file offset after the last good record */
};

PlogSegmentReader *
plog_segment_reader_new (int              fd,
                         const char      *path,
                         PlogSegmentKind  kind,
                         guint64          seq,
                         gint64           limit,
                         gboolean         newest)
{
  PlogSegmentReader *reader = g_new0 (PlogSegmentReader, 1);

  reader->fd = fd;
  reader->path = g_strdup (path);
  reader->kind = kind;
  reader->seq = seq;
  reader->limit = limit;
  reader->newest = newest;
#ifdef HAVE_POSIX_FADVISE
  posix_fadvise (fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
  return reader;
}

void
plog_segment_reader_free (PlogSegmentReader *reader)
{
  if (reader == NULL)
    return;
  if (reader->fd >= 0)
    close (reader->fd);
  g_free (reader->path);
  g_free (reader->buf);
  g_free (reader);
}

const char *
plog_segment_reader_get_path (PlogSegmentReader *reader)
{
  return reader->path;
}

PlogSegmentKind
plog_segment_reader_get_kind (PlogSegmentReader *reader)
{
  return reader->kind;
}

PlogSegmentReader *
plog_segment_reader_reopen (PlogSegmentReader  *reader,
                            GError            **error)
{
  int fd;

  do
    fd = dup (reader->fd);
  while (fd < 0 && errno == EINTR);
  if (fd < 0)
    {
      plog_set_io_error (error, errno, "duplicate the descriptor of", reader->path);
      return NULL;
    }
  return plog_segment_reader_new (fd, reader->path, reader->kind, reader->seq,
                                  reader->limit, reader->newest);
}

gint64
plog_segment_reader_get_end (PlogSegmentReader *reader)
{
  return reader->end;
}

gboolean
plog_segment_reader_get_torn (PlogSegmentReader *reader)
{
  return reader->torn;
}

/* Makes at least @want unread bytes available in the buffer if the file
 * has them; returns how many there are (fewer at the end). */
static gssize
reader_fill (PlogSegmentReader  *reader,
             gsize               want,
             GError            **error)
{
  gsize avail = reader->buf_end - reader->buf_start;

  if (avail >= want)
    return avail;

  /* Move the unread bytes to the front, and grow for a large record. */
  if (reader->buf_start > 0)
    {
      memmove (reader->buf, reader->buf + reader->buf_start, avail);
      reader->buf_offset += reader->buf_start;
      reader->buf_start = 0;
      reader->buf_end = avail;
    }
  if (reader->buf == NULL || want > reader->buf_size)
    {
      /* Allocated on first use, so that a cursor over many files holds
       * one buffer at a time. */
      reader->buf_size = MAX (want, READ_CHUNK);
      reader->buf = g_realloc (reader->buf, reader->buf_size);
    }

  while (reader->buf_end < want)
    {
      gsize room = reader->buf_size - reader->buf_end;
      gssize n;

      if (reader->limit >= 0)
        room = MIN ((gint64) room, reader->limit - reader->read_offset);
      if (room == 0)
        break;
      n = pread (reader->fd, reader->buf + reader->buf_end, room, reader->read_offset);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          plog_set_io_error (error, errno, "read", reader->path);
          return -1;
        }
      if (n == 0)
        break;
      reader->buf_end += n;
      reader->read_offset += n;
    }
  return reader->buf_end - reader->buf_start;
}

/* Whether any good record starts after @offset in the file: what tells a
 * torn tail (nothing good after the damage) from corruption. Under
 * map_lock. */
static gboolean
good_record_after_locked (PlogSegmentReader  *reader,
                          gint64              offset,
                          GError            **error)
{
  struct stat st;
  const guint8 *map;
  gint64 size;
  gboolean found = FALSE;

  if (fstat (reader->fd, &st) != 0)
    return plog_set_io_error (error, errno, "stat", reader->path);
  size = reader->limit >= 0 ? MIN (reader->limit, st.st_size) : st.st_size;
  if (size <= offset + 1 + PLOG_RECORD_HEADER_SIZE)
    return FALSE;
  map = mmap (NULL, size, PROT_READ, MAP_PRIVATE, reader->fd, 0);
  if (map == MAP_FAILED)
    return plog_set_io_error (error, errno, "map", reader->path);
  for (gint64 i = offset + 1; i + PLOG_RECORD_HEADER_SIZE < size && !found; i++)
    {
      gsize record_size;

      found = plog_record_check (map + i, size - i, &record_size, NULL) == PLOG_RECORD_OK;
    }
  munmap ((void *) map, size);
  return found;
}

static gboolean
good_record_after (PlogSegmentReader  *reader,
                   gint64              offset,
                   GError            **error)
{
  gboolean found;

  /* Held from the size to the unmapping: a record() that cuts this
   * file's torn tail meanwhile (the caller's replay may run on a worker
   * thread) waits, and a later search sees the file's new size. */
  g_rw_lock_reader_lock (&map_lock);
  found = good_record_after_locked (reader, offset, error);
  g_rw_lock_reader_unlock (&map_lock);
  return found;
}

static gboolean
corrupt (PlogSegmentReader  *reader,
         gint64              offset,
         const char         *what,
         GError            **error)
{
  g_autofree char *display = g_filename_display_name (reader->path);

  reader->done = TRUE;
  g_set_error (error, PLOG_ERROR, PLOG_ERROR_CORRUPT,
               "Corrupt %s “%s” at byte offset %" G_GINT64_FORMAT ": %s",
               reader->kind == PLOG_SEGMENT_LOG ? "log" : "snapshot",
               display, offset, what);
  return FALSE;
}

/* Damage at @offset: the end of a torn tail, or corruption. */
static gboolean
damaged (PlogSegmentReader  *reader,
         gint64              offset,
         const char         *what,
         GError            **error)
{
  GError *local_error = NULL;

  if (reader->newest && !good_record_after (reader, offset, &local_error))
    {
      if (local_error != NULL)
        {
          reader->done = TRUE;
          g_propagate_error (error, local_error);
          return FALSE;
        }
      reader->done = TRUE;
      reader->torn = TRUE;
      reader->end = offset;
      return FALSE;
    }
  return corrupt (reader, offset, what, error);
}

/* The end record of a snapshot at @offset: it must be whole, name its
 * own offset, and end the file. */
static gboolean
end_record (PlogSegmentReader  *reader,
            gint64              offset,
            GError            **error)
{
  guint8 expected[PLOG_SEGMENT_END_SIZE];
  gssize avail;

  avail = reader_fill (reader, PLOG_SEGMENT_END_SIZE, error);
  if (avail < 0)
    return (reader->done = TRUE, FALSE);
  if (avail < PLOG_SEGMENT_END_SIZE)
    return corrupt (reader, offset, "truncated end record", error);
  end_record_encode (expected, offset);
  if (memcmp (reader->buf + reader->buf_start, expected, PLOG_SEGMENT_END_SIZE) != 0)
    return corrupt (reader, offset, "bad end record", error);
  avail = reader_fill (reader, PLOG_SEGMENT_END_SIZE + 1, error);
  if (avail < 0)
    return (reader->done = TRUE, FALSE);
  if (avail > PLOG_SEGMENT_END_SIZE)
    return corrupt (reader, offset + PLOG_SEGMENT_END_SIZE, "data after the end record", error);
  reader->done = TRUE;
  reader->end = offset + PLOG_SEGMENT_END_SIZE;
  return FALSE;
}

static gboolean
reader_next (PlogSegmentReader  *reader,
             PlogRecordView     *view,
             const guint8      **record,
             gsize              *record_size,
             GError            **error)
{
  gssize avail;
  gint64 offset;

  if (reader->done)
    return FALSE;

  if (!reader->header_done)
    {
      avail = reader_fill (reader, PLOG_SEGMENT_HEADER_SIZE, error);
      if (avail < 0)
        return (reader->done = TRUE, FALSE);
      /* A short or zeroed header is what a crash right after creating
       * the file leaves; a whole header of another version, kind or
       * number is never torn: it may be a newer libplog's. */
      if (avail < PLOG_SEGMENT_HEADER_SIZE)
        return damaged (reader, 0, "truncated header", error);
      if (!header_is_valid (reader->buf, reader->kind, reader->seq))
        {
          static const guint8 zeros[PLOG_SEGMENT_HEADER_SIZE] = { 0 };

          if (memcmp (reader->buf, zeros, PLOG_SEGMENT_HEADER_SIZE) == 0)
            return damaged (reader, 0, "zeroed header", error);
          if (memcmp (reader->buf, segment_magic, 4) == 0 &&
              (reader->buf[4] < 1 || reader->buf[4] > PLOG_SEGMENT_VERSION))
            {
              char what[64];

              g_snprintf (what, sizeof what, "unknown format version %u", reader->buf[4]);
              return corrupt (reader, 4, what, error);
            }
          return corrupt (reader, 0, "bad header", error);
        }
      reader->header_done = TRUE;
      reader->needs_end = reader->kind == PLOG_SEGMENT_SNAPSHOT && reader->buf[4] >= 2;
      reader->buf_start = PLOG_SEGMENT_HEADER_SIZE;
      reader->end = PLOG_SEGMENT_HEADER_SIZE;
    }

  offset = reader->buf_offset + reader->buf_start;
  avail = reader_fill (reader, PLOG_RECORD_HEADER_SIZE, error);
  if (avail < 0)
    return (reader->done = TRUE, FALSE);
  if (avail == 0)
    {
      if (reader->needs_end)
        return corrupt (reader, offset, "no end record, the snapshot is cut short", error);
      reader->done = TRUE;
      return FALSE;
    }

  for (;;)
    {
      const guint8 *p = reader->buf + reader->buf_start;

      switch (plog_record_check (p, avail, record_size, view))
        {
        case PLOG_RECORD_OK:
          *record = p;
          reader->buf_start += *record_size;
          reader->end = offset + *record_size;
          return TRUE;

        case PLOG_RECORD_SHORT:
          {
            gssize more = reader_fill (reader, *record_size, error);

            if (more < 0)
              return (reader->done = TRUE, FALSE);
            if (more == avail)
              return damaged (reader, offset, "truncated record", error);
            avail = more;
          }
          break;

        case PLOG_RECORD_BAD:
        default:
          if (reader->needs_end && memcmp (p, "\0\0\0\0", 4) == 0)
            return end_record (reader, offset, error);
          return damaged (reader, offset, "bad record", error);
        }
    }
}

gboolean
plog_segment_reader_next (PlogSegmentReader  *reader,
                          PlogRecordView     *view,
                          const guint8      **record,
                          gsize              *record_size,
                          GError            **error)
{
  if (reader_next (reader, view, record, record_size, error))
    return TRUE;
  /* At the end, the buffer goes: a cursor reads one file at a time. */
  reader->done = TRUE;
  g_clear_pointer (&reader->buf, g_free);
  reader->buf_start = reader->buf_end = 0;
  return FALSE;
}
