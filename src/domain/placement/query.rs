//! The cluster query language (ECS developer guide, "Cluster query
//! language"): the expressions of `memberOf` placement constraints and of
//! ListContainerInstances' `filter`.
//!
//! `subject operator [argument]`, combined with `and`/`&&`, `or`/`||`,
//! `not`/`!` and parentheses. Subjects: `attribute:NAME`, `ec2InstanceId`,
//! `agentConnected`, `agentVersion`, `registeredAt`, `runningTasksCount`,
//! `task:group`. Operators: `==`/`equals`, `!=`/`not_equals`, `>`, `>=`,
//! `<`, `<=` (and their `greater_than`... names), `exists`,
//! `!exists`/`not_exists`, `in`, `!in`/`not_in` with `[a, b]`,
//! `=~`/`matches`, `!~`/`not_matches` with a pattern (see `pattern`).

use super::pattern::Pattern;
use super::Candidate;
use std::cmp::Ordering;

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// Two or more alternatives (a chain is a list, not a nesting, so a
    /// long expression does not grow the stack).
    Or(Vec<Expr>),
    /// Two or more conditions.
    And(Vec<Expr>),
    Not(Box<Expr>),
    Test(Test),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Test {
    subject: Subject,
    op: Op,
    arg: Arg,
}

#[derive(Debug, Clone, PartialEq)]
enum Subject {
    Attribute(String),
    Ec2InstanceId,
    AgentConnected,
    AgentVersion,
    RegisteredAt,
    RunningTasksCount,
    TaskGroup,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    Exists,
    NotExists,
    In,
    NotIn,
    Matches,
    NotMatches,
}

#[derive(Debug, Clone, PartialEq)]
enum Arg {
    None,
    Value(String),
    List(Vec<String>),
    Pattern(Pattern),
}

/// Parses an expression; the error says what is wrong with it.
pub fn parse(text: &str) -> Result<Expr, String> {
    let mut p = Parser {
        lexer: Lexer {
            chars: text.chars().collect(),
            pos: 0,
        },
        peeked: None,
        nesting: 0,
    };
    let expr = p.or_expr()?;
    match p.next()? {
        None => Ok(expr),
        Some(t) => Err(format!(
            "unexpected {} after a complete expression",
            t.describe()
        )),
    }
}

impl Expr {
    /// Whether a container instance is selected by the expression.
    pub fn matches(&self, c: &Candidate) -> bool {
        match self {
            Expr::Or(all) => all.iter().any(|e| e.matches(c)),
            Expr::And(all) => all.iter().all(|e| e.matches(c)),
            Expr::Not(e) => !e.matches(c),
            Expr::Test(t) => t.holds(c),
        }
    }
}

// ---- evaluation ----

impl Op {
    /// The positive operator a negative one negates.
    fn positive(self) -> (Op, bool) {
        match self {
            Op::Ne => (Op::Eq, true),
            Op::NotExists => (Op::Exists, true),
            Op::NotIn => (Op::In, true),
            Op::NotMatches => (Op::Matches, true),
            op => (op, false),
        }
    }
}

impl Test {
    fn holds(&self, c: &Candidate) -> bool {
        let (op, negated) = self.op.positive();
        let positive = match &self.subject {
            Subject::Attribute(name) => match c.attributes.get(name) {
                Some(value) => self.value_holds(op, value.as_deref().unwrap_or(""), compare_plain),
                None => false,
            },
            Subject::Ec2InstanceId => self.value_holds(op, &c.ec2_instance_id, compare_plain),
            Subject::AgentConnected => self.value_holds(
                op,
                if c.agent_connected { "true" } else { "false" },
                compare_plain,
            ),
            Subject::AgentVersion => self.value_holds(op, &c.agent_version, compare_versions),
            Subject::RegisteredAt => {
                self.value_holds(op, &c.registered_at.to_string(), compare_dates)
            }
            Subject::RunningTasksCount => {
                self.value_holds(op, &c.running_tasks.to_string(), compare_plain)
            }
            // An instance is in a group when any of its tasks is.
            Subject::TaskGroup => c
                .groups
                .iter()
                .any(|g| self.value_holds(op, g, compare_plain)),
        };
        positive != negated
    }

