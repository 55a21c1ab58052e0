//! The nodes of qdp's packet graph, by name, and the one declaration of every counted reason.
//!
//! A drop reason (and a slow-path reason) is declared with [`reasons!`] together with the node
//! that counts it, so `qdpctl show errors`, the Prometheus labels and `qdpctl trace` all name
//! nodes from this one enum, and a reason can only belong to a node that exists.

macro_rules! nodes {
    ($($(#[$doc:meta])* $variant:ident => $name:literal,)*) => {
        /// A node of the packet graph (VPP's sense: a step of the graph that a packet passes).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Node {
            $($(#[$doc])* $variant,)*
        }

        impl Node {
            /// Every node.
            pub const ALL: &'static [Node] = &[$(Node::$variant,)*];

            /// The node's name in stats, traces, JSON and Prometheus output.
            pub const fn name(self) -> &'static str {
                match self {
                    $(Node::$variant => $name,)*
                }
            }
        }
    };
}

nodes! {
    /// Demultiplexes a received frame: tunnel, proxied SF, host stack or plain traffic.
    EthernetInput => "ethernet-input",
    /// IPv4/IPv6 and UDP toward one of our VTEPs.
    IpInput => "ip-input",
    /// The VXLAN-GPE header of tunnel traffic to us.
    VxlanGpeInput => "vxlan-gpe-input",
    /// The NSH header of a packet from the network (RFC 8300 §2.2, §2.3).
    NshInput => "nsh-input",
    /// The SFF transit fast path: outer headers rewritten in place toward the next SFF.
    SffTransit => "sff-transit",
    /// The Service Function Forwarder: (SPI, SI) → next hop.
    Sff => "sff",
    /// An SF instance the SFF hands a packet to (built in, remote or proxied).
    Sf => "sf",
    /// The built-in firewall SF.
    SfFirewall => "sf-firewall",
    /// The built-in load balancer SF.
    SfLb => "sf-lb",
    /// The built-in signature inspection SF.
    SfIds => "sf-ids",
    /// The SFC classifier: plain traffic onto a path, out an exit, or dropped.
    Classifier => "classifier",
    /// The transport pushed toward a neighbour (NSH over Ethernet or VXLAN-GPE).
    NshEncap => "nsh-encap",
    /// NSH popped, the inner packet sent out of an exit.
    EndOfChain => "end-of-chain",
    /// The SFC proxy in front of an NSH-unaware SF (RFC 7665 §4.6).
    SfcProxy => "sfc-proxy",
    /// The VF cross-connect.
    Xconnect => "xconnect",
    /// Transmission on a port.
    InterfaceOutput => "interface-output",
    /// The hand-off to the main thread.
    SlowPath => "slow-path",
    /// Next hops found by ARP.
    Arp => "arp",
    /// qdp's own addresses (ARP and ICMP echo answered).
    HostStack => "host-stack",
}

/// Declares an enum of counted reasons, each with its name and the [`Node`] that counts it:
/// `Variant => "name" in NodeVariant,`. Gives `ALL`, `COUNT`, `name()` and `node()`.
macro_rules! reasons {
    ($(#[$meta:meta])* pub enum $ty:ident {
        $($(#[$doc:meta])* $variant:ident => $name:literal in $node:ident,)*
    }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[repr(u8)]
        pub enum $ty {
            $($(#[$doc])* $variant,)*
        }

        impl $ty {
            /// Every reason, in counter order.
            pub const ALL: &'static [$ty] = &[$($ty::$variant,)*];
            /// Number of reasons.
            pub const COUNT: usize = Self::ALL.len();

            /// The reason's name in stats, JSON and Prometheus output.
            pub const fn name(self) -> &'static str {
                match self {
                    $($ty::$variant => $name,)*
                }
            }

            /// The node that counts it.
            pub const fn node(self) -> $crate::node::Node {
                match self {
                    $($ty::$variant => $crate::node::Node::$node,)*
                }
            }
        }
    };
}
pub(crate) use reasons;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_names_are_unique_and_lowercase() {
        let mut names: Vec<_> = Node::ALL.iter().map(|n| n.name()).collect();
        assert!(names
            .iter()
            .all(|n| n.chars().all(|c| c.is_ascii_lowercase() || c == '-')));
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Node::ALL.len());
    }
}
