//! A tiny builder for dynamic SQL with `$N` placeholders and typed binds.

use sqlx::any::AnyArguments;
use sqlx::query::QueryAs;
use sqlx::Any;

#[derive(Debug, Clone)]
pub(crate) enum Bind {
    Str(String),
    I64(i64),
}

#[derive(Debug, Default)]
pub(crate) struct Sql {
    pub text: String,
    pub binds: Vec<Bind>,
}

impl Sql {
    pub fn new(text: &str) -> Self {
        Sql {
            text: text.to_string(),
            binds: vec![],
        }
    }
    pub fn push(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self
    }
    /// Appends a placeholder for `b` and records the bind.
    pub fn bind(&mut self, b: Bind) -> &mut Self {
        self.binds.push(b);
        let n = self.binds.len();
        self.text.push_str(&format!("${n}"));
        self
    }
    pub fn query_as<T>(&self) -> QueryAs<'_, Any, T, AnyArguments<'_>>
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow>,
    {
        let mut q = sqlx::query_as::<Any, T>(&self.text);
        for b in &self.binds {
            q = match b {
                Bind::Str(s) => q.bind(s.clone()),
                Bind::I64(i) => q.bind(*i),
            };
        }
        q
    }
}
