//! gpufleet's Tinkerbell adapter.
//!
//! - [`crd`]: typed tink v0.12.2 Hardware, Template and Workflow (`tinkerbell.org/v1alpha1`) and
//!   Rufio v0.6.1 Machine and Job (`bmc.tinkerbell.org/v1alpha1`);
//! - [`build`]: builders from plain structs (a CMDB node → Hardware with lower-case MACs, an
//!   install plan → Template, a provisioning request → Workflow, a BMC → Machine and Job);
//! - [`template`]: template rendering and validation, so that mistakes fail before anything is
//!   created;
//! - [`plan`]: GPU install plans (OS image, netplan from the CMDB, partitions, NVIDIA driver,
//!   CUDA and fabric manager, GPU validation) rendered per node into Template actions;
//! - [`progress`]: Workflow status → per-action progress and the node lifecycle state;
//! - [`client`]: idempotent, resumable kube-rs calls and a Workflow watch.
//!
//! `scripts/tinkerbell.sh up` starts a real control plane to test against; see
//! `docs/TINKERBELL.md`.

pub mod build;
pub mod client;
pub mod crd;
pub mod plan;
pub mod progress;
pub mod template;

pub use build::{
    hardware, normalize_mac, workflow, BmcEndpoint, BuildError, InstallPlan, NodeHardware, NodeNic,
    NodeOs, PlanAction, PlanTask, ProvisioningRequest,
};
pub use client::{ClientError, TinkerbellClient};
pub use crd::{Hardware, Job, Machine, Template, Workflow};
pub use plan::{NetworkConfig, NodeFacts, PlanError, PlanSpec};
pub use progress::{Phase, ProgressChange, ProgressTracker, WorkflowProgress};
pub use template::TemplateError;
