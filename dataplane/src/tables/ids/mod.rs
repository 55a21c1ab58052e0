//! The signature engine of the built-in `ids` service function: Suricata-compatible rules
//! matched against each packet's payload, with Suricata-compatible alert output.
//!
//! The control thread reads a rules file with [`parse_rules`] (which returns every rule it
//! understood and one [`RuleError`] per rule it did not, leaving the policy to the caller) and
//! compiles the rules into an [`IdsEngine`], immutable and shared by the workers. A worker keeps
//! one [`Scratch`] and calls [`IdsEngine::inspect`] per packet, which finds the candidate rules
//! with a multi-pattern (Aho-Corasick) prefilter over the payload, verifies only those, and
//! returns a [`Verdict`] in Suricata's action order (pass, then drop, then alert). Alerts are
//! written as EVE JSON lines by [`eve_line`], off the fast path.
//!
//! * [`rules`]: the rule language subset and its parser;
//! * [`header`]: the rule header's address and port expressions;
//! * [`engine`]: the prefilter, the verification of one rule, the verdict;
//! * [`eve`]: the EVE JSON alert record.

pub mod engine;
pub mod eve;
pub mod header;
pub mod rules;

pub use engine::{IdsBuildError, IdsEngine, Inspect, Scratch, Verdict, MAX_INSPECTION_STEPS};
pub use eve::{eve_line, AlertEvent};
pub use rules::{parse_rules, Action, Rule, RuleError, RuleErrorKind, RuleProtocol};
