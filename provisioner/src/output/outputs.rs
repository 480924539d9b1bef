//! The stack's outputs for a front end (`provisioner outputs`, `serve --outputs`): JSON, a dotenv
//! file (`--prefix VITE_` for Vite, `NEXT_PUBLIC_` for Next.js), or shell exports. The names are
//! stable (README lists them): a front end reads one file, written from the deployed stack or by
//! `serve` with its local URL.

pub use crate::cli::OutputsFormat;
use crate::report::Outputs;
use crate::usage::UsageError;

/// A prefix must make valid variable names: letters, digits and `_`, not starting with a digit;
/// and JSON has no variables to put it before.
pub fn check_prefix(prefix: &str, format: OutputsFormat) -> Result<(), UsageError> {
    if format == OutputsFormat::Json && !prefix.is_empty() {
        return Err(UsageError(format!(
            "a prefix (`{prefix}`) names variables, and JSON has none\n\nhint: add `--format dotenv` or `--format shell`, or leave out the prefix"
        )));
    }
    let valid = prefix
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !prefix.starts_with(|c: char| c.is_ascii_digit());
    if valid {
        return Ok(());
    }
    Err(UsageError(format!(
        "`--prefix {prefix}` would not make valid variable names\n\nhint: use letters, digits and `_`, such as `VITE_` or `NEXT_PUBLIC_`"
    )))
}

/// `logical-name` as part of a variable's name: `LOGICAL_NAME`.
fn upper(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// The outputs as (variable name, value), in a stable order.
pub fn variables(outputs: &Outputs) -> Vec<(String, String)> {
    let mut vars = Vec::new();
    let mut push = |name: String, value: &Option<String>| {
        if let Some(value) = value {
            vars.push((name, value.clone()));
        }
    };
    push("API_URL".to_owned(), &outputs.api_url);
    push("API_ID".to_owned(), &outputs.api_id);
    push("REGION".to_owned(), &Some(outputs.region.clone()));
    push("USER_POOL_ID".to_owned(), &outputs.user_pool_id);
    push("USER_POOL_ARN".to_owned(), &outputs.user_pool_arn);
    push(
        "USER_POOL_CLIENT_ID".to_owned(),
        &outputs.user_pool_client_id,
    );
    for (pool, found) in &outputs.user_pools {
        let pool = upper(pool);
        push(format!("USER_POOLS_{pool}_ID"), &Some(found.id.clone()));
        push(format!("USER_POOLS_{pool}_ARN"), &Some(found.arn.clone()));
        for (client, id) in &found.clients {
            let client = upper(client);
            push(
                format!("USER_POOLS_{pool}_CLIENTS_{client}_ID"),
                &Some(id.clone()),
            );
        }
    }
    vars
}

/// The outputs written in `format`, each variable's name after `prefix` (not in JSON, whose
/// names are the report's).
pub fn render(outputs: &Outputs, format: OutputsFormat, prefix: &str) -> String {
    match format {
        OutputsFormat::Json => {
            let mut text = serde_json::to_string_pretty(outputs).unwrap_or_else(|_| "{}".into());
            text.push('\n');
            text
        }
        OutputsFormat::Dotenv => variables(outputs)
            .into_iter()
            .map(|(name, value)| format!("{prefix}{name}={}\n", dotenv_value(&value)))
            .collect(),
        OutputsFormat::Shell => variables(outputs)
            .into_iter()
            .map(|(name, value)| {
                format!("export {prefix}{name}='{}'\n", value.replace('\'', r"'\''"))
            })
            .collect(),
    }
}

/// A dotenv value: bare when it is plain, else double-quoted.
fn dotenv_value(value: &str) -> String {
    let plain = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.:/@+,".contains(c));
    if plain {
        value.to_owned()
    } else {
        format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::PoolOutputs;

    fn outputs() -> Outputs {
        let mut outputs = Outputs {
            api_url: Some("https://a1.execute-api.us-east-1.amazonaws.com/prod".to_owned()),
            api_id: Some("a1".to_owned()),
            region: "us-east-1".to_owned(),
            user_pool_id: Some("us-east-1_X".to_owned()),
            user_pool_arn: Some("arn:aws:cognito-idp:us-east-1:1:userpool/us-east-1_X".to_owned()),
            user_pool_client_id: Some("c1".to_owned()),
            ..Outputs::default()
        };
        outputs.user_pools.insert(
            "users".to_owned(),
            PoolOutputs {
                id: "us-east-1_X".to_owned(),
                arn: "arn:aws:cognito-idp:us-east-1:1:userpool/us-east-1_X".to_owned(),
                clients: [("web-app".to_owned(), "c1".to_owned())].into(),
            },
        );
        outputs
    }

    #[test]
    fn dotenv_and_shell_use_stable_names_after_the_prefix() {
        let dotenv = render(&outputs(), OutputsFormat::Dotenv, "VITE_");
        assert_eq!(
            dotenv,
            "VITE_API_URL=https://a1.execute-api.us-east-1.amazonaws.com/prod\n\
             VITE_API_ID=a1\n\
             VITE_REGION=us-east-1\n\
             VITE_USER_POOL_ID=us-east-1_X\n\
             VITE_USER_POOL_ARN=arn:aws:cognito-idp:us-east-1:1:userpool/us-east-1_X\n\
             VITE_USER_POOL_CLIENT_ID=c1\n\
             VITE_USER_POOLS_USERS_ID=us-east-1_X\n\
             VITE_USER_POOLS_USERS_ARN=arn:aws:cognito-idp:us-east-1:1:userpool/us-east-1_X\n\
             VITE_USER_POOLS_USERS_CLIENTS_WEB_APP_ID=c1\n"
        );
        let shell = render(&outputs(), OutputsFormat::Shell, "");
        assert!(
            shell.starts_with("export API_URL='https://a1.execute-api"),
            "{shell}"
        );
        let json: serde_json::Value =
            serde_json::from_str(&render(&outputs(), OutputsFormat::Json, "")).unwrap();
        assert_eq!(
            json["apiUrl"],
            "https://a1.execute-api.us-east-1.amazonaws.com/prod"
        );
        assert_eq!(json["region"], "us-east-1");
        assert_eq!(json["userPools"]["users"]["clients"]["web-app"], "c1");
    }

    #[test]
    fn a_prefix_must_make_variable_names_and_odd_values_are_quoted() {
        let dotenv = OutputsFormat::Dotenv;
        assert!(check_prefix("NEXT_PUBLIC_", dotenv).is_ok() && check_prefix("", dotenv).is_ok());
        for bad in ["VITE-", "1X_", "A B"] {
            assert!(check_prefix(bad, dotenv).is_err(), "{bad}");
        }
        assert!(check_prefix("VITE_", OutputsFormat::Json).is_err());
        assert!(check_prefix("", OutputsFormat::Json).is_ok());
        assert_eq!(dotenv_value("a b\"c"), "\"a b\\\"c\"");
    }
}
