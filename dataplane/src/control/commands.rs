//! The control commands: parsing a request line, checking that the client may run it, running
//! it, building the reply line. Every command but `show` and `metrics` is written to the log with
//! the client's pid, uid and gid.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{json, Value};

use super::access::{self, Access, AccessPolicy, PeerCredentials};
use super::counters::{
    clear_stats, latency, latency_figures, port_stats, port_tx_dropped, sf_stats, worker_stats,
};
use super::files::{ControlFiles, ReloadSource};
use super::sessions::{capture, trace};
use super::{error_reply, ok_reply, PROTOCOL_VERSION};
use crate::change::{self, reload, ChangeError};
use crate::config::{HopConfig, NeighborConfig, PathConfig, Pipeline, RuleConfig, SfConfig};
use crate::shared::{flag, new_latency_histogram, Dataplane};
use crate::stats::{DropReason, WorkerSnapshot};

/// Something that can be up or down.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum UpDown {
    Up,
    Down,
}

/// Something that can be on or off.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum OnOff {
    On,
    Off,
}

/// What `show` shows.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ShowWhat {
    Version,
    Ports,
    Workers,
    Paths,
    Rules,
    Groups,
    Sfs,
    Neighbors,
    Arp,
    Lb,
    Probes,
    Ids,
    Agent,
    Vteps,
    Stats,
    Errors,
    Latency,
    Pipeline,
}

/// One request. The wire form is a JSON object with `"command"` naming the variant in
/// kebab-case, the variant's fields next to it, and an optional `"version"`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum Command {
    Show {
        what: ShowWhat,
    },
    AddRule {
        rule: RuleConfig,
        /// Where in the classifier list (the end when absent); priorities decide matching.
        position: Option<usize>,
    },
    DeleteRule {
        name: Option<String>,
        index: Option<usize>,
    },
    AddPath {
        path: PathConfig,
    },
    DeletePath {
        name: String,
    },
    AddHop {
        path: String,
        hop: HopConfig,
    },
    DeleteHop {
        path: String,
        si: u8,
    },
    AddSf {
        sf: SfConfig,
    },
    DeleteSf {
        name: String,
    },
    AddNeighbor {
        neighbor: NeighborConfig,
    },
    DeleteNeighbor {
        name: String,
    },
    SetSf {
        name: String,
        state: UpDown,
    },
    SetPort {
        name: String,
        state: UpDown,
    },
    SetBackend {
        sf: String,
        backend: String,
        weight: Option<u32>,
        state: Option<UpDown>,
    },
    SetLatency {
        state: OnOff,
    },
    ClearStats {},
    Reload {
        file: Option<PathBuf>,
    },
    Trace {
        count: u32,
        timeout_ms: Option<u64>,
    },
    Capture {
        count: u32,
        at: String,
        /// A plain file name in `control.capture_dir`.
        file: String,
        /// Replace an existing regular file of that name.
        #[serde(default)]
        overwrite: bool,
        timeout_ms: Option<u64>,
    },
    Metrics {},
    Shutdown {},
    /// Writes the running configuration to the pipeline file qdp runs (no other file).
    Save {},
    /// An agent's whole set of SFC objects (named with `prefix`), in units that stand or fall
    /// alone, and/or its report.
    Sync {
        prefix: String,
        units: Option<Vec<crate::config::OwnedUnit>>,
        report: Option<Value>,
    },
}

impl Command {
    /// Whether the command only looks: it changes nothing, writes no file and reads no packet
    /// (what a member of `control.readonly_group` may run).
    pub fn looks_only(&self) -> bool {
        matches!(self, Command::Show { .. } | Command::Metrics {})
    }
}

/// A connected client: who it is, what it may do, and the rules of the socket it came through.
#[derive(Debug, Clone)]
pub struct Client {
    pub peer: PeerCredentials,
    pub access: Access,
    pub policy: Arc<AccessPolicy>,
    pub files: Arc<ControlFiles>,
}

/// One parsed request.
#[derive(Debug)]
pub struct Request {
    /// The command's wire name (`add-rule`).
    pub name: String,
    /// Its fields as sent, for the log.
    pub fields: Value,
    pub command: Command,
}

