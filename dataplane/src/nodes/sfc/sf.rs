//! The built-in SFs, run in place by the SFF: `counter` (the SFF counts every SF's packets) and
//! `firewall` (stateless allow/deny rules on the inner 5-tuple, first match by priority, with a
//! per-SF flow cache in each worker). A packet they keep goes back to the SFF with SI − 1.

use super::SfcState;
use crate::stats::DropReason;
use crate::tables::classifier::{ClassifierAction, MatchKey};
use crate::tables::sfc::{SfImpl, SfcTables};
use crate::wire::FlowKey;

impl SfcTables {
    /// Runs built-in SF `inst` on a packet of `flow` (its inner 5-tuple; `None` when it is not
    /// IP): `Err` with the reason when the SF drops it.
    #[inline]
    pub(super) fn builtin_sf(
        &self,
        st: &mut SfcState,
        inst: usize,
        flow: Option<&FlowKey>,
    ) -> Result<(), DropReason> {
        match &self.sfs[inst].imp {
            SfImpl::Firewall {
                rules,
                default_allow,
            } => {
                let allow = match flow {
                    Some(f) => {
                        let key = MatchKey {
                            in_port: u16::MAX,
                            vlan: None,
                            flow: *f,
                        };
                        match rules.lookup_cached(&mut st.sf_caches[inst], &key) {
                            Some((_, ClassifierAction::Drop)) => false,
                            Some(_) => true,
                            None => *default_allow,
                        }
                    }
                    None => *default_allow,
                };
                if allow {
                    Ok(())
                } else {
                    Err(DropReason::FirewallDeny)
                }
            }
            _ => Ok(()),
        }
    }
}
