//! [`Burst`]: the fixed-capacity array of mbufs a worker receives into, edits, splits between
//! next hops and sends, with one shim call per burst (rx, tx, bulk free), never per packet; and
//! its [`PacketBatch`] implementation for the nodes.
//!
//! A packet may be a chain of mbufs (received with scatter); freeing frees the whole chain.
//!
//! Limits: at most [`MAX_BURST`] packets; packets that a tx queue refuses are freed and counted,
//! not retried.

use std::os::raw::c_uint;
use std::ptr::NonNull;

use dpdk_sys as sys;

use super::mbuf::{first_segment, first_segment_mut, first_segment_span, MbufPacket, OwnedMbuf};
use super::{PortId, QueueId};
use crate::packet::{PacketBatch, FIRST_SEGMENT_MIN, MAX_BURST, MAX_SEGMENTS};

/// Lengths of the packets of a burst, read in one pass: [`Burst::lengths`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BurstLengths {
    /// Bytes of every packet.
    pub bytes: u64,
    /// The longest packet.
    pub max: u32,
    /// Whether some packet is a chain of more than one mbuf.
    pub chained: bool,
}

/// Packets [`Burst::drop_bad_chains`] dropped, by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BadChains {
    /// Chains of more than [`MAX_SEGMENTS`] mbufs.
    pub too_many_segments: u64,
    /// Chains whose first segment is shorter than [`FIRST_SEGMENT_MIN`] (and the packet).
    pub headers_split: u64,
}

/// The outcome of [`Burst::tx`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TxResult {
    pub sent: usize,
    pub dropped: usize,
    /// Bytes of the packets dropped.
    pub dropped_bytes: u64,
}

/// A burst of mbufs owned by one worker: at most [`MAX_BURST`] packets, each one mbuf or a chain.
/// Dropping a burst frees the packets still in it.
pub struct Burst {
    mbufs: [*mut sys::rte_mbuf; MAX_BURST],
    len: usize,
}

// SAFETY: the mbufs are exclusively owned by the burst; moving a burst between threads moves that ownership along, and DPDK allows freeing an mbuf from any lcore.
unsafe impl Send for Burst {}

impl Default for Burst {
    fn default() -> Self {
        Self::new()
    }
}

