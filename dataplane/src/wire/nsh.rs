//! Network Service Header (RFC 8300 §2): base header, service path header, and the MD type 1
//! (§2.4) and MD type 2 (§2.5) context headers.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |Ver|O|U|    TTL    |   Length  |U|U|U|U|MD Type| Next Protocol |  base header (§2.2)
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |          Service Path Identifier (SPI)        | Service Index |  service path (§2.3)
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                   Context Headers (Length - 2 words)          |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!
//! MD type 2 context header (TLV, §2.5.1), repeated, each value padded to 4 bytes:
//! |          Metadata Class       |      Type     |U|    Length   |
//! |                   Variable-Length Metadata                    |
//! ```
//!
//! [`Packet::new_checked`] validates everything the accessors and the TLV iterator rely on:
//! buffer >= 8 bytes ([`Error::Truncated`]); version 0 ([`Error::BadVersion`]); MD type not
//! 0x0 (reserved) or 0xF (experimental) ([`Error::BadMdType`]); Length >= 2 words, within the
//! buffer, and exactly 6 for MD type 1 ([`Error::BadLength`]); for MD type 2, every TLV
//! including its padding within Length ([`Error::TlvOverrun`]). After it succeeds no accessor
//! panics. The view never allocates; [`Repr`] does (MD type 2 metadata is a `Vec`).
//!
//! Limits: unassigned (U) bits are ignored on receipt and written as zero; the TLV U bit is not
//! exposed. Other MD types (0x3..=0xE) pass `new_checked` (their context is skipped using
//! Length, §2.2) but [`Repr::parse`] rejects them with [`Error::BadMdType`].

use super::{Error, Result};

/// The RFC 8300 §2.2 recommended initial TTL.
pub const DEFAULT_TTL: u8 = 63;

/// The largest TTL (6 bits).
pub const TTL_MAX: u8 = 0x3f;

/// The largest 24-bit Service Path Identifier.
pub const SPI_MAX: u32 = 0x00ff_ffff;

/// The length of the base header plus the service path header.
pub const HEADER_LEN: usize = field::CONTEXT;

/// The total header length with MD type 1 (6 words).
pub const MD1_HEADER_LEN: usize = field::MD1_CONTEXT.end;

/// The largest header length (63 words).
pub const MAX_HEADER_LEN: usize = 63 * 4;

/// The length of an MD type 2 TLV header.
pub const TLV_HEADER_LEN: usize = 4;

/// The largest MD type 2 TLV value length (7 bits).
pub const TLV_VALUE_MAX: usize = 0x7f;

/// The MD Type field (IANA "NSH MD Types").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MdType {
    /// 0x1: fixed 16-byte context.
    Md1,
    /// 0x2: variable-length TLV context.
    Md2,
    /// Any other 4-bit value (0x0 reserved, 0xF experimental, the rest unassigned).
    Unknown(u8),
}

impl From<u8> for MdType {
    fn from(value: u8) -> Self {
        match value {
            0x1 => MdType::Md1,
            0x2 => MdType::Md2,
            other => MdType::Unknown(other),
        }
    }
}

impl From<MdType> for u8 {
    fn from(value: MdType) -> Self {
        match value {
            MdType::Md1 => 0x1,
            MdType::Md2 => 0x2,
            MdType::Unknown(other) => other,
        }
    }
}

/// The NSH Next Protocol field (IANA "NSH Next Protocol", RFC 8300 §11.2.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NextProtocol {
    /// 0x01.
    Ipv4,
    /// 0x02.
    Ipv6,
    /// 0x03.
    Ethernet,
    /// 0x04.
    Nsh,
    /// 0x05.
    Mpls,
    /// 0xFE.
    Experiment1,
    /// 0xFF.
    Experiment2,
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
            0x05 => NextProtocol::Mpls,
            0xfe => NextProtocol::Experiment1,
            0xff => NextProtocol::Experiment2,
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
            NextProtocol::Mpls => 0x05,
            NextProtocol::Experiment1 => 0xfe,
            NextProtocol::Experiment2 => 0xff,
            NextProtocol::Unknown(other) => other,
        }
    }
}

pub mod field {
    use super::super::Field;

    /// Ver(2) O(1) U(1) TTL(6) Length(6).
    pub const VER_TTL_LEN: Field = 0..2;
    /// U(4) MD Type(4).
    pub const MD_TYPE: usize = 2;
    pub const NEXT_PROTOCOL: usize = 3;
    pub const SPI: Field = 4..7;
    pub const SI: usize = 7;
    pub const CONTEXT: usize = 8;
    pub const MD1_CONTEXT: Field = 8..24;

    // Within an MD type 2 TLV.
    pub const TLV_CLASS: Field = 0..2;
    pub const TLV_TYPE: usize = 2;
    pub const TLV_LEN: usize = 3;
    pub const TLV_VALUE: usize = 4;
}

