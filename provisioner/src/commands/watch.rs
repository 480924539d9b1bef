//! `serve --watch`: while serve answers, watch stack.yaml and the functions' crates (and the
//! workspace crates they depend on). A change to a crate rebuilds only the functions built from it
//! (the `local` profile) and retires their warm processes, so the next request runs the new code; a
//! failed build keeps the previous binary. A change to stack.yaml loads it again and, once it is
//! valid and the deployed stack still has what it refers to, swaps in its routes, authorizers and
//! functions; otherwise the previous one keeps serving.
//!
//! Events are debounced (an editor's save is several), and those that arrive during a build are
//! taken together after it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use notify_debouncer_full::notify::{EventKind, RecursiveMode};

use super::LoadedStack;
use super::binaries::{Binaries, build_local};
use super::serve::{Prepared, prepare};
use crate::cli::GlobalArgs;
use crate::output;
use crate::serve::gateway::Gateway;

/// Quiet time after the last event of a path before it is reported.
const DEBOUNCE: Duration = Duration::from_millis(100);

/// What to watch, and which functions a changed file affects.
#[derive(Debug)]
pub(super) struct WatchSet {
    stack_file: PathBuf,
    root: PathBuf,
    target_dir: PathBuf,
    /// A crate's directory, and the functions whose binary it is part of.
    crates: Vec<(PathBuf, BTreeSet<String>)>,
}

/// What a batch of changed paths asks for.
#[derive(Debug, Default, PartialEq, Eq)]
struct Changes {
    stack: bool,
    /// Functions to rebuild.
    functions: BTreeSet<String>,
}

impl WatchSet {
    pub fn new(file: &Path, stack: &LoadedStack) -> WatchSet {
        let workspace = &stack.workspace;
        let mut crates: Vec<(PathBuf, BTreeSet<String>)> = Vec::new();
        for (name, function) in &stack.loaded.stack.functions {
            for dir in workspace.crate_dirs(&function.package) {
                let dir = canonical(&dir);
                match crates.iter_mut().find(|(d, _)| *d == dir) {
                    Some((_, functions)) => {
                        functions.insert(name.clone());
                    }
                    None => crates.push((dir, BTreeSet::from([name.clone()]))),
                }
            }
        }
        WatchSet {
            stack_file: canonical_file(file),
            root: canonical(&workspace.root),
            target_dir: canonical(&workspace.target_dir),
            crates,
        }
    }

    /// The directories to watch: stack.yaml's and the workspace root's (for Cargo.toml and
    /// Cargo.lock) alone, each crate's alone (its Cargo.toml, build.rs) and its subdirectories
    /// recursively, but never a `target` directory or a hidden one.
    fn watches(&self) -> Vec<(PathBuf, RecursiveMode)> {
        let mut watches: Vec<(PathBuf, RecursiveMode)> = Vec::new();
        let mut add = |path: PathBuf, mode: RecursiveMode| {
            if !watches.iter().any(|(p, _)| *p == path) {
                watches.push((path, mode));
            }
        };
        if let Some(dir) = self.stack_file.parent() {
            add(dir.to_path_buf(), RecursiveMode::NonRecursive);
        }
        add(self.root.clone(), RecursiveMode::NonRecursive);
        for (dir, _) in &self.crates {
            add(dir.clone(), RecursiveMode::NonRecursive);
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                let name = entry.file_name();
                let name = name.to_string_lossy();
                if entry.file_type().is_ok_and(|t| t.is_dir())
                    && name != "target"
                    && !name.starts_with('.')
                    && path != self.target_dir
                {
                    add(path, RecursiveMode::Recursive);
                }
            }
        }
        watches
    }

    /// What `paths` (changed, created, removed or renamed) ask for.
    fn classify(&self, paths: &[PathBuf]) -> Changes {
        let mut changes = Changes::default();
        for path in paths {
            if *path == self.stack_file {
                changes.stack = true;
                continue;
            }
            if path.starts_with(&self.target_dir) || is_noise(path) {
                continue;
            }
            let manifest =
                *path == self.root.join("Cargo.toml") || *path == self.root.join("Cargo.lock");
            for (dir, functions) in &self.crates {
                if manifest || (path.starts_with(dir) && !path.starts_with(dir.join("target"))) {
                    changes.functions.extend(functions.iter().cloned());
                }
            }
        }
        changes
    }
}

/// Files no build reads: editors' swap, backup and temporary files, hidden files.
fn is_noise(path: &Path) -> bool {
    let Some(name) = path.file_name().map(|n| n.to_string_lossy()) else {
        return true;
    };
    name.starts_with('.')
        || name.ends_with('~')
        || name.ends_with(".swp")
        || name.ends_with(".swx")
        || name.ends_with(".tmp")
        || name == "4913"
}

fn canonical(dir: &Path) -> PathBuf {
    dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf())
}

