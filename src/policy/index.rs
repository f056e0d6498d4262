//! Rule indexing: a decision evaluates only the rules that can apply to its input.
//!
//! Without it, every rule body of the bundle runs for every decision, so a bundle of a
//! thousand `deny` rules, each about one action, makes every decision pay for all thousand.
//! At bundle load the indexer reads each rule's first literal; a rule is *indexed on key K
//! = values V* when the first literal of every one of its bodies (`else` branches included)
//! is an equality test between an input path K (`input.action.name`, `input.resource.type`
//! or `input.context.environment`, dotted or bracketed) and a string literal, `==` or `=`,
//! either side, with no `with` modifier. For a request whose value at K is a string not in
//! V, or undefined, every body of that rule fails at its first literal, before anything
//! that could raise an error has run (both engines schedule a literal that binds and uses
//! no variable first, in source order), so removing the rule cannot change the result:
//! not for partial sets, partial objects, complete rules (their `default` is kept) or
//! `else` chains. Anything else is *unclassified* and always kept: default rules,
//! functions, rules without a body, rules whose first literal is anything else.
//!
//! Two more rules keep the filtered program equivalent to the full one:
//!
//! - every rule path the full bundle declares stays declared: when all the definitions of a
//!   path would go, its first one stays (so a reference to it still compiles and reads
//!   undefined, exactly as before, and iterating a package sees the same keys);
//! - an input value at K that is neither a string nor undefined selects no filtering at all
//!   (the full program), so no claim is made about comparing mixed types.
//!
//! The filtered modules keep every byte offset and line number of the originals: removed
//! rules are blanked to spaces, so positions in error messages stay right.

use std::collections::BTreeSet;

use regorus::{
    unstable::{
        Expr, Lexer, Literal, Module as Ast, Parser, Ref, Rule, RuleHead, Token, TokenKind,
    },
    Rc, Value,
};

use super::bundle::Module;

/// The input paths the indexer recognises, as OPA's rule indexer does for equality tests.
const KEYS: [[&str; 2]; 3] = [
    ["action", "name"],
    ["resource", "type"],
    ["context", "environment"],
];

/// Which values of each indexed key a decision's input holds: `None` for "a value no rule
/// is indexed on" (or undefined). Equal selections evaluate the same filtered program.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Selection(Box<[Option<Rc<str>>]>);

impl Selection {
    /// True when no key holds an indexed value: the program of unclassified rules only.
    pub fn is_other(&self) -> bool {
        self.0.iter().all(Option::is_none)
    }
}

/// One key some rule is indexed on.
#[derive(Debug)]
struct Key {
    /// `input.<a>.<b>` as two lookups.
    path: [Value; 2],
    /// Every value some rule tests this key for.
    values: BTreeSet<Rc<str>>,
}

/// A rule that may be left out.
#[derive(Debug)]
struct Indexed {
    module: usize,
    start: usize,
    end: usize,
    /// Position in [`RuleIndex::keys`].
    key: usize,
    values: BTreeSet<Rc<str>>,
    /// The rule's declared path, for keeping one definition of every path.
    path: String,
}

/// The index of a bundle's rules by the input values they test first. Built once per
/// bundle revision; immutable.
#[derive(Debug)]
pub struct RuleIndex {
    keys: Vec<Key>,
    rules: Vec<Indexed>,
    /// Paths that keep a definition whatever the selection (one of them is unclassified).
    always_declared: BTreeSet<String>,
    modules: Vec<Module>,
}

