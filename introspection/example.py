#!/usr/bin/python3
# example.py: keep a key-value state in a libplog directory
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import tempfile

import gi
gi.require_version('Plog', '1.0')
from gi.repository import Plog

with tempfile.TemporaryDirectory() as directory:
    logger = Plog.Logger.new(directory)

    # At start, rebuild the state from what earlier runs recorded.
    state = {}
    for op in logger.open_cursor():
        if op.kind == Plog.OpKind.PUT:
            state[op.key] = op.value
    print('replayed', len(state), 'keys')

    # Then record every change.
    logger.record()
    for i, fruit in enumerate([b'apple', b'pear', b'plum']):
        logger.dump(Plog.Op.new_put(b'fruit-%d' % i, fruit, i))
    logger.stop()

    for op in logger.open_cursor():
        print(op.kind.value_nick, op.key, op.value)
