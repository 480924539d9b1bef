//! The only module that prints. stdout carries data (reports, JSON); progress, warnings and errors
//! go to stderr.

use std::io::Write;

use std::time::Duration;

use crate::package::Package;
use crate::plan::{Action, Entry, Plan};
use crate::report::{DownReport, Outputs, UpReport};
use crate::spec::Diagnostic;

static COLOR: std::sync::OnceLock<crate::cli::Color> = std::sync::OnceLock::new();

/// How `--color` was given; set once at start.
pub fn set_color(choice: crate::cli::Color) {
    let _ = COLOR.set(choice);
}

/// Whether to colour what goes to a stream that is (`terminal`) or is not a terminal. An explicit
/// `--color` wins over `NO_COLOR` (no-color.org: command-line arguments override it).
fn use_color(terminal: bool) -> bool {
    match COLOR.get().copied().unwrap_or(crate::cli::Color::Auto) {
        crate::cli::Color::Always => true,
        crate::cli::Color::Never => false,
        crate::cli::Color::Auto => {
            terminal
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::env::var_os("TERM").is_none_or(|t| t != "dumb")
        }
    }
}

/// The marker of `action`, right-aligned in three columns, coloured when `color`.
fn styled_marker(action: &Action, color: bool) -> String {
    let text = format!("{:>3}", marker(action));
    if !color {
        return text;
    }
    let style = match action {
        Action::Create => anstyle::AnsiColor::Green,
        Action::Update { .. } => anstyle::AnsiColor::Yellow,
        Action::Replace { .. } => anstyle::AnsiColor::Magenta,
        Action::Delete => anstyle::AnsiColor::Red,
        Action::NoOp => return text,
    };
    let style = anstyle::Style::new().fg_color(Some(style.into())).bold();
    format!("{style}{text}{style:#}")
}

/// A JSON document on stdout (data), pretty, with a final newline.
pub fn json(value: &serde_json::Value) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

/// A progress line on stderr.
pub fn status(message: &str) {
    eprintln!("{message}");
}

/// What a function returned to `invoke`, on stdout: pretty JSON when it is JSON.
pub fn invoke_response(body: &[u8]) {
    let mut out = std::io::stdout().lock();
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(value) => {
            let _ = serde_json::to_writer_pretty(&mut out, &value);
            let _ = writeln!(out);
        }
        Err(_) => {
            let _ = out.write_all(body);
            let _ = writeln!(out);
        }
    }
}

/// A warning about the run (not about stack.yaml), on stderr.
pub fn warning(message: &str) {
    eprintln!("warning: {message}");
}

/// Warnings from loading stack.yaml, on stderr.
pub fn warnings(file: &str, warnings: &[Diagnostic]) {
    for warning in warnings {
        eprintln!("{}", warning.render(file));
    }
}

/// The final error of a run, on stderr, with its whole chain of causes, and AWS's request id
/// when AWS answered it.
pub fn error(err: &anyhow::Error) {
    match crate::aws::request_id(err) {
        Some(id) if !err.to_string().contains(&id) && !format!("{err:#}").contains(&id) => {
            eprintln!("error: {err:#} (AWS request id {id})")
        }
        _ => eprintln!("error: {err:#}"),
    }
    if let Some(hint) = hint(err) {
        eprintln!("  hint: {hint}");
    }
}

/// What to do about an error whose message alone does not say it.
pub(crate) fn hint(err: &anyhow::Error) -> Option<&'static str> {
    let refused = err
        .chain()
        .filter_map(|cause| cause.downcast_ref::<crate::aws::Answer>())
        .any(crate::aws::Answer::is_access_denied);
    refused.then_some(
        "AWS refused the identity running provisioner the action and resource it names; `provisioner policy` prints the IAM policy this stack needs (`--for plan` for `diff` alone)",
    )
}

/// A failed run of a command asked for `--json`: the error as JSON on stdout (the same error also
/// goes to stderr), so a pipeline reading stdout gets a document either way:
/// `{"error": {"message", "causes": [...], "incomplete"?: {"done", "total", "failed", "notStarted"}}}`.
pub fn error_json(err: &anyhow::Error) {
    let mut out = std::io::stdout().lock();
    let _ = serde_json::to_writer_pretty(&mut out, &error_document(err));
    let _ = writeln!(out);
}

