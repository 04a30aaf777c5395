//! Structural diffs between two JSON documents, used for configuration
//! versions ("what changed from version 3 to 4") and for profile validation.
//!
//! Paths are JSON Pointers (RFC 6901). Objects are compared key by key; arrays
//! and scalars are compared as whole values at their path, which keeps diffs
//! of ordered lists (e.g. NVLink peers) readable.

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChangeOp {
    Add,
    Remove,
    Replace,
}

/// One difference between two documents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Change {
    /// JSON Pointer of the changed value.
    pub path: String,
    pub op: ChangeOp,
    /// The value before (any JSON value); absent for `add`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<Value>,
    /// The value after (any JSON value); absent for `remove`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<Value>,
}

fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// Differences that turn `old` into `new`, sorted by path.
pub fn diff(old: &Value, new: &Value) -> Vec<Change> {
    let mut out = Vec::new();
    walk("", old, new, &mut out);
    out
}

fn walk(path: &str, old: &Value, new: &Value, out: &mut Vec<Change>) {
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let p = format!("{path}/{}", escape(k));
                match (a.get(k), b.get(k)) {
                    (Some(x), Some(y)) => walk(&p, x, y, out),
                    (Some(x), None) => out.push(Change {
                        path: p,
                        op: ChangeOp::Remove,
                        old: Some(x.clone()),
                        new: None,
                    }),
                    (None, Some(y)) => out.push(Change {
                        path: p,
                        op: ChangeOp::Add,
                        old: None,
                        new: Some(y.clone()),
                    }),
                    (None, None) => {}
                }
            }
        }
        (x, y) if x == y => {}
        (x, y) => out.push(Change {
            path: if path.is_empty() {
                "/".into()
            } else {
                path.into()
            },
            op: ChangeOp::Replace,
            old: Some(x.clone()),
            new: Some(y.clone()),
        }),
    }
}

/// Applies a diff produced by [`diff`] to `base`. `apply(old, diff(old, new)) == new`.
pub fn apply(base: &Value, changes: &[Change]) -> Value {
    let mut doc = base.clone();
    for c in changes {
        if c.path == "/" {
            doc = c.new.clone().unwrap_or(Value::Null);
            continue;
        }
        let tokens: Vec<String> = c.path[1..]
            .split('/')
            .map(|t| t.replace("~1", "/").replace("~0", "~"))
            .collect();
        let (last, parents) = tokens.split_last().expect("non-empty pointer");
        let mut cur = &mut doc;
        for t in parents {
            if !cur.is_object() {
                *cur = Value::Object(Default::default());
            }
            cur = cur
                .as_object_mut()
                .expect("object")
                .entry(t.clone())
                .or_insert_with(|| Value::Object(Default::default()));
        }
        if !cur.is_object() {
            *cur = Value::Object(Default::default());
        }
        let obj = cur.as_object_mut().expect("object");
        match c.op {
            ChangeOp::Remove => {
                obj.remove(last);
            }
            ChangeOp::Add | ChangeOp::Replace => {
                obj.insert(last.clone(), c.new.clone().unwrap_or(Value::Null));
            }
        }
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn nested_changes_have_pointer_paths() {
        let a =
            json!({"bios": {"SriovEnable": "Disabled", "Boot/Mode": "Uefi"}, "driver": "550.54"});
        let b = json!({"bios": {"SriovEnable": "Enabled", "Boot/Mode": "Uefi"}, "cuda": "12.4"});
        let d = diff(&a, &b);
        assert_eq!(
            d,
            vec![
                Change {
                    path: "/bios/SriovEnable".into(),
                    op: ChangeOp::Replace,
                    old: Some(json!("Disabled")),
                    new: Some(json!("Enabled"))
                },
                Change {
                    path: "/cuda".into(),
                    op: ChangeOp::Add,
                    old: None,
                    new: Some(json!("12.4"))
                },
                Change {
                    path: "/driver".into(),
                    op: ChangeOp::Remove,
                    old: Some(json!("550.54")),
                    new: None
                },
            ]
        );
        assert_eq!(apply(&a, &d), b);
    }

    #[test]
    fn keys_with_slash_and_tilde_are_escaped() {
        let d = diff(&json!({}), &json!({"a/b~c": 1}));
        assert_eq!(d[0].path, "/a~1b~0c");
        assert_eq!(apply(&json!({}), &d), json!({"a/b~c": 1}));
    }

    #[test]
    fn equal_documents_have_no_diff() {
        let a = json!({"x": [1, 2, {"y": null}]});
        assert!(diff(&a, &a).is_empty());
    }

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i32>().prop_map(|i| json!(i)),
            "[a-z]{0,4}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
                proptest::collection::btree_map("[a-c/~]{1,3}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn apply_of_diff_reconstructs(a in arb_json(), b in arb_json()) {
            let d = diff(&a, &b);
            prop_assert_eq!(apply(&a, &d), b);
        }
    }
}
