//! The service function chaining part of a pipeline file (RFC 7665, RFC 8300): our VTEPs,
//! neighbours, service functions, exits, service paths and classifier rules; and the checks of the
//! paths that `qdp check` runs before anything starts (every SI reachable from a classifier rule has
//! a next hop, no forwarding loop, every path ends, SI never underflows, frames of the inner MTU fit
//! the underlay MTU once encapsulated).

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};

use serde::{Deserialize, Serialize};

use super::{
    de_opt_mac, FirewallDefault, HexBytes, Pipeline, PortRange, Prefix, Protocol, RuleActionWord,
};
use crate::wire::EthernetAddress;

/// Global SFC settings.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SfcSettings {
    /// NSH TTL the classifier sets (1..=63).
    #[serde(default = "default_ttl")]
    pub ttl: u8,
    /// Largest inner IP packet the chains must carry (checked against every underlay MTU).
    #[serde(default = "default_inner_mtu")]
    pub inner_mtu: u16,
    /// What happens to traffic no classifier rule matches: `"drop"` or the name of an exit.
    #[serde(default = "default_unmatched")]
    pub unmatched: String,
    /// Entries of each worker's classifier flow cache.
    #[serde(default = "default_flow_cache")]
    pub flow_cache: usize,
    /// Flows each worker remembers for the SFC proxy.
    #[serde(default = "default_proxy_flows")]
    pub proxy_flows: usize,
    /// How often each address qdp resolves by ARP (neighbours without `mac`, exits with
    /// `gateway`, proxied SFs with `address`) is asked for, in milliseconds.
    #[serde(default = "default_arp_interval_ms")]
    pub arp_interval_ms: u32,
    /// Requests in a row an address may leave unanswered before it counts as unreachable.
    #[serde(default = "default_arp_misses")]
    pub arp_misses: u32,
}

impl Default for SfcSettings {
    fn default() -> Self {
        SfcSettings {
            ttl: default_ttl(),
            inner_mtu: default_inner_mtu(),
            unmatched: default_unmatched(),
            flow_cache: default_flow_cache(),
            proxy_flows: default_proxy_flows(),
            arp_interval_ms: default_arp_interval_ms(),
            arp_misses: default_arp_misses(),
        }
    }
}

fn default_ttl() -> u8 {
    crate::wire::nsh::DEFAULT_TTL
}
fn default_inner_mtu() -> u16 {
    1400
}
fn default_unmatched() -> String {
    "drop".to_string()
}
fn default_arp_interval_ms() -> u32 {
    100
}
fn default_arp_misses() -> u32 {
    3
}
fn default_flow_cache() -> usize {
    16384
}
fn default_proxy_flows() -> usize {
    16384
}

/// One of our own tunnel endpoints: VXLAN-GPE addressed to it is accepted by the SFF.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct VtepConfig {
    pub name: String,
    pub port: String,
    pub address: IpAddr,
    #[serde(deserialize_with = "de_mac", serialize_with = "ser_mac")]
    pub mac: EthernetAddress,
}

/// A neighbour: a remote SFF or an NSH-aware SF, reached over VXLAN-GPE (when it has an
/// address) or NSH over Ethernet (when it has none).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NeighborConfig {
    pub name: String,
    pub port: String,
    /// Its MAC; when absent, found by ARP for its (IPv4) address, which is then also watched:
    /// a neighbour that stops answering is unreachable and the SFs behind it are down.
    #[serde(
        default,
        deserialize_with = "de_opt_mac",
        serialize_with = "ser_opt_mac"
    )]
    pub mac: Option<EthernetAddress>,
    pub address: Option<IpAddr>,
    #[serde(default)]
    pub vni: u32,
}

/// What a service function is.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum SfKind {
    /// Built in: counts packets, decrements SI.
    Counter,
    /// Built in: stateless allow/deny rules on the inner packet, then SI − 1.
    Firewall,
    /// An NSH-aware SF behind a neighbour.
    Remote,
    /// An NSH-unaware SF behind the SFC proxy, on a port (and VLAN).
    Proxy,
    /// Several instances of one SF; flows are spread over the instances that are up by Maglev
    /// consistent hashing of the inner 5-tuple, the same for both directions, by `weight`.
    Group,
    /// Built in: a load balancer: flows to a virtual address spread over backends by Maglev
    /// consistent hashing, remembered per connection, delivered by destination NAT (or without).
    Lb,
    /// Built in: signature inspection of the inner packet with Suricata/Snort rules; alerts as
    /// EVE JSON; inline (drop rules drop) or tap (alerts only).
    Ids,
}

