//! Generates gpufleet's gRPC services from `proto/gpufleet/v1/*.proto` with protox (pure
//! Rust; no `protoc`), and keeps the encoded descriptor set for server reflection.
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../proto");
    let dir = root.join("gpufleet/v1");
    println!("cargo:rerun-if-changed={}", dir.display());
    // Every proto of the package, in name order (the descriptor set and the docs are stable).
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "proto"))
        .collect();
    files.sort();
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
    }
    // With source info: the comments of the protos go into the descriptor set, from which
    // docs/GRPC.md is rendered (and checked by a test).
    let fds = protox::Compiler::new([&root])?
        .include_source_info(true)
        .open_files(&files)?
        .file_descriptor_set();
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out.join("gpufleet_descriptor.bin"),
        prost::Message::encode_to_vec(&fds),
    )?;
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .compile_fds(fds)?;
    Ok(())
}
