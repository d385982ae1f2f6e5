#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Load and throughput of forcetls-milter behind the lab's sending Postfix.

Runs inside the lab's network namespace (re-executes itself there through
`tests/lab/lab exec` when started outside). Everything listens on 127.0.0.1
in that namespace: Postfix smtpd listeners added for the run (2526-2528, one
per milter configuration, via `postconf -M`), the milters (8894, 8895) and an
smtp-sink (2600) that the sending Postfix relays everything to
(`relayhost=[127.0.0.1]:2600`), so the load never reaches the MX
personalities. The lab's own settings are put back when the run ends.

  milter_load.py check --lab DIR --milter BIN [--messages 5000] [--rcpts 4] ...
      smtp-source sends MESSAGES messages of RCPTS recipients each, spread over
      lab domains whose verdicts personalities.tsv gives, through Postfix +
      forcetls-milter (policy below). Every recipient is accounted for from
      four sides - what smtp-source was told to send, the milter's decision
      lines, Postfix's maillog (milter-reject / status=sent) and the sink's
      dump - and each must match the policy's answer for its domain. The
      milter's VmRSS is sampled during the run; growth after warm-up must stay
      under --rss-bound-kib. Exit status 0 only when everything matches.

  milter_load.py bench --lab DIR --milter BIN --noop BIN [--rounds 5] ...
      The same kind of smtp-source load (eligible domains only, so every
      configuration does the same downstream work) through Postfix with
      forcetls-milter (header on and off), with the no-op milter negotiating
      as forcetls does and with the minimal no-op milter (RCPT and EOM
      callbacks, no negotiate: the ceiling; tests/bench/noop_milter.cpp), and
      with no milter; several rounds, the order rotated each round; prints
      messages/s side by side and forcetls's ratio to both no-op milters.
      Delivery is counted from the sending Postfix's maillog.

smtp-source's -r gives every recipient of a message the same domain (it
prepends a number to the one -t address), so a domain mix comes from one
smtp-source per domain, all running at once.
"""

import argparse
import collections
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lab_netns import ensure_in_namespace, read_env  # noqa: E402

PROG = "milter_load.py"

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
SINK_PORT = 2600
FORCETLS_PORT = 8894
NOOP_PORT = 8895
FORCETLS_NOHDR_PORT = 8896
MINIMAL_PORT = 8897
# Postfix smtpd listeners added for the run: configuration -> port.
LISTENERS = {"forcetls": 2526, "noop": 2527, "none": 2528, "forcetls-nohdr": 2529,
             "minimal": 2530}
CLIENT_HELO = "client.lab.test"

# The policy of the check run, and the same policy as Python: what each
# domain must get. Written to policy.yaml for the daemon (conf/policy.yaml
# documents the keys). bogus.test's unknown verdict is rejected where the
# default tempfails; tls13only.test is ineligible but only observed
# (prefer); shared02.test is not checked at all (off).
POLICY_YAML = """default:
  mode: require
  on_ineligible: reject
  on_unknown: tempfail
rules:
  - domains: [bogus.test]
    mode: require
    on_unknown: reject
  - domains: [tls13only.test]
    mode: prefer
  - domains: [shared02.test]
    mode: off
