#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Generates a forcetls lab's files from personalities.tsv and servers.tsv.

  labgen.py --dir DIR [--no-ipv6] [--scale N]

Writes, under DIR (files only; it starts no server):
  ca/                lab CA (ca.pem) and the leaf certificates of servers.tsv
  dns/               nsd.conf, unbound.conf, zones (signed ones with ldns),
                     trust-anchors (DS lines of the signed zones)
  mx/etc/            the receiving Postfix instance: one smtpd service per
                     postfix address of servers.tsv, -o overrides per profile
  send/etc/          the sending Postfix instance (smtpd on 127.0.0.1:2525)
  emulator/config.json   the emulator's listeners
  https/             nginx.conf and document roots of the MTA-STS policy hosts
  listen.txt         "ADDR PORT" lines that must accept connections once up
  scale/             with --scale N only: domains.txt (the N scale domains) and
                     mx.txt ("HOST ADDR" of the provider MX hosts they share)
Called by tests/lab/lab; Python 3 standard library plus openssl and ldns tools.
"""

import argparse
import concurrent.futures
import datetime
import hashlib
import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

# Receiving-Postfix profiles: the -o overrides that make one smtpd service
# play a personality: one smtpd service per MX address in one Postfix instance
# (doc/lab.md, "Personalities"). TLS 1.0 needs @SECLEVEL=0 with OpenSSL 3.
POSTFIX_PROFILES = {
    # Postfix's opportunistic server also accepts anonymous (aNULL) suites
    # when a client offers only those (measured: ADH-*, AECDH-*); a good
    # server here offers none, so they are excluded.
    "good": ["smtpd_tls_security_level=may", "smtpd_tls_protocols=>=TLSv1.2",
             "smtpd_tls_exclude_ciphers=aNULL"],
    "tls10": ["smtpd_tls_security_level=may", "smtpd_tls_protocols=TLSv1",
              "smtpd_tls_ciphers=medium", "tls_medium_cipherlist=AES128-SHA:@SECLEVEL=0"],
    "tls13only": ["smtpd_tls_security_level=may", "smtpd_tls_protocols=>=TLSv1.3",
                  "smtpd_tls_exclude_ciphers=aNULL"],
    "notls": ["smtpd_tls_security_level=none"],
}

# Emulator profiles: versions and suites (IANA code points, server
# preference order) for what OpenSSL 3 cannot serve.
EMULATOR_PROFILES = {
    # SSL 3.0 to TLS 1.2; ECDHE-RSA-AES128-GCM-SHA256, AES128-SHA, AES256-SHA,
    # DES-CBC3-SHA, RC4-SHA, RC4-MD5, DES-CBC-SHA, EXP-RC4-MD5,
    # EXP-RC2-CBC-MD5, EXP-DES-CBC-SHA.
    "legacy": {"versions": ["ssl3", "tls1.0", "tls1.1", "tls1.2"],
               "suites": ["C02F", "002F", "0035", "000A", "0005", "0004", "0009", "0003",
                          "0006", "0008"]},
    # TLS 1.0 only; RC4-SHA, RC4-MD5.
    "rc4only": {"versions": ["tls1.0"], "suites": ["0005", "0004"]},
    # Proxies to a backend Postfix service; versions/suites unused.
    "proxy": {"versions": [], "suites": []},
}


# MTA-STS policy hosts (personalities.tsv sts_* columns): every
# mta-sts.DOMAIN name points at one nginx on this address, port 443, which
# picks the certificate and document root by SNI / Host.
STS_HTTPS_ADDR = "127.0.3.250"
# Bytes per second of a `slow:` policy host: its ~1.3 KB policy takes about a
# minute, longer than any fetch timeout the tests use.
STS_SLOW_RATE = 20


def sts_policy_text(spec):
    """personalities.tsv sts_policy [badage:]MODE:PATTERN+PATTERN -> RFC 8461 §3.2 policy
    text; `badage:` writes a max_age one above the RFC's limit of 31557600."""
    max_age, padding = "86400", 0
    if spec.startswith("badage:"):
        spec, max_age = spec[len("badage:"):], "31557601"
    elif spec.startswith("big:"):
        spec, padding = spec[len("big:"):], 70 * 1024  # above the 64 KiB limit
    elif spec.startswith("slow:"):
        spec, padding = spec[len("slow:"):], 1200  # ~60 s at STS_SLOW_RATE
    mode, patterns = spec.split(":", 1)
    lines = ["version: STSv1", "mode: " + mode]
    lines += ["mx: " + p for p in patterns.split("+") if p]
    # Padding as extension fields, which a parser ignores (RFC 8461 §3.2).
    while padding > 0:
        lines.append("x-padding: " + "p" * 60)
        padding -= 73
    lines.append("max_age: " + max_age)
    return "\r\n".join(lines) + "\r\n"


