//! Where `qdp run`'s log goes: `tracing` events (start-up notes, warnings, the slow path, ARP,
//! every change of the configuration) as text or JSON lines on stderr, or to the systemd journal.
//!
//! Levels come from `--log-level` (directives as in `RUST_LOG`: `debug`, `qdp=debug,warn`), else
//! `RUST_LOG`, else `info`. The journal is the default when stderr is the journal stream systemd
//! gave the service (`JOURNAL_STREAM` names stderr's device and inode); elsewhere, text. The
//! stats line and the exit summary are the program's output, not log events: they stay on
//! stdout. Limits: the journal needs its socket (`/run/systemd/journal/socket`); without it qdp
//! logs text to stderr and says so.

use std::io::IsTerminal;
use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

/// How log events are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One line per event on stderr: time, level, message, fields.
    Text,
    /// One JSON object per line on stderr: `timestamp`, `level`, `message`, the fields, `target`.
    Json,
    /// To the systemd journal, with the level as the priority.
    Journald,
}

impl std::str::FromStr for LogFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<LogFormat, String> {
        match s {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            "journald" => Ok(LogFormat::Journald),
            _ => Err(format!(
                "'{s}' is not a log format (text, json or journald)"
            )),
        }
    }
}

/// Whether `journal_stream` (the value of `JOURNAL_STREAM`, `DEVICE:INODE`) names the file
/// `stderr_dev`/`stderr_ino`: then stderr is connected to the journal.
pub fn is_journal_stream(journal_stream: &str, stderr_dev: u64, stderr_ino: u64) -> bool {
    journal_stream
        .split_once(':')
        .and_then(|(d, i)| Some((d.parse::<u64>().ok()?, i.parse::<u64>().ok()?)))
        .is_some_and(|(d, i)| d == stderr_dev && i == stderr_ino)
}

/// Whether systemd connected this process's stderr to the journal.
fn stderr_is_journal() -> bool {
    let Ok(stream) = std::env::var("JOURNAL_STREAM") else {
        return false;
    };
    let meta = std::io::stderr()
        .as_fd()
        .try_clone_to_owned()
        .map(std::fs::File::from)
        .and_then(|f| f.metadata());
    meta.is_ok_and(|m| is_journal_stream(&stream, m.dev(), m.ino()))
}

/// The level filter: `level` (from `--log-level`), else `RUST_LOG`, else `info`. Errors name
/// where the bad directive came from.
pub fn log_filter(level: Option<&str>) -> Result<EnvFilter, String> {
    let parse = |origin: &str, s: &str| {
        EnvFilter::builder()
            .parse(s)
            .map_err(|e| format!("{origin}: '{s}' is not a log level or filter ({e})"))
    };
    const LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];
    match level {
        // A bare word would read as a target name: it must be a level.
        Some(l)
            if !l.contains(['=', ',', '['])
                && !LEVELS.contains(&l.to_ascii_lowercase().as_str()) =>
        {
            Err(format!(
                "--log-level: '{l}' is not a level ({}) nor a filter such as qdp=debug",
                LEVELS.join(", ")
            ))
        }
        Some(l) => parse("--log-level", l),
        None => match std::env::var("RUST_LOG") {
            Ok(v) if !v.trim().is_empty() => parse("RUST_LOG", &v),
            _ => parse("default", "info"),
        },
    }
}

/// Installs the log for this process: `format` (the journal under systemd, else text, when
/// `None`) filtered by [`log_filter`]. Returns the format in use.
pub fn init_logging(format: Option<LogFormat>, level: Option<&str>) -> Result<LogFormat, String> {
    let filter = log_filter(level)?;
    let wanted = format.unwrap_or(if stderr_is_journal() {
        LogFormat::Journald
    } else {
        LogFormat::Text
    });
    let text = || {
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_target(false)
            .with_ansi(std::io::stderr().is_terminal())
    };
    let installed = match wanted {
        LogFormat::Text => tracing_subscriber::registry()
            .with(filter)
            .with(text())
            .try_init(),
        LogFormat::Json => tracing_subscriber::registry()
            .with(filter)
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(false)
                    .with_span_list(false)
                    .with_writer(std::io::stderr),
            )
            .try_init(),
        LogFormat::Journald => match tracing_journald::layer() {
            Ok(j) => tracing_subscriber::registry()
                .with(filter)
                .with(j.with_syslog_identifier("qdp".to_string()))
                .try_init(),
            Err(e) => {
                let r = tracing_subscriber::registry()
                    .with(filter)
                    .with(text())
                    .try_init();
                tracing::warn!("journald: {e}; logging to stderr instead");
                return r.map(|()| LogFormat::Text).map_err(|e| e.to_string());
            }
        },
    };
    installed.map(|()| wanted).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_journal_stream_must_be_stderr_itself() {
        assert!(is_journal_stream("8:1234", 8, 1234));
        assert!(!is_journal_stream("8:1234", 8, 1235));
        assert!(!is_journal_stream("9:1234", 8, 1234));
        assert!(!is_journal_stream("8-1234", 8, 1234));
        assert!(!is_journal_stream("", 0, 0));
    }

    #[test]
    fn formats_and_levels_parse_and_bad_ones_name_their_origin() {
        assert_eq!("json".parse::<LogFormat>(), Ok(LogFormat::Json));
        assert_eq!("journald".parse::<LogFormat>(), Ok(LogFormat::Journald));
        let e = "xml".parse::<LogFormat>().unwrap_err();
        assert!(e.contains("text, json or journald"), "{e}");
        assert!(log_filter(Some("debug")).is_ok());
        assert!(log_filter(Some("qdp=debug,warn")).is_ok());
        let e = log_filter(Some("qdp=loud")).unwrap_err();
        assert!(e.starts_with("--log-level: 'qdp=loud'"), "{e}");
        let e = log_filter(Some("verbose")).unwrap_err();
        assert!(
            e.starts_with("--log-level: 'verbose' is not a level"),
            "{e}"
        );
    }
}