/// Parses one request line: JSON, an object, a version we speak, a known command with fields of
/// the right types. Errors name the field.
pub fn parse(line: &[u8]) -> Result<Command, String> {
    parse_request(line).map(|r| r.command)
}

/// [`parse`], keeping the command's name and fields.
pub fn parse_request(line: &[u8]) -> Result<Request, String> {
    let mut v: Value = serde_json::from_slice(line).map_err(|e| format!("malformed JSON: {e}"))?;
    let Some(obj) = v.as_object_mut() else {
        return Err("a request must be a JSON object".into());
    };
    if let Some(ver) = obj.remove("version") {
        match ver.as_u64() {
            Some(n) if n == u64::from(PROTOCOL_VERSION) => {}
            _ => {
                return Err(format!(
                    "version: this qdp speaks protocol version {PROTOCOL_VERSION}, not {ver}"
                ))
            }
        }
    }
    let name = match obj.remove("command") {
        None => {
            return Err(
                "command: missing (e.g. {\"command\": \"show\", \"what\": \"ports\"})".into(),
            )
        }
        Some(Value::String(s)) => s,
        Some(other) => return Err(format!("command: must be a string, not {other}")),
    };
    // As an externally tagged enum, so that errors carry the path of the field.
    let fields = Value::Object(std::mem::take(obj));
    let tagged = Value::Object([(name.clone(), fields.clone())].into_iter().collect());
    let command = serde_path_to_error::deserialize(tagged).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        match path.strip_prefix(&format!("{name}.")) {
            Some(field) => format!("{field}: {inner}"),
            None if inner.starts_with("unknown variant") => format!("command: {inner}"),
            None => inner,
        }
    })?;
    Ok(Request {
        name,
        fields,
        command,
    })
}

/// Runs one request line from `client` and returns the reply line.
pub fn handle(dp: &Arc<Dataplane>, client: &Client, line: &[u8]) -> String {
    let req = match parse_request(line) {
        Ok(r) => r,
        Err(e) => return error_reply(&e),
    };
    let looks_only = req.command.looks_only();
    let result = client
        .policy
        .permit(client.access, &client.peer, &req.name, looks_only)
        .map_err(|e| e.to_string())
        .and_then(|()| run(dp, &client.files, req.command));
    if !looks_only {
        let outcome = match &result {
            Ok(_) => "ok".to_string(),
            Err(e) => format!("refused: {e}"),
        };
        access::audit(
            &client.peer,
            &format!("{} {}: {outcome}", req.name, req.fields),
        );
    }
    match result {
        Ok(v) => ok_reply(v),
        Err(e) => error_reply(&e),
    }
}

/// A change made through the one change path, as a reply.
fn change(
    dp: &Dataplane,
    edit: impl FnOnce(&mut Pipeline) -> Result<(), String>,
) -> Result<Value, String> {
    reply(change::change(dp, edit))
}

fn reply<T: serde::Serialize>(r: Result<T, ChangeError>) -> Result<Value, String> {
    r.map_err(|e| e.to_string())
        .and_then(|v| serde_json::to_value(v).map_err(|e| e.to_string()))
}

