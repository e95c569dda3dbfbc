//! The footer of the messages a run sends: on automatic reminders, a link to the student's
//! preference page carrying the token of the message's `List-Unsubscribe` address (or no
//! token when the platform signs none); on parents' reminders, nothing.

use chrono::{DateTime, Utc};
use rappels_core::domain::parse_instant;
use rappels_core::message::{MessageConfig, Templates};
use rappels_core::ports::Email;
use rappels_core::scenario::Scenario;
use rappels_core::service::{RunOptions, Sender, ServiceConfig, UnsubscribeConfig};
use rappels_core::testing::{FixedClock, MailerMode, MemoryStore, RecordingMailer, SMALL_SCHOOL};
use rappels_core::unsubscribe::{UnsubscribeSecret, verify};

fn t(s: &str) -> DateTime<Utc> {
    parse_instant(s).unwrap()
}

/// What a run of the small school sends on the eve of its sessions: an inactivity
/// reminder, two eve reminders and a parent's message, all in French.
async fn sent(unsubscribe: Option<UnsubscribeConfig>) -> Vec<Email> {
    let at = t("2026-11-26T18:45:00Z");
    let sender = Sender::new(
        MemoryStore::new(Scenario::from_json(SMALL_SCHOOL).unwrap()),
        RecordingMailer::new(MailerMode::Accept),
        FixedClock::new(at),
        Templates::embedded(),
        ServiceConfig {
            messages: MessageConfig {
                site_url: "https://ecole.example.org/".to_owned(),
                ..MessageConfig::default()
            },
            unsubscribe,
            ..ServiceConfig::default()
        },
    );
    let report = sender.run(&RunOptions::default()).await.unwrap();
    assert_eq!(report.sent, 4, "{report:?}");
    sender.mailer().messages()
}

#[tokio::test]
async fn the_footer_carries_the_token_of_the_list_unsubscribe_address() {
    let secret = UnsubscribeSecret::new("a test secret of the school").unwrap();
    let emails = sent(Some(UnsubscribeConfig {
        secret: secret.clone(),
        base_url: "https://rappels.example.org".to_owned(),
    }))
    .await;
    let mut automatic = 0;
    for email in &emails {
        let (text, html) = (&email.message.text, &email.message.html);
        let Some(family) = email.kind.family() else {
            assert_eq!(email.unsubscribe_url, None);
            assert!(!text.contains("/preferences"), "{text}");
            assert!(!html.contains("/preferences"), "{html}");
            continue;
        };
        let header = email.unsubscribe_url.as_deref().unwrap();
        let token = header
            .strip_prefix("https://rappels.example.org/unsubscribe?token=")
            .unwrap_or_else(|| panic!("not an unsubscribe link: {header}"));
        assert_eq!(verify(&secret, token), Ok((email.student, family)));
        assert!(
            text.ends_with(&format!(
                "\n\nNe plus recevoir ces rappels :\nhttps://ecole.example.org/preferences?token={token}\n"
            )),
            "{text}"
        );
        assert!(
            html.contains(&format!(
                "<a href=\"https://ecole.example.org/preferences?token&#x3D;{token}\" \
                 style=\"color:#616e7c;\">Ne plus recevoir ces rappels</a>"
            )),
            "{html}"
        );
        automatic += 1;
    }
    assert_eq!(automatic, 3);

    // With no secret there is no List-Unsubscribe header, and the footer links to the page
    // where the student signs in.
    let emails = sent(None).await;
    for email in emails.iter().filter(|e| e.kind.family().is_some()) {
        assert_eq!(email.unsubscribe_url, None);
        let (text, html) = (&email.message.text, &email.message.html);
        assert!(
            text.ends_with(
                "\n\nNe plus recevoir ces rappels :\nhttps://ecole.example.org/preferences\n"
            ),
            "{text}"
        );
        assert!(
            html.contains(
                "<a href=\"https://ecole.example.org/preferences\" style=\"color:#616e7c;\">"
            ),
            "{html}"
        );
    }
}
