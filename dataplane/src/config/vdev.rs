//! Virtual devices that reach a peer through a Unix socket: `net_vhost` (a VM, `iface=`) and
//! `net_memif` (a container, `socket=`). Their socket lives in qdp's run directory, the folder of
//! the control socket (`/run/qdp` by default): the pipeline file names it relative to that folder,
//! and qdp turns the name into a full path when it starts the device. A memif socket is a file
//! there, never an abstract one, so a peer in another network namespace finds it.

use std::path::Path;

/// A device kind whose peer connects over a Unix socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocketDevice {
    /// `net_vhost`: a VM's virtio NIC (vhost-user); the socket is `iface=`.
    Vhost,
    /// `net_memif`: a container's memif interface; the socket is `socket=`.
    Memif,
}

impl SocketDevice {
    /// The kind of the device that `args` (vdev arguments) start, if it is one of these.
    pub fn of(args: &str) -> Option<SocketDevice> {
        let dev = super::vdev_name(args);
        if dev.starts_with("net_vhost") {
            Some(SocketDevice::Vhost)
        } else if dev.starts_with("net_memif") {
            Some(SocketDevice::Memif)
        } else {
            None
        }
    }

    /// The vdev argument that names the socket.
    pub fn socket_key(self) -> &'static str {
        match self {
            SocketDevice::Vhost => "iface",
            SocketDevice::Memif => "socket",
        }
    }
}

/// The value of `key=` in vdev arguments.
pub fn vdev_arg<'a>(args: &'a str, key: &str) -> Option<&'a str> {
    args.split(',')
        .skip(1)
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| k.trim() == key)
        .map(|(_, v)| v.trim())
}

/// Checks the socket name of a vhost-user or memif device: present, relative, inside the run
/// directory. `Err` says what is wrong, for the `vdev` field.
pub fn check_socket(args: &str) -> Result<(), String> {
    let Some(kind) = SocketDevice::of(args) else {
        return Ok(());
    };
    let key = kind.socket_key();
    let Some(name) = vdev_arg(args, key) else {
        return Err(format!(
            "{} needs {key}=NAME, the socket's name in qdp's run directory (the control socket's folder)",
            super::vdev_name(args)
        ));
    };
    let path = Path::new(name);
    if name.is_empty()
        || path.is_absolute()
        || path
            .components()
            .any(|c| !matches!(c, std::path::Component::Normal(_)))
    {
        return Err(format!(
            "{key}={name}: name the socket relative to qdp's run directory (the control socket's folder, /run/qdp by default), without '..'"
        ));
    }
    if kind == SocketDevice::Memif && vdev_arg(args, "socket-abstract").is_some() {
        return Err(
            "socket-abstract: qdp always uses a socket file, so that a peer in another network namespace finds it"
                .to_string(),
        );
    }
    Ok(())
}

/// The vdev arguments with the socket name made a full path under `run_dir` (and, for memif, a
/// socket file rather than an abstract one). Other devices come back unchanged.
pub fn resolve_socket(args: &str, run_dir: &Path) -> String {
    let Some(kind) = SocketDevice::of(args) else {
        return args.to_string();
    };
    let key = kind.socket_key();
    let mut out: Vec<String> = Vec::new();
    for (i, part) in args.split(',').enumerate() {
        match part.split_once('=') {
            Some((k, v)) if i > 0 && k.trim() == key => {
                out.push(format!("{key}={}", run_dir.join(v.trim()).display()))
            }
            _ => out.push(part.to_string()),
        }
    }
    if kind == SocketDevice::Memif {
        out.push("socket-abstract=no".to_string());
    }
    out.join(",")
}

/// The socket paths a pipeline's devices will use under `run_dir`.
pub fn socket_paths<'a>(
    vdevs: impl IntoIterator<Item = &'a str>,
    run_dir: &Path,
) -> Vec<std::path::PathBuf> {
    vdevs
        .into_iter()
        .filter_map(|v| {
            let kind = SocketDevice::of(v)?;
            vdev_arg(v, kind.socket_key()).map(|name| run_dir.join(name))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_names_are_relative_to_the_run_directory() {
        assert!(check_socket("net_vhost0,iface=vm1.sock,queues=1").is_ok());
        assert!(check_socket("net_memif0,role=server,socket=sf/memif.sock").is_ok());
        assert!(check_socket("net_null0").is_ok());
        let e = check_socket("net_vhost0,queues=1").unwrap_err();
        assert!(e.contains("iface=NAME"), "{e}");
        let e = check_socket("net_vhost0,iface=/tmp/vm1.sock").unwrap_err();
        assert!(e.contains("relative"), "{e}");
        assert!(check_socket("net_memif0,socket=../x.sock").is_err());
        assert!(check_socket("net_memif0,socket=m.sock,socket-abstract=yes").is_err());
    }

    #[test]
    fn resolving_puts_the_socket_under_the_run_directory() {
        let dir = Path::new("/run/qdp");
        assert_eq!(
            resolve_socket("net_vhost0,iface=vm1.sock,queues=1", dir),
            "net_vhost0,iface=/run/qdp/vm1.sock,queues=1"
        );
        assert_eq!(
            resolve_socket("net_memif0,role=server,socket=m.sock", dir),
            "net_memif0,role=server,socket=/run/qdp/m.sock,socket-abstract=no"
        );
        assert_eq!(
            resolve_socket("net_null0,size=64", dir),
            "net_null0,size=64"
        );
        assert_eq!(
            socket_paths(["net_vhost0,iface=a.sock", "net_null0"], dir),
            vec![dir.join("a.sock")]
        );
    }
}
