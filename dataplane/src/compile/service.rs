//! The built-in SFs' own tables: an `lb` SF's backends and Maglev table, an SF group's Maglev
//! table over its instances that are up, and an `ids` SF's signature engine (built from its
//! rules file, or kept from the running tables when the file and its variables are the same).

use std::collections::HashMap;
use std::sync::Arc;

use super::resolve::{IdsSpec, LbSpec, SfcSpec};
use super::CompileError;
use crate::tables::ids::{parse_rules, IdsEngine, RuleErrorKind};
use crate::tables::ids_sf::{AlertQueue, IdsSf, IdsSource};
use crate::tables::lb::{backend_id, Lb, LbBackend};
use crate::tables::maglev::{default_size, Maglev};
use crate::tables::sfc::{SfImpl, SfcTables};

/// An `lb` SF's tables.
pub fn lb(s: &LbSpec) -> Lb {
    let backends = s
        .backends
        .iter()
        .map(|b| LbBackend {
            name: b.name.clone(),
            id: backend_id(&b.name),
            addr: b.address.octets(),
            port: b.port,
            mac: b.mac.map(|m| m.0),
            weight: b.weight,
            down: b.down,
        })
        .collect();
    let mut lb = Lb::new(
        s.vip.octets(),
        s.protocol,
        s.ports,
        s.nat,
        backends,
        s.table_size,
        s.connections,
    );
    lb.source_hash = s.source_hash;
    lb
}

/// A group's Maglev table over its members (indices into `s.sfs`) that are up, by weight; its
/// entries index `members`.
pub fn group_table(s: &SfcSpec, members: &[usize]) -> Maglev {
    Maglev::new(
        members.iter().map(|&m| {
            let sf = &s.sfs[m];
            (sf.name.as_str(), if sf.down { 0 } else { sf.weight })
        }),
        default_size(members.len()),
    )
}

/// An `ids` SF (`sfs[i]`, called `name`): its engine, reused from `prev` when built from the
/// same rules; its alert queue, kept from `prev` when the SF keeps its name.
pub fn ids(
    i: usize,
    name: &str,
    spec: &IdsSpec,
    s: &SfcSpec,
    prev: Option<&SfcTables>,
) -> Result<IdsSf, CompileError> {
    let source = IdsSource {
        rules_file: spec.rules_file.clone(),
        text: spec.text.clone(),
        vars: spec.vars.clone(),
    };
    let old = prev
        .and_then(|t| t.sfs.iter().find(|x| x.name == name))
        .and_then(|x| match &x.imp {
            SfImpl::Ids(o) => Some(o),
            _ => None,
        });
    let (engine, skipped) = match old.filter(|o| o.source == source) {
        Some(o) if !spec.refuse_unsupported || o.skipped.is_empty() => {
            (Arc::clone(&o.engine), o.skipped.clone())
        }
        _ => {
            let vars: HashMap<String, String> = spec.vars.clone().into_iter().collect();
            let (rules, errors) = parse_rules(&spec.text, &vars);
            let refused: Vec<String> = errors
                .iter()
                .filter(|e| e.kind == RuleErrorKind::Syntax || spec.refuse_unsupported)
                .map(|e| e.to_string())
                .collect();
            if !refused.is_empty() {
                let more = if refused.len() > 5 {
                    format!(" (and {} more)", refused.len() - 5)
                } else {
                    String::new()
                };
                return Err(CompileError::Ids {
                    field: format!("sfs[{i}].ids.rules_file"),
                    reason: format!(
                        "{}: {} rule(s) refused: {}{more}",
                        spec.rules_file.display(),
                        refused.len(),
                        refused[..refused.len().min(5)].join("; ")
                    ),
                });
            }
            let skipped: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
            for e in &skipped {
                tracing::warn!("ids SF {name}: {}: skipped: {e}", spec.rules_file.display());
            }
            let engine = IdsEngine::new(rules).map_err(|e| CompileError::Ids {
                field: format!("sfs[{i}].ids.rules_file"),
                reason: format!("{}: {e}", spec.rules_file.display()),
            })?;
            (Arc::new(engine), skipped)
        }
    };
    Ok(IdsSf {
        engine,
        source,
        inline: spec.inline,
        alerts: old
            .map(|o| Arc::clone(&o.alerts))
            .unwrap_or_else(AlertQueue::new),
        eve_log: spec.eve_log.clone(),
        skipped,
        directions: s
            .paths
            .iter()
            .filter_map(|p| p.reverse.map(|r| (p.spi, s.paths[r].spi)))
            .flat_map(|(fwd, rev)| [(fwd, true), (rev, false)])
            .collect(),
    })
}