/// Built packages: a table (or JSON) on stdout.
pub fn packages(packages: &[Package], json: bool) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, packages)?;
        writeln!(out)?;
        return Ok(());
    }
    let width = packages.iter().map(|p| p.function.len()).max().unwrap_or(0);
    for package in packages {
        writeln!(
            out,
            "{:<width$}  {:>9}  {}  (needs {})",
            package.function,
            human_bytes(package.zip_bytes),
            package.zip.display(),
            package
                .max_glibc
                .as_deref()
                .unwrap_or("no glibc symbol versions"),
        )?;
    }
    Ok(())
}

/// Terraform's markers: `+` create, `~` update, `-/+` replace, `-` delete.
pub fn marker(action: &Action) -> &'static str {
    match action {
        Action::Create => "+",
        Action::Update { .. } => "~",
        Action::Replace { .. } => "-/+",
        Action::Delete => "-",
        Action::NoOp => " ",
    }
}

fn verb(action: &Action) -> &'static str {
    match action {
        Action::Create => "created",
        Action::Update { .. } => "updated",
        Action::Replace { .. } => "replaced",
        Action::Delete => "deleted",
        Action::NoOp => "unchanged",
    }
}

/// A question on stderr, before the answer is read from stdin.
pub fn prompt(question: &str) -> std::io::Result<()> {
    let mut err = std::io::stderr().lock();
    write!(err, "{question} Only `yes` is accepted: ")?;
    err.flush()
}

mod errors;
pub mod outputs;
pub use errors::{error_code, error_document};
mod terminal;
pub use terminal::Terminal;
#[cfg(test)]
use terminal::waiting_line;

/// One row of a plan's body, as the text and the markdown plan both show it.
enum Row<'p> {
    /// A resource: its action's marker, then address, kind and name, aligned.
    Entry {
        action: &'p Action,
        rest: String,
    },
    /// An attribute, a field change or a note under its resource, indented.
    Detail(String),
    Blocker(&'p str),
    Blank,
}

/// The body of a plan, from the plan value: changing entries (and entries with a note), aligned,
/// each with its details; then the blockers.
fn rows(plan: &Plan) -> Vec<Row<'_>> {
    let shown: Vec<&Entry> = plan
        .entries
        .iter()
        .filter(|e| e.action != Action::NoOp || e.note.is_some())
        .collect();
    let width = shown.iter().map(|e| e.address.len()).max().unwrap_or(0);
    let kind_width = shown.iter().map(|e| e.kind.name().len()).max().unwrap_or(0);
    let mut rows = Vec::new();
    if !shown.is_empty() {
        rows.push(Row::Blank);
    }
    for entry in &shown {
        rows.push(Row::Entry {
            action: &entry.action,
            rest: format!(
                "{:<width$}  {:<kind_width$}  {}",
                entry.address, entry.kind, entry.name
            ),
        });
        for attribute in &entry.attributes {
            rows.push(Row::Detail(format!(
                "      {}: {}",
                attribute.field, attribute.value
            )));
        }
        if let Action::Update { changes } | Action::Replace { changes } = &entry.action {
            for change in changes {
                let forces = if change.forces_replacement {
                    "   # forces replacement"
                } else {
                    ""
                };
                rows.push(Row::Detail(format!(
                    "      {}: {} -> {}{forces}",
                    change.field, change.live, change.desired
                )));
            }
        }
        if let Some(note) = &entry.note {
            rows.push(Row::Detail(format!("      # {note}")));
        }
    }
    for blocker in &plan.blockers {
        rows.push(Row::Blank);
        rows.push(Row::Blocker(blocker));
    }
    rows
}

/// The plan as GitHub-flavoured markdown: a heading, the summary, the blockers, and the text plan
/// in a `diff` block (markers in the first column, so `+` shows green and `-` red).
fn write_plan_markdown(out: &mut impl Write, plan: &Plan) -> std::io::Result<()> {
    writeln!(
        out,
        "### Plan for stack `{}` in {} (account {})\n",
        plan.stack, plan.region, plan.account
    )?;
    let s = plan.summary;
    if s.is_empty() {
        writeln!(out, "**No changes**: live AWS matches stack.yaml.")?;
    } else {
        writeln!(
            out,
            "**Plan: {} to create, {} to update, {} to replace, {} to delete.**",
            s.create, s.update, s.replace, s.delete
        )?;
    }
    for blocker in &plan.blockers {
        writeln!(out, "\n> **Blocked:** {}", blocker.replace('\n', " "))?;
    }
    // The text plan's rows, with each marker in the first column.
    let lines: Vec<String> = rows(plan)
        .into_iter()
        .map(|row| match row {
            Row::Entry { action, rest } => format!("{:<3} {rest}", marker(action)),
            Row::Detail(detail) => detail,
            Row::Blocker(blocker) => format!("! {}", blocker.replace("\n  ", "\n")),
            Row::Blank => String::new(),
        })
        .collect();
    let body = lines.join("\n");
    if !body.trim().is_empty() {
        writeln!(
            out,
            "\n<details open><summary>Changes</summary>\n\n```diff\n{}\n```\n\n</details>",
            body.trim_matches('\n')
        )?;
    }
    Ok(())
}

