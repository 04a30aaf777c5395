//! Generates the gNMI client from `proto/gnmi.proto` with protox (pure Rust; no `protoc`).
fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto/gnmi.proto");
    let fds = protox::compile(["proto/gnmi.proto"], ["proto"])?;
    tonic_prost_build::configure()
        .build_server(false)
        .build_client(true)
        .compile_fds(fds)?;
    Ok(())
}
