// test-logger.js: libplog from GJS, as an ES module (gjs -m).
//
// SPDX-License-Identifier: LGPL-2.1-or-later
//
// A plain script with no test framework: each test is a function that
// throws on failure; the script prints one TAP line per test and a summary
// line, and exits non-zero when any test failed. Run from the build tree
// with the environment of `meson devenv` (GI_TYPELIB_PATH, LD_LIBRARY_PATH).

import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import System from 'system';

import Plog from 'gi://Plog?version=1.0';

Gio._promisify(Plog.Logger.prototype, 'compact_async', 'compact_finish');
Gio._promisify(Plog.Logger.prototype, 'play_async', 'play_finish');
Gio._promisify(Plog.Logger.prototype, 'record_async', 'record_finish');
Gio._promisify(Plog.Logger.prototype, 'stop_async', 'stop_finish');
Gio._promisify(Plog.Logger.prototype, 'flush_async', 'flush_finish');
Gio._promisify(Plog.Logger.prototype, 'clear_async', 'clear_finish');

const encoder = new TextEncoder();
const decoder = new TextDecoder();

// Helpers

class AssertionError extends Error {
    constructor(message) {
        super(message);
        this.name = 'AssertionError';
    }
}

function assert(condition, message = 'assertion failed') {
    if (!condition)
        throw new AssertionError(message);
}

function assertEqual(actual, expected, what = 'value') {
    const a = JSON.stringify(actual), e = JSON.stringify(expected);
    if (a !== e)
        throw new AssertionError(`${what}: expected ${e}, got ${a}`);
}

function assertThrows(func, domain, code, what) {
    try {
        func();
    } catch (e) {
        if (!(e instanceof GLib.Error))
            throw e;
        if (!e.matches(domain, code)) {
            throw new AssertionError(
                `${what}: expected error ${code}, got ${e.domain}:${e.code}: ${e.message}`);
        }
        return e;
    }
    throw new AssertionError(`${what}: no error`);
}

async function assertRejects(promise, domain, code, what) {
    try {
        await promise;
    } catch (e) {
        if (!(e instanceof GLib.Error))
            throw e;
        if (!e.matches(domain, code)) {
            throw new AssertionError(
                `${what}: expected error ${code}, got ${e.domain}:${e.code}: ${e.message}`);
        }
        return e;
    }
    throw new AssertionError(`${what}: no error`);
}

// GJS logs an exception thrown by a signal handler or a callback that C
// calls, and goes on: handlers and callbacks are wrapped with handler(),
// which keeps what they throw for the runner to report.
const handlerErrors = [];

function handler(func) {
    return (...args) => {
        try {
            return func(...args);
        } catch (e) {
            handlerErrors.push(e);
            return undefined;
        }
    };
}

const bytes = s => encoder.encode(s);

function hex(array) {
    return Array.from(array, b => b.toString(16).padStart(2, '0')).join('');
}

// GJS 1.74 turns the keys of a GHashTable into property names as if they
// were Latin-1 (gjs_object_from_g_hash() passes the UTF-8 bytes to
// JS_DefineProperty() as a char *), so a non-ASCII key of a configuration
// comes back as one character per UTF-8 byte; the values are right. This
// undoes that, and leaves a right key alone.
function utf8Key(key) {
    if (![...key].every(c => c.charCodeAt(0) < 0x100))
        return key;
    try {
        return new TextDecoder('utf-8', {fatal: true}).decode(
            Uint8Array.from(key, c => c.charCodeAt(0)));
    } catch (e) {
        return key;
    }
}

function configurationOf(op) {
    const configuration = op.get_configuration();
    if (configuration === null)
        return null;
    return Object.fromEntries(Object.entries(configuration)
        .map(([k, v]) => [utf8Key(k), v]).sort());
}

// Every field of an op, as plain JS values, for comparisons and messages.
function fields(op) {
    return {
        kind: op.get_kind(),
        key: hex(op.get_key_data()),
        subKey: hex(op.get_sub_key_data()),
        value: hex(op.get_value_data()),
        timestamp: op.get_timestamp(),
        put: op.get_put(),
        clear: op.get_clear(),
        configuration: configurationOf(op),
    };
}

function assertSameOps(actual, expected, what) {
    assertEqual(actual.length, expected.length, `${what}: number of ops`);
    for (let i = 0; i < expected.length; i++) {
        assertEqual(fields(actual[i]), fields(expected[i]), `${what}: op ${i}`);
        assert(actual[i].equal(expected[i]), `${what}: op ${i} not equal()`);
    }
}

