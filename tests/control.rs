//! The control socket and `qdpctl` against a running qdp on virtual devices: every command, bad
//! requests, many clients, a change storm during traffic, reloads, socket permissions.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

fn qdpctl_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_qdpctl"))
}

/// The demo's service chain (classifier → firewall → counter → end of chain) fed by pcap replay
/// into a null port, with extra text appended.
fn chain_pipeline(prefix: &str, extra: &str) -> String {
    let demo = qdp::DEMO_PIPELINE;
    let body = &demo[demo.find("[[ports]]").expect("demo has ports")..];
    format!(
        "name = \"ctl-test\"\n{}\n{body}\n{extra}\n",
        eal_section(prefix)
    )
}

/// A qdp running in the background with its control socket in a scratch folder.
struct Qdp {
    child: Option<Child>,
    socket: PathBuf,
    summary: PathBuf,
    file: PathBuf,
}

impl Qdp {
    /// Starts qdp and waits until its socket answers and its traffic flows.
    fn start(dir: &Path, pipeline: &str) -> Qdp {
        let q = Qdp::spawn(dir, pipeline);
        let start = Instant::now();
        while UnixStream::connect(&q.socket).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "qdp did not open its control socket within 60 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        while q.ok(json!({ "command": "show", "what": "stats" }))["rx_packets"]
            .as_u64()
            .unwrap()
            == 0
        {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "no traffic within 60 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        q
    }

    fn spawn(dir: &Path, pipeline: &str) -> Qdp {
        let file = dir.join("pipeline.toml");
        std::fs::write(&file, pipeline).unwrap();
        let socket = dir.join("ctl/qdp.sock");
        let summary = dir.join("summary.json");
        let child = Command::new(qdp_bin())
            .arg("run")
            .arg(&file)
            .arg("--socket")
            .arg(&socket)
            .arg("--summary-json")
            .arg(&summary)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn qdp");
        Qdp {
            child: Some(child),
            socket,
            summary,
            file,
        }
    }

    /// One request on a fresh connection; the parsed reply.
    fn request(&self, req: &Value) -> Value {
        let mut s = UnixStream::connect(&self.socket).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        s.write_all(format!("{req}\n").as_bytes()).unwrap();
        let mut line = String::new();
        BufReader::new(&s).read_line(&mut line).unwrap();
        let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert_eq!(v["version"], 1, "{v}");
        v
    }

    /// A request that must succeed; its result.
    fn ok(&self, req: Value) -> Value {
        let v = self.request(&req);
        assert_eq!(v["ok"], true, "{req} → {v}");
        v["result"].clone()
    }

    /// A request that must fail; its error.
    fn err(&self, req: Value) -> String {
        let v = self.request(&req);
        assert_eq!(v["ok"], false, "{req} → {v}");
        v["error"].as_str().unwrap().to_string()
    }

    fn ctl(&self, args: &[&str]) -> Output {
        run_with_timeout(
            Command::new(qdpctl_bin())
                .arg("--socket")
                .arg(&self.socket)
                .args(args),
            Duration::from_secs(60),
        )
    }

    /// Shuts qdp down through the socket; returns its exit summary.
    fn shutdown(mut self) -> Value {
        self.ok(json!({ "command": "shutdown" }));
        let mut child = self.child.take().unwrap();
        let start = Instant::now();
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "qdp did not stop within 60 s of shutdown"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        let mut err = String::new();
        child.stderr.take().unwrap().read_to_string(&mut err).ok();
        assert!(status.success(), "qdp exited with {status}: {err}");
        assert!(!self.socket.exists(), "the socket is removed at exit");
        serde_json::from_str(&std::fs::read_to_string(&self.summary).unwrap()).unwrap()
    }
}

impl Drop for Qdp {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().ok();
            c.wait().ok();
        }
    }
}

/// Nothing the dataplane received was lost: every packet went out, none was dropped, and the
/// firewall and counter saw each one.
fn assert_nothing_lost(summary: &Value) {
    let rx = counter(summary, &["workers", "w0", "rx_packets"]);
    let tx = counter(summary, &["workers", "w0", "tx_packets"]);
    assert!(rx > 10_000, "traffic flowed: {summary}");
    assert_eq!(rx, tx, "every packet received was sent: {summary}");
    let drops = &summary["workers"]["w0"]["drops"];
    for (reason, n) in drops.as_object().unwrap() {
        assert_eq!(n.as_u64(), Some(0), "drops under {reason}: {summary}");
    }
    assert_eq!(counter(summary, &["ports", "sink", "opackets"]), tx);
    assert_eq!(counter(summary, &["sfs", "count", "packets"]), rx);
}

