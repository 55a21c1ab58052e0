//! Criterion benches of single nodes, in ns per packet, on byte buffers (no EAL needed).

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion, Throughput};

use qdp::config::MacRewrite;
use qdp::nodes::xconnect::rewrite_macs;
use qdp::tables::classifier::{
    Classifier, ClassifierAction, ClassifierRule, FlowCache, IpPrefix, MatchKey, PortRange,
};
use qdp::traffic::udp_frames;
use qdp::wire::EthernetAddress;
use qdp::wire::{FlowKey, IpProtocol, Ipv4Address};

const BURST: usize = 32;

fn xconnect_rewrite(c: &mut Criterion) {
    let frames = udp_frames(BURST as u32, 60);
    let rw = MacRewrite {
        src_mac: Some(EthernetAddress([2, 0, 0, 0, 0, 0x0a])),
        dst_mac: Some(EthernetAddress([2, 0, 0, 0, 0, 0x0b])),
    };
    let mut g = c.benchmark_group("xconnect");
    g.throughput(Throughput::Elements(BURST as u64));
    g.bench_function("mac_rewrite_burst32", |b| {
        b.iter_batched_ref(
            || frames.clone(),
            |burst| {
                for f in burst.iter_mut() {
                    black_box(rewrite_macs(f, &rw)).ok();
                }
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

/// `n` rules, each an exact /32 source with a destination port range, plus a catch-all.
fn rules(n: u32) -> Vec<ClassifierRule> {
    let mut v: Vec<ClassifierRule> = (0..n)
        .map(|i| ClassifierRule {
            src: Some(IpPrefix::ipv4(
                Ipv4Address::new(10, 1, (i >> 8) as u8, i as u8),
                32,
            )),
            protocol: Some(17),
            dst_ports: Some(PortRange { lo: 5000, hi: 5999 }),
            ..ClassifierRule::any(
                i,
                ClassifierAction::Path {
                    spi: 100 + i,
                    si: 255,
                },
            )
        })
        .collect();
    v.push(ClassifierRule::any(u32::MAX, ClassifierAction::Pass));
    v
}

fn keys(n: u32) -> Vec<MatchKey> {
    (0..BURST as u32)
        .map(|k| {
            let i = (k * 7919) % n;
            MatchKey {
                in_port: 0,
                vlan: None,
                flow: FlowKey::ipv4(
                    Ipv4Address::new(10, 1, (i >> 8) as u8, i as u8),
                    Ipv4Address::new(10, 2, 0, 1),
                    IpProtocol::Udp,
                    1024 + k as u16,
                    5001,
                ),
            }
        })
        .collect()
}

fn classifier(c: &mut Criterion) {
    let mut g = c.benchmark_group("classifier");
    g.throughput(Throughput::Elements(BURST as u64));
    for n in [1u32, 10_000] {
        let cls = Classifier::new(rules(n)).expect("valid rules");
        let ks = keys(n);
        g.bench_function(format!("lookup_{n}_rules_burst32"), |b| {
            b.iter(|| {
                for k in &ks {
                    black_box(cls.lookup(black_box(k)));
                }
            })
        });
        let mut cache = FlowCache::new(4096);
        g.bench_function(format!("cached_lookup_{n}_rules_burst32"), |b| {
            b.iter(|| {
                for k in &ks {
                    black_box(cls.lookup_cached(&mut cache, black_box(k)));
                }
            })
        });
    }
    g.finish();
}

criterion_group!(benches, xconnect_rewrite, classifier, sfc);
criterion_main!(benches);

/// The demo chain (classifier → firewall → counter → end of chain) and SFF transit, per packet.
fn sfc(c: &mut Criterion) {
    use qdp::compile::sfc_tables;
    use qdp::config::Pipeline;
    use qdp::packet::{PacketBuf, VecPacket};

    let mut g = c.benchmark_group("sfc");
    g.throughput(Throughput::Elements(BURST as u64));
    let demo = Pipeline::from_toml(qdp::DEMO_PIPELINE).expect("demo pipeline");
    let tables = sfc_tables(&demo, &[[2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]], None).unwrap();
    let mut st = tables.new_state();
    // Each round copies the frames into reused buffers first, as a NIC (or the pcap PMD) would.
    let frames = udp_frames(BURST as u32, 60);
    let mut bufs: Vec<VecPacket> = frames.iter().map(|f| VecPacket::new(f)).collect();
    g.bench_function("demo_chain_burst32", |b| {
        b.iter(|| {
            for (p, f) in bufs.iter_mut().zip(&frames) {
                p.refill(f);
                black_box(tables.process(&mut st, p, 0));
            }
        })
    });
    let transit = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../pipelines/sff-transit.toml"
    ))
    .unwrap();
    let transit = Pipeline::from_toml(&transit).expect("sff-transit pipeline");
    let tables = sfc_tables(&transit, &[[2, 0, 0, 0, 0, 2]], None).unwrap();
    let mut st = tables.new_state();
    let input = std::fs::File::open(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../pipelines/traffic/sff-transit-in.pcap"
    ))
    .unwrap();
    let mut r = pcap_file::pcap::PcapReader::new(input).unwrap();
    let mut frames: Vec<Vec<u8>> = Vec::new();
    while let Some(p) = r.next_packet() {
        frames.push(p.unwrap().data.into_owned());
        if frames.len() == BURST {
            break;
        }
    }
    let mut bufs: Vec<VecPacket> = frames.iter().map(|f| VecPacket::new(f)).collect();
    assert_eq!(
        tables.process(&mut st, &mut bufs[0], 0),
        qdp::nodes::Verdict::Tx(0)
    );
    g.bench_function("sff_transit_burst32", |b| {
        b.iter(|| {
            for (p, f) in bufs.iter_mut().zip(&frames) {
                p.refill(f);
                black_box(tables.process(&mut st, p, 0));
            }
        })
    });
    // The copy alone, to subtract.
    g.bench_function("refill_only_burst32", |b| {
        b.iter(|| {
            for (p, f) in bufs.iter_mut().zip(&frames) {
                p.refill(f);
                black_box(p.data().len());
            }
        })
    });
    g.finish();
}
