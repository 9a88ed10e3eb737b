//! Secrets Manager and SSM Parameter Store on the ecsbox port, driven by raw
//! signed JSON 1.1 calls (no SDK crates: they would cost minutes of build),
//! and the resolution of a container's `secrets` against what they stored.
mod common;

use common::{RawResponse, TestServer};
use ecsbox::model::shapes::{ContainerDefinition, KeyValuePair, Secret};
use serde_json::{json, Value};

const SM: &str = "secretsmanager";
const SSM: &str = "AmazonSSM";

/// One call to `prefix.op`, with a well-formed SigV4 header scoped to
/// `service` in `region` for access key `akid` (the server runs lenient).
async fn call_as(
    server: &TestServer,
    akid: &str,
    region: &str,
    service: &str,
    target: &str,
    body: Value,
) -> RawResponse {
    let date = ecsbox::auth::sigv4::format_amz_date(std::time::SystemTime::now());
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential={akid}/{}/{region}/{service}/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature={}",
        &date[..8],
        "0".repeat(64)
    );
    let headers = [
        ("x-amz-target", target),
        ("content-type", "application/x-amz-json-1.1"),
        ("x-amz-date", &date),
        ("authorization", &auth),
    ];
    server
        .raw("POST", "/", &headers, body.to_string().as_bytes())
        .await
}

async fn sm(server: &TestServer, op: &str, body: Value) -> RawResponse {
    call_as(
        server,
        "AKIDTEST",
        "us-east-1",
        "secretsmanager",
        &format!("{SM}.{op}"),
        body,
    )
    .await
}

async fn ssm(server: &TestServer, op: &str, body: Value) -> RawResponse {
    call_as(
        server,
        "AKIDTEST",
        "us-east-1",
        "ssm",
        &format!("{SSM}.{op}"),
        body,
    )
    .await
}

fn ok(r: RawResponse) -> Value {
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

/// The call failed with `code` (body and `x-amzn-ErrorType` agree); returns the message.
fn failed(r: RawResponse, code: &str) -> String {
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.error_type(), code, "{}", r.body);
    assert_eq!(r.header("x-amzn-errortype"), Some(code));
    r.json()["message"].as_str().unwrap_or("").to_string()
}

// ---- Secrets Manager ---------------------------------------------------------

