//! The safe layer over DPDK: EAL start-up, lcores, per-NUMA mempools, ports and queues, bursts of
//! mbufs. This module and `dpdk-sys` are the only places in qdp with `unsafe` code.
//!
//! Limits: multi-segment mbufs are not supported (ports are configured without scatter, and the
//! mbuf data room must hold the largest frame); one EAL per process.

#![allow(unsafe_code)]

use std::ffi::{c_void, CStr, CString};
use std::fmt;
use std::os::raw::{c_char, c_int, c_uint};
use std::ptr::NonNull;

use dpdk_sys as sys;

use crate::packet::{PacketBatch, PacketBuf, MAX_BURST};

/// An error from a DPDK call: what was being done and DPDK's own reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}: {reason}")]
pub struct DpdkError {
    pub what: String,
    pub reason: String,
}

impl DpdkError {
    fn new(what: impl Into<String>, reason: impl Into<String>) -> Self {
        DpdkError {
            what: what.into(),
            reason: reason.into(),
        }
    }

    /// Builds an error from a negative DPDK return code (`-errno`).
    fn from_code(what: impl Into<String>, code: c_int) -> Self {
        DpdkError::new(what, strerror(code.abs()))
    }

    /// Builds an error from the current `rte_errno`.
    fn from_errno(what: impl Into<String>) -> Self {
        // SAFETY: reading the thread-local rte_errno has no preconditions.
        let e = unsafe { sys::_rte_errno() };
        DpdkError::new(what, strerror(e))
    }
}

type Result<T> = std::result::Result<T, DpdkError>;

fn strerror(errnum: c_int) -> String {
    // SAFETY: rte_strerror returns a pointer to a static or thread-local NUL-terminated string.
    let s = unsafe { CStr::from_ptr(sys::rte_strerror(errnum)) };
    s.to_string_lossy().into_owned()
}

/// Converts a DPDK return code into a `Result` (the `ToResult` idiom).
fn check(what: impl FnOnce() -> String, rc: c_int) -> Result<c_int> {
    if rc < 0 {
        Err(DpdkError::from_code(what(), rc))
    } else {
        Ok(rc)
    }
}

/// An EAL logical core.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LcoreId(pub u32);

/// An ethdev port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PortId(pub u16);

/// A queue of a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QueueId(pub u16);

/// A NUMA node; DPDK's `SOCKET_ID_ANY` (-1) when the device does not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SocketId(pub i32);

impl SocketId {
    pub const ANY: SocketId = SocketId(sys::SOCKET_ID_ANY);

    /// The node to allocate on: an unknown node counts as node 0.
    pub fn or_zero(self) -> SocketId {
        if self.0 < 0 {
            SocketId(0)
        } else {
            self
        }
    }
}

impl fmt::Display for SocketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 < 0 {
            write!(f, "any")
        } else {
            write!(f, "{}", self.0)
        }
    }
}

/// The CPU's time-stamp counter (cycles).
#[inline]
pub fn tsc() -> u64 {
    // SAFETY: reads the time-stamp counter; no memory is touched.
    unsafe { sys::_rte_rdtsc() }
}

/// Time-stamp counter ticks per second (once the EAL is up; 0 before).
pub fn tsc_hz() -> u64 {
    // SAFETY: reads a value the EAL computed at start-up.
    unsafe { sys::rte_get_tsc_hz() }
}

/// The running Environment Abstraction Layer. Dropping it cleans the EAL up.
pub struct Eal {
    _private: (),
}

