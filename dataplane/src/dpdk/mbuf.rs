//! Single mbufs: [`OwnedMbuf`], one packet owned outside a burst (built from bytes for the slow
//! path, or taken out of a burst), and [`MbufPacket`], one packet of a burst borrowed for header
//! work; and the one place that turns an mbuf into the bytes of its data
//! ([`first_segment_span`], [`first_segment`], [`first_segment_mut`]).
//!
//! A received packet may be a chain of segments (scatter): its views are of the first segment,
//! where the headers lie; `pkt_len` counts every segment, and trimming takes bytes off the last.
//! Freeing an mbuf frees its whole chain. Writable views assume a direct mbuf with reference count 1, as received or freshly allocated (indirect or
//! cloned mbufs are never made).

use std::ptr::NonNull;

use dpdk_sys as sys;

use super::Mempool;
use crate::packet::PacketBuf;

/// Where the bytes of `m`'s first segment lie: their address, `buf_addr + data_off`, and their
/// length, `data_len`. This is the only place that arithmetic is written; [`first_segment`],
/// [`first_segment_mut`] and [`Burst::for_each_data_mut`](super::Burst::for_each_data_mut) build
/// on it.
///
/// # Safety
///
/// `m` must point at a live mbuf that DPDK initialised (allocated from a packet mbuf pool or
/// received from a port), readable for the duration of the call, whose fields keep DPDK's
/// invariant `data_off + data_len <= buf_len` (every edit in this module does). The returned
/// `len` bytes from the returned address then lie inside the mbuf's data room; whether they may
/// be read or written is up to the caller.
#[inline(always)]
pub(super) unsafe fn first_segment_span(m: *const sys::rte_mbuf) -> (*mut u8, usize) {
    // SAFETY: m is readable (the caller's contract); data_off <= buf_len, so the offset stays inside the data room buf_addr starts.
    unsafe {
        (
            ((*m).buf_addr as *mut u8).add(usize::from((*m).data_off)),
            usize::from((*m).data_len),
        )
    }
}

/// The bytes of `m`'s first segment, for as long as `m` is borrowed.
///
/// # Safety
///
/// As for [`first_segment_span`], and nothing may write those bytes while the borrow lasts (the
/// borrow itself keeps `data_off` and `data_len` from moving).
#[inline(always)]
pub(super) unsafe fn first_segment(m: &sys::rte_mbuf) -> &[u8] {
    // SAFETY: the span lies inside the data room and nothing writes it while m is borrowed (both the caller's contract); the slice lives no longer than that borrow.
    unsafe {
        let (ptr, len) = first_segment_span(m);
        std::slice::from_raw_parts(ptr, len)
    }
}

/// The bytes of `m`'s first segment, writable, for as long as `m` is borrowed.
///
/// # Safety
///
/// As for [`first_segment_span`], and the data room must not be shared: the mbuf is direct with
/// reference count 1 (as received or freshly allocated), so that while `m` is exclusively
/// borrowed the slice is the only way to those bytes.
#[inline(always)]
pub(super) unsafe fn first_segment_mut(m: &mut sys::rte_mbuf) -> &mut [u8] {
    // SAFETY: the span lies inside the data room, and the exclusive borrow of an unshared mbuf makes the slice the only access to it (the caller's contract); the slice lives no longer than that borrow.
    unsafe {
        let (ptr, len) = first_segment_span(m);
        std::slice::from_raw_parts_mut(ptr, len)
    }
}

/// One mbuf owned outside a burst, e.g. on its way to the slow path. Dropping it frees it.
#[derive(Debug)]
pub struct OwnedMbuf(pub(super) NonNull<sys::rte_mbuf>);

// SAFETY: the mbuf is exclusively owned; DPDK allows reading and freeing an mbuf on any thread.
unsafe impl Send for OwnedMbuf {}

impl OwnedMbuf {
    /// A new packet from `pool` holding a copy of `bytes`; `None` when the pool is empty or the
    /// bytes do not fit one mbuf.
    pub fn from_bytes(pool: &Mempool, bytes: &[u8]) -> Option<OwnedMbuf> {
        // SAFETY: the pool is valid for its lifetime; a null return means none was free.
        let raw = unsafe { sys::_rte_pktmbuf_alloc(pool.as_ptr()) };
        let m = NonNull::new(raw)?;
        let mut owned = OwnedMbuf(m);
        // SAFETY: a freshly allocated mbuf that we own; nothing else refers to it.
        let mb = unsafe { owned.0.as_mut() };
        // Reset: data_len 0, data_off at the headroom. The length is set only once the bytes are
        // known to fit its tailroom.
        let room = usize::from(mb.buf_len) - usize::from(mb.data_off);
        if bytes.len() > room || bytes.len() > usize::from(u16::MAX) {
            return None;
        }
        mb.data_len = bytes.len() as u16;
        mb.pkt_len = bytes.len() as u32;
        // SAFETY: a direct mbuf with refcnt 1 from the pool, ours alone; data_off + data_len <= buf_len by the check above.
        unsafe { first_segment_mut(mb) }.copy_from_slice(bytes);
        Some(owned)
    }

