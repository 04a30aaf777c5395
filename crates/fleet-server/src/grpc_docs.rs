//! `docs/GRPC.md`, rendered from the descriptor set of the protos (with their comments), so
//! that the reference never drifts from what is served: a test compares the file with this
//! rendering (`GPUFLEET_UPDATE_DOCS=1` rewrites it).

use std::collections::HashMap;
use std::fmt::Write;

use prost::Message;
use prost_types::{field_descriptor_proto::Label, field_descriptor_proto::Type, FileDescriptorSet};

fn comments(file: &prost_types::FileDescriptorProto) -> HashMap<Vec<i32>, String> {
    let mut out = HashMap::new();
    if let Some(info) = &file.source_code_info {
        for loc in &info.location {
            if let Some(c) = &loc.leading_comments {
                let text = c
                    .lines()
                    .map(str::trim)
                    .collect::<Vec<_>>()
                    .join(" ")
                    .trim()
                    .to_string();
                if !text.is_empty() {
                    out.insert(loc.path.clone(), text);
                }
            }
        }
    }
    out
}

fn type_name(f: &prost_types::FieldDescriptorProto) -> String {
    let t = match f.r#type() {
        Type::Message | Type::Enum => f
            .type_name
            .clone()
            .unwrap_or_default()
            .trim_start_matches('.')
            .trim_start_matches("gpufleet.v1.")
            .to_string(),
        Type::String => "string".into(),
        Type::Bool => "bool".into(),
        Type::Int64 => "int64".into(),
        Type::Int32 => "int32".into(),
        Type::Uint64 => "uint64".into(),
        Type::Uint32 => "uint32".into(),
        Type::Double => "double".into(),
        Type::Float => "float".into(),
        Type::Bytes => "bytes".into(),
        other => format!("{other:?}").to_lowercase(),
    };
    if f.label() == Label::Repeated {
        format!("repeated {t}")
    } else if f.proto3_optional == Some(true) {
        format!("optional {t}")
    } else {
        t
    }
}

/// The Markdown reference of the encoded descriptor set `fds`.
pub fn render(fds: &[u8]) -> String {
    let set = FileDescriptorSet::decode(fds).unwrap_or_default();
    let mut md = String::from(
        "# gRPC API reference\n\n<!-- Rendered from proto/gpufleet/v1/*.proto by fleet-server's grpc_docs; \
         do not edit: run `GPUFLEET_UPDATE_DOCS=1 cargo test -p fleet-server --lib grpc_docs`. -->\n\n\
         Served on `grpc_listen` (default `127.0.0.1:8081`) with gRPC health (`grpc.health.v1.Health`) \
         and server reflection. Every call needs `authorization: Bearer <token>` metadata.\n",
    );
    for file in set.file.iter().filter(|f| f.package() == "gpufleet.v1") {
        let c = comments(file);
        if let Some(head) = c.get(&vec![12]) {
            let _ = write!(md, "\n{head}\n");
        }
        let _ = write!(
            md,
            "\n## Services of `{}` (`{}`)\n",
            file.name(),
            file.package()
        );
        for (si, s) in file.service.iter().enumerate() {
            let _ = write!(
                md,
                "\n### {}\n\n| Method | Request | Response | |\n|---|---|---|---|\n",
                s.name()
            );
            for (mi, m) in s.method.iter().enumerate() {
                let doc = c
                    .get(&vec![6, si as i32, 2, mi as i32])
                    .cloned()
                    .unwrap_or_default();
                let short = |t: &str| t.trim_start_matches(".gpufleet.v1.").to_string();
                let resp = if m.server_streaming() {
                    format!("stream {}", short(m.output_type()))
                } else {
                    short(m.output_type())
                };
                let _ = writeln!(
                    md,
                    "| `{}` | `{}` | `{}` | {} |",
                    m.name(),
                    short(m.input_type()),
                    resp,
                    doc
                );
            }
        }
        let _ = write!(md, "\n## Messages of `{}`\n", file.name());
        for (mi, m) in file.message_type.iter().enumerate() {
            let _ = write!(md, "\n### {}\n", m.name());
            if let Some(d) = c.get(&vec![4, mi as i32]) {
                let _ = write!(md, "\n{d}\n");
            }
            if m.field.is_empty() {
                md.push_str("\n(no fields)\n");
                continue;
            }
            md.push_str("\n| Field | Type | |\n|---|---|---|\n");
            for (fi, f) in m.field.iter().enumerate() {
                let doc = c
                    .get(&vec![4, mi as i32, 2, fi as i32])
                    .cloned()
                    .unwrap_or_default();
                let ty = match f.oneof_index {
                    Some(o) if f.proto3_optional != Some(true) => format!(
                        "{} (one of `{}`)",
                        type_name(f),
                        m.oneof_decl
                            .get(o as usize)
                            .map(|d| d.name())
                            .unwrap_or("?")
                    ),
                    _ => type_name(f),
                };
                let _ = writeln!(md, "| `{}` | `{ty}` | {doc} |", f.name());
            }
        }
    }
    md
}

#[cfg(test)]
mod tests {
    #[test]
    fn docs_grpc_md_is_rendered_from_the_served_protos() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/GRPC.md");
        let want = super::render(crate::grpc::pb::DESCRIPTOR);
        assert!(
            want.contains("### Assets") && want.contains("`Watch`"),
            "{want}"
        );
        assert!(
            want.contains("Resume after this event sequence"),
            "comments are rendered"
        );
        if std::env::var("GPUFLEET_UPDATE_DOCS").as_deref() == Ok("1") {
            std::fs::write(&path, &want).unwrap();
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == want,
            "docs/GRPC.md differs from the protos; run GPUFLEET_UPDATE_DOCS=1 cargo test -p fleet-server --lib grpc_docs"
        );
    }
}
