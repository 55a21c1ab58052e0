//! SF groups' Maglev placement.

use std::collections::{BTreeMap, BTreeSet};

use super::*;

const GROUP3: &str = r#"
[[neighbors]]
name = "n1"
port = "p1"
mac = "02:00:00:00:0e:01"
[[neighbors]]
name = "n2"
port = "p1"
mac = "02:00:00:00:0e:02"
[[neighbors]]
name = "n3"
port = "p1"
mac = "02:00:00:00:0e:03"
[[sfs]]
name = "i1"
kind = "remote"
neighbor = "n1"
[[sfs]]
name = "i2"
kind = "remote"
neighbor = "n2"
DOWN
[[sfs]]
name = "i3"
kind = "remote"
neighbor = "n3"
[[sfs]]
name = "g"
kind = "group"
members = ["i1", "i2", "i3"]
[[exits]]
name = "server"
port = "p2"
[[exits]]
name = "client"
port = "p0"
[[paths]]
name = "fwd"
spi = 1
reverse = "back"
hops = [{ si = 255, sf = "g" }, { si = 254, end = "server" }]
[[paths]]
name = "back"
spi = 2
hops = [{ si = 255, sf = "g" }, { si = 254, end = "client" }]
[[classifier]]
in_port = "p0"
src = "10.1.0.0/16"
path = "fwd"
"#;

/// The instance (1-based, from its neighbour's MAC) a frame is sent to.
fn instance(t: &SfcTables, st: &mut SfcState, f: &[u8], in_port: usize) -> u8 {
    let (v, d) = run(t, st, f, in_port);
    assert_eq!(v, Verdict::Tx(1));
    assert_eq!(d[..5], [2, 0, 0, 0, 0x0e]);
    d[5]
}

#[test]
fn groups_place_by_maglev_both_directions_alike() {
    let t = tables(&GROUP3.replace("DOWN", ""));
    let mut st = t.new_state();
    let flows = 3000u32;
    let server = |i: u32| ([10, 2, 0, 1], 80 + (i % 7) as u16);
    let mut first = Vec::new();
    for i in 0..flows {
        let fwd = instance(&t, &mut st, &tcp(client(i), server(i), SYN, b""), 0);
        let back = instance(&t, &mut st, &tcp(server(i), client(i), SYN | ACK, b""), 2);
        assert_eq!(fwd, back, "flow {i}: both directions on one instance");
        first.push(fwd);
    }
    for k in 1..=3 {
        let n = first.iter().filter(|m| **m == k).count();
        assert!((900..=1100).contains(&n), "instance {k}: {n} of {flows}");
    }
    let t2 = tables(&GROUP3.replace("DOWN", "down = true"));
    let mut st = t2.carry_state(st, &t, 0);
    let mut others_moved = 0;
    for (i, before) in first.iter().enumerate() {
        let i = i as u32;
        let now = instance(&t2, &mut st, &tcp(client(i), server(i), ACK, b""), 0);
        let back = instance(&t2, &mut st, &tcp(server(i), client(i), ACK, b""), 2);
        assert_eq!(now, back, "flow {i}: both directions on one instance");
        assert_ne!(now, 2, "flow {i} must leave the down instance");
        if *before != 2 && now != *before {
            others_moved += 1;
        }
    }
    let entries = |t: &SfcTables| match &t.sfs[sf_index(t, "g")].imp {
        SfImpl::Group {
            members, maglev, ..
        } => maglev
            .entries()
            .iter()
            .map(|&e| t.sfs[members[usize::from(e)]].name.clone())
            .collect::<Vec<_>>(),
        _ => unreachable!(),
    };
    let (e1, e2) = (entries(&t), entries(&t2));
    let table_moved = e1
        .iter()
        .zip(&e2)
        .filter(|(a, b)| a.as_str() != "i2" && a != b)
        .count();
    // Beyond the removed instance's own flows, Maglev moves a few of the others' (its
    // disruption is minimal, not zero; a group has no connection table, so what its table
    // moves, moves): measured here 11 of 307 entries and 94 of 3000 flows.
    assert!(
        table_moved * 100 <= e1.len() * 5,
        "{table_moved} of {} entries of the healthy instances moved",
        e1.len()
    );
    assert!(
        others_moved * 100 <= flows as usize * 5,
        "{others_moved} flows of the healthy instances moved"
    );
}

#[test]
fn groups_by_lb_fields_pick_by_those_fields_both_directions_alike() {
    let file = GROUP3.replace("DOWN", "").replace(
        "members = [\"i1\", \"i2\", \"i3\"]",
        "members = [\"i1\", \"i2\", \"i3\"]\nlb_fields = [\"ip_src\"]",
    );
    let t = tables(&file);
    let mut st = t.new_state();
    let server = |i: u32| ([10, 2, 0, 1], 80 + (i % 7) as u16);
    let mut by_client: BTreeMap<u8, BTreeSet<u8>> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    for i in 0..600u32 {
        // 60 client addresses, each with ten source ports.
        let c = (
            [10, 1, (i / 10 / 250) as u8, (i / 10 % 250) as u8 + 1],
            1000 + (i % 10) as u16,
        );
        let fwd = instance(&t, &mut st, &tcp(c, server(i), SYN, b""), 0);
        let back = instance(&t, &mut st, &tcp(server(i), c, SYN | ACK, b""), 2);
        assert_eq!(fwd, back, "flow {i}: both directions on one instance");
        by_client.entry(c.0[3]).or_default().insert(fwd);
        seen.insert(fwd);
    }
    // By the client's address only: every connection of one client on one instance.
    assert!(by_client.values().all(|s| s.len() == 1), "{by_client:?}");
    assert_eq!(seen.len(), 3, "the clients spread over every instance");
}
