//! Who may use the control socket, and for what.
//!
//! Each connection's peer is identified by its credentials as the kernel saw them at `connect`
//! (`SO_PEERCRED`: pid, effective uid and gid) and its supplementary groups (read from
//! `/proc/PID/status`). Root, and the user qdp runs as, may run every command; so may members of
//! `control.group` (the process's group when the file names none). Members of
//! `control.readonly_group` may only `show` and read `metrics`. Anyone else is refused.
//!
//! Limits: the supplementary groups are read after the connection is made; when the peer's pid is
//! not visible (another pid namespace) or `/proc` no longer shows that pid with the same uid and
//! gid (the process exited, its pid was reused), only the primary group from `SO_PEERCRED` counts,
//! which can only narrow what the peer may do. Linux only.

use std::os::unix::net::UnixStream;

use crate::config::ControlConfig;

/// Why a peer may not do what it asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessError {
    /// A group the `[control]` section names does not exist.
    #[error("{field}: no group called '{name}'")]
    NoGroup { field: &'static str, name: String },
    /// The kernel did not say who the peer is.
    #[error("permission denied: cannot read the peer's credentials ({0})")]
    Credentials(String),
    /// The peer is in neither group.
    #[error(
        "permission denied: uid {uid} (gid {gid}) is not in control.group '{group}'{readonly}"
    )]
    NotMember {
        uid: u32,
        gid: u32,
        group: String,
        /// ` nor in control.readonly_group '...'`, when one is configured.
        readonly: String,
    },
    /// A read-only member asked for something that is more than looking.
    #[error(
        "permission denied: '{command}' is refused to uid {uid}, a member of \
         control.readonly_group '{group}' only, which may run show and metrics"
    )]
    ReadOnly {
        command: String,
        uid: u32,
        group: String,
    },
}

/// The credentials of the process at the other end of a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerCredentials {
    /// 0 when the peer's pid is not visible from qdp's pid namespace.
    pub pid: i32,
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups; empty when they could not be read.
    pub groups: Vec<u32>,
}

impl PeerCredentials {
    /// The credentials of `stream`'s peer.
    pub fn of(stream: &UnixStream) -> Result<PeerCredentials, AccessError> {
        let c = nix::sys::socket::getsockopt(stream, nix::sys::socket::sockopt::PeerCredentials)
            .map_err(|e| AccessError::Credentials(e.to_string()))?;
        let (pid, uid, gid) = (c.pid(), c.uid(), c.gid());
        let groups = if pid > 0 {
            std::fs::read_to_string(format!("/proc/{pid}/status"))
                .ok()
                .and_then(|s| supplementary_groups(&s, uid, gid))
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        Ok(PeerCredentials {
            pid,
            uid,
            gid,
            groups,
        })
    }

    fn in_group(&self, gid: u32) -> bool {
        self.gid == gid || self.groups.contains(&gid)
    }
}

/// Most characters of `what` one control log line holds.
const AUDIT_MAX: usize = 1024;

/// Writes one line of the control log: who (`peer`) did what. Control characters in `what` are
/// escaped, so that a client cannot write lines of its own; a long `what` is cut.
pub fn audit(peer: &PeerCredentials, what: &str) {
    let mut line = String::new();
    for c in what.chars().take(AUDIT_MAX) {
        if c.is_control() {
            line.extend(c.escape_default());
        } else {
            line.push(c);
        }
    }
    if what.chars().nth(AUDIT_MAX).is_some() {
        line.push_str(" ...");
    }
    eprintln!(
        "qdp: control: pid {} uid {} gid {}: {line}",
        peer.pid, peer.uid, peer.gid
    );
}

/// The `Groups:` of a `/proc/PID/status` text, when its effective uid and gid are `uid` and
/// `gid` (so that the text describes the process that connected).
pub fn supplementary_groups(status: &str, uid: u32, gid: u32) -> Option<Vec<u32>> {
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|rest| {
                rest.split_whitespace()
                    .map(str::parse::<u32>)
                    .collect::<Result<Vec<u32>, _>>()
            })
    };
    // Uid: and Gid: list real, effective, saved and filesystem ids.
    let uids = field("Uid:")?.ok()?;
    let gids = field("Gid:")?.ok()?;
    if uids.get(1) != Some(&uid) || gids.get(1) != Some(&gid) {
        return None;
    }
    field("Groups:")?.ok()
}

/// What a peer may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Every command.
    Full,
    /// `show` and `metrics` only.
    ReadOnly,
}

/// A named group and its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedGroup {
    pub name: String,
    pub gid: u32,
}

/// Who may do what on one control socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessPolicy {
    /// The user qdp runs as (always allowed, like root).
    pub owner_uid: u32,
    /// The group owning the socket: every command.
    pub control: NamedGroup,
    /// The group that may only look.
    pub readonly: Option<NamedGroup>,
}

fn group(field: &'static str, name: &str) -> Result<NamedGroup, AccessError> {
    match nix::unistd::Group::from_name(name) {
        Ok(Some(g)) => Ok(NamedGroup {
            name: name.to_string(),
            gid: g.gid.as_raw(),
        }),
        _ => Err(AccessError::NoGroup {
            field,
            name: name.to_string(),
        }),
    }
}

