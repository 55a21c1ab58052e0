//! IPv4 headers (RFC 791 §3.1), addresses and prefixes, and the IP protocol numbers.
//!
//! Limits: options are skipped using IHL, never interpreted; fragments are not reassembled
//! (the view exposes the fragment fields, and [`Repr::parse`] rejects fragments with
//! [`Error::Unsupported`]). The TTL decrement updates the checksum incrementally (RFC 1624).

use core::fmt;
use core::str::FromStr;

use super::{checksum, Error, Result};

/// An IPv4 address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Address(pub [u8; 4]);

impl Address {
    /// 0.0.0.0.
    pub const UNSPECIFIED: Address = Address([0; 4]);
    /// 255.255.255.255.
    pub const BROADCAST: Address = Address([0xff; 4]);

    /// Builds an address from four octets.
    pub const fn new(a: u8, b: u8, c: u8, d: u8) -> Address {
        Address([a, b, c, d])
    }

    /// Builds an address from a four-byte slice.
    ///
    /// # Panics
    /// If `data` is not exactly four bytes long.
    pub fn from_bytes(data: &[u8]) -> Address {
        let mut bytes = [0; 4];
        bytes.copy_from_slice(data);
        Address(bytes)
    }

    /// The address as bytes, in wire order.
    pub const fn as_bytes(&self) -> &[u8; 4] {
        &self.0
    }

    /// The address as a host-order integer.
    pub const fn to_bits(self) -> u32 {
        u32::from_be_bytes(self.0)
    }

    /// True for 224.0.0.0/4.
    pub const fn is_multicast(&self) -> bool {
        self.0[0] & 0xf0 == 0xe0
    }
}

impl From<std::net::Ipv4Addr> for Address {
    fn from(value: std::net::Ipv4Addr) -> Self {
        Address(value.octets())
    }
}

impl From<Address> for std::net::Ipv4Addr {
    fn from(value: Address) -> Self {
        std::net::Ipv4Addr::from(value.0)
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d] = self.0;
        write!(f, "{a}.{b}.{c}.{d}")
    }
}

impl FromStr for Address {
    type Err = Error;

    /// Parses dotted-quad notation.
    fn from_str(s: &str) -> Result<Address> {
        s.parse::<std::net::Ipv4Addr>()
            .map(Address::from)
            .map_err(|_| Error::Malformed)
    }
}

/// An IPv4 prefix: an address and a prefix length (0..=32).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cidr {
    address: Address,
    prefix_len: u8,
}

