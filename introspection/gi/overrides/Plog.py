# Plog.py: PyGObject overrides for libplog
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# They make Plog read like Python:
#
# - keys, sub keys and values go in as bytes (or bytearray, memoryview,
#   GLib.Bytes) and come out as bytes: Plog.Op.new_put(b'k', b'v', 1),
#   op.key, op.sub_key, op.value;
# - an op reads like a value: op.timestamp, op.put, op.clear, op.kind,
#   op.configuration (a dict), ==, hash() and repr();
# - Plog.Logger(directory) opens the logger like Plog.Logger.new(directory),
#   for any file name (str, bytes or os.PathLike, UTF-8 or not); as a
#   context manager (with Plog.Logger(d) as logger:) it is closed at the
#   end of the block;
# - logger.play(func) calls func(op) and lets an exception of func end the
#   replay and propagate out of play(); it also takes a cancellable, and
#   user data as the C order has it: play(func, user_data, cancellable);
# - a cursor is a Python iterator: for op in logger.open_cursor(): ...
# - an op given to a play() callable or a ::replayed handler stays valid
#   for as long as Python keeps it.
#
# PyGObject finds this file through gi.overrides.__path__, which
# pkgutil.extend_path() extends with every gi/overrides directory on
# sys.path: installed, it is <site-packages>/gi/overrides/Plog.py; from
# the source tree, PYTHONPATH=<srcdir>/introspection does it.  Neither
# introspection/gi nor introspection/gi/overrides may hold an __init__.py:
# a regular package there would hide PyGObject's own gi package.

import functools
import os

from gi.repository import GLib, GObject, Gio

from ..overrides import override
from ..importer import modules

Plog = modules['Plog']._introspection_module

__all__ = []


def _bytes_arg(name, data, nullable=True):
    """Converts a bytes-like argument into what the C API takes: a
    GLib.Bytes, or None."""
    if data is None:
        if not nullable:
            raise TypeError('%s must be a bytes-like object, not None' % name)
        return None
    if isinstance(data, GLib.Bytes):
        return data
    if isinstance(data, str):
        raise TypeError('%s must be a bytes-like object, not str '
                        '(encode it first)' % name)
    try:
        view = memoryview(data)
    except TypeError:
        raise TypeError('%s must be a bytes-like object, not %s'
                        % (name, type(data).__name__)) from None
    return GLib.Bytes.new(view.tobytes())


def _configuration_arg(configuration, nullable=True):
    """Checks a configuration, a mapping of str to str, or None, and turns
    it into the list of names and values in turn that
    Plog.Op.new_with_pairs() takes: PyGObject 3.42 keeps a reference to
    every str of a dict that it turns into a GHashTable, and none of a
    list that it turns into an array of strings."""
    if configuration is None:
        if not nullable:
            raise TypeError('configuration must be a dict, not None')
        return None
    try:
        items = list(configuration.items())
    except AttributeError:
        raise TypeError('configuration must be a dict, not %s'
                        % type(configuration).__name__) from None
    for k, v in items:
        if not isinstance(k, str) or not isinstance(v, str):
            raise TypeError('configuration keys and values must be str, '
                            'not %s: %s' % (type(k).__name__, type(v).__name__))
        if '\0' in k or '\0' in v:
            raise ValueError('configuration keys and values cannot '
                             'contain NUL characters')
    return [s for item in items for s in item]


# The constructors of the typelib, before the override replaces them.
_op_new_put = Plog.Op.new_put
_op_new_sub_put = Plog.Op.new_sub_put
_op_new_delete = Plog.Op.new_delete
_op_new_sub_delete = Plog.Op.new_sub_delete
_op_new_clear = Plog.Op.new_clear
_op_new_with_pairs = Plog.Op.new_with_pairs


