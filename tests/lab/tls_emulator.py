#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""ServerHello emulator and hand-built-ClientHello prober of the forcetls lab.

  serve CONFIG.json        SMTP servers (one per configured address) that
                           advertise STARTTLS and answer one TLS ClientHello
                           with a ServerHello (or a fatal alert) chosen from
                           their configured versions and suites, then close.
                           Optional fault modes: a multi-line greeting with a
                           pause (as Postfix postscreen sends), 421 after N
                           connections per time window, and proxying to a
                           real backend SMTP server after the greeting,
                           optionally with a delay each way (a distant
                           server: a 50 ms round trip on loopback).
  probe HOST PORT [...]    one SMTP + STARTTLS connection, one ClientHello,
                           prints what the server answered.
  greet HOST PORT          connects (--count times) and prints each greeting:
                           code, line count, seconds to the last line.
  facts HOST:PORT...       measures the per-check facts of each server
                           (starttls, ssl3..tls1_3, weak suites, NIST r1/r2)
                           with hand-built ClientHellos; targets run in
                           parallel, one connection at a time per target.
  selftest                 checks builder, parser, chooser and the whole
                           emulator over a socketpair (no TCP, no network).

Python 3 standard library only, and independent of the forcetls C++ prober on
purpose, so the two check each other. Only ever point it at 127.0.0.0/8 or ::1
inside the lab's network namespace.
"""

import argparse
import asyncio
import json
import os
import socket
import struct
import sys
import time

SSL3, TLS10, TLS11, TLS12, TLS13 = 0x0300, 0x0301, 0x0302, 0x0303, 0x0304
VERSION_NAMES = {SSL3: "SSLv3", TLS10: "TLSv1.0", TLS11: "TLSv1.1", TLS12: "TLSv1.2",
                 TLS13: "TLSv1.3"}
LEGACY_VERSIONS = [SSL3, TLS10, TLS11, TLS12]

# Alert descriptions (RFC 8446 section 6.2, RFC 5246 section 7.2).
ALERT_HANDSHAKE_FAILURE = 40
ALERT_PROTOCOL_VERSION = 70
ALERT_NAMES = {10: "unexpected_message", 40: "handshake_failure", 47: "illegal_parameter",
               50: "decode_error", 70: "protocol_version", 71: "insufficient_security",
               80: "internal_error", 86: "inappropriate_fallback", 109: "missing_extension"}

# RFC 8446 section 4.1.3: the ServerHello.random of a HelloRetryRequest.
HRR_RANDOM = bytes.fromhex(
    "CF21AD74E59A6111BE1D8C021E65B891C2A211167ABB8C5E079E09E2C8A8339C")

SCSV_RENEGOTIATION = 0x00FF  # RFC 5746
SCSV_FALLBACK = 0x5600  # RFC 7507


def _hex(text):
    return [int(x, 16) for x in text.split()]


def _span(first, last):
    return list(range(first, last + 1))


# --- Cipher-suite tables (IANA TLS Cipher Suites registry code points). ---
# Weak suites: doc/checks.md, Weak (OpenSSL's EXPORT, LOW,
# MEDIUM categories plus old algorithms), extended by the anonymous (aNULL)
# and NULL-encryption suites doc/checks.md asks to report as weak; code points
# of those two from the IANA registry (DH_anon / ECDH_anon / *_NULL_*).
WEAK_EXPORT = _hex("0003 0006 0008 000B 000E 0011 0014 0017 0019") + _span(0x0026, 0x002B) \
    + _span(0x0060, 0x0065)
WEAK_DES = _hex("0009 000C 000F 0012 0015 001A 001E 0022")
WEAK_RC4 = _hex("0004 0005 0018 0020 0024 0066 008A 008E 0092 C002 C007 C00C C011 C016 C033")
WEAK_RC2 = _hex("0006 0027 002A 0061")
WEAK_IDEA = _hex("0007 0021 0025")
WEAK_SEED = _span(0x0096, 0x009B)
WEAK_3DES = _hex("000A 000D 0010 0013 0016 001B 001F 0023 008B 008F 0093 C003 C008 C00D C012"
                 " C017 C01A C01B C01C C034")
WEAK_MD5 = _hex("0001 0003 0004 0006 0017 0018 0022 0023 0024 0025 0029 002A 002B 0060 0061")
ANON = _hex("0018 001B 0034 003A 006C 006D 00A6 00A7 0046 0089 00BF 00C5"
            " C015 C016 C017 C018 C019")
NULL_ENC = _hex("0001 0002 003B C001 C006 C00B C010 C015")
WEAK = sorted(set(WEAK_EXPORT + WEAK_DES + WEAK_RC4 + WEAK_RC2 + WEAK_IDEA + WEAK_SEED
                  + WEAK_3DES + WEAK_MD5 + ANON + NULL_ENC))

# NIST SP 800-52r2 (doc/checks.md, from cisco/mercury crypto_assess.h quoting
# NIST section 3.3.1).
R2_TLS12 = _hex(
    "C02B C02C C0AC C0AD C0AE C0AF C023 C024 C009 C00A"  # ECDSA certs
    " C02F C030 009E 009F C09E C09F C0A2 C0A3 C027 C028 0067 006B C013 C014 0033 0039"  # RSA
    " 00A2 00A3 0040 006A 0032 0038"  # DSA
    " 00A4 00A5 003E 0068 0030 0036"  # DH_DSS
    " 00A0 00A1 003F 0069 0031 0037"  # DH_RSA
    " C02D C02E C025 C026 C004 C005"  # ECDH_ECDSA
    " C031 C032 C029 C02A C00E C00F")  # ECDH_RSA
R2_TLS13 = _hex("1301 1302 1304 1305")
# NIST SP 800-52r1 (doc/checks.md): r2's TLS 1.2 suites without the ECDHE-ECDSA
# CCM ones, plus RSA key transport, plus 3DES. No TLS 1.3 suites.
R1 = [s for s in R2_TLS12 if s not in _hex("C0AC C0AD C0AE C0AF")] \
    + _hex("000A 002F 0035 003C 003D 009C 009D C09C C09D C0A0 C0A1") \
    + _hex("C008 C012 0016 0013 000D 0010 C003 C00D")

TLS13_SUITES = _hex("1301 1302 1303 1304 1305")

# Suites that exist only from TLS 1.2 on: SHA-256/384 and AEAD suites
# (RFC 5246 A.5, RFC 5288 GCM, RFC 5289 ECDHE SHA-2/GCM, RFC 5932 Camellia
# SHA-256, RFC 6209 ARIA, RFC 6367 Camellia ECC, RFC 6655/7251 CCM, RFC 7905
# ChaCha20).
TLS12_ONLY = set(_span(0x003B, 0x0040) + _span(0x0067, 0x006D) + _span(0x009C, 0x00A7)
                 + _span(0x00BA, 0x00C5) + _span(0xC023, 0xC032) + _span(0xC03C, 0xC093)
                 + _span(0xC09C, 0xC0AF) + _span(0xCCA8, 0xCCAE))
# ECC suites (RFC 4492) and their kin exist from TLS 1.0 on.
TLS10_MIN = set(_span(0xC001, 0xC03B))
# RFC 4346 A.5: TLS 1.1 must not negotiate EXPORT suites. RFC 5469: DES and
# IDEA are not part of TLS 1.2.
MAX_TLS10 = set(WEAK_EXPORT)
MAX_TLS11 = set(WEAK_DES + WEAK_IDEA)

# A wide offer for "is this version accepted" probes: modern suites first,
# then legacy ones (kept under 128 suites: some servers drop longer lists).
WIDE = _hex(
    "C02C C030 009F CCA9 CCA8 CCAA C02B C02F 009E C024 C028 006B C023 C027 0067"
    " C00A C014 0039 C009 C013 0033 009D 009C 003D 003C 0035 002F 00C4 00BE 0088 0045"
    " 0084 0041 00A3 00A2 006A 0040 0038 0032 0087 0044 C0AD C0AC C09F C09E C09D C09C"
    " C0AF C0AE C0A3 C0A2 C0A1 C0A0 C012 C008 0016 0013 000A 000D 0010 C003 C00D"
    " C011 C007 0005 0004 C00C C002 0096 0097 0098 0099 009A 009B 0007 0009 0012 0015"
    " 0003 0006 0008 000B 000E 0011 0014 0017 0019 0062 0063 0064 0065 0060 0061"
    " 00A7 00A6 006D 006C 003A 0034 0089 0046 C019 C018 C017 C016 0018 001B"
    " 0002 0001 003B C010 C006 C015")


def suite_valid(suite, version):
    """Whether `suite` may be negotiated at `version` (tables above)."""
    if suite >> 8 == 0x13:
        return version == TLS13
    if version == TLS13:
        return False
    if suite in TLS12_ONLY and version < TLS12:
        return False
    if (suite in TLS10_MIN or suite >> 8 == 0xCC) and version < TLS10:
        return False
    if suite in MAX_TLS10 and version > TLS10:
        return False
    if suite in MAX_TLS11 and version > TLS11:
        return False
    return True


def is_grease(value):
    # RFC 8701: 0x?A?A values are reserved noise a client may send.
    return (value & 0x0F0F) == 0x0A0A and (value >> 8) == (value & 0xFF)


def fmt_suite(suite):
    return "%04X" % suite


def fmt_version(version):
    return VERSION_NAMES.get(version, "0x%04X" % version)


def parse_version(text):
    """'tls1.2', 'TLSv1.2', 'ssl3', '0x0303' -> 0x0303."""
    t = str(text).strip().lower().replace("v", "").replace("_", ".")
    names = {"ssl3": SSL3, "ssl3.0": SSL3, "tls1": TLS10, "tls1.0": TLS10, "tls1.1": TLS11,
             "tls1.2": TLS12, "tls1.3": TLS13}
    if t in names:
        return names[t]
    return int(t, 16)


def parse_suite(text):
    return int(str(text), 16) if isinstance(text, str) else int(text)


# --- Wire format ----------------------------------------------------------

def _u8(v):
    return struct.pack(">B", v)


def _u16(v):
    return struct.pack(">H", v)


def _u24(v):
    return struct.pack(">I", v)[1:]


def _vec8(b):
    return _u8(len(b)) + b


def _vec16(b):
    return _u16(len(b)) + b


def _ext(kind, data):
    return _u16(kind) + _vec16(data)


def record(content_type, version, payload):
    return _u8(content_type) + _u16(version) + _vec16(payload)


def alert_record(version, description):
    return record(21, version, bytes([2, description]))


GROUPS = _hex("001D 0017 0018 0019 001E")  # x25519 P-256 P-384 P-521 x448 (RFC 8446 4.2.7)
SIGALGS = _hex("0403 0503 0603 0804 0805 0806 0401 0501 0601 0402 0203 0201 0202")


def build_client_hello(version, suites, *, tls13=False, sni=None, extra_versions=()):
    """A ClientHello record. `version` is client_version (0x0300..0x0303);
    `tls13` adds supported_versions (0x0304 plus `extra_versions`) and an
    x25519 key share, with client_version 0x0303 as RFC 8446 requires."""
    legacy = TLS12 if tls13 else version
    sid = os.urandom(32) if tls13 else b""
    offer = list(suites)
    if version == SSL3 and not tls13:
        offer.append(SCSV_RENEGOTIATION)  # SSL 3.0 has no extensions
    body = _u16(legacy) + os.urandom(32) + _vec8(sid)
    body += _vec16(b"".join(_u16(s) for s in offer)) + _vec8(b"\x00")
    if legacy >= TLS10:
        exts = b""
        if sni:
            name = sni.encode("ascii")
            exts += _ext(0, _vec16(b"\x00" + _vec16(name)))
        exts += _ext(10, _vec16(b"".join(_u16(g) for g in GROUPS)))
        exts += _ext(11, _vec8(b"\x00"))
        exts += _ext(13, _vec16(b"".join(_u16(a) for a in SIGALGS)))
        exts += _ext(0xFF01, b"\x00")
        if tls13:
            versions = [TLS13] + list(extra_versions)
            exts += _ext(43, _vec8(b"".join(_u16(v) for v in versions)))
            exts += _ext(51, _vec16(_u16(0x001D) + _vec16(os.urandom(32))))
            exts += _ext(45, _vec8(b"\x01"))
        body += _vec16(exts)
    handshake = b"\x01" + _u24(len(body)) + body
    return record(22, SSL3 if legacy == SSL3 else TLS10, handshake)


class Malformed(Exception):
    pass


class _Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, n):
        if self.pos + n > len(self.data):
            raise Malformed("truncated")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def u8(self):
        return self.take(1)[0]

    def u16(self):
        return struct.unpack(">H", self.take(2))[0]

    def vec8(self):
        return self.take(self.u8())

    def vec16(self):
        return self.take(self.u16())

    def left(self):
        return len(self.data) - self.pos


def _parse_extensions(r):
    exts = {}
    if r.left() == 0:
        return exts
    block = _Reader(r.vec16())
    while block.left():
        kind = block.u16()
        exts[kind] = block.vec16()
    return exts


class ClientHello:
    """The fields of a ClientHello the chooser needs."""

    def __init__(self, body, record_version):
        r = _Reader(body)
        self.record_version = record_version
        self.client_version = r.u16()
        self.random = r.take(32)
        self.session_id = r.vec8()
        raw = r.vec16()
        if len(raw) % 2:
            raise Malformed("odd cipher_suites length")
        self.suites = [struct.unpack(">H", raw[i:i + 2])[0] for i in range(0, len(raw), 2)]
        self.compression = r.vec8()
        self.extensions = _parse_extensions(r)
        self.supported_versions = None
        if 43 in self.extensions:
            v = _Reader(self.extensions[43])
            listed = v.vec8()
            self.supported_versions = [struct.unpack(">H", listed[i:i + 2])[0]
                                       for i in range(0, len(listed) - 1, 2)]
        self.key_shares = []
        if 51 in self.extensions:
            k = _Reader(_Reader(self.extensions[51]).vec16())
            while k.left():
                group = k.u16()
                self.key_shares.append((group, k.vec16()))


def choose(versions, suites, hello):
    """The emulated server's answer: ('hello', version, suite) or
    ('alert', description). Highest version both support (supported_versions
    only counts when the server itself does TLS 1.3, as a pre-1.3 server
    ignores the extension), then the first server-preferred suite the client
    offered that is valid at that version."""
    server_versions = set(versions)
    if TLS13 in server_versions and hello.supported_versions is not None:
        client_versions = {v for v in hello.supported_versions if not is_grease(v)}
    else:
        client_versions = {v for v in LEGACY_VERSIONS if v <= hello.client_version}
    common = server_versions & client_versions
    if not common:
        return ("alert", ALERT_PROTOCOL_VERSION)
    version = max(common)
    offered = set(hello.suites)
    for suite in suites:
        if suite in offered and suite_valid(suite, version):
            if version == TLS13 and not hello.key_shares:
                return ("alert", ALERT_HANDSHAKE_FAILURE)
            return ("hello", version, suite)
    return ("alert", ALERT_HANDSHAKE_FAILURE)


def build_server_hello(version, suite, hello):
    """A well-formed ServerHello record for the chosen version and suite."""
    exts = b""
    if version == TLS13:
        group, key = hello.key_shares[0]
        exts += _ext(43, _u16(TLS13))
        exts += _ext(51, _u16(group) + _vec16(os.urandom(len(key))))
        body = _u16(TLS12) + os.urandom(32) + _vec8(hello.session_id) + _u16(suite) + b"\x00"
        record_version = TLS12
    else:
        if 0xFF01 in hello.extensions or SCSV_RENEGOTIATION in hello.suites:
            exts += _ext(0xFF01, b"\x00")
        if suite >> 8 == 0xC0 and 11 in hello.extensions:
            exts += _ext(11, _vec8(b"\x00"))
        body = _u16(version) + os.urandom(32) + _vec8(b"") + _u16(suite) + b"\x00"
        record_version = version
    if exts:
        body += _vec16(exts)
    return record(22, record_version, b"\x02" + _u24(len(body)) + body)


def parse_server_hello(body):
    """{'version', 'suite', 'hrr'} from a ServerHello handshake body."""
    r = _Reader(body)
    legacy = r.u16()
    rnd = r.take(32)
    r.vec8()
    suite = r.u16()
    r.u8()
    exts = _parse_extensions(r)
    version = legacy
    if 43 in exts and len(exts[43]) == 2:
        version = struct.unpack(">H", exts[43])[0]
    return {"version": version, "suite": suite, "hrr": rnd == HRR_RANDOM}


async def read_handshake_message(reader, want_type, timeout):
    """Reads records until one whole handshake message of `want_type`.
    Returns ('handshake', body, record_version) or ('alert', level, desc)
    or ('closed',) / ('timeout',) / ('garbage', why)."""
    buf = b""
    record_version = None
    deadline = time.monotonic() + timeout
    while True:
        try:
            header = await asyncio.wait_for(reader.readexactly(5),
                                            max(0.01, deadline - time.monotonic()))
        except asyncio.TimeoutError:
            return ("timeout",)
        except (asyncio.IncompleteReadError, ConnectionError):
            return ("closed",)
        ctype, rversion, length = header[0], struct.unpack(">H", header[1:3])[0], \
            struct.unpack(">H", header[3:5])[0]
        if ctype not in (21, 22) or rversion >> 8 != 3 or length > 18432:
            return ("garbage", "not a TLS record: %s" % header.hex())
        try:
            payload = await asyncio.wait_for(reader.readexactly(length),
                                             max(0.01, deadline - time.monotonic()))
        except asyncio.TimeoutError:
            return ("timeout",)
        except (asyncio.IncompleteReadError, ConnectionError):
            return ("closed",)
        if ctype == 21:
            if len(payload) < 2:
                return ("garbage", "short alert")
            return ("alert", payload[0], payload[1])
        record_version = record_version or rversion
        buf += payload
        if len(buf) >= 4:
            mtype, mlen = buf[0], struct.unpack(">I", b"\x00" + buf[1:4])[0]
            if mtype != want_type:
                return ("garbage", "handshake type %d" % mtype)
            if len(buf) >= 4 + mlen:
                return ("handshake", buf[4:4 + mlen], record_version)


# --- SMTP ---------------------------------------------------------------

class Unknown(Exception):
    """The question could not be asked (refused, timeout, 421, no STARTTLS 220)."""


async def read_reply(reader, timeout):
    """One whole (possibly multi-line) SMTP reply: (code, [lines])."""
    lines = []
    deadline = time.monotonic() + timeout
    while True:
        try:
            line = await asyncio.wait_for(reader.readline(), max(0.01, deadline - time.monotonic()))
        except asyncio.TimeoutError:
            raise Unknown("timeout reading reply after %r" % lines)
        except ConnectionError as e:
            raise Unknown("connection error: %s" % e)
        if not line:
            raise Unknown("closed after %r" % lines)
        text = line.decode("latin-1").rstrip("\r\n")
        lines.append(text)
        if len(text) < 4 or text[3] != "-":
            try:
                return int(text[:3]), lines
            except ValueError:
                raise Unknown("bad reply %r" % text)


async def smtp_open(host, port, ehlo, timeout, want_starttls=True):
    """Connects, reads the greeting, EHLOs, optionally STARTTLS.
    Returns (reader, writer, info) with info['starttls'] True/False."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except (OSError, asyncio.TimeoutError) as e:
        raise Unknown("connect: %s" % (e or "timeout"))
    info = {}
    try:
        t0 = time.monotonic()
        code, lines = await read_reply(reader, timeout)
        info["greeting"] = lines
        info["greeting_seconds"] = time.monotonic() - t0
        if code != 220:
            raise Unknown("greeting %d %s" % (code, lines[-1]))
        writer.write(("EHLO %s\r\n" % ehlo).encode())
        code, lines = await read_reply(reader, timeout)
        if code != 250:
            raise Unknown("EHLO %d" % code)
        info["starttls"] = any(l[4:].strip().upper() == "STARTTLS" for l in lines)
        if want_starttls and info["starttls"]:
            writer.write(b"STARTTLS\r\n")
            code, lines = await read_reply(reader, timeout)
            if code != 220:
                raise Unknown("STARTTLS %d" % code)
    except Exception:
        writer.close()
        raise
    return reader, writer, info


