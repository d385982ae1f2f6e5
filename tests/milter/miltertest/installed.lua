-- SPDX-License-Identifier: Apache-2.0
-- The installed forcetls-milter (tests/package): answers that need no probe,
-- so the daemon can run in an empty network namespace. The policy's default
-- is `require` (IP literals refused) or, after the reload, `off` (accepted);
-- internal.example is `off` either way.
-- Run: miltertest -s installed.lua -D socket=unix:PATH -D literal=refused|accepted
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
if mt.mailfrom(conn, "<sender@internal.example>") ~= nil then fail("mt.mailfrom") end
if mt.getreply(conn) ~= SMFIR_CONTINUE then fail("MAIL not continued") end

if literal == "refused" then
  rcpt(conn, "<dave@[192.0.2.1]>", SMFIR_REPLYCODE, "IP literal refused under default require")
elseif literal == "accepted" then
  rcpt(conn, "<dave@[192.0.2.1]>", SMFIR_CONTINUE, "IP literal accepted under default off")
else
  fail("literal must be refused or accepted, not " .. tostring(literal))
end
rcpt(conn, "<postmaster>", SMFIR_CONTINUE, "local postmaster accepted")
rcpt(conn, "<alice@internal.example>", SMFIR_CONTINUE, "mode off accepted")

if mt.eom(conn) ~= nil then fail("mt.eom") end
local eom = mt.getreply(conn)
if eom ~= SMFIR_ACCEPT and eom ~= SMFIR_CONTINUE then
  fail("end of message not accepted: " .. tostring(eom))
end
if mt.eom_check(conn, MT_QUARANTINE) then fail("quarantined") end
mt.disconnect(conn)
print("PASS")
