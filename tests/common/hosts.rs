//! The kernel hosts of `tests/topology.sh` (namespaces qdpt-client and qdpt-server on veth
//! pairs): building and removing the topology, running commands in a namespace, iperf3 between
//! the hosts.

use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;

use super::{assert_success, repo_root, run_with_timeout};

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
