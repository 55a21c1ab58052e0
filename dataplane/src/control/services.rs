//! The control socket's view of the built-in SFs and health: `show lb` (each `lb` SF's VIP and
//! its backends: weight, state, Maglev share, probe), `show probes` (every probe target),
//! `show ids` (rules loaded and skipped, alerts written and lost), and `set backend SF NAME
//! weight=N|up|down`, a change of the pipeline through the one change path like every other.

use std::sync::atomic::Ordering::Relaxed;

use serde_json::{json, Value};

use crate::shared::Dataplane;
use crate::tables::sfc::SfImpl;

/// `show lb`.
pub fn show_lb(dp: &Dataplane) -> Result<Value, String> {
    let Some(t) = dp.sfc.load_full() else {
        return Ok(json!([]));
    };
    let arp = dp.arp.lock().map_err(|_| "control state poisoned")?;
    let mut out = Vec::new();
    for sf in &t.sfs {
        let SfImpl::Lb(lb) = &sf.imp else { continue };
        let shares = lb.maglev.shares(lb.backends.len());
        let backends: Vec<Value> = lb
            .backends
            .iter()
            .zip(&shares)
            .map(|(b, share)| {
                let state = if b.down {
                    "down"
                } else if b.mac.is_none() {
                    "unresolved"
                } else if b.weight == 0 {
                    "drained"
                } else {
                    "up"
                };
                let owner = format!("{}/{}", sf.name, b.name);
                let probe = arp.probes.targets().iter().find(|p| p.owner == owner);
                json!({
                    "name": b.name,
                    "address": std::net::Ipv4Addr::from(b.addr).to_string(),
                    "port": b.port,
                    "weight": b.weight,
                    "state": state,
                    "table_entries": share,
                    "probe": probe.map(|p| if p.up { "up" } else { "down" }),
                })
            })
            .collect();
        out.push(json!({
            "name": sf.name,
            "vip": std::net::Ipv4Addr::from(lb.vip).to_string(),
            "ports": format!("{}-{}", lb.ports.lo, lb.ports.hi),
            "nat": lb.nat,
            "table_size": lb.maglev.size(),
            "backends": backends,
        }));
    }
    Ok(Value::Array(out))
}

/// `show probes`.
pub fn show_probes(dp: &Dataplane) -> Result<Value, String> {
    let arp = dp.arp.lock().map_err(|_| "control state poisoned")?;
    Ok(Value::Array(
        arp.probes
            .targets()
            .iter()
            .map(|t| {
                let mut v = serde_json::to_value(t).unwrap_or(Value::Null);
                if let Some(o) = v.as_object_mut() {
                    o.insert("state".into(), json!(if t.up { "up" } else { "down" }));
                    o.insert(
                        "port".into(),
                        json!(dp.ports.get(t.key.port).map(|p| p.name.clone())),
                    );
                    o.remove("up");
                }
                v
            })
            .collect(),
    ))
}

/// `show ids`.
pub fn show_ids(dp: &Dataplane) -> Result<Value, String> {
    let Some(t) = dp.sfc.load_full() else {
        return Ok(json!([]));
    };
    Ok(Value::Array(
        t.sfs
            .iter()
            .filter_map(|sf| match &sf.imp {
                SfImpl::Ids(ids) => Some(json!({
                    "name": sf.name,
                    "mode": if ids.inline { "inline" } else { "tap" },
                    "rules_file": ids.source.rules_file.display().to_string(),
                    "rules": ids.engine.rules().len(),
                    "skipped": ids.skipped,
                    "eve_log": ids.eve_log.display().to_string(),
                    "alerts_written": ids.alerts.written.load(Relaxed),
                    "alerts_lost": ids.alerts.lost.load(Relaxed),
                    "inspection_limited": ids.alerts.limited.load(Relaxed),
                })),
                _ => None,
            })
            .collect(),
    ))
}

/// `set backend SF NAME`: a weight, or down (`true`) / up.
pub fn set_backend(
    dp: &Dataplane,
    sf: &str,
    backend: &str,
    weight: Option<u32>,
    down: Option<bool>,
) -> Result<Value, String> {
    if weight.is_none() && down.is_none() {
        return Err("weight or state: give a weight, or up or down".into());
    }
    let r = crate::change::change(dp, |p| {
        let s = p
            .sfs
            .iter_mut()
            .find(|x| x.name == sf)
            .ok_or_else(|| format!("sf: no SF called '{sf}'"))?;
        let lb =
            s.lb.as_mut()
                .ok_or_else(|| format!("sf: '{sf}' is not an lb SF"))?;
        let b = lb
            .backends
            .iter_mut()
            .find(|b| b.name == backend)
            .ok_or_else(|| format!("backend: '{sf}' has no backend called '{backend}'"))?;
        if let Some(w) = weight {
            b.weight = w;
        }
        if let Some(d) = down {
            b.down = d;
        }
        Ok(())
    });
    r.map_err(|e| e.to_string())
        .and_then(|v| serde_json::to_value(v).map_err(|e| e.to_string()))
}
