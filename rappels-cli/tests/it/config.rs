//! `rappels init` and `rappels.toml`: a real installation from its first command, the file
//! under the environment, its settings and templates reaching what is sent, and the secrets
//! it refuses.

use std::path::PathBuf;
use std::process::Output;

use serde_json::Value;
use tempfile::TempDir;

use crate::fixture;
use crate::support::{TestDb, cli, due_subjects, stderr, stdout, succeeded};

/// The instant of README's example: four reminders are due in the small school, among them
/// the eve reminders of Awa (Abidjan, 18:30Z) and Lucas (Paris, 17:30Z).
const AT: &str = "2026-11-26T18:45:00Z";

/// An installation folder holding `rappels.toml`.
struct Install {
    dir: TempDir,
}

impl Install {
    fn new() -> Install {
        Install {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("rappels.toml")
    }

    /// `rappels --config FOLDER/rappels.toml ARGS`, started in another folder, as cron does.
    fn rappels(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let elsewhere = tempfile::tempdir().unwrap();
        let mut cmd = cli();
        cmd.current_dir(elsewhere.path())
            .arg("--config")
            .arg(self.config())
            .args(args);
        for (name, value) in env {
            cmd.env(name, value);
        }
        cmd.output().unwrap()
    }

    /// Replaces `old` by `new` in the configuration file (which must hold `old`).
    fn edit(&self, old: &str, new: &str) {
        let text = std::fs::read_to_string(self.config()).unwrap();
        assert!(text.contains(old), "{old:?} in {text}");
        std::fs::write(self.config(), text.replacen(old, new, 1)).unwrap();
    }

    /// The `.eml` file of the eve reminder of session 100 in `folder`, which must be there.
    fn eve_message(&self, folder: &str) -> Vec<u8> {
        let eve = self
            .eml_files(folder)
            .into_iter()
            .find(|f| f.to_str().unwrap().contains("session_eve.1.100"))
            .expect("the eve reminder of session 100 was sent");
        std::fs::read(eve).unwrap()
    }

    fn eml_files(&self, folder: &str) -> Vec<PathBuf> {
        let Ok(entries) = std::fs::read_dir(self.dir.path().join(folder)) else {
            return Vec::new();
        };
        let mut files: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
        files.sort();
        files
    }
}

fn json(out: Output, what: &str) -> Value {
    let text = succeeded(out, what);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{what} printed {text}: {e}"))
}

/// Exit 2 with `message` on standard error.
fn refused(out: &Output, message: &str) {
    assert_eq!(out.status.code(), Some(2), "{}", stderr(out));
    assert!(
        stderr(out).contains(message),
        "{message:?} in {}",
        stderr(out)
    );
}

/// The README's real setup: `init`, `import`, `run --at`, then `history` and `stats` agree
/// with what was sent, all through the file `init` wrote.
fn init_import_run_history_and_stats_agree(db: &TestDb) {
    let install = Install::new();
    let out = install.rappels(&["init", "--database-url", &db.url], &[]);
    let text = succeeded(out, "init");
    assert!(text.contains("created and migrated"), "{text}");
    install.edit(
        "mailer = \"file:rappels-outbox\"",
        "mailer = \"file:outbox\"",
    );
    let school = fixture("school.json");
    succeeded(
        install.rappels(&["import", school.to_str().unwrap()], &[]),
        "import",
    );
    let summary = json(
        install.rappels(&["run", "--at", AT, "--format", "json"], &[]),
        "run",
    );
    assert_eq!(summary["sent"], 4, "{summary}");
    // The mailer of the file, relative to the file's folder, not to where rappels ran.
    let files = install.eml_files("outbox");
    assert_eq!(files.len(), 4, "{files:?}");

    let history = json(
        install.rappels(&["history", "--as", "admin", "--format", "json"], &[]),
        "history",
    );
    let lines = history.as_array().unwrap();
    assert_eq!(lines.len(), 4, "{history}");
    assert!(lines.iter().all(|l| l["status"] == "sent"), "{history}");
    let mut keys: Vec<String> = lines
        .iter()
        .map(|l| l["key"].as_str().unwrap().replace(':', "."))
        .collect();
    keys.sort();
    let mut named: Vec<String> = files
        .iter()
        .map(|f| {
            let name = f.file_name().unwrap().to_str().unwrap();
            name.split('@').next().unwrap().to_owned()
        })
        .collect();
    named.sort();
    assert_eq!(keys, named, "each sent reminder has its .eml file");

    let stats = json(
        install.rappels(&["stats", "--days", "36500", "--format", "json"], &[]),
        "stats",
    );
    assert_eq!(stats["sent_in_period"], 4, "{stats}");
    assert_eq!(stats["failed"], 0, "{stats}");
}
on_both!(init_import_run_history_and_stats_agree: a_real_setup_agrees_on_sqlite, a_real_setup_agrees_on_postgres);

#[test]
fn init_puts_the_database_beside_the_file_and_keeps_an_existing_file() {
    let install = Install::new();
    let text = succeeded(install.rappels(&["init"], &[]), "init");
    let db = install.dir.path().join("rappels.db");
    assert!(db.is_file(), "{text}");
    assert!(
        text.contains(&format!("wrote {}", install.config().display())),
        "{text}"
    );
    let written = std::fs::read_to_string(install.config()).unwrap();
    assert!(
        written.contains("database_url = \"sqlite://rappels.db\""),
        "{written}"
    );
    assert!(written.contains("RAPPELS_SMTP_PASSWORD"), "{written}");
    // A second init keeps the file, and says how to replace it.
    std::fs::write(install.config(), "# mine\n").unwrap();
    let out = install.rappels(&["init"], &[]);
    refused(&out, "exists already: edit it, or give --force");
    assert_eq!(
        std::fs::read_to_string(install.config()).unwrap(),
        "# mine\n"
    );
    succeeded(install.rappels(&["init", "--force"], &[]), "init --force");
    assert_eq!(std::fs::read_to_string(install.config()).unwrap(), written);
    // The database is ready for a run: migrated, with settings, and empty.
    let summary = json(
        install.rappels(&["run", "--at", AT, "--format", "json"], &[]),
        "run on an empty school",
    );
    assert_eq!(summary["planned"], 0, "{summary}");
}

#[test]
fn init_creates_the_database_the_environment_names() {
    let install = Install::new();
    let elsewhere = tempfile::tempdir().unwrap();
    let db = elsewhere.path().join("from-env.db");
    let url = format!("sqlite://{}", db.display());
    let text = succeeded(
        install.rappels(&["init"], &[("RAPPELS_DATABASE_URL", &url)]),
        "init with RAPPELS_DATABASE_URL",
    );
    assert!(
        text.contains(&format!("created and migrated {url}")),
        "{text}"
    );
    assert!(db.is_file());
    // The file keeps the default: the variable may hold a password, and wins anyway.
    assert!(!install.dir.path().join("rappels.db").exists());
    let written = std::fs::read_to_string(install.config()).unwrap();
    assert!(
        written.contains("database_url = \"sqlite://rappels.db\""),
        "{written}"
    );
    let summary = json(
        install.rappels(
            &["run", "--at", AT, "--format", "json"],
            &[("RAPPELS_DATABASE_URL", &url)],
        ),
        "run on the database of the environment",
    );
    assert_eq!(summary["planned"], 0, "{summary}");
}

#[test]
fn a_failed_init_writes_no_file() {
    let install = Install::new();
    // A folder where the database file should be: SQLite cannot open it.
    std::fs::create_dir(install.dir.path().join("rappels.db")).unwrap();
    let out = install.rappels(&["init"], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(!install.config().exists());
    let out = install.rappels(
        &[
            "init",
            "--database-url",
            "postgres://app:s3cret@127.0.0.1/rappels",
        ],
        &[],
    );
    refused(&out, "--database-url holds a password");
    assert!(!stderr(&out).contains("s3cret"), "{}", stderr(&out));
    assert!(!install.config().exists());
}

/// The small school imported into a fresh installation whose file sets `settings`.
fn school_with(settings: &str) -> Install {
    let install = Install::new();
    succeeded(install.rappels(&["init"], &[]), "init");
    install.edit("[settings]\n", &format!("[settings]\n{settings}\n"));
    let school = fixture("school.json");
    succeeded(
        install.rappels(&["import", school.to_str().unwrap()], &[]),
        "import",
    );
    install
}

/// The students with an eve reminder due, in order.
fn eve_students(plan: &Value) -> Vec<u64> {
    let mut students: Vec<u64> = plan["due"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["kind"] == "session_eve")
        .map(|d| d["student_id"].as_u64().unwrap())
        .collect();
    students.sort_unstable();
    students
}

#[test]
fn the_database_owns_the_settings_and_the_configuration_is_applied_on_purpose() {
    // At 18:45Z, a 19:00 eve reminder is due in Paris (18:00Z) but not yet in Abidjan.
    // `import` applies the file's settings over the export's.
    let install = school_with("session_eve_time = \"19:00\"");
    let plan = json(
        install.rappels(&["plan", "--db", "--at", AT], &[]),
        "plan --db",
    );
    assert_eq!(eve_students(&plan), [2], "{plan}");
    // A runner whose configuration says otherwise refuses, names the key and the way out,
    // and writes nothing: the database's settings stay those in force.
    let eve_1830 = [("RAPPELS_SESSION_EVE_TIME", "18:30")];
    for command in [
        &["plan", "--db", "--at", AT][..],
        &["run", "--at", AT],
        &["stats"],
        &["history", "--as", "admin"],
    ] {
        let out = install.rappels(command, &eve_1830);
        refused(&out, "session_eve_time: \"19:00\" → \"18:30\"");
        refused(&out, "rappels settings apply");
    }
    let shown = succeeded(install.rappels(&["settings", "show"], &[]), "settings show");
    assert!(shown.contains("session_eve_time = \"19:00\"\n"), "{shown}");
    assert!(shown.contains("# the configuration agrees"), "{shown}");
    // Applied on purpose, the new hour is every runner's.
    let applied = succeeded(
        install.rappels(&["settings", "apply"], &eve_1830),
        "settings apply",
    );
    assert!(
        applied.contains("changed: session_eve_time: \"19:00\" → \"18:30\""),
        "{applied}"
    );
    let again = succeeded(
        install.rappels(&["settings", "apply"], &eve_1830),
        "settings apply again",
    );
    assert!(again.contains("nothing written"), "{again}");
    let plan = json(
        install.rappels(&["plan", "--db", "--at", AT], &eve_1830),
        "plan --db at 18:30",
    );
    assert_eq!(eve_students(&plan), [1, 2], "{plan}");
    // The file still says 19:00: without the variable, the runner now refuses.
    refused(
        &install.rappels(&["run", "--at", AT], &[]),
        "session_eve_time: \"18:30\" → \"19:00\"",
    );
    let doctor = install.rappels(&["doctor"], &[]);
    assert!(
        stdout(&doctor).contains("FAIL settings: sessions at 18:30 (eve)")
            && stdout(&doctor).contains("the configuration differs"),
        "{}",
        stdout(&doctor)
    );
    // Once the key leaves the file, the runner plans with the database's settings.
    install.edit("session_eve_time = \"19:00\"", "");
    let summary = json(
        install.rappels(&["run", "--at", AT, "--format", "json"], &[]),
        "run",
    );
    assert_eq!(summary["sent"], 4, "{summary}");
    let doctor = succeeded(install.rappels(&["doctor"], &[]), "doctor");
    assert!(
        doctor.contains("ok   settings: sessions at 18:30 (eve)"),
        "{doctor}"
    );
}

#[test]
fn a_new_default_zone_moves_the_students_who_follow_it() {
    // Lucas follows the default zone. From Abidjan, his 18:30 eve reminder is due at 18:30Z
    // rather than 17:30Z: at 18:00Z it is not due yet.
    let install = school_with("");
    let at = "2026-11-26T18:00:00Z";
    let plan = json(install.rappels(&["plan", "--db", "--at", at], &[]), "plan");
    assert_eq!(eve_students(&plan), [2], "{plan}");
    let abidjan = [("RAPPELS_TIMEZONE", "Africa/Abidjan")];
    succeeded(
        install.rappels(&["settings", "apply"], &abidjan),
        "settings apply",
    );
    let plan = json(
        install.rappels(&["plan", "--db", "--at", at], &abidjan),
        "plan in Abidjan",
    );
    assert!(eve_students(&plan).is_empty(), "{plan}");
}

/// A `site_url` that would add a second address to `List-Unsubscribe` (or is no web address)
/// is a configuration error naming the key, from the file or the environment, before any
/// message is sent.
#[test]
fn a_site_url_unsafe_in_headers_is_refused_by_name() {
    let install = Install::new();
    let evil = "https://a.org/>,<mailto:x@evil.org?";
    std::fs::write(
        install.config(),
        format!("mailer = \"stdout\"\nsite_url = \"{evil}\"\n"),
    )
    .unwrap();
    let out = install.rappels(&["run", "--at", AT], &[]);
    refused(&out, &format!("rappels.toml: site_url: {evil:?} is not"));
    assert!(stdout(&out).is_empty());
    std::fs::write(install.config(), "mailer = \"stdout\"\n").unwrap();
    let out = install.rappels(
        &["run", "--at", AT],
        &[("RAPPELS_SITE_URL", "mailto:x@evil.org")],
    );
    refused(&out, "RAPPELS_SITE_URL: \"mailto:x@evil.org\" is not");
}

#[test]
fn mistakes_and_secrets_in_the_file_are_refused_by_name() {
    let install = Install::new();
    for (text, message) in [
        (
            "[smtp]\npassword = \"hunter2\"\n",
            "rappels.toml: smtp.password: secrets are not read from the configuration file: set RAPPELS_SMTP_PASSWORD",
        ),
        (
            "database_url = \"postgres://app:hunter2@db/rappels\"\n",
            "rappels.toml: database_url: the URL holds a password",
        ),
        (
            "database_url = \"postgres://app@db/rappels?sslmode=require&password=hunter2\"\n",
            "rappels.toml: database_url: the URL holds a password",
        ),
        ("mailr = \"stdout\"\n", "rappels.toml: mailr: unknown key"),
        (
            "[settings]\ngrace_minutes = 0\n",
            "rappels.toml: settings.grace_minutes: grace_minutes must be an integer from 1 to 1440",
        ),
        (
            "[smtp]\nport = \"smtp\"\nhost = \"h\"\n",
            "rappels.toml: smtp.port: \"smtp\" is not a port number",
        ),
    ] {
        std::fs::write(install.config(), format!("mailer = \"smtp\"\n{text}")).unwrap();
        let out = install.rappels(&["run", "--at", AT], &[]);
        refused(&out, message);
        assert!(!stderr(&out).contains("hunter2"), "{}", stderr(&out));
        assert!(stdout(&out).is_empty());
    }
    // The environment overrides a bad value of the file.
    std::fs::write(install.config(), "[smtp]\nport = \"smtp\"\n").unwrap();
    let out = install.rappels(
        &["run", "--at", AT],
        &[
            ("RAPPELS_MAILER", "smtp"),
            ("RAPPELS_SMTP_HOST", "h"),
            ("RAPPELS_SMTP_PORT", "x"),
        ],
    );
    refused(&out, "RAPPELS_SMTP_PORT: \"x\" is not a port number");
    // A file named but missing is an error, not a silent default.
    let missing = install.dir.path().join("nope.toml");
    let out = cli()
        .env("RAPPELS_CONFIG", &missing)
        .args(["run", "--at", AT])
        .output()
        .unwrap();
    refused(
        &out,
        &format!("cannot read the configuration {}", missing.display()),
    );
    // A blank variable names no file, as a blank value means "unset" everywhere.
    let empty = tempfile::tempdir().unwrap();
    let out = cli()
        .current_dir(empty.path())
        .env("RAPPELS_CONFIG", "")
        .args(["cron"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn the_doctor_reports_an_invalid_file_and_checks_no_database_it_cannot_name() {
    let install = Install::new();
    std::fs::write(install.config(), "mailr = \"stdout\"\n").unwrap();
    let out = install.rappels(&["doctor"], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("FAIL configuration: ") && lines[0].contains("mailr: unknown key"),
        "{text}"
    );
    let database: Vec<&&str> = lines.iter().filter(|l| l.contains(" database: ")).collect();
    assert_eq!(
        database,
        [&"skip database: the configuration is invalid, so the database it names is unknown"],
        "{text}"
    );
    assert!(
        text.contains("skip settings: no database was checked"),
        "{text}"
    );
    assert!(
        text.contains("ok   templates: "),
        "the other checks still ran: {text}"
    );
}

#[test]
fn database_passwords_never_reach_errors_or_the_doctor() {
    // Port 9 on loopback: nothing listens, so every command fails to connect and says so.
    for url in [
        "postgres://app@127.0.0.1:9/rappels?password=hunter2",
        "postgres://app@127.0.0.1:9/rappels?sslpassword=hunter2&sslmode=require",
        "postgres://app:PW@hunter2@127.0.0.1:9/rappels",
        "postgres://app:hunter2@[not-a-host/rappels",
    ] {
        for args in [
            &["history", "--as", "student:1"][..],
            &["plan", "--db", "--at", AT][..],
            &["doctor"][..],
        ] {
            let out = cli()
                .env("RAPPELS_DATABASE_URL", url)
                .env("RAPPELS_LOG", "debug")
                .args(args)
                .output()
                .unwrap();
            assert!(!out.status.success(), "{args:?} with {url}");
            let all = format!("{}{}", stdout(&out), stderr(&out));
            assert!(!all.contains("hunter2"), "{args:?} with {url}: {all}");
            assert!(
                all.contains("postgres://"),
                "the scheme is still named: {all}"
            );
        }
    }
}

#[test]
fn plan_from_a_scenario_reads_no_configuration() {
    let install = Install::new();
    std::fs::write(install.config(), "this is not TOML").unwrap();
    let school = fixture("school.json");
    let out = install.rappels(
        &["plan", "--scenario", school.to_str().unwrap(), "--at", AT],
        &[],
    );
    let plan: Value = serde_json::from_str(&succeeded(out, "plan --scenario")).unwrap();
    assert_eq!(plan["due"].as_array().unwrap().len(), 4, "{plan}");
    let out = install.rappels(&["plan", "--db", "--at", AT], &[]);
    refused(&out, "invalid configuration");
}

/// A template folder: each file replaces the shipped template of that name.
fn templates(install: &Install, files: &[(&str, &str)]) {
    let folder = install.dir.path().join("templates");
    std::fs::create_dir_all(&folder).unwrap();
    for (name, text) in files {
        std::fs::write(folder.join(name), text).unwrap();
    }
    std::fs::write(folder.join("README.txt"), "not a template").unwrap();
}

#[test]
fn the_templates_folder_replaces_shipped_templates() {
    let install = school_with("");
    install.edit("# templates = \"templates\"", "templates = \"templates\"");
    install.edit(
        "mailer = \"file:rappels-outbox\"",
        "mailer = \"file:outbox\"",
    );
    templates(
        &install,
        &[(
            "session_eve.fr.subject.hbs",
            "Rappel école : {{session.subject}} demain à {{session.time}}",
        )],
    );
    let plan = json(
        install.rappels(&["plan", "--db", "--at", AT], &[]),
        "plan --db",
    );
    let subjects = due_subjects(&plan);
    assert!(
        subjects.contains(&"Rappel école : Mathématiques demain à 14:00"),
        "{subjects:?}"
    );
    succeeded(install.rappels(&["run", "--at", AT], &[]), "run");
    let raw = install.eve_message("outbox");
    let message = mailparse::parse_mail(&raw).unwrap();
    use mailparse::MailHeaderMap;
    assert_eq!(
        message.headers.get_first_value("Subject").as_deref(),
        Some("Rappel école : Mathématiques demain à 14:00")
    );
    let doctor = succeeded(install.rappels(&["doctor"], &[]), "doctor");
    assert!(
        doctor.contains("ok   templates: 40 parse (with the overrides of"),
        "{doctor}"
    );

    // A misnamed template is refused, with its name, before anything is sent.
    templates(&install, &[("sesion_eve.fr.subject.hbs", "x")]);
    let out = install.rappels(&["run", "--at", "2026-11-27T07:15:00Z"], &[]);
    refused(&out, "sesion_eve.fr.subject.hbs");
    let out = install.rappels(&["doctor"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("FAIL templates: "),
        "{}",
        stdout(&out)
    );
}

#[test]
fn cron_lines_name_the_configuration_file() {
    let install = Install::new();
    std::fs::write(install.config(), "").unwrap();
    let text = succeeded(install.rappels(&["cron"], &[]), "cron");
    assert!(
        text.contains(&format!(
            "\nRAPPELS_CONFIG={}\n",
            install.config().display()
        )),
        "{text}"
    );
    // Without a file, no such line: the jobs would look for one that is not there.
    let bare = tempfile::tempdir().unwrap();
    let text = succeeded(
        cli().current_dir(bare.path()).arg("cron").output().unwrap(),
        "cron without a file",
    );
    assert!(!text.contains("\nRAPPELS_CONFIG="), "{text}");
}

#[test]
fn the_platform_name_and_the_session_link_come_from_the_configuration() {
    let install = school_with("");
    install.edit(
        "platform_name = \"MyKarfour\"",
        "platform_name = \"École Horizon\"",
    );
    install.edit(
        "session_link = \"{{site_url}}/sessions/{{session_id}}/chat\"",
        "session_link = \"{{site_url}}/salle/{{session_id}}?eleve={{student_id}}\"",
    );
    install.edit(
        "mailer = \"file:rappels-outbox\"",
        "mailer = \"file:outbox\"",
    );
    succeeded(install.rappels(&["run", "--at", AT], &[]), "run");
    let raw = install.eve_message("outbox");
    let message = mailparse::parse_mail(&raw).unwrap();
    let text = message.subparts[0].get_body().unwrap();
    assert!(text.contains("École Horizon"), "{text}");
    assert!(!text.contains("MyKarfour"), "{text}");
    assert!(text.contains("/salle/100?eleve=1"), "{text}");

    // A pattern that cannot render is refused by name before anything is sent.
    install.edit("{{session_id}}?eleve", "{{sesion_id}}?eleve");
    let out = install.rappels(&["run", "--at", "2026-11-27T07:15:00Z"], &[]);
    refused(&out, "rappels.toml: session_link: cannot render");
    let out = install.rappels(
        &["run", "--at", "2026-11-27T07:15:00Z"],
        &[("RAPPELS_PLATFORM_NAME", "two\nlines")],
    );
    refused(&out, "RAPPELS_PLATFORM_NAME: ");
}
