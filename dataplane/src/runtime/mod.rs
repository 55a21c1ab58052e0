//! `qdp run`: turns a validated pipeline into EAL arguments, mempools, started ports and launched
//! workers, prints the stats line each interval (on stdout, unless turned off) and a summary at
//! exit. SIGINT and SIGTERM stop it; SIGHUP reloads the pipeline file through the change path, on
//! the main thread, all or nothing, as `qdpctl reload` does. Everything else it has to say is a
//! `tracing` event (`logging`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::{normalize_pci, vdev, vdev_name, HugepageMode, Pipeline};
use crate::control::metrics::serve_http;
use crate::control::ControlServer;
use crate::dpdk::{
    DpdkError, Eal, LcoreId, Mempool, PortCounters, PortId, PortInfo, PortSetup, QueueId, SocketId,
    L2_OVERHEAD,
};
use crate::nodes::sfc::ProxyFlows;
use crate::nodes::xconnect::XconnectDirection;
use crate::shared::{Dataplane, PortInfo as ControlPort};
use crate::slowpath::{SlowPath, SlowReason};
use crate::stats::{DropReason, WorkerCounters, WorkerSnapshot};
use crate::traffic;
use crate::worker::{self, RxAction, RxAssignment, WorkerPlan};
use tracing::{info, warn};

mod eal_setup;
mod eve;
mod logging;
mod report;

use eal_setup::runtime_dir;
pub use eal_setup::{eal_args, hugepage_fix, HugepageState};
pub use logging::{init_logging, is_journal_stream, log_filter, LogFormat};
pub use report::Summary;
use report::{print_summary, stats_line};

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
    /// Prints no stats line (as `stats.interval_s = 0` does); the summary stays.
    pub no_stats_line: bool,
}

pub(super) struct PortRt {
    name: String,
    id: PortId,
    info: PortInfo,
}

/// Sends the ARP requests and health probes that are due and rebuilds the SFC tables when what ARP knows changed.
/// The main thread has no transmit queue: each request goes through worker 0's inject queue (it
/// sends on its own transmit queue of the port, polled or not, at its next poll round), or the
/// next worker's when that one is full ([`crate::host::queue_on_a_worker`]).
fn arp_tick(
    dp: &Dataplane,
    pools: &BTreeMap<SocketId, Mempool>,
    ports: &[PortRt],
    requests: &mut Vec<crate::arp::Request>,
) {
    let mut probes = Vec::new();
    let changed = match dp.arp.lock() {
        Ok(mut arp) => {
            let lost = arp.poll(Instant::now(), requests);
            let health = arp.poll_probes(Instant::now(), &mut probes);
            std::mem::take(&mut arp.changed)
                || std::mem::take(&mut arp.probes.changed)
                || lost
                || health
        }
        Err(_) => return,
    };
    for s in &probes {
        let Some(pr) = ports.get(s.port) else {
            continue;
        };
        let frame = crate::probe::probe_frame(pr.info.mac, s);
        let Some(pool) = pools.get(&pr.info.socket.or_zero()) else {
            continue;
        };
        if let Some(m) = crate::dpdk::OwnedMbuf::from_bytes(pool, &frame) {
            // Lost with every worker's queue full: the probe then times out, as a lost one would.
            let _ = crate::host::queue_on_a_worker(&dp.inject, 0, (s.port, m));
        }
    }
    for r in requests.drain(..) {
        let Some(pr) = ports.get(r.port) else {
            continue;
        };
        let frame = crate::arp::request_frame(pr.info.mac, r.src, r.target);
        let Some(pool) = pools.get(&pr.info.socket.or_zero()) else {
            continue;
        };
        if let Some(m) = crate::dpdk::OwnedMbuf::from_bytes(pool, &frame) {
            // Every worker's queue full loses this request (freed here); the next one follows in
            // one interval.
            let _ = crate::host::queue_on_a_worker(&dp.inject, 0, (r.port, m));
        }
    }
    if changed {
        // The change path logs what it did, and why it refused.
        let _ = crate::change::refresh(dp);
    }
}

/// SIGHUP: reloads the pipeline file as `qdpctl reload` does. The change path logs the outcome;
/// a refused file leaves qdp running on the tables it had.
fn reload_on_hangup(dp: &Dataplane) {
    match &dp.source {
        Some(f) => info!("SIGHUP: reloading {}", f.display()),
        None => {
            warn!("SIGHUP: qdp runs the built-in demo pipeline, which has no file to reload");
            return;
        }
    }
    let _ = crate::change::reload(dp, None);
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
                warn!(
                    "hugepages: {} MiB free{} but {} MiB needed; running without hugepages (--no-huge), slower. Reserve them with: {}",
                    huge.free_bytes >> 20,
                    if huge.mounted { "" } else { ", hugetlbfs not mounted," },
                    p.eal.memory_mb,
                    hugepage_fix(p.eal.memory_mb)
                );
            }
            ok
        }
    };

    // Generated traffic for pcap replay ports; vhost-user and memif sockets in the run directory.
    let dir = runtime_dir(&p.eal.file_prefix);
    let run_dir = run_directory(p, opts);
    prepare_socket_dir(p, &run_dir)?;
    let mut vdevs = Vec::new();
    for port in &p.ports {
        let Some(v) = &port.vdev else { continue };
        let mut v = vdev::resolve_socket(v, &run_dir);
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
    if let Err(e) = crate::dpdk::log_to_tracing() {
        warn!("{e}; DPDK logs to stderr on its own");
    }
    let eal = Eal::init(&args)?;
    let result = run_on_eal(&eal, p, opts);
    drop(eal);
    result
}

