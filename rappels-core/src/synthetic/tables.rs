//! The fixed tables the school is drawn from: regions and their zones, the names and
//! e-mail domains of each culture, subjects and their objectives.

use super::*;

/// Where families live, and which names they carry.
#[derive(Clone, Copy)]
pub(super) struct Region {
    /// `None`: no zone of their own (the settings' zone applies).
    pub(super) zone: Option<Tz>,
    pub(super) culture: &'static Culture,
}

pub(super) const fn region(
    weight: u32,
    zone: Option<Tz>,
    culture: &'static Culture,
) -> Weighted<Region> {
    w(weight, Region { zone, culture })
}

/// Paris (with or without an explicit zone) is the largest share; the rest spans Africa,
/// the Indian Ocean, both Americas, Asia and Oceania, with and without DST, on both sides of
/// the date line's neighbourhood.
pub(super) const REGIONS: [Weighted<Region>; 13] = [
    region(10, None, &FRANCE),
    region(38, Some(chrono_tz::Europe::Paris), &FRANCE),
    region(9, Some(chrono_tz::Africa::Abidjan), &WEST_AFRICA),
    region(6, Some(chrono_tz::Africa::Dakar), &WEST_AFRICA),
    region(6, Some(chrono_tz::Indian::Reunion), &REUNION),
    region(3, Some(chrono_tz::America::Martinique), &FRANCE),
    region(5, Some(chrono_tz::America::Montreal), &QUEBEC),
    region(1, Some(chrono_tz::America::Montreal), &ANGLO),
    region(7, Some(chrono_tz::America::New_York), &ANGLO),
    region(4, Some(chrono_tz::Europe::London), &ANGLO),
    region(5, Some(chrono_tz::Asia::Kolkata), &INDIA),
    region(4, Some(chrono_tz::Australia::Sydney), &ANGLO),
    region(2, Some(chrono_tz::Pacific::Noumea), &FRANCE),
];

/// Names and language of a region's families.
pub(super) struct Culture {
    pub(super) locale: Locale,
    /// Share of families speaking `locale`, in percent; the others read the other one.
    pub(super) native_percent: u32,
    pub(super) first_names: &'static [&'static str],
    pub(super) adult_names: &'static [&'static str],
    pub(super) last_names: &'static [&'static str],
}

#[rustfmt::skip]
pub(super) const FRANCE: Culture = Culture {
    locale: Locale::Fr,
    native_percent: 97,
    first_names: &[
        "Léa", "Emma", "Chloé", "Inès", "Jade", "Louise", "Manon", "Camille", "Zoé", "Lina",
        "Lucas", "Hugo", "Gabriel", "Louis", "Nathan", "Théo", "Raphaël", "Arthur", "Jules",
        "Adam", "Maël", "Noah", "Sacha", "Élodie", "Yasmine", "Rayan", "Sarah", "Clément",
        "Mathis", "Océane", "Anaïs", "Jean-Baptiste", "Ibrahim", "Maëlys",
    ],
    adult_names: &[
        "Nathalie", "Isabelle", "Sandrine", "Stéphanie", "Céline", "Christophe", "Stéphane",
        "Frédéric", "Laurent", "Sébastien", "Karim", "Nadia", "Sophie", "Valérie", "Olivier",
    ],
    last_names: &[
        "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand",
        "Leroy", "Moreau", "Simon", "Laurent", "Lefèvre", "Michel", "Garcia", "David",
        "Bertrand", "Roux", "Vincent", "Fournier", "Morel", "Girard", "André", "Mercier",
        "Dupont", "Lambert", "Bonnet", "François", "Le Gall", "Nguyen", "Benali", "Haddad",
    ],
};

#[rustfmt::skip]
pub(super) const REUNION: Culture = Culture {
    locale: Locale::Fr,
    native_percent: 98,
    first_names: FRANCE.first_names,
    adult_names: FRANCE.adult_names,
    last_names: &[
        "Payet", "Hoarau", "Grondin", "Fontaine", "Boyer", "Rivière", "Lebon", "Técher", "Turpin",
        "Maillot", "Nativel", "Hoareau",
    ],
};

