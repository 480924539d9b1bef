use super::*;

#[test]
fn outputs_are_aligned_and_named_as_references() {
    let mut outputs = Outputs {
        api_url: Some("https://a1.execute-api.us-east-1.amazonaws.com/prod/".to_owned()),
        api_id: Some("a1".to_owned()),
        ..Outputs::default()
    };
    outputs.user_pools.insert(
        "users".to_owned(),
        crate::report::PoolOutputs {
            id: "us-east-1_p".to_owned(),
            arn: "arn:aws:cognito-idp:us-east-1:1:userpool/us-east-1_p".to_owned(),
            clients: std::collections::BTreeMap::from([("web".to_owned(), "c1".to_owned())]),
        },
    );
    let mut text = Vec::new();
    write_outputs(&mut text, &outputs).unwrap();
    assert_eq!(
        String::from_utf8(text).unwrap(),
        "Outputs:
  apiUrl                         = https://a1.execute-api.us-east-1.amazonaws.com/prod/
  apiId                          = a1
  userPools.users.id             = us-east-1_p
  userPools.users.arn            = arn:aws:cognito-idp:us-east-1:1:userpool/us-east-1_p
  userPools.users.clients.web.id = c1
"
    );
}

/// Markdown for a job summary: the summary in bold, the plan in a `diff` block with each
/// marker in the first column, attributes and notes indented.
#[test]
fn a_markdown_plan_puts_markers_in_the_first_column() {
    use crate::plan::Kind;
    let target = crate::aws::Target {
        region: "eu-west-1".to_owned(),
        account: "111122223333".to_owned(),
        partition: "aws".to_owned(),
        caller: "arn:aws:iam::111122223333:user/ci".to_owned(),
    };
    let change = |field, live: &str, desired: &str, forces| crate::plan::FieldChange {
        field,
        live: live.to_owned(),
        desired: desired.to_owned(),
        forces_replacement: forces,
    };
    let plan = Plan::new(
        "auth",
        &target,
        vec![
            Entry::new(
                "functions.new",
                Kind::LambdaFunction,
                "auth-new",
                Action::Create,
            ),
            Entry::new(
                "functions.secret",
                Kind::LambdaFunction,
                "auth-secret",
                Action::Update {
                    changes: vec![change("timeout", "10", "20", false)],
                },
            ),
            Entry::new(
                "userPools.users",
                Kind::UserPool,
                "auth-users",
                Action::Replace {
                    changes: vec![change("usernameAttributes", "[]", "[email]", true)],
                },
            ),
            Entry::new(
                "functions.old",
                Kind::LambdaFunction,
                "auth-old",
                Action::Delete,
            )
            .with_note("no longer in stack.yaml"),
        ],
        Vec::new(),
    );
    let mut out = Vec::new();
    write_plan_markdown(&mut out, &plan).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.starts_with("### Plan for stack `auth` in eu-west-1 (account 111122223333)\n\n**Plan: 1 to create, 1 to update, 1 to replace, 1 to delete.**\n"),
        "{text}"
    );
    let block: Vec<&str> = text
        .split("```diff\n")
        .nth(1)
        .and_then(|rest| rest.split("\n```").next())
        .unwrap()
        .lines()
        .collect();
    assert_eq!(
        block,
        [
            "+   functions.new     lambdaFunction  auth-new",
            "~   functions.secret  lambdaFunction  auth-secret",
            "      timeout: 10 -> 20",
            "-/+ userPools.users   userPool        auth-users",
            "      usernameAttributes: [] -> [email]   # forces replacement",
            "-   functions.old     lambdaFunction  auth-old",
            "      # no longer in stack.yaml",
        ]
    );
}

