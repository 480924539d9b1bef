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
        case_sensitive_usernames: false,
        tags: Default::default(),
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

mod replay {
    //! The exact requests the pool's driver makes (aws-smithy-mocks answers only what a rule
    //! matches, so any other request fails the call).

    use aws_sdk_cognitoidentityprovider::operation::delete_user_pool::DeleteUserPoolOutput;
    use aws_sdk_cognitoidentityprovider::operation::update_user_pool::UpdateUserPoolOutput;
    use aws_sdk_cognitoidentityprovider::types::DeletionProtectionType;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    use super::super::*;

    fn spec() -> UserPool {
        crate::spec::testing::repo_stack().user_pools["users"].clone()
    }

    fn live() -> LivePool {
        LivePool {
            estimated_users: 0,
            id: "us-east-1_pool".to_owned(),
            arn: "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_pool".to_owned(),
            name: spec().physical_name,
            tags: HashMap::from([
                (OWNERSHIP_TAG.to_owned(), "auth-demo".to_owned()),
                ("team".to_owned(), "identity".to_owned()),
            ]),
            settings: PoolSettings::desired(&spec(), &team()),
            described: None,
        }
    }

    /// The stack's `tags:` in these tests (the pool carries them already).
    fn team() -> crate::kinds::tags::Tags {
        crate::kinds::tags::Tags::from([("team".to_owned(), "identity".to_owned())])
    }

    /// UpdateUserPool resets what it is not sent: one request with every setting, and the
    /// stack's tags (its `team` tag, and the ownership tag).
    #[tokio::test]
    async fn an_update_is_one_request_with_every_setting_and_the_tags() {
        let update = mock!(Client::update_user_pool)
            .match_requests(|r| {
                let tags = r.user_pool_tags().cloned().unwrap_or_default();
                let password = r.policies().and_then(|p| p.password_policy());
                r.user_pool_id() == Some("us-east-1_pool")
                    && tags.get(OWNERSHIP_TAG).map(String::as_str) == Some("auth-demo")
                    && tags.get("team").map(String::as_str) == Some("identity")
                    && password.and_then(|p| p.minimum_length()) == Some(8)
                    && r.deletion_protection() == Some(&DeletionProtectionType::Active)
                    && r.admin_create_user_config()
                        .is_some_and(|c| !c.allow_admin_create_user_only())
                    && r.auto_verified_attributes() == [VerifiedAttributeType::Email]
                    && r.account_recovery_setting().is_some()
            })
            .then_output(|| UpdateUserPoolOutput::builder().build());
        let client = mock_client!(
            aws_sdk_cognitoidentityprovider,
            RuleMode::Sequential,
            [&update]
        );
        super::super::update(&client, ("auth-demo", &team()), &live(), &spec())
            .await
            .expect("one request with every setting");
        assert_eq!(update.num_calls(), 1);
    }

    /// A tag removed from `tags:`: UpdateUserPool is sent the tags stack.yaml declares; should
    /// the pool, read back, still carry the removed one, it goes with UntagResource.
    #[tokio::test]
    async fn a_removed_tag_the_update_kept_is_untagged() {
        use aws_sdk_cognitoidentityprovider::operation::describe_user_pool::DescribeUserPoolOutput;
        use aws_sdk_cognitoidentityprovider::operation::untag_resource::UntagResourceOutput;
        use aws_sdk_cognitoidentityprovider::types::UserPoolType;
        let update = mock!(Client::update_user_pool)
            .match_requests(|r| {
                let tags = r.user_pool_tags().cloned().unwrap_or_default();
                tags.len() == 1 && tags.get(OWNERSHIP_TAG).map(String::as_str) == Some("auth-demo")
            })
            .then_output(|| UpdateUserPoolOutput::builder().build());
        let kept = mock!(Client::describe_user_pool)
            .match_requests(|r| r.user_pool_id() == Some("us-east-1_pool"))
            .then_output(|| {
                let pool = UserPoolType::builder()
                    .id("us-east-1_pool")
                    .arn("arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_pool")
                    .name("auth-demo-users")
                    .user_pool_tags(OWNERSHIP_TAG, "auth-demo")
                    .user_pool_tags("team", "identity")
                    .build();
                DescribeUserPoolOutput::builder().user_pool(pool).build()
            });
        let untag = mock!(Client::untag_resource)
            .match_requests(|r| {
                r.resource_arn()
                    == Some("arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_pool")
                    && r.tag_keys() == ["team".to_owned()]
            })
            .then_output(|| UntagResourceOutput::builder().build());
        let client = mock_client!(
            aws_sdk_cognitoidentityprovider,
            RuleMode::Sequential,
            [&update, &kept, &untag]
        );
        super::super::update(
            &client,
            ("auth-demo", &Default::default()),
            &live(),
            &spec(),
        )
        .await
        .expect("updated, then untagged");
        assert_eq!(
            (update.num_calls(), kept.num_calls(), untag.num_calls()),
            (1, 1, 1)
        );
    }

