//! Deploying a layer as a StackSet. StackSets have no change sets: the plan compares the stack set's
//! template, parameters and tags with the rendered ones (secrets by their version fingerprints, never by
//! value), and its instances with the targets; a deploy removes the instances no longer targeted, updates
//! the stack set (CloudFormation then updates every instance, in the configured order and concurrency)
//! and adds the new instances, following each operation to its per-instance results.

use std::time::Instant;

use super::driver::{parameter_plan, Driver};
use super::layer::{LayerError, Prepared};
use super::plan::{self, Action, Change, LayerPlan};
use super::step::Step;
use crate::cfn::port::*;
use crate::cfn::stack_state::STACK_SET_ACTIVE;
use crate::cfn::template::Template;
use crate::diff;
use crate::stackset_settings::{groups, plan_instances, InstancePlan, StackSetTarget};

/// A stack set as a layer's deployed state: its parameters and tags, no outputs. The value of a
/// parameter its template declares `NoEcho` is masked here, whatever DescribeStackSet answered, so no
/// later comparison or report can show it.
pub fn as_stack_info(s: &StackSetInfo) -> StackInfo {
    let no_echo: Vec<String> = Template::parse(&s.template_body)
        .map(|t| t.parameters().into_iter().filter(|p| p.no_echo).map(|p| p.name).collect())
        .unwrap_or_default();
    let parameters = s
        .parameters
        .iter()
        .map(|(k, v)| (k.clone(), if no_echo.contains(k) { "****".to_string() } else { v.clone() }))
        .collect();
    StackInfo {
        name: s.name.clone(),
        id: s.id.clone(),
        status: STACK_SET_ACTIVE.into(),
        parameters,
        tags: s.tags.clone(),
        ..Default::default()
    }
}

/// `target/region` as shown in plans and progress.
fn place(t: &str, r: &str) -> String {
    format!("{t}/{r}")
}

fn change(action: &str, t: &str, r: &str, what: &str) -> Change {
    Change { logical_id: place(t, r), action: action.into(), ..Change::added("", what) }
}

/// A layer deployed as a stack set.
pub struct StackSetPath<'a> {
    pub d: &'a Driver<'a>,
}

