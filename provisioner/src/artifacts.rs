//! Build once, deploy anywhere: `build --out DIR` writes every function's package with a
//! manifest; `diff`, `up` and `serve --artifacts DIR` use them instead of building, so the deploy
//! runner needs no cargo and no workspace, only stack.yaml and DIR.
//!
//! Layout: `DIR/manifest.json` and, per binary, `DIR/<binary>/bootstrap` and
//! `DIR/<binary>/bootstrap.zip` (the layout of `target/lambda/`). The manifest names, per function,
//! the crate it was built from, its binary, architecture, CodeSha256 and the newest glibc it
//! needs; a package that is missing, or whose bytes or origin do not match, is refused by name.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::engine::Code;
use crate::package::{Package, code_sha256};
use crate::spec::Stack;

pub const FORMAT: &str = "provisioner-artifacts/1";
const MANIFEST: &str = "manifest.json";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub format: String,
    /// The stack it was built for (any stack with these functions may use it).
    pub stack: String,
    pub functions: BTreeMap<String, Artifact>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Artifact {
    /// `crate:` as stack.yaml writes it.
    #[serde(rename = "crate")]
    pub crate_path: String,
    pub package: String,
    pub binary: String,
    pub architecture: String,
    /// base64(SHA-256) of the zip, as Lambda's CodeSha256.
    pub code_sha256: String,
    pub zip_bytes: u64,
    pub max_glibc: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    #[error("cannot read the artifacts in `{}`: {detail}\n\nhint: write them with `provisioner build --out {}`", dir.display(), dir.display())]
    Unreadable { dir: PathBuf, detail: String },
    #[error("`{}` holds artifacts of format `{found}`; this provisioner reads `{FORMAT}`\n\nhint: build them again with this version: `provisioner build --out {}`", dir.display(), dir.display())]
    Format { dir: PathBuf, found: String },
    #[error("function `{function}` has no artifact in `{}`\n\nhint: build them for this stack.yaml: `provisioner build --out {}`", dir.display(), dir.display())]
    Missing { dir: PathBuf, function: String },
    #[error("the artifact of function `{function}` in `{}` does not match {what}\n\nhint: build them again for this stack.yaml: `provisioner build --out {}`", dir.display(), dir.display())]
    Mismatch {
        dir: PathBuf,
        function: String,
        what: String,
    },
    #[error("failed to write the artifacts to `{}`", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Writes `packages` of `stack` (built from its workspace) to `dir` with their manifest.
pub fn write(dir: &Path, stack: &Stack, packages: &[Package]) -> Result<Manifest, ArtifactError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ArtifactError::Write { path, source }
    };
    let mut functions = BTreeMap::new();
    for package in packages {
        let Some(function) = stack.functions.get(&package.function) else {
            continue;
        };
        let to = dir.join(&function.binary);
        std::fs::create_dir_all(&to).map_err(io(&to))?;
        for (from, name) in [
            (&package.bootstrap, "bootstrap"),
            (&package.zip, "bootstrap.zip"),
        ] {
            std::fs::copy(from, to.join(name)).map_err(io(&to.join(name)))?;
        }
        functions.insert(
            package.function.clone(),
            Artifact {
                crate_path: function.crate_path.clone(),
                package: function.package.clone(),
                binary: function.binary.clone(),
                architecture: function.architecture.lambda_name().to_owned(),
                code_sha256: package.code_sha256.clone(),
                zip_bytes: package.zip_bytes,
                max_glibc: package.max_glibc.clone(),
            },
        );
    }
    let manifest = Manifest {
        format: FORMAT.to_owned(),
        stack: stack.name.clone(),
        functions,
    };
    let path = dir.join(MANIFEST);
    let json = serde_json::to_string_pretty(&manifest).unwrap_or_default();
    std::fs::write(&path, format!("{json}\n")).map_err(io(&path))?;
    Ok(manifest)
}

/// Reads the manifest in `dir`.
pub fn read(dir: &Path) -> Result<Manifest, ArtifactError> {
    let unreadable = |detail: String| ArtifactError::Unreadable {
        dir: dir.to_path_buf(),
        detail,
    };
    let path = dir.join(MANIFEST);
    let bytes =
        std::fs::read(&path).map_err(|err| unreadable(format!("{}: {err}", path.display())))?;
    let value: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|err| unreadable(format!("{}: {err}", path.display())))?;
    let found = value["format"].as_str().unwrap_or("(none)").to_owned();
    if found != FORMAT {
        return Err(ArtifactError::Format {
            dir: dir.to_path_buf(),
            found,
        });
    }
    serde_json::from_value(value).map_err(|err| unreadable(format!("{}: {err}", path.display())))
}

impl Manifest {
    /// Function `name`'s entry, or the error naming what is missing from `dir`.
    fn artifact(&self, dir: &Path, name: &str) -> Result<&Artifact, ArtifactError> {
        self.functions
            .get(name)
            .ok_or_else(|| ArtifactError::Missing {
                dir: dir.to_path_buf(),
                function: name.to_owned(),
            })
    }

    /// Each function's package and binary, from the manifest, for a stack whose `crate:` paths
    /// are not resolved against a workspace; a function missing, or built from another crate or
    /// for another architecture, is refused.
    pub fn binaries(
        &self,
        dir: &Path,
        stack: &Stack,
    ) -> Result<BTreeMap<String, (String, String)>, ArtifactError> {
        let mut binaries = BTreeMap::new();
        for (name, function) in &stack.functions {
            let artifact = self.artifact(dir, name)?;
            let mismatch = |what: String| ArtifactError::Mismatch {
                dir: dir.to_path_buf(),
                function: name.clone(),
                what,
            };
            if artifact.crate_path != function.crate_path {
                return Err(mismatch(format!(
                    "stack.yaml: it was built from `crate: {}`, stack.yaml says `crate: {}`",
                    artifact.crate_path, function.crate_path
                )));
            }
            if artifact.architecture != function.architecture.lambda_name() {
                return Err(mismatch(format!(
                    "stack.yaml: it was built for {}, stack.yaml says `architecture: {}`",
                    artifact.architecture,
                    function.architecture.lambda_name()
                )));
            }
            binaries.insert(
                name.clone(),
                (artifact.package.clone(), artifact.binary.clone()),
            );
        }
        Ok(binaries)
    }

    /// Each function's package, checked against the manifest's CodeSha256.
    pub fn code(&self, dir: &Path, stack: &Stack) -> Result<BTreeMap<String, Code>, ArtifactError> {
        let mut code = BTreeMap::new();
        for name in stack.functions.keys() {
            let artifact = self.artifact(dir, name)?;
            let zip = bootstrap_dir(dir, &artifact.binary).join("bootstrap.zip");
            let bytes = std::fs::read(&zip).map_err(|err| ArtifactError::Mismatch {
                dir: dir.to_path_buf(),
                function: name.clone(),
                what: format!("its manifest: `{}` cannot be read ({err})", zip.display()),
            })?;
            let sha256 = code_sha256(&bytes);
            if sha256 != artifact.code_sha256 {
                return Err(ArtifactError::Mismatch {
                    dir: dir.to_path_buf(),
                    function: name.clone(),
                    what: format!(
                        "its manifest: `{}` has CodeSha256 {sha256}, the manifest says {}",
                        zip.display(),
                        artifact.code_sha256
                    ),
                });
            }
            code.insert(name.clone(), Code { sha256, zip });
        }
        Ok(code)
    }
}

/// Where `binary`'s `bootstrap` is in an artifacts directory.
pub fn bootstrap_dir(dir: &Path, binary: &str) -> PathBuf {
    dir.join(binary)
}