#[tokio::test]
async fn a_secret_is_created_read_updated_described_and_deleted() {
    let server = TestServer::start().await;
    let created = ok(sm(&server, "CreateSecret", json!({"Name": "prod/db", "SecretString": "v1", "Description": "db password", "Tags": [{"Key": "team", "Value": "core"}]})).await);
    let arn = created["ARN"].as_str().unwrap().to_string();
    let suffix = arn
        .strip_prefix("arn:aws:secretsmanager:us-east-1:000000000000:secret:prod/db-")
        .expect(&arn);
    assert_eq!(suffix.len(), 6, "{arn}");
    let v1 = created["VersionId"].as_str().unwrap().to_string();

    let got = ok(sm(&server, "GetSecretValue", json!({"SecretId": "prod/db"})).await);
    assert_eq!(
        (
            got["SecretString"].as_str(),
            got["VersionId"].as_str(),
            got["ARN"].as_str()
        ),
        (Some("v1"), Some(v1.as_str()), Some(arn.as_str()))
    );
    assert_eq!(got["VersionStages"], json!(["AWSCURRENT"]));
    assert!(got["CreatedDate"].is_f64(), "{got}");

    let put = ok(sm(
        &server,
        "PutSecretValue",
        json!({"SecretId": arn, "SecretString": "v2"}),
    )
    .await);
    assert_eq!(put["VersionStages"], json!(["AWSCURRENT"]));
    let v2 = put["VersionId"].as_str().unwrap().to_string();
    // The partial ARN (no suffix) names the secret too.
    let partial = "arn:aws:secretsmanager:us-east-1:000000000000:secret:prod/db";
    assert_eq!(
        ok(sm(&server, "GetSecretValue", json!({"SecretId": partial})).await)["SecretString"],
        "v2"
    );
    let previous = ok(sm(
        &server,
        "GetSecretValue",
        json!({"SecretId": "prod/db", "VersionStage": "AWSPREVIOUS"}),
    )
    .await);
    assert_eq!(
        (
            previous["SecretString"].as_str(),
            previous["VersionId"].as_str()
        ),
        (Some("v1"), Some(v1.as_str()))
    );

    let described = ok(sm(&server, "DescribeSecret", json!({"SecretId": "prod/db"})).await);
    assert_eq!(described["Description"], "db password");
    assert_eq!(described["Tags"], json!([{"Key": "team", "Value": "core"}]));
    assert_eq!(
        described["VersionIdsToStages"],
        json!({v1.clone(): ["AWSPREVIOUS"], v2: ["AWSCURRENT"]})
    );
    assert!(described.get("DeletedDate").is_none());

    let deleted = ok(sm(
        &server,
        "DeleteSecret",
        json!({"SecretId": "prod/db", "RecoveryWindowInDays": 7}),
    )
    .await);
    assert_eq!(deleted["ARN"].as_str(), Some(arn.as_str()));
    let window =
        deleted["DeletionDate"].as_f64().unwrap() - described["CreatedDate"].as_f64().unwrap();
    assert!(
        (7.0 * 86400.0 - 60.0..7.0 * 86400.0 + 60.0).contains(&window),
        "{window}"
    );
    // Scheduled for deletion: describable, not readable, as AWS.
    assert!(
        ok(sm(&server, "DescribeSecret", json!({"SecretId": "prod/db"})).await)["DeletedDate"]
            .is_f64()
    );
    let msg = failed(
        sm(&server, "GetSecretValue", json!({"SecretId": "prod/db"})).await,
        "InvalidRequestException",
    );
    assert!(msg.contains("marked for deletion"), "{msg}");
    failed(
        sm(
            &server,
            "PutSecretValue",
            json!({"SecretId": "prod/db", "SecretString": "v3"}),
        )
        .await,
        "InvalidRequestException",
    );
    failed(
        sm(
            &server,
            "CreateSecret",
            json!({"Name": "prod/db", "SecretString": "again"}),
        )
        .await,
        "InvalidRequestException",
    );

    ok(sm(
        &server,
        "DeleteSecret",
        json!({"SecretId": "prod/db", "ForceDeleteWithoutRecovery": true}),
    )
    .await);
    failed(
        sm(&server, "DescribeSecret", json!({"SecretId": "prod/db"})).await,
        "ResourceNotFoundException",
    );
}

#[tokio::test]
async fn secrets_manager_errors_are_its_own_and_change_nothing() {
    let server = TestServer::start().await;
    let msg = failed(
        sm(&server, "GetSecretValue", json!({"SecretId": "nope"})).await,
        "ResourceNotFoundException",
    );
    assert_eq!(msg, "Secrets Manager can't find the specified secret.");
    ok(sm(
        &server,
        "CreateSecret",
        json!({"Name": "dup", "SecretString": "a"}),
    )
    .await);
    let msg = failed(
        sm(
            &server,
            "CreateSecret",
            json!({"Name": "dup", "SecretString": "b"}),
        )
        .await,
        "ResourceExistsException",
    );
    assert!(msg.contains("dup already exists"), "{msg}");
    failed(
        sm(
            &server,
            "CreateSecret",
            json!({"Name": "both", "SecretString": "a", "SecretBinary": "YQ=="}),
        )
        .await,
        "InvalidParameterException",
    );
    failed(
        sm(&server, "CreateSecret", json!({"Name": "bad name!"})).await,
        "ValidationException",
    );
    failed(
        sm(
            &server,
            "DeleteSecret",
            json!({"SecretId": "dup", "RecoveryWindowInDays": 3}),
        )
        .await,
        "InvalidParameterException",
    );
    failed(sm(&server, "DeleteSecret", json!({"SecretId": "dup", "RecoveryWindowInDays": 7, "ForceDeleteWithoutRecovery": true})).await, "InvalidParameterException");
    failed(
        sm(
            &server,
            "GetSecretValue",
            json!({"SecretId": "dup", "VersionStage": "AWSPREVIOUS"}),
        )
        .await,
        "ResourceNotFoundException",
    );
    failed(
        sm(&server, "GetSecretValue", json!({})).await,
        "ValidationException",
    );
    failed(
        sm(&server, "PutSecretValue", json!({"SecretId": "dup"})).await,
        "InvalidParameterException",
    );
    // None of that touched the one secret.
    let got = ok(sm(&server, "GetSecretValue", json!({"SecretId": "dup"})).await);
    assert_eq!(got["SecretString"], "a");
    failed(
        sm(&server, "DescribeSecret", json!({"SecretId": "both"})).await,
        "ResourceNotFoundException",
    );
}