impl StackSetPath<'_> {
    /// The plan of a stack set layer: what changes in the stack set, and per instance.
    pub fn plan(&self, p: &Prepared, target: &StackSetTarget) -> Result<LayerPlan, LayerError> {
        let existing = self.d.cfn.describe_stack_set(&p.stack_name)?;
        let instances = match &existing {
            Some(_) => self.d.cfn.stack_instances(&p.stack_name)?,
            None => Vec::new(),
        };
        let info = existing.as_ref().map(as_stack_info);
        let (parameters, unknown_secrets) = parameter_plan(p, info.as_ref());
        let template_changed =
            existing.as_ref().is_some_and(|s| !diff::templates(&s.template_body, &p.template_body).is_empty());
        let tags = plan::tag_changes(info.as_ref().map(|e| &e.tags), &p.tags);
        let set_changes = template_changed || !parameters.is_empty() || !tags.is_empty() || unknown_secrets;
        let ip = plan_instances(target, &instances);
        let mut changes: Vec<Change> =
            ip.add.iter().map(|(t, r)| change("Add", t, r, "stack instance (new)")).collect();
        if existing.is_some() {
            for (t, r) in &ip.keep {
                if ip.outdated.contains(&(t.clone(), r.clone())) {
                    changes.push(change(
                        "Modify",
                        t,
                        r,
                        "stack instance (OUTDATED: an earlier operation did not reach it)",
                    ));
                } else if set_changes {
                    changes.push(change("Modify", t, r, "stack instance"));
                }
            }
        }
        changes.extend(
            ip.remove
                .iter()
                .map(|(t, r)| change("Remove", t, r, "stack instance (no longer targeted: its stack is deleted)")),
        );
        let action = match &existing {
            None => Action::Create,
            Some(_) if changes.is_empty() && !set_changes => Action::NoChanges,
            Some(_) => Action::Update,
        };
        Ok(LayerPlan {
            layer: p.layer.clone(),
            stack_name: p.stack_name.clone(),
            action,
            changes,
            parameters: if action == Action::NoChanges { Vec::new() } else { parameters },
            tags: if action == Action::NoChanges { Vec::new() } else { tags },
            waiting_for: p.waiting_for.clone(),
            template_changed,
            stack_set: true,
            change_set: None,
            existing: info,
            digest: p.digest(),
        })
    }

    fn stack_set_request(p: &Prepared, target: &StackSetTarget) -> StackSetRequest {
        StackSetRequest {
            name: p.stack_name.clone(),
            template_body: p.template_body.clone(),
            template_url: p.template_url.clone(),
            parameters: p.parameters.iter().map(|x| (x.name.clone(), x.value.clone())).collect(),
            tags: p.tags.clone(),
            capabilities: p.capabilities.clone(),
            description: format!("stackc {}", p.layer),
            service_managed: target.service_managed(),
            administration_role_arn: target.administration_role_arn.clone(),
            execution_role_name: target.execution_role_name.clone(),
        }
    }

    /// Create the stack set, or remove the untargeted instances and update it; then add the new instances.
    /// Each operation is followed to its end.
    pub fn execute(&self, p: &Prepared, lp: &LayerPlan, target: &StackSetTarget) -> Result<StackInfo, LayerError> {
        let request = Self::stack_set_request(p, target);
        let name = &p.stack_name;
        let current = match lp.action {
            Action::Create => {
                self.d.reporter.status(&p.layer, &Step::CreatingStackSet);
                self.d.cfn.create_stack_set(&request)?;
                Vec::new()
            }
            _ => self.d.cfn.stack_instances(name)?,
        };
        let ip: InstancePlan = plan_instances(target, &current);
        // Instances no longer targeted go first (so the update does not touch them), then the stack set and
        // the instances that stay are updated, then new instances start from the new template.
        for (targets, regions) in groups(&ip.remove) {
            let step = Step::Instances { adding: false, targets: targets.clone(), regions: regions.clone() };
            self.d.reporter.status(&p.layer, &step);
            let t = instance_targets(target.service_managed(), targets);
            let op = self.d.cfn.delete_stack_instances(name, &t, &regions, &in_order(target, &regions))?;
            self.follow_operation(&p.layer, name, &op, "removing instances", p.timeout)?;
        }
        let set_changes = lp.template_changed || !lp.parameters.is_empty() || !lp.tags.is_empty();
        if lp.action == Action::Update && (set_changes || !ip.outdated.is_empty()) {
            self.d.reporter.status(&p.layer, &Step::UpdatingStackSet { instances: ip.keep.len() });
            let kept: Vec<String> = ip.keep.iter().map(|(_, r)| r.clone()).collect();
            let op = self.d.cfn.update_stack_set(&request, &in_order(target, &kept))?;
            self.follow_operation(&p.layer, name, &op, "update", p.timeout)?;
        }
        for (targets, regions) in groups(&ip.add) {
            let step = Step::Instances { adding: true, targets: targets.clone(), regions: regions.clone() };
            self.d.reporter.status(&p.layer, &step);
            let t = instance_targets(target.service_managed(), targets);
            let op = self.d.cfn.create_stack_instances(name, &t, &regions, &in_order(target, &regions))?;
            self.follow_operation(&p.layer, name, &op, "adding instances", p.timeout)?;
        }
        let after = self
            .d
            .cfn
            .describe_stack_set(name)?
            .ok_or_else(|| LayerError::Disappeared { what: "stack set", name: name.to_string() })?;
        Ok(as_stack_info(&after))
    }

    /// Poll a stack set operation to its end and report each instance's result; an operation that did
    /// not succeed is an error naming the instances that failed and why. With `timeout_minutes`, an
    /// operation still running then is stopped: the instances it has not reached stay OUTDATED, and the
    /// next deploy updates them.
    fn follow_operation(
        &self,
        layer: &str,
        name: &str,
        op: &str,
        what: &str,
        timeout: Option<std::time::Duration>,
    ) -> Result<(), LayerError> {
        let start = Instant::now();
        let mut attempt = 0;
        let mut stopped = false;
        let status = loop {
            let status = self.d.cfn.stack_set_operation(name, op)?;
            if !matches!(status.as_str(), "RUNNING" | "QUEUED" | "STOPPING") {
                break status;
            }
            if let Some(limit) = timeout.filter(|t| !stopped && start.elapsed() > *t) {
                let minutes = (limit.as_secs_f64() / 60.0).round() as u64;
                self.d.reporter.status(layer, &Step::StoppingOperation { status: status.clone(), minutes });
                self.d.cfn.stop_stack_set_operation(name, op)?;
                stopped = true;
            }
            if start.elapsed() > self.d.settings.timeout {
                return Err(LayerError::OperationRunning {
                    op: op.to_string(),
                    what: what.to_string(),
                    name: name.to_string(),
                    status,
                });
            }
            self.d.sleep(attempt);
            attempt += 1;
        };
        if stopped && status != "SUCCEEDED" {
            return Err(LayerError::OperationStopped { what: what.to_string(), name: name.to_string(), status });
        }
        let results = self.d.cfn.stack_set_operation_results(name, op).unwrap_or_default();
        for r in &results {
            let step = Step::Instance {
                place: place(&r.account, &r.region),
                status: r.status.clone(),
                reason: r.reason.clone(),
            };
            self.d.reporter.status(layer, &step);
        }
        if status == "SUCCEEDED" {
            return Ok(());
        }
        let failed: Vec<String> = results
            .iter()
            .filter(|r| r.status != "SUCCEEDED")
            .map(|r| {
                format!(
                    "{}: {} {}",
                    place(&r.account, &r.region),
                    r.status,
                    r.reason.as_deref().unwrap_or("no reason given")
                )
            })
            .collect();
        Err(LayerError::OperationEnded { what: what.to_string(), name: name.to_string(), status, failed })
    }

    /// Remove every instance (their stacks are deleted), then the stack set.
    pub fn delete(&self, layer: &str, name: &str) -> Result<(), LayerError> {
        let instances = self.d.cfn.stack_instances(name)?;
        let service_managed = instances.iter().any(|i| i.organizational_unit.is_some());
        let pairs: Vec<(String, String)> = instances
            .iter()
            .map(|i| {
                let t =
                    if service_managed { i.organizational_unit.clone().unwrap_or_default() } else { i.account.clone() };
                (t, i.region.clone())
            })
            .collect();
        for (targets, regions) in groups(&pairs) {
            let step = Step::Instances { adding: false, targets: targets.clone(), regions: regions.clone() };
            self.d.reporter.status(layer, &step);
            let t = instance_targets(service_managed, targets);
            let op = self.d.cfn.delete_stack_instances(name, &t, &regions, &OperationPreferences::default())?;
            self.follow_operation(layer, name, &op, "removing instances", None)?;
        }
        self.d.reporter.status(layer, &Step::DeletingStackSet);
        self.d.cfn.delete_stack_set(name)?;
        Ok(())
    }
}

