//! VXLAN Generic Protocol Extension headers (draft-ietf-nvo3-vxlan-gpe-13 §3.2).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |R|R|Ver|I|P|B|O|           Reserved            | Next Protocol |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                VXLAN Network Identifier (VNI) |   Reserved    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! Limits: only version 0 exists; [`Packet::new_checked`] rejects any other with
//! [`Error::BadVersion`] (§3.2: a receiver drops versions it does not support). The view does
//! not require the I and P flags; [`Repr::parse`] does. Reserved bits are ignored on receipt and
//! written as zero by [`Repr::emit`]. The UDP port is [`super::udp::VXLAN_GPE_PORT`].

use super::{Error, Result};

/// The VXLAN-GPE Next Protocol field (IANA "VXLAN-GPE Next Protocol").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NextProtocol {
    /// 0x01.
    Ipv4,
    /// 0x02.
    Ipv6,
    /// 0x03.
    Ethernet,
    /// 0x04, Network Service Header (RFC 8300).
    Nsh,
    /// Any other value.
    Unknown(u8),
}

impl From<u8> for NextProtocol {
    fn from(value: u8) -> Self {
        match value {
            0x01 => NextProtocol::Ipv4,
            0x02 => NextProtocol::Ipv6,
            0x03 => NextProtocol::Ethernet,
            0x04 => NextProtocol::Nsh,
            other => NextProtocol::Unknown(other),
        }
    }
}

impl From<NextProtocol> for u8 {
    fn from(value: NextProtocol) -> Self {
        match value {
            NextProtocol::Ipv4 => 0x01,
            NextProtocol::Ipv6 => 0x02,
            NextProtocol::Ethernet => 0x03,
            NextProtocol::Nsh => 0x04,
            NextProtocol::Unknown(other) => other,
        }
    }
}

pub mod field {
    use super::super::Field;

    pub const FLAGS: usize = 0;
    pub const NEXT_PROTOCOL: usize = 3;
    pub const VNI: Field = 4..7;
    pub const PAYLOAD: usize = 8;
}

const FLAG_I: u8 = 0x08;
/// P: the Next Protocol field is present.
pub const FLAG_P: u8 = 0x04;
const FLAG_B: u8 = 0x02;
const FLAG_O: u8 = 0x01;
const VERSION_SHIFT: u8 = 4;
/// The two version bits of the flags byte.
pub const VERSION_MASK: u8 = 0x30;

/// The length of a VXLAN-GPE header.
pub const HEADER_LEN: usize = field::PAYLOAD;

/// The largest 24-bit VNI.
pub const VNI_MAX: u32 = 0x00ff_ffff;

