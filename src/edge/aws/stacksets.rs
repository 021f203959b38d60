//! The StackSets half of the CloudFormation port over the AWS SDK.

use aws_sdk_cloudformation::types::{
    AutoDeployment, CallAs, Capability, DeploymentTargets, Parameter, PermissionModels, RegionConcurrencyType,
    StackSetOperationPreferences, Tag,
};

use super::cloudformation::AwsCloudFormation;
use super::runtime;
use crate::cfn::port::*;

fn parameters(operation: &str, r: &StackSetRequest) -> Result<Vec<Parameter>, PortError> {
    super::cloudformation::api_parameters(operation, &r.parameters)
}

fn tags(r: &StackSetRequest) -> Vec<Tag> {
    super::cloudformation::api_tags(&r.tags)
}

fn capabilities(r: &StackSetRequest) -> Vec<Capability> {
    r.capabilities.iter().map(|c| Capability::from(c.as_str())).collect()
}

fn preferences(p: &OperationPreferences) -> StackSetOperationPreferences {
    StackSetOperationPreferences::builder()
        .set_max_concurrent_count(p.max_concurrent.map(|n| n as i32))
        .set_max_concurrent_percentage(p.max_concurrent_percent.map(|n| n as i32))
        .set_failure_tolerance_count(p.failure_tolerance.map(|n| n as i32))
        .set_failure_tolerance_percentage(p.failure_tolerance_percent.map(|n| n as i32))
        .set_region_order((!p.region_order.is_empty()).then(|| p.region_order.clone()))
        .set_region_concurrency_type(p.region_concurrency.as_deref().map(RegionConcurrencyType::from))
        .build()
}

fn deployment_targets(t: &InstanceTargets) -> Option<DeploymentTargets> {
    (!t.organizational_units.is_empty())
        .then(|| DeploymentTargets::builder().set_organizational_unit_ids(Some(t.organizational_units.clone())).build())
}

impl AwsCloudFormation {
    /// These stack sets are called as a delegated administrator.
    pub fn with_delegated(mut self, names: std::collections::BTreeSet<String>) -> AwsCloudFormation {
        self.delegated = names;
        self
    }

    fn call_as(&self, name: &str) -> Option<CallAs> {
        self.delegated.contains(name).then_some(CallAs::DelegatedAdmin)
    }
}

fn is_missing_stack_set(e: &PortError) -> bool {
    matches!(e, PortError::Api { code, .. } if code == "StackSetNotFoundException")
}

