//! Who may do what: reading a reminder history, sending a manual reminder, sending a test.
//!
//! The checks are plain functions of an [`Actor`] and the record acted on, like the rest of
//! the rules: the caller (CLI, web handler) establishes who is asking, these functions decide,
//! and a store then reads only what the returned [`HistoryScope`] permits. Keeping the
//! decision here, rather than in SQL `WHERE` clauses scattered over the adapters, is what
//! lets one set of property tests state "a parent never reaches another family's child" for
//! every store at once.

use crate::domain::{Parent, ParentId, StudentId};

/// Someone asking to read or send reminders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A student, who may read their own reminders and nothing else.
    Student(StudentId),
    /// A parent, who may read their children's reminders and send them manual ones.
    Parent {
        /// The parent's id.
        id: ParentId,
        /// The parent's children: the only students this actor can reach.
        children: Vec<StudentId>,
    },
    /// Platform staff, who may read every history.
    Admin {
        /// True for a superuser, the only actor allowed to send test e-mails.
        superuser: bool,
    },
}

impl From<&Parent> for Actor {
    /// The actor for a parent record, holding the children the record lists.
    fn from(parent: &Parent) -> Self {
        Actor::Parent {
            id: parent.id,
            children: parent.children.clone(),
        }
    }
}

impl Actor {
    /// True when this actor is the parent of `student`.
    fn is_parent_of(&self, student: StudentId) -> bool {
        matches!(self, Actor::Parent { children, .. } if children.contains(&student))
    }
}

/// Why an action is refused. Each message says which rule refused it, so a web form or the
/// CLI can show it as is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum Denied {
    /// A student asked for another student's history.
    #[error("a student can only read their own reminders")]
    NotOwnHistory,
    /// A parent asked for the history of a student who is not their child.
    #[error("a parent can only read the reminders of their own children")]
    NotYourChildsHistory,
    /// A parent tried to send a manual reminder to a student who is not their child (the
    /// `not_your_child` rejection of RULES.md).
    #[error("a parent can only send manual reminders to their own children")]
    NotYourChild,
    /// A student or an admin tried to send a manual reminder.
    #[error("only a parent can send a manual reminder, since it goes out in the parent's name")]
    ParentsOnly,
    /// Someone other than a superuser tried to send a test e-mail or run the sending.
    #[error("only a superuser admin can send a test e-mail or run the sending")]
    SuperusersOnly,
    /// Someone other than the student tried to change a student's preferences.
    #[error("only a student can choose which reminders they receive")]
    NotOwnPreferences,
    /// Someone other than an admin asked for the platform's statistics.
    #[error("only an admin can read the statistics")]
    AdminsOnly,
}

/// Whose reminders an actor may read: what a store filters a history query by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HistoryScope {
    /// One student's reminders.
    Student(StudentId),
    /// The reminders of these students (a parent's children, sorted, without duplicates;
    /// empty for a parent without children, who then reads nothing).
    Students(Vec<StudentId>),
    /// Everyone's reminders.
    All,
}

impl HistoryScope {
    /// True when the scope lets the reminders of `student` through.
    pub fn permits(&self, student: StudentId) -> bool {
        match self {
            HistoryScope::Student(id) => *id == student,
            HistoryScope::Students(ids) => ids.binary_search(&student).is_ok(),
            HistoryScope::All => true,
        }
    }
}

