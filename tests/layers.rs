//! The crate's layers point one way: each module of `dataplane/src` uses only modules of lower
//! layers (test code aside). Read from the sources, so a new upward `use` fails here.
//!
//! Bottom up: wire, packet, node ← dpdk, tables, traffic, stats, slowpath ← config ← probe,
//! compile, doctor, systemd ← arp, nodes, save ← shared ← worker, change ← host, control (access,
//! files, counters ← metrics, sessions, services, sync ← commands ← the socket server) ←
//! runtime, agent (a client of the socket) ← binaries.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Each module's layer; a module may use modules of lower layers only.
const LAYERS: &[(&str, u32)] = &[
    ("wire", 0),
    ("packet", 0),
    ("node", 0),
    ("dpdk", 1),
    ("tables", 1),
    ("traffic", 1),
    ("stats", 2),
    ("slowpath", 2),
    ("config", 3),
    ("probe", 4),
    ("arp", 5),
    ("doctor", 4),
    ("systemd", 4),
    ("compile", 4),
    ("nodes", 5),
    ("save", 5),
    ("shared", 6),
    ("worker", 7),
    ("change", 7),
    ("host", 8),
    ("control::access", 8),
    ("control::files", 8),
    ("control::counters", 8),
    ("control::metrics", 9),
    ("control::sessions", 9),
    ("control::services", 9),
    ("control::sync", 9),
    ("control::commands", 10),
    ("control", 11),
    ("runtime", 12),
    ("agent", 12),
    ("testing", 13),
    ("lib", 13),
    ("bin", 14),
];

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The module a file belongs to: its top-level module, or `control::X` inside control.
fn module_of(root: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(root).unwrap().with_extension("");
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    match parts.as_slice() {
        [c, sub, ..] if c == "control" && sub != "mod" => format!("control::{sub}"),
        [first, ..] => first.clone(),
        [] => unreachable!(),
    }
}

/// The code of a file without its comments and its test module.
fn code(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or("");
    text.lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The modules a module's code names (`crate::x`, `qdp::x`, and inside control `super::x`).
fn uses(module: &str, code: &str) -> Vec<String> {
    let mut found = Vec::new();
    for prefix in ["crate::", "qdp::", "super::"] {
        for (at, _) in code.match_indices(prefix) {
            let rest = &code[at + prefix.len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect();
            let sub: String = rest[name.len()..]
                .strip_prefix("::")
                .map(|r| {
                    r.chars()
                        .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                        .collect()
                })
                .unwrap_or_default();
            let target = match prefix {
                "super::" if module.starts_with("control::") => format!("control::{name}"),
                "super::" => continue,
                _ if name == "control" && !sub.is_empty() => format!("control::{sub}"),
                _ => name,
            };
            if LAYERS.iter().any(|(m, _)| *m == target) {
                found.push(target);
            }
        }
    }
    found
}

#[test]
fn every_module_uses_only_lower_layers() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let layer: BTreeMap<&str, u32> = LAYERS.iter().copied().collect();
    let mut files = Vec::new();
    sources(&root, &mut files);
    let mut wrong = Vec::new();
    for f in &files {
        // Test modules of their own (`tests.rs`, `*_tests.rs`, files in a `*_tests/` folder) are
        // test code.
        let test_module = f.components().any(|c| {
            c.as_os_str().to_str().is_some_and(|n| {
                n == "tests.rs" || n.ends_with("_tests.rs") || n.ends_with("_tests")
            })
        });
        if test_module {
            continue;
        }
        let module = module_of(&root, f);
        let Some(&mine) = layer.get(module.as_str()) else {
            panic!(
                "{}: module '{module}' has no layer in tests/layers.rs",
                f.display()
            );
        };
        for target in uses(&module, &code(&std::fs::read_to_string(f).unwrap())) {
            if target != module && layer[target.as_str()] >= mine && module != "lib" {
                wrong.push(format!("{} ({module}) uses {target}", f.display()));
            }
        }
    }
    wrong.sort();
    wrong.dedup();
    assert!(
        wrong.is_empty(),
        "upward or sideways uses:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_check_finds_an_upward_use() {
    assert_eq!(
        uses("config", "use crate::nodes::sfc::SfcTables;"),
        ["nodes"]
    );
    assert_eq!(
        uses("control::metrics", "use super::commands::node_of;"),
        ["control::commands"]
    );
    assert!(code("// see crate::runtime\nfn f() {}")
        .find("runtime")
        .is_none());
}
