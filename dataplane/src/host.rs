//! The host stack for qdp's own addresses, on the slow path: answers ARP requests for them and
//! ICMP echo requests to them, in place, with smoltcp's wire representations, and hands each
//! answer back to the worker that received the request, which sends it on its own transmit queue.
//! Workers send here only ARP and ICMP for our addresses (ports' `addresses` and IPv4 VTEPs).
//! The sender of every ARP packet is also shown to the [`ArpTable`](crate::arp::ArpTable): it may
//! be a next hop qdp resolves.

use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{
    ArpOperation, ArpPacket, ArpRepr, EthernetAddress, EthernetFrame, EthernetProtocol,
    Icmpv4Packet, Icmpv4Repr, IpProtocol, Ipv4Packet, Ipv4Repr,
};

use crate::shared::Dataplane;
use crate::slowpath::{SlowPacket, SlowReason};

/// Rewrites an ARP request into the reply from `mac`; `None` when it is not a request.
fn arp_reply(d: &mut [u8], mac: EthernetAddress) -> Option<()> {
    let mut frame = EthernetFrame::new_checked(d).ok()?;
    if frame.ethertype() != EthernetProtocol::Arp {
        return None;
    }
    let request = ArpRepr::parse(&ArpPacket::new_checked(frame.payload_mut()).ok()?).ok()?;
    let ArpRepr::EthernetIpv4 {
        operation: ArpOperation::Request,
        source_hardware_addr,
        source_protocol_addr,
        target_protocol_addr,
        ..
    } = request
    else {
        return None;
    };
    let reply = ArpRepr::EthernetIpv4 {
        operation: ArpOperation::Reply,
        source_hardware_addr: mac,
        source_protocol_addr: target_protocol_addr,
        target_hardware_addr: source_hardware_addr,
        target_protocol_addr: source_protocol_addr,
    };
    reply.emit(&mut ArpPacket::new_unchecked(frame.payload_mut()));
    frame.set_dst_addr(source_hardware_addr);
    frame.set_src_addr(mac);
    Some(())
}

/// Rewrites an ICMP echo request into its reply from `mac`; `None` for anything else (other ICMP
/// types, IPv4 options, bad checksums).
fn echo_reply(d: &mut [u8], mac: EthernetAddress) -> Option<()> {
    let caps = ChecksumCapabilities::default();
    let mut frame = EthernetFrame::new_checked(d).ok()?;
    if frame.ethertype() != EthernetProtocol::Ipv4 {
        return None;
    }
    let peer = frame.src_addr();
    let (request, ident, seq_no, data) = {
        let ip = Ipv4Packet::new_checked(&frame.payload_mut()[..]).ok()?;
        let repr = Ipv4Repr::parse(&ip, &caps).ok()?;
        if ip.header_len() != 20 || repr.next_header != IpProtocol::Icmp {
            return None;
        }
        let icmp = Icmpv4Packet::new_checked(ip.payload()).ok()?;
        let Icmpv4Repr::EchoRequest {
            ident,
            seq_no,
            data,
        } = Icmpv4Repr::parse(&icmp, &caps).ok()?
        else {
            return None;
        };
        (repr, ident, seq_no, data.to_vec())
    };
    let reply = Icmpv4Repr::EchoReply {
        ident,
        seq_no,
        data: &data,
    };
    let ip_reply = Ipv4Repr {
        src_addr: request.dst_addr,
        dst_addr: request.src_addr,
        next_header: IpProtocol::Icmp,
        payload_len: reply.buffer_len(),
        hop_limit: 64,
    };
    let mut ip = Ipv4Packet::new_unchecked(frame.payload_mut());
    ip_reply.emit(&mut ip, &caps);
    reply.emit(&mut Icmpv4Packet::new_unchecked(ip.payload_mut()), &caps);
    frame.set_dst_addr(peer);
    frame.set_src_addr(mac);
    Some(())
}

