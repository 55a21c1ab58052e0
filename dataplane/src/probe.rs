//! Active health probes, on the main thread beside ARP: an `lb` SF's backends and proxied SFs
//! with an `address` may carry a `probe` (ICMP echo, or a TCP connect to a port), sent every
//! `interval_ms` from one of our addresses on the target's port through a worker's inject queue,
//! to the MAC ARP found for the target. An answer within `timeout_ms` (an echo reply, or a
//! SYN-ACK, which qdp leaves unanswered: the target's kernel drops the half-open connection, its
//! server never sees it) is a success; silence or a TCP reset is a
//! failure. An up target that fails `fall` probes in a row is down until it passes `rise` in a
//! row; every change is logged, shown by `qdpctl show probes` and exported to Prometheus, and
//! the tables are rebuilt through the one change path with the target down (its group or `lb`
//! SF sends its flows elsewhere). A target starts up: ARP already keeps traffic from one that
//! was never heard of. A hung SF whose kernel still answers ARP fails a TCP probe of its port.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::config::{Pipeline, ProbeConfig, ProbeKind, SfKind};

/// What a target is and how it is probed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeKey {
    pub port: usize,
    pub ip: Ipv4Addr,
    /// `None`: ICMP echo; else TCP connect to this port.
    pub tcp: Option<u16>,
}

/// One target and what is known of it.
#[derive(Debug, Clone, Serialize)]
pub struct ProbeTarget {
    /// The SF (and backend) it belongs to, for logs and `qdpctl`.
    pub owner: String,
    #[serde(skip)]
    pub key: ProbeKey,
    pub address: Ipv4Addr,
    pub kind: &'static str,
    pub tcp_port: Option<u16>,
    #[serde(skip)]
    src: Ipv4Addr,
    #[serde(skip)]
    cfg: (Duration, Duration, u32, u32),
    pub up: bool,
    /// Successes (while down) or failures (while up) in a row.
    pub streak: u32,
    pub sent: u64,
    pub answered: u64,
    pub changes: u64,
    /// The probe waiting for its answer: its id and when it left.
    #[serde(skip)]
    pending: Option<(u16, Instant)>,
    #[serde(skip)]
    next: Instant,
}

/// A probe to send: on `port`, from our `src`, to `dst` (at `mac`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbeSend {
    pub port: usize,
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub dst_mac: [u8; 6],
    /// ICMP echo identifier and sequence number, or the TCP source port.
    pub id: u16,
    pub tcp: Option<u16>,
}

/// What came back from a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeAnswer {
    Echo {
        id: u16,
    },
    /// A SYN-ACK (`ok`) or a reset to our TCP source port `id`.
    Tcp {
        id: u16,
        ok: bool,
    },
}

/// Every probe target.
#[derive(Debug, Default)]
pub struct Probes {
    targets: Vec<ProbeTarget>,
    next_id: u16,
    /// Set when a target went down or up; the main thread rebuilds the tables.
    pub changed: bool,
}

/// Our ICMP identifiers and TCP source ports for probes start here.
pub const ID_BASE: u16 = crate::slowpath::PROBE_ID_BASE;

fn targets(p: &Pipeline) -> Vec<(String, ProbeKey, ProbeConfig)> {
    let mut v = Vec::new();
    for sf in &p.sfs {
        let (Some(cfg), Some(port)) = (&sf.probe, sf.port.as_deref().and_then(|x| p.port_index(x)))
        else {
            continue;
        };
        let tcp = |backend_port: Option<u16>| match cfg.kind {
            ProbeKind::Icmp => None,
            ProbeKind::Tcp => cfg.port.or(backend_port).or_else(|| {
                sf.lb
                    .as_ref()
                    .and_then(|l| l.vip_ports.filter(|r| r.lo == r.hi).map(|r| r.lo))
            }),
        };
        match (sf.kind, &sf.lb) {
            (SfKind::Lb, Some(lb)) => {
                for b in &lb.backends {
                    let key = ProbeKey {
                        port,
                        ip: b.address,
                        tcp: tcp(b.port),
                    };
                    v.push((format!("{}/{}", sf.name, b.name), key, cfg.clone()));
                }
            }
            (SfKind::Proxy, _) => {
                if let Some(ip) = sf.address {
                    let key = ProbeKey {
                        port,
                        ip,
                        tcp: tcp(None),
                    };
                    v.push((sf.name.clone(), key, cfg.clone()));
                }
            }
            _ => {}
        }
    }
    v
}

impl Probes {
    /// Follows a change of the pipeline: targets that stay keep their state.
    pub fn sync(
        &mut self,
        p: &Pipeline,
        now: Instant,
        source: impl Fn(usize, Ipv4Addr) -> Option<Ipv4Addr>,
    ) {
        let old = std::mem::take(&mut self.targets);
        for (owner, key, c) in targets(p) {
            let Some(src) = source(key.port, key.ip) else {
                continue;
            };
            let cfg = (
                Duration::from_millis(u64::from(c.interval_ms)),
                Duration::from_millis(u64::from(c.timeout_ms)),
                c.rise,
                c.fall,
            );
            let kept = old.iter().find(|t| t.key == key && t.owner == owner);
            self.targets.push(match kept {
                Some(t) => ProbeTarget {
                    src,
                    cfg,
                    ..t.clone()
                },
                None => ProbeTarget {
                    owner,
                    address: key.ip,
                    kind: if key.tcp.is_some() { "tcp" } else { "icmp" },
                    tcp_port: key.tcp,
                    key,
                    src,
                    cfg,
                    up: true,
                    streak: 0,
                    sent: 0,
                    answered: 0,
                    changes: 0,
                    pending: None,
                    next: now,
                },
            });
        }
    }

