//! Parsing the SigV4 `Authorization` header:
//! `AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/SERVICE/aws4_request,
//! SignedHeaders=a;b, Signature=hex`.

use crate::protocol::ApiError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationHeader {
    pub access_key: String,
    /// The scope's date, YYYYMMDD.
    pub date: String,
    pub region: String,
    pub service: String,
    /// Lower-case header names, in the order the client listed them.
    pub signed_headers: Vec<String>,
    pub signature: String,
}

fn incomplete(message: impl Into<String>) -> ApiError {
    ApiError::protocol("IncompleteSignatureException", 400, message)
}

pub fn parse_authorization(header: &str) -> Result<AuthorizationHeader, ApiError> {
    let rest = header
        .strip_prefix("AWS4-HMAC-SHA256")
        .ok_or_else(|| incomplete(format!("Authorization header requires the 'AWS4-HMAC-SHA256' algorithm. Authorization={header}")))?;
    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let part = part.trim();
        if let Some(v) = part.strip_prefix("Credential=") {
            credential = Some(v);
        } else if let Some(v) = part.strip_prefix("SignedHeaders=") {
            signed_headers = Some(v);
        } else if let Some(v) = part.strip_prefix("Signature=") {
            signature = Some(v);
        }
    }
    let missing: Vec<&str> = [
        ("Credential", credential.is_none()),
        ("SignedHeaders", signed_headers.is_none()),
        ("Signature", signature.is_none()),
    ]
    .iter()
    .filter(|(_, m)| *m)
    .map(|(n, _)| *n)
    .collect();
    if !missing.is_empty() {
        return Err(incomplete(format!(
            "Authorization header requires {} parameter(s). Authorization={header}",
            missing
                .iter()
                .map(|m| format!("'{m}'"))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let credential = credential.unwrap_or_default();
    let scope: Vec<&str> = credential.split('/').collect();
    if scope.len() != 5 || scope[4] != "aws4_request" || scope.iter().any(|s| s.is_empty()) {
        return Err(incomplete(format!(
            "Credential should be scoped to a valid region and service, as AKID/YYYYMMDD/REGION/SERVICE/aws4_request. Got '{credential}'."
        )));
    }
    if scope[1].len() != 8 || !scope[1].bytes().all(|b| b.is_ascii_digit()) {
        return Err(incomplete(format!(
            "Credential date must be YYYYMMDD. Got '{}'.",
            scope[1]
        )));
    }
    let signature = signature.unwrap_or_default();
    if signature.len() != 64 || !signature.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(incomplete("Signature must be 64 hexadecimal characters."));
    }
    Ok(AuthorizationHeader {
        access_key: scope[0].to_string(),
        date: scope[1].to_string(),
        region: scope[2].to_string(),
        service: scope[3].to_string(),
        signed_headers: signed_headers
            .unwrap_or_default()
            .split(';')
            .map(|h| h.trim().to_ascii_lowercase())
            .collect(),
        signature: signature.to_ascii_lowercase(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_botocore_header() {
        let h = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/ecs/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7";
        let a = parse_authorization(h).unwrap();
        assert_eq!(a.access_key, "AKIDEXAMPLE");
        assert_eq!(a.region, "us-east-1");
        assert_eq!(a.service, "ecs");
        assert_eq!(a.date, "20150830");
        assert_eq!(
            a.signed_headers,
            vec!["content-type", "host", "x-amz-date", "x-amz-target"]
        );
    }

    #[test]
    fn rejects_malformed_headers() {
        for h in [
            "Basic dXNlcjpwYXNz",
            "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/ecs/aws4_request",
            "AWS4-HMAC-SHA256 Credential=AKID/2015/us-east-1/ecs/aws4_request, SignedHeaders=host, Signature=00",
            "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/aws4_request, SignedHeaders=host, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
        ] {
            let e = parse_authorization(h).unwrap_err();
            assert_eq!(e.code, "IncompleteSignatureException", "{h}");
        }
    }
}
