//! Service function chaining over real DPDK pcap devices. Input frames are built by
//! tests/sfc_traffic.py (scapy), never by qdp's encoder; output is dissected by tshark and
//! compared byte by byte.

mod common;

use std::path::Path;

use common::*;

fn sfc_traffic(args: &[&str]) {
    let out = run_with_timeout(
        std::process::Command::new(python())
            .arg(repo_root().join("tests/sfc_traffic.py"))
            .args(args),
        std::time::Duration::from_secs(120),
    );
    assert!(
        out.status.success(),
        "sfc_traffic.py {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One port reading `input` and writing `output`, plus `body` (the SFC sections).
fn one_port(prefix: &str, input: &Path, output: &Path, body: &str) -> String {
    format!(
        "{}\n[[ports]]\nname = \"net\"\nvdev = \"net_pcap0,rx_pcap={},tx_pcap={}\"\n\n[[workers]]\nname = \"w0\"\ncore = 1\nrx = [\"net\"]\n\n{body}\n",
        eal_section(prefix),
        input.display(),
        output.display()
    )
}

const VTEP: &str = r#"
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
"#;

fn fields(line: &str) -> Vec<&str> {
    line.split('\t').collect()
}

#[test]
fn sff_transit_reencapsulates_to_the_remote_sff() {
    let dir = scratch("sfc-transit");
    let (input, output) = (dir.path().join("in.pcap"), dir.path().join("out.pcap"));
    let ctx = "00112233445566778899aabbccddeeff";
    sfc_traffic(&[
        "vxlan-nsh",
        input.to_str().unwrap(),
        "--spi",
        "100",
        "--si",
        "255",
        "--ttl",
        "63",
        "--context",
        ctx,
        "--flows",
        "8",
        "--per-flow",
        "4",
        "--sport-entropy",
        "--size",
        "100",
    ]);
    let body = format!(
        "{VTEP}\n[[paths]]\nname = \"p100\"\nspi = 100\nhops = [{{ si = 255, sff = \"sff3\" }}]\n"
    );
    let (out, summary) = qdp_run(
        dir.path(),
        &one_port("t-sfc-transit", &input, &output, &body),
        1.5,
    );
    assert_success(&out);
    let sent = read_pcap(&input);
    let got = read_pcap(&output);
    assert_eq!(got.len(), 32);
    let lines = tshark_fields(
        &output,
        &[
            "eth.src",
            "eth.dst",
            "ip.src",
            "ip.dst",
            "udp.dstport",
            "udp.checksum",
            "vxlan.next_proto",
            "nsh.spi",
            "nsh.si",
            "nsh.ttl",
            "nsh.mdtype",
            "nsh.contextheader",
        ],
    );
    for l in &lines {
        let f = fields(l);
        assert_eq!(f[0].split(',').next(), Some("02:00:00:00:00:02"), "{l}");
        assert_eq!(f[1].split(',').next(), Some("02:00:00:00:00:03"), "{l}");
        assert_eq!(f[2].split(',').next(), Some("10.0.0.2"), "{l}");
        assert_eq!(f[3].split(',').next(), Some("10.0.0.3"), "{l}");
        assert_eq!(f[4].split(',').next(), Some("4790"), "{l}");
        assert_eq!(f[5].split(',').next(), Some("0x0000"), "{l}");
        assert_eq!((f[6], f[7], f[8]), ("4", "100", "255"), "{l}");
        assert_eq!(
            i64::from_str_radix(f[9].trim_start_matches("0x"), 16).unwrap(),
            62,
            "TTL: {l}"
        );
        assert_eq!(f[10], "1", "{l}");
    }
    for (a, b) in sent.iter().zip(&got) {
        // Same outer sizes: the outer UDP source port (flow entropy) is kept, NSH is unchanged but
        // for TTL, and the inner frame is byte-identical.
        assert_eq!(a.len(), b.len());
        assert_eq!(a[34..36], b[34..36], "outer UDP source port");
        let nsh = 50;
        assert_eq!(
            a[nsh + 2..],
            b[nsh + 2..],
            "NSH after TTL, context and inner frame"
        );
        // RFC 8300 §2.2: TTL is the low 4 bits of byte 0 and the high 2 bits of byte 1.
        let ttl = |f: &[u8]| ((f[nsh] & 0x0f) << 2) | (f[nsh + 1] >> 6);
        assert_eq!((ttl(a), ttl(b)), (63, 62));
        assert_eq!(a[nsh + 1] & 0x3f, b[nsh + 1] & 0x3f, "length");
        assert_eq!(a[nsh] & 0xf0, b[nsh] & 0xf0, "version and O bit");
    }
    assert_eq!(counter(&summary, &["workers", "w0", "tx_packets"]), 32);
    // Rewritten in place: every byte that came in goes out, and is counted once each way.
    let bytes: u64 = sent.iter().map(|f| f.len() as u64).sum();
    assert_eq!(counter(&summary, &["workers", "w0", "rx_bytes"]), bytes);
    assert_eq!(counter(&summary, &["workers", "w0", "tx_bytes"]), bytes);
}

#[test]
fn transit_bursts_split_between_two_next_hops_keep_each_ones_order() {
    let dir = scratch("sfc-transit-split");
    let input = dir.path().join("in.pcap");
    let (out_a, out_b) = (dir.path().join("a.pcap"), dir.path().join("b.pcap"));
    // Flows 0, 1, 2 on SPIs 100, 101, 100: runs of one and two packets toward each next hop,
    // inside every burst.
    sfc_traffic(&[
        "vxlan-nsh",
        input.to_str().unwrap(),
        "--spi",
        "100",
        "--spis",
        "2",
        "--flows",
        "3",
        "--per-flow",
        "30",
        "--size",
        "90",
    ]);
    let pipeline = format!(
        "{}\n[[ports]]\nname = \"net\"\nvdev = \"net_pcap0,rx_pcap={},tx_pcap={}\"\n\n\
         [[ports]]\nname = \"b\"\nvdev = \"net_pcap1,tx_pcap={}\"\nrx_queues = 0\n\n\
         [[workers]]\nname = \"w0\"\ncore = 1\nrx = [\"net\"]\n\n{VTEP}\n\
         [[vteps]]\nname = \"local-b\"\nport = \"b\"\naddress = \"10.0.0.2\"\nmac = \"02:00:00:00:00:12\"\n\n\
         [[neighbors]]\nname = \"sff4\"\nport = \"b\"\naddress = \"10.0.0.4\"\nmac = \"02:00:00:00:00:04\"\n\n\
         [[paths]]\nname = \"p100\"\nspi = 100\nhops = [{{ si = 255, sff = \"sff3\" }}]\n\n\
         [[paths]]\nname = \"p101\"\nspi = 101\nhops = [{{ si = 255, sff = \"sff4\" }}]\n",
        eal_section("t-sfc-split"),
        input.display(),
        out_a.display(),
        out_b.display()
    );
    let (out, summary) = qdp_run(dir.path(), &pipeline, 1.5);
    assert_success(&out);
    let sent = read_pcap(&input);
    assert_eq!(sent.len(), 90);
    // NSH starts at byte 50; the SPI is in bytes 4..7 of it. Everything from NSH byte 2 on
    // (SPI, SI, context, inner frame) leaves unchanged, in the order it came.
    let nsh = 50;
    let spi = |f: &[u8]| u32::from_be_bytes([0, f[nsh + 4], f[nsh + 5], f[nsh + 6]]);
    for (path, want_spi, mac, ip) in [
        (&out_a, 100, "02:00:00:00:00:03", "10.0.0.3"),
        (&out_b, 101, "02:00:00:00:00:04", "10.0.0.4"),
    ] {
        let got = read_pcap(path);
        let expect: Vec<&Vec<u8>> = sent.iter().filter(|f| spi(f) == want_spi).collect();
        assert_eq!(got.len(), expect.len(), "{}", path.display());
        assert_eq!(got.len(), if want_spi == 100 { 60 } else { 30 });
        for (i, (a, b)) in expect.iter().zip(&got).enumerate() {
            assert_eq!(
                a[nsh + 2..],
                b[nsh + 2..],
                "packet {i} of {}",
                path.display()
            );
        }
        for l in tshark_fields(path, &["eth.dst", "ip.dst", "nsh.spi", "nsh.ttl"]) {
            let f = fields(&l);
            assert_eq!(f[0].split(',').next(), Some(mac), "{l}");
            assert_eq!(f[1].split(',').next(), Some(ip), "{l}");
            assert_eq!(f[2], want_spi.to_string(), "{l}");
            assert_eq!(
                i64::from_str_radix(f[3].trim_start_matches("0x"), 16).unwrap(),
                62,
                "{l}"
            );
        }
    }
    assert_eq!(counter(&summary, &["workers", "w0", "tx_packets"]), 90);
    let bytes: u64 = sent.iter().map(|f| f.len() as u64).sum();
    assert_eq!(counter(&summary, &["workers", "w0", "tx_bytes"]), bytes);
}

#[test]
fn md2_tlvs_pass_through_and_nsh_over_ethernet_ends_the_chain() {
    let dir = scratch("sfc-md2");
    let (input, output) = (dir.path().join("in.pcap"), dir.path().join("out.pcap"));
    sfc_traffic(&[
        "eth-nsh",
        input.to_str().unwrap(),
        "--spi",
        "7",
        "--si",
        "9",
        "--md",
        "2",
        "--tlv",
        "0x0101:0x02:0a0b0c0d0e",
        "--flows",
        "4",
        "--per-flow",
        "4",
    ]);
    let inner_dir = scratch("sfc-md2-inner");
    let inner = inner_dir.path().join("inner.pcap");
    sfc_traffic(&[
        "plain",
        inner.to_str().unwrap(),
        "--flows",
        "4",
        "--per-flow",
        "4",
    ]);
    // SI 9: built-in counter, SI 8: end of chain out of the same port.
    let body = r#"
[[exits]]
name = "out"
port = "net"
dst_mac = "02:00:00:00:09:09"
src_mac = "02:00:00:00:08:08"

[[sfs]]
name = "count"
kind = "counter"

[[paths]]
name = "p7"
spi = 7
hops = [{ si = 9, sf = "count" }, { si = 8, end = "out" }]
"#;
    let (out, summary) = qdp_run(
        dir.path(),
        &one_port("t-sfc-md2", &input, &output, body),
        1.5,
    );
    assert_success(&out);
    let got = read_pcap(&output);
    let want = read_pcap(&inner);
    assert_eq!(got.len(), 16);
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(&g[0..6], &[2, 0, 0, 0, 9, 9]);
        assert_eq!(&g[6..12], &[2, 0, 0, 0, 8, 8]);
        assert_eq!(&g[12..], &w[12..], "inner frame after the MACs");
    }
    assert_eq!(counter(&summary, &["sfs", "count", "packets"]), 16);
}

#[test]
fn md2_context_is_forwarded_unchanged_to_a_remote_sff() {
    let dir = scratch("sfc-md2-fwd");
    let (input, output) = (dir.path().join("in.pcap"), dir.path().join("out.pcap"));
    sfc_traffic(&[
        "vxlan-nsh",
        input.to_str().unwrap(),
        "--spi",
        "100",
        "--si",
        "200",
        "--md",
        "2",
        "--tlv",
        "0x0101:0x02:0a0b0c0d0e",
        "--tlv",
        "0xffff:0x7f:01020304",
        "--flows",
        "2",
        "--per-flow",
        "3",
    ]);
    let body = format!(
        "{VTEP}\n[[paths]]\nname = \"p100\"\nspi = 100\nhops = [{{ si = 200, sff = \"sff3\" }}]\n"
    );
    let (out, _) = qdp_run(
        dir.path(),
        &one_port("t-sfc-md2f", &input, &output, &body),
        1.5,
    );
    assert_success(&out);
    let lines = tshark_fields(
        &output,
        &[
            "nsh.mdtype",
            "nsh.metadataclass",
            "nsh.metadatatype",
            "nsh.metadata",
            "nsh.si",
        ],
    );
    assert_eq!(lines.len(), 6);
    for l in &lines {
        let f = fields(l);
        assert_eq!(f[0], "2", "{l}");
        assert!(
            f[3].contains("0a0b0c0d0e") && f[3].contains("01020304"),
            "{l}"
        );
        assert_eq!(f[4], "200", "{l}");
    }
}

#[test]
fn classifier_firewall_counter_end_of_chain() {
    let dir = scratch("sfc-chain");
    let d = dir.path();
    let (udp, tcp, input, output) = (
        d.join("udp.pcap"),
        d.join("tcp.pcap"),
        d.join("in.pcap"),
        d.join("out.pcap"),
    );
    sfc_traffic(&[
        "plain",
        udp.to_str().unwrap(),
        "--flows",
        "8",
        "--per-flow",
        "5",
    ]);
    sfc_traffic(&[
        "plain",
        tcp.to_str().unwrap(),
        "--flows",
        "2",
        "--per-flow",
        "3",
        "--proto",
        "tcp",
        "--dport",
        "23",
        "--flow-base",
        "100",
    ]);
    // Both files, one after the other, into one pcap.
    let mut frames = read_pcap(&udp);
    frames.extend(read_pcap(&tcp));
    qdp::traffic::write_pcap(&input, &frames).unwrap();
    let body = r#"
[[exits]]
name = "server"
port = "net"
dst_mac = "02:00:00:00:05:05"

[[sfs]]
name = "fw"
kind = "firewall"
rules = [{ priority = 1, protocol = "tcp", dst_ports = 23, action = "deny" }]

[[sfs]]
name = "count"
kind = "counter"

[[paths]]
name = "chain"
spi = 10
hops = [{ si = 255, sf = "fw" }, { si = 254, sf = "count" }, { si = 253, end = "server" }]

[[classifier]]
src = "10.1.0.0/16"
path = "chain"
"#;
    let (out, summary) = qdp_run(d, &one_port("t-sfc-chain", &input, &output, body), 1.5);
    assert_success(&out);
    let got = read_pcap(&output);
    let want = read_pcap(&udp);
    assert_eq!(got.len(), 40, "the telnet frames are denied");
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(&g[0..6], &[2, 0, 0, 0, 5, 5]);
        assert_eq!(&g[12..], &w[12..]);
    }
    assert_eq!(counter(&summary, &["sfs", "fw", "packets"]), 46);
    assert_eq!(counter(&summary, &["sfs", "count", "packets"]), 40);
    assert_eq!(
        counter(&summary, &["workers", "w0", "drops", "firewall-deny"]),
        6
    );
}

