#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The lab scale run of the cache, end to end: brings up a lab with
# N scale domains (tests/lab/lab up DIR --scale N), runs scale_bench inside
# it and takes the lab down again — always, also when the run fails or is
# interrupted. Needs root (the lab does) and a built scale_bench.
#
#   tests/bench/scale_bench.sh [--domains N] [--lab DIR] [-- SCALE_BENCH_FLAGS...]
#
# Defaults: 10000 domains, lab in $FORCETLS_BUILD_DIR/scalelab (build/scalelab;
# not build/lab, which the test suite's fixture owns). Build first with
# `cmake --build build --target scale_bench`.
set -euo pipefail

root=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd)
build=${FORCETLS_BUILD_DIR:-$root/build}
lab=$root/tests/lab/lab
domains=10000
lab_dir=$build/scalelab

die() { printf 'scale_bench.sh: %s\n' "$*" >&2; exit 2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --domains) [ $# -ge 2 ] || die "--domains needs a number"; domains=$2; shift 2 ;;
    --lab) [ $# -ge 2 ] || die "--lab needs a directory"; lab_dir=$2; shift 2 ;;
    --) shift; break ;;
    *) die "unknown argument '$1' (scale_bench's own flags go after --)" ;;
  esac
done
if ! [[ "$domains" =~ ^[0-9]+$ ]] || [ "$domains" -eq 0 ]; then
  die "--domains must be a positive number"
fi
bin=$build/tests/bench/scale_bench
[ -x "$bin" ] || die "no $bin: cmake --build $build --target scale_bench"

# Whatever happens from here on, the lab goes down.
trap '"$lab" down "$lab_dir" >&2 || echo "scale_bench.sh: lab down $lab_dir FAILED" >&2' EXIT
trap 'exit 130' INT TERM HUP

started=$(date +%s%N)
"$lab" up "$lab_dir" --scale "$domains"
echo "lab up with $domains scale domains in $((($(date +%s%N) - started) / 1000000)) ms"
"$lab" exec "$lab_dir" -- "$bin" "$@"
