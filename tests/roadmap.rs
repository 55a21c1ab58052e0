//! The roadmap's chain for real (pipelines/roadmap-chain.toml, `tests/topology.sh up-roadmap`):
//! a client host, qdp classifying its TCP to the VIP onto the chain firewall → IDS → load
//! balancer, and three lighttpd backends in their own namespaces, each answering its own name.
//! curl-like requests from the client spread over the backends and stick to them; a request the
//! IDS drops never reaches a backend (a capture on the backends' bridge is the oracle) and is in
//! the EVE file with its sid (and in a new file after logrotate's move and SIGHUP); unsolicited
//! traffic from a backend is dropped by the stateful
//! firewall; a backend stopped mid-run loses its flows within the probes' fall time while the
//! others' connections stay; a backend drained with weight 0 keeps its open connections and
//! gets no new ones; iperf3 runs through the whole chain both ways.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use common::daemon::Daemon;
use common::hosts::{in_ns, shipped_pipeline, topology, Topology};
use common::*;
use serde_json::Value;

const VIP: &str = "http://10.2.100.1/";

/// qdp on the shipped roadmap pipeline, its rules file taken from `pipelines/` and its EVE log
/// in `dir`.
fn start(dir: &Path) -> (Daemon, PathBuf) {
    let file = shipped_pipeline(dir, "roadmap-chain.toml", "qdpt-roadmap");
    let eve = dir.join("eve.json");
    let text = std::fs::read_to_string(&file)
        .unwrap()
        .replace(
            "rules_file = \"roadmap.rules\"",
            &format!(
                "rules_file = \"{}\"",
                repo_root().join("pipelines/roadmap.rules").display()
            ),
        )
        .replace("/var/log/qdp/eve.json", &eve.display().to_string());
    std::fs::write(&file, text).unwrap();
    let qdp = Daemon::start(Some(&file), &dir.join("qdp.sock"), &[]);
    // The backends are found by ARP and their probes pass first.
    wait_backends(&qdp, "web-lb", &["up", "up", "up"], Duration::from_secs(20));
    (qdp, eve)
}

/// `tests/roadmap_client.py ARGS...` in the client's namespace: its JSON output lines.
fn client(args: &[&str]) -> Vec<Value> {
    let script = repo_root().join("tests/roadmap_client.py");
    let mut all = vec!["python3", script.to_str().unwrap()];
    all.extend_from_slice(args);
    let out = in_ns("qdpt-client", &all, Duration::from_secs(120));
    assert_success(&out);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// `count` requests to the VIP, each on a new connection: how many each backend answered.
fn spread(count: usize) -> BTreeMap<String, u64> {
    let v = client(&["spread", "--url", VIP, "--count", &count.to_string()]);
    assert_eq!(v[0]["errors"], 0, "{}", v[0]);
    v[0]["backends"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, n)| (k.clone(), n.as_u64().unwrap()))
        .collect()
}

/// The backends' states in `show lb` for SF `lb`.
fn backend_states(q: &Daemon, lb: &str) -> Vec<String> {
    let v = q.ok(&["show", "lb"]);
    let sf = v
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == lb)
        .unwrap_or_else(|| panic!("no lb {lb}: {v}"));
    sf["backends"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["state"].as_str().unwrap().to_string())
        .collect()
}

