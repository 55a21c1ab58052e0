//! Kernel hosts in network namespaces talking through a qdp service chain
//! (tests/topology.sh, pipelines/kernel-chain*.toml): ping, TCP and UDP iperf3 both ways, a flow
//! the firewall SF denies, a hop added during a transfer, and an NSH-unaware SF (a Linux router
//! filtering with nftables) behind the SFC proxy, a second qdp as an NSH-aware SF over
//! VXLAN-GPE, and two instances of the Linux SF found by ARP, one failing during a transfer;
//! the plain chain, the proxied SF and the second qdp again on two workers with two queues per
//! port, flows spread over both.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::hosts::{
    in_ns, iperf3, iperf3_server, ping_both_ways, sf_packets_in, tcp_both_ways, topology,
};
use common::*;
use serde_json::{json, Value};

/// A qdp running a shipped pipeline with the test's EAL settings, stopped on drop.
struct Qdp {
    child: Option<Child>,
    socket: PathBuf,
    file: PathBuf,
}

impl Qdp {
    /// Runs `pipelines/NAME` (in namespace `ns` when given) with ordinary pages, its own file
    /// prefix and a socket in `dir`, its text changed by `edit` first.
    fn spawn_edited(
        dir: &Path,
        pipeline: &str,
        prefix: &str,
        ns: Option<&str>,
        edit: &dyn Fn(&str) -> String,
    ) -> Qdp {
        let text = std::fs::read_to_string(repo_root().join("pipelines").join(pipeline)).unwrap();
        let text = edit(&text);
        let body = &text[text.find("[[ports]]").unwrap()..];
        let file = dir.join(pipeline);
        std::fs::write(
            &file,
            format!("name = \"{prefix}\"\n{}\n{body}", eal_section(prefix)),
        )
        .unwrap();
        let socket = dir.join(format!("{prefix}.sock"));
        let mut cmd = match ns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns]).arg(qdp_bin());
                c
            }
            None => Command::new(qdp_bin()),
        };
        let child = cmd
            .arg("run")
            .arg(&file)
            .arg("--socket")
            .arg(&socket)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn qdp");
        let start = Instant::now();
        while UnixStream::connect(&socket).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "qdp did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Qdp {
            child: Some(child),
            socket,
            file,
        }
    }

    fn ctl(&self, req: Value) -> Value {
        let mut s = UnixStream::connect(&self.socket).unwrap();
        s.write_all(format!("{req}\n").as_bytes()).unwrap();
        let mut l = String::new();
        BufReader::new(&s).read_line(&mut l).unwrap();
        let v: Value = serde_json::from_str(&l).unwrap();
        assert_eq!(v["ok"], true, "{v}");
        v["result"].clone()
    }
}

