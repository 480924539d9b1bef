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

#[test]
fn refresh_token_rotation_has_no_refresh_token_auth_and_a_grace_within_a_minute() {
    const FLOWS: &str = "        authFlows: [USER_PASSWORD_AUTH, REFRESH_TOKEN_AUTH]\n";
    let rotating = |flows: &str, settings: &str| {
        edited(&[
            (FLOWS, flows),
            (
                CLIENT,
                &format!("{CLIENT}        rotateRefreshTokens: true\n{settings}"),
            ),
        ])
    };
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "REFRESH_TOKEN_AUTH kept",
            rotating(FLOWS, ""),
            "`{file}` is not a valid stack: 1 error\n{file}:14:41: `userPools.users.clients.web.authFlows.1`: a client that rotates refresh tokens cannot have REFRESH_TOKEN_AUTH (Cognito refuses it)\n  hint: remove it: a rotating client renews tokens through GetTokensFromRefreshToken (the refresh handler does when `REFRESH_TOKEN_ROTATION` is `true`)",
        ),
        (
            "a grace past a minute",
            rotating(
                "        authFlows: [USER_PASSWORD_AUTH]\n",
                "        refreshTokenGracePeriod: 90s\n",
            ),
            "`{file}` is not a valid stack: 1 error\n{file}:18:34: `userPools.users.clients.web.refreshTokenGracePeriod`: `90s` is not a grace period Cognito takes\n  hint: write seconds from `0s` to `60s`: how long a rotated-out refresh token still works, for a client's retry",
        ),
        (
            "a grace without rotation",
            with("        refreshTokenGracePeriod: 10s\n"),
            "`{file}` is not a valid stack: 1 error\n{file}:17:34: `userPools.users.clients.web.refreshTokenGracePeriod`: a grace period for a client that does not rotate refresh tokens\n  hint: add `rotateRefreshTokens: true`, or remove `refreshTokenGracePeriod`",
        ),
        (
            "rotation with a grace",
            rotating(
                "        authFlows: [USER_PASSWORD_AUTH]\n",
                "        refreshTokenGracePeriod: 10s\n",
            ),
            "",
        ),
        (
            "a misspelt setting reference",
            edited(&[(
                "REFRESH_TOKEN_ROTATION: ${userPools.users.clients.web.rotateRefreshTokens}",
                "REFRESH_TOKEN_ROTATION: ${userPools.users.clients.web.rotateRefreshToken}",
            )]),
            "`{file}` is not a valid stack: 1 error\n{file}:50:31: `functions.refresh.environment.REFRESH_TOKEN_ROTATION`: `${userPools.users.clients.web.rotateRefreshToken}` does not name anything in this stack\n  hint: did you mean `${userPools.users.clients.web.rotateRefreshTokens}`?",
        ),
    ];
    check_table(cases);
}