    /// Under a policy that grants a pool's actions by its tag, a pool deleted meanwhile is refused
    /// (no tag to match), not "not found": DescribeUserPool says it is gone, and the delete is
    /// done.
    #[tokio::test]
    async fn a_pool_gone_meanwhile_refused_by_its_tag_condition_counts_as_deleted() {
        use crate::replay::json_error;
        let refused = mock!(Client::delete_user_pool)
            .then_http_response(|| json_error(400, "AccessDeniedException", "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: cognito-idp:DeleteUserPool"));
        let gone = mock!(Client::describe_user_pool).then_http_response(|| {
            json_error(
                400,
                "ResourceNotFoundException",
                "User pool us-east-1_pool does not exist.",
            )
        });
        let client = mock_client!(
            aws_sdk_cognitoidentityprovider,
            RuleMode::Sequential,
            [&refused, &gone]
        );
        let mut unprotected = live();
        unprotected.settings.deletion_protection = false;
        super::super::delete(&client, "auth-demo", &unprotected, &spec())
            .await
            .expect("gone counts as deleted");
        assert_eq!((refused.num_calls(), gone.num_calls()), (1, 1));
    }

    /// AWS refuses to delete a protected pool: protection is lifted (the whole configuration
    /// again), then the pool deleted; nothing else.
    #[tokio::test]
    async fn a_delete_lifts_deletion_protection_first() {
        let unprotect = mock!(Client::update_user_pool)
            .match_requests(|r| {
                r.user_pool_id() == Some("us-east-1_pool")
                    && r.deletion_protection() == Some(&DeletionProtectionType::Inactive)
                    && r.policies().is_some()
            })
            .then_output(|| UpdateUserPoolOutput::builder().build());
        let delete = mock!(Client::delete_user_pool)
            .match_requests(|r| r.user_pool_id() == Some("us-east-1_pool"))
            .then_output(|| DeleteUserPoolOutput::builder().build());
        let client = mock_client!(
            aws_sdk_cognitoidentityprovider,
            RuleMode::Sequential,
            [&unprotect, &delete]
        );
        super::super::delete(&client, "auth-demo", &live(), &spec())
            .await
            .expect("unprotect, then delete");
        assert_eq!((unprotect.num_calls(), delete.num_calls()), (1, 1));
    }

    /// A pool already gone (a re-run after a crash) counts as deleted.
    #[tokio::test]
    async fn a_pool_already_gone_counts_as_deleted() {
        let mut unprotected = live();
        unprotected.settings.deletion_protection = false;
        let delete = mock!(Client::delete_user_pool)
            .match_requests(|r| r.user_pool_id() == Some("us-east-1_pool"))
            .then_http_response(|| {
                crate::replay::json_error(
                    400,
                    "ResourceNotFoundException",
                    "User pool us-east-1_pool does not exist.",
                )
            });
        let client = mock_client!(
            aws_sdk_cognitoidentityprovider,
            RuleMode::Sequential,
            [&delete]
        );
        super::super::delete(&client, "auth-demo", &unprotected, &spec())
            .await
            .expect("gone is deleted");
        assert_eq!(delete.num_calls(), 1);
    }

