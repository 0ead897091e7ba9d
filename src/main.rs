use clap::Parser;
use convlab::cli::{Cli, run};
use convlab::ui::{LaunchOptions, run_app};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    if cli.command.is_none() {
        let options = LaunchOptions {
            file: cli.file,
            screenshot: cli.screenshot,
            screenshot_epochs: 3,
            // For comparing frame times: CONVLAB_SCREENSHOT_IDLE=1 takes the picture without training.
            screenshot_train: std::env::var_os("CONVLAB_SCREENSHOT_IDLE").is_none(),
        };
        return match run_app(options) {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: the window could not open: {e}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    match run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}
