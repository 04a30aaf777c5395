//! The jobs contract (out-of-band operations): every test runs against SQLite and PostgreSQL.

use fleet_db::{Actor, DbError, JobFilter, JobUpdate, NewJob};
use serde_json::json;

#[macro_use]
mod common;
use common::{actor, TestDb};

contract!(
    job_lifecycle_is_audited_and_published,
    a_job_is_claimed_by_one_worker_only,
    an_expired_lease_is_taken_back_and_the_old_worker_cannot_finish,
    one_exclusive_job_per_node_and_batches_respect_their_limit
);

fn new_job(target: &str, kind: &str) -> NewJob {
    NewJob {
        kind: kind.into(),
        target: target.into(),
        driver: Some("redfish".into()),
        params: json!({"action": "cycle"}),
        batch_id: Some("b1".into()),
        deadline_ms: 60_000,
        exclusive: false,
        max_parallel: None,
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

async fn a_job_is_claimed_by_one_worker_only(db: TestDb) {
    let s = &db.store;
    let mut ids = vec![];
    for n in 0..6 {
        ids.push(
            s.create_job(&actor(), new_job(&format!("node-{n}"), "power.on"))
                .await
                .unwrap()
                .id,
        );
    }
    let worker = Actor::system("system:operations");
    // Two workers claim at once: every job goes to exactly one of them.
    let (a, b) = tokio::join!(
        s.claim_jobs(&worker, "w-a", 30_000, 6),
        s.claim_jobs(&worker, "w-b", 30_000, 6)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    let mut got: Vec<String> = a.iter().chain(b.iter()).map(|j| j.id.clone()).collect();
    got.sort();
    ids.sort();
    assert_eq!(
        got,
        ids,
        "each job claimed once: a={} b={}",
        a.len(),
        b.len()
    );
    for j in &a {
        assert_eq!(j.state, "running");
        assert_eq!(j.lease_owner.as_deref(), Some("w-a"));
        assert_eq!(j.attempts, 1);
        let stored = s.get_job(&j.id).await.unwrap();
        assert_eq!(stored.lease_owner.as_deref(), Some("w-a"));
        assert!(stored.lease_until.unwrap() > fleet_db::now_ms());
    }
    assert!(s
        .claim_jobs(&worker, "w-c", 30_000, 6)
        .await
        .unwrap()
        .is_empty());
    // Renewal answers the jobs the worker still runs; a cancel from anywhere drops one.
    let mut mine = s.renew_leases("w-a", 30_000).await.unwrap();
    mine.sort();
    let mut want: Vec<String> = a.iter().map(|j| j.id.clone()).collect();
    want.sort();
    assert_eq!(mine, want);
    if let Some(first) = a.first() {
        s.update_job(
            &actor(),
            &first.id,
            JobUpdate {
                state: Some("cancelled".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert!(!s
            .renew_leases("w-a", 30_000)
            .await
            .unwrap()
            .contains(&first.id));
    }
}

async fn an_expired_lease_is_taken_back_and_the_old_worker_cannot_finish(db: TestDb) {
    let s = &db.store;
    let worker = Actor::system("system:operations");
    let safe = s
        .create_job(&actor(), new_job("node-1", "power.on"))
        .await
        .unwrap();
    let unsafe_ = s
        .create_job(&actor(), new_job("node-2", "power.cycle"))
        .await
        .unwrap();
    // A lease of 0 ms has expired as soon as it is taken.
    let claimed = s.claim_jobs(&worker, "w-dead", 0, 2).await.unwrap();
    assert_eq!(claimed.len(), 2);
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let expired: Vec<String> = s
        .expired_jobs(100)
        .await
        .unwrap()
        .into_iter()
        .map(|j| j.id)
        .collect();
    assert!(expired.contains(&safe.id) && expired.contains(&unsafe_.id));
    let back = s
        .expire_job(
            &worker,
            &safe.id,
            true,
            "worker w-dead stopped renewing its lease",
        )
        .await
        .unwrap()
        .expect("requeued");
    assert_eq!(back.state, "queued");
    let failed = s
        .expire_job(&worker, &unsafe_.id, false, "interrupted")
        .await
        .unwrap()
        .expect("failed");
    assert_eq!(failed.state, "failed");
    assert_eq!(failed.error.as_deref(), Some("interrupted"));
    // Expiring twice does nothing.
    assert!(s
        .expire_job(&worker, &unsafe_.id, false, "again")
        .await
        .unwrap()
        .is_none());
    // Another worker takes the requeued job; the dead one can no longer record a result.
    let again = s.claim_jobs(&worker, "w-live", 30_000, 5).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].id, safe.id);
    assert_eq!(again[0].attempts, 2);
    let stale = s
        .update_job(
            &worker,
            &safe.id,
            JobUpdate {
                state: Some("succeeded".into()),
                owner: Some("w-dead".into()),
                ..Default::default()
            },
        )
        .await;
    assert!(matches!(stale, Err(DbError::Conflict(_))), "{stale:?}");
    let done = s
        .update_job(
            &worker,
            &safe.id,
            JobUpdate {
                state: Some("succeeded".into()),
                owner: Some("w-live".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(done.state, "succeeded");
    assert!(s
        .expire_job(&worker, &safe.id, true, "x")
        .await
        .unwrap()
        .is_none());
    let log = s.job_log(&safe.id, 0).await.unwrap();
    assert!(log.iter().any(|l| l.line.contains("w-dead")), "{log:?}");
}

async fn one_exclusive_job_per_node_and_batches_respect_their_limit(db: TestDb) {
    let s = &db.store;
    let excl = |node: &str| NewJob {
        exclusive: true,
        batch_id: None,
        ..new_job(node, "power.cycle")
    };
    let first = s.create_job(&actor(), excl("node-x")).await.unwrap();
    let second = s.create_job(&actor(), excl("node-x")).await;
    assert!(matches!(second, Err(DbError::Conflict(_))), "{second:?}");
    assert_eq!(
        s.live_exclusive_job("node-x").await.unwrap().map(|j| j.id),
        Some(first.id.clone())
    );
    // A read is not exclusive; another node is free.
    s.create_job(&actor(), new_job("node-x", "read.power"))
        .await
        .unwrap();
    s.create_job(&actor(), excl("node-y")).await.unwrap();
    // Once the job ends the node takes the next one.
    s.update_job(
        &actor(),
        &first.id,
        JobUpdate {
            state: Some("cancelled".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(s.live_exclusive_job("node-x").await.unwrap().is_none());
    s.create_job(&actor(), excl("node-x")).await.unwrap();

    // A batch of 5 with at most 2 running: claims stop at 2 until one ends.
    let db2 = &db.store;
    let mut batch = vec![];
    for n in 0..5 {
        batch.push(
            db2.create_job(
                &actor(),
                NewJob {
                    batch_id: Some("limited".into()),
                    max_parallel: Some(2),
                    ..new_job(&format!("b-{n}"), "read.power")
                },
            )
            .await
            .unwrap(),
        );
    }
    let worker = Actor::system("system:operations");
    let mut running = 0;
    for _ in 0..3 {
        let got = db2.claim_jobs(&worker, "w", 30_000, 100).await.unwrap();
        running += got
            .iter()
            .filter(|j| j.batch_id.as_deref() == Some("limited"))
            .count();
    }
    assert_eq!(running, 2, "the batch's limit holds across claims");
}
