//! Memory: hugepages free on each NUMA node against the mempool qdp creates there, hugepages free
//! in all against `eal.memory_mb` (the rule `qdp run` applies), hugetlbfs mounted, and the
//! memlock limit vfio-pci's DMA mappings count against.

use std::collections::BTreeSet;

use procfs_core::process::{LimitValue, Limits, Status as ProcStatus};
use procfs_core::{Meminfo, MountEntry};

use super::{pci_dir, Check, Needs, Status, SysRoot};
use crate::config::HugepageMode;

const MIB: u64 = 1 << 20;
/// Bit of `CAP_IPC_LOCK` in `CapEff`: with it, locked memory is not limited.
const CAP_IPC_LOCK: u64 = 1 << 14;

pub(super) fn checks(root: &SysRoot, needs: &Needs, out: &mut Vec<Check>) {
    if needs.hugepages == HugepageMode::Off {
        out.push(Check::not_ok(
            "hugepages",
            Status::Warn,
            "not used: the pipeline says eal.hugepages = \"off\" (mempools on ordinary pages, slower)",
            "set eal.hugepages = \"auto\" or \"required\" and reserve them: sudo hugepages/qdp-hugepages.sh --pages 512",
        ));
    } else {
        per_node(root, needs, out);
        total(root, needs, out);
        out.push(hugetlbfs(root, needs));
    }
    out.push(memlock(root, needs));
}

/// The nodes qdp creates a mempool on: those of its ports and of its workers' cores.
fn nodes_in_use(root: &SysRoot, needs: &Needs) -> BTreeSet<u32> {
    let mut nodes = BTreeSet::new();
    for port in &needs.pci_ports {
        if let Some(n) = root
            .read(&format!("{}/numa_node", pci_dir(&port.addr)))
            .and_then(|s| s.parse::<i64>().ok())
        {
            // -1: no affinity; qdp puts the port's pool on node 0.
            nodes.insert(u32::try_from(n).unwrap_or(0));
        }
    }
    for (_, core) in &needs.workers {
        nodes.insert(root.cpu_node(*core).unwrap_or(0));
    }
    if needs.given && nodes.is_empty() {
        nodes.insert(0);
    }
    nodes
}

/// Hugepages on one node: (page size in kB, total, free) for each size the kernel offers.
fn node_pages(root: &SysRoot, node: u32) -> Vec<(u64, u64, u64)> {
    let dir = format!("/sys/devices/system/node/node{node}/hugepages");
    root.list(&dir)
        .iter()
        .filter_map(|d| {
            let kb = d
                .strip_prefix("hugepages-")?
                .strip_suffix("kB")?
                .parse()
                .ok()?;
            let n = |f: &str| root.read(&format!("{dir}/{d}/{f}"))?.parse::<u64>().ok();
            Some((kb, n("nr_hugepages")?, n("free_hugepages")?))
        })
        .collect()
}

fn per_node(root: &SysRoot, needs: &Needs, out: &mut Vec<Check>) {
    let nodes: Vec<u32> = root
        .list("/sys/devices/system/node")
        .iter()
        .filter_map(|n| n.strip_prefix("node")?.parse().ok())
        .collect();
    if nodes.is_empty() {
        // A kernel without NUMA nodes in sysfs: the total below is all there is.
        return;
    }
    let in_use = nodes_in_use(root, needs);
    for node in nodes {
        let used = in_use.contains(&node);
        if needs.given && !used {
            continue;
        }
        let pages = node_pages(root, node);
        let free: u64 = pages.iter().map(|(kb, _, f)| kb * 1024 * f).sum();
        let need = if used { needs.mempool_bytes } else { 0 };
        let have = pages
            .iter()
            .filter(|(_, t, _)| *t > 0)
            .map(|(kb, t, f)| format!("{f} of {t} × {}", size_word(*kb)))
            .collect::<Vec<_>>()
            .join(", ");
        let have = if have.is_empty() {
            "none reserved".to_string()
        } else {
            format!("{have} free")
        };
        let name = format!("hugepages node{node}");
        let two_mb_total = pages
            .iter()
            .find(|(kb, _, _)| *kb == 2048)
            .map_or(0, |p| p.1);
        let fix_pages = two_mb_total + (need.max(MIB) - free.min(need)).div_ceil(2 * MIB);
        let fix = format!(
            "sudo hugepages/qdp-hugepages.sh --node {node} --pages {}",
            fix_pages.max(512)
        );
        if needs.given {
            let wanted = format!(
                "the mempool on this node needs ≈ {} MiB",
                need.div_ceil(MIB)
            );
            if free >= need && free > 0 {
                out.push(Check::pass(
                    name,
                    format!("{have} ({} MiB); {wanted}", free / MIB),
                ));
            } else {
                out.push(Check::not_ok(
                    name,
                    needs.severity(needs.hugepages == HugepageMode::Required),
                    format!(
                        "{have} ({} MiB), but {wanted}{}",
                        free / MIB,
                        if needs.hugepages == HugepageMode::Auto {
                            ": qdp falls back to ordinary pages"
                        } else {
                            ""
                        }
                    ),
                    fix,
                ));
            }
        } else if free > 0 {
            out.push(Check::pass(name, format!("{have} ({} MiB)", free / MIB)));
        } else {
            out.push(Check::not_ok(name, Status::Warn, have, fix));
        }
    }
}

