//! The checks of the SFC sections that serde cannot make (RFC 7665, RFC 8300), which `qdp check`
//! runs before anything starts: names unique and references resolved; every SI reachable from
//! a classifier rule has a next hop; no forwarding loop to our own VTEP; every path ends; SI
//! never underflows; frames of the inner MTU fit the underlay MTU once encapsulated; addresses
//! resolved by ARP have one of ours to ask from. Each error names its field.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use super::*;

impl Pipeline {
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
            self.validate_service(i, sf, errs);
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
    pub(super) fn arp_source_check(
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
            }
            SfKind::Counter | SfKind::Lb | SfKind::Ids => {}
        }
        if sf.kind != SfKind::Group && !sf.lb_fields.is_empty() {
            errs.push(ConfigError::new(
                f("lb_fields"),
                "only a group has lb_fields",
            ));
        }
        for (j, x) in sf.lb_fields.iter().enumerate() {
            if sf.lb_fields[..j].contains(x) {
                errs.push(ConfigError::new(
                    format!("sfs[{i}].lb_fields[{j}]"),
                    "named twice",
                ));
            }
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
            if c.0.len() != 16 {
                errs.push(ConfigError::new(
                    f("context"),
                    format!("MD type 1 context is 16 bytes, not {}", c.0.len()),
                ));
            }
            if !p.tlvs.is_empty() {
                errs.push(ConfigError::new(
                    f("context"),
                    "give an MD type 1 context or MD type 2 tlvs, not both",
                ));
            }
        }
        for (j, t) in p.tlvs.iter().enumerate() {
            if t.value.0.len() > crate::wire::nsh::TLV_VALUE_MAX {
                errs.push(ConfigError::new(
                    format!("paths[{i}].tlvs[{j}].value"),
                    "at most 127 bytes",
                ));
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
        let Some(ei) = self.port_index(&nb.port) else {
            return;
        };
        let port = &self.ports[ei];
        let underlay = usize::from(port.mtu.unwrap_or(1500));
        let overhead = transport_overhead(p.nsh_len(), nb);
        let need = usize::from(self.sfc.inner_mtu) + 14 + overhead;
        if need > underlay {
            errs.push(ConfigError::new(
                field.to_string(),
                format!(
                    "an inner packet of sfc.inner_mtu {} B needs {need} B on port '{}' once encapsulated, above its MTU {underlay}: raise ports.mtu or lower sfc.inner_mtu",
                    self.sfc.inner_mtu, port.name
                ),
            ));
        }
        // Frames classified onto the path from a port with an mtu, toward a port with one: the
        // largest that port takes, once encapsulated, must fit the other.
        let Some(has) = port.mtu.map(usize::from) else {
            return;
        };
        for r in self
            .classifier
            .iter()
            .filter(|r| r.path.as_deref() == Some(p.name.as_str()))
        {
            let Some(ii) = r.in_port.as_deref().and_then(|n| self.port_index(n)) else {
                continue;
            };
            let Some(in_mtu) = self.ports[ii].mtu.map(usize::from) else {
                continue;
            };
            let need = in_mtu + 14 + overhead;
            let e = ConfigError::new(
                format!("ports[{ei}].mtu"),
                format!(
                    "{has} is too small for path '{}': a packet of ports[{ii}].mtu {in_mtu} B from port '{}' leaves port '{}' as {need} B (inner Ethernet 14 B, encapsulation {overhead} B): needs {need}, has {has}",
                    p.name, self.ports[ii].name, port.name
                ),
            );
            if need > has && !errs.contains(&e) {
                errs.push(e);
            }
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
        if let (Some(s), Some(d)) = (r.src, r.dst) {
            if s.addr.is_ipv4() != d.addr.is_ipv4() {
                errs.push(ConfigError::new(
                    f("dst"),
                    "src and dst must be of the same address family",
                ));
            }
        }
        if firewall {
            if r.path.is_some() || r.exit.is_some() {
                errs.push(ConfigError::new(
                    f("path"),
                    "firewall rules take only action",
                ));
            }
            match r.action {
                Some(RuleActionWord::Allow | RuleActionWord::Deny) => {}
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
        if let Some(a) = r.action {
            if a != RuleActionWord::Drop {
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
