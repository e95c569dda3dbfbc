//! Drawing: one seeded random stream per (seed, kind of record, index), weighted tables,
//! and the small helpers that turn draws into ids and addresses.

use super::*;

/// Random streams: one per kind of record, so adding a draw to one kind changes no other.
#[derive(Debug, Clone, Copy)]
pub(super) enum Stream {
    FamilySizes = 1,
    Household = 2,
    Profile = 3,
    Name = 4,
    Parent = 5,
    Sessions = 6,
    StudyPlans = 7,
    Manual = 8,
}

/// SplitMix64's finaliser: turns (seed, stream, index) into well-spread seeds, so that
/// neighbouring indexes get unrelated streams.
pub(super) fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// One entry of a weighted table.
pub(super) struct Weighted<T> {
    pub(super) weight: u32,
    pub(super) value: T,
}

pub(super) const fn w<T>(weight: u32, value: T) -> Weighted<T> {
    Weighted { weight, value }
}

/// Draws from a weighted table (weights are small, so their sum fits easily).
pub(super) fn pick<T: Copy>(rng: &mut fastrand::Rng, table: &[Weighted<T>]) -> T {
    let total: u32 = table.iter().map(|e| e.weight).sum();
    let mut draw = rng.u32(0..total);
    for entry in table {
        if draw < entry.weight {
            return entry.value;
        }
        draw -= entry.weight;
    }
    table[table.len() - 1].value
}

/// Draws one item of a non-empty constant list.
pub(super) fn choose<T: Copy>(rng: &mut fastrand::Rng, list: &[T]) -> T {
    // u32 rather than usize: the same draws on 32- and 64-bit targets.
    list[rng.u32(0..list.len() as u32) as usize]
}

pub(super) fn student_id(index: u32) -> StudentId {
    StudentId::new(i64::from(index) + 1).expect("ids counted from 1 are valid")
}

/// An id for a record built before its place in the list is known; the list's walk gives
/// it its real id.
pub(super) fn placeholder<T: TryFrom<i64, Error = crate::domain::DomainError>>() -> T {
    T::try_from(1).expect("1 is a valid id")
}

/// Generated addresses are valid by construction: ASCII letters, digits, dots and hyphens
/// before one `@`, and a constant dotted domain after it.
pub(super) fn address(raw: String) -> EmailAddress {
    EmailAddress::parse(raw).expect("generated addresses are valid")
}

/// A name as it appears in an address: lowercase ASCII, accents dropped, apostrophes and
/// spaces removed (`N'Guessan` → `nguessan`, `Élodie` → `elodie`).
pub(super) fn email_part(name: &str) -> String {
    name.chars()
        .filter_map(|c| {
            let c = match c {
                'à' | 'â' | 'ä' | 'À' | 'Â' => 'a',
                'é' | 'è' | 'ê' | 'ë' | 'É' | 'È' => 'e',
                'î' | 'ï' | 'Î' => 'i',
                'ô' | 'ö' | 'Ô' => 'o',
                'ù' | 'û' | 'ü' => 'u',
                'ç' | 'Ç' => 'c',
                c => c.to_ascii_lowercase(),
            };
            (c.is_ascii_alphanumeric() || c == '-').then_some(c)
        })
        .collect()
}
