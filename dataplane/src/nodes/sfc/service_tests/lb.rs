//! The `lb` SF: destination NAT both ways, spread, stickiness, drain, down backends, source
//! hashing, fragments, no NAT.

use super::*;

/// An `lb` SF (VIP 10.9.0.1, port 80) on p1 between a forward path from the client (p0) and a
/// reverse path for the backends' replies (p1, from 10.2.0.0/24).
const LB: &str = r#"
[[sfs]]
name = "lb"
kind = "lb"
port = "p1"
[sfs.lb]
vip = "10.9.0.1"
vip_ports = 80
SETTINGS
backends = [
BACKENDS
]
[[exits]]
name = "to-backends"
port = "p1"
[[exits]]
name = "to-client"
port = "p0"
dst_mac = "02:00:00:00:01:01"
[[paths]]
name = "in"
spi = 10
hops = [{ si = 255, sf = "lb" }, { si = 254, end = "to-backends" }]
[[paths]]
name = "back"
spi = 11
hops = [{ si = 255, sf = "lb" }, { si = 254, end = "to-client" }]
[[classifier]]
in_port = "p0"
dst = "10.9.0.1/32"
path = "in"
[[classifier]]
in_port = "p1"
src = "10.2.0.0/24"
path = "back"
"#;

/// Backend `n` (1-based): `b<n>`, 10.2.0.1<n>, MAC 02:00:00:00:0b:0<n>, and `extra` fields.
fn backend(n: u8, extra: &str) -> String {
    format!(
        "{{ name = \"b{n}\", address = \"10.2.0.{}\", mac = \"02:00:00:00:0b:{n:02x}\"{extra} }}",
        10 + n
    )
}

fn backend_addr(n: usize) -> [u8; 4] {
    [10, 2, 0, 10 + n as u8]
}

/// Three backends, `extra[k]` added to backend k + 1.
fn backends3(extra: [&str; 3]) -> Vec<String> {
    (0..3).map(|k| backend(k as u8 + 1, extra[k])).collect()
}

fn lb_tables(settings: &str, backends: &[String]) -> SfcTables {
    tables(
        &LB.replace("SETTINGS", settings)
            .replace("BACKENDS", &backends.join(",\n")),
    )
}

/// The backend (1-based) a frame toward the VIP went to, checked against its MAC and address.
fn lb_send(t: &SfcTables, st: &mut SfcState, from: End, flags: u8) -> usize {
    let o = send(t, st, &tcp(from, (VIP, 80), flags, b"data"), 0, 1);
    assert_eq!(o.dst_mac[..5], [2, 0, 0, 0, 0x0b]);
    let n = usize::from(o.dst_mac[5]);
    assert_eq!(
        o.dst.0,
        backend_addr(n),
        "address of the backend of its MAC"
    );
    assert_eq!(o.src, from);
    n
}

/// Without NAT the backends own the VIP: only the frame's destination MAC changes, the same flow
/// keeps its backend, and a reply from the VIP passes untouched.
#[test]
fn lb_without_nat_changes_only_the_mac() {
    let t = tables(
        &LB.replace("SETTINGS", "nat = false")
            .replace("BACKENDS", &backends3(["", "", ""]).join(",\n"))
            .replace("src = \"10.2.0.0/24\"", "src = \"10.9.0.1/32\""),
    );
    let mut st = t.new_state();
    let from = (CLIENT, 40001);
    let o = send(&t, &mut st, &tcp(from, (VIP, 80), SYN, b""), 0, 1);
    assert_eq!(o.dst_mac[..5], [2, 0, 0, 0, 0x0b]);
    assert_eq!(
        (o.src, o.dst),
        (from, (VIP, 80)),
        "addresses and ports kept"
    );
    for _ in 0..3 {
        let again = send(&t, &mut st, &tcp(from, (VIP, 80), ACK, b"x"), 0, 1);
        assert_eq!(again.dst_mac, o.dst_mac);
    }
    let r = send(&t, &mut st, &tcp((VIP, 80), from, SYN | ACK, b""), 1, 0);
    assert_eq!((r.src, r.dst), ((VIP, 80), from));
    assert_eq!(r.dst_mac, CLIENT_MAC);
}

