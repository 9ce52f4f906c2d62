#!/usr/bin/python3
# make-corpus.py: writes the seed inputs of the fuzz targets
#
# The seeds of fuzz-directory are directories that libplog itself wrote,
# packed as that target reads them, as they are and with the damage the
# issue names (a torn tail, a zero tail, a flipped bit in a log and in a
# snapshot). Those of fuzz-merge are random programs. The files are
# committed; run this again only to change them:
#
#   GI_TYPELIB_PATH=_build/libplog LD_LIBRARY_PATH=_build/libplog \
#     PYTHONPATH=introspection /usr/bin/python3 tests/fuzz/make-corpus.py
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import random
import struct
import sys
import tempfile

import gi
gi.require_version('GLib', '2.0')
gi.require_version('Plog', '1.0')
from gi.repository import GLib, Plog  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def some_ops(n):
    ops = [Plog.Op.new_configure(None, {'mode': 'fast'}, 1),
           Plog.Op.new_configure(b'k1', {'unit': 'ms'}, 2)]
    for i in range(n):
        ops += [Plog.Op.new_put(b'k%d' % (i % 3), b'value %d' % i, 10 + i),
                Plog.Op.new_sub_put(b'k1', b's%d' % i, b'sub %d' % i, 20 + i)]
    ops += [Plog.Op.new_delete(b'k2'), Plog.Op.new_sub_delete(b'k1', b's0'),
            Plog.Op.new_clear(b'k0', 30), Plog.Op.new_put(b'k0', None, 31)]
    return ops


def compact(logger):
    loop = GLib.MainLoop()
    done = []

    def finished(source, result):
        done.append(logger.compact_finish(result))
        loop.quit()
    logger.compact_async(None, finished)
    loop.run()
    assert done == [True]


def session(logger, ops):
    logger.record()
    for op in ops:
        logger.dump(op)
    logger.stop()


def read_files(directory):
    """The data files of @directory, in sequence order: (is a snapshot,
    contents)."""
    names = sorted(n for n in os.listdir(directory)
                   if n.endswith('.log') or n.endswith('.snap'))
    files = []
    for name in names:
        with open(os.path.join(directory, name), 'rb') as f:
            files.append((name.endswith('.snap'), f.read()))
    return files


def pack(files):
    """@files as fuzz-directory reads them: for each, a kind byte (1: a
    snapshot, 0: a log), a u32 length and the bytes."""
    return b''.join(struct.pack('<BI', int(snap), len(data)) + data
                    for snap, data in files)


def flip(data, at):
    return data[:at] + bytes([data[at] ^ 0x10]) + data[at + 1:]


def directories():
    with tempfile.TemporaryDirectory() as tmp:
        one = os.path.join(tmp, 'one')
        with Plog.Logger(one) as logger:
            session(logger, some_ops(3))
        files = read_files(one)
        yield 'one-log', files
        (snap, log), = files
        yield 'torn-tail', [(snap, log[:-5])]
        yield 'zero-tail', [(snap, log + bytes(100))]
        yield 'damage-then-good', [(snap, flip(log, 40))]
        yield 'header-only', [(snap, log[:16])]

        two = os.path.join(tmp, 'two')
        with Plog.Logger(two) as logger:
            session(logger, some_ops(2))
            session(logger, some_ops(2))
        files = read_files(two)
        yield 'two-logs', files
        yield 'damaged-older-log', [(files[0][0], flip(files[0][1], len(files[0][1]) // 2)),
                                    files[1]]

        snap = os.path.join(tmp, 'snap')
        with Plog.Logger(snap) as logger:
            session(logger, some_ops(4))
            compact(logger)
            session(logger, some_ops(1))
        files = read_files(snap)
        assert files[0][0], files
        yield 'snapshot-and-log', files
        yield 'damaged-snapshot', [(True, flip(files[0][1], len(files[0][1]) // 2))] + files[1:]
        yield 'snapshot-cut', [(True, files[0][1][:-16])] + files[1:]


def main():
    out = os.path.join(HERE, 'corpus', 'fuzz-directory')
    os.makedirs(out, exist_ok=True)
    for name, files in directories():
        with open(os.path.join(out, name), 'wb') as f:
            f.write(pack(files))

    out = os.path.join(HERE, 'corpus', 'fuzz-merge')
    os.makedirs(out, exist_ok=True)
    rng = random.Random(1)
    for i in range(8):
        with open(os.path.join(out, 'random-%d' % i), 'wb') as f:
            f.write(bytes(rng.randrange(256) for _ in range(64 << (i % 4))))
    return 0


if __name__ == '__main__':
    sys.exit(main())
