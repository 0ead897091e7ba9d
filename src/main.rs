use clap::{CommandFactory, Parser};
use convlab::cli::{Cli, run};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    if cli.command.is_none() {
        // The lab window arrives with the GUI; until then, show what the CLI can do.
        let _ = Cli::command().print_help();
        return std::process::ExitCode::SUCCESS;
    }
    match run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}
