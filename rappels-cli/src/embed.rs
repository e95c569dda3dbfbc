//! rappels inside another program: what a web app (or any service that embeds rappels)
//! reads from the same configuration as the `rappels` command — `rappels.toml` (or
//! `$RAPPELS_CONFIG`), the `RAPPELS_*` variables and `DATABASE_URL`, in the same order and
//! with the same checks — so that it runs on the same database, with the same mailer,
//! templates and secret as the runners.

use std::fmt;
use std::path::Path;

use rappels_core::message::Templates;
use rappels_core::service::ServiceConfig;
use rappels_core::unsubscribe::UnsubscribeConfig;
use rappels_sqlx::{DatabaseUrl, SqlStore};

use crate::config::{self, Config};
use crate::database::{self, DatabaseArgs};
use crate::failure::Failure;
pub use crate::mail::ConfiguredMailer;
use crate::mail::{self, MailConfig};

/// A configuration that cannot be used: the message names the variable, the key or the
/// file, as the command line's do.
#[derive(Debug)]
pub struct ConfigError(String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

impl From<Failure> for ConfigError {
    fn from(failure: Failure) -> Self {
        ConfigError(failure.to_string())
    }
}

/// The configuration in force, read as `rappels` reads it.
pub struct Embedding {
    config: Config,
    mail: MailConfig,
    /// The database.
    pub database_url: DatabaseUrl,
    /// The platform's public address, without a trailing `/` (`RAPPELS_SITE_URL`).
    pub site_url: String,
    /// The secret and address of signed links (`RAPPELS_SECRET`); `None` when the secret
    /// is not set.
    pub signing: Option<UnsubscribeConfig>,
    /// How reminders are sent: runner id, links, lease, Message-ID domain.
    pub service: ServiceConfig,
    /// The templates in force (`RAPPELS_TEMPLATES`, else the shipped ones).
    pub templates: Templates,
}

impl fmt::Debug for Embedding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Embedding")
            .field("database_url", &self.database_url)
            .field("site_url", &self.site_url)
            .field("signing", &self.signing)
            .finish_non_exhaustive()
    }
}

impl Embedding {
    /// Reads the configuration: `file` if given, else `$RAPPELS_CONFIG`, else
    /// `./rappels.toml` when it exists; the variables override its keys.
    pub fn load(file: Option<&Path>) -> Result<Embedding, ConfigError> {
        let named = config::named_file(file.map(Path::to_path_buf))?;
        let config = Config::load(named.as_deref())?;
        let mail = MailConfig::read(&config)?;
        let service = mail::service_config(&config, &mail)?;
        let templates = config.templates()?;
        let database_url = DatabaseArgs { database_url: None }.url(&config)?;
        let site_url = mail.site_url.clone();
        let signing = mail::unsubscribe_config(&config, &site_url)?;
        Ok(Embedding {
            config,
            mail,
            database_url,
            site_url,
            signing,
            service,
            templates,
        })
    }

    /// The mailer the configuration chose (SMTP, `.eml` files or standard output).
    pub fn mailer(&self) -> Result<ConfiguredMailer, ConfigError> {
        Ok(self.mail.mailer()?)
    }

    /// Opens the database, which `rappels import` (or `init`) must have set up, and checks
    /// that the configuration's settings are the database's, as every command does.
    pub async fn connect(&self) -> Result<SqlStore, ConfigError> {
        let store = database::connect_existing(&self.database_url).await?;
        database::settings_in_force(&store, &self.config).await?;
        Ok(store)
    }
}
