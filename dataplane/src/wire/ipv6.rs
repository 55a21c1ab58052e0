//! IPv6 fixed headers (RFC 8200 §3), addresses and prefixes.
//!
//! Limits: extension headers are not walked ([`Packet::next_header`] is the fixed header's
//! Next Header, which may be an extension header); jumbograms (payload length 0 with a
//! Hop-by-Hop Jumbo Payload option, RFC 2675) are treated as an empty payload.

use core::fmt;
use core::str::FromStr;

use super::ipv4::IpProtocol;
use super::{Error, Result};

/// An IPv6 address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Address(pub [u8; 16]);

impl Address {
    /// `::`.
    pub const UNSPECIFIED: Address = Address([0; 16]);

    /// Builds an address from a sixteen-byte slice.
    ///
    /// # Panics
    /// If `data` is not exactly sixteen bytes long.
    pub fn from_bytes(data: &[u8]) -> Address {
        let mut bytes = [0; 16];
        bytes.copy_from_slice(data);
        Address(bytes)
    }

    /// The address as bytes, in wire order.
    pub const fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// The address as a host-order integer.
    pub const fn to_bits(self) -> u128 {
        u128::from_be_bytes(self.0)
    }

    /// True for ff00::/8.
    pub const fn is_multicast(&self) -> bool {
        self.0[0] == 0xff
    }
}

impl From<std::net::Ipv6Addr> for Address {
    fn from(value: std::net::Ipv6Addr) -> Self {
        Address(value.octets())
    }
}

impl From<Address> for std::net::Ipv6Addr {
    fn from(value: Address) -> Self {
        std::net::Ipv6Addr::from(value.0)
    }
}

impl fmt::Display for Address {
    /// RFC 5952 text form (via `std::net::Ipv6Addr`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&std::net::Ipv6Addr::from(*self), f)
    }
}

impl FromStr for Address {
    type Err = Error;

    /// Parses RFC 4291 §2.2 text form.
    fn from_str(s: &str) -> Result<Address> {
        s.parse::<std::net::Ipv6Addr>()
            .map(Address::from)
            .map_err(|_| Error::Malformed)
    }
}

/// An IPv6 prefix: an address and a prefix length (0..=128).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cidr {
    address: Address,
    prefix_len: u8,
}

impl Cidr {
    /// A prefix; `Err(Malformed)` if `prefix_len > 128`. Host bits of `address` are kept.
    pub fn new(address: Address, prefix_len: u8) -> Result<Cidr> {
        if prefix_len > 128 {
            return Err(Error::Malformed);
        }
        Ok(Cidr {
            address,
            prefix_len,
        })
    }

    /// The address as given.
    pub const fn address(&self) -> Address {
        self.address
    }

    /// The prefix length.
    pub const fn prefix_len(&self) -> u8 {
        self.prefix_len
    }

    fn mask_bits(&self) -> u128 {
        u128::MAX
            .checked_shl(128 - u32::from(self.prefix_len))
            .unwrap_or(0)
    }

    /// The network address (host bits cleared).
    pub fn network(&self) -> Address {
        Address((self.address.to_bits() & self.mask_bits()).to_be_bytes())
    }

    /// True if `addr` is inside the prefix.
    pub fn contains(&self, addr: &Address) -> bool {
        (addr.to_bits() ^ self.address.to_bits()) & self.mask_bits() == 0
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix_len)
    }
}

impl FromStr for Cidr {
    type Err = Error;

    /// Parses `addr/len`.
    fn from_str(s: &str) -> Result<Cidr> {
        let (addr, len) = s.split_once('/').ok_or(Error::Malformed)?;
        if len.is_empty() || !len.bytes().all(|c| c.is_ascii_digit()) {
            return Err(Error::Malformed);
        }
        let len = len.parse::<u8>().map_err(|_| Error::Malformed)?;
        Cidr::new(addr.parse()?, len)
    }
}

pub mod field {
    use super::super::Field;

