//! UDP header: `Packet::new_checked`, every getter, checksum helpers, `Repr` round trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use qdp::wire::ipv4::Address as Ipv4Address;
use qdp::wire::ipv6::Address as Ipv6Address;
use qdp::wire::udp::{Packet, Repr, HEADER_LEN};

const V4_SRC: Ipv4Address = Ipv4Address([192, 0, 2, 1]);
const V4_DST: Ipv4Address = Ipv4Address([198, 51, 100, 7]);
const V6_SRC: Ipv6Address = Ipv6Address([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
const V6_DST: Ipv6Address = Ipv6Address([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);

fuzz_target!(|data: &[u8]| {
    let packet = match Packet::new_checked(data) {
        Ok(packet) => packet,
        Err(_) => return,
    };

    assert_eq!(packet.header_len(), HEADER_LEN);
    let src_port = packet.src_port();
    let dst_port = packet.dst_port();
    let len = usize::from(packet.len());
    assert!(len >= HEADER_LEN && len <= data.len());
    assert_eq!(packet.is_empty(), len == HEADER_LEN);
    let checksum = packet.checksum();
    let v4 = packet.verify_checksum_ipv4(&V4_SRC, &V4_DST);
    let v6 = packet.verify_checksum_ipv6(&V6_SRC, &V6_DST);
    if checksum == 0 {
        assert!(v4, "a zero IPv4 UDP checksum means 'not computed'");
        assert!(!v6, "a zero IPv6 UDP checksum never verifies");
    }
    assert_eq!(packet.payload().len(), len - HEADER_LEN);
    assert_eq!(packet.as_ref(), data);

    // Repr round trip (emit zeroes the checksum; ports and length come back).
    let repr = Repr::parse(&packet).expect("a checked datagram always parses");
    assert_eq!(repr.payload_len, len - HEADER_LEN);
    assert_eq!(repr.header_len(), HEADER_LEN);
    let mut buf = vec![0u8; repr.buffer_len()];
    repr.emit(&mut Packet::new_unchecked(&mut buf[..]));
    assert_eq!(&buf[..6], &data[..6]);
    let again = Packet::new_checked(&buf[..]).expect("an emitted header is valid");
    assert_eq!(again.checksum(), 0);
    assert_eq!(Repr::parse(&again), Ok(repr));

    // Setters and checksum fills on a copy.
    let mut copy = data.to_vec();
    let mut view = Packet::new_checked(&mut copy[..]).unwrap();
    view.set_src_port(src_port);
    view.set_dst_port(dst_port);
    view.set_len(len as u16);
    view.set_checksum(checksum);
    let _ = view.payload_mut();
    assert_eq!(view.as_ref(), data);
    view.fill_checksum_ipv4(&V4_SRC, &V4_DST);
    assert_ne!(view.checksum(), 0);
    assert!(view.verify_checksum_ipv4(&V4_SRC, &V4_DST));
    view.fill_checksum_ipv6(&V6_SRC, &V6_DST);
    assert_ne!(view.checksum(), 0);
    assert!(view.verify_checksum_ipv6(&V6_SRC, &V6_DST));
});
