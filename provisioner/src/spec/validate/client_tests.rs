//! An app client's settings people change (token validities with units, `preventUserExistenceErrors`),
//! one case each, as `tests` checks the other rules.

use super::tests::{check_table, edited};

const CLIENT: &str = "        readAttributes: [email, email_verified]\n";

fn with(settings: &str) -> String {
    edited(&[(CLIENT, &format!("{CLIENT}{settings}"))])
}

#[test]
fn token_validities_are_durations_within_cognitos_bounds() {
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "no unit",
            with("        accessTokenValidity: 60\n"),
            "`{file}` is not a valid stack: 1 error\n{file}:17:30: `userPools.users.clients.web.accessTokenValidity`: `60` is not a duration\n  hint: write a number and a unit: `m` (minutes), `h` (hours) or `d` (days), such as `1h` or `30d`",
        ),
        (
            "an access token valid past a day",
            with("        accessTokenValidity: 2d\n"),
            "`{file}` is not a valid stack: 1 error\n{file}:17:30: `userPools.users.clients.web.accessTokenValidity`: `accessTokenValidity` is 2d; Cognito takes 5m to 1d\n  hint: write a number and a unit: `m` (minutes), `h` (hours) or `d` (days), such as `1h` or `30d`",
        ),
        (
            "a refresh token shorter than the tokens it renews",
            with("        idTokenValidity: 12h\n        refreshTokenValidity: 2h\n"),
            "`{file}` is not a valid stack: 1 error\n{file}:18:31: `userPools.users.clients.web.refreshTokenValidity`: a refresh token valid for less than the access or id token it renews\n  hint: make `refreshTokenValidity` at least as long as `accessTokenValidity` and `idTokenValidity`",
        ),
        (
            "valid settings",
            with(
                "        accessTokenValidity: 90m\n        refreshTokenValidity: 7d\n        preventUserExistenceErrors: false\n",
            ),
            "",
        ),
    ];
    check_table(cases);
}
