//! A worker's mutable SFC state, kept beside the shared immutable [`SfcTables`]: the classifier's
//! flow cache, one flow cache per firewall, its side of the proxy's per-flow NSH headers (its own
//! shard of [`ProxyFlows`], which every worker reads), the transit memo and the packet count of
//! each SF. Carried across table swaps (read-copy-update): the caches notice a changed
//! classifier by themselves, the proxy's headers stay, counts follow SFs by name, the memo
//! starts empty. A changed `sfc.proxy_flows` takes effect at the next start.

use std::sync::Arc;

use super::proxy_table::{ProxyFlows, ProxyTable};
use super::transit::TransitMemo;
use crate::tables::classifier::FlowCache;
use crate::tables::sfc::{SfImpl, SfcTables};

/// A worker's mutable SFC state.
#[derive(Debug)]
pub struct SfcState {
    /// Packets each SF instance handled (built-in, remote and proxied), by SF index.
    pub sf_packets: Vec<u64>,
    pub(super) cache: FlowCache,
    /// One flow cache per SF (used by firewalls only; tiny for the others).
    pub(super) sf_caches: Vec<FlowCache>,
    pub(super) proxy: ProxyTable,
    /// The transit fast path's last decision, so that a run of packets on one (SPI, SI) reads
    /// no table.
    pub(super) transit: TransitMemo,
}

/// The flow cache an SF of these tables gets.
fn sf_cache(t: &SfcTables, imp: &SfImpl) -> FlowCache {
    match imp {
        SfImpl::Firewall { .. } => FlowCache::new(t.flow_cache),
        _ => FlowCache::new(2),
    }
}

impl SfcTables {
    /// The fresh mutable state of a lone worker for these tables (its proxy headers shared
    /// with nobody).
    pub fn new_state(&self) -> SfcState {
        self.new_worker_state(&ProxyFlows::new(1, self.proxy_flows), 0)
    }

    /// The fresh mutable state of worker `worker` for these tables, whose proxy headers go to
    /// its shard of `proxy`, where every worker finds them. Panics when `proxy` has no shard
    /// for `worker`.
    pub fn new_worker_state(&self, proxy: &Arc<ProxyFlows>, worker: usize) -> SfcState {
        SfcState {
            sf_packets: vec![0; self.sfs.len()],
            cache: FlowCache::new(self.flow_cache),
            sf_caches: self.sfs.iter().map(|sf| sf_cache(self, &sf.imp)).collect(),
            proxy: ProxyTable::new(Arc::clone(proxy), worker),
            transit: TransitMemo::NONE,
        }
    }

    /// A worker's state carried over to these (new) tables from `old_tables`: the flow caches
    /// (they notice the classifier changed by themselves), the proxy's per-flow headers and the
    /// SF packet counts, matched by SF name. Allocates only for SFs the old tables lacked.
    pub fn carry_state(&self, old: SfcState, old_tables: &SfcTables, worker: usize) -> SfcState {
        let SfcState {
            cache,
            mut sf_caches,
            proxy,
            ..
        } = old;
        let mut caches = Vec::with_capacity(self.sfs.len());
        for sf in &self.sfs {
            let reuse = old_tables
                .sfs
                .iter()
                .position(|o| o.name == sf.name)
                .filter(|&i| i < sf_caches.len())
                .map(|i| std::mem::replace(&mut sf_caches[i], FlowCache::new(2)));
            caches.push(reuse.unwrap_or_else(|| sf_cache(self, &sf.imp)));
        }
        SfcState {
            sf_packets: self.sfs.iter().map(|sf| sf.counter.load(worker)).collect(),
            cache,
            sf_caches: caches,
            proxy,
            transit: TransitMemo::NONE,
        }
    }

    /// Publishes a worker's SF packet counts (only that worker writes its slots).
    pub fn publish_sf_counts(&self, st: &SfcState, worker: usize) {
        for (sf, n) in self.sfs.iter().zip(&st.sf_packets) {
            sf.counter.store(worker, *n);
        }
    }
}
