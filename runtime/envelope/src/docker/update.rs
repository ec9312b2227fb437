//! `POST /containers/{name}/update` (Docker's `UpdateConfig`).

use super::container::{DeviceMapping, DeviceRequest};
use crate::go_struct;

go_struct! {
    /// The body of `POST /containers/{name}/update`: resources and restart policy.
    pub struct ContainerUpdate {
        /// Memory limit in bytes (0: unchanged).
        "Memory" => pub memory: i64,
        /// Memory + swap limit in bytes.
        "MemorySwap" => pub memory_swap: i64,
        /// CPU quota in units of 1e-9 CPUs.
        "NanoCpus" => pub nano_cpus: i64,
        /// Relative CPU weight.
        "CpuShares" => pub cpu_shares: i64,
        /// Process count limit.
        "PidsLimit" => pub pids_limit: Option<i64>,
        /// Devices (accepted by the API; see `docker update`).
        "Devices" => pub devices: Vec<DeviceMapping>,
        /// Device cgroup rules (`c 1:3 rwm`).
        "DeviceCgroupRules" => pub device_cgroup_rules: Vec<String>,
        /// Device requests (accepted by the API, not applied by `docker update`).
        "DeviceRequests" => pub device_requests: Vec<DeviceRequest>,
        /// Restart policy.
        "RestartPolicy" => pub restart_policy: RestartPolicy,
    }
}

go_struct! {
    /// When the daemon restarts a container.
    pub struct RestartPolicy {
        /// `no`, `always`, `unless-stopped`, `on-failure`.
        "Name" => pub name: String,
        /// Retries for `on-failure`.
        "MaximumRetryCount" => pub maximum_retry_count: i64,
    }
}
