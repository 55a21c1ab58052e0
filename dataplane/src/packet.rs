//! The byte buffers nodes and the worker's burst loop work on, below every other layer: a packet
//! with headroom in front, so headers can be pushed and popped without copying the payload
//! ([`PacketBuf`]), and a burst of them ([`PacketBatch`]). Implemented by DPDK mbufs
//! (`dpdk::MbufPacket`, `dpdk::Burst`) and by [`VecPacket`] and [`VecBatch`] for tests and
//! benches without EAL.

/// Largest burst a worker may use (the size of its fixed mbuf arrays).
pub const MAX_BURST: usize = 256;

/// Most segments a received chain may have (more: dropped as `too-many-segments`): a 9600-byte
/// frame in mbufs of the default 2048-byte data room takes 6.
pub const MAX_SEGMENTS: u16 = 8;

/// Bytes a chain's first segment must hold (or the whole packet, if shorter): every header a node
/// reads (outer Ethernet and VLANs, IPv6, UDP, VXLAN-GPE, NSH with MD type 2, inner Ethernet, IP
/// and ports) lies there. A chain whose first segment is shorter is dropped as `headers-split`.
pub const FIRST_SEGMENT_MIN: usize = 512;

/// A packet whose front can grow into headroom and shrink. The packet may be a chain of segments
/// (a jumbo frame received with scatter): [`data`](PacketBuf::data) is then its first segment,
/// where every header a node reads lies ([`FIRST_SEGMENT_MIN`]), and
/// [`pkt_len`](PacketBuf::pkt_len) the length of the whole packet, which is what lengths written
/// into headers count.
pub trait PacketBuf {
    /// The packet's bytes (of its first segment).
    fn data(&self) -> &[u8];
    /// Bytes of the whole packet, every segment; `data().len()` for a single segment.
    #[inline(always)]
    fn pkt_len(&self) -> usize {
        self.data().len()
    }
    /// The packet's bytes, writable.
    fn data_mut(&mut self) -> &mut [u8];
    /// Grows the packet by `n` bytes at the front (uninitialised contents); `false` when the
    /// headroom is too small, the packet unchanged.
    fn prepend(&mut self, n: usize) -> bool;
    /// Removes `n` bytes from the front; `false` when the packet is shorter, the packet unchanged.
    fn adj(&mut self, n: usize) -> bool;
    /// Removes `n` bytes from the end (of a chain: of its last segment); `false` when the packet
    /// (the last segment) is shorter, the packet unchanged.
    fn trim(&mut self, n: usize) -> bool;
}

/// Headroom of [`VecPacket`]s, as in DPDK mbufs (`RTE_PKTMBUF_HEADROOM`).
pub const HEADROOM: usize = 128;

/// Bytes of a [`VecPacket`]'s buffer, headroom included, as in an mbuf of the default
/// `mempool.data_room`: headers longer than the headroom are pushed by moving the bytes toward
/// its end while they fit.
pub const ROOM: usize = 2176;

/// A packet in a `Vec` with [`HEADROOM`] bytes free in front.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VecPacket {
    buf: Vec<u8>,
    start: usize,
}

impl VecPacket {
    /// A packet holding `frame`, with the standard headroom.
    pub fn new(frame: &[u8]) -> Self {
        let mut buf = vec![0u8; HEADROOM + frame.len()];
        buf[HEADROOM..].copy_from_slice(frame);
        VecPacket {
            buf,
            start: HEADROOM,
        }
    }

    /// Replaces the contents with `frame`, restoring the standard headroom; reuses the buffer.
    pub fn refill(&mut self, frame: &[u8]) {
        self.buf.resize(HEADROOM + frame.len(), 0);
        self.buf[HEADROOM..].copy_from_slice(frame);
        self.start = HEADROOM;
    }

    /// Headroom left.
    pub fn headroom(&self) -> usize {
        self.start
    }
}

impl PacketBuf for VecPacket {
    fn data(&self) -> &[u8] {
        &self.buf[self.start..]
    }

    fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buf[self.start..]
    }

    fn prepend(&mut self, n: usize) -> bool {
        if n > self.start {
            // As an mbuf does: the bytes move toward the end of the room when it has space.
            let need = n - self.start;
            if self.buf.len() + need > ROOM.max(self.buf.len()) {
                return false;
            }
            self.buf.splice(0..0, std::iter::repeat_n(0, need));
            self.start += need;
        }
        self.start -= n;
        true
    }

    fn adj(&mut self, n: usize) -> bool {
        if n > self.buf.len() - self.start {
            return false;
        }
        self.start += n;
        true
    }

    fn trim(&mut self, n: usize) -> bool {
        if n > self.buf.len() - self.start {
            return false;
        }
        self.buf.truncate(self.buf.len() - n);
        true
    }
}

