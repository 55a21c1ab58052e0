//! qdp as a systemd service: the notification protocol `qdp run` speaks (`READY=1` once every
//! worker polls, `WATCHDOG=1` while every worker makes progress, `STOPPING=1`), and the progress
//! rule behind the watchdog.
//!
//! Files: `notify` (the messages, driven by the main loop), `progress` (the stall rule, a
//! function of successive poll counters).

mod notify;
mod progress;

pub use notify::ServiceNotifier;
pub use progress::{Progress, WorkerProgress};
