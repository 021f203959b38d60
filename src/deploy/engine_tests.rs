//! The engine against the scripted fake: every path the emulator cannot produce.

use std::sync::Mutex;
use std::time::Duration;

use super::super::fake::*;
use super::super::layer::PreparedParam;
use super::super::plan;
use super::super::ports::Settings;
use super::super::ports::{NoHooks, Preapproved, Silent};
use super::super::prune::still_needed;
use super::*;
use crate::cfn::port::{ApiValue, CloudFormation, PropertyChange, ResourceChange};
use crate::secret::Secret;

fn settings() -> Settings {
    Settings {
        poll_initial: Duration::ZERO,
        poll_max: Duration::ZERO,
        timeout: Duration::from_secs(5),
        ..Settings::default()
    }
}

pub(super) fn prepared(layer: &str) -> Prepared {
    Prepared {
        layer: layer.into(),
        stack_name: format!("app-qa-{layer}"),
        template_body: "Resources: {}".into(),
        template_url: None,
        parameters: vec![
            PreparedParam {
                name: "Size".into(),
                value: ApiValue::Plain("s".into()),
                shown: "s".into(),
                secret: false,
                fingerprint: None,
            },
            PreparedParam {
                name: "Password".into(),
                value: ApiValue::Secret(Secret::new("canary-engine")),
                shown: "<secret from keyring:x/y>".into(),
                secret: true,
                fingerprint: Some("v1".into()),
            },
        ],
        tags: BTreeMap::from([
            ("Env".to_string(), "qa".to_string()),
            (plan::SECRET_VERSIONS_TAG.to_string(), "Password=v1".to_string()),
        ]),
        capabilities: vec![],
        role_arn: None,
        termination_protection: None,
        notification_arns: vec![],
        rollback_alarms: vec![],
        rollback_minutes: None,
        disable_rollback: false,
        stack_policy: None,
        waiting_for: vec![],
        resources: vec![("Thing".into(), "AWS::SNS::Topic".into())],
        defaults: BTreeMap::new(),
        stackset: None,
        timeout: None,
        nested_templates: BTreeMap::new(),
    }
}

pub(crate) fn prepared_for_tests(layer: &str) -> Prepared {
    prepared(layer)
}

pub(super) fn engine(fake: &Fake) -> Engine<'_> {
    Engine::new(
        Driver { cfn: fake, reporter: &Silent, settings: settings(), run: Box::leak(Box::default()) },
        &NoHooks,
        &Preapproved,
    )
}

