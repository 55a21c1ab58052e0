//! Kernel hosts through the chain on the fast path (`tests/topology.sh --mtu 61000`,
//! pipelines/kernel-chain-jumbo.toml): iperf3 TCP both ways in frames far above 1500 bytes, and
//! every frame qdp hands to a host carries correct IPv4 and TCP checksums (tshark checks them
//! on the receiving host's veth end, where nothing has touched the frame since qdp wrote it).

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::daemon::Daemon;
use common::hosts::{in_ns, iperf3, iperf3_server, Topology};
use common::*;

const MTU: &str = "61000";

/// The shipped pipeline with the tests' EAL settings: ordinary pages, its own file prefix, no
/// stats line; its mempool (the jumbo mbufs) and everything else as shipped.
fn pipeline(dir: &Path) -> std::path::PathBuf {
    let text =
        std::fs::read_to_string(repo_root().join("pipelines/kernel-chain-jumbo.toml")).unwrap();
    let body = &text[text.find("[mempool]").expect("[mempool] in the file")..];
    let file = dir.join("kernel-chain-jumbo.toml");
    std::fs::write(
        &file,
        format!(
            "name = \"kernel-jumbo\"\n[eal]\ncores = [0, 1]\nfile_prefix = \"qdp-t-kjumbo\"\n\
             hugepages = \"off\"\nmemory_mb = 512\nlog_level = \"error\"\n\n\
             [stats]\ninterval_s = 0\n\n{body}"
        ),
    )
    .unwrap();
    file
}

/// tshark capturing whole frames on `dev` in namespace `ns` into `file` (at most `count`).
struct Capture {
    child: Child,
}

impl Capture {
    fn start(ns: &str, dev: &str, file: &Path, count: u32) -> Capture {
        let child = Command::new("ip")
            .args(["netns", "exec", ns, "tshark", "-q", "-i", dev, "-s", "0"])
            .args(["-c", &count.to_string(), "-a", "duration:30", "-w"])
            .arg(file)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("tshark");
        // tshark (dumpcap) creates the file once it captures.
        let start = Instant::now();
        while !file.exists() {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "tshark did not start capturing on {ns}/{dev}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        std::thread::sleep(Duration::from_millis(300));
        Capture { child }
    }

    /// Waits for tshark to stop (it has its count, or 30 s passed), killing it after 40 s.
    fn finish(mut self) {
        let start = Instant::now();
        while self.child.try_wait().unwrap().is_none() {
            if start.elapsed() > Duration::from_secs(40) {
                let _ = Command::new("kill")
                    .args(["-INT", &self.child.id().to_string()])
                    .status();
                std::thread::sleep(Duration::from_secs(2));
                let _ = self.child.kill();
                let _ = self.child.wait();
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Per TCP frame of the capture: (frame length, IPv4 checksum status, TCP checksum status,
/// TCP payload length), as tshark verifies them (status 1: good, 0: bad).
fn tcp_frames(file: &Path) -> Vec<(usize, String, String, usize)> {
    let out = run_with_timeout(
        Command::new("tshark")
            .arg("-r")
            .arg(file)
            .args([
                "-o",
                "tcp.check_checksum:TRUE",
                "-o",
                "ip.check_checksum:TRUE",
            ])
            .args(["-Y", "tcp", "-T", "fields"])
            .args(["-e", "frame.len", "-e", "ip.checksum.status"])
            .args(["-e", "tcp.checksum.status", "-e", "tcp.len"]),
        Duration::from_secs(120),
    );
    assert!(
        out.status.success(),
        "tshark: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 4, "{l}");
            (
                f[0].parse().unwrap(),
                f[1].to_string(),
                f[2].to_string(),
                f[3].parse().unwrap_or(0),
            )
        })
        .collect()
}

#[test]
fn jumbo_chain_carries_tcp_both_ways_in_large_frames_with_correct_checksums() {
    let _topology = Topology::up(&["--mtu", MTU, "up"]);
    for (ns, dev) in [("qdpt-client", "cl0"), ("qdpt-server", "sv0")] {
        let out = in_ns(ns, &["ip", "link", "show", dev], Duration::from_secs(10));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(&format!("mtu {MTU}")), "{ns}: {text}");
    }
    let dir = scratch("kernel-jumbo");
    let file = pipeline(dir.path());
    let qdp = Daemon::start(Some(&file), &dir.path().join("qdp.sock"), &[]);

    // ICMP echo of 30000 bytes each way: one frame per request and per reply, no fragments.
    for (ns, dst) in [("qdpt-client", "10.2.0.1"), ("qdpt-server", "10.1.0.1")] {
        let out = in_ns(
            ns,
            &[
                "ping", "-c", "3", "-i", "0.2", "-W", "2", "-s", "30000", "-M", "do", dst,
            ],
            Duration::from_secs(30),
        );
        assert_success(&out);
    }

    // TCP client → server (captured where the server receives it) and server → client (-R,
    // captured where the client receives it): what qdp wrote onto the veth pair.
    for (reverse, ns, dev) in [(false, "qdpt-server", "sv0"), (true, "qdpt-client", "cl0")] {
        let what = if reverse {
            "server→client"
        } else {
            "client→server"
        };
        let pcap = dir.path().join(format!("{dev}.pcap"));
        let capture = Capture::start(ns, dev, &pcap, 400);
        let srv = iperf3_server(5201);
        let v = iperf3(if reverse { &["-R"] } else { &[] });
        drop(srv);
        capture.finish();
        let end = &v["end"];
        let bytes = end["sum_received"]["bytes"].as_u64().unwrap();
        eprintln!(
            "TCP {what}: {bytes} bytes, {:.2} Gbit/s, {} retransmits",
            end["sum_received"]["bits_per_second"].as_f64().unwrap() / 1e9,
            end["sum_sent"]["retransmits"]
        );
        assert!(bytes > 50_000_000, "{what}: {end}");

        let frames = tcp_frames(&pcap);
        let large: Vec<_> = frames.iter().filter(|f| f.0 > 1514).collect();
        let largest = frames.iter().map(|f| f.0).max().unwrap_or(0);
        eprintln!(
            "{dev}: {} TCP frames captured, {} above 1514 bytes, the largest {largest} bytes",
            frames.len(),
            large.len()
        );
        assert!(large.len() >= 50, "{what}: few large frames: {frames:?}");
        // The MSS follows the MTU: full segments fill 61000-byte IP packets.
        assert!(largest > 60_000, "{what}: largest frame {largest}");
        for f in &frames {
            assert_eq!(f.1, "1", "{what}: IPv4 checksum not good in {f:?}");
            assert_eq!(f.2, "1", "{what}: TCP checksum not good in {f:?}");
        }
    }

    let ended = qdp.stop();
    assert!(ended.status.success(), "qdp: {}", ended.stderr);
}
