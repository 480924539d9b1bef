//! `tags:`: the tags every taggable resource of the stack carries, checked against what every
//! service that takes them accepts (the strictest of IAM, Lambda, CloudWatch Logs, Cognito and
//! API Gateway): keys of 1 to 128 characters, values of at most 256, letters, digits, spaces and
//! `_ . : / = + - @`, no key under `aws:` (AWS's own) or `provisioner:` (the ownership tags), and
//! at most 48 of them (the services allow 50 per resource, and the stack's own take two).

use std::collections::BTreeMap;

use super::{Checker, path};

const MAX_TAGS: usize = 48;

/// Letters, digits, spaces (not tabs or line breaks) and `_ . : / = + - @`.
fn allowed(c: char) -> bool {
    c.is_alphanumeric() || (c.is_whitespace() && !c.is_control()) || "_.:/=+-@".contains(c)
}

pub(super) fn tags(c: &mut Checker, raw: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    if raw.len() > MAX_TAGS {
        c.error_hint(
            &path(&["tags"]),
            format!(
                "{} tags; a resource takes at most {MAX_TAGS} besides the stack's own two",
                raw.len()
            ),
            "keep the tags your organization requires and drop the others",
        );
    }
    let mut seen: BTreeMap<String, &String> = BTreeMap::new();
    for (key, value) in raw {
        let at = path(&["tags", key]);
        // IAM compares tag keys without case: `Team` and `team` are one key on a role.
        if let Some(first) = seen.insert(key.to_lowercase(), key) {
            c.key_error(
                &at,
                format!(
                    "tag keys `{first}` and `{key}` differ only in case; IAM takes them as one key"
                ),
                Some("keep one of them".to_owned()),
            );
        }
        let lower = key.to_lowercase();
        if key.is_empty() || key.chars().count() > 128 {
            c.key_error(
                &at,
                format!(
                    "tag key `{key}` has {} characters; AWS takes 1 to 128",
                    key.chars().count()
                ),
                None,
            );
        } else if lower.starts_with("aws:") {
            c.key_error(
                &at,
                format!("tag key `{key}` starts with `aws:`, which AWS keeps for its own tags"),
                Some("choose a key without the `aws:` prefix".to_owned()),
            );
        } else if lower.starts_with("provisioner:") {
            c.key_error(&at, format!("tag key `{key}` starts with `provisioner:`, which the stack's ownership tags use"), Some("choose a key without the `provisioner:` prefix".to_owned()));
        } else if let Some(bad) = key.chars().find(|ch| !allowed(*ch)) {
            c.key_error(
                &at,
                format!("tag key `{key}` has `{bad}`, which AWS does not take in tags"),
                Some("use letters, digits, spaces and `_ . : / = + - @`".to_owned()),
            );
        }
        if value.chars().count() > 256 {
            c.error(
                &at,
                format!(
                    "tag `{key}`'s value has {} characters; AWS takes at most 256",
                    value.chars().count()
                ),
            );
        } else if let Some(bad) = value.chars().find(|ch| !allowed(*ch)) {
            c.error_hint(
                &at,
                format!("tag `{key}`'s value has `{bad}`, which AWS does not take in tags"),
                "use letters, digits, spaces and `_ . : / = + - @`",
            );
        }
    }
    raw.clone()
}
