//! The SFC classifier (RFC 7665 §4.4): plain traffic is matched on its 5-tuple, arrival port and
//! VLAN (the compiled [`Classifier`](crate::tables::classifier::Classifier) with its per-worker
//! flow cache in front) and put on a path (the path's NSH header pushed, then the SFF), sent
//! out of an exit unchained, or dropped. Traffic no rule matches follows `sfc.unmatched`.

use super::SfcState;
use crate::node::Node;
use crate::nodes::trace::Tracer;
use crate::nodes::Verdict;
use crate::packet::PacketBuf;
use crate::stats::DropReason;
use crate::tables::classifier::MatchKey;
use crate::tables::sfc::{RuleAction, SfcTables};
use crate::wire::{FlowKey, L2Info};

impl SfcTables {
    /// Classifies a plain packet: onto a path (NSH pushed, then forwarded), out an exit, or drop.
    #[inline]
    pub(super) fn classify<P: PacketBuf, T: Tracer>(
        &self,
        st: &mut SfcState,
        pkt: &mut P,
        in_port: usize,
        l2: &L2Info,
        tr: &mut T,
    ) -> Verdict {
        let whole = pkt.pkt_len() - l2.l3_offset;
        let flow = FlowKey::extract_within(&pkt.data()[l2.l3_offset..], whole, l2.ethertype).ok();
        let hit = flow.and_then(|flow| {
            let key = MatchKey {
                in_port: in_port as u16,
                vlan: l2.vlans[0],
                flow,
            };
            self.classifier.lookup_cached(&mut st.cache, &key)
        });
        if T::ON {
            tr.step(
                Node::Classifier,
                format_args!(
                    "flow {} → {}",
                    flow.map(|f| f.to_string())
                        .unwrap_or_else(|| "none (not IP)".into()),
                    match hit {
                        Some((rule, _)) => format!(
                            "rule {rule}: {}",
                            match self.rule_actions[rule] {
                                RuleAction::Path(p) => format!("path {}", self.path_names[p]),
                                RuleAction::Exit(x) => format!("exit {}", self.exit_names[x]),
                                RuleAction::Drop => "drop".into(),
                            }
                        ),
                        None => "no rule (sfc.unmatched)".into(),
                    }
                ),
            );
        }
        let action = match hit {
            Some((rule, _)) => self.rule_actions[rule],
            None => match self.unmatched {
                Some(x) => RuleAction::Exit(x),
                None => return Verdict::Drop(DropReason::Unmatched),
            },
        };
        match action {
            RuleAction::Drop => Verdict::Drop(DropReason::ClassifierDrop),
            RuleAction::Exit(x) => self.to_exit(pkt, x),
            RuleAction::Path(pi) => {
                let hdr = &self.paths[pi].nsh;
                if !pkt.prepend(hdr.len()) {
                    return Verdict::Drop(DropReason::NoHeadroom);
                }
                pkt.data_mut()[..hdr.len()].copy_from_slice(hdr);
                self.sff_forward(st, pkt, Some(flow), None, tr)
            }
        }
    }
}