impl Eal {
    /// Starts the EAL with `args` (argv[0] included). Only one EAL may exist per process.
    pub fn init(args: &[String]) -> Result<Eal> {
        let cargs: Vec<CString> = args
            .iter()
            .map(|a| CString::new(a.as_str()))
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| DpdkError::new("EAL arguments", "an argument contains a NUL byte"))?;
        // rte_eal_init keeps pointers into argv (and may permute it): leak both so they live for
        // the whole process.
        let cargs: &'static [CString] = Box::leak(cargs.into_boxed_slice());
        let argv: &'static mut [*mut c_char] = Box::leak(
            cargs
                .iter()
                .map(|c| c.as_ptr() as *mut c_char)
                .collect::<Vec<_>>()
                .into_boxed_slice(),
        );
        let argc = argv.len() as c_int;
        // SAFETY: argv holds argc valid NUL-terminated strings that live for the rest of the process.
        let rc = unsafe { sys::rte_eal_init(argc, argv.as_mut_ptr()) };
        if rc < 0 {
            return Err(DpdkError::from_errno("EAL start-up failed"));
        }
        Ok(Eal { _private: () })
    }

    /// The lcore the calling thread runs as (the main lcore for the thread that called `init`).
    pub fn main_lcore(&self) -> LcoreId {
        // SAFETY: the EAL is initialised.
        LcoreId(unsafe { sys::rte_get_main_lcore() })
    }

    /// NUMA node of an lcore.
    pub fn lcore_socket(&self, lcore: LcoreId) -> SocketId {
        // SAFETY: the EAL is initialised; out-of-range ids return a sentinel, not UB.
        let s = unsafe { sys::rte_lcore_to_socket_id(lcore.0) };
        SocketId(s as i32)
    }

    /// Number of ethdev ports the EAL probed.
    pub fn port_count(&self) -> u16 {
        // SAFETY: the EAL is initialised.
        unsafe { sys::rte_eth_dev_count_avail() }
    }

    /// Runs `f` on worker lcore `lcore`. The lcore must be idle.
    pub fn launch<F>(&self, lcore: LcoreId, f: F) -> Result<()>
    where
        F: FnOnce() -> i32 + Send + 'static,
    {
        type Job = Box<dyn FnOnce() -> i32 + Send>;
        unsafe extern "C" fn trampoline(arg: *mut c_void) -> c_int {
            // SAFETY: arg is the Box<Job> leaked by `launch` below and is consumed exactly once.
            let job: Box<Job> = unsafe { Box::from_raw(arg as *mut Job) };
            // A panic must not unwind into C: report it as a failed worker.
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)).unwrap_or(-1)
        }
        let job: Box<Job> = Box::new(Box::new(f));
        let arg = Box::into_raw(job) as *mut c_void;
        // SAFETY: trampoline has the lcore_function_t signature; arg stays valid until it runs.
        let rc = unsafe { sys::rte_eal_remote_launch(Some(trampoline), arg, lcore.0) };
        if rc < 0 {
            // SAFETY: the launch failed, so the trampoline never took ownership of arg.
            drop(unsafe { Box::from_raw(arg as *mut Job) });
            return Err(DpdkError::from_code(
                format!("launching a worker on lcore {}", lcore.0),
                rc,
            ));
        }
        Ok(())
    }

    /// Waits for the function running on `lcore` and returns its result.
    pub fn wait(&self, lcore: LcoreId) -> i32 {
        // SAFETY: the EAL is initialised; waiting on an idle lcore returns at once.
        unsafe { sys::rte_eal_wait_lcore(lcore.0) }
    }
}

impl Drop for Eal {
    fn drop(&mut self) {
        // SAFETY: every port has been closed and every worker waited for by the owner before dropping the EAL; rte_eal_cleanup releases hugepages and runtime files.
        unsafe {
            sys::rte_eal_cleanup();
        }
    }
}

/// A pool of packet buffers on one NUMA node.
pub struct Mempool {
    ptr: NonNull<sys::rte_mempool>,
    socket: SocketId,
}

// SAFETY: a DPDK mempool is designed for concurrent use from many lcores; we only hand out the pointer to DPDK calls.
unsafe impl Send for Mempool {}
// SAFETY: as above: all mempool operations are thread-safe.
unsafe impl Sync for Mempool {}

