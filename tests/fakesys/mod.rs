//! A fake `/proc` and `/sys` tree in a scratch folder, in the kernel's own file formats, for
//! `qdp doctor --root` and `hugepages/qdp-vfs.sh --root`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// A tree of plain files and symbolic links standing for `/proc` and `/sys`.
pub struct FakeSys {
    dir: tempfile::TempDir,
}

/// `/proc/meminfo` with `free` of `total` 2 MiB hugepages.
pub fn meminfo(total: u64, free: u64) -> String {
    format!(
        "MemTotal:       24683584 kB\nMemFree:        17014204 kB\nMemAvailable:   22916892 kB\nBuffers:           18072 kB\nCached:          5935936 kB\nSwapCached:            0 kB\nActive:          2433576 kB\nInactive:        3580528 kB\nActive(anon):       1568 kB\nInactive(anon):   136488 kB\nActive(file):    2432008 kB\nInactive(file):  3444040 kB\nUnevictable:       14372 kB\nMlocked:           13248 kB\nSwapTotal:             0 kB\nSwapFree:              0 kB\nDirty:             26384 kB\nWriteback:             0 kB\nAnonPages:         74668 kB\nMapped:           149048 kB\nShmem:             77912 kB\nKReclaimable:     347256 kB\nSlab:             394688 kB\nSReclaimable:     347256 kB\nSUnreclaim:        47432 kB\nKernelStack:        1832 kB\nPageTables:         2988 kB\nCommitLimit:    11817504 kB\nCommitted_AS:     301436 kB\nVmallocTotal:   34359738367 kB\nVmallocUsed:       14604 kB\nVmallocChunk:          0 kB\nHugePages_Total:     {total}\nHugePages_Free:      {free}\nHugePages_Rsvd:        0\nHugePages_Surp:        0\nHugepagesize:       2048 kB\nHugetlb:         {} kB\n",
        total * 2048
    )
}

/// `/proc/PID/status` of a task called `name`, allowed on `cpus` (`0-3`), with `capeff`.
pub fn status(name: &str, pid: u32, cpus: &str, capeff: u64) -> String {
    format!(
        "Name:\t{name}\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t{pid}\nNgid:\t0\nPid:\t{pid}\nPPid:\t1\nTracerPid:\t0\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nFDSize:\t64\nGroups:\t \nVmPeak:\t    3060 kB\nVmSize:\t    3060 kB\nVmLck:\t       0 kB\nVmPin:\t       0 kB\nVmHWM:\t    1616 kB\nVmRSS:\t    1616 kB\nVmData:\t     360 kB\nVmStk:\t     132 kB\nVmExe:\t      20 kB\nVmLib:\t    1528 kB\nVmPTE:\t      48 kB\nVmSwap:\t       0 kB\nThreads:\t1\nSigQ:\t0/96363\nSigPnd:\t0000000000000000\nShdPnd:\t0000000000000000\nSigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\nSigCgt:\t0000000000000000\nCapInh:\t0000000000000000\nCapPrm:\t{capeff:016x}\nCapEff:\t{capeff:016x}\nCapBnd:\t000001ffffffffff\nCapAmb:\t0000000000000000\nNoNewPrivs:\t0\nSeccomp:\t0\nCpus_allowed_list:\t{cpus}\nMems_allowed_list:\t0\nvoluntary_ctxt_switches:\t10\nnonvoluntary_ctxt_switches:\t1\n"
    )
}

/// `/proc/PID/stat` of a task that used `ticks` clock ticks of CPU since it started at tick
/// `start`.
pub fn stat(name: &str, pid: u32, ticks: u64, start: u64) -> String {
    format!(
        "{pid} ({name}) S 1 {pid} {pid} 0 -1 4194304 97 0 0 0 {ticks} 0 0 0 20 0 1 0 {start} 3133440 376 18446744073709551615 1 1 1 0 0 0 0 0 0 0 0 0 17 2 0 0 0 0 0 1 1 1 1 1 1 1 0\n"
    )
}

/// `/proc/self/limits` with a locked-memory limit of `memlock` (a byte count or `unlimited`).
pub fn limits(memlock: &str) -> String {
    let row = |name: &str, soft: &str, hard: &str, unit: &str| {
        format!("{name:<26}{soft:<21}{hard:<21}{unit:<10}\n")
    };
    let mut s = row("Limit", "Soft Limit", "Hard Limit", "Units");
    for (n, v, u) in [
        ("Max cpu time", "unlimited", "seconds"),
        ("Max file size", "unlimited", "bytes"),
        ("Max data size", "unlimited", "bytes"),
        ("Max stack size", "8388608", "bytes"),
        ("Max core file size", "0", "bytes"),
        ("Max resident set", "unlimited", "bytes"),
        ("Max processes", "96363", "processes"),
        ("Max open files", "20000", "files"),
        ("Max locked memory", memlock, "bytes"),
        ("Max address space", "unlimited", "bytes"),
        ("Max file locks", "unlimited", "locks"),
        ("Max pending signals", "96363", "signals"),
        ("Max msgqueue size", "819200", "bytes"),
        ("Max nice priority", "0", ""),
        ("Max realtime priority", "0", ""),
        ("Max realtime timeout", "unlimited", "us"),
    ] {
        s.push_str(&row(n, v, v, u));
    }
    s
}

