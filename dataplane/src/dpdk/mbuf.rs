//! Single mbufs: [`OwnedMbuf`], one packet owned outside a burst (built from bytes for the slow
//! path, or taken out of a burst), and [`MbufPacket`], one packet of a burst borrowed for header
//! work.
//!
//! Limits: only the first segment is seen (multi-segment mbufs are not supported); writable views
//! assume a direct mbuf with reference count 1, as received or freshly allocated (indirect or
//! cloned mbufs are never made).

use std::ptr::NonNull;

use dpdk_sys as sys;

use super::Mempool;
use crate::packet::PacketBuf;

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
        // SAFETY: a freshly allocated mbuf (reset: data_len 0, data_off at the headroom) that we
        // own; the bytes are copied only after checking they fit its tailroom.
        unsafe {
            let mb = owned.0.as_mut();
            let room = usize::from(mb.buf_len) - usize::from(mb.data_off);
            if bytes.len() > room || bytes.len() > usize::from(u16::MAX) {
                return None;
            }
            std::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                (mb.buf_addr as *mut u8).add(usize::from(mb.data_off)),
                bytes.len(),
            );
            mb.data_len = bytes.len() as u16;
            mb.pkt_len = bytes.len() as u32;
        }
        Some(owned)
    }

    /// The packet's bytes (first and only segment).
    pub fn data(&self) -> &[u8] {
        // SAFETY: an owned, valid single-segment mbuf; buf_addr + data_off .. + data_len lies in its data room.
        unsafe {
            let m = self.0.as_ref();
            std::slice::from_raw_parts(
                (m.buf_addr as *const u8).add(m.data_off as usize),
                m.data_len as usize,
            )
        }
    }

    /// The packet's bytes, writable.
    pub fn data_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `data`; `&mut self` makes this the only view of the exclusively owned mbuf.
        unsafe {
            let m = self.0.as_mut();
            std::slice::from_raw_parts_mut(
                (m.buf_addr as *mut u8).add(m.data_off as usize),
                m.data_len as usize,
            )
        }
    }
}

impl Drop for OwnedMbuf {
    fn drop(&mut self) {
        // SAFETY: we own the mbuf and nobody else refers to it.
        unsafe { sys::_rte_pktmbuf_free(self.0.as_ptr()) }
    }
}

/// One single-segment mbuf of a [`Burst`](super::Burst), borrowed for header work.
pub struct MbufPacket<'a> {
    pub(super) m: &'a mut sys::rte_mbuf,
}

impl PacketBuf for MbufPacket<'_> {
    #[inline]
    fn data(&self) -> &[u8] {
        // SAFETY: buf_addr + data_off .. + data_len lies inside the mbuf's data room.
        unsafe {
            std::slice::from_raw_parts(
                (self.m.buf_addr as *const u8).add(self.m.data_off as usize),
                self.m.data_len as usize,
            )
        }
    }

    #[inline]
    fn data_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `data`; the mbuf is exclusively borrowed (received, refcnt 1, direct).
        unsafe {
            std::slice::from_raw_parts_mut(
                (self.m.buf_addr as *mut u8).add(self.m.data_off as usize),
                self.m.data_len as usize,
            )
        }
    }

    #[inline]
    fn prepend(&mut self, n: usize) -> bool {
        if n > self.m.data_off as usize {
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
        if n > self.m.data_len as usize {
            return false;
        }
        self.m.data_len -= n as u16;
        self.m.pkt_len -= n as u32;
        true
    }
}
