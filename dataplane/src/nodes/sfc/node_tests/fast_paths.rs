//! The transit and classifier fast paths against the general path, byte for byte: good frames,
//! every single-byte change of their headers, truncations, padding, and frames of one path right
//! after another's.

use super::*;

/// Writes the right IPv4 header checksum into an untagged frame.
fn fix_ip_checksum(f: &mut [u8]) {
    f[24..26].copy_from_slice(&[0, 0]);
    let c = checksum::internet_checksum(&f[14..34]);
    f[24..26].copy_from_slice(&c.to_be_bytes());
}

/// The transit fast path forwards exactly what the general path forwards, byte for byte, and
/// leaves everything else to it: checked over good frames, every single-byte change of their
/// first 100 bytes (with and without a fixed-up IPv4 checksum), truncations and padding.
#[test]
fn transit_fast_path_matches_the_general_path() {
    // A classifier that sends flows over VXLAN-GPE to 10.0.0.2, MD1 and MD2.
    let enc = tables(
        r#"
[[vteps]]
name = "v"
port = "p1"
address = "10.0.0.1"
mac = "02:00:00:00:00:01"
[[neighbors]]
name = "sff2"
port = "p1"
address = "10.0.0.2"
mac = "02:00:00:00:00:02"
[[paths]]
name = "md1"
spi = 100
context = "00112233445566778899aabbccddeeff"
hops = [{ si = 255, sff = "sff2" }]
[[paths]]
name = "md2"
spi = 101
tlvs = [{ class = 0x0101, type = 2, value = "0a0b0c" }]
hops = [{ si = 255, sff = "sff2" }]
[[paths]]
name = "local"
spi = 102
hops = [{ si = 255, sff = "sff2" }]
[[paths]]
name = "end"
spi = 103
hops = [{ si = 255, sff = "sff2" }]
[[paths]]
name = "proxied"
spi = 104
hops = [{ si = 255, sff = "sff2" }]
[[classifier]]
priority = 0
dst_ports = "11"
path = "end"
[[classifier]]
priority = 0
dst_ports = "12"
path = "proxied"
[[classifier]]
priority = 1
dst_ports = "9"
path = "md2"
[[classifier]]
priority = 2
dst_ports = "10"
path = "local"
[[classifier]]
priority = 3
path = "md1"
"#,
    );
    // The transit SFF: 100 and 101 to the remote SFF 10.0.0.3, 102 through a built-in SF
    // and then out over Ethernet (both for the general path), 103 the end of the chain, 104
    // through a proxied SF on VLAN 10.
    let transit = r#"
[[vteps]]
name = "v"
port = "p0"
address = "10.0.0.2"
mac = "02:00:00:00:00:02"
[[vteps]]
name = "v1"
port = "p1"
address = "10.0.0.2"
mac = "02:00:00:00:00:02"
[[neighbors]]
name = "sff3"
port = "p1"
address = "10.0.0.3"
mac = "02:00:00:00:00:03"
vni = 77
[[neighbors]]
name = "eth"
port = "p2"
mac = "02:00:00:00:00:04"
[[sfs]]
name = "c"
kind = "counter"
[[paths]]
name = "a"
spi = 100
hops = [{ si = 255, sff = "sff3" }]
[[paths]]
name = "b"
spi = 101
hops = [{ si = 255, sff = "sff3" }]
[[paths]]
name = "c"
spi = 102
hops = [{ si = 255, sf = "c" }, { si = 254, sff = "eth" }]
[[exits]]
name = "x"
port = "p2"
dst_mac = "02:00:00:00:00:0b"
[[paths]]
name = "d"
spi = 103
hops = [{ si = 255, end = "x" }]
[[sfs]]
name = "legacy"
kind = "proxy"
port = "p2"
vlan = 10
[[paths]]
name = "e"
spi = 104
hops = [{ si = 255, sf = "legacy" }, { si = 254, end = "x" }]
"#;
    let t = tables(transit);
    let mut est = enc.new_state();
    let mut good = Vec::new();
    for i in 0..10u32 {
        let mut f = frame(i, false);
        f[36..38].copy_from_slice(&(8 + (i as u16 % 5)).to_be_bytes());
        let mut p = VecPacket::new(&f);
        assert_eq!(enc.process(&mut est, &mut p, 0), Verdict::Tx(1));
        good.push(p.data().to_vec());
    }
    let (mut fast_st, mut slow_st) = (t.new_state(), t.new_state());
    let mut fast_taken = 0;
    let mut check = |f: &[u8]| {
        let mut a = VecPacket::new(f);
        let mut b = VecPacket::new(f);
        let mut probe = VecPacket::new(f);
        // The probe's SF count is not kept: `process` below counts the frame.
        let counted = fast_st.sf_packets.clone();
        let vp = t.transit_packet(&mut fast_st, &mut probe, 0);
        fast_st.sf_packets = counted;
        let va = t.process(&mut fast_st, &mut a, 0);
        let vb = t.process_general(&mut slow_st, &mut b, 0, &mut NoTrace);
        assert_eq!(va, vb, "verdict for {f:02x?}");
        if matches!(va, Verdict::Tx(_)) {
            assert_eq!(a.data(), b.data(), "bytes for {f:02x?}");
        }
        // The fast path on its own, with the memo as the frame before left it.
        if let Some(vp) = vp {
            fast_taken += 1;
            assert_eq!(vp, vb, "fast-path verdict for {f:02x?}");
            assert_eq!(probe.data(), b.data(), "fast-path bytes for {f:02x?}");
        }
    };
    for g in &good {
        check(g);
        for pos in 0..100.min(g.len()) {
            for v in [
                0u8,
                1,
                0x40,
                0xff,
                g[pos] ^ 1,
                g[pos] ^ 0x80,
                g[pos].wrapping_sub(1),
            ] {
                let mut f = g.clone();
                f[pos] = v;
                check(&f);
                // The same change with a correct IPv4 header checksum.
                if (14..34).contains(&pos) {
                    fix_ip_checksum(&mut f);
                    check(&f);
                }
            }
        }
        for cut in 0..g.len() {
            check(&g[..cut]);
        }
        for pad in 1..9 {
            let mut f = g.clone();
            f.extend(std::iter::repeat_n(0u8, pad));
            check(&f);
        }
    }
    // Right after a good frame of one path, a frame of another (or the same) path with one byte
    // changed: a signature equal but for the SPI and SI stands for none of its other checks.
    for g in &good {
        for h in &good {
            for pos in 0..100.min(h.len()) {
                for v in [0u8, 0xff, h[pos] ^ 1] {
                    let mut f = h.clone();
                    f[pos] = v;
                    check(g);
                    check(&f);
                    if (14..34).contains(&pos) {
                        fix_ip_checksum(&mut f);
                        check(g);
                        check(&f);
                    }
                }
            }
            // NSH TTL 0, 1 and 2 (six bits across bytes 50 and 51).
            for ttl in 0u8..3 {
                let mut f = h.clone();
                f[50] = (f[50] & 0xf0) | (ttl >> 2);
                f[51] = (f[51] & 0x3f) | ((ttl & 3) << 6);
                check(g);
                check(&f);
            }
        }
    }
    // Good frames and their harmless variants took the fast path.
    assert!(fast_taken > 6 * 20, "fast path taken {fast_taken} times");
    assert_eq!(fast_st.sf_packets, slow_st.sf_packets);
    // The end of a chain is taken too: outer headers and NSH popped, the exit's MACs.
    let mut st = t.new_state();
    for _ in 0..2 {
        let mut p = VecPacket::new(&good[3]);
        assert_eq!(t.transit_packet(&mut st, &mut p, 0), Some(Verdict::Tx(2)));
        assert_eq!(p.data().len(), good[3].len() - 74);
        assert_eq!(p.data()[..6], [2, 0, 0, 0, 0, 0x0b]);
    }
    // So is the way to a proxied SF: outer headers and NSH popped, the frame tagged with the
    // SF's VLAN, the SF's packets counted.
    let mut st = t.new_state();
    for _ in 0..2 {
        let mut p = VecPacket::new(&good[4]);
        assert_eq!(t.transit_packet(&mut st, &mut p, 0), Some(Verdict::Tx(2)));
        assert_eq!(p.data().len(), good[4].len() - 74 + 4);
        assert_eq!(p.data()[12..16], [0x81, 0, 0, 10]);
    }
    assert_eq!(st.sf_packets.iter().sum::<u64>(), 2);
    // Beyond the ports it knows, the fast path steps aside.
    let mut st = t.new_state();
    assert!(t.transit(&mut st, &mut good[0].clone(), 0).is_some());
    assert!(t.transit(&mut st, &mut good[0].clone(), 64).is_none());
    // A memo made by a good packet lets through no packet of the same path that fails a
    // per-packet check: IPv4 header checksum, lengths, NSH TTL; nor, on an MD type 2 path,
    // one whose TLVs overrun.
    let mut st = t.new_state();
    let (md1, md2) = (&good[0], &good[1]);
    assert_eq!(md1[52] & 0x0f, 1);
    assert_eq!(md2[52] & 0x0f, 2);
    let with = |g: &Vec<u8>, f: &dyn Fn(&mut Vec<u8>)| {
        let mut v = g.clone();
        f(&mut v);
        v
    };
    let ip_len = |v: &mut Vec<u8>, delta: i32| {
        let l = u16::from_be_bytes([v[16], v[17]]) as i32 + delta;
        v[16..18].copy_from_slice(&(l as u16).to_be_bytes());
        fix_ip_checksum(v);
    };
    // RFC 8300 §2.2: TTL is the low 4 bits of byte 0 and the high 2 bits of byte 1.
    let set_ttl = |v: &mut Vec<u8>, ttl: u8| {
        v[50] = (v[50] & 0xf0) | (ttl >> 2);
        v[51] = (ttl << 6) | (v[51] & 0x3f);
    };
    let refused = [
        with(md1, &|v| v[25] ^= 1),
        with(md1, &|v| ip_len(v, 1)),
        with(md1, &|v| ip_len(v, -(v.len() as i32 - 14 - 27))),
        with(md1, &|v| v[38..40].copy_from_slice(&[0, 7])),
        with(md1, &|v| v[38..40].copy_from_slice(&[0xff, 0xff])),
        with(md1, &|v| set_ttl(v, 1)),
        with(md1, &|v| set_ttl(v, 0)),
        with(md1, &|v| v.truncate(73)),
    ];
    for f in &refused {
        assert!(t.transit(&mut st, &mut md1.clone(), 0).is_some());
        assert_eq!(t.transit(&mut st, &mut f.clone(), 0), None, "{f:02x?}");
    }
    // MD type 2: the TLV's length grown past the end of the header.
    let overrun = with(md2, &|v| v[61] = 0x7f);
    assert!(t.transit(&mut st, &mut md2.clone(), 0).is_some());
    assert!(t.transit(&mut st, &mut md2.clone(), 0).is_some());
    assert_eq!(t.transit(&mut st, &mut overrun.clone(), 0), None);
    // New tables (the next SFF moved to another MAC and VNI) rule from the first packet a
    // worker sends with them: the state it carries over remembers no old decision.
    let t2 = tables(
        &transit
            .replace("02:00:00:00:00:03", "02:00:00:00:00:33")
            .replace("vni = 77", "vni = 78"),
    );
    let mut st = t2.carry_state(st, &t, 0);
    let mut f = good[0].clone();
    assert_eq!(t2.transit(&mut st, &mut f, 0), Some(1));
    assert_eq!(f[0..6], [2, 0, 0, 0, 0, 0x33]);
    let gpe = vxlan_gpe::Packet::new_checked(&f[42..]).unwrap();
    assert_eq!(gpe.vni(), 78);
}

