#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Runs one libFuzzer target for a fixed time (CTest, FORCETLS_FUZZ=ON):
#   run_libfuzzer.sh BINARY SEED_CORPUS WORK_DIR SECONDS
# The seed corpus in the source tree is only read. New interesting inputs go
# to WORK_DIR/corpus, which is kept between runs so each run starts where the
# last one stopped (delete WORK_DIR to start over from the seeds); crash, leak
# and timeout reproducers go to WORK_DIR/crashes and fail the test.
set -eu
[ $# -eq 4 ] || { echo "usage: $0 BINARY SEED_CORPUS WORK_DIR SECONDS" >&2; exit 2; }
binary=$1 seeds=$2 work=$3 seconds=$4
mkdir -p "$work/corpus" "$work/crashes"
# The first directory is the one libFuzzer writes to; the seeds are read too.
exec "$binary" -max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$work/crashes/" "$work/corpus" "$seeds"