/// A hand-written plan with every kind of row (a create with its attributes, an update, a
/// replacement, a delete with a note, a kept resource, a blocker), as text and as markdown:
/// both rendered from the plan value, pinned as snapshots without an emulator.
#[test]
fn a_hand_written_plan_reads_the_same_as_text_and_markdown() {
    use crate::plan::{Kind, attribute};
    let target = crate::aws::Target {
        region: "eu-west-1".to_owned(),
        account: "111122223333".to_owned(),
        partition: "aws".to_owned(),
        caller: "arn:aws:iam::111122223333:user/ci".to_owned(),
    };
    let change = |field, live: &str, desired: &str, forces| crate::plan::FieldChange {
        field,
        live: live.to_owned(),
        desired: desired.to_owned(),
        forces_replacement: forces,
    };
    let plan = Plan::new(
        "auth",
        &target,
        vec![
            Entry::new("functions.new", Kind::LambdaFunction, "auth-new", Action::Create)
                .with_attributes(vec![
                    attribute("memory", &256u32),
                    attribute("timeout", &10u32),
                ]),
            Entry::new(
                "functions.secret.role",
                Kind::IamRole,
                "euw1-auth-secret",
                Action::Update {
                    changes: vec![change(
                        "inlinePolicy",
                        "(absent)",
                        "provisioner-allow: Allow cognito-idp:AdminUpdateUserAttributes on arn:aws:cognito-idp:eu-west-1:111122223333:userpool/eu-west-1_p",
                        false,
                    )],
                },
            ),
            Entry::new(
                "userPools.users",
                Kind::UserPool,
                "auth-users (eu-west-1_p)",
                Action::Replace {
                    changes: vec![change("usernameAttributes", "[]", "[email]", true)],
                },
            )
            .with_note("replacing the pool deletes every user in it"),
            Entry::new(
                "userPools.users.clients.old",
                Kind::UserPoolClient,
                "auth-old (c1)",
                Action::Delete,
            )
            .with_note("no longer in stack.yaml"),
            Entry::new(
                "functions.secret.legacyRole",
                Kind::IamRole,
                "auth-secret-role",
                Action::NoOp,
            )
            .with_note("made by an earlier provisioner"),
        ],
        vec!["api: a REST API of this stack's name exists without any ownership tag\n  hint: `provisioner adopt api` takes it over".to_owned()],
    );
    let mut text = Vec::new();
    write_plan(&mut text, &plan, false).unwrap();
    insta::assert_snapshot!("plan_text", String::from_utf8(text).unwrap());
    let mut markdown = Vec::new();
    write_plan_markdown(&mut markdown, &plan).unwrap();
    insta::assert_snapshot!("plan_markdown", String::from_utf8(markdown).unwrap());
}

#[test]
fn markers_are_coloured_only_when_asked() {
    let update = Action::Update {
        changes: Vec::new(),
    };
    assert_eq!(styled_marker(&Action::Create, false), "  +");
    assert_eq!(
        styled_marker(&Action::Create, true),
        "\u{1b}[1m\u{1b}[32m  +\u{1b}[0m"
    );
    assert_eq!(
        styled_marker(&update, true),
        "\u{1b}[1m\u{1b}[33m  ~\u{1b}[0m"
    );
    assert_eq!(
        styled_marker(&Action::Delete, true),
        "\u{1b}[1m\u{1b}[31m  -\u{1b}[0m"
    );
    assert_eq!(styled_marker(&Action::NoOp, true), "   ");
}

/// On a terminal a wait is one spinner line, counting, that is gone once the wait is over.
#[test]
fn on_a_terminal_a_wait_is_a_spinner_line_that_goes_when_it_is_over() {
    use crate::progress::Progress;
    let screen = indicatif::InMemoryTerm::new(8, 160);
    let terminal = Terminal::drawing_to(indicatif::ProgressDrawTarget::term_like(Box::new(
        screen.clone(),
    )));
    let subject = "Lambda function `auth-demo-secret`";
    terminal.waiting(
        subject,
        "it to settle (it is Pending)",
        Duration::from_secs(7),
        Some(Duration::from_secs(300)),
    );
    std::thread::sleep(Duration::from_millis(400));
    let shown = screen.contents();
    assert!(
        shown.contains(
            "Lambda function `auth-demo-secret`: waiting for it to settle (it is Pending), 7s of at most 300 s"
        ),
        "{shown:?}"
    );
    // The next report of the same wait updates the same line.
    terminal.waiting(
        subject,
        "it to settle (it is InProgress)",
        Duration::from_secs(12),
        None,
    );
    std::thread::sleep(Duration::from_millis(300));
    let shown = screen.contents();
    assert_eq!(shown.matches("waiting for").count(), 1, "{shown:?}");
    assert!(shown.contains("(it is InProgress)"), "{shown:?}");
    terminal.wait_over(subject, Duration::from_secs(13));
    let shown = screen.contents();
    assert!(!shown.contains("waiting for"), "{shown:?}");
}

