//! Request bodies sent compressed. botocore gzips the body of operations
//! the model marks `requestcompression` (CloudWatch's PutMetricData) once
//! it is 10 KiB or more, with `Content-Encoding: gzip`; anything else is
//! read as sent.

use super::ApiError;
use bytes::Bytes;
use http::HeaderMap;
use std::io::Read;

/// The body as the service should read it, at most `max` bytes once
/// decompressed (so a small zip bomb cannot take the memory).
pub fn decode(headers: &HeaderMap, body: Bytes, max: usize) -> Result<Bytes, ApiError> {
    let encoding = headers
        .get(http::header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    match encoding.trim() {
        "" | "identity" => Ok(body),
        "gzip" => {
            let mut out = Vec::new();
            let read = flate2::read::GzDecoder::new(&body[..])
                .take(max as u64 + 1)
                .read_to_end(&mut out);
            match read {
                Ok(n) if n > max => Err(ApiError::serialization(format!(
                    "The decompressed request body exceeds {max} bytes."
                ))),
                Ok(_) => Ok(out.into()),
                Err(e) => Err(ApiError::serialization(format!(
                    "The request body is not valid gzip: {e}"
                ))),
            }
        }
        other => Err(ApiError::protocol(
            "UnsupportedMediaTypeException",
            415,
            format!("Content-Encoding '{other}' is not supported; send gzip or nothing."),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Bytes {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(data).unwrap();
        enc.finish().unwrap().into()
    }

    #[test]
    fn gzip_bodies_are_inflated_within_the_limit() {
        let mut headers = HeaderMap::new();
        headers.insert(http::header::CONTENT_ENCODING, "gzip".parse().unwrap());
        assert_eq!(
            decode(&headers, gzip(b"Action=ListMetrics"), 100).unwrap(),
            Bytes::from_static(b"Action=ListMetrics")
        );
        assert_eq!(
            decode(&headers, gzip(&[b'a'; 1000]), 100).unwrap_err().code,
            "SerializationException"
        );
        assert_eq!(
            decode(&headers, Bytes::from_static(b"not gzip"), 100)
                .unwrap_err()
                .code,
            "SerializationException"
        );
        assert_eq!(
            decode(&HeaderMap::new(), Bytes::from_static(b"plain"), 100).unwrap(),
            Bytes::from_static(b"plain")
        );
    }
}
