//! The rule language of the `ids` service function: the subset of the Suricata/Snort signature
//! syntax that rule files published for network IDSes actually use for packet payloads.
//!
//! A rule is `ACTION PROTO SRC SPORTS DIR DST DPORTS (OPTIONS)`. [`parse_rules`] reads a whole
//! rules file, line by line (blank lines and `#` comments skipped, a line ending in `\` continued
//! on the next), and returns every rule it understood together with one [`RuleError`] per rule it
//! did not. It does not decide what to do with the errors: a [`RuleErrorKind::Syntax`] error is a
//! malformed rule (the file is wrong), a [`RuleErrorKind::Unsupported`] error is valid rule
//! language that qdp does not implement (an app-layer protocol, `pcre`, `flowbits`, ...), which a
//! caller may choose to skip.
//!
//! Supported:
//!
//! * actions `alert`, `drop`, `pass`; protocols `ip`, `tcp`, `udp`, `icmp` (ICMP and ICMPv6);
//! * addresses `any`, IPv4/IPv6 addresses and prefixes, `$VAR`, lists `[a,b]` (nested),
//!   negation `!a` / `![a,b]`; ports `any`, `80`, `1024:65535`, `:1023`, `1024:`, lists,
//!   negation, `$VAR`; directions `->` and `<>`;
//! * options `msg`, `sid`, `rev`, `gid` (1 only), `classtype`, `priority`, `metadata` and
//!   `reference` (ignored), `flow` (direction and `established` / `not_established` /
//!   `stateless`), `content` (hex `|..|` segments, `!` negation) with its modifiers `nocase`,
//!   `offset`, `depth`, `distance`, `within` and `fast_pattern`.
//!
//! The header's address and port expressions are in [`header`](super::header), re-exported
//! here. Limits, refused as syntax errors: contents of more than [`MAX_CONTENT_LEN`] bytes or
//! empty, modifier values above [`MAX_MODIFIER_VALUE`], a `depth` or `within` shorter than its
//! content, relative (`distance`/`within`) and absolute (`offset`/`depth`) modifiers on the same
//! content, a duplicate `sid`, a missing `sid` or `msg`.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::fmt;

use super::header::{parse_addr, parse_ports};
pub use super::header::{AddrSpec, Cidr, PortSpec};

/// The longest content a rule may carry, in bytes.
pub const MAX_CONTENT_LEN: usize = 1024;

/// The largest absolute value of `offset`, `depth`, `distance` and `within`.
pub const MAX_MODIFIER_VALUE: u32 = 65535;

/// What a matching rule does, in Suricata's default order of precedence: pass, drop, alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Report the packet.
    Alert,
    /// Report and discard the packet.
    Drop,
    /// Let the packet through without any report, whatever else matches.
    Pass,
}

/// The protocol a rule applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleProtocol {
    /// Every IP packet.
    Ip,
    /// TCP (IP protocol 6).
    Tcp,
    /// UDP (IP protocol 17).
    Udp,
    /// ICMP and ICMPv6 (IP protocols 1 and 58), as Suricata's `icmp`.
    Icmp,
}

impl RuleProtocol {
    /// True if a packet of IP protocol number `proto` is one the rule applies to.
    pub fn matches(self, proto: u8) -> bool {
        match self {
            RuleProtocol::Ip => true,
            RuleProtocol::Tcp => proto == 6,
            RuleProtocol::Udp => proto == 17,
            RuleProtocol::Icmp => proto == 1 || proto == 58,
        }
    }
}

/// The rule header's direction operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// `->`: source to destination only.
    ToDst,
    /// `<>`: either way round.
    Both,
}

/// `flow:` direction: which side of the connection sent the packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowDirection {
    /// `to_server` / `from_client`.
    ToServer,
    /// `to_client` / `from_server`.
    ToClient,
}

/// `flow:` connection state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FlowState {
    /// No state asked for (also `stateless`).
    #[default]
    Any,
    /// `established`.
    Established,
    /// `not_established`.
    NotEstablished,
}

/// A rule's `flow:` options.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FlowOptions {
    /// The direction asked for, if any.
    pub direction: Option<FlowDirection>,
    /// The state asked for.
    pub state: FlowState,
}

