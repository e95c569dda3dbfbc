//! What of a message's data a template reads, found by walking its syntax tree.

use super::*;

/// What of a message's data a template may read: which top-level values, which parts built
/// from the reminder's records (`None`: not read at all) and which of their fields. Building
/// them costs lookups, date formatting and, for the weekly digest, a query of the week's
/// sessions; what a template does not read is left out of its data, which cannot change
/// what it renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Reads {
    pub(super) platform_name: bool,
    pub(super) site_url: bool,
    pub(super) locale: bool,
    pub(super) kind: bool,
    pub(super) preferences_url: bool,
    pub(super) student: Option<StudentWants>,
    pub(super) session: Option<SessionWants>,
    pub(super) inactivity: Option<InactivityWants>,
    pub(super) week: Option<WeekWants>,
    pub(super) parent: Option<ParentWants>,
    pub(super) manual: Option<ManualWants>,
}

impl Reads {
    pub(super) const ALL: Reads = Reads {
        platform_name: true,
        site_url: true,
        locale: true,
        kind: true,
        preferences_url: true,
        student: Some(StudentWants::ALL),
        session: Some(SessionWants::ALL),
        inactivity: Some(InactivityWants::ALL),
        week: Some(WeekWants::ALL),
        parent: Some(ParentWants::ALL),
        manual: Some(ManualWants::ALL),
    };

    /// What `template` may read (see [`Paths`]).
    pub(super) fn of(template: &Template) -> Reads {
        let mut paths = Paths::default();
        if !paths.walk_template(template) {
            return Reads::ALL;
        }
        let name = |name: &str| paths.names.contains_key(name);
        let part = |name: &str| paths.names.get(name).map(Option::as_ref);
        Reads {
            platform_name: name("platform_name"),
            site_url: name("site_url"),
            locale: name("locale"),
            kind: name("kind"),
            preferences_url: name("preferences_url"),
            student: part("student").map(StudentWants::from_fields),
            session: part("session").map(SessionWants::from_fields),
            inactivity: part("inactivity").map(InactivityWants::from_fields),
            week: part("week").map(WeekWants::from_fields),
            parent: part("parent").map(ParentWants::from_fields),
            manual: part("manual").map(ManualWants::from_fields),
        }
    }
}

/// The data paths a template names, gathered by walking its syntax tree: every expression,
/// helper parameter, hash value, block, inverse block and subexpression. A path
/// `session.time` reads the field `time` of `session`; a lone name (`session`, as in
/// `{{#with session}}`) reads all of it, and so does a longer path for its first field. Names
/// inside blocks are counted as top-level names too, which can only add to what is built.
/// Anything that reaches data without naming it — `this`, `..`, `@root`, partials,
/// decorators, a construct this walk does not know — makes the walk give up, and then the
/// template counts as reading everything.
#[derive(Debug, Default)]
pub(super) struct Paths {
    /// Top-level names read, each with the fields read in it (`None`: all of them).
    pub(super) names: HashMap<String, Option<HashSet<String>>>,
}

impl Paths {
    /// False when the template holds something the walk cannot follow.
    pub(super) fn walk_template(&mut self, template: &Template) -> bool {
        template.elements.iter().all(|e| self.walk_element(e))
    }

    pub(super) fn walk_element(&mut self, element: &TemplateElement) -> bool {
        match element {
            TemplateElement::RawString(_) | TemplateElement::Comment(_) => true,
            TemplateElement::Expression(helper)
            | TemplateElement::HtmlExpression(helper)
            | TemplateElement::HelperBlock(helper) => self.walk_helper(helper),
            _ => false,
        }
    }

    pub(super) fn walk_helper(&mut self, helper: &HelperTemplate) -> bool {
        self.walk_parameter(&helper.name)
            && helper.params.iter().all(|p| self.walk_parameter(p))
            && helper.hash.values().all(|p| self.walk_parameter(p))
            && helper.template.iter().all(|t| self.walk_template(t))
            && helper.inverse.iter().all(|t| self.walk_template(t))
    }

    pub(super) fn walk_parameter(&mut self, parameter: &Parameter) -> bool {
        match parameter {
            // A helper's name, or a lone data name such as `{{platform_name}}`.
            Parameter::Name(name) => {
                self.read(name, None);
                true
            }
            // Only paths made of names from where they stand are followed; an empty path is
            // `this`, the whole data, and `..` or `@root` climb out of a block.
            Parameter::Path(Path::Relative((segments, _))) => {
                let mut names = Vec::with_capacity(segments.len());
                for segment in segments {
                    match segment {
                        PathSeg::Named(name) => names.push(name.as_str()),
                        _ => return false,
                    }
                }
                match names.as_slice() {
                    [] => false,
                    [name] => {
                        self.read(name, None);
                        true
                    }
                    [name, field, ..] => {
                        self.read(name, Some(field));
                        true
                    }
                }
            }
            // `@index`, `@first`… are block variables, not data.
            Parameter::Path(Path::Local(_)) => true,
            // A string handed to a helper such as `lookup` may name a value.
            Parameter::Literal(value) => {
                if let Some(text) = value.as_str() {
                    self.read(text, None);
                }
                true
            }
            Parameter::Subexpression(sub) => self.walk_element(&sub.element),
            _ => false,
        }
    }

    /// Records that `name` is read, whole or only its `field`.
    pub(super) fn read(&mut self, name: &str, field: Option<&str>) {
        let entry = self
            .names
            .entry(name.to_owned())
            .or_insert_with(|| Some(HashSet::new()));
        match (entry, field) {
            (Some(fields), Some(field)) => {
                fields.insert(field.to_owned());
            }
            (entry, None) => *entry = None,
            (None, Some(_)) => {}
        }
    }
}
