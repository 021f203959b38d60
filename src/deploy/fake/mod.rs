//! A scripted fake of the CloudFormation port that follows AWS's documented state sequences, for the
//! paths the emulator cannot produce: resource failures with rollback, ROLLBACK_COMPLETE,
//! UPDATE_ROLLBACK_FAILED, operations in progress, empty change sets, throttling.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

use crate::cfn::port::*;

mod stack_sets;

#[derive(Debug, Clone)]
pub enum OnChangeSet {
    /// Change set completes with these (action, logical id, type, replacement).
    Changes(Vec<(&'static str, &'static str, &'static str, Option<&'static str>)>),
    /// Change set completes with these changes, property details included.
    Detailed(Vec<ResourceChange>),
    /// AWS: change set FAILED with "didn't contain changes".
    FailedNoChanges,
    /// Some endpoints: CreateChangeSet answers ValidationError "No updates are to be performed."
    ValidationNoChanges,
    Rejected(&'static str),
}

#[derive(Debug, Clone)]
pub enum OnExecute {
    Succeed,
    /// This resource fails with this reason; the others are cancelled; the stack rolls back.
    FailResource(&'static str, &'static str, &'static str),
    /// Rolling back fails too (update only): UPDATE_ROLLBACK_FAILED.
    FailRollback(&'static str, &'static str, &'static str),
    /// Like FailResource, with this many resources rolled back after it (two events each): a long rollback
    /// that pushes the root cause pages deep into the history.
    FailDeep(&'static str, &'static str, &'static str, usize),
}

#[derive(Default)]
pub struct Fake {
    pub stacks: Mutex<BTreeMap<String, StackInfo>>,
    pub events: Mutex<BTreeMap<String, Vec<StackEvent>>>,
    /// Statuses reported by the next describes of a stack before its stored status (an operation in progress).
    pub busy: Mutex<BTreeMap<String, VecDeque<String>>>,
    pub on_change_set: Mutex<BTreeMap<String, VecDeque<OnChangeSet>>>,
    pub on_execute: Mutex<BTreeMap<String, VecDeque<OnExecute>>>,
    pub throttle: Mutex<u32>,
    pub change_sets: Mutex<BTreeMap<String, (ChangeSetRequest, ChangeSetInfo)>>,
    pub calls: Mutex<Vec<String>>,
    /// Deployed template bodies by stack (a stack made by `with_stack` holds "Resources: {}").
    pub templates: Mutex<BTreeMap<String, String>>,
    pub account: String,
    /// What drift detection finds per stack, and how many status polls answer "in progress" first.
    pub drifts: Mutex<BTreeMap<String, Vec<ResourceDrift>>>,
    pub drift_polls: Mutex<BTreeMap<String, u32>>,
    /// Stack sets with their instances; operations with their status and results; regions where
    /// instance operations fail, with the reason.
    pub stack_sets: Mutex<BTreeMap<String, (StackSetInfo, Vec<StackInstance>)>>,
    pub operations: Mutex<BTreeMap<String, (String, Vec<InstanceResult>)>>,
    pub failing_regions: Mutex<BTreeMap<String, String>>,
    /// Operations stay RUNNING (until stopped) instead of finishing at once.
    pub hold_operations: Mutex<bool>,
    /// What drift detection finds per (stack set, account, region).
    pub instance_drifts: Mutex<BTreeMap<(String, String, String), Vec<ResourceDrift>>>,
    counter: Mutex<u64>,
}

impl Fake {
    pub fn new() -> Fake {
        Fake { account: "123456789012".into(), ..Default::default() }
    }

    pub fn with_stack(self, name: &str, status: &str) -> Fake {
        self.stacks.lock().unwrap().insert(
            name.into(),
            StackInfo { name: name.into(), id: format!("id-{name}"), status: status.into(), ..Default::default() },
        );
        self.templates.lock().unwrap().insert(name.into(), "Resources: {}".into());
        self
    }

    pub fn script_change_set(&self, stack: &str, on: OnChangeSet) {
        self.on_change_set.lock().unwrap().entry(stack.into()).or_default().push_back(on);
    }

    pub fn script_execute(&self, stack: &str, on: OnExecute) {
        self.on_execute.lock().unwrap().entry(stack.into()).or_default().push_back(on);
    }

    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }

    fn call(&self, what: String) -> Result<(), PortError> {
        self.calls.lock().unwrap().push(what.clone());
        let mut t = self.throttle.lock().unwrap();
        if *t > 0 {
            *t -= 1;
            return Err(PortError::Throttled { operation: what.split(' ').next().unwrap_or_default().to_string() });
        }
        Ok(())
    }

    fn next_id(&self) -> u64 {
        let mut c = self.counter.lock().unwrap();
        *c += 1;
        *c
    }

    pub fn event(&self, stack: &str, logical: &str, ty: &str, status: &str, reason: Option<&str>) {
        let id = self.next_id();
        self.events.lock().unwrap().entry(stack.into()).or_default().insert(
            0,
            StackEvent {
                id: format!("ev-{id}"),
                timestamp: format!("2026-01-01T00:00:{id:02}Z"),
                logical_id: logical.into(),
                resource_type: ty.into(),
                status: status.into(),
                reason: reason.map(str::to_string),
                physical_id: String::new(),
            },
        );
    }

    fn set_status(&self, stack: &str, status: &str) {
        if let Some(s) = self.stacks.lock().unwrap().get_mut(stack) {
            s.status = status.into();
        }
    }
}

impl CloudFormation for Fake {
    fn describe_stack(&self, name: &str) -> Result<Option<StackInfo>, PortError> {
        self.call(format!("DescribeStacks {name}"))?;
        if let Some(q) = self.busy.lock().unwrap().get_mut(name) {
            if let Some(status) = q.pop_front() {
                let mut s = self.stacks.lock().unwrap().get(name).cloned().unwrap_or_default();
                s.status = status;
                return Ok(Some(s));
            }
        }
        Ok(self.stacks.lock().unwrap().get(name).cloned().filter(|s| s.status != "DELETE_COMPLETE"))
    }

    fn list_stacks(&self) -> Result<Vec<StackInfo>, PortError> {
        self.call("DescribeStacks".into())?;
        Ok(self.stacks.lock().unwrap().values().filter(|s| s.status != "DELETE_COMPLETE").cloned().collect())
    }

    fn create_change_set(&self, r: &ChangeSetRequest) -> Result<String, PortError> {
        self.call(format!("CreateChangeSet {} {:?}", r.stack_name, r.kind))?;
        refuse_placeholders("CreateChangeSet", &r.parameters)?;
        let on = self
            .on_change_set
            .lock()
            .unwrap()
            .get_mut(&r.stack_name)
            .and_then(|q| q.pop_front())
            .unwrap_or(OnChangeSet::Changes(vec![("Add", "Thing", "AWS::SNS::Topic", None)]));
        if let OnChangeSet::ValidationNoChanges = on {
            return Err(PortError::Api {
                operation: "CreateChangeSet".into(),
                code: "ValidationError".into(),
                message: "No updates are to be performed.".into(),
            });
        }
        if r.kind == ChangeSetType::Create && !self.stacks.lock().unwrap().contains_key(&r.stack_name) {
            self.stacks.lock().unwrap().insert(
                r.stack_name.clone(),
                StackInfo {
                    name: r.stack_name.clone(),
                    id: format!("id-{}", r.stack_name),
                    status: "REVIEW_IN_PROGRESS".into(),
                    ..Default::default()
                },
            );
        }
        let id = format!("cs-{}", self.next_id());
        let info = match on {
            OnChangeSet::Changes(c) => ChangeSetInfo {
                id: id.clone(),
                status: "CREATE_COMPLETE".into(),
                status_reason: None,
                changes: c
                    .into_iter()
                    .map(|(a, l, t, rep)| ResourceChange {
                        action: a.into(),
                        logical_id: l.into(),
                        resource_type: t.into(),
                        replacement: rep.map(str::to_string),
                        ..Default::default()
                    })
                    .collect(),
            },
            OnChangeSet::Detailed(changes) => {
                ChangeSetInfo { id: id.clone(), status: "CREATE_COMPLETE".into(), status_reason: None, changes }
            }
            OnChangeSet::FailedNoChanges => ChangeSetInfo {
                id: id.clone(),
                status: "FAILED".into(),
                status_reason: Some("The submitted information didn't contain changes. Submit different information to create a change set.".into()),
                changes: vec![],
            },
            OnChangeSet::Rejected(why) => ChangeSetInfo { id: id.clone(), status: "FAILED".into(), status_reason: Some(why.into()), changes: vec![] },
            OnChangeSet::ValidationNoChanges => unreachable!(),
        };
        self.change_sets.lock().unwrap().insert(id.clone(), (r.clone(), info));
        Ok(id)
    }

    fn describe_change_set(&self, stack: &str, cs: &str) -> Result<ChangeSetInfo, PortError> {
        self.call(format!("DescribeChangeSet {stack}"))?;
        self.change_sets.lock().unwrap().get(cs).map(|(_, i)| i.clone()).ok_or(PortError::Api {
            operation: "DescribeChangeSet".into(),
            code: "ChangeSetNotFound".into(),
            message: cs.into(),
        })
    }

    fn execute_change_set(&self, stack: &str, cs: &str, _disable_rollback: bool) -> Result<(), PortError> {
        self.call(format!("ExecuteChangeSet {stack}"))?;
        let (req, _) = self.change_sets.lock().unwrap().remove(cs).expect("executing a known change set");
        let creating = req.kind == ChangeSetType::Create;
        let on =
            self.on_execute.lock().unwrap().get_mut(stack).and_then(|q| q.pop_front()).unwrap_or(OnExecute::Succeed);
        let (verb, done) = if creating { ("CREATE", "CREATE_COMPLETE") } else { ("UPDATE", "UPDATE_COMPLETE") };
        self.event(stack, stack, "AWS::CloudFormation::Stack", &format!("{verb}_IN_PROGRESS"), Some("User Initiated"));
        match on {
            OnExecute::Succeed => {
                self.templates.lock().unwrap().insert(stack.into(), req.template_body.clone());
                self.event(stack, "Thing", "AWS::SNS::Topic", &format!("{verb}_COMPLETE"), None);
                self.event(stack, stack, "AWS::CloudFormation::Stack", done, None);
                let mut stacks = self.stacks.lock().unwrap();
                let s = stacks.get_mut(stack).unwrap();
                s.status = done.into();
                s.parameters = req
                    .parameters
                    .iter()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            match v {
                                ApiValue::Plain(p) => p.clone(),
                                _ => "****".into(),
                            },
                        )
                    })
                    .collect();
                s.tags = req.tags.clone();
                s.outputs = BTreeMap::from([("Out".to_string(), format!("{stack}-out"))]);
            }
            OnExecute::FailResource(logical, ty, reason)
            | OnExecute::FailRollback(logical, ty, reason)
            | OnExecute::FailDeep(logical, ty, reason, _) => {
                let rollback_fails = matches!(on, OnExecute::FailRollback(..));
                self.event(stack, logical, ty, &format!("{verb}_FAILED"), Some(reason));
                self.event(
                    stack,
                    "Other",
                    "AWS::SNS::Topic",
                    &format!("{verb}_FAILED"),
                    Some("Resource creation cancelled"),
                );
                let rolled_back = if let OnExecute::FailDeep(.., n) = on { n } else { 0 };
                for i in 0..rolled_back {
                    self.event(stack, &format!("Queue{i}"), "AWS::SQS::Queue", "UPDATE_IN_PROGRESS", None);
                    self.event(stack, &format!("Queue{i}"), "AWS::SQS::Queue", "UPDATE_COMPLETE", None);
                }
                if creating {
                    self.event(
                        stack,
                        stack,
                        "AWS::CloudFormation::Stack",
                        "ROLLBACK_IN_PROGRESS",
                        Some("The following resource(s) failed to create: [Database]."),
                    );
                    self.event(stack, stack, "AWS::CloudFormation::Stack", "ROLLBACK_COMPLETE", None);
                    self.set_status(stack, "ROLLBACK_COMPLETE");
                } else if rollback_fails {
                    self.event(stack, stack, "AWS::CloudFormation::Stack", "UPDATE_ROLLBACK_IN_PROGRESS", None);
                    self.event(stack, logical, ty, "UPDATE_FAILED", Some("rollback could not restore it"));
                    self.event(stack, stack, "AWS::CloudFormation::Stack", "UPDATE_ROLLBACK_FAILED", None);
                    self.set_status(stack, "UPDATE_ROLLBACK_FAILED");
                } else {
                    self.event(stack, stack, "AWS::CloudFormation::Stack", "UPDATE_ROLLBACK_IN_PROGRESS", None);
                    self.event(stack, stack, "AWS::CloudFormation::Stack", "UPDATE_ROLLBACK_COMPLETE", None);
                    self.set_status(stack, "UPDATE_ROLLBACK_COMPLETE");
                }
            }
        }
        Ok(())
    }

