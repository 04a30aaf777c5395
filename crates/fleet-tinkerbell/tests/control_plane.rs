//! Integration tests against a real Tinkerbell v0.12.2 control plane (kube-apiserver 1.31 with
//! upstream's CRDs, tink-controller, tink-server, Rufio), as `scripts/tinkerbell.sh up` starts it.
//!
//! Ignored by a plain `cargo test` (cargo lists them as ignored, with the reason); the test
//! command (`scripts/test.sh`) starts the control plane and runs them with `--include-ignored`.
//! Run, they fail, naming what is missing, unless `GPUFLEET_TEST_KUBECONFIG` names the control
//! plane's kubeconfig; the worker test also needs `GPUFLEET_TINK_GRPC` and
//! `GPUFLEET_TEST_TINK_WORKER`: a command that plays tink-worker
//! (`<venv>/bin/python scripts/tink-worker.py`), given `--server`, `--worker` and `--fail`.
//! `eval "$(scripts/tinkerbell.sh test-env)"` sets all three.
//!
//! Every run uses fresh object names and MACs, so runs never see each other's objects.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fleet_model::lifecycle::NodeState;
use fleet_tinkerbell::build::{self, BmcEndpoint, InstallPlan, NodeHardware, NodeNic};
use fleet_tinkerbell::crd::{Hardware, Job, Machine, Template, Workflow};
use fleet_tinkerbell::progress::TinkState;
use fleet_tinkerbell::{
    Phase, ProgressChange, ProgressTracker, ProvisioningRequest, TinkerbellClient,
};
use futures::StreamExt;
use kube::api::{Api, PostParams};
use serde::Serialize;

const NS: &str = "default";

fn required_env(name: &str) -> String {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => v,
        _ => panic!(
            "{name} is not set: this test needs the Tinkerbell control plane \
             (scripts/tinkerbell.sh up, then eval \"$(scripts/tinkerbell.sh test-env)\"; \
             scripts/test.sh does both)"
        ),
    }
}

fn kubeconfig() -> PathBuf {
    PathBuf::from(required_env("GPUFLEET_TEST_KUBECONFIG"))
}

/// A short id unique to this run, and a MAC derived from it and `n`.
fn run_id() -> String {
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{:x}",
        (t ^ (std::process::id() as u128) << 20) & 0xffff_ffff
    )
}

fn mac_for(id: &str, n: u8) -> String {
    let v = u32::from_str_radix(id, 16).unwrap_or(0);
    let b = v.to_be_bytes();
    format!(
        "02:{:02X}:{:02X}:{:02X}:{:02X}:{:02X}",
        b[0], b[1], b[2], b[3], n
    )
}

fn node(id: &str, n: u8) -> NodeHardware {
    NodeHardware {
        name: format!("it-{id}-{n}"),
        namespace: NS.into(),
        node_id: Some(format!("node-{id}-{n}")),
        hostname: format!("gpu-{id}-{n}"),
        arch: "x86_64".into(),
        uefi: true,
        interfaces: vec![NodeNic {
            mac: mac_for(id, n),
            ip: Some(format!("10.10.0.{}", 10 + n)),
            netmask: Some("255.255.255.0".into()),
            gateway: Some("10.10.0.1".into()),
            name_servers: vec!["10.10.0.1".into()],
            vlan_id: Some("100".into()),
            allow_pxe: true,
            allow_workflow: true,
        }],
        disks: vec!["/dev/nvme0n1".into(), "/dev/nvme1n1".into()],
        bmc_machine: Some(format!("it-{id}-{n}-bmc")),
        facility_code: Some("lab".into()),
        plan_slug: Some("hgx-h100".into()),
        manufacturer: Some("Supermicro".into()),
        os: Some(build::NodeOs {
            distro: "ubuntu".into(),
            slug: "ubuntu_22_04".into(),
            version: "22.04".into(),
        }),
        user_data: Some("#cloud-config\n".into()),
    }
}

fn plan(id: &str) -> InstallPlan {
    let action = |name: &str, image: &str| build::PlanAction {
        name: name.into(),
        image: image.into(),
        timeout_s: 600,
        environment: [("DEST_DISK".to_string(), "/dev/nvme0n1".to_string())].into(),
        ..Default::default()
    };
    InstallPlan {
        name: format!("it-{id}-ubuntu-cuda"),
        namespace: NS.into(),
        global_timeout_s: 3600,
        tasks: vec![build::PlanTask {
            name: "os-installation".into(),
            worker_key: None,
            volumes: vec!["/dev:/dev".into()],
            environment: BTreeMap::new(),
            actions: vec![
                action(
                    "stream-ubuntu-image",
                    "quay.io/tinkerbell-actions/image2disk:v1.0.0",
                ),
                action(
                    "install-nvidia-driver",
                    "quay.io/tinkerbell-actions/cexec:v1.0.0",
                ),
                action("validate-gpus", "quay.io/tinkerbell-actions/cexec:v1.0.0"),
            ],
        }],
    }
}

