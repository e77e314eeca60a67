//! Bounded-memory duplicate-content detection: a FIFO window of the most recent content hashes.
//! Memory is `capacity` entries at most; older content falls out of the window and is no longer
//! recognised, which is the trade-off for streaming forever.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

pub struct DedupWindow {
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Content hash (first 16 bytes of sha256) -> first document id seen with it.
    first_id: HashMap<[u8; 16], String>,
    order: VecDeque<[u8; 16]>,
}

/// What the window knew about a document's content.
#[derive(Debug, PartialEq, Eq)]
pub enum Seen {
    New,
    /// Same id again: a replay, which is not a content duplicate.
    SameId,
    DuplicateOf(String),
}

impl DedupWindow {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            inner: Mutex::new(Inner::default()),
        }
    }

    pub fn check(&self, hash: [u8; 16], id: &str) -> Seen {
        if self.capacity == 0 {
            return Seen::New;
        }
        let Ok(mut inner) = self.inner.lock() else {
            return Seen::New;
        };
        if let Some(first) = inner.first_id.get(&hash) {
            return if first == id {
                Seen::SameId
            } else {
                Seen::DuplicateOf(first.clone())
            };
        }
        if inner.order.len() >= self.capacity {
            if let Some(old) = inner.order.pop_front() {
                inner.first_id.remove(&old);
            }
        }
        inner.first_id.insert(hash, id.to_string());
        inner.order.push_back(hash);
        Seen::New
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_and_forgets() {
        let w = DedupWindow::new(2);
        assert_eq!(w.check([1; 16], "a"), Seen::New);
        assert_eq!(w.check([1; 16], "a"), Seen::SameId);
        assert_eq!(w.check([1; 16], "b"), Seen::DuplicateOf("a".into()));
        assert_eq!(w.check([2; 16], "c"), Seen::New);
        assert_eq!(w.check([3; 16], "d"), Seen::New);
        // [1] fell out of the window.
        assert_eq!(w.check([1; 16], "e"), Seen::New);
    }
}
