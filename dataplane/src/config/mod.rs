//! Pipeline files: the TOML schema, its parsing and the checks `qdp check` runs.
//!
//! The schema is documented for users in `pipelines/README.md`. Parsing rejects unknown fields and
//! names the exact path of the offending field (`ports[1].pci`); [`Pipeline::validate`] then checks
//! what serde cannot see (references between sections, ranges, duplicates) and reports every error it
//! finds, each naming its field.
//!
//! Files: this one holds the top-level schema and the port, worker and control sections; [`sfc`]
//! the SFC sections; `types` the typed values (prefixes, port ranges, protocols, hex bytes,
//! actions), parsed once when the file is read; `service` the settings of the `lb` and `ids`
//! SFs and health probes; `checks`, `sfc_checks` and `service_checks` the checks; [`vdev`] the
//! socket names of vhost-user and memif devices.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::wire::EthernetAddress;

mod checks;
mod owned;
mod service;
mod service_checks;
#[cfg(test)]
mod service_tests;
mod sfc;
mod sfc_checks;
mod types;
pub mod vdev;
pub use owned::*;
pub use service::*;
pub use sfc::*;
pub use types::*;

/// Most ports a pipeline may open (DPDK's default `RTE_MAX_ETHPORTS`; the workers' per-port
/// counters have as many slots).
pub const MAX_PORTS: usize = crate::stats::MAX_PORTS;

/// Per-lcore mempool cache limit of DPDK (`RTE_MEMPOOL_CACHE_MAX_SIZE`).
pub const MEMPOOL_CACHE_MAX: u32 = 512;

/// One problem in a pipeline file: the field it concerns and why it is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// Dotted path of the field, e.g. `workers[0].core`; empty for a file-level problem.
    pub field: String,
    /// What is wrong with it.
    pub reason: String,
}

impl ConfigError {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        ConfigError {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            write!(f, "{}", self.reason)
        } else {
            write!(f, "{}: {}", self.field, self.reason)
        }
    }
}

/// All the problems found in one pipeline file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// A whole pipeline file.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Pipeline {
    /// A free-form name shown in the stats and the summary.
    #[serde(default = "default_name")]
    pub name: String,
    pub eal: EalConfig,
    #[serde(default)]
    pub mempool: MempoolConfig,
    #[serde(default)]
    pub ports: Vec<PortConfig>,
    #[serde(default)]
    pub workers: Vec<WorkerConfig>,
    #[serde(default)]
    pub cross_connect: Vec<CrossConnectConfig>,
    /// Service function chaining settings.
    #[serde(default)]
    pub sfc: SfcSettings,
    #[serde(default)]
    pub vteps: Vec<VtepConfig>,
    #[serde(default)]
    pub neighbors: Vec<NeighborConfig>,
    #[serde(default)]
    pub sfs: Vec<SfConfig>,
    #[serde(default)]
    pub exits: Vec<ExitConfig>,
    #[serde(default)]
    pub paths: Vec<PathConfig>,
    #[serde(default)]
    pub classifier: Vec<RuleConfig>,
    #[serde(default)]
    pub stats: StatsConfig,
    /// The control socket, metrics and latency measurement.
    #[serde(default)]
    pub control: ControlConfig,
    /// The folder of the file it was read from: relative paths in it (`ids.rules_file`) are
    /// relative to there.
    #[serde(skip)]
    pub base_dir: Option<PathBuf>,
}

fn default_name() -> String {
    "qdp".to_string()
}

/// How qdp uses hugepages.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum HugepageMode {
    /// Use hugepages when enough are free, else fall back to `--no-huge` with a warning.
    #[default]
    Auto,
    /// Refuse to start without enough free hugepages.
    Required,
    /// Always run on ordinary pages (`--no-huge`).
    Off,
}

/// EAL start-up: cores, memory, device scan.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EalConfig {
    /// CPUs qdp may use; the main (control) thread and every worker run on one of them.
    pub cores: Vec<u32>,
    /// The CPU of the main thread (stats, control socket); defaults to the first of `cores`.
    pub main_core: Option<u32>,
    /// EAL `--file-prefix`: must differ between qdp processes running at once.
    #[serde(default = "default_prefix")]
    pub file_prefix: String,
    #[serde(default)]
    pub hugepages: HugepageMode,
    /// Memory in MiB EAL takes when running without hugepages, and the hugepage memory required.
    #[serde(default = "default_memory_mb")]
    pub memory_mb: u32,
    /// EAL log level (`--log-level`), e.g. `notice`, `warning`, `error`, `debug`.
    #[serde(default = "default_log_level")]
    pub log_level: String,
    /// Extra EAL arguments, appended as given.
    #[serde(default)]
    pub extra_args: Vec<String>,
}

