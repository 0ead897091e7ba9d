use clap::Parser;
use convlab::cli::{Cli, report, run};
use convlab::ui::{LaunchOptions, run_app};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    if cli.command.is_none() {
        let options = LaunchOptions {
            file: cli.file,
            screenshot: cli.screenshot,
            screenshot_epochs: std::env::var("CONVLAB_SCREENSHOT_EPOCHS")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(3),
            // For comparing frame times: CONVLAB_SCREENSHOT_IDLE=1 takes the picture without training.
            screenshot_train: std::env::var_os("CONVLAB_SCREENSHOT_IDLE").is_none(),
            // CONVLAB_VIEW=activations|filters|gradients|pool-routing|lecture|receptive-field|
            // covariance|saliency|top-patches|anomaly|segmentation opens that tab.
            view: std::env::var("CONVLAB_VIEW").ok(),
            // CONVLAB_STEP=N enters walkthrough step N (running the actions up to it).
            walkthrough_step: std::env::var("CONVLAB_STEP")
                .ok()
                .and_then(|v| v.parse().ok()),
            presenter: std::env::var_os("CONVLAB_PRESENTER").is_some(),
            // CONVLAB_SOAK_MINUTES=30 trains unattended, logging frame times and memory to
            // CONVLAB_SOAK_LOG (default convlab-soak.jsonl), then closes.
            soak: std::env::var("CONVLAB_SOAK_MINUTES")
                .ok()
                .and_then(|v| v.parse::<f64>().ok())
                .filter(|m| m.is_finite() && *m > 0.0)
                .map(|m| {
                    let log = std::env::var_os("CONVLAB_SOAK_LOG")
                        .map_or_else(|| "convlab-soak.jsonl".into(), std::path::PathBuf::from);
                    (std::time::Duration::from_secs_f64(m * 60.0), log)
                }),
            // Set by `run_app` to eframe's storage folder.
            recovery_file: None,
            recovery_wait: None,
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
        Err(error) => {
            eprintln!("error: {}", report(&error));
            std::process::ExitCode::FAILURE
        }
    }
}
