/* test-roundtrip.vala: libplog from Vala, through the generated
 * plog-1.0.vapi: record, dump puts and a configure, stop, replay through a
 * closure, the ::replayed signal and a cursor, compact and replay
 * asynchronously, and compare.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

static Bytes b (string s) {
    return new Bytes (s.data);
}

static string text (uint8[]? data) {
    if (data == null || data.length == 0)
        return "";
    var s = new StringBuilder.sized (data.length);
    s.append_len ((string) data, data.length);
    return s.str;
}

static void check (bool condition, string what) {
    if (!condition)
        error ("check failed: %s", what);
}

static void check_same (Plog.Op[] actual, Plog.Op[] expected, string what) {
    check (actual.length == expected.length,
           "%s: %d ops, expected %d".printf (what, actual.length, expected.length));
    for (int i = 0; i < expected.length; i++) {
        check (actual[i].equal (expected[i]),
               "%s: op %d is %s, expected %s".printf (what, i, actual[i].to_string (),
                                                      expected[i].to_string ()));
    }
}

static void remove_tree (string path) throws Error {
    var dir = File.new_for_path (path);
    var children = dir.enumerate_children (FileAttribute.STANDARD_NAME,
                                           FileQueryInfoFlags.NOFOLLOW_SYMLINKS);
    FileInfo? info;
    while ((info = children.next_file ()) != null)
        dir.get_child (info.get_name ()).delete ();
    dir.delete ();
}

static void test_round_trip (string directory) throws Error {
    var logger = new Plog.Logger (directory);
    check (logger.directory == directory, "directory");

    bool[] notified = {};
    logger.notify["recording"].connect (() => notified += logger.recording);

    var configuration = new HashTable<string, string> (str_hash, str_equal);
    configuration["compression"] = "none";
    configuration["theme"] = "dark";

    uint8[] binary = new uint8[256];
    for (int i = 0; i < binary.length; i++)
        binary[i] = (uint8) i;

    Plog.Op[] ops = {
        new Plog.Op.configure (null, configuration, 1),
        new Plog.Op.put (b ("color"), b ("blue"), 2),
        new Plog.Op.put (new Bytes (binary), new Bytes (binary), 3),
        new Plog.Op.sub_put (b ("window"), b ("width"), b ("640"), 4),
        new Plog.Op.put (b ("color"), b ("green"), 5),
    };

    logger.record ();
    check (logger.recording, "recording after record ()");
    foreach (var op in ops)
        logger.dump (op);
    logger.stop ();
    check (!logger.recording, "recording after stop ()");
    check (notified.length == 2 && notified[0] && !notified[1], "notify::recording");

    /* play () with a closure: it captures locals, and keeps the ops. */
    Plog.Op[] from_closure = {};
    int n_signals = 0;
    var handler = logger.replayed.connect ((op) => n_signals++);
    logger.play ((op) => from_closure += op);
    logger.disconnect (handler);
    check_same (from_closure, ops, "play () with a closure");
    check (n_signals == ops.length, "::replayed for each op");

    /* The fields, through the Vala accessors. */
    var put = from_closure[1];
    check (put.get_kind () == Plog.OpKind.PUT, "kind");
    check (text (put.get_key_data ()) == "color", "key data");
    check (put.get_value ().compare (b ("blue")) == 0, "value bytes");
    check (put.get_timestamp () == 2, "timestamp");
    check (put.get_put () && !put.get_clear (), "flags");
    check (put.get_sub_key () == null && put.get_sub_key_data ().length == 0, "no sub key");
    unowned uint8[] value = from_closure[2].get_value_data ();
    check (value.length == 256 && value[0] == 0 && value[255] == 255, "binary value");
    var conf = from_closure[0].get_configuration ();
    check (conf != null && conf.size () == 2 && conf["theme"] == "dark", "configuration");
    check (from_closure[0].get_kind () == Plog.OpKind.CONFIGURE, "configure kind");
    check (from_closure[3].get_kind () == Plog.OpKind.SUB_PUT &&
           text (from_closure[3].get_sub_key_data ()) == "width", "sub put");

    /* A cursor. */
    Plog.Op[] from_cursor = {};
    var cursor = logger.open_cursor ();
    Plog.Op? op;
    while ((op = cursor.next ()) != null)
        from_cursor += op;
    check_same (from_cursor, ops, "cursor");

    /* Errors are Plog.Error. */
    try {
        logger.dump (ops[0]);
        check (false, "dump () while not recording");
    } catch (Plog.Error.NOT_RECORDING e) {
        check (directory in e.message, "message names the directory");
    }
    try {
        var second = new Plog.Logger (directory);
        check (second == null, "a second logger");
    } catch (Plog.Error.LOCKED e) {
        check (directory in e.message, "message names the directory");
    }

    /* record_async, compact_async, flush_async, stop_async and
     * play_async on a main loop. */
    var loop = new MainLoop ();
    int n_compacted = 0;
    logger.compacted.connect (() => n_compacted++);
    Plog.Op[] from_signal = {};
    Error? async_error = null;
    run_async.begin (logger, (op) => from_signal += op, (obj, res) => {
        try {
            run_async.end (res);
        } catch (Error e) {
            async_error = e;
        }
        loop.quit ();
    });
    loop.run ();
    if (async_error != null)
        throw async_error;
    check (n_compacted >= 1, "::compacted after compact_async ()");

    /* After the compaction the snapshot holds the live entries: the
     * configuration first, and color's last value only. */
    check (from_signal.length == 4, "live entries: %d".printf (from_signal.length));
    check (from_signal[0].equal (ops[0]), "the configuration first");
    bool found_green = false;
    foreach (var o in from_signal) {
        check (!o.equal (ops[1]), "an overwritten put is gone");
        found_green |= o.equal (ops[4]);
    }
    check (found_green, "the last put is kept");
}

delegate void Collect (Plog.Op op);

static async void run_async (Plog.Logger logger, Collect collect) throws Error {
    yield logger.record_async ();
    check (logger.recording, "recording after record_async ()");
    yield logger.compact_async ();
    yield logger.flush_async ();
    yield logger.stop_async ();
    check (!logger.recording, "not recording after stop_async ()");
    var handler = logger.replayed.connect ((op) => collect (op));
    try {
        yield logger.play_async (null);
    } finally {
        logger.disconnect (handler);
    }
}

int main (string[] args) {
    string directory;
    try {
        directory = DirUtils.make_tmp ("plog-vala-XXXXXX");
    } catch (Error e) {
        printerr ("%s\n", e.message);
        return 1;
    }

    int status = 0;
    print ("1..1\n");
    try {
        test_round_trip (directory);
        print ("ok 1 - round trip\n");
    } catch (Error e) {
        print ("not ok 1 - round trip\n# %s\n", e.message);
        status = 1;
    }

    try {
        remove_tree (directory);
    } catch (Error e) {
        printerr ("# could not remove %s: %s\n", directory, e.message);
    }
    return status;
}