#[tokio::test]
async fn a_binary_secret_comes_back_as_sent() {
    let server = TestServer::start().await;
    ok(sm(
        &server,
        "CreateSecret",
        json!({"Name": "bin", "SecretBinary": "AAEC/w=="}),
    )
    .await);
    let got = ok(sm(&server, "GetSecretValue", json!({"SecretId": "bin"})).await);
    assert_eq!(got["SecretBinary"], "AAEC/w==");
    assert!(got.get("SecretString").is_none(), "{got}");
}

#[tokio::test]
async fn a_secret_without_a_value_has_no_version_to_read() {
    let server = TestServer::start().await;
    let created = ok(sm(&server, "CreateSecret", json!({"Name": "empty"})).await);
    assert!(created.get("VersionId").is_none(), "{created}");
    let msg = failed(
        sm(&server, "GetSecretValue", json!({"SecretId": "empty"})).await,
        "ResourceNotFoundException",
    );
    assert!(msg.contains("staging label: AWSCURRENT"), "{msg}");
}

// ---- SSM Parameter Store -----------------------------------------------------

#[tokio::test]
async fn parameters_are_put_read_listed_and_deleted() {
    let server = TestServer::start().await;
    assert_eq!(
        ok(ssm(
            &server,
            "PutParameter",
            json!({"Name": "/app/db/host", "Value": "db.local", "Type": "String"})
        )
        .await),
        json!({"Version": 1, "Tier": "Standard"})
    );
    ok(ssm(
        &server,
        "PutParameter",
        json!({"Name": "/app/db/password", "Value": "hunter2", "Type": "SecureString"}),
    )
    .await);
    ok(ssm(
        &server,
        "PutParameter",
        json!({"Name": "/app/name", "Value": "a,b", "Type": "StringList"}),
    )
    .await);

    let p = ok(ssm(
        &server,
        "GetParameter",
        json!({"Name": "/app/db/password", "WithDecryption": true}),
    )
    .await)["Parameter"]
        .clone();
    assert_eq!(
        (
            p["Value"].as_str(),
            p["Type"].as_str(),
            p["Version"].as_i64()
        ),
        (Some("hunter2"), Some("SecureString"), Some(1))
    );
    assert_eq!(
        p["ARN"],
        "arn:aws:ssm:us-east-1:000000000000:parameter/app/db/password"
    );
    assert_eq!(p["DataType"], "text");
    let hidden = ok(ssm(&server, "GetParameter", json!({"Name": "/app/db/password"})).await)
        ["Parameter"]["Value"]
        .clone();
    assert_ne!(hidden, "hunter2");

    let overwritten = ok(ssm(
        &server,
        "PutParameter",
        json!({"Name": "/app/db/host", "Value": "db2.local", "Overwrite": true}),
    )
    .await);
    assert_eq!(overwritten["Version"], 2);
    let by_arn = json!({"Name": "arn:aws:ssm:us-east-1:000000000000:parameter/app/db/host:1"});
    let first = ok(ssm(&server, "GetParameter", by_arn).await)["Parameter"].clone();
    assert_eq!(
        (
            first["Value"].as_str(),
            first["Selector"].as_str(),
            first["Type"].as_str()
        ),
        (Some("db.local"), Some(":1"), Some("String"))
    );

    let both = ok(ssm(
        &server,
        "GetParameters",
        json!({"Names": ["/app/db/host", "/nope", "/app/db/host:7"], "WithDecryption": true}),
    )
    .await);
    assert_eq!(both["Parameters"].as_array().unwrap().len(), 1);
    assert_eq!(both["Parameters"][0]["Value"], "db2.local");
    assert_eq!(
        both["InvalidParameters"],
        json!(["/nope", "/app/db/host:7"])
    );

    // One level, then recursive in pages of two.
    let level = ok(ssm(&server, "GetParametersByPath", json!({"Path": "/app"})).await);
    let names: Vec<&str> = level["Parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["Name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["/app/name"]);
    let mut all = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut body =
            json!({"Path": "/app", "Recursive": true, "MaxResults": 2, "WithDecryption": true});
        if let Some(t) = &token {
            body["NextToken"] = json!(t);
        }
        let page = ok(ssm(&server, "GetParametersByPath", body).await);
        all.extend(page["Parameters"].as_array().unwrap().iter().map(|p| {
            (
                p["Name"].as_str().unwrap().to_string(),
                p["Value"].as_str().unwrap().to_string(),
            )
        }));
        match page["NextToken"].as_str() {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
    }
    let expected = [
        ("/app/db/host", "db2.local"),
        ("/app/db/password", "hunter2"),
        ("/app/name", "a,b"),
    ];
    assert_eq!(all, expected.map(|(a, b)| (a.to_string(), b.to_string())));

    assert_eq!(
        ok(ssm(&server, "DeleteParameter", json!({"Name": "/app/name"})).await),
        json!({})
    );
    failed(
        ssm(&server, "GetParameter", json!({"Name": "/app/name"})).await,
        "ParameterNotFound",
    );
    failed(
        ssm(&server, "DeleteParameter", json!({"Name": "/app/name"})).await,
        "ParameterNotFound",
    );
}

