//! Packet tracing (`qdpctl trace`): what each node did to a packet, recorded only for the packets
//! a trace asks for. The fast path runs with [`NoTrace`], whose records compile to nothing.

use crate::node::Node;

/// Records what each node did to a packet. [`NoTrace`] compiles to nothing.
pub trait Tracer {
    /// Whether anything is recorded; callers skip building the details when not.
    const ON: bool;
    /// One node's record.
    fn step(&mut self, node: Node, detail: std::fmt::Arguments<'_>);
}

/// The tracer of the fast path: records nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoTrace;

impl Tracer for NoTrace {
    const ON: bool = false;
    #[inline(always)]
    fn step(&mut self, _node: Node, _detail: std::fmt::Arguments<'_>) {}
}

/// A tracer that keeps every record, in order.
#[derive(Debug, Default, Clone)]
pub struct TraceLog(pub Vec<(Node, String)>);

impl Tracer for TraceLog {
    const ON: bool = true;
    fn step(&mut self, node: Node, detail: std::fmt::Arguments<'_>) {
        self.0.push((node, detail.to_string()));
    }
}
