//! Ethernet II header: `Frame::new_checked`, every getter, `Repr` parse/emit round trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use qdp::wire::ethernet::{Address, EtherType, Frame, Repr, HEADER_LEN};

fn exercise_address(addr: Address) {
    let _ = addr.as_bytes();
    let _ = addr.is_broadcast();
    assert_eq!(addr.is_unicast(), !addr.is_multicast());
    let _ = addr.is_local();
    // Display and FromStr are inverses.
    let text = addr.to_string();
    assert_eq!(text.parse::<Address>(), Ok(addr), "{text}");
}

fuzz_target!(|data: &[u8]| {
    // Textual MAC parsing must never panic either.
    if let Ok(text) = core::str::from_utf8(data) {
        if let Ok(addr) = text.parse::<Address>() {
            assert_eq!(addr.to_string().parse::<Address>(), Ok(addr));
        }
    }

    let frame = match Frame::new_checked(data) {
        Ok(frame) => frame,
        Err(_) => {
            assert!(data.len() < HEADER_LEN);
            return;
        }
    };

    assert_eq!(frame.header_len(), HEADER_LEN);
    let dst = frame.dst_addr();
    let src = frame.src_addr();
    exercise_address(dst);
    exercise_address(src);
    let ethertype = frame.ethertype();
    let raw = u16::from(ethertype);
    assert_eq!(EtherType::from(raw), ethertype);
    assert_eq!(raw, u16::from_be_bytes([data[12], data[13]]));
    let _ = ethertype.is_vlan_tag();
    assert_eq!(frame.payload(), &data[HEADER_LEN..]);
    assert_eq!(frame.as_ref(), data);
    assert_eq!(frame.clone().into_inner(), data);

    // Repr round trip: the header has no reserved bits, so the emitted bytes are the input's.
    let repr = Repr::parse(&frame).expect("a checked frame always parses");
    assert_eq!(repr.header_len(), HEADER_LEN);
    let mut buf = vec![0u8; repr.buffer_len()];
    repr.emit(&mut Frame::new_unchecked(&mut buf[..]));
    assert_eq!(&buf[..], &data[..HEADER_LEN]);
    let again = Frame::new_checked(&buf[..]).expect("an emitted frame is valid");
    assert_eq!(Repr::parse(&again), Ok(repr));

    // Setters writing back what was read leave the buffer unchanged.
    let mut copy = data.to_vec();
    let mut view = Frame::new_checked(&mut copy[..]).unwrap();
    view.set_dst_addr(dst);
    view.set_src_addr(src);
    view.set_ethertype(ethertype);
    let _ = view.payload_mut();
    assert_eq!(copy, data);
});
