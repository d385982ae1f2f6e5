# SPDX-License-Identifier: Apache-2.0
"""What the lab benchmarks share: the lab's env file, and running inside
the lab's network namespace (re-executing the calling script there through
`tests/lab/lab exec` when started outside)."""

import os
import subprocess
import sys
from pathlib import Path


def die(prog, msg):
    print(f"{prog}: {msg}", file=sys.stderr)
    sys.exit(2)


def read_env(lab_dir, prog):
    """DIR/env as a dict (KEY=VALUE per line; values may hold spaces)."""
    path = Path(lab_dir) / "env"
    if not path.exists():
        die(prog, f"no {path}: bring the lab up first (tests/lab/lab up {lab_dir})")
    env = {}
    for line in path.read_text().splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            env[k] = v
    return env


def ensure_in_namespace(env, lab_dir, script, prog):
    """Returns inside the lab's namespace; outside, re-executes `script`
    (with the same arguments) there and never returns."""
    r = subprocess.run(["ip", "netns", "identify"], capture_output=True, text=True)
    if r.stdout.strip() == env["NETNS"]:
        return
    flag = "FORCETLS_BENCH_REEXEC_" + Path(script).stem.upper()
    if os.environ.get(flag):
        die(prog, f"not inside the lab namespace {env['NETNS']} after lab exec")
    os.environ[flag] = "1"
    os.execv(env["LAB_SCRIPT"], [env["LAB_SCRIPT"], "exec", str(lab_dir), "--",
                                 sys.executable, str(Path(script).resolve()), *sys.argv[1:]])
