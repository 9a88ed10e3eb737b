//! Which endpoint of the Distribution API a path names. Repository names
//! may hold slashes (`team/web`), so a path is read from its end: the last
//! segments say the endpoint, everything between `/v2/` and them is the
//! name.

use super::errors::RegistryError;
use http::StatusCode;
use percent_encoding::percent_decode_str;

#[derive(Debug, PartialEq, Eq)]
pub enum Route {
    /// `/v2/`: the version check (and the login's probe).
    Base,
    /// `/v2/_catalog`
    Catalog,
    /// `/v2/<name>/tags/list`
    Tags { name: String },
    /// `/v2/<name>/manifests/<reference>` (a tag or a digest)
    Manifest { name: String, reference: String },
    /// `/v2/<name>/blobs/<digest>`
    Blob { name: String, digest: String },
    /// `/v2/<name>/blobs/uploads/`
    Uploads { name: String },
    /// `/v2/<name>/blobs/uploads/<uuid>`
    Upload { name: String, id: String },
}

/// Whether a path is the registry's at all (everything else is a plain 404,
/// with no challenge).
pub fn is_api(path: &str) -> bool {
    path == "/v2" || path.starts_with("/v2/")
}

/// The route of a path under `/v2`, or why there is none.
pub fn parse(path: &str) -> Result<Route, RegistryError> {
    let not_found = || RegistryError::unsupported(StatusCode::NOT_FOUND);
    let rest = match path {
        "/v2" | "/v2/" => return Ok(Route::Base),
        _ => path.strip_prefix("/v2/").ok_or_else(not_found)?,
    };
    if rest == "_catalog" {
        return Ok(Route::Catalog);
    }
    let segments: Vec<String> = rest
        .split('/')
        .map(|s| percent_decode_str(s).decode_utf8_lossy().into_owned())
        .collect();
    let n = segments.len();
    let tail = |k: usize| -> Option<&str> { n.checked_sub(k).map(|i| segments[i].as_str()) };
    let name_of = |k: usize| -> Result<String, RegistryError> {
        let name = segments[..n - k].join("/");
        if is_repository_name(&name) {
            Ok(name)
        } else {
            Err(RegistryError::name_invalid(&name))
        }
    };
    // The longest endings first: `blobs/uploads/<id>` also ends `x/<id>`.
    if n >= 4 && tail(3) == Some("blobs") && tail(2) == Some("uploads") {
        let id = segments[n - 1].clone();
        let name = name_of(3)?;
        return Ok(if id.is_empty() {
            Route::Uploads { name }
        } else {
            Route::Upload { name, id }
        });
    }
    if n >= 3 && tail(2) == Some("tags") && tail(1) == Some("list") {
        return Ok(Route::Tags { name: name_of(2)? });
    }
    if n >= 3 && tail(2) == Some("blobs") && tail(1) == Some("uploads") {
        // `/blobs/uploads` without its final slash.
        return Ok(Route::Uploads { name: name_of(2)? });
    }
    if n >= 3 && !segments[n - 1].is_empty() {
        let last = segments[n - 1].clone();
        match tail(2) {
            Some("manifests") => {
                return Ok(Route::Manifest {
                    name: name_of(2)?,
                    reference: last,
                })
            }
            Some("blobs") => {
                return Ok(Route::Blob {
                    name: name_of(2)?,
                    digest: last,
                })
            }
            _ => {}
        }
    }
    Err(not_found())
}

/// ECR's repository name rule: slash-separated components of lower-case
/// letters and digits, joined inside by single `.`, `_` or `-`, 2 to 256
/// characters in all (the pattern of CreateRepository's repositoryName).
pub fn is_repository_name(name: &str) -> bool {
    (2..=256).contains(&name.len())
        && name.split('/').all(|component| {
            let bytes = component.as_bytes();
            let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
            let separator = |b: &u8| matches!(b, b'.' | b'_' | b'-');
            !bytes.is_empty()
                && bytes.first().is_some_and(alnum)
                && bytes.last().is_some_and(alnum)
                && bytes.iter().all(|b| alnum(b) || separator(b))
                && !bytes
                    .windows(2)
                    .any(|w| separator(&w[0]) && separator(&w[1]))
        })
}

/// A tag as the distribution spec has them: `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`.
pub fn is_tag(reference: &str) -> bool {
    let bytes = reference.as_bytes();
    let word = |b: &u8| b.is_ascii_alphanumeric() || *b == b'_';
    (1..=128).contains(&bytes.len())
        && word(&bytes[0])
        && bytes.iter().all(|b| word(b) || matches!(b, b'.' | b'-'))
}

/// The query's pairs, decoded.
pub fn query(uri: &http::Uri) -> Vec<(String, String)> {
    uri.query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default()
}

pub fn query_value<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(path: &str) -> Route {
        parse(path).unwrap_or_else(|e| panic!("{path}: {e:?}"))
    }

    #[test]
    fn names_with_slashes_are_read_from_the_end() {
        assert_eq!(route("/v2/"), Route::Base);
        assert_eq!(route("/v2/_catalog"), Route::Catalog);
        assert_eq!(
            route("/v2/team/web/manifests/v1"),
            Route::Manifest {
                name: "team/web".into(),
                reference: "v1".into()
            }
        );
        assert_eq!(
            route("/v2/a/blobs/b/blobs/sha256:00"),
            Route::Blob {
                name: "a/blobs/b".into(),
                digest: "sha256:00".into()
            }
        );
        assert_eq!(
            route("/v2/team/web/blobs/uploads/"),
            Route::Uploads {
                name: "team/web".into()
            }
        );
        assert_eq!(
            route("/v2/web/blobs/uploads/abc"),
            Route::Upload {
                name: "web".into(),
                id: "abc".into()
            }
        );
        assert_eq!(
            route("/v2/x/tags/list/tags/list"),
            Route::Tags {
                name: "x/tags/list".into()
            }
        );
        assert_eq!(
            route("/v2/web/blobs/sha256%3Aab"),
            Route::Blob {
                name: "web".into(),
                digest: "sha256:ab".into()
            }
        );
    }

    #[test]
    fn garbage_is_refused_not_guessed() {
        for path in [
            "/v2/web",
            "/v2/web/manifests/",
            "/v2/manifests/v1",
            "/v2//manifests/v1",
            "/v3/web/manifests/v1",
        ] {
            assert!(parse(path).is_err(), "{path}");
        }
        assert_eq!(
            parse("/v2/Web/manifests/v1").unwrap_err().code,
            "NAME_INVALID"
        );
        assert_eq!(
            parse("/v2/a//b/manifests/v1").unwrap_err().code,
            "NAME_INVALID"
        );
    }

    #[test]
    fn repository_names_and_tags_follow_ecr_and_the_spec() {
        assert!(is_repository_name("team/web-app_1.x"));
        assert!(!is_repository_name("a"));
        assert!(!is_repository_name("web--app"));
        assert!(!is_repository_name("-web"));
        assert!(!is_repository_name("web/"));
        assert!(is_tag("v1.0-rc_2"));
        assert!(!is_tag(".hidden"));
        assert!(!is_tag(&"x".repeat(129)));
    }
}
