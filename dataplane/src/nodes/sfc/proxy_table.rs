//! The SFC proxy's per-flow memory of NSH headers ([`ProxyFlows`]), shared by every worker: one
//! shard per worker, written only by that worker and read by all, without a lock.
//!
//! Why shared: the frame a proxied SF sends back arrives on the SF's port, and which worker
//! receives it is up to how that port spreads flows over its receive queues (RSS with its key
//! and table, `net_af_packet`'s PACKET_FANOUT hash, the `[[workers]] rx` map, a request that
//! arrived in VXLAN-GPE and was hashed on its outer headers). A worker looks in its own shard
//! first, where the header is when the queues are flow-affine, then in the other workers'
//! shards, so a reply finds its flow's header whichever worker it reaches.
//!
//! How: each slot is a sequence lock over atomic words (H.-J. Boehm, "Can seqlocks get along with
//! programming language memory models?", MSPC 2012). Its owner makes the slot's sequence odd,
//! writes the key and header words, and makes the sequence even again; a reader of another
//! worker's shard reads the sequence, the words, then the sequence again, and trusts the words
//! only when both reads gave the same even number (it retries [`READ_TRIES`] times, then takes
//! the slot for another flow's). The owner alone writes its shard, so it never needs a
//! read-modify-write; it rewrites a slot only when the flow's header changed, so the lines other
//! workers read stay clean while a flow's header stays the same. On x86-64 every atomic access
//! here is a plain load or store and the fences only order the compiler.
//!
//! Cost per packet: toward the SF, one probe of the worker's own shard and, for a flow whose
//! header is already there, only a comparison; back from the SF, one probe of the own shard
//! and, only when it misses, one probe of each other worker's shard, each slot read with two
//! more loads (the sequence, twice). One worker pays nothing more than the probe of its shard.
//!
//! Limits: a fixed number of flows per shard (`sfc.proxy_flows`), open addressing over a window
//! of 8 slots whose least recently used a new flow overwrites when all are taken, no allocation
//! after construction. A reply finds no state (`proxy-no-state`) when its flow was overwritten in
//! every shard, or when the only shard holding it is being rewritten at that instant (its owner
//! preempted in the middle of the write). A flow whose packets toward the SF reach several
//! workers is kept by each of them with the header it saw last; a reply gets its own worker's
//! copy, else the first other worker's that has one.

use std::sync::atomic::{
    fence, AtomicU64, Ordering::Acquire, Ordering::Relaxed, Ordering::Release,
};
use std::sync::Arc;

use crate::wire::{FlowKey, IpFamily};

/// Largest NSH header the proxy keeps per flow.
pub const PROXY_HEADER_MAX: usize = 64;

/// Slots a flow may take, from its hash on.
const PROBE: usize = 8;

/// Times a reader rereads a slot of another worker that changed under it.
pub const READ_TRIES: usize = 4;

const KEY_WORDS: usize = 5;
const HDR_WORDS: usize = PROXY_HEADER_MAX / 8;
/// In the last key word: the slot holds a flow.
const USED: u64 = 1 << 63;
/// In the last key word: the header's length in bytes.
const LEN_SHIFT: u32 = 48;
const LEN_BITS: u64 = 0xff << LEN_SHIFT;

/// One flow: the sequence, the key (the flow, with its header's length), the header.
#[derive(Debug, Default)]
#[repr(align(64))]
struct Slot {
    seq: AtomicU64,
    key: [AtomicU64; KEY_WORDS],
    hdr: [AtomicU64; HDR_WORDS],
}

/// One worker's slots.
#[derive(Debug)]
struct Shard {
    slots: Box<[Slot]>,
    mask: usize,
}

/// The proxy's per-flow NSH headers of every worker: one shard per worker, each written by its
/// worker only, all read by every worker.
#[derive(Debug)]
pub struct ProxyFlows {
    shards: Box<[Shard]>,
}

impl ProxyFlows {
    /// Shards for `workers` workers, each holding `flows_per_worker` flows (rounded up to a power
    /// of two, at least 8).
    pub fn new(workers: usize, flows_per_worker: usize) -> Arc<ProxyFlows> {
        let cap = flows_per_worker.max(PROBE).next_power_of_two();
        Arc::new(ProxyFlows {
            shards: (0..workers.max(1))
                .map(|_| Shard {
                    slots: (0..cap).map(|_| Slot::default()).collect(),
                    mask: cap - 1,
                })
                .collect(),
        })
    }

