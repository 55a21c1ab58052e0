//! The files control commands may touch, and how they are opened.
//!
//! - `capture` writes only a plain file name (letters, digits, `.`, `_`, `-`; at most
//!   [`MAX_CAPTURE_NAME`] bytes; not starting with `.`) inside `control.capture_dir`. The folder
//!   is opened without following a symbolic link, and the file beneath it with `openat`:
//!   created exclusively (`O_CREAT | O_EXCL | O_NOFOLLOW`), or, when the request says
//!   `overwrite`, an existing regular file with no other hard link truncated; a symbolic link,
//!   FIFO or device there is refused. Files are mode 0640, in `control.group` when one is
//!   named, so that the group's members can read them. The size cap itself is applied by the
//!   writer (`control.capture_max_bytes`).
//! - `reload` reads the pipeline file qdp runs, or a file that lies, once every symbolic link is
//!   resolved, inside `control.reload_dir`; it is then opened component by component beneath
//!   that folder without following links, so a path changed into a link after the check is
//!   refused, and only a regular file is read. Anything else is refused before it is opened.
//!
//! Limits: the configured folders themselves (and the folders above them) are trusted, as the
//! pipeline file names them; the total size of the capture folder is not bounded, only each file.

use std::fs::File;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{open, openat, OFlag};
use nix::sys::stat::{fchmod, fstat, fstatat, FileStat, Mode, SFlag};
use nix::unistd::{fchown, ftruncate, Gid};

use crate::config::ControlConfig;

/// Longest capture file name, in bytes.
pub const MAX_CAPTURE_NAME: usize = 128;

/// Mode of a capture file.
const CAPTURE_FILE_MODE: u32 = 0o640;

/// Mode of a capture folder qdp creates.
const CAPTURE_DIR_MODE: u32 = 0o750;

/// Why a control command may not use a file; nothing was written or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    #[error(
        "file: {name:?} is not a plain file name: {why} (a capture is a name in \
         control.capture_dir, {dir})"
    )]
    BadName {
        name: String,
        why: &'static str,
        dir: String,
    },
    #[error("file: the capture folder {dir} {why}")]
    CaptureDir { dir: String, why: String },
    #[error("file: {path} already exists (overwrite replaces it)")]
    Exists { path: String },
    #[error("file: {path} is a symbolic link; qdp does not follow links there")]
    Symlink { path: String },
    #[error("file: {path} is not a regular file")]
    NotRegular { path: String },
    #[error("file: {path} has other hard links; qdp does not overwrite it")]
    HardLinked { path: String },
    #[error("file: {path}: {why}")]
    Io { path: String, why: String },
    #[error(
        "file: {path} is neither the pipeline file qdp runs{running} nor in \
         control.reload_dir{dir}; it was not read"
    )]
    NotAllowed {
        path: String,
        running: String,
        dir: String,
    },
}

/// A capture file just opened for writing.
#[derive(Debug)]
pub struct CaptureFile {
    /// Where it is (the capture folder joined with its name).
    pub path: PathBuf,
    pub file: File,
}

/// What `reload` is to read.
#[derive(Debug)]
pub enum ReloadSource {
    /// The pipeline file qdp runs (its own path, as it was started).
    Running,
    /// A file in `control.reload_dir`, already open.
    Opened { path: PathBuf, file: File },
}

/// The folders and limits of the files control commands may touch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlFiles {
    pub capture_dir: PathBuf,
    pub capture_max_bytes: u64,
    /// The group given to capture files and to a capture folder qdp creates.
    pub group: Option<u32>,
    pub reload_dir: Option<PathBuf>,
    /// The pipeline file qdp runs (none for the built-in demo).
    pub running: Option<PathBuf>,
}

/// Why `name` is not a plain capture file name.
pub fn check_capture_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        Err("it is empty")
    } else if name.len() > MAX_CAPTURE_NAME {
        Err("it is longer than 128 bytes")
    } else if name.contains('/') {
        Err("it holds a '/' (give a name, not a path)")
    } else if name.starts_with('.') {
        Err("it starts with '.'")
    } else if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        Err("only letters, digits, '.', '_' and '-' may appear in it")
    } else {
        Ok(())
    }
}

