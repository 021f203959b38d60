//! The fake's StackSets: stack sets and their instances, operations that succeed at once or as scripted.

use std::collections::BTreeMap;

use super::{refuse_placeholders, Fake};
use crate::cfn::port::*;

fn shown_parameters(r: &StackSetRequest) -> BTreeMap<String, String> {
    r.parameters
        .iter()
        .map(|(k, v)| {
            let v = match v {
                ApiValue::Plain(s) => s.clone(),
                ApiValue::Secret(_) => "****".into(),
                ApiValue::Previous | ApiValue::Placeholder(_) => String::new(),
            };
            (k.clone(), v)
        })
        .collect()
}

impl StackSets for Fake {
    fn describe_stack_set(&self, name: &str) -> Result<Option<StackSetInfo>, PortError> {
        Ok(self.stack_sets.lock().unwrap().get(name).map(|(s, _)| s.clone()))
    }

    fn create_stack_set(&self, r: &StackSetRequest) -> Result<(), PortError> {
        self.calls.lock().unwrap().push(format!("create_stack_set {}", r.name));
        refuse_placeholders("CreateStackSet", &r.parameters)?;
        let info = StackSetInfo {
            name: r.name.clone(),
            id: format!("{}:1", r.name),
            status: "ACTIVE".into(),
            template_body: r.template_body.clone(),
            parameters: shown_parameters(r),
            tags: r.tags.clone(),
        };
        self.stack_sets.lock().unwrap().insert(r.name.clone(), (info, Vec::new()));
        Ok(())
    }

    fn update_stack_set(&self, r: &StackSetRequest, _: &OperationPreferences) -> Result<String, PortError> {
        self.calls.lock().unwrap().push(format!("update_stack_set {}", r.name));
        refuse_placeholders("UpdateStackSet", &r.parameters)?;
        let pairs = {
            let mut sets = self.stack_sets.lock().unwrap();
            let (info, instances) = sets.get_mut(&r.name).ok_or_else(|| Fake::missing_set(&r.name))?;
            info.template_body = r.template_body.clone();
            info.parameters = shown_parameters(r);
            info.tags = r.tags.clone();
            instances.iter().map(|i| (i.account.clone(), i.region.clone())).collect::<Vec<_>>()
        };
        let mut updated = Vec::new();
        let op = self.operation(pairs, |a, r| updated.push((a.to_string(), r.to_string())));
        let mut sets = self.stack_sets.lock().unwrap();
        for i in &mut sets.get_mut(&r.name).unwrap().1 {
            let ok = updated.contains(&(i.account.clone(), i.region.clone()));
            i.status = if ok { "CURRENT" } else { "OUTDATED" }.into();
        }
        Ok(op)
    }

    fn create_stack_instances(
        &self,
        name: &str,
        targets: &InstanceTargets,
        regions: &[String],
        _: &OperationPreferences,
    ) -> Result<String, PortError> {
        self.calls.lock().unwrap().push(format!("create_stack_instances {name} {:?} {regions:?}", targets.accounts));
        if !self.stack_sets.lock().unwrap().contains_key(name) {
            return Err(Fake::missing_set(name));
        }
        let pairs: Vec<(String, String)> =
            regions.iter().flat_map(|r| targets.accounts.iter().map(move |a| (a.clone(), r.clone()))).collect();
        let mut made = Vec::new();
        let op = self.operation(pairs, |a, r| made.push((a.to_string(), r.to_string())));
        let mut sets = self.stack_sets.lock().unwrap();
        let instances = &mut sets.get_mut(name).unwrap().1;
        for (account, region) in made {
            instances.push(StackInstance {
                account,
                region,
                organizational_unit: None,
                status: "CURRENT".into(),
                detailed: Some("SUCCEEDED".into()),
                reason: None,
                drift: None,
            });
        }
        Ok(op)
    }