#[test]
fn classifier_encapsulates_towards_the_first_hop() {
    let dir = scratch("sfc-encap");
    let (input, output) = (dir.path().join("in.pcap"), dir.path().join("out.pcap"));
    sfc_traffic(&[
        "plain",
        input.to_str().unwrap(),
        "--flows",
        "6",
        "--per-flow",
        "2",
        "--size",
        "80",
    ]);
    let body = format!(
        "{VTEP}\n[[paths]]\nname = \"web\"\nspi = 4242\ncontext = \"0102030405060708090a0b0c0d0e0f10\"\nhops = [{{ si = 254, sff = \"sff3\" }}]\n\n[[classifier]]\nsrc = \"10.1.0.0/16\"\nprotocol = \"udp\"\ndst_ports = \"5000-5010\"\npath = \"web\"\n"
    );
    let (out, _) = qdp_run(
        dir.path(),
        &one_port("t-sfc-encap", &input, &output, &body),
        1.5,
    );
    assert_success(&out);
    let sent = read_pcap(&input);
    let got = read_pcap(&output);
    assert_eq!(got.len(), 12);
    let lines = tshark_fields(
        &output,
        &[
            "ip.dst",
            "udp.dstport",
            "nsh.spi",
            "nsh.si",
            "nsh.ttl",
            "nsh.nextproto",
            "nsh.contextheader",
            "udp.srcport",
        ],
    );
    let mut sports = std::collections::HashMap::new();
    for (l, (s, g)) in lines.iter().zip(sent.iter().zip(&got)) {
        let f = fields(l);
        assert!(f[0].starts_with("10.0.0.3,"), "{l}");
        assert!(f[1].starts_with("4790"), "{l}");
        assert_eq!((f[2], f[3]), ("4242", "254"), "{l}");
        assert_eq!(
            i64::from_str_radix(f[4].trim_start_matches("0x"), 16).unwrap(),
            63
        );
        assert_eq!(f[5], "3", "next protocol Ethernet: {l}");
        assert_eq!(
            &g[50 + 8..50 + 24],
            &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]
        );
        assert_eq!(&g[50 + 24..], &s[..], "inner frame unchanged");
        // One flow, one outer source port (ECMP entropy), in the ephemeral range.
        let sport: u16 = f[7].split(',').next().unwrap().parse().unwrap();
        assert!(sport >= 49152, "{sport}");
        let flow = &s[26..30];
        assert_eq!(*sports.entry(flow.to_vec()).or_insert(sport), sport);
    }
    assert_eq!(sports.len(), 6);
}

