//! Progress of a plan or deploy on stderr: plain lines off a terminal, a live block of one line per
//! layer on one. The engine reports; this shows.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use super::printer;
use crate::cfn::port::StackEvent;
use crate::deploy::ports::Reporter;
use crate::deploy::step::Step;
use crate::text;

/// Progress on stderr. Elsewhere than a terminal: `[layer] status` lines and stack events, with the
/// elapsed time. On a terminal: a live block of one line per layer (its status, its latest event, its
/// time), redrawn in place; failed resources and hooks' output still print as lines above it.
/// Secrets are redacted either way (the printer scrubs everything).
pub struct Progress {
    start: Instant,
    lock: Mutex<()>,
    live: Option<std::sync::Arc<Board>>,
    ticker: Option<std::thread::JoinHandle<()>>,
}

/// The live block's state, shared with the thread that redraws it twice a second.
struct Board {
    layers: Mutex<Vec<Row>>,
    stop: AtomicBool,
    start: Instant,
}

struct Row {
    layer: String,
    status: String,
    event: Option<String>,
    started: Instant,
    /// Seconds it took, once it finished (done, up to date, failed, deleted).
    took: Option<f64>,
    failed: bool,
}

impl Board {
    fn draw(&self) {
        let layers = self.layers.lock().unwrap();
        if layers.is_empty() {
            return;
        }
        let spin = ["|", "/", "-", "\\"][(self.start.elapsed().as_millis() / 250 % 4) as usize];
        printer().live_draw(block_lines(&layers, printer().live_rows().max(3), spin));
    }
}

/// The live block: a line per layer (mark, name, time, status, latest event). A block taller than
/// `room` cannot be redrawn in place: then the layers that finished well are left out (and counted),
/// then whatever does not fit.
fn block_lines(layers: &[Row], room: usize, spin: &str) -> Vec<String> {
    let width = layers.iter().map(|r| r.layer.len()).max().unwrap_or(0);
    let shown: Vec<&Row> = if layers.len() <= room {
        layers.iter().collect()
    } else {
        layers.iter().filter(|r| r.took.is_none() || r.failed).take(room - 1).collect()
    };
    let hidden = layers.len() - shown.len();
    let mut lines: Vec<String> = shown
        .iter()
        .map(|r| {
            let (mark, secs) = match r.took {
                Some(t) if r.failed => ("x", t),
                Some(t) => ("+", t),
                None => (spin, r.started.elapsed().as_secs_f64()),
            };
            let event = r.event.as_deref().map(|e| format!("  {e}")).unwrap_or_default();
            format!("{mark} {:<width$} {secs:>6.1}s  {}{event}", r.layer, r.status)
        })
        .collect();
    if hidden > 0 {
        let done = layers.iter().filter(|r| r.took.is_some() && !r.failed).count();
        lines.push(format!("  ({hidden} more {} not shown; {done} finished)", text::plural(hidden, "layer")));
    }
    lines
}

impl Progress {
    pub fn new() -> Progress {
        let live = (printer().live_supported() && printer().verbosity() == 0).then(|| {
            std::sync::Arc::new(Board {
                layers: Mutex::new(Vec::new()),
                stop: AtomicBool::new(false),
                start: Instant::now(),
            })
        });
        let ticker = live.clone().map(|board| {
            std::thread::spawn(move || {
                while !board.stop.load(Ordering::Relaxed) {
                    std::thread::sleep(std::time::Duration::from_millis(250));
                    if !board.stop.load(Ordering::Relaxed) {
                        board.draw();
                    }
                }
            })
        });
        Progress { start: super::started(), lock: Mutex::new(()), live, ticker }
    }

    fn line(&self, text: &str) {
        let _g = self.lock.lock().unwrap();
        let t = self.start.elapsed().as_secs_f64();
        printer().line(&format!("{t:>7.2}s {text}"));
    }

    /// End this phase's live block: kept on the screen (`keep`) or removed (planning progress, before the
    /// plan is shown). The next status starts a new block.
    pub fn settle(&self, keep: bool) {
        if let Some(board) = &self.live {
            let mut layers = board.layers.lock().unwrap();
            if keep && !layers.is_empty() {
                drop(layers);
                board.draw();
                layers = board.layers.lock().unwrap();
            }
            layers.clear();
            printer().live_end(keep);
        }
    }

    fn update(&self, board: &Board, layer: &str, f: impl FnOnce(&mut Row)) {
        {
            let mut layers = board.layers.lock().unwrap();
            if !layers.iter().any(|r| r.layer == layer) {
                layers.push(Row {
                    layer: layer.to_string(),
                    status: String::new(),
                    event: None,
                    started: Instant::now(),
                    took: None,
                    failed: false,
                });
            }
            let row = layers.iter_mut().find(|r| r.layer == layer).unwrap();
            f(row);
        }
        board.draw();
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(board) = &self.live {
            board.stop.store(true, Ordering::Relaxed);
        }
        if let Some(t) = self.ticker.take() {
            let _ = t.join();
        }
        self.settle(true);
    }
}

impl Reporter for Progress {
    fn status(&self, layer: &str, step: &Step) {
        let Some(board) = &self.live else { return self.line(&format!("[{layer}] {step}")) };
        // Commands (hooks, builds) and what they print, and a stack set's per-instance results, are kept:
        // a line each.
        if step.is_line() {
            self.line(&format!("[{layer}] {step}"));
            return;
        }
        self.update(board, layer, |row| {
            let finished = step.finishes();
            row.status = step.to_string();
            if finished {
                row.took = Some(row.started.elapsed().as_secs_f64());
                row.failed = *step == Step::Failed;
                row.event = None;
            } else if row.took.is_some() {
                // Started again (planned anew, or executed after planning).
                row.took = None;
                row.started = Instant::now();
            }
        });
    }

    fn event(&self, layer: &str, e: &StackEvent) {
        let reason = e.reason.as_deref().map(|r| format!("  {r}")).unwrap_or_default();
        let text = format!("{} {} {}", e.status, e.logical_id, e.resource_type);
        let Some(board) = &self.live else { return self.line(&format!("[{layer}]   {text}{reason}")) };
        if e.status.ends_with("_FAILED") {
            self.line(&format!("[{layer}]   {text}{reason}"));
        }
        self.update(board, layer, |row| row.event = Some(text));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(layer: &str, took: Option<f64>, failed: bool) -> Row {
        Row { layer: layer.into(), status: "s".into(), event: None, started: Instant::now(), took, failed }
    }

    #[test]
    fn a_block_taller_than_the_terminal_keeps_the_running_and_failed_layers() {
        let rows = vec![
            row("a", Some(1.0), false),
            row("b", None, false),
            row("c", Some(2.0), true),
            row("d", Some(1.0), false),
        ];
        let all = block_lines(&rows, 10, "|");
        assert_eq!(all.len(), 4);
        assert!(all[0].starts_with("+ a") && all[1].starts_with("| b") && all[2].starts_with("x c"), "{all:?}");
        let cut = block_lines(&rows, 3, "|");
        assert_eq!(cut.len(), 3, "{cut:?}");
        assert!(cut[0].starts_with("| b") && cut[1].starts_with("x c"), "{cut:?}");
        assert_eq!(cut[2], "  (2 more layers not shown; 2 finished)");
    }
}
