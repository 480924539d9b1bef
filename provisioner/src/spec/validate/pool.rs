//! `userPools`: each pool's settings and its app clients.

use std::collections::BTreeSet;

use super::*;

/// User pool `name`: its names, attributes, password policy, removal and app clients.
pub(super) fn user_pool(c: &mut Checker, stack: &str, name: &str, raw: &RawUserPool) -> UserPool {
    let at = |field: &[&str]| pool_path(name, field);
    check_logical_name(c, &at(&[]), "user pool");
    let physical_name = format!("{stack}-{name}");
    check_physical_name(c, &at(&[]), "user pool", &physical_name, 128);

    let auto_verify = verified(
        c,
        name,
        "autoVerify",
        &raw.auto_verify,
        &[VerifiedAttribute::Email],
    );
    let username_attributes =
        verified(c, name, "usernameAttributes", &raw.username_attributes, &[]);
    let account_recovery = verified(
        c,
        name,
        "accountRecovery",
        &raw.account_recovery,
        &[VerifiedAttribute::Email],
    );
    if raw.account_recovery.as_ref().is_some_and(Vec::is_empty) {
        // Cognito refuses an empty RecoveryMechanisms (at least one), at `up`.
        c.error_hint(
            &pool_path(name, &["accountRecovery"]),
            "lists no way to recover an account; Cognito needs at least one",
            "list `email` or `phone_number`, or leave `accountRecovery` out for `[email]`",
        );
    }
    // Cognito texts phone numbers only through an SMS configuration (an IAM role it uses with
    // SNS), which stack.yaml cannot declare yet.
    for (field, list) in [
        ("autoVerify", &auto_verify),
        ("accountRecovery", &account_recovery),
    ] {
        if list.contains(&VerifiedAttribute::PhoneNumber) {
            c.warning(
                &pool_path(name, &[field]),
                "`phone_number` needs an SMS configuration, which this stack does not give the pool: Cognito will send no code by SMS",
                "use `email`: stack.yaml cannot configure the pool's SMS messages yet",
            );
        }
    }
    let required_attributes = required_attributes(c, name, raw);
    let password_policy = password_policy(c, name, raw);
    let removal = removal(c, name, raw);
    let clients = raw
        .clients
        .iter()
        .map(|(client, raw_client)| {
            let app_client = app_client(c, stack, name, client, raw_client);
            (client.clone(), app_client)
        })
        .collect();

    UserPool {
        physical_name,
        self_sign_up: raw.self_sign_up.unwrap_or(true),
        auto_verify,
        username_attributes,
        required_attributes,
        password_policy,
        account_recovery,
        deletion_protection: raw.deletion_protection.unwrap_or(true),
        case_sensitive_usernames: raw.case_sensitive_usernames,
        removal,
        clients,
        // Set once the functions are known (`triggers.rs`).
        triggers: None,
        groups: super::triggers::groups(c, name, raw),
    }
}

/// The path of `field` in user pool `name`.
fn pool_path(name: &str, field: &[&str]) -> Path_ {
    let mut p = path(&["userPools", name]);
    p.extend(path(field));
    p
}

/// A list of attributes Cognito can verify (`field`), each once; `default` when absent.
fn verified(
    c: &mut Checker,
    name: &str,
    field: &str,
    values: &Option<Vec<String>>,
    default: &[VerifiedAttribute],
) -> Vec<VerifiedAttribute> {
    let Some(values) = values else {
        return default.to_vec();
    };
    let mut out = Vec::new();
    for (i, value) in values.iter().enumerate() {
        let attribute = match value.as_str() {
            "email" => Some(VerifiedAttribute::Email),
            "phone_number" => Some(VerifiedAttribute::PhoneNumber),
            _ => None,
        };
        match attribute {
            Some(attribute) if out.contains(&attribute) => c.error(
                &pool_path(name, &[field, &i.to_string()]),
                format!("`{value}` is listed twice"),
            ),
            Some(attribute) => out.push(attribute),
            None => c.error_hint(
                &pool_path(name, &[field, &i.to_string()]),
                format!("`{value}` is not an attribute Cognito can verify"),
                hint_for(value, &["email", "phone_number"], "expected one of"),
            ),
        }
    }
    out
}

/// `requiredAttributes`: standard Cognito attributes, each once.
fn required_attributes(c: &mut Checker, name: &str, raw: &RawUserPool) -> Vec<String> {
    let required_attributes = raw.required_attributes.clone().unwrap_or_default();
    for (i, attribute) in required_attributes.iter().enumerate() {
        if required_attributes[..i].contains(attribute) {
            c.error(
                &pool_path(name, &["requiredAttributes", &i.to_string()]),
                format!("`{attribute}` is listed twice"),
            );
        } else if !STANDARD_ATTRIBUTES.contains(&attribute.as_str()) {
            c.error_hint(
                &pool_path(name, &["requiredAttributes", &i.to_string()]),
                format!("`{attribute}` is not a standard Cognito attribute"),
                hint_for(attribute, STANDARD_ATTRIBUTES, "expected one of"),
            );
        }
    }
    required_attributes
}

