//! The everyday commands around `up`: shell completions, and the commands people type from other
//! tools answered with ours.

use crate::support;

/// clap's own checks of the command line's definition (a flag name used twice, say), for every
/// subcommand: a mistake there panics only when that subcommand is parsed.
#[test]
fn the_command_line_definition_is_consistent() {
    use clap::CommandFactory as _;
    provisioner::cli::Cli::command().debug_assert();
}

/// Every subcommand is in each shell's completions.
#[test]
fn completions_name_every_subcommand() {
    use clap::CommandFactory as _;
    let names: Vec<String> = provisioner::cli::Cli::command()
        .get_subcommands()
        .map(|c| c.get_name().to_owned())
        .filter(|name| name != "help")
        .collect();
    assert!(names.len() >= 12, "{names:?}");
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let ran = support::run(support::provisioner().args(["completions", shell]));
        assert_eq!(ran.code, Some(0), "{}", ran.stderr);
        for name in &names {
            assert!(
                ran.stdout.contains(name.as_str()),
                "{shell}'s completions lack `{name}`"
            );
        }
    }
    let ran = support::run(support::provisioner().args(["completions", "tcsh"]));
    assert_eq!(ran.code, Some(64), "{}", ran.stderr);
}

/// `destroy`, `plan`, `apply`, `output`: still a usage error (64), with ours named.
#[test]
fn other_tools_commands_are_usage_errors_naming_ours() {
    for (typed, ours) in [
        ("destroy", "down"),
        ("plan", "diff"),
        ("apply", "up"),
        ("output", "outputs"),
        ("deploy", "up"),
    ] {
        let ran = support::run(support::provisioner().arg(typed));
        assert_eq!(ran.code, Some(64), "{typed}: {}", ran.stderr);
        assert!(
            ran.stderr
                .contains(&format!("hint: `provisioner {ours}` does what")),
            "{typed}: {}",
            ran.stderr
        );
    }
    // An unknown command nobody else has: no hint, still 64.
    let ran = support::run(support::provisioner().arg("frobnicate"));
    assert_eq!(ran.code, Some(64));
    assert!(!ran.stderr.contains("hint: `provisioner"), "{}", ran.stderr);
}

/// `provisioner schema` is what the repository ships as `stack.schema.json` (generated, never
/// edited by hand), every stack file of the repository is valid by it (checked by Python's
/// `jsonschema`, installed beside the emulator), and a misspelt key is not.
#[test]
fn the_schema_is_generated_and_takes_every_example_stack_and_refuses_a_typo() {
    let root = support::repo_root();
    let ran = support::run(support::provisioner().arg("schema"));
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    let shipped = std::fs::read_to_string(root.join("stack.schema.json")).unwrap();
    assert_eq!(
        ran.stdout, shipped,
        "stack.schema.json is stale: run `provisioner schema > stack.schema.json`"
    );
    for file in ["stack.yaml", "triggers.yaml"] {
        let text = std::fs::read_to_string(root.join(file)).unwrap();
        assert!(
            text.starts_with("# yaml-language-server: $schema=./stack.schema.json\n"),
            "{file} names the schema for editors"
        );
    }
    let typo = support::write_stack(&[(
        "    removal: retain\n",
        "    removal: retain\n    selfSignup: true\n",
    )]);
    // Environments: an override sets only what it changes (a function's memory, without its
    // crate); a misspelt key in one is refused as in the file.
    let environments = "\nenvironments:\n  dev:\n  prod:\n    regions: [eu-west-1]\n    functions:\n      secret: { memory: 512 }\n    userPools:\n      users:\n        clients:\n          web: { readAttributes: [email] }\n";
    let with_environments =
        support::write_stack(&[("\napi:\n", &format!("{environments}\napi:\n"))]);
    let env_typo = support::write_stack(&[(
        "\napi:\n",
        "\nenvironments:\n  prod:\n    functions:\n      secret: { memroy: 512 }\n\napi:\n",
    )]);
    let script = r#"
import json, sys, yaml, jsonschema
schema = json.load(open(sys.argv[1]))
for path in sys.argv[2:]:
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(yaml.safe_load(open(path))))
    print(path, "valid" if not errors else "invalid: " + "; ".join(e.message for e in errors))
