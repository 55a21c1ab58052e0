//! Test and demo traffic: UDP frames qdp writes into pcap files for the pcap replay PMD. Slow path;
//! built with etherparse and written with pcap-file.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;
use std::time::Duration;

use etherparse::PacketBuilder;
use pcap_file::pcap::{PcapPacket, PcapWriter};

/// Source MAC of generated frames.
pub const SRC_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
/// Destination MAC of generated frames.
pub const DST_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];

/// `flows` distinct IPv4/UDP frames of `frame_size` bytes (no FCS), flow `i` from
/// 10.1.(i / 256).(i % 256):(1024 + i % 60000) to 10.2.0.1:5001.
pub fn udp_frames(flows: u32, frame_size: u32) -> Vec<Vec<u8>> {
    const HEADERS: usize = 14 + 20 + 8;
    let payload_len = (frame_size as usize).saturating_sub(HEADERS);
    (0..flows)
        .map(|i| {
            let src = [10, 1, (i >> 8) as u8, i as u8];
            let sport = 1024 + (i % 60000) as u16;
            let builder = PacketBuilder::ethernet2(SRC_MAC, DST_MAC)
                .ipv4(src, [10, 2, 0, 1], 64)
                .udp(sport, 5001);
            let payload: Vec<u8> = (0..payload_len).map(|b| (b as u8) ^ (i as u8)).collect();
            let mut frame = Vec::with_capacity(builder.size(payload.len()));
            builder
                .write(&mut frame, &payload)
                .expect("writing into a Vec cannot fail");
            frame.resize(frame.len().max(frame_size as usize), 0);
            frame
        })
        .collect()
}

/// Writes frames into a pcap file (Ethernet link type, microsecond timestamps 1 µs apart).
pub fn write_pcap(path: &Path, frames: &[Vec<u8>]) -> std::io::Result<()> {
    let file = BufWriter::new(File::create(path)?);
    let mut w = PcapWriter::new(file).map_err(std::io::Error::other)?;
    for (i, f) in frames.iter().enumerate() {
        let pkt = PcapPacket::new(Duration::from_micros(i as u64), f.len() as u32, f);
        w.write_packet(&pkt).map_err(std::io::Error::other)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_have_the_asked_size_and_distinct_flows() {
        let f = udp_frames(300, 60);
        assert_eq!(f.len(), 300);
        assert!(f.iter().all(|x| x.len() == 60));
        let p = etherparse::SlicedPacket::from_ethernet(&f[299]).unwrap();
        match p.net {
            Some(etherparse::NetSlice::Ipv4(ip)) => {
                assert_eq!(ip.header().source(), [10, 1, 1, 43]);
            }
            other => panic!("not IPv4: {other:?}"),
        }
        let big = udp_frames(1, 1514);
        assert_eq!(big[0].len(), 1514);
    }
}
