//! The argument of the cluster query language's `matches` (`=~`) and
//! `not_matches` (`!~`) operators. AWS documents it as a Java regular
//! expression matched against the whole value (`g2.*` selects `g2.2xlarge`).
//! ecsbox understands the part of that syntax attribute values and instance
//! ids need: literals, `.`, `\` escapes (`\.`, `\d`, `\w`, `\s` and their
//! negations), character classes (`[a-z0-9]`, `[^.]`), groups with
//! alternatives (`(large|xlarge)`, `(?:...)`), the quantifiers `*`, `+`, `?`
//! and `{n}`, `{n,}`, `{n,m}`, and `^`/`$` at the ends. Anything else is
//! refused as malformed rather than matched wrongly.

use std::cell::Cell;

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Char(char),
    Any,
    Class {
        ranges: Vec<(char, char)>,
        negated: bool,
    },
    Group(Vec<Vec<Piece>>),
}

/// A node and how many times it may repeat.
#[derive(Debug, Clone, PartialEq)]
struct Piece {
    node: Node,
    min: usize,
    max: Option<usize>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    alternatives: Vec<Vec<Piece>>,
}

impl Pattern {
    pub fn parse(text: &str) -> Result<Pattern, String> {
        let mut parser = Parser {
            chars: text.chars().collect(),
            pos: 0,
            nesting: 0,
        };
        parser.eat('^');
        let alternatives = parser.alternatives()?;
        match parser.peek() {
            None => Ok(Pattern { alternatives }),
            Some(c) => Err(format!("unexpected '{c}' in pattern '{text}'")),
        }
    }

    /// Whether the whole of `text` matches (Java's `String.matches`).
    /// A match that needs more than `MAX_STEPS` steps of backtracking is
    /// abandoned as no match, so a pathological pattern (`(a*)*b`) cannot
    /// hold a thread: values are short (attributes, instance ids), and no
    /// reasonable pattern comes near it.
    pub fn is_match(&self, text: &str) -> bool {
        let chars: Vec<char> = text.chars().collect();
        let end = chars.len();
        let steps = Cell::new(MAX_STEPS);
        let m = Matcher {
            text: &chars,
            steps: &steps,
        };
        self.alternatives
            .iter()
            .any(|seq| m.seq(seq, 0, &|p| p == end))
    }
}

// ---- matching: backtracking with continuations ----

/// The backtracking steps one match may take.
const MAX_STEPS: usize = 1_000_000;

type Next<'a> = &'a dyn Fn(usize) -> bool;

struct Matcher<'a> {
    text: &'a [char],
    /// Steps left; at 0 every branch fails.
    steps: &'a Cell<usize>,
}

impl Matcher<'_> {
    fn step(&self) -> bool {
        let left = self.steps.get();
        self.steps.set(left.saturating_sub(1));
        left > 0
    }

    fn seq(&self, seq: &[Piece], pos: usize, next: Next) -> bool {
        if !self.step() {
            return false;
        }
        match seq.split_first() {
            None => next(pos),
            Some((first, rest)) => self.repeat(first, 0, pos, &|p| self.seq(rest, p, next)),
        }
    }

    /// Greedy: one more repetition first, then stop once the minimum is met.
    fn repeat(&self, piece: &Piece, count: usize, pos: usize, next: Next) -> bool {
        if !self.step() {
            return false;
        }
        let may_repeat = piece.max.is_none_or(|max| count < max);
        // A repetition that consumed nothing would repeat forever.
        if may_repeat
            && self.node(&piece.node, pos, &|p| {
                p != pos && self.repeat(piece, count + 1, p, next)
            })
        {
            return true;
        }
        count >= piece.min && next(pos)
    }

    fn node(&self, node: &Node, pos: usize, next: Next) -> bool {
        let text = self.text;
        match node {
            Node::Char(c) => text.get(pos) == Some(c) && next(pos + 1),
            Node::Any => pos < text.len() && next(pos + 1),
            Node::Class { ranges, negated } => {
                text.get(pos).is_some_and(|ch| {
                    ranges.iter().any(|(lo, hi)| lo <= ch && ch <= hi) != *negated
                }) && next(pos + 1)
            }
            Node::Group(alternatives) => alternatives.iter().any(|seq| self.seq(seq, pos, next)),
        }
    }
}

