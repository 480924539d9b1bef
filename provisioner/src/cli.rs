//! Command-line arguments: clap types only.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::aws::AwsOptions;

/// Stand up and reconcile a serverless auth stack on AWS from stack.yaml, with direct SDK calls.
#[derive(Debug, Parser)]
#[command(name = "provisioner", version, propagate_version = true)]
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
    /// AWS region (default: the standard AWS configuration chain).
    #[arg(long, global = true)]
    pub region: Option<String>,
    /// AWS profile from ~/.aws/config.
    #[arg(long, global = true)]
    pub profile: Option<String>,
    /// Send every AWS call to this endpoint (a local emulator); `AWS_ENDPOINT_URL` works too.
    #[arg(long = "endpoint-url", global = true)]
    pub endpoint_url: Option<String>,
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
    /// Check stack.yaml without calling AWS: prints nothing but problems (exit 0 valid, 1 not).
    Validate,
    /// Compile every function's crate and write target/lambda/<function>/bootstrap.zip.
    Build(BuildArgs),
}

#[derive(Debug, Clone, Args)]
pub struct BuildArgs {
    /// Print the packages as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}
