//! Build once, deploy anywhere: `build --out DIR` on a machine with cargo, then `diff`, `up` and
//! `down` with `--artifacts DIR` where there is no cargo and no workspace, only stack.yaml.

use std::path::{Path, PathBuf};

use crate::support::{self, Ran};

/// `provisioner <args>` run from `dir` with no cargo on PATH, against the emulator.
fn without_cargo(dir: &Path, file: &Path, stack: &str, args: &[&str]) -> Ran {
    support::run(
        support::provisioner()
            .current_dir(dir)
            .env("PATH", "/usr/bin:/bin")
            .env_remove("CARGO")
            .env_remove("RUSTUP_TOOLCHAIN")
            .env("AWS_ENDPOINT_URL", support::emulator())
            .args(args)
            .arg("--file")
            .arg(file)
            .args(["--stack", stack]),
    )
}

#[test]
fn diff_up_and_down_deploy_built_artifacts_with_no_cargo_and_no_workspace() {
    let stack = support::unique("artifacts");
    let file = support::write_stack(&[]);
    let out = support::temp_dir("artifacts");
    let built = support::run(
        support::provisioner()
            .args(["build", "--out"])
            .arg(&out)
            .arg("--file")
            .arg(&file),
    );
    assert_eq!(built.code, Some(0), "{}", built.stderr);
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["format"], "provisioner-artifacts/1");
    let secret = &manifest["functions"]["secret"];
    assert_eq!(secret["binary"], "secret");
    assert_eq!(secret["architecture"], "x86_64");
    assert!(out.join("secret/bootstrap.zip").is_file() && out.join("secret/bootstrap").is_file());
    // The table names the packages where they were written.
    assert!(
        built
            .stdout
            .contains(&out.join("secret/bootstrap.zip").display().to_string())
            && !built.stdout.contains("target/lambda/"),
        "{}",
        built.stdout
    );

    // A runner with stack.yaml and the artifacts only: outside any cargo workspace, no cargo.
    let runner: PathBuf = std::env::temp_dir().join(support::unique("runner"));
    std::fs::create_dir_all(&runner).unwrap();
    let deployed = runner.join("stack.yaml");
    std::fs::copy(&file, &deployed).unwrap();
    assert!(
        !std::process::Command::new("sh")
            .args(["-c", "command -v cargo"])
            .env("PATH", "/usr/bin:/bin")
            .status()
            .unwrap()
            .success(),
        "cargo is not on this PATH"
    );
    let artifacts = out.to_str().unwrap();
    let diff = without_cargo(
        &runner,
        &deployed,
        &stack,
        &["diff", "--artifacts", artifacts],
    );
    assert_eq!(diff.code, Some(2), "{}", diff.stderr);
    assert!(!diff.stderr.contains("Building"), "{}", diff.stderr);
    let up = without_cargo(
        &runner,
        &deployed,
        &stack,
        &["up", "--yes", "--artifacts", artifacts],
    );
    assert_eq!(up.code, Some(0), "{}", up.stderr);
    let again = without_cargo(
        &runner,
        &deployed,
        &stack,
        &["diff", "--artifacts", artifacts],
    );
    assert_eq!(again.code, Some(0), "{}", again.stdout);
    // What was deployed is what the workspace builds: a diff with cargo agrees.
    assert_eq!(support::on_emulator(&file, &stack, &["diff"]).code, Some(0));

    // A package that does not match its manifest, or a function without one, is refused by name.
    let zip = out.join("secret/bootstrap.zip");
    let original = std::fs::read(&zip).unwrap();
    let mut corrupt = original.clone();
    let last = corrupt.len() - 1;
    corrupt[last] ^= 0xff;
    std::fs::write(&zip, &corrupt).unwrap();
    let refused = without_cargo(
        &runner,
        &deployed,
        &stack,
        &["diff", "--artifacts", artifacts],
    );
    assert_eq!(refused.code, Some(1), "{}", refused.stderr);
    assert!(
        refused.stderr.contains("the artifact of function `secret`")
            && refused.stderr.contains("does not match its manifest"),
        "{}",
        refused.stderr
    );
    std::fs::write(&zip, &original).unwrap();
    let mut partial = manifest.clone();
    partial["functions"]
        .as_object_mut()
        .unwrap()
        .remove("confirm");
    std::fs::write(out.join("manifest.json"), partial.to_string()).unwrap();
    let refused = without_cargo(
        &runner,
        &deployed,
        &stack,
        &["diff", "--artifacts", artifacts],
    );
    assert_eq!(refused.code, Some(1), "{}", refused.stderr);
    assert!(
        refused
            .stderr
            .contains("function `confirm` has no artifact")
            && refused.stderr.contains("provisioner build --out"),
        "{}",
        refused.stderr
    );

    let down = without_cargo(
        &runner,
        &deployed,
        &stack,
        &["down", "--yes", "--delete-data"],
    );
    assert_eq!(down.code, Some(0), "{}", down.stderr);
    std::fs::remove_dir_all(&runner).unwrap();
}
