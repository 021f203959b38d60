//! Drift: what changed in the environment's stacks outside CloudFormation, found by CloudFormation's
//! own drift detection, per layer. Every property whose value comes from a secret (a `NoEcho` parameter or
//! a secret dynamic reference) is shown as changed, never with its values.

use std::time::{Duration, Instant};

use crate::cfn::port::{CloudFormation, PortError, ResourceDrift, StackInfo};
use crate::cfn::template::Template;

mod mask;
mod nested;
mod report;

use crate::cfn::stack_state;
pub use mask::{mask, secret_paths};
pub use nested::NestedDrift;
pub use report::{to_json, to_text};

/// What was found for one layer.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerDrift {
    pub layer: String,
    pub stack: String,
    pub state: State,
}

#[derive(Debug, Clone, PartialEq)]
pub enum State {
    NotDeployed,
    /// Detection ran: IN_SYNC or DRIFTED (or UNKNOWN), with every resource's result (secrets masked).
    /// `incomplete`: CloudFormation could not check some resources (DETECTION_FAILED), and why.
    Checked {
        status: String,
        resources: Vec<ResourceDrift>,
        incomplete: Option<String>,
        /// The stack's nested stacks, each checked on its own (CloudFormation does not cascade).
        nested: Vec<NestedDrift>,
    },
    /// Detection could not run or did not finish, and why.
    Failed(String),
    /// A stack set layer: each instance's drift (the drifted ones with their resources), and why the
    /// detection is incomplete if it is.
    StackSetChecked {
        instances: Vec<InstanceDrift>,
        incomplete: Option<String>,
    },
}

/// One stack set instance after drift detection.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceDrift {
    pub account: String,
    pub region: String,
    /// DRIFTED, IN_SYNC, UNKNOWN or NOT_CHECKED
    pub status: String,
    pub resources: Vec<ResourceDrift>,
}

impl State {
    pub fn drifted(&self) -> bool {
        match self {
            State::Checked { status, nested, .. } => status == "DRIFTED" || nested.iter().any(|n| n.state.drifted()),
            State::StackSetChecked { instances, .. } => instances.iter().any(|i| i.status == "DRIFTED"),
            _ => false,
        }
    }
    pub fn failed(&self) -> bool {
        match self {
            State::Checked { incomplete, nested, .. } => {
                incomplete.is_some() || nested.iter().any(|n| n.state.failed())
            }
            State::Failed(_) | State::StackSetChecked { incomplete: Some(_), .. } => true,
            _ => false,
        }
    }
}

impl LayerDrift {
    pub fn drifted(&self) -> bool {
        self.state.drifted()
    }
    pub fn failed(&self) -> bool {
        self.state.failed()
    }
}

/// How long to wait for CloudFormation, and how often to ask.
#[derive(Debug, Clone, Copy)]
pub struct Waits {
    pub first: Duration,
    pub max: Duration,
    pub timeout: Duration,
}

impl Default for Waits {
    fn default() -> Waits {
        Waits { first: Duration::from_millis(100), max: Duration::from_secs(5), timeout: Duration::from_secs(30 * 60) }
    }
}

pub(crate) fn is_drift(status: &str) -> bool {
    status == "MODIFIED" || status == "DELETED"
}

/// Runs drift detection on every deployed stack of `layers` (layer, stack name, stack if any): all are
/// started first, so CloudFormation checks them at once, then each is waited for and read.
pub fn detect(
    cfn: &dyn CloudFormation,
    layers: &[(String, String, Option<StackInfo>)],
    waits: Waits,
) -> Vec<LayerDrift> {
    let mut out: Vec<LayerDrift> = Vec::new();
    let mut started: Vec<(usize, String)> = Vec::new();
    let mut started_sets: Vec<(usize, String)> = Vec::new();
    for (layer, stack, info) in layers {
        let state = match info {
            None => State::NotDeployed,
            Some(i) if i.status == "REVIEW_IN_PROGRESS" => State::NotDeployed,
            Some(i) if stack_state::is_stack_set(i) => match cfn.detect_stack_set_drift(&i.name) {
                Ok(op) => {
                    started_sets.push((out.len(), op));
                    State::Failed("detection did not finish".into())
                }
                Err(e) => State::Failed(e.to_string()),
            },
            Some(i) if i.status.ends_with("_IN_PROGRESS") => {
                State::Failed(format!("the stack is {}; run `stackc drift` again when it has finished", i.status))
            }
            Some(i) => match cfn.detect_drift(&i.name) {
                Ok(id) => {
                    started.push((out.len(), id));
                    State::Failed("detection did not finish".into())
                }
                Err(e) => State::Failed(e.to_string()),
            },
        };
        out.push(LayerDrift { layer: layer.clone(), stack: stack.clone(), state });
    }
    let deadline = Instant::now() + waits.timeout;
    for (index, id) in started {
        let stack = out[index].stack.clone();
        out[index].state = match wait_for(cfn, &stack, &id, waits, deadline, 0) {
            Ok(state) => state,
            Err(why) => State::Failed(why),
        };
    }
    for (index, op) in started_sets {
        let name = out[index].stack.clone();
        out[index].state = match wait_for_set(cfn, &name, &op, waits, deadline) {
            Ok(state) => state,
            Err(why) => State::Failed(why),
        };
    }
    out
}

