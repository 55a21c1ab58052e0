//! Lookup tables consulted by the dataplane nodes on the fast path.
//!
//! Tables are built by the control thread from configuration and are immutable afterwards; a
//! worker reads them from the current snapshot and never locks or allocates while looking up
//! (per-worker caches are allocated once, at construction).
//!
//! * [`classifier`]: the SFC classifier's ordered rule table (RFC 7665 §2.2, §4.4), matched
//!   on the inner packet with tuple space search and an exact-match flow cache in front. Its
//!   parts (the rule types, the packed key, the flow cache) are private modules here, used
//!   through `classifier`'s re-exports;
//! * [`sfc`]: the compiled SFC tables: service paths and their hops, neighbours, SFs, exits;
//! * [`maglev`]: Maglev consistent hashing (weighted), for the `lb` SF's backends and SF groups;
//! * [`ids`]: the `ids` service function's signature engine: Suricata-style rules, a
//!   multi-pattern prefilter over the payload, the verdict and EVE JSON alerts; [`ids_sf`] the
//!   compiled `ids` SF with its alert queue; [`lb`]: the compiled `lb` SF;
//! * [`conn_table`]: a worker's fixed-size connection table (the `lb` SF, the stateful firewall).

#![deny(unsafe_code)]

pub mod classifier;
mod classifier_rule;
pub mod conn_table;
mod flow_cache;
pub mod ids;
pub mod ids_sf;
pub mod lb;
pub mod maglev;
mod packed_key;
pub mod sfc;
