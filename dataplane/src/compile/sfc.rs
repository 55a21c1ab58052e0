//! Builds the [`SfcTables`] from a resolved [`SfcSpec`]: each neighbour's outer header template
//! (with `wire`'s emitters, off the fast path), SF instances with their compiled firewall rules,
//! exits, every path's NSH header and its hops in the shared arena, and the classifier with the
//! reverse rule of each rule whose path names a reverse path.

use std::net::IpAddr;
use std::sync::Arc;

use super::resolve::{SfKindSpec, SfcSpec, TransportSpec};
use super::CompileError;
use crate::config::Pipeline;
use crate::tables::classifier::{Classifier, ClassifierRule};
use crate::tables::sfc::{
    Exit, Hop, Neighbor, PathHops, PathStart, RuleAction, Sf, SfCounter, SfImpl, SfcTables,
    SpiTable, Transport,
};
use crate::wire::encap::{EthTemplate, Gpe4Template, Gpe6Template};
use crate::wire::{nsh, EthernetAddress, Ipv4Address, Ipv6Address, NshNextProtocol, NshRepr};

/// Compiles the SFC sections of a pipeline. `port_macs` are the MAC addresses of the pipeline's
/// ports (source MAC of what leaves them unless a VTEP or exit says otherwise). With `prev`, the
/// running tables: SFs that keep their name keep their packet counters.
pub fn sfc_tables(
    p: &Pipeline,
    port_macs: &[[u8; 6]],
    prev: Option<&SfcTables>,
) -> Result<SfcTables, CompileError> {
    build(&SfcSpec::resolve(p)?, port_macs, prev)
}

