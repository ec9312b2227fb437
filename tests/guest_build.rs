//! Builds every crate under `guests/` for wasm32-wasip1 in release, with the
//! cargo that runs this program. Shared, through `#[path]`, by the
//! integration tests and the benchmarks, so both measure the same modules.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs `cargo build --release --target wasm32-wasip1 -p <guest>…` in
/// `repo_root` and returns the directory holding the `.wasm` files.
pub fn build_guests(repo_root: &Path, target_dir: &Path) -> Result<PathBuf, String> {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command
        .current_dir(repo_root)
        .env("CARGO_TARGET_DIR", target_dir)
        .args(["build", "--release", "--target", "wasm32-wasip1"]);
    let guests = std::fs::read_dir(repo_root.join("guests")).map_err(|e| e.to_string())?;
    for entry in guests {
        let name = entry.map_err(|e| e.to_string())?.file_name();
        command.arg("-p").arg(name);
    }
    let output = command
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "cargo build --target wasm32-wasip1 failed (is the target installed? `rustup target add wasm32-wasip1`):\n{}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(target_dir.join("wasm32-wasip1/release"))
}
