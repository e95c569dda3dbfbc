//! Integer identifiers of the records rappels handles, one newtype per record kind.

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::DomainError;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        ///
        /// Ids are integers from 1 to 2^63 − 1, as RULES.md requires; the only ways to build
        /// one are [`Self::new`] and `TryFrom<i64>`, so an id in hand is always in range.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "i64", into = "i64")]
        pub struct $name(i64);

        impl $name {
            /// Checks that `value` is a valid id (1 to 2^63 − 1).
            pub fn new(value: i64) -> Result<Self, DomainError> {
                if value >= 1 {
                    Ok(Self(value))
                } else {
                    Err(DomainError::InvalidId { what: $what, value })
                }
            }

            /// The id as an integer.
            pub fn get(self) -> i64 {
                self.0
            }
        }

        impl TryFrom<i64> for $name {
            type Error = DomainError;
            fn try_from(value: i64) -> Result<Self, DomainError> {
                Self::new(value)
            }
        }

        impl From<$name> for i64 {
            fn from(id: $name) -> i64 {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// Identifies a student (the person who receives reminders).
    StudentId,
    "student"
);
id_type!(
    /// Identifies a parent.
    ParentId,
    "parent"
);
id_type!(
    /// Identifies a revision session.
    SessionId,
    "session"
);
id_type!(
    /// Identifies a manual reminder request sent by a parent.
    ManualId,
    "manual request"
);
id_type!(
    /// Identifies a weekly study plan.
    StudyPlanId,
    "study plan"
);

/// Where the record with an id sits in a list of records, without a map when the ids
/// allow it: exported lists usually hold ids `1, 2, 3…` or at least increasing ones, and for
/// a million records a hash map costs tens of megabytes and a hashing per lookup.
#[derive(Debug, Clone)]
pub(crate) enum IdIndex {
    /// The ids are `first, first + 1, …` in list order: the position is a subtraction.
    Consecutive {
        /// The id of the first record.
        first: i64,
    },
    /// The ids increase along the list: a binary search finds them.
    Increasing,
    /// Any other order: a map from id to the position of its last record.
    Hashed(HashMap<i64, u32>),
}

impl IdIndex {
    /// Indexes `records` by the id `key` reads from each.
    pub(crate) fn new<T>(records: &[T], key: impl Fn(&T) -> i64) -> Self {
        let steps = || {
            records
                .windows(2)
                .map(|pair| (key(&pair[0]), key(&pair[1])))
        };
        if steps().all(|(a, b)| a.checked_add(1) == Some(b)) {
            return IdIndex::Consecutive {
                first: records.first().map_or(1, &key),
            };
        }
        if steps().all(|(a, b)| a < b) {
            return IdIndex::Increasing;
        }
        IdIndex::Hashed(
            records
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    let i = u32::try_from(i).expect("fewer than 2^32 records of a kind");
                    (key(r), i)
                })
                .collect(),
        )
    }

    /// True when the ids are known to be unique without looking at them again.
    pub(crate) fn is_increasing(&self) -> bool {
        !matches!(self, IdIndex::Hashed(_))
    }

    /// The position in `records` (those indexed) of the record with `id`.
    pub(crate) fn position<T>(
        &self,
        records: &[T],
        id: i64,
        key: impl Fn(&T) -> i64,
    ) -> Option<usize> {
        match self {
            IdIndex::Consecutive { first } => {
                let offset = usize::try_from(id.checked_sub(*first)?).ok()?;
                (offset < records.len()).then_some(offset)
            }
            IdIndex::Increasing => records.binary_search_by_key(&id, key).ok(),
            IdIndex::Hashed(map) => map.get(&id).map(|&i| i as usize),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_accept_one_to_max_and_refuse_zero_and_negatives() {
        assert_eq!(StudentId::new(1).unwrap().get(), 1);
        assert_eq!(StudentId::new(i64::MAX).unwrap().get(), i64::MAX);
        assert!(StudentId::new(0).is_err());
        assert!(ParentId::new(-5).is_err());
        let err = SessionId::new(0).unwrap_err().to_string();
        assert_eq!(err, "session id must be between 1 and 2^63 - 1, got 0");
    }

    #[test]
    fn an_id_index_finds_every_record_and_nothing_else_in_any_order() {
        let lists: [&[i64]; 6] = [
            &[],
            &[5, 6, 7, 8],
            &[i64::MAX - 1, i64::MAX],
            &[2, 3, 10, 40],
            &[9, 3, 7, 1],
            &[4, 4, 5],
        ];
        for ids in lists {
            let index = IdIndex::new(ids, |&id| id);
            for (at, &id) in ids.iter().enumerate() {
                let found = index.position(ids, id, |&id| id);
                // A repeated id finds one of its records (validation refuses repeats).
                assert_eq!(found.map(|i| ids[i]), Some(id), "{ids:?}");
                assert!(found == Some(at) || ids.iter().filter(|&&i| i == id).count() > 1);
            }
            for missing in [i64::MIN, -3, 0, 4, 11, 100, i64::MAX - 2] {
                if !ids.contains(&missing) {
                    assert_eq!(index.position(ids, missing, |&id| id), None, "{ids:?}");
                }
            }
        }
    }

    #[test]
    fn an_id_index_uses_no_map_for_increasing_ids() {
        let index = |ids: &[i64]| IdIndex::new(ids, |&id| id);
        assert!(matches!(
            index(&[5, 6, 7]),
            IdIndex::Consecutive { first: 5 }
        ));
        assert!(matches!(index(&[2, 3, 10]), IdIndex::Increasing));
        assert!(index(&[2, 3, 10]).is_increasing());
        assert!(matches!(index(&[3, 2]), IdIndex::Hashed(_)));
        assert!(!index(&[4, 4]).is_increasing());
    }

    #[test]
    fn ids_deserialize_through_validation() {
        assert_eq!(serde_json::from_str::<ManualId>("7").unwrap().get(), 7);
        assert!(serde_json::from_str::<ManualId>("0").is_err());
        assert!(serde_json::from_str::<ManualId>("1.5").is_err());
        assert!(serde_json::from_str::<ManualId>("9223372036854775808").is_err());
    }
}
