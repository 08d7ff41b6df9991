//! YAML documents as trees whose every scalar knows its exact byte span, line and column
//! in the source, so findings can be reported precisely and edited in place later.
//!
//! Built on granit-parser's event stream (byte-exact spans: a quoted scalar's range
//! includes its quotes and nothing else). JSON input is YAML and goes through the same path.

use std::borrow::Cow;
use std::ops::Range;

use granit_parser::{Event, Parser, ScalarStyle, Span};

/// Where a YAML document failed to parse.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{line}:{column}: {message}")]
pub struct YamlError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    pub message: String,
}

/// A position in the source: 1-based line and 1-based column (in characters).
/// Kept small (sources are limited to 4 GiB) because a tree holds one per node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub line: u32,
    pub column: u32,
}

/// Largest source the tree can address.
pub const MAX_SOURCE_LEN: usize = u32::MAX as usize;

/// A scalar with its decoded text and where it was written.
#[derive(Debug, Clone)]
pub struct Scalar<'a> {
    pub text: Cow<'a, str>,
    pub style: ScalarStyle,
    /// Tagged explicitly (`!!str`, `!custom`).
    pub tagged: bool,
    start: u32,
    end: u32,
    pub pos: Pos,
}

impl Scalar<'_> {
    /// Byte range of the scalar as written, quotes included.
    pub fn span(&self) -> Range<usize> {
        self.start as usize..self.end as usize
    }

    /// A plain scalar that YAML reads as null (`~`, `null`, or nothing).
    pub fn is_plain_null(&self) -> bool {
        self.style == ScalarStyle::Plain
            && !self.tagged
            && matches!(self.text.as_ref(), "" | "~" | "null" | "Null" | "NULL")
    }

    /// A plain scalar that YAML reads as null, a boolean or a number rather than a string.
    pub fn is_plain_non_string(&self) -> bool {
        if self.style != ScalarStyle::Plain || self.tagged {
            return false;
        }
        let t = self.text.as_ref();
        matches!(
            t,
            "" | "~"
                | "null"
                | "Null"
                | "NULL"
                | "true"
                | "True"
                | "TRUE"
                | "false"
                | "False"
                | "FALSE"
        ) || t.parse::<f64>().is_ok()
            || (t.starts_with("0x") && i64::from_str_radix(&t[2..], 16).is_ok())
    }
}

/// One YAML node.
#[derive(Debug, Clone)]
pub enum Node<'a> {
    Scalar(Scalar<'a>),
    /// Entries in source order; keys that are not scalars are kept as `None`.
    Map(Vec<(Option<Scalar<'a>>, Node<'a>)>, Pos),
    Seq(Vec<Node<'a>>, Pos),
    /// `*alias`: the anchored node is visited where it is defined.
    Alias(Pos),
    /// An object of a root `items` list, handed out while parsing
    /// ([`for_each_document_and_item`]) and not kept in the tree.
    Taken(Pos),
}

impl<'a> Node<'a> {
    pub fn pos(&self) -> Pos {
        match self {
            Node::Scalar(s) => s.pos,
            Node::Map(_, p) | Node::Seq(_, p) | Node::Alias(p) | Node::Taken(p) => *p,
        }
    }
    pub fn as_scalar(&self) -> Option<&Scalar<'a>> {
        match self {
            Node::Scalar(s) => Some(s),
            _ => None,
        }
    }
    /// The string value of a scalar node.
    pub fn as_str(&self) -> Option<&str> {
        self.as_scalar().map(|s| s.text.as_ref())
    }
    pub fn as_seq(&self) -> Option<&[Node<'a>]> {
        match self {
            Node::Seq(items, _) => Some(items),
            _ => None,
        }
    }
    pub fn entries(&self) -> &[(Option<Scalar<'a>>, Node<'a>)] {
        match self {
            Node::Map(entries, _) => entries,
            _ => &[],
        }
    }
    pub fn is_map(&self) -> bool {
        matches!(self, Node::Map(..))
    }
    /// The value under `key` in a mapping.
    pub fn get(&self, key: &str) -> Option<&Node<'a>> {
        self.entries()
            .iter()
            .find(|(k, _)| k.as_ref().is_some_and(|k| k.text == key))
            .map(|(_, v)| v)
    }
    /// The key scalar of `key` in a mapping.
    pub fn key(&self, key: &str) -> Option<&Scalar<'a>> {
        self.entries()
            .iter()
            .filter_map(|(k, _)| k.as_ref())
            .find(|k| k.text == key)
    }
    /// The string value under `key`, if it is a scalar.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Node::as_str)
    }
}

