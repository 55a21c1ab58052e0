/*
 * Exported wrappers for DPDK's `static inline` functions used by qdp. Each wrapper is named after the
 * DPDK function with a leading underscore and does nothing but call it.
 */
#ifndef QDP_SHIM_H
#define QDP_SHIM_H

#include <stdint.h>
#include <rte_mbuf.h>

uint16_t _rte_eth_rx_burst(uint16_t port_id, uint16_t queue_id, struct rte_mbuf **rx_pkts,
                           uint16_t nb_pkts);
uint16_t _rte_eth_tx_burst(uint16_t port_id, uint16_t queue_id, struct rte_mbuf **tx_pkts,
                           uint16_t nb_pkts);
int _rte_pktmbuf_alloc_bulk(struct rte_mempool *pool, struct rte_mbuf **mbufs, unsigned int count);
struct rte_mbuf *_rte_pktmbuf_alloc(struct rte_mempool *pool);
void _rte_pktmbuf_free(struct rte_mbuf *m);
int _rte_errno(void);
unsigned int _rte_lcore_id(void);
uint64_t _rte_get_tsc_cycles(void);
uint64_t _rte_rdtsc(void);



/* Values DPDK defines with function-like macros, which bindgen cannot evaluate. */
extern const uint64_t qdp_RTE_ETH_RSS_IP;
extern const uint64_t qdp_RTE_ETH_RSS_UDP;
extern const uint64_t qdp_RTE_ETH_RSS_TCP;
extern const uint64_t qdp_RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE;
extern const uint64_t qdp_RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
extern const uint64_t qdp_RTE_ETH_RX_OFFLOAD_SCATTER;
extern const uint32_t qdp_RTE_MBUF_DEFAULT_BUF_SIZE;
extern const uint32_t qdp_RTE_PKTMBUF_HEADROOM;
#endif
