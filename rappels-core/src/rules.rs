//! The rules of RULES.md, one plain function each: slots, due windows, eligibility, the
//! inactivity ladder, manual validation and its rate limit.
//!
//! Nothing here reads a clock, does IO or awaits: every function takes the instant and the
//! data it judges, so each rule can be tested at any instant, DST transitions included, and
//! the in-memory and SQL planners share them (see `plan`).

use std::collections::HashMap;

use chrono::{DateTime, LocalResult, NaiveDate, Offset, TimeDelta, TimeZone, Utc};
use serde::Serialize;

use crate::domain::{
    Family, ManualRequest, MessageText, Parent, ParentId, Session, SessionReminder, SessionStatus,
    Student, StudentId, TimeOfDay, Title, Zone,
};
use crate::settings::Settings;

/// The local date of instant `t` in `zone`.
pub fn local_date(t: DateTime<Utc>, zone: Zone) -> NaiveDate {
    t.with_timezone(&zone.tz()).date_naive()
}

/// `at(D, HH:MM, zone)` of RULES.md: the instant whose wall clock in `zone` reads `date`,
/// `time`.
///
/// A wall time inside a spring-forward gap is read with the offset in force before the gap
/// (02:30 in Paris on 2026-03-29 is 01:30Z, i.e. 03:30 CEST); a wall time that occurs twice
/// resolves to the earlier instant. So every (date, time, zone) has exactly one slot.
pub fn slot_at(date: NaiveDate, time: TimeOfDay, zone: Zone) -> DateTime<Utc> {
    let wall = date.and_time(time.naive());
    let tz = zone.tz();
    match tz.from_local_datetime(&wall) {
        LocalResult::Single(t) => t.to_utc(),
        LocalResult::Ambiguous(a, b) => a.to_utc().min(b.to_utc()),
        LocalResult::None => {
            // The offset in force a day before the wall time is the one before the gap: tz
            // data has no two transitions within a day (even Samoa's skipped 2011-12-30 was
            // one transition), and a day covers the widest offsets (−12 h to +14 h).
            let before = tz
                .offset_from_utc_datetime(&(wall - TimeDelta::days(1)))
                .fix()
                .local_minus_utc();
            (wall - TimeDelta::seconds(i64::from(before))).and_utc()
        }
    }
}

/// The half-open interval `[start, end)` during which a reminder is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DueWindow {
    /// The slot.
    pub start: DateTime<Utc>,
    /// The first instant it is no longer due; `None` for never (manual reminders).
    pub end: Option<DateTime<Utc>>,
}

impl DueWindow {
    /// True when `at` lies in `[start, end)`.
    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        self.start <= at && self.end.is_none_or(|end| at < end)
    }
}

/// Window of the automatic reminders without an extra condition: `[S, S + grace)`.
pub fn grace_window(slot: DateTime<Utc>, settings: &Settings) -> DueWindow {
    DueWindow {
        start: slot,
        end: Some(slot + settings.grace()),
    }
}

/// Why a student gets no automatic reminder of a family, in the order the conditions are
/// checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ineligible {
    /// The account is not active.
    AccountInactive,
    /// Inactivity and weekly reminders need an active subscription.
    NoSubscription,
    /// The student opted out of the family (directly or through `all`).
    OptedOut(Family),
}

/// The common conditions of the automatic kinds: an active account, an active subscription
/// for the inactivity and weekly families, and no opt-out of the family. `None` when the
/// student can get reminders of `family`.
pub fn automatic_ineligibility(student: &Student, family: Family) -> Option<Ineligible> {
    let needs_subscription = matches!(family, Family::Inactivity | Family::Weekly);
    if !student.account_active {
        Some(Ineligible::AccountInactive)
    } else if needs_subscription && !student.subscription_active {
        Some(Ineligible::NoSubscription)
    } else if student.opt_out.excludes(family) {
        Some(Ineligible::OptedOut(family))
    } else {
        None
    }
}