/// A document of a multi-document file.
#[derive(Debug, Clone)]
pub struct Document<'a> {
    /// 0-based index in the file.
    pub index: usize,
    pub root: Node<'a>,
    /// Byte range of the document's text: after its `---` marker (if any), up to its end
    /// (the next marker, `...`, or the end of the file).
    pub span: Range<usize>,
}

impl Document<'_> {
    /// The document's own text, e.g. to send to an API server as it was written.
    pub fn text<'s>(&self, source: &'s str) -> &'s str {
        &source[self.span.clone()]
    }
}

/// Parses every document of `source`.
pub fn parse_documents(source: &str) -> Result<Vec<Document<'_>>, YamlError> {
    let mut docs = Vec::new();
    for_each_document(source, |d| docs.push(d))?;
    Ok(docs)
}

/// Parses `source` and hands each document to `f` as soon as it is complete, so only one
/// document's tree is alive at a time.
pub fn for_each_document<'a>(
    source: &'a str,
    mut f: impl FnMut(Document<'a>),
) -> Result<(), YamlError> {
    parse(source, false, |parsed| {
        if let Parsed::Document(d) = parsed {
            f(d)
        }
    })
}

/// What [`for_each_document_and_item`] hands out, in source order of completion.
pub enum Parsed<'a> {
    Item(Item<'a>),
    Document(Document<'a>),
}

/// An object of a `List`: an element of the root mapping's `items` sequence that is a
/// mapping with `apiVersion` and `kind`.
pub struct Item<'a> {
    /// 0-based index of its document in the file.
    pub document: usize,
    /// 0-based index in `items`.
    pub index: usize,
    pub node: Node<'a>,
}

/// Parses `source` as [`for_each_document`] does, except that each object of a root
/// `items` sequence is handed out as soon as it is complete (before its document) and a
/// [`Node::Taken`] stands in its place: a `List` of any size is never held whole, only one
/// item at a time. An object names its own kind, so nothing around it changes what it is;
/// every other element stays in the tree.
pub fn for_each_document_and_item<'a>(
    source: &'a str,
    f: impl FnMut(Parsed<'a>),
) -> Result<(), YamlError> {
    parse(source, true, f)
}

fn parse<'a>(
    source: &'a str,
    take_items: bool,
    mut f: impl FnMut(Parsed<'a>),
) -> Result<(), YamlError> {
    if source.len() > MAX_SOURCE_LEN {
        return Err(YamlError {
            line: 1,
            column: 1,
            message: format!("larger than {MAX_SOURCE_LEN} bytes"),
        });
    }
    let mut index = 0;
    let mut doc_start = 0;
    let mut builder = Builder::default();
    // Comments are kept by editing spans, never read as events: not asking for them saves a
    // quarter of the parse (Helm's output has a `# Source:` line per object).
    let mut options = granit_parser::Options::default();
    options.emit_comments = false;
    for item in Parser::new_from_str_with_options(source, options) {
        let (event, span) = item.map_err(|e| {
            let m = e.marker();
            YamlError {
                line: m.line(),
                column: m.col() + 1,
                message: e.info().to_string(),
            }
        })?;
        match event {
            Event::DocumentStart(explicit, _) => {
                builder = Builder {
                    take_items,
                    ..Builder::default()
                };
                // After an explicit `---`; an implicit start's span may already cover the
                // first token (a flow mapping's `{`), so the text starts where it starts.
                let at = if explicit { span.end } else { span.start };
                doc_start = at.byte_offset().unwrap_or(0);
            }
            Event::DocumentEnd => {
                let end = span
                    .start
                    .byte_offset()
                    .unwrap_or(source.len())
                    .max(doc_start);
                if let Some(root) = builder.root.take() {
                    f(Parsed::Document(Document {
                        index,
                        root,
                        span: doc_start..end,
                    }));
                }
                index += 1;
            }
            other => {
                if let Some((at, node)) = builder.push(other, &span)? {
                    f(Parsed::Item(Item {
                        document: index,
                        index: at,
                        node,
                    }));
                }
            }
        }
    }
    Ok(())
}

