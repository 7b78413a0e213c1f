//! Turning raw labels (nDPI `ProtocolName`s) into the classes a model learns:
//! the five categories of the data contract, the apps themselves, or a
//! user-supplied `name,class` mapping file.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{display_path, Error, Result};

/// The category of every app the reference grouping names; anything else is `Other`.
pub const CATEGORY_TABLE: [(&str, &str); 17] = [
    ("HTTP", "Web"),
    ("HTTP_CONNECT", "Web"),
    ("HTTP_PROXY", "Web"),
    ("GOOGLE", "Web"),
    ("GMAIL", "Web"),
    ("AMAZON", "Web"),
    ("MICROSOFT", "Web"),
    ("WINDOWS_UPDATE", "Web"),
    ("YOUTUBE", "Streaming"),
    ("NETFLIX", "Streaming"),
    ("SPOTIFY", "Streaming"),
    ("SSL", "Secure"),
    ("TLS", "Secure"),
    ("DNS", "DNS"),
    ("MDNS", "DNS"),
    ("STEAM", "Gaming"),
    ("XBOX", "Gaming"),
];

/// How labels become classes. Stored in the model so that `evaluate` maps
/// labels exactly as `train` did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassMap {
    /// `categories`, `apps` or `mapping`: for display.
    pub kind: String,
    /// Upper-cased label -> class. Empty for `apps` (identity).
    pub table: BTreeMap<String, String>,
    /// The class of labels the table does not name; `None` makes them an error.
    pub default: Option<String>,
}

impl ClassMap {
    pub fn categories() -> Self {
        let table = CATEGORY_TABLE
            .iter()
            .filter(|(_, c)| *c != "Gaming") // never occurs; keeps the class list to the five
            .map(|(a, c)| (a.to_string(), c.to_string()))
            .collect();
        ClassMap { kind: "categories".into(), table, default: Some("Other".into()) }
    }

    pub fn apps() -> Self {
        ClassMap { kind: "apps".into(), table: BTreeMap::new(), default: None }
    }

    /// Reads a `name,class` CSV (a header line is optional; `#` starts a
    /// comment line; fields may be quoted). A row `*,Class` sets the class of
    /// every label not listed; without it an unlisted label is an error. A
    /// row with another number of fields, or a name mapped twice to
    /// different classes, is an error naming its line.
    pub fn from_mapping_file(path: &Path) -> Result<Self> {
        let name = display_path(path);
        let cannot = |e: &dyn std::fmt::Display| Error::input(format!("{name}: cannot read class mapping: {e}"));
        let file = std::fs::File::open(path).map_err(|e| cannot(&e))?;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .comment(Some(b'#'))
            .trim(csv::Trim::All)
            .from_reader(file);
        let mut table = BTreeMap::new();
        let mut default: Option<(String, u64)> = None;
        let mut first = true;
        for record in reader.records() {
            let record = record.map_err(|e| match e.position() {
                Some(pos) => Error::at(&name, pos.line(), None, "not a `name,class` CSV row (not UTF-8 text?)"),
                None => cannot(&e),
            })?;
            let line_no = record.position().map_or(0, |p| p.line());
            if record.iter().all(str::is_empty) {
                continue;
            }
            let (app, class) = match (record.len(), record.get(0), record.get(1)) {
                (2, Some(a), Some(c)) if !a.is_empty() && !c.is_empty() => (a, c),
                (n, ..) => {
                    return Err(Error::at(&name, line_no, None, format!("expected `name,class`, found {n} field{}", if n == 1 { "" } else { "s" })));
                }
            };
            let is_header = std::mem::take(&mut first) && app.eq_ignore_ascii_case("name") && class.eq_ignore_ascii_case("class");
            if is_header {
                continue;
            }
            if app == "*" {
                if let Some((prev, prev_line)) = default.as_ref().filter(|(prev, _)| prev != class) {
                    return Err(Error::at(
                        &name,
                        line_no,
                        None,
                        format!("a second `*` row ('{class}'; line {prev_line} says '{prev}')"),
                    ));
                }
                default = Some((class.to_string(), line_no));
            } else if let Some(prev) = table.insert(app.to_uppercase(), class.to_string()) {
                if prev != class {
                    return Err(Error::at(
                        &name,
                        line_no,
                        None,
                        format!("'{app}' is mapped twice ('{prev}' and '{class}')"),
                    ));
                }
            }
        }
        if table.is_empty() && default.is_none() {
            return Err(Error::input(format!("{name}: class mapping is empty")));
        }
        Ok(ClassMap { kind: "mapping".into(), table, default: default.map(|d| d.0) })
    }

    /// Parses the `--classes` flag: `categories`, `apps` or a path.
    pub fn from_flag(flag: &str) -> Result<Self> {
        match flag {
            "categories" => Ok(Self::categories()),
            "apps" => Ok(Self::apps()),
            path => Self::from_mapping_file(Path::new(path)),
        }
    }

    /// The class of a raw label, or `None` when the map cannot place it.
    pub fn class_of(&self, label: &str) -> Option<String> {
        let label = label.trim();
        if self.kind == "apps" {
            return if label.is_empty() { None } else { Some(label.to_string()) };
        }
        match self.table.get(&label.to_uppercase()) {
            Some(c) => Some(c.clone()),
            None => self.default.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_follow_the_contract() {
        let m = ClassMap::categories();
        assert_eq!(m.class_of("GOOGLE").unwrap(), "Web");
        assert_eq!(m.class_of("youtube").unwrap(), "Streaming");
        assert_eq!(m.class_of("SSL").unwrap(), "Secure");
        assert_eq!(m.class_of("DNS").unwrap(), "DNS");
        assert_eq!(m.class_of("SKYPE").unwrap(), "Other");
    }

    fn mapping(text: impl AsRef<[u8]>) -> Result<ClassMap> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("map.csv");
        std::fs::write(&p, text).unwrap();
        ClassMap::from_mapping_file(&p)
    }

    #[test]
    fn a_mapping_file_is_read_as_csv() {
        let m = mapping("\u{feff}name,class\n# comment\n\"GOOGLE\",\"Search, web\"\n youtube , Video \n\n*,Rest\n").unwrap();
        assert_eq!(m.class_of("GOOGLE").unwrap(), "Search, web");
        assert_eq!(m.class_of("YOUTUBE").unwrap(), "Video");
        assert_eq!(m.class_of("SKYPE").unwrap(), "Rest");
        let err = mapping("GOOGLE,Search\nYOUTUBE,Search,extra\n").unwrap_err().to_string();
        assert!(err.ends_with("map.csv:2: expected `name,class`, found 3 fields"), "{err}");
        let err = mapping("*,Rest\nGOOGLE,Search\n*,Other\n").unwrap_err().to_string();
        assert!(err.contains("map.csv:3: a second `*` row ('Other'; line 1 says 'Rest')"), "{err}");
        mapping("*,Rest\n*,Rest\n").unwrap();
        let err = mapping(b"GOOGLE,Search\nYOUTUBE,\xff\n").unwrap_err().to_string();
        assert!(err.contains("map.csv:2: "), "{err}");
    }

    #[test]
    fn apps_is_identity() {
        assert_eq!(ClassMap::apps().class_of("SKYPE").unwrap(), "SKYPE");
        assert!(ClassMap::apps().class_of("").is_none());
    }
}