/// `file` with its directory made canonical (the file itself may be replaced by a rename).
fn canonical_file(file: &Path) -> PathBuf {
    let dir = file
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    match file.file_name() {
        Some(name) => canonical(dir).join(name),
        None => file.to_path_buf(),
    }
}

/// The watch loop's side of serve: what it needs to reload and rebuild.
pub(super) struct Watch {
    pub global: GlobalArgs,
    pub concurrency: u16,
    /// `http://127.0.0.1:<port>`, for the route table printed after a reload.
    pub origin: String,
    pub gateway: Arc<Gateway>,
    /// The functions' AWS endpoint, whose roles a reload replaces.
    pub check: Arc<crate::serve::aws_check::AwsCheck>,
}

impl Watch {
    /// Runs until dropped (serve stopping aborts it), from `listening` (see [`listen`]).
    pub async fn run(self, mut listening: Listening, mut prepared: Prepared) {
        // Changes the previous watch saw while stack.yaml was reloaded, for the new one to act on.
        let mut carried: Vec<PathBuf> = Vec::new();
        loop {
            let Listening {
                set,
                watcher: _watcher,
                mut events,
            } = listening;
            loop {
                let mut paths = if carried.is_empty() {
                    let Some(paths) = events.recv().await else {
                        return;
                    };
                    paths
                } else {
                    std::mem::take(&mut carried)
                };
                while let Ok(more) = events.try_recv() {
                    paths.extend(more);
                }
                let changes = set.classify(&paths);
                tracing::debug!(?paths, ?changes, "files changed");
                if changes.stack
                    && let Some((new_set, new_prepared)) = self.reload().await
                {
                    prepared = new_prepared;
                    // Watch what the new stack.yaml builds from.
                    match listen(new_set) {
                        Ok(new) => {
                            listening = new;
                            // What was saved while reloading (a handler edited meanwhile) is
                            // acted on by the new watch, which started after it.
                            while let Ok(more) = events.try_recv() {
                                carried.extend(more);
                            }
                            break;
                        }
                        Err(err) => {
                            output::error(&err);
                            output::status("serve keeps running without watching for changes");
                            return;
                        }
                    }
                }
                if !changes.functions.is_empty() {
                    self.rebuild(&prepared, &changes.functions).await;
                }
            }
        }
    }

    /// Loads stack.yaml again and serves it; on any problem says so and keeps the previous.
    async fn reload(&self) -> Option<(WatchSet, Prepared)> {
        output::status("stack.yaml changed: loading it again");
        let started = Instant::now();
        let loaded = async {
            let stack = super::reconcile::load(&self.global)?;
            let set = WatchSet::new(&self.global.file, &stack);
            let prepared = prepare(
                &self.global,
                stack,
                Binaries::Local,
                self.concurrency,
                &self.check,
            )
            .await?;
            anyhow::Ok((set, prepared))
        }
        .await;
        let (set, prepared) = match loaded {
            Ok(loaded) => loaded,
            Err(err) => {
                output::error(&err);
                output::status("still serving the previous stack.yaml; fix it and save again");
                return None;
            }
        };
        let previous = self.gateway.table();
        let table = prepared.table(&previous.functions);
        let replaced: Vec<_> = previous
            .functions
            .iter()
            .filter(|(name, function)| {
                table
                    .functions
                    .get(*name)
                    .is_none_or(|new| !Arc::ptr_eq(new, function))
            })
            .map(|(_, function)| function.clone())
            .collect();
        self.gateway.replace(table);
        for function in replaced {
            function.retire().await;
        }
        output::status(&format!(
            "stack.yaml reloaded in {:.1} s: serving {} at {}",
            started.elapsed().as_secs_f64(),
            prepared.stack_name,
            prepared.base_url(&self.origin)
        ));
        for (method, url, target) in prepared.route_rows(&self.origin) {
            output::status(&format!("  {method} {url}  -> {target}"));
        }
        Some((set, prepared))
    }