/// Builds the tables of a resolved spec.
pub fn build(
    s: &SfcSpec,
    port_macs: &[[u8; 6]],
    prev: Option<&SfcTables>,
) -> Result<SfcTables, CompileError> {
    let port_mac = |i: usize| EthernetAddress(port_macs.get(i).copied().unwrap_or([0; 6]));
    let neighbors = s
        .neighbors
        .iter()
        .map(|n| {
            let dst = n.mac.unwrap_or(EthernetAddress([0; 6]));
            let src = n.src_mac.unwrap_or_else(|| port_mac(n.port));
            let transport = match n.transport {
                TransportSpec::Ethernet => Transport::Ethernet(EthTemplate::new(dst, src)),
                TransportSpec::Gpe4 { src: a, dst: b } => Transport::Gpe4(Gpe4Template::new(
                    dst,
                    src,
                    Ipv4Address(a.octets()),
                    Ipv4Address(b.octets()),
                    n.vni,
                )),
                TransportSpec::Gpe6 { src: a, dst: b } => Transport::Gpe6(Gpe6Template::new(
                    dst,
                    src,
                    Ipv6Address(a.octets()),
                    Ipv6Address(b.octets()),
                    n.vni,
                )),
            };
            Neighbor {
                port: n.port,
                unresolved: n.mac.is_none(),
                transport,
            }
        })
        .collect();

    let counter_for = |name: &str| {
        prev.and_then(|t| t.sfs.iter().find(|x| x.name == name))
            .map(|x| Arc::clone(&x.counter))
            .unwrap_or_else(|| SfCounter::new(s.workers))
    };
    let mut sfs = Vec::new();
    let mut proxies = crate::tables::sfc::ProxyMap::default();
    for (i, sf) in s.sfs.iter().enumerate() {
        let imp = match &sf.kind {
            SfKindSpec::Counter => SfImpl::Counter,
            SfKindSpec::Firewall {
                rules,
                default_allow,
                stateful,
            } => SfImpl::Firewall {
                rules: Classifier::new(rules.clone()).map_err(|e| CompileError::Rules {
                    field: format!("sfs[{i}].rules"),
                    source: e,
                })?,
                default_allow: *default_allow,
                stateful: *stateful,
            },
            SfKindSpec::Lb(lb) => SfImpl::Lb(Box::new(super::service::lb(lb))),
            SfKindSpec::Ids(ids) => {
                SfImpl::Ids(Box::new(super::service::ids(i, &sf.name, ids, s, prev)?))
            }
            SfKindSpec::Remote { neighbor } => SfImpl::Remote(*neighbor),
            SfKindSpec::Proxy {
                port,
                vlan,
                mac,
                unresolved,
            } => {
                proxies.insert((*port, *vlan), i);
                SfImpl::Proxy {
                    port: *port,
                    vlan: *vlan,
                    mac: mac.map(|m| m.0),
                    unresolved: *unresolved,
                }
            }
            SfKindSpec::Group { members, fields } => SfImpl::Group {
                members: members.clone(),
                maglev: super::service::group_table(s, members),
                fields: *fields,
            },
        };
        sfs.push(Sf {
            name: sf.name.clone(),
            imp,
            down: sf.down,
            counter: counter_for(&sf.name),
        });
    }
    let exits: Vec<Exit> = s
        .exits
        .iter()
        .map(|e| Exit {
            port: e.port,
            dst_mac: e.dst_mac.map(|m| m.0),
            src_mac: e.src_mac.unwrap_or_else(|| port_mac(e.port)).0,
            unresolved: e.unresolved,
        })
        .collect();

    let mut paths = Vec::new();
    let mut sff = Vec::new();
    let mut hop_arena: Vec<Option<Hop>> = Vec::new();
    for (i, path) in s.paths.iter().enumerate() {
        let repr = NshRepr {
            o_bit: false,
            ttl: s.ttl,
            next_protocol: NshNextProtocol::Ethernet,
            spi: path.spi,
            si: path.start_si,
            metadata: path.metadata.clone(),
        };
        repr.check().map_err(|e| CompileError::NshHeader {
            field: format!("paths[{i}]"),
            reason: e.to_string(),
        })?;
        let mut hdr = vec![0u8; repr.header_len()];
        repr.emit(&mut nsh::Packet::new_unchecked(&mut hdr[..]));
        paths.push(PathStart { nsh: hdr });
        let lo = path.hops.iter().map(|h| h.0).min().unwrap_or(0);
        let hi = path.hops.iter().map(|h| h.0).max().unwrap_or(0);
        let place = PathHops {
            offset: hop_arena.len() as u32,
            lo,
            len: u16::from(hi - lo) + u16::from(!path.hops.is_empty()),
        };
        hop_arena.resize(hop_arena.len() + usize::from(place.len), None);
        // A reverse path's groups that pick by fields read them from the other end.
        let is_reverse = s.paths.iter().any(|p| p.reverse == Some(i));
        for &(si, hop) in &path.hops {
            let hop = match hop {
                Hop::Sf(x) if is_reverse && !by_fields(&s.sfs[x].kind) => hop,
                Hop::Sf(x) if is_reverse => Hop::SfReverse(x),
                other => other,
            };
            // Resolved: at most one hop per SI.
            hop_arena[place.offset as usize + usize::from(si - lo)] = Some(hop);
        }
        sff.push((path.spi, place));
    }

    // Classifier rules, plus the reverse rule of each rule whose path names a reverse path:
    // addresses and ports swapped, arriving on the port the forward path leaves by.
    let mut rules: Vec<ClassifierRule> = s.rules.iter().map(|r| r.rule.clone()).collect();
    let mut rule_actions: Vec<RuleAction> = s.rules.iter().map(|r| r.action).collect();
    for r in &s.rules {
        let RuleAction::Path(pi) = r.action else {
            continue;
        };
        let Some(ri) = s.paths[pi].reverse else {
            continue;
        };
        let fwd = &r.rule;
        // A path that leaves this qdp by no exit (it ends at a remote SFF, whose qdp classifies
        // the replies) has no reverse rule here.
        let Some(exit_port) = s.paths[pi].hops.iter().find_map(|&(_, h)| match h {
            Hop::End(x) => Some(exits[x].port as u16),
            _ => None,
        }) else {
            continue;
        };
        let exit_port = Some(exit_port);
        let rev = &s.paths[ri];
        rules.push(ClassifierRule {
            in_port: exit_port,
            src: fwd.dst,
            dst: fwd.src,
            src_ports: fwd.dst_ports,
            dst_ports: fwd.src_ports,
            action: crate::tables::classifier::ClassifierAction::Path {
                spi: rev.spi,
                si: rev.start_si,
            },
            ..fwd.clone()
        });
        rule_actions.push(RuleAction::Path(ri));
    }
    let classifier = Classifier::new(rules).map_err(|e| CompileError::Rules {
        field: "classifier".into(),
        source: e,
    })?;
    let vtep4: Vec<u32> = s
        .vteps
        .iter()
        .filter_map(|(_, a, _)| match a {
            IpAddr::V4(v4) => Some(u32::from_ne_bytes(v4.octets())),
            IpAddr::V6(_) => None,
        })
        .collect();
    let fast_ports = (0..s.ports.min(64))
        .filter(|i| !proxies.contains_key(&(*i, None)))
        .fold(0u64, |m, i| m | 1 << i);
    let host4: Vec<(usize, [u8; 4])> = s.host4.iter().map(|(i, a)| (*i, a.octets())).collect();
    let mut not_plain4: Vec<u32> = vtep4.clone();
    not_plain4.extend(host4.iter().map(|(_, a)| u32::from_ne_bytes(*a)));
    not_plain4.sort_unstable();
    not_plain4.dedup();
    let mut t = SfcTables {
        vteps: s.vteps.iter().map(|(p, a, _)| (*p, *a)).collect(),
        vtep4,
        neighbors,
        sfs,
        exits,
        paths,
        sff: SpiTable::new(sff),
        hop_arena,
        classifier,
        rule_actions,
        unmatched: s.unmatched,
        proxies,
        flow_cache: s.flow_cache,
        proxy_flows: s.proxy_flows,
        host4,
        fast_ports,
        starts: Vec::new(),
        id: crate::tables::sfc::next_tables_id(),
        not_plain4,
        path_names: s.paths.iter().map(|x| x.name.clone()).collect(),
        exit_names: s.exits.iter().map(|x| x.name.clone()).collect(),
        neighbor_names: s.neighbors.iter().map(|x| x.name.clone()).collect(),
    };
    t.starts = (0..t.paths.len()).map(|pi| t.fast_start(pi)).collect();
    Ok(t)
}

/// Whether an SF is a group that picks its instance by chosen fields.
fn by_fields(k: &SfKindSpec) -> bool {
    matches!(k, SfKindSpec::Group { fields, .. } if !fields.is_empty())
}
