//! Sets of SFC objects that one client owns, by name prefix: an agent that programs qdp from
//! another source of truth (the OpenStack agent) hands qdp the whole set it wants, and
//! [`Pipeline::replace_owned`] puts exactly that set in place of the objects the prefix names,
//! leaving every other object of the pipeline as it was.

use serde::{Deserialize, Serialize};

use super::{ExitConfig, NeighborConfig, PathConfig, Pipeline, RuleConfig, SfConfig};

/// Longest owner prefix: object names are at most 32 characters and need room after it.
pub const MAX_PREFIX: usize = 16;

/// The SFC objects of one owner. Every name starts with the owner's prefix; classifier rules
/// must have a name.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OwnedSet {
    #[serde(default)]
    pub neighbors: Vec<NeighborConfig>,
    #[serde(default)]
    pub sfs: Vec<SfConfig>,
    #[serde(default)]
    pub exits: Vec<ExitConfig>,
    #[serde(default)]
    pub paths: Vec<PathConfig>,
    #[serde(default)]
    pub classifier: Vec<RuleConfig>,
}

/// A part of an owner's set that stands or falls as a whole (an agent sends one per chain):
/// qdp applies every unit it can and refuses, naming it, each one that would break the pipeline.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OwnedUnit {
    /// How the owner calls it, for errors and `show agent`.
    pub name: String,
    #[serde(default)]
    pub set: OwnedSet,
}

/// Appends `add`'s objects not already in `to`; an object of the same name but other fields
/// is a conflict, named.
fn merge_into<T: Clone + PartialEq>(
    to: &mut Vec<T>,
    add: &[T],
    name: impl Fn(&T) -> Option<&str>,
    section: &str,
) -> Result<(), String> {
    for x in add {
        match to.iter().find(|y| name(y).is_some() && name(y) == name(x)) {
            Some(y) if y == x => {}
            Some(_) => {
                return Err(format!(
                    "{section} '{}' is given twice with different fields",
                    name(x).unwrap_or_default()
                ))
            }
            None => to.push(x.clone()),
        }
    }
    Ok(())
}

impl OwnedSet {
    /// This set with `other`'s objects added (objects both hold, equal, once); refused when
    /// both name one object with different fields.
    pub fn merged(&self, other: &OwnedSet) -> Result<OwnedSet, String> {
        let mut m = self.clone();
        merge_into(
            &mut m.neighbors,
            &other.neighbors,
            |x| Some(&x.name),
            "neighbor",
        )?;
        merge_into(&mut m.sfs, &other.sfs, |x| Some(&x.name), "SF")?;
        merge_into(&mut m.exits, &other.exits, |x| Some(&x.name), "exit")?;
        merge_into(&mut m.paths, &other.paths, |x| Some(&x.name), "path")?;
        merge_into(
            &mut m.classifier,
            &other.classifier,
            |x| x.name.as_deref(),
            "rule",
        )?;
        Ok(m)
    }

    /// How many objects it holds.
    pub fn len(&self) -> usize {
        self.neighbors.len()
            + self.sfs.len()
            + self.exits.len()
            + self.paths.len()
            + self.classifier.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What [`Pipeline::replace_owned`] changed: objects added and removed, counted by name (an
/// object whose name stays but whose fields change counts in both).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct OwnedDelta {
    pub added: usize,
    pub removed: usize,
}

/// Checks an owner prefix: 1..=16 letters, digits, '-' or '_'.
pub fn check_prefix(prefix: &str) -> Result<(), String> {
    if prefix.is_empty()
        || prefix.len() > MAX_PREFIX
        || !prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(format!(
            "prefix: '{prefix}' must be 1..{MAX_PREFIX} letters, digits, '-' or '_'"
        ));
    }
    Ok(())
}

fn owned<'a, T>(
    items: &'a [T],
    name: impl Fn(&T) -> Option<&str> + 'a,
    prefix: &'a str,
) -> impl Iterator<Item = &'a T> + 'a {
    items
        .iter()
        .filter(move |x| name(x).is_some_and(|n| n.starts_with(prefix)))
}

