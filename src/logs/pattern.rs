//! Filter patterns for unstructured log events, as CloudWatch Logs documents
//! them: space-separated terms that must all appear (`ERROR Exception`),
//! `"quoted phrases"` matched whole, `?term` of which at least one must
//! appear (`?ERROR ?WARN`), and `-term` that must not appear. Terms are
//! case-sensitive substrings. JSON (`{ $.x = 1 }`), space-delimited
//! (`[ip, user]`) and regex (`%...%`) patterns are refused, not misread.

use super::errors::invalid_parameter;
use crate::protocol::ApiError;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pattern {
    required: Vec<String>,
    any_of: Vec<String>,
    excluded: Vec<String>,
}

impl Pattern {
    /// An absent or blank pattern matches every event.
    pub fn parse(text: &str) -> Result<Pattern, ApiError> {
        let text = text.trim();
        if text.starts_with(['{', '[', '%']) {
            return Err(invalid_parameter(format!(
                "ecsbox supports only plain-term filter patterns (terms, \"quoted phrases\", ?optional and -excluded terms), not '{text}'."
            )));
        }
        let mut pattern = Pattern::default();
        for (kind, term) in terms(text)? {
            match kind {
                Some('?') => pattern.any_of.push(term),
                Some('-') => pattern.excluded.push(term),
                _ => pattern.required.push(term),
            }
        }
        Ok(pattern)
    }

    pub fn matches(&self, message: &str) -> bool {
        self.required.iter().all(|t| message.contains(t.as_str()))
            && (self.any_of.is_empty() || self.any_of.iter().any(|t| message.contains(t.as_str())))
            && !self.excluded.iter().any(|t| message.contains(t.as_str()))
    }
}

/// Splits on whitespace outside double quotes; each term with its `?`/`-`
/// marker, if any. Inside quotes `\"` is a quote.
fn terms(text: &str) -> Result<Vec<(Option<char>, String)>, ApiError> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let Some(&first) = chars.peek() else { break };
        let marker = if first == '?' || first == '-' {
            chars.next();
            Some(first)
        } else {
            None
        };
        let mut term = String::new();
        if chars.next_if_eq(&'"').is_some() {
            loop {
                match chars.next() {
                    None => {
                        return Err(invalid_parameter(format!(
                            "Invalid filter pattern '{text}': a quoted term is not closed."
                        )))
                    }
                    Some('"') => break,
                    Some('\\') if chars.peek() == Some(&'"') => term.push(chars.next().unwrap()),
                    Some(c) => term.push(c),
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                term.push(c);
            }
        }
        if !term.is_empty() {
            out.push((marker, term));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, message: &str) -> bool {
        Pattern::parse(pattern).unwrap().matches(message)
    }

    #[test]
    fn blank_matches_everything() {
        assert!(m("", "anything"));
        assert!(m("   ", "anything"));
    }

    #[test]
    fn every_term_must_appear_case_sensitively() {
        assert!(m("ERROR timeout", "[ERROR] request timeout"));
        assert!(!m("ERROR timeout", "[ERROR] request failed"));
        assert!(!m("ERROR", "[error] lowercase"));
    }

    #[test]
    fn quoted_phrases_match_whole() {
        assert!(m("\"request failed\"", "the request failed twice"));
        assert!(!m("\"request failed\"", "the request has failed"));
        assert!(m(r#""say \"hi\"""#, r#"they say "hi""#));
    }

    #[test]
    fn question_marked_terms_are_alternatives() {
        assert!(m("?ERROR ?WARN", "WARN disk"));
        assert!(m("?ERROR ?WARN", "ERROR disk"));
        assert!(!m("?ERROR ?WARN", "INFO disk"));
    }

    #[test]
    fn minus_terms_exclude() {
        assert!(m("ERROR -ARGUMENTS", "ERROR bad input"));
        assert!(!m("ERROR -ARGUMENTS", "ERROR ARGUMENTS missing"));
    }

    #[test]
    fn structured_and_broken_patterns_are_refused() {
        assert_eq!(
            Pattern::parse("{ $.level = \"x\" }").unwrap_err().code,
            "InvalidParameterException"
        );
        assert!(Pattern::parse("[ip, user]").is_err());
        assert!(Pattern::parse("\"unclosed").is_err());
    }
}
