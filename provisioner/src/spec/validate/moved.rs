//! `moved:`: renames of user pools and app clients, as Terraform's `moved` blocks. Each names a
//! resource stack.yaml no longer declares (`from`) and the declared one it now is (`to`).

use super::*;

/// The validated entries; every problem is reported at the entry's `from` or `to`.
pub(super) fn moved(c: &mut Checker, raw: &[RawMoved], stack: &Stack) -> Vec<Moved> {
    let mut out: Vec<Moved> = Vec::new();
    if raw.len() > crate::spec::MAX_RESOURCES {
        c.error(
            &path(&["moved"]),
            format!(
                "{} entries; at most {} are allowed",
                raw.len(),
                crate::spec::MAX_RESOURCES
            ),
        );
        return out;
    }
    for (i, entry) in raw.iter().enumerate() {
        let at = |field: &str| path(&["moved", &i.to_string(), field]);
        let parse = |c: &mut Checker, field: &str, address: &str| {
            let parsed = ResourceId::parse_moveable(address);
            if parsed.is_none() {
                c.error_hint(
                    &at(field),
                    format!("`{address}` is not the address of a user pool or an app client"),
                    "write `userPools.<pool>` or `userPools.<pool>.clients.<client>`: only they move (Lambda functions and IAM roles cannot be renamed on AWS, and a new one loses nothing)",
                );
            }
            parsed
        };
        let (Some(from), Some(to)) = (parse(c, "from", &entry.from), parse(c, "to", &entry.to))
        else {
            continue;
        };
        if declares(stack, &from) {
            c.error_hint(
                &at("from"),
                format!("`{from}` is still declared in stack.yaml"),
                "a `moved` entry renames: `from` is the old address, which stack.yaml no longer declares",
            );
            continue;
        }
        if !declares(stack, &to) {
            c.error_hint(
                &at("to"),
                format!("`{to}` is not declared in stack.yaml"),
                "`to` is the new address: declare the resource there",
            );
            continue;
        }
        let same_kind = matches!(
            (&from, &to),
            (ResourceId::UserPool { .. }, ResourceId::UserPool { .. })
                | (
                    ResourceId::UserPoolClient { .. },
                    ResourceId::UserPoolClient { .. }
                )
        );
        if !same_kind {
            c.error(
                &at("to"),
                format!("`{from}` and `{to}` are not the same kind of resource"),
            );
            continue;
        }
        if let (
            ResourceId::UserPoolClient { pool: old, .. },
            ResourceId::UserPoolClient { pool: new, .. },
        ) = (&from, &to)
            && old != new
            && !raw
                .iter()
                .any(|m| m.from == format!("userPools.{old}") && m.to == format!("userPools.{new}"))
        {
            c.error_hint(
                &at("to"),
                format!("`{from}` cannot move to another pool (`{new}`)"),
                "an app client lives in its pool: it moves with its pool only (a `moved` entry for the pool too)",
            );
            continue;
        }
        if out.iter().any(|m| m.from == from) {
            c.error(&at("from"), format!("`{from}` is moved twice"));
            continue;
        }
        if out.iter().any(|m| m.to == to) {
            c.error(&at("to"), format!("two entries move to `{to}`"));
            continue;
        }
        out.push(Moved { from, to });
    }
    out
}

fn declares(stack: &Stack, id: &ResourceId) -> bool {
    match id {
        ResourceId::UserPool { pool } => stack.user_pools.contains_key(pool),
        ResourceId::UserPoolClient { pool, client } => stack
            .user_pools
            .get(pool)
            .is_some_and(|p| p.clients.contains_key(client)),
        ResourceId::Role { .. }
        | ResourceId::LogGroup { .. }
        | ResourceId::Function { .. }
        | ResourceId::Triggers { .. }
        | ResourceId::Api => false,
    }
}
