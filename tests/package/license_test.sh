#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Every source file states its licence: an SPDX-License-Identifier line for
# Apache-2.0 in its first five lines (C++, CMake, Python, shell and Lua
# scripts, man pages, anything with a #! line), LICENSE holds the licence and
# debian/copyright names it in DEP-5 form.
#
#   license_test.sh SOURCE_DIR
set -euo pipefail
src=$1
cd "$src"
fail=0

# source_files: the tracked files (git), or every file of a tree without git.
source_files() {
  if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git ls-files
  else
    find . -type f -not -path './.git/*' -not -path './build*' | sed 's|^\./||'
  fi
}

checked=0
while IFS= read -r f; do
  [ -f "$f" ] || continue
  case "$f" in
    tests/fuzz/corpus/*) continue ;;
    *.cpp | *.hpp | *.py | *.sh | *.lua | *.cmake | */CMakeLists.txt | CMakeLists.txt | man/*.[1-8] | packaging/debian/rules) ;;
    *) head -c 2 "$f" | grep -q '^#!' || continue ;;
  esac
  checked=$((checked + 1))
  if ! head -n 5 "$f" | grep -q 'SPDX-License-Identifier: Apache-2.0'; then
    echo "license_test: $f: no 'SPDX-License-Identifier: Apache-2.0' in its first 5 lines"
    fail=1
  fi
done < <(source_files)

grep -q 'Apache License' LICENSE && grep -q 'Version 2.0, January 2004' LICENSE ||
  { echo "license_test: LICENSE is not the Apache License 2.0"; fail=1; }
grep -qx 'License: Apache-2.0' packaging/debian/copyright ||
  { echo "license_test: debian/copyright has no 'License: Apache-2.0' paragraph"; fail=1; }
grep -q '^Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/' packaging/debian/copyright ||
  { echo "license_test: debian/copyright is not DEP-5"; fail=1; }
[ "$checked" -gt 100 ] || { echo "license_test: only $checked source files found in $src"; fail=1; }
[ "$fail" = 0 ] && echo "license_test: $checked source files carry the SPDX line"
exit "$fail"
