//! A minimal TCP header view (RFC 9293 §3.1): ports, sequence numbers, data offset and flags.
//!
//! Limits: enough for classification and flow hashing only. Options are skipped via the data
//! offset, never interpreted; the checksum is exposed but not computed or verified here; the
//! [`Repr`] emits a 20-byte header without options.

use super::{Error, Result};

/// FIN flag bit (in [`Packet::flags`]).
pub const FLAG_FIN: u8 = 0x01;
/// SYN flag bit.
pub const FLAG_SYN: u8 = 0x02;
/// RST flag bit.
pub const FLAG_RST: u8 = 0x04;
/// PSH flag bit.
pub const FLAG_PSH: u8 = 0x08;
/// ACK flag bit.
pub const FLAG_ACK: u8 = 0x10;
/// URG flag bit.
pub const FLAG_URG: u8 = 0x20;
/// ECE flag bit.
pub const FLAG_ECE: u8 = 0x40;
/// CWR flag bit.
pub const FLAG_CWR: u8 = 0x80;

mod field {
    use super::super::Field;

    pub const SRC_PORT: Field = 0..2;
    pub const DST_PORT: Field = 2..4;
    pub const SEQ_NUM: Field = 4..8;
    pub const ACK_NUM: Field = 8..12;
    pub const DATA_OFFSET: usize = 12;
    pub const FLAGS: usize = 13;
    pub const WINDOW: Field = 14..16;
    pub const CHECKSUM: Field = 16..18;
    pub const URGENT: Field = 18..20;
}

/// The length of a TCP header without options.
pub const HEADER_LEN: usize = field::URGENT.end;