/// A field of the inner packet a group may pick its instance by.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum LbField {
    IpSrc,
    IpDst,
    TcpSrc,
    TcpDst,
    UdpSrc,
    UdpDst,
}

impl LbField {
    /// The field's bit for the fast path.
    pub fn bit(self) -> crate::wire::flow::LbFields {
        use crate::wire::flow::LbFields as F;
        match self {
            LbField::IpSrc => F::IP_SRC,
            LbField::IpDst => F::IP_DST,
            LbField::TcpSrc => F::TCP_SRC,
            LbField::TcpDst => F::TCP_DST,
            LbField::UdpSrc => F::UDP_SRC,
            LbField::UdpDst => F::UDP_DST,
        }
    }
}

/// A service function (instance) or a group of instances.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SfConfig {
    pub name: String,
    pub kind: SfKind,
    /// `remote`: the neighbour it sits behind.
    pub neighbor: Option<String>,
    /// `proxy`: the port the SF is attached to; `lb`: the port its backends are on.
    pub port: Option<String>,
    /// `proxy`: the VLAN frames to and from the SF carry (untagged when absent).
    pub vlan: Option<u16>,
    /// `proxy`: destination MAC of frames sent to the SF (the inner frame's is kept when absent).
    #[serde(
        default,
        deserialize_with = "de_opt_mac",
        serialize_with = "ser_opt_mac"
    )]
    pub mac: Option<EthernetAddress>,
    /// `proxy`: the SF's IPv4 address on its link, instead of `mac`: its MAC is found by ARP and
    /// the SF is watched; one that stops answering is down until it answers again.
    pub address: Option<Ipv4Addr>,
    /// `group`: the instances, names of other (non-group) SFs.
    #[serde(default)]
    pub members: Vec<String>,
    /// `group`: the inner fields an instance is picked by (networking-sfc's `lb_fields`):
    /// `ip_src`, `ip_dst`, `tcp_src`, `tcp_dst`, `udp_src`, `udp_dst`. When empty, the whole
    /// 5-tuple, hashed symmetrically. On a path named as another's `reverse`, source and
    /// destination fields are read from the other end, so both directions pick one instance.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lb_fields: Vec<LbField>,
    /// `firewall`: the rules, first match (by priority) wins.
    #[serde(default)]
    pub rules: Vec<RuleConfig>,
    /// `firewall`: what happens when no rule matches: `"allow"` (default) or `"deny"`.
    pub default: Option<FirewallDefault>,
    /// An instance marked down is skipped by its groups.
    #[serde(default)]
    pub down: bool,
    /// An instance's share of its groups' flows (default 1; 0: no new flows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<u32>,
    /// `firewall`: connection tracking: replies of the connections its rules let through are
    /// allowed, whatever the rules say; everything else is judged by the rules.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stateful: bool,
    /// `firewall` (stateful) and `lb`: connections each worker remembers (default 65536).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connections: Option<usize>,
    /// `lb`: the virtual address and its backends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lb: Option<super::LbSettings>,
    /// `ids`: the rules and where alerts go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ids: Option<super::IdsSettings>,
    /// `proxy` with `address`, and `lb` (each backend): an active health probe; a target that
    /// fails `fall` probes in a row is down until it passes `rise` in a row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe: Option<super::ProbeConfig>,
}

/// Where plain packets leave: a port and the L2 header they get.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ExitConfig {
    pub name: String,
    pub port: String,
    #[serde(
        default,
        deserialize_with = "de_opt_mac",
        serialize_with = "ser_opt_mac"
    )]
    pub dst_mac: Option<EthernetAddress>,
    #[serde(
        default,
        deserialize_with = "de_opt_mac",
        serialize_with = "ser_opt_mac"
    )]
    pub src_mac: Option<EthernetAddress>,
    /// Instead of `dst_mac`: the IPv4 next hop (a host or router on the port's link) whose MAC,
    /// found by ARP, the frames get.
    pub gateway: Option<Ipv4Addr>,
}

