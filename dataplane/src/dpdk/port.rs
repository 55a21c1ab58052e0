//! Ethdev ports: looking one up by device name, the driver's capabilities, set-up (queues, RSS,
//! MTU, promiscuous mode, start), link state, driver counters, and stop and close.
//!
//! A port whose largest frame (MTU plus Ethernet header and one VLAN tag) does not fit one mbuf
//! receives with scatter (a frame arrives as a chain of mbufs) and sends chains (the multi-segment
//! transmit offload, where the driver lists it); a driver that cannot scatter refuses such an MTU
//! at start. Every other port receives single-segment mbufs, as before.
//!
//! Limits: RSS, when there is more than one receive queue, hashes on IP, UDP and TCP with the
//! driver's default key; queues use the driver's default thresholds; the fast-free transmit
//! offload is turned on where the driver offers it, only on ports without scatter (DPDK allows it
//! only for single-segment direct mbufs with reference count 1).

use std::ffi::{CStr, CString};
use std::os::raw::c_uint;

use dpdk_sys as sys;

use super::{check, DpdkError, Eal, Mempool, PortId, Result, SocketId};

/// What a port can do, as its driver reports it.
#[derive(Debug, Clone)]
pub struct PortInfo {
    pub driver: String,
    pub socket: SocketId,
    pub max_rx_queues: u16,
    pub max_tx_queues: u16,
    pub rss_offloads: u64,
    pub tx_offload_capa: u64,
    pub rx_offload_capa: u64,
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
    /// Bytes one mbuf of the receive pools holds (data room less headroom).
    pub mbuf_data: u16,
    pub promiscuous: bool,
}

/// Drivers that receive a frame larger than one mbuf as a chain without listing the scatter
/// offload: DPDK 22.11's pcap PMD copies such a frame into as many mbufs as it takes.
const SCATTERS_UNASKED: &[&str] = &["net_pcap"];

/// Bytes a frame may add to the MTU: the Ethernet header and one VLAN tag.
pub const L2_OVERHEAD: u32 = 18;

impl PortSetup {
    /// The longest frame the port takes: MTU (1500 when unset) plus [`L2_OVERHEAD`].
    pub fn max_frame(&self) -> u32 {
        u32::from(self.mtu.unwrap_or(1500)) + L2_OVERHEAD
    }

    /// Whether a frame of [`max_frame`](Self::max_frame) needs more than one mbuf.
    pub fn needs_scatter(&self) -> bool {
        self.max_frame() > u32::from(self.mbuf_data)
    }
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
            rx_offload_capa: info.rx_offload_capa,
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
        let (rss_ip, rss_udp, rss_tcp, fast_free, multi_segs, scatter) = unsafe {
            (
                sys::qdp_RTE_ETH_RSS_IP,
                sys::qdp_RTE_ETH_RSS_UDP,
                sys::qdp_RTE_ETH_RSS_TCP,
                sys::qdp_RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE,
                sys::qdp_RTE_ETH_TX_OFFLOAD_MULTI_SEGS,
                sys::qdp_RTE_ETH_RX_OFFLOAD_SCATTER,
            )
        };
        let rss_hf = (rss_ip | rss_udp | rss_tcp) & info.rss_offloads;
        if setup.rx_queues > 1 && rss_hf != 0 {
            conf.rxmode.mq_mode = sys::RTE_ETH_MQ_RX_RSS;
            conf.rx_adv_conf.rss_conf.rss_hf = rss_hf;
            conf.rx_adv_conf.rss_conf.rss_key = std::ptr::null_mut();
        }
        if setup.needs_scatter() {
            if info.rx_offload_capa & scatter == 0
                && !SCATTERS_UNASKED.contains(&info.driver.as_str())
            {
                return Err(DpdkError::new(
                    name(),
                    format!(
                        "mtu {} needs frames of {} B, more than one mbuf holds ({} B), and driver {} cannot scatter on receive: lower the mtu or raise mempool.data_room",
                        setup.mtu.unwrap_or(1500),
                        setup.max_frame(),
                        setup.mbuf_data,
                        info.driver
                    ),
                ));
            }
            conf.rxmode.offloads |= info.rx_offload_capa & scatter;
            conf.txmode.offloads |= info.tx_offload_capa & multi_segs;
        } else if info.tx_offload_capa & fast_free != 0 {
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
                tracing::warn!(
                    "{} (driver {}): cannot set MTU {mtu}; the driver keeps its own",
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
        if info.driver == "net_af_packet" {
            let stale = self.discard_received(rxq);
            if stale > 0 {
                tracing::debug!(
                    "{}: {stale} frame(s) held since the driver opened its sockets discarded",
                    name()
                );
            }
        }
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

    /// Receives and frees whatever the port's `rxq` receive queues hold; returns how many
    /// frames that was. Called once, right after start, on `net_af_packet` ports: DPDK 22.11's
    /// driver opens each queue's socket for every interface of the namespace and binds it to its
    /// own only afterwards, so its ring may hold frames of other interfaces (and the frames of
    /// its own from before the port started, which no started port would deliver either). At
    /// most `MAX` frames per queue, more than any ring holds: traffic arriving as fast as it is
    /// discarded does not hold up the start.
    fn discard_received(self, rxq: u16) -> usize {
        const BURST: u16 = 32;
        const MAX: usize = 1 << 16;
        let mut total = 0;
        for q in 0..rxq {
            let mut mbufs = [std::ptr::null_mut::<sys::rte_mbuf>(); BURST as usize];
            let mut of_queue = 0;
            while of_queue < MAX {
                // SAFETY: the port is started with `rxq` receive queues, no worker polls them
                // yet, and mbufs has room for BURST pointers.
                let n = unsafe { sys::_rte_eth_rx_burst(self.0, q, mbufs.as_mut_ptr(), BURST) };
                for m in &mbufs[..n as usize] {
                    // SAFETY: each of the first n pointers is an mbuf the driver handed us.
                    unsafe { sys::_rte_pktmbuf_free(*m) };
                }
                of_queue += n as usize;
                if n < BURST {
                    break;
                }
            }
            total += of_queue;
        }
        total
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
