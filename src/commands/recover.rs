//! `stackc continue-rollback`: the way out of UPDATE_ROLLBACK_FAILED (an update failed and so did its
//! rollback), which otherwise needs the AWS console or CLI: CloudFormation's ContinueUpdateRollback for each
//! such layer, followed to its end with the stack's events.

use std::collections::BTreeSet;

use super::approve::{confirm, require_confirmation_possible};
use super::print;
use super::progress::Progress;
use super::session::Session;
use crate::cfn::stack_state::{classify, StackState};
use crate::deploy::driver::Driver;
use crate::deploy::engine::Engine;
use crate::deploy::ports::{NoHooks, Preapproved, Settings};
use crate::diagnostic::{Diagnostic, Error, ExitKind, Result};
use crate::text::list;

const ROLLBACK_FAILED: &str = "UPDATE_ROLLBACK_FAILED";

pub fn continue_rollback(s: &Session, layers: &[String], skip: &[String], yes: bool) -> Result<()> {
    s.check_account()?;
    let order = s.order(layers)?;
    let stacks = s.describe(&order.iter().cloned().collect::<BTreeSet<_>>(), 4)?;
    let status_of = |l: &str| stacks.get(l).map_or("not deployed", |i| i.status.as_str());
    let failed =
        |l: &str| stacks.get(l).is_some_and(|i| classify(Some(&i.status), &i.name) == StackState::RollbackFailed);
    let stuck: Vec<String> = order.iter().filter(|l| failed(l)).cloned().collect();
    let named_but_fine: Vec<Diagnostic> = order
        .iter()
        .filter(|l| !layers.is_empty() && !failed(l))
        .map(|l| {
            let stack = s.stack_name(l);
            Diagnostic::new(format!(
                "layer `{l}` ({stack}) is {}: there is no failed rollback to continue",
                status_of(l)
            ))
        })
        .collect();
    if !named_but_fine.is_empty() {
        return Err(Error { kind: ExitKind::Failed, diagnostics: named_but_fine });
    }
    if stuck.is_empty() {
        print(&format!("no stack of `{}` is in {ROLLBACK_FAILED}; there is no rollback to continue\n", s.env.name));
        return Ok(());
    }
    check_skips(s, &stuck, skip, yes)?;
    s.scrub_reasons_of(&stuck);
    let progress = Progress::new();
    let driver = Driver { cfn: &s.cfn, reporter: &progress, settings: Settings::default(), run: &s.run };
    let engine = Engine::new(driver, &NoHooks, &Preapproved);
    let mut text = String::new();
    let mut failures = Vec::new();
    for layer in &stuck {
        let stack = s.stack_name(layer);
        match engine.continue_rollback(layer, &stack, skip) {
            Ok(info) => {
                text.push_str(&format!("{layer:<12} {stack}: {}; deploy again to apply the project\n", info.status))
            }
            Err(e) => failures.push(Diagnostic::new(format!("layer `{layer}` ({stack}): {e}"))),
        }
    }
    progress.settle(true);
    print(&text);
    if failures.is_empty() {
        Ok(())
    } else {
        Err(Error { kind: ExitKind::Failed, diagnostics: failures })
    }
}

/// `--skip` names resources of one stack; in a protected environment leaving them is confirmed first.
fn check_skips(s: &Session, stuck: &[String], skip: &[String], yes: bool) -> Result<()> {
    if skip.is_empty() {
        return Ok(());
    }
    if stuck.len() != 1 {
        return Err(Error::config(
            Diagnostic::new(format!(
                "--skip names resources of one stack, and {} are in {ROLLBACK_FAILED}",
                list(stuck)
            ))
            .hint(format!("name the layer: `stackc continue-rollback {} <layer> --skip ...`", s.env.name)),
        ));
    }
    if !s.env.protected || yes {
        return Ok(());
    }
    require_confirmation_possible(s, yes, "leave resources unrolled-back in")?;
    let what = format!("Continue the rollback of `{}` leaving {} as they are", stuck[0], list(skip));
    if confirm(s, &what)? {
        Ok(())
    } else {
        Err(Error::failed(Diagnostic::new("continue-rollback cancelled; nothing was sent")))
    }
}