const VERSION_SHIFT: u16 = 14;
const O_BIT: u16 = 0x2000;
const TTL_SHIFT: u16 = 6;
/// The TTL's bits in the header's first 16 bits (Ver 2, O 1, U 1, TTL 6, Length 6).
pub const TTL_MASK: u16 = 0x0fc0;
/// A TTL of one in those bits.
const TTL_ONE: u16 = 1 << TTL_SHIFT;
const LEN_MASK: u16 = 0x003f;
/// The version bits and the O bit in the header's first byte.
pub const VERSION_O_MASK: u8 = 0xe0;
/// The Length field's bits in the header's second byte.
pub const LEN_MASK_BYTE: u8 = LEN_MASK as u8;
/// The MD type's bits in its byte.
pub const MD_TYPE_MASK: u8 = 0x0f;
/// The Length of an MD type 1 header, in 4-byte words.
pub const MD1_LEN_WORDS: u8 = (MD1_HEADER_LEN / 4) as u8;

/// The TTL of the NSH header at the start of `header` (0 when it is shorter than 2 bytes), read
/// from the raw bytes: for the transit fast path, which checks the rest of the header by its
/// signature.
#[inline(always)]
pub fn ttl_of(header: &[u8]) -> u8 {
    match header.first_chunk::<2>() {
        Some(&w) => ((u16::from_be_bytes(w) & TTL_MASK) >> TTL_SHIFT) as u8,
        None => 0,
    }
}

/// Decrements, in place, the TTL of the NSH header at the start of `header`, whose TTL the
/// caller found above 0: one subtraction on the header's first 16 bits, which borrows nothing
/// from the bits around the TTL. Does nothing to a header shorter than 2 bytes.
#[inline(always)]
pub fn decrement_ttl_in_place(header: &mut [u8]) {
    if let Some(w) = header.first_chunk_mut::<2>() {
        let v = u16::from_be_bytes(*w);
        debug_assert!(v & TTL_MASK >= TTL_ONE);
        *w = (v - TTL_ONE).to_be_bytes();
    }
}
/// The value length's bits in a TLV's length byte.
pub const TLV_LEN_MASK: u8 = 0x7f;

/// Rounds a TLV value length up to its padded size.
const fn pad4(len: usize) -> usize {
    (len + 3) & !3
}

