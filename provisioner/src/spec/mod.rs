//! Loading a stack.yaml: text -> raw serde types -> a validated [`Stack`]. Pure: no file, network
//! or process I/O happens here; callers hand in the text and the cargo workspace.
//!
//! Every problem found is reported with `file:line:col`, the field, and a hint, all at once.

pub mod environments;
mod error;
mod model;
mod positions;
mod raw;
pub mod schema;
mod settings;
#[cfg(test)]
pub(crate) mod testing;
mod trigger;
mod validate;
mod workspace;

use std::collections::BTreeMap;
use std::path::Path;

pub use error::{Diagnostic, MAX_DIAGNOSTICS, Severity, SpecError};
pub use model::*;
pub use positions::Pos;
pub use settings::*;
pub use trigger::Trigger;
pub use workspace::{Workspace, WorkspaceMember};

use positions::Positions;
use validate::Checker;
pub use validate::{did_you_mean, stack_name_problem};

/// A valid stack, and what is worth a warning in it.
#[derive(Debug)]
pub struct Loaded {
    pub stack: Stack,
    pub warnings: Vec<Diagnostic>,
}

/// The largest stack file read: a real one is a few kilobytes.
pub const MAX_FILE_BYTES: usize = 1024 * 1024;
/// The most resources (user pools, app clients, functions, authorizers, routes) one stack declares.
pub const MAX_RESOURCES: usize = 500;

/// Actions IAM authorizes on no resource type (the Service Authorization Reference lists none for
/// them): `*` is the only resource they can be granted on.
pub const RESOURCELESS_ACTIONS: &[&str] = &[
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "xray:GetSamplingStatisticSummaries",
    "cloudwatch:PutMetricData",
    "cloudwatch:GetMetricData",
    "cloudwatch:ListMetrics",
    "cognito-idp:ListUserPools",
    "sts:GetCallerIdentity",
];

/// A stack.yaml checked in full but for its `crate:` paths, which need the cargo workspace:
/// size, encoding, nesting, duplicate keys, syntax, the schema and every other rule passed.
/// Callers check before reading the workspace, so a broken file is reported as such even outside a
/// workspace or where cargo is not installed; [`Checked::resolve`] then finishes the job.
#[derive(Debug)]
pub struct Checked {
    /// Functions' `package` and `binary` are empty until resolved.
    stack: Stack,
    warnings: Vec<Diagnostic>,
    positions: Positions,
    file: String,
    stack_dir: std::path::PathBuf,
}

impl Checked {
    /// The stack, its functions' `package` and `binary` still empty.
    pub fn stack(&self) -> &Stack {
        &self.stack
    }

    /// Takes every function's package and binary from `binaries` (by function), as built
    /// elsewhere (`--artifacts`): no workspace is read. The caller checks they cover every
    /// function and match its `crate:`.
    pub fn resolved_by(mut self, binaries: &BTreeMap<String, (String, String)>) -> Loaded {
        for (name, function) in &mut self.stack.functions {
            if let Some((package, binary)) = binaries.get(name) {
                function.package = package.clone();
                function.binary = binary.clone();
            }
        }
        Loaded {
            stack: self.stack,
            warnings: self.warnings,
        }
    }

    /// Resolves every function's `crate:` to a workspace package and its binary.
    pub fn resolve(mut self, workspace: &Workspace) -> Result<Loaded, SpecError> {
        let mut checker = Checker::new(&self.positions);
        validate::resolve_crates(&mut self.stack, &mut checker, workspace, &self.stack_dir);
        if checker.diagnostics.is_empty() && checker.more_errors == 0 {
            return Ok(Loaded {
                stack: self.stack,
                warnings: self.warnings,
            });
        }
        Err(SpecError::Invalid {
            file: self.file,
            errors: checker.diagnostics,
            more: checker.more_errors,
        })
    }
}

/// Checks stack.yaml `bytes` (everything but the `crate:` paths). `file` names it in messages;
/// `stack_dir` is the directory it lives in (absolute), against which `crate:` paths are later
/// resolved. `stack_name` (the `--stack` flag) replaces the file's `stack:`. `env` (`--env`) is
/// the environment merged over the file (see [`environments`]): a file that declares
/// environments needs one; a file that declares none takes none.
pub fn check(
    bytes: &[u8],
    file: &str,
    stack_dir: &Path,
    stack_name: Option<&str>,
    env: Option<&str>,
) -> Result<Checked, SpecError> {
    run(bytes, file, stack_dir, stack_name, env)
}

/// Parses and validates stack.yaml `bytes` in full: [`check`], then [`Checked::resolve`].
///
/// This, through [`check`], is the only place serde_yaml is used.
pub fn load(
    bytes: &[u8],
    file: &str,
    stack_dir: &Path,
    workspace: &Workspace,
    stack_name: Option<&str>,
) -> Result<Loaded, SpecError> {
    check(bytes, file, stack_dir, stack_name, None)?.resolve(workspace)
}

