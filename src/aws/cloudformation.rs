//! The CloudFormation port over the AWS SDK.

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_sdk_cloudformation::types::{Capability, ChangeSetType as SdkChangeSetType, Parameter, Tag, TemplateStage};
use aws_sdk_cloudformation::Client;

use super::{port_error, runtime, Aws};
use crate::deploy::port::*;

pub struct AwsCloudFormation {
    client: Client,
    sts: aws_sdk_sts::Client,
    endpoint: String,
}

impl AwsCloudFormation {
    pub fn new(aws: &Aws) -> AwsCloudFormation {
        let config = aws.config(None);
        AwsCloudFormation { client: Client::new(&config), sts: aws_sdk_sts::Client::new(&config), endpoint: aws.endpoint() }
    }

    pub fn for_region(aws: &Aws, region: &str) -> AwsCloudFormation {
        let config: Arc<_> = aws.config(Some(region));
        AwsCloudFormation { client: Client::new(&config), sts: aws_sdk_sts::Client::new(&config), endpoint: aws.endpoint() }
    }

    fn err<E, R>(&self, op: &str, e: aws_sdk_cloudformation::error::SdkError<E, R>) -> PortError
    where
        E: aws_sdk_cloudformation::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        port_error(op, &self.endpoint, e)
    }
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
        let status = s.stack_status().map(|x| x.as_str().to_string()).unwrap_or_default();
        if status == "DELETE_COMPLETE" {
            return Ok(None);
        }
        Ok(Some(StackInfo {
            name: s.stack_name().unwrap_or(name).to_string(),
            id: s.stack_id().unwrap_or_default().to_string(),
            status,
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
        }))
    }

    fn create_change_set(&self, r: &ChangeSetRequest) -> Result<String, PortError> {
        let params: Vec<Parameter> = r
            .parameters
            .iter()
            .map(|(k, v)| {
                let b = Parameter::builder().parameter_key(k);
                match v {
                    ApiValue::Plain(s) => b.parameter_value(s),
                    // The one place a secret leaves stackc: the CreateChangeSet request.
                    ApiValue::Secret(s) => b.parameter_value(s.expose()),
                    ApiValue::Previous => b.use_previous_value(true),
                }
                .build()
            })
            .collect();
        let tags: Vec<Tag> = r.tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect();
        let mut req = self
            .client
            .create_change_set()
            .stack_name(&r.stack_name)
            .change_set_name(&r.change_set_name)
            .change_set_type(match r.kind {
                ChangeSetType::Create => SdkChangeSetType::Create,
                ChangeSetType::Update => SdkChangeSetType::Update,
            })
            .template_body(&r.template_body)
            .set_parameters(Some(params))
            .set_tags(Some(tags))
            .set_capabilities(Some(r.capabilities.iter().map(|c| Capability::from(c.as_str())).collect()))
            .description(&r.description);
        if let Some(role) = &r.role_arn {
            req = req.role_arn(role);
        }
        let out = runtime().block_on(req.send()).map_err(|e| self.err("CreateChangeSet", e))?;
        Ok(out.id().unwrap_or(&r.change_set_name).to_string())
    }

    fn describe_change_set(&self, stack: &str, change_set: &str) -> Result<ChangeSetInfo, PortError> {
        let mut changes = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = runtime()
                .block_on(self.client.describe_change_set().stack_name(stack).change_set_name(change_set).set_next_token(token.clone()).send())
                .map_err(|e| self.err("DescribeChangeSet", e))?;
            for c in out.changes() {
                if let Some(rc) = c.resource_change() {
                    changes.push(ResourceChange {
                        action: rc.action().map(|a| a.as_str().to_string()).unwrap_or_default(),
                        logical_id: rc.logical_resource_id().unwrap_or_default().to_string(),
                        resource_type: rc.resource_type().unwrap_or_default().to_string(),
                        replacement: rc.replacement().map(|r| r.as_str().to_string()),
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

    fn execute_change_set(&self, stack: &str, change_set: &str) -> Result<(), PortError> {
        runtime()
            .block_on(self.client.execute_change_set().stack_name(stack).change_set_name(change_set).send())
            .map_err(|e| self.err("ExecuteChangeSet", e))?;
        Ok(())
    }

    fn delete_change_set(&self, stack: &str, change_set: &str) -> Result<(), PortError> {
        runtime()
            .block_on(self.client.delete_change_set().stack_name(stack).change_set_name(change_set).send())
            .map_err(|e| self.err("DeleteChangeSet", e))?;
        Ok(())
    }

    fn stack_events(&self, stack: &str) -> Result<Vec<StackEvent>, PortError> {
        let out = runtime()
            .block_on(self.client.describe_stack_events().stack_name(stack).send())
            .map_err(|e| self.err("DescribeStackEvents", e))?;
        Ok(out
            .stack_events()
            .iter()
            .map(|e| StackEvent {
                id: e.event_id().unwrap_or_default().to_string(),
                timestamp: e.timestamp().map(|t| t.to_string()).unwrap_or_default(),
                logical_id: e.logical_resource_id().unwrap_or_default().to_string(),
                resource_type: e.resource_type().unwrap_or_default().to_string(),
                status: e.resource_status().map(|s| s.as_str().to_string()).unwrap_or_default(),
                reason: e.resource_status_reason().map(str::to_string),
            })
            .collect())
    }

    fn get_template(&self, stack: &str) -> Result<String, PortError> {
        let out = runtime()
            .block_on(self.client.get_template().stack_name(stack).template_stage(TemplateStage::Original).send())
            .map_err(|e| self.err("GetTemplate", e))?;
        Ok(out.template_body().unwrap_or_default().to_string())
    }

    fn delete_stack(&self, stack: &str) -> Result<(), PortError> {
        runtime().block_on(self.client.delete_stack().stack_name(stack).send()).map_err(|e| self.err("DeleteStack", e))?;
        Ok(())
    }

    fn set_termination_protection(&self, stack: &str, enabled: bool) -> Result<(), PortError> {
        runtime()
            .block_on(self.client.update_termination_protection().stack_name(stack).enable_termination_protection(enabled).send())
            .map_err(|e| self.err("UpdateTerminationProtection", e))?;
        Ok(())
    }

    fn set_stack_policy(&self, stack: &str, body: &str) -> Result<(), PortError> {
        runtime()
            .block_on(self.client.set_stack_policy().stack_name(stack).stack_policy_body(body).send())
            .map_err(|e| self.err("SetStackPolicy", e))?;
        Ok(())
    }

    fn account_id(&self) -> Result<String, PortError> {
        let out = runtime().block_on(self.sts.get_caller_identity().send()).map_err(|e| port_error("GetCallerIdentity", &self.endpoint, e))?;
        Ok(out.account().unwrap_or_default().to_string())
    }
}

/// Outputs of a stack by name (for `stack-output` references), or None if it does not exist.
pub fn stack_outputs(cfn: &AwsCloudFormation, stack: &str) -> Result<Option<BTreeMap<String, String>>, PortError> {
    Ok(cfn.describe_stack(stack)?.map(|s| s.outputs))
}
