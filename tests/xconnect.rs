//! Cross-connect over real DPDK pcap devices: frames built by scapy go in, the pcap the PMD writes
//! comes out, tshark dissects it.

mod common;

use common::*;

/// One flow-tagged frame: (flow id, sequence number) from the payload scapy_gen.py wrote.
fn tag(frame: &[u8]) -> (u32, u32) {
    let at = frame
        .windows(3)
        .position(|w| w == b"QDP")
        .expect("frame carries a QDP tag");
    let f = u32::from_be_bytes(frame[at + 3..at + 7].try_into().unwrap());
    let s = u32::from_be_bytes(frame[at + 7..at + 11].try_into().unwrap());
    (f, s)
}

/// A pipeline forwarding a pcap file (port `in`) into another (port `out`), with `rewrite` added
/// to the cross-connect (e.g. an `a_to_b = {...}` line).
fn pcap_to_pcap(
    prefix: &str,
    input: &std::path::Path,
    output: &std::path::Path,
    rewrite: &str,
) -> String {
    format!(
        "{}\n[[ports]]\nname = \"in\"\nvdev = \"net_pcap0,rx_pcap={}\"\n\n[[ports]]\nname = \"out\"\nvdev = \"net_pcap1,tx_pcap={}\"\nrx_queues = 0\n\n[[workers]]\nname = \"w0\"\ncore = 1\nrx = [\"in:0\"]\n\n[[cross_connect]]\na = \"in\"\nb = \"out\"\n{rewrite}\n",
        eal_section(prefix),
        input.display(),
        output.display()
    )
}

#[test]
fn pcap_in_xconnect_pcap_out_is_byte_identical() {
    let dir = scratch("xc-identical");
    let input = dir.path().join("in.pcap");
    let output = dir.path().join("out.pcap");
    scapy(&[
        "flows",
        input.to_str().unwrap(),
        "--flows",
        "16",
        "--per-flow",
        "32",
        "--size",
        "128",
    ]);
    let pipeline = pcap_to_pcap("t-xc-ident", &input, &output, "");
    let (out, summary) = qdp_run(dir.path(), &pipeline, 1.5);
    assert_success(&out);
    let sent = read_pcap(&input);
    let got = read_pcap(&output);
    assert_eq!(sent.len(), 512);
    assert_eq!(got.len(), sent.len(), "frame count");
    for (i, (a, b)) in sent.iter().zip(&got).enumerate() {
        assert_eq!(a, b, "frame {i} differs");
    }
    assert_eq!(counter(&summary, &["ports", "in", "ipackets"]), 512);
    assert_eq!(counter(&summary, &["ports", "out", "opackets"]), 512);
    assert_eq!(counter(&summary, &["workers", "w0", "rx_packets"]), 512);
    assert_eq!(counter(&summary, &["workers", "w0", "tx_packets"]), 512);
    assert_eq!(counter(&summary, &["workers", "w0", "tx_bytes"]), 512 * 128);
    assert_eq!(counter(&summary, &["workers", "w0", "drops", "tx-full"]), 0);
    // No mbuf leaked.
    assert_eq!(counter(&summary, &["mempools", "0", "free"]), 8191);
}

#[test]
fn mac_rewrite_changes_exactly_the_configured_addresses() {
    let dir = scratch("xc-rewrite");
    let input = dir.path().join("in.pcap");
    let output = dir.path().join("out.pcap");
    scapy(&[
        "flows",
        input.to_str().unwrap(),
        "--flows",
        "4",
        "--per-flow",
        "8",
    ]);
    let pipeline = pcap_to_pcap(
        "t-xc-rw",
        &input,
        &output,
        r#"a_to_b = { dst_mac = "02:aa:bb:cc:dd:ee", src_mac = "02:11:22:33:44:55" }"#,
    );
    let (out, summary) = qdp_run(dir.path(), &pipeline, 1.5);
    assert_success(&out);
    let sent = read_pcap(&input);
    let got = read_pcap(&output);
    assert_eq!(got.len(), sent.len());
    for (a, b) in sent.iter().zip(&got) {
        assert_eq!(&b[0..6], &[0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee]);
        assert_eq!(&b[6..12], &[0x02, 0x11, 0x22, 0x33, 0x44, 0x55]);
        assert_eq!(&a[12..], &b[12..], "only the MACs may change");
    }
    // tshark, an independent dissector, agrees.
    let lines = tshark_fields(&output, &["eth.dst", "eth.src", "udp.dstport"]);
    assert_eq!(lines.len(), 32);
    for l in lines {
        assert_eq!(l, "02:aa:bb:cc:dd:ee\t02:11:22:33:44:55\t5001");
    }
    assert_eq!(counter(&summary, &["ports", "out", "opackets"]), 32);
}