/// `passwordPolicy`: a minimum length Cognito accepts, and the defaults for what is not given.
fn password_policy(c: &mut Checker, name: &str, raw: &RawUserPool) -> PasswordPolicy {
    let mut password_policy = PasswordPolicy::default();
    if let Some(policy) = &raw.password_policy {
        if let Some(min) = policy.min_length {
            match u8::try_from(min) {
                Ok(min) if (6..=99).contains(&min) => password_policy.min_length = min,
                _ => c.error(
                    &pool_path(name, &["passwordPolicy", "minLength"]),
                    format!("must be between 6 and 99, got {min}"),
                ),
            }
        }
        let flags = [
            (
                policy.require_lowercase,
                &mut password_policy.require_lowercase,
            ),
            (
                policy.require_uppercase,
                &mut password_policy.require_uppercase,
            ),
            (policy.require_numbers, &mut password_policy.require_numbers),
            (policy.require_symbols, &mut password_policy.require_symbols),
        ];
        for (given, slot) in flags {
            if let Some(given) = given {
                *slot = given;
            }
        }
    }
    password_policy
}

/// `removal`: `retain` (the default) or `delete`.
fn removal(c: &mut Checker, name: &str, raw: &RawUserPool) -> Removal {
    match raw.removal.as_deref() {
        None | Some("retain") => Removal::Retain,
        Some("delete") => Removal::Delete,
        Some(other) => {
            c.error_hint(
                &pool_path(name, &["removal"]),
                format!("`{other}` is not a removal policy"),
                hint_for(other, &["retain", "delete"], "expected one of"),
            );
            Removal::Retain
        }
    }
}

/// App client `client` of pool `pool`: its names, auth flows and read attributes.
fn app_client(
    c: &mut Checker,
    stack: &str,
    pool: &str,
    client: &str,
    raw_client: &RawClient,
) -> AppClient {
    let client_at = pool_path(pool, &["clients", client]);
    check_logical_name(c, &client_at, "app client");
    let physical_name = format!("{stack}-{client}");
    check_physical_name(c, &client_at, "app client", &physical_name, 128);
    let rotation = refresh_token_rotation(c, pool, client, raw_client);
    let auth_flows = auth_flows(c, pool, client, raw_client, rotation.is_some());
    let read_attributes = read_attributes(c, pool, client, raw_client);
    let validity = |c: &mut Checker, field: &str, raw: &Option<String>, default, range| {
        let at = pool_path(pool, &["clients", client, field]);
        match raw {
            None => default,
            Some(text) => token_validity(c, &at, field, text, range).unwrap_or(default),
        }
    };
    // Cognito's bounds: 5 minutes to a day for access and id tokens, an hour to 10 years for
    // refresh tokens; its defaults: an hour, an hour, 30 days.
    const SHORT: (i32, i32) = (5, 24 * 60);
    let access = validity(
        c,
        "accessTokenValidity",
        &raw_client.access_token_validity,
        60,
        SHORT,
    );
    let id = validity(
        c,
        "idTokenValidity",
        &raw_client.id_token_validity,
        60,
        SHORT,
    );
    let refresh = validity(
        c,
        "refreshTokenValidity",
        &raw_client.refresh_token_validity,
        30 * 24 * 60,
        (60, 3650 * 24 * 60),
    );
    if refresh < access.max(id) {
        c.error_hint(
            &pool_path(pool, &["clients", client, "refreshTokenValidity"]),
            "a refresh token valid for less than the access or id token it renews",
            "make `refreshTokenValidity` at least as long as `accessTokenValidity` and `idTokenValidity`",
        );
    }
    AppClient {
        physical_name,
        auth_flows,
        generate_secret: raw_client.generate_secret.unwrap_or(false),
        read_attributes,
        prevent_user_existence_errors: raw_client.prevent_user_existence_errors.unwrap_or(true),
        access_token_minutes: access,
        id_token_minutes: id,
        refresh_token_minutes: refresh,
        refresh_token_rotation: rotation,
    }
}

/// `rotateRefreshTokens` and `refreshTokenGracePeriod` (seconds, 0 to 60; Cognito's
/// `RetryGracePeriodSeconds`), which only a rotating client has.
fn refresh_token_rotation(
    c: &mut Checker,
    pool: &str,
    client: &str,
    raw_client: &RawClient,
) -> Option<i32> {
    let at = pool_path(pool, &["clients", client, "refreshTokenGracePeriod"]);
    let rotates = raw_client.rotate_refresh_tokens.unwrap_or(false);
    let Some(text) = &raw_client.refresh_token_grace_period else {
        return rotates.then_some(0);
    };
    if !rotates {
        c.error_hint(
            &at,
            "a grace period for a client that does not rotate refresh tokens",
            "add `rotateRefreshTokens: true`, or remove `refreshTokenGracePeriod`",
        );
        return None;
    }
    let seconds = text
        .strip_suffix('s')
        .and_then(|number| number.parse::<i32>().ok());
    match seconds {
        Some(seconds) if (0..=60).contains(&seconds) => Some(seconds),
        _ => {
            c.error_hint(
                &at,
                format!("`{text}` is not a grace period Cognito takes"),
                "write seconds from `0s` to `60s`: how long a rotated-out refresh token still works, for a client's retry",
            );
            Some(0)
        }
    }
}

