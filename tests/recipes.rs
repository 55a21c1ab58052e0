//! The traffic recipes in pktgen-scripts/, smoke-tested: each trafgen configuration is sent over a
//! veth pair and the frames that arrive are dissected with tshark.

mod common;

use std::process::Command;
use std::time::Duration;

use common::*;

/// Sends `n` frames of a trafgen configuration over a fresh veth pair; returns tshark's fields
/// of what arrived at the other end.
fn send_and_dissect(conf: &str, n: usize, fields: &[&str]) -> Vec<String> {
    let dir = scratch("recipes");
    let (a, b) = ("qdprt0", "qdprt1");
    let _ = Command::new("ip").args(["link", "del", a]).output();
    let ok = |out: std::process::Output| assert_success(&out);
    ok(run_with_timeout(
        Command::new("ip").args(["link", "add", a, "type", "veth", "peer", "name", b]),
        Duration::from_secs(10),
    ));
    for dev in [a, b] {
        ok(run_with_timeout(
            Command::new("ip").args(["link", "set", dev, "up"]),
            Duration::from_secs(10),
        ));
        // No IPv6 chatter on the pair.
        let _ = std::fs::write(format!("/proc/sys/net/ipv6/conf/{dev}/disable_ipv6"), "1");
    }
    let pcap = dir.path().join("rx.pcap");
    let mut cap = Command::new("tshark")
        .args(["-i", b, "-c", &n.to_string(), "-w"])
        .arg(&pcap)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("tshark");
    // tshark needs a moment to start capturing.
    std::thread::sleep(Duration::from_secs(2));
    let out = run_with_timeout(
        Command::new("trafgen")
            .args(["--dev", a, "--conf"])
            .arg(repo_root().join("pktgen-scripts").join(conf))
            .args(["-n", &n.to_string(), "--cpus", "1", "-q"]),
        Duration::from_secs(30),
    );
    assert_success(&out);
    let start = std::time::Instant::now();
    while cap.try_wait().unwrap().is_none() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "tshark saw fewer than {n} frames"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = Command::new("ip").args(["link", "del", a]).output();
    tshark_fields(&pcap, fields)
}

#[test]
fn udp64_trafgen_sends_the_plain_flows() {
    let lines = send_and_dissect(
        "udp64.trafgen",
        16,
        &[
            "frame.len",
            "ip.src",
            "ip.dst",
            "udp.srcport",
            "udp.dstport",
            "ip.checksum.status",
        ],
    );
    assert_eq!(lines.len(), 16);
    for l in &lines {
        let f: Vec<&str> = l.split('\t').collect();
        assert_eq!(f[0], "60", "{l}");
        assert!(f[1].starts_with("10.1.0."), "{l}");
        assert_eq!(&f[2..5], ["10.2.0.1", "1024", "5001"], "{l}");
    }
}

#[test]
fn nsh64_trafgen_sends_vxlan_gpe_nsh_md1() {
    let lines = send_and_dissect(
        "nsh64.trafgen",
        16,
        &[
            "frame.len",
            "ip.src",
            "ip.dst",
            "udp.dstport",
            "vxlan.next_proto",
            "nsh.spi",
            "nsh.si",
            "nsh.ttl",
            "nsh.mdtype",
            "udp.checksum",
        ],
    );
    assert_eq!(lines.len(), 16);
    for l in &lines {
        let f: Vec<&str> = l.split('\t').collect();
        assert_eq!(f[0], "134", "{l}");
        // Outer and inner addresses, outer port 4790 and inner 5001.
        assert!(f[1].starts_with("10.0.0.1,10.1.0."), "{l}");
        assert_eq!(f[2], "10.0.0.2,10.2.0.1", "{l}");
        assert_eq!(f[3], "4790,5001", "{l}");
        assert_eq!(f[4], "4", "next protocol NSH: {l}");
        assert_eq!(&f[5..9], ["100", "255", "0x003f", "1"], "{l}");
        assert_eq!(f[9], "0x0000,0x0000", "UDP checksums 0: {l}");
    }
}
