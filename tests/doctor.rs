//! `qdp doctor` against fake `/proc` and `/sys` trees (`--root`): a box where every check
//! passes, then one change per check that makes it fail (or warn, for the checks that only
//! warn), and the real machine once.

mod common;
mod fakesys;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::*;
use fakesys::*;
use serde_json::Value;

const PIPELINE: &str = r#"name = "doctor-test"
[eal]
cores = [0, 2, 3]
main_core = 0
file_prefix = "qdp-i13-doctor"
hugepages = "required"
memory_mb = 512
[mempool]
mbufs = 8191
[[ports]]
name = "vf0"
pci = "0000:03:02.0"
[[ports]]
name = "vf1"
pci = "0000:03:02.1"
[[workers]]
name = "w0"
core = 2
rx = ["vf0"]
[[workers]]
name = "w1"
core = 3
rx = ["vf1"]
[[cross_connect]]
a = "vf0"
b = "vf1"
"#;

const CMDLINE: &str = "BOOT_IMAGE=/vmlinuz ro isolcpus=domain,managed_irq,2-3 nohz_full=2-3 rcu_nocbs=2-3 intel_iommu=on iommu=pt\n";

/// Every check name on the good box, in order.
const NAMES: &[&str] = &[
    "hugepages node0",
    "hugepages total",
    "hugetlbfs",
    "memlock",
    "iommu",
    "vfio-pci",
    "port vf0 sriov",
    "port vf0 driver",
    "port vf0 numa",
    "port vf1 sriov",
    "port vf1 driver",
    "port vf1 numa",
    "cores online",
    "cores isolated",
    "pinned tasks",
    "cpu governor",
];

/// A machine ready for [`PIPELINE`]: hugepages, IOMMU, vfio-pci, both VFs bound, worker cores
/// 2 and 3 isolated, busy tasks only where they do not matter.
fn good_box(name: &str) -> FakeSys {
    let fs = FakeSys::empty(name);
    fs.write("/proc/meminfo", &meminfo(1024, 1024));
    fs.write(
        "/proc/mounts",
        "sysfs /sys sysfs rw,nosuid 0 0\nproc /proc proc rw 0 0\nnodev /dev/hugepages hugetlbfs rw,relatime,pagesize=2M 0 0\n",
    );
    fs.write("/proc/cmdline", CMDLINE);
    fs.write("/proc/uptime", "10000.00 19000.00\n");
    fs.write("/proc/self/status", &status("qdp", 42, "0-3", 0));
    fs.write("/proc/self/limits", &limits("unlimited"));
    // Busy, but free to run anywhere: the isolation keeps it off the workers.
    fs.write("/proc/100/status", &status("sshd", 100, "0-3", 0));
    fs.write("/proc/100/stat", &stat("sshd", 100, 900_000, 0));
    // Busy on CPU 0 only (not a worker core), and an idle thread pinned to worker core 2.
    fs.write("/proc/200/status", &status("testpmd", 200, "0", 0));
    fs.write("/proc/200/task/200/status", &status("testpmd", 200, "0", 0));
    fs.write("/proc/200/task/200/stat", &stat("testpmd", 200, 900_000, 0));
    fs.write(
        "/proc/200/task/201/status",
        &status("lcore-worker-2", 201, "2", 0),
    );
    fs.write(
        "/proc/200/task/201/stat",
        &stat("lcore-worker-2", 201, 10, 0),
    );
    // qdp's own worker, busy on core 2: not counted.
    fs.write("/proc/300/status", &status("qdp", 300, "2", 0));
    fs.write(
        "/proc/300/task/301/status",
        &status("lcore-worker-1", 301, "2", 0),
    );
    fs.write(
        "/proc/300/task/301/stat",
        &stat("lcore-worker-1", 301, 900_000, 0),
    );
    fs.write("/sys/devices/system/cpu/online", "0-3\n");
    for cpu in 0..4 {
        fs.write(
            &format!("/sys/devices/system/cpu/cpu{cpu}/cpufreq/scaling_governor"),
            "performance\n",
        );
    }
    fs.write("/sys/devices/system/node/node0/cpulist", "0-3\n");
    let hp = "/sys/devices/system/node/node0/hugepages";
    fs.write(&format!("{hp}/hugepages-2048kB/nr_hugepages"), "1024\n");
    fs.write(&format!("{hp}/hugepages-2048kB/free_hugepages"), "1024\n");
    fs.write(&format!("{hp}/hugepages-1048576kB/nr_hugepages"), "0\n");
    fs.write(&format!("{hp}/hugepages-1048576kB/free_hugepages"), "0\n");
    for g in 0..3 {
        fs.mkdir(&format!("/sys/kernel/iommu_groups/{g}/devices"));
    }
    fs.mkdir("/sys/module/vfio_pci");
    fs.pf("0000:03:00.0", "enp3s0f0", 8, 2);
    fs.vf("0000:03:00.0", 0, "0000:03:02.0", Some("vfio-pci"));
    fs.vf("0000:03:00.0", 1, "0000:03:02.1", Some("vfio-pci"));
    fs
}

