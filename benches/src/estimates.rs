//! Criterion's estimates of the current run, read back from its output
//! directory (`$CRITERION_HOME`, else `<target dir>/criterion`, as criterion
//! picks it), for the summaries the benchmarks print at the end.

use std::path::PathBuf;
use std::time::SystemTime;

use serde::Deserialize;

use crate::guests;

/// The estimates criterion wrote since a moment (earlier runs' files are
/// ignored, and so is everything in `cargo test --benches`, which writes none).
pub struct Estimates {
    dir: PathBuf,
    since: SystemTime,
}

#[derive(Deserialize)]
struct EstimatesFile {
    median: Estimate,
}

#[derive(Deserialize)]
struct Estimate {
    /// Nanoseconds.
    point_estimate: f64,
}

impl Estimates {
    /// Estimates written from `since` on.
    pub fn since(since: SystemTime) -> Estimates {
        let dir = std::env::var_os("CRITERION_HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| guests::target_dir().join("criterion"));
        Estimates { dir, since }
    }

    /// Criterion's median for `group/function` in µs, if this run measured it.
    pub fn median_us(&self, group: &str, function: &str) -> Option<f64> {
        let path = self
            .dir
            .join(group)
            .join(function)
            .join("new/estimates.json");
        let modified = std::fs::metadata(&path).and_then(|m| m.modified()).ok()?;
        if modified < self.since {
            return None;
        }
        let file: EstimatesFile = serde_json::from_slice(&std::fs::read(&path).ok()?).ok()?;
        Some(file.median.point_estimate / 1000.0)
    }
}
