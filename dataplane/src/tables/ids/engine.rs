//! Matching one packet against every rule of an `ids` service function.
//!
//! [`IdsEngine::inspect`] does not loop over the rules. Every rule with at least one
//! non-negated content has a *fast pattern*: the content marked `fast_pattern`, else its longest
//! non-negated content (the first of the longest). The distinct fast patterns are compiled into
//! one ASCII case-insensitive Aho-Corasick DFA, and a packet's payload is walked through it once,
//! byte by byte, every pattern ending at each position reported (overlapping occurrences
//! included), so no pattern hidden inside another is missed. Only the rules of the patterns found
//! are candidates; a fast pattern must occur somewhere in the payload for its rule to match, so
//! nothing is lost; a case-sensitive pattern found in another case is turned down by its rule's
//! verification.
//! Rules without a non-negated content are listed apart by protocol and checked on every packet
//! of their protocol by header and flow.
//!
//! A candidate is verified in full by [`IdsEngine::rule_matches`]: protocol, flow options,
//! addresses and ports (both ways round for `<>`), then the contents in rule order with Suricata's
//! windows (see [`Content`]). When a content occurs several times and a later content's window
//! depends on where it matched, the next occurrence is tried (backtracking), up to
//! [`MAX_INSPECTION_STEPS`] searches per rule and packet; a rule that runs out is treated as not
//! matching and counted in [`Scratch::limited`], so a payload crafted with many repeats costs a
//! bounded amount of work.
//!
//! The verdict follows Suricata's default action order, pass before drop before alert: see
//! [`Verdict`]. Inspection never allocates once the caller's [`Scratch`] has grown to the rule
//! set: candidate patterns are deduplicated with a generation-stamped array in the scratch.

use aho_corasick::automaton::Automaton;
use aho_corasick::dfa::DFA as Dfa;
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, Anchored, Input};
use std::collections::HashMap;
use std::net::IpAddr;

use super::rules::{Action, Content, Direction, FlowDirection, FlowState, Rule, RuleProtocol};

/// The most content searches one rule may spend on one packet.
pub const MAX_INSPECTION_STEPS: u32 = 1024;

const TCP_SYN: u8 = 0x02;
const TCP_ACK: u8 = 0x10;

/// What a packet presents to the rules.
#[derive(Debug, Clone, Copy)]
pub struct Inspect<'a> {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// IP protocol number (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6).
    pub protocol: u8,
    /// Source port; 0 when not TCP/UDP.
    pub src_port: u16,
    /// Destination port; 0 when not TCP/UDP.
    pub dst_port: u16,
    /// The TCP flags byte, for TCP.
    pub tcp_flags: Option<u8>,
    /// `Some(true)` client to server, `Some(false)` server to client, `None` when unknown
    /// (rules with a `flow` direction then do not match).
    pub to_server: Option<bool>,
    /// The L4 payload: TCP/UDP data, the ICMP body after its 4-byte header, or the IP payload
    /// for other protocols.
    pub payload: &'a [u8],
}

/// The outcome of inspecting one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// No rule matched.
    Clean,
    /// A `pass` rule matched (the lowest index of those that did); nothing is reported.
    Pass(u32),
    /// Only `alert` rules matched; they are in [`Scratch::hits`].
    Alert,
    /// A `drop` rule matched; the matching drop and alert rules are in [`Scratch::hits`].
    Drop,
}

/// Could not build the engine's automata (a rule set too large for them).
#[derive(Debug, thiserror::Error)]
#[error("building the IDS pattern automaton: {0}")]
pub struct IdsBuildError(#[from] aho_corasick::BuildError);

/// Per-worker state reused across packets; made by [`IdsEngine::scratch`].
#[derive(Debug, Clone, Default)]
pub struct Scratch {
    hits: Vec<u32>,
    seen: Vec<u32>,
    generation: u32,
    limited: u32,
}

impl Scratch {
    /// The indices (into [`IdsEngine::rules`]) of the rules to report for the last packet,
    /// ascending.
    pub fn hits(&self) -> &[u32] {
        &self.hits
    }

    /// How many rules ran out of [`MAX_INSPECTION_STEPS`] on the last packet.
    pub fn limited(&self) -> u32 {
        self.limited
    }

    /// Starts a packet: a new generation, the stamps sized to `patterns`.
    fn begin(&mut self, patterns: usize) {
        if self.seen.len() != patterns {
            self.seen.clear();
            self.seen.resize(patterns, 0);
            self.generation = 0;
        }
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.seen.fill(0);
            self.generation = 1;
        }
        self.hits.clear();
        self.limited = 0;
    }
}

