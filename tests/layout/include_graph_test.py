#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""layout:includes: every include follows the component graph.

Reads build/layout.tsv (cmake/layout.cmake: folder, library, what it links)
and checks every C++ file of every component folder:
- a project include ("checker/dns/dns.hpp") must name the file's own
  component or one it links, directly or through the PUBLIC links of its
  dependencies (what a component links PRIVATE is its own business);
- a system library's header (OpenSSL, Asio, libunbound, libcurl, libmilter,
  LMDB, yaml-cpp, libidn2) needs that library in the same closure;
- the components that the design keeps free of network code (the report
  vocabulary, policy, conf, cache) reach none of OpenSSL, Asio, libunbound,
  libcurl or libmilter, and only the milter's callbacks reach libmilter;
- the component graph has no cycle.
Prints one line per violation: file:line, the include, why.

usage: include_graph_test.py SOURCE_ROOT LAYOUT_TSV
"""
import os
import re
import sys

EXTERNAL = [  # header prefix -> link targets that provide it
    ("asio", {"Asio::asio"}),
    ("openssl/", {"OpenSSL::SSL", "OpenSSL::Crypto"}),
    ("unbound.h", {"PkgConfig::UNBOUND"}),
    ("curl/", {"PkgConfig::CURL"}),
    ("libmilter/", {"PkgConfig::MILTER"}),
    ("lmdb.h", {"PkgConfig::LMDB"}),
    ("yaml-cpp/", {"yaml-cpp", "yaml-cpp::yaml-cpp"}),
    ("idn2.h", {"PkgConfig::IDN2"}),
]
NETWORK = {"Asio::asio", "OpenSSL::SSL", "OpenSSL::Crypto", "PkgConfig::UNBOUND",
           "PkgConfig::CURL", "PkgConfig::MILTER"}
PURE = ["checker/report", "policy", "conf", "cache"]
MILTER_ONLY = "milter/callbacks"
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^">]+)[">]')


def load(path):
    comps = {}  # folder -> (library, public deps, private deps)
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        if not line:
            continue
        folder, lib, public, private = line.split("\t")
        if folder in comps:
            raise SystemExit(f"{path}: two libraries in {folder}: one folder, one component")
        comps[folder] = (lib, public.split(), private.split())
    return comps


def main(root, layout):
    comps = load(layout)
    lib_folder = {lib: folder for folder, (lib, _, _) in comps.items()}
    problems = []

    exported = {}  # folder -> what a user of its library sees (PUBLIC, transitively)

    def export(folder, stack=()):
        if folder in exported:
            return exported[folder]
        if folder in stack:
            problems.append(f"cycle: {' -> '.join(stack + (folder,))}")
            return set()
        out = set()
        for dep in comps[folder][1]:
            out.add(dep)
            if dep in lib_folder:
                out |= export(lib_folder[dep], stack + (folder,))
        exported[folder] = out
        return out

    closure = {}  # folder -> what its own files may use
    for folder, (_, public, private) in comps.items():
        out = set()
        for dep in public + private:
            out.add(dep)
            if dep in lib_folder:
                out |= export(lib_folder[dep], (folder,))
        closure[folder] = out

    for folder in PURE:
        if folder not in comps:
            problems.append(f"{folder}: no such component in {layout}")
            continue
        bad = sorted(closure[folder] & NETWORK)
        if bad:
            problems.append(f"{folder}: must stay free of network code, links {' '.join(bad)}")
    for folder in comps:
        if folder != MILTER_ONLY and "PkgConfig::MILTER" in closure[folder]:
            problems.append(f"{folder}: links libmilter; only {MILTER_ONLY} may")

    # Longest folder first, so checker/report wins over checker.
    folders = sorted(comps, key=len, reverse=True)
    checked = 0
    for folder in comps:
        allowed_folders = {folder} | {lib_folder[d] for d in closure[folder] if d in lib_folder}
        base = os.path.join(root, folder)
        for name in sorted(os.listdir(base)):
            if not name.endswith((".cpp", ".hpp")):
                continue
            path = os.path.join(base, name)
            checked += 1
            for number, text in enumerate(open(path, encoding="utf-8"), 1):
                m = INCLUDE.match(text)
                if not m:
                    continue
                kind, header = m.groups()
                where = f"{folder}/{name}:{number}: {header}"
                if kind == '"':
                    owner = next((f for f in folders if header.startswith(f + "/")
                                  and "/" not in header[len(f) + 1:]), None)
                    if owner is None:
                        problems.append(f"{where}: not a header of any component")
                    elif owner not in allowed_folders:
                        problems.append(f"{where}: {folder} does not link {comps[owner][0]}")
                    continue
                for prefix, targets in EXTERNAL:
                    if header.startswith(prefix) and not (targets & closure[folder]):
                        problems.append(f"{where}: {folder} does not link {sorted(targets)[0]}")
    for p in problems:
        print(p)
    print(f"{checked} files in {len(comps)} components; {len(problems)} problem(s)")
    return 1 if problems or checked == 0 else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