    /// Records one probe's outcome; returns whether the target changed state.
    fn outcome(t: &mut ProbeTarget, ok: bool) -> bool {
        let (_, _, rise, fall) = t.cfg;
        if ok == t.up {
            t.streak = 0;
            return false;
        }
        t.streak += 1;
        if t.streak < if t.up { fall } else { rise } {
            return false;
        }
        t.up = ok;
        t.streak = 0;
        t.changes += 1;
        let what = match t.key.tcp {
            Some(p) => format!("TCP port {p}"),
            None => "ICMP echo".into(),
        };
        if ok {
            tracing::info!("probe: {} ({}, {what}) is up", t.owner, t.address);
        } else {
            tracing::warn!(
                "probe: {} ({}, {what}) is down after {fall} failed probes",
                t.owner,
                t.address
            );
        }
        true
    }

    /// Times out what went unanswered and appends the probes due at `now` to `out` (to targets
    /// whose MAC `mac` knows); returns whether any target changed state.
    pub fn poll(
        &mut self,
        now: Instant,
        mac: impl Fn(usize, Ipv4Addr) -> Option<[u8; 6]>,
        out: &mut Vec<ProbeSend>,
    ) -> bool {
        let mut changed = false;
        for i in 0..self.targets.len() {
            let t = &mut self.targets[i];
            if let Some((_, at)) = t.pending {
                if now >= at + t.cfg.1 {
                    t.pending = None;
                    changed |= Self::outcome(t, false);
                }
            }
            if now < t.next {
                continue;
            }
            t.next = now + t.cfg.0;
            let Some(dst_mac) = mac(t.key.port, t.key.ip) else {
                changed |= Self::outcome(t, false);
                continue;
            };
            if t.pending.is_some() {
                continue;
            }
            let id = ID_BASE + (self.next_id % 0x4000);
            self.next_id = self.next_id.wrapping_add(1);
            let t = &mut self.targets[i];
            t.pending = Some((id, now));
            t.sent += 1;
            out.push(ProbeSend {
                port: t.key.port,
                src: t.src,
                dst: t.key.ip,
                dst_mac,
                id,
                tcp: t.key.tcp,
            });
        }
        self.changed |= changed;
        changed
    }

    /// An answer from `from` on `port`; returns whether a target changed state.
    pub fn answer(&mut self, port: usize, from: Ipv4Addr, a: ProbeAnswer) -> bool {
        let Some(t) = self.targets.iter_mut().find(|t| {
            t.key.port == port
                && t.key.ip == from
                && match (a, t.pending) {
                    (ProbeAnswer::Echo { id }, Some((p, _))) => t.key.tcp.is_none() && id == p,
                    (ProbeAnswer::Tcp { id, .. }, Some((p, _))) => t.key.tcp.is_some() && id == p,
                    _ => false,
                }
        }) else {
            return false;
        };
        t.pending = None;
        let ok = match a {
            ProbeAnswer::Echo { .. } => true,
            ProbeAnswer::Tcp { ok, .. } => ok,
        };
        if ok {
            t.answered += 1;
        }
        let changed = Self::outcome(t, ok);
        self.changed |= changed;
        changed
    }

    /// Whether the target (`owner`, at `ip` on `port`) is up; a target without a probe is.
    pub fn healthy(&self, owner: &str, port: usize, ip: Ipv4Addr) -> bool {
        self.targets
            .iter()
            .find(|t| t.owner == owner && t.key.port == port && t.key.ip == ip)
            .is_none_or(|t| t.up)
    }

    pub fn targets(&self) -> &[ProbeTarget] {
        &self.targets
    }
}

/// The frame of a probe from `src_mac`: an ICMP echo request, or a TCP SYN.
pub fn probe_frame(src_mac: [u8; 6], s: &ProbeSend) -> Vec<u8> {
    let b = etherparse::PacketBuilder::ethernet2(src_mac, s.dst_mac).ipv4(
        s.src.octets(),
        s.dst.octets(),
        64,
    );
    let mut f = Vec::with_capacity(64);
    let r = match s.tcp {
        None => b.icmpv4_echo_request(s.id, 1).write(&mut f, b"qdp probe"),
        Some(port) => b
            .tcp(s.id, port, u32::from(s.id) << 16, 1024)
            .syn()
            .write(&mut f, &[]),
    };
    debug_assert!(r.is_ok());
    f
}

