//! The built-in `ids` SF: signature inspection of the inner packet.
//!
//! The inner IPv4 packet's addresses, ports, TCP flags and payload (the first segment's) go to
//! the SF's engine ([`crate::tables::ids`]), which runs its multi-pattern prefilter once over the
//! payload and verifies only the rules whose fast pattern occurs. The packet's direction for
//! `flow:to_server|to_client` comes from its path: a forward path of a symmetric chain goes to
//! the server, its reverse path to the client. Each alert is queued for the main thread, which
//! writes it as an EVE JSON line; inline, a `drop` rule's match drops the packet (`ids-drop`),
//! in tap mode it only alerts. A TCP or UDP header that does not fit the packet is dropped as
//! `ids-malformed`, never read past. Inner IPv6 passes uninspected.

use std::net::{IpAddr, Ipv4Addr};
use std::time::SystemTime;

use super::sf::InnerIp;
use super::state::SfConns;
use super::SfcState;
use crate::stats::DropReason;
use crate::tables::ids::{Inspect, Verdict};
use crate::tables::ids_sf::{AlertRecord, IdsSf};
use crate::tables::sfc::SfcTables;
use crate::wire::{nsh, FlowKey, IpFamily};

impl SfcTables {
    /// Runs `ids` SF `inst` on a packet (it starts at its NSH header) of `flow`.
    #[inline]
    pub(super) fn ids_sf(
        &self,
        st: &mut SfcState,
        inst: usize,
        ids: &IdsSf,
        data: &mut [u8],
        flow: Option<&FlowKey>,
    ) -> Result<(), DropReason> {
        let Some(f) = flow.filter(|f| f.family == IpFamily::Ipv4) else {
            return Ok(());
        };
        let Some(ip) = InnerIp::find(data) else {
            return Ok(());
        };
        let (payload, tcp_flags) = match ip.l4 {
            None => (ip.l3 + usize::from(data[ip.l3] & 0xf) * 4, None),
            Some(l4) => match ip.protocol {
                6 => {
                    let off = data
                        .get(l4 + 12)
                        .map(|b| usize::from(b >> 4) * 4)
                        .filter(|&o| o >= 20 && l4 + o <= ip.end)
                        .ok_or(DropReason::IdsMalformed)?;
                    (l4 + off, data.get(l4 + 13).copied())
                }
                17 if l4 + 8 > ip.end => return Err(DropReason::IdsMalformed),
                17 => (l4 + 8, None),
                1 if l4 + 4 > ip.end => return Err(DropReason::IdsMalformed),
                1 => (l4 + 4, None),
                _ => (l4, None),
            },
        };
        let body = data.get(payload..ip.end).unwrap_or(&[]);
        let h = nsh::Packet::new_unchecked(&data[..]);
        let (spi, si) = (h.spi(), h.si());
        let to_server = ids
            .directions
            .iter()
            .find(|(s, _)| *s == spi)
            .map(|(_, d)| *d);
        let SfConns::Ids { engine, scratch } = &mut st.sf_conns[inst] else {
            return Ok(());
        };
        if *engine != std::sync::Arc::as_ptr(&ids.engine) as usize {
            *engine = std::sync::Arc::as_ptr(&ids.engine) as usize;
            *scratch = ids.engine.scratch();
        }
        let a4 = |a: &[u8; 16]| IpAddr::V4(Ipv4Addr::new(a[0], a[1], a[2], a[3]));
        let verdict = ids.engine.inspect(
            &Inspect {
                src: a4(&f.src),
                dst: a4(&f.dst),
                protocol: ip.protocol,
                src_port: f.src_port,
                dst_port: f.dst_port,
                tcp_flags,
                to_server,
                payload: body,
            },
            scratch,
        );
        if scratch.limited() > 0 {
            ids.alerts.limited.fetch_add(
                u64::from(scratch.limited()),
                std::sync::atomic::Ordering::Relaxed,
            );
        }
        let drop = ids.inline && matches!(verdict, Verdict::Drop);
        if !scratch.hits().is_empty() {
            let time = SystemTime::now();
            let rules = ids.engine.rules();
            for &r in scratch.hits() {
                ids.alerts.push(AlertRecord {
                    time,
                    flow: *f,
                    rule: r,
                    sid: rules.get(r as usize).map_or(0, |x| x.sid),
                    blocked: drop,
                    spi,
                    si,
                });
            }
        }
        if drop {
            Err(DropReason::IdsDrop)
        } else {
            Ok(())
        }
    }
}
