//! `provisioner validate`: load stack.yaml and report; no AWS call, no build. A file that declares
//! environments is checked for each of them unless `--env` names one. Says so when the file is
//! valid; `--json` gives the diagnostics (position, severity, code, message, hint) to scripts.

use serde_json::{Value, json};

use crate::cli::{GlobalArgs, ValidateArgs};
use crate::output;
use crate::spec::{Diagnostic, Severity, SpecError};

/// One environment's result (or the file's, without environments).
struct Outcome {
    env: Option<String>,
    /// The stack's name and what it declares, when valid.
    valid: Option<(String, String)>,
    diagnostics: Vec<Diagnostic>,
    more: usize,
    /// A failure that is not the file's content (it cannot be read, the workspace is broken).
    other: Option<anyhow::Error>,
}

fn outcome(global: &GlobalArgs, env: Option<String>) -> Outcome {
    let global = GlobalArgs {
        env: env.clone(),
        ..global.clone()
    };
    let mut outcome = Outcome {
        env,
        valid: None,
        diagnostics: Vec::new(),
        more: 0,
        other: None,
    };
    match super::load_stack(&global) {
        Ok(stack) => {
            let s = &stack.loaded.stack;
            outcome.valid = Some((s.name.clone(), declares(s)));
            outcome.diagnostics = stack.loaded.warnings;
        }
        Err(err) => match err.downcast_ref::<SpecError>() {
            Some(SpecError::Invalid { errors, more, .. }) => {
                outcome.diagnostics = errors.clone();
                outcome.more = *more;
            }
            Some(SpecError::NoEnvironment { error, .. }) => {
                outcome.diagnostics = vec![(**error).clone()];
            }
            None => outcome.other = Some(err),
        },
    }
    outcome
}

pub fn validate(global: &GlobalArgs, args: &ValidateArgs) -> anyhow::Result<i32> {
    let file = global.file.display().to_string();
    let first = outcome(global, global.env.clone());
    // A file with environments, none chosen: each of them.
    let environments: Vec<String> = match super::load_stack(global) {
        Err(err) => match err.downcast_ref::<SpecError>() {
            Some(SpecError::NoEnvironment { declared, .. }) => declared.clone(),
            _ => Vec::new(),
        },
        Ok(_) => Vec::new(),
    };
    let outcomes: Vec<Outcome> = if environments.is_empty() {
        vec![first]
    } else {
        environments
            .iter()
            .map(|env| outcome(global, Some(env.clone())))
            .collect()
    };
    let mut outcomes = outcomes;
    if let Some(err) = outcomes.iter_mut().find_map(|o| o.other.take()) {
        // Not the file's content: reported as any command's error.
        return Err(err);
    }
    let valid = outcomes.iter().all(|o| o.valid.is_some());
    if args.json {
        println!("{}", json_report(&file, &outcomes, valid));
    } else {
        text_report(&file, &outcomes);
    }
    Ok(if valid {
        super::exit::OK
    } else {
        super::exit::ERROR
    })
}

/// `1 user pool, 9 functions, 9 routes`.
fn declares(stack: &crate::spec::Stack) -> String {
    let count = |n: usize, one: &str| match n {
        1 => format!("1 {one}"),
        n => format!("{n} {one}s"),
    };
    let routes = stack.api.as_ref().map_or(0, |api| api.routes.len());
    [
        count(stack.user_pools.len(), "user pool"),
        count(stack.functions.len(), "function"),
        count(routes, "route"),
    ]
    .join(", ")
}

fn text_report(file: &str, outcomes: &[Outcome]) {
    for o in outcomes {
        let within = o
            .env
            .as_ref()
            .map(|env| format!(" (environment `{env}`)"))
            .unwrap_or_default();
        match &o.valid {
            Some((stack, declared)) => {
                output::warnings(file, &o.diagnostics);
                let warned = o.diagnostics.len();
                let warnings = match warned {
                    0 => String::new(),
                    1 => ", 1 warning".to_owned(),
                    n => format!(", {n} warnings"),
                };
                println!("`{file}` is valid{within}: stack `{stack}` ({declared}){warnings}");
            }
            None => {
                let errors: Vec<&Diagnostic> = o
                    .diagnostics
                    .iter()
                    .filter(|d| d.severity == Severity::Error)
                    .collect();
                let count = match errors.len() + o.more {
                    1 => "1 error".to_owned(),
                    n => format!("{n} errors"),
                };
                let mut text = format!("`{file}` is not a valid stack{within}: {count}");
                for d in &o.diagnostics {
                    text.push('\n');
                    text.push_str(&d.render(file));
                }
                if o.more > 0 {
                    text.push_str(&format!("\nand {} more", o.more));
                }
                output::error(&anyhow::anyhow!(text));
            }
        }
    }
}

fn json_report(file: &str, outcomes: &[Outcome], valid: bool) -> Value {
    let diagnostic = |env: &Option<String>, d: &Diagnostic| {
        json!({
            "file": file,
            "environment": env,
            "line": d.pos.map(|p| p.line),
            "column": d.pos.map(|p| p.col),
            "severity": match d.severity { Severity::Error => "error", Severity::Warning => "warning" },
            "code": d.code,
            "field": d.field,
            "message": d.message,
            "hint": d.hint,
        })
    };
    let diagnostics: Vec<Value> = outcomes
        .iter()
        .flat_map(|o| o.diagnostics.iter().map(|d| diagnostic(&o.env, d)))
        .collect();
    let stacks: Vec<Value> = outcomes
        .iter()
        .map(|o| {
            json!({
                "environment": o.env,
                "valid": o.valid.is_some(),
                "stack": o.valid.as_ref().map(|v| &v.0),
                "declares": o.valid.as_ref().map(|v| &v.1),
                "moreErrors": o.more,
            })
        })
        .collect();
    json!({ "valid": valid, "file": file, "stacks": stacks, "diagnostics": diagnostics })
}