/// One `content` with its modifiers.
///
/// A content is *relative* when it has `distance` or `within`: its window starts at the end of
/// the previous non-negated content's match plus `distance` and is `within` bytes long (counted
/// from that start, as Suricata does). Otherwise its window is `offset..offset + depth` of the
/// payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Content {
    /// The bytes to find (hex segments decoded, escapes resolved); never empty.
    pub pattern: Vec<u8>,
    /// `content:!"..."`: the pattern must not occur in the window.
    pub negated: bool,
    /// ASCII case-insensitive.
    pub nocase: bool,
    /// `offset:N`.
    pub offset: Option<u32>,
    /// `depth:N`.
    pub depth: Option<u32>,
    /// `distance:N` (may be negative).
    pub distance: Option<i32>,
    /// `within:N`.
    pub within: Option<u32>,
    /// `fast_pattern`: the content the prefilter looks for.
    pub fast_pattern: bool,
}

impl Content {
    /// True if the content's window is relative to the previous match.
    pub fn is_relative(&self) -> bool {
        self.distance.is_some() || self.within.is_some()
    }

    fn new(pattern: Vec<u8>, negated: bool) -> Content {
        Content {
            pattern,
            negated,
            nocase: false,
            offset: None,
            depth: None,
            distance: None,
            within: None,
            fast_pattern: false,
        }
    }
}

/// One parsed rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The 1-based line of the rules file the rule starts on.
    pub line: usize,
    /// `sid`.
    pub sid: u32,
    /// `rev` (0 when absent).
    pub rev: u32,
    /// `gid` (always 1).
    pub gid: u32,
    /// `msg`.
    pub msg: String,
    /// `classtype`, if given.
    pub classtype: Option<String>,
    /// `priority`, if given (1 is the most severe).
    pub priority: Option<u8>,
    /// The action.
    pub action: Action,
    /// The protocol.
    pub protocol: RuleProtocol,
    /// Source addresses.
    pub src: AddrSpec,
    /// Source ports.
    pub src_ports: PortSpec,
    /// `->` or `<>`.
    pub direction: Direction,
    /// Destination addresses.
    pub dst: AddrSpec,
    /// Destination ports.
    pub dst_ports: PortSpec,
    /// `flow:` options.
    pub flow: FlowOptions,
    /// The contents, in rule order.
    pub contents: Vec<Content>,
}

/// Why a rule was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleErrorKind {
    /// The rule is malformed, has a bad value, breaks a limit or names an unknown variable.
    Syntax,
    /// The rule is valid rule language that qdp does not implement.
    Unsupported,
}

/// A rule that [`parse_rules`] refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    /// The 1-based line the rule starts on.
    pub line: usize,
    /// The rule's `sid`, when one could be read.
    pub sid: Option<u32>,
    /// Syntax or unsupported.
    pub kind: RuleErrorKind,
    /// What is wrong, naming the keyword or field.
    pub message: String,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}", self.line)?;
        if let Some(sid) = self.sid {
            write!(f, " (sid {sid})")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for RuleError {}

/// An error before its line and sid are attached.
pub(super) struct Fail {
    kind: RuleErrorKind,
    message: String,
}

pub(super) fn syntax(message: impl Into<String>) -> Fail {
    Fail {
        kind: RuleErrorKind::Syntax,
        message: message.into(),
    }
}

fn unsupported(message: impl Into<String>) -> Fail {
    Fail {
        kind: RuleErrorKind::Unsupported,
        message: message.into(),
    }
}

/// Parses a whole rules file. `vars` maps variable names (without the `$`) to their values,
/// which are address or port expressions themselves (`"[10.0.0.0/8,!10.1.0.0/16]"`, `"80"`).
///
/// Returns the rules that parsed, in file order, and one error per rule that did not; a rule
/// whose `sid` repeats an earlier rule's is refused.
pub fn parse_rules(text: &str, vars: &HashMap<String, String>) -> (Vec<Rule>, Vec<RuleError>) {
    let mut rules = Vec::new();
    let mut errors = Vec::new();
    let mut sids: HashMap<u32, usize> = HashMap::new();
    for (line, body) in logical_lines(text) {
        match parse_rule(&body, vars) {
            Ok(mut rule) => match sids.entry(rule.sid) {
                Entry::Occupied(first) => errors.push(RuleError {
                    line,
                    sid: Some(rule.sid),
                    kind: RuleErrorKind::Syntax,
                    message: format!("duplicate sid {} (first on line {})", rule.sid, first.get()),
                }),
                Entry::Vacant(slot) => {
                    slot.insert(line);
                    rule.line = line;
                    rules.push(rule);
                }
            },
            Err((sid, fail)) => errors.push(RuleError {
                line,
                sid,
                kind: fail.kind,
                message: fail.message,
            }),
        }
    }
    (rules, errors)
}

/// The rules of a file, each with the number of its first line, continuation lines joined.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_end();
        let (start, mut body) = match current.take() {
            Some(pending) => pending,
            None => {
                let trimmed = line.trim_start();
                if trimmed.is_empty() || trimmed.starts_with('#') {
                    continue;
                }
                (i + 1, String::new())
            }
        };
        match line.strip_suffix('\\') {
            Some(head) => {
                body.push_str(head);
                current = Some((start, body));
            }
            None => {
                body.push_str(line);
                out.push((start, body));
            }
        }
    }
    if let Some(pending) = current {
        out.push(pending);
    }
    out
}

