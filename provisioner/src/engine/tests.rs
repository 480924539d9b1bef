//! The planner is pure: these plans are made from a model and an observed state written by hand,
//! with no client anywhere. Per kind: what it plans for nothing live, for its own resource in
//! sync or drifted, and for someone else's in the way.

use std::collections::{BTreeMap, HashMap};

use super::run::{plan_down, plan_up, unallowed};
use super::units::{self, NodePlan};
use super::{Code, Leftover, Live, Model, Resolve, Values};
use crate::aws::Target;
use crate::kinds::function::{FunctionSettings, LiveFunction};
use crate::kinds::log_group::LiveLogGroup;
use crate::kinds::log_group::unit::LogGroupChange;
use crate::kinds::role::{LiveRole, RoleSettings};
use crate::kinds::user_pool::unit::{PoolChange, PoolSearch};
use crate::kinds::user_pool::{LivePool, PoolSettings};
use crate::plan::{Action, Entry, Kind};
use crate::spec::{OWNERSHIP_TAG, ResourceId, Stack};

fn target() -> Target {
    Target {
        region: "eu-west-1".to_owned(),
        account: "111122223333".to_owned(),
        partition: "aws".to_owned(),
        caller: "arn:aws:iam::111122223333:user/ci".to_owned(),
    }
}

fn code(stack: &Stack) -> BTreeMap<String, Code> {
    stack
        .functions
        .keys()
        .map(|name| {
            (
                name.clone(),
                Code {
                    sha256: format!("sha-of-{name}"),
                    zip: std::path::PathBuf::from("unused.zip"),
                },
            )
        })
        .collect()
}

/// Runs `check` with the repository's stack as a model.
fn with_model(check: impl FnOnce(&Model)) {
    with_stack(crate::spec::testing::repo_stack(), check);
}

fn with_stack(stack: Stack, check: impl FnOnce(&Model)) {
    let (target, code) = (target(), code(&stack));
    check(&Model {
        stack: &stack,
        target: &target,
        code: &code,
    });
}

fn tags(owner: &str) -> HashMap<String, String> {
    HashMap::from([(OWNERSHIP_TAG.to_owned(), owner.to_owned())])
}

/// `function` as `up` would create it, owned by `owner`.
fn live_function(model: &Model, function: &str, owner: &str) -> LiveFunction {
    let spec = &model.stack.functions[function];
    LiveFunction {
        name: spec.physical_name.clone(),
        arn: model.target.lambda_arn(&spec.physical_name),
        owner: Some(owner.to_owned()),
        settings: FunctionSettings::desired(
            spec,
            BTreeMap::new(),
            &model.target.role_arn(&spec.role_name(&model.target.region)),
            &model.code[function].sha256,
            &Default::default(),
        ),
        failed: None,
    }
}

fn live_group(model: &Model, function: &str, tags: HashMap<String, String>) -> LiveLogGroup {
    let name =
        crate::kinds::log_group::log_group_name(&model.stack.functions[function].physical_name);
    LiveLogGroup {
        arn: format!("arn:aws:logs:eu-west-1:111122223333:log-group:{name}"),
        name,
        retention_days: None,
        tags,
        created_ms: None,
    }
}

fn plan_node(model: &Model, live: &Live, id: ResourceId) -> Result<NodePlan, super::Blocker> {
    units::plan(model, live, &Values::from_live(live), &id, Resolve::Lenient)
}

fn log_group(function: &str) -> ResourceId {
    ResourceId::LogGroup {
        function: function.to_owned(),
    }
}