async def probe(host, port, hello, *, ehlo="probe.lab.test", timeout=10.0):
    """One connection, one ClientHello. Returns a dict with 'answer' in
    hello|alert|closed|timeout|garbage|unknown|nostarttls."""
    try:
        reader, writer, info = await smtp_open(host, port, ehlo, timeout)
    except Unknown as e:
        return {"answer": "unknown", "why": str(e)}
    try:
        if not info["starttls"]:
            return {"answer": "nostarttls"}
        writer.write(hello)
        got = await read_handshake_message(reader, 2, timeout)
        if got[0] == "handshake":
            try:
                sh = parse_server_hello(got[1])
            except Malformed as e:
                return {"answer": "garbage", "why": str(e)}
            return {"answer": "hello", **sh}
        if got[0] == "alert":
            return {"answer": "alert", "level": got[1], "desc": got[2]}
        if got[0] == "timeout":
            return {"answer": "unknown", "why": "timeout waiting for ServerHello"}
        return {"answer": got[0], "why": got[1] if len(got) > 1 else ""}
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except Exception:
            pass


def describe(result):
    a = result["answer"]
    if a == "hello":
        return "serverhello version=%s suite=%s%s" % (
            fmt_version(result["version"]), fmt_suite(result["suite"]),
            " hrr=yes" if result.get("hrr") else "")
    if a == "alert":
        return "alert %d %s" % (result["desc"], ALERT_NAMES.get(result["desc"], "?"))
    return "%s %s" % (a, result.get("why", "")).rstrip()


