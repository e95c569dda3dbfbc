//! Planning in memory at 10k, 100k and 1M students, at the four instants of
//! `rappels_benches::INSTANTS`: the indexed planner of `rappels_core` (what `rappels plan
//! --scenario` runs after parsing) against the naive per-student scan.
//!
//! `RAPPELS_BENCH_SIZES=10000,100000` narrows the sizes (default: 10000,100000,1000000).

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rappels_benches::{INSTANTS, automatic_counts, instant, naive_counts, school};
use rappels_core::snapshot::Snapshot;

fn sizes() -> Vec<u32> {
    std::env::var("RAPPELS_BENCH_SIZES")
        .ok()
        .map(|list| {
            list.split(',')
                .filter_map(|n| n.trim().parse().ok())
                .collect()
        })
        .unwrap_or_else(|| vec![10_000, 100_000, 1_000_000])
}

fn planning(c: &mut Criterion) {
    for students in sizes() {
        let snapshot = Snapshot::new(school(students));
        let scenario = snapshot.scenario();
        let mut group = c.benchmark_group(format!("plan_{students}"));
        // Ten samples over a second at least: the slowest case (the naive scan of 1M
        // students, half a second an iteration) still gets its ten, and the 24 cases fit
        // in `benches/run.sh`'s budget.
        group
            .sample_size(10)
            .warm_up_time(Duration::from_millis(300))
            .measurement_time(Duration::from_secs(1));
        for (name, at) in INSTANTS {
            let at = instant(at);
            let plan = snapshot.plan(at);
            // Both planners must find the same reminders, or the comparison means nothing.
            assert_eq!(
                automatic_counts(&plan),
                naive_counts(scenario, at),
                "{students} students at {at}"
            );
            println!("{students} students, {name}: {} due", plan.due.len());
            group.throughput(Throughput::Elements(u64::from(students)));
            group.bench_function(BenchmarkId::new("indexed", name), |b| {
                b.iter(|| black_box(snapshot.plan(black_box(at))))
            });
            group.bench_function(BenchmarkId::new("naive", name), |b| {
                b.iter(|| black_box(naive_counts(black_box(scenario), black_box(at))))
            });
        }
        group.finish();
    }
}

criterion_group!(benches, planning);
criterion_main!(benches);