    /// `op` (a positive operator) between an existing value and the argument.
    fn value_holds(
        &self,
        op: Op,
        value: &str,
        compare: fn(&str, &str) -> Option<Ordering>,
    ) -> bool {
        let ordering = |wanted: &[Ordering]| match &self.arg {
            Arg::Value(arg) => compare(value, arg).is_some_and(|o| wanted.contains(&o)),
            _ => false,
        };
        match (&self.arg, op) {
            (_, Op::Exists) => true,
            (Arg::List(items), Op::In) => items
                .iter()
                .any(|i| compare(value, i) == Some(Ordering::Equal)),
            (Arg::Pattern(p), Op::Matches) => p.is_match(value),
            (_, Op::Eq) => ordering(&[Ordering::Equal]),
            (_, Op::Gt) => ordering(&[Ordering::Greater]),
            (_, Op::Ge) => ordering(&[Ordering::Greater, Ordering::Equal]),
            (_, Op::Lt) => ordering(&[Ordering::Less]),
            (_, Op::Le) => ordering(&[Ordering::Less, Ordering::Equal]),
            _ => false,
        }
    }
}

/// Numbers as numbers, anything else as text.
fn compare_plain(a: &str, b: &str) -> Option<Ordering> {
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => x.partial_cmp(&y),
        _ => Some(a.cmp(b)),
    }
}

/// Dotted versions part by part: 1.14.5 < 1.100.0.
fn compare_versions(a: &str, b: &str) -> Option<Ordering> {
    let parts = |v: &str| {
        v.trim_start_matches('v')
            .split('.')
            .map(|p| p.parse::<u64>().ok())
            .collect::<Option<Vec<u64>>>()
    };
    match (parts(a), parts(b)) {
        (Some(x), Some(y)) => Some(x.cmp(&y)),
        _ => Some(a.cmp(b)),
    }
}

/// `a` is epoch seconds (the instance's registeredAt); `b` a date as the
/// guide lists them: 2018-06-18T22:28:28+00:00, ...Z, 2018-06-18T22:28:28, 2018-06-18.
fn compare_dates(a: &str, b: &str) -> Option<Ordering> {
    let registered: f64 = a.parse().ok()?;
    let at = parse_date(b)?;
    registered.partial_cmp(&at)
}

fn parse_date(text: &str) -> Option<f64> {
    let full = if !text.contains('T') {
        format!("{text}T00:00:00Z")
    } else if text.ends_with('Z')
        || text
            .get(10..)
            .is_some_and(|clock| clock.contains(['+', '-']))
    {
        text.to_string()
    } else {
        format!("{text}Z")
    };
    let t = crate::runtime::timestamp::parse_docker_time(&full)?;
    Some(crate::state::tasks::epoch(t))
}

// ---- lexing ----

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Open,
    Close,
    OpenList,
    CloseList,
    Comma,
    Bang,
    /// An operator written with symbols: `==`, `!=`, `=~`, `!~`, `>`, `>=`, `<`, `<=`, `&&`, `||`.
    Symbol(&'static str),
    Word(String),
    Quoted(String),
}

impl Token {
    fn describe(&self) -> String {
        match self {
            Token::Open => "'('".into(),
            Token::Close => "')'".into(),
            Token::OpenList => "'['".into(),
            Token::CloseList => "']'".into(),
            Token::Comma => "','".into(),
            Token::Bang => "'!'".into(),
            Token::Symbol(s) => format!("'{s}'"),
            Token::Word(w) | Token::Quoted(w) => format!("'{w}'"),
        }
    }
}

struct Lexer {
    chars: Vec<char>,
    pos: usize,
}

const SYMBOLS: [&str; 10] = ["==", "!=", "=~", "!~", ">=", "<=", "&&", "||", ">", "<"];

impl Lexer {
    fn skip_space(&mut self) {
        while self.chars.get(self.pos).is_some_and(|c| c.is_whitespace()) {
            self.pos += 1;
        }
    }

