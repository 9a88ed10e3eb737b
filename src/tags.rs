//! Tags, once for every service: the set a resource holds and AWS's tag
//! rules. What a service adds is its own: which resources are taggable, the
//! shape its wire uses (`Tag {key, value}` in camelCase or PascalCase, or a
//! key -> value map), and the exception and words it answers a broken rule
//! with. So the rules here return a `TagViolation` saying what was broken,
//! never an error of some service's.
//!
//! This module sits low in the import order: it uses no other module of
//! the crate, so every service may use it.

use std::collections::BTreeMap;
use std::fmt;

/// The most tags one resource may hold, after a request's are merged in.
pub const MAX_TAGS_PER_RESOURCE: usize = 50;
/// A key is 1 to this many characters (Unicode scalar values, as AWS counts).
pub const MAX_KEY_CHARS: usize = 128;
/// A value is 0 to this many characters.
pub const MAX_VALUE_CHARS: usize = 256;
/// Keys beginning with this, in any case, are AWS's own.
pub const RESERVED_PREFIX: &str = "aws:";

// ---- the set a resource holds ----------------------------------------------

/// The tags of one resource: unique keys, each with one value, in the order
/// the keys were first given. Insertion order (not key order) because that
/// is the order the list-shaped answers (ECS, EC2, Secrets Manager) have
/// always come back in; a map-shaped answer (Logs) sorts by itself.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TagSet {
    pairs: Vec<(String, String)>,
}

impl TagSet {
    pub fn new() -> Self {
        TagSet::default()
    }

    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// (key, value) pairs, in the set's order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Sets one tag: a key already held keeps its place and takes the new
    /// value; a new key goes last.
    pub fn insert(&mut self, key: String, value: String) {
        match self.pairs.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => *v = value,
            None => self.pairs.push((key, value)),
        }
    }

    /// Merges `new` over these tags, as every TagResource does: a key given
    /// again replaces its value, other keys stay.
    pub fn merge(&mut self, new: impl IntoIterator<Item = (String, String)>) {
        for (key, value) in new {
            self.insert(key, value);
        }
    }

    /// These tags with `new` merged over them, refused (and nothing changed)
    /// when the result would hold more than `MAX_TAGS_PER_RESOURCE`. AWS's
    /// own tags (`aws:...`, e.g. ECS's managed tags) "do not count against
    /// your tags per resource limit" (the TagResource API reference).
    pub fn merged_within_limit(
        &self,
        new: impl IntoIterator<Item = (String, String)>,
    ) -> Result<TagSet, TagViolation> {
        let mut merged = self.clone();
        merged.merge(new);
        check_count(merged.iter().filter(|(k, _)| !is_reserved_key(k)).count())?;
        Ok(merged)
    }

    /// Removes the tags with these keys; a key not held is simply not there
    /// to remove (UntagResource succeeds for it).
    pub fn remove_keys<'a>(&mut self, keys: impl IntoIterator<Item = &'a str>) {
        for key in keys {
            self.pairs.retain(|(k, _)| k != key);
        }
    }

    /// Removes the tag `key` if its value is `value`, or whatever its value
    /// when `value` is `None`: EC2's DeleteTags, where a tag named with a
    /// value goes only if the value matches.
    pub fn remove_matching(&mut self, key: &str, value: Option<&str>) {
        self.pairs
            .retain(|(k, v)| !(k == key && value.is_none_or(|wanted| wanted == v)));
    }

    pub fn clear(&mut self) {
        self.pairs.clear();
    }

    /// The tags as a service's list of `Tag` shapes, in the set's order.
    pub fn to_shapes<T: TagShape>(&self) -> Vec<T> {
        self.pairs
            .iter()
            .map(|(k, v)| T::from_pair(k.clone(), v.clone()))
            .collect()
    }

    /// A set from a service's list of `Tag` shapes: a missing key or value
    /// is empty, and a key given twice keeps its first place and its last
    /// value (as merging the list tag by tag would).
    pub fn from_shapes<T: TagShape>(shapes: &[T]) -> TagSet {
        shapes.iter().map(pair_of).collect()
    }

    /// The tags as a key -> value map (the Logs wire shape), sorted by key.
    pub fn to_map(&self) -> BTreeMap<String, String> {
        self.pairs.iter().cloned().collect()
    }
}

