//! The benchmarked wasm modules, built from `guests/` exactly as the tests
//! and `.ci/serve` build them.

use std::path::PathBuf;

#[path = "../../tests/guest_build.rs"]
mod guest_build;

/// The cargo target directory (`CARGO_TARGET_DIR`, else `target/`).
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::repo_root().join("target"))
}

/// Builds every guest for wasm32-wasip1 (release) and returns the directory
/// of the `.wasm` files, which the chains under `benches/chains/` name.
pub fn build() -> anyhow::Result<PathBuf> {
    guest_build::build_guests(&crate::repo_root(), &target_dir()).map_err(anyhow::Error::msg)
}

/// A benchmark chain config under `benches/chains/` (e.g. `"three"`).
pub fn chain_config(name: &str) -> PathBuf {
    crate::repo_root()
        .join("benches/chains")
        .join(format!("{name}.toml"))
}