// ---- parsing ----

/// How deep groups may nest: parsing and matching recurse once per level.
const MAX_GROUP_NESTING: usize = 32;

struct Parser {
    chars: Vec<char>,
    pos: usize,
    /// Groups open around the current position.
    nesting: usize,
}

const DIGITS: &[(char, char)] = &[('0', '9')];
const WORD: &[(char, char)] = &[('a', 'z'), ('A', 'Z'), ('0', '9'), ('_', '_')];
const SPACE: &[(char, char)] = &[(' ', ' '), ('\t', '\r')];

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn eat(&mut self, c: char) -> bool {
        let found = self.peek() == Some(c);
        self.pos += found as usize;
        found
    }

    fn next_char(&mut self, what: &str) -> Result<char, String> {
        let c = self
            .peek()
            .ok_or_else(|| format!("the pattern ends inside {what}"))?;
        self.pos += 1;
        Ok(c)
    }

    fn alternatives(&mut self) -> Result<Vec<Vec<Piece>>, String> {
        let mut alternatives = vec![self.sequence()?];
        while self.eat('|') {
            alternatives.push(self.sequence()?);
        }
        Ok(alternatives)
    }

    fn sequence(&mut self) -> Result<Vec<Piece>, String> {
        let mut pieces = Vec::new();
        while let Some(c) = self.peek() {
            if c == '|' || c == ')' {
                break;
            }
            // `$` closes the pattern; whole-value matching makes it a no-op.
            if c == '$' && self.pos + 1 == self.chars.len() {
                self.pos += 1;
                break;
            }
            let node = self.atom()?;
            let (min, max) = self.quantifier()?;
            pieces.push(Piece { node, min, max });
        }
        Ok(pieces)
    }

    fn atom(&mut self) -> Result<Node, String> {
        match self.next_char("an atom")? {
            '(' => {
                // A non-capturing group is the same thing here.
                if self.eat('?') && !self.eat(':') {
                    return Err("only (?:...) groups are supported".into());
                }
                if self.nesting >= MAX_GROUP_NESTING {
                    return Err(format!(
                        "groups nest more than {MAX_GROUP_NESTING} levels deep"
                    ));
                }
                self.nesting += 1;
                let alternatives = self.alternatives()?;
                self.nesting -= 1;
                if !self.eat(')') {
                    return Err("a group is not closed with ')'".into());
                }
                Ok(Node::Group(alternatives))
            }
            '.' => Ok(Node::Any),
            '[' => self.class(),
            '\\' => self.escape(),
            c @ ('*' | '+' | '?' | '{') => Err(format!("'{c}' has nothing to repeat")),
            c => Ok(Node::Char(c)),
        }
    }

    fn escape(&mut self) -> Result<Node, String> {
        let class = |ranges: &[(char, char)], negated| Node::Class {
            ranges: ranges.to_vec(),
            negated,
        };
        Ok(match self.next_char("an escape")? {
            'd' => class(DIGITS, false),
            'D' => class(DIGITS, true),
            'w' => class(WORD, false),
            'W' => class(WORD, true),
            's' => class(SPACE, false),
            'S' => class(SPACE, true),
            c if c.is_ascii_alphanumeric() => {
                return Err(format!("the escape '\\{c}' is not supported"))
            }
            c => Node::Char(c),
        })
    }

    fn class(&mut self) -> Result<Node, String> {
        let negated = self.eat('^');
        let mut ranges = Vec::new();
        let mut first = true;
        loop {
            let c = self.next_char("a character class")?;
            if c == ']' && !first {
                break;
            }
            first = false;
            let lo = if c == '\\' {
                self.next_char("a character class")?
            } else {
                c
            };
            if self.peek() == Some('-') && self.chars.get(self.pos + 1).is_some_and(|&n| n != ']') {
                self.pos += 1;
                let hi = self.next_char("a character class")?;
                if hi < lo {
                    return Err(format!("the range {lo}-{hi} is backwards"));
                }
                ranges.push((lo, hi));
            } else {
                ranges.push((lo, lo));
            }
        }
        Ok(Node::Class { ranges, negated })
    }

    fn quantifier(&mut self) -> Result<(usize, Option<usize>), String> {
        let bounds = match self.peek() {
            Some('*') => (0, None),
            Some('+') => (1, None),
            Some('?') => (0, Some(1)),
            Some('{') => return self.counted(),
            _ => return Ok((1, Some(1))),
        };
        self.pos += 1;
        Ok(bounds)
    }

    /// `{n}`, `{n,}` or `{n,m}`.
    fn counted(&mut self) -> Result<(usize, Option<usize>), String> {
        self.pos += 1;
        let start = self.pos;
        while self.peek().is_some_and(|c| c != '}') {
            self.pos += 1;
        }
        let body: String = self.chars[start..self.pos].iter().collect();
        if !self.eat('}') {
            return Err("a {n,m} repetition is not closed with '}'".into());
        }
        let number = |s: &str| {
            s.trim()
                .parse::<usize>()
                .map_err(|_| format!("'{{{body}}}' is not a repetition count"))
        };
        match body.split_once(',') {
            None => number(&body).map(|n| (n, Some(n))),
            Some((min, max)) if max.trim().is_empty() => Ok((number(min)?, None)),
            Some((min, max)) => {
                let (min, max) = (number(min)?, number(max)?);
                if max < min {
                    return Err(format!("'{{{body}}}' has its maximum below its minimum"));
                }
                Ok((min, Some(max)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, text: &str) -> bool {
        Pattern::parse(pattern).unwrap().is_match(text)
    }

    #[test]
    fn a_pathological_pattern_gives_up_and_deep_groups_are_refused() {
        // Exponential backtracking, cut at MAX_STEPS: no match, no hang.
        let evil = "(.*)*".repeat(8) + "x";
        assert!(!matches(&evil, &"a".repeat(128)));
        assert!(matches("(.*)*a", "aaa"));
        let deep = format!("{}a{}", "(".repeat(33), ")".repeat(33));
        assert!(Pattern::parse(&deep).unwrap_err().contains("32 levels"));
        assert!(Pattern::parse(&format!("{}a{}", "(".repeat(32), ")".repeat(32))).is_ok());
    }

    #[test]
    fn the_whole_value_must_match() {
        assert!(matches("g2.*", "g2.2xlarge"));
        assert!(matches("t2\\..*", "t2.micro"));
        assert!(!matches("t2\\..*", "t2xmicro"));
        assert!(
            !matches("micro", "t2.micro"),
            "a partial match is not a match"
        );
        assert!(matches("^t2.micro$", "t2.micro"));
    }

    #[test]
    fn classes_groups_and_counts() {
        assert!(matches("us-east-1[ab]", "us-east-1b"));
        assert!(!matches("us-east-1[ab]", "us-east-1c"));
        assert!(matches("m5\\.(large|xlarge)", "m5.xlarge"));
        assert!(!matches("m5\\.(large|xlarge)", "m5.2xlarge"));
        assert!(matches("i-[0-9a-f]{17}", "i-0123456789abcdef0"));
        assert!(!matches("i-[0-9a-f]{17}", "i-0123"));
        assert!(matches("[^.]+\\.\\w+", "c5.large"));
        assert!(
            matches("a(b|)*c", "abbc"),
            "an empty alternative under a star terminates"
        );
        assert!(matches("x\\d{2,}", "x123"));
    }

    #[test]
    fn malformed_patterns_are_refused() {
        for bad in ["*abc", "(ab", "[ab", "a{2", "a{3,1}", "\\q", "(?=x)", "ab)"] {
            assert!(Pattern::parse(bad).is_err(), "{bad}");
        }
    }
}
