//! Zero-copy views and plain representations of the headers qdp touches.
//!
//! Each protocol module follows the same two-level shape:
//!
//! * a view `Packet<T: AsRef<[u8]>>` (`Frame` for Ethernet) over a byte buffer, with getters on
//!   `AsRef<[u8]>` and setters on `AsRef<[u8]> + AsMut<[u8]>`. Field offsets live in one
//!   `mod field`, and no struct is ever cast onto packet memory;
//! * a plain `Repr` struct with `parse` (from a checked view) and `emit` (into a view).
//!
//! # Panic contract
//!
//! `Packet::new_unchecked` wraps any buffer; its accessors may panic if the buffer is too short.
//! `Packet::new_checked` validates the buffer and every length field the accessors rely on; once it
//! has returned `Ok`, **no accessor of that view panics**, whatever the bytes. Untrusted input
//! must always go through `new_checked`. `Repr::emit` panics if the buffer is shorter than
//! `Repr::buffer_len()` (a programming error, not an input error). Setters write what they are
//! given: a setter that moves a length field (say, past the end of the buffer) voids the
//! guarantee until the view is checked again.
//!
//! Modules:
//!
//! * [`ethernet`] and [`vlan`]: IEEE 802.3 / 802.1Q, plus [`l2_parse`];
//! * [`ipv4`] (RFC 791), [`ipv6`] (RFC 8200), [`udp`] (RFC 768), [`tcp`] (RFC 9293, ports and
//!   flags only);
//! * [`vxlan_gpe`] (draft-ietf-nvo3-vxlan-gpe) and [`nsh`] (RFC 8300);
//! * [`flow`]: the inner 5-tuple and its directional and symmetric hashes;
//! * [`checksum`]: the Internet checksum (RFC 1071) and its incremental update (RFC 1624).
//!
//! Limits: a view covers one contiguous buffer (multi-segment mbufs are not supported); IPv4
//! options and IPv6 extension headers are skipped, never interpreted.

#![deny(unsafe_code)]

use core::fmt;

pub mod encap;
pub mod ethernet;
pub mod flow;
pub mod ipv4;
pub mod ipv6;
pub mod nsh;
pub mod tcp;
pub mod udp;
pub mod vlan;
pub mod vxlan_gpe;

pub use self::ethernet::{
    Address as EthernetAddress, EtherType, Frame as EthernetFrame, Repr as EthernetRepr,
};
pub use self::flow::{FlowKey, IpFamily};
pub use self::ipv4::{
    Address as Ipv4Address, Cidr as Ipv4Cidr, IpProtocol, Packet as Ipv4Packet, Repr as Ipv4Repr,
};
pub use self::ipv6::{
    Address as Ipv6Address, Cidr as Ipv6Cidr, Packet as Ipv6Packet, Repr as Ipv6Repr,
};
pub use self::nsh::{
    Md2Tlv, Md2TlvRepr, MdType, NextProtocol as NshNextProtocol, NshMetadata, Packet as NshPacket,
    Repr as NshRepr,
};
pub use self::tcp::{Packet as TcpPacket, Repr as TcpRepr};
pub use self::udp::{Packet as UdpPacket, Repr as UdpRepr, VXLAN_GPE_PORT};
pub use self::vlan::{l2_parse, L2Info, Packet as VlanPacket, Repr as VlanRepr};
pub use self::vxlan_gpe::{
    NextProtocol as VxlanGpeNextProtocol, Packet as VxlanGpePacket, Repr as VxlanGpeRepr,
};

/// A byte range of a header field, relative to the start of the header.
pub type Field = core::ops::Range<usize>;

/// The bytes from an offset to the end of the buffer.
pub type Rest = core::ops::RangeFrom<usize>;

/// Why a buffer is not a valid header. Small and `Copy` so that a node can count it per reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Error {
    /// The buffer is shorter than the fixed part of the header.
    Truncated,
    /// A length field is inconsistent: smaller than the header it describes, or running past the
    /// end of the buffer.
    BadLength,
    /// The version field holds a version this module does not implement.
    BadVersion,
    /// The header checksum does not verify.
    BadChecksum,
    /// NSH MD Type 0x0 or 0xF (reserved / experimental), or an MD type a `Repr` cannot hold.
    BadMdType,
    /// An NSH MD type 2 context TLV runs past the NSH header length.
    TlvOverrun,
    /// More than two stacked VLAN tags.
    TooManyVlans,
    /// A field holds a value that is well-formed but not supported here (for example a flow key
    /// over a non-IP ethertype, or an IPv4 fragment in `Ipv4Repr`).
    Unsupported,
    /// Anything else that does not parse: a textual address, a flag combination a `Repr`
    /// requires, a prefix length out of range.
    Malformed,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            Error::Truncated => "buffer shorter than the header",
            Error::BadLength => "length field inconsistent with the header or the buffer",
            Error::BadVersion => "unsupported version",
            Error::BadChecksum => "checksum does not verify",
            Error::BadMdType => "reserved or unsupported NSH MD type",
            Error::TlvOverrun => "NSH metadata TLV runs past the header length",
            Error::TooManyVlans => "more than two VLAN tags",
            Error::Unsupported => "unsupported field value",
            Error::Malformed => "malformed field",
        };
        f.write_str(text)
    }
}

