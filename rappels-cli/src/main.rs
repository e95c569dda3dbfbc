//! `rappels`: plan, send and inspect the reminders of a tutoring platform.

mod commands;
mod database;
mod failure;
mod mail;
mod output;

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
    /// Print the reminders due at an instant, and the refused manual requests.
    #[command(long_about = commands::plan::LONG_ABOUT, after_help = commands::plan::EXAMPLES)]
    Plan(commands::plan::PlanArgs),
    /// Create or upgrade the database schema.
    #[command(long_about = commands::migrate::LONG_ABOUT, after_help = commands::migrate::EXAMPLES)]
    Migrate(commands::migrate::MigrateArgs),
    /// Load a scenario file into the database, all or nothing.
    #[command(long_about = commands::import::LONG_ABOUT, after_help = commands::import::EXAMPLES)]
    Import(commands::import::ImportArgs),
    /// Plan, record and send the reminders that are due (run it from cron).
    #[command(long_about = commands::run::LONG_ABOUT, after_help = commands::run::after_help())]
    Run(commands::run::RunArgs),
    /// Send a test e-mail through the configured mailer.
    #[command(long_about = commands::test_email::LONG_ABOUT, after_help = commands::test_email::after_help())]
    TestEmail(commands::test_email::TestEmailArgs),
    /// Opt a student out of a family of reminders with an unsubscribe token.
    #[command(long_about = commands::unsubscribe::LONG_ABOUT, after_help = commands::unsubscribe::EXAMPLES)]
    Unsubscribe(commands::unsubscribe::UnsubscribeArgs),
}

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
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(directives));
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli);
    let result = match cli.command {
        Command::Plan(args) => commands::plan::run(args),
        Command::Migrate(args) => commands::migrate::run(args),
        Command::Import(args) => commands::import::run(args, cli.quiet),
        Command::Run(args) => commands::run::run(args),
        Command::TestEmail(args) => commands::test_email::run(args),
        Command::Unsubscribe(args) => commands::unsubscribe::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("error: {failure}");
            failure.exit_code()
        }
    }
}
