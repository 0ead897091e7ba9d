//! Writing a file so that a crash, a kill or a full disk never leaves it half-written: the
//! bytes go to a hidden temporary file beside the target (`.<name>.tmp-<pid>`), which is
//! flushed to disk and then renamed over the target.
//!
//! A writer killed before its rename leaves its temporary file behind. The next write to
//! the same target removes such leftovers once their process is gone (on Linux, checked in
//! `/proc`; elsewhere, once they are an hour old), so they do not pile up.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where other systems cannot tell whether a process lives, leftovers this old are stale.
const STALE_AFTER: Duration = Duration::from_secs(3600);

/// Writes `bytes` to `path` atomically (see the module documentation).
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let (dir, name) = split(path)?;
    remove_stale_temporaries(dir, &name);
    let tmp = dir.join(temporary_name(&name, std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        // Make the rename itself durable; a folder that cannot be synced is not an error.
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// The temporary files of writers to `dir/name` that were killed before their rename.
pub fn stale_temporaries(dir: &Path, name: &str) -> Vec<PathBuf> {
    let prefix = temporary_prefix(name);
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let file_name = e.file_name();
            let pid: u32 = file_name.to_str()?.strip_prefix(&prefix)?.parse().ok()?;
            let stale = if pid == std::process::id() {
                false
            } else if cfg!(target_os = "linux") {
                !Path::new(&format!("/proc/{pid}")).exists()
            } else {
                e.metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.elapsed().ok())
                    .is_some_and(|age| age > STALE_AFTER)
            };
            stale.then(|| e.path())
        })
        .collect()
}

fn remove_stale_temporaries(dir: &Path, name: &str) {
    for path in stale_temporaries(dir, name) {
        let _ = std::fs::remove_file(path);
    }
}

fn temporary_prefix(name: &str) -> String {
    format!(".{name}.tmp-")
}

fn temporary_name(name: &str, pid: u32) -> String {
    format!("{}{pid}", temporary_prefix(name))
}

fn split(path: &Path) -> std::io::Result<(&Path, String)> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file name"))?;
    Ok((dir, name.to_string_lossy().into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("convlab-atomic-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn writes_replace_the_target_and_leave_nothing_else() {
        let dir = scratch("write");
        let target = dir.join("model.bin");
        write_atomically(&target, b"first").unwrap();
        write_atomically(&target, b"second").unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"second");
        let names: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().collect();
        assert_eq!(names.len(), 1);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn leftovers_of_dead_writers_are_removed_and_live_ones_kept() {
        let dir = scratch("stale");
        let target = dir.join("model.bin");
        // Process ids above the kernel's maximum (4194304) never belong to a process.
        let dead = dir.join(temporary_name("model.bin", 4_194_305));
        let ours = dir.join(temporary_name("model.bin", std::process::id()));
        let alive = dir.join(temporary_name("model.bin", 1));
        let other_target = dir.join(temporary_name("other.bin", 4_194_305));
        for p in [&dead, &ours, &alive, &other_target] {
            std::fs::write(p, b"partial").unwrap();
        }
        assert_eq!(stale_temporaries(&dir, "model.bin"), vec![dead.clone()]);
        write_atomically(&target, b"whole").unwrap();
        assert!(!dead.exists(), "the dead writer's leftover is removed");
        assert!(alive.exists(), "a living process's file is left alone");
        assert!(other_target.exists(), "another target's file is left alone");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
