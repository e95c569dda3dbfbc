//! `rappels login-link`: a signed, expiring, single-use link that signs someone in to the
//! web pages (`rappels-web`), without a password.

use chrono::TimeDelta;
use clap::{ArgGroup, Args};
use rappels_core::clock::{Clock, SystemClock};
use rappels_core::domain::{ParentId, StudentId};
use rappels_core::login::{AdminName, LoginLink, Principal};

use crate::args::{parse_parent, parse_student};
use crate::commands::history::{AsActor, actor};
use crate::config::Config;
use crate::database::{self, DatabaseArgs};
use crate::failure::Failure;
use crate::mail;

pub(crate) const LONG_ABOUT: &str = "\
Print a link that signs a student, a parent or an admin in to the web pages (rappels-web): \
{RAPPELS_SITE_URL}/login?token=…. The token is signed with RAPPELS_SECRET, names who it \
signs in, expires (30 minutes by default) and works once: the web app redeems it and \
opens a session. Send it to the person by a channel you trust (the platform's own \
messages); whoever holds it until it is used can sign in as them.

Whoever can run this command with the secret can sign in as anyone, so an --admin link is a \
superuser's: NAME is who the admin pages and the log say acted. Students and parents must \
be in the database.";

pub(crate) const EXAMPLES: &str = "\
Examples:
  rappels login-link --parent 10
  rappels login-link --student 1 --minutes 10
  rappels login-link --admin 'Mme Diallo'";

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("who").required(true).args(["student", "parent", "admin"])))]
pub(crate) struct LoginLinkArgs {
    /// Sign in this student.
    #[arg(long, value_name = "ID", value_parser = parse_student)]
    student: Option<StudentId>,
    /// Sign in this parent.
    #[arg(long, value_name = "ID", value_parser = parse_parent)]
    parent: Option<ParentId>,
    /// Sign in a superuser by this name (1 to 100 characters).
    #[arg(long, value_name = "NAME")]
    admin: Option<String>,
    /// Minutes until the link expires, 1 to 10080 (a week).
    #[arg(long, value_name = "N", default_value_t = 30,
          value_parser = clap::value_parser!(u32).range(1..=10_080))]
    minutes: u32,
    #[command(flatten)]
    database: DatabaseArgs,
}

pub(crate) fn run(args: LoginLinkArgs, config: &Config) -> Result<(), Failure> {
    let site_url = mail::site_url(config)?;
    let Some(signing) = mail::unsubscribe_config(config, &site_url)? else {
        return Err(Failure::invalid(format_args!(
            "{} is not set: sign-in links are signed with it, and the web app checks them with it",
            crate::variables::SECRET
        )));
    };
    let principal = match (args.student, args.parent, args.admin) {
        (Some(id), _, _) => Principal::Student(id),
        (_, Some(id), _) => Principal::Parent(id),
        (_, _, Some(name)) => Principal::Admin(
            AdminName::new(&name).map_err(|e| Failure::invalid(format_args!("--admin: {e}")))?,
        ),
        _ => unreachable!("clap requires one of --student, --parent, --admin"),
    };
    let asked = match &principal {
        Principal::Student(id) => Some(AsActor::Student(*id)),
        Principal::Parent(id) => Some(AsActor::Parent(*id)),
        Principal::Admin(_) => None,
    };
    if let Some(asked) = asked {
        let url = args.database.url(config)?;
        database::block_on(async {
            let store = database::connect_existing(&url).await?;
            let found = actor(&store, asked).await;
            store.close().await;
            found.map(drop)
        })?;
    }
    let link = LoginLink::new(
        principal,
        nonce(),
        SystemClock.now(),
        TimeDelta::minutes(i64::from(args.minutes)),
    );
    tracing::info!(who = %link.principal, expires_at = %link.expires_at, "sign-in link issued");
    crate::output::emit(&format!("{}\n", link.url(&signing.secret, &site_url)))
}

/// A nonce no other link shares: 128 bits from two hashers keyed by the OS's random source
/// (std's `RandomState`). It need not be secret, only unique: the signature is what
/// protects the link.
fn nonce() -> u128 {
    use std::hash::{BuildHasher, RandomState};
    let half = || u128::from(RandomState::new().hash_one(std::process::id()));
    (half() << 64) | half()
}
