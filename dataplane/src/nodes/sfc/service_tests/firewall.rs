//! The stateful firewall.

use super::*;

const FIREWALL: &str = r#"
[[sfs]]
name = "fw"
kind = "firewall"
stateful = true
default = "deny"
rules = [
  { priority = 10, src = "10.1.0.0/24", dst = "10.2.0.0/24", protocol = "tcp", dst_ports = 80, action = "allow" },
  { priority = 20, src = "10.1.0.0/24", dst = "10.2.0.0/24", protocol = "udp", dst_ports = 53, action = "allow" },
]
"#;

#[test]
fn stateful_firewall_lets_replies_of_opened_connections_through_only() {
    let t = tables(&(FIREWALL.to_string() + &symmetric_chain("fw", 20, Some("10.2.0.0/24"))));
    let mut st = t.new_state();
    let deny = Verdict::Drop(DropReason::FirewallDeny);
    let c = (CLIENT, 40000);
    let s = (SERVER, 80);
    // The client opens; the server's replies come back on the reverse path.
    send(&t, &mut st, &tcp(c, s, SYN, b""), 0, 1);
    let r = send(&t, &mut st, &tcp(s, c, SYN | ACK, b""), 1, 0);
    assert_eq!((r.src, r.dst, r.dst_mac), (s, c, CLIENT_MAC));
    send(&t, &mut st, &tcp(c, s, ACK, b"GET /"), 0, 1);
    send(&t, &mut st, &tcp(s, c, ACK | PSH, b"200 OK"), 1, 0);
    // Unsolicited from the server side: a flow never opened.
    let stranger = (CLIENT, 40099);
    for flags in [SYN, SYN | ACK, ACK] {
        let (v, _) = run(&t, &mut st, &tcp(s, stranger, flags, b""), 1);
        assert_eq!(v, deny, "flags {flags:#x}");
    }
    // The rules deny other ports from the client too.
    let (v, _) = run(&t, &mut st, &tcp(c, (SERVER, 22), SYN, b""), 0);
    assert_eq!(v, deny);
    // A stray segment the rules allow passes, but opens nothing: its reply is denied.
    let stray = ([10, 1, 0, 3], 40002);
    send(&t, &mut st, &tcp(stray, s, ACK, b"late"), 0, 1);
    let (v, _) = run(&t, &mut st, &tcp(s, stray, ACK, b""), 1);
    assert_eq!(v, deny);
    // Its SYN would have opened it.
    send(&t, &mut st, &tcp(stray, s, SYN, b""), 0, 1);
    send(&t, &mut st, &tcp(s, stray, SYN | ACK, b""), 1, 0);
    // UDP the rules allow opens a connection for its reply.
    let q = (CLIENT, 5353);
    let dns = (SERVER, 53);
    let (v, _) = run(&t, &mut st, &udp(dns, q, b"answer"), 1);
    assert_eq!(v, deny, "no reply before the query");
    send(&t, &mut st, &udp(q, dns, b"query"), 0, 1);
    send(&t, &mut st, &udp(dns, q, b"answer"), 1, 0);
    let (v, _) = run(&t, &mut st, &udp(dns, (CLIENT, 5354), b"answer"), 1);
    assert_eq!(v, deny, "another client port: no connection");
}
