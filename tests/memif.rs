//! A container SF attached by memif (pipelines/kernel-chain-memif.toml on `tests/topology.sh
//! up-memif`): qdp is the memif server, with the socket in its run directory; the SF is
//! dpdk-testpmd in macswap mode, the memif client, in its own network namespace. The kernel
//! hosts talk through fw → memif SF → count both ways. When the SF dies, its port's link goes
//! down and what qdp cannot send to it is counted; when it connects again, the chain carries
//! again, with nothing else restarted.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::daemon::Daemon;
use common::hosts::{in_ns, iperf3, iperf3_server, ping_both_ways, Topology};
use common::*;
use serde_json::Value;

/// The shipped pipeline with the tests' EAL settings (ordinary pages, its own file prefix).
fn pipeline(dir: &Path) -> PathBuf {
    let text =
        std::fs::read_to_string(repo_root().join("pipelines/kernel-chain-memif.toml")).unwrap();
    let body = &text[text.find("[[ports]]").expect("[[ports]] in the file")..];
    let file = dir.join("kernel-chain-memif.toml");
    std::fs::write(
        &file,
        format!(
            "name = \"kernel-chain-memif\"\n{}\n{body}",
            eal_section("qdp-t-memif")
        ),
    )
    .unwrap();
    file
}

/// The SF: dpdk-testpmd in namespace qdpt-memif, the memif client of `socket`, sending every
/// frame back with its MACs swapped (its forwarding lcore on CPU 0, qdp's worker has CPU 1).
struct Peer(Child);