fn default_prefix() -> String {
    "qdp".to_string()
}
fn default_memory_mb() -> u32 {
    512
}
fn default_log_level() -> String {
    "notice".to_string()
}

/// The packet buffer pools, one per NUMA node in use.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MempoolConfig {
    /// Mbufs in each node's pool.
    #[serde(default = "default_mbufs")]
    pub mbufs: u32,
    /// Per-lcore cache size.
    #[serde(default = "default_cache")]
    pub cache: u32,
    /// Data room of each mbuf, headroom included (bytes).
    #[serde(default = "default_data_room")]
    pub data_room: u32,
}

impl Default for MempoolConfig {
    fn default() -> Self {
        MempoolConfig {
            mbufs: default_mbufs(),
            cache: default_cache(),
            data_room: default_data_room(),
        }
    }
}

fn default_mbufs() -> u32 {
    16383
}
fn default_cache() -> u32 {
    256
}
fn default_data_room() -> u32 {
    2176
}

/// One DPDK port: an SR-IOV VF or other PCI device, or a virtual device.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PortConfig {
    pub name: String,
    /// PCI address (`0000:03:02.0`), e.g. a VF bound to vfio-pci.
    pub pci: Option<String>,
    /// Virtual device arguments as for EAL `--vdev` (`net_pcap0,rx_pcap=in.pcap`).
    pub vdev: Option<String>,
    /// Receive queues; 0 makes the port transmit-only. With more than one, RSS spreads flows.
    #[serde(default = "one")]
    pub rx_queues: u16,
    #[serde(default = "default_desc")]
    pub rx_desc: u16,
    #[serde(default = "default_desc")]
    pub tx_desc: u16,
    pub mtu: Option<u16>,
    #[serde(default = "yes")]
    pub promiscuous: bool,
    /// Traffic qdp generates into a pcap file and feeds to this `net_pcap` port (`rx_pcap=`).
    pub traffic: Option<TrafficConfig>,
    /// Our own IPv4 addresses on this port (`"10.1.0.254/24"`): qdp answers ARP and ICMP echo for
    /// them (hosts use them as their gateway).
    #[serde(default)]
    pub addresses: Vec<Prefix>,
}

fn one() -> u16 {
    1
}
fn yes() -> bool {
    true
}
fn default_desc() -> u16 {
    1024
}

/// Frames generated by qdp itself for a pcap replay port.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TrafficConfig {
    /// Distinct UDP flows (one frame each).
    #[serde(default = "default_flows")]
    pub flows: u32,
    /// Frame size in bytes without FCS (60..=1514).
    #[serde(default = "default_frame_size")]
    pub frame_size: u32,
}

fn default_flows() -> u32 {
    256
}
fn default_frame_size() -> u32 {
    60
}

/// What a worker does when its queues are empty.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum IdleMode {
    /// Poll without pause (lowest latency; the core shows 100 % busy).
    #[default]
    Poll,
    /// After `idle_polls` empty polls in a row, sleep `sleep_us` between polls until traffic returns.
    Sleep,
}

/// One poll-mode worker, pinned to one core.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WorkerConfig {
    pub name: String,
    pub core: u32,
    /// The receive queues it polls, as `port:queue` (`vf0:0`) or `port` (queue 0).
    pub rx: Vec<String>,
    #[serde(default = "default_burst")]
    pub burst: usize,
    #[serde(default)]
    pub idle: IdleMode,
    #[serde(default = "default_idle_polls")]
    pub idle_polls: u32,
    #[serde(default = "default_sleep_us")]
    pub sleep_us: u32,
}

fn default_burst() -> usize {
    32
}
fn default_idle_polls() -> u32 {
    1024
}
fn default_sleep_us() -> u32 {
    100
}

/// A MAC rewrite applied to frames crossing one direction of a cross-connect.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields)]
pub struct MacRewrite {
    #[serde(default, deserialize_with = "de_opt_mac")]
    pub src_mac: Option<EthernetAddress>,
    #[serde(default, deserialize_with = "de_opt_mac")]
    pub dst_mac: Option<EthernetAddress>,
}

