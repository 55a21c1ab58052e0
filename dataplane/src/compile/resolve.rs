//! The SFC sections of a pipeline as typed, resolved values: names become indices, the file's
//! optional fields become enums that hold exactly what each case needs. What cannot be resolved
//! is a [`CompileError`] naming its field; a file that passed `Pipeline::validate` resolves.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::CompileError;
use crate::config::{
    FirewallDefault, HopConfig, Pipeline, Prefix, RuleActionWord, RuleConfig, SfConfig, SfKind,
};
use crate::tables::classifier::{ClassifierAction, ClassifierRule, IpPrefix, PortRange};
use crate::tables::sfc::{Hop, RuleAction};
use crate::wire::{EthernetAddress, Ipv4Address, Ipv6Address, Md2TlvRepr, NshMetadata};

/// How a neighbour is reached: the transport and its addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportSpec {
    /// NSH over Ethernet.
    Ethernet,
    /// VXLAN-GPE over IPv4, from our VTEP `src`.
    Gpe4 { src: Ipv4Addr, dst: Ipv4Addr },
    /// VXLAN-GPE over IPv6, from our VTEP `src`.
    Gpe6 { src: Ipv6Addr, dst: Ipv6Addr },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeighborSpec {
    pub name: String,
    pub port: usize,
    /// `None`: to be found by ARP, not known yet.
    pub mac: Option<EthernetAddress>,
    /// Our VTEP's MAC on the port, if it has one (else the port's own).
    pub src_mac: Option<EthernetAddress>,
    pub transport: TransportSpec,
    pub vni: u32,
}

/// What an SF is, with exactly its kind's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SfKindSpec {
    Counter,
    Firewall {
        /// Each rule's action is `Pass` (allow) or `Drop` (deny).
        rules: Vec<ClassifierRule>,
        default_allow: bool,
        /// Connection tracking, with this many connections per worker.
        stateful: Option<usize>,
    },
    Lb(LbSpec),
    Ids(IdsSpec),
    Remote {
        neighbor: usize,
    },
    Proxy {
        port: usize,
        vlan: Option<u16>,
        mac: Option<EthernetAddress>,
        /// Its MAC is found by ARP for its address, and not known yet.
        unresolved: bool,
    },
    Group {
        members: Vec<usize>,
        fields: crate::wire::flow::LbFields,
    },
}

/// An `lb` SF's backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendSpec {
    pub name: String,
    pub address: Ipv4Addr,
    pub port: Option<u16>,
    /// `None`: to be found by ARP, not known yet.
    pub mac: Option<EthernetAddress>,
    pub weight: u32,
    pub down: bool,
}

/// An `lb` SF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LbSpec {
    pub vip: Ipv4Addr,
    /// `None`: TCP and UDP.
    pub protocol: Option<u8>,
    pub ports: PortRange,
    pub nat: bool,
    /// Hash the client's address only.
    pub source_hash: bool,
    pub table_size: usize,
    pub connections: usize,
    pub backends: Vec<BackendSpec>,
}

/// An `ids` SF: its rules file as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdsSpec {
    pub rules_file: std::path::PathBuf,
    pub text: String,
    pub vars: std::collections::BTreeMap<String, String>,
    pub refuse_unsupported: bool,
    pub inline: bool,
    pub eve_log: std::path::PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SfSpec {
    pub name: String,
    pub down: bool,
    /// Its share of its groups' flows.
    pub weight: u32,
    pub kind: SfKindSpec,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExitSpec {
    pub name: String,
    pub port: usize,
    pub dst_mac: Option<EthernetAddress>,
    pub src_mac: Option<EthernetAddress>,
    /// Its gateway's MAC is found by ARP, and not known yet.
    pub unresolved: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathSpec {
    pub name: String,
    pub spi: u32,
    /// The SI the classifier starts it at.
    pub start_si: u8,
    pub metadata: NshMetadata,
    /// (SI, next hop), at most one per SI.
    pub hops: Vec<(u8, Hop)>,
    /// The path of the reverse direction.
    pub reverse: Option<usize>,
}

/// A classifier rule: what it matches (its action the classifier's) and what qdp does then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSpec {
    pub rule: ClassifierRule,
    pub action: RuleAction,
}

/// The SFC sections of a pipeline, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SfcSpec {
    pub vteps: Vec<(usize, IpAddr, EthernetAddress)>,
    pub neighbors: Vec<NeighborSpec>,
    pub sfs: Vec<SfSpec>,
    pub exits: Vec<ExitSpec>,
    pub paths: Vec<PathSpec>,
    pub rules: Vec<RuleSpec>,
    /// The exit of unmatched traffic (`None`: dropped).
    pub unmatched: Option<usize>,
    pub ttl: u8,
    pub flow_cache: usize,
    pub proxy_flows: usize,
    pub ports: usize,
    pub workers: usize,
    /// Our IPv4 addresses (port index, address).
    pub host4: Vec<(usize, Ipv4Addr)>,
}

