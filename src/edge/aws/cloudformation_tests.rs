//! The CloudFormation adapter against the SDK's mocked client: requests as built, answers as read.

use crate::secret::Secret;
use std::collections::BTreeMap;

use super::*;
use aws_sdk_cloudformation::error::ErrorMetadata;
use aws_sdk_cloudformation::operation::create_change_set::{CreateChangeSetError, CreateChangeSetOutput};
use aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetOutput;
use aws_sdk_cloudformation::operation::describe_stacks::{DescribeStacksError, DescribeStacksOutput};
use aws_sdk_cloudformation::types::{Change, ChangeAction, Output, Replacement, Stack, StackStatus};
use aws_smithy_mocks::{mock, mock_client, RuleMode};

pub(in super::super) fn sts() -> aws_sdk_sts::Client {
    let conf = aws_sdk_sts::Config::builder()
        .behavior_version_latest()
        .region(aws_sdk_sts::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sts::config::Credentials::new("a", "b", None, None, "test"))
        .build();
    aws_sdk_sts::Client::from_conf(conf)
}

fn adapter(client: Client) -> AwsCloudFormation {
    AwsCloudFormation::from_clients(client, sts(), "http://mock")
}

fn api_error(code: &str, message: &str) -> ErrorMetadata {
    ErrorMetadata::builder().code(code).message(message).build()
}

#[test]
fn a_placeholder_is_never_put_into_a_request() {
    let ok = api_parameters("CreateChangeSet", &[("A".into(), ApiValue::Plain("1".into()))]).unwrap();
    assert_eq!(ok[0].parameter_value(), Some("1"));
    let refused = [("Vpc".into(), ApiValue::Placeholder("<output VpcId of layer net>".into()))];
    let err = api_parameters("UpdateStackSet", &refused).unwrap_err().to_string();
    assert!(err.contains("UpdateStackSet") && err.contains("`Vpc` is still a placeholder"), "{err}");
}

#[test]
fn a_missing_stack_is_none_and_a_stack_is_mapped() {
    let missing = mock!(Client::describe_stacks)
        .match_requests(|r| r.stack_name() == Some("gone"))
        .then_error(|| DescribeStacksError::generic(api_error("ValidationError", "Stack with id gone does not exist")));
    let found = mock!(Client::describe_stacks).match_requests(|r| r.stack_name() == Some("app")).then_output(|| {
        DescribeStacksOutput::builder()
            .stacks(
                Stack::builder()
                    .stack_name("app")
                    .stack_id("arn:stack/app")
                    .stack_status(StackStatus::UpdateRollbackComplete)
                    .outputs(Output::builder().output_key("VpcId").output_value("vpc-1").build())
                    .parameters(
                        aws_sdk_cloudformation::types::Parameter::builder()
                            .parameter_key("Pw")
                            .parameter_value("****")
                            .build(),
                    )
                    .enable_termination_protection(true)
                    .build(),
            )
            .build()
    });
    let cfn = adapter(mock_client!(aws_sdk_cloudformation, RuleMode::MatchAny, [&missing, &found]));
    assert_eq!(cfn.describe_stack("gone").unwrap(), None);
    let s = cfn.describe_stack("app").unwrap().unwrap();
    assert_eq!(s.status, "UPDATE_ROLLBACK_COMPLETE");
    assert_eq!(s.outputs["VpcId"], "vpc-1");
    assert_eq!(s.parameters["Pw"], "****");
    assert!(s.termination_protection);
}

#[test]
fn service_errors_become_decisions() {
    let cases: Vec<(&str, &str, fn(&PortError) -> bool)> = vec![
        ("ValidationError", "No updates are to be performed.", |e| *e == PortError::NoChanges),
        (
            "Throttling",
            "Rate exceeded",
            |e| matches!(e, PortError::Throttled { operation } if operation == "CreateChangeSet"),
        ),
        ("ExpiredToken", "The security token included in the request is expired", |e| {
            matches!(e, PortError::Credentials { .. })
        }),
        ("ValidationError", "Stack:arn is in UPDATE_IN_PROGRESS state and can not be updated.", |e| {
            matches!(e, PortError::InProgress { .. })
        }),
        (
            "ValidationError",
            "Template format error: unresolved resource",
            |e| matches!(e, PortError::Api { operation, code, message } if operation == "CreateChangeSet" && code == "ValidationError" && message.contains("Template format")),
        ),
    ];
    for (code, message, check) in cases {
        let (code, message) = (code.to_string(), message.to_string());
        let rule = mock!(Client::create_change_set)
            .then_error(move || CreateChangeSetError::generic(api_error(&code, &message)));
        let cfn = adapter(mock_client!(aws_sdk_cloudformation, [&rule]));
        let req = ChangeSetRequest {
            stack_name: "app".into(),
            change_set_name: "cs".into(),
            kind: ChangeSetType::Update,
            template_body: "{}".into(),
            template_url: None,
            parameters: vec![("Pw".into(), ApiValue::Secret(Secret::new("canary-adapter")))],
            tags: BTreeMap::new(),
            capabilities: vec![],
            role_arn: None,
            description: "d".into(),
            notification_arns: vec![],
            rollback_alarms: vec![],
            rollback_minutes: None,
            include_nested_stacks: false,
        };
        let err = cfn.create_change_set(&req).unwrap_err();
        assert!(check(&err), "{err:?}");
        assert!(!err.to_string().contains("canary-adapter"));
    }
}

