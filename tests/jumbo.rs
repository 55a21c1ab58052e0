//! Jumbo frames over real DPDK pcap devices: 9000-byte frames built by scapy arrive as chains of
//! mbufs (the pcap PMD scatters a frame larger than one mbuf across several), cross the
//! cross-connect or the classifier and VXLAN-GPE encapsulation, and leave whole; tshark dissects
//! the output. Frames over a port's MTU and chains of too many segments are dropped by reason, and
//! every mbuf is back in the pool at exit.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::*;

/// Builds the input with tests/jumbo_traffic.py: groups of `SIZExCOUNT` frames.
fn jumbo_traffic(out: &Path, groups: &[&str]) {
    let o = run_with_timeout(
        Command::new(python())
            .arg(repo_root().join("tests/jumbo_traffic.py"))
            .arg(out)
            .args(groups),
        Duration::from_secs(120),
    );
    assert!(
        o.status.success(),
        "jumbo_traffic.py {groups:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Frames tshark finds malformed (or with an IPv4 header checksum that fails).
fn tshark_bad(path: &Path) -> Vec<String> {
    let o = run_with_timeout(
        Command::new("tshark")
            .arg("-r")
            .arg(path)
            .args(["-o", "ip.check_checksum:TRUE"])
            .args(["-Y", "_ws.malformed || ip.checksum.status == 0"]),
        Duration::from_secs(120),
    );
    assert!(
        o.status.success(),
        "tshark: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// A cross-connect from a pcap file (port `in`, mtu `in_mtu`) into another (port `out`, mtu
/// `out_mtu`), with `data_room` bytes per mbuf.
fn xconnect(
    prefix: &str,
    input: &Path,
    output: &Path,
    in_mtu: u16,
    out_mtu: u16,
    data_room: u32,
) -> String {
    format!(
        "{}\n[[ports]]\nname = \"in\"\nvdev = \"net_pcap0,rx_pcap={}\"\nmtu = {in_mtu}\n\n[[ports]]\nname = \"out\"\nvdev = \"net_pcap1,tx_pcap={}\"\nrx_queues = 0\nmtu = {out_mtu}\n\n[[workers]]\nname = \"w0\"\ncore = 1\nrx = [\"in:0\"]\n\n[[cross_connect]]\na = \"in\"\nb = \"out\"\n",
        eal_section(prefix).replace("cache = 128\n", &format!("cache = 128\ndata_room = {data_room}\n")),
        input.display(),
        output.display()
    )
}

fn drops(summary: &serde_json::Value, reason: &str) -> u64 {
    counter(summary, &["workers", "w0", "drops", reason])
}

#[test]
fn xconnect_carries_jumbo_chains_whole_and_drops_over_mtu() {
    let dir = scratch("jumbo-xc");
    let (input, output) = (dir.path().join("in.pcap"), dir.path().join("out.pcap"));
    // 32 frames of 9000 B, then 3 of 9100 B: over the output port's mtu 9000 (+ 18).
    jumbo_traffic(&input, &["9000x32", "9100x3"]);
    // The default data room (2176 B): a 9000-byte frame takes 5 mbufs.
    let pipeline = xconnect("t-jumbo-xc", &input, &output, 9600, 9000, 2176);
    let (out, summary) = qdp_run(dir.path(), &pipeline, 1.5);
    assert_success(&out);
    let sent = read_pcap(&input);
    let got = read_pcap(&output);
    assert_eq!(sent.len(), 35);
    assert_eq!(got.len(), 32, "frame count");
    for (i, (a, b)) in sent.iter().zip(&got).enumerate() {
        assert_eq!(a.len(), 9000, "frame {i}");
        assert_eq!(a, b, "frame {i} differs");
    }
    assert_eq!(counter(&summary, &["ports", "in", "ipackets"]), 35);
    assert_eq!(counter(&summary, &["workers", "w0", "tx_packets"]), 32);
    assert_eq!(counter(&summary, &["workers", "w0", "tx_bytes"]), 32 * 9000);
    assert_eq!(drops(&summary, "over-mtu"), 3);
    assert_eq!(drops(&summary, "too-many-segments"), 0);
    assert_eq!(drops(&summary, "headers-split"), 0);
    let lens = tshark_fields(&output, &["frame.len", "ip.len", "udp.length"]);
    assert_eq!(lens.len(), 32);
    for l in &lens {
        assert_eq!(l, "9000\t8986\t8966", "{l}");
    }
    assert_eq!(tshark_bad(&output), Vec::<String>::new());
    // Every mbuf of every chain is back.
    assert_eq!(counter(&summary, &["mempools", "0", "free"]), 8191);
}

#[test]
fn chains_of_too_many_segments_are_dropped_by_reason() {
    let dir = scratch("jumbo-segs");
    let (input, output) = (dir.path().join("in.pcap"), dir.path().join("out.pcap"));
    // Mbufs of 1152 bytes, 128 of them headroom in the first segment only (as the pcap PMD
    // chains them): 4000 B take 4 segments, 9500 B take 9 (over the bound of 8).
    jumbo_traffic(&input, &["4000x8", "9500x5"]);
    let pipeline = xconnect("t-jumbo-segs", &input, &output, 9600, 9600, 1152);
    let (out, summary) = qdp_run(dir.path(), &pipeline, 1.5);
    assert_success(&out);
    let sent = read_pcap(&input);
    let got = read_pcap(&output);
    assert_eq!(got.len(), 8, "frame count");
    for (i, (a, b)) in sent.iter().zip(&got).enumerate() {
        assert_eq!(a, b, "frame {i} differs");
    }
    assert_eq!(drops(&summary, "too-many-segments"), 5);
    assert_eq!(drops(&summary, "over-mtu"), 0);
    assert_eq!(counter(&summary, &["mempools", "0", "free"]), 8191);
}

#[test]
fn classifier_encapsulates_jumbo_chains_with_whole_packet_lengths() {
    let dir = scratch("jumbo-encap");
    let (input, output) = (dir.path().join("in.pcap"), dir.path().join("out.pcap"));
    // 16 frames of 9000 B; 2 of 9560 B, which encapsulated (+74 B) pass mtu 9600 + 18.
    jumbo_traffic(&input, &["9000x16", "9560x2"]);
    let body = r#"
[[vteps]]
name = "local"
port = "net"
address = "10.0.0.2"
mac = "02:00:00:00:00:02"

[[neighbors]]
name = "sff3"
port = "net"
address = "10.0.0.3"
mac = "02:00:00:00:00:03"

[[paths]]
name = "web"
spi = 4242
context = "0102030405060708090a0b0c0d0e0f10"
hops = [{ si = 254, sff = "sff3" }]

[[classifier]]
in_port = "in"
src = "10.1.0.0/16"
protocol = "udp"
dst_ports = "5001"
path = "web"
"#;
    let pipeline = format!(
        "{}\n[[ports]]\nname = \"in\"\nvdev = \"net_pcap0,rx_pcap={}\"\nmtu = 9000\n\n[[ports]]\nname = \"net\"\nvdev = \"net_pcap1,tx_pcap={}\"\nrx_queues = 0\nmtu = 9600\n\n[[workers]]\nname = \"w0\"\ncore = 1\nrx = [\"in\"]\n\n[sfc]\ninner_mtu = 9000\n{body}",
        eal_section("t-jumbo-encap"),
        input.display(),
        output.display()
    );
    let (out, summary) = qdp_run(dir.path(), &pipeline, 1.5);
    assert_success(&out);
    let sent = read_pcap(&input);
    let got = read_pcap(&output);
    assert_eq!(
        got.len(),
        16,
        "frame count; drops {}",
        summary["workers"]["w0"]["drops"]
    );
    for (i, (s, g)) in sent.iter().zip(&got).enumerate() {
        assert_eq!(g.len(), 9000 + 74, "frame {i}");
        assert_eq!(&g[74..], &s[..], "frame {i}: inner frame unchanged");
    }
    assert_eq!(drops(&summary, "over-mtu"), 2);
    let lines = tshark_fields(
        &output,
        &[
            "frame.len",
            "ip.len",
            "udp.length",
            "nsh.spi",
            "nsh.si",
            "ip.dst",
        ],
    );
    assert_eq!(lines.len(), 16);
    for l in &lines {
        let f: Vec<&str> = l.split('\t').collect();
        assert_eq!(f[0], "9074", "{l}");
        // Outer, then inner.
        assert_eq!(f[1], "9060,8986", "{l}");
        assert_eq!(f[2], "9040,8966", "{l}");
        assert_eq!((f[3], f[4]), ("4242", "254"), "{l}");
        assert_eq!(f[5], "10.0.0.3,10.2.0.1", "{l}");
    }
    assert_eq!(tshark_bad(&output), Vec::<String>::new());
    assert_eq!(counter(&summary, &["mempools", "0", "free"]), 8191);
}

#[test]
fn sff_forwards_jumbo_vxlan_gpe_chains_with_whole_packet_lengths() {
    let dir = scratch("jumbo-transit");
    let (input, output) = (dir.path().join("in.pcap"), dir.path().join("out.pcap"));
    // VXLAN-GPE + NSH MD1 (74 B) around inner frames of 8900 B: 8974 B on the wire.
    let o = run_with_timeout(
        Command::new(python())
            .arg(repo_root().join("tests/sfc_traffic.py"))
            .args(["vxlan-nsh", input.to_str().unwrap()])
            .args(["--spi", "100", "--si", "255", "--ttl", "63"])
            .args(["--flows", "4", "--per-flow", "4", "--size", "8900"]),
        Duration::from_secs(120),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let body = r#"
[[vteps]]
name = "local"
port = "net"
address = "10.0.0.2"
mac = "02:00:00:00:00:02"

[[neighbors]]
name = "sff3"
port = "net"
address = "10.0.0.3"
mac = "02:00:00:00:00:03"

[[paths]]
name = "p100"
spi = 100
hops = [{ si = 255, sff = "sff3" }]
"#;
    let pipeline = format!(
        "{}\n[[ports]]\nname = \"net\"\nvdev = \"net_pcap0,rx_pcap={},tx_pcap={}\"\nmtu = 9600\n\n[[workers]]\nname = \"w0\"\ncore = 1\nrx = [\"net\"]\n{body}",
        eal_section("t-jumbo-transit"),
        input.display(),
        output.display()
    );
    let (out, summary) = qdp_run(dir.path(), &pipeline, 1.5);
    assert_success(&out);
    let sent = read_pcap(&input);
    let got = read_pcap(&output);
    assert_eq!(
        got.len(),
        16,
        "frame count; drops {}",
        summary["workers"]["w0"]["drops"]
    );
    for (i, (s, g)) in sent.iter().zip(&got).enumerate() {
        assert_eq!((s.len(), g.len()), (8974, 8974), "frame {i}");
        assert_eq!(&g[74..], &s[74..], "frame {i}: inner frame unchanged");
    }
    let lines = tshark_fields(
        &output,
        &["ip.dst", "ip.len", "udp.length", "nsh.spi", "nsh.ttl"],
    );
    assert_eq!(lines.len(), 16);
    for l in &lines {
        let f: Vec<&str> = l.split('\t').collect();
        assert_eq!(f[0].split(',').next(), Some("10.0.0.3"), "{l}");
        assert_eq!(f[1].split(',').next(), Some("8960"), "{l}");
        assert_eq!(f[2].split(',').next(), Some("8940"), "{l}");
        assert_eq!(f[3], "100", "{l}");
        assert_eq!(
            i64::from_str_radix(f[4].trim_start_matches("0x"), 16).unwrap(),
            62,
            "TTL: {l}"
        );
    }
    assert_eq!(tshark_bad(&output), Vec::<String>::new());
    assert_eq!(counter(&summary, &["mempools", "0", "free"]), 8191);
}