/// The classifier's fast path does what the general path does, verdict, bytes and counts, and
/// leaves everything else to it: over paths whose first hop it takes (VXLAN-GPE over IPv4 with
/// MD type 1 and 2, NSH over Ethernet, a lone remote SF) and those it does not (a built-in SF, a
/// group, an IPv6 neighbour), exits, drops and unmatched traffic; every single-byte change of
/// the first 60 bytes of good frames, truncations, padding, traffic to our own addresses and
/// VTEPs, and new tables carried over.
#[test]
fn classifier_fast_path_matches_the_general_path() {
    let body = r#"
[[vteps]]
name = "v"
port = "p1"
address = "10.0.0.1"
mac = "02:00:00:00:00:01"
[[vteps]]
name = "v6"
port = "p1"
address = "fd00::1"
mac = "02:00:00:00:00:01"
[[neighbors]]
name = "sff2"
port = "p1"
address = "10.0.0.2"
mac = "02:00:00:00:00:02"
[[neighbors]]
name = "sff6"
port = "p1"
address = "fd00::2"
mac = "02:00:00:00:00:06"
[[neighbors]]
name = "eth"
port = "p2"
mac = "02:00:00:00:00:04"
[[neighbors]]
name = "r1"
port = "p2"
mac = "02:00:00:00:00:05"
[[sfs]]
name = "remote"
kind = "remote"
neighbor = "r1"
[[sfs]]
name = "c"
kind = "counter"
[[exits]]
name = "x"
port = "p2"
dst_mac = "02:00:00:00:00:0b"
[[exits]]
name = "rest"
port = "p1"
[[paths]]
name = "md1"
spi = 100
context = "00112233445566778899aabbccddeeff"
hops = [{ si = 255, sff = "sff2" }]
[[paths]]
name = "md2"
spi = 101
tlvs = [{ class = 0x0101, type = 2, value = "0a0b0c" }]
hops = [{ si = 200, sff = "sff2" }]
[[paths]]
name = "ether"
spi = 102
hops = [{ si = 255, sff = "eth" }]
[[paths]]
name = "sf"
spi = 103
hops = [{ si = 255, sf = "remote" }, { si = 254, end = "x" }]
[[paths]]
name = "builtin"
spi = 104
hops = [{ si = 255, sf = "c" }, { si = 254, end = "x" }]
[[paths]]
name = "six"
spi = 105
hops = [{ si = 255, sff = "sff6" }]
[[classifier]]
priority = 1
dst_ports = "5001"
src = "10.1.0.1/32"
path = "md2"
[[classifier]]
priority = 2
src = "10.1.0.2/32"
path = "ether"
[[classifier]]
priority = 3
src = "10.1.0.3/32"
path = "sf"
[[classifier]]
priority = 4
src = "10.1.0.4/32"
path = "builtin"
[[classifier]]
priority = 5
src = "10.1.0.5/32"
path = "six"
[[classifier]]
priority = 6
src = "10.1.0.6/32"
exit = "x"
[[classifier]]
priority = 7
src = "10.1.0.7/32"
action = "drop"
[[classifier]]
priority = 8
protocol = "tcp"
path = "md1"
[[classifier]]
priority = 9
src = "10.1.0.0/29"
path = "md1"
"#;
    let run = |body: &str, unmatched: bool| {
        let body = if unmatched {
            format!("[sfc]\nunmatched = \"rest\"\n{body}")
        } else {
            body.to_string()
        };
        let t = tables(&body);
        assert!(t.starts.iter().filter(|s| s.is_some()).count() == 4);
        let mut good: Vec<Vec<u8>> = (0..10).map(|i| frame(i, false)).collect();
        // TCP, to a probe's port on one of our addresses, ICMP to it, UDP to a VTEP.
        let mut tcp = frame(0, false);
        tcp[23] = 6;
        good.push(tcp.clone());
        let ours = |mut f: Vec<u8>, proto: u8, dport: u16| {
            f[23] = proto;
            f[30..34].copy_from_slice(&[10, 0, 0, 1]);
            f[36..38].copy_from_slice(&dport.to_be_bytes());
            f
        };
        good.push(ours(frame(1, false), 6, crate::slowpath::PROBE_ID_BASE + 1));
        good.push(ours(frame(1, false), 1, 0));
        good.push(ours(frame(1, false), 17, 4790));
        let (mut fast_st, mut slow_st, mut probe_st) =
            (t.new_state(), t.new_state(), t.new_state());
        let mut taken = 0;
        let mut check = |f: &[u8]| {
            let mut a = VecPacket::new(f);
            let mut b = VecPacket::new(f);
            // Twice: the first decides, the second reads the cached decision.
            for _ in 0..2 {
                let mut probe = VecPacket::new(f);
                if t.classify_fast(&mut probe_st, &mut probe, 0).is_some() {
                    taken += 1;
                }
            }
            let va = t.process(&mut fast_st, &mut a, 0);
            let vb = t.process_general(&mut slow_st, &mut b, 0, &mut NoTrace);
            assert_eq!(va, vb, "verdict for {f:02x?}");
            if matches!(va, Verdict::Tx(_)) {
                assert_eq!(a.data(), b.data(), "bytes for {f:02x?}");
            }
        };
        for g in &good {
            check(g);
            for pos in 0..60.min(g.len()) {
                for v in [0u8, 1, 6, 17, 0x40, 0x45, 0xff, g[pos] ^ 1, g[pos] ^ 0x80] {
                    let mut f = g.clone();
                    f[pos] = v;
                    check(&f);
                }
            }
            for cut in 0..g.len() {
                check(&g[..cut]);
            }
            for pad in 1..5 {
                let mut f = g.clone();
                f.extend(std::iter::repeat_n(0u8, pad));
                check(&f);
            }
        }
        // The fast path took good frames and their harmless variants; counts agree (the remote
        // SF's packets, the classifier cache's answers).
        assert!(taken > 10 * 100, "fast path taken {taken} times");
        assert_eq!(fast_st.sf_packets, slow_st.sf_packets);
        assert!(fast_st.sf_packets.iter().any(|&n| n > 0));
        // Another port of the same tables, and one beyond them: stepped aside or decided anew.
        let mut p = VecPacket::new(&good[0]);
        assert_eq!(t.classify_fast(&mut fast_st, &mut p, 64), None);
        // New tables (sff2 moved to another MAC) rule from the first packet.
        let t2 = tables(&body.replace("02:00:00:00:00:02", "02:00:00:00:00:22"));
        let mut st = t2.carry_state(fast_st, &t, 0);
        let mut p = VecPacket::new(&good[0]);
        assert_eq!(t2.process(&mut st, &mut p, 0), Verdict::Tx(1));
        assert_eq!(p.data()[0..6], [2, 0, 0, 0, 0, 0x22]);
    };
    run(body, false);
    run(body, true);
}