/// A content ready to search for.
#[derive(Debug)]
struct Searcher {
    finder: AhoCorasick,
    len: usize,
    negated: bool,
    relative: bool,
    offset: i64,
    depth: Option<i64>,
    distance: i64,
    within: Option<i64>,
    /// Whether a later content's window depends on where this one matched, so another
    /// occurrence is worth trying when the rest fails.
    backtrack: bool,
}

impl Searcher {
    fn new(content: &Content) -> Result<Searcher, IdsBuildError> {
        let finder = AhoCorasickBuilder::new()
            .ascii_case_insensitive(content.nocase)
            .build([&content.pattern])?;
        Ok(Searcher {
            finder,
            len: content.pattern.len(),
            negated: content.negated,
            relative: content.is_relative(),
            offset: content.offset.map_or(0, i64::from),
            depth: content.depth.map(i64::from),
            distance: content.distance.map_or(0, i64::from),
            within: content.within.map(i64::from),
            backtrack: false,
        })
    }

    /// The part of a payload of `len` bytes the content must (or, negated, must not) occur in,
    /// when `prev_end` is where the previous match ended; `None` if it cannot fit.
    fn window(&self, prev_end: usize, len: usize) -> Option<(usize, usize)> {
        let len = len as i64;
        let (start, end) = if self.relative {
            let base = prev_end as i64 + self.distance;
            (base.max(0), self.within.map_or(len, |w| base + w))
        } else {
            (self.offset, self.depth.map_or(len, |d| self.offset + d))
        };
        let end = end.min(len);
        (end - start >= self.len as i64).then_some((start as usize, end as usize))
    }

    /// The first occurrence starting at `from` or later and ending by `end`.
    fn find(&self, payload: &[u8], from: usize, end: usize) -> Option<usize> {
        if from > end || end > payload.len() {
            return None;
        }
        self.finder
            .find(Input::new(payload).range(from..end))
            .map(|m| m.start())
    }
}

/// Takes one search from the budget; `None` when it is spent.
fn step(budget: &mut u32) -> Option<()> {
    *budget = budget.checked_sub(1)?;
    Some(())
}

/// Whether `contents[i..]` match with the previous match ending at `prev_end`; `None` when the
/// budget ran out.
fn match_from(
    contents: &[Searcher],
    i: usize,
    prev_end: usize,
    payload: &[u8],
    budget: &mut u32,
) -> Option<bool> {
    let Some(c) = contents.get(i) else {
        return Some(true);
    };
    let window = c.window(prev_end, payload.len());
    if c.negated {
        if let Some((start, end)) = window {
            step(budget)?;
            if c.find(payload, start, end).is_some() {
                return Some(false);
            }
        }
        return match_from(contents, i + 1, prev_end, payload, budget);
    }
    let Some((start, end)) = window else {
        return Some(false);
    };
    let mut from = start;
    while end.saturating_sub(from) >= c.len {
        step(budget)?;
        let Some(pos) = c.find(payload, from, end) else {
            return Some(false);
        };
        if match_from(contents, i + 1, pos + c.len, payload, budget)? {
            return Some(true);
        }
        if !c.backtrack {
            return Some(false);
        }
        from = pos + 1;
    }
    Some(false)
}

/// The protocol classes rules without contents are listed by.
const CLASSES: usize = 4;

fn class_of(protocol: u8) -> usize {
    match protocol {
        6 => 0,
        17 => 1,
        1 | 58 => 2,
        _ => 3,
    }
}

fn classes_of(protocol: RuleProtocol) -> &'static [usize] {
    match protocol {
        RuleProtocol::Ip => &[0, 1, 2, 3],
        RuleProtocol::Tcp => &[0],
        RuleProtocol::Udp => &[1],
        RuleProtocol::Icmp => &[2],
    }
}

/// A compiled rule set; immutable, shared by the workers.
#[derive(Debug)]
pub struct IdsEngine {
    rules: Vec<Rule>,
    contents: Vec<Vec<Searcher>>,
    /// Every fast pattern, ASCII case-insensitive; pattern ids index `pattern_rules`.
    prefilter: Option<Dfa>,
    /// The rules of each fast pattern (exact ones first, then nocase ones).
    pattern_rules: Vec<Vec<u32>>,
    /// Rules without a non-negated content, by protocol class.
    header_only: [Vec<u32>; CLASSES],
}

/// The running result of one packet.
#[derive(Default)]
struct Tally {
    pass: Option<u32>,
    drop: bool,
}