    fn delete_stack_instances(
        &self,
        name: &str,
        targets: &InstanceTargets,
        regions: &[String],
        _: &OperationPreferences,
    ) -> Result<String, PortError> {
        self.calls.lock().unwrap().push(format!("delete_stack_instances {name} {:?} {regions:?}", targets.accounts));
        let pairs: Vec<(String, String)> =
            regions.iter().flat_map(|r| targets.accounts.iter().map(move |a| (a.clone(), r.clone()))).collect();
        let mut gone = Vec::new();
        let op = self.operation(pairs, |a, r| gone.push((a.to_string(), r.to_string())));
        let mut sets = self.stack_sets.lock().unwrap();
        let instances = &mut sets.get_mut(name).ok_or_else(|| Fake::missing_set(name))?.1;
        instances.retain(|i| !gone.contains(&(i.account.clone(), i.region.clone())));
        Ok(op)
    }

    fn stop_stack_set_operation(&self, name: &str, operation: &str) -> Result<(), PortError> {
        self.calls.lock().unwrap().push(format!("stop_stack_set_operation {name} {operation}"));
        if let Some(o) = self.operations.lock().unwrap().get_mut(operation) {
            o.0 = "STOPPED".into();
        }
        Ok(())
    }

    fn stack_set_operation(&self, _: &str, operation: &str) -> Result<String, PortError> {
        Ok(self.operations.lock().unwrap().get(operation).map(|o| o.0.clone()).unwrap_or_default())
    }

    fn stack_set_operation_results(&self, _: &str, operation: &str) -> Result<Vec<InstanceResult>, PortError> {
        Ok(self.operations.lock().unwrap().get(operation).map(|o| o.1.clone()).unwrap_or_default())
    }

    fn stack_instances(&self, name: &str) -> Result<Vec<StackInstance>, PortError> {
        Ok(self.stack_sets.lock().unwrap().get(name).map(|s| s.1.clone()).unwrap_or_default())
    }

    fn detect_stack_set_drift(&self, name: &str) -> Result<String, PortError> {
        self.calls.lock().unwrap().push(format!("detect_stack_set_drift {name}"));
        let found = self.instance_drifts.lock().unwrap().clone();
        let mut sets = self.stack_sets.lock().unwrap();
        let instances = &mut sets.get_mut(name).ok_or_else(|| Fake::missing_set(name))?.1;
        for i in instances.iter_mut() {
            let drifts = found.get(&(name.to_string(), i.account.clone(), i.region.clone()));
            let drifted = drifts.is_some_and(|d| d.iter().any(|r| r.status == "MODIFIED" || r.status == "DELETED"));
            i.drift = Some(if drifted { "DRIFTED" } else { "IN_SYNC" }.into());
        }
        let id = format!("op-{}", self.next_id());
        self.operations.lock().unwrap().insert(id.clone(), ("SUCCEEDED".into(), Vec::new()));
        Ok(id)
    }

    fn stack_instance_resource_drifts(
        &self,
        name: &str,
        account: &str,
        region: &str,
        _: &str,
    ) -> Result<Vec<ResourceDrift>, PortError> {
        let key = (name.to_string(), account.to_string(), region.to_string());
        Ok(self.instance_drifts.lock().unwrap().get(&key).cloned().unwrap_or_default())
    }

    fn list_stack_sets(&self) -> Result<Vec<StackSetInfo>, PortError> {
        Ok(self.stack_sets.lock().unwrap().values().map(|s| s.0.clone()).collect())
    }

    fn delete_stack_set(&self, name: &str) -> Result<(), PortError> {
        self.calls.lock().unwrap().push(format!("delete_stack_set {name}"));
        let mut sets = self.stack_sets.lock().unwrap();
        if sets.get(name).is_some_and(|s| !s.1.is_empty()) {
            return Err(PortError::Api {
                operation: "DeleteStackSet".into(),
                code: "StackSetNotEmptyException".into(),
                message: "StackSet is not empty".into(),
            });
        }
        sets.remove(name);
        Ok(())
    }
}
