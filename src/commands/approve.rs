//! Asking before anything executes: a terminal question (a protected environment needs its name typed),
//! refusing without a terminal, and, in a protected environment, a replacement of a stateful resource
//! (a database, a bucket, a table...) named in `--allow-replace` or in the typed answer.

use std::io::IsTerminal;

use super::printer;
use super::session::Session;
use crate::deploy::plan::{to_text, LayerPlan};
use crate::deploy::ports::Approver;
use crate::diagnostic::{Diagnostic, Error, Result};
use crate::text::count;

/// What the command line approves ahead of the question.
#[derive(Debug, Clone, Default)]
pub struct Approval {
    /// `--yes`: execute without asking.
    pub yes: bool,
    /// `--allow-replace LAYER/RESOURCE`: replacements of stateful resources approved by name.
    pub allow_replace: Vec<String>,
}

/// `layer/resource` of every stateful resource the plans replace.
pub fn stateful_replacements(plans: &[LayerPlan]) -> Vec<String> {
    plans
        .iter()
        .flat_map(|p| {
            p.changes.iter().filter(|c| c.replaces_state).map(move |c| format!("{}/{}", p.layer, c.logical_id))
        })
        .collect()
}

/// The approver of change sets made after the confirmation: each is shown; in a protected environment it
/// is asked about again (unless `--yes`), and a stateful replacement in it must be named as before.
pub struct LateApproval<'a> {
    pub session: &'a Session,
    pub approval: &'a Approval,
    /// One question at a time, whatever the number of layers running.
    pub asking: std::sync::Mutex<()>,
}

impl Approver for LateApproval<'_> {
    fn approve_late(&self, plan: &LayerPlan) -> std::result::Result<(), String> {
        let s = self.session;
        let _one = self.asking.lock().unwrap_or_else(|e| e.into_inner());
        let text = to_text(&s.env.name, std::slice::from_ref(plan));
        let body: Vec<&str> = text.lines().filter(|l| !l.starts_with("plan for ")).collect();
        printer().line(&format!(
            "{} was planned again after the confirmation (its dependencies' outputs are known now):\n{}",
            plan.layer,
            body.join("\n")
        ));
        if !s.env.protected {
            return Ok(());
        }
        let unapproved: Vec<String> = stateful_replacements(std::slice::from_ref(plan))
            .into_iter()
            .filter(|r| !self.approval.allow_replace.contains(r))
            .collect();
        let refused = format!(
            "the change set made after the confirmation was not approved; nothing of layer `{}` was executed (run again to review it)",
            plan.layer
        );
        match (self.approval.yes, unapproved.is_empty()) {
            (true, true) => Ok(()),
            (true, false) => Err(format!(
                "the change set made after the confirmation replaces stateful {}; re-run with {}",
                unapproved.join(", "),
                unapproved.iter().map(|r| format!("--allow-replace {r}")).collect::<Vec<_>>().join(" ")
            )),
            (false, _) => {
                let typed = if unapproved.is_empty() {
                    s.env.name.clone()
                } else {
                    format!("{} replace {}", s.env.name, unapproved.join(", "))
                };
                let question = format!("Execute this change set too? Type `{typed}` to go ahead: ");
                match printer().ask(&question) {
                    Ok(answer) if answer == typed => Ok(()),
                    _ => Err(refused),
                }
            }
        }
    }
}

/// Whether to execute `plans`: asked (or refused) as the environment requires. False: the user said no.
pub fn deploy(s: &Session, plans: &[LayerPlan], approval: &Approval) -> Result<bool> {
    let changes = plans.iter().filter(|p| p.has_changes()).count();
    if changes == 0 {
        return Ok(true);
    }
    let unapproved: Vec<String> =
        stateful_replacements(plans).into_iter().filter(|r| !approval.allow_replace.contains(r)).collect();
    if !s.env.protected || unapproved.is_empty() {
        return Ok(approval.yes || confirm(s, &format!("Deploy {}", count(changes, "layer")))?);
    }
    let names = unapproved.join(", ");
    if approval.yes {
        let flags: Vec<String> = unapproved.iter().map(|r| format!("--allow-replace {r}")).collect();
        return Err(Error::config(
            Diagnostic::new(format!(
                "refusing to replace stateful resources in protected environment `{}` without naming them: {names}",
                s.env.name
            ))
            .note("a replacement makes a new, empty resource and deletes the old one with its data")
            .hint(format!("if that is meant, re-run with {}", flags.join(" "))),
        ));
    }
    let typed = format!("{} replace {names}", s.env.name);
    let question = format!(
        "Deploy {} in protected environment `{}`, REPLACING {names} (their data does not move). Type `{typed}` to go ahead: ",
        count(changes, "layer"),
        s.env.name
    );
    let answer =
        printer().ask(&question).map_err(|e| Error::failed(Diagnostic::new(format!("cannot read the answer: {e}"))))?;
    Ok(answer == typed)
}

/// Ask on the terminal; a protected environment needs its name typed.
pub fn confirm(s: &Session, what: &str) -> Result<bool> {
    let question = if s.env.protected {
        format!("{what} in protected environment `{}`. Type `{}` to go ahead: ", s.env.name, s.env.name)
    } else {
        format!("{what} in `{}`? [y/N] ", s.env.name)
    };
    let answer =
        printer().ask(&question).map_err(|e| Error::failed(Diagnostic::new(format!("cannot read the answer: {e}"))))?;
    let answer = answer.as_str();
    Ok(if s.env.protected { answer == s.env.name } else { matches!(answer, "y" | "Y" | "yes" | "YES" | "Yes") })
}

/// Without a terminal and without --yes, refuse before touching anything.
pub fn require_confirmation_possible(s: &Session, yes: bool, verb: &str) -> Result<()> {
    if yes || std::io::stdin().is_terminal() {
        return Ok(());
    }
    let kind = if s.env.protected { "protected environment" } else { "environment" };
    Err(Error::config(
        Diagnostic::new(format!(
            "refusing to {verb} {kind} `{}` without confirmation: there is no terminal to ask on",
            s.env.name
        ))
        .hint(format!("review with `stackc plan {}`, then re-run with --yes", s.env.name)),
    ))
}