# --- Facts ---------------------------------------------------------------

class Target:
    def __init__(self, spec):
        host, _, port = spec.rpartition(":")
        self.host = host.strip("[]")
        self.port = int(port)
        self.spec = spec


async def _ask(target, hello_fn, ehlo):
    """A probe retried once on a fresh connection when the answer is unknown."""
    result = await probe(target.host, target.port, hello_fn(), ehlo=ehlo)
    if result["answer"] in ("unknown", "timeout"):
        await asyncio.sleep(0.5)
        result = await probe(target.host, target.port, hello_fn(), ehlo=ehlo)
    return result


def _accepted(result, version, offer):
    """A ServerHello at `version` choosing an offered suite counts as accepted."""
    return result["answer"] == "hello" and result["version"] == version \
        and result["suite"] in offer


def _yes_no_unknown(result, ok):
    if result["answer"] in ("unknown", "timeout", "nostarttls"):
        return "unknown"
    return "yes" if ok else "no"


async def measure(target, ehlo="probe.lab.test"):
    """The facts of one server, as {check: value} (see module doc)."""
    facts = {}
    try:
        reader, writer, info = await smtp_open(target.host, target.port, ehlo, 10.0,
                                               want_starttls=False)
        writer.close()
        facts["starttls"] = "yes" if info["starttls"] else "no"
    except Unknown as e:
        facts["starttls"] = "unknown"
        facts["why"] = str(e).replace(" ", "_")
    names = ["ssl3", "tls1_0", "tls1_1", "tls1_2", "tls1_3", "weak", "nist_r1", "nist_r2"]
    if facts["starttls"] != "yes":
        value = "-" if facts["starttls"] == "no" else "unknown"
        facts.update({n: value for n in names})
        return facts

    accepted = []
    for name, version in (("ssl3", SSL3), ("tls1_0", TLS10), ("tls1_1", TLS11),
                          ("tls1_2", TLS12)):
        offer = [s for s in WIDE if suite_valid(s, version)]
        result = await _ask(target, lambda: build_client_hello(version, offer), ehlo)
        facts[name] = _yes_no_unknown(result, _accepted(result, version, offer))
        if facts[name] == "yes":
            accepted.append(version)
    result = await _ask(target, lambda: build_client_hello(TLS12, TLS13_SUITES, tls13=True), ehlo)
    facts["tls1_3"] = _yes_no_unknown(result, _accepted(result, TLS13, TLS13_SUITES))

    # Weak suites: at each accepted version up to 1.2, offer only weak suites
    # valid there; remove each one the server picks and ask again.
    # A version whose acceptance is unknown may hide weak suites.
    weak = set()
    weak_unknown = any(facts[n] == "unknown" for n in ("ssl3", "tls1_0", "tls1_1", "tls1_2"))
    for version in accepted:
        offer = [s for s in WEAK if suite_valid(s, version)]
        while offer:
            result = await _ask(target, lambda: build_client_hello(version, offer), ehlo)
            if result["answer"] in ("unknown", "timeout"):
                weak_unknown = True
                break
            if not _accepted(result, version, offer):
                break
            weak.add(result["suite"])
            offer.remove(result["suite"])
    # Known weak suites are reported even when others may be missing.
    listed = ",".join(fmt_suite(s) for s in sorted(weak))
    facts["weak"] = listed or ("unknown" if weak_unknown else "none")

    # NIST lists: offer exactly the list; the server negotiates the version.
    result = await _ask(target, lambda: build_client_hello(TLS12, R1), ehlo)
    facts["nist_r1"] = _yes_no_unknown(
        result, result["answer"] == "hello" and result["suite"] in R1
        and suite_valid(result["suite"], result["version"]))
    result = await _ask(target, lambda: build_client_hello(TLS12, R2_TLS12), ehlo)
    r2 = _yes_no_unknown(result, result["answer"] == "hello" and result["suite"] in R2_TLS12)
    if r2 != "yes" and facts["tls1_3"] == "yes":
        result = await _ask(target, lambda: build_client_hello(TLS12, R2_TLS13, tls13=True), ehlo)
        r2 = _yes_no_unknown(result, _accepted(result, TLS13, R2_TLS13))
    facts["nist_r2"] = r2
    return facts


