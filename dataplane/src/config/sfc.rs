//! The service function chaining part of a pipeline file (RFC 7665, RFC 8300): our VTEPs,
//! neighbours, service functions, exits, service paths and classifier rules; and the checks of the
//! paths that `qdp check` runs before anything starts (every SI reachable from a classifier rule has
//! a next hop, no forwarding loop, every path ends, SI never underflows, frames of the inner MTU fit
//! the underlay MTU once encapsulated).

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};

use serde::{Deserialize, Serialize};

use super::{check_name, de_opt_mac, ConfigError, Pipeline};
use crate::wire::EthernetAddress;

/// Global SFC settings.
#[derive(Debug, Clone, Deserialize, PartialEq)]
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
    4096
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
    /// Several instances of one SF; flows are spread by a symmetric hash of the inner 5-tuple.
    Group,
}

/// A service function (instance) or a group of instances.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SfConfig {
    pub name: String,
    pub kind: SfKind,
    /// `remote`: the neighbour it sits behind.
    pub neighbor: Option<String>,
    /// `proxy`: the port the SF is attached to.
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
    /// `firewall`: the rules, first match (by priority) wins.
    #[serde(default)]
    pub rules: Vec<RuleConfig>,
    /// `firewall`: what happens when no rule matches: `"allow"` (default) or `"deny"`.
    pub default: Option<String>,
    /// An instance marked down is skipped by its groups.
    #[serde(default)]
    pub down: bool,
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
    pub value: String,
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
    pub context: Option<String>,
    /// MD type 2 context headers.
    #[serde(default)]
    pub tlvs: Vec<TlvConfig>,
    pub hops: Vec<HopConfig>,
}

/// A TCP/UDP port or an inclusive range `"lo-hi"`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(untagged)]
pub enum PortSpec {
    One(u16),
    Range(String),
}

/// An IP protocol by number or name (`tcp`, `udp`, `icmp`, `icmpv6`).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(untagged)]
pub enum ProtocolSpec {
    Number(u8),
    Name(String),
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
    pub src: Option<String>,
    pub dst: Option<String>,
    pub protocol: Option<ProtocolSpec>,
    pub src_ports: Option<PortSpec>,
    pub dst_ports: Option<PortSpec>,
    pub path: Option<String>,
    pub exit: Option<String>,
    pub action: Option<String>,
}

fn ser_mac<S: serde::Serializer>(m: &EthernetAddress, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(m)
}

fn ser_opt_mac<S: serde::Serializer>(m: &Option<EthernetAddress>, s: S) -> Result<S::Ok, S::Error> {
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

impl PortSpec {
    /// The inclusive range, or why it is not one.
    pub fn range(&self) -> Result<(u16, u16), String> {
        match self {
            PortSpec::One(p) => Ok((*p, *p)),
            PortSpec::Range(s) => {
                let parse = |t: &str| {
                    t.trim()
                        .parse::<u16>()
                        .map_err(|_| format!("'{s}' is not a port or a range lo-hi"))
                };
                let (lo, hi) = match s.split_once('-') {
                    Some((a, b)) => (parse(a)?, parse(b)?),
                    None => {
                        let p = parse(s)?;
                        (p, p)
                    }
                };
                if lo > hi {
                    return Err(format!("'{s}': {lo} is above {hi}"));
                }
                Ok((lo, hi))
            }
        }
    }
}

impl ProtocolSpec {
    /// The protocol number, or why it is not one.
    pub fn number(&self) -> Result<u8, String> {
        match self {
            ProtocolSpec::Number(n) => Ok(*n),
            ProtocolSpec::Name(s) => match s.to_ascii_lowercase().as_str() {
                "icmp" => Ok(1),
                "tcp" => Ok(6),
                "udp" => Ok(17),
                "icmpv6" => Ok(58),
                _ => Err(format!(
                    "unknown protocol '{s}' (tcp, udp, icmp, icmpv6 or a number)"
                )),
            },
        }
    }
}

/// Parses hex text (spaces and ':' allowed between bytes).
pub fn parse_hex(s: &str) -> Result<Vec<u8>, String> {
    let digits: String = s.chars().filter(|c| !matches!(c, ' ' | ':')).collect();
    let digits = digits.strip_prefix("0x").unwrap_or(&digits);
    if !digits.len().is_multiple_of(2) || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(format!("'{s}' is not hex bytes"));
    }
    Ok((0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).expect("hex checked"))
        .collect())
}

