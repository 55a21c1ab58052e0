#!/usr/bin/python3
"""qdp next to its peers on identical DPDK virtual devices, in one run.

    bench/harness.sh [--rounds N] [--seconds S] [--quick] [--out DIR] [--skip ovs,sweep,latency]

Every forwarding figure uses the same input and output: net_pcap0,rx_pcap=F,infinite_rx=1 (the
pcap replayed from memory) into net_null1,no-rx=1, one forwarding core (CPU 1), the main and
control threads on CPU 0. Peers in the same run: dpdk-testpmd io (the ceiling of the harness) and
macswap, and Open vSwitch's DPDK datapath configured as an NSH SFF (bench/ovs.sh; skipped with a
message when not installed). Each figure is the median of the per-second rates of a run (first
second skipped); each scenario runs --rounds times, interleaved with its peers, and the table
shows the median, min and max of the runs. qdp's pipelines are pipelines/bench/NAME.toml, filled in
by bench/render.py; QDP=/path/to/qdp (and QDPCTL=) run other binaries than target/release/.

Writes DIR/results.md (tables), DIR/results.json (every sample), DIR/sweep.svg (frame-size sweep,
gnuplot) and DIR/sweep.dat. Latency at 10/50/90 % of the maximum offered load is measured with
trafgen over a veth pair into a net_af_packet port (its own section of results.md).
"""

import argparse
import datetime
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import render  # noqa: E402  bench/render.py: pipelines/bench/*.toml with a run's values

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
QDP = os.environ.get("QDP") or os.path.join(ROOT, "target/release/qdp")
QDPCTL = os.environ.get("QDPCTL") or os.path.join(ROOT, "target/release/qdpctl")
PY = "/usr/bin/python3"
SIZES = [64, 128, 256, 512, 1024, 1280, 1518]
LINE_RATE_10G = {s: 10e9 / ((s + 20) * 8) / 1e6 for s in SIZES}  # Mpps, preamble + IFG


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def cpu_hz():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("cpu MHz"):
                return float(line.split(":")[1]) * 1e6
    return 0.0


def hugepages_free_bytes():
    free = size = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("HugePages_Free"):
                free = int(line.split()[1])
            elif line.startswith("Hugepagesize"):
                size = int(line.split()[1]) * 1024
    mounted = " hugetlbfs " in open("/proc/mounts").read()
    return free * size if mounted else 0


class Env:
    def __init__(self, work, seconds):
        self.work = work
        self.seconds = seconds
        self.huge = hugepages_free_bytes() >= (1 << 30)
        self.eal_mem = ["--huge-unlink"] if self.huge else ["--no-huge", "-m", "1024"]
        self.qdp_huge = "required" if self.huge else "off"
        self.mem_note = "hugepages" if self.huge else "no hugepages (--no-huge)"


# ------------------------------------------------------------------ traffic

def frame_len(size):
    """Bytes of a frame without FCS for a wire size with FCS."""
    return size - 4


def gen_plain(env, size, flows=256):
    out = os.path.join(env.work, f"plain-{size}-{flows}.pcap")
    if not os.path.exists(out):
        subprocess.run([QDP, "gen-pcap", "-o", out, "--flows", str(flows),
                        "--frame-size", str(frame_len(size))], check=True)
    return out


def gen_nsh(env, size, flows=256, spis=1, md=1):
    """VXLAN-GPE + NSH to VTEP 10.0.0.2 with an inner frame of `size` bytes on the wire."""
    out = os.path.join(env.work, f"nsh-{size}-{flows}-{spis}-md{md}.pcap")
    if not os.path.exists(out):
        args = [PY, os.path.join(ROOT, "tests/sfc_traffic.py"), "vxlan-nsh", out,
                "--flows", str(flows), "--per-flow", "1", "--size", str(frame_len(size)),
                "--sport-entropy", "--spi", "100", "--spis", str(spis), "--md", str(md)]
        if md == 2:
            args += ["--tlv", "0x0101:2:0a0b0c0d"]
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    return out


