//! The engine against the scripted fake over time and across layers: long histories, busy stacks,
//! timeouts, throttling, failures in one wave, a second run, inputs known late.

use std::time::Duration;

use super::super::fake::*;
use super::tests::{engine, prepared};
use super::*;
use crate::cfn::port::ApiValue;

#[test]
fn a_root_cause_pages_deep_in_a_long_rollback_is_still_named() {
    let fake = Fake::new().with_stack("app-qa-db", "UPDATE_COMPLETE");
    for i in 0..150 {
        fake.event("app-qa-db", &format!("Old{i}"), "AWS::SQS::Queue", "UPDATE_COMPLETE", None);
    }
    fake.script_execute(
        "app-qa-db",
        OnExecute::FailDeep("Database", "AWS::RDS::DBInstance", "invalid engine version", 300),
    );
    let e = engine(&fake);
    let p = prepared("db");
    let lp = e.plan_layer(&p).unwrap();
    let err = e.execute(&p, &lp).unwrap_err().to_string();
    assert!(err.starts_with("Database (AWS::RDS::DBInstance) failed: invalid engine version"), "{err}");
    let pages = fake.calls().iter().filter(|c| c.starts_with("DescribeStackEvents app-qa-db page")).count();
    assert!(pages >= 6, "the failure is 600 events deep: followed over pages ({pages})");
    assert!(
        !fake.calls().iter().any(|c| c == "DescribeStackEvents app-qa-db page 9"),
        "stopped at the events seen before the execution: {:?}",
        fake.calls()
    );
}

