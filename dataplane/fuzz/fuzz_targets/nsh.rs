//! NSH (RFC 8300): `Packet::new_checked`, every getter, every MD type 2 TLV, `md1_context`,
//! `payload`, and the `Repr` parse/emit round trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use qdp::wire::nsh::{
    MdType, NextProtocol, NshMetadata, Packet, Repr, HEADER_LEN, MAX_HEADER_LEN, MD1_HEADER_LEN,
    SPI_MAX, TLV_HEADER_LEN, TLV_VALUE_MAX, TTL_MAX,
};
use qdp::wire::Error;

const fn pad4(len: usize) -> usize {
    (len + 3) & !3
}

fuzz_target!(|data: &[u8]| {
    let packet = match Packet::new_checked(data) {
        Ok(packet) => packet,
        Err(_) => return,
    };

    assert_eq!(packet.version(), 0);
    let o_bit = packet.o_bit();
    let ttl = packet.ttl();
    assert!(ttl <= TTL_MAX);
    let len_words = packet.len_words();
    let header_len = packet.header_len();
    assert_eq!(header_len, usize::from(len_words) * 4);
    assert!(header_len >= HEADER_LEN && header_len <= data.len() && header_len <= MAX_HEADER_LEN);
    let md_type = packet.md_type();
    assert!(!matches!(md_type, MdType::Unknown(0x0 | 0xf)));
    assert_eq!(MdType::from(u8::from(md_type)), md_type);
    let next_protocol = packet.next_protocol();
    assert_eq!(NextProtocol::from(u8::from(next_protocol)), next_protocol);
    let spi = packet.spi();
    assert!(spi <= SPI_MAX);
    let si = packet.si();
    let context = packet.context();
    assert_eq!(context.len(), header_len - HEADER_LEN);
    assert_eq!(packet.payload(), &data[header_len..]);
    assert_eq!(packet.as_ref(), data);

    // MD type 1: a fixed 16-byte context.
    match packet.md1_context() {
        Some(md1) => {
            assert_eq!(md_type, MdType::Md1);
            assert_eq!(header_len, MD1_HEADER_LEN);
            assert_eq!(&md1[..], context);
        }
        None => assert_ne!(md_type, MdType::Md1),
    }

    // MD type 2: the TLVs tile the context exactly (check_len guarantees no overrun).
    let mut consumed = 0;
    let mut count = 0;
    for tlv in packet.md2_tlvs() {
        assert_eq!(md_type, MdType::Md2);
        assert!(usize::from(tlv.len) <= TLV_VALUE_MAX);
        assert_eq!(tlv.value.len(), usize::from(tlv.len));
        let at = consumed;
        assert_eq!(tlv.class, u16::from_be_bytes([context[at], context[at + 1]]));
        assert_eq!(tlv.tlv_type, context[at + 2]);
        assert_eq!(tlv.value, &context[at + TLV_HEADER_LEN..at + TLV_HEADER_LEN + tlv.value.len()]);
        consumed += TLV_HEADER_LEN + pad4(tlv.value.len());
        count += 1;
    }
    if md_type == MdType::Md2 {
        assert_eq!(consumed, context.len(), "MD2 TLVs do not cover the context");
    } else {
        assert_eq!(count, 0);
    }

    // Repr round trip.
    match Repr::parse(&packet) {
        Ok(repr) => {
            assert_eq!(repr.md_type(), md_type);
            assert_eq!((repr.o_bit, repr.ttl, repr.next_protocol, repr.spi, repr.si), (o_bit, ttl, next_protocol, spi, si));
            match &repr.metadata {
                NshMetadata::Md1(md1) => assert_eq!(&md1[..], context),
                NshMetadata::Md2(tlvs) => assert_eq!(tlvs.len(), count),
            }
            assert_eq!(repr.check(), Ok(()));
            assert_eq!(repr.header_len(), header_len);
            assert_eq!(repr.buffer_len(), header_len);
            let mut buf = vec![0xa5u8; repr.buffer_len()];
            repr.emit(&mut Packet::new_unchecked(&mut buf[..]));
            let again = Packet::new_checked(&buf[..]).expect("an emitted header is valid");
            assert_eq!(again.header_len(), header_len);
            assert_eq!(again.payload(), &[] as &[u8]);
            assert_eq!(Repr::parse(&again), Ok(repr));
        }
        Err(Error::BadMdType) => assert!(matches!(md_type, MdType::Unknown(_))),
        Err(other) => panic!("Repr::parse returned an unexpected error: {other:?}"),
    }

    // Setters writing back what was read leave the buffer unchanged.
    let mut copy = data.to_vec();
    let mut view = Packet::new_checked(&mut copy[..]).unwrap();
    view.set_version(0);
    view.set_o_bit(o_bit);
    view.set_ttl(ttl);
    view.set_len_words(len_words);
    view.set_next_protocol(next_protocol);
    view.set_spi(spi);
    view.set_si(si);
    let _ = view.context_mut();
    let _ = view.md1_context_mut();
    let _ = view.payload_mut();
    assert_eq!(view.as_ref(), data);
    assert_eq!(view.decrement_ttl(), ttl.saturating_sub(1));
    assert_eq!(view.ttl(), ttl.saturating_sub(1));
});