const tempDirs = [];

function makeTempDir() {
    const dir = GLib.dir_make_tmp('plog-js-XXXXXX');
    tempDirs.push(dir);
    return dir;
}

function removeTree(path) {
    const file = Gio.File.new_for_path(path);
    const info = file.query_info('standard::type',
        Gio.FileQueryInfoFlags.NOFOLLOW_SYMLINKS, null);
    if (info.get_file_type() === Gio.FileType.DIRECTORY) {
        const children = file.enumerate_children('standard::name',
            Gio.FileQueryInfoFlags.NOFOLLOW_SYMLINKS, null);
        let child;
        while ((child = children.next_file(null)) !== null)
            removeTree(GLib.build_filenamev([path, child.get_name()]));
        children.close(null);
    }
    file.delete(null);
}

function listDir(dir) {
    const names = [];
    const children = Gio.File.new_for_path(dir).enumerate_children('standard::name',
        Gio.FileQueryInfoFlags.NOFOLLOW_SYMLINKS, null);
    let info;
    while ((info = children.next_file(null)) !== null)
        names.push(info.get_name());
    children.close(null);
    return names.sort();
}

// Runs the default main context until `done()` or the timeout.
function iterateUntil(done, timeoutSeconds = 30) {
    const context = GLib.MainContext.default();
    const deadline = GLib.get_monotonic_time() + timeoutSeconds * 1000000;
    while (!done()) {
        if (handlerErrors.length > 0)
            throw handlerErrors[0];
        if (!context.iteration(false))
            GLib.usleep(1000);
        if (GLib.get_monotonic_time() > deadline)
            throw new AssertionError('timed out waiting on the main context');
    }
}

// Runs a GLib.MainLoop until `start(quit)` calls quit, with a timeout.
function runMainLoop(start, timeoutSeconds = 30) {
    const loop = new GLib.MainLoop(null, false);
    let error = null, timedOut = false;
    const timeoutId = GLib.timeout_add_seconds(GLib.PRIORITY_DEFAULT, timeoutSeconds, () => {
        timedOut = true;
        loop.quit();
        return GLib.SOURCE_REMOVE;
    });
    const quit = (e = null) => {
        error ??= e;
        loop.quit();
    };
    GLib.idle_add(GLib.PRIORITY_DEFAULT, () => {
        try {
            start(quit);
        } catch (e) {
            quit(e);
        }
        return GLib.SOURCE_REMOVE;
    });
    loop.run();
    if (!timedOut)
        GLib.source_remove(timeoutId);
    if (error)
        throw error;
    if (timedOut)
        throw new AssertionError('main loop timed out');
}

// A reference model of the merge semantics of design.md, to compare the
// state that a replay rebuilds with the state the dumped ops describe.
class Model {
    constructor() {
        this.globalConfiguration = null;
        this.configurations = new Map();
        this.values = new Map();
        this.subTrees = new Map();
    }

    apply(op) {
        const key = hex(op.get_key_data());
        const subKey = hex(op.get_sub_key_data());
        switch (op.get_kind()) {
        case Plog.OpKind.CONFIGURE: {
            const conf = configurationOf(op);
            const entries = JSON.stringify(Object.entries(conf));
            const empty = entries === '[]';
            if (key === '')
                this.globalConfiguration = empty ? null : entries;
            else if (empty)
                this.configurations.delete(key);
            else
                this.configurations.set(key, entries);
            break;
        }
        case Plog.OpKind.PUT:
            this.values.set(key, hex(op.get_value_data()));
            break;
        case Plog.OpKind.SUB_PUT:
            if (!this.subTrees.has(key))
                this.subTrees.set(key, new Map());
            this.subTrees.get(key).set(subKey, hex(op.get_value_data()));
            break;
        case Plog.OpKind.DELETE:
            this.values.delete(key);
            break;
        case Plog.OpKind.SUB_DELETE: {
            const tree = this.subTrees.get(key);
            if (tree) {
                tree.delete(subKey);
                if (tree.size === 0)
                    this.subTrees.delete(key);
            }
            break;
        }
        case Plog.OpKind.CLEAR:
            if (key === '') {
                this.values.clear();
                this.subTrees.clear();
            } else {
                this.subTrees.delete(key);
            }
            break;
        default:
            throw new AssertionError(`unknown kind ${op.get_kind()}`);
        }
    }

    toJSON() {
        const sorted = map => [...map.entries()].sort();
        return {
            global: this.globalConfiguration,
            configurations: sorted(this.configurations),
            values: sorted(this.values),
            subTrees: sorted(this.subTrees).map(([k, tree]) => [k, sorted(tree)]),
        };
    }
}