#[test]
fn nothing_live_plans_every_resource_as_a_create() {
    with_model(|model| {
        let plan = plan_up(model, &Live::default());
        assert!(plan.blockers.is_empty(), "{:?}", plan.blockers);
        assert!(
            plan.entries.iter().all(|e| e.action == Action::Create),
            "{:#?}",
            plan.entries
        );
        // Pool, client, API, authorizer, stage, deployment; per function its role, log group,
        // function and permissions (nine functions); per route its resource and method (nine
        // routes); CORS: per resource its preflight, and the two gateway responses.
        assert_eq!(plan.summary.create, 6 + 9 * 4 + 9 * 2 + 9 + 2);
        // The longest chain of calls: the pool, then the API: CreateRestApi, the authorizer
        // beside the resources (one level), each route's method and integration (at once),
        // deployment, stage. As long: a role (CreateRole, AttachRolePolicy) or log group (create,
        // retention), the function (create, wait), then what the API does after it: the route's
        // integration, the deployment, the stage; the permissions go in beside them.
        assert_eq!(plan.critical_path, 1 + (1 + 1 + 2 + 1 + 1));
        assert_eq!(plan.critical_path, 2 + 2 + (1 + 1 + 1));
        // Nothing found: GetCallerIdentity, then one round of reads. The whole `up`: those, the
        // lock, one round again under it, the apply, the lock given back.
        assert_eq!(plan.read_depth, 2);
        assert_eq!(plan.run_critical_path, 2 + 1 + 1 + plan.critical_path + 2);
        assert_eq!(
            (plan.region.as_str(), plan.account.as_str()),
            ("eu-west-1", "111122223333")
        );
        // References to what does not exist yet read as such.
        let function = plan
            .entries
            .iter()
            .find(|e| e.address == "functions.sign-up")
            .expect("sign-up");
        assert!(
            function.attributes.iter().any(|a| a.field == "environment"
                && a.value == "{CORS_ALLOW_ORIGINS: http://localhost:8000, USER_POOL_CLIENT_ID: (known after apply)}"),
            "{:?}",
            function.attributes
        );
    });
}

/// Every kind there is shows in the cold plan of the repository's stack, which declares one of
/// each: a kind whose nodes are missing from `Stack::needs` (never scheduled) or from `units`
/// fails here, since `Kind::ALL` is the kinds' own declaration.
#[test]
fn every_kind_has_nodes_in_the_plan_of_a_stack_that_declares_it() {
    with_stack(crate::spec::testing::triggers_stack(), |model| {
        let plan = plan_up(model, &Live::default());
        let planned: std::collections::BTreeSet<Kind> =
            plan.entries.iter().map(|e| e.kind).collect();
        let every: std::collections::BTreeSet<Kind> = Kind::ALL.iter().copied().collect();
        assert_eq!(planned, every);
    });
}

#[test]
fn down_of_nothing_live_deletes_nothing() {
    with_model(|model| {
        let plan = plan_down(model, &Live::default(), false);
        assert!(!plan.has_changes(), "{:#?}", plan.entries);
    });
}

/// A log group: created when absent; its retention set when ours; adopted (tagged) when Lambda
/// made it for a function of ours; left alone when someone else's.
#[test]
fn log_groups_are_created_adopted_or_left_alone() {
    with_model(|model| {
        let plan = |live: &Live| match plan_node(model, live, log_group("secret")) {
            Ok(NodePlan::LogGroup(node)) => (node.action, node.changes),
            other => panic!("expected a log group node, got {other:?}"),
        };
        let mut live = Live::default();
        let (action, changes) = plan(&live);
        assert_eq!((action, changes.len()), (Action::Create, 0));

        let mut ours = live_group(model, "secret", tags(&model.stack.name));
        ours.retention_days = Some(14);
        live.log_groups
            .insert("secret".to_owned(), Some(ours.clone()));
        assert_eq!(plan(&live).0, Action::NoOp);
        ours.retention_days = Some(30);
        live.log_groups.insert("secret".to_owned(), Some(ours));
        assert_eq!(
            plan(&live).1.into_iter().collect::<Vec<_>>(),
            [LogGroupChange::Retention]
        );

        // Untagged beside a function of ours: Lambda made it; adopted, then its retention set.
        live.log_groups.insert(
            "secret".to_owned(),
            Some(live_group(model, "secret", HashMap::new())),
        );
        live.functions.insert(
            "secret".to_owned(),
            Some(live_function(model, "secret", &model.stack.name)),
        );
        let (action, changes) = plan(&live);
        assert!(
            matches!(&action, Action::Update { changes } if changes[0].field == "owner"),
            "{action:?}"
        );
        assert_eq!(
            changes.into_iter().collect::<Vec<_>>(),
            [LogGroupChange::Adopt, LogGroupChange::Retention]
        );

        // Untagged beside someone else's function, or another stack's: never touched.
        live.functions.insert(
            "secret".to_owned(),
            Some(live_function(model, "secret", "other-stack")),
        );
        assert_eq!(plan(&live), (Action::NoOp, Default::default()));
        live.log_groups.insert(
            "secret".to_owned(),
            Some(live_group(model, "secret", tags("other-stack"))),
        );
        assert_eq!(plan(&live), (Action::NoOp, Default::default()));
    });
}