    /// `adopt` on AWS: exactly one TagResource that adds the stack's tag; nothing else is sent.
    #[tokio::test]
    async fn adopting_is_one_tag_resource_call() {
        use aws_sdk_cognitoidentityprovider::operation::tag_resource::TagResourceOutput;
        let tag = mock!(Client::tag_resource)
            .match_requests(|r| {
                r.resource_arn() == Some(live().arn.as_str())
                    && r.tags()
                        .and_then(|t| t.get(OWNERSHIP_TAG))
                        .map(String::as_str)
                        == Some("auth-demo")
                    && r.tags().map(HashMap::len) == Some(1)
            })
            .then_output(|| TagResourceOutput::builder().build());
        let client = mock_client!(
            aws_sdk_cognitoidentityprovider,
            RuleMode::Sequential,
            [&tag]
        );
        let warned = std::cell::Cell::new(false);
        super::super::unit::adopt(&client, "auth-demo", &live(), false, |_| warned.set(true))
            .await
            .expect("tagged");
        assert_eq!(tag.num_calls(), 1);
        assert!(!warned.get());
    }

    /// AWS's refusal (it names its error) is reported; no other call is tried in its place.
    #[tokio::test]
    async fn a_refused_tag_resource_is_an_error_not_an_update() {
        let tag = mock!(Client::tag_resource).then_http_response(|| {
            crate::replay::json_error(
                400,
                "NotAuthorizedException",
                "not allowed: cognito-idp:TagResource",
            )
        });
        let client = mock_client!(
            aws_sdk_cognitoidentityprovider,
            RuleMode::Sequential,
            [&tag]
        );
        let err = super::super::unit::adopt(&client, "auth-demo", &live(), false, |_| {})
            .await
            .expect_err("refused");
        assert!(
            format!("{err:#}").contains("failed to tag user pool"),
            "{err:#}"
        );
    }

    /// An endpoint without TagResource (an emulator's HTML 500), given as one: UpdateUserPool
    /// with the pool's own live settings and its tags plus ours, and a warning.
    #[tokio::test]
    async fn an_endpoint_without_tag_resource_gets_an_update_with_the_live_settings() {
        let html = || {
            aws_smithy_runtime_api::http::Response::new(
                aws_smithy_runtime_api::http::StatusCode::try_from(500).unwrap(),
                aws_smithy_types::body::SdkBody::from(
                    "<!doctype html><title>500 Internal Server Error</title>",
                ),
            )
        };
        let tag = mock!(Client::tag_resource)
            .sequence()
            .http_response(html)
            .times(3)
            .build();
        let mut untagged = live();
        untagged.tags.remove(OWNERSHIP_TAG);
        untagged.settings.deletion_protection = false;
        let update = mock!(Client::update_user_pool)
            .match_requests(|r| {
                let tags = r.user_pool_tags().cloned().unwrap_or_default();
                tags.get(OWNERSHIP_TAG).map(String::as_str) == Some("auth-demo")
                    && tags.get("team").map(String::as_str) == Some("identity")
                    && r.deletion_protection() == Some(&DeletionProtectionType::Inactive)
            })
            .then_output(|| UpdateUserPoolOutput::builder().build());
        let client = mock_client!(
            aws_sdk_cognitoidentityprovider,
            RuleMode::Sequential,
            [&tag, &update]
        );
        let warned = std::cell::RefCell::new(String::new());
        super::super::unit::adopt(&client, "auth-demo", &untagged, true, |w| {
            *warned.borrow_mut() = w.to_owned()
        })
        .await
        .expect("tagged through an update");
        assert_eq!(update.num_calls(), 1);
        assert!(
            warned
                .borrow()
                .contains("does not implement Cognito's TagResource")
        );
    }
}

