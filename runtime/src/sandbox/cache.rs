//! The on-disk cache of compiled modules, consulted when a module is loaded
//! (never on the request path): a restart deserializes what an earlier
//! process compiled instead of compiling every module again.
//!
//! Loading a cached file is loading native code, so the cache trusts only
//! what could have come from this uid: a directory and files owned by the
//! effective uid and writable by nobody else, files written whole (temp
//! file, fsync, rename) so none is ever seen half-written or changed in
//! place. Everything else is refused, and any file that fails to load is
//! removed and compiled again: the cache can cost time, never correctness.

use std::fs::{self, File, Metadata, OpenOptions};
use std::hash::{Hash as _, Hasher};
use std::io::{self, Write as _};
use std::os::unix::fs::{DirBuilderExt as _, MetadataExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::Digest as _;
use wasmtime::{Engine, Module};

/// A directory of compiled modules, `<sha256 of the source>-<engine>.cwasm`.
///
/// Invariant: `dir` was, when opened, a real directory (not a symlink)
/// owned by the effective uid and not writable by group or others.
pub(crate) struct CompileCache {
    dir: PathBuf,
}

impl CompileCache {
    /// Opens `dir` (creating it and its parents, mode 0700, if missing),
    /// refusing a directory that someone else could write compiled code into.
    pub(crate) fn open(dir: &Path) -> io::Result<CompileCache> {
        // Without a trailing slash, so that a symlink is seen as one.
        let dir: PathBuf = dir.components().collect();
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|e| io::Error::new(e.kind(), format!("cache dir {}: {e}", dir.display())))?;
        let meta = fs::symlink_metadata(&dir)?;
        if meta.file_type().is_symlink() {
            return Err(refusal(format!(
                "cache dir {} is a symlink: refusing to load compiled code from it",
                dir.display()
            )));
        }
        if !meta.is_dir() {
            return Err(refusal(format!(
                "cache dir {} is not a directory",
                dir.display()
            )));
        }
        check_private("cache dir", &dir, &meta).map_err(refusal)?;
        Ok(CompileCache { dir })
    }

    /// The module compiled from the source whose SHA-256 is `digest` (hex)
    /// by an engine configured like `engine`, if the cache holds a sound one.
    /// A file that is there but cannot be used is logged and removed.
    pub(crate) fn load(&self, engine: &Engine, digest: &str) -> Option<Module> {
        let path = self.path_of(engine, digest);
        match self.read(engine, &path) {
            Ok(module) => module,
            Err(reason) => {
                tracing::warn!(
                    target: "portcullis::cache",
                    path = %path.display(),
                    "not using cached module, compiling it again: {reason}"
                );
                let _ = fs::remove_file(&path);
                None
            }
        }
    }

    /// Keeps `module`, compiled from the source whose SHA-256 is `digest`,
    /// for later processes. Failure is logged and otherwise ignored: a cache
    /// that cannot be written only costs compile time.
    pub(crate) fn store(&self, digest: &str, module: &Module) {
        let path = self.path_of(module.engine(), digest);
        if let Err(err) = self.write(&path, module) {
            tracing::warn!(
                target: "portcullis::cache",
                path = %path.display(),
                "cannot cache compiled module: {err}"
            );
        }
    }

    /// Where the module of `digest` compiled by `engine` is kept: the
    /// engine's part of the name keeps another wasmtime version or engine
    /// config from ever opening this one's files.
    fn path_of(&self, engine: &Engine, digest: &str) -> PathBuf {
        let mut hasher = Sha256Hasher(sha2::Sha256::new());
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let compat = hasher.finish();
        self.dir.join(format!("{digest}-{compat:016x}.cwasm"))
    }

    /// The module at `path`; `Ok(None)` if there is none.
    fn read(&self, engine: &Engine, path: &Path) -> Result<Option<Module>, String> {
        // Checked on the open file, not the path, so the file checked is the
        // file loaded. Not following a symlink; not blocking on a FIFO.
        let file = match OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(path)
        {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("cannot open: {e}")),
        };
        let meta = file.metadata().map_err(|e| format!("cannot stat: {e}"))?;
        if !meta.is_file() {
            return Err("not a regular file".into());
        }
        check_private("file", path, &meta)?;
        deserialize(engine, file)
            .map(Some)
            .map_err(|e| format!("{e:#}"))
    }

    /// Writes `module` to `path` whole: a private temp file in the same
    /// directory, synced, then renamed over `path`. A module already loaded
    /// from `path` keeps its own (unchanged) file.
    fn write(&self, path: &Path, module: &Module) -> Result<(), String> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let bytes = module
            .serialize()
            .map_err(|e| format!("cannot serialize: {e:#}"))?;
        let tmp = self.dir.join(format!(
            ".tmp-{}-{}.cwasm",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let written = (|| {
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&tmp)?;
            file.write_all(&bytes)?;
            file.sync_all()?;
            fs::rename(&tmp, path)
        })();
        written.map_err(|e| {
            let _ = fs::remove_file(&tmp);
            e.to_string()
        })
    }
}

