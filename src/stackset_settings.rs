//! A layer deployed as a StackSet (`deploy_as = "stackset"` in layer.toml): one template that
//! CloudFormation rolls out into many accounts (or organizational units) and regions. Here: the settings
//! as files write them, checked, and which instances a deploy adds, keeps, updates and removes.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use crate::cfn::port::{InstanceTargets, OperationPreferences, StackInstance};
use crate::value_checks;

/// `[stackset]` in layer.toml, `[layers.<l>.stackset]` in an environment file (each key over layer.toml's).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct StackSetSettings {
    /// Target accounts (self-managed permissions). Default: the environment's account.
    pub accounts: Option<Vec<String>>,
    /// Target organizational units (service-managed permissions, new accounts get instances automatically).
    pub organizational_units: Option<Vec<String>>,
    /// Target regions, in the order operations work through them. Default: the layer's region.
    pub regions: Option<Vec<String>>,
    pub max_concurrent: Option<u32>,
    pub max_concurrent_percent: Option<u32>,
    pub failure_tolerance: Option<u32>,
    pub failure_tolerance_percent: Option<u32>,
    /// "sequential" (default) or "parallel".
    pub region_concurrency: Option<String>,
    /// Self-managed: the administration role's ARN and the execution role's name (CloudFormation's
    /// defaults when left out).
    pub administration_role_arn: Option<String>,
    pub execution_role_name: Option<String>,
    /// "self" (the default: run from the organization's management account) or "delegated_admin" (run
    /// from a delegated administrator account; service-managed stack sets only).
    pub call_as: Option<String>,
}

impl StackSetSettings {
    /// These settings over `base`: every key set here wins. Targets go together: accounts set here replace
    /// organizational units set below, and the other way round.
    pub fn over(&self, base: &StackSetSettings) -> StackSetSettings {
        let targets_here = self.accounts.is_some() || self.organizational_units.is_some();
        // A count and its percentage go together too: one set here replaces both below.
        let concurrency_here = self.max_concurrent.is_some() || self.max_concurrent_percent.is_some();
        let tolerance_here = self.failure_tolerance.is_some() || self.failure_tolerance_percent.is_some();
        let (concurrency, tolerance) =
            (if concurrency_here { self } else { base }, if tolerance_here { self } else { base });
        StackSetSettings {
            accounts: if targets_here { self.accounts.clone() } else { base.accounts.clone() },
            organizational_units: if targets_here {
                self.organizational_units.clone()
            } else {
                base.organizational_units.clone()
            },
            regions: self.regions.clone().or_else(|| base.regions.clone()),
            max_concurrent: concurrency.max_concurrent,
            max_concurrent_percent: concurrency.max_concurrent_percent,
            failure_tolerance: tolerance.failure_tolerance,
            failure_tolerance_percent: tolerance.failure_tolerance_percent,
            region_concurrency: self.region_concurrency.clone().or_else(|| base.region_concurrency.clone()),
            administration_role_arn: self
                .administration_role_arn
                .clone()
                .or_else(|| base.administration_role_arn.clone()),
            execution_role_name: self.execution_role_name.clone().or_else(|| base.execution_role_name.clone()),
            call_as: self.call_as.clone().or_else(|| base.call_as.clone()),
        }
    }

