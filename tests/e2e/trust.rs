//! What `provisioner` refuses, through the real binary: credentials as the AWS CLI resolves them,
//! account and region pins, no unconfirmed change without a terminal, usage errors that never read
//! as "changes", and unreachable endpoints named quickly instead of blamed on credentials.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::support::{self, Recorder};

/// `provisioner <args>` against `endpoint`, with stdin not a terminal.
fn run_at(endpoint: &str, args: &[&str]) -> support::Ran {
    support::run(
        support::provisioner()
            .args(args)
            .env("AWS_ENDPOINT_URL", endpoint),
    )
}

/// Two profiles, `first` and `second`, each with keys of its own, in files of this test's own.
fn profile_files() -> (PathBuf, PathBuf) {
    let dir = support::temp_dir("profiles");
    let config = dir.join("config");
    let credentials = dir.join("credentials");
    std::fs::write(
        &config,
        "[profile first]\nregion = us-east-1\n\n[profile second]\nregion = us-east-1\n",
    )
    .unwrap();
    std::fs::write(
        &credentials,
        "[first]\naws_access_key_id = AKIAFIRSTPROFILE0000\naws_secret_access_key = first-secret\n\n[second]\naws_access_key_id = AKIASECONDPROFILE000\naws_secret_access_key = second-secret\n\n[process]\ncredential_process = echo '{\"Version\": 1, \"AccessKeyId\": \"AKIAPROCESSPROFILE00\", \"SecretAccessKey\": \"process-secret\"}'\n\n[broken]\ncredential_process = false\n\n[slow]\ncredential_process = sleep 4 && echo '{\"Version\": 1, \"AccessKeyId\": \"AKIASLOWPROCESS00000\", \"SecretAccessKey\": \"slow-secret\"}'\n",
    )
    .unwrap();
    (config, credentials)
}

fn with_profiles(command: &mut std::process::Command, files: &(PathBuf, PathBuf)) {
    command
        .env("AWS_CONFIG_FILE", &files.0)
        .env("AWS_SHARED_CREDENTIALS_FILE", &files.1)
        .env("AWS_ACCESS_KEY_ID", "AKIAENVIRONMENT00000")
        .env("AWS_SECRET_ACCESS_KEY", "environment-secret");
}

#[test]
fn an_explicit_profile_wins_over_environment_credentials() {
    let files = profile_files();
    let file = support::write_stack(&[]);
    let signed_with = |profile: Option<&str>| {
        let aws = Recorder::start();
        let mut command = support::provisioner();
        command
            .args(["down", "--yes", "--file"])
            .arg(&file)
            .env("AWS_ENDPOINT_URL", &aws.url);
        with_profiles(&mut command, &files);
        if let Some(profile) = profile {
            command.args(["--profile", profile]);
        }
        let ran = support::run(&mut command);
        assert_eq!(ran.code, Some(1), "{}", ran.stderr);
        // The recorder answers as STS does to keys it does not know.
        assert!(
            ran.stderr.contains("AWS refused the credentials (InvalidClientTokenId: The security token included in the request is invalid.) (request id recorder-1)"),
            "{}",
            ran.stderr
        );
        aws.access_keys()
    };
    assert_eq!(signed_with(Some("second")), ["AKIASECONDPROFILE000"]);
    assert_eq!(signed_with(Some("first")), ["AKIAFIRSTPROFILE0000"]);
    // Profiles that get credentials elsewhere keep working through aws-config.
    assert_eq!(signed_with(Some("process")), ["AKIAPROCESSPROFILE00"]);
    // A `credential_process` slower than the first call's network bound (3 s an attempt): loaded
    // first, on its own bound, then the call is made with it.
    assert_eq!(signed_with(Some("slow")), ["AKIASLOWPROCESS00000"]);
    // A profile whose credentials cannot be loaded says so; it is not a network problem.
    let aws = Recorder::start();
    let mut command = support::provisioner();
    command
        .args(["diff", "--profile", "broken"])
        .env("AWS_ENDPOINT_URL", &aws.url);
    with_profiles(&mut command, &files);
    let ran = support::run(&mut command);
    assert_eq!(ran.code, Some(1), "{}", ran.stderr);
    // (The build starts alongside the session: its status line may come first.)
    assert!(
        ran.stderr
            .lines()
            .any(|line| line.starts_with("error: could not load AWS credentials: ")),
        "{}",
        ran.stderr
    );
    assert_eq!(ran.stderr.matches("error:").count(), 1, "{}", ran.stderr);
    assert!(!ran.stderr.contains("cannot reach"), "{}", ran.stderr);
    assert!(aws.heads().is_empty(), "a call was made: {:?}", aws.heads());
    // Without `--profile`, the environment's keys, as the AWS CLI does.
    assert_eq!(signed_with(None), ["AKIAENVIRONMENT00000"]);
}