impl AccessPolicy {
    /// The policy of a `[control]` section, for a qdp running as the current process.
    pub fn from_config(cfg: &ControlConfig) -> Result<AccessPolicy, AccessError> {
        let control = match &cfg.group {
            Some(g) => group("control.group", g)?,
            None => {
                let gid = nix::unistd::getegid();
                let name = nix::unistd::Group::from_gid(gid)
                    .ok()
                    .flatten()
                    .map_or_else(|| gid.to_string(), |g| g.name);
                NamedGroup {
                    name,
                    gid: gid.as_raw(),
                }
            }
        };
        let readonly = cfg
            .readonly_group
            .as_deref()
            .map(|g| group("control.readonly_group", g))
            .transpose()?;
        Ok(AccessPolicy {
            owner_uid: nix::unistd::geteuid().as_raw(),
            control,
            readonly,
        })
    }

    /// The socket file's mode: 0660, or 0666 with a read-only group (whose members are not in
    /// the socket's group; every peer's credentials are checked either way).
    pub fn socket_mode(&self) -> u32 {
        if self.readonly.is_some() {
            0o666
        } else {
            0o660
        }
    }

    /// What `peer` may do.
    pub fn access(&self, peer: &PeerCredentials) -> Result<Access, AccessError> {
        if peer.uid == 0 || peer.uid == self.owner_uid || peer.in_group(self.control.gid) {
            return Ok(Access::Full);
        }
        match &self.readonly {
            Some(ro) if peer.in_group(ro.gid) => Ok(Access::ReadOnly),
            ro => Err(AccessError::NotMember {
                uid: peer.uid,
                gid: peer.gid,
                group: self.control.name.clone(),
                readonly: ro
                    .as_ref()
                    .map(|g| format!(" nor in control.readonly_group '{}'", g.name))
                    .unwrap_or_default(),
            }),
        }
    }

    /// Whether `access` allows `command` (its wire name); `looks_only` says whether the command
    /// changes nothing and writes nothing.
    pub fn permit(
        &self,
        access: Access,
        peer: &PeerCredentials,
        command: &str,
        looks_only: bool,
    ) -> Result<(), AccessError> {
        match access {
            Access::Full => Ok(()),
            Access::ReadOnly if looks_only => Ok(()),
            Access::ReadOnly => Err(AccessError::ReadOnly {
                command: command.to_string(),
                uid: peer.uid,
                group: self
                    .readonly
                    .as_ref()
                    .map(|g| g.name.clone())
                    .unwrap_or_default(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> AccessPolicy {
        AccessPolicy {
            owner_uid: 0,
            control: NamedGroup {
                name: "qdp".into(),
                gid: 900,
            },
            readonly: Some(NamedGroup {
                name: "qdp-ro".into(),
                gid: 901,
            }),
        }
    }

    fn peer(uid: u32, gid: u32, groups: &[u32]) -> PeerCredentials {
        PeerCredentials {
            pid: 1,
            uid,
            gid,
            groups: groups.to_vec(),
        }
    }

    #[test]
    fn members_get_what_their_group_allows() {
        let p = policy();
        assert_eq!(p.access(&peer(0, 0, &[])), Ok(Access::Full));
        assert_eq!(p.access(&peer(1000, 900, &[])), Ok(Access::Full));
        assert_eq!(p.access(&peer(1000, 100, &[5, 900])), Ok(Access::Full));
        assert_eq!(p.access(&peer(1000, 100, &[901])), Ok(Access::ReadOnly));
        // In both: the wider one.
        assert_eq!(p.access(&peer(1000, 901, &[900])), Ok(Access::Full));
        let e = p.access(&peer(1000, 100, &[5])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "permission denied: uid 1000 (gid 100) is not in control.group 'qdp' nor in \
             control.readonly_group 'qdp-ro'"
        );
        let ro = peer(1000, 901, &[]);
        assert_eq!(p.permit(Access::ReadOnly, &ro, "show", true), Ok(()));
        let e = p
            .permit(Access::ReadOnly, &ro, "add-rule", false)
            .unwrap_err();
        assert!(
            e.to_string().contains("'add-rule' is refused to uid 1000"),
            "{e}"
        );
        assert_eq!(p.permit(Access::Full, &ro, "shutdown", false), Ok(()));
        let mut p = p;
        p.readonly = None;
        assert_eq!(p.socket_mode(), 0o660);
        assert_eq!(
            p.access(&peer(1000, 100, &[901])).unwrap_err().to_string(),
            "permission denied: uid 1000 (gid 100) is not in control.group 'qdp'"
        );
    }

    #[test]
    fn groups_come_from_the_status_of_the_same_process() {
        let status = "Name:\tqdpctl\nUid:\t1000\t1000\t1000\t1000\nGid:\t100\t100\t100\t100\n\
                      Groups:\t4 24 900 \n";
        assert_eq!(
            supplementary_groups(status, 1000, 100),
            Some(vec![4, 24, 900])
        );
        // Another process by now (its pid reused): its groups are not taken.
        assert_eq!(supplementary_groups(status, 1001, 100), None);
        assert_eq!(supplementary_groups(status, 1000, 0), None);
        assert_eq!(
            supplementary_groups("Uid:\t1\t1\t1\t1\nGid:\t2\t2\t2\t2\nGroups:\n", 1, 2),
            Some(vec![])
        );
        assert_eq!(supplementary_groups("garbage", 1, 2), None);
    }

    #[test]
    fn a_connected_peer_is_this_process() {
        let (a, _b) = UnixStream::pair().unwrap();
        let me = PeerCredentials::of(&a).unwrap();
        assert_eq!(me.pid, std::process::id() as i32);
        assert_eq!(me.uid, nix::unistd::geteuid().as_raw());
        assert_eq!(me.gid, nix::unistd::getegid().as_raw());
        let policy = AccessPolicy::from_config(&ControlConfig::default()).unwrap();
        assert_eq!(policy.access(&me), Ok(Access::Full));
    }
}
