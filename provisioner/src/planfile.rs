//! Plan files: `diff --out plan.json` saves a plan with what it was computed from; `up --plan
//! plan.json` applies exactly that plan, or refuses with nothing written when any of it changed
//! since, as `terraform apply PLANFILE` does. There is still no state: `up --plan` reads live AWS
//! again and plans again, and applies only if it gets the saved plan.
//!
//! What a plan is computed from: stack.yaml (its bytes' SHA-256), the functions' code (each
//! package's CodeSha256), where it goes (stack, region, account) and what live AWS held, which is
//! fingerprinted by the plan it gave (the SHA-256 of its entries and blockers as JSON): live
//! changes that would change nothing in the plan do not matter, and any that would are caught.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::plan::Plan;

/// The format this version writes and reads.
pub const FORMAT: &str = "provisioner-plan/1";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanFile {
    pub format: String,
    pub stack: String,
    pub region: String,
    pub account: String,
    /// SHA-256 of stack.yaml's bytes.
    pub stack_file_sha256: String,
    /// By function: the CodeSha256 of its package.
    pub code: BTreeMap<String, String>,
    /// SHA-256 of the plan's entries and blockers: what live AWS gave.
    pub fingerprint: String,
    /// The plan as `diff --json` prints it, for people and tools (the fingerprint decides).
    pub plan: serde_json::Value,
}

/// What makes a saved plan no longer the plan `up` would apply.
#[derive(Debug, thiserror::Error)]
pub enum Stale {
    #[error("`{path}` is not a plan file: {detail}")]
    Unreadable { path: String, detail: String },
    #[error("`{path}` is a plan of format `{found}`; this provisioner reads `{FORMAT}`")]
    Format { path: String, found: String },
    #[error("the plan is for stack `{saved}` in {saved_where}, not stack `{now}` in {now_where}")]
    Target {
        saved: String,
        saved_where: String,
        now: String,
        now_where: String,
    },
    #[error("stack.yaml changed since the plan was saved")]
    StackFile,
    #[error("the code of {} changed since the plan was saved", functions.join(", "))]
    Code { functions: Vec<String> },
    #[error("live AWS changed since the plan was saved: {}", addresses.join(", "))]
    Live { addresses: Vec<String> },
}

impl PlanFile {
    /// The plan file of `plan`, computed from `stack_file` (its bytes) and `code` (by function).
    pub fn new(plan: &Plan, stack_file: &[u8], code: BTreeMap<String, String>) -> PlanFile {
        PlanFile {
            format: FORMAT.to_owned(),
            stack: plan.stack.clone(),
            region: plan.region.clone(),
            account: plan.account.clone(),
            stack_file_sha256: hex(&Sha256::digest(stack_file)),
            code,
            fingerprint: fingerprint(plan),
            plan: serde_json::to_value(plan).unwrap_or_default(),
        }
    }

    pub fn read(path: &Path) -> Result<PlanFile, Stale> {
        let shown = path.display().to_string();
        let unreadable = |detail: String| Stale::Unreadable {
            path: shown.clone(),
            detail,
        };
        let bytes = std::fs::read(path).map_err(|err| unreadable(err.to_string()))?;
        let value: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|err| unreadable(err.to_string()))?;
        let found = value["format"].as_str().unwrap_or("(none)").to_owned();
        if found != FORMAT {
            return Err(Stale::Format { path: shown, found });
        }
        serde_json::from_value(value).map_err(|err| unreadable(err.to_string()))
    }

    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        use anyhow::Context as _;
        let json = serde_json::to_string_pretty(self)?;
        std::fs::write(path, format!("{json}\n"))
            .with_context(|| format!("failed to write the plan to `{}`", path.display()))
    }

    /// Whether `now` (computed the same way, from what is there now) is still this plan; if not,
    /// what changed, most basic first.
    pub fn still(&self, now: &PlanFile) -> Result<(), Stale> {
        if (&self.stack, &self.region, &self.account) != (&now.stack, &now.region, &now.account) {
            return Err(Stale::Target {
                saved: self.stack.clone(),
                saved_where: format!("{} (account {})", self.region, self.account),
                now: now.stack.clone(),
                now_where: format!("{} (account {})", now.region, now.account),
            });
        }
        if self.stack_file_sha256 != now.stack_file_sha256 {
            return Err(Stale::StackFile);
        }
        let functions: Vec<String> = self
            .code
            .keys()
            .chain(now.code.keys())
            .filter(|f| self.code.get(*f) != now.code.get(*f))
            .cloned()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        if !functions.is_empty() {
            return Err(Stale::Code { functions });
        }
        if self.fingerprint != now.fingerprint {
            return Err(Stale::Live {
                addresses: differing(&self.plan, &now.plan),
            });
        }
        Ok(())
    }
}