// One op of every kind, with binary keys and values.
function everyKind() {
    const allBytes = Uint8Array.from({length: 256}, (_, i) => i);
    return [
        Plog.Op.new_configure(null, {compression: 'none', 'ü': 'ß'}, 1),
        Plog.Op.new_configure(bytes('color'), {type: 'string'}, 2),
        Plog.Op.new_put(bytes('color'), bytes('blue'), 3),
        Plog.Op.new_put(new Uint8Array([0, 1, 0xfe, 0xff]), allBytes, 4),
        Plog.Op.new_sub_put(bytes('window'), bytes('width'), bytes('640'), 5),
        Plog.Op.new_sub_put(bytes('window'), bytes('height'), bytes('480'), 6),
        Plog.Op.new_delete(bytes('color')),
        Plog.Op.new_sub_delete(bytes('window'), bytes('height')),
        Plog.Op.new_clear(bytes('window'), 7),
        Plog.Op.new_clear(null, 8),
        Plog.Op.new(bytes('k'), bytes('s'), bytes('v'), 9, true, true, null),
        Plog.Op.new_configure(bytes('color'), {}, 10),
    ];
}

// The tests

// new_with_pairs: a configuration as a plain array of names and values,
// which GJS turns into strings without the leak of a GHashTable.
function testOpWithPairs() {
    const op = Plog.Op.new_with_pairs(bytes('key'), null, null, 3, false, false,
        ['codec', 'zstd', 'level', '3']);
    assertEqual(op.get_kind(), Plog.OpKind.CONFIGURE, 'kind');
    assertEqual(op.get_configuration(), {codec: 'zstd', level: '3'}, 'configuration');
    assert(op.equal(Plog.Op.new_configure(bytes('key'), {codec: 'zstd', level: '3'}, 3)),
        'the op new_configure() makes');
    const empty = Plog.Op.new_with_pairs(null, null, null, 4, false, false, []);
    assertEqual(empty.get_configuration(), {}, 'an empty configuration');
    const none = Plog.Op.new_with_pairs(bytes('k'), null, bytes('v'), 5, true, false, null);
    assertEqual(none.get_kind(), Plog.OpKind.PUT, 'no configuration');
}

function testOpAccessors() {
    // Uint8Array in, where the C function takes a GBytes.
    const op = Plog.Op.new_sub_put(bytes('key'), bytes('sub'), bytes('value'), -42);
    assertEqual(op.get_kind(), Plog.OpKind.SUB_PUT, 'kind');
    assertEqual(op.get_timestamp(), -42, 'timestamp');
    assert(op.get_put() && !op.get_clear(), 'flags');
    assertEqual(op.get_configuration(), null, 'configuration');

    // Uint8Array out from the (array length=...) accessors.
    const key = op.get_key_data();
    assert(key instanceof Uint8Array, 'get_key_data() gives a Uint8Array');
    assertEqual(decoder.decode(key), 'key', 'key');
    assertEqual(decoder.decode(op.get_sub_key_data()), 'sub', 'sub key');
    assertEqual(decoder.decode(op.get_value_data()), 'value', 'value');

    // GLib.Bytes out from the GBytes accessors; toArray() is the Uint8Array.
    const keyBytes = op.get_key();
    assert(keyBytes instanceof GLib.Bytes, 'get_key() gives a GLib.Bytes');
    assertEqual(decoder.decode(keyBytes.toArray()), 'key', 'key bytes');

    // A GLib.Bytes goes in as well.
    const fromBytes = Plog.Op.new_put(new GLib.Bytes(bytes('key')), keyBytes, 1);
    assertEqual(decoder.decode(fromBytes.get_value_data()), 'key', 'value from GLib.Bytes');

    // Absent and empty fields: NULL for the GBytes accessors, an empty
    // Uint8Array for the data accessors.
    for (const empty of [null, new Uint8Array(0)]) {
        const del = Plog.Op.new_put(empty, empty, 0);
        assertEqual(del.get_key(), null, 'absent key');
        assertEqual(del.get_value(), null, 'absent value');
        const data = del.get_key_data();
        assert(data instanceof Uint8Array && data.length === 0, 'empty key data');
        assertEqual(del.get_value_data().length, 0, 'empty value data');
    }

    // Binary data comes back byte for byte.
    const allBytes = Uint8Array.from({length: 256}, (_, i) => i);
    const binary = Plog.Op.new_put(allBytes, allBytes, 0);
    assertEqual(hex(binary.get_value_data()), hex(allBytes), 'binary value');
    assertEqual(hex(binary.get_key().toArray()), hex(allBytes), 'binary key');

    // The configuration is a JS object in and out (GHashTable<utf8,utf8>).
    const conf = Plog.Op.new_configure(null, {a: 'b', 'ключ': 'значение'}, 5);
    assertEqual(conf.get_kind(), Plog.OpKind.CONFIGURE, 'configure kind');
    assertEqual(configurationOf(conf), {a: 'b', 'ключ': 'значение'}, 'configuration');
    assert(conf.to_string().includes('"ключ"="значение"'), `stored as UTF-8: ${conf.to_string()}`);
    assertEqual(conf.get_configuration().a, 'b', 'an ASCII key as it is');
    assertEqual(conf.get_key(), null, 'global configuration has no key');

    const kinds = everyKind().map(o => o.get_kind());
    assertEqual(kinds, [
        Plog.OpKind.CONFIGURE, Plog.OpKind.CONFIGURE, Plog.OpKind.PUT,
        Plog.OpKind.PUT, Plog.OpKind.SUB_PUT, Plog.OpKind.SUB_PUT,
        Plog.OpKind.DELETE, Plog.OpKind.SUB_DELETE, Plog.OpKind.CLEAR,
        Plog.OpKind.CLEAR, Plog.OpKind.SUB_PUT, Plog.OpKind.CONFIGURE,
    ], 'kinds');

    assert(op.equal(Plog.Op.new_sub_put(bytes('key'), bytes('sub'), bytes('value'), -42)),
        'equal()');
    assert(!op.equal(fromBytes), 'not equal()');
    assert(op.to_string().startsWith('sub-put'), `to_string(): ${op.to_string()}`);
    assertEqual(Plog.OP_MAX_SIZE, 64 * 1024 * 1024, 'OP_MAX_SIZE');
}