"""
DEFAULT_RULE = {"mode": "require", "on_ineligible": "reject", "on_unknown": "tempfail"}
RULES = {
    "bogus.test": {"mode": "require", "on_ineligible": "reject", "on_unknown": "reject"},
    "tls13only.test": {"mode": "prefer"},
    "shared02.test": {"mode": "off"},
}

# The check run's domains: eligible, ineligible, unknown (DNSSEC-bogus and a
# refused MX) and the two rules above. Not slow.test/flaky.test: their
# verdicts depend on timing and rate limits, which is not what this measures.
CHECK_DOMAINS = [
    "good.test", "tls10.test", "shared01.test", "cnamemx.test", "nomx.test",
    "notls.test", "mixed.test", "multiip.test",
    "down.test", "bogus.test",
    "tls13only.test", "shared02.test",
]
# The throughput run's domains: all eligible, accepted by every configuration.
BENCH_DOMAINS = ["good.test", "tls10.test", "shared01.test", "shared03.test", "cnamemx.test",
                 "nomx.test"]


def die(msg):
    print(f"milter_load.py: {msg}", file=sys.stderr)
    sys.exit(2)


def verdicts(personalities):
    """domain -> eligible (yes|no|unknown), from personalities.tsv."""
    out = {}
    header = None
    for line in Path(personalities).read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        cols = line.split("\t")
        if header is None:
            header = cols
            continue
        row = dict(zip(header, cols))
        out[row["domain"]] = row["eligible"]
    return out


def expected_action(domain, eligible):
    """accept | reject | tempfail: what the policy above gives a recipient."""
    rule = dict(DEFAULT_RULE)
    rule.update(RULES.get(domain, {}))
    if rule["mode"] != "require" or eligible == "yes":
        return "accept"
    return rule["on_ineligible"] if eligible == "no" else rule["on_unknown"]


def run(cmd, check=True):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if check and r.returncode != 0:
        die(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr.strip()}")
    return r


def wait_until(done, limit, what, step=0.1):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if done():
            return
        time.sleep(step)
    if not done():
        die(f"timed out after {limit:.0f} s waiting for {what}")


class Postfix:
    """The lab's sending Postfix, changed for the run and put back after."""

    MAIN_KEYS = ["relayhost"]

    def __init__(self, env):
        self.conf = env["SEND_CONF"]
        self.log = Path(env["SEND_LOG"])
        self.saved = {}
        self.services = []

    def postconf(self, *args):
        return run(["postconf", "-c", self.conf, *args])

    def reload(self):
        run(["postfix", "-c", self.conf, "reload"])

    def setup(self, milters):
        """milters: configuration name -> Postfix milter spec or "" (none)."""
        for key in self.MAIN_KEYS:
            self.saved[key] = self.postconf("-n", key).stdout.strip()
        self.postconf("-e", f"relayhost=[{HOST}]:{SINK_PORT}")
        for name, spec in milters.items():
            service = f"{HOST}:{LISTENERS[name]}"
            # Postfix tarpits a client that keeps being refused (1 s per
            # reply after 10 errors, disconnect after 20); smtp-source gets
            # thousands of refusals by design, so the listeners do not.
            line = (f"{service} inet n - n - - smtpd -o smtpd_milters={spec}"
                    " -o smtpd_error_sleep_time=0 -o smtpd_soft_error_limit=100000"
                    " -o smtpd_hard_error_limit=100000")
            if spec:
                line += " -o milter_default_action=tempfail"
            self.postconf("-Me", f"{service}/inet={line}")
            self.services.append(service)
        self.reload()
        # The new listeners answer once master has re-read master.cf.
        for name in milters:
            wait_until(lambda n=name: port_open(LISTENERS[n]), 30, f"smtpd on {LISTENERS[name]}")

    def restore(self):
        for service in self.services:
            self.postconf("-MX", f"{service}/inet")
        for key, line in self.saved.items():
            if line:
                self.postconf("-e", line)
            else:
                self.postconf("-X", key)
        self.services = []
        self.saved = {}
        self.reload()

    def queued_from(self, sender_prefix):
        """Messages still in the queue whose sender starts with sender_prefix."""
        r = run(["postqueue", "-c", self.conf, "-j"], check=False)
        return sum(1 for line in r.stdout.splitlines() if f'"sender": "{sender_prefix}' in line)


def port_open(port):
    import socket
    with socket.socket() as s:
        s.settimeout(1)
        try:
            s.connect((HOST, port))
            return True
        except OSError:
            return False


def appended_lines(path, offset):
    """The complete lines appended to `path` since `offset`, and the new offset."""
    with open(path, "rb") as f:
        f.seek(offset)
        data = f.read()
    end = data.rfind(b"\n")
    if end < 0:
        return [], offset
    return data[:end].decode("utf-8", "replace").splitlines(), offset + end + 1


