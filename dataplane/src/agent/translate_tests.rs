//! The translation of Neutron's SFC objects, on the two-appliance layout of tests/openstack.rs:
//! a client port and two instances of SF1 on edge-a, SF2 and the server port on edge-b.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::model::Snapshot;
use super::translate::{plan, Local, LocalVtep, Plan, REVERSE_SPI};
use crate::config::{OwnedSet, Pipeline};

fn port(id: &str, name: &str, host: &str, mac: &str, qdp_port: Option<&str>) -> Value {
    let profile = match qdp_port {
        Some(p) => json!({ "qdp_port": p }),
        None => json!({}),
    };
    json!({
        "id": id, "name": name, "network_id": "net", "mac_address": mac,
        "fixed_ips": [], "device_owner": "", "device_id": format!("dev-{name}"),
        "binding:host_id": host, "binding:profile": profile,
    })
}

fn vtep_port(id: &str, host: &str, ip: &str, mac: &str) -> Value {
    json!({
        "id": id, "name": format!("qdp-vtep-{host}"), "network_id": "underlay",
        "mac_address": mac, "fixed_ips": [{ "ip_address": ip, "subnet_id": "s" }],
        "device_owner": "qdp:vtep", "device_id": format!("qdp-{host}"),
        "binding:host_id": host, "binding:profile": {},
    })
}

const CLIENT: &str = "aaaaaaaa-0000-0000-0000-000000000001";
const SERVER: &str = "aaaaaaaa-0000-0000-0000-000000000002";
const SF1: &str = "aaaaaaaa-0000-0000-0000-000000000003";
const SF1B: &str = "aaaaaaaa-0000-0000-0000-000000000004";
const SF2: &str = "aaaaaaaa-0000-0000-0000-000000000005";
const PP1: &str = "bbbbbbbb-0000-0000-0000-000000000001";
const PP1B: &str = "bbbbbbbb-0000-0000-0000-000000000002";
const PP2: &str = "bbbbbbbb-0000-0000-0000-000000000003";
const G1: &str = "cccccccc-0000-0000-0000-000000000001";
const G2: &str = "cccccccc-0000-0000-0000-000000000002";
const FC: &str = "dddddddd-0000-0000-0000-000000000001";
const CHAIN: &str = "eeeeeeee-0000-0000-0000-000000000001";

/// The layout, with SF1's group holding `g1` (port pair ids) and the chain `chain` (fields
/// over the default).
fn snapshot(g1: &[&str], chain: Value, fc: Value) -> Snapshot {
    let ports = json!([
        port(
            CLIENT,
            "client",
            "edge-a",
            "02:00:00:00:01:01",
            Some("client")
        ),
        port(
            SERVER,
            "server",
            "edge-b",
            "02:00:00:00:02:01",
            Some("server")
        ),
        port(SF1, "sf1", "edge-a", "02:00:00:00:03:01", Some("sf1")),
        port(SF1B, "sf1b", "edge-a", "02:00:00:00:05:01", Some("sf1b")),
        port(SF2, "sf2", "edge-b", "02:00:00:00:07:01", Some("sf2")),
        vtep_port("v1", "edge-a", "10.98.0.1", "02:00:00:00:08:0a"),
        vtep_port("v2", "edge-b", "10.98.0.2", "02:00:00:00:08:0b"),
    ]);
    let pp = |id: &str, name: &str, p: &str, weight: u32| {
        json!({ "id": id, "name": name, "ingress": p, "egress": p,
                "service_function_parameters": { "correlation": null, "weight": weight } })
    };
    let mut base_fc = json!({
        "id": FC, "name": "web", "ethertype": "IPv4", "protocol": null,
        "source_port_range_min": null, "source_port_range_max": null,
        "destination_port_range_min": null, "destination_port_range_max": null,
        "source_ip_prefix": "10.1.0.0/24", "destination_ip_prefix": "10.2.0.0/24",
        "logical_source_port": CLIENT, "logical_destination_port": SERVER,
        "l7_parameters": {},
    });
    merge(&mut base_fc, fc);
    let mut base_chain = json!({
        "id": CHAIN, "name": "pc1", "chain_id": 1,
        "port_pair_groups": [G1, G2], "flow_classifiers": [FC],
        "chain_parameters": { "correlation": "nsh", "symmetric": true },
    });
    merge(&mut base_chain, chain);
    Snapshot {
        ports: from(ports),
        port_pairs: from(json!([
            pp(PP1, "sf1", SF1, 1),
            pp(PP1B, "sf1b", SF1B, 2),
            pp(PP2, "sf2", SF2, 1)
        ])),
        port_pair_groups: from(json!([
            { "id": G1, "name": "g1", "port_pairs": g1,
              "port_pair_group_parameters": { "lb_fields": ["ip_src", "ip_dst"], "ppg_n_tuple_mapping": { "ingress_n_tuple": {}, "egress_n_tuple": {} } },
              "tap_enabled": false },
            { "id": G2, "name": "g2", "port_pairs": [PP2],
              "port_pair_group_parameters": { "lb_fields": "", "ppg_n_tuple_mapping": null },
              "tap_enabled": false },
        ])),
        flow_classifiers: from(json!([base_fc])),
        port_chains: from(json!([base_chain])),
    }
}

