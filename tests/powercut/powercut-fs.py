#!/usr/bin/python3
# powercut-fs.py: a file system in memory that can lose power
#
#   powercut-fs.py MOUNTPOINT SEED
#
# A FUSE file system that keeps, beside what programs see, what a disk
# would hold if the power went now, after the rules that libplog relies
# on (docs/design.md, "Durability"; docs/format.md, "How files are
# written"):
#
# - A file's data reaches the disk when the file is synced (fsync or
#   fdatasync). Until then, of the bytes appended since the last sync, a
#   power cut keeps only some first part, possibly followed by zeros (a
#   file system can leave a file longer than the data that reached it):
#   never a later byte without the earlier ones. Disks write whole
#   sectors, so that part ends where the synced data did, at the end of a
#   512-byte sector, or where the data ends. A file that shrank or was
#   rewritten since its sync comes back as it was synced.
# - Creating, renaming and removing names are kept in order in a
#   journal. A sync of a directory writes the changes of its own names
#   (as POSIX asks; ext4 would write every directory's), and a power cut
#   keeps some first part of the others, in order.
#
# Writing "now" to the file "/.powercut" cuts the power: every file and
# directory becomes what the disk holds, chosen at random (from SEED)
# within those rules, and is then durable. Only processes that hold no
# file open should see that: the test kills them first.
#
# Writing "OPERATION N" (OPERATION: fsync, fsyncdir, rename, unlink or
# create) makes the power go at the Nth such call from now, before it
# takes effect: the calling process is killed (SIGKILL) and the power
# cut, which puts a crash exactly where a program relies on an order.
# Until the next "now", every change fails, so that no thread of the
# dying process writes after the power went.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import errno
import os
import random
import stat
import sys
import time

import signal

from fusepy import FUSE, FuseOSError, Operations, fuse_get_context

CONTROL = '/.powercut'
SECTOR = 512


class Inode:
    def __init__(self, is_dir, mode):
        self.is_dir = is_dir
        self.mode = mode
        self.mtime = time.time()
        if is_dir:
            self.entries = {}          # name -> Inode, as programs see them
        else:
            self.data = bytearray()    # as programs see it
            self.synced = b''          # as the last sync left it on disk