/// Runs `qdp doctor [PIPELINE] --root ROOT --json`; its exit code and report.
fn doctor(root: &Path, pipeline: Option<&str>) -> (i32, Value) {
    let dir = scratch("doctor-pipeline");
    let mut cmd = Command::new(qdp_bin());
    cmd.arg("doctor");
    if let Some(text) = pipeline {
        let file = dir.path().join("pipeline.toml");
        std::fs::write(&file, text).unwrap();
        cmd.arg(file);
    }
    cmd.arg("--root").arg(root).arg("--json");
    let out = run_with_timeout(&mut cmd, Duration::from_secs(60));
    let text = String::from_utf8_lossy(&out.stdout);
    let json: Value = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "doctor printed no JSON ({e}):\n{text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().expect("exit code"), json)
}

/// The check called `name` in a report.
fn check<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check '{name}' in {report:#}"))
}

fn names(report: &Value) -> Vec<String> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn every_check_passes_on_a_ready_box() {
    let fs = good_box("good");
    let (code, report) = doctor(fs.root(), Some(PIPELINE));
    assert_eq!(names(&report), NAMES, "{report:#}");
    for c in report["checks"].as_array().unwrap() {
        assert_eq!(c["status"], "pass", "{c}");
        assert_eq!(c["fix"], Value::Null, "{c}");
    }
    assert_eq!(code, 0);
    assert_eq!(report["pass"], NAMES.len());
    assert!(check(&report, "port vf0 sriov")["detail"]
        .as_str()
        .unwrap()
        .contains("VF of PF 0000:03:00.0 (sriov_numvfs 2)"));
    assert!(check(&report, "cores isolated")["detail"]
        .as_str()
        .unwrap()
        .contains("isolcpus=2,3 nohz_full=2,3 rcu_nocbs=2,3"));
}

/// One change to the good box and the status it gives the named check.
struct Case {
    check: &'static str,
    change: fn(&FakeSys),
    status: &'static str,
    /// Words the detail or the fix must contain.
    says: &'static str,
}