impl Qdp {
    /// Waits until `address` answered this qdp's ARP requests; returns its `show arp` entry.
    fn resolved(&self, address: &str) -> Value {
        let start = Instant::now();
        loop {
            let arp = self.ctl(json!({ "command": "show", "what": "arp" }));
            let e = arp
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["address"] == address)
                .cloned()
                .unwrap_or_else(|| panic!("{address} is not resolved by ARP: {arp}"));
            if e["state"] == "reachable" {
                return e;
            }
            assert!(start.elapsed() < Duration::from_secs(10), "{arp}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Qdp {
    fn drop(&mut self) {
        if let Some(mut q) = self.child.take() {
            if let Ok(mut s) = UnixStream::connect(&self.socket) {
                let _ = s.write_all(b"{\"command\":\"shutdown\"}\n");
            }
            let start = Instant::now();
            while q.try_wait().ok().flatten().is_none() && start.elapsed() < Duration::from_secs(30)
            {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = q.kill();
            let _ = q.wait();
        }
    }
}

/// The topology and the qdp(s) on it; all torn down on drop.
struct Chain {
    qdp: Option<Qdp>,
    sf: Option<Qdp>,
    file: PathBuf,
    _dir: tempfile::TempDir,
}

impl Chain {
    /// Builds the topology (`tests/topology.sh ARG`) and runs a shipped pipeline on it.
    fn start(topology_arg: &str, pipeline: &str) -> Chain {
        Self::start_with_sf(topology_arg, pipeline, None)
    }

    /// The same, with a second qdp running `sf_pipeline` in namespace qdpt-sf2.
    fn start_with_sf(topology_arg: &str, pipeline: &str, sf_pipeline: Option<&str>) -> Chain {
        Self::start_edited(topology_arg, pipeline, sf_pipeline, &|_, t| t.to_string())
    }

    /// [`start_with_sf`](Self::start_with_sf), the text of each pipeline changed by `edit`
    /// (given the file's name and text) first.
    fn start_edited(
        topology_arg: &str,
        pipeline: &str,
        sf_pipeline: Option<&str>,
        edit: &dyn Fn(&str, &str) -> String,
    ) -> Chain {
        topology(&[topology_arg]);
        let dir = scratch("kernel");
        let sf = sf_pipeline.map(|p| {
            Qdp::spawn_edited(dir.path(), p, "qdp-t-kernel-sf", Some("qdpt-sf2"), &|t| {
                edit(p, t)
            })
        });
        let qdp = Qdp::spawn_edited(dir.path(), pipeline, "qdp-t-kernel", None, &|t| {
            edit(pipeline, t)
        });
        Chain {
            file: qdp.file.clone(),
            qdp: Some(qdp),
            sf,
            _dir: dir,
        }
    }

    fn ctl(&self, req: Value) -> Value {
        self.qdp.as_ref().unwrap().ctl(req)
    }

    /// The test's scratch folder.
    fn dir(&self) -> &Path {
        self._dir.path()
    }
}

impl Drop for Chain {
    fn drop(&mut self) {
        drop(self.qdp.take());
        drop(self.sf.take());
        topology(&["down"]);
    }
}

/// A TCP connection from the client to the server's `port` (an iperf3 server listens there)
/// does not get through.
fn assert_blocked(port: u16) {
    let srv = iperf3_server(port);
    let out = in_ns(
        "qdpt-client",
        &[
            "iperf3",
            "-c",
            "10.2.0.1",
            "-p",
            &port.to_string(),
            "-t",
            "1",
            "--connect-timeout",
            "2000",
        ],
        Duration::from_secs(30),
    );
    drop(srv);
    assert!(!out.status.success(), "port {port} reached the server");
}

#[test]
fn kernel_hosts_talk_through_the_chain() {
    let chain = Chain::start("up", "kernel-chain.toml");

    // The hosts find their gateway (qdp's own address) by ARP, and qdp answers ping for it.
    for (ns, gw, mac) in [
        ("qdpt-client", "10.1.0.254", "02:00:00:00:01:fe"),
        ("qdpt-server", "10.2.0.254", "02:00:00:00:02:fe"),
    ] {
        let out = in_ns(
            ns,
            &["ping", "-c", "2", "-i", "0.2", "-W", "2", gw],
            Duration::from_secs(30),
        );
        assert_success(&out);
        let out = in_ns(ns, &["ip", "neigh", "show", gw], Duration::from_secs(10));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(&format!("lladdr {mac}")), "{ns}: {text}");
    }

    // ping both ways
    ping_both_ways();
    // Both directions went through both SFs: the ping requests and replies of the two runs.
    let sfs = chain.ctl(json!({ "command": "show", "what": "sfs" }));
    assert!(sfs[0]["packets"].as_u64().unwrap() >= 12, "{sfs}");
    assert_eq!(sfs[0]["packets"], sfs[1]["packets"], "{sfs}");

    // TCP both directions
    for reverse in [false, true] {
        let mut srv = iperf3_server(5201);
        let v = iperf3(if reverse { &["-R"] } else { &[] });
        let bps = v["end"]["sum_received"]["bits_per_second"]
            .as_f64()
            .unwrap();
        let bytes = v["end"]["sum_received"]["bytes"].as_u64().unwrap();
        eprintln!(
            "TCP {}: {:.2} Gbit/s",
            if reverse {
                "server→client"
            } else {
                "client→server"
            },
            bps / 1e9
        );
        assert!(bytes > 1_000_000, "{}", v["end"]);
        let _ = srv.wait();
    }
    // UDP both directions, at a rate the veth pairs carry without loss here
    for reverse in [false, true] {
        let mut srv = iperf3_server(5201);
        let mut args = vec!["-u", "-b", "50M", "-l", "1400"];
        if reverse {
            args.push("-R");
        }
        let v = iperf3(&args);
        let sum = &v["end"]["sum"];
        let (lost, total) = (
            sum["lost_packets"].as_u64().unwrap(),
            sum["packets"].as_u64().unwrap(),
        );
        eprintln!(
            "UDP {}: {lost} of {total} lost",
            if reverse {
                "server→client"
            } else {
                "client→server"
            }
        );
        assert!(total > 10_000, "{sum}");
        assert!(lost * 100 <= total, "more than 1 % lost: {sum}");
        let _ = srv.wait();
    }

    // A hop added to the path during a TCP transfer (a reload of the file with one more SF)
    // takes effect without resetting the connection.
    let mut srv = iperf3_server(5201);
    let client = std::thread::spawn(|| iperf3(&["-t", "4"]));
    std::thread::sleep(Duration::from_millis(1500));
    let text = std::fs::read_to_string(&chain.file).unwrap();
    let longer = text
        .replace(
            "{ si = 254, sf = \"count\" }, { si = 253, end = \"to-server\" }",
            "{ si = 254, sf = \"count\" }, { si = 253, sf = \"extra\" }, { si = 252, end = \"to-server\" }",
        )
        + "\n[[sfs]]\nname = \"extra\"\nkind = \"counter\"\n";
    assert_ne!(
        longer,
        text + "\n[[sfs]]\nname = \"extra\"\nkind = \"counter\"\n"
    );
    // The running file itself: reload reads only it (or files in `[control] reload_dir`).
    std::fs::write(&chain.file, longer).unwrap();
    chain.ctl(json!({ "command": "reload" }));
    let v = client.join().expect("iperf3 client");
    let _ = srv.wait();
    let sent = v["end"]["sum_sent"]["retransmits"].as_u64().unwrap_or(0);
    eprintln!(
        "TCP across the reload: {} bytes, {sent} retransmits",
        v["end"]["sum_received"]["bytes"]
    );
    assert!(v["end"]["sum_received"]["bytes"].as_u64().unwrap() > 1_000_000);
    let sfs = chain.ctl(json!({ "command": "show", "what": "sfs" }));
    let extra = sfs
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "extra")
        .expect("extra SF");
    assert!(
        extra["packets"].as_u64().unwrap() > 100,
        "the new hop carried the flow: {sfs}"
    );

    // A flow to a port the firewall denies is blocked and counted.
    let before = chain.ctl(json!({ "command": "show", "what": "errors" }));
    assert!(
        before
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["reason"] != "firewall-deny"),
        "{before}"
    );
    assert_blocked(23);
    let errors = chain.ctl(json!({ "command": "show", "what": "errors" }));
    let deny = errors
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["reason"] == "firewall-deny")
        .unwrap_or_else(|| panic!("no firewall-deny drops: {errors}"));
    assert!(deny["total"].as_u64().unwrap() >= 1, "{errors}");
    assert_eq!(deny["node"], "sf-firewall");
}

