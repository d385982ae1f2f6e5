#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The Debian package end to end, without touching the system:
#   1. packaging/build-deb builds the .deb (DEB_BUILD_OPTIONS=nocheck: the
#      unit tests run in the same ctest run anyway), through ccache kept in
#      WORK so a second run is fast;
#   2. lintian: no errors (the full output is printed);
#   3. dpkg -x into a scratch root: binaries, conffiles, unit, tmpfiles,
#      man pages, maintainer scripts where Debian expects them;
#   4. systemd-analyze verify on the unit (required: Debian's systemd
#      package provides it, and it works without systemd running);
#   5. the unit's ExecStartPre check on the shipped configuration, then its
#      ExecStart command line, run by hand: the installed binary, a
#      configuration in a scratch dir (unix sockets), unprivileged like the
#      unit's User= (nobody here), in an empty network namespace; one
#      miltertest scenario, SIGHUP (ExecReload) with a changed policy and
#      the scenario again, SIGTERM by PID and a clean exit.
#   package_test.sh SOURCE_DIR WORK_DIR
# Needs root (network namespace, user switch): skipped otherwise (exit 77).
set -euo pipefail
src=$1
work=$2
script_start=$(date +%s)

fail() {
  echo "FAIL: $*"
  exit 1
}
if [ "$(id -u)" -ne 0 ]; then
  echo "SKIP: the package test needs root (unshare --net, setpriv)"
  exit 77
fi
# Checked before the long build: step 4 cannot be skipped.
command -v systemd-analyze >/dev/null ||
  fail "systemd-analyze not found: install Debian's systemd package (packaging/dev deps), which provides /usr/bin/systemd-analyze; the unit is not verified without it"
mkdir -p "$work"
work=$(cd "$work" && pwd)
rm -rf "$work/root" "$work/control" "$work/run" "$work/verify"

# 1. Build (FORCETLS_PACKAGE_PREBUILT=DIR: take DIR's .deb instead, to
#    debug the later steps without rebuilding).
build_start=$(date +%s)
if [ -n "${FORCETLS_PACKAGE_PREBUILT:-}" ]; then
  deb=$(ls "$FORCETLS_PACKAGE_PREBUILT"/forcetls_*.deb)
  echo "using the prebuilt $deb"
else
  # noopt (-O0): the test proves the packaging, not the optimiser, and an
  # unoptimised build of the three binaries takes about half the time.
  if ! DEB_BUILD_OPTIONS="nocheck noopt ${DEB_BUILD_OPTIONS:-}" \
    FORCETLS_DEB_CCACHE_DIR=${FORCETLS_DEB_CCACHE_DIR:-$work/ccache} \
    "$src/packaging/build-deb" "$work/out" >"$work/build.log" 2>&1; then
    tail -60 "$work/build.log"
    fail "packaging/build-deb (log: $work/build.log)"
  fi
  deb=$(ls "$work"/out/forcetls_*.deb)
fi
build_seconds=$(($(date +%s) - build_start))
echo "built $(basename "$deb") in ${build_seconds}s"

# 2. lintian: errors fail, warnings are shown.
lintian_status=0
lintian --fail-on error --tag-display-limit 0 "$deb" >"$work/lintian.txt" 2>&1 || lintian_status=$?
echo "lintian ($(grep -c '^E:' "$work/lintian.txt" || true) errors, $(grep -c '^W:' "$work/lintian.txt" || true) warnings):"
sed 's/^/  /' "$work/lintian.txt"
[ "$lintian_status" -eq 0 ] || fail "lintian reports errors"

# 3. Contents.
# The extracted package and the daemon's files live where the unprivileged
# daemon can reach them even when WORK is below a 0700 directory (a clone in
# /root): a directory of the test's own under FORCETLS_LAB_RUNTIME (/run).
scratch=$(mktemp -d "${FORCETLS_LAB_RUNTIME:-/run}/forcetls-package-XXXXXX")
chmod 0755 "$scratch"
remove_scratch() { rm -rf "$scratch"; }
trap remove_scratch EXIT
dpkg -x "$deb" "$scratch/root"
dpkg-deb -e "$deb" "$work/control"
root=$scratch/root
unit=
for d in lib/systemd/system usr/lib/systemd/system; do
  [ -f "$root/$d/forcetls.service" ] && unit=$root/$d/forcetls.service
done
[ -n "$unit" ] || fail "no forcetls.service in the package"
for f in usr/sbin/forcetls-milter usr/sbin/forcetls-ctl usr/bin/forcetls-check; do
  [ -x "$root/$f" ] || fail "$f missing or not executable"
done
for f in etc/forcetls/forcetls.yaml etc/forcetls/policy.yaml usr/lib/tmpfiles.d/forcetls.conf \
  usr/share/man/man8/forcetls-milter.8.gz usr/share/man/man8/forcetls-ctl.8.gz \
  usr/share/man/man1/forcetls-check.1.gz usr/share/man/man5/forcetls.yaml.5.gz \
  usr/share/doc/forcetls/README.md.gz usr/share/doc/forcetls/copyright; do
  [ -f "$root/$f" ] || fail "$f missing"
done
for f in /etc/forcetls/forcetls.yaml /etc/forcetls/policy.yaml; do
  grep -qx "$f" "$work/control/conffiles" || fail "$f is not a conffile"