impl Cidr {
    /// A prefix; `Err(Malformed)` if `prefix_len > 32`. Host bits of `address` are kept.
    pub fn new(address: Address, prefix_len: u8) -> Result<Cidr> {
        if prefix_len > 32 {
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

    /// The netmask as a host-order integer.
    pub fn mask_bits(&self) -> u32 {
        u32::MAX
            .checked_shl(32 - u32::from(self.prefix_len))
            .unwrap_or(0)
    }

    /// The netmask.
    pub fn netmask(&self) -> Address {
        Address(self.mask_bits().to_be_bytes())
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

    /// Parses `a.b.c.d/len`.
    fn from_str(s: &str) -> Result<Cidr> {
        let (addr, len) = s.split_once('/').ok_or(Error::Malformed)?;
        if len.is_empty() || !len.bytes().all(|c| c.is_ascii_digit()) {
            return Err(Error::Malformed);
        }
        let len = len.parse::<u8>().map_err(|_| Error::Malformed)?;
        Cidr::new(addr.parse()?, len)
    }
}

/// IP protocol numbers (IANA "Assigned Internet Protocol Numbers"), also used as the IPv6
/// Next Header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IpProtocol {
    /// 1.
    Icmp,
    /// 6.
    Tcp,
    /// 17.
    Udp,
    /// 58.
    Icmpv6,
    /// Any other value.
    Unknown(u8),
}

impl From<u8> for IpProtocol {
    fn from(value: u8) -> Self {
        match value {
            1 => IpProtocol::Icmp,
            6 => IpProtocol::Tcp,
            17 => IpProtocol::Udp,
            58 => IpProtocol::Icmpv6,
            other => IpProtocol::Unknown(other),
        }
    }
}

impl From<IpProtocol> for u8 {
    fn from(value: IpProtocol) -> Self {
        match value {
            IpProtocol::Icmp => 1,
            IpProtocol::Tcp => 6,
            IpProtocol::Udp => 17,
            IpProtocol::Icmpv6 => 58,
            IpProtocol::Unknown(other) => other,
        }
    }
}

pub mod field {
    use super::super::Field;

    pub const VER_IHL: usize = 0;
    pub const DSCP_ECN: usize = 1;
    pub const LENGTH: Field = 2..4;
    pub const IDENT: Field = 4..6;
    pub const FLG_OFF: Field = 6..8;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const CHECKSUM: Field = 10..12;
    pub const SRC_ADDR: Field = 12..16;
    pub const DST_ADDR: Field = 16..20;
}

/// The length of an IPv4 header without options.
pub const HEADER_LEN: usize = field::DST_ADDR.end;

/// The More Fragments flag in the flags / fragment offset word.
pub const FLAG_MF: u16 = 0x2000;
/// The fragment offset's bits in that word.
pub const FRAG_OFFSET_MASK: u16 = 0x1fff;

/// A view of an IPv4 packet.
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

    /// Checks that every accessor is safe to call:
    /// [`Truncated`](Error::Truncated) if the buffer cannot hold 20 bytes,
    /// [`BadVersion`](Error::BadVersion) if the version is not 4,
    /// [`BadLength`](Error::BadLength) if IHL < 5, or total length < the header length or larger
    /// than the buffer. The buffer may be longer than the total length (link padding).
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(Error::Truncated);
        }
        if self.version() != 4 {
            return Err(Error::BadVersion);
        }
        let header_len = self.header_len();
        let total_len = usize::from(self.total_len());
        if header_len < HEADER_LEN || total_len < header_len || total_len > len {
            return Err(Error::BadLength);
        }
        Ok(())
    }

    /// Returns the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The version field.
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_IHL] >> 4
    }

    /// The IHL field, in 4-byte words.
    pub fn ihl(&self) -> u8 {
        self.buffer.as_ref()[field::VER_IHL] & 0x0f
    }

    /// The header length in bytes, options included.
    pub fn header_len(&self) -> usize {
        usize::from(self.ihl()) * 4
    }

    /// Differentiated services code point (6 bits).
    pub fn dscp(&self) -> u8 {
        self.buffer.as_ref()[field::DSCP_ECN] >> 2
    }

    /// Explicit congestion notification (2 bits).
    pub fn ecn(&self) -> u8 {
        self.buffer.as_ref()[field::DSCP_ECN] & 0x03
    }

    /// The total length field (header and payload) in bytes.
    pub fn total_len(&self) -> u16 {
        let d = &self.buffer.as_ref()[field::LENGTH];
        u16::from_be_bytes([d[0], d[1]])
    }

    /// The identification field.
    pub fn ident(&self) -> u16 {
        let d = &self.buffer.as_ref()[field::IDENT];
        u16::from_be_bytes([d[0], d[1]])
    }

    fn flags_offset(&self) -> u16 {
        let d = &self.buffer.as_ref()[field::FLG_OFF];
        u16::from_be_bytes([d[0], d[1]])
    }

    /// The don't-fragment flag.
    pub fn dont_frag(&self) -> bool {
        self.flags_offset() & 0x4000 != 0
    }

    /// The more-fragments flag.
    pub fn more_frags(&self) -> bool {
        self.flags_offset() & FLAG_MF != 0
    }

    /// The fragment offset, in bytes (the field counts 8-byte units).
    pub fn frag_offset(&self) -> u16 {
        (self.flags_offset() & FRAG_OFFSET_MASK) << 3
    }

    /// True if this is any fragment of a fragmented datagram.
    pub fn is_fragment(&self) -> bool {
        self.more_frags() || self.frag_offset() != 0
    }

    /// Time to live.
    pub fn ttl(&self) -> u8 {
        self.buffer.as_ref()[field::TTL]
    }

    /// The protocol of the payload.
    pub fn protocol(&self) -> IpProtocol {
        IpProtocol::from(self.buffer.as_ref()[field::PROTOCOL])
    }

    /// The header checksum field.
    pub fn checksum(&self) -> u16 {
        let d = &self.buffer.as_ref()[field::CHECKSUM];
        u16::from_be_bytes([d[0], d[1]])
    }

    /// The source address.
    pub fn src_addr(&self) -> Address {
        Address::from_bytes(&self.buffer.as_ref()[field::SRC_ADDR])
    }

    /// The destination address.
    pub fn dst_addr(&self) -> Address {
        Address::from_bytes(&self.buffer.as_ref()[field::DST_ADDR])
    }

    /// The options bytes (empty when IHL is 5).
    pub fn options(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..self.header_len()]
    }

    /// True if the header checksum verifies.
    pub fn verify_checksum(&self) -> bool {
        checksum::data(&self.buffer.as_ref()[..self.header_len()]) == 0xffff
    }

    /// The payload: from the end of the header to the total length (padding excluded).
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.header_len()..usize::from(self.total_len())]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the version field.
    pub fn set_version(&mut self, value: u8) {
        let b = &mut self.buffer.as_mut()[field::VER_IHL];
        *b = (*b & 0x0f) | (value << 4);
    }

    /// Sets the header length in bytes (must be a multiple of 4, at most 60).
    pub fn set_header_len(&mut self, value: usize) {
        let b = &mut self.buffer.as_mut()[field::VER_IHL];
        *b = (*b & 0xf0) | ((value / 4) as u8 & 0x0f);
    }

    /// Sets the DSCP (low 6 bits of `value`).
    pub fn set_dscp(&mut self, value: u8) {
        let b = &mut self.buffer.as_mut()[field::DSCP_ECN];
        *b = (*b & 0x03) | (value << 2);
    }

    /// Sets the ECN (low 2 bits of `value`).
    pub fn set_ecn(&mut self, value: u8) {
        let b = &mut self.buffer.as_mut()[field::DSCP_ECN];
        *b = (*b & 0xfc) | (value & 0x03);
    }

    /// Sets the total length field.
    pub fn set_total_len(&mut self, value: u16) {
        self.buffer.as_mut()[field::LENGTH].copy_from_slice(&value.to_be_bytes());
    }

    /// Sets the identification field.
    pub fn set_ident(&mut self, value: u16) {
        self.buffer.as_mut()[field::IDENT].copy_from_slice(&value.to_be_bytes());
    }

    fn set_flags_offset(&mut self, value: u16) {
        self.buffer.as_mut()[field::FLG_OFF].copy_from_slice(&value.to_be_bytes());
    }

    /// Sets the don't-fragment flag.
    pub fn set_dont_frag(&mut self, value: bool) {
        let raw = (self.flags_offset() & !0x4000) | if value { 0x4000 } else { 0 };
        self.set_flags_offset(raw);
    }

    /// Sets the more-fragments flag.
    pub fn set_more_frags(&mut self, value: bool) {
        let raw = (self.flags_offset() & !0x2000) | if value { 0x2000 } else { 0 };
        self.set_flags_offset(raw);
    }

    /// Sets the fragment offset in bytes (rounded down to a multiple of 8).
    pub fn set_frag_offset(&mut self, value: u16) {
        let raw = (self.flags_offset() & 0xe000) | (value >> 3);
        self.set_flags_offset(raw);
    }

    /// Sets the time to live (the checksum is not updated; see
    /// [`decrement_ttl_incremental`](Self::decrement_ttl_incremental)).
    pub fn set_ttl(&mut self, value: u8) {
        self.buffer.as_mut()[field::TTL] = value;
    }

    /// Sets the protocol.
    pub fn set_protocol(&mut self, value: IpProtocol) {
        self.buffer.as_mut()[field::PROTOCOL] = u8::from(value);
    }

    /// Sets the checksum field.
    pub fn set_checksum(&mut self, value: u16) {
        self.buffer.as_mut()[field::CHECKSUM].copy_from_slice(&value.to_be_bytes());
    }

    /// Sets the source address.
    pub fn set_src_addr(&mut self, value: Address) {
        self.buffer.as_mut()[field::SRC_ADDR].copy_from_slice(value.as_bytes());
    }

    /// Sets the destination address.
    pub fn set_dst_addr(&mut self, value: Address) {
        self.buffer.as_mut()[field::DST_ADDR].copy_from_slice(value.as_bytes());
    }

    /// Recomputes the header checksum over the whole header, options included.
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let sum = checksum::internet_checksum(&self.buffer.as_ref()[..self.header_len()]);
        self.set_checksum(sum);
    }

    /// Decrements the TTL by one and updates the checksum incrementally (RFC 1624 eqn. 3),
    /// returning the new TTL. A TTL of 0 is left as it is (and 0 returned): the caller drops
    /// packets whose returned TTL is 0.
    pub fn decrement_ttl_incremental(&mut self) -> u8 {
        let ttl = self.ttl();
        if ttl == 0 {
            return 0;
        }
        let protocol = self.buffer.as_ref()[field::PROTOCOL];
        let old = u16::from_be_bytes([ttl, protocol]);
        let new = u16::from_be_bytes([ttl - 1, protocol]);
        let sum = checksum::update(self.checksum(), old, new);
        self.set_ttl(ttl - 1);
        self.set_checksum(sum);
        ttl - 1
    }

    /// The options bytes, mutably.
    pub fn options_mut(&mut self) -> &mut [u8] {
        let end = self.header_len();
        &mut self.buffer.as_mut()[HEADER_LEN..end]
    }

    /// The payload, mutably.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let range = self.header_len()..usize::from(self.total_len());
        &mut self.buffer.as_mut()[range]
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// A parsed IPv4 header (options dropped; not a fragment).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// Source address.
    pub src_addr: Address,
    /// Destination address.
    pub dst_addr: Address,
    /// Payload protocol.
    pub protocol: IpProtocol,
    /// Payload length in bytes (total length minus header length).
    pub payload_len: usize,
    /// Time to live.
    pub ttl: u8,
    /// DSCP (6 bits).
    pub dscp: u8,
    /// ECN (2 bits).
    pub ecn: u8,
    /// Don't-fragment flag.
    pub dont_frag: bool,
}