/// The SHA-256 of `plan`'s entries and blockers as JSON.
pub fn fingerprint(plan: &Plan) -> String {
    let canonical = serde_json::json!({ "entries": plan.entries, "blockers": plan.blockers });
    hex(&Sha256::digest(canonical.to_string().as_bytes()))
}

/// The addresses whose entries differ between two plans as JSON (and new blockers).
fn differing(saved: &serde_json::Value, now: &serde_json::Value) -> Vec<String> {
    let entries =
        |plan: &serde_json::Value| plan["entries"].as_array().cloned().unwrap_or_default();
    let (saved_entries, now_entries) = (entries(saved), entries(now));
    let mut addresses: Vec<String> = now_entries
        .iter()
        .filter(|e| !saved_entries.contains(e))
        .chain(saved_entries.iter().filter(|e| !now_entries.contains(e)))
        .filter_map(|e| e["address"].as_str().map(str::to_owned))
        .collect();
    addresses.extend(
        now["blockers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|b| !saved["blockers"].as_array().is_some_and(|s| s.contains(b)))
            .filter_map(|b| b.as_str().map(str::to_owned)),
    );
    addresses.sort();
    addresses.dedup();
    if addresses.is_empty() {
        addresses.push("the order of the plan".to_owned());
    }
    addresses
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Action, Entry, Kind};

    fn plan(timeout_changes: bool) -> Plan {
        let target = crate::aws::Target {
            region: "eu-west-1".to_owned(),
            account: "111122223333".to_owned(),
            partition: "aws".to_owned(),
            caller: "arn:aws:iam::111122223333:user/ci".to_owned(),
        };
        let action = if timeout_changes {
            Action::Update {
                changes: vec![crate::plan::FieldChange {
                    field: "timeout",
                    live: "10".to_owned(),
                    desired: "20".to_owned(),
                    forces_replacement: false,
                }],
            }
        } else {
            Action::NoOp
        };
        Plan::new(
            "auth",
            &target,
            vec![Entry::new(
                "functions.secret",
                Kind::LambdaFunction,
                "auth-secret",
                action,
            )],
            Vec::new(),
        )
    }

    #[test]
    fn a_saved_plan_holds_until_what_it_was_computed_from_changes() {
        let code = BTreeMap::from([("secret".to_owned(), "abc".to_owned())]);
        let saved = PlanFile::new(&plan(true), b"stack: auth\n", code.clone());
        assert!(saved.still(&saved.clone()).is_ok());
        // A round trip through the file keeps it.
        let path = std::env::temp_dir().join(format!("plan-{}.json", std::process::id()));
        saved.write(&path).unwrap();
        assert_eq!(PlanFile::read(&path).unwrap(), saved);
        std::fs::remove_file(&path).unwrap();

        let edited = PlanFile::new(&plan(true), b"stack: auth\n# edited\n", code.clone());
        assert!(matches!(saved.still(&edited), Err(Stale::StackFile)));
        let rebuilt = PlanFile::new(
            &plan(true),
            b"stack: auth\n",
            BTreeMap::from([("secret".to_owned(), "def".to_owned())]),
        );
        assert!(
            matches!(saved.still(&rebuilt), Err(Stale::Code { functions }) if functions == ["secret"])
        );
        let drifted = PlanFile::new(&plan(false), b"stack: auth\n", code);
        assert!(
            matches!(saved.still(&drifted), Err(Stale::Live { addresses }) if addresses == ["functions.secret"])
        );
    }

    #[test]
    fn a_file_of_another_format_is_refused_by_name() {
        let path = std::env::temp_dir().join(format!("plan-old-{}.json", std::process::id()));
        std::fs::write(&path, r#"{"format": "provisioner-plan/0"}"#).unwrap();
        let err = PlanFile::read(&path).unwrap_err().to_string();
        assert!(err.contains("format `provisioner-plan/0`"), "{err}");
        std::fs::write(&path, "not json").unwrap();
        assert!(
            PlanFile::read(&path)
                .unwrap_err()
                .to_string()
                .contains("is not a plan file")
        );
        std::fs::remove_file(&path).unwrap();
    }
}