/// Looks up the things a pipeline names, each by the field that names it.
struct Names<'p>(&'p Pipeline);

impl Names<'_> {
    fn find<'a>(
        mut names: impl Iterator<Item = &'a str>,
        name: &str,
        field: String,
        what: &'static str,
    ) -> Result<usize, CompileError> {
        names
            .position(|n| n == name)
            .ok_or_else(|| CompileError::Unknown {
                field,
                what,
                name: name.to_string(),
            })
    }

    fn port(&self, name: &str, field: String) -> Result<usize, CompileError> {
        let names = self.0.ports.iter().map(|x| x.name.as_str());
        Self::find(names, name, field, "port")
    }

    fn neighbor(&self, name: &str, field: String) -> Result<usize, CompileError> {
        let names = self.0.neighbors.iter().map(|x| x.name.as_str());
        Self::find(names, name, field, "neighbor")
    }

    fn sf(&self, name: &str, field: String) -> Result<usize, CompileError> {
        let names = self.0.sfs.iter().map(|x| x.name.as_str());
        Self::find(names, name, field, "SF")
    }

    fn exit(&self, name: &str, field: String) -> Result<usize, CompileError> {
        let names = self.0.exits.iter().map(|x| x.name.as_str());
        Self::find(names, name, field, "exit")
    }

    fn path(&self, name: &str, field: String) -> Result<usize, CompileError> {
        let names = self.0.paths.iter().map(|x| x.name.as_str());
        Self::find(names, name, field, "path")
    }
}

fn prefix(p: Prefix) -> IpPrefix {
    match p.addr {
        IpAddr::V4(a) => IpPrefix::ipv4(Ipv4Address(a.octets()), p.len),
        IpAddr::V6(a) => IpPrefix::ipv6(Ipv6Address(a.octets()), p.len),
    }
}

