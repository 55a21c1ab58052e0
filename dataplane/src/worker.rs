//! The poll loop of one worker: receive a burst from each of its queues, run the pipeline on it,
//! transmit, repeat. Nothing here allocates, locks or blocks (except the optional idle sleep).

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::Duration;

use crate::config::{IdleMode, MAX_BURST};
use crate::dpdk::{rdtsc, Burst, PortId, QueueId};
use crate::nodes::xconnect::{rewrite_macs, XconnectDirection};
use crate::stats::{DropReason, WorkerCounters, WorkerSnapshot};

/// What a worker does with the packets of one receive queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RxAction {
    /// Cross-connect to another port.
    Xconnect(XconnectDirection),
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
}

/// Runs the poll loop until `stop` is set. Returns 0.
pub fn run(plan: &WorkerPlan, counters: &WorkerCounters, stop: &AtomicBool) -> i32 {
    let mut burst = Burst::new();
    let mut keep = Burst::new();
    let mut local = WorkerSnapshot::default();
    let mut empty_run: u32 = 0;
    let burst_size = plan.burst.min(MAX_BURST);
    while !stop.load(Relaxed) {
        let start = rdtsc();
        let mut got = 0usize;
        for a in &plan.rx {
            let n = burst.rx(a.port, a.queue, burst_size);
            if n == 0 {
                continue;
            }
            got += n;
            local.rx_bytes += burst.bytes(0..n);
            match a.action {
                RxAction::Xconnect(dir) => {
                    let out = &mut burst;
                    if let Some(rw) = &dir.rewrite {
                        let mut runts = 0;
                        for i in 0..n {
                            if rewrite_macs(out.data_mut(i), rw).is_err() {
                                runts += 1;
                            }
                        }
                        if runts > 0 {
                            // Rare: split off the runts, keep order of the rest.
                            for i in 0..n {
                                if out.data(i).len() >= crate::wire::ethernet::HEADER_LEN {
                                    out.move_to(i, &mut keep);
                                }
                            }
                            out.clear_moved();
                            local.drops[DropReason::Runt as usize] += runts;
                            local.count_tx(keep.tx(plan.ports[dir.out_port], plan.tx_queue));
                            continue;
                        }
                    }
                    local.count_tx(out.tx(plan.ports[dir.out_port], plan.tx_queue));
                }
                RxAction::Drop(reason) => {
                    burst.free_all();
                    local.drops[reason as usize] += n as u64;
                }
            }
        }
        local.polls += 1;
        if got == 0 {
            local.empty_polls += 1;
            empty_run = empty_run.saturating_add(1);
            if plan.idle == IdleMode::Sleep && empty_run >= plan.idle_polls {
                counters.publish(&local);
                std::thread::sleep(Duration::from_micros(u64::from(plan.sleep_us)));
            } else if local.empty_polls & 0x3ff == 0 {
                counters.publish(&local);
            }
        } else {
            empty_run = 0;
            local.rx_packets += got as u64;
            local.busy_cycles += rdtsc().wrapping_sub(start);
            counters.publish(&local);
        }
    }
    counters.publish(&local);
    0
}
