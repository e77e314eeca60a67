//! Stable mapping between label names and class indices.

use std::collections::HashMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Label names in order of first appearance; a name's index never changes, so a model
/// fitted earlier stays valid (it simply knows fewer classes) as new labels arrive.
///
/// Serialised as a plain JSON array of names; the reverse index is rebuilt on load.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSet {
    names: Vec<String>,
    index: HashMap<String, usize>,
}

impl LabelSet {
    pub fn new() -> Self {
        Self::default()
    }

    /// Index of `name`, if it was interned.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    /// Index of `name`, adding it as the next class if new.
    pub fn intern(&mut self, name: &str) -> usize {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        let i = self.names.len();
        self.names.push(name.to_owned());
        self.index.insert(name.to_owned(), i);
        i
    }

    /// Name of class `index`, if it exists.
    pub fn name(&self, index: usize) -> Option<&str> {
        self.names.get(index).map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Names in index order.
    pub fn names(&self) -> &[String] {
        &self.names
    }
}

impl Serialize for LabelSet {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.names.serialize(s)
    }
}

impl<'de> Deserialize<'de> for LabelSet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let names = Vec::<String>::deserialize(d)?;
        let mut set = LabelSet::new();
        for name in &names {
            if set.index_of(name).is_some() {
                return Err(serde::de::Error::custom(format!(
                    "duplicate label {name:?}"
                )));
            }
            set.intern(name);
        }
        Ok(set)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_are_stable_and_round_trip() {
        let mut set = LabelSet::new();
        assert_eq!(set.intern("sports"), 0);
        assert_eq!(set.intern("politics"), 1);
        assert_eq!(set.intern("sports"), 0);
        assert_eq!(set.index_of("politics"), Some(1));
        assert_eq!(set.index_of("science"), None);
        assert_eq!(set.name(1), Some("politics"));
        assert_eq!(set.name(2), None);
        let json = serde_json::to_string(&set).unwrap();
        assert_eq!(json, r#"["sports","politics"]"#);
        let back: LabelSet = serde_json::from_str(&json).unwrap();
        assert_eq!(back, set);
        assert!(serde_json::from_str::<LabelSet>(r#"["a","a"]"#).is_err());
    }
}
