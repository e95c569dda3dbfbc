//! Integer identifiers of the records rappels handles, one newtype per record kind.

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
    fn ids_deserialize_through_validation() {
        assert_eq!(serde_json::from_str::<ManualId>("7").unwrap().get(), 7);
        assert!(serde_json::from_str::<ManualId>("0").is_err());
        assert!(serde_json::from_str::<ManualId>("1.5").is_err());
        assert!(serde_json::from_str::<ManualId>("9223372036854775808").is_err());
    }
}