/// Parses one rule (continuations joined); the error carries the sid when it could be read.
fn parse_rule(text: &str, vars: &HashMap<String, String>) -> Result<Rule, (Option<u32>, Fail)> {
    let text = text.trim();
    let Some(open) = text.find('(') else {
        return Err((None, syntax("missing the options `( ... )`")));
    };
    let (header, rest) = (&text[..open], &text[open + 1..]);
    let Some(body) = rest.trim_end().strip_suffix(')') else {
        return Err((scan_sid(rest), syntax("options not closed by `)`")));
    };
    let options = split_options(body).map_err(|f| (scan_sid(body), f))?;
    let sid = options
        .iter()
        .find(|(k, _)| *k == "sid")
        .and_then(|(_, v)| v.and_then(|v| v.trim().parse::<u32>().ok()));
    build_rule(header, &options, vars).map_err(|f| (sid, f))
}

/// Best effort at a sid in a rule whose options could not be split.
fn scan_sid(text: &str) -> Option<u32> {
    let at = text.find("sid:")?;
    let digits: String = text[at + 4..]
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// Splits the text between the parentheses into `(keyword, raw value)` pairs.
fn split_options(body: &str) -> Result<Vec<(&str, Option<&str>)>, Fail> {
    let bytes = body.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= bytes.len() {
            return Ok(out);
        }
        let key_start = i;
        while i < bytes.len() && bytes[i] != b':' && bytes[i] != b';' {
            i += 1;
        }
        let key = body[key_start..i].trim();
        let valid = !key.is_empty()
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
        if !valid {
            let near: String = body[key_start..].chars().take(24).collect();
            return Err(syntax(format!("malformed option near `{near}`")));
        }
        if i >= bytes.len() {
            return Err(syntax(format!("option `{key}` is not ended by `;`")));
        }
        if bytes[i] == b';' {
            out.push((key, None));
            i += 1;
            continue;
        }
        i += 1;
        let value_start = i;
        let mut quoted = false;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' => i += 1,
                b'"' => quoted = !quoted,
                b';' if !quoted => break,
                _ => {}
            }
            i += 1;
        }
        if i >= bytes.len() {
            return Err(syntax(format!("option `{key}` is not ended by `;`")));
        }
        out.push((key, Some(body[value_start..i].trim())));
        i += 1;
    }
}

/// The text of a quoted value with `\"`, `\;`, `\\` and `\:` resolved.
fn unquote(key: &str, raw: &str) -> Result<String, Fail> {
    let Some(inner) = raw.strip_prefix('"') else {
        return Err(syntax(format!("`{key}` needs a quoted value")));
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e @ ('"' | ';' | '\\' | ':')) => out.push(e),
                Some(e) => return Err(syntax(format!("invalid escape `\\{e}` in `{key}`"))),
                None => return Err(syntax(format!("unterminated quote in `{key}`"))),
            },
            '"' => {
                if chars.as_str().trim().is_empty() {
                    return Ok(out);
                }
                return Err(syntax(format!("text after the closing quote of `{key}`")));
            }
            c => out.push(c),
        }
    }
    Err(syntax(format!("unterminated quote in `{key}`")))
}

