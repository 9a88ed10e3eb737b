//! Which endpoint a request is for. The paths are the ECS agent's:
//!
//! ```text
//! GET /v4/<token>                 this container        (ECS_CONTAINER_METADATA_URI_V4)
//! GET /v4/<token>/task            its task
//! GET /v4/<token>/taskWithTags    its task, with the task's and instance's tags
//! GET /v4/<token>/stats           this container's Docker stats
//! GET /v4/<token>/task/stats      Docker stats of each container of the task
//! GET /v3/<token>...              the same in version 3 (ECS_CONTAINER_METADATA_URI)
//! GET /v2/credentials/<id>        task-role credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI)
//! GET /v1/credentials?id=<id>     the older form of the same
//! ```
//!
//! Everything else is not ours: the listener hands it to the ECS API.

/// Task metadata endpoint version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V3,
    V4,
}

impl Version {
    pub fn label(self) -> &'static str {
        match self {
            Version::V3 => "V3",
            Version::V4 => "V4",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Container {
        version: Version,
        token: String,
    },
    Task {
        version: Version,
        token: String,
        with_tags: bool,
    },
    ContainerStats {
        version: Version,
        token: String,
    },
    TaskStats {
        version: Version,
        token: String,
    },
    /// `id` is None (or empty) when the request names none.
    Credentials {
        api_version: u8,
        id: Option<String>,
    },
    /// Under a metadata prefix but no endpoint the agent has: its router's 404.
    NoSuchPath,
}

/// The endpoint a request is for, or None when it is not a metadata or
/// credentials request.
pub fn route(method: &http::Method, path: &str, query: Option<&str>) -> Option<Route> {
    if method != http::Method::GET {
        return None;
    }
    if let Some(rest) = path.strip_prefix("/v2/credentials") {
        return Some(match rest.strip_prefix('/') {
            Some(id) => Route::Credentials {
                api_version: 2,
                id: Some(id.to_string()),
            },
            None if rest.is_empty() => Route::Credentials {
                api_version: 2,
                id: None,
            },
            None => Route::NoSuchPath,
        });
    }
    if path == "/v1/credentials" {
        return Some(Route::Credentials {
            api_version: 1,
            id: query_param(query.unwrap_or(""), "id"),
        });
    }
    let (version, rest) = if let Some(rest) = path.strip_prefix("/v4/") {
        (Version::V4, rest)
    } else if let Some(rest) = path.strip_prefix("/v3/") {
        (Version::V3, rest)
    } else {
        return None;
    };
    let (token, sub) = rest.split_once('/').unwrap_or((rest, ""));
    let token = token.to_string();
    Some(match sub {
        "" => Route::Container { version, token },
        "task" => Route::Task {
            version,
            token,
            with_tags: false,
        },
        "taskWithTags" => Route::Task {
            version,
            token,
            with_tags: true,
        },
        "stats" => Route::ContainerStats { version, token },
        "task/stats" => Route::TaskStats { version, token },
        _ => Route::NoSuchPath,
    })
}

fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == name).then(|| v.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Method;

    fn get(path: &str) -> Option<Route> {
        let (path, query) = path
            .split_once('?')
            .map(|(p, q)| (p, Some(q)))
            .unwrap_or((path, None));
        route(&Method::GET, path, query)
    }

    #[test]
    fn metadata_paths_of_both_versions() {
        let t = "5e1b6b8a-6f8e-4d8f-9c1e-0a1b2c3d4e5f".to_string();
        assert_eq!(
            get(&format!("/v4/{t}")),
            Some(Route::Container {
                version: Version::V4,
                token: t.clone()
            })
        );
        assert_eq!(
            get(&format!("/v3/{t}")),
            Some(Route::Container {
                version: Version::V3,
                token: t.clone()
            })
        );
        assert_eq!(
            get(&format!("/v4/{t}/task")),
            Some(Route::Task {
                version: Version::V4,
                token: t.clone(),
                with_tags: false
            })
        );
        assert_eq!(
            get(&format!("/v4/{t}/taskWithTags")),
            Some(Route::Task {
                version: Version::V4,
                token: t.clone(),
                with_tags: true
            })
        );
        assert_eq!(
            get(&format!("/v3/{t}/stats")),
            Some(Route::ContainerStats {
                version: Version::V3,
                token: t.clone()
            })
        );
        assert_eq!(
            get(&format!("/v4/{t}/task/stats")),
            Some(Route::TaskStats {
                version: Version::V4,
                token: t.clone()
            })
        );
        assert_eq!(get(&format!("/v4/{t}/nonsense")), Some(Route::NoSuchPath));
    }

    #[test]
    fn credentials_paths() {
        assert_eq!(
            get("/v2/credentials/abc"),
            Some(Route::Credentials {
                api_version: 2,
                id: Some("abc".into())
            })
        );
        assert_eq!(
            get("/v2/credentials"),
            Some(Route::Credentials {
                api_version: 2,
                id: None
            })
        );
        assert_eq!(
            get("/v2/credentials/"),
            Some(Route::Credentials {
                api_version: 2,
                id: Some(String::new())
            })
        );
        assert_eq!(
            get("/v1/credentials?id=abc"),
            Some(Route::Credentials {
                api_version: 1,
                id: Some("abc".into())
            })
        );
        assert_eq!(
            get("/v1/credentials"),
            Some(Route::Credentials {
                api_version: 1,
                id: None
            })
        );
    }

    #[test]
    fn api_requests_are_not_ours() {
        assert_eq!(route(&Method::POST, "/", None), None);
        assert_eq!(get("/"), None);
        assert_eq!(get("/_ecsbox/health"), None);
        assert_eq!(route(&Method::POST, "/v4/token", None), None);
    }
}
