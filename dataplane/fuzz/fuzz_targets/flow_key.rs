//! `FlowKey::extract` over raw L3 bytes (as IPv4, as IPv6, and after `l2_parse` of an L2 frame),
//! checked against the IP views, plus every `FlowKey` method and its hash invariants.
#![no_main]

use std::net::IpAddr;

use libfuzzer_sys::fuzz_target;
use qdp::wire::ethernet::EtherType;
use qdp::wire::flow::{FlowKey, IpFamily, ENTROPY_PORT_BASE};
use qdp::wire::ipv4::{self, IpProtocol};
use qdp::wire::{ipv6, l2_parse, Error};

fn exercise(key: &FlowKey) {
    let src = key.src_addr();
    let dst = key.dst_addr();
    match key.family {
        IpFamily::Ipv4 => assert!(matches!((src, dst), (IpAddr::V4(_), IpAddr::V4(_)))),
        IpFamily::Ipv6 => assert!(matches!((src, dst), (IpAddr::V6(_), IpAddr::V6(_)))),
    }
    let rev = key.reversed();
    assert_eq!(rev.reversed(), *key);
    assert_eq!(rev.src_addr(), dst);
    assert_eq!(rev.dst_addr(), src);
    assert_eq!((rev.src_port, rev.dst_port), (key.dst_port, key.src_port));
    assert_eq!(key.symmetric_hash(), rev.symmetric_hash());
    let _ = key.hash();
    let port = key.entropy_port();
    assert!(port >= ENTROPY_PORT_BASE);
    assert_eq!(port, ENTROPY_PORT_BASE | (key.hash() as u16 & 0x3fff));
}

fn has_ports(protocol: IpProtocol) -> bool {
    matches!(protocol, IpProtocol::Tcp | IpProtocol::Udp)
}

fn extract(l3: &[u8], ethertype: EtherType) {
    let result = FlowKey::extract(l3, ethertype);
    match ethertype {
        EtherType::Ipv4 => match ipv4::Packet::new_checked(l3) {
            Ok(packet) => {
                let ports = has_ports(packet.protocol()) && packet.frag_offset() == 0;
                match result {
                    Ok(key) => {
                        assert_eq!(key.family, IpFamily::Ipv4);
                        assert_eq!(key.src_addr(), IpAddr::from(packet.src_addr().0));
                        assert_eq!(key.dst_addr(), IpAddr::from(packet.dst_addr().0));
                        assert_eq!(key.protocol, packet.protocol());
                        if ports {
                            let p = packet.payload();
                            assert_eq!(key.src_port, u16::from_be_bytes([p[0], p[1]]));
                            assert_eq!(key.dst_port, u16::from_be_bytes([p[2], p[3]]));
                        } else {
                            assert_eq!((key.src_port, key.dst_port), (0, 0));
                        }
                        exercise(&key);
                    }
                    Err(Error::Truncated) => assert!(ports && packet.payload().len() < 4),
                    Err(other) => panic!("extract(IPv4) on a valid header: {other:?}"),
                }
            }
            Err(e) => assert_eq!(result, Err(e)),
        },
        EtherType::Ipv6 => match ipv6::Packet::new_checked(l3) {
            Ok(packet) => {
                let ports = has_ports(packet.next_header());
                match result {
                    Ok(key) => {
                        assert_eq!(key.family, IpFamily::Ipv6);
                        assert_eq!(key.src_addr(), IpAddr::from(packet.src_addr().0));
                        assert_eq!(key.dst_addr(), IpAddr::from(packet.dst_addr().0));
                        assert_eq!(key.protocol, packet.next_header());
                        if ports {
                            let p = packet.payload();
                            assert_eq!(key.src_port, u16::from_be_bytes([p[0], p[1]]));
                            assert_eq!(key.dst_port, u16::from_be_bytes([p[2], p[3]]));
                        } else {
                            assert_eq!((key.src_port, key.dst_port), (0, 0));
                        }
                        exercise(&key);
                    }
                    Err(Error::Truncated) => assert!(ports && packet.payload().len() < 4),
                    Err(other) => panic!("extract(IPv6) on a valid header: {other:?}"),
                }
            }
            Err(e) => assert_eq!(result, Err(e)),
        },
        _ => assert_eq!(result, Err(Error::Unsupported)),
    }
}

fuzz_target!(|data: &[u8]| {
    // The bytes as an L3 packet of each family.
    extract(data, EtherType::Ipv4);
    extract(data, EtherType::Ipv6);
    // The bytes as an L2 frame, the way the classifier sees them.
    if let Ok(info) = l2_parse(data) {
        extract(&data[info.l3_offset..], info.ethertype);
    }
});