/// Calls `found` with the id of every pattern of `dfa` that occurs in `haystack`, at every end
/// position where it occurs (overlapping occurrences included: a match state of a DFA built with
/// the standard match kind holds every pattern ending there).
#[inline]
fn scan(dfa: &Dfa, haystack: &[u8], mut found: impl FnMut(usize)) {
    let Ok(mut sid) = dfa.start_state(Anchored::No) else {
        return;
    };
    for &b in haystack {
        sid = dfa.next_state(Anchored::No, sid, b);
        if dfa.is_special(sid) {
            if dfa.is_dead(sid) {
                return;
            }
            if dfa.is_match(sid) {
                for k in 0..dfa.match_len(sid) {
                    found(dfa.match_pattern(sid, k).as_usize());
                }
            }
        }
    }
}

impl IdsEngine {
    /// Compiles `rules`; their order is kept and their indices are those of [`Verdict::Pass`]
    /// and [`Scratch::hits`].
    pub fn new(rules: Vec<Rule>) -> Result<IdsEngine, IdsBuildError> {
        let mut contents = Vec::with_capacity(rules.len());
        let mut header_only: [Vec<u32>; CLASSES] = Default::default();
        // (nocase, pattern) -> index among the patterns of its automaton.
        let mut ids: HashMap<(bool, Vec<u8>), usize> = HashMap::new();
        let mut patterns: [Vec<Vec<u8>>; 2] = Default::default();
        let mut rules_of: [Vec<Vec<u32>>; 2] = Default::default();
        for (index, rule) in rules.iter().enumerate() {
            let index = index as u32;
            let mut searchers = rule
                .contents
                .iter()
                .map(Searcher::new)
                .collect::<Result<Vec<_>, _>>()?;
            for i in 0..searchers.len() {
                searchers[i].backtrack = !searchers[i].negated
                    && searchers[i + 1..]
                        .iter()
                        .take_while(|s| s.negated || s.relative)
                        .any(|s| s.relative);
            }
            contents.push(searchers);
            match fast_pattern(&rule.contents) {
                Some(c) => {
                    let set = usize::from(c.nocase);
                    let key = if c.nocase {
                        c.pattern.to_ascii_lowercase()
                    } else {
                        c.pattern.clone()
                    };
                    let id = *ids.entry((c.nocase, key)).or_insert_with(|| {
                        patterns[set].push(c.pattern.clone());
                        rules_of[set].push(Vec::new());
                        patterns[set].len() - 1
                    });
                    rules_of[set][id].push(index);
                }
                None => {
                    for &class in classes_of(rule.protocol) {
                        header_only[class].push(index);
                    }
                }
            }
        }
        let build = |pats: &[Vec<u8>], nocase: bool| -> Result<Option<Dfa>, IdsBuildError> {
            if pats.is_empty() {
                return Ok(None);
            }
            // A DFA walked byte by byte (`scan`): one table lookup per byte and no set-up
            // per packet, which on short payloads is most of a search's cost; the price is
            // memory, which the patterns of a few thousand rules keep to a few MiB.
            Ok(Some(
                aho_corasick::dfa::DFA::builder()
                    .ascii_case_insensitive(nocase)
                    .prefilter(false)
                    .build(pats)?,
            ))
        };
        // One case-insensitive automaton over every fast pattern, exact ones first: a packet is
        // scanned once. It may propose an exact rule whose pattern occurs only in another case;
        // the rule's verification, which compares case as the rule says, turns it down.
        let all: Vec<Vec<u8>> = patterns[0].iter().chain(&patterns[1]).cloned().collect();
        let prefilter = build(&all, true)?;
        let [exact_rules, nocase_rules] = rules_of;
        let mut pattern_rules = exact_rules;
        pattern_rules.extend(nocase_rules);
        Ok(IdsEngine {
            rules,
            contents,
            prefilter,
            pattern_rules,
            header_only,
        })
    }

    /// The rules, in the order given to [`IdsEngine::new`].
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The number of distinct fast patterns in the automata.
    pub fn pattern_count(&self) -> usize {
        self.pattern_rules.len()
    }

    /// A scratch sized for this engine. A scratch made for another engine still works: the
    /// first packet resizes it (and allocates, once).
    pub fn scratch(&self) -> Scratch {
        Scratch {
            hits: Vec::with_capacity(self.rules.len().min(64)),
            seen: vec![0; self.pattern_rules.len()],
            generation: 0,
            limited: 0,
        }
    }

    /// Inspects one packet: runs the prefilter over the payload, verifies the candidates and the
    /// content-less rules of the packet's protocol, and returns the verdict. The rules to report
    /// are left in [`Scratch::hits`]; [`Scratch::limited`] counts the rules that ran out of
    /// inspection steps.
    pub fn inspect(&self, pkt: &Inspect<'_>, scratch: &mut Scratch) -> Verdict {
        scratch.begin(self.pattern_rules.len());
        let mut tally = Tally::default();
        if !pkt.payload.is_empty() {
            if let Some(dfa) = &self.prefilter {
                scan(dfa, pkt.payload, |id| {
                    let Some(stamp) = scratch.seen.get_mut(id) else {
                        return;
                    };
                    if *stamp == scratch.generation {
                        return;
                    }
                    *stamp = scratch.generation;
                    for &rule in &self.pattern_rules[id] {
                        self.check(rule, pkt, &mut tally, scratch);
                    }
                });
            }
        }
        for &rule in &self.header_only[class_of(pkt.protocol)] {
            self.check(rule, pkt, &mut tally, scratch);
        }
        finish(tally, scratch)
    }

