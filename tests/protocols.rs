//! Every protocol through raw HTTP: the query and ec2 forms round trip
//! through STS and EC2 as botocore sends them, unknown services and actions
//! get an error in the caller's own protocol, and the model's constraints
//! are enforced with AWS's wording; rest-json routes by method and path
//! through EFS. (boto3 and the aws CLI drive the same services in
//! compat-tests/test_sts.py, test_ec2.py, test_efs.py and test_protocols.py.)
mod common;

use common::{RawResponse, TestServer};

/// A form POSTed as botocore's query serializer sends it, signed (lenient
/// mode checks the header's shape) for `service`.
async fn form(server: &TestServer, service: &str, body: &str) -> RawResponse {
    let date = ecsbox::auth::sigv4::format_amz_date(std::time::SystemTime::now());
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential=123456789012/{}/us-east-1/{service}/aws4_request, SignedHeaders=host;x-amz-date, Signature={}",
        &date[..8],
        "0".repeat(64)
    );
    let headers = [
        (
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8",
        ),
        ("x-amz-date", &date),
        ("authorization", &auth),
    ];
    server.raw("POST", "/", &headers, body.as_bytes()).await
}

/// The text of the first `<name>` element.
fn element<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{name}>"))? + start;
    Some(&xml[start..end])
}

#[tokio::test]
async fn sts_answers_in_query_xml() {
    let server = TestServer::start().await;
    let r = form(
        &server,
        "sts",
        "Action=GetCallerIdentity&Version=2011-06-15",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("content-type"), Some("text/xml"));
    assert!(
        r.body.contains(
            "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
        ),
        "{}",
        r.body
    );
    assert_eq!(element(&r.body, "Account"), Some("123456789012"));
    assert_eq!(
        element(&r.body, "Arn"),
        Some("arn:aws:iam::123456789012:root")
    );
    // The request id of the header is the one in ResponseMetadata.
    assert_eq!(element(&r.body, "RequestId"), r.header("x-amzn-requestid"));
}

