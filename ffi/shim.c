#include "shim.h"

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

uint16_t _rte_eth_rx_burst(uint16_t port_id, uint16_t queue_id, struct rte_mbuf **rx_pkts,
                           uint16_t nb_pkts)
{
	return rte_eth_rx_burst(port_id, queue_id, rx_pkts, nb_pkts);
}

uint16_t _rte_eth_tx_burst(uint16_t port_id, uint16_t queue_id, struct rte_mbuf **tx_pkts,
                           uint16_t nb_pkts)
{
	return rte_eth_tx_burst(port_id, queue_id, tx_pkts, nb_pkts);
}

int _rte_pktmbuf_alloc_bulk(struct rte_mempool *pool, struct rte_mbuf **mbufs, unsigned int count)
{
	return rte_pktmbuf_alloc_bulk(pool, mbufs, count);
}

struct rte_mbuf *_rte_pktmbuf_alloc(struct rte_mempool *pool)
{
	return rte_pktmbuf_alloc(pool);
}

void _rte_pktmbuf_free(struct rte_mbuf *m)
{
	rte_pktmbuf_free(m);
}

int _rte_errno(void)
{
	return rte_errno;
}

unsigned int _rte_lcore_id(void)
{
	return rte_lcore_id();
}

uint64_t _rte_get_tsc_cycles(void)
{
	return rte_get_tsc_cycles();
}

uint64_t _rte_rdtsc(void)
{
	return rte_rdtsc();
}

const uint64_t qdp_RTE_ETH_RSS_IP = RTE_ETH_RSS_IP;
const uint64_t qdp_RTE_ETH_RSS_UDP = RTE_ETH_RSS_UDP;
const uint64_t qdp_RTE_ETH_RSS_TCP = RTE_ETH_RSS_TCP;
const uint64_t qdp_RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE = RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE;
const uint64_t qdp_RTE_ETH_TX_OFFLOAD_MULTI_SEGS = RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
const uint64_t qdp_RTE_ETH_RX_OFFLOAD_SCATTER = RTE_ETH_RX_OFFLOAD_SCATTER;
const uint32_t qdp_RTE_MBUF_DEFAULT_BUF_SIZE = RTE_MBUF_DEFAULT_BUF_SIZE;
const uint32_t qdp_RTE_PKTMBUF_HEADROOM = RTE_PKTMBUF_HEADROOM;
