//! Mount option strings (`nosuid,size=1m,bind`) read the way the daemon
//! reads them: moby's `github.com/moby/sys/mount` (`parseOptions`,
//! `MergeTmpfsOptions`; the same table in dockerd 20.10, 26.1 and 28.5).
//!
//! The string is split on every `,` and nothing else: no entry is trimmed,
//! lower-cased or unescaped. An entry that is exactly one of
//! [`MOUNT_FLAGS`] becomes a `mount(2)` flag; every other entry (` bind`,
//! `Bind`, `defaults`, `size=1m`, `""`) is handed to the filesystem as its
//! data, byte for byte. So ` bind` is not a bind: it is a word the kernel
//! gives the filesystem named by `type`, and most filesystems refuse it,
//! but some (debugfs) ignore unknown words and mount anyway.

/// The entries moby's mount package turns into `mount(2)` flags
/// (`flags_unix.go`'s table without `defaults`, whose flag is 0: it is
/// passed on as data).
pub const MOUNT_FLAGS: [&str; 32] = [
    "ro",
    "rw",
    "suid",
    "nosuid",
    "dev",
    "nodev",
    "exec",
    "noexec",
    "sync",
    "async",
    "dirsync",
    "remount",
    "mand",
    "nomand",
    "atime",
    "noatime",
    "diratime",
    "nodiratime",
    "bind",
    "rbind",
    "unbindable",
    "runbindable",
    "private",
    "rprivate",
    "shared",
    "rshared",
    "slave",
    "rslave",
    "relatime",
    "norelatime",
    "strictatime",
    "nostrictatime",
];

/// The flags that set a mount's propagation (with `bind` and `rbind`,
/// moby's `propagationFlags`).
pub const PROPAGATION_FLAGS: [&str; 8] = [
    "unbindable",
    "runbindable",
    "private",
    "rprivate",
    "shared",
    "rshared",
    "slave",
    "rslave",
];

/// The `key=value` entries moby accepts in a tmpfs option string
/// (`validFlags`; the empty key is in moby's table too).
pub const TMPFS_DATA_KEYS: [&str; 8] = [
    "",
    "size",
    "mode",
    "uid",
    "gid",
    "nr_inodes",
    "nr_blocks",
    "mpol",
];

/// A mount option string taken apart as moby's `parseOptions` does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MountOptions<'a> {
    /// The entries that are `mount(2)` flags, in order.
    pub flags: Vec<&'a str>,
    /// Every other entry, as written: what the filesystem receives, joined
    /// by `,`.
    pub data: Vec<&'a str>,
}

impl<'a> MountOptions<'a> {
    /// Splits `options` on every `,`; an entry is a flag only when it is
    /// exactly one of [`MOUNT_FLAGS`].
    pub fn parse(options: &'a str) -> Self {
        let mut parsed = MountOptions::default();
        for entry in options.split(',') {
            if MOUNT_FLAGS.contains(&entry) {
                parsed.flags.push(entry);
            } else {
                parsed.data.push(entry);
            }
        }
        parsed
    }

    /// Whether `flag` is among the flags.
    pub fn has_flag(&self, flag: &str) -> bool {
        self.flags.contains(&flag)
    }

    /// Whether the mount is a bind (`bind` or `rbind`): the kernel then
    /// ignores the filesystem type and the data.
    pub fn binds(&self) -> bool {
        self.has_flag("bind") || self.has_flag("rbind")
    }

    /// Whether the mount is read-only: the last of `ro` and `rw` wins.
    pub fn read_only(&self) -> bool {
        self.flags
            .iter()
            .rev()
            .find(|flag| matches!(**flag, "ro" | "rw"))
            .is_some_and(|flag| *flag == "ro")
    }

    /// The data string the filesystem receives (`""`: none).
    pub fn data_string(&self) -> String {
        self.data.join(",")
    }
}

/// Why the daemon refuses a tmpfs option string when it starts the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TmpfsOptionError {
    /// The entry it refused, as written.
    pub entry: String,
}