    fn rest_starts_with(&self, s: &str) -> bool {
        s.chars()
            .enumerate()
            .all(|(i, c)| self.chars.get(self.pos + i) == Some(&c))
    }

    fn next(&mut self) -> Result<Option<Token>, String> {
        self.skip_space();
        let Some(&c) = self.chars.get(self.pos) else {
            return Ok(None);
        };
        if let Some(sym) = SYMBOLS.iter().find(|s| self.rest_starts_with(s)) {
            self.pos += sym.len();
            return Ok(Some(Token::Symbol(sym)));
        }
        self.pos += 1;
        let token = match c {
            '(' => Token::Open,
            ')' => Token::Close,
            '[' => Token::OpenList,
            ']' => Token::CloseList,
            ',' => Token::Comma,
            '!' => Token::Bang,
            '\'' | '"' => Token::Quoted(self.quoted(c)?),
            '=' | '&' | '|' | '~' => {
                return Err(format!(
                    "'{c}' is not an operator; use ==, !=, =~, !~, && or ||"
                ))
            }
            _ => {
                let start = self.pos - 1;
                while self
                    .chars
                    .get(self.pos)
                    .is_some_and(|c| !c.is_whitespace() && !"()[],'\"!=<>&|~".contains(*c))
                {
                    self.pos += 1;
                }
                Token::Word(self.chars[start..self.pos].iter().collect())
            }
        };
        Ok(Some(token))
    }

    fn quoted(&mut self, quote: char) -> Result<String, String> {
        let start = self.pos;
        while self.chars.get(self.pos).is_some_and(|c| *c != quote) {
            self.pos += 1;
        }
        if self.pos >= self.chars.len() {
            return Err(format!("a value quoted with {quote} is not closed"));
        }
        self.pos += 1;
        Ok(self.chars[start..self.pos - 1].iter().collect())
    }

    /// A pattern argument: quoted, or the text up to the next space, less
    /// any closing parentheses that belong to the enclosing expression.
    fn pattern(&mut self) -> Result<String, String> {
        self.skip_space();
        match self.chars.get(self.pos) {
            Some(&q @ ('\'' | '"')) => {
                self.pos += 1;
                self.quoted(q)
            }
            None => Err("matches needs a pattern".into()),
            Some(_) => {
                let start = self.pos;
                while self.chars.get(self.pos).is_some_and(|c| !c.is_whitespace()) {
                    self.pos += 1;
                }
                let mut word: Vec<char> = self.chars[start..self.pos].to_vec();
                // Counted once (a count per dropped parenthesis was
                // quadratic: seconds for a long word, found by fuzzing).
                let opens = word.iter().filter(|c| **c == '(').count();
                let mut closes = word.iter().filter(|c| **c == ')').count();
                while word.last() == Some(&')') && closes > opens {
                    word.pop();
                    closes -= 1;
                    self.pos -= 1;
                }
                Ok(word.into_iter().collect())
            }
        }
    }
}

// ---- parsing ----

/// The one expression, or the list of them combined by `combine`.
fn one_or(mut all: Vec<Expr>, combine: fn(Vec<Expr>) -> Expr) -> Expr {
    if all.len() == 1 {
        all.pop().expect("one")
    } else {
        combine(all)
    }
}

/// How deep parentheses and negations may nest: parsing and evaluating
/// recurse once per level, and a request must not exhaust a thread's stack.
const MAX_NESTING: usize = 100;

struct Parser {
    lexer: Lexer,
    peeked: Option<Token>,
    /// Open parentheses and negations around the current position.
    nesting: usize,
}

impl Parser {
    fn next(&mut self) -> Result<Option<Token>, String> {
        match self.peeked.take() {
            Some(t) => Ok(Some(t)),
            None => self.lexer.next(),
        }
    }

    fn peek(&mut self) -> Result<Option<&Token>, String> {
        if self.peeked.is_none() {
            self.peeked = self.lexer.next()?;
        }
        Ok(self.peeked.as_ref())
    }

