//! The poll loop of one worker: receive a burst from each of its queues, run the pipeline on it,
//! transmit, repeat. Nothing here allocates, locks or blocks (except the optional idle sleep,
//! taking up new SFC tables after a change, which may allocate flow caches for new firewalls,
//! and an armed trace, which records text).
//!
//! Once per poll round a worker reads two atomics the control plane writes: the generation of
//! the SFC tables (a new one: load the new tables, carry the flow state over) and a set of flags
//! (trace, capture, latency, a port set down) that guard everything else it may have to do.

use std::sync::atomic::{AtomicBool, Ordering::Acquire, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use crate::config::IdleMode;
use crate::dpdk::{tsc, Burst, BurstLengths, PortId, QueueId};
use crate::node::Node;
use crate::nodes::sfc::{ProxyFlows, SfcState, SfcTables};
use crate::nodes::trace::TraceLog;
use crate::nodes::xconnect::{rewrite_macs, XconnectDirection};
use crate::nodes::Verdict;
use crate::packet::{PacketBatch, MAX_BURST};
use crate::shared::{
    flag, new_latency_histogram, CapturePoint, Dataplane, PortInfo, TraceCtl, TraceRecord,
    LATENCY_MAX_CYCLES,
};
use crate::slowpath::{SlowPacket, SlowQueue};
use crate::stats::{DropReason, WorkerSnapshot};
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
    /// The port's index in the pipeline.
    pub port_index: usize,
    pub queue: QueueId,
    pub action: RxAction,
}

/// Everything a worker needs, resolved before it starts.
#[derive(Debug, Clone)]
pub struct WorkerPlan {
    pub name: String,
    /// The worker's index (its counters, latency slot and SF counter slots).
    pub index: usize,
    pub rx: Vec<RxAssignment>,
    /// DPDK port id of each pipeline port, by pipeline port index.
    pub ports: Vec<PortId>,
    /// This worker's transmit queue on every port.
    pub tx_queue: QueueId,
    /// Longest frame each pipeline port may send (MTU plus Ethernet header and one VLAN tag;
    /// `u32::MAX` for a port without an `mtu`); longer ones are dropped as `over-mtu`.
    pub tx_limit: Vec<u32>,
    pub burst: usize,
    pub idle: IdleMode,
    pub idle_polls: u32,
    pub sleep_us: u32,
    /// The shared state: SFC tables, counters, control exchanges.
    pub dp: Arc<Dataplane>,
    /// Where packets for the slow path go.
    pub slow_path: Arc<SlowQueue>,
    /// The SFC proxy's per-flow headers of every worker (this one writes shard `index`).
    pub proxy_flows: Arc<ProxyFlows>,
}

/// Transmits `out` on pipeline port `pi`, honouring a port set down and a transmit capture.
#[inline]
fn send(out: &mut Burst, plan: &WorkerPlan, pi: usize, flags: u32, local: &mut WorkerSnapshot) {
    let lengths = out.lengths();
    send_counted(out, lengths, plan, pi, flags, local);
}

/// [`send`] for a burst of these lengths. Frames longer than the port's limit are dropped first.
#[inline]
fn send_counted(
    out: &mut Burst,
    lengths: BurstLengths,
    plan: &WorkerPlan,
    pi: usize,
    flags: u32,
    local: &mut WorkerSnapshot,
) {
    let mut bytes = lengths.bytes;
    if lengths.max > plan.tx_limit[pi] {
        let (n, b) = out.drop_longer_than(plan.tx_limit[pi]);
        local.drops[DropReason::OverMtu as usize] += n;
        bytes -= b;
    }
    if flags & (flag::PORT_DOWN | flag::CAPTURE) != 0 {
        let dp = &plan.dp;
        if flags & flag::PORT_DOWN != 0 && dp.port_down[pi].load(Relaxed) {
            local.drops[DropReason::PortDown as usize] += out.len() as u64;
            out.free_all();
            return;
        }
        if flags & flag::CAPTURE != 0 && dp.capture.point() == Some(CapturePoint::Tx(pi)) {
            for i in 0..out.len() {
                dp.capture.take(out.data(i), dp.started);
            }
        }
    }
    local.count_tx(pi, bytes, out.tx(plan.ports[pi], plan.tx_queue));
}

