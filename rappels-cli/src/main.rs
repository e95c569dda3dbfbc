//! `rappels`: plan, send and inspect the reminders of a tutoring platform.

/// mimalloc rather than the system's allocator: a run hands rows and message bodies between
/// the sending thread and SQLite's, and glibc's malloc makes each such free take a lock and
/// consolidate another thread's arena (17 % of a delivery run's profile; see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    rappels_cli::main()
}
