//! Cross-connect: the SR-IOV VF fast path. Port A ⇄ port B with no lookup, optionally rewriting the
//! source and destination MAC addresses of each frame.
//!
//! Without a rewrite the frames are not touched at all (the burst goes from the rx queue straight to
//! the tx queue). With one, frames shorter than an Ethernet header are dropped as `runt`.

use crate::config::MacRewrite;
use crate::stats::DropReason;
use crate::wire::ethernet::{self, HEADER_LEN as ETHERNET_HEADER_LEN};

/// One direction of a cross-connect, as the worker runs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XconnectDirection {
    /// Index of the output port in the pipeline's port list.
    pub out_port: usize,
    /// The rewrite, `None` when both addresses stay.
    pub rewrite: Option<MacRewrite>,
}

impl XconnectDirection {
    pub fn new(out_port: usize, rewrite: MacRewrite) -> Self {
        let rewrite = if rewrite.src_mac.is_none() && rewrite.dst_mac.is_none() {
            None
        } else {
            Some(rewrite)
        };
        XconnectDirection { out_port, rewrite }
    }
}

/// Applies a MAC rewrite to one frame.
#[inline]
pub fn rewrite_macs(frame: &mut [u8], rw: &MacRewrite) -> Result<(), DropReason> {
    if frame.len() < ETHERNET_HEADER_LEN {
        return Err(DropReason::Runt);
    }
    if let Some(dst) = rw.dst_mac {
        frame[ethernet::field::DESTINATION].copy_from_slice(&dst.0);
    }
    if let Some(src) = rw.src_mac {
        frame[ethernet::field::SOURCE].copy_from_slice(&src.0);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::EthernetAddress;

    #[test]
    fn rewrites_only_what_is_configured() {
        let mut f = [0u8; 60];
        f[12] = 0x08;
        let rw = MacRewrite {
            src_mac: None,
            dst_mac: Some(EthernetAddress([2, 0, 0, 0, 0, 9])),
        };
        rewrite_macs(&mut f, &rw).unwrap();
        assert_eq!(&f[0..6], &[2, 0, 0, 0, 0, 9]);
        assert_eq!(&f[6..12], &[0; 6]);
        assert_eq!(f[12], 0x08);
        let rw = MacRewrite {
            src_mac: Some(EthernetAddress([2, 0, 0, 0, 0, 1])),
            dst_mac: None,
        };
        rewrite_macs(&mut f, &rw).unwrap();
        assert_eq!(&f[6..12], &[2, 0, 0, 0, 0, 1]);
    }

    #[test]
    fn runt_is_dropped() {
        let rw = MacRewrite {
            src_mac: Some(EthernetAddress([2, 0, 0, 0, 0, 1])),
            dst_mac: None,
        };
        assert_eq!(rewrite_macs(&mut [0u8; 13], &rw), Err(DropReason::Runt));
        assert_eq!(
            XconnectDirection::new(1, MacRewrite::default()).rewrite,
            None
        );
    }
}
