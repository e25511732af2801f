//! The process's resident memory, as Linux reports it in `/proc/self/status`.
//!
//! The benchmarks run the server in-process, so these figures are the
//! server's memory plus the load generator's (which reads answers as a
//! stream and keeps nothing of them).

/// Starts a new peak: Linux resets `VmHWM` to the current resident size
/// when `5` is written to `clear_refs`.
pub fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// The highest resident size since the start or the last [`reset_peak`], MB.
pub fn peak_mb() -> Option<f64> {
    status_mb("VmHWM:")
}

/// The resident size now, MB.
pub fn current_mb() -> Option<f64> {
    status_mb("VmRSS:")
}

fn status_mb(field: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib: f64 = status.lines().find(|l| l.starts_with(field))?.split_whitespace().nth(1)?.parse().ok()?;
    Some((kib / 1024.0 * 10.0).round() / 10.0)
}
