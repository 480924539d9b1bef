//! The stack's `tags:` on one resource. Of the tags a resource carries, the stack manages every
//! one but AWS's own (`aws:`, which no caller can change) and its ownership tags (`provisioner:`,
//! set once when the resource is made): with `tags:` in stack.yaml, a tag it does not declare is
//! drift and goes, as Terraform treats a resource's `tags`, so removing a tag from stack.yaml
//! removes it from AWS. Without `tags:`, a resource's tags are left as they are.

use std::collections::BTreeMap;

pub type Tags = BTreeMap<String, String>;

fn is_managed(key: &str) -> bool {
    let lower = key.to_lowercase();
    !lower.starts_with("aws:") && !lower.starts_with("provisioner:")
}

/// The tags a resource should carry: stack.yaml's `tags:`, or without it what it has (tags are
/// then not managed: nothing is shown, added or removed).
pub fn desired(declared: Option<&Tags>, live: Option<&Tags>) -> Tags {
    declared.or(live).cloned().unwrap_or_default()
}

/// The tags the stack manages among those a resource carries.
pub fn managed<'a>(all: impl IntoIterator<Item = (&'a String, &'a String)>) -> Tags {
    all.into_iter()
        .filter(|(key, _)| is_managed(key))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// What takes a resource's managed tags from `live` to `desired`: the tags to set (new or with
/// another value) and the keys to remove.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct TagChange {
    pub set: Tags,
    pub remove: Vec<String>,
}

impl TagChange {
    pub fn between(live: &Tags, desired: &Tags) -> TagChange {
        TagChange {
            set: desired
                .iter()
                .filter(|(key, value)| live.get(*key) != Some(value))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            remove: live
                .keys()
                .filter(|key| !desired.contains_key(*key))
                .cloned()
                .collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.remove.is_empty()
    }
}

/// `tags` with the ownership tags of a new resource: what a create call sends.
pub fn with_ownership(
    tags: &Tags,
    ownership: &[(&str, &str)],
) -> std::collections::HashMap<String, String> {
    tags.iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .chain(
            ownership
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(pairs: &[(&str, &str)]) -> Tags {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn aws_and_ownership_tags_are_never_managed() {
        let all = tags(&[
            ("team", "auth"),
            ("aws:cloudformation:stack-name", "x"),
            ("provisioner:stack", "s"),
            ("Provisioner:region", "r"),
        ]);
        assert_eq!(managed(&all), tags(&[("team", "auth")]));
    }

    #[test]
    fn a_change_sets_what_differs_and_removes_what_is_no_longer_declared() {
        let live = tags(&[("team", "auth"), ("cost", "1"), ("old", "x")]);
        let desired = tags(&[("team", "auth"), ("cost", "2"), ("new", "y")]);
        let change = TagChange::between(&live, &desired);
        assert_eq!(change.set, tags(&[("cost", "2"), ("new", "y")]));
        assert_eq!(change.remove, vec!["old".to_owned()]);
        assert!(TagChange::between(&desired, &desired).is_empty());
    }
}
