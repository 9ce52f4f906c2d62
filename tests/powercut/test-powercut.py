#!/usr/bin/python3
# test-powercut.py: libplog's promises across power cuts
#
# The crash tests of test-durability kill the process, which leaves the
# kernel's page cache whole. This test cuts the power instead, on a file
# system in memory that keeps only what the sync rules put on disk
# (powercut-fs.py): a child process records ops, printing each one the
# library has acknowledged as durable; it is killed at a random moment,
# the power is cut (in one round of two, exactly at the Nth call of some
# kind to the file system, a sync or a change of names), and a logger
# opened on what is left must
#
# - open and replay without an error (a torn tail is no error);
# - replay every acknowledged op: under ALWAYS, an op whose dump
#   returned; under PERIODIC and NONE, an op dumped before a flush that
#   returned;
# - replay what was there before the recording and a first part of what
#   it dumped (only an end can go), and nothing that was never dumped;
# - when the recording cleared the logger, replay either the state from
#   before the clear (if the clear had not returned) or an empty one
#   followed by a first part of what came after the clear, never a mix;
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
import select
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROUNDS = int(os.environ.get('PLOG_POWERCUT_ROUNDS', '60'))
SEED = int(os.environ.get('PLOG_POWERCUT_SEED', '1'))
CHILDREN = []   # killed on the way out, so that the mount is not busy


def skip(why):
    print('1..0 # SKIP %s' % why)
    sys.exit(0)


try:
    import gi
    gi.require_version('Plog', '1.0')
    from gi.repository import GLib, Plog  # noqa: E402
except (ImportError, ValueError) as e:
    skip('PyGObject or the Plog typelib is missing: %s' % e)


def workload(directory, mode, max_size, first, clear_at):
    """The child: records puts of keys first, first + 1, …, until it is
    killed. It prints "d I" before it dumps op I, and "a I" once op I and
    every one before it (since the clear, if any) are acknowledged as
    durable; before op clear_at (when not negative), it prints "c ?",
    clears the logger, and prints "c !"."""
    logger = Plog.Logger(directory)
    logger.props.sync_mode = mode
    logger.limit(max_size)
    logger.record()
    print('recording', flush=True)
    i = first
    while True:
        if i == clear_at:
            print('c ?', flush=True)
            logger.clear()
            print('c !', flush=True)
        print('d %d' % i, flush=True)
        logger.dump(Plog.Op.new_put(b'k%08d' % i, b'v%08d' % i, i))
        if mode == Plog.SyncMode.ALWAYS:
            print('a %d' % i, flush=True)
        elif i % 25 == 0:
            logger.flush()
            print('a %d' % i, flush=True)
        i += 1


def read_line(child, timeout=60):
    """The child's next line ('' at its end); fails rather than wait for
    a child that hangs."""
    if not select.select([child.stdout], [], [], timeout)[0]:
        child.kill()
        raise AssertionError('the child printed nothing for %d s' % timeout)
    return child.stdout.readline()


def mounted(mountpoint):
    return os.path.ismount(mountpoint)


def replay(directory):
    """Every op in the directory, in order, and whether record works."""
    with Plog.Logger(directory) as logger:
        ops = list(logger.open_cursor())
        logger.record()
        logger.stop()
    return [(op.key, op.value, op.timestamp) for op in ops]


def is_first_part(kept, start, stop):
    """Whether @kept is range(start, start + n) for some n, within stop."""
    return kept == set(range(start, start + len(kept))) and \
        start + len(kept) <= stop


def check(ops, before, first, tried, acked, clear_at, cleared):
    """@before: the indices replayed before the recording; it dumped
    first to tried (at most); @acked: the indices it acknowledged as
    durable; it cleared the logger before op clear_at (-1: never),
    and the clear returned when @cleared."""
    seen = [op[2] for op in ops]
    for key, value, i in ops:
        assert key == b'k%08d' % i and value == b'v%08d' % i, (key, value, i)
    assert len(set(seen)) == len(seen), 'an op replayed twice'
    now = set(seen)
    new = now - before
    # The state from before the clear (or with no clear), and a first
    # part of what the recording dumped before any clear.
    stop = clear_at if clear_at >= 0 else tried + 1
    if before <= now and is_first_part(new, first, stop) and acked <= now:
        assert not cleared, 'a clear that returned came undone'
        return
    assert clear_at >= 0, 'replayed %s from %s (dumped %d to %d, acknowledged up to %s)' % (
        sorted(new)[:10], sorted(before)[-3:], first, tried, max(acked, default=None))
    # An empty state, and a first part of what came after the clear.
    assert is_first_part(now, clear_at, tried + 1), \
        'after a clear: replayed %s… of %d to %d, before the round %s…' % (
            sorted(now)[:10], clear_at, tried, sorted(before)[:3])
    assert acked & set(range(clear_at, tried + 1)) <= now, 'acknowledged ops lost'