impl Burst {
    pub const fn new() -> Self {
        Burst {
            mbufs: [std::ptr::null_mut(); MAX_BURST],
            len: 0,
        }
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    #[inline]
    pub fn is_full(&self) -> bool {
        self.len == MAX_BURST
    }

    /// Receives up to `max` packets from a queue into the (empty) burst; returns how many.
    #[inline]
    pub fn rx(&mut self, port: PortId, queue: QueueId, max: usize) -> usize {
        debug_assert!(self.len == 0);
        let max = max.min(MAX_BURST) as u16;
        // SAFETY: mbufs has room for MAX_BURST >= max pointers; the port and queue were set up and each (port, queue) is polled by a single worker.
        let n = unsafe { sys::_rte_eth_rx_burst(port.0, queue.0, self.mbufs.as_mut_ptr(), max) };
        self.len = n as usize;
        self.len
    }

    /// Sends every packet of the burst on a queue. Packets the queue refuses are freed; returns
    /// how many were sent and dropped (and the dropped bytes) and leaves the burst empty.
    #[inline]
    pub fn tx(&mut self, port: PortId, queue: QueueId) -> TxResult {
        if self.len == 0 {
            return TxResult::default();
        }
        // SAFETY: the first len pointers are valid mbufs we own; each (port, tx queue) is used by a single worker.
        let sent = unsafe {
            sys::_rte_eth_tx_burst(port.0, queue.0, self.mbufs.as_mut_ptr(), self.len as u16)
        } as usize;
        let dropped = self.len - sent;
        let mut dropped_bytes = 0;
        if dropped > 0 {
            dropped_bytes = self.bytes(sent..self.len);
            // SAFETY: mbufs[sent..len] are still ours; free them in one call.
            unsafe {
                sys::rte_pktmbuf_free_bulk(self.mbufs.as_mut_ptr().add(sent), dropped as c_uint)
            };
        }
        self.len = 0;
        TxResult {
            sent,
            dropped,
            dropped_bytes,
        }
    }

    /// Total bytes of the packets in `range`.
    #[inline]
    pub fn bytes(&self, range: std::ops::Range<usize>) -> u64 {
        let mut total = 0u64;
        for &m in &self.mbufs[range] {
            // SAFETY: every pointer below len is a valid mbuf owned by this burst.
            total += u64::from(unsafe { (*m).pkt_len });
        }
        total
    }

    /// Bytes in all, the longest packet and whether any is a chain, in one pass over the burst
    /// (the fields lie in the mbuf's first cache line, which receiving touched).
    #[inline]
    pub fn lengths(&self) -> BurstLengths {
        let (mut bytes, mut max, mut segs) = (0u64, 0u32, 0u16);
        for &m in &self.mbufs[..self.len] {
            // SAFETY: every pointer below len is a valid mbuf owned by this burst.
            let (len, nb) = unsafe { ((*m).pkt_len, (*m).nb_segs) };
            bytes += u64::from(len);
            max = max.max(len);
            segs |= nb;
        }
        BurstLengths {
            bytes,
            max,
            chained: segs > 1,
        }
    }

    /// Frees the chains of more than [`MAX_SEGMENTS`] mbufs and those whose headers are split
    /// across segments (first segment shorter than [`FIRST_SEGMENT_MIN`] and than the packet);
    /// the rest keep their order.
    #[cold]
    pub fn drop_bad_chains(&mut self) -> BadChains {
        let mut bad = BadChains::default();
        let mut kept = 0;
        for i in 0..self.len {
            let m = self.mbufs[i];
            // SAFETY: every pointer below len is a valid mbuf owned by this burst.
            let (nb, first, len) = unsafe { ((*m).nb_segs, (*m).data_len, (*m).pkt_len) };
            let split = nb > 1 && usize::from(first) < FIRST_SEGMENT_MIN.min(len as usize);
            if nb > MAX_SEGMENTS || split {
                if nb > MAX_SEGMENTS {
                    bad.too_many_segments += 1;
                } else {
                    bad.headers_split += 1;
                }
                // SAFETY: ours; freed once (its slot is overwritten below), with its whole chain.
                unsafe { sys::_rte_pktmbuf_free(m) };
            } else {
                self.mbufs[kept] = m;
                kept += 1;
            }
        }
        self.len = kept;
        bad
    }

    /// Frees the packets longer than `limit` bytes, the rest keeping their order; returns how
    /// many and their bytes.
    #[cold]
    pub fn drop_longer_than(&mut self, limit: u32) -> (u64, u64) {
        let (mut n, mut bytes) = (0u64, 0u64);
        let mut kept = 0;
        for i in 0..self.len {
            let m = self.mbufs[i];
            // SAFETY: every pointer below len is a valid mbuf owned by this burst.
            let len = unsafe { (*m).pkt_len };
            if len > limit {
                n += 1;
                bytes += u64::from(len);
                // SAFETY: ours; freed once (its slot is overwritten below), with its whole chain.
                unsafe { sys::_rte_pktmbuf_free(m) };
            } else {
                self.mbufs[kept] = m;
                kept += 1;
            }
        }
        self.len = kept;
        (n, bytes)
    }

    /// Frees every packet of the burst.
    #[inline]
    pub fn free_all(&mut self) {
        if self.len > 0 {
            // SAFETY: the first len pointers are valid mbufs we own.
            unsafe { sys::rte_pktmbuf_free_bulk(self.mbufs.as_mut_ptr(), self.len as c_uint) };
            self.len = 0;
        }
    }

    /// The bytes of packet `i` (its first segment).
    #[inline]
    pub fn data(&self, i: usize) -> &[u8] {
        assert!(i < self.len);
        let m = self.mbufs[i];
        // SAFETY: m is a valid mbuf owned by this burst, and the shared borrow of self prevents mutation of it or its bytes meanwhile.
        unsafe { first_segment(&*m) }
    }

    /// The bytes of packet `i`, writable.
    #[inline]
    pub fn data_mut(&mut self, i: usize) -> &mut [u8] {
        assert!(i < self.len);
        let m = self.mbufs[i];
        // SAFETY: as in `data`; the exclusive borrow of self makes this the only view of the packet, and an mbuf we received is not shared (refcnt 1, direct).
        unsafe { first_segment_mut(&mut *m) }
    }

    /// Calls `f(i, bytes)` on the packets in order, while it returns `true`; returns how many
    /// times it did. The next packet's address is read while `f` works on the current one, so the
    /// chain of loads from the burst to the packet's bytes is off the critical path.
    #[inline(always)]
    pub fn for_each_data_mut(&mut self, mut f: impl FnMut(usize, &mut [u8]) -> bool) -> usize {
        let n = self.len;
        if n == 0 {
            return 0;
        }
        let raw = |m: *mut sys::rte_mbuf| {
            // SAFETY: every pointer below len is a valid mbuf exclusively owned by this burst (the span is of its first segment).
            unsafe { first_segment_span(m) }
        };
        let mut next = raw(self.mbufs[0]);
        for i in 0..n {
            let (ptr, len) = next;
            if i + 1 < n {
                next = raw(self.mbufs[i + 1]);
            }
            // SAFETY: data_len bytes from there lie inside the data room of a packet this burst owns exclusively (refcnt 1, direct); its slice is handed out once, for one call of `f`, under the exclusive borrow of self.
            let d = unsafe { std::slice::from_raw_parts_mut(ptr, len) };
            if !f(i, d) {
                return i;
            }
        }
        n
    }

    /// Packet `i` as a [`PacketBuf`](crate::packet::PacketBuf) whose headers can be pushed
    /// and popped.
    #[inline]
    pub fn packet(&mut self, i: usize) -> MbufPacket<'_> {
        assert!(i < self.len);
        let m = self.mbufs[i];
        // SAFETY: a valid mbuf exclusively owned by this burst; the exclusive borrow of self keeps it so for the lifetime of the view.
        let m = unsafe { &mut *m };
        MbufPacket { m }
    }