/// Parses `a.b.c.d/len` or `x::y/len` (a bare address is a host prefix).
pub fn parse_prefix(s: &str) -> Result<(IpAddr, u8), String> {
    let (addr, len) = match s.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (s, None),
    };
    let addr: IpAddr = addr
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not an IP prefix such as 10.1.0.0/16"))?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let len = match len {
        Some(l) => l
            .trim()
            .parse::<u8>()
            .ok()
            .filter(|l| *l <= max)
            .ok_or_else(|| format!("'{s}': prefix length must be 0..={max}"))?,
        None => max,
    };
    Ok((addr, len))
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
                    .map(|t| {
                        4 + parse_hex(&t.value)
                            .map(|v| v.len())
                            .unwrap_or(0)
                            .div_ceil(4)
                            * 4
                    })
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

    pub(super) fn validate_sfc(&self, errs: &mut Vec<ConfigError>) {
        let port = |name: &str| self.port_index(name);
        let s = &self.sfc;
        if s.ttl == 0 || s.ttl > crate::wire::nsh::TTL_MAX {
            errs.push(ConfigError::new("sfc.ttl", "must be 1..=63"));
        }
        if !(576..=9000).contains(&s.inner_mtu) {
            errs.push(ConfigError::new("sfc.inner_mtu", "must be 576..=9000"));
        }
        if s.unmatched != "drop" && !self.exits.iter().any(|e| e.name == s.unmatched) {
            errs.push(ConfigError::new(
                "sfc.unmatched",
                format!("'{}' is neither \"drop\" nor an exit", s.unmatched),
            ));
        }
        if !(16..=1 << 22).contains(&s.flow_cache) {
            errs.push(ConfigError::new("sfc.flow_cache", "must be 16..=4194304"));
        }
        if !(16..=1 << 22).contains(&s.proxy_flows) {
            errs.push(ConfigError::new("sfc.proxy_flows", "must be 16..=4194304"));
        }

        let mut names = BTreeMap::new();
        let mut unique = |kind: &str, i: usize, name: &str, errs: &mut Vec<ConfigError>| {
            let field = format!("{kind}[{i}].name");
            check_name(name, &field, errs);
            if let Some(first) = names.insert((kind.to_string(), name.to_string()), i) {
                errs.push(ConfigError::new(
                    field,
                    format!("duplicate name '{name}' (also {kind}[{first}])"),
                ));
            }
        };
        let port_ref = |field: String, name: &str, errs: &mut Vec<ConfigError>| {
            if port(name).is_none() {
                errs.push(ConfigError::new(
                    field,
                    format!("names no port called '{name}'"),
                ));
            }
        };

        for (i, r) in self.classifier.iter().enumerate() {
            if let Some(n) = &r.name {
                unique("classifier", i, n, errs);
            }
        }
        for (i, v) in self.vteps.iter().enumerate() {
            unique("vteps", i, &v.name, errs);
            port_ref(format!("vteps[{i}].port"), &v.port, errs);
        }
        for (i, n) in self.neighbors.iter().enumerate() {
            unique("neighbors", i, &n.name, errs);
            port_ref(format!("neighbors[{i}].port"), &n.port, errs);
            if n.vni > crate::wire::vxlan_gpe::VNI_MAX {
                errs.push(ConfigError::new(
                    format!("neighbors[{i}].vni"),
                    "must fit 24 bits",
                ));
            }
            if let Some(addr) = n.address {
                let has_vtep = self
                    .vteps
                    .iter()
                    .any(|v| v.port == n.port && v.address.is_ipv4() == addr.is_ipv4());
                if !has_vtep {
                    errs.push(ConfigError::new(
                        format!("neighbors[{i}].address"),
                        format!(
                            "VXLAN-GPE to {addr} needs a VTEP of the same address family on port '{}'",
                            n.port
                        ),
                    ));
                }
                if self.vteps.iter().any(|v| v.address == addr) {
                    errs.push(ConfigError::new(
                        format!("neighbors[{i}].address"),
                        format!("{addr} is one of our own VTEPs: forwarding to it would loop"),
                    ));
                }
            } else if let Some(mac) = n.mac {
                if self.vteps.iter().any(|v| v.mac == mac && v.port == n.port) {
                    errs.push(ConfigError::new(
                        format!("neighbors[{i}].mac"),
                        "is our own VTEP's MAC: forwarding to it would loop",
                    ));
                }
            }
            if n.mac.is_none() && !n.address.is_some_and(|a| a.is_ipv4()) {
                errs.push(ConfigError::new(
                    format!("neighbors[{i}].mac"),
                    "missing: give the neighbour's MAC, or an IPv4 address to find it by ARP",
                ));
            }
        }
        for (i, e) in self.exits.iter().enumerate() {
            unique("exits", i, &e.name, errs);
            port_ref(format!("exits[{i}].port"), &e.port, errs);
            if let Some(g) = e.gateway {
                if e.dst_mac.is_some() {
                    errs.push(ConfigError::new(
                        format!("exits[{i}].gateway"),
                        "give dst_mac or gateway, not both",
                    ));
                }
                self.arp_source_check(format!("exits[{i}].gateway"), &e.port, g, errs);
            }
        }
        let a = &self.sfc;
        if !(10..=60_000).contains(&a.arp_interval_ms) {
            errs.push(ConfigError::new(
                "sfc.arp_interval_ms",
                "must be 10..=60000",
            ));
        }
        if !(1..=100).contains(&a.arp_misses) {
            errs.push(ConfigError::new("sfc.arp_misses", "must be 1..=100"));
        }
        for (i, sf) in self.sfs.iter().enumerate() {
            unique("sfs", i, &sf.name, errs);
            self.validate_sf(i, sf, errs);
        }

        let mut spis = BTreeMap::new();
        for (i, p) in self.paths.iter().enumerate() {
            unique("paths", i, &p.name, errs);
            if p.spi > crate::wire::nsh::SPI_MAX {
                errs.push(ConfigError::new(
                    format!("paths[{i}].spi"),
                    "must fit 24 bits",
                ));
            }
            if let Some(first) = spis.insert(p.spi, i) {
                errs.push(ConfigError::new(
                    format!("paths[{i}].spi"),
                    format!("SPI {} is also paths[{first}]", p.spi),
                ));
            }
            self.validate_path(i, p, errs);
        }

        for (i, r) in self.classifier.iter().enumerate() {
            self.validate_rule(&format!("classifier[{i}]"), r, false, errs);
        }
    }

    /// An address qdp resolves by ARP on `port` needs one of our IPv4 addresses there to ask
    /// from, and must not be one of ours.
    fn arp_source_check(
        &self,
        field: String,
        port: &str,
        target: Ipv4Addr,
        errs: &mut Vec<ConfigError>,
    ) {
        let Some(pi) = self.port_index(port) else {
            return;
        };
        let ours = self.host_addresses();
        if ours.iter().any(|&(_, a)| a == target) {
            errs.push(ConfigError::new(
                field,
                format!("{target} is one of our own addresses"),
            ));
        } else if !ours.iter().any(|&(p, _)| p == pi) {
            errs.push(ConfigError::new(
                field,
                format!(
                    "resolving {target} by ARP needs an IPv4 address of ours on port '{port}' \
                     (ports.addresses or an IPv4 VTEP)"
                ),
            ));
        }
    }

    fn validate_sf(&self, i: usize, sf: &SfConfig, errs: &mut Vec<ConfigError>) {
        let f = |x: &str| format!("sfs[{i}].{x}");
        let needs = |field: &str, present: bool, errs: &mut Vec<ConfigError>| {
            if !present {
                errs.push(ConfigError::new(
                    f(field),
                    format!("a {:?} SF needs {field}", sf.kind).to_lowercase(),
                ));
            }
        };
        match sf.kind {
            SfKind::Remote => {
                needs("neighbor", sf.neighbor.is_some(), errs);
                if let Some(n) = &sf.neighbor {
                    if !self.neighbors.iter().any(|x| &x.name == n) {
                        errs.push(ConfigError::new(
                            f("neighbor"),
                            format!("names no neighbor called '{n}'"),
                        ));
                    }
                }
            }
            SfKind::Proxy => {
                needs("port", sf.port.is_some(), errs);
                if let Some(p) = &sf.port {
                    if self.port_index(p).is_none() {
                        errs.push(ConfigError::new(
                            f("port"),
                            format!("names no port called '{p}'"),
                        ));
                    }
                }
                if let (Some(a), Some(p)) = (sf.address, &sf.port) {
                    if sf.mac.is_some() {
                        errs.push(ConfigError::new(
                            f("address"),
                            "give mac or address, not both",
                        ));
                    }
                    if sf.vlan.is_some() {
                        errs.push(ConfigError::new(
                            f("address"),
                            "an SF on a VLAN is not resolved by ARP: give its mac",
                        ));
                    }
                    self.arp_source_check(f("address"), p, a, errs);
                }
                if let Some(v) = sf.vlan {
                    if v == 0 || v > 4094 {
                        errs.push(ConfigError::new(f("vlan"), "must be 1..=4094"));
                    }
                }
                let clash = self.sfs.iter().position(|o| {
                    o.kind == SfKind::Proxy && o.port == sf.port && o.vlan == sf.vlan
                });
                if let Some(first) = clash.filter(|c| *c < i) {
                    errs.push(ConfigError::new(
                        f("vlan"),
                        format!("sfs[{first}] already proxies on the same port and VLAN"),
                    ));
                }
            }
            SfKind::Group => {
                needs("members", !sf.members.is_empty(), errs);
                for (j, m) in sf.members.iter().enumerate() {
                    match self.sfs.iter().find(|x| &x.name == m) {
                        None => errs.push(ConfigError::new(
                            format!("sfs[{i}].members[{j}]"),
                            format!("names no SF called '{m}'"),
                        )),
                        Some(x) if x.kind == SfKind::Group => errs.push(ConfigError::new(
                            format!("sfs[{i}].members[{j}]"),
                            format!("'{m}' is a group; groups do not nest"),
                        )),
                        Some(_) => {}
                    }
                }
            }
            SfKind::Firewall => {
                for (j, r) in sf.rules.iter().enumerate() {
                    self.validate_rule(&format!("sfs[{i}].rules[{j}]"), r, true, errs);
                }
                if let Some(d) = &sf.default {
                    if d != "allow" && d != "deny" {
                        errs.push(ConfigError::new(
                            f("default"),
                            "must be \"allow\" or \"deny\"",
                        ));
                    }
                }
            }
            SfKind::Counter => {}
        }
        if sf.kind != SfKind::Firewall && (!sf.rules.is_empty() || sf.default.is_some()) {
            errs.push(ConfigError::new(f("rules"), "only a firewall SF has rules"));
        }
    }

    fn validate_path(&self, i: usize, p: &PathConfig, errs: &mut Vec<ConfigError>) {
        let f = |x: &str| format!("paths[{i}].{x}");
        if let Some(r) = &p.reverse {
            if !self.paths.iter().any(|x| &x.name == r) {
                errs.push(ConfigError::new(
                    f("reverse"),
                    format!("names no path called '{r}'"),
                ));
            }
        }
        if let Some(c) = &p.context {
            match parse_hex(c) {
                Ok(v) if v.len() == 16 => {}
                Ok(v) => errs.push(ConfigError::new(
                    f("context"),
                    format!("MD type 1 context is 16 bytes, not {}", v.len()),
                )),
                Err(e) => errs.push(ConfigError::new(f("context"), e)),
            }
            if !p.tlvs.is_empty() {
                errs.push(ConfigError::new(
                    f("context"),
                    "give an MD type 1 context or MD type 2 tlvs, not both",
                ));
            }
        }
        for (j, t) in p.tlvs.iter().enumerate() {
            match parse_hex(&t.value) {
                Ok(v) if v.len() <= crate::wire::nsh::TLV_VALUE_MAX => {}
                Ok(_) => errs.push(ConfigError::new(
                    format!("paths[{i}].tlvs[{j}].value"),
                    "at most 127 bytes",
                )),
                Err(e) => errs.push(ConfigError::new(format!("paths[{i}].tlvs[{j}].value"), e)),
            }
        }
        if p.nsh_len() > crate::wire::nsh::MAX_HEADER_LEN {
            errs.push(ConfigError::new(
                f("tlvs"),
                "the NSH header would exceed 252 bytes",
            ));
        }
        if p.hops.is_empty() {
            errs.push(ConfigError::new(f("hops"), "a path needs at least one hop"));
            return;
        }
        let mut by_si: BTreeMap<u8, usize> = BTreeMap::new();
        for (j, h) in p.hops.iter().enumerate() {
            let hf = |x: &str| format!("paths[{i}].hops[{j}].{x}");
            let given = [h.sf.is_some(), h.sff.is_some(), h.end.is_some()]
                .iter()
                .filter(|b| **b)
                .count();
            if given != 1 {
                errs.push(ConfigError::new(
                    hf("si"),
                    "a hop takes exactly one of sf, sff or end",
                ));
            }
            if h.si == 0 {
                errs.push(ConfigError::new(hf("si"), "SI 0 is never forwarded"));
            }
            if let Some(first) = by_si.insert(h.si, j) {
                errs.push(ConfigError::new(
                    hf("si"),
                    format!("SI {} is also hops[{first}]", h.si),
                ));
            }
            if let Some(sf) = &h.sf {
                if !self.sfs.iter().any(|x| &x.name == sf) {
                    errs.push(ConfigError::new(
                        hf("sf"),
                        format!("names no SF called '{sf}'"),
                    ));
                }
            }
            if let Some(n) = &h.sff {
                match self.neighbors.iter().find(|x| &x.name == n) {
                    None => errs.push(ConfigError::new(
                        hf("sff"),
                        format!("names no neighbor called '{n}'"),
                    )),
                    Some(nb) => self.check_mtu(&hf("sff"), p, nb, errs),
                }
            }
            if let Some(e) = &h.end {
                if !self.exits.iter().any(|x| &x.name == e) {
                    errs.push(ConfigError::new(
                        hf("end"),
                        format!("names no exit called '{e}'"),
                    ));
                }
            }
            if let Some(sf) =
                h.sf.as_ref()
                    .and_then(|n| self.sfs.iter().find(|x| &x.name == n))
            {
                let members: Vec<&SfConfig> = if sf.kind == SfKind::Group {
                    sf.members
                        .iter()
                        .filter_map(|m| self.sfs.iter().find(|x| &x.name == m))
                        .collect()
                } else {
                    vec![sf]
                };
                for m in members {
                    if let Some(nb) = m
                        .neighbor
                        .as_ref()
                        .and_then(|n| self.neighbors.iter().find(|x| &x.name == n))
                    {
                        self.check_mtu(&hf("sf"), p, nb, errs);
                    }
                }
            }
        }
        // Walk the chain from its first SI: every SI reached needs a hop, an SF hop leads to
        // SI - 1 (never below 1), and the walk must end at an exit or a remote SFF.
        let mut si = p.start_si();
        loop {
            let Some(&j) = by_si.get(&si) else {
                errs.push(ConfigError::new(
                    f("hops"),
                    format!("SI {si} is reached but has no hop"),
                ));
                break;
            };
            let h = &p.hops[j];
            if h.sf.is_none() {
                break;
            }
            if si <= 1 {
                errs.push(ConfigError::new(
                    format!("paths[{i}].hops[{j}].si"),
                    "SI underflows: the SF at SI 1 would leave SI 0",
                ));
                break;
            }
            si -= 1;
        }
    }

    fn check_mtu(
        &self,
        field: &str,
        p: &PathConfig,
        nb: &NeighborConfig,
        errs: &mut Vec<ConfigError>,
    ) {
        let Some(port) = self.port_index(&nb.port).map(|i| &self.ports[i]) else {
            return;
        };
        let underlay = usize::from(port.mtu.unwrap_or(1500));
        let need = usize::from(self.sfc.inner_mtu) + 14 + transport_overhead(p.nsh_len(), nb);
        if need > underlay {
            errs.push(ConfigError::new(
                field.to_string(),
                format!(
                    "an inner packet of sfc.inner_mtu {} B needs {need} B on port '{}' once encapsulated, above its MTU {underlay}: raise ports.mtu or lower sfc.inner_mtu",
                    self.sfc.inner_mtu, port.name
                ),
            ));
        }
    }

    fn validate_rule(&self, at: &str, r: &RuleConfig, firewall: bool, errs: &mut Vec<ConfigError>) {
        let f = |x: &str| format!("{at}.{x}");
        if let Some(p) = &r.in_port {
            if self.port_index(p).is_none() {
                errs.push(ConfigError::new(
                    f("in_port"),
                    format!("names no port called '{p}'"),
                ));
            }
        }
        if let Some(v) = r.vlan {
            if v > 4095 {
                errs.push(ConfigError::new(f("vlan"), "must be 0..=4095"));
            }
        }
        let mut family = None;
        for (name, v) in [("src", &r.src), ("dst", &r.dst)] {
            if let Some(s) = v {
                match parse_prefix(s) {
                    Ok((a, _)) => {
                        if family.is_some_and(|v4: bool| v4 != a.is_ipv4()) {
                            errs.push(ConfigError::new(
                                f(name),
                                "src and dst must be of the same address family",
                            ));
                        }
                        family = Some(a.is_ipv4());
                    }
                    Err(e) => errs.push(ConfigError::new(f(name), e)),
                }
            }
        }
        if let Some(p) = &r.protocol {
            if let Err(e) = p.number() {
                errs.push(ConfigError::new(f("protocol"), e));
            }
        }
        for (name, v) in [("src_ports", &r.src_ports), ("dst_ports", &r.dst_ports)] {
            if let Some(spec) = v {
                if let Err(e) = spec.range() {
                    errs.push(ConfigError::new(f(name), e));
                }
            }
        }
        if firewall {
            if r.path.is_some() || r.exit.is_some() {
                errs.push(ConfigError::new(
                    f("path"),
                    "firewall rules take only action",
                ));
            }
            match r.action.as_deref() {
                Some("allow") | Some("deny") => {}
                _ => errs.push(ConfigError::new(
                    f("action"),
                    "a firewall rule needs action = \"allow\" or \"deny\"",
                )),
            }
            return;
        }
        let given = [r.path.is_some(), r.exit.is_some(), r.action.is_some()]
            .iter()
            .filter(|b| **b)
            .count();
        if given != 1 {
            errs.push(ConfigError::new(
                f("path"),
                "a classifier rule takes exactly one of path, exit or action = \"drop\"",
            ));
        }
        if let Some(a) = &r.action {
            if a != "drop" {
                errs.push(ConfigError::new(
                    f("action"),
                    "a classifier rule's action can only be \"drop\"",
                ));
            }
        }
        if let Some(p) = &r.path {
            if !self.paths.iter().any(|x| &x.name == p) {
                errs.push(ConfigError::new(
                    f("path"),
                    format!("names no path called '{p}'"),
                ));
            }
        }
        if let Some(e) = &r.exit {
            if !self.exits.iter().any(|x| &x.name == e) {
                errs.push(ConfigError::new(
                    f("exit"),
                    format!("names no exit called '{e}'"),
                ));
            }
        }
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
