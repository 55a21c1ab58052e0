//! The kernel hosts of `tests/topology.sh` (namespaces qdpt-client and qdpt-server on veth
//! pairs): building and removing the topology, running commands in a namespace, iperf3 between
//! the hosts; and what tests of a chain between them ask the qdp in the middle.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::daemon::Daemon;
use super::{assert_success, eal_section, repo_root, run_with_timeout};

/// `tests/topology.sh ARGS...`, which must succeed.
pub fn topology(args: &[&str]) {
    let out = run_with_timeout(
        Command::new("bash")
            .arg(repo_root().join("tests/topology.sh"))
            .args(args),
        Duration::from_secs(60),
    );
    assert_success(&out);
}

/// The namespaces, removed on drop (also when the test fails).
pub struct Topology;

impl Topology {
    /// `tests/topology.sh ARGS...` (for example `["--mtu", "9000", "up"]`).
    pub fn up(args: &[&str]) -> Topology {
        topology(args);
        Topology
    }
}

impl Drop for Topology {
    fn drop(&mut self) {
        topology(&["down"]);
    }
}

/// `ip netns exec NS ARGS...`, killed after `limit`.
pub fn in_ns(ns: &str, args: &[&str], limit: Duration) -> Output {
    run_with_timeout(
        Command::new("ip").args(["netns", "exec", ns]).args(args),
        limit,
    )
}

/// ICMP echo from each host to the other through the chain, which must be answered.
pub fn ping_both_ways() {
    for (ns, dst) in [("qdpt-client", "10.2.0.1"), ("qdpt-server", "10.1.0.1")] {
        let out = in_ns(
            ns,
            &["ping", "-c", "3", "-i", "0.2", "-W", "2", dst],
            Duration::from_secs(30),
        );
        assert_success(&out);
    }
}

/// An iperf3 server for one client in qdpt-server, killed on drop (also when the client fails).
pub struct Iperf3Server(Child);

impl Iperf3Server {
    /// Waits for the server to end (it does after its one client).
    pub fn wait(&mut self) -> std::io::Result<ExitStatus> {
        self.0.wait()
    }
}

impl Drop for Iperf3Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `iperf3 -s -1 -B 10.2.0.1 -p PORT` in qdpt-server.
pub fn iperf3_server(port: u16) -> Iperf3Server {
    let c = Command::new("ip")
        .args(["netns", "exec", "qdpt-server", "iperf3", "-s", "-1"])
        .args(["-B", "10.2.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("iperf3 server");
    std::thread::sleep(Duration::from_millis(500));
    Iperf3Server(c)
}

/// `iperf3 -c 10.2.0.1 -J -t 3 ARGS...` in qdpt-client, which must succeed: its JSON report.
pub fn iperf3(args: &[&str]) -> Value {
    let mut all = vec!["iperf3", "-c", "10.2.0.1", "-J", "-t", "3"];
    all.extend_from_slice(args);
    let out = in_ns("qdpt-client", &all, Duration::from_secs(60));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "iperf3 {args:?}: {e}: {}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    assert!(v.get("error").is_none(), "iperf3 {args:?}: {}", v["error"]);
    v
}

/// `pipelines/NAME` with the tests' EAL settings (ordinary pages, file prefix `prefix`, no stats
/// line) in place of its own, everything from its first `[[ports]]` on as shipped; written into
/// `dir`.
pub fn shipped_pipeline(dir: &Path, name: &str, prefix: &str) -> PathBuf {
    let text = std::fs::read_to_string(repo_root().join("pipelines").join(name)).unwrap();
    let body = &text[text.find("[[ports]]").expect("[[ports]] in the file")..];
    let file = dir.join(name);
    std::fs::write(
        &file,
        format!("name = \"{prefix}\"\n{}\n{body}", eal_section(prefix)),
    )
    .unwrap();
    file
}

/// qdp started on shipped pipeline `name` whose port `sf` is a socket-backed SF port of driver
/// `driver` (`net_vhost`, `net_memif`) on socket `socket` of qdp's run directory (the control
/// socket's folder, `dir`): checked to be there with the port's link down, no peer attached yet.
pub fn start_with_sf_socket(
    dir: &Path,
    name: &str,
    prefix: &str,
    socket: &str,
    driver: &str,
) -> (Daemon, PathBuf) {
    let file = shipped_pipeline(dir, name, prefix);
    let qdp = Daemon::start(Some(&file), &dir.join("qdp.sock"), &[]);
    let socket = dir.join(socket);
    assert!(socket.exists(), "no {}", socket.display());
    assert_eq!(port(&qdp, "sf")["driver"], driver);
    assert_eq!(port(&qdp, "sf")["link"], "down", "no peer attached yet");
    (qdp, socket)
}

/// The `show ports` row of port `name`.
pub fn port(q: &Daemon, name: &str) -> Value {
    let ports = q.ok(&["show", "ports"]);
    ports
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("no port {name}: {ports}"))
}

/// Waits (`limit` at most) until port `name`'s link is `state`; returns how long it took.
pub fn wait_link(q: &Daemon, name: &str, state: &str, limit: Duration) -> Duration {
    let start = Instant::now();
    loop {
        let p = port(q, name);
        if p["link"] == state {
            return start.elapsed();
        }
        assert!(start.elapsed() < limit, "port {name} never {state}: {p}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The packets SF `name` handled (`show sfs`).
pub fn sf_packets(q: &Daemon, name: &str) -> u64 {
    sf_packets_in(&q.ok(&["show", "sfs"]), name)
}

/// The packets SF `name` handled, from the answer to `show sfs`.
pub fn sf_packets_in(sfs: &Value, name: &str) -> u64 {
    sfs.as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no SF {name}: {sfs}"))["packets"]
        .as_u64()
        .unwrap()
}

/// The packets sent to SF `sf` once every one of them since `since` (the packets sent to it and
/// counted by SF `counter` then) came back and was counted by `counter`: a packet still on its
/// way may make them differ for a moment; 2 s without agreeing is a loss.
pub fn sent_and_counted(q: &Daemon, sf: &str, counter: &str, since: (u64, u64)) -> u64 {
    let start = Instant::now();
    loop {
        let (sent, counted) = (sf_packets(q, sf), sf_packets(q, counter));
        if sent - since.0 == counted - since.1 {
            return sent;
        }
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "{} packets sent to {sf} since, {} came back and were counted by {counter}",
            sent - since.0,
            counted - since.1
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// iperf3 TCP (with `args`) from the client to the server and back (`-R`); each direction
/// carries more than 1 MB.
pub fn tcp_both_ways(what: &str, args: &[&str]) {
    for reverse in [false, true] {
        let srv = iperf3_server(5201);
        let mut all = args.to_vec();
        if reverse {
            all.push("-R");
        }
        let v = iperf3(&all);
        drop(srv);
        let sum = &v["end"]["sum_received"];
        eprintln!(
            "TCP {what}, {}: {:.2} Gbit/s",
            if reverse {
                "server→client"
            } else {
                "client→server"
            },
            sum["bits_per_second"].as_f64().unwrap() / 1e9
        );
        assert!(sum["bytes"].as_u64().unwrap() > 1_000_000, "{}", v["end"]);
    }
}

/// Waits (30 s at most) until a ping from the client to the server gets through.
pub fn wait_ping() {
    let start = Instant::now();
    loop {
        let out = in_ns(
            "qdpt-client",
            &["ping", "-c", "1", "-W", "2", "10.2.0.1"],
            Duration::from_secs(10),
        );
        if out.status.success() {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no ping through the chain"
        );
    }
}
