//! End-to-end tests: the real `provisioner` binary, the real handler code, and a local AWS
//! emulator (moto) that the harness starts once for the whole run and stops when the run ends.

mod artifacts;
mod authorizer;
mod browser;
mod build;
mod client_settings;
mod cors;
mod day_two;
mod emulator;
mod faults;
mod function;
mod handlers;
mod handlers_auth;
mod iam;
mod interrupt;
mod invoke;
mod least_privilege;
mod lock;
mod log_group;
mod operations;
mod permission;
mod plan_text;
mod planfile;
mod quotas;
mod reconcile;
mod role;
mod runtime_api;
mod scopes;
mod serve;
mod serve_watch;
mod support;
mod triggers;
mod trust;
mod user_pool;
mod validate;
mod workflow;
