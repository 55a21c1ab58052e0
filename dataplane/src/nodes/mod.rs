//! Packet-processing nodes. Each works on whole bursts and reports drops by [`DropReason`].
//!
//! [`DropReason`]: crate::stats::DropReason

pub mod sfc;
pub mod xconnect;
