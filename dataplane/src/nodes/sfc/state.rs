//! A worker's mutable SFC state, kept beside the shared immutable [`SfcTables`]: the classifier's
//! flow cache, one flow cache per firewall, the connections of stateful firewalls and `lb` SFs,
//! the `ids` SFs' scratch, its side of the proxy's per-flow NSH headers (its own
//! shard of [`ProxyFlows`], which every worker reads), the transit memo and the packet count of
//! each SF. Carried across table swaps (read-copy-update): the caches notice a changed
//! classifier by themselves, the proxy's headers and connections stay (by SF name, while the
//! table keeps its size), counts follow SFs by name, the memo
//! starts empty. A changed `sfc.proxy_flows` takes effect at the next start.

use std::sync::Arc;

use super::classify_fast::FastFlows;
use super::lb::LbConn;
use super::proxy_table::{ProxyFlows, ProxyTable};
use super::transit::TransitMemo;
use crate::tables::classifier::FlowCache;
use crate::tables::conn_table::ConnTable;
use crate::tables::ids::Scratch;
use crate::tables::sfc::{SfImpl, SfcTables};

/// A worker's mutable SFC state.
#[derive(Debug)]
pub struct SfcState {
    /// Packets each SF instance handled (built-in, remote and proxied), by SF index.
    pub sf_packets: Vec<u64>,
    pub(super) cache: FlowCache,
    /// One flow cache per SF (used by firewalls only; tiny for the others).
    pub(super) sf_caches: Vec<FlowCache>,
    /// Each SF's connections (stateful firewalls, `lb` SFs) or inspection scratch (`ids`).
    pub(super) sf_conns: Vec<SfConns>,
    pub(super) proxy: ProxyTable,
    /// The transit fast path's last decision, so that a run of packets on one (SPI, SI) reads
    /// no table.
    pub(super) transit: TransitMemo,
    /// The classifier fast path's decisions by flow.
    pub(super) fast: FastFlows,
}

/// An SF's per-worker state beyond its flow cache.
#[derive(Debug)]
pub(super) enum SfConns {
    None,
    /// A stateful firewall's connections, by their opening direction.
    Firewall(ConnTable<()>),
    /// An `lb` SF's connections and their backends.
    Lb(ConnTable<LbConn>),
    /// An `ids` SF's scratch, for the engine at that address.
    Ids {
        engine: usize,
        scratch: Scratch,
    },
}

impl SfConns {
    fn new(imp: &SfImpl) -> SfConns {
        match imp {
            SfImpl::Firewall {
                stateful: Some(n), ..
            } => SfConns::Firewall(ConnTable::new(*n)),
            SfImpl::Lb(lb) => SfConns::Lb(ConnTable::new(lb.connections)),
            SfImpl::Ids(ids) => SfConns::Ids {
                engine: std::sync::Arc::as_ptr(&ids.engine) as usize,
                scratch: ids.engine.scratch(),
            },
            _ => SfConns::None,
        }
    }

    /// Whether this state serves `imp` as it is (else a new one is made).
    fn fits(&self, imp: &SfImpl) -> bool {
        match (self, imp) {
            (
                SfConns::Firewall(t),
                SfImpl::Firewall {
                    stateful: Some(n), ..
                },
            ) => t.capacity() == ConnTable::<()>::new(*n).capacity(),
            (SfConns::Lb(t), SfImpl::Lb(lb)) => {
                t.capacity() == ConnTable::<LbConn>::new(lb.connections).capacity()
            }
            (SfConns::Ids { .. }, SfImpl::Ids(_)) => true,
            (SfConns::None, i) => matches!(SfConns::new(i), SfConns::None),
            _ => false,
        }
    }
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
            sf_conns: self.sfs.iter().map(|sf| SfConns::new(&sf.imp)).collect(),
            proxy: ProxyTable::new(Arc::clone(proxy), worker),
            transit: TransitMemo::NONE,
            fast: FastFlows::new(4 * self.flow_cache),
        }
    }

    /// A worker's state carried over to these (new) tables from `old_tables`: the flow caches
    /// (they notice the classifier changed by themselves), the proxy's per-flow headers and the
    /// SF packet counts, matched by SF name. Allocates only for SFs the old tables lacked.
    pub fn carry_state(&self, old: SfcState, old_tables: &SfcTables, worker: usize) -> SfcState {
        let SfcState {
            cache,
            mut sf_caches,
            mut sf_conns,
            proxy,
            fast,
            ..
        } = old;
        let mut caches = Vec::with_capacity(self.sfs.len());
        let mut conns = Vec::with_capacity(self.sfs.len());
        for sf in &self.sfs {
            let old_i = old_tables.sfs.iter().position(|o| o.name == sf.name);
            let reuse = old_i
                .filter(|&i| i < sf_caches.len())
                .map(|i| std::mem::replace(&mut sf_caches[i], FlowCache::new(2)));
            caches.push(reuse.unwrap_or_else(|| sf_cache(self, &sf.imp)));
            let kept = old_i
                .filter(|&i| i < sf_conns.len() && sf_conns[i].fits(&sf.imp))
                .map(|i| std::mem::replace(&mut sf_conns[i], SfConns::None));
            conns.push(kept.unwrap_or_else(|| SfConns::new(&sf.imp)));
        }
        SfcState {
            sf_packets: self.sfs.iter().map(|sf| sf.counter.load(worker)).collect(),
            cache,
            sf_caches: caches,
            sf_conns: conns,
            proxy,
            transit: TransitMemo::NONE,
            // Its decisions hold for the tables they were taken on only.
            fast: if fast.capacity() == FastFlows::capacity_for(4 * self.flow_cache) {
                fast
            } else {
                FastFlows::new(4 * self.flow_cache)
            },
        }
    }

    /// Publishes a worker's SF packet counts (only that worker writes its slots).
    pub fn publish_sf_counts(&self, st: &SfcState, worker: usize) {
        for (sf, n) in self.sfs.iter().zip(&st.sf_packets) {
            sf.counter.store(worker, *n);
        }
    }
}
