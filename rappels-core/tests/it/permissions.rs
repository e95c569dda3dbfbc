//! Laws of permissions: a parent never reaches another family's child, a student never
//! another student's history, and nobody is refused what is theirs.

use std::collections::BTreeSet;

use proptest::prelude::*;
use rappels_core::domain::{
    EmailAddress, ManualId, ManualRequest, Parent, ParentId, Student, StudentId,
};
use rappels_core::permissions::{self, Actor, Denied, HistoryScope};
use rappels_core::rules::{self, Rejection};

fn sid(i: i64) -> StudentId {
    StudentId::new(i).unwrap()
}

/// Students `1..=students`, and parents each with a few of them as children (families may
/// share a child, as separated parents do, and a parent may have none).
#[derive(Debug, Clone)]
struct Families {
    students: i64,
    parents: Vec<Parent>,
}

fn families() -> impl Strategy<Value = Families> {
    (1i64..8).prop_flat_map(|students| {
        prop::collection::vec(prop::collection::vec(1..=students, 0..4), 0..5).prop_map(
            move |kids| Families {
                students,
                parents: kids
                    .into_iter()
                    .enumerate()
                    .map(|(i, children)| Parent {
                        id: ParentId::new(10 + i64::try_from(i).unwrap()).unwrap(),
                        first_name: format!("Parent {i}"),
                        last_name: String::new(),
                        email: EmailAddress::parse(format!("parent{i}@example.org")).unwrap(),
                        children: children.into_iter().map(sid).collect(),
                    })
                    .collect(),
            },
        )
    })
}

/// Who is asking: a student (possibly one of no family), one of the parents, or an admin.
#[derive(Debug, Clone)]
enum Who {
    Student(i64),
    Parent(usize),
    Admin(bool),
}

fn who() -> impl Strategy<Value = Who> {
    prop_oneof![
        1 => (1i64..10).prop_map(Who::Student),
        2 => any::<usize>().prop_map(Who::Parent),
        1 => any::<bool>().prop_map(Who::Admin),
    ]
}

impl Families {
    /// The actor, and the students it may reach (`None`: everyone).
    fn actor(&self, who: &Who) -> (Actor, Option<BTreeSet<StudentId>>) {
        match *who {
            Who::Student(id) => (Actor::Student(sid(id)), Some(BTreeSet::from([sid(id)]))),
            Who::Parent(i) if !self.parents.is_empty() => {
                let parent = &self.parents[i % self.parents.len()];
                (
                    Actor::from(parent),
                    Some(parent.children.iter().copied().collect()),
                )
            }
            Who::Parent(_) => {
                let childless = Actor::Parent {
                    id: ParentId::new(99).unwrap(),
                    children: vec![],
                };
                (childless, Some(BTreeSet::new()))
            }
            Who::Admin(superuser) => (Actor::Admin { superuser }, None),
        }
    }

    /// Every student id in play, and a few that name no student.
    fn every_id(&self) -> impl Iterator<Item = StudentId> {
        (1..=self.students + 3).map(sid)
    }
}

fn student(id: StudentId) -> Student {
    rappels_core::testing::student(id.get())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever is requested, a history scope only lets through students the actor may
    /// reach (only the requested one when one is named), and a refusal only ever happens
    /// for a student the actor may not reach.
    #[test]
    fn a_history_scope_holds_only_permitted_students(
        families in families(),
        who in who(),
        requested in prop::option::of(1i64..12),
    ) {
        let (actor, reach) = families.actor(&who);
        let requested = requested.map(sid);
        let may_reach = |s: StudentId| reach.as_ref().is_none_or(|r| r.contains(&s));
        match permissions::history_scope(&actor, requested) {
            Ok(scope) => {
                for s in families.every_id().chain(requested) {
                    if scope.permits(s) {
                        prop_assert!(may_reach(s), "{:?} reads {} through {:?}", actor, s, scope);
                        prop_assert!(requested.is_none_or(|r| r == s), "asked for {:?}, {:?} also lets {} through", requested, scope, s);
                    }
                }
                if let Some(r) = requested {
                    prop_assert!(scope.permits(r), "{:?} asked for {} and got {:?}", actor, r, scope);
                } else if let Some(reach) = &reach {
                    // Asking for no one in particular gives all one may read, no more.
                    let all: BTreeSet<StudentId> = families.every_id().chain(reach.iter().copied()).filter(|s| scope.permits(*s)).collect();
                    prop_assert_eq!(&all, reach);
                } else {
                    prop_assert_eq!(scope, HistoryScope::All);
                }
            }
            Err(denied) => {
                let r = requested.expect("asking for one's own history is never refused");
                prop_assert!(!may_reach(r), "{:?} refused {}'s history: {}", actor, r, denied);
                let expected = match actor {
                    Actor::Student(_) => Denied::NotOwnHistory,
                    _ => Denied::NotYourChildsHistory,
                };
                prop_assert_eq!(denied, expected);
            }
        }
    }

    /// A manual send succeeds exactly for a parent and one of their own children, and
    /// agrees with the `not_your_child` rule that judges manual requests in plans.
    #[test]
    fn manual_sends_only_reach_ones_own_children(families in families(), who in who(), target in 1i64..12) {
        let (actor, reach) = families.actor(&who);
        let target = sid(target);
        let verdict = permissions::can_send_manual(&actor, target);
        match &actor {
            Actor::Parent { id, children } => {
                prop_assert_eq!(verdict.is_ok(), children.contains(&target));
                prop_assert_eq!(verdict.is_ok(), reach.as_ref().is_some_and(|r| r.contains(&target)));
                let parent = Parent {
                    id: *id,
                    first_name: "P".into(),
                    last_name: String::new(),
                    email: EmailAddress::parse("p@example.org").unwrap(),
                    children: children.clone(),
                };
                let child = student(target);
                let request = ManualRequest {
                    id: ManualId::new(1).unwrap(),
                    parent_id: *id,
                    student_id: target,
                    title: "Révise".into(),
                    message: "Courage".into(),
                    requested_at: crate::strategies::utc("2026-11-26T18:00:00Z"),
                };
                let rule = rules::validate_manual(&request, Some(&parent), Some(&child)).map(|_| ());
                prop_assert_eq!(verdict.is_err(), rule == Err(Rejection::NotYourChild));
                if verdict.is_err() {
                    prop_assert_eq!(verdict, Err(Denied::NotYourChild));
                }
            }
            Actor::Student(_) | Actor::Admin { .. } => {
                prop_assert_eq!(verdict, Err(Denied::ParentsOnly));
            }
        }
    }

    /// Only a superuser admin may send a test e-mail.
    #[test]
    fn only_superusers_send_tests(families in families(), who in who()) {
        let (actor, _) = families.actor(&who);
        let superuser = matches!(actor, Actor::Admin { superuser: true });
        prop_assert_eq!(permissions::can_send_test(&actor).is_ok(), superuser);
    }
}