impl RuleIndex {
    /// Indexes `modules` (the bundle's sources) from their parsed form `parsed`, in the same
    /// order. `None` when no rule can be left out for any input: nothing to gain.
    pub fn build(modules: &[Module], parsed: &[Ref<Ast>]) -> Option<Self> {
        let mut keys: Vec<Key> = Vec::new();
        let mut rules = Vec::new();
        let mut always_declared = BTreeSet::new();
        for (position, (module, ast)) in modules.iter().zip(parsed).enumerate() {
            if ast.package.span.source.file() != &module.path || imports_as_input(ast) {
                // Not the module we think it is, or `input` is not the input there.
                return None;
            }
            let package = ref_path(&ast.package.refr)?;
            for (n, rule) in ast.policy.iter().enumerate() {
                let Some(path) = declared_path(&package, rule) else {
                    // A head the indexer cannot name: kept like any unclassified rule.
                    continue;
                };
                let name = path.strip_prefix(&package).unwrap_or_default();
                if name.split(['.', ' ']).nth(1) == Some("input") {
                    // A rule named `input` (were the engines to accept one) shadows it.
                    return None;
                }
                match classify(rule) {
                    Some((key_path, values)) => {
                        let key = match keys.iter().position(|k| k.path == key_path) {
                            Some(i) => i,
                            None => {
                                keys.push(Key {
                                    path: key_path,
                                    values: BTreeSet::new(),
                                });
                                keys.len() - 1
                            }
                        };
                        keys[key].values.extend(values.iter().cloned());
                        // To the next rule: a rule's span can stop short of its last
                        // token's closing quote; only blanks and comments lie between rules.
                        let end = ast
                            .policy
                            .get(n + 1)
                            .map_or(module.text.len(), |next| next.span().start as usize);
                        rules.push(Indexed {
                            module: position,
                            start: rule.span().start as usize,
                            end,
                            key,
                            values,
                            path,
                        });
                    }
                    None => {
                        always_declared.insert(path);
                    }
                }
            }
        }
        if rules.is_empty() {
            return None;
        }
        Some(Self {
            keys,
            rules,
            always_declared,
            modules: modules.to_vec(),
        })
    }

    /// The selection for `input`, or `None` when some indexed key holds a value that is
    /// neither a string nor undefined (that input is evaluated on the full program).
    pub fn select(&self, input: &Value) -> Option<Selection> {
        let mut chosen = Vec::with_capacity(self.keys.len());
        for key in &self.keys {
            match &input[&key.path[0]][&key.path[1]] {
                Value::Undefined => chosen.push(None),
                Value::String(s) => chosen.push(key.values.get(s).cloned()),
                _ => return None,
            }
        }
        Some(Selection(chosen.into_boxed_slice()))
    }

    /// The selection of an input that holds no indexed value.
    pub fn other(&self) -> Selection {
        Selection(vec![None; self.keys.len()].into_boxed_slice())
    }

    /// How many distinct values the index holds across its keys (the most filtered
    /// programs one key alone can need).
    pub fn values(&self) -> usize {
        self.keys.iter().map(|k| k.values.len()).sum()
    }

    /// How many rules the index may leave out.
    pub fn indexed_rules(&self) -> usize {
        self.rules.len()
    }

    /// Whether rule `r` applies under `selection`.
    fn applies(&self, r: &Indexed, selection: &Selection) -> bool {
        matches!(selection.0.get(r.key), Some(Some(v)) if r.values.contains(v))
    }

    /// The bundle's modules with every rule that cannot apply under `selection` blanked
    /// out, byte offsets and lines unchanged.
    pub fn filtered(&self, selection: &Selection) -> Vec<Module> {
        let mut declared = self.always_declared.clone();
        for r in &self.rules {
            if self.applies(r, selection) {
                declared.insert(r.path.clone());
            }
        }
        let mut texts: Vec<Vec<u8>> = self
            .modules
            .iter()
            .map(|m| m.text.clone().into_bytes())
            .collect();
        for r in &self.rules {
            if self.applies(r, selection) || declared.insert(r.path.clone()) {
                // Applies, or the first definition of a path nothing else keeps declared.
                continue;
            }
            if let Some(bytes) = texts
                .get_mut(r.module)
                .and_then(|t| t.get_mut(r.start..r.end))
            {
                for b in bytes.iter_mut().filter(|b| **b != b'\n' && **b != b'\r') {
                    *b = b' ';
                }
            }
        }
        self.modules
            .iter()
            .zip(texts)
            .map(|(m, text)| Module {
                path: m.path.clone(),
                // Only ASCII bytes were written, over whole rules: still UTF-8.
                text: String::from_utf8(text).unwrap_or_else(|_| m.text.clone()),
            })
            .collect()
    }
}

/// Whether an import binds the name `input` to something else (`import data.x as input`,
/// `import data.lib.input`).
fn imports_as_input(ast: &Ast) -> bool {
    ast.imports.iter().any(|i| {
        let parts = Parser::get_path_ref_components(&i.refr).unwrap_or_default();
        let first = parts.first().map(|s| s.text());
        let bound = match &i.r#as {
            Some(alias) => Some(alias.text()),
            None => parts.last().map(|s| s.text()),
        };
        bound == Some("input") && !(first == Some("input") && parts.len() == 1)
    })
}