fn role_is_ours(model: &Model, live: &Live, region: &str) -> bool {
    live.roles["secret"]
        .as_ref()
        .is_some_and(|role| role.owned_by(&model.stack.name, region))
}

/// A function or role of another stack's where ours must go blocks the plan, naming the owner.
#[test]
fn someone_elses_function_or_role_is_a_blocker_naming_its_owner() {
    with_model(|model| {
        let mut live = Live::default();
        live.functions.insert(
            "secret".to_owned(),
            Some(live_function(model, "secret", "other-stack")),
        );
        let blocker = plan_node(
            model,
            &live,
            ResourceId::Function {
                function: "secret".to_owned(),
            },
        )
        .expect_err("a foreign function is in the way");
        assert!(
            blocker.address == "functions.secret"
                && blocker.reason.contains("belongs to stack `other-stack`"),
            "{blocker}"
        );

        let spec = &model.stack.functions["secret"];
        live.roles.insert(
            "secret".to_owned(),
            Some(LiveRole {
                name: spec.role_name(&model.target.region),
                arn: model.target.role_arn(&spec.role_name(&model.target.region)),
                owner: None,
                region: None,
                settings: RoleSettings::desired(None, "aws"),
            }),
        );
        let blocker = plan_node(
            model,
            &live,
            ResourceId::Role {
                function: "secret".to_owned(),
            },
        )
        .expect_err("an untagged role is in the way");
        assert!(
            blocker.reason.contains("does not carry the tag"),
            "{blocker}"
        );

        // The stack's own role, but of its deployment in another region: not ours here.
        let region = model.target.region.clone();
        if let Some(Some(role)) = live.roles.get_mut("secret") {
            role.owner = Some(model.stack.name.clone());
            role.region = Some("ap-south-1".to_owned());
        }
        let blocker = plan_node(
            model,
            &live,
            ResourceId::Role {
                function: "secret".to_owned(),
            },
        )
        .expect_err("another region's role is in the way");
        assert!(
            blocker.address == "functions.secret.role"
                && blocker
                    .reason
                    .contains(&format!("`{}` in `ap-south-1`", model.stack.name))
                && !role_is_ours(model, &live, &region),
            "{blocker}"
        );
        // The whole plan lists both, and `up` refuses on blockers.
        assert_eq!(plan_up(model, &live).blockers.len(), 2);
    });
}

/// A pool whose sign-in attributes changed must be replaced: planned as such, refused unless
/// named in `--allow-replace`, and its clients are planned as new (they go with it).
#[test]
fn a_pool_replacement_is_typed_planned_with_its_clients_and_refused_unless_named() {
    with_model(|model| {
        let spec = &model.stack.user_pools["users"];
        let mut settings = PoolSettings::desired(spec, &Default::default());
        settings.username_attributes = vec![crate::spec::VerifiedAttribute::PhoneNumber];
        let pool = LivePool {
            estimated_users: 0,
            id: "eu-west-1_abc".to_owned(),
            arn: "arn:aws:cognito-idp:eu-west-1:111122223333:userpool/eu-west-1_abc".to_owned(),
            name: spec.physical_name.clone(),
            tags: tags(&model.stack.name),
            settings,
            described: None,
        };
        let mut live = Live::default();
        live.pools.insert(
            "users".to_owned(),
            PoolSearch {
                owned: Some(pool),
                foreign: Vec::new(),
                clients: None,
                moved_from: None,
                also_under_old_name: None,
            },
        );
        match plan_node(
            model,
            &live,
            ResourceId::UserPool {
                pool: "users".to_owned(),
            },
        ) {
            Ok(NodePlan::Pool(node)) => {
                assert!(matches!(node.change, PoolChange::Replace(_)));
                assert!(matches!(node.action, Action::Replace { .. }));
            }
            other => panic!("expected a pool node, got {other:?}"),
        }
        let plan = plan_up(model, &live);
        let client = plan
            .entries
            .iter()
            .find(|e| e.kind == Kind::UserPoolClient)
            .expect("the client");
        assert_eq!(client.action, Action::Create);
        let refused: Vec<String> = unallowed(&plan, &live, &[])
            .unwrap()
            .into_iter()
            .map(|g| g.address)
            .collect();
        assert_eq!(refused, ["userPools.users"]);
        assert!(
            unallowed(&plan, &live, &["users".to_owned()])
                .unwrap()
                .is_empty()
        );
        assert!(
            unallowed(&plan, &live, &["userPools.users".to_owned()])
                .unwrap()
                .is_empty()
        );
    });
}