/// A probe's answer in a frame for us: its source and the answer, or `None`.
pub fn parse_answer(frame: &[u8]) -> Option<(Ipv4Addr, ProbeAnswer)> {
    let p = etherparse::SlicedPacket::from_ethernet(frame).ok()?;
    let Some(etherparse::NetSlice::Ipv4(ip)) = &p.net else {
        return None;
    };
    let from = Ipv4Addr::from(ip.header().source());
    match p.transport? {
        etherparse::TransportSlice::Icmpv4(icmp) => match icmp.icmp_type() {
            etherparse::Icmpv4Type::EchoReply(e) if e.id >= ID_BASE => {
                Some((from, ProbeAnswer::Echo { id: e.id }))
            }
            _ => None,
        },
        etherparse::TransportSlice::Tcp(tcp) if tcp.destination_port() >= ID_BASE => {
            let id = tcp.destination_port();
            if tcp.syn() && tcp.ack() {
                Some((from, ProbeAnswer::Tcp { id, ok: true }))
            } else if tcp.rst() {
                Some((from, ProbeAnswer::Tcp { id, ok: false }))
            } else {
                None
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probes() -> Probes {
        let p = Pipeline::from_toml(
            r#"
[eal]
cores = [0, 1]
[[ports]]
name = "net"
vdev = "net_null0"
addresses = ["10.0.0.254/24"]
[[workers]]
name = "w0"
core = 1
rx = ["net"]
[[exits]]
name = "out"
port = "net"
[[paths]]
name = "p"
spi = 1
hops = [{ si = 255, sf = "web" }, { si = 254, end = "out" }]
[[classifier]]
in_port = "net"
path = "p"
[[sfs]]
name = "web"
kind = "lb"
port = "net"
probe = { kind = "tcp", port = 80, interval_ms = 100, timeout_ms = 50, rise = 2, fall = 3 }
lb = { vip = "10.9.0.1", backends = [{ name = "a", address = "10.0.0.11" }] }
"#,
        )
        .unwrap();
        let mut pr = Probes::default();
        pr.sync(&p, Instant::now(), |_, _| {
            Some(Ipv4Addr::new(10, 0, 0, 254))
        });
        pr
    }

    #[test]
    fn falls_after_fall_failures_and_rises_after_rise_successes() {
        let mut pr = probes();
        let t0 = Instant::now();
        let mac = |_: usize, _: Ipv4Addr| Some([2, 0, 0, 0, 0, 1]);
        let ip = Ipv4Addr::new(10, 0, 0, 11);
        let mut out = Vec::new();
        // Three probes time out: down at the third.
        for k in 0..3u64 {
            out.clear();
            let changed = pr.poll(t0 + Duration::from_millis(100 * k), mac, &mut out);
            assert!(!changed);
            assert_eq!(out.len(), 1);
            let c = pr.poll(
                t0 + Duration::from_millis(100 * k + 60),
                mac,
                &mut Vec::new(),
            );
            assert_eq!(c, k == 2, "round {k}");
        }
        assert!(!pr.healthy("web/a", 0, ip));
        // Two answered: up again at the second.
        for k in 3..5u64 {
            out.clear();
            pr.poll(t0 + Duration::from_millis(100 * k), mac, &mut out);
            let id = out[0].id;
            assert_eq!(out[0].tcp, Some(80));
            let frame = probe_frame([2, 0, 0, 0, 0, 0xfe], &out[0]);
            assert!(frame.len() >= 54);
            assert_eq!(pr.answer(0, ip, ProbeAnswer::Tcp { id, ok: true }), k == 4);
        }
        assert!(pr.healthy("web/a", 0, ip));
        // A reset is a failure; an answer to another id is nothing.
        out.clear();
        pr.poll(t0 + Duration::from_millis(500), mac, &mut out);
        assert!(!pr.answer(0, ip, ProbeAnswer::Tcp { id: 1, ok: true }));
        assert!(!pr.answer(
            0,
            ip,
            ProbeAnswer::Tcp {
                id: out[0].id,
                ok: false
            }
        ));
        assert_eq!(pr.targets()[0].streak, 1);
    }

    #[test]
    fn a_syn_ack_and_a_reset_are_parsed() {
        let mut f = Vec::new();
        etherparse::PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 0xfe])
            .ipv4([10, 0, 0, 11], [10, 0, 0, 254], 64)
            .tcp(80, ID_BASE + 5, 1000, 1024)
            .syn()
            .ack(77)
            .write(&mut f, &[])
            .unwrap();
        let (from, a) = parse_answer(&f).unwrap();
        assert_eq!(from, Ipv4Addr::new(10, 0, 0, 11));
        assert_eq!(
            a,
            ProbeAnswer::Tcp {
                id: ID_BASE + 5,
                ok: true
            }
        );
        let mut r = Vec::new();
        etherparse::PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 0xfe])
            .ipv4([10, 0, 0, 11], [10, 0, 0, 254], 64)
            .tcp(80, ID_BASE + 6, 0, 0)
            .rst()
            .write(&mut r, &[])
            .unwrap();
        assert_eq!(
            parse_answer(&r).unwrap().1,
            ProbeAnswer::Tcp {
                id: ID_BASE + 6,
                ok: false
            }
        );
    }
}
