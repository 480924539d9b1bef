//! Where each node of a YAML document stands, by its path of keys, so that errors found after
//! deserializing (a memory size out of range, a reference to nothing) still name `file:line:col`.
//! serde_yaml keeps no spans; this walks the same text once with yaml-rust2's event parser.
//!
//! The same walk is the first line of defence against hostile files: it is linear in the size of
//! the text, stops at [`MAX_DEPTH`] levels of nesting before reading further, and finds keys
//! written twice in one mapping (serde would silently keep the last one).

use std::collections::HashMap;

use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::Marker;

/// How deeply collections may nest. The deepest path of a real stack.yaml is 7 levels
/// (`functions.<f>.allow.<i>.resources.<j>`); anything far deeper is a mistake or an attack.
pub const MAX_DEPTH: usize = 64;

/// A 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
}

impl std::fmt::Display for Pos {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

/// Positions of keys and values, by path (`["functions", "sign-up", "memory"]`; list items by index).
#[derive(Debug, Default)]
pub struct Positions {
    values: HashMap<Vec<String>, Pos>,
    keys: HashMap<Vec<String>, Pos>,
    /// With an environment selected, `["environments", <name>]`: a path it overrides is found
    /// there (`functions.secret.memory` at `environments.prod.functions.secret.memory`).
    overlay: Option<Vec<String>>,
}

/// A key written twice in one mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duplicate {
    /// The path of the key (its mapping's path, then the key).
    pub path: Vec<String>,
    pub first: Pos,
    pub second: Pos,
}

/// What one walk of the text found.
#[derive(Debug, Default)]
pub struct Scan {
    pub positions: Positions,
    pub duplicates: Vec<Duplicate>,
    /// Where a collection opens deeper than [`MAX_DEPTH`]; the walk stopped there.
    pub too_deep: Option<Pos>,
}

impl Positions {
    /// Where the value at `path` starts; failing that, its nearest ancestor that was written
    /// (an environment's override before the base at the same depth).
    pub fn value(&self, path: &[String]) -> Option<Pos> {
        (0..=path.len()).rev().find_map(|len| {
            self.overlaid(&self.values, &path[..len])
                .or_else(|| self.values.get(&path[..len]).copied())
        })
    }

    /// Where the key of `path` (its last element) is written, else where its value is.
    pub fn key(&self, path: &[String]) -> Option<Pos> {
        self.overlaid(&self.keys, path)
            .or_else(|| self.keys.get(path).copied())
            .or_else(|| self.value(path))
    }

    /// Reads positions through environment `name`'s overrides from now on.
    pub fn overlay(&mut self, name: &str) {
        self.overlay = Some(vec!["environments".to_owned(), name.to_owned()]);
    }

    /// The position of `path` inside the selected environment, if it is written there.
    fn overlaid(&self, map: &HashMap<Vec<String>, Pos>, path: &[String]) -> Option<Pos> {
        let prefix = self.overlay.as_ref()?;
        if path.is_empty() {
            return None;
        }
        let mut full = prefix.clone();
        full.extend_from_slice(path);
        map.get(&full).copied()
    }
}

/// Walks `text` once: positions, duplicate keys, and whether it nests too deeply (the walk stops
/// at the first collection that does). A syntax error ends the walk quietly: serde_yaml reports it.
pub fn scan(text: &str) -> Scan {
    // Both YAML parsers read a whole run of flow brackets (`[[[[...`) before their first event,
    // in time that grows with the square of its depth: bound it on the raw text first.
    if let Some(pos) = flow_too_deep(text) {
        return Scan {
            too_deep: Some(pos),
            ..Scan::default()
        };
    }
    let mut walker = Walker::default();
    let mut parser = Parser::new_from_str(text);
    while let Ok((event, mark)) = parser.next_token() {
        match event {
            Event::StreamEnd => break,
            Event::MappingStart(..) | Event::SequenceStart(..)
                if walker.frames.len() >= MAX_DEPTH =>
            {
                walker.scan.too_deep = Some(pos(mark));
                break;
            }
            event => walker.on_event(event, mark),
        }
    }
    walker.scan
}

/// Where flow brackets (`[`, `{`) first nest deeper than [`MAX_DEPTH`], in one linear pass.
/// Quoted strings and comments are skipped; a bracket inside a plain scalar is counted too, which
/// can only over-count (a real stack.yaml is far from the limit either way).
fn flow_too_deep(text: &str) -> Option<Pos> {
    let (mut line, mut col) = (1, 0);
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut comment = false;
    let mut previous = '\n';
    let mut escaped = false;
    for ch in text.chars() {
        col += 1;
        if ch == '\n' {
            (line, col) = (line + 1, 0);
            comment = false;
        }
        match quote {
            Some('"') if escaped => escaped = false,
            Some('"') if ch == '\\' => escaped = true,
            Some(open) if ch == open => quote = None,
            Some(_) => {}
            None if comment => {}
            None => match ch {
                '#' if previous.is_whitespace() => comment = true,
                '"' | '\'' if previous.is_whitespace() || "[{,:".contains(previous) => {
                    quote = Some(ch)
                }
                '[' | '{' => {
                    depth += 1;
                    if depth > MAX_DEPTH {
                        return Some(Pos { line, col });
                    }
                }
                ']' | '}' => depth = depth.saturating_sub(1),
                _ => {}
            },
        }
        previous = ch;
    }
    None
}

fn pos(mark: Marker) -> Pos {
    Pos {
        line: mark.line(),
        // yaml-rust2 counts columns from 0.
        col: mark.col() + 1,
    }
}

enum Frame {
    Map {
        /// The key of the value being read, or None while a key is expected.
        key: Option<String>,
        /// Every key of this mapping so far, where it is written.
        seen: HashMap<String, Pos>,
    },
    Seq {
        next: usize,
    },
}