#[test]
fn every_command_round_trips() {
    let dir = scratch("ctl-all");
    let metrics_port = 19_000 + (std::process::id() % 1000) as u16;
    let q = Qdp::start(
        dir.path(),
        &chain_pipeline(
            "qdp-t-ctl-all",
            &format!("[control]\nmetrics_listen = \"127.0.0.1:{metrics_port}\"\n"),
        ),
    );

    // show
    let v = q.ok(json!({ "command": "show", "what": "version" }));
    assert_eq!(v["pipeline"], "ctl-test");
    assert_eq!(v["protocol"], 1);
    let ports = q.ok(json!({ "command": "show", "what": "ports" }));
    assert_eq!(ports[0]["name"], "replay");
    assert_eq!(ports[1]["name"], "sink");
    assert_eq!(ports[0]["admin"], "up");
    let w = q.ok(json!({ "command": "show", "what": "workers" }));
    assert_eq!(w[0]["name"], "w0");
    assert!(w[0]["rx_packets"].as_u64().unwrap() > 0, "{w}");
    let paths = q.ok(json!({ "command": "show", "what": "paths" }));
    assert_eq!(paths[0]["name"], "demo-chain");
    assert_eq!(paths[0]["spi"], 1);
    let rules = q.ok(json!({ "command": "show", "what": "rules" }));
    assert_eq!(rules.as_array().unwrap().len(), 1);
    assert_eq!(rules[0]["src"], "10.1.0.0/16");
    let sfs = q.ok(json!({ "command": "show", "what": "sfs" }));
    assert_eq!(sfs[0]["name"], "fw");
    assert!(sfs[1]["packets"].as_u64().unwrap() > 0, "{sfs}");
    assert_eq!(
        q.ok(json!({ "command": "show", "what": "groups" })),
        json!([])
    );
    assert_eq!(
        q.ok(json!({ "command": "show", "what": "neighbors" })),
        json!([])
    );
    let stats = q.ok(json!({ "command": "show", "what": "stats" }));
    assert!(stats["tx_packets"].as_u64().unwrap() > 0);
    assert_eq!(
        q.ok(json!({ "command": "show", "what": "errors" })),
        json!([])
    );
    assert_eq!(
        q.ok(json!({ "command": "show", "what": "pipeline" }))["paths"],
        1
    );

    // add/delete rules, paths, hops, SFs, neighbours; each bumps the generation.
    let g0 = q.ok(json!({ "command": "show", "what": "version" }))["generation"]
        .as_u64()
        .unwrap();
    let r = q.ok(json!({ "command": "add-rule", "rule":
        { "name": "telnet", "priority": 200, "src": "10.1.0.0/16", "protocol": "tcp", "dst_ports": 23, "action": "drop" } }));
    assert_eq!(r["rules"], 2);
    assert_eq!(r["generation"], g0 + 1);
    let rules = q.ok(json!({ "command": "show", "what": "rules" }));
    assert_eq!(rules[1]["name"], "telnet");
    q.ok(json!({ "command": "delete-rule", "name": "telnet" }));
    assert!(q
        .err(json!({ "command": "delete-rule", "name": "telnet" }))
        .starts_with("name: no classifier rule called 'telnet'"));
    q.ok(json!({ "command": "add-sf", "sf": { "name": "c2", "kind": "counter" } }));
    q.ok(json!({ "command": "add-neighbor", "neighbor":
        { "name": "n1", "port": "sink", "mac": "02:00:00:00:00:99" } }));
    q.ok(json!({ "command": "add-path", "path":
        { "name": "p2", "spi": 2, "hops": [{ "si": 255, "sf": "c2" }, { "si": 254, "sff": "n1" }] } }));
    q.ok(json!({ "command": "add-hop", "path": "p2", "hop": { "si": 253, "end": "to-sink" } }));
    let paths = q.ok(json!({ "command": "show", "what": "paths" }));
    assert_eq!(
        paths[1]["hops"],
        "255: sf c2, 254: sff n1, 253: end to-sink"
    );
    // A change that leaves a dangling reference or a path that does not end is refused,
    // naming the field.
    let e = q.err(json!({ "command": "delete-sf", "name": "c2" }));
    assert!(e.contains("paths[1].hops[0].sf"), "{e}");
    let e = q.err(json!({ "command": "delete-hop", "path": "p2", "si": 254 }));
    assert!(
        e.contains("paths[1].hops: SI 254 is reached but has no hop"),
        "{e}"
    );
    q.ok(json!({ "command": "delete-hop", "path": "p2", "si": 253 }));
    q.ok(json!({ "command": "delete-path", "name": "p2" }));
    q.ok(json!({ "command": "delete-neighbor", "name": "n1" }));
    q.ok(json!({ "command": "delete-sf", "name": "c2" }));
    let v = q.ok(json!({ "command": "show", "what": "version" }));
    assert_eq!(v["generation"], g0 + 10);

    // set sf / port / latency
    q.ok(json!({ "command": "set-sf", "name": "fw", "state": "down" }));
    assert_eq!(
        q.ok(json!({ "command": "show", "what": "sfs" }))[0]["state"],
        "down"
    );
    q.ok(json!({ "command": "set-sf", "name": "fw", "state": "up" }));
    let r = q.ok(json!({ "command": "set-port", "name": "replay", "state": "down" }));
    assert_eq!(r["state"], "down");
    std::thread::sleep(Duration::from_millis(300));
    let a = q.ok(json!({ "command": "show", "what": "workers" }))[0]["rx_packets"].clone();
    std::thread::sleep(Duration::from_millis(300));
    let b = q.ok(json!({ "command": "show", "what": "workers" }))[0]["rx_packets"].clone();
    assert_eq!(a, b, "a port set down is not polled");
    assert_eq!(
        q.ok(json!({ "command": "show", "what": "ports" }))[0]["admin"],
        "down"
    );
    q.ok(json!({ "command": "set-port", "name": "replay", "state": "up" }));
    q.ok(json!({ "command": "set-latency", "state": "on" }));
    std::thread::sleep(Duration::from_millis(300));
    let lat = q.ok(json!({ "command": "show", "what": "latency" }));
    assert_eq!(lat["measuring"], true);
    let w0 = &lat["workers"][0];
    assert!(w0["packets"].as_u64().unwrap() > 0, "{lat}");
    let (p50, p99, max) = (
        w0["p50_ns"].as_u64().unwrap(),
        w0["p99_ns"].as_u64().unwrap(),
        w0["max_ns"].as_u64().unwrap(),
    );
    assert!(0 < p50 && p50 <= p99 && p99 <= max, "{lat}");

    // clear stats: counters restart from zero.
    let before = q.ok(json!({ "command": "show", "what": "stats" }))["rx_packets"]
        .as_u64()
        .unwrap();
    q.ok(json!({ "command": "clear-stats" }));
    let after = q.ok(json!({ "command": "show", "what": "stats" }))["rx_packets"]
        .as_u64()
        .unwrap();
    assert!(after < before, "cleared: {after} < {before}");

    // trace: the next 3 packets through the nodes.
    let t = q.ok(json!({ "command": "trace", "count": 3 }));
    assert_eq!(t["traced"], 3, "{t}");
    let nodes: Vec<&str> = t["packets"][0]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["node"].as_str().unwrap())
        .collect();
    assert_eq!(
        nodes,
        [
            "ethernet-input",
            "classifier",
            "sff",
            "sf",
            "sff",
            "sf",
            "sff"
        ],
        "{t}"
    );
    assert!(t["packets"][0]["nodes"][1]["detail"]
        .as_str()
        .unwrap()
        .contains("→ 10.2.0.1:5001 proto 17 → rule 0: path demo-chain"));
    assert_eq!(t["packets"][0]["verdict"], "tx on port sink");
    let human = q.ctl(&["trace", "2"]);
    assert_success(&human);
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(
        text.contains("2 of 2 packet(s) traced") && text.contains("end of chain, exit to-sink"),
        "{text}"
    );

    // capture, checked with tshark: the output (MACs of the exit) and the input.
    let pcap = dir.path().join("tx.pcap");
    let c = q.ok(json!({ "command": "capture", "count": 20, "at": "tx:sink", "file": pcap }));
    assert_eq!(c["captured"], 20, "{c}");
    let lines = tshark_fields(&pcap, &["eth.dst", "ip.dst", "udp.dstport"]);
    assert_eq!(lines.len(), 20);
    for l in &lines {
        assert_eq!(l, "02:00:00:00:00:0b\t10.2.0.1\t5001");
    }
    let pcap = dir.path().join("rx.pcap");
    let out = q.ctl(&["capture", "5", "rx:replay", pcap.to_str().unwrap()]);
    assert_success(&out);
    let lines = tshark_fields(&pcap, &["ip.src", "udp.dstport"]);
    assert_eq!(lines.len(), 5);
    assert!(lines
        .iter()
        .all(|l| l.starts_with("10.1.") && l.ends_with("\t5001")));
    assert!(q
        .err(json!({ "command": "capture", "count": 1, "at": "tx:nowhere", "file": pcap }))
        .starts_with("at: no port called 'nowhere'"));

    // metrics, over the socket and over HTTP.
    let m = q.ok(json!({ "command": "metrics" }));
    let m = m.as_str().unwrap();
    assert!(
        m.contains("qdp_port_rx_packets_total{port=\"replay\"}"),
        "{m}"
    );
    assert!(m.contains("qdp_sf_packets_total{sf=\"count\"}"), "{m}");
    assert!(
        m.contains("qdp_latency_seconds{worker=\"w0\",quantile=\"0.99\"}"),
        "{m}"
    );
    let mut http = std::net::TcpStream::connect(("127.0.0.1", metrics_port)).unwrap();
    http.write_all(b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut body = String::new();
    http.read_to_string(&mut body).unwrap();
    assert!(
        body.starts_with("HTTP/1.0 200") || body.starts_with("HTTP/1.1 200"),
        "{body}"
    );
    assert!(
        body.contains("qdp_worker_rx_packets_total{worker=\"w0\"}"),
        "{body}"
    );

    // reload: the same file changes nothing but the generation; a broken one, or one that
    // changes what cannot change live, changes nothing and says why.
    let g = q.ok(json!({ "command": "show", "what": "version" }))["generation"]
        .as_u64()
        .unwrap();
    q.ok(json!({ "command": "reload" }));
    let text = std::fs::read_to_string(&q.file).unwrap();
    let broken = dir.path().join("broken.toml");
    std::fs::write(
        &broken,
        text.replace("path = \"demo-chain\"", "path = \"nope\""),
    )
    .unwrap();
    let e = q.err(json!({ "command": "reload", "file": broken }));
    assert!(
        e.contains("classifier[0].path: names no path called 'nope'"),
        "{e}"
    );
    std::fs::write(&broken, text.replace("burst = 32", "burst = 16")).unwrap();
    let e = q.err(json!({ "command": "reload", "file": broken }));
    assert!(e.contains("workers cannot change while qdp runs"), "{e}");
    let added = dir.path().join("added.toml");
    std::fs::write(
        &added,
        format!("{text}\n[[sfs]]\nname = \"extra\"\nkind = \"counter\"\n"),
    )
    .unwrap();
    let out = q.ctl(&["reload", added.to_str().unwrap()]);
    assert_success(&out);
    let v = q.ok(json!({ "command": "show", "what": "version" }));
    assert_eq!(
        v["generation"],
        g + 2,
        "two reloads took effect, the failed ones none"
    );
    assert_eq!(
        q.ok(json!({ "command": "show", "what": "sfs" }))[2]["name"],
        "extra"
    );

    // qdpctl's own errors: exit 1 with the reason.
    let out = q.ctl(&["set", "sf", "nosuch", "down"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("name: no SF called 'nosuch'"));
    let out = q.ctl(&["show", "ports"]);
    assert_success(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("replay"));
    let out = q.ctl(&["--json", "show", "stats"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], true);

    let summary = q.shutdown();
    assert!(counter(&summary, &["workers", "w0", "tx_packets"]) > 0);
}

#[test]
fn bad_requests_and_many_clients_leave_the_dataplane_forwarding() {
    let dir = scratch("ctl-bad");
    let q = Qdp::start(dir.path(), &chain_pipeline("qdp-t-ctl-bad", ""));
    let line = |bytes: &[u8]| -> Value {
        let mut s = UnixStream::connect(&q.socket).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        s.write_all(bytes).unwrap();
        let mut l = String::new();
        BufReader::new(&s).read_line(&mut l).unwrap();
        serde_json::from_str(&l).unwrap()
    };
    let error = |bytes: &[u8]| -> String {
        let v = line(bytes);
        assert_eq!(v["ok"], false, "{v}");
        v["error"].as_str().unwrap().to_string()
    };
    assert!(error(b"{\"command\": \"show\",\n").starts_with("malformed JSON"));
    assert!(error(b"nonsense\n").starts_with("malformed JSON"));
    assert!(error(b"{\"command\":\"reboot\"}\n").starts_with("command: unknown variant `reboot`"));
    assert!(error(b"{\"command\":\"show\"}\n").contains("missing field `what`"));
    assert!(
        error(b"{\"command\":\"trace\",\"count\":\"many\"}\n").starts_with("count: invalid type")
    );
    assert!(
        error(b"{\"command\":\"add-rule\",\"rule\":{\"src\":\"10.0.0.0/8\",\"prority\":3}}\n")
            .starts_with("rule.prority: unknown field")
    );
    assert!(error(b"{\"version\":9,\"command\":\"shutdown\"}\n").starts_with("version:"));
    // Oversize: an error, then the connection is closed.
    let mut big = b"{\"command\":\"show\",\"what\":\"".to_vec();
    big.extend(std::iter::repeat_n(b'x', 70_000));
    big.extend(b"\"}\n");
    let mut s = UnixStream::connect(&q.socket).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let _ = s.write_all(&big);
    let mut r = BufReader::new(&s);
    let mut l = String::new();
    r.read_line(&mut l).unwrap();
    let v: Value = serde_json::from_str(&l).unwrap();
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .starts_with("request too large"),
        "{v}"
    );
    l.clear();
    assert_eq!(
        r.read_line(&mut l).unwrap_or(0),
        0,
        "closed after an oversize request"
    );
    // A client that vanishes mid-request.
    for _ in 0..10 {
        let mut s = UnixStream::connect(&q.socket).unwrap();
        s.write_all(b"{\"command\":\"show\",\"wh").unwrap();
        drop(s);
    }
    // Several requests on one connection.
    let mut s = UnixStream::connect(&q.socket).unwrap();
    s.write_all(
        b"{\"command\":\"show\",\"what\":\"version\"}\n{\"command\":\"show\",\"what\":\"stats\"}\n",
    )
    .unwrap();
    let mut r = BufReader::new(&s);
    for _ in 0..2 {
        let mut l = String::new();
        r.read_line(&mut l).unwrap();
        assert_eq!(serde_json::from_str::<Value>(&l).unwrap()["ok"], true);
    }
    // 100 clients at once, each with a few requests.
    let socket = q.socket.clone();
    let clients: Vec<_> = (0..100)
        .map(|i| {
            let socket = socket.clone();
            std::thread::spawn(move || {
                let mut s = UnixStream::connect(&socket).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
                let what = ["stats", "ports", "sfs", "errors"][i % 4];
                for _ in 0..5 {
                    s.write_all(
                        format!("{{\"command\":\"show\",\"what\":\"{what}\"}}\n").as_bytes(),
                    )
                    .unwrap();
                }
                let mut r = BufReader::new(&s);
                for _ in 0..5 {
                    let mut l = String::new();
                    r.read_line(&mut l).unwrap();
                    let v: Value = serde_json::from_str(&l).unwrap();
                    assert_eq!(v["ok"], true, "{v}");
                }
            })
        })
        .collect();
    for c in clients {
        c.join().expect("client thread");
    }
    assert_eq!(
        q.ok(json!({ "command": "show", "what": "errors" })),
        json!([])
    );
    let summary = q.shutdown();
    assert_nothing_lost(&summary);
}