    fn peek_is(&mut self, f: impl Fn(&Token) -> bool) -> Result<bool, String> {
        Ok(self.peek()?.is_some_and(f))
    }

    fn or_expr(&mut self) -> Result<Expr, String> {
        let mut all = vec![self.and_expr()?];
        while self.peek_is(|t| matches!(t, Token::Symbol("||")) || is_word(t, "or"))? {
            self.next()?;
            all.push(self.and_expr()?);
        }
        Ok(one_or(all, Expr::Or))
    }

    fn and_expr(&mut self) -> Result<Expr, String> {
        let mut all = vec![self.unary()?];
        while self.peek_is(|t| matches!(t, Token::Symbol("&&")) || is_word(t, "and"))? {
            self.next()?;
            all.push(self.unary()?);
        }
        Ok(one_or(all, Expr::And))
    }

    /// One level deeper (a parenthesis, a negation), refused past
    /// `MAX_NESTING`.
    fn nested(
        &mut self,
        parse: impl FnOnce(&mut Self) -> Result<Expr, String>,
    ) -> Result<Expr, String> {
        if self.nesting >= MAX_NESTING {
            return Err(format!(
                "the expression nests parentheses and negations more than {MAX_NESTING} levels deep"
            ));
        }
        self.nesting += 1;
        let expr = parse(self);
        self.nesting -= 1;
        expr
    }

    fn unary(&mut self) -> Result<Expr, String> {
        match self.next()? {
            Some(Token::Bang) => self.nested(|p| Ok(Expr::Not(Box::new(p.unary()?)))),
            Some(t) if is_word(&t, "not") => self.nested(|p| Ok(Expr::Not(Box::new(p.unary()?)))),
            Some(Token::Open) => self.nested(|p| {
                let inner = p.or_expr()?;
                match p.next()? {
                    Some(Token::Close) => Ok(inner),
                    _ => Err("a '(' is not closed with ')'".into()),
                }
            }),
            Some(Token::Word(w)) => self.test(&w).map(Expr::Test),
            Some(t) => Err(format!(
                "expected a subject such as attribute:NAME, found {}",
                t.describe()
            )),
            None => Err("the expression ends where a subject was expected".into()),
        }
    }

    fn test(&mut self, subject_word: &str) -> Result<Test, String> {
        let subject = subject(subject_word)?;
        let op = self.operator(subject_word)?;
        check_operator(&subject, op, subject_word)?;
        let arg = match op {
            Op::Exists | Op::NotExists => Arg::None,
            Op::In | Op::NotIn => Arg::List(self.list()?),
            Op::Matches | Op::NotMatches => {
                let text = self.lexer.pattern()?;
                Arg::Pattern(
                    Pattern::parse(&text)
                        .map_err(|e| format!("the pattern '{text}' is not valid: {e}"))?,
                )
            }
            _ => Arg::Value(self.value()?),
        };
        Ok(Test { subject, op, arg })
    }

    fn operator(&mut self, subject: &str) -> Result<Op, String> {
        let op = match self.next()? {
            Some(Token::Symbol(s)) => match s {
                "==" => Op::Eq,
                "!=" => Op::Ne,
                "=~" => Op::Matches,
                "!~" => Op::NotMatches,
                ">" => Op::Gt,
                ">=" => Op::Ge,
                "<" => Op::Lt,
                "<=" => Op::Le,
                other => return Err(format!("'{other}' is not a comparison operator")),
            },
            Some(Token::Bang) => match self.next()? {
                Some(t) if is_word(&t, "in") => Op::NotIn,
                Some(t) if is_word(&t, "exists") => Op::NotExists,
                _ => return Err("'!' before an operator must be !in or !exists".into()),
            },
            Some(Token::Word(w)) => match w.as_str() {
                "equals" => Op::Eq,
                "not_equals" => Op::Ne,
                "greater_than" => Op::Gt,
                "greater_than_equal" => Op::Ge,
                "less_than" => Op::Lt,
                "less_than_equal" => Op::Le,
                "exists" => Op::Exists,
                "not_exists" => Op::NotExists,
                "in" => Op::In,
                "not_in" => Op::NotIn,
                "matches" => Op::Matches,
                "not_matches" => Op::NotMatches,
                other => return Err(format!("'{other}' is not an operator")),
            },
            Some(t) => {
                return Err(format!(
                    "expected an operator after {subject}, found {}",
                    t.describe()
                ))
            }
            None => return Err(format!("{subject} needs an operator")),
        };
        Ok(op)
    }