#[test]
fn each_check_fails_when_its_item_is_wrong() {
    let cases = [
        Case {
            check: "hugepages node0",
            change: |fs| {
                fs.write(
                    "/sys/devices/system/node/node0/hugepages/hugepages-2048kB/free_hugepages",
                    "2\n",
                )
            },
            status: "fail",
            says: "qdp-hugepages.sh --node 0 --pages",
        },
        Case {
            check: "hugepages total",
            change: |fs| fs.write("/proc/meminfo", &meminfo(1024, 100)),
            status: "fail",
            says: "200 MiB free, but eal.memory_mb = 512",
        },
        Case {
            check: "hugetlbfs",
            change: |fs| fs.write("/proc/mounts", "proc /proc proc rw 0 0\n"),
            status: "fail",
            says: "mount -t hugetlbfs",
        },
        Case {
            check: "memlock",
            change: |fs| fs.write("/proc/self/limits", &limits("65536")),
            status: "fail",
            says: "LimitMEMLOCK=infinity",
        },
        Case {
            check: "iommu",
            change: |fs| fs.remove("/sys/kernel/iommu_groups"),
            status: "fail",
            says: "intel_iommu=on",
        },
        Case {
            check: "vfio-pci",
            change: |fs| {
                fs.remove("/sys/module/vfio_pci");
                fs.remove("/sys/bus/pci/drivers/vfio-pci");
            },
            status: "fail",
            says: "modprobe vfio-pci",
        },
        Case {
            check: "port vf0 driver",
            change: |fs| {
                fs.link(
                    "/sys/bus/pci/devices/0000:03:02.0/driver",
                    "../../drivers/iavf",
                )
            },
            status: "fail",
            says: "kernel driver iavf",
        },
        Case {
            check: "port vf0 driver",
            change: |fs| fs.remove("/sys/bus/pci/devices/0000:03:02.0/driver"),
            status: "fail",
            says: "dpdk-devbind.py --bind=vfio-pci 0000:03:02.0",
        },
        Case {
            check: "port vf1 driver",
            change: |fs| {
                fs.link(
                    "/sys/bus/pci/devices/0000:03:02.1/driver",
                    "../../drivers/igb_uio",
                )
            },
            status: "warn",
            says: "without IOMMU protection",
        },
        Case {
            check: "port vf0 numa",
            change: |fs| {
                fs.write("/sys/bus/pci/devices/0000:03:02.0/numa_node", "1\n");
                fs.write("/sys/devices/system/node/node1/cpulist", "4-7\n");
                let hp = "/sys/devices/system/node/node1/hugepages/hugepages-2048kB";
                fs.write(&format!("{hp}/nr_hugepages"), "1024\n");
                fs.write(&format!("{hp}/free_hugepages"), "1024\n");
            },
            status: "warn",
            says: "worker 'w0' on CPU 2",
        },
        Case {
            check: "port vf1 sriov",
            change: |fs| {
                fs.remove("/sys/bus/pci/devices/0000:03:02.1");
                fs.remove("/sys/bus/pci/devices/0000:03:00.0/virtfn1");
                fs.write("/sys/bus/pci/devices/0000:03:00.0/sriov_numvfs", "1\n");
            },
            status: "fail",
            says: "qdp-vfs.sh --pf 0000:03:00.0 --vfs 2",
        },
        Case {
            check: "port vf1 driver",
            change: |fs| {
                fs.remove("/sys/bus/pci/devices/0000:03:02.1");
                fs.write("/sys/bus/pci/devices/0000:03:00.0/sriov_totalvfs", "1\n");
            },
            status: "fail",
            says: "no PCI device 0000:03:02.1",
        },
        Case {
            check: "cores online",
            change: |fs| fs.write("/sys/devices/system/cpu/online", "0-1\n"),
            status: "fail",
            says: "CPU 2,3 not online",
        },
        Case {
            check: "cores isolated",
            change: |fs| {
                fs.write(
                    "/proc/cmdline",
                    "ro isolcpus=2-3 nohz_full=2 rcu_nocbs=2-3\n",
                )
            },
            status: "warn",
            says: "nohz_full=2 lacks CPU 3",
        },
        Case {
            check: "cores isolated",
            change: |fs| fs.write("/proc/cmdline", "ro quiet\n"),
            status: "warn",
            says: "isolcpus=2,3 nohz_full=2,3 rcu_nocbs=2,3",
        },
        Case {
            check: "pinned tasks",
            change: |fs| {
                fs.write(
                    "/proc/200/task/201/stat",
                    &stat("lcore-worker-2", 201, 500_000, 0),
                )
            },
            status: "warn",
            says: "lcore-worker-2 (pid 200, task 201) on CPU 2, 50 % busy",
        },
        Case {
            check: "cpu governor",
            change: |fs| {
                fs.write(
                    "/sys/devices/system/cpu/cpu3/cpufreq/scaling_governor",
                    "powersave\n",
                )
            },
            status: "warn",
            says: "CPU 3: powersave",
        },
    ];
    let mut covered: Vec<&str> = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let fs = good_box(&format!("case{i}"));
        (case.change)(&fs);
        let (code, report) = doctor(fs.root(), Some(PIPELINE));
        let c = check(&report, case.check);
        assert_eq!(c["status"], case.status, "case {i}: {c}");
        let words = format!("{} {}", c["detail"], c["fix"]);
        assert!(
            words.contains(case.says),
            "case {i}: '{}' not in {c}",
            case.says
        );
        assert!(c["fix"].is_string(), "case {i}: no fix in {c}");
        assert_eq!(
            code,
            i32::from(case.status == "fail"),
            "case {i}: exit code"
        );
        // Only the changed item is off (a missing VF also leaves its numa check out).
        for other in report["checks"].as_array().unwrap() {
            if other["name"] != case.check && other["status"] != "pass" {
                panic!("case {i} ({}) also moved {other}", case.check);
            }
        }
        covered.push(case.check);
    }
    // Every check has a case (the two ports' checks are the same code).
    for name in NAMES {
        let n = name.replace("vf1", "vf0");
        assert!(
            covered.iter().any(|c| c.replace("vf1", "vf0") == n),
            "no case makes '{name}' fail"
        );
    }
}

