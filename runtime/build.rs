//! Records the git revision the binary is built from, for `--version`
//! (`unknown` outside a git checkout, e.g. from a source tarball).

use std::process::Command;

/// `git <args>`'s trimmed output, if git ran and said something.
fn git(args: &[&str]) -> Option<String> {
    Command::new("git")
        .args(args)
        .output()
        .ok()
        .filter(|out| out.status.success())
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .map(|text| text.trim().to_owned())
        .filter(|text| !text.is_empty())
}

fn main() {
    let revision =
        git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=PORTCULLIS_GIT_REVISION={revision}");
    // A new commit moves HEAD or the branch it names. Asked of git rather
    // than assumed: in a worktree, HEAD lives in the worktree's own git
    // directory and the branches in the common one.
    let head = git(&["rev-parse", "--path-format=absolute", "--git-path", "HEAD"]);
    let common = git(&["rev-parse", "--path-format=absolute", "--git-common-dir"]);
    if let (Some(head), Some(common)) = (head, common) {
        println!("cargo:rerun-if-changed={head}");
        println!("cargo:rerun-if-changed={common}/refs/heads");
        println!("cargo:rerun-if-changed={common}/packed-refs");
    }
}
