//! Compiles every `.proto` under `proto/` with protox (no system protoc needed).
use std::path::PathBuf;

fn main() {
    let dir = PathBuf::from("proto");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("proto/ directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "proto"))
        .collect();
    files.sort();
    println!("cargo:rerun-if-changed=proto");
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
    }
    let fds = protox::compile(&files, [&dir]).unwrap_or_else(|e| panic!("proto compile: {e:?}"));
    prost_build::Config::new()
        .compile_fds(fds)
        .expect("prost codegen");
}