/// A content's bytes: text with `|..|` hex segments.
fn content_bytes(text: &str) -> Result<Vec<u8>, Fail> {
    let mut out = Vec::with_capacity(text.len());
    let mut hex = false;
    let mut nibble: Option<u8> = None;
    for c in text.chars() {
        if c == '|' {
            if nibble.is_some() {
                return Err(syntax("odd number of hex digits in `content`"));
            }
            hex = !hex;
        } else if hex {
            if c.is_ascii_whitespace() {
                continue;
            }
            let Some(d) = c.to_digit(16) else {
                return Err(syntax(format!("invalid hex digit `{c}` in `content`")));
            };
            let d = d as u8;
            match nibble.take() {
                Some(hi) => out.push(hi << 4 | d),
                None => nibble = Some(d),
            }
        } else {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
    }
    if hex {
        return Err(syntax("unterminated hex segment `|` in `content`"));
    }
    Ok(out)
}

/// The header fields split on whitespace outside brackets.
fn header_fields(header: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start: Option<usize> = None;
    for (i, c) in header.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            _ => {}
        }
        if c.is_whitespace() && depth <= 0 {
            if let Some(s) = start.take() {
                out.push(&header[s..i]);
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(s) = start {
        out.push(&header[s..]);
    }
    out
}

fn build_rule(
    header: &str,
    options: &[(&str, Option<&str>)],
    vars: &HashMap<String, String>,
) -> Result<Rule, Fail> {
    // An unsupported feature is remembered and reported only if no syntax error follows, so a
    // file is never accepted with a malformed rule hidden behind an unsupported keyword.
    let mut deferred: Option<Fail> = None;
    let fields = header_fields(header);
    let [action, proto, src, sports, dir, dst, dports] = fields[..] else {
        return Err(syntax(format!(
            "expected `action protocol src sports -> dst dports` before `(`, found {} fields",
            fields.len()
        )));
    };
    let action = match action {
        "alert" => Action::Alert,
        "drop" => Action::Drop,
        "pass" => Action::Pass,
        "reject" | "rejectsrc" | "rejectdst" | "rejectboth" | "config" => {
            deferred.get_or_insert(unsupported(format!("unsupported action `{action}`")));
            Action::Alert
        }
        other => return Err(syntax(format!("unknown action `{other}`"))),
    };
    let protocol = match proto {
        "ip" => RuleProtocol::Ip,
        "tcp" => RuleProtocol::Tcp,
        "udp" => RuleProtocol::Udp,
        "icmp" => RuleProtocol::Icmp,
        other
            if !other.is_empty()
                && other
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')) =>
        {
            deferred.get_or_insert(unsupported(format!("unsupported protocol `{other}`")));
            RuleProtocol::Ip
        }
        other => return Err(syntax(format!("malformed protocol `{other}`"))),
    };
    let direction = match dir {
        "->" => Direction::ToDst,
        "<>" => Direction::Both,
        "<-" => return Err(syntax("direction `<-` is not valid, use `->`")),
        other => return Err(syntax(format!("expected `->` or `<>`, found `{other}`"))),
    };
    let src = parse_addr(src, vars, 0)?;
    let src_ports = parse_ports(sports, vars, 0)?;
    let dst = parse_addr(dst, vars, 0)?;
    let dst_ports = parse_ports(dports, vars, 0)?;

    let mut sid = None;
    let mut msg = None;
    let mut rev = None;
    let mut gid = None;
    let mut classtype = None;
    let mut priority = None;
    let mut flow = None;
    let mut contents: Vec<Content> = Vec::new();
    for &(key, value) in options {
        match key {
            "msg" => {
                let v = need(key, value)?;
                let text = if v.starts_with('"') {
                    unquote(key, v)?
                } else {
                    v.to_string()
                };
                set_once(&mut msg, key, text)?;
            }
            "sid" => {
                let v: u32 = number(key, need(key, value)?)?;
                if v == 0 {
                    return Err(syntax("`sid` must not be 0"));
                }
                set_once(&mut sid, key, v)?;
            }
            "rev" => set_once(&mut rev, key, number::<u32>(key, need(key, value)?)?)?,
            "gid" => {
                let v: u32 = number(key, need(key, value)?)?;
                if v != 1 {
                    deferred.get_or_insert(unsupported(format!("`gid:{v}`: only gid 1")));
                }
                set_once(&mut gid, key, v)?;
            }
            "classtype" => {
                let v = need(key, value)?;
                if v.is_empty() {
                    return Err(syntax("`classtype` needs a value"));
                }
                set_once(&mut classtype, key, v.to_string())?;
            }
            "priority" => {
                let v: u8 = number(key, need(key, value)?)?;
                if v == 0 {
                    return Err(syntax("`priority` must be 1 to 255"));
                }
                set_once(&mut priority, key, v)?;
            }
            "metadata" | "reference" => {}
            "flow" => {
                let parsed = parse_flow(need(key, value)?, &mut deferred)?;
                set_once(&mut flow, key, parsed)?;
            }
            "content" => {
                let v = need(key, value)?;
                let (negated, v) = match v.strip_prefix('!') {
                    Some(rest) => (true, rest.trim_start()),
                    None => (false, v),
                };
                let bytes = content_bytes(&unquote(key, v)?)?;
                if bytes.is_empty() {
                    return Err(syntax("empty `content`"));
                }
                if bytes.len() > MAX_CONTENT_LEN {
                    return Err(syntax(format!(
                        "huge content ({} bytes, at most {MAX_CONTENT_LEN})",
                        bytes.len()
                    )));
                }
                contents.push(Content::new(bytes, negated));
            }
            "nocase" | "fast_pattern" | "offset" | "depth" | "distance" | "within" => {
                let Some(content) = contents.last_mut() else {
                    return Err(syntax(format!("`{key}` before any `content`")));
                };
                content_modifier(content, key, value, &mut deferred)?;
            }
            other => {
                deferred.get_or_insert(unsupported(format!("unsupported keyword `{other}`")));
            }
        }
    }
    if contents.iter().filter(|c| c.fast_pattern).count() > 1 {
        return Err(syntax("more than one `fast_pattern`"));
    }
    let Some(msg) = msg else {
        return Err(syntax("missing `msg`"));
    };
    let Some(sid) = sid else {
        return Err(syntax("missing `sid`"));
    };
    if let Some(fail) = deferred {
        return Err(fail);
    }
    Ok(Rule {
        line: 0,
        sid,
        rev: rev.unwrap_or(0),
        gid: gid.unwrap_or(1),
        msg,
        classtype,
        priority,
        action,
        protocol,
        src,
        src_ports,
        direction,
        dst,
        dst_ports,
        flow: flow.unwrap_or_default(),
        contents,
    })
}

fn need<'a>(key: &str, value: Option<&'a str>) -> Result<&'a str, Fail> {
    value.ok_or_else(|| syntax(format!("`{key}` needs a value")))
}