def pcap_frame_bytes(path):
    """Mean frame length (without FCS) of a pcap."""
    import struct
    with open(path, "rb") as f:
        data = f.read()
    off, lens = 24, []
    while off + 16 <= len(data):
        incl = struct.unpack_from("<I", data, off + 8)[0]
        lens.append(incl)
        off += 16 + incl
    return sum(lens) / len(lens)


# ------------------------------------------------------------------ runners

def per_second_medians(values):
    return statistics.median(values) if values else 0.0


def testpmd(env, pcap, mode):
    cmd = ["timeout", "-s", "INT", str(env.seconds + 1), "dpdk-testpmd", "-l", "0,1",
           "--file-prefix", "qdp-bench-tp", "--no-pci", *env.eal_mem,
           "--vdev", f"net_pcap0,rx_pcap={pcap},infinite_rx=1", "--vdev", "net_null1,no-rx=1",
           "--log-level=error", "--", f"--forward-mode={mode}", "--nb-cores=1",
           "--total-num-mbufs=16384", "--stats-period", "1"]
    out = subprocess.run(cmd, capture_output=True, text=True).stdout
    rates, port = [], None
    for line in out.splitlines():
        m = re.search(r"NIC statistics for port (\d+)", line)
        if m:
            port = m.group(1)
        m = re.search(r"Rx-pps:\s+(\d+)", line)
        if m and port == "0":
            rates.append(int(m.group(1)) / 1e6)
    return rates[1:]


def qdp(env, pcap, name):
    """Per-second rx rates of qdp running pipelines/bench/NAME.toml on `pcap`."""
    toml = os.path.join(env.work, f"{name}.toml")
    with open(toml, "w") as f:
        f.write(render.render(name, pcap=pcap, hugepages=env.qdp_huge))
    out = subprocess.run([QDP, "run", toml, "--duration", str(env.seconds), "--no-control"],
                         capture_output=True, text=True).stdout
    rates = []
    for line in out.splitlines():
        m = re.match(r"^\[\s*[\d.]+s\] rx ([\d.]+) Mpps", line)
        if m:
            rates.append(float(m.group(1)))
    return rates[1:]


def ovs(env, pcap, spi=100):
    cmd = f'work={env.work}; ovs_mem_extra="{" ".join(env.eal_mem)}"; source bench/ovs.sh; ' \
          f'ovs_sff_samples {pcap} {env.seconds} {spi}'
    out = subprocess.run(["bash", "-c", cmd], cwd=ROOT, capture_output=True, text=True).stdout
    if out.strip() == "skip":
        return None
    return [float(x) for x in out.split()]


# ------------------------------------------------------------------ measurements

def measure(env, rounds, cases):
    """cases: list of (key, description, frame bytes, callable -> per-second rates). Runs every
    case once per round, interleaved; returns {key: [per-round medians]}."""
    runs = {k: [] for k, *_ in cases}
    samples = {k: [] for k, *_ in cases}
    for r in range(rounds):
        for key, _, _, fn in cases:
            rates = fn()
            if rates is None:
                runs[key] = None
                continue
            samples[key].append(rates)
            runs[key].append(per_second_medians(rates))
            log(f"  round {r + 1} {key}: {runs[key][-1]:.3f} Mpps")
    return runs, samples


