//! YAML paths: the location of a node inside a document, printed as `.spec.containers[0].image`,
//! and the patterns user rules match them with (`spec.**.image`, `spec.sidecars[*].image`).

use std::fmt;

/// One step from a node to its child.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

/// Prints a path; keys that are not identifiers are quoted: `.relatedImages["a.b"].image`.
pub struct PathDisplay<'p, 'a>(pub &'p [Seg<'a>]);

impl fmt::Display for PathDisplay<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str(".");
        }
        for seg in self.0 {
            match seg {
                Seg::Index(i) => write!(f, "[{i}]")?,
                Seg::Key(k) if is_plain_key(k) => write!(f, ".{k}")?,
                Seg::Key(k) => write!(f, "[{}]", serde_json::Value::String((*k).to_string()))?,
            }
        }
        Ok(())
    }
}

fn is_plain_key(k: &str) -> bool {
    !k.is_empty()
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'/')
}

/// A pattern step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatternSeg {
    Key(String),
    /// `*`: any one key.
    AnyKey,
    Index(usize),
    /// `[*]`: any one index.
    AnyIndex,
    /// `**`: any number of steps, including none.
    Deep,
}

/// A path pattern from a user rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern(pub Vec<PatternSeg>);

impl Pattern {
    /// Parses `spec.foo[*].bar`, `spec.**.image`, `spec["a.b"].c`; a leading `.` is optional.
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut segs = Vec::new();
        let b = s.as_bytes();
        let mut i = usize::from(s.starts_with('.'));
        if s.trim().is_empty() || s == "." {
            return Err("empty path".into());
        }
        while i < b.len() {
            match b[i] {
                b'[' => {
                    let close = s[i..].find(']').ok_or("unclosed [")? + i;
                    let inner = &s[i + 1..close];
                    if inner == "*" {
                        segs.push(PatternSeg::AnyIndex);
                    } else if let Ok(n) = inner.parse::<usize>() {
                        segs.push(PatternSeg::Index(n));
                    } else if let Ok(serde_json::Value::String(k)) = serde_json::from_str(inner) {
                        segs.push(PatternSeg::Key(k));
                    } else {
                        return Err(format!("bad index [{inner}]"));
                    }
                    i = close + 1;
                    if i < b.len() && b[i] == b'.' {
                        i += 1;
                        if i == b.len() {
                            return Err("path ends with .".into());
                        }
                    }
                }
                b'.' => return Err(format!("empty key at byte {i}")),
                _ => {
                    let end = s[i..].find(['.', '[']).map_or(b.len(), |e| e + i);
                    let key = &s[i..end];
                    segs.push(match key {
                        "**" => PatternSeg::Deep,
                        "*" => PatternSeg::AnyKey,
                        k => PatternSeg::Key(k.to_string()),
                    });
                    i = end;
                    if i < b.len() && b[i] == b'.' {
                        i += 1;
                        if i == b.len() {
                            return Err("path ends with .".into());
                        }
                    }
                }
            }
        }
        Ok(Pattern(segs))
    }

    pub fn matches(&self, path: &[Seg]) -> bool {
        matches_from(&self.0, path)
    }
}

fn matches_from(pat: &[PatternSeg], path: &[Seg]) -> bool {
    match pat.split_first() {
        None => path.is_empty(),
        Some((PatternSeg::Deep, rest)) => {
            (0..=path.len()).any(|skip| matches_from(rest, &path[skip..]))
        }
        Some((p, rest)) => match path.split_first() {
            None => false,
            Some((seg, path_rest)) => {
                let ok = match (p, seg) {
                    (PatternSeg::Key(k), Seg::Key(s)) => k == s,
                    (PatternSeg::AnyKey, Seg::Key(_)) => true,
                    (PatternSeg::Index(n), Seg::Index(i)) => n == i,
                    (PatternSeg::AnyIndex, Seg::Index(_)) => true,
                    _ => false,
                };
                ok && matches_from(rest, path_rest)
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path<'a>(s: &[&'a str]) -> Vec<Seg<'a>> {
        s.iter()
            .map(|x| match x.parse::<usize>() {
                Ok(n) => Seg::Index(n),
                Err(_) => Seg::Key(x),
            })
            .collect()
    }

    #[test]
    fn display_quotes_dotted_keys() {
        let p = path(&["relatedImages", "postgres_17_gis_3.5", "image"]);
        assert_eq!(
            PathDisplay(&p).to_string(),
            ".relatedImages[\"postgres_17_gis_3.5\"].image"
        );
        let p = path(&["spec", "containers", "0", "image"]);
        assert_eq!(PathDisplay(&p).to_string(), ".spec.containers[0].image");
    }

    #[test]
    fn patterns_match_paths() {
        let p = Pattern::parse("spec.sidecars[*].image").unwrap();
        assert!(p.matches(&path(&["spec", "sidecars", "3", "image"])));
        assert!(!p.matches(&path(&["spec", "sidecars", "image"])));
        let p = Pattern::parse(".spec.**.image").unwrap();
        assert!(p.matches(&path(&["spec", "image"])));
        assert!(p.matches(&path(&["spec", "a", "0", "image"])));
        assert!(!p.matches(&path(&["status", "image"])));
        let p = Pattern::parse("spec[\"a.b\"].*").unwrap();
        assert!(p.matches(&path(&["spec", "a.b", "x"])));
    }

    #[test]
    fn bad_patterns_are_rejected() {
        for bad in ["", ".", "spec..a", "spec[", "spec[x]", "spec."] {
            assert!(Pattern::parse(bad).is_err(), "{bad}");
        }
    }
}
