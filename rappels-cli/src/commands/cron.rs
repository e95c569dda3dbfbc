//! `rappels cron`: the crontab lines, or the systemd service and timer units, that start
//! `rappels run` every five minutes and `rappels schedule-sessions` every night.
//!
//! The original system shipped a crontab line and a Windows script that overlapped, lost
//! their output and broke on paths with spaces. Here every path is absolute and quoted for
//! the program that reads it (`sh` behind cron, systemd's own rules for `ExecStart=`), runs
//! never pile up (`flock -n`; systemd never starts a service that is still running), output
//! goes to a log or the journal, and no secret is ever written into the output.

use std::path::{Path, PathBuf};

use clap::Args;

use crate::failure::Failure;
use crate::shell::{checked, checked_path, cron_word, systemd_program};
use crate::urls::sqlite_url;

pub(crate) const LONG_ABOUT: &str = "\
Print what a server needs to send reminders on its own: `rappels run` every 5 minutes and \
`rappels schedule-sessions --days 14` every night at 02:15. Nothing is installed; the \
output says how.

By default, crontab lines: each job runs under `flock -n`, so a run still busy when the next \
one is due makes that one skip instead of piling up, and both append their output to one \
log file. The configuration variables are listed as comments to fill in.

With --systemd, a service and a timer for each job (rappels-run.service and .timer, \
rappels-schedule-sessions.service and .timer), separated by `# --- file: NAME ---` lines, \
with install instructions. The timers are Persistent=true: a job missed while the machine \
was off runs when it is back. The services read their configuration from \
/etc/rappels/env and log to the journal.

Paths are made absolute and quoted as the shell (crontab) or systemd (ExecStart=) expects, \
spaces and all. No password or secret is ever printed: variables appear with placeholder \
values.";

pub(crate) const EXAMPLES: &str = "\
Examples:
  rappels cron                                   # crontab lines for this binary
  rappels cron --log /var/log/rappels/rappels.log --lock /run/lock/rappels.lock
  rappels cron > rappels.cron && crontab rappels.cron    # replaces your whole crontab
  rappels cron --systemd --binary /usr/local/bin/rappels";

#[derive(Debug, Args)]
pub(crate) struct CronArgs {
    /// Print systemd service and timer units instead of crontab lines.
    #[arg(long)]
    systemd: bool,
    /// The rappels program the jobs start (default: this one).
    #[arg(long, value_name = "PATH")]
    binary: Option<PathBuf>,
    /// The log file both jobs append to (crontab only; default: rappels.log in the current
    /// folder).
    #[arg(long, value_name = "FILE", conflicts_with = "systemd")]
    log: Option<PathBuf>,
    /// The lock file of `run` (crontab only; default: rappels.lock in the current folder).
    /// `schedule-sessions` locks a file next to it, named with `-schedule-sessions` before
    /// the extension.
    #[arg(long, value_name = "FILE", conflicts_with = "systemd")]
    lock: Option<PathBuf>,
}

/// Where the systemd units read their configuration.
const ENVIRONMENT_FILE: &str = "/etc/rappels/env";
/// The system user of the units, and its state directory (`StateDirectory=rappels`), where
/// the default `sqlite://rappels.db` and `file:rappels-outbox` land.
const SERVICE_USER: &str = "rappels";
const STATE_DIR: &str = "/var/lib/rappels";

/// `config` is the configuration file named by `--config` or `RAPPELS_CONFIG`; without one,
/// `./rappels.toml` when it exists. The crontab names it, absolute, so jobs started in the
/// home folder read the same file.
pub(crate) fn run(args: CronArgs, config: Option<&Path>) -> Result<(), Failure> {
    let config = crate::config::file_in_use(config)
        .map(|path| absolute(&path, "--config"))
        .transpose()?;
    let binary = match args.binary {
        Some(path) => absolute(&path, "--binary")?,
        None => std::env::current_exe().map_err(|e| {
            Failure::Failed(anyhow::anyhow!(
                "cannot tell where this program is ({e}): give it with --binary"
            ))
        })?,
    };
    let binary = checked_path(&binary, "--binary")?;
    let text = if args.systemd {
        systemd_units(&binary)?
    } else {
        let here = std::env::current_dir()
            .map_err(|e| Failure::Failed(anyhow::anyhow!("cannot read the current folder: {e}")))?;
        let log = match args.log {
            Some(path) => absolute(&path, "--log")?,
            None => here.join("rappels.log"),
        };
        let lock = match args.lock {
            Some(path) => absolute(&path, "--lock")?,
            None => here.join("rappels.lock"),
        };
        let schedule_lock = sibling_lock(&lock, "schedule-sessions");
        crontab(&CronPaths {
            config: config
                .as_deref()
                .map(|path| checked_path(path, "--config"))
                .transpose()?,
            binary,
            log: checked_path(&log, "--log")?,
            lock: checked_path(&lock, "--lock")?,
            schedule_lock: checked_path(&schedule_lock, "--lock")?,
            database_url: checked(&sqlite_url(&here.join("rappels.db"))?, "the current folder")?,
        })
    };
    crate::output::emit(&text)
}