/// Maps `file` as a compiled module of `engine`.
fn deserialize(engine: &Engine, file: File) -> wasmtime::Result<Module> {
    // SAFETY: wasmtime runs the file's code unchecked, and maps it, so it
    // must be a module wasmtime wrote that never changes while mapped. It
    // is: `read` opened it (no symlink) in a directory that only our uid can
    // write to and checked the open file itself is a regular file owned by
    // us and writable by nobody else; such files are only ever written by
    // `write`, which serializes a module compiled by this process and
    // renames it into place whole, never modifying an existing file. A
    // file from another wasmtime version or engine config has another name
    // (`path_of`), and wasmtime checks the compatibility header itself,
    // returning an error on a mismatch.
    #[allow(unsafe_code)]
    unsafe {
        Module::deserialize_open_file(engine, file)
    }
}

/// Why a path is not trusted with compiled code, if it is not: owned by
/// another uid, or writable by group or others.
fn check_private(what: &str, path: &Path, meta: &Metadata) -> Result<(), String> {
    let euid = effective_uid();
    if meta.uid() != euid {
        return Err(format!(
            "{what} {} is owned by uid {}, not by uid {euid} running Portcullis: \
             refusing to load compiled code from it",
            path.display(),
            meta.uid()
        ));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(format!(
            "{what} {} is writable by group or others (mode {:o}): \
             refusing to load compiled code from it",
            path.display(),
            meta.mode() & 0o7777
        ));
    }
    Ok(())
}

/// A refusal of the cache directory, for [`CompileCache::open`].
fn refusal(reason: String) -> io::Error {
    io::Error::new(io::ErrorKind::PermissionDenied, reason)
}

/// The uid whose files are trusted.
fn effective_uid() -> u32 {
    // SAFETY: geteuid has no preconditions, touches no memory and cannot fail.
    #[allow(unsafe_code)]
    unsafe {
        libc::geteuid()
    }
}

/// Feeds a `Hash` value to SHA-256, which (unlike `DefaultHasher`) names
/// the same engine the same way in every build of Portcullis.
struct Sha256Hasher(sha2::Sha256);