    /// The number of shards (workers).
    pub fn workers(&self) -> usize {
        self.shards.len()
    }
}

/// What reading a slot found.
enum SlotRead {
    /// The flow sought, its header and its length.
    Hit([u64; HDR_WORDS], usize),
    /// No flow: none was ever stored here, so the flow sought is not further on either.
    Empty,
    /// Another flow (or, in another worker's shard, a slot that kept changing).
    Other,
}

/// The key words of a flow (without the header length).
fn pack(k: &FlowKey) -> [u64; KEY_WORDS] {
    let word = |b: &[u8]| u64::from_ne_bytes(b.try_into().expect("8 bytes"));
    let family: u64 = match k.family {
        IpFamily::Ipv4 => 4,
        IpFamily::Ipv6 => 6,
    };
    [
        word(&k.src[..8]),
        word(&k.src[8..]),
        word(&k.dst[..8]),
        word(&k.dst[8..]),
        USED | family << 40
            | u64::from(u8::from(k.protocol)) << 32
            | u64::from(k.src_port) << 16
            | u64::from(k.dst_port),
    ]
}

/// Whether a slot holds the flow `want`, read with plain (relaxed) loads: its last key word
/// (with the header's length) when it does, else what it holds.
#[inline]
fn holds(slot: &Slot, want: &[u64; KEY_WORDS]) -> Result<u64, SlotRead> {
    let last = slot.key[KEY_WORDS - 1].load(Relaxed);
    if last & USED == 0 {
        return Err(SlotRead::Empty);
    }
    if last & !LEN_BITS != want[KEY_WORDS - 1]
        || (0..KEY_WORDS - 1).any(|j| slot.key[j].load(Relaxed) != want[j])
    {
        return Err(SlotRead::Other);
    }
    Ok(last)
}

/// Reads a slot with plain (relaxed) loads: the words of the flow `want`, if it is that flow.
#[inline]
fn load(slot: &Slot, want: &[u64; KEY_WORDS]) -> SlotRead {
    let last = match holds(slot, want) {
        Ok(last) => last,
        Err(other) => return other,
    };
    let len = (((last & LEN_BITS) >> LEN_SHIFT) as usize).min(PROXY_HEADER_MAX);
    let mut hdr = [0u64; HDR_WORDS];
    for (h, w) in hdr.iter_mut().zip(&slot.hdr).take(len.div_ceil(8)) {
        *h = w.load(Relaxed);
    }
    SlotRead::Hit(hdr, len)
}

/// Reads a slot another worker writes: [`load`] between two reads of the sequence that must
/// agree on an even number.
#[inline]
fn load_published(slot: &Slot, want: &[u64; KEY_WORDS]) -> SlotRead {
    for _ in 0..READ_TRIES {
        let before = slot.seq.load(Acquire);
        if before & 1 == 0 {
            let read = load(slot, want);
            fence(Acquire);
            if slot.seq.load(Relaxed) == before {
                return read;
            }
        }
        std::hint::spin_loop();
    }
    SlotRead::Other
}

impl Shard {
    /// The header of flow `want` (hashed to `base`), read with `read`.
    #[inline(always)]
    fn find(
        &self,
        want: &[u64; KEY_WORDS],
        base: usize,
        read: impl Fn(&Slot, &[u64; KEY_WORDS]) -> SlotRead,
    ) -> Option<([u8; PROXY_HEADER_MAX], usize)> {
        for i in 0..PROBE {
            match read(&self.slots[(base + i) & self.mask], want) {
                SlotRead::Hit(words, len) => {
                    let mut hdr = [0u8; PROXY_HEADER_MAX];
                    for (b, w) in hdr.chunks_exact_mut(8).zip(words) {
                        b.copy_from_slice(&w.to_ne_bytes());
                    }
                    return Some((hdr, len));
                }
                SlotRead::Empty => return None,
                SlotRead::Other => {}
            }
        }
        None
    }
}

/// A worker's side of [`ProxyFlows`]: it writes its own shard and reads them all. Also keeps
/// when each slot of its shard was last used, which only it reads.
#[derive(Debug)]
pub(super) struct ProxyTable {
    flows: Arc<ProxyFlows>,
    me: usize,
    stamps: Box<[u64]>,
    clock: u64,
}