impl std::error::Error for Error {}

/// The result type of every fallible function in [`wire`](self).
pub type Result<T> = core::result::Result<T, Error>;

/// The Internet checksum (RFC 1071) and its incremental update (RFC 1624).
///
/// Sums are kept folded to 16 bits and not complemented until
/// [`finish`](checksum::finish) (or [`internet_checksum`](checksum::internet_checksum)), so
/// partial sums over disjoint slices can be combined with [`combine`](checksum::combine), as
/// the UDP/TCP pseudo-header requires. Each slice is summed as if it started at an even offset.
pub mod checksum {
    use super::ipv4::{Address as Ipv4Address, IpProtocol};
    use super::ipv6::Address as Ipv6Address;

    /// Folds a wide accumulator into a 16-bit ones' complement sum (end-around carry), without
    /// a branch: 64 to 32 bits, then 32 to 16, each adding its carry back. Neither carry-in can
    /// overflow (two halves sum to at most `2 * max - 1`), and only a zero sum folds to 0.
    #[inline]
    fn fold(sum: u64) -> u16 {
        let (s, c) = (sum as u32).overflowing_add((sum >> 32) as u32);
        let s = s + u32::from(c);
        let (t, c) = (s as u16).overflowing_add((s >> 16) as u16);
        t + u16::from(c)
    }

    /// The ones' complement sum of `data` taken as big-endian 16-bit words, folded to 16 bits.
    /// An odd trailing byte is padded with a zero byte.
    #[inline]
    pub fn data(data: &[u8]) -> u16 {
        let mut acc: u64 = 0;
        let mut chunks = data.chunks_exact(8);
        for chunk in &mut chunks {
            // Four 16-bit words at a time; a u64 cannot overflow before 2^47 bytes.
            acc += u64::from(u16::from_be_bytes([chunk[0], chunk[1]]))
                + u64::from(u16::from_be_bytes([chunk[2], chunk[3]]))
                + u64::from(u16::from_be_bytes([chunk[4], chunk[5]]))
                + u64::from(u16::from_be_bytes([chunk[6], chunk[7]]));
        }
        let mut words = chunks.remainder().chunks_exact(2);
        for word in &mut words {
            acc += u64::from(u16::from_be_bytes([word[0], word[1]]));
        }
        if let [last] = words.remainder() {
            acc += u64::from(u16::from_be_bytes([*last, 0]));
        }
        fold(acc)
    }