impl SfcSpec {
    /// Resolves the SFC sections of `p`.
    pub fn resolve(p: &Pipeline) -> Result<SfcSpec, CompileError> {
        let n = Names(p);

        let mut vteps = Vec::new();
        for (i, v) in p.vteps.iter().enumerate() {
            vteps.push((
                n.port(&v.port, format!("vteps[{i}].port"))?,
                v.address,
                v.mac,
            ));
        }
        let mut neighbors = Vec::new();
        for (i, nb) in p.neighbors.iter().enumerate() {
            let pi = n.port(&nb.port, format!("neighbors[{i}].port"))?;
            let on_port = |v4: bool| {
                vteps
                    .iter()
                    .find(|(vp, a, _)| *vp == pi && a.is_ipv4() == v4)
            };
            let src_mac = on_port(nb.address.is_none_or(|a| a.is_ipv4()))
                .or_else(|| vteps.iter().find(|(vp, _, _)| *vp == pi))
                .map(|(_, _, m)| *m);
            let no_vtep = |address: IpAddr| CompileError::NoVtep {
                field: format!("neighbors[{i}].address"),
                address,
            };
            let transport = match nb.address {
                None => TransportSpec::Ethernet,
                Some(IpAddr::V4(dst)) => match on_port(true) {
                    Some((_, IpAddr::V4(src), _)) => TransportSpec::Gpe4 { src: *src, dst },
                    _ => return Err(no_vtep(IpAddr::V4(dst))),
                },
                Some(IpAddr::V6(dst)) => match on_port(false) {
                    Some((_, IpAddr::V6(src), _)) => TransportSpec::Gpe6 { src: *src, dst },
                    _ => return Err(no_vtep(IpAddr::V6(dst))),
                },
            };
            neighbors.push(NeighborSpec {
                name: nb.name.clone(),
                port: pi,
                mac: nb.mac,
                src_mac,
                transport,
                vni: nb.vni,
            });
        }
        let mut sfs = Vec::new();
        for (i, s) in p.sfs.iter().enumerate() {
            sfs.push(SfSpec {
                name: s.name.clone(),
                down: s.down,
                weight: s.weight.unwrap_or(1),
                kind: Self::sf_kind(&n, i, s)?,
            });
        }
        let mut exits = Vec::new();
        for (i, e) in p.exits.iter().enumerate() {
            exits.push(ExitSpec {
                name: e.name.clone(),
                port: n.port(&e.port, format!("exits[{i}].port"))?,
                dst_mac: e.dst_mac,
                src_mac: e.src_mac,
                unresolved: e.dst_mac.is_none() && e.gateway.is_some(),
            });
        }
        let mut paths = Vec::new();
        for (i, pc) in p.paths.iter().enumerate() {
            let metadata = if pc.tlvs.is_empty() {
                let mut ctx = [0u8; 16];
                if let Some(c) = &pc.context {
                    ctx =
                        c.0.as_slice()
                            .try_into()
                            .map_err(|_| CompileError::NshHeader {
                                field: format!("paths[{i}].context"),
                                reason: format!("MD type 1 context is 16 bytes, not {}", c.0.len()),
                            })?;
                }
                NshMetadata::Md1(ctx)
            } else {
                NshMetadata::Md2(
                    pc.tlvs
                        .iter()
                        .map(|t| Md2TlvRepr {
                            class: t.class,
                            tlv_type: t.tlv_type,
                            value: t.value.0.clone(),
                        })
                        .collect(),
                )
            };
            let mut hops = Vec::new();
            for (j, h) in pc.hops.iter().enumerate() {
                let hop = Self::hop(&n, h, &|x| format!("paths[{i}].hops[{j}].{x}"))?;
                hops.push((h.si, hop));
            }
            let reverse = match &pc.reverse {
                Some(r) => Some(n.path(r, format!("paths[{i}].reverse"))?),
                None => None,
            };
            paths.push(PathSpec {
                name: pc.name.clone(),
                spi: pc.spi,
                start_si: pc.start_si(),
                metadata,
                hops,
                reverse,
            });
        }
        let mut rules = Vec::new();
        for (i, r) in p.classifier.iter().enumerate() {
            let f = |x: &str| format!("classifier[{i}].{x}");
            let (action, classifier_action) = match (&r.path, &r.exit) {
                (Some(name), _) => {
                    let pi = n.path(name, f("path"))?;
                    let ps = &paths[pi];
                    (
                        RuleAction::Path(pi),
                        ClassifierAction::Path {
                            spi: ps.spi,
                            si: ps.start_si,
                        },
                    )
                }
                (None, Some(name)) => (
                    RuleAction::Exit(n.exit(name, f("exit"))?),
                    ClassifierAction::Pass,
                ),
                (None, None) => (RuleAction::Drop, ClassifierAction::Drop),
            };
            rules.push(RuleSpec {
                rule: Self::rule(&n, r, classifier_action, &f)?,
                action,
            });
        }
        let unmatched = match p.sfc.unmatched.as_str() {
            "drop" => None,
            e => Some(n.exit(e, "sfc.unmatched".to_string())?),
        };
        Ok(SfcSpec {
            vteps,
            neighbors,
            sfs,
            exits,
            paths,
            rules,
            unmatched,
            ttl: p.sfc.ttl,
            flow_cache: p.sfc.flow_cache,
            proxy_flows: p.sfc.proxy_flows,
            ports: p.ports.len(),
            workers: p.workers.len(),
            host4: p.host_addresses(),
        })
    }

    /// An SF's kind and the settings it takes.
    fn sf_kind(n: &Names<'_>, i: usize, s: &SfConfig) -> Result<SfKindSpec, CompileError> {
        let f = |x: &str| format!("sfs[{i}].{x}");
        let missing = |x: &str, reason| CompileError::Shape {
            field: f(x),
            reason,
        };
        Ok(match s.kind {
            SfKind::Counter => SfKindSpec::Counter,
            SfKind::Firewall => {
                let mut rules = Vec::new();
                for (j, r) in s.rules.iter().enumerate() {
                    let action = match r.action {
                        Some(RuleActionWord::Deny) => ClassifierAction::Drop,
                        _ => ClassifierAction::Pass,
                    };
                    rules.push(Self::rule(n, r, action, &|x| {
                        format!("sfs[{i}].rules[{j}].{x}")
                    })?);
                }
                SfKindSpec::Firewall {
                    rules,
                    default_allow: s.default != Some(FirewallDefault::Deny),
                    stateful: s
                        .stateful
                        .then(|| s.connections.unwrap_or(crate::config::DEFAULT_CONNECTIONS)),
                }
            }
            SfKind::Remote => {
                let name = s
                    .neighbor
                    .as_deref()
                    .ok_or_else(|| missing("neighbor", "a remote SF needs neighbor"))?;
                SfKindSpec::Remote {
                    neighbor: n.neighbor(name, f("neighbor"))?,
                }
            }
            SfKind::Proxy => {
                let name = s
                    .port
                    .as_deref()
                    .ok_or_else(|| missing("port", "a proxy SF needs port"))?;
                SfKindSpec::Proxy {
                    port: n.port(name, f("port"))?,
                    vlan: s.vlan,
                    mac: s.mac,
                    unresolved: s.mac.is_none() && s.address.is_some(),
                }
            }
            SfKind::Lb => SfKindSpec::Lb(Self::lb(s, &f)?),
            SfKind::Ids => SfKindSpec::Ids(Self::ids(n.0, s, &f)?),
            SfKind::Group => SfKindSpec::Group {
                members: s
                    .members
                    .iter()
                    .enumerate()
                    .map(|(j, m)| n.sf(m, format!("sfs[{i}].members[{j}]")))
                    .collect::<Result<_, _>>()?,
                fields: s
                    .lb_fields
                    .iter()
                    .fold(Default::default(), |m, x| m | x.bit()),
            },
        })
    }

