// A map from namespace to the base URL of its documentation, so that
// links to types of the dependencies (GLib.Bytes, GLib.HashTable,
// Gio.Cancellable, ...) resolve to their online references.
baseURLs = [
  [ 'GLib', 'https://docs.gtk.org/glib/' ],
  [ 'GObject', 'https://docs.gtk.org/gobject/' ],
  [ 'Gio', 'https://docs.gtk.org/gio/' ],
]