/// A verdict in words, for traces: drops name the node that dropped the packet.
fn describe(v: Verdict, ports: &[PortInfo]) -> String {
    match v {
        Verdict::Tx(p) => format!(
            "tx on port {}",
            ports.get(p).map_or("?", |x| x.name.as_str())
        ),
        Verdict::Drop(r) => format!("drop ({}, in {})", r.name(), r.node().name()),
        Verdict::SlowPath(r) => format!("slow path ({})", r.name()),
    }
}

/// Where an armed trace of a burst's packets goes.
#[derive(Debug, Clone, Copy)]
pub struct TraceSink<'a> {
    pub ctl: &'a TraceCtl,
    /// The pipeline's ports, for the verdicts' words.
    pub ports: &'a [PortInfo],
    pub worker: usize,
    /// The pipeline port the burst came from.
    pub port: usize,
}

/// How the packets of a burst leave, as [`process_burst`] found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BurstOut {
    /// All of them by the transit fast path, out of this port: rewritten in place, so their
    /// lengths, and the burst's byte count, are unchanged.
    Transit(usize),
    /// All of them out of this port.
    Uniform(usize),
    /// Each as its verdict says.
    Mixed,
}

/// Runs the SFC pipeline on the packets of `burst` (at most [`MAX_BURST`]), which arrived on
/// pipeline port `in_port`. When every packet is to be sent out of one port, says so, and the
/// caller can send the burst as it is; otherwise writes each packet's verdict into `verdicts`.
/// With `trace`, the packets the trace still wants are traced. Generic over the burst, so that
/// tests drive it with plain buffers. Kept out of line: the poll loop around it is large, and
/// this loop alone fits the registers.
#[inline(never)]
pub fn process_burst<B: PacketBatch>(
    tables: &SfcTables,
    st: &mut SfcState,
    burst: &mut B,
    in_port: usize,
    trace: Option<&TraceSink<'_>>,
    verdicts: &mut [Verdict; MAX_BURST],
) -> BurstOut {
    let n = burst.len().min(MAX_BURST);
    let tracing = trace.is_some();
    let mut port = usize::MAX;
    let mut i = 0;
    let mut uniform = true;
    if !tracing {
        // The common case on an SFF: the transit fast path takes every packet, all toward one
        // next hop. No verdict is stored until a packet does not fit.
        let mut other = None;
        i = burst.for_each_data_mut(|i, d| match tables.transit(st, d, in_port) {
            Some(p) if i == 0 || p == port => {
                port = p;
                true
            }
            Some(p) => {
                // Forwarded, but toward another port.
                other = Some(p);
                false
            }
            None => false,
        });
        if i == n && i > 0 {
            return BurstOut::Transit(port);
        }
        verdicts[..i].fill(Verdict::Tx(port));
        if let Some(p) = other {
            verdicts[i] = Verdict::Tx(p);
            uniform = false;
            i += 1;
        }
    }
    for (i, slot) in verdicts[..n].iter_mut().enumerate().skip(i) {
        let v = if let Some(t) = trace.filter(|t| t.ctl.want_one()) {
            let mut log = TraceLog::default();
            let len = burst.data(i).len();
            let v = tables.process_with(st, &mut burst.packet(i), in_port, &mut log);
            let _ = t.ctl.records.push(TraceRecord {
                worker: t.worker,
                port: t.port,
                len,
                steps: log.0,
                verdict: describe(v, t.ports),
            });
            v
        } else {
            tables.process(st, &mut burst.packet(i), in_port)
        };
        *slot = v;
        match v {
            Verdict::Tx(p) if port == usize::MAX => port = p,
            Verdict::Tx(p) => uniform &= p == port,
            _ => uniform = false,
        }
    }
    if uniform && port != usize::MAX {
        BurstOut::Uniform(port)
    } else {
        BurstOut::Mixed
    }
}

