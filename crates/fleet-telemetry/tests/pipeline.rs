//! The pieces together, as the ingest will use them: a pushed line-protocol body and a scraped
//! dcgm-exporter page are turned into batches, resolved against the CMDB (an in-memory
//! resolver here), fed to the health tracker and the alert evaluator; an XID from the kernel
//! log turns the GPU failed and raises the default rules.

use std::collections::BTreeMap;

use fleet_telemetry::health::{HealthConfig, HealthState, HealthTracker, Reason, Subject};
use fleet_telemetry::kmsg;
use fleet_telemetry::line_protocol::{parse_body, Limits, Precision};
use fleet_telemetry::prometheus;
use fleet_telemetry::rules::{default_rules, AlertEvaluator, TransitionKind};
use fleet_telemetry::sample::{
    batches_from_exposition, batches_from_points, resolve, AssetRef, MemoryResolver, SampleKey,
    UnknownSenders, Unmapped,
};
use fleet_telemetry::xid::XidCatalog;
use fleet_telemetry::SECOND;

const T0: i64 = 1_764_000_000 * SECOND;

fn cmdb() -> MemoryResolver {
    let mut r = MemoryResolver::new();
    for i in 0..2u32 {
        let asset = AssetRef {
            asset: format!("gpu-serial-{i}"),
            node: Some("node-001".into()),
            labels: [("rack", "r1"), ("model", "H100"), ("profile", "dgx-h100")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        r.insert(
            SampleKey::GpuUuid {
                uuid: format!("GPU-{i}"),
            },
            asset.clone(),
        );
        r.insert(
            SampleKey::NodeGpu {
                node: "node-001".into(),
                index: i,
            },
            asset,
        );
    }
    r
}

fn series_labels(a: &AssetRef, gpu_index: u32) -> BTreeMap<String, String> {
    let mut l = a.labels.clone();
    l.insert("node".into(), a.node.clone().unwrap_or_default());
    l.insert("gpu".into(), gpu_index.to_string());
    l
}

#[test]
fn push_scrape_health_and_alerts() {
    let resolver = cmdb();
    let mut unknown = UnknownSenders::default();
    let mut unmapped = Unmapped::default();
    let mut health = HealthTracker::new(HealthConfig::default(), XidCatalog::builtin());
    let mut alerts = AlertEvaluator::new(default_rules().expect("default rules"));

    // Push: GPU 0 from the agent, plus a stranger.
    let body = format!(
        "gpu,uuid=GPU-0,node=node-001,gpu=0 gpu_temp=45,power_usage=350.5,xid=0i {}\n\
         gpu,uuid=GPU-99,node=node-404,gpu=0 gpu_temp=40 {}\n\
         gpu,uuid=GPU-0 gpu_temp=oops {}\n",
        T0, T0, T0
    );
    let parsed = parse_body(body.as_bytes(), Precision::Ns, &Limits::default());
    assert_eq!(parsed.errors.len(), 1);
    assert_eq!(parsed.errors[0].line, 3);
    // Scrape: GPU 1 from dcgm-exporter, identified by hostname + index only.
    let page = "# TYPE DCGM_FI_DEV_GPU_TEMP gauge\n\
        DCGM_FI_DEV_GPU_TEMP{gpu=\"1\",Hostname=\"node-001\",modelName=\"NVIDIA H100 80GB HBM3\"} 50\n\
        DCGM_FI_DEV_XID_ERRORS{gpu=\"1\",Hostname=\"node-001\",modelName=\"NVIDIA H100 80GB HBM3\"} 0\n";
    let exp = prometheus::parse(page);

    let mut batches = batches_from_points(&parsed.points, &mut unmapped);
    batches.extend(batches_from_exposition(&exp, T0, &mut unmapped));
    let mut changes = Vec::new();
    for b in &batches {
        let Some(asset) = resolve(&resolver, &b.identity, b.values.len() as u64, &mut unknown)
        else {
            continue;
        };
        let at = b.timestamp.unwrap_or(T0);
        changes.extend(health.observe(&asset.asset, asset.node.as_deref(), at, &b.values));
        let labels = series_labels(&asset, b.identity.gpu_index.unwrap_or(0));
        assert!(alerts
            .observe(&asset.asset, &labels, at, &b.values)
            .is_empty());
    }
    assert_eq!(unknown.total(), 1);
    assert!(unknown.by_key.contains_key(&SampleKey::GpuUuid {
        uuid: "GPU-99".into()
    }));
    let healthy: Vec<_> = changes
        .iter()
        .filter(|c| c.new.state == HealthState::Healthy)
        .map(|c| c.subject.clone())
        .collect();
    assert_eq!(
        healthy,
        vec![
            Subject::Gpu("gpu-serial-0".into()),
            Subject::Node("node-001".into()),
            Subject::Gpu("gpu-serial-1".into()),
        ]
    );

    // The kernel log reports XID 79 for the GPU at 0000:3b:00; the agent maps the PCI address
    // to the GPU (here: GPU 1) and reports it.
    let ev = kmsg::parse_line(
        "4,1310,5223041,-;NVRM: Xid (PCI:0000:3b:00): 79, pid=2049, name=python3, GPU has fallen off the bus.",
    )
    .expect("an XID line");
    let at = T0 + 10 * SECOND;
    let changes = health.observe_xid("gpu-serial-1", Some("node-001"), ev.xid, at);
    assert_eq!(changes.len(), 2);
    assert_eq!(changes[0].new.state, HealthState::Failed);
    assert!(matches!(
        &changes[0].new.reasons[0],
        Reason::Xid { code: 79, bucket, .. } if bucket == "RESTART_BM"
    ));
    assert_eq!(changes[1].subject, Subject::Node("node-001".into()));
    assert_eq!(changes[1].new.state, HealthState::Failed);

    // The health change and the XID gauge both raise alerts.
    let asset = resolver
        .resolve_uuid("GPU-1")
        .expect("GPU-1 is in the CMDB");
    let labels = series_labels(&asset, 1);
    let t = alerts.observe_health("gpu-serial-1", &labels, at, HealthState::Failed);
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].rule, "GpuHealthFailed");
    assert_eq!(t[0].kind, TransitionKind::Raised);
    assert_eq!(t[0].annotations["summary"], "GPU 1 on node-001 is failed");
    assert_eq!(t[0].labels["rack"], "r1");
    let t = alerts.observe(
        "gpu-serial-1",
        &labels,
        at,
        &[(fleet_telemetry::fields::GpuField::XidErrors, 79.0)],
    );
    assert_eq!(t[0].rule, "GpuXid79FallenOffBus");

    // The GPU falls silent: missing, and the absent rule fires; the node stays failed.
    let changes = health.tick(T0 + 200 * SECOND);
    assert!(changes
        .iter()
        .any(|c| c.subject == Subject::Gpu("gpu-serial-0".into())
            && c.new.state == HealthState::Missing));
    let t = alerts.tick(T0 + 200 * SECOND);
    assert!(t
        .iter()
        .any(|t| t.rule == "GpuTelemetryMissing" && t.series == "gpu-serial-0"));
    assert_eq!(
        health.node_health("node-001").unwrap().state,
        HealthState::Failed
    );
}

trait ResolveUuid {
    fn resolve_uuid(&self, uuid: &str) -> Option<AssetRef>;
}

impl ResolveUuid for MemoryResolver {
    fn resolve_uuid(&self, uuid: &str) -> Option<AssetRef> {
        use fleet_telemetry::sample::Resolver;
        self.resolve(&SampleKey::GpuUuid { uuid: uuid.into() })
    }
}
