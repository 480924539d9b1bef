//! What must change for live AWS to match the stack, as plain values: per resource, create,
//! update (field by field), replace (and which fields force it), delete, or nothing. Pure: built by
//! each kind's `diff` from desired and observed settings; rendered and applied elsewhere.
//!
//! So far only the user pool kind produces these; the whole-stack `Plan` (dependency order,
//! rendering, JSON) arrives with `diff`/`up`.

use serde::Serialize;

/// One setting that differs: as live, and as stack.yaml wants it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldChange {
    pub field: &'static str,
    pub live: String,
    pub desired: String,
    /// AWS cannot change this setting in place: the resource must be replaced.
    pub forces_replacement: bool,
}

/// What to do to one resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "camelCase")]
pub enum Action {
    Create,
    /// Changes AWS makes in place.
    Update {
        changes: Vec<FieldChange>,
    },
    /// Some change cannot be made in place (see `forces_replacement`); the others ride along.
    Replace {
        changes: Vec<FieldChange>,
    },
    Delete,
    NoOp,
}

impl Action {
    /// The action for a live resource whose settings differ by `changes`.
    pub fn from_changes(changes: Vec<FieldChange>) -> Action {
        if changes.is_empty() {
            Action::NoOp
        } else if changes.iter().any(|change| change.forces_replacement) {
            Action::Replace { changes }
        } else {
            Action::Update { changes }
        }
    }
}

/// Collects differences between desired and live values of one resource's settings.
#[derive(Debug, Default)]
pub struct Differ {
    changes: Vec<FieldChange>,
}

impl Differ {
    /// Records `field` if `live` and `desired` differ.
    pub fn field<T: PartialEq + std::fmt::Debug>(
        &mut self,
        field: &'static str,
        live: &T,
        desired: &T,
    ) {
        self.push(field, live, desired, false);
    }

    /// Records `field`, which AWS cannot change in place, if the values differ.
    pub fn immutable<T: PartialEq + std::fmt::Debug>(
        &mut self,
        field: &'static str,
        live: &T,
        desired: &T,
    ) {
        self.push(field, live, desired, true);
    }

    fn push<T: PartialEq + std::fmt::Debug>(
        &mut self,
        field: &'static str,
        live: &T,
        desired: &T,
        forces_replacement: bool,
    ) {
        if live != desired {
            self.changes.push(FieldChange {
                field,
                live: format!("{live:?}"),
                desired: format!("{desired:?}"),
                forces_replacement,
            });
        }
    }

    pub fn action(self) -> Action {
        Action::from_changes(self.changes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_change_is_a_no_op_and_any_immutable_change_is_a_replace() {
        let mut same = Differ::default();
        same.field("memory", &128, &128);
        same.immutable("usernameAttributes", &Vec::<String>::new(), &Vec::new());
        assert_eq!(same.action(), Action::NoOp);

        let mut update = Differ::default();
        update.field("memory", &128, &256);
        assert!(
            matches!(update.action(), Action::Update { changes } if changes.len() == 1 && changes[0].live == "128" && changes[0].desired == "256")
        );

        let mut replace = Differ::default();
        replace.field("memory", &128, &256);
        replace.immutable("usernameAttributes", &vec!["email"], &vec![]);
        assert!(matches!(replace.action(), Action::Replace { changes } if changes.len() == 2));
    }
}
