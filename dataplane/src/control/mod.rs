//! The control plane: a Unix socket speaking one JSON request per line and one JSON reply per
//! line (see `docs/control-protocol.md`), the commands behind it, and the Prometheus endpoint.
//!
//! Every change goes the same way: copy the running pipeline, edit the copy, validate it with the
//! `qdp check` rules, compile new SFC tables with the loader's function, swap them in whole
//! (read-copy-update). Workers take the new tables at their next poll round without a lock; a
//! rejected change leaves everything as it was.

pub mod commands;
pub mod counters;
pub mod metrics;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::config::ControlConfig;
use crate::shared::Dataplane;

/// The protocol version carried in every reply (and accepted in requests).
pub const PROTOCOL_VERSION: u32 = 1;

/// Largest request line accepted, in bytes (newline included).
pub const MAX_REQUEST: usize = 64 * 1024;

/// How long a connected client may stay silent before it is dropped.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(300);

/// A running control socket; dropping it stops accepting and removes the socket file.
pub struct ControlServer {
    path: PathBuf,
    dp: Arc<Dataplane>,
    accept: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for ControlServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ControlServer")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// Makes the socket path usable: creates its folder, replaces a stale socket left by a crashed
/// run, and refuses one a live process still answers on.
fn prepare_path(path: &Path) -> Result<(), String> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.exists() {
            std::fs::create_dir_all(dir).map_err(|e| {
                format!(
                    "control.socket: cannot create folder {}: {e} (choose another path with \
                     qdp run --socket PATH, or run without one: --no-control)",
                    dir.display()
                )
            })?;
            let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755));
        }
    }
    match std::fs::symlink_metadata(path) {
        Err(_) => Ok(()),
        Ok(m) => {
            use std::os::unix::fs::FileTypeExt;
            if !m.file_type().is_socket() {
                return Err(format!(
                    "control.socket: {} exists and is not a socket; remove it or choose another path",
                    path.display()
                ));
            }
            match UnixStream::connect(path) {
                Ok(_) => Err(format!(
                    "control.socket: {} belongs to a running qdp; stop it first or give this one another socket",
                    path.display()
                )),
                Err(_) => std::fs::remove_file(path).map_err(|e| {
                    format!(
                        "control.socket: cannot remove stale socket {}: {e}",
                        path.display()
                    )
                }),
            }
        }
    }
}