/// qdp's run directory: the folder of the control socket in use. vhost-user and memif sockets
/// are made there.
pub fn run_directory(p: &Pipeline, opts: &RunOptions) -> PathBuf {
    let socket = opts.socket.as_ref().unwrap_or(&p.control.socket);
    match socket.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Creates the run directory when a device needs a socket there, and removes a socket file left
/// by an earlier run (a vhost-user server cannot bind over it). Anything else of that name stays
/// and is an error.
fn prepare_socket_dir(p: &Pipeline, run_dir: &Path) -> Result<(), RunError> {
    use std::os::unix::fs::FileTypeExt;
    let paths = vdev::socket_paths(p.ports.iter().filter_map(|x| x.vdev.as_deref()), run_dir);
    for path in paths {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| RunError::Other(format!("creating {}: {e}", parent.display())))?;
        }
        match std::fs::symlink_metadata(&path) {
            Ok(m) if m.file_type().is_socket() => {
                std::fs::remove_file(&path).map_err(|e| {
                    RunError::Other(format!("removing the old socket {}: {e}", path.display()))
                })?;
            }
            Ok(_) => {
                return Err(RunError::Other(format!(
                    "{} exists and is not a socket; qdp will not replace it",
                    path.display()
                )))
            }
            Err(_) => {}
        }
    }
    Ok(())
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
        info!(
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
            crate::change::compile(
                p,
                &crate::arp::ArpTable::new(p, Instant::now()),
                &macs,
                None,
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
    // One shard per worker; a pipeline without SFC gets the smallest.
    let proxy_flows = ProxyFlows::new(
        p.workers.len(),
        if p.has_sfc() { p.sfc.proxy_flows } else { 0 },
    );
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
                warn!("{warning}");
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
            tx_limit: p
                .ports
                .iter()
                .map(|pc| pc.mtu.map_or(u32::MAX, |m| u32::from(m) + L2_OVERHEAD))
                .collect(),
            burst: w.burst,
            idle: w.idle,
            idle_polls: w.idle_polls,
            sleep_us: w.sleep_us,
            dp: Arc::clone(&dp),
            slow_path: slow_path.queue(),
            proxy_flows: Arc::clone(&proxy_flows),
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
                mbuf_data: p
                    .mempool
                    .data_room
                    .saturating_sub(crate::packet::HEADROOM as u32)
                    as u16,
                promiscuous: pc.promiscuous,
            };
            let pool = &pools[&pr.info.socket.or_zero()];
            pr.id
                .setup(&setup, &pr.info, |_| pool)
                .map_err(|e| RunError::Other(format!("port '{}': {e}", pr.name)))?;
            started.push(pr.id);
            let link = pr.id.link();
            let m = pr.info.mac;
            info!(
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
                info!("control socket: {}", c.path().display());
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
                info!("metrics: http://{addr}/metrics");
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
    let hup = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGHUP, Arc::clone(&hup))
        .map_err(|e| RunError::Other(format!("installing signal handler: {e}")))?;
    for (wi, plan) in plans.into_iter().enumerate() {
        let stop = Arc::clone(&stop);
        let lcore = worker_lcores[wi];
        eal.launch(lcore, move || worker::run(&plan, &stop))?;
    }
    info!(
        "pipeline '{}' running: {} worker(s), {} port(s){}",
        p.name,
        p.workers.len(),
        ports.len(),
        match opts.duration {
            Some(d) => format!(", for {:.1} s", d.as_secs_f64()),
            None => ", Ctrl-C to stop".to_string(),
        }
    );

    // systemd: READY once every worker polls, WATCHDOG while they all make progress, STOPPING.
    let workers_named = p.workers.iter().map(|w| w.name.clone()).collect();
    let mut service =
        crate::systemd::ServiceNotifier::from_env(&p.name, workers_named, Instant::now());

    // Stats loop on the main lcore.
    let t0 = Instant::now();
    let interval = if opts.no_stats_line {
        Duration::ZERO
    } else {
        Duration::from_secs_f64(p.stats.interval_s)
    };
    let mut last_t = t0;
    let mut last_ports: Vec<PortCounters> = ports.iter().map(|pr| pr.id.counters()).collect();
    let mut last_workers: Vec<WorkerSnapshot> = counters.iter().map(|c| c.snapshot()).collect();
    let mut next_line = t0 + interval;
    let mut arp_requests = Vec::new();
    let mut eve = eve::EveWriter::default();
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
        service.tick(Instant::now(), counters.iter().map(|c| c.snapshot().polls));
        slow_path.drain(|p| {
            crate::host::answer(p, &dp);
        });
        arp_tick(&dp, &pools, &ports, &mut arp_requests);
        eve.drain(&dp);
        if hup.swap(false, Ordering::Relaxed) {
            reload_on_hangup(&dp);
        }
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
    service.stopping();
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
        let p = Pipeline::from_toml(include_str!("../../../pipelines/xconnect-vf.toml")).unwrap();
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
