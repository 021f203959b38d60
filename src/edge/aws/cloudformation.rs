//! The CloudFormation port over the AWS SDK.

use super::client;
use std::sync::Arc;

use aws_sdk_cloudformation::types::{Capability, ChangeSetType as SdkChangeSetType, Parameter, Tag, TemplateStage};
use aws_sdk_cloudformation::Client;

use super::{port_error, runtime, Aws};
use crate::cfn::port::*;

pub struct AwsCloudFormation {
    /// Stack sets administered from a delegated administrator account (CallAs=DELEGATED_ADMIN).
    pub(super) delegated: std::collections::BTreeSet<String>,
    pub(super) client: Client,
    sts: aws_sdk_sts::Client,
    endpoint: String,
}

impl AwsCloudFormation {
    pub fn new(aws: &Aws) -> AwsCloudFormation {
        let config = aws.config(None);
        AwsCloudFormation {
            delegated: Default::default(),
            client: super::cloudformation_client(&config),
            sts: client!(aws_sdk_sts, &config),
            endpoint: aws.endpoint(),
        }
    }

    /// Over given clients (tests use mocked ones).
    pub fn from_clients(client: Client, sts: aws_sdk_sts::Client, endpoint: &str) -> AwsCloudFormation {
        AwsCloudFormation { delegated: Default::default(), client, sts, endpoint: endpoint.to_string() }
    }

    pub fn for_region(aws: &Aws, region: &str) -> AwsCloudFormation {
        let config: Arc<_> = aws.config(Some(region));
        AwsCloudFormation {
            delegated: Default::default(),
            client: super::cloudformation_client(&config),
            sts: client!(aws_sdk_sts, &config),
            endpoint: aws.endpoint(),
        }
    }

    pub(super) fn err<E>(
        &self,
        op: &str,
        e: aws_sdk_cloudformation::error::SdkError<E, aws_sdk_cloudformation::config::http::HttpResponse>,
    ) -> PortError
    where
        E: aws_sdk_cloudformation::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        port_error(op, &self.endpoint, e)
    }
}

fn stack_info(s: &aws_sdk_cloudformation::types::Stack, name: &str) -> StackInfo {
    StackInfo {
        name: s.stack_name().unwrap_or(name).to_string(),
        id: s.stack_id().unwrap_or_default().to_string(),
        status: s.stack_status().map(|x| x.as_str().to_string()).unwrap_or_default(),
        status_reason: s.stack_status_reason().map(str::to_string),
        outputs: s
            .outputs()
            .iter()
            .filter_map(|o| Some((o.output_key()?.to_string(), o.output_value().unwrap_or_default().to_string())))
            .collect(),
        parameters: s
            .parameters()
            .iter()
            .filter_map(|p| Some((p.parameter_key()?.to_string(), p.parameter_value().unwrap_or_default().to_string())))
            .collect(),
        tags: s.tags().iter().filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string()))).collect(),
        last_updated: s.last_updated_time().or(s.creation_time()).map(|t| t.to_string()),
        termination_protection: s.enable_termination_protection().unwrap_or(false),
        parent_id: s.parent_id().map(str::to_string),
    }
}

/// Parameters as the API takes them. The one place a secret leaves stackc: the request that creates a
/// change set or a stack set. A placeholder is never sent: the request is refused instead.
pub(super) fn api_parameters(operation: &str, parameters: &[(String, ApiValue)]) -> Result<Vec<Parameter>, PortError> {
    parameters
        .iter()
        .map(|(k, v)| {
            let b = Parameter::builder().parameter_key(k);
            Ok(match v {
                ApiValue::Plain(s) => b.parameter_value(s),
                ApiValue::Secret(s) => b.parameter_value(s.expose()),
                ApiValue::Previous => b.use_previous_value(true),
                ApiValue::Placeholder(what) => return Err(placeholder_refused(operation, k, what)),
            }
            .build())
        })
        .collect()
}

/// Drift detection's property differences, as the port has them.
pub(super) fn property_differences(
    found: &[aws_sdk_cloudformation::types::PropertyDifference],
) -> Vec<PropertyDifference> {
    found
        .iter()
        .map(|p| PropertyDifference {
            path: p.property_path().unwrap_or_default().to_string(),
            expected: p.expected_value().unwrap_or_default().to_string(),
            actual: p.actual_value().unwrap_or_default().to_string(),
            kind: p.difference_type().map(|s| s.as_str().to_string()).unwrap_or_default(),
        })
        .collect()
}

