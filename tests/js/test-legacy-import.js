// test-legacy-import.js: libplog through GJS's legacy imports.gi, as a
// plain script (gjs without -m), the way older GJS programs load it.
//
// SPDX-License-Identifier: LGPL-2.1-or-later

imports.gi.versions.Plog = '1.0';

const {GLib, Gio} = imports.gi;
const Plog = imports.gi.Plog;
const System = imports.system;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function assert(condition, message) {
    if (!condition)
        throw new Error(`assertion failed: ${message}`);
}

print('1..1');

const dir = GLib.dir_make_tmp('plog-js-legacy-XXXXXX');
const logger = Plog.Logger.new(dir);
logger.record();
logger.dump(Plog.Op.new_put(encoder.encode('greeting'), encoder.encode('hello'), 1));
logger.dump(Plog.Op.new_configure(null, {mode: 'legacy'}, 2));
logger.stop();

const seen = [];
logger.play(op => seen.push(op), null);
System.gc();
assert(seen.length === 2, `two ops, got ${seen.length}`);
assert(seen[0].get_kind() === Plog.OpKind.PUT, 'a put');
assert(decoder.decode(seen[0].get_value_data()) === 'hello', 'the value');
assert(seen[1].get_configuration().mode === 'legacy', 'the configuration');

try {
    logger.dump(Plog.Op.new_delete(encoder.encode('greeting')));
    throw new Error('dump() while not recording did not fail');
} catch (e) {
    assert(e.matches(Plog.Error, Plog.Error.NOT_RECORDING), `NOT_RECORDING, got ${e}`);
}

const directory = Gio.File.new_for_path(dir);
const children = directory.enumerate_children('standard::name',
    Gio.FileQueryInfoFlags.NOFOLLOW_SYMLINKS, null);
let info;
while ((info = children.next_file(null)) !== null)
    directory.get_child(info.get_name()).delete(null);
children.close(null);
directory.delete(null);

print('ok 1 - imports.gi.Plog');
print('# 1 passed, 0 failed');
