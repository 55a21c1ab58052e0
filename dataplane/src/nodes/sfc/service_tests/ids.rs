//! The `ids` SF: inline and tap, malformed TCP, flow direction.

use super::*;

const IDS_RULES: &str = r#"# test rules
drop tcp any any -> any any (msg:"passwd"; content:"/etc/passwd"; nocase; sid:1001; rev:1;)
alert tcp any any -> any any (msg:"hello"; content:"HELLO-ALERT"; sid:1002;)

alert tcp any any -> any any (msg:"to server"; flow:to_server; content:"DIR-PROBE"; sid:2001;)
alert tcp any any -> any any (msg:"to client"; flow:to_client; content:"DIR-PROBE"; sid:2002;)
"#;

const IDS: &str = r#"
[[sfs]]
name = "ids"
kind = "ids"
[sfs.ids]
rules_file = "RULES"
eve_log = "EVE"
MODE
"#;

/// The tables of an `ids` SF with [`IDS_RULES`] and `mode`, and their temporary folder.
fn ids_tables(mode: &str) -> (SfcTables, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("test.rules");
    std::fs::write(&rules, IDS_RULES).unwrap();
    let body = IDS
        .replace("RULES", rules.to_str().unwrap())
        .replace("EVE", dir.path().join("eve.json").to_str().unwrap())
        .replace("MODE", mode)
        + &symmetric_chain("ids", 40, None);
    (tables(&body), dir)
}

/// The alerts the `ids` SF queued, oldest first.
fn alerts(t: &SfcTables) -> Vec<AlertRecord> {
    let SfImpl::Ids(ids) = &t.sfs[sf_index(t, "ids")].imp else {
        panic!("not an ids SF");
    };
    std::iter::from_fn(|| ids.alerts.queue.pop()).collect()
}

#[test]
fn ids_inline_drops_on_a_drop_rule_and_alerts() {
    let (t, _dir) = ids_tables("");
    let mut st = t.new_state();
    let (c, s) = ((CLIENT, 40000), (SERVER, 80));
    let bad = tcp(
        c,
        s,
        ACK | PSH,
        b"GET /cgi-bin/../../ETC/PASSWD HTTP/1.0\r\n",
    );
    let (v, _) = run(&t, &mut st, &bad, 0);
    assert_eq!(v, Verdict::Drop(DropReason::IdsDrop));
    let a = alerts(&t);
    assert_eq!(a.len(), 1, "{a:?}");
    assert_eq!((a[0].sid, a[0].blocked, a[0].spi), (1001, true, 40));
    assert_eq!(a[0].flow.src_port, 40000);
    assert_eq!(a[0].flow.dst_port, 80);
    // A clean packet passes, with no alert.
    send(&t, &mut st, &tcp(c, s, ACK | PSH, b"GET /index.html"), 0, 1);
    assert!(alerts(&t).is_empty());
    // An alert rule: the packet passes, the alert is not blocked.
    send(
        &t,
        &mut st,
        &tcp(c, s, ACK | PSH, b"xx HELLO-ALERT xx"),
        0,
        1,
    );
    let a = alerts(&t);
    assert_eq!(a.len(), 1, "{a:?}");
    assert_eq!((a[0].sid, a[0].blocked), (1002, false));
    // Case matters without nocase.
    send(
        &t,
        &mut st,
        &tcp(c, s, ACK | PSH, b"xx hello-alert xx"),
        0,
        1,
    );
    assert!(alerts(&t).is_empty());
}

#[test]
fn ids_tap_mode_alerts_without_dropping() {
    let (t, _dir) = ids_tables("mode = \"tap\"");
    let mut st = t.new_state();
    let bad = tcp((CLIENT, 40000), (SERVER, 80), ACK | PSH, b"cat /Etc/Passwd");
    send(&t, &mut st, &bad, 0, 1);
    let a = alerts(&t);
    assert_eq!(a.len(), 1, "{a:?}");
    assert_eq!((a[0].sid, a[0].blocked), (1001, false));
}

/// Sets the IPv4 total length of a frame and fixes its header checksum.
fn set_ip_len(f: &mut [u8], len: u16) {
    f[16..18].copy_from_slice(&len.to_be_bytes());
    f[24..26].copy_from_slice(&[0, 0]);
    let c = crate::wire::checksum::internet_checksum(&f[14..34]);
    f[24..26].copy_from_slice(&c.to_be_bytes());
}

#[test]
fn ids_drops_truncated_tcp_headers_as_malformed() {
    let (t, _dir) = ids_tables("");
    let mut st = t.new_state();
    let malformed = Verdict::Drop(DropReason::IdsMalformed);
    let good = tcp(
        (CLIENT, 40000),
        (SERVER, 80),
        ACK | PSH,
        b"0123456789/etc/passwd",
    );
    // The IP packet ends inside the TCP header (the frame still holds the rest).
    for len in [24u16, 32, 39] {
        let mut f = good.clone();
        set_ip_len(&mut f, len);
        assert_eq!(run(&t, &mut st, &f, 0).0, malformed, "total length {len}");
    }
    // A data offset past the end of the packet, or below 5 words.
    for off in [0u8, 1, 4, 11, 15] {
        let mut f = good.clone();
        f[46] = (off << 4) | (f[46] & 0x0f);
        assert_eq!(run(&t, &mut st, &f, 0).0, malformed, "data offset {off}");
    }
    // Every data offset and total length: never a panic, and nothing read past the packet.
    for off in 0..16u8 {
        for len in 20..=(good.len() as u16 - 14) {
            let mut f = good.clone();
            f[46] = (off << 4) | (f[46] & 0x0f);
            set_ip_len(&mut f, len);
            let (v, _) = run(&t, &mut st, &f, 0);
            let fits = off >= 5 && 20 + u16::from(off) * 4 <= len;
            if len >= 24 && fits {
                // Whatever payload is left inside the packet is inspected.
                let payload_end = usize::from(len) + 14;
                let payload_start = 34 + usize::from(off) * 4;
                let has = good[payload_start.min(payload_end)..payload_end]
                    .windows(11)
                    .any(|w| w == b"/etc/passwd");
                let want = if has {
                    Verdict::Drop(DropReason::IdsDrop)
                } else {
                    Verdict::Tx(1)
                };
                assert_eq!(v, want, "offset {off} length {len}");
            } else if len >= 24 {
                assert_eq!(v, malformed, "offset {off} length {len}");
            } else {
                assert!(matches!(v, Verdict::Drop(_)), "offset {off} length {len}");
            }
        }
    }
    let _ = alerts(&t);
    // A well-formed packet after all that is still inspected normally.
    send(
        &t,
        &mut st,
        &tcp((CLIENT, 1), (SERVER, 80), ACK, b"fine"),
        0,
        1,
    );
}

#[test]
fn ids_flow_direction_follows_the_path() {
    let (t, _dir) = ids_tables("");
    let mut st = t.new_state();
    let (c, s) = ((CLIENT, 40000), (SERVER, 80));
    send(&t, &mut st, &tcp(c, s, ACK | PSH, b"DIR-PROBE"), 0, 1);
    let a = alerts(&t);
    assert_eq!(a.iter().map(|x| x.sid).collect::<Vec<_>>(), [2001]);
    assert_eq!(a[0].spi, 40);
    // The reply, on the reverse path.
    send(&t, &mut st, &tcp(s, c, ACK | PSH, b"DIR-PROBE"), 1, 0);
    let a = alerts(&t);
    assert_eq!(a.iter().map(|x| x.sid).collect::<Vec<_>>(), [2002]);
    assert_eq!(a[0].spi, 41);
}