impl StackSets for AwsCloudFormation {
    fn describe_stack_set(&self, name: &str) -> Result<Option<StackSetInfo>, PortError> {
        let out = match runtime()
            .block_on(self.client.describe_stack_set().stack_set_name(name).set_call_as(self.call_as(name)).send())
        {
            Ok(out) => out,
            Err(e) => {
                let e = self.err("DescribeStackSet", e);
                return if is_missing_stack_set(&e) { Ok(None) } else { Err(e) };
            }
        };
        let Some(s) = out.stack_set() else { return Ok(None) };
        let status = s.status().map(|x| x.as_str().to_string()).unwrap_or_default();
        if status == "DELETED" {
            return Ok(None);
        }
        Ok(Some(StackSetInfo {
            name: s.stack_set_name().unwrap_or(name).to_string(),
            id: s.stack_set_id().unwrap_or_default().to_string(),
            status,
            template_body: s.template_body().unwrap_or_default().to_string(),
            parameters: s
                .parameters()
                .iter()
                .filter_map(|p| {
                    Some((p.parameter_key()?.to_string(), p.parameter_value().unwrap_or_default().to_string()))
                })
                .collect(),
            tags: s.tags().iter().filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string()))).collect(),
        }))
    }

    fn create_stack_set(&self, r: &StackSetRequest) -> Result<(), PortError> {
        let mut req = self
            .client
            .create_stack_set()
            .stack_set_name(&r.name)
            .set_call_as(self.call_as(&r.name))
            .description(&r.description)
            .set_parameters(Some(parameters("CreateStackSet", r)?))
            .set_tags(Some(tags(r)))
            .set_capabilities(Some(capabilities(r)))
            .set_administration_role_arn(r.administration_role_arn.clone())
            .set_execution_role_name(r.execution_role_name.clone());
        req = match &r.template_url {
            Some(url) => req.template_url(url),
            None => req.template_body(&r.template_body),
        };
        if r.service_managed {
            req = req.permission_model(PermissionModels::ServiceManaged).auto_deployment(
                AutoDeployment::builder().enabled(true).retain_stacks_on_account_removal(false).build(),
            );
        } else {
            req = req.permission_model(PermissionModels::SelfManaged);
        }
        runtime().block_on(req.send()).map_err(|e| self.err("CreateStackSet", e))?;
        Ok(())
    }

    fn update_stack_set(&self, r: &StackSetRequest, prefs: &OperationPreferences) -> Result<String, PortError> {
        let mut req = self
            .client
            .update_stack_set()
            .stack_set_name(&r.name)
            .set_call_as(self.call_as(&r.name))
            .description(&r.description)
            .set_parameters(Some(parameters("UpdateStackSet", r)?))
            .set_tags(Some(tags(r)))
            .set_capabilities(Some(capabilities(r)))
            .set_administration_role_arn(r.administration_role_arn.clone())
            .set_execution_role_name(r.execution_role_name.clone())
            .operation_preferences(preferences(prefs));
        req = match &r.template_url {
            Some(url) => req.template_url(url),
            None => req.template_body(&r.template_body),
        };
        let out = runtime().block_on(req.send()).map_err(|e| self.err("UpdateStackSet", e))?;
        Ok(out.operation_id().unwrap_or_default().to_string())
    }

    fn create_stack_instances(
        &self,
        name: &str,
        targets: &InstanceTargets,
        regions: &[String],
        prefs: &OperationPreferences,
    ) -> Result<String, PortError> {
        let mut req = self
            .client
            .create_stack_instances()
            .stack_set_name(name)
            .set_call_as(self.call_as(name))
            .set_regions(Some(regions.to_vec()))
            .operation_preferences(preferences(prefs));
        req = match deployment_targets(targets) {
            Some(t) => req.deployment_targets(t),
            None => req.set_accounts(Some(targets.accounts.clone())),
        };
        let out = runtime().block_on(req.send()).map_err(|e| self.err("CreateStackInstances", e))?;
        Ok(out.operation_id().unwrap_or_default().to_string())
    }

    fn delete_stack_instances(
        &self,
        name: &str,
        targets: &InstanceTargets,
        regions: &[String],
        prefs: &OperationPreferences,
    ) -> Result<String, PortError> {
        let mut req = self
            .client
            .delete_stack_instances()
            .stack_set_name(name)
            .set_call_as(self.call_as(name))
            .set_regions(Some(regions.to_vec()))
            .retain_stacks(false)
            .operation_preferences(preferences(prefs));
        req = match deployment_targets(targets) {
            Some(t) => req.deployment_targets(t),
            None => req.set_accounts(Some(targets.accounts.clone())),
        };
        let out = runtime().block_on(req.send()).map_err(|e| self.err("DeleteStackInstances", e))?;
        Ok(out.operation_id().unwrap_or_default().to_string())
    }

    fn stop_stack_set_operation(&self, name: &str, operation: &str) -> Result<(), PortError> {
        runtime()
            .block_on(
                self.client
                    .stop_stack_set_operation()
                    .stack_set_name(name)
                    .set_call_as(self.call_as(name))
                    .operation_id(operation)
                    .send(),
            )
            .map_err(|e| self.err("StopStackSetOperation", e))?;
        Ok(())
    }

    fn stack_set_operation(&self, name: &str, operation: &str) -> Result<String, PortError> {
        let out = runtime()
            .block_on(
                self.client
                    .describe_stack_set_operation()
                    .stack_set_name(name)
                    .set_call_as(self.call_as(name))
                    .operation_id(operation)
                    .send(),
            )
            .map_err(|e| self.err("DescribeStackSetOperation", e))?;
        Ok(out.stack_set_operation().and_then(|o| o.status()).map(|s| s.as_str().to_string()).unwrap_or_default())
    }

    fn stack_set_operation_results(&self, name: &str, operation: &str) -> Result<Vec<InstanceResult>, PortError> {
        let pages = self
            .client
            .list_stack_set_operation_results()
            .stack_set_name(name)
            .set_call_as(self.call_as(name))
            .operation_id(operation)
            .into_paginator()
            .items()
            .send();
        let found: Vec<_> = runtime()
            .block_on(pages.collect::<Result<Vec<_>, _>>())
            .map_err(|e| self.err("ListStackSetOperationResults", e))?;
        Ok(found
            .iter()
            .map(|r| InstanceResult {
                account: r.account().unwrap_or_default().to_string(),
                region: r.region().unwrap_or_default().to_string(),
                status: r.status().map(|s| s.as_str().to_string()).unwrap_or_default(),
                reason: r.status_reason().map(str::to_string),
            })
            .collect())
    }

    fn stack_instances(&self, name: &str) -> Result<Vec<StackInstance>, PortError> {
        let pages =
            self.client.list_stack_instances().stack_set_name(name).set_call_as(self.call_as(name)).into_paginator();
        let found: Vec<_> = runtime()
            .block_on(pages.items().send().collect::<Result<Vec<_>, _>>())
            .map_err(|e| self.err("ListStackInstances", e))?;
        Ok(found
            .iter()
            .map(|i| StackInstance {
                account: i.account().unwrap_or_default().to_string(),
                region: i.region().unwrap_or_default().to_string(),
                organizational_unit: i.organizational_unit_id().map(str::to_string),
                status: i.status().map(|s| s.as_str().to_string()).unwrap_or_default(),
                detailed: i.stack_instance_status().and_then(|s| s.detailed_status()).map(|s| s.as_str().to_string()),
                reason: i.status_reason().map(str::to_string),
                drift: i.drift_status().map(|d| d.as_str().to_string()),
            })
            .collect())
    }

    fn detect_stack_set_drift(&self, name: &str) -> Result<String, PortError> {
        let out = runtime()
            .block_on(self.client.detect_stack_set_drift().stack_set_name(name).set_call_as(self.call_as(name)).send())
            .map_err(|e| self.err("DetectStackSetDrift", e))?;
        Ok(out.operation_id().unwrap_or_default().to_string())
    }

    fn stack_instance_resource_drifts(
        &self,
        name: &str,
        account: &str,
        region: &str,
        operation: &str,
    ) -> Result<Vec<ResourceDrift>, PortError> {
        let mut all = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = runtime()
                .block_on(
                    self.client
                        .list_stack_instance_resource_drifts()
                        .stack_set_name(name)
                        .set_call_as(self.call_as(name))
                        .stack_instance_account(account)
                        .stack_instance_region(region)
                        .operation_id(operation)
                        .set_next_token(token)
                        .send(),
                )
                .map_err(|e| self.err("ListStackInstanceResourceDrifts", e))?;
            all.extend(out.summaries().iter().map(|d| ResourceDrift {
                logical_id: d.logical_resource_id().unwrap_or_default().to_string(),
                physical_id: d.physical_resource_id().unwrap_or_default().to_string(),
                resource_type: d.resource_type().unwrap_or_default().to_string(),
                status: d.stack_resource_drift_status().map(|s| s.as_str().to_string()).unwrap_or_default(),
                differences: super::cloudformation::property_differences(d.property_differences()),
            }));
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => return Ok(all),
            }
        }
    }

    fn list_stack_sets(&self) -> Result<Vec<StackSetInfo>, PortError> {
        let pages = self.client.list_stack_sets().status(aws_sdk_cloudformation::types::StackSetStatus::Active);
        let found: Vec<_> = runtime()
            .block_on(pages.into_paginator().items().send().collect::<Result<Vec<_>, _>>())
            .map_err(|e| self.err("ListStackSets", e))?;
        let names: Vec<String> = found
            .iter()
            .filter(|s| s.status().is_none_or(|x| x.as_str() == "ACTIVE"))
            .filter_map(|s| s.stack_set_name().map(str::to_string))
            .collect();
        let mut all = Vec::new();
        for name in names {
            if let Some(info) = self.describe_stack_set(&name)? {
                all.push(info);
            }
        }
        Ok(all)
    }

    fn delete_stack_set(&self, name: &str) -> Result<(), PortError> {
        runtime()
            .block_on(self.client.delete_stack_set().stack_set_name(name).set_call_as(self.call_as(name)).send())
            .map_err(|e| self.err("DeleteStackSet", e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_cloudformation::operation::delete_stack_instances::DeleteStackInstancesOutput;
    use aws_sdk_cloudformation::operation::list_stack_instances::ListStackInstancesOutput;
    use aws_sdk_cloudformation::types::StackInstanceSummary;
    use aws_sdk_cloudformation::Client;
    use aws_smithy_mocks::{mock, mock_client, RuleMode};

    use super::*;

    #[test]
    fn a_delegated_stack_set_is_called_as_the_delegated_admin_and_others_are_not() {
        let delegated = mock!(Client::list_stack_instances)
            .match_requests(|r| r.stack_set_name() == Some("org-guard") && r.call_as() == Some(&CallAs::DelegatedAdmin))
            .then_output(|| {
                ListStackInstancesOutput::builder()
                    .summaries(
                        StackInstanceSummary::builder()
                            .account("111111111111")
                            .region("eu-west-1")
                            .organizational_unit_id("ou-ab12-abcdefgh")
                            .build(),
                    )
                    .build()
            });
        let own = mock!(Client::list_stack_instances)
            .match_requests(|r| r.stack_set_name() == Some("own-guard") && r.call_as().is_none())
            .then_output(|| ListStackInstancesOutput::builder().build());
        let by_unit = mock!(Client::delete_stack_instances)
            .match_requests(|r| {
                r.call_as() == Some(&CallAs::DelegatedAdmin)
                    && r.accounts().is_empty()
                    && r.deployment_targets().is_some_and(|t| t.organizational_unit_ids() == ["ou-ab12-abcdefgh"])
                    && r.retain_stacks() == Some(false)
            })
            .then_output(|| DeleteStackInstancesOutput::builder().operation_id("op-1").build());
        let client = mock_client!(aws_sdk_cloudformation, RuleMode::MatchAny, [&delegated, &own, &by_unit]);
        let cfn = AwsCloudFormation::from_clients(client, super::super::cloudformation::tests::sts(), "http://mock")
            .with_delegated(["org-guard".to_string()].into());
        let found = cfn.stack_instances("org-guard").unwrap();
        assert_eq!(found[0].organizational_unit.as_deref(), Some("ou-ab12-abcdefgh"));
        assert!(cfn.stack_instances("own-guard").unwrap().is_empty());
        let targets = InstanceTargets { accounts: vec![], organizational_units: vec!["ou-ab12-abcdefgh".into()] };
        let op =
            cfn.delete_stack_instances("org-guard", &targets, &["eu-west-1".into()], &OperationPreferences::default());
        assert_eq!(op.unwrap(), "op-1");
    }
}
