//! The service manager's notification protocol (`sd_notify(3)`, through the `sd-notify` crate):
//! `READY=1` once every worker polls, `WATCHDOG=1` every quarter of `WATCHDOG_USEC` while every
//! worker still makes progress ([`WorkerProgress`]), `STOPPING=1` at shutdown, and `STATUS=`
//! lines for `systemctl status`.
//!
//! Without `NOTIFY_SOCKET` in the environment (not started by systemd) it does nothing. Limits:
//! keepalives come from the main loop, so they are as punctual as its 20 ms rounds; a main loop
//! that hangs withholds them too, as it should.

use std::time::{Duration, Instant};

use sd_notify::NotifyState;

use super::progress::{Progress, WorkerProgress};

/// Without a watchdog, a worker standing still this long is reported in the status line.
const STALL_REPORT: Duration = Duration::from_secs(10);

/// What `qdp run` tells the service manager, driven by the main loop.
#[derive(Debug)]
pub struct ServiceNotifier {
    /// `NOTIFY_SOCKET` is set.
    active: bool,
    /// `WATCHDOG_USEC`, when the watchdog is on for this process.
    watchdog: Option<Duration>,
    progress: WorkerProgress,
    workers: Vec<String>,
    pipeline: String,
    ready: bool,
    next_keepalive: Instant,
    /// The worker whose stall withholds the keepalive now.
    stalled: Option<usize>,
    /// A send failed and was reported (reported once).
    send_failed: bool,
}

impl ServiceNotifier {
    /// Reads `NOTIFY_SOCKET`, `WATCHDOG_USEC` and `WATCHDOG_PID`; `workers` are the names of the
    /// workers, just launched at `now`.
    pub fn from_env(pipeline: &str, workers: Vec<String>, now: Instant) -> ServiceNotifier {
        let active = std::env::var_os("NOTIFY_SOCKET").is_some();
        let watchdog = sd_notify::watchdog_enabled().filter(|d| !d.is_zero());
        ServiceNotifier {
            active,
            watchdog,
            progress: WorkerProgress::new(workers.len(), now, watchdog.unwrap_or(STALL_REPORT)),
            workers,
            pipeline: pipeline.to_string(),
            ready: false,
            next_keepalive: now,
            stalled: None,
            send_failed: false,
        }
    }

    /// Whether the watchdog asks for keepalives, and how often they are sent.
    pub fn keepalive_interval(&self) -> Option<Duration> {
        self.watchdog.map(|w| w / 4)
    }

    /// One round of the main loop: `polls` are the workers' poll counters read at `now`. Sends
    /// `READY=1` the first time every worker has polled, and `WATCHDOG=1` when one is due and no
    /// worker is stalled. Reads nothing when not run by systemd.
    pub fn tick(&mut self, now: Instant, polls: impl IntoIterator<Item = u64>) {
        if !self.active {
            return;
        }
        let progress = self.progress.observe(now, polls);
        match progress {
            Progress::Running if !self.ready => {
                self.ready = true;
                let status = format!(
                    "pipeline '{}' running: {} worker(s)",
                    self.pipeline,
                    self.workers.len()
                );
                self.send(&[NotifyState::Ready, NotifyState::Status(&status)]);
            }
            Progress::Running if self.stalled.take().is_some() => {
                eprintln!("qdp: every worker makes progress again; watchdog keepalives resume");
                self.send(&[NotifyState::Status("running")]);
            }
            Progress::Stalled { worker, since } if self.stalled != Some(worker) => {
                self.stalled = Some(worker);
                let name = self.workers.get(worker).map_or("?", String::as_str);
                let text = format!(
                    "worker '{name}' made no progress for {:.1} s{}",
                    since.as_secs_f64(),
                    if self.watchdog.is_some() {
                        ": withholding the watchdog keepalive"
                    } else {
                        ""
                    }
                );
                eprintln!("qdp: {text}");
                self.send(&[NotifyState::Status(&text)]);
            }
            _ => {}
        }
        let Some(interval) = self.keepalive_interval() else {
            return;
        };
        if now >= self.next_keepalive {
            self.next_keepalive = now + interval;
            if !matches!(progress, Progress::Stalled { .. }) {
                self.send(&[NotifyState::Watchdog]);
            }
        }
    }

    /// Shutdown has begun: `STOPPING=1`.
    pub fn stopping(&mut self) {
        if self.active {
            self.send(&[NotifyState::Stopping, NotifyState::Status("stopping")]);
        }
    }

    fn send(&mut self, states: &[NotifyState]) {
        if let Err(e) = sd_notify::notify(states) {
            if !self.send_failed {
                self.send_failed = true;
                eprintln!("qdp: notifying the service manager (NOTIFY_SOCKET): {e}");
            }
        }
    }
}
