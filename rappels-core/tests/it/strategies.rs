//! Proptest generators: small scenarios planned around the 2026 DST transitions.
//!
//! Scenarios are drawn as plain specs (offsets from the planning instant, indexes into the
//! student list) and only then built into a `Scenario` through the public constructors, so
//! that proptest shrinks numbers and lists rather than half-built records, and so that every
//! record lands near the instant planned for, where reminders are actually due.

use std::num::NonZeroU32;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use proptest::prelude::*;
use rappels_core::domain::{
    EmailAddress, Kind, Locale, ManualId, ManualRequest, OptOut, OptOuts, Parent, ParentId,
    ReminderKey, Session, SessionId, SessionStatus, Student, StudentId, StudyPlan, StudyPlanId,
    TimeOfDay, Weekday, Zone, parse_instant,
};
use rappels_core::rules;
use rappels_core::scenario::Scenario;
use rappels_core::settings::{GraceMinutes, Settings};

/// The zones scenarios draw from: two DST regimes (Paris, New York), no DST at all
/// (Abidjan, at UTC), a +12:45/+13:45 zone whose local dates run far ahead of UTC (Chatham),
/// a half-hour offset (Kolkata), a half-hour DST shift (Lord Howe, on 2026-10-04), and
/// transitions at midnight, where a slot can change local date: Nuuk skips 23:00–00:00 on
/// 2026-03-28 and repeats it on 2026-10-24, Beirut skips 00:00–01:00 on 2026-03-29 and falls
/// back from midnight into the day before on 2026-10-25, Havana skips 00:00–01:00 on
/// 2026-03-08.
pub(crate) const ZONES: [&str; 9] = [
    "Europe/Paris",
    "America/New_York",
    "Africa/Abidjan",
    "Pacific/Chatham",
    "Asia/Kolkata",
    "Australia/Lord_Howe",
    "America/Nuuk",
    "Asia/Beirut",
    "America/Havana",
];

/// The 2026 transitions of [`ZONES`] in the months planned for, as UTC instants: Havana and
/// New York spring forward, Beirut, then Paris and Nuuk spring forward, Lord Howe springs
/// forward by 30 minutes, Beirut falls back, then Paris and Nuuk, then Havana and New York.
const TRANSITIONS: [&str; 8] = [
    "2026-03-08T05:00:00Z",
    "2026-03-08T07:00:00Z",
    "2026-03-28T22:00:00Z",
    "2026-03-29T01:00:00Z",
    "2026-10-03T15:30:00Z",
    "2026-10-24T21:00:00Z",
    "2026-10-25T01:00:00Z",
    "2026-11-01T06:00:00Z",
];

const WEEKDAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

const DAY: i64 = 86_400;

/// A zone of [`ZONES`].
pub(crate) fn zone(i: usize) -> Zone {
    Zone::parse(ZONES[i % ZONES.len()]).expect("the listed zones exist")
}

/// An RFC 3339 instant written in a test.
pub(crate) fn utc(s: &str) -> DateTime<Utc> {
    parse_instant(s).expect("test instants are well formed")
}

/// An instant to plan at: within three days of a transition of [`ZONES`], or anywhere in
/// March, October or November 2026; whole minutes half of the time, since slots are.
pub(crate) fn plan_instant() -> impl Strategy<Value = DateTime<Utc>> {
    let near = (0..TRANSITIONS.len(), -3 * DAY..=3 * DAY)
        .prop_map(|(i, s)| utc(TRANSITIONS[i]) + TimeDelta::seconds(s));
    let months = (0..3usize, 0..31 * DAY).prop_map(|(m, s)| {
        let (start, days) = [
            ("2026-03-01T00:00:00Z", 31),
            ("2026-10-01T00:00:00Z", 31),
            ("2026-11-01T00:00:00Z", 30),
        ][m];
        utc(start) + TimeDelta::seconds(s % (days * DAY))
    });
    (prop_oneof![near, months], any::<bool>()).prop_map(|(t, whole_minute)| {
        if whole_minute {
            t - TimeDelta::seconds(t.timestamp().rem_euclid(60))
        } else {
            t
        }
    })
}

