//! A container SF attached by memif (pipelines/kernel-chain-memif.toml on `tests/topology.sh
//! up-memif`): qdp is the memif server, with the socket in its run directory; the SF is
//! dpdk-testpmd in macswap mode, the memif client, in its own network namespace. The kernel
//! hosts talk through fw → memif SF → count both ways. When the SF dies, its port's link goes
//! down and what qdp cannot send to it is counted; when it connects again, the chain carries
//! again, with nothing else restarted.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::daemon::Daemon;
use common::hosts::*;
use common::*;
use serde_json::Value;

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

/// What qdp had counted when the SF began to forward.
struct Ready {
    /// Packets sent to the SF, and counted after it.
    sf: (u64, u64),
    /// `show errors`, and every port's `tx_dropped`.
    errors: Value,
    tx_dropped: Vec<u64>,
}

fn tx_dropped(q: &Daemon) -> Vec<u64> {
    let ports = q.ok(&["show", "ports"]);
    ports
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["tx_dropped"].as_u64().unwrap())
        .collect()
}

/// Waits (30 s at most) until the SF forwards: its link is up and a ping gets through. What it
/// took to get there is not the chain's to answer for (testpmd discards what it received before
/// it began forwarding, and the memif link is up a moment before the SF's rings take frames):
/// the counts from then on must add up.
fn wait_forwarding(q: &Daemon) -> Ready {
    let up = wait_link(q, "sf", "up", Duration::from_secs(30));
    eprintln!("memif SF connected: link up after {} ms", up.as_millis());
    wait_ping();
    // The echo reply counted after the SF before this returns.
    std::thread::sleep(Duration::from_millis(200));
    let r = Ready {
        sf: (sf_packets(q, "memif-sf"), sf_packets(q, "count")),
        errors: q.ok(&["show", "errors"]),
        tx_dropped: tx_dropped(q),
    };
    eprintln!(
        "forwarding: {} sent to the SF, {} counted after it; drops so far {}, tx_dropped {:?}",
        r.sf.0, r.sf.1, r.errors, r.tx_dropped
    );
    r
}

/// Since `r`: every packet sent to the SF came back and was counted, and nothing was dropped.
fn nothing_lost_since(q: &Daemon, r: &Ready) -> u64 {
    let sent = sent_and_counted(q, "memif-sf", "count", r.sf);
    assert_eq!(
        q.ok(&["show", "errors"]),
        r.errors,
        "drops since the SF forwards"
    );
    assert_eq!(
        tx_dropped(q),
        r.tx_dropped,
        "tx_dropped since the SF forwards"
    );
    sent
}

/// TCP at a rate the SF (testpmd on the CPU the TCP ends and the kernel share) keeps up with:
/// unbounded, TCP fills the SF's ring whenever that CPU is busy, and the drops would be the SF's,
/// not qdp's. The throughput through a memif SF is the benchmarks' business.
const SF_PACE: &[&str] = &["-P", "2", "-b", "200M"];

#[test]
fn a_memif_container_sf_carries_the_chain_and_is_taken_back_after_it_dies() {
    let _topology = Topology::up(&["up-memif"]);
    let dir = scratch("memif");
    let (qdp, socket) = start_with_sf_socket(
        dir.path(),
        "kernel-chain-memif.toml",
        "qdp-t-memif",
        "memif-sf.sock",
        "net_memif",
    );

    let peer = Peer::start(&socket);
    let ready = wait_forwarding(&qdp);
    ping_both_ways();
    tcp_both_ways("through the memif SF", SF_PACE);
    // Every packet sent to the SF came back over memif and went on to the counter; nothing
    // was dropped anywhere in qdp.
    let sent = nothing_lost_since(&qdp, &ready);
    assert!(sent > 10_000, "{sent}");

    // The SF dies: the link goes down, the chain stops carrying, and what qdp could not send
    // to the SF is counted on its port; qdp itself runs on.
    peer.kill();
    let after = wait_link(&qdp, "sf", "down", Duration::from_secs(30));
    eprintln!("memif SF killed: link down after {} ms", after.as_millis());
    let out = in_ns(
        "qdpt-client",
        &["ping", "-c", "3", "-i", "0.2", "-W", "1", "10.2.0.1"],
        Duration::from_secs(30),
    );
    assert!(!out.status.success(), "ping got through a dead SF");
    let p = port(&qdp, "sf");
    let sf_port = 2;
    assert_eq!(p["name"], "sf");
    assert!(
        p["tx_dropped"].as_u64().unwrap() >= ready.tx_dropped[sf_port] + 3,
        "{p}"
    );
    let counted = sf_packets(&qdp, "count");
    assert_eq!(
        counted,
        sent - ready.sf.0 + ready.sf.1,
        "nothing passed the dead SF"
    );

    // A new SF process connects to the same socket: the chain carries again.
    let _peer = Peer::start(&socket);
    let ready = wait_forwarding(&qdp);
    assert!(ready.sf.1 > counted, "the restarted SF sends back");
    ping_both_ways();
    tcp_both_ways("through the restarted memif SF", SF_PACE);
    let again = nothing_lost_since(&qdp, &ready);
    assert!(again > sent + 10_000, "{again} after {sent}");
    let ended = qdp.stop();
    assert!(ended.status.success(), "qdp: {}", ended.stderr);
}