/// Asks `done` (Some once detection `id` has finished) with growing pauses until it answers or `deadline`.
fn poll<T>(
    waits: Waits,
    deadline: Instant,
    id: &str,
    mut done: impl FnMut() -> Result<Option<T>, String>,
) -> Result<T, String> {
    let mut delay = waits.first;
    loop {
        if let Some(found) = done()? {
            return Ok(found);
        }
        if Instant::now() + delay > deadline {
            return Err(format!(
                "detection {id} had not finished after {} s; it goes on in CloudFormation (run `stackc drift` again later)",
                waits.timeout.as_secs()
            ));
        }
        std::thread::sleep(delay);
        delay = (delay * 2).min(waits.max);
    }
}

/// A stack set's drift detection, followed to its end: every instance's status, and the resources of
/// the drifted ones (secrets masked by the stack set's template).
fn wait_for_set(
    cfn: &dyn CloudFormation,
    name: &str,
    op: &str,
    waits: Waits,
    deadline: Instant,
) -> Result<State, String> {
    let status = poll(waits, deadline, op, || {
        let status = cfn.stack_set_operation(name, op).map_err(|e| e.to_string())?;
        Ok((!matches!(status.as_str(), "RUNNING" | "QUEUED" | "STOPPING")).then_some(status))
    })?;
    let template =
        cfn.describe_stack_set(name).map_err(|e| e.to_string())?.map(|s| s.template_body).unwrap_or_default();
    let secret = Template::parse(&template).map(|t| secret_paths(&t)).unwrap_or_default();
    let mut instances = Vec::new();
    for i in cfn.stack_instances(name).map_err(|e| e.to_string())? {
        let status = i.drift.clone().unwrap_or_else(|| "UNKNOWN".into());
        let mut resources = if status == "DRIFTED" {
            cfn.stack_instance_resource_drifts(name, &i.account, &i.region, op).map_err(|e| e.to_string())?
        } else {
            Vec::new()
        };
        mask(&mut resources, &secret);
        instances.push(InstanceDrift { account: i.account, region: i.region, status, resources });
    }
    let incomplete =
        (status != "SUCCEEDED").then(|| format!("the detection ended {status}; some instances were not checked"));
    Ok(State::StackSetChecked { instances, incomplete })
}