impl Mempool {
    /// Creates a packet mbuf pool of `n` mbufs on `socket`.
    pub fn new(name: &str, n: u32, cache: u32, data_room: u16, socket: SocketId) -> Result<Self> {
        let cname = CString::new(name).map_err(|_| DpdkError::new("mempool name", "NUL byte"))?;
        // SAFETY: cname is a valid C string; DPDK copies it.
        let ptr = unsafe {
            sys::rte_pktmbuf_pool_create(cname.as_ptr(), n, cache, 0, data_room, socket.0)
        };
        match NonNull::new(ptr) {
            Some(ptr) => Ok(Mempool { ptr, socket }),
            None => Err(DpdkError::from_errno(format!(
                "creating mempool {name} ({n} mbufs of {data_room} B on node {socket})"
            ))),
        }
    }

    pub fn socket(&self) -> SocketId {
        self.socket
    }

    /// Mbufs currently free in the pool (caches included).
    pub fn available(&self) -> u32 {
        // SAFETY: the pool is valid for our lifetime.
        unsafe { sys::rte_mempool_avail_count(self.ptr.as_ptr()) }
    }

    fn as_ptr(&self) -> *mut sys::rte_mempool {
        self.ptr.as_ptr()
    }
}

impl Drop for Mempool {
    fn drop(&mut self) {
        // SAFETY: pools are dropped after every port using them is closed.
        unsafe { sys::rte_mempool_free(self.ptr.as_ptr()) }
    }
}

/// What a port can do, as its driver reports it.
#[derive(Debug, Clone)]
pub struct PortInfo {
    pub driver: String,
    pub socket: SocketId,
    pub max_rx_queues: u16,
    pub max_tx_queues: u16,
    pub rss_offloads: u64,
    pub tx_offload_capa: u64,
    pub min_mtu: u16,
    pub max_mtu: u16,
    pub mac: [u8; 6],
}

/// How to bring a port up.
#[derive(Debug, Clone)]
pub struct PortSetup {
    pub rx_queues: u16,
    pub tx_queues: u16,
    pub rx_desc: u16,
    pub tx_desc: u16,
    pub mtu: Option<u16>,
    pub promiscuous: bool,
}

/// Link state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link {
    pub up: bool,
    pub speed_mbps: u32,
    pub full_duplex: bool,
}

/// Hardware (driver) counters of a port.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PortCounters {
    pub ipackets: u64,
    pub opackets: u64,
    pub ibytes: u64,
    pub obytes: u64,
    pub imissed: u64,
    pub ierrors: u64,
    pub oerrors: u64,
    pub rx_nombuf: u64,
}

impl PortId {
    /// Finds a probed port by device name (PCI address or vdev name).
    pub fn by_name(_eal: &Eal, name: &str) -> Result<PortId> {
        let c = CString::new(name).map_err(|_| DpdkError::new("port name", "NUL byte"))?;
        let mut id: u16 = 0;
        // SAFETY: c is a valid C string and id a valid out pointer.
        let rc = unsafe { sys::rte_eth_dev_get_port_by_name(c.as_ptr(), &mut id) };
        check(|| format!("device {name} is not a probed ethdev port"), rc)?;
        Ok(PortId(id))
    }

    /// The driver's description of the port.
    pub fn info(self) -> Result<PortInfo> {
        let mut info = sys::rte_eth_dev_info::default();
        // SAFETY: info is a valid out structure for this call.
        let rc = unsafe { sys::rte_eth_dev_info_get(self.0, &mut info) };
        check(|| format!("port {}: reading device info", self.0), rc)?;
        let driver = if info.driver_name.is_null() {
            String::from("?")
        } else {
            // SAFETY: driver_name points at the driver's static NUL-terminated name.
            unsafe { CStr::from_ptr(info.driver_name) }
                .to_string_lossy()
                .into_owned()
        };
        let mut mac = sys::rte_ether_addr::default();
        // SAFETY: mac is a valid out structure.
        let rc = unsafe { sys::rte_eth_macaddr_get(self.0, &mut mac) };
        check(|| format!("port {}: reading MAC address", self.0), rc)?;
        // SAFETY: querying the socket of a valid port id has no preconditions.
        let socket = SocketId(unsafe { sys::rte_eth_dev_socket_id(self.0) });
        Ok(PortInfo {
            driver,
            socket,
            max_rx_queues: info.max_rx_queues,
            max_tx_queues: info.max_tx_queues,
            rss_offloads: info.flow_type_rss_offloads,
            tx_offload_capa: info.tx_offload_capa,
            min_mtu: info.min_mtu,
            max_mtu: info.max_mtu,
            mac: mac.addr_bytes,
        })
    }

