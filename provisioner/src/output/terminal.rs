//! The run's progress on stderr: spinners on a terminal, plain lines elsewhere.

use std::time::Duration;

use super::{styled_marker, use_color, verb};
use crate::plan::Entry;

/// The run's progress, on stderr: each change as it is applied (or fails), and waits worth knowing
/// about. On a terminal, one spinner line names what is in flight, and a wait is a spinner line
/// that counts the seconds and goes away when the wait is over; elsewhere (CI logs, pipes) a wait
/// is a plain line every few seconds and nothing is redrawn.
#[derive(Debug, Default)]
pub struct Terminal {
    /// Present on a terminal.
    spinners: Option<Spinners>,
}

#[derive(Debug)]
struct Spinners {
    multi: indicatif::MultiProgress,
    /// By subject: the wait it stands for.
    bars: std::sync::Mutex<std::collections::BTreeMap<String, indicatif::ProgressBar>>,
    /// What is in flight, oldest first, and the line that names it (while anything is).
    activity: std::sync::Mutex<(Vec<String>, Option<indicatif::ProgressBar>)>,
}

impl Spinners {
    /// `address` starts (`true`) or ends: the activity line follows.
    fn track(&self, address: &str, starts: bool) {
        let mut activity = self.activity.lock().unwrap_or_else(|e| e.into_inner());
        let (active, bar) = &mut *activity;
        if starts {
            active.push(address.to_owned());
        } else if let Some(at) = active.iter().position(|a| a == address) {
            active.remove(at);
        }
        if active.is_empty() {
            if let Some(bar) = bar.take() {
                bar.finish_and_clear();
                self.multi.remove(&bar);
            }
            return;
        }
        let bar = bar.get_or_insert_with(|| {
            let style = indicatif::ProgressStyle::with_template("    {spinner} {msg} ({elapsed})")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner());
            let bar = self
                .multi
                .insert(0, indicatif::ProgressBar::new_spinner().with_style(style));
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        let shown: Vec<&str> = active.iter().take(3).map(String::as_str).collect();
        let more = match active.len().saturating_sub(shown.len()) {
            0 => String::new(),
            n => format!(" and {n} more"),
        };
        bar.set_message(format!("applying {}{more}", shown.join(", ")));
    }
}

impl Terminal {
    /// A resource's change ended without being applied: `how` (failed, stopped part-way).
    fn ended(&self, entry: &Entry, how: &str, took: Duration) {
        use std::io::IsTerminal;
        if let Some(spinners) = &self.spinners {
            spinners.track(&entry.address, false);
        }
        let marker = if use_color(std::io::stderr().is_terminal()) {
            let red = anstyle::AnsiColor::Red.on_default().bold();
            format!("{red}  !{red:#}")
        } else {
            "  !".to_owned()
        };
        self.line(&format!(
            "{marker} {} {how}  ({:.1}s)",
            entry.address,
            took.as_secs_f64()
        ));
    }

    /// Spinners if stderr is a terminal, plain lines otherwise.
    pub fn stderr() -> Terminal {
        use std::io::IsTerminal;
        if std::io::stderr().is_terminal() {
            Terminal::drawing_to(indicatif::ProgressDrawTarget::stderr())
        } else {
            Terminal::default()
        }
    }

    pub(super) fn drawing_to(target: indicatif::ProgressDrawTarget) -> Terminal {
        Terminal {
            spinners: Some(Spinners {
                multi: indicatif::MultiProgress::with_draw_target(target),
                bars: std::sync::Mutex::default(),
                activity: std::sync::Mutex::default(),
            }),
        }
    }

    /// Prints `line` on stderr, above any spinner.
    fn line(&self, line: &str) {
        match &self.spinners {
            Some(spinners) => spinners.multi.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }
}

impl crate::progress::Progress for Terminal {
    fn started(&self, entry: &Entry) {
        if let Some(spinners) = &self.spinners {
            spinners.track(&entry.address, true);
        }
    }

    fn applied(&self, entry: &Entry, took: Duration) {
        use std::io::IsTerminal;
        if let Some(spinners) = &self.spinners {
            spinners.track(&entry.address, false);
        }
        self.line(&format!(
            "{} {} {}  ({:.1}s)",
            styled_marker(&entry.action, use_color(std::io::stderr().is_terminal())),
            entry.address,
            verb(&entry.action),
            took.as_secs_f64()
        ));
    }

    fn failed(&self, entry: &Entry, took: Duration) {
        self.ended(entry, "failed", took);
    }

    fn stopped(&self, entry: &Entry, took: Duration) {
        self.ended(entry, "stopped part-way", took);
    }

    fn waiting(&self, subject: &str, reason: &str, waited: Duration, limit: Option<Duration>) {
        let Some(spinners) = &self.spinners else {
            eprintln!("{}", waiting_line(subject, reason, waited, limit));
            return;
        };
        let mut bars = spinners.bars.lock().unwrap_or_else(|e| e.into_inner());
        let bar = bars.entry(subject.to_owned()).or_insert_with(|| {
            let until =
                limit.map_or_else(String::new, |l| format!(" of at most {} s", l.as_secs()));
            let template =
                format!("    {{spinner}} {{prefix}}: waiting for {{msg}}, {{elapsed}}{until}");
            let style = indicatif::ProgressStyle::with_template(&template)
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner());
            let bar = spinners.multi.add(
                indicatif::ProgressBar::new_spinner()
                    .with_style(style)
                    .with_prefix(subject.to_owned())
                    .with_elapsed(waited),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        bar.set_message(reason.to_owned());
    }

    fn wait_over(&self, subject: &str, _waited: Duration) {
        if let Some(spinners) = &self.spinners {
            let mut bars = spinners.bars.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(bar) = bars.remove(subject) {
                bar.finish_and_clear();
                spinners.multi.remove(&bar);
            }
        }
    }
}

/// `    ... Lambda function `x`: waiting for it to settle (it is Pending), 7 s of at most 300 s`
pub(super) fn waiting_line(
    subject: &str,
    reason: &str,
    waited: Duration,
    limit: Option<Duration>,
) -> String {
    let mut line = format!("    ... {subject}: waiting for {reason}");
    if waited >= Duration::from_secs(1) {
        line.push_str(&format!(", {} s", waited.as_secs()));
        if let Some(limit) = limit {
            line.push_str(&format!(" of at most {} s", limit.as_secs()));
        }
    }
    line
}