async def measure_all(specs, ehlo):
    targets = [Target(s) for s in specs]
    results = await asyncio.gather(*(measure(t, ehlo) for t in targets))
    return list(zip(targets, results))


async def greet(host, port, count, pause):
    """`count` connections in a row: each greeting's code, line count, seconds
    from connect to its last line, first and last line; or the error."""
    out = []
    for i in range(1, count + 1):
        t0 = time.monotonic()
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 10)
        except (OSError, asyncio.TimeoutError) as e:
            out.append("%d\terror\t%s" % (i, "refused" if isinstance(e, ConnectionRefusedError)
                                           else (str(e) or "timeout")))
            continue
        try:
            code, lines = await read_reply(reader, 15)
            out.append("%d\t%d\t%d\t%.3f\t%s\t%s" % (i, code, len(lines), time.monotonic() - t0,
                                                    lines[0], lines[-1]))
            writer.write(b"QUIT\r\n")
            await writer.drain()
        except Unknown as e:
            out.append("%d\terror\t%s" % (i, e))
        finally:
            writer.close()
        if pause:
            await asyncio.sleep(pause)
    return out


# --- The emulator ----------------------------------------------------------

class ListenerConfig:
    def __init__(self, d):
        self.name = d["name"]
        self.addr = d["addr"]
        self.port = int(d.get("port", 25))
        self.starttls = bool(d.get("starttls", True))
        self.versions = [parse_version(v) for v in d.get("versions", [])]
        self.suites = [parse_suite(s) for s in d.get("suites", [])]
        self.greeting_delay = float(d.get("greeting_delay", 0))
        limit = d.get("limit") or {}
        self.limit_connections = int(limit.get("connections", 0))
        self.limit_window = float(limit.get("window", 0))
        self.backend = d.get("backend")
        # Seconds added to each direction of a proxied connection (half the round trip).
        self.latency = float(d.get("latency", 0))
        self.times = []  # connection attempts inside the rate window