/// Which history `actor` may read, narrowed to `requested` when given.
///
/// - A student reads their own history; naming another student is refused.
/// - A parent reads all their children's histories, or one child's when it is named;
///   naming a student who is not their child is refused.
/// - An admin reads everything, or the named student's history.
pub fn history_scope(actor: &Actor, requested: Option<StudentId>) -> Result<HistoryScope, Denied> {
    match (actor, requested) {
        (Actor::Student(me), None) => Ok(HistoryScope::Student(*me)),
        (Actor::Student(me), Some(asked)) if asked == *me => Ok(HistoryScope::Student(asked)),
        (Actor::Student(_), Some(_)) => Err(Denied::NotOwnHistory),
        (Actor::Parent { children, .. }, None) => {
            let mut children = children.clone();
            children.sort_unstable();
            children.dedup();
            Ok(HistoryScope::Students(children))
        }
        (Actor::Parent { .. }, Some(asked)) if actor.is_parent_of(asked) => {
            Ok(HistoryScope::Student(asked))
        }
        (Actor::Parent { .. }, Some(_)) => Err(Denied::NotYourChildsHistory),
        (Actor::Admin { .. }, None) => Ok(HistoryScope::All),
        (Actor::Admin { .. }, Some(asked)) => Ok(HistoryScope::Student(asked)),
    }
}

/// Whether `actor` may send a manual reminder to `student`: only a parent, and only to one of
/// their own children.
///
/// Admins are refused too: a manual reminder is signed with a parent's name and counted
/// against that parent's daily quota, so an admin sending one would either impersonate a
/// parent or escape the limit. This is the permission half of the manual rule; the request
/// still goes through [`crate::rules::validate_manual`] (active account, title, message) and
/// the rate limit.
pub fn can_send_manual(actor: &Actor, student: StudentId) -> Result<(), Denied> {
    match actor {
        Actor::Parent { .. } if actor.is_parent_of(student) => Ok(()),
        Actor::Parent { .. } => Err(Denied::NotYourChild),
        Actor::Student(_) | Actor::Admin { .. } => Err(Denied::ParentsOnly),
    }
}

/// Whether `actor` may send a test e-mail: superuser admins only.
///
/// The original system required `is_superuser`, and this keeps it: a test goes out through
/// the production mailer to an address the sender chooses, so it spends the platform's
/// sending reputation and proves the SMTP credentials work, which is a superuser's business,
/// not every staff member's. Widening it to all admins would be a deliberate change of
/// policy, not something to slip in with a rewrite.
pub fn can_send_test(actor: &Actor) -> Result<(), Denied> {
    match actor {
        Actor::Admin { superuser: true } => Ok(()),
        Actor::Admin { superuser: false } | Actor::Student(_) | Actor::Parent { .. } => {
            Err(Denied::SuperusersOnly)
        }
    }
}

/// Whether `actor` may change which reminders `student` receives: the student alone. A
/// parent cannot opt a child out of reminders (nor back in), and neither can staff: the
/// platform's own `opt_out` is where a school records such a decision.
pub fn can_manage_preferences(actor: &Actor, student: StudentId) -> Result<(), Denied> {
    match actor {
        Actor::Student(me) if *me == student => Ok(()),
        _ => Err(Denied::NotOwnPreferences),
    }
}

