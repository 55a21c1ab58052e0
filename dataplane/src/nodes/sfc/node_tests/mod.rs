//! The SFC nodes against hand-made frames and each other: groups, the proxy, the IPv6 underlay,
//! RFC 8300's TTL and SI rules, unmatched traffic; the fast paths against the general path are in
//! [`fast_paths`].
use super::*;
use crate::nodes::trace::NoTrace;
use crate::nodes::Verdict;
use crate::packet::VecPacket;
use crate::slowpath::SlowReason;
use crate::stats::DropReason;
use crate::traffic::udp_frames;
use crate::wire::{checksum, ipv6, nsh, udp, vxlan_gpe, NshMetadata, NshNextProtocol, NshRepr};

mod fast_paths;

const ETHERTYPE_NSH: [u8; 2] = [0x89, 0x4f];
const ETHERTYPE_IPV6: [u8; 2] = [0x86, 0xdd];

const PORT_MACS: [[u8; 6]; 3] = [
    [2, 0, 0, 0, 0, 0xa0],
    [2, 0, 0, 0, 0, 0xa1],
    [2, 0, 0, 0, 0, 0xa2],
];

fn tables(body: &str) -> SfcTables {
    let p = crate::testing::null_ports_pipeline(&["p0", "p1", "p2"], body);
    crate::compile::sfc_tables(&p, &PORT_MACS, None).unwrap()
}

/// A plain UDP frame of flow `i` (as `traffic::udp_frames` makes them), optionally reversed.
fn frame(i: u32, reversed: bool) -> Vec<u8> {
    let mut f = udp_frames(i + 1, 60).pop().unwrap();
    if reversed {
        let (src, dst) = (f[26..30].to_vec(), f[30..34].to_vec());
        f[26..30].copy_from_slice(&dst);
        f[30..34].copy_from_slice(&src);
        let (sp, dp) = (f[34..36].to_vec(), f[36..38].to_vec());
        f[34..36].copy_from_slice(&dp);
        f[36..38].copy_from_slice(&sp);
    }
    f
}

const GROUP: &str = r#"
[[neighbors]]
name = "ids-a"
port = "p1"
mac = "02:00:00:00:0a:0a"
[[neighbors]]
name = "ids-b"
port = "p1"
mac = "02:00:00:00:0b:0b"
[[sfs]]
name = "ids1"
kind = "remote"
neighbor = "ids-a"
[[sfs]]
name = "ids2"
kind = "remote"
neighbor = "ids-b"
DOWN
[[sfs]]
name = "ids"
kind = "group"
members = ["ids1", "ids2"]
[[exits]]
name = "server"
port = "p2"
[[exits]]
name = "client"
port = "p0"
[[paths]]
name = "fwd"
spi = 1
reverse = "back"
hops = [{ si = 255, sf = "ids" }, { si = 254, end = "server" }]
[[paths]]
name = "back"
spi = 2
hops = [{ si = 255, sf = "ids" }, { si = 254, end = "client" }]
[[classifier]]
in_port = "p0"
src = "10.1.0.0/16"
path = "fwd"
"#;

/// The instance (its MAC) a frame is sent to, checking it travels on path `spi`.
fn instance_of(t: &SfcTables, st: &mut SfcState, f: &[u8], in_port: usize, spi: u32) -> [u8; 6] {
    let mut p = VecPacket::new(f);
    assert_eq!(t.process(st, &mut p, in_port), Verdict::Tx(1));
    assert_eq!(&p.data()[12..14], &ETHERTYPE_NSH);
    assert_eq!(
        nsh::Packet::new_checked(&p.data()[14..]).unwrap().spi(),
        spi
    );
    p.data()[0..6].try_into().unwrap()
}

#[test]
fn groups_keep_both_directions_on_one_instance_and_skip_down_ones() {
    let t = tables(&GROUP.replace("DOWN", ""));
    let mut st = t.new_state();
    let mut first = Vec::new();
    for i in 0..64 {
        let fwd = instance_of(&t, &mut st, &frame(i, false), 0, 1);
        // The reverse direction arrives where the forward one leaves (the server's port) and
        // is classified onto the reverse path.
        let back = instance_of(&t, &mut st, &frame(i, true), 2, 2);
        assert_eq!(fwd, back, "flow {i}: both directions on one instance");
        first.push(fwd);
    }
    let on_a = first.iter().filter(|m| m[4] == 0x0a).count();
    assert!((16..=48).contains(&on_a), "spread: {on_a} of 64 on ids1");

    let t = tables(&GROUP.replace("DOWN", "down = true"));
    let mut st = t.new_state();
    for (i, before) in first.iter().enumerate() {
        let now = instance_of(&t, &mut st, &frame(i as u32, false), 0, 1);
        assert_eq!(now[4], 0x0a, "flow {i} must move to the healthy instance");
        if before[4] == 0x0a {
            assert_eq!(
                &now, before,
                "flow {i} was on the healthy instance and must stay"
            );
        }
    }
}

