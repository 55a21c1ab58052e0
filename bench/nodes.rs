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

criterion_group!(benches, xconnect_rewrite, classifier);
criterion_main!(benches);
