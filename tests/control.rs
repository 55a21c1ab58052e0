//! The control socket and `qdpctl` against a running qdp on virtual devices: every command, bad
//! requests, many clients, a change storm during traffic, reloads, socket permissions, the
//! folders captures and reloads are confined to, and what members of the control and read-only
//! groups (and others) may do, as unprivileged users made for the test.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::thread::JoinHandle;
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
    /// qdp's standard error, read as it comes (so that its control log never fills the pipe).
    stderr: Option<JoinHandle<String>>,
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
        let mut child = child;
        let mut err = child.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            let mut s = String::new();
            err.read_to_string(&mut s).ok();
            s
        });
        Qdp {
            child: Some(child),
            socket,
            summary,
            file,
            stderr: Some(stderr),
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
    fn shutdown(self) -> Value {
        self.shutdown_with_log().0
    }

    /// Shuts qdp down through the socket; returns its exit summary and its standard error.
    fn shutdown_with_log(mut self) -> (Value, String) {
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
        let err = self.stderr.take().unwrap().join().unwrap();
        assert!(status.success(), "qdp exited with {status}: {err}");
        assert!(!self.socket.exists(), "the socket is removed at exit");
        let summary =
            serde_json::from_str(&std::fs::read_to_string(&self.summary).unwrap()).unwrap();
        (summary, err)
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
    let (captures, reloads) = (dir.path().join("captures"), dir.path().join("reload"));
    std::fs::create_dir(&reloads).unwrap();
    let q = Qdp::start(
        dir.path(),
        &chain_pipeline(
            "qdp-t-ctl-all",
            &format!(
                "[control]\nmetrics_listen = \"127.0.0.1:{metrics_port}\"\n\
                 capture_dir = \"{}\"\nreload_dir = \"{}\"\n",
                captures.display(),
                reloads.display()
            ),
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

    // capture into the capture folder, checked with tshark: the output (MACs of the exit) and
    // the input.
    let pcap = captures.join("tx.pcap");
    let c = q.ok(json!({ "command": "capture", "count": 20, "at": "tx:sink", "file": "tx.pcap" }));
    assert_eq!(c["captured"], 20, "{c}");
    assert_eq!(c["file"], pcap.to_str().unwrap(), "{c}");
    assert_eq!(c["stopped_at_max_bytes"], false, "{c}");
    assert_eq!(
        c["bytes"].as_u64().unwrap(),
        std::fs::metadata(&pcap).unwrap().len(),
        "{c}"
    );
    let lines = tshark_fields(&pcap, &["eth.dst", "ip.dst", "udp.dstport"]);
    assert_eq!(lines.len(), 20);
    for l in &lines {
        assert_eq!(l, "02:00:00:00:00:0b\t10.2.0.1\t5001");
    }
    let pcap = captures.join("rx.pcap");
    let out = q.ctl(&["capture", "5", "rx:replay", "rx.pcap"]);
    assert_success(&out);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(pcap.to_str().unwrap()),
        "the reply says where the file is: {out:?}"
    );
    let lines = tshark_fields(&pcap, &["ip.src", "udp.dstport"]);
    assert_eq!(lines.len(), 5);
    assert!(lines
        .iter()
        .all(|l| l.starts_with("10.1.") && l.ends_with("\t5001")));
    assert!(q
        .err(json!({ "command": "capture", "count": 1, "at": "tx:nowhere", "file": "x.pcap" }))
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
    let broken = reloads.join("broken.toml");
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
    let added = reloads.join("added.toml");
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
    // Options anywhere on the line, as people type them.
    for args in [
        &["--json", "show", "stats"][..],
        &["show", "stats", "--json"],
        &["show", "--json", "stats"],
    ] {
        let out = q.ctl(args);
        assert_success(&out);
        let v: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: {e}: {out:?}"));
        assert_eq!(v["ok"], true, "{args:?}");
        assert!(
            v["result"]["rx_packets"].as_u64().is_some(),
            "{args:?}: {v}"
        );
    }
    let socket = q.socket.to_str().unwrap();
    for args in [
        &["show", "version", "--socket", socket][..],
        &["show", "--socket", socket, "version"],
        &[
            "--timeout",
            "20",
            "show",
            "version",
            "--json",
            "--socket",
            socket,
        ],
    ] {
        let out = run_with_timeout(
            Command::new(qdpctl_bin())
                .env_remove("QDP_SOCKET")
                .args(args),
            Duration::from_secs(60),
        );
        assert_success(&out);
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("ctl-test"),
            "{args:?}: {out:?}"
        );
    }
    let out = q.ctl(&["show", "stats", "--overwrite"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");

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
    big.extend(std::iter::repeat_n(b'x', qdp::control::MAX_REQUEST + 1000));
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
    // Watch the socket's folder: the socket must arrive there finished (renamed into place),
    // never be created there and then have its mode or group changed.
    let ctl_dir = dir.path().join("ctl");
    std::fs::create_dir(&ctl_dir).unwrap();
    use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
    let watch = Inotify::init(InitFlags::IN_NONBLOCK).unwrap();
    watch
        .add_watch(
            &ctl_dir,
            AddWatchFlags::IN_CREATE | AddWatchFlags::IN_MOVED_TO | AddWatchFlags::IN_ATTRIB,
        )
        .unwrap();
    let q = Qdp::start(
        dir.path(),
        &chain_pipeline("qdp-t-ctl-perm", "[control]\ngroup = \"daemon\"\n"),
    );
    let meta = std::fs::metadata(&q.socket).unwrap();
    assert_eq!(meta.mode() & 0o777, 0o660);
    assert_eq!(meta.gid(), group.gid.as_raw());
    let mut events = Vec::new();
    while let Ok(batch) = watch.read_events() {
        events.extend(batch);
    }
    let on_socket: Vec<AddWatchFlags> = events
        .iter()
        .filter(|e| e.name.as_deref() == Some(std::ffi::OsStr::new("qdp.sock")))
        .map(|e| e.mask)
        .collect();
    assert_eq!(
        on_socket,
        [AddWatchFlags::IN_MOVED_TO],
        "the socket appears once, by a rename, and is not changed after: {events:?}"
    );
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

/// Groups and a user made for these tests (names unique to them), removed on drop.
struct Accounts {
    /// `[control] group`.
    rw: String,
    rw_gid: u32,
    /// `[control] readonly_group`.
    ro: String,
    ro_gid: u32,
    /// An unprivileged user in neither group; `setpriv` gives it the groups a case needs.
    uid: u32,
    gid: u32,
}

const TEST_USER: &str = "qdpt-ctl-user";
const TEST_RW_GROUP: &str = "qdpt-ctl-rw";
const TEST_RO_GROUP: &str = "qdpt-ctl-ro";

/// Runs an account tool, retrying while another one holds the account files' lock. `Ok(true)`:
/// done, or it existed already (exit status 9).
fn account_tool(args: &[&str]) -> Result<bool, String> {
    for _ in 0..20 {
        let out = Command::new(args[0])
            .args(&args[1..])
            .output()
            .map_err(|e| format!("{}: {e}", args[0]))?;
        match out.status.code() {
            Some(0) | Some(9) => return Ok(true),
            _ if String::from_utf8_lossy(&out.stderr).contains("lock") => {
                std::thread::sleep(Duration::from_millis(250))
            }
            _ => {
                return Err(format!(
                    "{args:?}: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ))
            }
        }
    }
    Err(format!("{args:?}: the account files stayed locked"))
}

impl Accounts {
    /// Makes the groups and the user; `None` (with the reason printed) when they cannot be made.
    fn make() -> Option<Accounts> {
        let made = (|| {
            account_tool(&["groupadd", "--system", TEST_RW_GROUP])?;
            account_tool(&["groupadd", "--system", TEST_RO_GROUP])?;
            account_tool(&[
                "useradd",
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                TEST_USER,
            ])?;
            let gid = |name: &str| {
                nix::unistd::Group::from_name(name)
                    .ok()
                    .flatten()
                    .map(|g| g.gid.as_raw())
                    .ok_or_else(|| format!("group {name} is not there after groupadd"))
            };
            let user = nix::unistd::User::from_name(TEST_USER)
                .ok()
                .flatten()
                .ok_or("the user is not there after useradd")?;
            Ok::<_, String>(Accounts {
                rw: TEST_RW_GROUP.into(),
                rw_gid: gid(TEST_RW_GROUP)?,
                ro: TEST_RO_GROUP.into(),
                ro_gid: gid(TEST_RO_GROUP)?,
                uid: user.uid.as_raw(),
                gid: user.gid.as_raw(),
            })
        })();
        match made {
            Ok(a) => Some(a),
            Err(e) => {
                eprintln!("SKIPPED: cannot make the test's users and groups: {e}");
                None
            }
        }
    }

    /// `qdpctl ARGS` run as the test user with exactly `groups` as its supplementary groups.
    fn qdpctl(&self, socket: &Path, groups: &[u32], args: &[&str]) -> Output {
        let groups = if groups.is_empty() {
            "--clear-groups".to_string()
        } else {
            let list: Vec<String> = groups.iter().map(u32::to_string).collect();
            format!("--groups={}", list.join(","))
        };
        run_with_timeout(
            Command::new("setpriv")
                .arg(format!("--reuid={}", self.uid))
                .arg(format!("--regid={}", self.gid))
                .arg(groups)
                .arg(qdpctl_bin())
                .arg("--socket")
                .arg(socket)
                .args(args),
            Duration::from_secs(60),
        )
    }
}

impl Drop for Accounts {
    fn drop(&mut self) {
        let _ = account_tool(&["userdel", TEST_USER]);
        let _ = account_tool(&["groupdel", TEST_RO_GROUP]);
        let _ = account_tool(&["groupdel", TEST_RW_GROUP]);
    }
}

#[test]
fn members_change_read_only_members_only_look_and_others_are_refused() {
    let Some(acct) = Accounts::make() else {
        return;
    };
    let dir = scratch("ctl-groups");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let captures = dir.path().join("captures");
    let q = Qdp::start(
        dir.path(),
        &chain_pipeline(
            "qdp-t-ctl-groups",
            &format!(
                "[control]\ngroup = \"{}\"\nreadonly_group = \"{}\"\ncapture_dir = \"{}\"\n\
                 reload_dir = \"{}\"\n",
                acct.rw,
                acct.ro,
                captures.display(),
                dir.path().display()
            ),
        ),
    );
    // Connectable by all (the read-only group is not the socket's group); the credentials decide.
    let meta = std::fs::metadata(&q.socket).unwrap();
    assert_eq!(meta.mode() & 0o777, 0o666);
    assert_eq!(meta.gid(), acct.rw_gid);
    let generation = || q.ok(json!({ "command": "show", "what": "version" }))["generation"].clone();
    let g0 = generation();

    // A read-only member looks...
    let ro = [acct.ro_gid];
    for args in [
        &["show", "version"][..],
        &["show", "stats", "--json"],
        &["show", "rules"],
        &["metrics"],
    ] {
        let out = acct.qdpctl(&q.socket, &ro, args);
        assert_success(&out);
    }
    // ...and nothing more: each refusal names why, and nothing changes.
    for args in [
        &["set", "latency", "on"][..],
        &["add", "rule", "name=x", "src=10.9.0.0/16", "action=drop"],
        &["delete", "rule", "#0"],
        &["set", "sf", "fw", "down"],
        &["set", "port", "replay", "down"],
        &["clear", "stats"],
        &["trace", "1"],
        &["capture", "1", "rx:replay", "ro.pcap"],
        &["reload"],
        &["raw", r#"{"command":"shutdown"}"#],
    ] {
        let out = acct.qdpctl(&q.socket, &ro, args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!(
                "is refused to uid {}, a member of control.readonly_group '{}' only",
                acct.uid, acct.ro
            )),
            "{args:?}: {err}"
        );
    }
    assert_eq!(generation(), g0, "the read-only member changed nothing");
    let lat = q.ok(json!({ "command": "show", "what": "latency" }));
    assert_eq!(lat["measuring"], false);
    assert_eq!(
        q.ok(json!({ "command": "show", "what": "ports" }))[0]["admin"],
        "up"
    );
    assert!(!captures.join("ro.pcap").exists());

    // Someone in neither group connects (mode 0666) and is told why, whatever it asks.
    for groups in [&[][..], &[acct.gid]] {
        for args in [&["show", "version"][..], &["shutdown"]] {
            let out = acct.qdpctl(&q.socket, groups, args);
            assert_eq!(out.status.code(), Some(1), "{args:?}: {out:?}");
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(
                err.contains(&format!(
                    "permission denied: uid {} (gid {}) is not in control.group '{}' nor in \
                     control.readonly_group '{}'",
                    acct.uid, acct.gid, acct.rw, acct.ro
                )),
                "{args:?}: {err}"
            );
        }
    }

    // A member of the control group (as a supplementary group) may change things.
    let rw = [acct.ro_gid, acct.rw_gid];
    let out = acct.qdpctl(&q.socket, &rw, &["set", "latency", "on"]);
    assert_success(&out);
    let out = acct.qdpctl(&q.socket, &rw, &["capture", "3", "rx:replay", "rw.pcap"]);
    assert_success(&out);
    // Its capture is readable by the group.
    let m = std::fs::metadata(captures.join("rw.pcap")).unwrap();
    assert_eq!((m.mode() & 0o777, m.gid()), (0o640, acct.rw_gid));
    assert_eq!(
        q.ok(json!({ "command": "show", "what": "latency" }))["measuring"],
        true
    );

    // Every changing command is in the log with who asked; looking is not.
    let (_, log) = q.shutdown_with_log();
    let who = format!("uid {} gid {}: ", acct.uid, acct.gid);
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.starts_with("qdp: control: pid "))
        .collect();
    let has = |what: &str| lines.iter().any(|l| l.contains(&who) && l.contains(what));
    assert!(has(r#"set-latency {"state":"on"}: ok"#), "{log}");
    assert!(has("capture {"), "{log}");
    assert!(
        has(r#"set-latency {"state":"on"}: refused: permission denied"#),
        "{log}"
    );
    assert!(has("connection refused: permission denied"), "{log}");
    assert!(
        lines.iter().any(|l| l.contains("uid 0 gid 0: shutdown")),
        "{log}"
    );
    assert!(
        !lines
            .iter()
            .any(|l| l.contains(": show ") || l.contains(": metrics ")),
        "{log}"
    );
}

#[test]
fn captures_and_reloads_touch_only_their_folders() {
    let dir = scratch("ctl-files");
    let d = dir.path();
    let (captures, reloads) = (d.join("captures"), d.join("reload"));
    std::fs::create_dir(&reloads).unwrap();
    let q = Qdp::start(
        d,
        &chain_pipeline(
            "qdp-t-ctl-files",
            &format!(
                "[control]\ncapture_dir = \"{}\"\nreload_dir = \"{}\"\ncapture_max_bytes = 4096\n",
                captures.display(),
                reloads.display()
            ),
        ),
    );
    let capture = |file: &str, overwrite: bool| {
        json!({ "command": "capture", "count": 3, "at": "rx:replay", "file": file,
                "overwrite": overwrite })
    };
    // Names that are not plain names: refused before anything is made.
    let long = "x".repeat(129);
    let absolute = d.join("absolute.pcap");
    for name in [
        "../escape.pcap",
        absolute.to_str().unwrap(),
        "sub/x.pcap",
        ".",
        "..",
        ".hidden",
        "",
        "a b.pcap",
        "a\nb.pcap",
        "a\u{0}b.pcap",
        "caf\u{e9}.pcap",
        "x\u{202e}pcap.exe",
        &long,
    ] {
        for overwrite in [false, true] {
            let e = q.err(capture(name, overwrite));
            assert!(
                e.starts_with("file: ") && e.contains("is not a plain file name"),
                "{name:?}: {e}"
            );
        }
    }
    assert!(!d.join("escape.pcap").exists() && !absolute.exists());
    assert!(!captures.exists(), "no folder made for a refused name");

    // A plain name: created in the folder, which qdp makes (0750).
    let c = q.ok(capture("one.pcap", false));
    assert_eq!(c["file"], captures.join("one.pcap").to_str().unwrap());
    assert_eq!(std::fs::metadata(&captures).unwrap().mode() & 0o777, 0o750);
    let first = std::fs::read(captures.join("one.pcap")).unwrap();
    // Not overwritten unless asked.
    let e = q.err(capture("one.pcap", false));
    assert!(e.contains("already exists"), "{e}");
    assert_eq!(std::fs::read(captures.join("one.pcap")).unwrap(), first);
    q.ok(capture("one.pcap", true));
    // qdpctl sends the name as given, options anywhere.
    let out = q.ctl(&["capture", "2", "rx:replay", "two.pcap"]);
    assert_success(&out);
    let out = q.ctl(&["capture", "2", "rx:replay", "two.pcap"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
    let out = q.ctl(&["capture", "--overwrite", "2", "rx:replay", "two.pcap"]);
    assert_success(&out);
    assert_eq!(
        tshark_fields(&captures.join("two.pcap"), &["ip.src"]).len(),
        2
    );

    // Links planted in the folder are never followed, with or without overwrite.
    let victim = d.join("victim");
    std::fs::write(&victim, "keep").unwrap();
    std::os::unix::fs::symlink(&victim, captures.join("link.pcap")).unwrap();
    std::os::unix::fs::symlink(d.join("made-by-link"), captures.join("dangling.pcap")).unwrap();
    std::fs::hard_link(&victim, captures.join("hard.pcap")).unwrap();
    for (name, overwrite) in [
        ("link.pcap", false),
        ("link.pcap", true),
        ("dangling.pcap", false),
        ("dangling.pcap", true),
    ] {
        let e = q.err(capture(name, overwrite));
        assert!(e.contains("is a symbolic link"), "{name} {overwrite}: {e}");
    }
    let e = q.err(capture("hard.pcap", true));
    assert!(e.contains("has other hard links"), "{e}");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
    assert!(!d.join("made-by-link").exists());

    // The size cap: the file stops before it.
    let c =
        q.ok(json!({ "command": "capture", "count": 500, "at": "tx:sink", "file": "big.pcap" }));
    assert_eq!(c["stopped_at_max_bytes"], true, "{c}");
    let n = c["captured"].as_u64().unwrap();
    assert!(0 < n && n < 500, "{c}");
    let size = std::fs::metadata(captures.join("big.pcap")).unwrap().len();
    assert!(size <= 4096, "{size} bytes: {c}");
    assert_eq!(size, c["bytes"].as_u64().unwrap());
    assert_eq!(
        tshark_fields(&captures.join("big.pcap"), &["ip.src"]).len() as u64,
        n
    );

    // Reload reads the running file or files in the reload folder, nothing else; a refused file
    // is not read (its text would be an error naming `leaked_key`).
    let g = q.ok(json!({ "command": "show", "what": "version" }))["generation"]
        .as_u64()
        .unwrap();
    let outside = d.join("outside.toml");
    std::fs::write(&outside, "leaked_key = 1\n").unwrap();
    std::os::unix::fs::symlink(&outside, reloads.join("link.toml")).unwrap();
    std::os::unix::fs::symlink(d, reloads.join("up")).unwrap();
    for file in [
        PathBuf::from("/etc/passwd"),
        PathBuf::from("/etc/shadow"),
        outside.clone(),
        reloads.join("../outside.toml"),
        PathBuf::from("../outside.toml"),
        reloads.join("link.toml"),
        reloads.join("up/outside.toml"),
        reloads.clone(),
    ] {
        let e = q.err(json!({ "command": "reload", "file": file }));
        assert!(
            e.contains("is neither the pipeline file qdp runs")
                && e.contains("it was not read")
                && !e.contains("leaked_key")
                && !e.contains("root:"),
            "{}: {e}",
            file.display()
        );
    }
    let out = q.ctl(&["reload", "/etc/passwd"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("it was not read"));
    // A broken file in the folder is read and its errors named under its own path.
    let text = std::fs::read_to_string(&q.file).unwrap();
    std::fs::write(
        reloads.join("bad.toml"),
        text.replace("burst = 32", "burst = 16"),
    )
    .unwrap();
    let e = q.err(json!({ "command": "reload", "file": "bad.toml" }));
    assert!(
        e.starts_with(&format!(
            "{}: workers cannot change",
            reloads.join("bad.toml").display()
        )),
        "{e}"
    );
    std::fs::write(
        reloads.join("more.toml"),
        format!("{text}\n[[sfs]]\nname = \"extra\"\nkind = \"counter\"\n"),
    )
    .unwrap();
    q.ok(json!({ "command": "reload", "file": reloads.join("more.toml") }));
    q.ok(json!({ "command": "reload", "file": q.file }));
    q.ok(json!({ "command": "reload" }));
    assert_eq!(
        q.ok(json!({ "command": "show", "what": "version" }))["generation"],
        g + 3,
        "the three allowed reloads took effect, the refused ones none"
    );
    q.shutdown();
}

#[test]
fn an_agents_units_stand_or_fall_alone_and_a_repeat_changes_nothing() {
    let dir = scratch("ctl-sync");
    let q = Qdp::start(dir.path(), &chain_pipeline("qdp-t-ctl-sync", ""));
    let good = json!({ "name": "chain 9", "set": {
        "paths": [{ "name": "os-c9", "spi": 900, "hops": [{ "si": 255, "sf": "count" }, { "si": 254, "end": "to-sink" }] }],
        "classifier": [{ "name": "os-fc9", "priority": 5, "src": "10.9.0.0/16", "path": "os-c9" }],
    }});
    let bad = json!({ "name": "chain 10", "set": {
        "paths": [{ "name": "os-c10", "spi": 1000, "hops": [{ "si": 255, "end": "nope" }] }],
    }});
    let sync = |units: Value| json!({ "command": "sync", "prefix": "os-", "units": units, "report": { "neutron": "ok" } });
    let before = q.ok(json!({ "command": "show", "what": "version" }))["generation"]
        .as_u64()
        .unwrap();
    let r = q.ok(sync(json!([good, bad])));
    assert_eq!(r["changed"], true, "{r}");
    assert_eq!(r["added"], 2, "{r}");
    let refused = r["refused"].as_array().unwrap();
    assert_eq!(refused.len(), 1, "{r}");
    assert_eq!(refused[0]["unit"], "chain 10");
    assert!(
        refused[0]["error"].as_str().unwrap().contains("'nope'"),
        "{r}"
    );
    let paths = q.ok(json!({ "command": "show", "what": "paths" }));
    let names: Vec<&str> = paths
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["demo-chain", "os-c9"]);
    let agent = &q.ok(json!({ "command": "show", "what": "agent" }))[0];
    assert_eq!(agent["prefix"], "os-");
    assert_eq!(agent["owned"]["paths"], 1);
    assert_eq!(agent["owned"]["rules"], 1);
    assert_eq!(agent["report"]["neutron"], "ok");
    assert!(
        agent["last_error"]
            .as_str()
            .unwrap()
            .starts_with("chain 10: "),
        "{agent}"
    );
    // The same units again: nothing changes, no generation is spent.
    let g = q.ok(json!({ "command": "show", "what": "version" }))["generation"]
        .as_u64()
        .unwrap();
    assert_eq!(g, before + 1);
    let r = q.ok(sync(json!([good])));
    assert_eq!(r["changed"], false, "{r}");
    assert_eq!(
        q.ok(json!({ "command": "show", "what": "version" }))["generation"],
        g
    );
    assert_eq!(
        q.ok(json!({ "command": "show", "what": "agent" }))[0]["last_error"],
        Value::Null
    );
    // An object outside the prefix is refused by name, and changes nothing.
    let r = q.ok(sync(json!([good, { "name": "x", "set": { "paths": [{ "name": "c11", "spi": 11, "hops": [{ "si": 255, "end": "to-sink" }] }] } }])));
    assert_eq!(r["changed"], false, "{r}");
    assert_eq!(
        r["refused"][0]["error"],
        "units[1].set.paths[0].name: 'c11' does not start with the prefix 'os-'"
    );
    // No units: everything the agent made is gone, qdp's own chain stays.
    let r = q.ok(sync(json!([])));
    assert_eq!(r["changed"], true, "{r}");
    assert_eq!(r["removed"], 2, "{r}");
    let paths = q.ok(json!({ "command": "show", "what": "paths" }));
    assert_eq!(paths.as_array().unwrap().len(), 1);
    let e = q.err(json!({ "command": "sync", "prefix": "os/" }));
    assert!(e.starts_with("prefix:"), "{e}");
}
