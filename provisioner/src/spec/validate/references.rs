//! `${...}` references: the names a stack may refer to, and templates that use them.

use std::collections::BTreeMap;

use super::*;

/// The names references and routes may use, and every reference string that would be valid.
pub(super) struct KnownNames {
    pub(super) pools: Vec<String>,
    pub(super) functions: Vec<String>,
    pub(super) references: BTreeMap<String, Reference>,
    /// References whose value stack.yaml itself fixes (a client's `rotateRefreshTokens`): written
    /// into the text where they stand.
    pub(super) settings: BTreeMap<String, String>,
}

impl KnownNames {
    pub(super) fn new(
        pools: &BTreeMap<String, RawUserPool>,
        functions: &BTreeMap<String, RawFunction>,
        env: Option<&str>,
    ) -> Self {
        let mut references = BTreeMap::new();
        let mut settings = BTreeMap::new();
        references.insert("stack.name".to_owned(), Reference::StackName);
        if env.is_some() {
            references.insert("env.name".to_owned(), Reference::EnvName);
        }
        references.insert("aws.region".to_owned(), Reference::Region);
        references.insert("aws.accountId".to_owned(), Reference::AccountId);
        for (pool, raw) in pools {
            let p = pool.clone();
            references.insert(
                format!("userPools.{pool}.id"),
                Reference::UserPoolId { pool: p.clone() },
            );
            references.insert(
                format!("userPools.{pool}.arn"),
                Reference::UserPoolArn { pool: p.clone() },
            );
            for (client, raw_client) in &raw.clients {
                settings.insert(
                    format!("userPools.{pool}.clients.{client}.rotateRefreshTokens"),
                    raw_client
                        .rotate_refresh_tokens
                        .unwrap_or(false)
                        .to_string(),
                );
                references.insert(
                    format!("userPools.{pool}.clients.{client}.id"),
                    Reference::UserPoolClientId {
                        pool: p.clone(),
                        client: client.clone(),
                    },
                );
            }
        }
        for function in functions.keys() {
            let f = function.clone();
            references.insert(
                format!("functions.{function}.arn"),
                Reference::FunctionArn {
                    function: f.clone(),
                },
            );
            references.insert(
                format!("functions.{function}.name"),
                Reference::FunctionName { function: f },
            );
        }
        KnownNames {
            pools: pools.keys().cloned().collect(),
            functions: functions.keys().cloned().collect(),
            references,
            settings,
        }
    }

    pub(super) fn pool_names(&self) -> Vec<&str> {
        self.pools.iter().map(String::as_str).collect()
    }

    pub(super) fn function_names(&self) -> Vec<&str> {
        self.functions.iter().map(String::as_str).collect()
    }
}

/// Parses `text ${ref} text`; `$${` writes a literal `${`.
pub(super) fn template(c: &mut Checker, at: &[String], text: &str, known: &KnownNames) -> Template {
    let mut parts = Vec::new();
    let mut literal = String::new();
    let mut rest = text;
    while let Some(start) = rest.find('$') {
        literal.push_str(&rest[..start]);
        let after = &rest[start..];
        if let Some(escaped) = after.strip_prefix("$${") {
            literal.push_str("${");
            rest = escaped;
        } else if let Some(inner) = after.strip_prefix("${") {
            let Some(end) = inner.find('}') else {
                c.error_hint(
                    at,
                    format!("`{text}` has a `${{` without its closing `}}`"),
                    "write `$${` for a literal `${`",
                );
                break;
            };
            let name = inner[..end].trim();
            if let Some(value) = known.settings.get(name) {
                literal.push_str(value);
                rest = &inner[end + 1..];
                continue;
            }
            match known.references.get(name) {
                Some(reference) => {
                    if !literal.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut literal)));
                    }
                    parts.push(Part::Ref(reference.clone()));
                }
                None => {
                    let hint = match did_you_mean(name, known.references.keys().chain(known.settings.keys()).map(String::as_str)) {
                        _ if name == "env.name" => "`${env.name}` is the environment's name: declare `environments:` and choose one with `--env`".to_owned(),
                        Some(candidate) => format!("did you mean `${{{candidate}}}`?"),
                        None => "references look like `${userPools.<pool>.arn}`, `${userPools.<pool>.clients.<client>.id}`, `${functions.<function>.arn}`".to_owned(),
                    };
                    c.error_hint(
                        at,
                        format!("`${{{name}}}` does not name anything in this stack"),
                        hint,
                    );
                    c.coded("unknownReference");
                }
            }
            rest = &inner[end + 1..];
        } else {
            literal.push('$');
            rest = &after[1..];
        }
    }
    literal.push_str(rest);
    if !literal.is_empty() {
        parts.push(Part::Text(literal));
    }
    Template { parts }
}
