//! The settings of the built-in service functions beyond the counter: the `lb` SF's virtual
//! address and backends, the `ids` SF's rules file and alert log, the stateful firewall's
//! connection table, and the active health probes of backends and proxied SFs.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{de_opt_mac, PortRange, Protocol};
use crate::wire::EthernetAddress;

/// Where the `ids` SF writes its alerts unless `eve_log` says otherwise (Suricata's own default
/// is /var/log/suricata/eve.json).
pub const DEFAULT_EVE_LOG: &str = "/var/log/qdp/eve.json";

/// Connections each worker tracks per `lb` SF or stateful firewall unless `connections` says.
pub const DEFAULT_CONNECTIONS: usize = 65536;

/// One backend of an `lb` SF.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BackendConfig {
    pub name: String,
    /// Its IPv4 address, on the link of the SF's `port`: found there by ARP (unless `mac` is
    /// given), probed there, and the destination NAT rewrites to it.
    pub address: Ipv4Addr,
    /// The destination port the NAT rewrites to (the VIP's port is kept when absent).
    pub port: Option<u16>,
    /// Its MAC, instead of finding it by ARP.
    #[serde(
        default,
        deserialize_with = "de_opt_mac",
        serialize_with = "super::sfc::ser_opt_mac"
    )]
    pub mac: Option<EthernetAddress>,
    /// Its share of new flows; 0 drains it (no new flows, its open connections stay).
    #[serde(default = "default_weight")]
    pub weight: u32,
    /// A backend marked down gets no flows; its open connections move to the others.
    #[serde(default)]
    pub down: bool,
}

pub(crate) fn default_weight() -> u32 {
    1
}

/// How a probe checks a target.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum ProbeKind {
    /// ICMP echo: its kernel answers.
    Icmp,
    /// TCP connect to `port`: something listens there (a SYN answered by SYN-ACK).
    Tcp,
}

/// An active health probe.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ProbeConfig {
    pub kind: ProbeKind,
    /// `tcp`: the port to connect to (a backend's `port`, else the single VIP port, when absent).
    pub port: Option<u16>,
    /// Between two probes of one target, in milliseconds.
    #[serde(default = "default_probe_interval")]
    pub interval_ms: u32,
    /// How long an answer may take, in milliseconds (at most the interval).
    #[serde(default = "default_probe_timeout")]
    pub timeout_ms: u32,
    /// Probes in a row that must succeed before a down target is up again.
    #[serde(default = "default_rise")]
    pub rise: u32,
    /// Probes in a row that must fail before an up target is down.
    #[serde(default = "default_fall")]
    pub fall: u32,
}

fn default_probe_interval() -> u32 {
    1000
}
fn default_probe_timeout() -> u32 {
    500
}
fn default_rise() -> u32 {
    2
}
fn default_fall() -> u32 {
    3
}

/// What the `ids` SF does with a packet a `drop` rule matches.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum IdsMode {
    /// Drops it (and alerts).
    #[default]
    Inline,
    /// Only alerts: every packet goes on.
    Tap,
}

/// What loading a rules file does with a rule the engine does not implement.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum UnsupportedRules {
    /// Skips it, reported with its line and sid.
    #[default]
    Skip,
    /// Refuses the whole file.
    Refuse,
}

/// What the `lb` SF hashes to pick a new connection's backend.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum LbHash {
    /// The whole 5-tuple: each connection on its own.
    #[default]
    #[serde(rename = "5-tuple")]
    FiveTuple,
    /// The client's address only: every connection of a client to the same backend (session
    /// persistence, for protocols of several connections such as iperf3 or FTP).
    Source,
}

/// The `lb` SF's settings (fields of its `[[sfs]]` entry).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct LbSettings {
    /// The virtual address (IPv4) clients connect to.
    pub vip: Option<IpAddr>,
    /// `tcp` or `udp`; both when absent.
    pub protocol: Option<Protocol>,
    /// The VIP's ports; all when absent.
    pub vip_ports: Option<PortRange>,
    /// Destination NAT to the backend's address (and port); `false`: the backends own the VIP and
    /// only the frame's destination MAC changes.
    pub nat: Option<bool>,
    /// Entries of the Maglev table: a prime (default: the smallest prime ≥ 100 × backends).
    pub table_size: Option<usize>,
    #[serde(default)]
    pub hash: LbHash,
    pub backends: Vec<BackendConfig>,
}

/// The `ids` SF's settings.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct IdsSettings {
    /// The rules file (Suricata/Snort syntax), relative to the pipeline file's folder.
    pub rules_file: Option<PathBuf>,
    #[serde(default)]
    pub mode: IdsMode,
    /// Where alerts go, as Suricata EVE JSON lines (appended).
    pub eve_log: Option<PathBuf>,
    #[serde(default)]
    pub unsupported: UnsupportedRules,
    /// Rule variables (`HOME_NET = "[10.1.0.0/16]"`), used as `$HOME_NET`.
    #[serde(default)]
    pub vars: BTreeMap<String, String>,
}
