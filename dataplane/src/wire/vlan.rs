//! IEEE 802.1Q VLAN tags (802.1Q-2018 §9.6) and an Ethernet + VLAN walk ([`l2_parse`]).
//!
//! The tag protocol identifier (0x8100, or 0x88A8 for an 802.1ad service tag) is the EtherType
//! field of whatever precedes the tag, so a [`Packet`] covers the 4 bytes after it: the tag
//! control information (PCP, DEI, VID) and the EtherType of what follows.
//!
//! Limits: [`l2_parse`] accepts at most two stacked tags (either TPID in either position) and
//! returns [`Error::TooManyVlans`] for a third.

use super::ethernet::{self, Address, EtherType};
use super::{Error, Result};

mod field {
    use super::super::Field;

    pub const TCI: Field = 0..2;
    pub const ETHERTYPE: Field = 2..4;
    pub const PAYLOAD: usize = 4;
}

/// The length of a VLAN tag after its TPID.
pub const HEADER_LEN: usize = field::PAYLOAD;

/// The largest VLAN identifier (0xFFF is reserved, but representable).
pub const VID_MAX: u16 = 0x0fff;

/// A view of a VLAN tag, starting after its TPID.
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

    /// `Err(Truncated)` if the buffer cannot hold the tag.
    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < HEADER_LEN {
            Err(Error::Truncated)
        } else {
            Ok(())
        }
    }

    /// Returns the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The tag length after the TPID (always 4).
    pub fn header_len(&self) -> usize {
        HEADER_LEN
    }

    /// The whole tag control information field.
    pub fn tci(&self) -> u16 {
        let d = &self.buffer.as_ref()[field::TCI];
        u16::from_be_bytes([d[0], d[1]])
    }

    /// Priority code point (3 bits).
    pub fn pcp(&self) -> u8 {
        (self.tci() >> 13) as u8
    }

    /// Drop eligible indicator.
    pub fn dei(&self) -> bool {
        self.tci() & 0x1000 != 0
    }

    /// VLAN identifier (12 bits).
    pub fn vid(&self) -> u16 {
        self.tci() & VID_MAX
    }

    /// The EtherType of what follows the tag.
    pub fn ethertype(&self) -> EtherType {
        let d = &self.buffer.as_ref()[field::ETHERTYPE];
        EtherType::from(u16::from_be_bytes([d[0], d[1]]))
    }

    /// Everything after the tag.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[field::PAYLOAD..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the whole tag control information field.
    pub fn set_tci(&mut self, value: u16) {
        self.buffer.as_mut()[field::TCI].copy_from_slice(&value.to_be_bytes());
    }

    /// Sets the priority code point (low 3 bits of `value`).
    pub fn set_pcp(&mut self, value: u8) {
        let tci = (self.tci() & 0x1fff) | (u16::from(value & 0x07) << 13);
        self.set_tci(tci);
    }

    /// Sets the drop eligible indicator.
    pub fn set_dei(&mut self, value: bool) {
        let tci = (self.tci() & !0x1000) | if value { 0x1000 } else { 0 };
        self.set_tci(tci);
    }

    /// Sets the VLAN identifier (low 12 bits of `value`).
    pub fn set_vid(&mut self, value: u16) {
        let tci = (self.tci() & !VID_MAX) | (value & VID_MAX);
        self.set_tci(tci);
    }

    /// Sets the EtherType of what follows the tag.
    pub fn set_ethertype(&mut self, value: EtherType) {
        self.buffer.as_mut()[field::ETHERTYPE].copy_from_slice(&u16::from(value).to_be_bytes());
    }

    /// Everything after the tag, mutably.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::PAYLOAD..]
    }
}

/// A parsed VLAN tag (without its TPID).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// Priority code point (0..=7).
    pub pcp: u8,
    /// Drop eligible indicator.
    pub dei: bool,
    /// VLAN identifier (0..=4095).
    pub vid: u16,
    /// EtherType of what follows.
    pub ethertype: EtherType,
}

impl Repr {
    /// Reads a checked tag.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &Packet<&T>) -> Result<Repr> {
        packet.check_len()?;
        Ok(Repr {
            pcp: packet.pcp(),
            dei: packet.dei(),
            vid: packet.vid(),
            ethertype: packet.ethertype(),
        })
    }

    /// The tag length after the TPID (always 4).
    pub const fn header_len(&self) -> usize {
        HEADER_LEN
    }

    /// The buffer length `emit` needs.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the tag; out-of-range `pcp` and `vid` are masked to their field widths.
    ///
    /// # Panics
    /// If the buffer is shorter than [`buffer_len`](Self::buffer_len).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]> + ?Sized>(&self, packet: &mut Packet<&mut T>) {
        let tci = (u16::from(self.pcp & 0x07) << 13)
            | if self.dei { 0x1000 } else { 0 }
            | (self.vid & VID_MAX);
        packet.set_tci(tci);
        packet.set_ethertype(self.ethertype);
    }
}

/// What [`l2_parse`] found in an Ethernet frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct L2Info {
    /// Destination MAC.
    pub dst: Address,
    /// Source MAC.
    pub src: Address,
    /// VLAN identifiers, outermost first; `None` where there is no tag.
    pub vlans: [Option<u16>; 2],
    /// The innermost EtherType (after all tags).
    pub ethertype: EtherType,
    /// The offset of the layer-3 header from the start of the frame.
    pub l3_offset: usize,
}

