-- SPDX-License-Identifier: Apache-2.0
-- forcetls-milter under miltertest: one eligible, one ineligible, one
-- unknown and malformed recipients in one message; header at end of message.
-- Run: miltertest -s mixed.lua -D socket=inet:PORT@127.0.0.1
-- miltertest prints no Lua error text: print the reason before error().
local function fail(why)
  print("FAIL: " .. why)
  error(why)
end

local function rcpt(conn, address, want, label)
  if mt.rcptto(conn, address) ~= nil then fail("mt.rcptto " .. address) end
  local got = mt.getreply(conn)
  if got ~= want then fail(label .. ": " .. address .. " got reply " .. tostring(got)) end
  print("ok: " .. label .. " " .. address)
end

mt.set_timeout(60)
local conn = mt.connect(socket, 40, 0.25)
if conn == nil then fail("mt.connect " .. socket) end
-- forcetls-milter skips the connect step (SMFIP_NOCONNECT): the client is
-- told in the macros at MAIL, as Postfix sends them.
mt.macro(conn, SMFIC_MAIL, "{client_addr}", "127.0.0.5", "{client_port}", "40001")
if mt.mailfrom(conn, "<sender@lab.test>") ~= nil then fail("mt.mailfrom") end
if mt.getreply(conn) ~= SMFIR_CONTINUE then fail("MAIL not continued") end

rcpt(conn, "<alice@good.test>", SMFIR_CONTINUE, "eligible accepted")
rcpt(conn, "<bob@notls.test>", SMFIR_REPLYCODE, "ineligible refused")
rcpt(conn, "<carol@down.test>", SMFIR_REPLYCODE, "unknown refused")
rcpt(conn, "<dave@[127.0.0.1]>", SMFIR_REPLYCODE, "IP literal refused")
rcpt(conn, "<\"unbalanced@good.test>", SMFIR_REPLYCODE, "unbalanced quote refused")
rcpt(conn, "<>", SMFIR_REPLYCODE, "null recipient refused")
rcpt(conn, "<postmaster>", SMFIR_CONTINUE, "local postmaster accepted")
rcpt(conn, "<erin@GOOD.test.>", SMFIR_CONTINUE, "case and trailing dot accepted")

if mt.eom(conn) ~= nil then fail("mt.eom") end
if mt.getreply(conn) ~= SMFIR_ACCEPT and mt.getreply(conn) ~= SMFIR_CONTINUE then
  fail("end of message not accepted: " .. tostring(mt.getreply(conn)))
end
if not mt.eom_check(conn, MT_HDRADD, "X-ForceTLS") then fail("no X-ForceTLS header") end
if not mt.eom_check(conn, MT_HDRADD, "X-ForceTLS", "good.test=eligible") then
  fail("X-ForceTLS value is not good.test=eligible")
end
if mt.eom_check(conn, MT_QUARANTINE) then fail("quarantined") end
print("ok: header X-ForceTLS: good.test=eligible")
mt.disconnect(conn)
print("PASS")