    pub const VER_TC_FLOW: Field = 0..4;
    pub const LENGTH: Field = 4..6;
    pub const NXT_HDR: usize = 6;
    pub const HOP_LIMIT: usize = 7;
    pub const SRC_ADDR: Field = 8..24;
    pub const DST_ADDR: Field = 24..40;
}

/// The length of the IPv6 fixed header.
pub const HEADER_LEN: usize = field::DST_ADDR.end;

/// A view of an IPv6 packet.
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

    /// [`Truncated`](Error::Truncated) if the buffer cannot hold 40 bytes,
    /// [`BadVersion`](Error::BadVersion) if the version is not 6,
    /// [`BadLength`](Error::BadLength) if the payload length runs past the buffer.
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(Error::Truncated);
        }
        if self.version() != 6 {
            return Err(Error::BadVersion);
        }
        if HEADER_LEN + usize::from(self.payload_len()) > len {
            return Err(Error::BadLength);
        }
        Ok(())
    }

    /// Returns the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The fixed header length (always 40).
    pub fn header_len(&self) -> usize {
        HEADER_LEN
    }

    fn ver_tc_flow(&self) -> u32 {
        let d = &self.buffer.as_ref()[field::VER_TC_FLOW];
        u32::from_be_bytes([d[0], d[1], d[2], d[3]])
    }

    /// The version field.
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[0] >> 4
    }

    /// The traffic class (DSCP and ECN).
    pub fn traffic_class(&self) -> u8 {
        (self.ver_tc_flow() >> 20) as u8
    }

    /// The 20-bit flow label.
    pub fn flow_label(&self) -> u32 {
        self.ver_tc_flow() & 0x000f_ffff
    }

    /// The payload length field.
    pub fn payload_len(&self) -> u16 {
        let d = &self.buffer.as_ref()[field::LENGTH];
        u16::from_be_bytes([d[0], d[1]])
    }

    /// The next header of the fixed header.
    pub fn next_header(&self) -> IpProtocol {
        IpProtocol::from(self.buffer.as_ref()[field::NXT_HDR])
    }

    /// The hop limit.
    pub fn hop_limit(&self) -> u8 {
        self.buffer.as_ref()[field::HOP_LIMIT]
    }

    /// The source address.
    pub fn src_addr(&self) -> Address {
        Address::from_bytes(&self.buffer.as_ref()[field::SRC_ADDR])
    }

    /// The destination address.
    pub fn dst_addr(&self) -> Address {
        Address::from_bytes(&self.buffer.as_ref()[field::DST_ADDR])
    }

    /// The payload: `payload_len` bytes after the fixed header (padding excluded).
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..HEADER_LEN + usize::from(self.payload_len())]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    fn set_ver_tc_flow(&mut self, value: u32) {
        self.buffer.as_mut()[field::VER_TC_FLOW].copy_from_slice(&value.to_be_bytes());
    }

    /// Sets the version field.
    pub fn set_version(&mut self, value: u8) {
        let raw = (self.ver_tc_flow() & 0x0fff_ffff) | (u32::from(value & 0x0f) << 28);
        self.set_ver_tc_flow(raw);
    }

    /// Sets the traffic class.
    pub fn set_traffic_class(&mut self, value: u8) {
        let raw = (self.ver_tc_flow() & 0xf00f_ffff) | (u32::from(value) << 20);
        self.set_ver_tc_flow(raw);
    }

    /// Sets the flow label (low 20 bits of `value`).
    pub fn set_flow_label(&mut self, value: u32) {
        let raw = (self.ver_tc_flow() & 0xfff0_0000) | (value & 0x000f_ffff);
        self.set_ver_tc_flow(raw);
    }

    /// Sets the payload length field.
    pub fn set_payload_len(&mut self, value: u16) {
        self.buffer.as_mut()[field::LENGTH].copy_from_slice(&value.to_be_bytes());
    }

    /// Sets the next header.
    pub fn set_next_header(&mut self, value: IpProtocol) {
        self.buffer.as_mut()[field::NXT_HDR] = u8::from(value);
    }

    /// Sets the hop limit.
    pub fn set_hop_limit(&mut self, value: u8) {
        self.buffer.as_mut()[field::HOP_LIMIT] = value;
    }

    /// Decrements the hop limit by one and returns it; 0 stays 0 (the caller drops).
    pub fn decrement_hop_limit(&mut self) -> u8 {
        let hop_limit = self.hop_limit().saturating_sub(1);
        self.set_hop_limit(hop_limit);
        hop_limit
    }

    /// Sets the source address.
    pub fn set_src_addr(&mut self, value: Address) {
        self.buffer.as_mut()[field::SRC_ADDR].copy_from_slice(value.as_bytes());
    }

    /// Sets the destination address.
    pub fn set_dst_addr(&mut self, value: Address) {
        self.buffer.as_mut()[field::DST_ADDR].copy_from_slice(value.as_bytes());
    }

    /// The payload, mutably.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let end = HEADER_LEN + usize::from(self.payload_len());
        &mut self.buffer.as_mut()[HEADER_LEN..end]
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// A parsed IPv6 fixed header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// Source address.
    pub src_addr: Address,
    /// Destination address.
    pub dst_addr: Address,
    /// Next header of the fixed header.
    pub next_header: IpProtocol,
    /// Payload length in bytes.
    pub payload_len: usize,
    /// Hop limit.
    pub hop_limit: u8,
    /// Traffic class.
    pub traffic_class: u8,
    /// Flow label (20 bits).
    pub flow_label: u32,
}

