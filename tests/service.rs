//! qdp as a systemd service. This machine is a container without a running systemd
//! (`/run/systemd/system` is absent, so `systemd-run` cannot start a unit here): the notify and
//! watchdog protocol is checked against a datagram socket the test holds as `NOTIFY_SOCKET`,
//! with the real `qdp run` on DPDK virtual devices; the unit is rendered and installed under a
//! root directory, and checked with `systemd-analyze verify`, which needs no running systemd.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

/// The demo's chain fed by pcap replay into a null port, on CPUs 0 and 1, quiet.
fn pipeline(prefix: &str) -> String {
    let demo = qdp::DEMO_PIPELINE;
    let body = &demo[demo.find("[[ports]]").expect("demo has ports")..];
    format!("name = \"svc-test\"\n{}\n{body}\n", eal_section(prefix))
}

/// One message from the service's side of the socket and when it came.
struct Message {
    at: Instant,
    text: String,
}

/// `qdp run` with `NOTIFY_SOCKET` pointing at a socket this test reads.
struct NotifiedQdp {
    child: Child,
    notify: UnixDatagram,
    control: std::path::PathBuf,
    messages: Vec<Message>,
}

impl NotifiedQdp {
    fn start(dir: &Path, prefix: &str, watchdog_usec: Option<u64>, args: &[&str]) -> NotifiedQdp {
        let file = dir.join("pipeline.toml");
        std::fs::write(&file, pipeline(prefix)).unwrap();
        let socket = dir.join("notify.sock");
        let notify = UnixDatagram::bind(&socket).expect("bind notify socket");
        notify
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let control = dir.join("ctl.sock");
        let mut cmd = Command::new(qdp_bin());
        cmd.arg("run")
            .arg(&file)
            .arg("--socket")
            .arg(&control)
            .args(args)
            .env("NOTIFY_SOCKET", &socket)
            .env_remove("WATCHDOG_PID")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        match watchdog_usec {
            Some(u) => cmd.env("WATCHDOG_USEC", u.to_string()),
            None => cmd.env_remove("WATCHDOG_USEC"),
        };
        NotifiedQdp {
            child: cmd.spawn().expect("spawn qdp"),
            notify,
            control,
            messages: Vec::new(),
        }
    }

    /// Reads messages until one satisfies `until` or `limit` passes; returns whether one did.
    fn read_until(&mut self, limit: Duration, until: impl Fn(&str) -> bool) -> bool {
        let start = Instant::now();
        let mut buf = [0u8; 4096];
        while start.elapsed() < limit {
            if let Ok(n) = self.notify.recv(&mut buf) {
                let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                let hit = until(&text);
                self.messages.push(Message {
                    at: Instant::now(),
                    text,
                });
                if hit {
                    return true;
                }
            }
        }
        false
    }

    /// One control request; its result.
    fn show_stats(&self) -> Value {
        let mut s = UnixStream::connect(&self.control)
            .expect("the control socket is up when READY=1 arrives");
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        s.write_all(b"{\"command\": \"show\", \"what\": \"stats\"}\n")
            .unwrap();
        let mut line = String::new();
        BufReader::new(&s).read_line(&mut line).unwrap();
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["ok"], true, "{v}");
        v["result"].clone()
    }

    fn wait(&mut self, limit: Duration) -> std::process::ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            assert!(start.elapsed() < limit, "qdp did not exit within {limit:?}");
            self.read_until(Duration::from_millis(20), |_| false);
        }
    }

    /// Indices of the messages carrying `state` as one of their lines.
    fn with(&self, state: &str) -> Vec<usize> {
        self.messages
            .iter()
            .enumerate()
            .filter(|(_, m)| m.text.lines().any(|l| l == state))
            .map(|(i, _)| i)
            .collect()
    }
}

