//! Will this binary run on Lambda's `provided.al2023`? Checked from the ELF alone: the machine
//! matches the function's architecture, every shared library it links is one AL2023 ships, and no
//! symbol needs a glibc newer than AL2023's (2.34). This machine's glibc is newer, so a binary built
//! here can need symbols Lambda does not have; the loader would refuse it at the first cold start.

use object::elf;
use object::read::elf::{Dyn, ElfFile64, FileHeader, Sym};

use crate::spec::Architecture;

/// AL2023's glibc: the newest `GLIBC_x.y` version a binary may need.
pub const MAX_GLIBC: (u32, u32) = (2, 34);

/// Shared libraries present on `provided.al2023` (glibc's own libraries and libgcc).
const RUNTIME_LIBRARIES: &[&str] = &[
    "libc.so.6",
    "libm.so.6",
    "libgcc_s.so.1",
    "libpthread.so.0",
    "libdl.so.2",
    "librt.so.1",
    "libutil.so.1",
    "libresolv.so.2",
    "ld-linux-x86-64.so.2",
    "ld-linux-aarch64.so.1",
];

/// Why a binary would not run on Lambda.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ElfProblem {
    #[error("it is not a 64-bit ELF executable ({0})")]
    NotElf(String),
    #[error("it is built for {found}, but the function's architecture is `{wanted}`")]
    WrongMachine { found: String, wanted: &'static str },
    #[error("it links `{0}`, which Lambda's provided.al2023 runtime does not have")]
    MissingLibrary(String),
    #[error("symbol `{symbol}` needs {version}, newer than the GLIBC_{}.{} of Lambda's provided.al2023", MAX_GLIBC.0, MAX_GLIBC.1)]
    GlibcTooNew { symbol: String, version: String },
}

/// What the check read from the binary, for reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElfReport {
    pub libraries: Vec<String>,
    /// The newest `GLIBC_x.y` any symbol needs, if any.
    pub max_glibc: Option<String>,
}

/// Checks `data` (a whole executable) against Lambda's runtime for `architecture`.
pub fn check(data: &[u8], architecture: Architecture) -> Result<ElfReport, ElfProblem> {
    let file = ElfFile64::<object::Endianness>::parse(data)
        .map_err(|err| ElfProblem::NotElf(err.to_string()))?;
    let endian = file.endian();
    let header = file.elf_header();

    let (wanted_machine, wanted) = match architecture {
        Architecture::X86_64 => (elf::EM_X86_64, "x86_64"),
        Architecture::Arm64 => (elf::EM_AARCH64, "arm64"),
    };
    let machine = header.e_machine(endian);
    if machine != wanted_machine {
        let found = match machine {
            elf::EM_X86_64 => "x86_64".to_owned(),
            elf::EM_AARCH64 => "arm64 (aarch64)".to_owned(),
            other => format!("ELF machine {other}"),
        };
        return Err(ElfProblem::WrongMachine { found, wanted });
    }

    let sections = file.elf_section_table();
    let not_elf = |err: object::read::Error| ElfProblem::NotElf(err.to_string());
    let mut libraries = Vec::new();
    if let Some((entries, link)) = sections.dynamic(endian, data).map_err(not_elf)? {
        let strings = sections.strings(endian, data, link).map_err(not_elf)?;
        for entry in entries {
            if entry.tag(endian) == elf::DT_NEEDED {
                let name = entry.string(endian, strings).map_err(not_elf)?;
                libraries.push(String::from_utf8_lossy(name).into_owned());
            }
        }
    }
    if let Some(library) = libraries
        .iter()
        .find(|lib| !RUNTIME_LIBRARIES.contains(&lib.as_str()))
    {
        return Err(ElfProblem::MissingLibrary(library.clone()));
    }

    // The newest glibc version any undefined dynamic symbol binds to.
    let mut newest: Option<((u32, u32), String, String)> = None;
    if let Some(versions) = sections.versions(endian, data).map_err(not_elf)? {
        let symbols = file.elf_dynamic_symbol_table();
        for (index, symbol) in symbols.enumerate() {
            if !symbol.is_undefined(endian) {
                continue;
            }
            let Ok(Some(version)) = versions.version(versions.version_index(endian, index).index())
            else {
                continue;
            };
            let version_name = String::from_utf8_lossy(version.name()).into_owned();
            let Some(number) = glibc_version(&version_name) else {
                continue;
            };
            if newest.as_ref().is_none_or(|(n, _, _)| number > *n) {
                let symbol_name = symbols
                    .symbol_name(endian, symbol)
                    .map(|name| String::from_utf8_lossy(name).into_owned())
                    .unwrap_or_else(|_| "?".to_owned());
                newest = Some((number, version_name, symbol_name));
            }
        }
    }
    if let Some((number, version, symbol)) = &newest
        && *number > MAX_GLIBC
    {
        return Err(ElfProblem::GlibcTooNew {
            symbol: symbol.clone(),
            version: version.clone(),
        });
    }
    Ok(ElfReport {
        libraries,
        max_glibc: newest.map(|(_, version, _)| version),
    })
}

/// `GLIBC_2.34` -> (2, 34); other version names -> None.
fn glibc_version(name: &str) -> Option<(u32, u32)> {
    let rest = name.strip_prefix("GLIBC_")?;
    let mut parts = rest.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().map_or(Some(0), |p| p.parse().ok())?;
    Some((major, minor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_glibc_versions() {
        assert_eq!(glibc_version("GLIBC_2.34"), Some((2, 34)));
        assert_eq!(glibc_version("GLIBC_2.2.5"), Some((2, 2)));
        assert_eq!(glibc_version("GLIBC_PRIVATE"), None);
        assert_eq!(glibc_version("GCC_3.0"), None);
        assert!((2, 35) > MAX_GLIBC && (2, 9) < MAX_GLIBC);
    }

    #[test]
    fn refuses_what_is_not_elf() {
        let got = check(b"#!/bin/sh\necho hi\n", Architecture::X86_64);
        assert!(matches!(got, Err(ElfProblem::NotElf(_))), "{got:?}");
    }

    /// The test binary itself is an x86_64 ELF built on this machine: the machine check must
    /// refuse it for arm64.
    #[test]
    fn refuses_the_wrong_machine() {
        let Ok(exe) = std::env::current_exe().and_then(std::fs::read) else {
            return;
        };
        if cfg!(target_arch = "x86_64") {
            let got = check(&exe, Architecture::Arm64);
            assert!(
                matches!(got, Err(ElfProblem::WrongMachine { .. })),
                "{got:?}"
            );
        }
    }
}
