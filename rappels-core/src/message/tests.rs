//! Tests of message building: templates, data, formatting and safety.

use super::*;
use crate::domain::{Family, Kind, parse_instant};
use crate::scenario::Scenario;
use proptest::prelude::*;

/// Awa (Abidjan, UTC+0, French) and John (Paris by default, English), each with a
/// session at 14:00Z on Friday 27 November 2026, a parent and a manual request.
const SCENARIO: &str = r#"{
  "students": [
    { "id": 1, "first_name": "Awa", "last_name": "Koné", "email": "awa@example.org",
      "timezone": "Africa/Abidjan", "locale": "fr", "account_active": true,
      "subscription_active": true, "created_at": "2026-09-01T09:00:00Z",
      "last_activity_at": "2026-11-20T17:03:00Z" },
    { "id": 2, "first_name": "John", "last_name": "Smith", "email": "john@example.org",
      "locale": "en", "account_active": true, "subscription_active": true,
      "last_activity_at": "2026-11-26T09:00:00Z" }
  ],
  "parents": [
    { "id": 10, "first_name": "Mariam", "email": "mariam@example.org", "children": [1] },
    { "id": 11, "first_name": "Sarah", "email": "sarah@example.org", "children": [2] }
  ],
  "sessions": [
    { "id": 100, "student_id": 1, "subject": "Mathématiques", "objective": "Fractions",
      "starts_at": "2026-11-27T14:00:00Z", "duration_minutes": 45 },
    { "id": 101, "student_id": 1, "subject": "Français", "objective": "Dissertation",
      "starts_at": "2026-11-25T16:00:00Z", "status": "completed" },
    { "id": 102, "student_id": 1, "subject": "Anglais",
      "starts_at": "2026-11-26T16:00:00Z", "status": "cancelled" },
    { "id": 103, "student_id": 1, "subject": "Physique-Chimie", "objective": "Ondes",
      "starts_at": "2026-12-02T17:00:00Z", "duration_minutes": 90 },
    { "id": 104, "student_id": 1, "subject": "Histoire",
      "starts_at": "2026-12-07T10:00:00Z" },
    { "id": 105, "student_id": 1, "subject": "SVT",
      "starts_at": "2026-11-22T10:00:00Z", "status": "completed" },
    { "id": 106, "student_id": 1, "subject": "Philosophie",
      "starts_at": "2026-11-29T21:00:00Z" },
    { "id": 200, "student_id": 2, "subject": "Physics",
      "starts_at": "2026-11-27T14:00:00Z" }
  ],
  "manual": [
    { "id": 500, "parent_id": 10, "student_id": 1, "title": "Révise ce soir",
      "message": "Courage pour demain !\nTu vas y arriver.\r\n<b>Bisous</b>",
      "requested_at": "2026-11-26T18:00:00Z" },
    { "id": 501, "parent_id": 11, "student_id": 2, "title": "Study tonight",
      "message": "Good luck!", "requested_at": "2026-11-26T18:10:00Z" }
  ]
}"#;

/// Eve reminders of both students and both manual reminders are due.
const EVE: &str = "2026-11-26T18:45:00Z";
/// Awa's morning reminder and her 7-day inactivity reminder are due.
const FRIDAY_MORNING: &str = "2026-11-27T10:30:00Z";
/// John's 3-day inactivity reminder is due (10:00 in Paris).
const SUNDAY_MORNING: &str = "2026-11-29T09:30:00Z";
/// Both weekly digests are due (20:00 in Abidjan and in Paris).
const SUNDAY_EVENING: &str = "2026-11-29T20:30:00Z";

fn scenario() -> Scenario {
    Scenario::from_json(SCENARIO).unwrap()
}

fn due(snapshot: &Snapshot, at: &str, kind: Kind, student: i64) -> DueReminder {
    let plan = snapshot.plan(parse_instant(at).unwrap());
    plan.due
        .into_iter()
        .find(|d| d.kind() == kind && d.student.get() == student)
        .unwrap_or_else(|| panic!("no {kind} due for student {student} at {at}"))
}

fn render_with(
    templates: &Templates,
    snapshot: &Snapshot,
    at: &str,
    kind: Kind,
    student: i64,
) -> RenderedMessage {
    let due = due(snapshot, at, kind, student);
    let config = MessageConfig::default();
    let message = templates
        .render(&due, snapshot, snapshot.settings(), &config)
        .unwrap();
    let subject = templates
        .subject(&due, snapshot, snapshot.settings(), &config)
        .unwrap();
    assert_eq!(message.subject, subject, "subject() and render() agree");
    let subjects = templates.subjects(
        std::slice::from_ref(&due),
        snapshot,
        snapshot.settings(),
        &config,
    );
    assert_eq!(subjects[0].as_ref().unwrap(), &subject, "subjects() agrees");
    message
}

fn render(snapshot: &Snapshot, at: &str, kind: Kind, student: i64) -> RenderedMessage {
    render_with(&Templates::embedded(), snapshot, at, kind, student)
}

#[test]
fn every_embedded_template_is_listed_and_parses() {
    let mut expected = Vec::new();
    for kind in [
        "session_eve",
        "session_day",
        "inactivity",
        "weekly",
        "manual",
        "test",
    ] {
        for locale in Locale::ALL {
            for part in ["subject", "text", "html"] {
                expected.push(format!("{kind}.{}.{part}.hbs", locale.code()));
            }
        }
    }
    for locale in Locale::ALL {
        for part in ["text", "html"] {
            expected.push(format!("footer.{}.{part}.hbs", locale.code()));
        }
    }
    assert_eq!(Templates::names(), expected);
    let templates = Templates::embedded();
    for name in Templates::names() {
        let name = name.strip_suffix(".hbs").unwrap();
        let registry = if name.ends_with(".html") {
            &templates.html
        } else {
            &templates.plain
        };
        assert!(registry.has_template(name), "{name} is registered");
    }
}

