//! What the control plane and the workers share, below both: the current SFC tables
//! (read-copy-update, swapped only by `crate::change`), their generation, the counters, port
//! admin state, and the trace, capture and latency exchanges. Workers never block on any of it:
//! they read a few relaxed atomics per poll round and use lock-free queues.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use arc_swap::ArcSwapOption;
use crossbeam::queue::ArrayQueue;
use hdrhistogram::Histogram;

use crate::arp::ArpTable;
use crate::config::Pipeline;
use crate::dpdk::PortId;
use crate::node::Node;
use crate::stats::{WorkerCounters, WorkerSnapshot};
use crate::tables::sfc::SfcTables;

/// Bits of [`Dataplane::flags`]: what a worker must look at this round.
pub mod flag {
    /// A trace is armed.
    pub const TRACE: u32 = 1;
    /// A capture is armed.
    pub const CAPTURE: u32 = 2;
    /// Latency is measured.
    pub const LATENCY: u32 = 4;
    /// Some port is set down.
    pub const PORT_DOWN: u32 = 8;
}

/// A port as the control plane shows it.
#[derive(Debug, Clone)]
pub struct PortInfo {
    pub name: String,
    pub id: PortId,
    pub driver: String,
    pub mac: [u8; 6],
    pub socket: i32,
}

/// One packet's trace: the nodes it went through and what happened.
#[derive(Debug, Clone)]
pub struct TraceRecord {
    pub worker: usize,
    pub port: usize,
    pub len: usize,
    pub steps: Vec<(Node, String)>,
    pub verdict: String,
}

/// Where a capture takes packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapturePoint {
    /// As received on a port (pipeline port index), before any processing.
    Rx(usize),
    /// As sent on a port, after all processing.
    Tx(usize),
    /// Packets dropped by any node, as they were when dropped.
    Drop,
}

impl CapturePoint {
    fn encode(self) -> u64 {
        match self {
            CapturePoint::Rx(p) => (1 << 32) | p as u64,
            CapturePoint::Tx(p) => (2 << 32) | p as u64,
            CapturePoint::Drop => 3 << 32,
        }
    }

    fn decode(v: u64) -> Option<CapturePoint> {
        let p = (v & 0xffff_ffff) as usize;
        match v >> 32 {
            1 => Some(CapturePoint::Rx(p)),
            2 => Some(CapturePoint::Tx(p)),
            3 => Some(CapturePoint::Drop),
            _ => None,
        }
    }
}

/// Bytes kept of each captured packet.
pub const CAPTURE_SNAPLEN: usize = 2048;
/// Most packets one capture or trace takes.
pub const CAPTURE_MAX: usize = 10_000;

/// One captured packet.
#[derive(Debug)]
pub struct Captured {
    pub data: Vec<u8>,
    pub orig_len: u32,
    pub at: std::time::Duration,
}

/// The capture exchange: the control thread fills `free` with buffers and arms it; workers copy
/// packets into those buffers (no allocation) and queue them on `full`.
#[derive(Debug)]
pub struct CaptureCtl {
    point: AtomicU64,
    remaining: AtomicU32,
    pub free: ArrayQueue<Vec<u8>>,
    pub full: ArrayQueue<Captured>,
}

impl CaptureCtl {
    fn new() -> Self {
        CaptureCtl {
            point: AtomicU64::new(0),
            remaining: AtomicU32::new(0),
            free: ArrayQueue::new(CAPTURE_MAX),
            full: ArrayQueue::new(CAPTURE_MAX),
        }
    }

    /// The armed capture point, if any.
    #[inline]
    pub fn point(&self) -> Option<CapturePoint> {
        CapturePoint::decode(self.point.load(Ordering::Acquire))
    }

    /// Copies one packet if the capture still wants one.
    pub fn take(&self, data: &[u8], t0: Instant) {
        if self
            .remaining
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |r| r.checked_sub(1))
            .is_err()
        {
            return;
        }
        if let Some(mut buf) = self.free.pop() {
            buf.clear();
            buf.extend_from_slice(&data[..data.len().min(CAPTURE_SNAPLEN)]);
            let _ = self.full.push(Captured {
                data: buf,
                orig_len: data.len() as u32,
                at: t0.elapsed(),
            });
        }
    }
}