function testRoundTrip() {
    const dir = makeTempDir();
    const logger = Plog.Logger.new(dir);
    assertEqual(logger.directory, dir, 'directory property');
    assertEqual(logger.get_directory(), dir, 'get_directory()');
    assertEqual(logger.recording, false, 'recording before record()');

    const notified = [];
    logger.connect('notify::recording', () => notified.push(logger.recording));

    logger.record();
    assertEqual(logger.recording, true, 'recording after record()');
    logger.record(); // a no-op
    const ops = everyKind();
    for (const op of ops)
        logger.dump(op);
    logger.flush();
    logger.stop();
    logger.stop(); // a no-op
    assertEqual(logger.recording, false, 'recording after stop()');
    assertEqual(notified, [true, false], 'notify::recording');

    // play() with a callback, which may keep the ops it is given: in
    // bindings play() is plog_logger_play_full(), which hands the callback
    // its own reference. For each op, play() calls the callback, then
    // emits ::replayed.
    const fromCallback = [];
    const events = [];
    const handlerId = logger.connect('replayed', handler((self, op) => {
        assert(self === logger, 'replayed: the logger');
        events.push(['signal', fields(op)]);
    }));
    assert(logger.play(handler(op => {
        events.push(['callback', fields(op)]);
        fromCallback.push(op);
    }), null), 'play() returns true');
    logger.disconnect(handlerId);
    assertEqual(events, ops.flatMap(o => [['callback', fields(o)], ['signal', fields(o)]]),
        'play(): the callback, then the signal, for each op');

    // The replayed signal alone; the handler keeps the ops it is given.
    const fromSignal = [];
    const id = logger.connect('replayed', (self, op) => fromSignal.push(op));
    logger.play(null, null);
    logger.disconnect(id);

    // A cursor: next() until null.
    const fromCursor = [];
    const cursor = logger.open_cursor();
    let op;
    while ((op = cursor.next(null)) !== null)
        fromCursor.push(op);
    assertEqual(cursor.next(null), null, 'a finished cursor stays finished');

    // Ops kept from the callback and the signal handler stay valid once
    // those returned, through garbage collections and new allocations.
    System.gc();
    const churn = [];
    for (let i = 0; i < 2000; i++)
        churn.push(Plog.Op.new_put(bytes(`churn ${i}`), new Uint8Array(64).fill(i & 0xff), i));
    churn.length = 0;
    System.gc();

    assertSameOps(fromCallback, ops, 'play() callback');
    assertSameOps(fromSignal, ops, 'replayed signal');
    assertSameOps(fromCursor, ops, 'cursor');

    // The state the replay rebuilds.
    const model = new Model();
    ops.forEach(o => model.apply(o));
    const replayed = new Model();
    logger.play(handler(o => replayed.apply(o)), null);
    assertEqual(replayed, model, 'replayed state');
}

