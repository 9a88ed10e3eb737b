//! Imports go one way (see src/lib.rs): no two modules may need each
//! other, at the top level of the crate or among the controllers, and the
//! domain and the controllers never reach up into the API or the wire
//! errors. Read from the source, so a new cycle fails here with its path
//! rather than surfacing later as a tangle.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

type Graph = BTreeMap<String, BTreeSet<String>>;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// A file's code without its line comments (doc comments name modules in
/// prose, which is not a dependency).
fn code_of(path: &Path) -> String {
    fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The module names that follow `prefix` in `code`: `crate::state::x`
/// with prefix `crate::` gives `state`. Both `use` lines and paths written
/// inline count; `use crate::{a, b}` gives both.
fn referenced(code: &str, prefix: &str) -> BTreeSet<String> {
    let ident = |s: &str| {
        s.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect::<String>()
    };
    let mut names = BTreeSet::new();
    for (at, _) in code.match_indices(prefix) {
        // `$crate::` in macros and `foo_crate::` are not this crate's paths.
        let before = code[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
            continue;
        }
        let rest = &code[at + prefix.len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // The first name of each item of the group: `{a::{b, c}, d}` is a and d.
            let mut depth = 0;
            let mut item_start = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    c if item_start && !c.is_whitespace() => {
                        item_start = false;
                        names.insert(ident(&group[i..]));
                    }
                    _ => {}
                }
            }
            names.remove("");
        } else {
            let name = ident(rest);
            if !name.is_empty() {
                names.insert(name);
            }
        }
    }
    names
}

/// The first cycle found, as a path that ends where it starts.
fn find_cycle(graph: &Graph) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &Graph,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|n| n == node) {
            let mut cycle = path[start..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut vec![], &mut done))
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The module a file belongs to, one level below `root`: `root/x.rs` and
/// everything under `root/x/` are `x`.
fn module_of(root: &Path, file: &Path) -> String {
    let first = file
        .strip_prefix(root)
        .unwrap()
        .components()
        .next()
        .unwrap();
    first
        .as_os_str()
        .to_string_lossy()
        .trim_end_matches(".rs")
        .to_string()
}

/// Edges between the modules directly under `root`, from the paths each
/// file writes with the given prefixes (`crate::`, or for siblings
/// `crate::controllers::` and `super::`).
fn graph_of(root: &Path, prefixes: &[&str], skip: &[&str]) -> Graph {
    let mut files = vec![];
    rust_files(root, &mut files);
    let modules: BTreeSet<String> = files
        .iter()
        .map(|f| module_of(root, f))
        .filter(|m| !skip.contains(&m.as_str()))
        .collect();
    let mut graph = Graph::new();
    for file in &files {
        let from = module_of(root, file);
        if skip.contains(&from.as_str()) {
            continue;
        }
        let code = code_of(file);
        // In a nested file `super::` is its parent, not a sibling of `from`;
        // in a file's test module it is the file itself.
        let nested = file.parent() != Some(root);
        let outside_tests = &code[..code.find("#[cfg(test)]\nmod tests").unwrap_or(code.len())];
        let edges = graph.entry(from.clone()).or_default();
        for prefix in prefixes {
            let searched = match *prefix {
                "super::" if nested => continue,
                "super::" => outside_tests,
                _ => &code,
            };
            for to in referenced(searched, prefix) {
                if to != from && modules.contains(&to) {
                    edges.insert(to);
                }
            }
        }
    }
    graph
}

fn assert_acyclic(what: &str, graph: &Graph) {
    if let Some(cycle) = find_cycle(graph) {
        panic!(
            "{what} import each other: {}\nthe whole graph: {graph:#?}",
            cycle.join(" -> ")
        );
    }
}

#[test]
fn top_level_modules_do_not_import_each_other() {
    let graph = graph_of(&src(), &["crate::"], &["lib", "main"]);
    assert!(
        graph.contains_key("domain") && graph.contains_key("api"),
        "{graph:#?}"
    );
    assert_acyclic("top-level modules", &graph);
}

#[test]
fn controllers_do_not_import_each_other() {
    let graph = graph_of(
        &src().join("controllers"),
        &["crate::controllers::", "super::"],
        &["mod"],
    );
    assert!(graph.contains_key("tasks"), "{graph:#?}");
    assert_acyclic("controllers", &graph);
}

#[test]
fn domain_and_controllers_stay_below_the_api() {
    let mut files = vec![];
    rust_files(&src().join("domain"), &mut files);
    rust_files(&src().join("controllers"), &mut files);
    for file in files {
        let code = code_of(&file);
        for reached in ["crate::api", "crate::server", "ApiError"] {
            assert!(
                !code.contains(reached),
                "{} uses {reached}: domain and controllers return DomainError",
                file.display()
            );
        }
    }
}

#[test]
fn cycles_are_found_with_their_path() {
    let graph: Graph = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a"]),
        ("d", vec!["a"]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.into_iter().map(String::from).collect()))
    .collect();
    assert_eq!(find_cycle(&graph).unwrap().join(" -> "), "a -> b -> c -> a");
    let mut acyclic = graph.clone();
    acyclic.get_mut("c").unwrap().clear();
    assert_eq!(find_cycle(&acyclic), None);
    assert_eq!(
        referenced(
            "use crate::{api, state::{x, y}, self};\nlet y = crate::runtime::z(); $crate::no",
            "crate::"
        ),
        ["api", "runtime", "self", "state"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    );
}
