//! `sync`: an agent hands qdp the whole set of SFC objects it owns (by name prefix) and, with
//! it or alone, a report of its own state; `show agent` shows the last report of each owner.
//!
//! qdp knows nothing of where the set comes from (the OpenStack agent reads Neutron): it
//! replaces the objects the prefix names with the set, through the one change path, all or
//! nothing; a set equal to what runs changes nothing and bumps no generation, so an agent may
//! send its whole state on every poll, and a qdp that restarted converges on the next one.

use std::sync::atomic::Ordering;
use std::time::Instant;

use serde_json::{json, Value};

use crate::change;
use crate::config::{check_prefix, OwnedDelta, OwnedSet, OwnedUnit};
use crate::shared::{AgentReport, Dataplane};

/// Largest report kept per owner (serialized JSON bytes).
pub const MAX_REPORT: usize = 16 * 1024;

/// Records one sync of `prefix` in the reports `show agent` reads.
fn note(dp: &Dataplane, prefix: &str, report: Option<Value>, outcome: Outcome<'_>) {
    let Ok(mut m) = dp.agents.lock() else { return };
    let r = m.entry(prefix.to_string()).or_insert_with(|| AgentReport {
        report: Value::Null,
        at: Instant::now(),
        syncs: 0,
        changes: 0,
        refused: 0,
        last_error: None,
    });
    if let Some(v) = report {
        r.report = v;
    }
    r.at = Instant::now();
    r.syncs += 1;
    match outcome {
        Outcome::ReportOnly => {}
        Outcome::Unchanged => r.last_error = None,
        Outcome::Changed => {
            r.changes += 1;
            r.last_error = None;
        }
        Outcome::Refused(e) => {
            r.refused += 1;
            r.last_error = Some(e.to_string());
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Outcome<'a> {
    /// A report without a set.
    ReportOnly,
    /// The set equals what runs.
    Unchanged,
    Changed,
    Refused(&'a str),
}

/// Runs `sync`: `units` (when given) together replace what `prefix` owns; `report` is kept for
/// `show agent`. Units that cannot go together with the rest of the pipeline are refused one by
/// one, each with the reason, and the others applied: one unit never blocks the others.
pub fn sync(
    dp: &Dataplane,
    prefix: &str,
    units: Option<Vec<OwnedUnit>>,
    report: Option<Value>,
) -> Result<Value, String> {
    check_prefix(prefix)?;
    if let Some(r) = &report {
        let len = serde_json::to_string(r)
            .map(|s| s.len())
            .unwrap_or(usize::MAX);
        if len > MAX_REPORT {
            return Err(format!(
                "report: {len} bytes, more than the {MAX_REPORT} qdp keeps"
            ));
        }
    }
    let generation = || dp.generation.load(Ordering::Acquire);
    let Some(units) = units else {
        note(dp, prefix, report, Outcome::ReportOnly);
        return Ok(json!({ "changed": false, "generation": generation() }));
    };
    // Every unit is first checked on its own terms (names, prefix, conflicts with the units
    // before it), then all together against the running pipeline; only when that fails is each
    // unit tried in turn on top of those accepted before it.
    let running = dp
        .pipeline
        .lock()
        .map_err(|_| "control state poisoned")?
        .clone();
    let mut refused: Vec<Value> = Vec::new();
    let mut candidates: Vec<&OwnedUnit> = Vec::new();
    let mut all = OwnedSet::default();
    for (i, u) in units.iter().enumerate() {
        let checked = running
            .clone()
            .replace_owned(prefix, &u.set)
            .map(|_| ())
            .map_err(|e| e.replace("set.", &format!("units[{i}].set.")))
            .and_then(|()| all.merged(&u.set));
        match checked {
            Ok(m) => {
                all = m;
                candidates.push(u);
            }
            Err(e) => refused.push(json!({ "unit": u.name, "error": e })),
        }
    }
    let fits = |set: &OwnedSet| -> Result<(), String> {
        let mut p = running.clone();
        p.replace_owned(prefix, set)?;
        crate::compile::check(&p).map_err(|e| e.to_string())
    };
    let accepted = if fits(&all).is_ok() {
        all
    } else {
        let mut acc = OwnedSet::default();
        for u in &candidates {
            let trial = acc.merged(&u.set).and_then(|t| fits(&t).map(|()| t));
            match trial {
                Ok(t) => acc = t,
                Err(e) => refused.push(json!({ "unit": u.name, "error": e })),
            }
        }
        acc
    };
    let first_refusal = refused.first().map(|r| {
        format!(
            "{}: {}",
            r["unit"].as_str().unwrap_or(""),
            r["error"].as_str().unwrap_or("")
        )
    });
    let outcome_of = |changed: bool| match &first_refusal {
        Some(e) => Outcome::Refused(e),
        None if changed => Outcome::Changed,
        None => Outcome::Unchanged,
    };
    if running.owned_set(prefix) == accepted {
        note(dp, prefix, report, outcome_of(false));
        return Ok(json!({
            "changed": false,
            "generation": generation(),
            "objects": accepted.len(),
            "refused": refused,
        }));
    }
    let mut delta = OwnedDelta::default();
    let r = change::change(dp, |p| {
        if let Some(d) = p.replace_owned(prefix, &accepted)? {
            delta = d;
        }
        Ok(())
    });
    match r {
        Ok(summary) => {
            note(dp, prefix, report, outcome_of(true));
            Ok(json!({
                "changed": true,
                "generation": summary.generation,
                "objects": accepted.len(),
                "added": delta.added,
                "removed": delta.removed,
                "refused": refused,
            }))
        }
        Err(e) => {
            let e = e.to_string();
            note(dp, prefix, report, Outcome::Refused(&e));
            Err(e)
        }
    }
}

/// `show agent`: every owner that synced, its last report, how long ago, and what it owns now.
pub fn show_agent(dp: &Dataplane) -> Result<Value, String> {
    let p = dp
        .pipeline
        .lock()
        .map_err(|_| "control state poisoned")?
        .clone();
    let m = dp.agents.lock().map_err(|_| "control state poisoned")?;
    Ok(Value::Array(
        m.iter()
            .map(|(prefix, r)| {
                let owned = p.owned_set(prefix);
                json!({
                    "prefix": prefix,
                    "last_sync_s": r.at.elapsed().as_secs_f64(),
                    "syncs": r.syncs,
                    "changes": r.changes,
                    "refused": r.refused,
                    "last_error": r.last_error,
                    "owned": {
                        "neighbors": owned.neighbors.len(),
                        "sfs": owned.sfs.len(),
                        "exits": owned.exits.len(),
                        "paths": owned.paths.len(),
                        "rules": owned.classifier.len(),
                    },
                    "report": r.report,
                })
            })
            .collect(),
    ))
}

/// `show vteps`: qdp's own tunnel endpoints (an agent registers them where others find them).
pub fn show_vteps(p: &crate::config::Pipeline) -> Value {
    Value::Array(
        p.vteps
            .iter()
            .map(|v| {
                json!({
                    "name": v.name,
                    "port": v.port,
                    "address": v.address.to_string(),
                    "mac": v.mac.to_string(),
                })
            })
            .collect(),
    )
}