    /// An `lb` SF's settings.
    fn lb(s: &SfConfig, f: &dyn Fn(&str) -> String) -> Result<LbSpec, CompileError> {
        let lb = s.lb.as_ref().ok_or_else(|| CompileError::Shape {
            field: f("lb"),
            reason: "an lb SF needs lb",
        })?;
        let Some(IpAddr::V4(vip)) = lb.vip else {
            return Err(CompileError::Shape {
                field: f("lb.vip"),
                reason: "an lb SF needs an IPv4 vip",
            });
        };
        let ports = lb
            .vip_ports
            .map_or(PortRange::ANY, |r| PortRange { lo: r.lo, hi: r.hi });
        Ok(LbSpec {
            vip,
            protocol: lb.protocol.map(|p| p.0),
            ports,
            nat: lb.nat != Some(false),
            source_hash: lb.hash == crate::config::LbHash::Source,
            table_size: lb
                .table_size
                .unwrap_or_else(|| crate::tables::maglev::default_size(lb.backends.len())),
            connections: s.connections.unwrap_or(crate::config::DEFAULT_CONNECTIONS),
            backends: lb
                .backends
                .iter()
                .map(|b| BackendSpec {
                    name: b.name.clone(),
                    address: b.address,
                    port: b.port,
                    mac: b.mac,
                    weight: b.weight,
                    down: b.down,
                })
                .collect(),
        })
    }

    /// An `ids` SF's settings, with its rules file read.
    fn ids(
        p: &Pipeline,
        s: &SfConfig,
        f: &dyn Fn(&str) -> String,
    ) -> Result<IdsSpec, CompileError> {
        let ids = s.ids.as_ref();
        let file = ids
            .and_then(|x| x.rules_file.as_deref())
            .map(|r| p.file_path(r))
            .ok_or_else(|| CompileError::Shape {
                field: f("ids.rules_file"),
                reason: "an ids SF needs ids.rules_file",
            })?;
        let text = std::fs::read_to_string(&file).map_err(|e| CompileError::Ids {
            field: f("ids.rules_file"),
            reason: format!("cannot read {}: {e}", file.display()),
        })?;
        let ids = ids.expect("rules_file came from it");
        Ok(IdsSpec {
            rules_file: file,
            text,
            vars: ids.vars.clone(),
            refuse_unsupported: ids.unsupported == crate::config::UnsupportedRules::Refuse,
            inline: ids.mode == crate::config::IdsMode::Inline,
            eve_log: ids
                .eve_log
                .clone()
                .unwrap_or_else(|| crate::config::DEFAULT_EVE_LOG.into()),
        })
    }

    /// A hop's one target.
    fn hop(n: &Names<'_>, h: &HopConfig, f: &dyn Fn(&str) -> String) -> Result<Hop, CompileError> {
        Ok(match (&h.sf, &h.sff, &h.end) {
            (Some(s), None, None) => Hop::Sf(n.sf(s, f("sf"))?),
            (None, Some(x), None) => Hop::Sff(n.neighbor(x, f("sff"))?),
            (None, None, Some(e)) => Hop::End(n.exit(e, f("end"))?),
            _ => {
                return Err(CompileError::Shape {
                    field: f("si"),
                    reason: "a hop takes exactly one of sf, sff or end",
                })
            }
        })
    }

    /// What a classifier or firewall rule matches, with `action`.
    fn rule(
        n: &Names<'_>,
        r: &RuleConfig,
        action: ClassifierAction,
        f: &dyn Fn(&str) -> String,
    ) -> Result<ClassifierRule, CompileError> {
        let in_port = match &r.in_port {
            Some(name) => Some(n.port(name, f("in_port"))? as u16),
            None => None,
        };
        let ports = |x: Option<crate::config::PortRange>| x.map(|x| PortRange::new(x.lo, x.hi));
        Ok(ClassifierRule {
            priority: r.priority,
            in_port,
            vlan: r.vlan,
            src: r.src.map(prefix),
            dst: r.dst.map(prefix),
            protocol: r.protocol.map(|x| x.0),
            src_ports: ports(r.src_ports),
            dst_ports: ports(r.dst_ports),
            action,
        })
    }
}
