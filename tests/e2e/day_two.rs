//! The everyday commands around `up`: shell completions, and the commands people type from other
//! tools answered with ours.

use crate::support;

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
            .arg(&typo),
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
}
