//! qdp: a userspace packet dataplane on DPDK for service function chaining (RFC 7665, RFC 8300).
//!
//! Layers, bottom up; each module uses only those below it (`tests/layers.rs` checks it):
//! [`wire`] (zero-copy header views), [`packet`] (the buffer traits) and [`node`] (the graph's
//! nodes and counted reasons); [`dpdk`], the only module with `unsafe` code (EAL, mempools,
//! ports, bursts), and [`tables`] (the classifier and the compiled SFC tables); [`stats`] and
//! [`slowpath`]; [`config`] (the pipeline file, typed, and its checks); [`arp`] and [`compile`]
//! (configuration → tables), [`doctor`] (the machine checked against a pipeline) and [`systemd`]
//! (the service's notifications and unit); [`nodes`] (the packet-processing nodes) and [`save`]
//! (the running configuration written back to its file); [`shared`] (what workers and the
//! control thread share); [`worker`] (the poll loop) and [`change`] (the one change path);
//! [`host`] and [`control`] (the socket, who may use it for what, the files its commands may
//! touch, its commands, counters and metrics); [`runtime`], which ties them together for
//! `qdp run`.
#![deny(unsafe_code)]

pub mod agent;
pub mod arp;
pub mod change;
pub mod compile;
pub mod config;
pub mod control;
pub mod doctor;
pub mod dpdk;
pub mod host;
pub mod node;
pub mod nodes;
pub mod packet;
pub mod probe;
pub mod runtime;
pub mod save;
pub mod shared;
pub mod slowpath;
pub mod stats;
pub mod systemd;
pub mod tables;
#[cfg(test)]
mod testing;
pub mod traffic;
pub mod wire;
pub mod worker;

/// The built-in demo pipeline, run by `qdp run` without a file.
pub const DEMO_PIPELINE: &str = include_str!("../../pipelines/demo.toml");
