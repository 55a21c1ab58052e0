//! The `ids` SFs' alerts, off the fast path: each main-loop round drains every `ids` SF's alert
//! queue and appends each alert as a Suricata EVE JSON line to the SF's `eve_log` (its folder is
//! made when missing). A file that cannot be written is logged once per SF and its alerts are
//! counted lost; the dataplane never waits for the disk. Every change of the tables (a reload,
//! SIGHUP included) closes the files, and the next alert opens them again: after logrotate moves
//! the file away, `kill -HUP` makes qdp write a new one, as with Suricata.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::atomic::Ordering::Relaxed;

use crate::shared::Dataplane;
use crate::tables::ids::eve::{eve_line, AlertEvent};
use crate::tables::sfc::SfImpl;
use crate::wire::{FlowKey, IpFamily};

/// The open EVE files, by path.
#[derive(Default)]
pub struct EveWriter {
    files: HashMap<PathBuf, Option<BufWriter<File>>>,
    /// The tables' generation the files were opened under.
    generation: u64,
}

fn addr(f: &FlowKey, a: &[u8; 16]) -> IpAddr {
    match f.family {
        IpFamily::Ipv4 => IpAddr::from([a[0], a[1], a[2], a[3]]),
        IpFamily::Ipv6 => IpAddr::from(*a),
    }
}

impl EveWriter {
    /// Writes what every `ids` SF of the running tables queued.
    pub fn drain(&mut self, dp: &Dataplane) {
        let Some(t) = dp.sfc.load_full() else {
            return;
        };
        let generation = dp.generation.load(std::sync::atomic::Ordering::Acquire);
        if generation != self.generation {
            self.files.clear();
            self.generation = generation;
        }
        for sf in &t.sfs {
            let SfImpl::Ids(ids) = &sf.imp else {
                continue;
            };
            if ids.alerts.queue.is_empty() {
                continue;
            }
            let out = self.files.entry(ids.eve_log.clone()).or_insert_with(|| {
                if let Some(d) = ids.eve_log.parent() {
                    let _ = std::fs::create_dir_all(d);
                }
                match OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&ids.eve_log)
                {
                    Ok(f) => Some(BufWriter::new(f)),
                    Err(e) => {
                        tracing::error!(
                            "ids SF {}: cannot write alerts to {}: {e}",
                            sf.name,
                            ids.eve_log.display()
                        );
                        None
                    }
                }
            });
            let rules = ids.engine.rules();
            let mut n = 0;
            while let Some(a) = ids.alerts.queue.pop() {
                let Some(w) = out.as_mut() else {
                    ids.alerts.lost.fetch_add(1, Relaxed);
                    continue;
                };
                // The rule, by index, unless the engine changed under the record: then by sid.
                let rule = rules
                    .get(a.rule as usize)
                    .filter(|r| r.sid == a.sid)
                    .or_else(|| rules.iter().find(|r| r.sid == a.sid));
                let ev = AlertEvent {
                    time: a.time,
                    sf: sf.name.clone(),
                    src: addr(&a.flow, &a.flow.src),
                    src_port: a.flow.src_port,
                    dst: addr(&a.flow, &a.flow.dst),
                    dst_port: a.flow.dst_port,
                    protocol: u8::from(a.flow.protocol),
                    sid: a.sid,
                    rev: rule.map_or(0, |r| r.rev),
                    gid: rule.map_or(1, |r| r.gid),
                    signature: rule.map_or_else(String::new, |r| r.msg.clone()),
                    category: rule.and_then(|r| r.classtype.clone()),
                    severity: rule.and_then(|r| r.priority),
                    blocked: a.blocked,
                    spi: a.spi,
                    si: a.si,
                };
                if writeln!(w, "{}", eve_line(&ev)).is_err() {
                    ids.alerts.lost.fetch_add(1, Relaxed);
                } else {
                    n += 1;
                }
            }
            if let Some(w) = out.as_mut() {
                let _ = w.flush();
            }
            ids.alerts.written.fetch_add(n, Relaxed);
        }
    }
}