/// On a terminal one line names what is in flight; it follows starts and ends, and is gone
/// when nothing is.
#[test]
fn on_a_terminal_one_line_names_what_is_in_flight() {
    use crate::progress::Progress;
    let screen = indicatif::InMemoryTerm::new(8, 160);
    let terminal = Terminal::drawing_to(indicatif::ProgressDrawTarget::term_like(Box::new(
        screen.clone(),
    )));
    let entry = |address: &str| {
        Entry::new(
            address,
            crate::plan::Kind::LambdaFunction,
            "f",
            Action::Create,
        )
    };
    for address in [
        "functions.a",
        "functions.b",
        "functions.c",
        "functions.d",
        "functions.e",
    ] {
        terminal.started(&entry(address));
    }
    std::thread::sleep(Duration::from_millis(300));
    let shown = screen.contents();
    assert!(
        shown.contains("applying functions.a, functions.b, functions.c and 2 more"),
        "{shown:?}"
    );
    terminal.applied(&entry("functions.a"), Duration::from_millis(1200));
    terminal.failed(&entry("functions.b"), Duration::from_millis(300));
    std::thread::sleep(Duration::from_millis(300));
    let shown = screen.contents();
    assert!(
        shown.contains("applying functions.c, functions.d, functions.e ("),
        "{shown:?}"
    );
    for address in ["functions.c", "functions.d", "functions.e"] {
        terminal.applied(&entry(address), Duration::from_millis(10));
    }
    let shown = screen.contents();
    assert!(!shown.contains("applying"), "{shown:?}");
}

#[test]
fn a_wait_says_what_for_how_long_and_until_when() {
    assert_eq!(
        waiting_line(
            "Lambda function `auth-demo-secret`",
            "it to settle (it is Pending)",
            Duration::from_millis(7400),
            Some(Duration::from_secs(300))
        ),
        "    ... Lambda function `auth-demo-secret`: waiting for it to settle (it is Pending), 7 s of at most 300 s"
    );
    assert_eq!(
        waiting_line(
            "API Gateway",
            "its quota (DeleteRestApi: 1 per 30 seconds)",
            Duration::ZERO,
            None
        ),
        "    ... API Gateway: waiting for its quota (DeleteRestApi: 1 per 30 seconds)"
    );
}

use crate::report::Incomplete;

#[test]
fn errors_become_json_documents_with_causes_and_what_was_left_undone() {
    let err = anyhow::anyhow!("AccessDenied").context("failed to create role `x-role`");
    assert_eq!(
        error_document(&err),
        serde_json::json!({ "error": {
            "code": "error",
            "message": "failed to create role `x-role`",
            "causes": ["AccessDenied"],
        }})
    );
    let err = anyhow::Error::new(Incomplete {
        done: 3,
        total: 5,
        failed: vec!["functions.extra".to_owned()],
        stopped: vec!["api".to_owned()],
        not_started: vec!["functions.other".to_owned()],
        first: anyhow::anyhow!("ResourceConflictException"),
    });
    let document = error_document(&err);
    assert_eq!(
        document["error"]["incomplete"],
        serde_json::json!({
            "done": 3, "total": 5, "failed": ["functions.extra"], "stopped": ["api"],
            "notStarted": ["functions.other"],
        })
    );
    assert_eq!(
        document["error"]["causes"],
        serde_json::json!(["ResourceConflictException"])
    );
    assert!(document["error"]["message"].as_str().unwrap().starts_with(
        "3 of 5 resources done; failed: functions.extra; stopped part-way: api; \
                 not started: functions.other"
    ));
}
