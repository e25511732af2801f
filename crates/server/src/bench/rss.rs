//! Resident memory, as Linux reports it in `/proc/<pid>/status`.
//!
//! Where a benchmark runs the server in its own process, the figures of
//! `self` are the server's memory plus the load generator's (which reads
//! answers as a stream and keeps nothing of them); [`process_mb`] reads a
//! server started as its own process.

/// Starts a new peak: Linux resets `VmHWM` to the current resident size
/// when `5` is written to `clear_refs`.
pub fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// The highest resident size since the start or the last [`reset_peak`], MB.
pub fn peak_mb() -> Option<f64> {
    status_mb("self", "VmHWM:")
}

/// The resident size now, MB.
pub fn current_mb() -> Option<f64> {
    status_mb("self", "VmRSS:")
}

/// The resident size of process `pid` now, kB.
pub fn process_kb(pid: u32) -> Option<f64> {
    status_kb(&pid.to_string(), "VmRSS:")
}

fn status_mb(process: &str, field: &str) -> Option<f64> {
    Some((status_kb(process, field)? / 1024.0 * 10.0).round() / 10.0)
}

fn status_kb(process: &str, field: &str) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{process}/status")).ok()?;
    status.lines().find(|l| l.starts_with(field))?.split_whitespace().nth(1)?.parse().ok()
}
