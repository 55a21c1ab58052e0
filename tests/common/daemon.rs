//! A qdp running in the background on a pipeline file: its control socket in the test's scratch
//! folder, its stdout and stderr collected while it runs, `qdpctl` to talk to it, signals to send.

use std::io::Read;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{qdp_bin, run_with_timeout};

pub fn qdpctl_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_qdpctl"))
}

/// Collects what a pipe gives into a shared string.
fn collect(mut pipe: impl Read + Send + 'static, into: Arc<Mutex<String>>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = pipe.read(&mut buf) {
            if n == 0 {
                break;
            }
            into.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    })
}

/// A running `qdp run FILE --socket SOCKET ...`, killed on drop.
pub struct Daemon {
    child: Option<Child>,
    pub socket: PathBuf,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<JoinHandle<()>>,
}

/// How a daemon ended.
pub struct Ended {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Daemon {
    /// Starts `qdp run file` (with `args`) with its socket at `socket`; waits until it answers.
    pub fn start(file: Option<&Path>, socket: &Path, args: &[&str]) -> Daemon {
        let mut cmd = Command::new(qdp_bin());
        cmd.arg("run");
        if let Some(f) = file {
            cmd.arg(f);
        }
        Daemon::spawn(cmd, socket, args)
    }

    /// [`start`](Self::start) inside network namespace `ns` (`ip netns exec` becomes qdp).
    pub fn start_in(ns: &str, file: &Path, socket: &Path, args: &[&str]) -> Daemon {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", ns])
            .arg(qdp_bin())
            .arg("run")
            .arg(file);
        Daemon::spawn(cmd, socket, args)
    }

    fn spawn(mut cmd: Command, socket: &Path, args: &[&str]) -> Daemon {
        let mut child = cmd
            .arg("--socket")
            .arg(socket)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn qdp");
        let stdout = Arc::new(Mutex::new(String::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let readers = vec![
            collect(child.stdout.take().unwrap(), Arc::clone(&stdout)),
            collect(child.stderr.take().unwrap(), Arc::clone(&stderr)),
        ];
        let mut d = Daemon {
            child: Some(child),
            socket: socket.to_path_buf(),
            stdout,
            stderr,
            readers,
        };
        let start = Instant::now();
        while UnixStream::connect(socket).is_err() {
            assert!(
                d.running(),
                "qdp exited before opening its socket:\n{}",
                d.stderr()
            );
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "qdp did not open its control socket within 60 s:\n{}",
                d.stderr()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        d
    }

    /// `qdpctl --socket SOCKET args...`.
    pub fn ctl(&self, args: &[&str]) -> Output {
        run_with_timeout(
            Command::new(qdpctl_bin())
                .arg("--socket")
                .arg(&self.socket)
                .args(args),
            Duration::from_secs(60),
        )
    }

    /// `qdpctl --json args...`, which must succeed: its result.
    pub fn ok(&self, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.ctl(&all);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "qdpctl {args:?}: {e}: {}",
                String::from_utf8_lossy(&out.stdout)
            )
        });
        assert_eq!(v["ok"], true, "qdpctl {args:?} → {v}");
        v["result"].clone()
    }

    /// `qdpctl --json args...`, which must fail: its error.
    pub fn err(&self, args: &[&str]) -> String {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.ctl(&all);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["ok"], false, "qdpctl {args:?} → {v}");
        assert!(!out.status.success());
        v["error"].as_str().unwrap().to_string()
    }

    /// What qdp wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits up to `limit` for stderr to contain every one of `needles`.
    pub fn wait_for_log(&self, needles: &[&str], limit: Duration) -> bool {
        let start = Instant::now();
        loop {
            let e = self.stderr();
            if needles.iter().all(|n| e.contains(n)) {
                return true;
            }
            if start.elapsed() > limit {
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Whether qdp still runs.
    pub fn running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| c.try_wait().unwrap().is_none())
    }

    /// Sends a signal (`HUP`, `INT`, ...) to qdp.
    pub fn signal(&self, sig: &str) {
        let pid = self.child.as_ref().expect("running").id().to_string();
        let st = Command::new("kill")
            .args([&format!("-{sig}"), &pid])
            .status()
            .unwrap();
        assert!(st.success(), "kill -{sig} {pid}");
    }

    /// Stops qdp with SIGINT and waits (60 s at most) for it to end.
    pub fn stop(mut self) -> Ended {
        if self.running() {
            self.signal("INT");
        }
        let mut child = self.child.take().unwrap();
        let start = Instant::now();
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "qdp did not stop within 60 s of SIGINT"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        for r in self.readers.drain(..) {
            r.join().unwrap();
        }
        Ended {
            status,
            stdout: self.stdout.lock().unwrap().clone(),
            stderr: self.stderr(),
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().ok();
            c.wait().ok();
        }
    }
}