#[rustfmt::skip]
pub(super) const WEST_AFRICA: Culture = Culture {
    locale: Locale::Fr,
    native_percent: 96,
    first_names: &[
        "Awa", "Aminata", "Fatou", "Mariam", "Aïcha", "Kadiatou", "Adjoua", "Ama", "Moussa",
        "Ibrahima", "Mamadou", "Cheikh", "Ousmane", "Koffi", "Yao", "Kouassi", "Serge",
        "Abdoulaye", "Fatoumata", "Seydou",
    ],
    adult_names: &[
        "Mariam", "Adama", "Fanta", "Salimata", "Aboubacar", "Souleymane", "Rokia", "Bintou",
        "Lassina", "Mamadou",
    ],
    last_names: &[
        "Koné", "Traoré", "Diallo", "Ouattara", "Coulibaly", "Kouamé", "N'Guessan", "Bamba",
        "Touré", "Ndiaye", "Diop", "Fall", "Sow", "Sy", "Cissé", "Gueye", "Faye", "Sarr",
    ],
};

#[rustfmt::skip]
pub(super) const QUEBEC: Culture = Culture {
    locale: Locale::Fr,
    native_percent: 90,
    first_names: &[
        "Léa", "Florence", "Alice", "Rosalie", "Juliette", "Olivia", "William", "Thomas", "Félix",
        "Samuel", "Logan", "Jacob", "Émile", "Charlie",
    ],
    adult_names: &[
        "Marie-Claude", "Isabelle", "Mélanie", "Patrick", "Martin", "Sylvain", "Julie", "Annie",
    ],
    last_names: &[
        "Tremblay", "Gagnon", "Roy", "Côté", "Bouchard", "Gauthier", "Morin", "Lavoie",
        "Fortin", "Gagné", "Ouellet", "Pelletier", "Bélanger", "Lévesque",
    ],
};

#[rustfmt::skip]
pub(super) const ANGLO: Culture = Culture {
    locale: Locale::En,
    native_percent: 95,
    first_names: &[
        "Olivia", "Emma", "Ava", "Sophia", "Mia", "Charlotte", "Amelia", "Liam", "Noah",
        "Oliver", "James", "Elijah", "William", "Henry", "Jack", "Chloe", "Grace", "Isla",
        "Ethan", "Zoe", "Jayden", "Aaliyah", "Mateo", "Sofia",
    ],
    adult_names: &[
        "Jennifer", "Michael", "Sarah", "David", "Jessica", "Christopher", "Emily", "Daniel",
        "Laura", "Matthew",
    ],
    last_names: &[
        "Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Rodriguez",
        "Wilson", "Anderson", "Taylor", "Moore", "Jackson", "Lee", "Thompson", "White",
        "O'Brien", "Kelly", "Walker", "Patel",
    ],
};

#[rustfmt::skip]
pub(super) const INDIA: Culture = Culture {
    locale: Locale::En,
    native_percent: 95,
    first_names: &[
        "Aarav", "Vivaan", "Aditya", "Arjun", "Sai", "Reyansh", "Ishaan", "Rohan", "Ananya",
        "Diya", "Aadhya", "Saanvi", "Priya", "Riya", "Kavya", "Meera", "Sourav", "Debjani",
        "Arnab", "Ritika",
    ],
    adult_names: &[
        "Sanjay", "Anjali", "Rajesh", "Sunita", "Amit", "Pooja", "Suman", "Arindam",
    ],
    last_names: &[
        "Banerjee", "Chatterjee", "Mukherjee", "Das", "Bose", "Ghosh", "Sen", "Roy", "Dutta",
        "Chakraborty", "Sharma", "Gupta", "Singh", "Iyer",
    ],
};

/// A school subject and what sessions of it work on.
pub(super) struct Subject {
    pub(super) name: &'static str,
    pub(super) objectives: &'static [&'static str],
}

pub(super) const fn subject(name: &'static str, objectives: &'static [&'static str]) -> Subject {
    Subject { name, objectives }
}

pub(super) fn subjects(locale: Locale) -> &'static [Subject] {
    match locale {
        Locale::Fr => &SUBJECTS_FR,
        Locale::En => &SUBJECTS_EN,
    }
}

/// A subject, and one of its objectives or, for a third of sessions, none.
pub(super) fn subject_and_objective(
    rng: &mut fastrand::Rng,
    subjects: &'static [Subject],
) -> (&'static str, &'static str) {
    let subject = &subjects[rng.u32(0..subjects.len() as u32) as usize];
    let objective = if rng.u32(0..3) == 0 {
        ""
    } else {
        choose(rng, subject.objectives)
    };
    (subject.name, objective)
}