/// The stages of loading, cheapest and most fundamental first; each stops at its own errors.
fn run(
    bytes: &[u8],
    file: &str,
    stack_dir: &Path,
    stack_name: Option<&str>,
    env: Option<&str>,
) -> Result<Checked, SpecError> {
    let invalid = |mut errors: Vec<Diagnostic>| {
        let more = errors.len().saturating_sub(MAX_DIAGNOSTICS);
        errors.truncate(MAX_DIAGNOSTICS);
        SpecError::Invalid {
            file: file.to_owned(),
            errors,
            more,
        }
    };
    let text = decode(bytes).map_err(|error| invalid(vec![error]))?;
    let scan = positions::scan(text);
    if let Some(pos) = scan.too_deep {
        return Err(invalid(vec![too_deep(pos)]));
    }
    if !scan.duplicates.is_empty() {
        return Err(invalid(
            scan.duplicates.iter().map(duplicate_diagnostic).collect(),
        ));
    }
    let mut positions = scan.positions;
    schema::check_keys(text, &positions).map_err(invalid)?;
    let mut raw: raw::RawStack = match serde_yaml::from_str(text) {
        Ok(raw) => raw,
        Err(err) => return Err(invalid(vec![yaml_diagnostic(&err, text)])),
    };
    let declared: Vec<String> = raw.environments.keys().cloned().collect();
    if env.is_none() && !declared.is_empty() {
        return Err(SpecError::NoEnvironment {
            file: file.to_owned(),
            error: Box::new(file_error(
                "noEnvironment",
                positions.key(&["environments".to_owned()]),
                format!(
                    "the file declares environments ({}): choose one",
                    declared.join(", ")
                ),
                "pass `--env <name>` (or set PROVISIONER_ENV); `provisioner validate` without it checks every one",
            )),
            declared,
        });
    }
    if let Some(env) = env {
        let (merged, names_stack) =
            environments::select(text, &declared, env, &positions).map_err(invalid)?;
        positions.overlay(env);
        raw = match serde_path_to_error::deserialize(merged) {
            Ok(raw) => raw,
            Err(err) => {
                let field = err.path().to_string();
                let at: Vec<String> = field.split('.').map(str::to_owned).collect();
                let mut diagnostic = yaml_diagnostic(err.inner(), text);
                diagnostic.pos = positions.value(&at);
                diagnostic.field = field;
                return Err(invalid(vec![diagnostic]));
            }
        };
        if stack_name.is_none() && !names_stack {
            raw.stack = format!("{}-{env}", raw.stack);
        }
    }
    too_many_resources(&raw).map_or(Ok(()), |error| Err(invalid(vec![error])))?;
    let mut checker = Checker::new(&positions);
    if let Some(name) = stack_name {
        raw.stack = name.to_owned();
    }
    let stack = validate::validate(&raw, &mut checker, stack_name.is_some(), env);
    let more_errors = checker.more_errors;
    let (errors, warnings): (Vec<_>, Vec<_>) = checker
        .diagnostics
        .into_iter()
        .partition(|d| d.severity == Severity::Error);
    if let Some(stack) = stack
        && errors.is_empty()
        && more_errors == 0
    {
        return Ok(Checked {
            stack,
            warnings,
            positions,
            file: file.to_owned(),
            stack_dir: stack_dir.to_owned(),
        });
    }
    Err(SpecError::Invalid {
        file: file.to_owned(),
        errors,
        more: more_errors,
    })
}

fn too_deep(pos: Pos) -> Diagnostic {
    file_error(
        "tooDeep",
        Some(pos),
        format!("the file nests deeper than {} levels", positions::MAX_DEPTH),
        "a stack.yaml nests at most 7 levels: check the brackets and the indentation here",
    )
}

fn file_error(code: &'static str, pos: Option<Pos>, message: String, hint: &str) -> Diagnostic {
    Diagnostic {
        code,
        severity: Severity::Error,
        field: String::new(),
        pos,
        message,
        hint: Some(hint.to_owned()),
    }
}

/// The file as text: at most [`MAX_FILE_BYTES`], and UTF-8 (the position of the first byte that
/// is not is reported).
fn decode(bytes: &[u8]) -> Result<&str, Diagnostic> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(file_error(
            "fileTooLarge",
            None,
            format!(
                "the file is larger than {MAX_FILE_BYTES} bytes (1 MiB), the most a stack file may be"
            ),
            "a stack.yaml is a few kilobytes: check the path given to `--file`",
        ));
    }
    std::str::from_utf8(bytes).map_err(|err| {
        let valid = &bytes[..err.valid_up_to()];
        // The valid prefix is UTF-8 by definition.
        let before = std::str::from_utf8(valid).unwrap_or_default();
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        let byte = bytes.get(err.valid_up_to()).copied().unwrap_or_default();
        file_error(
            "notUtf8",
            Some(Pos { line, col }),
            format!("the file is not UTF-8 text (byte 0x{byte:02x})"),
            "save stack.yaml as UTF-8",
        )
    })
}