/// Whether any module names `input` in a `with` modifier (`with input as ...`,
/// `with input.action.name as ...`): a rule evaluated under it sees another input than the
/// one the decision was indexed on. Read from the tokens, so comments do not count and
/// nothing is missed.
pub fn with_on_input(parsed: &[Ref<Ast>]) -> bool {
    parsed.iter().any(|ast| {
        let source = &ast.package.span.source;
        let mut lexer = Lexer::new(source);
        let mut previous_was_with = false;
        loop {
            let Ok(Token(kind, span)) = lexer.next_token() else {
                // A module that parsed but does not lex again: assume the worst.
                return true;
            };
            if matches!(kind, TokenKind::Eof) {
                return false;
            }
            let is_ident = matches!(kind, TokenKind::Ident);
            if previous_was_with && is_ident && span.text() == "input" {
                return true;
            }
            previous_was_with = is_ident && span.text() == "with";
        }
    })
}

/// The dotted text of a static ref (`data.tollgate`, `deny`, `a.b["c"]`).
fn ref_path(refr: &Ref<Expr>) -> Option<String> {
    let parts = Parser::get_path_ref_components(refr).ok()?;
    Some(parts.iter().map(|s| s.text()).collect::<Vec<_>>().join("."))
}

/// The path a rule declares, head kind included (finer than regorus's notion, which only
/// makes the indexer keep more).
fn declared_path(package: &str, rule: &Ref<Rule>) -> Option<String> {
    let (kind, refr) = match rule.as_ref() {
        Rule::Spec { head, .. } => match head {
            RuleHead::Compr { refr, .. } => ("c", refr),
            RuleHead::Set { refr, .. } => ("s", refr),
            RuleHead::Func { refr, .. } => ("f", refr),
        },
        Rule::Default { refr, .. } => ("d", refr),
    };
    Some(format!("{package}.{} ({kind})", ref_path(refr)?))
}

/// The key and values a rule is indexed on, or `None` when it is unclassified.
fn classify(rule: &Ref<Rule>) -> Option<([Value; 2], BTreeSet<Rc<str>>)> {
    let Rule::Spec { head, bodies, .. } = rule.as_ref() else {
        return None;
    };
    if matches!(head, RuleHead::Func { .. }) || bodies.is_empty() {
        return None;
    }
    let mut key: Option<[Value; 2]> = None;
    let mut values = BTreeSet::new();
    for body in bodies {
        let first = body.query.stmts.first()?;
        if !first.with_mods.is_empty() {
            return None;
        }
        let Literal::Expr { expr, .. } = &first.literal else {
            return None;
        };
        let (k, v) = equality(expr)?;
        if key.as_ref().is_some_and(|known| *known != k) {
            return None;
        }
        key = Some(k);
        values.insert(v);
    }
    Some((key?, values))
}

/// `input.<a>.<b> == "v"` (or `=`, either side) for a recognised key.
fn equality(expr: &Expr) -> Option<([Value; 2], Rc<str>)> {
    let (lhs, rhs) = match expr {
        Expr::BoolExpr {
            op: regorus::unstable::BoolOp::Eq,
            lhs,
            rhs,
            ..
        }
        | Expr::AssignExpr {
            op: regorus::unstable::AssignOp::Eq,
            lhs,
            rhs,
            ..
        } => (lhs, rhs),
        _ => return None,
    };
    let one_way = |path: &Expr, literal: &Expr| Some((input_key(path)?, string(literal)?));
    one_way(lhs, rhs).or_else(|| one_way(rhs, lhs))
}

fn string(e: &Expr) -> Option<Rc<str>> {
    match e {
        Expr::String { value, .. } | Expr::RawString { value, .. } => {
            value.as_string().ok().cloned()
        }
        _ => None,
    }
}

/// The recognised key `e` reads, if it is exactly `input.a.b` (any mix of `.a` / `["a"]`).
fn input_key(e: &Expr) -> Option<[Value; 2]> {
    let (outer, b) = step(e)?;
    let (root, a) = step(outer)?;
    match root {
        Expr::Var { value, .. } if value.as_string().ok()?.as_ref() == "input" => {}
        _ => return None,
    }
    KEYS.iter()
        .find(|[ka, kb]| *ka == a.as_ref() && *kb == b.as_ref())
        .map(|[ka, kb]| [Value::from(*ka), Value::from(*kb)])
}

/// One field access: the accessed expression and the field name.
fn step(e: &Expr) -> Option<(&Expr, Rc<str>)> {
    match e {
        Expr::RefDot { refr, field, .. } => Some((refr, field.1.as_string().ok()?.clone())),
        Expr::RefBrack { refr, index, .. } => Some((refr, string(index)?)),
        _ => None,
    }
}

#[cfg(test)]
#[path = "index_tests.rs"]
mod tests;
