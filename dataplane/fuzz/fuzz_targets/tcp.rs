//! TCP header (ports and flags): `Packet::new_checked`, every getter, `Repr` round trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use qdp::wire::tcp::{
    Packet, Repr, FLAG_ACK, FLAG_FIN, FLAG_PSH, FLAG_RST, FLAG_SYN, FLAG_URG, HEADER_LEN,
};

fuzz_target!(|data: &[u8]| {
    let packet = match Packet::new_checked(data) {
        Ok(packet) => packet,
        Err(_) => return,
    };

    let src_port = packet.src_port();
    let dst_port = packet.dst_port();
    let seq = packet.seq_number();
    let ack_number = packet.ack_number();
    let data_offset = packet.data_offset();
    let header_len = packet.header_len();
    assert_eq!(header_len, usize::from(data_offset) * 4);
    assert!(header_len >= HEADER_LEN && header_len <= data.len());
    let flags = packet.flags();
    assert_eq!(packet.fin(), flags & FLAG_FIN != 0);
    assert_eq!(packet.syn(), flags & FLAG_SYN != 0);
    assert_eq!(packet.rst(), flags & FLAG_RST != 0);
    assert_eq!(packet.psh(), flags & FLAG_PSH != 0);
    assert_eq!(packet.ack(), flags & FLAG_ACK != 0);
    assert_eq!(packet.urg(), flags & FLAG_URG != 0);
    let window = packet.window_len();
    let checksum = packet.checksum();
    let urgent = packet.urgent_at();
    assert_eq!(packet.options().len(), header_len - HEADER_LEN);
    assert_eq!(packet.payload().len(), data.len() - header_len);
    assert_eq!(packet.clone().into_inner(), data);

    // Repr round trip: options, checksum, urgent pointer and the data-offset low nibble are not
    // part of the Repr, so only the Repr (and the ports/numbers/flags/window bytes) come back.
    let repr = Repr::parse(&packet).expect("a checked segment always parses");
    assert_eq!(repr.header_len(), HEADER_LEN);
    let mut buf = vec![0u8; repr.buffer_len()];
    repr.emit(&mut Packet::new_unchecked(&mut buf[..]));
    assert_eq!(&buf[..12], &data[..12]);
    assert_eq!(&buf[13..16], &data[13..16]);
    let again = Packet::new_checked(&buf[..]).expect("an emitted header is valid");
    assert_eq!(again.header_len(), HEADER_LEN);
    assert_eq!(Repr::parse(&again), Ok(repr));

    // Setters writing back what was read leave the buffer unchanged (except the data-offset
    // byte's reserved low nibble, which set_header_len clears).
    let mut copy = data.to_vec();
    let mut view = Packet::new_checked(&mut copy[..]).unwrap();
    view.set_src_port(src_port);
    view.set_dst_port(dst_port);
    view.set_seq_number(seq);
    view.set_ack_number(ack_number);
    view.set_header_len(header_len);
    view.set_flags(flags);
    view.set_window_len(window);
    view.set_checksum(checksum);
    view.set_urgent_at(urgent);
    let _ = view.payload_mut();
    let mut expected = data.to_vec();
    expected[12] &= 0xf0;
    assert_eq!(copy, expected);
});
