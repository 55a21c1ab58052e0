//! Lasting changes: `qdpctl save` and `[control] autosave` write the running configuration back
//! into the pipeline file of a running qdp (comments kept, `qdp check` passes, a restart runs the
//! changed state); a save that cannot complete leaves the old file byte for byte; the built-in demo
//! has no file to save to, and no request can make qdp write another file.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::daemon::Daemon;
use common::*;
use serde_json::Value;

/// The comments of [`pipeline`]'s file, each of which a save must keep.
const COMMENTS: &[&str] = &[
    "# A chain for the save tests",
    "# generated traffic",
    "# Where the chain ends.",
    "# the sink's MAC",
    "# The firewall.",
    "# no telnet",
    "# Two counters, one group.",
    "# the second instance",
    "# Generated traffic onto the chain.",
];

/// A commented pipeline: replay → firewall → a group of two counters → sink.
fn pipeline(prefix: &str, control: &str) -> String {
    format!(
        r#"# A chain for the save tests: replay -> firewall -> a group of two counters -> sink.
name = "save-test"

{eal}
[[ports]]
name = "replay"   # generated traffic
vdev = "net_pcap0,infinite_rx=1"
traffic = {{ flows = 64 }}

[[ports]]
name = "sink"
vdev = "net_null0,no-rx=1"
rx_queues = 0

[[workers]]
name = "w0"
core = 1
rx = ["replay"]
idle = "sleep"

# Where the chain ends.
[[exits]]
name = "to-sink"
port = "sink"
dst_mac = "02:00:00:00:00:0b"   # the sink's MAC

# The firewall.
[[sfs]]
name = "fw"
kind = "firewall"
rules = [
  {{ priority = 10, protocol = "tcp", dst_ports = 23, action = "deny" }},   # no telnet
]

# Two counters, one group.
[[sfs]]
name = "c1"
kind = "counter"

[[sfs]]
name = "c2"
kind = "counter"   # the second instance

[[sfs]]
name = "counters"
kind = "group"
members = ["c1", "c2"]

[[paths]]
name = "chain"
spi = 1
hops = [
  {{ si = 255, sf = "fw" }},
  {{ si = 254, sf = "counters" }},
  {{ si = 253, end = "to-sink" }},
]

# Generated traffic onto the chain.
[[classifier]]
name = "web"
in_port = "replay"
src = "10.1.0.0/16"
path = "chain"
{control}"#,
        eal = eal_section(prefix)
    )
}

/// Writes the pipeline into the scratch folder; its path and the socket's.
fn setup(dir: &Path, text: &str) -> (PathBuf, PathBuf) {
    let file = dir.join("pipeline.toml");
    std::fs::write(&file, text).unwrap();
    (file, dir.join("ctl.sock"))
}

/// `chattr +i FILE` while alive (it stops root too: no rename may replace the file).
struct Immutable(PathBuf);

impl Immutable {
    fn set(path: &Path) -> Immutable {
        let out = run_with_timeout(
            Command::new("chattr").arg("+i").arg(path),
            Duration::from_secs(30),
        );
        assert!(
            out.status.success(),
            "chattr +i {} (needs root and a filesystem with the immutable flag): {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        Immutable(path.to_path_buf())
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        let _ = Command::new("chattr").arg("-i").arg(&self.0).status();
    }
}

fn names(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x["name"].as_str().unwrap_or("").to_string())
        .collect()
}

fn sf_state(sfs: &Value, name: &str) -> String {
    sfs.as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no SF {name} in {sfs}"))["state"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The files of a folder, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn saved_changes_survive_a_restart_and_the_file_keeps_its_comments() {
    let dir = scratch("save-restart");
    let (file, socket) = setup(dir.path(), &pipeline("qdp-t-save-restart", ""));
    let q = Daemon::start(Some(&file), &socket, &[]);
    q.ok(&[
        "add",
        "rule",
        "name=mail",
        "in_port=replay",
        "src=10.9.0.0/16",
        "path=chain",
        "priority=50",
    ]);
    q.ok(&["add", "sf", "name=c3", "kind=counter"]);
    q.ok(&["set", "sf", "c2", "down"]);
    // Changes alone do not touch the file.
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        pipeline("qdp-t-save-restart", "")
    );
    let out = q.ctl(&["save"]);
    assert_success(&out);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("pipeline.toml"), "{said}");
    let ended = q.stop();
    assert!(ended.status.success(), "{}", ended.stderr);
    assert!(
        ended.stderr.contains("running configuration saved to"),
        "{}",
        ended.stderr
    );

    let text = std::fs::read_to_string(&file).unwrap();
    for c in COMMENTS {
        assert!(text.contains(c), "the saved file lost '{c}':\n{text}");
    }
    let check = run_with_timeout(
        Command::new(qdp_bin()).arg("check").arg(&file),
        Duration::from_secs(30),
    );
    assert_success(&check);

    let q = Daemon::start(Some(&file), &socket, &[]);
    let rules = q.ok(&["show", "rules"]);
    assert_eq!(names(&rules), ["web", "mail"], "{rules}");
    assert_eq!(rules[1]["priority"], 50, "{rules}");
    let sfs = q.ok(&["show", "sfs"]);
    assert_eq!(names(&sfs), ["fw", "c1", "c2", "counters", "c3"], "{sfs}");
    assert_eq!(sf_state(&sfs, "c2"), "down");
    assert_eq!(sf_state(&sfs, "c1"), "up");
    // A second save of the same state writes nothing.
    let again = q.ok(&["save"]);
    assert_eq!(again["written"], false, "{again}");
    assert!(q.stop().status.success());
}