/// A view of a VXLAN-GPE packet.
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
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// [`Truncated`](Error::Truncated) if the buffer cannot hold 8 bytes,
    /// [`BadVersion`](Error::BadVersion) if the version is not 0.
    #[inline]
    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        if self.version() != 0 {
            return Err(Error::BadVersion);
        }
        Ok(())
    }

    /// Returns the buffer.
    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The header length (always 8).
    #[inline]
    pub fn header_len(&self) -> usize {
        HEADER_LEN
    }

    /// The whole flags byte.
    #[inline]
    pub fn flags(&self) -> u8 {
        self.buffer.as_ref()[field::FLAGS]
    }

    /// The version (2 bits).
    #[inline]
    pub fn version(&self) -> u8 {
        (self.flags() & VERSION_MASK) >> VERSION_SHIFT
    }

    /// I: the VNI is valid.
    #[inline]
    pub fn i_flag(&self) -> bool {
        self.flags() & FLAG_I != 0
    }

    /// P: the Next Protocol field is present.
    #[inline]
    pub fn p_flag(&self) -> bool {
        self.flags() & FLAG_P != 0
    }

    /// B: BUM traffic (ingress-replicated).
    #[inline]
    pub fn b_flag(&self) -> bool {
        self.flags() & FLAG_B != 0
    }

    /// O: an OAM packet.
    #[inline]
    pub fn o_flag(&self) -> bool {
        self.flags() & FLAG_O != 0
    }

    /// The Next Protocol field.
    #[inline]
    pub fn next_protocol(&self) -> NextProtocol {
        NextProtocol::from(self.buffer.as_ref()[field::NEXT_PROTOCOL])
    }

    /// The 24-bit VXLAN network identifier.
    #[inline]
    pub fn vni(&self) -> u32 {
        let d = &self.buffer.as_ref()[field::VNI];
        u32::from_be_bytes([0, d[0], d[1], d[2]])
    }

    /// The encapsulated packet.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[field::PAYLOAD..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the whole flags byte.
    #[inline]
    pub fn set_flags(&mut self, value: u8) {
        self.buffer.as_mut()[field::FLAGS] = value;
    }

    fn set_flag(&mut self, mask: u8, value: bool) {
        let flags = (self.flags() & !mask) | if value { mask } else { 0 };
        self.set_flags(flags);
    }

    /// Sets the version (low 2 bits of `value`).
    #[inline]
    pub fn set_version(&mut self, value: u8) {
        let flags = (self.flags() & !VERSION_MASK) | ((value << VERSION_SHIFT) & VERSION_MASK);
        self.set_flags(flags);
    }

    /// Sets the I flag.
    #[inline]
    pub fn set_i_flag(&mut self, value: bool) {
        self.set_flag(FLAG_I, value);
    }

    /// Sets the P flag.
    #[inline]
    pub fn set_p_flag(&mut self, value: bool) {
        self.set_flag(FLAG_P, value);
    }

    /// Sets the B flag.
    #[inline]
    pub fn set_b_flag(&mut self, value: bool) {
        self.set_flag(FLAG_B, value);
    }

    /// Sets the O flag.
    #[inline]
    pub fn set_o_flag(&mut self, value: bool) {
        self.set_flag(FLAG_O, value);
    }

    /// Sets the Next Protocol field.
    #[inline]
    pub fn set_next_protocol(&mut self, value: NextProtocol) {
        self.buffer.as_mut()[field::NEXT_PROTOCOL] = u8::from(value);
    }

    /// Sets the VNI (low 24 bits of `value`).
    #[inline]
    pub fn set_vni(&mut self, value: u32) {
        let b = (value & VNI_MAX).to_be_bytes();
        self.buffer.as_mut()[field::VNI].copy_from_slice(&b[1..]);
    }

    /// Zeroes both reserved fields.
    #[inline]
    pub fn clear_reserved(&mut self) {
        let d = self.buffer.as_mut();
        d[1] = 0;
        d[2] = 0;
        d[7] = 0;
        d[field::FLAGS] &= 0x3f;
    }

    /// The encapsulated packet, mutably.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::PAYLOAD..]
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// A parsed VXLAN-GPE header (I and P set, version 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// The 24-bit VNI.
    pub vni: u32,
    /// What follows.
    pub next_protocol: NextProtocol,
    /// O flag.
    pub oam: bool,
    /// B flag.
    pub bum: bool,
}

