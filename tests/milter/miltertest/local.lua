-- SPDX-License-Identifier: Apache-2.0
-- forcetls-milter under miltertest: a local submission (like Postfix
-- non_smtpd_milters) cannot be refused per recipient: the ineligible
-- recipient is accepted, then deleted at end of message and the message
-- quarantined; the eligible one stays. Three ways to tell it:
--   macros:  the MTA skips connect (SMFIP_NOCONNECT, what forcetls asks for)
--            and sends {client_addr} 127.0.0.1 {client_port} 0 at MAIL, as
--            Postfix's non-SMTP path does;
--   none:    no client macro at all (no address: local);
--   connect: an MTA that does not offer to skip connect, with a connect
--            step that has no address.
-- An SMTP client told the same ways is refused at RCPT.
local function fail(why)
  print("FAIL: " .. why)
  error(why)
end

-- Every protocol step option but SMFIP_NOCONNECT (0x1) of SMFI_CURR_PROT.
local ALL_BUT_NOCONNECT = 0x1FFFFE

local function session(how, is_local)
  local conn = mt.connect(socket, 40, 0.25)
  if conn == nil then fail("mt.connect " .. socket) end
  if how == "connect" then
    if mt.negotiate(conn, 6, ALL_BUT_NOCONNECT, nil) ~= nil then fail("mt.negotiate") end
    if is_local then
      if mt.conninfo(conn, "localhost", "unspec") ~= nil then fail("mt.conninfo") end
    else
      if mt.conninfo(conn, "client.lab.test", "127.0.0.5") ~= nil then fail("mt.conninfo") end
    end
    if mt.getreply(conn) ~= SMFIR_CONTINUE then fail(how .. ": connect not continued") end
  elseif how == "macros" then
    mt.macro(conn, SMFIC_MAIL, "{client_addr}", is_local and "127.0.0.1" or "127.0.0.5",
             "{client_port}", is_local and "0" or "40001")
  end
  if mt.mailfrom(conn, "<root@lab.test>") ~= nil then fail("mt.mailfrom") end
  if mt.rcptto(conn, "<alice@good.test>") ~= nil then fail("mt.rcptto alice") end
  if mt.getreply(conn) ~= SMFIR_CONTINUE then fail(how .. ": alice not continued") end
  if mt.rcptto(conn, "<bob@notls.test>") ~= nil then fail("mt.rcptto bob") end
  local bob = mt.getreply(conn)
  if not is_local then
    if bob ~= SMFIR_REPLYCODE then fail(how .. ": SMTP bob not refused at RCPT") end
    mt.disconnect(conn)
    print("ok: " .. how .. ": SMTP client refused at RCPT")
    return
  end
  if bob ~= SMFIR_CONTINUE then fail(how .. ": local bob not continued") end
  if mt.eom(conn) ~= nil then fail("mt.eom") end
  if not mt.eom_check(conn, MT_RCPTDELETE, "<bob@notls.test>") then fail(how .. ": bob not deleted") end
  if mt.eom_check(conn, MT_RCPTDELETE, "<alice@good.test>") then fail(how .. ": alice deleted") end
  if not mt.eom_check(conn, MT_QUARANTINE) then fail(how .. ": not quarantined") end
  mt.disconnect(conn)
  print("ok: " .. how .. ": local submission")
end

mt.set_timeout(60)
session("macros", false)
session("connect", false)
for _, how in ipairs({"macros", "none", "connect"}) do  -- last: the log's last line is local
  session(how, true)
end
print("PASS")
