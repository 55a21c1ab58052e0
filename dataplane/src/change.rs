//! The one change path of the running configuration: validate → resolve → compile → swap.
//!
//! [`compile`] takes a pipeline through the first three steps (the `qdp check` rules, next hops
//! resolved with what ARP knows, table compilation); start-up installs its result, and
//! [`apply`] swaps it in for a running qdp (read-copy-update: workers take the new tables at
//! their next poll round, without a lock). Every control command that edits the configuration
//! goes through [`change`], the pipeline file through [`reload`], ARP's findings through
//! [`refresh`]: all or nothing, a refused change leaves everything as it was. [`save`] writes the
//! running configuration back to the pipeline file (`crate::save`); with `[control] autosave`,
//! every change that edits the configuration is saved before it is swapped in, and one that
//! cannot be saved is refused. Every outcome is logged (`tracing`): applied changes at info,
//! refused ones at warn.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;
use tracing::{info, warn};

use crate::arp::ArpTable;
use crate::compile::{sfc_tables, CompileError};
use crate::config::{ConfigErrors, Pipeline};
use crate::save::{SaveError, Saved};
use crate::shared::Dataplane;
use crate::tables::sfc::SfcTables;

/// Why a change was refused; nothing changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChangeError {
    /// The edit itself could not be made (e.g. it names a rule that does not exist).
    #[error("{0}")]
    Edit(String),
    /// The result breaks a `qdp check` rule.
    #[error("{0}")]
    Invalid(#[from] ConfigErrors),
    /// The tables could not be compiled.
    #[error("{0}")]
    Compile(#[from] CompileError),
    /// The running pipeline has no SFC sections to change.
    #[error(
        "the running pipeline does not chain service functions (it started without SFC \
         sections); restart qdp with them"
    )]
    NoSfc,
    /// A reload that would change what only a restart changes.
    #[error("{file}: {section} cannot change while qdp runs (restart qdp for that); nothing was changed")]
    Fixed { file: String, section: &'static str },
    /// The file to reload could not be read or parsed.
    #[error("{file}: {errors}")]
    File { file: String, errors: ConfigErrors },
    /// qdp runs the built-in demo pipeline and no file was named.
    #[error("file: qdp runs the built-in demo pipeline; name the file to load")]
    NoFile,
    /// The change could not be saved (autosave) or the save failed; nothing was changed.
    #[error("{0}")]
    Save(#[from] SaveError),
    /// A thread panicked while holding the control state.
    #[error("control state poisoned")]
    Poisoned,
}

/// What caused a change, for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cause {
    Control,
    Reload,
    Arp,
}

impl Cause {
    fn name(self) -> &'static str {
        match self {
            Cause::Control => "control change",
            Cause::Reload => "reload",
            Cause::Arp => "ARP refresh",
        }
    }
}

/// Logs a refused change; passes the result on.
fn logged<T>(cause: Cause, r: Result<T, ChangeError>) -> Result<T, ChangeError> {
    if let Err(e) = &r {
        warn!(
            cause = cause.name(),
            "{} refused, the running configuration is unchanged: {e}",
            cause.name()
        );
    }
    r
}

/// What a change did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChangeSummary {
    /// The tables' generation after the change.
    pub generation: u64,
    pub paths: usize,
    pub rules: usize,
    pub sfs: usize,
    pub neighbors: usize,
    /// The file the change was saved to (`[control] autosave`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub saved: Option<String>,
}

/// Validates `p`, resolves its next hops with what `arp` knows and compiles its SFC tables.
/// `port_macs` are the ports' MACs; `prev`, the running tables (SF counters carry over).
pub fn compile(
    p: &Pipeline,
    arp: &ArpTable,
    port_macs: &[[u8; 6]],
    prev: Option<&SfcTables>,
) -> Result<SfcTables, ChangeError> {
    p.validate()?;
    Ok(sfc_tables(&crate::arp::resolve(p, arp), port_macs, prev)?)
}

/// The one path for every change: edit a copy of the running pipeline, then [`apply`] it.
pub fn change(
    dp: &Dataplane,
    edit: impl FnOnce(&mut Pipeline) -> Result<(), String>,
) -> Result<ChangeSummary, ChangeError> {
    logged(Cause::Control, change_for(dp, Cause::Control, edit))
}

fn change_for(
    dp: &Dataplane,
    cause: Cause,
    edit: impl FnOnce(&mut Pipeline) -> Result<(), String>,
) -> Result<ChangeSummary, ChangeError> {
    let _serial = dp.change_lock.lock().map_err(|_| ChangeError::Poisoned)?;
    let mut p = dp
        .pipeline
        .lock()
        .map_err(|_| ChangeError::Poisoned)?
        .clone();
    if dp.sfc.load().is_none() {
        return Err(ChangeError::NoSfc);
    }
    edit(&mut p).map_err(ChangeError::Edit)?;
    apply_locked(dp, p, cause)
}

/// Makes `p` the running pipeline: [`compile`], swap, keep. The caller holds no change lock.
pub fn apply(dp: &Dataplane, p: Pipeline) -> Result<ChangeSummary, ChangeError> {
    let _serial = dp.change_lock.lock().map_err(|_| ChangeError::Poisoned)?;
    logged(Cause::Control, apply_locked(dp, p, Cause::Control))
}