impl ProxyTable {
    /// Worker `me`'s side of `flows`.
    pub(super) fn new(flows: Arc<ProxyFlows>, me: usize) -> ProxyTable {
        assert!(me < flows.workers(), "worker {me} has no proxy shard");
        let stamps = vec![0; flows.shards[me].slots.len()].into_boxed_slice();
        ProxyTable {
            flows,
            me,
            stamps,
            clock: 0,
        }
    }

    /// Remembers `hdr` (at most [`PROXY_HEADER_MAX`] bytes) as the NSH header of flow `key`.
    pub(super) fn insert(&mut self, key: &FlowKey, hdr: &[u8]) {
        debug_assert!(hdr.len() <= PROXY_HEADER_MAX);
        let len = hdr.len().min(PROXY_HEADER_MAX);
        let mut want = pack(key);
        self.clock += 1;
        let shard = &self.flows.shards[self.me];
        let base = key.hash() as usize;
        let mut victim = base & shard.mask;
        let mut held = None;
        for i in 0..PROBE {
            let s = (base + i) & shard.mask;
            match holds(&shard.slots[s], &want) {
                Ok(last) => {
                    victim = s;
                    held = Some(last);
                    break;
                }
                Err(SlotRead::Empty) => {
                    victim = s;
                    break;
                }
                Err(_) if self.stamps[s] < self.stamps[victim] => victim = s,
                Err(_) => {}
            }
        }
        self.stamps[victim] = self.clock;
        want[KEY_WORDS - 1] |= (len as u64) << LEN_SHIFT;
        let mut bytes = [0u8; PROXY_HEADER_MAX];
        bytes[..len].copy_from_slice(&hdr[..len]);
        let mut words = [0u64; HDR_WORDS];
        for (w, b) in words.iter_mut().zip(bytes.chunks_exact(8)) {
            *w = u64::from_ne_bytes(b.try_into().expect("8 bytes"));
        }
        let slot = &shard.slots[victim];
        let n = len.div_ceil(8);
        if held == Some(want[KEY_WORDS - 1])
            && slot.hdr[..n]
                .iter()
                .zip(&words)
                .all(|(h, w)| h.load(Relaxed) == *w)
        {
            // The flow's header is there already: other workers' reads stay undisturbed.
            return;
        }
        // Only this worker writes its shard: no read-modify-write is needed.
        let seq = slot.seq.load(Relaxed);
        slot.seq.store(seq.wrapping_add(1), Relaxed);
        fence(Release);
        for (k, w) in slot.key.iter().zip(want) {
            k.store(w, Relaxed);
        }
        for (h, w) in slot.hdr[..n].iter().zip(words) {
            h.store(w, Relaxed);
        }
        slot.seq.store(seq.wrapping_add(2), Release);
    }

