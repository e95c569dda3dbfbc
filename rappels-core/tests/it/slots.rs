//! Laws of `rules::slot_at`: one slot per (date, time, zone), in every zone chrono-tz knows,
//! across the 2026 transitions.
//!
//! The oracle here does not ask chrono-tz to resolve local times. It only asks for the UTC
//! offset at UTC instants, and finds the instants whose wall clock reads the wanted time by
//! trying every offset in force within a day of it; transitions are located by bisection.

use std::sync::OnceLock;

use chrono::{
    DateTime, Datelike, NaiveDate, NaiveDateTime, Offset, TimeDelta, TimeZone, Timelike, Utc,
};
use chrono_tz::{TZ_VARIANTS, Tz};
use proptest::prelude::*;
use rappels_core::domain::{TimeOfDay, Zone};
use rappels_core::rules;

/// A change of UTC offset: before `at` the zone is `before` seconds ahead of UTC, from `at`
/// on `after` seconds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Transition {
    pub(crate) at: DateTime<Utc>,
    pub(crate) before: i64,
    pub(crate) after: i64,
}

impl Transition {
    /// The wall-clock time at which the transition happens, read with the old offset.
    pub(crate) fn wall_before(&self) -> NaiveDateTime {
        self.at.naive_utc() + TimeDelta::seconds(self.before)
    }

    /// The same instant read with the new offset.
    pub(crate) fn wall_after(&self) -> NaiveDateTime {
        self.at.naive_utc() + TimeDelta::seconds(self.after)
    }
}

fn offset_at(tz: Tz, t: DateTime<Utc>) -> i64 {
    i64::from(
        tz.offset_from_utc_datetime(&t.naive_utc())
            .fix()
            .local_minus_utc(),
    )
}

/// Every offset change in `[from, to)`, found by sampling every `step` and bisecting to the
/// second (tz data changes offsets on whole seconds). tz data never changes offset twice
/// within a few hours, so a step of three hours misses nothing.
fn transitions(tz: Tz, from: DateTime<Utc>, to: DateTime<Utc>, step: TimeDelta) -> Vec<Transition> {
    let second = |s: i64| DateTime::from_timestamp(s, 0).expect("2026 is in range");
    let mut found = Vec::new();
    let mut t = from.timestamp();
    let mut offset = offset_at(tz, second(t));
    while t < to.timestamp() {
        let next = t + step.num_seconds();
        let next_offset = offset_at(tz, second(next));
        if next_offset != offset {
            let (mut lo, mut hi) = (t, next);
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2;
                if offset_at(tz, second(mid)) == offset {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            found.push(Transition {
                at: second(hi),
                before: offset,
                after: next_offset,
            });
        }
        t = next;
        offset = next_offset;
    }
    found
}

/// The transitions of every zone in and around 2026, computed once per zone on demand.
pub(crate) fn transitions_2026(zone_index: usize) -> &'static [Transition] {
    static CACHE: OnceLock<Vec<OnceLock<Vec<Transition>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| TZ_VARIANTS.iter().map(|_| OnceLock::new()).collect());
    cache[zone_index].get_or_init(|| {
        let from = crate::strategies::utc("2025-12-30T00:00:00Z");
        let to = crate::strategies::utc("2027-01-02T00:00:00Z");
        transitions(TZ_VARIANTS[zone_index], from, to, TimeDelta::hours(3))
    })
}

/// What the wall time `wall` is in `tz`: the instants whose wall clock reads it (sorted), or
/// the gap it falls into.
enum Wall {
    Instants(Vec<DateTime<Utc>>),
    InGap(Transition),
}

fn resolve(tz: Tz, wall: NaiveDateTime) -> Wall {
    // An instant reading `wall` is `wall − offset`, and offsets lie within −12 h … +14 h, so
    // every candidate is within [wall − 14 h, wall + 12 h] (wall read as UTC).
    let w = wall.and_utc();
    let (from, to) = (w - TimeDelta::hours(15), w + TimeDelta::hours(13));
    let changes = transitions(tz, from, to, TimeDelta::minutes(15));
    let mut offsets = vec![offset_at(tz, from)];
    offsets.extend(changes.iter().map(|c| c.after));
    let mut instants: Vec<DateTime<Utc>> = offsets
        .into_iter()
        .map(|o| w - TimeDelta::seconds(o))
        .filter(|t| t.naive_utc() + TimeDelta::seconds(offset_at(tz, *t)) == wall)
        .collect();
    instants.sort();
    instants.dedup();
    if !instants.is_empty() {
        return Wall::Instants(instants);
    }
    let gap = changes
        .into_iter()
        .find(|c| c.after > c.before && c.wall_before() <= wall && wall < c.wall_after())
        .unwrap_or_else(|| panic!("{wall} in {tz} is neither read by an instant nor in a gap"));
    Wall::InGap(gap)
}

/// Checks `slot_at` for one wall time against the oracle.
fn check_slot(zone_index: usize, wall: NaiveDateTime) -> Result<(), TestCaseError> {
    let tz = TZ_VARIANTS[zone_index];
    let zone = Zone::from(tz);
    let (date, time) = (
        wall.date(),
        TimeOfDay::new(wall.hour(), wall.minute()).unwrap(),
    );
    let wall = date.and_time(time.naive());
    let slot = rules::slot_at(date, time, zone);
    prop_assert_eq!(
        slot,
        rules::slot_at(date, time, zone),
        "slot_at is deterministic"
    );
    let local = slot.with_timezone(&tz).naive_local();
    match resolve(tz, wall) {
        Wall::Instants(instants) => {
            prop_assert_eq!(
                local,
                wall,
                "{} {} in {}: the slot reads the wall time",
                date,
                time,
                tz
            );
            prop_assert_eq!(
                slot,
                instants[0],
                "{} {} in {}: the earliest of {:?}",
                date,
                time,
                tz,
                instants
            );
        }
        Wall::InGap(gap) => {
            prop_assert_eq!(
                slot.naive_utc() + TimeDelta::seconds(gap.before),
                wall,
                "{} {} in {}: read with the offset before the gap {:?}",
                date,
                time,
                tz,
                gap
            );
            prop_assert_eq!(
                local,
                wall + TimeDelta::seconds(gap.after - gap.before),
                "{} {} in {}: the local time is pushed by the size of the gap",
                date,
                time,
                tz
            );
        }
    }
    Ok(())
}

