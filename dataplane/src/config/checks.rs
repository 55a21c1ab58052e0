//! The checks of the non-SFC sections of a pipeline file that serde cannot make: ranges, the
//! EAL's cores, mempool sizes, ports (PCI addresses, vdev arguments, queues, MTU, addresses),
//! workers and the queues they poll, cross-connects, the control section. Each error names its
//! field.

use std::collections::{BTreeMap, BTreeSet};

use super::*;
use crate::packet::MAX_BURST;

/// Largest `ports.mtu`: jumbo frames (9000 bytes of IP and the encapsulation around them).
pub const MAX_MTU: u16 = 9600;

impl Pipeline {
    pub(super) fn validate_control(&self, errs: &mut Vec<ConfigError>) {
        for (i, p) in self.ports.iter().enumerate() {
            for (j, a) in p.addresses.iter().enumerate() {
                if !a.addr.is_ipv4() {
                    errs.push(ConfigError::new(
                        format!("ports[{i}].addresses[{j}]"),
                        format!("'{a}': only IPv4 addresses are answered for"),
                    ));
                }
            }
        }
        let c = &self.control;
        if c.socket.as_os_str().is_empty() {
            errs.push(ConfigError::new("control.socket", "must not be empty"));
        }
        if !(1..=4096).contains(&c.max_clients) {
            errs.push(ConfigError::new(
                "control.max_clients",
                "must be between 1 and 4096",
            ));
        }
        for (field, group) in [
            ("control.group", &c.group),
            ("control.readonly_group", &c.readonly_group),
        ] {
            if let Some(g) = group {
                if !matches!(nix::unistd::Group::from_name(g), Ok(Some(_))) {
                    errs.push(ConfigError::new(
                        field,
                        format!("no group called '{g}' on this machine"),
                    ));
                }
            }
        }
        if c.readonly_group.is_some() && c.readonly_group == c.group {
            errs.push(ConfigError::new(
                "control.readonly_group",
                "must differ from control.group (whose members may run every command)",
            ));
        }
        for (field, dir) in [
            ("control.capture_dir", Some(&c.capture_dir)),
            ("control.reload_dir", c.reload_dir.as_ref()),
        ] {
            if let Some(d) = dir {
                if !d.is_absolute() {
                    errs.push(ConfigError::new(
                        field,
                        format!("'{}' must be an absolute path", d.display()),
                    ));
                }
            }
        }
        if !CAPTURE_MAX_BYTES_RANGE.contains(&c.capture_max_bytes) {
            errs.push(ConfigError::new(
                "control.capture_max_bytes",
                format!(
                    "{} is not between {} and {}",
                    c.capture_max_bytes,
                    CAPTURE_MAX_BYTES_RANGE.start(),
                    CAPTURE_MAX_BYTES_RANGE.end()
                ),
            ));
        }
        if let Some(a) = &c.metrics_listen {
            match a.parse::<std::net::SocketAddr>() {
                Ok(sa) if sa.ip().is_loopback() => {}
                Ok(_) => errs.push(ConfigError::new(
                    "control.metrics_listen",
                    format!("'{a}' is not a loopback address (use 127.0.0.1:PORT or [::1]:PORT)"),
                )),
                Err(_) => errs.push(ConfigError::new(
                    "control.metrics_listen",
                    format!("'{a}' is not an address:port"),
                )),
            }
        }
    }