    /// What CloudFormation would refuse, each as one sentence naming the key.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.accounts.is_some() && self.organizational_units.is_some() {
            out.push("set `accounts` (self-managed) or `organizational_units` (service-managed), not both".into());
        }
        for a in self.accounts.iter().flatten() {
            if a.len() != 12 || !a.bytes().all(|b| b.is_ascii_digit()) {
                out.push(format!("`accounts`: `{a}` is not an AWS account id (12 digits)"));
            }
        }
        for ou in self.organizational_units.iter().flatten() {
            if !is_ou(ou) {
                out.push(format!(
                    "`organizational_units`: `{ou}` is not an organizational unit id (`ou-xxxx-xxxxxxxx`) or a root (`r-xxxx`)"
                ));
            }
        }
        if matches!(&self.accounts, Some(a) if a.is_empty())
            || matches!(&self.organizational_units, Some(o) if o.is_empty())
        {
            out.push("the targets are an empty list: name at least one account or organizational unit".into());
        }
        if matches!(&self.regions, Some(r) if r.is_empty()) {
            out.push("`regions` is empty: name at least one region".into());
        }
        let mut seen = BTreeSet::new();
        for r in self.regions.iter().flatten() {
            if !seen.insert(r) {
                out.push(format!("`regions` names `{r}` twice"));
            }
            if let Some(why) = value_checks::region_problem(r) {
                out.push(format!("`regions`: {why}"));
            }
        }
        for (count, percent, what) in [
            (self.max_concurrent, self.max_concurrent_percent, "max_concurrent"),
            (self.failure_tolerance, self.failure_tolerance_percent, "failure_tolerance"),
        ] {
            if count.is_some() && percent.is_some() {
                out.push(format!("set `{what}` or `{what}_percent`, not both"));
            }
            if percent.is_some_and(|p| p > 100) {
                out.push(format!("`{what}_percent` is a percentage (0-100)"));
            }
        }
        if matches!(self.max_concurrent, Some(0)) || matches!(self.max_concurrent_percent, Some(0)) {
            out.push("`max_concurrent` must be at least 1".into());
        }
        if let Some(c) = &self.region_concurrency {
            if c != "sequential" && c != "parallel" {
                out.push(format!("`region_concurrency` is \"sequential\" or \"parallel\", not `{c}`"));
            }
        }
        match self.call_as.as_deref() {
            None | Some("self") => {}
            Some("delegated_admin") if self.organizational_units.is_none() => out.push(
                "`call_as = \"delegated_admin\"` is for organizational units (service-managed stack sets)".into(),
            ),
            Some("delegated_admin") => {}
            Some(other) => out.push(format!("`call_as` is \"self\" or \"delegated_admin\", not `{other}`")),
        }
        if self.organizational_units.is_some()
            && (self.administration_role_arn.is_some() || self.execution_role_name.is_some())
        {
            out.push(
                "`administration_role_arn` and `execution_role_name` are for accounts (self-managed); organizational \
                 units use service-managed permissions"
                    .into(),
            );
        }
        out
    }

    /// The settings made concrete for one environment: default targets and regions filled in.
    pub fn resolve(&self, default_account: &str, default_region: &str) -> StackSetTarget {
        let ous = self.organizational_units.clone().unwrap_or_default();
        let accounts = if ous.is_empty() {
            self.accounts.clone().unwrap_or_else(|| vec![default_account.to_string()])
        } else {
            Vec::new()
        };
        let regions = self.regions.clone().unwrap_or_else(|| vec![default_region.to_string()]);
        StackSetTarget {
            targets: InstanceTargets { accounts, organizational_units: ous },
            preferences: OperationPreferences {
                max_concurrent: self.max_concurrent,
                max_concurrent_percent: self.max_concurrent_percent,
                failure_tolerance: self.failure_tolerance,
                failure_tolerance_percent: self.failure_tolerance_percent,
                region_order: regions.clone(),
                region_concurrency: self.region_concurrency.as_ref().map(|c| c.to_ascii_uppercase()),
            },
            regions,
            administration_role_arn: self.administration_role_arn.clone(),
            execution_role_name: self.execution_role_name.clone(),
        }
    }
}

fn is_ou(s: &str) -> bool {
    let ok = |part: &str, min: usize| {
        part.len() >= min && part.len() <= 32 && part.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    };
    if let Some(rest) = s.strip_prefix("ou-") {
        let mut parts = rest.splitn(2, '-');
        return matches!((parts.next(), parts.next()), (Some(a), Some(b)) if ok(a, 4) && ok(b, 8));
    }
    s.strip_prefix("r-").is_some_and(|r| ok(r, 4))
}

/// Where a stack set layer's instances go in one environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackSetTarget {
    pub targets: InstanceTargets,
    pub regions: Vec<String>,
    pub preferences: OperationPreferences,
    pub administration_role_arn: Option<String>,
    pub execution_role_name: Option<String>,
}

impl StackSetTarget {
    pub fn service_managed(&self) -> bool {
        !self.targets.organizational_units.is_empty()
    }

    /// Every (target, region) the layer should have an instance in, targets in the order written.
    pub fn wanted(&self) -> Vec<(String, String)> {
        let targets = if self.service_managed() { &self.targets.organizational_units } else { &self.targets.accounts };
        self.regions.iter().flat_map(|r| targets.iter().map(move |t| (t.clone(), r.clone()))).collect()
    }
}