/// Where to look: anywhere in 2026, or within 90 minutes of either wall time of a 2026
/// transition of the zone (the edges of every gap and fold).
#[derive(Debug, Clone)]
enum Pick {
    Anywhere {
        day: i64,
        minute: i64,
    },
    NearTransition {
        which: usize,
        after_side: bool,
        minutes: i64,
    },
}

fn pick() -> impl Strategy<Value = Pick> {
    prop_oneof![
        1 => (0i64..365, 0i64..1440).prop_map(|(day, minute)| Pick::Anywhere { day, minute }),
        2 => (any::<usize>(), any::<bool>(), -90i64..=90)
            .prop_map(|(which, after_side, minutes)| Pick::NearTransition { which, after_side, minutes }),
    ]
}

fn jan_1() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()
}

fn wall_of(zone_index: usize, pick: &Pick) -> NaiveDateTime {
    let anywhere = |day: i64, minute: i64| {
        (jan_1() + TimeDelta::days(day.rem_euclid(365)))
            .and_hms_opt(0, 0, 0)
            .unwrap()
            + TimeDelta::minutes(minute.rem_euclid(1440))
    };
    match *pick {
        Pick::Anywhere { day, minute } => anywhere(day, minute),
        Pick::NearTransition {
            which,
            after_side,
            minutes,
        } => {
            let all = transitions_2026(zone_index);
            if all.is_empty() {
                return anywhere(i64::try_from(which % 365).unwrap(), minutes * 17);
            }
            let t = all[which % all.len()];
            let wall = if after_side {
                t.wall_after()
            } else {
                t.wall_before()
            };
            wall + TimeDelta::minutes(minutes)
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// For a random zone, date and HH:MM, weighted to the edges of the 2026 transitions:
    /// the slot is deterministic, it is the earliest instant whose wall clock reads the date
    /// and time, and in a gap it is the wall time read with the offset before the gap (so
    /// its local time is later by exactly the size of the gap).
    #[test]
    fn one_slot_per_date_and_time_in_every_zone(zone_index in 0..TZ_VARIANTS.len(), pick in pick()) {
        check_slot(zone_index, wall_of(zone_index, &pick))?;
    }

    /// Slots of consecutive dates at the same time are strictly increasing, all through
    /// 2026, whatever transitions lie between them.
    #[test]
    fn slots_of_consecutive_dates_increase(zone_index in 0..TZ_VARIANTS.len(), hour in 0u32..24, minute in 0u32..60) {
        let zone = Zone::from(TZ_VARIANTS[zone_index]);
        let time = TimeOfDay::new(hour, minute).unwrap();
        let mut previous = rules::slot_at(jan_1() - TimeDelta::days(1), time, zone);
        for date in jan_1().iter_days().take(366) {
            let slot = rules::slot_at(date, time, zone);
            prop_assert!(previous < slot, "{} in {}: {} then {}", time, zone, previous, slot);
            previous = slot;
        }
    }
}

/// Every 2026 transition of every zone, at both edges of its gap or fold and in its middle.
#[test]
fn every_2026_transition_of_every_zone() {
    let mut checked = 0;
    for zone_index in 0..TZ_VARIANTS.len() {
        for t in transitions_2026(zone_index) {
            if t.at.year() != 2026 {
                continue;
            }
            let size = (t.after - t.before) / 60;
            for edge in [t.wall_before(), t.wall_after()] {
                for minutes in [-1, 0, 1] {
                    check_slot(zone_index, edge + TimeDelta::minutes(minutes)).unwrap();
                }
            }
            check_slot(zone_index, t.wall_before() + TimeDelta::minutes(size / 2)).unwrap();
            checked += 1;
        }
    }
    // About 70 zones keep DST in 2026; fewer transitions than that would mean the scan is
    // broken and the loop above proved nothing.
    assert!(checked > 100, "only {checked} transitions found in 2026");
}

#[test]
fn oracle_finds_the_spec_examples() {
    let paris = TZ_VARIANTS
        .iter()
        .position(|tz| *tz == chrono_tz::Europe::Paris)
        .unwrap();
    let wall = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
    let Wall::InGap(gap) = resolve(TZ_VARIANTS[paris], wall("2026-03-29 02:30")) else {
        panic!("02:30 on 2026-03-29 is in the Paris gap");
    };
    assert_eq!((gap.before, gap.after), (3600, 7200));
    let Wall::Instants(twice) = resolve(TZ_VARIANTS[paris], wall("2026-10-25 02:30")) else {
        panic!("02:30 on 2026-10-25 is in the Paris fold");
    };
    assert_eq!(
        twice,
        [
            crate::strategies::utc("2026-10-25T00:30:00Z"),
            crate::strategies::utc("2026-10-25T01:30:00Z")
        ]
    );
    check_slot(paris, wall("2026-03-29 02:30")).unwrap();
    let spring = transitions_2026(paris)[0];
    assert_eq!(
        spring.at,
        crate::strategies::utc("2026-03-29T01:00:00Z"),
        "exact to the second"
    );
    assert_eq!(transitions_2026(paris).len(), 2);
}