#[test]
fn a_missing_profile_is_named_before_any_call() {
    let files = profile_files();
    let aws = Recorder::start();
    let mut command = support::provisioner();
    command
        .args(["diff", "--profile", "secnod"])
        .env("AWS_ENDPOINT_URL", &aws.url);
    with_profiles(&mut command, &files);
    let ran = support::run(&mut command);
    assert_eq!(ran.code, Some(64), "{}", ran.stderr);
    assert_eq!(
        ran.stderr,
        format!(
            "error: profile `secnod` is not in `{}` or `{}`\n\nhint: did you mean `second`?\n",
            files.0.display(),
            files.1.display()
        )
    );
    assert!(aws.heads().is_empty(), "a call was made: {:?}", aws.heads());

    // The same for a profile named by `AWS_PROFILE`.
    let mut command = support::provisioner();
    command.arg("diff").env("AWS_ENDPOINT_URL", &aws.url);
    with_profiles(&mut command, &files);
    let ran = support::run(command.env("AWS_PROFILE", "frist"));
    assert_eq!(ran.code, Some(64), "{}", ran.stderr);
    assert!(
        ran.stderr
            .starts_with("error: `AWS_PROFILE` is `frist`, a profile that is not in"),
        "{}",
        ran.stderr
    );
    assert!(aws.heads().is_empty(), "a call was made: {:?}", aws.heads());
}

/// Usage errors exit 64, never 2 (`diff`'s "changes"), and make no call.
#[test]
fn usage_errors_never_exit_2_and_call_nothing() {
    let aws = Recorder::start();
    let cases: [(&[&str], &str); 5] = [
        (&["diff", "--jsno"], "unexpected argument '--jsno'"),
        (&["dif"], "unrecognized subcommand 'dif'"),
        (
            &["up", "--concurrency"],
            "a value is required for '--concurrency",
        ),
        (
            &["diff", "--endpoint-url", "127.0.0.1:4566"],
            "error: `--endpoint-url` is `127.0.0.1:4566`, which is not an http(s) URL\n\nhint: did you mean `http://127.0.0.1:4566`? an endpoint needs its scheme\n",
        ),
        (
            &["diff", "--region", "us-esat-1"],
            "error: `--region` is `us-esat-1`, which is not an AWS region\n\nhint: did you mean `us-east-1`?\n",
        ),
    ];
    for (args, expected) in cases {
        let ran = run_at(&aws.url, args);
        assert_eq!(ran.code, Some(64), "{args:?}: {}", ran.stderr);
        assert!(ran.stderr.contains(expected), "{args:?}: {}", ran.stderr);
    }
    // The same check covers the region from the environment.
    let ran = support::run(
        support::provisioner()
            .arg("diff")
            .env("AWS_ENDPOINT_URL", &aws.url)
            .env("AWS_REGION", "eu-west-11"),
    );
    assert_eq!(ran.code, Some(64), "{}", ran.stderr);
    assert!(
        ran.stderr.contains(
            "is `eu-west-11`, which is not an AWS region\n\nhint: did you mean `eu-west-1`?"
        ),
        "{}",
        ran.stderr
    );
    assert!(aws.heads().is_empty(), "a call was made: {:?}", aws.heads());
    // `--help` still exits 0 and shows the table.
    let help = support::run(support::provisioner().arg("--help"));
    assert_eq!(help.code, Some(0));
    assert!(
        help.stdout.contains("Exit codes:\n  0   success"),
        "{}",
        help.stdout
    );
}