#[test]
fn the_largest_md2_header_a_file_allows_is_pushed_whole() {
    // 252 bytes of NSH (the protocol's limit, which `qdp check` enforces): the base and service
    // path headers and two TLVs of 127 (padded to 128) and 108 bytes. With the 50 bytes of
    // VXLAN-GPE over IPv4 that is more than DPDK's 128-byte headroom: the frame's bytes move
    // toward the end of the buffer to make room.
    let dir = scratch("sfc-md2-max");
    let (input, output) = (dir.path().join("in.pcap"), dir.path().join("out.pcap"));
    sfc_traffic(&[
        "plain",
        input.to_str().unwrap(),
        "--flows",
        "4",
        "--per-flow",
        "3",
        "--size",
        "1000",
    ]);
    let v1: String = (0..127).map(|i| format!("{:02x}", i as u8)).collect();
    let v2: String = (0..108)
        .map(|i| format!("{:02x}", 0xff - i as u8))
        .collect();
    let body = format!(
        "[sfc]\ninner_mtu = 1150\n{VTEP}\n[[paths]]\nname = \"big\"\nspi = 77\nhops = [{{ si = 255, sff = \"sff3\" }}]\n\
         tlvs = [{{ class = 0x0101, type = 1, value = \"{v1}\" }}, {{ class = 0xfff6, type = 0x7f, value = \"{v2}\" }}]\n\n\
         [[classifier]]\nsrc = \"10.1.0.0/16\"\npath = \"big\"\n"
    );
    let file = one_port("t-sfc-md2max", &input, &output, &body);
    let path = dir.path().join("check.toml");
    std::fs::write(&path, &file).unwrap();
    let checked = run_with_timeout(
        std::process::Command::new(qdp_bin())
            .arg("check")
            .arg(&path),
        std::time::Duration::from_secs(60),
    );
    assert!(
        checked.status.success(),
        "{}",
        String::from_utf8_lossy(&checked.stderr)
    );
    let (out, summary) = qdp_run(dir.path(), &file, 1.5);
    assert_success(&out);
    assert_eq!(
        counter(&summary, &["workers", "w0", "drops", "no-headroom"]),
        0
    );
    let sent = read_pcap(&input);
    let got = read_pcap(&output);
    assert_eq!(got.len(), 12);
    let lines = tshark_fields(
        &output,
        &[
            "ip.dst",
            "udp.dstport",
            "nsh.length",
            "nsh.mdtype",
            "nsh.spi",
            "nsh.si",
            "nsh.metadataclass",
            "nsh.metadatatype",
            "nsh.metadatalen",
            "nsh.metadata",
            "ip.len",
        ],
    );
    assert_eq!(lines.len(), 12);
    let hex = |v: &str| v.replace(':', "");
    for (l, (s, g)) in lines.iter().zip(sent.iter().zip(&got)) {
        let f = fields(l);
        assert!(f[0].starts_with("10.0.0.3"), "{l}");
        assert!(f[1].starts_with("4790"), "{l}");
        assert_eq!((f[2], f[3], f[4], f[5]), ("63", "2", "77", "255"), "{l}");
        assert_eq!(f[6], "257,65526", "{l}");
        assert_eq!(f[7], "1,127", "{l}");
        assert_eq!(
            f[8], "0x7f,0x6c",
            "lengths in bytes, without the padding: {l}"
        );
        let md: Vec<String> = f[9].split(',').map(hex).collect();
        assert_eq!(md.len(), 2, "{l}");
        assert_eq!(md[0], v1, "{l}");
        assert_eq!(md[1], v2, "{l}");
        assert_eq!(
            f[10].split(',').next(),
            Some(&*(252 + 36 + s.len()).to_string()),
            "{l}"
        );
        assert_eq!(g.len(), 50 + 252 + s.len());
        assert_eq!(&g[50 + 252..], &s[..], "inner frame unchanged");
    }
}

