//! The malformed-packet corpus through every SFC scenario, over a real DPDK pcap device: SFF
//! transit to a remote SFF, the end of the chain, the SFC proxy toward an NSH-unaware SF on a
//! VLAN, the classifier with encapsulation toward a remote SFF, and the demo chain (classifier,
//! firewall, counter, end of chain). Each scenario has a fast path in front of the general one
//! (the transit memo, which also ends chains, and the classifier's table of decisions by flow),
//! and the corpus puts every malformed frame right after a good frame of the same path, so that
//! the fast path has just remembered a decision the malformed frame must not get.
//!
//! It proves that, whichever path takes them, every malformed frame is dropped and counted under
//! the reason the general path gives it (the exact count of every reason, and nothing under any
//! other), that every good frame leaves, in order and with the bytes the scenario must write, that
//! no frame tagged "BAD" by the corpus leaves unless the scenario legitimately forwards it, that
//! every frame sent was received, and that no mbuf is left behind.
//!
//! The corpora are built by tests/sfc_traffic.py (scapy): `malformed` (VXLAN-GPE and Ethernet NSH
//! frames) and, for the scenarios with a classifier, `malformed-plain` (plain frames), both with
//! `--interleave`.

mod common;

use std::collections::BTreeMap;
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

[[exits]]
name = "server"
port = "net"
dst_mac = "02:00:00:00:00:0b"
src_mac = "02:00:00:00:08:08"
"#;

const LOCAL_MAC: [u8; 6] = [2, 0, 0, 0, 0, 2];
const SFF3_MAC: [u8; 6] = [2, 0, 0, 0, 0, 3];
const SERVER_MAC: [u8; 6] = [2, 0, 0, 0, 0, 0x0b];
const EXIT_SRC_MAC: [u8; 6] = [2, 0, 0, 0, 8, 8];

/// Good frames per corpus: one before each malformed frame (42 NSH, 17 plain kinds), and a few
/// more after the last.
const GOOD_NSH: usize = 44;
const GOOD_PLAIN: usize = 20;

/// One frame of a corpus.
struct Frame {
    /// "good" or the malformed kind.
    kind: String,
    /// From the plain corpus (else the NSH one).
    plain: bool,
    data: Vec<u8>,
}

impl Frame {
    fn good(&self) -> bool {
        self.kind == "good"
    }
}

/// Builds a corpus with `sfc_traffic.py MODE --good N --interleave` and reads it back with its
/// kinds.
fn corpus(dir: &Path, mode: &str, good: usize, plain: bool) -> Vec<Frame> {
    let file = dir.join(format!("{mode}.pcap"));
    sfc_traffic(&[
        mode,
        file.to_str().unwrap(),
        "--good",
        &good.to_string(),
        "--interleave",
    ]);
    let data = read_pcap(&file);
    let meta: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join(format!("{mode}.pcap.json"))).unwrap(),
    )
    .unwrap();
    let meta = meta.as_array().unwrap();
    assert_eq!(meta.len(), data.len(), "{mode}: one record per frame");
    let frames: Vec<Frame> = meta
        .iter()
        .zip(data)
        .map(|(m, data)| {
            assert_eq!(m["len"].as_u64(), Some(data.len() as u64), "{m}");
            Frame {
                kind: m["kind"].as_str().unwrap().to_string(),
                plain,
                data,
            }
        })
        .collect();
    let kinds = std::fs::read_to_string(dir.join(format!("{mode}.pcap.kinds"))).unwrap();
    let bad: Vec<&str> = frames
        .iter()
        .filter(|f| !f.good())
        .map(|f| &*f.kind)
        .collect();
    assert_eq!(kinds.lines().collect::<Vec<_>>(), bad, "{mode}: kinds file");
    assert_eq!(frames.len() - bad.len(), good);
    // Interleaved: every malformed frame right after a good one.
    for w in frames.windows(2) {
        if !w[1].good() {
            assert!(w[0].good(), "{mode}: {} follows {}", w[1].kind, w[0].kind);
        }
    }
    frames
}