    fn delete_change_set(&self, stack: &str, cs: &str) -> Result<(), PortError> {
        self.call(format!("DeleteChangeSet {stack}"))?;
        self.change_sets.lock().unwrap().remove(cs);
        Ok(())
    }

    /// Pages of 100, as CloudFormation answers; each page is a call.
    fn stack_events(&self, stack: &str, enough: &dyn Fn(&StackEvent) -> bool) -> Result<Vec<StackEvent>, PortError> {
        let events = self.events.lock().unwrap().get(stack).cloned().unwrap_or_default();
        let mut out = Vec::new();
        for (n, page) in events.chunks(100).enumerate().take(MAX_EVENT_PAGES) {
            self.call(if n == 0 {
                format!("DescribeStackEvents {stack}")
            } else {
                format!("DescribeStackEvents {stack} page {}", n + 1)
            })?;
            out.extend_from_slice(page);
            if page.iter().any(enough) {
                break;
            }
        }
        if events.is_empty() {
            self.call(format!("DescribeStackEvents {stack}"))?;
        }
        Ok(out)
    }

    fn get_template(&self, stack: &str) -> Result<String, PortError> {
        self.call(format!("GetTemplate {stack}"))?;
        Ok(self.templates.lock().unwrap().get(stack).cloned().unwrap_or_default())
    }

