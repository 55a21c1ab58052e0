//! The checks of the `lb` and `ids` SFs, the stateful firewall and health probes that serde
//! cannot make. The rules file of an `ids` SF is read and checked when the tables are compiled
//! (`qdp check` does that too), where each refused rule is named by its line and sid.

use std::net::IpAddr;

use super::*;

/// Most backends of one `lb` SF.
pub const MAX_BACKENDS: usize = 1024;

/// Largest weight of a backend or group instance.
pub const MAX_WEIGHT: u32 = 10_000;

impl Pipeline {
    /// The settings only some kinds take, and the `lb`, `ids` and probe settings.
    pub(super) fn validate_service(&self, i: usize, sf: &SfConfig, errs: &mut Vec<ConfigError>) {
        let f = |x: &str| format!("sfs[{i}].{x}");
        let only = |field: &str, present: bool, kinds: &str, errs: &mut Vec<ConfigError>| {
            if present {
                errs.push(ConfigError::new(
                    f(field),
                    format!("only {kinds} takes {field}"),
                ));
            }
        };
        only(
            "lb",
            sf.lb.is_some() && sf.kind != SfKind::Lb,
            "an lb SF",
            errs,
        );
        only(
            "ids",
            sf.ids.is_some() && sf.kind != SfKind::Ids,
            "an ids SF",
            errs,
        );
        only(
            "stateful",
            sf.stateful && sf.kind != SfKind::Firewall,
            "a firewall SF",
            errs,
        );
        only(
            "connections",
            sf.connections.is_some() && !matches!(sf.kind, SfKind::Firewall | SfKind::Lb),
            "a firewall or lb SF",
            errs,
        );
        only(
            "probe",
            sf.probe.is_some()
                && !(sf.kind == SfKind::Lb || (sf.kind == SfKind::Proxy && sf.address.is_some())),
            "an lb SF or a proxy SF with address",
            errs,
        );
        if let Some(w) = sf.weight {
            if w > MAX_WEIGHT {
                errs.push(ConfigError::new(
                    f("weight"),
                    format!("must be 0..={MAX_WEIGHT}"),
                ));
            }
        }
        if let Some(c) = sf.connections {
            if !(16..=1 << 22).contains(&c) {
                errs.push(ConfigError::new(f("connections"), "must be 16..=4194304"));
            }
        }
        if let Some(p) = &sf.probe {
            self.validate_probe(&f("probe"), p, sf, errs);
        }
        match sf.kind {
            SfKind::Lb => match &sf.lb {
                None => errs.push(ConfigError::new(
                    f("lb"),
                    "an lb SF needs lb (its vip and backends)",
                )),
                Some(lb) => self.validate_lb(i, sf, lb, errs),
            },
            SfKind::Ids => match &sf.ids {
                Some(ids) if ids.rules_file.is_some() => {
                    for k in ids.vars.keys() {
                        if k.is_empty() || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                        {
                            errs.push(ConfigError::new(
                                f(&format!("ids.vars.{k}")),
                                "a variable name is letters, digits and '_'",
                            ));
                        }
                    }
                }
                _ => errs.push(ConfigError::new(
                    f("ids.rules_file"),
                    "an ids SF needs ids.rules_file",
                )),
            },
            _ => {}
        }
    }

