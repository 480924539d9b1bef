//! `environments:`: one stack.yaml for dev, staging and prod. Each environment may set its own
//! `accounts` and `regions` and override any setting of `userPools`, `functions` and `api`; the one
//! chosen with `--env` (or `PROVISIONER_ENV`) is merged over the rest of the file before it is
//! checked, so every rule and every `file:line:col` applies to the result (an overridden value is
//! reported where the environment writes it). Its stack is `<stack>-<env>` unless `--stack` names it.
//!
//! Merging: a mapping merges key by key, recursively; anything else (a list, a number, a string)
//! replaces the base's value whole, so `regions: [eu-west-1]` in an environment is its only region.

use serde_yaml::{Mapping, Value};

use super::error::{Diagnostic, Severity};
use super::positions::Positions;
use super::validate::did_you_mean;

/// What an environment may set. `stack` names its stack outright (instead of `<stack>-<env>`):
/// how an environment keeps a stack that was deployed before the file had environments.
pub const KEYS: &[&str] = &[
    "stack",
    "accounts",
    "regions",
    "permissionsBoundary",
    "tags",
    "userPools",
    "functions",
    "api",
];

fn error(
    positions: &Positions,
    at: &[&str],
    key: bool,
    message: String,
    hint: String,
) -> Diagnostic {
    let at: Vec<String> = at.iter().map(|s| (*s).to_owned()).collect();
    let pos = if at.first().is_some_and(|a| a.starts_with("--")) {
        None
    } else if key {
        positions.key(&at)
    } else {
        positions.value(&at)
    };
    Diagnostic {
        severity: Severity::Error,
        field: at.join("."),
        pos,
        message,
        hint: Some(hint),
        code: "invalidEnvironment",
    }
}

/// The file's document with environment `env` merged over it (and `environments` removed), and
/// whether the environment names its stack itself; or why it cannot be chosen. `declared` is
/// what the file declares (its `environments` keys).
pub(super) fn select(
    text: &str,
    declared: &[String],
    env: &str,
    positions: &Positions,
) -> Result<(Value, bool), Vec<Diagnostic>> {
    if declared.is_empty() {
        return Err(vec![error(
            positions,
            &["--env"],
            false,
            format!("`--env {env}`: the file declares no `environments:`"),
            "declare it under `environments:` (see README.md, \"Environments\"), or leave `--env` and PROVISIONER_ENV out".to_owned(),
        )]);
    }
    if !declared.iter().any(|d| d == env) {
        let hint = match did_you_mean(env, declared.iter().map(String::as_str)) {
            Some(close) => format!("did you mean `{close}`?"),
            None => format!("the file declares: {}", declared.join(", ")),
        };
        return Err(vec![error(
            positions,
            &["--env"],
            false,
            format!("`--env {env}`: the file declares no such environment"),
            hint,
        )]);
    }
    let doc: Value = serde_yaml::from_str(text).map_err(|_| Vec::new())?;
    let Value::Mapping(mut doc) = doc else {
        return Err(Vec::new());
    };
    let mut problems = Vec::new();
    for name in declared {
        let valid = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        if !valid {
            problems.push(error(
                positions,
                &["environments", name],
                true,
                format!("`{name}` is not a valid environment name"),
                "use letters, digits and `-`, starting with a letter: it ends the stack's name (`<stack>-<env>`)".to_owned(),
            ));
        }
    }
    let overrides = match doc.remove("environments").and_then(|envs| match envs {
        Value::Mapping(mut envs) => envs.remove(env),
        _ => None,
    }) {
        Some(Value::Mapping(overrides)) => overrides,
        Some(Value::Null) | None => Mapping::new(),
        Some(_) => {
            problems.push(error(
                positions,
                &["environments", env],
                false,
                format!("environment `{env}` is not a map of settings"),
                "write `{}` for an environment that changes nothing, or the settings it overrides"
                    .to_owned(),
            ));
            Mapping::new()
        }
    };
    // Each environment's keys were checked with the file's (`schema::check_keys`).
    if !problems.is_empty() {
        return Err(problems);
    }
    let names_stack = overrides.contains_key("stack");
    let mut merged = Value::Mapping(doc);
    merge(&mut merged, Value::Mapping(overrides));
    Ok((merged, names_stack))
}

/// `over` merged into `base`: mappings key by key, recursively; anything else replaces.
fn merge(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Mapping(base), Value::Mapping(over)) => {
            for (key, value) in over {
                match base.get_mut(&key) {
                    Some(existing) => merge(existing, value),
                    None => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (base, over) => *base = over,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mappings_merge_and_the_rest_replaces() {
        let mut base: Value = serde_yaml::from_str(
            "functions: {a: {memory: 128, crate: x}}\nregions: [us-east-1, eu-west-1]\n",
        )
        .unwrap();
        let over: Value =
            serde_yaml::from_str("functions: {a: {memory: 256}}\nregions: [eu-west-1]\n").unwrap();
        merge(&mut base, over);
        let want: Value =
            serde_yaml::from_str("functions: {a: {memory: 256, crate: x}}\nregions: [eu-west-1]\n")
                .unwrap();
        assert_eq!(base, want);
    }
}
