use super::*;
use crate::plan::FieldChange;

fn settings() -> PoolSettings {
    PoolSettings {
        self_sign_up: true,
        auto_verify: vec![VerifiedAttribute::Email],
        username_attributes: vec![],
        required_attributes: vec![],
        password_policy: PasswordPolicy::default(),
        account_recovery: vec![VerifiedAttribute::Email],
        deletion_protection: true,
    }
}

fn check(edit: impl FnOnce(&mut PoolSettings), expect: Action) {
    let mut live = settings();
    edit(&mut live);
    assert_eq!(diff(&live, &settings()), expect);
}

fn change(field: &'static str, live: &str, desired: &str, forces_replacement: bool) -> FieldChange {
    FieldChange {
        field,
        live: live.to_owned(),
        desired: desired.to_owned(),
        forces_replacement,
    }
}

#[test]
fn in_sync_is_a_no_op() {
    check(|_| {}, Action::NoOp);
}

#[test]
fn each_mutable_setting_is_an_in_place_update() {
    check(
        |s| s.self_sign_up = false,
        Action::Update {
            changes: vec![change("selfSignUp", "false", "true", false)],
        },
    );
    check(
        |s| s.auto_verify.clear(),
        Action::Update {
            changes: vec![change("autoVerify", "[]", "[email]", false)],
        },
    );
    check(
        |s| s.deletion_protection = false,
        Action::Update {
            changes: vec![change("deletionProtection", "false", "true", false)],
        },
    );
    check(
        |s| s.account_recovery = vec![VerifiedAttribute::PhoneNumber],
        Action::Update {
            changes: vec![change(
                "accountRecovery",
                "[phone_number]",
                "[email]",
                false,
            )],
        },
    );
    check(
        |s| s.password_policy.min_length = 12,
        Action::Update {
            changes: vec![change(
                "passwordPolicy",
                "{minLength: 12, requireLowercase: true, requireUppercase: true, requireNumbers: true, requireSymbols: true}",
                "{minLength: 8, requireLowercase: true, requireUppercase: true, requireNumbers: true, requireSymbols: true}",
                false,
            )],
        },
    );
}

#[test]
fn sign_in_and_required_attributes_force_a_replacement() {
    check(
        |s| s.username_attributes = vec![VerifiedAttribute::Email],
        Action::Replace {
            changes: vec![change("usernameAttributes", "[email]", "[]", true)],
        },
    );
    check(
        |s| {
            s.required_attributes = vec!["email".to_owned()];
            s.self_sign_up = false;
        },
        Action::Replace {
            changes: vec![
                change("requiredAttributes", "[email]", "[]", true),
                change("selfSignUp", "false", "true", false),
            ],
        },
    );
}
