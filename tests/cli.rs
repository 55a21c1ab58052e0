//! The `qdp` command line: `check` over good and broken files, start-up failures, signals (SIGINT
//! stops, SIGHUP reloads), the log's formats and levels, the stats line, the demo.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::daemon::Daemon;
use common::*;
use serde_json::Value;

#[test]
fn shipped_pipelines_pass_check() {
    let dir = repo_root().join("pipelines");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(files.iter().any(|f| f.ends_with("demo.toml")));
    let out = run_with_timeout(
        Command::new(qdp_bin()).arg("check").args(&files),
        Duration::from_secs(30),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn every_broken_file_fails_check_naming_its_field() {
    let dir = repo_root().join("tests/broken");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let expect = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# expect: "))
            .unwrap_or_else(|| panic!("{}: first line must be '# expect: FIELD'", path.display()))
            .trim()
            .to_string();
        let out = run_with_timeout(
            Command::new(qdp_bin()).arg("check").arg(&path),
            Duration::from_secs(30),
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{} passed check", path.display());
        let named = if expect.contains(' ') {
            stderr.contains(&expect)
        } else {
            stderr
                .lines()
                .any(|l| l.trim_start().starts_with(&format!("{expect}: ")))
        };
        assert!(
            named,
            "{}: expected an error on '{expect}', got:\n{stderr}",
            path.display()
        );
        n += 1;
    }
    assert!(n >= 20, "only {n} broken files");
}

#[test]
fn run_refuses_a_broken_file_before_starting() {
    let out = run_with_timeout(
        Command::new(qdp_bin())
            .arg("run")
            .arg(repo_root().join("tests/broken/malformed-pci.toml")),
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("ports[1].pci"));
}

#[test]
fn eal_start_up_failure_is_a_clear_error_not_a_hang() {
    let dir = scratch("eal-fail");
    let pipeline = format!(
        "{}\n[[ports]]\nname = \"x\"\nvdev = \"net_nosuchdriver0\"\n\n[[ports]]\nname = \"y\"\nvdev = \"net_null0\"\n\n[[workers]]\nname = \"w0\"\ncore = 1\nrx = [\"x\", \"y\"]\n\n[[cross_connect]]\na = \"x\"\nb = \"y\"\n",
        eal_section("t-eal-fail")
    );
    let (out, _) = qdp_run(dir.path(), &pipeline, 1.0);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("qdp: EAL start-up failed"), "{stderr}");
}

#[test]
fn sigint_stops_workers_and_prints_the_summary() {
    let dir = scratch("sigint");
    let file = dir.path().join("p.toml");
    let pipeline = format!(
        "{}\n[[ports]]\nname = \"gen\"\nvdev = \"net_pcap0,infinite_rx=1\"\ntraffic = {{ flows = 64 }}\n\n[[ports]]\nname = \"sink\"\nvdev = \"net_null0,no-rx=1\"\nrx_queues = 0\n\n[[workers]]\nname = \"w0\"\ncore = 1\nrx = [\"gen\"]\nidle = \"sleep\"\n\n[[cross_connect]]\na = \"gen\"\nb = \"sink\"\n",
        eal_section("t-sigint")
    );
    std::fs::write(&file, pipeline).unwrap();
    let child = Command::new(qdp_bin())
        .arg("run")
        .arg(&file)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(3));
    // SIGINT as Ctrl-C sends it.
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let start = std::time::Instant::now();
    let out = child.wait_with_output().unwrap();
    assert!(start.elapsed() < Duration::from_secs(20), "slow to stop");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("== qdp summary"), "{stdout}");
    let line = stdout
        .lines()
        .find(|l| l.starts_with("w0 "))
        .expect("worker line in summary");
    let rx: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert!(rx > 0, "worker forwarded nothing: {line}");
}

