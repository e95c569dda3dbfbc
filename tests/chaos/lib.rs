//! Nothing here: the chaos suite is the test target `chaos` (`chaos/main.rs`), which drives
//! the `rappels` binary as a user's cron would. See README.md, "Guarantees".