/// The trace exchange: the next `remaining` packets are traced into `records`.
#[derive(Debug)]
pub struct TraceCtl {
    remaining: AtomicU32,
    pub records: ArrayQueue<TraceRecord>,
}

impl Default for TraceCtl {
    fn default() -> Self {
        Self::new()
    }
}

impl TraceCtl {
    /// An exchange that wants no packet until armed.
    pub fn new() -> Self {
        TraceCtl {
            remaining: AtomicU32::new(0),
            records: ArrayQueue::new(CAPTURE_MAX),
        }
    }

    /// Asks for the next `n` packets (earlier records are discarded).
    pub fn arm(&self, n: u32) {
        while self.records.pop().is_some() {}
        self.remaining.store(n, Ordering::Release);
    }

    /// Whether one more packet is to be traced (and counts it).
    pub fn want_one(&self) -> bool {
        self.remaining
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |r| r.checked_sub(1))
            .is_ok()
    }
}

/// A worker's latency histogram exchange: the control thread asks by pushing an empty histogram
/// on `request`; the worker adds its own into it and hands it back on `reply`.
#[derive(Debug)]
pub struct LatencySlot {
    pub request: ArrayQueue<Histogram<u64>>,
    pub reply: ArrayQueue<Histogram<u64>>,
    /// Set by `clear stats`: the worker empties its histogram.
    pub reset: AtomicBool,
}

/// Highest latency recorded, in TSC cycles (larger values are recorded as this).
pub const LATENCY_MAX_CYCLES: u64 = 1 << 40;

/// A latency histogram as workers keep them (TSC cycles, 3 significant digits).
pub fn new_latency_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, LATENCY_MAX_CYCLES, 3).expect("valid histogram bounds")
}

/// Counters as they were at the last `clear stats`.
#[derive(Debug, Clone, Default)]
pub struct Baseline {
    pub workers: Vec<WorkerSnapshot>,
    pub ports: Vec<crate::dpdk::PortCounters>,
    pub sfs: Vec<(String, u64)>,
    pub slow_path: u64,
}

/// Everything the control plane, the stats loop and the workers share.
pub struct Dataplane {
    pub name: String,
    pub started: Instant,
    /// The running configuration: changed only by the control plane, one change at a time.
    pub pipeline: Mutex<Pipeline>,
    /// Where the running configuration came from (for `reload` without a file).
    pub source: Option<std::path::PathBuf>,
    pub ports: Vec<PortInfo>,
    pub workers: Vec<String>,
    /// The SFC tables workers use; replaced whole on every change.
    pub sfc: ArcSwapOption<SfcTables>,
    /// Bumped after every swap of `sfc`; workers compare it once per poll round.
    pub generation: AtomicU64,
    /// Admin state per pipeline port (`true`: down).
    pub port_down: Vec<AtomicBool>,
    /// [`flag`] bits.
    pub flags: AtomicU32,
    pub counters: Arc<Vec<WorkerCounters>>,
    pub stop: Arc<AtomicBool>,
    pub trace: TraceCtl,
    pub capture: CaptureCtl,
    pub latency: Vec<LatencySlot>,
    pub tsc_hz: u64,
    pub baseline: Mutex<Baseline>,
    /// Packets the slow path received (published by the main thread).
    pub slow_path: AtomicU64,
    /// Serializes changes (and everything that reads the pipeline and then swaps).
    pub change_lock: Mutex<()>,
    /// One trace or capture at a time.
    pub session_lock: Mutex<()>,
    /// Per worker: packets the host stack answers with, (pipeline port, packet), sent by that
    /// worker on its own transmit queue.
    pub inject: Vec<ArrayQueue<(usize, crate::dpdk::OwnedMbuf)>>,
    /// Next hops found and watched by ARP (the main thread asks, the slow path learns).
    pub arp: Mutex<ArpTable>,
    /// What each agent that programs qdp (`sync`) last reported.
    pub agents: Mutex<std::collections::BTreeMap<String, AgentReport>>,
}