/// A view of an NSH packet.
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

    /// Validates the header as described in the [module documentation](self), in this order:
    /// `Truncated`, `BadVersion`, `BadMdType`, `BadLength`, `TlvOverrun`.
    #[inline]
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(Error::Truncated);
        }
        if self.version() != 0 {
            return Err(Error::BadVersion);
        }
        let md_type = self.md_type();
        if matches!(md_type, MdType::Unknown(0x0 | 0xf)) {
            return Err(Error::BadMdType);
        }
        let header_len = self.header_len();
        if header_len < HEADER_LEN || header_len > len {
            return Err(Error::BadLength);
        }
        match md_type {
            MdType::Md1 if header_len != MD1_HEADER_LEN => Err(Error::BadLength),
            MdType::Md2 => check_tlvs(&self.buffer.as_ref()[field::CONTEXT..header_len]),
            _ => Ok(()),
        }
    }

    /// Returns the buffer.
    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn ver_ttl_len(&self) -> u16 {
        let d = &self.buffer.as_ref()[field::VER_TTL_LEN];
        u16::from_be_bytes([d[0], d[1]])
    }

    /// The version (2 bits).
    #[inline]
    pub fn version(&self) -> u8 {
        (self.ver_ttl_len() >> VERSION_SHIFT) as u8
    }

    /// The O (OAM) bit.
    #[inline]
    pub fn o_bit(&self) -> bool {
        self.ver_ttl_len() & O_BIT != 0
    }

    /// The TTL (6 bits).
    #[inline]
    pub fn ttl(&self) -> u8 {
        ((self.ver_ttl_len() & TTL_MASK) >> TTL_SHIFT) as u8
    }

    /// The Length field, in 4-byte words.
    #[inline]
    pub fn len_words(&self) -> u8 {
        (self.ver_ttl_len() & LEN_MASK) as u8
    }

    /// The total header length in bytes (base, service path and context headers).
    #[inline]
    pub fn header_len(&self) -> usize {
        usize::from(self.len_words()) * 4
    }

    /// The MD type.
    #[inline]
    pub fn md_type(&self) -> MdType {
        MdType::from(self.buffer.as_ref()[field::MD_TYPE] & MD_TYPE_MASK)
    }

    /// The protocol of the payload.
    #[inline]
    pub fn next_protocol(&self) -> NextProtocol {
        NextProtocol::from(self.buffer.as_ref()[field::NEXT_PROTOCOL])
    }

    /// The 24-bit Service Path Identifier.
    #[inline]
    pub fn spi(&self) -> u32 {
        let d = &self.buffer.as_ref()[field::SPI];
        u32::from_be_bytes([0, d[0], d[1], d[2]])
    }

    /// The Service Index.
    #[inline]
    pub fn si(&self) -> u8 {
        self.buffer.as_ref()[field::SI]
    }

    /// The context headers: the bytes from offset 8 to the header length.
    #[inline]
    pub fn context(&self) -> &[u8] {
        &self.buffer.as_ref()[field::CONTEXT..self.header_len()]
    }

    /// The 16-byte fixed context of an MD type 1 header; `None` for other MD types (or a
    /// header too short to hold it).
    #[inline]
    pub fn md1_context(&self) -> Option<&[u8; 16]> {
        if self.md_type() != MdType::Md1 {
            return None;
        }
        self.buffer
            .as_ref()
            .get(field::MD1_CONTEXT)
            .and_then(|d| d.try_into().ok())
    }

    /// The MD type 2 context TLVs, in order; empty for other MD types. The iterator stops
    /// (without panicking) at the first TLV that overruns the header, which a checked packet
    /// never has.
    #[inline]
    pub fn md2_tlvs(&self) -> Md2TlvIter<'_> {
        let data = self.buffer.as_ref();
        let context = match self.md_type() {
            MdType::Md2 => data.get(field::CONTEXT..self.header_len()).unwrap_or(&[]),
            _ => &[],
        };
        Md2TlvIter { data: context }
    }

    /// The inner packet after the header.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.header_len()..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    fn set_ver_ttl_len(&mut self, value: u16) {
        self.buffer.as_mut()[field::VER_TTL_LEN].copy_from_slice(&value.to_be_bytes());
    }

    /// Sets the version (low 2 bits of `value`).
    #[inline]
    pub fn set_version(&mut self, value: u8) {
        let raw = (self.ver_ttl_len() & 0x3fff) | (u16::from(value & 0x03) << VERSION_SHIFT);
        self.set_ver_ttl_len(raw);
    }

    /// Sets the O bit.
    #[inline]
    pub fn set_o_bit(&mut self, value: bool) {
        let raw = (self.ver_ttl_len() & !O_BIT) | if value { O_BIT } else { 0 };
        self.set_ver_ttl_len(raw);
    }

    /// Sets the TTL (low 6 bits of `value`).
    #[inline]
    pub fn set_ttl(&mut self, value: u8) {
        let raw = (self.ver_ttl_len() & !TTL_MASK) | ((u16::from(value) << TTL_SHIFT) & TTL_MASK);
        self.set_ver_ttl_len(raw);
    }

    /// Decrements the TTL by one and returns the new value; 0 stays 0. RFC 8300 §2.2: the
    /// caller drops the packet when this returns 0.
    #[inline]
    pub fn decrement_ttl(&mut self) -> u8 {
        let ttl = self.ttl().saturating_sub(1);
        self.set_ttl(ttl);
        ttl
    }

    /// Sets the Length field in 4-byte words (low 6 bits of `value`).
    #[inline]
    pub fn set_len_words(&mut self, value: u8) {
        let raw = (self.ver_ttl_len() & !LEN_MASK) | (u16::from(value) & LEN_MASK);
        self.set_ver_ttl_len(raw);
    }

    /// Sets the MD type (low 4 bits); clears the unassigned bits beside it.
    #[inline]
    pub fn set_md_type(&mut self, value: MdType) {
        self.buffer.as_mut()[field::MD_TYPE] = u8::from(value) & MD_TYPE_MASK;
    }

    /// Sets the next protocol.
    #[inline]
    pub fn set_next_protocol(&mut self, value: NextProtocol) {
        self.buffer.as_mut()[field::NEXT_PROTOCOL] = u8::from(value);
    }

    /// Sets the SPI (low 24 bits of `value`).
    #[inline]
    pub fn set_spi(&mut self, value: u32) {
        let b = (value & SPI_MAX).to_be_bytes();
        self.buffer.as_mut()[field::SPI].copy_from_slice(&b[1..]);
    }

    /// Sets the Service Index.
    #[inline]
    pub fn set_si(&mut self, value: u8) {
        self.buffer.as_mut()[field::SI] = value;
    }

    /// The context headers, mutably.
    #[inline]
    pub fn context_mut(&mut self) -> &mut [u8] {
        let end = self.header_len();
        &mut self.buffer.as_mut()[field::CONTEXT..end]
    }

    /// The MD type 1 fixed context, mutably; `None` for other MD types.
    #[inline]
    pub fn md1_context_mut(&mut self) -> Option<&mut [u8; 16]> {
        if self.md_type() != MdType::Md1 {
            return None;
        }
        self.buffer
            .as_mut()
            .get_mut(field::MD1_CONTEXT)
            .and_then(|d| d.try_into().ok())
    }

    /// The inner packet, mutably.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let start = self.header_len();
        &mut self.buffer.as_mut()[start..]
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// Checks that the MD type 2 TLVs tile `context` exactly.
fn check_tlvs(mut context: &[u8]) -> Result<()> {
    while !context.is_empty() {
        if context.len() < TLV_HEADER_LEN {
            return Err(Error::TlvOverrun);
        }
        let len = TLV_HEADER_LEN + pad4(usize::from(context[field::TLV_LEN] & TLV_LEN_MASK));
        context = context.get(len..).ok_or(Error::TlvOverrun)?;
    }
    Ok(())
}

/// One MD type 2 context TLV, borrowed from the packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Md2Tlv<'a> {
    /// Metadata Class.
    pub class: u16,
    /// Type (defined by the class owner).
    pub tlv_type: u8,
    /// The value length in bytes, without padding (7 bits).
    pub len: u8,
    /// The value, `len` bytes, without padding.
    pub value: &'a [u8],
}

