//! Checks of the code's shape, read from the source tree (tests only): no import circle between
//! the top-level modules, no source file over 600 lines, no function over 100 lines. What is
//! still over is listed below with its size today as a ceiling: it may shrink, never grow, and a
//! new entry fails. Issue "Kinds as units" is about emptying these lists.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const MAX_FILE_LINES: usize = 600;
const MAX_FN_LINES: usize = 100;

/// (file, lines) still over [`MAX_FILE_LINES`].
const LONG_FILES: &[(&str, usize)] = &[];

/// (file, function, lines) still over [`MAX_FN_LINES`].
const LONG_FUNCTIONS: &[(&str, &str, usize)] = &[];

fn sources() -> Vec<(String, String)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir)
            .expect("read the source tree")
            .flatten()
        {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&root, &mut files);
    files
        .into_iter()
        .map(|path| {
            let relative = path
                .strip_prefix(&root)
                .unwrap_or(&path)
                .to_string_lossy()
                .replace('\\', "/");
            let text = std::fs::read_to_string(&path).expect("read a source file");
            (relative, text)
        })
        .collect()
}

/// Top-level module -> the top-level modules its code (not its comments or tests) names.
fn imports(files: &[(String, String)]) -> BTreeMap<String, BTreeSet<String>> {
    let modules: BTreeSet<String> = files
        .iter()
        .map(|(path, _)| top(path))
        .filter(|m| m != "main" && m != "lib")
        .collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (path, text) in files {
        let from = top(path);
        if !modules.contains(&from) || path.ends_with("tests.rs") {
            continue;
        }
        let code = text
            .split("#[cfg(test)]\nmod tests {")
            .next()
            .unwrap_or(text);
        for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
            for (at, _) in line.match_indices("crate::") {
                let rest = &line[at + "crate::".len()..];
                // `crate::{a, b::c}` names several.
                let names: Vec<String> = match rest.strip_prefix('{') {
                    Some(group) => group
                        .split(['}', ','])
                        .map(|item| {
                            item.trim()
                                .chars()
                                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                                .collect()
                        })
                        .collect(),
                    None => vec![
                        rest.chars()
                            .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                            .collect(),
                    ],
                };
                for name in names {
                    if name != from && modules.contains(&name) {
                        edges.entry(from.clone()).or_default().insert(name);
                    }
                }
            }
        }
    }
    edges
}

fn top(path: &str) -> String {
    let first = path.split('/').next().unwrap_or(path);
    first.strip_suffix(".rs").unwrap_or(first).to_owned()
}

/// The modules on some circle: those that reach themselves.
fn on_circles(edges: &BTreeMap<String, BTreeSet<String>>) -> BTreeSet<String> {
    let reach = |from: &str| {
        let mut seen = BTreeSet::new();
        let mut todo: Vec<&str> = vec![from];
        while let Some(at) = todo.pop() {
            for next in edges.get(at).into_iter().flatten() {
                if seen.insert(next.clone()) {
                    todo.push(next);
                }
            }
        }
        seen
    };
    edges
        .keys()
        .filter(|m| reach(m).contains(*m))
        .cloned()
        .collect()
}

#[test]
fn no_import_circle() {
    let edges = imports(&sources());
    let circled = on_circles(&edges);
    assert!(
        circled.is_empty(),
        "modules on an import circle: {circled:?} (their imports: {edges:#?})"
    );
}

#[test]
fn no_file_and_no_function_grows_past_its_ceiling() {
    let mut over = Vec::new();
    for (path, text) in sources() {
        let lines = text.lines().count();
        let ceiling = LONG_FILES
            .iter()
            .find(|(p, _)| *p == path)
            .map_or(MAX_FILE_LINES, |(_, n)| *n);
        if lines > ceiling {
            over.push(format!("{path}: {lines} lines (at most {ceiling})"));
        }
        let all: Vec<&str> = text.lines().collect();
        for (i, line) in all.iter().enumerate() {
            let trimmed = line.trim_start();
            let indent = &line[..line.len() - trimmed.len()];
            let signature = ["pub(crate) ", "pub(super) ", "pub ", "async ", "const "]
                .iter()
                .fold(trimmed, |rest, prefix| {
                    rest.strip_prefix(prefix).unwrap_or(rest)
                });
            let signature = signature.strip_prefix("async ").unwrap_or(signature);
            let Some(rest) = signature.strip_prefix("fn ") else {
                continue;
            };
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let close = format!("{indent}}}");
            let Some(end) = all[i + 1..].iter().position(|l| *l == close) else {
                continue;
            };
            let length = end + 2;
            let ceiling = LONG_FUNCTIONS
                .iter()
                .find(|(p, f, _)| *p == path && *f == name)
                .map_or(MAX_FN_LINES, |(_, _, n)| *n);
            if length > ceiling {
                over.push(format!(
                    "{path}: fn {name}: {length} lines (at most {ceiling})"
                ));
            }
        }
    }
    assert!(over.is_empty(), "{}", over.join("\n"));
}
