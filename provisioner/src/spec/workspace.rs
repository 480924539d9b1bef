//! The cargo workspace as the loader needs it: which crates exist, where, and their binaries.
//! Filled in by `crate::cargo::discover` (which runs `cargo metadata`); plain data here.

use std::path::PathBuf;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Workspace {
    /// The directory of the workspace's root `Cargo.toml`.
    pub root: PathBuf,
    /// Where `cargo build` puts its output.
    pub target_dir: PathBuf,
    pub members: Vec<WorkspaceMember>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkspaceMember {
    pub package: String,
    /// The directory holding the crate's `Cargo.toml`, absolute.
    pub dir: PathBuf,
    pub binaries: Vec<String>,
    /// The workspace members it depends on by path (package names), as its Cargo.toml says.
    pub path_dependencies: Vec<String>,
}

impl Workspace {
    /// The directories of `package` and of every workspace member it depends on, directly or
    /// not: where a change can change its binary.
    pub fn crate_dirs(&self, package: &str) -> Vec<PathBuf> {
        let mut seen: Vec<&WorkspaceMember> = Vec::new();
        let mut next = vec![package];
        while let Some(name) = next.pop() {
            let Some(member) = self.members.iter().find(|m| m.package == name) else {
                continue;
            };
            if seen.iter().any(|m| m.package == member.package) {
                continue;
            }
            seen.push(member);
            next.extend(member.path_dependencies.iter().map(String::as_str));
        }
        seen.into_iter().map(|m| m.dir.clone()).collect()
    }
}
