//! IPv6 fixed header: `Packet::new_checked`, every getter, `Repr` round trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use qdp::wire::ipv4::IpProtocol;
use qdp::wire::ipv6::{Address, Cidr, Packet, Repr, HEADER_LEN};

fuzz_target!(|data: &[u8]| {
    // Textual address / prefix parsing must never panic either.
    if let Ok(text) = core::str::from_utf8(data) {
        if let Ok(addr) = text.parse::<Address>() {
            assert_eq!(addr.to_string().parse::<Address>(), Ok(addr));
        }
        if let Ok(cidr) = text.parse::<Cidr>() {
            let _ = cidr.network();
            assert!(cidr.contains(&cidr.address()));
            assert!(cidr.contains(&cidr.network()));
            assert_eq!(cidr.to_string().parse::<Cidr>(), Ok(cidr));
        }
    }

    let packet = match Packet::new_checked(data) {
        Ok(packet) => packet,
        Err(_) => return,
    };

    assert_eq!(packet.version(), 6);
    assert_eq!(packet.header_len(), HEADER_LEN);
    let traffic_class = packet.traffic_class();
    let flow_label = packet.flow_label();
    assert!(flow_label <= 0x000f_ffff);
    let payload_len = usize::from(packet.payload_len());
    assert!(HEADER_LEN + payload_len <= data.len());
    let next_header = packet.next_header();
    assert_eq!(IpProtocol::from(u8::from(next_header)), next_header);
    let hop_limit = packet.hop_limit();
    let src = packet.src_addr();
    let dst = packet.dst_addr();
    let _ = (src.to_bits(), src.is_multicast(), dst.as_bytes(), dst.to_string());
    assert_eq!(packet.payload().len(), payload_len);
    assert_eq!(packet.as_ref(), data);

    // Repr round trip: the fixed header has no reserved bits, so the bytes come back unchanged.
    let repr = Repr::parse(&packet).expect("a checked packet always parses");
    assert_eq!(repr.payload_len, payload_len);
    assert_eq!(repr.header_len(), HEADER_LEN);
    let mut buf = vec![0u8; repr.buffer_len()];
    repr.emit(&mut Packet::new_unchecked(&mut buf[..]));
    assert_eq!(&buf[..HEADER_LEN], &data[..HEADER_LEN]);
    let again = Packet::new_checked(&buf[..]).expect("an emitted header is valid");
    assert_eq!(Repr::parse(&again), Ok(repr));

    // Setters writing back what was read leave the buffer unchanged.
    let mut copy = data.to_vec();
    let mut view = Packet::new_checked(&mut copy[..]).unwrap();
    view.set_version(6);
    view.set_traffic_class(traffic_class);
    view.set_flow_label(flow_label);
    view.set_payload_len(payload_len as u16);
    view.set_next_header(next_header);
    view.set_hop_limit(hop_limit);
    view.set_src_addr(src);
    view.set_dst_addr(dst);
    let _ = view.payload_mut();
    assert_eq!(view.as_ref(), data);
    assert_eq!(view.decrement_hop_limit(), hop_limit.saturating_sub(1));
});