    /// The packet's bytes (first and only segment).
    pub fn data(&self) -> &[u8] {
        // SAFETY: an owned, valid single-segment mbuf; the shared borrow of self keeps it and its bytes unchanged meanwhile.
        unsafe { first_segment(self.0.as_ref()) }
    }

    /// The packet's bytes, writable.
    pub fn data_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `data`; the mbuf is direct with refcnt 1 (received or allocated by us) and `&mut self` makes this the only view of it.
        unsafe { first_segment_mut(self.0.as_mut()) }
    }
}

impl Drop for OwnedMbuf {
    fn drop(&mut self) {
        // SAFETY: we own the mbuf and nobody else refers to it.
        unsafe { sys::_rte_pktmbuf_free(self.0.as_ptr()) }
    }
}

/// One mbuf (or chain) of a [`Burst`](super::Burst), borrowed for header work.
pub struct MbufPacket<'a> {
    pub(super) m: &'a mut sys::rte_mbuf,
}

impl PacketBuf for MbufPacket<'_> {
    #[inline]
    fn data(&self) -> &[u8] {
        // SAFETY: a valid mbuf of a burst; the shared borrow of self keeps it and its bytes unchanged meanwhile.
        unsafe { first_segment(self.m) }
    }

    #[inline(always)]
    fn pkt_len(&self) -> usize {
        self.m.pkt_len as usize
    }

    #[inline]
    fn data_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `data`; the mbuf is exclusively borrowed (received, refcnt 1, direct).
        unsafe { first_segment_mut(self.m) }
    }

    #[inline]
    fn prepend(&mut self, n: usize) -> bool {
        if n > self.m.data_off as usize && !make_headroom(self.m, n) {
            return false;
        }
        self.m.data_off -= n as u16;
        self.m.data_len += n as u16;
        self.m.pkt_len += n as u32;
        true
    }

    #[inline]
    fn adj(&mut self, n: usize) -> bool {
        if n > self.m.data_len as usize {
            return false;
        }
        self.m.data_off += n as u16;
        self.m.data_len -= n as u16;
        self.m.pkt_len -= n as u32;
        true
    }

    #[inline]
    fn trim(&mut self, n: usize) -> bool {
        if self.m.nb_segs > 1 {
            return trim_chain(self.m, n);
        }
        if n > self.m.data_len as usize {
            return false;
        }
        self.m.data_len -= n as u16;
        self.m.pkt_len -= n as u32;
        true
    }
}

/// Makes `n` bytes of headroom in front of `m`'s first segment, whose headroom is shorter, by
/// moving its bytes toward the end of its data room: `false` (the mbuf unchanged) when the room
/// after them is too short as well. Rare: only headers longer than DPDK's headroom (an MD type 2
/// NSH with large TLVs behind outer headers) need it.
#[cold]
fn make_headroom(m: &mut sys::rte_mbuf, n: usize) -> bool {
    let (off, len) = (usize::from(m.data_off), usize::from(m.data_len));
    let need = n - off;
    if off + len + need > usize::from(m.buf_len) {
        return false;
    }
    // SAFETY: the mbuf is exclusively borrowed, direct and unshared (received or allocated by us); both the source span (off..off+len) and the destination (off+need..off+len+need, checked against buf_len above) lie inside its data room, and `copy` allows them to overlap.
    unsafe {
        let base = m.buf_addr as *mut u8;
        std::ptr::copy(base.add(off), base.add(off + need), len);
    }
    m.data_off += need as u16;
    true
}

/// [`MbufPacket::trim`] of a chain: `n` bytes off its last segment, `false` (the chain unchanged)
/// when that segment is shorter.
#[cold]
fn trim_chain(m: &mut sys::rte_mbuf, n: usize) -> bool {
    let mut last: *mut sys::rte_mbuf = m;
    // SAFETY: a chain DPDK built: each `next` is null or a valid segment of this packet, owned with it (exclusively borrowed through `m`).
    unsafe {
        while !(*last).next.is_null() {
            last = (*last).next;
        }
        if n > usize::from((*last).data_len) {
            return false;
        }
        (*last).data_len -= n as u16;
    }
    m.pkt_len -= n as u32;
    true
}