class Op(Plog.Op):
    """One operation of a log, an immutable value.

    Plog.Op(key=None, sub_key=None, value=None, timestamp=0, put=False,
    clear=False, configuration=None) is Plog.Op.new() with keywords. The
    bytes arguments take bytes, bytearray, memoryview, GLib.Bytes or None;
    an empty one is the same as None.
    """

    def __new__(cls, key=None, sub_key=None, value=None, timestamp=0,
                put=False, clear=False, configuration=None):
        return cls.new(key, sub_key, value, timestamp, put, clear,
                       configuration)

    def __init__(self, *args, **kwargs):
        # Everything was done by __new__; gi.Boxed.__init__ takes nothing.
        pass

    @classmethod
    def new(cls, key=None, sub_key=None, value=None, timestamp=0,
            put=False, clear=False, configuration=None):
        """Creates an op from all its fields."""
        return _op_new_with_pairs(_bytes_arg('key', key),
                                  _bytes_arg('sub_key', sub_key),
                                  _bytes_arg('value', value),
                                  timestamp, put, clear,
                                  _configuration_arg(configuration))

    @classmethod
    def new_with_pairs(cls, key=None, sub_key=None, value=None, timestamp=0,
                       put=False, clear=False, pairs=None):
        """Creates an op as new() does, with the configuration given as a
        list of names and values in turn, or None; new() and
        new_configure() take a dict and pass it this way."""
        if pairs is not None:
            pairs = list(pairs)
            if len(pairs) % 2 != 0:
                raise ValueError('pairs must hold names and values in turn')
            _configuration_arg(dict(zip(pairs[::2], pairs[1::2])))
        return _op_new_with_pairs(_bytes_arg('key', key),
                                  _bytes_arg('sub_key', sub_key),
                                  _bytes_arg('value', value),
                                  timestamp, put, clear, pairs)

    @classmethod
    def new_put(cls, key, value, timestamp=0):
        """Creates an op that sets the value of key."""
        return _op_new_put(_bytes_arg('key', key),
                           _bytes_arg('value', value), timestamp)

    @classmethod
    def new_sub_put(cls, key, sub_key, value, timestamp=0):
        """Creates an op that sets the value of sub_key under key."""
        return _op_new_sub_put(_bytes_arg('key', key),
                               _bytes_arg('sub_key', sub_key, False),
                               _bytes_arg('value', value), timestamp)

    @classmethod
    def new_delete(cls, key):
        """Creates an op that removes the value of key."""
        return _op_new_delete(_bytes_arg('key', key))

    @classmethod
    def new_sub_delete(cls, key, sub_key):
        """Creates an op that removes the value of sub_key under key."""
        return _op_new_sub_delete(_bytes_arg('key', key),
                                  _bytes_arg('sub_key', sub_key, False))

    @classmethod
    def new_clear(cls, key=None, timestamp=0):
        """Creates an op that removes the sub tree of key, or of every key
        when key is None."""
        return _op_new_clear(_bytes_arg('key', key), timestamp)

    @classmethod
    def new_configure(cls, key, configuration, timestamp=0):
        """Creates an op that replaces the configuration of key, or the
        global one when key is None; an empty dict removes it."""
        return _op_new_with_pairs(_bytes_arg('key', key), None, None,
                                  timestamp, False, False,
                                  _configuration_arg(configuration, False))

    @property
    def key(self):
        """The key as bytes, or None when it is absent or empty."""
        return self.get_key_data() or None

    @property
    def sub_key(self):
        """The sub key as bytes, or None when it is absent or empty."""
        return self.get_sub_key_data() or None

    @property
    def value(self):
        """The value as bytes, or None when it is absent or empty."""
        return self.get_value_data() or None

    @property
    def timestamp(self):
        """The timestamp given at construction, an int."""
        return self.get_timestamp()

    @property
    def put(self):
        """Whether the op sets a value."""
        return self.get_put()

    @property
    def clear(self):
        """Whether the op clears a sub tree."""
        return self.get_clear()

    @property
    def kind(self):
        """What the op does on replay, a Plog.OpKind."""
        return self.get_kind()

    @property
    def configuration(self):
        """The configuration as a new dict of str to str, or None."""
        return self.get_configuration()

    def __eq__(self, other):
        if not isinstance(other, Plog.Op):
            return NotImplemented
        return self.equal(other)

    # gi.Boxed compares addresses; an op is a value, equal or not, and
    # has no order.
    def __ne__(self, other):
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    def __lt__(self, other):
        return NotImplemented

    __le__ = __gt__ = __ge__ = __lt__

    def __hash__(self):
        configuration = self.get_configuration()
        if configuration is not None:
            configuration = frozenset(configuration.items())
        return hash((self.key, self.sub_key, self.value, self.timestamp,
                     self.put, self.clear, configuration))

    def __repr__(self):
        return '<Plog.Op %s>' % self.to_string()

    def __str__(self):
        return self.to_string()

    # An op is immutable: a copy is the op itself.
    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self


