//! UDP headers (RFC 768) and their checksum over the IPv4 (RFC 768) or IPv6 (RFC 8200 §8.1)
//! pseudo-header.
//!
//! Limits: the length field bounds the payload; trailing bytes in the buffer beyond it are
//! ignored. An IPv4 checksum of zero means "not computed" and verifies; over IPv6 it does not.

use super::ipv4::{Address as Ipv4Address, IpProtocol};
use super::ipv6::Address as Ipv6Address;
use super::{checksum, Error, Result};

/// The IANA UDP port for VXLAN-GPE (draft-ietf-nvo3-vxlan-gpe §3.4).
pub const VXLAN_GPE_PORT: u16 = 4790;

pub mod field {
    use super::super::Field;

    pub const SRC_PORT: Field = 0..2;
    pub const DST_PORT: Field = 2..4;
    pub const LENGTH: Field = 4..6;
    pub const CHECKSUM: Field = 6..8;
}

/// The length of a UDP header.
pub const HEADER_LEN: usize = field::CHECKSUM.end;

/// A view of a UDP datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer without checking it; accessors may panic if it is too short.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps a buffer after [`check_len`](Self::check_len).
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// [`Truncated`](Error::Truncated) if the buffer cannot hold 8 bytes,
    /// [`BadLength`](Error::BadLength) if the length field is below 8 or past the buffer.
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let field_len = usize::from(self.len());
        if field_len < HEADER_LEN || field_len > len {
            return Err(Error::BadLength);
        }
        Ok(())
    }

    /// Returns the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The header length (always 8).
    pub fn header_len(&self) -> usize {
        HEADER_LEN
    }

    fn read_u16(&self, range: super::Field) -> u16 {
        let d = &self.buffer.as_ref()[range];
        u16::from_be_bytes([d[0], d[1]])
    }

    /// The source port.
    pub fn src_port(&self) -> u16 {
        self.read_u16(field::SRC_PORT)
    }

    /// The destination port.
    pub fn dst_port(&self) -> u16 {
        self.read_u16(field::DST_PORT)
    }

    /// The length field (header and payload).
    pub fn len(&self) -> u16 {
        self.read_u16(field::LENGTH)
    }

    /// True if the length field says there is no payload.
    pub fn is_empty(&self) -> bool {
        usize::from(self.len()) <= HEADER_LEN
    }

    /// The checksum field.
    pub fn checksum(&self) -> u16 {
        self.read_u16(field::CHECKSUM)
    }

    fn datagram(&self) -> &[u8] {
        &self.buffer.as_ref()[..usize::from(self.len())]
    }

    /// True if the checksum verifies over the IPv4 pseudo-header, or is zero (not computed).
    pub fn verify_checksum_ipv4(&self, src: &Ipv4Address, dst: &Ipv4Address) -> bool {
        if self.checksum() == 0 {
            return true;
        }
        let pseudo = checksum::pseudo_header_ipv4(src, dst, IpProtocol::Udp, self.len());
        checksum::combine(&[pseudo, checksum::data(self.datagram())]) == 0xffff
    }

    /// True if the checksum verifies over the IPv6 pseudo-header (zero never does).
    pub fn verify_checksum_ipv6(&self, src: &Ipv6Address, dst: &Ipv6Address) -> bool {
        if self.checksum() == 0 {
            return false;
        }
        let pseudo = checksum::pseudo_header_ipv6(src, dst, IpProtocol::Udp, u32::from(self.len()));
        checksum::combine(&[pseudo, checksum::data(self.datagram())]) == 0xffff
    }

    /// The payload, up to the length field.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..usize::from(self.len())]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    fn write_u16(&mut self, range: super::Field, value: u16) {
        self.buffer.as_mut()[range].copy_from_slice(&value.to_be_bytes());
    }

    /// Sets the source port.
    pub fn set_src_port(&mut self, value: u16) {
        self.write_u16(field::SRC_PORT, value);
    }

    /// Sets the destination port.
    pub fn set_dst_port(&mut self, value: u16) {
        self.write_u16(field::DST_PORT, value);
    }

    /// Sets the length field.
    pub fn set_len(&mut self, value: u16) {
        self.write_u16(field::LENGTH, value);
    }

    /// Sets the checksum field.
    pub fn set_checksum(&mut self, value: u16) {
        self.write_u16(field::CHECKSUM, value);
    }

    /// Computes the checksum over the IPv4 pseudo-header, header and payload (a result of zero
    /// is sent as 0xFFFF).
    pub fn fill_checksum_ipv4(&mut self, src: &Ipv4Address, dst: &Ipv4Address) {
        self.set_checksum(0);
        let pseudo = checksum::pseudo_header_ipv4(src, dst, IpProtocol::Udp, self.len());
        let sum = checksum::combine(&[pseudo, checksum::data(self.datagram())]);
        self.set_checksum(nonzero(checksum::finish(sum)));
    }

    /// Computes the checksum over the IPv6 pseudo-header, header and payload (a result of zero
    /// is sent as 0xFFFF).
    pub fn fill_checksum_ipv6(&mut self, src: &Ipv6Address, dst: &Ipv6Address) {
        self.set_checksum(0);
        let pseudo = checksum::pseudo_header_ipv6(src, dst, IpProtocol::Udp, u32::from(self.len()));
        let sum = checksum::combine(&[pseudo, checksum::data(self.datagram())]);
        self.set_checksum(nonzero(checksum::finish(sum)));
    }

    /// The payload up to the length field, mutably.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let end = usize::from(self.len());
        &mut self.buffer.as_mut()[HEADER_LEN..end]
    }
}

