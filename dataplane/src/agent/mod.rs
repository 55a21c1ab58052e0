//! `qdp agent`: programs the local qdp from OpenStack Neutron's SFC API (networking-sfc), with
//! Neutron as the one source of truth.
//!
//! Every `poll_interval_ms` the agent reads Neutron's port chains, port pair groups, port pairs,
//! flow classifiers and ports ([`neutron`]), translates what touches its host into qdp's SFC
//! objects ([`translate`], one unit per chain), and hands the whole set to qdp with `sync` over
//! the control socket: qdp applies it all or nothing per chain, removes what Neutron no longer
//! has, and changes nothing when nothing changed, so a restarted agent or qdp converges on the
//! next poll without duplicates. What qdp cannot honour is logged and reported in
//! `qdpctl show agent`. While Neutron cannot be read, qdp forwards on the last state; the agent
//! retries with a doubling delay (up to `max_backoff_ms`) and reports the outage.

pub mod model;
pub mod neutron;
pub mod translate;
#[cfg(test)]
mod translate_tests;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{json, Value};
use tracing::{info, warn};

use self::neutron::Neutron;
use self::translate::{Local, LocalVtep, Problem};

/// The agent's configuration file (TOML).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    /// `binding:host_id` of the ports on this appliance (default: the machine's host name).
    pub host: Option<String>,
    /// Neutron's endpoint.
    #[serde(default = "default_neutron")]
    pub neutron_url: String,
    /// A Keystone token for `X-Auth-Token` (none under `auth_strategy = noauth`).
    pub token: Option<String>,
    /// The control socket of the qdp it programs.
    #[serde(default = "default_socket")]
    pub socket: PathBuf,
    #[serde(default = "default_interval")]
    pub poll_interval_ms: u64,
    #[serde(default = "default_backoff")]
    pub max_backoff_ms: u64,
    /// Timeout of one request to Neutron.
    #[serde(default = "default_timeout")]
    pub request_timeout_ms: u64,
    /// Every object the agent makes in qdp is named with it; qdp's own objects must not be.
    #[serde(default = "default_prefix")]
    pub prefix: String,
    /// The Neutron network this host's VTEP port is registered on.
    #[serde(default = "default_underlay")]
    pub underlay_network: String,
    /// Which of qdp's `[[vteps]]` other appliances reach this one at (default: the first).
    pub vtep: Option<String>,
    /// Priority of the classifier rules the agent makes.
    #[serde(default = "default_priority")]
    pub rule_priority: u32,
    /// Neutron port name or id → qdp port, for ports whose `binding:profile` has no `qdp_port`.
    #[serde(default)]
    pub port_map: BTreeMap<String, String>,
}

fn default_neutron() -> String {
    "http://127.0.0.1:9696".into()
}
fn default_socket() -> PathBuf {
    "/run/qdp/qdp.sock".into()
}
fn default_interval() -> u64 {
    1000
}
fn default_backoff() -> u64 {
    30_000
}
fn default_timeout() -> u64 {
    5000
}
fn default_prefix() -> String {
    "os-".into()
}
fn default_underlay() -> String {
    "underlay".into()
}
fn default_priority() -> u32 {
    100
}

impl AgentConfig {
    /// Reads and checks a configuration file; errors name the field.
    pub fn load(path: &Path) -> Result<AgentConfig, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let c: AgentConfig =
            toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        c.check().map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(c)
    }

    fn check(&self) -> Result<(), String> {
        crate::config::check_prefix(&self.prefix)?;
        if !(10..=3_600_000).contains(&self.poll_interval_ms) {
            return Err("poll_interval_ms: must be 10..=3600000".into());
        }
        if self.max_backoff_ms < self.poll_interval_ms {
            return Err("max_backoff_ms: must be at least poll_interval_ms".into());
        }
        if !self.neutron_url.starts_with("http://") && !self.neutron_url.starts_with("https://") {
            return Err(format!(
                "neutron_url: '{}' is not an http:// or https:// address",
                self.neutron_url
            ));
        }
        Ok(())
    }

    fn host_name(&self) -> String {
        self.host.clone().unwrap_or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .map(|h| h.trim().to_string())
                .unwrap_or_default()
        })
    }
}