/// Deserializes an optional MAC address written as `02:00:00:00:00:01`.
pub(crate) fn de_opt_mac<'de, D>(de: D) -> Result<Option<EthernetAddress>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    // JSON's null (a set an agent sends) is no MAC, as a missing key is.
    let Some(s) = Option::<String>::deserialize(de)? else {
        return Ok(None);
    };
    s.parse::<EthernetAddress>().map(Some).map_err(|_| {
        serde::de::Error::custom(format!(
            "'{s}' is not a MAC address (six hex bytes such as 02:00:00:00:00:01)"
        ))
    })
}

/// Port A ⇄ port B with no lookup (the SR-IOV VF fast path).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CrossConnectConfig {
    pub a: String,
    pub b: String,
    /// Rewrite applied to frames going from `a` to `b`.
    #[serde(default)]
    pub a_to_b: MacRewrite,
    /// Rewrite applied to frames going from `b` to `a`.
    #[serde(default)]
    pub b_to_a: MacRewrite,
}

/// The periodic stats line.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StatsConfig {
    /// Seconds between stats lines; 0 prints only the summary.
    #[serde(default = "one_f64")]
    pub interval_s: f64,
}

impl Default for StatsConfig {
    fn default() -> Self {
        StatsConfig { interval_s: 1.0 }
    }
}

fn one_f64() -> f64 {
    1.0
}

/// The control socket (`qdpctl`), the Prometheus endpoint and latency measurement.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ControlConfig {
    /// Whether qdp listens on a control socket at all.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Path of the Unix socket.
    #[serde(default = "default_socket")]
    pub socket: PathBuf,
    /// Group that owns the socket and may run every command; the process's group when absent.
    pub group: Option<String>,
    /// Group whose members may only `show` and read `metrics`; the socket becomes mode 0666 and
    /// every peer's credentials are checked.
    pub readonly_group: Option<String>,
    /// Folder that `capture` writes into (created mode 0750 when missing); a capture names a
    /// plain file in it.
    #[serde(default = "default_capture_dir")]
    pub capture_dir: PathBuf,
    /// Most bytes one capture file may hold; packets past it are not written.
    #[serde(default = "default_capture_max_bytes")]
    pub capture_max_bytes: u64,
    /// Folder whose files `reload` may read besides the pipeline file qdp runs.
    pub reload_dir: Option<PathBuf>,
    /// Most clients connected at once; more are refused with an error.
    #[serde(default = "default_max_clients")]
    pub max_clients: usize,
    /// Serve `/metrics` (Prometheus text format) over HTTP on this loopback address and port.
    pub metrics_listen: Option<String>,
    /// Measure rx-to-tx latency from the start (also `qdpctl set latency on|off`).
    #[serde(default)]
    pub latency: bool,
    /// Write the running configuration back to the pipeline file after every change made over
    /// the socket (as `qdpctl save` does); a change that cannot be saved is refused.
    #[serde(default)]
    pub autosave: bool,
}

impl Default for ControlConfig {
    fn default() -> Self {
        ControlConfig {
            enabled: true,
            socket: default_socket(),
            group: None,
            readonly_group: None,
            capture_dir: default_capture_dir(),
            capture_max_bytes: default_capture_max_bytes(),
            reload_dir: None,
            max_clients: default_max_clients(),
            metrics_listen: None,
            latency: false,
            autosave: false,
        }
    }
}

fn default_socket() -> PathBuf {
    PathBuf::from(DEFAULT_SOCKET)
}

fn default_max_clients() -> usize {
    128
}

fn default_capture_dir() -> PathBuf {
    PathBuf::from(DEFAULT_CAPTURE_DIR)
}

fn default_capture_max_bytes() -> u64 {
    DEFAULT_CAPTURE_MAX_BYTES
}

/// Where captures go unless `[control] capture_dir` says otherwise: qdp's state directory.
pub const DEFAULT_CAPTURE_DIR: &str = "/var/lib/qdp/captures";

/// The default size cap of one capture file: 64 MiB (a full 10000-packet capture of 2048-byte
/// snapshots is about 20 MiB).
pub const DEFAULT_CAPTURE_MAX_BYTES: u64 = 64 << 20;