def summarize(runs, frame_bytes, hz):
    if not runs:
        return None
    med = statistics.median(runs)
    return {
        "mpps": med, "min": min(runs), "max": max(runs), "runs": runs,
        "gbps": med * frame_bytes * 8 / 1000,
        "cycles_per_packet": hz / (med * 1e6) if med > 0 else None,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--quick", action="store_true",
                    help="1 round of 3 s, sweep at 64/512/1518 B only (a smoke run)")
    ap.add_argument("--out", default=None, help="results folder (default results/DATE)")
    ap.add_argument("--skip", default="", help="comma list of: ovs, sweep, latency")
    ap.add_argument("--render", metavar="DIR",
                    help="only rewrite DIR/results.md and DIR/sweep.svg from DIR/results.json")
    a = ap.parse_args()
    if a.render:
        with open(os.path.join(a.render, "results.json")) as f:
            report = json.load(f)
        if "sweep" in report:
            write_plot(report, a.render)
        with open(os.path.join(a.render, "results.md"), "w") as f:
            f.write(render_md(report))
        print(render_md(report))
        return
    if a.quick:
        a.rounds, a.seconds = 1, 3
    skip = set(x for x in a.skip.split(",") if x)
    if a.rounds < 1 or a.seconds < 2:
        ap.error("--rounds must be >= 1 and --seconds >= 2")
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H%MZ")
    out_dir = a.out or os.path.join(ROOT, "results", stamp)
    os.makedirs(out_dir, exist_ok=True)
    work = tempfile.mkdtemp(prefix="qdp-harness-")
    env = Env(work, a.seconds)
    hz = cpu_hz()
    sizes = [64, 512, 1518] if a.quick else SIZES
    try:
        report = run_all(env, a, skip, sizes, hz)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report["command"] = "bash bench/harness.sh " + " ".join(sys.argv[1:])
    with open(os.path.join(out_dir, "results.json"), "w") as f:
        json.dump(report, f, indent=1)
    md = render_md(report)
    if "sweep" in report:
        write_plot(report, out_dir)
    with open(os.path.join(out_dir, "results.md"), "w") as f:
        f.write(md)
    print(md)
    print(f"\nwritten to {out_dir}/")


