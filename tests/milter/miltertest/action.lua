-- SPDX-License-Identifier: Apache-2.0
-- forcetls-milter under miltertest, one policy action on one recipient:
-- an eligible recipient (alice@good.test) and the recipient under test in
-- one message; the RCPT reply and every end-of-message modification checked.
-- Run (tests/milter/milter_actions_lab_test.cpp writes the policy first):
--   miltertest -s action.lua -D socket=inet:PORT@127.0.0.1 -D rcpt='<bob@notls.test>'
--     -D reply=continue|replycode -D header=VALUE|- -D rcptdel=ADDR|-
--     -D rcptadd=ADDR|- -D quarantine=REASON|- -D redirect_to=ADDR (the policy's)
--     [-D client=local (no client address: a local submission) | -D client=smtp]
-- "-" means: that modification must NOT happen. miltertest passes only the
-- reply's command letter at RCPT (SMFIR_REPLYCODE for a reject and for a
-- tempfail with a custom reply alike); the caller checks the code and text
-- through Postfix. miltertest prints no Lua error text: print the reason
-- before error().
local function fail(why)
  print("FAIL: " .. why)
  error(why)
end

local function param(name)
  local v = _G[name]
  if v == nil then fail("missing -D " .. name) end
  return v
end

local replies = {continue = SMFIR_CONTINUE, replycode = SMFIR_REPLYCODE}
local want_reply = replies[param("reply")]
if want_reply == nil then fail("reply must be continue or replycode, not " .. reply) end
local address = param("rcpt")
local want_header = param("header")
local want_del = param("rcptdel")
local want_add = param("rcptadd")
local want_quarantine = param("quarantine")
local redirect_target = param("redirect_to")

mt.set_timeout(60)
local conn = mt.connect(socket, 40, 0.25)
if conn == nil then fail("mt.connect " .. tostring(socket)) end
-- forcetls-milter skips the connect step (SMFIP_NOCONNECT): the client is
-- told in the macros at MAIL, as Postfix sends them.
if client == "local" then
  -- A local submission: Postfix non_smtpd_milters say 127.0.0.1, port 0.
  mt.macro(conn, SMFIC_MAIL, "{client_addr}", "127.0.0.1", "{client_port}", "0")
else
  mt.macro(conn, SMFIC_MAIL, "{client_addr}", "127.0.0.5", "{client_port}", "40001")
end
if mt.mailfrom(conn, "<sender@lab.test>") ~= nil then fail("mt.mailfrom") end
if mt.getreply(conn) ~= SMFIR_CONTINUE then fail("MAIL not continued") end

if mt.rcptto(conn, "<alice@good.test>") ~= nil then fail("mt.rcptto alice") end
if mt.getreply(conn) ~= SMFIR_CONTINUE then fail("eligible alice@good.test not continued") end
if mt.rcptto(conn, address) ~= nil then fail("mt.rcptto " .. address) end
local got = mt.getreply(conn)
if got ~= want_reply then
  fail(address .. ": reply " .. tostring(got) .. ", want " .. tostring(want_reply))
end
print("ok: RCPT " .. address .. " reply " .. reply)

if mt.eom(conn) ~= nil then fail("mt.eom") end
local eom = mt.getreply(conn)
if eom ~= SMFIR_ACCEPT and eom ~= SMFIR_CONTINUE then
  fail("end of message not accepted: " .. tostring(eom))
end

if want_header == "-" then
  if mt.eom_check(conn, MT_HDRADD) then
    fail("a header was added: X-ForceTLS: " .. tostring(mt.getheader(conn, "X-ForceTLS", 0)))
  end
else
  if not mt.eom_check(conn, MT_HDRADD, "X-ForceTLS", want_header) then
    fail("X-ForceTLS is " .. tostring(mt.getheader(conn, "X-ForceTLS", 0)) .. ", want " ..
         want_header)
  end
end
print("ok: header " .. want_header)

if mt.eom_check(conn, MT_RCPTDELETE, "<alice@good.test>") then fail("alice deleted") end
if want_del == "-" then
  if mt.eom_check(conn, MT_RCPTDELETE, address) then fail(address .. " deleted") end
else
  if not mt.eom_check(conn, MT_RCPTDELETE, want_del) then fail(want_del .. " not deleted") end
end
print("ok: rcptdel " .. want_del)

if want_add == "-" then
  if mt.eom_check(conn, MT_RCPTADD, address) then fail(address .. " added") end
  if mt.eom_check(conn, MT_RCPTADD, redirect_target) then fail(redirect_target .. " added") end
else
  if not mt.eom_check(conn, MT_RCPTADD, want_add) then fail(want_add .. " not added") end
end
print("ok: rcptadd " .. want_add)

if want_quarantine == "-" then
  if mt.eom_check(conn, MT_QUARANTINE) then fail("quarantined") end
else
  if not mt.eom_check(conn, MT_QUARANTINE, want_quarantine) then
    if mt.eom_check(conn, MT_QUARANTINE) then
      fail("quarantined with another reason than: " .. want_quarantine)
    end
    fail("not quarantined")
  end
end
print("ok: quarantine " .. want_quarantine)

mt.disconnect(conn)
print("PASS")
