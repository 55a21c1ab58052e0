//! Writing the running configuration back to its pipeline file (`qdpctl save`, `[control]
//! autosave`), so that changes made while qdp runs survive a restart.
//!
//! Only the SFC sections can change while qdp runs (`[sfc]`, `[[vteps]]`, `[[neighbors]]`,
//! `[[sfs]]`, `[[exits]]`, `[[paths]]`, `[[classifier]]`), so only they are written, into the
//! file's own TOML document (`toml_edit`): every other section, comment and blank line stays as
//! it is. Within a section, an entry that did not change keeps its text and its comments; an entry
//! changed in place (found by its `name`) keeps its comments and the text of the keys that did not
//! change; a new entry is written plainly, without the keys that hold their default. A section
//! that did not change is not touched at all. The text to write must pass every `qdp check` rule
//! and read back as exactly the running sections, or nothing is written.
//!
//! The file is replaced atomically: a temporary file in the same folder (the original's mode and
//! owner), written and fsynced, renamed over the file, then the folder fsynced. A crash or an error
//! at any step before the rename leaves the old file whole; after it, the new one is in place.
//!
//! Limits: comments on entries that were deleted go with them (those above the first entry of a
//! section pass to a new first entry); a section written as an inline array (`sfs = [...]`) is
//! rewritten as `[[sfs]]` tables once it changes; entries of one section that the file interleaves
//! with other tables are written together, where its first entry was. A symbolic link to the file
//! is followed: the file it points to is replaced.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;
use toml_edit::{ArrayOfTables, DocumentMut, Item, Table, Value};

use crate::config::{ConfigErrors, Pipeline};

/// Why a save wrote nothing (or, for [`SaveError::Sync`], may not last).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SaveError {
    /// qdp runs the built-in demo pipeline: there is no file to save to.
    #[error(
        "qdp runs the built-in demo pipeline, which has no file to save to; start it from a \
         pipeline file (qdp run FILE) to keep changes"
    )]
    NoFile,
    /// The pipeline file could not be read.
    #[error("{file}: cannot read it: {reason}; nothing was saved")]
    Read { file: String, reason: String },
    /// The pipeline file (as it is now on disk) is not TOML, or a section of it is not what the
    /// schema says; `field` names where.
    #[error("{file}: {field}: {reason}; nothing was saved")]
    Parse {
        file: String,
        field: String,
        reason: String,
    },
    /// A running entry could not be written as TOML.
    #[error("{field}: cannot be written as TOML: {reason}; nothing was saved")]
    Serialize { field: String, reason: String },
    /// The file with the running sections in it would not pass `qdp check` (the other sections
    /// of the file were edited since qdp read it).
    #[error("{file}: the saved file would not pass qdp check:\n{errors}\nnothing was saved")]
    Invalid { file: String, errors: ConfigErrors },
    /// The text to write does not read back as the running configuration.
    #[error("{file}: {section}: the saved file would not read back as the running configuration; nothing was saved")]
    Mismatch { file: String, section: &'static str },
    /// A step before the rename failed: the file is as it was.
    #[error("{file}: {step}: {reason}; the file was left as it was")]
    Write {
        file: String,
        step: &'static str,
        reason: String,
    },
    /// The new file is in place, but its folder could not be synced: a power loss may undo it.
    #[error(
        "{file}: saved, but fsync of its folder failed ({reason}): a power loss may undo the save"
    )]
    Sync { file: String, reason: String },
}

/// What a save did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Saved {
    /// The file written (symbolic links followed).
    pub file: String,
    /// Whether its text changed (`false`: it already held the running configuration).
    pub written: bool,
}

/// Writes the SFC sections of `p` into the pipeline file at `path`, keeping the rest of it.
pub fn save(path: &Path, p: &Pipeline) -> Result<Saved, SaveError> {
    let shown = path.display().to_string();
    let file = std::fs::canonicalize(path).map_err(|e| SaveError::Read {
        file: shown.clone(),
        reason: e.to_string(),
    })?;
    let shown = file.display().to_string();
    let original = std::fs::read_to_string(&file).map_err(|e| SaveError::Read {
        file: shown.clone(),
        reason: e.to_string(),
    })?;
    let text = saved_text(&shown, &original, p)?;
    let written = text != original;
    if written {
        replace_file(&file, &text)?;
    }
    Ok(Saved {
        file: shown,
        written,
    })
}

