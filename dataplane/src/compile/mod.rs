//! Table compilation: a checked pipeline file becomes the immutable tables the nodes run on.
//!
//! Two steps, each its own file: [`resolve`] turns the file's SFC sections into typed values
//! where every reference is an index and every choice an enum (an SF is one kind with exactly
//! that kind's settings, a hop has exactly one target), and [`sfc`] builds the
//! [`SfcTables`](crate::tables::sfc::SfcTables) from them (outer header templates, the hop
//! arena, the classifier with the reverse rules of symmetric paths), with [`service`] building
//! the built-in SFs' own tables (Maglev tables, the IDS engine). Errors are one
//! [`CompileError`], each naming the field that caused it, so that `qdp check` files it there.
//!
//! The change path (`crate::change`) calls this on every change: start-up, control commands,
//! reload and ARP refresh.

pub mod resolve;
mod service;
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
    /// A section whose shape its kind does not allow (a remote SF without a neighbour, a hop
    /// with two targets); a file `qdp check` accepted never has one.
    #[error("{field}: {reason}")]
    Shape { field: String, reason: &'static str },
    /// VXLAN-GPE toward an address of a family no VTEP on the neighbour's port has.
    #[error("{field}: VXLAN-GPE to {address} needs a VTEP of the same address family on its port")]
    NoVtep { field: String, address: IpAddr },
    /// The NSH header a path's classifier pushes is not a valid one.
    #[error("{field}: NSH header: {reason}")]
    NshHeader { field: String, reason: String },
    /// A rule set the classifier refuses (e.g. two rules that shadow each other exactly).
    #[error("{field}: {reason}")]
    Ids { field: String, reason: String },
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
            | CompileError::Shape { field, .. }
            | CompileError::NoVtep { field, .. }
            | CompileError::NshHeader { field, .. }
            | CompileError::Ids { field, .. }
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

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"
[[exits]]
name = "out"
port = "net"
[[neighbors]]
name = "n"
port = "net"
mac = "02:00:00:00:00:03"
[[sfs]]
name = "ids"
kind = "remote"
neighbor = "n"
[[paths]]
name = "p"
spi = 100
hops = [{ si = 255, sf = "fw" }, { si = 254, sf = "ids" }, { si = 253, end = "out" }]
"#;

    fn errors(extra: &str) -> Vec<ConfigError> {
        let p = crate::testing::null_ports_pipeline(&["net"], &format!("{BASE}{extra}"));
        check(&p).unwrap_err().0
    }

    #[test]
    fn compile_errors_are_filed_under_the_field_that_caused_them() {
        let firewall = errors(
            r#"
[[sfs]]
name = "fw"
kind = "firewall"
rules = [{ dst_ports = 23, action = "deny" }, { dst_ports = 23, action = "allow" }]
"#,
        );
        assert_eq!(firewall.len(), 1);
        assert_eq!(firewall[0].field, "sfs[1].rules");
        let classifier = errors(
            r#"
[[sfs]]
name = "fw"
kind = "firewall"
[[classifier]]
path = "p"
[[classifier]]
path = "p"
"#,
        );
        assert_eq!(classifier[0].field, "classifier");
    }

    #[test]
    fn a_shape_the_kinds_do_not_allow_cannot_be_resolved() {
        let mut p = crate::testing::null_ports_pipeline(
            &["net"],
            &format!("{BASE}[[sfs]]\nname = \"fw\"\nkind = \"firewall\"\n"),
        );
        p.sfs[0].neighbor = None;
        assert_eq!(
            resolve::SfcSpec::resolve(&p).unwrap_err(),
            CompileError::Shape {
                field: "sfs[0].neighbor".into(),
                reason: "a remote SF needs neighbor",
            }
        );
        p.sfs[0].neighbor = Some("n".into());
        p.paths[0].hops[2].sff = Some("n".into());
        let e = resolve::SfcSpec::resolve(&p).unwrap_err();
        assert_eq!(e.field(), "paths[0].hops[2].si");
        p.paths[0].hops[2].sff = None;
        p.paths[0].hops[1].sf = Some("nothing".into());
        assert_eq!(
            resolve::SfcSpec::resolve(&p).unwrap_err().to_string(),
            "paths[0].hops[1].sf: names no SF called 'nothing'"
        );
        assert!(resolve::SfcSpec::resolve(&{
            p.paths[0].hops[1].sf = Some("ids".into());
            p
        })
        .is_ok());
    }
}