fn is(st: &FileStat, kind: SFlag) -> bool {
    SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == kind
}

fn io(path: &Path, e: impl std::fmt::Display) -> FileError {
    FileError::Io {
        path: path.display().to_string(),
        why: e.to_string(),
    }
}

/// Opens `name` beneath `dir` without following a link; a pre-check and a post-check (by
/// `fstat` of what was opened) make sure it is a regular file, so no FIFO or device is opened
/// for real and none swapped in between counts. `path` is only for messages.
fn open_regular_at(
    dir: impl AsFd,
    name: &Path,
    flags: OFlag,
    path: &Path,
) -> Result<(OwnedFd, FileStat), FileError> {
    let shown = || path.display().to_string();
    let check = |st: &FileStat| {
        if is(st, SFlag::S_IFLNK) {
            Err(FileError::Symlink { path: shown() })
        } else if !is(st, SFlag::S_IFREG) {
            Err(FileError::NotRegular { path: shown() })
        } else {
            Ok(())
        }
    };
    let before = fstatat(&dir, name, nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW)
        .map_err(|e| io(path, e.desc()))?;
    check(&before)?;
    let flags = flags | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_NOCTTY | OFlag::O_CLOEXEC;
    let fd = openat(&dir, name, flags, Mode::empty()).map_err(|e| match e {
        Errno::ELOOP => FileError::Symlink { path: shown() },
        Errno::ENXIO => FileError::NotRegular { path: shown() },
        e => io(path, e.desc()),
    })?;
    let st = fstat(&fd).map_err(|e| io(path, e.desc()))?;
    check(&st)?;
    Ok((fd, st))
}

impl ControlFiles {
    /// The files of a `[control]` section for a qdp running `running`.
    pub fn from_config(cfg: &ControlConfig, group: Option<u32>, running: Option<PathBuf>) -> Self {
        ControlFiles {
            capture_dir: cfg.capture_dir.clone(),
            capture_max_bytes: cfg.capture_max_bytes,
            group,
            reload_dir: cfg.reload_dir.clone(),
            running,
        }
    }