impl Hasher for Sha256Hasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// The first 8 bytes of the digest so far, big-endian.
    fn finish(&self) -> u64 {
        self.0
            .clone()
            .finalize()
            .iter()
            .take(8)
            .fold(0, |acc, byte| acc << 8 | u64::from(*byte))
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;
    use crate::sandbox::sha256_hex;

    const WAT: &str = r#"(module (func (export "f") (result i32) i32.const 7))"#;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().mode() & 0o777
    }

    fn chmod(path: &Path, mode: u32) {
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    }

    fn exports(module: &Module) -> Vec<String> {
        module.exports().map(|e| e.name().to_owned()).collect()
    }

    /// A cache in a fresh directory, a default engine and the test module
    /// stored in it; the temp dir goes when the test ends.
    fn stored() -> (tempfile::TempDir, CompileCache, Engine, String, PathBuf) {
        let tmp = tempfile::tempdir().unwrap();
        let cache = CompileCache::open(&tmp.path().join("a/cache")).unwrap();
        let engine = Engine::default();
        let digest = sha256_hex(WAT.as_bytes());
        let module = Module::new(&engine, WAT).unwrap();
        cache.store(&digest, &module);
        let path = cache.path_of(&engine, &digest);
        (tmp, cache, engine, digest, path)
    }

    #[test]
    fn stored_module_loads_back_private_and_working() {
        let (_tmp, cache, engine, digest, path) = stored();
        assert_eq!(mode(&cache.dir), 0o700);
        assert_eq!(mode(&path), 0o600);
        let name = path.file_name().unwrap().to_str().unwrap();
        assert!(name.starts_with(&format!("{digest}-")) && name.ends_with(".cwasm"));

        let module = cache.load(&engine, &digest).expect("cached module");
        assert_eq!(exports(&module), ["f"]);
        let mut store = wasmtime::Store::new(&engine, ());
        let instance = wasmtime::Instance::new(&mut store, &module, &[]).unwrap();
        let f = instance.get_typed_func::<(), i32>(&mut store, "f").unwrap();
        assert_eq!(f.call(&mut store, ()).unwrap(), 7);
        // Nothing left behind but the module.
        assert_eq!(fs::read_dir(&cache.dir).unwrap().count(), 1);
    }

    #[test]
    fn missing_module_is_not_found() {
        let (_tmp, cache, engine, _, _) = stored();
        assert!(cache.load(&engine, &sha256_hex(b"other")).is_none());
    }

    #[test]
    fn corrupt_file_is_not_loaded_and_removed() {
        let (_tmp, cache, engine, digest, path) = stored();
        fs::write(&path, b"not a compiled module").unwrap();
        assert!(cache.load(&engine, &digest).is_none());
        assert!(!path.exists());
    }

    #[test]
    fn group_writable_dir_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("cache");
        fs::create_dir(&dir).unwrap();
        chmod(&dir, 0o770);
        let err = CompileCache::open(&dir).err().expect("refused");
        assert_eq!(err.kind(), io::ErrorKind::PermissionDenied);
        assert!(
            err.to_string().contains("writable by group or others"),
            "{err}"
        );
    }

    #[test]
    fn symlinked_dir_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let real = tmp.path().join("real");
        fs::create_dir(&real).unwrap();
        chmod(&real, 0o700);
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let err = CompileCache::open(&link).err().expect("refused");
        assert!(err.to_string().contains("symlink"), "{err}");
        // Also when named with a trailing slash.
        let slash = PathBuf::from(format!("{}/", link.display()));
        assert!(CompileCache::open(&slash).is_err());
    }

    #[test]
    fn world_writable_file_is_not_loaded() {
        let (_tmp, cache, engine, digest, path) = stored();
        chmod(&path, 0o666);
        assert!(cache.load(&engine, &digest).is_none());
        assert!(!path.exists());
    }

    #[test]
    fn file_or_dir_of_another_uid_is_refused() {
        if effective_uid() != 0 {
            eprintln!("skipped: only root can give a file away");
            return;
        }
        let (_tmp, cache, engine, digest, path) = stored();
        std::os::unix::fs::chown(&path, Some(65534), None).unwrap();
        assert!(cache.load(&engine, &digest).is_none());
        assert!(!path.exists());

        std::os::unix::fs::chown(&cache.dir, Some(65534), None).unwrap();
        let err = CompileCache::open(&cache.dir).err().expect("refused");
        assert!(err.to_string().contains("owned by uid 65534"), "{err}");
    }

    #[test]
    fn symlinked_file_is_not_loaded() {
        let (_tmp, cache, engine, digest, path) = stored();
        let real = cache.dir.join("real.cwasm");
        fs::rename(&path, &real).unwrap();
        std::os::unix::fs::symlink(&real, &path).unwrap();
        assert!(cache.load(&engine, &digest).is_none());
        assert!(real.exists(), "only the link is removed");
    }

    #[test]
    fn other_engine_config_never_reads_the_file() {
        let (_tmp, cache, default_engine, digest, default_path) = stored();
        let mut config = wasmtime::Config::new();
        config.consume_fuel(true);
        let fuel_engine = Engine::new(&config).unwrap();
        let fuel_path = cache.path_of(&fuel_engine, &digest);
        assert_ne!(fuel_path, default_path);

        assert!(cache.load(&fuel_engine, &digest).is_none());
        assert!(default_path.exists(), "another engine's file is left alone");

        cache.store(&digest, &Module::new(&fuel_engine, WAT).unwrap());
        assert!(cache.load(&fuel_engine, &digest).is_some());
        assert!(cache.load(&default_engine, &digest).is_some());
    }

    #[test]
    fn incompatible_file_under_our_name_is_refused_by_wasmtime() {
        // As if the names collided: wasmtime's own header check still holds.
        let (_tmp, cache, default_engine, digest, default_path) = stored();
        let mut config = wasmtime::Config::new();
        config.consume_fuel(true);
        let fuel_engine = Engine::new(&config).unwrap();
        let fuel_path = cache.path_of(&fuel_engine, &digest);
        fs::rename(&default_path, &fuel_path).unwrap();
        assert!(cache.load(&fuel_engine, &digest).is_none());
        assert!(!fuel_path.exists());
        assert!(cache.load(&default_engine, &digest).is_none());
    }
}
