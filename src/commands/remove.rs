//! Removing stacks: `destroy` (the selected layers, in reverse dependency order) and `prune` (what the
//! project no longer has).

use std::collections::BTreeSet;

use super::approve::{confirm, require_confirmation_possible};
use super::print;
use super::printer::printer;
use super::progress::Progress;
use super::session::Session;
use crate::cfn::port::StackInfo;
use crate::cfn::port::{PortError, StackSets};
use crate::scope;

use crate::deploy::driver::Driver;
use crate::deploy::engine::Engine;
use crate::deploy::layer::Outcome;
use crate::deploy::ports::Settings;
use crate::deploy::ports::{NoHooks, Preapproved};
use crate::deploy::prune;
use crate::deploy::stackset;
use crate::diagnostic::{Diagnostic, Error, ExitKind, Result};
use crate::edge::aws::record;
use crate::text::count;

pub fn destroy(s: &Session, layers: &[String], yes: bool, concurrency: usize) -> Result<()> {
    require_confirmation_possible(s, yes, "destroy stacks in")?;
    s.check_account()?;
    let order = s.order(layers)?;
    let all: BTreeSet<String> = s.project.layers.keys().cloned().collect();
    let stacks = s.describe(&all, concurrency)?;
    let needed = prune::still_needed(&order, &s.graph.deps, &stacks);
    if !needed.is_empty() {
        return Err(Error::configs(
            needed
                .into_iter()
                .map(|(layer, other)| {
                    Diagnostic::new(format!(
                        "cannot destroy `{layer}`: layer `{other}` depends on it and is still deployed"
                    ))
                    .hint(format!("destroy both: `stackc destroy {} {other} {layer}`", s.env.name))
                })
                .collect(),
        ));
    }
    let present: Vec<&String> = order.iter().filter(|l| stacks.contains_key(*l)).collect();
    if present.is_empty() {
        print(&format!("nothing to destroy in `{}`\n", s.env.name));
        return Ok(());
    }
    for l in order.iter().rev() {
        if let Some(i) = stacks.get(l) {
            print(&format!("{l} ({}): delete\n", i.name));
        }
    }
    if !yes && !confirm(s, &format!("Delete {}", count(present.len(), "stack")))? {
        return Err(Error::failed(Diagnostic::new("destroy cancelled; nothing was deleted")));
    }
    let progress = Progress::new();
    let (stack_name, redact) = (|l: &str| s.stack_name(l), |t: &str| s.redact(t));
    let hooks = s.hooks(&progress, &stack_name, &redact);
    let engine = Engine::new(
        Driver {
            cfn: &s.cfn,
            reporter: &progress,
            settings: Settings { concurrency, ..Settings::default() },
            run: &s.run,
        },
        &hooks,
        &Preapproved,
    );
    let outcomes = prune::destroy_all(&engine, &order, &s.graph.deps, &stacks);
    progress.settle(true);
    let mut text = String::new();
    let mut failures = Vec::new();
    for layer in order.iter().rev() {
        match outcomes.get(layer) {
            Some(Outcome::Deployed(_)) => text.push_str(&format!("{layer:<12} deleted\n")),
            Some(Outcome::UpToDate(_)) => text.push_str(&format!("{layer:<12} not deployed\n")),
            Some(Outcome::Failed(m)) => failures.push(Diagnostic::new(format!("layer `{layer}`: {m}"))),
            Some(Outcome::Skipped(why)) => failures.push(Diagnostic::new(format!("layer `{layer}` was kept: {why}"))),
            _ => {}
        }
    }
    print(&text);
    if failures.is_empty() {
        Ok(())
    } else {
        Err(Error { kind: ExitKind::Failed, diagnostics: failures })
    }
}