def sts_redirect_target(personalities):
    """`redirect` policy hosts send a 301 to the first valid enforce policy."""
    for p in personalities:
        if p["sts_policy"].startswith("enforce:") and p["sts_cert"] == "valid":
            return "https://mta-sts.%s/.well-known/mta-sts.txt" % p["domain"]
    sys.exit("labgen: a redirect policy needs a valid enforce policy to point at")


def sts_cert_spec(p):
    return "%s:mta-sts.%s" % (p["sts_cert"], p["domain"])


def make_https(lab_dir, personalities, ca_dir):
    """nginx config and document roots for the MTA-STS policy hosts."""
    base = os.path.join(lab_dir, "https")
    os.makedirs(os.path.join(base, "logs"), exist_ok=True)
    servers = []
    for p in personalities:
        if p["sts_policy"] == "-":
            continue
        host = "mta-sts." + p["domain"]
        root = os.path.join(base, "www", host)
        os.makedirs(root, exist_ok=True)
        # sts_policy: 404 (no file), redirect (301 elsewhere), html:POLICY (served
        # as text/html), else a policy file served as text/plain.
        policy, extra = p["sts_policy"], ""
        if policy == "redirect":
            extra = "    location = /.well-known/mta-sts.txt {\n      return 301 %s;\n    }\n" % (
                sts_redirect_target(personalities))
        elif policy != "404":
            if policy.startswith("html:"):
                policy = policy[len("html:"):]
                extra = "    types {\n      text/html txt;\n    }\n"
            elif policy.startswith("slow:"):
                extra = "    limit_rate %d;\n" % STS_SLOW_RATE
            write(os.path.join(root, ".well-known", "mta-sts.txt"), sts_policy_text(policy))
        key, pem = cert_files(ca_dir, sts_cert_spec(p))
        servers.append("""  server {{
    listen {addr}:443 ssl;
    server_name {host};
    ssl_certificate {pem};
    ssl_certificate_key {key};
    root {root};
{extra}    location / {{ }}
  }}
""".format(addr=STS_HTTPS_ADDR, host=host, pem=pem, key=key, root=root, extra=extra))
    if not servers:
        return False
    # Written for nginx(-light) from Debian; `nginx -p BASE -e ... -c ...`.
    write(os.path.join(base, "nginx.conf"), """# nginx: the lab's MTA-STS policy hosts (personalities.tsv sts_* columns)
worker_processes 1;
pid {b}/nginx.pid;
error_log {b}/logs/error.log;
events {{
  worker_connections 64;
}}
http {{
  access_log {b}/logs/access.log;
  client_body_temp_path {b}/tmp-body;
  proxy_temp_path {b}/tmp-proxy;
  # RFC 8461 §3.3: the policy is text/plain.
  types {{
    text/plain txt;
  }}
  default_type application/octet-stream;
{servers}}}
""".format(b=base, servers="".join(servers)))
    return True


# The opt-in scale population (`lab up DIR --scale N`, for the scale
# benchmark): N customer domains dNNNNN.scale.test in one zone, each with two
# MX hosts out of SCALE_PROVIDERS provider hosts mxNN.scaleprov.test, which
# are `good` receiving-Postfix services on 127.0.2.1 upwards. Not part of the
# default lab: the test suite brings the lab up on every run.
SCALE_ZONE = "scale.test"
SCALE_PROVIDER_ZONE = "scaleprov.test"
SCALE_PROVIDERS = 20
SCALE_MAX = 99999  # five-digit names
# Every fourth provider greets after a 1 s pause (Postfix's anti-zombie
# `sleep` restriction evaluated at connect time, documented with
# smtpd_client_restrictions in postconf(5)), as many large providers do: the
# probes of different providers then take different times, so one of a
# domain's addresses is answered while the other is still being probed.
SCALE_SLOW_EVERY = 4
SCALE_SLOW_OPTIONS = ["smtpd_delay_reject=no", "smtpd_client_restrictions=sleep,1"]