/// Writes the human form of a plan: changing entries (and entries with a note), aligned, then
/// one summary line. `verb` names the command in the summary (`Plan`, `Down`).
fn write_plan(out: &mut impl Write, plan: &Plan, color: bool) -> std::io::Result<()> {
    writeln!(
        out,
        "Stack `{}` in {} (account {}, as {}):",
        plan.stack, plan.region, plan.account, plan.caller
    )?;
    for row in rows(plan) {
        match row {
            Row::Entry { action, rest } => {
                writeln!(out, "  {} {rest}", styled_marker(action, color))?
            }
            Row::Detail(detail) => writeln!(out, "  {detail}")?,
            Row::Blocker(blocker) => writeln!(out, "  ! {blocker}")?,
            Row::Blank => writeln!(out)?,
        }
    }
    writeln!(out)?;
    let s = plan.summary;
    if s.is_empty() {
        writeln!(out, "No changes: live AWS matches stack.yaml.")?;
    } else {
        writeln!(
            out,
            "Plan: {} to create, {} to update, {} to replace, {} to delete.",
            s.create, s.update, s.replace, s.delete
        )?;
    }
    Ok(())
}

/// A plan on stdout: human, or JSON with a stable shape.
pub fn plan(plan: &Plan, json: bool) -> anyhow::Result<()> {
    plan_as(plan, if json { Format::Json } else { Format::Text })
}

pub use crate::cli::Format;

/// The plan on stdout, in `format`.
pub fn plan_as(plan: &Plan, format: Format) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if format == Format::Markdown {
        write_plan_markdown(&mut out, plan)?;
        return Ok(());
    }
    let json = format == Format::Json;
    if json {
        serde_json::to_writer_pretty(&mut out, plan)?;
        writeln!(out)?;
    } else {
        use std::io::IsTerminal;
        let color = use_color(std::io::stdout().is_terminal());
        write_plan(&mut out, plan, color)?;
    }
    Ok(())
}

/// A plan on stderr (for `up`/`down`, whose stdout carries the result).
pub fn plan_to_stderr(plan: &Plan) -> anyhow::Result<()> {
    use std::io::IsTerminal;
    let color = use_color(std::io::stderr().is_terminal());
    write_plan(&mut std::io::stderr().lock(), plan, color)?;
    Ok(())
}

/// The outputs as (name, value), named as stack.yaml's references name them.
fn output_lines(outputs: &Outputs) -> Vec<(String, String)> {
    let mut lines = Vec::new();
    if let Some(url) = &outputs.api_url {
        lines.push(("apiUrl".to_owned(), url.clone()));
    }
    if let Some(id) = &outputs.api_id {
        lines.push(("apiId".to_owned(), id.clone()));
    }
    for (name, pool) in &outputs.user_pools {
        lines.push((format!("userPools.{name}.id"), pool.id.clone()));
        lines.push((format!("userPools.{name}.arn"), pool.arn.clone()));
        for (client, id) in &pool.clients {
            lines.push((format!("userPools.{name}.clients.{client}.id"), id.clone()));
        }
    }
    lines
}

fn write_outputs(out: &mut impl Write, outputs: &Outputs) -> std::io::Result<()> {
    let lines = output_lines(outputs);
    if lines.is_empty() {
        return Ok(());
    }
    writeln!(out, "Outputs:")?;
    let width = lines.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
    for (name, value) in lines {
        writeln!(out, "  {name:<width$} = {value}")?;
    }
    Ok(())
}

/// The result of `up` on stdout.
pub fn up_report(report: &UpReport, json: bool) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, report)?;
        writeln!(out)?;
        return Ok(());
    }
    let s = report.summary;
    writeln!(
        out,
        "Applied: {} created, {} updated, {} replaced, {} deleted in {:.1}s ({} AWS calls: {} reads, {} writes).",
        s.create,
        s.update,
        s.replace,
        s.delete,
        report.seconds,
        report.calls.reads + report.calls.writes,
        report.calls.reads,
        report.calls.writes
    )?;
    write_outputs(&mut out, &report.outputs)?;
    Ok(())
}