function testProperties() {
    const dir = makeTempDir();
    const logger = new Plog.Logger({directory: dir});
    logger.init(null); // GInitable: takes the lock
    assertEqual(logger.max_size, 0, 'max-size default');
    assertEqual(logger.sync_mode, Plog.SyncMode.PERIODIC, 'sync-mode default');

    const notified = [];
    logger.connect('notify', (self, pspec) => notified.push(pspec.get_name()));
    logger.limit(1 << 20);
    assertEqual(logger.maxSize, 1 << 20, 'limit() sets max-size');
    logger.max_size = 4096;
    assertEqual(logger.get_max_size(), 4096, 'max-size property');
    logger.limit(4096); // unchanged: no notify
    logger.sync_mode = Plog.SyncMode.ALWAYS;
    assertEqual(logger.get_sync_mode(), Plog.SyncMode.ALWAYS, 'sync-mode property');
    logger.set_sync_mode(Plog.SyncMode.NONE);
    assertEqual(notified, ['max-size', 'max-size', 'sync-mode', 'sync-mode'], 'notify');

    // The sync mode may change while recording.
    logger.record();
    logger.dump(Plog.Op.new_put(bytes('a'), bytes('1'), 1));
    logger.sync_mode = Plog.SyncMode.ALWAYS;
    logger.dump(Plog.Op.new_put(bytes('b'), bytes('2'), 2));
    logger.stop();
    let n = 0;
    logger.play(() => n++, null);
    assertEqual(n, 2, 'ops replayed');

    // clear() removes every op; a recording logger goes on recording.
    logger.record();
    logger.clear();
    assert(logger.recording, 'recording after clear()');
    logger.dump(Plog.Op.new_put(bytes('c'), bytes('3'), 3));
    logger.stop();
    const left = [];
    logger.play(o => left.push(fields(o)), null);
    assertEqual(left, [fields(Plog.Op.new_put(bytes('c'), bytes('3'), 3))], 'after clear()');

    // close() releases the directory at once; calls then fail cleanly.
    logger.close();
    assert(!logger.recording, 'not recording once closed');
    assertThrows(() => logger.record(), Plog.error_quark(), Plog.Error.FAILED, 'record() once closed');

    // Without init(), the first call initializes the logger.
    const lazy = new Plog.Logger({directory: dir});
    lazy.record();
    lazy.dump(Plog.Op.new_put(bytes('d'), bytes('4'), 4));
    lazy.stop();
    let m = 0;
    lazy.play(() => m++, null);
    assertEqual(m, 2, 'ops replayed by a logger that was not init()ed');
    lazy.close();
}

// Random ops over a few keys, a small max-size, so that automatic
// compactions run while ops are dumped; then the replayed state must be
// the model's.
function testAutomaticCompaction() {
    const dir = makeTempDir();
    const logger = Plog.Logger.new(dir);
    logger.limit(4096);
    let compacted = 0;
    logger.connect('compacted', handler(self => {
        assert(self === logger, 'compacted: the logger');
        // Emitted in the main thread, in the context that created the
        // logger, while this script iterates it.
        assert(GLib.MainContext.default().is_owner(), 'compacted: in the default context');
        compacted++;
    }));

    const model = new Model();
    let seed = 12345;
    const random = n => {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        return seed % n;
    };
    const context = GLib.MainContext.default();
    logger.record();
    for (let i = 0; i < 3000; i++) {
        const key = bytes(`key-${random(40)}`);
        const sub = bytes(`sub-${random(5)}`);
        const value = bytes(`value-${i}-`.padEnd(20 + random(40), '*'));
        let op;
        switch (random(20)) {
        case 0: op = Plog.Op.new_delete(key); break;
        case 1: op = Plog.Op.new_sub_delete(key, sub); break;
        case 2: op = Plog.Op.new_clear(key, i); break;
        case 3: op = Plog.Op.new_configure(key, {n: `${i}`}, i); break;
        case 4: op = Plog.Op.new_sub_put(key, sub, value, i); break;
        case 5: op = Plog.Op.new_sub_put(key, sub, value, i); break;
        default: op = Plog.Op.new_put(key, value, i);
        }
        if (i === 1500)
            op = Plog.Op.new_clear(null, i);
        logger.dump(op);
        model.apply(op);
        if (i % 100 === 0)
            context.iteration(false);
    }
    iterateUntil(() => compacted > 0);
    logger.stop();
    // stop() waited for a running compaction; deliver its signal.
    while (context.pending())
        context.iteration(false);
    assert(compacted > 0, 'compacted was emitted');

    const snapshots = listDir(dir).filter(n => n.endsWith('.snap'));
    assert(snapshots.length >= 1, `a snapshot exists: ${listDir(dir)}`);

    const replayed = new Model();
    let n = 0;
    logger.play(handler(op => {
        replayed.apply(op);
        n++;
    }), null);
    assertEqual(replayed, model, 'state after automatic compactions');
    assert(n < 3000, `compaction dropped overwritten ops (${n} replayed)`);
}

