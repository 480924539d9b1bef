//! provisioner: stands up a serverless authentication stack (Cognito, IAM, Lambda, API Gateway) on
//! AWS from a declarative `stack.yaml`, with direct SDK calls and no CloudFormation.
//!
//! Code map (see ARCHITECTURE.md for the whole picture):
//! - [`spec`]: stack.yaml -> a validated [`spec::Stack`]. Pure.
//! - [`cargo`]: the cargo workspace: discovering members, building handler binaries.
//! - [`package`]: turning a binary into a deterministic, checked Lambda zip.
//! - [`aws`]: the SDK configuration shared by every command.
//! - [`kinds`]: one module per AWS resource kind (settings, pure diff, driver); [`plan`]: the
//!   actions a diff produces and the whole-stack plan.
//! - [`engine`]: observe live AWS, plan each resource, apply concurrently in dependency order.
//! - [`calls`]: counting AWS calls with an SDK interceptor; [`operations`]: the AWS operations
//!   each part declares it calls, with the IAM actions and resources they need.
//! - [`access`]: a handler's AWS call read for the IAM action and resource it needs, and decided
//!   against its function's role (`serve` and `invoke` check every call this way).
//! - [`lock`]: the stack's lock (a CloudWatch Logs group), so that `up` and `down` exclude each other.
//! - [`cli`], [`commands`]: argument parsing and one thin function per subcommand.
//! - [`output`]: the only module that prints.

pub mod access;
#[cfg(test)]
mod architecture;
pub mod artifacts;
pub mod aws;
pub mod base;
pub mod calls;
pub mod cargo;
pub mod cli;
pub mod commands;
pub mod dag;
pub mod engine;
pub mod function_logs;
pub mod interrupt;
pub mod kinds;
pub mod lock;
pub mod once;
pub mod operations;
pub mod output;
pub mod pace;
pub mod package;
pub mod plan;
pub mod planfile;
pub mod progress;
pub mod regions;
pub mod registry;
#[cfg(test)]
mod replay;
pub mod report;
pub mod retry;
pub mod serve;
pub mod spec;
#[cfg(test)]
mod testing;
pub mod usage;