    pub(super) fn validate_eal(&self, errs: &mut Vec<ConfigError>) {
        let eal = &self.eal;
        if eal.cores.is_empty() {
            errs.push(ConfigError::new("eal.cores", "must list at least one CPU"));
        }
        let mut seen = BTreeSet::new();
        for (i, c) in eal.cores.iter().enumerate() {
            if !seen.insert(*c) {
                errs.push(ConfigError::new(
                    format!("eal.cores[{i}]"),
                    format!("CPU {c} is listed twice"),
                ));
            }
            if *c >= 1024 {
                errs.push(ConfigError::new(
                    format!("eal.cores[{i}]"),
                    format!("CPU {c} is out of range (0..1023)"),
                ));
            }
        }
        if let Some(m) = eal.main_core {
            if !eal.cores.contains(&m) {
                errs.push(ConfigError::new(
                    "eal.main_core",
                    format!("CPU {m} is not in eal.cores"),
                ));
            }
        }
        if eal.file_prefix.is_empty()
            || !eal
                .file_prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            errs.push(ConfigError::new(
                "eal.file_prefix",
                "must be non-empty and made of letters, digits, '-' and '_'",
            ));
        }
        if eal.memory_mb < 64 {
            errs.push(ConfigError::new("eal.memory_mb", "must be at least 64 MiB"));
        }
        const LEVELS: [&str; 8] = [
            "emergency",
            "alert",
            "critical",
            "error",
            "warning",
            "notice",
            "info",
            "debug",
        ];
        if !LEVELS.contains(&eal.log_level.as_str()) {
            errs.push(ConfigError::new(
                "eal.log_level",
                format!(
                    "unknown level '{}'; one of {}",
                    eal.log_level,
                    LEVELS.join(", ")
                ),
            ));
        }
    }

    pub(super) fn validate_mempool(&self, errs: &mut Vec<ConfigError>) {
        let mp = &self.mempool;
        if mp.mbufs == 0 {
            errs.push(ConfigError::new("mempool.mbufs", "must be greater than 0"));
        } else if mp.mbufs < 1024 {
            errs.push(ConfigError::new(
                "mempool.mbufs",
                format!("{} is too small: at least 1024 mbufs", mp.mbufs),
            ));
        }
        if mp.cache > MEMPOOL_CACHE_MAX {
            errs.push(ConfigError::new(
                "mempool.cache",
                format!("{} exceeds DPDK's limit of {MEMPOOL_CACHE_MAX}", mp.cache),
            ));
        } else if mp.mbufs > 0 && u64::from(mp.cache) * 3 > u64::from(mp.mbufs) * 2 {
            errs.push(ConfigError::new(
                "mempool.cache",
                format!(
                    "{} is too large for {} mbufs (at most mbufs / 1.5)",
                    mp.cache, mp.mbufs
                ),
            ));
        }
        let headroom = 128;
        if mp.data_room < headroom + 64 || mp.data_room > 65535 {
            errs.push(ConfigError::new(
                "mempool.data_room",
                format!(
                    "{} is out of range ({}..=65535 bytes, headroom included)",
                    mp.data_room,
                    headroom + 64
                ),
            ));
        }
    }

    pub(super) fn validate_ports(&self, errs: &mut Vec<ConfigError>) {
        if self.ports.len() > MAX_PORTS {
            errs.push(ConfigError::new(
                "ports",
                format!("{} ports; at most {MAX_PORTS}", self.ports.len()),
            ));
        }
        let mut names = BTreeMap::new();
        let mut devices = BTreeMap::new();
        for (i, p) in self.ports.iter().enumerate() {
            let f = |name: &str| format!("ports[{i}].{name}");
            check_name(&p.name, &f("name"), errs);
            if let Some(first) = names.insert(p.name.as_str(), i) {
                errs.push(ConfigError::new(
                    f("name"),
                    format!("duplicate port name '{}' (also ports[{first}])", p.name),
                ));
            }
            let device = match (&p.pci, &p.vdev) {
                (Some(_), Some(_)) => {
                    errs.push(ConfigError::new(
                        f("pci"),
                        "give either pci or vdev, not both",
                    ));
                    None
                }
                (None, None) => {
                    errs.push(ConfigError::new(
                        f("pci"),
                        "a port needs a pci address or vdev arguments",
                    ));
                    None
                }
                (Some(pci), None) => match normalize_pci(pci) {
                    Some(n) => Some(n),
                    None => {
                        errs.push(ConfigError::new(
                            f("pci"),
                            format!(
                                "'{pci}' is not a PCI address (domain:bus:device.function, e.g. 0000:03:02.0)"
                            ),
                        ));
                        None
                    }
                },
                (None, Some(v)) => {
                    let dev = vdev_name(v);
                    if dev.is_empty()
                        || !dev.starts_with("net_")
                        || !dev.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    {
                        errs.push(ConfigError::new(
                            f("vdev"),
                            format!(
                                "'{v}' does not start with a device name such as net_pcap0 or net_null1"
                            ),
                        ));
                        None
                    } else {
                        if let Err(e) = vdev::check_socket(v) {
                            errs.push(ConfigError::new(f("vdev"), e));
                        }
                        Some(dev.to_string())
                    }
                }
            };
            if let Some(d) = device {
                if let Some(first) = devices.insert(d.clone(), i) {
                    errs.push(ConfigError::new(
                        if p.pci.is_some() { f("pci") } else { f("vdev") },
                        format!("device {d} is already used by ports[{first}]"),
                    ));
                }
            }
            if p.rx_queues > 64 {
                errs.push(ConfigError::new(
                    f("rx_queues"),
                    format!("{} is too many (at most 64)", p.rx_queues),
                ));
            }
            for (field, n) in [("rx_desc", p.rx_desc), ("tx_desc", p.tx_desc)] {
                if !(32..=16384).contains(&n) || !n.is_power_of_two() {
                    errs.push(ConfigError::new(
                        f(field),
                        format!("{n} must be a power of two between 32 and 16384"),
                    ));
                }
            }
            if let Some(mtu) = p.mtu {
                // Frames over one mbuf arrive as chains (scatter), whose first segment must hold
                // every header.
                let segment = self.mempool.data_room.saturating_sub(128);
                if !(68..=MAX_MTU).contains(&mtu) {
                    errs.push(ConfigError::new(
                        f("mtu"),
                        format!("{mtu} is out of range (68..={MAX_MTU})"),
                    ));
                } else if u32::from(mtu) + 18 > segment
                    && segment < crate::packet::FIRST_SEGMENT_MIN as u32
                {
                    errs.push(ConfigError::new(
                        f("mtu"),
                        format!(
                            "{mtu} needs frames over one mbuf, received as chains, and mempool.data_room {} leaves their first segment {segment} B, under the {} B that hold the headers: raise mempool.data_room or lower the mtu",
                            self.mempool.data_room,
                            crate::packet::FIRST_SEGMENT_MIN
                        ),
                    ));
                }
            }
            if let Some(t) = &p.traffic {
                let is_pcap = p.vdev.as_deref().is_some_and(|v| v.starts_with("net_pcap"));
                if !is_pcap {
                    errs.push(ConfigError::new(
                        f("traffic"),
                        "generated traffic needs a net_pcap vdev to replay it",
                    ));
                } else if p.vdev.as_deref().is_some_and(|v| v.contains("rx_pcap=")) {
                    errs.push(ConfigError::new(
                        f("traffic"),
                        "the vdev already names an rx_pcap file; drop one of the two",
                    ));
                }
                if t.flows == 0 || t.flows > 1_000_000 {
                    errs.push(ConfigError::new(
                        f("traffic.flows"),
                        format!("{} is out of range (1..=1000000)", t.flows),
                    ));
                }
                if !(60..=1514).contains(&t.frame_size) {
                    errs.push(ConfigError::new(
                        f("traffic.frame_size"),
                        format!("{} is out of range (60..=1514 bytes)", t.frame_size),
                    ));
                }
                if t.flows >= self.mempool.mbufs / 2 {
                    errs.push(ConfigError::new(
                        f("traffic.flows"),
                        format!(
                            "{} frames replayed from memory need more than mempool.mbufs / 2 = {}",
                            t.flows,
                            self.mempool.mbufs / 2
                        ),
                    ));
                }
            }
        }
    }

    pub(super) fn validate_workers(&self, errs: &mut Vec<ConfigError>) {
        if self.workers.is_empty() {
            errs.push(ConfigError::new("workers", "at least one worker is needed"));
        }
        let mut names = BTreeMap::new();
        let mut polled: BTreeMap<RxRef, usize> = BTreeMap::new();
        let mut cores: BTreeMap<u32, usize> = BTreeMap::new();
        for (i, w) in self.workers.iter().enumerate() {
            let f = |name: &str| format!("workers[{i}].{name}");
            check_name(&w.name, &f("name"), errs);
            if let Some(first) = names.insert(w.name.as_str(), i) {
                errs.push(ConfigError::new(
                    f("name"),
                    format!("duplicate worker name '{}' (also workers[{first}])", w.name),
                ));
            }
            if !self.eal.cores.contains(&w.core) {
                errs.push(ConfigError::new(
                    f("core"),
                    format!("CPU {} is not in eal.cores {:?}", w.core, self.eal.cores),
                ));
            }
            if let Some(first) = cores.insert(w.core, i) {
                errs.push(ConfigError::new(
                    f("core"),
                    format!(
                        "CPU {} already runs workers[{first}]; one poll-mode worker per core",
                        w.core
                    ),
                ));
            }
            if w.burst == 0 || w.burst > MAX_BURST {
                errs.push(ConfigError::new(
                    f("burst"),
                    format!("{} is out of range (1..={MAX_BURST})", w.burst),
                ));
            }
            if w.idle == IdleMode::Sleep && (w.sleep_us == 0 || w.sleep_us > 100_000) {
                errs.push(ConfigError::new(
                    f("sleep_us"),
                    format!("{} is out of range (1..=100000 µs)", w.sleep_us),
                ));
            }
            if w.rx.is_empty() {
                errs.push(ConfigError::new(f("rx"), "polls no queue"));
            }
            for (j, entry) in w.rx.iter().enumerate() {
                let field = format!("workers[{i}].rx[{j}]");
                let Some(r) = self.resolve_rx(entry) else {
                    let port = entry.split(':').next().unwrap_or("");
                    if self.port_index(port).is_none() {
                        errs.push(ConfigError::new(
                            field,
                            format!("'{entry}' names no port called '{port}'"),
                        ));
                    } else {
                        errs.push(ConfigError::new(
                            field,
                            format!("'{entry}' is not port:queue with a numeric queue"),
                        ));
                    }
                    continue;
                };
                let port = &self.ports[r.port];
                if r.queue >= port.rx_queues {
                    errs.push(ConfigError::new(
                        field.clone(),
                        format!(
                            "port '{}' has {} rx queue(s); queue {} does not exist",
                            port.name, port.rx_queues, r.queue
                        ),
                    ));
                }
                if let Some(other) = polled.insert(r, i) {
                    errs.push(ConfigError::new(
                        field,
                        format!(
                            "queue {}:{} is already polled by workers[{other}]",
                            port.name, r.queue
                        ),
                    ));
                }
            }
        }
        for (pi, p) in self.ports.iter().enumerate() {
            for q in 0..p.rx_queues {
                if !polled.contains_key(&RxRef { port: pi, queue: q }) {
                    errs.push(ConfigError::new(
                        format!("ports[{pi}].rx_queues"),
                        format!(
                            "rx queue {q} of port '{}' is polled by no worker (set rx_queues = 0 for a transmit-only port)",
                            p.name
                        ),
                    ));
                }
            }
        }
    }

    pub(super) fn validate_cross_connects(&self, errs: &mut Vec<ConfigError>) {
        let mut used: BTreeMap<usize, usize> = BTreeMap::new();
        for (i, x) in self.cross_connect.iter().enumerate() {
            let mut ends = Vec::new();
            for (field, name) in [("a", &x.a), ("b", &x.b)] {
                match self.port_index(name) {
                    Some(p) => ends.push(p),
                    None => errs.push(ConfigError::new(
                        format!("cross_connect[{i}].{field}"),
                        format!("names no port called '{name}'"),
                    )),
                }
            }
            if ends.len() == 2 && ends[0] == ends[1] {
                errs.push(ConfigError::new(
                    format!("cross_connect[{i}].b"),
                    "a port cannot be cross-connected to itself",
                ));
                continue;
            }
            for (field, p) in ["a", "b"].iter().zip(ends) {
                if let Some(other) = used.insert(p, i) {
                    errs.push(ConfigError::new(
                        format!("cross_connect[{i}].{field}"),
                        format!(
                            "port '{}' is already in cross_connect[{other}]",
                            self.ports[p].name
                        ),
                    ));
                }
            }
        }
        for (pi, p) in self.ports.iter().enumerate() {
            if p.rx_queues > 0 && !used.contains_key(&pi) && !self.has_sfc() {
                errs.push(ConfigError::new(
                    format!("ports[{pi}]"),
                    format!(
                        "port '{}' receives traffic but no cross_connect or service chain takes it",
                        p.name
                    ),
                ));
            }
        }
    }
}