struct Recorded(Mutex<Vec<String>>, Option<&'static str>);

impl HookRunner for Recorded {
    fn run(&self, layer: &str, phase: HookPhase, stack: Option<&StackInfo>) -> Result<(), String> {
        self.0.lock().unwrap().push(format!("{layer} {phase:?} {}", stack.map(|s| s.status.as_str()).unwrap_or("-")));
        match self.1 {
            Some(fail) if fail == layer && phase == HookPhase::AfterDeploy => Err(format!("hook of `{layer}` failed")),
            _ => Ok(()),
        }
    }
}

#[test]
fn hooks_run_around_deploys_and_a_failing_hook_stops_dependents() {
    let fake = Fake::new();
    let hooks = Recorded(Mutex::new(Vec::new()), Some("net"));
    let e = Engine::new(
        Driver { cfn: &fake, reporter: &Silent, settings: settings(), run: Box::leak(Box::default()) },
        &hooks,
        &Preapproved,
    );
    let order: Vec<String> = ["net", "ddb", "app"].map(String::from).to_vec();
    let deps = BTreeMap::from([("app".to_string(), BTreeSet::from(["net".to_string()]))]);
    let prep = |l: &str, _: &BTreeMap<String, StackInfo>| Ok(prepared(l));
    let planned = e.plan_all(&order, &BTreeMap::new(), &prep).into_iter().map(|(k, v)| (k, v.unwrap())).collect();
    let out = e.execute_all(&order, &deps, planned, BTreeMap::new(), &prep);
    let calls = hooks.0.lock().unwrap().clone();
    assert!(
        calls.contains(&"net BeforeDeploy -".to_string())
            && calls.contains(&"net AfterDeploy CREATE_COMPLETE".to_string()),
        "{calls:?}"
    );
    assert!(calls.contains(&"ddb AfterDeploy CREATE_COMPLETE".to_string()));
    assert!(matches!(&out["net"], Outcome::Failed(m) if m.contains("deployed, but hook of `net` failed")), "{out:?}");
    assert!(matches!(&out["app"], Outcome::Skipped(_)));
    assert!(!calls.iter().any(|c| c.starts_with("app")));
}

#[test]
fn destroy_goes_in_reverse_and_keeps_what_a_protected_stack_needs() {
    let fake = Fake::new()
        .with_stack("app-qa-net", "CREATE_COMPLETE")
        .with_stack("app-qa-db", "CREATE_COMPLETE")
        .with_stack("app-qa-app", "CREATE_COMPLETE")
        .with_stack("app-qa-cache", "CREATE_COMPLETE");
    let hooks = Recorded(Mutex::new(Vec::new()), None);
    let e = Engine::new(
        Driver { cfn: &fake, reporter: &Silent, settings: settings(), run: Box::leak(Box::default()) },
        &hooks,
        &Preapproved,
    );
    let order: Vec<String> = ["net", "db", "cache", "app", "gone"].map(String::from).to_vec();
    let deps = BTreeMap::from([
        ("db".to_string(), BTreeSet::from(["net".to_string()])),
        ("app".to_string(), BTreeSet::from(["db".to_string()])),
        ("cache".to_string(), BTreeSet::from(["net".to_string()])),
    ]);
    let mut deployed: BTreeMap<String, StackInfo> = ["net", "db", "cache", "app"]
        .iter()
        .map(|l| (l.to_string(), fake.describe_stack(&format!("app-qa-{l}")).unwrap().unwrap()))
        .collect();
    deployed.get_mut("cache").unwrap().termination_protection = true;
    let out = super::super::prune::destroy_all(&e, &order, &deps, &deployed);
    assert!(matches!(&out["app"], Outcome::Deployed(i) if i.status == "DELETE_COMPLETE"), "{out:?}");
    assert!(matches!(&out["db"], Outcome::Deployed(_)));
    assert!(matches!(&out["cache"], Outcome::Failed(m) if m.contains("termination protection")), "{out:?}");
    assert!(matches!(&out["net"], Outcome::Skipped(_)), "net stays: the protected cache needs it: {out:?}");
    assert!(matches!(&out["gone"], Outcome::UpToDate(_)));
    let calls = fake.calls();
    let pos = |stack: &str| calls.iter().position(|c| c == &format!("DeleteStack {stack}")).unwrap();
    assert!(pos("app-qa-app") < pos("app-qa-db"), "{calls:?}");
    assert!(!calls.iter().any(|c| c == "DeleteStack app-qa-net" || c == "DeleteStack app-qa-cache"));
    let ran = hooks.0.lock().unwrap().clone();
    assert!(ran.contains(&"app BeforeDestroy CREATE_COMPLETE".to_string()), "{ran:?}");
    // The guard: a deployed layer outside the selection still needs net.
    let needed = still_needed(&["net".to_string()], &deps, &deployed);
    assert_eq!(needed, vec![("net".to_string(), "cache".to_string()), ("net".to_string(), "db".to_string())]);
}

#[test]
fn termination_protection_follows_the_setting_both_ways() {
    let fake = Fake::new().with_stack("app-qa-db", "UPDATE_COMPLETE");
    fake.stacks.lock().unwrap().get_mut("app-qa-db").unwrap().termination_protection = true;
    let e = engine(&fake);
    let mut p = prepared("db");
    p.template_body = "Resources: {}\nOutputs:\n  X:\n    Value: x\n".into();
    p.termination_protection = Some(false);
    p.disable_rollback = true;
    let lp = e.plan_layer(&p).unwrap();
    e.execute(&p, &lp).unwrap();
    assert!(fake.calls().contains(&"UpdateTerminationProtection app-qa-db false".to_string()), "{:?}", fake.calls());
    // None leaves it as it is.
    let mut p = prepared("db");
    p.template_body = "Resources: {}\nOutputs:\n  Y:\n    Value: y\n".into();
    let lp = e.plan_layer(&p).unwrap();
    e.execute(&p, &lp).unwrap();
    assert_eq!(fake.calls().iter().filter(|c| c.starts_with("UpdateTerminationProtection")).count(), 1);
}

#[test]
fn a_new_stack_is_created_through_a_create_change_set() {
    let fake = Fake::new();
    let e = engine(&fake);
    let mut p = prepared("db");
    p.termination_protection = Some(true);
    let lp = e.plan_layer(&p).unwrap();
    assert_eq!(lp.action, Action::Create);
    assert_eq!(lp.changes.len(), 1);
    assert!(lp.parameters.iter().any(|c| c.name == "Password" && c.new.as_deref() == Some("(secret)")));
    let info = e.execute(&p, &lp).unwrap();
    assert_eq!(info.status, "CREATE_COMPLETE");
    assert!(fake.calls().iter().any(|c| c == "CreateChangeSet app-qa-db Create"));
    assert!(fake.calls().iter().any(|c| c == "UpdateTerminationProtection app-qa-db true"));
    assert!(!format!("{lp:?}").contains("canary"));
}

#[test]
fn empty_change_sets_are_no_changes_in_both_forms() {
    let fake = Fake::new().with_stack("app-qa-db", "UPDATE_COMPLETE");
    fake.script_change_set("app-qa-db", OnChangeSet::FailedNoChanges);
    fake.script_change_set("app-qa-db", OnChangeSet::ValidationNoChanges);
    let e = engine(&fake);
    let p = prepared("db");
    let first = e.plan_layer(&p).unwrap();
    assert_eq!(first.action, Action::NoChanges);
    assert!(fake.calls().iter().any(|c| c.starts_with("DeleteChangeSet")), "the empty change set is deleted");
    assert_eq!(e.plan_layer(&p).unwrap().action, Action::NoChanges);
}

#[test]
fn a_complete_change_set_that_changes_nothing_is_no_changes() {
    let fake = Fake::new().with_stack("app-qa-db", "UPDATE_COMPLETE");
    {
        let mut stacks = fake.stacks.lock().unwrap();
        let s = stacks.get_mut("app-qa-db").unwrap();
        s.parameters =
            BTreeMap::from([("Size".to_string(), "s".to_string()), ("Password".to_string(), "****".to_string())]);
        s.tags = BTreeMap::from([
            ("Env".to_string(), "qa".to_string()),
            (plan::SECRET_VERSIONS_TAG.to_string(), "Password=v1".to_string()),
        ]);
    }
    fake.script_change_set("app-qa-db", OnChangeSet::Changes(vec![]));
    let lp = engine(&fake).plan_layer(&prepared("db")).unwrap();
    assert_eq!(lp.action, Action::NoChanges);
    assert!(lp.change_set.is_none());
    // A parameter change with no resource change is still an update (the stack's parameters change).
    fake.script_change_set("app-qa-db", OnChangeSet::Changes(vec![]));
    let mut p = prepared("db");
    p.parameters[0].value = ApiValue::Plain("m".into());
    p.parameters[0].shown = "m".into();
    assert_eq!(engine(&fake).plan_layer(&p).unwrap().action, Action::Update);
    // A template change with no resource change (a new output) is an update, shown as such.
    fake.script_change_set("app-qa-db", OnChangeSet::Changes(vec![]));
    let mut p = prepared("db");
    p.template_body = "Resources: {}\nOutputs:\n  Size:\n    Value: s\n".into();
    let lp = engine(&fake).plan_layer(&p).unwrap();
    assert_eq!(lp.action, Action::Update);
    assert!(lp.template_changed && lp.change_set.is_some());
    assert!(plan::to_text("qa", &[lp]).contains("template: changes outside resources"));
    // Formatting alone is no change.
    fake.script_change_set("app-qa-db", OnChangeSet::Changes(vec![]));
    let mut p = prepared("db");
    p.template_body = "{\"Resources\": {}}".into();
    assert_eq!(engine(&fake).plan_layer(&p).unwrap().action, Action::NoChanges);
    // A secret whose version changed, or cannot be told, is an update even with no visible change.
    for fp in [Some("v2"), None] {
        fake.script_change_set("app-qa-db", OnChangeSet::Changes(vec![]));
        let mut p = prepared("db");
        p.parameters[1].fingerprint = fp.map(str::to_string);
        p.tags = BTreeMap::from([
            ("Env".to_string(), "qa".to_string()),
            (plan::SECRET_VERSIONS_TAG.to_string(), "Password=v1".to_string()),
        ]);
        let lp = engine(&fake).plan_layer(&p).unwrap();
        assert_eq!(lp.action, Action::Update, "{fp:?}");
        let pw = lp.parameters.iter().find(|c| c.name == "Password").unwrap();
        assert_eq!(pw.new.as_deref(), Some(if fp.is_some() { "changed" } else { "may have changed" }));
    }
}

#[test]
fn a_rejected_change_set_is_an_error_with_the_reason() {
    let fake = Fake::new().with_stack("app-qa-db", "UPDATE_COMPLETE");
    fake.script_change_set("app-qa-db", OnChangeSet::Rejected("Template format error: bad"));
    let err = engine(&fake).plan_layer(&prepared("db")).unwrap_err();
    assert!(err.to_string().contains("Template format error: bad"), "{}", err.to_string());
}

#[test]
fn a_failed_create_names_the_root_cause_first_and_explains_rollback_complete() {
    let fake = Fake::new();
    fake.script_execute(
        "app-qa-db",
        OnExecute::FailResource("Database", "AWS::RDS::DBInstance", "DB instance class not available"),
    );
    let e = engine(&fake);
    let p = prepared("db");
    let lp = e.plan_layer(&p).unwrap();
    let err = e.execute(&p, &lp).unwrap_err().to_string();
    assert!(err.starts_with("Database (AWS::RDS::DBInstance) failed: DB instance class not available"), "{err}");
    assert!(err.contains("then Other (AWS::SNS::Topic): Resource creation cancelled"), "{err}");
    assert!(err.contains("ROLLBACK_COMPLETE") && err.contains("--recreate"), "{err}");
}

#[test]
fn rollback_complete_blocks_until_recreate() {
    let fake = Fake::new().with_stack("app-qa-db", "ROLLBACK_COMPLETE");
    let err = engine(&fake).plan_layer(&prepared("db")).unwrap_err();
    let wanted = LayerError::FailedCreate { stack: "app-qa-db".into(), status: "ROLLBACK_COMPLETE".into() };
    assert_eq!(err, wanted, "the kind of failure, not only its words");
    let err = err.to_string();
    assert!(err.contains("ROLLBACK_COMPLETE") && err.contains("--recreate"), "{err}");
    assert!(!fake.calls().iter().any(|c| c.starts_with("CreateChangeSet")));

    let mut e = engine(&fake);
    e.driver.settings.recreate = true;
    let p = prepared("db");
    let lp = e.plan_layer(&p).unwrap();
    assert_eq!(lp.action, Action::Recreate);
    let order = vec!["db".to_string()];
    let prep = |_: &str, _: &BTreeMap<String, StackInfo>| Ok(prepared("db"));
    let out =
        e.execute_all(&order, &BTreeMap::new(), BTreeMap::from([("db".to_string(), (p, lp))]), BTreeMap::new(), &prep);
    assert!(matches!(&out["db"], Outcome::Deployed(i) if i.status == "CREATE_COMPLETE"), "{out:?}");
    let calls = fake.calls();
    let del = calls.iter().position(|c| c == "DeleteStack app-qa-db").expect("deleted");
    let create = calls.iter().position(|c| c == "CreateChangeSet app-qa-db Create").expect("created");
    assert!(del < create);
}

/// Refuses every late change set, and remembers what it was shown.
struct Refuse(Mutex<Vec<String>>);

impl Approver for Refuse {
    fn approve_late(&self, plan: &LayerPlan) -> Result<(), String> {
        self.0.lock().unwrap().push(plan.layer.clone());
        Err("not approved".into())
    }
}

#[test]
fn a_change_set_made_after_the_confirmation_is_asked_about_and_not_executed_unapproved() {
    let fake = Fake::new().with_stack("app-qa-db", "UPDATE_COMPLETE");
    let refuse = Refuse(Mutex::new(Vec::new()));
    let mut e = engine(&fake);
    e.approver = &refuse;
    let p = prepared("db");
    let lp = e.plan_layer(&p).unwrap();
    // The layer's inputs changed after the plan was approved: it is planned again, then asked about.
    let changed = |_: &str, _: &BTreeMap<String, StackInfo>| {
        let mut p = prepared("db");
        p.parameters[0].value = ApiValue::Plain("m".into());
        p.parameters[0].shown = "m".into();
        Ok(p)
    };
    let order = vec!["db".to_string()];
    let out = e.execute_all(
        &order,
        &BTreeMap::new(),
        BTreeMap::from([("db".to_string(), (p, lp))]),
        BTreeMap::new(),
        &changed,
    );
    assert!(matches!(&out["db"], Outcome::Failed(m) if m == "not approved"), "{out:?}");
    assert_eq!(*refuse.0.lock().unwrap(), vec!["db".to_string()]);
    let calls = fake.calls();
    assert!(!calls.iter().any(|c| c.starts_with("ExecuteChangeSet")), "{calls:?}");
    assert_eq!(
        calls.iter().filter(|c| c.starts_with("DeleteChangeSet")).count(),
        2,
        "both change sets discarded: {calls:?}"
    );
    // The same plan, unchanged inputs: nothing is asked.
    let fake = Fake::new().with_stack("app-qa-db", "UPDATE_COMPLETE");
    let refuse = Refuse(Mutex::new(Vec::new()));
    let mut e = engine(&fake);
    e.approver = &refuse;
    let p = prepared("db");
    let lp = e.plan_layer(&p).unwrap();
    let same = |_: &str, _: &BTreeMap<String, StackInfo>| Ok(prepared("db"));
    let out =
        e.execute_all(&order, &BTreeMap::new(), BTreeMap::from([("db".to_string(), (p, lp))]), BTreeMap::new(), &same);
    assert!(matches!(&out["db"], Outcome::Deployed(_)), "{out:?}");
    assert!(refuse.0.lock().unwrap().is_empty());
}

#[test]
fn update_rollback_failed_explains_the_way_out() {
    let fake = Fake::new().with_stack("app-qa-db", "UPDATE_COMPLETE");
    fake.script_execute("app-qa-db", OnExecute::FailRollback("Database", "AWS::RDS::DBInstance", "storage full"));
    let e = engine(&fake);
    let mut p = prepared("db");
    p.tags.insert("stackc:env".into(), "qa".into());
    let lp = e.plan_layer(&p).unwrap();
    let err = e.execute(&p, &lp).unwrap_err().to_string();
    assert!(err.starts_with("Database (AWS::RDS::DBInstance) failed: storage full"), "{err}");
    assert!(err.contains("UPDATE_ROLLBACK_FAILED"), "{err}");
    let next = e.plan_layer(&p).unwrap_err().to_string();
    assert!(next.contains("stackc continue-rollback qa db"), "{next}");
    // The way out: the rollback continued (the resource that cannot roll back left as it is), followed to
    // its end, and the next plan updates the stack again.
    let done = e.continue_rollback("db", "app-qa-db", &["Database".to_string()]).unwrap();
    assert_eq!(done.status, "UPDATE_ROLLBACK_COMPLETE");
    assert!(fake.calls().contains(&"ContinueUpdateRollback app-qa-db Database".to_string()), "{:?}", fake.calls());
    assert_eq!(e.plan_layer(&p).unwrap().action, Action::Update);
    // From any other status CloudFormation refuses, and the refusal is the layer's error.
    let again = e.continue_rollback("db", "app-qa-db", &[]).unwrap_err().to_string();
    assert!(again.contains("UPDATE_ROLLBACK_COMPLETE state and can not continue update rollback"), "{again}");
}

#[test]
fn a_failed_update_rolls_back_and_says_so() {
    let fake = Fake::new().with_stack("app-qa-db", "UPDATE_COMPLETE");
    fake.script_execute(
        "app-qa-db",
        OnExecute::FailResource("Database", "AWS::RDS::DBInstance", "invalid engine version"),
    );
    let e = engine(&fake);
    let p = prepared("db");
    let lp = e.plan_layer(&p).unwrap();
    let err = e.execute(&p, &lp).unwrap_err().to_string();
    assert!(err.contains("UPDATE_ROLLBACK_COMPLETE") && err.contains("previous version is back"), "{err}");
}

#[test]
fn property_changes_reach_the_plan_and_a_secret_value_never_does() {
    let fake = Fake::new().with_stack("app-qa-db", "UPDATE_COMPLETE");
    let detail = |name: &str, source: &str, entity: Option<&str>, before: &str, after: &str| PropertyChange {
        attribute: "Properties".into(),
        name: Some(name.into()),
        requires_recreation: Some("Never".into()),
        change_source: Some(source.into()),
        causing_entity: entity.map(String::from),
        before: Some(before.into()),
        after: Some(after.into()),
        ..Default::default()
    };
    fake.script_change_set(
        "app-qa-db",
        OnChangeSet::Detailed(vec![ResourceChange {
            action: "Modify".into(),
            logical_id: "Database".into(),
            resource_type: "AWS::RDS::DBInstance".into(),
            replacement: Some("False".into()),
            details: vec![
                detail("MasterUserPassword", "ParameterReference", Some("Password"), "canary-old", "canary-engine"),
                detail("DBInstanceClass", "ParameterReference", Some("Size"), "db.t3.micro", "db.t3.small"),
            ],
            nested_change_set: None,
        }]),
    );
    let e = engine(&fake);
    let lp = e.plan_layer(&prepared("db")).unwrap();
    let text = plan::to_text("qa", std::slice::from_ref(&lp));
    let json = serde_json::to_string(&lp).unwrap();
    assert!(text.contains("~ DBInstanceClass: db.t3.micro -> db.t3.small  (in place; parameter Size)"), "{text}");
    assert!(text.contains("~ MasterUserPassword: (secret, masked)"), "{text}");
    assert!(!text.contains("canary") && !json.contains("canary"), "{text}\n{json}");
}

/// A fake stack deployed exactly as `prepared("db")` would deploy it.
fn deployed_as_prepared(fake: &Fake) {
    let p = prepared("db");
    let mut stacks = fake.stacks.lock().unwrap();
    let s = stacks.get_mut("app-qa-db").unwrap();
    s.parameters =
        BTreeMap::from([("Size".to_string(), "s".to_string()), ("Password".to_string(), "****".to_string())]);
    s.tags = p.tags.clone();
}

#[test]
fn a_no_op_makes_no_change_set_unless_something_cannot_be_compared() {
    let fake = Fake::new().with_stack("app-qa-db", "UPDATE_COMPLETE");
    deployed_as_prepared(&fake);
    let lp = engine(&fake).plan_layer(&prepared("db")).unwrap();
    assert_eq!(lp.action, Action::NoChanges);
    let calls = fake.calls();
    assert_eq!(calls, vec!["DescribeStacks app-qa-db", "GetTemplate app-qa-db"], "one describe, one template read");
    // A stack the caller just described is not described again.
    let fake2 = Fake::new().with_stack("app-qa-db", "UPDATE_COMPLETE");
    deployed_as_prepared(&fake2);
    let e = engine(&fake2);
    let info = fake2.stacks.lock().unwrap().get("app-qa-db").cloned();
    e.described.lock().unwrap().insert("app-qa-db".into(), info);
    assert_eq!(e.plan_layer(&prepared("db")).unwrap().action, Action::NoChanges);
    assert_eq!(fake2.calls(), vec!["GetTemplate app-qa-db"], "the template read only");
    // Each thing that cannot be compared without CloudFormation gets a change set.
    let unversioned = |p: &mut Prepared| p.parameters[1].fingerprint = None;
    let dynamic = |p: &mut Prepared| {
        p.template_body =
            "Resources:\n  T:\n    Type: AWS::SNS::Topic\n    Properties: {TopicName: '{{resolve:ssm:/name}}'}\n".into()
    };
    let ssm_typed = |p: &mut Prepared| {
        p.template_body = "Parameters:\n  Size: {Type: 'AWS::SSM::Parameter::Value<String>'}\nResources: {}\n".into()
    };
    for (what, change) in [
        ("a secret without versions", &unversioned as &dyn Fn(&mut Prepared)),
        ("a dynamic reference", &dynamic),
        ("an SSM-typed parameter", &ssm_typed),
    ] {
        let fake = Fake::new().with_stack("app-qa-db", "UPDATE_COMPLETE");
        deployed_as_prepared(&fake);
        let mut p = prepared("db");
        change(&mut p);
        fake.templates.lock().unwrap().insert("app-qa-db".into(), p.template_body.clone());
        let _ = engine(&fake).plan_layer(&p).unwrap();
        assert!(fake.calls().iter().any(|c| c.starts_with("CreateChangeSet")), "{what}: {:?}", fake.calls());
    }
}