/// Leftovers are planned after everything declared: deleted, except pools (kept), by `up` and
/// `down` alike.
#[test]
fn leftovers_are_deleted_after_the_stack_and_pools_are_kept() {
    with_model(|model| {
        let leftover = |kind, address: &str, action| Leftover {
            entry: Entry::new(address, kind, "x", action),
            name: "x".to_owned(),
            id: None,
            parent: None,
        };
        let live = Live {
            leftovers: vec![
                leftover(Kind::LambdaFunction, "functions.old", Action::Delete),
                leftover(Kind::UserPool, "userPools.old", Action::NoOp),
            ],
            ..Live::default()
        };
        let plan = plan_up(model, &live);
        let tail: Vec<(&str, &Action)> = plan
            .entries
            .iter()
            .rev()
            .take(2)
            .map(|e| (e.address.as_str(), &e.action))
            .collect();
        assert_eq!(
            tail,
            [
                ("userPools.old", &Action::NoOp),
                ("functions.old", &Action::Delete)
            ]
        );
        let down = plan_down(model, &live, false);
        assert_eq!(down.summary.delete, 1);
    });
}

/// `--allow-replace` takes addresses; a bare name that names a pool and a client is refused,
/// naming both, and allowing the client never allows the pool.
#[test]
fn allow_replace_names_one_resource_by_address() {
    use crate::plan::FieldChange;
    let replace = || Action::Replace {
        changes: vec![FieldChange {
            field: "generateSecret",
            live: "false".to_owned(),
            desired: "true".to_owned(),
            forces_replacement: true,
        }],
    };
    let plan = crate::plan::Plan::new(
        "auth-demo",
        &target(),
        vec![
            Entry::new("userPools.web", Kind::UserPool, "auth-demo-web", replace()),
            Entry::new(
                "userPools.users.clients.web",
                Kind::UserPoolClient,
                "auth-demo-web",
                replace(),
            ),
        ],
        Vec::new(),
    );
    let live = Live::default();
    // A client no longer declared in a pool that is replaced goes with the pool: one guard.
    let with_old_client = crate::plan::Plan::new(
        "auth-demo",
        &target(),
        vec![
            Entry::new(
                "userPools.users",
                Kind::UserPool,
                "auth-demo-users",
                replace(),
            ),
            Entry::new(
                "userPools.users.clients.old",
                Kind::UserPoolClient,
                "auth-demo-old",
                Action::Delete,
            ),
        ],
        Vec::new(),
    );
    let guarded: Vec<String> = unallowed(&with_old_client, &live, &[])
        .unwrap()
        .into_iter()
        .map(|g| g.address)
        .collect();
    assert_eq!(guarded, ["userPools.users"]);
    let err = unallowed(&plan, &live, &["web".to_owned()]).expect_err("ambiguous");
    assert_eq!(
        err.addresses,
        ["userPools.users.clients.web", "userPools.web"]
    );
    assert!(
        err.to_string()
            .contains("userPools.users.clients.web, userPools.web")
    );
    let left: Vec<String> = unallowed(&plan, &live, &["userPools.users.clients.web".to_owned()])
        .unwrap()
        .into_iter()
        .map(|g| g.address)
        .collect();
    assert_eq!(left, ["userPools.web"]);
    let given = ["userPools.web".to_owned(), "userPools.wbe".to_owned()];
    assert_eq!(
        super::run::unused_allowances(&plan, &live, &given).unwrap(),
        ["userPools.wbe"]
    );
}