#[test]
fn a_linux_sf_behind_the_proxy_carries_and_filters_the_chain() {
    let chain = Chain::start("up-sf", "kernel-chain-sf.toml");
    ping_both_ways();
    // TCP both ways through the Linux router.
    for reverse in [false, true] {
        let mut srv = iperf3_server(5201);
        let v = iperf3(if reverse { &["-R"] } else { &[] });
        let bps = v["end"]["sum_received"]["bits_per_second"]
            .as_f64()
            .unwrap();
        eprintln!(
            "TCP through the proxied SF, {}: {:.2} Gbit/s",
            if reverse {
                "server→client"
            } else {
                "client→server"
            },
            bps / 1e9
        );
        assert!(v["end"]["sum_received"]["bytes"].as_u64().unwrap() > 1_000_000);
        let _ = srv.wait();
    }
    let sfs = chain.ctl(json!({ "command": "show", "what": "sfs" }));
    let by = |n: &str| {
        sfs.as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == n)
            .unwrap()["packets"]
            .as_u64()
            .unwrap()
    };
    // Every packet that went to the Linux SF came back and went on to the counter.
    assert!(by("linux-sf") > 1000, "{sfs}");
    assert_eq!(by("linux-sf"), by("count"), "{sfs}");
    let errors = chain.ctl(json!({ "command": "show", "what": "errors" }));
    assert_eq!(errors, json!([]), "nothing dropped in qdp");
    // The SF's own policy: TCP to 2323 dies in the SF (nftables counts it), not in qdp.
    assert_blocked(2323);
    let nft = in_ns(
        "qdpt-sf",
        &["nft", "list", "chain", "inet", "qdpsf", "forward"],
        Duration::from_secs(10),
    );
    let text = String::from_utf8_lossy(&nft.stdout);
    let dropped: u64 = text
        .split("counter packets ")
        .nth(1)
        .and_then(|t| t.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no nft counter: {text}"));
    assert!(dropped >= 1, "{text}");
}

