//! The pool's writes: create (at most once, tagged in the call), update (the whole configuration,
//! as UpdateUserPool resets what it is not sent), delete (protection lifted first), and the
//! request parts they share.

use super::*;

/// What an at-most-once create gave: its answer, or the pool found after an answer was lost.
enum Made {
    New(Option<Box<UserPoolType>>),
    Found(Box<LivePool>),
}

/// Creates the pool, tagged as `stack`'s in the same call, so no crash can leave it unmarked.
pub async fn create(
    client: &Client,
    (stack, tags): (&str, &crate::kinds::tags::Tags),
    pool: &UserPool,
) -> Result<LivePool, UserPoolError> {
    let settings = PoolSettings::desired(pool, tags);
    let name = &pool.physical_name;
    let request = || {
        let mut request = client
            .create_user_pool()
            .pool_name(name)
            .set_user_pool_tags(Some(crate::kinds::tags::with_ownership(
                tags,
                &[(OWNERSHIP_TAG, stack)],
            )))
            .policies(policies(&settings))
            .deletion_protection(deletion_protection(&settings))
            .admin_create_user_config(admin_create_user_config(&settings))
            .account_recovery_setting(account_recovery(&settings))
            .verification_message_template(kept::verification_message_template(None))
            .set_username_configuration(username_configuration(&settings));
        for attribute in &settings.auto_verify {
            request = request.auto_verified_attributes(verified_attribute(*attribute));
        }
        for attribute in &settings.username_attributes {
            request = request.username_attributes(username_attribute(*attribute));
        }
        for attribute in &settings.required_attributes {
            request = request.schema(
                SchemaAttributeType::builder()
                    .name(attribute)
                    .attribute_data_type(AttributeDataType::String)
                    .required(true)
                    .mutable(true)
                    .build(),
            );
        }
        request
    };
    // At most once: a retried CreateUserPool whose answer was lost would make a second pool.
    let made = crate::once::create_at_most_once(
        || async {
            request()
                .customize()
                .config_override(crate::once::sdk_retries_off!(
                    aws_sdk_cognitoidentityprovider
                ))
                .send()
                .await
                .map(|output| Made::New(output.user_pool().cloned().map(Box::new)))
        },
        || async {
            Ok(find_owned(client, name, stack)
                .await?
                .map(|found| Made::Found(Box::new(found))))
        },
    )
    .await;
    let created = match made {
        Ok(Made::Found(found)) => return Ok(*found),
        Ok(Made::New(Some(created))) => created,
        Ok(Made::New(None)) => {
            return Err(UserPoolError::Incomplete {
                action: "CreateUserPool",
                name: name.clone(),
                missing: "the pool",
            });
        }
        Err(crate::once::Failed::Create(err)) => return Err(aws_error("create", name)(err).into()),
        Err(crate::once::Failed::Find(err)) => return Err(err),
    };
    live_pool(&created, name)
}

/// Brings a live pool to the desired settings. UpdateUserPool resets every setting it is not
/// given, so this always sends all of them, and the ownership tag with them. Immutable settings
/// (see `diff`) are not changed here: that needs a replacement, which only the user can allow.
pub async fn update(
    client: &Client,
    (stack, tags): (&str, &crate::kinds::tags::Tags),
    live: &LivePool,
    pool: &UserPool,
) -> Result<(), UserPoolError> {
    update_to(client, stack, live, &PoolSettings::desired(pool, tags)).await
}

/// [`update`] to `settings` (`adopt` on an endpoint without TagResource sends the live ones).
pub async fn update_to(
    client: &Client,
    stack: &str,
    live: &LivePool,
    settings: &PoolSettings,
) -> Result<(), UserPoolError> {
    update_with(client, stack, live, settings, None).await
}

/// Sets the pool's Lambda triggers to `lambda_config`, every other setting sent as `live` (read
/// just before) has it: UpdateUserPool resets what it is not sent.
pub async fn set_lambda_config(
    client: &Client,
    stack: &str,
    live: &LivePool,
    lambda_config: LambdaConfigType,
) -> Result<(), UserPoolError> {
    update_with(client, stack, live, &live.settings, Some(lambda_config)).await
}

async fn update_with(
    client: &Client,
    stack: &str,
    live: &LivePool,
    settings: &PoolSettings,
    lambda_config: Option<LambdaConfigType>,
) -> Result<(), UserPoolError> {
    let settings = settings.clone();
    // The stack's tags and its ownership tag: UpdateUserPool sets the pool's tags to these.
    let tags = crate::kinds::tags::with_ownership(&settings.tags, &[(OWNERSHIP_TAG, stack)]);
    let described = live.described.as_ref();
    let mut request = kept::keep(client.update_user_pool(), described)
        .user_pool_id(&live.id)
        .set_user_pool_tags(Some(tags))
        .policies(kept::policies(policies(&settings), described))
        .deletion_protection(deletion_protection(&settings))
        .admin_create_user_config(kept::admin_create_user_config(
            admin_create_user_config(&settings),
            described,
        ))
        .account_recovery_setting(account_recovery(&settings))
        .verification_message_template(kept::verification_message_template(described));
    if let Some(lambda_config) = lambda_config {
        request = request.lambda_config(lambda_config);
    }
    for attribute in &settings.auto_verify {
        request = request.auto_verified_attributes(verified_attribute(*attribute));
    }
    request
        .send()
        .await
        .map_err(aws_error("update", &live.name))?;
    // Tags no longer declared: UpdateUserPool sets the pool's tags to those it is sent; should it
    // keep one it is not sent, read back, it goes explicitly.
    let removed =
        crate::kinds::tags::TagChange::between(&live.settings.tags, &settings.tags).remove;
    let kept: Vec<String> = if removed.is_empty() {
        Vec::new()
    } else {
        let now = describe(client, &live.id, &live.name).await?;
        removed
            .into_iter()
            .filter(|key| now.as_ref().is_some_and(|pool| pool.tags.contains_key(key)))
            .collect()
    };
    if !kept.is_empty() {
        let removed = kept;
        client
            .untag_resource()
            .resource_arn(&live.arn)
            .set_tag_keys(Some(removed))
            .send()
            .await
            .map_err(aws_error("untag", &live.name))?;
    }
    Ok(())
}

