//! A pool's `triggers:` (each a function of the stack, one Cognito can wait for) and `groups:`.

use std::collections::BTreeSet;

use super::*;
use crate::spec::Trigger;

/// Cognito waits this long for a trigger, then fails the user's request.
pub const COGNITO_TRIGGER_TIMEOUT_S: u32 = 5;

/// Each pool's `triggers:`, checked against the stack's functions, into `pools`.
pub(super) fn triggers(
    c: &mut Checker,
    raw: &BTreeMap<String, RawUserPool>,
    pools: &mut BTreeMap<String, UserPool>,
    functions: &BTreeMap<String, Function>,
) {
    for (pool, raw_pool) in raw {
        let Some(declared) = &raw_pool.triggers else {
            continue;
        };
        let mut triggers = BTreeMap::new();
        for (name, function) in declared {
            let at = path(&["userPools", pool, "triggers", name]);
            let Some(trigger) = Trigger::parse(name) else {
                let names: Vec<&str> = Trigger::ALL.iter().map(|t| t.name()).collect();
                c.key_error(
                    &at,
                    format!("`{name}` is not a Cognito trigger this tool sets"),
                    Some(hint_for(name, &names, "expected one of")),
                );
                continue;
            };
            let Some(spec) = functions.get(function) else {
                let names: Vec<&str> = functions.keys().map(String::as_str).collect();
                c.error_hint(
                    &at,
                    format!("`{function}` is not a function of this stack"),
                    hint_for(
                        function,
                        &names,
                        "triggers name a function under `functions:`; expected one of",
                    ),
                );
                continue;
            };
            if spec.timeout_s > COGNITO_TRIGGER_TIMEOUT_S {
                c.warning(
                    &path(&["functions", function, "timeout"]),
                    format!(
                        "function `{function}` is pool `{pool}`'s {trigger} trigger with a timeout of {} s; Cognito waits {COGNITO_TRIGGER_TIMEOUT_S} s for a trigger, then fails the user's request (it may retry it)",
                        spec.timeout_s
                    ),
                    format!("set `timeout: {COGNITO_TRIGGER_TIMEOUT_S}` or less, so a slow trigger fails where you can see it"),
                );
            }
            triggers.insert(trigger, function.clone());
        }
        if let Some(pool) = pools.get_mut(pool) {
            pool.triggers = Some(triggers);
        }
    }
}

/// `groups:`: Cognito group names (1 to 128 characters, no whitespace), each once.
pub(super) fn groups(c: &mut Checker, pool: &str, raw: &RawUserPool) -> Vec<String> {
    let Some(groups) = &raw.groups else {
        return Vec::new();
    };
    let mut seen = BTreeSet::new();
    for (i, group) in groups.iter().enumerate() {
        let at = path(&["userPools", pool, "groups", &i.to_string()]);
        if group.is_empty() || group.chars().count() > 128 || group.chars().any(char::is_whitespace)
        {
            c.error_hint(
                &at,
                format!("`{group}` is not a Cognito group name"),
                "use 1 to 128 characters without spaces, such as `members`",
            );
        } else if !seen.insert(group.as_str()) {
            c.error(&at, format!("`{group}` is listed twice"));
        }
    }
    let mut sorted = groups.clone();
    sorted.sort();
    sorted.dedup();
    sorted
}

#[cfg(test)]
mod tests {
    use super::super::tests::{check_table, edited};

    fn with(triggers: &str) -> String {
        edited(&[(
            "    removal: retain\n",
            &format!("    removal: retain\n{triggers}"),
        )])
    }

    #[test]
    fn triggers_name_a_trigger_and_a_function_cognito_can_wait_for() {
        let cases: Vec<(&str, String, &str)> = vec![
            (
                "an unknown trigger",
                with("    triggers:\n      preSignup: secret\n"),
                "`{file}` is not a valid stack: 1 error\n{file}:13:7: `userPools.users.triggers.preSignup`: `preSignup` is not a Cognito trigger this tool sets\n  hint: did you mean `preSignUp`?",
            ),
            (
                "an unknown function",
                with("    triggers:\n      preSignUp: sign-upp\n"),
                "`{file}` is not a valid stack: 1 error\n{file}:13:18: `userPools.users.triggers.preSignUp`: `sign-upp` is not a function of this stack\n  hint: did you mean `sign-up`?",
            ),
            (
                "a function slower than Cognito waits: a warning",
                with("    triggers:\n      postConfirmation: secret\n"),
                "{file}:43:10: warning: `functions.secret.timeout`: function `secret` is pool `users`'s postConfirmation trigger with a timeout of 10 s; Cognito waits 5 s for a trigger, then fails the user's request (it may retry it)\n  hint: set `timeout: 5` or less, so a slow trigger fails where you can see it",
            ),
            (
                "a group twice",
                with("    groups: [members, members]\n"),
                "`{file}` is not a valid stack: 1 error\n{file}:12:23: `userPools.users.groups.1`: `members` is listed twice",
            ),
        ];
        check_table(cases);
    }
}
