//! IPv4 header: `Packet::new_checked`, every getter, checksum helpers, `Repr` round trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use qdp::wire::ipv4::{Address, Cidr, IpProtocol, Packet, Repr, HEADER_LEN};
use qdp::wire::Error;

fuzz_target!(|data: &[u8]| {
    // Textual address / prefix parsing must never panic either.
    if let Ok(text) = core::str::from_utf8(data) {
        if let Ok(addr) = text.parse::<Address>() {
            assert_eq!(addr.to_string().parse::<Address>(), Ok(addr));
        }
        if let Ok(cidr) = text.parse::<Cidr>() {
            let _ = (cidr.netmask(), cidr.network(), cidr.mask_bits());
            assert!(cidr.contains(&cidr.address()));
            assert!(cidr.contains(&cidr.network()));
            assert_eq!(cidr.to_string().parse::<Cidr>(), Ok(cidr));
        }
    }

    let packet = match Packet::new_checked(data) {
        Ok(packet) => packet,
        Err(_) => return,
    };

    assert_eq!(packet.version(), 4);
    let header_len = packet.header_len();
    assert_eq!(header_len, usize::from(packet.ihl()) * 4);
    assert!(header_len >= HEADER_LEN);
    let total_len = usize::from(packet.total_len());
    assert!(total_len >= header_len && total_len <= data.len());
    assert!(packet.dscp() < 64);
    assert!(packet.ecn() < 4);
    let _ = packet.ident();
    let df = packet.dont_frag();
    let mf = packet.more_frags();
    let frag_offset = packet.frag_offset();
    assert_eq!(frag_offset % 8, 0);
    assert_eq!(packet.is_fragment(), mf || frag_offset != 0);
    let ttl = packet.ttl();
    let protocol = packet.protocol();
    assert_eq!(IpProtocol::from(u8::from(protocol)), protocol);
    let _ = packet.checksum();
    let src = packet.src_addr();
    let dst = packet.dst_addr();
    let _ = (src.to_bits(), src.is_multicast(), dst.as_bytes(), dst.to_string());
    assert_eq!(packet.options().len(), header_len - HEADER_LEN);
    let verifies = packet.verify_checksum();
    assert_eq!(packet.payload().len(), total_len - header_len);
    assert_eq!(packet.as_ref(), data);

    // Repr: parse rejects bad checksums and fragments; otherwise emit + re-parse is the identity.
    match Repr::parse(&packet) {
        Ok(repr) => {
            assert!(verifies && !packet.is_fragment());
            assert_eq!(repr.payload_len, total_len - header_len);
            assert_eq!(repr.header_len(), HEADER_LEN);
            let mut buf = vec![0u8; repr.buffer_len()];
            repr.emit(&mut Packet::new_unchecked(&mut buf[..]));
            let again = Packet::new_checked(&buf[..]).expect("an emitted header is valid");
            assert!(again.verify_checksum());
            assert_eq!(Repr::parse(&again), Ok(repr));
        }
        Err(Error::BadChecksum) => assert!(!verifies),
        Err(Error::Unsupported) => assert!(packet.is_fragment()),
        Err(other) => panic!("Repr::parse returned an unexpected error: {other:?}"),
    }

    // Mutation helpers on a copy.
    let mut copy = data.to_vec();
    let mut view = Packet::new_checked(&mut copy[..]).unwrap();
    view.set_dont_frag(df);
    view.set_more_frags(mf);
    view.set_frag_offset(frag_offset);
    view.set_ttl(ttl);
    view.set_protocol(protocol);
    view.set_src_addr(src);
    view.set_dst_addr(dst);
    let _ = view.options_mut();
    let _ = view.payload_mut();
    assert_eq!(view.as_ref(), data);
    // RFC 1624: the incremental update keeps a verifying checksum verifying.
    let new_ttl = view.decrement_ttl_incremental();
    assert_eq!(new_ttl, ttl.saturating_sub(1));
    assert_eq!(view.ttl(), new_ttl);
    if verifies {
        assert!(view.verify_checksum(), "incremental TTL update broke the checksum");
    }
    view.fill_checksum();
    assert!(view.verify_checksum());
});