#[test]
fn demo_runs_and_prints_rates() {
    let out = run_with_timeout(
        Command::new(qdp_bin()).args(["run", "--duration", "2.5"]),
        Duration::from_secs(60),
    );
    assert_success(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<_> = stdout.lines().filter(|l| l.starts_with('[')).collect();
    assert!(lines.len() >= 2, "{stdout}");
    assert!(
        lines[1].contains(" Mpps ") && lines[1].contains(" Gbps"),
        "{}",
        lines[1]
    );
    assert!(stdout.contains("== qdp summary"));
}

#[test]
fn gen_pcap_writes_what_tshark_reads() {
    let dir = scratch("gen");
    let f = dir.path().join("g.pcap");
    let out = run_with_timeout(
        Command::new(qdp_bin())
            .args(["gen-pcap", "--flows", "10", "--frame-size", "128", "-o"])
            .arg(&f),
        Duration::from_secs(30),
    );
    assert_success(&out);
    let lines = tshark_fields(&f, &["frame.len", "ip.dst", "udp.dstport"]);
    assert_eq!(lines.len(), 10);
    assert!(
        lines.iter().all(|l| l == "128\t10.2.0.1\t5001"),
        "{lines:?}"
    );
}

/// CPU seconds (user + system) of this process's waited-for children, from /proc/self/stat.
fn children_cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    // Fields after the parenthesised command name; cutime and cstime are fields 16 and 17.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f[13].parse::<f64>().unwrap() + f[14].parse::<f64>().unwrap();
    ticks / 100.0
}

#[test]
fn idle_sleep_worker_does_not_burn_its_core() {
    let dir = scratch("idle");
    let input = dir.path().join("in.pcap");
    scapy(&[
        "flows",
        input.to_str().unwrap(),
        "--flows",
        "2",
        "--per-flow",
        "4",
    ]);
    let pipeline = |prefix: &str, idle: &str| {
        format!(
            "{}\n[[ports]]\nname = \"in\"\nvdev = \"net_pcap0,rx_pcap={}\"\n\n[[ports]]\nname = \"out\"\nvdev = \"net_null0\"\nrx_queues = 0\n\n[[workers]]\nname = \"w0\"\ncore = 1\nrx = [\"in\"]\n{idle}\n\n[[cross_connect]]\na = \"in\"\nb = \"out\"\n",
            eal_section(prefix),
            input.display()
        )
    };
    let before = children_cpu_seconds();
    let (out, summary) = qdp_run(
        dir.path(),
        &pipeline(
            "t-idle-sleep",
            "idle = \"sleep\"\nidle_polls = 64\nsleep_us = 1000",
        ),
        3.0,
    );
    assert_success(&out);
    let sleeping = children_cpu_seconds() - before;
    assert_eq!(counter(&summary, &["workers", "w0", "tx_packets"]), 8);
    let before = children_cpu_seconds();
    let (out, _) = qdp_run(dir.path(), &pipeline("t-idle-poll", ""), 3.0);
    assert_success(&out);
    let polling = children_cpu_seconds() - before;
    eprintln!("CPU in 3 s: idle-sleep worker {sleeping:.2} s, polling worker {polling:.2} s");
    assert!(
        sleeping < 1.0,
        "an idle sleeping worker used {sleeping:.2} s of CPU in 3 s"
    );
    assert!(
        polling > 2.0 * sleeping,
        "polling {polling:.2} s vs sleeping {sleeping:.2} s of CPU"
    );
}

/// A service chain on generated traffic (replay → counter → sink), with its EAL settings.
fn chain(eal: &str) -> String {
    format!(
        "name = \"cli-chain\"\n{eal}\n[[ports]]\nname = \"replay\"\nvdev = \"net_pcap0,infinite_rx=1\"\ntraffic = {{ flows = 64 }}\n\n[[ports]]\nname = \"sink\"\nvdev = \"net_null0,no-rx=1\"\nrx_queues = 0\n\n[[workers]]\nname = \"w0\"\ncore = 1\nrx = [\"replay\"]\nidle = \"sleep\"\n\n[[exits]]\nname = \"to-sink\"\nport = \"sink\"\ndst_mac = \"02:00:00:00:00:0b\"\n\n[[sfs]]\nname = \"count\"\nkind = \"counter\"\n\n[[paths]]\nname = \"chain\"\nspi = 1\nhops = [{{ si = 255, sf = \"count\" }}, {{ si = 254, end = \"to-sink\" }}]\n\n[[classifier]]\nname = \"web\"\nin_port = \"replay\"\nsrc = \"10.1.0.0/16\"\npath = \"chain\"\n"
    )
}