impl Repr {
    /// Reads a checked header; [`Malformed`](Error::Malformed) unless both I and P are set.
    #[inline]
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &Packet<&T>) -> Result<Repr> {
        packet.check_len()?;
        if !packet.i_flag() || !packet.p_flag() {
            return Err(Error::Malformed);
        }
        Ok(Repr {
            vni: packet.vni(),
            next_protocol: packet.next_protocol(),
            oam: packet.o_flag(),
            bum: packet.b_flag(),
        })
    }

    /// The header length (always 8).
    pub const fn header_len(&self) -> usize {
        HEADER_LEN
    }

    /// The buffer length `emit` needs.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the header: version 0, I and P set, reserved fields zero, VNI masked to 24 bits.
    ///
    /// # Panics
    /// If the buffer is shorter than the header.
    #[inline]
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]> + ?Sized>(&self, packet: &mut Packet<&mut T>) {
        packet.clear_reserved();
        packet.set_flags(
            FLAG_I | FLAG_P | if self.bum { FLAG_B } else { 0 } | if self.oam { FLAG_O } else { 0 },
        );
        packet.set_next_protocol(self.next_protocol);
        packet.set_vni(self.vni);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // I and P set, next protocol NSH, VNI 0x123456, followed by 2 payload bytes.
    static PACKET_BYTES: [u8; 10] = [
        0x0c, // R R Ver=00 I=1 P=1 B=0 O=0
        0x00, 0x00, // reserved
        0x04, // next protocol: NSH
        0x12, 0x34, 0x56, // VNI
        0x00, // reserved
        0x00, 0x06, // payload (the start of an NSH header)
    ];

    fn repr() -> Repr {
        Repr {
            vni: 0x12_3456,
            next_protocol: NextProtocol::Nsh,
            oam: false,
            bum: false,
        }
    }

    #[test]
    fn deconstruct() {
        let packet = Packet::new_checked(&PACKET_BYTES[..]).unwrap();
        assert_eq!(packet.version(), 0);
        assert!(packet.i_flag() && packet.p_flag());
        assert!(!packet.b_flag() && !packet.o_flag());
        assert_eq!(packet.next_protocol(), NextProtocol::Nsh);
        assert_eq!(packet.vni(), 0x12_3456);
        assert_eq!(packet.payload(), &[0x00, 0x06]);
    }

    #[test]
    fn construct() {
        let mut bytes = [0u8; 10];
        let mut packet = Packet::new_unchecked(&mut bytes[..]);
        packet.set_version(0);
        packet.set_i_flag(true);
        packet.set_p_flag(true);
        packet.set_o_flag(true);
        packet.set_b_flag(true);
        packet.set_o_flag(false);
        packet.set_b_flag(false);
        packet.set_next_protocol(NextProtocol::Nsh);
        packet.set_vni(0xff12_3456); // the top byte is dropped
        packet.payload_mut().copy_from_slice(&[0x00, 0x06]);
        assert_eq!(bytes, PACKET_BYTES);
    }

    #[test]
    fn parse_emit_round_trip() {
        let packet = Packet::new_checked(&PACKET_BYTES[..]).unwrap();
        assert_eq!(Repr::parse(&packet), Ok(repr()));

        let mut bytes = [0xffu8; 10];
        bytes[8..].copy_from_slice(&[0x00, 0x06]);
        repr().emit(&mut Packet::new_unchecked(&mut bytes[..]));
        assert_eq!(bytes, PACKET_BYTES);

        let oam = Repr {
            oam: true,
            bum: true,
            next_protocol: NextProtocol::Unknown(0x7f),
            ..repr()
        };
        let mut bytes = [0u8; 8];
        oam.emit(&mut Packet::new_unchecked(&mut bytes[..]));
        assert_eq!(bytes[0], 0x0f);
        assert_eq!(
            Repr::parse(&Packet::new_checked(&bytes[..]).unwrap()),
            Ok(oam)
        );
    }

    #[test]
    fn parse_requires_i_and_p() {
        for flags in [0x00u8, 0x08, 0x04] {
            let mut bytes = PACKET_BYTES;
            bytes[0] = flags;
            let packet = Packet::new_checked(&bytes[..]).unwrap();
            assert_eq!(Repr::parse(&packet), Err(Error::Malformed));
        }
    }

    #[test]
    fn truncated_and_bad_version() {
        for len in 0..HEADER_LEN {
            assert_eq!(
                Packet::new_checked(&PACKET_BYTES[..len]),
                Err(Error::Truncated)
            );
        }
        assert!(Packet::new_checked(&PACKET_BYTES[..HEADER_LEN])
            .unwrap()
            .payload()
            .is_empty());
        for version in 1..=3u8 {
            let mut bytes = PACKET_BYTES;
            Packet::new_unchecked(&mut bytes[..]).set_version(version);
            assert_eq!(Packet::new_checked(&bytes[..]), Err(Error::BadVersion));
        }
        // Reserved bits do not matter on receipt.
        let mut bytes = PACKET_BYTES;
        bytes[0] |= 0xc0;
        bytes[1] = 0xff;
        bytes[7] = 0xff;
        assert_eq!(
            Repr::parse(&Packet::new_checked(&bytes[..]).unwrap()),
            Ok(repr())
        );
    }

    #[test]
    fn next_protocol_round_trip() {
        for value in 0..=255u8 {
            assert_eq!(u8::from(NextProtocol::from(value)), value);
        }
    }
}