    /// Configures queues, RSS, MTU and promiscuous mode, and starts the port. `pool_of_rxq(q)`
    /// gives the mempool each receive queue fills from.
    pub fn setup<'p>(
        self,
        setup: &PortSetup,
        info: &PortInfo,
        pool_of_rxq: impl Fn(u16) -> &'p Mempool,
    ) -> Result<()> {
        let name = || format!("port {}", self.0);
        let rxq = setup.rx_queues;
        if rxq > info.max_rx_queues {
            return Err(DpdkError::new(
                name(),
                format!(
                    "{rxq} rx queue(s) asked but driver {} offers {}",
                    info.driver, info.max_rx_queues
                ),
            ));
        }
        if setup.tx_queues > info.max_tx_queues {
            return Err(DpdkError::new(
                name(),
                format!(
                    "{} tx queue(s) needed (one per worker) but driver {} offers {}",
                    setup.tx_queues, info.driver, info.max_tx_queues
                ),
            ));
        }
        let mut conf = sys::rte_eth_conf::default();
        // SAFETY: the qdp_* constants are plain exported values from the shim.
        let (rss_ip, rss_udp, rss_tcp, fast_free) = unsafe {
            (
                sys::qdp_RTE_ETH_RSS_IP,
                sys::qdp_RTE_ETH_RSS_UDP,
                sys::qdp_RTE_ETH_RSS_TCP,
                sys::qdp_RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE,
            )
        };
        let rss_hf = (rss_ip | rss_udp | rss_tcp) & info.rss_offloads;
        if setup.rx_queues > 1 && rss_hf != 0 {
            conf.rxmode.mq_mode = sys::RTE_ETH_MQ_RX_RSS;
            conf.rx_adv_conf.rss_conf.rss_hf = rss_hf;
            conf.rx_adv_conf.rss_conf.rss_key = std::ptr::null_mut();
        }
        if info.tx_offload_capa & fast_free != 0 {
            conf.txmode.offloads |= fast_free;
        }
        // SAFETY: conf is a fully initialised configuration that DPDK copies.
        let rc = unsafe { sys::rte_eth_dev_configure(self.0, rxq, setup.tx_queues, &conf) };
        check(|| format!("{}: configure", name()), rc)?;
        let (mut nb_rx, mut nb_tx) = (setup.rx_desc, setup.tx_desc);
        // SAFETY: valid port id and out pointers.
        let rc = unsafe { sys::rte_eth_dev_adjust_nb_rx_tx_desc(self.0, &mut nb_rx, &mut nb_tx) };
        check(|| format!("{}: adjusting descriptor counts", name()), rc)?;
        let socket = info.socket.or_zero();
        for q in 0..rxq {
            let pool = pool_of_rxq(q);
            // SAFETY: the pool outlives the port (ports close before pools drop); a null rx_conf selects the driver's defaults.
            let rc = unsafe {
                sys::rte_eth_rx_queue_setup(
                    self.0,
                    q,
                    nb_rx,
                    socket.0 as c_uint,
                    std::ptr::null(),
                    pool.as_ptr(),
                )
            };
            check(|| format!("{}: rx queue {q} setup", name()), rc)?;
        }
        for q in 0..setup.tx_queues {
            // SAFETY: valid port and queue; a null tx_conf selects the driver's defaults.
            let rc = unsafe {
                sys::rte_eth_tx_queue_setup(self.0, q, nb_tx, socket.0 as c_uint, std::ptr::null())
            };
            check(|| format!("{}: tx queue {q} setup", name()), rc)?;
        }
        if let Some(mtu) = setup.mtu {
            // SAFETY: valid port id.
            let rc = unsafe { sys::rte_eth_dev_set_mtu(self.0, mtu) };
            if rc == -(libc::ENOTSUP) {
                eprintln!(
                    "warning: {} (driver {}): cannot set MTU {mtu}; the driver keeps its own",
                    name(),
                    info.driver
                );
            } else {
                check(|| format!("{}: setting MTU {mtu}", name()), rc)?;
            }
        }
        // SAFETY: the port is configured with all its queues.
        let rc = unsafe { sys::rte_eth_dev_start(self.0) };
        check(|| format!("{}: start", name()), rc)?;
        if setup.promiscuous {
            // SAFETY: valid started port. Some virtual devices cannot change it: not fatal.
            let rc = unsafe { sys::rte_eth_promiscuous_enable(self.0) };
            if rc < 0 && rc != -(libc::ENOTSUP) {
                return Err(DpdkError::from_code(
                    format!("{}: enabling promiscuous mode", name()),
                    rc,
                ));
            }
        }
        Ok(())
    }

    /// Current link state, without waiting.
    pub fn link(self) -> Link {
        let mut link = sys::rte_eth_link::default();
        // SAFETY: link is a valid out structure.
        let rc = unsafe { sys::rte_eth_link_get_nowait(self.0, &mut link) };
        if rc < 0 {
            return Link {
                up: false,
                speed_mbps: 0,
                full_duplex: false,
            };
        }
        Link {
            up: link.link_status() != 0,
            speed_mbps: link.link_speed,
            full_duplex: link.link_duplex() != 0,
        }
    }

    /// Asks the driver to bring the link up or down. Virtual devices may not support it
    /// (`Err` with the driver's reason).
    pub fn set_link(self, up: bool) -> Result<()> {
        // SAFETY: the port was set up; the call only changes the driver's link state.
        let rc = unsafe {
            if up {
                sys::rte_eth_dev_set_link_up(self.0)
            } else {
                sys::rte_eth_dev_set_link_down(self.0)
            }
        };
        if rc < 0 {
            return Err(DpdkError::from_code(
                if up { "link up" } else { "link down" },
                -rc,
            ));
        }
        Ok(())
    }

    /// The driver's counters.
    pub fn counters(self) -> PortCounters {
        let mut s = sys::rte_eth_stats::default();
        // SAFETY: s is a valid out structure.
        let rc = unsafe { sys::rte_eth_stats_get(self.0, &mut s) };
        if rc < 0 {
            return PortCounters::default();
        }
        PortCounters {
            ipackets: s.ipackets,
            opackets: s.opackets,
            ibytes: s.ibytes,
            obytes: s.obytes,
            imissed: s.imissed,
            ierrors: s.ierrors,
            oerrors: s.oerrors,
            rx_nombuf: s.rx_nombuf,
        }
    }

    /// Stops and closes the port (a pcap tx file is flushed here).
    pub fn stop_and_close(self) {
        // SAFETY: no worker uses the port any more (all lcores were waited for).
        unsafe {
            sys::rte_eth_dev_stop(self.0);
            sys::rte_eth_dev_close(self.0);
        }
    }
}