fn rule_names(q: &Daemon) -> Vec<String> {
    q.ok(&["show", "rules"])
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap_or("").to_string())
        .collect()
}

#[test]
fn sighup_reloads_the_file_all_or_nothing_and_qdp_keeps_running() {
    let dir = scratch("hup");
    let file = dir.path().join("p.toml");
    let text = chain(&eal_section("qdp-t-cli-hup"));
    std::fs::write(&file, &text).unwrap();
    let mut q = Daemon::start(Some(&file), &dir.path().join("ctl.sock"), &[]);
    assert_eq!(rule_names(&q), ["web"]);

    // An edited file: SIGHUP applies it.
    let edited = format!(
        "{text}\n[[classifier]]\nname = \"hup\"\nin_port = \"replay\"\nsrc = \"10.8.0.0/16\"\npath = \"chain\"\npriority = 40\n"
    );
    std::fs::write(&file, &edited).unwrap();
    q.signal("HUP");
    let start = Instant::now();
    while rule_names(&q) != ["web", "hup"] {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "SIGHUP did not reload within 10 s: {:?}\n{}",
            rule_names(&q),
            q.stderr()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(q.running(), "{}", q.stderr());
    assert!(
        q.wait_for_log(
            &["SIGHUP: reloading", "reload: tables swapped in"],
            Duration::from_secs(5)
        ),
        "{}",
        q.stderr()
    );
    let generation = q.ok(&["show", "version"])["generation"].clone();

    // A broken file: refused, logged with the field, the running tables stay.
    std::fs::write(
        &file,
        format!(
            "{edited}\n[[classifier]]\nname = \"bad\"\nsrc = \"10.7.0.0/16\"\npath = \"nosuch\"\n"
        ),
    )
    .unwrap();
    q.signal("HUP");
    assert!(
        q.wait_for_log(
            &["reload refused", "classifier[2].path"],
            Duration::from_secs(10)
        ),
        "no refusal naming the field in the log:\n{}",
        q.stderr()
    );
    assert!(q.running(), "{}", q.stderr());
    assert_eq!(rule_names(&q), ["web", "hup"]);
    assert_eq!(q.ok(&["show", "version"])["generation"], generation);
    assert!(q.ok(&["show", "stats"])["rx_packets"].as_u64().unwrap() > 0);

    let ended = q.stop();
    assert!(ended.status.success(), "{}", ended.stderr);
    assert!(ended.stdout.contains("== qdp summary"), "{}", ended.stdout);
}

#[test]
fn json_logs_are_one_object_per_line_with_a_level_and_a_message() {
    let dir = scratch("json-log");
    // DPDK's own log at info, so that its lines are in the run's log too.
    let eal =
        eal_section("qdp-t-cli-json").replace("log_level = \"error\"", "log_level = \"info\"");
    let file = dir.path().join("p.toml");
    std::fs::write(&file, chain(&eal)).unwrap();
    let run = |level: &str| {
        let out = run_with_timeout(
            Command::new(qdp_bin())
                .arg("run")
                .arg(&file)
                .args(["--duration", "1.5", "--no-control", "--log-format", "json"])
                .args(["--log-level", level]),
            Duration::from_secs(120),
        );
        assert_success(&out);
        assert!(String::from_utf8_lossy(&out.stdout).contains("== qdp summary"));
        let events: Vec<Value> = String::from_utf8_lossy(&out.stderr)
            .lines()
            .map(|l| {
                let v: Value = serde_json::from_str(l)
                    .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {l}"));
                assert!(
                    ["ERROR", "WARN", "INFO", "DEBUG", "TRACE"]
                        .contains(&v["level"].as_str().unwrap_or("")),
                    "no level: {l}"
                );
                assert!(
                    v["message"].as_str().is_some_and(|m| !m.is_empty()),
                    "no message: {l}"
                );
                v
            })
            .collect();
        events
    };
    let info = run("info");
    let said = |events: &[Value], what: &str| {
        events
            .iter()
            .any(|e| e["message"].as_str().unwrap().contains(what))
    };
    assert!(said(&info, "pipeline 'cli-chain' running"), "{info:?}");
    assert!(
        said(&info, "EAL: "),
        "DPDK's own log is not in it: {info:?}"
    );
    let warn = run("warn");
    assert!(
        warn.iter()
            .all(|e| e["level"] == "WARN" || e["level"] == "ERROR"),
        "{warn:?}"
    );
    assert!(!said(&warn, "running"), "{warn:?}");
}

#[test]
fn the_stats_line_can_be_turned_off_for_a_service() {
    let dir = scratch("no-stats");
    let eal = eal_section("qdp-t-cli-nostats").replace("interval_s = 0", "interval_s = 0.5");
    let file = dir.path().join("p.toml");
    std::fs::write(&file, chain(&eal)).unwrap();
    let run = |extra: &[&str]| {
        let out = run_with_timeout(
            Command::new(qdp_bin())
                .arg("run")
                .arg(&file)
                .args(["--duration", "2", "--no-control"])
                .args(extra),
            Duration::from_secs(120),
        );
        assert_success(&out);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(stdout.contains("== qdp summary"), "{stdout}");
        stdout.lines().filter(|l| l.starts_with('[')).count()
    };
    assert!(run(&[]) >= 2, "no stats lines without --no-stats-line");
    assert_eq!(run(&["--no-stats-line"]), 0);
}

#[test]
fn bad_log_options_are_refused_naming_the_option() {
    let refused = |cmd: &mut Command, what: &str| {
        let out = run_with_timeout(cmd, Duration::from_secs(30));
        assert_eq!(out.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(what), "{stderr}");
    };
    refused(
        Command::new(qdp_bin()).args(["run", "--log-level", "verbose"]),
        "--log-level: 'verbose' is not a level",
    );
    refused(
        Command::new(qdp_bin()).args(["run", "--log-level", "qdp=loud"]),
        "--log-level: 'qdp=loud'",
    );
    refused(
        Command::new(qdp_bin())
            .arg("run")
            .env("RUST_LOG", "qdp=loud"),
        "RUST_LOG: 'qdp=loud'",
    );
    refused(
        Command::new(qdp_bin()).args(["run", "--log-format", "xml"]),
        "text, json or journald",
    );
}

/// Runs `script` with bash in a mount namespace of its own whose /run is an empty tmpfs (so a
/// journal socket made there is seen by nothing else), with `vars` in its environment.
fn in_own_run(script: &str, vars: &[(&str, &std::path::Path)]) -> std::process::Output {
    let mut cmd = Command::new("unshare");
    cmd.args(["--mount", "--propagation", "private", "bash", "-c"])
        .arg(format!("set -eu\nmount -t tmpfs qdp-t-run /run\n{script}"));
    for (k, v) in vars {
        cmd.env(k, v);
    }
    run_with_timeout(&mut cmd, Duration::from_secs(180))
}

#[test]
fn under_systemd_the_log_goes_to_the_journal() {
    let dir = scratch("journal");
    let d = dir.path();
    let file = d.join("p.toml");
    let eal =
        eal_section("qdp-t-cli-journal").replace("log_level = \"error\"", "log_level = \"info\"");
    std::fs::write(&file, chain(&eal)).unwrap();
    // A journal: datagrams on /run/systemd/journal/socket, each kept as <u32 length><bytes>.
    let listener = "import socket, sys\ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\ns.bind(sys.argv[1])\nopen(sys.argv[3], 'w').close()\nwith open(sys.argv[2], 'ab') as f:\n    while True:\n        d = s.recv(1 << 20)\n        f.write(len(d).to_bytes(4, 'little') + d)\n        f.flush()\n";
    std::fs::write(d.join("journal.py"), listener).unwrap();
    let script = r#"
mkdir -p /run/systemd/journal
"$PY" "$D/journal.py" /run/systemd/journal/socket "$D/journal.bin" "$D/ready" &
listener=$!
while [ ! -e "$D/ready" ]; do sleep 0.05; done
run() { "$QDP" run "$PIPE" --duration 1.5 --no-control --no-stats-line "$@"; }
# As systemd starts a service: stderr is the journal stream JOURNAL_STREAM names.
: > "$D/err1"
JOURNAL_STREAM=$(stat -c %d:%i "$D/err1") run 2> "$D/err1" > /dev/null
sleep 0.3
cp "$D/journal.bin" "$D/after1.bin"
# JOURNAL_STREAM inherited, stderr elsewhere: not the journal.
JOURNAL_STREAM=1:1 run 2> "$D/err2" > /dev/null
sleep 0.3
cp "$D/journal.bin" "$D/after2.bin"
kill $listener
rm /run/systemd/journal/socket
# The journal asked for, none there: text on stderr, and why.
run --log-format journald 2> "$D/err3" > /dev/null
"#;
    let py = python();
    let out = in_own_run(
        script,
        &[
            ("D", d),
            ("PIPE", &file),
            ("QDP", &qdp_bin()),
            ("PY", std::path::Path::new(&py)),
        ],
    );
    assert_success(&out);
    let read = |n: &str| std::fs::read(d.join(n)).unwrap();
    let text = |n: &str| String::from_utf8_lossy(&read(n)).into_owned();
    let journal = read("after1.bin");
    let entries = journal_entries(&journal);
    let entry = |text: &str| {
        entries
            .iter()
            .find(|e| e.get("MESSAGE").is_some_and(|m| m.contains(text)))
            .unwrap_or_else(|| panic!("no journal entry '{text}' in {entries:?}"))
    };
    let running = entry("pipeline 'cli-chain' running");
    // tracing-journald's priorities: error 3, warn 4, info 5, debug 6, trace 7.
    assert_eq!(running["PRIORITY"], "5", "{running:?}");
    assert_eq!(running["SYSLOG_IDENTIFIER"], "qdp", "{running:?}");
    assert_eq!(entry("EAL: ")["TARGET"], "dpdk");
    assert!(!text("err1").contains("running"), "{}", text("err1"));
    assert_eq!(
        read("after2.bin"),
        journal,
        "a run whose stderr is not the journal wrote to it"
    );
    assert!(
        text("err2").contains("INFO pipeline 'cli-chain' running"),
        "{}",
        text("err2")
    );
    let err3 = text("err3");
    assert!(
        err3.contains("journald: ") && err3.contains("logging to stderr instead"),
        "{err3}"
    );
    assert!(err3.contains("INFO pipeline 'cli-chain' running"), "{err3}");
}

/// The entries of journal datagrams (`<u32 length><datagram>` each), as their fields: `NAME=value`
/// lines, or `NAME`, a little-endian u64 length and the value (the journal's native protocol).
fn journal_entries(bin: &[u8]) -> Vec<std::collections::BTreeMap<String, String>> {
    let mut entries = Vec::new();
    let mut rest = bin;
    while rest.len() >= 4 {
        let n = u32::from_le_bytes(rest[..4].try_into().unwrap()) as usize;
        let mut d = &rest[4..4 + n];
        rest = &rest[4 + n..];
        let mut fields = std::collections::BTreeMap::new();
        while let Some(nl) = d.iter().position(|&b| b == b'\n') {
            let line = String::from_utf8_lossy(&d[..nl]).into_owned();
            match line.split_once('=') {
                Some((k, v)) => {
                    fields.insert(k.to_string(), v.to_string());
                    d = &d[nl + 1..];
                }
                None => {
                    let len = u64::from_le_bytes(d[nl + 1..nl + 9].try_into().unwrap()) as usize;
                    let v = &d[nl + 9..nl + 9 + len];
                    fields.insert(line, String::from_utf8_lossy(v).into_owned());
                    d = &d[nl + 9 + len + 1..];
                }
            }
        }
        if !fields.is_empty() {
            entries.push(fields);
        }
    }
    entries
}
