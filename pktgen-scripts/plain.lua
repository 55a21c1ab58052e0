-- Plain IPv4/UDP through qdp (the VF cross-connect, or the classifier when it ends the chain on
-- the receive port): zero-loss rate at 64..1518 B. Port 0 sends to qdp's input VF, port 1 receives
-- from qdp's output VF. Edit the addresses below for your set-up.
--
--   pktgen -l 2-4 -n 4 -a <vf-a> -a <vf-b> -- -P -m "[3].0,[4].1" -f pktgen-scripts/plain.lua

package.path = package.path .. ";" .. debug.getinfo(1, "S").source:match("@?(.*/)") .. "?.lua"
local rfc = require "rfc2544"

local dst_mac = "02:00:00:00:00:02"   -- qdp's input VF (or what its pipeline expects)
local src_ip, dst_ip = "10.1.0.1/16", "10.2.0.1"

local function prepare(size)
  pktgen.set_mac(rfc.sendport, "dst", dst_mac)
  pktgen.set_ipaddr(rfc.sendport, "src", src_ip)
  pktgen.set_ipaddr(rfc.sendport, "dst", dst_ip)
  pktgen.set_proto(rfc.sendport, "udp")
  pktgen.set(rfc.sendport, "sport", 1024)
  pktgen.set(rfc.sendport, "dport", 5001)
  pktgen.set(rfc.sendport, "size", size)
  pktgen.set(rfc.sendport, "count", 0)
end

rfc.run("plain-udp", prepare, "qdp-rfc2544.csv")