/// Runs a parsed command; `files` says which files it may write and read.
pub fn run(dp: &Arc<Dataplane>, files: &ControlFiles, cmd: Command) -> Result<Value, String> {
    match cmd {
        Command::Show { what } => show(dp, what),
        Command::AddRule { rule, position } => change(dp, |p| {
            let at = position.unwrap_or(p.classifier.len());
            if at > p.classifier.len() {
                return Err(format!(
                    "position: {at} is past the end of the classifier ({} rules)",
                    p.classifier.len()
                ));
            }
            p.classifier.insert(at, rule);
            Ok(())
        }),
        Command::DeleteRule { name, index } => change(dp, |p| {
            let i = match (&name, index) {
                (Some(n), None) => p
                    .classifier
                    .iter()
                    .position(|r| r.name.as_deref() == Some(n.as_str()))
                    .ok_or_else(|| format!("name: no classifier rule called '{n}'"))?,
                (None, Some(i)) if i < p.classifier.len() => i,
                (None, Some(i)) => {
                    return Err(format!(
                        "index: no rule {i} (the classifier has {})",
                        p.classifier.len()
                    ))
                }
                _ => return Err("give exactly one of name or index".into()),
            };
            p.classifier.remove(i);
            Ok(())
        }),
        Command::AddPath { path } => change(dp, |p| {
            p.paths.push(path);
            Ok(())
        }),
        Command::DeletePath { name } => change(dp, |p| {
            let i = find(&p.paths, |x| x.name == name, "name", "path", &name)?;
            p.paths.remove(i);
            Ok(())
        }),
        Command::AddHop { path, hop } => change(dp, |p| {
            let i = find(&p.paths, |x| x.name == path, "path", "path", &path)?;
            let hops = &mut p.paths[i].hops;
            hops.push(hop);
            hops.sort_by_key(|h| std::cmp::Reverse(h.si));
            Ok(())
        }),
        Command::DeleteHop { path, si } => change(dp, |p| {
            let i = find(&p.paths, |x| x.name == path, "path", "path", &path)?;
            let hops = &mut p.paths[i].hops;
            let h = hops
                .iter()
                .position(|h| h.si == si)
                .ok_or_else(|| format!("si: path '{path}' has no hop at SI {si}"))?;
            hops.remove(h);
            Ok(())
        }),
        Command::AddSf { sf } => change(dp, |p| {
            p.sfs.push(sf);
            Ok(())
        }),
        Command::DeleteSf { name } => change(dp, |p| {
            let i = find(&p.sfs, |x| x.name == name, "name", "SF", &name)?;
            p.sfs.remove(i);
            Ok(())
        }),
        Command::AddNeighbor { neighbor } => change(dp, |p| {
            p.neighbors.push(neighbor);
            Ok(())
        }),
        Command::DeleteNeighbor { name } => change(dp, |p| {
            let i = find(&p.neighbors, |x| x.name == name, "name", "neighbor", &name)?;
            p.neighbors.remove(i);
            Ok(())
        }),
        Command::SetSf { name, state } => change(dp, |p| {
            let i = find(&p.sfs, |x| x.name == name, "name", "SF", &name)?;
            p.sfs[i].down = state == UpDown::Down;
            Ok(())
        }),
        Command::SetPort { name, state } => set_port(dp, &name, state),
        Command::SetBackend {
            sf,
            backend,
            weight,
            state,
        } => super::services::set_backend(
            dp,
            &sf,
            &backend,
            weight,
            state.map(|s| s == UpDown::Down),
        ),
        Command::SetLatency { state } => {
            dp.set_flag(flag::LATENCY, state == OnOff::On);
            Ok(json!({ "latency": state == OnOff::On }))
        }
        Command::ClearStats {} => clear_stats(dp),
        Command::Reload { file } => reload_file(dp, files, file.as_deref()),
        Command::Trace { count, timeout_ms } => trace(dp, count, timeout_ms),
        Command::Capture {
            count,
            at,
            file,
            overwrite,
            timeout_ms,
        } => capture(dp, files, count, &at, (&file, overwrite), timeout_ms),
        Command::Metrics {} => Ok(Value::String(super::metrics::render(dp))),
        Command::Shutdown {} => {
            dp.stop.store(true, Ordering::Relaxed);
            Ok(json!({ "shutting_down": true }))
        }
        Command::Save {} => save(dp),
        Command::Sync {
            prefix,
            units,
            report,
        } => super::sync::sync(dp, &prefix, units, report),
    }
}

/// A reload through the one change path, of a file `files` allows; a file in the reload folder
/// is read through the descriptor that was checked.
fn reload_file(
    dp: &Dataplane,
    files: &ControlFiles,
    file: Option<&std::path::Path>,
) -> Result<Value, String> {
    match files.reload_source(file).map_err(|e| e.to_string())? {
        ReloadSource::Running => reply(reload(dp, None)),
        ReloadSource::Opened { path, file } => {
            use std::os::fd::AsRawFd;
            let opened = PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()));
            let shown = path.display().to_string();
            let r = reload(dp, Some(&opened)).map_err(|e| match e {
                ChangeError::File { errors, .. } => ChangeError::File {
                    file: shown.clone(),
                    errors,
                },
                ChangeError::Fixed { section, .. } => ChangeError::Fixed {
                    file: shown.clone(),
                    section,
                },
                other => other,
            });
            drop(file);
            reply(r)
        }
    }
}