enum Frame<'a> {
    Map {
        entries: Vec<(Option<Scalar<'a>>, Node<'a>)>,
        pending_key: Option<Option<Scalar<'a>>>,
        pos: Pos,
    },
    Seq(Vec<Node<'a>>, Pos),
}

#[derive(Default)]
struct Builder<'a> {
    stack: Vec<Frame<'a>>,
    root: Option<Node<'a>>,
    /// Hand out the objects of a root `items` sequence instead of keeping them.
    take_items: bool,
}

fn pos_of(span: &Span) -> Pos {
    // Lines and columns fit: the source is at most MAX_SOURCE_LEN bytes.
    Pos {
        line: span.start.line() as u32,
        column: span.start.col() as u32 + 1,
    }
}

type Taken<'a> = Option<(usize, Node<'a>)>;

impl<'a> Builder<'a> {
    /// Adds an event to the tree; returns a List object taken out of it, with its index.
    fn push(&mut self, event: Event<'a>, span: &Span) -> Result<Taken<'a>, YamlError> {
        let pos = pos_of(span);
        match event {
            Event::Scalar(text, style, _anchor, tag) => {
                let range = span.byte_range().ok_or_else(|| YamlError {
                    line: pos.line as usize,
                    column: pos.column as usize,
                    message: "parser gave no byte range".into(),
                })?;
                self.add(Node::Scalar(Scalar {
                    text,
                    style,
                    tagged: tag.is_some(),
                    start: range.start as u32,
                    end: range.end as u32,
                    pos,
                }));
            }
            Event::Alias(_) => self.add(Node::Alias(pos)),
            Event::MappingEnd | Event::SequenceEnd => {
                let node = match self.stack.pop() {
                    Some(Frame::Map { entries, pos, .. }) => Node::Map(entries, pos),
                    Some(Frame::Seq(items, pos)) => Node::Seq(items, pos),
                    None => return Ok(None),
                };
                if self.take_items
                    && is_object(&node)
                    && let Some(items) = self.root_items()
                {
                    items.push(Node::Taken(node.pos()));
                    return Ok(Some((items.len() - 1, node)));
                }
                self.add(node);
            }
            Event::MappingStart(..) => self.stack.push(Frame::Map {
                entries: Vec::new(),
                pending_key: None,
                pos,
            }),
            Event::SequenceStart(..) => self.stack.push(Frame::Seq(Vec::new(), pos)),
            _ => {}
        }
        Ok(None)
    }

    /// The root mapping's `items` sequence, when the next node completes one of its elements.
    fn root_items(&mut self) -> Option<&mut Vec<Node<'a>>> {
        match self.stack.as_mut_slice() {
            [
                Frame::Map {
                    pending_key: Some(Some(key)),
                    ..
                },
                Frame::Seq(items, _),
            ] if key.text == "items" => Some(items),
            _ => None,
        }
    }

    fn add(&mut self, node: Node<'a>) {
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Seq(items, _)) => items.push(node),
            Some(Frame::Map {
                entries,
                pending_key,
                ..
            }) => match pending_key.take() {
                None => {
                    *pending_key = Some(match node {
                        Node::Scalar(s) => Some(s),
                        _ => None,
                    })
                }
                Some(key) => entries.push((key, node)),
            },
        }
    }
}