fn set_once<T>(slot: &mut Option<T>, key: &str, value: T) -> Result<(), Fail> {
    if slot.is_some() {
        return Err(syntax(format!("`{key}` given twice")));
    }
    *slot = Some(value);
    Ok(())
}

fn number<T: std::str::FromStr>(key: &str, value: &str) -> Result<T, Fail> {
    value
        .trim()
        .parse()
        .map_err(|_| syntax(format!("invalid value `{value}` for `{key}`")))
}

/// Applies one of `nocase`, `fast_pattern`, `offset`, `depth`, `distance`, `within`.
fn content_modifier(
    content: &mut Content,
    key: &str,
    value: Option<&str>,
    deferred: &mut Option<Fail>,
) -> Result<(), Fail> {
    match (key, value) {
        ("nocase", None) => {
            content.nocase = true;
            return Ok(());
        }
        // `fast_pattern:only` and `fast_pattern:N,M` (a chop) only narrow what the prefilter
        // looks for; the whole content is always verified, so they mean the same here.
        ("fast_pattern", _) => {
            content.fast_pattern = true;
            return Ok(());
        }
        ("nocase", Some(_)) => return Err(syntax("`nocase` takes no value")),
        (_, None) => return Err(syntax(format!("`{key}` needs a value"))),
        _ => {}
    }
    let raw = value.unwrap_or_default().trim();
    if !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_alphabetic() || b == b'_') {
        // A byte_extract variable name: only meaningful with `byte_extract`, unsupported.
        deferred.get_or_insert(unsupported(format!("`{key}` with a variable `{raw}`")));
        return Ok(());
    }
    let v: i64 = number(key, raw)?;
    if v.unsigned_abs() > u64::from(MAX_MODIFIER_VALUE) {
        return Err(syntax(format!(
            "`{key}:{v}` is above the limit of {MAX_MODIFIER_VALUE}"
        )));
    }
    if key != "distance" && v < 0 {
        return Err(syntax(format!("`{key}` must not be negative")));
    }
    let len = content.pattern.len();
    let v32 = v.unsigned_abs() as u32;
    match key {
        "offset" => set_once(&mut content.offset, key, v32)?,
        "depth" => {
            if (v32 as usize) < len {
                return Err(syntax(format!(
                    "`depth:{v}` is shorter than its content ({len} bytes)"
                )));
            }
            set_once(&mut content.depth, key, v32)?
        }
        "distance" => set_once(&mut content.distance, key, v as i32)?,
        _ => {
            if (v32 as usize) < len {
                return Err(syntax(format!(
                    "`within:{v}` is shorter than its content ({len} bytes)"
                )));
            }
            set_once(&mut content.within, key, v32)?
        }
    }
    let absolute = content.offset.is_some() || content.depth.is_some();
    if absolute && content.is_relative() {
        return Err(syntax(
            "`distance`/`within` cannot be combined with `offset`/`depth` on one content",
        ));
    }
    Ok(())
}