/// Deletes the pool and every user in it. Only for an explicit opt-in (`removal: delete`,
/// `--delete-data` or `--allow-replace`): AWS refuses while deletion protection is on, so it is
/// lifted first (with the full configuration, as UpdateUserPool requires). A pool already gone
/// counts as deleted.
pub async fn delete(
    client: &Client,
    stack: &str,
    live: &LivePool,
    pool: &UserPool,
) -> Result<(), UserPoolError> {
    if live.settings.deletion_protection {
        let mut unprotected = pool.clone();
        unprotected.deletion_protection = false;
        match update(client, (stack, &live.settings.tags), live, &unprotected).await {
            Err(UserPoolError::Aws(err)) if err.is_not_found() => return Ok(()),
            Err(UserPoolError::Aws(err))
                if err.is_access_denied() && gone(client, live).await? =>
            {
                return Ok(());
            }
            result => result?,
        }
    }
    let deleted = client
        .delete_user_pool()
        .user_pool_id(&live.id)
        .send()
        .await;
    match crate::aws::absent_as_none(deleted.map_err(aws_error("delete", &live.name))) {
        Err(err) if err.is_access_denied() && gone(client, live).await? => Ok(()),
        result => result.map(drop).map_err(Into::into),
    }
}

/// Whether `live` no longer exists. Under a policy that grants a pool's actions by its tag (as
/// `provisioner policy`'s does), a pool deleted meanwhile (a retried delete whose first answer
/// was lost) has no tag to match and is refused, not "not found"; DescribeUserPool, granted on
/// every pool, says which.
async fn gone(client: &Client, live: &LivePool) -> Result<bool, UserPoolError> {
    Ok(describe(client, &live.id, &live.name).await?.is_none())
}

fn policies(settings: &PoolSettings) -> UserPoolPolicyType {
    let policy = &settings.password_policy;
    UserPoolPolicyType::builder()
        .password_policy(
            PasswordPolicyType::builder()
                .minimum_length(i32::from(policy.min_length))
                .require_lowercase(policy.require_lowercase)
                .require_uppercase(policy.require_uppercase)
                .require_numbers(policy.require_numbers)
                .require_symbols(policy.require_symbols)
                .build(),
        )
        .build()
}

/// Whether `Ada` and `ada` are two users: set once, when the pool is made.
fn username_configuration(settings: &PoolSettings) -> Option<UsernameConfigurationType> {
    // `case_sensitive` is the builder's one required field, and it is given.
    UsernameConfigurationType::builder()
        .case_sensitive(settings.case_sensitive_usernames)
        .build()
        .ok()
}

fn deletion_protection(settings: &PoolSettings) -> DeletionProtectionType {
    if settings.deletion_protection {
        DeletionProtectionType::Active
    } else {
        DeletionProtectionType::Inactive
    }
}

fn admin_create_user_config(settings: &PoolSettings) -> AdminCreateUserConfigType {
    AdminCreateUserConfigType::builder()
        .allow_admin_create_user_only(!settings.self_sign_up)
        .build()
}

fn account_recovery(settings: &PoolSettings) -> AccountRecoverySettingType {
    let mechanisms = settings
        .account_recovery
        .iter()
        .zip(1..)
        .filter_map(|(attribute, priority)| {
            let name = match attribute {
                VerifiedAttribute::Email => RecoveryOptionNameType::VerifiedEmail,
                VerifiedAttribute::PhoneNumber => RecoveryOptionNameType::VerifiedPhoneNumber,
            };
            RecoveryOptionType::builder()
                .name(name)
                .priority(priority)
                .build()
                .ok()
        })
        .collect();
    AccountRecoverySettingType::builder()
        .set_recovery_mechanisms(Some(mechanisms))
        .build()
}

fn verified_attribute(attribute: VerifiedAttribute) -> VerifiedAttributeType {
    match attribute {
        VerifiedAttribute::Email => VerifiedAttributeType::Email,
        VerifiedAttribute::PhoneNumber => VerifiedAttributeType::PhoneNumber,
    }
}

fn username_attribute(attribute: VerifiedAttribute) -> UsernameAttributeType {
    match attribute {
        VerifiedAttribute::Email => UsernameAttributeType::Email,
        VerifiedAttribute::PhoneNumber => UsernameAttributeType::PhoneNumber,
    }
}

impl crate::plan::Render for VerifiedAttribute {
    /// As stack.yaml writes it.
    fn render(&self) -> String {
        match self {
            VerifiedAttribute::Email => "email",
            VerifiedAttribute::PhoneNumber => "phone_number",
        }
        .to_owned()
    }
}

impl crate::plan::Render for PasswordPolicy {
    /// As stack.yaml's `passwordPolicy` writes it.
    fn render(&self) -> String {
        format!(
            "{{minLength: {}, requireLowercase: {}, requireUppercase: {}, requireNumbers: {}, requireSymbols: {}}}",
            self.min_length,
            self.require_lowercase,
            self.require_uppercase,
            self.require_numbers,
            self.require_symbols
        )
    }
}
