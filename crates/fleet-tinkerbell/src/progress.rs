//! Workflow status → provisioning progress and the node lifecycle.
//!
//! tink-controller renders a Workflow into tasks and actions (`STATE_PENDING`); tink-server
//! records each action the worker reports (`STATE_RUNNING`, then `STATE_SUCCESS`, `STATE_FAILED`
//! or `STATE_TIMEOUT`, with a message) and the workflow's overall state. This module turns that
//! status into a [`WorkflowProgress`] (per-action progress for the API) and the lifecycle state
//! the node should be in: `provisioning`, `in_service`, or `provisioning_failed` with the failing
//! action's message.

use fleet_model::lifecycle::NodeState;
use serde::{Deserialize, Serialize};

use crate::crd::{Workflow, WorkflowStatus};

/// State of one action or of the whole workflow, as tink v0.12.2 writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TinkState {
    Preparing,
    Pending,
    Running,
    Post,
    Success,
    Failed,
    Timeout,
    /// A value this version does not know, kept as written.
    Other(String),
}

impl TinkState {
    pub fn parse(s: &str) -> TinkState {
        match s {
            "STATE_PREPARING" => TinkState::Preparing,
            "STATE_PENDING" | "" => TinkState::Pending,
            "STATE_RUNNING" => TinkState::Running,
            "STATE_POST" => TinkState::Post,
            "STATE_SUCCESS" => TinkState::Success,
            "STATE_FAILED" => TinkState::Failed,
            "STATE_TIMEOUT" => TinkState::Timeout,
            other => TinkState::Other(other.to_string()),
        }
    }
}

/// Where a provisioning workflow is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Created; tink-controller has not rendered it yet.
    Submitted,
    /// Rendered and waiting for the worker, or in tink-controller's pre/post steps.
    Pending,
    Running,
    Succeeded,
    Failed,
    TimedOut,
    /// The template could not be rendered (missing template or hardware, bad data).
    RenderFailed,
}

impl Phase {
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Phase::Succeeded | Phase::Failed | Phase::TimedOut | Phase::RenderFailed
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionProgress {
    pub task: String,
    pub worker: String,
    pub name: String,
    pub image: String,
    pub state: TinkState,
    pub started_at: Option<String>,
    pub seconds: Option<i64>,
    pub message: Option<String>,
}

/// Why provisioning failed: the action (if any) and its message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub task: Option<String>,
    pub action: Option<String>,
    pub state: TinkState,
    pub message: String,
}

/// Progress of one Workflow, for the API and the lifecycle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkflowProgress {
    pub workflow: String,
    pub phase: Phase,
    /// The state string tink wrote, as it is.
    pub state: Option<String>,
    pub current_action: Option<String>,
    pub completed_actions: usize,
    pub total_actions: usize,
    pub actions: Vec<ActionProgress>,
    pub failure: Option<Failure>,
}

impl WorkflowProgress {
    pub fn from_workflow(wf: &Workflow) -> WorkflowProgress {
        let name = wf.metadata.name.clone().unwrap_or_default();
        match &wf.status {
            Some(s) => Self::from_status(&name, s),
            None => Self::from_status(&name, &WorkflowStatus::default()),
        }
    }

    pub fn from_status(workflow: &str, s: &WorkflowStatus) -> WorkflowProgress {
        let actions: Vec<ActionProgress> = s
            .tasks
            .iter()
            .flat_map(|t| {
                t.actions.iter().map(move |a| ActionProgress {
                    task: t.name.clone(),
                    worker: t.worker.clone(),
                    name: a.name.clone().unwrap_or_default(),
                    image: a.image.clone().unwrap_or_default(),
                    state: TinkState::parse(a.status.as_deref().unwrap_or("")),
                    started_at: a.started_at.clone(),
                    seconds: a.seconds,
                    message: a.message.clone().filter(|m| !m.is_empty()),
                })
            })
            .collect();
        let completed_actions = actions
            .iter()
            .filter(|a| a.state == TinkState::Success)
            .count();
        let render_failed = s.template_rendering.as_deref() == Some("failed");
        let state = s.state.clone().filter(|x| !x.is_empty());
        let phase = if render_failed {
            Phase::RenderFailed
        } else {
            match state.as_deref().map(TinkState::parse) {
                None => Phase::Submitted,
                Some(TinkState::Preparing | TinkState::Pending | TinkState::Post) => Phase::Pending,
                Some(TinkState::Running) => Phase::Running,
                Some(TinkState::Success) => Phase::Succeeded,
                Some(TinkState::Failed) => Phase::Failed,
                Some(TinkState::Timeout) => Phase::TimedOut,
                Some(TinkState::Other(_)) => Phase::Pending,
            }
        };
        let failure = match phase {
            Phase::RenderFailed => Some(Failure {
                task: None,
                action: None,
                state: TinkState::Failed,
                message: s
                    .conditions
                    .iter()
                    .find(|c| c.type_ == "TemplateRenderedSuccess" && c.status == "False")
                    .and_then(|c| c.message.clone())
                    .unwrap_or_else(|| "template rendering failed".into()),
            }),
            Phase::Failed | Phase::TimedOut => {
                let bad = actions
                    .iter()
                    .find(|a| matches!(a.state, TinkState::Failed | TinkState::Timeout));
                Some(match bad {
                    Some(a) => Failure {
                        task: Some(a.task.clone()),
                        action: Some(a.name.clone()),
                        state: a.state.clone(),
                        message: a.message.clone().unwrap_or_else(|| {
                            if a.state == TinkState::Timeout {
                                format!("action {} timed out", a.name)
                            } else {
                                format!("action {} failed", a.name)
                            }
                        }),
                    },
                    None => Failure {
                        task: None,
                        action: s.current_action.clone(),
                        state: if phase == Phase::TimedOut {
                            TinkState::Timeout
                        } else {
                            TinkState::Failed
                        },
                        message: if phase == Phase::TimedOut {
                            "workflow timed out".into()
                        } else {
                            "workflow failed".into()
                        },
                    },
                })
            }
            _ => None,
        };
        WorkflowProgress {
            workflow: workflow.to_string(),
            phase,
            state,
            current_action: s.current_action.clone().filter(|x| !x.is_empty()),
            completed_actions,
            total_actions: actions.len(),
            actions,
            failure,
        }
    }

