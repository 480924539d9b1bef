//! What `up` and `down` apply once they hold the lock and have read live AWS again: the plan
//! shown, or, when no one reviewed it, the plan made under the lock.

use super::reconcile::check_blockers;
use crate::engine::run;
use crate::engine::units::Live;
use crate::output;
use crate::plan::Plan;

/// Whether `again`, planned under the lock, is still the plan that was shown and confirmed: then
/// it is applied. If another run applied it meanwhile there is nothing left to do (false); any
/// other difference is refused, since what would be applied was not what was reviewed.
pub(super) fn still_the_plan(shown: &Plan, again: &Plan, command: &str) -> anyhow::Result<bool> {
    if shown.entries == again.entries && shown.blockers == again.blockers {
        return Ok(true);
    }
    if !again.has_changes() {
        output::status("nothing left to change: another run made these changes meanwhile");
        return Ok(false);
    }
    let mut differ: Vec<String> = again
        .blockers
        .iter()
        .filter(|blocker| !shown.blockers.contains(blocker))
        .cloned()
        .collect();
    differ.extend(
        again
            .entries
            .iter()
            .chain(&shown.entries)
            .filter(|entry| !(shown.entries.contains(entry) && again.entries.contains(entry)))
            .map(|entry| entry.address.clone()),
    );
    differ.dedup();
    differ.truncate(5);
    anyhow::bail!(
        "live AWS changed between the plan and the lock (another run, or a change by hand): the plan shown is not what would be applied; nothing was changed\n  now: {}\n\nhint: run `provisioner {command}` again to review the new plan",
        differ.join("\n  now: ")
    )
}

/// Whether to apply `again`, planned under the lock, when no one reviewed the plan shown (`--yes`
/// without a saved plan): the plan made under the lock, shown, with the same refusals as any plan
/// (blockers, replacements `--allow-replace` does not name).
pub(super) fn unreviewed_plan(
    shown: &Plan,
    again: &Plan,
    live: &Live,
    allow_replace: &[String],
) -> anyhow::Result<bool> {
    if shown.entries == again.entries && shown.blockers == again.blockers {
        return Ok(true);
    }
    if !again.has_changes() {
        output::status("nothing left to change: another run made these changes meanwhile");
        return Ok(false);
    }
    output::status(
        "live AWS changed between the plan and the lock (another run, or a change by hand); with `--yes` and no saved plan, the plan made under the lock is applied:",
    );
    output::plan_to_stderr(again)?;
    check_blockers(again)?;
    let refused = run::unallowed(again, live, allow_replace)
        .map_err(|err| super::UsageError(format!("{err}; nothing was changed")))?;
    if !refused.is_empty() {
        let lines: Vec<&str> = refused.iter().map(|g| g.message.as_str()).collect();
        anyhow::bail!(
            "refusing to replace or delete:\n{}\n\nnothing was changed",
            lines.join("\n")
        );
    }
    Ok(true)
}