/// A burst of packets as the worker's burst loop sees it: indexed, each one a [`PacketBuf`].
pub trait PacketBatch {
    /// One packet of the batch, borrowed for header work.
    type Packet<'a>: PacketBuf
    where
        Self: 'a;

    /// Packets in the batch.
    fn len(&self) -> usize;
    /// Whether the batch holds no packet.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The bytes of packet `i`.
    fn data(&self, i: usize) -> &[u8];
    /// Packet `i`, whose headers can be pushed and popped.
    fn packet(&mut self, i: usize) -> Self::Packet<'_>;
    /// Calls `f(i, bytes)` on the packets in order, while it returns `true`; returns how many
    /// times it did.
    fn for_each_data_mut(&mut self, f: impl FnMut(usize, &mut [u8]) -> bool) -> usize;
}

/// A batch of [`VecPacket`]s, for tests and benches without EAL.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VecBatch(pub Vec<VecPacket>);

impl VecBatch {
    /// A batch holding these frames, each with the standard headroom.
    pub fn new<'a>(frames: impl IntoIterator<Item = &'a [u8]>) -> Self {
        VecBatch(frames.into_iter().map(VecPacket::new).collect())
    }
}

impl PacketBatch for VecBatch {
    type Packet<'a> = &'a mut VecPacket;

    fn len(&self) -> usize {
        self.0.len()
    }

    fn data(&self, i: usize) -> &[u8] {
        self.0[i].data()
    }

    fn packet(&mut self, i: usize) -> &mut VecPacket {
        &mut self.0[i]
    }

    fn for_each_data_mut(&mut self, mut f: impl FnMut(usize, &mut [u8]) -> bool) -> usize {
        for (i, p) in self.0.iter_mut().enumerate() {
            if !f(i, p.data_mut()) {
                return i;
            }
        }
        self.0.len()
    }
}

impl<P: PacketBuf + ?Sized> PacketBuf for &mut P {
    #[inline(always)]
    fn data(&self) -> &[u8] {
        (**self).data()
    }
    #[inline(always)]
    fn pkt_len(&self) -> usize {
        (**self).pkt_len()
    }
    #[inline(always)]
    fn data_mut(&mut self) -> &mut [u8] {
        (**self).data_mut()
    }
    #[inline(always)]
    fn prepend(&mut self, n: usize) -> bool {
        (**self).prepend(n)
    }
    #[inline(always)]
    fn adj(&mut self, n: usize) -> bool {
        (**self).adj(n)
    }
    #[inline(always)]
    fn trim(&mut self, n: usize) -> bool {
        (**self).trim(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prepend_adj_trim() {
        let mut p = VecPacket::new(&[1, 2, 3, 4]);
        assert!(p.prepend(2));
        p.data_mut()[..2].copy_from_slice(&[9, 9]);
        assert_eq!(p.data(), &[9, 9, 1, 2, 3, 4]);
        assert!(p.adj(3));
        assert_eq!(p.data(), &[2, 3, 4]);
        assert!(p.trim(1));
        assert_eq!(p.data(), &[2, 3]);
        assert!(!p.adj(3) && !p.trim(3));
        assert_eq!(p.headroom(), HEADROOM + 1);
        // More than the headroom: the bytes move toward the end of the room.
        assert!(p.prepend(HEADROOM + 10));
        assert_eq!(
            (p.headroom(), &p.data()[HEADROOM + 10..]),
            (0, &[2u8, 3][..])
        );
        // More than the room: refused, the packet unchanged.
        let mut big = VecPacket::new(&vec![5u8; ROOM - HEADROOM - 20]);
        assert!(!big.prepend(HEADROOM + 21));
        assert_eq!(
            (big.headroom(), big.data().len()),
            (HEADROOM, ROOM - HEADROOM - 20)
        );
        assert!(big.prepend(HEADROOM + 20));
        assert_eq!(big.headroom(), 0);
        p.refill(&[7, 8]);
        assert_eq!((p.data(), p.headroom()), (&[7u8, 8][..], HEADROOM));
    }
}
