//! The poll loop of one worker: receive a burst from each of its queues, run the pipeline on it,
//! transmit, repeat. Nothing here allocates, locks or blocks (except the optional idle sleep).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use crate::config::{IdleMode, MAX_BURST};
use crate::dpdk::{Burst, PortId, QueueId};
use crate::nodes::sfc::{SfcTables, Verdict};
use crate::nodes::xconnect::{rewrite_macs, XconnectDirection};
use crate::slowpath::{SlowPacket, SlowQueue};
use crate::stats::{DropReason, WorkerCounters, WorkerSnapshot};
use crate::wire::ethernet::HEADER_LEN as ETHERNET_HEADER_LEN;

/// What a worker does with the packets of one receive queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RxAction {
    /// Cross-connect to another port.
    Xconnect(XconnectDirection),
    /// Service function chaining: ethernet input, classifier, SFF (`in_port` is the pipeline
    /// port index the packets arrived on).
    Sfc { in_port: usize },
    /// Drop everything, counted under this reason.
    Drop(DropReason),
}

/// One receive queue a worker polls and what it does with it.
#[derive(Debug, Clone, Copy)]
pub struct RxAssignment {
    pub port: PortId,
    pub queue: QueueId,
    pub action: RxAction,
}

/// Everything a worker needs, resolved before it starts.
#[derive(Debug, Clone)]
pub struct WorkerPlan {
    pub name: String,
    pub rx: Vec<RxAssignment>,
    /// DPDK port id of each pipeline port, by pipeline port index.
    pub ports: Vec<PortId>,
    /// This worker's transmit queue on every port.
    pub tx_queue: QueueId,
    pub burst: usize,
    pub idle: IdleMode,
    pub idle_polls: u32,
    pub sleep_us: u32,
    /// The SFC tables, when the pipeline chains service functions.
    pub sfc: Option<Arc<SfcTables>>,
    /// Where packets for the slow path go.
    pub slow_path: Arc<SlowQueue>,
}

/// Runs the poll loop until `stop` is set, publishing its counters (and the packets each SF
/// handled, into `sf_counters`). Returns 0.
pub fn run(
    plan: &WorkerPlan,
    counters: &WorkerCounters,
    sf_counters: &[AtomicU64],
    stop: &AtomicBool,
) -> i32 {
    let mut burst = Burst::new();
    let mut keep = Burst::new();
    // Per output port, for packets the SFC sends out; all allocated before the loop.
    let mut outs: Vec<Burst> = plan.ports.iter().map(|_| Burst::new()).collect();
    let mut sfc_state = plan.sfc.as_ref().map(|t| t.new_state());
    let publish = |local: &WorkerSnapshot, sfc_state: &Option<crate::nodes::sfc::SfcState>| {
        counters.publish(local);
        if let Some(st) = sfc_state {
            for (a, v) in sf_counters.iter().zip(&st.sf_packets) {
                a.store(*v, Relaxed);
            }
        }
    };
    let mut local = WorkerSnapshot::default();
    let mut empty_run: u32 = 0;
    let burst_size = plan.burst.min(MAX_BURST);
    while !stop.load(Relaxed) {
        let mut got = 0usize;
        for a in &plan.rx {
            let n = burst.rx(a.port, a.queue, burst_size);
            if n == 0 {
                continue;
            }
            got += n;
            let bytes = burst.bytes(0..n);
            local.rx_bytes += bytes;
            match a.action {
                RxAction::Xconnect(dir) => {
                    let out_port = plan.ports[dir.out_port];
                    if let Some(rw) = &dir.rewrite {
                        let mut runts = 0;
                        for i in 0..n {
                            if rewrite_macs(burst.data_mut(i), rw).is_err() {
                                runts += 1;
                            }
                        }
                        if runts > 0 {
                            // Rare: split off the runts, keeping the order of the rest.
                            for i in 0..n {
                                if burst.data(i).len() >= ETHERNET_HEADER_LEN {
                                    burst.move_to(i, &mut keep);
                                }
                            }
                            burst.clear_moved();
                            local.drops[DropReason::Runt as usize] += runts;
                            let kept_bytes = keep.bytes(0..keep.len());
                            local.count_tx(kept_bytes, keep.tx(out_port, plan.tx_queue));
                            continue;
                        }
                    }
                    local.count_tx(bytes, burst.tx(out_port, plan.tx_queue));
                }
                RxAction::Sfc { in_port } => {
                    let (Some(tables), Some(st)) = (plan.sfc.as_deref(), sfc_state.as_mut()) else {
                        burst.free_all();
                        local.drops[DropReason::NoRoute as usize] += n as u64;
                        continue;
                    };
                    // One bit per output port (at most config::MAX_PORTS).
                    let mut touched: u64 = 0;
                    for i in 0..n {
                        match tables.process(st, &mut burst.packet(i), in_port) {
                            Verdict::Tx(p) => {
                                let out = &mut outs[p];
                                if out.is_full() {
                                    let bytes = out.bytes(0..out.len());
                                    local.count_tx(bytes, out.tx(plan.ports[p], plan.tx_queue));
                                }
                                burst.move_to(i, out);
                                touched |= 1 << p;
                            }
                            Verdict::Drop(r) => local.drops[r as usize] += 1,
                            Verdict::SlowPath(reason) => {
                                let mbuf = burst.take(i);
                                // Never waits: a full queue drops (the packet is freed here).
                                match plan.slow_path.push(SlowPacket { reason, mbuf }) {
                                    Ok(()) => local.slow_path += 1,
                                    Err(_) => local.drops[DropReason::SlowPathFull as usize] += 1,
                                }
                            }
                        }
                    }
                    // Frees what was dropped.
                    burst.clear_moved();
                    while touched != 0 {
                        let p = touched.trailing_zeros() as usize;
                        touched &= touched - 1;
                        let out = &mut outs[p];
                        let bytes = out.bytes(0..out.len());
                        local.count_tx(bytes, out.tx(plan.ports[p], plan.tx_queue));
                    }
                }
                RxAction::Drop(reason) => {
                    burst.free_all();
                    local.drops[reason as usize] += n as u64;
                }
            }
        }
        local.polls += 1;
        // Publish every 64 rounds: the stats thread reads once per interval.
        if local.polls & 63 == 0 {
            publish(&local, &sfc_state);
        }
        if got == 0 {
            local.empty_polls += 1;
            empty_run = empty_run.saturating_add(1);
            if plan.idle == IdleMode::Sleep && empty_run >= plan.idle_polls {
                publish(&local, &sfc_state);
                std::thread::sleep(Duration::from_micros(u64::from(plan.sleep_us)));
            }
        } else {
            empty_run = 0;
            local.rx_packets += got as u64;
        }
    }
    publish(&local, &sfc_state);
    0
}
