//! What must change for live AWS to match the stack, as plain values: per resource, create,
//! update (field by field), replace (and which fields force it), delete, or nothing. Pure: built by
//! each kind's `diff` from desired and observed settings; rendered and applied elsewhere.
//!
//! The whole-stack [`Plan`] lists them in dependency order, each with its address in stack.yaml
//! (`functions.sign-up`), its kind and its physical name; `output` renders it.

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

/// A value as stack.yaml writes it, for the plan's `live -> desired`: `128`, `true`, `email`,
/// `[email, phone_number]`, `{TABLE: users}`, `(none)`. Never Rust's `Debug`.
pub trait Render {
    fn render(&self) -> String;
}

/// A value shown in a diff exactly as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown(pub String);

impl Render for Shown {
    fn render(&self) -> String {
        self.0.clone()
    }
}

impl Render for String {
    /// Plain when YAML would read it back as the same string, quoted otherwise.
    fn render(&self) -> String {
        let plain = !self.is_empty()
            && self.trim() == self
            && !self.starts_with(|c: char| "[{&*!|>'\"%@`#,?-".contains(c))
            && !self.contains(": ")
            && !self.contains(" #")
            && !matches!(
                self.as_str(),
                "true" | "false" | "null" | "~" | "yes" | "no" | "on" | "off"
            )
            && self.parse::<f64>().is_err();
        if plain {
            self.clone()
        } else {
            serde_json::Value::String(self.clone()).to_string()
        }
    }
}

impl Render for str {
    fn render(&self) -> String {
        self.to_owned().render()
    }
}

macro_rules! render_as_display {
    ($($ty:ty),+) => {
        $(impl Render for $ty {
            fn render(&self) -> String {
                self.to_string()
            }
        })+
    };
}
render_as_display!(bool, u8, u16, u32, u64, i32, i64, usize);

impl<T: Render + ?Sized> Render for &T {
    fn render(&self) -> String {
        (*self).render()
    }
}

impl<T: Render> Render for Option<T> {
    fn render(&self) -> String {
        match self {
            Some(value) => value.render(),
            None => "(none)".to_owned(),
        }
    }
}

impl<T: Render> Render for [T] {
    fn render(&self) -> String {
        let items: Vec<String> = self.iter().map(Render::render).collect();
        format!("[{}]", items.join(", "))
    }
}

impl<T: Render> Render for Vec<T> {
    fn render(&self) -> String {
        self.as_slice().render()
    }
}

impl<T: Render> Render for std::collections::BTreeSet<T> {
    fn render(&self) -> String {
        let items: Vec<String> = self.iter().map(Render::render).collect();
        format!("[{}]", items.join(", "))
    }
}

impl<V: Render> Render for std::collections::BTreeMap<String, V> {
    fn render(&self) -> String {
        let items: Vec<String> = self
            .iter()
            .map(|(key, value)| format!("{}: {}", key.render(), value.render()))
            .collect();
        format!("{{{}}}", items.join(", "))
    }
}

impl Render for serde_json::Value {
    fn render(&self) -> String {
        self.to_string()
    }
}

/// Collects differences between desired and live values of one resource's settings.
#[derive(Debug, Default)]
pub struct Differ {
    changes: Vec<FieldChange>,
}

impl Differ {
    /// Records `field` if `live` and `desired` differ.
    pub fn field<T: PartialEq + Render>(&mut self, field: &'static str, live: &T, desired: &T) {
        self.push(field, live, desired, false);
    }

    /// Records `field`, which AWS cannot change in place, if the values differ.
    pub fn immutable<T: PartialEq + Render>(&mut self, field: &'static str, live: &T, desired: &T) {
        self.push(field, live, desired, true);
    }

    fn push<T: PartialEq + Render>(
        &mut self,
        field: &'static str,
        live: &T,
        desired: &T,
        forces_replacement: bool,
    ) {
        if live != desired {
            self.changes.push(FieldChange {
                field,
                live: live.render(),
                desired: desired.render(),
                forces_replacement,
            });
        }
    }

    pub fn action(self) -> Action {
        Action::from_changes(self.changes)
    }

    /// The action shown and, from the same fields, the typed change of a resource whose settings
    /// all go in one call (a user pool, an app client).
    pub fn action_and_whole(self) -> (Action, Whole) {
        let whole = if self.changes.is_empty() {
            Whole::InSync
        } else if self.changes.iter().any(|c| c.forces_replacement) {
            Whole::Replace
        } else {
            Whole::Update
        };
        (Action::from_changes(self.changes), whole)
    }
}

/// The typed change of a resource whose settings all go in one call: none, that call, or a
/// replacement (a setting AWS cannot change in place differs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Whole {
    InSync,
    Update,
    Replace,
}

/// A [`Differ`] that also records, for every field that differs, the typed change `C` that applying
/// it takes (`FunctionChange::Code`, ...). Apply acts on those, never on the shown labels, which are
/// for people: renaming a label cannot change what is called.
#[derive(Debug)]
pub struct TypedDiffer<C> {
    differ: Differ,
    typed: std::collections::BTreeSet<C>,
}

