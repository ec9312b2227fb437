//! `POST /containers/{name}/exec` (Docker's `ExecConfig`).

use super::gojson::StrSlice;
use crate::go_struct;

go_struct! {
    /// The body of `POST /containers/{name}/exec`.
    pub struct ExecCreate {
        /// `--privileged`: the exec'd process gets every capability.
        "Privileged" => pub privileged: bool,
        /// User the process runs as.
        "User" => pub user: String,
        /// Command.
        "Cmd" => pub cmd: StrSlice,
        /// Extra environment.
        "Env" => pub env: Vec<String>,
        /// Working directory.
        "WorkingDir" => pub working_dir: String,
        /// Allocate a TTY.
        "Tty" => pub tty: bool,
    }
}
