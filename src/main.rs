use std::process::ExitCode;

use clap::Parser;

/// A runaway allocation ends with a sentence and exit 1, not an abort.
#[global_allocator]
static ALLOCATOR: stackc::edge::memory::Bounded = stackc::edge::memory::Bounded;

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
            stackc::commands::printer().errors(&err);
            ExitCode::from(err.kind.code() as u8)
        }
    }
}