/// The text of the pipeline file `original` (shown as `file` in errors) with the SFC sections of
/// `p` in it, checked: it passes `qdp check` and reads back as `p`'s SFC sections.
pub fn saved_text(file: &str, original: &str, p: &Pipeline) -> Result<String, SaveError> {
    let mut doc: DocumentMut =
        original
            .parse()
            .map_err(|e: toml_edit::TomlError| SaveError::Parse {
                file: file.to_string(),
                field: String::new(),
                reason: e.message().trim().to_string(),
            })?;
    let parse_err = |(field, reason): (String, String)| SaveError::Parse {
        file: file.to_string(),
        field,
        reason,
    };
    let mut next = max_position(doc.as_table()) + 1;
    merge_settings(doc.as_table_mut(), "sfc", &p.sfc, &mut next).map_err(parse_err)?;
    let root = doc.as_table_mut();
    merge_section(root, "vteps", &p.vteps, |_| None, &mut next).map_err(parse_err)?;
    merge_section(
        root,
        "neighbors",
        &p.neighbors,
        |x| Some(&x.name),
        &mut next,
    )
    .map_err(parse_err)?;
    merge_section(root, "sfs", &p.sfs, |x| Some(&x.name), &mut next).map_err(parse_err)?;
    merge_section(root, "exits", &p.exits, |x| Some(&x.name), &mut next).map_err(parse_err)?;
    merge_section(root, "paths", &p.paths, |x| Some(&x.name), &mut next).map_err(parse_err)?;
    merge_section(
        root,
        "classifier",
        &p.classifier,
        |x| x.name.as_deref(),
        &mut next,
    )
    .map_err(parse_err)?;
    let text = doc.to_string();

    let invalid = |errors| SaveError::Invalid {
        file: file.to_string(),
        errors,
    };
    let mut back = Pipeline::from_toml(&text).map_err(invalid)?;
    // Paths in the file (an IDS rules file) are relative to its folder.
    back.base_dir = p
        .base_dir
        .clone()
        .or_else(|| std::path::Path::new(file).parent().map(|d| d.to_path_buf()));
    crate::compile::check(&back).map_err(invalid)?;
    let same: [(&'static str, bool); 7] = [
        ("sfc", back.sfc == p.sfc),
        ("vteps", back.vteps == p.vteps),
        ("neighbors", back.neighbors == p.neighbors),
        ("sfs", back.sfs == p.sfs),
        ("exits", back.exits == p.exits),
        ("paths", back.paths == p.paths),
        ("classifier", back.classifier == p.classifier),
    ];
    if let Some((section, _)) = same.iter().find(|(_, same)| !same) {
        return Err(SaveError::Mismatch {
            file: file.to_string(),
            section,
        });
    }
    Ok(text)
}

/// Replaces the file at `path` with `text` atomically: temporary file in the same folder, fsync,
/// rename, fsync of the folder.
pub fn replace_file(path: &Path, text: &str) -> Result<(), SaveError> {
    let shown = path.display().to_string();
    let fail = |step: &'static str| {
        let file = shown.clone();
        move |e: std::io::Error| SaveError::Write {
            file,
            step,
            reason: e.to_string(),
        }
    };
    let dir: PathBuf = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}.qdp-save-"))
        .tempfile_in(&dir)
        .map_err(fail("creating a temporary file in its folder"))?;
    if let Ok(meta) = std::fs::metadata(path) {
        use std::os::unix::fs::MetadataExt;
        tmp.as_file()
            .set_permissions(meta.permissions())
            .map_err(fail("giving the temporary file the file's mode"))?;
        // Only root may give the file away; anyone else keeps their own (the file is theirs).
        let _ = std::os::unix::fs::fchown(tmp.as_file(), Some(meta.uid()), Some(meta.gid()));
    }
    tmp.write_all(text.as_bytes())
        .map_err(fail("writing the temporary file"))?;
    tmp.as_file()
        .sync_all()
        .map_err(fail("fsync of the temporary file"))?;
    // On failure the temporary file is removed when the error drops it.
    tmp.persist(path)
        .map_err(|e| fail("renaming the temporary file over it")(e.error))?;
    std::fs::File::open(&dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| SaveError::Sync {
            file: shown.clone(),
            reason: e.to_string(),
        })
}

