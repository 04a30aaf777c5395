//! A kube-rs client for the Tinkerbell objects gpufleet manages.
//!
//! Writes are server-side applies under one field manager, so that every call is idempotent:
//! applying the same Hardware or Template twice changes nothing, and a provisioning run that
//! stopped half way is resumed by running it again. Workflows and Rufio Jobs are one-shot: an
//! existing one is returned as it is, never re-created, so a retry never restarts an install
//! that is already running.

use std::path::Path;
use std::time::Duration;

use futures::{Stream, StreamExt, TryStreamExt};
use kube::api::{Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::{watcher, WatchStreamExt};
use kube::{Api, Client, Config, Resource};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::build::{self, BuildError, ProvisioningRequest};
use crate::crd::{Hardware, Job, Machine, Template, Workflow};
use crate::progress::WorkflowProgress;

/// The field manager of every apply gpufleet makes.
pub const FIELD_MANAGER: &str = "gpufleet";

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("reading kubeconfig {path}: {source}")]
    Kubeconfig {
        path: String,
        source: kube::config::KubeconfigError,
    },
    #[error("in-cluster configuration (service account): {0}")]
    InCluster(String),
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error("{0}")]
    Build(#[from] BuildError),
    #[error("watching workflow {name}: {source}")]
    Watch {
        name: String,
        source: watcher::Error,
    },
    #[error("workflow {name} was not {what} within {secs}s (last: {last})")]
    Timeout {
        name: String,
        what: String,
        secs: u64,
        last: String,
    },
    #[error("{kind} {name} has no metadata.name")]
    Unnamed { kind: &'static str, name: String },
}

/// Talks to one namespace of a cluster that runs tink and Rufio.
#[derive(Clone)]
pub struct TinkerbellClient {
    client: Client,
    namespace: String,
}

impl TinkerbellClient {
    pub fn new(client: Client, namespace: impl Into<String>) -> Self {
        TinkerbellClient {
            client,
            namespace: namespace.into(),
        }
    }

    /// A client from a kubeconfig file (its current context).
    pub async fn from_kubeconfig(
        path: &Path,
        namespace: impl Into<String>,
    ) -> Result<Self, ClientError> {
        let kc = Kubeconfig::read_from(path).map_err(|source| ClientError::Kubeconfig {
            path: path.display().to_string(),
            source,
        })?;
        let config = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
            .await
            .map_err(|source| ClientError::Kubeconfig {
                path: path.display().to_string(),
                source,
            })?;
        Ok(Self::new(Client::try_from(config)?, namespace))
    }

    /// A client for the cluster gpufleet runs in (its service account).
    pub async fn in_cluster(namespace: impl Into<String>) -> Result<Self, ClientError> {
        let config = Config::incluster().map_err(|e| ClientError::InCluster(e.to_string()))?;
        Ok(Self::new(Client::try_from(config)?, namespace))
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    pub fn kube(&self) -> &Client {
        &self.client
    }

    fn api<K>(&self) -> Api<K>
    where
        K: Resource<Scope = kube::core::NamespaceResourceScope>,
        <K as Resource>::DynamicType: Default,
    {
        Api::namespaced(self.client.clone(), &self.namespace)
    }

    async fn apply<K>(&self, obj: &K) -> Result<K, ClientError>
    where
        K: Resource<Scope = kube::core::NamespaceResourceScope>
            + Clone
            + std::fmt::Debug
            + Serialize
            + DeserializeOwned,
        <K as Resource>::DynamicType: Default,
    {
        let name = obj.meta().name.clone().ok_or(ClientError::Unnamed {
            kind: "object",
            name: String::new(),
        })?;
        let pp = PatchParams::apply(FIELD_MANAGER).force();
        Ok(self
            .api::<K>()
            .patch(&name, &pp, &Patch::Apply(obj))
            .await?)
    }

    /// Create unless it exists; an existing object is returned unchanged.
    async fn create_once<K>(&self, obj: &K) -> Result<K, ClientError>
    where
        K: Resource<Scope = kube::core::NamespaceResourceScope>
            + Clone
            + std::fmt::Debug
            + Serialize
            + DeserializeOwned,
        <K as Resource>::DynamicType: Default,
    {
        let name = obj.meta().name.clone().ok_or(ClientError::Unnamed {
            kind: "object",
            name: String::new(),
        })?;
        let api = self.api::<K>();
        if let Some(existing) = api.get_opt(&name).await? {
            return Ok(existing);
        }
        match api.create(&PostParams::default(), obj).await {
            Ok(o) => Ok(o),
            // Created by a concurrent caller between the get and the create.
            Err(kube::Error::Api(e)) if e.code == 409 => Ok(api.get(&name).await?),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn apply_hardware(&self, hw: &Hardware) -> Result<Hardware, ClientError> {
        self.apply(hw).await
    }

    pub async fn apply_template(&self, tpl: &Template) -> Result<Template, ClientError> {
        self.apply(tpl).await
    }

    pub async fn apply_machine(&self, m: &Machine) -> Result<Machine, ClientError> {
        self.apply(m).await
    }

    /// Submit a Rufio Job once (Jobs run once; an existing one is returned).
    pub async fn submit_job(&self, job: &Job) -> Result<Job, ClientError> {
        self.create_once(job).await
    }

    /// Submit a Workflow once (an existing one, running or finished, is returned as it is).
    pub async fn submit_workflow(&self, wf: &Workflow) -> Result<Workflow, ClientError> {
        self.create_once(wf).await
    }

    pub async fn get_hardware(&self, name: &str) -> Result<Option<Hardware>, ClientError> {
        Ok(self.api::<Hardware>().get_opt(name).await?)
    }

    pub async fn get_template(&self, name: &str) -> Result<Option<Template>, ClientError> {
        Ok(self.api::<Template>().get_opt(name).await?)
    }

    pub async fn get_workflow(&self, name: &str) -> Result<Option<Workflow>, ClientError> {
        Ok(self.api::<Workflow>().get_opt(name).await?)
    }

    pub async fn get_job(&self, name: &str) -> Result<Option<Job>, ClientError> {
        Ok(self.api::<Job>().get_opt(name).await?)
    }

    /// Delete a Workflow (the worker no longer gets it); absent is fine. Returns whether it
    /// existed.
    pub async fn delete_workflow(&self, name: &str) -> Result<bool, ClientError> {
        match self
            .api::<Workflow>()
            .delete(name, &kube::api::DeleteParams::default())
            .await
        {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(e)) if e.code == 404 => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Every Workflow gpufleet created in the namespace (one list call), by name.
    pub async fn list_workflows(&self) -> Result<Vec<Workflow>, ClientError> {
        let lp = kube::api::ListParams::default().labels(&format!(
            "{}={}",
            build::MANAGED_BY_LABEL,
            build::MANAGED_BY
        ));
        Ok(self.api::<Workflow>().list(&lp).await?.items)
    }

    /// Provision a node: apply its Hardware and the Template, render the template with the
    /// request's hardware map (errors here create nothing), then submit the Workflow. Safe to
    /// call again after any failure: it resumes where the last call stopped.
    pub async fn provision(
        &self,
        hardware: &Hardware,
        template: &Template,
        req: &ProvisioningRequest,
    ) -> Result<Workflow, ClientError> {
        let wf = build::workflow(req, hardware, template)?;
        self.apply_hardware(hardware).await?;
        self.apply_template(template).await?;
        self.submit_workflow(&wf).await
    }

    /// Progress of a Workflow, or None if it does not exist.
    pub async fn workflow_progress(
        &self,
        name: &str,
    ) -> Result<Option<WorkflowProgress>, ClientError> {
        Ok(self
            .get_workflow(name)
            .await?
            .map(|wf| WorkflowProgress::from_workflow(&wf)))
    }

    /// Every change of one Workflow's progress, from a watch (re-listed after a disconnect).
    pub fn watch_workflow(
        &self,
        name: &str,
    ) -> impl Stream<Item = Result<WorkflowProgress, ClientError>> + Send + 'static {
        let cfg = watcher::Config::default().fields(&format!("metadata.name={name}"));
        let owned = name.to_string();
        watcher(self.api::<Workflow>(), cfg)
            .applied_objects()
            .map_ok(|wf| WorkflowProgress::from_workflow(&wf))
            .map_err(move |source| ClientError::Watch {
                name: owned.clone(),
                source,
            })
    }

    /// Wait, by watching, until `done` holds for the Workflow's progress.
    pub async fn wait_workflow(
        &self,
        name: &str,
        what: &str,
        timeout: Duration,
        mut done: impl FnMut(&WorkflowProgress) -> bool,
    ) -> Result<WorkflowProgress, ClientError> {
        let mut last = String::from("no status seen");
        let stream = self.watch_workflow(name);
        futures::pin_mut!(stream);
        let res = tokio::time::timeout(timeout, async {
            while let Some(p) = stream.next().await {
                let p = p?;
                if done(&p) {
                    return Ok(Some(p));
                }
                last = format!("{:?}: {}", p.phase, p.reason());
            }
            Ok::<_, ClientError>(None)
        })
        .await;
        match res {
            Ok(Ok(Some(p))) => Ok(p),
            Ok(Err(e)) => Err(e),
            _ => Err(ClientError::Timeout {
                name: name.to_string(),
                what: what.to_string(),
                secs: timeout.as_secs(),
                last,
            }),
        }
    }
}
