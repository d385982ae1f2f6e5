#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# packaging/dev preflight: each broken prerequisite gives its own line with the
# fix, within seconds, and nothing is installed or built.
#
#   preflight_test.sh REPO_ROOT
set -euo pipefail

dev=$1/packaging/dev
fail() { printf 'preflight_test: FAIL: %s\n' "$*" >&2; exit 1; }
work=$(mktemp -d /tmp/forcetls-preflight-XXXXXX)
trap 'rm -rf "$work"' EXIT

# expect NAME WANT_RC WANT_TEXT ENV... : runs the preflight under ENV.
expect() {
  local name=$1 want_rc=$2 want=$3 rc=0
  shift 3
  env "$@" timeout 20 "$dev" preflight >"$work/out" 2>&1 || rc=$?
  [ "$rc" = "$want_rc" ] || fail "$name: exit $rc, want $want_rc: $(cat "$work/out")"
  grep -qF -- "$want" "$work/out" || fail "$name: no line with '$want' in: $(cat "$work/out")"
  printf 'preflight_test: ok: %s: %s\n' "$name" "$(grep -F -- "$want" "$work/out" | head -1)"
}

expect "all present" 0 "preflight: ok (root, network namespaces" FORCETLS_BUILD_DIR="$work/build"

mkdir -p "$work/private/run"
chmod 0700 "$work/private"
expect "runtime below a 0700 directory" 1 "unprivileged users cannot traverse $work/private/run" \
  FORCETLS_BUILD_DIR="$work/build" FORCETLS_LAB_RUNTIME="$work/private/run"
expect "runtime missing" 1 "FORCETLS_LAB_RUNTIME=$work/none is not a writable directory" \
  FORCETLS_BUILD_DIR="$work/build" FORCETLS_LAB_RUNTIME="$work/none"
expect "build path the lab cannot use" 1 "has characters the lab cannot use" \
  FORCETLS_BUILD_DIR="$work/my build"
expect "two problems, two lines" 1 "2 problem(s); nothing was installed or built" \
  FORCETLS_BUILD_DIR="$work/my build" FORCETLS_LAB_RUNTIME="$work/none"

# Not root: a copy of the script where nobody can read it.
mkdir -p "$work/copy/packaging"
cp "$dev" "$work/copy/packaging/dev"
chmod -R a+rX "$work/copy"
chmod a+rx "$work"
rc=0
setpriv --reuid=65534 --regid=65534 --clear-groups -- timeout 20 "$work/copy/packaging/dev" test \
  >"$work/out" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "not root: exit $rc, want 1: $(cat "$work/out")"
grep -qF "not root: the lab needs root" "$work/out" || fail "not root: $(cat "$work/out")"
grep -q "installing\|Building" "$work/out" && fail "not root: went on past the preflight"
printf 'preflight_test: ok: not root: %s\n' "$(head -1 "$work/out")"
