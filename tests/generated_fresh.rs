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
    let note = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/codegen/MODEL_VERSION")).unwrap();
    let count: usize = note
        .lines()
        .find_map(|l| l.strip_prefix("operations in this model: "))
        .and_then(|n| n.trim().parse().ok())
        .expect("MODEL_VERSION names the operation count");
    assert_eq!(ecsbox::model::operations::Operation::ALL.len(), count);
}