    /// Inspects one packet by checking every rule, without the prefilter: the definition that
    /// [`IdsEngine::inspect`] implements faster, for tests and troubleshooting.
    pub fn inspect_exhaustive(&self, pkt: &Inspect<'_>, scratch: &mut Scratch) -> Verdict {
        scratch.begin(self.pattern_rules.len());
        let mut tally = Tally::default();
        for rule in 0..self.rules.len() as u32 {
            self.check(rule, pkt, &mut tally, scratch);
        }
        finish(tally, scratch)
    }

    /// Whether rule `index` matches the packet: `Some(true)` or `Some(false)`, `None` if its
    /// contents ran out of [`MAX_INSPECTION_STEPS`] (or `index` is out of range).
    pub fn rule_matches(&self, index: usize, pkt: &Inspect<'_>) -> Option<bool> {
        let rule = self.rules.get(index)?;
        if !header_matches(rule, pkt) {
            return Some(false);
        }
        let mut budget = MAX_INSPECTION_STEPS;
        match_from(self.contents.get(index)?, 0, 0, pkt.payload, &mut budget)
    }

    fn check(&self, index: u32, pkt: &Inspect<'_>, tally: &mut Tally, scratch: &mut Scratch) {
        match self.rule_matches(index as usize, pkt) {
            Some(true) => {}
            Some(false) => return,
            None => {
                scratch.limited += 1;
                return;
            }
        }
        match self.rules[index as usize].action {
            Action::Pass => tally.pass = Some(tally.pass.map_or(index, |p| p.min(index))),
            Action::Drop => {
                tally.drop = true;
                scratch.hits.push(index);
            }
            Action::Alert => scratch.hits.push(index),
        }
    }
}

fn finish(tally: Tally, scratch: &mut Scratch) -> Verdict {
    if let Some(pass) = tally.pass {
        scratch.hits.clear();
        return Verdict::Pass(pass);
    }
    scratch.hits.sort_unstable();
    if tally.drop {
        Verdict::Drop
    } else if scratch.hits.is_empty() {
        Verdict::Clean
    } else {
        Verdict::Alert
    }
}

/// The content the prefilter looks for: the non-negated one marked `fast_pattern`, else the
/// first of the longest non-negated ones; `None` when every content is negated (or none).
fn fast_pattern(contents: &[Content]) -> Option<&Content> {
    let positive = || contents.iter().filter(|c| !c.negated);
    positive().find(|c| c.fast_pattern).or_else(|| {
        positive().fold(None, |best: Option<&Content>, c| match best {
            Some(b) if b.pattern.len() >= c.pattern.len() => Some(b),
            _ => Some(c),
        })
    })
}

/// TCP with ACK set and SYN clear, or any packet that is not TCP.
fn established(pkt: &Inspect<'_>) -> bool {
    if pkt.protocol != 6 {
        return true;
    }
    matches!(pkt.tcp_flags, Some(f) if f & TCP_ACK != 0 && f & TCP_SYN == 0)
}

/// Protocol, flow options, addresses and ports.
fn header_matches(rule: &Rule, pkt: &Inspect<'_>) -> bool {
    if !rule.protocol.matches(pkt.protocol) {
        return false;
    }
    let direction_ok = match rule.flow.direction {
        None => true,
        Some(FlowDirection::ToServer) => pkt.to_server == Some(true),
        Some(FlowDirection::ToClient) => pkt.to_server == Some(false),
    };
    let state_ok = match rule.flow.state {
        FlowState::Any => true,
        FlowState::Established => established(pkt),
        FlowState::NotEstablished => !established(pkt),
    };
    if !direction_ok || !state_ok {
        return false;
    }
    let forward = rule.src.matches(pkt.src)
        && rule.src_ports.matches(pkt.src_port)
        && rule.dst.matches(pkt.dst)
        && rule.dst_ports.matches(pkt.dst_port);
    forward
        || (rule.direction == Direction::Both
            && rule.src.matches(pkt.dst)
            && rule.src_ports.matches(pkt.dst_port)
            && rule.dst.matches(pkt.src)
            && rule.dst_ports.matches(pkt.src_port))
}

#[cfg(test)]
mod tests {
    use super::super::rules::parse_rules;
    use super::*;