    fn physical_id(&self, stack: &str, logical_id: &str) -> Result<Option<String>, PortError> {
        self.call(format!("DescribeStackResource {stack} {logical_id}"))?;
        Ok(None)
    }

    fn delete_stack(&self, stack: &str) -> Result<(), PortError> {
        self.call(format!("DeleteStack {stack}"))?;
        self.event(stack, stack, "AWS::CloudFormation::Stack", "DELETE_COMPLETE", None);
        self.stacks.lock().unwrap().remove(stack);
        Ok(())
    }

    fn cancel_update_stack(&self, stack: &str) -> Result<(), PortError> {
        self.call(format!("CancelUpdateStack {stack}"))?;
        self.busy.lock().unwrap().remove(stack);
        self.event(stack, stack, "AWS::CloudFormation::Stack", "UPDATE_ROLLBACK_COMPLETE", Some("cancelled by user"));
        if let Some(s) = self.stacks.lock().unwrap().get_mut(stack) {
            s.status = "UPDATE_ROLLBACK_COMPLETE".into();
        }
        Ok(())
    }

    /// As AWS: only from UPDATE_ROLLBACK_FAILED, to UPDATE_ROLLBACK_COMPLETE (skipped resources are marked
    /// UPDATE_COMPLETE with a reason saying so); from any other status a ValidationError.
    fn continue_update_rollback(&self, stack: &str, skip: &[String]) -> Result<(), PortError> {
        self.call(format!("ContinueUpdateRollback {stack} {}", skip.join(",")))?;
        let status = self.stacks.lock().unwrap().get(stack).map(|s| s.status.clone());
        if status.as_deref() != Some("UPDATE_ROLLBACK_FAILED") {
            return Err(PortError::Api {
                operation: "ContinueUpdateRollback".into(),
                code: "ValidationError".into(),
                message: format!(
                    "Stack {stack} is in {} state and can not continue update rollback",
                    status.unwrap_or_default()
                ),
            });
        }
        self.event(
            stack,
            stack,
            "AWS::CloudFormation::Stack",
            "UPDATE_ROLLBACK_IN_PROGRESS",
            Some("Continue rollback"),
        );
        for logical in skip {
            self.event(
                stack,
                logical,
                "AWS::RDS::DBInstance",
                "UPDATE_COMPLETE",
                Some("Resource skipped during rollback"),
            );
        }
        self.event(stack, stack, "AWS::CloudFormation::Stack", "UPDATE_ROLLBACK_COMPLETE", None);
        self.set_status(stack, "UPDATE_ROLLBACK_COMPLETE");
        Ok(())
    }

