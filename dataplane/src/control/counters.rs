//! The counters the control plane reports, read from the shared state: per worker, per port
//! and per SF since the last `clear stats`, and the workers' latency histograms. Used by the
//! `show` commands and the Prometheus endpoint alike.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::shared::{new_latency_histogram, Dataplane};
use crate::stats::WorkerSnapshot;

fn totals(dp: &Dataplane) -> (Vec<WorkerSnapshot>, Vec<crate::dpdk::PortCounters>) {
    (
        dp.counters.iter().map(|c| c.snapshot()).collect(),
        dp.ports.iter().map(|p| p.id.counters()).collect(),
    )
}
pub fn clear_stats(dp: &Dataplane) -> Result<Value, String> {
    let (workers, ports) = totals(dp);
    let sfs = dp
        .sfc
        .load()
        .as_ref()
        .map(|t| t.sf_totals())
        .unwrap_or_default();
    *dp.baseline.lock().map_err(|_| "control state poisoned")? = crate::shared::Baseline {
        workers,
        ports,
        sfs,
        slow_path: dp.slow_path.load(Ordering::Relaxed),
    };
    for s in &dp.latency {
        s.reset.store(true, Ordering::Relaxed);
    }
    Ok(json!({ "cleared": true }))
}
/// Worker counters since the last `clear stats`.
pub fn worker_stats(dp: &Dataplane) -> Vec<WorkerSnapshot> {
    let (now, _) = totals(dp);
    let base = dp
        .baseline
        .lock()
        .map(|b| b.workers.clone())
        .unwrap_or_default();
    now.iter()
        .enumerate()
        .map(|(i, s)| match base.get(i) {
            Some(b) => s.since(b),
            None => *s,
        })
        .collect()
}
/// Port counters since the last `clear stats`.
pub fn port_stats(dp: &Dataplane) -> Vec<crate::dpdk::PortCounters> {
    let (_, now) = totals(dp);
    let base = dp
        .baseline
        .lock()
        .map(|b| b.ports.clone())
        .unwrap_or_default();
    now.iter()
        .enumerate()
        .map(|(i, c)| match base.get(i) {
            Some(b) => crate::dpdk::PortCounters {
                ipackets: c.ipackets.saturating_sub(b.ipackets),
                opackets: c.opackets.saturating_sub(b.opackets),
                ibytes: c.ibytes.saturating_sub(b.ibytes),
                obytes: c.obytes.saturating_sub(b.obytes),
                imissed: c.imissed.saturating_sub(b.imissed),
                ierrors: c.ierrors.saturating_sub(b.ierrors),
                oerrors: c.oerrors.saturating_sub(b.oerrors),
                rx_nombuf: c.rx_nombuf.saturating_sub(b.rx_nombuf),
            },
            None => *c,
        })
        .collect()
}
/// Per pipeline port, the packets its transmit queues refused since the last `clear stats`,
/// summed over the workers.
pub fn port_tx_dropped(dp: &Dataplane) -> Vec<u64> {
    tx_dropped_by_port(&worker_stats(dp), dp.ports.len())
}

/// The workers' per-port refused packets summed, for `ports` ports.
pub fn tx_dropped_by_port(workers: &[WorkerSnapshot], ports: usize) -> Vec<u64> {
    (0..ports)
        .map(|i| {
            workers
                .iter()
                .map(|w| w.tx_dropped.get(i).copied().unwrap_or(0))
                .sum()
        })
        .collect()
}
/// SF packet counts since the last `clear stats`.
pub fn sf_stats(dp: &Dataplane) -> Vec<(String, u64)> {
    let now = dp
        .sfc
        .load()
        .as_ref()
        .map(|t| t.sf_totals())
        .unwrap_or_default();
    let base = dp
        .baseline
        .lock()
        .map(|b| b.sfs.clone())
        .unwrap_or_default();
    now.into_iter()
        .map(|(n, v)| {
            let b = base.iter().find(|(bn, _)| *bn == n).map_or(0, |x| x.1);
            (n, v.saturating_sub(b))
        })
        .collect()
}
/// Per-worker latency: asks each worker for a copy of its histogram (TSC cycles).
pub fn latency(dp: &Dataplane) -> Vec<Option<hdrhistogram::Histogram<u64>>> {
    for s in &dp.latency {
        while s.reply.pop().is_some() {}
        let _ = s.request.push(new_latency_histogram());
    }
    let deadline = Instant::now() + Duration::from_millis(500);
    let mut out: Vec<Option<hdrhistogram::Histogram<u64>>> = vec![None; dp.latency.len()];
    while Instant::now() < deadline && out.iter().any(|h| h.is_none()) {
        for (i, s) in dp.latency.iter().enumerate() {
            if out[i].is_none() {
                out[i] = s.reply.pop();
            }
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    for s in &dp.latency {
        // A worker that did not answer in time must not answer a later request with this one.
        while s.request.pop().is_some() {}
    }
    out
}
fn cycles_to_ns(dp: &Dataplane, c: u64) -> u64 {
    if dp.tsc_hz == 0 {
        return 0;
    }
    (u128::from(c) * 1_000_000_000 / u128::from(dp.tsc_hz)) as u64
}
/// Latency figures of one histogram, in nanoseconds.
pub fn latency_figures(dp: &Dataplane, h: &hdrhistogram::Histogram<u64>) -> Value {
    json!({
        "packets": h.len(),
        "p50_ns": cycles_to_ns(dp, h.value_at_quantile(0.5)),
        "p99_ns": cycles_to_ns(dp, h.value_at_quantile(0.99)),
        "p999_ns": cycles_to_ns(dp, h.value_at_quantile(0.999)),
        "max_ns": cycles_to_ns(dp, h.max()),
        "mean_ns": if dp.tsc_hz == 0 { 0.0 } else { h.mean() * 1e9 / dp.tsc_hz as f64 },
    })
}
