//! From a compiled handler binary to what Lambda takes: `target/lambda/<binary>/bootstrap` and a
//! deterministic `bootstrap.zip` next to it (cargo-lambda's layout), checked to run on
//! `provided.al2023`, with the CodeSha256 Lambda will report for it. Keyed by binary, not by
//! function: the package is a function of the binary alone, so functions (or stacks) that share a
//! binary share it, and two stacks that give one function name different crates never overwrite
//! each other's package.

pub mod elf;
pub mod zip;

use std::path::{Path, PathBuf};

use base64::Engine;
use sha2::{Digest, Sha256};

use crate::spec::Function;

pub use elf::{ElfProblem, ElfReport};

/// One function's deployable package.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Package {
    pub function: String,
    pub bootstrap: PathBuf,
    pub zip: PathBuf,
    pub zip_bytes: u64,
    /// base64(sha256(zip)), as Lambda's `CodeSha256`.
    pub code_sha256: String,
    /// The newest glibc symbol version the binary needs.
    pub max_glibc: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    #[error("the binary of function `{function}` (`{}`) cannot run on Lambda: {problem}\n\nhint: {}", binary.display(), hint(problem))]
    Elf {
        function: String,
        binary: PathBuf,
        problem: ElfProblem,
    },
    #[error("failed to {action} `{}`", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn hint(problem: &ElfProblem) -> &'static str {
    match problem {
        ElfProblem::GlibcTooNew { .. } => {
            "build on a system with glibc 2.34 or older (Amazon Linux 2023), or cross-build for glibc 2.34 with cargo-zigbuild (`--target x86_64-unknown-linux-gnu.2.34`)"
        }
        ElfProblem::MissingLibrary(_) => {
            "link that library statically or drop it (for TLS, use rustls rather than OpenSSL)"
        }
        ElfProblem::WrongMachine { .. } => {
            "build for the function's architecture, or change `architecture` in stack.yaml"
        }
        ElfProblem::NotElf(_) => "the crate's binary target must be a Linux executable",
    }
}

/// `<target>/lambda/<binary>/`: where the package of `binary` lives.
pub fn package_dir(target_dir: &Path, binary: &str) -> PathBuf {
    target_dir.join("lambda").join(binary)
}

/// Checks `binary` and writes the function's `bootstrap` and `bootstrap.zip`.
pub fn package_function(
    function_name: &str,
    function: &Function,
    binary: &Path,
    target_dir: &Path,
) -> Result<Package, PackageError> {
    let io = |action, path: &Path| {
        let path = path.to_path_buf();
        move |source| PackageError::Io {
            action,
            path,
            source,
        }
    };
    let bytes = std::fs::read(binary).map_err(io("read", binary))?;
    let report =
        elf::check(&bytes, function.architecture).map_err(|problem| PackageError::Elf {
            function: function_name.to_owned(),
            binary: binary.to_path_buf(),
            problem,
        })?;
    let dir = package_dir(target_dir, &function.binary);
    std::fs::create_dir_all(&dir).map_err(io("create", &dir))?;
    let bootstrap = dir.join("bootstrap");
    let zip_path = dir.join("bootstrap.zip");
    // The zip is written before `bootstrap`, so an unchanged `bootstrap` next to a zip means that
    // zip holds it: reuse it rather than compress megabytes again (no-op runs stay fast).
    let unchanged = std::fs::read(&bootstrap).is_ok_and(|old| old == bytes);
    let reused = if unchanged {
        std::fs::read(&zip_path).ok()
    } else {
        None
    };
    let zipped = match reused {
        Some(zipped) => zipped,
        None => {
            let zipped = zip::bootstrap_zip(&bytes).map_err(|err| PackageError::Io {
                action: "zip",
                path: binary.to_path_buf(),
                source: std::io::Error::other(err),
            })?;
            write_atomically(&zip_path, &zipped, 0o644).map_err(io("write", &zip_path))?;
            write_atomically(&bootstrap, &bytes, 0o755).map_err(io("write", &bootstrap))?;
            zipped
        }
    };

    Ok(Package {
        function: function_name.to_owned(),
        bootstrap,
        zip: zip_path,
        zip_bytes: zipped.len() as u64,
        code_sha256: code_sha256(&zipped),
        max_glibc: report.max_glibc,
    })
}

/// Lambda's `CodeSha256` of a zip: base64 of its SHA-256.
pub fn code_sha256(zip: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(zip))
}

/// Writes through a temporary file and a rename, so a reader (or a crash) never sees half a file.
/// The temporary name is unique to this process and call: several builds (CI jobs, tests) may
/// package the same function at once, and each rename must find its own file.
fn write_atomically(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::write(&tmp, bytes)?;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode))?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_sha256_is_base64_of_the_digest() {
        // sha256("") = e3b0c442...; base64 of those bytes:
        assert_eq!(
            code_sha256(b""),
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
    }
}