/// Replay: a pool listed by name and deleted (by someone else) before its description is not
/// there, rather than failing the whole observe; the others are described.
#[tokio::test]
async fn a_pool_deleted_between_listing_and_describing_is_absent() {
    use crate::replay::json_error;
    use aws_sdk_cognitoidentityprovider::operation::describe_user_pool::DescribeUserPoolOutput;
    use aws_sdk_cognitoidentityprovider::types::UserPoolType;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    let gone = mock!(Client::describe_user_pool)
        .match_requests(|r| r.user_pool_id() == Some("us-east-1_gone"))
        .sequence()
        .http_response(|| {
            let mut answer = json_error(
                400,
                "ResourceNotFoundException",
                "User pool us-east-1_gone does not exist.",
            );
            answer
                .headers_mut()
                .insert("x-amzn-query-error", "ResourceNotFoundException;Sender");
            answer
        })
        .build();
    let there = mock!(Client::describe_user_pool)
        .match_requests(|r| r.user_pool_id() == Some("us-east-1_there"))
        .then_output(|| {
            DescribeUserPoolOutput::builder()
                .user_pool(
                    UserPoolType::builder()
                        .id("us-east-1_there")
                        .name("s-users")
                        .arn("arn:aws:cognito-idp:us-east-1:1:userpool/us-east-1_there")
                        .build(),
                )
                .build()
        });
    let client = mock_client!(
        aws_sdk_cognitoidentityprovider,
        RuleMode::MatchAny,
        [&gone, &there]
    );
    let listed = [
        ("us-east-1_gone".to_owned(), "s-users".to_owned()),
        ("us-east-1_there".to_owned(), "s-users".to_owned()),
    ];
    let found = describe_all(&client, &listed)
        .await
        .expect("one is gone, one is there");
    let ids: Vec<&str> = found.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["us-east-1_there"]);
    assert_eq!((gone.num_calls(), there.num_calls()), (1, 1));
}

/// Case sensitivity cannot change on AWS: a change is a replacement. Not written in stack.yaml,
/// a new pool is case insensitive and an existing pool keeps what it has (a pool made before the
/// setting existed is case sensitive, and is not planned for replacement for it).
#[test]
fn case_sensitive_usernames_is_immutable_and_kept_when_not_written() {
    assert!(matches!(
        diff(
            &PoolSettings {
                case_sensitive_usernames: true,
                ..settings()
            },
            &settings()
        ),
        Action::Replace { changes } if changes[0].field == "caseSensitiveUsernames" && changes[0].forces_replacement
    ));
    let mut stack = crate::spec::testing::repo_stack();
    let target = crate::aws::Target {
        region: "us-east-1".to_owned(),
        account: "123456789012".to_owned(),
        partition: "aws".to_owned(),
        caller: "arn:aws:iam::123456789012:user/ci".to_owned(),
    };
    let code = std::collections::BTreeMap::new();
    let spec = stack.user_pools["users"].clone();
    assert_eq!(spec.case_sensitive_usernames, None);
    assert!(!PoolSettings::desired(&spec, &Default::default()).case_sensitive_usernames);
    let old = LivePool {
        estimated_users: 3,
        id: "us-east-1_old".to_owned(),
        arn: "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_old".to_owned(),
        name: spec.physical_name.clone(),
        tags: HashMap::from([(OWNERSHIP_TAG.to_owned(), stack.name.clone())]),
        settings: PoolSettings {
            case_sensitive_usernames: true,
            ..PoolSettings::desired(&spec, &Default::default())
        },
        described: None,
    };
    let search = super::unit::PoolSearch {
        owned: Some(old),
        ..Default::default()
    };
    let plan = |stack: &crate::spec::Stack| {
        let model = crate::base::Model {
            stack,
            target: &target,
            code: &code,
        };
        super::unit::plan(&model, Some(&search), "users")
            .expect("a plan")
            .action
    };
    assert_eq!(plan(&stack), Action::NoOp, "not written: kept");
    stack
        .user_pools
        .get_mut("users")
        .unwrap()
        .case_sensitive_usernames = Some(false);
    assert!(
        matches!(plan(&stack), Action::Replace { .. }),
        "written: a replacement"
    );
}
