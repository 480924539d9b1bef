//! Command-line arguments: clap types only.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::aws::AwsOptions;

/// The exit codes, as `--help` shows them (README.md has the same table).
pub const EXIT_CODES: &str = "\
Exit codes:
  0   success; for `diff`: live AWS matches stack.yaml
  1   error: invalid stack.yaml, a refusal (account, region, confirmation, a foreign resource), a failed build or AWS call
  2   `diff` only: live AWS differs from stack.yaml
  64  usage error: unknown flag or command, missing value, endpoint URL without a scheme, unknown region
  130 `up` or `down` interrupted (SIGINT, SIGTERM): what was done and what was not is printed; run again";

/// Stand up and reconcile a serverless auth stack on AWS from stack.yaml, with direct SDK calls.
#[derive(Debug, Parser)]
#[command(
    name = "provisioner",
    version,
    propagate_version = true,
    after_help = EXIT_CODES
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// The stack file.
    #[arg(
        short = 'f',
        long = "file",
        global = true,
        default_value = "stack.yaml",
        env = "PROVISIONER_FILE"
    )]
    pub file: PathBuf,
    /// Use this stack name instead of the file's `stack:` (for example one stack per CI branch).
    #[arg(long = "stack", global = true, env = "PROVISIONER_STACK")]
    pub stack: Option<String>,
    /// The environment of stack.yaml's `environments:` to use: its settings merged over the file,
    /// its stack named `<stack>-<env>` (unless `--stack` says otherwise). Needed when the file
    /// declares environments; `validate` without it checks every one.
    #[arg(
        long = "env",
        global = true,
        env = "PROVISIONER_ENV",
        value_name = "NAME"
    )]
    pub env: Option<String>,
    /// AWS region (default: the standard AWS configuration chain).
    #[arg(long, global = true)]
    pub region: Option<String>,
    /// AWS profile from ~/.aws/config.
    #[arg(long, global = true)]
    pub profile: Option<String>,
    /// Send every AWS call to this endpoint (a local emulator); `AWS_ENDPOINT_URL` works too.
    #[arg(long = "endpoint-url", global = true)]
    pub endpoint_url: Option<String>,
    /// Log every AWS call on stderr: operation, resource, status, duration, attempt, request id
    /// (`RUST_LOG` takes precedence, e.g. `RUST_LOG=provisioner=info,aws_smithy_runtime=debug`).
    #[arg(short = 'v', long, global = true)]
    pub verbose: bool,
    /// Colour the plan: `auto` on a terminal unless `NO_COLOR` is set; never in `--json`.
    #[arg(long, global = true, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
    /// For `diff`, `up` and `serve`: use the packages `provisioner build --out DIR` wrote instead
    /// of building (no cargo, no workspace needed; a missing or mismatched package is refused).
    #[arg(long, global = true, value_name = "DIR", env = "PROVISIONER_ARTIFACTS")]
    pub artifacts: Option<PathBuf>,
}

/// How the outputs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputsFormat {
    /// One JSON object (`apiUrl`, `region`, `userPoolId`, ...).
    Json,
    /// `NAME=value` lines (`API_URL`, `REGION`, `USER_POOL_ID`, ...), for a `.env` file.
    Dotenv,
    /// `export NAME='value'` lines, for `eval` or `source`.
    Shell,
}

/// How `diff` prints its plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// For people on a terminal (`+ ~ - -/+`, coloured there).
    Text,
    /// The plan as one JSON document.
    Json,
    /// GitHub-flavoured markdown, for a pull request comment or a CI job summary.
    Markdown,
}

/// When to colour the plan's markers (`+` green, `~` yellow, `-` red, `-/+` magenta).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Color {
    /// On a terminal, unless `NO_COLOR` is set.
    Auto,
    Always,
    Never,
}

