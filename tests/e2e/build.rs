//! `provisioner build`: the repository's handlers compiled in release mode, packaged as deterministic zips
//! that pass the provided.al2023 checks; and those checks refusing what Lambda could not run.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use provisioner::package::{self, ElfProblem, PackageError};
use provisioner::spec::Architecture;

use crate::runtime_api::RuntimeApi;
use crate::support::{self, FUNCTIONS};

fn build_json() -> serde_json::Value {
    let ran = support::run(support::provisioner().args(["build", "--json"]));
    assert_eq!(
        ran.code,
        Some(0),
        "provisioner build failed:\n{}",
        ran.stderr
    );
    serde_json::from_str(&ran.stdout)
        .unwrap_or_else(|err| panic!("build --json printed no JSON ({err}):\n{}", ran.stdout))
}

/// One test, because the steps share one (slow) release build: build, check, rebuild, compare,
/// then run a packaged binary as Lambda would.
#[tokio::test]
async fn build_packages_checked_zips_that_are_identical_across_builds() {
    let first = build_json();
    let packages = first.as_array().expect("a list of packages");
    let names: Vec<&str> = packages
        .iter()
        .filter_map(|p| p["function"].as_str())
        .collect();
    assert_eq!(names, FUNCTIONS);

    let lambda_dir = support::repo_root().join("target/lambda");
    let mut first_zips = Vec::new();
    for name in FUNCTIONS {
        let zip_path = lambda_dir.join(name).join("bootstrap.zip");
        let zip =
            std::fs::read(&zip_path).unwrap_or_else(|err| panic!("{}: {err}", zip_path.display()));
        let listed = packages.iter().find(|p| p["function"] == name).unwrap();
        assert_eq!(listed["zipBytes"], zip.len());
        assert_eq!(listed["codeSha256"], package::code_sha256(&zip));

        // The zip holds exactly `bootstrap`, executable, and it is the checked binary.
        let mut binary = Vec::new();
        {
            let mut archive = zip::ZipArchive::new(std::io::Cursor::new(&zip)).unwrap();
            assert_eq!(archive.len(), 1, "{name}: one entry");
            let mut entry = archive.by_index(0).unwrap();
            assert_eq!(entry.name().unwrap(), "bootstrap");
            assert_eq!(
                entry.unix_mode().map(|m| m & 0o777),
                Some(0o755),
                "{name}: mode"
            );
            entry.read_to_end(&mut binary).unwrap();
        }
        let report = package::elf::check(&binary, Architecture::X86_64)
            .unwrap_or_else(|problem| panic!("{name}: {problem}"));
        assert!(
            report
                .libraries
                .iter()
                .all(|l| ["libc.so.6", "libm.so.6", "libgcc_s.so.1"].contains(&l.as_str())),
            "{name}: {:?}",
            report.libraries
        );
        assert_eq!(
            std::fs::read(lambda_dir.join(name).join("bootstrap")).unwrap(),
            binary
        );
        first_zips.push(zip);
    }

    // Package the same binaries again from scratch, into a directory of this test's own (other
    // tests deploy from target/lambda meanwhile): the same bytes, so the same CodeSha256, so `up`
    // will not redeploy unchanged code.
    let stack = support::repo_stack("build");
    let fresh = support::temp_dir("package-again");
    for (name, first_zip) in FUNCTIONS.iter().zip(&first_zips) {
        let function = &stack.functions[*name];
        let binary = support::repo_root()
            .join("target/release")
            .join(&function.binary);
        let again = package::package_function(name, function, &binary, &fresh).unwrap();
        let zip = std::fs::read(&again.zip).unwrap();
        assert!(
            zip == *first_zip,
            "{name}: bootstrap.zip differs between two packagings"
        );
        assert_eq!(again.code_sha256, package::code_sha256(first_zip));
    }
    // A second build reuses the zips of unchanged binaries: same answer.
    assert_eq!(build_json(), first);

    init_error_is_reported_to_the_runtime_api(&lambda_dir.join("sign-up/bootstrap"));
    packaged_sign_up_serves_events_and_never_logs_the_password(
        &lambda_dir.join("sign-up/bootstrap"),
    )
    .await;
}

/// A handler started without `USER_POOL_CLIENT_ID` posts `/runtime/init/error` and exits non-zero.
fn init_error_is_reported_to_the_runtime_api(bootstrap: &Path) {
    let api = RuntimeApi::start();
    let mut child = Command::new(bootstrap)
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", api.address.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "auth-demo-sign-up")
        .env("AWS_REGION", support::REGION)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let posted = api.next_posted(Duration::from_secs(30));
    let status = child.wait().unwrap();
    assert_eq!(posted.path, "/2018-06-01/runtime/init/error");
    assert!(
        posted.headers.contains(&(
            "lambda-runtime-function-error-type".to_owned(),
            "Runtime.InitError".to_owned()
        )),
        "{posted:?}"
    );
    let body: serde_json::Value = serde_json::from_str(&posted.body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({
            "errorType": "Runtime.InitError",
            "errorMessage": "environment variable `USER_POOL_CLIENT_ID` is not set: set it to the user pool app client id"
        })
    );
    assert!(
        !status.success(),
        "the handler must exit non-zero after an init error"
    );
}

