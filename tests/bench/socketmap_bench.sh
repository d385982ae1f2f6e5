#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The socketmap benchmark, end to end: a lab (tests/lab/lab up),
# forcetls-milter inside it with a `require` policy and the socketmap on
# 127.0.0.1:8892, its cache warmed through the socketmap itself, then
# socketmap_bench with 16 persistent clients. The daemon is stopped by its
# PID and the lab taken down again — always, also when the run fails. Needs
# root (the lab does) and built forcetls-milter and socketmap_bench.
#
#   tests/bench/socketmap_bench.sh [--lab DIR] [-- SOCKETMAP_BENCH_FLAGS...]
#
# Default lab: $FORCETLS_BUILD_DIR/smbenchlab (build/smbenchlab; not
# build/lab, which the test suite's fixture owns). Flags after -- go to
# socketmap_bench (default: --clients 16 --seconds 10 and the keys below).
set -euo pipefail

root=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd)
build=${FORCETLS_BUILD_DIR:-$root/build}
lab=$root/tests/lab/lab
lab_dir=$build/smbenchlab

die() { printf 'socketmap_bench.sh: %s\n' "$*" >&2; exit 2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --lab) [ $# -ge 2 ] || die "--lab needs a directory"; lab_dir=$2; shift 2 ;;
    --) shift; break ;;
    *) die "unknown argument '$1' (socketmap_bench's own flags go after --)" ;;
  esac
done
bench=$build/tests/bench/socketmap_bench
milter=$build/bin/forcetls-milter
[ -x "$bench" ] || die "no $bench: cmake --build $build --target socketmap_bench"
[ -x "$milter" ] || die "no $milter: cmake --build $build --target forcetls-milter"
if [ $# -eq 0 ]; then
  # Eligible domains (OK answers), an ineligible one (PERM) and a prefer one
  # (NOTFOUND, no cache use): the mix a relay's deliveries ask for.
  set -- --clients 16 --seconds 10 good.test tls10.test shared01.test shared02.test \
    nomx.test cnamemx.test notls.test relaxed.test
fi

work=$(mktemp -d /tmp/forcetls-smbench-XXXXXX)
chmod 755 "$work"
trap '"$lab" down "$lab_dir" >&2 || echo "socketmap_bench.sh: lab down FAILED" >&2; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM HUP

"$lab" up "$lab_dir"
# shellcheck disable=SC1091
. <(grep -E '^(RESOLVER|TRUST_ANCHOR|CA_FILE)=' "$lab_dir/env")
# Not sourced: its value has spaces ("name: value").
RESOLVER_OPTION=$(sed -n 's/^RESOLVER_OPTION=//p' "$lab_dir/env")
cat >"$work/policy.yaml" <<POLICY
default:
  mode: require
  on_ineligible: reject
rules:
  - domains: [relaxed.test]
    mode: prefer
POLICY
cat >"$work/forcetls.yaml" <<CONFIG
milter:
  socket: inet:8895@127.0.0.1
socketmap:
  socket: inet:8892@127.0.0.1
daemon:
  user: nobody
cache:
  path: $work/cache
checker:
  resolver: "$RESOLVER"
  trust_anchor: $TRUST_ANCHOR
  resolver_options:
    - $RESOLVER_OPTION
  ca_file: $CA_FILE
  allow_private: true
  ehlo_name: bench.lab.test
  pause: 50ms
log:
  level: info
policy_file: $work/policy.yaml
CONFIG

# One shell inside the namespace: the daemon, the bench, the daemon's stop
# (by PID), whatever the bench returns.
"$lab" exec "$lab_dir" -- bash -c '
  milter=$1 config=$2 log=$3 bench=$4; shift 4
  "$milter" -f -c "$config" </dev/null >/dev/null 2>"$log" &
  pid=$!
  for _ in $(seq 1 150); do grep -q event=started "$log" && break; sleep 0.2; done
  rc=0
  "$bench" "$@" || rc=$?
  kill -TERM "$pid"; wait "$pid" || true
  grep -c "answer=" "$log" | sed "s/^/daemon log lines with answers (info level): /"
  exit $rc
' bench "$milter" "$work/forcetls.yaml" "$work/milter.log" "$bench" "$@"
