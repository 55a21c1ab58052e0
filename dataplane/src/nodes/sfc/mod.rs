//! Service function chaining nodes (RFC 7665, RFC 8300), run to completion per packet over the
//! compiled [`SfcTables`].
//!
//! Packet path, one file per node:
//! - [`input`] — **ethernet input** demultiplexes: frames back from a proxied SF (by port and
//!   VLAN), ARP and ICMP for our own addresses (to the slow path), NSH over Ethernet (0x894F),
//!   VXLAN-GPE (UDP 4790) addressed to one of our VTEPs, or plain traffic for the classifier.
//! - [`transit`] — the **SFF transit fast path**: a VXLAN-GPE/IPv4 packet like the one before,
//!   on a path whose next hop is another SFF over VXLAN-GPE/IPv4, has its outer headers rewritten
//!   in place; a per-worker memo of the last decision makes that one comparison. It also ends
//!   chains (outer headers and NSH popped). It forwards only what the general path would, byte
//!   for byte.
//! - [`classify_fast`] — the **classifier's fast path**: untagged IPv4 TCP and UDP classified
//!   through a per-worker table of decisions by flow, the path's headers pushed with one copy.
//! - [`sff`] — **NSH input** (RFC 8300 §2.2, §2.3): the header is checked; O-bit (OAM) packets
//!   go to the slow path, never forwarded; TTL is decremented before the lookup and what reaches
//!   0 is dropped; SI 0 is dropped. Then **SFF forwarding**: (SPI, SI) → an SF (a group's
//!   instance picked by a symmetric hash of the inner 5-tuple), a remote SFF, or the end of the
//!   chain.
//! - [`sf`] — the **built-in SFs** (`counter`, `firewall` with optional connection tracking),
//!   run in place; the packet goes back to the SFF with SI − 1. [`lb`] — the **load balancer**
//!   (Maglev, connection table, destination NAT); [`ids`] — **signature inspection** (EVE
//!   alerts, inline or tap).
//! - [`encap`] — **NSH encapsulation** toward a neighbour (NSH over Ethernet, VXLAN-GPE over
//!   IPv4 or IPv6) and the **end of the chain** (NSH popped, the inner packet out of an exit).
//! - [`classify`] — the **classifier** (RFC 7665 §4.4): rules on the inner packet pick a path
//!   (NSH pushed with the path's metadata), an exit, or drop.
//! - [`proxy`] — the **SFC proxy** (RFC 7665 §4.6) for NSH-unaware SFs.
//! - [`proxy_table`] — the proxy's per-flow NSH headers, one shard per worker, each written by
//!   its worker and read by all without a lock, so that a frame back from the SF finds its
//!   header whichever worker receives it.
//! - [`state`] — each worker's mutable state: flow caches, its side of the proxy's table, the
//!   transit memo, SF packet counts.
//!
//! MD type 1 context and MD type 2 TLVs pass through unchanged. Limits: single-segment buffers;
//! headers longer than the buffer's headroom (up to 302 bytes: 252 of NSH behind 50 of
//! VXLAN-GPE over IPv4) move the frame toward the end of its buffer, and only a first segment
//! with no room left there drops them as `no-headroom`; the proxy keeps
//! NSH headers of at most [`PROXY_HEADER_MAX`] bytes per flow, in a fixed-size shard per worker.
//! Every other piece of a worker's state is a cache (it only makes the same decision faster), so
//! any number of workers, whatever queue each flow's packets reach, forward alike.

mod classify;
mod classify_fast;
mod encap;
mod ids;
mod input;
mod lb;
mod proxy;
mod proxy_table;
mod sf;
mod sff;
mod state;
mod transit;

#[cfg(test)]
mod node_tests;
#[cfg(test)]
mod service_tests;

pub use proxy_table::{ProxyFlows, PROXY_HEADER_MAX};
pub use state::SfcState;

use super::trace::{NoTrace, Tracer};
use super::Verdict;
use crate::node::Node;
use crate::packet::PacketBuf;
pub use crate::tables::sfc::SfcTables;
use crate::wire::ethernet;

impl SfcTables {
    /// Runs one packet that arrived on `in_port` through ethernet input and everything after it.
    #[inline]
    pub fn process<P: PacketBuf>(&self, st: &mut SfcState, pkt: &mut P, in_port: usize) -> Verdict {
        self.process_with(st, pkt, in_port, &mut NoTrace)
    }

    /// [`process`](Self::process), recording each node the packet passes through in `tr`.
    #[inline]
    pub fn process_with<P: PacketBuf, T: Tracer>(
        &self,
        st: &mut SfcState,
        pkt: &mut P,
        in_port: usize,
        tr: &mut T,
    ) -> Verdict {
        if T::ON {
            let d = pkt.data();
            tr.step(
                Node::EthernetInput,
                format_args!(
                    "port {in_port}, {} bytes, ethertype {}",
                    d.len(),
                    d.get(ethernet::field::ETHERTYPE)
                        .map(|e| format!("0x{:02x}{:02x}", e[0], e[1]))
                        .unwrap_or_else(|| "none (runt)".into())
                ),
            );
        }
        if !T::ON {
            if let Some(v) = self.classify_fast(st, pkt, in_port) {
                return v;
            }
        }
        if T::ON {
            return match self.transit(st, pkt.data_mut(), in_port) {
                Some(port) => {
                    tr.step(
                        Node::SffTransit,
                        format_args!("outer headers rewritten in place toward the next SFF"),
                    );
                    Verdict::Tx(port)
                }
                None => self.process_general(st, pkt, in_port, tr),
            };
        }
        match self.transit_packet(st, pkt, in_port) {
            Some(v) => v,
            None => self.process_general(st, pkt, in_port, tr),
        }
    }
}
