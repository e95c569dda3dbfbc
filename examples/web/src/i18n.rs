//! The pages' words, in French (the default) and English: one table per language, so that a
//! label missing in one language is a compile error, not a blank.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum_extra::extract::CookieJar;
use rappels_core::domain::{Family, Kind};
use rappels_core::permissions::Denied;
use rappels_core::ports::ReminderStatus;
use rappels_core::rules::Rejection;

/// The language of a page: `?lang=` first, then the `lang` cookie the language links set,
/// then the browser's `Accept-Language`, else French.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lang {
    /// French.
    Fr,
    /// English.
    En,
}

impl Lang {
    fn parse(code: &str) -> Option<Lang> {
        match code.trim().get(..2).map(str::to_ascii_lowercase).as_deref() {
            Some("fr") => Some(Lang::Fr),
            Some("en") => Some(Lang::En),
            _ => None,
        }
    }

    /// The language's code, for `<html lang>` and links.
    pub(crate) fn code(self) -> &'static str {
        match self {
            Lang::Fr => "fr",
            Lang::En => "en",
        }
    }

    /// The other language, for the switch in the header.
    pub(crate) fn other(self) -> Lang {
        match self {
            Lang::Fr => Lang::En,
            Lang::En => Lang::Fr,
        }
    }

    /// The words of the language.
    pub(crate) fn words(self) -> &'static Words {
        match self {
            Lang::Fr => &FR,
            Lang::En => &EN,
        }
    }

    /// The language of a request.
    pub(crate) fn of(parts: &Parts) -> Lang {
        let query = parts.uri.query().unwrap_or_default();
        let asked = query
            .split('&')
            .find_map(|pair| pair.strip_prefix("lang="))
            .and_then(Lang::parse);
        let cookie = || {
            CookieJar::from_headers(&parts.headers)
                .get("lang")
                .and_then(|c| Lang::parse(c.value()))
        };
        let browser = || {
            parts
                .headers
                .get(axum::http::header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(',').next())
                .and_then(Lang::parse)
        };
        asked.or_else(cookie).or_else(browser).unwrap_or(Lang::Fr)
    }
}

/// Keeps the language chosen with `?lang=` in a cookie, so that the next pages follow it.
pub(crate) async fn remember_language(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let chosen = request
        .uri()
        .query()
        .unwrap_or_default()
        .split('&')
        .find_map(|pair| pair.strip_prefix("lang="))
        .and_then(Lang::parse);
    let mut response = next.run(request).await;
    if let Some(lang) = chosen {
        let cookie = format!(
            "lang={}; Path=/; Max-Age=31536000; SameSite=Lax",
            lang.code()
        );
        if let Ok(value) = axum::http::HeaderValue::from_str(&cookie) {
            response
                .headers_mut()
                .append(axum::http::header::SET_COOKIE, value);
        }
    }
    response
}

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Lang::of(parts))
    }
}