#[tokio::test]
async fn parameter_store_errors_are_its_own_and_change_nothing() {
    let server = TestServer::start().await;
    ok(ssm(
        &server,
        "PutParameter",
        json!({"Name": "/p", "Value": "1", "Type": "String"}),
    )
    .await);
    let msg = failed(
        ssm(
            &server,
            "PutParameter",
            json!({"Name": "/p", "Value": "2", "Type": "String"}),
        )
        .await,
        "ParameterAlreadyExists",
    );
    assert!(msg.contains("set the overwrite option"), "{msg}");
    failed(
        ssm(&server, "PutParameter", json!({"Name": "/q", "Value": "1"})).await,
        "ValidationException",
    );
    failed(
        ssm(
            &server,
            "PutParameter",
            json!({"Name": "/q", "Value": "", "Type": "String"}),
        )
        .await,
        "ValidationException",
    );
    failed(
        ssm(
            &server,
            "PutParameter",
            json!({"Name": "aws-reserved", "Value": "1", "Type": "String"}),
        )
        .await,
        "ValidationException",
    );
    failed(
        ssm(
            &server,
            "PutParameter",
            json!({"Name": "/q", "Value": "1", "Type": "Integer"}),
        )
        .await,
        "ValidationException",
    );
    let msg = failed(
        ssm(&server, "GetParameter", json!({"Name": "/p:5"})).await,
        "ParameterVersionNotFound",
    );
    assert!(msg.contains("could not find version 5 of /p"), "{msg}");
    failed(
        ssm(&server, "GetParametersByPath", json!({"Path": "no-slash"})).await,
        "ValidationException",
    );
    failed(
        ssm(
            &server,
            "GetParametersByPath",
            json!({"Path": "/", "MaxResults": 11}),
        )
        .await,
        "ValidationException",
    );
    failed(
        ssm(
            &server,
            "GetParametersByPath",
            json!({"Path": "/", "NextToken": "zz"}),
        )
        .await,
        "InvalidNextToken",
    );
    failed(
        ssm(
            &server,
            "GetParameters",
            json!({"Names": (0..11).map(|i| format!("/n{i}")).collect::<Vec<_>>()}),
        )
        .await,
        "ValidationException",
    );
    let p = ok(ssm(&server, "GetParameter", json!({"Name": "/p"})).await)["Parameter"].clone();
    assert_eq!(
        (p["Value"].as_str(), p["Version"].as_i64()),
        (Some("1"), Some(1))
    );
    let listed = ok(ssm(
        &server,
        "GetParametersByPath",
        json!({"Path": "/", "Recursive": true}),
    )
    .await);
    assert_eq!(
        listed["Parameters"].as_array().unwrap().len(),
        1,
        "{listed}"
    );
}