impl Repr {
    /// Reads a checked packet: [`BadChecksum`](Error::BadChecksum) if the checksum fails,
    /// [`Unsupported`](Error::Unsupported) for a fragment. Options are skipped.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &Packet<&T>) -> Result<Repr> {
        packet.check_len()?;
        if !packet.verify_checksum() {
            return Err(Error::BadChecksum);
        }
        if packet.is_fragment() {
            return Err(Error::Unsupported);
        }
        Ok(Repr {
            src_addr: packet.src_addr(),
            dst_addr: packet.dst_addr(),
            protocol: packet.protocol(),
            payload_len: usize::from(packet.total_len()) - packet.header_len(),
            ttl: packet.ttl(),
            dscp: packet.dscp(),
            ecn: packet.ecn(),
            dont_frag: packet.dont_frag(),
        })
    }

    /// The emitted header length (always 20: no options).
    pub const fn header_len(&self) -> usize {
        HEADER_LEN
    }

    /// The buffer length `emit` needs: header and payload.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN + self.payload_len
    }

    /// Writes a 20-byte header with identification 0 and a valid checksum. The total length is
    /// `20 + payload_len`, truncated to 16 bits (keep `payload_len <= 65515`).
    ///
    /// # Panics
    /// If the buffer is shorter than the header.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]> + ?Sized>(&self, packet: &mut Packet<&mut T>) {
        packet.set_version(4);
        packet.set_header_len(HEADER_LEN);
        packet.set_dscp(self.dscp);
        packet.set_ecn(self.ecn);
        packet.set_total_len(self.buffer_len() as u16);
        packet.set_ident(0);
        packet.set_flags_offset(if self.dont_frag { 0x4000 } else { 0 });
        packet.set_ttl(self.ttl);
        packet.set_protocol(self.protocol);
        packet.set_src_addr(self.src_addr);
        packet.set_dst_addr(self.dst_addr);
        packet.fill_checksum();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // 10.0.0.1 -> 10.0.0.2, UDP, TTL 64, DF, total length 24 (4 payload bytes), 2 padding bytes.
    static PACKET_BYTES: [u8; 26] = [
        0x45, // version 4, IHL 5
        0x2e, // DSCP 11, ECN 2 (0b001011_10)
        0x00, 0x18, // total length 24
        0x12, 0x34, // identification
        0x40, 0x00, // DF, offset 0
        0x40, // TTL 64
        0x11, // protocol UDP
        0x00, 0x00, // checksum (filled in by `fixture`)
        0x0a, 0x00, 0x00, 0x01, // source 10.0.0.1
        0x0a, 0x00, 0x00, 0x02, // destination 10.0.0.2
        0xaa, 0xbb, 0xcc, 0xdd, // payload
        0x00, 0x00, // link padding, not part of the datagram
    ];

    fn fixture() -> [u8; 26] {
        let mut bytes = PACKET_BYTES;
        let sum = checksum::internet_checksum(&bytes[..20]);
        bytes[10..12].copy_from_slice(&sum.to_be_bytes());
        bytes
    }

    fn repr() -> Repr {
        Repr {
            src_addr: Address::new(10, 0, 0, 1),
            dst_addr: Address::new(10, 0, 0, 2),
            protocol: IpProtocol::Udp,
            payload_len: 4,
            ttl: 64,
            dscp: 11,
            ecn: 2,
            dont_frag: true,
        }
    }

    #[test]
    fn deconstruct() {
        let bytes = fixture();
        let packet = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(packet.version(), 4);
        assert_eq!(packet.ihl(), 5);
        assert_eq!(packet.header_len(), 20);
        assert_eq!(packet.dscp(), 11);
        assert_eq!(packet.ecn(), 2);
        assert_eq!(packet.total_len(), 24);
        assert_eq!(packet.ident(), 0x1234);
        assert!(packet.dont_frag());
        assert!(!packet.more_frags());
        assert_eq!(packet.frag_offset(), 0);
        assert_eq!(packet.ttl(), 64);
        assert_eq!(packet.protocol(), IpProtocol::Udp);
        assert_eq!(packet.src_addr(), Address::new(10, 0, 0, 1));
        assert_eq!(packet.dst_addr(), Address::new(10, 0, 0, 2));
        assert!(packet.options().is_empty());
        assert!(packet.verify_checksum());
        assert_eq!(packet.payload(), &[0xaa, 0xbb, 0xcc, 0xdd]);
    }

    #[test]
    fn construct() {
        let mut bytes = [0u8; 26];
        let mut packet = Packet::new_unchecked(&mut bytes[..]);
        packet.set_version(4);
        packet.set_header_len(20);
        packet.set_dscp(11);
        packet.set_ecn(2);
        packet.set_total_len(24);
        packet.set_ident(0x1234);
        packet.set_dont_frag(true);
        packet.set_more_frags(false);
        packet.set_frag_offset(0);
        packet.set_ttl(64);
        packet.set_protocol(IpProtocol::Udp);
        packet.set_src_addr(Address::new(10, 0, 0, 1));
        packet.set_dst_addr(Address::new(10, 0, 0, 2));
        packet
            .payload_mut()
            .copy_from_slice(&[0xaa, 0xbb, 0xcc, 0xdd]);
        packet.fill_checksum();
        assert_eq!(bytes, fixture());
    }

    #[test]
    fn parse_emit_round_trip() {
        let bytes = fixture();
        let packet = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(Repr::parse(&packet), Ok(repr()));

        let mut out = [0u8; 24];
        let mut packet = Packet::new_unchecked(&mut out[..]);
        repr().emit(&mut packet);
        packet
            .payload_mut()
            .copy_from_slice(&[0xaa, 0xbb, 0xcc, 0xdd]);
        let packet = Packet::new_checked(&out[..]).unwrap();
        assert!(packet.verify_checksum());
        assert_eq!(Repr::parse(&packet), Ok(repr()));
        assert_eq!(repr().buffer_len(), 24);
    }

    #[test]
    fn parse_rejects_bad_checksum_and_fragments() {
        let mut bytes = fixture();
        bytes[11] ^= 1;
        let packet = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(Repr::parse(&packet), Err(Error::BadChecksum));

        let mut bytes = fixture();
        let mut packet = Packet::new_unchecked(&mut bytes[..]);
        packet.set_more_frags(true);
        packet.fill_checksum();
        assert_eq!(
            Repr::parse(&Packet::new_unchecked(&bytes[..])),
            Err(Error::Unsupported)
        );

        let mut bytes = fixture();
        let mut packet = Packet::new_unchecked(&mut bytes[..]);
        packet.set_frag_offset(1480);
        assert_eq!(packet.frag_offset(), 1480);
        assert!(packet.dont_frag());
        packet.fill_checksum();
        assert_eq!(
            Repr::parse(&Packet::new_unchecked(&bytes[..])),
            Err(Error::Unsupported)
        );
    }

    #[test]
    fn truncated_at_every_length() {
        let bytes = fixture();
        for len in 0..HEADER_LEN {
            assert_eq!(Packet::new_checked(&bytes[..len]), Err(Error::Truncated));
        }
        for len in HEADER_LEN..24 {
            assert_eq!(Packet::new_checked(&bytes[..len]), Err(Error::BadLength));
        }
        assert!(Packet::new_checked(&bytes[..24]).is_ok());
    }

    #[test]
    fn lying_lengths() {
        let check = |edit: &dyn Fn(&mut [u8])| {
            let mut bytes = fixture();
            edit(&mut bytes);
            Packet::new_checked(&bytes[..]).map(|_| ())
        };
        assert_eq!(check(&|b| b[0] = 0x65), Err(Error::BadVersion));
        assert_eq!(check(&|b| b[0] = 0x44), Err(Error::BadLength)); // IHL 4
        assert_eq!(check(&|b| b[0] = 0x40), Err(Error::BadLength)); // IHL 0
        assert_eq!(check(&|b| b[0] = 0x47), Err(Error::BadLength)); // IHL 7 > total 24
        assert_eq!(check(&|b| b[3] = 19), Err(Error::BadLength)); // total < header
        assert_eq!(check(&|b| b[3] = 27), Err(Error::BadLength)); // total > buffer
        assert_eq!(check(&|b| b[2] = 0xff), Err(Error::BadLength));
        assert_eq!(check(&|b| b[3] = 26), Ok(())); // padding may count
        assert_eq!(check(&|b| b[3] = 20), Ok(())); // empty payload
    }

    #[test]
    fn options_are_skipped() {
        // IHL 6: one word of options (NOP NOP NOP EOL), then 2 payload bytes.
        let mut bytes = [0u8; 26];
        bytes[..20].copy_from_slice(&fixture()[..20]);
        bytes[0] = 0x46;
        bytes[3] = 26;
        bytes[20..24].copy_from_slice(&[1, 1, 1, 0]);
        bytes[24..].copy_from_slice(&[0xee, 0xff]);
        let mut packet = Packet::new_checked(&mut bytes[..]).unwrap();
        packet.fill_checksum();
        assert_eq!(packet.header_len(), 24);
        assert_eq!(packet.options(), &[1, 1, 1, 0]);
        assert_eq!(packet.payload(), &[0xee, 0xff]);
        assert!(packet.verify_checksum());
        assert_eq!(
            Repr::parse(&Packet::new_unchecked(&bytes[..]))
                .unwrap()
                .payload_len,
            2
        );
    }

    #[test]
    fn decrement_ttl_matches_full_recompute() {
        for ttl in [1u8, 2, 63, 64, 128, 255] {
            for ident in [0u16, 0x1234, 0xffff, 0xbeef] {
                let mut bytes = fixture();
                let mut packet = Packet::new_unchecked(&mut bytes[..]);
                packet.set_ttl(ttl);
                packet.set_ident(ident);
                packet.fill_checksum();
                assert_eq!(packet.decrement_ttl_incremental(), ttl - 1);
                let incremental = packet.checksum();
                packet.fill_checksum();
                assert_eq!(incremental, packet.checksum(), "ttl {ttl} ident {ident:#x}");
                assert_eq!(packet.ttl(), ttl - 1);
                assert!(packet.verify_checksum());
            }
        }
    }

    #[test]
    fn decrement_ttl_zero_is_unchanged() {
        let mut bytes = fixture();
        let mut packet = Packet::new_unchecked(&mut bytes[..]);
        packet.set_ttl(0);
        packet.fill_checksum();
        let before = packet.checksum();
        assert_eq!(packet.decrement_ttl_incremental(), 0);
        assert_eq!(packet.checksum(), before);
    }

    #[test]
    fn address_and_cidr() {
        let a: Address = "192.168.1.10".parse().unwrap();
        assert_eq!(a, Address::new(192, 168, 1, 10));
        assert_eq!(a.to_string(), "192.168.1.10");
        assert_eq!("1.2.3".parse::<Address>(), Err(Error::Malformed));
        assert_eq!("1.2.3.256".parse::<Address>(), Err(Error::Malformed));

        let net: Cidr = "192.168.0.0/16".parse().unwrap();
        assert!(net.contains(&a));
        assert!(!net.contains(&Address::new(192, 169, 0, 1)));
        assert_eq!(net.netmask(), Address::new(255, 255, 0, 0));
        assert_eq!(net.to_string(), "192.168.0.0/16");

        let host = Cidr::new(a, 32).unwrap();
        assert!(host.contains(&a) && !host.contains(&Address::new(192, 168, 1, 11)));
        let all = Cidr::new(a, 0).unwrap();
        assert!(all.contains(&Address::BROADCAST) && all.contains(&Address::UNSPECIFIED));
        assert_eq!(all.netmask(), Address::UNSPECIFIED);
        assert_eq!(
            Cidr::new(a, 24).unwrap().network(),
            Address::new(192, 168, 1, 0)
        );
        assert_eq!(Cidr::new(a, 33), Err(Error::Malformed));
        for bad in [
            "10.0.0.0",
            "10.0.0.0/",
            "10.0.0.0/33",
            "10.0.0.0/+8",
            "10.0.0/8",
        ] {
            assert_eq!(bad.parse::<Cidr>(), Err(Error::Malformed), "{bad}");
        }
    }

    #[test]
    fn protocol_round_trip() {
        for value in 0..=255u8 {
            assert_eq!(u8::from(IpProtocol::from(value)), value);
        }
        assert_eq!(IpProtocol::from(6), IpProtocol::Tcp);
        assert_eq!(IpProtocol::from(99), IpProtocol::Unknown(99));
    }
}