pub(super) fn api_tags(tags: &std::collections::BTreeMap<String, String>) -> Vec<Tag> {
    tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()
}

fn is_missing_stack(e: &PortError) -> bool {
    matches!(e, PortError::Api { code, message, .. } if code == "ValidationError" && message.contains("does not exist"))
}

impl CloudFormation for AwsCloudFormation {
    fn describe_stack(&self, name: &str) -> Result<Option<StackInfo>, PortError> {
        let out = match runtime().block_on(self.client.describe_stacks().stack_name(name).send()) {
            Ok(o) => o,
            Err(e) => {
                let e = self.err("DescribeStacks", e);
                return if is_missing_stack(&e) { Ok(None) } else { Err(e) };
            }
        };
        let Some(s) = out.stacks().first() else { return Ok(None) };
        let info = stack_info(s, name);
        Ok((info.status != "DELETE_COMPLETE").then_some(info))
    }

    fn list_stacks(&self) -> Result<Vec<StackInfo>, PortError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = runtime()
                .block_on(self.client.describe_stacks().set_next_token(token.clone()).send())
                .map_err(|e| self.err("DescribeStacks", e))?;
            out.extend(page.stacks().iter().map(|s| stack_info(s, "")).filter(|i| i.status != "DELETE_COMPLETE"));
            token = page.next_token().map(str::to_string);
            if token.is_none() {
                return Ok(out);
            }
        }
    }

    fn create_change_set(&self, r: &ChangeSetRequest) -> Result<String, PortError> {
        let params = api_parameters("CreateChangeSet", &r.parameters)?;
        let tags = api_tags(&r.tags);
        let mut req = self
            .client
            .create_change_set()
            .stack_name(&r.stack_name)
            .change_set_name(&r.change_set_name)
            .change_set_type(match r.kind {
                ChangeSetType::Create => SdkChangeSetType::Create,
                ChangeSetType::Update => SdkChangeSetType::Update,
            })
            .set_parameters(Some(params))
            .set_tags(Some(tags))
            .set_capabilities(Some(r.capabilities.iter().map(|c| Capability::from(c.as_str())).collect()))
            .description(&r.description);
        req = match &r.template_url {
            Some(url) => req.template_url(url),
            None => req.template_body(&r.template_body),
        };
        if !r.notification_arns.is_empty() {
            req = req.set_notification_arns(Some(r.notification_arns.clone()));
        }
        if !r.rollback_alarms.is_empty() || r.rollback_minutes.is_some() {
            let triggers: Vec<_> = r
                .rollback_alarms
                .iter()
                .map(|a| {
                    aws_sdk_cloudformation::types::RollbackTrigger::builder()
                        .arn(a)
                        .r#type("AWS::CloudWatch::Alarm")
                        .build()
                })
                .collect();
            let config = aws_sdk_cloudformation::types::RollbackConfiguration::builder()
                .set_rollback_triggers(Some(triggers))
                .set_monitoring_time_in_minutes(r.rollback_minutes.map(|m| m as i32))
                .build();
            req = req.rollback_configuration(config);
        }
        if let Some(role) = &r.role_arn {
            req = req.role_arn(role);
        }
        if r.include_nested_stacks {
            req = req.include_nested_stacks(true);
        }
        let out = runtime().block_on(req.send()).map_err(|e| self.err("CreateChangeSet", e))?;
        Ok(out.id().unwrap_or(&r.change_set_name).to_string())
    }

    fn describe_change_set(&self, stack: &str, change_set: &str) -> Result<ChangeSetInfo, PortError> {
        let mut changes = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = runtime()
                .block_on(
                    self.client
                        .describe_change_set()
                        // A change set's ARN names it alone (a nested stack's, whose stack name stackc does not know).
                        .set_stack_name((!change_set.starts_with("arn:")).then(|| stack.to_string()))
                        .change_set_name(change_set)
                        .include_property_values(true)
                        .set_next_token(token.clone())
                        .send(),
                )
                .map_err(|e| self.err("DescribeChangeSet", e))?;
            for c in out.changes() {
                if let Some(rc) = c.resource_change() {
                    changes.push(ResourceChange {
                        action: rc.action().map(|a| a.as_str().to_string()).unwrap_or_default(),
                        logical_id: rc.logical_resource_id().unwrap_or_default().to_string(),
                        resource_type: rc.resource_type().unwrap_or_default().to_string(),
                        replacement: rc.replacement().map(|r| r.as_str().to_string()),
                        details: rc.details().iter().map(property_change).collect(),
                        nested_change_set: rc.change_set_id().map(str::to_string),
                    });
                }
            }
            token = out.next_token().map(str::to_string);
            if token.is_none() {
                return Ok(ChangeSetInfo {
                    id: out.change_set_id().unwrap_or(change_set).to_string(),
                    status: out.status().map(|s| s.as_str().to_string()).unwrap_or_default(),
                    status_reason: out.status_reason().map(str::to_string),
                    changes,
                });
            }
        }
    }

    fn execute_change_set(&self, stack: &str, change_set: &str, disable_rollback: bool) -> Result<(), PortError> {
        let mut req = self.client.execute_change_set().stack_name(stack).change_set_name(change_set);
        if disable_rollback {
            req = req.disable_rollback(true);
        }
        runtime().block_on(req.send()).map_err(|e| self.err("ExecuteChangeSet", e))?;
        Ok(())
    }

    fn delete_change_set(&self, stack: &str, change_set: &str) -> Result<(), PortError> {
        runtime()
            .block_on(self.client.delete_change_set().stack_name(stack).change_set_name(change_set).send())
            .map_err(|e| self.err("DeleteChangeSet", e))?;
        Ok(())
    }

    fn stack_events(&self, stack: &str, enough: &dyn Fn(&StackEvent) -> bool) -> Result<Vec<StackEvent>, PortError> {
        let mut all = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_EVENT_PAGES {
            let out = runtime()
                .block_on(self.client.describe_stack_events().stack_name(stack).set_next_token(token.clone()).send())
                .map_err(|e| self.err("DescribeStackEvents", e))?;
            let page: Vec<StackEvent> = out
                .stack_events()
                .iter()
                .map(|e| StackEvent {
                    id: e.event_id().unwrap_or_default().to_string(),
                    timestamp: e.timestamp().map(|t| t.to_string()).unwrap_or_default(),
                    logical_id: e.logical_resource_id().unwrap_or_default().to_string(),
                    resource_type: e.resource_type().unwrap_or_default().to_string(),
                    status: e.resource_status().map(|s| s.as_str().to_string()).unwrap_or_default(),
                    reason: e.resource_status_reason().map(str::to_string),
                    physical_id: e.physical_resource_id().unwrap_or_default().to_string(),
                })
                .collect();
            let done = page.iter().any(enough);
            all.extend(page);
            token = out.next_token().map(str::to_string);
            if done || token.is_none() {
                break;
            }
        }
        Ok(all)
    }

    fn get_template(&self, stack: &str) -> Result<String, PortError> {
        let out = runtime()
            .block_on(self.client.get_template().stack_name(stack).template_stage(TemplateStage::Original).send())
            .map_err(|e| self.err("GetTemplate", e))?;
        Ok(out.template_body().unwrap_or_default().to_string())
    }

    fn physical_id(&self, stack: &str, logical_id: &str) -> Result<Option<String>, PortError> {
        let out = runtime()
            .block_on(self.client.describe_stack_resource().stack_name(stack).logical_resource_id(logical_id).send())
            .map_err(|e| self.err("DescribeStackResource", e))?;
        Ok(out
            .stack_resource_detail()
            .and_then(|d| d.physical_resource_id())
            .filter(|id| !id.is_empty())
            .map(str::to_string))
    }

    fn delete_stack(&self, stack: &str) -> Result<(), PortError> {
        runtime()
            .block_on(self.client.delete_stack().stack_name(stack).send())
            .map_err(|e| self.err("DeleteStack", e))?;
        Ok(())
    }

    fn cancel_update_stack(&self, stack: &str) -> Result<(), PortError> {
        runtime()
            .block_on(self.client.cancel_update_stack().stack_name(stack).send())
            .map_err(|e| self.err("CancelUpdateStack", e))?;
        Ok(())
    }

    fn continue_update_rollback(&self, stack: &str, skip: &[String]) -> Result<(), PortError> {
        let request = self.client.continue_update_rollback().stack_name(stack);
        let request = if skip.is_empty() { request } else { request.set_resources_to_skip(Some(skip.to_vec())) };
        runtime().block_on(request.send()).map_err(|e| self.err("ContinueUpdateRollback", e))?;
        Ok(())
    }

    fn set_termination_protection(&self, stack: &str, enabled: bool) -> Result<(), PortError> {
        runtime()
            .block_on(
                self.client
                    .update_termination_protection()
                    .stack_name(stack)
                    .enable_termination_protection(enabled)
                    .send(),
            )
            .map_err(|e| self.err("UpdateTerminationProtection", e))?;
        Ok(())
    }

    fn set_stack_policy(&self, stack: &str, body: &str) -> Result<(), PortError> {
        runtime()
            .block_on(self.client.set_stack_policy().stack_name(stack).stack_policy_body(body).send())
            .map_err(|e| self.err("SetStackPolicy", e))?;
        Ok(())
    }

    fn detect_drift(&self, stack: &str) -> Result<String, PortError> {
        let out = runtime()
            .block_on(self.client.detect_stack_drift().stack_name(stack).send())
            .map_err(|e| self.err("DetectStackDrift", e))?;
        Ok(out.stack_drift_detection_id().unwrap_or_default().to_string())
    }

    fn drift_detection(&self, _stack: &str, detection: &str) -> Result<DriftDetection, PortError> {
        let out = runtime()
            .block_on(self.client.describe_stack_drift_detection_status().stack_drift_detection_id(detection).send())
            .map_err(|e| self.err("DescribeStackDriftDetectionStatus", e))?;
        Ok(DriftDetection {
            detection: out.detection_status().map(|s| s.as_str().to_string()).unwrap_or_default(),
            reason: out.detection_status_reason().map(str::to_string),
            stack: out.stack_drift_status().map(|s| s.as_str().to_string()),
            drifted: out.drifted_stack_resource_count().unwrap_or(0).max(0) as u32,
        })
    }

    fn resource_drifts(&self, stack: &str) -> Result<Vec<ResourceDrift>, PortError> {
        let pages = self.client.describe_stack_resource_drifts().stack_name(stack).into_paginator();
        let found: Vec<_> = runtime()
            .block_on(pages.send().collect::<Result<Vec<_>, _>>())
            .map_err(|e| self.err("DescribeStackResourceDrifts", e))?;
        Ok(found
            .iter()
            .flat_map(|page| page.stack_resource_drifts())
            .map(|d| ResourceDrift {
                logical_id: d.logical_resource_id().unwrap_or_default().to_string(),
                physical_id: d.physical_resource_id().unwrap_or_default().to_string(),
                resource_type: d.resource_type().unwrap_or_default().to_string(),
                status: d.stack_resource_drift_status().map(|s| s.as_str().to_string()).unwrap_or_default(),
                differences: property_differences(d.property_differences()),
            })
            .collect())
    }

    fn account_id(&self) -> Result<String, PortError> {
        let out = runtime()
            .block_on(self.sts.get_caller_identity().send())
            .map_err(|e| port_error("GetCallerIdentity", &self.endpoint, e))?;
        Ok(out.account().unwrap_or_default().to_string())
    }
}

fn property_change(d: &aws_sdk_cloudformation::types::ResourceChangeDetail) -> PropertyChange {
    let target = d.target();
    PropertyChange {
        attribute: target.and_then(|t| t.attribute()).map(|a| a.as_str().to_string()).unwrap_or_default(),
        name: target.and_then(|t| t.name()).map(str::to_string),
        path: target.and_then(|t| t.path()).map(str::to_string),
        requires_recreation: target.and_then(|t| t.requires_recreation()).map(|r| r.as_str().to_string()),
        change_source: d.change_source().map(|c| c.as_str().to_string()),
        causing_entity: d.causing_entity().map(str::to_string),
        before: target.and_then(|t| t.before_value()).map(str::to_string),
        after: target.and_then(|t| t.after_value()).map(str::to_string),
    }
}

#[cfg(test)]
#[path = "cloudformation_tests.rs"]
pub(super) mod tests;
