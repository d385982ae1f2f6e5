#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""forcetls-milter under load and attack: the figures of the load limits.

Runs inside the lab's network namespace (re-executes itself there through
`tests/lab/lab exec` when started outside); everything it talks to listens
on 127.0.0.1 in that namespace. The daemon under test gets a resolver that
never answers (a UDP socket this script binds and never reads), so every
probe runs into its timeouts, as on a host whose DNS is down or flooded.

  attack_bench.py --lab DIR --milter BIN [--check BIN] [--names 100000]
                  [--idle 1100] [--rcpts 200] [--smoke]

Prints, one line each:
  prefer-miss RCPT      latency of RCPT to new domains under `prefer`
                        (raw milter sessions: negotiate, connect, MAIL, RCPT)
  waiter RCPT           latency of RCPT to new `require` domains, whose
                        sender waits up to milter.miss_deadline, measured
                        while a flood of new names runs on the policy map
  map lookup, N idle    latency of one lookup on a new connection while N
                        idle connections are held on the policy map
  flood RSS             the daemon's VmRSS growth over NAMES new `require`
                        names on one map connection (after a warm-up)
  421 server            forcetls-check --mx on the lab's rate-limiting MX
                        (--rate-limited ADDR): wall time and connections
  SIGTERM               time from SIGTERM to exit with probes in flight

--smoke runs each measure small (the lab test attack_bench_smoke keeps the
script running); the figures of a smoke run mean nothing.
"""

import argparse
import json
import os
import random
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lab_netns import ensure_in_namespace, read_env  # noqa: E402

PROG = "attack_bench"

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
MILTER_PORT = 8898
MAP_PORT = 8899
DEAD_DNS_PORT = 5399
POLICY = """default:
  mode: prefer
rules:
  - domains: [.partner.example]
    mode: require
"""


def die(why):
    print(f"attack_bench: {why}", file=sys.stderr)
    sys.exit(2)


def pct(values, p):
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100.0 * (len(ordered) - 1))))]


def ms(seconds):
    return f"{seconds * 1000:.2f} ms"


def netstring(s):
    b = s.encode()
    return str(len(b)).encode() + b":" + b + b","


def read_netstrings(sock, want, limit):
    """Up to `want` netstring payloads read within `limit` seconds."""
    out, buf = [], b""
    end = time.monotonic() + limit
    while len(out) < want and time.monotonic() < end:
        sock.settimeout(max(0.01, end - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except (socket.timeout, OSError):  # a reset counts as no answer
            break
        if not chunk:
            break
        buf += chunk
        while True:
            colon = buf.find(b":")
            if colon < 0:
                break
            n = int(buf[:colon])
            if len(buf) < colon + 1 + n + 1:
                break
            out.append(buf[colon + 1:colon + 1 + n].decode(errors="replace"))
            buf = buf[colon + 1 + n + 1:]
    return out


class MilterSession:
    """The MTA's side of the milter protocol, as far as RCPT."""

    def __init__(self):
        self.sock = socket.create_connection((HOST, MILTER_PORT), timeout=60)
        self.buf = b""
        self.send("O", struct.pack("!III", 6, 0x1FF, 0))
        if self.reply()[0] != "O":
            die("milter negotiation failed")
        self.send("C", b"client.example\0" + b"4" + struct.pack("!H", 4000) + b"192.0.2.9\0")
        if self.reply()[0] != "c":
            die("milter connect refused")

    def send(self, cmd, data):
        self.sock.sendall(struct.pack("!I", len(data) + 1) + cmd.encode() + data)

    def reply(self):
        while True:
            if len(self.buf) >= 4:
                (n,) = struct.unpack("!I", self.buf[:4])
                if len(self.buf) >= 4 + n:
                    cmd, data = chr(self.buf[4]), self.buf[5:4 + n]
                    self.buf = self.buf[4 + n:]
                    return cmd, data
            chunk = self.sock.recv(65536)
            if not chunk:
                return "", b""
            self.buf += chunk

    def mail(self, sender):
        self.send("M", f"<{sender}>\0".encode())
        return self.reply()[0]

    def rcpt(self, rcpt):
        self.send("R", f"<{rcpt}>\0".encode())
        return self.reply()[0]

    def close(self):
        try:
            self.send("Q", b"")
        except OSError:
            pass
        self.sock.close()


