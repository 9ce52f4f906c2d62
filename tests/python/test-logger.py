#!/usr/bin/python3
# test-logger.py: libplog from Python, through PyGObject and the overrides
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Run from the build tree with the environment of `bindings_env`
# (introspection/meson.build): GI_TYPELIB_PATH and LD_LIBRARY_PATH on
# <builddir>/libplog, PYTHONPATH on <srcdir>/introspection.

import contextlib
import gc
import importlib.util
import io
import os
import struct
import sys
import tempfile
import threading
import time
import unittest

try:
    import gi
except ImportError:
    print('Bail out! PyGObject is not installed for %s' % sys.executable)
    sys.exit(77)   # meson: skipped

gi.require_version('GLib', '2.0')
gi.require_version('Gio', '2.0')
gi.require_version('Plog', '1.0')
from gi.repository import GLib, Gio, Plog  # noqa: E402

# Awaitable async methods and an asyncio loop that runs the GLib main
# context came with PyGObject 3.50 (gi.events).
HAVE_ASYNCIO = (gi.version_info >= (3, 50) and
                importlib.util.find_spec('gi.events') is not None)

PLOG_ERROR_DOMAIN = 'plog-error-quark'
TIMEOUT = 60   # seconds, for anything that waits on a main loop


def every_kind():
    """One op of each kind, with each kind of bytes argument."""
    return [
        Plog.Op.new_configure(None, {'codec': 'zstd', 'level': '3'}, 1),
        Plog.Op.new_configure(b'users', {'owner': 'ana', 'empty': ''}, 2),
        Plog.Op.new_configure(b'gone', {}, 3),
        Plog.Op.new_put(b'alpha', b'one', 4),
        Plog.Op.new_put(bytearray(b'beta'), memoryview(b'two'), 5),
        Plog.Op.new_put(GLib.Bytes.new(b'gamma'), GLib.Bytes.new(b'3'), 6),
        Plog.Op.new_put(b'\x00\xff binary', bytes(range(256)), -7),
        Plog.Op.new_put(b'no-value', None, 8),
        Plog.Op.new_sub_put(b'users', b'ana', b'admin', 9),
        Plog.Op.new_sub_put(b'users', b'bob', b'guest', 10),
        Plog.Op.new_delete(b'alpha'),
        Plog.Op.new_sub_delete(b'users', b'bob'),
        Plog.Op.new_clear(b'users', 11),
        Plog.Op.new_clear(None, 12),
        Plog.Op.new(b'k', b's', b'v', 2 ** 62, True, True, None),
        Plog.Op(key=b'kw', value=b'args', timestamp=13, put=True),
    ]


def apply(state, op):
    """A tiny model of the merge table for puts and deletes of plain keys."""
    if op.kind == Plog.OpKind.PUT:
        state[op.key] = op.value
    elif op.kind == Plog.OpKind.DELETE:
        state.pop(op.key, None)
    elif op.kind == Plog.OpKind.CLEAR and op.key is None:
        state.clear()


def log_files(directory):
    return sorted(n for n in os.listdir(directory) if n.endswith('.log'))


def records(data):
    """The (offset, length) of each record of a log or snapshot."""
    offset, found = 16, []
    while offset + 8 <= len(data):
        length, = struct.unpack_from('<I', data, offset)
        found.append((offset, length))
        offset += 8 + length
    return found


@contextlib.contextmanager
def captured_stderr():
    """PyGObject prints what a signal handler raises to sys.stderr."""
    saved, sys.stderr = sys.stderr, io.StringIO()
    try:
        yield sys.stderr
    finally:
        sys.stderr = saved


class LoggerTestCase(unittest.TestCase):

    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix='plog-py-')
        self.directory = os.path.join(self._tmp.name, 'log')
        self.logger = Plog.Logger.new(self.directory)
        self.threads = []   # where each handler ran

    def tearDown(self):
        if self.logger is not None:
            self.logger.stop()
        self.logger = None
        gc.collect()
        self._tmp.cleanup()
        for thread in self.threads:
            self.assertIs(thread, threading.main_thread(),
                          'a signal handler ran on %r' % thread)

    def note_thread(self):
        self.threads.append(threading.current_thread())

    def reopen(self):
        """Drops the logger, releasing its lock, and opens the directory
        again."""
        self.logger = None
        gc.collect()
        self.logger = Plog.Logger.new(self.directory)
        return self.logger

    def record_ops(self, ops):
        self.logger.record()
        for op in ops:
            self.logger.dump(op)
        self.logger.stop()

    def run_loop(self, loop):
        timed_out = []

        def on_timeout():
            timed_out.append(True)
            loop.quit()
            return GLib.SOURCE_REMOVE

        source_id = GLib.timeout_add_seconds(TIMEOUT, on_timeout)
        loop.run()
        if not timed_out:
            GLib.source_remove(source_id)
        self.assertFalse(timed_out, 'the main loop timed out')

    def iterate_until(self, predicate):
        context = GLib.MainContext.default()
        deadline = time.monotonic() + TIMEOUT
        while not predicate():
            self.assertLess(time.monotonic(), deadline, 'timed out')
            if not context.iteration(False):
                time.sleep(0.001)

    def assertPlogError(self, error, code):
        self.assertEqual(error.domain, PLOG_ERROR_DOMAIN)
        self.assertEqual(error.code, int(code))
        self.assertTrue(error.matches(Plog.error_quark(), code))
        self.assertTrue(error.message)