    /// The lifecycle state the node should be in while/after this workflow runs.
    pub fn node_state(&self) -> NodeState {
        match self.phase {
            Phase::Succeeded => NodeState::InService,
            Phase::Failed | Phase::TimedOut | Phase::RenderFailed => NodeState::ProvisioningFailed,
            Phase::Submitted | Phase::Pending | Phase::Running => NodeState::Provisioning,
        }
    }

    /// A one-line reason for the lifecycle transition, naming the failing action.
    pub fn reason(&self) -> String {
        match (&self.phase, &self.failure) {
            (_, Some(f)) => match (&f.task, &f.action) {
                (Some(t), Some(a)) => format!("workflow {}: {t}/{a}: {}", self.workflow, f.message),
                (None, Some(a)) => format!("workflow {}: {a}: {}", self.workflow, f.message),
                _ => format!("workflow {}: {}", self.workflow, f.message),
            },
            (Phase::Succeeded, None) => format!(
                "workflow {} succeeded ({} actions)",
                self.workflow, self.total_actions
            ),
            _ => format!(
                "workflow {}: {}/{} actions done{}",
                self.workflow,
                self.completed_actions,
                self.total_actions,
                self.current_action
                    .as_ref()
                    .map(|a| format!(", current {a}"))
                    .unwrap_or_default()
            ),
        }
    }
}

/// What changed between two observations of one Workflow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ProgressChange {
    /// An action's state changed (per-action progress for the API and the event stream).
    Action {
        task: String,
        action: String,
        state: TinkState,
        completed_actions: usize,
        total_actions: usize,
    },
    /// The node's lifecycle state should move (`provisioning` → `in_service` or
    /// `provisioning_failed`), with the reason to record.
    Lifecycle { to: NodeState, reason: String },
}

/// Turns the successive progress a watch delivers into changes, each reported once: a watch
/// re-delivers objects after a reconnect or re-list, and gpufleet must not repeat a transition.
#[derive(Debug, Default, Clone)]
pub struct ProgressTracker {
    last: Option<WorkflowProgress>,
}

impl ProgressTracker {
    /// Start from what was already recorded (e.g. after a restart), so nothing is reported twice.
    pub fn resume(last: Option<WorkflowProgress>) -> Self {
        ProgressTracker { last }
    }

    pub fn last(&self) -> Option<&WorkflowProgress> {
        self.last.as_ref()
    }

