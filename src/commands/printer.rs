//! The one printer: everything stackc says goes through it. Results go to stdout (text, or JSON with
//! `--output json`); notes, progress and errors go to stderr. Every line is scrubbed of the secret
//! values this run has seen, `-v` lines appear only when asked for, and `error:` is coloured only on a
//! terminal (never with NO_COLOR or TERM=dumb).

use std::io::{IsTerminal, Write};
use std::sync::{Mutex, OnceLock};

use crate::cli;
use crate::diagnostic::Error;
use crate::secret::{Secret, REDACTED};

pub struct Printer {
    secrets: Mutex<Vec<Secret>>,
    verbose: std::sync::atomic::AtomicU8,
    /// Colour on stderr (errors) and stdout (plans and diffs).
    colour: bool,
    colour_out: std::sync::atomic::AtomicBool,
    /// Tests capture what would be written: (stdout, stderr).
    capture: Option<Mutex<(String, String)>>,
    /// The live block at the bottom of a terminal (one line per layer), redrawn in place.
    live: Mutex<Live>,
}

#[derive(Default)]
struct Live {
    lines: Vec<String>,
    /// How many lines of it are on the screen now.
    drawn: usize,
    /// A question is waiting for its answer: the block is not redrawn under it until it is answered.
    paused: bool,
}

/// While held, the live block is not drawn (see `Printer::live_paused`).
struct LivePaused<'a>(&'a Printer);

impl Drop for LivePaused<'_> {
    fn drop(&mut self) {
        self.0.live.lock().unwrap_or_else(|e| e.into_inner()).paused = false;
    }
}

static PRINTER: OnceLock<Printer> = OnceLock::new();

/// The process's printer.
pub fn printer() -> &'static Printer {
    PRINTER.get_or_init(|| Printer::new(colour_wanted(std::io::stderr().is_terminal()), None))
}

/// Colour by default only on a terminal, never with NO_COLOR set or TERM=dumb.
fn colour_wanted(terminal: bool) -> bool {
    terminal && std::env::var_os("NO_COLOR").is_none() && std::env::var("TERM").map_or(true, |t| t != "dumb")
}

/// `--color`: decide for stdout (and, when forced, stderr) once, at the start of a run.
pub fn set_colour(mode: cli::ColorMode) {
    use crate::cli::ColorMode;
    let out = match mode {
        ColorMode::Always => true,
        ColorMode::Never => false,
        ColorMode::Auto => colour_wanted(std::io::stdout().is_terminal()),
    };
    let p = PRINTER.get_or_init(|| {
        let err = match mode {
            ColorMode::Always => true,
            ColorMode::Never => false,
            ColorMode::Auto => colour_wanted(std::io::stderr().is_terminal()),
        };
        Printer::new(err, None)
    });
    p.colour_out.store(out, std::sync::atomic::Ordering::Relaxed);
}