def run_all(env, a, skip, sizes, hz):
    machine = {
        "cpus": os.cpu_count(), "cpu_hz": hz, "memory": env.mem_note,
        "cpu": next((l.split(":")[1].strip() for l in open("/proc/cpuinfo")
                     if l.startswith("model name")), "?"),
        "dpdk": subprocess.run(["pkg-config", "--modversion", "libdpdk"], capture_output=True,
                               text=True).stdout.strip(),
    }
    report = {"machine": machine, "rounds": a.rounds, "seconds": a.seconds}
    log(f"harness: {a.rounds} round(s) of {a.seconds} s, {env.mem_note}, {machine['cpus']} CPUs")

    # --- 64 B scenarios with their peers
    plain = gen_plain(env, 64)
    nsh1 = gen_nsh(env, 64)
    nsh_md2 = gen_nsh(env, 64, md=2)
    nsh_10kf = gen_nsh(env, 64, flows=10000)
    nsh_10ks = gen_nsh(env, 64, flows=10000, spis=10000)
    plain_10kf = gen_plain(env, 64, flows=10000)
    # (key, description, pcap, peer key for the ratio, runner)
    cases = [
        ("testpmd-io/plain", "dpdk-testpmd io, plain UDP", plain, None,
         lambda: testpmd(env, plain, "io")),
        ("testpmd-macswap/plain", "dpdk-testpmd macswap, plain UDP", plain, "testpmd-io/plain",
         lambda: testpmd(env, plain, "macswap")),
        ("qdp/xconnect", "qdp cross-connect", plain, "testpmd-io/plain",
         lambda: qdp(env, plain, "xconnect")),
        ("qdp/encap", "qdp classifier + NSH/VXLAN-GPE encap, 1 rule", plain, "testpmd-io/plain",
         lambda: qdp(env, plain, "encap")),
        ("testpmd-io/plain-10k", "dpdk-testpmd io, plain UDP, 10k flows", plain_10kf, None,
         lambda: testpmd(env, plain_10kf, "io")),
        ("qdp/encap-10k-rules", "qdp classifier + encap, 10k rules, 10k flows", plain_10kf,
         "testpmd-io/plain-10k", lambda: qdp(env, plain_10kf, "encap-10k-rules")),
        ("qdp/chain", "qdp demo chain (classifier, firewall, counter, end)", plain,
         "testpmd-io/plain", lambda: qdp(env, plain, "chain")),
        ("qdp/lb", "qdp load balancer alone (classifier, lb with DNAT, end)", plain,
         "testpmd-io/plain", lambda: qdp(env, plain, "lb")),
        ("qdp/ids-300", "qdp IDS alone, 300 content rules (classifier, ids, end)", plain,
         "testpmd-io/plain", lambda: qdp(env, plain, "ids-300")),
        ("qdp/ids-3000", "qdp IDS alone, 3000 content rules", plain,
         "testpmd-io/plain", lambda: qdp(env, plain, "ids-3000")),
        ("qdp/roadmap", "qdp roadmap chain (classifier, stateful firewall, ids 300 rules, lb, end)",
         plain, "testpmd-io/plain", lambda: qdp(env, plain, "roadmap")),
        ("testpmd-io/nsh", "dpdk-testpmd io, VXLAN-GPE + NSH MD1", nsh1, None,
         lambda: testpmd(env, nsh1, "io")),
        ("qdp/transit", "qdp SFF transit, MD1, 1 path", nsh1, "testpmd-io/nsh",
         lambda: qdp(env, nsh1, "transit")),
        ("qdp/transit-md2", "qdp SFF transit, MD2 (one TLV)", nsh_md2, "testpmd-io/nsh",
         lambda: qdp(env, nsh_md2, "transit")),
        ("testpmd-io/nsh-10k", "dpdk-testpmd io, VXLAN-GPE + NSH, 10k flows", nsh_10kf, None,
         lambda: testpmd(env, nsh_10kf, "io")),
        ("qdp/transit-10k-flows", "qdp SFF transit, 10k flows", nsh_10kf, "testpmd-io/nsh-10k",
         lambda: qdp(env, nsh_10kf, "transit")),
        ("qdp/transit-10k-spis", "qdp SFF transit, 10k paths, 10k flows on all 10k SPIs",
         nsh_10ks, "testpmd-io/nsh-10k", lambda: qdp(env, nsh_10ks, "transit-10k-paths")),
        ("qdp/decap", "qdp end of chain (NSH popped, out an exit)", nsh1, "testpmd-io/nsh",
         lambda: qdp(env, nsh1, "decap")),
        ("qdp/proxy", "qdp SFC proxy (NSH stripped, to a VLAN)", nsh1, "testpmd-io/nsh",
         lambda: qdp(env, nsh1, "proxy")),
    ]
    if "ovs" not in skip:
        cases.append(("ovs/sff", "Open vSwitch DPDK as NSH SFF (transit)", nsh1,
                      "testpmd-io/nsh", lambda: ovs(env, nsh1)))
    log("64 B scenarios")
    runs, samples = measure(env, a.rounds, [(k, d, None, fn) for k, d, _, _, fn in cases])
    figures = {}
    for key, desc, pcap, peer, _ in cases:
        s = summarize(runs[key], pcap_frame_bytes(pcap), hz)
        figures[key] = {"description": desc, "peer": peer or key, **(s or {"skipped": True})}
    report["figures"] = figures
    report["samples"] = samples
    if runs.get("ovs/sff") is None and "ovs" not in skip:
        report["ovs_note"] = ("Open vSwitch with DPDK is not installed: "
                              "apt-get install -y openvswitch-switch-dpdk")

    # --- frame-size sweep
    if "sweep" not in skip:
        log("frame-size sweep")
        sweep = {}
        for size in sizes:
            p = gen_plain(env, size)
            n = gen_nsh(env, size)
            c = [("testpmd-io/plain", None, None, lambda p=p: testpmd(env, p, "io")),
                 ("qdp/xconnect", None, None, lambda p=p: qdp(env, p, "xconnect")),
                 ("testpmd-io/nsh", None, None, lambda n=n: testpmd(env, n, "io")),
                 ("qdp/transit", None, None, lambda n=n: qdp(env, n, "transit"))]
            r, _ = measure(env, a.rounds, c)
            sweep[size] = {k: summarize(v, pcap_frame_bytes(p if "plain" in k or "xconnect" in k
                                                            else n), hz)
                           for k, v in r.items()}
        report["sweep"] = sweep

    # --- latency at offered loads
    if "latency" not in skip:
        report["latency"] = latency_at_loads(env)
    return report


# ------------------------------------------------------------------ latency

def sh(cmd, check=True):
    return subprocess.run(cmd, shell=True, check=check, capture_output=True, text=True)