/// Every label of the pages.
#[derive(Debug)]
pub(crate) struct Words {
    pub(crate) app: &'static str,
    pub(crate) switch_to: &'static str,
    pub(crate) sign_out: &'static str,
    pub(crate) my_reminders: &'static str,
    pub(crate) children_reminders: &'static str,
    pub(crate) all_reminders: &'static str,
    pub(crate) nothing_yet: &'static str,
    pub(crate) kind: &'static str,
    pub(crate) when: &'static str,
    pub(crate) status: &'static str,
    pub(crate) subject: &'static str,
    pub(crate) student: &'static str,
    pub(crate) send_manual: &'static str,
    pub(crate) child: &'static str,
    pub(crate) title: &'static str,
    pub(crate) message: &'static str,
    pub(crate) send: &'static str,
    pub(crate) manual_sent: &'static str,
    pub(crate) child_page: &'static str,
    pub(crate) upcoming_sessions: &'static str,
    pub(crate) no_upcoming: &'static str,
    pub(crate) last_activity: &'static str,
    pub(crate) never_active: &'static str,
    pub(crate) days_ago: &'static str,
    pub(crate) this_week: &'static str,
    pub(crate) completed: &'static str,
    pub(crate) missed: &'static str,
    pub(crate) scheduled: &'static str,
    pub(crate) reminders_sent: &'static str,
    pub(crate) text_part: &'static str,
    pub(crate) html_part: &'static str,
    pub(crate) back: &'static str,
    pub(crate) test_title: &'static str,
    pub(crate) test_intro: &'static str,
    pub(crate) address: &'static str,
    pub(crate) language: &'static str,
    pub(crate) send_test: &'static str,
    pub(crate) server_said: &'static str,
    pub(crate) run_now: &'static str,
    pub(crate) run_intro: &'static str,
    pub(crate) run_report: &'static str,
    pub(crate) planned: &'static str,
    pub(crate) recorded: &'static str,
    pub(crate) sent: &'static str,
    pub(crate) retried: &'static str,
    pub(crate) requested: &'static str,
    pub(crate) stats_title: &'static str,
    pub(crate) sent_per_day: &'static str,
    pub(crate) sent_today: &'static str,
    pub sent_30_days: &'static str,
    pub(crate) failed: &'static str,
    pub(crate) expired: &'static str,
    pub(crate) pending: &'static str,
    pub(crate) cancelled: &'static str,
    pub(crate) errors_by_reply: &'static str,
    pub(crate) no_errors: &'static str,
    pub(crate) opt_outs: &'static str,
    pub(crate) reply: &'static str,
    pub(crate) count: &'static str,
    pub(crate) preferences_title: &'static str,
    pub(crate) preferences_intro: &'static str,
    pub(crate) receiving: &'static str,
    pub(crate) not_receiving: &'static str,
    pub(crate) set_by_school: &'static str,
    pub(crate) stop: &'static str,
    pub(crate) resume: &'static str,
    pub(crate) unsubscribe_title: &'static str,
    pub(crate) unsubscribe_confirm: &'static str,
    pub(crate) unsubscribe_done: &'static str,
    pub(crate) unsubscribe_button: &'static str,
    pub(crate) signed_out: &'static str,
    pub(crate) not_found: &'static str,
    pub(crate) internal: &'static str,
    pub(crate) error: &'static str,
    pub(crate) bad_link: &'static str,
    pub(crate) used_link: &'static str,
    pub(crate) bad_form: &'static str,
}

impl Words {
    /// A kind of reminder.
    pub(crate) fn kind(&self, kind: Kind) -> &'static str {
        let fr = std::ptr::eq(self, &FR);
        match (kind, fr) {
            (Kind::SessionEve, true) => "Veille de séance",
            (Kind::SessionEve, false) => "Session eve",
            (Kind::SessionDay, true) => "Jour de séance",
            (Kind::SessionDay, false) => "Session day",
            (Kind::Inactivity, true) => "Inactivité",
            (Kind::Inactivity, false) => "Inactivity",
            (Kind::Weekly, true) => "Bilan de la semaine",
            (Kind::Weekly, false) => "Weekly digest",
            (Kind::Manual, true) => "Rappel d'un parent",
            (Kind::Manual, false) => "From a parent",
        }
    }

    /// A family of reminders.
    pub(crate) fn family(&self, family: Family) -> &'static str {
        let fr = std::ptr::eq(self, &FR);
        match (family, fr) {
            (Family::Session, true) => "Rappels de séance (veille et jour même)",
            (Family::Session, false) => "Session reminders (the eve and the day)",
            (Family::Inactivity, true) => "Rappels après quelques jours sans activité",
            (Family::Inactivity, false) => "Reminders after a few days without activity",
            (Family::Weekly, true) => "Bilan de la semaine, le dimanche",
            (Family::Weekly, false) => "Weekly digest, on Sundays",
        }
    }

    /// A status of the log.
    pub(crate) fn status(&self, status: ReminderStatus) -> &'static str {
        let fr = std::ptr::eq(self, &FR);
        match (status, fr) {
            (ReminderStatus::Pending, true) => "en attente",
            (ReminderStatus::Pending, false) => "pending",
            (ReminderStatus::Sending, true) => "en cours d'envoi",
            (ReminderStatus::Sending, false) => "sending",
            (ReminderStatus::Sent, true) => "envoyé",
            (ReminderStatus::Sent, false) => "sent",
            (ReminderStatus::Failed, true) => "échec",
            (ReminderStatus::Failed, false) => "failed",
            (ReminderStatus::Expired, true) => "expiré",
            (ReminderStatus::Expired, false) => "expired",
            (ReminderStatus::Cancelled, true) => "annulé",
            (ReminderStatus::Cancelled, false) => "cancelled",
        }
    }

    /// A refusal of the rules.
    pub(crate) fn denied(&self, denied: Denied) -> &'static str {
        let fr = std::ptr::eq(self, &FR);
        match (denied, fr) {
            (Denied::NotOwnHistory, true) => "Un élève ne peut lire que ses propres rappels.",
            (Denied::NotYourChildsHistory | Denied::NotYourChild, true) => {
                "Cet élève n'est pas l'un de vos enfants."
            }
            (Denied::ParentsOnly, true) => "Seul un parent peut envoyer un rappel à son enfant.",
            (Denied::SuperusersOnly, true) => "Cette page est réservée aux super-utilisateurs.",
            (Denied::NotOwnPreferences, true) => {
                "Seul l'élève peut choisir les rappels qu'il reçoit."
            }
            (Denied::AdminsOnly, true) => "Les statistiques sont réservées à l'administration.",
            (_, false) => english_denied(denied),
        }
    }

    /// A manual request refused, in words next to its field.
    pub(crate) fn rejection(&self, rejection: Rejection) -> &'static str {
        if !std::ptr::eq(self, &FR) {
            return rejection.explain();
        }
        match rejection {
            Rejection::UnknownParent => "Ce parent est inconnu.",
            Rejection::UnknownStudent => "Cet élève est inconnu.",
            Rejection::NotYourChild => "Cet élève n'est pas l'un de vos enfants.",
            Rejection::StudentInactive => "Le compte de cet élève n'est pas actif.",
            Rejection::InvalidTitle => {
                "Le titre doit faire de 1 à 200 caractères, sur une seule ligne, sans tabulation."
            }
            Rejection::InvalidMessage => "Le message doit faire de 1 à 5000 caractères.",
            Rejection::RateLimited => {
                "Vous avez déjà envoyé aujourd'hui le nombre maximal de rappels à cet enfant."
            }
        }
    }
}