// compact_async and play_async with callbacks and a GLib.MainLoop.
function testAsyncMainLoop() {
    const dir = makeTempDir();
    const logger = Plog.Logger.new(dir);
    const ops = everyKind();
    logger.record();
    ops.forEach(op => logger.dump(op));

    let compactedSignals = 0;
    logger.connect('compacted', () => compactedSignals++);
    runMainLoop(quit => {
        logger.compact_async(null, (self, result) => {
            try {
                assert(self === logger, 'source object');
                assert(self.compact_finish(result), 'compact_finish()');
                quit();
            } catch (e) {
                quit(e);
            }
        });
    });
    assert(compactedSignals >= 1, 'compacted after compact_async()');

    // Everything dumped before the call is in the snapshot now.
    const after = Plog.Op.new_put(bytes('after'), bytes('compaction'), 99);
    logger.dump(after);
    logger.stop();

    const model = new Model();
    [...ops, after].forEach(op => model.apply(op));
    const replayed = new Model();
    const kept = [], keptFields = [];
    runMainLoop(quit => {
        const id = logger.connect('replayed', handler((self, op) => {
            // Emitted in this thread's context, never on the worker.
            assert(GLib.MainContext.default().is_owner(), 'replayed: in the default context');
            replayed.apply(op);
            kept.push(op);
            keptFields.push(fields(op));
        }));
        logger.play_async(null, (self, result) => {
            self.disconnect(id);
            try {
                assert(self.play_finish(result), 'play_finish()');
                quit();
            } catch (e) {
                quit(e);
            }
        });
    });
    assertEqual(replayed, model, 'state from play_async()');
    System.gc();
    assertEqual(kept.map(fields), keptFields, 'ops kept from play_async()');
    assertEqual(fields(kept[kept.length - 1]), fields(after), 'the last op');

    // A cancelled play_async fails with G_IO_ERROR_CANCELLED.
    const cancellable = new Gio.Cancellable();
    cancellable.cancel();
    runMainLoop(quit => {
        logger.play_async(cancellable, (self, result) => {
            try {
                assertThrows(() => self.play_finish(result),
                    Gio.IOErrorEnum, Gio.IOErrorEnum.CANCELLED, 'cancelled play_async()');
                quit();
            } catch (e) {
                quit(e);
            }
        });
    });
}

// The same with Gio._promisify and await.
async function testAsyncAwait() {
    const dir = makeTempDir();
    const logger = Plog.Logger.new(dir);
    const ops = everyKind();
    logger.record();
    ops.forEach(op => logger.dump(op));

    let compactedSignals = 0;
    logger.connect('compacted', () => compactedSignals++);
    assert(await logger.compact_async(null), 'await compact_async()');
    iterateUntil(() => compactedSignals > 0);

    logger.stop();
    const fromSignal = [];
    const id = logger.connect('replayed', (self, op) => fromSignal.push(op));
    assert(await logger.play_async(null), 'await play_async()');
    logger.disconnect(id);
    System.gc();

    // The snapshot holds the live entries, configurations first.
    const model = new Model();
    ops.forEach(op => model.apply(op));
    const replayed = new Model();
    fromSignal.forEach(op => replayed.apply(op));
    assertEqual(replayed, model, 'state from await play_async()');
    const firstKinds = fromSignal.slice(0, 1).map(op => op.get_kind());
    assertEqual(firstKinds, [Plog.OpKind.CONFIGURE], 'configurations first');

    const cancellable = new Gio.Cancellable();
    cancellable.cancel();
    await assertRejects(logger.play_async(cancellable),
        Gio.IOErrorEnum, Gio.IOErrorEnum.CANCELLED, 'await cancelled play_async()');
}

