//! `rappels`: plan, send and inspect the reminders of a tutoring platform.

mod commands;
mod database;
mod failure;
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
}

fn init_logging(cli: &Cli) {
    let level = match (cli.quiet, cli.verbose) {
        (true, _) => "error",
        (false, 0) => "info",
        (false, 1) => "debug",
        (false, _) => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("RAPPELS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
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
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("error: {failure}");
            failure.exit_code()
        }
    }
}