/// An MD type 2 context header.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TlvConfig {
    pub class: u16,
    #[serde(rename = "type")]
    pub tlv_type: u8,
    /// The value in hex (at most 127 bytes).
    pub value: HexBytes,
}

/// One entry of a path: at service index `si`, go to an SF, a remote SFF, or end the chain.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HopConfig {
    pub si: u8,
    pub sf: Option<String>,
    pub sff: Option<String>,
    pub end: Option<String>,
}

/// A service path.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PathConfig {
    pub name: String,
    pub spi: u32,
    /// The path that carries the reverse direction (symmetric chain).
    pub reverse: Option<String>,
    /// MD type 1 context (32 hex digits); MD type 1 with a zero context when neither this nor
    /// `tlvs` is given.
    pub context: Option<HexBytes>,
    /// MD type 2 context headers.
    #[serde(default)]
    pub tlvs: Vec<TlvConfig>,
    pub hops: Vec<HopConfig>,
}

/// A classifier or firewall rule. Classifier rules take one of `path`, `exit` or
/// `action = "drop"`; firewall rules take `action = "allow"` or `"deny"`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// A name to find the rule by (`qdpctl delete rule NAME`); unique among the classifier rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default)]
    pub priority: u32,
    pub in_port: Option<String>,
    pub vlan: Option<u16>,
    pub src: Option<Prefix>,
    pub dst: Option<Prefix>,
    pub protocol: Option<Protocol>,
    pub src_ports: Option<PortRange>,
    pub dst_ports: Option<PortRange>,
    pub path: Option<String>,
    pub exit: Option<String>,
    pub action: Option<RuleActionWord>,
}

fn ser_mac<S: serde::Serializer>(m: &EthernetAddress, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(m)
}

pub(crate) fn ser_opt_mac<S: serde::Serializer>(
    m: &Option<EthernetAddress>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match m {
        Some(m) => s.collect_str(m),
        None => s.serialize_none(),
    }
}

fn de_mac<'de, D>(de: D) -> Result<EthernetAddress, D::Error>
where
    D: serde::Deserializer<'de>,
{
    de_opt_mac(de).map(|m| m.expect("de_opt_mac returns Some on success"))
}

/// Encapsulation overhead in front of the inner Ethernet frame towards a neighbour: NSH plus,
/// for VXLAN-GPE, VXLAN-GPE + UDP + outer IP (the outer Ethernet header is not part of the MTU).
pub fn transport_overhead(nsh_len: usize, neighbor: &NeighborConfig) -> usize {
    match neighbor.address {
        Some(IpAddr::V4(_)) => nsh_len + 8 + 8 + 20,
        Some(IpAddr::V6(_)) => nsh_len + 8 + 8 + 40,
        None => nsh_len,
    }
}

impl PathConfig {
    /// Length in bytes of the NSH header this path's classifier pushes.
    pub fn nsh_len(&self) -> usize {
        if self.tlvs.is_empty() {
            crate::wire::nsh::MD1_HEADER_LEN
        } else {
            crate::wire::nsh::HEADER_LEN
                + self
                    .tlvs
                    .iter()
                    .map(|t| crate::wire::nsh::TLV_HEADER_LEN + t.value.0.len().div_ceil(4) * 4)
                    .sum::<usize>()
        }
    }

    /// The SI the classifier starts this path at: that of its first hop (the highest).
    pub fn start_si(&self) -> u8 {
        self.hops.iter().map(|h| h.si).max().unwrap_or(255)
    }
}

impl Pipeline {
    /// Whether the file sets up service function chaining.
    pub fn has_sfc(&self) -> bool {
        !(self.paths.is_empty() && self.classifier.is_empty() && self.vteps.is_empty())
    }
}

/// Ports named anywhere in the SFC sections (they carry SFC traffic).
pub fn sfc_ports(p: &Pipeline) -> BTreeSet<String> {
    let mut s: BTreeSet<String> = BTreeSet::new();
    s.extend(p.vteps.iter().map(|v| v.port.clone()));
    s.extend(p.neighbors.iter().map(|n| n.port.clone()));
    s.extend(p.exits.iter().map(|e| e.port.clone()));
    s.extend(p.sfs.iter().filter_map(|x| x.port.clone()));
    s.extend(p.classifier.iter().filter_map(|r| r.in_port.clone()));
    s
}