"#;
    let python = root.join(".venv/bin/python");
    let ran = support::run(
        std::process::Command::new(&python)
            .arg("-c")
            .arg(script)
            .arg(root.join("stack.schema.json"))
            .arg(root.join("stack.yaml"))
            .arg(root.join("triggers.yaml"))
            .arg(&typo)
            .arg(&with_environments)
            .arg(&env_typo),
    );
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    let lines: Vec<&str> = ran.stdout.lines().collect();
    assert!(lines[0].ends_with("stack.yaml valid"), "{}", ran.stdout);
    assert!(lines[1].ends_with("triggers.yaml valid"), "{}", ran.stdout);
    assert!(
        lines[2].contains("invalid") && lines[2].contains("selfSignup"),
        "{}",
        ran.stdout
    );
    assert!(lines[3].ends_with(" valid"), "{}", ran.stdout);
    assert!(
        lines[4].contains("invalid") && lines[4].contains("memroy"),
        "{}",
        ran.stdout
    );
    // The tool takes the first (each environment), and names the second's typo.
    for env in ["dev", "prod"] {
        let ran = support::run(
            support::provisioner()
                .args(["validate", "--env", env, "--file"])
                .arg(&with_environments),
        );
        assert_eq!(ran.code, Some(0), "{env}: {}", ran.stderr);
    }
    let ran = support::run(
        support::provisioner()
            .args(["validate", "--file"])
            .arg(&env_typo),
    );
    assert!(
        ran.code != Some(0)
            && ran
                .stderr
                .contains("`environments.prod.functions.secret`: unknown field `memroy`"),
        "{}",
        ran.stderr
    );
}

