//! `rappels`: plan, send and inspect the reminders of a tutoring platform.
//!
//! The command line is the binary's; as a library this crate gives [`main`] to that binary
//! and [`embed`] to programs that run beside it on the same database and configuration
//! (the web pages of `examples/web`).

mod args;
mod commands;
mod config;
mod database;
pub mod embed;
mod failure;
mod mail;
mod output;
mod shell;
mod shutdown;
mod urls;
mod variables;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// Study reminders for tutoring platforms: session eve and morning reminders, inactivity
/// nudges, weekly digests and parents' manual reminders.
#[derive(Debug, Parser)]
#[command(name = "rappels", version, propagate_version = true)]
#[command(
    after_help = "Exit status: 0 success, 2 invalid input or usage, 1 any other failure.\n\
Run `rappels help COMMAND` for a command's options and an example."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// More log output (-v: debug, -vv: trace).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    /// Only errors in the log.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
    /// Log format on standard error.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    log_format: LogFormat,
    /// Configuration file (default: $RAPPELS_CONFIG, else ./rappels.toml when it exists).
    /// Environment variables override its keys; `rappels init` writes a commented one.
    #[arg(long, value_name = "FILE", global = true)]
    config: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Build a sample school and send it a week of reminders into .eml files (start here).
    #[command(long_about = commands::demo::LONG_ABOUT, after_help = commands::demo::EXAMPLES)]
    Demo(commands::demo::DemoArgs),
    /// Write a commented rappels.toml and create the database (a real installation's start).
    #[command(long_about = commands::init::LONG_ABOUT, after_help = commands::init::EXAMPLES)]
    Init(commands::init::InitArgs),
    /// Print the reminders due at an instant, and the refused manual requests.
    #[command(long_about = commands::plan::LONG_ABOUT, after_help = commands::plan::EXAMPLES)]
    Plan(commands::plan::PlanArgs),
    /// Show the settings in force (the database's), or apply the configuration's to it.
    #[command(long_about = commands::settings::LONG_ABOUT, after_help = commands::settings::EXAMPLES)]
    Settings(commands::settings::SettingsArgs),
    /// Create or upgrade the database schema.
    #[command(long_about = commands::migrate::LONG_ABOUT, after_help = commands::migrate::EXAMPLES)]
    Migrate(commands::migrate::MigrateArgs),
    /// Load a scenario file into the database, all or nothing.
    #[command(long_about = commands::import::LONG_ABOUT, after_help = commands::import::EXAMPLES)]
    Import(commands::import::ImportArgs),
    /// Apply the platform's changes as they happen (JSON Lines: records, deletions, activity).
    #[command(long_about = commands::ingest::LONG_ABOUT, after_help = commands::ingest::EXAMPLES)]
    Ingest(commands::ingest::IngestArgs),
    /// Plan, record and send the reminders that are due (run it from cron).
    #[command(long_about = commands::run::LONG_ABOUT, after_help = commands::run::after_help())]
    Run(commands::run::RunArgs),
    /// Record a parent's manual reminder to their child, under the rules' checks.
    #[command(long_about = commands::remind::LONG_ABOUT, after_help = commands::remind::EXAMPLES)]
    Remind(commands::remind::RemindArgs),
    /// Say why each reminder of a student is or is not due at an instant.
    #[command(long_about = commands::explain::LONG_ABOUT, after_help = commands::explain::EXAMPLES)]
    Explain(commands::explain::ExplainArgs),
    /// Create the sessions of the weekly study plans for the coming days.
    #[command(
        long_about = commands::schedule_sessions::LONG_ABOUT,
        after_help = commands::schedule_sessions::EXAMPLES
    )]
    ScheduleSessions(commands::schedule_sessions::ScheduleSessionsArgs),
    /// Print crontab lines or systemd units that run rappels every 5 minutes.
    #[command(long_about = commands::cron::LONG_ABOUT, after_help = commands::cron::EXAMPLES)]
    Cron(commands::cron::CronArgs),
    /// Run, then sleep until the next slot or retry, until SIGTERM (instead of cron).
    #[command(long_about = commands::daemon::LONG_ABOUT, after_help = commands::daemon::after_help())]
    Daemon(commands::daemon::DaemonArgs),
    /// Check the configuration, database, time zones, templates, mail server and clock.
    #[command(long_about = commands::doctor::LONG_ABOUT, after_help = commands::doctor::after_help())]
    Doctor(commands::doctor::DoctorArgs),
    /// Send a test e-mail through the configured mailer.
    #[command(long_about = commands::test_email::LONG_ABOUT, after_help = commands::test_email::after_help())]
    TestEmail(commands::test_email::TestEmailArgs),
    /// Opt a student out of a family of reminders with an unsubscribe token.
    #[command(long_about = commands::unsubscribe::LONG_ABOUT, after_help = commands::unsubscribe::EXAMPLES)]
    Unsubscribe(commands::unsubscribe::UnsubscribeArgs),
    /// Print a signed, expiring, single-use link that signs someone in to the web pages.
    #[command(long_about = commands::login_link::LONG_ABOUT, after_help = commands::login_link::EXAMPLES)]
    LoginLink(commands::login_link::LoginLinkArgs),
    /// Print the reminders recorded for a student, a parent's children or everyone.
    #[command(long_about = commands::history::LONG_ABOUT, after_help = commands::history::EXAMPLES)]
    History(commands::history::HistoryArgs),
    /// Print counts of the reminder log: sent today, over the last days and by kind, failed.
    #[command(long_about = commands::stats::LONG_ABOUT, after_help = commands::stats::EXAMPLES)]
    Stats(commands::stats::StatsArgs),
    /// Write a realistic synthetic school as a scenario file, to try rappels at scale.
    #[command(long_about = commands::gen_scenario::LONG_ABOUT, after_help = commands::gen_scenario::EXAMPLES)]
    GenScenario(commands::gen_scenario::GenScenarioArgs),
}