fn english_denied(denied: Denied) -> &'static str {
    match denied {
        Denied::NotOwnHistory => "A student can only read their own reminders.",
        Denied::NotYourChildsHistory | Denied::NotYourChild => {
            "This student is not one of your children."
        }
        Denied::ParentsOnly => "Only a parent can send a reminder to their child.",
        Denied::SuperusersOnly => "This page is for superusers only.",
        Denied::NotOwnPreferences => "Only the student can choose the reminders they receive.",
        Denied::AdminsOnly => "The statistics are for the school's staff only.",
    }
}

pub(crate) static FR: Words = Words {
    app: "Rappels de révision",
    switch_to: "English",
    sign_out: "Se déconnecter",
    my_reminders: "Mes rappels",
    children_reminders: "Les rappels de mes enfants",
    all_reminders: "Tous les rappels",
    nothing_yet: "Aucun rappel pour l'instant.",
    kind: "Type",
    when: "Quand",
    status: "État",
    subject: "Objet",
    student: "Élève",
    send_manual: "Envoyer un rappel à un enfant",
    child: "Enfant",
    title: "Titre",
    message: "Message",
    send: "Envoyer",
    manual_sent: "Votre rappel est enregistré : il partira au prochain passage de l'envoi.",
    child_page: "Suivi de",
    upcoming_sessions: "Séances à venir",
    no_upcoming: "Aucune séance prévue dans les deux prochaines semaines.",
    last_activity: "Dernière activité",
    never_active: "jamais",
    days_ago: "jours",
    this_week: "Cette semaine",
    completed: "séances faites",
    missed: "séances manquées",
    scheduled: "séances prévues",
    reminders_sent: "rappels envoyés",
    text_part: "Version texte",
    html_part: "Version HTML",
    back: "Retour",
    test_title: "Tester l'envoi",
    test_intro: "Envoie à l'adresse de votre choix le dernier rappel envoyé du type choisi (ou, s'il n'y en a pas encore, le message de test), et affiche la réponse du serveur.",
    address: "Adresse",
    language: "Langue",
    send_test: "Envoyer le test",
    server_said: "Réponse du serveur",
    run_now: "Lancer l'envoi maintenant",
    run_intro: "Prépare et envoie les rappels dus maintenant, comme le fait la tâche planifiée.",
    run_report: "Compte rendu de l'envoi",
    planned: "Dus",
    recorded: "Enregistrés",
    sent: "Envoyés",
    retried: "À réessayer",
    requested: "Rappels demandés, pas encore envoyés",
    stats_title: "Statistiques",
    sent_per_day: "Rappels envoyés par jour (30 derniers jours)",
    sent_today: "Envoyés aujourd'hui",
    sent_30_days: "Envoyés en 30 jours",
    failed: "En échec",
    expired: "Expirés",
    pending: "En attente",
    cancelled: "Annulés",
    errors_by_reply: "Erreurs d'envoi, par réponse du serveur",
    no_errors: "Aucune erreur d'envoi.",
    opt_outs: "Désinscriptions, par famille de rappels",
    reply: "Réponse",
    count: "Nombre",
    preferences_title: "Mes préférences",
    preferences_intro: "Choisissez les rappels que vous recevez par e-mail. Les rappels envoyés par vos parents arrivent toujours.",
    receiving: "reçus",
    not_receiving: "non reçus",
    set_by_school: "choix enregistré par l'établissement : adressez-vous à lui pour le changer",
    stop: "Ne plus recevoir",
    resume: "Recevoir à nouveau",
    unsubscribe_title: "Se désinscrire",
    unsubscribe_confirm: "Vous ne recevrez plus ces rappels :",
    unsubscribe_done: "C'est fait : vous ne recevrez plus ces rappels.",
    unsubscribe_button: "Confirmer la désinscription",
    signed_out: "Connectez-vous avec le lien de connexion que vous avez reçu.",
    not_found: "Cette page n'existe pas.",
    internal: "Une erreur est survenue de notre côté ; réessayez dans un instant.",
    error: "Erreur",
    bad_link: "Ce lien n'est pas valide ou a expiré : demandez-en un nouveau.",
    used_link: "Ce lien a déjà servi : demandez-en un nouveau.",
    bad_form: "Le formulaire a expiré : rechargez la page et recommencez.",
};