/// A stand-in for AWS on 127.0.0.1: STS says who the caller is (account 123456789012), every
/// other call is refused with the service's AccessDenied. Stops with the test process.
fn denying_aws() -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            stream
                .set_read_timeout(Some(std::time::Duration::from_secs(5)))
                .unwrap();
            let mut request = Vec::new();
            let mut buffer = [0u8; 8192];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buffer) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buffer[..n]),
                }
            }
            let head = String::from_utf8_lossy(&request).to_lowercase();
            let (status, content_type, body) = if head.contains("/sts/aws4_request") {
                ("200 OK", "text/xml", "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/ci</Arn><UserId>AIDAEXAMPLE</UserId><Account>123456789012</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>stub-sts</RequestId></ResponseMetadata></GetCallerIdentityResponse>".to_owned())
            } else if head.contains("x-amz-target:") {
                ("400 Bad Request", "application/x-amz-json-1.1", r#"{"__type":"AccessDeniedException","message":"User: arn:aws:iam::123456789012:user/ci is not authorized"}"#.to_owned())
            } else if head.contains("/iam/aws4_request") {
                ("403 Forbidden", "text/xml", "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>not authorized</Message></Error><RequestId>stub-iam</RequestId></ErrorResponse>".to_owned())
            } else {
                (
                    "403 Forbidden",
                    "application/json",
                    r#"{"message":"not authorized"}"#.to_owned(),
                )
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nx-amzn-RequestId: stub-1\r\nx-amzn-ErrorType: AccessDeniedException\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

/// Each `--json` error carries a stable `code` a pipeline can branch on (README's table).
#[test]
fn json_errors_carry_a_stable_code() {
    let stack = support::unique("codes");
    let error_of = |ran: &support::Ran| -> serde_json::Value {
        serde_json::from_str::<serde_json::Value>(&ran.stdout)
            .unwrap_or_else(|_| panic!("not JSON:\n{}\n{}", ran.stdout, ran.stderr))["error"]
            .clone()
    };
    let on = |file: &std::path::Path, args: &[&str]| {
        support::run(
            support::provisioner()
                .args(args)
                .arg("--file")
                .arg(file)
                .args(["--stack", &stack])
                .env("AWS_ENDPOINT_URL", support::emulator())
                .stdin(std::process::Stdio::null()),
        )
    };
    let file = support::write_stack(&[]);
    let cases: Vec<(&str, std::path::PathBuf, Vec<&str>)> = vec![
        (
            "invalidStack",
            support::write_stack(&[("    selfSignUp: true\n", "    selfSignup: true\n")]),
            vec!["down", "--json", "--yes"],
        ),
        (
            "accountNotAllowed",
            support::write_stack(&[(
                "userPools:\n",
                "accounts: [\"111122223333\"]\n\nuserPools:\n",
            )]),
            vec!["down", "--json", "--yes"],
        ),
        (
            "regionNotAllowed",
            support::write_stack(&[("userPools:\n", "regions: [eu-west-1]\n\nuserPools:\n")]),
            vec!["down", "--json", "--yes"],
        ),
        ("needsConfirmation", file.clone(), vec!["up", "--json"]),
    ];
    for (code, file, args) in &cases {
        let ran = on(file, args);
        assert_eq!(ran.code, Some(1), "{code}: {}", ran.stderr);
        assert_eq!(error_of(&ran)["code"], *code, "{}", ran.stdout);
    }

    crate::lock::hold_lock(&stack, "build-agent-7", 4242);
    let ran = on(&file, &["up", "--json", "--yes"]);
    assert_eq!(ran.code, Some(1), "{}", ran.stderr);
    assert_eq!(error_of(&ran)["code"], "locked", "{}", ran.stdout);
    let unlocked = on(
        &file,
        &["unlock", &crate::lock::lock_id("build-agent-7", 4242)],
    );
    assert_eq!(unlocked.code, Some(0), "{}", unlocked.stderr);

    // AWS refused a call: the service, the operation and AWS's own code.
    let ran = support::run(
        support::provisioner()
            .args(["down", "--json", "--yes", "--file"])
            .arg(&file)
            .args(["--stack", &stack, "--endpoint-url", &denying_aws()])
            .stdin(std::process::Stdio::null()),
    );
    assert_eq!(ran.code, Some(1), "{}", ran.stderr);
    let error = error_of(&ran);
    assert_eq!(error["code"], "awsError", "{error:#}");
    assert!(
        error["aws"]["code"]
            .as_str()
            .is_some_and(|c| c.starts_with("AccessDenied")),
        "{error:#}"
    );
    assert!(
        error["aws"]["operation"]
            .as_str()
            .is_some_and(|o| !o.is_empty() && o.chars().next().unwrap().is_ascii_uppercase()),
        "{error:#}"
    );

    // Credentials AWS refuses.
    let refusing = support::Recorder::start();
    let ran = support::run(
        support::provisioner()
            .args(["down", "--json", "--yes", "--file"])
            .arg(&file)
            .args(["--stack", &stack, "--endpoint-url", &refusing.url])
            .stdin(std::process::Stdio::null()),
    );
    assert_eq!(ran.code, Some(1), "{}", ran.stderr);
    assert_eq!(error_of(&ran)["code"], "credentials", "{}", ran.stdout);

    // Nothing answers at the endpoint.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let nowhere = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let ran = on(
        &file,
        &["down", "--json", "--yes", "--endpoint-url", &nowhere],
    );
    assert_eq!(ran.code, Some(1), "{}", ran.stderr);
    assert_eq!(error_of(&ran)["code"], "unreachable", "{}", ran.stdout);

    // Someone else's pool of the stack's name, without its tag, is in the way of `up`.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        aws_sdk_cognitoidentityprovider::Client::new(&support::sdk_config().await)
            .create_user_pool()
            .pool_name(format!("{stack}-users"))
            .send()
            .await
            .unwrap();
    });
    let ran = on(&file, &["up", "--json", "--yes"]);
    assert_eq!(ran.code, Some(1), "{}", ran.stderr);
    assert_eq!(error_of(&ran)["code"], "blocked", "{}", ran.stdout);

    // A usage error: 64, and the code says so.
    let ran = on(
        &file,
        &["down", "--json", "--yes", "--endpoint-url", "localhost:1"],
    );
    assert_eq!(ran.code, Some(64), "{}", ran.stderr);
    assert_eq!(error_of(&ran)["code"], "usage", "{}", ran.stdout);
}

