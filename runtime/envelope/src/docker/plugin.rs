//! `POST /plugins/pull` and `/plugins/{name}/upgrade` (a list of Docker's
//! `PluginPrivilege`): the privileges the client grants a managed plugin.
//! The daemon refuses the install unless the list equals what the plugin's
//! config asks for, so the list is exactly what the plugin gets.

use crate::go_struct;

go_struct! {
    /// One privilege of a managed plugin, named as moby's
    /// `computePrivileges` names them: `network` (`host`), `host pid
    /// namespace`, `host ipc namespace`, `mount` (a host path), `device`,
    /// `allow-all-devices`, `capabilities`.
    pub struct PluginPrivilege {
        /// What kind of privilege.
        "Name" => pub name: String,
        /// Human-readable description (ignored by the daemon's check).
        "Description" => pub description: String,
        /// The values granted (a path, a network type, capability names).
        "Value" => pub value: Vec<String>,
    }
}

/// The body of `POST /plugins/pull` and `/plugins/{name}/upgrade`.
pub type PluginPrivileges = Vec<PluginPrivilege>;
