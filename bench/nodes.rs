//! Criterion benches of single nodes, in ns per packet, on byte buffers (no EAL needed).

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion, Throughput};

use qdp::config::MacRewrite;
use qdp::nodes::xconnect::rewrite_macs;
use qdp::traffic::udp_frames;
use qdp::wire::EthernetAddress;

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

criterion_group!(benches, xconnect_rewrite);
criterion_main!(benches);