/// The last word of one agent that programs qdp (`sync`), by its prefix.
#[derive(Debug, Clone)]
pub struct AgentReport {
    /// What it said of itself (opaque to qdp).
    pub report: serde_json::Value,
    pub at: Instant,
    pub syncs: u64,
    /// Syncs that changed the tables, and syncs refused.
    pub changes: u64,
    pub refused: u64,
    /// Why the last sync with a set was refused, while it stays so.
    pub last_error: Option<String>,
}

impl Dataplane {
    /// The shared state for a pipeline about to run.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        p: &Pipeline,
        source: Option<std::path::PathBuf>,
        ports: Vec<PortInfo>,
        sfc: Option<Arc<SfcTables>>,
        counters: Arc<Vec<WorkerCounters>>,
        stop: Arc<AtomicBool>,
        tsc_hz: u64,
    ) -> Dataplane {
        let workers: Vec<String> = p.workers.iter().map(|w| w.name.clone()).collect();
        Dataplane {
            name: p.name.clone(),
            started: Instant::now(),
            pipeline: Mutex::new(p.clone()),
            source,
            port_down: ports.iter().map(|_| AtomicBool::new(false)).collect(),
            ports,
            latency: workers
                .iter()
                .map(|_| LatencySlot {
                    request: ArrayQueue::new(1),
                    reply: ArrayQueue::new(1),
                    reset: AtomicBool::new(false),
                })
                .collect(),
            workers,
            sfc: ArcSwapOption::new(sfc),
            generation: AtomicU64::new(0),
            flags: AtomicU32::new(if p.control.latency { flag::LATENCY } else { 0 }),
            counters,
            stop,
            trace: TraceCtl::new(),
            capture: CaptureCtl::new(),
            tsc_hz,
            baseline: Mutex::new(Baseline::default()),
            slow_path: AtomicU64::new(0),
            change_lock: Mutex::new(()),
            session_lock: Mutex::new(()),
            inject: p.workers.iter().map(|_| ArrayQueue::new(256)).collect(),
            arp: Mutex::new(ArpTable::new(p, Instant::now())),
            agents: Default::default(),
        }
    }

    /// Installs new SFC tables; workers pick them up at their next poll round.
    pub fn swap_sfc(&self, t: Arc<SfcTables>) {
        self.sfc.store(Some(t));
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    pub fn set_flag(&self, bit: u32, on: bool) {
        if on {
            self.flags.fetch_or(bit, Ordering::AcqRel);
        } else {
            self.flags.fetch_and(!bit, Ordering::AcqRel);
        }
    }

    /// Arms a trace of the next `n` packets (any earlier records are discarded).
    pub fn arm_trace(&self, n: u32) {
        self.trace.arm(n);
        self.set_flag(flag::TRACE, n > 0);
    }

    pub fn disarm_trace(&self) {
        self.trace.remaining.store(0, Ordering::Release);
        self.set_flag(flag::TRACE, false);
    }

    /// Arms a capture of `n` packets at `point`.
    pub fn arm_capture(&self, point: CapturePoint, n: u32) {
        while self.capture.full.pop().is_some() {}
        while self.capture.free.len() < n as usize {
            if self
                .capture
                .free
                .push(Vec::with_capacity(CAPTURE_SNAPLEN))
                .is_err()
            {
                break;
            }
        }
        self.capture.point.store(point.encode(), Ordering::Release);
        self.capture.remaining.store(n, Ordering::Release);
        self.set_flag(flag::CAPTURE, true);
    }

    pub fn disarm_capture(&self) {
        self.capture.remaining.store(0, Ordering::Release);
        self.capture.point.store(0, Ordering::Release);
        self.set_flag(flag::CAPTURE, false);
    }

    /// How many packets the armed capture still waits for.
    pub fn capture_remaining(&self) -> u32 {
        self.capture.remaining.load(Ordering::Acquire)
    }

    /// How many packets the armed trace still waits for.
    pub fn trace_remaining(&self) -> u32 {
        self.trace.remaining.load(Ordering::Acquire)
    }

    /// The pipeline port index of a port name.
    pub fn port_index(&self, name: &str) -> Option<usize> {
        self.ports.iter().position(|p| p.name == name)
    }
}

impl std::fmt::Debug for Dataplane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dataplane")
            .field("name", &self.name)
            .field("ports", &self.ports.len())
            .field("workers", &self.workers)
            .finish_non_exhaustive()
    }
}