/// One request to qdp's control socket, and its result (or qdp's error).
pub fn qdp_request(socket: &Path, req: &Value) -> Result<Value, String> {
    let mut s = UnixStream::connect(socket).map_err(|e| format!("{}: {e}", socket.display()))?;
    s.set_read_timeout(Some(Duration::from_secs(30))).ok();
    let mut line = serde_json::to_string(req).map_err(|e| e.to_string())?;
    line.push('\n');
    s.write_all(line.as_bytes())
        .map_err(|e| format!("{}: {e}", socket.display()))?;
    let mut reply = String::new();
    BufReader::new(s)
        .read_line(&mut reply)
        .map_err(|e| format!("{}: {e}", socket.display()))?;
    let v: Value =
        serde_json::from_str(&reply).map_err(|e| format!("qdp's reply is not JSON: {e}"))?;
    if v["ok"] == json!(true) {
        Ok(v["result"].clone())
    } else {
        Err(v["error"].as_str().unwrap_or("qdp refused").to_string())
    }
}

/// What the agent learns of its qdp.
struct QdpInfo {
    ports: Vec<String>,
    vtep: Option<LocalVtep>,
}

fn qdp_info(c: &AgentConfig) -> Result<QdpInfo, String> {
    let ports = qdp_request(&c.socket, &json!({"command": "show", "what": "ports"}))?;
    let ports = ports
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|p| p["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let vteps = qdp_request(&c.socket, &json!({"command": "show", "what": "vteps"}))?;
    let vtep = vteps
        .as_array()
        .into_iter()
        .flatten()
        .find(|v| c.vtep.as_deref().is_none_or(|n| v["name"] == json!(n)))
        .and_then(|v| {
            Some(LocalVtep {
                port: v["port"].as_str()?.to_string(),
                address: v["address"].as_str()?.parse().ok()?,
                mac: v["mac"].as_str()?.to_string(),
            })
        });
    if let (Some(n), None) = (&c.vtep, &vtep) {
        return Err(format!("vtep: qdp has no VTEP called '{n}'"));
    }
    Ok(QdpInfo { ports, vtep })
}

/// The agent's state between polls.
struct State {
    neutron_ok_since: Option<Instant>,
    outage: Option<(Instant, String)>,
    failures: u32,
    last_problems: Vec<Problem>,
    last_chains: Value,
    last_refused: Value,
    vtep_note: Option<String>,
    applied: u64,
}

/// Runs the agent until `stop` (or after one poll with `once`).
pub fn run(c: &AgentConfig, stop: &AtomicBool, once: bool) -> Result<(), String> {
    let host = c.host_name();
    if host.is_empty() {
        return Err("host: not given and the host name is unknown".into());
    }
    let neutron = Neutron::new(
        &c.neutron_url,
        c.token.clone(),
        Duration::from_millis(c.request_timeout_ms),
    );
    info!(host, neutron = c.neutron_url, socket = %c.socket.display(), "qdp agent starting");
    let mut st = State {
        neutron_ok_since: None,
        outage: None,
        failures: 0,
        last_problems: Vec::new(),
        last_chains: Value::Null,
        last_refused: Value::Null,
        vtep_note: None,
        applied: 0,
    };
    loop {
        let ok = poll(c, &host, &neutron, &mut st);
        if once {
            return ok;
        }
        let delay = if st.failures == 0 {
            c.poll_interval_ms
        } else {
            c.poll_interval_ms
                .saturating_mul(1u64 << st.failures.min(16))
                .min(c.max_backoff_ms)
        };
        let until = Instant::now() + Duration::from_millis(delay);
        while Instant::now() < until {
            if stop.load(Ordering::Relaxed) {
                info!("qdp agent stopping");
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20).min(until - Instant::now()));
        }
    }
}

