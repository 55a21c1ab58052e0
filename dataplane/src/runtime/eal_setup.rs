//! What EAL starts with: the argument list for a pipeline (cores, memory, devices) and the
//! hugepages the kernel offers.

use std::path::PathBuf;

use crate::config::{normalize_pci, Pipeline};

/// Hugepage availability as the kernel reports it.
#[derive(Debug, Clone, Default)]
pub struct HugepageState {
    pub mounted: bool,
    pub free_bytes: u64,
    pub page_kib: u64,
}

impl HugepageState {
    /// Reads /proc/meminfo and /proc/mounts.
    pub fn read() -> Self {
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let field = |name: &str| -> u64 {
            meminfo
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        let free = field("HugePages_Free:");
        let page_kib = field("Hugepagesize:");
        let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
        HugepageState {
            mounted: mounts
                .lines()
                .any(|l| l.split_whitespace().nth(2) == Some("hugetlbfs")),
            free_bytes: free * page_kib * 1024,
            page_kib,
        }
    }

    /// Whether `mb` MiB fit in the free hugepages.
    pub fn fits(&self, mb: u32) -> bool {
        self.mounted && self.free_bytes >= u64::from(mb) << 20
    }
}

/// The command that reserves enough hugepages for `mb` MiB.
pub fn hugepage_fix(mb: u32) -> String {
    let pages = (mb as u64).div_ceil(2).max(256);
    format!("sudo hugepages/qdp-hugepages.sh --pages {pages}")
}

/// Where generated pcaps of a run go.
pub(super) fn runtime_dir(prefix: &str) -> PathBuf {
    std::env::temp_dir().join(format!("qdp-{prefix}"))
}

/// The EAL argument list for a pipeline; `use_hugepages` false adds `--no-huge`.
pub fn eal_args(p: &Pipeline, use_hugepages: bool, vdevs: &[String]) -> Vec<String> {
    let mut a = vec!["qdp".to_string()];
    let mut lcores = vec![format!("0@{}", p.main_core())];
    for (i, w) in p.workers.iter().enumerate() {
        lcores.push(format!("{}@{}", i + 1, w.core));
    }
    a.push("--lcores".into());
    a.push(lcores.join(","));
    a.push("--main-lcore".into());
    a.push("0".into());
    a.push("--file-prefix".into());
    a.push(p.eal.file_prefix.clone());
    if use_hugepages {
        // Remove the hugepage files once mapped: nothing stays reserved after qdp exits.
        a.push("--huge-unlink".into());
    } else {
        a.push("--no-huge".into());
        a.push("-m".into());
        a.push(p.eal.memory_mb.to_string());
    }
    let pcis: Vec<String> = p
        .ports
        .iter()
        .filter_map(|port| port.pci.as_deref().and_then(normalize_pci))
        .collect();
    if pcis.is_empty() {
        a.push("--no-pci".into());
    }
    for pci in pcis {
        a.push("-a".into());
        a.push(pci);
    }
    for v in vdevs {
        a.push("--vdev".into());
        a.push(v.clone());
    }
    a.push(format!("--log-level={}", p.eal.log_level));
    a.extend(p.eal.extra_args.iter().cloned());
    a
}