/// The allowed range of `[control] capture_max_bytes`: room for the pcap header and a packet, up
/// to 4 GiB.
pub const CAPTURE_MAX_BYTES_RANGE: std::ops::RangeInclusive<u64> = 4096..=(4 << 30);

/// Where the control socket is unless the pipeline file says otherwise.
pub const DEFAULT_SOCKET: &str = "/run/qdp/qdp.sock";

/// A receive queue reference `port:queue` resolved against the port list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct RxRef {
    pub port: usize,
    pub queue: u16,
}

impl Pipeline {
    /// Parses and validates a pipeline file's text.
    pub fn from_toml(text: &str) -> Result<Pipeline, ConfigErrors> {
        let de = toml::Deserializer::new(text);
        let pipeline: Pipeline = serde_path_to_error::deserialize(de).map_err(|e| {
            let field = e.path().to_string();
            let inner = e.into_inner();
            let reason = inner.message().trim().to_string();
            let at = inner
                .span()
                .map(|s| {
                    let line = text[..s.start.min(text.len())].matches('\n').count() + 1;
                    format!(" (line {line})")
                })
                .unwrap_or_default();
            let field = if field == "." { String::new() } else { field };
            ConfigErrors(vec![ConfigError::new(field, format!("{reason}{at}"))])
        })?;
        pipeline.validate()?;
        Ok(pipeline)
    }

    /// Reads, parses and validates a pipeline file.
    pub fn load(path: &Path) -> Result<Pipeline, ConfigErrors> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigErrors(vec![ConfigError::new(
                "",
                format!("cannot read {}: {e}", path.display()),
            )])
        })?;
        let mut p = Pipeline::from_toml(&text)?;
        p.base_dir = path.parent().map(Path::to_path_buf);
        Ok(p)
    }

    /// A path the file names, relative to the file's folder unless absolute.
    pub fn file_path(&self, p: &Path) -> PathBuf {
        match &self.base_dir {
            Some(d) if p.is_relative() => d.join(p),
            _ => p.to_path_buf(),
        }
    }

    /// Index of the port called `name`.
    pub fn port_index(&self, name: &str) -> Option<usize> {
        self.ports.iter().position(|p| p.name == name)
    }

    /// The main lcore's CPU.
    pub fn main_core(&self) -> u32 {
        self.eal
            .main_core
            .or_else(|| self.eal.cores.first().copied())
            .unwrap_or(0)
    }

    /// Resolves a worker's `rx` entry; `None` when the port does not exist or the queue is not a number.
    pub fn resolve_rx(&self, entry: &str) -> Option<RxRef> {
        let (port, queue) = match entry.split_once(':') {
            Some((p, q)) => (p, q.parse::<u16>().ok()?),
            None => (entry, 0),
        };
        Some(RxRef {
            port: self.port_index(port)?,
            queue,
        })
    }

    /// Runs every semantic check and returns all the errors found.
    pub fn validate(&self) -> Result<(), ConfigErrors> {
        let mut errs = Vec::new();
        self.validate_eal(&mut errs);
        self.validate_mempool(&mut errs);
        self.validate_ports(&mut errs);
        self.validate_workers(&mut errs);
        self.validate_cross_connects(&mut errs);
        self.validate_sfc(&mut errs);
        if !(self.stats.interval_s >= 0.0 && self.stats.interval_s <= 3600.0) {
            errs.push(ConfigError::new(
                "stats.interval_s",
                "must be between 0 and 3600 seconds",
            ));
        }
        self.validate_control(&mut errs);
        if errs.is_empty() {
            Ok(())
        } else {
            Err(ConfigErrors(errs))
        }
    }

    /// The IPv4 addresses qdp answers ARP and ICMP echo for: port addresses and IPv4 VTEPs, as
    /// (port index, address).
    pub fn host_addresses(&self) -> Vec<(usize, std::net::Ipv4Addr)> {
        let mut v = Vec::new();
        for (i, p) in self.ports.iter().enumerate() {
            for a in &p.addresses {
                if let std::net::IpAddr::V4(a) = a.addr {
                    v.push((i, a));
                }
            }
        }
        for t in &self.vteps {
            if let (Some(i), std::net::IpAddr::V4(a)) = (self.port_index(&t.port), t.address) {
                v.push((i, a));
            }
        }
        v
    }
}