/// Runs the poll loop until `stop` is set, publishing its counters. Returns 0.
pub fn run(plan: &WorkerPlan, stop: &AtomicBool) -> i32 {
    let dp = &*plan.dp;
    let wi = plan.index;
    let counters = &dp.counters[wi];
    let mut burst = Burst::new();
    let mut keep = Burst::new();
    let mut verdicts = [Verdict::Tx(0); MAX_BURST];
    // Per output port, for packets the SFC sends out; all allocated before the loop.
    let mut outs: Vec<Burst> = plan.ports.iter().map(|_| Burst::new()).collect();
    let mut generation = dp.generation.load(Acquire);
    let mut tables: Option<Arc<SfcTables>> = dp.sfc.load_full();
    let mut sfc_state = tables
        .as_ref()
        .map(|t| t.new_worker_state(&plan.proxy_flows, wi));
    let mut hist = new_latency_histogram();
    let mut local = WorkerSnapshot::default();
    let mut empty_run: u32 = 0;
    let burst_size = plan.burst.min(MAX_BURST);
    while !stop.load(Relaxed) {
        let flags = dp.flags.load(Relaxed);
        let g = dp.generation.load(Acquire);
        if g != generation {
            // New tables: publish the SF counts into the old ones, carry the state over.
            generation = g;
            let new = dp.sfc.load_full();
            sfc_state = match (tables.as_ref(), sfc_state.take(), new.as_ref()) {
                (Some(old), Some(st), Some(n)) => {
                    old.publish_sf_counts(&st, wi);
                    Some(n.carry_state(st, old, wi))
                }
                (_, _, Some(n)) => Some(n.new_worker_state(&plan.proxy_flows, wi)),
                _ => None,
            };
            tables = new;
        }
        // Answers of the host stack, to send on this worker's transmit queues.
        if !dp.inject[wi].is_empty() {
            while let Some((p, m)) = dp.inject[wi].pop() {
                if p < outs.len() {
                    if let Err(m) = outs[p].push(m) {
                        drop(m);
                    }
                    send(&mut outs[p], plan, p, flags, &mut local);
                }
            }
        }
        let mut got = 0usize;
        for a in &plan.rx {
            if flags & flag::PORT_DOWN != 0 && dp.port_down[a.port_index].load(Relaxed) {
                continue;
            }
            let mut n = burst.rx(a.port, a.queue, burst_size);
            if n == 0 {
                continue;
            }
            let t_rx = if flags & flag::LATENCY != 0 { tsc() } else { 0 };
            got += n;
            let mut lengths = burst.lengths();
            local.rx_bytes += lengths.bytes;
            if lengths.chained {
                // Rare: jumbo frames received as chains of mbufs.
                let bad = burst.drop_bad_chains();
                local.drops[DropReason::TooManySegments as usize] += bad.too_many_segments;
                local.drops[DropReason::HeadersSplit as usize] += bad.headers_split;
                n = burst.len();
                lengths = burst.lengths();
                if n == 0 {
                    continue;
                }
            }
            let capture_drops =
                flags & flag::CAPTURE != 0 && dp.capture.point() == Some(CapturePoint::Drop);
            if flags & flag::CAPTURE != 0
                && dp.capture.point() == Some(CapturePoint::Rx(a.port_index))
            {
                for i in 0..n {
                    dp.capture.take(burst.data(i), dp.started);
                }
            }
            match a.action {
                RxAction::Xconnect(dir) => {
                    if flags & flag::TRACE != 0 {
                        for i in 0..n {
                            if dp.trace.want_one() {
                                let _ = dp.trace.records.push(TraceRecord {
                                    worker: wi,
                                    port: a.port_index,
                                    len: burst.data(i).len(),
                                    steps: vec![(
                                        Node::Xconnect,
                                        format!(
                                            "to port {}{}",
                                            dp.ports[dir.out_port].name,
                                            if dir.rewrite.is_some() {
                                                ", MACs rewritten"
                                            } else {
                                                ""
                                            }
                                        ),
                                    )],
                                    verdict: describe(Verdict::Tx(dir.out_port), &dp.ports),
                                });
                            }
                        }
                    }
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
                                } else if capture_drops {
                                    dp.capture.take(burst.data(i), dp.started);
                                }
                            }
                            burst.clear_moved();
                            local.drops[DropReason::Runt as usize] += runts;
                            send(&mut keep, plan, dir.out_port, flags, &mut local);
                            continue;
                        }
                    }
                    send(&mut burst, plan, dir.out_port, flags, &mut local);
                }
                RxAction::Sfc { in_port } => {
                    let (Some(tables), Some(st)) = (tables.as_deref(), sfc_state.as_mut()) else {
                        burst.free_all();
                        local.drops[DropReason::NoRoute as usize] += n as u64;
                        continue;
                    };
                    let sink = TraceSink {
                        ctl: &dp.trace,
                        ports: &dp.ports,
                        worker: wi,
                        port: a.port_index,
                    };
                    let trace = (flags & flag::TRACE != 0).then_some(&sink);
                    let out = process_burst(tables, st, &mut burst, in_port, trace, &mut verdicts);
                    if let BurstOut::Transit(p) = out {
                        // The common case: every packet leaves on the same port, in one burst,
                        // with the bytes it came in with.
                        send_counted(&mut burst, lengths, plan, p, flags, &mut local);
                    } else if let BurstOut::Uniform(p) = out {
                        send(&mut burst, plan, p, flags, &mut local);
                    } else {
                        // One bit per output port (at most config::MAX_PORTS).
                        let mut touched: u64 = 0;
                        for (i, &v) in verdicts[..n].iter().enumerate() {
                            match v {
                                Verdict::Tx(p) => {
                                    if outs[p].is_full() {
                                        send(&mut outs[p], plan, p, flags, &mut local);
                                    }
                                    burst.move_to(i, &mut outs[p]);
                                    touched |= 1 << p;
                                }
                                Verdict::Drop(r) => {
                                    local.drops[r as usize] += 1;
                                    if capture_drops {
                                        dp.capture.take(burst.data(i), dp.started);
                                    }
                                }
                                Verdict::SlowPath(reason) => {
                                    let mbuf = burst.take(i);
                                    // Never waits: a full queue drops (the packet is freed here).
                                    let slow = SlowPacket {
                                        reason,
                                        mbuf,
                                        port: a.port_index,
                                        worker: wi,
                                    };
                                    match plan.slow_path.push(slow) {
                                        Ok(()) => local.slow_path += 1,
                                        Err(_) => {
                                            local.drops[DropReason::SlowPathFull as usize] += 1
                                        }
                                    }
                                }
                            }
                        }
                        // Frees what was dropped.
                        burst.clear_moved();
                        while touched != 0 {
                            let p = touched.trailing_zeros() as usize;
                            touched &= touched - 1;
                            send(&mut outs[p], plan, p, flags, &mut local);
                        }
                    }
                }
                RxAction::Drop(reason) => {
                    if capture_drops {
                        for i in 0..n {
                            dp.capture.take(burst.data(i), dp.started);
                        }
                    }
                    burst.free_all();
                    local.drops[reason as usize] += n as u64;
                }
            }
            if flags & flag::LATENCY != 0 {
                let cycles = tsc().wrapping_sub(t_rx).clamp(1, LATENCY_MAX_CYCLES);
                let _ = hist.record_n(cycles, n as u64);
            }
        }
        local.polls += 1;
        // Publish every 64 rounds: the stats thread reads once per interval.
        if local.polls & 63 == 0 || (got == 0 && empty_run >= plan.idle_polls) {
            counters.publish(&local);
            if let (Some(t), Some(st)) = (tables.as_ref(), sfc_state.as_ref()) {
                t.publish_sf_counts(st, wi);
            }
            let slot = &dp.latency[wi];
            if slot.reset.load(Relaxed) {
                slot.reset.store(false, Relaxed);
                hist.reset();
            }
            if let Some(mut h) = slot.request.pop() {
                h.reset();
                let _ = h.add(&hist);
                let _ = slot.reply.push(h);
            }
        }
        if got == 0 {
            local.empty_polls += 1;
            empty_run = empty_run.saturating_add(1);
            if plan.idle == IdleMode::Sleep && empty_run >= plan.idle_polls {
                std::thread::sleep(Duration::from_micros(u64::from(plan.sleep_us)));
            }
        } else {
            empty_run = 0;
            local.rx_packets += got as u64;
        }
    }
    counters.publish(&local);
    if let (Some(t), Some(st)) = (tables.as_ref(), sfc_state.as_ref()) {
        t.publish_sf_counts(st, wi);
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::{PacketBuf, VecBatch};
    use crate::traffic::udp_frames;
    use crate::wire::encap::{gpe4, Gpe4Template};
    use crate::wire::{nsh, EthernetAddress, Ipv4Address, NshMetadata, NshNextProtocol, NshRepr};

    const BODY: &str = r#"
[[vteps]]
name = "v"
port = "p0"
address = "10.0.0.2"
mac = "02:00:00:00:00:02"
[[vteps]]
name = "v1"
port = "p1"
address = "10.0.0.2"
mac = "02:00:00:00:00:02"
[[neighbors]]
name = "sff3"
port = "p1"
address = "10.0.0.3"
mac = "02:00:00:00:00:03"
[[paths]]
name = "p"
spi = 100
hops = [{ si = 255, sff = "sff3" }]
"#;

    fn tables() -> SfcTables {
        let p = crate::testing::null_ports_pipeline(&["p0", "p1"], BODY);
        crate::compile::sfc_tables(&p, &[[2, 0, 0, 0, 0, 0xa0], [2, 0, 0, 0, 0, 0xa1]], None)
            .unwrap()
    }

    /// VXLAN-GPE + NSH (SPI 100, SI 255, TTL 63) from 10.0.0.1 to our VTEP, around flow `i`.
    fn transit_frame(i: u32) -> Vec<u8> {
        let inner = udp_frames(i + 1, 60).pop().unwrap();
        let repr = NshRepr {
            o_bit: false,
            ttl: 63,
            next_protocol: NshNextProtocol::Ethernet,
            spi: 100,
            si: 255,
            metadata: NshMetadata::Md1([0; 16]),
        };
        let mut f = vec![0u8; gpe4::NSH + repr.header_len()];
        repr.emit(&mut nsh::Packet::new_unchecked(&mut f[gpe4::NSH..]));
        f.extend(inner);
        let outer = Gpe4Template::new(
            EthernetAddress([2, 0, 0, 0, 0, 2]),
            EthernetAddress([2, 0, 0, 0, 0, 1]),
            Ipv4Address::new(10, 0, 0, 1),
            Ipv4Address::new(10, 0, 0, 2),
            0,
        );
        outer.write(&mut f, 40000 + i as u16);
        f
    }

    fn run(
        t: &SfcTables,
        b: &mut VecBatch,
        trace: Option<&TraceSink<'_>>,
    ) -> (BurstOut, Vec<Verdict>) {
        let mut st = t.new_state();
        let mut verdicts = [Verdict::Tx(usize::MAX); MAX_BURST];
        let out = process_burst(t, &mut st, b, 0, trace, &mut verdicts);
        (out, verdicts[..b.0.len()].to_vec())
    }

    #[test]
    fn a_burst_all_in_transit_leaves_whole_on_one_port() {
        let t = tables();
        let frames: Vec<Vec<u8>> = (0..32).map(transit_frame).collect();
        let mut b = VecBatch::new(frames.iter().map(|f| &f[..]));
        let (out, _) = run(&t, &mut b, None);
        assert_eq!(out, BurstOut::Transit(1));
        for (p, f) in b.0.iter().zip(&frames) {
            let d = p.data();
            assert_eq!(d.len(), f.len(), "rewritten in place");
            assert_eq!(d[0..6], [2, 0, 0, 0, 0, 3], "to the next SFF");
            assert_eq!(d[gpe4::IP_DST], [10, 0, 0, 3]);
            assert_eq!(d[gpe4::UDP_SRC_PORT], f[gpe4::UDP_SRC_PORT], "entropy kept");
            let h = nsh::Packet::new_checked(&d[gpe4::NSH..]).unwrap();
            assert_eq!((h.spi(), h.si(), h.ttl()), (100, 255, 62));
            assert_eq!(
                d[gpe4::NSH + 24..],
                f[gpe4::NSH + 24..],
                "inner frame unchanged"
            );
        }
    }

    #[test]
    fn a_mixed_burst_gets_a_verdict_per_packet_in_order() {
        let t = tables();
        let mut frames: Vec<Vec<u8>> = (0..8).map(transit_frame).collect();
        frames[3][gpe4::IP_CHECKSUM.start] ^= 1;
        frames[5] = udp_frames(1, 60).pop().unwrap();
        let mut b = VecBatch::new(frames.iter().map(|f| &f[..]));
        let (out, v) = run(&t, &mut b, None);
        assert_eq!(out, BurstOut::Mixed);
        for (i, v) in v.iter().enumerate() {
            let want = match i {
                3 => Verdict::Drop(DropReason::Ipv4BadChecksum),
                5 => Verdict::Drop(DropReason::Unmatched),
                _ => Verdict::Tx(1),
            };
            assert_eq!(*v, want, "packet {i}");
        }
        // The packets before the first refusal and after it were forwarded alike.
        assert_eq!(b.0[7].data()[0..6], [2, 0, 0, 0, 0, 3]);
        assert_eq!(
            b.0[3].data(),
            &frames[3][..],
            "a dropped packet is untouched"
        );
    }

    #[test]
    fn an_armed_trace_records_the_nodes_of_the_packets_it_wants() {
        let t = tables();
        let frames: Vec<Vec<u8>> = (0..4).map(transit_frame).collect();
        let mut b = VecBatch::new(frames.iter().map(|f| &f[..]));
        let ctl = TraceCtl::new();
        ctl.arm(2);
        let ports: Vec<PortInfo> = ["p0", "p1"]
            .iter()
            .map(|n| PortInfo {
                name: n.to_string(),
                id: PortId(0),
                driver: "net_null".into(),
                mac: [0; 6],
                socket: 0,
            })
            .collect();
        let sink = TraceSink {
            ctl: &ctl,
            ports: &ports,
            worker: 0,
            port: 0,
        };
        let (out, v) = run(&t, &mut b, Some(&sink));
        assert_eq!(out, BurstOut::Uniform(1));
        assert!(v.iter().all(|v| *v == Verdict::Tx(1)));
        let records: Vec<TraceRecord> = std::iter::from_fn(|| ctl.records.pop()).collect();
        assert_eq!(records.len(), 2);
        for r in &records {
            let nodes: Vec<Node> = r.steps.iter().map(|s| s.0).collect();
            assert_eq!(nodes, [Node::EthernetInput, Node::SffTransit]);
            assert_eq!(r.verdict, "tx on port p1");
        }
    }
}
