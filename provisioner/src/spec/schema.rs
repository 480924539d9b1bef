//! The JSON Schema of stack.yaml, generated from the serde types the loader reads it with (never
//! kept by hand), and the check it makes possible before serde reads the file: every unknown key
//! in one run, each with its position and a did-you-mean, where serde stops at the first.

use serde_json::Value;

use super::positions::Positions;
use super::{Diagnostic, Severity};

/// Where the schema says it lives, for editors (`# yaml-language-server: $schema=...`).
pub const SCHEMA_FILE: &str = "stack.schema.json";

/// stack.yaml's JSON Schema (draft 2020-12), with each key's documentation.
pub fn schema() -> Value {
    let mut schema =
        serde_json::to_value(schemars::schema_for!(super::raw::RawStack)).unwrap_or(Value::Null);
    if let Some(object) = schema.as_object_mut() {
        object.insert(
            "title".to_owned(),
            Value::String("provisioner stack.yaml".to_owned()),
        );
    }
    schema
}

/// Every unknown key at once (serde stops at the first), before serde reads the file. A file
/// that is not YAML is left to serde, which says where.
pub(super) fn check_keys(text: &str, positions: &Positions) -> Result<(), Vec<Diagnostic>> {
    let Ok(document) = serde_yaml::from_str::<serde_yaml::Value>(text) else {
        return Ok(());
    };
    let unknown = unknown_keys(&document, positions);
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(unknown)
    }
}

/// Every key of `document` the schema does not have where it allows no other, in the file's
/// order.
fn unknown_keys(document: &serde_yaml::Value, positions: &Positions) -> Vec<Diagnostic> {
    let root = schema();
    let mut found = Vec::new();
    walk(
        &root,
        &root,
        document,
        &mut Vec::new(),
        positions,
        &mut found,
    );
    found.sort_by_key(|d| d.pos.map(|p| (p.line, p.col)));
    found
}

/// `schema` with `$ref`s followed and, for `anyOf`/`oneOf` (an `Option`, a one-or-many), the
/// alternative that takes `node`'s shape.
fn resolve<'a>(root: &'a Value, schema: &'a Value, node: &serde_yaml::Value) -> &'a Value {
    let mut schema = schema;
    for _ in 0..16 {
        if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
            let Some(name) = reference.strip_prefix("#/$defs/") else {
                return schema;
            };
            match root.get("$defs").and_then(|defs| defs.get(name)) {
                Some(found) => schema = found,
                None => return schema,
            }
            continue;
        }
        let alternatives = schema
            .get("anyOf")
            .or_else(|| schema.get("oneOf"))
            .and_then(Value::as_array);
        let Some(alternatives) = alternatives else {
            return schema;
        };
        let wanted = match node {
            serde_yaml::Value::Mapping(_) => "object",
            serde_yaml::Value::Sequence(_) => "array",
            _ => return schema,
        };
        let fits = alternatives.iter().find(|alternative| {
            let alternative = follow(root, alternative);
            alternative.get("type").and_then(Value::as_str) == Some(wanted)
                || (wanted == "object" && alternative.get("properties").is_some())
        });
        match fits {
            Some(alternative) => schema = alternative,
            None => return schema,
        }
    }
    schema
}

/// One `$ref` followed.
fn follow<'a>(root: &'a Value, schema: &'a Value) -> &'a Value {
    schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/$defs/"))
        .and_then(|name| root.get("$defs")?.get(name))
        .unwrap_or(schema)
}

fn walk(
    root: &Value,
    schema: &Value,
    node: &serde_yaml::Value,
    path: &mut Vec<String>,
    positions: &Positions,
    found: &mut Vec<Diagnostic>,
) {
    let schema = resolve(root, schema, node);
    match node {
        serde_yaml::Value::Mapping(map) => {
            let properties = schema.get("properties").and_then(Value::as_object);
            let others = schema.get("additionalProperties");
            for (key, value) in map {
                let Some(key) = key.as_str() else { continue };
                if let Some(sub) = properties.and_then(|p| p.get(key)) {
                    path.push(key.to_owned());
                    walk(root, sub, value, path, positions, found);
                    path.pop();
                } else if others == Some(&Value::Bool(false)) {
                    let known: Vec<&str> = properties
                        .map(|p| p.keys().map(String::as_str).collect())
                        .unwrap_or_default();
                    let mut at = path.clone();
                    at.push(key.to_owned());
                    let hint = match super::did_you_mean(key, known.iter().copied()) {
                        Some(candidate) => format!("did you mean `{candidate}`?"),
                        None => format!(
                            "expected one of {}",
                            known
                                .iter()
                                .map(|k| format!("`{k}`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    };
                    found.push(Diagnostic {
                        severity: Severity::Error,
                        field: path.join("."),
                        pos: positions.key(&at),
                        message: format!("unknown field `{key}`"),
                        hint: Some(hint),
                        code: "unknownField",
                    });
                } else if let Some(sub) = others.filter(|o| o.is_object()) {
                    path.push(key.to_owned());
                    walk(root, sub, value, path, positions, found);
                    path.pop();
                }
            }
        }
        serde_yaml::Value::Sequence(items) => {
            if let Some(sub) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    path.push(i.to_string());
                    walk(root, sub, item, path, positions, found);
                    path.pop();
                }
            }
        }
        _ => {}
    }
}