impl FakeSys {
    /// An empty tree.
    pub fn empty(name: &str) -> FakeSys {
        FakeSys {
            dir: tempfile::Builder::new()
                .prefix(&format!("qdp-i13-fakesys-{name}-"))
                .tempdir()
                .expect("tempdir"),
        }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// The path of `abs` in the tree.
    pub fn path(&self, abs: &str) -> PathBuf {
        self.root().join(abs.trim_start_matches('/'))
    }

    /// Writes a file, making its directories.
    pub fn write(&self, abs: &str, text: &str) {
        let p = self.path(abs);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    pub fn read(&self, abs: &str) -> String {
        std::fs::read_to_string(self.path(abs)).unwrap_or_else(|e| panic!("{abs}: {e}"))
    }

    pub fn mkdir(&self, abs: &str) {
        std::fs::create_dir_all(self.path(abs)).unwrap();
    }

    /// A symbolic link at `abs` to `target` (relative to the link's folder, as sysfs has them),
    /// replacing one already there.
    pub fn link(&self, abs: &str, target: &str) {
        let p = self.path(abs);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        let _ = std::fs::remove_file(&p);
        std::os::unix::fs::symlink(target, p).unwrap();
    }

    /// Removes a file, a link or a whole folder.
    pub fn remove(&self, abs: &str) {
        let p = self.path(abs);
        if p.is_dir() && !p.is_symlink() {
            std::fs::remove_dir_all(p).unwrap();
        } else {
            std::fs::remove_file(p).unwrap();
        }
    }

    /// A PF at `pf` with its interface `ifname`, offering `total` VFs at offset 16 and stride 1
    /// (VF i of 0000:03:00.0 is 0000:03:02.i), `numvfs` of them created.
    pub fn pf(&self, pf: &str, ifname: &str, total: u32, numvfs: u32) {
        let d = format!("/sys/bus/pci/devices/{pf}");
        self.write(&format!("{d}/sriov_totalvfs"), &format!("{total}\n"));
        self.write(&format!("{d}/sriov_numvfs"), &format!("{numvfs}\n"));
        self.write(&format!("{d}/sriov_offset"), "16\n");
        self.write(&format!("{d}/sriov_stride"), "1\n");
        self.write(&format!("{d}/numa_node"), "0\n");
        self.mkdir(&format!("{d}/net/{ifname}"));
        self.link(&format!("{d}/driver"), "../../drivers/ice");
        self.link(
            &format!("/sys/class/net/{ifname}/device"),
            &format!("../../../bus/pci/devices/{pf}"),
        );
        for drv in ["ice", "iavf", "vfio-pci"] {
            self.mkdir(&format!("/sys/bus/pci/drivers/{drv}"));
        }
    }

    /// VF `index` of `pf` at `addr`, bound to `driver` (`None`: to none), as the kernel makes it.
    pub fn vf(&self, pf: &str, index: u32, addr: &str, driver: Option<&str>) {
        let d = format!("/sys/bus/pci/devices/{addr}");
        self.write(&format!("{d}/numa_node"), "0\n");
        self.write(&format!("{d}/driver_override"), "(null)\n");
        self.link(&format!("{d}/physfn"), &format!("../{pf}"));
        self.link(
            &format!("/sys/bus/pci/devices/{pf}/virtfn{index}"),
            &format!("../{addr}"),
        );
        match driver {
            Some(drv) => {
                self.mkdir(&format!("/sys/bus/pci/drivers/{drv}"));
                self.link(&format!("{d}/driver"), &format!("../../drivers/{drv}"))
            }
            None => {
                let _ = std::fs::remove_file(self.path(&format!("{d}/driver")));
            }
        }
    }

    /// Every file in the tree with its content (links as `-> target`), to compare before and
    /// after.
    pub fn snapshot(&self) -> Vec<(PathBuf, String)> {
        fn walk(dir: &Path, root: &Path, out: &mut Vec<(PathBuf, String)>) {
            for e in std::fs::read_dir(dir).unwrap() {
                let p = e.unwrap().path();
                let rel = p.strip_prefix(root).unwrap().to_path_buf();
                if p.is_symlink() {
                    out.push((
                        rel,
                        format!("-> {}", std::fs::read_link(&p).unwrap().display()),
                    ));
                } else if p.is_dir() {
                    out.push((rel.clone(), "/".into()));
                    walk(&p, root, out);
                } else {
                    out.push((rel, std::fs::read_to_string(&p).unwrap_or_default()));
                }
            }
        }
        let mut v = Vec::new();
        walk(self.root(), self.root(), &mut v);
        v.sort();
        v
    }
}