/// An entry of a section read as `T`; errors name `field`.
fn parse<T: DeserializeOwned>(t: &Table, field: &str) -> Result<T, (String, String)> {
    toml_edit::de::from_document(DocumentMut::from(t.clone()))
        .map_err(|e| (field.to_string(), e.message().trim().to_string()))
}

/// An item as plain data, to compare values whatever their formatting.
fn data(item: &Item) -> Option<serde_json::Value> {
    let mut t = Table::new();
    t.insert("v", item.clone());
    toml_edit::de::from_document::<serde_json::Value>(DocumentMut::from(t))
        .ok()
        .map(|mut v| v["v"].take())
}

/// `x` as a table without the keys that hold their default (absent, it reads back the same),
/// its arrays of inline tables one element per line.
fn plain_table<T: Serialize + DeserializeOwned + PartialEq>(
    x: &T,
    field: &str,
) -> Result<Table, SaveError> {
    let mut doc = toml_edit::ser::to_document(x).map_err(|e| SaveError::Serialize {
        field: field.to_string(),
        reason: e.to_string(),
    })?;
    let mut t = std::mem::take(doc.as_table_mut());
    let keys: Vec<String> = t.iter().map(|(k, _)| k.to_string()).collect();
    for k in keys {
        let mut trial = t.clone();
        trial.remove(&k);
        if parse::<T>(&trial, field).is_ok_and(|back| back == *x) {
            t = trial;
        }
    }
    for (_, item) in t.iter_mut() {
        if let Some(a) = item.as_array_mut() {
            if a.iter().any(Value::is_inline_table) {
                for v in a.iter_mut() {
                    v.decor_mut().set_prefix("\n  ");
                }
                a.set_trailing("\n");
                a.set_trailing_comma(true);
            }
        }
    }
    t.fmt();
    Ok(t)
}

/// `old` changed into `target` (whose plain form is `fresh`), keeping `old`'s comments and the
/// text of its keys that did not change.
fn merge_table<T: DeserializeOwned + PartialEq>(
    old: &Table,
    fresh: &Table,
    target: &T,
    field: &str,
) -> Table {
    let mut t = old.clone();
    for (k, v) in fresh.iter() {
        match t.get_mut(k) {
            Some(cur) if data(cur) == data(v) => {}
            Some(cur) => {
                let decor = cur.as_value().map(|x| x.decor().clone());
                *cur = v.clone();
                if let (Some(d), Some(x)) = (decor, cur.as_value_mut()) {
                    *x.decor_mut() = d;
                }
            }
            None => {
                t.insert(k, v.clone());
            }
        }
    }
    let reads_back = |t: &Table| parse::<T>(t, field).is_ok_and(|back| back == *target);
    if reads_back(&t) {
        return t;
    }
    // Keys the old entry gave that the target leaves at their default.
    let extra: Vec<String> = t
        .iter()
        .map(|(k, _)| k.to_string())
        .filter(|k| !fresh.contains_key(k))
        .collect();
    for k in extra {
        t.remove(&k);
    }
    if reads_back(&t) {
        return t;
    }
    let mut f = fresh.clone();
    *f.decor_mut() = old.decor().clone();
    f
}

/// The highest position of any table in `t` (where the document places it).
fn max_position(t: &Table) -> usize {
    let mut m = t.position().unwrap_or(0);
    for (_, item) in t.iter() {
        match item {
            Item::Table(x) => m = m.max(max_position(x)),
            Item::ArrayOfTables(a) => {
                for x in a.iter() {
                    m = m.max(max_position(x));
                }
            }
            _ => {}
        }
    }
    m
}

