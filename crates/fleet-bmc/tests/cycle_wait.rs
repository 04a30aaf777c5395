//! `wait_power_cycle` against a BMC whose power readings follow a script: "on" read before the
//! off phase is not success; a node that never goes off ends in a clear error at the deadline.

use std::sync::Mutex;
use std::time::Duration;

use fleet_bmc::{
    wait_power_cycle, BmcError, BootOverride, OutOfBand, PowerAction, PowerState, Result, SelEntry,
    Sensor,
};

/// Reads after which the scripted BMC fails every read: a loop that ignored its deadline ends in
/// that error instead of hanging the test.
const READ_LIMIT: usize = 100;

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
        if self.reads() > READ_LIMIT {
            return Err(BmcError::Invalid(format!(
                "read {} times: the deadline was ignored",
                self.reads()
            )));
        }
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
    assert!(matches!(e, BmcError::Task { .. }), "{e:?}");
    // Not before the deadline; and with one read per 100 ms pause at most 7 reads fit in 600 ms
    // (a slow machine makes fewer, never more), so more means the deadline was not kept.
    // Neither bound depends on how fast this machine is.
    assert!(
        t.elapsed() >= Duration::from_millis(600),
        "{:?}",
        t.elapsed()
    );
    assert!((1..=7).contains(&b.reads()), "{} reads", b.reads());
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
