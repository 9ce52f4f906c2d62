#!/bin/sh
# Builds Debian's own GLib (the source of the version its archive has
# now) with ThreadSanitizer, into _build-tsan-glib/prefix, for the
# ThreadSanitizer run of the test suite, which builds libplog against
# that prefix alone. TSan sees the order that GMutex, GCond and GLib's
# atomics give only when GLib itself is instrumented; against Debian's
# GLib every lock looks like none. Needs what build-aux/install-deps.sh
# installs (dpkg-dev among it, for apt-get source), and adds Debian's
# source entries beside its binary ones when apt has none. Safe to run
# again: a finished build is kept.
set -eu
cd "$(dirname "$0")/.."

top=$PWD/_build-tsan-glib
# A build made by this very script is kept; any change to it rebuilds.
stamp=$top/prefix/built
script_sum=$(sha256sum build-aux/build-tsan-glib.sh | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(head -n 1 "$stamp")" = "$script_sum" ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
else
  SUDO=
fi

# apt-get source needs deb-src entries: the same archives as the deb ones.
if ! grep -rqsE '^[[:space:]]*(deb-src[[:space:]]|Types:.*deb-src)' \
     /etc/apt/sources.list /etc/apt/sources.list.d/; then
  list=/etc/apt/sources.list.d/libplog-deb-src.sources
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources |
      $SUDO tee "$list" >/dev/null
  else
    list=/etc/apt/sources.list.d/libplog-deb-src.list
    sed -n 's/^deb \(.*\)$/deb-src \1/p' /etc/apt/sources.list | $SUDO tee "$list" >/dev/null
  fi
  echo "Added $list, for the source of GLib"
  $SUDO apt-get update -qq
fi

rm -rf "$top"
mkdir -p "$top"
echo '*' > "$top/.gitignore"
cd "$top"

# Runs a step with its output in a log, shown only when the step fails.
step () {
  log=$1
  shift
  if ! "$@" >"$log" 2>&1; then
    cat "$log" >&2
    echo "Building GLib with ThreadSanitizer failed: $*" >&2
    exit 1
  fi
}

# Not the installed version: the archive may have moved past it, and
# nothing here links against the installed GLib.
step source.log apt-get source glib2.0
src=$(find . -maxdepth 1 -type d -name 'glib2.0-*' | head -n 1)

# The project's compiler: GLib and libplog must share one TSan runtime.
step setup.log meson setup build "$src" --prefix="$top/prefix" --libdir=lib \
  --buildtype=debugoptimized -Db_sanitize=thread -Db_lundef=false \
  --wrap-mode=nofallback \
  -Dtests=false -Dinstalled_tests=false -Dgtk_doc=false -Dman=false \
  -Dnls=disabled -Dselinux=disabled -Dsysprof=disabled -Ddtrace=false \
  -Dsystemtap=false -Dlibelf=disabled -Dxattr=false
step build.log meson compile -C build
step install.log meson install -C build
printf '%s\n%s\n' "$script_sum" "$(basename "$src")" > "$stamp"
echo "Built $(basename "$src") with ThreadSanitizer in $top/prefix"