/// The rollout preferences for an operation on `regions`: the configured region order, only those.
fn in_order(target: &StackSetTarget, regions: &[String]) -> OperationPreferences {
    let mut prefs = target.preferences.clone();
    prefs.region_order.retain(|r| regions.contains(r));
    prefs
}

fn instance_targets(service_managed: bool, targets: Vec<String>) -> InstanceTargets {
    if service_managed {
        InstanceTargets { accounts: Vec::new(), organizational_units: targets }
    } else {
        InstanceTargets { accounts: targets, organizational_units: Vec::new() }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::engine::tests::prepared_for_tests;
    use super::super::ports::Settings;

    use super::super::fake::Fake;
    use super::super::ports::Silent;
    use super::*;
    use crate::stackset_settings::StackSetSettings;

    fn driver(fake: &Fake) -> Driver<'_> {
        let settings = Settings { poll_initial: Duration::ZERO, poll_max: Duration::ZERO, ..Settings::default() };
        Driver { cfn: fake, reporter: &Silent, settings, run: Box::leak(Box::default()) }
    }

    /// The stack set path with the plan and execute calls the engine would make for `p`'s target.
    struct Path<'a>(StackSetPath<'a>);

    impl Path<'_> {
        fn plan_layer(&self, p: &Prepared) -> Result<LayerPlan, LayerError> {
            self.0.plan(p, p.stackset.as_ref().unwrap())
        }
        fn execute(&self, p: &Prepared, lp: &LayerPlan) -> Result<StackInfo, LayerError> {
            self.0.execute(p, lp, p.stackset.as_ref().unwrap())
        }
    }

    fn guard(accounts: &[&str], regions: &[&str]) -> Prepared {
        let mut p = prepared_for_tests("guard");
        p.stackset = Some(
            StackSetSettings {
                accounts: Some(accounts.iter().map(|a| a.to_string()).collect()),
                regions: Some(regions.iter().map(|r| r.to_string()).collect()),
                ..Default::default()
            }
            .resolve("123456789012", "eu-west-1"),
        );
        p
    }

    fn deploy(e: &Path<'_>, p: &Prepared) -> Result<LayerPlan, LayerError> {
        let lp = e.plan_layer(p)?;
        if lp.action != Action::NoChanges {
            e.execute(p, &lp)?;
        }
        Ok(lp)
    }

    #[test]
    fn a_stack_set_is_created_then_up_to_date_then_rolled_out_further() {
        let fake = Fake::new();
        let d = driver(&fake);
        let e = Path(StackSetPath { d: &d });
        let p = guard(&["111111111111", "222222222222"], &["eu-west-1", "us-east-1"]);
        let lp = deploy(&e, &p).unwrap();
        assert_eq!(lp.action, Action::Create);
        assert!(lp.stack_set && lp.change_set.is_none());
        assert_eq!(lp.changes.iter().filter(|c| c.action == "Add").count(), 4);
        assert_eq!(fake.stack_instances("app-qa-guard").unwrap().len(), 4);
        // One CreateStackInstances covers all four (same accounts in both regions).
        let calls = fake.calls.lock().unwrap().clone();
        assert_eq!(calls.iter().filter(|c| c.starts_with("create_stack_instances")).count(), 1, "{calls:?}");
        // The secret went to CloudFormation but reads back masked and is never part of the plan.
        let text = plan::to_text("qa", std::slice::from_ref(&lp));
        assert!(!text.contains("canary-engine"), "{text}");

        assert_eq!(e.plan_layer(&p).unwrap().action, Action::NoChanges);

        // A new region for one account, one account gone: add one, remove two, update nothing else.
        let p2 = guard(&["111111111111"], &["eu-west-1", "us-east-1", "ap-south-1"]);
        let lp = e.plan_layer(&p2).unwrap();
        assert_eq!(lp.action, Action::Update);
        let shown: Vec<String> = lp.changes.iter().map(|c| format!("{} {}", c.action, c.logical_id)).collect();
        assert_eq!(
            shown,
            ["Add 111111111111/ap-south-1", "Remove 222222222222/eu-west-1", "Remove 222222222222/us-east-1"]
        );
        e.execute(&p2, &lp).unwrap();
        let mut now: Vec<String> =
            fake.stack_instances("app-qa-guard").unwrap().iter().map(|i| place(&i.account, &i.region)).collect();
        now.sort();
        assert_eq!(now, ["111111111111/ap-south-1", "111111111111/eu-west-1", "111111111111/us-east-1"]);
        let calls = fake.calls.lock().unwrap().clone();
        assert!(!calls.iter().any(|c| c.starts_with("update_stack_set")));
        // Instances no longer targeted go before new ones are made.
        let removed = calls.iter().position(|c| c.starts_with("delete_stack_instances")).unwrap();
        let added = calls.iter().rposition(|c| c.starts_with("create_stack_instances")).unwrap();
        assert!(removed < added, "{calls:?}");
    }

    #[test]
    fn a_changed_parameter_updates_every_instance_and_a_failed_region_is_named() {
        let fake = Fake::new();
        let d = driver(&fake);
        let e = Path(StackSetPath { d: &d });
        let p = guard(&["111111111111"], &["eu-west-1", "us-east-1"]);
        deploy(&e, &p).unwrap();
        let mut changed = p.clone();
        changed.parameters[0].value = ApiValue::Plain("m".into());
        changed.parameters[0].shown = "m".into();
        let lp = e.plan_layer(&changed).unwrap();
        assert_eq!(lp.action, Action::Update);
        assert_eq!(lp.parameters.len(), 1, "{:?}", lp.parameters);
        assert_eq!(lp.changes.iter().filter(|c| c.action == "Modify").count(), 2);
        fake.failing_regions.lock().unwrap().insert("us-east-1".into(), "Resource limit exceeded".into());
        let err = e.execute(&changed, &lp).unwrap_err();
        assert!(err.to_string().contains("ended FAILED"), "{}", err.to_string());
        assert!(
            err.to_string().contains("111111111111/us-east-1: FAILED Resource limit exceeded"),
            "{}",
            err.to_string()
        );
        // The instance the operation did not reach is OUTDATED: the next plan updates it again.
        fake.failing_regions.lock().unwrap().clear();
        let again = e.plan_layer(&changed).unwrap();
        assert_eq!(again.action, Action::Update);
        assert!(again
            .changes
            .iter()
            .any(|c| c.logical_id == "111111111111/us-east-1" && c.resource_type.contains("OUTDATED")));
        e.execute(&changed, &again).unwrap();
        assert_eq!(e.plan_layer(&changed).unwrap().action, Action::NoChanges);
    }

    #[test]
    fn an_operation_past_timeout_minutes_is_stopped_and_the_layer_fails() {
        let fake = Fake::new();
        let d = driver(&fake);
        let e = Path(StackSetPath { d: &d });
        let p = guard(&["111111111111"], &["eu-west-1"]);
        deploy(&e, &p).unwrap();
        let mut changed = p.clone();
        changed.parameters[0].value = ApiValue::Plain("m".into());
        changed.parameters[0].shown = "m".into();
        changed.timeout = Some(Duration::from_millis(20));
        let lp = e.plan_layer(&changed).unwrap();
        *fake.hold_operations.lock().unwrap() = true;
        let err = e.execute(&changed, &lp).unwrap_err();
        assert!(err.to_string().contains("ran past timeout_minutes and was stopped (STOPPED)"), "{}", err.to_string());
        assert!(fake.calls.lock().unwrap().iter().any(|c| c.starts_with("stop_stack_set_operation app-qa-guard")));
    }

    #[test]
    fn a_no_echo_value_the_service_returns_in_clear_is_masked() {
        let set = StackSetInfo {
            name: "app-qa-guard".into(),
            template_body: "Parameters:\n  Pw: {Type: String, NoEcho: true}\n  Size: {Type: String}\nResources: {}\n"
                .into(),
            parameters: [("Pw".to_string(), "planted-secret-9".to_string()), ("Size".to_string(), "s".to_string())]
                .into(),
            ..Default::default()
        };
        let info = as_stack_info(&set);
        assert_eq!(info.parameters["Pw"], "****");
        assert_eq!(info.parameters["Size"], "s");
    }

    #[test]
    fn an_operation_orders_only_its_own_regions_as_configured() {
        let p = guard(&["111111111111"], &["eu-west-1", "us-east-1", "ap-south-1"]);
        let target = p.stackset.unwrap();
        let prefs = in_order(&target, &["ap-south-1".to_string(), "eu-west-1".to_string()]);
        assert_eq!(prefs.region_order, vec!["eu-west-1", "ap-south-1"]);
    }

    #[test]
    fn destroying_a_stack_set_layer_removes_its_instances_first() {
        let fake = Fake::new();
        let d = driver(&fake);
        let e = Path(StackSetPath { d: &d });
        let p = guard(&["111111111111"], &["eu-west-1", "us-east-1"]);
        deploy(&e, &p).unwrap();
        e.0.delete("guard", "app-qa-guard").unwrap();
        assert!(fake.describe_stack_set("app-qa-guard").unwrap().is_none());
        let calls = fake.calls.lock().unwrap().clone();
        let last: Vec<&String> = calls.iter().rev().take(2).collect();
        assert!(last[0].starts_with("delete_stack_set") && last[1].starts_with("delete_stack_instances"), "{calls:?}");
    }
}