def trafgen_conf(pcap, path):
    """A trafgen configuration sending the frames of a pcap, in order."""
    import struct
    with open(pcap, "rb") as f:
        data = f.read()
    off, blocks = 24, []
    while off + 16 <= len(data):
        incl = struct.unpack_from("<I", data, off + 8)[0]
        frame = data[off + 16: off + 16 + incl]
        blocks.append("{ " + ", ".join(f"0x{b:02x}" for b in frame) + " }")
        off += 16 + incl
    with open(path, "w") as f:
        f.write("\n".join(blocks) + "\n")


def latency_at_loads(env):
    """SFF transit fed by trafgen over a veth pair (net_af_packet): the maximum rate, then
    qdp's rx-to-tx latency at 10, 50 and 90 % of it."""
    if not shutil.which("trafgen"):
        return {"skipped": "trafgen missing: apt-get install -y netsniff-ng"}
    log("latency at offered loads (trafgen → veth → qdp SFF transit)")
    nsh = gen_nsh(env, 64)
    conf = os.path.join(env.work, "nsh.trafgen")
    trafgen_conf(nsh, conf)
    sh("ip link del qdpb-gen 2>/dev/null", check=False)
    sh("ip link add qdpb-gen type veth peer name qdpb-dut && ip link set qdpb-gen up && "
       "ip link set qdpb-dut up && ethtool -K qdpb-gen tx off >/dev/null 2>&1; true")
    sock = os.path.join(env.work, "lat.sock")
    toml = os.path.join(env.work, "lat.toml")
    with open(toml, "w") as f:
        f.write(render.render("transit-lat-veth", hugepages=env.qdp_huge))
    result = {"setup": "trafgen on CPU 0 → veth → net_af_packet → qdp SFF transit (worker on "
                       "CPU 1) → net_null; latency from qdp's rx-to-tx histograms"}
    q = subprocess.Popen([QDP, "run", toml, "--socket", sock], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(300):
            if os.path.exists(sock):
                break
            time.sleep(0.1)

        def ctl(*args):
            r = subprocess.run([QDPCTL, "--socket", sock, "--json", *args],
                               capture_output=True, text=True)
            return json.loads(r.stdout)["result"]

        def offered(rate_pps, secs):
            ctl("clear", "stats")
            rate = ["--rate", f"{int(rate_pps)}pps"] if rate_pps else []
            subprocess.run(["timeout", "-s", "INT", str(secs), "trafgen", "--dev", "qdpb-gen",
                            "--conf", conf, "--cpus", "1", "-q", *rate],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            stats = ctl("show", "stats")
            lat = ctl("show", "latency")
            return stats, lat

        stats, _ = offered(None, env.seconds)
        max_pps = stats["rx_packets"] / env.seconds
        result["max_mpps"] = max_pps / 1e6
        loads = []
        for pct in (10, 50, 90):
            stats, lat = offered(max_pps * pct / 100, env.seconds)
            allw = lat["all"]
            loads.append({"load_pct": pct, "offered_mpps": max_pps * pct / 100 / 1e6,
                          "received_mpps": stats["rx_packets"] / env.seconds / 1e6,
                          "p50_us": allw["p50_ns"] / 1e3, "p99_us": allw["p99_ns"] / 1e3,
                          "p999_us": allw["p999_ns"] / 1e3, "max_us": allw["max_ns"] / 1e3})
            log(f"  {pct} %: p50 {allw['p50_ns']} ns p99 {allw['p99_ns']} ns")
        result["loads"] = loads
        ctl("shutdown")
        q.wait(timeout=30)
    except Exception as e:  # the harness reports and goes on
        result["error"] = repr(e)
        q.kill()
    finally:
        sh("ip link del qdpb-gen 2>/dev/null", check=False)
    return result


# ------------------------------------------------------------------ output

def paired_ratios(f, key, peer=None):
    """Ratios of a scenario to its peer run by run: each pair ran back to back in one round, so
    the machine's slow phases cancel out better than in a ratio of medians."""
    a = f.get(key, {}).get("runs") or []
    b = f.get(peer or f.get(key, {}).get("peer"), {}).get("runs") or []
    return [x / y for x, y in zip(a, b) if y > 0]


def fmt(v, spec=".2f"):
    return "–" if v is None else format(v, spec)


def render_md(r):
    m = r["machine"]
    lines = [f"# qdp benchmark, {r['rounds']} round(s) of {r['seconds']} s",
             "",
             f"Machine: {m['cpus']} CPUs ({m['cpu']}, {m['cpu_hz'] / 1e9:.2f} GHz), DPDK "
             f"{m['dpdk']}, {m['memory']}. Input `net_pcap0,rx_pcap=F,infinite_rx=1`, output "
             "`net_null1,no-rx=1`, one forwarding core. Median of the runs (min–max); each run "
             "is the median of its per-second rates, first second skipped. Ratios: the median of the "
             "per-round ratios (a scenario and its peer run back to back in each round). Gbps "
             "count L2 bytes without FCS. Cycles per packet: the forwarding core's clock over "
             "the rate.",
             "",
             f"Command: `{r['command']}`",
             "",
             "## 64 B frames (inner frames for the NSH scenarios)",
             "",
             "Published anchors for cycles per packet (FD.io VPP's CSIT reports, one core, "
             "64 B): L2 cross-connect ≈ 106, VXLAN + L2 bridge ≈ 336.",
             "",
             "| scenario | Mpps | min–max | Gbps | cycles/pkt | vs testpmd io, same traffic (min–max) "
             "| per-round ratios |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    f = r["figures"]
    for key, v in f.items():
        if v.get("skipped"):
            lines.append(f"| {v['description']} | skipped | | | | | |")
            continue
        rr = paired_ratios(f, key)
        ratio = statistics.median(rr) if rr else None
        spread = f" ({min(rr):.2f}–{max(rr):.2f})" if rr and len(rr) > 1 else ""
        lines.append(f"| {v['description']} | {v['mpps']:.2f} | {v['min']:.2f}–{v['max']:.2f} | "
                     f"{v['gbps']:.2f} | {fmt(v['cycles_per_packet'], '.0f')} | "
                     f"{fmt(ratio)}×{spread} | {' '.join(f'{x:.2f}' for x in rr)} |")
    if r.get("ovs_note"):
        lines += ["", r["ovs_note"]]
    goals = []

    def ratio(a, b):
        rr = paired_ratios(f, a, b)
        return statistics.median(rr) if rr else None

    goals.append(("cross-connect ≥ 0.9× testpmd io", ratio("qdp/xconnect", "testpmd-io/plain"), 0.9))
    goals.append(("SFF transit ≥ 0.7× testpmd io", ratio("qdp/transit", "testpmd-io/nsh"), 0.7))
    goals.append(("SFF transit ≥ 4× Open vSwitch's SFF", ratio("qdp/transit", "ovs/sff"), 4.0))
    # Every SFC path at transit speed: ratios to testpmd io on the same traffic.
    for key, name, need in [
            ("qdp/transit", "SFF transit MD1, 1 path", 0.85),
            ("qdp/transit-md2", "SFF transit MD2", 0.75),
            ("qdp/transit-10k-spis", "SFF transit, 10k paths", 0.6),
            ("qdp/decap", "end of chain", 0.6),
            ("qdp/proxy", "SFC proxy", 0.5),
            ("qdp/encap", "classifier + encap, 1 rule", 0.5),
            ("qdp/encap-10k-rules", "classifier + encap, 10k rules", 0.45),
            ("qdp/chain", "demo chain", 0.4),
            ("qdp/roadmap", "roadmap chain", 0.3)]:
        if key in f and not f[key].get("skipped"):
            goals.append((f"{name} ≥ {need}× testpmd io", ratio(key, None), need))
    one, many = f.get("qdp/encap", {}).get("mpps"), f.get("qdp/encap-10k-rules", {}).get("mpps")
    if one and many:
        goals.append(("classifier + encap, 10k rules within 10 % of 1 rule (rate ratio)",
                      many / one, 0.9))
    lines += ["", "## Goals", "", "| goal | measured | met |", "| --- | --- | --- |"]
    for name, v, need in goals:
        lines.append(f"| {name} | {fmt(v)}× | {'–' if v is None else ('yes' if v >= need else 'no')} |")
    if "sweep" in r:
        lines += ["", "## Frame-size sweep (RFC 2544 sizes)", "",
                  "Mpps (median of the runs); NSH rows: inner frame of that size, 74 B more on "
                  "the wire. 10GbE line rate for reference.", "",
                  "| size | 10GbE line rate | testpmd io plain | qdp cross-connect | "
                  "testpmd io NSH | qdp SFF transit |", "| --- | --- | --- | --- | --- | --- |"]
        for size, v in r["sweep"].items():
            g = lambda k: fmt((v.get(k) or {}).get("mpps"))
            lines.append(f"| {size} | {LINE_RATE_10G[int(size)]:.2f} | {g('testpmd-io/plain')} | "
                         f"{g('qdp/xconnect')} | {g('testpmd-io/nsh')} | {g('qdp/transit')} |")
        lines += ["", "![frame-size sweep](sweep.svg)"]
    lat = r.get("latency")
    if lat:
        lines += ["", "## Latency at offered loads (SFF transit, one hop)", ""]
        if lat.get("skipped") or lat.get("error"):
            lines.append(f"Not measured: {lat.get('skipped') or lat.get('error')}")
        else:
            lines += [lat["setup"] + f"; maximum {lat['max_mpps']:.3f} Mpps.", "",
                      "| load | offered Mpps | received Mpps | p50 µs | p99 µs | p99.9 µs | max µs |",
                      "| --- | --- | --- | --- | --- | --- | --- |"]
            for l in lat["loads"]:
                lines.append(f"| {l['load_pct']} % | {l['offered_mpps']:.3f} | "
                             f"{l['received_mpps']:.3f} | {l['p50_us']:.1f} | {l['p99_us']:.1f} | "
                             f"{l['p999_us']:.1f} | {l['max_us']:.1f} |")
    lines += ["", "Caveats: with virtual devices the pcap replay's copy into fresh mbufs bounds "
              "the ceiling (testpmd io); on 2 CPUs one core forwards while the other runs the "
              "main threads. Rounds on a shared VM vary by ±20 %: compare ratios within a run."]
    return "\n".join(lines) + "\n"


def write_plot(r, out_dir):
    dat = os.path.join(out_dir, "sweep.dat")
    keys = ["testpmd-io/plain", "qdp/xconnect", "testpmd-io/nsh", "qdp/transit"]
    with open(dat, "w") as f:
        f.write("# size line_rate_10g " + " ".join(keys) + "\n")
        for size, v in r["sweep"].items():
            vals = [(v.get(k) or {}).get("mpps") for k in keys]
            f.write(f"{size} {LINE_RATE_10G[int(size)]:.3f} "
                    + " ".join("NaN" if x is None else f"{x:.3f}" for x in vals) + "\n")
    if not shutil.which("gnuplot"):
        log("gnuplot missing (apt-get install -y gnuplot-nox): sweep.svg not drawn")
        return
    script = f"""set terminal svg size 800,480 dynamic background '#ffffff'
set output '{os.path.join(out_dir, "sweep.svg")}'
set title 'Forwarding rate by frame size (one core, pcap replay into null)'
set xlabel 'frame size, bytes (NSH: inner frame)'
set ylabel 'Mpps'
set logscale y
set grid
set key top right
plot '{dat}' using 1:2 with lines dt 2 lc rgb '#888888' title '10GbE line rate', \\
     '' using 1:3 with linespoints title 'testpmd io, plain', \\
     '' using 1:4 with linespoints title 'qdp cross-connect', \\
     '' using 1:5 with linespoints title 'testpmd io, VXLAN-GPE+NSH', \\
     '' using 1:6 with linespoints title 'qdp SFF transit'
"""
    subprocess.run(["gnuplot"], input=script, text=True, check=False)


if __name__ == "__main__":
    main()
