//! Shared pieces of the Portcullis benchmarks (see BENCHMARKS.md): the
//! fixtures, the guests built for wasm, the same policies compiled natively,
//! and the Rego equivalent evaluated by regorus.

pub mod fixtures;
pub mod guests;
pub mod load;
pub mod native;
pub mod rego;

/// The repository root.
pub fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("benches/ has a parent")
        .to_owned()
}
