//! Builders: plain Rust structs (a CMDB node, an install plan, a provisioning request, a BMC) →
//! the custom resources. Every builder validates its input and fails before anything is sent to
//! the cluster.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use kube::api::ObjectMeta;
use serde::{Deserialize, Serialize};

use crate::crd::*;
use crate::template::{self, ActionDoc, TaskDoc, TemplateError, WorkflowDoc};

/// Label put on every object gpufleet creates, so that they can be listed and told apart.
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
pub const MANAGED_BY: &str = "gpufleet";
/// Label carrying the CMDB node id on Hardware and Workflow objects.
pub const NODE_LABEL: &str = "gpufleet.io/node";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    #[error("'{value}' is not a valid object name: {why} (lower-case letters, digits, '-' and '.', at most 253 characters, starting and ending alphanumeric)")]
    Name { value: String, why: &'static str },
    #[error("'{0}' is not a MAC address (six hex octets, e.g. 3c:ec:ef:4c:4f:54)")]
    Mac(String),
    #[error("'{value}' is not an IPv4 address ({field})")]
    Ip { field: &'static str, value: String },
    #[error("node {0} has no network interface: a Hardware needs at least one NIC with a MAC")]
    NoInterfaces(String),
    #[error("node {node}: MAC {mac} appears on two interfaces")]
    DuplicateMac { node: String, mac: String },
    #[error("template: {0}")]
    Template(#[from] TemplateError),
    #[error("workflow {workflow}: task '{task}' runs on worker '{worker}', which is not a MAC of Hardware {hardware} ({macs})")]
    UnknownWorker {
        workflow: String,
        task: String,
        worker: String,
        hardware: String,
        macs: String,
    },
    #[error("workflow {workflow}: the template does not allow workflows on NIC {mac} of Hardware {hardware} (netboot.allowWorkflow is not true)")]
    WorkflowNotAllowed {
        workflow: String,
        mac: String,
        hardware: String,
    },
    #[error("template {0} has no data")]
    EmptyTemplate(String),
}

/// Normalise a MAC address to tink's form: lower-case, colon-separated. Accepts `:` or `-`
/// separators, Cisco dotted form (`3cec.ef4c.4f54`) and bare hex.
pub fn normalize_mac(mac: &str) -> Result<String, BuildError> {
    let hex: String = mac
        .trim()
        .chars()
        .filter(|c| !matches!(c, ':' | '-' | '.'))
        .collect();
    let seps_ok = {
        let t = mac.trim();
        let groups: Vec<&str> = t.split([':', '-']).collect();
        let dotted: Vec<&str> = t.split('.').collect();
        (groups.len() == 6 && groups.iter().all(|g| g.len() == 2))
            || (dotted.len() == 3 && dotted.iter().all(|g| g.len() == 4))
            || (groups.len() == 1 && dotted.len() == 1)
    };
    if hex.len() != 12 || !seps_ok || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(BuildError::Mac(mac.to_string()));
    }
    let lower = hex.to_ascii_lowercase();
    Ok((0..6)
        .map(|i| &lower[2 * i..2 * i + 2])
        .collect::<Vec<_>>()
        .join(":"))
}

/// A Kubernetes object name (DNS-1123 subdomain).
pub fn check_name(name: &str) -> Result<(), BuildError> {
    let err = |why| {
        Err(BuildError::Name {
            value: name.to_string(),
            why,
        })
    };
    if name.is_empty() || name.len() > 253 {
        return err("length must be 1 to 253");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
    {
        return err("it has a character other than a-z, 0-9, '-' and '.'");
    }
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    if !name.starts_with(alnum) || !name.ends_with(alnum) {
        return err("it must start and end with a letter or digit");
    }
    Ok(())
}

fn check_ip(field: &'static str, value: &str) -> Result<(), BuildError> {
    value
        .parse::<Ipv4Addr>()
        .map(|_| ())
        .map_err(|_| BuildError::Ip {
            field,
            value: value.to_string(),
        })
}

fn meta(name: &str, namespace: &str, labels: BTreeMap<String, String>) -> ObjectMeta {
    let mut labels = labels;
    labels.insert(MANAGED_BY_LABEL.into(), MANAGED_BY.into());
    ObjectMeta {
        name: Some(name.to_string()),
        namespace: Some(namespace.to_string()),
        labels: Some(labels),
        ..Default::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Node → Hardware

/// What gpufleet's CMDB knows about a node that Tinkerbell needs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NodeHardware {
    /// Object name of the Hardware (a DNS-1123 name, e.g. the node's hostname).
    pub name: String,
    pub namespace: String,
    /// The CMDB node id, recorded as a label.
    pub node_id: Option<String>,
    pub hostname: String,
    /// `x86_64` or `aarch64` (what the node PXE-boots as).
    pub arch: String,
    pub uefi: bool,
    pub interfaces: Vec<NodeNic>,
    /// Block devices, e.g. `/dev/nvme0n1`.
    pub disks: Vec<String>,
    /// Name of the Rufio Machine for this node's BMC, in the same namespace.
    pub bmc_machine: Option<String>,
    pub facility_code: Option<String>,
    pub plan_slug: Option<String>,
    pub manufacturer: Option<String>,
    pub os: Option<NodeOs>,
    pub user_data: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NodeNic {
    pub mac: String,
    pub ip: Option<String>,
    pub netmask: Option<String>,
    pub gateway: Option<String>,
    pub name_servers: Vec<String>,
    pub vlan_id: Option<String>,
    /// Boot from the network (tink's `netboot.allowPXE`).
    pub allow_pxe: bool,
    /// Run workflows on this NIC's worker (tink's `netboot.allowWorkflow`).
    pub allow_workflow: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NodeOs {
    pub distro: String,
    pub slug: String,
    pub version: String,
}

/// Build the Hardware for a node: lower-case MACs, validated IPs, netboot flags, BMC reference.
pub fn hardware(node: &NodeHardware) -> Result<Hardware, BuildError> {
    check_name(&node.name)?;
    check_name(&node.namespace)?;
    if node.interfaces.is_empty() {
        return Err(BuildError::NoInterfaces(node.name.clone()));
    }
    let mut macs = Vec::new();
    let mut interfaces = Vec::new();
    for nic in &node.interfaces {
        let mac = normalize_mac(&nic.mac)?;
        if macs.contains(&mac) {
            return Err(BuildError::DuplicateMac {
                node: node.name.clone(),
                mac,
            });
        }
        macs.push(mac.clone());
        let ip = match &nic.ip {
            None => None,
            Some(address) => {
                check_ip("address", address)?;
                if let Some(m) = &nic.netmask {
                    check_ip("netmask", m)?;
                }
                if let Some(g) = &nic.gateway {
                    check_ip("gateway", g)?;
                }
                Some(Ip {
                    address: Some(address.clone()),
                    family: Some(4),
                    gateway: nic.gateway.clone(),
                    netmask: nic.netmask.clone(),
                })
            }
        };
        for ns in &nic.name_servers {
            check_ip("name server", ns)?;
        }
        interfaces.push(Interface {
            dhcp: Some(Dhcp {
                arch: Some(if node.arch.is_empty() {
                    "x86_64".into()
                } else {
                    node.arch.clone()
                }),
                hostname: Some(node.hostname.clone()),
                ip,
                lease_time: Some(86400),
                mac: Some(mac),
                name_servers: nic.name_servers.clone(),
                uefi: Some(node.uefi),
                vlan_id: nic.vlan_id.clone(),
                ..Default::default()
            }),
            // The CRD defaults it to false; set it so that what is applied is what is stored.
            disable_dhcp: Some(false),
            netboot: Some(Netboot {
                allow_pxe: Some(nic.allow_pxe),
                allow_workflow: Some(nic.allow_workflow),
                ..Default::default()
            }),
        });
    }
    let mut labels = BTreeMap::new();
    if let Some(id) = &node.node_id {
        labels.insert(NODE_LABEL.to_string(), id.clone());
    }
    let spec = HardwareSpec {
        bmc_ref: node.bmc_machine.as_ref().map(|m| BmcRef {
            api_group: Some("bmc.tinkerbell.org".into()),
            kind: "Machine".into(),
            name: m.clone(),
        }),
        disks: node
            .disks
            .iter()
            .map(|d| Disk {
                device: Some(d.clone()),
            })
            .collect(),
        interfaces,
        metadata: Some(HardwareMetadata {
            facility: (node.facility_code.is_some() || node.plan_slug.is_some()).then(|| {
                Facility {
                    facility_code: node.facility_code.clone(),
                    plan_slug: node.plan_slug.clone(),
                    plan_version_slug: None,
                }
            }),
            instance: Some(Instance {
                hostname: Some(node.hostname.clone()),
                id: macs.first().cloned(),
                operating_system: node.os.as_ref().map(|os| OperatingSystem {
                    distro: Some(os.distro.clone()),
                    os_slug: Some(os.slug.clone()),
                    version: Some(os.version.clone()),
                }),
                userdata: None,
                ..Default::default()
            }),
            manufacturer: node.manufacturer.as_ref().map(|m| Manufacturer {
                id: None,
                slug: Some(m.to_ascii_lowercase()),
            }),
            state: None,
        }),
        tink_version: None,
        user_data: node.user_data.clone(),
        vendor_data: None,
    };
    Ok(Hardware {
        metadata: meta(&node.name, &node.namespace, labels),
        spec,
        status: None,
    })
}

/// The lower-case MACs of a Hardware, in interface order.
pub fn hardware_macs(hw: &Hardware) -> Vec<String> {
    hw.spec
        .interfaces
        .iter()
        .filter_map(|i| i.dhcp.as_ref()?.mac.clone())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Install plan → Template

/// An install plan: the steps that install an OS, the NVIDIA driver and CUDA, configure network
/// and storage, and validate the GPU environment; each step is an action image run by the worker.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InstallPlan {
    /// Template object name.
    pub name: String,
    pub namespace: String,
    /// Whole-workflow deadline in seconds.
    pub global_timeout_s: u64,
    pub tasks: Vec<PlanTask>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PlanTask {
    pub name: String,
    /// The hardware-map key naming the worker (default `device_1`).
    pub worker_key: Option<String>,
    pub volumes: Vec<String>,
    pub environment: BTreeMap<String, String>,
    pub actions: Vec<PlanAction>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PlanAction {
    pub name: String,
    pub image: String,
    pub timeout_s: u64,
    pub command: Vec<String>,
    pub environment: BTreeMap<String, String>,
    pub volumes: Vec<String>,
    pub pid: Option<String>,
}

/// The workflow YAML for a plan (what goes into the Template's `data`).
pub fn template_data(plan: &InstallPlan) -> Result<String, BuildError> {
    let doc = WorkflowDoc {
        version: "0.1".into(),
        name: plan.name.clone(),
        global_timeout: plan.global_timeout_s,
        tasks: plan
            .tasks
            .iter()
            .map(|t| TaskDoc {
                name: t.name.clone(),
                worker: format!("{{{{.{}}}}}", t.worker_key.as_deref().unwrap_or("device_1")),
                volumes: t.volumes.clone(),
                environment: t.environment.clone(),
                actions: t
                    .actions
                    .iter()
                    .map(|a| ActionDoc {
                        name: a.name.clone(),
                        image: a.image.clone(),
                        timeout: a.timeout_s,
                        command: a.command.clone(),
                        volumes: a.volumes.clone(),
                        pid: a.pid.clone(),
                        environment: a.environment.clone(),
                    })
                    .collect(),
            })
            .collect(),
    };
    let data = serde_yaml::to_string(&doc).map_err(|e| TemplateError::Yaml(e.to_string()))?;
    Ok(data)
}

/// Build the Template for an install plan; the data is rendered and validated first.
pub fn template(plan: &InstallPlan) -> Result<Template, BuildError> {
    check_name(&plan.name)?;
    check_name(&plan.namespace)?;
    let data = template_data(plan)?;
    template::check_template(&data)?;
    Ok(Template {
        metadata: meta(&plan.name, &plan.namespace, BTreeMap::new()),
        spec: TemplateSpec { data: Some(data) },
        status: None,
    })
}

// ---------------------------------------------------------------------------------------------
// Provisioning request → Workflow

/// A request to provision one node with one template.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProvisioningRequest {
    /// Workflow object name (one per provisioning attempt, e.g. `<node>-<attempt>`).
    pub name: String,
    pub namespace: String,
    pub node_id: Option<String>,
    /// Values the template sees; `device_1` defaults to the Hardware's first MAC.
    pub hardware_map: BTreeMap<String, String>,
    /// Let tink-controller toggle the Hardware's allowPXE around the workflow.
    pub toggle_allow_netboot: bool,
    /// `netboot`: tink-controller has Rufio power-cycle the node into a one-time PXE boot.
    pub boot_mode: Option<String>,
}

/// Build the Workflow: the template is rendered with the hardware map here, and every worker it
/// names must be a MAC of the Hardware that allows workflows, so that a request that tink would
/// reject (or that no worker would ever pick up) fails before anything is created.
pub fn workflow(
    req: &ProvisioningRequest,
    hardware: &Hardware,
    template: &Template,
) -> Result<Workflow, BuildError> {
    check_name(&req.name)?;
    check_name(&req.namespace)?;
    let hw_name = hardware.metadata.name.clone().unwrap_or_default();
    let tpl_name = template.metadata.name.clone().unwrap_or_default();
    let macs = hardware_macs(hardware);
    let mut map = BTreeMap::new();
    if let Some(first) = macs.first() {
        map.insert("device_1".to_string(), first.clone());
    }
    for (k, v) in &req.hardware_map {
        // Values that are MACs are normalised, the way Hardware stores them.
        let v = normalize_mac(v).unwrap_or_else(|_| v.clone());
        map.insert(k.clone(), v);
    }
    let data = template
        .spec
        .data
        .as_deref()
        .ok_or_else(|| BuildError::EmptyTemplate(tpl_name.clone()))?;
    let doc = template::render_workflow(data, &map)?;
    for task in &doc.tasks {
        let worker = task.worker.to_ascii_lowercase();
        let Some(i) = macs.iter().position(|m| *m == worker) else {
            return Err(BuildError::UnknownWorker {
                workflow: req.name.clone(),
                task: task.name.clone(),
                worker: task.worker.clone(),
                hardware: hw_name,
                macs: macs.join(", "),
            });
        };
        let allowed = hardware.spec.interfaces[i]
            .netboot
            .as_ref()
            .and_then(|n| n.allow_workflow)
            .unwrap_or(false);
        if !allowed {
            return Err(BuildError::WorkflowNotAllowed {
                workflow: req.name.clone(),
                mac: worker,
                hardware: hw_name,
            });
        }
    }
    let mut labels = BTreeMap::new();
    if let Some(id) = &req.node_id {
        labels.insert(NODE_LABEL.to_string(), id.clone());
    }
    let boot_options = (req.toggle_allow_netboot || req.boot_mode.is_some()).then(|| BootOptions {
        toggle_allow_netboot: req.toggle_allow_netboot.then_some(true),
        boot_mode: req.boot_mode.clone(),
        iso_url: None,
    });
    Ok(Workflow {
        metadata: meta(&req.name, &req.namespace, labels),
        spec: WorkflowSpec {
            template_ref: Some(tpl_name),
            hardware_ref: Some(hw_name),
            hardware_map: map,
            boot_options,
        },
        status: None,
    })
}

// ---------------------------------------------------------------------------------------------
// BMC → Rufio Machine and Job

/// How Rufio reaches a node's BMC.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BmcEndpoint {
    /// Machine object name.
    pub name: String,
    pub namespace: String,
    pub host: String,
    pub port: Option<u16>,
    /// Secret with `username` and `password` keys (created by whoever holds the credentials).
    pub secret_name: String,
    pub secret_namespace: Option<String>,
    pub insecure_tls: bool,
    /// Rufio provider options, e.g. `{"preferredOrder": ["redfish", "ipmitool"]}`.
    pub provider_options: Option<serde_json::Value>,
}

pub fn machine(bmc: &BmcEndpoint) -> Result<Machine, BuildError> {
    check_name(&bmc.name)?;
    check_name(&bmc.namespace)?;
    check_name(&bmc.secret_name)?;
    Ok(Machine {
        metadata: meta(&bmc.name, &bmc.namespace, BTreeMap::new()),
        spec: MachineSpec {
            connection: Connection {
                host: bmc.host.clone(),
                port: bmc.port.map(i64::from),
                auth_secret_ref: Some(SecretRef {
                    name: Some(bmc.secret_name.clone()),
                    namespace: Some(
                        bmc.secret_namespace
                            .clone()
                            .unwrap_or_else(|| bmc.namespace.clone()),
                    ),
                }),
                insecure_tls: bmc.insecure_tls,
                provider_options: bmc.provider_options.clone(),
            },
        },
        status: None,
    })
}

/// A Rufio Job running BMC tasks in order on a Machine.
pub fn job(
    name: &str,
    namespace: &str,
    machine: &str,
    tasks: Vec<BmcAction>,
) -> Result<Job, BuildError> {
    check_name(name)?;
    check_name(namespace)?;
    check_name(machine)?;
    Ok(Job {
        metadata: meta(name, namespace, BTreeMap::new()),
        spec: JobSpec {
            machine_ref: MachineRef {
                name: machine.to_string(),
                namespace: namespace.to_string(),
            },
            tasks,
        },
        status: None,
    })
}

/// Power off, boot once from the network, power on: what a reprovision needs.
pub fn pxe_reboot_tasks(efi: bool) -> Vec<BmcAction> {
    vec![
        BmcAction {
            power_action: Some("off".into()),
            ..Default::default()
        },
        BmcAction {
            one_time_boot_device_action: Some(OneTimeBootDeviceAction {
                device: vec!["pxe".into()],
                efi_boot: Some(efi),
            }),
            ..Default::default()
        },
        BmcAction {
            power_action: Some("on".into()),
            ..Default::default()
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn node() -> NodeHardware {
        NodeHardware {
            name: "gpu-001".into(),
            namespace: "default".into(),
            node_id: Some("n-1".into()),
            hostname: "gpu-001".into(),
            arch: "x86_64".into(),
            uefi: true,
            interfaces: vec![NodeNic {
                mac: "3C:EC:EF:4C:4F:54".into(),
                ip: Some("172.16.10.100".into()),
                netmask: Some("255.255.255.0".into()),
                gateway: Some("172.16.10.1".into()),
                name_servers: vec!["172.16.10.1".into()],
                vlan_id: None,
                allow_pxe: true,
                allow_workflow: true,
            }],
            disks: vec!["/dev/nvme0n1".into()],
            bmc_machine: Some("gpu-001-bmc".into()),
            manufacturer: Some("Supermicro".into()),
            ..Default::default()
        }
    }

    pub(crate) fn plan() -> InstallPlan {
        InstallPlan {
            name: "ubuntu-cuda".into(),
            namespace: "default".into(),
            global_timeout_s: 3600,
            tasks: vec![PlanTask {
                name: "os-installation".into(),
                worker_key: None,
                volumes: vec!["/dev:/dev".into()],
                environment: BTreeMap::new(),
                actions: vec![
                    PlanAction {
                        name: "stream-image".into(),
                        image: "quay.io/tinkerbell-actions/image2disk:v1.0.0".into(),
                        timeout_s: 600,
                        environment: [("DEST_DISK".to_string(), "/dev/nvme0n1".to_string())].into(),
                        ..Default::default()
                    },
                    PlanAction {
                        name: "install-cuda".into(),
                        image: "quay.io/tinkerbell-actions/cexec:v1.0.0".into(),
                        timeout_s: 900,
                        ..Default::default()
                    },
                ],
            }],
        }
    }

    #[test]
    fn macs_are_normalised() {
        assert_eq!(
            normalize_mac("3C-EC-EF-4C-4F-54").unwrap(),
            "3c:ec:ef:4c:4f:54"
        );
        assert_eq!(
            normalize_mac("3cec.ef4c.4f54").unwrap(),
            "3c:ec:ef:4c:4f:54"
        );
        assert_eq!(normalize_mac("3CECEF4C4F54").unwrap(), "3c:ec:ef:4c:4f:54");
        for bad in [
            "",
            "3c:ec:ef:4c:4f",
            "3c:ec:ef:4c:4f:5g",
            "3c:ec:ef:4c:4f5:4",
        ] {
            assert!(normalize_mac(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn hardware_from_node() {
        let hw = hardware(&node()).unwrap();
        let v = serde_json::to_value(&hw).unwrap();
        assert_eq!(v["apiVersion"], "tinkerbell.org/v1alpha1");
        assert_eq!(v["kind"], "Hardware");
        let i = &v["spec"]["interfaces"][0];
        assert_eq!(i["dhcp"]["mac"], "3c:ec:ef:4c:4f:54");
        assert_eq!(i["dhcp"]["ip"]["address"], "172.16.10.100");
        assert_eq!(i["dhcp"]["name_servers"][0], "172.16.10.1");
        assert_eq!(i["netboot"]["allowPXE"], true);
        assert_eq!(i["netboot"]["allowWorkflow"], true);
        assert_eq!(v["spec"]["bmcRef"]["kind"], "Machine");
        assert_eq!(v["spec"]["disks"][0]["device"], "/dev/nvme0n1");
        assert_eq!(v["metadata"]["labels"][NODE_LABEL], "n-1");
        assert_eq!(v["spec"]["metadata"]["manufacturer"]["slug"], "supermicro");
        // Nothing null: a server-side apply must not claim fields it does not set.
        assert!(!v.to_string().contains("null"), "{v}");
    }

    #[test]
    fn hardware_rejects_bad_input() {
        let mut n = node();
        n.interfaces[0].ip = Some("300.1.1.1".into());
        assert!(matches!(hardware(&n), Err(BuildError::Ip { .. })));
        let mut n = node();
        n.interfaces.push(n.interfaces[0].clone());
        n.interfaces[1].mac = "3c:ec:ef:4c:4f:54".into();
        assert!(matches!(hardware(&n), Err(BuildError::DuplicateMac { .. })));
        let mut n = node();
        n.name = "GPU_001".into();
        assert!(matches!(hardware(&n), Err(BuildError::Name { .. })));
        let mut n = node();
        n.interfaces.clear();
        assert!(matches!(hardware(&n), Err(BuildError::NoInterfaces(_))));
    }

    #[test]
    fn template_and_workflow() {
        let tpl = template(&plan()).unwrap();
        let data = tpl.spec.data.as_deref().unwrap();
        assert!(data.contains("{{.device_1}}"), "{data}");
        let hw = hardware(&node()).unwrap();
        let req = ProvisioningRequest {
            name: "gpu-001-1".into(),
            namespace: "default".into(),
            node_id: Some("n-1".into()),
            ..Default::default()
        };
        let wf = workflow(&req, &hw, &tpl).unwrap();
        assert_eq!(wf.spec.hardware_map["device_1"], "3c:ec:ef:4c:4f:54");
        assert_eq!(wf.spec.template_ref.as_deref(), Some("ubuntu-cuda"));
        assert_eq!(wf.spec.hardware_ref.as_deref(), Some("gpu-001"));
        assert!(wf.spec.boot_options.is_none());

        // A worker that is not one of the Hardware's MACs.
        let mut req2 = req.clone();
        req2.hardware_map
            .insert("device_1".into(), "AA:BB:CC:DD:EE:FF".into());
        assert!(matches!(
            workflow(&req2, &hw, &tpl),
            Err(BuildError::UnknownWorker { .. })
        ));
        // A NIC that does not allow workflows.
        let mut n = node();
        n.interfaces[0].allow_workflow = false;
        let hw2 = hardware(&n).unwrap();
        assert!(matches!(
            workflow(&req, &hw2, &tpl),
            Err(BuildError::WorkflowNotAllowed { .. })
        ));
        // A template naming a key the request does not give.
        let mut p = plan();
        p.tasks[0].worker_key = Some("device_9".into());
        let tpl9 = template(&p).unwrap();
        let err = workflow(&req, &hw, &tpl9).unwrap_err();
        assert!(err.to_string().contains("device_9"), "{err}");
    }

    #[test]
    fn bad_plans_fail_before_anything_is_built() {
        let mut p = plan();
        p.tasks[0].actions[1].name = "stream-image".into();
        assert!(matches!(template(&p), Err(BuildError::Template(_))));
        let mut p = plan();
        p.tasks[0].actions[0].timeout_s = 0;
        assert!(matches!(template(&p), Err(BuildError::Template(_))));
        let mut p = plan();
        p.tasks.clear();
        assert!(matches!(template(&p), Err(BuildError::Template(_))));
    }

    #[test]
    fn rufio_objects() {
        let m = machine(&BmcEndpoint {
            name: "gpu-001-bmc".into(),
            namespace: "default".into(),
            host: "127.0.0.1".into(),
            port: Some(8000),
            secret_name: "gpu-001-bmc".into(),
            insecure_tls: true,
            ..Default::default()
        })
        .unwrap();
        let v = serde_json::to_value(&m).unwrap();
        assert_eq!(v["apiVersion"], "bmc.tinkerbell.org/v1alpha1");
        assert_eq!(v["spec"]["connection"]["insecureTLS"], true);
        assert_eq!(
            v["spec"]["connection"]["authSecretRef"]["namespace"],
            "default"
        );
        let j = job(
            "gpu-001-pxe",
            "default",
            "gpu-001-bmc",
            pxe_reboot_tasks(true),
        )
        .unwrap();
        let v = serde_json::to_value(&j).unwrap();
        assert_eq!(v["spec"]["tasks"][0]["powerAction"], "off");
        assert_eq!(
            v["spec"]["tasks"][1]["oneTimeBootDeviceAction"]["device"][0],
            "pxe"
        );
        assert_eq!(v["spec"]["machineRef"]["namespace"], "default");
    }
}
