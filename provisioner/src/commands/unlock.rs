//! `provisioner unlock [LOCK_ID]`.

use std::io::IsTerminal as _;

use super::exit;
use super::reconcile::{ask, load_for, open};
use crate::cli::{GlobalArgs, UnlockArgs};
use crate::{lock, output};

/// `unlock [LOCK_ID]`: shows who holds the lock; removes it when given its id (Terraform's
/// `force-unlock LOCK_ID`), or on a terminal when the answer is `yes`. A wrong id, or no id
/// without a terminal, removes nothing: a live run's lock is never removed by a guess.
pub async fn unlock(global: &GlobalArgs, args: &UnlockArgs) -> anyhow::Result<i32> {
    let stack = load_for(global, false)?;
    let session = open(global, &stack).await?;
    let name = &stack.loaded.stack.name;
    let logs = &session.clients.logs;
    let Some(holder) = lock::holder(logs, name).await? else {
        output::status(&format!("stack `{name}` is not locked"));
        return Ok(exit::OK);
    };
    let id = holder.id();
    match &args.lock_id {
        Some(given) if *given != id => {
            return Err(crate::usage::Refused::error(
                "wrongLockId",
                format!(
                    "the lock of stack `{name}` has id `{id}`, not `{given}`: it is held by {holder}; nothing was removed\n\nhint: a run may have taken the lock since; if it is certain that no run holds it, `provisioner unlock {id}`"
                ),
            ));
        }
        Some(_) => {}
        None if std::io::stdin().is_terminal() => {
            output::status(&format!(
                "stack `{name}` is locked by {holder} (lock id `{id}`); remove the lock only if that run has ended"
            ));
            ask("Remove the lock?")?;
        }
        None => {
            return Err(crate::usage::Refused::error(
                "needsLockId",
                format!(
                    "stack `{name}` is locked by {holder} (lock id `{id}`); nothing was removed: there is no terminal to ask on\n\nhint: if it is certain that no run holds it, `provisioner unlock {id}`"
                ),
            ));
        }
    }
    match lock::remove_id(logs, name, &id).await? {
        Some(holder) => output::status(&format!(
            "removed the lock of stack `{name}`, held by {holder}"
        )),
        None => output::status(&format!(
            "the lock of stack `{name}` was released or taken anew meanwhile: nothing was removed"
        )),
    }
    Ok(exit::OK)
}
