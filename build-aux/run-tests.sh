#!/bin/sh
# Builds libplog with warnings as errors and runs the whole test suite,
# then builds it again with AddressSanitizer and UndefinedBehaviorSanitizer
# and runs the suite once more. Exits non-zero when any test fails.
# Safe to run again.
set -eu
cd "$(dirname "$0")/.."

sh build-aux/install-deps.sh

if [ ! -f _build-ci/build.ninja ]; then
  meson setup _build-ci --werror
fi
meson compile -C _build-ci
meson test -C _build-ci --print-errorlogs --num-processes 2

if [ ! -f _build-asan/build.ninja ]; then
  meson setup _build-asan --werror \
    -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug
fi
meson compile -C _build-asan
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
LSAN_OPTIONS=suppressions="$PWD/build-aux/lsan.supp" \
  meson test -C _build-asan --print-errorlogs --num-processes 2 \
    --no-suite bench --timeout-multiplier 3
