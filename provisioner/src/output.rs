//! The only module that prints. stdout carries data (reports, JSON); progress, warnings and errors
//! go to stderr.

use std::io::Write;

use crate::package::Package;
use crate::spec::Diagnostic;

/// A progress line on stderr.
pub fn status(message: &str) {
    eprintln!("{message}");
}

/// Warnings from loading stack.yaml, on stderr.
pub fn warnings(file: &str, warnings: &[Diagnostic]) {
    for warning in warnings {
        eprintln!("{}", warning.render(file));
    }
}

/// The final error of a run, on stderr, with its whole chain of causes.
pub fn error(err: &anyhow::Error) {
    eprintln!("error: {err:#}");
}

/// Built packages: a table (or JSON) on stdout.
pub fn packages(packages: &[Package], json: bool) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, packages)?;
        writeln!(out)?;
        return Ok(());
    }
    let width = packages.iter().map(|p| p.function.len()).max().unwrap_or(0);
    for package in packages {
        writeln!(
            out,
            "{:<width$}  {:>9}  {}  (needs {})",
            package.function,
            human_bytes(package.zip_bytes),
            package.zip.display(),
            package
                .max_glibc
                .as_deref()
                .unwrap_or("no glibc symbol versions"),
        )?;
    }
    Ok(())
}

/// `3.2 MiB`.
pub fn human_bytes(bytes: u64) -> String {
    const KIB: f64 = 1024.0;
    let b = bytes as f64;
    if b >= KIB * KIB {
        format!("{:.1} MiB", b / (KIB * KIB))
    } else if b >= KIB {
        format!("{:.1} KiB", b / KIB)
    } else {
        format!("{bytes} B")
    }
}
