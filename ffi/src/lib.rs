//! Raw bindings to the system's DPDK (pkg-config `libdpdk`, >= 22.11), generated at build time, plus
//! `_`-prefixed exported wrappers (see `shim.c`) for the `static inline` functions qdp calls on the
//! fast path. This crate holds no logic; the safe layer lives in `qdp::dpdk`.
#![allow(
    non_upper_case_globals,
    non_camel_case_types,
    non_snake_case,
    dead_code
)]
#![allow(
    clippy::all,
    clippy::undocumented_unsafe_blocks,
    clippy::missing_safety_doc
)]

include!(concat!(env!("OUT_DIR"), "/bindings.rs"));
