//! Packet mbuf pools (`rte_pktmbuf_pool_create`), one per NUMA node in use, shared by the
//! lcores of that node.
//!
//! Limits: a pool must outlive every port and mbuf that uses it; the owner drops pools last.

use std::ffi::CString;
use std::ptr::NonNull;

use dpdk_sys as sys;

use super::{DpdkError, Result, SocketId};

/// A pool of packet buffers on one NUMA node.
pub struct Mempool {
    ptr: NonNull<sys::rte_mempool>,
    socket: SocketId,
}

// SAFETY: a DPDK mempool is designed for concurrent use from many lcores; we only hand out the pointer to DPDK calls.
unsafe impl Send for Mempool {}
// SAFETY: as above: all mempool operations are thread-safe.
unsafe impl Sync for Mempool {}

impl Mempool {
    /// Creates a packet mbuf pool of `n` mbufs on `socket`.
    pub fn new(name: &str, n: u32, cache: u32, data_room: u16, socket: SocketId) -> Result<Self> {
        let cname = CString::new(name).map_err(|_| DpdkError::new("mempool name", "NUL byte"))?;
        // SAFETY: cname is a valid C string; DPDK copies it.
        let ptr = unsafe {
            sys::rte_pktmbuf_pool_create(cname.as_ptr(), n, cache, 0, data_room, socket.0)
        };
        match NonNull::new(ptr) {
            Some(ptr) => Ok(Mempool { ptr, socket }),
            None => Err(DpdkError::from_errno(format!(
                "creating mempool {name} ({n} mbufs of {data_room} B on node {socket})"
            ))),
        }
    }

    pub fn socket(&self) -> SocketId {
        self.socket
    }

    /// Mbufs currently free in the pool (caches included).
    pub fn available(&self) -> u32 {
        // SAFETY: the pool is valid for our lifetime.
        unsafe { sys::rte_mempool_avail_count(self.ptr.as_ptr()) }
    }

    pub(super) fn as_ptr(&self) -> *mut sys::rte_mempool {
        self.ptr.as_ptr()
    }
}

impl Drop for Mempool {
    fn drop(&mut self) {
        // SAFETY: pools are dropped after every port using them is closed.
        unsafe { sys::rte_mempool_free(self.ptr.as_ptr()) }
    }
}
