//! Table compilation: a checked pipeline file becomes the immutable tables the nodes run on.
//!
//! Two steps, each its own file: [`resolve`] turns the file's SFC sections into typed values
//! where every reference is an index and every choice an enum (an SF is one kind with exactly
//! that kind's settings, a hop has exactly one target), and [`sfc`] builds the
//! [`SfcTables`](crate::tables::sfc::SfcTables) from them (outer header templates, the hop
//! arena, the classifier with the reverse rules of symmetric paths). Errors are one
//! [`CompileError`], each naming the field that caused it, so that `qdp check` files it there.
//!
//! The change path (`crate::change`) calls this on every change: start-up, control commands,
//! reload and ARP refresh.

pub mod resolve;
pub mod sfc;

use std::net::IpAddr;

use crate::config::{ConfigError, ConfigErrors, Pipeline};
use crate::tables::classifier::ClassifierError;

pub use sfc::sfc_tables;

/// Why a pipeline's tables could not be compiled. Each names the field of the pipeline file
/// that caused it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompileError {
    /// A reference to something the file does not define (a file `qdp check` accepted never
    /// has one).
    #[error("{field}: names no {what} called '{name}'")]
    Unknown {
        field: String,
        what: &'static str,
        name: String,
    },
    /// VXLAN-GPE toward an address of a family no VTEP on the neighbour's port has.
    #[error("{field}: VXLAN-GPE to {address} needs a VTEP of the same address family on its port")]
    NoVtep { field: String, address: IpAddr },
    /// The NSH header a path's classifier pushes is not a valid one.
    #[error("{field}: NSH header: {reason}")]
    NshHeader { field: String, reason: String },
    /// A rule set the classifier refuses (e.g. two rules that shadow each other exactly).
    #[error("{field}: {source}")]
    Rules {
        field: String,
        source: ClassifierError,
    },
}

impl CompileError {
    /// The field of the pipeline file the error is about.
    pub fn field(&self) -> &str {
        match self {
            CompileError::Unknown { field, .. }
            | CompileError::NoVtep { field, .. }
            | CompileError::NshHeader { field, .. }
            | CompileError::Rules { field, .. } => field,
        }
    }

    /// The error as `qdp check` reports it: under its field.
    pub fn to_config_error(&self) -> ConfigError {
        let text = self.to_string();
        let reason = text
            .strip_prefix(self.field())
            .and_then(|r| r.strip_prefix(": "))
            .unwrap_or(&text);
        ConfigError::new(self.field(), reason)
    }
}

/// Everything `qdp check` verifies of a pipeline: the file's own checks, then compiling its
/// tables (what only compiling finds, e.g. classifier rules that shadow each other exactly).
pub fn check(p: &Pipeline) -> Result<(), ConfigErrors> {
    p.validate()?;
    if p.has_sfc() {
        sfc_tables(p, &[], None).map_err(|e| ConfigErrors(vec![e.to_config_error()]))?;
    }
    Ok(())
}