impl Peer {
    fn start(socket: &Path) -> Peer {
        let vdev = format!(
            "net_memif0,role=client,socket={},socket-abstract=no,mac=02:00:00:00:06:01",
            socket.display()
        );
        let child = Command::new("ip")
            .args(["netns", "exec", "qdpt-memif", "dpdk-testpmd"])
            .args(["--lcores", "0,1@0", "--no-pci", "--no-huge", "-m", "256"])
            .args(["--file-prefix", "qdpt-memif-peer", "--log-level", "error"])
            .args(["--vdev", &vdev, "--"])
            .args(["--total-num-mbufs=8192", "--forward-mode=macswap"])
            .args([
                "--port-topology=loop",
                "--auto-start",
                "--stats-period",
                "60",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("dpdk-testpmd");
        Peer(child)
    }

    /// Dies at once, as a container that crashes or is killed.
    fn kill(mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The `show ports` row of port `name`.
fn port(q: &Daemon, name: &str) -> Value {
    let ports = q.ok(&["show", "ports"]);
    ports
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("no port {name}: {ports}"))
}

/// Waits (30 s at most) until port `name`'s link is `state`; returns how long it took.
fn wait_link(q: &Daemon, name: &str, state: &str) -> Duration {
    let start = Instant::now();
    loop {
        let p = port(q, name);
        if p["link"] == state {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "port {name} never {state}: {p}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The packets SF `name` handled.
fn sf_packets(q: &Daemon, name: &str) -> u64 {
    let sfs = q.ok(&["show", "sfs"]);
    sfs.as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no SF {name}: {sfs}"))["packets"]
        .as_u64()
        .unwrap()
}

/// The packets sent to the memif SF, once every one of them since `ready` (what the SF had
/// been sent and had sent back when it began forwarding) came back and was counted after it: a
/// packet still on its way may make them differ for a moment; 2 s without agreeing is a loss.
fn sent_and_counted(q: &Daemon, ready: (u64, u64)) -> u64 {
    let start = Instant::now();
    loop {
        let (sent, counted) = (sf_packets(q, "memif-sf"), sf_packets(q, "count"));
        if sent - ready.0 == counted - ready.1 {
            return sent;
        }
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "{} packets sent to the SF since it forwards, {} came back and were counted",
            sent - ready.0,
            counted - ready.1
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits (30 s at most) until the SF forwards: its link is up and a ping gets through (testpmd
/// discards what it received before it began forwarding). Returns the packets sent to the SF
/// and counted after it by then.
fn wait_forwarding(q: &Daemon) -> (u64, u64) {
    let up = wait_link(q, "sf", "up");
    eprintln!("memif SF connected: link up after {} ms", up.as_millis());
    let start = Instant::now();
    loop {
        let out = in_ns(
            "qdpt-client",
            &["ping", "-c", "1", "-W", "1", "10.2.0.1"],
            Duration::from_secs(10),
        );
        if out.status.success() {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no ping through the memif SF"
        );
    }
    // The echo reply counted after the SF before this returns.
    std::thread::sleep(Duration::from_millis(200));
    (sf_packets(q, "memif-sf"), sf_packets(q, "count"))
}

/// iperf3 TCP from the client to the server and back; each direction carries more than 1 MB.
fn tcp_both_ways(what: &str) {
    for reverse in [false, true] {
        let srv = iperf3_server(5201);
        let v = iperf3(if reverse {
            &["-R", "-P", "2"]
        } else {
            &["-P", "2"]
        });
        drop(srv);
        let sum = &v["end"]["sum_received"];
        eprintln!(
            "TCP {what}, {}: {:.2} Gbit/s",
            if reverse {
                "server→client"
            } else {
                "client→server"
            },
            sum["bits_per_second"].as_f64().unwrap() / 1e9
        );
        assert!(sum["bytes"].as_u64().unwrap() > 1_000_000, "{}", v["end"]);
    }
}

#[test]
fn a_memif_container_sf_carries_the_chain_and_is_taken_back_after_it_dies() {
    let _topology = Topology::up(&["up-memif"]);
    let dir = scratch("memif");
    let file = pipeline(dir.path());
    let qdp = Daemon::start(Some(&file), &dir.path().join("qdp.sock"), &[]);
    // qdp made the memif socket in its run directory (the control socket's folder).
    let socket = dir.path().join("memif-sf.sock");
    assert!(socket.exists(), "no {}", socket.display());
    assert_eq!(port(&qdp, "sf")["driver"], "net_memif");
    assert_eq!(port(&qdp, "sf")["link"], "down", "no SF connected yet");

    let peer = Peer::start(&socket);
    let ready = wait_forwarding(&qdp);
    ping_both_ways();
    tcp_both_ways("through the memif SF");
    // Every packet sent to the SF came back over memif and went on to the counter; nothing
    // was dropped anywhere in qdp.
    let sent = sent_and_counted(&qdp, ready);
    assert!(sent > 10_000, "{sent}");
    assert_eq!(qdp.ok(&["show", "errors"]), serde_json::json!([]));
    assert_eq!(port(&qdp, "sf")["tx_dropped"], 0);

    // The SF dies: the link goes down, the chain stops carrying, and what qdp could not send
    // to the SF is counted on its port; qdp itself runs on.
    peer.kill();
    let after = wait_link(&qdp, "sf", "down");
    eprintln!("memif SF killed: link down after {} ms", after.as_millis());
    let out = in_ns(
        "qdpt-client",
        &["ping", "-c", "3", "-i", "0.2", "-W", "1", "10.2.0.1"],
        Duration::from_secs(30),
    );
    assert!(!out.status.success(), "ping got through a dead SF");
    let p = port(&qdp, "sf");
    assert!(p["tx_dropped"].as_u64().unwrap() >= 3, "{p}");
    let counted = sf_packets(&qdp, "count");
    assert_eq!(
        counted,
        sent - ready.0 + ready.1,
        "nothing passed the dead SF"
    );

    // A new SF process connects to the same socket: the chain carries again.
    let _peer = Peer::start(&socket);
    let ready = wait_forwarding(&qdp);
    assert!(ready.1 > counted, "the restarted SF sends back");
    ping_both_ways();
    tcp_both_ways("through the restarted memif SF");
    let again = sent_and_counted(&qdp, ready);
    assert!(again > sent + 10_000, "{again} after {sent}");
    let errors = qdp.ok(&["show", "errors"]);
    assert!(
        errors
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["reason"] == "tx-full"),
        "only what could not go to the dead SF was dropped: {errors}"
    );
    let ended = qdp.stop();
    assert!(ended.status.success(), "qdp: {}", ended.stderr);
}
