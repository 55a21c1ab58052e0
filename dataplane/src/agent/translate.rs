//! Neutron's SFC objects → the SFC objects one qdp owns: a pure function of what Neutron holds
//! and what this appliance is (its host name, its qdp's ports and VTEP), so every agent that
//! reads the same Neutron state builds the same chains, each its own part of them.
//!
//! One unit per port chain that touches this host (its classifier's source port, an SF instance,
//! or its destination port is bound here); a chain qdp cannot honour is left out whole and
//! reported, never half-applied. How Neutron's objects become qdp's:
//! - a port chain (`chain_id` N) is path `<prefix>cN` with SPI N; hop *i* (its port pair groups in
//!   order) has SI 255 − *i*, the end of chain SI 255 − hops; a symmetric chain also has path
//!   `<prefix>cNr` with SPI N + 2^23, its hops in the opposite order;
//! - a port pair bound here is a `proxy` SF (correlation none) on the qdp port of its ingress
//!   port, to that port's MAC, or a `remote` SF behind a neighbour at that MAC, NSH over Ethernet
//!   (correlation `nsh`); one bound to another host is a `remote` SF behind that host's VTEP;
//!   `weight` is its weight;
//! - a port pair group is a `group` SF of its pairs (`lb_fields` kept), or its one pair; a group
//!   whose pairs all live on one other host is a hop to that host's SFF, which picks;
//! - a flow classifier whose logical source port is bound here is a classifier rule on that
//!   port's qdp port; the chain ends out of the logical destination port's qdp port, to its MAC,
//!   on its host; elsewhere a hop to the SFF of the host that comes next;
//! - a symmetric chain's replies are classified on the destination's host (qdp's own reverse
//!   rule when the source is there too, else a rule the agent adds) and end at the source port;
//! - another host's VTEP is the Neutron port its agent registers: device owner `qdp:vtep`, bound
//!   to that host, its fixed address the VTEP address and its MAC the VTEP's.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use serde::Serialize;
use serde_json::{json, Value};

use super::model::{FlowClassifier, Port, PortChain, PortPair, Snapshot};
use crate::config::{NeighborConfig, OwnedSet, OwnedUnit, RuleConfig, SfConfig};

/// The device owner of the ports agents register their VTEPs as.
pub const VTEP_OWNER: &str = "qdp:vtep";
/// Added to a chain's SPI for its reverse path.
pub const REVERSE_SPI: u32 = 1 << 23;
/// The `binding:profile` key naming a port's qdp port.
pub const PROFILE_KEY: &str = "qdp_port";

/// This qdp's VTEP, as its pipeline has it.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalVtep {
    pub port: String,
    pub address: IpAddr,
    pub mac: String,
}

/// What the agent knows of its own appliance.
#[derive(Debug, Clone)]
pub struct Local<'a> {
    /// `binding:host_id` of the ports bound here.
    pub host: &'a str,
    /// Every object the agent makes is named with it.
    pub prefix: &'a str,
    pub vtep: Option<&'a LocalVtep>,
    /// The qdp's pipeline ports.
    pub ports: &'a [String],
    /// Neutron port name or id → qdp port, for ports without `binding:profile` `qdp_port`.
    pub port_map: &'a BTreeMap<String, String>,
    /// Priority of the classifier rules the agent makes.
    pub rule_priority: u32,
}

/// Something in Neutron qdp does not honour, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub object: String,
    pub reason: String,
}

/// A chain's state on this host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainState {
    pub chain: String,
    pub chain_id: u32,
    /// `programmed`, `not here`, `idle` (nothing to steer) or `unsupported`.
    pub state: &'static str,
    /// What this host does in it: `classifier`, `sf`, `end`, `reverse classifier`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<&'static str>,
}

/// What the agent asks of its qdp, and what it could not do.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    pub units: Vec<OwnedUnit>,
    pub problems: Vec<Problem>,
    pub chains: Vec<ChainState>,
}

