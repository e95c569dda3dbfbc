//! Quoting for the programs that read what `rappels cron` and `rappels demo` print: `sh`
//! (behind cron and in the commands shown to the user) and systemd's `ExecStart=`.
//!
//! Every value that reaches a crontab or a unit goes through [`checked`] first: a line
//! break inside a value would end the line it is on and make the rest a line of its own —
//! in a crontab, a live job — so a control character is refused, whatever the quoting.

use std::path::Path;

use crate::failure::Failure;

/// `value` as text that may go into a crontab or a unit file: UTF-8 and free of control
/// characters, else an error naming `what` (the flag or the variable it came from).
pub(crate) fn checked(value: &str, what: &str) -> Result<String, Failure> {
    if value.chars().any(char::is_control) {
        return Err(Failure::invalid(format_args!(
            "{what} {value:?}: a value with a control character (a line break, a tab…) \
             cannot go into a crontab or a unit"
        )));
    }
    Ok(value.to_owned())
}

/// [`checked`] for a path, which must also be UTF-8.
pub(crate) fn checked_path(path: &Path, what: &str) -> Result<String, Failure> {
    let text = path.to_str().ok_or_else(|| {
        Failure::invalid(format_args!(
            "{what} {}: the path is not valid UTF-8",
            path.display()
        ))
    })?;
    checked(text, what)
}

/// A word for `sh`: as is when it holds only characters the shell never interprets,
/// otherwise in single quotes (a `'` inside becomes `'\''`).
pub(crate) fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./,:@+=%".contains(c));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// A word of a crontab command: quoted for `sh`, then with every `%` escaped, since cron
/// turns an unescaped `%` into a new line (and removes the `\` before an escaped one).
/// Only for text that went through [`checked`].
pub(crate) fn cron_word(word: &str) -> String {
    shell_word(word).replace('%', r"\%")
}

/// The program of `ExecStart=`: `%` doubled (systemd expands specifiers there, even inside
/// quotes), in double quotes when it holds white space. A `$` stays as is: systemd expands
/// variables in the arguments, not in the program's path. systemd refuses a program path
/// holding a quote or a backslash, whatever the escaping, so such a path is refused here.
pub(crate) fn systemd_program(path: &str) -> Result<String, Failure> {
    let path = checked(path, "--binary")?;
    if path.contains(['"', '\'', '\\']) {
        return Err(Failure::invalid(format_args!(
            "--binary {path}: systemd refuses a program path with a quote or a backslash; \
             install rappels elsewhere (such as /usr/local/bin/rappels) and give that path"
        )));
    }
    let word = path.replace('%', "%%");
    Ok(if word.contains(char::is_whitespace) {
        format!("\"{word}\"")
    } else {
        word
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_words_are_quoted_only_when_needed() {
        assert_eq!(
            shell_word("/usr/local/bin/rappels"),
            "/usr/local/bin/rappels"
        );
        assert_eq!(shell_word("/opt/my apps/rappels"), "'/opt/my apps/rappels'");
        assert_eq!(
            shell_word("/opt/l'école/rappels"),
            r"'/opt/l'\''école/rappels'"
        );
        assert_eq!(shell_word("$HOME/x"), "'$HOME/x'");
        assert_eq!(shell_word(""), "''");
    }

    #[test]
    fn cron_escapes_percent_signs() {
        assert_eq!(cron_word("/var/log/100%.log"), r"/var/log/100\%.log");
        assert_eq!(cron_word("/var/log/a b%.log"), r"'/var/log/a b\%.log'");
    }

    #[test]
    fn systemd_programs_double_specifiers_and_quote_spaces() {
        let program = |path| systemd_program(path).unwrap();
        assert_eq!(program("/usr/bin/rappels"), "/usr/bin/rappels");
        assert_eq!(program("/opt/my apps/rappels"), "\"/opt/my apps/rappels\"");
        assert_eq!(program("/opt/50%/$x"), "/opt/50%%/$x");
        assert!(systemd_program("/opt/l'école/rappels").is_err());
        assert!(systemd_program(r"/opt/a\b/rappels").is_err());
        assert!(systemd_program("/opt/a\nb/rappels").is_err());
    }

    #[test]
    fn control_characters_are_refused() {
        assert!(checked_path(Path::new("/tmp/a\nb"), "--log").is_err());
        assert!(checked("sqlite:///tmp/a\rb/rappels.db", "the database").is_err());
        assert!(checked("x\u{7f}", "x").is_err());
        assert_eq!(
            checked_path(Path::new("/tmp/a b"), "--log").unwrap(),
            "/tmp/a b"
        );
    }
}
