//! Alerts as Suricata EVE JSON lines, so the tools that read Suricata's `eve.json` (SIEM
//! shippers, `jq` recipes, dashboards) read the `ids` service function's alerts unchanged.
//!
//! The caller fills an [`AlertEvent`] from the packet and the matched rule and writes
//! [`eve_line`]'s output off the fast path (formatting allocates). Fields follow Suricata's
//! `alert` event: `timestamp` in UTC with microseconds, `proto` named as Suricata names it,
//! `in_iface` the SF's name, `alert.action` `blocked` or `allowed`, `alert.severity` the rule's
//! priority (3 when it has none); an `nsh` object carries the service path and index the packet
//! was on.

use std::net::IpAddr;
use std::time::SystemTime;

use serde_json::json;
use time::OffsetDateTime;

/// The severity reported when the rule gives no `priority` (Suricata's default).
pub const DEFAULT_SEVERITY: u8 = 3;

/// One alert, as reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertEvent {
    /// When the packet was seen.
    pub time: SystemTime,
    /// The SF's name (EVE's `in_iface`).
    pub sf: String,
    /// Source address.
    pub src: IpAddr,
    /// Source port (0 when not TCP/UDP).
    pub src_port: u16,
    /// Destination address.
    pub dst: IpAddr,
    /// Destination port (0 when not TCP/UDP).
    pub dst_port: u16,
    /// IP protocol number.
    pub protocol: u8,
    /// The rule's `sid`.
    pub sid: u32,
    /// The rule's `rev`.
    pub rev: u32,
    /// The rule's `gid`.
    pub gid: u32,
    /// The rule's `msg`.
    pub signature: String,
    /// The rule's `classtype`.
    pub category: Option<String>,
    /// The rule's `priority`; [`DEFAULT_SEVERITY`] is reported when `None`.
    pub severity: Option<u8>,
    /// True if the packet was dropped.
    pub blocked: bool,
    /// NSH Service Path Identifier.
    pub spi: u32,
    /// NSH Service Index.
    pub si: u8,
}

/// The protocol's name in EVE's `proto`: `TCP`, `UDP`, `ICMP`, `IPV6-ICMP`, else the number.
pub fn proto_name(protocol: u8) -> String {
    match protocol {
        6 => "TCP".to_string(),
        17 => "UDP".to_string(),
        1 => "ICMP".to_string(),
        58 => "IPV6-ICMP".to_string(),
        other => other.to_string(),
    }
}

/// `2026-12-03T11:40:00.123456+0000`, in UTC.
pub fn eve_timestamp(time: SystemTime) -> String {
    let t = OffsetDateTime::from(time);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}+0000",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.microsecond()
    )
}

/// The event as one EVE JSON object, without a trailing newline.
pub fn eve_line(e: &AlertEvent) -> String {
    json!({
        "timestamp": eve_timestamp(e.time),
        "event_type": "alert",
        "src_ip": e.src.to_string(),
        "src_port": e.src_port,
        "dest_ip": e.dst.to_string(),
        "dest_port": e.dst_port,
        "proto": proto_name(e.protocol),
        "in_iface": e.sf,
        "alert": {
            "action": if e.blocked { "blocked" } else { "allowed" },
            "gid": e.gid,
            "signature_id": e.sid,
            "rev": e.rev,
            "signature": e.signature,
            "category": e.category.as_deref().unwrap_or(""),
            "severity": e.severity.unwrap_or(DEFAULT_SEVERITY),
        },
        "nsh": { "spi": e.spi, "si": e.si },
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn event() -> AlertEvent {
        AlertEvent {
            // 2026-12-03T11:40:00.123456Z
            time: SystemTime::UNIX_EPOCH + Duration::from_micros(1_796_298_000_123_456),
            sf: "ids0".to_string(),
            src: "10.1.0.1".parse().unwrap(),
            src_port: 40000,
            dst: "10.2.100.1".parse().unwrap(),
            dst_port: 80,
            protocol: 6,
            sid: 1_000_001,
            rev: 2,
            gid: 1,
            signature: "ET WEB \"quoted\" /etc/passwd".to_string(),
            category: Some("attempted-recon".to_string()),
            severity: None,
            blocked: true,
            spi: 10,
            si: 254,
        }
    }

    #[test]
    fn line_parses_back_with_suricata_fields() {
        let line = eve_line(&event());
        assert!(!line.ends_with('\n'));
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["timestamp"], "2026-12-03T11:40:00.123456+0000");
        assert_eq!(v["event_type"], "alert");
        assert_eq!(v["src_ip"], "10.1.0.1");
        assert_eq!(v["src_port"], 40000);
        assert_eq!(v["dest_ip"], "10.2.100.1");
        assert_eq!(v["dest_port"], 80);
        assert_eq!(v["proto"], "TCP");
        assert_eq!(v["in_iface"], "ids0");
        assert_eq!(v["alert"]["action"], "blocked");
        assert_eq!(v["alert"]["gid"], 1);
        assert_eq!(v["alert"]["signature_id"], 1_000_001);
        assert_eq!(v["alert"]["rev"], 2);
        assert_eq!(v["alert"]["signature"], "ET WEB \"quoted\" /etc/passwd");
        assert_eq!(v["alert"]["category"], "attempted-recon");
        assert_eq!(v["alert"]["severity"], 3);
        assert_eq!(v["nsh"]["spi"], 10);
        assert_eq!(v["nsh"]["si"], 254);
        // Key order as Suricata writes it.
        assert!(line.starts_with("{\"timestamp\":"));
    }

    #[test]
    fn allowed_ipv6_and_other_protocols() {
        let mut e = event();
        e.blocked = false;
        e.src = "2001:db8::1".parse().unwrap();
        e.dst = "2001:db8::2".parse().unwrap();
        e.protocol = 58;
        e.category = None;
        e.severity = Some(1);
        let v: serde_json::Value = serde_json::from_str(&eve_line(&e)).unwrap();
        assert_eq!(v["alert"]["action"], "allowed");
        assert_eq!(v["src_ip"], "2001:db8::1");
        assert_eq!(v["proto"], "IPV6-ICMP");
        assert_eq!(v["alert"]["category"], "");
        assert_eq!(v["alert"]["severity"], 1);
        assert_eq!(proto_name(17), "UDP");
        assert_eq!(proto_name(1), "ICMP");
        assert_eq!(proto_name(47), "47");
    }

    #[test]
    fn timestamp_pads_fields() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_micros(5);
        assert_eq!(eve_timestamp(t), "1970-01-01T00:00:00.000005+0000");
    }
}