/// Translates Neutron's state for the host `l` describes.
pub fn plan(n: &Snapshot, l: &Local<'_>) -> Plan {
    let mut out = Plan::default();
    let all_vteps = vteps(n);
    let mut chains: Vec<&PortChain> = n.port_chains.iter().collect();
    chains.sort_by_key(|c| c.chain_id);
    for c in chains {
        let label = format!("port chain '{}' (chain_id {})", c.name, c.chain_id);
        let mut b = Builder {
            n,
            l,
            vteps: &all_vteps,
            set: OwnedSet::default(),
            roles: BTreeSet::new(),
        };
        let state = |state, roles: Vec<&'static str>| ChainState {
            chain: c.name.clone(),
            chain_id: c.chain_id,
            state,
            roles,
        };
        match b.chain(c) {
            Ok(Outcome::NotHere) => out.chains.push(state("not here", vec![])),
            Ok(Outcome::Idle) => out.chains.push(state("idle", vec![])),
            Ok(Outcome::Programmed) => {
                let roles = b.roles.iter().copied().collect();
                out.chains.push(state("programmed", roles));
                out.units.push(OwnedUnit {
                    name: label,
                    set: b.set,
                });
            }
            Err(reason) => {
                out.chains.push(state("unsupported", vec![]));
                out.problems.push(Problem {
                    object: label,
                    reason,
                });
            }
        }
    }
    out
}

/// The VTEPs other agents registered: host → (address, MAC).
pub fn vteps(n: &Snapshot) -> BTreeMap<&str, (IpAddr, &str)> {
    n.ports
        .iter()
        .filter(|p| p.device_owner == VTEP_OWNER && !p.host.is_empty())
        .filter_map(|p| {
            let a = p.fixed_ips.first()?.ip_address.parse().ok()?;
            Some((p.host.as_str(), (a, p.mac_address.as_str())))
        })
        .collect()
}

enum Outcome {
    NotHere,
    Idle,
    Programmed,
}

/// Where a Neutron port is: here (on a qdp port) or on another host.
enum Place<'a> {
    Here { qdp_port: String, port: &'a Port },
    There { host: &'a str },
}

impl Place<'_> {
    fn host<'h>(&'h self, here: &'h str) -> &'h str {
        match self {
            Place::Here { .. } => here,
            Place::There { host } => host,
        }
    }
}

/// FNV-1a, for names derived from ids and host names.
fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// 12 hex digits for a Neutron id in object names: its first 8 (for the eye) and 4 of a hash
/// of all of it (so ids that start alike stay apart).
pub fn short(id: &str) -> String {
    let head: String = id
        .chars()
        .filter(|c| c.is_ascii_hexdigit())
        .take(8)
        .collect();
    format!("{head}{:04x}", fnv(id) & 0xffff)
}

/// A name for a host that fits an object name: its own letters (as many as fit) and a hash.
fn host_tag(host: &str, room: usize) -> String {
    let hash = fnv(host);
    let clean: String = host
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .take(room.saturating_sub(7))
        .collect();
    format!("{clean}-{:06x}", hash & 0xff_ffff)
}

fn from_json<T: serde::de::DeserializeOwned>(what: &str, v: Value) -> Result<T, String> {
    serde_json::from_value(v).map_err(|e| format!("{what}: {e}"))
}

struct Builder<'a> {
    n: &'a Snapshot,
    l: &'a Local<'a>,
    /// Other hosts' VTEPs, read once per plan.
    vteps: &'a BTreeMap<&'a str, (IpAddr, &'a str)>,
    set: OwnedSet,
    roles: BTreeSet<&'static str>,
}

/// A hop's target.
enum Target {
    Sf(String),
    Sff(String),
}

impl<'a> Builder<'a> {
    fn name(&self, kind: &str, id: &str) -> String {
        format!("{}{kind}-{}", self.l.prefix, short(id))
    }

    fn add_sf(&mut self, v: Value) -> Result<String, String> {
        let sf: SfConfig = from_json("SF", v)?;
        let name = sf.name.clone();
        self.set = self.set.merged(&OwnedSet {
            sfs: vec![sf],
            ..Default::default()
        })?;
        Ok(name)
    }

    fn add_neighbor(&mut self, v: Value) -> Result<String, String> {
        let nb: NeighborConfig = from_json("neighbor", v)?;
        let name = nb.name.clone();
        self.set = self.set.merged(&OwnedSet {
            neighbors: vec![nb],
            ..Default::default()
        })?;
        Ok(name)
    }

