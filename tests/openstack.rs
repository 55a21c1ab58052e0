//! Two qdp appliances programmed by OpenStack for real: MariaDB, the Neutron API with
//! networking-sfc (`tests/openstack/neutron.sh`), and one qdp with its `qdp agent` per appliance,
//! each in its own namespace (`tests/topology.sh up-openstack`), joined by a veth underlay. The
//! chain is made with the `openstack` CLI only: the client's traffic goes classifier (edge-a) →
//! SF1 (edge-a) → SF2 (edge-b) → server and back through the reverse chain, seen in each SF's
//! namespace by a capture; a second port pair spreads flows by weight and, deleted, moves only
//! its own; new classifiers steer other traffic; a deleted chain leaves no table entry behind;
//! a restarted agent or qdp converges with no duplicates; with the Neutron API stopped, traffic
//! goes on while the agent reports the outage and backs off, and converges when it returns.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::daemon::Daemon;
use common::hosts::{in_ns, shipped_pipeline, tcp_both_ways, Topology};
use common::*;
use serde_json::Value;

/// `tests/openstack/neutron.sh ARGS...`, which must succeed: its stdout.
fn neutron_sh(args: &[&str], limit: Duration) -> String {
    let out = run_with_timeout(
        Command::new("bash")
            .arg(repo_root().join("tests/openstack/neutron.sh"))
            .args(args),
        limit,
    );
    assert_success(&out);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The Neutron API and its database, down on drop.
struct Neutron;

impl Neutron {
    fn up() -> Neutron {
        let t = Instant::now();
        neutron_sh(&["up"], Duration::from_secs(900));
        eprintln!("Neutron API up in {:.1} s", t.elapsed().as_secs_f64());
        Neutron
    }
}

impl Drop for Neutron {
    fn drop(&mut self) {
        let _ = run_with_timeout(
            Command::new("bash")
                .arg(repo_root().join("tests/openstack/neutron.sh"))
                .arg("down"),
            Duration::from_secs(60),
        );
    }
}

/// `openstack ARGS...`, which must succeed; `create`, `list` and `show` print JSON (`-f json`),
/// returned (Null for the others).
fn os(args: &[&str]) -> Value {
    let json = args
        .iter()
        .any(|a| matches!(*a, "create" | "list" | "show"));
    let mut all = vec!["openstack"];
    all.extend_from_slice(args);
    if json {
        all.extend(["-f", "json"]);
    }
    let out = neutron_sh(&all, Duration::from_secs(120));
    if json {
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("openstack {args:?}: {e}: {out}"))
    } else {
        Value::Null
    }
}

/// The flow classifier of every IPv4 packet from the client's subnet to the server's.
fn classifier_all() {
    os(&[
        "sfc",
        "flow",
        "classifier",
        "create",
        "--ethertype",
        "IPv4",
        "--source-ip-prefix",
        "10.1.0.0/24",
        "--destination-ip-prefix",
        "10.2.0.0/24",
        "--logical-source-port",
        "client",
        "--logical-destination-port",
        "server",
        "fc-all",
    ]);
}

/// Port chain `name`: g1 → g2 for `fc-all`, NSH, symmetric.
fn chain(name: &str) {
    os(&[
        "sfc",
        "port",
        "chain",
        "create",
        "--port-pair-group",
        "g1",
        "--port-pair-group",
        "g2",
        "--flow-classifier",
        "fc-all",
        "--chain-parameters",
        "correlation=nsh",
        "--chain-parameters",
        "symmetric=true",
        name,
    ]);
}

/// A running `qdp agent`, killed on drop; its log in a file.
struct Agent {
    child: Child,
    log: PathBuf,
}