/// A time of day, often inside the gaps and folds of [`ZONES`]: 02:00–03:00 in Paris and
/// New York (02:00–02:30 in Lord Howe), 23:00–00:00 in Nuuk, 00:00–01:00 in Beirut and
/// Havana.
pub(crate) fn time_of_day() -> impl Strategy<Value = TimeOfDay> {
    prop_oneof![
        3 => (0u32..24, 0u32..60),
        2 => (Just(2u32), 0u32..60),
        1 => (Just(23u32), 0u32..60),
        1 => (Just(0u32), 0u32..60),
        1 => (1u32..4, prop::sample::select(vec![0u32, 1, 29, 30, 59])),
        1 => prop::sample::select(vec![(0u32, 0u32), (23, 59), (0, 30), (23, 30)]),
    ]
    .prop_map(|(h, m)| TimeOfDay::new(h, m).expect("hours and minutes are in range"))
}

/// Settings anywhere in their valid ranges, with a grace of 1 to 1440 minutes that often
/// sits at either end.
pub(crate) fn settings() -> impl Strategy<Value = Settings> {
    let times = (time_of_day(), time_of_day(), time_of_day(), time_of_day());
    let grace = prop_oneof![Just(1u32), Just(1440), Just(360), 1u32..=1440];
    let ladder = (
        prop_oneof![
            2 => prop::collection::vec(0u32..16, 0..5),
            1 => prop::collection::vec(0u32..40, 0..5),
        ],
        prop::option::weighted(0.4, 1u32..10),
    );
    (0..ZONES.len(), times, ladder, 0..7usize, grace, 0u32..4).prop_map(
        |(z, (eve, day, inactivity, weekly), (days, repeat), weekday, grace, max)| Settings {
            timezone: zone(z),
            session_eve_time: eve,
            session_day_time: day,
            inactivity_time: inactivity,
            inactivity_days: days,
            inactivity_repeat_days: repeat.and_then(NonZeroU32::new),
            weekly_day: Weekday::parse(WEEKDAYS[weekday]).expect("listed weekdays parse"),
            weekly_time: weekly,
            grace_minutes: GraceMinutes::new(grace).expect("grace is drawn in range"),
            manual_max_per_day: max,
        },
    )
}

/// Free text for names, subjects and objectives: mostly printable, sometimes anything.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![3 => "\\PC{0,10}", 1 => any::<String>()]
}

/// A valid e-mail address (checked by `EmailAddress::parse` when the scenario is built).
fn email() -> impl Strategy<Value = String> {
    "[a-zé0-9.+_-]{1,8}@[a-z0-9-]{1,8}\\.[a-z]{2,6}"
}

/// An offset from the planning instant, in seconds, with a fraction of a second now and
/// then (RULES.md allows fractions in instants).
fn offset(range: std::ops::Range<i64>) -> impl Strategy<Value = TimeDelta> {
    (
        range,
        prop_oneof![4 => Just(0u32), 1 => 0u32..1_000_000_000],
    )
        .prop_map(|(s, ns)| TimeDelta::seconds(s) + TimeDelta::nanoseconds(i64::from(ns)))
}

#[derive(Debug, Clone)]
struct StudentSpec {
    first_name: String,
    last_name: String,
    email: String,
    zone: Option<usize>,
    locale: Locale,
    account_active: bool,
    subscription_active: bool,
    opt_out: Vec<OptOut>,
    created_at: Option<TimeDelta>,
    last_activity_at: Option<TimeDelta>,
}

fn student_spec() -> impl Strategy<Value = StudentSpec> {
    let opt_out = prop_oneof![
        4 => Just(vec![]),
        1 => prop::collection::vec(
            prop::sample::select(vec![OptOut::Session, OptOut::Inactivity, OptOut::Weekly, OptOut::All]),
            1..3,
        ),
    ];
    let names = (text(), text(), email());
    let flags = (
        prop::option::weighted(0.7, 0..ZONES.len()),
        prop::sample::select(vec![Locale::Fr, Locale::En]),
        prop::bool::weighted(0.9),
        prop::bool::weighted(0.85),
    );
    let times = (
        prop::option::weighted(0.5, offset(-60 * DAY..0)),
        prop::option::weighted(
            0.8,
            prop_oneof![1 => offset(-45 * DAY..DAY), 2 => offset(-16 * DAY..0)],
        ),
    );
    (names, flags, opt_out, times).prop_map(
        |(
            (first_name, last_name, email),
            (zone, locale, account_active, subscription_active),
            opt_out,
            (created_at, last_activity_at),
        )| {
            StudentSpec {
                first_name,
                last_name,
                email,
                zone,
                locale,
                account_active,
                subscription_active,
                opt_out,
                created_at,
                last_activity_at,
            }
        },
    )
}

