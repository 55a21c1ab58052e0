//! `hugepages/qdp-vfs.sh` against a fake sysfs tree (`--root`): the dry run plans every step and
//! changes nothing, the real run writes the sysfs files a kernel would act on, a second run on a
//! ready PF does nothing, and bad arguments are refused by name.

mod common;
mod fakesys;

use std::process::{Command, Output};
use std::time::Duration;

use common::*;
use fakesys::*;

const PF: &str = "0000:03:00.0";

fn vfs_script(fs: &FakeSys, args: &[&str]) -> Output {
    run_with_timeout(
        Command::new("bash")
            .arg(repo_root().join("hugepages/qdp-vfs.sh"))
            .arg("--root")
            .arg(fs.root())
            .args(args),
        Duration::from_secs(60),
    )
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A PF with 8 VFs offered and none created.
fn fresh_pf(name: &str) -> FakeSys {
    let fs = FakeSys::empty(name);
    fs.pf(PF, "enp3s0f0", 8, 0);
    fs
}

#[test]
fn the_dry_run_plans_every_step_and_changes_nothing() {
    let fs = fresh_pf("vfs-dry");
    let before = fs.snapshot();
    let out = vfs_script(
        &fs,
        &[
            "--pf",
            "enp3s0f0",
            "--vfs",
            "3",
            "--mac-base",
            "02:00:00:00:10:fe",
            "--vlan",
            "100",
            "--trust",
            "on",
            "--dry-run",
        ],
    );
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    let lines: Vec<&str> = t.lines().collect();
    let expect = [
        "would: write '3' to /sys/bus/pci/devices/0000:03:00.0/sriov_numvfs",
        "not run (--root): ip link set dev enp3s0f0 vf 0 mac 02:00:00:00:10:fe",
        "not run (--root): ip link set dev enp3s0f0 vf 0 vlan 100",
        "not run (--root): ip link set dev enp3s0f0 vf 0 trust on",
        "not run (--root): ip link set dev enp3s0f0 vf 1 mac 02:00:00:00:10:ff",
        "not run (--root): ip link set dev enp3s0f0 vf 2 mac 02:00:00:00:11:00",
        "would: bind 0000:03:02.0 to vfio-pci once it exists",
        "would: bind 0000:03:02.2 to vfio-pci once it exists",
        "  vf2: pci = \"0000:03:02.2\"",
    ];
    for e in expect {
        assert!(lines.contains(&e), "no '{e}' in:\n{t}");
    }
    // Order: the VFs exist before their settings, and are set before they are bound.
    let at = |s: &str| lines.iter().position(|l| l.starts_with(s)).unwrap();
    assert!(at("would: write '3'") < at("not run (--root): ip link"));
    assert!(at("not run (--root): ip link") < at("would: bind"));
    assert_eq!(fs.snapshot(), before, "a dry run changed the tree");
}

#[test]
fn the_run_writes_what_the_kernel_acts_on() {
    let fs = fresh_pf("vfs-write");
    // The VFs the kernel would make on the write, bound to its VF driver.
    for i in 0..3 {
        fs.vf(PF, i, &format!("0000:03:02.{i}"), Some("iavf"));
    }
    fs.write("/sys/bus/pci/drivers/iavf/unbind", "");
    let out = vfs_script(&fs, &["--pf", "03:00.0", "--vfs", "3"]);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert_eq!(
        fs.read(&format!("/sys/bus/pci/devices/{PF}/sriov_numvfs")),
        "3"
    );
    for i in 0..3 {
        let vf = format!("/sys/bus/pci/devices/0000:03:02.{i}");
        assert_eq!(fs.read(&format!("{vf}/driver_override")), "vfio-pci", "{t}");
        assert!(
            t.contains(&format!("write '0000:03:02.{i}' to {vf}/driver/unbind")),
            "{t}"
        );
    }
    // Plain files keep the last write: the last VF's unbind and probe.
    assert_eq!(fs.read("/sys/bus/pci/drivers/iavf/unbind"), "0000:03:02.2");
    assert_eq!(fs.read("/sys/bus/pci/drivers_probe"), "0000:03:02.2");
    assert!(!t.contains("nothing to do"), "{t}");
}

#[test]
fn a_different_number_of_vfs_goes_through_zero() {
    let fs = FakeSys::empty("vfs-renumber");
    fs.pf(PF, "enp3s0f0", 8, 2);
    for i in 0..4 {
        fs.vf(PF, i, &format!("0000:03:02.{i}"), Some("vfio-pci"));
    }
    let out = vfs_script(&fs, &["--pf", PF, "--vfs", "4"]);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    let zero = t
        .find("write '0' to /sys/bus/pci/devices/0000:03:00.0/sriov_numvfs")
        .unwrap_or_else(|| panic!("{t}"));
    let four = t
        .find("write '4' to /sys/bus/pci/devices/0000:03:00.0/sriov_numvfs")
        .unwrap_or_else(|| panic!("{t}"));
    assert!(zero < four, "{t}");
    assert!(t.contains("warning: 0000:03:00.0 has 2 VFs"), "{t}");
    assert_eq!(
        fs.read(&format!("/sys/bus/pci/devices/{PF}/sriov_numvfs")),
        "4"
    );
}

#[test]
fn a_ready_pf_is_left_alone() {
    let fs = FakeSys::empty("vfs-ready");
    fs.pf(PF, "enp3s0f0", 8, 2);
    fs.vf(PF, 0, "0000:03:02.0", Some("vfio-pci"));
    fs.vf(PF, 1, "0000:03:02.1", Some("vfio-pci"));
    let before = fs.snapshot();
    for args in [
        &["--pf", "enp3s0f0", "--vfs", "2"][..],
        &["--pf", PF, "--vfs", "2", "--dry-run"][..],
    ] {
        let out = vfs_script(&fs, args);
        let t = text(&out);
        assert!(out.status.success(), "{t}");
        assert!(
            t.starts_with("nothing to do: 0000:03:00.0 has 2 VFs bound to vfio-pci\n"),
            "{t}"
        );
        assert!(!t.contains("write"), "{t}");
    }
    assert_eq!(fs.snapshot(), before, "a ready PF was changed");
    // One VF back on its kernel driver: only that one is rebound.
    fs.vf(PF, 1, "0000:03:02.1", Some("iavf"));
    let out = vfs_script(&fs, &["--pf", PF, "--vfs", "2"]);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(
        !t.contains("sriov_numvfs") && !t.contains("0000:03:02.0/"),
        "{t}"
    );
    assert_eq!(
        fs.read("/sys/bus/pci/devices/0000:03:02.1/driver_override"),
        "vfio-pci"
    );
}

#[test]
fn bad_arguments_are_refused_by_name() {
    let fs = fresh_pf("vfs-bad");
    let before = fs.snapshot();
    for (args, says) in [
        (&["--vfs", "2"][..], "--pf is required"),
        (
            &["--pf", "eth9", "--vfs", "2"][..],
            "--pf: no network interface 'eth9'",
        ),
        (
            &["--pf", "0000:05:00.0", "--vfs", "2"][..],
            "--pf: no PCI device 0000:05:00.0",
        ),
        (
            &["--pf", PF, "--vfs", "9"][..],
            "--vfs: 9 is more than the 8 VFs",
        ),
        (&["--pf", PF, "--vfs", "0"][..], "--vfs must be at least 1"),
        (&["--pf", PF, "--vfs", "two"][..], "--vfs must be a number"),
        (&["--pf", PF, "--vfs"][..], "--vfs needs a value"),
        (&["--pf", "--vfs", "2"][..], "--pf needs a value"),
        (
            &["--pf", PF, "--vfs", "2", "--mac-base", "02:00:00:00:10"][..],
            "--mac-base must be six hex bytes",
        ),
        (
            &["--pf", PF, "--vfs", "2", "--mac-base", "01:00:5e:00:00:01"][..],
            "--mac-base 01:00:5e:00:00:01 is a multicast address",
        ),
        (
            &["--pf", PF, "--vfs", "2", "--vlan", "4095"][..],
            "--vlan must be 0..4094",
        ),
        (
            &["--pf", PF, "--vfs", "2", "--trust", "yes"][..],
            "--trust must be on or off",
        ),
        (
            &["--pf", PF, "--vfs", "2", "--bogus"][..],
            "unknown argument '--bogus'",
        ),
    ] {
        let out = vfs_script(&fs, args);
        let t = text(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {t}");
        assert!(t.contains(says), "{args:?}: '{says}' not in {t}");
    }
    // A PF without SR-IOV, and one without the interface the settings need.
    fs.mkdir("/sys/bus/pci/devices/0000:00:1f.0");
    let out = vfs_script(&fs, &["--pf", "00:1f.0", "--vfs", "1"]);
    assert!(text(&out).contains("offers no SR-IOV"), "{}", text(&out));
    fs.remove(&format!("/sys/bus/pci/devices/{PF}/net"));
    let out = vfs_script(&fs, &["--pf", PF, "--vfs", "1", "--trust", "on"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("has no network interface"),
        "{}",
        text(&out)
    );
    let mut after = fs.snapshot();
    after.retain(|(p, _)| !p.starts_with("sys/bus/pci/devices/0000:00:1f.0"));
    let mut want = before.clone();
    want.retain(|(p, _)| !p.starts_with(format!("sys/bus/pci/devices/{PF}/net")));
    assert_eq!(after, want, "a refused run changed the tree");
}
