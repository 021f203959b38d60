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
            stackc::commands::printer().errors(&err);
            ExitCode::from(err.kind.code() as u8)
        }
    }
}
