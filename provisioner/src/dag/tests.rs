use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::*;

fn f(name: &str) -> ResourceId {
    ResourceId::Function {
        function: name.to_owned(),
    }
}

#[tokio::test]
async fn runs_each_after_what_it_waits_for_and_stops_after_a_failure() {
    // a -> b -> d, a -> c; e independent but failing.
    let needs = BTreeMap::from([
        (f("a"), BTreeSet::new()),
        (f("b"), BTreeSet::from([f("a")])),
        (f("c"), BTreeSet::from([f("a")])),
        (f("d"), BTreeSet::from([f("b")])),
    ]);
    let order = vec![f("a"), f("b"), f("c"), f("d")];
    let none = BTreeSet::new();
    let log = Arc::new(Mutex::new(Vec::new()));
    let outcome = run(&order, &needs, &none, 8, &Interrupt::default(), |id, _| {
        let log = log.clone();
        async move {
            tokio::time::sleep(Duration::from_millis(5)).await;
            log.lock().unwrap().push(id);
            Ok(())
        }
    })
    .await;
    let log = log.lock().unwrap().clone();
    assert_eq!(log.first(), Some(&f("a")));
    let pos = |id: &ResourceId| log.iter().position(|x| x == id).unwrap();
    assert!(pos(&f("b")) < pos(&f("d")));
    assert_eq!(outcome.done.len(), 4);

    let outcome = run(
        &order,
        &needs,
        &none,
        1,
        &Interrupt::default(),
        |id, _| async move {
            if id == f("b") {
                anyhow::bail!("boom")
            }
            Ok(())
        },
    )
    .await;
    assert_eq!(outcome.done, vec![f("a")]);
    assert_eq!(outcome.failed.len(), 1);
    assert_eq!(outcome.not_started, vec![f("c"), f("d")]);
}

/// A task that panics is reported under its own resource, not some other one, and nothing
/// after it starts.
#[tokio::test]
async fn a_panicking_task_is_reported_under_its_resource() {
    let needs = BTreeMap::from([
        (f("a"), BTreeSet::new()),
        (f("b"), BTreeSet::from([f("a")])),
        (f("c"), BTreeSet::from([f("b")])),
    ]);
    let order = vec![f("a"), f("b"), f("c")];
    let none = BTreeSet::new();
    let outcome = run(
        &order,
        &needs,
        &none,
        2,
        &Interrupt::default(),
        |id, _| async move {
            if id == f("b") {
                panic!("a bug in b's unit");
            }
            Ok(())
        },
    )
    .await;
    assert_eq!(outcome.done, vec![f("a")]);
    let failed: Vec<&ResourceId> = outcome.failed.iter().map(|(id, _)| id).collect();
    assert_eq!(failed, [&f("b")]);
    assert!(
        outcome.failed[0].1.to_string().contains("panicked"),
        "{:#}",
        outcome.failed[0].1
    );
    assert_eq!(outcome.not_started, vec![f("c")]);
}

/// After an interrupt nothing new starts; what is in flight finishes if it can within the
/// grace period, and is cut off after it.
#[tokio::test(start_paused = true)]
async fn an_interrupt_starts_nothing_new_and_cuts_off_what_outlasts_the_grace() {
    // a and slow run at once; b waits on a.
    let needs = BTreeMap::from([
        (f("a"), BTreeSet::new()),
        (f("slow"), BTreeSet::new()),
        (f("b"), BTreeSet::from([f("a")])),
    ]);
    let order = vec![f("a"), f("slow"), f("b")];
    let interrupt = Interrupt::default();
    let outcome = run(&order, &needs, &BTreeSet::new(), 8, &interrupt, |id, _| {
        let interrupt = interrupt.clone();
        async move {
            if id == f("a") {
                // Interrupted while a is in flight: a still finishes.
                interrupt.set();
                tokio::time::sleep(Duration::from_secs(1)).await;
            } else {
                tokio::time::sleep(GRACE * 3).await;
            }
            Ok(())
        }
    })
    .await;
    assert!(outcome.interrupted);
    assert_eq!(outcome.done, vec![f("a")]);
    assert_eq!(outcome.stopped, vec![f("slow")]);
    assert_eq!(outcome.not_started, vec![f("b")]);
    assert!(outcome.failed.is_empty());
}