/// A token validity written with its unit (`90m`, `1h`, `30d`), in minutes within `range`.
fn token_validity(
    c: &mut Checker,
    at: &[String],
    field: &str,
    text: &str,
    (least, most): (i32, i32),
) -> Option<i32> {
    let hint = "write a number and a unit: `m` (minutes), `h` (hours) or `d` (days), such as `1h` or `30d`";
    let unit = text.chars().last().filter(|u| "mhd".contains(*u));
    let minutes = unit.and_then(|unit| {
        let number: i64 = text[..text.len() - 1].parse().ok()?;
        let per = match unit {
            'm' => 1,
            'h' => 60,
            _ => 24 * 60,
        };
        i32::try_from(number.checked_mul(per)?).ok()
    });
    let Some(minutes) = minutes else {
        c.error_hint(at, format!("`{text}` is not a duration"), hint);
        return None;
    };
    if !(least..=most).contains(&minutes) {
        c.error_hint(
            at,
            format!(
                "`{field}` is {}; Cognito takes {} to {}",
                crate::spec::show_minutes(minutes),
                crate::spec::show_minutes(least),
                crate::spec::show_minutes(most)
            ),
            hint,
        );
        return None;
    }
    Some(minutes)
}

/// A client's `authFlows`: Cognito auth flows (with or without `ALLOW_`), each once.
/// With refresh token rotation, REFRESH_TOKEN_AUTH is not a flow the client may have (Cognito
/// renews its tokens through GetTokensFromRefreshToken only), nor in the default.
fn auth_flows(
    c: &mut Checker,
    pool: &str,
    client: &str,
    raw_client: &RawClient,
    rotation: bool,
) -> Vec<String> {
    let auth_flows = raw_client.auth_flows.clone().unwrap_or_else(|| {
        let mut flows = vec!["USER_PASSWORD_AUTH".to_owned()];
        if !rotation {
            flows.push("REFRESH_TOKEN_AUTH".to_owned());
        }
        flows
    });
    let mut seen = BTreeSet::new();
    for (i, flow) in auth_flows.iter().enumerate() {
        let flow_at = pool_path(pool, &["clients", client, "authFlows", &i.to_string()]);
        let bare = flow.strip_prefix("ALLOW_").unwrap_or(flow);
        if !AUTH_FLOWS.contains(&bare) {
            c.error_hint(
                &flow_at,
                format!("`{flow}` is not a Cognito auth flow"),
                hint_for(bare, AUTH_FLOWS, "expected one of"),
            );
        } else if !seen.insert(bare) {
            c.error(&flow_at, format!("`{bare}` is listed twice"));
        } else if rotation && bare == "REFRESH_TOKEN_AUTH" {
            c.error_hint(
                &flow_at,
                "a client that rotates refresh tokens cannot have REFRESH_TOKEN_AUTH (Cognito refuses it)",
                "remove it: a rotating client renews tokens through GetTokensFromRefreshToken (the refresh handler does when `REFRESH_TOKEN_ROTATION` is `true`)",
            );
        }
    }
    auth_flows
        .iter()
        .map(|flow| flow.strip_prefix("ALLOW_").unwrap_or(flow).to_owned())
        .collect()
}

/// A client's `readAttributes`: not empty, standard readable attributes of the pool, each once.
fn read_attributes(
    c: &mut Checker,
    pool: &str,
    client: &str,
    raw_client: &RawClient,
) -> Vec<String> {
    let read_attributes = raw_client.read_attributes.clone().unwrap_or_default();
    if raw_client
        .read_attributes
        .as_ref()
        .is_some_and(Vec::is_empty)
    {
        c.error_hint(
            &pool_path(pool, &["clients", client, "readAttributes"]),
            "an empty list would let the client read nothing".to_owned(),
            "list the attributes, or leave `readAttributes` out for every readable attribute"
                .to_owned(),
        );
    }
    let mut seen = BTreeSet::new();
    for (i, attribute) in read_attributes.iter().enumerate() {
        let attribute_at = pool_path(pool, &["clients", client, "readAttributes", &i.to_string()]);
        if attribute.starts_with("custom:") {
            // A client may read only attributes its pool has, and stack.yaml declares no
            // custom attributes: Cognito would refuse the client.
            c.error_hint(
                &attribute_at,
                format!("`{attribute}` is not an attribute of user pool `{pool}`"),
                "stack.yaml declares no custom attributes, so the pool has none; list standard attributes only",
            );
        } else if !STANDARD_READ_ATTRIBUTES.contains(&attribute.as_str()) {
            c.error_hint(
                &attribute_at,
                format!("`{attribute}` is not a Cognito user attribute"),
                hint_for(attribute, STANDARD_READ_ATTRIBUTES, "expected one of"),
            );
        } else if !seen.insert(attribute.as_str()) {
            c.error(&attribute_at, format!("`{attribute}` is listed twice"));
        }
    }
    read_attributes
}