impl<C: Ord> Default for TypedDiffer<C> {
    fn default() -> Self {
        TypedDiffer {
            differ: Differ::default(),
            typed: std::collections::BTreeSet::new(),
        }
    }
}

impl<C: Ord> TypedDiffer<C> {
    /// Records `field` (shown) and `change` (applied) if `live` and `desired` differ.
    pub fn field<T: PartialEq + Render>(
        &mut self,
        change: C,
        field: &'static str,
        live: &T,
        desired: &T,
    ) {
        if live != desired {
            self.typed.insert(change);
        }
        self.differ.field(field, live, desired);
    }

    /// The action shown, and the typed changes that apply it (empty for NoOp).
    pub fn finish(self) -> (Action, std::collections::BTreeSet<C>) {
        (self.differ.action(), self.typed)
    }
}

/// Declares [`Kind`] and [`Kind::ALL`] from one list, so that no kind can be missing from `ALL`
/// and a kind's rank is its place in the list.
macro_rules! kinds {
    ($($(#[$doc:meta])* $variant:ident,)+) => {
        /// Every kind of resource a stack manages: one closed list, in the order resources of a
        /// stack are created. Code that must handle every kind (the plan's entries, the cleanup
        /// of what stack.yaml no longer declares) matches on it exhaustively, so a new variant
        /// makes the compiler name each place left to write.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Kind {
            $($(#[$doc])* $variant,)+
        }

        impl Kind {
            /// Every kind, in the order resources of a stack are created.
            pub const ALL: &'static [Kind] = &[$(Kind::$variant,)+];
        }
    };
}

kinds! {
    UserPool,
    UserPoolClient,
    IamRole,
    LogGroup,
    LambdaFunction,
    /// A pool's group (made before its triggers, which may add users to it).
    UserPoolGroup,
    /// A pool's Lambda triggers and Cognito's invoke permission on each: after the functions.
    UserPoolTriggers,
    RestApi,
    ApiAuthorizer,
    ApiResource,
    ApiMethod,
    /// A gateway response (CORS's headers on API Gateway's own answers).
    ApiGatewayResponse,
    /// A function's invoke permissions: once the API and the function exist.
    LambdaPermissions,
    ApiDeployment,
    ApiStage,
}

impl Kind {
    /// Its place in the order resources of a stack are created (leftovers are deleted in the
    /// reverse): its place in the list.
    pub const fn rank(self) -> usize {
        self as usize
    }

    /// What replacing or deleting a resource of this kind loses that no re-run brings back, if
    /// anything; `up` does that only when `--allow-replace` names the resource.
    pub const fn loss(self) -> Option<&'static str> {
        match self {
            Kind::UserPool => Some("every user in it is lost"),
            Kind::UserPoolClient => Some("every app that uses its client id stops working"),
            // Made again from stack.yaml alone (a REST API is never replaced, and goes only when
            // stack.yaml no longer declares one).
            Kind::IamRole
            | Kind::LogGroup
            | Kind::LambdaFunction
            | Kind::UserPoolGroup
            | Kind::UserPoolTriggers
            | Kind::RestApi
            | Kind::ApiAuthorizer
            | Kind::ApiResource
            | Kind::ApiMethod
            | Kind::ApiGatewayResponse
            | Kind::LambdaPermissions
            | Kind::ApiDeployment
            | Kind::ApiStage => None,
        }
    }

    /// The name the plan and its JSON show (`lambdaFunction`).
    pub fn name(self) -> &'static str {
        match self {
            Kind::UserPool => "userPool",
            Kind::UserPoolClient => "userPoolClient",
            Kind::IamRole => "iamRole",
            Kind::LogGroup => "logGroup",
            Kind::LambdaFunction => "lambdaFunction",
            Kind::LambdaPermissions => "lambdaPermissions",
            Kind::UserPoolGroup => "userPoolGroup",
            Kind::UserPoolTriggers => "userPoolTriggers",
            Kind::RestApi => "restApi",
            Kind::ApiAuthorizer => "apiAuthorizer",
            Kind::ApiResource => "apiResource",
            Kind::ApiMethod => "apiMethod",
            Kind::ApiGatewayResponse => "apiGatewayResponse",
            Kind::ApiDeployment => "apiDeployment",
            Kind::ApiStage => "apiStage",
        }
    }
}

impl Serialize for Kind {
    /// As [`Kind::name`]: one spelling for the plan and its JSON.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl std::fmt::Display for Kind {
    /// Padded as asked (`{:<14}`), for the plan's columns.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.name())
    }
}

