#!/usr/bin/env bash
# What the test suite needs besides the Python virtualenv (the Makefile's stamp rule builds that one):
#   - the Debian packages listed in .ci/apt-packages.txt (the real servers and tools the tests start),
#   - Node and the npm packages pinned in package-lock.json (the Azure Blob emulator).
# Only what is missing gets installed, so a run on a ready machine costs a fraction of a second: that is what
# lets `make test` call this every time. Debian packages need root: as root apt-get runs directly, otherwise
# through `sudo -n` (never a password prompt, so CI cannot hang); when neither works it stops before any test
# with the one command that would install them.
set -euo pipefail
cd "$(dirname "$0")/.."

list=.ci/apt-packages.txt
lock=package-lock.json
apt_log=build/deps/apt.log

fail() {
  printf 'make deps: %s\n' "$1" >&2
  exit 1
}

[ -r "$list" ] || fail "$list is missing: it lists the Debian packages the tests need, one per line"

wanted=()
lineno=0
while IFS= read -r line || [ -n "$line" ]; do
  lineno=$((lineno + 1))
  name=${line%%#*}
  name=${name#"${name%%[![:space:]]*}"}
  name=${name%"${name##*[![:space:]]}"}
  [ -z "$name" ] && continue
  # Debian policy: lower case letters, digits, + - . ; at least two characters, starting alphanumeric.
  [[ $name =~ ^[a-z0-9][a-z0-9+.-]+$ ]] ||
    fail "$list:$lineno: '$line' is not a Debian package name (one name per line, # starts a comment)"
  wanted+=("$name")
done <"$list"

# One dpkg-query for the whole list (dpkg -s per package would cost ~20 ms each); unknown names print nothing.
declare -A installed=()
if command -v dpkg-query >/dev/null; then
  while read -r package state; do
    [ "$state" = installed ] && installed[${package%%:*}]=1
  done < <(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${wanted[@]}" 2>/dev/null || true)
fi
missing=()
for name in "${wanted[@]}"; do
  [ -n "${installed[$name]:-}" ] || missing+=("$name")
done
# npm may come from another source than Debian (e.g. a vendor's nodejs package that bundles it): ask for
# Debian's only when there is no npm at all.
if [ -f "$lock" ] && ! command -v npm >/dev/null; then
  for name in nodejs npm; do
    [[ " ${missing[*]} " == *" $name "* ]] || missing+=("$name")
  done
fi

if [ ${#missing[@]} -gt 0 ]; then
  install="apt-get install -y --no-install-recommends ${missing[*]}"
  command -v apt-get >/dev/null ||
    fail "no apt-get here; the tests need these Debian packages (or your system's equivalents): ${missing[*]}"
  if [ "$(id -u)" -eq 0 ]; then
    as_root=()
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
  else
    if command -v sudo >/dev/null; then
      command="sudo apt-get update && sudo $install"
    else
      command="su -c 'apt-get update && $install'"
    fi
    fail "$(printf '%s\n  %s\n%s\n  %s' \
      "the tests need Debian packages that are not installed, and installing them needs root" \
      "(not root, and sudo cannot run without a password): ${missing[*]}" \
      "Run this once, then run make again:" "$command")"
  fi
  mkdir -p "$(dirname "$apt_log")"
  echo "make deps: installing ${#missing[@]} Debian packages (log: $apt_log): ${missing[*]}"
  started=$SECONDS
  if ! { "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q &&
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive $install -q; } >"$apt_log" 2>&1; then
    tail -n 25 "$apt_log" >&2
    fail "apt-get failed (full log: $apt_log); the command was: $install"
  fi
  echo "make deps: Debian packages installed in $((SECONDS - started)) s"
fi

# npm ci wipes and rebuilds node_modules, so run it only when the lock file is newer than what npm last
# installed (npm writes node_modules/.package-lock.json at the end of every install).
if [ -f "$lock" ]; then
  stamp=node_modules/.package-lock.json
  if [ ! -f "$stamp" ] || [ "$lock" -nt "$stamp" ]; then
    echo "make deps: npm ci ($lock)"
    npm ci --no-audit --no-fund --loglevel=error
    touch "$stamp"
  fi
fi
