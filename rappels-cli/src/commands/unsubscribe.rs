//! `rappels unsubscribe`: apply the token of a one-click unsubscribe link by hand, as the
//! platform's `/unsubscribe` page does when a student clicks it.

use clap::Args;
use rappels_core::clock::SystemClock;
use rappels_core::ports::StoreError;
use rappels_core::service::{Reminders, ServiceError};

use crate::config::Config;
use crate::database::{self, DatabaseArgs};
use crate::failure::Failure;
use crate::mail;

pub(crate) const LONG_ABOUT: &str = "\
Opt a student out of a family of automatic reminders (session, inactivity or weekly) with the \
token of an unsubscribe link, as if they had clicked it: for a student who forwards a \
reminder to support, or to check a link. The token names the student and the family and is \
signed with RAPPELS_SECRET, which must be the secret the link was signed with. Applying a \
token twice changes nothing. Manual reminders from parents carry no such link.";

pub(crate) const EXAMPLES: &str = "\
Examples:
  rappels unsubscribe --token djE6MTpzZXNzaW9u.Jx0…
  rappels unsubscribe --token 'https://www.example.org/unsubscribe?token=djE6MTpzZXNzaW9u.Jx0…'";

#[derive(Debug, Args)]
pub(crate) struct UnsubscribeArgs {
    /// The token of an unsubscribe link, or the whole link.
    #[arg(long, value_name = "TOKEN")]
    token: String,
    #[command(flatten)]
    database: DatabaseArgs,
}

pub(crate) fn run(args: UnsubscribeArgs, config: &Config) -> Result<(), Failure> {
    let site_url = mail::site_url(config)?;
    let Some(unsubscribe) = mail::unsubscribe_config(config, &site_url)? else {
        return Err(Failure::invalid(format_args!(
            "{} is not set: unsubscribe tokens are verified with the secret that signed them",
            crate::variables::SECRET
        )));
    };
    let token = token_of(&args.token);
    let url = args.database.url(config)?;
    let (student, family, changed) = database::block_on(async {
        let store = database::connect_existing(&url).await?;
        let result = async {
            // Read first so that a database never migrated or never imported is named as
            // such rather than as a failed query.
            database::settings_in_force(&store, config).await?;
            let engine = Reminders::new(store.clone(), SystemClock);
            engine
                .unsubscribe(&unsubscribe, token)
                .await
                .map_err(|error| match error {
                    ServiceError::Unsubscribe(error) => Failure::invalid(error),
                    ServiceError::Store(StoreError::NotFound { what, id }) => Failure::invalid(
                        format_args!("the token names {what} {id}, who is not in the database"),
                    ),
                    other => {
                        crate::failure::service_failure(other, format_args!("unsubscribe on {url}"))
                    }
                })
        }
        .await;
        store.close().await;
        result
    })?;
    let family = family.as_str();
    if changed {
        crate::output::emit(&format!(
            "student {student} will no longer receive {family} reminders\n"
        ))?;
    } else {
        crate::output::emit(&format!(
            "student {student} had already unsubscribed from {family} reminders\n"
        ))?;
    }
    Ok(())
}

/// The token itself, from a token or a whole unsubscribe link (`…/unsubscribe?token=T`).
fn token_of(raw: &str) -> &str {
    let raw = raw.trim();
    match raw
        .split_once("?token=")
        .or_else(|| raw.split_once("&token="))
    {
        Some((_, rest)) => rest.split(['&', '#']).next().unwrap_or(rest),
        None => raw,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_taken_from_a_link() {
        assert_eq!(token_of("abc.def"), "abc.def");
        assert_eq!(token_of(" abc.def\n"), "abc.def");
        assert_eq!(
            token_of("https://www.example.org/unsubscribe?token=abc.def"),
            "abc.def"
        );
        assert_eq!(
            token_of("https://www.example.org/unsubscribe?lang=fr&token=abc.def#top"),
            "abc.def"
        );
    }
}
