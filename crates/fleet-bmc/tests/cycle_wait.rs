//! `wait_power_cycle` against a BMC whose power readings follow a script: "on" read before the
//! off phase is not success; a node that never goes off ends in a clear error at the deadline.

use std::sync::Mutex;
use std::time::Duration;

use fleet_bmc::{
    wait_power_cycle, BmcError, BootOverride, OutOfBand, PowerAction, PowerState, Result, SelEntry,
    Sensor,
};

/// Answers the scripted readings in order, then repeats the last one.
struct Scripted {
    readings: Mutex<Vec<PowerState>>,
    reads: Mutex<usize>,
}

impl Scripted {
    fn new(r: &[PowerState]) -> Self {
        Scripted {
            readings: Mutex::new(r.iter().rev().copied().collect()),
            reads: Mutex::new(0),
        }
    }
    fn reads(&self) -> usize {
        *self.reads.lock().unwrap()
    }
}

#[async_trait::async_trait]
impl OutOfBand for Scripted {
    fn driver(&self) -> &'static str {
        "scripted"
    }
    fn endpoint(&self) -> &str {
        "scripted-bmc"
    }
    async fn power_state(&self) -> Result<PowerState> {
        *self.reads.lock().unwrap() += 1;
        let mut r = self.readings.lock().unwrap();
        Ok(if r.len() > 1 { r.pop().unwrap() } else { r[0] })
    }
    async fn power(&self, _: PowerAction) -> Result<()> {
        Ok(())
    }
    async fn set_boot(&self, _: BootOverride) -> Result<()> {
        Ok(())
    }
    async fn boot(&self) -> Result<BootOverride> {
        Err(self.unsupported("boot"))
    }
    async fn sel(&self) -> Result<Vec<SelEntry>> {
        Ok(vec![])
    }
    async fn clear_sel(&self) -> Result<()> {
        Ok(())
    }
    async fn sensors(&self) -> Result<Vec<Sensor>> {
        Ok(vec![])
    }
}

use PowerState::*;

#[tokio::test]
async fn on_before_the_off_phase_is_not_success() {
    let b = Scripted::new(&[On, On, On, Off, Off, On]);
    wait_power_cycle(&b, Duration::from_secs(10)).await.unwrap();
    assert_eq!(
        b.reads(),
        6,
        "returned before the node went off and came back"
    );
}

#[tokio::test]
async fn a_reported_transition_counts_as_the_off_phase() {
    let b = Scripted::new(&[On, PoweringOff, PoweringOn, On]);
    wait_power_cycle(&b, Duration::from_secs(10)).await.unwrap();
    assert_eq!(b.reads(), 4);
}

#[tokio::test]
async fn a_node_that_never_goes_off_fails_at_the_deadline() {
    let b = Scripted::new(&[On]);
    let t = std::time::Instant::now();
    let e = wait_power_cycle(&b, Duration::from_millis(600))
        .await
        .unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(5));
    assert!(matches!(e, BmcError::Task { .. }), "{e:?}");
    assert!(
        e.to_string().contains("did not report off"),
        "unclear message: {e}"
    );
}

#[tokio::test]
async fn a_node_that_stays_off_fails_at_the_deadline() {
    let b = Scripted::new(&[On, Off]);
    let e = wait_power_cycle(&b, Duration::from_millis(600))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("still off"), "{e}");
}
