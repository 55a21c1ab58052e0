//! A VM SF attached by vhost-user (pipelines/kernel-chain-vm.toml on `tests/topology.sh up`): qdp
//! is the vhost-user server, with the socket in its run directory; the SF is a real guest under
//! QEMU, Debian's own kernel with an initramfs of Debian packages (tests/guest/build.sh), whose
//! virtio NIC routes what it gets back to qdp. The kernel hosts talk through fw → VM → count both
//! ways. When the VM goes away, its port's link goes down; a new VM on the same socket is taken
//! back. The guest boots under KVM where KVM boots it, else under software emulation (TCG); the
//! test says which.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::hosts::*;
use common::*;

/// The guest's kernel and initramfs (built once into target/guest).
fn guest_files() -> PathBuf {
    let out = run_with_timeout(
        Command::new("bash").arg(repo_root().join("tests/guest/build.sh")),
        Duration::from_secs(600),
    );
    assert_success(&out);
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// How QEMU runs the guest.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Accel {
    Kvm,
    Tcg,
}

/// A guest under QEMU whose one NIC is a vhost-user client of `socket`; its console goes to
/// `console`. Killed on drop.
struct Vm {
    child: Child,
    console: PathBuf,
}

impl Vm {
    fn boot(guest: &Path, socket: &Path, console: &Path, accel: Accel) -> Vm {
        let accel_args: &[&str] = match accel {
            Accel::Kvm => &["-accel", "kvm", "-cpu", "host"],
            Accel::Tcg => &["-accel", "tcg", "-cpu", "max"],
        };
        let cmdline = "console=ttyS0 panic=-1 quiet qdp.addr=10.99.0.1/24 qdp.gw=10.99.0.254 \
                       qdp.routes=10.1.0.0/24,10.2.0.0/24";
        // Guest RAM in shared memory (memfd), which the vhost-user server maps; MSI-X off on the
        // NIC (QEMU 7.2 crashes in vhost_net_start without it); no checksum or segmentation
        // offload, so that every frame the guest sends is whole with its checksums.
        let nic = "virtio-net-pci,netdev=n0,mac=02:00:00:00:03:01,vectors=0,csum=off,gso=off,\
                   guest_csum=off,guest_tso4=off,guest_tso6=off,guest_ecn=off,guest_ufo=off,\
                   host_tso4=off,host_tso6=off,host_ecn=off,host_ufo=off,romfile=";
        let file = std::fs::File::create(console).unwrap();
        let child = Command::new("qemu-system-x86_64")
            .args(accel_args)
            .args([
                "-m",
                "256",
                "-smp",
                "1",
                "-nographic",
                "-no-reboot",
                "-nodefaults",
            ])
            .args(["-serial", "stdio"])
            .arg("-kernel")
            .arg(guest.join("vmlinuz"))
            .arg("-initrd")
            .arg(guest.join("initramfs.cpio.gz"))
            .args(["-append", cmdline])
            .args(["-object", "memory-backend-memfd,id=mem,size=256M,share=on"])
            .args(["-numa", "node,memdev=mem"])
            .arg("-chardev")
            .arg(format!("socket,id=c0,path={}", socket.display()))
            .args(["-netdev", "vhost-user,id=n0,chardev=c0"])
            .args(["-device", nic])
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .expect("qemu-system-x86_64");
        Vm {
            child,
            console: console.to_path_buf(),
        }
    }

    fn console(&self) -> String {
        String::from_utf8_lossy(&std::fs::read(&self.console).unwrap_or_default()).into_owned()
    }