/// A view of a TCP segment.
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

    /// [`Truncated`](Error::Truncated) if the buffer cannot hold 20 bytes,
    /// [`BadLength`](Error::BadLength) if the data offset is below 5 words or past the buffer.
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let header_len = self.header_len();
        if header_len < HEADER_LEN || header_len > len {
            return Err(Error::BadLength);
        }
        Ok(())
    }

    /// Returns the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn read_u16(&self, range: super::Field) -> u16 {
        let d = &self.buffer.as_ref()[range];
        u16::from_be_bytes([d[0], d[1]])
    }

    fn read_u32(&self, range: super::Field) -> u32 {
        let d = &self.buffer.as_ref()[range];
        u32::from_be_bytes([d[0], d[1], d[2], d[3]])
    }

    /// The source port.
    pub fn src_port(&self) -> u16 {
        self.read_u16(field::SRC_PORT)
    }

    /// The destination port.
    pub fn dst_port(&self) -> u16 {
        self.read_u16(field::DST_PORT)
    }

    /// The sequence number.
    pub fn seq_number(&self) -> u32 {
        self.read_u32(field::SEQ_NUM)
    }

    /// The acknowledgment number.
    pub fn ack_number(&self) -> u32 {
        self.read_u32(field::ACK_NUM)
    }

    /// The data offset field, in 4-byte words.
    pub fn data_offset(&self) -> u8 {
        self.buffer.as_ref()[field::DATA_OFFSET] >> 4
    }

    /// The header length in bytes, options included.
    pub fn header_len(&self) -> usize {
        usize::from(self.data_offset()) * 4
    }

    /// The eight flag bits (`FLAG_*`).
    pub fn flags(&self) -> u8 {
        self.buffer.as_ref()[field::FLAGS]
    }

    /// FIN.
    pub fn fin(&self) -> bool {
        self.flags() & FLAG_FIN != 0
    }

    /// SYN.
    pub fn syn(&self) -> bool {
        self.flags() & FLAG_SYN != 0
    }

    /// RST.
    pub fn rst(&self) -> bool {
        self.flags() & FLAG_RST != 0
    }

    /// PSH.
    pub fn psh(&self) -> bool {
        self.flags() & FLAG_PSH != 0
    }

    /// ACK.
    pub fn ack(&self) -> bool {
        self.flags() & FLAG_ACK != 0
    }

    /// URG.
    pub fn urg(&self) -> bool {
        self.flags() & FLAG_URG != 0
    }

    /// The window field.
    pub fn window_len(&self) -> u16 {
        self.read_u16(field::WINDOW)
    }

    /// The checksum field.
    pub fn checksum(&self) -> u16 {
        self.read_u16(field::CHECKSUM)
    }

    /// The urgent pointer.
    pub fn urgent_at(&self) -> u16 {
        self.read_u16(field::URGENT)
    }

    /// The options bytes.
    pub fn options(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..self.header_len()]
    }

    /// Everything after the header.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.header_len()..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    fn write_u16(&mut self, range: super::Field, value: u16) {
        self.buffer.as_mut()[range].copy_from_slice(&value.to_be_bytes());
    }

    fn write_u32(&mut self, range: super::Field, value: u32) {
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

    /// Sets the sequence number.
    pub fn set_seq_number(&mut self, value: u32) {
        self.write_u32(field::SEQ_NUM, value);
    }

    /// Sets the acknowledgment number.
    pub fn set_ack_number(&mut self, value: u32) {
        self.write_u32(field::ACK_NUM, value);
    }

    /// Sets the header length in bytes (a multiple of 4, at most 60); clears the reserved bits.
    pub fn set_header_len(&mut self, value: usize) {
        self.buffer.as_mut()[field::DATA_OFFSET] = ((value / 4) as u8) << 4;
    }

    /// Sets the eight flag bits.
    pub fn set_flags(&mut self, value: u8) {
        self.buffer.as_mut()[field::FLAGS] = value;
    }

    /// Sets the window field.
    pub fn set_window_len(&mut self, value: u16) {
        self.write_u16(field::WINDOW, value);
    }

    /// Sets the checksum field.
    pub fn set_checksum(&mut self, value: u16) {
        self.write_u16(field::CHECKSUM, value);
    }

    /// Sets the urgent pointer.
    pub fn set_urgent_at(&mut self, value: u16) {
        self.write_u16(field::URGENT, value);
    }

    /// Everything after the header, mutably.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let start = self.header_len();
        &mut self.buffer.as_mut()[start..]
    }
}

/// A parsed TCP header (options dropped, checksum not verified).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number.
    pub seq_number: u32,
    /// Acknowledgment number.
    pub ack_number: u32,
    /// Flag bits (`FLAG_*`).
    pub flags: u8,
    /// Window.
    pub window_len: u16,
}

