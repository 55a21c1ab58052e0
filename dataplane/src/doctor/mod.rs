//! `qdp doctor`: checks this machine against a pipeline file and says, for each item, pass, warn
//! or fail, and the command that fixes it.
//!
//! The checks read only `/proc` and `/sys` (every path prefixed by a [`SysRoot`], so that tests
//! run them against a fake tree), and the pipeline. One [`Check`] per item, grouped by file:
//! `memory` (hugepages per NUMA node against the mempools, the total against `eal.memory_mb`,
//! hugetlbfs, the memlock limit), `devices` (IOMMU, vfio-pci, each PCI port's driver and NUMA
//! node, SR-IOV VFs), `cores` (worker cores online and isolated on the kernel command line, other
//! busy tasks pinned to them, the frequency governor).
//!
//! Limits: the memlock check reads the limit of the process running the doctor (the service's
//! own comes from `LimitMEMLOCK=` in its unit); the mempool sizes are estimates (mbuf header,
//! data room and mempool object header per mbuf); a task counts as busy when it used 10 % of a
//! CPU on average since it started (one reading, no sampling); tasks of processes called `qdp`
//! are qdp's own and are not counted.

use std::path::PathBuf;

use serde::Serialize;

use crate::config::{normalize_pci, HugepageMode, Pipeline};

mod cores;
mod devices;
mod memory;

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// In order.
    Pass,
    /// qdp runs, but slower or less predictably than it could.
    Warn,
    /// qdp cannot run the pipeline (or not safely) until it is fixed.
    Fail,
}

impl Status {
    /// The word printed in the text report.
    pub fn word(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Warn => "WARN",
            Status::Fail => "FAIL",
        }
    }
}

/// One checked item: what was found and, unless it passed, how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// What was checked, e.g. `hugepages node0` or `port vf0 driver`.
    pub name: String,
    pub status: Status,
    /// What was found.
    pub detail: String,
    /// The command or change that fixes it; `None` when it passed.
    pub fix: Option<String>,
}

impl Check {
    fn pass(name: impl Into<String>, detail: impl Into<String>) -> Check {
        Check {
            name: name.into(),
            status: Status::Pass,
            detail: detail.into(),
            fix: None,
        }
    }

    fn not_ok(
        name: impl Into<String>,
        status: Status,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Check {
        Check {
            name: name.into(),
            status,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }
}

/// Where `/proc` and `/sys` are: `/` on the live machine, a directory holding a copy for tests.
#[derive(Debug, Clone)]
pub struct SysRoot {
    root: PathBuf,
}

impl SysRoot {
    /// The live machine's `/proc` and `/sys`.
    pub fn live() -> SysRoot {
        SysRoot::new("/")
    }

    /// The tree under `root` (`ROOT/proc`, `ROOT/sys`).
    pub fn new(root: impl Into<PathBuf>) -> SysRoot {
        SysRoot { root: root.into() }
    }

    /// The path of the absolute path `abs` under this root.
    pub fn path(&self, abs: &str) -> PathBuf {
        self.root.join(abs.trim_start_matches('/'))
    }

    /// A file's text, trimmed; `None` when it cannot be read.
    pub fn read(&self, abs: &str) -> Option<String> {
        std::fs::read_to_string(self.path(abs))
            .ok()
            .map(|s| s.trim().to_string())
    }

    /// Whether the path exists (following symbolic links).
    pub fn exists(&self, abs: &str) -> bool {
        self.path(abs).exists()
    }

    /// The last component of a symbolic link's target (a bound driver's name, a PF's address).
    pub fn link_name(&self, abs: &str) -> Option<String> {
        std::fs::read_link(self.path(abs))
            .ok()
            .and_then(|t| t.file_name().map(|n| n.to_string_lossy().into_owned()))
    }

    /// The names in a directory, sorted; empty when it cannot be read.
    pub fn list(&self, abs: &str) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.path(abs))
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }

    /// A procfs file parsed by `procfs_core`; `None` when it is missing or malformed.
    pub fn parse<T: procfs_core::FromRead>(&self, abs: &str) -> Option<T> {
        T::from_file(self.path(abs)).ok()
    }

    /// The NUMA node of a CPU, from `/sys/devices/system/node/nodeN/cpulist`.
    fn cpu_node(&self, cpu: u32) -> Option<u32> {
        self.list("/sys/devices/system/node")
            .iter()
            .filter_map(|n| n.strip_prefix("node")?.parse::<u32>().ok())
            .find(|n| {
                self.read(&format!("/sys/devices/system/node/node{n}/cpulist"))
                    .and_then(|l| parse_cpu_list(&l))
                    .is_some_and(|cpus| cpus.contains(&cpu))
            })
    }
}

/// A CPU list as the kernel writes it (`0-3,8,10-11`), sorted; `None` when malformed.
pub fn parse_cpu_list(text: &str) -> Option<Vec<u32>> {
    let mut cpus = Vec::new();
    for part in text.trim().split(',').filter(|s| !s.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (a.trim().parse::<u32>().ok()?, b.trim().parse::<u32>().ok()?);
                if a > b || b - a > 65_536 {
                    return None;
                }
                cpus.extend(a..=b);
            }
            None => cpus.push(part.trim().parse().ok()?),
        }
    }
    cpus.sort_unstable();
    cpus.dedup();
    Some(cpus)
}