class Emulator:
    def __init__(self, configs, log):
        self.configs = configs
        self.log = log

    def note(self, cfg, peer, event, **fields):
        extra = "".join(" %s=%s" % kv for kv in fields.items())
        self.log.write("%s emulator name=%s addr=%s peer=%s event=%s%s\n" % (
            time.strftime("%H:%M:%S"), cfg.name, cfg.addr, peer, event, extra))
        self.log.flush()

    async def handle(self, cfg, reader, writer):
        peername = writer.get_extra_info("peername")
        peer = "%s:%s" % peername[:2] if isinstance(peername, tuple) else "local"
        try:
            await self._session(cfg, reader, writer, peer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.TimeoutError) as e:
            self.note(cfg, peer, "dropped", why=type(e).__name__)
        except Exception as e:  # keep serving other connections
            self.note(cfg, peer, "error", why=repr(e).replace(" ", "_"))
        finally:
            writer.close()

    async def _session(self, cfg, reader, writer, peer):
        # Rate limit like Postfix anvil: every attempt counts, so a client that
        # keeps hammering stays limited until it pauses for a whole window.
        if cfg.limit_connections:
            now = time.monotonic()
            cfg.times = [t for t in cfg.times if now - t < cfg.limit_window]
            cfg.times.append(now)
            if len(cfg.times) > cfg.limit_connections:
                writer.write(b"421 4.7.0 %s Error: too many connections from %s\r\n"
                             % (cfg.name.encode(), peer.rsplit(":", 1)[0].encode()))
                await writer.drain()
                self.note(cfg, peer, "421", attempts=len(cfg.times))
                return
        if cfg.greeting_delay:
            # postscreen(8) style: the first lines of a multi-line 220, a
            # pause, then the rest; clients must wait for the last line.
            writer.write(b"220-%s ESMTP greeting continues after a pause\r\n" % cfg.name.encode())
            await writer.drain()
            await asyncio.sleep(cfg.greeting_delay)
        if cfg.backend:
            await self._proxy(cfg, reader, writer, peer)
            return
        writer.write(b"220 %s ESMTP forcetls lab emulator\r\n" % cfg.name.encode())
        self.note(cfg, peer, "connect")
        while True:
            line = await asyncio.wait_for(reader.readline(), 60)
            if not line:
                return
            verb = line.strip().split(b" ")[0].upper()
            if verb == b"EHLO":
                lines = [cfg.name, "SIZE 10240000"] + (["STARTTLS"] if cfg.starttls else []) \
                    + ["8BITMIME"]
                text = "".join("250-%s\r\n" % l for l in lines[:-1]) + "250 %s\r\n" % lines[-1]
                writer.write(text.encode())
            elif verb == b"HELO":
                writer.write(b"250 %s\r\n" % cfg.name.encode())
            elif verb == b"STARTTLS" and cfg.starttls:
                writer.write(b"220 2.0.0 Ready to start TLS\r\n")
                await writer.drain()
                await self._tls(cfg, reader, writer, peer)
                return
            elif verb == b"MAIL":
                writer.write(b"250 2.1.0 Ok\r\n")
            elif verb == b"RCPT":
                writer.write(b"250 2.1.5 Ok\r\n")
            elif verb == b"DATA":
                writer.write(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                await writer.drain()
                while True:
                    data = await asyncio.wait_for(reader.readline(), 60)
                    if not data or data in (b".\r\n", b".\n"):
                        break
                writer.write(b"250 2.0.0 Ok: discarded by the lab emulator\r\n")
                self.note(cfg, peer, "message")
            elif verb in (b"RSET", b"NOOP"):
                writer.write(b"250 2.0.0 Ok\r\n")
            elif verb == b"QUIT":
                writer.write(b"221 2.0.0 Bye\r\n")
                await writer.drain()
                return
            else:
                writer.write(b"502 5.5.2 Error: command not recognized\r\n")
            await writer.drain()

    async def _tls(self, cfg, reader, writer, peer):
        got = await read_handshake_message(reader, 1, 30)
        if got[0] != "handshake":
            self.note(cfg, peer, "no_clienthello", got=got[0])
            return
        try:
            hello = ClientHello(got[1], got[2])
        except Malformed as e:
            self.note(cfg, peer, "bad_clienthello", why=str(e))
            writer.write(alert_record(TLS10, 50))
            return
        decision = choose(cfg.versions, cfg.suites, hello)
        offered = "client_version=%s suites=%d" % (fmt_version(hello.client_version),
                                                   len(hello.suites))
        if hello.supported_versions:
            offered += " supported_versions=" + ",".join(
                fmt_version(v) for v in hello.supported_versions if not is_grease(v))
        if decision[0] == "hello":
            writer.write(build_server_hello(decision[1], decision[2], hello))
            self.note(cfg, peer, "serverhello", version=fmt_version(decision[1]),
                      suite=fmt_suite(decision[2]), offer=offered.replace(" ", ","))
        else:
            version = min(hello.record_version, TLS12)
            writer.write(alert_record(version, decision[1]))
            self.note(cfg, peer, "alert", alert=ALERT_NAMES.get(decision[1], decision[1]),
                      offer=offered.replace(" ", ","))
        await writer.drain()

    async def _proxy(self, cfg, reader, writer, peer):
        host, _, port = cfg.backend.rpartition(":")
        delay = cfg.latency
        if delay:
            # A client far away: its SYN, our SYN-ACK and its ACK take one and a half round
            # trips before the server accepts, so the greeting reaches it two round trips
            # after connect(), as on a real path.
            await asyncio.sleep(3 * delay)
        breader, bwriter = await asyncio.wait_for(
            asyncio.open_connection(host.strip("[]"), int(port)), 10)
        self.note(cfg, peer, "proxy", backend=cfg.backend,
                  **({"latency_ms": round(delay * 1000)} if delay else {}))

        async def pump(src, dst):
            # Every chunk (and the end of the stream) is delivered `delay` after it was read
            # (at once without a latency), in order; reading goes on meanwhile, so the delay
            # adds latency, not a rate limit.
            queue = asyncio.Queue()

            async def deliver():
                try:
                    while True:
                        due, data = await queue.get()
                        wait = due - time.monotonic()
                        if wait > 0:
                            await asyncio.sleep(wait)
                        if not data:
                            break
                        dst.write(data)
                        await dst.drain()
                except ConnectionError:
                    pass
                finally:
                    try:
                        dst.write_eof()
                    except (OSError, RuntimeError):
                        pass

            sender = asyncio.ensure_future(deliver())
            try:
                while True:
                    data = await src.read(65536)
                    queue.put_nowait((time.monotonic() + delay, data))
                    if not data:
                        break
            except (ConnectionError, asyncio.IncompleteReadError):
                queue.put_nowait((time.monotonic() + delay, b""))
            await sender

        try:
            await asyncio.gather(pump(breader, writer), pump(reader, bwriter))
        finally:
            bwriter.close()


async def serve(config_path, ready_file, log):
    with open(config_path) as f:
        configs = [ListenerConfig(d) for d in json.load(f)["listeners"]]
    emulator = Emulator(configs, log)
    servers = []
    for cfg in configs:
        family = socket.AF_INET6 if ":" in cfg.addr else socket.AF_INET
        server = await asyncio.start_server(
            lambda r, w, cfg=cfg: emulator.handle(cfg, r, w), cfg.addr, cfg.port,
            family=family, reuse_address=True)
        servers.append(server)
        log.write("emulator listening name=%s addr=%s port=%d\n" % (cfg.name, cfg.addr, cfg.port))
    log.flush()
    if ready_file:
        with open(ready_file, "w") as f:
            f.write("%d\n" % os.getpid())
    await asyncio.gather(*(s.serve_forever() for s in servers))


# --- Self-test (socketpair only) ----------------------------------------

def _selftest_cases():
    """(label, server versions, server suites, client hello args, want)."""
    legacy_v = [SSL3, TLS10, TLS11, TLS12]
    legacy_s = _hex("C02F 002F 0035 000A 0005 0004 0009 0003 0006 0008")
    rc4_v, rc4_s = [TLS10], _hex("0005 0004")
    modern_v, modern_s = [TLS12, TLS13], _hex("1302 1301 C030 C02F")
    return [
        ("ssl3 rc4", legacy_v, legacy_s, dict(version=SSL3, suites=_hex("0005")),
         ("hello", SSL3, 0x0005)),
        ("ssl3 export", legacy_v, legacy_s, dict(version=SSL3, suites=_hex("0003 0008")),
         ("hello", SSL3, 0x0003)),
        ("tls1.1 no export", legacy_v, legacy_s, dict(version=TLS11, suites=_hex("0003 0008")),
         ("alert", ALERT_HANDSHAKE_FAILURE)),
        ("tls1.0 gcm invalid", legacy_v, legacy_s, dict(version=TLS10, suites=_hex("C02F")),
         ("alert", ALERT_HANDSHAKE_FAILURE)),
        ("tls1.2 prefers gcm", legacy_v, legacy_s, dict(version=TLS12, suites=_hex("0004 C02F")),
         ("hello", TLS12, 0xC02F)),
        ("tls1.2 des not at 1.2", legacy_v, legacy_s, dict(version=TLS12, suites=_hex("0009")),
         ("alert", ALERT_HANDSHAKE_FAILURE)),
        ("tls1.3 ignored by legacy", legacy_v, legacy_s,
         dict(version=TLS12, suites=_hex("1301 C02F"), tls13=True), ("hello", TLS12, 0xC02F)),
        ("rc4only down to 1.0", rc4_v, rc4_s, dict(version=TLS12, suites=_hex("C02F 0004")),
         ("hello", TLS10, 0x0004)),
        ("rc4only refuses ssl3", rc4_v, rc4_s, dict(version=SSL3, suites=_hex("0004")),
         ("alert", ALERT_PROTOCOL_VERSION)),
        ("rc4only no rc4 offered", rc4_v, rc4_s, dict(version=TLS12, suites=R1),
         ("alert", ALERT_HANDSHAKE_FAILURE)),
        ("modern tls1.3", modern_v, modern_s,
         dict(version=TLS12, suites=TLS13_SUITES, tls13=True), ("hello", TLS13, 0x1302)),
        ("modern refuses 1.0", modern_v, modern_s, dict(version=TLS10, suites=WIDE),
         ("alert", ALERT_PROTOCOL_VERSION)),
    ]


async def _selftest_emulator(cases):
    """Runs each case through the real SMTP/STARTTLS emulator session and the
    prober over a socketpair; returns failures."""
    failures = []

    class Sink:
        def __init__(self):
            self.lines = []

        def write(self, s):
            self.lines.append(s)

        def flush(self):
            pass

    for label, versions, suites, args, want in cases:
        cfg = ListenerConfig({"name": "mx.self.test", "addr": "socketpair",
                              "versions": ["%04x" % v for v in versions],
                              "suites": ["%04x" % s for s in suites]})
        emulator = Emulator([cfg], Sink())
        a, b = socket.socketpair()
        sreader, swriter = await asyncio.open_connection(sock=a)
        server = asyncio.ensure_future(emulator.handle(cfg, sreader, swriter))
        creader, cwriter = await asyncio.open_connection(sock=b)
        code, greeting = await read_reply(creader, 5)
        cwriter.write(b"EHLO self.test\r\n")
        code, ehlo = await read_reply(creader, 5)
        if "250-STARTTLS" not in ehlo:
            failures.append("%s: EHLO lacks STARTTLS: %r" % (label, ehlo))
        cwriter.write(b"STARTTLS\r\n")
        code, _ = await read_reply(creader, 5)
        cwriter.write(build_client_hello(**args))
        got = await read_handshake_message(creader, 2, 5)
        if got[0] == "handshake":
            sh = parse_server_hello(got[1])
            have = ("hello", sh["version"], sh["suite"])
        elif got[0] == "alert":
            have = ("alert", got[2])
        else:
            have = got
        if have != want:
            failures.append("%s: got %r want %r" % (label, have, want))
        cwriter.close()
        await server
    return failures


def selftest():
    failures = []
    cases = _selftest_cases()
    # The chooser on parsed hellos (no I/O).
    for label, versions, suites, args, want in cases:
        raw = build_client_hello(**args)
        hello = ClientHello(raw[9:], struct.unpack(">H", raw[1:3])[0])
        got = choose(versions, suites, hello)
        if got != want:
            failures.append("choose %s: got %r want %r" % (label, got, want))
        if got[0] == "hello":
            sh = build_server_hello(got[1], got[2], hello)
            parsed = parse_server_hello(sh[9:])
            if (parsed["version"], parsed["suite"]) != got[1:]:
                failures.append("roundtrip %s: %r" % (label, parsed))
    # Table sanity: the lists doc/checks.md gives must be disjoint where stated.
    if set(R2_TLS13) & set(R1):
        failures.append("R1 must not hold TLS 1.3 suites")
    if not set(WEAK_3DES) & set(R1):
        failures.append("3DES is both r1 and weak (doc/checks.md)")
    if len(WIDE) >= 128 or len(set(WIDE)) != len(WIDE):
        failures.append("WIDE must be < 128 distinct suites")
    if not all(suite_valid(s, TLS12) for s in R2_TLS12):
        failures.append("every r2 TLS 1.2 suite must be valid at TLS 1.2")
    failures += asyncio.run(_selftest_emulator(cases))
    for f in failures:
        print("FAIL", f)
    print("selftest: %d cases, %d failures" % (len(cases), len(failures)))
    return 1 if failures else 0


# --- Command line ------------------------------------------------------------

def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("serve")
    p.add_argument("config")
    p.add_argument("--ready-file")
    p.add_argument("--log")
    p = sub.add_parser("probe")
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--version", default="tls1.2", help="client_version (ssl3..tls1.2)")
    p.add_argument("--suites", default="wide", help="hex code points, comma-separated, "
                   "or wide|weak|r1|r2|tls13")
    p.add_argument("--tls13", action="store_true", help="add supported_versions TLS 1.3")
    p.add_argument("--ehlo", default="probe.lab.test")
    p = sub.add_parser("facts")
    p.add_argument("targets", nargs="+", help="HOST:PORT ([::1]:25 for IPv6)")
    p.add_argument("--ehlo", default="probe.lab.test")
    p = sub.add_parser("greet", help="connect COUNT times, print each greeting "
                       "(conn, code, lines, seconds, first line, last line) or error")
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--pause", type=float, default=0.0, help="seconds between connections")
    sub.add_parser("selftest")
    args = parser.parse_args(argv)

    if args.cmd == "selftest":
        return selftest()
    if args.cmd == "serve":
        log = open(args.log, "a") if args.log else sys.stderr
        try:
            asyncio.run(serve(args.config, args.ready_file, log))
        except KeyboardInterrupt:
            pass
        return 0
    if args.cmd == "probe":
        named = {"wide": WIDE, "weak": WEAK, "r1": R1, "r2": R2_TLS12, "tls13": TLS13_SUITES}
        suites = named.get(args.suites) or [int(s, 16) for s in args.suites.split(",")]
        version = parse_version(args.version)
        hello = build_client_hello(version, suites, tls13=args.tls13)
        result = asyncio.run(probe(args.host, args.port, hello, ehlo=args.ehlo))
        print(describe(result))
        return 0 if result["answer"] in ("hello", "alert", "closed") else 1
    if args.cmd == "greet":
        for line in asyncio.run(greet(args.host, args.port, args.count, args.pause)):
            print(line)
        return 0
    if args.cmd == "facts":
        for target, facts in asyncio.run(measure_all(args.targets, args.ehlo)):
            print(target.spec + "\t" + " ".join("%s=%s" % kv for kv in facts.items()))
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
