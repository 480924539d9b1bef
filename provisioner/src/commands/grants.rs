//! Which changes of a plan grant or widen permissions: what `up` asks about on a terminal.

use crate::plan::Action;

/// Whether `entry` grants or widens a permission: a role made, a statement, managed policy, trust
/// or boundary change that is not only a removal, an invoke permission added.
pub(super) fn grants(entry: &crate::plan::Entry) -> bool {
    use crate::plan::Kind;
    if !matches!(
        entry.kind,
        Kind::IamRole | Kind::LambdaPermissions | Kind::UserPoolTriggers
    ) {
        return false;
    }
    let changes = match &entry.action {
        Action::Create => return true,
        Action::Update { changes } | Action::Replace { changes } => changes,
        Action::Delete | Action::NoOp => return false,
    };
    let list = |text: &str| -> Vec<String> {
        text.trim_matches(['[', ']'])
            .split(", ")
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    };
    changes.iter().any(|change| match change.field {
        "tags" | "triggers" => false,
        "managedPolicies" => {
            let live = list(&change.live);
            list(&change.desired).iter().any(|p| !live.contains(p))
        }
        "inlinePolicy" | "statement" | "permission" => {
            change.desired != "(removed)" && !change.desired.ends_with("absent")
        }
        _ => true,
    })
}
