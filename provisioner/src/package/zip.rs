//! A deterministic Lambda zip: one entry, `bootstrap`, mode 0755, a fixed timestamp and fixed
//! compression, so unchanged code gives the same bytes and the same CodeSha256 (no redeploy).

use std::io::{Cursor, Write};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

/// The zip holding `bootstrap` with the given contents.
pub fn bootstrap_zip(binary: &[u8]) -> zip::result::ZipResult<Vec<u8>> {
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .compression_level(Some(9))
        // 1980-01-01 00:00, the earliest time a zip can carry.
        .last_modified_time(DateTime::default())
        .unix_permissions(0o755)
        .large_file(false);
    let mut writer = ZipWriter::new(Cursor::new(Vec::with_capacity(binary.len() / 2)));
    writer.start_file("bootstrap", options)?;
    writer.write_all(binary)?;
    Ok(writer.finish()?.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_input_same_bytes_and_an_executable_bootstrap() {
        let binary = b"\x7fELF pretend binary".repeat(1000);
        let first = bootstrap_zip(&binary).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let second = bootstrap_zip(&binary).unwrap();
        assert_eq!(first, second, "two zips of the same binary differ");

        let mut archive = zip::ZipArchive::new(Cursor::new(first)).unwrap();
        assert_eq!(archive.len(), 1);
        let entry = archive.by_index(0).unwrap();
        assert_eq!(entry.name().unwrap(), "bootstrap");
        assert_eq!(entry.unix_mode().map(|mode| mode & 0o777), Some(0o755));
        assert_eq!(entry.last_modified(), Some(DateTime::default()));
    }

    #[test]
    fn different_input_different_bytes() {
        assert_ne!(
            bootstrap_zip(b"one").unwrap(),
            bootstrap_zip(b"two").unwrap()
        );
    }
}