    fn set_termination_protection(&self, stack: &str, enabled: bool) -> Result<(), PortError> {
        self.call(format!("UpdateTerminationProtection {stack} {enabled}"))?;
        if let Some(s) = self.stacks.lock().unwrap().get_mut(stack) {
            s.termination_protection = enabled;
        }
        Ok(())
    }

    fn set_stack_policy(&self, stack: &str, _body: &str) -> Result<(), PortError> {
        self.call(format!("SetStackPolicy {stack}"))
    }

    fn detect_drift(&self, stack: &str) -> Result<String, PortError> {
        self.calls.lock().unwrap().push(format!("detect_drift {stack}"));
        if !self.stacks.lock().unwrap().contains_key(stack) {
            return Err(PortError::Api {
                operation: "DetectStackDrift".into(),
                code: "ValidationError".into(),
                message: format!("Stack with id {stack} does not exist"),
            });
        }
        Ok(format!("drift-{stack}"))
    }

    fn drift_detection(&self, stack: &str, _detection: &str) -> Result<DriftDetection, PortError> {
        if let Some(n) = self.drift_polls.lock().unwrap().get_mut(stack).filter(|n| **n > 0) {
            *n -= 1;
            return Ok(DriftDetection {
                detection: "DETECTION_IN_PROGRESS".into(),
                reason: None,
                stack: None,
                drifted: 0,
            });
        }
        let drifts = self.drifts.lock().unwrap().get(stack).cloned().unwrap_or_default();
        let drifted = drifts.iter().filter(|d| d.status == "MODIFIED" || d.status == "DELETED").count() as u32;
        Ok(DriftDetection {
            detection: "DETECTION_COMPLETE".into(),
            reason: None,
            stack: Some(if drifted > 0 { "DRIFTED" } else { "IN_SYNC" }.into()),
            drifted,
        })
    }

