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

    /// Reads a `name,class` CSV (a header line is optional). A row `*,Class`
    /// sets the class of every label not listed; without it an unlisted label
    /// is an error.
    pub fn from_mapping_file(path: &Path) -> Result<Self> {
        let name = display_path(path);
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::input(format!("{name}: cannot read class mapping: {e}")))?;
        let mut table = BTreeMap::new();
        let mut default = None;
        for (i, line) in text.lines().enumerate() {
            let line_no = i as u64 + 1;
            let line = line.trim().trim_start_matches('\u{feff}');
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut parts = line.splitn(2, ',');
            let (app, class) = match (parts.next(), parts.next()) {
                (Some(a), Some(c)) if !a.trim().is_empty() && !c.trim().is_empty() => {
                    (a.trim().trim_matches('"'), c.trim().trim_matches('"'))
                }
                _ => {
                    return Err(Error::at(&name, line_no, None, "expected `name,class`"));
                }
            };
            if i == 0 && app.eq_ignore_ascii_case("name") && class.eq_ignore_ascii_case("class") {
                continue;
            }
            if app == "*" {
                default = Some(class.to_string());
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
        Ok(ClassMap { kind: "mapping".into(), table, default })
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

    #[test]
    fn apps_is_identity() {
        assert_eq!(ClassMap::apps().class_of("SKYPE").unwrap(), "SKYPE");
        assert!(ClassMap::apps().class_of("").is_none());
    }
}