fn nm(kind: &str, id: &str) -> String {
    format!("os-{kind}-{}", super::translate::short(id))
}

fn from<T: serde::de::DeserializeOwned>(x: Value) -> T {
    serde_json::from_value(x).unwrap()
}

fn merge(base: &mut Value, over: Value) {
    if let (Some(b), Value::Object(o)) = (base.as_object_mut(), over) {
        for (k, x) in o {
            b.insert(k, x);
        }
    }
}

fn on(host: &str, n: &Snapshot) -> Plan {
    let (ports, vtep): (Vec<String>, _) = match host {
        "edge-a" => (
            ["client", "sf1", "sf1b", "underlay"]
                .map(String::from)
                .to_vec(),
            LocalVtep {
                port: "underlay".into(),
                address: "10.98.0.1".parse().unwrap(),
                mac: "02:00:00:00:08:0a".into(),
            },
        ),
        _ => (
            ["server", "sf2", "underlay"].map(String::from).to_vec(),
            LocalVtep {
                port: "underlay".into(),
                address: "10.98.0.2".parse().unwrap(),
                mac: "02:00:00:00:08:0b".into(),
            },
        ),
    };
    let map = BTreeMap::new();
    plan(
        n,
        &Local {
            host,
            prefix: "os-",
            vtep: Some(&vtep),
            ports: &ports,
            port_map: &map,
            rule_priority: 100,
        },
    )
}

/// The appliance's pipeline file with the plan's units in it: it must pass `qdp check`.
fn installed(host: &str, p: &Plan) -> Pipeline {
    let file = match host {
        "edge-a" => include_str!("../../../pipelines/openstack-edge-a.toml"),
        _ => include_str!("../../../pipelines/openstack-edge-b.toml"),
    };
    let mut pl = Pipeline::from_toml(file).unwrap();
    let all = p
        .units
        .iter()
        .fold(OwnedSet::default(), |a, u| a.merged(&u.set).unwrap());
    pl.replace_owned("os-", &all).unwrap();
    crate::compile::check(&pl).unwrap_or_else(|e| panic!("{host}: {e}"));
    pl
}

fn hops(p: &Pipeline, path: &str) -> Vec<String> {
    let path = p.paths.iter().find(|x| x.name == path).unwrap();
    path.hops
        .iter()
        .map(|h| {
            let t = h.sf.as_ref().map(|s| format!("sf {s}"));
            let t = t.or(h.sff.as_ref().map(|s| format!("sff {s}")));
            let t = t.or(h.end.as_ref().map(|s| format!("end {s}")));
            format!("{}: {}", h.si, t.unwrap())
        })
        .collect()
}

