//! The handlebars registry and its helpers, and what keeps text safe in a header or HTML.

use super::*;

pub(super) fn registry(escape: fn(&str) -> String) -> Handlebars<'static> {
    let mut registry = Handlebars::new();
    registry.set_strict_mode(true);
    registry.register_escape_fn(escape);
    registry.register_helper("de", Box::new(french_de));
    registry
}

/// The first parameter of the helper `name`, which must be a string.
fn text_param<'h>(h: &'h Helper<'_>, name: &'static str) -> Result<&'h str, RenderErrorReason> {
    h.param(0)
        .ok_or(RenderErrorReason::ParamNotFoundForIndex(name, 0))?
        .value()
        .as_str()
        .ok_or(RenderErrorReason::InvalidParamType("string"))
}

/// `{{de word}}` writes the French preposition before `word`: "d'" before a vowel or a
/// (mute) h, "de " otherwise — "séance d'Anglais", "séance de Physique", "message d'Awa".
pub(super) fn french_de(
    h: &Helper<'_>,
    _: &Handlebars<'_>,
    _: &Context,
    _: &mut RenderContext<'_, '_>,
    out: &mut dyn Output,
) -> HelperResult {
    out.write(elided_de(text_param(h, "de")?))?;
    Ok(())
}

pub(super) fn elided_de(word: &str) -> &'static str {
    let first = word
        .trim_start()
        .chars()
        .next()
        .map(|c| c.to_lowercase().next().unwrap_or(c));
    match first {
        Some(
            'a' | 'e' | 'i' | 'o' | 'u' | 'y' | 'h' | 'à' | 'â' | 'ä' | 'é' | 'è' | 'ê' | 'ë' | 'î'
            | 'ï' | 'ô' | 'ö' | 'ù' | 'û' | 'ü' | 'ÿ',
        ) => "d'",
        _ => "de ",
    }
}

/// `{{nl2br text}}` in HTML templates: the text escaped, then each line break turned into
/// `<br>`. Escaping comes first so that the only markup in the output is the `<br>` added.
pub(super) fn nl2br(
    h: &Helper<'_>,
    _: &Handlebars<'_>,
    _: &Context,
    _: &mut RenderContext<'_, '_>,
    out: &mut dyn Output,
) -> HelperResult {
    out.write(&nl2br_html(text_param(h, "nl2br")?))?;
    Ok(())
}

pub(super) fn nl2br_html(text: &str) -> String {
    let escaped = handlebars::html_escape(text);
    let mut html = String::with_capacity(escaped.len());
    for (i, line) in escaped.split('\n').enumerate() {
        if i > 0 {
            html.push_str("<br>\n");
        }
        html.push_str(line.strip_suffix('\r').unwrap_or(line));
    }
    html
}

/// A plain-text body with `footer` after it, a blank line between them. A footer rendered
/// blank (a platform's footer template left empty) adds nothing.
pub(super) fn with_text_footer(mut body: String, footer: &str) -> String {
    if footer.trim().is_empty() {
        return body;
    }
    body.truncate(body.trim_end().len());
    body.push_str("\n\n");
    body.push_str(footer.trim_start_matches(['\r', '\n']));
    body
}

/// An HTML body with `footer` just before its closing `</body>` tag, or at its end when it
/// has none: where mail services insert their own footers, so that any body template, the
/// platform's own included, shows it inside the document. The last such tag (in any case)
/// is taken, the document's own: values are escaped in HTML bodies, so no name or subject
/// can write one. A footer rendered blank adds nothing.
pub(super) fn with_html_footer(mut body: String, footer: &str) -> String {
    const CLOSING: &[u8] = b"</body";
    if footer.trim().is_empty() {
        return body;
    }
    let at = body
        .as_bytes()
        .windows(CLOSING.len())
        .rposition(|tag| tag.eq_ignore_ascii_case(CLOSING));
    match at {
        Some(at) => {
            // `<` is ASCII, so `at` is a character boundary.
            let mut footer = footer.to_owned();
            if !footer.ends_with('\n') {
                footer.push('\n');
            }
            body.insert_str(at, &footer);
        }
        None => {
            if !body.is_empty() && !body.ends_with('\n') {
                body.push('\n');
            }
            body.push_str(footer);
        }
    }
    body
}

/// Folds text into one header-safe line (subjects here, every header value of
/// rappels-smtp): every control character (CR, LF, TAB…) and every run of white space
/// (including Unicode line separators) becomes a single space, and the ends are trimmed. A CR or LF in a subject would let a first name or a
/// session subject inject mail headers.
pub fn header_line(raw: &str) -> String {
    let mut line = String::with_capacity(raw.len());
    for word in raw
        .split(|c: char| c.is_control() || c.is_whitespace())
        .filter(|w| !w.is_empty())
    {
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    line
}

/// Refuses a session or request of another student; `record` and `id` name it in the error
/// (written only then).
pub(super) fn check_owner(
    record: &str,
    id: i64,
    owner: StudentId,
    student: &Student,
) -> Result<(), MessageError> {
    if owner == student.id {
        Ok(())
    } else {
        Err(MessageError::WrongStudent {
            record: format!("{record} {id}"),
            owner,
            student: student.id,
        })
    }
}

/// Renders a compiled template with `registry`'s helpers, escaping and strict mode, as the
/// registry renders its own templates.
pub(super) fn render_compiled(
    registry: &Handlebars<'static>,
    template: &Template,
    name: Option<&String>,
    context: &Context,
) -> Result<String, RenderError> {
    let mut out = StringSink(String::new());
    template.render(registry, context, &mut RenderContext::new(name), &mut out)?;
    Ok(out.0)
}