#[test]
fn a_second_qdp_is_an_nsh_aware_sf_over_vxlan_gpe() {
    let chain = Chain::start_with_sf("up-sf2", "kernel-chain-qdp-sf.toml", Some("sf-qdp.toml"));
    let sf = chain.sf.as_ref().unwrap();
    // Neither file names the other side's MAC: each qdp finds the other's VTEP by ARP, and the
    // other answers for it.
    for (q, vtep, mac) in [
        (
            chain.qdp.as_ref().unwrap(),
            "10.98.0.2",
            "02:00:00:00:04:01",
        ),
        (sf, "10.98.0.1", "02:00:00:00:04:fe"),
    ] {
        let e = q.resolved(vtep);
        assert_eq!(e["mac"], mac, "{e}");
    }
    ping_both_ways();
    let mut srv = iperf3_server(5201);
    let v = iperf3(&[]);
    eprintln!(
        "TCP through the second qdp: {:.2} Gbit/s",
        v["end"]["sum_received"]["bits_per_second"]
            .as_f64()
            .unwrap()
            / 1e9
    );
    assert!(v["end"]["sum_received"]["bytes"].as_u64().unwrap() > 1_000_000);
    let _ = srv.wait();
    // Every packet the first qdp sent to the remote SF came back from it, and the second qdp's
    // firewall saw each one.
    let ours = chain.ctl(json!({ "command": "show", "what": "sfs" }));
    let theirs = sf.ctl(json!({ "command": "show", "what": "sfs" }));
    let count = |v: &Value, n: &str| {
        v.as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == n)
            .unwrap()["packets"]
            .as_u64()
            .unwrap()
    };
    assert!(count(&ours, "remote-fw") > 1000, "{ours}");
    assert_eq!(count(&ours, "remote-fw"), count(&ours, "count"), "{ours}");
    assert_eq!(
        count(&theirs, "fw2"),
        count(&ours, "remote-fw"),
        "{theirs} {ours}"
    );
    // The remote firewall's policy: TCP to 2424 is dropped there and counted there.
    assert_blocked(2424);
    let errors = sf.ctl(json!({ "command": "show", "what": "errors" }));
    assert_eq!(errors[0]["reason"], "firewall-deny", "{errors}");
    assert_eq!(
        chain.ctl(json!({ "command": "show", "what": "errors" })),
        json!([])
    );
}

/// Records what passes `dev` in namespace `ns` for `secs` seconds into `file` (in the background;
/// dumpcap, light enough not to disturb the traffic it watches).
fn record(ns: &str, dev: &str, secs: u32, file: &Path) -> Child {
    Command::new("ip")
        .args([
            "netns", "exec", ns, "dumpcap", "-q", "-i", dev, "-f", "tcp", "-a",
        ])
        .arg(format!("duration:{secs}"))
        .arg("-w")
        .arg(file)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("dumpcap")
}