    fn value(&mut self) -> Result<String, String> {
        match self.next()? {
            Some(Token::Word(w)) | Some(Token::Quoted(w)) => Ok(w),
            Some(t) => Err(format!("expected a value, found {}", t.describe())),
            None => Err("the expression ends where a value was expected".into()),
        }
    }

    /// `[a, b, c]` (parentheses are accepted too).
    fn list(&mut self) -> Result<Vec<String>, String> {
        let close = match self.next()? {
            Some(Token::OpenList) => Token::CloseList,
            Some(Token::Open) => Token::Close,
            _ => return Err("in and not_in need a list such as [a, b]".into()),
        };
        let mut items = vec![self.value()?];
        loop {
            match self.next()? {
                Some(Token::Comma) => items.push(self.value()?),
                Some(t) if t == close => return Ok(items),
                _ => return Err("a list must be values separated by commas, then closed".into()),
            }
        }
    }
}

fn is_word(t: &Token, word: &str) -> bool {
    matches!(t, Token::Word(w) if w == word)
}

fn subject(word: &str) -> Result<Subject, String> {
    if let Some(name) = word.strip_prefix("attribute:") {
        if name.is_empty() {
            return Err("attribute: needs an attribute name".into());
        }
        return Ok(Subject::Attribute(name.to_string()));
    }
    Ok(match word {
        "ec2InstanceId" => Subject::Ec2InstanceId,
        "agentConnected" => Subject::AgentConnected,
        "agentVersion" => Subject::AgentVersion,
        "registeredAt" => Subject::RegisteredAt,
        "runningTasksCount" => Subject::RunningTasksCount,
        "task:group" => Subject::TaskGroup,
        other => {
            return Err(format!(
                "'{other}' is not a subject; use attribute:NAME, ec2InstanceId, agentConnected, agentVersion, registeredAt, \
                 runningTasksCount or task:group"
            ))
        }
    })
}