pub(super) const SUBJECTS_FR: [Subject; 10] = [
    subject(
        "Mathématiques",
        &[
            "Fractions",
            "Théorème de Pythagore",
            "Équations du second degré",
            "Fonctions affines",
            "Probabilités conditionnelles",
        ],
    ),
    subject(
        "Physique-Chimie",
        &[
            "Réactions d'oxydoréduction",
            "Lois de Newton",
            "Circuits électriques",
        ],
    ),
    subject(
        "SVT",
        &[
            "La cellule",
            "Génétique : les lois de Mendel",
            "Le système immunitaire",
        ],
    ),
    subject(
        "Français",
        &[
            "Commentaire de texte",
            "Conjugaison du subjonctif",
            "Préparer l'oral du bac de français",
        ],
    ),
    subject(
        "Anglais",
        &[
            "Irregular verbs",
            "Compréhension orale",
            "Préparer l'exposé",
        ],
    ),
    subject(
        "Histoire-Géographie",
        &[
            "La Révolution française",
            "La guerre froide",
            "Croquis de géographie",
        ],
    ),
    subject(
        "Philosophie",
        &[
            "Dissertation : introduction et plan",
            "La conscience",
            "Explication de texte",
        ],
    ),
    subject("Espagnol", &["Le passé simple", "Vocabulaire du voyage"]),
    subject(
        "Sciences économiques et sociales",
        &["La croissance économique", "Le marché du travail"],
    ),
    subject(
        "Numérique et sciences informatiques",
        &["Algorithmes de tri", "Programmer en Python : les listes"],
    ),
];

pub(super) const SUBJECTS_EN: [Subject; 8] = [
    subject(
        "Mathematics",
        &[
            "Fractions",
            "Quadratic equations",
            "Trigonometry",
            "Probability",
        ],
    ),
    subject("Physics", &["Newton's laws", "Electric circuits"]),
    subject("Chemistry", &["Balancing equations", "Acids and bases"]),
    subject("Biology", &["The cell", "Photosynthesis"]),
    subject("English", &["Essay structure", "Reading Shakespeare"]),
    subject("History", &["The Cold War", "The Industrial Revolution"]),
    subject("French", &["Le passé composé", "Oral presentation"]),
    subject("Computer Science", &["Sorting algorithms", "Python lists"]),
];

/// Titles and messages parents write, in the family's language.
pub(super) struct ManualTexts {
    pub(super) titles: &'static [&'static str],
    pub(super) messages: &'static [&'static str],
}

pub(super) fn manual_texts(locale: Locale) -> &'static ManualTexts {
    match locale {
        Locale::Fr => &MANUAL_FR,
        Locale::En => &MANUAL_EN,
    }
}

pub(super) const MANUAL_FR: ManualTexts = ManualTexts {
    titles: &[
        "Révise ce soir",
        "N'oublie pas ta séance",
        "Courage pour le contrôle",
        "Prépare tes affaires",
        "Fais tes exercices de maths",
        "On compte sur toi demain",
    ],
    messages: &[
        "Courage pour demain !",
        "Je suis fière de tes progrès. Garde le rythme.",
        "Pense à relire tes fiches avant la séance.",
        "Ta séance commence bientôt, prépare tes affaires.",
        "On en parle ce soir au dîner.\nBisous.",
    ],
};

pub(super) const MANUAL_EN: ManualTexts = ManualTexts {
    titles: &[
        "Study tonight",
        "Don't forget your session",
        "Good luck on the test",
        "Finish your homework",
        "We're proud of you",
    ],
    messages: &[
        "Good luck tomorrow!",
        "Remember to go over your notes before the session.",
        "Your session starts soon, get your things ready.",
        "Let's talk about it at dinner.\nLove, Mum",
    ],
};

/// Titles the rules refuse (`invalid_title`): a line break, a tab, only spaces, or more
/// than 200 characters.
pub(super) const BAD_TITLES: [&str; 4] = [
    "Révise ce soir\nMerci",
    "Urgent :\tséance demain",
    "   ",
    "Très important ! Très important ! Très important ! Très important ! Très important ! \
     Très important ! Très important ! Très important ! Très important ! Très important ! \
     Très important ! Très important !",
];

/// Messages the rules refuse (`invalid_message`).
pub(super) const BLANK_MESSAGES: [&str; 2] = ["", " \n\t "];
