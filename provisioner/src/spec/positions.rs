//! Where each node of a YAML document stands, by its path of keys, so that errors found after
//! deserializing (a memory size out of range, a reference to nothing) still name `file:line:col`.
//! serde_yaml keeps no spans; this walks the same text once with yaml-rust2's event parser.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// A 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
}

/// Positions of keys and values, by path (`["functions", "sign-up", "memory"]`; list items by index).
#[derive(Debug, Default)]
pub struct Positions {
    values: HashMap<Vec<String>, Pos>,
    keys: HashMap<Vec<String>, Pos>,
}

impl Positions {
    /// Indexes `text`. A document that does not parse yields what was read before the fault
    /// (serde_yaml reports the fault itself, with its own position).
    pub fn index(text: &str) -> Positions {
        let mut walker = Walker::default();
        let mut parser = Parser::new_from_str(text);
        let _ = parser.load(&mut walker, false);
        walker.positions
    }

    /// Where the value at `path` starts; failing that, its nearest ancestor that was written.
    pub fn value(&self, path: &[String]) -> Option<Pos> {
        (0..=path.len())
            .rev()
            .find_map(|len| self.values.get(&path[..len]).copied())
    }

    /// Where the key of `path` (its last element) is written, else where its value is.
    pub fn key(&self, path: &[String]) -> Option<Pos> {
        self.keys.get(path).copied().or_else(|| self.value(path))
    }
}

enum Frame {
    /// `key` is the key of the value being read, or None while a key is expected.
    Map {
        key: Option<String>,
    },
    Seq {
        next: usize,
    },
}

#[derive(Default)]
struct Walker {
    positions: Positions,
    frames: Vec<Frame>,
    /// The path of the innermost open collection.
    path: Vec<String>,
}

impl Walker {
    /// A node starts at `mark`: returns its path if it is a value, None if it is a mapping key.
    fn node(&mut self, key_text: Option<&str>, mark: Marker) -> Option<Vec<String>> {
        let pos = Pos {
            line: mark.line(),
            // yaml-rust2 counts columns from 0.
            col: mark.col() + 1,
        };
        match self.frames.last_mut() {
            Some(Frame::Map { key }) if key.is_none() => {
                // Complex (non-scalar) keys are not part of our format; give them a placeholder.
                let key_text = key_text.unwrap_or("?").to_owned();
                let mut path = self.path.clone();
                path.push(key_text.clone());
                self.positions.keys.insert(path, pos);
                *key = Some(key_text);
                None
            }
            Some(Frame::Map { key }) => {
                let mut path = self.path.clone();
                path.extend(key.take());
                self.positions.values.entry(path.clone()).or_insert(pos);
                Some(path)
            }
            Some(Frame::Seq { next }) => {
                let mut path = self.path.clone();
                path.push(next.to_string());
                *next += 1;
                self.positions.values.entry(path.clone()).or_insert(pos);
                Some(path)
            }
            None => {
                self.positions.values.entry(Vec::new()).or_insert(pos);
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
}

impl MarkedEventReceiver for Walker {
    fn on_event(&mut self, event: Event, mark: Marker) {
        match event {
            Event::Scalar(text, ..) => {
                self.node(Some(&text), mark);
            }
            Event::Alias(_) => {
                self.node(None, mark);
            }
            Event::MappingStart(..) => self.open(Frame::Map { key: None }, mark),
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
        let positions = Positions::index(text);
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
}
