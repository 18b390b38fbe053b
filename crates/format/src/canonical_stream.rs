//! Canonical DynamoDB JSON written while an image's JSON text is being parsed: no tree is built,
//! not even a `serde_json::Value`. The parser (any serde `Deserializer`; capture uses
//! serde_json's over the event's text) drives [`ImageSeed`], which checks every value and
//! appends its canonical form to one reused buffer as it arrives.
//!
//! The text and the refusals are those of [`crate::item_value_to_json`] on the same JSON parsed
//! into a `Value` (a property test holds them equal, errors included): attribute names sorted by
//! their UTF-8 bytes at every depth, a repeated name keeping its last value (as `Value` does),
//! set members sorted, numbers and base64 checked, and the first error in that walk's order
//! (sorted names, list order) reported with its attribute path. Why it exists: walking a parsed
//! `Value` costs cache misses over nodes scattered across the heap, and that walk bounded
//! capture's encoding speed (docs/BENCHMARKS.md, "Capture encoding").
//!
//! A map level writes its entries in arrival order and remembers where each starts; only when
//! the names did not arrive sorted (or one repeats, or one failed) are the entries copied out
//! and written back in order. The path of an error is assembled only once there is one.

use crate::dynamodb_json::ValueError;
use crate::number;
use base64::Engine;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::fmt::{self, Write as _};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Buffers reused from one image to the next (capture keeps one per thread), so that writing
/// an image allocates nothing but its text once the buffers have grown.
#[derive(Debug, Default)]
pub(crate) struct Buffers {
    /// Whether a string the parser hands over borrowed is known to need no escaping: true for
    /// serde_json over text, which borrows only strings that had no escape sequence (and JSON
    /// text cannot hold `"`, `\` or a control character unescaped). Another parser may
    /// borrow strings it unescaped in place, so this is set per parser.
    pub verbatim_borrowed: bool,
    /// The canonical text being written.
    out: String,
    /// A map's entries while they are put in order.
    reorder: String,
    /// Decoded base64, only to check that it decodes.
    binary: Vec<u8>,
    /// The entries of the maps being written, innermost last (each map truncates back to
    /// where its own began).
    entries: Vec<Entry>,
    /// Entry indices while a map's entries are put in order.
    order: Vec<usize>,
}

/// Parses one image (the value of `NewImage` or `OldImage`) and writes it canonically:
/// `Ok(None)` for `null` or `{}` (no image), the text, or what is wrong and where. `Err` of the
/// deserializer only for text that is not JSON.
#[derive(Debug)]
pub(crate) struct ImageSeed<'b> {
    pub buffers: &'b mut Buffers,
}

impl<'de> DeserializeSeed<'de> for ImageSeed<'_> {
    type Value = Result<Option<String>, ValueError>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        let image = Via(ImageHandler {
            buffers: self.buffers,
        })
        .deserialize(deserializer)?;
        Ok(image.map_err(Refusal::into_value_error))
    }
}

/// What is wrong with a value, and where: path segments innermost first, as the error travels
/// out of the maps and lists it is in.
#[derive(Debug)]
struct Refusal {
    within: Vec<Segment>,
    reason: String,
}

#[derive(Debug)]
enum Segment {
    Name(String),
    Index(usize),
}

impl Refusal {
    fn new(reason: String) -> Self {
        Refusal {
            within: Vec::new(),
            reason,
        }
    }

    fn within(mut self, segment: Segment) -> Self {
        self.within.push(segment);
        self
    }

    /// The path as the tree walk spells it: `a.b[1]`, `<item>` at the top.
    fn into_value_error(self) -> ValueError {
        let mut path = String::new();
        for segment in self.within.iter().rev() {
            match segment {
                Segment::Name(name) => {
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(name);
                }
                Segment::Index(i) => {
                    let _ = write!(path, "[{i}]");
                }
            }
        }
        ValueError {
            path: if path.is_empty() {
                "<item>".into()
            } else {
                path
            },
            reason: self.reason,
        }
    }
}

/// A JSON value's kind, as the refusals name it.
fn not_dynamodb_json(what: fmt::Arguments<'_>) -> Refusal {
    Refusal::new(format!("not DynamoDB JSON: {what}"))
}