/// Answers a packet for the host stack; returns whether an answer was queued for sending.
pub fn answer(mut p: SlowPacket, dp: &Dataplane) -> bool {
    let Some(mac) = dp.ports.get(p.port).map(|x| EthernetAddress(x.mac)) else {
        return false;
    };
    if p.reason == SlowReason::HostArp {
        // Whoever speaks ARP to us may be a next hop we resolve.
        if let Some((ip, from)) = crate::arp::sender(p.mbuf.data()) {
            if let Ok(mut arp) = dp.arp.lock() {
                arp.learn(p.port, ip, from, std::time::Instant::now());
            }
        }
    }
    let done = match p.reason {
        SlowReason::HostArp => arp_reply(p.mbuf.data_mut(), mac),
        SlowReason::HostIcmp => echo_reply(p.mbuf.data_mut(), mac),
        SlowReason::NshOam => None,
    };
    done.is_some()
        && dp
            .inject
            .get(p.worker)
            .is_some_and(|q| q.push((p.port, p.mbuf)).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    const QDP: [u8; 6] = [2, 0, 0, 0, 1, 0xfe];
    const HOST: [u8; 6] = [2, 0, 0, 0, 1, 1];

    #[test]
    fn arp_request_becomes_our_reply() {
        // Who has 10.1.0.254? Tell 10.1.0.1 — built with etherparse's view of the bytes.
        let mut f = vec![0xff; 6];
        f.extend(HOST);
        f.extend([0x08, 0x06, 0, 1, 8, 0, 6, 4, 0, 1]);
        f.extend(HOST);
        f.extend([10, 1, 0, 1]);
        f.extend([0; 6]);
        f.extend([10, 1, 0, 254]);
        arp_reply(&mut f, EthernetAddress(QDP)).unwrap();
        assert_eq!(&f[0..6], &HOST);
        assert_eq!(&f[6..12], &QDP);
        assert_eq!(&f[20..22], &[0, 2], "opcode reply");
        assert_eq!(&f[22..28], &QDP);
        assert_eq!(&f[28..32], &[10, 1, 0, 254]);
        assert_eq!(&f[32..38], &HOST);
        assert_eq!(&f[38..42], &[10, 1, 0, 1]);
        // A reply is not answered.
        assert!(arp_reply(&mut f, EthernetAddress(QDP)).is_none());
    }

    #[test]
    fn echo_request_becomes_a_valid_reply() {
        let builder = etherparse::PacketBuilder::ethernet2(HOST, QDP)
            .ipv4([10, 1, 0, 1], [10, 1, 0, 254], 64)
            .icmpv4_echo_request(7, 9);
        let payload = b"qdp ping";
        let mut f = Vec::new();
        builder.write(&mut f, payload).unwrap();
        echo_reply(&mut f, EthernetAddress(QDP)).unwrap();
        let p = etherparse::SlicedPacket::from_ethernet(&f).unwrap();
        let Some(etherparse::NetSlice::Ipv4(ip)) = p.net else {
            panic!("not IPv4")
        };
        assert_eq!(ip.header().source(), [10, 1, 0, 254]);
        assert_eq!(ip.header().destination(), [10, 1, 0, 1]);
        let Some(etherparse::TransportSlice::Icmpv4(icmp)) = p.transport else {
            panic!("not ICMP")
        };
        assert!(matches!(
            icmp.icmp_type(),
            etherparse::Icmpv4Type::EchoReply(e) if e.id == 7 && e.seq == 9
        ));
        assert_eq!(icmp.payload(), payload);
        // Checksums verify (etherparse recomputes them).
        let hdr = ip.header().to_header();
        assert_eq!(hdr.header_checksum, hdr.calc_header_checksum());
        assert_eq!(
            icmp.icmp_type().calc_checksum(icmp.payload()),
            icmp.checksum()
        );
        assert_eq!(&f[0..6], &HOST);
        assert_eq!(&f[6..12], &QDP);
        // A reply is not answered.
        assert!(echo_reply(&mut f, EthernetAddress(QDP)).is_none());
    }
}