/// Slot date and slot of a session reminder: the eve is `session_eve_time` on the local day
/// before the session, the morning reminder `session_day_time` on its local day.
pub fn session_slot(
    which: SessionReminder,
    session: &Session,
    zone: Zone,
    settings: &Settings,
) -> (NaiveDate, DateTime<Utc>) {
    let day = local_date(session.starts_at, zone);
    let (date, time) = match which {
        SessionReminder::Eve => (day - TimeDelta::days(1), settings.session_eve_time),
        SessionReminder::Day => (day, settings.session_day_time),
    };
    (date, slot_at(date, time, zone))
}

/// Window of a session reminder: `[S, min(S + grace, start))`. A slot at or after the start
/// gives an empty window, so a 07:30 session gets no 08:00 reminder.
pub fn session_window(slot: DateTime<Utc>, session: &Session, settings: &Settings) -> DueWindow {
    DueWindow {
        start: slot,
        end: Some((slot + settings.grace()).min(session.starts_at)),
    }
}

/// Whether a session can get reminders at all: it is scheduled, and its student has an
/// active account and has not opted out of session reminders.
pub fn session_is_eligible(session: &Session, student: &Student) -> bool {
    session.status == SessionStatus::Scheduled
        && automatic_ineligibility(student, Family::Session).is_none()
}

/// The local date inactivity is counted from: that of the last activity, else of the
/// account's creation; `None` when neither is known (never due).
pub fn inactivity_reference_date(student: &Student, zone: Zone) -> Option<NaiveDate> {
    student
        .inactivity_reference()
        .map(|t| inactivity_reference_date_of(t, zone))
}

/// [`inactivity_reference_date`] of a student whose last activity (else creation) is
/// `since`: what a store keeps when only that instant moved (an activity event).
pub fn inactivity_reference_date_of(since: DateTime<Utc>, zone: Zone) -> NaiveDate {
    local_date(since, zone)
}

/// Whether the inactivity ladder hits local date `date` for a student inactive since the
/// local date `reference` ([`inactivity_reference_date`]).
pub fn inactivity_hits_on(reference: NaiveDate, date: NaiveDate, settings: &Settings) -> bool {
    inactivity_ladder_hits((date - reference).num_days(), settings)
}

/// The inactivity ladder: is a reminder due after `days` days of inactivity? Yes on the
/// listed days, and every `inactivity_repeat_days` after the last of them.
pub fn inactivity_ladder_hits(days: i64, settings: &Settings) -> bool {
    if days < 0 {
        return false;
    }
    if settings
        .inactivity_days
        .iter()
        .any(|&d| i64::from(d) == days)
    {
        return true;
    }
    match (
        settings.inactivity_repeat_days,
        settings.inactivity_last_rung(),
    ) {
        (Some(r), Some(max)) => {
            let max = i64::from(max);
            days > max && (days - max) % i64::from(r.get()) == 0
        }
        _ => false,
    }
}

/// Whether a student can get inactivity reminders at all.
pub fn inactivity_is_eligible(student: &Student) -> bool {
    automatic_ineligibility(student, Family::Inactivity).is_none()
}

/// Whether a student can get weekly digests at all.
pub fn weekly_is_eligible(student: &Student) -> bool {
    automatic_ineligibility(student, Family::Weekly).is_none()
}

/// Whether `date` is the digest's weekday.
pub fn is_weekly_date(date: NaiveDate, settings: &Settings) -> bool {
    chrono::Datelike::weekday(&date) == settings.weekly_day.chrono()
}

/// Where a session stands at an instant, as the weekly digest counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionStanding {
    /// Held.
    Completed,
    /// Still scheduled, and its start has passed: it was not held.
    Missed,
    /// Scheduled and still to come.
    ToCome,
    /// Called off: counted nowhere.
    Cancelled,
}

/// Where `session` stands at `at`: what the digest's completed, missed and goals lists (and
/// a parent's page of the week) are made of.
pub fn session_standing(session: &Session, at: DateTime<Utc>) -> SessionStanding {
    match session.status {
        SessionStatus::Completed => SessionStanding::Completed,
        SessionStatus::Cancelled => SessionStanding::Cancelled,
        SessionStatus::Scheduled if session.starts_at < at => SessionStanding::Missed,
        SessionStatus::Scheduled => SessionStanding::ToCome,
    }
}