    /// The capture folder, opened without following a link; created (0750, in the group) when
    /// missing.
    fn open_capture_dir(&self) -> Result<OwnedFd, FileError> {
        let dir = &self.capture_dir;
        let fail = |why: String| FileError::CaptureDir {
            dir: dir.display().to_string(),
            why,
        };
        let mut created = false;
        if matches!(std::fs::symlink_metadata(dir), Err(e) if e.kind() == std::io::ErrorKind::NotFound)
        {
            if let Some(parent) = dir.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| fail(format!("cannot be created: {e}")))?;
            }
            use std::os::unix::fs::DirBuilderExt;
            match std::fs::DirBuilder::new()
                .mode(CAPTURE_DIR_MODE)
                .create(dir)
            {
                Ok(()) => created = true,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(fail(format!("cannot be created: {e}"))),
            }
        }
        let fd = open(
            dir,
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| match e {
            // O_DIRECTORY | O_NOFOLLOW on a link says ENOTDIR or ELOOP.
            Errno::ELOOP | Errno::ENOTDIR
                if std::fs::symlink_metadata(dir).is_ok_and(|m| m.file_type().is_symlink()) =>
            {
                fail("is a symbolic link; qdp does not follow it".into())
            }
            Errno::ENOTDIR => fail("is not a folder".into()),
            e => fail(format!("cannot be opened: {}", e.desc())),
        })?;
        if created {
            fchmod(&fd, Mode::from_bits_truncate(CAPTURE_DIR_MODE))
                .map_err(|e| fail(format!("chmod: {}", e.desc())))?;
            if let Some(g) = self.group {
                fchown(&fd, None, Some(Gid::from_raw(g)))
                    .map_err(|e| fail(format!("chown: {}", e.desc())))?;
            }
        }
        Ok(fd)
    }

    /// Opens the capture file `name` for writing, under the rules of this module.
    pub fn create_capture(&self, name: &str, overwrite: bool) -> Result<CaptureFile, FileError> {
        check_capture_name(name).map_err(|why| FileError::BadName {
            name: name.to_string(),
            why,
            dir: self.capture_dir.display().to_string(),
        })?;
        let dir = self.open_capture_dir()?;
        let path = self.capture_dir.join(name);
        let shown = || path.display().to_string();
        let exclusive =
            OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        let mode = Mode::from_bits_truncate(CAPTURE_FILE_MODE);
        let fd = match openat(&dir, name, exclusive, mode) {
            Ok(fd) => fd,
            Err(Errno::EEXIST) if overwrite => {
                let (fd, st) = open_regular_at(&dir, Path::new(name), OFlag::O_WRONLY, &path)?;
                if st.st_nlink > 1 {
                    return Err(FileError::HardLinked { path: shown() });
                }
                ftruncate(&fd, 0).map_err(|e| io(&path, e.desc()))?;
                fd
            }
            Err(Errno::EEXIST) => {
                return Err(
                    match fstatat(&dir, name, nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW) {
                        Ok(st) if is(&st, SFlag::S_IFLNK) => FileError::Symlink { path: shown() },
                        _ => FileError::Exists { path: shown() },
                    },
                )
            }
            Err(e) => return Err(io(&path, format!("cannot create: {}", e.desc()))),
        };
        fchmod(&fd, mode).map_err(|e| io(&path, e.desc()))?;
        if let Some(g) = self.group {
            fchown(&fd, None, Some(Gid::from_raw(g))).map_err(|e| io(&path, e.desc()))?;
        }
        Ok(CaptureFile {
            path,
            file: File::from(fd),
        })
    }

    /// What a reload of `requested` (none: the file qdp runs) may read. A relative path is
    /// taken in `control.reload_dir`.
    pub fn reload_source(&self, requested: Option<&Path>) -> Result<ReloadSource, FileError> {
        let Some(requested) = requested else {
            return Ok(ReloadSource::Running);
        };
        let path = match &self.reload_dir {
            Some(dir) if requested.is_relative() => dir.join(requested),
            _ => requested.to_path_buf(),
        };
        let refused = || FileError::NotAllowed {
            path: path.display().to_string(),
            running: self
                .running
                .as_ref()
                .map(|r| format!(" ({})", r.display()))
                .unwrap_or_default(),
            dir: self
                .reload_dir
                .as_ref()
                .map_or_else(|| " (none set)".into(), |d| format!(" ({})", d.display())),
        };
        if path.is_relative() {
            return Err(refused());
        }
        let real = std::fs::canonicalize(&path);
        let running = self.running.as_ref().and_then(|r| r.canonicalize().ok());
        if let (Ok(real), Some(running)) = (&real, &running) {
            if real == running {
                return Ok(ReloadSource::Running);
            }
        }
        let Some(dir) = &self.reload_dir else {
            return Err(refused());
        };
        let real_dir = dir
            .canonicalize()
            .map_err(|e| io(dir, format!("control.reload_dir cannot be resolved: {e}")))?;
        match real {
            Ok(real) => match real.strip_prefix(&real_dir) {
                Ok(rel) if rel.components().next().is_some() => {
                    let file = open_beneath(&real_dir, rel, &path)?;
                    Ok(ReloadSource::Opened { path: real, file })
                }
                _ => Err(refused()),
            },
            // Say why only for a path that names the folder itself, without `..`.
            Err(e)
                if path.starts_with(dir)
                    && !path.components().any(|c| c == Component::ParentDir) =>
            {
                Err(io(&path, e))
            }
            Err(_) => Err(refused()),
        }
    }
}