/// One mbuf owned outside a burst, e.g. on its way to the slow path. Dropping it frees it.
#[derive(Debug)]
pub struct OwnedMbuf(NonNull<sys::rte_mbuf>);

// SAFETY: the mbuf is exclusively owned; DPDK allows reading and freeing an mbuf on any thread.
unsafe impl Send for OwnedMbuf {}

impl OwnedMbuf {
    /// A new packet from `pool` holding a copy of `bytes`; `None` when the pool is empty or the
    /// bytes do not fit one mbuf.
    pub fn from_bytes(pool: &Mempool, bytes: &[u8]) -> Option<OwnedMbuf> {
        // SAFETY: the pool is valid for its lifetime; a null return means none was free.
        let raw = unsafe { sys::_rte_pktmbuf_alloc(pool.as_ptr()) };
        let m = NonNull::new(raw)?;
        let mut owned = OwnedMbuf(m);
        // SAFETY: a freshly allocated mbuf (reset: data_len 0, data_off at the headroom) that we
        // own; the bytes are copied only after checking they fit its tailroom.
        unsafe {
            let mb = owned.0.as_mut();
            let room = usize::from(mb.buf_len) - usize::from(mb.data_off);
            if bytes.len() > room || bytes.len() > usize::from(u16::MAX) {
                return None;
            }
            std::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                (mb.buf_addr as *mut u8).add(usize::from(mb.data_off)),
                bytes.len(),
            );
            mb.data_len = bytes.len() as u16;
            mb.pkt_len = bytes.len() as u32;
        }
        Some(owned)
    }

    /// The packet's bytes (first and only segment).
    pub fn data(&self) -> &[u8] {
        // SAFETY: an owned, valid single-segment mbuf; buf_addr + data_off .. + data_len lies in its data room.
        unsafe {
            let m = self.0.as_ref();
            std::slice::from_raw_parts(
                (m.buf_addr as *const u8).add(m.data_off as usize),
                m.data_len as usize,
            )
        }
    }

    /// The packet's bytes, writable.
    pub fn data_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `data`; `&mut self` makes this the only view of the exclusively owned mbuf.
        unsafe {
            let m = self.0.as_mut();
            std::slice::from_raw_parts_mut(
                (m.buf_addr as *mut u8).add(m.data_off as usize),
                m.data_len as usize,
            )
        }
    }
}