/// What a deploy does to the instances.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InstancePlan {
    pub add: Vec<(String, String)>,
    pub remove: Vec<(String, String)>,
    /// Instances that stay; updated when the stack set changes.
    pub keep: Vec<(String, String)>,
    /// Kept instances a previous operation did not bring up to date (OUTDATED, INOPERABLE).
    pub outdated: Vec<(String, String)>,
}

/// The instances a deploy adds, removes, keeps, given the target and the instances as they are.
/// Service-managed instances are keyed by their organizational unit, self-managed ones by account.
pub fn plan_instances(target: &StackSetTarget, current: &[StackInstance]) -> InstancePlan {
    let key = |i: &StackInstance| {
        let t = if target.service_managed() {
            i.organizational_unit.clone().unwrap_or_else(|| i.account.clone())
        } else {
            i.account.clone()
        };
        (t, i.region.clone())
    };
    let wanted = target.wanted();
    let have: BTreeMap<(String, String), &StackInstance> = current.iter().map(|i| (key(i), i)).collect();
    let mut plan = InstancePlan::default();
    for w in &wanted {
        match have.get(w) {
            None => plan.add.push(w.clone()),
            Some(i) => {
                plan.keep.push(w.clone());
                if i.status != "CURRENT" {
                    plan.outdated.push(w.clone());
                }
            }
        }
    }
    let wanted: BTreeSet<&(String, String)> = wanted.iter().collect();
    let mut removed: Vec<(String, String)> = have.keys().filter(|k| !wanted.contains(k)).cloned().collect();
    removed.dedup();
    plan.remove = removed;
    plan
}