/// [`compile`], save when autosave asks and the configuration changed, swap, keep.
fn apply_locked(dp: &Dataplane, p: Pipeline, cause: Cause) -> Result<ChangeSummary, ChangeError> {
    let macs: Vec<[u8; 6]> = dp.ports.iter().map(|x| x.mac).collect();
    let old = dp.sfc.load_full();
    let tables = {
        let mut arp = dp.arp.lock().map_err(|_| ChangeError::Poisoned)?;
        arp.sync(&p, Instant::now());
        compile(&p, &arp, &macs, old.as_deref())?
    };
    let edited = *dp.pipeline.lock().map_err(|_| ChangeError::Poisoned)? != p;
    let saved = match &dp.source {
        Some(file) if edited && p.control.autosave => Some(crate::save::save(file, &p)?.file),
        _ => None,
    };
    dp.swap_sfc(Arc::new(tables));
    let summary = ChangeSummary {
        generation: dp.generation.load(Ordering::Acquire),
        paths: p.paths.len(),
        rules: p.classifier.len(),
        sfs: p.sfs.len(),
        neighbors: p.neighbors.len(),
        saved,
    };
    *dp.pipeline.lock().map_err(|_| ChangeError::Poisoned)? = p;
    info!(
        cause = cause.name(),
        generation = summary.generation,
        paths = summary.paths,
        rules = summary.rules,
        sfs = summary.sfs,
        neighbors = summary.neighbors,
        saved = summary.saved.as_deref(),
        "{}: tables swapped in, generation {}",
        cause.name(),
        summary.generation
    );
    Ok(summary)
}

/// Rebuilds the SFC tables from the running pipeline, after what ARP knows changed.
pub fn refresh(dp: &Dataplane) -> Result<ChangeSummary, ChangeError> {
    logged(Cause::Arp, change_for(dp, Cause::Arp, |_| Ok(())))
}

/// Writes the running configuration back to the pipeline file qdp runs (`crate::save`): the only
/// file it writes, so the control socket cannot make qdp write anywhere else.
pub fn save(dp: &Dataplane) -> Result<Saved, ChangeError> {
    let r = (|| {
        let _serial = dp.change_lock.lock().map_err(|_| ChangeError::Poisoned)?;
        let file = dp.source.as_deref().ok_or(SaveError::NoFile)?;
        let p = dp
            .pipeline
            .lock()
            .map_err(|_| ChangeError::Poisoned)?
            .clone();
        Ok(crate::save::save(file, &p)?)
    })();
    match &r {
        Ok(s) => info!(
            file = %s.file,
            written = s.written,
            "running configuration saved to {}{}",
            s.file,
            if s.written { "" } else { " (it held it already)" }
        ),
        Err(e) => warn!("save failed: {e}"),
    }
    r
}

/// What [`reload`] did: a change, or nothing when the running pipeline has no SFC sections and
/// the file is the same.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Reloaded {
    Changed(ChangeSummary),
    Unchanged { unchanged: bool },
}

/// Reloads the pipeline file (`file`, else the one qdp runs): only the SFC sections may differ
/// from the running pipeline.
pub fn reload(dp: &Dataplane, file: Option<&Path>) -> Result<Reloaded, ChangeError> {
    let r = reload_file(dp, file);
    if let Ok(Reloaded::Unchanged { .. }) = &r {
        info!("reload: the file holds the running configuration; nothing to swap");
    }
    logged(Cause::Reload, r)
}

fn reload_file(dp: &Dataplane, file: Option<&Path>) -> Result<Reloaded, ChangeError> {
    let file: PathBuf = file
        .map(Path::to_path_buf)
        .or_else(|| dp.source.clone())
        .ok_or(ChangeError::NoFile)?;
    let shown = file.display().to_string();
    let new = Pipeline::load(&file).map_err(|errors| ChangeError::File {
        file: shown.clone(),
        errors,
    })?;
    let _serial = dp.change_lock.lock().map_err(|_| ChangeError::Poisoned)?;
    let cur = dp
        .pipeline
        .lock()
        .map_err(|_| ChangeError::Poisoned)?
        .clone();
    let fixed: [(&'static str, bool); 9] = [
        ("name", cur.name == new.name),
        ("eal", cur.eal == new.eal),
        ("mempool", cur.mempool == new.mempool),
        ("ports", cur.ports == new.ports),
        ("workers", cur.workers == new.workers),
        ("cross_connect", cur.cross_connect == new.cross_connect),
        ("stats", cur.stats == new.stats),
        ("control", cur.control == new.control),
        ("sfc sections", cur.has_sfc() || !new.has_sfc()),
    ];
    if let Some((section, _)) = fixed.iter().find(|(_, same)| !same) {
        return Err(ChangeError::Fixed {
            file: shown,
            section,
        });
    }
    if dp.sfc.load().is_none() {
        // Nothing to swap: the file is the same as the running one.
        return Ok(Reloaded::Unchanged { unchanged: true });
    }
    apply_locked(dp, new, Cause::Reload).map(Reloaded::Changed)
}