    /// Whether an IPv4 header without options (20 bytes; `false` for any other length) has a
    /// correct checksum. Sums native-order 32-bit words: the ones' complement sum does not depend
    /// on the byte order, and it is 0xffff exactly when the big-endian one is.
    #[inline(always)]
    pub fn ipv4_header_ok(h: &[u8]) -> bool {
        let Ok(h) = <&[u8; 20]>::try_from(h) else {
            return false;
        };
        let w = |i: usize| u64::from(u32::from_ne_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]));
        let sum = w(0) + w(4) + w(8) + w(12) + w(16);
        fold(sum) == 0xffff
    }

    /// The ones' complement sum of several partial sums.
    #[inline]
    pub fn combine(sums: &[u16]) -> u16 {
        fold(sums.iter().map(|&s| u64::from(s)).sum())
    }

    /// Turns a ones' complement sum into the value stored in a checksum field.
    pub fn finish(sum: u16) -> u16 {
        !sum
    }

    /// The Internet checksum of `data`: the complement of its ones' complement sum.
    #[inline]
    pub fn internet_checksum(data: &[u8]) -> u16 {
        finish(self::data(data))
    }

    /// RFC 1624 eqn. 3: the new checksum `HC' = ~(~HC + ~m + m')` after one 16-bit word of the
    /// covered data changes from `old` (m) to `new` (m').
    pub fn update(hc: u16, old: u16, new: u16) -> u16 {
        !combine(&[!hc, !old, new])
    }

    /// The sum of the IPv4 pseudo-header (RFC 768, RFC 9293 §3.1) for an upper-layer checksum.
    pub fn pseudo_header_ipv4(
        src: &Ipv4Address,
        dst: &Ipv4Address,
        protocol: IpProtocol,
        length: u16,
    ) -> u16 {
        combine(&[
            data(src.as_bytes()),
            data(dst.as_bytes()),
            u16::from(u8::from(protocol)),
            length,
        ])
    }

    /// The sum of the IPv6 pseudo-header (RFC 8200 §8.1) for an upper-layer checksum.
    pub fn pseudo_header_ipv6(
        src: &Ipv6Address,
        dst: &Ipv6Address,
        next_header: IpProtocol,
        length: u32,
    ) -> u16 {
        combine(&[
            data(src.as_bytes()),
            data(dst.as_bytes()),
            (length >> 16) as u16,
            length as u16,
            u16::from(u8::from(next_header)),
        ])
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        // RFC 1071 §3 worked example: words 0x0001 0xf203 0xf4f5 0xf6f7 sum to 0xddf2.
        const RFC1071_BYTES: [u8; 8] = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];

        #[test]
        fn rfc1071_example() {
            assert_eq!(data(&RFC1071_BYTES), 0xddf2);
            assert_eq!(internet_checksum(&RFC1071_BYTES), !0xddf2);
        }

        #[test]
        fn odd_length_pads_with_zero() {
            assert_eq!(data(&[0x12, 0x34, 0x56]), 0x1234 + 0x5600);
            assert_eq!(data(&[]), 0);
        }

        #[test]
        fn combine_matches_whole_sum() {
            let bytes: Vec<u8> = (0..=255u8).cycle().take(1001).collect();
            // Split at even offsets, as the partial sums require.
            for split in (0..bytes.len()).step_by(2) {
                let (a, b) = bytes.split_at(split);
                assert_eq!(combine(&[data(a), data(b)]), data(&bytes));
            }
        }

        #[test]
        fn ipv4_header_ok_agrees_with_the_big_endian_sum() {
            let mut seed: u32 = 0x9e37_79b9;
            let mut next = || {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (seed >> 24) as u8
            };
            for round in 0..5000 {
                let mut h = [0u8; 20];
                h.iter_mut().for_each(|b| *b = next());
                if round % 2 == 0 {
                    // A correct checksum half of the time.
                    h[10..12].copy_from_slice(&[0, 0]);
                    let c = internet_checksum(&h);
                    h[10..12].copy_from_slice(&c.to_be_bytes());
                }
                assert_eq!(ipv4_header_ok(&h), data(&h) == 0xffff, "{h:02x?}");
            }
            assert!(!ipv4_header_ok(&[0u8; 20]));
            assert!(!ipv4_header_ok(&[0xffu8; 24]));
        }

        #[test]
        fn fold_is_the_end_around_carry_sum() {
            // The textbook fold: add the high bits back until 16 bits remain.
            fn reference(mut sum: u64) -> u16 {
                while sum > 0xffff {
                    sum = (sum & 0xffff) + (sum >> 16);
                }
                sum as u16
            }
            let mut x: u64 = 0x0123_4567_89ab_cdef;
            let edges = [
                0,
                1,
                0xffff,
                0x1_0000,
                0x1_fffe,
                0xffff_ffff,
                0x1_0000_0000,
                0xffff_0000_ffff,
                u64::MAX - 1,
                u64::MAX,
            ];
            let random = std::iter::repeat_with(|| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x >> (x % 48)
            });
            for sum in edges.into_iter().chain(random.take(100_000)) {
                assert_eq!(fold(sum), reference(sum), "{sum:#x}");
            }
        }

        #[test]
        fn long_buffer_does_not_overflow() {
            let bytes = vec![0xffu8; 1 << 20];
            assert_eq!(data(&bytes), 0xffff);
        }

        #[test]
        fn incremental_update_matches_recompute() {
            // A 20-byte IPv4 header with its checksum at bytes 10..12.
            let mut seed: u32 = 0x1234_5678;
            let mut next = || {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (seed >> 16) as u16
            };
            for _ in 0..2000 {
                let mut words = [0u16; 10];
                for w in words.iter_mut() {
                    *w = next();
                }
                words[0] = 0x4500 | (words[0] & 0xff);
                words[5] = 0;
                let sum = |w: &[u16; 10]| {
                    let bytes: Vec<u8> = w.iter().flat_map(|x| x.to_be_bytes()).collect();
                    internet_checksum(&bytes)
                };
                let hc = sum(&words);
                let index = 1 + usize::from(next() % 9);
                let index = if index == 5 { 4 } else { index };
                let old = words[index];
                let new = next();
                words[index] = new;
                assert_eq!(update(hc, old, new), sum(&words), "word {index}");
            }
        }
    }
}
