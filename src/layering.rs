//! Dependencies point down: the lower layers never name a higher one. The rule is read off
//! the source files, so that a `use` that breaks it fails this test, not a review.

use std::path::{Path, PathBuf};

/// Each lower part of the crate, with the parts above it that it must not name.
const RULES: &[(&str, &[&str])] = &[
    ("services", &["crate::web", "crate::api"]),
    ("db", &["crate::web", "crate::api", "crate::services"]),
    ("domain", &["crate::web", "crate::api", "crate::services"]),
    ("email", &["crate::web", "crate::api"]),
    ("auth", &["crate::web", "crate::api"]),
    ("i18n", &["crate::web", "crate::api", "crate::services"]),
    ("config.rs", &["crate::email", "crate::web", "crate::api"]),
    (
        "telemetry.rs",
        &["crate::state", "crate::web", "crate::api"],
    ),
];

/// The places in one file's text that name a part it must not.
fn violations(text: &str, forbidden: &[&str]) -> Vec<String> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim_start().starts_with("//"))
        .flat_map(|(number, line)| {
            forbidden
                .iter()
                .filter(move |name| line.contains(*name))
                .map(move |name| format!("line {}: names {name}", number + 1))
        })
        .collect()
}

fn rust_files(path: &Path) -> Vec<PathBuf> {
    if path.is_file() {
        return vec![path.to_owned()];
    }
    let mut files = Vec::new();
    if let Ok(entries) = std::fs::read_dir(path) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                files.extend(rust_files(&path));
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files
}

#[test]
fn no_lower_layer_names_a_higher_one() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found = Vec::new();
    for (part, forbidden) in RULES {
        let files = rust_files(&src.join(part));
        assert!(!files.is_empty(), "no source under src/{part}");
        for file in files {
            let text = std::fs::read_to_string(&file).expect("a readable source file");
            for place in violations(&text, forbidden) {
                found.push(format!("{}: {place}", file.display()));
            }
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn a_use_of_a_higher_layer_is_found() {
    let services = RULES[0].1;
    assert_eq!(
        violations("use crate::db;\nuse crate::web::i18n::Lang;\n", services),
        vec!["line 2: names crate::web"]
    );
    assert!(violations("// crate::api is above\nuse crate::domain::*;\n", services).is_empty());
}
