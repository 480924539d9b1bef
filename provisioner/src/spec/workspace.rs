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
}