/// An iterator over MD type 2 TLVs; see [`Packet::md2_tlvs`].
#[derive(Debug, Clone)]
pub struct Md2TlvIter<'a> {
    data: &'a [u8],
}

impl<'a> Iterator for Md2TlvIter<'a> {
    type Item = Md2Tlv<'a>;

    fn next(&mut self) -> Option<Md2Tlv<'a>> {
        let data = core::mem::take(&mut self.data);
        let header = data.get(..TLV_HEADER_LEN)?;
        let len = header[field::TLV_LEN] & TLV_LEN_MASK;
        let value_end = field::TLV_VALUE + usize::from(len);
        let next = data.get(field::TLV_VALUE + pad4(usize::from(len))..)?;
        let value = &data[field::TLV_VALUE..value_end];
        self.data = next;
        Some(Md2Tlv {
            class: u16::from_be_bytes([header[0], header[1]]),
            tlv_type: header[field::TLV_TYPE],
            len,
            value,
        })
    }
}

/// An owned MD type 2 TLV.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Md2TlvRepr {
    /// Metadata Class.
    pub class: u16,
    /// Type.
    pub tlv_type: u8,
    /// The value (at most 127 bytes), without padding.
    pub value: Vec<u8>,
}

impl Md2TlvRepr {
    /// The TLV's size on the wire: header plus padded value.
    #[inline]
    pub fn wire_len(&self) -> usize {
        TLV_HEADER_LEN + pad4(self.value.len())
    }
}

impl From<Md2Tlv<'_>> for Md2TlvRepr {
    fn from(tlv: Md2Tlv<'_>) -> Self {
        Md2TlvRepr {
            class: tlv.class,
            tlv_type: tlv.tlv_type,
            value: tlv.value.to_vec(),
        }
    }
}

/// The context headers of an NSH [`Repr`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum NshMetadata {
    /// MD type 1: the 16-byte fixed context.
    Md1([u8; 16]),
    /// MD type 2: the TLVs, in order.
    Md2(Vec<Md2TlvRepr>),
}

/// A parsed NSH header (version 0, MD type 1 or 2).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Repr {
    /// O bit.
    pub o_bit: bool,
    /// TTL (6 bits).
    pub ttl: u8,
    /// Protocol of the payload.
    pub next_protocol: NextProtocol,
    /// Service Path Identifier (24 bits).
    pub spi: u32,
    /// Service Index.
    pub si: u8,
    /// Context headers.
    pub metadata: NshMetadata,
}