/// Writes `s` as a JSON string exactly as serde_json escapes it: only `"`, `\` and control
/// characters are escaped, so text without them is copied as it is; when `verbatim`, the text
/// is known to have none of them (see [`Buffers::verbatim_borrowed`]) and is not looked at
/// again. Returns whether it was copied as it is.
fn write_text(out: &mut String, s: &str, verbatim: bool) -> bool {
    if verbatim || s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.reserve(s.len() + 2);
        out.push('"');
        out.push_str(s);
        out.push('"');
        true
    } else {
        out.push_str(&serde_json::to_string(s).expect("a string serialises"));
        false
    }
}

/// Writes a string from the parser: borrowed text may be copied unchecked when the parser
/// guarantees it ([`Buffers::verbatim_borrowed`]).
#[expect(
    clippy::ptr_arg,
    reason = "whether the text is borrowed is what this reads"
)]
fn write_parsed(out: &mut String, s: &Cow<'_, str>, verbatim_borrowed: bool) -> bool {
    write_text(out, s, verbatim_borrowed && matches!(s, Cow::Borrowed(_)))
}

/// What to do with each kind of JSON value; the defaults refuse it by kind (after reading past
/// it). [`Via`] turns a handler into a serde visitor and seed.
pub(crate) trait Handler<'de>: Sized {
    type Out;

    /// A value of the wrong kind: `kind` is "null", "a boolean", "a number", ...
    fn other(self, kind: &'static str) -> Self::Out;

    fn unit(self) -> Self::Out {
        self.other("null")
    }

    fn bool(self, _: bool) -> Self::Out {
        self.other("a boolean")
    }

    fn number(self, _: serde_json::Number) -> Self::Out {
        self.other("a number")
    }

    fn str(self, _: Cow<'de, str>) -> Self::Out {
        self.other("a string")
    }

    fn seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Out, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(self.other("an array"))
    }

    fn map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Out, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(self.other("an object"))
    }
}

/// A [`Handler`] as a serde visitor (and seed, through `deserialize_any`).
pub(crate) struct Via<H>(pub H);