/// The two corpora mixed: runs of one good frame and the malformed one after it, alternately
/// from each, so that each malformed frame still directly follows a good frame of its own kind.
fn mixed(a: Vec<Frame>, b: Vec<Frame>) -> Vec<Frame> {
    fn runs(v: Vec<Frame>) -> Vec<Vec<Frame>> {
        let mut out: Vec<Vec<Frame>> = Vec::new();
        for f in v {
            match out.last_mut() {
                Some(run) if !f.good() => run.push(f),
                _ => out.push(vec![f]),
            }
        }
        out
    }
    let (mut a, mut b) = (runs(a).into_iter(), runs(b).into_iter());
    let mut out = Vec::new();
    loop {
        let (x, y) = (a.next(), b.next());
        if x.is_none() && y.is_none() {
            return out;
        }
        out.extend(x.into_iter().flatten());
        out.extend(y.into_iter().flatten());
    }
}

/// What the general path does with a malformed NSH corpus frame before its hop is taken: the drop
/// reason, or `None` for the one kind that reaches the hop of SPI 100 SI 255 (an unknown inner
/// next protocol over either transport), whose fate is the scenario's.
fn nsh_reason(kind: &str) -> Option<&'static str> {
    Some(match kind {
        // Cut anywhere after the outer Ethernet header, the outer IPv4 total length lies.
        k if k.starts_with("trunc_") => "ipv4-malformed",
        "outer_ipv4_len_past_frame" => "ipv4-malformed",
        "outer_ipv4_bad_checksum" => "ipv4-bad-checksum",
        "stacked_vlans_3" | "eth_stacked_vlans_3" => "vlan-stack",
        "gpe_no_p_bit" => "gpe-no-p-bit",
        "gpe_next_proto_not_nsh" => "gpe-not-nsh",
        "eth_trunc_eth_only" | "eth_trunc_mid_nsh_base" | "eth_trunc_nsh_base_only" => {
            "nsh-truncated"
        }
        // Its MD type 1 length (6 words) runs past the frame.
        "eth_trunc_nsh_md1_context_cut" => "nsh-bad-length",
        "nsh_len_8_md1"
        | "nsh_len_2_md1"
        | "nsh_len_past_frame"
        | "eth_nsh_len_8_md1"
        | "eth_nsh_len_past_frame" => "nsh-bad-length",
        "md2_tlv_past_nsh_len" | "eth_md2_tlv_past_nsh_len" => "nsh-tlv-overrun",
        "md_type_0" | "md_type_f" | "eth_md_type_0" => "nsh-bad-md-type",
        "nsh_version_1" | "eth_nsh_version_1" => "nsh-bad-version",
        "ttl_0" | "ttl_1" | "eth_ttl_0" | "eth_ttl_1" => "nsh-ttl-expired",
        "si_0" | "eth_si_0" => "nsh-si-zero",
        "unknown_spi" | "eth_unknown_spi" => "nsh-unknown-path",
        "nsh_unknown_next_proto" | "eth_nsh_unknown_next_proto" => return None,
        k => panic!("NSH corpus kind {k} has no expected reason here"),
    })
}

/// What the general path does with a malformed plain corpus frame on a pipeline with our VTEP
/// 10.0.0.2 and the one classifier rule `src = "10.1.0.0/16"` (`sfc.unmatched` is "drop").
fn plain_reason(kind: &str) -> &'static str {
    match kind {
        "plain_runt_10" => "eth-truncated",
        // IPv4 is checked (for a VTEP destination) before the classifier sees it.
        "plain_eth_only"
        | "plain_trunc_mid_ipv4"
        | "plain_trunc_ipv4_only"
        | "plain_ihl_4"
        | "plain_ihl_15"
        | "plain_total_len_past_frame"
        | "plain_total_len_under_header"
        | "plain_version_6" => "ipv4-malformed",
        "plain_stacked_vlans_3" => "vlan-stack",
        // A well-formed IPv4 header of 22 bytes in all: no room for the ports, so no flow key,
        // which no rule matches.
        "plain_ports_cut" => "unmatched",
        "plain_unmatched_src" => "unmatched",
        "plain_udp_to_vtep_other_port" | "plain_tcp_to_vtep" | "plain_fragment_to_vtep" => {
            "not-for-us"
        }
        "plain_to_vtep_bad_checksum" => "ipv4-bad-checksum",
        "plain_to_vtep_udp_len_lie" => "udp-malformed",
        k => panic!("plain corpus kind {k} has no expected reason here"),
    }
}