#[derive(Debug, Clone)]
struct SessionSpec {
    student: usize,
    subject: String,
    objective: String,
    starts_in: TimeDelta,
    duration_minutes: u32,
    status: SessionStatus,
}

fn session_spec() -> impl Strategy<Value = SessionSpec> {
    let status = prop_oneof![
        6 => Just(SessionStatus::Scheduled),
        1 => Just(SessionStatus::Completed),
        1 => Just(SessionStatus::Cancelled),
    ];
    // Sessions start on the quarter hour most of the time, as booked sessions do, which
    // also puts some of them exactly on a slot.
    let starts_in = prop_oneof![
        3 => (-2 * 96i64..5 * 96).prop_map(|q| TimeDelta::minutes(15 * q)),
        1 => offset(-2 * DAY..5 * DAY),
    ];
    (any::<usize>(), text(), text(), starts_in, 1u32..240, status).prop_map(
        |(student, subject, objective, starts_in, duration_minutes, status)| SessionSpec {
            student,
            subject,
            objective,
            starts_in,
            duration_minutes,
            status,
        },
    )
}

#[derive(Debug, Clone)]
struct ManualSpec {
    own_child: bool,
    parent: usize,
    student: usize,
    title: String,
    message: String,
    requested: TimeDelta,
}

/// Titles and messages: valid ones, and one of each way to be refused.
fn manual_spec() -> impl Strategy<Value = ManualSpec> {
    let title = prop_oneof![
        4 => Just("Révise ce soir".to_owned()),
        1 => Just(String::new()),
        1 => Just("  \u{3000}".to_owned()),
        1 => Just("Bonne\r\nBcc: x@example.org".to_owned()),
        1 => Just("a\tb".to_owned()),
        1 => Just("é".repeat(200)),
        1 => Just("é".repeat(201)),
        1 => text(),
    ];
    let message = prop_oneof![
        4 => Just("Courage pour demain !\nBisous".to_owned()),
        1 => Just(" \n ".to_owned()),
        1 => Just("x".repeat(5001)),
    ];
    let who = (prop::bool::weighted(0.7), any::<usize>(), any::<usize>());
    (who, title, message, offset(-3 * DAY..DAY)).prop_map(
        |((own_child, parent, student), title, message, requested)| ManualSpec {
            own_child,
            parent,
            student,
            title,
            message,
            requested,
        },
    )
}

#[derive(Debug, Clone)]
struct SentSpec {
    kind: Kind,
    student: usize,
    record: usize,
    days: i64,
}

fn sent_spec() -> impl Strategy<Value = SentSpec> {
    (
        prop::sample::select(Kind::ALL.to_vec()),
        any::<usize>(),
        any::<usize>(),
        -3i64..=2,
    )
        .prop_map(|(kind, student, record, days)| SentSpec {
            kind,
            student,
            record,
            days,
        })
}

#[derive(Debug, Clone)]
struct PlanSpec {
    student: usize,
    weekday: usize,
    time: TimeOfDay,
    subject: String,
    duration_minutes: u32,
}

fn study_plan_spec() -> impl Strategy<Value = PlanSpec> {
    (any::<usize>(), 0..7usize, time_of_day(), text(), 1u32..240).prop_map(
        |(student, weekday, time, subject, duration_minutes)| PlanSpec {
            student,
            weekday,
            time,
            subject,
            duration_minutes,
        },
    )
}

/// Where the ids of each record kind start: small, or near 2^63 − 1 so that ids beyond
/// what a JSON double holds exactly are exercised too.
fn id_base() -> impl Strategy<Value = i64> {
    prop_oneof![3 => Just(1i64), 1 => (1i64 << 53)..(1i64 << 62), 1 => Just(i64::MAX - 100)]
}

/// A valid scenario with one to four students, up to three parents, seven sessions, five
/// manual requests and four `sent` entries, everything placed relative to `at`.
pub(crate) fn scenario_around(at: DateTime<Utc>) -> impl Strategy<Value = Scenario> {
    let records = (
        prop::collection::vec(student_spec(), 1..5),
        prop::collection::vec(prop::collection::vec(any::<usize>(), 0..4), 0..4),
        prop::collection::vec(session_spec(), 0..8),
        prop::collection::vec(manual_spec(), 0..6),
        prop::collection::vec(sent_spec(), 0..5),
        prop::collection::vec(study_plan_spec(), 0..3),
    );
    (settings(), records, id_base())
        .prop_map(move |(settings, records, base)| build(at, settings, records, base))
}

