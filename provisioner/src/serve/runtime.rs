//! The Lambda side of `serve`: each function's `bootstrap` runs as a child process against a Lambda
//! Runtime API that serve implements, one API endpoint per process as Lambda gives one to each
//! execution environment.
//!
//! Lifecycle of a process (an "instance"), as Lambda's:
//! - init: started with Lambda's environment; ready when it first asks for `/invocation/next`.
//!   Exiting first, or not asking within [`INIT_TIMEOUT`], is an init failure.
//! - invoke: the event is handed out on `/next`; the process answers on `/response` or `/error`.
//!   It is killed when it exceeds the function's timeout, and lost when it exits meanwhile.
//! - reuse: after `/response` or `/error` the process is warm and takes the next request.
//!
//! A function runs at most `concurrency` processes; further requests wait for one to be free.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::net::TcpListener;
use tokio::process::{Child, Command};
use tokio::sync::{Semaphore, mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use super::runtime_api::{Invocation, Posted, RuntimeApi, serve_runtime_api};
use crate::output;

pub use super::runtime_api::error_message;

/// How long Lambda lets an on-demand function initialise.
pub const INIT_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest response a synchronous invocation may return (Lambda's 6 MB payload quota).
pub const MAX_RESPONSE_BYTES: usize = 6 * 1024 * 1024;

pub(super) const PREFIX: &str = "/2018-06-01/runtime";

/// What a function process is started with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionSpec {
    /// The logical name (stack.yaml), used to prefix its output.
    pub name: String,
    pub arn: String,
    pub bootstrap: PathBuf,
    /// Lambda's variables, the function's environment, credentials; everything but
    /// `AWS_LAMBDA_RUNTIME_API` and the log stream, which are per process.
    pub environment: Vec<(String, String)>,
    pub timeout: Duration,
    /// At most this many processes at once.
    pub concurrency: usize,
}

/// How an invocation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Posted to `/response`.
    Response(Bytes),
    /// Posted to `/error` (an unhandled error of the handler).
    FunctionError { error_type: String, body: Bytes },
    /// Ran past the function's timeout; the process was killed.
    Timeout,
    /// The process exited during the invocation (Lambda's `Runtime.ExitError`).
    Crashed(String),
    /// No process could be made ready: it exited or reported an init error, or did not ask for
    /// an event in time, or could not be started at all.
    InitFailed(String),
    /// serve is stopping.
    Stopped,
}

/// An invocation's outcome, and the process it ran on.
#[derive(Debug, Clone)]
pub struct Invoked {
    pub outcome: Outcome,
    /// The process's number (1 for the function's first).
    pub instance: u64,
    /// Set when this invocation started a process: from starting it to its first `/next`.
    pub init: Option<Duration>,
}

/// One function's processes.
pub struct Function {
    spec: FunctionSpec,
    idle: Mutex<Vec<Instance>>,
    slots: Arc<Semaphore>,
    started: AtomicU64,
    stopping: watch::Sender<bool>,
    /// Replaced (serve reloaded stack.yaml): busy processes are stopped when their invocation
    /// ends instead of waiting for the next.
    retired: std::sync::atomic::AtomicBool,
}

impl Function {
    pub fn new(spec: FunctionSpec) -> Function {
        let slots = Arc::new(Semaphore::new(spec.concurrency.max(1)));
        Function {
            spec,
            idle: Mutex::new(Vec::new()),
            slots,
            started: AtomicU64::new(0),
            stopping: watch::channel(false).0,
            retired: std::sync::atomic::AtomicBool::new(false),
        }
    }

    pub fn spec(&self) -> &FunctionSpec {
        &self.spec
    }