#[test]
fn a_save_that_cannot_replace_the_file_leaves_it_byte_for_byte() {
    let dir = scratch("save-fail");
    let text = pipeline("qdp-t-save-fail", "");
    let (file, socket) = setup(dir.path(), &text);
    let q = Daemon::start(Some(&file), &socket, &[]);
    q.ok(&["add", "rule", "name=mail", "src=10.9.0.0/16", "path=chain"]);
    let before = listing(dir.path());
    {
        let _frozen = Immutable::set(&file);
        // The temporary file is written and synced; the rename over the file is refused.
        let e = q.err(&["save"]);
        assert!(
            e.contains("renaming the temporary file over it") && e.contains("left as it was"),
            "{e}"
        );
        assert_eq!(std::fs::read(&file).unwrap(), text.as_bytes());
        assert_eq!(listing(dir.path()), before, "a temporary file was left");
    }
    // The change is still running, and once the file can be replaced it is saved.
    assert_eq!(names(&q.ok(&["show", "rules"])), ["web", "mail"]);
    let saved = q.ok(&["save"]);
    assert_eq!(saved["written"], true, "{saved}");
    let back = qdp::config::Pipeline::load(&file).unwrap();
    assert_eq!(back.classifier.len(), 2);
    assert!(q.stop().status.success());
}

#[test]
fn autosave_saves_every_change_and_refuses_one_it_cannot_save() {
    let dir = scratch("autosave");
    let (file, socket) = setup(
        dir.path(),
        &pipeline(
            "qdp-t-autosave",
            "\n[control]\nautosave = true   # keep changes\n",
        ),
    );
    let q = Daemon::start(Some(&file), &socket, &[]);
    let r = q.ok(&["add", "rule", "name=mail", "src=10.9.0.0/16", "path=chain"]);
    assert!(
        r["saved"].as_str().unwrap().ends_with("pipeline.toml"),
        "{r}"
    );
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("name = \"mail\""), "{text}");
    assert!(text.contains("autosave = true   # keep changes"), "{text}");
    assert_eq!(
        qdp::config::Pipeline::load(&file).unwrap().classifier.len(),
        2
    );
    q.ok(&["set", "sf", "c2", "down"]);
    let p = qdp::config::Pipeline::load(&file).unwrap();
    assert!(p.sfs.iter().any(|s| s.name == "c2" && s.down));

    // A change that cannot be saved is not made.
    let saved = std::fs::read(&file).unwrap();
    {
        let _frozen = Immutable::set(&file);
        let e = q.err(&["delete", "rule", "mail"]);
        assert!(e.contains("left as it was"), "{e}");
        assert_eq!(std::fs::read(&file).unwrap(), saved);
    }
    assert_eq!(names(&q.ok(&["show", "rules"])), ["web", "mail"]);
    // Refused changes (a path that does not exist) neither change nor save anything.
    let e = q.err(&["add", "rule", "name=bad", "src=10.8.0.0/16", "path=nosuch"]);
    assert!(e.contains("nosuch"), "{e}");
    assert_eq!(std::fs::read(&file).unwrap(), saved);
    assert!(q.stop().status.success());
}

#[test]
fn the_demo_has_no_file_to_save_and_no_request_names_another_file() {
    let dir = scratch("save-demo");
    let socket = dir.path().join("ctl.sock");
    let q = Daemon::start(None, &socket, &[]);
    let e = q.err(&["save"]);
    assert!(e.contains("built-in demo pipeline"), "{e}");
    let target = dir.path().join("elsewhere.toml");
    let raw = format!(r#"{{"command":"save","file":"{}"}}"#, target.display());
    let e = q.err(&["raw", &raw]);
    assert!(e.contains("unknown field `file`"), "{e}");
    assert!(!target.exists());
    let out = q.ctl(&["save", target.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!target.exists());
    assert!(q.stop().status.success());
}