impl FromIterator<(String, String)> for TagSet {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(iter: I) -> Self {
        let mut set = TagSet::new();
        set.merge(iter);
        set
    }
}

impl IntoIterator for TagSet {
    type Item = (String, String);
    type IntoIter = std::vec::IntoIter<(String, String)>;

    fn into_iter(self) -> Self::IntoIter {
        self.pairs.into_iter()
    }
}

/// A service's generated `Tag` shape; each service implements it for its
/// own next to its handlers, and `TagSet` converts from and to it.
pub trait TagShape {
    fn tag_key(&self) -> Option<&str>;
    fn tag_value(&self) -> Option<&str>;
    fn from_pair(key: String, value: String) -> Self;
}

/// `impl TagShape` for a generated `Tag` shape whose members are
/// `key: Option<String>` and `value: Option<String>` (ECS, EC2, EFS,
/// Secrets Manager, SSM: each service's model has a `Tag` of its own).
#[macro_export]
macro_rules! tag_shape {
    ($ty:ty) => {
        impl $crate::tags::TagShape for $ty {
            fn tag_key(&self) -> Option<&str> {
                self.key.as_deref()
            }
            fn tag_value(&self) -> Option<&str> {
                self.value.as_deref()
            }
            fn from_pair(key: String, value: String) -> Self {
                Self {
                    key: Some(key),
                    value: Some(value),
                }
            }
        }
    };
}

/// A shape's (key, value), a missing member read as empty.
pub fn pair_of<T: TagShape>(tag: &T) -> (String, String) {
    (
        tag.tag_key().unwrap_or_default().to_string(),
        tag.tag_value().unwrap_or_default().to_string(),
    )
}

/// A list of shapes as borrowed (key, value) pairs, for `check`.
pub fn pairs_of<T: TagShape>(tags: &[T]) -> impl Iterator<Item = (&str, &str)> {
    tags.iter().map(|t| {
        (
            t.tag_key().unwrap_or_default(),
            t.tag_value().unwrap_or_default(),
        )
    })
}

// ---- the rules ---------------------------------------------------------------

/// Which of AWS's tag rules a service enforces beyond the lengths, which
/// every service checks. They differ per service in AWS (and in ecsbox,
/// where a service has not caught up yet), so each names its own.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rules {
    /// Only letters, digits, whitespace and `_.:/=+-@` in keys and values.
    pub characters: bool,
    /// Keys beginning with `aws:` (any case) are refused.
    pub reserved_prefix: bool,
    /// A key given twice in one request is refused (rather than the later
    /// value winning).
    pub unique_keys: bool,
}

/// Which rule a tag broke, with what the service needs to word it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagViolation {
    /// A key of no characters.
    EmptyKey,
    /// A key longer than `MAX_KEY_CHARS`.
    KeyTooLong { key: String },
    /// A key with a character outside the allowed ones.
    KeyCharacters { key: String },
    /// A value longer than `MAX_VALUE_CHARS`.
    ValueTooLong { key: String, value: String },
    /// A value with a character outside the allowed ones.
    ValueCharacters { key: String, value: String },
    /// A key with the `aws:` prefix.
    ReservedKey { key: String },
    /// A key given more than once in one request.
    DuplicateKey { key: String },
    /// More than `MAX_TAGS_PER_RESOURCE` tags, given or after merging.
    TooMany { count: usize },
}

impl fmt::Display for TagViolation {
    /// A neutral description, for logs and tests; services answer in their
    /// own words instead.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TagViolation::EmptyKey => write!(f, "a tag key is empty"),
            TagViolation::KeyTooLong { key } => {
                write!(
                    f,
                    "tag key '{key}' is longer than {MAX_KEY_CHARS} characters"
                )
            }
            TagViolation::KeyCharacters { key } => {
                write!(f, "tag key '{key}' has a character tags do not allow")
            }
            TagViolation::ValueTooLong { key, .. } => write!(
                f,
                "the value of tag '{key}' is longer than {MAX_VALUE_CHARS} characters"
            ),
            TagViolation::ValueCharacters { key, .. } => {
                write!(
                    f,
                    "the value of tag '{key}' has a character tags do not allow"
                )
            }
            TagViolation::ReservedKey { key } => {
                write!(
                    f,
                    "tag key '{key}' begins with the reserved '{RESERVED_PREFIX}'"
                )
            }
            TagViolation::DuplicateKey { key } => write!(f, "tag key '{key}' is given twice"),
            TagViolation::TooMany { count } => write!(
                f,
                "{count} tags, more than the {MAX_TAGS_PER_RESOURCE} a resource may hold"
            ),
        }
    }
}