/// Places `t` and every table inside it at `pos`; tables at the same position keep their order.
fn set_positions(t: &mut Table, pos: usize) {
    t.set_position(pos);
    for (_, item) in t.iter_mut() {
        match item {
            Item::Table(x) => set_positions(x, pos),
            Item::ArrayOfTables(a) => a.iter_mut().for_each(|x| set_positions(x, pos)),
            _ => {}
        }
    }
}

/// A settings table (`[sfc]`) set to `new`; untouched when the file already reads as `new`.
fn merge_settings<T: Serialize + DeserializeOwned + PartialEq>(
    root: &mut Table,
    key: &str,
    new: &T,
    next: &mut usize,
) -> Result<(), (String, String)> {
    let (old, inline) = match root.get(key) {
        None => (Table::new(), false),
        Some(Item::Table(t)) => (t.clone(), false),
        Some(Item::Value(Value::InlineTable(t))) => (t.clone().into_table(), true),
        Some(_) => return Err((key.to_string(), "must be a table".to_string())),
    };
    if parse::<T>(&old, key)? == *new {
        return Ok(());
    }
    let fresh = plain_table(new, key).map_err(|e| (key.to_string(), e.to_string()))?;
    let mut merged = merge_table(&old, &fresh, new, key);
    if merged.is_empty() {
        root.remove(key);
        return Ok(());
    }
    let item = if inline {
        let mut v = Value::InlineTable(merged.into_inline_table());
        if let Some(Item::Value(old)) = root.get(key) {
            *v.decor_mut() = old.decor().clone();
        }
        Item::Value(v)
    } else {
        if merged.position().is_none() && !merged.is_dotted() {
            merged.set_position(*next);
            *next += 1;
        }
        Item::Table(merged)
    };
    // In place: the key keeps the comments above it.
    match root.get_mut(key) {
        Some(cur) => *cur = item,
        None => {
            root.insert(key, item);
        }
    }
    Ok(())
}

