#!/bin/sh
# Builds libplog and runs its demo: records, dumps enough ops to trigger
# several automatic compactions, stops, replays, and prints what happened
# and how fast. Safe to run again.
set -eu
cd "$(dirname "$0")/.."

sh build-aux/install-deps.sh
if [ ! -f _build/build.ninja ]; then
  meson setup _build
fi
meson compile -C _build
exec ./_build/examples/plog-demo "$@"
