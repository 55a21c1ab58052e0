//! The built-in service functions driven with whole packets through [`SfcTables::process`]
//! (classifier → chain → end of chain, on `net_null` test ports): the `lb` SF's destination NAT
//! both ways (checksums recomputed by an independent parser), its spread over backends by
//! weight, stickiness, drain, down backends and source hashing; the stateful firewall; the `ids`
//! SF inline and in tap mode, on malformed TCP and by flow direction; and SF groups' Maglev
//! placement. Frames are built with `etherparse::PacketBuilder` and read back with
//! `etherparse::SlicedPacket`. This file holds what the tests share; one file per node.

use etherparse::{LinkSlice, NetSlice, PacketBuilder, SlicedPacket, TransportSlice};

use super::*;
use crate::nodes::Verdict;
use crate::packet::VecPacket;
use crate::stats::DropReason;
use crate::tables::ids_sf::AlertRecord;
use crate::tables::sfc::SfImpl;

const PORT_MACS: [[u8; 6]; 3] = [
    [2, 0, 0, 0, 0, 0xa0],
    [2, 0, 0, 0, 0, 0xa1],
    [2, 0, 0, 0, 0, 0xa2],
];

/// The client side's exit MAC (`to-client`).
const CLIENT_MAC: [u8; 6] = [2, 0, 0, 0, 1, 1];

const VIP: [u8; 4] = [10, 9, 0, 1];
const CLIENT: [u8; 4] = [10, 1, 0, 1];
const SERVER: [u8; 4] = [10, 2, 0, 5];

const FIN: u8 = 0x01;
const SYN: u8 = 0x02;
const PSH: u8 = 0x08;
const ACK: u8 = 0x10;

type End = ([u8; 4], u16);

fn tables(body: &str) -> SfcTables {
    let p = crate::testing::null_ports_pipeline(&["p0", "p1", "p2"], body);
    crate::compile::sfc_tables(&p, &PORT_MACS, None).unwrap()
}

/// A TCP frame from `src` to `dst` with `flags` (of FIN, SYN, PSH, ACK) and `payload`.
fn tcp(src: End, dst: End, flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut b = PacketBuilder::ethernet2([2, 0, 0, 0, 9, 9], PORT_MACS[0])
        .ipv4(src.0, dst.0, 64)
        .tcp(src.1, dst.1, 1000, 65535);
    if flags & FIN != 0 {
        b = b.fin();
    }
    if flags & SYN != 0 {
        b = b.syn();
    }
    if flags & PSH != 0 {
        b = b.psh();
    }
    if flags & ACK != 0 {
        b = b.ack(1);
    }
    let mut v = Vec::with_capacity(b.size(payload.len()));
    b.write(&mut v, payload).unwrap();
    v
}

/// A UDP frame from `src` to `dst` (with its checksum).
fn udp(src: End, dst: End, payload: &[u8]) -> Vec<u8> {
    let b = PacketBuilder::ethernet2([2, 0, 0, 0, 9, 9], PORT_MACS[0])
        .ipv4(src.0, dst.0, 64)
        .udp(src.1, dst.1);
    let mut v = Vec::with_capacity(b.size(payload.len()));
    b.write(&mut v, payload).unwrap();
    v
}

/// Runs one frame that arrives on `in_port`: the verdict and the frame as it left.
fn run(t: &SfcTables, st: &mut SfcState, frame: &[u8], in_port: usize) -> (Verdict, Vec<u8>) {
    let mut p = VecPacket::new(frame);
    let v = t.process(st, &mut p, in_port);
    (v, p.data().to_vec())
}

/// A frame as it left, read by etherparse, whose IPv4 and TCP/UDP checksums were checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Out {
    dst_mac: [u8; 6],
    src: End,
    dst: End,
    /// The TCP/UDP checksum field as it is in the frame.
    l4_sum: u16,
}

fn parse(frame: &[u8]) -> Out {
    let p = SlicedPacket::from_ethernet(frame).expect("etherparse reads the frame");
    let Some(LinkSlice::Ethernet2(eth)) = &p.link else {
        panic!("no Ethernet header");
    };
    let Some(NetSlice::Ipv4(ip)) = &p.net else {
        panic!("no IPv4 header");
    };
    let h = ip.header().to_header();
    assert_eq!(
        h.header_checksum,
        h.calc_header_checksum(),
        "IPv4 header checksum"
    );
    let (sp, dp, sum) = match &p.transport {
        Some(TransportSlice::Tcp(t)) => {
            let want = t.calc_checksum_ipv4(h.source, h.destination).unwrap();
            assert_eq!(t.checksum(), want, "TCP checksum");
            (t.source_port(), t.destination_port(), t.checksum())
        }
        Some(TransportSlice::Udp(u)) => {
            if u.checksum() != 0 {
                let want = u
                    .to_header()
                    .calc_checksum_ipv4_raw(h.source, h.destination, u.payload())
                    .unwrap();
                assert_eq!(u.checksum(), want, "UDP checksum");
            }
            (u.source_port(), u.destination_port(), u.checksum())
        }
        other => panic!("no TCP or UDP: {other:?}"),
    };
    Out {
        dst_mac: eth.destination(),
        src: (h.source, sp),
        dst: (h.destination, dp),
        l4_sum: sum,
    }
}

/// Sends a frame that must leave by `out_port`; what left.
fn send(t: &SfcTables, st: &mut SfcState, frame: &[u8], in_port: usize, out_port: usize) -> Out {
    let (v, d) = run(t, st, frame, in_port);
    assert_eq!(v, Verdict::Tx(out_port), "{:?}", parse_lax(frame));
    parse(&d)
}

/// The headers of a frame, for messages.
fn parse_lax(frame: &[u8]) -> String {
    format!("{:02x?}", &frame[..frame.len().min(54)])
}

/// The SF called `name`.
fn sf_index(t: &SfcTables, name: &str) -> usize {
    t.sfs.iter().position(|s| s.name == name).unwrap()
}

/// The client end of flow `i`.
fn client(i: u32) -> End {
    (
        [10, 1, (i >> 8) as u8, i as u8],
        10_000 + (i % 50_000) as u16,
    )
}

/// A symmetric chain through SF `sf` alone: path `fwd` (SPI `spi`, with `reverse`) from the
/// client on p0 to the server on p1, path `back` (SPI `spi` + 1) to the client, and a classifier
/// rule from 10.1.0.0/24 (`dst` more, when given) onto `fwd`.
fn symmetric_chain(sf: &str, spi: u32, dst: Option<&str>) -> String {
    let dst = dst.map(|d| format!("dst = \"{d}\"\n")).unwrap_or_default();
    format!(
        r#"[[exits]]
name = "server"
port = "p1"
[[exits]]
name = "client"
port = "p0"
dst_mac = "02:00:00:00:01:01"
[[paths]]
name = "fwd"
spi = {spi}
reverse = "back"
hops = [{{ si = 255, sf = "{sf}" }}, {{ si = 254, end = "server" }}]
[[paths]]
name = "back"
spi = {back}
hops = [{{ si = 255, sf = "{sf}" }}, {{ si = 254, end = "client" }}]
[[classifier]]
in_port = "p0"
src = "10.1.0.0/24"
{dst}path = "fwd"
"#,
        back = spi + 1
    )
}

mod firewall;
mod groups;
mod ids;
mod lb;