impl Drop for OwnedMbuf {
    fn drop(&mut self) {
        // SAFETY: we own the mbuf and nobody else refers to it.
        unsafe { sys::_rte_pktmbuf_free(self.0.as_ptr()) }
    }
}

/// The outcome of [`Burst::tx`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TxResult {
    pub sent: usize,
    pub dropped: usize,
    /// Bytes of the packets dropped.
    pub dropped_bytes: u64,
}

/// A burst of mbufs owned by one worker: at most [`MAX_BURST`] packets, single segment each.
/// Dropping a burst frees the packets still in it.
pub struct Burst {
    mbufs: [*mut sys::rte_mbuf; MAX_BURST],
    len: usize,
}

// SAFETY: the mbufs are exclusively owned by the burst; moving a burst between threads moves that ownership along, and DPDK allows freeing an mbuf from any lcore.
unsafe impl Send for Burst {}

impl Default for Burst {
    fn default() -> Self {
        Self::new()
    }
}

impl Burst {
    pub const fn new() -> Self {
        Burst {
            mbufs: [std::ptr::null_mut(); MAX_BURST],
            len: 0,
        }
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    #[inline]
    pub fn is_full(&self) -> bool {
        self.len == MAX_BURST
    }

    /// Receives up to `max` packets from a queue into the (empty) burst; returns how many.
    #[inline]
    pub fn rx(&mut self, port: PortId, queue: QueueId, max: usize) -> usize {
        debug_assert!(self.len == 0);
        let max = max.min(MAX_BURST) as u16;
        // SAFETY: mbufs has room for MAX_BURST >= max pointers; the port and queue were set up and each (port, queue) is polled by a single worker.
        let n = unsafe { sys::_rte_eth_rx_burst(port.0, queue.0, self.mbufs.as_mut_ptr(), max) };
        self.len = n as usize;
        self.len
    }

    /// Sends every packet of the burst on a queue. Packets the queue refuses are freed; returns
    /// how many were sent and dropped (and the dropped bytes) and leaves the burst empty.
    #[inline]
    pub fn tx(&mut self, port: PortId, queue: QueueId) -> TxResult {
        if self.len == 0 {
            return TxResult::default();
        }
        // SAFETY: the first len pointers are valid mbufs we own; each (port, tx queue) is used by a single worker.
        let sent = unsafe {
            sys::_rte_eth_tx_burst(port.0, queue.0, self.mbufs.as_mut_ptr(), self.len as u16)
        } as usize;
        let dropped = self.len - sent;
        let mut dropped_bytes = 0;
        if dropped > 0 {
            dropped_bytes = self.bytes(sent..self.len);
            // SAFETY: mbufs[sent..len] are still ours; free them in one call.
            unsafe {
                sys::rte_pktmbuf_free_bulk(self.mbufs.as_mut_ptr().add(sent), dropped as c_uint)
            };
        }
        self.len = 0;
        TxResult {
            sent,
            dropped,
            dropped_bytes,
        }
    }

    /// Total bytes of the packets in `range`.
    #[inline]
    pub fn bytes(&self, range: std::ops::Range<usize>) -> u64 {
        let mut total = 0u64;
        for &m in &self.mbufs[range] {
            // SAFETY: every pointer below len is a valid mbuf owned by this burst.
            total += u64::from(unsafe { (*m).pkt_len });
        }
        total
    }

    /// Frees every packet of the burst.
    #[inline]
    pub fn free_all(&mut self) {
        if self.len > 0 {
            // SAFETY: the first len pointers are valid mbufs we own.
            unsafe { sys::rte_pktmbuf_free_bulk(self.mbufs.as_mut_ptr(), self.len as c_uint) };
            self.len = 0;
        }
    }

    /// The bytes of packet `i` (its first and only segment).
    #[inline]
    pub fn data(&self, i: usize) -> &[u8] {
        assert!(i < self.len);
        let m = self.mbufs[i];
        // SAFETY: m is a valid mbuf owned by this burst; buf_addr + data_off .. + data_len lies inside its data room, and the shared borrow of self prevents mutation meanwhile.
        unsafe {
            let m = &*m;
            std::slice::from_raw_parts(
                (m.buf_addr as *const u8).add(m.data_off as usize),
                m.data_len as usize,
            )
        }
    }

    /// The bytes of packet `i`, writable.
    #[inline]
    pub fn data_mut(&mut self, i: usize) -> &mut [u8] {
        assert!(i < self.len);
        let m = self.mbufs[i];
        // SAFETY: as in `data`; the exclusive borrow of self makes this the only view of the packet, and an mbuf we received is not shared (refcnt 1, direct).
        unsafe {
            let m = &*m;
            std::slice::from_raw_parts_mut(
                (m.buf_addr as *mut u8).add(m.data_off as usize),
                m.data_len as usize,
            )
        }
    }

    /// Calls `f(i, bytes)` on the packets in order, while it returns `true`; returns how many
    /// times it did. The next packet's address is read while `f` works on the current one, so the
    /// chain of loads from the burst to the packet's bytes is off the critical path.
    #[inline(always)]
    pub fn for_each_data_mut(&mut self, mut f: impl FnMut(usize, &mut [u8]) -> bool) -> usize {
        let n = self.len;
        if n == 0 {
            return 0;
        }
        let raw = |m: *mut sys::rte_mbuf| {
            // SAFETY: every pointer below len is a valid single-segment mbuf exclusively owned by
            // this burst; buf_addr + data_off lies inside its data room.
            unsafe {
                let m = &*m;
                (
                    (m.buf_addr as *mut u8).add(m.data_off as usize),
                    m.data_len as usize,
                )
            }
        };
        let mut next = raw(self.mbufs[0]);
        for i in 0..n {
            let (ptr, len) = next;
            if i + 1 < n {
                next = raw(self.mbufs[i + 1]);
            }
            // SAFETY: data_len bytes from there lie inside the data room of a packet this burst
            // owns exclusively (refcnt 1, direct); its slice is handed out once, for one call of
            // `f`, under the exclusive borrow of self.
            let d = unsafe { std::slice::from_raw_parts_mut(ptr, len) };
            if !f(i, d) {
                return i;
            }
        }
        n
    }

    /// Packet `i` as a [`PacketBuf`] whose headers can be pushed
    /// and popped.
    #[inline]
    pub fn packet(&mut self, i: usize) -> MbufPacket<'_> {
        assert!(i < self.len);
        let m = self.mbufs[i];
        // SAFETY: a valid mbuf exclusively owned by this burst; the exclusive borrow of self keeps it so for the lifetime of the view.
        let m = unsafe { &mut *m };
        MbufPacket { m }
    }