/// Saves the running configuration through the change path's [`change::save`].
fn save(dp: &Dataplane) -> Result<Value, String> {
    reply(change::save(dp))
}

/// An SF's state: `down` when set so, `down (health)` when ARP or its probe took it down.
fn sf_state(dp: &Dataplane, name: &str, set_down: bool) -> &'static str {
    let running = dp
        .sfc
        .load_full()
        .and_then(|t| t.sfs.iter().find(|x| x.name == name).map(|x| x.down));
    match (set_down, running) {
        (true, _) => "down",
        (false, Some(true)) => "down (health)",
        _ => "up",
    }
}

fn find<T>(
    v: &[T],
    pred: impl Fn(&T) -> bool,
    field: &str,
    kind: &str,
    name: &str,
) -> Result<usize, String> {
    v.iter()
        .position(pred)
        .ok_or_else(|| format!("{field}: no {kind} called '{name}'"))
}

fn set_port(dp: &Dataplane, name: &str, state: UpDown) -> Result<Value, String> {
    let i = dp
        .port_index(name)
        .ok_or_else(|| format!("name: no port called '{name}'"))?;
    let down = state == UpDown::Down;
    dp.port_down[i].store(down, Ordering::Release);
    let any = dp.port_down.iter().any(|d| d.load(Ordering::Acquire));
    dp.set_flag(flag::PORT_DOWN, any);
    let link = match dp.ports[i].id.set_link(!down) {
        Ok(()) => "driver link state changed".to_string(),
        Err(e) => format!("driver link state unchanged ({e}); qdp no longer polls or sends"),
    };
    Ok(json!({ "port": name, "state": if down { "down" } else { "up" }, "link": link }))
}

fn mac(m: [u8; 6]) -> String {
    format!(
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        m[0], m[1], m[2], m[3], m[4], m[5]
    )
}