impl Agent {
    fn start(dir: &Path, host: &str, socket: &Path) -> Agent {
        let text =
            std::fs::read_to_string(repo_root().join(format!("tests/openstack/agent-{host}.toml")))
                .unwrap()
                .lines()
                .map(|l| {
                    if l.starts_with("socket") {
                        format!("socket = \"{}\"", socket.display())
                    } else {
                        l.to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join("\n");
        let conf = dir.join(format!("agent-{host}.toml"));
        std::fs::write(&conf, text).unwrap();
        let log = dir.join(format!("agent-{host}.log"));
        let child = Command::new(qdp_bin())
            .args(["agent", "--config"])
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("qdp agent");
        Agent { child, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits up to `limit` for `f` to hold; how long it took.
fn wait(what: &str, limit: Duration, mut f: impl FnMut() -> bool) -> Duration {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
    t.elapsed()
}

/// One ping from the client to the server, answered within a second.
fn ping_once() -> bool {
    in_ns(
        "qdpt-client",
        &["ping", "-c", "1", "-W", "1", "10.2.0.1"],
        Duration::from_secs(5),
    )
    .status
    .success()
}

/// `openstack sfc port pair group VERB --port-pair pp1b g1` (`set` adds it, `unset` removes
/// it); returns once edge-a's qdp took the change.
fn group_edit(qa: &Daemon, verb: &str) {
    let g = generation(qa);
    os(&[
        "sfc",
        "port",
        "pair",
        "group",
        verb,
        "--port-pair",
        "pp1b",
        "g1",
    ]);
    wait(
        &format!("g1 {verb} pp1b on edge-a"),
        Duration::from_secs(10),
        || generation(qa) > g,
    );
}

/// Names of the objects `show WHAT` lists.
fn names(q: &Daemon, what: &str) -> Vec<String> {
    q.ok(&["show", what])
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|x| x["name"].as_str().map(str::to_string))
        .collect()
}

/// Every object the agent made in qdp (`os-` names), by kind.
fn agent_objects(q: &Daemon) -> Vec<String> {
    let mut v = Vec::new();
    for what in ["paths", "rules", "sfs", "neighbors"] {
        for n in names(q, what) {
            if n.starts_with("os-") {
                v.push(format!("{what}:{n}"));
            }
        }
    }
    v
}

fn generation(q: &Daemon) -> u64 {
    q.ok(&["show", "version"])["generation"].as_u64().unwrap()
}

/// Records what capture filter `filter` takes on `dev` in `ns` into `file` for `secs` seconds
/// (dumpcap).
fn record(ns: &str, dev: &str, filter: &str, secs: u32, file: &Path) -> Child {
    Command::new("ip")
        .args(["netns", "exec", ns, "dumpcap", "-q", "-i", dev])
        .args(["-f", filter, "-a"])
        .arg(format!("duration:{secs}"))
        .arg("-w")
        .arg(file)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("dumpcap")
}

/// `flows` UDP flows from the client to the server's port 9999 (source ports 20000 on), three
/// datagrams each, recorded in both SF1 instances' namespaces: the source ports each saw.
fn udp_flows(dir: &Path, tag: &str, flows: u16) -> (Vec<u16>, Vec<u16>) {
    let (fa, fb) = (
        dir.join(format!("{tag}-sf1.pcapng")),
        dir.join(format!("{tag}-sf1b.pcapng")),
    );
    // The server's ICMP errors (nothing listens on 9999) quote the datagram: not taken.
    let mut ra = record("qdpt-sf", "sf0", "udp dst port 9999", 5, &fa);
    let mut rb = record("qdpt-sfb", "sfb0", "udp dst port 9999", 5, &fb);
    std::thread::sleep(Duration::from_millis(1500));
    let script = format!(
        "import socket,time\n\
         for r in range(3):\n\
         \x20   for p in range(20000, {}):\n\
         \x20       s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n\
         \x20       s.bind(('10.1.0.1', p)); s.sendto(b'qdp', ('10.2.0.1', 9999)); s.close()\n\
         \x20   time.sleep(0.2)\n",
        20000 + flows
    );
    let out = in_ns(
        "qdpt-client",
        &["python3", "-c", &script],
        Duration::from_secs(30),
    );
    assert_success(&out);
    ra.wait().unwrap();
    rb.wait().unwrap();
    let ports = |f: &Path| {
        let mut v: Vec<u16> = tshark_fields(f, &["udp.srcport"])
            .iter()
            .filter_map(|l| l.trim().parse().ok())
            .collect();
        v.sort();
        v.dedup();
        v
    };
    (ports(&fa), ports(&fb))
}

/// ICMP echo requests and replies a recording holds.
fn icmp_types(f: &Path) -> (usize, usize) {
    let t = tshark_fields(f, &["icmp.type"]);
    (
        t.iter().filter(|x| x.trim() == "8").count(),
        t.iter().filter(|x| x.trim() == "0").count(),
    )
}

/// CPU seconds and resident memory (kB) of a process.
fn usage(pid: u32) -> (f64, u64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let f: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    let ticks: f64 = f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    (ticks / 100.0, rss)
}

#[test]
fn neutron_programs_a_chain_across_two_appliances() {
    let _neutron = Neutron::up();
    let _hosts = Topology::up(&["up-openstack"]);
    let dir = scratch("openstack");
    let d = dir.path();
    let start = |ns: &str, file: &str, sock: &str| {
        let f = shipped_pipeline(d, file, &format!("qdpt-{sock}"));
        Daemon::start_in(ns, &f, &d.join(format!("{sock}.sock")), &[])
    };
    let qa = start("qdpt-edge-a", "openstack-edge-a.toml", "edge-a");
    let mut qb = Some(start("qdpt-edge-b", "openstack-edge-b.toml", "edge-b"));
    let mut agent_a = Some(Agent::start(d, "edge-a", &qa.socket));
    let _agent_b = Agent::start(d, "edge-b", &qb.as_ref().unwrap().socket);

    // The operator's side: networks, the hosts' and SFs' ports (bound to their appliances, each
    // naming its qdp port), port pairs and groups, a classifier.
    os(&[
        "network",
        "create",
        "--provider-network-type",
        "flat",
        "--provider-physical-network",
        "physnet1",
        "underlay",
    ]);
    os(&[
        "subnet",
        "create",
        "--network",
        "underlay",
        "--subnet-range",
        "10.98.0.0/24",
        "--gateway",
        "none",
        "underlay4",
    ]);
    os(&[
        "network",
        "create",
        "--provider-network-type",
        "flat",
        "--provider-physical-network",
        "physnet2",
        "tenant",
    ]);
    let port = |name: &str, host: &str, mac: &str, qdp_port: &str| {
        os(&[
            "port",
            "create",
            "--network",
            "tenant",
            "--no-fixed-ip",
            "--mac-address",
            mac,
            "--host",
            host,
            "--device",
            &format!("vm-{name}"),
            "--binding-profile",
            &format!("qdp_port={qdp_port}"),
            name,
        ]);
    };
    port("client", "edge-a", "02:00:00:00:01:01", "client");
    port("server", "edge-b", "02:00:00:00:02:01", "server");
    port("sf1", "edge-a", "02:00:00:00:03:01", "sf1");
    port("sf1b", "edge-a", "02:00:00:00:05:01", "sf1b");
    port("sf2", "edge-b", "02:00:00:00:07:01", "sf2");
    // Each agent registers its appliance's VTEP in Neutron.
    wait("both VTEPs registered", Duration::from_secs(30), || {
        os(&["port", "list", "--device-owner", "qdp:vtep"])
            .as_array()
            .unwrap()
            .len()
            == 2
    });
    os(&[
        "sfc",
        "port",
        "pair",
        "create",
        "--ingress",
        "sf1",
        "--egress",
        "sf1",
        "pp1",
    ]);
    os(&[
        "sfc",
        "port",
        "pair",
        "create",
        "--ingress",
        "sf2",
        "--egress",
        "sf2",
        "pp2",
    ]);
    os(&[
        "sfc",
        "port",
        "pair",
        "group",
        "create",
        "--port-pair",
        "pp1",
        "g1",
    ]);
    os(&[
        "sfc",
        "port",
        "pair",
        "group",
        "create",
        "--port-pair",
        "pp2",
        "g2",
    ]);
    classifier_all();
    assert!(!ping_once(), "nothing is steered before the chain exists");

    // The chain: from `create` returning to traffic through both appliances.
    chain("pc1");
    let t = Instant::now();
    wait(
        "traffic through the new chain",
        Duration::from_secs(20),
        ping_once,
    );
    let flowing = t.elapsed();
    eprintln!(
        "port chain create → traffic on both appliances: {:.2} s",
        flowing.as_secs_f64()
    );
    let qb_ref = qb.as_ref().unwrap();
    assert_eq!(names(&qa, "paths"), ["os-c1", "os-c1r"]);
    assert_eq!(names(qb_ref, "paths"), ["os-c1", "os-c1r"]);

    // Through each SF both ways: captures in SF1's and SF2's namespaces.
    let (c1, c2) = (d.join("sf1-icmp.pcapng"), d.join("sf2-icmp.pcapng"));
    let mut r1 = record("qdpt-sf", "sf0", "icmp", 4, &c1);
    let mut r2 = record("qdpt-sfc", "sfc0", "icmp", 4, &c2);
    std::thread::sleep(Duration::from_millis(1500));
    let out = in_ns(
        "qdpt-client",
        &["ping", "-c", "5", "-i", "0.2", "-W", "2", "10.2.0.1"],
        Duration::from_secs(20),
    );
    assert_success(&out);
    r1.wait().unwrap();
    r2.wait().unwrap();
    for (f, sf) in [(&c1, "SF1 (edge-a)"), (&c2, "SF2 (edge-b)")] {
        let (req, rep) = icmp_types(f);
        // Each SF sees each packet twice: in from qdp's proxy and routed back out.
        assert!(
            req >= 10 && rep >= 10,
            "{sf}: {req} echo requests, {rep} replies"
        );
    }
    tcp_both_ways("through two appliances", &[]);

    // A second port pair, weight 2, in SF1's group: flows spread 1:2.
    os(&[
        "sfc",
        "port",
        "pair",
        "create",
        "--ingress",
        "sf1b",
        "--egress",
        "sf1b",
        "--service-function-parameters",
        "correlation=None,weight=2",
        "pp1b",
    ]);
    let (before, none) = udp_flows(d, "one", 300);
    assert_eq!(
        (before.len(), none.len()),
        (300, 0),
        "one pair: every flow on SF1"
    );
    group_edit(&qa, "set");
    let (on_a, on_b) = udp_flows(d, "two", 300);
    assert_eq!(
        on_a.len() + on_b.len(),
        300,
        "{} + {}",
        on_a.len(),
        on_b.len()
    );
    assert!(
        (155..=245).contains(&on_b.len()),
        "weight 2 of 3: {} of 300 flows on SF1b",
        on_b.len()
    );
    // Removed again: its flows go back, the others never moved.
    group_edit(&qa, "unset");
    let (after, none) = udp_flows(d, "back", 300);
    assert_eq!((after.len(), none.len()), (300, 0));
    assert!(on_a.iter().all(|p| after.contains(p)));

    // New classifiers (networking-sfc refuses two that overlap on one source port, so the old
    // one goes first): while the chain has none, nothing is steered; then only UDP to port
    // 9999 is, and ping is not.
    os(&[
        "sfc",
        "port",
        "chain",
        "unset",
        "--flow-classifier",
        "fc-all",
        "pc1",
    ]);
    wait(
        "a chain without classifiers steers nothing",
        Duration::from_secs(10),
        || !ping_once(),
    );
    assert!(agent_objects(&qa).is_empty(), "{:?}", agent_objects(&qa));
    os(&["sfc", "flow", "classifier", "delete", "fc-all"]);
    os(&[
        "sfc",
        "flow",
        "classifier",
        "create",
        "--ethertype",
        "IPv4",
        "--protocol",
        "udp",
        "--destination-port",
        "9999:9999",
        "--source-ip-prefix",
        "10.1.0.0/24",
        "--logical-source-port",
        "client",
        "--logical-destination-port",
        "server",
        "fc-udp",
    ]);
    os(&[
        "sfc",
        "port",
        "chain",
        "set",
        "--flow-classifier",
        "fc-udp",
        "pc1",
    ]);
    wait(
        "the new classifier programmed",
        Duration::from_secs(10),
        || names(&qa, "rules").iter().any(|n| n.starts_with("os-fc-")),
    );
    wait("ping no longer steered", Duration::from_secs(10), || {
        !ping_once()
    });
    let (udp, _) = udp_flows(d, "fc-udp", 20);
    assert_eq!(udp.len(), 20, "UDP to 9999 still through SF1");

    // Deleted: nothing steered, and nothing the agents made is left.
    os(&["sfc", "port", "chain", "delete", "pc1"]);
    wait("edge-a's objects gone", Duration::from_secs(10), || {
        agent_objects(&qa).is_empty()
    });
    wait("edge-b's objects gone", Duration::from_secs(10), || {
        agent_objects(qb.as_ref().unwrap()).is_empty()
    });
    let (udp, _) = udp_flows(d, "deleted", 20);
    assert!(udp.is_empty(), "a deleted chain steers nothing: {udp:?}");

    // Again, then restarts: an agent, then a qdp.
    os(&["sfc", "flow", "classifier", "delete", "fc-udp"]);
    classifier_all();
    chain("pc2");
    wait(
        "traffic through the chain again",
        Duration::from_secs(20),
        ping_once,
    );
    let objects_a = agent_objects(&qa);
    let g = generation(&qa);
    drop(agent_a.take());
    agent_a = Some(Agent::start(d, "edge-a", &qa.socket));
    wait("the new agent synced", Duration::from_secs(10), || {
        qa.ok(&["show", "agent"])[0]["syncs"].as_u64().unwrap_or(0) > 0
            && agent_a
                .as_ref()
                .unwrap()
                .log()
                .contains("qdp agent starting")
            && qa.ok(&["show", "agent"])[0]["last_sync_s"]
                .as_f64()
                .unwrap()
                < 0.5
    });
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        agent_objects(&qa),
        objects_a,
        "a restarted agent makes no duplicates"
    );
    assert_eq!(generation(&qa), g, "the same state: nothing changed");
    let objects_b = agent_objects(qb.as_ref().unwrap());
    let ended = qb.take().unwrap().stop();
    assert!(ended.status.success(), "{}", ended.stderr);
    let qb2 = start("qdpt-edge-b", "openstack-edge-b.toml", "edge-b");
    wait(
        "the restarted qdp programmed",
        Duration::from_secs(10),
        || agent_objects(&qb2) == objects_b,
    );
    wait(
        "traffic after the qdp restart",
        Duration::from_secs(10),
        ping_once,
    );

    // Neutron's API stops: forwarding goes on, the agents report it and back off.
    neutron_sh(&["api-stop"], Duration::from_secs(60));
    wait("edge-a reports the outage", Duration::from_secs(15), || {
        qa.ok(&["show", "agent"])[0]["report"]["neutron"]["state"] == "unreachable"
    });
    assert!(ping_once(), "forwarding goes on on the last state");
    std::thread::sleep(Duration::from_secs(5));
    let r = qa.ok(&["show", "agent"])[0]["report"]["neutron"].clone();
    assert_eq!(r["retry_in_ms"], 4000, "backed off to max_backoff_ms: {r}");
    let log = agent_a.as_ref().unwrap().log();
    assert!(
        log.contains("retrying in 2000 ms") && log.contains("retrying in 4000 ms"),
        "{log}"
    );
    neutron_sh(&["api-start"], Duration::from_secs(120));
    wait("edge-a sees Neutron again", Duration::from_secs(15), || {
        qa.ok(&["show", "agent"])[0]["report"]["neutron"]["state"] == "ok"
    });
    // And converges on what changed meanwhile... here: the chain's deletion.
    os(&["sfc", "port", "chain", "delete", "pc2"]);
    wait("edge-a converged", Duration::from_secs(10), || {
        agent_objects(&qa).is_empty()
    });
    wait("edge-b converged", Duration::from_secs(10), || {
        agent_objects(&qb2).is_empty()
    });

    // What qdp cannot honour is reported, not applied: an MPLS chain.
    os(&[
        "sfc",
        "port",
        "chain",
        "create",
        "--port-pair-group",
        "g1",
        "--flow-classifier",
        "fc-all",
        "pc-mpls",
    ]);
    wait("the MPLS chain reported", Duration::from_secs(10), || {
        qa.ok(&["show", "agent"])[0]["report"]["problems"]
            .to_string()
            .contains("correlation 'mpls'")
    });
    assert!(agent_objects(&qa).is_empty());

    // The agent at idle.
    let pid = agent_a.as_ref().unwrap().pid();
    let (c0, _) = usage(pid);
    std::thread::sleep(Duration::from_secs(10));
    let (c1, rss) = usage(pid);
    eprintln!(
        "agent at idle (1 s polls): {:.2} % of a core, {} kB resident",
        (c1 - c0) * 10.0,
        rss
    );
    assert!(flowing < Duration::from_secs(20));
}