#[test]
fn memlock_is_no_limit_with_cap_ipc_lock() {
    let fs = good_box("ipc-lock");
    fs.write("/proc/self/limits", &limits("65536"));
    fs.write("/proc/self/status", &status("qdp", 42, "0-3", 1 << 14));
    let (code, report) = doctor(fs.root(), Some(PIPELINE));
    let c = check(&report, "memlock");
    assert_eq!(c["status"], "pass", "{c}");
    assert!(c["detail"].as_str().unwrap().contains("CAP_IPC_LOCK"));
    assert_eq!(code, 0);
}

#[test]
fn the_text_report_shows_each_failure_with_its_fix() {
    let fs = good_box("text");
    fs.link(
        "/sys/bus/pci/devices/0000:03:02.0/driver",
        "../../drivers/iavf",
    );
    let dir = scratch("doctor-text");
    let file = dir.path().join("p.toml");
    std::fs::write(&file, PIPELINE).unwrap();
    let out = run_with_timeout(
        Command::new(qdp_bin())
            .arg("doctor")
            .arg(&file)
            .arg("--root")
            .arg(fs.root()),
        Duration::from_secs(60),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.starts_with("qdp doctor: pipeline 'doctor-test'"),
        "{text}"
    );
    let at = text
        .find("FAIL  port vf0 driver")
        .unwrap_or_else(|| panic!("{text}"));
    let next = &text[at..text[at..].find("\nPASS").map_or(text.len(), |n| at + n)];
    assert!(
        next.contains("fix: sudo dpdk-devbind.py --bind=vfio-pci 0000:03:02.0"),
        "{next}"
    );
    assert!(text.ends_with("15 pass, 0 warn, 1 fail\n"), "{text}");
}

#[test]
fn without_a_pipeline_the_box_is_checked_on_its_own() {
    let fs = good_box("no-pipeline");
    let (code, report) = doctor(fs.root(), None);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(check(&report, "sriov 0000:03:00.0")["status"], "pass");
    assert!(!names(&report).iter().any(|n| n.starts_with("port ")));
    fs.write("/sys/bus/pci/devices/0000:03:00.0/sriov_numvfs", "0\n");
    let (_, report) = doctor(fs.root(), None);
    let c = check(&report, "sriov 0000:03:00.0");
    assert_eq!(c["status"], "warn", "{c}");
    assert!(c["fix"]
        .as_str()
        .unwrap()
        .contains("qdp-vfs.sh --pf 0000:03:00.0"));
}

