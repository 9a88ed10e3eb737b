//! `GET /v2/<name>/tags/list` and `GET /v2/_catalog`, paged as the spec
//! pages them: `n` items after `last`, sorted, and a `Link` to the next
//! page while there is one.

use super::body::{self, ResponseBody};
use super::errors::RegistryError;
use super::routes::{query, query_value};
use super::Ctx;
use http::{header, Response, StatusCode, Uri};
use serde_json::json;

pub fn tags(ctx: &Ctx<'_>, name: &str, uri: &Uri) -> Result<Response<ResponseBody>, RegistryError> {
    let all: Vec<String> = ctx.repo(name, |repo, _| {
        repo.tag_names().into_iter().map(str::to_string).collect()
    })?;
    let (page, next) = page(all, uri, &format!("/v2/{name}/tags/list"))?;
    answer(json!({ "name": name, "tags": page }), next)
}

/// The caller's repositories (its token's account and region).
pub fn catalog(ctx: &Ctx<'_>, uri: &Uri) -> Result<Response<ResponseBody>, RegistryError> {
    let all: Vec<String> = ctx
        .ecr
        .with_region(&ctx.holder.account, &ctx.holder.region, |r| {
            r.repositories.keys().cloned().collect()
        });
    let (page, next) = page(all, uri, "/v2/_catalog")?;
    answer(json!({ "repositories": page }), next)
}

/// One page of `sorted` as the query asks, and the Link to the next.
fn page(
    sorted: Vec<String>,
    uri: &Uri,
    path: &str,
) -> Result<(Vec<String>, Option<String>), RegistryError> {
    let q = query(uri);
    let n = match query_value(&q, "n") {
        None | Some("") => None,
        Some(n) => Some(n.parse::<usize>().map_err(|_| {
            RegistryError::new(
                StatusCode::BAD_REQUEST,
                "PAGINATION_NUMBER_INVALID",
                "invalid number of results requested",
            )
            .with_detail(serde_json::json!({ "n": n }))
        })?),
    };
    let last = query_value(&q, "last").unwrap_or("");
    let mut rest: Vec<String> = sorted
        .into_iter()
        .filter(|item| last.is_empty() || item.as_str() > last)
        .collect();
    let Some(n) = n else {
        return Ok((rest, None));
    };
    let more = rest.len() > n;
    rest.truncate(n);
    let next = match rest.last() {
        Some(last) if more => {
            let last: String = form_urlencoded::byte_serialize(last.as_bytes()).collect();
            Some(format!("<{path}?n={n}&last={last}>; rel=\"next\""))
        }
        _ => None,
    };
    Ok((rest, next))
}

fn answer(
    doc: serde_json::Value,
    next: Option<String>,
) -> Result<Response<ResponseBody>, RegistryError> {
    let bytes = serde_json::to_vec(&doc).map_err(RegistryError::internal)?;
    let mut builder = Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json; charset=utf-8");
    if let Some(link) = next {
        builder = builder.header(header::LINK, link);
    }
    Ok(builder.body(body::full(bytes)).expect("valid headers"))
}
