//! The [`Curator`]: the labeling queue's whole state machine. Split by concern:
//! - [`offer`](self::offer): routing scored documents (auto-label, audit, queue, drop).
//! - [`lease`](self::lease): leasing, extending, releasing, expiring; gold injection, diversity.
//! - [`submit`](self::submit): labels, skips, replayed events, consensus and finalization.
//! - [`report`](self::report): stats, costs, agreement, threshold calibration, control knobs.
//! - [`rescore`](self::rescore): re-ranking untouched tasks under a newer classifier.

mod index;
mod lease;
mod offer;
mod report;
mod rescore;
mod state;
mod submit;
#[cfg(test)]
mod tests;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::config::CurationConfig;
use crate::error::CurationError;
use index::Index;
pub use rescore::StaleTask;
use state::State;

/// Version of the snapshot format, checked on load.
pub const SNAPSHOT_FORMAT: u32 = 1;

/// The labeling queue. Pure and deterministic: no clock, no I/O, no randomness; time comes in
/// as `now_ms`. Not internally synchronized: wrap it in a `Mutex` in the service.
///
/// `Serialize`/`Deserialize` produce/consume a complete snapshot (config + state); indexes are
/// rebuilt on load.
#[derive(Debug, Clone)]
pub struct Curator {
    config: CurationConfig,
    state: State,
    index: Index,
}

impl Curator {
    /// A fresh, empty queue.
    pub fn new(config: CurationConfig) -> Result<Self, CurationError> {
        config.validate()?;
        let state = State {
            threshold: config.routing.auto_label_threshold,
            ..State::default()
        };
        Ok(Curator {
            config,
            state,
            index: Index::default(),
        })
    }

    /// Replaces the configuration (e.g. a restored snapshot under a new config file), keeping
    /// all state. The learned auto-label threshold is kept; call
    /// [`set_auto_label_threshold`](Self::set_auto_label_threshold) to override it.
    pub fn with_config(mut self, config: CurationConfig) -> Result<Self, CurationError> {
        config.validate()?;
        self.config = config;
        Ok(self)
    }

    pub fn config(&self) -> &CurationConfig {
        &self.config
    }

    fn validate_annotator(annotator: &str) -> Result<(), CurationError> {
        if annotator.trim().is_empty() {
            return Err(CurationError::InvalidAnnotator(
                "empty annotator name".into(),
            ));
        }
        Ok(())
    }

    fn next_seq(&mut self) -> u64 {
        let seq = self.state.next_seq;
        self.state.next_seq += 1;
        seq
    }
}

#[derive(Serialize)]
struct SnapshotRef<'a> {
    format: u32,
    config: &'a CurationConfig,
    state: &'a State,
}

#[derive(Deserialize)]
struct SnapshotOwned {
    format: u32,
    config: CurationConfig,
    state: State,
}

impl Serialize for Curator {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        SnapshotRef {
            format: SNAPSHOT_FORMAT,
            config: &self.config,
            state: &self.state,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Curator {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let snap = SnapshotOwned::deserialize(deserializer)?;
        if snap.format != SNAPSHOT_FORMAT {
            return Err(D::Error::custom(format!(
                "snapshot format {} is not {SNAPSHOT_FORMAT}",
                snap.format
            )));
        }
        snap.config.validate().map_err(D::Error::custom)?;
        let index = Index::rebuild(&snap.state);
        Ok(Curator {
            config: snap.config,
            state: snap.state,
            index,
        })
    }
}