/// A plan or diff with its change marks coloured: `+` green, `-` red, `~` yellow, replacements bold red.
pub fn paint_changes(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches('\n');
        let mark = body.trim_start().chars().next();
        let colour = match mark {
            Some('+') => Some("32"),
            Some('-') => Some("31"),
            Some('~') => Some("33"),
            _ => None,
        };
        let body = body.replace("REPLACEMENT", "\x1b[1;31mREPLACEMENT\x1b[0m");
        match colour {
            Some(c) => out.push_str(&format!("\x1b[{c}m{body}\x1b[0m")),
            None => out.push_str(&body),
        }
        if line.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

impl Printer {
    fn new(colour: bool, capture: Option<Mutex<(String, String)>>) -> Printer {
        Printer {
            secrets: Mutex::new(Vec::new()),
            verbose: Default::default(),
            colour,
            colour_out: Default::default(),
            capture,
            live: Mutex::new(Live::default()),
        }
    }

    pub fn set_verbose(&self, level: u8) {
        self.verbose.store(level, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn verbosity(&self) -> u8 {
        self.verbose.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// From now on, this value is replaced by `********` in everything printed.
    pub fn add_secret(&self, secret: &Secret) {
        if secret.expose().len() >= 4 {
            let mut known = self.secrets.lock().unwrap();
            if !known.iter().any(|k| k.expose() == secret.expose()) {
                known.push(secret.clone());
            }
        }
    }

    pub fn scrub(&self, text: &str) -> String {
        let mut out = text.to_string();
        for s in self.secrets.lock().unwrap().iter() {
            out = out.replace(s.expose(), REDACTED);
        }
        out
    }

    fn write(&self, to_stdout: bool, text: &str) {
        let text = self.scrub(text);
        if let Some(c) = &self.capture {
            let mut c = c.lock().unwrap();
            if to_stdout { &mut c.0 } else { &mut c.1 }.push_str(&text);
            return;
        }
        // A live block stays at the bottom: lifted before anything else is written, drawn again after.
        let mut live = self.live.lock().unwrap();
        let mut err = std::io::stderr().lock();
        let lifted = live.drawn > 0;
        if lifted {
            let _ = err.write_all(erase(live.drawn).as_bytes());
            live.drawn = 0;
        }
        if to_stdout {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(text.as_bytes());
            let _ = out.flush();
        } else {
            let _ = err.write_all(text.as_bytes());
        }
        if lifted {
            let block = block(&live.lines);
            let _ = err.write_all(block.as_bytes());
            live.drawn = live.lines.len();
        }
    }

    /// Whether stderr can show a live block: a terminal that understands cursor movement.
    pub fn live_supported(&self) -> bool {
        self.capture.is_none() && std::io::stderr().is_terminal() && std::env::var("TERM").map_or(true, |t| t != "dumb")
    }

    /// How many lines a live block may have: the terminal's height less one.
    pub fn live_rows(&self) -> usize {
        terminal_size::terminal_size_of(std::io::stderr()).map_or(24, |(_, h)| h.0 as usize).saturating_sub(1)
    }

    /// Show `lines` as the live block (in place of the one shown), each cut to the terminal's width.
    pub fn live_draw(&self, lines: Vec<String>) {
        let width = terminal_size::terminal_size_of(std::io::stderr()).map_or(100, |(w, _)| w.0 as usize).max(20);
        let lines: Vec<String> = lines.iter().map(|l| cut(&self.scrub(l), width - 1)).collect();
        let mut live = self.live.lock().unwrap();
        if live.paused {
            return;
        }
        if let Some(c) = &self.capture {
            c.lock().unwrap().1.push_str(&block(&lines));
            return;
        }
        let mut err = std::io::stderr().lock();
        let mut text = erase(live.drawn);
        text.push_str(&block(&lines));
        let _ = err.write_all(text.as_bytes());
        let _ = err.flush();
        live.drawn = lines.len();
        live.lines = lines;
    }

    /// End the live block: left on the screen as it is (`keep`) or removed; what follows goes below.
    pub fn live_end(&self, keep: bool) {
        let mut live = self.live.lock().unwrap();
        if !keep && live.drawn > 0 {
            let _ = std::io::stderr().lock().write_all(erase(live.drawn).as_bytes());
        }
        // A question still waiting keeps the block paused.
        *live = Live { paused: live.paused, ..Live::default() };
    }

    /// A result, on stdout.
    pub fn out(&self, text: &str) {
        self.write(true, text);
    }

    /// A plan or a diff on stdout: its change marks coloured when stdout is coloured.
    pub fn changes(&self, text: &str) {
        if self.colour_out.load(std::sync::atomic::Ordering::Relaxed) {
            // Scrub first: colour codes must never split a secret so that scrubbing misses it.
            self.out(&paint_changes(&self.scrub(text)));
        } else {
            self.out(text);
        }
    }

    /// A result as JSON, on stdout.
    pub fn json(&self, value: &serde_json::Value) {
        self.write(true, &(serde_json::to_string_pretty(value).unwrap_or_default() + "\n"));
    }

    /// A line on stderr (progress, a hook's output).
    pub fn line(&self, text: &str) {
        self.write(false, &format!("{text}\n"));
    }

    /// `note: ...` on stderr.
    pub fn note(&self, text: &str) {
        self.line(&format!("note: {text}"));
    }

    /// A line for `-v` (level 1) or `-vv` (2) only.
    pub fn detail(&self, level: u8, text: &str) {
        if self.verbosity() >= level {
            self.line(text);
        }
    }

    /// A question on stderr, and the line typed in answer (trimmed).
    pub fn ask(&self, question: &str) -> std::io::Result<String> {
        use std::io::BufRead;
        let _paused = self.live_paused();
        self.write(false, question);
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        Ok(line.trim().to_string())
    }

    /// Ends the live block where it is (kept on the screen) and draws no other until the guard is dropped:
    /// a question asked while layers are running is not drawn over.
    fn live_paused(&self) -> LivePaused<'_> {
        self.live_end(true);
        self.live.lock().unwrap().paused = true;
        LivePaused(self)
    }

    /// An error's diagnostics on stderr.
    pub fn errors(&self, err: &Error) {
        for d in &err.diagnostics {
            let text = d.to_string();
            let text = if self.colour { text.replacen("error:", "\x1b[1;31merror\x1b[0m:", 1) } else { text };
            self.write(false, &text);
        }
    }
}

/// Moves the cursor up over `lines` lines and clears from there to the end of the screen.
fn erase(lines: usize) -> String {
    if lines == 0 {
        String::new()
    } else {
        format!("\x1b[{lines}F\x1b[J")
    }
}

fn block(lines: &[String]) -> String {
    lines.iter().map(|l| format!("{l}\n")).collect()
}

/// At most `width` characters (a longer line would wrap and break the redraw).
fn cut(line: &str, width: usize) -> String {
    if line.chars().count() <= width {
        line.to_string()
    } else {
        line.chars().take(width.saturating_sub(1)).chain(std::iter::once('…')).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::Diagnostic;

    fn capturing(colour: bool) -> Printer {
        Printer::new(colour, Some(Mutex::new((String::new(), String::new()))))
    }

    fn captured(p: &Printer) -> (String, String) {
        p.capture.as_ref().unwrap().lock().unwrap().clone()
    }

    #[test]
    fn no_live_block_is_drawn_while_a_question_waits() {
        let p = capturing(false);
        p.live_draw(vec!["| db 1.0s creating".into()]);
        {
            let _asking = p.live_paused();
            p.live_draw(vec!["| db 1.5s creating".into()]);
        }
        p.live_draw(vec!["| db 2.0s creating".into()]);
        let (_, err) = captured(&p);
        assert!(err.contains("1.0s") && err.contains("2.0s"), "{err}");
        assert!(!err.contains("1.5s"), "drawn under the question: {err}");
    }

    #[test]
    fn every_path_scrubs_known_secrets() {
        let p = capturing(false);
        p.add_secret(&Secret::new("hunter2-canary"));
        p.add_secret(&Secret::new("abc")); // too short to scrub safely
        p.out("out hunter2-canary\n");
        p.json(&serde_json::json!({"v": "x hunter2-canary"}));
        p.line("line hunter2-canary");
        p.note("note hunter2-canary");
        p.set_verbose(1);
        p.detail(1, "detail hunter2-canary");
        p.detail(2, "hidden");
        p.errors(&Error::msg("failed with hunter2-canary"));
        p.live_draw(vec!["| db 3.0s updating  UPDATE_FAILED Db  password hunter2-canary rejected".into()]);
        let (out, err) = captured(&p);
        assert!(!out.contains("hunter2") && !err.contains("hunter2"), "{out}{err}");
        assert_eq!(out.matches(REDACTED).count(), 2);
        assert_eq!(err.matches(REDACTED).count(), 5, "{err}");
        assert!(err.contains("note: note ********") && !err.contains("hidden"));
        assert!(out.contains("\"v\": \"x ********\""));
    }

    #[test]
    fn change_marks_are_painted() {
        let t = paint_changes(
            "app: update\n  + New  AWS::SNS::Topic\n  ~ Db  AWS::RDS::DBInstance  REPLACEMENT\n  - Old\nplain",
        );
        assert!(t.contains("\x1b[32m  + New"), "{t:?}");
        assert!(t.contains("\x1b[33m  ~ Db") && t.contains("\x1b[1;31mREPLACEMENT"), "{t:?}");
        assert!(t.contains("\x1b[31m  - Old\x1b[0m\n"));
        assert!(t.starts_with("app: update\n") && t.ends_with("plain"));
        let capture = capturing(false);
        capture.changes("  + x\n");
        assert_eq!(captured(&capture).0, "  + x\n", "no colour unless stdout has it");
    }

    #[test]
    fn errors_are_coloured_only_when_asked() {
        let plain = capturing(false);
        plain.errors(&Error::config(Diagnostic::new("bad")));
        assert!(captured(&plain).1.starts_with("error: bad"));
        let coloured = capturing(true);
        coloured.errors(&Error::config(Diagnostic::new("bad")));
        assert!(captured(&coloured).1.starts_with("\x1b[1;31merror\x1b[0m: bad"));
    }
}