class PowercutFS(Operations):
    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.root = Inode(True, stat.S_IFDIR | 0o755)
        # The names on disk: for each directory, its entries at the last
        # commit, and the changes since, in order.
        self.disk_entries = {self.root: {}}
        self.journal = []
        self.handles = {}
        self.next_fh = 1
        self.armed = None      # (operation, calls left) or None
        self.frozen = False    # the power went at a crash point

    # -- names ------------------------------------------------------

    def _lookup(self, path):
        node = self.root
        for part in [p for p in path.split('/') if p]:
            if not node.is_dir or part not in node.entries:
                raise FuseOSError(errno.ENOENT)
            node = node.entries[part]
        return node

    def _parent(self, path):
        head, name = os.path.split(path.rstrip('/'))
        parent = self._lookup(head)
        if not parent.is_dir:
            raise FuseOSError(errno.ENOTDIR)
        return parent, name

    def _link(self, path, node):
        parent, name = self._parent(path)
        if name in parent.entries:
            raise FuseOSError(errno.EEXIST)
        parent.entries[name] = node
        parent.mtime = time.time()
        self.journal.append(('link', parent, name, node))
        if node.is_dir:
            self.disk_entries.setdefault(node, {})

    def _commit(self, directory):
        """A sync of @directory: the changes of its names are on disk."""
        rest = []
        for change in self.journal:
            if directory in (change[1], change[-2] if change[0] == 'rename' else None):
                self._apply(self.disk_entries, change)
            else:
                rest.append(change)
        self.journal = rest

    @staticmethod
    def _apply(entries, change):
        if change[0] == 'link':
            _, parent, name, node = change
            entries.setdefault(parent, {})[name] = node
            if node.is_dir:
                entries.setdefault(node, {})
        elif change[0] == 'unlink':
            _, parent, name = change
            entries.setdefault(parent, {}).pop(name, None)
        else:
            _, src, sname, dst, dname = change
            node = entries.setdefault(src, {}).pop(sname, None)
            if node is not None:
                entries.setdefault(dst, {})[dname] = node

    def _crash_point(self, operation):
        """Cuts the power instead of @operation if it is the armed call."""
        if self.frozen:
            raise FuseOSError(errno.EIO)
        if self.armed is None or self.armed[0] != operation:
            return
        # Only a call of the program under test counts: not one the
        # kernel makes on nobody's behalf (pid 0), nor the test's own.
        pid = fuse_get_context()[2]
        if pid <= 1 or pid in (os.getpid(), os.getppid()):
            return
        left = self.armed[1] - 1
        if left > 0:
            self.armed = (operation, left)
            return
        self.armed = None
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self._cut_power()
        self.frozen = True
        raise FuseOSError(errno.EIO)

    def _cut_power(self):
        self.armed = None
        # The names: what the last commit left, and a first part of what
        # came after.
        entries = {d: dict(e) for d, e in self.disk_entries.items()}
        for change in self.journal[:self.rng.randint(0, len(self.journal))]:
            self._apply(entries, change)
        # The data of every file still named: what its last sync left,
        # and a first part of what was appended after it.
        seen = set()
        for directory, names in entries.items():
            directory.entries = dict(names)
            for node in names.values():
                if node.is_dir or node in seen:
                    continue
                seen.add(node)
                data = bytes(node.data)
                kept = node.synced
                if len(data) > len(kept) and data.startswith(kept):
                    # where the disk's data may end: the synced end, a
                    # sector's end past it, the end
                    ends = [len(kept)] + list(range(
                        (len(kept) // SECTOR + 1) * SECTOR, len(data), SECTOR)) + [len(data)]
                    cut = self.rng.choice(ends)
                    size = cut
                    if self.rng.random() < 0.3:
                        size = self.rng.choice([e for e in ends if e >= cut])
                    kept = data[:cut] + bytes(size - cut)
                node.data = bytearray(kept)
                node.synced = kept
        self.disk_entries = entries
        self.journal = []
        self.handles = {}

    # -- FUSE operations ------------------------------------------------

    def getattr(self, path, fh=None):
        if path == CONTROL:
            return dict(st_mode=stat.S_IFREG | 0o600, st_nlink=1, st_size=0)
        node = self._lookup(path)
        size = 4096 if node.is_dir else len(node.data)
        return dict(st_mode=node.mode, st_nlink=2 if node.is_dir else 1,
                    st_size=size, st_blocks=(size + 511) // 512,
                    st_uid=os.getuid(), st_gid=os.getgid(),
                    st_atime=node.mtime, st_mtime=node.mtime,
                    st_ctime=node.mtime)

    def readdir(self, path, fh):
        node = self._lookup(path)
        names = ['.', '..'] + list(node.entries)
        if path == '/':
            names.append(CONTROL[1:])
        return names

    def mkdir(self, path, mode):
        self._crash_point('mkdir')
        self._link(path, Inode(True, stat.S_IFDIR | (mode & 0o7777)))

    def rmdir(self, path):
        node = self._lookup(path)
        if node.entries:
            raise FuseOSError(errno.ENOTEMPTY)
        self.unlink(path)

    def create(self, path, mode, fi=None):
        self._crash_point('create')
        node = Inode(False, stat.S_IFREG | (mode & 0o7777))
        self._link(path, node)
        return self._new_handle(node)

    def _new_handle(self, node):
        fh = self.next_fh
        self.next_fh += 1
        self.handles[fh] = node
        return fh

    def open(self, path, flags):
        if path == CONTROL:
            return 0
        return self._new_handle(self._lookup(path))

    def opendir(self, path):
        self._lookup(path)
        return 0

    def release(self, path, fh):
        self.handles.pop(fh, None)

    def _node(self, path, fh):
        return self.handles.get(fh) or self._lookup(path)

    def read(self, path, size, offset, fh):
        node = self._node(path, fh)
        return bytes(node.data[offset:offset + size])

    def write(self, path, data, offset, fh):
        if path == CONTROL:
            words = data.decode().split()
            if words == ['now']:
                self._cut_power()
                self.frozen = False
            elif len(words) == 2 and words[0] in ('fsync', 'fsyncdir', 'rename',
                                                  'unlink', 'create'):
                self.armed = (words[0], int(words[1]))
            else:
                raise FuseOSError(errno.EINVAL)
            return len(data)
        self._crash_point('write')
        node = self._node(path, fh)
        if offset > len(node.data):
            node.data.extend(bytes(offset - len(node.data)))
        node.data[offset:offset + len(data)] = data
        node.mtime = time.time()
        return len(data)

    def truncate(self, path, length, fh=None):
        if path == CONTROL:
            return
        self._crash_point('truncate')
        node = self._node(path, fh)
        if length < len(node.data):
            del node.data[length:]
        else:
            node.data.extend(bytes(length - len(node.data)))

    def unlink(self, path):
        self._crash_point('unlink')
        parent, name = self._parent(path)
        if name not in parent.entries:
            raise FuseOSError(errno.ENOENT)
        del parent.entries[name]
        self.journal.append(('unlink', parent, name))

    def rename(self, old, new):
        self._crash_point('rename')
        src, sname = self._parent(old)
        dst, dname = self._parent(new)
        if sname not in src.entries:
            raise FuseOSError(errno.ENOENT)
        dst.entries[dname] = src.entries.pop(sname)
        self.journal.append(('rename', src, sname, dst, dname))

    def fsync(self, path, datasync, fh):
        self._crash_point('fsync')
        node = self._node(path, fh)
        node.synced = bytes(node.data)

    def fsyncdir(self, path, datasync, fh):
        self._crash_point('fsyncdir')
        self._commit(self._lookup(path))

    def flush(self, path, fh):
        return 0

    def chmod(self, path, mode):
        node = self._lookup(path)
        node.mode = (node.mode & ~0o7777) | (mode & 0o7777)

    def chown(self, path, uid, gid):
        pass

    def utimens(self, path, times=None):
        pass

    def access(self, path, amode):
        return 0

    def statfs(self, path):
        return dict(f_bsize=4096, f_frsize=4096, f_blocks=1 << 20,
                    f_bfree=1 << 19, f_bavail=1 << 19, f_files=1 << 16,
                    f_ffree=1 << 15, f_namemax=255)


def main():
    mountpoint, seed = sys.argv[1], int(sys.argv[2])
    # No caching of names or sizes in the kernel: a power cut changes
    # them behind its back. (File data is read anew at each open.)
    # A removed file that is still open is removed at once, not renamed
    # to a hidden name until it is closed (libfuse's default), which
    # would make a rename of every removal.
    FUSE(PowercutFS(seed), mountpoint, foreground=True, nothreads=True,
         entry_timeout=0, attr_timeout=0, negative_timeout=0,
         hard_remove=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