fn show(dp: &Dataplane, what: ShowWhat) -> Result<Value, String> {
    let configured = dp
        .pipeline
        .lock()
        .map_err(|_| "control state poisoned")?
        .clone();
    // As the tables see it: MACs found by ARP filled in, SFs that stopped answering down.
    let p = {
        let arp = dp.arp.lock().map_err(|_| "control state poisoned")?;
        crate::arp::resolve(&configured, &arp)
    };
    Ok(match what {
        ShowWhat::Version => json!({
            "qdp": env!("CARGO_PKG_VERSION"),
            "protocol": PROTOCOL_VERSION,
            "pipeline": dp.name,
            "uptime_s": dp.started.elapsed().as_secs_f64(),
            "generation": dp.generation.load(Ordering::Acquire),
        }),
        ShowWhat::Ports => {
            let stats = port_stats(dp);
            let tx_dropped = port_tx_dropped(dp);
            Value::Array(
                dp.ports
                    .iter()
                    .zip(&stats)
                    .enumerate()
                    .map(|(i, (pi, c))| {
                        let link = pi.id.link();
                        json!({
                            "name": pi.name,
                            "id": pi.id.0,
                            "driver": pi.driver,
                            "mac": mac(pi.mac),
                            "node": pi.socket,
                            "admin": if dp.port_down[i].load(Ordering::Acquire) { "down" } else { "up" },
                            "link": if link.up { "up" } else { "down" },
                            "rx_packets": c.ipackets,
                            "tx_packets": c.opackets,
                            "rx_bytes": c.ibytes,
                            "tx_bytes": c.obytes,
                            "missed": c.imissed,
                            "rx_errors": c.ierrors,
                            "tx_errors": c.oerrors,
                            "tx_dropped": tx_dropped[i],
                            "nombuf": c.rx_nombuf,
                        })
                    })
                    .collect(),
            )
        }
        ShowWhat::Workers => {
            let stats = worker_stats(dp);
            Value::Array(
                p.workers
                    .iter()
                    .zip(&stats)
                    .map(|(w, s)| {
                        json!({
                            "name": w.name,
                            "core": w.core,
                            "rx": w.rx,
                            "rx_packets": s.rx_packets,
                            "tx_packets": s.tx_packets,
                            "drops": s.drops_total(),
                            "polls": s.polls,
                            "busy_pct": if s.polls == 0 { 0.0 } else {
                                100.0 * (s.polls - s.empty_polls) as f64 / s.polls as f64
                            },
                        })
                    })
                    .collect(),
            )
        }
        ShowWhat::Paths => Value::Array(
            p.paths
                .iter()
                .map(|x| {
                    json!({
                        "name": x.name,
                        "spi": x.spi,
                        "reverse": x.reverse,
                        "hops": x.hops.iter().map(|h| {
                            let to = match (&h.sf, &h.sff, &h.end) {
                                (Some(s), _, _) => format!("sf {s}"),
                                (_, Some(s), _) => format!("sff {s}"),
                                (_, _, Some(e)) => format!("end {e}"),
                                _ => "?".into(),
                            };
                            format!("{}: {to}", h.si)
                        }).collect::<Vec<_>>().join(", "),
                    })
                })
                .collect(),
        ),
        ShowWhat::Rules => Value::Array(
            p.classifier
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    let mut v = serde_json::to_value(r).unwrap_or(Value::Null);
                    if let Some(o) = v.as_object_mut() {
                        o.retain(|_, x| !x.is_null());
                        o.insert("index".into(), json!(i));
                    }
                    v
                })
                .collect(),
        ),
        ShowWhat::Groups => Value::Array(
            p.sfs
                .iter()
                .filter(|s| s.kind == crate::config::SfKind::Group)
                .map(|g| {
                    let members: Vec<Value> = g
                        .members
                        .iter()
                        .map(|m| {
                            let set = p.sfs.iter().find(|s| &s.name == m).is_some_and(|s| s.down);
                            json!({ "name": m, "state": sf_state(dp, m, set) })
                        })
                        .collect();
                    json!({ "name": g.name, "members": members })
                })
                .collect(),
        ),
        ShowWhat::Sfs => {
            let counts = sf_stats(dp);
            Value::Array(
                p.sfs
                    .iter()
                    .map(|s| {
                        json!({
                            "name": s.name,
                            "kind": serde_json::to_value(s.kind).unwrap_or(Value::Null),
                            "state": sf_state(dp, &s.name, s.down),
                            "packets": counts.iter().find(|(n, _)| *n == s.name).map_or(0, |x| x.1),
                        })
                    })
                    .collect(),
            )
        }
        ShowWhat::Neighbors => Value::Array(
            p.neighbors
                .iter()
                .map(|n| serde_json::to_value(n).unwrap_or(Value::Null))
                .collect(),
        ),
        ShowWhat::Arp => {
            let arp = dp.arp.lock().map_err(|_| "control state poisoned")?;
            Value::Array(
                arp.entries()
                    .iter()
                    .map(|e| {
                        json!({
                            "port": dp.ports.get(e.port).map(|x| x.name.clone()),
                            "address": e.ip.to_string(),
                            "mac": e.mac.map(mac),
                            "state": match (e.reachable, e.mac) {
                                (true, _) => "reachable",
                                (false, Some(_)) => "unreachable",
                                (false, None) => "incomplete",
                            },
                            "unanswered": e.unanswered,
                            "last_answer_ms": e.last_answer.map(|t| t.elapsed().as_millis() as u64),
                            "source": e.src.to_string(),
                        })
                    })
                    .collect(),
            )
        }
        ShowWhat::Lb => super::services::show_lb(dp)?,
        ShowWhat::Probes => super::services::show_probes(dp)?,
        ShowWhat::Ids => super::services::show_ids(dp)?,
        ShowWhat::Agent => super::sync::show_agent(dp)?,
        ShowWhat::Vteps => super::sync::show_vteps(&configured),
        ShowWhat::Stats => {
            let ws = worker_stats(dp);
            let mut total = WorkerSnapshot::default();
            ws.iter().for_each(|s| total.add(s));
            json!({
                "rx_packets": total.rx_packets,
                "rx_bytes": total.rx_bytes,
                "tx_packets": total.tx_packets,
                "tx_bytes": total.tx_bytes,
                "drops": total.drops_total(),
                "slow_path": total.slow_path,
                "uptime_s": dp.started.elapsed().as_secs_f64(),
            })
        }
        ShowWhat::Errors => {
            let ws = worker_stats(dp);
            let mut rows = Vec::new();
            for r in DropReason::ALL {
                let per: Vec<u64> = ws.iter().map(|s| s.drop(*r)).collect();
                let total: u64 = per.iter().sum();
                if total > 0 {
                    let mut row = serde_json::Map::new();
                    row.insert("reason".into(), json!(r.name()));
                    row.insert("node".into(), json!(r.node().name()));
                    row.insert("total".into(), json!(total));
                    for (w, n) in dp.workers.iter().zip(&per) {
                        row.insert(w.clone(), json!(n));
                    }
                    rows.push(Value::Object(row));
                }
            }
            Value::Array(rows)
        }
        ShowWhat::Latency => {
            let on = dp.flags.load(Ordering::Acquire) & flag::LATENCY != 0;
            let hs = latency(dp);
            let mut all = new_latency_histogram();
            let mut rows = Vec::new();
            for (w, h) in dp.workers.iter().zip(&hs) {
                let mut row = json!({ "worker": w });
                match h {
                    Some(h) => {
                        let _ = all.add(h);
                        if let (Some(o), Value::Object(f)) =
                            (row.as_object_mut(), latency_figures(dp, h))
                        {
                            o.extend(f);
                        }
                    }
                    None => {
                        row["error"] = json!("worker did not answer within 500 ms");
                    }
                }
                rows.push(row);
            }
            json!({
                "measuring": on,
                "note": if on { "rx-to-tx time per packet, from the end of rx_burst to the end of tx_burst" }
                        else { "latency measurement is off: qdpctl set latency on" },
                "workers": rows,
                "all": latency_figures(dp, &all),
            })
        }
        ShowWhat::Pipeline => json!({
            "name": p.name,
            "source": dp.source.as_ref().map(|s| s.display().to_string()),
            "vteps": p.vteps.len(),
            "neighbors": p.neighbors.len(),
            "sfs": p.sfs.len(),
            "exits": p.exits.len(),
            "paths": p.paths.len(),
            "rules": p.classifier.len(),
            "generation": dp.generation.load(Ordering::Acquire),
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_parse_and_errors_name_the_field() {
        assert!(matches!(
            parse(br#"{"version":1,"command":"show","what":"ports"}"#),
            Ok(Command::Show {
                what: ShowWhat::Ports
            })
        ));
        assert!(matches!(
            parse(br#"{"command":"clear-stats"}"#),
            Ok(Command::ClearStats {})
        ));
        let e = |s: &[u8]| parse(s).unwrap_err();
        assert!(e(b"{not json").starts_with("malformed JSON"));
        assert!(e(b"[1,2]").contains("JSON object"));
        assert!(e(br#"{"what":"ports"}"#).starts_with("command: missing"));
        assert!(e(br#"{"command":7}"#).starts_with("command: must be a string"));
        assert!(e(br#"{"command":"frobnicate"}"#).contains("unknown variant `frobnicate`"));
        assert!(e(br#"{"command":"show"}"#).contains("missing field `what`"));
        let w = e(br#"{"command":"show","what":"nothing"}"#);
        eprintln!("{w}");
        assert!(w.starts_with("what: unknown variant"), "{w}");
        assert!(e(br#"{"command":"trace","count":"ten"}"#).starts_with("count: invalid type"));
        assert!(
            e(br#"{"command":"show","what":"ports","extra":1}"#).contains("unknown field `extra`")
        );
        assert!(e(br#"{"version":2,"command":"shutdown"}"#).starts_with("version:"));
        let r = e(br#"{"command":"add-rule","rule":{"src":"10.0.0.0/8","path":1}}"#);
        assert!(r.starts_with("rule.path: invalid type"), "{r}");
    }
}