/// Whether `actor` may read the platform's statistics (counts of every family's reminders,
/// delivery errors, opt-outs): admins only.
pub fn can_read_stats(actor: &Actor) -> Result<(), Denied> {
    match actor {
        Actor::Admin { .. } => Ok(()),
        Actor::Student(_) | Actor::Parent { .. } => Err(Denied::AdminsOnly),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::EmailAddress;

    fn sid(id: i64) -> StudentId {
        StudentId::new(id).unwrap()
    }

    fn parent_of(children: &[i64]) -> Actor {
        Actor::from(&Parent {
            id: ParentId::new(10).unwrap(),
            first_name: "Mariam".into(),
            last_name: String::new(),
            email: EmailAddress::parse("mariam@example.org").unwrap(),
            children: children.iter().copied().map(sid).collect(),
        })
    }

    const ADMIN: Actor = Actor::Admin { superuser: false };
    const SUPERUSER: Actor = Actor::Admin { superuser: true };

    #[test]
    fn preferences_are_the_students_and_stats_the_admins() {
        assert_eq!(
            can_manage_preferences(&Actor::Student(sid(1)), sid(1)),
            Ok(())
        );
        for actor in [Actor::Student(sid(2)), parent_of(&[1]), ADMIN, SUPERUSER] {
            assert_eq!(
                can_manage_preferences(&actor, sid(1)),
                Err(Denied::NotOwnPreferences),
                "{actor:?}"
            );
        }
        assert_eq!(can_read_stats(&ADMIN), Ok(()));
        assert_eq!(can_read_stats(&SUPERUSER), Ok(()));
        for actor in [Actor::Student(sid(1)), parent_of(&[1])] {
            assert_eq!(can_read_stats(&actor), Err(Denied::AdminsOnly), "{actor:?}");
        }
    }

    #[test]
    fn a_student_reads_only_their_own_history() {
        let me = Actor::Student(sid(1));
        assert_eq!(history_scope(&me, None), Ok(HistoryScope::Student(sid(1))));
        assert_eq!(
            history_scope(&me, Some(sid(1))),
            Ok(HistoryScope::Student(sid(1)))
        );
        assert_eq!(history_scope(&me, Some(sid(2))), Err(Denied::NotOwnHistory));
    }

    #[test]
    fn a_parent_reads_their_childrens_history() {
        let parent = parent_of(&[3, 1, 3]);
        let all = history_scope(&parent, None).unwrap();
        assert_eq!(all, HistoryScope::Students(vec![sid(1), sid(3)]));
        assert!(all.permits(sid(1)) && all.permits(sid(3)) && !all.permits(sid(2)));
        assert_eq!(
            history_scope(&parent, Some(sid(3))),
            Ok(HistoryScope::Student(sid(3)))
        );
        assert_eq!(
            history_scope(&parent, Some(sid(2))),
            Err(Denied::NotYourChildsHistory)
        );
        let childless = parent_of(&[]);
        let nothing = history_scope(&childless, None).unwrap();
        assert!(!nothing.permits(sid(1)));
    }

    #[test]
    fn an_admin_reads_everything_or_one_student() {
        for admin in [ADMIN, SUPERUSER] {
            assert_eq!(history_scope(&admin, None), Ok(HistoryScope::All));
            assert_eq!(
                history_scope(&admin, Some(sid(7))),
                Ok(HistoryScope::Student(sid(7)))
            );
        }
        assert!(HistoryScope::All.permits(sid(42)));
    }

    #[test]
    fn only_a_parent_sends_manual_reminders_and_only_to_their_children() {
        let parent = parent_of(&[1, 3]);
        assert_eq!(can_send_manual(&parent, sid(1)), Ok(()));
        assert_eq!(can_send_manual(&parent, sid(2)), Err(Denied::NotYourChild));
        assert_eq!(
            can_send_manual(&Actor::Student(sid(1)), sid(1)),
            Err(Denied::ParentsOnly)
        );
        assert_eq!(
            can_send_manual(&SUPERUSER, sid(1)),
            Err(Denied::ParentsOnly)
        );
    }

    #[test]
    fn only_a_superuser_sends_tests() {
        assert_eq!(can_send_test(&SUPERUSER), Ok(()));
        for actor in [ADMIN, Actor::Student(sid(1)), parent_of(&[1])] {
            assert_eq!(can_send_test(&actor), Err(Denied::SuperusersOnly));
        }
    }

    #[test]
    fn refusals_say_why_in_lowercase() {
        assert_eq!(
            Denied::NotYourChildsHistory.to_string(),
            "a parent can only read the reminders of their own children"
        );
        for denied in [
            Denied::NotOwnHistory,
            Denied::NotYourChildsHistory,
            Denied::NotYourChild,
            Denied::ParentsOnly,
            Denied::SuperusersOnly,
        ] {
            let text = denied.to_string();
            assert!(
                text.starts_with(|c: char| c.is_lowercase()) && !text.ends_with('.'),
                "{text}"
            );
        }
    }
}