#[test]
fn lb_dnat_forward_and_reverse_keep_checksums_valid() {
    let t = lb_tables("", &backends3(["", "", ""]));
    let mut st = t.new_state();
    let from = (CLIENT, 40000);
    let syn = tcp(from, (VIP, 80), SYN, b"");
    let o = send(&t, &mut st, &syn, 0, 1);
    let n = usize::from(o.dst_mac[5]);
    assert!((1..=3).contains(&n), "{o:?}");
    assert_eq!(o.dst_mac, [2, 0, 0, 0, 0x0b, n as u8]);
    assert_eq!(o.dst, (backend_addr(n), 80));
    assert_eq!(o.src, from);
    // The same flow again, with data: the same backend.
    for _ in 0..3 {
        let o2 = send(
            &t,
            &mut st,
            &tcp(from, (VIP, 80), ACK | PSH, b"GET / HTTP/1.0\r\n\r\n"),
            0,
            1,
        );
        assert_eq!(o2.dst, (backend_addr(n), 80));
        assert_eq!(o2.dst_mac, o.dst_mac);
    }
    // The backend's reply, on the reverse path: the VIP is its source again.
    for flags in [SYN | ACK, ACK | PSH, FIN | ACK] {
        let reply = tcp((backend_addr(n), 80), from, flags, b"HTTP/1.0 200 OK\r\n");
        let r = send(&t, &mut st, &reply, 1, 0);
        assert_eq!(r.src, (VIP, 80));
        assert_eq!(r.dst, from);
        assert_eq!(r.dst_mac, CLIENT_MAC);
    }
    // Traffic of the backends' link that is no reply of a backend passes untouched.
    let other = tcp(([10, 2, 0, 99], 80), from, ACK, b"x");
    let r = send(&t, &mut st, &other, 1, 0);
    assert_eq!(r.src, ([10, 2, 0, 99], 80));
}

#[test]
fn lb_backend_port_is_translated_both_ways() {
    let t = lb_tables(
        "",
        &backends3([", port = 8080", ", port = 8080", ", port = 8080"]),
    );
    let mut st = t.new_state();
    let from = (CLIENT, 40001);
    let o = send(&t, &mut st, &tcp(from, (VIP, 80), SYN, b""), 0, 1);
    let n = usize::from(o.dst_mac[5]);
    assert_eq!(o.dst, (backend_addr(n), 8080));
    let r = send(
        &t,
        &mut st,
        &tcp((backend_addr(n), 8080), from, SYN | ACK, b""),
        1,
        0,
    );
    assert_eq!(r.src, (VIP, 80));
    assert_eq!(r.dst, from);
    // A packet from the backend's address but another port is no reply: untouched.
    let r = send(
        &t,
        &mut st,
        &tcp((backend_addr(n), 80), from, ACK, b""),
        1,
        0,
    );
    assert_eq!(r.src, (backend_addr(n), 80));
}

