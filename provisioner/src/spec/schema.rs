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
    with_environments(&mut schema);
    if let Some(object) = schema.as_object_mut() {
        object.insert(
            "title".to_owned(),
            Value::String("provisioner stack.yaml".to_owned()),
        );
    }
    schema
}

/// `environments:` typed: each environment may set the settings `environments::KEYS` names, each
/// as the file writes it but with nothing required (an environment writes only what it changes),
/// or be empty. The loader reads them as YAML and merges one over the file, so without this an
/// editor (and the unknown-key check) would take any key there.
fn with_environments(schema: &mut Value) {
    const SUFFIX: &str = "Overlay";
    let Some(defs) = schema.get("$defs").and_then(Value::as_object).cloned() else {
        return;
    };
    // The definitions that require something, and those that refer to one of them: each gets a
    // copy that requires nothing.
    let mut partial: std::collections::BTreeSet<String> = defs
        .iter()
        .filter(|(_, def)| def.to_string().contains("\"required\""))
        .map(|(name, _)| name.clone())
        .collect();
    loop {
        let more: Vec<String> = defs
            .iter()
            .filter(|(name, def)| {
                !partial.contains(*name) && refs(def).iter().any(|r| partial.contains(r))
            })
            .map(|(name, _)| name.clone())
            .collect();
        if more.is_empty() {
            break;
        }
        partial.extend(more);
    }
    let overlay = |value: &Value| {
        let mut value = value.clone();
        make_partial(&mut value, &partial, SUFFIX);
        value
    };
    let properties = schema.get("properties").cloned().unwrap_or(Value::Null);
    let settings: serde_json::Map<String, Value> = super::environments::KEYS
        .iter()
        .filter_map(|key| Some(((*key).to_owned(), overlay(properties.get(*key)?))))
        .collect();
    // The copies an environment's settings reach.
    let mut added = serde_json::Map::new();
    let mut reached = refs(&Value::Object(settings.clone()));
    while let Some(name) = reached.pop() {
        let Some(original) = name.strip_suffix(SUFFIX).filter(|n| partial.contains(*n)) else {
            continue;
        };
        if !added.contains_key(&name) {
            let copy = overlay(&defs[original]);
            reached.extend(refs(&copy));
            added.insert(name, copy);
        }
    }
    added.insert(
        "Environment".to_owned(),
        serde_json::json!({
            "description": "Settings merged over the rest of the file when this environment is chosen (`--env`): mappings key by key, anything else replaced whole.",
            "type": "object",
            "properties": settings,
            "additionalProperties": false,
        }),
    );
    if let Some(defs) = schema.get_mut("$defs").and_then(Value::as_object_mut) {
        defs.extend(added);
    }
    if let Some(environments) = schema.pointer_mut("/properties/environments") {
        let description = environments.get("description").cloned();
        *environments = serde_json::json!({
            "type": "object",
            "additionalProperties": {
                "anyOf": [{"$ref": "#/$defs/Environment"}, {"type": "null"}]
            },
        });
        if let Some(description) = description {
            environments["description"] = description;
        }
    }
}

/// The names of the definitions `value` refers to.
fn refs(value: &Value) -> Vec<String> {
    match value {
        Value::Object(map) => map
            .iter()
            .flat_map(|(key, value)| match (key.as_str(), value.as_str()) {
                ("$ref", Some(r)) => r
                    .strip_prefix("#/$defs/")
                    .map(str::to_owned)
                    .into_iter()
                    .collect(),
                _ => refs(value),
            })
            .collect(),
        Value::Array(items) => items.iter().flat_map(refs).collect(),
        _ => Vec::new(),
    }
}

/// `value` requiring nothing, its references to `partial` definitions turned to their copies;
/// but a list's items stay whole (an environment's list replaces the file's).
fn make_partial(value: &mut Value, partial: &std::collections::BTreeSet<String>, suffix: &str) {
    match value {
        Value::Object(map) => {
            map.remove("required");
            for (key, value) in map.iter_mut().filter(|(key, _)| *key != "items") {
                let target = (key == "$ref")
                    .then(|| value.as_str()?.strip_prefix("#/$defs/"))
                    .flatten()
                    .filter(|name| partial.contains(*name))
                    .map(str::to_owned);
                match target {
                    Some(name) => *value = Value::String(format!("#/$defs/{name}{suffix}")),
                    None => make_partial(value, partial, suffix),
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                make_partial(item, partial, suffix);
            }
        }
        _ => {}
    }
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
                    // A key written in an environment that only the file's top level takes.
                    let message = match path.as_slice() {
                        [top, env] if top == "environments" => {
                            format!("environment `{env}` cannot set `{key}`")
                        }
                        _ => format!("unknown field `{key}`"),
                    };
                    found.push(Diagnostic {
                        severity: Severity::Error,
                        field: path.join("."),
                        pos: positions.key(&at),
                        message,
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