// record_async, clear_async, flush_async and stop_async with await:
// `recording` is notified before each promise resolves.
async function testLifecycleAwait() {
    const dir = makeTempDir();
    const logger = Plog.Logger.new(dir);
    const ops = everyKind();
    const notified = [];
    logger.connect('notify::recording', self => notified.push(self.recording));

    assert(await logger.record_async(null), 'await record_async()');
    assertEqual(notified, [true], 'notified before record_async() resolved');
    ops.forEach(op => logger.dump(op));
    assert(await logger.clear_async(null), 'await clear_async()');
    assert(logger.recording, 'recording after clear_async()');
    assert(logger.open_cursor().next(null) === null, 'nothing left after clear_async()');
    ops.forEach(op => logger.dump(op));
    assert(await logger.flush_async(null), 'await flush_async()');
    assert(await logger.stop_async(null), 'await stop_async()');
    assertEqual(notified, [true, false], 'notified before stop_async() resolved');
    assertThrows(() => logger.dump(ops[0]),
        Plog.Error, Plog.Error.NOT_RECORDING, 'dump() after stop_async()');

    const cancellable = new Gio.Cancellable();
    cancellable.cancel();
    await assertRejects(logger.record_async(cancellable),
        Gio.IOErrorEnum, Gio.IOErrorEnum.CANCELLED, 'await cancelled record_async()');
    assert(!logger.recording, 'not recording after a cancelled record_async()');

    const model = new Model();
    ops.forEach(op => model.apply(op));
    const replayed = new Model();
    const cursor = logger.open_cursor();
    for (let op; (op = cursor.next(null)) !== null;)
        replayed.apply(op);
    assertEqual(replayed, model, 'state after stop_async()');
    logger.close();
}

function testErrors() {
    const dir = makeTempDir();
    const logger = Plog.Logger.new(dir);

    // Dump while not recording.
    let e = assertThrows(() => logger.dump(Plog.Op.new_put(bytes('k'), bytes('v'), 0)),
        Plog.Error, Plog.Error.NOT_RECORDING, 'dump() while not recording');
    assert(e.message.includes(dir), `message names the directory: ${e.message}`);
    assert(e instanceof GLib.Error, 'a GLib.Error');
    assertEqual(e.domain, Plog.Error.quark(), 'domain');

    // A second logger on a locked directory, both ways of making one.
    e = assertThrows(() => Plog.Logger.new(dir),
        Plog.Error, Plog.Error.LOCKED, 'Plog.Logger.new() on a locked directory');
    assert(e.message.includes(dir), `message names the directory: ${e.message}`);
    assertThrows(() => new Plog.Logger({directory: dir}).init(null),
        Plog.Error, Plog.Error.LOCKED, 'init() on a locked directory');

    // Bad directories.
    assertThrows(() => Plog.Logger.new(''),
        Plog.Error, Plog.Error.INVALID, 'empty directory path');
    const file = GLib.build_filenamev([makeTempDir(), 'file']);
    GLib.file_set_contents(file, 'not a directory');
    e = assertThrows(() => Plog.Logger.new(file),
        Plog.Error, Plog.Error.IO, 'a regular file as directory');
    assert(e.message.includes(file), `message names the file: ${e.message}`);

    // An op too large for a record.
    logger.record();
    assertThrows(() => logger.dump(Plog.Op.new_put(bytes('big'), new Uint8Array(Plog.OP_MAX_SIZE), 0)),
        Plog.Error, Plog.Error.TOO_LARGE, 'an op larger than OP_MAX_SIZE');
    // That 64 MiB allocation may have started an incremental garbage
    // collection. GJS 1.74 refuses to run JS callbacks and signal handlers
    // while such a collection sweeps ("Attempting to run a JS callback
    // during garbage collection"), so finish it before play() below.
    System.gc();

    // A damaged log: a flipped byte in the middle of a log of several
    // records (see docs/format.md) is corruption, not a torn tail.
    const ops = [];
    for (let i = 0; i < 5; i++)
        ops.push(Plog.Op.new_put(bytes(`key ${i}`), new Uint8Array(100).fill(0x41 + i), i + 1));
    ops.forEach(op => logger.dump(op));
    logger.stop();
    const logs = listDir(dir).filter(n => n.endsWith('.log'));
    assertEqual(logs.length, 1, `one log: ${listDir(dir)}`);
    const path = GLib.build_filenamev([dir, logs[0]]);
    const [, contents] = GLib.file_get_contents(path);
    const damaged = Uint8Array.from(contents);
    const middle = Math.floor(damaged.length / 2);
    damaged[middle] ^= 0xff;
    GLib.file_set_contents(path, damaged);

    const delivered = [];
    e = assertThrows(() => logger.play(handler(op => delivered.push(fields(op))), null),
        Plog.Error, Plog.Error.CORRUPT, 'play() of a damaged log');
    assert(e.message.includes(logs[0]), `message names the file: ${e.message}`);
    // The five records have the same size: the flipped byte is in the
    // third, and the message gives the offset where that record starts.
    const recordSize = (damaged.length - 16) / 5;
    assert(Number.isInteger(recordSize), 'records of one size');
    assert(e.message.includes(`offset ${16 + 2 * recordSize}`),
        `message gives the offset of the bad record: ${e.message}`);
    assertEqual(delivered, ops.slice(0, 2).map(fields), 'ops before the damage');

    const cursor = logger.open_cursor();
    assertEqual(fields(cursor.next(null)), fields(ops[0]), 'cursor: first op');
    assertEqual(fields(cursor.next(null)), fields(ops[1]), 'cursor: second op');
    assertThrows(() => cursor.next(null), Plog.Error, Plog.Error.CORRUPT, 'cursor on damage');
    assertEqual(cursor.next(null), null, 'cursor finished after the error');

    assertThrows(() => logger.record(), Plog.Error, Plog.Error.CORRUPT, 'record() on damage');
    assert(!logger.recording, 'not recording after a failed record()');

    // Cancelled.
    const cancellable = new Gio.Cancellable();
    cancellable.cancel();
    assertThrows(() => logger.play(null, cancellable),
        Gio.IOErrorEnum, Gio.IOErrorEnum.CANCELLED, 'cancelled play()');
}