fn check_name(name: &str, field: &str, errs: &mut Vec<ConfigError>) {
    if name.is_empty()
        || name.len() > 32
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        errs.push(ConfigError::new(
            field,
            format!("'{name}' must be 1..32 letters, digits, '-' or '_'"),
        ));
    }
}

/// The device name of vdev arguments: the text before the first comma.
pub fn vdev_name(args: &str) -> &str {
    args.split(',').next().unwrap_or("").trim()
}

/// Normalizes a PCI address to `dddd:bb:dd.f` (lower case); `None` when it is not one.
pub fn normalize_pci(addr: &str) -> Option<String> {
    let (dom, rest) = match addr.matches(':').count() {
        2 => addr.split_once(':')?,
        1 => ("0000", addr),
        _ => return None,
    };
    let (bus, rest) = rest.split_once(':')?;
    let (dev, func) = rest.split_once('.')?;
    let hex = |s: &str, n: usize| s.len() == n && s.chars().all(|c| c.is_ascii_hexdigit());
    if !(hex(dom, 4) && hex(bus, 2) && hex(dev, 2) && func.len() == 1) {
        return None;
    }
    let d = u8::from_str_radix(dev, 16).ok()?;
    let f = func.parse::<u8>().ok()?;
    if d > 0x1f || f > 7 {
        return None;
    }
    Some(format!("{dom}:{bus}:{dev}.{func}").to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
        [eal]
        cores = [0, 1]
        [[ports]]
        name = "a"
        vdev = "net_null0"
        [[ports]]
        name = "b"
        pci = "0000:03:02.1"
        rx_queues = 2
        [[workers]]
        name = "w0"
        core = 1
        rx = ["a", "b:0", "b:1"]
        [[cross_connect]]
        a = "a"
        b = "b"
        a_to_b = { dst_mac = "02:00:00:00:00:02" }
    "#;

    fn errors(text: &str) -> Vec<ConfigError> {
        Pipeline::from_toml(text).unwrap_err().0
    }

    #[test]
    fn good_file_parses() {
        let p = Pipeline::from_toml(GOOD).unwrap();
        assert_eq!(p.ports.len(), 2);
        assert_eq!(p.main_core(), 0);
        assert_eq!(p.resolve_rx("b:1"), Some(RxRef { port: 1, queue: 1 }));
        assert_eq!(
            p.cross_connect[0].a_to_b.dst_mac,
            Some(EthernetAddress([2, 0, 0, 0, 0, 2]))
        );
    }

    #[test]
    fn unknown_field_is_named() {
        let e = errors(&GOOD.replace("rx_queues = 2", "rx_queues = 2\nspeed = 10"));
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].field, "ports[1].speed");
        assert!(e[0].reason.contains("unknown field"), "{}", e[0].reason);
    }

    #[test]
    fn wrong_type_is_named() {
        let e = errors(&GOOD.replace("core = 1", "core = \"one\""));
        assert_eq!(e[0].field, "workers[0].core");
    }

    #[test]
    fn pci_addresses() {
        assert_eq!(normalize_pci("03:02.1").as_deref(), Some("0000:03:02.1"));
        assert_eq!(
            normalize_pci("0000:AF:1f.7").as_deref(),
            Some("0000:af:1f.7")
        );
        for bad in [
            "0000:03:02",
            "0000:3:02.1",
            "0000:03:20.1",
            "0000:03:02.8",
            "x",
            "",
        ] {
            assert_eq!(normalize_pci(bad), None, "{bad}");
        }
        let e = errors(&GOOD.replace("0000:03:02.1", "0000:03:02"));
        assert_eq!(e[0].field, "ports[1].pci");
    }

    #[test]
    fn unpolled_queue_and_missing_core() {
        let e = errors(&GOOD.replace("\"b:1\"", "").replace("core = 1", "core = 5"));
        let fields: Vec<_> = e.iter().map(|e| e.field.as_str()).collect();
        assert!(fields.contains(&"workers[0].core"), "{fields:?}");
        assert!(fields.contains(&"ports[1].rx_queues"), "{fields:?}");
    }

    #[test]
    fn control_section_errors_name_their_field() {
        let p = Pipeline::from_toml(GOOD).unwrap();
        assert_eq!(p.control.capture_dir, Path::new(DEFAULT_CAPTURE_DIR));
        assert_eq!(p.control.capture_max_bytes, DEFAULT_CAPTURE_MAX_BYTES);
        assert_eq!(p.control.reload_dir, None);
        let good = format!(
            "{GOOD}\n[control]\ngroup = \"root\"\ncapture_dir = \"/srv/cap\"\n\
             capture_max_bytes = 4096\nreload_dir = \"/etc/qdp/next\"\n"
        );
        let p = Pipeline::from_toml(&good).unwrap();
        assert_eq!(
            p.control.reload_dir.as_deref(),
            Some(Path::new("/etc/qdp/next"))
        );
        let bad = format!(
            "{GOOD}\n[control]\ngroup = \"root\"\nreadonly_group = \"root\"\n\
             capture_dir = \"captures\"\ncapture_max_bytes = 100\nreload_dir = \"next\"\n"
        );
        let e = errors(&bad);
        let fields: Vec<_> = e.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "control.readonly_group",
                "control.capture_dir",
                "control.reload_dir",
                "control.capture_max_bytes"
            ],
            "{e:?}"
        );
        let e = errors(&format!(
            "{GOOD}\n[control]\nreadonly_group = \"no-such-group-qdp\"\n"
        ));
        assert_eq!(e[0].field, "control.readonly_group");
        assert!(e[0].reason.contains("no group called"), "{e:?}");
    }

    #[test]
    fn zero_pool_and_duplicates() {
        let text = GOOD.replace("name = \"b\"", "name = \"a\"") + "\n[mempool]\nmbufs = 0\n";
        let e = errors(&text);
        let fields: Vec<_> = e.iter().map(|e| e.field.as_str()).collect();
        assert!(fields.contains(&"ports[1].name"), "{fields:?}");
        assert!(fields.contains(&"mempool.mbufs"), "{fields:?}");
    }

    const JUMBO_SFC: &str = r#"
        [eal]
        cores = [0, 1]
        [[ports]]
        name = "in"
        vdev = "net_null0"
        mtu = 9000
        [[ports]]
        name = "net"
        vdev = "net_null1"
        mtu = 9100
        [[workers]]
        name = "w0"
        core = 1
        rx = ["in", "net"]
        [sfc]
        inner_mtu = 1500
        [[vteps]]
        name = "local"
        port = "net"
        address = "10.0.0.2"
        mac = "02:00:00:00:00:02"
        [[neighbors]]
        name = "sff3"
        port = "net"
        address = "10.0.0.3"
        mac = "02:00:00:00:00:03"
        [[paths]]
        name = "web"
        spi = 1
        hops = [{ si = 255, sff = "sff3" }]
        [[classifier]]
        in_port = "in"
        path = "web"
    "#;

    #[test]
    fn jumbo_mtu_is_checked_against_the_encapsulation_of_every_path() {
        // 9000 + 14 (inner Ethernet) + 60 (NSH MD1, VXLAN-GPE, UDP, IPv4) = 9074 B of IP leave port
        // 'net': its mtu must be at least that (the outer Ethernet header is not part of the MTU).
        assert!(Pipeline::from_toml(JUMBO_SFC).is_ok());
        let e = errors(&JUMBO_SFC.replace("mtu = 9100", "mtu = 9073"));
        assert_eq!(e[0].field, "ports[1].mtu");
        assert!(e[0].reason.contains("needs 9074, has 9073"), "{e:?}");
        assert!(Pipeline::from_toml(&JUMBO_SFC.replace("mtu = 9100", "mtu = 9074")).is_ok());
        // Without an mtu on the ingress port, only sfc.inner_mtu counts.
        assert!(Pipeline::from_toml(&JUMBO_SFC.replacen("mtu = 9000", "", 1)).is_ok());
        // The range now takes jumbo frames, not more.
        let e = errors(&JUMBO_SFC.replace("mtu = 9100", "mtu = 9601"));
        assert!(e
            .iter()
            .any(|e| e.field == "ports[1].mtu" && e.reason.contains("68..=9600")));
        // Chains need a first segment that holds the headers.
        let small =
            JUMBO_SFC.replace("mtu = 9100", "mtu = 9600") + "\n[mempool]\ndata_room = 512\n";
        let e = errors(&small);
        assert!(
            e.iter()
                .any(|e| e.field == "ports[0].mtu" && e.reason.contains("first segment")),
            "{e:?}"
        );
    }
}
