-- VXLAN-GPE + NSH (MD1) through qdp's SFF: zero-loss rate for inner frames of 64..1518 B.
-- pktgen has no NSH builder, so the frames come from pcap files (pktgen's pcap mode), one per
-- size, made by gen-traffic.sh: nsh-SIZE.pcap (SPI 100, SI 255, to VTEP 10.0.0.2, 256 flows).
-- qdp must run an SFF whose VTEP is 10.0.0.2 (MAC 02:00:00:00:00:02) and send SPI 100 on to a
-- next hop reachable through port 1 (pipelines/sff-transit.toml with the ports changed to VFs).
-- pktgen loads one pcap per port at start-up, so this script measures the size given in
-- NSH_SIZE (default 64); run it once per size:
--
--   NSH_SIZE=512 pktgen -l 2-4 -n 4 -a <vf-a> -a <vf-b> -- -P -m "[3].0,[4].1" \
--       -s 0:out/nsh-512.pcap -f pktgen-scripts/nsh.lua

package.path = package.path .. ";" .. debug.getinfo(1, "S").source:match("@?(.*/)") .. "?.lua"
local rfc = require "rfc2544"

local size = tonumber(os.getenv("NSH_SIZE") or "64")
rfc.sizes = { size }

local function prepare(_)
  pktgen.pcap(rfc.sendport, "on")
  pktgen.set(rfc.sendport, "count", 0)
end

-- Line rate counts the outer frame: 74 B of VXLAN-GPE, NSH and outer headers more.
local inner_line_pps = rfc.line_pps
rfc.line_pps = function(s) return inner_line_pps(s + 74) end

rfc.run("vxlan-gpe-nsh", prepare, "qdp-rfc2544.csv")