/// Waits until `lb`'s backends are in `states`; returns how long it took.
fn wait_backends(q: &Daemon, lb: &str, states: &[&str], limit: Duration) -> Duration {
    let start = Instant::now();
    loop {
        let now = backend_states(q, lb);
        if now == states {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < limit,
            "{lb}'s backends never {states:?}: {now:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Persistent connections to the VIP (`roadmap_client.py hold`), a request on each per round.
struct Hold {
    child: Child,
    stdin: ChildStdin,
    out: BufReader<ChildStdout>,
}

impl Hold {
    /// Opens `n` connections: which backend answered on each.
    fn open(n: usize) -> (Hold, Vec<Option<String>>) {
        let script = repo_root().join("tests/roadmap_client.py");
        let mut child = Command::new("ip")
            .args(["netns", "exec", "qdpt-client", "python3"])
            .arg(script)
            .args(["hold", "--url", VIP, "--connections", &n.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("roadmap_client.py hold");
        let stdin = child.stdin.take().unwrap();
        let out = BufReader::new(child.stdout.take().unwrap());
        let mut h = Hold { child, stdin, out };
        let first = h.read();
        (h, first)
    }

    fn read(&mut self) -> Vec<Option<String>> {
        let mut line = String::new();
        self.out.read_line(&mut line).unwrap();
        let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
        v["backends"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b.as_str().map(String::from))
            .collect()
    }

    /// One more request on each connection.
    fn round(&mut self) -> Vec<Option<String>> {
        self.stdin.write_all(b"\n").unwrap();
        self.stdin.flush().unwrap();
        self.read()
    }
}

impl Drop for Hold {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The drops of `reason` so far (`show errors`).
fn drops(q: &Daemon, reason: &str) -> u64 {
    q.ok(&["show", "errors"])
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["reason"] == reason)
        .map_or(0, |r| r["total"].as_u64().unwrap())
}

/// The EVE file's alerts.
fn alerts(eve: &Path) -> Vec<Value> {
    std::fs::read_to_string(eve)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Waits until the EVE file holds an alert of `sid`.
fn wait_alert(eve: &Path, sid: u64) -> Value {
    let start = Instant::now();
    loop {
        if let Some(a) = alerts(eve)
            .into_iter()
            .find(|a| a["alert"]["signature_id"] == sid)
        {
            return a;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "no alert {sid} in {}",
            eve.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A capture on the backends' bridge (in qdpt-server), stopped and read on `frames`.
struct Capture {
    child: Child,
    file: PathBuf,
}

impl Capture {
    fn start(dir: &Path) -> Capture {
        let file = dir.join("backends.pcapng");
        let child = Command::new("ip")
            .args([
                "netns",
                "exec",
                "qdpt-server",
                "dumpcap",
                "-q",
                "-i",
                "br0",
                "-w",
            ])
            .arg(&file)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("dumpcap");
        let start = Instant::now();
        while !file.exists() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "dumpcap did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(500));
        Capture { child, file }
    }

    /// Stops it: the frames matching the display filter `filter`, one line each.
    fn frames(mut self, filter: &str) -> usize {
        std::thread::sleep(Duration::from_millis(300));
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        let out = run_with_timeout(
            Command::new("tshark").args(["-r"]).arg(&self.file).args([
                "-Y",
                filter,
                "-T",
                "fields",
                "-e",
                "frame.number",
            ]),
            Duration::from_secs(30),
        );
        assert_success(&out);
        String::from_utf8_lossy(&out.stdout).lines().count()
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn requests_spread_stick_and_the_ids_and_firewall_drop_what_they_must() {
    let _t = Topology::up(&["up-roadmap"]);
    let dir = scratch("roadmap");
    let (qdp, eve) = start(dir.path());

    // 300 connections over three equal backends: each within its share (100 ± 35).
    let s = spread(300);
    eprintln!("spread over the backends: {s:?}");
    assert_eq!(s.keys().collect::<Vec<_>>(), ["web1", "web2", "web3"]);
    for (b, n) in &s {
        assert!((65..=135).contains(n), "{b}: {n} of 300");
    }

    // One client flow (the same source port again and again) always reaches the same backend.
    let v = client(&["same", "--url", VIP, "--count", "20", "--sport", "41000"]);
    let same: Vec<&str> = v[0]["backends"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b.as_str().unwrap())
        .collect();
    assert_eq!(same.len(), 20, "{}", v[0]);
    assert!(same.iter().all(|b| *b == same[0]), "{same:?}");

    // A request naming /etc/passwd is dropped by the IDS: it never reaches a backend and its
    // alert is in the EVE file; the requests around it are served.
    let cap = Capture::start(dir.path());
    let before = drops(&qdp, "ids-drop");
    let out = in_ns(
        "qdpt-client",
        &[
            "curl",
            "-s",
            "-m",
            "2",
            "http://10.2.100.1/?file=/etc/passwd",
        ],
        Duration::from_secs(10),
    );
    assert!(!out.status.success(), "the request got an answer");
    let admin = in_ns(
        "qdpt-client",
        &[
            "curl",
            "-s",
            "-m",
            "2",
            "-o",
            "/dev/null",
            "http://10.2.100.1/admin/",
        ],
        Duration::from_secs(10),
    );
    assert_success(&admin);
    assert_eq!(spread(10).values().sum::<u64>(), 10);
    assert_eq!(cap.frames("frame contains \"passwd\""), 0);
    assert!(drops(&qdp, "ids-drop") > before);
    let a = wait_alert(&eve, 1_000_001);
    assert_eq!(a["event_type"], "alert");
    assert_eq!(a["alert"]["action"], "blocked");
    assert_eq!(a["src_ip"], "10.1.0.1");
    assert_eq!(a["dest_ip"], "10.2.100.1");
    assert_eq!(a["dest_port"], 80);
    assert_eq!(a["proto"], "TCP");
    assert_eq!(a["nsh"]["spi"], 30);
    assert!(a["timestamp"].as_str().unwrap().starts_with("20"));
    // The admin page is let through and reported.
    assert_eq!(wait_alert(&eve, 1_000_002)["alert"]["action"], "allowed");
    // The rule qdp cannot apply was reported with its line and sid, and skipped.
    let ids = qdp.ok(&["show", "ids"]);
    assert_eq!(ids[0]["rules"], 4, "{ids}");
    assert!(
        ids[0]["skipped"][0]
            .as_str()
            .unwrap()
            .contains("(sid 1000005)"),
        "{ids}"
    );

    // logrotate's way: the file moved away, SIGHUP, and the next alert goes to a new file.
    let rotated = dir.path().join("eve.json.1");
    std::fs::rename(&eve, &rotated).unwrap();
    let generation = qdp.ok(&["show", "pipeline"])["generation"]
        .as_u64()
        .unwrap();
    qdp.signal("HUP");
    let start = Instant::now();
    while qdp.ok(&["show", "pipeline"])["generation"]
        .as_u64()
        .unwrap()
        == generation
    {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "SIGHUP reloaded nothing"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = in_ns(
        "qdpt-client",
        &[
            "curl",
            "-s",
            "-m",
            "1",
            "http://10.2.100.1/?file=/etc/passwd",
        ],
        Duration::from_secs(10),
    );
    assert_eq!(wait_alert(&eve, 1_000_001)["alert"]["action"], "blocked");
    assert!(alerts(&rotated).len() >= 2);

    // A backend that opens a connection toward the client is not let in by the firewall.
    let denied = drops(&qdp, "firewall-deny");
    let out = in_ns(
        "qdpt-web1",
        &["curl", "-s", "-m", "1", "http://10.1.0.1:8080/"],
        Duration::from_secs(10),
    );
    assert!(!out.status.success());
    assert!(drops(&qdp, "firewall-deny") > denied);
    qdp.stop();
}

#[test]
fn a_stopped_backend_loses_its_flows_and_a_drained_one_keeps_them() {
    let _t = Topology::up(&["up-roadmap"]);
    let dir = scratch("roadmap-health");
    let (qdp, _eve) = start(dir.path());

    // Connections on every backend, held open.
    let (mut hold, first) = Hold::open(24);
    let first: Vec<String> = first.into_iter().map(Option::unwrap).collect();
    for b in ["web1", "web2", "web3"] {
        assert!(
            first.iter().any(|x| x == b),
            "no connection on {b}: {first:?}"
        );
    }

    // web2 stops: its probe fails 3 times (200 ms apart), it is down, and new connections go to
    // the others; the connections on web1 and web3 go on with the same backend.
    topology(&["web-stop", "2"]);
    let took = wait_backends(
        &qdp,
        "web-lb",
        &["up", "down", "up"],
        Duration::from_secs(5),
    );
    eprintln!("web2 down {} ms after it stopped", took.as_millis());
    assert!(took < Duration::from_millis(1500), "{took:?}");
    let again = hold.round();
    for (was, now) in first.iter().zip(&again) {
        if was == "web2" {
            assert_eq!(*now, None, "a connection to the stopped server answered");
        } else {
            assert_eq!(now.as_deref(), Some(was.as_str()), "{first:?} → {again:?}");
        }
    }
    let s = spread(60);
    assert!(!s.contains_key("web2"), "{s:?}");
    assert_eq!(s.values().sum::<u64>(), 60);

    // Back: 2 probes pass and it takes new connections again.
    topology(&["web-start", "2"]);
    wait_backends(&qdp, "web-lb", &["up", "up", "up"], Duration::from_secs(5));
    assert!(spread(60).contains_key("web2"));
    drop(hold);

    // web3 drained (weight 0): its open connections stay, it gets no new ones.
    let (mut hold, first) = Hold::open(24);
    let first: Vec<String> = first.into_iter().map(Option::unwrap).collect();
    assert!(first.iter().any(|x| x == "web3"), "{first:?}");
    // Bad commands name what is wrong and change nothing.
    let e = qdp.err(&["set", "backend", "web-lb", "web9", "weight=0"]);
    assert!(
        e.contains("backend: 'web-lb' has no backend called 'web9'"),
        "{e}"
    );
    let e = qdp.err(&["set", "backend", "fw", "web3", "down"]);
    assert!(e.contains("'fw' is not an lb SF"), "{e}");
    let e = qdp.err(&["set", "backend", "web-lb", "web3", "weight=100000"]);
    assert!(e.contains("weight"), "{e}");
    let lb = qdp.ok(&["show", "lb"]);
    assert!(
        lb[0]["backends"]
            .as_array()
            .unwrap()
            .iter()
            .all(|b| b["weight"] == 1 && b["state"] == "up"),
        "{lb}"
    );
    qdp.ok(&["set", "backend", "web-lb", "web3", "weight=0"]);
    assert_eq!(backend_states(&qdp, "web-lb"), ["up", "up", "drained"]);
    let again = hold.round();
    let kept: Vec<Option<String>> = first.iter().cloned().map(Some).collect();
    assert_eq!(again, kept, "the connections moved");
    let s = spread(60);
    assert!(!s.contains_key("web3"), "{s:?}");
    assert_eq!(s.values().sum::<u64>(), 60);
    assert_eq!(hold.round(), kept);
    drop(hold);
    qdp.stop();
}

#[test]
fn iperf3_through_the_whole_chain_both_ways() {
    let _t = Topology::up(&["up-roadmap"]);
    let dir = scratch("roadmap-iperf3");
    let (qdp, _eve) = start(dir.path());
    for reverse in [false, true] {
        // A server on every backend: the VIP's port 5201 places the client on one of them.
        let servers: Vec<Child> = (1..=3)
            .map(|n| {
                Command::new("ip")
                    .args([
                        "netns",
                        "exec",
                        &format!("qdpt-web{n}"),
                        "iperf3",
                        "-s",
                        "-1",
                    ])
                    .args(["-B", &format!("10.2.0.1{n}"), "-p", "5201"])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("iperf3 server")
            })
            .collect();
        std::thread::sleep(Duration::from_millis(500));
        let mut args = vec!["iperf3", "-c", "10.2.100.1", "-J", "-t", "3"];
        if reverse {
            args.push("-R");
        }
        let out = in_ns("qdpt-client", &args, Duration::from_secs(60));
        for mut s in servers {
            let _ = s.kill();
            let _ = s.wait();
        }
        let v: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("iperf3: {e}: {}", String::from_utf8_lossy(&out.stdout)));
        assert!(v.get("error").is_none(), "iperf3: {}", v["error"]);
        let sum = &v["end"]["sum_received"];
        eprintln!(
            "TCP through the roadmap chain, {}: {:.2} Gbit/s",
            if reverse {
                "from the backend"
            } else {
                "to the backend"
            },
            sum["bits_per_second"].as_f64().unwrap() / 1e9
        );
        assert!(sum["bytes"].as_u64().unwrap() > 1_000_000, "{}", v["end"]);
    }
    qdp.stop();
}