/// How a planning instant is placed against an instant where something changes.
#[derive(Debug, Clone, Copy)]
enum Shift {
    Exact,
    NanoBefore,
    SecondAfter,
    LastOfGrace,
    EndOfGrace,
    WithinGrace(u32),
}

fn shift() -> impl Strategy<Value = Shift> {
    prop_oneof![
        1 => Just(Shift::Exact),
        1 => Just(Shift::NanoBefore),
        1 => Just(Shift::SecondAfter),
        1 => Just(Shift::LastOfGrace),
        1 => Just(Shift::EndOfGrace),
        3 => (0u32..=1_000_000).prop_map(Shift::WithinGrace),
    ]
}

/// Instants near `anchor` where a reminder of `scenario` may start or stop being due:
/// slots of scheduled sessions and their starts (where their windows close), inactivity
/// slots on dates the ladder hits, weekly slots, and manual requests. The rule functions
/// only serve to aim here; the laws check them separately.
fn turning_points(scenario: &Scenario, anchor: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    let settings = &scenario.settings;
    let student = |id: StudentId| scenario.students.iter().find(|s| s.id == id);
    let mut points = Vec::new();
    for session in scenario
        .sessions
        .iter()
        .filter(|s| s.status == SessionStatus::Scheduled)
    {
        let zone =
            student(session.student_id).map_or(settings.timezone, |s| s.zone(settings.timezone));
        let day = local_date(session.starts_at, zone);
        points.push(rules::slot_at(
            day - TimeDelta::days(1),
            settings.session_eve_time,
            zone,
        ));
        points.push(rules::slot_at(day, settings.session_day_time, zone));
        points.push(session.starts_at);
    }
    for student in &scenario.students {
        let zone = student.zone(settings.timezone);
        let today = local_date(anchor, zone);
        let reference = rules::inactivity_reference_date(student, zone);
        for date in (-3..=3).map(|d| today + TimeDelta::days(d)) {
            if reference
                .is_some_and(|r| rules::inactivity_ladder_hits((date - r).num_days(), settings))
            {
                points.push(rules::slot_at(date, settings.inactivity_time, zone));
            }
            if rules::is_weekly_date(date, settings) {
                points.push(rules::slot_at(date, settings.weekly_time, zone));
            }
        }
    }
    points.extend(scenario.manual.iter().map(|m| m.requested_at));
    points.retain(|t| (*t - anchor).abs() <= TimeDelta::days(4));
    points.sort();
    points
}

/// A planning instant and a scenario around it. A fifth of the time the instant is
/// [`plan_instant`]'s; otherwise it sits on or near a turning point of the scenario (a
/// slot, the last instant of a grace period, a session start…), so that most cases have
/// reminders due and window edges are hit exactly.
pub(crate) fn planned_scenario() -> impl Strategy<Value = (DateTime<Utc>, Scenario)> {
    let aim = prop_oneof![1 => Just(None), 4 => (any::<usize>(), shift()).prop_map(Some)];
    plan_instant()
        .prop_flat_map(move |anchor| (Just(anchor), scenario_around(anchor), aim.clone()))
        .prop_map(|(anchor, scenario, aim)| {
            let points = turning_points(&scenario, anchor);
            let at = match aim {
                Some((which, shift)) if !points.is_empty() => {
                    let point = points[which % points.len()];
                    let grace = scenario.settings.grace();
                    match shift {
                        Shift::Exact => point,
                        Shift::NanoBefore => point - TimeDelta::nanoseconds(1),
                        Shift::SecondAfter => point + TimeDelta::seconds(1),
                        Shift::LastOfGrace => point + grace - TimeDelta::nanoseconds(1),
                        Shift::EndOfGrace => point + grace,
                        Shift::WithinGrace(millionths) => {
                            point
                                + TimeDelta::seconds(
                                    grace.num_seconds() * i64::from(millionths) / 1_000_000,
                                )
                        }
                    }
                }
                _ => anchor,
            };
            (at, scenario)
        })
}

type Records = (
    Vec<StudentSpec>,
    Vec<Vec<usize>>,
    Vec<SessionSpec>,
    Vec<ManualSpec>,
    Vec<SentSpec>,
    Vec<PlanSpec>,
);

