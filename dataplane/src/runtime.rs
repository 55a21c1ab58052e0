//! `qdp run`: turns a validated pipeline into EAL arguments, mempools, started ports and launched
//! workers, prints the stats line each interval and a summary at exit.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::{normalize_pci, vdev_name, HugepageMode, Pipeline};
use crate::control::metrics::serve_http;
use crate::control::state::{Dataplane, PortInfo as ControlPort};
use crate::control::ControlServer;
use crate::dpdk::{
    DpdkError, Eal, LcoreId, Mempool, PortCounters, PortId, PortInfo, PortSetup, QueueId, SocketId,
};
use crate::nodes::sfc::SfcTables;
use crate::nodes::xconnect::XconnectDirection;
use crate::slowpath::{SlowPath, SlowReason};
use crate::stats::{DropReason, WorkerCounters, WorkerSnapshot};
use crate::traffic;
use crate::worker::{self, RxAction, RxAssignment, WorkerPlan};

/// Why `qdp run` could not start or finish.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0}")]
    Dpdk(#[from] DpdkError),
    #[error("hugepages: {0}")]
    Hugepages(String),
    #[error("generating traffic for port '{port}': {source}")]
    Traffic {
        port: String,
        source: std::io::Error,
    },
    #[error("worker '{0}' failed")]
    Worker(String),
    #[error("{0}")]
    Other(String),
}

/// Options of `qdp run` beyond the pipeline file.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Stop after this long; `None` runs until SIGINT/SIGTERM.
    pub duration: Option<Duration>,
    /// Write the exit summary as JSON here.
    pub summary_json: Option<PathBuf>,
    /// The pipeline file (for `qdpctl reload` without a file); `None` for the built-in demo.
    pub source: Option<PathBuf>,
    /// Overrides `control.socket`.
    pub socket: Option<PathBuf>,
    /// Runs without a control socket.
    pub no_control: bool,
}

/// Hugepage availability as the kernel reports it.
#[derive(Debug, Clone, Default)]
pub struct HugepageState {
    pub mounted: bool,
    pub free_bytes: u64,
    pub page_kib: u64,
}

