//! Test helpers shared by the pure tests of `spec` and of the planner: the repository's stack.yaml
//! and its cargo workspace described by hand (no `cargo metadata`).

use std::path::{Path, PathBuf};

use super::{Stack, Workspace, WorkspaceMember};

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// The repository's workspace as `cargo metadata` describes it, by hand: the handler crates, each
/// with the binary named after it.
pub fn workspace() -> Workspace {
    let root = repo();
    let member = |dir: &str, binaries: &[&str]| WorkspaceMember {
        package: dir.rsplit('/').next().unwrap_or(dir).to_owned(),
        dir: root.join(dir),
        binaries: binaries.iter().map(|b| (*b).to_owned()).collect(),
        path_dependencies: if dir.starts_with("handlers/") && dir != "handlers/common" {
            vec!["common".to_owned()]
        } else {
            Vec::new()
        },
    };
    Workspace {
        target_dir: root.join("target"),
        members: vec![
            member("provisioner", &["provisioner"]),
            member("handlers/common", &[]),
            member("handlers/sign-up", &["sign-up"]),
            member("handlers/confirm", &["confirm"]),
            member("handlers/sign-in", &["sign-in"]),
            member("handlers/secret", &["secret"]),
            member("handlers/refresh", &["refresh"]),
            member("handlers/forgot-password", &["forgot-password"]),
            member("handlers/reset-password", &["reset-password"]),
            member("handlers/resend-code", &["resend-code"]),
            member("handlers/sign-out", &["sign-out"]),
            member("handlers/pre-sign-up", &["pre-sign-up"]),
            member("handlers/post-confirmation", &["post-confirmation"]),
        ],
        root,
    }
}

/// The repository's stack.yaml.
pub fn base() -> String {
    std::fs::read_to_string(repo().join("stack.yaml")).unwrap_or_default()
}

/// The repository's `triggers.yaml` (the tutorial with two Cognito triggers), loaded.
pub fn triggers_stack() -> Stack {
    let text = std::fs::read_to_string(repo().join("triggers.yaml")).unwrap_or_default();
    super::load(
        text.as_bytes(),
        "triggers.yaml",
        &repo(),
        &workspace(),
        None,
    )
    .map(|loaded| loaded.stack)
    .unwrap_or_else(|err| panic!("the repository's triggers.yaml is valid: {err}"))
}

/// The repository's stack, loaded as the CLI loads it.
pub fn repo_stack() -> Stack {
    super::load(base().as_bytes(), "stack.yaml", &repo(), &workspace(), None)
        .map(|loaded| loaded.stack)
        .unwrap_or_else(|err| panic!("the repository's stack.yaml is valid: {err}"))
}