#[test]
fn an_unreachable_endpoint_is_named_without_blaming_credentials() {
    // Nothing listens: the port of a listener that was closed.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    let ran = run_at(&endpoint, &["down", "--yes"]);
    let took = started.elapsed();
    assert_eq!(ran.code, Some(1), "{}", ran.stderr);
    assert_eq!(
        ran.stderr,
        format!(
            "error: cannot reach AWS at `{endpoint}`: Connection refused (os error 111)\n\nhint: nothing listens there: check the endpoint URL, or start the emulator\n"
        )
    );
    assert!(!ran.stderr.contains("credentials"), "{}", ran.stderr);
    eprintln!(
        "unreachable endpoint refused in {:.2} s",
        took.as_secs_f64()
    );

    // An endpoint that accepts and hangs up at once is retried a bounded number of times.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    listener.set_nonblocking(true).unwrap();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let finished = done.clone();
    let counter = std::thread::spawn(move || {
        let mut accepted = 0;
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline && !finished.load(std::sync::atomic::Ordering::Relaxed) {
            match listener.accept() {
                Ok((stream, _)) => {
                    accepted += 1;
                    drop(stream);
                }
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
        accepted
    });
    let ran = run_at(&endpoint, &["down", "--yes"]);
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    assert_eq!(ran.code, Some(1), "{}", ran.stderr);
    assert!(
        ran.stderr
            .starts_with(&format!("error: cannot reach AWS at `{endpoint}`: ")),
        "{}",
        ran.stderr
    );
    assert!(!ran.stderr.contains("credentials"), "{}", ran.stderr);
    let accepted = counter.join().unwrap();
    assert!(
        (1..=3).contains(&accepted),
        "{accepted} connections for one command"
    );
}

/// stack.yaml with `line` added after `stack: auth-demo`.
fn pinned(line: &str) -> PathBuf {
    support::write_stack(&[("stack: auth-demo\n", &format!("stack: auth-demo\n{line}\n"))])
}

fn function_exists(stack: &str, function: &str) -> bool {
    let name = format!("{stack}-{function}");
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let lambda = aws_sdk_lambda::Client::new(&support::sdk_config().await);
        match lambda.get_function().function_name(&name).send().await {
            Ok(_) => true,
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                false
            }
            Err(err) => panic!("GetFunction {name}: {err:?}"),
        }
    })
}

fn on(file: &Path, stack: &str, args: &[&str]) -> support::Ran {
    support::on_emulator(file, stack, args)
}