Op = override(Op)
__all__.append('Op')


def _owned(op):
    """A wrapper of op that holds its own reference to it.

    PyGObject wraps the op of a ::replayed emission without taking a
    reference, and takes one after the handler returns only if the handler
    kept the wrapper and did not raise: a handler that stores the op and
    then raises keeps a dangling op (PyGObject 3.42 and later). The copy
    of a refcounted boxed is a reference, so this is cheap."""
    return op.copy() if op is not None else None


class _ReplayedHandler(object):
    """Calls a ::replayed handler with an op that it may keep.

    It compares equal to the handler, so that disconnect_by_func(),
    handler_block_by_func() and handler_unblock_by_func() find it."""

    __slots__ = ('func', '__weakref__')

    def __init__(self, func):
        if not callable(func):
            raise TypeError('second argument must be callable')
        self.func = func

    def __call__(self, instance, op, *args):
        owned = _owned(op)
        # Drop our reference to the borrowed wrapper before calling out.
        del op
        return self.func(instance, owned, *args)

    def __eq__(self, other):
        if isinstance(other, _ReplayedHandler):
            return self.func == other.func
        return self.func == other

    def __hash__(self):
        return hash(self.func)

    def __repr__(self):
        return '<Plog replayed handler %r>' % (self.func,)


def _is_replayed(detailed_signal):
    return isinstance(detailed_signal, str) and \
        detailed_signal.split('::', 1)[0].replace('_', '-') == 'replayed'


_logger_new = Plog.Logger.new
_logger_play = Plog.Logger.play


def _call_with_data(operate, user_data, op):
    return operate(op, user_data)


def _is_utf8_path(path):
    try:
        os.fsencode(path).decode('utf-8')
    except UnicodeDecodeError:
        return False
    return True


