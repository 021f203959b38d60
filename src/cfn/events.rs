//! A stack's history as CloudFormation records it: the events of its last operation (or since a time),
//! its nested stacks' events under it, and the root cause of a failure: the first resource that failed
//! for a reason of its own (not "Resource creation cancelled", not a stack saying which of its resources
//! failed), looked for inside a nested stack when that is what failed.

use serde::Serialize;

use super::port::StackEvent;

/// One event, as shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    pub timestamp: String,
    pub logical_id: String,
    pub resource_type: String,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl From<&StackEvent> for Event {
    fn from(e: &StackEvent) -> Event {
        Event {
            timestamp: e.timestamp.clone(),
            logical_id: e.logical_id.clone(),
            resource_type: e.resource_type.clone(),
            status: e.status.clone(),
            reason: e.reason.clone(),
        }
    }
}

/// A stack's events (oldest first) and its nested stacks' histories.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct History {
    pub stack: String,
    /// The nested stack's logical id in its parent (None for a layer's own stack).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nested_as: Option<String>,
    pub events: Vec<Event>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub nested: Vec<History>,
}

/// The failed resource a failure comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RootCause {
    /// The stack it is in (a nested stack's name when it failed there).
    pub stack: String,
    pub logical_id: String,
    pub resource_type: String,
    pub status: String,
    pub reason: String,
}

/// A failure reason that only reports another failure.
pub fn is_consequence(reason: &str) -> bool {
    let r = reason.to_ascii_lowercase();
    r.contains("cancelled") || r.contains("the following resource(s) failed") || r.contains("was not successfully")
}

/// What to keep of a stack's events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Window {
    /// From the start of the latest operation.
    LastOperation,
    /// At or after this RFC 3339 time.
    Since(String),
}

impl Window {
    /// Whether a page read newest first can stop at `e`: it is before the window.
    pub fn reached(&self, stack: &str, e: &StackEvent) -> bool {
        match self {
            Window::LastOperation => e.starts_operation(stack),
            Window::Since(t) => e.timestamp.as_str() < t.as_str(),
        }
    }

    /// The events (given newest first) inside the window, oldest first.
    pub fn select<'a>(&self, stack: &str, newest_first: &'a [StackEvent]) -> Vec<&'a StackEvent> {
        let mut out: Vec<&StackEvent> = match self {
            Window::LastOperation => {
                let end =
                    newest_first.iter().position(|e| e.starts_operation(stack)).map_or(newest_first.len(), |i| i + 1);
                newest_first[..end].iter().collect()
            }
            Window::Since(t) => newest_first.iter().filter(|e| e.timestamp.as_str() >= t.as_str()).collect(),
        };
        out.reverse();
        out
    }
}

/// The nested stacks an operation touched: (logical id, stack id), in the order they first appear.
pub fn nested_stacks(stack: &str, events: &[&StackEvent]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for e in events {
        let nested =
            e.resource_type == "AWS::CloudFormation::Stack" && e.logical_id != stack && !e.physical_id.is_empty();
        if nested && !out.iter().any(|(l, _)| l == &e.logical_id) {
            out.push((e.logical_id.clone(), e.physical_id.clone()));
        }
    }
    out
}

impl History {
    /// The root cause of a failure in this history, looked for inside the nested stack that failed.
    pub fn root_cause(&self) -> Option<RootCause> {
        let failed: Vec<&Event> = self
            .events
            .iter()
            .filter(|e| e.status.ends_with("_FAILED") && e.logical_id != self.stack && !self.is_own(e))
            .collect();
        // A reason of its own first; then a nested stack that failed (the cause is inside it); then any.
        let first = failed
            .iter()
            .find(|e| !is_consequence(e.reason.as_deref().unwrap_or_default()))
            .or_else(|| failed.iter().find(|e| e.resource_type == "AWS::CloudFormation::Stack"))
            .or_else(|| failed.first())?;
        if first.resource_type == "AWS::CloudFormation::Stack" {
            let inner = self.nested.iter().find(|n| n.nested_as.as_deref() == Some(&first.logical_id));
            if let Some(cause) = inner.and_then(History::root_cause) {
                return Some(cause);
            }
        }
        Some(RootCause {
            stack: self.stack.clone(),
            logical_id: first.logical_id.clone(),
            resource_type: first.resource_type.clone(),
            status: first.status.clone(),
            reason: first.reason.clone().unwrap_or_else(|| "no reason given".into()),
        })
    }

    /// A stack's own events carry its name or, for a nested stack, its id.
    fn is_own(&self, e: &Event) -> bool {
        e.resource_type == "AWS::CloudFormation::Stack" && self.nested_as.is_none() && e.logical_id == self.stack
    }

    /// The history as text, indented under its parent.
    pub fn to_text(&self, indent: usize) -> String {
        let pad = " ".repeat(indent);
        let mut out = String::new();
        if let Some(id) = &self.nested_as {
            out.push_str(&format!("{pad}nested stack {id} ({}):\n", self.stack));
        }
        let width = self.events.iter().map(|e| e.logical_id.chars().count()).max().unwrap_or(0).min(40);
        let status_width = self.events.iter().map(|e| e.status.len()).max().unwrap_or(0);
        for e in &self.events {
            let reason = e.reason.as_deref().map(|r| format!("  {r}")).unwrap_or_default();
            out.push_str(&format!(
                "{pad}  {}  {:<width$}  {:<status_width$}  {}{reason}\n",
                e.timestamp, e.logical_id, e.status, e.resource_type
            ));
        }
        if self.events.is_empty() {
            out.push_str(&format!("{pad}  (no events in this window)\n"));
        }
        for n in &self.nested {
            out.push_str(&n.to_text(indent + 2));
        }
        out
    }
}

