//! The compiled `ids` SF: its signature engine ([`super::ids`]), inline or tap, and the queue its
//! alerts take off the fast path. A worker that sees a rule match pushes a small
//! [`AlertRecord`] (no allocation) onto the SF's bounded lock-free queue; the main thread drains
//! it and writes each alert as an EVE JSON line to the SF's `eve_log`. A full queue loses the
//! alert (counted in [`AlertQueue::lost`]), never the packet's time. The queue lives as long as
//! the SF keeps its name, across table swaps, so no alert is lost to a change.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::SystemTime;

use crossbeam::queue::ArrayQueue;

use super::ids::IdsEngine;
use crate::wire::FlowKey;

/// Alerts a queue holds before it loses them.
pub const ALERT_QUEUE: usize = 16384;

/// One alert, as a worker records it.
#[derive(Debug, Clone, Copy)]
pub struct AlertRecord {
    pub time: SystemTime,
    /// The inner packet's flow.
    pub flow: FlowKey,
    /// The rule's index in the engine and its sid (the index is checked against the sid when
    /// the alert is written: the engine may have been replaced meanwhile).
    pub rule: u32,
    pub sid: u32,
    /// The packet was dropped.
    pub blocked: bool,
    pub spi: u32,
    pub si: u8,
}

/// An SF's alerts on their way to the main thread.
#[derive(Debug)]
pub struct AlertQueue {
    pub queue: ArrayQueue<AlertRecord>,
    /// Alerts lost to a full queue.
    pub lost: AtomicU64,
    /// Alerts written.
    pub written: AtomicU64,
    /// Rules that reached the inspection step limit on a packet (and counted as not matching).
    pub limited: AtomicU64,
}

impl AlertQueue {
    pub fn new() -> Arc<AlertQueue> {
        Arc::new(AlertQueue {
            queue: ArrayQueue::new(ALERT_QUEUE),
            lost: AtomicU64::new(0),
            written: AtomicU64::new(0),
            limited: AtomicU64::new(0),
        })
    }

    /// Queues an alert, or counts it lost.
    #[inline]
    pub fn push(&self, a: AlertRecord) {
        if self.queue.push(a).is_err() {
            self.lost.fetch_add(1, Relaxed);
        }
    }
}

/// What an `ids` SF's engine was built from: the same again reuses the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdsSource {
    pub rules_file: PathBuf,
    pub text: String,
    pub vars: std::collections::BTreeMap<String, String>,
}

/// An `ids` SF, compiled.
#[derive(Debug)]
pub struct IdsSf {
    pub engine: Arc<IdsEngine>,
    pub source: IdsSource,
    /// Drop rules drop (else they only alert).
    pub inline: bool,
    pub alerts: Arc<AlertQueue>,
    pub eve_log: PathBuf,
    /// The rules skipped as unsupported, each with its line and sid.
    pub skipped: Vec<String>,
    /// The direction of each path of a symmetric chain, by SPI: `true` for a forward path
    /// (toward the server: `flow:to_server`), `false` for the reverse path named by one. On other
    /// paths the direction is unknown and `flow:to_server|to_client` rules do not match.
    pub directions: Vec<(u32, bool)>,
}