    /// Total length of packet `i`.
    #[inline]
    pub fn pkt_len(&self, i: usize) -> u32 {
        assert!(i < self.len);
        // SAFETY: a valid mbuf owned by this burst.
        unsafe { (*self.mbufs[i]).pkt_len }
    }

    /// Moves packet `i` of `self` to the end of `to`. `to` must not be full. The hole left in
    /// `self` must be closed with [`Burst::clear_moved`] once the whole burst was dispatched.
    #[inline]
    pub fn move_to(&mut self, i: usize, to: &mut Burst) {
        assert!(i < self.len && to.len < MAX_BURST);
        to.mbufs[to.len] = self.mbufs[i];
        to.len += 1;
        self.mbufs[i] = std::ptr::null_mut();
    }

    /// Appends an owned packet to the end of the burst; gives it back when the burst is full.
    pub fn push(&mut self, m: OwnedMbuf) -> std::result::Result<(), OwnedMbuf> {
        if self.len == MAX_BURST {
            return Err(m);
        }
        let m = std::mem::ManuallyDrop::new(m);
        self.mbufs[self.len] = m.0.as_ptr();
        self.len += 1;
        Ok(())
    }

    /// Takes packet `i` out of the burst (its slot is closed by [`Burst::clear_moved`]).
    #[inline]
    pub fn take(&mut self, i: usize) -> OwnedMbuf {
        assert!(i < self.len);
        let m = std::mem::replace(&mut self.mbufs[i], std::ptr::null_mut());
        OwnedMbuf(NonNull::new(m).expect("a packet in the burst"))
    }

