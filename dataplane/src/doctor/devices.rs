//! Devices: the IOMMU and vfio-pci that PCI ports need, each PCI port's driver binding and NUMA
//! node, and the SR-IOV VFs of the PFs (`sriov_numvfs`), including which PF a missing VF
//! address would belong to (from the PF's `sriov_offset` and `sriov_stride`).

use super::{cpu_words, pci_dir, Check, Needs, PciPort, Status, SysRoot};

pub(super) fn checks(root: &SysRoot, needs: &Needs, out: &mut Vec<Check>) {
    let has_pci = !needs.pci_ports.is_empty();
    out.push(iommu(root, needs, has_pci));
    out.push(vfio_pci(root, needs, has_pci));
    let pfs = sriov_pfs(root);
    for port in &needs.pci_ports {
        port_checks(root, port, &pfs, out);
    }
    if !needs.given {
        for pf in &pfs {
            out.push(if pf.numvfs > 0 {
                Check::pass(
                    format!("sriov {}", pf.addr),
                    format!("{} of {} VFs created", pf.numvfs, pf.totalvfs),
                )
            } else {
                Check::not_ok(
                    format!("sriov {}", pf.addr),
                    Status::Warn,
                    format!("no VFs created (sriov_numvfs 0 of {})", pf.totalvfs),
                    format!("sudo hugepages/qdp-vfs.sh --pf {} --vfs N", pf.addr),
                )
            });
        }
    }
}

fn iommu(root: &SysRoot, needs: &Needs, has_pci: bool) -> Check {
    let groups = root.list("/sys/kernel/iommu_groups").len();
    if groups > 0 {
        return Check::pass("iommu", format!("on: {groups} IOMMU groups"));
    }
    let fix = "enable VT-d / AMD-Vi in the firmware and add intel_iommu=on iommu=pt (Intel) or amd_iommu=on iommu=pt (AMD) to GRUB_CMDLINE_LINUX in /etc/default/grub, then update-grub and reboot";
    if root
        .read("/sys/module/vfio/parameters/enable_unsafe_noiommu_mode")
        .is_some_and(|v| v == "Y" || v == "1")
    {
        return Check::not_ok(
            "iommu",
            Status::Warn,
            "no IOMMU groups; vfio runs in unsafe no-IOMMU mode (devices can DMA anywhere)",
            fix,
        );
    }
    Check::not_ok(
        "iommu",
        needs.severity(has_pci),
        if has_pci {
            "no IOMMU groups: vfio-pci cannot take the pipeline's PCI ports"
        } else {
            "no IOMMU groups (the pipeline has no PCI ports, so it does not need one)"
        },
        fix,
    )
}

fn vfio_pci(root: &SysRoot, needs: &Needs, has_pci: bool) -> Check {
    if root.exists("/sys/module/vfio_pci") || root.exists("/sys/bus/pci/drivers/vfio-pci") {
        return Check::pass("vfio-pci", "loaded");
    }
    Check::not_ok(
        "vfio-pci",
        needs.severity(has_pci),
        if has_pci || !needs.given {
            "not loaded"
        } else {
            "not loaded (the pipeline has no PCI ports, so it does not need it)"
        },
        "sudo modprobe vfio-pci; echo vfio-pci | sudo tee /etc/modules-load.d/qdp.conf (loads it at boot)",
    )
}

/// A PF that offers SR-IOV.
#[derive(Debug, Clone)]
struct Pf {
    addr: String,
    totalvfs: u64,
    numvfs: u64,
    /// `sriov_offset` and `sriov_stride`: VF i's routing id is the PF's + offset + i × stride.
    offset_stride: Option<(u32, u32)>,
}

fn sriov_pfs(root: &SysRoot) -> Vec<Pf> {
    root.list("/sys/bus/pci/devices")
        .into_iter()
        .filter_map(|addr| {
            let dir = pci_dir(&addr);
            let n = |f: &str| root.read(&format!("{dir}/{f}"))?.parse::<u64>().ok();
            let totalvfs = n("sriov_totalvfs").filter(|t| *t > 0)?;
            let offset_stride = n("sriov_offset")
                .zip(n("sriov_stride"))
                .and_then(|(o, s)| Some((u32::try_from(o).ok()?, u32::try_from(s).ok()?)));
            Some(Pf {
                totalvfs,
                numvfs: n("sriov_numvfs").unwrap_or(0),
                offset_stride,
                addr,
            })
        })
        .collect()
}

/// `dddd:bb:dd.f` as (domain, routing id = bus << 8 | device << 3 | function).
fn routing_id(addr: &str) -> Option<(u32, u32)> {
    let (dom, rest) = addr.split_once(':')?;
    let (bus, rest) = rest.split_once(':')?;
    let (dev, func) = rest.split_once('.')?;
    let p = |s: &str| u32::from_str_radix(s, 16).ok();
    Some((
        p(dom)?,
        p(bus)? << 8 | p(dev)? << 3 | func.parse::<u32>().ok()?,
    ))
}

/// The PF (and the VF index) whose VF would have address `addr`, had it enough VFs.
fn owner_of(pfs: &[Pf], addr: &str) -> Option<(Pf, u64)> {
    let (dom, rid) = routing_id(addr)?;
    pfs.iter().find_map(|pf| {
        let (pdom, prid) = routing_id(&pf.addr)?;
        let (offset, stride) = pf.offset_stride?;
        let first = prid + offset;
        if pdom != dom || stride == 0 || rid < first || (rid - first) % stride != 0 {
            return None;
        }
        let index = u64::from((rid - first) / stride);
        (index < pf.totalvfs).then(|| (pf.clone(), index))
    })
}