impl Drop for NotifiedQdp {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

#[test]
fn ready_once_traffic_flows_watchdog_while_it_does_and_stopping_at_the_end() {
    let dir = scratch("svc-notify");
    const WATCHDOG_USEC: u64 = 2_000_000;
    let mut q = NotifiedQdp::start(dir.path(), "qdp-i13-svc-notify", Some(WATCHDOG_USEC), &[]);
    assert!(
        q.read_until(Duration::from_secs(60), |m| m
            .lines()
            .any(|l| l == "READY=1")),
        "no READY=1 within 60 s"
    );
    // READY means running: the control socket answers and the worker has moved packets.
    let stats = q.show_stats();
    assert!(stats["rx_packets"].as_u64().unwrap() > 0, "{stats}");
    assert!(stats["tx_packets"].as_u64().unwrap() > 0, "{stats}");
    let ready = q.messages.len() - 1;
    assert!(
        q.messages[ready]
            .text
            .contains("STATUS=pipeline 'svc-test' running: 1 worker(s)"),
        "{}",
        q.messages[ready].text
    );
    // Keepalives for 5 s of traffic.
    q.read_until(Duration::from_secs(5), |_| false);
    let pid = q.child.id().to_string();
    let kill = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(kill.success());
    assert!(
        q.read_until(Duration::from_secs(30), |m| m
            .lines()
            .any(|l| l == "STOPPING=1")),
        "no STOPPING=1 within 30 s of SIGTERM"
    );
    let status = q.wait(Duration::from_secs(60));
    assert!(status.success(), "qdp exited with {status}");

    let texts: Vec<&str> = q.messages.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(q.with("READY=1"), [ready], "{texts:?}");
    let stopping = q.with("STOPPING=1");
    assert_eq!(stopping.len(), 1, "{texts:?}");
    assert_eq!(
        stopping[0],
        q.messages.len() - 1,
        "nothing after STOPPING=1: {texts:?}"
    );
    // Before READY only keepalives; READY=1 comes once.
    for m in &q.messages[..ready] {
        assert_eq!(m.text, "WATCHDOG=1\n", "before READY: {texts:?}");
    }
    // A keepalive at least every WATCHDOG_USEC/2 from READY to STOPPING.
    let keepalives: Vec<Instant> = q
        .with("WATCHDOG=1")
        .iter()
        .map(|&i| q.messages[i].at)
        .collect();
    let mut marks = vec![q.messages[ready].at];
    marks.extend(keepalives.iter().filter(|t| **t > q.messages[ready].at));
    marks.push(q.messages[stopping[0]].at);
    let half = Duration::from_micros(WATCHDOG_USEC / 2);
    for w in marks.windows(2) {
        let gap = w[1] - w[0];
        assert!(
            gap <= half,
            "{gap:?} without a keepalive (more than {half:?})"
        );
    }
    assert!(
        marks.len() >= 2 + 8,
        "only {} keepalives in 5 s",
        marks.len() - 2
    );
}

#[test]
fn without_a_watchdog_only_ready_and_stopping_are_sent() {
    let dir = scratch("svc-nowatchdog");
    let mut q = NotifiedQdp::start(dir.path(), "qdp-i13-svc-nowd", None, &["--duration", "2"]);
    let status = q.wait(Duration::from_secs(90));
    assert!(status.success(), "qdp exited with {status}");
    q.read_until(Duration::from_millis(200), |_| false);
    let texts: Vec<&str> = q.messages.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(q.with("READY=1").len(), 1, "{texts:?}");
    assert_eq!(q.with("STOPPING=1").len(), 1, "{texts:?}");
    assert!(q.with("WATCHDOG=1").is_empty(), "{texts:?}");
    assert!(q.with("READY=1")[0] < q.with("STOPPING=1")[0], "{texts:?}");
}

fn install(root: &Path, pipeline: &Path, extra: &[&str]) -> std::process::Output {
    run_with_timeout(
        Command::new(qdp_bin())
            .arg("install-service")
            .arg(pipeline)
            .arg("--root")
            .arg(root)
            .args(extra),
        Duration::from_secs(120),
    )
}

fn out_text(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn install_service_puts_the_unit_binaries_and_pipeline_under_a_root() {
    let dir = scratch("svc-install");
    let root = dir.path().join("root");
    let file = dir.path().join("appliance.toml");
    let text = pipeline("qdp-i13-svc-install")
        .replace("cores = [0, 1]", "cores = [0, 1]\nmain_core = 0")
        .replace("hugepages = \"off\"", "hugepages = \"required\"");
    std::fs::write(&file, &text).unwrap();
    let out = install(&root, &file, &[]);
    let t = out_text(&out);
    assert!(out.status.success(), "{t}");
    let unit = std::fs::read_to_string(root.join("etc/systemd/system/qdp.service")).unwrap();
    for line in [
        "Type=notify",
        "CPUAffinity=0 1",
        "Requires=dev-hugepages.mount",
        "ExecStartPre=/usr/bin/qdp check /etc/qdp/pipeline.toml",
        "ExecStart=/usr/bin/qdp run /etc/qdp/pipeline.toml --socket /run/qdp/qdp.sock",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "WatchdogSec=10s",
        "LimitMEMLOCK=infinity",
        "Restart=on-failure",
        "RuntimeDirectory=qdp",
    ] {
        assert!(unit.lines().any(|l| l == line), "no '{line}' in\n{unit}");
    }
    assert_eq!(
        std::fs::read_to_string(root.join("etc/qdp/pipeline.toml")).unwrap(),
        text
    );
    let installed = std::fs::read(root.join("usr/bin/qdp")).unwrap();
    assert!(
        installed == std::fs::read(qdp_bin()).unwrap(),
        "usr/bin/qdp differs"
    );
    assert!(root.join("usr/bin/qdpctl").is_file());
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(root.join("usr/bin/qdp"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o755);
    assert!(
        t.contains("  systemctl daemon-reload\n  systemctl enable --now qdp.service\n"),
        "{t}"
    );
    assert!(
        t.contains("created   ") && t.contains("reserve the hugepages at boot"),
        "{t}"
    );

    // Again: nothing changes.
    let out = install(&root, &file, &[]);
    let t = out_text(&out);
    assert!(out.status.success(), "{t}");
    assert_eq!(t.matches("unchanged ").count(), 4, "{t}");

    // An operator's edit of the installed pipeline stops the install, unless forced.
    std::fs::write(
        &file,
        text.replace("name = \"svc-test\"", "name = \"svc-test-2\""),
    )
    .unwrap();
    let out = install(&root, &file, &[]);
    let t = out_text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.contains("etc/qdp/pipeline.toml exists and differs") && t.contains("--force"),
        "{t}"
    );
    let out = install(&root, &file, &["--force", "--watchdog-sec", "30"]);
    let t = out_text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("replaced  "), "{t}");
    let unit = std::fs::read_to_string(root.join("etc/systemd/system/qdp.service")).unwrap();
    assert!(unit.contains("\nWatchdogSec=30s\n") && unit.contains("pipeline 'svc-test-2'"));

    // DESTDIR does what --root does.
    let dest = dir.path().join("destdir");
    let out = run_with_timeout(
        Command::new(qdp_bin())
            .arg("install-service")
            .arg(&file)
            .env("DESTDIR", &dest),
        Duration::from_secs(120),
    );
    assert!(out.status.success(), "{}", out_text(&out));
    assert!(dest.join("etc/systemd/system/qdp.service").is_file());
}

#[test]
fn install_service_refuses_bad_input_by_name() {
    let dir = scratch("svc-install-bad");
    let root = dir.path().join("root");
    let file = dir.path().join("p.toml");
    std::fs::write(&file, pipeline("qdp-i13-svc-bad")).unwrap();
    for (args, says) in [
        (
            &["--watchdog-sec", "0"][..],
            "--watchdog-sec: 0 is out of range",
        ),
        (
            &["--bindir", "usr/bin"][..],
            "--bindir: 'usr/bin' must be an absolute path",
        ),
        (
            &["--bindir", "/opt/q dp"][..],
            "--bindir: '/opt/q dp' must be an absolute path",
        ),
    ] {
        let out = install(&root, &file, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            out_text(&out).contains(says),
            "{args:?}: {}",
            out_text(&out)
        );
    }
    let broken = dir.path().join("broken.toml");
    std::fs::write(
        &broken,
        pipeline("qdp-i13-svc-bad").replace("core = 1", "core = 7"),
    )
    .unwrap();
    let out = install(&root, &broken, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        out_text(&out).contains("workers[0].core"),
        "{}",
        out_text(&out)
    );
    assert!(!root.exists(), "a refused install wrote files");
}

#[test]
fn the_rendered_unit_passes_systemd_analyze_verify() {
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("systemd-analyze is not installed: skipping the unit check");
        return;
    }
    let dir = scratch("svc-verify");
    let file = dir.path().join("p.toml");
    std::fs::write(
        &file,
        pipeline("qdp-i13-svc-verify").replace("hugepages = \"off\"", "hugepages = \"required\""),
    )
    .unwrap();
    // verify checks that ExecStart's binary exists: point the unit at the one just built.
    let bindir = qdp_bin().parent().unwrap().to_path_buf();
    let out = run_with_timeout(
        Command::new(qdp_bin())
            .arg("install-service")
            .arg(&file)
            .arg("--print-unit")
            .arg("--bindir")
            .arg(&bindir),
        Duration::from_secs(60),
    );
    assert!(out.status.success(), "{}", out_text(&out));
    let unit = dir.path().join("qdp.service");
    std::fs::write(&unit, &out.stdout).unwrap();
    let v = run_with_timeout(
        Command::new("systemd-analyze").arg("verify").arg(&unit),
        Duration::from_secs(60),
    );
    assert!(
        v.status.success() && v.stderr.is_empty() && v.stdout.is_empty(),
        "systemd-analyze verify ({}):\n{}",
        v.status,
        out_text(&v)
    );
}