/// A pool of the stack's name without any tag blocks the plan (naming `adopt`); one tagged as
/// another stack's is that stack's and is left alone.
#[test]
fn an_untagged_pool_of_the_stacks_name_blocks_and_another_stacks_does_not() {
    with_model(|model| {
        let spec = &model.stack.user_pools["users"];
        let pool = |tags: HashMap<String, String>| LivePool {
            estimated_users: 3,
            id: "us-east-1_other".to_owned(),
            arn: "arn:aws:cognito-idp:eu-west-1:111122223333:userpool/us-east-1_other".to_owned(),
            name: spec.physical_name.clone(),
            tags,
            settings: PoolSettings::desired(spec, &Default::default()),
            described: None,
        };
        let mut live = Live::default();
        let id = ResourceId::UserPool {
            pool: "users".to_owned(),
        };
        live.pools.insert(
            "users".to_owned(),
            PoolSearch {
                foreign: vec![pool(tags("someone-else"))],
                ..PoolSearch::default()
            },
        );
        assert!(matches!(
            plan_node(model, &live, id.clone()),
            Ok(NodePlan::Pool(_))
        ));
        live.pools.get_mut("users").unwrap().foreign = vec![pool(HashMap::new())];
        let blocker = plan_node(model, &live, id).expect_err("an untagged pool blocks");
        assert!(
            blocker
                .reason
                .contains("`provisioner adopt userPools.users`")
                && blocker.reason.contains("us-east-1_other"),
            "{blocker}"
        );
    });
}

/// A `moved` pool with a pool of ours under both its old and its new name: which one holds the
/// users is the user's call, so the plan is refused naming both.
#[test]
fn a_moved_pool_live_under_both_names_is_refused_naming_both() {
    with_model(|model| {
        let spec = &model.stack.user_pools["users"];
        let pool = |id: &str, name: &str| LivePool {
            estimated_users: 2,
            id: id.to_owned(),
            arn: format!("arn:aws:cognito-idp:eu-west-1:111122223333:userpool/{id}"),
            name: name.to_owned(),
            tags: tags(&model.stack.name),
            settings: PoolSettings::desired(spec, &Default::default()),
            described: None,
        };
        let mut live = Live::default();
        live.pools.insert(
            "users".to_owned(),
            PoolSearch {
                owned: Some(pool("eu-west-1_new", &spec.physical_name)),
                also_under_old_name: Some(pool("eu-west-1_old", "auth-demo-members")),
                ..PoolSearch::default()
            },
        );
        let id = ResourceId::UserPool {
            pool: "users".to_owned(),
        };
        let blocker = plan_node(model, &live, id).expect_err("both names live");
        assert!(
            blocker.reason.contains("eu-west-1_new") && blocker.reason.contains("eu-west-1_old"),
            "{blocker}"
        );
    });
}

/// A function whose create failed (`State: Failed`) is planned for replacement with Lambda's
/// reason, and its statements, which go with it, are planned again.
#[test]
fn a_failed_function_is_replaced_and_its_statements_planned_again() {
    with_model(|model| {
        let mut live = Live::default();
        let mut failed = live_function(model, "secret", &model.stack.name);
        failed.failed = Some("InvalidImage: bad bootstrap".to_owned());
        live.functions.insert("secret".to_owned(), Some(failed));
        live.permissions
            .insert("secret".to_owned(), Default::default());
        assert!(!live.statements().grants.contains_key("secret"));
        let id = ResourceId::Function {
            function: "secret".to_owned(),
        };
        match plan_node(model, &live, id) {
            Ok(NodePlan::Function(node)) => {
                assert!(matches!(
                    node.work,
                    crate::kinds::function::unit::FunctionWork::Replace
                ));
                assert!(matches!(&node.action, Action::Replace { changes }
                    if changes[0].field == "state" && changes[0].live == "Failed (InvalidImage: bad bootstrap)"));
            }
            other => panic!("expected a function node, got {other:?}"),
        }
    });
}