#[derive(Default)]
struct Walker {
    scan: Scan,
    frames: Vec<Frame>,
    /// The path of the innermost open collection.
    path: Vec<String>,
}

impl Walker {
    /// A node starts at `mark`: returns its path if it is a value, None if it is a mapping key.
    fn node(&mut self, key_text: Option<&str>, mark: Marker) -> Option<Vec<String>> {
        let pos = pos(mark);
        let positions = &mut self.scan.positions;
        match self.frames.last_mut() {
            Some(Frame::Map { key, seen }) if key.is_none() => {
                // Complex (non-scalar) keys are not part of our format; give them a placeholder.
                let key_text = key_text.unwrap_or("?").to_owned();
                let mut path = self.path.clone();
                path.push(key_text.clone());
                if key_text != "?" {
                    match seen.get(&key_text) {
                        Some(first) => self.scan.duplicates.push(Duplicate {
                            path: path.clone(),
                            first: *first,
                            second: pos,
                        }),
                        None => {
                            seen.insert(key_text.clone(), pos);
                        }
                    }
                }
                positions.keys.entry(path).or_insert(pos);
                *key = Some(key_text);
                None
            }
            Some(Frame::Map { key, .. }) => {
                let mut path = self.path.clone();
                path.extend(key.take());
                positions.values.entry(path.clone()).or_insert(pos);
                Some(path)
            }
            Some(Frame::Seq { next }) => {
                let mut path = self.path.clone();
                path.push(next.to_string());
                *next += 1;
                positions.values.entry(path.clone()).or_insert(pos);
                Some(path)
            }
            None => {
                positions.values.entry(Vec::new()).or_insert(pos);
                Some(Vec::new())
            }
        }
    }

    fn open(&mut self, frame: Frame, mark: Marker) {
        match self.node(None, mark) {
            Some(path) => self.path = path,
            // A collection as a mapping key: descend under the placeholder key.
            None => self.path.push("?".to_owned()),
        }
        self.frames.push(frame);
    }

    fn close(&mut self) {
        self.frames.pop();
        self.path.pop();
    }

    fn on_event(&mut self, event: Event, mark: Marker) {
        match event {
            Event::Scalar(text, ..) => {
                self.node(Some(&text), mark);
            }
            Event::Alias(_) => {
                self.node(None, mark);
            }
            Event::MappingStart(..) => self.open(
                Frame::Map {
                    key: None,
                    seen: HashMap::new(),
                },
                mark,
            ),
            Event::SequenceStart(..) => self.open(Frame::Seq { next: 0 }, mark),
            Event::MappingEnd | Event::SequenceEnd => self.close(),
            Event::Nothing
            | Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart
            | Event::DocumentEnd => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(p: &str) -> Vec<String> {
        p.split('.')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn finds_keys_values_and_list_items() {
        let text = "stack: demo\nfunctions:\n  a:\n    memory: 64\n    allow:\n      - actions: [x:Y]\n  b: { timeout: 3 }\n";
        let positions = scan(text).positions;
        let at = |line, col| Some(Pos { line, col });
        assert_eq!(positions.value(&path("stack")), at(1, 8));
        assert_eq!(positions.key(&path("functions.a.memory")), at(4, 5));
        assert_eq!(positions.value(&path("functions.a.memory")), at(4, 13));
        assert_eq!(
            positions.value(&path("functions.a.allow.0.actions.0")),
            at(6, 19)
        );
        assert_eq!(positions.value(&path("functions.b.timeout")), at(7, 17));
        // A path that is not written falls back to its nearest written ancestor.
        assert_eq!(
            positions.value(&path("functions.b.memory")),
            positions.value(&path("functions.b"))
        );
    }

    #[test]
    fn finds_keys_written_twice_at_any_level() {
        let text =
            "stack: a\nfunctions:\n  f: { crate: x }\n  f: { crate: y, crate: z }\nstack: b\n";
        let scan = scan(text);
        let found: Vec<(String, String, String)> = scan
            .duplicates
            .iter()
            .map(|d| (d.path.join("."), d.first.to_string(), d.second.to_string()))
            .collect();
        let expect = |p: &str, a: &str, b: &str| (p.to_owned(), a.to_owned(), b.to_owned());
        assert_eq!(
            found,
            vec![
                expect("functions.f", "3:3", "4:3"),
                expect("functions.f.crate", "4:8", "4:18"),
                expect("stack", "1:1", "5:1"),
            ]
        );
        // The same key in different mappings, and list items, are not duplicates.
        assert!(scan_ok("a: { x: 1 }\nb: { x: 1 }\nc: [1, 1]\n"));
    }

    fn scan_ok(text: &str) -> bool {
        let scan = scan(text);
        scan.duplicates.is_empty() && scan.too_deep.is_none()
    }

    #[test]
    fn stops_at_the_depth_limit_and_stays_linear() {
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(scan_ok(&ok));
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert_eq!(
            scan(&deep).too_deep,
            Some(Pos {
                line: 1,
                col: MAX_DEPTH + 1
            })
        );
        // 200,000 levels (files that used to take minutes) stop after the first 65.
        let hostile = "- ".repeat(200_000);
        assert!(scan(&hostile).too_deep.is_some());
        let hostile = format!("a: {}", "[".repeat(200_000));
        assert_eq!(
            scan(&hostile).too_deep,
            Some(Pos {
                line: 1,
                col: 4 + MAX_DEPTH
            })
        );
        // Brackets in quotes and comments are text.
        let quoted = format!(
            "a: \"{}\"\nb: '{}' # {}\n",
            "[".repeat(100),
            "{".repeat(100),
            "[".repeat(100)
        );
        assert!(scan_ok(&quoted));
    }
}