/// Counts what `new` adds to `old` and removes from it: objects equal in both are kept, one
/// whose fields change counts as removed and added.
fn delta<T: PartialEq>(old: &[T], new: &[T]) -> OwnedDelta {
    OwnedDelta {
        added: new.iter().filter(|n| !old.contains(n)).count(),
        removed: old.iter().filter(|o| !new.contains(o)).count(),
    }
}

impl Pipeline {
    /// The objects `prefix` owns, as a set.
    pub fn owned_set(&self, prefix: &str) -> OwnedSet {
        OwnedSet {
            neighbors: owned(&self.neighbors, |x| Some(&x.name), prefix)
                .cloned()
                .collect(),
            sfs: owned(&self.sfs, |x| Some(&x.name), prefix)
                .cloned()
                .collect(),
            exits: owned(&self.exits, |x| Some(&x.name), prefix)
                .cloned()
                .collect(),
            paths: owned(&self.paths, |x| Some(&x.name), prefix)
                .cloned()
                .collect(),
            classifier: owned(&self.classifier, |x| x.name.as_deref(), prefix)
                .cloned()
                .collect(),
        }
    }

    /// Replaces the objects `prefix` owns by `set`: those whose name starts with the prefix are
    /// removed, `set`'s are appended to their sections. Returns what changed, or `None` when the
    /// pipeline already held exactly `set` (then it is left untouched). Refused, with the field,
    /// when an object of `set` is not named with the prefix or a rule has no name; nothing is
    /// changed then. The caller checks the result as it checks any change.
    pub fn replace_owned(
        &mut self,
        prefix: &str,
        set: &OwnedSet,
    ) -> Result<Option<OwnedDelta>, String> {
        check_prefix(prefix)?;
        let named = |section: &str, names: Vec<Option<&str>>| -> Result<(), String> {
            for (i, n) in names.into_iter().enumerate() {
                match n {
                    Some(n) if n.starts_with(prefix) => {}
                    Some(n) => {
                        return Err(format!(
                            "set.{section}[{i}].name: '{n}' does not start with the prefix '{prefix}'"
                        ))
                    }
                    None => {
                        return Err(format!(
                            "set.{section}[{i}].name: missing; every rule of an owned set is named with the prefix '{prefix}'"
                        ))
                    }
                }
            }
            Ok(())
        };
        named(
            "neighbors",
            set.neighbors
                .iter()
                .map(|x| Some(x.name.as_str()))
                .collect(),
        )?;
        named(
            "sfs",
            set.sfs.iter().map(|x| Some(x.name.as_str())).collect(),
        )?;
        named(
            "exits",
            set.exits.iter().map(|x| Some(x.name.as_str())).collect(),
        )?;
        named(
            "paths",
            set.paths.iter().map(|x| Some(x.name.as_str())).collect(),
        )?;
        named(
            "classifier",
            set.classifier.iter().map(|x| x.name.as_deref()).collect(),
        )?;

        let old = self.owned_set(prefix);
        if &old == set {
            return Ok(None);
        }
        let mut d = OwnedDelta::default();
        let mut add = |x: OwnedDelta| {
            d.added += x.added;
            d.removed += x.removed;
        };
        add(delta(&old.neighbors, &set.neighbors));
        add(delta(&old.sfs, &set.sfs));
        add(delta(&old.exits, &set.exits));
        add(delta(&old.paths, &set.paths));
        add(delta(&old.classifier, &set.classifier));

        let mine = |n: &str| n.starts_with(prefix);
        self.neighbors.retain(|x| !mine(&x.name));
        self.sfs.retain(|x| !mine(&x.name));
        self.exits.retain(|x| !mine(&x.name));
        self.paths.retain(|x| !mine(&x.name));
        self.classifier
            .retain(|x| !x.name.as_deref().is_some_and(mine));
        self.neighbors.extend(set.neighbors.iter().cloned());
        self.sfs.extend(set.sfs.iter().cloned());
        self.exits.extend(set.exits.iter().cloned());
        self.paths.extend(set.paths.iter().cloned());
        self.classifier.extend(set.classifier.iter().cloned());
        Ok(Some(d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
[eal]
cores = [0]
[[ports]]
name = "p0"
vdev = "net_null0"
[[ports]]
name = "p1"
vdev = "net_null1"
[[workers]]
name = "w0"
core = 0
rx = ["p0", "p1"]
[[exits]]
name = "out"
port = "p1"
[[paths]]
name = "mine"
spi = 1
hops = [{ si = 255, end = "out" }]
[[classifier]]
name = "own"
in_port = "p0"
path = "mine"
"#;

    fn set(json: serde_json::Value) -> OwnedSet {
        serde_json::from_value(json).unwrap()
    }

    fn agent_set() -> OwnedSet {
        set(serde_json::json!({
            "exits": [{ "name": "os-x", "port": "p1", "dst_mac": "02:00:00:00:00:01" }],
            "paths": [{ "name": "os-c1", "spi": 7, "hops": [{ "si": 255, "end": "os-x" }] }],
            "classifier": [{ "name": "os-r", "in_port": "p0", "src": "10.9.0.0/16", "path": "os-c1" }],
        }))
    }

    #[test]
    fn an_owned_set_replaces_only_what_its_prefix_names() {
        let mut p = Pipeline::from_toml(FILE).unwrap();
        let d = p.replace_owned("os-", &agent_set()).unwrap();
        assert_eq!(
            d,
            Some(OwnedDelta {
                added: 3,
                removed: 0
            })
        );
        assert_eq!(p.paths.len(), 2);
        assert_eq!(p.owned_set("os-"), agent_set());
        crate::compile::check(&p).unwrap();
        // The same set again changes nothing.
        assert_eq!(p.replace_owned("os-", &agent_set()).unwrap(), None);
        // A smaller one removes what it no longer holds; qdp's own objects stay.
        let mut smaller = agent_set();
        smaller.classifier[0].src = Some("10.8.0.0/16".parse().unwrap());
        let d = p.replace_owned("os-", &smaller).unwrap().unwrap();
        assert_eq!((d.added, d.removed), (1, 1));
        let d = p
            .replace_owned("os-", &OwnedSet::default())
            .unwrap()
            .unwrap();
        assert_eq!((d.added, d.removed), (0, 3));
        assert_eq!(p, Pipeline::from_toml(FILE).unwrap());
    }

    #[test]
    fn objects_outside_the_prefix_and_unnamed_rules_are_refused() {
        let mut p = Pipeline::from_toml(FILE).unwrap();
        let before = p.clone();
        let mut s = agent_set();
        s.paths[0].name = "mine2".into();
        let e = p.replace_owned("os-", &s).unwrap_err();
        assert!(
            e.starts_with("set.paths[0].name: 'mine2' does not start with"),
            "{e}"
        );
        let mut s = agent_set();
        s.classifier[0].name = None;
        let e = p.replace_owned("os-", &s).unwrap_err();
        assert!(e.starts_with("set.classifier[0].name: missing"), "{e}");
        assert!(p.replace_owned("", &s).unwrap_err().starts_with("prefix:"));
        assert!(p.replace_owned("a/b", &s).is_err());
        assert_eq!(p, before);
    }

    #[test]
    fn merging_keeps_one_of_equal_objects_and_refuses_conflicts() {
        let a = agent_set();
        assert_eq!(a.merged(&a).unwrap(), a);
        let mut b = agent_set();
        b.exits[0].port = "p0".into();
        let e = a.merged(&b).unwrap_err();
        assert_eq!(e, "exit 'os-x' is given twice with different fields");
    }
}
