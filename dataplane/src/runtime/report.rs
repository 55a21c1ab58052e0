//! What `qdp run` prints: the stats line each interval (rates in total, per port and per worker,
//! the share of busy polls) and the summary at exit (driver and worker counters, drops by reason,
//! mempools, SFs, the slow path), also as JSON.

use std::fmt::Write as _;

use super::PortRt;
use crate::config::Pipeline;
use crate::control::counters::tx_dropped_by_port;
use crate::dpdk::{PortCounters, SocketId};
use crate::stats::{DropReason, WorkerSnapshot};

/// Final numbers of a run.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub seconds: f64,
    pub ports: Vec<(String, PortCounters)>,
    pub workers: Vec<(String, WorkerSnapshot)>,
    /// Per NUMA node: (mbufs in the pool, mbufs back in it after the ports closed).
    pub mempools: Vec<(SocketId, u32, u32)>,
    /// Packets each service function handled.
    pub sfs: Vec<(String, u64)>,
    /// Packets the slow path handled, by reason.
    pub slow_path: Vec<(String, u64)>,
}

impl Summary {
    /// Per port, the packets its transmit queues refused, summed over the workers.
    pub fn tx_dropped(&self) -> Vec<u64> {
        let workers: Vec<WorkerSnapshot> = self.workers.iter().map(|(_, w)| *w).collect();
        tx_dropped_by_port(&workers, self.ports.len())
    }

    pub fn to_json(&self) -> serde_json::Value {
        let tx_dropped = self.tx_dropped();
        let ports: serde_json::Map<String, serde_json::Value> = self
            .ports
            .iter()
            .zip(&tx_dropped)
            .map(|((n, c), d)| {
                (
                    n.clone(),
                    serde_json::json!({
                        "ipackets": c.ipackets, "opackets": c.opackets,
                        "ibytes": c.ibytes, "obytes": c.obytes,
                        "imissed": c.imissed, "ierrors": c.ierrors, "oerrors": c.oerrors,
                        "rx_nombuf": c.rx_nombuf, "tx_dropped": d,
                    }),
                )
            })
            .collect();
        let workers: serde_json::Map<String, serde_json::Value> = self
            .workers
            .iter()
            .map(|(n, s)| {
                let drops: serde_json::Map<String, serde_json::Value> = DropReason::ALL
                    .iter()
                    .map(|r| (r.name().to_string(), s.drop(*r).into()))
                    .collect();
                (
                    n.clone(),
                    serde_json::json!({
                        "rx_packets": s.rx_packets, "rx_bytes": s.rx_bytes,
                        "tx_packets": s.tx_packets, "tx_bytes": s.tx_bytes, "slow_path": s.slow_path,
                        "polls": s.polls, "empty_polls": s.empty_polls, "drops": drops,
                    }),
                )
            })
            .collect();
        let mempools: serde_json::Map<String, serde_json::Value> = self
            .mempools
            .iter()
            .map(|(node, size, free)| {
                (
                    node.to_string(),
                    serde_json::json!({ "size": size, "free": free }),
                )
            })
            .collect();
        let sfs: serde_json::Map<String, serde_json::Value> = self
            .sfs
            .iter()
            .map(|(n, v)| (n.clone(), serde_json::json!({ "packets": v })))
            .collect();
        let slow: serde_json::Map<String, serde_json::Value> = self
            .slow_path
            .iter()
            .map(|(n, v)| (n.clone(), (*v).into()))
            .collect();
        serde_json::json!({
            "seconds": self.seconds, "ports": ports, "workers": workers, "mempools": mempools,
            "sfs": sfs, "slow_path": slow,
        })
    }
}

