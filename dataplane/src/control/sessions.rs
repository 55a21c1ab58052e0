//! The control plane's sessions with the workers: a trace of the next packets, node by node, and
//! a capture into a pcap file in the capture folder (`[control] capture_dir`, through
//! [`ControlFiles`]), capped at `[control] capture_max_bytes`. One session at a time; workers
//! take part through the lock-free exchanges of [`crate::shared`].

use std::time::{Duration, Instant, SystemTime};

use serde_json::{json, Value};

use super::files::ControlFiles;
use crate::shared::{CapturePoint, Dataplane, CAPTURE_MAX};

fn wait_until(timeout: Duration, done: impl Fn() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
}

pub(super) fn trace(dp: &Dataplane, count: u32, timeout_ms: Option<u64>) -> Result<Value, String> {
    if count == 0 || count as usize > CAPTURE_MAX {
        return Err(format!("count: must be 1..={CAPTURE_MAX}"));
    }
    let _serial = dp
        .session_lock
        .lock()
        .map_err(|_| "control state poisoned")?;
    dp.arm_trace(count);
    wait_until(Duration::from_millis(timeout_ms.unwrap_or(2000)), || {
        dp.trace_remaining() == 0 && dp.trace.records.len() >= count as usize
    });
    dp.disarm_trace();
    // Records still being written by a worker that took the last packets.
    std::thread::sleep(Duration::from_millis(5));
    let mut records = Vec::new();
    while let Some(r) = dp.trace.records.pop() {
        records.push(json!({
            "worker": dp.workers.get(r.worker),
            "port": dp.ports.get(r.port).map(|p| p.name.clone()),
            "len": r.len,
            "nodes": r.steps.iter().map(|(n, d)| json!({ "node": n.name(), "detail": d })).collect::<Vec<_>>(),
            "verdict": r.verdict,
        }));
    }
    Ok(json!({ "requested": count, "traced": records.len(), "packets": records }))
}

/// Parses a capture point: `rx:PORT`, `tx:PORT` or `drop`.
pub fn parse_point(dp: &Dataplane, at: &str) -> Result<CapturePoint, String> {
    let port = |n: &str| {
        dp.port_index(n)
            .ok_or_else(|| format!("at: no port called '{n}'"))
    };
    match at.split_once(':') {
        Some(("rx", n)) => Ok(CapturePoint::Rx(port(n)?)),
        Some(("tx", n)) => Ok(CapturePoint::Tx(port(n)?)),
        None if at == "drop" => Ok(CapturePoint::Drop),
        _ => Err(format!("at: '{at}' is not rx:PORT, tx:PORT or drop")),
    }
}

/// Size of a pcap file header and of a packet record's header, in bytes.
const PCAP_HEADER: u64 = 24;
const PCAP_RECORD_HEADER: u64 = 16;

pub(super) fn capture(
    dp: &Dataplane,
    files: &ControlFiles,
    count: u32,
    at: &str,
    (name, overwrite): (&str, bool),
    timeout_ms: Option<u64>,
) -> Result<Value, String> {
    if count == 0 || count as usize > CAPTURE_MAX {
        return Err(format!("count: must be 1..={CAPTURE_MAX}"));
    }
    let point = parse_point(dp, at)?;
    let created = files
        .create_capture(name, overwrite)
        .map_err(|e| e.to_string())?;
    let (file, out) = (created.path, created.file);
    let _serial = dp
        .session_lock
        .lock()
        .map_err(|_| "control state poisoned")?;
    dp.arm_capture(point, count);
    wait_until(Duration::from_millis(timeout_ms.unwrap_or(2000)), || {
        dp.capture_remaining() == 0 && dp.capture.full.len() >= count as usize
    });
    dp.disarm_capture();
    std::thread::sleep(Duration::from_millis(5));
    let header = pcap_file::pcap::PcapHeader {
        snaplen: crate::shared::CAPTURE_SNAPLEN as u32,
        ..Default::default()
    };
    let mut w = pcap_file::pcap::PcapWriter::with_header(out, header)
        .map_err(|e| format!("file: {}: {e}", file.display()))?;
    let start = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .saturating_sub(dp.started.elapsed());
    let (mut n, mut bytes, mut capped) = (0, PCAP_HEADER, false);
    let mut failed = None;
    while let Some(c) = dp.capture.full.pop() {
        let record = PCAP_RECORD_HEADER + c.data.len() as u64;
        capped |= bytes + record > files.capture_max_bytes;
        if !capped && failed.is_none() {
            let pkt = pcap_file::pcap::PcapPacket::new(start + c.at, c.orig_len, &c.data);
            match w.write_packet(&pkt) {
                Ok(_) => (n, bytes) = (n + 1, bytes + record),
                Err(e) => failed = Some(format!("file: {}: {e}", file.display())),
            }
        }
        let _ = dp.capture.free.push(c.data);
    }
    if let Some(e) = failed {
        return Err(e);
    }
    Ok(json!({
        "file": file.display().to_string(), "at": at, "requested": count, "captured": n,
        "bytes": bytes, "max_bytes": files.capture_max_bytes, "stopped_at_max_bytes": capped,
    }))
}