/// `logs`: a function's events from the emulator's log group (written there as Lambda would),
/// oldest first with their times, within `--since`; `--follow` prints one written later; a
/// function with no log group yet is an error that says so.
#[test]
fn logs_prints_a_functions_events_and_follows_new_ones() {
    use std::io::{BufRead, BufReader};
    let stack = support::unique("logs");
    let file = support::write_stack(&[]);
    let group = format!("/aws/lambda/{stack}-secret");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let logs = runtime
        .block_on(async { aws_sdk_cloudwatchlogs::Client::new(&support::sdk_config().await) });
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let put = |stream: &str, events: &[(i64, &str)]| {
        runtime.block_on(async {
            let _ = logs
                .create_log_stream()
                .log_group_name(&group)
                .log_stream_name(stream)
                .send()
                .await;
            let mut request = logs
                .put_log_events()
                .log_group_name(&group)
                .log_stream_name(stream);
            for (at, message) in events {
                request = request.log_events(
                    aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
                        .timestamp(*at)
                        .message(*message)
                        .build()
                        .unwrap(),
                );
            }
            request.send().await.unwrap();
        })
    };
    let missing = support::on_emulator(&file, &stack, &["logs", "secret"]);
    assert_eq!(missing.code, Some(1), "{}", missing.stdout);
    assert!(
        missing.stderr.contains("does not exist"),
        "{}",
        missing.stderr
    );
    runtime.block_on(async {
        logs.create_log_group()
            .log_group_name(&group)
            .send()
            .await
            .unwrap()
    });
    put(
        "2026/12/05/[$LATEST]a",
        &[
            (now - 20 * 60_000, "START an old one"),
            (now - 60_000, "INFO secret answered 200"),
            (now - 30_000, "END RequestId: 1\n"),
        ],
    );
    let ran = support::on_emulator(&file, &stack, &["logs", "secret", "--since", "10m"]);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    let lines: Vec<&str> = ran.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", ran.stdout);
    assert!(
        lines[0].ends_with(" INFO secret answered 200"),
        "{}",
        ran.stdout
    );
    assert!(lines[1].ends_with(" END RequestId: 1"), "{}", ran.stdout);
    assert!(
        lines[0].starts_with("20") && lines[0].contains('T'),
        "{}",
        ran.stdout
    );
    let ran = support::on_emulator(&file, &stack, &["logs", "secret", "--since", "1h"]);
    assert_eq!(ran.stdout.lines().count(), 3, "{}", ran.stdout);
    let ran = support::on_emulator(&file, &stack, &["logs", "secret", "--since", "ten"]);
    assert_eq!(ran.code, Some(64), "{}", ran.stderr);

    // --follow: a later event appears.
    let mut child = support::provisioner()
        .args(["logs", "secret", "--follow", "--file"])
        .arg(&file)
        .args(["--stack", &stack])
        .env("AWS_ENDPOINT_URL", support::emulator())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let (sender, received) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    let first = received
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("the recent events");
    assert!(first.ends_with("INFO secret answered 200"), "{first}");
    put(
        "2026/12/05/[$LATEST]b",
        &[(now + 1_000, "INFO a new request")],
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut followed = false;
    while std::time::Instant::now() < deadline {
        match received.recv_timeout(std::time::Duration::from_secs(5)) {
            Ok(line) if line.ends_with("INFO a new request") => {
                followed = true;
                break;
            }
            _ => {}
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(followed, "--follow printed the new event");
}

/// `provisioner <args>` on a terminal (`script` gives it one), answering `answer`: (exit code,
/// what the terminal showed).
fn on_a_terminal(
    file: &std::path::Path,
    stack: &str,
    args: &[&str],
    answer: &str,
) -> (Option<i32>, String) {
    use std::io::Write;
    let command = format!(
        "{} {} --file {} --stack {stack}",
        env!("CARGO_BIN_EXE_provisioner"),
        args.join(" "),
        file.display()
    );
    let mut child = support::provisioner_command("script")
        .args(["-qec", &command, "/dev/null"])
        .env("AWS_ENDPOINT_URL", support::emulator())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The answer, once the question is asked (the terminal buffers it until read).
    child
        .stdin
        .take()
        .unwrap()
        .write_all(answer.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

/// On a terminal, `up` asks before a plan that grants or widens permissions (a new role, a
/// statement added), as CDK does, and goes ahead unasked with one that does not (a memory change).
#[test]
fn up_on_a_terminal_asks_before_granting_permissions() {
    let stack = support::unique("broaden");
    let file = support::write_stack(&[]);
    let (code, shown) = on_a_terminal(&file, &stack, &["up"], "no\n");
    assert_eq!(code, Some(1), "{shown}");
    assert!(
        shown.contains("This plan grants or widens permissions:")
            && shown.contains("+ functions.secret.role")
            && shown.contains("nothing was changed: the answer was not `yes`"),
        "{shown}"
    );
    let diff = support::on_emulator(&file, &stack, &["diff"]);
    assert_eq!(diff.code, Some(2), "nothing was made: {}", diff.stdout);
    let up = support::on_emulator(&file, &stack, &["up", "--yes"]);
    assert_eq!(up.code, Some(0), "{}", up.stderr);

    // A memory change grants nothing: applied without a question.
    let bigger = support::write_stack(&[(
        "    crate: handlers/secret\n",
        "    crate: handlers/secret\n    memory: 256\n",
    )]);
    let (code, shown) = on_a_terminal(&bigger, &stack, &["up"], "");
    assert_eq!(code, Some(0), "{shown}");
    assert!(!shown.contains("grants or widens"), "{shown}");

    // A statement added: asked, and applied on `yes`.
    let wider = support::write_stack(&[(
        "    crate: handlers/secret\n",
        "    crate: handlers/secret\n    memory: 256\n    allow:\n      - { actions: [cognito-idp:AdminGetUser], resources: \"${userPools.users.arn}\" }\n",
    )]);
    let (code, shown) = on_a_terminal(&wider, &stack, &["up"], "yes\n");
    assert_eq!(code, Some(0), "{shown}");
    assert!(
        shown.contains("This plan grants or widens permissions:")
            && shown.contains("~ functions.secret.role"),
        "{shown}"
    );
    let diff = support::on_emulator(&wider, &stack, &["diff"]);
    assert_eq!(diff.code, Some(0), "{}", diff.stdout);
    let down = support::on_emulator(&wider, &stack, &["down", "--yes", "--delete-data"]);
    assert_eq!(down.code, Some(0), "{}", down.stderr);
}

/// A bad `--stack` is the command line's mistake (64), named as the flag, not "stack.yaml is not
/// a valid stack".
#[test]
fn a_bad_stack_flag_is_a_usage_error_naming_the_flag() {
    let ran = support::run(support::provisioner().args(["--stack", "auth demo", "validate"]));
    assert_eq!(ran.code, Some(64), "{}", ran.stderr);
    assert!(
        ran.stderr
            .contains("`--stack`: `auth demo` is not a valid stack name")
            && !ran.stderr.contains("is not a valid stack:"),
        "{}",
        ran.stderr
    );
}