fn parse_flow(value: &str, deferred: &mut Option<Fail>) -> Result<FlowOptions, Fail> {
    let mut flow = FlowOptions::default();
    let mut state_set = false;
    for word in value.split(',').map(str::trim) {
        let (dir, state) = match word {
            "to_server" | "from_client" => (Some(FlowDirection::ToServer), None),
            "to_client" | "from_server" => (Some(FlowDirection::ToClient), None),
            "established" => (None, Some(FlowState::Established)),
            "not_established" => (None, Some(FlowState::NotEstablished)),
            "stateless" => (None, Some(FlowState::Any)),
            "" => return Err(syntax("empty item in `flow`")),
            other => {
                deferred.get_or_insert(unsupported(format!("unsupported flow option `{other}`")));
                continue;
            }
        };
        if let Some(d) = dir {
            if flow.direction.is_some_and(|old| old != d) {
                return Err(syntax(format!(
                    "`flow` has conflicting directions (`{word}`)"
                )));
            }
            flow.direction = Some(d);
        }
        if let Some(s) = state {
            if state_set && flow.state != s {
                return Err(syntax(format!("`flow` has conflicting states (`{word}`)")));
            }
            state_set = true;
            flow.state = s;
        }
    }
    Ok(flow)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;

    fn vars() -> HashMap<String, String> {
        [
            ("HOME_NET", "[10.1.0.0/16,10.2.0.0/16]"),
            ("EXTERNAL_NET", "!$HOME_NET"),
            ("HTTP_PORTS", "[80,8080]"),
            ("LOOP", "$LOOP"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    fn one(text: &str) -> Rule {
        let (rules, errors) = parse_rules(text, &vars());
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(rules.len(), 1);
        rules.into_iter().next().unwrap()
    }

    fn error(text: &str) -> RuleError {
        let (rules, errors) = parse_rules(text, &vars());
        assert!(rules.is_empty(), "{rules:?}");
        assert_eq!(errors.len(), 1, "{errors:?}");
        errors.into_iter().next().unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn emerging_threats_style_rule() {
        let r = one(
            "alert tcp $EXTERNAL_NET any -> $HOME_NET 80 (msg:\"ET WEB /etc/passwd\"; \
             flow:to_server,established; content:\"/etc/passwd\"; nocase; \
             classtype:attempted-recon; sid:1000001; rev:2;)",
        );
        assert_eq!(r.line, 1);
        assert_eq!((r.sid, r.rev, r.gid), (1_000_001, 2, 1));
        assert_eq!(r.msg, "ET WEB /etc/passwd");
        assert_eq!(r.classtype.as_deref(), Some("attempted-recon"));
        assert_eq!(r.action, Action::Alert);
        assert_eq!(r.protocol, RuleProtocol::Tcp);
        assert_eq!(r.direction, Direction::ToDst);
        assert_eq!(r.flow.direction, Some(FlowDirection::ToServer));
        assert_eq!(r.flow.state, FlowState::Established);
        assert_eq!(r.contents.len(), 1);
        assert_eq!(r.contents[0].pattern, b"/etc/passwd");
        assert!(r.contents[0].nocase && !r.contents[0].negated);
        assert!(r.src.matches(ip("192.0.2.1")));
        assert!(!r.src.matches(ip("10.1.2.3")));
        assert!(r.dst.matches(ip("10.2.100.1")));
        assert!(!r.dst.matches(ip("10.3.0.1")));
        assert!(r.dst_ports.matches(80) && !r.dst_ports.matches(81));
        assert!(r.src_ports.matches(0));
    }

    #[test]
    fn hex_contents_escapes_and_modifiers() {
        let r = one(
            r#"drop udp any any <> any any (msg:"say \"hi\"\; ok"; content:"|2f 65 74|c"; offset:2; depth:10; content:!"a\"b\;c\\d|7C|"; distance:-3; within:20; content:"X"; fast_pattern; reference:url,example.com; metadata:created_at 2020_01_01; priority:2; sid:7;)"#,
        );
        assert_eq!(r.msg, "say \"hi\"; ok");
        assert_eq!(r.action, Action::Drop);
        assert_eq!(r.direction, Direction::Both);
        assert_eq!(r.priority, Some(2));
        assert_eq!(r.contents[0].pattern, b"/etc");
        assert_eq!(
            (r.contents[0].offset, r.contents[0].depth),
            (Some(2), Some(10))
        );
        assert!(!r.contents[0].is_relative());
        assert_eq!(r.contents[1].pattern, b"a\"b;c\\d|");
        assert!(r.contents[1].negated);
        assert_eq!(
            (r.contents[1].distance, r.contents[1].within),
            (Some(-3), Some(20))
        );
        assert!(r.contents[1].is_relative());
        assert!(r.contents[2].fast_pattern);
        assert_eq!(r.rev, 0);
    }

    #[test]
    fn lists_negation_ranges_and_variables() {
        let r = one(
            "pass ip [10.0.0.0/8,![10.1.0.0/16,10.2.3.4]] [1024:,!2000:2010] -> \
             [$HOME_NET,2001:db8::/32] [:1023,$HTTP_PORTS] (msg:\"m\"; sid:1;)",
        );
        assert_eq!(r.action, Action::Pass);
        assert_eq!(r.protocol, RuleProtocol::Ip);
        assert!(r.src.matches(ip("10.9.0.1")));
        assert!(!r.src.matches(ip("10.1.0.1")));
        assert!(!r.src.matches(ip("10.2.3.4")));
        assert!(r.src.matches(ip("10.2.3.5")));
        assert!(!r.src.matches(ip("11.0.0.1")));
        assert!(!r.src.matches(ip("::1")));
        assert!(r.src_ports.matches(1024) && r.src_ports.matches(65535));
        assert!(!r.src_ports.matches(2005) && !r.src_ports.matches(80));
        assert!(r.dst.matches(ip("10.2.0.9")) && r.dst.matches(ip("2001:db8::9")));
        assert!(!r.dst.matches(ip("2001:db9::9")));
        assert!(r.dst_ports.matches(0) && r.dst_ports.matches(8080));
        assert!(!r.dst_ports.matches(8081));

        let only_negated =
            one("alert tcp ![1.2.3.4,5.6.7.0/24] !80 -> any any (msg:\"m\"; sid:2;)");
        assert!(only_negated.src.matches(ip("9.9.9.9")));
        assert!(!only_negated.src.matches(ip("5.6.7.8")));
        assert!(!only_negated.src_ports.matches(80) && only_negated.src_ports.matches(81));
    }

    #[test]
    fn comments_blank_lines_and_continuations() {
        let text = "# a comment\n\n  # alert tcp any any -> any any (msg:\"off\"; sid:9;)\n\
                    alert tcp any any -> any any (msg:\"first\"; \\\n    content:\"abc\"; \\\n    sid:1;)\n\
                    \nalert udp any any -> any 53 (msg:\"second\"; sid:2;)\n";
        let (rules, errors) = parse_rules(text, &vars());
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(rules.len(), 2);
        assert_eq!((rules[0].line, rules[0].sid), (4, 1));
        assert_eq!(rules[0].contents[0].pattern, b"abc");
        assert_eq!((rules[1].line, rules[1].sid), (8, 2));
    }

    #[test]
    fn unsupported_features_name_the_keyword() {
        let e = error("\n\nalert tcp any any -> any any (msg:\"x\"; content:\"a\"; pcre:\"/a+/\"; sid:1000003;)");
        assert_eq!(e.kind, RuleErrorKind::Unsupported);
        assert_eq!((e.line, e.sid), (3, Some(1_000_003)));
        assert_eq!(
            e.to_string(),
            "line 3 (sid 1000003): unsupported keyword `pcre`"
        );

        for (text, word) in [
            (
                "alert http any any -> any any (msg:\"x\"; sid:1;)",
                "`http`",
            ),
            (
                "reject tcp any any -> any any (msg:\"x\"; sid:1;)",
                "`reject`",
            ),
            (
                "alert tcp any any -> any any (msg:\"x\"; flow:established,only_stream; sid:1;)",
                "`only_stream`",
            ),
            (
                "alert tcp any any -> any any (msg:\"x\"; gid:3; sid:1;)",
                "gid",
            ),
            (
                "alert tcp any any -> any any (msg:\"x\"; content:\"a\"; http_uri; sid:1;)",
                "`http_uri`",
            ),
            (
                "alert tcp any any -> any any (msg:\"x\"; flowbits:set,a; sid:1;)",
                "`flowbits`",
            ),
            (
                "alert tcp any any -> any any (msg:\"x\"; content:\"a\"; offset:var; sid:1;)",
                "`offset`",
            ),
        ] {
            let e = error(text);
            assert_eq!(e.kind, RuleErrorKind::Unsupported, "{text}");
            assert_eq!(e.sid, Some(1));
            assert!(e.message.contains(word), "{text}: {}", e.message);
        }
    }

    #[test]
    fn syntax_errors_carry_line_and_sid() {
        let cases = [
            ("alert tcp $NOPE any -> any any (msg:\"x\"; sid:5;)", "`$NOPE`"),
            ("alert tcp $LOOP any -> any any (msg:\"x\"; sid:5;)", "too deep"),
            ("alert tcp any any -> any any (msg:\"x\";)", "missing `sid`"),
            ("alert tcp any any -> any any (sid:5;)", "missing `msg`"),
            ("alert tcp any any -> any any (msg:\"x\"; content:\"\"; sid:5;)", "empty"),
            ("alert tcp any any -> any any (msg:\"x\"; content:\"ab\"; depth:1; sid:5;)", "`depth:1`"),
            ("alert tcp any any -> any any (msg:\"x\"; content:\"ab\"; within:1; sid:5;)", "`within:1`"),
            ("alert tcp any any -> any any (msg:\"x\"; content:\"a\"; offset:65536; sid:5;)", "`offset:65536`"),
            ("alert tcp any any -> any any (msg:\"x\"; content:\"a\"; distance:-70000; sid:5;)", "`distance:-70000`"),
            ("alert tcp any any -> any any (msg:\"x\"; nocase; content:\"a\"; sid:5;)", "`nocase` before"),
            ("alert tcp any any -> any any (msg:\"x\"; content:\"a\"; offset:1; distance:2; sid:5;)", "combined"),
            ("alert tcp any any -> any any (msg:\"x\"; content:\"|4\"; sid:5;)", "hex"),
            ("alert tcp any any -> any any (msg:\"x\"; content:\"|zz|\"; sid:5;)", "hex"),
            ("alert tcp any any -> any any (msg:\"x\"; content:abc; sid:5;)", "quoted"),
            ("alert tcp any any -> any any (msg:\"x\"; content:\"a\\q\"; sid:5;)", "escape"),
            ("alert tcp 10.0.0.0/33 any -> any any (msg:\"x\"; sid:5;)", "address"),
            ("alert tcp [1.2.3.4 any -> any any (msg:\"x\"; sid:5;)", "fields"),
            ("alert tcp any 90:80 -> any any (msg:\"x\"; sid:5;)", "port"),
            ("alert tcp !any any -> any any (msg:\"x\"; sid:5;)", "`!any`"),
            ("alert tcp any any => any any (msg:\"x\"; sid:5;)", "`=>`"),
            ("alrt tcp any any -> any any (msg:\"x\"; sid:5;)", "`alrt`"),
            ("alert tcp any any -> any any (msg:\"x\"; flow:to_server,to_client; sid:5;)", "conflicting"),
            ("alert tcp any any -> any any (msg:\"x\"; sid:5; sid:6;)", "twice"),
            ("alert tcp any any -> any any (msg:\"x\"; sid:5", "not closed"),
            ("alert tcp any any -> any any (msg:\"x\"; sid:5; rev:1)", "not ended"),
            // A syntax error wins over an unsupported keyword before it.
            ("alert tcp any any -> any any (msg:\"x\"; pcre:\"/a/\"; content:\"\"; sid:5;)", "empty"),
        ];
        for (text, word) in cases {
            let e = error(text);
            assert_eq!(e.kind, RuleErrorKind::Syntax, "{text}: {}", e.message);
            assert_eq!(e.line, 1);
            assert_eq!(e.sid, (!word.contains("sid")).then_some(5), "{text}");
            assert!(e.message.contains(word), "{text}: {}", e.message);
        }
        let huge = format!(
            "alert tcp any any -> any any (msg:\"x\"; content:\"{}\"; sid:5;)",
            "a".repeat(MAX_CONTENT_LEN + 1)
        );
        assert!(error(&huge).message.contains("huge content"));
    }

    #[test]
    fn duplicate_sid_keeps_the_first() {
        let text = "alert tcp any any -> any any (msg:\"a\"; sid:5;)\n\
                    alert tcp any any -> any any (msg:\"b\"; sid:5;)\n\
                    alert tcp any any -> any any (msg:\"c\"; flowbits:isset,x; sid:6;)\n";
        let (rules, errors) = parse_rules(text, &vars());
        assert_eq!(rules.len(), 1);
        assert_eq!(rules[0].msg, "a");
        assert_eq!(errors.len(), 2);
        assert_eq!(
            (errors[0].line, errors[0].sid, errors[0].kind),
            (2, Some(5), RuleErrorKind::Syntax)
        );
        assert!(errors[0].message.contains("duplicate sid 5"));
        assert_eq!(
            (errors[1].line, errors[1].kind),
            (3, RuleErrorKind::Unsupported)
        );
    }
}