impl GlobalArgs {
    pub fn aws(&self) -> AwsOptions {
        AwsOptions {
            region: self.region.clone(),
            profile: self.profile.clone(),
            endpoint_url: self.endpoint_url.clone(),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check stack.yaml without calling AWS (exit 0 valid, 1 not); `--json` for scripts.
    Validate(ValidateArgs),
    /// Compile every function's crate and write target/lambda/<binary>/bootstrap.zip.
    Build(BuildArgs),
    /// Show what `up` would change, from stack.yaml and live AWS (exit 0 no changes, 2 changes, 1 error).
    Diff(DiffArgs),
    /// Build the handlers and make live AWS match stack.yaml.
    Up(UpArgs),
    /// Delete everything this stack owns; the user pool is kept unless asked otherwise.
    Down(DownArgs),
    /// Run the stack's API on this machine: the real handler binaries, under the stage path, behind
    /// the pool's real authorizer keys; the stack must be up (Ctrl-C stops).
    Serve(ServeArgs),
    /// Show who holds the stack's lock, and remove it given its id (only when certain no `up` or
    /// `down` of the stack is running: a run on this host that died is taken over without this).
    Unlock(UnlockArgs),
    /// Print the IAM policy documents the identity running provisioner needs for this stack, as
    /// JSON: `plan` (for `diff`: reads only) and `apply` (for `up`, `down`, `unlock`, `adopt`),
    /// derived from the AWS operations each part of the tool declares.
    Policy(PolicyArgs),
    /// Take over a user pool or REST API that has the stack's name but not its ownership tag
    /// (a tag removed by hand): shows it, then tags it as the stack's, as `terraform import` does.
    Adopt(AdoptArgs),
    /// Print the deployed stack's outputs for a front end (API URL, region, pool and client ids)
    /// as JSON, a dotenv file (`--prefix VITE_`) or shell exports.
    Outputs(OutputsArgs),
    /// Run one function's handler once on this machine with an event (its environment resolved
    /// against the deployed stack): the response on stdout, its log on stderr, exit 1 on a
    /// function error.
    Invoke(InvokeArgs),
    /// Print a shell completion script: `provisioner completions bash > /etc/bash_completion.d/provisioner`,
    /// `zsh` into a directory of `$fpath` as `_provisioner`, `fish` into `~/.config/fish/completions/`.
    Completions(CompletionsArgs),
    /// Print a function's CloudWatch Logs, oldest first with their times; `--follow` keeps
    /// printing new ones until Ctrl-C.
    Logs(LogsArgs),
    /// Print the JSON Schema of stack.yaml (generated from the types the loader reads it with),
    /// for editors: the repository's stack.yaml names `stack.schema.json`.
    Schema,
}

#[derive(Debug, Clone, Args)]
pub struct LogsArgs {
    /// The function, by its name in stack.yaml.
    pub function: String,
    /// How far back: `30s`, `10m`, `2h`, `1d`.
    #[arg(long, default_value = "10m")]
    pub since: String,
    /// Keep printing new events (every 2 s) until Ctrl-C.
    #[arg(long)]
    pub follow: bool,
}

#[derive(Debug, Clone, Args)]
pub struct UnlockArgs {
    /// The lock's id, as `up` and `down` print it when they find the stack locked (and as this
    /// command prints it). Without it, `unlock` asks on a terminal and refuses elsewhere.
    pub lock_id: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct ValidateArgs {
    /// Print `{valid, file, stacks, diagnostics: [{file, line, column, severity, code, field,
    /// message, hint}]}` on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Args)]
pub struct CompletionsArgs {
    /// bash, zsh, fish, powershell or elvish.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// The commands people type from other tools, and ours that do it.
pub const OTHER_TOOLS_COMMANDS: &[(&str, &str, &str)] = &[
    ("destroy", "down", "Terraform's and CDK's `destroy`"),
    ("delete", "down", "SAM's `delete`"),
    ("remove", "down", "Serverless Framework's `remove`"),
    ("plan", "diff", "Terraform's `plan`"),
    ("apply", "up", "Terraform's `apply`"),
    (
        "deploy",
        "up",
        "CDK's, SAM's and Serverless Framework's `deploy`",
    ),
    ("output", "outputs", "Terraform's `output`"),
    ("import", "adopt", "Terraform's `import`"),
    ("force-unlock", "unlock", "Terraform's `force-unlock`"),
    (
        "synth",
        "diff",
        "CDK's `synth` (there is no template: `diff` shows what would change)",
    ),
    ("start-api", "serve", "SAM's `local start-api`"),
    (
        "local",
        "serve",
        "SAM's `local start-api` and `local invoke` (`serve`, `invoke`)",
    ),
];

#[derive(Debug, Clone, Args)]
pub struct OutputsArgs {
    /// `json`, `dotenv` (`NAME=value` lines) or `shell` (`export NAME='value'`).
    #[arg(long, value_enum, default_value_t = OutputsFormat::Json)]
    pub format: OutputsFormat,
    /// Put before each variable's name in `dotenv` and `shell` (`VITE_`, `NEXT_PUBLIC_`).
    #[arg(long, default_value = "")]
    pub prefix: String,
    /// Write to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<std::path::PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct DiffArgs {
    /// Print the plan as JSON on stdout (the same as `--format json`).
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// How to print the plan: `text`, `json`, or `markdown` (for a CI job summary).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Also save the plan, with what it was computed from, for `up --plan FILE`.
    #[arg(long, value_name = "FILE")]
    pub out: Option<std::path::PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct UpArgs {
    /// Print the result (outputs, changes, call counts) as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Apply without asking. Without a terminal (CI), `up` changes nothing unless this is given;
    /// on a terminal it asks before replacing or deleting.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Allow replacing this user pool or app client (its address, `userPools.users.clients.web`,
    /// or its logical name when no other pool or client has it), which deletes its users or
    /// changes its client id; or deleting an app client stack.yaml no longer declares; or a new
    /// pool while this one, no longer declared, keeps its users. Repeat for several.
    #[arg(long = "allow-replace", value_name = "ADDRESS")]
    pub allow_replace: Vec<String>,
    /// Apply exactly this plan, saved by `diff --out FILE` (and reviewed): refused, with nothing
    /// changed, if stack.yaml, the code or live AWS changed since. Needs no `--yes`.
    #[arg(long, value_name = "FILE")]
    pub plan: Option<std::path::PathBuf>,
    /// How many resources to change at once (each of the API's resources, routes and
    /// permissions counts as one; 1 changes one thing at a time).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
    /// How long to wait, in seconds, for a Lambda function to become Active or finish an update
    /// (a large function in a VPC can take minutes; Terraform waits up to 900).
    #[arg(long, value_name = "SECONDS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub settle_timeout: u64,
    /// How long to wait, in seconds, while another `up` or `down` of this stack holds its lock
    /// (0: refuse at once, naming the holder).
    #[arg(long, value_name = "SECONDS", default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=86400))]
    pub lock_timeout: u64,
}

#[derive(Debug, Clone, Args)]
pub struct DownArgs {
    /// Print the result as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Delete without asking. Without a terminal (CI), `down` deletes nothing unless this is given.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Also delete user pools (and every user in them), whatever their `removal` says.
    #[arg(long = "delete-data")]
    pub delete_data: bool,
    /// How many resources to delete at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
    /// How long to wait, in seconds, while another `up` or `down` of this stack holds its lock
    /// (0: refuse at once, naming the holder).
    #[arg(long, value_name = "SECONDS", default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=86400))]
    pub lock_timeout: u64,
}

#[derive(Debug, Clone, Args)]
pub struct PolicyArgs {
    /// Print only this one document (what `aws iam put-role-policy` takes).
    #[arg(long = "for", value_enum)]
    pub purpose: Option<PolicyFor>,
    /// The account the stack is deployed to (default: the caller's, from one
    /// `sts:GetCallerIdentity`); with `--region`, nothing is called.
    #[arg(long, value_name = "ID")]
    pub account: Option<String>,
    /// Print each document as a list of documents of at most 6,144 characters each (IAM's limit
    /// for a managed policy), to attach as several managed policies.
    #[arg(long)]
    pub split: bool,
}

/// Which policy `provisioner policy --for` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PolicyFor {
    /// `diff`: reads only (a pull request's job).
    Plan,
    /// `up`, `down`, `unlock`, `adopt`.
    Apply,
}

#[derive(Debug, Clone, Args)]
pub struct AdoptArgs {
    /// What to take over, by its address in stack.yaml: `userPools.<name>` or `api`.
    pub address: String,
    /// Which one, when several of that name exist (the pool's or the API's id).
    #[arg(long)]
    pub id: Option<String>,
    /// Take it over without asking. Without a terminal (CI), nothing is changed unless this is
    /// given.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// How long to wait, in seconds, while an `up` or `down` of this stack holds its lock.
    #[arg(long, value_name = "SECONDS", default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=86400))]
    pub lock_timeout: u64,
}

#[derive(Debug, Clone, Args)]
pub struct BuildArgs {
    /// Print the packages as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Also write the packages and their manifest to DIR, for `--artifacts DIR` on a runner
    /// without cargo.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct InvokeArgs {
    /// The function, by its name in stack.yaml.
    pub function: String,
    /// The event: a JSON file, or `-` for stdin. Without it, an API Gateway proxy event is built
    /// from `--method`, `--path` and `--body` (by default the function's route).
    #[arg(long, value_name = "FILE|-")]
    pub event: Option<PathBuf>,
    /// The request's method (default: the function's route's).
    #[arg(long, conflicts_with = "event")]
    pub method: Option<String>,
    /// The request's path, without the stage (default: the function's route's).
    #[arg(long, conflicts_with = "event")]
    pub path: Option<String>,
    /// The request's body.
    #[arg(long, conflicts_with = "event")]
    pub body: Option<String>,
    /// The claims of a token the route's authorizer accepted, as a JSON object
    /// (`{"sub":"...","email":"ada@example.com"}`): the event's `requestContext.authorizer.claims`,
    /// as API Gateway passes them to a function behind a Cognito authorizer.
    #[arg(long, value_name = "JSON", conflicts_with = "event")]
    pub claims: Option<String>,
    /// A token (from sign-in; `-`: from stdin) for the route's Cognito authorizer: checked as API
    /// Gateway checks it (signature against the pool's keys, issuer, expiry, client, scopes); its
    /// claims go into the event and the token into the header the authorizer reads. Refused: the
    /// function is not run.
    #[arg(long, value_name = "JWT|-", conflicts_with_all = ["event", "claims", "trigger"])]
    pub token: Option<String>,
    /// Build the event Cognito sends this trigger (`preSignUp`, `postConfirmation`, ...) instead
    /// of an API Gateway one: about `--username`, with `--email` and `--attribute`s.
    #[arg(long, conflicts_with_all = ["event", "method", "path", "body"],
          value_parser = clap::builder::PossibleValuesParser::new(crate::spec::Trigger::ALL.iter().map(|t| t.name())))]
    pub trigger: Option<String>,
    /// The user of a `--trigger` event.
    #[arg(long, requires = "trigger", default_value = "local-user")]
    pub username: String,
    /// The user's `email` attribute in a `--trigger` event.
    #[arg(long, requires = "trigger")]
    pub email: Option<String>,
    /// Another attribute of the user in a `--trigger` event, as NAME=VALUE (repeatable).
    #[arg(long = "attribute", value_name = "NAME=VALUE", requires = "trigger")]
    pub attributes: Vec<String>,
    /// Run the release build `up` deploys, not the workspace's `local` profile.
    #[arg(long)]
    pub release: bool,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 3000)]
    pub port: u16,
    /// How many processes each function may run at once; further requests wait for one.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
    /// Watch stack.yaml and the functions' crates: rebuild only the handlers a change affects
    /// (their next request runs the new code), re-read stack.yaml when it changes.
    #[arg(long)]
    pub watch: bool,
    /// Run the release build `up` deploys (slow to rebuild), not the workspace's `local` profile.
    #[arg(long, conflicts_with = "watch")]
    pub release: bool,
    /// When serve stops, print the functions' AWS calls (checked against their roles) as JSON on
    /// stdout.
    #[arg(long)]
    pub json: bool,
    /// Write the stack's outputs to this file once serving, as `provisioner outputs` does but with
    /// serve's local URL: a front end reads one file in both modes.
    #[arg(long, value_name = "FILE")]
    pub outputs: Option<std::path::PathBuf>,
    /// The outputs file's format (as `provisioner outputs --format`).
    #[arg(long, value_enum, default_value_t = OutputsFormat::Json, requires = "outputs")]
    pub outputs_format: OutputsFormat,
    /// Put before each variable's name in the outputs file (as `provisioner outputs --prefix`).
    #[arg(long, default_value = "", requires = "outputs")]
    pub outputs_prefix: String,
}
