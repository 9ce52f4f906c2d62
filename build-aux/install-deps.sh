#!/bin/sh
# Installs, with apt-get, whatever libplog needs to build, test and run its
# demo on Debian 12 that is not installed yet. Safe to run again.
set -eu

packages="
  meson ninja-build pkg-config gcc
  libglib2.0-dev libglib2.0-bin
  libsqlite3-dev
  gobject-introspection libgirepository1.0-dev
  python3 python3-gi gjs valac gi-docgen
  python3-fusepy dpkg-dev
"

missing=""
for p in $packages; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
    missing="$missing $p"
  fi
done

if [ -n "$missing" ]; then
  echo "Installing:$missing"
  if [ "$(id -u)" -ne 0 ]; then
    SUDO=sudo
  else
    SUDO=
  fi
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
fi