#[test]
fn eve_reminder_in_french_uses_the_students_zone() {
    let snapshot = Snapshot::new(scenario());
    let m = render(&snapshot, EVE, Kind::SessionEve, 1);
    assert_eq!(m.subject, "Demain : Mathématiques à 14:00");
    assert!(m.text.starts_with("Bonjour Awa,\n"), "{}", m.text);
    assert!(
        m.text.contains(
            "ta séance de Mathématiques a lieu demain, vendredi 27 novembre à 14:00 (45 min)."
        ),
        "{}",
        m.text
    );
    assert!(m.text.contains("\nObjectif : Fractions\n"), "{}", m.text);
    assert!(
        m.text
            .contains("\nhttp://localhost:8000/sessions/100/chat\n"),
        "{}",
        m.text
    );
    assert!(
        m.text.ends_with(
            "L'équipe MyKarfour\n\nNe plus recevoir ces rappels :\nhttp://localhost:8000/preferences\n"
        ),
        "the signature, then the footer: {}",
        m.text
    );
    assert!(
        m.html
            .contains(r#"<a href="http://localhost:8000/sessions/100/chat""#),
        "{}",
        m.html
    );
    assert!(
        m.html.contains("<strong>Objectif :</strong> Fractions"),
        "{}",
        m.html
    );
    assert!(m.html.contains(r#"<html lang="fr">"#));
}

#[test]
fn eve_reminder_in_english_uses_the_default_zone_and_omits_an_empty_objective() {
    let snapshot = Snapshot::new(scenario());
    let m = render(&snapshot, EVE, Kind::SessionEve, 2);
    // 14:00Z is 15:00 in Paris, John's zone by default.
    assert_eq!(m.subject, "Tomorrow: Physics at 3:00 PM");
    assert!(
        m.text
            .contains("your Physics session is tomorrow, Friday 27 November at 3:00 PM (1 h)."),
        "{}",
        m.text
    );
    assert!(!m.text.contains("Objective"), "{}", m.text);
    assert!(!m.html.contains("Objective"), "{}", m.html);
    assert!(
        !m.text.contains("\n\n\n"),
        "no hole where the objective was: {}",
        m.text
    );
    assert!(m.text.contains("http://localhost:8000/sessions/200/chat"));
    assert!(
        m.text.ends_with(
            "The MyKarfour team\n\nManage these reminders:\nhttp://localhost:8000/preferences\n"
        ),
        "{}",
        m.text
    );
    assert!(m.html.contains(r#"<html lang="en">"#));
}

#[test]
fn morning_reminders() {
    let snapshot = Snapshot::new(scenario());
    let m = render(&snapshot, FRIDAY_MORNING, Kind::SessionDay, 1);
    assert_eq!(
        m.subject,
        "Ta séance de Mathématiques commence aujourd'hui à 14:00"
    );
    assert!(
        m.text
            .contains("Ta séance de Mathématiques commence à 14:00 (45 min)."),
        "{}",
        m.text
    );
    assert!(m.text.contains("http://localhost:8000/sessions/100/chat"));
    let mut sc = scenario();
    sc.students[0].locale = Locale::En;
    let m = render(&Snapshot::new(sc), FRIDAY_MORNING, Kind::SessionDay, 1);
    assert_eq!(
        m.subject,
        "Your Mathématiques session starts today at 2:00 PM"
    );
    assert!(m.text.contains("Objective: Fractions"), "{}", m.text);
}

#[test]
fn inactivity_counts_days_from_the_last_local_activity() {
    let snapshot = Snapshot::new(scenario());
    let m = render(&snapshot, FRIDAY_MORNING, Kind::Inactivity, 1);
    assert_eq!(m.subject, "Tu nous manques, Awa !");
    assert!(
        m.text.contains("Voilà 7 jours que tu n'as pas révisé sur MyKarfour : ta dernière activité remonte au vendredi 20 novembre 2026."),
        "{}",
        m.text
    );
    assert!(m.html.contains("<strong>7 jours</strong>"), "{}", m.html);
    assert!(
        m.html.contains(r#"<a href="http://localhost:8000""#),
        "{}",
        m.html
    );
    let m = render(&snapshot, SUNDAY_MORNING, Kind::Inactivity, 2);
    assert_eq!(m.subject, "We miss you, John!");
    assert!(m.text.contains("It has been 3 days since"), "{}", m.text);
    assert!(
        m.text
            .contains("your last activity was on Thursday 26 November 2026."),
        "{}",
        m.text
    );
}

#[test]
fn inactivity_of_one_day_is_singular() {
    let mut sc = scenario();
    sc.settings.inactivity_days = vec![1];
    let snapshot = Snapshot::new(sc);
    let m = render(&snapshot, "2026-11-21T10:30:00Z", Kind::Inactivity, 1);
    assert!(m.text.contains("Voilà 1 jour que"), "{}", m.text);
    let m = render(&snapshot, "2026-11-27T09:30:00Z", Kind::Inactivity, 2);
    assert!(m.text.contains("It has been 1 day since"), "{}", m.text);
}

#[test]
fn weekly_digest_lists_the_week_and_next_weeks_goals() {
    let snapshot = Snapshot::new(scenario());
    let m = render(&snapshot, SUNDAY_EVENING, Kind::Weekly, 1);
    assert_eq!(m.subject, "Ton bilan de la semaine");
    let t = &m.text;
    assert!(
        t.contains("du lundi 23 novembre au dimanche 29 novembre."),
        "{t}"
    );
    assert!(
        t.contains(
            "Séances réalisées (1) :\n- Français, mercredi 25 novembre à 16:00 : Dissertation\n"
        ),
        "{t}"
    );
    assert!(
        t.contains("Séances manquées (1) :\n- Mathématiques, vendredi 27 novembre à 14:00\n"),
        "{t}"
    );
    assert!(
        t.contains(
            "Tes objectifs pour la semaine prochaine (2) :\n\
             - Philosophie, dimanche 29 novembre à 21:00\n  http://localhost:8000/sessions/106/chat\n\
             - Physique-Chimie, mercredi 2 décembre à 17:00 : Ondes\n  http://localhost:8000/sessions/103/chat\n"
        ),
        "{t}"
    );
    for absent in ["Anglais", "Histoire", "SVT"] {
        assert!(
            !t.contains(absent),
            "{absent} is cancelled or outside the weeks: {t}"
        );
        assert!(!m.html.contains(absent), "{absent}");
    }
    assert!(m.html.contains("Séances réalisées (1)"), "{}", m.html);
    assert!(
        m.html.contains(
            r#"<li><a href="http://localhost:8000/sessions/103/chat">Physique-Chimie</a>"#
        ),
        "{}",
        m.html
    );
}

#[test]
fn weekly_digest_in_english_with_nothing_planned() {
    let mut sc = scenario();
    sc.sessions.retain(|s| s.id.get() != 200);
    let m = render(&Snapshot::new(sc), SUNDAY_EVENING, Kind::Weekly, 2);
    assert_eq!(m.subject, "Your week in review");
    assert!(
        m.text
            .contains("from Monday 23 November to Sunday 29 November."),
        "{}",
        m.text
    );
    assert!(
        m.text.contains("No session completed this week."),
        "{}",
        m.text
    );
    assert!(!m.text.contains("Missed"), "{}", m.text);
    assert!(
        m.text.contains("No session is planned for next week"),
        "{}",
        m.text
    );
    assert!(
        m.html.contains("Your goals for next week (0)"),
        "{}",
        m.html
    );
    assert!(
        !m.text.contains("Awa") && !m.text.contains("Mathématiques"),
        "only John's data"
    );
}

#[test]
fn manual_reminder_keeps_line_breaks_and_escapes_html() {
    let snapshot = Snapshot::new(scenario());
    let m = render(&snapshot, EVE, Kind::Manual, 1);
    assert_eq!(m.subject, "Message de Mariam : Révise ce soir");
    assert!(
        m.text.contains("Mariam t'a envoyé un message :\n\nRévise ce soir\n\nCourage pour demain !\nTu vas y arriver.\r\n<b>Bisous</b>\n"),
        "{}",
        m.text
    );
    assert!(
        m.html.contains(
            "<p>Courage pour demain !<br>\nTu vas y arriver.<br>\n&lt;b&gt;Bisous&lt;/b&gt;</p>"
        ),
        "{}",
        m.html
    );
    let m = render(&snapshot, EVE, Kind::Manual, 2);
    assert_eq!(m.subject, "Message from Sarah: Study tonight");
    assert!(
        m.text
            .contains("Sarah sent you a message:\n\nStudy tonight\n\nGood luck!\n"),
        "{}",
        m.text
    );
}

#[test]
fn user_data_is_escaped_in_html_only() {
    let mut sc = scenario();
    sc.students[0].first_name = "<script>alert('a')</script>".into();
    sc.sessions[0].objective = r#"<img src=x onerror="alert(1)"> & co"#.into();
    sc.parents[0].first_name = "<i>Mariam</i>".into();
    sc.manual[0].title = "<b>Titre</b>".into();
    let snapshot = Snapshot::new(sc);
    for kind in [Kind::SessionEve, Kind::Manual] {
        let m = render(&snapshot, EVE, kind, 1);
        assert!(
            !m.html.contains("<script>") && !m.html.contains("<i>") && !m.html.contains("<b>"),
            "{}",
            m.html
        );
        assert!(!m.html.contains("<img"), "{}", m.html);
        assert!(
            m.html
                .contains("Bonjour &lt;script&gt;alert(&#x27;a&#x27;)&lt;/script&gt;,"),
            "{}",
            m.html
        );
        assert!(
            m.text.contains("Bonjour <script>alert('a')</script>,"),
            "plain text is not escaped"
        );
    }
    let m = render(&snapshot, EVE, Kind::SessionEve, 1);
    assert!(
        m.html
            .contains("&lt;img src&#x3D;x onerror&#x3D;&quot;alert(1)&quot;&gt; &amp; co"),
        "{}",
        m.html
    );
    assert!(
        m.text
            .contains(r#"Objectif : <img src=x onerror="alert(1)"> & co"#),
        "{}",
        m.text
    );
    let m = render(&snapshot, EVE, Kind::Manual, 1);
    assert_eq!(m.subject, "Message de <i>Mariam</i> : <b>Titre</b>");
    assert!(m.html.contains("&lt;b&gt;Titre&lt;/b&gt;"), "{}", m.html);
}

#[test]
fn session_link_follows_the_configured_pattern() {
    let snapshot = Snapshot::new(scenario());
    let due = due(&snapshot, EVE, Kind::SessionEve, 1);
    let config = MessageConfig {
        site_url: "https://www.example.org/".into(),
        session_link: "{{site_url}}/chat?session={{session_id}}&student={{student_id}}".into(),
        platform_name: "Révisions+".into(),
    };
    let m = Templates::embedded()
        .render(&due, &snapshot, snapshot.settings(), &config)
        .unwrap();
    assert!(
        m.text
            .contains("\nhttps://www.example.org/chat?session=100&student=1\n"),
        "{}",
        m.text
    );
    assert!(
        m.html
            .contains(r#"href="https://www.example.org/chat?session&#x3D;100&amp;student&#x3D;1""#),
        "{}",
        m.html
    );
    assert!(
        m.text.ends_with(
            "L'équipe Révisions+\n\nNe plus recevoir ces rappels :\nhttps://www.example.org/preferences\n"
        ),
        "the footer follows the configured site, without its trailing slash: {}",
        m.text
    );
    let broken = MessageConfig {
        session_link: "{{site_url}}/{{sesion_id}}".into(),
        ..config
    };
    let err = Templates::embedded()
        .render(&due, &snapshot, snapshot.settings(), &broken)
        .unwrap_err();
    assert!(matches!(err, MessageError::SessionLink { .. }), "{err:?}");
    assert!(
        err.to_string().contains("{{site_url}}/{{sesion_id}}"),
        "{err}"
    );
}

#[test]
fn an_override_replaces_one_template_only() {
    let snapshot = Snapshot::new(scenario());
    let templates = Templates::with_overrides([(
        "session_eve.fr.subject.hbs".to_owned(),
        "Rappel : {{session.subject}} ({{student.full_name}})".to_owned(),
    )])
    .unwrap();
    let m = render_with(&templates, &snapshot, EVE, Kind::SessionEve, 1);
    assert_eq!(m.subject, "Rappel : Mathématiques (Awa Koné)");
    assert!(
        m.text.contains("Objectif : Fractions"),
        "the body is still the embedded one"
    );
    let m = render_with(&templates, &snapshot, EVE, Kind::SessionEve, 2);
    assert_eq!(
        m.subject, "Tomorrow: Physics at 3:00 PM",
        "English is untouched"
    );
}

#[test]
fn override_errors_name_the_file() {
    let err = Templates::with_overrides([("sesion_eve.fr.subject.hbs".to_owned(), "x".to_owned())])
        .unwrap_err();
    assert!(
        matches!(err, MessageError::UnknownTemplate { .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("\"sesion_eve.fr.subject.hbs\""),
        "{err}"
    );
    let err = Templates::with_overrides([(
        "weekly.en.html.hbs".to_owned(),
        "<p>{{#if week.goals}}goals</p>".to_owned(),
    )])
    .unwrap_err();
    assert!(matches!(err, MessageError::Parse { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "template weekly.en.html.hbs does not parse"
    );
    assert!(
        std::error::Error::source(&err).is_some(),
        "the handlebars error is the source"
    );
}

#[test]
fn strict_mode_refuses_a_field_that_does_not_exist() {
    let snapshot = Snapshot::new(scenario());
    let templates = Templates::with_overrides([(
        "weekly.fr.text.hbs".to_owned(),
        "{{session.subject}}".to_owned(),
    )])
    .unwrap();
    let due = due(&snapshot, SUNDAY_EVENING, Kind::Weekly, 1);
    let err = templates
        .render(
            &due,
            &snapshot,
            snapshot.settings(),
            &MessageConfig::default(),
        )
        .unwrap_err();
    assert!(matches!(err, MessageError::Render { .. }), "{err:?}");
    assert_eq!(err.to_string(), "cannot render template weekly.fr.text.hbs");
}

#[test]
fn missing_records_are_errors() {
    let snapshot = Snapshot::new(scenario());
    let eve = due(&snapshot, EVE, Kind::SessionEve, 1);
    let manual = due(&snapshot, EVE, Kind::Manual, 1);
    let mut sc = scenario();
    sc.sessions.retain(|s| s.id.get() != 100);
    sc.manual.retain(|m| m.id.get() != 500);
    let without = Snapshot::new(sc);
    let templates = Templates::embedded();
    let config = MessageConfig::default();
    let err = templates
        .render(&eve, &without, without.settings(), &config)
        .unwrap_err();
    assert_eq!(err.to_string(), "session 100 not found");
    let err = templates
        .render(&manual, &without, without.settings(), &config)
        .unwrap_err();
    assert_eq!(err.to_string(), "manual request 500 not found");
    let mut other = eve.clone();
    other.student = StudentId::new(2).unwrap();
    let err = templates
        .render(&other, &snapshot, snapshot.settings(), &config)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "session 100 belongs to student 1, not to student 2"
    );
    let mut sc = scenario();
    sc.manual[0].title = "Bonne\nchance".into();
    let edited = Snapshot::new(sc);
    let err = templates
        .render(&manual, &edited, edited.settings(), &config)
        .unwrap_err();
    assert!(matches!(err, MessageError::InvalidManual { .. }), "{err:?}");
}

#[test]
fn test_message_in_both_languages() {
    let templates = Templates::embedded();
    let config = MessageConfig::default();
    let fr = templates.test_message(Locale::Fr, &config).unwrap();
    assert_eq!(fr.subject, "E-mail de test de MyKarfour");
    assert!(fr.text.contains("http://localhost:8000"), "{}", fr.text);
    assert!(
        fr.html.contains(r#"<a href="http://localhost:8000">"#),
        "{}",
        fr.html
    );
    let en = templates.test_message(Locale::En, &config).unwrap();
    assert_eq!(en.subject, "Test e-mail from MyKarfour");
    assert!(en.text.contains("This test e-mail confirms"), "{}", en.text);
}

#[test]
fn local_formats() {
    let date = |s: &str| s.parse::<NaiveDate>().unwrap();
    let fr = LocalFormat {
        locale: Locale::Fr,
        zone: Zone::default(),
    };
    let en = LocalFormat {
        locale: Locale::En,
        zone: Zone::default(),
    };
    assert_eq!(fr.day(date("2027-01-01")), "vendredi 1er janvier");
    assert_eq!(en.day(date("2027-01-01")), "Friday 1 January");
    assert_eq!(fr.day(date("2026-08-15")), "samedi 15 août");
    let t = parse_instant("2026-11-27T08:05:00Z").unwrap();
    assert_eq!(
        (fr.time(t), en.time(t)),
        ("09:05".to_owned(), "9:05 AM".to_owned())
    );
    let t = parse_instant("2026-11-26T23:30:00Z").unwrap();
    assert_eq!(
        (fr.date(t), fr.time(t)),
        ("vendredi 27 novembre".to_owned(), "00:30".to_owned())
    );
    assert_eq!(en.time(t), "12:30 AM");
    assert_eq!(
        [
            fr.duration(45),
            fr.duration(60),
            fr.duration(90),
            fr.duration(125)
        ],
        ["45 min", "1 h", "1 h 30", "2 h 05"]
    );
    assert_eq!(
        [en.duration(45), en.duration(120), en.duration(90)],
        ["45 min", "2 h", "1 h 30 min"]
    );
}

#[test]
fn week_bounds_follow_local_midnight_across_dst() {
    // Paris leaves summer time on Sunday 2026-10-25: the week Monday 19 – Sunday 25
    // October starts at 22:00Z on the 18th and ends at 23:00Z on the 25th.
    let json = SCENARIO
        .replace("\"timezone\": \"Africa/Abidjan\", ", "")
        .replace("2026-11-25T16:00:00Z", "2026-10-18T22:00:00Z")
        .replace("2026-11-22T10:00:00Z", "2026-10-18T21:59:00Z")
        .replace("2026-11-27T14:00:00Z", "2026-10-25T22:30:00Z");
    let snapshot = Snapshot::new(Scenario::from_json(&json).unwrap());
    let m = render(&snapshot, "2026-10-25T19:30:00Z", Kind::Weekly, 1);
    assert!(
        m.text
            .contains("du lundi 19 octobre au dimanche 25 octobre."),
        "{}",
        m.text
    );
    assert!(
        m.text
            .contains("Séances réalisées (1) :\n- Français, lundi 19 octobre à 00:00"),
        "{}",
        m.text
    );
    assert!(!m.text.contains("SVT"), "{}", m.text);
    // 22:30Z on the 25th is 23:30 on Sunday in Paris, after the 20:00 digest: a goal.
    assert!(
        m.text
            .contains("- Mathématiques, dimanche 25 octobre à 23:30 : Fractions\n"),
        "{}",
        m.text
    );
}

#[test]
fn a_subject_reads_only_what_its_template_names() {
    let reads = |source: &str| Reads::of(&Template::compile(source).unwrap());
    let weekly = reads("Ton bilan de la semaine");
    assert!(weekly.student.is_none() && weekly.week.is_none() && weekly.session.is_none());
    assert!(!weekly.platform_name && !weekly.kind);
    let eve = reads("Demain : {{session.subject}} à {{session.time}}");
    let session = eve.session.unwrap();
    assert!(session.subject && session.time);
    assert!(!session.link && !session.date && !session.id && !session.objective);
    assert!(eve.student.is_none() && eve.week.is_none());
    let manual = reads("Message {{de parent.first_name}}{{parent.first_name}} : {{manual.title}}");
    assert!(manual.parent.unwrap().first_name);
    assert!(manual.manual.unwrap().title && !manual.manual.unwrap().date);
    let each = reads("{{#each week.goals}}{{subject}} {{link}}{{/each}}");
    assert!(each.week.unwrap().goals && !each.week.unwrap().missed);
    assert!(
        each.session.is_none(),
        "names in a block are the items' fields"
    );
    let branches = reads("{{#if week.goals_count}}x{{else}}{{student.full_name}}{{/if}}");
    assert!(branches.week.unwrap().goals_count && branches.student.unwrap().full_name);
    let sub = reads("{{#if (eq session.status \"x\")}}{{/if}}");
    assert!(sub.session.is_some());
    assert!(reads("{{platform_name}} {{site_url}}").platform_name);
    let footer = reads("{{preferences_url}}");
    assert!(footer.preferences_url && !footer.site_url && footer.student.is_none());
    assert!(!reads("{{site_url}}").preferences_url);
    let closing = reads("{{#if (eq week.closing \"praise\")}}Bravo{{/if}}")
        .week
        .unwrap();
    assert!(closing.closing && !closing.goals && !closing.completed_count);
    // A part named whole is read whole; what reaches data without naming it, all of it.
    let whole = reads("{{#with session}}{{time}}{{/with}}");
    assert_eq!(whole.session, Some(SessionWants::ALL));
    for everything in [
        "{{this}}",
        "{{lookup this \"session\"}}",
        "{{#with week}}{{../student.first_name}}{{/with}}",
        "{{@root.student.first_name}}",
        "{{> footer}}",
    ] {
        assert_eq!(reads(everything), Reads::ALL, "{everything}");
    }
}

#[test]
fn subjects_in_bulk_are_the_subjects_one_by_one() {
    let overrides = [
        (
            "weekly.fr.subject.hbs",
            "{{week.goals_count}} objectifs, {{student.full_name}} ({{platform_name}})",
        ),
        (
            "weekly.en.subject.hbs",
            "{{#each week.goals}}{{subject}} {{link}}; {{/each}}",
        ),
        (
            "session_eve.fr.subject.hbs",
            "{{session.date}} {{session.link}} {{session.duration}}",
        ),
        (
            "inactivity.fr.subject.hbs",
            "{{inactivity.days}} jours depuis le {{inactivity.last_activity}}",
        ),
        ("manual.fr.subject.hbs", "{{manual.date}} {{manual.time}}"),
    ]
    .map(|(file, source)| (file.to_owned(), source.to_owned()));
    let snapshot = Snapshot::new(scenario());
    let config = MessageConfig::default();
    for templates in [
        Templates::embedded(),
        Templates::with_overrides(overrides).unwrap(),
    ] {
        for at in [EVE, FRIDAY_MORNING, SUNDAY_MORNING, SUNDAY_EVENING] {
            let due = snapshot.plan(parse_instant(at).unwrap()).due;
            // Twice over, so that equal data meets its earlier rendering.
            let twice: Vec<DueReminder> = due.iter().chain(&due).cloned().collect();
            let subjects = templates.subjects(&twice, &snapshot, snapshot.settings(), &config);
            for (due, subject) in twice.iter().zip(subjects) {
                let one = templates
                    .render(due, &snapshot, snapshot.settings(), &config)
                    .unwrap();
                assert_eq!(subject.unwrap(), one.subject, "{} at {at}", due.key);
            }
        }
    }
}

#[test]
fn french_elides_de_before_a_vowel_or_h() {
    assert_eq!(elided_de("Anglais"), "d'");
    assert_eq!(elided_de("Histoire"), "d'");
    assert_eq!(elided_de("Économie"), "d'");
    assert_eq!(elided_de("Physique"), "de ");
    assert_eq!(elided_de(""), "de ");
}

#[test]
fn subjects_are_one_line_even_with_injected_line_breaks() {
    let mut sc = scenario();
    sc.students[0].first_name = "Awa\r\nBcc: x@y.z".into();
    sc.sessions[0].subject = "Maths\r\nBcc: x@y.z\t\u{2028}fin".into();
    let snapshot = Snapshot::new(sc);
    let m = render(&snapshot, EVE, Kind::SessionEve, 1);
    assert_eq!(m.subject, "Demain : Maths Bcc: x@y.z fin à 14:00");
    let m = render(&snapshot, FRIDAY_MORNING, Kind::Inactivity, 1);
    assert_eq!(m.subject, "Tu nous manques, Awa Bcc: x@y.z !");
    assert!(
        m.text.contains("Bonjour Awa\r\nBcc: x@y.z,"),
        "bodies keep the text as it is"
    );
    assert_eq!(header_line("  a \u{0}\u{7f}\u{85} b\n"), "a b");
}

/// The secret the tests sign preference links with.
fn secret() -> UnsubscribeSecret {
    UnsubscribeSecret::new("a test secret of the school").unwrap()
}

/// The footer's link in each language, and what precedes the link in the text part.
fn footer_label(locale: Locale) -> (&'static str, &'static str) {
    match locale {
        Locale::Fr => (
            "Ne plus recevoir ces rappels",
            "Ne plus recevoir ces rappels :",
        ),
        Locale::En => ("Manage these reminders", "Manage these reminders:"),
    }
}

#[test]
fn every_automatic_reminder_ends_with_a_link_to_the_preference_page_and_manual_ones_do_not() {
    let snapshot = Snapshot::new(scenario());
    let templates = Templates::embedded();
    let config = MessageConfig::default();
    let secret = secret();
    let unsubscribe = crate::unsubscribe::UnsubscribeConfig {
        secret: secret.clone(),
        base_url: "https://rappels.example.org".to_owned(),
    };
    let mut footed = HashSet::new();
    let mut manual = HashSet::new();
    for at in [EVE, FRIDAY_MORNING, SUNDAY_MORNING, SUNDAY_EVENING] {
        for due in snapshot.plan(parse_instant(at).unwrap()).due {
            let locale = snapshot.student(due.student).unwrap().locale;
            for signed in [None, Some(&secret)] {
                let m = templates
                    .render_signed(&due, &snapshot, snapshot.settings(), &config, signed)
                    .unwrap();
                let Some(family) = due.kind().family() else {
                    for absent in ["/preferences", "Ne plus recevoir", "Manage these reminders"] {
                        assert!(
                            !m.text.contains(absent),
                            "{absent} in {}: {}",
                            due.key,
                            m.text
                        );
                        assert!(
                            !m.html.contains(absent),
                            "{absent} in {}: {}",
                            due.key,
                            m.html
                        );
                    }
                    assert!(
                        m.html.ends_with("</p>\n</div>\n</body>\n</html>\n"),
                        "{}",
                        m.html
                    );
                    manual.insert(due.key);
                    continue;
                };
                let (url, href) = match signed {
                    None => {
                        let url = "http://localhost:8000/preferences".to_owned();
                        (url.clone(), url)
                    }
                    Some(secret) => {
                        let token = crate::unsubscribe::sign(secret, due.student, family);
                        // The very token of the reminder's List-Unsubscribe address.
                        assert_eq!(
                            unsubscribe.url_for(due.kind(), due.student),
                            Some(format!(
                                "https://rappels.example.org/unsubscribe?token={token}"
                            ))
                        );
                        assert_eq!(
                            crate::unsubscribe::verify(secret, &token),
                            Ok((due.student, family))
                        );
                        (
                            format!("http://localhost:8000/preferences?token={token}"),
                            // Handlebars escapes `=` in HTML, which a mail client reads back.
                            format!("http://localhost:8000/preferences?token&#x3D;{token}"),
                        )
                    }
                };
                let (link, line) = footer_label(locale);
                let team = match locale {
                    Locale::Fr => "L'équipe MyKarfour",
                    Locale::En => "The MyKarfour team",
                };
                assert!(
                    m.text.ends_with(&format!("{team}\n\n{line}\n{url}\n")),
                    "{} ({signed:?}): {}",
                    due.key,
                    m.text
                );
                assert!(
                    m.html.ends_with(&format!(
                        "{team}</p>\n</div>\n\
                         <p style=\"max-width:560px;margin:16px auto 0;font-size:13px;color:#616e7c;text-align:center;\">\
                         <a href=\"{href}\" style=\"color:#616e7c;\">{link}</a></p>\n</body>\n</html>\n"
                    )),
                    "{} ({signed:?}): {}",
                    due.key,
                    m.html
                );
                assert_eq!(m.text.matches(line).count(), 1, "{}", m.text);
                assert_eq!(m.html.matches(link).count(), 1, "{}", m.html);
                footed.insert((due.kind().as_str(), locale.code()));
            }
        }
    }
    assert_eq!(
        footed.len(),
        8,
        "every automatic kind in both languages: {footed:?}"
    );
    assert_eq!(manual.len(), 2, "both manual reminders: {manual:?}");
}

#[test]
fn the_preference_link_is_escaped_in_html_only() {
    let snapshot = Snapshot::new(scenario());
    let config = MessageConfig {
        site_url: r#"https://example.org/a&b"<i>'/"#.to_owned(),
        ..MessageConfig::default()
    };
    let secret = secret();
    for (kind, student) in [(Kind::SessionEve, 1), (Kind::SessionEve, 2)] {
        let due = due(&snapshot, EVE, kind, student);
        let token = crate::unsubscribe::sign(&secret, due.student, Family::Session);
        let m = Templates::embedded()
            .render_signed(&due, &snapshot, snapshot.settings(), &config, Some(&secret))
            .unwrap();
        assert!(
            m.text.contains(&format!(
                "\nhttps://example.org/a&b\"<i>'/preferences?token={token}\n"
            )),
            "plain text is not escaped: {}",
            m.text
        );
        assert!(
            m.html.contains(&format!(
                "<a href=\"https://example.org/a&amp;b&quot;&lt;i&gt;&#x27;/preferences?token&#x3D;{token}\" \
                 style=\"color:#616e7c;\">"
            )),
            "{}",
            m.html
        );
        assert!(
            !m.html.contains("<i>") && !m.html.contains("a&b"),
            "{}",
            m.html
        );
    }
}

#[test]
fn a_platforms_own_bodies_get_the_shipped_footer_and_its_own_footer_replaces_it() {
    let snapshot = Snapshot::new(scenario());
    let footer_html = |href: &str, link: &str| {
        format!(
            "<p style=\"max-width:560px;margin:16px auto 0;font-size:13px;color:#616e7c;text-align:center;\">\
             <a href=\"{href}\" style=\"color:#616e7c;\">{link}</a></p>\n"
        )
    };
    let overrides = |files: &[(&str, &str)]| {
        Templates::with_overrides(
            files
                .iter()
                .map(|&(file, source)| (file.to_owned(), source.to_owned())),
        )
        .unwrap()
    };
    // Bodies written without the footer in mind, one with no closing `</body>` at all.
    let own_bodies = overrides(&[
        (
            "session_eve.fr.text.hbs",
            "Bonjour {{student.first_name}} !",
        ),
        (
            "session_eve.fr.html.hbs",
            "<html><BODY><p>Bonjour {{student.first_name}}</p></BODY></html>\n",
        ),
        (
            "session_eve.en.html.hbs",
            "<p>Hello {{student.first_name}}</p>",
        ),
    ]);
    let url = "http://localhost:8000/preferences";
    let m = render_with(&own_bodies, &snapshot, EVE, Kind::SessionEve, 1);
    assert_eq!(
        m.text,
        format!("Bonjour Awa !\n\nNe plus recevoir ces rappels :\n{url}\n")
    );
    assert_eq!(
        m.html,
        format!(
            "<html><BODY><p>Bonjour Awa</p>{}</BODY></html>\n",
            footer_html(url, "Ne plus recevoir ces rappels")
        )
    );
    let m = render_with(&own_bodies, &snapshot, EVE, Kind::SessionEve, 2);
    assert_eq!(
        m.html,
        format!(
            "<p>Hello John</p>\n{}",
            footer_html(url, "Manage these reminders")
        )
    );
    assert!(
        m.text.ends_with(
            "The MyKarfour team\n\nManage these reminders:\nhttp://localhost:8000/preferences\n"
        ),
        "the shipped English body: {}",
        m.text
    );

    // A footer of the platform's own replaces the shipped one of its language and part; one
    // left empty adds nothing.
    let own_footer = overrides(&[
        (
            "footer.fr.text.hbs",
            "-- \nTes réglages {{de platform_name}}{{platform_name}} : {{preferences_url}}\n",
        ),
        ("footer.fr.html.hbs", ""),
    ]);
    let m = render_with(&own_footer, &snapshot, FRIDAY_MORNING, Kind::Inactivity, 1);
    assert!(
        m.text.ends_with(
            "L'équipe MyKarfour\n\n-- \nTes réglages de MyKarfour : http://localhost:8000/preferences\n"
        ),
        "{}",
        m.text
    );
    assert!(!m.html.contains("preferences"), "{}", m.html);
    assert!(
        m.html.ends_with("</p>\n</div>\n</body>\n</html>\n"),
        "{}",
        m.html
    );
    let m = render_with(&own_footer, &snapshot, SUNDAY_MORNING, Kind::Inactivity, 2);
    assert!(
        m.text
            .ends_with("\n\nManage these reminders:\nhttp://localhost:8000/preferences\n"),
        "{}",
        m.text
    );

    // Strict mode holds in a footer too, and only the automatic kinds render one.
    let misspelt = overrides(&[("footer.en.text.hbs", "{{preference_url}}")]);
    let config = MessageConfig::default();
    let eve = due(&snapshot, EVE, Kind::SessionEve, 2);
    let err = misspelt
        .render(&eve, &snapshot, snapshot.settings(), &config)
        .unwrap_err();
    assert!(matches!(err, MessageError::Render { .. }), "{err:?}");
    assert_eq!(err.to_string(), "cannot render template footer.en.text.hbs");
    let manual = due(&snapshot, EVE, Kind::Manual, 2);
    let m = misspelt
        .render(&manual, &snapshot, snapshot.settings(), &config)
        .unwrap();
    assert!(m.text.ends_with("The MyKarfour team\n"), "{}", m.text);
}

#[test]
fn text_and_html_footers_go_after_the_body() {
    assert_eq!(with_text_footer("a\n\n\n".into(), "f\n"), "a\n\nf\n");
    assert_eq!(with_text_footer("a".into(), "\nf"), "a\n\nf");
    assert_eq!(with_text_footer("a\n".into(), " \n"), "a\n");
    assert_eq!(
        with_html_footer("<body><p>a</p></body>\n</BODY >".into(), "<p>f</p>"),
        "<body><p>a</p></body>\n<p>f</p>\n</BODY >",
        "before the last closing tag, in any case"
    );
    assert_eq!(
        with_html_footer("<p>a</p>".into(), "<p>f</p>\n"),
        "<p>a</p>\n<p>f</p>\n"
    );
    assert_eq!(
        with_html_footer("<p>é</p></body>".into(), "\n"),
        "<p>é</p></body>"
    );
}

/// The three closings of the weekly digest, in French and in English.
fn closing_sentence(closing: Closing, locale: Locale) -> &'static str {
    match (closing, locale) {
        (Closing::Praise, Locale::Fr) => {
            "Bravo pour ta semaine, continue comme ça : la régularité paie !"
        }
        (Closing::Encouragement, Locale::Fr) => {
            "Tout ne s'est pas passé comme prévu cette semaine, et ce n'est pas grave : \
             la semaine prochaine est un nouveau départ, on croit en toi !"
        }
        (Closing::Nudge, Locale::Fr) => {
            "Pas de séance cette semaine ? Une petite révision la semaine prochaine suffit \
             pour reprendre le rythme !"
        }
        (Closing::Praise, Locale::En) => "Well done this week, keep it up: regular work pays off!",
        (Closing::Encouragement, Locale::En) => {
            "Not everything went as planned this week, and that's okay: next week is a fresh \
             start, and we believe in you!"
        }
        (Closing::Nudge, Locale::En) => {
            "No sessions this week? One short study session next week is all it takes to get \
             back on track!"
        }
    }
}

#[test]
fn a_week_is_praised_when_more_sessions_were_completed_than_missed() {
    use Closing::{Encouragement, Nudge, Praise};
    let cases = [
        ((0, 0), Nudge),
        ((1, 0), Praise),
        ((4, 0), Praise),
        ((3, 2), Praise),
        ((2, 2), Encouragement),
        ((1, 3), Encouragement),
        ((0, 1), Encouragement),
    ];
    for ((completed, missed), closing) in cases {
        assert_eq!(
            Closing::of(completed, missed),
            closing,
            "{completed} completed, {missed} missed"
        );
    }
}

#[test]
fn the_weekly_digest_closes_on_the_week_it_reports() {
    use crate::domain::SessionStatus::{self, Cancelled, Completed};
    use Closing::{Encouragement, Nudge, Praise};
    fn set(sc: &mut Scenario, id: i64, status: SessionStatus) {
        let session = sc.sessions.iter_mut().find(|s| s.id.get() == id).unwrap();
        session.status = status;
    }
    // Awa's week as the scenario has it: Français (101) completed, Mathématiques (100)
    // missed, Anglais (102) cancelled.
    /// A change to the scenario that shapes Awa's week.
    type Edit = fn(&mut Scenario);
    let weeks: [(&str, Edit, (usize, usize), Closing); 6] = [
        ("as it is", |_| {}, (1, 1), Encouragement),
        (
            "nothing missed",
            |sc| set(sc, 100, Cancelled),
            (1, 0),
            Praise,
        ),
        (
            "more done than missed",
            |sc| set(sc, 102, Completed),
            (2, 1),
            Praise,
        ),
        (
            "only missed",
            |sc| set(sc, 101, Cancelled),
            (0, 1),
            Encouragement,
        ),
        (
            "only cancelled",
            |sc| {
                set(sc, 100, Cancelled);
                set(sc, 101, Cancelled);
            },
            (0, 0),
            Nudge,
        ),
        (
            "no session at all",
            |sc| sc.sessions.retain(|s| s.student_id.get() != 1),
            (0, 0),
            Nudge,
        ),
    ];
    for (week, edit, (completed, missed), closing) in weeks {
        for locale in Locale::ALL {
            let mut sc = scenario();
            edit(&mut sc);
            sc.students[0].locale = locale;
            let snapshot = Snapshot::new(sc);
            let m = render(&snapshot, SUNDAY_EVENING, Kind::Weekly, 1);
            let (done, not_done, team) = match locale {
                Locale::Fr => (
                    "Séances réalisées",
                    "Séances manquées",
                    "L'équipe MyKarfour",
                ),
                Locale::En => (
                    "Completed sessions",
                    "Missed sessions",
                    "The MyKarfour team",
                ),
            };
            let context = format!("{week} in {}", locale.code());
            assert!(
                m.html.contains(&format!("{done} ({completed})")),
                "{context}: {}",
                m.html
            );
            if missed > 0 {
                assert!(
                    m.html.contains(&format!("{not_done} ({missed})")),
                    "{context}: {}",
                    m.html
                );
            } else {
                assert!(!m.html.contains(not_done), "{context}: {}", m.html);
            }
            let sentence = closing_sentence(closing, locale);
            assert!(
                m.text.contains(&format!("\n\n{sentence}\n{team}\n")),
                "{context}: {}",
                m.text
            );
            assert!(
                m.html.contains(&format!("<p>{sentence}<br>{team}</p>")),
                "{context}: {}",
                m.html
            );
            for other in [Praise, Encouragement, Nudge] {
                if other != closing {
                    let other = closing_sentence(other, locale);
                    assert!(!m.text.contains(other), "{context}: {}", m.text);
                    assert!(!m.html.contains(other), "{context}: {}", m.html);
                }
            }
        }
    }
    // A subject that names only the closing still reads the week's sessions.
    let templates = Templates::with_overrides([(
        "weekly.fr.subject.hbs".to_owned(),
        "Semaine : {{week.closing}}".to_owned(),
    )])
    .unwrap();
    let m = render_with(
        &templates,
        &Snapshot::new(scenario()),
        SUNDAY_EVENING,
        Kind::Weekly,
        1,
    );
    assert_eq!(m.subject, "Semaine : encouragement");
}

fn hostile_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-zé<>& \\r\\n\\t\\x0b\\x0c\\x1b\\x7f\\u{85}\\u{2028}\\u{2029}]{0,24}",
    ]
}

proptest! {
    #[test]
    fn single_line_leaves_no_control_character_nor_double_space(raw in hostile_text()) {
        let line = header_line(&raw);
        prop_assert!(!line.chars().any(|c| c.is_control()), "{:?}", line);
        prop_assert!(!line.contains("  "), "{:?}", line);
        prop_assert_eq!(line.trim(), line.as_str());
    }
}

proptest! {
    // Each case plans three instants and renders about ten subjects, so fewer cases
    // than the default keep the suite fast; the folding itself is covered above.
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn no_subject_ever_holds_a_line_break(
        first_name in hostile_text(),
        subject in hostile_text(),
        title in hostile_text(),
    ) {
        let mut sc = scenario();
        for student in &mut sc.students {
            student.first_name = first_name.clone();
        }
        for session in &mut sc.sessions {
            session.subject = subject.clone();
        }
        for request in &mut sc.manual {
            request.title = title.clone();
        }
        let snapshot = Snapshot::new(sc);
        let templates = Templates::embedded();
        let config = MessageConfig::default();
        let mut rendered = 0;
        for at in [EVE, FRIDAY_MORNING, SUNDAY_EVENING] {
            for due in snapshot.plan(parse_instant(at).unwrap()).due {
                let subject = templates.subject(&due, &snapshot, snapshot.settings(), &config).unwrap();
                prop_assert!(!subject.contains(['\r', '\n']), "{:?}", subject);
                prop_assert!(!subject.chars().any(|c| c.is_control()), "{:?}", subject);
                prop_assert_eq!(subject.trim(), subject.as_str());
                rendered += 1;
            }
        }
        prop_assert!(rendered >= 7, "eve, day, inactivity and weekly reminders were rendered");
    }
}