    pub fn observe(&mut self, p: WorkflowProgress) -> Vec<ProgressChange> {
        let mut out = Vec::new();
        let before = self.last.as_ref();
        for a in &p.actions {
            let old = before.and_then(|b| {
                b.actions
                    .iter()
                    .find(|x| x.task == a.task && x.name == a.name)
                    .map(|x| &x.state)
            });
            if old != Some(&a.state) && !(old.is_none() && a.state == TinkState::Pending) {
                out.push(ProgressChange::Action {
                    task: a.task.clone(),
                    action: a.name.clone(),
                    state: a.state.clone(),
                    completed_actions: p.completed_actions,
                    total_actions: p.total_actions,
                });
            }
        }
        let old_state = before.map(|b| b.node_state());
        let new_state = p.node_state();
        if old_state != Some(new_state) && new_state != NodeState::Provisioning {
            out.push(ProgressChange::Lifecycle {
                to: new_state,
                reason: p.reason(),
            });
        }
        self.last = Some(p);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::{WorkflowAction, WorkflowCondition, WorkflowTask};

    fn status(state: &str, actions: &[(&str, &str, Option<&str>)]) -> WorkflowStatus {
        WorkflowStatus {
            state: Some(state.into()),
            current_action: actions.last().map(|a| a.0.to_string()),
            template_rendering: Some("successful".into()),
            tasks: vec![WorkflowTask {
                name: "os-installation".into(),
                worker: "3c:ec:ef:4c:4f:54".into(),
                actions: actions
                    .iter()
                    .map(|(n, st, m)| WorkflowAction {
                        name: Some(n.to_string()),
                        image: Some("alpine".into()),
                        status: Some(st.to_string()),
                        message: m.map(str::to_string),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    #[test]
    fn pending_running_success() {
        let p = WorkflowProgress::from_status("wf", &WorkflowStatus::default());
        assert_eq!(p.phase, Phase::Submitted);
        assert_eq!(p.node_state(), NodeState::Provisioning);

        let p = WorkflowProgress::from_status(
            "wf",
            &status("STATE_PENDING", &[("a", "STATE_PENDING", None)]),
        );
        assert_eq!(p.phase, Phase::Pending);

        let p = WorkflowProgress::from_status(
            "wf",
            &status(
                "STATE_RUNNING",
                &[("a", "STATE_SUCCESS", None), ("b", "STATE_RUNNING", None)],
            ),
        );
        assert_eq!(p.phase, Phase::Running);
        assert_eq!((p.completed_actions, p.total_actions), (1, 2));
        assert_eq!(p.node_state(), NodeState::Provisioning);
        assert!(
            p.reason().contains("1/2 actions done, current b"),
            "{}",
            p.reason()
        );

        let p = WorkflowProgress::from_status(
            "wf",
            &status("STATE_SUCCESS", &[("a", "STATE_SUCCESS", None)]),
        );
        assert_eq!(p.node_state(), NodeState::InService);
        assert!(p.phase.is_terminal());
    }

    #[test]
    fn failure_names_the_action_and_message() {
        let p = WorkflowProgress::from_status(
            "wf",
            &status(
                "STATE_FAILED",
                &[
                    ("stream", "STATE_SUCCESS", None),
                    ("cuda", "STATE_FAILED", Some("exit status 2: no GPU")),
                ],
            ),
        );
        assert_eq!(p.node_state(), NodeState::ProvisioningFailed);
        let f = p.failure.clone().unwrap();
        assert_eq!(f.action.as_deref(), Some("cuda"));
        assert_eq!(f.message, "exit status 2: no GPU");
        assert_eq!(
            p.reason(),
            "workflow wf: os-installation/cuda: exit status 2: no GPU"
        );

        let p = WorkflowProgress::from_status(
            "wf",
            &status("STATE_TIMEOUT", &[("stream", "STATE_TIMEOUT", None)]),
        );
        assert_eq!(p.phase, Phase::TimedOut);
        assert_eq!(p.failure.unwrap().message, "action stream timed out");
    }

    #[test]
    fn render_failure() {
        let s = WorkflowStatus {
            template_rendering: Some("failed".into()),
            conditions: vec![WorkflowCondition {
                type_: "TemplateRenderedSuccess".into(),
                status: "False".into(),
                reason: Some("Error".into()),
                message: Some("template not found".into()),
                time: None,
            }],
            ..Default::default()
        };
        let p = WorkflowProgress::from_status("wf", &s);
        assert_eq!(p.phase, Phase::RenderFailed);
        assert_eq!(p.node_state(), NodeState::ProvisioningFailed);
        assert_eq!(p.failure.unwrap().message, "template not found");
    }

    #[test]
    fn tracker_reports_each_change_once() {
        let mut t = ProgressTracker::default();
        let p = |st: &str, acts: &[(&str, &str, Option<&str>)]| {
            WorkflowProgress::from_status("wf", &status(st, acts))
        };
        assert!(t
            .observe(p("STATE_PENDING", &[("a", "STATE_PENDING", None)]))
            .is_empty());
        let c = t.observe(p("STATE_RUNNING", &[("a", "STATE_RUNNING", None)]));
        assert!(matches!(
            &c[..],
            [ProgressChange::Action {
                state: TinkState::Running,
                ..
            }]
        ));
        // The same observation again (a watch re-list): nothing new.
        assert!(t
            .observe(p("STATE_RUNNING", &[("a", "STATE_RUNNING", None)]))
            .is_empty());
        let c = t.observe(p("STATE_FAILED", &[("a", "STATE_FAILED", Some("boom"))]));
        assert_eq!(c.len(), 2, "{c:?}");
        assert_eq!(
            c[1],
            ProgressChange::Lifecycle {
                to: NodeState::ProvisioningFailed,
                reason: "workflow wf: os-installation/a: boom".into()
            }
        );
        // Resumed after a restart from the last recorded progress: no repeat.
        let last = t.last().cloned();
        let mut t2 = ProgressTracker::resume(last);
        assert!(t2
            .observe(p("STATE_FAILED", &[("a", "STATE_FAILED", Some("boom"))]))
            .is_empty());
    }
}