impl HugepageState {
    /// Reads /proc/meminfo and /proc/mounts.
    pub fn read() -> Self {
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let field = |name: &str| -> u64 {
            meminfo
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        let free = field("HugePages_Free:");
        let page_kib = field("Hugepagesize:");
        let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
        HugepageState {
            mounted: mounts
                .lines()
                .any(|l| l.split_whitespace().nth(2) == Some("hugetlbfs")),
            free_bytes: free * page_kib * 1024,
            page_kib,
        }
    }

    /// Whether `mb` MiB fit in the free hugepages.
    pub fn fits(&self, mb: u32) -> bool {
        self.mounted && self.free_bytes >= u64::from(mb) << 20
    }
}

/// The command that reserves enough hugepages for `mb` MiB.
pub fn hugepage_fix(mb: u32) -> String {
    let pages = (mb as u64).div_ceil(2).max(256);
    format!("sudo hugepages/qdp-hugepages.sh --pages {pages}")
}

/// Where generated pcaps of a run go.
fn runtime_dir(prefix: &str) -> PathBuf {
    std::env::temp_dir().join(format!("qdp-{prefix}"))
}

/// The EAL argument list for a pipeline; `use_hugepages` false adds `--no-huge`.
pub fn eal_args(p: &Pipeline, use_hugepages: bool, vdevs: &[String]) -> Vec<String> {
    let mut a = vec!["qdp".to_string()];
    let mut lcores = vec![format!("0@{}", p.main_core())];
    for (i, w) in p.workers.iter().enumerate() {
        lcores.push(format!("{}@{}", i + 1, w.core));
    }
    a.push("--lcores".into());
    a.push(lcores.join(","));
    a.push("--main-lcore".into());
    a.push("0".into());
    a.push("--file-prefix".into());
    a.push(p.eal.file_prefix.clone());
    if use_hugepages {
        // Remove the hugepage files once mapped: nothing stays reserved after qdp exits.
        a.push("--huge-unlink".into());
    } else {
        a.push("--no-huge".into());
        a.push("-m".into());
        a.push(p.eal.memory_mb.to_string());
    }
    let pcis: Vec<String> = p
        .ports
        .iter()
        .filter_map(|port| port.pci.as_deref().and_then(normalize_pci))
        .collect();
    if pcis.is_empty() {
        a.push("--no-pci".into());
    }
    for pci in pcis {
        a.push("-a".into());
        a.push(pci);
    }
    for v in vdevs {
        a.push("--vdev".into());
        a.push(v.clone());
    }
    a.push(format!("--log-level={}", p.eal.log_level));
    a.extend(p.eal.extra_args.iter().cloned());
    a
}

struct PortRt {
    name: String,
    id: PortId,
    info: PortInfo,
}

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
    pub fn to_json(&self) -> serde_json::Value {
        let ports: serde_json::Map<String, serde_json::Value> = self
            .ports
            .iter()
            .map(|(n, c)| {
                (
                    n.clone(),
                    serde_json::json!({
                        "ipackets": c.ipackets, "opackets": c.opackets,
                        "ibytes": c.ibytes, "obytes": c.obytes,
                        "imissed": c.imissed, "ierrors": c.ierrors, "oerrors": c.oerrors,
                        "rx_nombuf": c.rx_nombuf,
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

/// Sends the ARP requests that are due (through worker 0's transmit queues) and rebuilds the SFC
/// tables when what ARP knows changed.
fn arp_tick(
    dp: &Dataplane,
    pools: &BTreeMap<SocketId, Mempool>,
    ports: &[PortRt],
    requests: &mut Vec<crate::arp::Request>,
) {
    let changed = match dp.arp.lock() {
        Ok(mut arp) => {
            let lost = arp.poll(Instant::now(), requests);
            std::mem::take(&mut arp.changed) || lost
        }
        Err(_) => return,
    };
    for r in requests.drain(..) {
        let (Some(pr), Some(q)) = (ports.get(r.port), dp.inject.first()) else {
            continue;
        };
        let frame = crate::arp::request_frame(pr.info.mac, r.src, r.target);
        let Some(pool) = pools.get(&pr.info.socket.or_zero()) else {
            continue;
        };
        if let Some(m) = crate::dpdk::OwnedMbuf::from_bytes(pool, &frame) {
            // A full queue loses this request; the next one follows in one interval.
            let _ = q.push((r.port, m));
        }
    }
    if changed {
        if let Err(e) = crate::control::commands::refresh(dp) {
            eprintln!("qdp: applying what ARP learned: {e}");
        }
    }
}

/// Runs a pipeline until SIGINT/SIGTERM or the duration; returns the summary.
pub fn run(p: &Pipeline, opts: &RunOptions) -> Result<Summary, RunError> {
    // Memory: hugepages when possible, or as the file says.
    let huge = HugepageState::read();
    let use_hugepages = match p.eal.hugepages {
        HugepageMode::Off => false,
        HugepageMode::Required => {
            if !huge.fits(p.eal.memory_mb) {
                return Err(RunError::Hugepages(format!(
                    "{} MiB needed, {} MiB free{}; reserve them with: {}",
                    p.eal.memory_mb,
                    huge.free_bytes >> 20,
                    if huge.mounted {
                        ""
                    } else {
                        " and hugetlbfs is not mounted"
                    },
                    hugepage_fix(p.eal.memory_mb)
                )));
            }
            true
        }
        HugepageMode::Auto => {
            let ok = huge.fits(p.eal.memory_mb);
            if !ok {
                eprintln!(
                    "warning: hugepages: {} MiB free{} but {} MiB needed; running without hugepages (--no-huge), slower. Reserve them with: {}",
                    huge.free_bytes >> 20,
                    if huge.mounted { "" } else { ", hugetlbfs not mounted," },
                    p.eal.memory_mb,
                    hugepage_fix(p.eal.memory_mb)
                );
            }
            ok
        }
    };

    // Generated traffic for pcap replay ports.
    let dir = runtime_dir(&p.eal.file_prefix);
    let mut vdevs = Vec::new();
    for port in &p.ports {
        let Some(v) = &port.vdev else { continue };
        let mut v = v.clone();
        if let Some(t) = &port.traffic {
            std::fs::create_dir_all(&dir).map_err(|source| RunError::Traffic {
                port: port.name.clone(),
                source,
            })?;
            let path = dir.join(format!("{}.pcap", port.name));
            traffic::write_pcap(&path, &traffic::udp_frames(t.flows, t.frame_size)).map_err(
                |source| RunError::Traffic {
                    port: port.name.clone(),
                    source,
                },
            )?;
            write!(v, ",rx_pcap={}", path.display()).expect("write to String");
        }
        vdevs.push(v);
    }

    let args = eal_args(p, use_hugepages, &vdevs);
    let eal = Eal::init(&args)?;
    let result = run_on_eal(&eal, p, opts);
    drop(eal);
    result
}

fn run_on_eal(eal: &Eal, p: &Pipeline, opts: &RunOptions) -> Result<Summary, RunError> {
    // Ports.
    let mut ports = Vec::new();
    for port in &p.ports {
        let dev = match (&port.pci, &port.vdev) {
            (Some(pci), _) => normalize_pci(pci).unwrap_or_else(|| pci.clone()),
            (None, Some(v)) => vdev_name(v).to_string(),
            (None, None) => unreachable!("validated: a port has pci or vdev"),
        };
        let id = PortId::by_name(eal, &dev)
            .map_err(|e| RunError::Other(format!("port '{}': {e}", port.name)))?;
        let info = id.info()?;
        ports.push(PortRt {
            name: port.name.clone(),
            id,
            info,
        });
    }

    // One mempool per NUMA node with ports or workers on it.
    let worker_lcores: Vec<LcoreId> = (1..=p.workers.len() as u32).map(LcoreId).collect();
    let mut nodes: Vec<SocketId> = ports.iter().map(|pr| pr.info.socket.or_zero()).collect();
    nodes.extend(worker_lcores.iter().map(|l| eal.lcore_socket(*l).or_zero()));
    nodes.sort();
    nodes.dedup();
    let mut pools: BTreeMap<SocketId, Mempool> = BTreeMap::new();
    for node in &nodes {
        let pool = Mempool::new(
            &format!("qdp_mbufs_n{}", node.0),
            p.mempool.mbufs,
            p.mempool.cache,
            p.mempool.data_room as u16,
            *node,
        )?;
        println!(
            "mempool node {}: {} mbufs of {} B, cache {}",
            node, p.mempool.mbufs, p.mempool.data_room, p.mempool.cache
        );
        pools.insert(*node, pool);
    }

    // Worker plans; NUMA warnings.
    let xc_of = |pi: usize| -> RxAction {
        for x in &p.cross_connect {
            let a = p.port_index(&x.a);
            let b = p.port_index(&x.b);
            if let (Some(a), Some(b)) = (a, b) {
                if pi == a {
                    return RxAction::Xconnect(XconnectDirection::new(b, x.a_to_b));
                }
                if pi == b {
                    return RxAction::Xconnect(XconnectDirection::new(a, x.b_to_a));
                }
            }
        }
        if p.has_sfc() {
            RxAction::Sfc { in_port: pi }
        } else {
            RxAction::Drop(DropReason::NoRoute)
        }
    };
    let sfc = if p.has_sfc() {
        let macs: Vec<[u8; 6]> = ports.iter().map(|pr| pr.info.mac).collect();
        Some(Arc::new(
            // Next hops found by ARP start unresolved; the main loop asks for them at once.
            SfcTables::build(
                &crate::arp::resolve(p, &crate::arp::ArpTable::new(p, Instant::now())),
                &macs,
            )
            .map_err(|e| RunError::Other(format!("SFC tables: {e}")))?,
        ))
    } else {
        None
    };
    let stop = Arc::new(AtomicBool::new(false));
    let counters: Arc<Vec<WorkerCounters>> = Arc::new(
        (0..p.workers.len())
            .map(|_| WorkerCounters::default())
            .collect(),
    );
    let dp = Arc::new(Dataplane::new(
        p,
        opts.source.clone(),
        ports
            .iter()
            .map(|pr| ControlPort {
                name: pr.name.clone(),
                id: pr.id,
                driver: pr.info.driver.clone(),
                mac: pr.info.mac,
                socket: pr.info.socket.0,
            })
            .collect(),
        sfc,
        Arc::clone(&counters),
        Arc::clone(&stop),
        crate::dpdk::tsc_hz(),
    ));
    let mut slow_path = SlowPath::new(1024);
    let mut plans = Vec::new();
    for (wi, w) in p.workers.iter().enumerate() {
        let lcore = worker_lcores[wi];
        let wsock = eal.lcore_socket(lcore);
        let mut rx = Vec::new();
        for entry in &w.rx {
            let r = p
                .resolve_rx(entry)
                .expect("validated: every rx entry resolves");
            let pr = &ports[r.port];
            if let Some(warning) = numa_warning(&w.name, w.core, wsock, &pr.name, pr.info.socket) {
                eprintln!("{warning}");
            }
            rx.push(RxAssignment {
                port: pr.id,
                port_index: r.port,
                queue: QueueId(r.queue),
                action: xc_of(r.port),
            });
        }
        plans.push(WorkerPlan {
            name: w.name.clone(),
            index: wi,
            rx,
            ports: ports.iter().map(|pr| pr.id).collect(),
            tx_queue: QueueId(wi as u16),
            burst: w.burst,
            idle: w.idle,
            idle_polls: w.idle_polls,
            sleep_us: w.sleep_us,
            dp: Arc::clone(&dp),
            slow_path: slow_path.queue(),
        });
    }

    // Start ports: one tx queue per worker.
    let mut started = Vec::new();
    let setup_result = (|| -> Result<(), RunError> {
        for (pc, pr) in p.ports.iter().zip(&ports) {
            let setup = PortSetup {
                rx_queues: pc.rx_queues,
                tx_queues: p.workers.len() as u16,
                rx_desc: pc.rx_desc,
                tx_desc: pc.tx_desc,
                mtu: pc.mtu,
                promiscuous: pc.promiscuous,
            };
            let pool = &pools[&pr.info.socket.or_zero()];
            pr.id
                .setup(&setup, &pr.info, |_| pool)
                .map_err(|e| RunError::Other(format!("port '{}': {e}", pr.name)))?;
            started.push(pr.id);
            let link = pr.id.link();
            let m = pr.info.mac;
            println!(
                "port {} ({}, driver {}, node {}): {} rx / {} tx queues, MAC {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}, link {}{}",
                pr.name,
                pr.id.0,
                pr.info.driver,
                pr.info.socket,
                pc.rx_queues,
                p.workers.len(),
                m[0], m[1], m[2], m[3], m[4], m[5],
                if link.up { "up" } else { "down" },
                if link.up && link.speed_mbps > 0 {
                    format!(" {} Mb/s", link.speed_mbps)
                } else {
                    String::new()
                }
            );
        }
        Ok(())
    })();
    if let Err(e) = setup_result {
        for id in started {
            id.stop_and_close();
        }
        return Err(e);
    }

    // Control socket and metrics endpoint, before the workers start.
    let control = if opts.no_control || !p.control.enabled {
        None
    } else {
        let mut cfg = p.control.clone();
        if let Some(s) = &opts.socket {
            cfg.socket = s.clone();
        }
        match ControlServer::start(Arc::clone(&dp), &cfg) {
            Ok(c) => {
                println!("control socket: {}", c.path().display());
                Some(c)
            }
            Err(e) => {
                for pr in &ports {
                    pr.id.stop_and_close();
                }
                return Err(RunError::Other(e));
            }
        }
    };
    let metrics = match &p.control.metrics_listen {
        Some(addr) if control.is_some() => match serve_http(Arc::clone(&dp), addr) {
            Ok(h) => {
                println!("metrics: http://{addr}/metrics");
                Some(h)
            }
            Err(e) => {
                drop(control);
                for pr in &ports {
                    pr.id.stop_and_close();
                }
                return Err(RunError::Other(e));
            }
        },
        _ => None,
    };

    // Signals and workers.
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&stop))
            .map_err(|e| RunError::Other(format!("installing signal handler: {e}")))?;
    }
    for (wi, plan) in plans.into_iter().enumerate() {
        let stop = Arc::clone(&stop);
        let lcore = worker_lcores[wi];
        eal.launch(lcore, move || worker::run(&plan, &stop))?;
    }
    println!(
        "qdp: pipeline '{}' running: {} worker(s), {} port(s){}",
        p.name,
        p.workers.len(),
        ports.len(),
        match opts.duration {
            Some(d) => format!(", for {:.1} s", d.as_secs_f64()),
            None => ", Ctrl-C to stop".to_string(),
        }
    );

    // Stats loop on the main lcore.
    let t0 = Instant::now();
    let interval = Duration::from_secs_f64(p.stats.interval_s);
    let mut last_t = t0;
    let mut last_ports: Vec<PortCounters> = ports.iter().map(|pr| pr.id.counters()).collect();
    let mut last_workers: Vec<WorkerSnapshot> = counters.iter().map(|c| c.snapshot()).collect();
    let mut next_line = t0 + interval;
    let mut arp_requests = Vec::new();
    loop {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        if let Some(d) = opts.duration {
            if t0.elapsed() >= d {
                stop.store(true, Ordering::Relaxed);
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(20));
        slow_path.drain(|p| {
            crate::host::answer(p, &dp);
        });
        arp_tick(&dp, &pools, &ports, &mut arp_requests);
        dp.slow_path
            .store(slow_path.counts.iter().sum::<u64>(), Ordering::Relaxed);
        if !interval.is_zero() && Instant::now() >= next_line {
            next_line += interval;
            let now = Instant::now();
            let dt = now.duration_since(last_t).as_secs_f64();
            last_t = now;
            let pc: Vec<PortCounters> = ports.iter().map(|pr| pr.id.counters()).collect();
            let wc: Vec<WorkerSnapshot> = counters.iter().map(|c| c.snapshot()).collect();
            println!(
                "{}",
                stats_line(
                    t0.elapsed().as_secs_f64(),
                    dt,
                    &ports,
                    &last_ports,
                    &pc,
                    p,
                    &last_workers,
                    &wc
                )
            );
            last_ports = pc;
            last_workers = wc;
        }
    }
    stop.store(true, Ordering::Relaxed);
    let mut failed = Vec::new();
    for (wi, l) in worker_lcores.iter().enumerate() {
        if eal.wait(*l) != 0 {
            failed.push(p.workers[wi].name.clone());
        }
    }
    slow_path.drain(|p| {
        crate::host::answer(p, &dp);
    });
    let seconds = t0.elapsed().as_secs_f64();
    let mut summary = Summary {
        seconds,
        ports: ports
            .iter()
            .map(|pr| (pr.name.clone(), pr.id.counters()))
            .collect(),
        workers: p
            .workers
            .iter()
            .zip(counters.iter())
            .map(|(w, c)| (w.name.clone(), c.snapshot()))
            .collect(),
        mempools: Vec::new(),
        slow_path: SlowReason::ALL
            .iter()
            .map(|r| (r.name().to_string(), slow_path.counts[*r as usize]))
            .collect(),
        sfs: dp
            .sfc
            .load()
            .as_ref()
            .map(|t| t.sf_totals())
            .unwrap_or_default(),
    };
    // No more control requests: the ports are about to close.
    drop(control);
    if let Some(m) = metrics {
        let _ = m.join();
    }
    for pr in &ports {
        pr.id.stop_and_close();
    }
    // Every mbuf must be back in its pool once the ports are closed: anything else is a leak.
    summary.mempools = pools
        .iter()
        .map(|(node, pool)| (*node, p.mempool.mbufs, pool.available()))
        .collect();
    drop(pools);
    print_summary(&summary);
    if let Some(path) = &opts.summary_json {
        std::fs::write(
            path,
            serde_json::to_string_pretty(&summary.to_json()).expect("json"),
        )
        .map_err(|e| RunError::Other(format!("writing {}: {e}", path.display())))?;
    }
    if let Some(w) = failed.first() {
        return Err(RunError::Worker(w.clone()));
    }
    Ok(summary)
}

/// The start-up warning for a worker polling a port on another NUMA node; `None` when they share
/// a node or the port's node is unknown (virtual devices).
pub fn numa_warning(
    worker: &str,
    core: u32,
    worker_node: SocketId,
    port: &str,
    port_node: SocketId,
) -> Option<String> {
    (port_node.0 >= 0 && port_node != worker_node).then(|| {
        format!(
            "warning: worker '{worker}' on CPU {core} (node {worker_node}) polls port '{port}' on node {port_node}: every packet crosses the NUMA interconnect; give it a core on node {port_node}"
        )
    })
}

fn rate(delta: u64, dt: f64) -> f64 {
    if dt > 0.0 {
        delta as f64 / dt
    } else {
        0.0
    }
}

#[allow(clippy::too_many_arguments)]
fn stats_line(
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

fn print_summary(s: &Summary) {
    println!("== qdp summary: {:.1} s ==", s.seconds);
    println!(
        "{:<12} {:>14} {:>14} {:>16} {:>16} {:>10} {:>10} {:>10}",
        "port", "rx packets", "tx packets", "rx bytes", "tx bytes", "missed", "errors", "nombuf"
    );
    for (n, c) in &s.ports {
        println!(
            "{:<12} {:>14} {:>14} {:>16} {:>16} {:>10} {:>10} {:>10}",
            n,
            c.ipackets,
            c.opackets,
            c.ibytes,
            c.obytes,
            c.imissed,
            c.ierrors + c.oerrors,
            c.rx_nombuf
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

/// Path of the embedded demo pipeline (for messages).
pub fn describe_source(path: Option<&Path>) -> String {
    match path {
        Some(p) => p.display().to_string(),
        None => "built-in demo pipeline (pipelines/demo.toml)".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numa_warning_only_across_known_nodes() {
        assert_eq!(numa_warning("w0", 3, SocketId(0), "vf0", SocketId(0)), None);
        assert_eq!(
            numa_warning("w0", 3, SocketId(0), "pcap", SocketId::ANY),
            None
        );
        let w = numa_warning("w0", 3, SocketId(0), "vf0", SocketId(1)).unwrap();
        assert!(
            w.contains("worker 'w0' on CPU 3 (node 0) polls port 'vf0' on node 1"),
            "{w}"
        );
    }

    #[test]
    fn eal_args_follow_the_pipeline() {
        let p = Pipeline::from_toml(include_str!("../../pipelines/xconnect-vf.toml")).unwrap();
        let a = eal_args(&p, true, &[]);
        let joined = a.join(" ");
        assert!(joined.contains("--lcores 0@2,1@3,2@4"), "{joined}");
        assert!(
            joined.contains("-a 0000:03:02.0 -a 0000:03:0a.0"),
            "{joined}"
        );
        assert!(
            !joined.contains("--no-pci") && !joined.contains("--no-huge"),
            "{joined}"
        );
        let d = Pipeline::from_toml(crate::DEMO_PIPELINE).unwrap();
        let joined = eal_args(&d, false, &["net_null0".to_string()]).join(" ");
        assert!(joined.contains("--no-huge -m 512"), "{joined}");
        assert!(
            joined.contains("--no-pci") && joined.contains("--vdev net_null0"),
            "{joined}"
        );
    }

    #[test]
    fn hugepage_fix_names_the_script() {
        assert_eq!(
            hugepage_fix(512),
            "sudo hugepages/qdp-hugepages.sh --pages 256"
        );
        assert_eq!(
            hugepage_fix(2048),
            "sudo hugepages/qdp-hugepages.sh --pages 1024"
        );
        let none = HugepageState::default();
        assert!(!none.fits(64));
    }
}