fn size_word(kb: u64) -> String {
    if kb >= 1 << 20 {
        format!("{} GiB", kb >> 20)
    } else {
        format!("{} MiB", kb >> 10)
    }
}

/// The rule of `qdp run`: `eal.memory_mb` must fit in the free hugepages of the default size.
fn total(root: &SysRoot, needs: &Needs, out: &mut Vec<Check>) {
    if !needs.given {
        return;
    }
    let Some(info) = root.parse::<Meminfo>("/proc/meminfo") else {
        out.push(Check::not_ok(
            "hugepages total",
            Status::Fail,
            "cannot read /proc/meminfo",
            "run the doctor where /proc is mounted",
        ));
        return;
    };
    let free = info.hugepages_free.unwrap_or(0) * info.hugepagesize.unwrap_or(0);
    let need = u64::from(needs.memory_mb) * MIB;
    if free >= need {
        out.push(Check::pass(
            "hugepages total",
            format!(
                "{} MiB free, eal.memory_mb = {}",
                free / MIB,
                needs.memory_mb
            ),
        ));
    } else {
        let pages = u64::from(needs.memory_mb).div_ceil(2).max(256);
        out.push(Check::not_ok(
            "hugepages total",
            needs.severity(needs.hugepages == HugepageMode::Required),
            format!(
                "{} MiB free, but eal.memory_mb = {}{}",
                free / MIB,
                needs.memory_mb,
                if needs.hugepages == HugepageMode::Auto {
                    ": qdp falls back to ordinary pages (--no-huge), slower"
                } else {
                    ": qdp refuses to start (hugepages = \"required\")"
                }
            ),
            format!("sudo hugepages/qdp-hugepages.sh --pages {pages}"),
        ));
    }
}

fn hugetlbfs(root: &SysRoot, needs: &Needs) -> Check {
    let mounts: Vec<MountEntry> = root.parse("/proc/mounts").unwrap_or_default();
    let found: Vec<String> = mounts
        .iter()
        .filter(|m| m.fs_vfstype == "hugetlbfs")
        .map(|m| match m.fs_mntops.get("pagesize") {
            Some(Some(size)) => format!("{} (pagesize {size})", m.fs_file),
            _ => m.fs_file.clone(),
        })
        .collect();
    if found.is_empty() {
        Check::not_ok(
            "hugetlbfs",
            needs.severity(needs.hugepages == HugepageMode::Required),
            "not mounted: DPDK finds no hugepages without it",
            "sudo mount -t hugetlbfs nodev /dev/hugepages (systemd mounts it at boot: dev-hugepages.mount), or sudo hugepages/qdp-hugepages.sh",
        )
    } else {
        Check::pass("hugetlbfs", format!("mounted at {}", found.join(", ")))
    }
}

/// vfio-pci pins all of DPDK's memory for DMA; that counts against `RLIMIT_MEMLOCK` unless the
/// process has `CAP_IPC_LOCK`.
fn memlock(root: &SysRoot, needs: &Needs) -> Check {
    let name = "memlock";
    let fix = "run qdp as the systemd unit (LimitMEMLOCK=infinity) or as root, or raise the limit: ulimit -l unlimited";
    let status: Option<ProcStatus> = root.parse("/proc/self/status");
    if status
        .as_ref()
        .is_some_and(|s| s.capeff & CAP_IPC_LOCK != 0)
    {
        return Check::pass(
            name,
            "this process has CAP_IPC_LOCK: locked memory is not limited",
        );
    }
    let Some(limits) = root.parse::<Limits>("/proc/self/limits") else {
        return Check::not_ok(name, Status::Warn, "cannot read /proc/self/limits", fix);
    };
    let need = if needs.given {
        u64::from(needs.memory_mb) * MIB
    } else {
        512 * MIB
    };
    match limits.max_locked_memory.soft_limit {
        LimitValue::Unlimited => Check::pass(name, "unlimited"),
        LimitValue::Value(v) if v >= need => Check::pass(
            name,
            format!("{} MiB, ≥ the {} MiB qdp maps", v / MIB, need / MIB),
        ),
        LimitValue::Value(v) => Check::not_ok(
            name,
            needs.severity(!needs.pci_ports.is_empty()),
            format!(
                "{} MiB for this process without CAP_IPC_LOCK, but vfio-pci pins the {} MiB qdp maps",
                v / MIB,
                need / MIB
            ),
            fix,
        ),
    }
}
