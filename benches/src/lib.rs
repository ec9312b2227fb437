//! Shared pieces of the Portcullis benchmarks (see BENCHMARKS.md): the
//! fixtures, the guests built for wasm, the same policies compiled natively,
//! the Rego equivalent evaluated by regorus, the Cedar equivalent, and the
//! server the two rivals answer Docker from.

pub mod cedar;
pub mod estimates;
pub mod fixtures;
pub mod guests;
pub mod load;
pub mod native;
pub mod rego;
pub mod rival;

/// The repository root.
pub fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("benches/ has a parent")
        .to_owned()
}
