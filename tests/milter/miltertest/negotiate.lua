-- SPDX-License-Identifier: Apache-2.0
-- forcetls-milter under miltertest as an MTA that offers only some actions.
-- Run (tests/milter/milter_actions_lab_test.cpp writes the policy first):
--   miltertest -s negotiate.lua -D socket=inet:PORT@127.0.0.1 -D actions=N
--     -D expect=refused|tempfail
--     [-D rcpt='<bob@notls.test>' -D reload='COMMAND' -D redirect_to=ADDR]
-- actions: the SMFIF_* bits the MTA offers at negotiation. (miltertest takes
-- mt.negotiate(conn, version, steps, actions): the steps come first, as the
-- bytes it writes show, whatever its manual says.)
-- expect=refused: the milter ends the session at negotiation (the MTA then
--   applies its milter_default_action).
-- expect=tempfail: the session goes on; `reload` (a shell command, run after
--   negotiation) switches the daemon to a policy that needs an action the
--   MTA did not offer; the message to `rcpt` must then be tempfailed at end
--   of message (SMFIR_REPLYCODE: the 451 reply), with no change made.
local function fail(why)
  print("FAIL: " .. why)
  error(why)
end

local function param(name)
  local v = _G[name]
  if v == nil then fail("missing -D " .. name) end
  return v
end

local offered = tonumber(param("actions"))
local expect = param("expect")

mt.set_timeout(20)
local conn = mt.connect(socket, 40, 0.25)
if conn == nil then fail("mt.connect " .. tostring(socket)) end

if expect == "refused" then
  -- libmilter closes the connection without answering the negotiation, so
  -- either negotiation (miltertest raises an error) or the first command
  -- after it fails.
  local called, err = pcall(mt.negotiate, conn, 6, nil, offered)
  if called and err == nil then
    err = mt.mailfrom(conn, "<sender@lab.test>")
    if err == nil then err = mt.rcptto(conn, "<alice@good.test>") end
    if err == nil and mt.getreply(conn) == SMFIR_CONTINUE then
      fail("the session went on with actions " .. offered)
    end
  end
  print("ok: refused (" .. tostring(err) .. ")")
  print("PASS")
  return
end
if expect ~= "tempfail" then fail("expect must be refused or tempfail, not " .. expect) end

local address = param("rcpt")
if mt.negotiate(conn, 6, nil, offered) ~= nil then fail("mt.negotiate refused") end
print("ok: negotiated actions " .. offered)
local ok = os.execute(param("reload"))
if not ok then fail("reload command failed") end
print("ok: reloaded")
-- forcetls-milter skips the connect step (SMFIP_NOCONNECT): the client is
-- told in the macros at MAIL, as Postfix sends them.
mt.macro(conn, SMFIC_MAIL, "{client_addr}", "127.0.0.5", "{client_port}", "40001")
if mt.mailfrom(conn, "<sender@lab.test>") ~= nil then fail("mt.mailfrom") end
if mt.getreply(conn) ~= SMFIR_CONTINUE then fail("MAIL not continued") end
if mt.rcptto(conn, address) ~= nil then fail("mt.rcptto " .. address) end
if mt.getreply(conn) ~= SMFIR_CONTINUE then fail(address .. " not continued at RCPT") end
if mt.eom(conn) ~= nil then fail("mt.eom") end
local eom = mt.getreply(conn)
if eom ~= SMFIR_REPLYCODE and eom ~= SMFIR_TEMPFAIL then
  fail("end of message not tempfailed: " .. tostring(eom))
end
print("ok: end of message tempfailed")
if mt.eom_check(conn, MT_RCPTADD, param("redirect_to")) then fail("a recipient was added") end
if mt.eom_check(conn, MT_QUARANTINE) then fail("quarantined") end
mt.disconnect(conn)
print("PASS")