class OpTests(unittest.TestCase):

    def test_fields_are_python_values(self):
        op = Plog.Op.new_sub_put(b'k', b's', b'v', 42)
        self.assertIsInstance(op, Plog.Op)
        self.assertEqual(op.key, b'k')
        self.assertEqual(op.sub_key, b's')
        self.assertEqual(op.value, b'v')
        for field in (op.key, op.sub_key, op.value):
            self.assertIs(type(field), bytes)
        self.assertEqual(op.timestamp, 42)
        self.assertIs(op.put, True)
        self.assertIs(op.clear, False)
        self.assertEqual(op.kind, Plog.OpKind.SUB_PUT)
        self.assertIsInstance(op.kind, Plog.OpKind)
        self.assertIsNone(op.configuration)

        # The GBytes and array accessors of the C API stay reachable.
        self.assertEqual(op.get_key().get_data(), b'k')
        self.assertEqual(op.get_value_data(), b'v')

    def test_every_kind(self):
        kinds = [op.kind for op in every_kind()]
        self.assertEqual(kinds, [
            Plog.OpKind.CONFIGURE, Plog.OpKind.CONFIGURE, Plog.OpKind.CONFIGURE,
            Plog.OpKind.PUT, Plog.OpKind.PUT, Plog.OpKind.PUT, Plog.OpKind.PUT,
            Plog.OpKind.PUT, Plog.OpKind.SUB_PUT, Plog.OpKind.SUB_PUT,
            Plog.OpKind.DELETE, Plog.OpKind.SUB_DELETE, Plog.OpKind.CLEAR,
            Plog.OpKind.CLEAR, Plog.OpKind.SUB_PUT, Plog.OpKind.PUT,
        ])

    def test_empty_is_absent(self):
        op = Plog.Op.new_put(b'', bytearray(), 0)
        self.assertIsNone(op.key)
        self.assertIsNone(op.value)
        self.assertEqual(op, Plog.Op.new_put(None, None, 0))
        self.assertEqual(Plog.Op.new_clear(None, 5).key, None)

    def test_configuration(self):
        op = Plog.Op.new_configure(b'k', {'a': 'b', 'ü': 'ß'}, 7)
        self.assertEqual(op.configuration, {'a': 'b', 'ü': 'ß'})
        self.assertEqual(op.kind, Plog.OpKind.CONFIGURE)
        # A dict handed out is a copy: the op stays immutable.
        op.configuration['a'] = 'changed'
        self.assertEqual(op.configuration['a'], 'b')
        # An empty configuration is not an absent one.
        self.assertEqual(Plog.Op.new_configure(None, {}, 0).configuration, {})
        self.assertNotEqual(Plog.Op.new_configure(None, {}, 0),
                            Plog.Op.new_clear(None, 0))

    def test_configuration_keeps_no_reference(self):
        # PyGObject 3.42 keeps a reference to every str of a dict that it
        # turns into a GHashTable; the overrides pass a list instead.
        name, value = ''.join(['na', 'me']), ''.join(['val', 'ue'])
        config = {name: value}
        before = sys.getrefcount(name), sys.getrefcount(value)
        for i in range(100):
            Plog.Op.new_configure(b'k', {name: value}, i)
            Plog.Op.new(b'k', None, None, i, False, False, config)
            Plog.Op(key=b'k', timestamp=i, configuration=config)
        self.assertEqual((sys.getrefcount(name), sys.getrefcount(value)),
                         before)
        # The typelib's function, for any language.
        op = Plog.Op.new_with_pairs(b'k', None, None, 3, False, False,
                                    ['a', '1', 'b', ''])
        self.assertEqual(op, Plog.Op.new_configure(b'k', {'a': '1', 'b': ''}, 3))
        with self.assertRaises(ValueError):
            Plog.Op.new_with_pairs(b'k', pairs=['a'])
        with self.assertRaises(TypeError):
            Plog.Op.new_with_pairs(b'k', pairs=['a', 1])

    def test_equality_hash_repr(self):
        a = Plog.Op.new_put(b'k', b'v', 1)
        b = Plog.Op(key=b'k', value=b'v', timestamp=1, put=True)
        c = Plog.Op.new_put(b'k', b'v', 2)
        self.assertEqual(a, b)
        self.assertEqual(hash(a), hash(b))
        self.assertNotEqual(a, c)
        self.assertNotEqual(a, 'put')
        # != is the opposite of ==, not a comparison of addresses
        self.assertIs(a != b, False)
        self.assertIs(a != c, True)
        self.assertIs(a != 'put', True)
        # ops have no order
        for compare in (lambda: a < b, lambda: a <= b, lambda: a > c,
                        lambda: a >= c):
            with self.assertRaises(TypeError):
                compare()
        self.assertEqual(len({a, b, c}), 2)
        self.assertEqual(repr(a), '<Plog.Op put key="k" value="v" timestamp=1>')
        self.assertEqual(str(a), 'put key="k" value="v" timestamp=1')
        cfg = Plog.Op.new_configure(None, {'x': 'y'}, 0)
        self.assertEqual(hash(cfg),
                         hash(Plog.Op.new_configure(None, {'x': 'y'}, 0)))

    def test_bad_arguments(self):
        with self.assertRaises(TypeError):
            Plog.Op.new_put('text', b'v', 0)
        with self.assertRaises(TypeError):
            Plog.Op.new_put(b'k', 42, 0)
        with self.assertRaises(TypeError):
            Plog.Op.new_sub_put(b'k', None, b'v', 0)
        with self.assertRaises(TypeError):
            Plog.Op.new_configure(None, None, 0)
        with self.assertRaises(TypeError):
            Plog.Op.new_configure(None, {'a': 1}, 0)
        with self.assertRaises(TypeError):
            Plog.Op.new_configure(None, [('a', 'b')], 0)
        with self.assertRaises(ValueError):
            Plog.Op.new_configure(None, {'a\0b': 'c'}, 0)


