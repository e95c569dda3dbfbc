//! SQLite database URLs made from paths: `rappels demo`'s database, `rappels cron`'s
//! default, and the relative paths of `rappels.toml`, which are relative to the file.

use std::path::Path;

use crate::failure::Failure;

/// A path as it may follow `sqlite://`: the characters the SQLite URL parser decodes (`%`)
/// or splits on (`?`, `#`) escaped, so any folder name works.
fn escape_path(path: &str) -> String {
    path.replace('%', "%25")
        .replace('?', "%3F")
        .replace('#', "%23")
}

/// `sqlite://PATH` for the file at `path`, which must be UTF-8.
pub(crate) fn sqlite_url(path: &Path) -> Result<String, Failure> {
    let path = path.to_str().ok_or_else(|| {
        Failure::invalid(format_args!(
            "{}: the path is not valid UTF-8",
            path.display()
        ))
    })?;
    Ok(format!("sqlite://{}", escape_path(path)))
}

/// A relative SQLite path in the file is relative to the file's folder, so that a crontab
/// started in `$HOME` with `RAPPELS_CONFIG=/srv/school/rappels.toml` finds the database
/// beside the file. Other URLs are returned as they are.
pub(crate) fn relative_sqlite_url(folder: &Path, url: &str) -> String {
    if folder.as_os_str().is_empty() {
        return url.to_owned();
    }
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"));
    match rest {
        Some(path) if !path.starts_with('/') && !path.starts_with(":memory:") => {
            let folder = escape_path(&folder.display().to_string());
            format!("sqlite://{}/{path}", folder.trim_end_matches('/'))
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_escape_what_the_parser_decodes() {
        assert_eq!(
            sqlite_url(Path::new("rappels-demo/rappels-demo.db")).unwrap(),
            "sqlite://rappels-demo/rappels-demo.db"
        );
        assert_eq!(
            sqlite_url(Path::new("/tmp/a b?%#/x.db")).unwrap(),
            "sqlite:///tmp/a b%3F%25%23/x.db"
        );
    }

    #[test]
    fn relative_paths_follow_the_file() {
        let folder = Path::new("/srv/100%/school");
        assert_eq!(
            relative_sqlite_url(folder, "sqlite://rappels.db"),
            "sqlite:///srv/100%25/school/rappels.db"
        );
        assert_eq!(
            relative_sqlite_url(folder, "sqlite:///var/rappels.db"),
            "sqlite:///var/rappels.db"
        );
        assert_eq!(
            relative_sqlite_url(folder, "postgres://app@db/rappels"),
            "postgres://app@db/rappels"
        );
        assert_eq!(
            relative_sqlite_url(Path::new(""), "sqlite://rappels.db"),
            "sqlite://rappels.db"
        );
    }
}