/// The server must keep every field we send: a structural CRD schema silently prunes fields it
/// does not know, so a round trip that loses a field means our type disagrees with the CRD.
fn assert_round_trip<T: Serialize>(kind: &str, sent: &T, stored: &T) {
    let sent = serde_json::to_value(sent).unwrap();
    let stored = serde_json::to_value(stored).unwrap();
    assert_eq!(
        sent["spec"], stored["spec"],
        "{kind}: the apiserver pruned or changed fields of spec (CRD schema mismatch)"
    );
}

/// Deletes the objects a test created (named `it-<id>-…`) when it ends, passed or failed, so
/// that runs do not pile up objects for tink-controller and Rufio to reconcile.
struct Cleanup {
    kubeconfig: PathBuf,
    prefix: String,
}

impl Cleanup {
    fn new(kubeconfig: &Path, id: &str) -> Cleanup {
        Cleanup {
            kubeconfig: kubeconfig.to_path_buf(),
            prefix: format!("it-{id}-"),
        }
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let (kubeconfig, prefix) = (self.kubeconfig.clone(), self.prefix.clone());
        // A runtime of its own: this also runs while a failed test unwinds.
        let _ = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(async move {
                    let Ok(c) = TinkerbellClient::from_kubeconfig(&kubeconfig, NS).await else {
                        return;
                    };
                    let k = c.kube().clone();
                    delete_prefixed::<Workflow>(&k, &prefix).await;
                    delete_prefixed::<Template>(&k, &prefix).await;
                    delete_prefixed::<Hardware>(&k, &prefix).await;
                    delete_prefixed::<Job>(&k, &prefix).await;
                    delete_prefixed::<Machine>(&k, &prefix).await;
                    delete_prefixed::<k8s_openapi::api::core::v1::Secret>(&k, &prefix).await;
                });
        })
        .join();
    }
}

async fn delete_prefixed<K>(client: &kube::Client, prefix: &str)
where
    K: kube::Resource<Scope = kube::core::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
    <K as kube::Resource>::DynamicType: Default,
{
    let api: Api<K> = Api::namespaced(client.clone(), NS);
    let Ok(list) = api.list(&Default::default()).await else {
        return;
    };
    for o in list.items {
        if let Some(n) = o.meta().name.clone().filter(|n| n.starts_with(prefix)) {
            let _ = api.delete(&n, &Default::default()).await;
        }
    }
}

async fn client(path: &Path) -> TinkerbellClient {
    TinkerbellClient::from_kubeconfig(path, NS)
        .await
        .expect("kubeconfig from GPUFLEET_TEST_KUBECONFIG")
}

#[tokio::test]
#[ignore = "needs the Tinkerbell control plane (scripts/tinkerbell.sh up); scripts/test.sh runs it"]
async fn generated_objects_match_the_crd_schemas() {
    let kc = kubeconfig();
    let c = client(&kc).await;
    let id = run_id();
    let _cleanup = Cleanup::new(&kc, &id);

    let hw = build::hardware(&node(&id, 1)).unwrap();
    let stored = c.apply_hardware(&hw).await.unwrap();
    assert_round_trip("Hardware", &hw, &stored);
    // Idempotent: applying again changes nothing.
    let again = c.apply_hardware(&hw).await.unwrap();
    assert_eq!(
        stored.metadata.resource_version,
        again.metadata.resource_version
    );

    let tpl = build::template(&plan(&id)).unwrap();
    let stored = c.apply_template(&tpl).await.unwrap();
    assert_round_trip("Template", &tpl, &stored);

    let m = build::machine(&BmcEndpoint {
        name: format!("it-{id}-1-bmc"),
        namespace: NS.into(),
        host: "127.0.0.1".into(),
        port: Some(1),
        secret_name: format!("it-{id}-1-bmc"),
        insecure_tls: true,
        provider_options: Some(serde_json::json!({"preferredOrder": ["gofish", "ipmitool"]})),
        ..Default::default()
    })
    .unwrap();
    let stored = c.apply_machine(&m).await.unwrap();
    assert_round_trip("Machine", &m, &stored);

    let j = build::job(
        &format!("it-{id}-1-pxe"),
        NS,
        &format!("it-{id}-1-bmc"),
        build::pxe_reboot_tasks(true),
    )
    .unwrap();
    let stored = c.submit_job(&j).await.unwrap();
    assert_round_trip("Job", &j, &stored);
    let again = c.submit_job(&j).await.unwrap();
    assert_eq!(
        stored.metadata.uid, again.metadata.uid,
        "a Job is submitted once"
    );

    let req = ProvisioningRequest {
        name: format!("it-{id}-1-wf"),
        namespace: NS.into(),
        node_id: Some(format!("node-{id}-1")),
        toggle_allow_netboot: true,
        ..Default::default()
    };
    let wf = build::workflow(&req, &hw, &tpl).unwrap();
    let stored = c.submit_workflow(&wf).await.unwrap();
    assert_round_trip("Workflow", &wf, &stored);

    // The schemas reject what they should: a Job task with an unknown power action.
    let mut bad = j.clone();
    bad.metadata.name = Some(format!("it-{id}-bad"));
    bad.spec.tasks[0].power_action = Some("explode".into());
    let err = Api::<Job>::namespaced(c.kube().clone(), NS)
        .create(&PostParams::default(), &bad)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("explode"), "{err}");

    // Types can be read back from what the server stores.
    let _: Option<Machine> = Api::<Machine>::namespaced(c.kube().clone(), NS)
        .get_opt(&format!("it-{id}-1-bmc"))
        .await
        .unwrap();
    let _: Vec<Hardware> = Api::<Hardware>::namespaced(c.kube().clone(), NS)
        .list(&Default::default())
        .await
        .unwrap()
        .items;
    let _: Vec<Template> = Api::<Template>::namespaced(c.kube().clone(), NS)
        .list(&Default::default())
        .await
        .unwrap()
        .items;
}