pub(crate) static EN: Words = Words {
    app: "Study reminders",
    switch_to: "Français",
    sign_out: "Sign out",
    my_reminders: "My reminders",
    children_reminders: "My children's reminders",
    all_reminders: "All reminders",
    nothing_yet: "No reminder yet.",
    kind: "Kind",
    when: "When",
    status: "Status",
    subject: "Subject",
    student: "Student",
    send_manual: "Send a reminder to a child",
    child: "Child",
    title: "Title",
    message: "Message",
    send: "Send",
    manual_sent: "Your reminder is recorded: it goes out with the next sending.",
    child_page: "Following",
    upcoming_sessions: "Upcoming sessions",
    no_upcoming: "No session planned in the next two weeks.",
    last_activity: "Last activity",
    never_active: "never",
    days_ago: "days",
    this_week: "This week",
    completed: "sessions done",
    missed: "sessions missed",
    scheduled: "sessions planned",
    reminders_sent: "reminders sent",
    text_part: "Text version",
    html_part: "HTML version",
    back: "Back",
    test_title: "Test the sending",
    test_intro: "Sends the last reminder sent of the chosen kind (or, when there is none yet, the test message) to the address you choose, and shows the server's reply.",
    address: "Address",
    language: "Language",
    send_test: "Send the test",
    server_said: "The server's reply",
    run_now: "Run the sending now",
    run_intro: "Plans and sends the reminders due now, as the scheduled task does.",
    run_report: "Report of the sending",
    planned: "Due",
    recorded: "Recorded",
    sent: "Sent",
    retried: "To retry",
    requested: "Requested reminders, not sent yet",
    stats_title: "Statistics",
    sent_per_day: "Reminders sent per day (last 30 days)",
    sent_today: "Sent today",
    sent_30_days: "Sent in 30 days",
    failed: "Failed",
    expired: "Expired",
    pending: "Pending",
    cancelled: "Cancelled",
    errors_by_reply: "Delivery errors, by the server's reply",
    no_errors: "No delivery error.",
    opt_outs: "Opt-outs, by family of reminders",
    reply: "Reply",
    count: "Count",
    preferences_title: "My preferences",
    preferences_intro: "Choose the reminders you receive by e-mail. Reminders from your parents always arrive.",
    receiving: "received",
    not_receiving: "not received",
    set_by_school: "recorded by your school: ask them to change it",
    stop: "Stop receiving",
    resume: "Receive again",
    unsubscribe_title: "Unsubscribe",
    unsubscribe_confirm: "You will no longer receive these reminders:",
    unsubscribe_done: "Done: you will no longer receive these reminders.",
    unsubscribe_button: "Confirm",
    signed_out: "Sign in with the sign-in link you received.",
    not_found: "This page does not exist.",
    internal: "Something went wrong on our side; try again in a moment.",
    error: "Error",
    bad_link: "This link is not valid or has expired: ask for a new one.",
    used_link: "This link was used already: ask for a new one.",
    bad_form: "The form has expired: reload the page and try again.",
};
