use super::*;
use crate::kinds::tags::Tags;

#[test]
fn retention_kept_forever_or_different_is_an_update() {
    assert_eq!(
        log_group_name("auth-demo-sign-up"),
        "/aws/lambda/auth-demo-sign-up"
    );
    assert_eq!(diff(Some(14), 14, &Tags::new(), &Tags::new()), Action::NoOp);
    assert!(
        matches!(diff(None, 14, &Tags::new(), &Tags::new()), Action::Update { changes } if changes[0].live == "never expire" && changes[0].desired == "14")
    );
    assert!(matches!(
        diff(Some(30), 14, &Tags::new(), &Tags::new()),
        Action::Update { .. }
    ));
}

mod replay {
    //! The exact requests the log group's driver makes.

    use aws_sdk_cloudwatchlogs::operation::{
        create_log_group::CreateLogGroupOutput, put_retention_policy::PutRetentionPolicyOutput,
        tag_resource::TagResourceOutput,
    };
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    use super::super::*;

    fn retention(days: i32) -> aws_smithy_mocks::Rule {
        mock!(Client::put_retention_policy)
            .match_requests(move |r| {
                r.log_group_name() == Some("/aws/lambda/auth-demo-secret")
                    && r.retention_in_days() == Some(days)
            })
            .then_output(|| PutRetentionPolicyOutput::builder().build())
    }

    /// Created tagged in the same call, then its retention set.
    #[tokio::test]
    async fn a_create_is_tagged_in_the_call_then_gets_its_retention() {
        let create = mock!(Client::create_log_group)
            .match_requests(|r| {
                r.log_group_name() == Some("/aws/lambda/auth-demo-secret")
                    && r.tags()
                        .and_then(|t| t.get(OWNERSHIP_TAG))
                        .map(String::as_str)
                        == Some("auth-demo")
            })
            .then_output(|| CreateLogGroupOutput::builder().build());
        let retention = retention(14);
        let client = mock_client!(
            aws_sdk_cloudwatchlogs,
            RuleMode::Sequential,
            [&create, &retention]
        );
        create_group(&client).await.expect("create, then retention");
        assert_eq!((create.num_calls(), retention.num_calls()), (1, 1));
    }

    /// Lambda made the group meanwhile (a first invocation): not an error; the retention is set
    /// all the same, and the next observation adopts it.
    #[tokio::test]
    async fn a_group_lambda_made_meanwhile_still_gets_its_retention() {
        let create = mock!(Client::create_log_group).then_http_response(|| {
            crate::replay::json_error(
                400,
                "ResourceAlreadyExistsException",
                "The specified log group already exists",
            )
        });
        let retention = retention(14);
        let client = mock_client!(
            aws_sdk_cloudwatchlogs,
            RuleMode::Sequential,
            [&create, &retention]
        );
        create_group(&client).await.expect("exists is fine");
        assert_eq!(retention.num_calls(), 1);
    }

    async fn create_group(client: &Client) -> Result<(), LogGroupError> {
        create(
            client,
            ("auth-demo", &Default::default()),
            "/aws/lambda/auth-demo-secret",
            14,
        )
        .await
    }

    /// Adopting is one TagResource on the group's ARN (without DescribeLogGroups' `:*`).
    #[tokio::test]
    async fn adopting_is_one_tag_resource_on_its_arn() {
        let arn = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/auth-demo-secret";
        let tag = mock!(Client::tag_resource)
            .match_requests(move |r| {
                r.resource_arn() == Some(arn)
                    && r.tags()
                        .and_then(|t| t.get(OWNERSHIP_TAG))
                        .map(String::as_str)
                        == Some("auth-demo")
            })
            .then_output(|| TagResourceOutput::builder().build());
        let client = mock_client!(aws_sdk_cloudwatchlogs, RuleMode::Sequential, [&tag]);
        let live = LiveLogGroup {
            name: "/aws/lambda/auth-demo-secret".to_owned(),
            arn: arn.to_owned(),
            retention_days: None,
            tags: HashMap::new(),
            created_ms: None,
        };
        adopt(&client, "auth-demo", &live)
            .await
            .expect("one tag call");
        assert_eq!(tag.num_calls(), 1);
    }
}