    /// Total length of packet `i`.
    #[inline]
    pub fn pkt_len(&self, i: usize) -> u32 {
        assert!(i < self.len);
        // SAFETY: a valid mbuf owned by this burst.
        unsafe { (*self.mbufs[i]).pkt_len }
    }

    /// Moves packet `i` of `self` to the end of `to`. `to` must not be full. The hole left in
    /// `self` must be closed with [`Burst::clear_moved`] once the whole burst was dispatched.
    #[inline]
    pub fn move_to(&mut self, i: usize, to: &mut Burst) {
        assert!(i < self.len && to.len < MAX_BURST);
        to.mbufs[to.len] = self.mbufs[i];
        to.len += 1;
        self.mbufs[i] = std::ptr::null_mut();
    }

    /// Appends an owned packet to the end of the burst; gives it back when the burst is full.
    pub fn push(&mut self, m: OwnedMbuf) -> std::result::Result<(), OwnedMbuf> {
        if self.len == MAX_BURST {
            return Err(m);
        }
        let m = std::mem::ManuallyDrop::new(m);
        self.mbufs[self.len] = m.0.as_ptr();
        self.len += 1;
        Ok(())
    }

    /// Takes packet `i` out of the burst (its slot is closed by [`Burst::clear_moved`]).
    #[inline]
    pub fn take(&mut self, i: usize) -> OwnedMbuf {
        assert!(i < self.len);
        let m = std::mem::replace(&mut self.mbufs[i], std::ptr::null_mut());
        OwnedMbuf(NonNull::new(m).expect("a packet in the burst"))
    }

    /// Forgets the slots whose packets were moved away, freeing any packet still present.
    #[inline]
    pub fn clear_moved(&mut self) {
        let mut kept = 0;
        for i in 0..self.len {
            let m = self.mbufs[i];
            if !m.is_null() {
                self.mbufs[kept] = m;
                kept += 1;
            }
        }
        self.len = kept;
        self.free_all();
    }
}

impl PacketBatch for Burst {
    type Packet<'a> = MbufPacket<'a>;

    #[inline(always)]
    fn len(&self) -> usize {
        self.len
    }

    #[inline(always)]
    fn data(&self, i: usize) -> &[u8] {
        Burst::data(self, i)
    }

    #[inline(always)]
    fn packet(&mut self, i: usize) -> MbufPacket<'_> {
        Burst::packet(self, i)
    }

    #[inline(always)]
    fn for_each_data_mut(&mut self, f: impl FnMut(usize, &mut [u8]) -> bool) -> usize {
        Burst::for_each_data_mut(self, f)
    }
}

impl Drop for Burst {
    fn drop(&mut self) {
        self.clear_moved();
    }
}
