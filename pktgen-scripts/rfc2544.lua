-- RFC 2544 throughput (zero-loss rate) search for pktgen-dpdk, shared by plain.lua and nsh.lua.
--
-- Sends on one port, counts on another, and binary-searches the highest rate (percent of the
-- port's line rate) at which every packet sent comes back, for each frame size. Prints a table
-- and appends CSV lines (size,rate_pct,mpps,gbps,tx,rx) to the file named by the caller.
--
-- Needs pktgen-dpdk (https://github.com/pktgen/Pktgen-DPDK, 23.x or later) built against the
-- same DPDK; run from pktgen's folder as: pktgen ... -f /path/to/plain.lua

package.path = package.path .. ";?.lua;test/?.lua;app/?.lua;../?.lua"
require "Pktgen"

local M = {}

-- Defaults; the scripts that require this file may change them before calling M.run.
M.sendport = "0"
M.recvport = "1"
M.sizes = { 64, 128, 256, 512, 1024, 1280, 1518 }
M.trial_ms = 10000      -- RFC 2544 asks for 60 s trials; 10 s keeps a sweep under an hour
M.settle_ms = 2000      -- time for in-flight packets to drain after a trial
M.iterations = 10       -- binary search steps (resolution 100 % / 2^10)
M.loss_tolerance = 0    -- packets; RFC 2544 throughput is zero loss
M.link_gbps = 10

-- Frames per second at line rate for a size (64 B = 14.88 Mpps at 10 Gb/s): 20 B of preamble
-- and inter-frame gap per frame.
function M.line_pps(size)
  return M.link_gbps * 1e9 / ((size + 20) * 8)
end

local function counters()
  local s = pktgen.portStats("all", "port")
  return s[tonumber(M.sendport)].opackets, s[tonumber(M.recvport)].ipackets
end

-- One trial at `rate` percent; returns (tx, rx).
local function trial(size, rate)
  pktgen.clr()
  pktgen.set(M.sendport, "rate", rate)
  pktgen.delay(500)
  pktgen.start(M.sendport)
  pktgen.delay(M.trial_ms)
  pktgen.stop(M.sendport)
  pktgen.delay(M.settle_ms)
  return counters()
end

-- Binary search of the zero-loss rate for one size; `prepare(size)` sets the traffic up.
function M.search(size, prepare)
  prepare(size)
  local lo, hi, best = 0.0, 100.0, nil
  for _ = 1, M.iterations do
    local rate = (lo + hi) / 2
    local tx, rx = trial(size, rate)
    local lost = tx - rx
    printf("  size %4d rate %7.3f%%: tx %d rx %d lost %d\n", size, rate, tx, rx, lost)
    if tx > 0 and lost <= M.loss_tolerance then
      lo, best = rate, { rate = rate, tx = tx, rx = rx }
    else
      hi = rate
    end
  end
  return best
end

-- Runs the search for every size; writes CSV to `csv_path`.
function M.run(name, prepare, csv_path)
  local csv = io.open(csv_path, "a")
  printf("\n%s: zero-loss throughput, port %s -> port %s\n", name, M.sendport, M.recvport)
  printf("%6s %10s %10s %10s\n", "size", "rate %", "Mpps", "Gb/s")
  for _, size in ipairs(M.sizes) do
    local best = M.search(size, prepare)
    local rate = best and best.rate or 0
    local mpps = M.line_pps(size) * rate / 100 / 1e6
    local gbps = mpps * size * 8 / 1000
    printf("%6d %10.3f %10.3f %10.3f\n", size, rate, mpps, gbps)
    csv:write(string.format("%s,%d,%.3f,%.3f,%.3f,%d,%d\n", name, size, rate, mpps, gbps,
      best and best.tx or 0, best and best.rx or 0))
  end
  csv:close()
end

return M