// ---- routing, signing, accounts ----------------------------------------------

#[tokio::test]
async fn operations_outside_the_served_part_are_named_and_unknown_ones_refused() {
    let server = TestServer::start().await;
    let msg = failed(
        sm(&server, "ListSecrets", json!({})).await,
        "InvalidRequestException",
    );
    assert!(msg.contains("ListSecrets"), "{msg}");
    let msg = failed(
        ssm(&server, "DescribeParameters", json!({})).await,
        "UnsupportedOperationException",
    );
    assert!(msg.contains("DescribeParameters"), "{msg}");
    failed(
        sm(&server, "StealSecrets", json!({})).await,
        "UnknownOperationException",
    );
    failed(
        ssm(&server, "GetEverything", json!({})).await,
        "UnknownOperationException",
    );
    let r = server
        .raw(
            "POST",
            "/",
            &[
                ("x-amz-target", "secretsmanager.GetSecretValue"),
                ("content-type", "application/x-amz-json-1.1"),
            ],
            b"{not json",
        )
        .await;
    // Unsigned under lenient auth: refused before the body is looked at.
    assert_eq!(
        r.error_type(),
        "MissingAuthenticationTokenException",
        "{}",
        r.body
    );
    failed(
        sm(&server, "GetSecretValue", json!({"SecretId": 5})).await,
        "SerializationException",
    );
}

#[tokio::test]
async fn each_service_wants_its_own_signing_name() {
    let server = TestServer::start().await;
    let r = call_as(
        &server,
        "AKIDTEST",
        "us-east-1",
        "ecs",
        "secretsmanager.GetSecretValue",
        json!({"SecretId": "x"}),
    )
    .await;
    assert_eq!(r.error_type(), "InvalidSignatureException", "{}", r.body);
    assert!(r.json()["message"]
        .as_str()
        .unwrap()
        .contains("'secretsmanager'"));
    let r = call_as(
        &server,
        "AKIDTEST",
        "us-east-1",
        "secretsmanager",
        "AmazonSSM.GetParameter",
        json!({"Name": "x"}),
    )
    .await;
    assert_eq!(r.error_type(), "InvalidSignatureException", "{}", r.body);
    assert!(r.json()["message"].as_str().unwrap().contains("'ssm'"));
}

#[tokio::test]
async fn accounts_and_regions_keep_their_secrets_apart() {
    let server = TestServer::start().await;
    let created = ok(call_as(
        &server,
        "111122223333",
        "eu-west-1",
        "secretsmanager",
        "secretsmanager.CreateSecret",
        json!({"Name": "s", "SecretString": "x"}),
    )
    .await);
    assert!(
        created["ARN"]
            .as_str()
            .unwrap()
            .starts_with("arn:aws:secretsmanager:eu-west-1:111122223333:secret:s-"),
        "{created}"
    );
    // Same name, other account or region: not there.
    failed(
        call_as(
            &server,
            "444455556666",
            "eu-west-1",
            "secretsmanager",
            "secretsmanager.GetSecretValue",
            json!({"SecretId": "s"}),
        )
        .await,
        "ResourceNotFoundException",
    );
    failed(
        sm(&server, "GetSecretValue", json!({"SecretId": "s"})).await,
        "ResourceNotFoundException",
    );
    ok(call_as(
        &server,
        "111122223333",
        "eu-west-1",
        "ssm",
        "AmazonSSM.PutParameter",
        json!({"Name": "/p", "Value": "v", "Type": "String"}),
    )
    .await);
    failed(
        ssm(&server, "GetParameter", json!({"Name": "/p"})).await,
        "ParameterNotFound",
    );
}

