//! Reading functions: one by name (with its tags), and the names under a prefix.

use aws_sdk_lambda::Client;

use super::{FunctionError, FunctionSettings, LiveFunction, aws_error};
use crate::spec::OWNERSHIP_TAG;

/// The function named `name`, if it exists (whoever owns it).
pub async fn find(client: &Client, name: &str) -> Result<Option<LiveFunction>, FunctionError> {
    let output = match client.get_function().function_name(name).send().await {
        Ok(output) => output,
        Err(err) => match aws_error("read", name, err) {
            FunctionError::Aws(err) if err.is_not_found() => return Ok(None),
            err => return Err(err),
        },
    };
    let Some(configuration) = output.configuration() else {
        return Ok(None);
    };
    let arn = configuration.function_arn().unwrap_or_default().to_owned();
    let tags = match (output.tags(), output.tags_error()) {
        (Some(tags), _) => tags.clone(),
        // GetFunction returns `Tags` only to callers allowed `lambda:ListTags`; others get
        // `TagsError` instead. Ask ListTags itself, which says plainly when it is denied.
        (None, Some(tags_error)) => tags_from_list_tags(client, name, &arn, tags_error).await?,
        (None, None) => Default::default(),
    };
    let failed =
        (configuration.state() == Some(&aws_sdk_lambda::types::State::Failed)).then(|| {
            configuration
                .state_reason()
                .unwrap_or("Lambda gave no reason")
                .to_owned()
        });
    let mut settings = FunctionSettings::live(configuration);
    settings.tags = crate::kinds::tags::managed(&tags);
    Ok(Some(LiveFunction {
        name: name.to_owned(),
        arn,
        owner: tags.get(OWNERSHIP_TAG).cloned(),
        settings,
        failed,
    }))
}

/// The tags through `ListTags`, for a caller to whom GetFunction would not show them.
async fn tags_from_list_tags(
    client: &Client,
    name: &str,
    arn: &str,
    tags_error: &aws_sdk_lambda::types::TagsError,
) -> Result<std::collections::HashMap<String, String>, FunctionError> {
    match client.list_tags().resource(arn).send().await {
        Ok(output) => Ok(output.tags().cloned().unwrap_or_default()),
        Err(err) => {
            use aws_sdk_lambda::error::ProvideErrorMetadata;
            let code = err.code().unwrap_or_default().to_owned();
            if code.contains("AccessDenied") {
                Err(FunctionError::TagsUnreadable {
                    name: name.to_owned(),
                    arn: arn.to_owned(),
                    detail: format!(
                        "GetFunction answered {}; ListTags answered {code}",
                        tags_error.error_code()
                    ),
                })
            } else {
                Err(aws_error("read the tags of", name, err))
            }
        }
    }
}

/// Names of every function whose name starts with `prefix` (every page listed).
pub async fn names_with_prefix(
    client: &Client,
    prefix: &str,
) -> Result<Vec<String>, FunctionError> {
    let mut pages = client.list_functions().into_paginator().send();
    let mut names = Vec::new();
    while let Some(page) = pages.next().await {
        let page =
            page.map_err(|err| aws_error("list functions named", &format!("{prefix}*"), err))?;
        names.extend(
            page.functions()
                .iter()
                .filter_map(|f| f.function_name())
                .filter(|name| name.starts_with(prefix))
                .map(str::to_owned),
        );
    }
    Ok(names)
}
