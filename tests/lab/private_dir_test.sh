#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The lab from a private place: a clone under a 0700 directory (Debian's /root)
# must work like any other. Copies the lab's scripts and forcetls-milter below
# a fresh 0700 directory, brings a lab up with its record there too, checks
# that the daemons that drop privileges (Postfix, nginx, forcetls-milter as
# nobody) do their work, and that `down` leaves nothing behind.
#
#   private_dir_test.sh LAB_SOURCE_DIR FORCETLS_MILTER
#
# Its own lab (own namespace), not the suite's shared one. Needs root.
set -euo pipefail

src=$1
milter_bin=$2
fail() { printf 'private_dir_test: FAIL: %s\n' "$*" >&2; exit 1; }
ok() { printf 'private_dir_test: ok: %s\n' "$*"; }

private=$(mktemp -d /tmp/forcetls-private-XXXXXX)
chmod 0700 "$private"
lab_copy=$private/clone/tests/lab
lab_dir=$private/clone/build/lab
pid=
cleanup() {
  if [ -n "$pid" ]; then
    kill -TERM "$pid" 2>/dev/null || true
  fi
  "$lab_copy/lab" down "$lab_dir" >/dev/null 2>&1 || echo "private_dir_test: lab down failed" >&2
  rm -rf "$private"
}
trap cleanup EXIT

mkdir -p "$lab_copy" "$private/clone/build/bin"
cp -a "$src"/. "$lab_copy"/
cp "$milter_bin" "$private/clone/build/bin/forcetls-milter"
[ "$(stat -c %a "$private")" = 700 ] || fail "$private is not mode 0700"
if setpriv --reuid=65534 --regid=65534 --clear-groups -- test -x "$private"; then
  fail "nobody can traverse $private: the test would prove nothing"
fi

"$lab_copy/lab" up "$lab_dir"
. <(grep -E '^(LAB_DIR|NETNS|RESOLVER|TRUST_ANCHOR|CA_FILE|SEND_LOG|MX_LOG)=' "$lab_dir/env")
# Not sourced: its value has spaces ("name: value").
RESOLVER_OPTION=$(sed -n 's/^RESOLVER_OPTION=//p' "$lab_dir/env")
state=$LAB_DIR
case "$state" in "$private"/*) fail "the daemons' state $state is below the private directory" ;; esac
[ "$(readlink "$lab_dir/run")" = "$state" ] || fail "$lab_dir/run does not point at $state"
setpriv --reuid=65534 --regid=65534 --clear-groups -- test -r "$TRUST_ANCHOR" \
  || fail "nobody cannot read $TRUST_ANCHOR"
"$lab_copy/lab" status "$lab_dir" >/dev/null || fail "lab status: a daemon is gone"
"$lab_copy/lab" status "$state" >/dev/null || fail "lab status by the state directory failed"
ok "lab up with record $lab_dir and state $state"

# forcetls-milter from below the private directory, dropping to nobody, in
# front of the lab's sending Postfix: good.test is required and probed.
conf=$state/private-test
mkdir -m 0755 "$conf"
printf 'default:\n  mode: require\n' >"$conf/policy.yaml"
cat >"$conf/forcetls.yaml" <<EOF
milter:
  socket: inet:8891@127.0.0.1
  on_miss: wait
  miss_deadline: 25s
daemon:
  user: nobody
  pid_file: $conf/milter.pid
cache:
  path: $conf/cache
checker:
  resolver: "$RESOLVER"
  trust_anchor: $TRUST_ANCHOR
  resolver_options:
    - $RESOLVER_OPTION
  ca_file: $CA_FILE
  allow_private: true
  ehlo_name: milter.lab.test
  pause: 50ms
policy_file: $conf/policy.yaml
EOF
"$lab_copy/lab" exec "$lab_dir" -- "$private/clone/build/bin/forcetls-milter" -f -c "$conf/forcetls.yaml" \
  </dev/null >/dev/null 2>"$conf/milter.log" &
pid=$!
for _ in $(seq 1 300); do
  grep -q 'event=started' "$conf/milter.log" 2>/dev/null && break
  kill -0 "$pid" 2>/dev/null || fail "forcetls-milter exited: $(cat "$conf/milter.log")"
  sleep 0.1
done
grep -q 'event=started' "$conf/milter.log" || fail "forcetls-milter did not start: $(cat "$conf/milter.log")"
"$lab_copy/lab" postconf "$lab_dir" send smtpd_milters=inet:127.0.0.1:8891 milter_default_action=tempfail

# One message to an eligible domain, one to a domain without STARTTLS.
marker=private-$$-$RANDOM
"$lab_copy/lab" exec "$lab_dir" -- swaks --silent 2 --server 127.0.0.1:2525 \
  --from sender@lab.test --to "alice@good.test" --header "Subject: $marker" \
  || fail "swaks to good.test was refused: $(tail -5 "$conf/milter.log")"
if "$lab_copy/lab" exec "$lab_dir" -- swaks --silent 2 --server 127.0.0.1:2525 \
  --from sender@lab.test --to "bob@notls.test" >"$conf/swaks-notls.out" 2>&1; then
  fail "mail to notls.test was accepted under require"
fi
grep -q '5\.7\.' "$conf/swaks-notls.out" || fail "notls.test: no 5.7.x refusal: $(cat "$conf/swaks-notls.out")"
ok "forcetls-milter as nobody judged good.test and refused notls.test"

for _ in $(seq 1 200); do
  grep -q 'to=<alice@good.test>.*status=sent' "$SEND_LOG" 2>/dev/null && break
  sleep 0.1
done
grep -q 'to=<alice@good.test>.*status=sent' "$SEND_LOG" \
  || fail "the sending Postfix did not deliver to good.test: $(tail -5 "$SEND_LOG")"
grep -q 'Trusted TLS connection established\|TLS connection established' "$SEND_LOG" \
  || fail "no TLS connection in $SEND_LOG"
ok "Postfix (its daemons as postfix) delivered over TLS"

kill -TERM "$pid"
for _ in $(seq 1 150); do
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
kill -0 "$pid" 2>/dev/null && fail "forcetls-milter did not stop on SIGTERM"
pid=
"$lab_copy/lab" down "$lab_dir"
[ ! -e "$state" ] || fail "lab down left $state"
[ ! -e "/run/netns/$NETNS" ] || fail "lab down left the namespace $NETNS"
ok "lab down removed $state and $NETNS"