    /// The NSH header of flow `key` and its length: from this worker's shard, else from the
    /// first other worker's that has it.
    pub(super) fn get(&self, key: &FlowKey) -> Option<([u8; PROXY_HEADER_MAX], usize)> {
        let want = pack(key);
        let base = key.hash() as usize;
        let shards = &self.flows.shards;
        if let Some(found) = shards[self.me].find(&want, base, load) {
            return Some(found);
        }
        (1..shards.len())
            .map(|i| &shards[(self.me + i) % shards.len()])
            .find_map(|s| s.find(&want, base, load_published))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::IpProtocol;

    fn flow(i: u32) -> FlowKey {
        let mut src = [0u8; 16];
        src[..4].copy_from_slice(&[10, 1, (i >> 8) as u8, i as u8]);
        let mut dst = [0u8; 16];
        dst[..4].copy_from_slice(&[10, 2, 0, 1]);
        FlowKey {
            family: IpFamily::Ipv4,
            src,
            dst,
            protocol: IpProtocol::Tcp,
            src_port: 1024 + i as u16,
            dst_port: 5201,
        }
    }

    /// A header of `4 * (2 + i % 15)` bytes, each byte `i`.
    fn header(i: u32) -> Vec<u8> {
        vec![i as u8; 4 * (2 + i as usize % 15)]
    }

    fn got(t: &ProxyTable, i: u32) -> Option<Vec<u8>> {
        t.get(&flow(i)).map(|(h, len)| h[..len].to_vec())
    }

    #[test]
    fn a_header_one_worker_stores_is_found_by_every_worker() {
        let flows = ProxyFlows::new(3, 1024);
        let mut w0 = ProxyTable::new(Arc::clone(&flows), 0);
        let w1 = ProxyTable::new(Arc::clone(&flows), 1);
        let w2 = ProxyTable::new(Arc::clone(&flows), 2);
        for i in 0..40 {
            w0.insert(&flow(i), &header(i));
        }
        for i in 0..40 {
            for (w, t) in [&w0, &w1, &w2].into_iter().enumerate() {
                assert_eq!(got(t, i), Some(header(i)), "flow {i} from worker {w}");
            }
        }
        assert_eq!(got(&w1, 40), None, "a flow nobody stored");
        // Tables of their own (one shard each, as before) do not see each other's flows.
        let alone = ProxyTable::new(ProxyFlows::new(1, 64), 0);
        assert_eq!(got(&alone, 3), None);
    }

    #[test]
    fn a_worker_prefers_its_own_copy_then_the_first_other() {
        let flows = ProxyFlows::new(3, 64);
        let mut w0 = ProxyTable::new(Arc::clone(&flows), 0);
        let mut w1 = ProxyTable::new(Arc::clone(&flows), 1);
        let w2 = ProxyTable::new(Arc::clone(&flows), 2);
        w0.insert(&flow(1), &[1; 24]);
        w1.insert(&flow(1), &[2; 28]);
        assert_eq!(got(&w0, 1), Some(vec![1; 24]));
        assert_eq!(got(&w1, 1), Some(vec![2; 28]));
        // Worker 2 looks at worker 0 first (the next after itself, wrapping around).
        assert_eq!(got(&w2, 1), Some(vec![1; 24]));
        // A changed header replaces the old one in place.
        w0.insert(&flow(1), &[3; 24]);
        assert_eq!(got(&w2, 1), Some(vec![3; 24]));
    }

    #[test]
    fn a_full_window_loses_its_least_recently_used_flow() {
        // 8 slots: every flow shares the one probe window.
        let flows = ProxyFlows::new(2, 8);
        let mut w0 = ProxyTable::new(Arc::clone(&flows), 0);
        let w1 = ProxyTable::new(Arc::clone(&flows), 1);
        for i in 0..8 {
            w0.insert(&flow(i), &header(i));
        }
        // Flow 0 is used again; flow 1 is now the least recently used, and the ninth flow takes
        // its slot.
        w0.insert(&flow(0), &header(0));
        w0.insert(&flow(8), &header(8));
        for t in [&w0, &w1] {
            assert_eq!(got(t, 1), None);
            for i in [0, 2, 3, 4, 5, 6, 7, 8] {
                assert_eq!(got(t, i), Some(header(i)), "flow {i}");
            }
        }
    }

    #[test]
    fn a_reader_never_sees_a_header_half_rewritten() {
        // Worker 0 keeps rewriting one 8-slot window with 16 flows (each insert overwrites
        // another flow's slot with a header of another length), while worker 1 reads them:
        // whatever it finds must be exactly the header of the flow it asked for.
        let flows = ProxyFlows::new(2, 8);
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writer = {
            let (flows, stop) = (Arc::clone(&flows), Arc::clone(&stop));
            std::thread::spawn(move || {
                let mut w0 = ProxyTable::new(flows, 0);
                let headers: Vec<Vec<u8>> = (0..16).map(header).collect();
                let mut i = 0u32;
                while !stop.load(Relaxed) {
                    w0.insert(&flow(i % 16), &headers[(i % 16) as usize]);
                    i = i.wrapping_add(1);
                }
                i
            })
        };
        let w1 = ProxyTable::new(Arc::clone(&flows), 1);
        let (mut hits, mut reads) = (0u64, 0u64);
        let start = std::time::Instant::now();
        while start.elapsed() < std::time::Duration::from_millis(500) || hits < 1000 {
            for i in 0..16 {
                reads += 1;
                if let Some(h) = got(&w1, i) {
                    hits += 1;
                    assert_eq!(h, header(i), "flow {i}, read {reads}");
                }
            }
            assert!(
                start.elapsed() < std::time::Duration::from_secs(20),
                "{hits} hits in {reads} reads"
            );
        }
        stop.store(true, Relaxed);
        let writes = writer.join().unwrap();
        assert!(writes > 1000, "the writer ran: {writes} inserts");
    }
}