impl ControlServer {
    /// Binds the socket (mode 0660, the configured group) and starts accepting clients.
    pub fn start(dp: Arc<Dataplane>, cfg: &ControlConfig) -> Result<ControlServer, String> {
        let path = cfg.socket.clone();
        prepare_path(&path)?;
        let listener = UnixListener::bind(&path).map_err(|e| {
            format!(
                "control.socket: cannot listen on {}: {e} (choose another path with \
                     qdp run --socket PATH, or run without one: --no-control)",
                path.display()
            )
        })?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o660))
            .map_err(|e| format!("control.socket: chmod {}: {e}", path.display()))?;
        if let Some(g) = &cfg.group {
            let group = nix::unistd::Group::from_name(g)
                .ok()
                .flatten()
                .ok_or_else(|| format!("control.group: no group called '{g}'"))?;
            nix::unistd::chown(&path, None, Some(group.gid))
                .map_err(|e| format!("control.group: chown {} to '{g}': {e}", path.display()))?;
        }
        listener
            .set_nonblocking(true)
            .map_err(|e| format!("control.socket: {e}"))?;
        let max = cfg.max_clients;
        let adp = Arc::clone(&dp);
        let accept = std::thread::Builder::new()
            .name("qdp-control".into())
            .spawn(move || accept_loop(listener, adp, max))
            .map_err(|e| format!("control: cannot start the socket thread: {e}"))?;
        Ok(ControlServer {
            path,
            dp,
            accept: Some(accept),
        })
    }

    /// The socket's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ControlServer {
    fn drop(&mut self) {
        self.dp.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

fn accept_loop(listener: UnixListener, dp: Arc<Dataplane>, max: usize) {
    let active = Arc::new(AtomicUsize::new(0));
    while !dp.stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((stream, _)) => {
                let _ = stream.set_nonblocking(false);
                if active.load(Ordering::Acquire) >= max {
                    let mut s = stream;
                    let _ = s.write_all(
                        error_reply(&format!("too many clients (control.max_clients = {max})"))
                            .as_bytes(),
                    );
                    continue;
                }
                active.fetch_add(1, Ordering::AcqRel);
                let dp = Arc::clone(&dp);
                let a = Arc::clone(&active);
                let spawned =
                    std::thread::Builder::new()
                        .name("qdp-client".into())
                        .spawn(move || {
                            serve_client(stream, &dp);
                            a.fetch_sub(1, Ordering::AcqRel);
                        });
                if spawned.is_err() {
                    active.fetch_sub(1, Ordering::AcqRel);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

/// What reading one request line gave.
enum Line {
    Request(Vec<u8>),
    TooLong,
    Closed,
}

/// Reads one line of at most `max` bytes without ever buffering more.
fn read_line(r: &mut impl BufRead, max: usize) -> Line {
    let mut line = Vec::new();
    loop {
        let buf = match r.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return Line::Closed,
        };
        if buf.is_empty() {
            // End of stream: a partial line is a client that went away mid-request.
            return Line::Closed;
        }
        let (chunk, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (&buf[..=i], true),
            None => (buf, false),
        };
        if line.len() + chunk.len() > max {
            return Line::TooLong;
        }
        line.extend_from_slice(chunk);
        let n = chunk.len();
        r.consume(n);
        if done {
            return Line::Request(line);
        }
    }
}

fn serve_client(stream: UnixStream, dp: &Arc<Dataplane>) {
    let _ = stream.set_read_timeout(Some(IDLE_TIMEOUT));
    let Ok(mut out) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::with_capacity(8192, stream);
    loop {
        let reply = match read_line(&mut reader, MAX_REQUEST) {
            Line::Closed => return,
            Line::TooLong => {
                let _ = out.write_all(
                    error_reply(&format!(
                        "request too large: the limit is {MAX_REQUEST} bytes per line"
                    ))
                    .as_bytes(),
                );
                return;
            }
            Line::Request(l) => {
                if l.iter().all(|b| b.is_ascii_whitespace()) {
                    continue;
                }
                commands::handle(dp, &l)
            }
        };
        if out.write_all(reply.as_bytes()).is_err() {
            return;
        }
        if dp.stop.load(Ordering::Relaxed) {
            return;
        }
    }
}

/// A reply line saying `ok: false` with an error.
pub fn error_reply(msg: &str) -> String {
    let mut s = serde_json::json!({
        "version": PROTOCOL_VERSION,
        "ok": false,
        "error": msg,
    })
    .to_string();
    s.push('\n');
    s
}

/// A reply line saying `ok: true` with a result.
pub fn ok_reply(result: serde_json::Value) -> String {
    let mut s = serde_json::json!({
        "version": PROTOCOL_VERSION,
        "ok": true,
        "result": result,
    })
    .to_string();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_line_limits_and_splits() {
        let data = b"{\"a\":1}\n{\"b\":2}\npartial";
        let mut r = BufReader::with_capacity(4, &data[..]);
        assert!(matches!(read_line(&mut r, 100), Line::Request(l) if l == b"{\"a\":1}\n"));
        assert!(matches!(read_line(&mut r, 100), Line::Request(l) if l == b"{\"b\":2}\n"));
        assert!(matches!(read_line(&mut r, 100), Line::Closed));
        let long = [b'x'; 200];
        let mut r = BufReader::with_capacity(16, &long[..]);
        assert!(matches!(read_line(&mut r, 100), Line::TooLong));
    }

    #[test]
    fn stale_sockets_are_replaced_and_live_ones_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/qdp.sock");
        prepare_path(&path).unwrap();
        assert!(path.parent().unwrap().is_dir());
        // A live listener: refused.
        let l = UnixListener::bind(&path).unwrap();
        let e = prepare_path(&path).unwrap_err();
        assert!(e.contains("belongs to a running qdp"), "{e}");
        // The listener is gone, the file stays: stale, replaced.
        drop(l);
        assert!(path.exists());
        prepare_path(&path).unwrap();
        assert!(!path.exists());
        // Not a socket: refused.
        std::fs::write(&path, "x").unwrap();
        assert!(prepare_path(&path).unwrap_err().contains("not a socket"));
    }
}
