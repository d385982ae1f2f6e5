-- SPDX-License-Identifier: Apache-2.0
-- forcetls-milter under miltertest: a local submission (no client address,
-- like Postfix non_smtpd_milters) cannot be refused per recipient: the
-- ineligible recipient is accepted, then deleted at end of message and the
-- message quarantined; the eligible one stays.
local function fail(why)
  print("FAIL: " .. why)
  error(why)
end

mt.set_timeout(60)
local conn = mt.connect(socket, 40, 0.25)
if conn == nil then fail("mt.connect " .. socket) end
if mt.conninfo(conn, "localhost", "unspec") ~= nil then fail("mt.conninfo") end
if mt.mailfrom(conn, "<root@lab.test>") ~= nil then fail("mt.mailfrom") end
for _, address in ipairs({"<alice@good.test>", "<bob@notls.test>"}) do
  if mt.rcptto(conn, address) ~= nil then fail("mt.rcptto " .. address) end
  if mt.getreply(conn) ~= SMFIR_CONTINUE then fail(address .. " not continued") end
end
if mt.eom(conn) ~= nil then fail("mt.eom") end
if not mt.eom_check(conn, MT_RCPTDELETE, "<bob@notls.test>") then fail("bob not deleted") end
if mt.eom_check(conn, MT_RCPTDELETE, "<alice@good.test>") then fail("alice deleted") end
if not mt.eom_check(conn, MT_QUARANTINE) then fail("not quarantined") end
mt.disconnect(conn)
print("PASS")
