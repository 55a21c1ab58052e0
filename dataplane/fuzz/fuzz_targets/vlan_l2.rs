//! 802.1Q tag view and `l2_parse`: `Packet::new_checked`, every getter, `Repr` round trip, and
//! the consistency of `l2_parse` with the Ethernet and VLAN views.
#![no_main]

use libfuzzer_sys::fuzz_target;
use qdp::wire::ethernet::{self, EtherType};
use qdp::wire::vlan::{l2_parse, Packet, Repr, HEADER_LEN, VID_MAX};
use qdp::wire::Error;

fn tag(data: &[u8]) {
    let packet = match Packet::new_checked(data) {
        Ok(packet) => packet,
        Err(_) => {
            assert!(data.len() < HEADER_LEN);
            return;
        }
    };
    assert_eq!(packet.header_len(), HEADER_LEN);
    let tci = packet.tci();
    let pcp = packet.pcp();
    let dei = packet.dei();
    let vid = packet.vid();
    assert!(pcp < 8);
    assert!(vid <= VID_MAX);
    assert_eq!(tci, (u16::from(pcp) << 13) | if dei { 0x1000 } else { 0 } | vid);
    let ethertype = packet.ethertype();
    assert_eq!(EtherType::from(u16::from(ethertype)), ethertype);
    assert_eq!(packet.payload(), &data[HEADER_LEN..]);
    assert_eq!(packet.clone().into_inner(), data);

    // Repr round trip: TCI and ethertype cover every bit, so the bytes come back unchanged.
    let repr = Repr::parse(&packet).expect("a checked tag always parses");
    assert_eq!(repr.header_len(), HEADER_LEN);
    let mut buf = vec![0u8; repr.buffer_len()];
    repr.emit(&mut Packet::new_unchecked(&mut buf[..]));
    assert_eq!(&buf[..], &data[..HEADER_LEN]);
    let again = Packet::new_checked(&buf[..]).expect("an emitted tag is valid");
    assert_eq!(Repr::parse(&again), Ok(repr));

    // Setters writing back what was read leave the buffer unchanged.
    let mut copy = data.to_vec();
    let mut view = Packet::new_checked(&mut copy[..]).unwrap();
    view.set_vid(vid);
    view.set_dei(dei);
    view.set_pcp(pcp);
    view.set_ethertype(ethertype);
    view.set_tci(tci);
    let _ = view.payload_mut();
    assert_eq!(copy, data);
}

fn l2(data: &[u8]) {
    match l2_parse(data) {
        Ok(info) => {
            let frame = ethernet::Frame::new_checked(data).expect("l2_parse checked the frame");
            assert_eq!(info.dst, frame.dst_addr());
            assert_eq!(info.src, frame.src_addr());
            assert!(!info.ethertype.is_vlan_tag());
            assert!(info.l3_offset <= data.len());
            let depth = (info.l3_offset - ethernet::HEADER_LEN) / HEADER_LEN;
            assert_eq!(info.l3_offset, ethernet::HEADER_LEN + depth * HEADER_LEN);
            assert!(depth <= 2);
            for (i, vlan) in info.vlans.iter().enumerate() {
                assert_eq!(vlan.is_some(), i < depth);
                if let Some(vid) = vlan {
                    let at = ethernet::HEADER_LEN + i * HEADER_LEN;
                    let t = Packet::new_checked(&data[at..]).unwrap();
                    assert_eq!(*vid, t.vid());
                }
            }
            if depth == 0 {
                assert_eq!(info.ethertype, frame.ethertype());
            } else {
                let at = ethernet::HEADER_LEN + (depth - 1) * HEADER_LEN;
                assert_eq!(info.ethertype, Packet::new_checked(&data[at..]).unwrap().ethertype());
            }
        }
        Err(Error::Truncated) | Err(Error::TooManyVlans) => {}
        Err(other) => panic!("l2_parse returned an unexpected error: {other:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    tag(data);
    l2(data);
});