/// A region pin refuses before any call; an account pin right after `sts:GetCallerIdentity`.
/// Without a terminal, `up` and `down` change nothing unless `--yes` is given.
#[test]
fn pins_and_confirmation_refuse_with_nothing_written() {
    let stack = support::unique("trust");
    let plain = support::write_stack(&[]);

    // A region pin that does not list the emulator's region: not even the identity is asked.
    let aws = Recorder::start();
    let eu_only = pinned("regions: [eu-west-1]");
    let ran = support::run(
        support::provisioner()
            .args(["up", "--yes", "--file"])
            .arg(&eu_only)
            .args(["--stack", &stack])
            .env("AWS_ENDPOINT_URL", &aws.url),
    );
    assert_eq!(ran.code, Some(1), "{}", ran.stderr);
    assert!(ran.stderr.ends_with(&format!(
        "error: stack `{stack}` may be deployed only to eu-west-1 (`regions:` in stack.yaml), not to us-east-1; nothing was called\n\nhint: pass `--region eu-west-1`, or add `us-east-1` to `regions:`\n"
    )), "{}", ran.stderr);
    assert!(aws.heads().is_empty(), "a call was made: {:?}", aws.heads());

    // An account pin that does not list the emulator's account: diff, up and down refuse.
    let staging = pinned("accounts: [\"111111111111\"]");
    let refusal = format!(
        "error: stack `{stack}` may be deployed only to account 111111111111 (`accounts:` in stack.yaml), but the credentials are of account 123456789012 (arn:aws:sts::123456789012:user/moto); nothing was read or changed\n\nhint: use credentials of an allowed account (`--profile`), or add 123456789012 to `accounts:` if this account is meant\n"
    );
    for args in [
        &["diff"][..],
        &["up", "--yes"],
        &["down", "--yes"],
        &["serve", "--port", "0"],
    ] {
        let ran = on(&staging, &stack, args);
        assert_eq!(ran.code, Some(1), "{args:?}: {}", ran.stderr);
        assert!(ran.stderr.ends_with(&refusal), "{args:?}: {}", ran.stderr);
    }
    assert!(
        !function_exists(&stack, "secret"),
        "the refused up created the function"
    );

    // Without a terminal and without --yes, `up` on a cold stack creates nothing.
    let ran = on(&plain, &stack, &["up"]);
    assert_eq!(ran.code, Some(1), "{}", ran.stderr);
    assert!(ran.stderr.ends_with(
        "error: refusing to change AWS without confirmation: there is no terminal to ask on, and `--yes` was not given; nothing was changed\n\nhint: review the plan above (or `provisioner diff`), then run `provisioner up --yes`\n"
    ), "{}", ran.stderr);
    assert!(
        !function_exists(&stack, "secret"),
        "the unconfirmed up created the function"
    );

    // A pin that lists the account (and the region) lets it through; the plan names the caller.
    let allowed = pinned("accounts: [\"111111111111\", \"123456789012\"]\nregions: [us-east-1]");
    let ran = on(&allowed, &stack, &["up", "--yes"]);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    assert!(
        ran.stderr.contains(&format!(
            "Stack `{stack}` in us-east-1 (account 123456789012, as arn:aws:sts::123456789012:user/moto):"
        )),
        "{}",
        ran.stderr
    );
    assert!(function_exists(&stack, "secret"));
    // On the emulator, the URL AWS would give answers nothing: `up` says where to call the API.
    assert!(
        ran.stderr
            .contains("`provisioner serve` runs it here, at http://127.0.0.1:3000/prod/"),
        "{}",
        ran.stderr
    );

    // A no-op `up` needs no confirmation: there is nothing to confirm.
    let ran = on(&plain, &stack, &["up"]);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);

    // `down` without --yes deletes nothing; the account pin refuses it too; with --yes it runs.
    let ran = on(&plain, &stack, &["down", "--delete-data"]);
    assert_eq!(ran.code, Some(1), "{}", ran.stderr);
    assert!(
        ran.stderr.contains("run `provisioner down --yes`"),
        "{}",
        ran.stderr
    );
    assert!(
        function_exists(&stack, "secret"),
        "the unconfirmed down deleted the function"
    );
    let ran = on(&staging, &stack, &["down", "--yes", "--delete-data"]);
    assert_eq!(ran.code, Some(1), "{}", ran.stderr);
    assert!(
        function_exists(&stack, "secret"),
        "the refused down deleted the function"
    );
    let ran = on(&plain, &stack, &["down", "--yes", "--delete-data"]);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    assert!(!function_exists(&stack, "secret"));
}

