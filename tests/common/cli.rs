//! Running the `convlab` binary as a user at a terminal does, and a fresh scratch folder
//! per test.

use std::path::PathBuf;
use std::process::Command;

/// Runs `convlab ARGS…`: whether it succeeded, its stdout and its stderr.
pub fn convlab(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_convlab"))
        .args(args)
        .output()
        .expect("run convlab");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// An empty folder under the system's temp folder, named after the test binary's `kind`
/// and `name` and this process (so parallel test runs do not meet).
pub fn scratch(kind: &str, name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("convlab-{kind}-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