#[tokio::test]
async fn query_validation_uses_aws_words() {
    let server = TestServer::start().await;
    // DurationSeconds below the model's minimum of 900, and no session name.
    let r = form(&server, "sts", "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fr&DurationSeconds=100").await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("<ErrorResponse"), "{}", r.body);
    assert_eq!(element(&r.body, "Type"), Some("Sender"));
    assert_eq!(element(&r.body, "Code"), Some("ValidationError"));
    assert_eq!(
        element(&r.body, "Message"),
        Some(
            "2 validation errors detected: Value null at 'roleSessionName' failed to satisfy constraint: Member must not be null; \
             Value '100' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900"
        )
    );
    // A pattern: RoleSessionName is `[\w+=,.@-]*`.
    let r = form(&server, "sts", "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fr&RoleSessionName=has+space").await;
    assert_eq!(
        element(&r.body, "Code"),
        Some("ValidationError"),
        "{}",
        r.body
    );
    assert!(
        element(&r.body, "Message")
            .unwrap()
            .contains("Member must satisfy regular expression pattern: [\\w+=,.@-]*"),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn unknown_actions_and_services_in_query() {
    let server = TestServer::start().await;
    let r = form(&server, "sts", "Action=Bogus&Version=2011-06-15").await;
    assert_eq!(
        (r.status, element(&r.body, "Code")),
        (400, Some("InvalidAction")),
        "{}",
        r.body
    );
    assert_eq!(
        element(&r.body, "Message"),
        Some("Could not find operation Bogus for version 2011-06-15")
    );
    // An operation of the model ecsbox has not built: named, never an empty success.
    let r = form(&server, "sts", "Action=GetSessionToken&Version=2011-06-15").await;
    assert_eq!(element(&r.body, "Code"), Some("InvalidAction"));
    assert!(
        element(&r.body, "Message")
            .unwrap()
            .contains("GetSessionToken"),
        "{}",
        r.body
    );
    // A service ecsbox does not serve: an XML error naming it.
    let r = form(&server, "iam", "Action=ListRoles&Version=2010-05-08").await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("<ErrorResponse"), "{}", r.body);
    assert!(
        element(&r.body, "Message").unwrap().contains("iam"),
        "{}",
        r.body
    );
    let r = form(&server, "sts", "Version=2011-06-15").await;
    assert_eq!(
        element(&r.body, "Code"),
        Some("MissingAction"),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn ec2_answers_and_errors_in_its_own_shapes() {
    let server = TestServer::start().await;
    let r = form(&server, "ec2", "Action=DescribeSubnets&Version=2016-11-15&Filter.1.Name=availability-zone&Filter.1.Value.1=us-east-1b").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body.contains(
            "<DescribeSubnetsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">"
        ),
        "{}",
        r.body
    );
    assert_eq!(element(&r.body, "requestId"), r.header("x-amzn-requestid"));
    // EC2 lists: a `...Set` wrapper of `<item>`s.
    assert_eq!(r.body.matches("<item>").count(), 1, "{}", r.body);
    assert_eq!(element(&r.body, "availabilityZone"), Some("us-east-1b"));
    assert_eq!(element(&r.body, "defaultForAz"), Some("true"));

    let r = form(
        &server,
        "ec2",
        "Action=DescribeSubnets&Version=2016-11-15&SubnetId.1=subnet-0123abcd",
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(
        r.body
            .contains("<Response><Errors><Error><Code>InvalidSubnetID.NotFound</Code>"),
        "{}",
        r.body
    );
    assert_eq!(element(&r.body, "RequestID"), r.header("x-amzn-requestid"));

    let r = form(&server, "ec2", "Action=Bogus&Version=2016-11-15").await;
    assert_eq!(element(&r.body, "Code"), Some("InvalidAction"));
    assert_eq!(
        element(&r.body, "Message"),
        Some("The action Bogus is not valid for this web service.")
    );
    let r = form(
        &server,
        "ec2",
        "Action=DescribeInstances&Version=2016-11-15",
    )
    .await;
    assert_eq!(element(&r.body, "Code"), Some("UnsupportedOperation"));
    let r = form(
        &server,
        "ec2",
        "Action=DescribeVpcs&Version=2016-11-15&Nonsense=1",
    )
    .await;
    assert_eq!(
        element(&r.body, "Code"),
        Some("UnknownParameter"),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn an_unsigned_form_is_routed_by_its_version() {
    // Lenient SigV4 wants a signature: the refusal comes in STS's XML.
    let server = TestServer::start().await;
    let headers = [("content-type", "application/x-www-form-urlencoded")];
    let r = server
        .raw(
            "POST",
            "/",
            &headers,
            b"Action=GetCallerIdentity&Version=2011-06-15",
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(
        r.body
            .contains("<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"),
        "{}",
        r.body
    );
    // With SigV4 off, the form alone is enough.
    let mut config = ecsbox::config::Config::for_tests();
    config.sigv4 = ecsbox::config::SigV4Mode::Off;
    let server = TestServer::start_with(config).await;
    let headers = [("content-type", "application/x-www-form-urlencoded")];
    let r = server
        .raw(
            "POST",
            "/",
            &headers,
            b"Action=GetCallerIdentity&Version=2011-06-15",
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("GetCallerIdentityResult"));
    // A GET with the form in the query string works too.
    let r = server
        .raw(
            "GET",
            "/?Action=DescribeAvailabilityZones&Version=2016-11-15",
            &[],
            b"",
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body.matches("<zoneName>").count(), 3, "{}", r.body);
}

#[tokio::test]
async fn json_unknown_service_and_cbor_answer_in_their_protocols() {
    let server = TestServer::start().await;
    let headers = [
        ("x-amz-target", "Nope_20200101.DoIt"),
        ("content-type", "application/x-amz-json-1.0"),
    ];
    let r = server.raw("POST", "/", &headers, b"{}").await;
    assert_eq!(r.status, 400);
    assert_eq!(r.error_type(), "UnknownOperationException");
    assert!(r.json()["message"]
        .as_str()
        .unwrap()
        .contains("Nope_20200101"));

    let headers = [
        ("smithy-protocol", "rpc-v2-cbor"),
        ("content-type", "application/cbor"),
    ];
    let r = server
        .raw(
            "POST",
            "/service/NotAServiceVersion20200101/operation/DoIt",
            &headers,
            b"\xa0",
        )
        .await;
    assert_eq!(r.header("smithy-protocol"), Some("rpc-v2-cbor"));
    assert_eq!(r.header("content-type"), Some("application/cbor"));
    let doc: std::collections::BTreeMap<String, String> =
        ciborium::from_reader(r.bytes.as_slice()).expect("a CBOR map");
    assert_eq!(doc["__type"], "UnknownOperationException");
    assert!(
        doc["message"].contains("NotAServiceVersion20200101"),
        "{doc:?}"
    );
}

#[tokio::test]
async fn health_lists_every_service() {
    let server = TestServer::start().await;
    let j = server.raw("GET", "/_ecsbox/health", &[], b"").await.json();
    for name in [
        "ecs",
        "logs",
        "secretsmanager",
        "ssm",
        "sts",
        "ec2",
        "cloudwatch",
        "efs",
        "ecr",
        "elbv2",
        "application-autoscaling",
        "events",
        "servicediscovery",
    ] {
        assert_eq!(j["services"][name], "running", "{name}: {j}");
    }
}

/// A signed CBOR call of CloudWatch, as botocore sends it.
async fn cbor(server: &TestServer, op: &str, body: &ciborium::Value) -> RawResponse {
    let mut bytes = Vec::new();
    ciborium::into_writer(body, &mut bytes).unwrap();
    let date = ecsbox::auth::sigv4::format_amz_date(std::time::SystemTime::now());
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential=123456789012/{}/us-east-1/monitoring/aws4_request, SignedHeaders=host;x-amz-date, Signature={}",
        &date[..8],
        "0".repeat(64)
    );
    let headers = [
        ("smithy-protocol", "rpc-v2-cbor"),
        ("content-type", "application/cbor"),
        ("x-amz-date", &date),
        ("authorization", &auth),
    ];
    server
        .raw(
            "POST",
            &format!("/service/GraniteServiceVersion20100801/operation/{op}"),
            &headers,
            &bytes,
        )
        .await
}

#[tokio::test]
async fn cloudwatch_round_trips_in_cbor_with_tagged_timestamps() {
    use ciborium::Value as C;
    let server = TestServer::start().await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let text = |s: &str| C::Text(s.into());
    let datum = C::Map(vec![
        (text("MetricName"), text("Latency")),
        (text("Value"), C::Float(42.0)),
        (text("Timestamp"), C::Tag(1, Box::new(C::Float(now)))),
    ]);
    let put = C::Map(vec![
        (text("Namespace"), text("App")),
        (text("MetricData"), C::Array(vec![datum])),
    ]);
    let r = cbor(&server, "PutMetricData", &put).await;
    assert_eq!(r.status, 200, "{:?}", r.bytes);
    assert_eq!(r.header("smithy-protocol"), Some("rpc-v2-cbor"));

    let get = C::Map(vec![
        (text("Namespace"), text("App")),
        (text("MetricName"), text("Latency")),
        (
            text("StartTime"),
            C::Tag(1, Box::new(C::Float(now - 600.0))),
        ),
        (text("EndTime"), C::Tag(1, Box::new(C::Float(now + 600.0)))),
        (text("Period"), C::Integer(60.into())),
        (text("Statistics"), C::Array(vec![text("Maximum")])),
    ]);
    let r = cbor(&server, "GetMetricStatistics", &get).await;
    assert_eq!(r.status, 200);
    let answer: C = ciborium::from_reader(r.bytes.as_slice()).unwrap();
    let points = answer
        .as_map()
        .unwrap()
        .iter()
        .find(|(k, _)| k.as_text() == Some("Datapoints"))
        .unwrap()
        .1
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(points.len(), 1);
    let point = points[0].as_map().unwrap();
    let field = |name: &str| {
        point
            .iter()
            .find(|(k, _)| k.as_text() == Some(name))
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert_eq!(field("Maximum"), C::Float(42.0));
    // Timestamps go back as tag 1, on a whole minute.
    let C::Tag(1, at) = field("Timestamp") else {
        panic!("the timestamp is not tag 1")
    };
    assert_eq!(at.as_float().unwrap() % 60.0, 0.0);

    // A query-compatible error: the query code in x-amzn-query-error.
    let put = C::Map(vec![
        (text("Namespace"), text("AWS/ECS")),
        (
            text("MetricData"),
            C::Array(vec![C::Map(vec![
                (text("MetricName"), text("x")),
                (text("Value"), C::Float(1.0)),
            ])]),
        ),
    ]);
    let r = cbor(&server, "PutMetricData", &put).await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.header("x-amzn-query-error"),
        Some("InvalidParameterValue;Sender")
    );
}

/// A rest-json call of EFS as botocore sends it, signed (lenient mode
/// checks the header's shape) for `elasticfilesystem`, or unsigned.
async fn efs(
    server: &TestServer,
    method: &str,
    path: &str,
    body: &[u8],
    signed: bool,
) -> RawResponse {
    let date = ecsbox::auth::sigv4::format_amz_date(std::time::SystemTime::now());
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential=123456789012/{}/us-east-1/elasticfilesystem/aws4_request, SignedHeaders=host;x-amz-date, Signature={}",
        &date[..8],
        "0".repeat(64)
    );
    let mut headers = vec![
        ("content-type", "application/json"),
        ("x-amz-date", date.as_str()),
    ];
    if signed {
        headers.push(("authorization", &auth));
    }
    server.raw(method, path, &headers, body).await
}

#[tokio::test]
async fn rest_json_routes_by_method_and_path_and_answers_the_models_status() {
    let server = TestServer::start().await;
    let r = efs(
        &server,
        "POST",
        "/2015-02-01/file-systems",
        br#"{"CreationToken": "t"}"#,
        true,
    )
    .await;
    // CreateFileSystem's responseCode is 201.
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert!(r.header("x-amzn-requestid").is_some());
    let id = r.json()["FileSystemId"].as_str().unwrap().to_string();
    assert!(id.starts_with("fs-") && id.len() == 20, "{id}");
    assert!(
        r.json()["CreationTime"].is_number(),
        "timestamps in the body are epoch seconds: {}",
        r.body
    );

    let r = efs(
        &server,
        "GET",
        &format!("/2015-02-01/file-systems?FileSystemId={id}&MaxItems=1"),
        b"",
        true,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["FileSystems"][0]["CreationToken"], "t");

    // DeleteFileSystem: 204, no body; then the model's 404 with the code in
    // x-amzn-ErrorType, which botocore's RestJSONParser reads.
    let r = efs(
        &server,
        "DELETE",
        &format!("/2015-02-01/file-systems/{id}"),
        b"",
        true,
    )
    .await;
    assert_eq!((r.status, r.body.as_str()), (204, ""));
    let r = efs(
        &server,
        "DELETE",
        &format!("/2015-02-01/file-systems/{id}"),
        b"",
        true,
    )
    .await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(r.header("x-amzn-errortype"), Some("FileSystemNotFound"));
    assert_eq!(
        r.json()["message"],
        format!("File system '{id}' does not exist.")
    );

    // Unsigned, the path alone finds the service, which asks for a signature
    // in rest-json's error shape.
    let r = efs(&server, "GET", "/2015-02-01/file-systems", b"", false).await;
    assert_eq!(
        (r.status, r.error_type().as_str()),
        (403, "MissingAuthenticationTokenException"),
        "{}",
        r.body
    );
    assert_eq!(r.header("content-type"), Some("application/json"));
}

#[tokio::test]
async fn rest_json_requests_ecsbox_cannot_route_get_json_errors_naming_them() {
    let server = TestServer::start().await;
    // A path EFS does not have, signed for EFS.
    let r = efs(&server, "GET", "/2015-02-01/no-such-thing", b"", true).await;
    assert_eq!(
        (r.status, r.error_type().as_str()),
        (404, "UnknownOperationException")
    );
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .contains("GET /2015-02-01/no-such-thing"),
        "{}",
        r.body
    );
    // A rest-json service ecsbox does not serve (Lambda's ListFunctions).
    let date = ecsbox::auth::sigv4::format_amz_date(std::time::SystemTime::now());
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential=123456789012/{}/us-east-1/lambda/aws4_request, SignedHeaders=host;x-amz-date, Signature={}",
        &date[..8],
        "0".repeat(64)
    );
    let r = server
        .raw(
            "GET",
            "/2015-03-31/functions/",
            &[("x-amz-date", &date), ("authorization", &auth)],
            b"",
        )
        .await;
    assert_eq!(
        (r.status, r.error_type().as_str()),
        (404, "UnknownOperationException")
    );
    assert!(
        r.json()["message"].as_str().unwrap().contains("lambda"),
        "{}",
        r.body
    );
    // An operation of the model ecsbox has not built: BadRequest naming it.
    let r = efs(
        &server,
        "GET",
        "/2015-02-01/mount-targets?FileSystemId=fs-0123456789abcdef0",
        b"",
        true,
    )
    .await;
    assert_eq!((r.status, r.error_type().as_str()), (400, "BadRequest"));
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .contains("DescribeMountTargets"),
        "{}",
        r.body
    );
}