#[test]
fn malformed_corpus_is_dropped_by_reason_and_good_traffic_passes() {
    let dir = scratch("sfc-malformed");
    let (input, output) = (dir.path().join("in.pcap"), dir.path().join("out.pcap"));
    sfc_traffic(&["malformed", input.to_str().unwrap(), "--good", "40"]);
    let kinds = std::fs::read_to_string(dir.path().join("in.pcap.kinds")).unwrap();
    let kinds: Vec<&str> = kinds.lines().collect();
    assert_eq!(kinds.len(), 42);
    let body = format!(
        "{VTEP}\n[[paths]]\nname = \"p100\"\nspi = 100\nhops = [{{ si = 255, sff = \"sff3\" }}]\n"
    );
    let (out, summary) = qdp_run(
        dir.path(),
        &one_port("t-sfc-bad", &input, &output, &body),
        1.5,
    );
    assert_success(&out);
    let got = read_pcap(&output);
    // Transit does not look past NSH: the two frames whose inner next protocol is unknown are
    // forwarded like good ones (an end of chain would drop them).
    let leaked: Vec<String> = got
        .iter()
        .filter_map(|f| {
            f.windows(3)
                .position(|w| w == b"BAD")
                .map(|i| String::from_utf8_lossy(&f[i..]).into_owned())
        })
        .collect();
    assert_eq!(leaked.len(), 2, "{leaked:?}");
    assert!(
        leaked.iter().all(|l| l.contains("nsh_unknown_next_proto")),
        "{leaked:?}"
    );
    assert_eq!(got.len(), 42);
    let expect = [
        ("vlan-stack", 2),
        ("ipv4-malformed", 11),
        ("ipv4-bad-checksum", 1),
        ("gpe-no-p-bit", 1),
        ("gpe-not-nsh", 1),
        ("nsh-truncated", 3),
        ("nsh-bad-version", 2),
        ("nsh-bad-length", 6),
        ("nsh-bad-md-type", 3),
        ("nsh-tlv-overrun", 2),
        ("nsh-ttl-expired", 4),
        ("nsh-si-zero", 2),
        ("nsh-unknown-path", 2),
    ];
    let mut total = 0;
    for (reason, n) in expect {
        assert_eq!(
            counter(&summary, &["workers", "w0", "drops", reason]),
            n,
            "{reason}"
        );
        total += n;
    }
    assert_eq!(total, 40);
    assert_eq!(counter(&summary, &["workers", "w0", "rx_packets"]), 82);
    assert_eq!(counter(&summary, &["mempools", "0", "free"]), 8191);
}