impl Repr {
    /// Reads a checked packet; [`BadMdType`](Error::BadMdType) for MD types other than 1 and 2.
    #[inline]
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &Packet<&T>) -> Result<Repr> {
        packet.check_len()?;
        let metadata = match packet.md_type() {
            MdType::Md1 => NshMetadata::Md1(*packet.md1_context().ok_or(Error::BadLength)?),
            MdType::Md2 => NshMetadata::Md2(packet.md2_tlvs().map(Md2TlvRepr::from).collect()),
            MdType::Unknown(_) => return Err(Error::BadMdType),
        };
        Ok(Repr {
            o_bit: packet.o_bit(),
            ttl: packet.ttl(),
            next_protocol: packet.next_protocol(),
            spi: packet.spi(),
            si: packet.si(),
            metadata,
        })
    }

    /// The MD type `emit` writes.
    #[inline]
    pub fn md_type(&self) -> MdType {
        match self.metadata {
            NshMetadata::Md1(_) => MdType::Md1,
            NshMetadata::Md2(_) => MdType::Md2,
        }
    }

    /// The header length in bytes.
    #[inline]
    pub fn header_len(&self) -> usize {
        match &self.metadata {
            NshMetadata::Md1(_) => MD1_HEADER_LEN,
            NshMetadata::Md2(tlvs) => {
                HEADER_LEN + tlvs.iter().map(Md2TlvRepr::wire_len).sum::<usize>()
            }
        }
    }

    /// The buffer length `emit` needs (the header; the payload is the caller's).
    #[inline]
    pub fn buffer_len(&self) -> usize {
        self.header_len()
    }

    /// Checks that the header is representable: TTL <= 63, SPI <= 24 bits, every TLV value
    /// <= 127 bytes ([`Malformed`](Error::Malformed)), header <= 252 bytes
    /// ([`BadLength`](Error::BadLength)).
    #[inline]
    pub fn check(&self) -> Result<()> {
        if self.ttl > TTL_MAX || self.spi > SPI_MAX {
            return Err(Error::Malformed);
        }
        if let NshMetadata::Md2(tlvs) = &self.metadata {
            if tlvs.iter().any(|t| t.value.len() > TLV_VALUE_MAX) {
                return Err(Error::Malformed);
            }
        }
        if self.header_len() > MAX_HEADER_LEN {
            return Err(Error::BadLength);
        }
        Ok(())
    }

    /// Writes the header (version 0, unassigned bits zero, TLV padding zero).
    ///
    /// # Panics
    /// If the buffer is shorter than [`buffer_len`](Self::buffer_len) or [`check`](Self::check)
    /// fails.
    #[inline]
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]> + ?Sized>(&self, packet: &mut Packet<&mut T>) {
        assert!(self.check().is_ok(), "NSH Repr not representable: {self:?}");
        let header_len = self.header_len();
        packet.set_ver_ttl_len(0);
        packet.set_o_bit(self.o_bit);
        packet.set_ttl(self.ttl);
        packet.set_len_words((header_len / 4) as u8);
        packet.set_md_type(self.md_type());
        packet.set_next_protocol(self.next_protocol);
        packet.set_spi(self.spi);
        packet.set_si(self.si);
        let context = packet.context_mut();
        match &self.metadata {
            NshMetadata::Md1(md1) => context.copy_from_slice(md1),
            NshMetadata::Md2(tlvs) => {
                let mut at = 0;
                for tlv in tlvs {
                    let dst = &mut context[at..at + tlv.wire_len()];
                    dst[field::TLV_CLASS].copy_from_slice(&tlv.class.to_be_bytes());
                    dst[field::TLV_TYPE] = tlv.tlv_type;
                    dst[field::TLV_LEN] = tlv.value.len() as u8;
                    let (value, padding) = dst[field::TLV_VALUE..].split_at_mut(tlv.value.len());
                    value.copy_from_slice(&tlv.value);
                    padding.fill(0);
                    at += tlv.wire_len();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // MD type 1, TTL 63, SPI 0x000123, SI 255, next protocol Ethernet, then 2 payload bytes.
    static MD1_BYTES: [u8; 26] = [
        0x0f, 0xc6, // Ver 0, O 0, U 0, TTL 63 (0b111111), Length 6 words
        0x01, // U 0000, MD type 1
        0x03, // next protocol: Ethernet
        0x00, 0x01, 0x23, // SPI 0x000123
        0xff, // SI 255
        0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, // fixed context
        0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, //
        0xca, 0xfe, // payload
    ];

    // MD type 2, O bit, TTL 5, Length 8 words, SPI 0xabcdef, SI 16, next protocol IPv4, with
    // three TLVs (4-byte value, 5-byte value padded to 8, empty value), then 1 payload byte.
    static MD2_BYTES: [u8; 33] = [
        0x21, 0x48, // Ver 0, O 1, U 0, TTL 5 (0b000101), Length 8 words
        0x02, // MD type 2
        0x01, // next protocol: IPv4
        0xab, 0xcd, 0xef, // SPI
        0x10, // SI 16
        0x01, 0x01, 0x01, 0x04, // TLV 1: class 0x0101, type 1, length 4
        0xde, 0xad, 0xbe, 0xef, //   value
        0xff, 0xff, 0x7f, 0x05, // TLV 2: class 0xffff, type 0x7f, length 5
        0x01, 0x02, 0x03, 0x04, //   value
        0x05, 0x00, 0x00, 0x00, //   value, 3 bytes of padding
        0x00, 0x00, 0x02, 0x00, // TLV 3: class 0, type 2, length 0
        0x45, // payload
    ];

    fn md1_repr() -> Repr {
        let mut context = [0u8; 16];
        for (i, b) in context.iter_mut().enumerate() {
            *b = i as u8 * 0x11;
        }
        Repr {
            o_bit: false,
            ttl: DEFAULT_TTL,
            next_protocol: NextProtocol::Ethernet,
            spi: 0x123,
            si: 255,
            metadata: NshMetadata::Md1(context),
        }
    }

    fn md2_repr() -> Repr {
        Repr {
            o_bit: true,
            ttl: 5,
            next_protocol: NextProtocol::Ipv4,
            spi: 0xab_cdef,
            si: 16,
            metadata: NshMetadata::Md2(vec![
                Md2TlvRepr {
                    class: 0x0101,
                    tlv_type: 1,
                    value: vec![0xde, 0xad, 0xbe, 0xef],
                },
                Md2TlvRepr {
                    class: 0xffff,
                    tlv_type: 0x7f,
                    value: vec![1, 2, 3, 4, 5],
                },
                Md2TlvRepr {
                    class: 0,
                    tlv_type: 2,
                    value: vec![],
                },
            ]),
        }
    }

    /// Calls every accessor and walks the TLVs: none may panic on a checked packet.
    fn touch_everything(packet: &Packet<&[u8]>) {
        let _ = (
            packet.version(),
            packet.o_bit(),
            packet.ttl(),
            packet.len_words(),
        );
        let _ = (
            packet.md_type(),
            packet.next_protocol(),
            packet.spi(),
            packet.si(),
        );
        let _ = (packet.context(), packet.md1_context(), packet.payload());
        let tlv_bytes: usize = packet
            .md2_tlvs()
            .map(|t| {
                assert_eq!(t.value.len(), usize::from(t.len));
                TLV_HEADER_LEN + pad4(t.value.len())
            })
            .sum();
        if packet.md_type() == MdType::Md2 {
            assert_eq!(tlv_bytes, packet.context().len());
        }
        let _ = Repr::parse(packet);
    }

    #[test]
    fn deconstruct_md1() {
        let packet = Packet::new_checked(&MD1_BYTES[..]).unwrap();
        assert_eq!(packet.version(), 0);
        assert!(!packet.o_bit());
        assert_eq!(packet.ttl(), 63);
        assert_eq!(packet.len_words(), 6);
        assert_eq!(packet.header_len(), 24);
        assert_eq!(packet.md_type(), MdType::Md1);
        assert_eq!(packet.next_protocol(), NextProtocol::Ethernet);
        assert_eq!(packet.spi(), 0x123);
        assert_eq!(packet.si(), 255);
        assert_eq!(packet.md1_context().unwrap()[..], MD1_BYTES[8..24]);
        assert_eq!(packet.md2_tlvs().count(), 0);
        assert_eq!(packet.payload(), &[0xca, 0xfe]);
    }

    #[test]
    fn deconstruct_md2() {
        let packet = Packet::new_checked(&MD2_BYTES[..]).unwrap();
        assert!(packet.o_bit());
        assert_eq!(packet.ttl(), 5);
        assert_eq!(packet.header_len(), 32);
        assert_eq!(packet.md_type(), MdType::Md2);
        assert_eq!(packet.next_protocol(), NextProtocol::Ipv4);
        assert_eq!(packet.spi(), 0xab_cdef);
        assert_eq!(packet.si(), 16);
        assert_eq!(packet.md1_context(), None);
        let tlvs: Vec<Md2Tlv> = packet.md2_tlvs().collect();
        assert_eq!(
            tlvs,
            [
                Md2Tlv {
                    class: 0x0101,
                    tlv_type: 1,
                    len: 4,
                    value: &[0xde, 0xad, 0xbe, 0xef]
                },
                Md2Tlv {
                    class: 0xffff,
                    tlv_type: 0x7f,
                    len: 5,
                    value: &[1, 2, 3, 4, 5]
                },
                Md2Tlv {
                    class: 0,
                    tlv_type: 2,
                    len: 0,
                    value: &[]
                },
            ]
        );
        assert_eq!(packet.payload(), &[0x45]);
    }

    #[test]
    fn construct_md1() {
        let mut bytes = [0u8; 26];
        let mut packet = Packet::new_unchecked(&mut bytes[..]);
        packet.set_version(0);
        packet.set_o_bit(false);
        packet.set_ttl(63);
        packet.set_len_words(6);
        packet.set_md_type(MdType::Md1);
        packet.set_next_protocol(NextProtocol::Ethernet);
        packet.set_spi(0xff00_0123); // the top byte is dropped
        packet.set_si(255);
        packet
            .md1_context_mut()
            .unwrap()
            .copy_from_slice(&MD1_BYTES[8..24]);
        packet.payload_mut().copy_from_slice(&[0xca, 0xfe]);
        assert_eq!(bytes, MD1_BYTES);
    }

    #[test]
    fn parse_emit_round_trip_md1() {
        let packet = Packet::new_checked(&MD1_BYTES[..]).unwrap();
        assert_eq!(Repr::parse(&packet), Ok(md1_repr()));
        assert_eq!(md1_repr().buffer_len(), 24);

        let mut bytes = [0xffu8; 26];
        bytes[24..].copy_from_slice(&[0xca, 0xfe]);
        md1_repr().emit(&mut Packet::new_unchecked(&mut bytes[..]));
        assert_eq!(bytes, MD1_BYTES);
    }

    #[test]
    fn parse_emit_round_trip_md2() {
        let packet = Packet::new_checked(&MD2_BYTES[..]).unwrap();
        assert_eq!(Repr::parse(&packet), Ok(md2_repr()));
        assert_eq!(md2_repr().header_len(), 32);

        let mut bytes = [0xffu8; 33];
        bytes[32] = 0x45;
        md2_repr().emit(&mut Packet::new_unchecked(&mut bytes[..]));
        assert_eq!(bytes, MD2_BYTES);
    }

    #[test]
    fn md2_without_tlvs() {
        let repr = Repr {
            metadata: NshMetadata::Md2(vec![]),
            ..md2_repr()
        };
        let mut bytes = [0u8; 8];
        repr.emit(&mut Packet::new_unchecked(&mut bytes[..]));
        let packet = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(packet.len_words(), 2);
        assert_eq!(packet.md2_tlvs().count(), 0);
        assert!(packet.payload().is_empty());
        assert_eq!(Repr::parse(&packet), Ok(repr));
    }

    #[test]
    fn ttl_on_raw_bytes() {
        let mut bytes = MD1_BYTES;
        let before = Packet::new_checked(&bytes[..]).unwrap().ttl();
        assert_eq!(ttl_of(&bytes), before);
        decrement_ttl_in_place(&mut bytes);
        let p = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(p.ttl(), before - 1);
        assert_eq!(p.len_words(), MD1_LEN_WORDS);
        assert_eq!(bytes[0] & VERSION_O_MASK, MD1_BYTES[0] & VERSION_O_MASK);
        assert_eq!(ttl_of(&bytes[..1]), 0);
    }

    #[test]
    fn ttl_and_si() {
        let mut bytes = MD1_BYTES;
        let mut packet = Packet::new_checked(&mut bytes[..]).unwrap();
        assert_eq!(packet.decrement_ttl(), 62);
        assert_eq!(packet.ttl(), 62);
        packet.set_ttl(1);
        assert_eq!(packet.decrement_ttl(), 0);
        assert_eq!(packet.decrement_ttl(), 0);
        packet.set_ttl(0xff); // masked to 6 bits
        assert_eq!(packet.ttl(), 63);
        packet.set_si(254);
        // Neighbouring fields are untouched.
        assert_eq!(packet.len_words(), 6);
        assert!(!packet.o_bit() && packet.version() == 0);
        assert_eq!(packet.spi(), 0x123);
        assert_eq!(packet.si(), 254);
        assert_eq!(packet.md_type(), MdType::Md1);
    }

    #[test]
    fn truncated_at_every_boundary() {
        for len in 0..HEADER_LEN {
            assert_eq!(
                Packet::new_checked(&MD1_BYTES[..len]),
                Err(Error::Truncated)
            );
            assert_eq!(
                Packet::new_checked(&MD2_BYTES[..len]),
                Err(Error::Truncated)
            );
        }
        for len in HEADER_LEN..24 {
            assert_eq!(
                Packet::new_checked(&MD1_BYTES[..len]),
                Err(Error::BadLength),
                "{len}"
            );
        }
        for len in HEADER_LEN..32 {
            assert_eq!(
                Packet::new_checked(&MD2_BYTES[..len]),
                Err(Error::BadLength),
                "{len}"
            );
        }
        assert!(Packet::new_checked(&MD1_BYTES[..24])
            .unwrap()
            .payload()
            .is_empty());
        assert!(Packet::new_checked(&MD2_BYTES[..32])
            .unwrap()
            .payload()
            .is_empty());
    }

    #[test]
    fn bad_version_and_md_type() {
        for version in 1..=3 {
            let mut bytes = MD1_BYTES;
            Packet::new_unchecked(&mut bytes[..]).set_version(version);
            assert_eq!(Packet::new_checked(&bytes[..]), Err(Error::BadVersion));
        }
        for md_type in [0x0u8, 0xf] {
            let mut bytes = MD1_BYTES;
            bytes[2] = md_type;
            assert_eq!(Packet::new_checked(&bytes[..]), Err(Error::BadMdType));
        }
        // Unassigned MD types pass the view (their context is skipped) but not the Repr.
        let mut bytes = MD2_BYTES;
        bytes[2] = 0x3;
        let packet = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(packet.md_type(), MdType::Unknown(3));
        assert_eq!(packet.md2_tlvs().count(), 0);
        assert_eq!(packet.md1_context(), None);
        assert_eq!(packet.payload(), &[0x45]);
        assert_eq!(Repr::parse(&packet), Err(Error::BadMdType));
        // The unassigned bits beside the MD type are ignored.
        let mut bytes = MD2_BYTES;
        bytes[2] = 0xf2;
        assert_eq!(
            Packet::new_checked(&bytes[..]).unwrap().md_type(),
            MdType::Md2
        );
    }

    #[test]
    fn lying_length_field() {
        // MD type 1 must be exactly 6 words, even when the buffer is long enough.
        for words in [0u8, 1, 2, 5, 7, 63] {
            let mut bytes = [0u8; 300];
            bytes[..26].copy_from_slice(&MD1_BYTES);
            Packet::new_unchecked(&mut bytes[..]).set_len_words(words);
            assert_eq!(
                Packet::new_checked(&bytes[..]),
                Err(Error::BadLength),
                "{words}"
            );
        }
        // MD type 2: below the 2-word minimum, or past the buffer.
        for words in [0u8, 1, 9, 63] {
            let mut bytes = MD2_BYTES;
            Packet::new_unchecked(&mut bytes[..]).set_len_words(words);
            assert_eq!(
                Packet::new_checked(&bytes[..]),
                Err(Error::BadLength),
                "{words}"
            );
        }
    }

    #[test]
    fn tlv_overrun() {
        // A TLV length running past the header length.
        for (at, len) in [(11usize, 21u8), (11, 0x7f), (19, 13), (31, 1), (31, 4)] {
            let mut bytes = MD2_BYTES;
            bytes[at] = len;
            assert_eq!(
                Packet::new_checked(&bytes[..]),
                Err(Error::TlvOverrun),
                "{at} {len}"
            );
            // The unchecked iterator stops instead of panicking.
            let packet = Packet::new_unchecked(&bytes[..]);
            assert!(packet.md2_tlvs().count() <= 3);
        }
        // Shrinking the header length cuts the last TLVs in half.
        for words in [3u8, 5, 6] {
            let mut bytes = MD2_BYTES;
            Packet::new_unchecked(&mut bytes[..]).set_len_words(words);
            assert_eq!(
                Packet::new_checked(&bytes[..]),
                Err(Error::TlvOverrun),
                "{words}"
            );
        }
        // ... unless the cut falls between TLVs.
        for (words, count) in [(2u8, 0usize), (4, 1), (7, 2)] {
            let mut bytes = MD2_BYTES;
            Packet::new_unchecked(&mut bytes[..]).set_len_words(words);
            let packet = Packet::new_checked(&bytes[..]).unwrap();
            assert_eq!(packet.md2_tlvs().count(), count);
            assert_eq!(
                packet.payload().len(),
                MD2_BYTES.len() - usize::from(words) * 4
            );
        }
        // A longer TLV length swallowing the next TLV still tiles the header.
        let mut bytes = MD2_BYTES;
        bytes[11] = 13; // TLV 1 now spans TLV 2
        assert_eq!(
            Packet::new_checked(&bytes[..]).unwrap().md2_tlvs().count(),
            2
        );
        // A shorter TLV length leaves the rest of the value to be read as another TLV header;
        // it still has to fit.
        let mut bytes = MD2_BYTES;
        bytes[11] = 0; // TLV 1 becomes empty; its old value 0xdeadbeef is a TLV of length 0x6f
        assert_eq!(Packet::new_checked(&bytes[..]), Err(Error::TlvOverrun));
        // The TLV U bit is not part of the length.
        let mut bytes = MD2_BYTES;
        bytes[11] |= 0x80;
        let packet = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(packet.md2_tlvs().next().unwrap().len, 4);
    }

    #[test]
    fn no_accessor_panics_after_new_checked() {
        // Every single-byte change of both fixtures' headers, at full and cut lengths.
        for fixture in [&MD1_BYTES[..], &MD2_BYTES[..]] {
            for at in 0..32.min(fixture.len()) {
                for value in 0..=255u8 {
                    let mut bytes = fixture.to_vec();
                    bytes[at] = value;
                    for len in [bytes.len(), 24, 12] {
                        if let Ok(packet) = Packet::new_checked(&bytes[..len]) {
                            touch_everything(&packet);
                        }
                    }
                }
            }
        }
        // Pseudo-random buffers with a valid version and MD type 2.
        let mut seed = 0x9e37_79b9u32;
        let mut accepted = 0;
        for _ in 0..20_000 {
            let mut bytes = [0u8; 64];
            for b in bytes.iter_mut() {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                *b = (seed >> 24) as u8;
            }
            bytes[0] &= 0x3f;
            bytes[1] = (bytes[1] & 0xc0) | (bytes[1] % 17);
            bytes[2] = 0x02;
            for b in bytes[8..].chunks_mut(4) {
                b[3] &= 0x8f; // keep TLV lengths small so that some walks succeed
            }
            if let Ok(packet) = Packet::new_checked(&bytes[..]) {
                touch_everything(&packet);
                accepted += 1;
            }
        }
        assert!(accepted > 100, "only {accepted} random headers accepted");
    }

    #[test]
    fn repr_check() {
        assert_eq!(md1_repr().check(), Ok(()));
        assert_eq!(md2_repr().check(), Ok(()));
        assert_eq!(
            Repr {
                ttl: 64,
                ..md1_repr()
            }
            .check(),
            Err(Error::Malformed)
        );
        assert_eq!(
            Repr {
                spi: 1 << 24,
                ..md1_repr()
            }
            .check(),
            Err(Error::Malformed)
        );
        let long_value = Md2TlvRepr {
            class: 1,
            tlv_type: 1,
            value: vec![0; 128],
        };
        let repr = Repr {
            metadata: NshMetadata::Md2(vec![long_value]),
            ..md2_repr()
        };
        assert_eq!(repr.check(), Err(Error::Malformed));
        // 2 TLVs of 4 + 124 bytes = 256 bytes of context: too long for 63 words.
        let big = Md2TlvRepr {
            class: 1,
            tlv_type: 1,
            value: vec![0; 124],
        };
        let repr = Repr {
            metadata: NshMetadata::Md2(vec![big.clone(), big.clone()]),
            ..md2_repr()
        };
        assert_eq!(repr.check(), Err(Error::BadLength));
        // The largest header fits exactly: 8 + 2 * 128 - 12 = 252 bytes.
        let fits = Repr {
            metadata: NshMetadata::Md2(vec![
                big.clone(),
                Md2TlvRepr {
                    value: vec![7; 112],
                    ..big
                },
            ]),
            ..md2_repr()
        };
        assert_eq!(fits.header_len(), MAX_HEADER_LEN);
        let mut bytes = [0u8; MAX_HEADER_LEN];
        fits.emit(&mut Packet::new_unchecked(&mut bytes[..]));
        let packet = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(packet.len_words(), 63);
        assert_eq!(Repr::parse(&packet), Ok(fits));
    }

    #[test]
    fn enums_round_trip() {
        for value in 0..=255u8 {
            assert_eq!(u8::from(NextProtocol::from(value)), value);
        }
        for value in 0..=15u8 {
            assert_eq!(u8::from(MdType::from(value)), value);
        }
        assert_eq!(NextProtocol::from(0xfe), NextProtocol::Experiment1);
        assert_eq!(NextProtocol::from(5), NextProtocol::Mpls);
    }
}