fn duplicate_diagnostic(duplicate: &positions::Duplicate) -> Diagnostic {
    let (key, parent) = match duplicate.path.split_last() {
        Some((key, parent)) => (key.as_str(), parent.join(".")),
        None => ("", String::new()),
    };
    let within = if parent.is_empty() {
        "at the top level".to_owned()
    } else {
        format!("in `{parent}`")
    };
    Diagnostic {
        code: "duplicateKey",
        severity: Severity::Error,
        field: duplicate.path.join("."),
        pos: Some(duplicate.second),
        message: format!(
            "`{key}` is written twice {within}: at {} and at {}",
            duplicate.first, duplicate.second
        ),
        hint: Some("YAML would silently keep only the second: remove or rename one".to_owned()),
    }
}

/// Counts what the file declares before any of it is checked, so a huge file is refused at once.
fn too_many_resources(raw: &raw::RawStack) -> Option<Diagnostic> {
    let pools = raw.user_pools.len();
    let clients: usize = raw.user_pools.values().map(|p| p.clients.len()).sum();
    let functions = raw.functions.len();
    let (authorizers, routes) = raw
        .api
        .as_ref()
        .map_or((0, 0), |api| (api.authorizers.len(), api.routes.len()));
    let total = pools + clients + functions + authorizers + routes;
    (total > MAX_RESOURCES).then(|| {
        file_error(
            "tooManyResources",
            None,
            format!(
                "the stack declares {total} resources ({pools} user pools, {clients} app clients, \
                 {functions} functions, {authorizers} authorizers, {routes} routes); at most \
                 {MAX_RESOURCES} are allowed"
            ),
            "split it into several stacks (`--stack` names each)",
        )
    })
}

/// A serde_yaml error as a diagnostic: its position, its path as the field, and a hint for
/// misspelt keys, wrong types and syntax.
fn yaml_diagnostic(err: &serde_yaml::Error, text: &str) -> Diagnostic {
    // The position is reported separately: drop serde_yaml's own `at line N column M`.
    let mut message = strip_positions(&err.to_string());
    // serde_yaml prefixes the path of the offending node: `functions.sign-up: unknown field ...`.
    let mut field = String::new();
    if let Some((prefix, rest)) = message.split_once(": ")
        && !prefix.contains(' ')
        && !prefix.is_empty()
    {
        field = prefix.to_owned();
        message = rest.to_owned();
    }
    let mut hint = None;
    let mut code = "invalidYaml";
    if text.trim().is_empty() {
        code = "emptyFile";
        message = "the file is empty".to_owned();
        hint = Some("start with `stack: <name>`; see README.md for the format".to_owned());
    } else if let Some(rest) = message.strip_prefix("unknown field `")
        && let Some((given, expected)) = rest.split_once('`')
    {
        let candidates: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
        let listed: Vec<String> = candidates.iter().map(|c| format!("`{c}`")).collect();
        hint = Some(match did_you_mean(given, candidates.iter().copied()) {
            Some(candidate) => format!("did you mean `{candidate}`?"),
            None => format!("expected one of {}", listed.join(", ")),
        });
        message = format!("unknown field `{given}`");
        code = "unknownField";
    } else if let Some(rest) = message.strip_prefix("invalid type: ")
        && let Some((got, expected)) = rest.split_once(", expected ")
    {
        // `invalid type: string "ten", expected i64` -> `expected a whole number, got string "ten"`
        let expected = match expected {
            "i64" | "u64" | "i32" | "u32" => "a whole number",
            "a boolean" => "`true` or `false`",
            // serde names the Rust type (`struct RawFunction`): the user wrote YAML.
            other if other.starts_with("struct ") => "a map of settings",
            other => other,
        };
        message = format!("expected {expected}, got {got}");
        code = "wrongType";
    } else if message.contains("did not match any variant of untagged enum OneOrMany") {
        message = "expected a string or a list of strings".to_owned();
        code = "wrongType";
    } else if message.contains("while scanning") || message.contains("while parsing") {
        hint = Some("check the indentation and the `key: value` syntax here".to_owned());
        code = "yamlSyntax";
    }
    Diagnostic {
        code,
        severity: Severity::Error,
        field,
        pos: err.location().map(|l| Pos {
            line: l.line(),
            col: l.column(),
        }),
        message,
        hint,
    }
}

/// `could not find expected ':' at line 3 column 1, while scanning a simple key at line 2 column 3`
/// -> `could not find expected ':', while scanning a simple key`.
fn strip_positions(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(start) = rest.find(" at line ") {
        out.push_str(&rest[..start]);
        let after = &rest[start + " at line ".len()..];
        let digits = |s: &str| s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let line_len = digits(after);
        match after[line_len..].strip_prefix(" column ") {
            Some(col) if line_len > 0 => rest = &col[digits(col)..],
            _ => {
                out.push_str(" at line ");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}
