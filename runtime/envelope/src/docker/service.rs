//! `POST /services/create` and `/services/{id}/update` (Docker's `ServiceSpec`),
//! the parts that decide what its containers may do.

use std::collections::BTreeMap;

use super::container::Mount;
use crate::go_struct;

go_struct! {
    /// The body of `POST /services/create` (and `/services/{id}/update`).
    pub struct ServiceCreate {
        /// Service name.
        "Name" => pub name: String,
        /// Labels.
        "Labels" => pub labels: BTreeMap<String, String>,
        /// What each task runs.
        "TaskTemplate" => pub task_template: TaskTemplate,
    }
}

go_struct! {
    /// Docker's `TaskSpec`.
    pub struct TaskTemplate {
        /// The container each task runs.
        "ContainerSpec" => pub container_spec: ContainerSpec,
    }
}

go_struct! {
    /// Docker's swarm `ContainerSpec`.
    pub struct ContainerSpec {
        /// Image reference.
        "Image" => pub image: String,
        /// User the process runs as.
        "User" => pub user: String,
        /// Mounts (`Type` bind, volume, tmpfs, …).
        "Mounts" => pub mounts: Vec<Mount>,
        /// Capabilities added (API 1.41+).
        "CapabilityAdd" => pub capability_add: Vec<String>,
        /// Capabilities dropped.
        "CapabilityDrop" => pub capability_drop: Vec<String>,
        /// Sysctls.
        "Sysctls" => pub sysctls: BTreeMap<String, String>,
        /// Environment.
        "Env" => pub env: Vec<String>,
    }
}