/// What the hop of SPI 100 SI 255 (and the classifier's path) does in a scenario.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Hop {
    /// Re-encapsulated toward the remote SFF sff3.
    Transit,
    /// The end of the chain out of the exit `server`.
    End,
    /// Through the proxy toward the NSH-unaware SF on VLAN 10 of the same port.
    Proxy,
    /// Firewall, counter, then the end of the chain out of `server`.
    Chain,
}

/// Where a frame's NSH header starts (NSH over Ethernet or VXLAN-GPE over IPv4) and its length.
fn nsh_at(f: &[u8]) -> (usize, usize) {
    let at = if f[12..14] == [0x89, 0x4f] { 14 } else { 50 };
    (at, usize::from(f[at + 1] & 0x3f) * 4)
}

/// NSH TTL (RFC 8300 §2.2: the low 4 bits of byte 0 and the high 2 bits of byte 1).
fn ttl(h: &[u8]) -> u8 {
    ((h[0] & 0x0f) << 2) | (h[1] >> 6)
}

/// Checks one frame that left (`g`) against the corpus frame it came from.
fn check_forwarded(hop: Hop, f: &Frame, g: &[u8], i: usize) {
    let what = format!(
        "output frame {i} ({}, from a {} frame)",
        f.kind,
        if f.plain { "plain" } else { "NSH" }
    );
    let s = &f.data;
    if f.plain {
        match hop {
            Hop::Transit => {
                // Classified: VXLAN-GPE toward sff3, the path's NSH (SPI 100, SI 255, TTL 63,
                // MD type 1, next protocol Ethernet), the frame unchanged inside.
                assert_eq!(g.len(), 74 + s.len(), "{what}");
                assert_eq!(&g[0..6], &SFF3_MAC, "{what}");
                assert_eq!(&g[30..34], &[10, 0, 0, 3], "{what}");
                assert_eq!(&g[36..38], &4790u16.to_be_bytes(), "{what}");
                assert_eq!(g[51] & 0x3f, 6, "{what}: NSH length");
                assert_eq!(
                    (g[52] & 0x0f, g[53]),
                    (1, 3),
                    "{what}: MD type, next protocol"
                );
                assert_eq!(&g[54..58], &[0, 0, 100, 255], "{what}: SPI, SI");
                assert_eq!(ttl(&g[50..]), 63, "{what}");
                assert_eq!(&g[74..], &s[..], "{what}: inner frame");
            }
            Hop::Chain => {
                assert_eq!(&g[0..6], &SERVER_MAC, "{what}");
                assert_eq!(&g[6..12], &EXIT_SRC_MAC, "{what}");
                assert_eq!(&g[12..], &s[12..], "{what}");
            }
            _ => unreachable!("no classifier in {hop:?}"),
        }
        return;
    }
    let (at, len) = nsh_at(s);
    let inner = at + len;
    match hop {
        Hop::Transit => {
            // Outer headers toward sff3 (VXLAN-GPE whatever it came in), NSH TTL − 1, the rest of
            // NSH and the inner frame unchanged.
            assert_eq!(g.len(), 50 + s.len() - at, "{what}");
            assert_eq!(&g[0..6], &SFF3_MAC, "{what}");
            assert_eq!(&g[6..12], &LOCAL_MAC, "{what}");
            assert_eq!(&g[26..30], &[10, 0, 0, 2], "{what}");
            assert_eq!(&g[30..34], &[10, 0, 0, 3], "{what}");
            assert_eq!(&g[36..38], &4790u16.to_be_bytes(), "{what}");
            assert_eq!((ttl(&s[at..]), ttl(&g[50..])), (63, 62), "{what}");
            assert_eq!(g[50] & 0xf0, s[at] & 0xf0, "{what}: version, O bit");
            assert_eq!(g[51] & 0x3f, s[at + 1] & 0x3f, "{what}: NSH length");
            assert_eq!(&g[52..], &s[at + 2..], "{what}: NSH and inner frame");
        }
        Hop::End | Hop::Chain => {
            assert_eq!(&g[0..6], &SERVER_MAC, "{what}");
            assert_eq!(&g[6..12], &EXIT_SRC_MAC, "{what}");
            assert_eq!(&g[12..], &s[inner + 12..], "{what}: inner frame");
        }
        Hop::Proxy => {
            // The inner frame, tagged with VLAN 10 (its MACs kept: the SF has no MAC set).
            assert_eq!(&g[0..12], &s[inner..inner + 12], "{what}: MACs");
            assert_eq!(&g[12..16], &[0x81, 0, 0, 10], "{what}: VLAN 10 tag");
            assert_eq!(&g[16..], &s[inner + 12..], "{what}: inner frame");
        }
    }
}

