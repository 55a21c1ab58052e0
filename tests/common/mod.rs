//! Helpers shared by the integration tests: run the real `qdp` binary with a timeout, build traffic
//! with scapy, read pcap files, dissect with tshark.
#![allow(dead_code)]

pub mod daemon;
pub mod hosts;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

pub fn qdp_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_qdp"))
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Debian's python3, which has python3-scapy.
pub fn python() -> String {
    std::env::var("QDP_PYTHON").unwrap_or_else(|_| "/usr/bin/python3".to_string())
}

/// Runs a command, killing it after `limit`; panics on timeout (a hang is a failure).
pub fn run_with_timeout(cmd: &mut Command, limit: Duration) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut out_pipe = child.stdout.take().unwrap();
    let mut err_pipe = child.stderr.take().unwrap();
    let out_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        out_pipe.read_to_end(&mut v).ok();
        v
    });
    let err_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        err_pipe.read_to_end(&mut v).ok();
        v
    });
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if start.elapsed() > limit {
            child.kill().ok();
            child.wait().ok();
            panic!("{cmd:?} did not finish within {limit:?} (hang)");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Output {
        status,
        stdout: out_t.join().unwrap(),
        stderr: err_t.join().unwrap(),
    }
}

/// A scratch directory for one test.
pub fn scratch(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("qdp-test-{name}-"))
        .tempdir()
        .expect("tempdir")
}

/// The `[eal]` section every test pipeline uses: ordinary pages, quiet, its own file prefix.
pub fn eal_section(prefix: &str) -> String {
    format!(
        "[eal]\ncores = [0, 1]\nfile_prefix = \"{prefix}\"\nhugepages = \"off\"\nmemory_mb = 256\nlog_level = \"error\"\n\n[mempool]\nmbufs = 8191\ncache = 128\n\n[stats]\ninterval_s = 0\n"
    )
}

/// Runs `qdp run FILE --duration SECS --summary-json ...`; returns the output and the summary.
pub fn qdp_run(dir: &Path, pipeline: &str, secs: f64) -> (Output, serde_json::Value) {
    let file = dir.join("pipeline.toml");
    std::fs::write(&file, pipeline).unwrap();
    let summary = dir.join("summary.json");
    let out = run_with_timeout(
        Command::new(qdp_bin())
            .arg("run")
            .arg(&file)
            .arg("--duration")
            .arg(secs.to_string())
            .arg("--summary-json")
            .arg(&summary),
        Duration::from_secs(120),
    );
    let json = std::fs::read_to_string(&summary)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(serde_json::Value::Null);
    (out, json)
}

pub fn assert_success(out: &Output) {
    assert!(
        out.status.success(),
        "qdp failed ({}):\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Builds traffic with tests/scapy_gen.py.
pub fn scapy(args: &[&str]) {
    let out = run_with_timeout(
        Command::new(python())
            .arg(repo_root().join("tests/scapy_gen.py"))
            .args(args),
        Duration::from_secs(120),
    );
    assert!(
        out.status.success(),
        "scapy_gen.py {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The frames of a pcap file.
pub fn read_pcap(path: &Path) -> Vec<Vec<u8>> {
    let f = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut r = pcap_file::pcap::PcapReader::new(f).expect("pcap header");
    let mut v = Vec::new();
    while let Some(p) = r.next_packet() {
        v.push(p.expect("pcap record").data.into_owned());
    }
    v
}

/// Runs tshark over a pcap and returns one line of tab-separated fields per frame.
pub fn tshark_fields(path: &Path, fields: &[&str]) -> Vec<String> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-r").arg(path).args(["-T", "fields"]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    let out = run_with_timeout(&mut cmd, Duration::from_secs(120));
    assert!(
        out.status.success(),
        "tshark: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.to_string())
        .collect()
}

/// A counter from the summary JSON.
pub fn counter(summary: &serde_json::Value, path: &[&str]) -> u64 {
    let mut v = summary;
    for p in path {
        v = &v[*p];
    }
    v.as_u64()
        .unwrap_or_else(|| panic!("no counter {path:?} in summary {summary}"))
}