class Sink:
    """smtp-sink on 127.0.0.1:2600 dumping every transaction to one file."""

    def __init__(self, workdir):
        # smtp-sink creates the dump itself, as nobody (an existing file it
        # does not own makes it pick another name).
        sink_dir = Path(workdir) / "sink"
        sink_dir.mkdir()
        shutil.chown(sink_dir, "nobody")
        self.dump = sink_dir / "dump"
        self.proc = None
        self.offset = 0
        self.recipients = collections.Counter()  # tag -> recipients seen
        self.messages = collections.Counter()  # tag -> messages seen
        self.by_domain = collections.Counter()  # (tag, domain) -> recipients
        self.addresses = collections.Counter()  # address -> times seen

    def start(self):
        # -u: smtp-sink refuses to keep root; it appends to the dump as nobody.
        self.proc = subprocess.Popen(
            ["smtp-sink", "-u", "nobody", "-D", str(self.dump), f"{HOST}:{SINK_PORT}", "256"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: port_open(SINK_PORT), 20, "smtp-sink")

    def stop(self):
        if self.proc:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None

    def read(self):
        """Parses what the sink appended since the last call."""
        if not self.dump.exists():
            return
        lines, self.offset = appended_lines(self.dump, self.offset)
        for line in lines:
            if line.startswith("X-Mail-Args: <"):
                tag = tag_of(line[len("X-Mail-Args: <"):].split(">", 1)[0])
                if tag:
                    self.messages[tag] += 1
            elif line.startswith("X-Rcpt-Args: <"):
                addr = line[len("X-Rcpt-Args: <"):].split(">", 1)[0]
                tag = tag_of(addr)
                if tag:
                    self.recipients[tag] += 1
                    self.by_domain[(tag, addr.rsplit("@", 1)[1])] += 1
                    self.addresses[addr] += 1


class SentLog:
    """Counts, per run tag, the recipients the sending Postfix logged as
    delivered to the sink (`relay=...:2600 ... status=sent`), reading its
    maillog from where it stood at the start.

    The benchmark waits on these, not on the sink's dump: with a few dozen
    sessions at once smtp-sink's dump misses some transactions that it
    acknowledged (one in five at 18 sessions here), so a run would wait for
    mail that was delivered long ago."""

    def __init__(self, path):
        self.path = Path(path)
        self.offset = self.path.stat().st_size if self.path.exists() else 0
        self.recipients = collections.Counter()

    def read(self):
        lines, self.offset = appended_lines(self.path, self.offset)
        marker = f"[{HOST}]:{SINK_PORT},"
        for line in lines:
            if " status=sent " in line and marker in line:
                m = TAG_RE.search(line)
                if m:
                    self.recipients[m.group(1)] += 1


# Senders are load-TAG@lab.test, recipients <N>r-TAG@DOMAIN (smtp-source -N
# prepends the number): TAG names the run, so lines of earlier lab tests or
# mail they left in the queue never count.
TAG_RE = re.compile(r"(?:^load-|r-)(L[0-9a-z]+)@")


def tag_of(address):
    m = TAG_RE.search(address)
    return m.group(1) if m else None


class ForcetlsMilter:
    def __init__(self, binary, workdir, env, port, header=True, name="forcetls"):
        self.binary = binary
        self.dir = Path(workdir) / name
        self.dir.mkdir()
        os.chmod(self.dir, 0o755)  # the daemon drops to nobody
        self.log = self.dir / "milter.log"
        self.spec = f"inet:{HOST}:{port}"
        (self.dir / "policy.yaml").write_text(POLICY_YAML)
        (self.dir / "forcetls.yaml").write_text(
            f"milter:\n  socket: inet:{port}@{HOST}\n  on_miss: wait\n  miss_deadline: 25s\n"
            f"  header: {'true' if header else 'false'}\n"
            # No policy map: two instances run side by side, and the load
            # goes through the milter alone.
            f"socketmap:\n  socket: none\n"
            f"daemon:\n  user: nobody\n"
            f"cache:\n  path: {self.dir / 'cache'}\n"
            f"checker:\n  resolver: \"{env['RESOLVER']}\"\n  trust_anchor: {env['TRUST_ANCHOR']}\n"
            f"  resolver_options:\n    - {env['RESOLVER_OPTION']}\n"
            f"  ca_file: {env['CA_FILE']}\n  allow_private: true\n  ehlo_name: milter.lab.test\n"
            f"  pause: 50ms\n"
            f"policy_file: {self.dir / 'policy.yaml'}\n")
        self.proc = None

    def start(self):
        """Starts (or restarts, on the same cache; the log is appended to)."""
        started = self.log.read_text(errors="replace").count("event=started") \
            if self.log.exists() else 0
        with open(self.log, "ab") as err:
            self.proc = subprocess.Popen(
                [self.binary, "-f", "-c", str(self.dir / "forcetls.yaml")],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        wait_until(lambda: self.log.read_text(errors="replace").count("event=started") > started
                   or self.proc.poll() is not None, 30, "forcetls-milter to start")
        if self.proc.poll() is not None:
            die(f"forcetls-milter exited: {self.log.read_text(errors='replace')}")

    @property
    def pid(self):
        return self.proc.pid

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                return False
        return True

    def decisions(self):
        """(tag, domain, action) -> count, and tag -> summary lines, from the log."""
        decisions = collections.Counter()
        summaries = collections.Counter()
        errors = []
        for line in self.log.read_text(errors="replace").splitlines():
            if " rcpt=<" in line:
                m = re.search(r" rcpt=<([^>]*)>.* action=(\w+)", line)
                if m and tag_of(m.group(1)):
                    decisions[(tag_of(m.group(1)), m.group(1).rsplit("@", 1)[1], m.group(2))] += 1
            elif " summary from=<" in line:
                m = re.search(r" summary from=<([^>]*)>", line)
                if m and tag_of(m.group(1)):
                    summaries[tag_of(m.group(1))] += 1
            if "error=" in line or "warning=" in line:
                errors.append(line)
        return decisions, summaries, errors


class NoopMilter:
    def __init__(self, binary, workdir, port, minimal=False):
        self.binary = binary
        self.minimal = minimal
        self.log = Path(workdir) / ("minimal.log" if minimal else "noop.log")
        self.socket = f"inet:{port}@{HOST}"
        self.spec = f"inet:{HOST}:{port}"
        self.proc = None

    def start(self):
        argv = [self.binary] + (["--minimal"] if self.minimal else []) + [self.socket]
        with open(self.log, "wb") as err:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=err)
        wait_until(lambda: "event=started" in self.log.read_text() or
                   self.proc.poll() is not None, 20, "noop-milter to start")
        if self.proc.poll() is not None:
            die(f"noop-milter exited: {self.log.read_text()}")

    @property
    def pid(self):
        return self.proc.pid

    def stop(self):
        """Stops it; returns the RCPTs it saw."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if not self.log.exists():
            return -1  # never started
        m = re.search(r"rcpts=(\d+)", self.log.read_text())
        return int(m.group(1)) if m else -1


def proc_status(pid):
    """VmRSS, RssAnon, RssFile in KiB."""
    out = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            k, _, v = line.partition(":")
            if k in ("VmRSS", "RssAnon", "RssFile"):
                out[k] = int(v.split()[0])
    except OSError:
        pass
    return out


def cpu_seconds(pid):
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError):
        return 0.0


class RssSampler(threading.Thread):
    def __init__(self, pid, interval=0.1):
        super().__init__(daemon=True)
        self.pid = pid
        self.interval = interval
        self.samples = []  # (seconds since start, VmRSS, RssAnon, RssFile)
        self.stopping = threading.Event()
        self.t0 = time.monotonic()

    def run(self):
        while not self.stopping.is_set():
            s = proc_status(self.pid)
            if s:
                self.samples.append((time.monotonic() - self.t0, s.get("VmRSS", 0),
                                     s.get("RssAnon", 0), s.get("RssFile", 0)))
            self.stopping.wait(self.interval)

    def stop(self):
        self.stopping.set()
        self.join()


def split(total, parts):
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def send(port, tag, plan, rcpts, sessions):
    """plan: domain -> messages. One smtp-source per domain, all at once.
    Returns (wall seconds, smtp-source stderr lines)."""
    procs = []
    t0 = time.monotonic()
    for domain, messages in plan.items():
        if messages == 0:
            continue
        cmd = ["smtp-source", "-A", "-N", "-d", "-s", str(min(sessions, messages)),
               "-m", str(messages), "-r", str(rcpts), "-f", f"load-{tag}@lab.test",
               "-t", f"r-{tag}@{domain}", "-M", CLIENT_HELO, "-S", f"forcetls load {tag}",
               f"{HOST}:{port}"]
        procs.append((domain, subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                               stderr=subprocess.PIPE, text=True)))
    outputs = {}
    failed = []
    for domain, p in procs:
        out, err = p.communicate()
        outputs[domain] = (out + err).splitlines()
        if p.returncode != 0:
            failed.append(f"{domain}: exit {p.returncode}: {err.strip()[:300]}")
    wall = time.monotonic() - t0
    if failed:
        die("smtp-source failed: " + "; ".join(failed))
    return wall, outputs


def maillog_counts(text, tag):
    """From the sending Postfix's maillog: per (domain, outcome) recipient counts,
    outcome reject / tempfail (milter-reject at RCPT, by the reply's class) or
    sent (delivered to the sink); and anything else that mentions the run."""
    counts = collections.Counter()
    other = []
    for line in text.splitlines():
        if tag not in line:
            continue
        m = re.search(r"milter-reject: RCPT from \S+: ((\d)\d\d (\d\.\d+\.\d+) [^;]*); "
                      r".*?to=<([^>]*)>", line)
        if m:
            kind = "reject" if m.group(2) == "5" else "tempfail"
            domain = m.group(4).rsplit("@", 1)[1]
            counts[(domain, kind)] += 1
            # The reply names the domain and carries the policy's status
            # (conf/policy.yaml: ineligible X.7.4, unknown X.7.1).
            counts[(domain, "status " + m.group(3))] += 1
            text = m.group(1).split(" ", 2)[2]
            if not text.startswith("Forced TLS: ") or domain not in text:
                other.append(line)
            continue
        m = re.search(r" to=<([^>]*)>, relay=(\S+), .* status=(\w+)", line)
        if m:
            if m.group(3) == "sent" and m.group(2) == f"{HOST}[{HOST}]:{SINK_PORT}":
                counts[(m.group(1).rsplit("@", 1)[1], "sent")] += 1
            else:
                other.append(line)
            continue
        if "milter" in line or "status=" in line or "warning" in line or "reject" in line:
            other.append(line)
    return counts, other


def mib(kib):
    return f"{kib / 1024:.1f} MiB"


# ---------------------------------------------------------------- check

def check(args, env):
    table = verdicts(env["PERSONALITIES"])
    for d in CHECK_DOMAINS:
        if d not in table:
            die(f"{d} is not in personalities.tsv")
    expect = {d: expected_action(d, table[d]) for d in CHECK_DOMAINS}
    tag = "L" + format(int(time.time() * 1000) % 36**8, "x")
    workdir = Path(tempfile.mkdtemp(prefix="forcetls-load-"))
    os.chmod(workdir, 0o755)
    postfix = Postfix(env)
    sink = Sink(workdir)
    milter = ForcetlsMilter(args.milter, workdir, env, FORCETLS_PORT)
    problems = []
    log_start = postfix.log.stat().st_size if postfix.log.exists() else 0
    try:
        sink.start()
        milter.start()
        postfix.setup({"forcetls": milter.spec})
        port = LISTENERS["forcetls"]

        # Warm-up: one message per domain fills the cache (each waits for
        # its probe: on_miss wait) - the lab MX hosts see one probe each.
        warm = f"{tag}w"
        t0 = time.monotonic()
        send(port, warm, {d: 1 for d in CHECK_DOMAINS}, 1, 1)
        print(f"warm-up: {len(CHECK_DOMAINS)} domains probed and decided in "
              f"{time.monotonic() - t0:.1f} s")

        # The load, every domain at once; RSS sampled all along.
        plan = dict(zip(CHECK_DOMAINS, split(args.messages, len(CHECK_DOMAINS))))
        main = f"{tag}m"
        sampler = RssSampler(milter.pid)
        sampler.start()
        cpu0 = cpu_seconds(milter.pid)
        wall, outputs = send(port, main, plan, args.rcpts, args.sessions)
        cpu1 = cpu_seconds(milter.pid)
        accepted_rcpts = {t: 0 for t in (warm, main)}
        for d in CHECK_DOMAINS:
            if expect[d] == "accept":
                accepted_rcpts[warm] += 1
                accepted_rcpts[main] += plan[d] * args.rcpts

        def delivered():
            sink.read()
            return all(sink.recipients[t] >= n for t, n in accepted_rcpts.items())
        wait_until(delivered, 120 + args.messages / 20, "delivery of every accepted recipient",
                   step=0.25)
        t_done = time.monotonic() - sampler.t0
        # Let the daemon idle a moment after the last message, then stop sampling.
        time.sleep(1)
        sampler.stop()
        sink.read()
        total_msgs = args.messages + len(CHECK_DOMAINS)
        total_rcpts = args.messages * args.rcpts + len(CHECK_DOMAINS)
        print(f"load: {args.messages} messages x {args.rcpts} recipients over "
              f"{len(CHECK_DOMAINS)} domains ({args.sessions} sessions each): sent in {wall:.1f} s "
              f"({args.messages / wall:.0f} msg/s, "
              f"{args.messages * args.rcpts / wall:.0f} rcpt/s), "
              f"all accepted mail delivered after {t_done:.1f} s; milter CPU {cpu1 - cpu0:.2f} s")

        # Accounting, per run and domain.
        decisions, summaries, milter_errors = milter.decisions()
        log_text = postfix.log.read_text(errors="replace")[log_start:]
        # smtp-source's own view: with -A it reports each refused command and
        # goes on; every refused RCPT must be one the policy refuses.
        refused = collections.Counter()
        for d, lines in outputs.items():
            refused[d] = sum(1 for line in lines if "recipient rejected" in line)
        for d in CHECK_DOMAINS:
            want = plan[d] * args.rcpts if expect[d] != "accept" else 0
            if refused[d] != want:
                problems.append(f"smtp-source {d}: {refused[d]} recipients refused, want {want}")
        print(f"\n{'domain':16} {'verdict':8} {'expect':8} {'sent':>6} {'refused':>8} "
              f"{'milter a/r/t':>18} {'maillog sent/r/t':>20} {'sink':>6}")
        for t, domains in ((warm, {d: 1 for d in CHECK_DOMAINS}), (main, plan)):
            rcpts = 1 if t == warm else args.rcpts
            counts, other = maillog_counts(log_text, t)
            for line in other:
                problems.append(f"unexpected maillog line: {line}")
            for d, msgs in domains.items():
                n = msgs * rcpts
                want = expect[d]
                got_milter = {a: decisions[(t, d, a)] for a in ("accept", "reject", "tempfail")}
                extra = sum(v for (tt, dd, a), v in decisions.items()
                            if tt == t and dd == d and a not in got_milter)
                got_pf = {k: counts[(d, k)] for k in ("sent", "reject", "tempfail")}
                got_sink = sink.by_domain[(t, d)]
                want_milter = {a: (n if a == want else 0) for a in got_milter}
                want_pf = {"sent": n if want == "accept" else 0,
                           "reject": n if want == "reject" else 0,
                           "tempfail": n if want == "tempfail" else 0}
                want_sink = n if want == "accept" else 0
                statuses = {k[1][len("status "):]: v for k, v in counts.items()
                            if k[0] == d and k[1].startswith("status ")}
                want_status = {}
                if want != "accept":
                    want_status = {("5" if want == "reject" else "4") +
                                   (".7.4" if table[d] == "no" else ".7.1"): n}
                ok = (got_milter == want_milter and extra == 0 and got_pf == want_pf and
                      got_sink == want_sink and statuses == want_status)
                if t == main:
                    print(f"{d:16} {table[d]:8} {want:8} {n:6} {refused[d]:8} "
                          f"{'%d/%d/%d' % tuple(got_milter.values()):>18} "
                          f"{'%d/%d/%d' % tuple(got_pf.values()):>20} {got_sink:6}"
                          f"{'' if ok else '   <-- MISMATCH'}")
                if not ok:
                    problems.append(
                        f"{t} {d}: {n} recipients should be {want}; milter {got_milter} "
                        f"(+{extra} other), maillog {got_pf} {statuses}, sink {got_sink}")
        # Messages: the milter summarised each transaction once; the sink got
        # one message per message with accepted recipients; nothing is left
        # in the queue; no address arrived twice.
        for t, msgs, accepted_msgs in (
                (warm, len(CHECK_DOMAINS), sum(1 for d in CHECK_DOMAINS if expect[d] == "accept")),
                (main, args.messages,
                 sum(plan[d] for d in CHECK_DOMAINS if expect[d] == "accept"))):
            if summaries[t] != msgs:
                problems.append(f"{t}: {summaries[t]} milter summary lines for {msgs} messages")
            if sink.messages[t] != accepted_msgs:
                problems.append(f"{t}: sink got {sink.messages[t]} messages, want {accepted_msgs}")
        dup = [a for a, n in sink.addresses.items() if n > 1]
        if dup:
            problems.append(f"{len(dup)} addresses delivered more than once, e.g. {dup[:3]}")
        queued = postfix.queued_from(f"load-{tag}")
        if queued:
            problems.append(f"{queued} messages of this run still in the queue")
        for line in milter_errors:
            problems.append(f"milter log: {line}")
        accepted_total = sum(v for (t, d, a), v in decisions.items() if a == "accept")
        print(f"\ntotal: {total_msgs} messages, {total_rcpts} recipients; milter decisions "
              f"{sum(v for (t, _, _), v in decisions.items() if t in (warm, main))}, "
              f"accepted {accepted_total}, delivered to the sink "
              f"{sink.recipients[warm] + sink.recipients[main]}")

        # Memory: growth after warm-up. Baseline: the median of the samples
        # in the second fifth of the send phase (threads, arenas and the
        # store's pages are all in use by then); end: the median of the last
        # samples of the send phase.
        send_samples = [s for s in sampler.samples if s[0] <= wall]
        if len(send_samples) < 10:
            problems.append(f"only {len(send_samples)} RSS samples")
        else:
            n = len(send_samples)
            base = send_samples[n // 5:2 * n // 5]
            end = send_samples[-max(3, n // 10):]
            med = [statistics.median_low(s[k] for s in base) for k in (1, 2, 3)]
            fin = [statistics.median_low(s[k] for s in end) for k in (1, 2, 3)]
            peak = max(s[1] for s in sampler.samples)
            after = sampler.samples[-1]
            growth = fin[0] - med[0]
            print(f"\nmilter memory ({len(sampler.samples)} samples every 0.1 s): first sample "
                  f"VmRSS {mib(sampler.samples[0][1])}; after warm-up VmRSS {mib(med[0])} "
                  f"(anon {mib(med[1])}, file {mib(med[2])}); end of load VmRSS {mib(fin[0])} "
                  f"(anon {mib(fin[1])}, file {mib(fin[2])}); peak {mib(peak)}; idle after "
                  f"{mib(after[1])}; growth after warm-up {growth:+d} KiB "
                  f"(bound {args.rss_bound_kib} KiB)")
            if growth > args.rss_bound_kib:
                problems.append(f"VmRSS grew {growth} KiB after warm-up (bound "
                                f"{args.rss_bound_kib} KiB)")
    finally:
        postfix.restore()
        clean_stop = milter.stop()
        sink.stop()
    if not clean_stop:
        problems.append("forcetls-milter did not stop on SIGTERM within 20 s")
    if problems:
        print("\nFAILED:")
        for p in problems[:50]:
            print("  " + p)
        print(f"(files kept in {workdir})")
        return 1
    shutil.rmtree(workdir, ignore_errors=True)
    print("\nOK: every message and recipient accounted for")
    return 0


# ---------------------------------------------------------------- stop

def stop_run(args, env):
    """SIGTERM in the middle of an smtp-source load, then a restart on the
    same cache: every message Postfix accepted is delivered exactly once, and
    every delivered message carries the header (none passed unchecked); the
    others were tempfailed to the client, which keeps them."""
    tag = "L" + format(int(time.time() * 1000) % 36**8, "x")
    workdir = Path(tempfile.mkdtemp(prefix="forcetls-stop-"))
    os.chmod(workdir, 0o755)
    postfix = Postfix(env)
    sink = Sink(workdir)
    milter = ForcetlsMilter(args.milter, workdir, env, FORCETLS_PORT)
    problems = []
    log_start = postfix.log.stat().st_size if postfix.log.exists() else 0
    stop_seconds = None
    try:
        sink.start()
        milter.start()
        postfix.setup({"forcetls": milter.spec})
        port = LISTENERS["forcetls"]
        send(port, f"{tag}w", {d: 1 for d in BENCH_DOMAINS}, 1, 1)  # warm the cache
        main = f"{tag}m"
        plan = dict(zip(BENCH_DOMAINS, split(args.messages, len(BENCH_DOMAINS))))
        result = {}
        sender = threading.Thread(
            target=lambda: result.update(out=send(port, main, plan, args.rcpts, args.sessions)))
        sender.start()
        wait_until(lambda: (sink.read(), sink.messages[main])[1] >= args.messages // 4, 120,
                   "a quarter of the load delivered")
        # Probes in flight as well: new domains the cache has not seen.
        t0 = time.monotonic()
        milter.proc.send_signal(signal.SIGTERM)
        try:
            code = milter.proc.wait(20)
            stop_seconds = time.monotonic() - t0
            if code != 0:
                problems.append(f"forcetls-milter exited {code} on SIGTERM")
        except subprocess.TimeoutExpired:
            problems.append("forcetls-milter did not stop on SIGTERM within 20 s")
            milter.proc.kill()
            milter.proc.wait()
        time.sleep(1)  # a second of sessions refused (milter_default_action)
        milter.start()
        sender.join()
        queued = lambda: postfix.queued_from(f"load-{tag}")
        run(["postqueue", "-c", postfix.conf, "-f"], check=False)
        wait_until(lambda: queued() == 0, 120, "the run's queue to drain")
        time.sleep(1)
        sink.read()
        log_text = postfix.log.read_text(errors="replace")[log_start:]
        # Postfix's view: queue ids that took a message of the run, and the
        # recipients it delivered.
        accepted = set()
        for line in log_text.splitlines():
            m = re.search(r" ([0-9A-F]{6,}): from=<load-" + re.escape(main) + "@", line)
            if m:
                accepted.add(m.group(1))
        sent = sum(1 for line in log_text.splitlines()
                   if f"r-{main}@" in line and " status=sent " in line)
        delivered_msgs = sink.messages[main]
        dup = [a for a, n in sink.addresses.items() if n > 1 and tag_of(a) == main]
        dump = sink.dump.read_text(errors="replace") if sink.dump.exists() else ""
        headers = dump.count("\nX-ForceTLS: ")
        total_in_sink = sum(sink.messages.values())
        refused = args.messages - delivered_msgs
        print(f"SIGTERM during the load: stopped in "
              f"{'%.2f s' % stop_seconds if stop_seconds is not None else 'more than 20 s'}; "
              f"{args.messages} messages sent by smtp-source, {len(accepted)} accepted by "
              f"Postfix, {delivered_msgs} delivered ({sent} recipients), {refused} tempfailed "
              f"to the client; {headers} of {total_in_sink} delivered messages carry the header")
        if delivered_msgs != len(accepted):
            problems.append(f"{len(accepted)} messages accepted but {delivered_msgs} delivered")
        if sink.recipients[main] != sent:
            problems.append(f"maillog says {sent} recipients sent, the sink got "
                            f"{sink.recipients[main]}")
        if dup:
            problems.append(f"{len(dup)} addresses delivered more than once, e.g. {dup[:3]}")
        if headers != total_in_sink:
            problems.append(f"{total_in_sink - headers} delivered messages without the header "
                            "(passed unchecked)")
        if delivered_msgs == 0 or refused < 0:
            problems.append("nothing delivered")
        for bad in ("terminate called", "Segmentation", "AddressSanitizer", "internal error"):
            if bad in milter.log.read_text(errors="replace"):
                problems.append(f"milter log shows {bad!r}")
    finally:
        postfix.restore()
        if not milter.stop():
            problems.append("forcetls-milter did not stop at the end")
        sink.stop()
    if problems:
        print("\nFAILED:")
        for p in problems[:50]:
            print("  " + p)
        print(f"(files kept in {workdir})")
        return 1
    shutil.rmtree(workdir, ignore_errors=True)
    print("OK: every message accepted was delivered once, checked; the rest stayed with "
          "the client")
    return 0


# ---------------------------------------------------------------- bench

def bench(args, env):
    workdir = Path(tempfile.mkdtemp(prefix="forcetls-bench-"))
    os.chmod(workdir, 0o755)
    postfix = Postfix(env)
    sink = Sink(workdir)
    # forcetls as configured by default (with its X-ForceTLS header) and
    # without the header, so the header's cost in Postfix shows apart from
    # the decisions'.
    forcetls = {"forcetls": ForcetlsMilter(args.milter, workdir, env, FORCETLS_PORT),
                "forcetls-nohdr": ForcetlsMilter(args.milter, workdir, env, FORCETLS_NOHDR_PORT,
                                                 header=False, name="forcetls-nohdr")}
    noop = NoopMilter(args.noop, workdir, NOOP_PORT)
    minimal = NoopMilter(args.noop, workdir, MINIMAL_PORT, minimal=True)
    configs = ["forcetls", "forcetls-nohdr", "noop", "minimal", "none"]
    letter = {"forcetls": "f", "forcetls-nohdr": "h", "noop": "o", "minimal": "m",
              "none": "x"}  # tags differ
    base = "L" + format(int(time.time() * 1000) % 36**8, "x")
    results = collections.defaultdict(list)  # config -> [(accept rate, e2e rate, cpu s)]
    sent_through = collections.Counter()
    problems = []
    try:
        sink.start()
        for m in forcetls.values():
            m.start()
        noop.start()
        minimal.start()
        postfix.setup({"forcetls": forcetls["forcetls"].spec,
                       "forcetls-nohdr": forcetls["forcetls-nohdr"].spec,
                       "noop": noop.spec, "minimal": minimal.spec, "none": ""})
        plan = dict(zip(BENCH_DOMAINS, split(args.messages, len(BENCH_DOMAINS))))
        want = args.messages * args.rcpts
        pids = {c: m.pid for c, m in forcetls.items()}
        pids["noop"] = noop.pid
        pids["minimal"] = minimal.pid

        sent_log = SentLog(postfix.log)

        def one_run(config, tag):
            cpu0 = cpu_seconds(pids[config]) if config in pids else 0.0
            t0 = time.monotonic()
            wall, _ = send(LISTENERS[config], tag, plan, args.rcpts, args.sessions)

            def done():
                sent_log.read()
                return sent_log.recipients[tag] >= want
            wait_until(done, 120 + args.messages / 10, f"delivery of run {tag}", step=0.05)
            e2e = time.monotonic() - t0
            cpu = (cpu_seconds(pids[config]) - cpu0) if config in pids else 0.0
            if sent_log.recipients[tag] != want:
                problems.append(f"{tag}: Postfix delivered {sent_log.recipients[tag]} of {want} "
                                f"recipients to the sink")
            sent_through[config] += want
            return args.messages / wall, args.messages / e2e, cpu

        # Round 0 warms the cache (forcetls probes each domain once) and
        # Postfix's processes; it is not counted.
        for config in configs:
            one_run(config, f"{base}w{letter[config]}")
        load = os.getloadavg()
        print(f"{args.messages} messages x {args.rcpts} recipients per run, "
              f"{len(BENCH_DOMAINS)} smtp-source processes x {args.sessions} sessions, "
              f"{args.rounds} rounds, the order of the {len(configs)} configurations rotated "
              f"each round; load average before {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
        print("messages/s at reception (smtp-source wall time), end to end in brackets "
              "(until Postfix has delivered every recipient)")
        refs = ("noop", "minimal")
        ratio_cols = [(c, ref) for c in ("forcetls", "forcetls-nohdr") for ref in refs]
        print(f"{'round':>6} " + " ".join(f"{c:>20}" for c in configs) + "  " +
              " ".join(f"{c.replace('forcetls', 'f') + '/' + ref:>14}" for c, ref in ratio_cols))
        for r in range(args.rounds):
            k = r % len(configs)
            order = configs[k:] + configs[:k]
            row = {}
            for config in order:
                row[config] = one_run(config, f"{base}r{r}{letter[config]}")
                results[config].append(row[config])
            print(f"{r + 1:>6} " + " ".join(
                f"{row[c][0]:>10.0f} ({row[c][1]:>6.0f})" for c in configs) + "  " +
                " ".join(f"{row[c][0] / row[ref][0]:>14.3f}" for c, ref in ratio_cols))
        med = {c: statistics.median(x[0] for x in results[c]) for c in configs}
        med_e2e = {c: statistics.median(x[1] for x in results[c]) for c in configs}

        def ratios(c, ref):
            return [a[0] / b[0] for a, b in zip(results[c], results[ref])]
        print(f"{'median':>6} " + " ".join(
            f"{med[c]:>10.0f} ({med_e2e[c]:>6.0f})" for c in configs) + "  " +
            " ".join(f"{statistics.median(ratios(c, ref)):>14.3f}" for c, ref in ratio_cols))
        print()
        for c, what in (("forcetls", "forcetls (X-ForceTLS header on, the default)"),
                        ("forcetls-nohdr", "forcetls with milter.header: false")):
            for ref, name, target in (("noop", "no-op negotiating as forcetls", 0.9),
                                      ("minimal", "minimal no-op (RCPT and EOM only, "
                                       "no negotiate)", 0.98)):
                rs = ratios(c, ref)
                print(f"{what} / {name}: median of per-round ratios "
                      f"{statistics.median(rs):.3f} (min {min(rs):.3f}, max {max(rs):.3f}); "
                      f"ratio of medians {med[c] / med[ref]:.3f}; end to end "
                      f"{med_e2e[c] / med_e2e[ref]:.3f}; target >= {target}")
        print(f"no-op / no milter: {med['noop'] / med['none']:.3f}; "
              f"minimal / no milter: {med['minimal'] / med['none']:.3f}")
        for c in ("forcetls", "forcetls-nohdr", "noop", "minimal"):
            cpu = sum(x[2] for x in results[c])
            n = args.rounds * args.messages
            print(f"{c} milter process CPU: {cpu:.2f} s for {n} messages "
                  f"({cpu / (n * args.rcpts) * 1e6:.0f} us per recipient, all threads)")
    finally:
        postfix.restore()
        for m in forcetls.values():
            m.stop()
        noop_rcpts = noop.stop()
        minimal_rcpts = minimal.stop()
        sink.stop()
    got = {}
    for c, m in forcetls.items():
        decisions, _, errors = m.decisions()
        got[c] = sum(decisions.values())
        if got[c] != sent_through[c] or any(a != "accept" for (_, _, a) in decisions):
            problems.append(f"{c} decided {got[c]} recipients ({dict(decisions)}), "
                            f"{sent_through[c]} went through it")
        problems += [f"{c} log: {e}" for e in errors]
    if minimal_rcpts != sent_through["minimal"]:
        problems.append(f"the minimal noop-milter saw {minimal_rcpts} recipients, "
                        f"{sent_through['minimal']} went through it")
    if noop_rcpts != sent_through["noop"]:
        problems.append(f"noop-milter saw {noop_rcpts} recipients, "
                        f"{sent_through['noop']} went through it")
    if problems:
        print("\nFAILED:")
        for p in problems[:50]:
            print("  " + p)
        print(f"(files kept in {workdir})")
        return 1
    print(f"checked: the forcetls daemons decided {got['forcetls']} + {got['forcetls-nohdr']} "
          f"recipients, the no-op milters saw {noop_rcpts} and {minimal_rcpts}, Postfix "
          f"delivered every one of each run")
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("check", help="accounting and memory under load")
    c.add_argument("--messages", type=int, default=5000)
    c.add_argument("--rcpts", type=int, default=4)
    c.add_argument("--sessions", type=int, default=2, help="sessions per smtp-source (domain)")
    # Justified in tests/bench/README.md (milter_load.py check).
    c.add_argument("--rss-bound-kib", type=int, default=1024)
    b = sub.add_parser("bench", help="throughput: forcetls vs no-op milter vs none")
    b.add_argument("--messages", type=int, default=2000)
    b.add_argument("--rcpts", type=int, default=4)
    b.add_argument("--sessions", type=int, default=3)
    b.add_argument("--rounds", type=int, default=5)
    b.add_argument("--noop", required=True, help="noop-milter binary")
    st = sub.add_parser("stop", help="SIGTERM during a load: nothing lost, nothing unchecked")
    st.add_argument("--messages", type=int, default=1000)
    st.add_argument("--rcpts", type=int, default=2)
    st.add_argument("--sessions", type=int, default=2)
    for sp in (c, b, st):
        sp.add_argument("--lab", required=True, help="a running lab's directory")
        sp.add_argument("--milter", required=True, help="forcetls-milter binary")
    args = p.parse_args()
    if os.geteuid() != 0:
        die("needs root (the lab and Postfix's configuration do)")
    env = read_env(args.lab, PROG)
    ensure_in_namespace(env, args.lab, __file__, PROG)
    sys.stdout.reconfigure(line_buffering=True)
    commands = {"check": check, "bench": bench, "stop": stop_run}
    sys.exit(commands[args.command](args, env))


if __name__ == "__main__":
    main()