/// Opens the regular file `rel` (a path without links, `.` or `..`) beneath the folder `dir`,
/// one component at a time and never following a link.
fn open_beneath(dir: &Path, rel: &Path, shown: &Path) -> Result<File, FileError> {
    let folder = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    let mut at = open(dir, folder, Mode::empty()).map_err(|e| io(dir, e.desc()))?;
    let mut parts: Vec<&std::ffi::OsStr> = Vec::new();
    for c in rel.components() {
        match c {
            Component::Normal(p) => parts.push(p),
            _ => return Err(io(shown, "the path changed while it was resolved")),
        }
    }
    let Some((last, folders)) = parts.split_last() else {
        return Err(io(shown, "names the folder itself"));
    };
    for p in folders {
        at = openat(&at, *p, folder, Mode::empty()).map_err(|e| match e {
            Errno::ELOOP | Errno::ENOTDIR => FileError::Symlink {
                path: shown.display().to_string(),
            },
            e => io(shown, e.desc()),
        })?;
    }
    let (fd, _) = open_regular_at(&at, Path::new(last), OFlag::O_RDONLY, shown)?;
    Ok(File::from(fd))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::os::unix::fs::{symlink, PermissionsExt};

    fn files(dir: &Path) -> ControlFiles {
        ControlFiles {
            capture_dir: dir.join("captures"),
            capture_max_bytes: 1 << 20,
            group: None,
            reload_dir: Some(dir.join("reload")),
            running: Some(dir.join("running.toml")),
        }
    }

    #[test]
    fn capture_names_are_plain() {
        for good in ["out.pcap", "a", "tx-sink_2.pcap", "A.B.C", &"x".repeat(128)] {
            assert_eq!(check_capture_name(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            ".",
            "..",
            ".hidden",
            "../out.pcap",
            "/etc/passwd",
            "a/b",
            "a b",
            "a\nb",
            "a\0b",
            "caf\u{e9}.pcap",
            "x\u{202e}pcap",
            "a*",
            "~",
            &"x".repeat(129),
        ] {
            assert!(check_capture_name(bad).is_err(), "{bad:?}");
        }
        let dir = tempfile::tempdir().unwrap();
        let e = files(dir.path())
            .create_capture("../x", false)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("file: \"../x\" is not a plain file name"),
            "{e}"
        );
        assert!(!dir.path().join("captures").exists(), "nothing made: {e}");
    }

    #[test]
    fn captures_are_created_exclusively_and_never_through_links() {
        let dir = tempfile::tempdir().unwrap();
        let f = files(dir.path());
        let mut c = f.create_capture("one.pcap", false).unwrap();
        assert_eq!(c.path, dir.path().join("captures/one.pcap"));
        c.file.write_all(b"first").unwrap();
        let meta = std::fs::metadata(dir.path().join("captures")).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o750);
        assert_eq!(
            std::fs::metadata(&c.path).unwrap().permissions().mode() & 0o777,
            0o640
        );
        // Exists: refused, kept; replaced only when asked.
        assert!(matches!(
            f.create_capture("one.pcap", false),
            Err(FileError::Exists { .. })
        ));
        assert_eq!(std::fs::read(&c.path).unwrap(), b"first");
        let mut c2 = f.create_capture("one.pcap", true).unwrap();
        c2.file.write_all(b"2").unwrap();
        assert_eq!(std::fs::read(&c.path).unwrap(), b"2");
        // A link planted in the folder: refused either way; its target untouched.
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "keep").unwrap();
        symlink(&victim, dir.path().join("captures/link.pcap")).unwrap();
        symlink(
            dir.path().join("nowhere"),
            dir.path().join("captures/dangling"),
        )
        .unwrap();
        for (name, overwrite) in [
            ("link.pcap", false),
            ("link.pcap", true),
            ("dangling", false),
            ("dangling", true),
        ] {
            let e = f.create_capture(name, overwrite).unwrap_err();
            assert!(
                matches!(e, FileError::Symlink { .. }),
                "{name} {overwrite}: {e}"
            );
        }
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
        assert!(!dir.path().join("nowhere").exists());
        // A hard link to another file: not overwritten.
        std::fs::hard_link(&victim, dir.path().join("captures/hard.pcap")).unwrap();
        let e = f.create_capture("hard.pcap", true).unwrap_err();
        assert!(matches!(e, FileError::HardLinked { .. }), "{e}");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
        // A FIFO: refused without blocking.
        nix::unistd::mkfifo(
            &dir.path().join("captures/fifo"),
            Mode::from_bits_truncate(0o600),
        )
        .unwrap();
        let e = f.create_capture("fifo", true).unwrap_err();
        assert!(matches!(e, FileError::NotRegular { .. }), "{e}");
        // The folder itself a link: refused.
        let real = dir.path().join("real");
        std::fs::create_dir(&real).unwrap();
        symlink(&real, dir.path().join("linked")).unwrap();
        let linked = ControlFiles {
            capture_dir: dir.path().join("linked"),
            ..f.clone()
        };
        let e = linked
            .create_capture("x.pcap", false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("is a symbolic link"), "{e}");
        assert!(!real.join("x.pcap").exists());
    }

    #[test]
    fn reload_reads_the_running_file_or_the_reload_folder_only() {
        let dir = tempfile::tempdir().unwrap();
        let f = files(dir.path());
        let reload = dir.path().join("reload");
        std::fs::create_dir_all(reload.join("sub")).unwrap();
        std::fs::write(dir.path().join("running.toml"), "running").unwrap();
        std::fs::write(reload.join("new.toml"), "new").unwrap();
        std::fs::write(reload.join("sub/deeper.toml"), "deeper").unwrap();
        std::fs::write(dir.path().join("secret"), "TOP-SECRET-TEXT").unwrap();
        let read = |p: &str| -> Result<String, FileError> {
            match f.reload_source(Some(Path::new(p)))? {
                ReloadSource::Running => Ok("(running)".into()),
                ReloadSource::Opened { mut file, .. } => {
                    let mut s = String::new();
                    file.read_to_string(&mut s).unwrap();
                    Ok(s)
                }
            }
        };
        let d = dir.path().display().to_string();
        assert!(matches!(f.reload_source(None), Ok(ReloadSource::Running)));
        assert_eq!(read(&format!("{d}/running.toml")).unwrap(), "(running)");
        assert_eq!(
            read(&format!("{d}/reload/../running.toml")).unwrap(),
            "(running)"
        );
        assert_eq!(read(&format!("{d}/reload/new.toml")).unwrap(), "new");
        assert_eq!(read("new.toml").unwrap(), "new");
        assert_eq!(read("sub/deeper.toml").unwrap(), "deeper");
        // A link that stays inside is followed at the check; the file is what it points to.
        symlink(reload.join("new.toml"), reload.join("inside.toml")).unwrap();
        assert_eq!(read("inside.toml").unwrap(), "new");
        // Escapes: `..`, absolute paths elsewhere, links out of the folder.
        symlink(dir.path().join("secret"), reload.join("out.toml")).unwrap();
        symlink(dir.path(), reload.join("up")).unwrap();
        for p in [
            format!("{d}/secret"),
            format!("{d}/reload/../secret"),
            "../secret".to_string(),
            "out.toml".to_string(),
            "up/secret".to_string(),
            "/etc/passwd".to_string(),
            format!("{d}/reload"),
        ] {
            let e = read(&p).unwrap_err();
            assert!(matches!(e, FileError::NotAllowed { .. }), "{p}: {e}");
            assert!(!e.to_string().contains("TOP-SECRET"), "{e}");
        }
        // A missing file in the folder says so; one elsewhere does not.
        let e = read("missing.toml").unwrap_err().to_string();
        assert!(e.contains("No such file"), "{e}");
        let e = read("/root/missing").unwrap_err();
        assert!(matches!(e, FileError::NotAllowed { .. }), "{e}");
        // Not a regular file.
        nix::unistd::mkfifo(&reload.join("fifo"), Mode::from_bits_truncate(0o600)).unwrap();
        assert!(matches!(read("fifo"), Err(FileError::NotRegular { .. })));
        // No reload folder: only the running file.
        let none = ControlFiles {
            reload_dir: None,
            ..f.clone()
        };
        assert!(matches!(
            none.reload_source(Some(&reload.join("new.toml"))),
            Err(FileError::NotAllowed { .. })
        ));
        assert!(matches!(
            none.reload_source(Some(Path::new("new.toml"))),
            Err(FileError::NotAllowed { .. })
        ));
        assert!(matches!(
            none.reload_source(Some(&dir.path().join("running.toml"))),
            Ok(ReloadSource::Running)
        ));
        // Beneath the folder, a component changed into a link after the check is refused.
        let e = open_beneath(&reload, Path::new("up/secret"), Path::new("x")).unwrap_err();
        assert!(matches!(e, FileError::Symlink { .. }), "{e}");
        let e = open_beneath(&reload, Path::new("out.toml"), Path::new("x")).unwrap_err();
        assert!(matches!(e, FileError::Symlink { .. }), "{e}");
    }
}
