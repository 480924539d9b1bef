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