/// RFC 768: a computed checksum of zero is transmitted as all ones.
fn nonzero(sum: u16) -> u16 {
    if sum == 0 {
        0xffff
    } else {
        sum
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// A parsed UDP header. The checksum is not verified by `parse` (it needs the IP addresses;
/// use `verify_checksum_*`), and `emit` writes it as zero (use `fill_checksum_*` after
/// writing the payload).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Payload length in bytes.
    pub payload_len: usize,
}

impl Repr {
    /// Reads a checked datagram.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &Packet<&T>) -> Result<Repr> {
        packet.check_len()?;
        Ok(Repr {
            src_port: packet.src_port(),
            dst_port: packet.dst_port(),
            payload_len: usize::from(packet.len()) - HEADER_LEN,
        })
    }

    /// The header length (always 8).
    pub const fn header_len(&self) -> usize {
        HEADER_LEN
    }

    /// The buffer length `emit` needs: header and payload.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN + self.payload_len
    }

    /// Writes the header with a zero checksum. The length is truncated to 16 bits.
    ///
    /// # Panics
    /// If the buffer is shorter than the header.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]> + ?Sized>(&self, packet: &mut Packet<&mut T>) {
        packet.set_src_port(self.src_port);
        packet.set_dst_port(self.dst_port);
        packet.set_len(self.buffer_len() as u16);
        packet.set_checksum(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // 49152 -> 4790 (VXLAN-GPE), length 12, 4 payload bytes, checksum over
    // 10.0.0.1 -> 10.0.0.2 (computed by hand below), then 2 bytes of trailing padding.
    static PACKET_BYTES: [u8; 14] = [
        0xc0, 0x00, // source port 49152
        0x12, 0xb6, // destination port 4790
        0x00, 0x0c, // length 12
        0x00, 0x00, // checksum (see `checksum_by_hand`)
        0xde, 0xad, 0xbe, 0xef, // payload
        0x00, 0x00, // trailing bytes beyond the length field
    ];

    const SRC: Ipv4Address = Ipv4Address::new(10, 0, 0, 1);
    const DST: Ipv4Address = Ipv4Address::new(10, 0, 0, 2);

    #[test]
    fn checksum_by_hand() {
        // Pseudo-header: 0x0a00 + 0x0001 + 0x0a00 + 0x0002 + 0x0011 + 0x000c = 0x1420.
        // UDP: 0xc000 + 0x12b6 + 0x000c + 0xdead + 0xbeef = 0x2_705e -> 0x7060.
        // 0x1420 + 0x7060 = 0x8480; checksum = !0x8480 = 0x7b7f.
        let mut bytes = PACKET_BYTES;
        let mut packet = Packet::new_checked(&mut bytes[..]).unwrap();
        packet.fill_checksum_ipv4(&SRC, &DST);
        assert_eq!(packet.checksum(), 0x7b7f);
        assert!(packet.verify_checksum_ipv4(&SRC, &DST));
        assert!(!packet.verify_checksum_ipv4(&SRC, &Ipv4Address::new(10, 0, 0, 3)));
        packet.set_checksum(0);
        assert!(packet.verify_checksum_ipv4(&SRC, &Ipv4Address::new(10, 0, 0, 3)));
    }

    #[test]
    fn deconstruct() {
        let packet = Packet::new_checked(&PACKET_BYTES[..]).unwrap();
        assert_eq!(packet.src_port(), 49152);
        assert_eq!(packet.dst_port(), VXLAN_GPE_PORT);
        assert_eq!(packet.len(), 12);
        assert!(!packet.is_empty());
        assert_eq!(packet.checksum(), 0);
        assert_eq!(packet.payload(), &[0xde, 0xad, 0xbe, 0xef]);
    }

    #[test]
    fn construct() {
        let mut bytes = [0u8; 14];
        let mut packet = Packet::new_unchecked(&mut bytes[..]);
        packet.set_src_port(49152);
        packet.set_dst_port(VXLAN_GPE_PORT);
        packet.set_len(12);
        packet.set_checksum(0);
        packet
            .payload_mut()
            .copy_from_slice(&[0xde, 0xad, 0xbe, 0xef]);
        assert_eq!(bytes, PACKET_BYTES);
    }

    #[test]
    fn parse_emit_round_trip() {
        let repr = Repr {
            src_port: 49152,
            dst_port: VXLAN_GPE_PORT,
            payload_len: 4,
        };
        let packet = Packet::new_checked(&PACKET_BYTES[..]).unwrap();
        assert_eq!(Repr::parse(&packet), Ok(repr));
        let mut bytes = [0xffu8; 14];
        bytes[12..].fill(0);
        let mut packet = Packet::new_unchecked(&mut bytes[..]);
        repr.emit(&mut packet);
        packet
            .payload_mut()
            .copy_from_slice(&[0xde, 0xad, 0xbe, 0xef]);
        assert_eq!(bytes, PACKET_BYTES);
        assert_eq!(repr.buffer_len(), 12);
    }

    #[test]
    fn ipv6_checksum() {
        let src: Ipv6Address = "2001:db8::1".parse().unwrap();
        let dst: Ipv6Address = "2001:db8::2".parse().unwrap();
        let mut bytes = PACKET_BYTES;
        let mut packet = Packet::new_checked(&mut bytes[..]).unwrap();
        assert!(!packet.verify_checksum_ipv6(&src, &dst));
        packet.fill_checksum_ipv6(&src, &dst);
        assert_ne!(packet.checksum(), 0);
        assert!(packet.verify_checksum_ipv6(&src, &dst));
        assert!(!packet.verify_checksum_ipv6(&dst, &dst));
        packet.payload_mut()[0] ^= 0x80;
        assert!(!packet.verify_checksum_ipv6(&src, &dst));
    }

    #[test]
    fn zero_checksum_is_sent_as_ones() {
        // Find a payload whose checksum computes to zero, then check that 0xffff is sent.
        let mut bytes = [0u8; 10];
        let mut packet = Packet::new_unchecked(&mut bytes[..]);
        packet.set_len(10);
        let base = {
            packet.set_checksum(0);
            let pseudo = checksum::pseudo_header_ipv4(&SRC, &DST, IpProtocol::Udp, 10);
            checksum::combine(&[pseudo, checksum::data(&[0, 0, 0, 0, 0, 10, 0, 0])])
        };
        // Choose the payload word so that the total sum is 0xffff (checksum 0).
        packet
            .payload_mut()
            .copy_from_slice(&(0xffff - base).to_be_bytes());
        packet.fill_checksum_ipv4(&SRC, &DST);
        assert_eq!(packet.checksum(), 0xffff);
        assert!(packet.verify_checksum_ipv4(&SRC, &DST));
    }

    #[test]
    fn truncated_and_lying_lengths() {
        for len in 0..HEADER_LEN {
            assert_eq!(
                Packet::new_checked(&PACKET_BYTES[..len]),
                Err(Error::Truncated)
            );
        }
        for len in HEADER_LEN..12 {
            assert_eq!(
                Packet::new_checked(&PACKET_BYTES[..len]),
                Err(Error::BadLength)
            );
        }
        for field_len in [0u16, 7, 15, 0xffff] {
            let mut bytes = PACKET_BYTES;
            bytes[4..6].copy_from_slice(&field_len.to_be_bytes());
            assert_eq!(Packet::new_checked(&bytes[..]), Err(Error::BadLength));
        }
        let mut bytes = PACKET_BYTES;
        bytes[5] = 8;
        let packet = Packet::new_checked(&bytes[..]).unwrap();
        assert!(packet.is_empty() && packet.payload().is_empty());
    }
}