impl<'de, H: Handler<'de>> DeserializeSeed<'de> for Via<H> {
    type Value = H::Out;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<H::Out, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de, H: Handler<'de>> Visitor<'de> for Via<H> {
    type Value = H::Out;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<H::Out, E> {
        Ok(self.0.bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<H::Out, E> {
        Ok(self.0.number(v.into()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<H::Out, E> {
        Ok(self.0.number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<H::Out, E> {
        match serde_json::Number::from_f64(v) {
            Some(n) => Ok(self.0.number(n)),
            None => Err(E::custom(format!("{v} is not a JSON number"))),
        }
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<H::Out, E> {
        Ok(self.0.str(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<H::Out, E> {
        Ok(self.0.str(Cow::Owned(v.to_string())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<H::Out, E> {
        Ok(self.0.str(Cow::Owned(v)))
    }

    fn visit_unit<E: de::Error>(self) -> Result<H::Out, E> {
        Ok(self.0.unit())
    }

    fn visit_none<E: de::Error>(self) -> Result<H::Out, E> {
        Ok(self.0.unit())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<H::Out, A::Error> {
        self.0.seq(seq)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<H::Out, A::Error> {
        self.0.map(map)
    }
}

/// An object key, borrowed from the text when it has no escapes.
pub(crate) struct Name;

impl<'de> DeserializeSeed<'de> for Name {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Name {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_string()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

type Written = Result<(), Refusal>;

/// An image: null (none), or an object of attribute values.
struct ImageHandler<'b> {
    buffers: &'b mut Buffers,
}

impl<'de> Handler<'de> for ImageHandler<'_> {
    type Out = Result<Option<String>, Refusal>;

    fn other(self, kind: &'static str) -> Self::Out {
        Err(not_dynamodb_json(format_args!(
            "expected an object, found {kind}"
        )))
    }

    fn unit(self) -> Self::Out {
        Ok(None)
    }

    fn map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Out, A::Error> {
        self.buffers.out.clear();
        let entries = write_map(self.buffers, map)?;
        Ok(match entries {
            Err(refusal) => Err(refusal),
            Ok(0) => Ok(None),
            Ok(_) => Ok(Some(self.buffers.out.clone())),
        })
    }
}

/// One entry of a map being written: where its `"name":value` text lies in `out`, its name,
/// and what was wrong with its value.
#[derive(Debug)]
struct Entry {
    name: EntryName,
    start: usize,
    end: usize,
    refusal: Option<Refusal>,
}

/// An entry's name: in `out` as written (between its quotes) when it was written unescaped,
/// which is nearly always; its own copy otherwise.
#[derive(Debug)]
enum EntryName {
    Written { from: usize, to: usize },
    Own(String),
}

impl EntryName {
    fn bytes<'a>(&'a self, out: &'a str) -> &'a [u8] {
        match self {
            EntryName::Written { from, to } => &out.as_bytes()[*from..*to],
            EntryName::Own(name) => name.as_bytes(),
        }
    }
}

/// Writes an object of attribute values (an item, or an `M`) canonically; returns how many
/// entries the text had (`{}` is no image).
fn write_map<'de, A: MapAccess<'de>>(
    buffers: &mut Buffers,
    mut map: A,
) -> Result<Result<usize, Refusal>, A::Error> {
    let open = buffers.out.len();
    buffers.out.push('{');
    let base = buffers.entries.len();
    let mut in_order = true;
    let mut failed = false;
    while let Some(name) = map.next_key_seed(Name)? {
        if let Some(previous) = buffers.entries[base..].last() {
            in_order &= previous.name.bytes(&buffers.out) < name.as_bytes();
            buffers.out.push(',');
        }
        let start = buffers.out.len();
        let verbatim = write_parsed(&mut buffers.out, &name, buffers.verbatim_borrowed);
        let entry_name = if verbatim {
            EntryName::Written {
                from: start + 1,
                to: buffers.out.len() - 1,
            }
        } else {
            EntryName::Own(name.into_owned())
        };
        buffers.out.push(':');
        let written = map.next_value_seed(Via(AttributeHandler {
            buffers: &mut *buffers,
        }))?;
        failed |= written.is_err();
        let end = buffers.out.len();
        buffers.entries.push(Entry {
            name: entry_name,
            start,
            end,
            refusal: written.err(),
        });
    }
    let count = buffers.entries.len() - base;
    if in_order && !failed {
        buffers.entries.truncate(base);
        buffers.out.push('}');
        return Ok(Ok(count));
    }

    // Sorted by name, and of a repeated name only the last (as a parsed `Value` keeps it).
    let Buffers {
        out,
        entries,
        order,
        reorder,
        ..
    } = buffers;
    let entries_here = &mut entries[base..];
    order.clear();
    order.extend(0..count);
    order.sort_unstable_by(|&a, &b| {
        let (x, y) = (&entries_here[a], &entries_here[b]);
        x.name.bytes(out).cmp(y.name.bytes(out)).then(a.cmp(&b))
    });
    // Keep the last of each run of equal names.
    let mut kept = 0;
    for k in 0..count {
        let i = order[k];
        let last_of_run = order.get(k + 1).is_none_or(|&next| {
            entries_here[next].name.bytes(out) != entries_here[i].name.bytes(out)
        });
        if last_of_run {
            order[kept] = i;
            kept += 1;
        }
    }
    order.truncate(kept);
    if failed {
        for &i in order.iter() {
            if let Some(refusal) = entries_here[i].refusal.take() {
                let name = match &entries_here[i].name {
                    EntryName::Own(name) => name.clone(),
                    EntryName::Written { from, to } => out[*from..*to].to_string(),
                };
                entries.truncate(base);
                return Ok(Err(refusal.within(Segment::Name(name))));
            }
        }
    }
    let body = open + 1;
    reorder.clear();
    reorder.push_str(&out[body..]);
    out.truncate(body);
    for (k, &i) in order.iter().enumerate() {
        if k > 0 {
            out.push(',');
        }
        let entry = &entries_here[i];
        out.push_str(&reorder[entry.start - body..entry.end - body]);
    }
    entries.truncate(base);
    out.push('}');
    Ok(Ok(count))
}

/// One attribute value: an object with exactly one type tag.
struct AttributeHandler<'b> {
    buffers: &'b mut Buffers,
}

impl<'de> Handler<'de> for AttributeHandler<'_> {
    type Out = Written;

    fn other(self, kind: &'static str) -> Written {
        Err(not_dynamodb_json(format_args!(
            "expected an attribute value, found {kind}"
        )))
    }

    fn map<A: MapAccess<'de>>(self, mut map: A) -> Result<Written, A::Error> {
        let start = self.buffers.out.len();
        // Distinct tags seen; a repeated tag keeps its last value, as a parsed `Value` does.
        let mut first: Option<Cow<'de, str>> = None;
        let mut others: Vec<Cow<'de, str>> = Vec::new();
        let mut written: Written = Ok(());
        while let Some(tag) = map.next_key_seed(Name)? {
            match &first {
                None => first = Some(tag.clone()),
                Some(f) if *f != tag && !others.contains(&tag) => others.push(tag.clone()),
                Some(_) => {}
            }
            if !others.is_empty() {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            self.buffers.out.truncate(start);
            written = match Tag::parse(&tag) {
                Some(known) => map.next_value_seed(Via(TagHandler {
                    buffers: &mut *self.buffers,
                    tag: known,
                }))?,
                None => {
                    map.next_value::<IgnoredAny>()?;
                    Err(not_dynamodb_json(format_args!("unknown type {tag:?}")))
                }
            };
        }
        let tags = usize::from(first.is_some()) + others.len();
        if tags != 1 {
            self.buffers.out.truncate(start);
            return Ok(Err(not_dynamodb_json(format_args!(
                "an attribute value has exactly one type, found {tags}"
            ))));
        }
        if written.is_ok() {
            self.buffers.out.push('}');
        }
        Ok(written)
    }
}

/// The DynamoDB types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tag {
    S,
    N,
    B,
    Bool,
    Null,
    Ss,
    Ns,
    Bs,
    M,
    L,
}

impl Tag {
    fn parse(tag: &str) -> Option<Tag> {
        Some(match tag {
            "S" => Tag::S,
            "N" => Tag::N,
            "B" => Tag::B,
            "BOOL" => Tag::Bool,
            "NULL" => Tag::Null,
            "SS" => Tag::Ss,
            "NS" => Tag::Ns,
            "BS" => Tag::Bs,
            "M" => Tag::M,
            "L" => Tag::L,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Tag::S => "S",
            Tag::N => "N",
            Tag::B => "B",
            Tag::Bool => "BOOL",
            Tag::Null => "NULL",
            Tag::Ss => "SS",
            Tag::Ns => "NS",
            Tag::Bs => "BS",
            Tag::M => "M",
            Tag::L => "L",
        }
    }

    /// What the tag's value must be, as the refusals say it.
    fn expected(self) -> &'static str {
        match self {
            Tag::S | Tag::N => "a string",
            Tag::B => "a base64 string",
            Tag::Bool | Tag::Null => "a boolean",
            Tag::M => "an object",
            Tag::L => "an array",
            // Sets are refused as "SS is ...", not "must be".
            Tag::Ss | Tag::Ns | Tag::Bs => "an array of strings",
        }
    }

    /// `{"TAG":`, the opening of the canonical attribute value.
    fn open(self) -> &'static str {
        match self {
            Tag::S => "{\"S\":",
            Tag::N => "{\"N\":",
            Tag::B => "{\"B\":",
            Tag::Bool => "{\"BOOL\":",
            Tag::Null => "{\"NULL\":",
            Tag::Ss => "{\"SS\":",
            Tag::Ns => "{\"NS\":",
            Tag::Bs => "{\"BS\":",
            Tag::M => "{\"M\":",
            Tag::L => "{\"L\":",
        }
    }

    fn is_set(self) -> bool {
        matches!(self, Tag::Ss | Tag::Ns | Tag::Bs)
    }
}

/// The value under a known tag; writes `{"TAG":value` (the attribute closes the brace).
struct TagHandler<'b> {
    buffers: &'b mut Buffers,
    tag: Tag,
}

/// Checks that base64 text decodes. The standard engine accepts only canonical text (padding
/// required, no stray trailing bits), so text that decodes is already the canonical spelling.
fn check_binary(text: &str, scratch: &mut Vec<u8>) -> Written {
    scratch.clear();
    B64.decode_vec(text, scratch)
        .map_err(|e| not_dynamodb_json(format_args!("bad base64: {e}")))
}

impl<'de> Handler<'de> for TagHandler<'_> {
    type Out = Written;

    fn other(self, kind: &'static str) -> Written {
        let tag = self.tag.name();
        Err(if self.tag.is_set() {
            not_dynamodb_json(format_args!("{tag} is {kind}"))
        } else {
            not_dynamodb_json(format_args!(
                "{tag} must be {}, found {kind}",
                self.tag.expected()
            ))
        })
    }

    fn str(self, s: Cow<'de, str>) -> Written {
        match self.tag {
            Tag::S => {}
            Tag::N => number::check(&s).map_err(|e| Refusal::new(e.to_string()))?,
            Tag::B => check_binary(&s, &mut self.buffers.binary)?,
            _ => return self.other("a string"),
        }
        let out = &mut self.buffers.out;
        out.push_str(self.tag.open());
        write_parsed(out, &s, self.buffers.verbatim_borrowed);
        Ok(())
    }

    fn bool(self, b: bool) -> Written {
        if !matches!(self.tag, Tag::Bool | Tag::Null) {
            return self.other("a boolean");
        }
        let out = &mut self.buffers.out;
        out.push_str(self.tag.open());
        out.push_str(if b { "true" } else { "false" });
        Ok(())
    }

    fn seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Written, A::Error> {
        match self.tag {
            Tag::L => write_list(self.buffers, seq),
            Tag::Ss | Tag::Ns | Tag::Bs => write_set(self.buffers, self.tag, seq),
            _ => {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(self.other("an array"))
            }
        }
    }

    fn map<A: MapAccess<'de>>(self, mut map: A) -> Result<Written, A::Error> {
        if self.tag != Tag::M {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            return Ok(self.other("an object"));
        }
        self.buffers.out.push_str(Tag::M.open());
        Ok(write_map(self.buffers, map)?.map(|_| ()))
    }
}

fn write_list<'de, A: SeqAccess<'de>>(
    buffers: &mut Buffers,
    mut seq: A,
) -> Result<Written, A::Error> {
    buffers.out.push_str("{\"L\":[");
    let mut index = 0;
    loop {
        if index > 0 {
            buffers.out.push(',');
        }
        let Some(written) = seq.next_element_seed(Via(AttributeHandler {
            buffers: &mut *buffers,
        }))?
        else {
            break;
        };
        if let Err(refusal) = written {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            return Ok(Err(refusal.within(Segment::Index(index))));
        }
        index += 1;
    }
    if index > 0 {
        // The separator pushed before learning the list had ended.
        buffers.out.pop();
    }
    buffers.out.push(']');
    Ok(Ok(()))
}

/// A set member: a string, or the kind of what stood there instead.
struct MemberHandler;

impl<'de> Handler<'de> for MemberHandler {
    type Out = Result<Cow<'de, str>, &'static str>;

    fn other(self, kind: &'static str) -> Self::Out {
        Err(kind)
    }

    fn str(self, s: Cow<'de, str>) -> Self::Out {
        Ok(s)
    }
}

fn write_set<'de, A: SeqAccess<'de>>(
    buffers: &mut Buffers,
    tag: Tag,
    mut seq: A,
) -> Result<Written, A::Error> {
    let verbatim = buffers.verbatim_borrowed;
    let name = tag.name();
    let mut members: Vec<Cow<'de, str>> = Vec::new();
    while let Some(member) = seq.next_element_seed(Via(MemberHandler))? {
        match member {
            Ok(s) => members.push(s),
            Err(kind) => {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                return Ok(Err(not_dynamodb_json(format_args!(
                    "a member of {name} is {kind}"
                ))));
            }
        }
    }
    if members.is_empty() {
        return Ok(Err(Refusal::new(format!("empty {name}"))));
    }
    let out = &mut buffers.out;
    match tag {
        Tag::Ns => {
            // Sorted by canonical value, then text; two spellings of one value are refused.
            let mut sorted = Vec::with_capacity(members.len());
            for n in members {
                match number::canonical(&n) {
                    Ok(c) => sorted.push((c, n)),
                    Err(e) => return Ok(Err(Refusal::new(e.to_string()))),
                }
            }
            sorted.sort_unstable();
            if let Some(w) = sorted.windows(2).find(|w| w[0].0 == w[1].0) {
                return Ok(Err(Refusal::new(format!(
                    "duplicate number {:?} in NS",
                    w[1].1
                ))));
            }
            members = sorted.into_iter().map(|(_, n)| n).collect();
        }
        Tag::Bs => {
            for b in &members {
                if let Err(refusal) = check_binary(b, &mut buffers.binary) {
                    return Ok(Err(refusal));
                }
            }
            members.sort_unstable();
        }
        _ => members.sort_unstable(),
    }
    out.push_str(tag.open());
    out.push('[');
    for (i, member) in members.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_parsed(out, member, verbatim);
    }
    out.push(']');
    Ok(Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::item_value_to_json;
    use serde_json::Value;

    fn stream(text: &str) -> Result<Option<String>, ValueError> {
        let mut buffers = Buffers::default();
        let mut de = serde_json::Deserializer::from_str(text);
        let image = ImageSeed {
            buffers: &mut buffers,
        }
        .deserialize(&mut de)
        .unwrap();
        de.end().unwrap();
        image
    }

    fn tree(text: &str) -> Result<Option<String>, ValueError> {
        let value: Value = serde_json::from_str(text).unwrap();
        match &value {
            Value::Null => Ok(None),
            Value::Object(m) if m.is_empty() => Ok(None),
            v => item_value_to_json(v).map(Some),
        }
    }

    #[test]
    fn same_text_as_the_tree_walk() {
        for text in [
            r#"{"z":{"S":"é\"\n"},"n":{"N":"1E+2"},"b":{"B":"AP8H"},"t":{"BOOL":true},"nul":{"NULL":true},"ss":{"SS":["b","a"]},"ns":{"NS":["10","9","1E+3"]},"bs":{"BS":["Ag==","AQ=="]},"l":{"L":[{"N":"1"},{"M":{}}]},"m":{"M":{"y":{"S":"1"},"x":{"L":[]}}}}"#,
            r#"{"a":{"S":"x"},"a":{"N":"1"}}"#,
            r#"{"a":{"N":"1x"},"a":{"N":"1"}}"#,
            r#"{"a":{"S":"x","S":"y"}}"#,
            r#"{"b\u0041":{"S":"\u00e9\ud83d\ude00\/"},"bA":{"S":"first"}}"#,
            r#"{"m":{"M":{"b":{"M":{"d":{"S":"1"},"c":{"S":"2"}}},"a":{"L":[{"M":{"y":{"N":"2"},"x":{"N":"1"}}}]}}}}"#,
            r#" { "a" : { "L" : [ ] } , "b" : { "SS" : [ "x" ] } } "#,
            "{}",
            "null",
        ] {
            assert_eq!(stream(text), tree(text), "{text}");
        }
    }

    #[test]
    fn refusals_name_the_path() {
        let more = [
            (r#"{"b":{"N":"x"},"a":{"S":1}}"#, "a", "must be a string"),
            (r#"{"s":{"SS":["a",1]}}"#, "s", "a member of SS is a number"),
            (r#"{"s":{"NS":{}}}"#, "s", "NS is an object"),
            (r#"{"s":"x"}"#, "s", "expected an attribute value"),
            (r#"["x"]"#, "<item>", "expected an object, found an array"),
        ];
        for &(text, path, needle) in crate::canonical_value::REFUSALS.iter().chain(&more) {
            let e = stream(text).unwrap_err();
            assert_eq!(e.path, path, "{text}: {e}");
            assert!(e.reason.contains(needle), "{text}: {e}");
            assert_eq!(Err(e), tree(text), "{text}");
        }
    }

    #[test]
    fn decodable_base64_is_already_canonical() {
        // What lets the writer copy binary text instead of encoding it again.
        for text in ["", "AA==", "AAA=", "AAAA", "/+8=", "iVBORw0KGgo="] {
            let bytes = B64.decode(text).unwrap();
            assert_eq!(B64.encode(bytes), text);
        }
        for text in [
            "AB==", "AAB=", "A===", "AA", "AA=", "AA==\n", " AA==", "AA==AA==",
        ] {
            assert!(B64.decode(text).is_err(), "{text} decodes");
        }
    }
}
