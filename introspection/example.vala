/* example.vala: libplog from Vala.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Rebuilds a small key-value state from the log of a directory, records a
 * few changes, and replays them. Run it again to see the state come back.
 * Build it against the installed vapi:
 *
 *     valac --pkg plog-1.0 example.vala
 *     ./example [DIRECTORY]
 *
 * The directory defaults to plog-example in the user's cache directory.
 */

static string text (uint8[]? data) {
    var s = new StringBuilder ();
    if (data != null)
        s.append_len ((string) data, data.length);
    return s.str;
}

static async void run (string directory) throws Error {
    var logger = new Plog.Logger (directory);

    /* Rebuild the state. play_async () reads the files on a worker thread
     * and emits ::replayed in this thread, for each op in order. */
    var state = new HashTable<string, string> (str_hash, str_equal);
    var handler = logger.replayed.connect ((op) => {
        switch (op.get_kind ()) {
        case Plog.OpKind.PUT:
            state[text (op.get_key_data ())] = text (op.get_value_data ());
            break;
        case Plog.OpKind.DELETE:
            state.remove (text (op.get_key_data ()));
            break;
        default:
            break;
        }
    });
    yield logger.play_async ();
    logger.disconnect (handler);
    print ("%u keys replayed from %s\n", state.size (), directory);

    /* Record changes: keys and values are GLib.Bytes. */
    logger.compacted.connect (() => print ("a compaction landed\n"));
    logger.record ();
    var now = get_real_time ();
    var runs = int.parse (state["runs"] ?? "0") + 1;
    var configuration = new HashTable<string, string> (str_hash, str_equal);
    configuration["format"] = "text";
    logger.dump (new Plog.Op.configure (null, configuration, now));
    logger.dump (new Plog.Op.put (new Bytes ("runs".data), new Bytes (runs.to_string ().data), now));
    logger.dump (new Plog.Op.put (new Bytes ("color".data), new Bytes ("blue".data), now));
    logger.dump (new Plog.Op.@delete (new Bytes ("color".data)));

    /* Merge what was logged so far into a snapshot, on a worker thread. */
    yield logger.compact_async ();
    logger.stop ();

    /* Read the directory back with play () and a closure. */
    int n = 0;
    logger.play ((op) => {
        print ("%s\n", op.to_string ());
        n++;
    });
    print ("%d ops in the log\n", n);

    /* Errors are Plog.Error. */
    try {
        logger.dump (new Plog.Op.put (new Bytes ("late".data), null, now));
    } catch (Plog.Error.NOT_RECORDING e) {
        print ("as expected: %s\n", e.message);
    }
    print ("run number %d\n", runs);
}

int main (string[] args) {
    var directory = args.length > 1
        ? args[1]
        : Path.build_filename (Environment.get_user_cache_dir (), "plog-example");

    var loop = new MainLoop ();
    int status = 0;
    run.begin (directory, (obj, res) => {
        try {
            run.end (res);
        } catch (Plog.Error.LOCKED e) {
            printerr ("Another program is using %s\n", directory);
            status = 1;
        } catch (Error e) {
            printerr ("%s\n", e.message);
            status = 1;
        }
        loop.quit ();
    });
    loop.run ();
    return status;
}
