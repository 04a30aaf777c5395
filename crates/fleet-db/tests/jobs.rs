//! The jobs contract (out-of-band operations): every test runs against SQLite and PostgreSQL.

use fleet_db::{Actor, DbError, JobFilter, JobUpdate, NewJob};
use serde_json::json;

#[macro_use]
mod common;
use common::{actor, TestDb};

contract!(
    job_lifecycle_is_audited_and_published,
    running_jobs_fail_and_queued_resume_at_start_up
);

fn new_job(target: &str, kind: &str) -> NewJob {
    NewJob {
        kind: kind.into(),
        target: target.into(),
        driver: Some("redfish".into()),
        params: json!({"action": "cycle"}),
        batch_id: Some("b1".into()),
        deadline_ms: 60_000,
    }
}

async fn job_lifecycle_is_audited_and_published(db: TestDb) {
    let s = &db.store;
    let j = s
        .create_job(&actor(), new_job("node-1", "power.cycle"))
        .await
        .unwrap();
    assert_eq!(j.state, "queued");
    let j = s
        .update_job(
            &actor(),
            &j.id,
            JobUpdate {
                state: Some("running".into()),
                step: Some("reset".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(j.started_at.is_some());
    // Progress without a state change publishes nothing.
    s.update_job(
        &actor(),
        &j.id,
        JobUpdate {
            progress: Some(40),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    s.append_job_log(&j.id, "reset sent").await.unwrap();
    s.append_job_log(&j.id, "power on").await.unwrap();
    let j = s
        .update_job(
            &actor(),
            &j.id,
            JobUpdate {
                state: Some("succeeded".into()),
                result: Some(json!({"power": "on"})),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(j.progress, 100);
    assert!(j.finished_at.is_some());
    // A final state is final.
    let e = s
        .update_job(
            &actor(),
            &j.id,
            JobUpdate {
                state: Some("running".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(e, DbError::Conflict(_)), "{e}");

    let log = s.job_log(&j.id, 0).await.unwrap();
    assert_eq!(
        log.iter().map(|l| l.line.as_str()).collect::<Vec<_>>(),
        ["reset sent", "power on"]
    );
    assert_eq!(s.job_log(&j.id, log[0].id).await.unwrap().len(), 1);

    let events = s.outbox_list(Some("node-1"), 0, 100).await.unwrap();
    let types: Vec<&str> = events.iter().map(|e| e.ty.as_str()).collect();
    assert_eq!(
        types,
        [
            "io.gpufleet.job.queued.v1",
            "io.gpufleet.job.started.v1",
            "io.gpufleet.job.succeeded.v1"
        ],
        "one event per state change"
    );

    let other = s
        .create_job(&actor(), new_job("node-2", "boot.set"))
        .await
        .unwrap();
    assert_eq!(
        s.list_jobs(&JobFilter {
            target: Some("node-2".into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .len(),
        1
    );
    assert_eq!(
        s.list_jobs(&JobFilter {
            state: Some("succeeded".into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .len(),
        1
    );
    assert_eq!(
        s.list_jobs(&JobFilter {
            batch_id: Some("b1".into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .len(),
        2
    );
    assert_eq!(s.get_job(&other.id).await.unwrap().kind, "boot.set");
    assert!(matches!(s.get_job("nope").await, Err(DbError::NotFound(_))));
}

async fn running_jobs_fail_and_queued_resume_at_start_up(db: TestDb) {
    let s = &db.store;
    let a = s
        .create_job(&actor(), new_job("node-1", "power.on"))
        .await
        .unwrap();
    let b = s
        .create_job(&actor(), new_job("node-2", "power.on"))
        .await
        .unwrap();
    s.update_job(
        &actor(),
        &a.id,
        JobUpdate {
            state: Some("running".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let (failed, queued) = s.recover_jobs(&Actor::system("startup")).await.unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].id, a.id);
    assert_eq!(failed[0].state, "failed");
    assert!(failed[0].error.as_deref().unwrap().contains("restarted"));
    assert_eq!(
        queued.iter().map(|j| j.id.clone()).collect::<Vec<_>>(),
        [b.id]
    );
}