#[test]
fn a_change_storm_loses_no_packet_of_untouched_flows() {
    let dir = scratch("ctl-storm");
    let q = Qdp::start(dir.path(), &chain_pipeline("qdp-t-ctl-storm", ""));
    // 1000 changes per second for 10 s on one connection: rules and paths the traffic does not
    // use come and go.
    let mut s = UnixStream::connect(&q.socket).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut r = BufReader::new(s.try_clone().unwrap());
    let total = 10_000u32;
    let start = Instant::now();
    for i in 0..total {
        let req = match i % 4 {
            0 => json!({ "command": "add-rule", "rule": { "name": "storm", "priority": 500,
                 "src": format!("10.{}.0.0/16", 100 + (i / 4) % 100), "action": "drop" } }),
            1 => json!({ "command": "delete-rule", "name": "storm" }),
            2 => json!({ "command": "add-path", "path": { "name": "storm", "spi": 1000 + i,
                 "hops": [{ "si": 255, "sf": "count" }, { "si": 254, "end": "to-sink" }] } }),
            _ => json!({ "command": "delete-path", "name": "storm" }),
        };
        s.write_all(format!("{req}\n").as_bytes()).unwrap();
        let mut l = String::new();
        r.read_line(&mut l).unwrap();
        let v: Value = serde_json::from_str(&l).unwrap();
        assert_eq!(v["ok"], true, "change {i}: {v}");
        // Pace to 1000 per second.
        let due = start + Duration::from_micros(1000 * u64::from(i + 1));
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
    let secs = start.elapsed().as_secs_f64();
    eprintln!(
        "{total} changes in {secs:.2} s ({:.0}/s)",
        f64::from(total) / secs
    );
    let v = q.ok(json!({ "command": "show", "what": "version" }));
    assert_eq!(v["generation"], total);
    assert_eq!(
        q.ok(json!({ "command": "show", "what": "rules" }))
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let summary = q.shutdown();
    assert_nothing_lost(&summary);
}

#[test]
fn the_socket_is_0660_for_its_group_and_refuses_others() {
    let dir = scratch("ctl-perm");
    // The scratch folder must be searchable by others for this test to mean anything.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let group = nix::unistd::Group::from_name("daemon")
        .unwrap()
        .expect("group daemon");
    let q = Qdp::start(
        dir.path(),
        &chain_pipeline("qdp-t-ctl-perm", "[control]\ngroup = \"daemon\"\n"),
    );
    let meta = std::fs::metadata(&q.socket).unwrap();
    assert_eq!(meta.mode() & 0o777, 0o660);
    assert_eq!(meta.gid(), group.gid.as_raw());
    let as_user = |groups: &str| {
        run_with_timeout(
            Command::new("setpriv")
                .args(["--reuid=65534", "--regid=65534"])
                .args(if groups.is_empty() {
                    vec!["--clear-groups".to_string()]
                } else {
                    vec![format!("--groups={groups}")]
                })
                .arg(qdpctl_bin())
                .arg("--socket")
                .arg(&q.socket)
                .args(["show", "version"]),
            Duration::from_secs(30),
        )
    };
    let out = as_user("");
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("Permission denied"));
    let out = as_user(&group.gid.as_raw().to_string());
    assert_success(&out);
    q.shutdown();
}

#[test]
fn a_stale_socket_is_replaced_and_a_live_one_refused() {
    let dir = scratch("ctl-stale");
    let first = Qdp::start(dir.path(), &chain_pipeline("qdp-t-ctl-stale1", ""));
    // A second qdp on the same socket is refused.
    let other = scratch("ctl-stale2");
    let file = other.path().join("p.toml");
    std::fs::write(&file, chain_pipeline("qdp-t-ctl-stale2", "")).unwrap();
    let out = run_with_timeout(
        Command::new(qdp_bin())
            .arg("run")
            .arg(&file)
            .arg("--socket")
            .arg(&first.socket),
        Duration::from_secs(60),
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("belongs to a running qdp"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The first crashes: its socket file stays behind and the next run replaces it.
    let socket = first.socket.clone();
    drop(first);
    assert!(socket.exists());
    let q = Qdp::start(dir.path(), &chain_pipeline("qdp-t-ctl-stale3", ""));
    q.ok(json!({ "command": "show", "what": "version" }));
    q.shutdown();
}
