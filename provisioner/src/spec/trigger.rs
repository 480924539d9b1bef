//! The Cognito triggers stack.yaml can name.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Serialize;

/// A Cognito user pool Lambda trigger this tool sets (LambdaConfig's fields, but the custom
/// senders, which need a KMS key).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Trigger {
    PreSignUp,
    PostConfirmation,
    PreAuthentication,
    PostAuthentication,
    PreTokenGeneration,
    CustomMessage,
    DefineAuthChallenge,
    CreateAuthChallenge,
    VerifyAuthChallengeResponse,
    UserMigration,
}

impl Trigger {
    pub const ALL: &'static [Trigger] = &[
        Trigger::PreSignUp,
        Trigger::PostConfirmation,
        Trigger::PreAuthentication,
        Trigger::PostAuthentication,
        Trigger::PreTokenGeneration,
        Trigger::CustomMessage,
        Trigger::DefineAuthChallenge,
        Trigger::CreateAuthChallenge,
        Trigger::VerifyAuthChallengeResponse,
        Trigger::UserMigration,
    ];

    /// As stack.yaml writes it (`preSignUp`).
    pub fn name(self) -> &'static str {
        match self {
            Trigger::PreSignUp => "preSignUp",
            Trigger::PostConfirmation => "postConfirmation",
            Trigger::PreAuthentication => "preAuthentication",
            Trigger::PostAuthentication => "postAuthentication",
            Trigger::PreTokenGeneration => "preTokenGeneration",
            Trigger::CustomMessage => "customMessage",
            Trigger::DefineAuthChallenge => "defineAuthChallenge",
            Trigger::CreateAuthChallenge => "createAuthChallenge",
            Trigger::VerifyAuthChallengeResponse => "verifyAuthChallengeResponse",
            Trigger::UserMigration => "userMigration",
        }
    }

    pub fn parse(name: &str) -> Option<Trigger> {
        Trigger::ALL.iter().copied().find(|t| t.name() == name)
    }
}

impl fmt::Display for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Each pool's triggers node needs the pool and the functions its triggers name.
pub(super) fn needs(
    pools: &BTreeMap<String, super::UserPool>,
) -> impl Iterator<Item = (super::ResourceId, BTreeSet<super::ResourceId>)> + '_ {
    use super::ResourceId;
    pools.iter().map(|(pool, spec)| {
        let functions = spec.triggers.iter().flat_map(|t| t.values());
        let needs = functions
            .map(|function| ResourceId::Function {
                function: function.clone(),
            })
            .chain([ResourceId::UserPool { pool: pool.clone() }])
            .collect();
        (ResourceId::Triggers { pool: pool.clone() }, needs)
    })
}