/// An array-of-tables section (`[[sfs]]`) set to `new`; untouched when the file already reads
/// as `new`. Entries equal to one of the file's keep their text; entries whose `name` (by
/// `name_of`) one of the file's has are changed in place.
fn merge_section<T: Serialize + DeserializeOwned + PartialEq>(
    root: &mut Table,
    key: &str,
    new: &[T],
    name_of: impl Fn(&T) -> Option<&str>,
    next: &mut usize,
) -> Result<(), (String, String)> {
    let old_tables: Vec<Table> = match root.get(key) {
        None => Vec::new(),
        Some(Item::ArrayOfTables(a)) => a.iter().cloned().collect(),
        Some(Item::Value(Value::Array(a))) => a
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::InlineTable(t) => Ok(t.clone().into_table()),
                _ => Err((format!("{key}[{i}]"), "must be a table".to_string())),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err((key.to_string(), "must be an array of tables".to_string())),
    };
    let old: Vec<T> = old_tables
        .iter()
        .enumerate()
        .map(|(i, t)| parse(t, &format!("{key}[{i}]")))
        .collect::<Result<_, _>>()?;
    if old == new {
        return Ok(());
    }
    if new.is_empty() {
        root.remove(key);
        return Ok(());
    }
    let mut used = vec![false; old.len()];
    let mut out: Vec<Table> = Vec::with_capacity(new.len());
    let mut first_is_fresh = false;
    for (i, e) in new.iter().enumerate() {
        let field = format!("{key}[{i}]");
        if let Some(j) = (0..old.len()).find(|&j| !used[j] && old[j] == *e) {
            used[j] = true;
            out.push(old_tables[j].clone());
            continue;
        }
        let fresh = plain_table(e, &field).map_err(|x| (field.clone(), x.to_string()))?;
        let same_name = name_of(e)
            .and_then(|n| (0..old.len()).find(|&j| !used[j] && name_of(&old[j]) == Some(n)));
        match same_name {
            Some(j) => {
                used[j] = true;
                out.push(merge_table(&old_tables[j], &fresh, e, &field));
            }
            None => {
                first_is_fresh |= i == 0;
                out.push(fresh);
            }
        }
    }
    // The comments above a section's first entry stay above it when that entry is gone.
    if let (true, Some(false), Some(first)) = (first_is_fresh, used.first(), old_tables.first()) {
        *out[0].decor_mut() = first.decor().clone();
    }
    let pos = old_tables
        .iter()
        .filter_map(Table::position)
        .min()
        .unwrap_or_else(|| {
            *next += 1;
            *next - 1
        });
    // An inline array's key goes; the comments above it pass to the first table.
    if let Some(Item::Value(_)) = root.get(key) {
        let above = root
            .key(key)
            .and_then(|k| k.leaf_decor().prefix())
            .and_then(|r| r.as_str())
            .unwrap_or("")
            .to_string();
        let own = out[0]
            .decor()
            .prefix()
            .and_then(|r| r.as_str())
            .unwrap_or("")
            .to_string();
        out[0].decor_mut().set_prefix(format!("{above}{own}"));
        root.remove(key);
    }
    let mut array = ArrayOfTables::new();
    for mut t in out {
        set_positions(&mut t, pos);
        array.push(t);
    }
    match root.get_mut(key) {
        Some(item) => *item = Item::ArrayOfTables(array),
        None => {
            root.insert(key, Item::ArrayOfTables(array));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{RuleConfig, SfConfig, SfKind};

    const FILE: &str = r#"# The test pipeline.
name = "save-test"   # its name

[eal]
cores = [0, 1]
hugepages = "off"

[[ports]]
name = "in"
vdev = "net_null0"

[[ports]]
name = "out"
vdev = "net_null1"
rx_queues = 0

[[workers]]
name = "w0"
core = 1
rx = ["in"]

# Where chains end.
[[exits]]
name = "to-out"
port = "out"
dst_mac = "02:00:00:00:00:0b"   # the sink

# The service functions.
[[sfs]]
name = "fw"   # the firewall
kind = "firewall"
rules = [
  { priority = 10, protocol = "tcp", dst_ports = 23, action = "deny" },   # no telnet
]
default = "allow"

# Counts what passes.
[[sfs]]
name = "count"
kind = "counter"

[[paths]]
name = "chain"
spi = 1
hops = [
  { si = 255, sf = "fw" },
  { si = 254, sf = "count" },
  { si = 253, end = "to-out" },
]

# Web traffic onto the chain.
[[classifier]]
name = "web"
in_port = "in"
dst = "10.2.0.0/16"
path = "chain"

# Everything else from in: dropped.
[[classifier]]
priority = 100
in_port = "in"
action = "drop"   # nothing else passes

[stats]
interval_s = 0   # no rate line
"#;

    fn running() -> Pipeline {
        Pipeline::from_toml(FILE).unwrap()
    }

    fn rule(name: &str, dst: &str, priority: u32) -> RuleConfig {
        RuleConfig {
            name: Some(name.to_string()),
            priority,
            in_port: Some("in".into()),
            vlan: None,
            src: None,
            dst: Some(dst.parse().unwrap()),
            protocol: None,
            src_ports: None,
            dst_ports: None,
            path: Some("chain".into()),
            exit: None,
            action: None,
        }
    }

    #[test]
    fn an_unchanged_pipeline_saves_as_the_same_text() {
        assert_eq!(saved_text("f", FILE, &running()).unwrap(), FILE);
    }

    #[test]
    fn changes_keep_every_comment_of_entries_that_stay() {
        let mut p = running();
        p.classifier.push(rule("mail", "10.3.0.0/16", 30));
        p.sfs.iter_mut().find(|s| s.name == "count").unwrap().down = true;
        p.sfs.push(SfConfig {
            name: "count2".into(),
            kind: SfKind::Counter,
            neighbor: None,
            port: None,
            vlan: None,
            mac: None,
            address: None,
            members: vec![],
            lb_fields: vec![],
            rules: vec![],
            default: None,
            down: false,
            weight: None,
            stateful: false,
            connections: None,
            lb: None,
            ids: None,
            probe: None,
        });
        p.sfc.ttl = 20;
        let text = saved_text("f", FILE, &p).unwrap();
        for comment in [
            "# The test pipeline.",
            "# its name",
            "# Where chains end.",
            "# the sink",
            "# The service functions.",
            "# the firewall",
            "# no telnet",
            "# Counts what passes.",
            "# Web traffic onto the chain.",
            "# Everything else from in: dropped.",
            "# nothing else passes",
            "# no rate line",
        ] {
            assert!(text.contains(comment), "lost '{comment}':\n{text}");
        }
        let back = Pipeline::from_toml(&text).unwrap();
        assert_eq!(back.classifier, p.classifier);
        assert_eq!(back.sfs, p.sfs);
        assert_eq!(back.sfc.ttl, 20);
        // The changed SF in place, its comment above it; the new one plain, without defaults.
        assert!(
            text.contains("# Counts what passes.\n[[sfs]]\nname = \"count\"\nkind = \"counter\"\ndown = true\n"),
            "{text}"
        );
        assert!(
            text.contains("[[sfs]]\nname = \"count2\"\nkind = \"counter\"\n\n"),
            "{text}"
        );
        assert!(
            text.contains("[sfc]\nttl = 20\n") && !text.contains("inner_mtu"),
            "{text}"
        );
        // Sections stay where they were: the new SF before the paths, the new rule last.
        let at = |s: &str| text.find(s).unwrap();
        assert!(at("name = \"count2\"") < at("[[paths]]"), "{text}");
        assert!(at("name = \"web\"") < at("name = \"mail\""), "{text}");
        // Untouched sections keep their text to the byte.
        let paths = &FILE[FILE.find("[[paths]]").unwrap()..FILE.find("# Web").unwrap()];
        assert!(text.contains(paths), "{text}");
    }

    #[test]
    fn deleted_entries_go_and_new_sections_are_added() {
        let mut p = running();
        p.classifier.clear();
        p.classifier.push(rule("other", "10.9.0.0/16", 5));
        p.sfs.retain(|s| s.name != "fw");
        p.paths[0].hops.remove(0);
        p.neighbors.push(crate::config::NeighborConfig {
            name: "peer".into(),
            port: "out".into(),
            mac: Some("02:00:00:00:00:99".parse().unwrap()),
            address: None,
            vni: 0,
        });
        let text = saved_text("f", FILE, &p).unwrap();
        assert!(
            !text.contains("\"fw\"") && !text.contains("# no telnet"),
            "{text}"
        );
        // The comment above the first rule passes to the new first rule.
        assert!(
            text.contains("# Web traffic onto the chain.\n[[classifier]]\nname = \"other\""),
            "{text}"
        );
        assert!(text.contains("[[neighbors]]\nname = \"peer\""), "{text}");
        let back = Pipeline::from_toml(&text).unwrap();
        assert_eq!(back.neighbors, p.neighbors);
        assert_eq!(back.paths, p.paths);
        assert_eq!(back.classifier, p.classifier);
    }

    #[test]
    fn sections_written_inline_are_rewritten_as_tables_once_they_change() {
        let web = "[[classifier]]\nname = \"web\"\nin_port = \"in\"\ndst = \"10.2.0.0/16\"\npath = \"chain\"\n";
        let drop = "# Everything else from in: dropped.\n[[classifier]]\npriority = 100\nin_port = \"in\"\naction = \"drop\"   # nothing else passes\n";
        assert!(FILE.contains(drop));
        let inline = FILE.replace(web, "").replace(drop, "").replace(
            "# The test pipeline.\n",
            "# The test pipeline.\nsfc = { ttl = 30 }\n# Rules, inline.\nclassifier = [{ name = \"web\", in_port = \"in\", dst = \"10.2.0.0/16\", path = \"chain\" }]\n",
        );
        let p = Pipeline::from_toml(&inline).unwrap();
        assert_eq!(saved_text("f", &inline, &p).unwrap(), inline);
        let mut changed = p.clone();
        changed.classifier.push(rule("mail", "10.3.0.0/16", 30));
        changed.sfc.ttl = 31;
        let text = saved_text("f", &inline, &changed).unwrap();
        assert!(!text.contains("classifier = ["), "{text}");
        assert!(
            text.starts_with("# The test pipeline.\nsfc = { ttl = 31 }\nname"),
            "{text}"
        );
        assert!(
            text.contains("# Rules, inline.\n[[classifier]]\nname = \"web\""),
            "{text}"
        );
        let back = Pipeline::from_toml(&text).unwrap();
        assert_eq!(back.classifier, changed.classifier);
    }

    #[test]
    fn shipped_pipelines_save_as_they_are_and_with_changes() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../pipelines");
        let mut n = 0;
        for e in std::fs::read_dir(dir).unwrap() {
            let path = e.unwrap().path();
            if path.extension().is_none_or(|x| x != "toml") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let p = Pipeline::from_toml(&text).unwrap();
            let shown = path.display().to_string();
            assert_eq!(saved_text(&shown, &text, &p).unwrap(), text, "{shown}");
            let mut changed = p.clone();
            changed.sfc.flow_cache *= 2;
            changed.classifier.reverse();
            if let Some(sf) = changed.sfs.iter_mut().find(|s| s.kind == SfKind::Counter) {
                sf.down = !sf.down;
            }
            let saved =
                saved_text(&shown, &text, &changed).unwrap_or_else(|e| panic!("{shown}: {e}"));
            assert_ne!(saved, text, "{shown}");
            n += 1;
        }
        assert!(n >= 5, "only {n} pipelines");
    }

    #[test]
    fn a_file_edited_into_something_check_refuses_is_not_saved() {
        let edited = FILE.replace("core = 1", "core = 7");
        let e = saved_text("f", &edited, &running()).unwrap_err();
        assert!(
            matches!(&e, SaveError::Invalid { errors, .. }
                if errors.0.iter().any(|x| x.field == "workers[0].core")),
            "{e}"
        );
        let e = saved_text("f", "[[sfs]\n", &running()).unwrap_err();
        assert!(matches!(e, SaveError::Parse { .. }), "{e}");
        let e = saved_text(
            "f",
            &FILE.replace("kind = \"counter\"", "kind = 3"),
            &running(),
        )
        .unwrap_err();
        assert!(
            matches!(&e, SaveError::Parse { field, .. } if field == "sfs[1]"),
            "{e}"
        );
    }

    #[test]
    fn a_rename_that_fails_leaves_the_file_and_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        // A non-empty folder where the file should be: rename(2) refuses it, even to root.
        let target = dir.path().join("p.toml");
        std::fs::create_dir(&target).unwrap();
        std::fs::write(target.join("keep"), "x").unwrap();
        let e = replace_file(&target, "new text").unwrap_err();
        assert!(
            matches!(&e, SaveError::Write { step, .. } if step.starts_with("renaming")),
            "{e}"
        );
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, vec![std::ffi::OsString::from("p.toml")]);
        assert_eq!(std::fs::read_to_string(target.join("keep")).unwrap(), "x");
    }

    #[test]
    fn a_save_replaces_the_file_keeping_its_mode_and_follows_links() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.toml");
        std::fs::write(&real, FILE).unwrap();
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).unwrap();
        let link = dir.path().join("link.toml");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let same = save(&link, &running()).unwrap();
        assert!(!same.written);
        let mut p = running();
        p.classifier.push(rule("mail", "10.3.0.0/16", 30));
        let saved = save(&link, &p).unwrap();
        assert!(saved.written);
        assert_eq!(
            saved.file,
            std::fs::canonicalize(&real).unwrap().display().to_string()
        );
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        let meta = std::fs::metadata(&real).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o640);
        let back = Pipeline::load(&real).unwrap();
        assert_eq!(back.classifier, p.classifier);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }
}
