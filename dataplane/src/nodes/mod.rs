//! Packet-processing nodes. Each works on the packets of a burst, one at a time, and says what
//! becomes of each ([`Verdict`]); drops are counted by [`DropReason`], which names the
//! [`Node`](crate::node::Node) that dropped the packet. [`trace`] records the nodes a packet
//! passes when `qdpctl trace` asks.
//!
//! - [`sfc`]: service function chaining: ethernet input, the classifier, NSH encapsulation, the
//!   SFF and its transit fast path, built-in SFs, the SFC proxy, the end of the chain;
//! - [`xconnect`]: the VF cross-connect, with an optional MAC rewrite.
//!
//! [`DropReason`]: crate::stats::DropReason

pub mod sfc;
pub mod trace;
pub mod xconnect;

use crate::slowpath::SlowReason;
use crate::stats::DropReason;

/// What happens to a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Send it out of this port (index into the pipeline's ports).
    Tx(usize),
    /// Drop it, counted under this reason.
    Drop(DropReason),
    /// Hand it to the slow path (it starts at the header concerned).
    SlowPath(SlowReason),
}