/// The days a weekly digest of `slot_date` reports on, as local dates of the student's
/// zone: the week it closes (the 7 days ending on the slot date: sessions completed or
/// missed) and the week after (the 7 days after it: the goals).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DigestWeek {
    /// The first day of the week the digest closes: 6 days before the slot date.
    pub first_day: NaiveDate,
    /// The slot date.
    pub last_day: NaiveDate,
    /// The day after the slot date.
    pub next_first_day: NaiveDate,
    /// The last day of the week after: 7 days after the slot date.
    pub next_last_day: NaiveDate,
}

impl DigestWeek {
    /// Days before the slot date that the week it closes starts.
    const DAYS_BEFORE: i64 = 6;
    /// Days after the slot date that the week after ends.
    const DAYS_AFTER: i64 = 7;

    /// The digest week of `slot_date`.
    pub fn of(slot_date: NaiveDate) -> DigestWeek {
        let day = |offset: i64| slot_date + TimeDelta::days(offset);
        DigestWeek {
            first_day: day(-Self::DAYS_BEFORE),
            last_day: slot_date,
            next_first_day: day(1),
            next_last_day: day(Self::DAYS_AFTER),
        }
    }

    /// The session starts the digest reads in `zone`: from the local midnight of its first
    /// day to the local midnight after its next week's last day.
    pub fn span(&self, zone: Zone) -> (DateTime<Utc>, DateTime<Utc>) {
        let midnight = TimeOfDay::new(0, 0).expect("00:00 is a valid time");
        (
            slot_at(self.first_day, midnight, zone),
            slot_at(self.next_last_day + TimeDelta::days(1), midnight, zone),
        )
    }
}

/// A span of session starts, the same in every zone, that holds the [`DigestWeek::span`]
/// of every digest due at `at`: what a store reads for them without knowing each one's
/// zone and slot. A digest is due from its slot (on its slot date) to the end of its grace
/// (at most a day), so its slot date's local midnight is at most 2 days and an hour (a
/// daylight-saving day) before `at`; its week reaches `DAYS_BEFORE` days before that, and
/// `DAYS_AFTER + 1` days after, an hour either side for a change of offset. One day more
/// on each side is margin; `digest_spans_hold_every_digest_week` checks the bound.
pub fn digest_span(at: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let before = TimeDelta::days(DigestWeek::DAYS_BEFORE + 3);
    let after = TimeDelta::days(DigestWeek::DAYS_AFTER + 2);
    (at - before, at + after)
}

/// Why a manual request is refused, in the order RULES.md checks them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rejection {
    /// The parent id names no parent.
    UnknownParent,
    /// The student id names no student.
    UnknownStudent,
    /// The student is not one of the parent's children.
    NotYourChild,
    /// The student's account is not active.
    StudentInactive,
    /// Blank, over 200 characters, or with a control character.
    InvalidTitle,
    /// Blank or over 5000 characters.
    InvalidMessage,
    /// The parent already sent `manual_max_per_day` reminders to this child that local day.
    RateLimited,
}

impl Rejection {
    /// The reason as RULES.md names it.
    pub fn as_str(self) -> &'static str {
        match self {
            Rejection::UnknownParent => "unknown_parent",
            Rejection::UnknownStudent => "unknown_student",
            Rejection::NotYourChild => "not_your_child",
            Rejection::StudentInactive => "student_inactive",
            Rejection::InvalidTitle => "invalid_title",
            Rejection::InvalidMessage => "invalid_message",
            Rejection::RateLimited => "rate_limited",
        }
    }

    /// A sentence for people (CLI refusals, web forms).
    pub fn explain(self) -> &'static str {
        match self {
            Rejection::UnknownParent => "no parent has this id",
            Rejection::UnknownStudent => "no student has this id",
            Rejection::NotYourChild => "this student is not one of the parent's children",
            Rejection::StudentInactive => "the student's account is not active",
            Rejection::InvalidTitle => {
                "the title must be 1 to 200 characters, not blank, without line breaks or tabs"
            }
            Rejection::InvalidMessage => "the message must be 1 to 5000 characters, not blank",
            Rejection::RateLimited => {
                "the daily limit of manual reminders to this student is reached"
            }
        }
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A manual request that passed every check but the rate limit, with its text parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidManual<'a> {
    /// The request.
    pub request: &'a ManualRequest,
    /// The parent who sent it.
    pub parent: &'a Parent,
    /// The child it is for.
    pub student: &'a Student,
    /// The parsed title.
    pub title: Title,
    /// The parsed message.
    pub message: MessageText,
}