const PROXIED: &str = r#"
[[sfs]]
name = "legacy"
kind = "proxy"
port = "p2"
vlan = 100
mac = "02:00:00:00:0c:0c"
[[neighbors]]
name = "next"
port = "p1"
mac = "02:00:00:00:0d:0d"
[[paths]]
name = "p"
spi = 33
context = "ffeeddccbbaa99887766554433221100"
hops = [{ si = 10, sf = "legacy" }, { si = 9, sff = "next" }]
[[classifier]]
in_port = "p0"
path = "p"
"#;

#[test]
fn proxy_strips_nsh_and_restores_it_with_si_minus_one() {
    let t = tables(PROXIED);
    let mut st = t.new_state();
    let original = frame(3, false);
    let mut p = VecPacket::new(&original);
    assert_eq!(t.process(&mut st, &mut p, 0), Verdict::Tx(2));
    // Out to the SF: the inner frame, tagged with VLAN 100, to the SF's MAC.
    let d = p.data().to_vec();
    assert_eq!(&d[0..6], &[2, 0, 0, 0, 0x0c, 0x0c]);
    assert_eq!(&d[6..12], &original[6..12]);
    assert_eq!(&d[12..16], &[0x81, 0x00, 0x00, 100]);
    assert_eq!(&d[16..], &original[12..]);
    // Back from the SF on the same port and VLAN: NSH restored, SI 9, on to the next SFF.
    let mut back = VecPacket::new(&d);
    assert_eq!(t.process(&mut st, &mut back, 2), Verdict::Tx(1));
    let b = back.data();
    assert_eq!(&b[12..14], &ETHERTYPE_NSH);
    let h = nsh::Packet::new_checked(&b[14..]).unwrap();
    assert_eq!((h.spi(), h.si()), (33, 9));
    assert_eq!(h.md1_context().unwrap()[0], 0xff);
    assert_eq!(
        h.payload(),
        &d[..12].iter().chain(&d[16..]).copied().collect::<Vec<_>>()[..]
    );
    // A frame of an unknown flow from the SF is dropped and counted.
    let mut stranger = VecPacket::new(&{
        let mut f = frame(9, false);
        f.splice(12..12, [0x81, 0x00, 0x00, 100]);
        f
    });
    assert_eq!(
        t.process(&mut st, &mut stranger, 2),
        Verdict::Drop(DropReason::ProxyNoState)
    );
}

#[test]
fn a_frame_back_from_the_sf_finds_its_header_on_another_worker() {
    let t = tables(PROXIED);
    let flows = ProxyFlows::new(2, 64);
    let (mut w0, mut w1) = (t.new_worker_state(&flows, 0), t.new_worker_state(&flows, 1));
    for i in 0..16 {
        let mut p = VecPacket::new(&frame(i, false));
        assert_eq!(t.process(&mut w0, &mut p, 0), Verdict::Tx(2));
        // The SF's answer reaches worker 1 (another queue of the SF's port).
        let mut back = VecPacket::new(p.data());
        assert_eq!(t.process(&mut w1, &mut back, 2), Verdict::Tx(1), "flow {i}");
        let h = nsh::Packet::new_checked(&back.data()[14..]).unwrap();
        assert_eq!((h.spi(), h.si()), (33, 9));
        assert_eq!(h.md1_context().unwrap()[0], 0xff);
    }
    // Workers whose headers are not shared (each a lone worker) lose such a frame.
    let (mut alone0, mut alone1) = (t.new_state(), t.new_state());
    let mut p = VecPacket::new(&frame(1, false));
    assert_eq!(t.process(&mut alone0, &mut p, 0), Verdict::Tx(2));
    let mut back = VecPacket::new(p.data());
    assert_eq!(
        t.process(&mut alone1, &mut back, 2),
        Verdict::Drop(DropReason::ProxyNoState)
    );
}