/// A stack's drift detection, followed to its end, and then each of its nested stacks' (`depth` deep).
fn wait_for(
    cfn: &dyn CloudFormation,
    stack: &str,
    id: &str,
    waits: Waits,
    deadline: Instant,
    depth: usize,
) -> Result<State, String> {
    let detection = poll(waits, deadline, id, || {
        let d = cfn.drift_detection(stack, id).map_err(|e: PortError| e.to_string())?;
        Ok((d.detection != "DETECTION_IN_PROGRESS").then_some(d))
    })?;
    let template = cfn.get_template(stack).map_err(|e| e.to_string())?;
    let secret = Template::parse(&template).map(|t| secret_paths(&t)).unwrap_or_default();
    let mut resources = cfn.resource_drifts(stack).map_err(|e| e.to_string())?;
    mask(&mut resources, &secret);
    let incomplete = (detection.detection == "DETECTION_FAILED")
        .then(|| detection.reason.clone().unwrap_or_else(|| "some resources could not be checked".into()));
    let status = match detection.stack {
        Some(s) => s,
        None if resources.iter().any(|r| is_drift(&r.status)) => "DRIFTED".into(),
        None => "UNKNOWN".into(),
    };
    let nested = nested::check(cfn, &resources, waits, deadline, depth);
    Ok(State::Checked { status, resources, incomplete, nested })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cfn::port::PropertyDifference;
    use crate::deploy::fake::Fake;
    use crate::secret::REDACTED;
    use serde_json::json;

    const TEMPLATE: &str = r#"
Parameters:
  Password: {Type: String, NoEcho: true}
  Level: {Type: String}
Resources:
  Db:
    Type: AWS::RDS::DBInstance
    Properties:
      MasterUserPassword: !Ref Password
      Engine: postgres
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      Environment:
        Variables:
          LEVEL: !Ref Level
          DSN: !Sub "postgres://app:${Password}@db"
          TOKEN: "{{resolve:secretsmanager:app/token}}"
      Tags:
        - {Key: a/b, Value: !Ref Level}
"#;

    fn difference(path: &str, expected: &str, actual: &str) -> PropertyDifference {
        PropertyDifference {
            path: path.into(),
            expected: expected.into(),
            actual: actual.into(),
            kind: "NOT_EQUAL".into(),
        }
    }

    fn resource(id: &str, status: &str, differences: Vec<PropertyDifference>) -> ResourceDrift {
        ResourceDrift {
            logical_id: id.into(),
            physical_id: format!("{id}-123"),
            resource_type: "AWS::X::Y".into(),
            status: status.into(),
            differences,
        }
    }

    #[test]
    fn secret_paths_follow_no_echo_parameters_and_secret_references() {
        let t = Template::parse(TEMPLATE).unwrap();
        let paths = secret_paths(&t);
        assert_eq!(paths["Db"], vec!["/MasterUserPassword"]);
        assert_eq!(paths["Fn"], vec!["/Environment/Variables/DSN", "/Environment/Variables/TOKEN"]);
        assert_eq!(paths.len(), 2);
    }

    #[test]
    fn differences_touching_a_secret_are_masked_and_the_others_kept() {
        let t = Template::parse(TEMPLATE).unwrap();
        let mut drifts = vec![
            resource("Db", "MODIFIED", vec![difference("/MasterUserPassword", "planted-secret-1", "other-secret-2")]),
            resource(
                "Fn",
                "MODIFIED",
                vec![
                    difference("/Environment/Variables/LEVEL", "info", "debug"),
                    // A difference on the whole map holds the secret ones.
                    difference("/Environment/Variables", "{\"DSN\":\"planted-secret-1\"}", "{}"),
                    difference("/Environment/Variables/DSN/x", "planted-secret-1", "y"),
                ],
            ),
        ];
        mask(&mut drifts, &secret_paths(&t));
        let text = format!("{drifts:?}");
        assert!(!text.contains("planted-secret-1") && !text.contains("other-secret-2"), "{text}");
        assert_eq!(drifts[1].differences[0].expected, "info");
        assert_eq!(drifts[1].differences[0].actual, "debug");
        assert!(drifts[1].differences[1..].iter().all(|d| d.expected == REDACTED && d.actual == REDACTED));
        let shown = to_text(
            "qa",
            &[LayerDrift {
                layer: "db".into(),
                stack: "app-qa-db".into(),
                state: State::Checked { status: "DRIFTED".into(), resources: drifts, incomplete: None, nested: vec![] },
            }],
        );
        assert!(shown.contains("/MasterUserPassword: changed (from a secret; values not shown)"), "{shown}");
        assert!(shown.contains("/Environment/Variables/LEVEL: template info, live debug"), "{shown}");
    }

    #[test]
    fn a_key_with_a_slash_is_escaped_in_the_path() {
        let t = Template::parse(
            "Parameters:\n  P: {Type: String, NoEcho: true}\nResources:\n  R:\n    Type: X\n    Properties:\n      M: {a/b: !Ref P}\n",
        )
        .unwrap();
        assert_eq!(secret_paths(&t)["R"], vec!["/M/a~1b"]);
    }

    #[test]
    fn detection_waits_reads_and_sorts_every_layer() {
        let fake = Fake::new()
            .with_stack("app-qa-network", "CREATE_COMPLETE")
            .with_stack("app-qa-db", "UPDATE_COMPLETE")
            .with_stack("app-qa-busy", "UPDATE_IN_PROGRESS");
        fake.templates.lock().unwrap().insert("app-qa-db".into(), TEMPLATE.into());
        fake.drift_polls.lock().unwrap().insert("app-qa-db".into(), 3);
        fake.drifts.lock().unwrap().insert(
            "app-qa-db".into(),
            vec![
                resource("Db", "MODIFIED", vec![difference("/MasterUserPassword", "planted-secret-1", "x")]),
                resource("Gone", "DELETED", vec![]),
                resource("Fn", "IN_SYNC", vec![]),
                resource("Topic", "NOT_CHECKED", vec![]),
            ],
        );
        fake.drifts.lock().unwrap().insert("app-qa-network".into(), vec![resource("Vpc", "IN_SYNC", vec![])]);
        let stack = |n: &str| fake.stacks.lock().unwrap().get(n).cloned();
        let layers = vec![
            ("network".to_string(), "app-qa-network".to_string(), stack("app-qa-network")),
            ("db".to_string(), "app-qa-db".to_string(), stack("app-qa-db")),
            ("busy".to_string(), "app-qa-busy".to_string(), stack("app-qa-busy")),
            ("web".to_string(), "app-qa-web".to_string(), None),
        ];
        let waits =
            Waits { first: Duration::from_millis(1), max: Duration::from_millis(2), timeout: Duration::from_secs(5) };
        let found = detect(&fake, &layers, waits);
        assert!(!found[0].drifted() && !found[0].failed());
        assert!(found[1].drifted());
        assert!(matches!(&found[2].state, State::Failed(why) if why.contains("UPDATE_IN_PROGRESS")), "{:?}", found[2]);
        assert_eq!(found[3].state, State::NotDeployed);
        // Detection is started on both deployed stacks before any is waited for; the busy one is left alone.
        let calls = fake.calls.lock().unwrap().clone();
        let detects: Vec<&String> = calls.iter().filter(|c| c.starts_with("detect_drift")).collect();
        assert_eq!(detects, ["detect_drift app-qa-network", "detect_drift app-qa-db"]);
        let text = to_text("qa", &found);
        assert!(!text.contains("planted-secret-1"), "{text}");
        assert!(text.contains("2 of 3 checked resources drifted, 1 not checkable"), "{text}");
        assert!(text.contains("- Gone AWS::X::Y Gone-123: DELETED"), "{text}");
        assert!(text.contains("qa: 1 layer drifted (db)"), "{text}");
        let j = to_json("qa", &found);
        assert_eq!(j["drifted"], true);
        assert_eq!(j["complete"], false);
        assert_eq!(j["layers"][1]["drifted_resources"].as_array().unwrap().len(), 2);
        assert_eq!(j["layers"][1]["drifted_resources"][0]["differences"][0]["secret"], true);
        assert_eq!(j["layers"][1]["not_checkable"], json!(["Topic"]));
        assert_eq!(j["layers"][3]["status"], "NOT_DEPLOYED");
        assert!(!j.to_string().contains("planted-secret-1"));
    }

    #[test]
    fn a_stack_set_layer_reports_each_drifted_instance_with_secrets_masked() {
        use crate::cfn::port::StackSetInfo;
        let fake = Fake::new();
        let instance = |region: &str| crate::cfn::port::StackInstance {
            account: "111111111111".into(),
            region: region.into(),
            organizational_unit: None,
            status: "CURRENT".into(),
            detailed: None,
            reason: None,
            drift: None,
        };
        let set = StackSetInfo {
            name: "app-qa-guard".into(),
            id: "app-qa-guard:1".into(),
            status: "ACTIVE".into(),
            template_body: TEMPLATE.into(),
            ..Default::default()
        };
        fake.stack_sets
            .lock()
            .unwrap()
            .insert("app-qa-guard".into(), (set.clone(), vec![instance("eu-west-1"), instance("us-east-1")]));
        fake.instance_drifts.lock().unwrap().insert(
            ("app-qa-guard".into(), "111111111111".into(), "us-east-1".into()),
            vec![resource("Db", "MODIFIED", vec![difference("/MasterUserPassword", "planted-secret-1", "x")])],
        );
        let info = crate::deploy::stackset::as_stack_info(&set);
        let waits =
            Waits { first: Duration::from_millis(1), max: Duration::from_millis(2), timeout: Duration::from_secs(5) };
        let found = detect(&fake, &[("guard".into(), "app-qa-guard".into(), Some(info))], waits);
        assert!(found[0].drifted() && !found[0].failed(), "{found:?}");
        assert!(fake.calls.lock().unwrap().iter().any(|c| c == "detect_stack_set_drift app-qa-guard"));
        let text = to_text("qa", &found);
        assert!(text.contains("DRIFTED   stack set: 1 of 2 instances drifted"), "{text}");
        assert!(
            text.contains("  instance 111111111111/us-east-1: DRIFTED\n    ~ Db AWS::X::Y Db-123: MODIFIED"),
            "{text}"
        );
        assert!(text.contains("/MasterUserPassword: changed (from a secret; values not shown)"), "{text}");
        assert!(!text.contains("eu-west-1: "), "an instance in sync is not listed: {text}");
        let j = to_json("qa", &found);
        assert_eq!(j["layers"][0]["stack_set_instances"][1]["drifted_resources"][0]["differences"][0]["secret"], true);
        assert!(!format!("{text}{j}").contains("planted-secret-1"));
    }

    #[test]
    fn a_detection_that_never_finishes_is_reported_not_waited_for_forever() {
        let fake = Fake::new().with_stack("s", "CREATE_COMPLETE");
        fake.drift_polls.lock().unwrap().insert("s".into(), u32::MAX);
        let info = fake.stacks.lock().unwrap().get("s").cloned();
        let waits = Waits {
            first: Duration::from_millis(1),
            max: Duration::from_millis(2),
            timeout: Duration::from_millis(30),
        };
        let found = detect(&fake, &[("l".into(), "s".into(), info)], waits);
        assert!(matches!(&found[0].state, State::Failed(why) if why.contains("had not finished")), "{found:?}");
    }
}