/// Walks an Ethernet header and at most two VLAN tags (TPID 0x8100 or 0x88A8).
///
/// Errors: [`Error::Truncated`] if the frame ends inside the header or a tag,
/// [`Error::TooManyVlans`] on a third tag. `l3_offset <= frame.len()` on success.
#[inline(always)]
pub fn l2_parse(frame: &[u8]) -> Result<L2Info> {
    let eth = ethernet::Frame::new_checked(frame)?;
    let mut info = L2Info {
        dst: eth.dst_addr(),
        src: eth.src_addr(),
        vlans: [None; 2],
        ethertype: eth.ethertype(),
        l3_offset: ethernet::HEADER_LEN,
    };
    let mut depth = 0;
    while info.ethertype.is_vlan_tag() {
        if depth == info.vlans.len() {
            return Err(Error::TooManyVlans);
        }
        let rest = frame.get(info.l3_offset..).unwrap_or_default();
        let tag = Packet::new_checked(rest)?;
        info.vlans[depth] = Some(tag.vid());
        info.ethertype = tag.ethertype();
        info.l3_offset += HEADER_LEN;
        depth += 1;
    }
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;

    // A tag: PCP 5, DEI 1, VID 100 (0x064), then IPv4; one payload byte.
    static TAG_BYTES: [u8; 5] = [
        0xb0, 0x64, // TCI: 101 1 000001100100
        0x08, 0x00, // ethertype: IPv4
        0x45, // payload
    ];

    fn repr() -> Repr {
        Repr {
            pcp: 5,
            dei: true,
            vid: 100,
            ethertype: EtherType::Ipv4,
        }
    }

    #[test]
    fn deconstruct() {
        let tag = Packet::new_checked(&TAG_BYTES[..]).unwrap();
        assert_eq!(tag.tci(), 0xb064);
        assert_eq!(tag.pcp(), 5);
        assert!(tag.dei());
        assert_eq!(tag.vid(), 100);
        assert_eq!(tag.ethertype(), EtherType::Ipv4);
        assert_eq!(tag.payload(), &[0x45]);
    }

    #[test]
    fn construct() {
        let mut bytes = [0u8; 5];
        let mut tag = Packet::new_unchecked(&mut bytes[..]);
        tag.set_vid(100);
        tag.set_dei(true);
        tag.set_pcp(5);
        tag.set_ethertype(EtherType::Ipv4);
        tag.payload_mut()[0] = 0x45;
        assert_eq!(bytes, TAG_BYTES);

        let mut tag = Packet::new_unchecked(&mut bytes[..]);
        tag.set_dei(false);
        tag.set_vid(0xfff);
        assert_eq!(tag.pcp(), 5);
        assert_eq!(tag.tci(), 0xafff);
    }

    #[test]
    fn parse_emit_round_trip() {
        let tag = Packet::new_checked(&TAG_BYTES[..]).unwrap();
        assert_eq!(Repr::parse(&tag).unwrap(), repr());
        let mut bytes = [0u8; 4];
        repr().emit(&mut Packet::new_unchecked(&mut bytes[..]));
        assert_eq!(bytes[..], TAG_BYTES[..4]);
    }

    #[test]
    fn truncated() {
        for len in 0..HEADER_LEN {
            assert_eq!(
                Packet::new_checked(&TAG_BYTES[..len]),
                Err(Error::Truncated)
            );
        }
    }

    fn frame(tpids: &[u16], vids: &[u16], inner: u16) -> Vec<u8> {
        let mut f = vec![0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01];
        for (tpid, vid) in tpids.iter().zip(vids) {
            f.extend_from_slice(&tpid.to_be_bytes());
            f.extend_from_slice(&vid.to_be_bytes());
        }
        f.extend_from_slice(&inner.to_be_bytes());
        f.extend_from_slice(&[0x45, 0x00]);
        f
    }

    #[test]
    fn l2_untagged() {
        let f = frame(&[], &[], 0x0800);
        let info = l2_parse(&f).unwrap();
        assert_eq!(info.dst, Address([0x02, 0, 0, 0, 0, 0x02]));
        assert_eq!(info.src, Address([0x02, 0, 0, 0, 0, 0x01]));
        assert_eq!(info.vlans, [None, None]);
        assert_eq!(info.ethertype, EtherType::Ipv4);
        assert_eq!(info.l3_offset, 14);
    }

    #[test]
    fn l2_single_and_double_tag() {
        let f = frame(&[0x8100], &[0x2064], 0x86dd);
        let info = l2_parse(&f).unwrap();
        assert_eq!(info.vlans, [Some(100), None]);
        assert_eq!(info.ethertype, EtherType::Ipv6);
        assert_eq!(info.l3_offset, 18);

        let f = frame(&[0x88a8, 0x8100], &[0x0010, 0xf020], 0x894f);
        let info = l2_parse(&f).unwrap();
        assert_eq!(info.vlans, [Some(16), Some(32)]);
        assert_eq!(info.ethertype, EtherType::Nsh);
        assert_eq!(info.l3_offset, 22);
        assert_eq!(&f[info.l3_offset..], &[0x45, 0x00]);
    }

    #[test]
    fn l2_third_tag_is_rejected() {
        let f = frame(&[0x88a8, 0x8100, 0x8100], &[1, 2, 3], 0x0800);
        assert_eq!(l2_parse(&f), Err(Error::TooManyVlans));
    }

    #[test]
    fn l2_truncated_at_every_boundary() {
        let f = frame(&[0x88a8, 0x8100], &[1, 2], 0x0800);
        // The header ends at 22; anything shorter stops inside the Ethernet header or a tag.
        for len in 0..22 {
            assert_eq!(l2_parse(&f[..len]), Err(Error::Truncated), "len {len}");
        }
        let info = l2_parse(&f[..22]).unwrap();
        assert_eq!(info.l3_offset, 22);
    }
}
