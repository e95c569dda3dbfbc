//! `rappels test-email`: send the admin's test e-mail through the configured mailer, to check
//! the mail configuration before the first run.

use clap::Args;
use clap::builder::{PossibleValuesParser, TypedValueParser};
use rappels_core::clock::{Clock, SystemClock};
use rappels_core::domain::{EmailAddress, Kind, Locale, StudentId};
use rappels_core::ports::{Email, Mailer};

use crate::config::Config;
use crate::database;
use crate::failure::Failure;
use crate::mail::MailConfig;

pub(crate) const LONG_ABOUT: &str = "\
Send the test e-mail (\"Test e-mail from MyKarfour\", or its French version) to ADDRESS \
through the mailer the environment configures (below), and print what the server answered. \
Use it to check the server, the port, TLS, the credentials and the sender before the first \
`rappels run`. It needs no database.

When delivery fails, the message says which step failed and whether it is the mail session \
(the server cannot be reached, or refuses TLS, the credentials or the sender: check the host, \
the port, the TLS mode, the user and the sender), a transient refusal of the message (a 4xx \
reply: try again later) or a permanent one (a 5xx reply: the server refuses the recipient or \
the message), and the exit status is 1.";

pub(crate) const EXAMPLES: &str = "\
Examples:
  rappels test-email --to admin@example.org
  RAPPELS_MAILER=smtp RAPPELS_SMTP_HOST=smtp.example.org rappels test-email --to admin@example.org --locale en
  RAPPELS_MAILER=stdout rappels test-email --to admin@example.org     # print the message";

/// The help text after the options: examples, then the mail variables.
pub(crate) fn after_help() -> String {
    format!("{EXAMPLES}\n\n{}", crate::variables::mail_help())
}

#[derive(Debug, Args)]
pub(crate) struct TestEmailArgs {
    /// The recipient's address.
    #[arg(long, value_name = "ADDRESS", value_parser = parse_address)]
    to: EmailAddress,
    /// The message's language.
    #[arg(long, value_name = "LOCALE", default_value = "fr", value_parser = locale_parser())]
    locale: Locale,
}

/// An address both rappels and lettre accept: one refused by the mailer later would be
/// reported as a delivery failure, when it is the argument that is wrong.
fn parse_address(raw: &str) -> Result<EmailAddress, String> {
    let address = EmailAddress::parse(raw).map_err(|e| e.to_string())?;
    raw.parse::<lettre::Address>()
        .map_err(|e| format!("invalid e-mail address {raw:?}: {e}"))?;
    Ok(address)
}

fn locale_parser() -> impl TypedValueParser<Value = Locale> {
    PossibleValuesParser::new(Locale::ALL.map(Locale::code)).map(|code| {
        code.parse::<Locale>()
            .expect("every possible value is a locale")
    })
}

pub(crate) fn run(args: TestEmailArgs, config: &Config) -> Result<(), Failure> {
    let mail = MailConfig::read(config)?;
    let message = config
        .templates()?
        .test_message(args.locale, &mail.message_config())
        .map_err(|e| Failure::Failed(anyhow::anyhow!("cannot build the test e-mail: {e}")))?;
    let email = Email {
        // Unique per second and process, so a mail client shows each test as a new message.
        message_id: format!(
            "<test.{}.{}@{}>",
            SystemClock.now().timestamp(),
            std::process::id(),
            mail.message_id_domain()
        ),
        to: args.to,
        to_name: String::new(),
        // A manual reminder is the one kind with no unsubscribe header, which a test e-mail
        // must not carry.
        kind: Kind::Manual,
        // A placeholder: `Email` names the student a reminder is for, and a test e-mail is
        // for none. No mailer reads it when there is no unsubscribe address.
        student: StudentId::new(1).expect("1 is a valid id"),
        message,
        unsubscribe_url: None,
    };
    let destination = mail.destination();
    tracing::info!(to = %email.to, via = %destination, message_id = %email.message_id, "sending the test e-mail");
    let delivered = database::block_on(async {
        let mailer = mail.mailer()?;
        Ok(mailer.send(&email).await)
    })?;
    match delivered {
        Ok(delivery) => {
            tracing::info!(reply = %delivery.reply, "test e-mail delivered");
            crate::output::emit(&format!(
                "test e-mail sent to {} via {destination}: {}\n",
                email.to, delivery.reply
            ))?;
            Ok(())
        }
        Err(error) => {
            let class = if error.is_session() {
                "the mail session failed: check the host, the port, the TLS mode, the user and the sender"
            } else if error.is_transient() {
                "transient failure: try again later"
            } else {
                "permanent failure: the server refused the recipient or the message"
            };
            Err(Failure::Failed(anyhow::anyhow!(
                "test e-mail to {} via {destination} not delivered ({class}): {error}",
                email.to
            )))
        }
    }
}
