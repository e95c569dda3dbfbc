//! What a message shows: the data templates read, built only for the fields they read.

use super::*;

/// What templates can show. Fields of other kinds are left out rather than empty, so that
/// strict mode rejects, say, `{{session.subject}}` in a weekly template; so are values the
/// templates being rendered do not read (see [`Reads`]).
pub(super) struct MessageData<'a> {
    pub(super) platform_name: &'a str,
    pub(super) site_url: &'a str,
    pub(super) locale: &'static str,
    pub(super) kind: &'static str,
    pub(super) session_link: &'a str,
    /// The student's preference page, which the footer of an automatic reminder links to
    /// (see [`preferences_url`]); `None` for the other messages.
    pub(super) preferences_url: Option<String>,
    /// What the templates being rendered may read.
    pub(super) reads: Reads,
    pub(super) student: Option<StudentData<'a>>,
    pub(super) session: Option<SessionData<'a>>,
    pub(super) inactivity: Option<InactivityData>,
    pub(super) week: Option<WeekData<'a>>,
    pub(super) parent: Option<ParentData<'a>>,
    pub(super) manual: Option<ManualData>,
}

impl Serialize for MessageData<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        let reads = &self.reads;
        for (read, name, value) in [
            (reads.platform_name, "platform_name", self.platform_name),
            (reads.site_url, "site_url", self.site_url),
            (reads.locale, "locale", self.locale),
            (reads.kind, "kind", self.kind),
        ] {
            if read {
                map.serialize_entry(name, value)?;
            }
        }
        if let Some(url) = &self.preferences_url {
            map.serialize_entry("preferences_url", url)?;
        }
        if let Some(student) = &self.student {
            map.serialize_entry("student", student)?;
        }
        if let Some(session) = &self.session {
            map.serialize_entry("session", session)?;
        }
        if let Some(inactivity) = &self.inactivity {
            map.serialize_entry("inactivity", inactivity)?;
        }
        if let Some(week) = &self.week {
            map.serialize_entry("week", week)?;
        }
        if let Some(parent) = &self.parent {
            map.serialize_entry("parent", parent)?;
        }
        if let Some(manual) = &self.manual {
            map.serialize_entry("manual", manual)?;
        }
        map.end()
    }
}

impl<'a> MessageData<'a> {
    pub(super) fn new(kind: &'static str, locale: Locale, config: &'a MessageConfig) -> Self {
        MessageData {
            platform_name: &config.platform_name,
            site_url: config.site_url.trim_end_matches('/'),
            locale: locale.code(),
            kind,
            session_link: &config.session_link,
            preferences_url: None,
            reads: Reads::ALL,
            student: None,
            session: None,
            inactivity: None,
            week: None,
            parent: None,
            manual: None,
        }
    }

    /// The data as handlebars reads it, converted once for the three parts.
    pub(super) fn context(&self) -> Result<Context, MessageError> {
        Context::wraps(self).map_err(|e| self.unrenderable(e))
    }

    /// The error of data that cannot be converted for the templates.
    pub(super) fn unrenderable(&self, error: impl Into<RenderError>) -> MessageError {
        MessageError::Render {
            file: format!("{}.{}.*.hbs", self.kind, self.locale),
            source: Box::new(error.into()),
        }
    }
}

/// The student's preference page on the platform: `{site_url}/preferences?token={token}`
/// with the signed token of the reminder's family, or `{site_url}/preferences` (where the
/// student signs in) when the platform signs no token. `site_url` has no trailing `/`; the
/// token is base64url and a dot, which a query string carries unescaped.
pub(super) fn preferences_url(site_url: &str, token: Option<&str>) -> String {
    match token {
        Some(token) => format!("{site_url}/preferences?token={token}"),
        None => format!("{site_url}/preferences"),
    }
}

/// How a weekly digest closes, from what the week held: the digest is read every week by
/// students and parents, so its last words follow the week rather than praise every week
/// alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Closing {
    /// More sessions were completed than missed (none missed, most often).
    Praise,
    /// Sessions were missed, at least as many as were completed.
    Encouragement,
    /// No session was completed nor missed: the week held none (or only cancelled ones).
    Nudge,
}

impl Closing {
    /// The closing of a week with `completed` sessions done and `missed` ones not done
    /// (cancelled ones count as neither).
    pub(super) fn of(completed: usize, missed: usize) -> Closing {
        if completed > missed {
            Closing::Praise
        } else if missed > 0 {
            Closing::Encouragement
        } else {
            Closing::Nudge
        }
    }

    /// The value of `week.closing` in templates.
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Closing::Praise => "praise",
            Closing::Encouragement => "encouragement",
            Closing::Nudge => "nudge",
        }
    }
}

/// Declares a part of the message data whose every field is optional, and `$wants`, the
/// fields of it a template reads: a field no template reads is neither built nor shown.
macro_rules! data_part {
    ($(#[$doc:meta])* $name:ident$(<$lt:lifetime>)?, $wants:ident { $($field:ident: $ty:ty),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Serialize)]
        pub(super) struct $name$(<$lt>)? {
            $(
                #[serde(skip_serializing_if = "Option::is_none")]
                pub(super) $field: Option<$ty>,
            )*
        }

        /// The fields of the part a template reads.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(super) struct $wants {
            $(pub(super) $field: bool,)*
        }

        impl $wants {
            pub(super) const ALL: $wants = $wants { $($field: true,)* };

            /// From the fields a template names (`None`: it reads the part whole).
            pub(super) fn from_fields(fields: Option<&HashSet<String>>) -> $wants {
                match fields {
                    None => $wants::ALL,
                    Some(fields) => $wants { $($field: fields.contains(stringify!($field)),)* },
                }
            }
        }
    };
}

data_part!(StudentData<'a>, StudentWants {
    id: i64,
    first_name: &'a str,
    last_name: &'a str,
    full_name: String,
    zone: &'static str,
});

data_part!(
    /// A session: the reminder's own, or one listed in a digest.
    SessionData<'a>, SessionWants {
        id: i64,
        subject: &'a str,
        objective: &'a str,
        date: String,
        time: String,
        duration: String,
        duration_minutes: u32,
        link: String,
    }
);

data_part!(
    InactivityData,
    InactivityWants {
        days: i64,
        last_activity: String,
    }
);

data_part!(WeekData<'a>, WeekWants {
    first_day: String,
    last_day: String,
    next_first_day: String,
    next_last_day: String,
    completed: Vec<SessionData<'a>>,
    missed: Vec<SessionData<'a>>,
    goals: Vec<SessionData<'a>>,
    completed_count: usize,
    missed_count: usize,
    goals_count: usize,
    closing: &'static str,
});

data_part!(ParentData<'a>, ParentWants { first_name: &'a str });

data_part!(
    ManualData,
    ManualWants {
        title: String,
        message: String,
        date: String,
        time: String,
    }
);