/// The result of `down` on stdout.
pub fn down_report(report: &DownReport, json: bool) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, report)?;
        writeln!(out)?;
        return Ok(());
    }
    writeln!(
        out,
        "Deleted {} resources in {:.1}s.",
        report.deleted.len(),
        report.seconds
    )?;
    for entry in &report.retained {
        writeln!(
            out,
            "Retained {} ({}): {}",
            entry.address,
            entry.name,
            entry.note.as_deref().unwrap_or("")
        )?;
    }
    Ok(())
}

/// `3.2 MiB`.
pub fn human_bytes(bytes: u64) -> String {
    const KIB: f64 = 1024.0;
    let b = bytes as f64;
    if b >= KIB * KIB {
        format!("{:.1} MiB", b / (KIB * KIB))
    } else if b >= KIB {
        format!("{:.1} KiB", b / KIB)
    } else {
        format!("{bytes} B")
    }
}

/// A line a handler process printed, in serve's log (stderr), prefixed with its function.
pub fn handler_line(function: &str, line: &str) {
    eprintln!("{function} | {line}");
}

/// One request serve answered, in its log (stderr).
pub fn served(method: &str, path: &str, status: u16, took: Duration, note: &str) {
    let note = if note.is_empty() {
        String::new()
    } else {
        format!("  ({note})")
    };
    eprintln!(
        "{method} {path} -> {status} in {} ms{note}",
        took.as_millis()
    );
}

/// What serve listens on and the routes it serves, on stdout. The first line is
/// `Serving <stack> at <base url>` (scripts read the URL from it).
pub fn serve_banner(stack: &str, base_url: &str, routes: &[(String, String, String)]) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "Serving {stack} at {base_url}");
    let width = routes.iter().map(|(m, _, _)| m.len()).max().unwrap_or(0);
    for (method, url, target) in routes {
        let _ = writeln!(out, "  {method:<width$} {url}  -> {target}");
    }
    let _ = writeln!(out, "Press Ctrl-C to stop.");
    let _ = out.flush();
}

/// The functions' AWS calls as checked against their roles (when serve stops, after invoke): on
/// stderr (nothing when no function called AWS or was granted anything), and with `json` as one
/// JSON line on stdout.
pub fn aws_calls(summaries: &[crate::access::Summary], json: bool) {
    if json {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", serde_json::json!({ "awsCalls": summaries }));
    }
    let lines = aws_call_lines(summaries);
    if !lines.is_empty() {
        status(&format!(
            "AWS calls, checked against each function's role:\n{}",
            lines.join("\n")
        ));
    }
}

fn aws_call_lines(summaries: &[crate::access::Summary]) -> Vec<String> {
    let mut lines = Vec::new();
    for summary in summaries {
        let mut parts: Vec<String> = summary
            .usage
            .used
            .iter()
            .map(|(action, used)| {
                let mut notes = Vec::new();
                if used.refused > 0 {
                    notes.push(format!("{} refused", used.refused));
                }
                if used.not_by_iam {
                    notes.push("IAM does not authorize it".to_owned());
                }
                if used.resource_unchecked {
                    notes.push("resource not checked".to_owned());
                }
                let notes = if notes.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", notes.join(", "))
                };
                format!("{action} x{}{notes}", used.calls)
            })
            .collect();
        if summary.usage.unchecked > 0 {
            parts.push(format!(
                "{} call(s) not checked (the tool could not tell their action)",
                summary.usage.unchecked
            ));
        }
        if !summary.granted_never_used.is_empty() {
            let caveat = if summary.usage.unchecked > 0 {
                " (but the calls not checked may have used them)"
            } else {
                ""
            };
            parts.push(format!(
                "granted, never used{caveat}: {}",
                summary.granted_never_used.join(", ")
            ));
        }
        if !summary.granted_without_need.is_empty() {
            parts.push(format!(
                "granted but never checked by IAM (the statement can go): {}",
                summary.granted_without_need.join(", ")
            ));
        }
        if !parts.is_empty() {
            lines.push(format!("  {}: {}", summary.function, parts.join("; ")));
        }
    }
    lines
}

#[cfg(test)]
mod tests;