fn rate(delta: u64, dt: f64) -> f64 {
    if dt > 0.0 {
        delta as f64 / dt
    } else {
        0.0
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) fn stats_line(
    t: f64,
    dt: f64,
    ports: &[PortRt],
    before: &[PortCounters],
    after: &[PortCounters],
    p: &Pipeline,
    wbefore: &[WorkerSnapshot],
    wafter: &[WorkerSnapshot],
) -> String {
    let mut port_parts = Vec::new();
    for ((pr, b), a) in ports.iter().zip(before).zip(after) {
        let ip = a.ipackets - b.ipackets;
        let op = a.opackets - b.opackets;
        let mut s = format!(
            "{} rx {:.2}/tx {:.2}",
            pr.name,
            rate(ip, dt) / 1e6,
            rate(op, dt) / 1e6
        );
        let missed = a.imissed - b.imissed;
        let nombuf = a.rx_nombuf - b.rx_nombuf;
        let errs = (a.ierrors - b.ierrors) + (a.oerrors - b.oerrors);
        if missed + nombuf + errs > 0 {
            write!(s, " missed {missed} nombuf {nombuf} err {errs}").expect("String");
        }
        port_parts.push(s);
    }
    // Totals come from the workers (some virtual devices count no bytes).
    let mut total = WorkerSnapshot::default();
    let mut worker_parts = Vec::new();
    for ((w, b), a) in p.workers.iter().zip(wbefore).zip(wafter) {
        let d = a.since(b);
        total.add(&d);
        let busy = if d.polls > 0 {
            100.0 * (d.polls - d.empty_polls) as f64 / d.polls as f64
        } else {
            0.0
        };
        worker_parts.push(format!(
            "{} rx {:.2}/tx {:.2} busy {:.0}%",
            w.name,
            rate(d.rx_packets, dt) / 1e6,
            rate(d.tx_packets, dt) / 1e6,
            busy
        ));
    }
    let (rx_p, rx_b, tx_p, tx_b) = (
        total.rx_packets,
        total.rx_bytes,
        total.tx_packets,
        total.tx_bytes,
    );
    let drop_part: Vec<String> = DropReason::ALL
        .iter()
        .filter(|r| total.drop(**r) > 0)
        .map(|r| format!("{}={}", r.name(), total.drop(*r)))
        .collect();
    format!(
        "[{t:7.1}s] rx {:.2} Mpps {:.2} Gbps | tx {:.2} Mpps {:.2} Gbps | drops {} | ports: {} | workers: {}",
        rate(rx_p, dt) / 1e6,
        rate(rx_b * 8, dt) / 1e9,
        rate(tx_p, dt) / 1e6,
        rate(tx_b * 8, dt) / 1e9,
        if drop_part.is_empty() { "0".to_string() } else { drop_part.join(" ") },
        port_parts.join(", "),
        worker_parts.join(", ")
    )
}

pub(super) fn print_summary(s: &Summary) {
    println!("== qdp summary: {:.1} s ==", s.seconds);
    println!(
        "{:<12} {:>14} {:>14} {:>16} {:>16} {:>10} {:>10} {:>10} {:>10}",
        "port",
        "rx packets",
        "tx packets",
        "rx bytes",
        "tx bytes",
        "missed",
        "errors",
        "nombuf",
        "tx dropped"
    );
    for ((n, c), d) in s.ports.iter().zip(s.tx_dropped()) {
        println!(
            "{:<12} {:>14} {:>14} {:>16} {:>16} {:>10} {:>10} {:>10} {:>10}",
            n,
            c.ipackets,
            c.opackets,
            c.ibytes,
            c.obytes,
            c.imissed,
            c.ierrors + c.oerrors,
            c.rx_nombuf,
            d
        );
    }
    println!(
        "{:<12} {:>14} {:>14} {:>10}  drops",
        "worker", "rx packets", "tx packets", "busy"
    );
    for (n, w) in &s.workers {
        let busy = if w.polls > 0 {
            100.0 * (w.polls - w.empty_polls) as f64 / w.polls as f64
        } else {
            0.0
        };
        let mut drops: Vec<String> = DropReason::ALL
            .iter()
            .filter(|r| w.drop(**r) > 0)
            .map(|r| format!("{}={}", r.name(), w.drop(*r)))
            .collect();
        if drops.is_empty() {
            drops.push("none".to_string());
        }
        println!(
            "{:<12} {:>14} {:>14} {:>9.0}%  {}",
            n,
            w.rx_packets,
            w.tx_packets,
            busy,
            drops.join(" ")
        );
    }
    for (reason, packets) in s.slow_path.iter().filter(|(_, n)| *n > 0) {
        println!("slow path {reason}: {packets} packets");
    }
    for (name, packets) in &s.sfs {
        println!("sf {name}: {packets} packets");
    }
    for (node, size, free) in &s.mempools {
        println!("mempool node {node}: {free} of {size} mbufs back in the pool");
    }
    if s.seconds > 0.0 {
        let rx: u64 = s.workers.iter().map(|(_, w)| w.rx_packets).sum();
        println!("average: {:.3} Mpps received", rx as f64 / s.seconds / 1e6);
    }
}