    fn validate_lb(&self, i: usize, sf: &SfConfig, lb: &LbSettings, errs: &mut Vec<ConfigError>) {
        let f = |x: &str| format!("sfs[{i}].lb.{x}");
        let vip = match lb.vip {
            None => {
                errs.push(ConfigError::new(f("vip"), "an lb SF needs a vip"));
                None
            }
            Some(IpAddr::V6(_)) => {
                errs.push(ConfigError::new(f("vip"), "must be an IPv4 address"));
                None
            }
            Some(IpAddr::V4(a)) => Some(a),
        };
        if let Some(p) = lb.protocol {
            if p.0 != 6 && p.0 != 17 {
                errs.push(ConfigError::new(f("protocol"), "must be tcp or udp"));
            }
        }
        let port = match &sf.port {
            None => {
                errs.push(ConfigError::new(
                    format!("sfs[{i}].port"),
                    "an lb SF needs port (where its backends are)",
                ));
                None
            }
            Some(p) => {
                if self.port_index(p).is_none() {
                    errs.push(ConfigError::new(
                        format!("sfs[{i}].port"),
                        format!("names no port called '{p}'"),
                    ));
                }
                self.ports.iter().find(|x| &x.name == p)
            }
        };
        if lb.backends.is_empty() {
            errs.push(ConfigError::new(
                f("backends"),
                "an lb SF needs at least one backend",
            ));
        }
        if lb.backends.len() > MAX_BACKENDS {
            errs.push(ConfigError::new(
                f("backends"),
                format!("at most {MAX_BACKENDS} backends"),
            ));
        }
        if let Some(m) = lb.table_size {
            if !crate::tables::maglev::is_prime(m)
                || m > crate::tables::maglev::MAX_SIZE
                || m < lb.backends.len().max(2)
            {
                errs.push(ConfigError::new(
                    f("table_size"),
                    format!(
                        "must be a prime from the number of backends up to {} (the default is \
                         the smallest prime >= 100 x backends)",
                        crate::tables::maglev::MAX_SIZE
                    ),
                ));
            }
        }
        let single_vip_port = lb.vip_ports.filter(|r| r.lo == r.hi).map(|r| r.lo);
        for (j, b) in lb.backends.iter().enumerate() {
            let bf = |x: &str| format!("sfs[{i}].lb.backends[{j}].{x}");
            super::check_name(&b.name, &bf("name"), errs);
            if let Some(first) = lb.backends[..j].iter().position(|o| o.name == b.name) {
                errs.push(ConfigError::new(
                    bf("name"),
                    format!("duplicate backend '{}' (also backends[{first}])", b.name),
                ));
            }
            if let Some(first) = lb.backends[..j].iter().position(|o| o.address == b.address) {
                errs.push(ConfigError::new(
                    bf("address"),
                    format!(
                        "duplicate backend address {} (also backends[{first}])",
                        b.address
                    ),
                ));
            }
            if Some(b.address) == vip {
                errs.push(ConfigError::new(bf("address"), "is the VIP itself"));
            }
            if b.weight > MAX_WEIGHT {
                errs.push(ConfigError::new(
                    bf("weight"),
                    format!("must be 0..={MAX_WEIGHT}"),
                ));
            }
            if b.port.is_some() && single_vip_port.is_none() {
                errs.push(ConfigError::new(
                    bf("port"),
                    "a backend port needs a VIP of one port (vip_ports = N): replies are \
                     translated back to it",
                ));
            }
            if b.port == Some(0) {
                errs.push(ConfigError::new(bf("port"), "must be 1..=65535"));
            }
            if lb.nat == Some(false) && b.port.is_some() {
                errs.push(ConfigError::new(
                    bf("port"),
                    "without NAT the destination port is kept: leave port out",
                ));
            }
            if let (None, Some(p)) = (b.mac, &sf.port) {
                self.arp_source_check(bf("address"), p, b.address, errs);
            }
        }
        // The VIP must not be an address of the backends' link: there, the backends (or qdp)
        // would answer for it themselves.
        if let (Some(v), Some(pc)) = (vip, port) {
            for a in &pc.addresses {
                if let IpAddr::V4(net) = a.addr {
                    let mask = u32::MAX.checked_shl(32 - u32::from(a.len)).unwrap_or(0);
                    if u32::from(net) & mask == u32::from(v) & mask {
                        errs.push(ConfigError::new(
                            f("vip"),
                            format!(
                                "{v} lies inside the backends' prefix {}/{} (port '{}')",
                                net, a.len, pc.name
                            ),
                        ));
                    }
                }
            }
        }
    }

    fn validate_probe(
        &self,
        field: &str,
        p: &ProbeConfig,
        sf: &SfConfig,
        errs: &mut Vec<ConfigError>,
    ) {
        let f = |x: &str| format!("{field}.{x}");
        if !(10..=60_000).contains(&p.interval_ms) {
            errs.push(ConfigError::new(f("interval_ms"), "must be 10..=60000"));
        }
        if p.timeout_ms == 0 || p.timeout_ms > p.interval_ms {
            errs.push(ConfigError::new(
                f("timeout_ms"),
                "must be 1 up to interval_ms",
            ));
        }
        for (name, v) in [("rise", p.rise), ("fall", p.fall)] {
            if !(1..=100).contains(&v) {
                errs.push(ConfigError::new(f(name), "must be 1..=100"));
            }
        }
        match p.kind {
            ProbeKind::Icmp => {
                if p.port.is_some() {
                    errs.push(ConfigError::new(f("port"), "an icmp probe has no port"));
                }
            }
            ProbeKind::Tcp => {
                let fallback = sf.lb.as_ref().is_some_and(|lb| {
                    lb.vip_ports.is_some_and(|r| r.lo == r.hi)
                        || lb.backends.iter().all(|b| b.port.is_some())
                });
                if p.port.is_none() && !fallback {
                    errs.push(ConfigError::new(
                        f("port"),
                        "a tcp probe needs port (or backends with port, or a VIP of one port)",
                    ));
                }
                if p.port == Some(0) {
                    errs.push(ConfigError::new(f("port"), "must be 1..=65535"));
                }
            }
        }
    }
}