#[test]
fn lb_udp_checksum_zero_stays_zero_and_a_checksum_stays_valid() {
    let t = lb_tables("", &backends3([", port = 8080", "", ""]));
    let mut st = t.new_state();
    for i in 0..64 {
        let from = client(i);
        // With a checksum.
        let f = udp(from, (VIP, 80), b"query");
        let o = send(&t, &mut st, &f, 0, 1);
        assert_ne!(o.l4_sum, 0);
        let n = usize::from(o.dst_mac[5]);
        let port = if n == 1 { 8080 } else { 80 };
        assert_eq!(o.dst, (backend_addr(n), port));
        let r = send(
            &t,
            &mut st,
            &udp((backend_addr(n), port), from, b"answer"),
            1,
            0,
        );
        assert_eq!(r.src, (VIP, 80));
        assert_ne!(r.l4_sum, 0);
        // Without (0): it stays 0, the IPv4 checksum is still right.
        let mut f0 = udp(from, (VIP, 80), b"query");
        f0[40..42].copy_from_slice(&[0, 0]);
        let o = send(&t, &mut st, &f0, 0, 1);
        assert_eq!(o.l4_sum, 0);
        assert_eq!(o.dst, (backend_addr(n), port), "same flow, same backend");
        let mut r0 = udp((backend_addr(n), port), from, b"answer");
        r0[40..42].copy_from_slice(&[0, 0]);
        let r = send(&t, &mut st, &r0, 1, 0);
        assert_eq!((r.src, r.l4_sum), ((VIP, 80), 0));
    }
}

/// How many of `flows` SYNs reach each backend (index 0 for b1).
fn spread(t: &SfcTables, flows: u32) -> [u32; 3] {
    let mut st = t.new_state();
    let mut n = [0; 3];
    for i in 0..flows {
        n[lb_send(t, &mut st, client(i), SYN) - 1] += 1;
    }
    n
}

#[test]
fn lb_spreads_flows_by_weight_and_keeps_them() {
    let n = spread(&lb_tables("", &backends3(["", "", ""])), 3000);
    for c in n {
        assert!((900..=1100).contains(&c), "equal weights: {n:?}");
    }
    let n = spread(
        &lb_tables(
            "",
            &backends3([", weight = 1", ", weight = 2", ", weight = 3"]),
        ),
        3000,
    );
    for (c, due) in n.iter().zip([500.0, 1000.0, 1500.0]) {
        assert!(
            (f64::from(*c) - due).abs() <= 0.15 * due,
            "weights 1, 2, 3: {n:?}"
        );
    }
    // Stickiness: every flow again, each to the backend it went to.
    let t = lb_tables("", &backends3(["", "", ""]));
    let mut st = t.new_state();
    let first: Vec<usize> = (0..500)
        .map(|i| lb_send(&t, &mut st, client(i), SYN))
        .collect();
    for (i, b) in first.iter().enumerate() {
        assert_eq!(lb_send(&t, &mut st, client(i as u32), ACK), *b, "flow {i}");
    }
}

#[test]
fn lb_drain_keeps_open_connections_and_places_no_new_flow() {
    let t1 = lb_tables("", &backends3(["", "", ""]));
    let mut st = t1.new_state();
    let first: Vec<usize> = (0..600)
        .map(|i| lb_send(&t1, &mut st, client(i), SYN))
        .collect();
    assert!(first.iter().filter(|b| **b == 2).count() > 100);
    let t2 = lb_tables("", &backends3(["", ", weight = 0", ""]));
    let mut st = t2.carry_state(st, &t1, 0);
    // Open connections (non-SYN segments) stay where they were, on b2 too.
    for (i, b) in first.iter().enumerate() {
        assert_eq!(lb_send(&t2, &mut st, client(i as u32), ACK), *b, "flow {i}");
    }
    // New flows never reach the drained backend, SYN or not.
    for i in 10_000..11_000 {
        let flags = if i % 2 == 0 { SYN } else { ACK };
        assert_ne!(lb_send(&t2, &mut st, client(i), flags), 2, "new flow {i}");
    }
    // A new SYN on an old 5-tuple of b2 is a new connection: placed elsewhere, and it sticks.
    for (i, b) in first.iter().enumerate() {
        let i = i as u32;
        let now = lb_send(&t2, &mut st, client(i), SYN);
        if *b == 2 {
            assert_ne!(now, 2, "flow {i}: SYN again on a drained backend's entry");
            assert_eq!(lb_send(&t2, &mut st, client(i), ACK), now);
        } else {
            assert_eq!(now, *b, "flow {i}: a SYN again on a live backend stays");
        }
    }
}