/// A coordinator holds no slot; its changes take one each: with one slot, the API's changes
/// and the function's never overlap, and the API's last change comes once the function is
/// done.
#[tokio::test]
async fn a_coordinator_takes_a_slot_per_change_and_none_while_it_waits() {
    let api = ResourceId::Api;
    let needs = BTreeMap::from([(api.clone(), BTreeSet::new()), (f("a"), BTreeSet::new())]);
    let order = vec![api.clone(), f("a")];
    let log = Arc::new(Mutex::new(Vec::new()));
    let changing = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    // One change: at most one at a time.
    let change = |log: Arc<Mutex<Vec<String>>>,
                  changing: Arc<std::sync::atomic::AtomicUsize>,
                  what: String| async move {
        let before = changing.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        assert_eq!(before, 0, "{what} overlaps another change");
        tokio::time::sleep(Duration::from_millis(10)).await;
        log.lock().unwrap().push(what);
        changing.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    };
    let outcome = tokio::time::timeout(
        Duration::from_secs(5),
        run(
            &order,
            &needs,
            &BTreeSet::from([api.clone()]),
            1,
            &Interrupt::default(),
            |id, waits| {
                let (log, changing) = (log.clone(), changing.clone());
                async move {
                    if id == ResourceId::Api {
                        let slot = waits.slots().acquire().await;
                        change(log.clone(), changing.clone(), "api: first".into()).await;
                        drop(slot);
                        waits.finished(&f("a")).await?;
                        // Waiting for what this run does not schedule returns at once.
                        waits.finished(&f("elsewhere")).await?;
                        let _slot = waits.slots().acquire().await;
                        change(log, changing, "api: last".into()).await;
                    } else {
                        change(log, changing, id.to_string()).await;
                    }
                    Ok(())
                }
            },
        ),
    )
    .await
    .expect("one slot is enough");
    assert_eq!(
        *log.lock().unwrap(),
        ["functions.a", "api: first", "api: last"]
    );
    assert_eq!(outcome.done, vec![f("a"), api]);
}

/// A task waiting for one that fails is told so at once, and is reported stopped part-way,
/// not failed; what waited for it before starting never starts.
#[tokio::test]
async fn a_failure_abandons_the_tasks_waiting_for_it() {
    let api = ResourceId::Api;
    let needs = BTreeMap::from([
        (api.clone(), BTreeSet::new()),
        (f("a"), BTreeSet::new()),
        (f("b"), BTreeSet::from([f("a")])),
    ]);
    let order = vec![api.clone(), f("a"), f("b")];
    let outcome = tokio::time::timeout(
        Duration::from_secs(5),
        run(
            &order,
            &needs,
            &BTreeSet::from([api.clone()]),
            8,
            &Interrupt::default(),
            |id, waits| async move {
                match &id {
                    ResourceId::Api => {
                        assert!(waits.go_on().is_ok(), "nothing failed yet");
                        let err = waits.finished(&f("b")).await.unwrap_err();
                        assert_eq!(err.why, Stopping::Failed);
                        assert_eq!(err.awaited, Some(f("b")));
                        // Nor may it start another change.
                        let stop = waits.go_on().unwrap_err();
                        assert_eq!((stop.awaited, stop.why), (None, Stopping::Failed));
                        Err(anyhow::Error::new(err).context("api: applying"))
                    }
                    _ if id == f("a") => {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        anyhow::bail!("boom")
                    }
                    _ => Ok(()),
                }
            },
        ),
    )
    .await
    .expect("the waiting task is released");
    assert_eq!(outcome.failed.len(), 1);
    assert_eq!(outcome.failed[0].0, f("a"));
    assert_eq!(outcome.stopped, vec![api]);
    assert_eq!(outcome.not_started, vec![f("b")]);
}

#[test]
fn reversed_needs_delete_dependents_first() {
    let needs = BTreeMap::from([
        (f("a"), BTreeSet::new()),
        (f("b"), BTreeSet::from([f("a")])),
    ]);
    let reversed = reversed(&needs);
    assert_eq!(reversed[&f("a")], BTreeSet::from([f("b")]));
    assert!(reversed[&f("b")].is_empty());
}