/// Checks a manual request against everything but the rate limit, returning the first
/// reason that applies in RULES.md's order.
pub fn validate_manual<'a>(
    request: &'a ManualRequest,
    parent: Option<&'a Parent>,
    student: Option<&'a Student>,
) -> Result<ValidManual<'a>, Rejection> {
    let parent = parent.ok_or(Rejection::UnknownParent)?;
    let student = student.ok_or(Rejection::UnknownStudent)?;
    if !parent.is_parent_of(student.id) {
        return Err(Rejection::NotYourChild);
    }
    if !student.account_active {
        return Err(Rejection::StudentInactive);
    }
    let title = Title::parse(request.title.clone()).map_err(|_| Rejection::InvalidTitle)?;
    let message =
        MessageText::parse(request.message.clone()).map_err(|_| Rejection::InvalidMessage)?;
    Ok(ValidManual {
        request,
        parent,
        student,
        title,
        message,
    })
}

/// The rate limit of manual reminders: counts accepted requests per (parent, student, local
/// date of the request). Requests must be offered in (`requested_at`, `id`) order.
#[derive(Debug, Clone)]
pub struct ManualRateLimit {
    max_per_day: u32,
    accepted: HashMap<(ParentId, StudentId, NaiveDate), u32>,
}

impl ManualRateLimit {
    /// A limiter allowing `settings.manual_max_per_day` per (parent, student, local date).
    pub fn new(settings: &Settings) -> Self {
        ManualRateLimit {
            max_per_day: settings.manual_max_per_day,
            accepted: HashMap::new(),
        }
    }

    /// Accepts the request if the day's quota is not used up, counting it; rejected
    /// requests do not count.
    pub fn admit(&mut self, parent: ParentId, student: StudentId, local_day: NaiveDate) -> bool {
        let used = self
            .accepted
            .entry((parent, student, local_day))
            .or_insert(0);
        if *used >= self.max_per_day {
            false
        } else {
            *used += 1;
            true
        }
    }
}

/// Judges manual requests in RULES.md's order (by `requested_at`, then id), only those
/// requested at or before `at`: each gets its validated form or the first rejection reason.
pub fn judge_manual_requests<'a, P, S>(
    requests: impl IntoIterator<Item = &'a ManualRequest>,
    at: DateTime<Utc>,
    settings: &Settings,
    parent: P,
    student: S,
) -> Vec<(&'a ManualRequest, Result<ValidManual<'a>, Rejection>)>
where
    P: Fn(ParentId) -> Option<&'a Parent>,
    S: Fn(StudentId) -> Option<&'a Student>,
{
    let mut ordered: Vec<&ManualRequest> = requests
        .into_iter()
        .filter(|r| r.requested_at <= at)
        .collect();
    ordered.sort_by_key(|r| (r.requested_at, r.id));
    let mut limit = ManualRateLimit::new(settings);
    ordered
        .into_iter()
        .map(|request| {
            let verdict = judge_one(request, settings, &mut limit, &parent, &student);
            (request, verdict)
        })
        .collect()
}

/// Judges a request a parent makes now, after `earlier` requests (those of the same parent
/// for the same student, made before it): they are judged first, as a plan judges them, so
/// that only the accepted ones count toward the daily limit; then this one, whatever its
/// id, since it is the latest. Its id is not read: a request being made has none yet.
pub fn judge_new_manual_request<'a, P, S>(
    earlier: impl IntoIterator<Item = &'a ManualRequest>,
    new: &'a ManualRequest,
    settings: &Settings,
    parent: P,
    student: S,
) -> Result<ValidManual<'a>, Rejection>
where
    P: Fn(ParentId) -> Option<&'a Parent>,
    S: Fn(StudentId) -> Option<&'a Student>,
{
    let mut ordered: Vec<&ManualRequest> = earlier
        .into_iter()
        .filter(|r| r.requested_at <= new.requested_at)
        .collect();
    ordered.sort_by_key(|r| (r.requested_at, r.id));
    let mut limit = ManualRateLimit::new(settings);
    for request in ordered {
        // Only the effect on the limit matters here.
        let _ = judge_one(request, settings, &mut limit, &parent, &student);
    }
    judge_one(new, settings, &mut limit, &parent, &student)
}