/// `path` made absolute against the current folder: cron and systemd start jobs elsewhere.
fn absolute(path: &Path, what: &str) -> Result<PathBuf, Failure> {
    std::path::absolute(path)
        .map_err(|e| Failure::invalid(format_args!("{what} {}: {e}", path.display())))
}

/// The lock of another job next to `lock`: `rappels.lock` → `rappels-schedule-sessions.lock`.
fn sibling_lock(lock: &Path, job: &str) -> PathBuf {
    let stem = lock
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = match lock.extension() {
        Some(ext) => format!("{stem}-{job}.{}", ext.to_string_lossy()),
        None => format!("{stem}-{job}"),
    };
    lock.with_file_name(name)
}

/// What the crontab lines name.
struct CronPaths {
    /// The configuration file, if one is in use.
    config: Option<String>,
    binary: String,
    log: String,
    lock: String,
    schedule_lock: String,
    /// The default database, made absolute (cron starts jobs in the home folder).
    database_url: String,
}

fn crontab(paths: &CronPaths) -> String {
    let bin = cron_word(&paths.binary);
    let log = cron_word(&paths.log);
    let mut out = String::from(
        "\
# rappels: crontab entries, printed by `rappels cron`.
#
# Every 5 minutes, `rappels run` sends the reminders that are due. Every night at 02:15
# (this machine's time), `rappels schedule-sessions` creates the next 14 days of sessions
# from the study plans. `flock -n` makes a job skip its turn while the previous one still
# holds its lock, so slow runs never pile up (overlapping runs would be safe, only
# wasteful). Both jobs append to one log file: rotate it, e.g. with logrotate's
# copytruncate.
#
# Install: `crontab -e` and paste these lines, or save them to a file and
# `crontab FILE` (which replaces your whole crontab). `crontab -l` shows what is installed.
#
# cron starts jobs in your home folder with almost no environment. Set the configuration
# below: remove the leading \"# \" and fill in the values (cron expands no $VARIABLE in
# them). The database line names rappels.db in the folder this was printed in; without
# it, jobs use ~/rappels.db. The password and the secret are readable by whoever can read
# your crontab: keep them out of shared accounts.
",
    );
    if let Some(config) = &paths.config {
        // Not a secret (the file refuses them), so written out: jobs read the same file as
        // the command that printed these lines.
        out.push_str(&format!(
            "#\n# The configuration file; the variables below override its keys.\nRAPPELS_CONFIG={config}\n"
        ));
    }
    out.push_str(&format!("# RAPPELS_DATABASE_URL={}\n", paths.database_url));
    for (name, example) in crate::variables::placeholders() {
        out.push_str(&format!("# {name}={example}\n"));
    }
    out.push_str(&format!(
        "\n*/5 * * * * flock -n {} {bin} run >> {log} 2>&1\n",
        cron_word(&paths.lock)
    ));
    out.push_str(&format!(
        "15 2 * * * flock -n {} {bin} schedule-sessions --days 14 >> {log} 2>&1\n",
        cron_word(&paths.schedule_lock)
    ));
    out
}

/// One job's systemd pair.
struct Job {
    name: &'static str,
    description: &'static str,
    arguments: &'static str,
    /// How long a start may take before systemd stops it (oneshot services have no limit by
    /// default, and a hung job would block every later one).
    timeout: &'static str,
    calendar: &'static str,
    schedule: &'static str,
}