    /// Rebuilds `names`; on success their warm processes are retired.
    async fn rebuild(&self, prepared: &Prepared, names: &BTreeSet<String>) {
        let functions: Vec<_> = prepared
            .functions
            .iter()
            .filter(|(name, _)| names.contains(*name))
            .collect();
        if functions.is_empty() {
            return;
        }
        let list = functions
            .iter()
            .map(|(name, _)| name.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        output::status(&format!("{list}: source changed, rebuilding"));
        let started = Instant::now();
        if let Err(err) = build_local(&prepared.workspace, &functions).await {
            output::error(&err);
            output::status(&format!(
                "{list}: still serving the previous build; fix the errors and save again"
            ));
            return;
        }
        let table = self.gateway.table();
        let mut retired = 0;
        for (name, _) in &functions {
            if let Some(function) = table.functions.get(*name) {
                retired += function.retire_warm().await;
            }
        }
        let retired = match retired {
            0 => String::new(),
            1 => " (1 warm process retired)".to_owned(),
            n => format!(" ({n} warm processes retired)"),
        };
        output::status(&format!(
            "{list} rebuilt in {:.1} s{retired}",
            started.elapsed().as_secs_f64()
        ));
    }
}

type Debouncer = notify_debouncer_full::Debouncer<
    notify_debouncer_full::notify::RecommendedWatcher,
    notify_debouncer_full::RecommendedCache,
>;

/// A watch in place: what it watches, and the batches of changed paths it reports.
pub(super) struct Listening {
    set: WatchSet,
    watcher: Debouncer,
    events: tokio::sync::mpsc::UnboundedReceiver<Vec<PathBuf>>,
}

/// Starts watching `set` (so that a change made from now on is seen) and says so.
pub(super) fn listen(set: WatchSet) -> anyhow::Result<Listening> {
    let (sender, events) = tokio::sync::mpsc::unbounded_channel();
    let watcher = start(&set, sender)?;
    output::status(&format!(
        "Watching `{}` and {} crate(s) for changes",
        set.stack_file.display(),
        set.crates.len()
    ));
    Ok(Listening {
        set,
        watcher,
        events,
    })
}

/// Starts watching `set`; each debounced batch of paths written, made, removed or renamed goes
/// to `sender`. Reads are not changes: cargo opening every Cargo.toml would rebuild forever.
fn start(
    set: &WatchSet,
    sender: tokio::sync::mpsc::UnboundedSender<Vec<PathBuf>>,
) -> anyhow::Result<Debouncer> {
    use anyhow::Context as _;
    let mut debouncer = notify_debouncer_full::new_debouncer(
        DEBOUNCE,
        None,
        move |result: notify_debouncer_full::DebounceEventResult| match result {
            Ok(events) => {
                let paths: Vec<PathBuf> = events
                    .into_iter()
                    .filter(|e| !matches!(e.kind, EventKind::Access(_)))
                    .flat_map(|e| e.event.paths)
                    .collect();
                if !paths.is_empty() {
                    let _ = sender.send(paths);
                }
            }
            Err(errors) => {
                for err in errors {
                    output::warning(&format!("watching for changes: {err}"));
                }
            }
        },
    )
    .context("failed to start watching for file changes")?;
    for (path, mode) in set.watches() {
        debouncer
            .watch(&path, mode)
            .with_context(|| format!("failed to watch `{}` for changes", path.display()))?;
    }
    Ok(debouncer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set() -> WatchSet {
        WatchSet {
            stack_file: PathBuf::from("/w/stack.yaml"),
            root: PathBuf::from("/w"),
            target_dir: PathBuf::from("/w/target"),
            crates: vec![
                (
                    PathBuf::from("/w/handlers/common"),
                    BTreeSet::from(["a".to_owned(), "b".to_owned()]),
                ),
                (
                    PathBuf::from("/w/handlers/a"),
                    BTreeSet::from(["a".to_owned()]),
                ),
                (
                    PathBuf::from("/w/handlers/b"),
                    BTreeSet::from(["b".to_owned()]),
                ),
            ],
        }
    }

    fn classify(paths: &[&str]) -> Changes {
        set().classify(&paths.iter().map(PathBuf::from).collect::<Vec<_>>())
    }

    fn functions(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    #[test]
    fn a_crate_change_rebuilds_the_functions_built_from_it_and_only_those() {
        assert_eq!(
            classify(&["/w/handlers/a/src/lib.rs"]).functions,
            functions(&["a"])
        );
        assert_eq!(
            classify(&["/w/handlers/b/Cargo.toml", "/w/handlers/b/src/main.rs"]).functions,
            functions(&["b"])
        );
        // A crate both depend on rebuilds both; so do the workspace's manifest and lock file.
        for path in [
            "/w/handlers/common/src/lib.rs",
            "/w/Cargo.toml",
            "/w/Cargo.lock",
        ] {
            assert_eq!(
                classify(&[path]).functions,
                functions(&["a", "b"]),
                "{path}"
            );
        }
        assert!(!classify(&["/w/handlers/a/src/lib.rs"]).stack);
    }

    #[test]
    fn stack_yaml_reloads_and_build_output_and_editor_files_are_ignored() {
        assert_eq!(
            classify(&["/w/stack.yaml"]),
            Changes {
                stack: true,
                functions: BTreeSet::new()
            }
        );
        for path in [
            "/w/target/local/a",
            "/w/handlers/a/target/debug/a",
            "/w/handlers/a/src/.lib.rs.swp",
            "/w/handlers/a/src/lib.rs~",
            "/w/handlers/a/src/4913",
            "/w/README.md",
            "/w/other-stack.yaml",
        ] {
            assert_eq!(classify(&[path]), Changes::default(), "{path}");
        }
    }
}
