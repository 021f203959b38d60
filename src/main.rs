use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = match stackc::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match stackc::commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let stderr = std::io::stderr();
            let colour = stderr.is_terminal() && std::env::var_os("NO_COLOR").is_none();
            let mut out = stderr.lock();
            for d in &err.diagnostics {
                let text = d.to_string();
                let text = if colour { text.replacen("error:", "\x1b[1;31merror\x1b[0m:", 1) } else { text };
                let _ = write!(out, "{text}");
            }
            ExitCode::from(err.kind.code() as u8)
        }
    }
}