/// One resource (or part of the API) and what happens to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    /// Where it comes from in stack.yaml: `userPools.users`, `functions.sign-up.role`,
    /// `api.routes.POST /sign-up`.
    pub address: String,
    pub kind: Kind,
    /// Its name (or id) on AWS.
    pub name: String,
    #[serde(flatten)]
    pub action: Action,
    /// Why, where it is not obvious (a retained pool, a foreign resource left alone).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// For a create: what it is created with, so it can be reviewed before the first `up`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<Attribute>,
}

/// One setting of a resource to be created, as stack.yaml writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attribute {
    pub field: &'static str,
    pub value: String,
}

/// `field: value`, rendered.
pub fn attribute<T: Render + ?Sized>(field: &'static str, value: &T) -> Attribute {
    Attribute {
        field,
        value: value.render(),
    }
}

impl Entry {
    pub fn new(
        address: impl Into<String>,
        kind: Kind,
        name: impl Into<String>,
        action: Action,
    ) -> Entry {
        Entry {
            address: address.into(),
            kind,
            name: name.into(),
            action,
            note: None,
            attributes: Vec::new(),
        }
    }

    pub fn with_note(mut self, note: impl Into<String>) -> Entry {
        self.note = Some(note.into());
        self
    }

    /// The attributes a create shows (ignored for other actions).
    pub fn with_attributes(mut self, attributes: Vec<Attribute>) -> Entry {
        if self.action == Action::Create {
            self.attributes = attributes;
        }
        self
    }
}

/// How many resources each action touches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub create: usize,
    pub update: usize,
    pub replace: usize,
    pub delete: usize,
}

impl Summary {
    pub fn of<'a>(entries: impl IntoIterator<Item = &'a Entry>) -> Summary {
        let mut summary = Summary::default();
        for entry in entries {
            match entry.action {
                Action::Create => summary.create += 1,
                Action::Update { .. } => summary.update += 1,
                Action::Replace { .. } => summary.replace += 1,
                Action::Delete => summary.delete += 1,
                Action::NoOp => {}
            }
        }
        summary
    }

    pub fn is_empty(&self) -> bool {
        *self == Summary::default()
    }
}

/// Everything that must change for live AWS to match the stack, in dependency order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    pub stack: String,
    pub region: String,
    pub account: String,
    /// Who the plan was read as: the caller's ARN.
    pub caller: String,
    /// Every resource, changing or not (`noOp`).
    pub entries: Vec<Entry>,
    pub summary: Summary,
    /// Things that stop the plan from being applied (a foreign resource in the way).
    pub blockers: Vec<String>,
    /// The longest chain of calls applying it takes, one waiting on another (with every call
    /// 100 ms away, applying cannot take less than this many tenths of a second, pacing aside).
    pub critical_path: usize,
    /// The rounds of reads this plan took, each waiting on an answer of the one before:
    /// GetCallerIdentity, then the longest chain of `observe`.
    pub read_depth: usize,
    /// The whole `up` of this plan as such a chain: the reads; with changes, also the lock (one
    /// call), the reads again under it (without GetCallerIdentity), the apply and the lock given
    /// back (two calls).
    pub run_critical_path: usize,
}

impl Plan {
    pub fn new(
        stack: &str,
        target: &crate::aws::Target,
        entries: Vec<Entry>,
        blockers: Vec<String>,
    ) -> Plan {
        Plan {
            stack: stack.to_owned(),
            region: target.region.clone(),
            account: target.account.clone(),
            caller: target.caller.clone(),
            summary: Summary::of(&entries),
            entries,
            blockers,
            critical_path: 0,
            read_depth: 0,
            run_critical_path: 0,
        }
    }

    pub fn has_changes(&self) -> bool {
        !self.summary.is_empty()
    }

    /// Entries that replace something.
    pub fn replacements(&self) -> impl Iterator<Item = &Entry> {
        self.entries
            .iter()
            .filter(|e| matches!(e.action, Action::Replace { .. }))
    }
}

#[cfg(test)]
mod render_tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn values_render_as_stack_yaml_writes_them() {
        let cases: Vec<(String, &str)> = vec![
            (128u32.render(), "128"),
            (true.render(), "true"),
            ("cognito".to_owned().render(), "cognito"),
            (Some("cognito".to_owned()).render(), "cognito"),
            (None::<String>.render(), "(none)"),
            (
                vec!["email".to_owned(), "phone_number".to_owned()].render(),
                "[email, phone_number]",
            ),
            (Vec::<String>::new().render(), "[]"),
            (
                BTreeMap::from([("TABLE".to_owned(), "users".to_owned())]).render(),
                "{TABLE: users}",
            ),
            // Strings YAML would read as something else are quoted.
            (String::new().render(), "\"\""),
            ("true".to_owned().render(), "\"true\""),
            ("10".to_owned().render(), "\"10\""),
            ("a: b".to_owned().render(), "\"a: b\""),
            (" padded".to_owned().render(), "\" padded\""),
        ];
        crate::testing::table(
            cases
                .into_iter()
                .map(|(rendered, expected)| (expected, (rendered, expected))),
            |(rendered, expected)| crate::testing::same(rendered, expected),
        );
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