fn port_checks(root: &SysRoot, port: &PciPort, pfs: &[Pf], out: &mut Vec<Check>) {
    let dir = pci_dir(&port.addr);
    let driver_name = format!("port {} driver", port.name);
    if !root.exists(&dir) {
        match owner_of(pfs, &port.addr) {
            Some((pf, index)) => out.push(Check::not_ok(
                format!("port {} sriov", port.name),
                Status::Fail,
                format!(
                    "{} is VF {index} of PF {}, which has sriov_numvfs {} (of {})",
                    port.addr, pf.addr, pf.numvfs, pf.totalvfs
                ),
                format!(
                    "sudo hugepages/qdp-vfs.sh --pf {} --vfs {}",
                    pf.addr,
                    (index + 1).max(pf.numvfs)
                ),
            )),
            None => out.push(Check::not_ok(
                driver_name,
                Status::Fail,
                format!("no PCI device {} on this machine", port.addr),
                "find the address with lspci -D (or dpdk-devbind.py --status) and set it in ports[].pci",
            )),
        }
        return;
    }
    if let Some(pf) = root.link_name(&format!("{dir}/physfn")) {
        let numvfs = root
            .read(&format!("{}/sriov_numvfs", pci_dir(&pf)))
            .unwrap_or_else(|| "?".into());
        out.push(Check::pass(
            format!("port {} sriov", port.name),
            format!("VF of PF {pf} (sriov_numvfs {numvfs})"),
        ));
    }
    let bind = format!(
        "sudo dpdk-devbind.py --bind=vfio-pci {} (a VF: sudo hugepages/qdp-vfs.sh binds them all)",
        port.addr
    );
    out.push(match root.link_name(&format!("{dir}/driver")).as_deref() {
        Some("vfio-pci") => Check::pass(driver_name, format!("{} bound to vfio-pci", port.addr)),
        Some(d @ ("mlx5_core" | "mlx4_core")) => Check::pass(
            driver_name,
            format!(
                "{} bound to {d} (the mlx PMDs work beside the kernel driver)",
                port.addr
            ),
        ),
        Some(d @ ("igb_uio" | "uio_pci_generic")) => Check::not_ok(
            driver_name,
            Status::Warn,
            format!(
                "{} bound to {d}: works, but without IOMMU protection",
                port.addr
            ),
            bind,
        ),
        Some(d) => Check::not_ok(
            driver_name,
            Status::Fail,
            format!(
                "{} bound to the kernel driver {d}: DPDK cannot take it",
                port.addr
            ),
            bind,
        ),
        None => Check::not_ok(
            driver_name,
            Status::Fail,
            format!("{} bound to no driver", port.addr),
            bind,
        ),
    });
    let numa_name = format!("port {} numa", port.name);
    let node = root
        .read(&format!("{dir}/numa_node"))
        .and_then(|s| s.parse::<i64>().ok())
        .and_then(|n| u32::try_from(n).ok());
    let Some(node) = node else {
        out.push(Check::pass(numa_name, "no NUMA affinity (numa_node -1)"));
        return;
    };
    let far: Vec<&(String, u32)> = port
        .pollers
        .iter()
        .filter(|(_, core)| root.cpu_node(*core).is_some_and(|n| n != node))
        .collect();
    if far.is_empty() {
        out.push(Check::pass(
            numa_name,
            format!("node {node}, as the cores of the workers polling it"),
        ));
    } else {
        let names: Vec<String> = far
            .iter()
            .map(|(w, c)| format!("worker '{w}' on CPU {c}"))
            .collect();
        let cpus = root
            .read(&format!("/sys/devices/system/node/node{node}/cpulist"))
            .unwrap_or_else(|| "?".into());
        out.push(Check::not_ok(
            numa_name,
            Status::Warn,
            format!(
                "port on node {node}, polled from another node by {}: every packet crosses the interconnect",
                names.join(", ")
            ),
            format!(
                "give those workers cores of node {node} (CPUs {cpus}) instead of {}",
                cpu_words(&far.iter().map(|(_, c)| *c).collect::<Vec<_>>())
            ),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pf(addr: &str, offset: u32, stride: u32, total: u64) -> Pf {
        Pf {
            addr: addr.into(),
            totalvfs: total,
            numvfs: 0,
            offset_stride: Some((offset, stride)),
        }
    }

    #[test]
    fn a_vf_address_maps_to_its_pf_and_index() {
        assert_eq!(routing_id("0000:03:02.1"), Some((0, 0x311)));
        let pfs = [pf("0000:03:00.0", 16, 1, 8), pf("0000:03:00.1", 0xff, 2, 4)];
        let (p, i) = owner_of(&pfs, "0000:03:02.3").unwrap();
        assert_eq!((p.addr.as_str(), i), ("0000:03:00.0", 3));
        assert!(owner_of(&pfs, "0000:03:03.0").is_none(), "index 8 of 8");
        let (p, i) = owner_of(&pfs, "0000:04:00.2").unwrap();
        assert_eq!((p.addr.as_str(), i), ("0000:03:00.1", 1));
        assert!(owner_of(&pfs, "0000:04:00.3").is_none(), "between strides");
        assert!(owner_of(&pfs, "0001:03:02.0").is_none(), "another domain");
    }
}