/// Remember, in the account, the regions other than the environment's that `layers` deploy to, so `prune`
/// still looks there once such a layer is gone from the project. Not remembering is a warning, not a
/// failure: the deploy itself does not need it.
pub fn record_regions(s: &Session, layers: &[String]) {
    let regions: BTreeSet<String> =
        layers.iter().map(|l| scope::region_of(&s.project, l, &s.env)).filter(|r| *r != s.env.region).collect();
    if regions.is_empty() {
        return;
    }
    let name = record::regions_parameter(&s.project.name, &s.env.name);
    match record::record_regions(&s.aws, &name, &regions) {
        Ok(added) if !added.is_empty() => printer().detail(1, &format!("recorded {} in `{name}`", added.join(", "))),
        Ok(_) => {}
        Err(e) => printer().note(&format!(
            "could not record this environment's regions in SSM parameter `{name}` ({e}); `stackc prune {}` \
             looks in them only with --look-in",
            s.env.name
        )),
    }
}

/// Every stack of the regions the environment has used: its own, its layers', the recorded ones and
/// `extra`. Each stack found elsewhere is routed to its region for what follows (delete).
fn stacks_everywhere(s: &Session, extra: &[String]) -> Result<Vec<StackInfo>> {
    let failed = |e: PortError| Error::failed(Diagnostic::new(e.to_string()));
    let mut regions: BTreeSet<String> = s.cfn.regions_elsewhere();
    let name = record::regions_parameter(&s.project.name, &s.env.name);
    match record::recorded_regions(&s.aws, &name) {
        Ok(found) => regions.extend(found),
        Err(e) => printer().note(&format!("cannot read `{name}` ({e}); looking only in the regions named here")),
    }
    regions.extend(extra.iter().cloned());
    regions.remove(&s.env.region);
    let mut all = s.cfn.list_stacks_in(&s.env.region).map_err(failed)?;
    for region in &regions {
        let found = s.cfn.list_stacks_in(region).map_err(failed)?;
        for info in &found {
            s.cfn.route(&info.name, region);
        }
        printer().detail(1, &format!("looked in {region}: {}", count(found.len(), "stack")));
        all.extend(found);
    }
    Ok(all)
}

/// `stackc prune`: the stacks of layers that are gone, after confirmation, one at a time, newest first.
/// It looks in every region the environment has used, and in `regions` besides.
pub fn prune(s: &Session, yes: bool, regions: &[String]) -> Result<()> {
    require_confirmation_possible(s, yes, "prune stacks in")?;
    s.check_account()?;
    let mut all = stacks_everywhere(s, regions)?;
    let sets = s.cfn.list_stack_sets().map_err(|e| Error::failed(Diagnostic::new(e.to_string())))?;
    all.extend(sets.iter().map(stackset::as_stack_info));
    let layers: BTreeSet<String> = s.project.layers.keys().cloned().collect();
    let gone = prune::prunable(&all, &s.project.name, &s.env.name, &layers);
    if gone.is_empty() {
        print(&format!("nothing to prune in `{}`: every stack stackc made for it has its layer\n", s.env.name));
        return Ok(());
    }
    for (layer, info) in &gone {
        print(&format!("{layer} ({}): delete; the layer is no longer in `{}`\n", info.name, s.env.name));
    }
    if !yes && !confirm(s, &format!("Delete {}", count(gone.len(), "stack")))? {
        return Err(Error::failed(Diagnostic::new("prune cancelled; nothing was deleted")));
    }
    let progress = Progress::new();
    let engine = Engine::new(
        Driver { cfn: &s.cfn, reporter: &progress, settings: Settings::default(), run: &s.run },
        &NoHooks,
        &Preapproved,
    );
    let mut text = String::new();
    let mut failures = Vec::new();
    for (layer, info) in &gone {
        if info.termination_protection {
            failures.push(Diagnostic::new(format!(
                "stack `{}` has termination protection; turn it off first: `aws cloudformation update-termination-protection --no-enable-termination-protection --stack-name {}`",
                info.name, info.name
            )));
            continue;
        }
        match engine.delete_layer(layer, info) {
            Ok(()) => text.push_str(&format!("{layer:<12} {} deleted\n", info.name)),
            Err(e) => failures.push(Diagnostic::new(format!("stack `{}`: {e}", info.name))),
        }
    }
    print(&text);
    if failures.is_empty() {
        Ok(())
    } else {
        Err(Error { kind: ExitKind::Failed, diagnostics: failures })
    }
}
