//! The host stack for qdp's own addresses, on the slow path: answers ARP requests for them and
//! ICMP echo requests to them, in place, with smoltcp's wire representations, and hands each
//! answer back to the worker that received the request, which sends it on its own transmit queue.
//! Workers send here only ARP and ICMP for our addresses (ports' `addresses` and IPv4 VTEPs).
//! The sender of every ARP packet is also shown to the [`ArpTable`](crate::arp::ArpTable): it may
//! be a next hop qdp resolves.
//!
//! The main thread owns no transmit queue: whatever it sends (these answers, and the ARP
//! requests of [`crate::arp`]) goes through a worker's inject queue ([`queue_on_a_worker`]), and
//! that worker sends it on its own transmit queue of the port, once per poll round. Every worker
//! has a transmit queue on every port, so any worker can send any of it: when the chosen
//! worker's inject queue is full (it is stalled, or flooded with answers), the next worker's
//! takes the packet, and only when every worker's is full is the packet lost.

use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{
    ArpOperation, ArpPacket, ArpRepr, EthernetAddress, EthernetFrame, EthernetProtocol,
    Icmpv4Packet, Icmpv4Repr, IpProtocol, Ipv4Packet, Ipv4Repr,
};

use crossbeam::queue::ArrayQueue;

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

/// Queues `item` on the inject queue of worker `first` or, when that one is full, of the next
/// worker (in index order, wrapping around) whose queue has room; returns that worker, or gives
/// `item` back when every queue is full. Never waits.
pub fn queue_on_a_worker<T>(queues: &[ArrayQueue<T>], first: usize, item: T) -> Result<usize, T> {
    let mut item = item;
    for i in 0..queues.len() {
        let w = (first + i) % queues.len();
        match queues[w].push(item) {
            Ok(()) => return Ok(w),
            Err(back) => item = back,
        }
    }
    Err(item)
}

/// Answers a packet for the host stack; returns whether an answer was queued for sending (by the
/// worker that received the request, or another when its inject queue is full).
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
    if matches!(p.reason, SlowReason::HostIcmp | SlowReason::HostTcp) {
        // A health probe's answer?
        if let Some((from, a)) = crate::probe::parse_answer(p.mbuf.data()) {
            if let Ok(mut arp) = dp.arp.lock() {
                arp.probes.answer(p.port, from, a);
            }
            return false;
        }
    }
    let done = match p.reason {
        SlowReason::HostArp => arp_reply(p.mbuf.data_mut(), mac),
        SlowReason::HostIcmp => echo_reply(p.mbuf.data_mut(), mac),
        SlowReason::NshOam | SlowReason::HostTcp => None,
    };
    done.is_some() && queue_on_a_worker(&dp.inject, p.worker, (p.port, p.mbuf)).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const QDP: [u8; 6] = [2, 0, 0, 0, 1, 0xfe];

    #[test]
    fn a_full_inject_queue_hands_the_packet_to_the_next_worker() {
        let queues: Vec<ArrayQueue<u32>> = (0..3).map(|_| ArrayQueue::new(2)).collect();
        // Worker 0's queue fills up; then worker 1 takes what is for worker 0, then worker 2.
        assert_eq!(queue_on_a_worker(&queues, 0, 1), Ok(0));
        assert_eq!(queue_on_a_worker(&queues, 0, 2), Ok(0));
        assert_eq!(queue_on_a_worker(&queues, 0, 3), Ok(1));
        assert_eq!(queue_on_a_worker(&queues, 0, 4), Ok(1));
        assert_eq!(queue_on_a_worker(&queues, 0, 5), Ok(2));
        // Worker 2's own packets go to it first, then wrap around to worker 0 once it drains.
        assert_eq!(queue_on_a_worker(&queues, 2, 6), Ok(2));
        assert_eq!(queues[0].pop(), Some(1));
        assert_eq!(queue_on_a_worker(&queues, 2, 7), Ok(0));
        // Every queue full: the packet comes back (the caller frees it), nothing waits.
        assert_eq!(queue_on_a_worker(&queues, 1, 8), Err(8));
        let drained: Vec<Vec<u32>> = queues
            .iter()
            .map(|q| std::iter::from_fn(|| q.pop()).collect())
            .collect();
        assert_eq!(drained, [vec![2, 7], vec![3, 4], vec![5, 6]]);
        let none: [ArrayQueue<u32>; 0] = [];
        assert_eq!(queue_on_a_worker(&none, 0, 9), Err(9));
    }
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