/// Covers exactly `pairs` (target, region) with as few target x region calls as it can: regions that
/// share the same targets go together. Regions keep the order they first appear in.
pub fn groups(pairs: &[(String, String)]) -> Vec<(Vec<String>, Vec<String>)> {
    let mut by_region: Vec<(String, Vec<String>)> = Vec::new();
    for (t, r) in pairs {
        match by_region.iter_mut().find(|(region, _)| region == r) {
            Some((_, ts)) if !ts.contains(t) => ts.push(t.clone()),
            Some(_) => {}
            None => by_region.push((r.clone(), vec![t.clone()])),
        }
    }
    let mut out: Vec<(Vec<String>, Vec<String>)> = Vec::new();
    for (region, mut targets) in by_region {
        targets.sort();
        match out.iter_mut().find(|(ts, _)| *ts == targets) {
            Some((_, regions)) => regions.push(region),
            None => out.push((targets, vec![region])),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance(account: &str, region: &str, status: &str) -> StackInstance {
        StackInstance {
            account: account.into(),
            region: region.into(),
            organizational_unit: None,
            status: status.into(),
            detailed: None,
            reason: None,
            drift: None,
        }
    }

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
    }

    #[test]
    fn environment_settings_win_key_by_key_and_targets_go_together() {
        let layer = StackSetSettings {
            organizational_units: Some(vec!["ou-abcd-12345678".into()]),
            regions: Some(vec!["eu-west-1".into()]),
            max_concurrent: Some(2),
            ..Default::default()
        };
        let env = StackSetSettings { accounts: Some(vec!["111111111111".into()]), ..Default::default() };
        let merged = env.over(&layer);
        assert_eq!(merged.accounts, Some(vec!["111111111111".to_string()]));
        assert_eq!(merged.organizational_units, None);
        assert_eq!(merged.regions, Some(vec!["eu-west-1".to_string()]));
        assert_eq!(merged.max_concurrent, Some(2));
        assert!(merged.problems().is_empty(), "{:?}", merged.problems());
        // A percentage in the environment replaces the layer's count (not both, which AWS refuses).
        let pct = StackSetSettings { max_concurrent_percent: Some(50), ..Default::default() }.over(&layer);
        assert_eq!((pct.max_concurrent, pct.max_concurrent_percent), (None, Some(50)));
        assert!(pct.problems().is_empty(), "{:?}", pct.problems());
    }

    #[test]
    fn problems_name_the_key() {
        let delegated = StackSetSettings { call_as: Some("delegated_admin".into()), ..Default::default() };
        assert!(delegated.problems().join(" ").contains("is for organizational units"), "{:?}", delegated.problems());
        let odd = StackSetSettings {
            organizational_units: Some(vec!["r-ab12".into()]),
            call_as: Some("admin".into()),
            ..Default::default()
        };
        assert!(odd.problems().join(" ").contains("`call_as` is"), "{:?}", odd.problems());
        let bad = StackSetSettings {
            accounts: Some(vec!["12345".into()]),
            organizational_units: Some(vec!["ou-x".into()]),
            regions: Some(vec!["eu-west-1".into(), "eu-west-1".into(), "us-esat-1".into()]),
            max_concurrent: Some(1),
            max_concurrent_percent: Some(10),
            failure_tolerance_percent: Some(150),
            region_concurrency: Some("random".into()),
            ..Default::default()
        };
        let p = bad.problems().join("\n");
        for needle in [
            "not both",
            "`12345` is not an AWS account id",
            "`ou-x` is not an organizational unit",
            "names `eu-west-1` twice",
            "us-esat-1",
            "`max_concurrent` or `max_concurrent_percent`",
            "`failure_tolerance_percent` is a percentage",
            "`region_concurrency`",
        ] {
            assert!(p.contains(needle), "missing {needle}: {p}");
        }
        assert!(is_ou("ou-ab12-abcdefgh") && is_ou("r-ab12") && !is_ou("ou-ab12") && !is_ou("OU-AB12-ABCDEFGH"));
    }

    #[test]
    fn defaults_are_the_environments_account_and_the_layers_region() {
        let t = StackSetSettings::default().resolve("123456789012", "eu-west-1");
        assert_eq!(t.wanted(), pairs(&[("123456789012", "eu-west-1")]));
        assert!(!t.service_managed());
        let s = StackSetSettings {
            organizational_units: Some(vec!["ou-ab12-abcdefgh".into()]),
            regions: Some(vec!["us-east-1".into(), "eu-west-1".into()]),
            region_concurrency: Some("parallel".into()),
            ..Default::default()
        }
        .resolve("123456789012", "eu-west-1");
        assert!(s.service_managed() && s.targets.accounts.is_empty());
        assert_eq!(s.preferences.region_order, vec!["us-east-1", "eu-west-1"]);
        assert_eq!(s.preferences.region_concurrency.as_deref(), Some("PARALLEL"));
    }

    #[test]
    fn instances_are_added_kept_refreshed_and_removed() {
        let t = StackSetSettings {
            accounts: Some(vec!["111111111111".into(), "222222222222".into()]),
            regions: Some(vec!["eu-west-1".into(), "us-east-1".into()]),
            ..Default::default()
        }
        .resolve("x", "y");
        let current = vec![
            instance("111111111111", "eu-west-1", "CURRENT"),
            instance("222222222222", "eu-west-1", "OUTDATED"),
            instance("333333333333", "eu-west-1", "CURRENT"),
        ];
        let p = plan_instances(&t, &current);
        assert_eq!(p.add, pairs(&[("111111111111", "us-east-1"), ("222222222222", "us-east-1")]));
        assert_eq!(p.keep, pairs(&[("111111111111", "eu-west-1"), ("222222222222", "eu-west-1")]));
        assert_eq!(p.outdated, pairs(&[("222222222222", "eu-west-1")]));
        assert_eq!(p.remove, pairs(&[("333333333333", "eu-west-1")]));
    }

    #[test]
    fn groups_cover_exactly_the_pairs() {
        let g = groups(&pairs(&[("a", "r1"), ("b", "r1"), ("a", "r2"), ("b", "r2"), ("a", "r3")]));
        assert_eq!(
            g,
            vec![
                (vec!["a".to_string(), "b".to_string()], vec!["r1".to_string(), "r2".to_string()]),
                (vec!["a".to_string()], vec!["r3".to_string()]),
            ]
        );
        let covered: BTreeSet<(String, String)> = g
            .iter()
            .flat_map(|(ts, rs)| ts.iter().flat_map(move |t| rs.iter().map(move |r| (t.clone(), r.clone()))))
            .collect();
        assert_eq!(covered.len(), 5);
    }
}