/// One request, validated, then admitted by the daily limit if valid.
fn judge_one<'a, P, S>(
    request: &'a ManualRequest,
    settings: &Settings,
    limit: &mut ManualRateLimit,
    parent: &P,
    student: &S,
) -> Result<ValidManual<'a>, Rejection>
where
    P: Fn(ParentId) -> Option<&'a Parent>,
    S: Fn(StudentId) -> Option<&'a Student>,
{
    let valid = validate_manual(
        request,
        parent(request.parent_id),
        student(request.student_id),
    )?;
    let zone = valid.student.zone(settings.timezone);
    let day = local_date(request.requested_at, zone);
    if limit.admit(request.parent_id, request.student_id, day) {
        Ok(valid)
    } else {
        Err(Rejection::RateLimited)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ManualId, OptOut, OptOuts, SessionId, parse_instant};
    use crate::testing::{parent, student};

    fn t(s: &str) -> DateTime<Utc> {
        parse_instant(s).unwrap()
    }
    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }
    /// The span a store reads for the digests due at an instant holds the week of every
    /// digest due then, in the zones with the widest offsets (+14 h, −11 h), a half-hour
    /// daylight-saving change (Lord Howe) and the usual ones, for slots at the first and
    /// last minutes of the day, every day of 2026 (its transitions included), at the start
    /// and the end of the longest grace; and its margin beyond the farthest week is the one
    /// day `digest_span` says, so a span narrower by more than that day fails here.
    #[test]
    fn digest_spans_hold_every_digest_week() {
        let zones = [
            "Pacific/Kiritimati",
            "Pacific/Pago_Pago",
            "Australia/Lord_Howe",
            "Europe/Paris",
            "America/New_York",
        ];
        let longest_grace = TimeDelta::days(1);
        let (mut farthest_before, mut farthest_after) = (TimeDelta::zero(), TimeDelta::zero());
        for zone in zones.map(|z| Zone::parse(z).unwrap()) {
            let mut slot = d("2026-01-01");
            while slot < d("2027-01-01") {
                let (first, end) = DigestWeek::of(slot).span(zone);
                for time in [hm("00:00"), hm("23:59")] {
                    let due = slot_at(slot, time, zone);
                    for at in [due, due + longest_grace] {
                        farthest_before = farthest_before.max(at - first);
                        farthest_after = farthest_after.max(end - at);
                    }
                }
                slot += TimeDelta::days(1);
            }
        }
        let at = t("2026-11-29T19:00:00Z");
        let (from, until) = digest_span(at);
        let (before, after) = (at - from, until - at);
        assert!(farthest_before <= before && farthest_after <= after);
        let one_day = TimeDelta::days(1);
        assert!(
            before - farthest_before <= one_day,
            "{farthest_before} of {before}"
        );
        assert!(
            after - farthest_after <= one_day,
            "{farthest_after} of {after}"
        );
    }

    #[test]
    fn a_digest_week_is_the_seven_days_to_its_slot_and_the_seven_after() {
        let week = DigestWeek::of(d("2026-11-29"));
        assert_eq!(week.first_day, d("2026-11-23"));
        assert_eq!(week.last_day, d("2026-11-29"));
        assert_eq!(week.next_first_day, d("2026-11-30"));
        assert_eq!(week.next_last_day, d("2026-12-06"));
        let paris = Zone::parse("Europe/Paris").unwrap();
        assert_eq!(
            week.span(paris),
            (t("2026-11-22T23:00:00Z"), t("2026-12-06T23:00:00Z"))
        );
    }

    fn hm(s: &str) -> TimeOfDay {
        TimeOfDay::parse(s).unwrap()
    }
    fn zone(s: &str) -> Zone {
        Zone::parse(s).unwrap()
    }

    fn session(start: &str) -> Session {
        Session {
            id: SessionId::new(100).unwrap(),
            student_id: StudentId::new(1).unwrap(),
            subject: "Maths".into(),
            objective: String::new(),
            starts_at: t(start),
            duration_minutes: 60,
            status: SessionStatus::Scheduled,
        }
    }

    #[test]
    fn slot_on_an_ordinary_day() {
        assert_eq!(
            slot_at(d("2026-11-26"), hm("18:30"), zone("Europe/Paris")),
            t("2026-11-26T17:30:00Z")
        );
        assert_eq!(
            slot_at(d("2026-11-26"), hm("18:30"), zone("Africa/Abidjan")),
            t("2026-11-26T18:30:00Z")
        );
        assert_eq!(
            slot_at(d("2026-11-26"), hm("10:00"), zone("America/New_York")),
            t("2026-11-26T15:00:00Z")
        );
    }

    #[test]
    fn slot_in_a_spring_forward_gap_uses_the_offset_before_the_gap() {
        // The spec's own example.
        assert_eq!(
            slot_at(d("2026-03-29"), hm("02:30"), zone("Europe/Paris")),
            t("2026-03-29T01:30:00Z")
        );
        assert_eq!(
            slot_at(d("2026-03-29"), hm("02:00"), zone("Europe/Paris")),
            t("2026-03-29T01:00:00Z")
        );
        // New York springs forward at 02:00 on 2026-03-08: 02:15 EST is 07:15Z.
        assert_eq!(
            slot_at(d("2026-03-08"), hm("02:15"), zone("America/New_York")),
            t("2026-03-08T07:15:00Z")
        );
    }

    #[test]
    fn slot_in_a_fall_back_fold_uses_the_earlier_instant() {
        // Paris falls back at 03:00 CEST on 2026-10-25: 02:30 happens at 00:30Z and 01:30Z.
        assert_eq!(
            slot_at(d("2026-10-25"), hm("02:30"), zone("Europe/Paris")),
            t("2026-10-25T00:30:00Z")
        );
        assert_eq!(
            slot_at(d("2026-11-01"), hm("01:30"), zone("America/New_York")),
            t("2026-11-01T05:30:00Z")
        );
    }

    #[test]
    fn due_window_is_half_open() {
        let w = DueWindow {
            start: t("2026-11-26T17:30:00Z"),
            end: Some(t("2026-11-26T23:30:00Z")),
        };
        assert!(!w.contains(t("2026-11-26T17:29:59Z")));
        assert!(w.contains(t("2026-11-26T17:30:00Z")));
        assert!(w.contains(t("2026-11-26T23:29:59Z")));
        assert!(!w.contains(t("2026-11-26T23:30:00Z")));
        let open = DueWindow {
            start: t("2026-11-26T17:30:00Z"),
            end: None,
        };
        assert!(open.contains(t("2036-01-01T00:00:00Z")));
    }

    #[test]
    fn eve_reminder_ends_at_the_session_start() {
        let s = Settings::default();
        let paris = zone("Europe/Paris");
        // A session at 07:30 local on the 27th: eve slot 18:30 on the 26th.
        let early = session("2026-11-27T07:30:00+01:00");
        let (date, slot) = session_slot(SessionReminder::Eve, &early, paris, &s);
        assert_eq!((date, slot), (d("2026-11-26"), t("2026-11-26T17:30:00Z")));
        let w = session_window(slot, &early, &s);
        assert_eq!(w.end, Some(t("2026-11-26T23:30:00Z")));
        // A session just after midnight: the window closes at the start, before the grace.
        let midnight = session("2026-11-27T00:15:00+01:00");
        let (_, slot) = session_slot(SessionReminder::Eve, &midnight, paris, &s);
        let w = session_window(slot, &midnight, &s);
        assert!(w.contains(t("2026-11-26T23:14:59Z")));
        assert!(!w.contains(t("2026-11-26T23:15:00Z")));
    }

    #[test]
    fn morning_reminder_for_sessions_at_0730_and_0800() {
        let s = Settings::default();
        let paris = zone("Europe/Paris");
        let at_0730 = session("2026-11-27T07:30:00+01:00");
        let (_, slot) = session_slot(SessionReminder::Day, &at_0730, paris, &s);
        assert_eq!(slot, t("2026-11-27T07:00:00Z"));
        let w = session_window(slot, &at_0730, &s);
        assert!(!w.contains(slot), "a 07:30 session gets no 08:00 reminder");
        let at_0800 = session("2026-11-27T08:00:00+01:00");
        let (_, slot) = session_slot(SessionReminder::Day, &at_0800, paris, &s);
        assert!(
            !session_window(slot, &at_0800, &s).contains(slot),
            "slot == start: nothing due"
        );
        let at_0801 = session("2026-11-27T08:01:00+01:00");
        let (_, slot) = session_slot(SessionReminder::Day, &at_0801, paris, &s);
        let w = session_window(slot, &at_0801, &s);
        assert!(w.contains(slot));
        assert!(w.contains(t("2026-11-27T07:00:59Z")));
        assert!(!w.contains(t("2026-11-27T07:01:00Z")));
    }

    #[test]
    fn session_eligibility() {
        let mut sess = session("2026-11-27T14:00:00Z");
        let mut st = student(1);
        assert!(session_is_eligible(&sess, &st));
        st.opt_out = OptOuts::new(vec![OptOut::Weekly]);
        assert!(session_is_eligible(&sess, &st));
        st.opt_out = OptOuts::new(vec![OptOut::Session]);
        assert!(!session_is_eligible(&sess, &st));
        st.opt_out = OptOuts::new(vec![OptOut::All]);
        assert!(!session_is_eligible(&sess, &st));
        st.opt_out = OptOuts::default();
        st.subscription_active = false;
        assert!(
            session_is_eligible(&sess, &st),
            "session reminders need no subscription"
        );
        st.account_active = false;
        assert!(!session_is_eligible(&sess, &st));
        st.account_active = true;
        sess.status = SessionStatus::Cancelled;
        assert!(!session_is_eligible(&sess, &st));
        sess.status = SessionStatus::Completed;
        assert!(!session_is_eligible(&sess, &st));
    }

    #[test]
    fn inactivity_ladder_on_days_2_3_7_31() {
        let s = Settings::default();
        assert!(!inactivity_ladder_hits(2, &s));
        assert!(inactivity_ladder_hits(3, &s));
        assert!(!inactivity_ladder_hits(4, &s));
        assert!(inactivity_ladder_hits(7, &s));
        assert!(inactivity_ladder_hits(30, &s));
        assert!(!inactivity_ladder_hits(31, &s), "no repeat by default");
        assert!(!inactivity_ladder_hits(-3, &s));
        let repeat = Settings {
            inactivity_repeat_days: std::num::NonZeroU32::new(7),
            ..Settings::default()
        };
        assert!(!inactivity_ladder_hits(31, &repeat));
        assert!(inactivity_ladder_hits(37, &repeat));
        assert!(inactivity_ladder_hits(44, &repeat));
        assert!(!inactivity_ladder_hits(45, &repeat));
        let original = Settings {
            inactivity_days: vec![3],
            inactivity_repeat_days: std::num::NonZeroU32::new(1),
            ..Settings::default()
        };
        assert!(!inactivity_ladder_hits(2, &original));
        for day in 3..100 {
            assert!(
                inactivity_ladder_hits(day, &original),
                "every day from day 3"
            );
        }
        let none = Settings {
            inactivity_days: vec![],
            ..repeat
        };
        assert!((0..100).all(|day| !inactivity_ladder_hits(day, &none)));
    }

    #[test]
    fn inactivity_reference_falls_back_to_creation() {
        let mut st = student(1);
        assert_eq!(inactivity_reference_date(&st, zone("Europe/Paris")), None);
        st.created_at = Some(t("2026-09-01T23:30:00Z"));
        assert_eq!(
            inactivity_reference_date(&st, zone("Europe/Paris")),
            Some(d("2026-09-02"))
        );
        st.last_activity_at = Some(t("2026-11-20T17:03:00Z"));
        assert_eq!(
            inactivity_reference_date(&st, zone("Africa/Abidjan")),
            Some(d("2026-11-20"))
        );
    }

    #[test]
    fn periodic_eligibility() {
        let mut st = student(1);
        assert!(inactivity_is_eligible(&st) && weekly_is_eligible(&st));
        st.opt_out = OptOuts::new(vec![OptOut::Inactivity]);
        assert!(!inactivity_is_eligible(&st) && weekly_is_eligible(&st));
        st.opt_out = OptOuts::default();
        st.subscription_active = false;
        assert!(!inactivity_is_eligible(&st) && !weekly_is_eligible(&st));
    }

    #[test]
    fn weekly_only_on_its_weekday() {
        let s = Settings::default();
        assert!(is_weekly_date(d("2026-11-29"), &s));
        assert!(!is_weekly_date(d("2026-11-28"), &s));
        assert!(!is_weekly_date(d("2026-11-30"), &s));
    }

    fn request(id: i64, parent: i64, student: i64, title: &str, at: &str) -> ManualRequest {
        ManualRequest {
            id: ManualId::new(id).unwrap(),
            parent_id: ParentId::new(parent).unwrap(),
            student_id: StudentId::new(student).unwrap(),
            title: title.into(),
            message: "Courage !".into(),
            requested_at: t(at),
        }
    }

    #[test]
    fn manual_reasons_come_in_the_spec_order() {
        let p = parent(10, &[1]);
        let mut inactive = student(1);
        inactive.account_active = false;
        let other = student(2);
        let r = request(1, 10, 1, "\r\n", "2026-11-26T18:00:00Z");
        assert_eq!(
            validate_manual(&r, None, None).unwrap_err(),
            Rejection::UnknownParent
        );
        assert_eq!(
            validate_manual(&r, Some(&p), None).unwrap_err(),
            Rejection::UnknownStudent
        );
        assert_eq!(
            validate_manual(&r, Some(&p), Some(&other)).unwrap_err(),
            Rejection::NotYourChild
        );
        assert_eq!(
            validate_manual(&r, Some(&p), Some(&inactive)).unwrap_err(),
            Rejection::StudentInactive
        );
        let active = student(1);
        assert_eq!(
            validate_manual(&r, Some(&p), Some(&active)).unwrap_err(),
            Rejection::InvalidTitle
        );
        let mut blank_message = request(1, 10, 1, "Titre", "2026-11-26T18:00:00Z");
        blank_message.message = " ".into();
        assert_eq!(
            validate_manual(&blank_message, Some(&p), Some(&active)).unwrap_err(),
            Rejection::InvalidMessage
        );
        let ok = request(1, 10, 1, "Titre", "2026-11-26T18:00:00Z");
        assert_eq!(
            validate_manual(&ok, Some(&p), Some(&active))
                .unwrap()
                .title
                .as_ref(),
            "Titre"
        );
    }

    #[test]
    fn rate_limit_counts_accepted_requests_per_local_day() {
        let settings = Settings {
            manual_max_per_day: 2,
            ..Settings::default()
        };
        let p = parent(10, &[1]);
        let st = student(1);
        // Paris: 22:59Z and 23:00Z on the 26th are the 26th and the 27th locally.
        let requests = vec![
            request(1, 10, 1, "a", "2026-11-26T08:00:00Z"),
            request(2, 10, 1, "\n", "2026-11-26T09:00:00Z"),
            request(3, 10, 1, "b", "2026-11-26T10:00:00Z"),
            request(4, 10, 1, "c", "2026-11-26T22:59:00Z"),
            request(5, 10, 1, "d", "2026-11-26T23:00:00Z"),
            request(6, 10, 1, "e", "2026-11-27T23:00:00Z"),
        ];
        let verdicts = judge_manual_requests(
            &requests,
            t("2026-11-27T12:00:00Z"),
            &settings,
            |id| (id == p.id).then_some(&p),
            |id| (id == st.id).then_some(&st),
        );
        let reasons: Vec<(i64, Option<Rejection>)> = verdicts
            .iter()
            .map(|(r, v)| (r.id.get(), v.as_ref().err().copied()))
            .collect();
        assert_eq!(
            reasons,
            vec![
                (1, None),
                (2, Some(Rejection::InvalidTitle)),
                (3, None),
                (4, Some(Rejection::RateLimited)),
                (5, None),
            ],
            "request 6 is after `at`; rejected requests do not use the quota"
        );
        let zero = Settings {
            manual_max_per_day: 0,
            ..Settings::default()
        };
        let verdicts = judge_manual_requests(
            &requests[..1],
            t("2026-11-27T12:00:00Z"),
            &zero,
            |_| Some(&p),
            |_| Some(&st),
        );
        assert_eq!(verdicts[0].1.as_ref().unwrap_err(), &Rejection::RateLimited);
    }
}