#[test]
fn a_chain_across_two_appliances_is_split_between_them() {
    let n = snapshot(&[PP1], json!({}), json!({}));
    let a = on("edge-a", &n);
    let b = on("edge-b", &n);
    assert!(a.problems.is_empty(), "{:?}", a.problems);
    assert!(b.problems.is_empty(), "{:?}", b.problems);
    let (pa, pb) = (installed("edge-a", &a), installed("edge-b", &b));
    // edge-a: the classifier, SF1 (its group has one pair and lb_fields: a group), then B.
    let vb = pa
        .neighbors
        .iter()
        .find(|x| x.address == Some("10.98.0.2".parse().unwrap()))
        .unwrap();
    assert_eq!(vb.port, "underlay");
    assert_eq!(vb.mac.unwrap().to_string(), "02:00:00:00:08:0b");
    assert_eq!(
        hops(&pa, "os-c1"),
        [
            format!("255: sf {}", nm("g", G1)),
            format!("254: sff {}", vb.name),
            format!("253: sff {}", vb.name)
        ]
    );
    assert_eq!(
        hops(&pa, "os-c1r"),
        [
            format!("255: sff {}", vb.name),
            format!("254: sf {}", nm("g", G1)),
            format!("253: end {}", nm("x", CLIENT))
        ]
    );
    let rule = pa
        .classifier
        .iter()
        .find(|r| r.name.as_deref() == Some(nm("fc", FC).as_str()))
        .unwrap();
    assert_eq!(rule.in_port.as_deref(), Some("client"));
    assert_eq!(rule.path.as_deref(), Some("os-c1"));
    assert_eq!(pa.paths.iter().find(|x| x.name == "os-c1").unwrap().spi, 1);
    assert_eq!(
        pa.paths.iter().find(|x| x.name == "os-c1r").unwrap().spi,
        1 + REVERSE_SPI
    );
    let sf1 = pa.sfs.iter().find(|x| x.name == nm("pp", PP1)).unwrap();
    assert_eq!(sf1.port.as_deref(), Some("sf1"));
    assert_eq!(sf1.mac.unwrap().to_string(), "02:00:00:00:03:01");
    // edge-b: SF1's hop goes back to A, SF2 is here, the end is here; the replies are classified here.
    let va = pb
        .neighbors
        .iter()
        .find(|x| x.address == Some("10.98.0.1".parse().unwrap()))
        .unwrap();
    assert_eq!(
        hops(&pb, "os-c1"),
        [
            format!("255: sff {}", va.name),
            format!("254: sf {}", nm("pp", PP2)),
            format!("253: end {}", nm("x", SERVER))
        ]
    );
    let x = pb.exits.iter().find(|x| x.name == nm("x", SERVER)).unwrap();
    assert_eq!(
        (x.port.as_str(), x.dst_mac.unwrap().to_string().as_str()),
        ("server", "02:00:00:00:02:01")
    );
    let r = pb
        .classifier
        .iter()
        .find(|r| r.name.as_deref() == Some(format!("{}r", nm("fc", FC)).as_str()))
        .unwrap();
    assert_eq!(r.in_port.as_deref(), Some("server"));
    assert_eq!(r.path.as_deref(), Some("os-c1r"));
    assert_eq!(r.src.map(|p| p.to_string()).as_deref(), Some("10.2.0.0/24"));
    assert_eq!(r.dst.map(|p| p.to_string()).as_deref(), Some("10.1.0.0/24"));
    assert_eq!(a.chains[0].state, "programmed");
    assert_eq!(b.chains[0].roles, ["end", "reverse classifier", "sf"]);
}

#[test]
fn a_second_port_pair_joins_the_group_with_its_weight() {
    let n = snapshot(&[PP1, PP1B], json!({}), json!({}));
    let a = on("edge-a", &n);
    let pa = installed("edge-a", &a);
    let g = pa.sfs.iter().find(|x| x.name == nm("g", G1)).unwrap();
    assert_eq!(g.members.len(), 2);
    let second = pa.sfs.iter().find(|x| x.name == g.members[1]).unwrap();
    assert_eq!(second.weight, Some(2));
    assert_eq!(second.port.as_deref(), Some("sf1b"));
    assert_eq!(
        g.lb_fields,
        [crate::config::LbField::IpSrc, crate::config::LbField::IpDst]
    );
    // edge-b sees the group only as a hop to A.
    let b = on("edge-b", &n);
    let pb = installed("edge-b", &b);
    assert!(pb
        .sfs
        .iter()
        .all(|x| x.kind != crate::config::SfKind::Group));
}

