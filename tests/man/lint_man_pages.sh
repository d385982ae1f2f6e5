#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Lints forcetls's man pages: groff -man -ww (what man --warnings runs),
# man --warnings -l, and mandoc -T lint when it is installed. Any output is a
# failure. A known-bad page is linted first, so a linter that says nothing
# at all cannot make the test pass.
#   lint_man_pages.sh MAN_DIR SCRATCH_DIR
set -euo pipefail
man_dir=$1
scratch=$2
mkdir -p "$scratch"

lint() {  # prints every warning about $1
  groff -man -ww -z "$1" 2>&1
  # Its warnings only: stderr to the output, the formatted page discarded.
  # shellcheck disable=SC2069
  LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l "$1" 2>&1 >/dev/null
  if command -v mandoc >/dev/null; then
    mandoc -T lint -W warning "$1" 2>&1 || true
  fi
}

if ! command -v mandoc >/dev/null; then
  echo "mandoc not installed: mandoc -T lint skipped"
fi

bad=$scratch/bad.8
printf '.TH BAD 8\n.SH NAME\nbad \\- bad\n.SH DESCRIPTION\n.BX unknown macro\n\\fQ\n' >"$bad"
if [ -z "$(lint "$bad")" ]; then
  echo "FAIL: the linters found nothing wrong in a broken page"
  exit 1
fi

status=0
for page in "$man_dir"/*.[1-8]; do
  out=$(lint "$page")
  if [ -n "$out" ]; then
    echo "FAIL: $page"
    echo "$out"
    status=1
  else
    echo "ok: $page"
  fi
done
exit $status