impl Repr {
    /// Reads a checked segment.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &Packet<&T>) -> Result<Repr> {
        packet.check_len()?;
        Ok(Repr {
            src_port: packet.src_port(),
            dst_port: packet.dst_port(),
            seq_number: packet.seq_number(),
            ack_number: packet.ack_number(),
            flags: packet.flags(),
            window_len: packet.window_len(),
        })
    }

    /// The emitted header length (always 20).
    pub const fn header_len(&self) -> usize {
        HEADER_LEN
    }

    /// The buffer length `emit` needs.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes a 20-byte header with a zero checksum and urgent pointer.
    ///
    /// # Panics
    /// If the buffer is shorter than the header.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]> + ?Sized>(&self, packet: &mut Packet<&mut T>) {
        packet.set_src_port(self.src_port);
        packet.set_dst_port(self.dst_port);
        packet.set_seq_number(self.seq_number);
        packet.set_ack_number(self.ack_number);
        packet.set_header_len(HEADER_LEN);
        packet.set_flags(self.flags);
        packet.set_window_len(self.window_len);
        packet.set_checksum(0);
        packet.set_urgent_at(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // 40000 -> 80, SYN|ACK, data offset 6 (one word of options: MSS 1460), 2 payload bytes.
    static SEGMENT_BYTES: [u8; 26] = [
        0x9c, 0x40, // source port 40000
        0x00, 0x50, // destination port 80
        0x01, 0x02, 0x03, 0x04, // sequence number
        0x0a, 0x0b, 0x0c, 0x0d, // acknowledgment number
        0x60, // data offset 6
        0x12, // flags: SYN | ACK
        0xff, 0xff, // window
        0x00, 0x00, // checksum
        0x00, 0x00, // urgent pointer
        0x02, 0x04, 0x05, 0xb4, // option: MSS 1460
        0x68, 0x69, // payload "hi"
    ];

    #[test]
    fn deconstruct() {
        let packet = Packet::new_checked(&SEGMENT_BYTES[..]).unwrap();
        assert_eq!(packet.src_port(), 40000);
        assert_eq!(packet.dst_port(), 80);
        assert_eq!(packet.seq_number(), 0x0102_0304);
        assert_eq!(packet.ack_number(), 0x0a0b_0c0d);
        assert_eq!(packet.data_offset(), 6);
        assert_eq!(packet.header_len(), 24);
        assert!(packet.syn() && packet.ack());
        assert!(!packet.fin() && !packet.rst() && !packet.psh() && !packet.urg());
        assert_eq!(packet.flags(), FLAG_SYN | FLAG_ACK);
        assert_eq!(packet.window_len(), 0xffff);
        assert_eq!(packet.checksum(), 0);
        assert_eq!(packet.urgent_at(), 0);
        assert_eq!(packet.options(), &[0x02, 0x04, 0x05, 0xb4]);
        assert_eq!(packet.payload(), b"hi");
    }

    #[test]
    fn construct() {
        let mut bytes = [0xa5u8; 26];
        let mut packet = Packet::new_unchecked(&mut bytes[..]);
        packet.set_src_port(40000);
        packet.set_dst_port(80);
        packet.set_seq_number(0x0102_0304);
        packet.set_ack_number(0x0a0b_0c0d);
        packet.set_header_len(24);
        packet.set_flags(FLAG_SYN | FLAG_ACK);
        packet.set_window_len(0xffff);
        packet.set_checksum(0);
        packet.set_urgent_at(0);
        packet.payload_mut().copy_from_slice(b"hi");
        bytes[20..24].copy_from_slice(&[0x02, 0x04, 0x05, 0xb4]);
        assert_eq!(bytes, SEGMENT_BYTES);
    }

    #[test]
    fn parse_emit_round_trip() {
        let repr = Repr::parse(&Packet::new_checked(&SEGMENT_BYTES[..]).unwrap()).unwrap();
        assert_eq!(repr.flags, FLAG_SYN | FLAG_ACK);
        let mut bytes = [0xa5u8; 20];
        repr.emit(&mut Packet::new_unchecked(&mut bytes[..]));
        let packet = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(Repr::parse(&packet), Ok(repr));
        assert_eq!(bytes[..12], SEGMENT_BYTES[..12]);
        assert_eq!(packet.header_len(), 20);
    }

    #[test]
    fn truncated_and_lying_lengths() {
        for len in 0..HEADER_LEN {
            assert_eq!(
                Packet::new_checked(&SEGMENT_BYTES[..len]),
                Err(Error::Truncated)
            );
        }
        for len in HEADER_LEN..24 {
            assert_eq!(
                Packet::new_checked(&SEGMENT_BYTES[..len]),
                Err(Error::BadLength)
            );
        }
        for offset in [0x00u8, 0x40, 0x70, 0xf0] {
            let mut bytes = SEGMENT_BYTES;
            bytes[12] = offset;
            assert_eq!(
                Packet::new_checked(&bytes[..]),
                Err(Error::BadLength),
                "{offset:#x}"
            );
        }
        let packet = Packet::new_checked(&SEGMENT_BYTES[..24]).unwrap();
        assert!(packet.payload().is_empty());
    }
}