#[test]
fn oam_packets_go_to_the_slow_path_never_forwarded() {
    let dir = scratch("sfc-oam");
    let (scapy_in, input, output) = (
        dir.path().join("scapy.pcap"),
        dir.path().join("in.pcap"),
        dir.path().join("out.pcap"),
    );
    sfc_traffic(&[
        "vxlan-nsh",
        scapy_in.to_str().unwrap(),
        "--spi",
        "100",
        "--si",
        "255",
        "--flows",
        "4",
        "--per-flow",
        "5",
    ]);
    // Every fourth frame gets the NSH O bit (byte 0 of NSH, 0x20; NSH starts at 50).
    let mut frames = read_pcap(&scapy_in);
    for f in frames.iter_mut().step_by(4) {
        f[50] |= 0x20;
    }
    qdp::traffic::write_pcap(&input, &frames).unwrap();
    let body = format!(
        "{VTEP}\n[[paths]]\nname = \"p100\"\nspi = 100\nhops = [{{ si = 255, sff = \"sff3\" }}]\n"
    );
    let (out, summary) = qdp_run(
        dir.path(),
        &one_port("t-sfc-oam", &input, &output, &body),
        1.5,
    );
    assert_success(&out);
    assert_eq!(counter(&summary, &["slow_path", "nsh-oam"]), 5);
    assert_eq!(counter(&summary, &["workers", "w0", "slow_path"]), 5);
    assert_eq!(counter(&summary, &["workers", "w0", "tx_packets"]), 15);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("slow path: NSH OAM packet: SPI 100 SI 255"),
        "{stderr}"
    );
    let oam = tshark_fields(&output, &["nsh.Obit"]);
    assert_eq!(oam.len(), 15);
    assert!(oam.iter().all(|o| o == "0" || o == "False"), "{oam:?}");
    assert_eq!(counter(&summary, &["mempools", "0", "free"]), 8191);
}