class Logger(Plog.Logger):
    """The operation log of one directory.

    Plog.Logger(directory, **properties) opens it like
    Plog.Logger.new(directory), raising GLib.Error on failure; directory
    may be a str, bytes or os.PathLike. The directory property is text:
    for a file name that is not UTF-8, read get_directory() instead.

    As a context manager, it is closed (close(): stopped, and its
    directory released) at the end of the block.
    """

    def __new__(cls, directory=None, **kwargs):
        path = kwargs.get('directory', directory)
        if path is not None and not _is_utf8_path(path):
            # The directory property is text; a file name that is not
            # UTF-8 goes through the constructor, which takes it as it is.
            self = _logger_new(os.fspath(path))
            self._plog_opened = True
            return self
        return super(Logger, cls).__new__(cls)

    def __init__(self, directory=None, **kwargs):
        if self.__dict__.pop('_plog_opened', False):
            kwargs.pop('directory', None)
            for name, value in kwargs.items():
                self.set_property(name.replace('_', '-'), value)
            return
        if directory is not None:
            kwargs['directory'] = directory
        if kwargs.get('directory') is not None:
            # A str property: PyGObject would store str() of bytes.
            kwargs['directory'] = os.fsdecode(kwargs['directory'])
        super(Logger, self).__init__(**kwargs)
        # PlogLogger is a GInitable: g_object_new() alone would leave it
        # unusable.
        self.init(None)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_value, traceback):
        """Leaving a with block closes the logger (see close()): it stops,
        and the lock on its directory goes at once, not when the object is
        collected. A GLib.Error of the close is raised unless another
        exception is on its way."""
        try:
            self.close()
        except GLib.Error:
            if exc_type is None:
                raise
        return False

    @classmethod
    def new(cls, directory):
        """Opens the logger of directory (a str, bytes or os.PathLike)."""
        return _logger_new(os.fspath(directory))

    def play(self, operate=None, *args, cancellable=None, user_data=None):
        """Replays the newest snapshot and every later log, in order.

        For each op it calls operate(op), when operate is given, then emits
        ::replayed. An exception raised by operate stops the replay and
        propagates out of play(). Raises GLib.Error on failure, for example
        Plog.Error.CORRUPT after the ops before the damage were delivered.

        It takes play(operate, cancellable) and, in the order of the C
        function, play(operate, user_data, cancellable), or both as
        keywords; a user_data that is not None is passed on:
        operate(op, user_data). A lone second argument that is None or a
        Gio.Cancellable is taken as the cancellable; pass user_data= to
        hand a cancellable to operate.
        """
        if len(args) == 1:
            if args[0] is None or isinstance(args[0], Gio.Cancellable):
                if cancellable is not None:
                    raise TypeError('play() got cancellable twice')
                cancellable = args[0]
            elif user_data is not None:
                raise TypeError('play() got user_data twice')
            else:
                user_data = args[0]
        elif len(args) == 2:
            if cancellable is not None or user_data is not None:
                raise TypeError('play() got user_data or cancellable twice')
            user_data, cancellable = args
        elif len(args) > 2:
            raise TypeError('play() takes at most 3 arguments (%d given)'
                            % (len(args) + 1))
        if cancellable is not None and \
                not isinstance(cancellable, Gio.Cancellable):
            raise TypeError('cancellable must be a Gio.Cancellable or None')
        if operate is None:
            return _logger_play(self, None, None, cancellable)
        if not callable(operate):
            raise TypeError('operate must be callable')
        if user_data is not None:
            operate = functools.partial(_call_with_data, operate, user_data)

        failure = []
        # The C loop stops at the next op once this is cancelled.
        stop = Gio.Cancellable()

        def operate_owned(op, *user_data):
            if failure:
                return
            owned = _owned(op)
            del op
            try:
                operate(owned)
            except BaseException as e:
                failure.append(e)
                stop.cancel()

        def chain(_cancellable):
            stop.cancel()

        handler_id = 0
        if cancellable is not None:
            handler_id = GObject.Object.connect(cancellable, 'cancelled', chain)
            if cancellable.is_cancelled():
                stop.cancel()
        try:
            result = _logger_play(self, operate_owned, None, stop)
        except GLib.Error:
            # Cancelled because operate raised: that is the error to see.
            if failure:
                raise failure[0] from None
            raise
        finally:
            if handler_id:
                GObject.signal_handler_disconnect(cancellable, handler_id)
        if failure:
            raise failure[0]
        return result

    def connect(self, detailed_signal, handler, *args):
        if _is_replayed(detailed_signal):
            handler = _ReplayedHandler(handler)
        return super(Logger, self).connect(detailed_signal, handler, *args)

    def connect_after(self, detailed_signal, handler, *args):
        if _is_replayed(detailed_signal):
            handler = _ReplayedHandler(handler)
        return super(Logger, self).connect_after(detailed_signal, handler,
                                                 *args)

    def connect_object(self, detailed_signal, handler, gobject, *args):
        if _is_replayed(detailed_signal):
            handler = _ReplayedHandler(handler)
        return super(Logger, self).connect_object(detailed_signal, handler,
                                                  gobject, *args)

    def connect_object_after(self, detailed_signal, handler, gobject, *args):
        if _is_replayed(detailed_signal):
            handler = _ReplayedHandler(handler)
        return super(Logger, self).connect_object_after(detailed_signal,
                                                        handler, gobject,
                                                        *args)

    def connect_data(self, detailed_signal, handler, *data, **kwargs):
        if _is_replayed(detailed_signal):
            handler = _ReplayedHandler(handler)
        return super(Logger, self).connect_data(detailed_signal, handler,
                                                *data, **kwargs)


Logger = override(Logger)
__all__.append('Logger')


class Cursor(Plog.Cursor):
    """A pinned replay read one op at a time; also a Python iterator:

        for op in logger.open_cursor():
            ...

    Iteration raises GLib.Error on damage, after the ops before it.
    """

    def __iter__(self):
        return self

    def __next__(self):
        op = self.next(None)
        if op is None:
            raise StopIteration
        return op


Cursor = override(Cursor)
__all__.append('Cursor')