#[test]
fn an_operation_in_progress_is_waited_for_never_clobbered() {
    let fake = Fake::new().with_stack("app-qa-db", "UPDATE_COMPLETE");
    fake.busy.lock().unwrap().insert(
        "app-qa-db".into(),
        ["UPDATE_IN_PROGRESS", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"].map(String::from).into(),
    );
    let e = engine(&fake);
    let lp = e.plan_layer(&prepared("db")).unwrap();
    assert_eq!(lp.action, Action::Update);
    let calls = fake.calls();
    let describes = calls
        .iter()
        .take_while(|c| !c.starts_with("CreateChangeSet"))
        .filter(|c| c.starts_with("DescribeStacks"))
        .count();
    assert_eq!(describes, 3, "waited through both in-progress statuses: {calls:?}");
}

#[test]
fn an_operation_that_never_finishes_times_out_with_a_clear_message() {
    let fake = Fake::new().with_stack("app-qa-db", "UPDATE_COMPLETE");
    fake.busy
        .lock()
        .unwrap()
        .insert("app-qa-db".into(), std::iter::repeat_n("UPDATE_IN_PROGRESS".to_string(), 100_000).collect());
    let mut e = engine(&fake);
    e.driver.settings.timeout = Duration::from_millis(50);
    // Real polls (1 ms), so the queue of busy answers outlasts the timeout on any machine.
    e.driver.settings.poll_initial = Duration::from_millis(1);
    e.driver.settings.poll_max = Duration::from_millis(1);
    let err = e.plan_layer(&prepared("db")).unwrap_err().to_string();
    assert!(err.contains("another operation is still running"), "{err}");
    assert!(!fake.calls().iter().any(|c| c.starts_with("CreateChangeSet")));
}

#[test]
fn an_update_past_timeout_minutes_is_cancelled_and_rolled_back_a_create_is_reported() {
    let fake = Fake::new().with_stack("app-qa-db", "UPDATE_COMPLETE");
    let e = engine(&fake);
    let mut p = prepared("db");
    p.timeout = Some(Duration::from_millis(30));
    let lp = e.plan_layer(&p).unwrap();
    fake.busy
        .lock()
        .unwrap()
        .insert("app-qa-db".into(), std::iter::repeat_n("UPDATE_IN_PROGRESS".to_string(), 100_000).collect());
    let err = e.execute(&p, &lp).unwrap_err();
    assert!(err.to_string().contains("still UPDATE_IN_PROGRESS after timeout_minutes"), "{}", err.to_string());
    assert!(
        err.to_string().contains("cancelled the update and CloudFormation rolled it back (UPDATE_ROLLBACK_COMPLETE)"),
        "{}",
        err.to_string()
    );
    assert!(fake.calls.lock().unwrap().iter().any(|c| c == "CancelUpdateStack app-qa-db"));

    // A create is never cancelled: the layer fails and says where to look.
    let fake = Fake::new();
    let e = engine(&fake);
    let mut p = prepared("web");
    p.timeout = Some(Duration::from_millis(30));
    let lp = e.plan_layer(&p).unwrap();
    fake.busy
        .lock()
        .unwrap()
        .insert("app-qa-web".into(), std::iter::repeat_n("CREATE_IN_PROGRESS".to_string(), 100_000).collect());
    let err = e.execute(&p, &lp).unwrap_err();
    assert!(
        err.to_string().contains("still CREATE_IN_PROGRESS after timeout_minutes")
            && err.to_string().contains("cannot be cancelled"),
        "{}",
        err.to_string()
    );
    assert!(!fake.calls.lock().unwrap().iter().any(|c| c.starts_with("CancelUpdateStack")));
}

#[test]
fn throttling_becomes_one_clear_sentence() {
    let fake = Fake::new();
    *fake.throttle.lock().unwrap() = 1;
    let err = engine(&fake).plan_layer(&prepared("db")).unwrap_err().to_string();
    assert!(err.contains("throttling DescribeStacks") && err.contains("--concurrency"), "{err}");
}

#[test]
fn dependents_of_a_failure_are_skipped_and_independent_layers_continue() {
    let fake = Fake::new();
    fake.script_execute("app-qa-net", OnExecute::FailResource("VPC", "AWS::EC2::VPC", "CIDR overlaps"));
    let e = engine(&fake);
    let order: Vec<String> = ["net", "ddb", "cluster", "service"].map(String::from).to_vec();
    let deps = BTreeMap::from([
        ("cluster".to_string(), BTreeSet::from(["net".to_string()])),
        ("service".to_string(), BTreeSet::from(["cluster".to_string()])),
    ]);
    let prep = |l: &str, _: &BTreeMap<String, StackInfo>| Ok(prepared(l));
    let planned: BTreeMap<String, (Prepared, LayerPlan)> =
        e.plan_all(&order, &BTreeMap::new(), &prep).into_iter().map(|(k, v)| (k, v.unwrap())).collect();
    let out = e.execute_all(&order, &deps, planned, BTreeMap::new(), &prep);
    assert!(matches!(&out["net"], Outcome::Failed(m) if m.contains("CIDR overlaps")), "{out:?}");
    assert!(matches!(&out["ddb"], Outcome::Deployed(_)));
    assert!(matches!(&out["cluster"], Outcome::Skipped(m) if m.contains("`net`")));
    assert!(matches!(&out["service"], Outcome::Skipped(m) if m.contains("`cluster`")));
    assert!(!fake.calls().iter().any(|c| c.contains("app-qa-cluster") && c.starts_with("Execute")));
}

#[test]
fn a_second_run_finishes_the_job() {
    let fake = Fake::new();
    fake.script_execute("app-qa-net", OnExecute::FailResource("VPC", "AWS::EC2::VPC", "limit exceeded"));
    let mut e = engine(&fake);
    let order: Vec<String> = ["net", "app"].map(String::from).to_vec();
    let deps = BTreeMap::from([("app".to_string(), BTreeSet::from(["net".to_string()]))]);
    let prep = |l: &str, _: &BTreeMap<String, StackInfo>| Ok(prepared(l));
    let run = |e: &Engine| {
        let planned = e.plan_all(&order, &BTreeMap::new(), &prep).into_iter().map(|(k, v)| (k, v.unwrap())).collect();
        e.execute_all(&order, &deps, planned, BTreeMap::new(), &prep)
    };
    let first = run(&e);
    assert!(!first["net"].ok() && matches!(first["app"], Outcome::Skipped(_)));
    e.driver.settings.recreate = true;
    let second = run(&e);
    assert!(second.values().all(|o| matches!(o, Outcome::Deployed(_))), "{second:?}");
}

#[test]
fn a_layer_whose_inputs_changed_is_planned_again_before_executing() {
    let fake = Fake::new();
    let e = engine(&fake);
    let mut waiting = prepared("app");
    waiting.waiting_for = vec!["net".into()];
    waiting.parameters[0].value = ApiValue::Placeholder("<output VpcId of layer net, not deployed yet>".into());
    let lp = e.plan_layer(&waiting).unwrap();
    assert_eq!(lp.action, Action::Create);
    assert!(lp.change_set.is_none(), "no change set while inputs are placeholders");
    // Were the wait forgotten, the placeholder would still never be sent: the request is refused.
    let mut forgotten = waiting.clone();
    forgotten.waiting_for.clear();
    let err = e.plan_layer(&forgotten).unwrap_err().to_string();
    assert!(err.contains("is still a placeholder") && err.contains("was not sent"), "{err}");
    let prep = |l: &str, _: &BTreeMap<String, StackInfo>| Ok(prepared(l));
    let out = e.execute_all(
        &["app".to_string()],
        &BTreeMap::new(),
        BTreeMap::from([("app".to_string(), (waiting, lp))]),
        BTreeMap::new(),
        &prep,
    );
    assert!(matches!(&out["app"], Outcome::Deployed(_)), "{out:?}");
}