/// A UTC time `seconds` before the Unix time `now`, as RFC 3339 (`2026-12-03T19:00:00Z`).
pub fn rfc3339_before(now: u64, seconds: u64) -> String {
    let t = now.saturating_sub(seconds);
    let (days, rest) = (t / 86_400, t % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rest / 3600, rest % 3600 / 60, rest % 60)
}

/// `--since`: a duration back from now (`90s`, `30m`, `2h`, `1d`) or an RFC 3339 time, as RFC 3339.
pub fn parse_since(text: &str, now: u64) -> Result<String, String> {
    let t = text.trim();
    if t.len() >= 10 && t.as_bytes()[4] == b'-' && t.as_bytes()[7] == b'-' {
        return Ok(t.to_string());
    }
    let (number, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is neither a duration (30m, 2h, 1d) nor a time (2026-12-03T19:00:00Z)"))?;
    let scale = match unit {
        "s" => 1,
        "m" | "" => 60,
        "h" => 3_600,
        "d" => 86_400,
        other => return Err(format!("`{other}` is not a unit of time: use s, m, h or d")),
    };
    Ok(rfc3339_before(now, n.saturating_mul(scale)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(n: u32, logical: &str, ty: &str, status: &str, reason: Option<&str>, physical: &str) -> StackEvent {
        StackEvent {
            id: format!("e{n}"),
            timestamp: format!("2026-12-03T10:00:{n:02}Z"),
            logical_id: logical.into(),
            resource_type: ty.into(),
            status: status.into(),
            reason: reason.map(String::from),
            physical_id: physical.into(),
        }
    }

    const STACK: &str = "AWS::CloudFormation::Stack";

    /// An earlier update, then a failed one whose nested stack `Child` failed because of `Db` inside it.
    fn parent_events() -> Vec<StackEvent> {
        let mut v = vec![
            ev(1, "app", STACK, "UPDATE_IN_PROGRESS", Some("User Initiated"), "id-app"),
            ev(2, "app", STACK, "UPDATE_COMPLETE", None, "id-app"),
            ev(3, "app", STACK, "UPDATE_IN_PROGRESS", Some("User Initiated"), "id-app"),
            ev(4, "Child", STACK, "UPDATE_IN_PROGRESS", None, "id-child"),
            ev(5, "Topic", "AWS::SNS::Topic", "UPDATE_FAILED", Some("Resource update cancelled"), "t"),
            ev(
                6,
                "Child",
                STACK,
                "UPDATE_FAILED",
                Some("Embedded stack id-child was not successfully updated"),
                "id-child",
            ),
            ev(7, "app", STACK, "UPDATE_ROLLBACK_COMPLETE", None, "id-app"),
        ];
        v.reverse();
        v
    }

    #[test]
    fn the_last_operation_and_the_root_cause_inside_a_nested_stack() {
        let events = parent_events();
        let window = Window::LastOperation;
        let chosen = window.select("app", &events);
        assert_eq!(chosen.first().map(|e| e.id.as_str()), Some("e3"));
        assert_eq!(chosen.len(), 5);
        assert!(window.reached("app", &events[4]) && !window.reached("app", &events[0]));
        assert_eq!(nested_stacks("app", &chosen), vec![("Child".to_string(), "id-child".to_string())]);
        let mut child = vec![
            ev(4, "id-child", STACK, "UPDATE_IN_PROGRESS", None, "id-child"),
            ev(5, "Db", "AWS::RDS::DBInstance", "UPDATE_FAILED", Some("invalid engine version"), "db"),
        ];
        child.reverse();
        let nested = History {
            stack: "id-child".into(),
            nested_as: Some("Child".into()),
            events: Window::Since("2026-01-01T00:00:00Z".into())
                .select("id-child", &child)
                .into_iter()
                .map(Event::from)
                .collect(),
            nested: vec![],
        };
        let history = History {
            stack: "app".into(),
            nested_as: None,
            events: chosen.into_iter().map(Event::from).collect(),
            nested: vec![nested.clone()],
        };
        let cause = history.root_cause().unwrap();
        assert_eq!(
            (cause.stack.as_str(), cause.logical_id.as_str(), cause.reason.as_str()),
            ("id-child", "Db", "invalid engine version")
        );
        // Without the nested history, the nested stack itself is the cause (not the cancelled topic).
        let alone = History { nested: vec![], ..history.clone() };
        assert_eq!(alone.root_cause().unwrap().logical_id, "Child");
        let text = history.to_text(0);
        assert!(text.contains("nested stack Child (id-child):") && text.contains("invalid engine version"), "{text}");
    }

    #[test]
    fn since_parses_durations_and_times() {
        let now = 1_764_788_400; // 2025-12-03T19:00:00Z
        assert_eq!(rfc3339_before(now, 0), "2025-12-03T19:00:00Z");
        assert_eq!(parse_since("30m", now).unwrap(), "2025-12-03T18:30:00Z");
        assert_eq!(parse_since("2d", now).unwrap(), "2025-12-01T19:00:00Z");
        assert_eq!(parse_since("2026-01-02T03:04:05Z", now).unwrap(), "2026-01-02T03:04:05Z");
        assert!(parse_since("soon", now).unwrap_err().contains("neither a duration"));
        assert!(parse_since("3w", now).unwrap_err().contains("not a unit"));
        let events = parent_events();
        let since = Window::Since("2026-12-03T10:00:05Z".into());
        assert_eq!(since.select("app", &events).len(), 3);
    }
}