impl std::fmt::Display for TmpfsOptionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid tmpfs option {:?}", self.entry)
    }
}

impl std::error::Error for TmpfsOptionError {}

/// The entries of a tmpfs option string (`HostConfig.Tmpfs` values, and
/// what the daemon makes of `Mounts[].TmpfsOptions`), checked as moby's
/// `MergeTmpfsOptions` checks them when the container starts: each entry
/// is a mount flag (any of [`MOUNT_FLAGS`], `bind` and `remount`
/// included), `defaults`, or `key=value` with a key of
/// [`TMPFS_DATA_KEYS`]. The daemon puts `noexec,nosuid,nodev,rprivate`
/// before these entries; later entries win.
pub fn tmpfs_entries(options: &str) -> Result<Vec<&str>, TmpfsOptionError> {
    if options.is_empty() {
        return Ok(Vec::new());
    }
    let entries: Vec<&str> = options.split(',').collect();
    // moby walks the entries from the last, and names the first it refuses.
    for entry in entries.iter().rev() {
        let known = *entry == "defaults"
            || MOUNT_FLAGS.contains(entry)
            || entry
                .split_once('=')
                .is_some_and(|(key, _)| TMPFS_DATA_KEYS.contains(&key));
        if !known {
            return Err(TmpfsOptionError {
                entry: (*entry).to_owned(),
            });
        }
    }
    Ok(entries)
}

/// The options of a `--mount type=tmpfs`'s `TmpfsOptions.Options` (API
/// 1.46+) that dockerd 28.5 accepts: `exec` and `noexec` (moby
/// `validTmpfsOptions`); a two-element entry becomes `key=value`.
pub const TMPFS_MOUNT_OPTIONS: [&str; 2] = ["exec", "noexec"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_exact_entries_are_flags() {
        let o = MountOptions::parse("ro, bind,Bind,bind ,rbind,defaults,size=1m,,nosuid");
        assert_eq!(o.flags, ["ro", "rbind", "nosuid"]);
        assert_eq!(
            o.data,
            [" bind", "Bind", "bind ", "defaults", "size=1m", ""]
        );
        assert!(o.binds());
        assert!(o.read_only());
        assert!(!MountOptions::parse("ro,rw").read_only());
        assert_eq!(o.data_string(), " bind,Bind,bind ,defaults,size=1m,");
    }

    #[test]
    fn a_spaced_bind_is_data_not_a_bind() {
        for o in [" bind", "bind ", "\tbind", "BIND", "ro, rbind", "bind\n"] {
            let parsed = MountOptions::parse(o);
            assert!(!parsed.binds(), "{o:?}");
            assert!(!parsed.data.is_empty(), "{o:?}");
        }
        assert!(MountOptions::parse("nosuid,bind").binds());
    }

    #[test]
    fn the_empty_string_is_one_empty_data_entry() {
        let o = MountOptions::parse("");
        assert!(o.flags.is_empty());
        assert_eq!(o.data, [""]);
        assert_eq!(o.data_string(), "");
    }

    #[test]
    fn tmpfs_entries_follow_merge_tmpfs_options() {
        assert_eq!(
            tmpfs_entries("rw,exec,size=1m,mode=1777,defaults,rbind").unwrap(),
            ["rw", "exec", "size=1m", "mode=1777", "defaults", "rbind"]
        );
        assert_eq!(tmpfs_entries("=x").unwrap(), ["=x"]);
        assert_eq!(tmpfs_entries("").unwrap(), Vec::<&str>::new());
        for refused in [
            " exec",
            "size=1m, bind",
            "a,,b",
            "huge=always",
            "Size=1m",
            "x",
        ] {
            assert!(tmpfs_entries(refused).is_err(), "{refused:?}");
        }
        // As dockerd 20.10 answered: `invalid tmpfs option ["b"]`.
        assert_eq!(tmpfs_entries("a,,b").unwrap_err().entry, "b");
    }
}
