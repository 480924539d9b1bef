//! How a role's change reads in the plan: managed policies as a list, and an inline policy one
//! statement per line, or, for a statement changed in one list, the one action or resource.

use std::collections::BTreeSet;

use serde_json::Value;

use super::RoleSettings;
use crate::plan::{Action, Differ, Shown};

/// The field lines people review.
pub(super) fn shown(live: &RoleSettings, desired: &RoleSettings) -> Action {
    let mut d = Differ::default();
    d.field("trustPolicy", &live.trust_policy, &desired.trust_policy);
    if desired.permissions_boundary.is_some() {
        let boundary = |b: &Option<String>| Shown(b.clone().unwrap_or_else(|| "(none)".to_owned()));
        d.field(
            "permissionsBoundary",
            &boundary(&live.permissions_boundary),
            &boundary(&desired.permissions_boundary),
        );
    }
    d.field(
        "managedPolicies",
        &live.managed_policies,
        &desired.managed_policies,
    );
    d.field("tags", &live.tags, &desired.tags);
    let names: BTreeSet<&String> = live
        .inline_policies
        .keys()
        .chain(desired.inline_policies.keys())
        .collect();
    for name in names {
        let (live_doc, desired_doc) = (
            live.inline_policies.get(name),
            desired.inline_policies.get(name),
        );
        if live_doc == desired_doc {
            continue;
        }
        // One line per statement removed or added, as people review a policy change.
        let statements = |doc: Option<&Value>| -> Vec<Value> {
            doc.and_then(|d| d["Statement"].as_array().cloned())
                .unwrap_or_default()
        };
        let (live_statements, desired_statements) = (statements(live_doc), statements(desired_doc));
        let mut removed: Vec<&Value> = live_statements
            .iter()
            .filter(|s| !desired_statements.contains(s))
            .collect();
        let mut added: Vec<&Value> = desired_statements
            .iter()
            .filter(|s| !live_statements.contains(s))
            .collect();
        let mut lines: Vec<(String, String)> = Vec::new();
        // A statement changed in one list (an action added beside the others, a resource
        // removed) shows as that action or resource alone, as Terraform shows a list's change.
        while let Some((r, a)) = removed.iter().enumerate().find_map(|(r, old)| {
            added
                .iter()
                .position(|new| same_but_one_list(old, new).is_some())
                .map(|a| (r, a))
        }) {
            let (old, new) = (removed.remove(r), added.remove(a));
            lines.extend(list_change(name, old, new));
        }
        for statement in removed {
            lines.push((statement_line(name, statement), "(removed)".to_owned()));
        }
        for statement in added {
            lines.push(("(absent)".to_owned(), statement_line(name, statement)));
        }
        let shown = !lines.is_empty();
        // What goes, then what comes.
        lines.sort_by_key(|(from, _)| from == "(absent)");
        for (from, to) in lines {
            d.field("inlinePolicy", &Shown(from), &Shown(to));
        }
        if !shown {
            // The same statements in documents that differ otherwise (a Version, say).
            d.field(
                "inlinePolicy",
                &Shown(live_doc.map_or_else(|| "absent".to_owned(), Value::to_string)),
                &Shown(desired_doc.map_or_else(|| "absent".to_owned(), Value::to_string)),
            );
        }
    }
    d.action()
}

/// Which list two statements differ in when everything else is equal: `Action` or `Resource`.
fn same_but_one_list(old: &Value, new: &Value) -> Option<&'static str> {
    let same = |key: &str| old.get(key) == new.get(key);
    if !(same("Effect") && same("Condition") && same("NotAction") && same("NotResource")) {
        return None;
    }
    match (same("Action"), same("Resource")) {
        (false, true) => Some("Action"),
        (true, false) => Some("Resource"),
        _ => None,
    }
}

/// The lines of a statement changed in one list: one per item added or removed, each shown as a
/// statement of that item alone.
fn list_change(policy: &str, old: &Value, new: &Value) -> Vec<(String, String)> {
    let Some(key) = same_but_one_list(old, new) else {
        return Vec::new();
    };
    let items = |statement: &Value| -> Vec<Value> {
        match &statement[key] {
            Value::Array(items) => items.clone(),
            Value::Null => Vec::new(),
            one => vec![one.clone()],
        }
    };
    let (before, after) = (items(old), items(new));
    let alone = |statement: &Value, item: &Value| {
        let mut statement = statement.clone();
        statement[key] = Value::Array(vec![item.clone()]);
        statement_line(policy, &statement)
    };
    let mut lines: Vec<(String, String)> = before
        .iter()
        .filter(|item| !after.contains(item))
        .map(|item| (alone(old, item), "(removed)".to_owned()))
        .collect();
    lines.extend(
        after
            .iter()
            .filter(|item| !before.contains(item))
            .map(|item| ("(absent)".to_owned(), alone(new, item))),
    );
    lines
}

/// `provisioner-allow: Allow cognito-idp:AdminGetUser on arn:...` (and its condition, if any).
fn statement_line(policy: &str, statement: &Value) -> String {
    let list = |v: &Value| match v {
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
            .collect::<Vec<_>>()
            .join(", "),
        Value::Null => String::new(),
        other => other
            .as_str()
            .map_or_else(|| other.to_string(), str::to_owned),
    };
    let mut line = format!(
        "{policy}: {} {} on {}",
        list(&statement["Effect"]),
        list(&statement["Action"]),
        list(&statement["Resource"])
    );
    if let Some(condition) = statement.get("Condition") {
        line.push_str(&format!(" if {condition}"));
    }
    line
}