const JOBS: [Job; 2] = [
    Job {
        name: "rappels-run",
        description: "rappels: send the study reminders that are due",
        arguments: "run",
        timeout: "15min",
        calendar: "*:0/5",
        schedule: "every 5 minutes",
    },
    Job {
        name: "rappels-schedule-sessions",
        description: "rappels: create the next 14 days of sessions from the study plans",
        arguments: "schedule-sessions --days 14",
        timeout: "1h",
        calendar: "*-*-* 02:15:00",
        schedule: "every night at 02:15",
    },
];

fn systemd_units(binary: &str) -> Result<String, Failure> {
    let mut out = format!(
        "\
# rappels: systemd units, printed by `rappels cron --systemd`.
#
# rappels-run.timer starts rappels-run.service every 5 minutes: `rappels run` sends the
# reminders that are due. rappels-schedule-sessions.timer starts
# rappels-schedule-sessions.service every night at 02:15: `rappels schedule-sessions`
# creates the next 14 days of sessions from the study plans. Persistent=true runs a job
# missed while the machine was off as soon as it is back; systemd never starts a service
# that is still running, so runs cannot pile up. Output goes to the journal.
#
# Install, as root:
#   1. Create the user the jobs run as (its folder, {STATE_DIR}, is made by systemd and
#      holds the default SQLite database, rappels.db):
#        useradd --system --home-dir {STATE_DIR} --shell /usr/sbin/nologin {SERVICE_USER}
#   2. Save each file below, from its \"# --- file: NAME ---\" line to the next, as
#      /etc/systemd/system/NAME; for instance:
#        rappels cron --systemd | awk '/^# --- file: /{{f=\"/etc/systemd/system/\" $4}} f{{print > f}}'
#   3. Write the configuration to {ENVIRONMENT_FILE}, one VAR=value per line, and make it
#      private: chmod 600, owned by root (systemd reads it before switching user):
"
    );
    out.push_str(&format!(
        "#        RAPPELS_CONFIG=/etc/rappels/rappels.toml   # optional: `rappels init` writes one\n\
         #        RAPPELS_DATABASE_URL=sqlite://{STATE_DIR}/rappels.db\n"
    ));
    for (name, example) in crate::variables::placeholders() {
        out.push_str(&format!("#        {name}={example}\n"));
    }
    out.push_str(
        "\
#   4. systemctl daemon-reload
#      systemctl enable --now rappels-run.timer rappels-schedule-sessions.timer
#   5. Check: systemctl list-timers 'rappels-*'
#             journalctl -u rappels-run.service -u rappels-schedule-sessions.service
",
    );
    if ["/home/", "/root/"].iter().any(|p| binary.starts_with(p)) {
        out.push_str(&format!(
            "#
# Note: {binary} is in a home folder, which the {SERVICE_USER} user usually cannot read.
# Install the program elsewhere (cargo install --path rappels-cli --root /usr/local) and
# print these units again with --binary /usr/local/bin/rappels.
"
        ));
    }
    let exec = systemd_program(binary)?;
    for job in &JOBS {
        out.push_str(&format!(
            "
# --- file: {name}.service ---
[Unit]
Description={description}
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
User={SERVICE_USER}
StateDirectory=rappels
WorkingDirectory={STATE_DIR}
EnvironmentFile=-{ENVIRONMENT_FILE}
ExecStart={exec} {arguments}
TimeoutStartSec={timeout}
NoNewPrivileges=yes
PrivateTmp=yes
ProtectSystem=full

# --- file: {name}.timer ---
[Unit]
Description=Start {name}.service {schedule}

[Timer]
OnCalendar={calendar}
Persistent=true
Unit={name}.service

[Install]
WantedBy=timers.target
",
            name = job.name,
            description = job.description,
            arguments = job.arguments,
            timeout = job.timeout,
            calendar = job.calendar,
            schedule = job.schedule,
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_lock_sits_next_to_the_run_lock() {
        assert_eq!(
            sibling_lock(Path::new("/run/lock/rappels.lock"), "schedule-sessions"),
            Path::new("/run/lock/rappels-schedule-sessions.lock")
        );
        assert_eq!(
            sibling_lock(Path::new("/tmp/lock"), "schedule-sessions"),
            Path::new("/tmp/lock-schedule-sessions")
        );
    }
}