// A large replay read through a cursor: every op, in order. GJS 1.74
// (Debian 12) blocks calls from C into JavaScript while an incremental
// garbage collection sweeps, so a play() or play_async() of this size
// loses its callbacks and signals there; a cursor calls nothing back,
// and the README points JavaScript to it for large replays.
function testLargeCursorReplay() {
    const n = 150000;
    const dir = makeTempDir();
    const logger = Plog.Logger.new(dir);
    logger.set_sync_mode(Plog.SyncMode.NONE);
    logger.record();
    for (let i = 0; i < n; i++)
        logger.dump(Plog.Op.new_put(bytes(`key ${i}`), bytes(`value ${i}`), i + 1));
    logger.stop();

    const cursor = logger.open_cursor();
    let count = 0;
    for (let op; (op = cursor.next(null)) !== null; count++) {
        if (op.get_timestamp() !== count + 1 ||
            decoder.decode(op.get_value_data()) !== `value ${count}`)
            throw new AssertionError(`cursor: op ${count} is ${op.to_string()}`);
    }
    assertEqual(count, n, 'ops read through the cursor');
    logger.close();
}

// The runner

const tests = [
    ['Op constructors and accessors, Uint8Array in and out', testOpAccessors],
    ['Op.new_with_pairs', testOpWithPairs],
    ['round trip of every op kind: callback, signal, cursor', testRoundTrip],
    ['properties, notify, clear', testProperties],
    ['automatic compactions with a small max-size', testAutomaticCompaction],
    ['compact_async and play_async on a GLib.MainLoop', testAsyncMainLoop],
    ['compact_async and play_async with _promisify and await', testAsyncAwait],
    ['record_async, clear_async, flush_async and stop_async with await', testLifecycleAwait],
    ['errors', testErrors],
    ['a large replay through a cursor', testLargeCursorReplay],
];

let passed = 0, failed = 0;
print(`1..${tests.length}`);
for (const [i, [name, test]] of tests.entries()) {
    try {
        handlerErrors.length = 0;
        // eslint-disable-next-line no-await-in-loop
        await test();
        if (handlerErrors.length > 0)
            throw handlerErrors[0];
        passed++;
        print(`ok ${i + 1} - ${name}`);
    } catch (e) {
        failed++;
        print(`not ok ${i + 1} - ${name}`);
        for (const error of new Set([e, ...handlerErrors])) {
            for (const line of `${error}\n${error.stack ?? ''}`.trimEnd().split('\n'))
                print(`# ${line}`);
        }
    }
}

System.gc();
for (const dir of tempDirs) {
    try {
        removeTree(dir);
    } catch (e) {
        printerr(`# could not remove ${dir}: ${e.message}`);
    }
}

print(`# ${passed} passed, ${failed} failed`);
if (failed > 0)
    throw new Error(`${failed} of ${tests.length} tests failed`);
