//! Metrics in the Prometheus text format (`qdpctl metrics`, and `GET /metrics` on
//! `control.metrics_listen`).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::counters::{latency, port_stats, port_tx_dropped, sf_stats, worker_stats};
use crate::shared::{flag, Dataplane};
use crate::stats::DropReason;

type Labels = Vec<(String, String)>;

fn counter_family(reg: &mut Registry, name: &str, help: &str) -> Family<Labels, Counter> {
    let f = Family::<Labels, Counter>::default();
    reg.register(name, help, f.clone());
    f
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Every counter qdp keeps, as Prometheus text (counters since the last `clear stats`).
pub fn render(dp: &Dataplane) -> String {
    let mut reg = Registry::with_prefix("qdp");
    let port_rx = counter_family(&mut reg, "port_rx_packets", "Packets received by the port");
    let port_tx = counter_family(&mut reg, "port_tx_packets", "Packets sent by the port");
    let port_rxb = counter_family(&mut reg, "port_rx_bytes", "Bytes received by the port");
    let port_txb = counter_family(&mut reg, "port_tx_bytes", "Bytes sent by the port");
    let port_missed = counter_family(
        &mut reg,
        "port_rx_missed",
        "Packets the port dropped for lack of descriptors",
    );
    let port_nombuf = counter_family(
        &mut reg,
        "port_rx_nombuf",
        "Receive buffer allocation failures",
    );
    let port_tx_drop = counter_family(
        &mut reg,
        "port_tx_dropped",
        "Packets qdp could not send on the port: its transmit queue refused them (full, or the peer gone)",
    );
    let tx_dropped = port_tx_dropped(dp);
    for ((p, c), d) in dp.ports.iter().zip(port_stats(dp)).zip(tx_dropped) {
        let l = labels(&[("port", &p.name)]);
        port_tx_drop.get_or_create(&l).inc_by(d);
        port_rx.get_or_create(&l).inc_by(c.ipackets);
        port_tx.get_or_create(&l).inc_by(c.opackets);
        port_rxb.get_or_create(&l).inc_by(c.ibytes);
        port_txb.get_or_create(&l).inc_by(c.obytes);
        port_missed.get_or_create(&l).inc_by(c.imissed);
        port_nombuf.get_or_create(&l).inc_by(c.rx_nombuf);
    }
    let w_rx = counter_family(&mut reg, "worker_rx_packets", "Packets a worker received");
    let w_tx = counter_family(&mut reg, "worker_tx_packets", "Packets a worker sent");
    let w_slow = counter_family(
        &mut reg,
        "worker_slow_path_packets",
        "Packets handed to the slow path",
    );
    let drops = counter_family(
        &mut reg,
        "drops",
        "Packets dropped, by worker, node and reason",
    );
    for (w, s) in dp.workers.iter().zip(worker_stats(dp)) {
        let l = labels(&[("worker", w)]);
        w_rx.get_or_create(&l).inc_by(s.rx_packets);
        w_tx.get_or_create(&l).inc_by(s.tx_packets);
        w_slow.get_or_create(&l).inc_by(s.slow_path);
        for r in DropReason::ALL {
            let n = s.drop(*r);
            if n > 0 {
                drops
                    .get_or_create(&labels(&[
                        ("worker", w),
                        ("node", r.node().name()),
                        ("reason", r.name()),
                    ]))
                    .inc_by(n);
            }
        }
    }
    let sf = counter_family(
        &mut reg,
        "sf_packets",
        "Packets a service function instance handled",
    );
    for (name, n) in sf_stats(dp) {
        sf.get_or_create(&labels(&[("sf", &name)])).inc_by(n);
    }
    let probe_up = Family::<Labels, Gauge>::default();
    reg.register(
        "probe_up",
        "1 when the health probe target is up, by target (SF or lb SF/backend) and address",
        probe_up.clone(),
    );
    if let Ok(arp) = dp.arp.lock() {
        for t in arp.probes.targets() {
            probe_up
                .get_or_create(&labels(&[
                    ("target", &t.owner),
                    ("address", &t.address.to_string()),
                    ("kind", t.kind),
                ]))
                .set(i64::from(t.up));
        }
    }
    if let Some(t) = dp.sfc.load_full() {
        let backend = Family::<Labels, Gauge>::default();
        reg.register(
            "lb_backend_weight",
            "Weight of an lb SF's backend, 0 when drained, down or unresolved",
            backend.clone(),
        );
        let alerts = counter_family(&mut reg, "ids_alerts", "Alerts an ids SF wrote");
        let lost = counter_family(&mut reg, "ids_alerts_lost", "Alerts an ids SF lost");
        for sf in &t.sfs {
            match &sf.imp {
                crate::tables::sfc::SfImpl::Lb(lb) => {
                    for b in &lb.backends {
                        let w = if b.alive() { b.weight } else { 0 };
                        backend
                            .get_or_create(&labels(&[("sf", &sf.name), ("backend", &b.name)]))
                            .set(i64::from(w));
                    }
                }
                crate::tables::sfc::SfImpl::Ids(ids) => {
                    let l = labels(&[("sf", &sf.name)]);
                    alerts
                        .get_or_create(&l)
                        .inc_by(ids.alerts.written.load(Ordering::Relaxed));
                    lost.get_or_create(&l)
                        .inc_by(ids.alerts.lost.load(Ordering::Relaxed));
                }
                _ => {}
            }
        }
    }
    let generation = Gauge::<i64>::default();
    generation.set(dp.generation.load(Ordering::Acquire) as i64);
    reg.register(
        "sfc_generation",
        "Changes applied to the SFC tables since start",
        generation,
    );
    let admin = Family::<Labels, Gauge>::default();
    reg.register("port_admin_up", "1 when the port is set up", admin.clone());
    for (i, p) in dp.ports.iter().enumerate() {
        admin
            .get_or_create(&labels(&[("port", &p.name)]))
            .set(i64::from(!dp.port_down[i].load(Ordering::Acquire)));
    }
    if dp.flags.load(Ordering::Acquire) & flag::LATENCY != 0 {
        let lat = Family::<Labels, Gauge<f64, std::sync::atomic::AtomicU64>>::default();
        reg.register(
            "latency_seconds",
            "Rx-to-tx time per packet, by worker and quantile",
            lat.clone(),
        );
        for (w, h) in dp.workers.iter().zip(latency(dp)) {
            let Some(h) = h else { continue };
            for q in [0.5, 0.99, 0.999, 1.0] {
                let c = if q == 1.0 {
                    h.max()
                } else {
                    h.value_at_quantile(q)
                };
                let s = if dp.tsc_hz == 0 {
                    0.0
                } else {
                    c as f64 / dp.tsc_hz as f64
                };
                lat.get_or_create(&labels(&[("worker", w), ("quantile", &q.to_string())]))
                    .set(s);
            }
        }
    }
    let mut out = String::new();
    let _ = encode(&mut out, &reg);
    out
}

/// Serves `GET /metrics` on a loopback address until the dataplane stops.
pub fn serve_http(dp: Arc<Dataplane>, addr: &str) -> Result<std::thread::JoinHandle<()>, String> {
    let server = tiny_http::Server::http(addr)
        .map_err(|e| format!("control.metrics_listen: cannot listen on {addr}: {e}"))?;
    std::thread::Builder::new()
        .name("qdp-metrics".into())
        .spawn(move || {
            while !dp.stop.load(Ordering::Relaxed) {
                let Ok(Some(req)) = server.recv_timeout(Duration::from_millis(100)) else {
                    continue;
                };
                let resp = if req.url() == "/metrics" && *req.method() == tiny_http::Method::Get {
                    let header = tiny_http::Header::from_bytes(
                        &b"Content-Type"[..],
                        &b"text/plain; version=0.0.4; charset=utf-8"[..],
                    )
                    .expect("a valid header");
                    tiny_http::Response::from_string(render(&dp)).with_header(header)
                } else {
                    tiny_http::Response::from_string("qdp serves /metrics only\n")
                        .with_status_code(404)
                };
                let _ = req.respond(resp);
            }
        })
        .map_err(|e| format!("control.metrics_listen: {e}"))
}