#[tokio::test]
async fn reset_forgets_secrets_and_health_lists_both_services() {
    let server = TestServer::start().await;
    ok(sm(
        &server,
        "CreateSecret",
        json!({"Name": "s", "SecretString": "x"}),
    )
    .await);
    ok(ssm(
        &server,
        "PutParameter",
        json!({"Name": "/p", "Value": "v", "Type": "String"}),
    )
    .await);
    assert_eq!(
        server.raw("POST", "/_ecsbox/reset", &[], b"").await.status,
        200
    );
    failed(
        sm(&server, "GetSecretValue", json!({"SecretId": "s"})).await,
        "ResourceNotFoundException",
    );
    failed(
        ssm(&server, "GetParameter", json!({"Name": "/p"})).await,
        "ParameterNotFound",
    );
    let health = server.raw("GET", "/_ecsbox/health", &[], b"").await.json();
    assert_eq!(
        (
            health["services"]["secretsmanager"].as_str(),
            health["services"]["ssm"].as_str()
        ),
        (Some("running"), Some("running"))
    );
}

// ---- what a task's container gets ----------------------------------------------

#[tokio::test]
async fn a_container_gets_what_the_apis_stored() {
    let server = TestServer::start().await;
    let arn = ok(sm(
        &server,
        "CreateSecret",
        json!({"Name": "db", "SecretString": r#"{"username":"app","password":"pw"}"#}),
    )
    .await)["ARN"]
        .as_str()
        .unwrap()
        .to_string();
    ok(ssm(
        &server,
        "PutParameter",
        json!({"Name": "/app/token", "Value": "t0k", "Type": "SecureString"}),
    )
    .await);
    let secret = |name: &str, from: &str| Secret {
        name: Some(name.into()),
        value_from: Some(from.into()),
    };
    let container = ContainerDefinition {
        name: Some("app".into()),
        environment: Some(vec![KeyValuePair {
            name: Some("PLAIN".into()),
            value: Some("1".into()),
        }]),
        secrets: Some(vec![
            secret("DB_PASSWORD", &format!("{arn}:password::")),
            secret("DB_JSON", &arn),
            secret("TOKEN", "/app/token"),
            secret(
                "TOKEN_BY_ARN",
                "arn:aws:ssm:us-east-1:000000000000:parameter/app/token",
            ),
        ]),
        ..Default::default()
    };
    let env = ecsbox::secrets::resolve::container_extra_env(
        &server.app.secrets,
        "000000000000",
        "us-east-1",
        &container,
    )
    .unwrap();
    let expected = [
        ("DB_PASSWORD", "pw"),
        ("DB_JSON", r#"{"username":"app","password":"pw"}"#),
        ("TOKEN", "t0k"),
        ("TOKEN_BY_ARN", "t0k"),
    ];
    assert_eq!(env, expected.map(|(a, b)| (a.to_string(), b.to_string())));

    // Deleting the secret is what stops the next task, with ECS's words.
    ok(sm(
        &server,
        "DeleteSecret",
        json!({"SecretId": "db", "ForceDeleteWithoutRecovery": true}),
    )
    .await);
    let reason = ecsbox::secrets::resolve::container_extra_env(
        &server.app.secrets,
        "000000000000",
        "us-east-1",
        &container,
    )
    .unwrap_err();
    assert!(
        reason
            .starts_with("ResourceInitializationError: unable to pull secrets or registry auth: "),
        "{reason}"
    );
    assert!(
        reason.contains(&format!(
            "failed to fetch secret {arn} from secrets manager"
        )),
        "{reason}"
    );
    assert!(
        reason.ends_with(
            "ResourceNotFoundException: Secrets Manager can't find the specified secret."
        ),
        "{reason}"
    );
}