#[tokio::test]
#[ignore = "needs the Tinkerbell control plane (scripts/tinkerbell.sh up); scripts/test.sh runs it"]
async fn tink_controller_renders_the_workflow_and_missing_templates_fail() {
    let kc = kubeconfig();
    let c = client(&kc).await;
    let id = run_id();
    let _cleanup = Cleanup::new(&kc, &id);
    let hw = build::hardware(&node(&id, 2)).unwrap();
    let tpl = build::template(&plan(&id)).unwrap();
    let req = ProvisioningRequest {
        name: format!("it-{id}-2-wf"),
        namespace: NS.into(),
        ..Default::default()
    };
    let wf = c.provision(&hw, &tpl, &req).await.unwrap();
    // Resumable and idempotent: a second call returns the same Workflow.
    let wf2 = c.provision(&hw, &tpl, &req).await.unwrap();
    assert_eq!(wf.metadata.uid, wf2.metadata.uid);

    let p = c
        .wait_workflow(&req.name, "rendered", Duration::from_secs(60), |p| {
            p.phase != Phase::Submitted
        })
        .await
        .unwrap();
    assert_eq!(p.phase, Phase::Pending, "{p:?}");
    assert_eq!(p.state.as_deref(), Some("STATE_PENDING"));
    assert_eq!(p.total_actions, 3);
    assert_eq!(p.completed_actions, 0);
    assert_eq!(p.actions[0].worker, mac_for(&id, 2).to_lowercase());
    assert_eq!(p.node_state(), NodeState::Provisioning);

    // A Workflow whose template does not exist: tink-controller marks rendering failed.
    let mut missing = build::workflow(
        &ProvisioningRequest {
            name: format!("it-{id}-2-missing"),
            namespace: NS.into(),
            ..Default::default()
        },
        &hw,
        &tpl,
    )
    .unwrap();
    missing.spec.template_ref = Some(format!("it-{id}-no-such-template"));
    c.submit_workflow(&missing).await.unwrap();
    let p = c
        .wait_workflow(
            &format!("it-{id}-2-missing"),
            "marked as failed",
            Duration::from_secs(60),
            |p| p.phase.is_terminal(),
        )
        .await
        .unwrap();
    assert_eq!(p.phase, Phase::RenderFailed);
    assert_eq!(p.node_state(), NodeState::ProvisioningFailed);
    assert!(
        p.failure.as_ref().unwrap().message.contains("template"),
        "{p:?}"
    );
}

