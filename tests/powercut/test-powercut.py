#!/usr/bin/python3
# test-powercut.py: libplog's promises across power cuts
#
# The crash tests of test-durability kill the process, which leaves the
# kernel's page cache whole. This test cuts the power instead, on a file
# system in memory that keeps only what the sync rules put on disk
# (powercut-fs.py): a child process records ops, printing each one the
# library has acknowledged as durable; it is killed at a random moment,
# the power is cut, and a logger opened on what is left must
#
# - open and replay without an error (a torn tail is no error);
# - replay every acknowledged op: under ALWAYS, an op whose dump
#   returned; under PERIODIC and NONE, an op dumped before a flush that
#   returned;
# - replay, of each recording, a first part of what it dumped, in order
#   (only an end can go), and nothing that was never dumped;
# - record again.
#
# Small max-size values make compactions (snapshots written, renamed into
# place, old files removed) run while the power goes. Each round goes on
# in the directory that the one before left.
#
# Needs FUSE (root, or fusermount) and fusepy (Debian: python3-fusepy);
# skipped without them.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import random
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROUNDS = int(os.environ.get('PLOG_POWERCUT_ROUNDS', '60'))
SEED = int(os.environ.get('PLOG_POWERCUT_SEED', '1'))


def skip(why):
    print('1..0 # SKIP %s' % why)
    sys.exit(0)


try:
    import gi
    gi.require_version('Plog', '1.0')
    from gi.repository import GLib, Plog  # noqa: E402
except (ImportError, ValueError) as e:
    skip('PyGObject or the Plog typelib is missing: %s' % e)


def workload(directory, mode, max_size, first):
    """The child: records puts of keys first, first + 1, …, until it is
    killed. It prints "d I" before it dumps op I, and "a I" once op I and
    every one before it are acknowledged as durable."""
    logger = Plog.Logger(directory)
    logger.props.sync_mode = mode
    logger.limit(max_size)
    logger.record()
    print('recording', flush=True)
    i = first
    while True:
        print('d %d' % i, flush=True)
        logger.dump(Plog.Op.new_put(b'k%08d' % i, b'v%08d' % i, i))
        if mode == Plog.SyncMode.ALWAYS:
            print('a %d' % i, flush=True)
        elif i % 25 == 0:
            logger.flush()
            print('a %d' % i, flush=True)
        i += 1


def mounted(mountpoint):
    with open('/proc/self/mounts') as f:
        return any(line.split()[1] == mountpoint for line in f)


def replay(directory):
    """Every op in the directory, in order, and whether record works."""
    with Plog.Logger(directory) as logger:
        ops = list(logger.open_cursor())
        logger.record()
        logger.stop()
    return [(op.key, op.value, op.timestamp) for op in ops]


def check(ops, history, acknowledged):
    """@history: the recordings so far, each a range of the indices it
    dumped; @acknowledged: the indices acknowledged as durable."""
    seen = [op[2] for op in ops]
    for key, value, i in ops:
        assert key == b'k%08d' % i and value == b'v%08d' % i, (key, value, i)
    # Each recording kept a first part of what it dumped. (Each op puts
    # a key of its own; a snapshot holds them in no defined order.)
    assert len(set(seen)) == len(seen), 'an op replayed twice'
    position = 0
    for dumped in history:
        kept = sorted(i for i in seen if i in dumped)
        assert kept == list(dumped)[:len(kept)], \
            'recording %s: replayed %s…' % (dumped, kept[:10])
        position += len(kept)
    assert position == len(seen), 'ops never dumped: %s' % (
        set(seen) - set().union(*history))
    missing = acknowledged - set(seen)
    assert not missing, 'acknowledged ops lost: %s' % sorted(missing)[:10]


def main():
    if len(sys.argv) > 1 and sys.argv[1] == '--workload':
        workload(sys.argv[2], Plog.SyncMode(int(sys.argv[3])),
                 int(sys.argv[4]), int(sys.argv[5]))
        return 0

    try:
        import fusepy  # noqa: F401
    except ImportError:
        skip('fusepy is missing (Debian: python3-fusepy)')
    if not os.path.exists('/dev/fuse'):
        skip('no /dev/fuse')

    rng = random.Random(SEED)
    with tempfile.TemporaryDirectory(prefix='plog-powercut-') as tmp:
        mountpoint = os.path.join(tmp, 'mnt')
        os.mkdir(mountpoint)
        fs = subprocess.Popen([sys.executable, os.path.join(HERE, 'powercut-fs.py'),
                               mountpoint, str(SEED)])
        try:
            deadline = time.monotonic() + 30
            while not mounted(mountpoint):
                if fs.poll() is not None or time.monotonic() > deadline:
                    skip('cannot mount a FUSE file system here')
                time.sleep(0.05)
            run_rounds(rng, mountpoint)
        finally:
            subprocess.call(['umount', mountpoint])
            try:
                fs.wait(10)
            except subprocess.TimeoutExpired:
                fs.kill()
    return 0


def run_rounds(rng, mountpoint):
    directory = os.path.join(mountpoint, 'db')
    modes = [Plog.SyncMode.ALWAYS, Plog.SyncMode.PERIODIC, Plog.SyncMode.NONE]
    history = []
    acknowledged = set()
    first = 0
    print('1..%d' % ROUNDS)
    for n in range(1, ROUNDS + 1):
        mode = modes[n % len(modes)]
        max_size = rng.choice([0, 600, 2000, 8000])
        # acknowledgements to wait for: one per op under ALWAYS, one per
        # flush (of 25 ops) otherwise
        target = rng.randint(1, 300 if mode == Plog.SyncMode.ALWAYS else 12)
        child = subprocess.Popen(
            [sys.executable, __file__, '--workload', directory,
             str(int(mode)), str(max_size), str(first)],
            stdout=subprocess.PIPE, text=True)
        assert child.stdout.readline().strip() == 'recording'
        acked_upto = first - 1
        acks = 0
        for line in child.stdout:
            what, i = line.split()
            if what == 'a':
                acked_upto = int(i)
                acks += 1
                if acks >= target:
                    break
        # A little more, unacknowledged, before the power goes.
        time.sleep(rng.random() * 0.05)
        child.send_signal(signal.SIGKILL)
        child.wait()
        tried = acked_upto
        for line in child.stdout:
            # A line cut short by the kill is of an op not yet dumped.
            if not line.endswith('\n'):
                break
            tried = max(tried, int(line.split()[1]))
        child.stdout.close()
        with open(os.path.join(mountpoint, '.powercut'), 'w') as f:
            f.write('now')

        ops = replay(directory)
        dumped = range(first, tried + 1)
        acknowledged.update(range(first, acked_upto + 1))
        check(ops, history + [dumped], acknowledged)
        # What is left is on disk now: the next round starts from it.
        kept = [op[2] for op in ops if op[2] >= first]
        history.append(range(first, first + len(kept)))
        acknowledged = set(op[2] for op in ops)
        print('ok %d - %s, max-size %d: of %d ops dumped, %d acknowledged '
              'and %d kept; %d replayed in all'
              % (n, mode.value_nick, max_size, len(dumped),
                 acked_upto - first + 1, len(kept), len(ops)), flush=True)
        first = dumped.stop


if __name__ == '__main__':
    sys.exit(main())
