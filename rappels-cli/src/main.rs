//! `rappels`: plan, send and inspect the reminders of a tutoring platform.

fn main() -> std::process::ExitCode {
    rappels_cli::main()
}