/// One poll: read Neutron and qdp, translate, sync. Failures are logged and reported; the
/// next poll comes later by the backoff.
fn poll(c: &AgentConfig, host: &str, neutron: &Neutron, st: &mut State) -> Result<(), String> {
    let qdp = match qdp_info(c) {
        Ok(q) => q,
        Err(e) => {
            st.failures += 1;
            warn!(
                "qdp at {} cannot be reached: {e}; retrying",
                c.socket.display()
            );
            return Err(e);
        }
    };
    let snapshot = match neutron.snapshot() {
        Ok(s) => s,
        Err(e) => {
            st.failures += 1;
            let since = st
                .outage
                .get_or_insert_with(|| (Instant::now(), e.clone()))
                .0;
            if let Some(o) = st.outage.as_mut() {
                o.1 = e.clone();
            }
            st.neutron_ok_since = None;
            let retry = c
                .poll_interval_ms
                .saturating_mul(1u64 << st.failures.min(16))
                .min(c.max_backoff_ms);
            warn!(
                "Neutron at {} cannot be read ({e}); qdp keeps the last state; retrying in {} ms",
                c.neutron_url, retry
            );
            let report = json!({
                "host": host,
                "neutron": {
                    "url": c.neutron_url,
                    "state": "unreachable",
                    "for_s": since.elapsed().as_secs_f64(),
                    "error": e,
                    "retry_in_ms": retry,
                },
                "chains": st.last_chains,
                "problems": st.last_problems,
                "vtep": st.vtep_note,
            });
            let _ = qdp_request(
                &c.socket,
                &json!({"command": "sync", "prefix": c.prefix, "report": report}),
            );
            return Err(e);
        }
    };
    if let Some((since, _)) = st.outage.take() {
        info!(
            "Neutron at {} answers again after {:.1} s",
            c.neutron_url,
            since.elapsed().as_secs_f64()
        );
    }
    st.neutron_ok_since.get_or_insert_with(Instant::now);
    st.failures = 0;
    if let Some(v) = &qdp.vtep {
        match neutron.register_vtep(&snapshot.ports, host, &c.underlay_network, v) {
            Ok(Some(what)) => {
                info!("{what}");
                st.vtep_note = Some(what);
            }
            Ok(None) => {}
            Err(e) => {
                warn!("registering this host's VTEP in Neutron: {e}");
                st.vtep_note = Some(format!("not registered: {e}"));
            }
        }
    }
    let local = Local {
        host,
        prefix: &c.prefix,
        vtep: qdp.vtep.as_ref(),
        ports: &qdp.ports,
        port_map: &c.port_map,
        rule_priority: c.rule_priority,
    };
    let plan = translate::plan(&snapshot, &local);
    if plan.problems != st.last_problems {
        for p in &plan.problems {
            warn!("not applied: {}: {}", p.object, p.reason);
        }
    }
    st.last_problems = plan.problems.clone();
    st.last_chains = serde_json::to_value(&plan.chains).unwrap_or(Value::Null);
    let report = json!({
        "host": host,
        "neutron": { "url": c.neutron_url, "state": "ok" },
        "chains": st.last_chains,
        "problems": plan.problems,
        "vtep": st.vtep_note,
        "applied_changes": st.applied,
    });
    let r = qdp_request(
        &c.socket,
        &json!({"command": "sync", "prefix": c.prefix, "units": plan.units, "report": report}),
    );
    match r {
        Ok(v) => {
            if v["changed"] == json!(true) {
                st.applied += 1;
                info!(
                    "qdp programmed: generation {}, {} objects ({} added, {} removed)",
                    v["generation"], v["objects"], v["added"], v["removed"]
                );
            }
            // Each refusal is logged once, not on every poll while it lasts.
            let refused = v["refused"].clone();
            if refused != st.last_refused {
                for x in refused.as_array().into_iter().flatten() {
                    warn!(
                        "qdp refused {}: {}",
                        x["unit"].as_str().unwrap_or(""),
                        x["error"].as_str().unwrap_or("")
                    );
                }
                st.last_refused = refused;
            }
            Ok(())
        }
        Err(e) => {
            st.failures += 1;
            warn!("qdp refused the sync: {e}");
            Err(e)
        }
    }
}
