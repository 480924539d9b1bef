use super::*;
use crate::plan::FieldChange;

fn settings(flows: &[&str], secret: bool) -> ClientSettings {
    ClientSettings {
        name: "auth-demo-web".to_owned(),
        auth_flows: flows.iter().map(|f| (*f).to_owned()).collect(),
        generate_secret: secret,
        read_attributes: Vec::new(),
        token_revocation: true,
        prevent_user_existence_errors: "ENABLED".to_owned(),
        auth_session_validity: 3,
        access_token: Minutes(60),
        id_token: Minutes(60),
        refresh_token: Minutes(30 * 24 * 60),
        refresh_token_rotation: Rotation(None),
    }
}

fn app(read_attributes: &[&str]) -> AppClient {
    AppClient {
        physical_name: "auth-demo-web".to_owned(),
        auth_flows: vec!["USER_PASSWORD_AUTH".to_owned()],
        generate_secret: false,
        read_attributes: read_attributes.iter().map(|a| (*a).to_owned()).collect(),
        prevent_user_existence_errors: true,
        access_token_minutes: 60,
        id_token_minutes: 60,
        refresh_token_minutes: 30 * 24 * 60,
        refresh_token_rotation: None,
    }
}

#[test]
fn every_managed_setting_is_diffed_and_drift_shows() {
    let desired = ClientSettings::desired(&app(&["email"]));
    let mut live = desired.clone();
    live.token_revocation = false;
    live.prevent_user_existence_errors = "LEGACY".to_owned();
    live.auth_session_validity = 15;
    live.refresh_token = Minutes(7 * 24 * 60);
    live.refresh_token_rotation = Rotation(Some(10));
    let Action::Update { changes } = diff(&live, &desired) else {
        panic!("an update");
    };
    let fields: Vec<&str> = changes.iter().map(|c| c.field).collect();
    assert_eq!(
        fields,
        [
            "tokenRevocation",
            "preventUserExistenceErrors",
            "authSessionValidity",
            "refreshTokenValidity",
            "refreshTokenRotation"
        ]
    );
    let rotation = changes
        .iter()
        .find(|c| c.field == "refreshTokenRotation")
        .unwrap();
    assert_eq!(
        (rotation.live.as_str(), rotation.desired.as_str()),
        ("on (10s grace)", "off")
    );
    // Shown as stack.yaml writes it.
    let refresh = changes
        .iter()
        .find(|c| c.field == "refreshTokenValidity")
        .unwrap();
    assert_eq!(
        (refresh.live.as_str(), refresh.desired.as_str()),
        ("7d", "30d")
    );
}

/// Cognito reports a validity in its unit (hours and days by default when it gives none): the
/// same validity in other units is no change.
#[test]
fn validities_compare_in_minutes_whatever_unit_cognito_reports() {
    let reported = |units: Option<TokenValidityUnitsType>, access, refresh| {
        ClientSettings::live(
            &UserPoolClientType::builder()
                .access_token_validity(access)
                .id_token_validity(1)
                .refresh_token_validity(refresh)
                .set_token_validity_units(units)
                .build(),
        )
    };
    let defaults = reported(None, 1, 30);
    assert_eq!(
        (
            defaults.access_token,
            defaults.id_token,
            defaults.refresh_token
        ),
        (Minutes(60), Minutes(60), Minutes(30 * 24 * 60))
    );
    let in_minutes = reported(Some(in_minutes()), 60, 43_200);
    assert_eq!(
        (in_minutes.access_token, in_minutes.refresh_token),
        (Minutes(60), Minutes(30 * 24 * 60))
    );
}

/// A client found under its old name (a `moved:` entry) is renamed in place: an update of its name.
#[test]
fn a_moved_client_is_renamed_in_place() {
    let desired = ClientSettings::desired(&app(&["email"]));
    let mut live = desired.clone();
    live.name = "auth-demo-old".to_owned();
    let Action::Update { changes } = diff(&live, &desired) else {
        panic!("an update");
    };
    assert_eq!(changes.len(), 1);
    assert_eq!(
        (
            changes[0].field,
            changes[0].live.as_str(),
            changes[0].desired.as_str()
        ),
        ("name", "auth-demo-old", "auth-demo-web")
    );
}

#[test]
fn reading_every_standard_attribute_is_cognitos_default_set() {
    // DescribeUserPoolClient leaves ReadAttributes out for the default set.
    let live = ClientSettings::live(
        &UserPoolClientType::builder()
            .client_id("c")
            .client_name("auth-demo-web")
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
            .enable_token_revocation(true)
            .prevent_user_existence_errors(PreventUserExistenceErrorTypes::Enabled)
            .auth_session_validity(3)
            .build(),
    );
    let every = ClientSettings::desired(&app(STANDARD_READ_ATTRIBUTES));
    assert_eq!(diff(&live, &every), Action::NoOp);
    assert!(matches!(
        diff(&live, &ClientSettings::desired(&app(&["email"]))),
        Action::Update { .. }
    ));
}

