//! What the unit tests share.

/// Runs `check` on every case of a table, then fails once, naming every case that failed with
/// what `check` said: one wrong case never hides the others, and each is named by its own name.
pub fn table<N: std::fmt::Display, C>(
    cases: impl IntoIterator<Item = (N, C)>,
    check: impl Fn(&C) -> Result<(), String>,
) {
    let mut failures = Vec::new();
    let mut count = 0;
    for (name, case) in cases {
        count += 1;
        if let Err(why) = check(&case) {
            failures.push(format!("case `{name}`: {why}"));
        }
    }
    assert!(count > 0, "the table has no case: it checks nothing");
    assert!(
        failures.is_empty(),
        "{} of {count} cases failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// `Ok` when `said` is `expected`, else both, for [`table`].
pub fn same(said: &str, expected: &str) -> Result<(), String> {
    if said == expected {
        Ok(())
    } else {
        Err(format!("\n--- said\n{said}\n--- expected\n{expected}"))
    }
}

#[test]
fn a_table_names_each_failing_case_and_only_those() {
    let outcome = std::panic::catch_unwind(|| {
        table([("one", 1), ("two", 2), ("three", 3)], |n| {
            if n % 2 == 1 {
                Err(format!("{n} is odd"))
            } else {
                Ok(())
            }
        });
    });
    let message = outcome.expect_err("two cases fail");
    let message = message
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(message.starts_with("2 of 3 cases failed"), "{message}");
    assert!(message.contains("case `one`: 1 is odd"), "{message}");
    assert!(message.contains("case `three`: 3 is odd"), "{message}");
    assert!(!message.contains("`two`"), "{message}");
    assert!(std::panic::catch_unwind(|| table(Vec::<(&str, ())>::new(), |_| Ok(()))).is_err());
}
