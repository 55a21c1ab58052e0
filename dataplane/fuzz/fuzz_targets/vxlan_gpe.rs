//! VXLAN-GPE header: `Packet::new_checked`, every getter, `Repr` round trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use qdp::wire::vxlan_gpe::{NextProtocol, Packet, Repr, HEADER_LEN, VNI_MAX};
use qdp::wire::Error;

fuzz_target!(|data: &[u8]| {
    let packet = match Packet::new_checked(data) {
        Ok(packet) => packet,
        Err(_) => return,
    };

    assert_eq!(packet.header_len(), HEADER_LEN);
    let flags = packet.flags();
    assert_eq!(packet.version(), 0);
    let i = packet.i_flag();
    let p = packet.p_flag();
    let b = packet.b_flag();
    let o = packet.o_flag();
    assert_eq!(flags & 0x0f, (u8::from(i) << 3) | (u8::from(p) << 2) | (u8::from(b) << 1) | u8::from(o));
    let next_protocol = packet.next_protocol();
    assert_eq!(NextProtocol::from(u8::from(next_protocol)), next_protocol);
    let vni = packet.vni();
    assert!(vni <= VNI_MAX);
    assert_eq!(packet.payload(), &data[HEADER_LEN..]);
    assert_eq!(packet.as_ref(), data);

    // Repr: requires the I and P flags; emit writes canonical reserved bits, re-parse is identity.
    match Repr::parse(&packet) {
        Ok(repr) => {
            assert!(i && p);
            assert_eq!((repr.vni, repr.oam, repr.bum), (vni, o, b));
            assert_eq!(repr.header_len(), HEADER_LEN);
            let mut buf = vec![0xffu8; repr.buffer_len()];
            repr.emit(&mut Packet::new_unchecked(&mut buf[..]));
            assert_eq!((buf[1], buf[2], buf[7]), (0, 0, 0));
            assert_eq!(&buf[3..7], &data[3..7]);
            let again = Packet::new_checked(&buf[..]).expect("an emitted header is valid");
            assert_eq!(Repr::parse(&again), Ok(repr));
        }
        Err(Error::Malformed) => assert!(!i || !p),
        Err(other) => panic!("Repr::parse returned an unexpected error: {other:?}"),
    }

    // Setters writing back what was read leave the buffer unchanged.
    let mut copy = data.to_vec();
    let mut view = Packet::new_checked(&mut copy[..]).unwrap();
    view.set_version(0);
    view.set_i_flag(i);
    view.set_p_flag(p);
    view.set_b_flag(b);
    view.set_o_flag(o);
    view.set_next_protocol(next_protocol);
    view.set_vni(vni);
    let _ = view.payload_mut();
    assert_eq!(view.as_ref(), data);
    view.set_flags(flags);
    view.clear_reserved();
    assert_eq!(view.flags(), flags & 0x3f);
});