def scale_population(n):
    """(zone records, servers.tsv-shaped rows, domain names) for --scale n.

    Domain i's primary MX (preference 10) is provider i mod 20 and its
    secondary (20) is the provider 1 + (i div 20) mod 19 further on, so every
    provider is primary for n/20 domains and secondary for n/20 more, all 190
    pairs occur, and consecutive domains spread over all providers. Server
    rows may carry "options": extra -o overrides of their smtpd service.
    """
    hosts = ["mx%02d.%s" % (i + 1, SCALE_PROVIDER_ZONE) for i in range(SCALE_PROVIDERS)]
    servers = []
    for i, host in enumerate(hosts):
        # syslog_name: MX_LOG lines name the provider host, so the server
        # side's count of connections per address can be read back.
        options = ["syslog_name=postfix/" + host]
        if (i + 1) % SCALE_SLOW_EVERY == 0:
            options += SCALE_SLOW_OPTIONS
        servers.append({"addr": "127.0.2.%d" % (i + 1), "host": host, "server": "postfix",
                        "profile": "good", "cert": "valid:" + host, "options": options})
    records = {SCALE_ZONE + ".": [], SCALE_PROVIDER_ZONE + ".": []}
    for s in servers:
        records[SCALE_PROVIDER_ZONE + "."].append("%s. 300 IN A %s" % (s["host"], s["addr"]))
    domains = []
    for i in range(n):
        primary = i % SCALE_PROVIDERS
        secondary = (primary + 1 + (i // SCALE_PROVIDERS) % (SCALE_PROVIDERS - 1)) % SCALE_PROVIDERS
        domain = "d%05d.%s" % (i + 1, SCALE_ZONE)
        domains.append(domain)
        records[SCALE_ZONE + "."] += ["%s. 300 IN MX 10 %s." % (domain, hosts[primary]),
                                      "%s. 300 IN MX 20 %s." % (domain, hosts[secondary])]
    return records, servers, domains


def read_tsv(path):
    rows, header = [], None
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            fields = line.split("\t")
            if header is None:
                header = fields
                continue
            if len(fields) != len(header):
                sys.exit("%s: %d fields, want %d: %s" % (path, len(fields), len(header), line))
            rows.append(dict(zip(header, fields)))
    return rows


def run(cmd, cwd=None, stdin=None):
    out = subprocess.run(cmd, cwd=cwd, input=stdin, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit("labgen: %s failed (%d): %s" % (" ".join(cmd), out.returncode,
                                                 out.stderr.strip()))
    return out.stdout


def write(path, text, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


# --- Certificates -------------------------------------------------------------

def cert_files(ca_dir, spec):
    stem = spec.replace(":", "_").replace("+", "_")
    return os.path.join(ca_dir, stem + ".key"), os.path.join(ca_dir, stem + ".pem")


def make_certs(ca_dir, specs, shared_specs=()):
    """The lab CA, then one key and certificate per distinct cert spec; the
    specs in shared_specs (the scale providers) share one key."""
    os.makedirs(os.path.join(ca_dir, "issued"), exist_ok=True)
    ca_key, ca_pem = os.path.join(ca_dir, "ca.key"), os.path.join(ca_dir, "ca.pem")
    shared_specs = sorted(shared_specs)
    specs = sorted(set(specs) | set(shared_specs))
    # RSA keys (TLS 1.0 with AES128-SHA is RSA key transport); generated in
    # parallel because key generation dominates the lab's start-up time.
    keys = [ca_key] + [cert_files(ca_dir, s)[0] for s in specs if s not in shared_specs]
    shared_key = os.path.join(ca_dir, "shared.key")
    if shared_specs:
        keys.append(shared_key)
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda k: run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                                     "rsa_keygen_bits:2048", "-out", k]), keys))
    for spec in shared_specs:
        shutil.copyfile(shared_key, cert_files(ca_dir, spec)[0])
    run(["openssl", "req", "-x509", "-new", "-key", ca_key, "-out", ca_pem, "-days", "30",
         "-subj", "/O=forcetls lab/CN=forcetls lab CA", "-addext",
         "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
    write(os.path.join(ca_dir, "index.txt"), "")
    write(os.path.join(ca_dir, "serial"), "1000\n")
    write(os.path.join(ca_dir, "ca.cnf"), """[ca]
default_ca = lab
[lab]
dir = {d}
database = {d}/index.txt
serial = {d}/serial
new_certs_dir = {d}/issued
certificate = {d}/ca.pem
private_key = {d}/ca.key
default_md = sha256
policy = anything
unique_subject = no
copy_extensions = none
[anything]
commonName = supplied
[req]
distinguished_name = dn
[dn]
""".format(d=ca_dir))
    now = datetime.datetime.now(datetime.timezone.utc)
    stamp = lambda t: t.strftime("%Y%m%d%H%M%SZ")
    for spec in specs:
        kind, names = spec.split(":", 1)
        names = names.split("+")
        key, pem = cert_files(ca_dir, spec)
        ext = os.path.join(ca_dir, "issued", os.path.basename(pem) + ".ext")
        write(ext, "subjectAltName=%s\nbasicConstraints=critical,CA:FALSE\n"
              "keyUsage=critical,digitalSignature,keyEncipherment\n"
              "extendedKeyUsage=serverAuth\n" % ",".join("DNS:" + n for n in names))
        subj = "/O=forcetls lab/CN=%s" % names[0]
        if kind == "selfsigned":
            run(["openssl", "req", "-x509", "-new", "-key", key, "-out", pem, "-days", "30",
                 "-subj", subj, "-addext", "subjectAltName=" +
                 ",".join("DNS:" + n for n in names)])
            continue
        if kind == "valid":
            start, end = now - datetime.timedelta(days=1), now + datetime.timedelta(days=30)
        elif kind == "expired":
            start, end = now - datetime.timedelta(days=60), now - datetime.timedelta(days=30)
        else:
            sys.exit("labgen: unknown certificate kind in %r" % spec)
        csr = pem + ".csr"
        run(["openssl", "req", "-new", "-key", key, "-out", csr, "-subj", subj])
        run(["openssl", "ca", "-batch", "-notext", "-config", os.path.join(ca_dir, "ca.cnf"),
             "-in", csr, "-out", pem, "-extfile", ext, "-startdate", stamp(start),
             "-enddate", stamp(end)])
    return ca_pem


def spki_sha256(pem):
    der = subprocess.run(["openssl", "x509", "-in", pem, "-noout", "-pubkey"],
                         capture_output=True, check=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=der,
                         capture_output=True, check=True).stdout
    return hashlib.sha256(der).hexdigest()


def cert_sha256(pem):
    der = subprocess.run(["openssl", "x509", "-in", pem, "-outform", "DER"],
                         capture_output=True, check=True).stdout
    return hashlib.sha256(der).hexdigest()


def tlsa_data(kind, pem, ca_dir):
    """The TLSA record of a personalities.tsv `tlsa` kind for a host serving `pem`
    (usages, selectors, matching types: RFC 6698 2.1; usability for SMTP: RFC 7672 3.1)."""
    ca_pem = os.path.join(ca_dir, "ca.pem")
    if kind == "ee":
        return "3 1 1 " + spki_sha256(pem)
    if kind == "ee-other":
        return "3 1 1 " + spki_sha256(ca_pem)  # a real key, just not the one served
    if kind == "ta":
        return "2 0 1 " + cert_sha256(ca_pem)
    if kind == "pkix-ee":
        return "1 1 1 " + spki_sha256(pem)
    sys.exit("labgen: tlsa must be -|ee|ee-other|ta|pkix-ee, not %r" % kind)


def chain_hosts(personalities):
    """MX hosts that send the lab CA after their certificate (DANE-TA needs it
    in the chain for a digest record, RFC 7672 3.1.2)."""
    hosts = set()
    for p in personalities:
        if p.get("tlsa") == "ta":
            hosts |= {entry.split(":")[1] for entry in p["mx"].split(",")}
    return hosts


# --- DNS ------------------------------------------------------------------------

def zone_of(name, zones):
    """The longest zone that contains `name`."""
    best = "test."
    for z in zones:
        if (name == z or name.endswith("." + z)) and len(z) > len(best):
            best = z
    return best


def make_dns(dns_dir, personalities, servers, ca_dir, extra_zones=None):
    """extra_zones: {zone: [record lines]} of unsigned zones (the scale population)."""
    zones_dir = os.path.join(dns_dir, "zones")
    os.makedirs(zones_dir, exist_ok=True)
    zones = {"test.": "insecure"}
    for p in personalities:
        zones[p["domain"] + "."] = p["dnssec"]
    extra_zones = extra_zones or {}
    for z in extra_zones:
        zones[z] = "insecure"
    records = {z: list(extra_zones.get(z, [])) for z in zones}
    seen = set()

    def add(owner, rtype, data):
        key = (owner, rtype, data)
        if key in seen:
            return
        seen.add(key)
        records[zone_of(owner, zones)].append("%s 300 IN %s %s" % (owner, rtype, data))

    cert_of = {}  # host name -> certificate spec served at its addresses
    for s in servers:
        if s["cert"] != "-":
            cert_of.setdefault(s["host"], s["cert"])
    for p in personalities:
        domain = p["domain"] + "."
        if p["mx"] != "-":
            for entry in p["mx"].split(","):
                pref, host = entry.split(":")
                add(domain, "MX", "%s %s" % (pref, host if host == "." else host + "."))
        if p["hosts"] != "-":
            for entry in p["hosts"].split(","):
                if "=>" in entry:
                    host, target = entry.split("=>")
                    add(host + ".", "CNAME", target + ".")
                    continue
                host, addrs = entry.split("=")
                if addrs == "-":
                    continue
                for a in addrs.split("+"):
                    add(host + ".", "AAAA" if ":" in a else "A", a)
        # RFC 8461 §3.1 / RFC 8460 §3 TXT records; the policy host.
        if p["sts_id"] != "-":
            add("_mta-sts." + domain, "TXT", '"v=STSv1; id=%s"' % p["sts_id"])
        if p["sts_policy"] != "-":
            add("mta-sts." + domain, "A", STS_HTTPS_ADDR)
        if p["tlsrpt"] != "-":
            add("_smtp._tls." + domain, "TXT", '"v=TLSRPTv1; rua=%s"' % p["tlsrpt"])
        if p.get("tlsa", "-") != "-":
            for entry in p["mx"].split(","):
                host = entry.split(":")[1]
                _, pem = cert_files(ca_dir, cert_of[host])
                add("_25._tcp.%s." % host, "TLSA", tlsa_data(p["tlsa"], pem, ca_dir))

    anchors = []
    for zone, kind in sorted(zones.items()):
        soa = ["%s 300 IN SOA ns.test. hostmaster.lab.test. 1 3600 600 86400 300" % zone,
               "%s 300 IN NS ns.test." % zone]
        if zone == "test.":
            soa.append("ns.test. 300 IN A 127.0.0.1")
            # Delegations, so the parent answers like a real one would.
            soa += ["%s 300 IN NS ns.test." % z for z in sorted(zones) if z != "test."]
        path = os.path.join(zones_dir, zone + "zone")
        write(path, "$ORIGIN %s\n" % zone + "\n".join(soa + records[zone]) + "\n")
        if kind == "insecure":
            continue
        ksk = run(["ldns-keygen", "-a", "ECDSAP256SHA256", "-k", zone], cwd=zones_dir).strip()
        zsk = run(["ldns-keygen", "-a", "ECDSAP256SHA256", zone], cwd=zones_dir).strip()
        cmd = ["ldns-signzone", "-f", path + ".signed"]
        if kind == "bogus":
            # Signatures that expired long ago: a validator must call it bogus.
            cmd += ["-i", "20200101000000", "-e", "20200201000000"]
        elif kind != "secure":
            sys.exit("labgen: dnssec must be secure|insecure|bogus, not %r" % kind)
        run(cmd + [path, zsk, ksk], cwd=zones_dir)
        ds = run(["ldns-key2ds", "-n", "-2", ksk + ".key"], cwd=zones_dir).strip()
        anchors.append(ds)
    write(os.path.join(dns_dir, "trust-anchors"), "\n".join(anchors) + "\n")

    zone_conf = ""
    for zone, kind in sorted(zones.items()):
        zone_conf += "zone:\n  name: %s\n  zonefile: %szone%s\n" % (
            zone, zone, "" if kind == "insecure" else ".signed")
    write(os.path.join(dns_dir, "nsd.conf"), """# nsd: the lab's authoritative server (doc/lab.md)
server:
  ip-address: 127.0.0.1@5300
  do-ip6: no
  username: ""
  chroot: ""
  database: ""
  zonesdir: "{z}"
  pidfile: "{d}/nsd.pid"
  logfile: "{d}/nsd.log"
  xfrdfile: "{d}/nsd-xfrd.state"
  xfrdir: "{d}"
  zonelistfile: "{d}/nsd-zone.list"
  server-count: 1
  verbosity: 1
remote-control:
  control-enable: no
{zones}""".format(z=zones_dir, d=dns_dir, zones=zone_conf))
    write(os.path.join(dns_dir, "unbound.conf"), """# unbound: the lab's validating resolver on the namespace's 127.0.0.1:53
server:
  interface: 127.0.0.1
  port: 53
  do-ip6: no
  username: ""
  chroot: ""
  directory: "{d}"
  pidfile: "{d}/unbound.pid"
  logfile: "{d}/unbound.log"
  use-syslog: no
  verbosity: 1
  val-log-level: 2
  num-threads: 1
  so-reuseport: no
  do-not-query-localhost: no
  qname-minimisation: no
  module-config: "validator iterator"
  trust-anchor-file: "{d}/trust-anchors"
  # test. is a built-in static local zone (RFC 6761); let it resolve.
  local-zone: "test." transparent
remote-control:
  control-enable: no
stub-zone:
  name: "test."
  stub-addr: 127.0.0.1@5300
""".format(d=dns_dir))


# --- Postfix ---------------------------------------------------------------------

MASTER_COMMON = """\
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


def main_cf(base, lab_dir, ipv6, extra):
    lines = [
        "# Private Postfix instance of the forcetls lab (doc/lab.md).",
        "compatibility_level = 3.6",
        "queue_directory = %s/queue" % base,
        "data_directory = %s/data" % base,
        "mail_owner = postfix",
        "setgid_group = postdrop",
        "mydomain = lab.test",
        "mydestination =",
        "inet_protocols = %s" % ("ipv4, ipv6" if ipv6 else "ipv4"),
        "mynetworks = 127.0.0.0/8%s" % (", [::1]/128" if ipv6 else ""),
        "smtpd_relay_restrictions = permit_mynetworks, reject",
        "alias_maps =",
        "alias_database =",
        "local_recipient_maps =",
        "biff = no",
        "append_dot_mydomain = no",
        "smtputf8_enable = no",
        "maillog_file = %s/maillog" % base,
        "maillog_file_prefixes = %s" % lab_dir,
        "smtpd_banner = $myhostname ESMTP forcetls lab",
    ]
    return "\n".join(lines + extra) + "\n"


def make_postfix(lab_dir, servers, ca_dir, ca_pem, ipv6, with_ca=()):
    mx = os.path.join(lab_dir, "mx")
    services = []
    for s in servers:
        if s["server"] != "postfix":
            continue
        if s["addr"] == "::1" and not ipv6:
            continue
        opts = ["myhostname=" + s["host"]] + POSTFIX_PROFILES[s["profile"]]
        opts += s.get("options", [])
        if s["cert"] != "-":
            key, pem = cert_files(ca_dir, s["cert"])
            chain = [key, pem] + ([ca_pem] if s["host"] in with_ca else [])
            opts.append("smtpd_tls_chain_files=" + ",".join(chain))
        addr = "[%s]" % s["addr"] if ":" in s["addr"] else s["addr"]
        services.append("%s:25 inet n - n - - smtpd\n%s" % (
            addr, "".join("  -o %s\n" % o for o in opts)))
    write(os.path.join(mx, "etc", "main.cf"), main_cf(mx, lab_dir, ipv6, [
        "myhostname = mx.lab.test",
        "inet_interfaces = loopback-only",
        "# Accept everything from the lab and throw it away.",
        "default_transport = discard:delivered to the lab",
        "relay_transport = discard:delivered to the lab",
        "local_transport = discard:delivered to the lab",
        "smtpd_tls_security_level = none",
        "smtpd_tls_loglevel = 1",
    ]))
    write(os.path.join(mx, "etc", "master.cf"),
          "# One smtpd per MX address (servers.tsv), -o overrides per profile.\n"
          + "".join(services) + MASTER_COMMON)

    send = os.path.join(lab_dir, "send")
    write(os.path.join(send, "etc", "main.cf"), main_cf(send, lab_dir, ipv6, [
        "myhostname = sender.lab.test",
        "# Only 127.0.0.1 is \"myself\": MX hosts on other 127/8 addresses and ::1",
        "# must not count as mail loops.",
        "inet_interfaces = 127.0.0.1",
        "relay_domains =",
        "local_transport = error:no local delivery in the lab",
        "smtp_tls_security_level = may",
        "smtp_tls_CAfile = %s" % ca_pem,
        "smtp_tls_loglevel = 1",
        "smtp_dns_support_level = dnssec",
        "# The default probe (ns:.) needs the Internet's root; ask a signed lab zone.",
        "dnssec_probe = soa:signed.test",
        "smtp_connect_timeout = 5s",
        "notify_classes =",
        "delay_warning_time = 0",
        "# Later lab tests attach forcetls here, e.g. (doc/lab.md):",
        "#   tests/lab/lab postconf DIR send smtpd_milters=inet:127.0.0.1:8891",
        "#   tests/lab/lab postconf DIR send smtp_tls_policy_maps=socketmap:inet:127.0.0.1:8892:forcetls",
    ]))
    write(os.path.join(send, "etc", "master.cf"),
          "# The sending instance: swaks submits to 127.0.0.1:2525.\n"
          "127.0.0.1:2525 inet n - n - - smtpd\n" + MASTER_COMMON)
    for base in (mx, send):
        for d in ("queue", "data"):
            os.makedirs(os.path.join(base, d), exist_ok=True)
        subprocess.run(["chown", "postfix", os.path.join(base, "data")], check=True)


# --- Emulator ---------------------------------------------------------------------

def make_emulator(lab_dir, servers):
    listeners = []
    for s in servers:
        if s["server"] != "emulator":
            continue
        d = {"name": s["host"], "addr": s["addr"], "port": 25}
        d.update(EMULATOR_PROFILES[s["profile"]])
        if s["backend"] != "-":
            d["backend"] = "%s:25" % s["backend"]
        fault = s["fault"]
        if fault.startswith("greeting-delay="):
            d["greeting_delay"] = float(fault.split("=")[1])
        elif fault.startswith("421-after="):
            n, window = fault.split("=")[1].split("/")
            d["limit"] = {"connections": int(n), "window": float(window)}
        elif fault.startswith("latency="):
            d["latency"] = float(fault.split("=")[1])
        elif fault != "-":
            sys.exit("labgen: emulator fault %r unknown" % fault)
        listeners.append(d)
    write(os.path.join(lab_dir, "emulator", "config.json"),
          json.dumps({"listeners": listeners}, indent=1) + "\n")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--no-ipv6", action="store_true")
    parser.add_argument("--scale", type=int, default=0, metavar="N",
                        help="add N scale domains sharing %d provider MX hosts" % SCALE_PROVIDERS)
    args = parser.parse_args()
    if not 0 <= args.scale <= SCALE_MAX:
        sys.exit("labgen: --scale must be 0..%d" % SCALE_MAX)
    lab_dir = os.path.abspath(args.dir)
    ipv6 = not args.no_ipv6
    personalities = read_tsv(os.path.join(HERE, "personalities.tsv"))
    servers = read_tsv(os.path.join(HERE, "servers.tsv"))
    scale_records, scale_servers, scale_domains = {}, [], []
    if args.scale > 0:
        scale_records, scale_servers, scale_domains = scale_population(args.scale)
        write(os.path.join(lab_dir, "scale", "domains.txt"), "\n".join(scale_domains) + "\n")
        write(os.path.join(lab_dir, "scale", "mx.txt"),
              "".join("%s %s\n" % (s["host"], s["addr"]) for s in scale_servers))

    ca_dir = os.path.join(lab_dir, "ca")
    cert_specs = {s["cert"] for s in servers if s["cert"] != "-"}
    cert_specs |= {sts_cert_spec(p) for p in personalities if p["sts_policy"] != "-"}
    ca_pem = make_certs(ca_dir, cert_specs, {s["cert"] for s in scale_servers})
    make_dns(os.path.join(lab_dir, "dns"), personalities, servers, ca_dir, scale_records)
    servers = servers + scale_servers
    make_postfix(lab_dir, servers, ca_dir, ca_pem, ipv6, chain_hosts(personalities))
    make_emulator(lab_dir, servers)
    listen = ["127.0.0.1 5300", "127.0.0.1 53", "127.0.0.1 2525"]
    if make_https(lab_dir, personalities, ca_dir):
        listen.append("%s 443" % STS_HTTPS_ADDR)
    for s in servers:
        if s["server"] != "none" and (ipv6 or s["addr"] != "::1"):
            listen.append("%s 25" % s["addr"])
    write(os.path.join(lab_dir, "listen.txt"), "\n".join(listen) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
