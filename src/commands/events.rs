//! `stackc events <env> [layer...]`: what CloudFormation recorded for each layer's last operation (or
//! since a time), nested stacks followed, the root cause of a failure first. Text or JSON from one report.

use serde::Serialize;

use super::print;
use super::session::Session;
use crate::cfn::events::{nested_stacks, parse_since, Event, History, RootCause, Window};
use crate::cfn::port::{CloudFormation, PortError};
use crate::cfn::stack_state;
use crate::cli::Output;
use crate::diagnostic::{Diagnostic, Error, Result};

/// Nested stacks are followed this deep (CloudFormation allows deeper; nobody reads that far).
const MAX_NESTING: usize = 5;

#[derive(Debug, Serialize)]
struct LayerEvents {
    layer: String,
    stack: String,
    /// The stack's status now, or NOT_DEPLOYED.
    status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    root_cause: Option<RootCause>,
    #[serde(skip_serializing_if = "Option::is_none")]
    history: Option<History>,
}

#[derive(Debug, Serialize)]
struct Report {
    environment: String,
    /// `last operation` or `since <time>`.
    window: String,
    layers: Vec<LayerEvents>,
}

pub fn events(s: &Session, layers: &[String], since: Option<&str>, output: Output) -> Result<()> {
    s.probe()?;
    let order = s.order(layers)?;
    s.scrub_reasons_of(&order);
    let window = match since {
        Some(text) => Window::Since(parse_since(text, now()).map_err(|e| Error::msg(format!("--since: {e}")))?),
        None => Window::LastOperation,
    };
    let mut report = Report {
        environment: s.env.name.clone(),
        window: match &window {
            Window::LastOperation => "last operation".into(),
            Window::Since(t) => format!("since {t}"),
        },
        layers: Vec::new(),
    };
    for layer in &order {
        let stack = s.stack_name(layer);
        let failed = |e: PortError| Error::failed(Diagnostic::new(format!("layer `{layer}`: {e}")));
        let Some(info) = s.cfn.describe_stack(&stack).map_err(failed)? else {
            report.layers.push(LayerEvents {
                layer: layer.clone(),
                stack,
                status: "NOT_DEPLOYED".into(),
                status_reason: None,
                root_cause: None,
                history: None,
            });
            continue;
        };
        let history = read_history(&s.cfn, &stack, None, &window, 0).map_err(failed)?;
        report.layers.push(LayerEvents {
            layer: layer.clone(),
            stack,
            status: info.status.clone(),
            status_reason: info.status_reason.clone(),
            root_cause: history.root_cause().filter(|_| !stack_state::succeeded(&info.status)),
            history: Some(history),
        });
    }
    match output {
        Output::Json => print(&(serde_json::to_string_pretty(&report).unwrap_or_default() + "\n")),
        Output::Text => print(&to_text(&report)),
    }
    Ok(())
}

/// A stack's events in the window, and its nested stacks' (their own last operation, or the same window).
fn read_history(
    cfn: &dyn CloudFormation,
    stack: &str,
    nested_as: Option<&str>,
    window: &Window,
    depth: usize,
) -> std::result::Result<History, PortError> {
    // A nested stack's own events name it by its stack name, not by the id it was read with.
    let name = stack.rsplit(':').next().and_then(|s| s.split('/').nth(1)).unwrap_or(stack).to_string();
    let newest_first = cfn.stack_events(stack, &|e| window.reached(&name, e))?;
    let chosen = window.select(&name, &newest_first);
    let mut history = History {
        stack: name.clone(),
        nested_as: nested_as.map(String::from),
        events: chosen.iter().map(|e| Event::from(*e)).collect(),
        nested: Vec::new(),
    };
    if depth < MAX_NESTING {
        for (logical, id) in nested_stacks(&name, &chosen) {
            // A nested stack deleted since is not an error: its events are gone with it.
            if let Ok(inner) = read_history(cfn, &id, Some(&logical), window, depth + 1) {
                history.nested.push(inner);
            }
        }
    }
    Ok(history)
}

fn to_text(report: &Report) -> String {
    let mut out = format!("{}: events of the {}\n", report.environment, report.window);
    for l in &report.layers {
        out.push_str(&format!("\n{}  {}  {}", l.layer, l.stack, l.status));
        if let Some(r) = &l.status_reason {
            out.push_str(&format!("  ({r})"));
        }
        out.push('\n');
        if let Some(c) = &l.root_cause {
            let place = if c.stack == l.stack { String::new() } else { format!(" in nested stack {}", c.stack) };
            out.push_str(&format!(
                "  root cause: {} ({}){place} {}: {}\n",
                c.logical_id, c.resource_type, c.status, c.reason
            ));
        }
        if let Some(h) = &l.history {
            out.push_str(&h.to_text(0));
        }
    }
    out
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}