    fn add_exit(&mut self, port_id: &str, qdp_port: &str, mac: &str) -> Result<String, String> {
        let name = self.name("x", port_id);
        let x = from_json(
            "exit",
            json!({ "name": name, "port": qdp_port, "dst_mac": mac }),
        )?;
        self.set = self.set.merged(&OwnedSet {
            exits: vec![x],
            ..Default::default()
        })?;
        Ok(name)
    }

    /// Where port `id` is bound.
    fn place(&self, id: &str, what: &str) -> Result<Place<'a>, String> {
        let n = self.n;
        let p = n
            .port(id)
            .ok_or_else(|| format!("{what} port {id} does not exist"))?;
        let label = if p.name.is_empty() {
            p.id.clone()
        } else {
            format!("'{}' ({})", p.name, p.id)
        };
        if p.host.is_empty() {
            return Err(format!(
                "{what} port {label} is bound to no host (binding:host_id)"
            ));
        }
        if p.host != self.l.host {
            return Ok(Place::There { host: &p.host });
        }
        let mapped = p
            .profile
            .get(PROFILE_KEY)
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| self.l.port_map.get(&p.name).cloned())
            .or_else(|| self.l.port_map.get(&p.id).cloned())
            .ok_or_else(|| {
                format!(
                    "{what} port {label} is bound here but names no qdp port: set its \
                     binding:profile {PROFILE_KEY}, or map it in the agent's port_map"
                )
            })?;
        if !self.l.ports.contains(&mapped) {
            return Err(format!(
                "{what} port {label} names qdp port '{mapped}', which this qdp does not have \
                 (it has {})",
                self.l.ports.join(", ")
            ));
        }
        Ok(Place::Here {
            qdp_port: mapped,
            port: p,
        })
    }

    /// The neighbour that reaches `host`'s SFF: its VTEP as its agent registered it.
    fn vtep_of(&mut self, host: &str) -> Result<String, String> {
        let mine = self.l.vtep.ok_or_else(|| {
            format!("this qdp has no VTEP ([[vteps]]) to reach host '{host}' with")
        })?;
        let (address, mac) = self.vteps.get(host).ok_or_else(|| {
            format!(
                "host '{host}' has no qdp VTEP in Neutron (a port with device_owner {VTEP_OWNER} \
                 bound to it): is its agent running?"
            )
        })?;
        let room = 32 - self.l.prefix.len() - 2;
        let name = format!("{}h-{}", self.l.prefix, host_tag(host, room));
        self.add_neighbor(json!({
            "name": name,
            "port": mine.port,
            "address": address.to_string(),
            "mac": mac,
        }))
    }

    /// The host a port pair lives on (its ingress port's; the egress port must agree).
    fn pair_host(&self, pp: &PortPair) -> Result<String, String> {
        let what = format!("port pair '{}'", pp.name);
        let i = self.place(&pp.ingress, &format!("{what}: ingress"))?;
        let e = self.place(&pp.egress, &format!("{what}: egress"))?;
        let (hi, he) = (i.host(self.l.host), e.host(self.l.host));
        if hi != he {
            return Err(format!(
                "{what}: its ingress port is on host '{hi}' and its egress port on '{he}'"
            ));
        }
        Ok(hi.to_string())
    }

    /// The SF instance of a port pair.
    fn instance(&mut self, pp: &PortPair) -> Result<String, String> {
        let what = format!("port pair '{}'", pp.name);
        let name = self.name("pp", &pp.id);
        let nsh = match pp.service_function_parameters.correlation.as_deref() {
            None => false,
            Some("nsh") => true,
            Some(other) => {
                return Err(format!(
                    "{what}: correlation '{other}' is not supported (qdp: nsh, or none for an \
                     NSH-unaware SF behind its proxy)"
                ))
            }
        };
        let weight = pp.service_function_parameters.weight.filter(|&w| w != 1);
        let ingress = self.place(&pp.ingress, &format!("{what}: ingress"))?;
        let egress = self.place(&pp.egress, &format!("{what}: egress"))?;
        let mut sf = match (&ingress, &egress) {
            (Place::There { host }, _) => {
                let host = host.to_string();
                json!({ "name": name, "kind": "remote", "neighbor": self.vtep_of(&host)? })
            }
            (
                Place::Here { qdp_port, port },
                Place::Here {
                    qdp_port: back_port,
                    ..
                },
            ) => {
                self.roles.insert("sf");
                if nsh {
                    let nb = self.add_neighbor(json!({
                        "name": self.name("n", &pp.id),
                        "port": qdp_port,
                        "mac": port.mac_address,
                    }))?;
                    json!({ "name": name, "kind": "remote", "neighbor": nb })
                } else if qdp_port != back_port {
                    return Err(format!(
                        "{what}: an NSH-unaware SF is proxied on one qdp port, but its ingress \
                         is on '{qdp_port}' and its egress on '{back_port}'"
                    ));
                } else {
                    json!({ "name": name, "kind": "proxy", "port": qdp_port, "mac": port.mac_address })
                }
            }
            (Place::Here { .. }, Place::There { host }) => {
                return Err(format!("{what}: its egress port is on host '{host}'"))
            }
        };
        if let Some(w) = weight {
            sf["weight"] = json!(w);
        }
        self.add_sf(sf)
    }

    /// What a hop through port pair group `id` does here.
    fn hop_target(&mut self, id: &str) -> Result<Target, String> {
        let n = self.n;
        let g = n
            .port_pair_group(id)
            .ok_or_else(|| format!("port pair group {id} does not exist"))?;
        let what = format!("port pair group '{}'", g.name);
        if g.tap_enabled {
            return Err(format!("{what}: tap mode is not supported"));
        }
        let nt = &g.port_pair_group_parameters.ppg_n_tuple_mapping;
        let mapped = |v: &Value| match v {
            Value::Null => false,
            Value::Object(m) => m.values().any(|x| match x {
                Value::Null => false,
                Value::Object(o) => !o.is_empty(),
                _ => true,
            }),
            _ => true,
        };
        if nt.as_ref().is_some_and(mapped) {
            return Err(format!(
                "{what}: ppg_n_tuple_mapping is not supported (qdp's proxy restores the headers \
                 of the flow the SF sends back unchanged)"
            ));
        }
        let fields = g
            .port_pair_group_parameters
            .lb_fields
            .iter()
            .map(|f| match f.as_str() {
                "ip_src" | "ip_dst" | "tcp_src" | "tcp_dst" | "udp_src" | "udp_dst" => {
                    Ok(f.as_str())
                }
                other => Err(format!(
                    "{what}: lb_fields '{other}' is not supported (qdp: ip_src, ip_dst, tcp_src, \
                     tcp_dst, udp_src, udp_dst)"
                )),
            })
            .collect::<Result<Vec<_>, _>>()?;
        if g.port_pairs.is_empty() {
            return Err(format!("{what} has no port pairs"));
        }
        let mut pairs = Vec::new();
        let mut hosts = BTreeSet::new();
        for ppid in &g.port_pairs {
            let pp = n
                .port_pair(ppid)
                .ok_or_else(|| format!("{what}: port pair {ppid} does not exist"))?;
            hosts.insert(self.pair_host(pp)?);
            pairs.push(pp);
        }
        if hosts.len() == 1 && !hosts.contains(self.l.host) {
            let host = hosts.into_iter().next().unwrap_or_default();
            return Ok(Target::Sff(self.vtep_of(&host)?));
        }
        let members = pairs
            .into_iter()
            .map(|pp| self.instance(pp))
            .collect::<Result<Vec<_>, _>>()?;
        if members.len() == 1 && fields.is_empty() {
            return Ok(Target::Sf(members[0].clone()));
        }
        let name = self.name("g", &g.id);
        self.add_sf(
            json!({ "name": name, "kind": "group", "members": members, "lb_fields": fields }),
        )
        .map(Target::Sf)
    }

    /// A classifier rule for `fc` on `in_port`, onto `path`; `reverse`: for the replies.
    fn rule(
        &self,
        fc: &FlowClassifier,
        in_port: &str,
        path: &str,
        reverse: bool,
    ) -> Result<RuleConfig, String> {
        let what = format!("flow classifier '{}'", fc.name);
        let range = |lo: Option<u16>, hi: Option<u16>| match (lo, hi) {
            (None, None) => Value::Null,
            (Some(a), Some(b)) if a == b => json!(a),
            (Some(a), None) => json!(a),
            (a, b) => json!(format!("{}-{}", a.unwrap_or(0), b.unwrap_or(u16::MAX))),
        };
        let mut src = fc
            .source_ip_prefix
            .clone()
            .map(Value::String)
            .unwrap_or(Value::Null);
        let mut dst = fc
            .destination_ip_prefix
            .clone()
            .map(Value::String)
            .unwrap_or(Value::Null);
        if src.is_null() && dst.is_null() {
            // Only the ethertype says the family: a prefix of every address of it.
            src = match fc.ethertype.as_deref() {
                Some("IPv6") => json!("::/0"),
                _ => json!("0.0.0.0/0"),
            };
        }
        let mut sp = range(fc.source_port_range_min, fc.source_port_range_max);
        let mut dp = range(fc.destination_port_range_min, fc.destination_port_range_max);
        if reverse {
            std::mem::swap(&mut src, &mut dst);
            std::mem::swap(&mut sp, &mut dp);
        }
        let protocol = match fc.protocol.as_deref() {
            None => Value::Null,
            Some(p @ ("tcp" | "udp" | "icmp")) => json!(p),
            Some("icmpv6" | "ipv6-icmp") => json!(58),
            Some(p) => match p.parse::<u8>() {
                Ok(n) => json!(n),
                Err(_) => return Err(format!("{what}: protocol '{p}' is not supported")),
            },
        };
        let name = format!(
            "{}{}",
            self.name("fc", &fc.id),
            if reverse { "r" } else { "" }
        );
        let mut r = json!({
            "name": name,
            "priority": self.l.rule_priority,
            "in_port": in_port,
            "path": path,
        });
        for (k, v) in [
            ("src", src),
            ("dst", dst),
            ("protocol", protocol),
            ("src_ports", sp),
            ("dst_ports", dp),
        ] {
            if !v.is_null() {
                r[k] = v;
            }
        }
        from_json(&what, r)
    }

    /// The objects of one chain on this host.
    fn chain(&mut self, c: &PortChain) -> Result<Outcome, String> {
        let n = self.n;
        let here = self.l.host;
        match c.chain_parameters.correlation.as_deref() {
            Some("nsh") => {}
            other => {
                return Err(format!(
                    "correlation '{}' is not supported: qdp chains with NSH (create the chain \
                     with --chain-parameters correlation=nsh)",
                    other.unwrap_or("mpls")
                ))
            }
        }
        if c.chain_id == 0 || c.chain_id >= REVERSE_SPI {
            return Err(format!(
                "chain_id {} does not fit qdp's SPIs (1..{REVERSE_SPI})",
                c.chain_id
            ));
        }
        let symmetric = c.chain_parameters.symmetric.unwrap_or(false);
        let mut fcs = Vec::new();
        for id in &c.flow_classifiers {
            let fc = n
                .flow_classifier(id)
                .ok_or_else(|| format!("flow classifier {id} does not exist"))?;
            if let Some(k) = fc.l7_parameters.keys().next() {
                return Err(format!(
                    "flow classifier '{}': l7_parameters '{k}' is not supported",
                    fc.name
                ));
            }
            fcs.push(fc);
        }
        if fcs.is_empty() {
            return Ok(Outcome::Idle);
        }
        let mut sources = Vec::new();
        let mut dest: Option<&str> = None;
        for fc in &fcs {
            let what = format!("flow classifier '{}'", fc.name);
            let s = fc.logical_source_port.as_deref().ok_or_else(|| {
                format!("{what} has no logical_source_port: qdp classifies where traffic enters")
            })?;
            let d = fc.logical_destination_port.as_deref().ok_or_else(|| {
                format!("{what} has no logical_destination_port: qdp ends a chain out of that port")
            })?;
            match dest {
                Some(x) if x != d => {
                    return Err(format!(
                        "{what} ends at another logical_destination_port than the chain's other \
                         classifiers: a qdp path has one end"
                    ))
                }
                _ => dest = Some(d),
            }
            sources.push(s);
        }
        let dest = dest.unwrap_or_default();
        if symmetric && sources.iter().any(|s| *s != sources[0]) {
            return Err(
                "a symmetric chain whose classifiers have different logical source ports: its \
                 reverse path would have several ends"
                    .into(),
            );
        }
        // Is any piece of it here?
        let dplace = self.place(dest, "logical destination")?;
        let splaces = sources
            .iter()
            .map(|s| self.place(s, "logical source"))
            .collect::<Result<Vec<_>, _>>()?;
        let mut hosts = BTreeSet::new();
        hosts.insert(dplace.host(here).to_string());
        for s in &splaces {
            hosts.insert(s.host(here).to_string());
        }
        for gid in &c.port_pair_groups {
            let g = n
                .port_pair_group(gid)
                .ok_or_else(|| format!("port pair group {gid} does not exist"))?;
            for ppid in &g.port_pairs {
                if let Some(pp) = n.port_pair(ppid) {
                    hosts.insert(self.pair_host(pp)?);
                }
            }
        }
        if !hosts.contains(here) {
            return Ok(Outcome::NotHere);
        }
        if c.port_pair_groups.is_empty() {
            return Err("the chain has no port pair groups".into());
        }
        if c.port_pair_groups.len() > 254 {
            return Err("more than 254 hops".into());
        }
        let targets = c
            .port_pair_groups
            .iter()
            .map(|g| self.hop_target(g))
            .collect::<Result<Vec<_>, _>>()?;
        let hop = |si: usize, t: &Target| match t {
            Target::Sf(s) => json!({ "si": 255 - si, "sf": s }),
            Target::Sff(x) => json!({ "si": 255 - si, "sff": x }),
        };
        let end_at = |b: &mut Self, place: &Place<'_>, port_id: &str| -> Result<Target, String> {
            Ok(match place {
                Place::Here { qdp_port, port } => {
                    Target::Sf(b.add_exit(port_id, qdp_port, &port.mac_address)?)
                }
                Place::There { host } => Target::Sff(b.vtep_of(host)?),
            })
        };
        let end_hop = |si: usize, t: &Target| match t {
            Target::Sf(x) => json!({ "si": 255 - si, "end": x }),
            Target::Sff(x) => json!({ "si": 255 - si, "sff": x }),
        };
        let fwd = format!("{}c{}", self.l.prefix, c.chain_id);
        let rev = format!("{fwd}r");
        let k = targets.len();
        let mut hops: Vec<Value> = targets.iter().enumerate().map(|(i, t)| hop(i, t)).collect();
        if matches!(dplace, Place::Here { .. }) {
            self.roles.insert("end");
        }
        let fend = end_at(self, &dplace, dest)?;
        hops.push(end_hop(k, &fend));
        let mut path = json!({ "name": fwd, "spi": c.chain_id, "hops": hops });
        if symmetric {
            path["reverse"] = json!(rev);
            let mut rhops: Vec<Value> = targets
                .iter()
                .rev()
                .enumerate()
                .map(|(i, t)| hop(i, t))
                .collect();
            let rend = end_at(self, &splaces[0], sources[0])?;
            rhops.push(end_hop(k, &rend));
            let rpath = from_json(
                "path",
                json!({ "name": rev, "spi": c.chain_id + REVERSE_SPI, "hops": rhops }),
            )?;
            self.set.paths.push(rpath);
        }
        self.set.paths.insert(0, from_json("path", path)?);
        for (fc, sp) in fcs.iter().zip(&splaces) {
            if let Place::Here { qdp_port, .. } = sp {
                self.roles.insert("classifier");
                let r = self.rule(fc, qdp_port, &fwd, false)?;
                self.set.classifier.push(r);
            } else if symmetric {
                if let Place::Here { qdp_port, .. } = &dplace {
                    self.roles.insert("reverse classifier");
                    let r = self.rule(fc, qdp_port, &rev, true)?;
                    self.set.classifier.push(r);
                }
            }
        }
        Ok(Outcome::Programmed)
    }
}
