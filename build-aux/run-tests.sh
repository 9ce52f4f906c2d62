#!/bin/sh
# Builds libplog with warnings as errors and runs the whole test suite (C,
# Python, JavaScript, Vala and the doc check), then builds it again with
# AddressSanitizer and UndefinedBehaviorSanitizer and runs the C suites
# once more, and a third time with ThreadSanitizer, against a GLib built
# with it too (build-aux/build-tsan-glib.sh). Exits non-zero when any
# test fails. Safe to run again.
set -eu
cd "$(dirname "$0")/.."

sh build-aux/install-deps.sh

status=0
passed=0
failed=0

# Adds up what `meson test` reported in the log of a build directory.
count () {
  summary=$(grep -E '^(Ok|Fail|Unexpected Pass|Timeout):' "$1/meson-logs/testlog.txt" 2>/dev/null || true)
  ok=$(printf '%s\n' "$summary" | awk -F: '$1 == "Ok" { s += $2 } END { print s + 0 }')
  bad=$(printf '%s\n' "$summary" | awk -F: '$1 != "Ok" { s += $2 } END { print s + 0 }')
  passed=$((passed + ok))
  failed=$((failed + bad))
}

if [ ! -f _build-ci/build.ninja ]; then
  meson setup _build-ci --werror
fi
meson compile -C _build-ci
meson test -C _build-ci --print-errorlogs --num-processes 2 || status=1
count _build-ci

if [ ! -f _build-asan/build.ninja ]; then
  meson setup _build-asan --werror \
    -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug
fi
meson compile -C _build-asan
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
LSAN_OPTIONS=suppressions="$PWD/build-aux/lsan.supp" \
  meson test -C _build-asan --print-errorlogs --num-processes 2 \
    --no-suite bench --timeout-multiplier 3 || status=1
count _build-asan

# TSan fails a test that it reports a race in (exit status 66), but not
# a child process that a test kills or whose output it swallows: so every
# process writes its reports to a file of its own, and any file fails
# the run.
# Without address-space randomization (setarch -R), since GCC 12's TSan
# runtime cannot map its shadow memory under the wider randomization of
# newer kernels.
sh build-aux/build-tsan-glib.sh
tsan_glib=$PWD/_build-tsan-glib/prefix/lib
if [ ! -f _build-tsan/build.ninja ]; then
  PKG_CONFIG_PATH=$tsan_glib/pkgconfig meson setup _build-tsan --werror \
    -Db_sanitize=thread -Db_lundef=false -Dintrospection=disabled \
    -Ddocumentation=false -Dvapi=false -Dbenchmark=disabled
fi
meson compile -C _build-tsan
rm -rf _build-tsan/tsan-reports
mkdir _build-tsan/tsan-reports
LD_LIBRARY_PATH=$tsan_glib \
TSAN_OPTIONS=suppressions="$PWD/build-aux/tsan.supp":second_deadlock_stack=1:log_path="$PWD/_build-tsan/tsan-reports/report" \
G_SLICE=always-malloc \
  setarch "$(uname -m)" -R \
  meson test -C _build-tsan --print-errorlogs --num-processes 2 \
    --suite core --timeout-multiplier 3 || status=1
count _build-tsan
if [ -n "$(ls _build-tsan/tsan-reports)" ]; then
  cat _build-tsan/tsan-reports/*
  echo "ThreadSanitizer reported races: see above and _build-tsan/tsan-reports/"
  status=1
  failed=$((failed + 1))
fi

echo "tests: $passed passed, $failed failed"
exit $status