/// Runs the corpus (the NSH one, mixed with the plain one when `classifier`) through one
/// scenario and checks every counter and every frame that leaves. Returns the summary.
fn run_scenario(name: &str, hop: Hop, classifier: bool, body: &str) -> serde_json::Value {
    let dir = scratch(&format!("sfc-corpus-{name}"));
    let d = dir.path();
    let mut frames = corpus(d, "malformed", GOOD_NSH, false);
    assert_eq!(frames.iter().filter(|f| !f.good()).count(), 42);
    if classifier {
        let plain = corpus(d, "malformed-plain", GOOD_PLAIN, true);
        assert_eq!(plain.iter().filter(|f| !f.good()).count(), 17);
        frames = mixed(frames, plain);
    }
    let (input, output) = (d.join("in.pcap"), d.join("out.pcap"));
    let data: Vec<Vec<u8>> = frames.iter().map(|f| f.data.clone()).collect();
    qdp::traffic::write_pcap(&input, &data).unwrap();

    // The expectation, frame by frame: a drop reason, or out (in order).
    let mut drops: BTreeMap<&str, u64> = BTreeMap::new();
    let mut out: Vec<&Frame> = Vec::new();
    for f in &frames {
        let reason = match (f.good(), f.plain) {
            (true, _) => None,
            (false, true) => Some(plain_reason(&f.kind)),
            (false, false) => nsh_reason(&f.kind).or(match hop {
                // Transit does not look past NSH: an unknown inner next protocol is forwarded to
                // the next SFF like a good frame (the end of the chain decides).
                Hop::Transit => None,
                // The end of the chain (directly, or after the firewall, which lets a packet
                // without a flow key through by its default, and the counter) cannot forward it.
                Hop::End | Hop::Chain => Some("nsh-unknown-next-protocol"),
                // The proxy has no Ethernet frame to hand to the SF.
                Hop::Proxy => Some("proxy-unsupported"),
            }),
        };
        match reason {
            Some(r) => *drops.entry(r).or_default() += 1,
            None => out.push(f),
        }
    }

    let prefix = format!("t-sfcc-{name}");
    let (run, summary) = qdp_run(d, &one_port(&prefix, &input, &output, body), 1.5);
    assert_success(&run);
    let w0 = |c: &str| counter(&summary, &["workers", "w0", c]);
    assert_eq!(
        w0("rx_packets"),
        frames.len() as u64,
        "every frame received"
    );
    for (reason, n) in &drops {
        assert_eq!(
            counter(&summary, &["workers", "w0", "drops", reason]),
            *n,
            "{name}: drops for {reason}"
        );
    }
    let all = summary["workers"]["w0"]["drops"].as_object().unwrap();
    let other: Vec<(&String, &serde_json::Value)> = all
        .iter()
        .filter(|(r, n)| !drops.contains_key(r.as_str()) && n.as_u64() != Some(0))
        .collect();
    assert!(
        other.is_empty(),
        "{name}: drops under other reasons: {other:?}"
    );
    let bad = frames.iter().filter(|f| !f.good()).count() as u64;
    let forwarded_bad = out.iter().filter(|f| !f.good()).count() as u64;
    assert_eq!(drops.values().sum::<u64>(), bad - forwarded_bad);

    let got = read_pcap(&output);
    // Nothing tagged BAD leaves but the frames the scenario forwards.
    let leaked: Vec<String> = got
        .iter()
        .filter_map(|g| {
            g.windows(3)
                .position(|w| w == b"BAD")
                .map(|i| String::from_utf8_lossy(&g[i..]).into_owned())
        })
        .collect();
    let expect_leaked: Vec<&str> = out.iter().filter(|f| !f.good()).map(|f| &*f.kind).collect();
    assert_eq!(leaked.len(), expect_leaked.len(), "{name}: {leaked:?}");
    for (l, k) in leaked.iter().zip(&expect_leaked) {
        assert!(l.starts_with(&format!("BAD{k}")), "{name}: {l:?} for {k}");
    }
    assert_eq!(got.len(), out.len(), "{name}: frames out");
    for (i, (f, g)) in out.iter().zip(&got).enumerate() {
        check_forwarded(hop, f, g, i);
    }
    assert_eq!(w0("tx_packets"), out.len() as u64);
    assert_eq!(w0("slow_path"), 0);
    assert_eq!(counter(&summary, &["mempools", "0", "free"]), 8191, "mbufs");
    summary
}