/// CPUs as the kernel command line writes them: `3,4` (for fixes).
fn cpu_words(cpus: &[u32]) -> String {
    cpus.iter()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// A PCI port of the pipeline, with the cores of the workers that poll it.
#[derive(Debug, Clone)]
struct PciPort {
    name: String,
    addr: String,
    pollers: Vec<(String, u32)>,
}

/// What the pipeline asks of the machine; without a pipeline, nothing in particular.
#[derive(Debug, Clone)]
struct Needs {
    /// Whether a pipeline was given (else the checks report the box as it is).
    given: bool,
    hugepages: HugepageMode,
    memory_mb: u32,
    /// Bytes of one node's mempool.
    mempool_bytes: u64,
    /// `eal.cores`.
    cores: Vec<u32>,
    /// (worker name, core).
    workers: Vec<(String, u32)>,
    /// The main thread's core.
    main_core: Option<u32>,
    pci_ports: Vec<PciPort>,
}

/// Bytes of one mbuf in its pool: the mbuf header (128 B), the data room and the mempool's own
/// object header, rounded to a cache line.
fn mbuf_bytes(data_room: u32) -> u64 {
    (u64::from(data_room) + 128 + 64).div_ceil(64) * 64
}

impl Needs {
    fn of(p: Option<&Pipeline>) -> Needs {
        let Some(p) = p else {
            return Needs {
                given: false,
                hugepages: HugepageMode::Auto,
                memory_mb: 0,
                mempool_bytes: 0,
                cores: Vec::new(),
                workers: Vec::new(),
                main_core: None,
                pci_ports: Vec::new(),
            };
        };
        let pci_ports = p
            .ports
            .iter()
            .enumerate()
            .filter_map(|(i, port)| {
                let addr = port.pci.as_deref()?;
                let pollers = p
                    .workers
                    .iter()
                    .filter(|w| {
                        w.rx.iter()
                            .any(|r| p.resolve_rx(r).is_some_and(|r| r.port == i))
                    })
                    .map(|w| (w.name.clone(), w.core))
                    .collect();
                Some(PciPort {
                    name: port.name.clone(),
                    addr: normalize_pci(addr).unwrap_or_else(|| addr.to_string()),
                    pollers,
                })
            })
            .collect();
        Needs {
            given: true,
            hugepages: p.eal.hugepages,
            memory_mb: p.eal.memory_mb,
            mempool_bytes: u64::from(p.mempool.mbufs) * mbuf_bytes(p.mempool.data_room),
            cores: p.eal.cores.clone(),
            workers: p.workers.iter().map(|w| (w.name.clone(), w.core)).collect(),
            main_core: Some(p.main_core()),
            pci_ports,
        }
    }

    /// How bad a shortfall is: a failure when the pipeline cannot run without the thing.
    fn severity(&self, essential: bool) -> Status {
        if essential {
            Status::Fail
        } else {
            Status::Warn
        }
    }
}

/// Runs every check against the machine under `root`, for the pipeline if one is given.
pub fn run(root: &SysRoot, pipeline: Option<&Pipeline>) -> Vec<Check> {
    let needs = Needs::of(pipeline);
    let mut out = Vec::new();
    memory::checks(root, &needs, &mut out);
    devices::checks(root, &needs, &mut out);
    cores::checks(root, &needs, &mut out);
    out
}

/// Whether any check failed (the doctor's exit status).
pub fn any_failed(checks: &[Check]) -> bool {
    checks.iter().any(|c| c.status == Status::Fail)
}

/// The text report: one line per check, its fix below it, and the counts.
pub fn render_text(checks: &[Check]) -> String {
    let width = checks.iter().map(|c| c.name.len()).max().unwrap_or(0);
    let mut s = String::new();
    for c in checks {
        s.push_str(&format!(
            "{}  {:width$}  {}\n",
            c.status.word(),
            c.name,
            c.detail
        ));
        if let Some(fix) = &c.fix {
            s.push_str(&format!("      {:width$}  fix: {fix}\n", ""));
        }
    }
    let count = |st: Status| checks.iter().filter(|c| c.status == st).count();
    s.push_str(&format!(
        "{} pass, {} warn, {} fail\n",
        count(Status::Pass),
        count(Status::Warn),
        count(Status::Fail)
    ));
    s
}

/// The JSON report: `{"checks": [...], "pass": N, "warn": N, "fail": N}`.
pub fn to_json(checks: &[Check]) -> serde_json::Value {
    let count = |st: Status| checks.iter().filter(|c| c.status == st).count();
    serde_json::json!({
        "checks": checks,
        "pass": count(Status::Pass),
        "warn": count(Status::Warn),
        "fail": count(Status::Fail),
    })
}

/// The path of a PCI device's directory.
fn pci_dir(addr: &str) -> String {
    format!("/sys/bus/pci/devices/{addr}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists_parse_as_the_kernel_writes_them() {
        assert_eq!(
            parse_cpu_list("0-3,8,10-11"),
            Some(vec![0, 1, 2, 3, 8, 10, 11])
        );
        assert_eq!(parse_cpu_list("5\n"), Some(vec![5]));
        assert_eq!(parse_cpu_list(""), Some(vec![]));
        assert_eq!(parse_cpu_list("3-1"), None);
        assert_eq!(parse_cpu_list("a"), None);
        assert_eq!(parse_cpu_list("0-4294967295"), None);
    }

    #[test]
    fn mbufs_are_sized_with_their_headers() {
        assert_eq!(mbuf_bytes(2176), 2368);
        assert_eq!(mbuf_bytes(2048), 2240);
    }

    #[test]
    fn the_report_counts_and_shows_fixes() {
        let checks = vec![
            Check::pass("a", "fine"),
            Check::not_ok("bb", Status::Fail, "broken", "do this"),
        ];
        let t = render_text(&checks);
        assert!(t.contains("PASS  a   fine"), "{t}");
        assert!(
            t.contains("FAIL  bb  broken\n          fix: do this"),
            "{t}"
        );
        assert!(t.ends_with("1 pass, 0 warn, 1 fail\n"), "{t}");
        assert!(any_failed(&checks));
        let j = to_json(&checks);
        assert_eq!(j["fail"], 1);
        assert_eq!(j["checks"][1]["status"], "fail");
        assert_eq!(j["checks"][0]["fix"], serde_json::Value::Null);
    }
}