    fn engine(text: &str) -> IdsEngine {
        let (rules, errors) = parse_rules(text, &HashMap::new());
        assert!(errors.is_empty(), "{errors:?}");
        IdsEngine::new(rules).unwrap()
    }

    fn tcp(payload: &[u8]) -> Inspect<'_> {
        Inspect {
            src: "10.0.0.1".parse().unwrap(),
            dst: "10.0.0.2".parse().unwrap(),
            protocol: 6,
            src_port: 40000,
            dst_port: 80,
            tcp_flags: Some(TCP_ACK | 0x08),
            to_server: Some(true),
            payload,
        }
    }

    /// The verdict and hits, checked against the exhaustive evaluation.
    fn run(e: &IdsEngine, pkt: &Inspect<'_>) -> (Verdict, Vec<u32>) {
        let mut s = e.scratch();
        let v = e.inspect(pkt, &mut s);
        let hits = s.hits().to_vec();
        let mut all = e.scratch();
        assert_eq!(e.inspect_exhaustive(pkt, &mut all), v);
        assert_eq!(all.hits(), &hits[..]);
        (v, hits)
    }

    /// Whether a one-rule TCP set with these options alerts on `payload`.
    fn hit(options: &str, payload: &[u8]) -> bool {
        let e = engine(&format!(
            "alert tcp any any -> any any (msg:\"t\"; {options} sid:1;)"
        ));
        match run(&e, &tcp(payload)).0 {
            Verdict::Alert => true,
            Verdict::Clean => false,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn offset_and_depth() {
        let opts = "content:\"abc\"; offset:2; depth:3;";
        assert!(hit(opts, b"xxabc"));
        assert!(hit(opts, b"xxabcabc"));
        assert!(!hit(opts, b"xabc"));
        assert!(!hit(opts, b"xxxabc"));
        assert!(hit("content:\"abc\"; depth:3;", b"abcx"));
        assert!(!hit("content:\"abc\"; depth:4;", b"xxabc"));
        assert!(!hit(opts, b"xxab"));
    }

    #[test]
    fn distance_and_within() {
        let opts = "content:\"GET\"; content:\"/x\"; distance:1; within:3;";
        assert!(hit(opts, b"GET /x"));
        assert!(hit(opts, b"GET  /x"));
        assert!(!hit(opts, b"GET/x"));
        assert!(!hit(opts, b"GET   /x"));
        assert!(!hit(opts, b"/x GET"));
        // Negative distance: back into the previous match.
        assert!(hit(
            "content:\"AB\"; content:\"A\"; distance:-2; within:1;",
            b"xAAB"
        ));
        assert!(!hit(
            "content:\"AB\"; content:\"A\"; distance:-1; within:1;",
            b"xAAB"
        ));
        assert!(hit(
            "content:\"AB\"; content:\"xA\"; distance:-4; within:2;",
            b"xAAB"
        ));
        // distance alone: anywhere after.
        assert!(hit("content:\"a\"; content:\"b\"; distance:0;", b"a....b"));
        assert!(!hit("content:\"a\"; content:\"b\"; distance:0;", b"b....a"));
        // A later content without relative modifiers is absolute.
        assert!(hit(
            "content:\"abc\"; content:\"xyz\"; offset:0; depth:3;",
            b"xyzabc"
        ));
        assert!(hit("content:\"abc\"; content:\"xyz\";", b"xyzabc"));
        // A relative first content is relative to the payload start.
        assert!(hit("content:\"ab\"; distance:1; within:3;", b"xab"));
        assert!(!hit("content:\"ab\"; distance:1; within:3;", b"ab"));
    }

    #[test]
    fn backtracks_over_repeated_contents() {
        let opts = "content:\"a\"; content:\"b\"; distance:0; within:1;";
        assert!(hit(opts, b"axxab"));
        assert!(!hit(opts, b"axxaxb"));
        let three = "content:\"k=\"; content:\"v\"; distance:0; within:1; content:\";\"; distance:0; within:1;";
        assert!(hit(three, b"k=x; k=vx k=v;"));
        assert!(!hit(three, b"k=x; k=vx k=v"));
    }

    #[test]
    fn nocase_and_negation() {
        assert!(hit("content:\"HeLLo\"; nocase;", b"say hello"));
        assert!(!hit("content:\"HeLLo\";", b"say hello"));
        assert!(hit("content:\"HeLLo\";", b"say HeLLo"));
        let neg = "content:\"GET\"; content:!\"admin\"; distance:0; within:10;";
        assert!(hit(neg, b"GET /index"));
        assert!(!hit(neg, b"GET /admin"));
        assert!(hit(neg, b"GET /aaaaaaaaaaaadmin"));
        // A negated content does not move the anchor for the next relative one.
        let anchor = "content:\"ab\"; content:!\"zz\"; content:\"c\"; distance:0; within:1;";
        assert!(hit(anchor, b"abc"));
        assert!(!hit(anchor, b"abzzc"));
        // Negated only: checked on every packet, without the prefilter.
        assert!(hit("content:!\"bad\";", b"good"));
        assert!(hit("content:!\"bad\";", b""));
        assert!(!hit("content:!\"bad\";", b"very bad"));
        assert!(!hit("content:!\"BAD\"; nocase;", b"very bad"));
    }

    #[test]
    fn header_direction_and_flow() {
        let pkt = tcp(b"x");
        let fwd = engine("alert tcp 10.0.0.2 80 -> 10.0.0.1 any (msg:\"t\"; sid:1;)");
        let both = engine("alert tcp 10.0.0.2 80 <> 10.0.0.1 any (msg:\"t\"; sid:1;)");
        assert_eq!(run(&fwd, &pkt).0, Verdict::Clean);
        assert_eq!(run(&both, &pkt).0, Verdict::Alert);
        let same = engine("alert tcp 10.0.0.1 any <> 10.0.0.2 80 (msg:\"t\"; sid:1;)");
        assert_eq!(run(&same, &pkt).0, Verdict::Alert);

        let to_server = engine("alert tcp any any -> any any (msg:\"t\"; flow:to_server; sid:1;)");
        let to_client =
            engine("alert tcp any any -> any any (msg:\"t\"; flow:from_server; sid:1;)");
        for (dir, server, client) in [
            (Some(true), Verdict::Alert, Verdict::Clean),
            (Some(false), Verdict::Clean, Verdict::Alert),
            (None, Verdict::Clean, Verdict::Clean),
        ] {
            let p = Inspect {
                to_server: dir,
                ..pkt
            };
            assert_eq!(run(&to_server, &p).0, server);
            assert_eq!(run(&to_client, &p).0, client);
        }

        let est = engine("alert ip any any -> any any (msg:\"t\"; flow:established; sid:1;)");
        let not_est =
            engine("alert ip any any -> any any (msg:\"t\"; flow:not_established; sid:1;)");
        let syn = Inspect {
            tcp_flags: Some(TCP_SYN),
            ..pkt
        };
        let syn_ack = Inspect {
            tcp_flags: Some(TCP_SYN | TCP_ACK),
            ..pkt
        };
        let no_flags = Inspect {
            tcp_flags: None,
            ..pkt
        };
        let udp = Inspect {
            protocol: 17,
            tcp_flags: None,
            ..pkt
        };
        assert_eq!(run(&est, &pkt).0, Verdict::Alert);
        assert_eq!(run(&est, &syn).0, Verdict::Clean);
        assert_eq!(run(&est, &syn_ack).0, Verdict::Clean);
        assert_eq!(run(&est, &no_flags).0, Verdict::Clean);
        assert_eq!(run(&est, &udp).0, Verdict::Alert);
        assert_eq!(run(&not_est, &syn).0, Verdict::Alert);
        assert_eq!(run(&not_est, &pkt).0, Verdict::Clean);
    }

    #[test]
    fn protocols() {
        let e = engine(
            "alert tcp any any -> any any (msg:\"t\"; content:\"x\"; sid:1;)\n\
             alert udp any any -> any any (msg:\"u\"; content:\"x\"; sid:2;)\n\
             alert icmp any any -> any any (msg:\"i\"; sid:3;)\n\
             alert ip any any -> any any (msg:\"p\"; content:\"x\"; sid:4;)\n",
        );
        let pkt = tcp(b"x");
        assert_eq!(run(&e, &pkt).1, vec![0, 3]);
        assert_eq!(
            run(
                &e,
                &Inspect {
                    protocol: 17,
                    ..pkt
                }
            )
            .1,
            vec![1, 3]
        );
        assert_eq!(run(&e, &Inspect { protocol: 1, ..pkt }).1, vec![2, 3]);
        assert_eq!(
            run(
                &e,
                &Inspect {
                    protocol: 58,
                    ..pkt
                }
            )
            .1,
            vec![2, 3]
        );
        assert_eq!(
            run(
                &e,
                &Inspect {
                    protocol: 47,
                    ..pkt
                }
            )
            .1,
            vec![3]
        );
        assert_eq!(
            run(
                &e,
                &Inspect {
                    protocol: 47,
                    payload: b"",
                    ..pkt
                }
            )
            .0,
            Verdict::Clean
        );
    }

    #[test]
    fn pass_then_drop_then_alert() {
        let e = engine(
            "alert tcp any any -> any any (msg:\"a\"; content:\"a\"; sid:1;)\n\
             drop tcp any any -> any any (msg:\"b\"; content:\"b\"; sid:2;)\n\
             pass tcp any any -> any any (msg:\"c\"; content:\"c\"; sid:3;)\n\
             alert tcp any any -> any any (msg:\"a2\"; content:\"a\"; nocase; sid:4;)\n\
             pass tcp any any -> any any (msg:\"d\"; content:\"d\"; sid:5;)\n",
        );
        assert_eq!(run(&e, &tcp(b"zzz")), (Verdict::Clean, vec![]));
        assert_eq!(run(&e, &tcp(b"a")), (Verdict::Alert, vec![0, 3]));
        assert_eq!(run(&e, &tcp(b"A")), (Verdict::Alert, vec![3]));
        assert_eq!(run(&e, &tcp(b"ab")), (Verdict::Drop, vec![0, 1, 3]));
        assert_eq!(run(&e, &tcp(b"b")), (Verdict::Drop, vec![1]));
        assert_eq!(run(&e, &tcp(b"abc")), (Verdict::Pass(2), vec![]));
        assert_eq!(run(&e, &tcp(b"dabc")), (Verdict::Pass(2), vec![]));
        assert_eq!(run(&e, &tcp(b"da")), (Verdict::Pass(4), vec![]));
    }

    #[test]
    fn short_and_empty_payloads_never_panic() {
        let e = engine(
            "alert tcp any any -> any any (msg:\"a\"; content:\"abc\"; offset:60000; depth:3; sid:1;)\n\
             alert tcp any any -> any any (msg:\"b\"; content:\"a\"; content:\"bc\"; distance:-65535; sid:2;)\n\
             alert tcp any any -> any any (msg:\"c\"; content:\"a\"; content:!\"b\"; distance:65535; within:65535; sid:3;)\n\
             alert tcp any any -> any any (msg:\"d\"; content:\"abcd\"; depth:4; content:\"d\"; distance:-1; within:1; sid:4;)\n",
        );
        let data = b"abcdabcd";
        let mut s = e.scratch();
        for end in 0..=data.len() {
            for start in 0..=end {
                let pkt = tcp(&data[start..end]);
                let v = e.inspect(&pkt, &mut s);
                assert_eq!(e.inspect_exhaustive(&pkt, &mut e.scratch()), v);
            }
        }
        assert_eq!(run(&e, &tcp(b"abcd")).1, vec![1, 2, 3]);
        assert_eq!(run(&e, &tcp(b"")).0, Verdict::Clean);
    }

    #[test]
    fn crafted_repeats_hit_the_step_cap() {
        let e = engine(
            "alert tcp any any -> any any (msg:\"a\"; content:\"a\"; content:\"b\"; distance:0; within:1; sid:1;)\n\
             alert tcp any any -> any any (msg:\"z\"; content:\"zz\"; sid:2;)\n",
        );
        let mut s = e.scratch();
        let mut payload = vec![b'a'; 3000];
        payload.extend_from_slice(b"bzz");
        assert_eq!(e.inspect(&tcp(&payload), &mut s), Verdict::Alert);
        assert_eq!(s.hits(), &[1]);
        assert_eq!(s.limited(), 1);
        // Within the budget the same rule matches.
        let mut short = vec![b'a'; 100];
        short.push(b'b');
        assert_eq!(e.inspect(&tcp(&short), &mut s), Verdict::Alert);
        assert_eq!((s.hits(), s.limited()), (&[0][..], 0));
    }

    #[test]
    fn scratch_from_another_engine_is_resized() {
        let small = engine("alert tcp any any -> any any (msg:\"a\"; content:\"a\"; sid:1;)");
        let big = engine(
            "alert tcp any any -> any any (msg:\"a\"; content:\"a\"; sid:1;)\n\
             alert tcp any any -> any any (msg:\"b\"; content:\"b\"; sid:2;)\n",
        );
        let mut s = small.scratch();
        assert_eq!(big.inspect(&tcp(b"ab"), &mut s), Verdict::Alert);
        assert_eq!(s.hits(), &[0, 1]);
        assert_eq!(big.pattern_count(), 2);
    }

    /// A deterministic xorshift generator.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
        fn chance(&mut self, percent: u64) -> bool {
            self.below(100) < percent
        }
        fn word(&mut self, len: usize) -> String {
            const ALPHABET: &[u8] = b"abcdAB";
            (0..len)
                .map(|_| ALPHABET[self.below(ALPHABET.len() as u64) as usize] as char)
                .collect()
        }
    }

    fn random_rule(rng: &mut Rng, sid: u32) -> String {
        // Few pass and drop rules, with long contents, so every verdict occurs.
        let (action, min_len) = match sid {
            _ if sid.is_multiple_of(250) => ("pass", 4),
            _ if sid.is_multiple_of(50) => ("drop", 3),
            _ => ("alert", 1),
        };
        let proto = ["tcp", "udp", "ip"][rng.below(3) as usize];
        let dport = if rng.chance(20) { "80" } else { "any" };
        let mut opts = String::new();
        let contents = 1 + rng.below(3);
        for i in 0..contents {
            let len = min_len.max(1 + rng.below(4) as usize);
            let negated = rng.chance(15);
            opts += &format!(
                "content:{}\"{}\"; ",
                if negated { "!" } else { "" },
                rng.word(len)
            );
            if rng.chance(30) {
                opts += "nocase; ";
            }
            if i > 0 && rng.chance(60) {
                opts += &format!("distance:{}; ", rng.below(8) as i64 - 3);
                if rng.chance(60) {
                    opts += &format!("within:{}; ", len as u64 + rng.below(6));
                }
            } else if rng.chance(30) {
                opts += &format!("offset:{}; ", rng.below(6));
                if rng.chance(60) {
                    opts += &format!("depth:{}; ", len as u64 + rng.below(10));
                }
            }
            if !negated && rng.chance(10) && !opts.contains("fast_pattern") {
                opts += "fast_pattern; ";
            }
        }
        format!("{action} {proto} any any -> any {dport} (msg:\"r{sid}\"; {opts}sid:{sid};)")
    }

    /// Every content assignment tried, with a naive search: the definition of a match.
    fn reference(contents: &[Content], prev_end: i64, payload: &[u8]) -> bool {
        let Some(c) = contents.first() else {
            return true;
        };
        let n = payload.len() as i64;
        let len = c.pattern.len() as i64;
        let (start, end) = if c.is_relative() {
            let base = prev_end + i64::from(c.distance.unwrap_or(0));
            (base.max(0), c.within.map_or(n, |w| base + i64::from(w)))
        } else {
            let off = i64::from(c.offset.unwrap_or(0));
            (off, c.depth.map_or(n, |d| off + i64::from(d)))
        };
        let end = end.min(n);
        let at = |p: i64| {
            let hay = &payload[p as usize..(p + len) as usize];
            if c.nocase {
                hay.eq_ignore_ascii_case(&c.pattern)
            } else {
                hay == &c.pattern[..]
            }
        };
        let mut positions = (start..=end - len).filter(|&p| at(p));
        if c.negated {
            positions.next().is_none() && reference(&contents[1..], prev_end, payload)
        } else {
            positions.any(|p| reference(&contents[1..], p + len, payload))
        }
    }

    #[test]
    fn prefilter_agrees_with_brute_force_on_generated_rules() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let text: String = (1..=2000)
            .map(|sid| random_rule(&mut rng, sid) + "\n")
            .collect();
        let e = engine(&text);
        assert_eq!(e.rules().len(), 2000);
        assert!(e.pattern_count() < 2000);
        let mut s = e.scratch();
        let mut all = e.scratch();
        let (mut alerts, mut drops, mut passes, mut limited) = (0, 0, 0, 0);
        for round in 0..300 {
            let len = rng.below(48) as usize;
            let payload: Vec<u8> = if round % 10 == 0 {
                (0..len).map(|_| rng.next() as u8).collect()
            } else {
                rng.word(len).into_bytes()
            };
            let pkt = Inspect {
                protocol: [6, 17, 1][rng.below(3) as usize],
                dst_port: [80, 443][rng.below(2) as usize],
                ..tcp(&payload)
            };
            let v = e.inspect(&pkt, &mut s);
            assert_eq!(e.inspect_exhaustive(&pkt, &mut all), v, "{payload:?}");
            assert_eq!(s.hits(), all.hits());
            assert_eq!(s.limited(), all.limited());
            if s.limited() > 0 {
                limited += 1;
                continue;
            }
            let matched: Vec<usize> = (0..e.rules().len())
                .filter(|&i| {
                    let r = &e.rules()[i];
                    header_matches(r, &pkt) && reference(&r.contents, 0, &payload)
                })
                .collect();
            let pass = matched
                .iter()
                .find(|&&i| e.rules()[i].action == Action::Pass);
            let expected: Vec<u32> = if pass.is_some() {
                vec![]
            } else {
                matched.iter().map(|&i| i as u32).collect()
            };
            assert_eq!(s.hits(), &expected[..], "{payload:?}");
            match v {
                Verdict::Pass(i) => {
                    assert_eq!(Some(&(i as usize)), pass);
                    passes += 1;
                }
                Verdict::Drop => drops += 1,
                Verdict::Alert => alerts += 1,
                Verdict::Clean => assert!(matched.is_empty()),
            }
        }
        assert!(
            alerts > 10 && drops > 10 && passes > 0,
            "{alerts} {drops} {passes}"
        );
        assert!(limited < 5, "{limited}");
    }
}
