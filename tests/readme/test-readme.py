#!/usr/bin/python3
# test-readme.py: run the code that README.md shows, as a reader would
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# `test-readme.py --extract c README.md OUT` writes the README's C example
# to OUT, for Meson to build. `test-readme.py README.md --c-example EXE
# [--gjs GJS]` runs, each twice in a fresh current directory (the
# examples log to `my-app-log` there), the built C example, the Python
# example and the JavaScript example, then the JavaScript cursor
# fragment after the example, and prints TAP. The second run of each
# must replay what the first one recorded.

import argparse
import os
import re
import subprocess
import sys
import tempfile

FENCE = re.compile(r'^```(\w+)\n(.*?)^```$', re.MULTILINE | re.DOTALL)


def snippets(readme, lang):
    with open(readme, encoding='utf-8') as f:
        text = f.read()
    return [body for tag, body in FENCE.findall(text) if tag == lang]


class Tap:
    def __init__(self):
        self.count = 0
        self.failed = 0

    def ok(self, name, passed, detail=''):
        self.count += 1
        if not passed:
            self.failed += 1
            for line in detail.rstrip().splitlines():
                print('# ' + line)
        print(('ok' if passed else 'not ok') + ' %d %s' % (self.count, name))

    def skip(self, name, why):
        self.count += 1
        print('ok %d %s # SKIP %s' % (self.count, name, why))


def run_twice(tap, name, argv, check_second):
    """Runs @argv twice in one fresh directory; @check_second tells
    whether the second run's output shows the first run's op."""
    with tempfile.TemporaryDirectory(prefix='plog-readme-') as cwd:
        outputs = []
        for attempt in (1, 2):
            proc = subprocess.run(argv, cwd=cwd, capture_output=True,
                                  text=True, timeout=60)
            if proc.returncode != 0:
                tap.ok('%s (run %d)' % (name, attempt), False,
                       'exit status %d\n%s%s' % (proc.returncode,
                                                proc.stdout, proc.stderr))
                return
            outputs.append(proc.stdout)
        logged = os.path.isdir(os.path.join(cwd, 'my-app-log'))
        tap.ok(name, logged and check_second(outputs[1]),
               'my-app-log %s; second run printed:\n%s'
               % ('made' if logged else 'missing', outputs[1]))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--extract', metavar='LANG')
    parser.add_argument('--c-example')
    parser.add_argument('--gjs')
    parser.add_argument('readme')
    parser.add_argument('output', nargs='?')
    args = parser.parse_args()

    if args.extract:
        found = snippets(args.readme, args.extract)
        if not found:
            sys.exit('%s has no %s example' % (args.readme, args.extract))
        with open(args.output, 'w', encoding='utf-8') as f:
            f.write(found[0])
        return

    tap = Tap()
    print('1..4')

    # C: prints "replayed <op>" for each op it replays.
    run_twice(tap, 'C example', [os.path.abspath(args.c_example)],
              lambda out: 'replayed' in out and 'color' in out)

    # Python: the block only asserts; print what it rebuilt.
    python = snippets(args.readme, 'python')
    try:
        import gi  # noqa: F401
        have_gi = True
    except ImportError:
        have_gi = False
    if not have_gi:
        tap.skip('Python example', 'this Python has no PyGObject')
    else:
        code = python[0] + '\nprint(state)\n'
        run_twice(tap, 'Python example', [sys.executable, '-c', code],
                  lambda out: "b'color': b'blue'" in out)

    js = snippets(args.readme, 'js')
    if not args.gjs:
        tap.skip('JavaScript example', 'no gjs')
        tap.skip('JavaScript cursor', 'no gjs')
    else:
        # The example prints each replayed key through `replayed`.
        with tempfile.NamedTemporaryFile('w', suffix='.js') as script:
            script.write(js[0])
            script.flush()
            run_twice(tap, 'JavaScript example', [args.gjs, '-m', script.name],
                      lambda out: 'color' in out)
        # The cursor fragment, on the example's logger.
        with tempfile.NamedTemporaryFile('w', suffix='.js') as script:
            script.write(js[0] + '\nconst keys = [];\n'
                         'const apply = op => keys.push(new TextDecoder()'
                         '.decode(op.get_key_data()));\n' + js[1] +
                         '\nprint(`cursor: ${keys.join(",")}`);\n')
            script.flush()
            run_twice(tap, 'JavaScript cursor', [args.gjs, '-m', script.name],
                      lambda out: 'cursor: color,color\n' in out)

    sys.exit(1 if tap.failed else 0)


if __name__ == '__main__':
    main()