class RoundTripTests(LoggerTestCase):

    def test_replay_styles(self):
        expected = every_kind()
        self.record_ops(expected)

        # 1. A Python callable, which gets just the op.
        through_callable = []
        self.assertTrue(self.logger.play(through_callable.append))

        # 2. The ::replayed signal.
        through_signal = []

        def on_replayed(logger, op):
            self.note_thread()
            self.assertIs(logger, self.logger)
            through_signal.append(op)

        handler_id = self.logger.connect('replayed', on_replayed)
        self.logger.play()
        self.logger.disconnect(handler_id)

        # 3. Lazy iteration of a cursor.
        cursor = self.logger.open_cursor()
        self.assertIs(iter(cursor), cursor)
        through_iteration = list(cursor)
        self.assertRaises(StopIteration, next, cursor)

        for ops in (through_callable, through_signal, through_iteration):
            self.assertEqual(ops, expected)
            for op, want in zip(ops, expected):
                self.assertEqual(op.key, want.key)
                self.assertEqual(op.sub_key, want.sub_key)
                self.assertEqual(op.value, want.value)
                self.assertEqual(op.timestamp, want.timestamp)
                self.assertEqual(op.put, want.put)
                self.assertEqual(op.clear, want.clear)
                self.assertEqual(op.kind, want.kind)
                self.assertEqual(op.configuration, want.configuration)

        # The ops kept from the callable and the handler stay valid once
        # the replay, and even the logger, are gone.
        self.logger = None
        gc.collect()
        churn = [Plog.Op.new_put(b'x' * 64, b'y' * 64, i) for i in range(2000)]
        del churn
        self.assertEqual(through_callable, expected)
        self.assertEqual(through_signal, expected)
        self.assertEqual([op.value for op in through_signal],
                         [op.value for op in expected])

    def test_iteration_is_lazy(self):
        self.record_ops([Plog.Op.new_put(b'k%d' % i, b'v', i) for i in range(5)])
        cursor = self.logger.open_cursor()
        self.assertEqual(next(cursor).key, b'k0')
        self.assertEqual(next(cursor).key, b'k1')
        # The cursor is pinned: a clear and new ops change nothing it returns.
        self.logger.clear()
        self.record_ops([Plog.Op.new_put(b'later', b'v', 9)])
        self.assertEqual([op.key for op in cursor], [b'k2', b'k3', b'k4'])
        self.assertEqual([op.key for op in self.logger.open_cursor()], [b'later'])

    def test_exception_in_callable_ends_the_replay(self):
        self.record_ops([Plog.Op.new_put(b'k%d' % i, b'v', i) for i in range(10)])
        seen = []

        def operate(op):
            seen.append(op)
            if len(seen) == 3:
                raise KeyError('enough')

        with self.assertRaises(KeyError):
            self.logger.play(operate)
        self.assertEqual([op.key for op in seen], [b'k0', b'k1', b'k2'])
        # The op kept by the callable that raised is still valid.
        self.logger = None
        gc.collect()
        self.assertEqual(seen[2].key, b'k2')

    def test_handler_that_raises_keeps_a_valid_op(self):
        # Ops of one size: once the first is freed, the next one decoded
        # would take its memory, so a dangling op would read another key.
        self.record_ops([Plog.Op.new_put(b'key-%d' % i, b'value-%d' % i, i)
                         for i in range(3)])
        kept = []

        def on_replayed(logger, op):
            if not kept:
                kept.append(op)
                raise RuntimeError('handler failed')

        self.logger.connect('replayed', on_replayed)
        with captured_stderr() as stderr:
            self.logger.play()
        self.assertIn('handler failed', stderr.getvalue())
        # PyGObject only takes its own reference to an op kept by a handler
        # that returned normally; the overrides give handlers one always.
        self.logger = None
        gc.collect()
        self.assertEqual(kept[0].key, b'key-0')
        self.assertEqual(kept[0].value, b'value-0')

    def test_handler_functions(self):
        self.record_ops([Plog.Op.new_put(b'k', b'v', 1)])
        calls = []

        def on_replayed(logger, op, tag):
            calls.append((tag, op.key))

        def on_replayed_after(logger, op):
            calls.append(('after', op.key))

        self.logger.connect('replayed', on_replayed, 'data')
        self.logger.connect_after('replayed', on_replayed_after)
        self.logger.play()
        self.assertEqual(calls, [('data', b'k'), ('after', b'k')])

        # The *_by_func methods find a handler through the overrides' wrapper.
        del calls[:]
        self.logger.handler_block_by_func(on_replayed)
        self.logger.play()
        self.assertEqual(calls, [('after', b'k')])
        self.logger.handler_unblock_by_func(on_replayed)
        self.assertEqual(self.logger.disconnect_by_func(on_replayed), 1)
        self.assertEqual(self.logger.disconnect_by_func(on_replayed_after), 1)
        del calls[:]
        self.logger.play()
        self.assertEqual(calls, [])

    def test_cancel(self):
        self.record_ops([Plog.Op.new_put(b'k%d' % i, b'v', i) for i in range(10)])
        cancellable = Gio.Cancellable()
        seen = []

        def operate(op):
            seen.append(op)
            cancellable.cancel()

        with self.assertRaises(GLib.Error) as caught:
            self.logger.play(operate, cancellable=cancellable)
        self.assertTrue(caught.exception.matches(Gio.io_error_quark(),
                                                 Gio.IOErrorEnum.CANCELLED))
        self.assertEqual(len(seen), 1)

        with self.assertRaises(GLib.Error):
            self.logger.play(None, cancellable)
        with self.assertRaises(GLib.Error):
            self.logger.open_cursor().next(cancellable)

    def test_dump_from_threads(self):
        self.logger.record()

        def dump(n):
            for i in range(200):
                self.logger.dump(Plog.Op.new_put(b'%d-%d' % (n, i), b'v', i))

        threads = [threading.Thread(target=dump, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.logger.stop()
        keys = [op.key for op in self.logger.open_cursor()]
        self.assertEqual(len(keys), 800)
        self.assertEqual(len(set(keys)), 800)
        # Each thread's ops keep their order.
        for n in range(4):
            mine = [k for k in keys if k.startswith(b'%d-' % n)]
            self.assertEqual(mine, [b'%d-%d' % (n, i) for i in range(200)])

    def test_clear_and_flush(self):
        self.logger.record()
        self.logger.dump(Plog.Op.new_put(b'k', b'v', 1))
        self.assertTrue(self.logger.flush())
        self.assertEqual(len(list(self.logger.open_cursor())), 1)
        self.assertTrue(self.logger.clear())
        self.assertEqual(list(self.logger.open_cursor()), [])
        # A recording logger goes on recording after a clear.
        self.logger.dump(Plog.Op.new_put(b'k2', b'v', 2))
        self.logger.stop()
        self.assertEqual([op.key for op in self.reopen().open_cursor()], [b'k2'])


class CompactionTests(LoggerTestCase):

    def dump_many(self, n, keys=50):
        model = {}
        for i in range(n):
            op = Plog.Op.new_put(b'key-%03d' % (i % keys), b'%06d' % i + b'.' * 90, i)
            self.logger.dump(op)
            apply(model, op)
        return model

    def replayed_state(self):
        state = {}
        for op in self.logger.open_cursor():
            apply(state, op)
        return state

    def test_automatic_compaction(self):
        compacted = []

        def on_compacted(logger):
            self.note_thread()
            compacted.append(True)

        self.logger.connect('compacted', on_compacted)
        self.logger.props.max_size = 4096
        self.assertEqual(self.logger.get_max_size(), 4096)
        self.logger.record()
        model = self.dump_many(2000)
        # ::compacted comes through the context the logger was created in.
        self.iterate_until(lambda: compacted)
        model.update(self.dump_many(500))
        self.logger.stop()
        self.assertEqual(self.replayed_state(), model)

        # The history is merged away: far fewer ops than were dumped replay.
        self.assertLess(len(list(self.logger.open_cursor())), 2500)
        self.assertEqual(self.reopen().play(), True)
        self.assertEqual(self.replayed_state(), model)

    def test_compact_async(self):
        self.logger.record()
        model = self.dump_many(300)
        loop = GLib.MainLoop()
        results, compacted = [], []

        def on_compacted(logger):
            self.note_thread()
            compacted.append(True)

        def done(logger, result, user_data):
            self.note_thread()
            self.assertEqual(user_data, 'data')
            try:
                results.append(logger.compact_finish(result))
            except GLib.Error as e:
                results.append(e)
            loop.quit()

        self.logger.connect('compacted', on_compacted)
        self.logger.compact_async(None, done, 'data')
        self.run_loop(loop)
        self.assertEqual(results, [True])
        self.iterate_until(lambda: compacted)
        # Everything dumped before the call is in the snapshot now.
        ops = list(self.logger.open_cursor())
        self.assertEqual(len(ops), 50)
        self.logger.stop()
        self.assertEqual(self.replayed_state(), model)

    def test_record_stop_flush_async(self):
        expected = every_kind()
        loop = GLib.MainLoop()
        notified, results = [], []

        def on_notify(logger, pspec):
            self.note_thread()
            notified.append(logger.props.recording)

        def done(finish):
            def callback(logger, result):
                self.note_thread()
                try:
                    results.append((finish(logger, result), list(notified)))
                except GLib.Error as e:
                    results.append(e)
                loop.quit()
            return callback

        self.logger.connect('notify::recording', on_notify)
        self.logger.record_async(None, done(Plog.Logger.record_finish))
        self.run_loop(loop)
        # Notified in this thread, before the callback.
        self.assertEqual(results, [(True, [True])])
        self.logger.dump(Plog.Op.new_put(b'cleared', b'soon', 0))
        self.logger.clear_async(None, done(Plog.Logger.clear_finish))
        self.run_loop(loop)
        self.assertEqual(results[-1], (True, [True]))
        self.assertEqual(list(self.logger.open_cursor()), [])
        for op in expected:
            self.logger.dump(op)
        self.logger.flush_async(None, done(Plog.Logger.flush_finish))
        self.run_loop(loop)
        self.logger.stop_async(None, done(Plog.Logger.stop_finish))
        self.run_loop(loop)
        self.assertEqual(results[2:], [(True, [True]), (True, [True, False])])
        with self.assertRaises(GLib.Error) as caught:
            self.logger.dump(expected[0])
        self.assertPlogError(caught.exception, Plog.Error.NOT_RECORDING)

        cancellable = Gio.Cancellable()
        cancellable.cancel()
        self.logger.record_async(cancellable, done(Plog.Logger.record_finish))
        self.run_loop(loop)
        self.assertTrue(results[-1].matches(Gio.io_error_quark(),
                                            Gio.IOErrorEnum.CANCELLED))
        self.assertFalse(self.logger.props.recording)
        self.assertEqual(list(self.logger.open_cursor()), expected)

    def test_play_async(self):
        expected = every_kind()
        self.record_ops(expected)
        loop = GLib.MainLoop()
        replayed, results = [], []

        def on_replayed(logger, op):
            self.note_thread()
            replayed.append(op)

        def done(logger, result):
            self.note_thread()
            try:
                results.append(logger.play_finish(result))
            except GLib.Error as e:
                results.append(e)
            loop.quit()

        self.logger.connect('replayed', on_replayed)
        self.logger.play_async(None, done)
        self.run_loop(loop)
        self.assertEqual(results, [True])
        self.assertEqual(replayed, expected)
        self.logger = None
        gc.collect()
        self.assertEqual(replayed, expected)

    def test_play_async_many(self):
        # More ops than one batch of play_async, while compactions run.
        self.logger.props.max_size = 4096
        self.logger.record()
        model = self.dump_many(5000)
        loop = GLib.MainLoop()
        state, results = {}, []

        def on_replayed(logger, op):
            apply(state, op)

        def done(logger, result):
            results.append(logger.play_finish(result))
            loop.quit()

        self.logger.connect('replayed', on_replayed)
        self.logger.play_async(None, done)
        self.run_loop(loop)
        self.assertEqual(results, [True])
        self.assertEqual(state, model)

    def test_play_async_cancelled(self):
        self.record_ops([Plog.Op.new_put(b'k', b'v', 1)])
        loop = GLib.MainLoop()
        cancellable = Gio.Cancellable()
        cancellable.cancel()
        results = []

        def done(logger, result):
            try:
                results.append(logger.play_finish(result))
            except GLib.Error as e:
                results.append(e)
            loop.quit()

        self.logger.play_async(cancellable, done)
        self.run_loop(loop)
        self.assertIsInstance(results[0], GLib.Error)
        self.assertTrue(results[0].matches(Gio.io_error_quark(),
                                           Gio.IOErrorEnum.CANCELLED))

    @unittest.skipUnless(HAVE_ASYNCIO, 'PyGObject %s has no asyncio integration'
                         % '.'.join(map(str, gi.version_info)))
    def test_asyncio(self):
        import asyncio
        from gi.events import GLibEventLoopPolicy

        expected = [Plog.Op.new_put(b'k%d' % i, b'v', i) for i in range(100)]
        replayed = []
        self.logger.connect('replayed', lambda logger, op: replayed.append(op))

        async def main():
            self.assertTrue(await self.logger.record_async())
            for op in expected:
                self.logger.dump(op)
            self.assertTrue(await self.logger.compact_async())
            self.assertTrue(await self.logger.stop_async())
            self.assertTrue(await self.logger.play_async())

        policy = asyncio.get_event_loop_policy()
        asyncio.set_event_loop_policy(GLibEventLoopPolicy())
        try:
            asyncio.run(main())
        finally:
            asyncio.set_event_loop_policy(policy)
        self.assertEqual(replayed, expected)


class ErrorTests(LoggerTestCase):

    def test_dump_while_not_recording(self):
        op = Plog.Op.new_put(b'k', b'v', 1)
        with self.assertRaises(GLib.Error) as caught:
            self.logger.dump(op)
        self.assertPlogError(caught.exception, Plog.Error.NOT_RECORDING)
        self.logger.record()
        self.logger.dump(op)
        self.logger.stop()
        with self.assertRaises(GLib.Error) as caught:
            self.logger.dump(op)
        self.assertPlogError(caught.exception, Plog.Error.NOT_RECORDING)

    def test_locked(self):
        for open_logger in (Plog.Logger.new, Plog.Logger):
            with self.assertRaises(GLib.Error) as caught:
                open_logger(self.directory)
            self.assertPlogError(caught.exception, Plog.Error.LOCKED)
            self.assertIn(self.directory, caught.exception.message)
        # The lock goes with the logger.
        self.reopen()

    def test_corrupt(self):
        ops = [Plog.Op.new_put(b'key-%d' % i, b'value-%d' % i, i) for i in range(9)]
        self.record_ops(ops)
        name, = log_files(self.directory)
        path = os.path.join(self.directory, name)
        with open(path, 'rb') as f:
            data = bytearray(f.read())
        found = records(data)
        self.assertEqual(len(found), 9)
        # Damage the payload of the middle record: good records follow, so
        # it is corruption, not a torn tail.
        offset, length = found[4]
        data[offset + 8 + length // 2] ^= 0xff
        with open(path, 'wb') as f:
            f.write(data)

        self.reopen()
        seen = []
        with self.assertRaises(GLib.Error) as caught:
            self.logger.play(seen.append)
        self.assertPlogError(caught.exception, Plog.Error.CORRUPT)
        self.assertIn(name, caught.exception.message)
        self.assertIn(str(offset), caught.exception.message)
        # The ops before the damage were delivered.
        self.assertEqual(seen, ops[:4])

        seen = []
        with self.assertRaises(GLib.Error) as caught:
            for op in self.logger.open_cursor():
                seen.append(op)
        self.assertPlogError(caught.exception, Plog.Error.CORRUPT)
        self.assertEqual(seen, ops[:4])

        with self.assertRaises(GLib.Error) as caught:
            self.logger.record()
        self.assertPlogError(caught.exception, Plog.Error.CORRUPT)
        self.assertFalse(self.logger.props.recording)
        # Nothing is ever deleted because it looked damaged.
        with open(path, 'rb') as f:
            self.assertEqual(f.read(), bytes(data))

    def test_invalid_and_io(self):
        with self.assertRaises(GLib.Error) as caught:
            Plog.Logger.new('')
        self.assertPlogError(caught.exception, Plog.Error.INVALID)

        regular = os.path.join(self._tmp.name, 'file')
        with open(regular, 'w'):
            pass
        with self.assertRaises(GLib.Error) as caught:
            Plog.Logger(regular)
        self.assertPlogError(caught.exception, Plog.Error.IO)
        self.assertIn(regular, caught.exception.message)

    def test_too_large(self):
        self.logger.record()
        self.logger.dump(Plog.Op.new_put(b'kept', b'v', 1))
        huge = Plog.Op.new_put(b'huge', bytes(Plog.OP_MAX_SIZE), 2)
        with self.assertRaises(GLib.Error) as caught:
            self.logger.dump(huge)
        self.assertPlogError(caught.exception, Plog.Error.TOO_LARGE)
        del huge
        self.logger.stop()
        self.assertEqual([op.key for op in self.logger.open_cursor()], [b'kept'])


class PropertyTests(LoggerTestCase):

    def test_recording_notify(self):
        notified = []

        def on_notify(logger, pspec):
            self.note_thread()
            self.assertEqual(pspec.name, 'recording')
            notified.append(logger.props.recording)

        self.logger.connect('notify::recording', on_notify)
        self.assertFalse(self.logger.props.recording)
        self.logger.record()
        self.logger.record()   # a no-op: no second notification
        self.assertTrue(self.logger.get_recording())
        self.logger.stop()
        self.logger.stop()
        self.assertEqual(notified, [True, False])

    def test_properties(self):
        props = self.logger.props
        self.assertEqual(props.directory, self.directory)
        self.assertEqual(self.logger.get_directory(), self.directory)
        self.assertEqual(props.max_size, 0)
        self.assertEqual(props.sync_mode, Plog.SyncMode.PERIODIC)

        notified = []
        self.logger.connect('notify', lambda logger, pspec: notified.append(pspec.name))
        props.max_size = 1 << 20
        self.logger.limit(1 << 20)   # unchanged: no notification
        self.assertEqual(self.logger.get_max_size(), 1 << 20)
        props.sync_mode = Plog.SyncMode.ALWAYS
        self.assertEqual(self.logger.get_sync_mode(), Plog.SyncMode.ALWAYS)
        self.assertEqual(notified, ['max-size', 'sync-mode'])

        # The sync mode may change while recording.
        self.logger.record()
        self.logger.dump(Plog.Op.new_put(b'always', b'v', 1))
        props.sync_mode = Plog.SyncMode.NONE
        self.logger.dump(Plog.Op.new_put(b'none', b'v', 2))
        self.logger.stop()
        self.assertEqual([op.key for op in self.logger.open_cursor()],
                         [b'always', b'none'])

    def test_directory_forms(self):
        import pathlib
        base = self._tmp.name
        for directory in (pathlib.Path(base, 'path'),
                          os.fsencode(os.path.join(base, 'bytes'))):
            for open_logger in (Plog.Logger.new, Plog.Logger):
                logger = open_logger(directory)
                self.assertEqual(logger.get_directory(), os.fsdecode(directory))
                self.assertTrue(os.path.isfile(os.path.join(os.fsdecode(directory), 'LOCK')))
                del logger
                gc.collect()

    def test_constructor_properties(self):
        self.logger = None
        gc.collect()
        logger = Plog.Logger(self.directory, max_size=4096,
                             sync_mode=Plog.SyncMode.ALWAYS)
        self.assertEqual(logger.props.max_size, 4096)
        self.assertEqual(logger.props.sync_mode, Plog.SyncMode.ALWAYS)
        logger.record()
        logger.dump(Plog.Op.new_put(b'k', b'v', 1))
        logger.stop()
        self.assertEqual(len(list(logger.open_cursor())), 1)

    def test_non_utf8_directory(self):
        directory = os.fsencode(self._tmp.name) + b'/caf\xe9'
        for open_logger in (Plog.Logger.new, Plog.Logger):
            logger = open_logger(directory)
            self.assertEqual(os.fsencode(logger.get_directory()), directory)
            logger.record()
            logger.dump(Plog.Op.new_put(b'k', b'v', 1))
            logger.stop()
            del logger
            gc.collect()
        logger = Plog.Logger(directory, max_size=4096)
        self.assertEqual(logger.props.max_size, 4096)
        self.assertEqual([op.key for op in logger.open_cursor()], [b'k', b'k'])

    def test_relative_directory_survives_chdir(self):
        self.logger = None
        gc.collect()
        cwd = os.getcwd()
        elsewhere = os.path.join(self._tmp.name, 'elsewhere')
        os.mkdir(elsewhere)
        try:
            os.chdir(self._tmp.name)
            logger = Plog.Logger('log')
            self.assertEqual(logger.get_directory(), self.directory)
            logger.record()
            os.chdir(elsewhere)
            logger.dump(Plog.Op.new_put(b'k', b'v', 1))
            logger.stop()
            self.assertEqual([op.key for op in logger.open_cursor()], [b'k'])
            self.assertFalse(os.path.exists(os.path.join(elsewhere, 'log')))
        finally:
            os.chdir(cwd)

    def test_close(self):
        self.logger.record()
        self.logger.dump(Plog.Op.new_put(b'k', b'v', 1))
        notified = []
        self.logger.connect('notify::recording',
                            lambda *args: notified.append(True))
        self.logger.close()
        self.assertEqual(notified, [True])
        self.logger.close()
        self.assertFalse(self.logger.props.recording)
        with self.assertRaises(GLib.Error) as caught:
            self.logger.record()
        self.assertPlogError(caught.exception, Plog.Error.FAILED)
        other = Plog.Logger(self.directory)
        self.assertEqual([op.value for op in other.open_cursor()], [b'v'])

    def test_run_dispose_closes(self):
        self.logger.record()
        self.logger.dump(Plog.Op.new_put(b'k', b'v', 1))
        self.logger.run_dispose()
        self.assertFalse(self.logger.props.recording)
        with self.assertRaises(GLib.Error) as caught:
            self.logger.dump(Plog.Op.new_put(b'k', b'w', 2))
        self.assertPlogError(caught.exception, Plog.Error.NOT_RECORDING)
        for call in (self.logger.record, self.logger.clear,
                     self.logger.open_cursor, lambda: self.logger.play(None)):
            with self.assertRaises(GLib.Error) as caught:
                call()
            self.assertPlogError(caught.exception, Plog.Error.FAILED)
        self.logger.stop()
        self.logger.flush()
        loop = GLib.MainLoop()
        errors = []

        def done(logger, result):
            try:
                logger.compact_finish(result)
            except GLib.Error as e:
                errors.append(e)
            loop.quit()

        self.logger.compact_async(None, done)
        self.run_loop(loop)
        self.assertPlogError(errors[0], Plog.Error.FAILED)
        # the lock is free at once, and what was dumped is there
        other = Plog.Logger(self.directory)
        self.assertEqual([op.value for op in other.open_cursor()], [b'v'])

    def test_context_manager(self):
        self.logger = None
        gc.collect()
        with Plog.Logger(self.directory) as logger:
            logger.record()
            logger.dump(Plog.Op.new_put(b'k', b'v', 1))
        self.assertFalse(logger.props.recording)
        # closed: the directory opens again at once
        with Plog.Logger(self.directory) as logger:
            self.assertEqual([op.value for op in logger.open_cursor()], [b'v'])
            logger.record()
            with self.assertRaises(ZeroDivisionError):
                with logger:
                    logger.dump(Plog.Op.new_put(b'k', b'w', 2))
                    1 / 0
        with Plog.Logger(self.directory) as logger:
            self.assertEqual([op.value for op in logger.open_cursor()],
                             [b'v', b'w'])

    def test_play_argument_forms(self):
        self.record_ops([Plog.Op.new_put(b'k', b'v', 1)])
        seen = []
        self.logger.play(lambda op: seen.append(op.key))
        self.logger.play(lambda op: seen.append(op.key), None)
        self.logger.play(lambda op: seen.append(op.key), Gio.Cancellable())
        self.logger.play(lambda op: seen.append(op.key), None, None)
        self.logger.play(lambda op: seen.append(op.key), cancellable=None)
        self.logger.play(lambda op, data: seen.append((op.key, data)), 'd')
        self.logger.play(lambda op, data: seen.append((op.key, data)), 'd',
                         Gio.Cancellable())
        self.logger.play(lambda op, data: seen.append((op.key, data)),
                         user_data='d', cancellable=None)
        self.logger.play(lambda op, data: seen.append((op.key, data)),
                         None, user_data='d')
        self.assertEqual(seen, [b'k'] * 5 + [(b'k', 'd')] * 4)
        with self.assertRaises(TypeError):
            self.logger.play(lambda op: None, None, None, None)
        with self.assertRaises(TypeError):
            self.logger.play(lambda op: None, 'd', 'not a cancellable')


if __name__ == '__main__':
    unittest.main(verbosity=2)