/// The client ports of the TCP connections to `port` in a recording, as tshark reads them.
fn tcp_clients(file: &Path, port: u16) -> std::collections::BTreeSet<u16> {
    tshark_fields(file, &["tcp.srcport", "tcp.dstport"])
        .iter()
        .filter_map(|l| match l.split_once('\t') {
            Some((src, dst)) if dst.trim().parse() == Ok(port) => src.trim().parse().ok(),
            _ => None,
        })
        .collect()
}

#[test]
fn a_failed_sf_instance_hands_its_flows_to_the_other() {
    let chain = Chain::start("up-sf-pair", "kernel-chain-failover.toml");
    let arp = || chain.ctl(json!({ "command": "show", "what": "arp" }));
    // No MAC in the file: qdp finds both SF instances and both hosts by ARP.
    for (ip, mac) in [
        ("10.99.0.1", "02:00:00:00:03:01"),
        ("10.99.1.1", "02:00:00:00:05:01"),
        ("10.2.0.1", "02:00:00:00:02:01"),
        ("10.1.0.1", "02:00:00:00:01:01"),
    ] {
        let e = chain.qdp.as_ref().unwrap().resolved(ip);
        assert_eq!(e["mac"], mac, "{e}");
    }
    ping_both_ways();

    // 10 TCP flows at 10 Mbit/s each (well under what the box carries, so that none stalls
    // on its own) from the server to the client, which reports what it received every 100 ms.
    let mut srv = iperf3_server(5202);
    let client = Command::new("ip")
        .args([
            "netns",
            "exec",
            "qdpt-client",
            "iperf3",
            "-c",
            "10.2.0.1",
            "-p",
            "5202",
        ])
        .args([
            "-R", "-P", "10", "-b", "10M", "-l", "16K", "-t", "6", "-i", "0.1", "-J",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("iperf3 client");
    std::thread::sleep(Duration::from_millis(1500));
    // Which flows each instance carries, seen inside the instances.
    let (fa, fb) = (chain.dir().join("a.pcapng"), chain.dir().join("b.pcapng"));
    let (mut ra, mut rb) = (
        record("qdpt-sf", "sf0", 1, &fa),
        record("qdpt-sfb", "sfb0", 1, &fb),
    );
    let _ = (ra.wait(), rb.wait());
    // linux-a fails.
    let (ns, dev, name) = ("qdpt-sf", "sf0", "linux-a");
    let stopped = Instant::now();
    let out = in_ns(
        ns,
        &["ip", "link", "set", dev, "down"],
        Duration::from_secs(10),
    );
    assert_success(&out);
    let down_after = loop {
        let sfs = chain.ctl(json!({ "command": "show", "what": "sfs" }));
        let sf = sfs
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .cloned();
        if sf.is_some_and(|s| s["state"] == "down") {
            break stopped.elapsed();
        }
        assert!(
            stopped.elapsed() < Duration::from_secs(5),
            "{name} never down: {sfs}"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    let out = client.wait_with_output().unwrap();
    let _ = srv.wait();
    let (a, b) = (tcp_clients(&fa, 5202), tcp_clients(&fb, 5202));
    assert!(a.is_disjoint(&b), "a flow on both instances: {a:?} {b:?}");
    assert_eq!(a.len() + b.len(), 10, "{a:?} {b:?}");
    // (The symmetric hash puts all 10 flows on linux-b once in 1024 runs.)
    assert!(!a.is_empty(), "no flow on linux-a: {b:?}");
    let (moved, stayed) = (a, b);
    let v: Value = serde_json::from_slice(&out.stdout).expect("iperf3 JSON");
    assert!(v.get("error").is_none(), "{}", v["error"]);

    // Per flow, after its first second: the longest run of 100 ms reports without a byte, and
    // the bytes of the last second.
    let port_of: std::collections::HashMap<u64, u16> = v["start"]["connected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["socket"].as_u64().unwrap(),
                c["local_port"].as_u64().unwrap() as u16,
            )
        })
        .collect();
    // Per flow: current run, longest run, bytes of the last second, report where the longest ended.
    let mut gap = std::collections::HashMap::<u16, (u32, u32, u64, usize)>::new();
    let intervals = v["intervals"].as_array().unwrap();
    for (k, iv) in intervals.iter().enumerate().skip(10) {
        for s in iv["streams"].as_array().unwrap() {
            let p = port_of[&s["socket"].as_u64().unwrap()];
            let bytes = s["bytes"].as_u64().unwrap();
            let g = gap.entry(p).or_default();
            g.0 = if bytes == 0 { g.0 + 1 } else { 0 };
            if g.0 > g.1 {
                g.1 = g.0;
                g.3 = k;
            }
            if k + 10 >= intervals.len() {
                g.2 += bytes;
            }
        }
    }
    let longest = moved.iter().map(|p| gap[p].1).max().unwrap();
    let errors = chain.ctl(json!({ "command": "show", "what": "errors" }));
    eprintln!("drops in qdp: {errors}");
    let ports = chain.ctl(json!({ "command": "show", "what": "ports" }));
    eprintln!(
        "tx_dropped per port: {}; the longest silence of each undisturbed flow: {:?} ms",
        ports
            .as_array()
            .unwrap()
            .iter()
            .map(|p| format!("{} {}", p["name"], p["tx_dropped"]))
            .collect::<Vec<_>>()
            .join(", "),
        stayed.iter().map(|p| gap[p].1 * 100).collect::<Vec<_>>()
    );
    eprintln!(
        "{name} stopped: marked down after {} ms; its {} flows resumed on the other instance \
         after at most {} ms without data; the other {} flows never stopped",
        down_after.as_millis(),
        moved.len(),
        longest * 100,
        stayed.len()
    );
    assert!(down_after < Duration::from_secs(1), "{down_after:?}");
    for p in &moved {
        let (_, run, tail, _) = gap[p];
        assert!(run <= 10, "flow {p} stopped for {} ms", run * 100);
        assert!(tail > 0, "flow {p} did not resume");
    }
    // Undisturbed: never silent for 200 ms, the shortest TCP retransmission timeout (a single
    // quiet 100 ms report is this 2-core machine's scheduling, with or without a failover).
    for p in &stayed {
        assert!(
            gap[p].1 < 2,
            "flow {p} on the surviving instance received nothing for {} ms up to report {}",
            gap[p].1 * 100,
            gap[p].3
        );
    }
    let table = arp();
    let e = table
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["port"] == "sf-a")
        .unwrap();
    assert_eq!(e["state"], "unreachable", "{table}");
}

/// TCP with 8 parallel streams (so that the flows spread over both workers' queues) from the
/// client to the server and back; each direction must carry more than 1 MB.
fn tcp_8_streams_both_ways(what: &str) {
    tcp_both_ways(&format!("{what}, 8 streams"), &["-P", "8"]);
}

/// Every worker received and sent at least 1000 packets, and nothing was dropped (in
/// particular no `proxy-no-state`).
fn both_workers_carried_and_nothing_dropped(q: &Qdp) {
    let workers = q.ctl(json!({ "command": "show", "what": "workers" }));
    let rows = workers.as_array().unwrap();
    assert_eq!(rows.len(), 2, "{workers}");
    for w in rows {
        for c in ["rx_packets", "tx_packets"] {
            assert!(
                w[c].as_u64().unwrap() >= 1000,
                "{} {c}: {workers}",
                w["name"]
            );
        }
    }
    eprintln!(
        "packets per worker (rx): {}",
        rows.iter()
            .map(|w| format!("{} {}", w["name"], w["rx_packets"]))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let errors = q.ctl(json!({ "command": "show", "what": "errors" }));
    assert_eq!(errors, json!([]), "nothing dropped in qdp");
}

/// The packets each SF handled, by name.
fn sf_packets(q: &Qdp, name: &str) -> u64 {
    sf_packets_in(&q.ctl(json!({ "command": "show", "what": "sfs" })), name)
}

#[test]
fn two_workers_carry_the_chain_both_ways() {
    let chain = Chain::start("up", "kernel-chain-2w.toml");
    let qdp = chain.qdp.as_ref().unwrap();
    // qdp finds the hosts by ARP (asking through a worker), and the hosts find their gateways.
    for (ip, mac) in [
        ("10.2.0.1", "02:00:00:00:02:01"),
        ("10.1.0.1", "02:00:00:00:01:01"),
    ] {
        assert_eq!(qdp.resolved(ip)["mac"], mac);
    }
    ping_both_ways();
    tcp_8_streams_both_ways("through two workers");
    both_workers_carried_and_nothing_dropped(qdp);
    // Every packet passed both SFs, whichever worker ran it.
    assert!(sf_packets(qdp, "fw") > 10_000);
    assert_eq!(sf_packets(qdp, "fw"), sf_packets(qdp, "count"));
}

#[test]
fn a_proxied_sf_s_replies_find_their_state_on_the_other_worker() {
    // kernel-chain-sf-2w.toml with the SF's port's queues swapped between the workers: a flow
    // w0 receives from a host (queue 0) comes back from the SF on queue 0 of the SF's port, which
    // w1 polls, and the reverse. Every frame back from the SF reaches the worker that did not
    // send it; with one table per worker each would be dropped as proxy-no-state.
    let crossed = |_: &str, t: &str| {
        let out = t
            .replace("\"sf:0\"]", "\"SF_Q1\"]")
            .replace("\"sf:1\"]", "\"sf:0\"]")
            .replace("\"SF_Q1\"]", "\"sf:1\"]");
        assert_ne!(out, t);
        out
    };
    let chain = Chain::start_edited("up-sf", "kernel-chain-sf-2w.toml", None, &crossed);
    let qdp = chain.qdp.as_ref().unwrap();
    let text = std::fs::read_to_string(&chain.file).unwrap();
    assert!(
        text.contains("rx = [\"client:0\", \"server:0\", \"sf:1\"]"),
        "{text}"
    );
    for (ip, mac) in [
        ("10.99.0.1", "02:00:00:00:03:01"),
        ("10.2.0.1", "02:00:00:00:02:01"),
        ("10.1.0.1", "02:00:00:00:01:01"),
    ] {
        assert_eq!(qdp.resolved(ip)["mac"], mac);
    }
    ping_both_ways();
    tcp_8_streams_both_ways("through the proxied SF on crossed workers");
    both_workers_carried_and_nothing_dropped(qdp);
    // Every packet that went to the Linux SF came back and went on to the counter.
    assert!(sf_packets(qdp, "linux-sf") > 10_000);
    assert_eq!(sf_packets(qdp, "linux-sf"), sf_packets(qdp, "count"));
}

#[test]
fn a_second_qdp_sf_serves_a_chain_on_two_workers() {
    // The second qdp (one worker that sleeps when idle, on a CPU it shares with both of ours)
    // has the same 4096-frame receive ring as ours (sf-qdp.toml), so that eight streams overflow
    // neither.
    let chain = Chain::start_with_sf("up-sf2", "kernel-chain-qdp-sf-2w.toml", Some("sf-qdp.toml"));
    let (qdp, sf) = (chain.qdp.as_ref().unwrap(), chain.sf.as_ref().unwrap());
    assert_eq!(qdp.resolved("10.98.0.2")["mac"], "02:00:00:00:04:01");
    assert_eq!(sf.resolved("10.98.0.1")["mac"], "02:00:00:00:04:fe");
    ping_both_ways();
    tcp_8_streams_both_ways("through the second qdp, two workers");
    both_workers_carried_and_nothing_dropped(qdp);
    // Every packet sent to the remote SF came back (to either worker) and was counted, and the
    // second qdp's firewall saw each one.
    assert!(sf_packets(qdp, "remote-fw") > 10_000);
    assert_eq!(sf_packets(qdp, "remote-fw"), sf_packets(qdp, "count"));
    assert_eq!(sf_packets(sf, "fw2"), sf_packets(qdp, "remote-fw"));
    assert_eq!(
        sf.ctl(json!({ "command": "show", "what": "errors" })),
        json!([])
    );
}