fn build(at: DateTime<Utc>, settings: Settings, records: Records, base: i64) -> Scenario {
    let (students, parents, sessions, manual, sent, plans) = records;
    // Every kind of record numbers from `base`; kinds have separate id spaces, so sharing
    // the numbers also checks that nothing confuses a student id with a session id.
    let id = |i: usize| base + i64::try_from(i).expect("few records");
    let n = students.len();
    let student_id = |i: usize| StudentId::new(id(i % n)).expect("ids are in range");
    let students: Vec<Student> = students
        .into_iter()
        .enumerate()
        .map(|(i, s)| Student {
            id: StudentId::new(id(i)).expect("ids are in range"),
            first_name: s.first_name,
            last_name: s.last_name,
            email: EmailAddress::parse(s.email).expect("the e-mail strategy draws valid addresses"),
            timezone: s.zone.map(zone),
            locale: s.locale,
            account_active: s.account_active,
            subscription_active: s.subscription_active,
            created_at: s.created_at.map(|d| at + d),
            last_activity_at: s.last_activity_at.map(|d| at + d),
            opt_out: OptOuts::new(s.opt_out),
        })
        .collect();
    let parents: Vec<Parent> = parents
        .into_iter()
        .enumerate()
        .map(|(i, children)| Parent {
            id: ParentId::new(id(i)).expect("ids are in range"),
            first_name: format!("Parent {i}"),
            last_name: String::new(),
            email: EmailAddress::parse(format!("parent{i}@example.org")).expect("valid address"),
            children: children.into_iter().map(student_id).collect(),
        })
        .collect();
    let sessions: Vec<Session> = sessions
        .into_iter()
        .enumerate()
        .map(|(i, s)| Session {
            id: SessionId::new(id(i)).expect("ids are in range"),
            student_id: student_id(s.student),
            subject: s.subject,
            objective: s.objective,
            starts_at: at + s.starts_in,
            duration_minutes: s.duration_minutes,
            status: s.status,
        })
        .collect();
    // Most requests come from a parent to one of their children; the others may name a
    // parent or a student one past the last, since unknown ids are rejections, not input
    // errors.
    let families: Vec<&Parent> = parents.iter().filter(|p| !p.children.is_empty()).collect();
    let manual: Vec<ManualRequest> = manual
        .into_iter()
        .enumerate()
        .map(|(i, m)| {
            let (parent_id, student_id) = if m.own_child && !families.is_empty() {
                let parent = families[m.parent % families.len()];
                (
                    parent.id,
                    parent.children[m.student % parent.children.len()],
                )
            } else {
                (
                    ParentId::new(id(m.parent % (parents.len() + 1))).expect("ids are in range"),
                    StudentId::new(id(m.student % (n + 1))).expect("ids are in range"),
                )
            };
            ManualRequest {
                id: ManualId::new(id(i)).expect("ids are in range"),
                parent_id,
                student_id,
                title: m.title,
                message: m.message,
                requested_at: at + m.requested,
            }
        })
        .collect();
    let sent = sent
        .into_iter()
        .map(|s| {
            let date = at.date_naive() + TimeDelta::days(s.days);
            let record = |len: usize| id(s.record % len.max(1));
            let student = Some(student_id(s.student));
            match s.kind {
                Kind::SessionEve | Kind::SessionDay => ReminderKey::from_parts(
                    s.kind,
                    student,
                    Some(SessionId::new(record(sessions.len())).expect("ids are in range")),
                    Some(date),
                    None,
                ),
                Kind::Inactivity | Kind::Weekly => {
                    ReminderKey::from_parts(s.kind, student, None, Some(date), None)
                }
                Kind::Manual => ReminderKey::from_parts(
                    s.kind,
                    None,
                    None,
                    None,
                    Some(ManualId::new(record(manual.len())).expect("ids are in range")),
                ),
            }
            .expect("keys are built with the fields of their kind")
        })
        .collect();
    let study_plans = plans
        .into_iter()
        .enumerate()
        .map(|(i, p)| StudyPlan {
            id: StudyPlanId::new(id(i)).expect("ids are in range"),
            student_id: student_id(p.student),
            weekday: Weekday::parse(WEEKDAYS[p.weekday]).expect("listed weekdays parse"),
            time: p.time,
            subject: p.subject,
            objective: String::new(),
            duration_minutes: p.duration_minutes,
        })
        .collect();
    let scenario = Scenario {
        settings,
        students,
        parents,
        sessions,
        manual,
        sent,
        study_plans,
    };
    scenario.validate().expect("generated scenarios are valid");
    scenario
}

/// The local date of `t` in `zone`, computed directly with chrono-tz.
pub(crate) fn local_date(t: DateTime<Utc>, zone: Zone) -> NaiveDate {
    t.with_timezone(&zone.tz()).date_naive()
}