impl Repr {
    /// Reads a checked packet.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &Packet<&T>) -> Result<Repr> {
        packet.check_len()?;
        Ok(Repr {
            src_addr: packet.src_addr(),
            dst_addr: packet.dst_addr(),
            next_header: packet.next_header(),
            payload_len: usize::from(packet.payload_len()),
            hop_limit: packet.hop_limit(),
            traffic_class: packet.traffic_class(),
            flow_label: packet.flow_label(),
        })
    }

    /// The header length (always 40).
    pub const fn header_len(&self) -> usize {
        HEADER_LEN
    }

    /// The buffer length `emit` needs: header and payload.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN + self.payload_len
    }

    /// Writes the fixed header. The payload length is truncated to 16 bits.
    ///
    /// # Panics
    /// If the buffer is shorter than the header.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]> + ?Sized>(&self, packet: &mut Packet<&mut T>) {
        packet.set_ver_tc_flow(
            (6 << 28) | (u32::from(self.traffic_class) << 20) | (self.flow_label & 0x000f_ffff),
        );
        packet.set_payload_len(self.payload_len as u16);
        packet.set_next_header(self.next_header);
        packet.set_hop_limit(self.hop_limit);
        packet.set_src_addr(self.src_addr);
        packet.set_dst_addr(self.dst_addr);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2001:db8::1 -> 2001:db8::2, UDP, hop limit 64, TC 0xb8, flow label 0x12345, 4 payload bytes.
    static PACKET_BYTES: [u8; 44] = [
        0x6b, 0x81, 0x23, 0x45, // version 6, traffic class 0xb8, flow label 0x12345
        0x00, 0x04, // payload length 4
        0x11, // next header UDP
        0x40, // hop limit 64
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, // source 2001:db8::1
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0x02, // destination 2001:db8::2
        0xaa, 0xbb, 0xcc, 0xdd, // payload
    ];

    fn repr() -> Repr {
        Repr {
            src_addr: "2001:db8::1".parse().unwrap(),
            dst_addr: "2001:db8::2".parse().unwrap(),
            next_header: IpProtocol::Udp,
            payload_len: 4,
            hop_limit: 64,
            traffic_class: 0xb8,
            flow_label: 0x12345,
        }
    }

    #[test]
    fn deconstruct() {
        let packet = Packet::new_checked(&PACKET_BYTES[..]).unwrap();
        assert_eq!(packet.version(), 6);
        assert_eq!(packet.traffic_class(), 0xb8);
        assert_eq!(packet.flow_label(), 0x12345);
        assert_eq!(packet.payload_len(), 4);
        assert_eq!(packet.next_header(), IpProtocol::Udp);
        assert_eq!(packet.hop_limit(), 64);
        assert_eq!(packet.src_addr().to_string(), "2001:db8::1");
        assert_eq!(packet.dst_addr().to_string(), "2001:db8::2");
        assert_eq!(packet.payload(), &[0xaa, 0xbb, 0xcc, 0xdd]);
    }

    #[test]
    fn construct() {
        let mut bytes = [0u8; 44];
        let mut packet = Packet::new_unchecked(&mut bytes[..]);
        packet.set_version(6);
        packet.set_traffic_class(0xb8);
        packet.set_flow_label(0x12345);
        packet.set_payload_len(4);
        packet.set_next_header(IpProtocol::Udp);
        packet.set_hop_limit(65);
        assert_eq!(packet.decrement_hop_limit(), 64);
        packet.set_src_addr("2001:db8::1".parse().unwrap());
        packet.set_dst_addr("2001:db8::2".parse().unwrap());
        packet
            .payload_mut()
            .copy_from_slice(&[0xaa, 0xbb, 0xcc, 0xdd]);
        assert_eq!(bytes, PACKET_BYTES);
    }

    #[test]
    fn parse_emit_round_trip() {
        let packet = Packet::new_checked(&PACKET_BYTES[..]).unwrap();
        assert_eq!(Repr::parse(&packet), Ok(repr()));
        let mut bytes = PACKET_BYTES;
        bytes[..HEADER_LEN].fill(0xff);
        repr().emit(&mut Packet::new_unchecked(&mut bytes[..]));
        assert_eq!(bytes, PACKET_BYTES);
        assert_eq!(repr().buffer_len(), 44);
    }

    #[test]
    fn truncated_and_lying_lengths() {
        for len in 0..HEADER_LEN {
            assert_eq!(
                Packet::new_checked(&PACKET_BYTES[..len]),
                Err(Error::Truncated)
            );
        }
        for len in HEADER_LEN..PACKET_BYTES.len() {
            assert_eq!(
                Packet::new_checked(&PACKET_BYTES[..len]),
                Err(Error::BadLength)
            );
        }
        let mut bytes = PACKET_BYTES;
        bytes[0] = 0x4b;
        assert_eq!(Packet::new_checked(&bytes[..]), Err(Error::BadVersion));
        let mut bytes = PACKET_BYTES;
        bytes[4] = 0xff;
        assert_eq!(Packet::new_checked(&bytes[..]), Err(Error::BadLength));
        let mut bytes = PACKET_BYTES;
        bytes[5] = 0;
        let packet = Packet::new_checked(&bytes[..]).unwrap();
        assert!(packet.payload().is_empty());
    }

    #[test]
    fn hop_limit_zero_stays_zero() {
        let mut bytes = PACKET_BYTES;
        let mut packet = Packet::new_unchecked(&mut bytes[..]);
        packet.set_hop_limit(0);
        assert_eq!(packet.decrement_hop_limit(), 0);
    }

    #[test]
    fn address_and_cidr() {
        let a: Address = "2001:db8:0:1::42".parse().unwrap();
        assert_eq!(a.to_string(), "2001:db8:0:1::42");
        assert_eq!("2001:db8::g".parse::<Address>(), Err(Error::Malformed));
        assert!("ff02::1".parse::<Address>().unwrap().is_multicast());

        let net: Cidr = "2001:db8::/32".parse().unwrap();
        assert!(net.contains(&a));
        assert!(!net.contains(&"2001:db9::1".parse().unwrap()));
        assert_eq!(net.to_string(), "2001:db8::/32");
        let sixty_four = Cidr::new(a, 64).unwrap();
        assert_eq!(sixty_four.network().to_string(), "2001:db8:0:1::");
        assert!(Cidr::new(a, 0).unwrap().contains(&Address::UNSPECIFIED));
        assert!(Cidr::new(a, 128).unwrap().contains(&a));
        assert_eq!(Cidr::new(a, 129), Err(Error::Malformed));
        for bad in [
            "2001:db8::",
            "2001:db8::/",
            "2001:db8::/129",
            "::/-1",
            "x::/8",
        ] {
            assert_eq!(bad.parse::<Cidr>(), Err(Error::Malformed), "{bad}");
        }
    }
}