done
# (continuation lines joined)
sed -e :a -e '/\\$/N; s/\\\n//; ta' "$work/control/postinst" | grep -q 'adduser .*--system.* forcetls' ||
  fail "postinst creates no forcetls user"
grep -q 'systemd-tmpfiles' "$work/control/postinst" || fail "postinst does not apply tmpfiles.d"
grep -q 'deb-systemd-helper' "$work/control/postinst" || fail "postinst does not enable the unit"
echo "ok: contents, conffiles, maintainer scripts"

# 4. The unit, as systemd reads it; its commands point into the scratch root.
mkdir -p "$work/verify"
sed "s|/usr/sbin/forcetls-milter|$root/usr/sbin/forcetls-milter|g" "$unit" \
  >"$work/verify/forcetls.service"
if ! out=$(systemd-analyze verify --man=no "$work/verify/forcetls.service" 2>&1) || [ -n "$out" ]; then
  echo "$out"
  fail "systemd-analyze verify"
fi
echo "ok: systemd-analyze verify"
grep -qx 'User=forcetls' "$unit" || fail "the unit does not run as forcetls"
grep -qx 'CapabilityBoundingSet=' "$unit" || fail "the unit keeps capabilities"

# 5. The unit's commands by hand.
unit_command() {  # the value of $1= in the unit, as words
  local line
  line=$(grep "^$1=" "$unit" | head -1)
  [ -n "$line" ] || fail "no $1= in the unit"
  echo "${line#*=}"
}
# The words of a unit command, with the installed paths moved into the
# scratch root and the configuration replaced by $2.
localise() {
  local -n words=$1
  local config=$2 i
  for i in "${!words[@]}"; do
    case "${words[$i]}" in
      /usr/sbin/forcetls-milter) words[i]=$root/usr/sbin/forcetls-milter ;;
      /etc/forcetls/forcetls.yaml) words[i]=$config ;;
    esac
  done
}

read -ra pre <<<"$(unit_command ExecStartPre)"
localise pre "$root/etc/forcetls/forcetls.yaml"
"${pre[@]}" || fail "ExecStartPre on the shipped configuration: ${pre[*]}"

read -ra start <<<"$(unit_command ExecStart)"
[[ " ${start[*]} " == *" -f "* ]] || fail "ExecStart has no -f (Type=exec needs the foreground)"
run=$scratch/run
mkdir -p "$run/cache"
chown -R nobody:nogroup "$run"
chmod 0700 "$run/cache"
write_policy() {  # $1: the default mode
  cat >"$run/policy.yaml" <<POLICY
default:
  mode: $1
rules:
  - domains: [internal.example]
    mode: off
POLICY
}
write_policy require
cat >"$run/forcetls.yaml" <<CONFIG
milter:
  socket: unix:$run/milter.sock
socketmap:
  socket: unix:$run/socketmap.sock
daemon:
  user: forcetls
cache:
  path: $run/cache
  max_size: 16M
policy_file: policy.yaml
CONFIG
localise start "$run/forcetls.yaml"
echo "starting: ${start[*]}"
unshare --net -- setpriv --reuid=nobody --regid=nogroup --clear-groups -- "${start[@]}" \
  >"$run/daemon.out" 2>&1 &
pid=$!
stop_daemon() {
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
}
trap 'stop_daemon; remove_scratch' EXIT

deadline=$(($(date +%s) + 60))
while [ ! -S "$run/milter.sock" ]; do
  kill -0 "$pid" 2>/dev/null || { cat "$run/daemon.out"; fail "the daemon exited at start"; }
  [ "$(date +%s)" -lt "$deadline" ] || fail "no milter socket after 60s"
  sleep 0.1
done
echo "ok: daemon $pid listening on $run/milter.sock"

scenario=$src/tests/milter/miltertest/installed.lua
miltertest -s "$scenario" -D socket="unix:$run/milter.sock" -D literal=refused ||
  { cat "$run/daemon.out"; fail "miltertest against the installed daemon"; }

# ExecReload: SIGHUP with the default now `off`; the daemon applies it
# asynchronously, so the scenario is repeated until it sees the new policy.
read -ra reload <<<"$(unit_command ExecReload)"
# shellcheck disable=SC2016 # the unit's literal text, $MAINPID unexpanded
[ "${reload[*]}" = '/bin/kill -HUP $MAINPID' ] || fail "ExecReload is not kill -HUP: ${reload[*]}"
write_policy off
kill -HUP "$pid"
deadline=$(($(date +%s) + 60))
until miltertest -s "$scenario" -D socket="unix:$run/milter.sock" -D literal=accepted >"$run/reload.out" 2>&1; do
  kill -0 "$pid" 2>/dev/null || { cat "$run/daemon.out"; fail "the daemon died on SIGHUP"; }
  [ "$(date +%s)" -lt "$deadline" ] || { cat "$run/reload.out"; fail "the reload did not apply in 60s"; }
  sleep 0.2
done
cat "$run/reload.out"
echo "ok: reload applied"

kill -TERM "$pid"
status=0
wait "$pid" || status=$?
trap remove_scratch EXIT
[ "$status" -eq 0 ] || { cat "$run/daemon.out"; fail "the daemon exited with $status on SIGTERM"; }
echo "ok: stopped cleanly by PID $pid"
echo "PASS (build ${build_seconds}s, total $(($(date +%s) - script_start))s)"