/// The packaged sign-up binary, run as Lambda runs it, against the emulator's Cognito: a sign-up
/// answers 200 and a malformed body 400, and even at TRACE level the password is never logged.
async fn packaged_sign_up_serves_events_and_never_logs_the_password(bootstrap: &Path) {
    let ctx = crate::handlers::new_pool().await;
    let api = RuntimeApi::start();
    let dir = support::temp_dir("sign-up-logs");
    let (stdout, stderr) = (dir.join("stdout"), dir.join("stderr"));
    let mut child = Command::new(bootstrap)
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", api.address.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "auth-demo-sign-up")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_REGION", support::REGION)
        .env("AWS_ENDPOINT_URL", support::emulator())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("USER_POOL_CLIENT_ID", &ctx.client_id)
        .env("RUST_LOG", "trace")
        .stdout(std::fs::File::create(&stdout).unwrap())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .spawn()
        .unwrap();

    let password = format!("Sup3r!Secret-{}", support::unique("pw"));
    let mut event = support::fixture("apigw-rest-post-sign-up.json");
    event["body"] = serde_json::json!(
        serde_json::json!({ "username": support::unique("erin"), "password": password, "email": "erin@example.com" }).to_string()
    );
    api.invoke("request-1", &event);
    let first = api.next_posted(Duration::from_secs(30));
    event["body"] = serde_json::json!("not json");
    api.invoke("request-2", &event);
    let second = api.next_posted(Duration::from_secs(30));
    let _ = child.kill();
    let _ = child.wait();

    assert_eq!(
        first.path, "/2018-06-01/runtime/invocation/request-1/response",
        "{first:?}"
    );
    let first: serde_json::Value = serde_json::from_str(&first.body).unwrap();
    assert_eq!(first["statusCode"], 200, "{first}");
    assert_eq!(
        second.path, "/2018-06-01/runtime/invocation/request-2/response",
        "{second:?}"
    );
    let second: serde_json::Value = serde_json::from_str(&second.body).unwrap();
    assert_eq!(second["statusCode"], 400, "{second}");

    let logs =
        std::fs::read_to_string(&stdout).unwrap() + &std::fs::read_to_string(&stderr).unwrap();
    assert!(
        logs.contains("TRACE"),
        "TRACE logging was not on, so this check proves nothing:\n{logs}"
    );
    assert!(
        !logs.contains(&password),
        "the password appears in the handler's logs"
    );
}

/// A binary that needs a newer glibc than AL2023's: `arc4random` arrived in glibc 2.36 (this
/// machine's). The packaging check must refuse it, naming the symbol, the version and the fix.
#[test]
fn a_binary_needing_glibc_newer_than_al2023_is_refused() {
    let dir = support::temp_dir("glibc");
    let source = dir.join("new_glibc.c");
    std::fs::write(&source, "#include <stdlib.h>\n#include <stdio.h>\nint main(void) { printf(\"%u\\n\", arc4random()); return 0; }\n").unwrap();
    let binary = dir.join("bootstrap-src");
    let compiled = Command::new("cc")
        .arg("-o")
        .arg(&binary)
        .arg(&source)
        .status()
        .expect("a C compiler (`cc`) to build the probe binary");
    assert!(compiled.success());

    let stack = support::repo_stack("auth-demo");
    let function = &stack.functions["secret"];
    let out_dir = dir.join("target");
    let err = package::package_function("secret", function, &binary, &out_dir).unwrap_err();
    match &err {
        PackageError::Elf {
            problem: ElfProblem::GlibcTooNew { symbol, version },
            ..
        } => {
            assert_eq!(
                (symbol.as_str(), version.as_str()),
                ("arc4random", "GLIBC_2.36")
            );
        }
        other => panic!("expected a glibc error, got {other}"),
    }
    let message = err.to_string();
    assert!(message.contains("symbol `arc4random` needs GLIBC_2.36, newer than the GLIBC_2.34 of Lambda's provided.al2023"), "{message}");
    assert!(
        message.contains("hint: build on a system with glibc 2.34 or older"),
        "{message}"
    );
    assert!(
        !out_dir.join("lambda/secret/bootstrap.zip").exists(),
        "a refused binary must not be packaged"
    );
}

#[test]
fn an_arm64_function_fails_clearly_instead_of_uploading_an_x86_binary() {
    let dir = support::repo_root()
        .join("target/e2e-stacks")
        .join(support::unique("arm64"));
    std::fs::create_dir_all(&dir).unwrap();
    let text = std::fs::read_to_string(support::repo_root().join("stack.yaml"))
        .unwrap()
        .replace("crate: handlers/", "crate: ../../../handlers/")
        .replace(
            "    crate: ../../../handlers/secret\n",
            "    crate: ../../../handlers/secret\n    architecture: arm64\n",
        );
    std::fs::write(dir.join("stack.yaml"), text).unwrap();
    let ran = support::run(
        support::provisioner()
            .arg("build")
            .arg("--file")
            .arg(dir.join("stack.yaml")),
    );
    assert_eq!(ran.code, Some(1));
    assert_eq!(
        ran.stderr,
        "error: function `secret` is for `arm64`, but this machine builds only for x86_64\n\nhint: set `architecture: x86_64` in stack.yaml; cross-building (for example with cargo-zigbuild) is not supported yet\n"
    );
}