#[test]
fn disable_rollback_reaches_the_execute_call_only_when_asked() {
    use aws_sdk_cloudformation::operation::execute_change_set::ExecuteChangeSetOutput;
    let keep = mock!(Client::execute_change_set)
        .match_requests(|r| r.disable_rollback() == Some(true))
        .then_output(|| ExecuteChangeSetOutput::builder().build());
    let cfn = adapter(mock_client!(aws_sdk_cloudformation, [&keep]));
    cfn.execute_change_set("app", "cs", true).unwrap();
    let plain = mock!(Client::execute_change_set)
        .match_requests(|r| r.disable_rollback().is_none())
        .then_output(|| ExecuteChangeSetOutput::builder().build());
    let cfn = adapter(mock_client!(aws_sdk_cloudformation, [&plain]));
    cfn.execute_change_set("app", "cs", false).unwrap();
}

#[test]
fn an_answer_without_an_error_code_names_the_operation_and_the_status() {
    use aws_sdk_cloudformation::config::http::HttpResponse;
    use aws_smithy_types::body::SdkBody;
    let html = mock!(Client::describe_stacks).then_http_response(|| {
        HttpResponse::new(500.try_into().unwrap(), SdkBody::from("<html><body>Internal Server Error</body></html>"))
    });
    let cfn = adapter(mock_client!(aws_sdk_cloudformation, [&html]));
    let err = cfn.describe_stack("app").unwrap_err();
    assert!(matches!(err, PortError::ServiceFault { status: Some(500), .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.starts_with("DescribeStacks failed: "), "{text}");
    assert!(text.contains("HTTP 500") && text.contains("run the same command again"), "{text}");
    assert!(!text.contains("Unknown"), "{text}");

    let garbled = mock!(Client::describe_stacks)
        .then_http_response(|| HttpResponse::new(200.try_into().unwrap(), SdkBody::from("not xml at all <<<")));
    let cfn = adapter(mock_client!(aws_sdk_cloudformation, [&garbled]));
    let text = cfn.describe_stack("app").unwrap_err().to_string();
    assert!(text.contains("DescribeStacks failed") && text.contains("HTTP 200"), "{text}");
}

#[test]
fn the_secret_reaches_the_request_and_change_sets_are_paged() {
    let create = mock!(Client::create_change_set)
        .match_requests(|r| {
            r.parameters()
                .iter()
                .any(|p| p.parameter_key() == Some("Pw") && p.parameter_value() == Some("canary-adapter"))
                && r.parameters()
                    .iter()
                    .any(|p| p.parameter_key() == Some("Keep") && p.use_previous_value() == Some(true))
                && r.capabilities().len() == 1
                && r.notification_arns() == ["arn:aws:sns:us-east-1:123456789012:deploys"]
                && r.rollback_configuration().is_some_and(|c| {
                    c.monitoring_time_in_minutes() == Some(10)
                        && c.rollback_triggers().len() == 1
                        && c.rollback_triggers()[0].r#type() == Some("AWS::CloudWatch::Alarm")
                })
        })
        .then_output(|| CreateChangeSetOutput::builder().id("arn:cs/1").build());
    let page = |token: Option<&'static str>, id: &'static str| {
        DescribeChangeSetOutput::builder()
            .status(aws_sdk_cloudformation::types::ChangeSetStatus::CreateComplete)
            .changes(
                Change::builder()
                    .resource_change(
                        aws_sdk_cloudformation::types::ResourceChange::builder()
                            .action(ChangeAction::Modify)
                            .logical_resource_id(id)
                            .resource_type("AWS::RDS::DBInstance")
                            .replacement(Replacement::True)
                            .build(),
                    )
                    .build(),
            )
            .set_next_token(token.map(str::to_string))
            .build()
    };
    let first = mock!(Client::describe_change_set)
        .match_requests(|r| r.next_token().is_none())
        .then_output(move || page(Some("t2"), "A"));
    let second = mock!(Client::describe_change_set)
        .match_requests(|r| r.next_token() == Some("t2"))
        .then_output(move || page(None, "B"));
    let cfn = adapter(mock_client!(aws_sdk_cloudformation, RuleMode::MatchAny, [&create, &first, &second]));
    let req = ChangeSetRequest {
        stack_name: "app".into(),
        change_set_name: "cs".into(),
        kind: ChangeSetType::Update,
        template_body: "{}".into(),
        template_url: None,
        parameters: vec![
            ("Pw".into(), ApiValue::Secret(Secret::new("canary-adapter"))),
            ("Keep".into(), ApiValue::Previous),
        ],
        tags: BTreeMap::new(),
        capabilities: vec!["CAPABILITY_IAM".into()],
        role_arn: None,
        description: "d".into(),
        notification_arns: vec!["arn:aws:sns:us-east-1:123456789012:deploys".into()],
        rollback_alarms: vec!["arn:aws:cloudwatch:us-east-1:123456789012:alarm:errors".into()],
        rollback_minutes: Some(10),
        include_nested_stacks: false,
    };
    assert_eq!(cfn.create_change_set(&req).unwrap(), "arn:cs/1");
    let info = cfn.describe_change_set("app", "arn:cs/1").unwrap();
    let ids: Vec<&str> = info.changes.iter().map(|c| c.logical_id.as_str()).collect();
    assert_eq!(ids, vec!["A", "B"]);
    assert_eq!(info.changes[0].replacement.as_deref(), Some("True"));
    assert_eq!(info.status, "CREATE_COMPLETE");
}