    /// Forgets the slots whose packets were moved away, freeing any packet still present.
    #[inline]
    pub fn clear_moved(&mut self) {
        let mut kept = 0;
        for i in 0..self.len {
            let m = self.mbufs[i];
            if !m.is_null() {
                self.mbufs[kept] = m;
                kept += 1;
            }
        }
        self.len = kept;
        self.free_all();
    }
}

/// One single-segment mbuf of a [`Burst`], borrowed for header work.
pub struct MbufPacket<'a> {
    m: &'a mut sys::rte_mbuf,
}

impl PacketBuf for MbufPacket<'_> {
    #[inline]
    fn data(&self) -> &[u8] {
        // SAFETY: buf_addr + data_off .. + data_len lies inside the mbuf's data room.
        unsafe {
            std::slice::from_raw_parts(
                (self.m.buf_addr as *const u8).add(self.m.data_off as usize),
                self.m.data_len as usize,
            )
        }
    }

    #[inline]
    fn data_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `data`; the mbuf is exclusively borrowed (received, refcnt 1, direct).
        unsafe {
            std::slice::from_raw_parts_mut(
                (self.m.buf_addr as *mut u8).add(self.m.data_off as usize),
                self.m.data_len as usize,
            )
        }
    }

    #[inline]
    fn prepend(&mut self, n: usize) -> bool {
        if n > self.m.data_off as usize {
            return false;
        }
        self.m.data_off -= n as u16;
        self.m.data_len += n as u16;
        self.m.pkt_len += n as u32;
        true
    }

    #[inline]
    fn adj(&mut self, n: usize) -> bool {
        if n > self.m.data_len as usize {
            return false;
        }
        self.m.data_off += n as u16;
        self.m.data_len -= n as u16;
        self.m.pkt_len -= n as u32;
        true
    }

    #[inline]
    fn trim(&mut self, n: usize) -> bool {
        if n > self.m.data_len as usize {
            return false;
        }
        self.m.data_len -= n as u16;
        self.m.pkt_len -= n as u32;
        true
    }
}

impl PacketBatch for Burst {
    type Packet<'a> = MbufPacket<'a>;

    #[inline(always)]
    fn len(&self) -> usize {
        self.len
    }

    #[inline(always)]
    fn data(&self, i: usize) -> &[u8] {
        Burst::data(self, i)
    }

    #[inline(always)]
    fn packet(&mut self, i: usize) -> MbufPacket<'_> {
        Burst::packet(self, i)
    }

    #[inline(always)]
    fn for_each_data_mut(&mut self, f: impl FnMut(usize, &mut [u8]) -> bool) -> usize {
        Burst::for_each_data_mut(self, f)
    }
}

impl Drop for Burst {
    fn drop(&mut self) {
        self.clear_moved();
    }
}