#[test]
fn a_pipeline_without_hugepages_is_told_so() {
    let fs = good_box("off");
    let off = PIPELINE.replace("hugepages = \"required\"", "hugepages = \"off\"");
    let (code, report) = doctor(fs.root(), Some(&off));
    let c = check(&report, "hugepages");
    assert_eq!(c["status"], "warn", "{c}");
    assert!(!names(&report)
        .iter()
        .any(|n| n.starts_with("hugepages node")));
    assert_eq!(code, 0);
    // "auto" short of hugepages: a warning, not a failure (qdp falls back to ordinary pages).
    fs.write("/proc/meminfo", &meminfo(1024, 100));
    let auto = PIPELINE.replace("hugepages = \"required\"", "hugepages = \"auto\"");
    let (code, report) = doctor(fs.root(), Some(&auto));
    assert_eq!(check(&report, "hugepages total")["status"], "warn");
    assert_eq!(code, 0);
}

#[test]
fn an_empty_or_garbled_tree_is_reported_not_crashed_on() {
    let fs = FakeSys::empty("empty");
    let (code, report) = doctor(fs.root(), Some(PIPELINE));
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(check(&report, "cores online")["status"], "fail");
    assert_eq!(check(&report, "port vf0 driver")["status"], "fail");
    let garbled = good_box("garbled");
    for f in [
        "/proc/meminfo",
        "/proc/mounts",
        "/proc/self/limits",
        "/proc/self/status",
        "/proc/200/task/201/stat",
        "/proc/200/task/201/status",
        "/proc/uptime",
        "/sys/devices/system/cpu/online",
        "/sys/devices/system/node/node0/cpulist",
        "/sys/bus/pci/devices/0000:03:00.0/sriov_numvfs",
        "/sys/bus/pci/devices/0000:03:02.0/numa_node",
    ] {
        garbled.write(f, "(( \u{0}garbage 99999999999999999999999 -5-3 )\n");
    }
    garbled.write("/proc/200/task/201/stat", "(x) R\n");
    let (code, report) = doctor(garbled.root(), Some(PIPELINE));
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(names(&report), NAMES, "{report:#}");
}

#[test]
fn a_broken_pipeline_is_refused_naming_its_field() {
    let fs = good_box("broken");
    let dir = scratch("doctor-broken");
    let file = dir.path().join("p.toml");
    std::fs::write(&file, PIPELINE.replace("core = 3", "core = 9")).unwrap();
    let out = run_with_timeout(
        Command::new(qdp_bin())
            .arg("doctor")
            .arg(&file)
            .arg("--root")
            .arg(fs.root()),
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("workers[1].core"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_real_machine_gets_every_check() {
    let out = run_with_timeout(
        Command::new(qdp_bin())
            .arg("doctor")
            .arg(repo_root().join("pipelines/demo.toml"))
            .arg("--json"),
        Duration::from_secs(60),
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    let code = out.status.code().unwrap();
    assert_eq!(code, i32::from(report["fail"] != 0), "{report:#}");
    for name in [
        "hugetlbfs",
        "memlock",
        "iommu",
        "vfio-pci",
        "cores online",
        "cores isolated",
        "pinned tasks",
        "cpu governor",
    ] {
        let c = check(&report, name);
        assert!(
            ["pass", "warn", "fail"].contains(&c["status"].as_str().unwrap()),
            "{c}"
        );
        assert!(!c["detail"].as_str().unwrap().is_empty(), "{c}");
    }
    // The demo runs on CPUs 0 and 1, which every machine that runs the tests has.
    assert_eq!(check(&report, "cores online")["status"], "pass");
}
