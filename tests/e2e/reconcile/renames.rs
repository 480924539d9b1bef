//! Renames: an app client or a user pool renamed in stack.yaml is never silently replaced or
//! forked. Without a `moved:` entry `up` refuses (unless the old address is named); with one, the
//! client is renamed in place (same id) and the pool is kept under its old name with its users.

use super::*;

/// How many functions of the repository's stack name the app client's id.
fn references() -> usize {
    std::fs::read_to_string(support::repo_root().join("stack.yaml"))
        .unwrap()
        .matches("${userPools.users.clients.web.id}")
        .count()
}

/// The repository's stack with client `web` renamed `webapp` (and every reference to it).
fn client_renamed(moved: bool) -> Vec<(&'static str, &'static str)> {
    let mut edits = vec![("      web:\n", "      webapp:\n")];
    for _ in 0..references() {
        edits.push((
            "${userPools.users.clients.web.id}",
            "${userPools.users.clients.webapp.id}",
        ));
    }
    edits.push((
        "${userPools.users.clients.web.rotateRefreshTokens}",
        "${userPools.users.clients.webapp.rotateRefreshTokens}",
    ));
    if moved {
        edits.push((
            "\napi:\n",
            "\nmoved:\n  - { from: userPools.users.clients.web, to: userPools.users.clients.webapp }\n\napi:\n",
        ));
    }
    edits
}

#[tokio::test]
async fn a_renamed_client_is_refused_unless_moved_and_moved_keeps_its_id() {
    let stack = support::unique("rename-client");
    let report = up(&support::write_stack(&[]), &stack, &[]);
    let client_id = report["outputs"]["userPoolClientId"]
        .as_str()
        .unwrap()
        .to_owned();

    let renamed = support::write_stack(&client_renamed(false));
    let refused = on_emulator(&renamed, &stack, &["up", "--yes", "-v"]);
    assert_eq!(refused.code, Some(1), "{}", refused.stderr);
    assert!(
        refused.stderr.contains(&format!(
            "userPools.users.clients.web ({stack}-web ({client_id})) would be deleted"
        )) && refused.stderr.contains(
            "moved: [{from: userPools.users.clients.web, to: userPools.users.clients.<new name>}]"
        ) && refused
            .stderr
            .contains("`--allow-replace userPools.users.clients.web`"),
        "{}",
        refused.stderr
    );
    assert_eq!(logged_writes(&refused.stderr), Vec::<String>::new());

    let moved = support::write_stack(&client_renamed(true));
    let plan = diff(&moved, &stack, 2);
    assert_eq!(
        changed(&plan),
        BTreeMap::from([(
            "userPools.users.clients.webapp".to_owned(),
            "update".to_owned()
        )]),
        "{plan:#}"
    );
    let report = up(&moved, &stack, &[]);
    assert_eq!(
        report["outputs"]["userPoolClientId"],
        client_id.as_str(),
        "{report:#}"
    );
    assert_eq!(
        calls(&report, "CognitoIdentityProvider.CreateUserPoolClient"),
        0
    );
    assert_eq!(
        calls(&report, "CognitoIdentityProvider.DeleteUserPoolClient"),
        0
    );
    diff(&moved, &stack, 0);

    // Named, a rename without `moved` goes through: the old client is deleted, a new one made.
    let mut edits = vec![("      web:\n", "      web2:\n")];
    for _ in 0..references() {
        edits.push((
            "${userPools.users.clients.web.id}",
            "${userPools.users.clients.web2.id}",
        ));
    }
    edits.push((
        "${userPools.users.clients.web.rotateRefreshTokens}",
        "${userPools.users.clients.web2.rotateRefreshTokens}",
    ));
    let renamed_again = support::write_stack(&edits);
    let report = up(
        &renamed_again,
        &stack,
        &["--allow-replace", "userPools.users.clients.webapp"],
    );
    assert_ne!(report["outputs"]["userPoolClientId"], client_id.as_str());
    assert_eq!(
        calls(&report, "CognitoIdentityProvider.DeleteUserPoolClient"),
        1
    );
    diff(&renamed_again, &stack, 0);
}

#[tokio::test]
async fn a_renamed_pool_is_refused_unless_moved_and_moved_keeps_it_with_its_users() {
    let aws = aws().await;
    let stack = support::unique("rename-pool");
    let report = up(&support::write_stack(&[]), &stack, &[]);
    let pool_id = report["outputs"]["userPoolId"].as_str().unwrap().to_owned();
    let client_id = report["outputs"]["userPoolClientId"]
        .as_str()
        .unwrap()
        .to_owned();
    sign_up_user(&aws, &client_id, "grace").await;

    let mut edits = vec![
        ("  users:\n    selfSignUp", "  members:\n    selfSignUp"),
        ("userPool: users", "userPool: members"),
    ];
    for _ in 0..references() {
        edits.push((
            "${userPools.users.clients.web.id}",
            "${userPools.members.clients.web.id}",
        ));
    }
    edits.push((
        "${userPools.users.clients.web.rotateRefreshTokens}",
        "${userPools.members.clients.web.rotateRefreshTokens}",
    ));
    let renamed = support::write_stack(&edits);
    let refused = on_emulator(&renamed, &stack, &["up", "--yes", "-v"]);
    assert_eq!(refused.code, Some(1), "{}", refused.stderr);
    assert!(
        refused
            .stderr
            .contains("userPools.members would be a new, empty user pool, while userPools.users")
            && refused
                .stderr
                .contains("moved: [{from: userPools.users, to: userPools.members}]"),
        "{}",
        refused.stderr
    );
    assert_eq!(logged_writes(&refused.stderr), Vec::<String>::new());

    edits.push((
        "\napi:\n",
        "\nmoved:\n  - from: userPools.users\n    to: userPools.members\n\napi:\n",
    ));
    let moved = support::write_stack(&edits);
    let plan = diff(&moved, &stack, 0);
    let pool = plan["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["address"] == "userPools.members")
        .unwrap_or_else(|| panic!("{plan:#}"));
    assert_eq!(
        pool["name"],
        format!("{stack}-users ({pool_id})"),
        "{pool:#}"
    );
    assert!(
        pool["note"]
            .as_str()
            .unwrap()
            .contains("moved from `userPools.users`"),
        "{pool:#}"
    );
    let report = up(&moved, &stack, &[]);
    assert_eq!(report["outputs"]["userPoolId"], pool_id.as_str());
    assert_eq!(report["outputs"]["userPoolClientId"], client_id.as_str());
    assert!(writes(&report).is_empty(), "{report:#}");
    assert!(user_exists(&aws, &pool_id, "grace").await);
}