    /// Runs one invocation on a warm process, or on a new one.
    pub async fn invoke(&self, request_id: &str, payload: Bytes) -> Invoked {
        let stopped = |instance| Invoked {
            outcome: Outcome::Stopped,
            instance,
            init: None,
        };
        let Ok(_permit) = self.slots.clone().acquire_owned().await else {
            return stopped(0);
        };
        if *self.stopping.borrow() {
            return stopped(0);
        }
        let mut warm = self.lock_idle().pop();
        // A rebuilt binary (`provisioner build` meanwhile) retires the warm processes of the old
        // one: the next request runs the new code, as after a deployment. A process that died
        // while idle is dropped too, before a request is given to it.
        let current = binary_version(&self.spec.bootstrap);
        while let Some(mut instance) = warm.take() {
            let why = if instance.binary != current {
                "the binary changed"
            } else if instance.exited() {
                "it exited while idle"
            } else {
                warm = Some(instance);
                break;
            };
            output::handler_line(
                &self.spec.name,
                &format!("(serve) process #{} retired: {why}", instance.number),
            );
            instance.stop().await;
            warm = self.lock_idle().pop();
        }
        let (mut instance, init) = match warm {
            Some(instance) => (instance, None),
            None => {
                let number = self.started.fetch_add(1, Ordering::Relaxed) + 1;
                match self.start(number).await {
                    Ok((instance, init)) => (instance, Some(init)),
                    Err(reason) => {
                        return Invoked {
                            outcome: Outcome::InitFailed(reason),
                            instance: number,
                            init: None,
                        };
                    }
                }
            }
        };
        let outcome = instance
            .invoke(
                request_id,
                payload,
                self.spec.timeout,
                self.stopping.subscribe(),
            )
            .await;
        let number = instance.number;
        let reusable = matches!(
            outcome,
            Outcome::Response(_) | Outcome::FunctionError { .. }
        );
        if reusable && !*self.stopping.borrow() && !self.retired.load(Ordering::Relaxed) {
            self.lock_idle().push(instance);
        } else {
            instance.stop().await;
        }
        Invoked {
            outcome,
            instance: number,
            init,
        }
    }

    /// Stops the warm (idle) processes, so the next request starts the binary as it is now (after
    /// a rebuild); busy ones finish their invocation. Returns how many were stopped.
    pub async fn retire_warm(&self) -> usize {
        let idle: Vec<Instance> = std::mem::take(&mut *self.lock_idle());
        let count = idle.len();
        for instance in idle {
            instance.stop().await;
        }
        count
    }

    /// Retires the function for good (serve replaced it): warm processes are stopped now, busy
    /// ones when their invocation ends.
    pub async fn retire(&self) {
        self.retired.store(true, Ordering::Relaxed);
        self.retire_warm().await;
    }

    /// Stops every process: idle ones now, busy ones as their invocations end (at once, killed).
    pub async fn shutdown(&self) {
        self.stopping.send_replace(true);
        let idle: Vec<Instance> = std::mem::take(&mut *self.lock_idle());
        for instance in idle {
            instance.stop().await;
        }
        // Every permit back means every busy process has been stopped and reaped.
        let all = u32::try_from(self.spec.concurrency.max(1)).unwrap_or(u32::MAX);
        let _ = tokio::time::timeout(Duration::from_secs(5), self.slots.acquire_many(all)).await;
        self.slots.close();
    }

    fn lock_idle(&self) -> std::sync::MutexGuard<'_, Vec<Instance>> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts process `number` and waits until it asks for its first event.
    async fn start(&self, number: u64) -> Result<(Instance, Duration), String> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|err| format!("could not open a Runtime API port: {err}"))?;
        let address = listener
            .local_addr()
            .map_err(|err| format!("could not read the Runtime API port: {err}"))?;
        let (invocations, receiver) = mpsc::channel(1);
        let (ready, is_ready) = oneshot::channel();
        let api = Arc::new(RuntimeApi {
            arn: self.spec.arn.clone(),
            next: tokio::sync::Mutex::new(receiver),
            pending: Mutex::new(None),
            ready: Mutex::new(Some(ready)),
            init_error: Mutex::new(None),
        });
        let server = tokio::spawn(serve_runtime_api(listener, api.clone()));
        let label = if number == 1 {
            self.spec.name.clone()
        } else {
            format!("{}#{number}", self.spec.name)
        };
        let binary = binary_version(&self.spec.bootstrap);
        let mut command = Command::new(&self.spec.bootstrap);
        command
            .env_clear()
            .envs(self.spec.environment.iter().map(|(k, v)| (k, v)))
            .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
            .env("AWS_LAMBDA_LOG_STREAM_NAME", format!("serve/{number}"))
            .current_dir(
                self.spec
                    .bootstrap
                    .parent()
                    .unwrap_or(std::path::Path::new(".")),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        die_with_parent(&mut command);
        let started = Instant::now();
        let mut child = command.spawn().map_err(|err| {
            format!(
                "could not start `{}`: {err} (run `provisioner build`)",
                self.spec.bootstrap.display()
            )
        })?;
        forward(child.stdout.take(), label.clone());
        forward(child.stderr.take(), label.clone());
        let mut instance = Instance {
            number,
            binary,
            child,
            invocations,
            api,
            server,
        };
        let mut stopping = self.stopping.subscribe();
        let failure = tokio::select! {
            Ok(()) = is_ready => return Ok((instance, started.elapsed())),
            status = instance.child.wait() => {
                let status = status.map_or_else(|e| e.to_string(), |s| s.to_string());
                match instance.api.take_init_error() {
                    Some(error) => format!("init failed ({status}): {error}"),
                    None => format!("the process exited during init ({status})"),
                }
            }
            () = tokio::time::sleep(INIT_TIMEOUT) => {
                format!("init did not finish within {} s", INIT_TIMEOUT.as_secs())
            }
            _ = stopping.wait_for(|stop| *stop) => "serve is stopping".to_owned(),
        };
        instance.stop().await;
        Err(failure)
    }
}