/// The log target whose messages may quote a database URL's secrets.
const SILENCED_URL_WARNINGS: &str = "sqlx_postgres::options=error";

fn init_logging(cli: &Cli) {
    // handlebars logs every value it renders at debug level: a run of a thousand reminders
    // would drown what `-v` is for. `RAPPELS_LOG=handlebars=debug` still shows it.
    let directives = match (cli.quiet, cli.verbose) {
        (true, _) => "error",
        (false, 0) => "info",
        (false, 1) => "debug,handlebars=info",
        (false, _) => "trace,handlebars=info",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("RAPPELS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(directives))
        // sqlx warns of a URL parameter it does not know with the parameter's value, which
        // may be a password (`?sslpassword=…`, or a misspelt `?pasword=…`): never shown.
        .add_directive(SILENCED_URL_WARNINGS.parse().expect("a valid directive"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colours only on a terminal: cron mails and log files get plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    match cli.log_format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// The `rappels` command: parses the arguments, runs the command, and says how it ended.
pub fn main() -> ExitCode {
    let cli = Cli::try_parse().unwrap_or_else(|error| {
        // clap does not say which argument is not UTF-8 (or, for one that starts with '-',
        // reads it as an option and shows it mangled): name it, and the option before it.
        if std::env::args_os().any(|arg| arg.to_str().is_none()) {
            eprintln!("{}", args::not_utf8(std::env::args_os()));
        }
        error.exit()
    });
    init_logging(&cli);
    let config = match config::named_file(cli.config.clone()) {
        Ok(config) => config,
        Err(failure) => {
            eprintln!("error: {failure}");
            return failure.exit_code();
        }
    };
    let config = config.as_deref();
    // Commands that read the configuration load it first, so that a mistake in the file is
    // reported before anything else happens. `demo` and `plan --scenario` read none: their
    // input is whole in themselves; `init` writes the file and `doctor` reports on it.
    let configured = || config::Config::load(config);
    let result = match cli.command {
        Command::Demo(args) => commands::demo::run(args, cli.verbose > 0),
        Command::Init(args) => commands::init::run(args, config),
        Command::Plan(args) => commands::plan::run(args, config),
        Command::Migrate(args) => configured().and_then(|c| commands::migrate::run(args, &c)),
        Command::Settings(args) => configured().and_then(|c| commands::settings::run(args, &c)),
        Command::Import(args) => {
            configured().and_then(|c| commands::import::run(args, &c, cli.quiet))
        }
        Command::Ingest(args) => {
            configured().and_then(|c| commands::ingest::run(args, &c, cli.quiet))
        }
        Command::Run(args) => configured().and_then(|c| commands::run::run(args, &c, cli.quiet)),
        Command::Remind(args) => configured().and_then(|c| commands::remind::run(args, &c)),
        Command::Explain(args) => configured().and_then(|c| commands::explain::run(args, &c)),
        Command::ScheduleSessions(args) => {
            configured().and_then(|c| commands::schedule_sessions::run(args, &c))
        }
        Command::Cron(args) => commands::cron::run(args, config),
        Command::Daemon(args) => configured().and_then(|c| commands::daemon::run(args, &c)),
        Command::Doctor(args) => commands::doctor::run(args, config),
        Command::TestEmail(args) => configured().and_then(|c| commands::test_email::run(args, &c)),
        Command::Unsubscribe(args) => {
            configured().and_then(|c| commands::unsubscribe::run(args, &c))
        }
        Command::LoginLink(args) => configured().and_then(|c| commands::login_link::run(args, &c)),
        Command::History(args) => configured().and_then(|c| commands::history::run(args, &c)),
        Command::Stats(args) => configured().and_then(|c| commands::stats::run(args, &c)),
        Command::GenScenario(args) => commands::gen_scenario::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("error: {failure}");
            failure.exit_code()
        }
    }
}
