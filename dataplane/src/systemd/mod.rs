//! qdp as a systemd service: the notification protocol `qdp run` speaks (`READY=1` once every
//! worker polls, `WATCHDOG=1` while every worker makes progress, `STOPPING=1`), the progress
//! rule behind the watchdog, and the unit file with its installation.
//!
//! Files: `notify` (the messages, driven by the main loop), `progress` (the stall rule, a
//! function of successive poll counters), `unit` (rendering the unit from a pipeline, installing
//! under a root directory).

mod notify;
mod progress;
mod unit;

pub use notify::ServiceNotifier;
pub use progress::{Progress, WorkerProgress};
pub use unit::{
    check_options, install_notes, render_unit, systemctl_commands, FileChange, Install,
    InstallError, UnitOptions, PIPELINE_PATH, SERVICE_SOCKET, UNIT_PATH,
};
