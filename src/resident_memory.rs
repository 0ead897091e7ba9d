//! How much memory this process holds in RAM (its resident set), for soak reports and the
//! window's frame overlay. Linux reads `/proc/self/status`; elsewhere the answer is `None`.

/// Bytes of the resident set now, if the platform tells.
pub fn resident_bytes() -> Option<u64> {
    status_kib("VmRSS:").map(|kib| kib * 1024)
}

/// Bytes of the largest resident set so far, if the platform tells.
pub fn peak_resident_bytes() -> Option<u64> {
    status_kib("VmHWM:").map(|kib| kib * 1024)
}

/// Mebibytes for people: `Some(12.5)`.
pub fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_kib(&status, field)
}

fn parse_kib(status: &str, field: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with(field))?;
    line[field.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_kib_fields_of_proc_status() {
        let status = "Name:\tconvlab\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\n";
        assert_eq!(parse_kib(status, "VmRSS:"), Some(102_400));
        assert_eq!(parse_kib(status, "VmHWM:"), Some(204_800));
        assert_eq!(parse_kib(status, "VmSwap:"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_has_a_resident_set() {
        let now = resident_bytes().expect("Linux reports VmRSS");
        let peak = peak_resident_bytes().expect("Linux reports VmHWM");
        assert!(now > 0 && peak >= now);
    }
}
