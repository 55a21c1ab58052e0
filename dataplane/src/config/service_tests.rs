//! The checks of the `lb` and `ids` SFs, the stateful firewall and health probes: what
//! [`Pipeline::from_toml`] refuses and what [`crate::compile::check`] refuses when it compiles
//! the tables (the `ids` SF's rules file), each under the exact field that caused it; and a good
//! `lb` + `ids` pipeline that passes both.

use std::path::Path;

use super::*;

/// Two ports with addresses (the backends' link is `server`, 10.2.0.0/24), a firewall and
/// `EXTRA_SFS` (so that they are `sfs[1]`, …), on one path through `HOPS`.
const BASE: &str = r#"
[eal]
cores = [0, 1]
[[ports]]
name = "client"
vdev = "net_null0"
addresses = ["10.1.0.254/24"]
[[ports]]
name = "server"
vdev = "net_null1"
addresses = ["10.2.0.254/24"]
[[workers]]
name = "w0"
core = 1
rx = ["client", "server"]
[[exits]]
name = "out"
port = "server"
[[paths]]
name = "p"
spi = 30
hops = [{ si = 255, sf = "fw" }, HOPS]
[[sfs]]
name = "fw"
kind = "firewall"
EXTRA_SFS
"#;

/// An `lb` SF (`sfs[1]`) with `sf` fields, `lb` fields and `backends`.
const LB: &str = r#"
[[sfs]]
name = "web-lb"
kind = "lb"
port = "server"
SF
[sfs.lb]
vip = "10.9.0.1"
LB
backends = [
BACKENDS
]
"#;

const TWO_BACKENDS: &str = r#"
  { name = "web1", address = "10.2.0.11" },
  { name = "web2", address = "10.2.0.12" },
"#;

fn lb_text(sf: &str, lb: &str, backends: &str) -> String {
    BASE.replace(
        "HOPS",
        "{ si = 254, sf = \"web-lb\" }, { si = 253, end = \"out\" }",
    )
    .replace(
        "EXTRA_SFS",
        &LB.replace("SF\n", &format!("{sf}\n"))
            .replace("LB\n", &format!("{lb}\n"))
            .replace("BACKENDS", backends),
    )
}

/// The errors of a pipeline file: its own checks, else compiling its tables.
fn errors(text: &str) -> Vec<ConfigError> {
    match Pipeline::from_toml(text) {
        Err(e) => e.0,
        Ok(p) => {
            crate::compile::check(&p)
                .err()
                .unwrap_or_else(|| panic!("accepted:\n{text}"))
                .0
        }
    }
}

/// Asserts that the file is refused with an error under `field`; that error's reason.
fn refused(text: &str, field: &str) -> String {
    let e = errors(text);
    match e.iter().find(|x| x.field == field) {
        Some(x) => x.reason.clone(),
        None => panic!("no error under {field}: {e:?}"),
    }
}

/// Asserts that the file is refused with exactly one error, under `field`; its reason.
fn refused_only(text: &str, field: &str) -> String {
    let e = errors(text);
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0].field, field, "{e:?}");
    e[0].reason.clone()
}

