//! The planner's per-zone window (step 1 of planning) against brute force, in every zone
//! chrono-tz knows: the local dates whose inactivity or weekly slot is due at `T` are
//! exactly those among the five local dates around `T` whose slot `S` has `S <= T < S +
//! grace`.
//!
//! This is where a too narrow range of candidate dates would hide: a slot in a gap that
//! straddles midnight (Nuuk skips 23:00–00:00 on 2026-03-28) falls on the next local date,
//! and the scenario laws only rarely draw such a zone, time and instant together.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, TimeDelta, Timelike, Utc};
use chrono_tz::TZ_VARIANTS;
use proptest::prelude::*;
use rappels_core::domain::{TimeOfDay, Weekday, Zone};
use rappels_core::plan::{DatedSlot, ZoneWindow};
use rappels_core::rules;
use rappels_core::settings::{GraceMinutes, Settings};

use crate::slots::transitions_2026;

/// Settings whose inactivity and weekly slots are both at `time`, with the digest on the
/// weekday of `date` so that both lists are exercised.
fn settings(time: TimeOfDay, date: NaiveDate, grace: u32) -> Settings {
    Settings {
        inactivity_time: time,
        weekly_time: time,
        weekly_day: Weekday::from(date.weekday()),
        grace_minutes: GraceMinutes::new(grace).unwrap(),
        ..Settings::default()
    }
}

/// The due slots at `at` by brute force: every local date from three days before `at`'s to
/// one day after, kept when its slot is due.
fn brute_force(zone: Zone, at: DateTime<Utc>, settings: &Settings, weekly: bool) -> Vec<DatedSlot> {
    let today = at.with_timezone(&zone.tz()).date_naive();
    let grace = TimeDelta::minutes(i64::from(settings.grace_minutes.get()));
    (-3..=1)
        .map(|d| today + TimeDelta::days(d))
        .filter(|date| !weekly || date.weekday() == settings.weekly_day.chrono())
        .map(|date| DatedSlot {
            date,
            slot: rules::slot_at(date, settings.inactivity_time, zone),
        })
        .filter(|s| s.slot <= at && at < s.slot + grace)
        .collect()
}

fn check(zone: Zone, at: DateTime<Utc>, settings: &Settings) -> Result<(), TestCaseError> {
    let window = ZoneWindow::new(zone, at, settings);
    let context = format!(
        "{zone} at {at}, time {}, grace {}",
        settings.inactivity_time,
        settings.grace_minutes.get()
    );
    prop_assert_eq!(
        window.inactivity,
        brute_force(zone, at, settings, false),
        "inactivity: {}",
        context
    );
    prop_assert_eq!(
        window.weekly,
        brute_force(zone, at, settings, true),
        "weekly: {}",
        context
    );
    Ok(())
}

/// The instants worth planning at for a slot: its edges, its middle, and the edges of the
/// transition it is near, with and without the grace.
fn instants(slot: DateTime<Utc>, transition: DateTime<Utc>, grace: u32) -> [DateTime<Utc>; 8] {
    let grace = TimeDelta::minutes(i64::from(grace));
    let ns = TimeDelta::nanoseconds(1);
    [
        slot - ns,
        slot,
        slot + grace / 2,
        slot + grace - ns,
        slot + grace,
        transition,
        transition + grace - ns,
        transition + grace,
    ]
}

fn time_of(wall: NaiveDateTime) -> (NaiveDate, TimeOfDay) {
    (
        wall.date(),
        TimeOfDay::new(wall.hour(), wall.minute()).unwrap(),
    )
}

/// Every 2026 transition of every zone: times at both edges of the gap or fold and in its
/// middle, graces from 1 to 1440 minutes, instants at the edges of the slot's window and
/// of the transition.
#[test]
fn zone_windows_match_brute_force_at_every_2026_transition() {
    let mut checked = 0;
    for (zone_index, tz) in TZ_VARIANTS.iter().enumerate() {
        let zone = Zone::from(*tz);
        for t in transitions_2026(zone_index)
            .iter()
            .filter(|t| t.at.year() == 2026)
        {
            let middle = t.wall_before() + TimeDelta::seconds((t.after - t.before) / 2);
            let mut walls = vec![middle];
            for edge in [t.wall_before(), t.wall_after()] {
                walls.extend([-1, 0, 1].map(|m| edge + TimeDelta::minutes(m)));
            }
            for wall in walls {
                let (date, time) = time_of(wall);
                let slot = rules::slot_at(date, time, zone);
                for grace in [1, 30, 360, 1440] {
                    let settings = settings(time, date, grace);
                    for at in instants(slot, t.at, grace) {
                        check(zone, at, &settings).unwrap();
                    }
                }
            }
            checked += 1;
        }
    }
    assert!(checked > 100, "only {checked} transitions found in 2026");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The same for a random zone, date, time, grace and instant around the slot.
    #[test]
    fn zone_windows_match_brute_force(
        zone_index in 0..TZ_VARIANTS.len(),
        day in 0i64..365,
        hour in 0u32..24,
        minute in 0u32..60,
        grace in prop_oneof![Just(1u32), Just(1440), 1u32..=1440],
        seconds in -2 * 86_400i64..2 * 86_400,
    ) {
        let zone = Zone::from(TZ_VARIANTS[zone_index]);
        let date = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + TimeDelta::days(day);
        let time = TimeOfDay::new(hour, minute).unwrap();
        let at = rules::slot_at(date, time, zone) + TimeDelta::seconds(seconds);
        check(zone, at, &settings(time, date, grace))?;
    }
}