/// The operators the guide lists for each subject.
fn check_operator(subject: &Subject, op: Op, word: &str) -> Result<(), String> {
    use Op::*;
    let allowed: &[Op] = match subject {
        Subject::Attribute(_) => &[
            Eq, Ne, Gt, Ge, Lt, Le, Exists, NotExists, In, NotIn, Matches, NotMatches,
        ],
        Subject::Ec2InstanceId | Subject::AgentConnected | Subject::TaskGroup => {
            &[Eq, Ne, In, NotIn, Matches, NotMatches]
        }
        Subject::AgentVersion | Subject::RegisteredAt | Subject::RunningTasksCount => {
            &[Eq, Ne, Gt, Ge, Lt, Le]
        }
    };
    if allowed.contains(&op) {
        Ok(())
    } else {
        Err(format!("{word} cannot be used with this operator"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn nesting_is_bounded_and_long_chains_are_flat() {
        let deep = format!(
            "{}agentConnected == true{}",
            "(".repeat(101),
            ")".repeat(101)
        );
        assert!(parse(&deep).unwrap_err().contains("more than 100 levels"));
        let ok = format!(
            "{}agentConnected == true{}",
            "(".repeat(100),
            ")".repeat(100)
        );
        assert!(parse(&ok).is_ok());
        assert!(parse(&format!("{}agentConnected == true", "!".repeat(101))).is_err());
        // 10,000 conditions: one list, evaluated without recursion.
        let chain = vec!["runningTasksCount >= 0"; 10_000].join(" and ");
        let Expr::And(all) = parse(&chain).unwrap() else {
            panic!("an and-chain is one And");
        };
        assert_eq!(all.len(), 10_000);
    }

    fn instance(instance_type: &str, az: &str) -> Candidate {
        let mut attributes = BTreeMap::new();
        attributes.insert(
            "ecs.instance-type".to_string(),
            Some(instance_type.to_string()),
        );
        attributes.insert("ecs.availability-zone".to_string(), Some(az.to_string()));
        attributes.insert("stack".to_string(), Some("prod".to_string()));
        attributes.insert("ecs.capability.task-eni".to_string(), None);
        Candidate {
            arn: "arn:aws:ecs:us-east-1:000000000000:container-instance/c/1".into(),
            ec2_instance_id: "i-0123456789abcdef0".into(),
            agent_connected: true,
            agent_version: "1.82.1".into(),
            registered_at: 1_700_000_000.0, // 2023-11-14T22:13:20Z
            attributes,
            running_tasks: 2,
            groups: vec!["family:web".into(), "service:api".into()],
            ..Default::default()
        }
    }

    fn selects(expr: &str, c: &Candidate) -> bool {
        parse(expr)
            .unwrap_or_else(|e| panic!("{expr}: {e}"))
            .matches(c)
    }

    /// The guide's own examples.
    #[test]
    fn the_guides_examples() {
        let t2 = instance("t2.small", "us-east-1a");
        let g2 = instance("g2.2xlarge", "us-east-1b");
        assert!(selects("attribute:ecs.instance-type == t2.small", &t2));
        assert!(!selects("attribute:ecs.instance-type == t2.small", &g2));
        assert!(selects(
            "attribute:ecs.availability-zone in [us-east-1a, us-east-1b]",
            &g2
        ));
        let compound =
            "attribute:ecs.instance-type =~ g2.* and attribute:ecs.availability-zone != us-east-1d";
        assert!(selects(compound, &g2));
        assert!(!selects(compound, &t2));
        assert!(selects("task:group == service:api", &t2));
        assert!(selects("not(task:group == database)", &t2));
        assert!(!selects("not(task:group == family:web)", &t2));
        assert!(selects("runningTasksCount == 2", &t2));
        assert!(
            selects("agentVersion < 1.100.0", &t2),
            "versions compare part by part"
        );
        assert!(selects("registeredAt < 2024-02-13", &t2));
        assert!(selects("registeredAt > 2023-11-14T22:00:00Z", &t2));
        assert!(selects(
            "ec2InstanceId in ['i-0123456789abcdef0', 'i-wxyx7890']",
            &t2
        ));
    }

    #[test]
    fn words_precedence_and_negations() {
        let c = instance("m5.large", "us-east-1c");
        assert!(selects(
            "attribute:stack equals prod && attribute:ecs.instance-type matches m5.*",
            &c
        ));
        assert!(selects(
            "attribute:stack == dev or attribute:stack == prod and runningTasksCount > 1",
            &c
        ));
        assert!(!selects(
            "(attribute:stack == dev or attribute:stack == prod) and runningTasksCount > 5",
            &c
        ));
        assert!(selects("attribute:ecs.capability.task-eni exists", &c));
        assert!(selects("attribute:missing !exists", &c));
        assert!(selects(
            "attribute:missing not_exists and attribute:stack !in [dev, test]",
            &c
        ));
        assert!(selects("attribute:ecs.instance-type !~ t2.*", &c));
        assert!(
            !selects("attribute:missing == x", &c),
            "a missing attribute equals nothing"
        );
        assert!(
            selects("(attribute:ecs.instance-type =~ m5.(large|xlarge))", &c),
            "a pattern keeps its own parentheses"
        );
        assert!(selects("agentConnected == true", &c));
    }

    #[test]
    fn malformed_expressions_say_why() {
        for bad in [
            "",
            "attribute:ecs.instance-type",
            "attribute:ecs.instance-type = t2.micro",
            "instanceType == t2.micro",
            "attribute:x in t2.micro",
            "attribute:x in [a, b",
            "(attribute:x == a",
            "attribute:x == a and",
            "attribute:x == a b",
            "agentConnected > true",
            "attribute:x =~ (ab",
            "attribute:x == 'unclosed",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} parsed");
        }
    }
}