#[test]
fn ipv6_underlay_carries_a_udp_checksum() {
    let t = tables(
        r#"
[[vteps]]
name = "v6"
port = "p1"
address = "fd00::2"
mac = "02:00:00:00:00:02"
[[neighbors]]
name = "peer"
port = "p1"
address = "fd00::3"
mac = "02:00:00:00:00:03"
[[paths]]
name = "p"
spi = 5
hops = [{ si = 255, sff = "peer" }]
[[classifier]]
path = "p"
"#,
    );
    let mut st = t.new_state();
    let mut p = VecPacket::new(&frame(1, false));
    assert_eq!(t.process(&mut st, &mut p, 0), Verdict::Tx(1));
    let d = p.data();
    assert_eq!(&d[12..14], &ETHERTYPE_IPV6);
    let ip = ipv6::Packet::new_checked(&d[14..]).unwrap();
    let u = udp::Packet::new_checked(ip.payload()).unwrap();
    assert_eq!(u.dst_port(), 4790);
    assert_ne!(u.checksum(), 0);
    assert!(u.verify_checksum_ipv6(&ip.src_addr(), &ip.dst_addr()));
    // And it comes back in: VXLAN-GPE over IPv6 to our VTEP reaches the SFF.
    let mut back = d.to_vec();
    back[14 + 8..14 + 24].copy_from_slice(&d[14 + 24..14 + 40]);
    back[14 + 24..14 + 40].copy_from_slice(&d[14 + 8..14 + 24]);
    let mut again = VecPacket::new(&back);
    assert_eq!(t.process(&mut st, &mut again, 1), Verdict::Tx(1));
}

#[test]
fn ttl_and_si_rules_of_rfc_8300() {
    let t = tables(
        r#"
[[exits]]
name = "x"
port = "p2"
[[sfs]]
name = "c"
kind = "counter"
[[paths]]
name = "p"
spi = 6
hops = [{ si = 2, sf = "c" }, { si = 1, end = "x" }]
"#,
    );
    let mut st = t.new_state();
    let nsh_frame = |ttl: u8, si: u8, oam: bool| {
        let repr = NshRepr {
            o_bit: oam,
            ttl,
            next_protocol: NshNextProtocol::Ethernet,
            spi: 6,
            si,
            metadata: NshMetadata::Md1([0; 16]),
        };
        let mut f = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x89, 0x4f];
        let mut h = vec![0u8; repr.header_len()];
        repr.emit(&mut nsh::Packet::new_unchecked(&mut h[..]));
        f.extend(h);
        f.extend(frame(0, false));
        f
    };
    let run = |st: &mut SfcState, f: Vec<u8>| t.process(st, &mut VecPacket::new(&f), 0);
    assert_eq!(run(&mut st, nsh_frame(2, 2, false)), Verdict::Tx(2));
    assert_eq!(
        run(&mut st, nsh_frame(1, 2, false)),
        Verdict::Drop(DropReason::NshTtlExpired)
    );
    assert_eq!(
        run(&mut st, nsh_frame(0, 2, false)),
        Verdict::Drop(DropReason::NshTtlExpired)
    );
    assert_eq!(
        run(&mut st, nsh_frame(9, 0, false)),
        Verdict::Drop(DropReason::NshSiZero)
    );
    assert_eq!(
        run(&mut st, nsh_frame(9, 2, true)),
        Verdict::SlowPath(SlowReason::NshOam)
    );
    assert_eq!(
        run(&mut st, nsh_frame(9, 3, false)),
        Verdict::Drop(DropReason::NshUnknownPath)
    );
    assert_eq!(st.sf_packets, vec![1]);
    // End of chain: the inner frame, source MAC of the exit's port.
    let mut p = VecPacket::new(&nsh_frame(9, 1, false));
    assert_eq!(t.process(&mut st, &mut p, 0), Verdict::Tx(2));
    let inner = frame(0, false);
    assert_eq!(&p.data()[6..12], &PORT_MACS[2]);
    assert_eq!(&p.data()[12..], &inner[12..]);
}

#[test]
fn unmatched_traffic_follows_sfc_unmatched() {
    let body = r#"
[sfc]
unmatched = "x"
[[exits]]
name = "x"
port = "p2"
[[paths]]
name = "p"
spi = 6
hops = [{ si = 1, end = "x" }]
[[classifier]]
src = "192.168.0.0/16"
path = "p"
"#;
    let t = tables(body);
    let mut st = t.new_state();
    assert_eq!(
        t.process(&mut st, &mut VecPacket::new(&frame(0, false)), 0),
        Verdict::Tx(2)
    );
    let t = tables(&body.replace("unmatched = \"x\"", ""));
    let mut st = t.new_state();
    assert_eq!(
        t.process(&mut st, &mut VecPacket::new(&frame(0, false)), 0),
        Verdict::Drop(DropReason::Unmatched)
    );
}
