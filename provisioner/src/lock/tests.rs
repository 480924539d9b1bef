use super::*;

#[test]
fn a_dead_holder_on_this_host_or_an_old_lock_is_stale() {
    let now_ms = i64::try_from(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap();
    let holder = Holder {
        caller: "arn:aws:iam::1:user/ci".to_owned(),
        host: hostname(),
        pid: std::process::id(),
        command: "up".to_owned(),
        created_ms: now_ms,
        token: None,
        heartbeat_ms: None,
    };
    assert_eq!(holder.stale(), None, "this process is alive");
    // A pid past the kernel's limit runs nowhere.
    let dead = Holder {
        pid: 4_194_304 + 7,
        ..holder.clone()
    };
    assert!(dead.stale().unwrap().contains("no longer running"));
    // On another host the pid says nothing: only age makes it stale.
    let elsewhere = Holder {
        host: "build-agent-7".to_owned(),
        ..dead.clone()
    };
    assert_eq!(elsewhere.stale(), None);
    let old = Holder {
        created_ms: now_ms - i64::try_from(TTL.as_millis()).unwrap() - 60_000,
        ..elsewhere.clone()
    };
    assert!(old.stale().unwrap().contains("older than"));
    // A holder that renews its lock is alive wherever it runs; one silent for longer than
    // STALE_AFTER is not.
    let renewed = Holder {
        heartbeat_ms: Some(now_ms - 10_000),
        ..elsewhere.clone()
    };
    assert_eq!(renewed.stale(), None);
    let silent = Holder {
        heartbeat_ms: Some(now_ms - i64::try_from(STALE_AFTER.as_millis()).unwrap() - 30_000),
        ..elsewhere
    };
    assert!(silent.stale().unwrap().contains("stopped renewing it"));
    // Renewed, a lock is held however long its run takes.
    let long = Holder {
        created_ms: now_ms - i64::try_from(TTL.as_millis()).unwrap() - 60_000,
        ..renewed
    };
    assert_eq!(long.stale(), None);
}

#[test]
fn tag_values_keep_what_logs_allows() {
    assert_eq!(
        tag_value("arn:aws:sts::1:assumed-role/ci/run#7"),
        "arn:aws:sts::1:assumed-role/ci/run_7"
    );
}