fn goods(classifier: bool) -> (u64, u64) {
    (
        GOOD_NSH as u64,
        if classifier { GOOD_PLAIN as u64 } else { 0 },
    )
}

#[test]
fn sff_transit_drops_the_corpus_by_reason() {
    let body = format!(
        "{VTEP}\n[[paths]]\nname = \"p100\"\nspi = 100\nhops = [{{ si = 255, sff = \"sff3\" }}]\n"
    );
    run_scenario("transit", Hop::Transit, false, &body);
}

#[test]
fn end_of_chain_drops_the_corpus_by_reason() {
    let body = format!(
        "{VTEP}\n[[paths]]\nname = \"p100\"\nspi = 100\nhops = [{{ si = 255, end = \"server\" }}]\n"
    );
    run_scenario("end", Hop::End, false, &body);
}

#[test]
fn sfc_proxy_drops_the_corpus_by_reason() {
    // The NSH-unaware SF on VLAN 10 of the one port: untagged frames stay the fast paths'. Frames
    // back from it would come in on that VLAN; none do here.
    let body = format!(
        "{VTEP}\n[[sfs]]\nname = \"legacy\"\nkind = \"proxy\"\nport = \"net\"\nvlan = 10\n\n\
         [[paths]]\nname = \"p100\"\nspi = 100\nhops = [{{ si = 255, sf = \"legacy\" }}, {{ si = 254, end = \"server\" }}]\n"
    );
    let summary = run_scenario("proxy", Hop::Proxy, false, &body);
    // The SF counts what reached it: the good frames and the two the proxy then refuses.
    assert_eq!(
        counter(&summary, &["sfs", "legacy", "packets"]),
        goods(false).0 + 2
    );
}

#[test]
fn classifier_encapsulation_drops_both_corpora_by_reason() {
    // Plain traffic onto the path toward sff3; NSH traffic of that path in transit to sff3 too.
    let body = format!(
        "{VTEP}\n[[paths]]\nname = \"p100\"\nspi = 100\nhops = [{{ si = 255, sff = \"sff3\" }}]\n\n\
         [[classifier]]\npriority = 100\nsrc = \"10.1.0.0/16\"\npath = \"p100\"\n"
    );
    run_scenario("encap", Hop::Transit, true, &body);
}

#[test]
fn demo_chain_drops_both_corpora_by_reason() {
    let body = format!(
        "{VTEP}\n[[sfs]]\nname = \"fw\"\nkind = \"firewall\"\nrules = [{{ protocol = \"tcp\", dst_ports = 23, action = \"deny\" }}]\n\n\
         [[sfs]]\nname = \"count\"\nkind = \"counter\"\n\n\
         [[paths]]\nname = \"p100\"\nspi = 100\nhops = [{{ si = 255, sf = \"fw\" }}, {{ si = 254, sf = \"count\" }}, {{ si = 253, end = \"server\" }}]\n\n\
         [[classifier]]\nsrc = \"10.1.0.0/16\"\npath = \"p100\"\n"
    );
    let summary = run_scenario("chain", Hop::Chain, true, &body);
    // Both SFs see every good frame of both corpora and the two NSH frames with an unknown inner
    // next protocol (dropped only at the end of the chain).
    let (nsh, plain) = goods(true);
    for sf in ["fw", "count"] {
        assert_eq!(
            counter(&summary, &["sfs", sf, "packets"]),
            nsh + plain + 2,
            "{sf}"
        );
    }
}