/// One running process and its Runtime API.
struct Instance {
    number: u64,
    /// The binary it runs, by modification time (packaging replaces the file).
    binary: Option<SystemTime>,
    child: Child,
    invocations: mpsc::Sender<Invocation>,
    api: Arc<RuntimeApi>,
    server: JoinHandle<()>,
}

impl Instance {
    async fn invoke(
        &mut self,
        request_id: &str,
        payload: Bytes,
        timeout: Duration,
        mut stopping: watch::Receiver<bool>,
    ) -> Outcome {
        let (reply, replied) = oneshot::channel();
        let deadline = SystemTime::now() + timeout;
        let deadline_ms = deadline
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        let invocation = Invocation {
            request_id: request_id.to_owned(),
            payload,
            deadline_ms,
            reply,
        };
        if self.invocations.send(invocation).await.is_err() {
            return Outcome::Crashed("the Runtime API stopped".to_owned());
        }
        tokio::select! {
            biased;
            posted = replied => match posted {
                Ok(Posted::Response(body)) => Outcome::Response(body),
                Ok(Posted::Error { error_type, body }) => Outcome::FunctionError { error_type, body },
                Err(_) => Outcome::Crashed("the Runtime API stopped".to_owned()),
            },
            status = self.child.wait() => Outcome::Crashed(
                status.map_or_else(|e| e.to_string(), |s| s.to_string()),
            ),
            () = tokio::time::sleep(timeout) => Outcome::Timeout,
            _ = stopping.wait_for(|stop| *stop) => Outcome::Stopped,
        }
    }

    /// Whether the process has ended (or cannot be asked).
    fn exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }

    /// Kills the process (if it still runs) and reaps it.
    async fn stop(mut self) {
        self.server.abort();
        let _ = self.child.kill().await;
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// When `bootstrap` was last written (None if it cannot be read).
fn binary_version(bootstrap: &std::path::Path) -> Option<SystemTime> {
    std::fs::metadata(bootstrap).and_then(|m| m.modified()).ok()
}

/// Asks Linux to kill the child when serve dies, however it dies (even SIGKILL): no handler
/// process outlives serve. Ctrl-C and errors stop children explicitly; this is the backstop.
#[cfg(target_os = "linux")]
fn die_with_parent(command: &mut Command) {
    // SAFETY: the closure runs in the forked child before exec and only makes one
    // async-signal-safe system call (prctl), as `pre_exec` requires.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Elsewhere there is no such request; Ctrl-C and errors still stop every child explicitly.
#[cfg(not(target_os = "linux"))]
fn die_with_parent(_command: &mut Command) {}

/// Copies a child's output to serve's log, a line at a time, prefixed with the function.
fn forward(stream: Option<impl AsyncRead + Unpin + Send + 'static>, label: String) {
    let Some(stream) = stream else { return };
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            output::handler_line(&label, &line);
        }
    });
}
