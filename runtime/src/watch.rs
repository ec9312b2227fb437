//! Reload when plugin.toml or a module file it lists changes (`[plugin]
//! watch`, on by default).
//!
//! Each file's directory is watched, not the file: editors save by
//! renaming a new file over the old, and `cargo build` hard-links a fresh
//! one, so the file's inode changes under a file watch. Only changes count
//! (created, written, renamed, removed), never reads: a reload reads every
//! watched file, and must not trigger the next. Changes are settled: a
//! reload starts only once no watched file has changed for [`SETTLE`], so
//! an editor's save or a `cargo build` that rewrites several modules gives
//! one reload, and a file still being written is not read. Should a
//! half-written file be read anyway, its reload fails and the old chain
//! serves until the write's last event brings the next reload.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher as _};

use crate::config::Config;
use crate::reload::LiveChain;

/// A reload starts once no watched file has changed for this long.
const SETTLE: Duration = Duration::from_millis(400);

/// The watched files, by their directory (canonical) and name.
type Watched = BTreeSet<(PathBuf, OsString)>;

/// Starts the watch thread for `live`'s config and modules. The watch
/// stops when the process does.
pub fn spawn(live: Arc<LiveChain>) -> anyhow::Result<()> {
    let (events, received) = channel::<notify::Result<Event>>();
    let mut watcher = notify::recommended_watcher(events)?;
    let mut watched = Watched::new();
    let mut dirs = BTreeSet::new();
    refresh(&mut watcher, live.config_path(), &mut watched, &mut dirs);
    std::thread::Builder::new()
        .name("portcullis-watch".into())
        .spawn(move || run(&live, watcher, &received, watched, dirs))?;
    Ok(())
}

fn run(
    live: &LiveChain,
    mut watcher: RecommendedWatcher,
    received: &Receiver<notify::Result<Event>>,
    mut watched: Watched,
    mut dirs: BTreeSet<PathBuf>,
) {
    while let Ok(event) = received.recv() {
        if !changes(&event, &watched) {
            continue;
        }
        // Settle: wait out further changes to watched files.
        let mut deadline = Instant::now() + SETTLE;
        loop {
            match received.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(more) if changes(&more, &watched) => deadline = Instant::now() + SETTLE,
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
        tracing::info!(target: "portcullis::reload", "watched file changed: reloading the chain");
        let _ = live.reload_and_log();
        // The new config may name other files (or the same ones, moved).
        refresh(&mut watcher, live.config_path(), &mut watched, &mut dirs);
    }
}

/// Whether `event` changes a watched file (reads and metadata do not).
fn changes(event: &notify::Result<Event>, watched: &Watched) -> bool {
    match event {
        Ok(event) => {
            let change = match event.kind {
                EventKind::Create(_) | EventKind::Remove(_) | EventKind::Any => true,
                EventKind::Modify(kind) => !matches!(kind, notify::event::ModifyKind::Metadata(_)),
                EventKind::Access(_) | EventKind::Other => false,
            };
            change
                && event
                    .paths
                    .iter()
                    .any(|path| key(path).is_some_and(|k| watched.contains(&k)))
        }
        Err(err) => {
            tracing::warn!(target: "portcullis::reload", "file watch error: {err}");
            false
        }
    }
}

/// Re-reads the config for the files to watch, and watches their
/// directories. A config that does not parse keeps the current set (plus
/// the config itself, whose next save must still be seen).
fn refresh(
    watcher: &mut RecommendedWatcher,
    config_path: &Path,
    watched: &mut Watched,
    dirs: &mut BTreeSet<PathBuf>,
) {
    let mut files = vec![config_path.to_owned()];
    if let Ok(config) = Config::load(config_path) {
        files.extend(config.modules.into_iter().map(|m| m.path));
        watched.clear();
    }
    for file in files {
        let Some(key) = key(&file) else {
            tracing::warn!(target: "portcullis::reload", "cannot watch {}: its directory is not readable", file.display());
            continue;
        };
        warn_if_others_may_write(&file);
        if !dirs.contains(&key.0) {
            match watcher.watch(&key.0, RecursiveMode::NonRecursive) {
                Ok(()) => {
                    dirs.insert(key.0.clone());
                }
                Err(err) => tracing::warn!(
                    target: "portcullis::reload",
                    "cannot watch {}: {err}",
                    key.0.display()
                ),
            }
        }
        watched.insert(key);
    }
}

/// The watch turns a write into a policy change: say so when a watched file
/// (or its directory) is writable by group or others.
fn warn_if_others_may_write(file: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = file.parent().filter(|d| !d.as_os_str().is_empty());
    for path in [Some(file), dir].into_iter().flatten() {
        if let Ok(meta) = std::fs::metadata(path)
            && meta.permissions().mode() & 0o022 != 0
        {
            tracing::warn!(
                target: "portcullis::reload",
                "{} is writable by group or others, and the watch reloads what is written there: \
                 make it writable by its owner only, or set watch = false",
                path.display()
            );
        }
    }
}

/// A file's canonical directory and its name: how events are matched to
/// watched files whatever path spelled them.
fn key(file: &Path) -> Option<(PathBuf, OsString)> {
    let name = file.file_name()?.to_owned();
    let dir = match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    Some((dir.canonicalize().ok()?, name))
}