#[test]
fn two_ports_each_way_two_queues_lose_duplicate_and_reorder_nothing() {
    let dir = scratch("xc-2x2");
    let d = dir.path();
    let p = |n: &str| d.join(n).to_str().unwrap().to_string();
    // Distinct flows per (port, queue), as RSS would spread them.
    scapy(&[
        "flows",
        &p("a0.pcap"),
        "--flows",
        "8",
        "--per-flow",
        "50",
        "--flow-base",
        "0",
    ]);
    scapy(&[
        "flows",
        &p("a1.pcap"),
        "--flows",
        "8",
        "--per-flow",
        "50",
        "--flow-base",
        "100",
    ]);
    scapy(&[
        "flows",
        &p("b0.pcap"),
        "--flows",
        "8",
        "--per-flow",
        "50",
        "--flow-base",
        "200",
        "--size",
        "90",
    ]);
    scapy(&[
        "flows",
        &p("b1.pcap"),
        "--flows",
        "8",
        "--per-flow",
        "50",
        "--flow-base",
        "300",
        "--size",
        "90",
    ]);
    let pipeline = format!(
        "{}\n[[ports]]\nname = \"a\"\nvdev = \"net_pcap0,rx_pcap={},rx_pcap={},tx_pcap={},tx_pcap={}\"\nrx_queues = 2\n\n[[ports]]\nname = \"b\"\nvdev = \"net_pcap1,rx_pcap={},rx_pcap={},tx_pcap={},tx_pcap={}\"\nrx_queues = 2\n\n[[workers]]\nname = \"w0\"\ncore = 1\nrx = [\"a:0\", \"b:0\"]\n\n[[workers]]\nname = \"w1\"\ncore = 0\nrx = [\"a:1\", \"b:1\"]\n\n[[cross_connect]]\na = \"a\"\nb = \"b\"\n",
        eal_section("t-xc-2x2"),
        p("a0.pcap"),
        p("a1.pcap"),
        p("ao0.pcap"),
        p("ao1.pcap"),
        p("b0.pcap"),
        p("b1.pcap"),
        p("bo0.pcap"),
        p("bo1.pcap"),
    );
    let (out, summary) = qdp_run(d, &pipeline, 2.0);
    assert_success(&out);
    // What entered a left through b (on either tx queue), and the reverse.
    for (ins, outs) in [
        (["a0.pcap", "a1.pcap"], ["bo0.pcap", "bo1.pcap"]),
        (["b0.pcap", "b1.pcap"], ["ao0.pcap", "ao1.pcap"]),
    ] {
        let mut sent: Vec<Vec<u8>> = ins.iter().flat_map(|f| read_pcap(&d.join(f))).collect();
        let received: Vec<Vec<Vec<u8>>> = outs.iter().map(|f| read_pcap(&d.join(f))).collect();
        let mut got: Vec<Vec<u8>> = received.iter().flatten().cloned().collect();
        assert_eq!(got.len(), sent.len(), "{ins:?} -> {outs:?}: count");
        sent.sort();
        got.sort();
        assert_eq!(got, sent, "{ins:?} -> {outs:?}: lost or duplicated frames");
        // Within a flow, order is kept.
        for q in &received {
            let mut last: std::collections::HashMap<u32, u32> = Default::default();
            for f in q {
                let (flow, seq) = tag(f);
                if let Some(prev) = last.insert(flow, seq) {
                    assert!(seq > prev, "flow {flow}: seq {seq} after {prev}");
                }
            }
        }
    }
    assert_eq!(counter(&summary, &["ports", "a", "ipackets"]), 800);
    assert_eq!(counter(&summary, &["ports", "b", "opackets"]), 800);
    assert_eq!(counter(&summary, &["ports", "b", "ipackets"]), 800);
    assert_eq!(counter(&summary, &["ports", "a", "opackets"]), 800);
    let w0 = counter(&summary, &["workers", "w0", "tx_packets"]);
    let w1 = counter(&summary, &["workers", "w1", "tx_packets"]);
    assert_eq!((w0, w1), (800, 800), "each worker forwards its own queues");
    assert_eq!(counter(&summary, &["mempools", "0", "free"]), 8191);
}

#[test]
fn runts_are_dropped_and_counted_while_good_frames_pass() {
    let dir = scratch("xc-runt");
    let input = dir.path().join("in.pcap");
    let output = dir.path().join("out.pcap");
    scapy(&["runts", input.to_str().unwrap(), "--count", "16"]);
    let pipeline = pcap_to_pcap(
        "t-xc-runt",
        &input,
        &output,
        r#"a_to_b = { dst_mac = "02:aa:bb:cc:dd:ee" }"#,
    );
    let (out, summary) = qdp_run(dir.path(), &pipeline, 1.5);
    assert_success(&out);
    let got = read_pcap(&output);
    let seqs: Vec<u32> = got.iter().map(|f| tag(f).1).collect();
    assert_eq!(seqs, (0..16).collect::<Vec<_>>(), "good frames, in order");
    assert_eq!(counter(&summary, &["workers", "w0", "drops", "runt"]), 4);
    assert_eq!(counter(&summary, &["workers", "w0", "rx_packets"]), 20);
    assert_eq!(counter(&summary, &["workers", "w0", "tx_packets"]), 16);
    assert_eq!(counter(&summary, &["mempools", "0", "free"]), 8191);
}