/// `-v` logs each AWS call on stderr with what AWS support asks for; `RUST_LOG` takes over.
#[test]
fn verbose_logs_every_call_with_its_request_id() {
    let stack = support::unique("verbose");
    let file = support::write_stack(&[]);
    let ran = on(&file, &stack, &["diff", "-v"]);
    assert_eq!(ran.code, Some(2), "{}", ran.stderr);
    let calls: Vec<&str> = ran
        .stderr
        .lines()
        .filter(|l| l.contains("provisioner::aws:"))
        .collect();
    let line = |needle: &str| {
        calls
            .iter()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no `{needle}` in:\n{}", ran.stderr))
            .to_owned()
    };
    assert!(line("STS.GetCallerIdentity -> 200 in ").contains("(attempt 1, request id "));
    let role = line(&format!(
        "IAM.GetRole RoleName=use1-{stack}-sign-up -> 404 in "
    ));
    assert!(!role.contains("request id -)"), "{role}");
    line(&format!(
        "Lambda.GetFunction /2015-03-31/functions/{stack}-secret -> 404"
    ));
    // Never a credential.
    assert!(!ran.stderr.contains("testing"), "{}", ran.stderr);

    // Without -v, nothing is logged; RUST_LOG chooses for itself.
    let quiet = on(&file, &stack, &["diff"]);
    assert!(
        !quiet.stderr.contains("provisioner::aws:"),
        "{}",
        quiet.stderr
    );
    let ran = support::run(
        support::provisioner()
            .args(["diff", "--file"])
            .arg(&file)
            .args(["--stack", &stack])
            .env("AWS_ENDPOINT_URL", support::emulator())
            .env("RUST_LOG", "provisioner::aws=info"),
    );
    assert!(
        ran.stderr.contains("STS.GetCallerIdentity -> 200"),
        "{}",
        ran.stderr
    );
}

/// The plan is coloured on request (or on a terminal), never in JSON or when piped.
#[test]
fn the_plan_is_coloured_only_when_asked_and_never_in_json() {
    let stack = support::unique("colour");
    let file = support::write_stack(&[]);
    let escape = '\u{1b}';
    let coloured = on(&file, &stack, &["diff", "--color", "always"]);
    assert_eq!(coloured.code, Some(2), "{}", coloured.stderr);
    assert!(
        coloured.stdout.contains(&format!(
            "{escape}[1m{escape}[32m  +{escape}[0m userPools.users"
        )),
        "{}",
        coloured.stdout
    );
    // Piped (as here), `auto` does not colour; `--json` never does.
    let piped = on(&file, &stack, &["diff"]);
    assert!(!piped.stdout.contains(escape), "{}", piped.stdout);
    let json = on(&file, &stack, &["diff", "--json", "--color", "always"]);
    assert!(!json.stdout.contains(escape), "{}", json.stdout);
    serde_json::from_str::<serde_json::Value>(&json.stdout).expect("JSON");
}

/// A `credential_process` (aws-vault, granted: perhaps asking for an MFA code) runs once per
/// command: the first call's load and every client after it share one resolution.
#[test]
fn a_credential_process_runs_once_per_command() {
    let dir = support::temp_dir("counting");
    let runs = dir.join("runs");
    let config = dir.join("config");
    let credentials = dir.join("credentials");
    std::fs::write(&config, "[profile counting]\nregion = us-east-1\n").unwrap();
    std::fs::write(
        &credentials,
        format!(
            "[counting]\ncredential_process = echo run >> {} && echo '{{\"Version\": 1, \"AccessKeyId\": \"AKIACOUNTINGPROFILE0\", \"SecretAccessKey\": \"counting-secret\"}}'\n",
            runs.display()
        ),
    )
    .unwrap();
    let file = support::write_stack(&[]);
    let ran = support::run(
        support::provisioner()
            .args(["diff", "--profile", "counting", "--file"])
            .arg(&file)
            .args(["--stack", &support::unique("counting")])
            .env("AWS_ENDPOINT_URL", support::emulator())
            .env("AWS_CONFIG_FILE", &config)
            .env("AWS_SHARED_CREDENTIALS_FILE", &credentials),
    );
    assert_eq!(ran.code, Some(2), "a plan of changes: {}", ran.stderr);
    let count = std::fs::read_to_string(&runs).unwrap().lines().count();
    assert_eq!(count, 1, "credential_process ran {count} times");
}