/// A mapping that names its own `apiVersion` and `kind`: a Kubernetes object.
fn is_object(node: &Node) -> bool {
    node.is_map() && node.get_str("apiVersion").is_some() && node.get_str("kind").is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_are_exact_bytes_with_quotes() {
        let src = "a: 1\n---\n# c\nimage: \"quay.io/x:1\" # trailing\nlist: [ 'é', b ]\n";
        let docs = parse_documents(src).unwrap();
        assert_eq!(docs.len(), 2);
        let img = docs[1].root.get("image").unwrap().as_scalar().unwrap();
        assert_eq!(&src[img.span()], "\"quay.io/x:1\"");
        assert_eq!(img.text, "quay.io/x:1");
        assert_eq!((img.pos.line, img.pos.column), (4, 8));
        let list = docs[1].root.get("list").unwrap().as_seq().unwrap();
        let b = list[1].as_scalar().unwrap();
        assert_eq!(&src[b.span()], "b");
    }

    #[test]
    fn document_text_is_its_own() {
        let src = "# head\na: 1\n---\nb: 2 # c\n...\n---\nc: [3]\n";
        let docs = parse_documents(src).unwrap();
        let texts: Vec<&str> = docs.iter().map(|d| d.text(src).trim()).collect();
        // A comment before an implicit document start belongs to no document.
        assert_eq!(texts, vec!["a: 1", "b: 2 # c", "c: [3]"]);
        // A JSON document (a flow mapping at the root) starts at its `{`.
        let json = "{\"kind\": \"ConfigMap\", \"data\": {\"a\": \"1\"}}\n";
        let docs = parse_documents(json).unwrap();
        assert_eq!(docs[0].text(json).trim(), json.trim());
    }

    #[test]
    fn list_objects_are_handed_out_and_not_kept() {
        let src = "apiVersion: v1\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  data: {a: b}\n\
                   - just: a mapping\n- apiVersion: apps/v1\n  kind: Deployment\nkind: List\n---\n\
                   spec:\n  items:\n  - {apiVersion: v1, kind: Secret}\n";
        let mut items = Vec::new();
        let mut docs = Vec::new();
        for_each_document_and_item(src, |parsed| match parsed {
            Parsed::Item(i) => {
                let kind = i.node.get_str("kind").unwrap().to_string();
                items.push((i.document, i.index, kind))
            }
            Parsed::Document(d) => docs.push(d),
        })
        .unwrap();
        // Only objects of the root's own `items`; a nested `items` stays in its tree.
        let kinds: Vec<(usize, usize, &str)> =
            items.iter().map(|(d, i, k)| (*d, *i, k.as_str())).collect();
        assert_eq!(kinds, vec![(0, 0, "ConfigMap"), (0, 2, "Deployment")]);
        let list = docs[0].root.get("items").unwrap().as_seq().unwrap();
        assert!(matches!(list[0], Node::Taken(p) if p.line == 3));
        assert_eq!(list[1].get_str("just"), Some("a mapping"));
        assert!(matches!(list[2], Node::Taken(p) if p.line == 7));
        assert_eq!(docs[0].root.get_str("kind"), Some("List"));
        let nested = docs[1].root.get("spec").unwrap().get("items").unwrap();
        assert_eq!(nested.as_seq().unwrap()[0].get_str("kind"), Some("Secret"));
    }

    #[test]
    fn errors_carry_line_and_column() {
        let err = parse_documents("a: 1\nb: [1, 2\nc: 3\n").unwrap_err();
        assert!(err.line >= 2, "{err}");
    }

    #[test]
    fn plain_non_strings_are_recognised() {
        let docs = parse_documents("a: true\nb: '1.5'\nc: 1.5\nd: nginx\n").unwrap();
        let s = |k| {
            docs[0]
                .root
                .get(k)
                .unwrap()
                .as_scalar()
                .unwrap()
                .is_plain_non_string()
        };
        assert!(s("a") && !s("b") && s("c") && !s("d"));
    }
}
