//! qdp: a userspace packet dataplane on DPDK for service function chaining (RFC 7665, RFC 8300).
//!
//! Layout: [`dpdk`] is the only module with `unsafe` code (EAL, mempools, ports, bursts);
//! [`wire`] holds zero-copy header views; [`tables`] the lookup tables (classifier); [`nodes`] the
//! packet-processing nodes; [`worker`] the poll loop; [`config`] the pipeline file schema and its
//! checks; [`stats`] the counters; [`control`] the control socket, commands and metrics;
//! [`runtime`] ties them together for `qdp run`.
#![deny(unsafe_code)]

pub mod arp;
pub mod change;
pub mod compile;
pub mod config;
pub mod control;
pub mod dpdk;
pub mod host;
pub mod node;
pub mod nodes;
pub mod packet;
pub mod runtime;
pub mod shared;
pub mod slowpath;
pub mod stats;
pub mod tables;
pub mod traffic;
pub mod wire;
pub mod worker;

/// The built-in demo pipeline, run by `qdp run` without a file.
pub const DEMO_PIPELINE: &str = include_str!("../../pipelines/demo.toml");
