//! The control plane: a Unix socket speaking one JSON request per line and one JSON reply per
//! line (see `docs/control-protocol.md`), the commands behind it, and the Prometheus endpoint.
//!
//! The socket has its final mode and group from the moment it appears at its path: it is bound
//! inside a fresh private folder (0700) next to that path, given mode 0660 (0666 with a read-only
//! group) and `control.group`, then renamed into place, never over an existing file. Each
//! connection's peer credentials decide what it may do ([`access`]); a peer that may do nothing
//! gets one error reply and is closed without taking a client slot. The files commands may
//! write and read are confined by [`files`].
//!
//! Every change goes the same way: copy the running pipeline, edit the copy, validate it with the
//! `qdp check` rules, compile new SFC tables with the loader's function, swap them in whole
//! (read-copy-update). Workers take the new tables at their next poll round without a lock; a
//! rejected change leaves everything as it was.

pub mod access;
pub mod commands;
pub mod counters;
pub mod files;
pub mod metrics;
pub mod services;
pub mod sessions;
pub mod sync;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use access::{AccessPolicy, PeerCredentials};
use commands::Client;
use files::ControlFiles;

use crate::config::ControlConfig;
use crate::shared::Dataplane;

/// The protocol version carried in every reply (and accepted in requests).
pub const PROTOCOL_VERSION: u32 = 1;

/// Largest request line accepted, in bytes (newline included).
pub const MAX_REQUEST: usize = 1024 * 1024;

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

/// A private folder removed (with what is in it) when dropped.
struct PrivateDir(PathBuf);

impl Drop for PrivateDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Binds a listening socket at `path` that has `mode` and group `gid` from the first moment it
/// exists there: bound in a private folder next to it, then renamed into place.
fn bind_in_place(path: &Path, mode: u32, gid: Option<u32>) -> Result<UnixListener, String> {
    let shown = path.display();
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let private = nix::unistd::mkdtemp(&dir.join(".qdpXXXXXX")).map_err(|e| {
        format!(
            "control.socket: cannot make a private folder in {}: {}",
            dir.display(),
            e.desc()
        )
    })?;
    let private = PrivateDir(private);
    let staged = private.0.join("s");
    let listener = UnixListener::bind(&staged).map_err(|e| {
        format!(
            "control.socket: cannot listen on {shown}: {e} (choose another (shorter) path with \
             qdp run --socket PATH, or run without one: --no-control)"
        )
    })?;
    std::fs::set_permissions(&staged, std::fs::Permissions::from_mode(mode))
        .map_err(|e| format!("control.socket: chmod {shown}: {e}"))?;
    if let Some(g) = gid {
        nix::unistd::chown(&staged, None, Some(nix::unistd::Gid::from_raw(g)))
            .map_err(|e| format!("control.group: chown {shown} to gid {g}: {}", e.desc()))?;
    }
    let at = nix::fcntl::AT_FDCWD;
    nix::fcntl::renameat2(
        at,
        &staged,
        at,
        path,
        nix::fcntl::RenameFlags::RENAME_NOREPLACE,
    )
    .map_err(|e| match e {
        nix::errno::Errno::EEXIST => format!(
            "control.socket: {shown} appeared while qdp was starting (another qdp?); \
                 give this one another socket"
        ),
        e => format!(
            "control.socket: cannot put the socket at {shown}: {}",
            e.desc()
        ),
    })?;
    Ok(listener)
}

/// What every connection of one server shares: who may do what, which files.
struct ServerRules {
    policy: Arc<AccessPolicy>,
    files: Arc<ControlFiles>,
    max_clients: usize,
}

impl ControlServer {
    /// Binds the socket (its final mode and group from the start, see the module) and starts
    /// accepting clients.
    pub fn start(dp: Arc<Dataplane>, cfg: &ControlConfig) -> Result<ControlServer, String> {
        let path = cfg.socket.clone();
        let policy = AccessPolicy::from_config(cfg).map_err(|e| e.to_string())?;
        let group = cfg.group.as_ref().map(|_| policy.control.gid);
        prepare_path(&path)?;
        let listener = bind_in_place(&path, policy.socket_mode(), group)?;
        listener
            .set_nonblocking(true)
            .map_err(|e| format!("control.socket: {e}"))?;
        let rules = ServerRules {
            files: Arc::new(ControlFiles::from_config(cfg, group, dp.source.clone())),
            policy: Arc::new(policy),
            max_clients: cfg.max_clients,
        };
        let adp = Arc::clone(&dp);
        let accept = std::thread::Builder::new()
            .name("qdp-control".into())
            .spawn(move || accept_loop(listener, adp, rules))
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

/// Who is at the other end of `stream` and what it may do; `None` when it may do nothing (it got
/// its error reply).
fn admit(stream: &UnixStream, rules: &ServerRules) -> Option<Client> {
    let admitted = PeerCredentials::of(stream).and_then(|peer| {
        let access = rules.policy.access(&peer);
        if let Err(e) = &access {
            access::audit(&peer, &format!("connection refused: {e}"));
        }
        Ok(Client {
            access: access?,
            peer,
            policy: Arc::clone(&rules.policy),
            files: Arc::clone(&rules.files),
        })
    });
    match admitted {
        Ok(c) => Some(c),
        Err(e) => {
            let mut s = stream;
            let _ = s.write_all(error_reply(&e.to_string()).as_bytes());
            let _ = stream.shutdown(std::net::Shutdown::Both);
            None
        }
    }
}

fn accept_loop(listener: UnixListener, dp: Arc<Dataplane>, rules: ServerRules) {
    let active = Arc::new(AtomicUsize::new(0));
    let max = rules.max_clients;
    while !dp.stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((stream, _)) => {
                let _ = stream.set_nonblocking(false);
                let Some(client) = admit(&stream, &rules) else {
                    continue;
                };
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
                            serve_client(stream, &dp, &client);
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

fn serve_client(stream: UnixStream, dp: &Arc<Dataplane>, client: &Client) {
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
                commands::handle(dp, client, &l)
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
    fn the_socket_is_put_in_place_finished_and_never_over_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("qdp.sock");
        let gid = nix::unistd::getegid().as_raw();
        let l = bind_in_place(&path, 0o640, Some(gid)).unwrap();
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(&path).unwrap();
        assert_eq!(m.mode() & 0o777, 0o640);
        assert_eq!(m.gid(), gid);
        UnixStream::connect(&path).expect("the renamed socket answers");
        // The private folder is gone.
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, [std::ffi::OsString::from("qdp.sock")]);
        // Something at the path already: refused, left as it was.
        let e = bind_in_place(&path, 0o660, None).unwrap_err();
        assert!(e.contains("appeared while qdp was starting"), "{e}");
        assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o777, 0o640);
        drop(l);
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
