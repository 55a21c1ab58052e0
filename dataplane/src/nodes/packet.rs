//! The byte buffer a node works on: a packet with headroom in front, so headers can be pushed and
//! popped without copying the payload. Implemented by DPDK mbufs (`dpdk::MbufPacket`) and by
//! [`VecPacket`] for tests and benches without EAL.

/// A single-segment packet whose front can grow into headroom and shrink.
pub trait PacketBuf {
    /// The packet's bytes.
    fn data(&self) -> &[u8];
    /// The packet's bytes, writable.
    fn data_mut(&mut self) -> &mut [u8];
    /// Grows the packet by `n` bytes at the front (uninitialised contents); `false` when the
    /// headroom is too small, the packet unchanged.
    fn prepend(&mut self, n: usize) -> bool;
    /// Removes `n` bytes from the front; `false` when the packet is shorter, the packet unchanged.
    fn adj(&mut self, n: usize) -> bool;
    /// Removes `n` bytes from the end; `false` when the packet is shorter.
    fn trim(&mut self, n: usize) -> bool;
}

/// Headroom of [`VecPacket`]s, as in DPDK mbufs (`RTE_PKTMBUF_HEADROOM`).
pub const HEADROOM: usize = 128;

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
            return false;
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
        assert!(!p.prepend(HEADROOM + 10));
        assert_eq!(p.headroom(), HEADROOM + 1);
        p.refill(&[7, 8]);
        assert_eq!((p.data(), p.headroom()), (&[7u8, 8][..], HEADROOM));
    }
}
