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
//! * [`sfc`]: the compiled SFC tables: service paths and their hops, neighbours, SFs, exits.

#![deny(unsafe_code)]

pub mod classifier;
mod classifier_rule;
mod flow_cache;
mod packed_key;
pub mod sfc;