/// The characters AWS allows in tag keys and values where a service
/// enforces them: `^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$`, read as Rust's
/// alphanumeric and whitespace classes.
pub fn allowed_char(c: char) -> bool {
    c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c)
}

/// Whether `key` is one of AWS's own (`aws:`, in any case).
pub fn is_reserved_key(key: &str) -> bool {
    key.get(..RESERVED_PREFIX.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(RESERVED_PREFIX))
}

/// At most `MAX_TAGS_PER_RESOURCE` tags.
pub fn check_count(count: usize) -> Result<(), TagViolation> {
    if count > MAX_TAGS_PER_RESOURCE {
        return Err(TagViolation::TooMany { count });
    }
    Ok(())
}

/// The tags of one request, tag by tag in the order given, each checked in
/// a fixed order (key length, key characters, value length, value
/// characters, reserved prefix, repeated key): the first broken rule is
/// the answer, as AWS reports one at a time. The count is the caller's to
/// check, before or after merging as its service does.
pub fn check<'a>(
    tags: impl IntoIterator<Item = (&'a str, &'a str)>,
    rules: Rules,
) -> Result<(), TagViolation> {
    let mut seen = std::collections::HashSet::new();
    for (key, value) in tags {
        let owned = || key.to_string();
        if key.is_empty() {
            return Err(TagViolation::EmptyKey);
        }
        if key.chars().count() > MAX_KEY_CHARS {
            return Err(TagViolation::KeyTooLong { key: owned() });
        }
        if rules.characters && !key.chars().all(allowed_char) {
            return Err(TagViolation::KeyCharacters { key: owned() });
        }
        if value.chars().count() > MAX_VALUE_CHARS {
            let value = value.to_string();
            return Err(TagViolation::ValueTooLong {
                key: owned(),
                value,
            });
        }
        if rules.characters && !value.chars().all(allowed_char) {
            let value = value.to_string();
            return Err(TagViolation::ValueCharacters {
                key: owned(),
                value,
            });
        }
        if rules.reserved_prefix && is_reserved_key(key) {
            return Err(TagViolation::ReservedKey { key: owned() });
        }
        if rules.unique_keys && !seen.insert(key) {
            return Err(TagViolation::DuplicateKey { key: owned() });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(pairs: &[(&str, &str)]) -> TagSet {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn listed(tags: &TagSet) -> Vec<(&str, &str)> {
        tags.iter().collect()
    }

    const ALL: Rules = Rules {
        characters: true,
        reserved_prefix: true,
        unique_keys: true,
    };

    #[test]
    fn merging_replaces_given_keys_in_place_and_appends_new_ones() {
        let mut tags = set(&[("team", "a"), ("env", "dev")]);
        tags.merge(set(&[("env", "prod"), ("owner", "me")]));
        assert_eq!(
            listed(&tags),
            [("team", "a"), ("env", "prod"), ("owner", "me")]
        );
        assert_eq!(tags.get("env"), Some("prod"));
        // A list with a key twice: first place, last value.
        assert_eq!(
            listed(&set(&[("a", "1"), ("b", "2"), ("a", "3")])),
            [("a", "3"), ("b", "2")]
        );
    }

    #[test]
    fn removing_by_key_ignores_keys_not_held() {
        let mut tags = set(&[("a", "1"), ("b", "2"), ("c", "3")]);
        tags.remove_keys(["a", "absent", "c"]);
        assert_eq!(listed(&tags), [("b", "2")]);
    }

    #[test]
    fn removing_by_key_and_value_needs_the_value_to_match() {
        let mut tags = set(&[("a", "1"), ("b", "2"), ("c", "")]);
        tags.remove_matching("a", Some("other"));
        tags.remove_matching("b", None);
        tags.remove_matching("c", Some(""));
        assert_eq!(listed(&tags), [("a", "1")]);
        tags.remove_matching("a", Some("1"));
        assert!(tags.is_empty());
    }

    #[test]
    fn fifty_tags_fit_and_fifty_one_do_not_after_merging() {
        let fifty: TagSet = (0..50).map(|i| (format!("k{i}"), "v".into())).collect();
        assert_eq!(check_count(50), Ok(()));
        assert_eq!(check_count(51), Err(TagViolation::TooMany { count: 51 }));
        // Replacing a held key adds nothing; a new one is the 51st.
        let same = fifty.merged_within_limit(set(&[("k0", "new")])).unwrap();
        assert_eq!((same.len(), same.get("k0")), (50, Some("new")));
        assert_eq!(
            fifty.merged_within_limit(set(&[("k0", "x"), ("one-more", "v")])),
            Err(TagViolation::TooMany { count: 51 })
        );
    }

    #[test]
    fn keys_are_one_to_128_characters() {
        let k128 = "k".repeat(128);
        let k129 = "k".repeat(129);
        assert_eq!(check([(k128.as_str(), "v")], ALL), Ok(()));
        assert_eq!(
            check([(k129.as_str(), "v")], ALL),
            Err(TagViolation::KeyTooLong { key: k129.clone() })
        );
        assert_eq!(check([("", "v")], ALL), Err(TagViolation::EmptyKey));
        // Characters, not bytes.
        assert_eq!(check([("é".repeat(128).as_str(), "v")], ALL), Ok(()));
    }

    #[test]
    fn values_are_zero_to_256_characters() {
        let v256 = "v".repeat(256);
        let v257 = "v".repeat(257);
        assert_eq!(check([("k", ""), ("l", v256.as_str())], ALL), Ok(()));
        assert_eq!(
            check([("k", v257.as_str())], ALL),
            Err(TagViolation::ValueTooLong {
                key: "k".into(),
                value: v257.clone()
            })
        );
    }

    #[test]
    fn the_aws_prefix_is_reserved_in_any_case_where_the_service_says() {
        for key in ["aws:owner", "AWS:owner", "Aws:x"] {
            assert_eq!(
                check([(key, "v")], ALL),
                Err(TagViolation::ReservedKey { key: key.into() })
            );
            assert_eq!(check([(key, "v")], Rules::default()), Ok(()));
        }
        assert_eq!(
            check([("aws", "v"), ("awsome:x", "v"), ("é", "v")], ALL),
            Ok(())
        );
        assert!(!is_reserved_key("aw"));
    }

    #[test]
    fn characters_and_repeated_keys_only_where_the_service_says() {
        assert_eq!(
            check([("a*b", "v")], ALL),
            Err(TagViolation::KeyCharacters { key: "a*b".into() })
        );
        assert_eq!(
            check([("k", "v#")], ALL),
            Err(TagViolation::ValueCharacters {
                key: "k".into(),
                value: "v#".into()
            })
        );
        assert_eq!(check([("Name é 1", "a_b.c:d/e=f+g-h@i")], ALL), Ok(()));
        assert_eq!(
            check([("a", "1"), ("a", "2")], ALL),
            Err(TagViolation::DuplicateKey { key: "a".into() })
        );
        assert_eq!(
            check([("a*b", "#"), ("a", "1"), ("a", "2")], Rules::default()),
            Ok(())
        );
    }

    #[test]
    fn the_first_broken_rule_of_the_first_bad_tag_is_the_answer() {
        let long = "v".repeat(257);
        // The value's length before the repeated key, the key before the value.
        assert_eq!(
            check([("a", "1"), ("a", long.as_str())], ALL),
            Err(TagViolation::ValueTooLong {
                key: "a".into(),
                value: long.clone()
            })
        );
        assert_eq!(
            check([("", long.as_str())], ALL),
            Err(TagViolation::EmptyKey)
        );
    }

    #[test]
    fn maps_are_sorted_by_key() {
        let tags = set(&[("b", "2"), ("a", "1")]);
        assert_eq!(
            tags.to_map().into_iter().collect::<Vec<_>>(),
            [
                ("a".to_string(), "1".to_string()),
                ("b".to_string(), "2".to_string())
            ]
        );
    }
}