#[test]
fn lb_down_backend_moves_only_its_own_connections() {
    let t1 = lb_tables("", &backends3(["", "", ""]));
    let mut st = t1.new_state();
    let first: Vec<usize> = (0..600)
        .map(|i| lb_send(&t1, &mut st, client(i), SYN))
        .collect();
    let t2 = lb_tables("", &backends3(["", ", down = true", ""]));
    let mut st = t2.carry_state(st, &t1, 0);
    let mut moved = Vec::new();
    for (i, b) in first.iter().enumerate() {
        let now = lb_send(&t2, &mut st, client(i as u32), ACK);
        if *b == 2 {
            assert_ne!(now, 2, "flow {i} must leave the down backend");
            moved.push((i, now));
        } else {
            assert_eq!(now, *b, "flow {i} of a healthy backend must stay");
        }
    }
    assert!(moved.len() > 100);
    // Moved, they stay on their new backend.
    for (i, now) in moved {
        assert_eq!(lb_send(&t2, &mut st, client(i as u32), ACK | PSH), now);
    }
    // Back up: the remembered connections stay where they are now; new flows reach it again.
    let t3 = lb_tables("", &backends3(["", "", ""]));
    let mut st = t3.carry_state(st, &t2, 0);
    for i in 0..600 {
        assert_ne!(lb_send(&t3, &mut st, client(i), ACK), 2, "flow {i}");
    }
    assert!((20_000..20_300).any(|i| lb_send(&t3, &mut st, client(i), SYN) == 2));
}

#[test]
fn lb_without_a_backend_drops_new_flows() {
    let t = lb_tables(
        "",
        &backends3([", weight = 0", ", weight = 0", ", weight = 0"]),
    );
    let mut st = t.new_state();
    for flags in [SYN, ACK] {
        let (v, _) = run(&t, &mut st, &tcp(client(1), (VIP, 80), flags, b""), 0);
        assert_eq!(v, Verdict::Drop(DropReason::LbNoBackend));
    }
    let (v, _) = run(&t, &mut st, &udp(client(2), (VIP, 80), b""), 0);
    assert_eq!(v, Verdict::Drop(DropReason::LbNoBackend));
}

#[test]
fn lb_source_hash_keeps_a_client_on_one_backend() {
    let t = lb_tables("hash = \"source\"", &backends3(["", "", ""]));
    let mut st = t.new_state();
    let mut seen = [false; 3];
    for c in 0..60u8 {
        let addr = [10, 1, 7, c];
        let b = lb_send(&t, &mut st, (addr, 30_000), SYN);
        for port in 30_001..30_040 {
            assert_eq!(lb_send(&t, &mut st, (addr, port), SYN), b, "client {c}");
        }
        seen[b - 1] = true;
    }
    assert_eq!(seen, [true; 3], "clients spread over every backend");
}

/// A non-first fragment toward the VIP, on every port or on one: its ports are unknown, it is
/// dropped.
#[test]
fn lb_drops_non_first_fragments() {
    for ports in ["", "vip_ports = 80\n"] {
        let t = tables(
            &LB.replace("vip_ports = 80\n", ports)
                .replace("SETTINGS", "")
                .replace("BACKENDS", &backends3(["", "", ""]).join(",\n")),
        );
        let mut st = t.new_state();
        let mut f = tcp(client(1), (VIP, 80), ACK, &[0u8; 40]);
        // Fragment offset 8 (64 bytes), header checksum fixed up.
        f[20..22].copy_from_slice(&[0x00, 0x08]);
        f[24..26].copy_from_slice(&[0, 0]);
        let c = crate::wire::checksum::internet_checksum(&f[14..34]);
        f[24..26].copy_from_slice(&c.to_be_bytes());
        let (v, _) = run(&t, &mut st, &f, 0);
        assert_eq!(v, Verdict::Drop(DropReason::LbFragment), "{ports:?}");
    }
}