def main():
    if len(sys.argv) > 1 and sys.argv[1] == '--workload':
        workload(sys.argv[2], Plog.SyncMode(int(sys.argv[3])),
                 int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]))
        return 0

    try:
        import fusepy  # noqa: F401
    except ImportError:
        skip('fusepy is missing (Debian: python3-fusepy)')
    if not os.path.exists('/dev/fuse'):
        skip('no /dev/fuse')

    # meson's timeout sends SIGTERM: unmount on the way out all the same.
    signal.signal(signal.SIGTERM, lambda *args: sys.exit('terminated'))
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
            for child in CHILDREN:
                if child.poll() is None:
                    child.kill()
                    child.wait()
            for command in (['umount', mountpoint], ['fusermount', '-u', mountpoint],
                            ['umount', '-l', mountpoint]):
                try:
                    if subprocess.call(command, stderr=subprocess.DEVNULL) == 0:
                        break
                except FileNotFoundError:
                    pass
            try:
                fs.wait(10)
            except subprocess.TimeoutExpired:
                fs.kill()
    return 0


def run_rounds(rng, mountpoint):
    directory = os.path.join(mountpoint, 'db')
    control = os.path.join(mountpoint, '.powercut')
    modes = [Plog.SyncMode.ALWAYS, Plog.SyncMode.PERIODIC, Plog.SyncMode.NONE]
    before = set()
    first = 0
    print('1..%d' % ROUNDS)
    for n in range(1, ROUNDS + 1):
        mode = modes[n % len(modes)]
        max_size = rng.choice([0, 600, 2000, 8000])
        # acknowledgements to wait for: one per op under ALWAYS, one per
        # flush (of 25 ops) otherwise
        target = rng.randint(1, 300 if mode == Plog.SyncMode.ALWAYS else 12)
        clear_at = first + rng.randint(0, 100) if n % 4 == 0 else -1
        # In one round of two, the power goes exactly at a call of the
        # child's to the file system (if it gets that far).
        crash_point = ''
        if n % 2 == 1:
            crash_point = '%s %d' % (
                rng.choice(['fsync', 'fsyncdir', 'fsyncdir', 'rename',
                            'unlink', 'create']),
                rng.randint(1, 12))
            with open(control, 'w') as f:
                f.write(crash_point)
        child = subprocess.Popen(
            [sys.executable, __file__, '--workload', directory,
             str(int(mode)), str(max_size), str(first), str(clear_at)],
            stdout=subprocess.PIPE, text=True)
        CHILDREN.append(child)
        line = read_line(child)
        assert line in ('recording\n', ''), line   # '': killed before
        acked = set()
        since = first     # where the ops that an acknowledgement covers start
        tried = first - 1
        reached_clear = False
        cleared = False
        acks = 0

        def take(line):
            nonlocal since, tried, reached_clear, cleared, acks
            what, arg = line.split()
            if what == 'c':
                since = clear_at
                reached_clear = True
                cleared = arg == '!'
            elif what == 'd':
                tried = int(arg)
            else:
                acked.update(range(since, int(arg) + 1))
                acks += 1

        # In one clearing round of two, the power goes during the clear
        # (or just before or after it).
        during_clear = clear_at >= 0 and rng.random() < 0.5
        hit = True     # whether the child died at the crash point
        for line in iter(lambda: read_line(child), ''):
            take(line)
            if line == 'c ?\n' and during_clear:
                time.sleep(rng.random() * 0.01)
                hit = False
                break
            if acks >= target:
                # A little more, unacknowledged, before the power goes.
                time.sleep(rng.random() * 0.05)
                hit = False
                break
        hit = hit and crash_point != ''
        child.send_signal(signal.SIGKILL)
        child.wait()
        for line in child.stdout:
            # A line cut short by the kill is of a step not yet taken.
            if not line.endswith('\n'):
                break
            take(line)
        child.stdout.close()
        with open(control, 'w') as f:
            f.write('now')

        ops = replay(directory)
        if not reached_clear:
            clear_at = -1    # the child did not get there
        try:
            check(ops, before, first, tried, acked, clear_at, cleared)
        except AssertionError:
            print('# round %d: %s, max-size %d, clear at %d (returned: %s), '
                  '%d ops before' % (n, mode.value_nick, max_size, clear_at,
                                     cleared, len(before)))
            raise
        # What is left is on disk now: the next round starts from it.
        now = set(op[2] for op in ops)
        print('ok %d - %s, max-size %d%s%s: of %d ops dumped, %d acknowledged '
              'and %d kept; %d replayed in all'
              % (n, mode.value_nick, max_size,
                 ', cleared' if cleared else (', clearing' if clear_at >= 0 else ''),
                 ', power cut at %s' % crash_point if hit else '',
                 tried - first + 1, len([i for i in acked if i >= since]),
                 len(now - before), len(ops)),
              flush=True)
        before = now
        first = tried + 1


if __name__ == '__main__':
    sys.exit(main())
