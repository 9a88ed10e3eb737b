//! EC2's `Filter.N.Name` / `Filter.N.Value.M`: filters are ANDed, the
//! values of one filter ORed, `*` and `?` are wildcards, `tag:KEY` matches a
//! tag's value and `tag-key` a tag's key. A filter name a resource does not
//! know is refused, as EC2 does.

use crate::model::ec2::shapes::{Filter, Tag};
use crate::protocol::ApiError;

/// What a resource answers for a filter name: its values, or `None` when
/// the resource has no such filter.
pub trait Filterable {
    fn filter_values(&self, name: &str) -> Option<Vec<String>>;
    fn tags(&self) -> &[Tag];
}

/// Whether `resource` passes every filter; an unknown filter name is an
/// `InvalidParameterValue` naming it.
pub fn matches(resource: &impl Filterable, filters: &[Filter]) -> Result<bool, ApiError> {
    for filter in filters {
        let name = filter.name.as_deref().unwrap_or("");
        let wanted = filter.values.as_deref().unwrap_or(&[]);
        let have: Vec<String> = if let Some(key) = name.strip_prefix("tag:") {
            resource
                .tags()
                .iter()
                .filter(|t| t.key.as_deref() == Some(key))
                .filter_map(|t| t.value.clone())
                .collect()
        } else if name == "tag-key" {
            resource
                .tags()
                .iter()
                .filter_map(|t| t.key.clone())
                .collect()
        } else if name == "tag-value" {
            resource
                .tags()
                .iter()
                .filter_map(|t| t.value.clone())
                .collect()
        } else {
            resource.filter_values(name).ok_or_else(|| {
                ApiError::protocol(
                    "InvalidParameterValue",
                    400,
                    format!("The filter '{name}' is invalid"),
                )
            })?
        };
        if !wanted.iter().any(|w| have.iter().any(|h| wildcard(w, h))) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// EC2's filter wildcards: `*` any run of characters, `?` one character.
fn wildcard(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::wildcard;

    #[test]
    fn wildcards() {
        assert!(wildcard("subnet-*", "subnet-0abc"));
        assert!(wildcard("us-east-1?", "us-east-1a"));
        assert!(!wildcard("us-east-1?", "us-east-1"));
        assert!(wildcard("exact", "exact"));
        assert!(!wildcard("exact", "exactly"));
    }
}
