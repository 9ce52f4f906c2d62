#!/usr/bin/env -S gjs -m
// example.js: libplog from GJS.
//
// SPDX-License-Identifier: LGPL-2.1-or-later
//
// Rebuilds a small key-value state from the log of a directory, records a
// few changes, and replays them. Run it again to see the state come back:
//
//     gjs -m example.js [DIRECTORY]
//
// The directory defaults to plog-example in the user's cache directory.
//
// From a build tree, run it inside `meson devenv -C _build`, which sets
// GI_TYPELIB_PATH and LD_LIBRARY_PATH.

import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import System from 'system';

import Plog from 'gi://Plog?version=1.0';

// The _async/_finish pairs become methods that return promises.
Gio._promisify(Plog.Logger.prototype, 'play_async', 'play_finish');
Gio._promisify(Plog.Logger.prototype, 'compact_async', 'compact_finish');

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const directory = System.programArgs[0] ??
    GLib.build_filenamev([GLib.get_user_cache_dir(), 'plog-example']);

let logger;
try {
    logger = Plog.Logger.new(directory);
} catch (e) {
    if (e.matches(Plog.Error, Plog.Error.LOCKED))
        printerr(`Another program is using ${directory}`);
    else
        printerr(e.message);
    System.exit(1);
}

// Rebuild the state. play_async() reads the files on a worker thread and
// emits ::replayed here, in this thread, for each op in order. An op given
// to a signal handler or a play() callback may be kept. With the GJS of
// Debian 12 (1.74), a replay of many thousands of ops can lose its calls
// into JavaScript (a GJS bug, see the README): read such a replay with a
// cursor, as at the end of this example.
const state = new Map();
const handler = logger.connect('replayed', (_logger, op) => {
    const key = decoder.decode(op.get_key_data());   // a Uint8Array
    switch (op.get_kind()) {
    case Plog.OpKind.PUT:
        state.set(key, decoder.decode(op.get_value_data()));
        break;
    case Plog.OpKind.DELETE:
        state.delete(key);
        break;
    case Plog.OpKind.CONFIGURE:
        print(`configuration of “${key}”: ${JSON.stringify(op.get_configuration())}`);
        break;
    default:
        break;
    }
});
await logger.play_async(null);
logger.disconnect(handler);
print(`${state.size} keys replayed from ${directory}`);

// Record changes. Keys and values are bytes: a Uint8Array (or a
// GLib.Bytes) where the C API takes a GBytes.
logger.connect('compacted', () => print('a compaction landed'));
logger.record();
const now = GLib.get_real_time();
const runs = Number(state.get('runs') ?? 0) + 1;
logger.dump(Plog.Op.new_configure(null, {format: 'text'}, now));
logger.dump(Plog.Op.new_put(encoder.encode('runs'), encoder.encode(`${runs}`), now));
logger.dump(Plog.Op.new_put(encoder.encode('color'), encoder.encode('blue'), now));
logger.dump(Plog.Op.new_delete(encoder.encode('color')));

// Merge what was logged so far into a snapshot, on a worker thread.
await logger.compact_async(null);
logger.stop();

// Read the directory back, op by op, with a cursor.
const cursor = logger.open_cursor();
let op;
while ((op = cursor.next(null)) !== null)
    print(op.to_string());

// Errors are GLib.Error in the Plog.Error domain.
try {
    logger.dump(Plog.Op.new_put(encoder.encode('late'), null, now));
} catch (e) {
    if (!e.matches(Plog.Error, Plog.Error.NOT_RECORDING))
        throw e;
    print(`as expected: ${e.message}`);
}
print(`run number ${runs}`);