/// Run the worker command for one MAC; returns its stdout.
async fn run_worker(cmd: &str, server: &str, mac: &str, fail: Option<&str>) -> String {
    let mut parts = cmd.split_whitespace();
    let mut command = tokio::process::Command::new(parts.next().unwrap());
    command.args(parts);
    command.args(["--server", server, "--worker", mac, "--timeout", "60"]);
    if let Some(f) = fail {
        command.args(["--fail", f]);
    }
    let out = command
        .output()
        .await
        .expect("run GPUFLEET_TEST_TINK_WORKER");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "worker failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[tokio::test]
#[ignore = "needs the Tinkerbell control plane (scripts/tinkerbell.sh up); scripts/test.sh runs it"]
async fn worker_runs_the_workflow_over_grpc_and_progress_maps_to_the_lifecycle() {
    let kc = kubeconfig();
    let worker = required_env("GPUFLEET_TEST_TINK_WORKER");
    let server = required_env("GPUFLEET_TINK_GRPC");
    let c = client(&kc).await;
    let id = run_id();
    let _cleanup = Cleanup::new(&kc, &id);
    let tpl = build::template(&plan(&id)).unwrap();

    // One node installs cleanly: provisioning → in_service.
    let hw = build::hardware(&node(&id, 3)).unwrap();
    let ok = ProvisioningRequest {
        name: format!("it-{id}-3-wf"),
        namespace: NS.into(),
        ..Default::default()
    };
    c.provision(&hw, &tpl, &ok).await.unwrap();
    c.wait_workflow(&ok.name, "rendered", Duration::from_secs(60), |p| {
        p.phase == Phase::Pending
    })
    .await
    .unwrap();
    let watch = {
        let c = c.clone();
        let name = ok.name.clone();
        tokio::spawn(async move {
            // What gpufleet records while the workflow runs: each change once.
            let mut tracker = ProgressTracker::default();
            let mut changes = Vec::new();
            let stream = c.watch_workflow(&name);
            futures::pin_mut!(stream);
            let ended = tokio::time::timeout(Duration::from_secs(90), async {
                while let Some(p) = stream.next().await {
                    let p = p.unwrap();
                    let done = p.phase.is_terminal();
                    changes.extend(tracker.observe(p));
                    if done {
                        return true;
                    }
                }
                false
            })
            .await;
            (ended, tracker.last().cloned(), changes)
        })
    };
    let out = run_worker(&worker, &server, &mac_for(&id, 3).to_lowercase(), None).await;
    assert!(out.contains("\"success\""), "{out}");
    let (ended, p, changes) = watch.await.unwrap();
    assert_eq!(
        ended,
        Ok(true),
        "the watch did not see the workflow end: {changes:?}"
    );
    let p = p.unwrap();
    let lifecycle: Vec<_> = changes
        .iter()
        .filter(|c| matches!(c, ProgressChange::Lifecycle { .. }))
        .collect();
    assert!(
        matches!(
            &lifecycle[..],
            [ProgressChange::Lifecycle {
                to: NodeState::InService,
                ..
            }]
        ),
        "{changes:?}"
    );
    let successes = changes
        .iter()
        .filter(|c| {
            matches!(
                c,
                ProgressChange::Action {
                    state: TinkState::Success,
                    ..
                }
            )
        })
        .count();
    assert_eq!(successes, 3, "{changes:?}");
    assert_eq!(p.phase, Phase::Succeeded, "{p:?}");
    assert_eq!(p.completed_actions, 3);
    assert_eq!(p.node_state(), NodeState::InService);
    assert!(p.actions.iter().all(|a| a.started_at.is_some()), "{p:?}");

    // Another fails in the driver step: provisioning → provisioning_failed, naming the action.
    let hw = build::hardware(&node(&id, 4)).unwrap();
    let bad = ProvisioningRequest {
        name: format!("it-{id}-4-wf"),
        namespace: NS.into(),
        ..Default::default()
    };
    c.provision(&hw, &tpl, &bad).await.unwrap();
    c.wait_workflow(&bad.name, "rendered", Duration::from_secs(60), |p| {
        p.phase == Phase::Pending
    })
    .await
    .unwrap();
    let out = run_worker(
        &worker,
        &server,
        &mac_for(&id, 4).to_lowercase(),
        Some("install-nvidia-driver=exit status 1: nvidia-installer failed"),
    )
    .await;
    assert!(out.contains("\"failed\""), "{out}");
    let p = c
        .wait_workflow(&bad.name, "failed", Duration::from_secs(60), |p| {
            p.phase.is_terminal()
        })
        .await
        .unwrap();
    assert_eq!(p.phase, Phase::Failed, "{p:?}");
    assert_eq!(p.node_state(), NodeState::ProvisioningFailed);
    let f = p.failure.clone().unwrap();
    assert_eq!(f.action.as_deref(), Some("install-nvidia-driver"));
    assert_eq!(f.task.as_deref(), Some("os-installation"));
    // tink-server v0.12.2 does not store the worker's message in the Workflow status; the
    // failure then names the action.
    assert!(
        f.message.contains("install-nvidia-driver") || f.message.contains("nvidia-installer"),
        "{f:?}"
    );
    assert_eq!(p.completed_actions, 1);
    let _: Option<Workflow> = c.get_workflow(&bad.name).await.unwrap();
}
