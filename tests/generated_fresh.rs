//! The generated model code matches what codegen/generate.py makes from the
//! pinned service model: nobody edited it by hand, nobody forgot to rerun it.

#[test]
fn generated_code_is_fresh() {
    let out = std::process::Command::new("python3")
        .args(["codegen/generate.py", "--check"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("python3 runs the generator");
    assert!(
        out.status.success(),
        "generated code is stale:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn every_model_operation_is_listed() {
    let note = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/codegen/MODEL_VERSION"
    ))
    .unwrap();
    let count: usize = note
        .lines()
        .find_map(|l| l.strip_prefix("operations in this model: "))
        .and_then(|n| n.trim().parse().ok())
        .expect("MODEL_VERSION names the operation count");
    assert_eq!(ecsbox::model::operations::Operation::ALL.len(), count);
}

/// The models' patterns are Java regular expressions; `check_pattern` skips
/// one that does not compile here, so each must compile or its check would
/// silently be lost.
#[test]
fn every_checked_pattern_compiles() {
    let tables: Vec<(&str, &[ecsbox::model::validate::Pattern])> = vec![
        ("ecs", &ecsbox::model::validate::PATTERNS),
        ("logs", &ecsbox::model::logs::validate::PATTERNS),
        ("cloudwatch", &ecsbox::model::cloudwatch::validate::PATTERNS),
        ("sts", &ecsbox::model::sts::validate::PATTERNS),
        ("ec2", &ecsbox::model::ec2::validate::PATTERNS),
        (
            "secretsmanager",
            &ecsbox::model::secretsmanager::validate::PATTERNS,
        ),
        ("ssm", &ecsbox::model::ssm::validate::PATTERNS),
        ("efs", &ecsbox::model::efs::validate::PATTERNS),
        ("elbv2", &ecsbox::model::elbv2::validate::PATTERNS),
        (
            "application-autoscaling",
            &ecsbox::model::application_autoscaling::validate::PATTERNS,
        ),
        ("events", &ecsbox::model::events::validate::PATTERNS),
        (
            "servicediscovery",
            &ecsbox::model::servicediscovery::validate::PATTERNS,
        ),
    ];
    for (service, patterns) in tables {
        for p in patterns {
            assert!(
                p.regex().is_some(),
                "{service}: {} does not compile",
                p.source
            );
        }
    }
}