class Daemon:
    def __init__(self, binary, env, work, miss_deadline):
        self.binary = binary
        self.dir = work
        self.log = work / "milter.log"
        (work / "policy.yaml").write_text(POLICY)
        (work / "forcetls.yaml").write_text(
            f"milter:\n  socket: inet:{MILTER_PORT}@{HOST}\n  on_miss: wait\n"
            f"  miss_deadline: {miss_deadline}s\n  header: false\n"
            f"socketmap:\n  socket: inet:{MAP_PORT}@{HOST}\n"
            f"daemon:\n  user: nobody\n"
            f"cache:\n  path: {work / 'cache'}\n"
            f"checker:\n  resolver: \"{HOST}@{DEAD_DNS_PORT}\"\n"
            f"  trust_anchor: {env['TRUST_ANCHOR']}\n  ca_file: {env['CA_FILE']}\n"
            f"  allow_private: true\n  ehlo_name: bench.lab.test\n  probe_deadline: 30s\n"
            f"policy_file: {work / 'policy.yaml'}\n")
        self.proc = None

    def start(self):
        with open(self.log, "wb") as err:
            self.proc = subprocess.Popen(
                [self.binary, "-f", "-c", str(self.dir / "forcetls.yaml")],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        end = time.monotonic() + 30
        while time.monotonic() < end:
            if "event=started" in self.log.read_text(errors="replace"):
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        die(f"forcetls-milter did not start: {self.log.read_text(errors='replace')}")

    def rss_kib(self):
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return -1

    def stop(self):
        """SIGTERM; seconds until it exited (None: killed after 20 s)."""
        if not self.proc or self.proc.poll() is not None:
            return 0.0
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None
        return time.monotonic() - t0


def rcpt_latencies(rcpts, domain_of):
    """RCPT latencies over one milter session, one recipient per call."""
    s = MilterSession()
    out, replies = [], {}
    if s.mail("bench@sender.example") != "c":
        die("MAIL refused")
    for i in range(rcpts):
        t0 = time.monotonic()
        r = s.rcpt(f"user@{domain_of(i)}")
        out.append(time.monotonic() - t0)
        replies[r] = replies.get(r, 0) + 1
    s.close()
    return out, replies


def flood(names, stop=None):
    """New `require` names on one map connection, pipelined in batches."""
    sock = socket.create_connection((HOST, MAP_PORT), timeout=60)
    sent = answered = temp = 0
    while sent < names and not (stop and stop.is_set()):
        n = min(1000, names - sent)
        sock.sendall(b"".join(netstring(f"forcetls n{random.getrandbits(64)}.partner.example")
                              for _ in range(n)))
        got = read_netstrings(sock, n, 60)
        answered += len(got)
        temp += sum(1 for g in got if g.startswith("TEMP "))
        sent += n
    sock.close()
    return sent, answered, temp


def lookup_latencies(count):
    out = []
    for _ in range(count):
        t0 = time.monotonic()
        try:
            sock = socket.create_connection((HOST, MAP_PORT), timeout=10)
            sock.sendall(netstring("forcetls other.org"))
            got = read_netstrings(sock, 1, 10)
            sock.close()
        except OSError:
            got = []
        out.append(time.monotonic() - t0 if got else float("inf"))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lab", required=True)
    ap.add_argument("--milter", required=True)
    ap.add_argument("--check", help="forcetls-check, for the 421 server")
    ap.add_argument("--rate-limited", default="127.0.0.23",
                    help="the lab MX address that answers 421 (servers.tsv)")
    ap.add_argument("--names", type=int, default=100000)
    ap.add_argument("--idle", type=int, default=1100)
    ap.add_argument("--rcpts", type=int, default=200)
    ap.add_argument("--smoke", action="store_true")
    args = ap.parse_args()
    env = read_env(args.lab, PROG)
    ensure_in_namespace(env, args.lab, __file__, PROG)
    if args.smoke:
        args.names, args.idle, args.rcpts = 3000, 1100, 20
    miss_deadline = 2 if args.smoke else 5

    # A resolver that never answers: a bound UDP socket nobody reads.
    dead_dns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    dead_dns.bind((HOST, DEAD_DNS_PORT))
    work = Path(tempfile.mkdtemp(prefix="forcetls-attack-bench-"))
    os.chmod(work, 0o755)  # the daemon drops to nobody
    d = Daemon(args.milter, env, work, miss_deadline)
    d.start()
    failures = []
    try:
        lat, replies = rcpt_latencies(args.rcpts, lambda i: f"d{i}-{random.getrandbits(32)}.org")
        print(f"prefer-miss RCPT      n={len(lat)} p50 {ms(pct(lat, 50))} p99 {ms(pct(lat, 99))} "
              f"max {ms(max(lat))} replies {replies}")
        if replies.get("c", 0) != len(lat):
            failures.append("a prefer recipient was not accepted")

        stop_flood = threading.Event()
        flood_thread = threading.Thread(target=flood, args=(10 ** 9, stop_flood), daemon=True)
        flood_thread.start()
        time.sleep(0.5)
        waiters = max(4, args.rcpts // 20)
        wl, wreplies = rcpt_latencies(waiters, lambda i: f"w{i}-{random.getrandbits(32)}"
                                                         ".partner.example")
        stop_flood.set()
        flood_thread.join()
        print(f"waiter RCPT (flood)   n={len(wl)} p50 {pct(wl, 50):.2f} s p99 {pct(wl, 99):.2f} s "
              f"(miss_deadline {miss_deadline} s; the resolver never answers) replies {wreplies}")
        if wreplies.get("t", 0) + wreplies.get("y", 0) != len(wl):
            failures.append("a waiting require recipient was not tempfailed")
        if pct(wl, 99) > miss_deadline + 2:
            failures.append("waiters kept beyond their deadline")

        idle = []
        for _ in range(args.idle):
            idle.append(socket.create_connection((HOST, MAP_PORT), timeout=10))
        time.sleep(1)
        ll = lookup_latencies(20 if args.smoke else 100)
        unanswered = sum(1 for x in ll if x == float("inf"))
        print(f"map lookup, {args.idle} idle  n={len(ll)} p50 {ms(pct(ll, 50))} "
              f"p99 {ms(pct(ll, 99))} max {ms(max(ll))} unanswered {unanswered}")
        if max(ll) == float("inf"):
            failures.append("a lookup was not answered while idle connections were held")
        for s in idle:
            s.close()

        flood(2000)  # warm-up
        before = d.rss_kib()
        sent, answered, temp = flood(args.names)
        after = d.rss_kib()
        growth = (after - before) / 1024.0
        print(f"flood RSS             {sent} names: {before} -> {after} KiB, "
              f"+{growth:.1f} MiB ({growth * 100000 / max(1, sent):.1f} MiB per 100,000); "
              f"answered {answered}, TEMP {temp}")
        if answered != sent or temp != sent:
            failures.append("a flood name was not answered TEMP")

        if args.check:
            out = work / "check.json"
            t0 = time.monotonic()
            r = subprocess.run([args.check, "--mx", f"{args.rate_limited}:25", "--json",
                                "--allow-private",
                                "--resolver", env["RESOLVER"],
                                "--resolver-option", env["RESOLVER_OPTION"], "--trust-anchor",
                                env["TRUST_ANCHOR"], "--ca-file", env["CA_FILE"]],
                               capture_output=True, text=True, timeout=600)
            wall = time.monotonic() - t0
            out.write_text(r.stdout)
            connections, unknown = "?", "?"
            try:
                report = json.loads(r.stdout.splitlines()[0])
                addresses = [a for mx in report.get("mx", []) for a in mx.get("addresses", [])]
                connections = sum(a.get("connections", 0) for a in addresses)
                unknown = sorted({k for a in addresses for k, v in a.items() if v == "unknown"})
            except (ValueError, AttributeError, IndexError):
                pass
            print(f"421 server            forcetls-check --mx {args.rate_limited}: "
                  f"{wall:.1f} s, connections {connections}, exit {r.returncode}, unknown: "
                  f"{','.join(unknown) if isinstance(unknown, list) else unknown}")

        # Probes in flight (the flood's, stuck on the dead resolver), then stop.
        flood(200)
        took = d.stop()
        print(f"SIGTERM               stopped in {took:.2f} s with probes in flight"
              if took is not None else "SIGTERM               not stopped within 20 s")
        if took is None:
            failures.append("the daemon did not stop within 20 s")
        log = d.log.read_text(errors="replace")
        for bad in ("terminate called", "Segmentation", "AddressSanitizer"):
            if bad in log:
                failures.append(f"daemon log shows {bad!r}")
    finally:
        d.stop()
        dead_dns.close()
    for f in failures:
        print(f"attack_bench: FAILED: {f}", file=sys.stderr)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