    /// Waits up to `limit` for the guest's "qdp-guest: up" line; false if it did not come (or
    /// QEMU ended).
    fn wait_up(&mut self, limit: Duration) -> bool {
        let start = Instant::now();
        while start.elapsed() < limit {
            if self.console().contains("qdp-guest: up") {
                return true;
            }
            if self.child.try_wait().unwrap().is_some() {
                return false;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }

    /// The guest's last reported eth0 counter `name`.
    fn counter(&self, name: &str) -> u64 {
        let c = self.console();
        let line = c
            .lines()
            .rev()
            .find(|l| l.contains("qdp-guest: eth0 "))
            .unwrap_or_else(|| panic!("no counters on the console:\n{c}"));
        line.split_whitespace()
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {line}"))
    }

    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Vm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Boots the guest: under KVM if /dev/kvm is there and the guest comes up under it within
/// 20 s (a KVM guest is at its init within a few seconds), else under TCG (120 s at most). Says which and how long it took.
fn boot(guest: &Path, socket: &Path, dir: &Path, prefer: Option<Accel>) -> (Vm, Accel) {
    let tries: Vec<Accel> = match prefer {
        Some(a) => vec![a],
        None if Path::new("/dev/kvm").exists() => vec![Accel::Kvm, Accel::Tcg],
        None => vec![Accel::Tcg],
    };
    let mut failed = Vec::new();
    for accel in tries {
        let console = dir.join(format!("console-{accel:?}-{}.log", failed.len()));
        let start = Instant::now();
        let mut vm = Vm::boot(guest, socket, &console, accel);
        let limit = Duration::from_secs(if accel == Accel::Kvm { 20 } else { 120 });
        if vm.wait_up(limit) {
            eprintln!(
                "guest booted under {accel:?} in {:.1} s",
                start.elapsed().as_secs_f64()
            );
            return (vm, accel);
        }
        let tail: String = vm
            .console()
            .lines()
            .rev()
            .take(5)
            .collect::<Vec<_>>()
            .join(" | ");
        eprintln!("guest did not boot under {accel:?} (console, last lines: {tail})");
        failed.push(accel);
        vm.kill();
    }
    panic!("the guest booted under none of {failed:?}");
}

#[test]
fn a_vm_sf_on_vhost_user_carries_the_chain_and_is_taken_back_after_it_stops() {
    let guest = guest_files();
    let _topology = Topology::up(&["up"]);
    let dir = scratch("vhost");
    let (qdp, socket) = start_with_sf_socket(
        dir.path(),
        "kernel-chain-vm.toml",
        "qdp-t-vm",
        "vm-sf.sock",
        "net_vhost",
    );

    let (vm, accel) = boot(&guest, &socket, dir.path(), None);
    wait_link(&qdp, "sf", "up", Duration::from_secs(60));
    wait_ping();
    ping_both_ways();
    tcp_both_ways(&format!("through the VM ({accel:?})"), &[]);
    // The guest is an SF that may drop (under emulation it is slow); qdp may not. Everything
    // qdp handed the port reached the guest (received or dropped by the guest's NIC), and
    // every frame the guest sent back reached qdp and, but for the guest's own ARP, went on to
    // the counter.
    std::thread::sleep(Duration::from_millis(1500)); // the guest reports once a second
    let sent = sf_packets(&qdp, "vm-sf");
    let counted = sf_packets(&qdp, "count");
    let sf_port = port(&qdp, "sf");
    let errors = qdp.ok(&["show", "errors"]);
    let (rx, rx_dropped, tx) = (
        vm.counter("rx_packets"),
        vm.counter("rx_dropped"),
        vm.counter("tx_packets"),
    );
    eprintln!(
        "qdp: {sent} sent to the VM ({} refused by the port), {counted} back and counted; \
         guest eth0: rx {rx} (dropped {rx_dropped}), tx {tx}; drops in qdp {errors}",
        sf_port["tx_dropped"]
    );
    assert!(sent > 1_000, "{sent}");
    let handed = sf_port["tx_packets"].as_u64().unwrap();
    assert!(handed >= sent - sf_port["tx_dropped"].as_u64().unwrap());
    assert!(
        rx + rx_dropped >= handed,
        "guest rx {rx} + {rx_dropped} < {handed} handed"
    );
    assert!(
        counted <= tx && tx <= counted + 50,
        "guest tx {tx}, {counted} counted"
    );
    // What qdp dropped is only what the guest's full receive ring refused.
    let tx_full: u64 = errors
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert_eq!(e["reason"], "tx-full", "{errors}");
            e["total"].as_u64().unwrap()
        })
        .sum();
    assert_eq!(tx_full, sf_port["tx_dropped"].as_u64().unwrap(), "{errors}");

    // The VM stops: the link goes down and nothing passes; a new VM on the same socket is
    // taken back and the chain carries again.
    vm.kill();
    wait_link(&qdp, "sf", "down", Duration::from_secs(60));
    let out = in_ns(
        "qdpt-client",
        &["ping", "-c", "2", "-i", "0.2", "-W", "1", "10.2.0.1"],
        Duration::from_secs(30),
    );
    assert!(!out.status.success(), "ping got through a stopped VM");
    let counted = sf_packets(&qdp, "count");
    assert!(port(&qdp, "sf")["tx_dropped"].as_u64().unwrap() >= 2);

    let (_vm, _) = boot(&guest, &socket, dir.path(), Some(accel));
    wait_link(&qdp, "sf", "up", Duration::from_secs(60));
    wait_ping();
    ping_both_ways();
    assert!(sf_packets(&qdp, "count") > counted, "the new VM sends back");
    let ended = qdp.stop();
    assert!(ended.status.success(), "qdp: {}", ended.stderr);
}
