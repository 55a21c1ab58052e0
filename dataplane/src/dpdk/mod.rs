//! The safe layer over DPDK: EAL start-up, lcores, per-NUMA mempools, ports and queues, bursts of
//! mbufs. This module and `dpdk-sys` are the only places in qdp with `unsafe` code.
//!
//! * this file: the error type, the id newtypes and the time-stamp counter;
//! * `eal`: [`Eal`], start-up, lcores and launching workers;
//! * `mempool`: [`Mempool`], a packet buffer pool on one NUMA node;
//! * `port`: [`PortId`]'s set-up, link state and driver counters ([`PortInfo`], [`PortSetup`],
//!   [`Link`], [`PortCounters`]);
//! * `mbuf`: [`OwnedMbuf`] and [`MbufPacket`], and the one place that turns an mbuf into the
//!   bytes of its data;
//! * `burst`: [`Burst`], the fixed-capacity array of mbufs a worker receives, edits and sends;
//! * `log`: DPDK's own log as `tracing` events ([`log_to_tracing`]).
//!
//! Limits: multi-segment mbufs are not supported (ports are configured without scatter, and the
//! mbuf data room must hold the largest frame); one EAL per process.

#![allow(unsafe_code)]

use std::ffi::CStr;
use std::fmt;
use std::os::raw::c_int;

use dpdk_sys as sys;

mod burst;
mod eal;
mod log;
mod mbuf;
mod mempool;
mod port;

pub use burst::{BadChains, Burst, BurstLengths, TxResult};
pub use eal::Eal;
pub use log::log_to_tracing;
pub use mbuf::{MbufPacket, OwnedMbuf};
pub use mempool::Mempool;
pub use port::{Link, PortCounters, PortInfo, PortSetup, L2_OVERHEAD};

/// An error from a DPDK call: what was being done and DPDK's own reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}: {reason}")]
pub struct DpdkError {
    pub what: String,
    pub reason: String,
}

impl DpdkError {
    fn new(what: impl Into<String>, reason: impl Into<String>) -> Self {
        DpdkError {
            what: what.into(),
            reason: reason.into(),
        }
    }

    /// Builds an error from a negative DPDK return code (`-errno`).
    fn from_code(what: impl Into<String>, code: c_int) -> Self {
        DpdkError::new(what, strerror(code.abs()))
    }

    /// Builds an error from the current `rte_errno`.
    fn from_errno(what: impl Into<String>) -> Self {
        // SAFETY: reading the thread-local rte_errno has no preconditions.
        let e = unsafe { sys::_rte_errno() };
        DpdkError::new(what, strerror(e))
    }
}

type Result<T> = std::result::Result<T, DpdkError>;

fn strerror(errnum: c_int) -> String {
    // SAFETY: rte_strerror returns a pointer to a static or thread-local NUL-terminated string.
    let s = unsafe { CStr::from_ptr(sys::rte_strerror(errnum)) };
    s.to_string_lossy().into_owned()
}

/// Converts a DPDK return code into a `Result` (the `ToResult` idiom).
fn check(what: impl FnOnce() -> String, rc: c_int) -> Result<c_int> {
    if rc < 0 {
        Err(DpdkError::from_code(what(), rc))
    } else {
        Ok(rc)
    }
}

/// An EAL logical core.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LcoreId(pub u32);

/// An ethdev port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PortId(pub u16);

/// A queue of a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QueueId(pub u16);

/// A NUMA node; DPDK's `SOCKET_ID_ANY` (-1) when the device does not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SocketId(pub i32);

impl SocketId {
    pub const ANY: SocketId = SocketId(sys::SOCKET_ID_ANY);

    /// The node to allocate on: an unknown node counts as node 0.
    pub fn or_zero(self) -> SocketId {
        if self.0 < 0 {
            SocketId(0)
        } else {
            self
        }
    }
}

impl fmt::Display for SocketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 < 0 {
            write!(f, "any")
        } else {
            write!(f, "{}", self.0)
        }
    }
}

/// The CPU's time-stamp counter (cycles).
#[inline]
pub fn tsc() -> u64 {
    // SAFETY: reads the time-stamp counter; no memory is touched.
    unsafe { sys::_rte_rdtsc() }
}

/// Time-stamp counter ticks per second (once the EAL is up; 0 before).
pub fn tsc_hz() -> u64 {
    // SAFETY: reads a value the EAL computed at start-up.
    unsafe { sys::rte_get_tsc_hz() }
}
