//! Rendering one reminder's message, per kind and locale (messages per second on one core),
//! and building its MIME form (what every mailer does before sending or writing it).

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rappels_benches::{INSTANTS, instant, school};
use rappels_core::domain::{Kind, Locale};
use rappels_core::message::{MessageConfig, Templates};
use rappels_core::plan::{Directory, DueReminder};
use rappels_core::ports::Email;
use rappels_core::service::ServiceConfig;
use rappels_core::snapshot::Snapshot;

/// One due reminder of each (kind, locale) found in the school's plans.
fn samples(snapshot: &Snapshot) -> Vec<(Kind, Locale, DueReminder)> {
    let mut found: Vec<(Kind, Locale, DueReminder)> = Vec::new();
    for (_, at) in INSTANTS {
        for due in snapshot.plan(instant(at)).due {
            let Some(student) = snapshot.student(due.student) else {
                continue;
            };
            let (kind, locale) = (due.kind(), student.locale);
            if !found.iter().any(|(k, l, _)| (*k, *l) == (kind, locale)) {
                found.push((kind, locale, due));
            }
        }
    }
    found.sort_by_key(|(k, l, _)| (*k, l.code()));
    found
}

fn rendering(c: &mut Criterion) {
    let snapshot = Snapshot::new(school(20_000));
    let templates = Templates::embedded();
    let config = MessageConfig::default();
    let settings = snapshot.settings().clone();
    let samples = samples(&snapshot);
    assert!(samples.len() >= 8, "every automatic kind in both locales");
    let mut render = c.benchmark_group("render");
    render.throughput(Throughput::Elements(1));
    for (kind, locale, due) in &samples {
        render.bench_function(BenchmarkId::new(kind.as_str(), locale.code()), |b| {
            b.iter(|| {
                black_box(
                    templates
                        .render(black_box(due), &snapshot, &settings, &config)
                        .expect("renders"),
                )
            })
        });
    }
    render.finish();

    let from = rappels_smtp::parse_sender("École Horizon <noreply@ecole.example.org>")
        .expect("a valid sender");
    let domain = ServiceConfig::default().message_id_domain;
    let mut mime = c.benchmark_group("mime");
    mime.throughput(Throughput::Elements(1));
    for (kind, locale, due) in &samples {
        let message = templates
            .render(due, &snapshot, &settings, &config)
            .expect("renders");
        let email = Email {
            message_id: rappels_core::ports::message_id(&due.key, &domain),
            to: due.to.clone(),
            to_name: "Élève Exemple".to_owned(),
            kind: *kind,
            student: due.student,
            message,
            unsubscribe_url: Some(
                "https://ecole.example.org/unsubscribe?token=djE6MToxOnNlc3Npb24.abc".to_owned(),
            ),
        };
        mime.bench_function(BenchmarkId::new(kind.as_str(), locale.code()), |b| {
            b.iter(|| {
                black_box(
                    rappels_smtp::build_message(black_box(&email), &from)
                        .expect("builds")
                        .formatted(),
                )
            })
        });
    }
    mime.finish();
}

criterion_group!(benches, rendering);
criterion_main!(benches);