#[test]
fn what_qdp_cannot_honour_is_reported_and_left_out_whole() {
    let cases = [
        (
            json!({ "chain_parameters": { "correlation": "mpls", "symmetric": false } }),
            json!({}),
            "correlation 'mpls'",
        ),
        (
            json!({}),
            json!({ "l7_parameters": { "url": "x" } }),
            "l7_parameters 'url'",
        ),
        (
            json!({}),
            json!({ "logical_destination_port": null }),
            "no logical_destination_port",
        ),
        (json!({ "chain_id": 1 << 23 }), json!({}), "does not fit"),
    ];
    for (chain, fc, want) in cases {
        let n = snapshot(&[PP1], chain, fc);
        for host in ["edge-a", "edge-b"] {
            let p = on(host, &n);
            assert!(p.units.is_empty(), "{host}: {want}");
            assert_eq!(p.problems.len(), 1, "{host}");
            assert!(
                p.problems[0].reason.contains(want),
                "{host}: {}",
                p.problems[0].reason
            );
            assert_eq!(p.chains[0].state, "unsupported");
        }
    }
}

#[test]
fn a_port_bound_here_without_a_qdp_port_is_named() {
    let mut n = snapshot(&[PP1], json!({}), json!({}));
    n.ports[2].profile.clear();
    let p = on("edge-a", &n);
    assert!(p.units.is_empty());
    assert!(
        p.problems[0].reason.contains("names no qdp port"),
        "{}",
        p.problems[0].reason
    );
    // A port map fixes it.
    let map: BTreeMap<String, String> = [("sf1".to_string(), "sf1".to_string())].into();
    let ports: Vec<String> = ["client", "sf1", "sf1b", "underlay"]
        .map(String::from)
        .to_vec();
    let vtep = LocalVtep {
        port: "underlay".into(),
        address: "10.98.0.1".parse().unwrap(),
        mac: "02:00:00:00:08:0a".into(),
    };
    let p = plan(
        &n,
        &Local {
            host: "edge-a",
            prefix: "os-",
            vtep: Some(&vtep),
            ports: &ports,
            port_map: &map,
            rule_priority: 100,
        },
    );
    assert!(p.problems.is_empty(), "{:?}", p.problems);
}

#[test]
fn a_chain_on_no_piece_of_this_host_is_not_here() {
    let n = snapshot(&[PP1], json!({}), json!({}));
    let p = on("edge-c", &n);
    assert!(p.units.is_empty() && p.problems.is_empty());
    assert_eq!(p.chains[0].state, "not here");
}

#[test]
fn flow_classifier_fields_become_the_rule() {
    let n = snapshot(
        &[PP1],
        json!({}),
        json!({ "protocol": "tcp", "destination_port_range_min": 5201, "destination_port_range_max": 5201,
                "source_port_range_min": 1000, "source_port_range_max": 2000 }),
    );
    let pa = installed("edge-a", &on("edge-a", &n));
    let r = pa
        .classifier
        .iter()
        .find(|r| r.name.as_deref() == Some(nm("fc", FC).as_str()))
        .unwrap();
    let v = serde_json::to_value(r).unwrap();
    assert_eq!(v["protocol"], json!("tcp"));
    assert_eq!(v["dst_ports"], json!(5201));
    assert_eq!(v["src_ports"], json!("1000-2000"));
    let pb = installed("edge-b", &on("edge-b", &n));
    let r = pb
        .classifier
        .iter()
        .find(|r| r.name.as_deref() == Some(format!("{}r", nm("fc", FC)).as_str()))
        .unwrap();
    let v = serde_json::to_value(r).unwrap();
    assert_eq!(v["src_ports"], json!(5201));
    assert_eq!(v["dst_ports"], json!("1000-2000"));
}