    fn resource_drifts(&self, stack: &str) -> Result<Vec<ResourceDrift>, PortError> {
        Ok(self.drifts.lock().unwrap().get(stack).cloned().unwrap_or_default())
    }

    fn account_id(&self) -> Result<String, PortError> {
        Ok(self.account.clone())
    }
}

impl Fake {
    /// Runs an operation on `pairs` at once: each fails in a failing region, else `apply` is done to it.
    fn operation(&self, pairs: Vec<(String, String)>, mut apply: impl FnMut(&str, &str)) -> String {
        let failing = self.failing_regions.lock().unwrap().clone();
        let mut results = Vec::new();
        for (account, region) in pairs {
            let reason = failing.get(&region).cloned();
            if reason.is_none() {
                apply(&account, &region);
            }
            results.push(InstanceResult {
                status: if reason.is_some() { "FAILED" } else { "SUCCEEDED" }.into(),
                account,
                region,
                reason,
            });
        }
        let status = if *self.hold_operations.lock().unwrap() {
            "RUNNING"
        } else if results.iter().all(|r| r.status == "SUCCEEDED") {
            "SUCCEEDED"
        } else {
            "FAILED"
        };
        let id = format!("op-{}", self.next_id());
        self.operations.lock().unwrap().insert(id.clone(), (status.into(), results));
        id
    }

    fn missing_set(name: &str) -> PortError {
        PortError::Api {
            operation: "StackSet".into(),
            code: "StackSetNotFoundException".into(),
            message: format!("StackSet {name} not found"),
        }
    }
}

/// As the adapters do: a request carrying a placeholder is refused, so a test sees the leak.
pub(super) fn refuse_placeholders(operation: &str, parameters: &[(String, ApiValue)]) -> Result<(), PortError> {
    match parameters.iter().find_map(|(k, v)| match v {
        ApiValue::Placeholder(what) => Some((k, what)),
        _ => None,
    }) {
        Some((k, what)) => Err(placeholder_refused(operation, k, what)),
        None => Ok(()),
    }
}