fn accepted(text: &str) {
    let p = Pipeline::from_toml(text).unwrap_or_else(|e| panic!("{e}"));
    crate::compile::check(&p).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn the_lb_base_is_good() {
    accepted(&lb_text("", "vip_ports = 80", TWO_BACKENDS));
    accepted(&lb_text(
        "probe = { kind = \"tcp\", interval_ms = 200, timeout_ms = 150, rise = 2, fall = 3 }",
        "vip_ports = 80",
        TWO_BACKENDS,
    ));
}

#[test]
fn lb_backends_are_checked() {
    let r = refused_only(&lb_text("", "vip_ports = 80", ""), "sfs[1].lb.backends");
    assert!(r.contains("at least one backend"), "{r}");

    let dup_name = r#"
  { name = "web1", address = "10.2.0.11" },
  { name = "web1", address = "10.2.0.12" },
"#;
    let r = refused_only(
        &lb_text("", "vip_ports = 80", dup_name),
        "sfs[1].lb.backends[1].name",
    );
    assert!(r.contains("duplicate") && r.contains("backends[0]"), "{r}");

    let dup_addr = r#"
  { name = "web1", address = "10.2.0.11" },
  { name = "web2", address = "10.2.0.11" },
"#;
    let r = refused_only(
        &lb_text("", "vip_ports = 80", dup_addr),
        "sfs[1].lb.backends[1].address",
    );
    assert!(r.contains("duplicate") && r.contains("10.2.0.11"), "{r}");

    let vip_backend = r#"
  { name = "web1", address = "10.2.0.11" },
  { name = "web2", address = "10.9.0.1", mac = "02:00:00:00:0b:02" },
"#;
    let r = refused_only(
        &lb_text("", "vip_ports = 80", vip_backend),
        "sfs[1].lb.backends[1].address",
    );
    assert!(r.contains("VIP"), "{r}");

    // A backend port needs a VIP of one port.
    let ported = r#"
  { name = "web1", address = "10.2.0.11", port = 8080 },
  { name = "web2", address = "10.2.0.12" },
"#;
    accepted(&lb_text("", "vip_ports = 80", ported));
    let r = refused_only(
        &lb_text("", "vip_ports = \"80-90\"", ported),
        "sfs[1].lb.backends[0].port",
    );
    assert!(r.contains("one port"), "{r}");
    refused_only(&lb_text("", "", ported), "sfs[1].lb.backends[0].port");
}

#[test]
fn lb_vip_and_table_are_checked() {
    let good = lb_text("", "vip_ports = 80", TWO_BACKENDS);
    // Inside the backends' prefix (the server port's 10.2.0.254/24).
    let r = refused_only(
        &good.replace("vip = \"10.9.0.1\"", "vip = \"10.2.0.100\""),
        "sfs[1].lb.vip",
    );
    assert!(r.contains("10.2.0.254/24") && r.contains("server"), "{r}");
    let r = refused_only(
        &good.replace("vip = \"10.9.0.1\"", "vip = \"fd00::1\""),
        "sfs[1].lb.vip",
    );
    assert!(r.contains("IPv4"), "{r}");
    refused_only(&good.replace("vip = \"10.9.0.1\"\n", ""), "sfs[1].lb.vip");

    let r = refused_only(
        &lb_text("", "vip_ports = 80\ntable_size = 300", TWO_BACKENDS),
        "sfs[1].lb.table_size",
    );
    assert!(r.contains("prime"), "{r}");
    refused_only(
        &lb_text("", "vip_ports = 80\ntable_size = 1", TWO_BACKENDS),
        "sfs[1].lb.table_size",
    );
    accepted(&lb_text(
        "",
        "vip_ports = 80\ntable_size = 307",
        TWO_BACKENDS,
    ));

    // No port: where its backends are.
    let r = refused(
        &good.replace("kind = \"lb\"\nport = \"server\"\n", "kind = \"lb\"\n"),
        "sfs[1].port",
    );
    assert!(r.contains("needs port"), "{r}");
}

#[test]
fn settings_of_other_kinds_are_refused() {
    // An lb section on a firewall.
    let text = BASE.replace("HOPS", "{ si = 254, end = \"out\" }").replace(
        "EXTRA_SFS",
        "[sfs.lb]\nvip = \"10.9.0.1\"\nbackends = [{ name = \"w\", address = \"10.2.0.11\" }]",
    );
    let r = refused(&text, "sfs[0].lb");
    assert!(r.contains("only an lb SF"), "{r}");

    // Stateful on a counter.
    let text = BASE
        .replace(
            "HOPS",
            "{ si = 254, sf = \"c\" }, { si = 253, end = \"out\" }",
        )
        .replace(
            "EXTRA_SFS",
            "[[sfs]]\nname = \"c\"\nkind = \"counter\"\nstateful = true",
        );
    let r = refused_only(&text, "sfs[1].stateful");
    assert!(r.contains("firewall"), "{r}");
    // On the firewall, it is fine.
    accepted(
        &BASE
            .replace("HOPS", "{ si = 254, end = \"out\" }")
            .replace("EXTRA_SFS", "stateful = true\ndefault = \"deny\""),
    );
}

#[test]
fn probes_are_checked() {
    let probe = |p: &str, lb: &str| lb_text(&format!("probe = {{ {p} }}"), lb, TWO_BACKENDS);
    let r = refused_only(
        &probe(
            "kind = \"icmp\", interval_ms = 1000, timeout_ms = 2000",
            "vip_ports = 80",
        ),
        "sfs[1].probe.timeout_ms",
    );
    assert!(r.contains("interval_ms"), "{r}");
    let r = refused_only(
        &probe("kind = \"icmp\", rise = 0", "vip_ports = 80"),
        "sfs[1].probe.rise",
    );
    assert!(r.contains("1..=100"), "{r}");
    refused_only(
        &probe("kind = \"icmp\", fall = 0", "vip_ports = 80"),
        "sfs[1].probe.fall",
    );
    // TCP with no port of its own, no backend port and a VIP of many ports.
    let r = refused_only(
        &probe("kind = \"tcp\"", "vip_ports = \"80-90\""),
        "sfs[1].probe.port",
    );
    assert!(r.contains("tcp probe needs port"), "{r}");
    refused_only(&probe("kind = \"tcp\"", ""), "sfs[1].probe.port");
    accepted(&probe("kind = \"tcp\", port = 80", "vip_ports = \"80-90\""));
    accepted(&probe("kind = \"tcp\"", "vip_ports = 80"));
    // A probe on a firewall.
    let text = BASE
        .replace("HOPS", "{ si = 254, end = \"out\" }")
        .replace("EXTRA_SFS", "probe = { kind = \"icmp\" }");
    refused_only(&text, "sfs[0].probe");
}

/// An `ids` SF (`sfs[1]`) whose rules file is `rules` (an absolute path), with `extra` fields.
fn ids_text(rules: &Path, extra: &str) -> String {
    BASE.replace(
        "HOPS",
        "{ si = 254, sf = \"ids\" }, { si = 253, end = \"out\" }",
    )
    .replace(
        "EXTRA_SFS",
        &format!(
            "[[sfs]]\nname = \"ids\"\nkind = \"ids\"\n[sfs.ids]\nrules_file = \"{}\"\n\
                 eve_log = \"{}\"\n{extra}\n",
            rules.display(),
            rules.with_extension("eve.json").display()
        ),
    )
}

/// A rules file in `dir` called `name` holding `text`.
fn rules_file(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

const GOOD_RULES: &str = "\
# good rules
drop tcp any any -> any 80 (msg:\"passwd\"; content:\"/etc/passwd\"; nocase; sid:1001;)
alert udp any any -> any 53 (msg:\"dns\"; content:\"|00 01|\"; offset:2; depth:4; sid:1002;)
";

#[test]
fn ids_needs_a_rules_file() {
    let text = BASE
        .replace(
            "HOPS",
            "{ si = 254, sf = \"ids\" }, { si = 253, end = \"out\" }",
        )
        .replace(
            "EXTRA_SFS",
            "[[sfs]]\nname = \"ids\"\nkind = \"ids\"\n[sfs.ids]\nmode = \"tap\"",
        );
    let r = refused_only(&text, "sfs[1].ids.rules_file");
    assert!(r.contains("needs ids.rules_file"), "{r}");
    let text = BASE
        .replace(
            "HOPS",
            "{ si = 254, sf = \"ids\" }, { si = 253, end = \"out\" }",
        )
        .replace("EXTRA_SFS", "[[sfs]]\nname = \"ids\"\nkind = \"ids\"");
    refused_only(&text, "sfs[1].ids.rules_file");
    // An ids section on another kind.
    let text = BASE
        .replace("HOPS", "{ si = 254, end = \"out\" }")
        .replace("EXTRA_SFS", "[sfs.ids]\nrules_file = \"x.rules\"");
    refused(&text, "sfs[0].ids");
}

#[test]
fn ids_rules_files_are_checked_when_compiled() {
    let dir = tempfile::tempdir().unwrap();
    let good = rules_file(dir.path(), "good.rules", GOOD_RULES);
    accepted(&ids_text(&good, ""));
    accepted(&ids_text(&good, "mode = \"tap\"\nunsupported = \"refuse\""));

    let field = "sfs[1].ids.rules_file";
    // A syntax error (relative and absolute modifiers on one content), on line 3.
    let bad = rules_file(
        dir.path(),
        "syntax.rules",
        &format!(
            "{GOOD_RULES}alert tcp any any -> any any (msg:\"x\"; content:\"a\"; offset:1; \
             distance:2; sid:7;)\n"
        ),
    );
    let r = refused_only(&ids_text(&bad, ""), field);
    assert!(r.contains("line 4") && r.contains("sid 7"), "{r}");
    assert!(r.contains("syntax.rules"), "{r}");

    // An unknown keyword: refused when asked, else skipped.
    let unknown = rules_file(
        dir.path(),
        "pcre.rules",
        "\nalert tcp any any -> any any (msg:\"x\"; content:\"a\"; pcre:\"/a+/\"; sid:9;)\n\
         alert tcp any any -> any any (msg:\"y\"; content:\"b\"; sid:10;)\n",
    );
    let r = refused_only(&ids_text(&unknown, "unsupported = \"refuse\""), field);
    assert!(
        r.contains("line 2") && r.contains("sid 9") && r.contains("pcre"),
        "{r}"
    );
    accepted(&ids_text(&unknown, ""));
    accepted(&ids_text(&unknown, "unsupported = \"skip\""));

    // A huge content and an absurd offset: syntax errors, refused whatever `unsupported` says.
    let huge = rules_file(
        dir.path(),
        "huge.rules",
        &format!(
            "alert tcp any any -> any any (msg:\"x\"; content:\"{}\"; sid:11;)\n",
            "a".repeat(2000)
        ),
    );
    let r = refused_only(&ids_text(&huge, ""), field);
    assert!(r.contains("line 1") && r.contains("sid 11"), "{r}");
    assert!(r.contains("huge content"), "{r}");
    let far = rules_file(
        dir.path(),
        "offset.rules",
        "alert tcp any any -> any any (msg:\"x\"; content:\"a\"; offset:100000; sid:12;)\n",
    );
    let r = refused_only(&ids_text(&far, ""), field);
    assert!(r.contains("sid 12") && r.contains("offset"), "{r}");

    // A file that is not there.
    let missing = dir.path().join("missing.rules");
    let r = refused_only(&ids_text(&missing, ""), field);
    assert!(
        r.contains("cannot read") && r.contains("missing.rules"),
        "{r}"
    );
}

#[test]
fn a_good_lb_and_ids_chain_passes_check() {
    let dir = tempfile::tempdir().unwrap();
    let rules = rules_file(dir.path(), "chain.rules", GOOD_RULES);
    let text = format!(
        r#"
[eal]
cores = [0, 1]
[[ports]]
name = "client"
vdev = "net_null0"
addresses = ["10.1.0.254/24"]
[[ports]]
name = "server"
vdev = "net_null1"
addresses = ["10.2.0.254/24"]
[[workers]]
name = "w0"
core = 1
rx = ["client", "server"]
[sfc]
unmatched = "drop"
[[sfs]]
name = "fw"
kind = "firewall"
stateful = true
default = "deny"
connections = 4096
rules = [{{ priority = 10, src = "10.1.0.0/24", dst = "10.9.0.1/32", protocol = "tcp", dst_ports = 80, action = "allow" }}]
[[sfs]]
name = "ids"
kind = "ids"
[sfs.ids]
rules_file = "{rules}"
eve_log = "{eve}"
mode = "inline"
unsupported = "refuse"
vars = {{ HOME_NET = "[10.2.0.0/24]" }}
[[sfs]]
name = "web-lb"
kind = "lb"
port = "server"
connections = 4096
probe = {{ kind = "tcp", interval_ms = 200, timeout_ms = 150, rise = 2, fall = 3 }}
[sfs.lb]
vip = "10.9.0.1"
protocol = "tcp"
vip_ports = 80
hash = "source"
table_size = 307
backends = [
  {{ name = "web1", address = "10.2.0.11", port = 8080 }},
  {{ name = "web2", address = "10.2.0.12", weight = 2 }},
  {{ name = "web3", address = "10.2.0.13", mac = "02:00:00:00:0b:03", weight = 0 }},
  {{ name = "web4", address = "10.2.0.14", down = true }},
]
[[exits]]
name = "to-backends"
port = "server"
[[exits]]
name = "to-client"
port = "client"
dst_mac = "02:00:00:00:01:01"
[[paths]]
name = "web"
spi = 30
reverse = "back"
hops = [{{ si = 255, sf = "fw" }}, {{ si = 254, sf = "ids" }}, {{ si = 253, sf = "web-lb" }}, {{ si = 252, end = "to-backends" }}]
[[paths]]
name = "back"
spi = 32
hops = [{{ si = 255, sf = "web-lb" }}, {{ si = 254, sf = "ids" }}, {{ si = 253, sf = "fw" }}, {{ si = 252, end = "to-client" }}]
[[classifier]]
in_port = "client"
src = "10.1.0.0/24"
dst = "10.9.0.1/32"
protocol = "tcp"
dst_ports = 80
path = "web"
[[classifier]]
in_port = "server"
src = "10.2.0.0/24"
dst = "10.1.0.0/24"
path = "back"
"#,
        rules = rules.display(),
        eve = dir.path().join("eve.json").display(),
    );
    accepted(&text);
}