/// UpdateUserPoolClient resets what it is not sent: the request carries every setting.
#[tokio::test]
async fn an_update_sends_the_whole_configuration() {
    use aws_sdk_cognitoidentityprovider::operation::update_user_pool_client::UpdateUserPoolClientOutput;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    let update = mock!(Client::update_user_pool_client)
        .match_requests(|req| {
            req.user_pool_id() == Some("us-east-1_pool")
                && req.client_id() == Some("client-id")
                && req.client_name() == Some("auth-demo-web")
                && req.explicit_auth_flows() == [ExplicitAuthFlowsType::AllowUserPasswordAuth]
                && req.read_attributes() == ["email"]
                && req.enable_token_revocation() == Some(true)
                && req.prevent_user_existence_errors()
                    == Some(&PreventUserExistenceErrorTypes::Enabled)
                && req.auth_session_validity() == Some(3)
                && req.access_token_validity() == Some(60)
                && req.refresh_token_validity() == Some(30 * 24 * 60)
                && req.token_validity_units().and_then(|u| u.refresh_token())
                    == Some(&TimeUnitsType::Minutes)
        })
        .then_output(|| UpdateUserPoolClientOutput::builder().build());
    let client = mock_client!(
        aws_sdk_cognitoidentityprovider,
        RuleMode::Sequential,
        [&update]
    );
    let live = LiveClient {
        id: "client-id".to_owned(),
        name: "auth-demo-web".to_owned(),
        settings: settings(&["USER_PASSWORD_AUTH"], false),
    };
    super::update(&client, "us-east-1_pool", &live, &app(&["email"]))
        .await
        .expect("the request carried every setting");
    assert_eq!(update.num_calls(), 1);
}

#[test]
fn flows_update_in_place_and_a_secret_forces_replacement() {
    let desired = settings(&["REFRESH_TOKEN_AUTH", "USER_PASSWORD_AUTH"], false);
    assert_eq!(diff(&desired, &desired), Action::NoOp);
    assert_eq!(
        diff(&settings(&["REFRESH_TOKEN_AUTH"], false), &desired),
        Action::Update {
            changes: vec![FieldChange {
                field: "authFlows",
                live: "[REFRESH_TOKEN_AUTH]".to_owned(),
                desired: "[REFRESH_TOKEN_AUTH, USER_PASSWORD_AUTH]".to_owned(),
                forces_replacement: false,
            }],
        }
    );
    assert!(matches!(
        diff(&settings(&["REFRESH_TOKEN_AUTH", "USER_PASSWORD_AUTH"], true), &desired),
        Action::Replace { changes } if changes[0].field == "generateSecret"
    ));
}

#[test]
fn read_attributes_update_in_place_and_none_means_cognitos_default() {
    let default = settings(&["USER_PASSWORD_AUTH"], false);
    let mut email = default.clone();
    email.read_attributes = vec!["email".to_owned(), "email_verified".to_owned()];
    assert_eq!(diff(&email, &email), Action::NoOp);
    assert!(matches!(
        diff(&default, &email),
        Action::Update { changes } if changes[0].field == "readAttributes"
    ));
    assert!(matches!(diff(&email, &default), Action::Update { .. }));
    assert_eq!(read_attributes(&default), None);
    assert_eq!(read_attributes(&email), Some(email.read_attributes.clone()));
}

/// CreateUserPoolClient carries every managed setting (no secret, the flows, token revocation,
/// LEGACY existence errors, 3-minute sessions), so a new client needs no update after it.
#[tokio::test]
async fn a_create_sends_every_setting() {
    use aws_sdk_cognitoidentityprovider::operation::create_user_pool_client::CreateUserPoolClientOutput;
    use aws_sdk_cognitoidentityprovider::types::UserPoolClientType;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    let create = mock!(Client::create_user_pool_client)
        .match_requests(|req| {
            req.user_pool_id() == Some("us-east-1_pool")
                && req.client_name() == Some("auth-demo-web")
                && req.generate_secret() == Some(false)
                && req.explicit_auth_flows() == [ExplicitAuthFlowsType::AllowUserPasswordAuth]
                && req.enable_token_revocation() == Some(true)
                && req.prevent_user_existence_errors()
                    == Some(&PreventUserExistenceErrorTypes::Enabled)
                && req.auth_session_validity() == Some(3)
        })
        .then_output(|| {
            CreateUserPoolClientOutput::builder()
                .user_pool_client(
                    UserPoolClientType::builder()
                        .client_id("new-id")
                        .client_name("auth-demo-web")
                        .build(),
                )
                .build()
        });
    let client = mock_client!(
        aws_sdk_cognitoidentityprovider,
        RuleMode::Sequential,
        [&create]
    );
    let created = super::create(&client, "us-east-1_pool", &app(&[]))
        .await
        .expect("one request with every setting");
    assert_eq!((created.id.as_str(), create.num_calls()), ("new-id", 1));
}
